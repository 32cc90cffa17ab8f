/* Country and nearest populated place of a point, from the offline
 * geodata in the store (store/geo_store.h; loaded by `mintrac geo load`).
 *
 * country: the shape containing the point (a point on a border belongs to
 *   one of the two); else, for a point just off a coast, the shape within
 *   GEO_COAST_M (the 1:10m outlines cut corners of harbours and beaches);
 *   else none (at sea).
 * city: the nearest place within GEO_CITY_RADIUS_M in the point's country;
 *   when that country has none so near (or the country is unknown), the
 *   nearest place of any country within that radius; else none. So a stay
 *   in Kehl is in Kehl (DE), not in Strasbourg across the Rhine, and a
 *   point far out at sea has no city. */
#ifndef MINTRAC_HISTORY_GEO_LOOKUP_H
#define MINTRAC_HISTORY_GEO_LOOKUP_H
#include "store/geo_store.h"
#include "store/store.h"

#define GEO_COAST_M        2000.0
#define GEO_CITY_RADIUS_M  50000.0

struct geo_place {
	char   country[3];          /* ISO 3166-1 alpha-2; "" when none */
	char   country_name[128];
	char   city[256];           /* "" when none */
	char   city_country[3];
	double city_distance_m;     /* -1 when no city */
};

struct geo;
/* A lookup on the store's connection; close it before the store. */
struct geo *geo_open(struct store *s);
void geo_close(struct geo *g);                    /* NULL-safe */
const char *geo_errmsg(const struct geo *g);
/* 1 when geodata is loaded, 0 when not (every lookup then finds
 * nothing), -1 on a storage error. */
int geo_loaded(struct geo *g);
/* STORE_OK (out filled; empty fields when not found or nothing is
 * loaded) or STORE_ERR. */
int geo_lookup(struct geo *g, double lat, double lon, struct geo_place *out);
#endif
