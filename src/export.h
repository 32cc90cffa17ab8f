/* Writing stored fixes as GeoJSON, GPX, CSV or KML. One writer shared by
 * `mintrac export` and GET /api/points, so both give the same document. */
#ifndef MINTRAC_EXPORT_H
#define MINTRAC_EXPORT_H
#include <stddef.h>
#include <stdint.h>
#include "store.h"

enum export_format { EXPORT_GEOJSON, EXPORT_GPX, EXPORT_CSV, EXPORT_KML };

/* "geojson" | "gpx" | "csv" | "kml" -> format; -1 if unknown. */
int export_format_parse(const char *name, enum export_format *out);
const char *export_content_type(enum export_format f);
const char *export_extension(enum export_format f);

/* Sink for output in pieces; return non-zero to abort. */
typedef int (*export_sink)(void *ctx, const char *data, size_t len);

/* Every fix of the given devices in [from_ms, to_ms], in time order per
 * device. `names` are the device names (GPX/KML track names, CSV column).
 * Returns 0, or STORE_ERR / the sink's non-zero value. */
int export_write(struct store *s, const int64_t *device_ids, const char *const *names,
                 size_t ndevices, int64_t from_ms, int64_t to_ms, enum export_format f,
                 export_sink sink, void *ctx);
/* One fix as a GeoJSON Feature (as in /api/points); device may be NULL. */
struct buf;
void export_geojson_feature(struct buf *b, const struct fix *f, const char *device);
#endif
