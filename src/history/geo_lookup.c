/* Country and city of a point (see geo_lookup.h): R*Tree candidates from
 * the store, the exact tests here. */
#include "history/geo_lookup.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "history/geo.h"

#define M_PER_DEG (GEO_EARTH_RADIUS_M * M_PI / 180)

struct geo {
	struct store_geo *sg;
};

struct geo *geo_open(struct store *s)
{
	struct geo *g = xcalloc(1, sizeof *g);
	g->sg = store_geo_open(s);
	return g;
}

void geo_close(struct geo *g)
{
	if (!g)
		return;
	store_geo_close(g->sg);
	free(g);
}

const char *geo_errmsg(const struct geo *g)
{
	return store_geo_errmsg(g->sg);
}

int geo_loaded(struct geo *g)
{
	int64_t countries, cities;
	if (store_geo_count(g->sg, &countries, &cities) != STORE_OK)
		return -1;
	return countries > 0 || cities > 0;
}

/* Copies at most n - 1 bytes, cut at a UTF-8 character boundary. */
static void copy_utf8(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);
	if (len >= n) {
		len = n - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void set_country(struct geo_place *out, const struct geo_country_rec *c)
{
	copy_utf8(out->country, sizeof out->country, c->code ? c->code : "");
	copy_utf8(out->country_name, sizeof out->country_name, c->name);
}

struct inside {
	double lat, lon;
	struct geo_place *out;
	int found;
};

static int inside_cb(void *ctx, const struct geo_country_rec *c)
{
	struct inside *in = ctx;
	if (geo_shape_contains(c->shape, c->shape_len, in->lat, in->lon) != 1)
		return 0;
	set_country(in->out, c);
	in->found = 1;
	return 1;
}

struct near {
	double lat, lon, best;
	struct geo_place *out;
};

static int near_cb(void *ctx, const struct geo_country_rec *c)
{
	struct near *nr = ctx;
	double d = geo_shape_edge_distance_m(c->shape, c->shape_len, nr->lat, nr->lon, nr->best);
	if (d >= 0 && d < nr->best) {
		nr->best = d;
		set_country(nr->out, c);
	}
	return 0;
}

/* Degrees of longitude that make m metres at this latitude (the whole
 * circle near a pole). */
static double dlon_for(double lat, double m)
{
	double c = cos(lat * M_PI / 180);
	return c < 1e-3 ? 360 : m / (M_PER_DEG * c);
}

/* Shapes are found at lon and, for shapes unwrapped past +180°, at
 * lon + 360 (geo.h). */
static int country_of(struct geo *g, double lat, double lon, struct geo_place *out)
{
	struct inside in = { lat, lon, out, 0 };
	int rc = store_geo_countries_in(g->sg, lat, lon, lat, lon, inside_cb, &in);
	if (rc == 0 && !in.found && lon < 0)
		rc = store_geo_countries_in(g->sg, lat, lon + 360, lat, lon + 360, inside_cb, &in);
	if (rc < 0)
		return STORE_ERR;
	if (in.found)
		return STORE_OK;

	struct near nr = { lat, lon, GEO_COAST_M, out };
	double dlat = GEO_COAST_M / M_PER_DEG, dlon = dlon_for(lat, GEO_COAST_M);
	rc = store_geo_countries_in(g->sg, lat - dlat, lon - dlon, lat + dlat, lon + dlon,
	                            near_cb, &nr);
	if (rc == 0 && lon - dlon < -180)
		rc = store_geo_countries_in(g->sg, lat - dlat, lon + 360 - dlon, lat + dlat,
		                            lon + 360 + dlon, near_cb, &nr);
	return rc < 0 ? STORE_ERR : STORE_OK;
}

struct city_best {
	double dist;
	char   name[256];
	char   country[3];
};

struct city_search {
	double lat, lon, radius;
	const char *country;                 /* the point's, "" when unknown */
	struct city_best any, same;
};

static void keep(struct city_best *b, const struct geo_city_rec *c, double d)
{
	b->dist = d;
	copy_utf8(b->name, sizeof b->name, c->name);
	copy_utf8(b->country, sizeof b->country, c->country);
}

static int city_cb(void *ctx, const struct geo_city_rec *c)
{
	struct city_search *cs = ctx;
	double d = geo_distance_m(cs->lat, cs->lon, c->lat, c->lon);
	if (d > cs->radius)
		return 0;
	if (d < cs->any.dist)
		keep(&cs->any, c, d);
	if (cs->country[0] && !strcmp(c->country, cs->country) && d < cs->same.dist)
		keep(&cs->same, c, d);
	return 0;
}

/* Places in the box round the point that holds the circle of the search
 * radius, the box split in two where it crosses the antimeridian. */
static int cities_round(struct geo *g, struct city_search *cs)
{
	double dlat = cs->radius / M_PER_DEG, dlon = dlon_for(cs->lat, cs->radius);
	double s = cs->lat - dlat, n = cs->lat + dlat;
	if (dlon >= 180)
		return store_geo_cities_in(g->sg, s, -180, n, 180, city_cb, cs);
	double w = cs->lon - dlon, e = cs->lon + dlon;
	int rc = store_geo_cities_in(g->sg, s, w < -180 ? -180 : w, n, e > 180 ? 180 : e,
	                             city_cb, cs);
	if (rc == 0 && w < -180)
		rc = store_geo_cities_in(g->sg, s, w + 360, n, 180, city_cb, cs);
	if (rc == 0 && e > 180)
		rc = store_geo_cities_in(g->sg, s, -180, n, e - 360, city_cb, cs);
	return rc;
}

/* Widening circles: most points have a place within the first, and a
 * circle holds every place nearer than its radius, so the first circle
 * with a match gives the nearest one. */
static const double radii_m[] = { 3000, 10000, 25000, GEO_CITY_RADIUS_M };

static int city_of(struct geo *g, double lat, double lon, struct geo_place *out)
{
	struct city_search cs = { .lat = lat, .lon = lon, .country = out->country };
	cs.any.dist = cs.same.dist = INFINITY;
	for (size_t i = 0; i < sizeof radii_m / sizeof radii_m[0]; i++) {
		cs.radius = radii_m[i];
		if (cities_round(g, &cs) < 0)
			return STORE_ERR;
		if (isfinite(cs.same.dist) || (!cs.country[0] && isfinite(cs.any.dist)))
			break;
	}
	const struct city_best *b = isfinite(cs.same.dist) ? &cs.same : &cs.any;
	if (isfinite(b->dist)) {
		copy_utf8(out->city, sizeof out->city, b->name);
		copy_utf8(out->city_country, sizeof out->city_country, b->country);
		out->city_distance_m = b->dist;
	}
	return STORE_OK;
}

int geo_lookup(struct geo *g, double lat, double lon, struct geo_place *out)
{
	memset(out, 0, sizeof *out);
	out->city_distance_m = -1;
	if (!isfinite(lat) || !isfinite(lon) || fabs(lat) > 90 || fabs(lon) > 180)
		return STORE_OK;
	if (store_geo_read_begin(g->sg) != STORE_OK)
		return STORE_ERR;
	int rc = country_of(g, lat, lon, out);
	if (rc == STORE_OK)
		rc = city_of(g, lat, lon, out);
	if (store_geo_read_end(g->sg) != STORE_OK)
		rc = STORE_ERR;
	return rc;
}
