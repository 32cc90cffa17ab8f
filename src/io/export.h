/* Writing stored fixes as GeoJSON, GPX, CSV or KML. One writer shared by
 * `mintrac export` and GET /api/points, so both give the same document.
 * A document is an object written piece by piece (export_more), so a
 * server can stream it at the pace of a slow client; export_write is the
 * same object run to the end. */
#ifndef MINTRAC_EXPORT_H
#define MINTRAC_EXPORT_H
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

enum export_format { EXPORT_GEOJSON, EXPORT_GPX, EXPORT_CSV, EXPORT_KML };

/* "geojson" | "gpx" | "csv" | "kml" -> format; -1 if unknown. */
int export_format_parse(const char *name, enum export_format *out);
const char *export_content_type(enum export_format f);
const char *export_extension(enum export_format f);

/* Sink for output in pieces; return non-zero to abort. */
typedef int (*export_sink)(void *ctx, const char *data, size_t len);

struct export;

/* Every fix of the given devices in [from_ms, to_ms], in time order per
 * device. `names` are the device names (GPX/KML track names, CSV column);
 * ids and names are copied. NULL when out of memory or f is unknown. */
struct export *export_new(struct store *s, const int64_t *device_ids, const char *const *names,
                          size_t ndevices, int64_t from_ms, int64_t to_ms, enum export_format f);
/* A thinned track: the fixes of one device at the given times (ascending;
 * copied) as a GeoJSON FeatureCollection whose features carry no
 * `attributes`. A time whose fix is gone by now is skipped. */
struct export *export_new_times(struct store *s, int64_t device_id, const int64_t *times,
                                size_t n);
/* Hands the next piece of the document to sink: reads fixes until about
 * `budget` bytes of text are ready (each read a short walk that starts
 * after the last fix written, so no read transaction stays open between
 * calls and fixes stored meanwhile after that point are included), then
 * hands that text to sink in one call. 0: more to come; 1: the document is complete;
 * -1: failed (a storage error, see store_errmsg, or the sink's non-zero
 * return); every later call returns the same. */
/* Only the fixes cleaning keeps (design.md "History": accuracy worse than
 * max_accuracy and spikes left out; nothing deleted). Before the first
 * export_more. For a thinned track, the drawn points are cleaned. */
struct hist_config;
void export_set_clean(struct export *e, const struct hist_config *cfg);
int export_more(struct export *e, export_sink sink, void *ctx, size_t budget);
void export_free(struct export *e);                /* NULL-safe */

/* export_new + export_more to the end + export_free. Returns 0, or
 * STORE_ERR / the sink's non-zero value. */
int export_write(struct store *s, const int64_t *device_ids, const char *const *names,
                 size_t ndevices, int64_t from_ms, int64_t to_ms, enum export_format f,
                 export_sink sink, void *ctx);
/* One fix as a GeoJSON Feature (as in /api/points); device may be NULL. */
struct buf;
void export_geojson_feature(struct buf *b, const struct fix *f, const char *device);
#endif
