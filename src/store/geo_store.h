/* Offline geodata in the store: country shapes and populated places, each
 * with a spatial index (SQLite: R*Tree tables; see geo_sqlite.c). The
 * store keeps shapes as opaque blobs: history/geo.h encodes them and tests
 * points against them. The data is a copy of files installed with
 * mintrac, not user data: loading replaces all of it at once.
 *
 * A struct store_geo holds the prepared queries on one store connection;
 * close it before the store. Same thread rules as struct store. */
#ifndef MINTRAC_STORE_GEO_H
#define MINTRAC_STORE_GEO_H
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

struct store_geo;

struct store_geo *store_geo_open(struct store *s);
void store_geo_close(struct store_geo *g);              /* NULL-safe */
const char *store_geo_errmsg(const struct store_geo *g);

/* Loading, inside store_begin .. store_commit of the same store: clear
 * drops every shape and place (and makes the tables when missing). */
int store_geo_clear(struct store_geo *g);
int store_geo_put_country(struct store_geo *g, const char *code, const char *name,
                          double min_lat, double min_lon, double max_lat, double max_lon,
                          const void *shape, size_t shape_len, int64_t *id_out);
int store_geo_set_country(struct store_geo *g, int64_t id, const char *code, const char *name);
int store_geo_put_city(struct store_geo *g, const char *name, const char *country,
                       double lat, double lon);

/* A read snapshot around several queries (one lookup): the store's locks
 * are taken once, not per query. Nothing when a transaction is open
 * already; end closes only what begin opened. */
int store_geo_read_begin(struct store_geo *g);
int store_geo_read_end(struct store_geo *g);

/* Counts of what is loaded (0 and 0 when nothing ever was). */
int store_geo_count(struct store_geo *g, int64_t *countries, int64_t *cities);

struct geo_country_rec {
	int64_t     id;
	const char *code;          /* ISO 3166-1 alpha-2, or NULL when unknown */
	const char *name;
	const void *shape;
	size_t      shape_len;
};
struct geo_city_rec {
	const char *name;
	const char *country;       /* ISO 3166-1 alpha-2 */
	double      lat, lon;
};

/* Shapes whose bounding box meets the box; records are valid only during
 * the callback, a non-zero return stops the walk and is returned. With
 * nothing loaded, no callback and STORE_OK. */
int store_geo_countries_in(struct store_geo *g, double min_lat, double min_lon,
                           double max_lat, double max_lon,
                           int (*cb)(void *ctx, const struct geo_country_rec *c), void *ctx);
/* Places inside the box, same rules. */
int store_geo_cities_in(struct store_geo *g, double min_lat, double min_lon,
                        double max_lat, double max_lon,
                        int (*cb)(void *ctx, const struct geo_city_rec *c), void *ctx);
#endif
