/* Export writers against a real temporary store: every format's text, the
 * presence rules for optional values (0 is a value), time order, inclusive
 * range bounds and output in pieces. Also the webapp's credential cache. */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/buf.h"
#include "io/export.h"
#include "store/store.h"
#include "test.h"

/* 2024-05-01T00:00:00Z */
#define DAY_MS INT64_C(1714521600000)

struct tstore {
	struct store *s;
	char          dir[64];
	char          path[96];
	int64_t       dev[2];
};

static void put(struct store *s, int64_t dev, int64_t t, double lat, double lon, unsigned has,
                double alt, double speed, double course, double acc, double batt,
                const char *attrs)
{
	struct fix f;
	fix_init(&f);
	f.time_ms = t;
	f.lat = lat;
	f.lon = lon;
	f.has = has;
	f.alt = alt;
	f.speed = speed;
	f.course = course;
	f.acc = acc;
	f.batt = batt;
	f.attrs = attrs ? strdup(attrs) : NULL;
	int ins = 0;
	CHECK_INT(store_put_fix(s, dev, &f, &ins), STORE_OK);
	CHECK_INT(ins, 1);
	fix_free(&f);
}

#define ALL (FIX_ALT | FIX_SPEED | FIX_COURSE | FIX_ACC | FIX_BATT)
#define ATTRS "{\"note\":\"say \\\"hi\\\" <b>\",\"n\":1}"

/* Device "phone": four fixes stored out of order; device "<img src=x>": one. */
static int tstore_open(struct tstore *t)
{
	char err[256];
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	struct user_rec u;

	snprintf(t->dir, sizeof t->dir, "/tmp/mintrac-test-export-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof t->path, "%s/t.db", t->dir);
	t->s = store_open(t->path, STORE_CREATE | STORE_SYNC_NORMAL, err, sizeof err);
	if (!t->s) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	memset(h1, 1, sizeof h1);
	memset(h2, 2, sizeof h2);
	if (store_user_add(t->s, "anna", "$argon2id$fake") != STORE_OK ||
	    store_user_get(t->s, "anna", &u) != STORE_OK ||
	    store_device_add(t->s, u.id, "phone", h1, NULL, &t->dev[0]) != STORE_OK ||
	    store_device_add(t->s, u.id, "<img src=x>", h2, NULL, &t->dev[1]) != STORE_OK)
		return -1;
	CHECK_INT(store_begin(t->s), STORE_OK);
	/* 10:02:00.999, nothing optional */
	put(t->s, t->dev[0], DAY_MS + 36120999, 0.00001, -0.5, 0, 0, 0, 0, 0, 0, NULL);
	/* 10:00:00.123, everything known */
	put(t->s, t->dev[0], DAY_MS + 36000123, 52.5200001, 13.4049999, ALL, 34.5, 3.25, 270.5,
	    4.8, 87, ATTRS);
	/* 10:01:00.000, zeros that are values */
	put(t->s, t->dev[0], DAY_MS + 36060000, -33.8688, 151.2093,
	    FIX_ALT | FIX_SPEED | FIX_COURSE, 0, 0, 0, 0, 0, "{}");
	/* 2024-04-30T23:59:59.999Z, the day before */
	put(t->s, t->dev[0], DAY_MS - 1, 1.5, 2.5, FIX_ACC, 0, 0, 0, 10, 0, NULL);
	put(t->s, t->dev[1], DAY_MS + 1000, 48.1, 11.6, FIX_BATT, 0, 0, 0, 0, 55.5, NULL);
	CHECK_INT(store_commit(t->s), STORE_OK);
	return 0;
}

static void tstore_close(struct tstore *t)
{
	char p[128];
	store_close(t->s);
	unlink(t->path);
	snprintf(p, sizeof p, "%s-wal", t->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", t->path);
	unlink(p);
	rmdir(t->dir);
}

struct collect {
	struct buf b;
	size_t     calls;
	size_t     max_piece;
	size_t     fail_after;   /* non-zero: return 7 on that call */
};

static int collect_sink(void *ctx, const char *data, size_t len)
{
	struct collect *c = ctx;
	c->calls++;
	if (len > c->max_piece)
		c->max_piece = len;
	if (c->fail_after && c->calls >= c->fail_after)
		return 7;
	buf_add(&c->b, data, len);
	return 0;
}

/* Export device(s) into a NUL-terminated string (caller frees). */
static char *run(struct tstore *t, size_t ndev, int64_t from, int64_t to, enum export_format f)
{
	static const char *const names[] = { "phone", "<img src=x>" };
	struct collect c;
	memset(&c, 0, sizeof c);
	buf_init(&c.b);
	CHECK_INT(export_write(t->s, t->dev, names, ndev, from, to, f, collect_sink, &c), 0);
	return buf_steal(&c.b);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

TEST(export_format_names)
{
	enum export_format f;
	CHECK_INT(export_format_parse("gpx", &f), 0);
	CHECK_INT(f, EXPORT_GPX);
	CHECK_INT(export_format_parse("geojson", &f), 0);
	CHECK_INT(f, EXPORT_GEOJSON);
	CHECK_INT(export_format_parse("csv", &f), 0);
	CHECK_INT(f, EXPORT_CSV);
	CHECK_INT(export_format_parse("kml", &f), 0);
	CHECK_INT(f, EXPORT_KML);
	CHECK_INT(export_format_parse("xls", &f), -1);
	CHECK_INT(export_format_parse("", &f), -1);
	CHECK_STR(export_content_type(EXPORT_GEOJSON), "application/geo+json");
	CHECK_STR(export_content_type(EXPORT_GPX), "application/gpx+xml");
	CHECK_STR(export_content_type(EXPORT_CSV), "text/csv; charset=utf-8");
	CHECK_STR(export_content_type(EXPORT_KML), "application/vnd.google-earth.kml+xml");
	CHECK_STR(export_extension(EXPORT_GPX), "gpx");
	CHECK_STR(export_extension(EXPORT_KML), "kml");
}

static json_t *feature_at(json_t *doc, size_t i)
{
	return json_array_get(json_object_get(doc, "features"), i);
}

static double coord(json_t *feat, size_t i)
{
	return json_real_value(json_array_get(
	    json_object_get(json_object_get(feat, "geometry"), "coordinates"), i));
}

static json_t *prop(json_t *feat, const char *name)
{
	return json_object_get(json_object_get(feat, "properties"), name);
}

TEST(export_geojson)
{
	struct tstore t;
	if (tstore_open(&t) < 0) {
		CHECK(!"temp store");
		return;
	}
	char *out = run(&t, 1, DAY_MS, DAY_MS + 86399999, EXPORT_GEOJSON);
	json_error_t jerr;
	json_t *doc = json_loads(out, JSON_DECODE_INT_AS_REAL, &jerr);
	CHECK(doc != NULL);
	if (!doc) {
		fprintf(stderr, "%s\n%s\n", jerr.text, out);
		goto done;
	}
	CHECK_STR(json_string_value(json_object_get(doc, "type")), "FeatureCollection");
	CHECK_INT(json_array_size(json_object_get(doc, "features")), 3);

	/* All values known, in time order first. */
	json_t *a = feature_at(doc, 0);
	CHECK_STR(json_string_value(json_object_get(a, "type")), "Feature");
	CHECK_STR(json_string_value(json_object_get(json_object_get(a, "geometry"), "type")),
	          "Point");
	CHECK(fabs(coord(a, 0) - 13.4049999) < 1e-7);
	CHECK(fabs(coord(a, 1) - 52.5200001) < 1e-7);
	CHECK_DBL(coord(a, 1), 52.5200001);      /* round-trip exact */
	CHECK_DBL(coord(a, 2), 34.5);
	CHECK_STR(json_string_value(prop(a, "time")), "2024-05-01T10:00:00.123Z");
	CHECK_DBL(json_real_value(prop(a, "speed")), 3.25);
	CHECK_DBL(json_real_value(prop(a, "course")), 270.5);
	CHECK_DBL(json_real_value(prop(a, "altitude")), 34.5);
	CHECK_DBL(json_real_value(prop(a, "accuracy")), 4.8);
	CHECK_DBL(json_real_value(prop(a, "battery")), 87);
	CHECK_STR(json_string_value(json_object_get(prop(a, "attributes"), "note")),
	          "say \"hi\" <b>");
	CHECK(prop(a, "device") == NULL);

	/* Zeros are values: present. */
	json_t *b = feature_at(doc, 1);
	CHECK_STR(json_string_value(prop(b, "time")), "2024-05-01T10:01:00.000Z");
	CHECK(json_is_number(prop(b, "speed")) && json_number_value(prop(b, "speed")) == 0);
	CHECK(json_is_number(prop(b, "course")) && json_number_value(prop(b, "course")) == 0);
	CHECK(json_is_number(prop(b, "altitude")) && json_number_value(prop(b, "altitude")) == 0);
	CHECK_INT(json_array_size(json_object_get(json_object_get(b, "geometry"), "coordinates")), 3);
	CHECK(prop(b, "accuracy") == NULL);
	CHECK(prop(b, "battery") == NULL);
	CHECK(json_is_object(prop(b, "attributes")));

	/* Nothing optional: [lon, lat], attributes {}. */
	json_t *c = feature_at(doc, 2);
	CHECK_STR(json_string_value(prop(c, "time")), "2024-05-01T10:02:00.999Z");
	CHECK_INT(json_array_size(json_object_get(json_object_get(c, "geometry"), "coordinates")), 2);
	CHECK_DBL(coord(c, 0), -0.5);
	CHECK_DBL(coord(c, 1), 0.00001);
	const char *absent[] = { "speed", "course", "altitude", "accuracy", "battery" };
	for (size_t i = 0; i < 5; i++)
		CHECK(prop(c, absent[i]) == NULL);
	CHECK(json_is_object(prop(c, "attributes")) && json_object_size(prop(c, "attributes")) == 0);
	json_decref(doc);
done:
	free(out);
	tstore_close(&t);
}

TEST(export_geojson_several_and_empty)
{
	struct tstore t;
	if (tstore_open(&t) < 0) {
		CHECK(!"temp store");
		return;
	}
	char *out = run(&t, 2, INT64_MIN, INT64_MAX, EXPORT_GEOJSON);
	json_t *doc = json_loads(out, JSON_DECODE_INT_AS_REAL, NULL);
	CHECK(doc != NULL);
	CHECK_INT(json_array_size(json_object_get(doc, "features")), 5);
	CHECK_STR(json_string_value(prop(feature_at(doc, 0), "device")), "phone");
	CHECK_STR(json_string_value(prop(feature_at(doc, 0), "time")), "2024-04-30T23:59:59.999Z");
	CHECK_STR(json_string_value(prop(feature_at(doc, 4), "device")), "<img src=x>");
	CHECK(strstr(out, "<img") == NULL);       /* escaped as \u003c */
	json_decref(doc);
	free(out);

	out = run(&t, 1, DAY_MS + 90000000, INT64_MAX, EXPORT_GEOJSON);
	doc = json_loads(out, 0, NULL);
	CHECK(doc != NULL);
	CHECK_INT(json_array_size(json_object_get(doc, "features")), 0);
	json_decref(doc);
	free(out);

	out = run(&t, 0, INT64_MIN, INT64_MAX, EXPORT_GEOJSON);
	CHECK_STR(out, "{\"type\":\"FeatureCollection\",\"features\":[]}\n");
	free(out);
	tstore_close(&t);
}

TEST(export_range_inclusive)
{
	struct tstore t;
	if (tstore_open(&t) < 0) {
		CHECK(!"temp store");
		return;
	}
	/* Both bounds hit a fix exactly. */
	char *out = run(&t, 1, DAY_MS - 1, DAY_MS + 36060000, EXPORT_CSV);
	CHECK_INT(count(out, "\r\n"), 4);        /* header + 3 */
	CHECK(strstr(out, "2024-04-30T23:59:59.999Z") != NULL);
	CHECK(strstr(out, "2024-05-01T10:01:00.000Z") != NULL);
	CHECK(strstr(out, "2024-05-01T10:02:00.999Z") == NULL);
	free(out);
	out = run(&t, 1, DAY_MS, DAY_MS + 36060000 - 1, EXPORT_CSV);
	CHECK_INT(count(out, "\r\n"), 2);
	CHECK(strstr(out, "2024-05-01T10:00:00.123Z") != NULL);
	free(out);
	tstore_close(&t);
}

TEST(export_gpx)
{
	struct tstore t;
	if (tstore_open(&t) < 0) {
		CHECK(!"temp store");
		return;
	}
	char *out = run(&t, 2, DAY_MS, INT64_MAX, EXPORT_GPX);
	CHECK(strncmp(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" "
	                   "creator=\"mintrac\" xmlns=\"http://www.topografix.com/GPX/1/1\"", 96) == 0);
	CHECK_INT(count(out, "<trk>"), 2);
	CHECK_INT(count(out, "<trkseg>"), 2);
	CHECK_INT(count(out, "<trkpt "), 4);
	CHECK(strstr(out, "<name>phone</name>") != NULL);
	CHECK(strstr(out, "<name>&lt;img src=x&gt;</name>") != NULL);
	const char *p1 = strstr(out, "<trkpt lat=\"52.5200001\" lon=\"13.4049999\"><ele>34.5</ele>"
	                             "<time>2024-05-01T10:00:00.123Z</time><extensions>"
	                             "<mintrac:speed>3.25</mintrac:speed>"
	                             "<mintrac:course>270.5</mintrac:course>"
	                             "<mintrac:accuracy>4.8</mintrac:accuracy>"
	                             "<mintrac:battery>87</mintrac:battery></extensions></trkpt>");
	const char *p2 = strstr(out, "<trkpt lat=\"-33.8688\" lon=\"151.2093\"><ele>0</ele>"
	                             "<time>2024-05-01T10:01:00.000Z</time>");
	/* No exponent in xsd:decimal. */
	const char *p3 = strstr(out, "<trkpt lat=\"0.00001\" lon=\"-0.5\">"
	                             "<time>2024-05-01T10:02:00.999Z</time></trkpt>");
	CHECK(p1 && p2 && p3 && p1 < p2 && p2 < p3);
	CHECK(strstr(out, "</trkseg></trk>\n</gpx>\n") != NULL);
	free(out);
	tstore_close(&t);
}

TEST(export_csv)
{
	struct tstore t;
	if (tstore_open(&t) < 0) {
		CHECK(!"temp store");
		return;
	}
	char *out = run(&t, 1, DAY_MS, INT64_MAX, EXPORT_CSV);
	CHECK_STR(out,
	          "time,lat,lon,altitude,speed,course,accuracy,battery,attributes\r\n"
	          "2024-05-01T10:00:00.123Z,52.5200001,13.4049999,34.5,3.25,270.5,4.8,87,"
	          "\"{\"\"note\"\":\"\"say \\\"\"hi\\\"\" <b>\"\",\"\"n\"\":1}\"\r\n"
	          "2024-05-01T10:01:00.000Z,-33.8688,151.2093,0,0,0,,,\"{}\"\r\n"
	          "2024-05-01T10:02:00.999Z,0.00001,-0.5,,,,,,\"{}\"\r\n");
	free(out);
	out = run(&t, 2, DAY_MS, INT64_MAX, EXPORT_CSV);
	CHECK(strncmp(out, "device,time,lat,", 16) == 0);
	CHECK(strstr(out, "\r\nphone,2024-05-01T10:00:00.123Z,") != NULL);
	CHECK(strstr(out, "\r\n<img src=x>,2024-05-01T00:00:01.000Z,48.1,11.6,,,,,55.5,\"{}\"\r\n")
	      != NULL);
	free(out);
	tstore_close(&t);
}

TEST(export_kml)
{
	struct tstore t;
	if (tstore_open(&t) < 0) {
		CHECK(!"temp store");
		return;
	}
	char *out = run(&t, 1, DAY_MS, INT64_MAX, EXPORT_KML);
	CHECK(strstr(out, "<kml xmlns=\"http://www.opengis.net/kml/2.2\"") != NULL);
	CHECK_INT(count(out, "<Placemark>"), 1);
	CHECK(strstr(out, "<name>phone</name>") != NULL);
	const char *w1 = strstr(out, "<when>2024-05-01T10:00:00.123Z</when>");
	const char *w3 = strstr(out, "<when>2024-05-01T10:02:00.999Z</when>");
	const char *c1 = strstr(out, "<gx:coord>13.4049999 52.5200001 34.5</gx:coord>");
	const char *c2 = strstr(out, "<gx:coord>151.2093 -33.8688 0</gx:coord>");
	const char *c3 = strstr(out, "<gx:coord>-0.5 0.00001</gx:coord>");
	CHECK(w1 && w3 && c1 && c2 && c3 && w1 < w3 && w3 < c1 && c1 < c2 && c2 < c3);
	CHECK_INT(count(out, "<when>"), 3);
	CHECK_INT(count(out, "<gx:coord>"), 3);
	CHECK(strstr(out, "</Document>\n</kml>\n") != NULL);
	free(out);
	tstore_close(&t);
}

/* Many fixes: output comes in bounded pieces, KML splits into tracks with
 * whens before coords in each, and a failing sink stops the export. */
TEST(export_streaming)
{
	struct tstore t;
	if (tstore_open(&t) < 0) {
		CHECK(!"temp store");
		return;
	}
	CHECK_INT(store_begin(t.s), STORE_OK);
	for (int i = 0; i < 2500; i++)
		put(t.s, t.dev[1], DAY_MS + 86400000 + i * 1000, 10 + i * 1e-5, 20, FIX_SPEED, 0,
		    1.5, 0, 0, 0, NULL);
	CHECK_INT(store_commit(t.s), STORE_OK);

	int64_t ids[1] = { t.dev[1] };
	const char *names[1] = { "x" };
	struct collect c;
	memset(&c, 0, sizeof c);
	buf_init(&c.b);
	CHECK_INT(export_write(t.s, ids, names, 1, INT64_MIN, INT64_MAX, EXPORT_GEOJSON,
	                       collect_sink, &c), 0);
	CHECK(c.calls > 2);
	CHECK(c.max_piece < 80 * 1024);
	json_t *doc = json_loads(c.b.data, 0, NULL);
	CHECK(doc != NULL);
	CHECK_INT(json_array_size(json_object_get(doc, "features")), 2501);
	json_decref(doc);
	buf_free(&c.b);

	memset(&c, 0, sizeof c);
	CHECK_INT(export_write(t.s, ids, names, 1, INT64_MIN, INT64_MAX, EXPORT_KML, collect_sink,
	                       &c), 0);
	CHECK_INT(count(c.b.data, "<gx:Track>"), 3);
	CHECK_INT(count(c.b.data, "<when>"), 2501);
	CHECK_INT(count(c.b.data, "<gx:coord>"), 2501);
	/* In every track all whens precede all coords. */
	for (const char *p = c.b.data; (p = strstr(p, "<gx:Track>")); p++) {
		const char *end = strstr(p, "</gx:Track>");
		const char *first_coord = strstr(p, "<gx:coord>");
		const char *next_when = first_coord ? strstr(first_coord, "<when>") : NULL;
		CHECK(end && first_coord && first_coord < end);
		CHECK(!next_when || next_when > end);
	}
	buf_free(&c.b);

	memset(&c, 0, sizeof c);
	c.fail_after = 2;
	CHECK_INT(export_write(t.s, ids, names, 1, INT64_MIN, INT64_MAX, EXPORT_CSV, collect_sink,
	                       &c), 7);
	CHECK_INT(c.calls, 2);
	buf_free(&c.b);
	tstore_close(&t);
}

TEST(export_feature_device)
{
	struct fix f;
	struct buf b;
	fix_init(&f);
	buf_init(&b);
	f.time_ms = 0;
	f.lat = 1;
	f.lon = 2;
	export_geojson_feature(&b, &f, "a\"b");
	CHECK_STR(b.data, "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":"
	                  "[2,1]},\"properties\":{\"time\":\"1970-01-01T00:00:00.000Z\","
	                  "\"attributes\":{},\"device\":\"a\\\"b\"}}");
	buf_free(&b);
}

/* Shortest round-trip digits, never an exponent ("3e+01" is what %g-style
 * shortest text gives for 30). */
TEST(export_numbers_positional)
{
	struct fix f;
	struct buf b;
	fix_init(&f);
	buf_init(&b);
	f.time_ms = 1714557600123;
	f.lat = 30;
	f.lon = -1.25e-7;
	f.alt = 1e21;
	f.speed = 100;
	f.course = 0.1;
	f.batt = 1.0 / 3;
	f.has = FIX_ALT | FIX_SPEED | FIX_COURSE | FIX_BATT;
	export_geojson_feature(&b, &f, NULL);
	CHECK(strstr(b.data, "\"coordinates\":[-0.000000125,30,1000000000000000000000]") != NULL);
	CHECK(strstr(b.data, "\"speed\":100,\"course\":0.1,") != NULL);
	CHECK(strstr(b.data, "\"battery\":0.3333333333333333,") != NULL);
	CHECK(strstr(b.data, "e+") == NULL && strstr(b.data, "e-") == NULL);
	json_t *doc = json_loads(b.data, JSON_DECODE_INT_AS_REAL, NULL);
	CHECK(doc != NULL);
	CHECK_DBL(json_real_value(json_object_get(json_object_get(doc, "properties"), "battery")),
	          1.0 / 3);
	json_decref(doc);
	buf_free(&b);
}
