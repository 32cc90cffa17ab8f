/* import*.c: every parser on small inline documents (each field and unit),
 * format detection, error lines, rejected records, Google's exports, and
 * chunk boundaries: every document is also fed one byte at a time and must
 * give exactly the same fixes, visits and rejections. */
#include <stdlib.h>

#include "base/buf.h"
#include "io/import.h"
#include "test.h"

#define MAXF 16
#define MAXV 4

struct got {
	size_t     n;
	struct fix f[MAXF];
	int        has_tag[MAXF];
	int64_t    tag[MAXF];
	size_t     nv;
	struct import_visit v[MAXV];   /* strings point into vtext */
	char      *vtext[MAXV][4];
	int        abort_after;    /* callback returns 1 after this many; 0 never */
	int        rc;
	char       err[256];
	uint64_t   line;
	uint64_t   count, notime, nonpoint, rejected;
	char       why[IMPORT_REASONS][160];
	uint64_t   why_line[IMPORT_REASONS];
	char       shape[40];
	struct importer *im;
};

static int collect(void *ctx, const struct fix *f)
{
	struct got *g = ctx;
	if (g->n < MAXF) {
		g->f[g->n] = *f;
		g->f[g->n].attrs = f->attrs ? strdup(f->attrs) : NULL;
		if (g->im)
			g->has_tag[g->n] = import_fix_tag(g->im, &g->tag[g->n]);
	}
	g->n++;
	return g->abort_after && g->n >= (size_t)g->abort_after;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int collect_visit(void *ctx, const struct import_visit *v)
{
	struct got *g = ctx;
	if (g->nv < MAXV) {
		struct import_visit *c = &g->v[g->nv];
		*c = *v;
		char **t = g->vtext[g->nv];
		c->name = t[0] = dup_or_null(v->name);
		c->address = t[1] = dup_or_null(v->address);
		c->place_id = t[2] = dup_or_null(v->place_id);
		c->semantic_type = t[3] = dup_or_null(v->semantic_type);
	}
	g->nv++;
	return 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n && i < MAXF; i++)
		fix_free(&g->f[i]);
	for (size_t i = 0; i < g->nv && i < MAXV; i++)
		for (int j = 0; j < 4; j++)
			free(g->vtext[i][j]);
}

static int same_str(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

static int same_visit(const struct import_visit *a, const struct import_visit *b)
{
	return a->start_ms == b->start_ms && a->end_ms == b->end_ms && a->lat == b->lat &&
	       a->lon == b->lon && a->line == b->line && same_str(a->name, b->name) &&
	       same_str(a->address, b->address) && same_str(a->place_id, b->place_id) &&
	       same_str(a->semantic_type, b->semantic_type);
}

/* Feeds doc in pieces of step bytes (0: all at once). */
static void run_step(enum import_format fmt, const char *doc, size_t step, struct got *g)
{
	int abort_after = g->abort_after;
	memset(g, 0, sizeof *g);
	g->abort_after = abort_after;
	struct importer *im = import_new(fmt, collect, g);
	g->im = im;
	import_set_visit_cb(im, collect_visit);
	size_t len = strlen(doc);
	int rc = IMPORT_OK;
	if (!step)
		step = len ? len : 1;
	for (size_t off = 0; off < len && rc == IMPORT_OK; off += step)
		rc = import_feed(im, doc + off, len - off < step ? len - off : step);
	if (rc == IMPORT_OK)
		rc = import_finish(im);
	g->rc = rc;
	snprintf(g->err, sizeof g->err, "%s", import_error(im));
	g->line = import_error_line(im);
	g->count = import_count(im);
	g->notime = import_skipped_notime(im);
	g->nonpoint = import_skipped_nonpoint(im);
	g->rejected = import_rejected(im);
	for (size_t i = 0; i < IMPORT_REASONS; i++) {
		const char *why = import_reject_reason(im, i, &g->why_line[i]);
		snprintf(g->why[i], sizeof g->why[i], "%s", why ? why : "");
	}
	CHECK(import_reject_reason(im, IMPORT_REASONS, &g->why_line[0]) == NULL);
	CHECK_INT(import_visits(im), g->nv);
	snprintf(g->shape, sizeof g->shape, "%s", import_shape(im));
	g->im = NULL;
	import_free(im);
}

static int same_fix(const struct fix *a, const struct fix *b)
{
	if (a->time_ms != b->time_ms || a->lat != b->lat || a->lon != b->lon || a->has != b->has)
		return 0;
	if (((a->has & FIX_SPEED) && a->speed != b->speed) ||
	    ((a->has & FIX_COURSE) && a->course != b->course) ||
	    ((a->has & FIX_ALT) && a->alt != b->alt) || ((a->has & FIX_ACC) && a->acc != b->acc) ||
	    ((a->has & FIX_BATT) && a->batt != b->batt))
		return 0;
	if (!a->attrs || !b->attrs)
		return a->attrs == b->attrs;
	return strcmp(a->attrs, b->attrs) == 0;
}

/* Whole, then byte by byte, then 7 bytes at a time: same outcome. */
static void run(enum import_format fmt, const char *doc, struct got *g)
{
	static const size_t steps[] = { 1, 7 };
	run_step(fmt, doc, 0, g);
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		struct got h;
		h.abort_after = g->abort_after;
		run_step(fmt, doc, steps[s], &h);
		CHECK_INT(h.rc, g->rc);
		CHECK_INT(h.n, g->n);
		CHECK_STR(h.err, g->err);
		CHECK_INT(h.line, g->line);
		CHECK_INT(h.notime, g->notime);
		CHECK_INT(h.nonpoint, g->nonpoint);
		CHECK_INT(h.rejected, g->rejected);
		CHECK_INT(h.nv, g->nv);
		CHECK_STR(h.shape, g->shape);
		for (size_t i = 0; i < IMPORT_REASONS; i++) {
			CHECK_STR(h.why[i], g->why[i]);
			CHECK_INT(h.why_line[i], g->why_line[i]);
		}
		for (size_t i = 0; i < g->n && i < h.n && i < MAXF; i++) {
			CHECK(same_fix(&h.f[i], &g->f[i]));
			CHECK_INT(h.has_tag[i], g->has_tag[i]);
			CHECK_INT(h.tag[i], g->tag[i]);
		}
		for (size_t i = 0; i < g->nv && i < h.nv && i < MAXV; i++)
			CHECK(same_visit(&h.v[i], &g->v[i]));
		got_free(&h);
	}
}

/* ---- detection ---- */

static int by_name(const char *n)
{
	enum import_format f;
	return import_detect_name(n, &f) < 0 ? -1 : (int)f;
}

static int by_content(const char *s)
{
	enum import_format f;
	return import_detect_content(s, strlen(s), &f) < 0 ? -1 : (int)f;
}

TEST(import_detect)
{
	CHECK_INT(by_name("a/b/track.GPX"), IMPORT_XML);
	CHECK_INT(by_name("x.kml"), IMPORT_XML);
	CHECK_INT(by_name("Records.json"), IMPORT_JSON);
	CHECK_INT(by_name("p.geojson"), IMPORT_JSON);
	CHECK_INT(by_name("p.csv"), IMPORT_CSV);
	CHECK_INT(by_name("2024-05.rec"), IMPORT_REC);
	CHECK_INT(by_name("noext"), -1);
	CHECK_INT(by_name("dir.gpx/noext"), -1);
	CHECK_INT(by_name("a.txt"), -1);

	CHECK_INT(by_content("\xEF\xBB\xBF  <?xml version=\"1.0\"?><gpx/>"), IMPORT_XML);
	CHECK_INT(by_content("<kml>"), IMPORT_XML);
	CHECK_INT(by_content("\n {\"type\":\"FeatureCollection\"}"), IMPORT_JSON);
	CHECK_INT(by_content("{\"locations\":[]}"), IMPORT_JSON);
	CHECK_INT(by_content("2024-05-01T10:00:00Z\t*   \t{\"_type\":\"location\"}\n"), IMPORT_REC);
	CHECK_INT(by_content("time,lat,lon,altitude\r\n"), IMPORT_CSV);
	CHECK_INT(by_content("device,time,lat,lon,altitude,speed\n"), IMPORT_CSV);
	CHECK_INT(by_content("Latitude,Longitude,Date\n"), IMPORT_CSV);
	CHECK_INT(by_content("hello world\n"), -1);
	CHECK_INT(by_content("   "), -1);
	CHECK_INT(by_content("2024-05-01 no tab\n"), -1);
}

/* ---- GPX ---- */

static const char gpx_doc[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<gpx version=\"1.1\" creator=\"mintrac\" xmlns=\"http://www.topografix.com/GPX/1/1\" "
	"xmlns:mintrac=\"urn:mintrac:gpx:1\">\n"
	"<metadata><time>2000-01-01T00:00:00Z</time></metadata>\n"
	"<wpt lat=\"10\" lon=\"20\"><name>no time</name></wpt>\n"
	"<wpt lat=\"-33.8688\" lon=\"151.2093\"><time>2024-05-01T10:00:00+02:00</time></wpt>\n"
	"<rte><rtept lat=\"1\" lon=\"2\"><ele>-12.5</ele><time>2024-05-01T08:00:01.5Z</time></rtept>"
	"<rtept lat=\"1\" lon=\"2\"/></rte>\n"
	"<trk><name>ph</name><trkseg>\n"
	"<trkpt lat=\"52.520008\" lon=\"13.404954\"><ele>0</ele><time>2024-05-01T10:15:30.123Z</time>"
	"<extensions><mintrac:speed>0</mintrac:speed><mintrac:course>359.5</mintrac:course>"
	"<mintrac:accuracy>4.25</mintrac:accuracy><mintrac:battery>87</mintrac:battery>"
	"</extensions></trkpt>\n"
	"<trkpt lat=\" 52.5 \" lon=\"13.5\"><time> 2024-05-01T10:15:31Z </time>"
	"<extensions><gpxtpx:TrackPointExtension xmlns:gpxtpx=\"x\"><gpxtpx:speed>3.5</gpxtpx:speed>"
	"<gpxtpx:bearing>90</gpxtpx:bearing></gpxtpx:TrackPointExtension></extensions></trkpt>\n"
	"</trkseg></trk>\n</gpx>\n";

TEST(import_gpx_fields)
{
	struct got g = { 0 };
	run(IMPORT_XML, gpx_doc, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 4);
	CHECK_INT(g.count, 4);
	CHECK_INT(g.notime, 2);    /* the wpt and the second rtept */
	CHECK_INT(g.f[0].time_ms, INT64_C(1714550400000));
	CHECK_DBL(g.f[0].lat, -33.8688);
	CHECK_DBL(g.f[0].lon, 151.2093);
	CHECK_INT(g.f[0].has, 0);
	CHECK_INT(g.f[1].time_ms, INT64_C(1714550401500));
	CHECK_INT(g.f[1].has, FIX_ALT);
	CHECK_DBL(g.f[1].alt, -12.5);
	const struct fix *f = &g.f[2];
	CHECK_INT(f->time_ms, INT64_C(1714558530123));
	CHECK(f->lat == 52.520008 && f->lon == 13.404954);
	CHECK_INT(f->has, FIX_ALT | FIX_SPEED | FIX_COURSE | FIX_ACC | FIX_BATT);
	CHECK(f->alt == 0 && f->speed == 0);
	CHECK_DBL(f->course, 359.5);
	CHECK_DBL(f->acc, 4.25);
	CHECK_DBL(f->batt, 87);
	CHECK(f->attrs == NULL);
	CHECK_INT(g.f[3].has, FIX_SPEED | FIX_COURSE);
	CHECK_DBL(g.f[3].speed, 3.5);
	CHECK_DBL(g.f[3].course, 90);
	CHECK_DBL(g.f[3].lat, 52.5);
	got_free(&g);
}

/* A point with a bad value is rejected with its reason and line; the
 * points after it still come through. */
TEST(import_gpx_errors)
{
	struct got g = { 0 };
	run(IMPORT_XML, "<gpx>\n<trk><trkseg>\n<trkpt lat=\"1\" lon=\"2\">\n<time>yesterday</time>"
	                "</trkpt>\n<trkpt lat=\"1\" lon=\"2\"><time>2024-05-01T00:00:00Z</time></trkpt>"
	                "</trkseg></trk></gpx>\n", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.rejected, 1);
	CHECK_INT(g.why_line[0], 4);
	CHECK_STR(g.why[0], "unreadable time 'yesterday'");
	CHECK_STR(g.shape, "GPX");
	got_free(&g);

	run(IMPORT_XML, "<gpx>\n<wpt lat=\"91\" lon=\"2\"><time>2024-05-01T00:00:00Z</time>\n</wpt></gpx>", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 0);
	CHECK_INT(g.rejected, 1);
	CHECK_INT(g.why_line[0], 3);
	CHECK_STR(g.why[0], "lat out of range (-90..90)");
	got_free(&g);

	run(IMPORT_XML, "<gpx>\n\n<trkpt lon=\"2\"><time>2024-05-01T00:00:00Z</time></trkpt></gpx>", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.why_line[0], 3);
	CHECK_STR(g.why[0], "<trkpt> without a valid lat and lon");
	got_free(&g);

	run(IMPORT_XML, "<gpx><trkpt lat=\"1\" lon=\"2\"><ele>high</ele>"
	                "<time>2024-05-01T00:00:00Z</time></trkpt></gpx>", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 0);
	CHECK_STR(g.why[0], "<ele> is not a number: 'high'");
	got_free(&g);

	/* Not well-formed: expat's reason and line; earlier points were passed on. */
	run(IMPORT_XML, "<gpx>\n<trkpt lat=\"1\" lon=\"2\"><time>2024-05-01T00:00:00Z</time></trkpt>\n"
	                "<trkpt lat=\"1\" lon=\"2\">\n</gpx>\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.line, 4);
	CHECK(strncmp(g.err, "XML error: ", 11) == 0);
	got_free(&g);

	run(IMPORT_XML, "<gpx><trkpt lat=\"1\" lon=\"2\">", &g);     /* truncated */
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK(strstr(g.err, "XML error") != NULL);
	got_free(&g);
}

/* ---- KML ---- */

static const char kml_doc[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<kml xmlns=\"http://www.opengis.net/kml/2.2\" xmlns:gx=\"http://www.google.com/kml/ext/2.2\">\n"
	"<Document><name>mintrac</name>\n"
	"<Placemark><name>ph</name><gx:MultiTrack><gx:interpolate>1</gx:interpolate>\n"
	"<gx:Track>\n<when>2024-05-01T10:00:00.000Z</when>\n<when>2024-05-01T10:00:01.001Z</when>\n"
	"<gx:coord>13.404954 52.520008 34.5</gx:coord>\n<gx:coord>13.5\t52.5</gx:coord>\n</gx:Track>\n"
	"<gx:Track><gx:coord>1 2</gx:coord><when>2024-05-01T10:00:02Z</when></gx:Track>\n"
	"</gx:MultiTrack></Placemark>\n"
	"<Placemark><TimeStamp><when>2024-05-01T11:00:00Z</when></TimeStamp>"
	"<Point><coordinates> -0.1,51.5,12 </coordinates></Point></Placemark>\n"
	"<Placemark><Point><coordinates>5,6</coordinates></Point></Placemark>\n"
	"<Placemark><LineString><coordinates>1,2,3 4,5,6\n7,8</coordinates></LineString></Placemark>\n"
	"</Document></kml>\n";

TEST(import_kml)
{
	struct got g = { 0 };
	run(IMPORT_XML, kml_doc, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 4);
	CHECK_INT(g.notime, 4);    /* the Point without time, 3 LineString tuples */
	CHECK_INT(g.f[0].time_ms, INT64_C(1714557600000));
	CHECK(g.f[0].lat == 52.520008 && g.f[0].lon == 13.404954);
	CHECK_INT(g.f[0].has, FIX_ALT);
	CHECK_DBL(g.f[0].alt, 34.5);
	CHECK_INT(g.f[1].time_ms, INT64_C(1714557601001));
	CHECK_INT(g.f[1].has, 0);
	CHECK_DBL(g.f[1].lat, 52.5);
	CHECK_DBL(g.f[2].lon, 1);
	CHECK_DBL(g.f[2].lat, 2);
	CHECK_INT(g.f[2].time_ms, INT64_C(1714557602000));
	CHECK_DBL(g.f[3].lon, -0.1);
	CHECK_DBL(g.f[3].alt, 12);
	CHECK_INT(g.f[3].time_ms, INT64_C(1714561200000));
	got_free(&g);

	run(IMPORT_XML, "<kml><gx:Track>\n<when>2024-05-01T10:00:00Z</when>\n<when>2024-05-01T10:00:01Z</when>\n"
	                "<gx:coord>1 2</gx:coord>\n</gx:Track></kml>", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 5);
	CHECK_STR(g.err, "gx:Track has 1 <when> without a <gx:coord>");
	got_free(&g);

	run(IMPORT_XML, "<kml><gx:Track><when>2024-05-01T10:00:00Z</when>\n"
	                "<gx:coord>1 2 3 4</gx:coord></gx:Track></kml>", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 2);
	CHECK(strstr(g.err, "unreadable coordinate '1 2 3 4'") != NULL);
	got_free(&g);

	/* A Placemark with a bad value is rejected; a gx:Track's values pair in
	 * order, so there one that cannot be read stops the import (above). */
	run(IMPORT_XML, "<kml>\n<Placemark><TimeStamp><when>noon</when></TimeStamp>"
	                "<Point><coordinates>1,2</coordinates></Point></Placemark>\n"
	                "<Placemark><TimeStamp><when>2024-05-01T10:00:00Z</when></TimeStamp>\n"
	                "<Point><coordinates>1,2,x</coordinates></Point></Placemark>\n"
	                "<Placemark><TimeStamp><when>2024-05-01T10:00:00Z</when></TimeStamp>"
	                "<Point><coordinates>3,4</coordinates></Point></Placemark></kml>", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.shape, "KML");
	CHECK_INT(g.n, 1);
	CHECK_DBL(g.f[0].lat, 4);
	CHECK_INT(g.rejected, 2);
	CHECK_STR(g.why[0], "unreadable time 'noon'");
	CHECK_INT(g.why_line[0], 2);
	CHECK_STR(g.why[1], "unreadable coordinate '1,2,x' (lon,lat[,alt])");
	CHECK_INT(g.why_line[1], 4);
	got_free(&g);
}

/* ---- GeoJSON / Overland ---- */

static const char geojson_doc[] =
	"{\"type\":\"FeatureCollection\",\"name\":\"x\",\"crs\":{\"a\":[1,2]},\"features\":[\n"
	"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[13.404954,52.520008,34.5]},"
	"\"properties\":{\"time\":\"2024-05-01T10:15:30.123Z\",\"speed\":0,\"course\":0,\"altitude\":34.5,"
	"\"accuracy\":4.25,\"battery\":87,\"attributes\":{\"q\":\"say \\\"hi\\\"\",\"u\":\"\\u00e9\xE2\x82\xAC\","
	"\"n\":1.50,\"b\":true,\"z\":null,\"o\":{\"a\":[1,{\"b\":[]},\"x\"],\"e\":{}},\"lt\":\"<\"},\"device\":\"ph\"}},\n"
	"{\"type\":\"Feature\",\"geometry\":{\"coordinates\":[1,2,3],\"type\":\"Point\"},"
	"\"properties\":{\"time\":\"2024-05-01T10:15:31.000Z\",\"attributes\":{}}},\n"
	"{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]},"
	"\"properties\":{}},\n"
	"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[5,6]},\"properties\":{}},\n"
	"{\"type\":\"Feature\",\"geometry\":null,\"properties\":{\"time\":\"2024-05-01T10:15:31.000Z\"}},\n"
	"{\"properties\":{\"timestamp\":\"2024-05-01T12:15:32+02:00\",\"speed\":-1,\"course\":-1,"
	"\"horizontal_accuracy\":-1,\"battery_level\":0.87,\"wifi\":\"home\",\"motion\":[\"walking\"]},"
	"\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[7,8]}}\n"
	"]}\n";

TEST(import_geojson)
{
	struct got g = { 0 };
	run(IMPORT_JSON, geojson_doc, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.err, "");
	CHECK_INT(g.n, 3);
	CHECK_INT(g.nonpoint, 2);    /* the LineString, the feature without a geometry */
	CHECK_INT(g.notime, 1);
	CHECK_STR(g.shape, "GeoJSON");
	const struct fix *f = &g.f[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530123));
	CHECK(f->lat == 52.520008 && f->lon == 13.404954);
	CHECK_INT(f->has, FIX_ALT | FIX_SPEED | FIX_COURSE | FIX_ACC | FIX_BATT);
	CHECK(f->speed == 0 && f->course == 0 && f->alt == 34.5 && f->acc == 4.25 && f->batt == 87);
	/* Written back as export wrote it: json strings re-escaped the same way,
	 * numbers verbatim, nesting and empty containers kept. */
	CHECK_STR(f->attrs, "{\"q\":\"say \\\"hi\\\"\",\"u\":\"\xC3\xA9\xE2\x82\xAC\",\"n\":1.50,"
	                    "\"b\":true,\"z\":null,\"o\":{\"a\":[1,{\"b\":[]},\"x\"],\"e\":{}},"
	                    "\"lt\":\"\\u003c\"}");
	/* Altitude from the third coordinate; an empty attributes object is none. */
	CHECK_INT(g.f[1].has, FIX_ALT);
	CHECK_DBL(g.f[1].alt, 3);
	CHECK(g.f[1].attrs == NULL);
	/* Overland: -1 sentinels unknown, battery_level 0..1 to percent,
	 * unknown scalar properties kept, nested ones dropped. */
	f = &g.f[2];
	CHECK_INT(f->time_ms, INT64_C(1714558532000));
	CHECK_INT(f->has, FIX_BATT);
	CHECK_DBL(f->batt, 87);
	CHECK_STR(f->attrs, "{\"wifi\":\"home\"}");
	got_free(&g);
}

TEST(import_geojson_single_feature_and_array)
{
	struct got g = { 0 };
	run(IMPORT_JSON, "{\"type\":\"Feature\",\"properties\":{\"time\":1714558530},"
	                 "\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}}", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.f[0].time_ms, INT64_C(1714558530000));
	got_free(&g);

	run(IMPORT_JSON, "[{\"type\":\"Feature\",\"properties\":{\"time\":\"2024-05-01\"},"
	                 "\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}}, 5, [1]]", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.f[0].time_ms, INT64_C(1714521600000));
	got_free(&g);

	/* Overland batch: {"locations":[features]}. */
	run(IMPORT_JSON, "{\"locations\":[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
	                 "\"coordinates\":[1,2]},\"properties\":{\"timestamp\":\"2024-05-01T00:00:00Z\","
	                 "\"speed\":2.5}}]}", &g);
	CHECK_INT(g.n, 1);
	CHECK_DBL(g.f[0].speed, 2.5);
	got_free(&g);
}

/* Bad values reject their feature (reason and line kept, the import goes
 * on); broken JSON stops the import. */
TEST(import_geojson_errors)
{
	static const char *const bad[] = {
		"\"coordinates\":[1,95]},\n\"properties\":{\"time\":\"2024-05-01T00:00:00Z\"}\n}",
		"\"coordinates\":[1,5]},\n\"properties\":{\"time\":\"soon\"}\n}",
		"\"coordinates\":[1,5]},\n\"properties\":{\"time\":\"2024-05-01\",\n\"speed\":\"fast\"}}",
		"\"coordinates\":[1]},\n\"properties\":{\"time\":\"2024-05-01\"}}",
		"\"coordinates\":[1,5]},\n\"properties\":{\"time\":\"2024-05-01\",\"attributes\":{\"x\":[1e999]}}}",
		"\"coordinates\":[\"1\",5]},\n\"properties\":{\"time\":\"2024-05-01\"}}",
	};
	static const char *const why[] = {
		"lat out of range (-90..90)", "unreadable time 'soon'", "speed is not a number",
		"a Point's coordinates must be [lon, lat] or [lon, lat, alt]",
		"attributes: number out of range", "coordinates must be numbers",
	};
	static const uint64_t line[] = { 5, 4, 5, 4, 4, 3 };
	struct got g = { 0 };
	struct buf doc;
	buf_init(&doc);
	buf_adds(&doc, "{\"features\":[");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		buf_printf(&doc, "\n{\"geometry\":{\"type\":\"Point\",%s,", bad[i]);
	buf_adds(&doc, "\n{\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,5]},"
	               "\"properties\":{\"time\":\"2024-05-01\"}}]}");
	run(IMPORT_JSON, doc.data, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.rejected, 6);
	/* The first five reasons, each with the line it was found on. */
	uint64_t at = 1;
	for (size_t i = 0; i < IMPORT_REASONS; i++) {
		CHECK_STR(g.why[i], why[i]);
		CHECK_INT(g.why_line[i], at + line[i] - 2);
		for (const char *c = bad[i]; *c; c++)
			at += *c == '\n';
		at++;
	}
	got_free(&g);
	buf_free(&doc);

	run(IMPORT_JSON, "{\"features\":[\n\n{\"a\":1,}]}", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 3);
	CHECK(strncmp(g.err, "JSON parse error", 16) == 0);
	CHECK(!strchr(g.err, '\n'));
	got_free(&g);

	run(IMPORT_JSON, "{\"features\":[\n", &g);         /* truncated */
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK(strstr(g.err, "JSON") != NULL);
	got_free(&g);


	run(IMPORT_JSON, "42", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_STR(g.err, "the JSON root is not an object or an array");
	got_free(&g);

	run(IMPORT_JSON, "{\"features\":[\"\xff\"]}", &g);  /* invalid UTF-8 */
	CHECK_INT(g.rc, IMPORT_ERR);
	got_free(&g);
}

/* ---- Google Takeout ---- */

static const char takeout_doc[] =
	"{\n  \"locations\" : [ {\n"
	"    \"latitudeE7\" : 473864810,\n    \"longitudeE7\" : 85227360,\n"
	"    \"accuracy\" : 19,\n    \"altitude\" : 409,\n    \"verticalAccuracy\" : 3,\n"
	"    \"velocity\" : 0,\n    \"heading\" : 271,\n"
	"    \"activity\" : [ { \"activity\" : [ { \"type\" : \"STILL\", \"confidence\" : 100 } ],"
	" \"timestamp\" : \"2022-01-12T17:18:40Z\" } ],\n"
	"    \"source\" : \"WIFI\",\n    \"deviceTag\" : -1234,\n"
	"    \"timestamp\" : \"2022-01-12T17:18:24.190Z\"\n  }, {\n"
	"    \"timestampMs\" : \"1511112871123\",\n"
	"    \"latitudeE7\" : -338688000,\n    \"longitudeE7\" : 1512093000\n  }, {\n"
	"    \"latitudeE7\" : 1,\n    \"longitudeE7\" : -1\n  } ]\n}\n";

TEST(import_takeout)
{
	struct got g = { 0 };
	run(IMPORT_JSON, takeout_doc, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.notime, 1);
	const struct fix *f = &g.f[0];
	CHECK_INT(f->time_ms, INT64_C(1642007904190));
	CHECK(f->lat == 47.386481);     /* exact: E7 integers divided once */
	CHECK(f->lon == 8.522736);
	CHECK_INT(f->has, FIX_ACC | FIX_ALT | FIX_SPEED | FIX_COURSE);
	CHECK(f->acc == 19 && f->alt == 409 && f->speed == 0 && f->course == 271);
	CHECK_STR(f->attrs, "{\"verticalAccuracy\":3,\"source\":\"WIFI\",\"deviceTag\":-1234}");
	CHECK_INT(g.f[1].time_ms, INT64_C(1511112871123));
	CHECK(g.f[1].lat == -33.8688 && g.f[1].lon == 151.2093);
	CHECK(g.f[1].attrs == NULL);
	got_free(&g);

	run(IMPORT_JSON, "{\"locations\":[{\"latitudeE7\":900000001,\"longitudeE7\":0,"
	                 "\"timestampMs\":\"1\"}]}", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.rejected, 1);
	CHECK_STR(g.why[0], "lat out of range (-90..90)");
	got_free(&g);

	/* E7 values wrapped as unsigned 32-bit numbers: -33.8688, -122.4194 */
	run(IMPORT_JSON, "{\"locations\":[{\"latitudeE7\":3956279296,\"longitudeE7\":3070773296,"
	                 "\"timestampMs\":\"1511112871123\"},{\"latitudeE7\":900000000,"
	                 "\"longitudeE7\":1800000000,\"timestampMs\":\"1511112871124\"}]}", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 2);
	CHECK(g.f[0].lat == -33.8688 && g.f[0].lon == -122.4194);
	CHECK(g.f[1].lat == 90 && g.f[1].lon == 180);
	got_free(&g);

	run(IMPORT_JSON, "{\"locations\":[{\"latitudeE7\":1,\"longitudeE7\":0,\n\"timestampMs\":\"12x\"}]}", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.why_line[0], 2);
	CHECK_STR(g.why[0], "unreadable timestampMs '12x'");
	got_free(&g);

	/* Half a position is rejected; none at all is skipped. */
	run(IMPORT_JSON, "{\"locations\":[{\"latitudeE7\":1,\"timestampMs\":\"1\"},"
	                 "{\"timestampMs\":\"2\",\"accuracy\":5}]}", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.rejected, 1);
	CHECK_INT(g.nonpoint, 1);
	CHECK_STR(g.why[0], "a location needs both latitudeE7 and longitudeE7");
	got_free(&g);

	run(IMPORT_JSON, "{\"locations\":[{\"latitudeE7\":1,\"longitudeE7\":2,\"timestampMs\":\"1\"}", &g);
	CHECK_INT(g.rc, IMPORT_ERR);     /* cut off */
	CHECK_INT(g.n, 1);
	got_free(&g);
}

/* --tag: one phone's rows of an interleaved Records.json. */
TEST(import_takeout_device_tag)
{
	static const char doc[] =
		"{\"locations\":[{\"latitudeE7\":10,\"longitudeE7\":20,\"deviceTag\":7,"
		"\"timestampMs\":\"1000\"},{\"latitudeE7\":11,\"longitudeE7\":21,"
		"\"deviceTag\":-8,\"timestampMs\":\"2000\"},{\"latitudeE7\":12,\"longitudeE7\":22,"
		"\"timestampMs\":\"3000\"},{\"deviceTag\":7,\"latitudeE7\":13,\"longitudeE7\":23,"
		"\"timestampMs\":\"4000\"}]}";
	const int64_t tags[] = { 7, -8, 99 };
	const int want[] = { 2, 1, 0 };
	for (int t = 0; t < 3; t++) {
		struct got g = { 0 };
		struct importer *im = import_new(IMPORT_JSON, collect, &g);
		import_set_device_tag(im, tags[t]);
		CHECK_INT(import_feed(im, doc, strlen(doc)), IMPORT_OK);
		CHECK_INT(import_finish(im), IMPORT_OK);
		CHECK_INT(import_count(im), want[t]);
		CHECK_INT(import_skipped_tag(im), 4 - want[t]);
		CHECK_INT(g.n, want[t]);
		if (t == 0)
			CHECK(g.n == 2 && g.f[0].time_ms == 1000 && g.f[1].time_ms == 4000 &&
			      g.f[1].lat == 0.0000013);
		import_free(im);
		got_free(&g);
	}
}

/* ---- CSV ---- */

static const char csv_doc[] =
	"\xEF\xBB\xBF" "device,time,lat,lon,altitude,speed,course,accuracy,battery,attributes,extra\r\n"
	"ph,2024-05-01T10:15:30.123Z,52.520008,13.404954,34.5,0,0,4.25,87,"
	"\"{\"\"q\"\":\"\"a,\\\"\"b\\nc\"\",\"\"n\"\":1.50}\",x y\r\n"
	"\r\n"
	"\"p,h\",2024-05-01T10:15:31.000Z,1,2,,,,,,\"{}\",\r\n"
	"ph,1714558532,1,2,,,,,,,\"multi\nline\"\r\n"
	"ph,2024-05-01T10:15:33Z,1,2,,,,,,,12";

TEST(import_csv)
{
	struct got g = { 0 };
	run(IMPORT_CSV, csv_doc, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.err, "");
	CHECK_INT(g.n, 4);
	const struct fix *f = &g.f[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530123));
	CHECK(f->lat == 52.520008 && f->lon == 13.404954);
	CHECK_INT(f->has, FIX_ALT | FIX_SPEED | FIX_COURSE | FIX_ACC | FIX_BATT);
	CHECK(f->speed == 0 && f->course == 0 && f->alt == 34.5 && f->acc == 4.25 && f->batt == 87);
	CHECK_STR(f->attrs, "{\"q\":\"a,\\\"b\\nc\",\"n\":1.50,\"extra\":\"x y\"}");
	CHECK_INT(g.f[1].has, 0);
	CHECK(g.f[1].attrs == NULL);
	CHECK_INT(g.f[2].time_ms, INT64_C(1714558532000));
	CHECK_STR(g.f[2].attrs, "{\"extra\":\"multi\\nline\"}");
	CHECK_STR(g.f[3].attrs, "{\"extra\":12}");
	got_free(&g);
}

TEST(import_csv_errors)
{
	struct got g = { 0 };
	run(IMPORT_CSV, "time,lat,lon\n2024-05-01,1,2\n2024-05-01T00:00:01Z,x,2\n2024-05-01,3,4\n", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.rejected, 1);
	CHECK_INT(g.why_line[0], 3);
	CHECK_STR(g.why[0], "lat is not a number: 'x'");
	CHECK_STR(g.shape, "CSV");
	got_free(&g);

	/* A rejected row, then a row that breaks the file's shape. */
	run(IMPORT_CSV, "time,lat,lon\n\"a\nb\",1,2\n2024-05-01,1,2,3\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.why_line[0], 2);
	CHECK_STR(g.why[0], "unreadable time 'a b'");   /* made one line */
	CHECK_INT(g.line, 4);
	CHECK_STR(g.err, "4 fields, the header has 3");
	got_free(&g);

	run(IMPORT_CSV, "time,lat,lon\n2024-05-01,1,2,3\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 2);
	CHECK_STR(g.err, "4 fields, the header has 3");
	got_free(&g);

	run(IMPORT_CSV, "time,lat,lon,attributes\n2024-05-01,1,2,[1]\n", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.why[0], "attributes is not a JSON object");
	got_free(&g);

	run(IMPORT_CSV, "time,lat,lon,attributes\n2024-05-01,1,2,\"{\"\"a\"\":}\"\n", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK(strncmp(g.why[0], "attributes: JSON", 16) == 0);
	got_free(&g);

	run(IMPORT_CSV, "when,where\n1,2\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 1);
	CHECK_STR(g.err, "the CSV header must name time, lat and lon columns");
	got_free(&g);

	run(IMPORT_CSV, "time,lat,lon\n2024-05-01,\"1\"x,2\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	got_free(&g);

	run(IMPORT_CSV, "time,lat,lon\n2024-05-01,\"1,2\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_STR(g.err, "a quoted field is not closed");
	got_free(&g);

	/* Empty time or position: skipped and counted, as GPX points are. */
	run(IMPORT_CSV, "time,lat,lon\n,1,2\n2024-05-01,,2\n2024-05-01,1,\n", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 0);
	CHECK_INT(g.notime, 1);
	CHECK_INT(g.nonpoint, 2);
	CHECK_INT(g.rejected, 0);
	got_free(&g);
}

/* ---- OwnTracks Recorder .rec ---- */

static const char rec_doc[] =
	"2024-05-01T10:15:30Z\t*                 \t{\"_type\":\"location\",\"tid\":\"ph\",\"lat\":52.520008,"
	"\"lon\":13.404954,\"tst\":1714558530,\"vel\":36,\"cog\":90,\"alt\":34,\"acc\":5,\"batt\":87,\"conn\":\"w\"}\n"
	"2024-05-01T10:15:31Z\tlwt               \t{\"_type\":\"lwt\",\"tst\":1714558531}\n"
	"\n"
	"2024-05-01T10:15:32Z\t*                 \t{\"_type\":\"location\",\"lat\":1,\"lon\":2}\r\n"
	"2024-05-01T10:15:33Z\t*                 \t{\"_type\":\"transition\",\"lat\":1,\"lon\":2,\"tst\":1}";

TEST(import_rec)
{
	struct got g = { 0 };
	run(IMPORT_REC, rec_doc, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 2);
	const struct fix *f = &g.f[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK(f->lat == 52.520008 && f->lon == 13.404954);
	CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	CHECK_DBL(f->speed, 10);    /* 36 km/h */
	CHECK(f->course == 90 && f->alt == 34 && f->acc == 5 && f->batt == 87);
	CHECK_STR(f->attrs, "{\"tid\":\"ph\",\"conn\":\"w\"}");
	/* No tst: the line's time. */
	CHECK_INT(g.f[1].time_ms, INT64_C(1714558532000));
	got_free(&g);

	run(IMPORT_REC, "2024-05-01T10:15:30Z\t*\t{\"_type\":\"location\",\"lat\":1,\"lon\":2}\n"
	                "2024-05-01T10:15:30Z\t*\t{\"_type\":\"location\",\"lat\":\"x\",\"lon\":2}\n", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.why_line[0], 2);
	CHECK_STR(g.why[0], "lat is not a number");
	got_free(&g);

	run(IMPORT_REC, "2024-05-01T10:15:30Z\t*\t{\"_type\":\"location\",\"lat\":1,\"lon\":2}\n\n"
	                "2024-05-01T10:15:30Z\t*\t{\"_type\":\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 3);
	CHECK(strncmp(g.err, "malformed JSON", 14) == 0);
	got_free(&g);

	run(IMPORT_REC, "garbage line\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 1);
	CHECK_STR(g.err, "not a .rec line (TIME<TAB>TYPE<TAB>JSON)");
	got_free(&g);

	run(IMPORT_REC, "later\t*\t{}\n", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.why[0], "unreadable time 'later'");
	got_free(&g);
}

/* ---- the callback stops the import ---- */

TEST(import_abort)
{
	struct got g = { 0 };
	g.abort_after = 2;
	run(IMPORT_XML, gpx_doc, &g);
	CHECK_INT(g.rc, IMPORT_ABORT);
	CHECK_INT(g.n, 2);
	CHECK_STR(g.err, "");
	got_free(&g);
	g.abort_after = 1;
	run(IMPORT_JSON, takeout_doc, &g);
	CHECK_INT(g.rc, IMPORT_ABORT);
	CHECK_INT(g.n, 1);
	got_free(&g);
	g.abort_after = 1;
	run(IMPORT_CSV, csv_doc, &g);
	CHECK_INT(g.rc, IMPORT_ABORT);
	CHECK_INT(g.n, 1);
	got_free(&g);
	g.abort_after = 1;
	run(IMPORT_REC, rec_doc, &g);
	CHECK_INT(g.rc, IMPORT_ABORT);
	got_free(&g);
}

/* Standalone attributes reader (CSV column). */
TEST(import_json_members)
{
	struct buf b;
	char why[128];
	buf_init(&b);
	CHECK_INT(import_json_members("{\"a\":[1,2.50,{}],\"b\":\"\\u0041\"}", 30, &b, why, sizeof why), 0);
	CHECK_STR(b.data, "\"a\":[1,2.50,{}],\"b\":\"A\"");
	CHECK_INT(import_json_members("{\"c\":1}", 7, &b, why, sizeof why), 0);
	CHECK_STR(b.data, "\"a\":[1,2.50,{}],\"b\":\"A\",\"c\":1");
	CHECK_INT(import_json_members("{\"d\":1} {}", 10, &b, why, sizeof why), -1);
	CHECK_INT(import_json_members("{\"e\":-1e999}", 13, &b, why, sizeof why), -1);
	CHECK_STR(why, "attributes: number out of range");
	CHECK_INT(import_json_members("\"s\"", 3, &b, why, sizeof why), -1);
	CHECK_STR(why, "attributes is not a JSON object");
	CHECK_STR(b.data, "\"a\":[1,2.50,{}],\"b\":\"A\",\"c\":1");
	buf_free(&b);
}

/* ---- Google's semantic exports ---- */

static void check_fix(const struct fix *f, int64_t ms, double lat, double lon)
{
	CHECK_INT(f->time_ms, ms);
	CHECK_DBL(f->lat, lat);
	CHECK_DBL(f->lon, lon);
}

static void check_visit(const struct import_visit *v, int64_t start, int64_t end, double lat,
                        double lon, uint64_t line)
{
	CHECK_INT(v->start_ms, start);
	CHECK_INT(v->end_ms, end);
	CHECK_DBL(v->lat, lat);
	CHECK_DBL(v->lon, lon);
	CHECK_INT(v->line, line);
}

/* Semantic Location History: ISO times with offsets and minutes only, the
 * older *TimestampMs members, E7 positions, the placeVisit fallbacks. */
static const char semantic_doc[] =
	"{\"timelineObjects\":[\n"
	"{\"activitySegment\":{\"startLocation\":{\"latitudeE7\":533407440,\"longitudeE7\":837026901},"
	"\"endLocation\":{\"latitudeE7\":533519706,\"longitudeE7\":837596359},"
	"\"duration\":{\"startTimestamp\":\"2024-03-15T07:05:14.222Z\",\"endTimestamp\":\"2024-03-15T09:11:13+02:00\"},"
	"\"distance\":3853,\"activityType\":\"IN_VEHICLE\",\"activities\":[{\"activityType\":\"WALKING\",\"probability\":0.0}],"
	"\"waypointPath\":{\"waypoints\":[{\"latE7\":533410301,\"lngE7\":837051010},{\"latE7\":533410302,\"lngE7\":837051011}]},"
	"\"simplifiedRawPath\":{\"points\":[{\"latE7\":533410301,\"lngE7\":837051010,\"accuracyMeters\":10,"
	"\"timestamp\":\"2024-03-15T07:06:01Z\"},{\"latE7\":533410400,\"lngE7\":837051100,\"timestampMs\":\"1710486420000\"},"
	"{\"latE7\":1,\"lngE7\":2}]}}},\n"
	"{\"placeVisit\":{\"location\":{\"latitudeE7\":533690550,\"longitudeE7\":836950010,\"placeId\":\"ChIJN1t\","
	"\"name\":\"Joe's Caf\xC3\xA9\",\"address\":\"123 Main St\",\"semanticType\":\"TYPE_CAFE\"},"
	"\"duration\":{\"startTimestampMs\":\"1710490000000\",\"endTimestampMs\":\"1710493600000\"},"
	"\"placeConfidence\":\"HIGH_CONFIDENCE\",\"otherCandidateLocations\":[{\"latitudeE7\":533691200,\"longitudeE7\":836948800}]}},\n"
	"{\"placeVisit\":{\"centerLatE7\":-338688000,\"centerLngE7\":1512093000,"
	"\"duration\":{\"startTimestamp\":\"2024-03-15T10:00:00-05:00\",\"endTimestamp\":\"2024-03-15T11:00:00-05:00\"}}},\n"
	"{\"placeVisit\":{\"otherCandidateLocations\":[{\"latitudeE7\":100000000,\"longitudeE7\":200000000},"
	"{\"latitudeE7\":0,\"longitudeE7\":0}],\"duration\":{\"startTimestamp\":\"2024-03-15T12:00Z\",\"endTimestamp\":\"2024-03-15T13:00Z\"}}},\n"
	"{\"placeVisit\":{\"duration\":{\"startTimestamp\":\"2024-03-15T12:00Z\",\"endTimestamp\":\"2024-03-15T13:00Z\"}}},\n"
	"{\"placeVisit\":{\"location\":{\"latitudeE7\":1,\"longitudeE7\":2},"
	"\"duration\":{\"startTimestamp\":\"2024-03-15T13:00Z\",\"endTimestamp\":\"2024-03-15T12:00Z\"}}},\n"
	"{\"activitySegment\":{\"startLocation\":{\"latitudeE7\":1,\"longitudeE7\":2},\n"
	"\"duration\":{\"startTimestamp\":\"yesterday\"}}}\n"
	"]}\n";

TEST(import_google_semantic)
{
	struct got g = { 0 };
	run(IMPORT_JSON, semantic_doc, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.shape, "Semantic Location History");
	/* The timed path points, then the activity's start and end. */
	CHECK_INT(g.n, 4);
	check_fix(&g.f[0], INT64_C(1710486361000), 53.3410301, 83.705101);
	CHECK_INT(g.f[0].has, FIX_ACC);
	CHECK_DBL(g.f[0].acc, 10);
	CHECK_STR(g.f[0].attrs, "{\"google\":\"path\"}");
	check_fix(&g.f[1], INT64_C(1710486420000), 53.34104, 83.70511);
	check_fix(&g.f[2], INT64_C(1710486314222), 53.340744, 83.7026901);
	CHECK_STR(g.f[2].attrs, "{\"google\":\"activity\",\"activity\":\"IN_VEHICLE\"}");
	check_fix(&g.f[3], INT64_C(1710486673000), 53.3519706, 83.7596359);
	CHECK_INT(g.has_tag[3], 0);
	/* Two untimed waypoints and a path point without a time: no fixes. */
	CHECK_INT(g.notime, 3);
	/* Visits: Google's fields; centerLatE7; the first other candidate. */
	CHECK_INT(g.nv, 3);
	check_visit(&g.v[0], INT64_C(1710490000000), INT64_C(1710493600000), 53.369055, 83.695001, 3);
	CHECK_STR(g.v[0].name, "Joe's Caf\xC3\xA9");
	CHECK_STR(g.v[0].address, "123 Main St");
	CHECK_STR(g.v[0].place_id, "ChIJN1t");
	CHECK_STR(g.v[0].semantic_type, "TYPE_CAFE");
	check_visit(&g.v[1], INT64_C(1710514800000), INT64_C(1710518400000), -33.8688, 151.2093, 4);
	CHECK(g.v[1].name == NULL && g.v[1].address == NULL && g.v[1].place_id == NULL &&
	      g.v[1].semantic_type == NULL);
	check_visit(&g.v[2], INT64_C(1710504000000), INT64_C(1710507600000), 10, 20, 5);
	/* A visit without any position is skipped; bad values reject. */
	CHECK_INT(g.nonpoint, 1);
	CHECK_INT(g.rejected, 2);
	CHECK_STR(g.why[0], "visit ends before it starts");
	CHECK_INT(g.why_line[0], 7);
	CHECK_STR(g.why[1], "unreadable startTimestamp 'yesterday'");
	CHECK_INT(g.why_line[1], 9);
	got_free(&g);
}

/* Android's Timeline.json: "lat°, lon°" strings, +02:00 offsets, path
 * points by time or by minutes from the segment's start, rawSignals. */
static const char timeline_doc[] =
	"{\"semanticSegments\":[\n"
	"{\"startTime\":\"2024-04-03T08:00:00.000+02:00\",\"endTime\":\"2024-04-03T10:00:00.000+02:00\","
	"\"timelinePath\":[{\"point\":\"50.0506312\xC2\xB0, 14.3439906\xC2\xB0\",\"time\":\"2024-04-03T08:14:00.000+02:00\"},"
	"{\"point\":\"50.05\xC2\xB0, 14.34\xC2\xB0\",\"durationMinutesOffsetFromStartTime\":30}]},\n"
	"{\"startTime\":\"2024-04-03T10:00:00.000+02:00\",\"endTime\":\"2024-04-03T12:30:00.000+02:00\","
	"\"startTimeTimezoneUtcOffsetMinutes\":120,\"endTimeTimezoneUtcOffsetMinutes\":120,"
	"\"visit\":{\"hierarchyLevel\":0,\"probability\":0.78,\"topCandidate\":{\"placeId\":\"adjh234\","
	"\"semanticType\":\"INFERRED_HOME\",\"probability\":0.99,\"placeLocation\":{\"latLng\":\"56.7754018\xC2\xB0, 1.0711443\xC2\xB0\"}}}},\n"
	"{\"startTime\":\"2024-04-03T12:30:00.000+02:00\",\"endTime\":\"2024-04-03T13:00:00.000+02:00\","
	"\"activity\":{\"start\":{\"latLng\":\"56.7754018\xC2\xB0, 1.0711443\xC2\xB0\"},\"end\":{\"latLng\":\"-56.5\xC2\xB0, -1.25\xC2\xB0\"},"
	"\"distanceMeters\":3146.0,\"topCandidate\":{\"type\":\"IN_PASSENGER_VEHICLE\",\"probability\":0.9}}},\n"
	"{\"startTime\":\"2024-04-03T13:00:00.000+02:00\",\"endTime\":\"2024-04-03T14:00:00.000+02:00\","
	"\"activity\":{\"end\":{\"latLng\":\"1\xC2\xB0, 2\xC2\xB0\"}}},\n"
	"{\"startTime\":\"2024-04-03T13:00:00.000+02:00\",\"endTime\":\"2024-04-03T14:00:00.000+02:00\","
	"\"visit\":{\"topCandidate\":{\"placeLocation\":{\"latLng\":\"95.0\xC2\xB0, 1.0\xC2\xB0\"}}}}\n"
	"],\n\"rawSignals\":[\n"
	"{\"position\":{\"LatLng\":\"48.833657\xC2\xB0, 2.256223\xC2\xB0\",\"accuracyMeters\":13,\"altitudeMeters\":90.7,"
	"\"source\":\"WIFI\",\"timestamp\":\"2024-06-06T11:44:37.000+01:00\",\"speedMetersPerSecond\":0.07}},\n"
	"{\"activityRecord\":{\"probableActivities\":[{\"type\":\"STILL\",\"confidence\":0.96}],"
	"\"timestamp\":\"2024-06-06T11:44:37.000+01:00\"}},\n"
	"{\"wifiScan\":{\"devicesRecords\":[{\"mac\":1,\"rawRssi\":-50}]}},\n"
	"{\"position\":{\"LatLng\":\"48.8\xC2\xB0, 2.2\xC2\xB0\",\"timestamp\":\"2024-06-06T11:45Z\",\"accuracyMeters\":\"x\"}},\n"
	"{\"position\":{\"timestamp\":\"2024-06-06T11:45Z\"}}\n"
	"],\n\"userLocationProfile\":{\"frequentPlaces\":[{\"placeId\":\"ChIJ\",\"placeLocation\":\"50.05\xC2\xB0, 14.34\xC2\xB0\","
	"\"label\":\"HOME\"}]}}\n";

TEST(import_google_timeline)
{
	struct got g = { 0 };
	run(IMPORT_JSON, timeline_doc, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.shape, "Timeline.json");
	CHECK_INT(g.n, 6);
	check_fix(&g.f[0], INT64_C(1712124840000), 50.0506312, 14.3439906);
	CHECK_STR(g.f[0].attrs, "{\"google\":\"path\"}");
	check_fix(&g.f[1], INT64_C(1712124000000) + 30 * 60000, 50.05, 14.34);
	check_fix(&g.f[2], INT64_C(1712140200000), 56.7754018, 1.0711443);
	CHECK_STR(g.f[2].attrs, "{\"google\":\"activity\",\"activity\":\"IN_PASSENGER_VEHICLE\"}");
	check_fix(&g.f[3], INT64_C(1712142000000), -56.5, -1.25);
	check_fix(&g.f[4], INT64_C(1712145600000), 1, 2);    /* an activity without a start */
	const struct fix *f = &g.f[5];
	check_fix(f, INT64_C(1717670677000), 48.833657, 2.256223);
	CHECK_INT(f->has, FIX_ACC | FIX_ALT | FIX_SPEED);
	CHECK(f->acc == 13 && f->alt == 90.7 && f->speed == 0.07);
	CHECK_STR(f->attrs, "{\"source\":\"WIFI\"}");
	CHECK_INT(g.nv, 1);
	check_visit(&g.v[0], INT64_C(1712131200000), INT64_C(1712140200000), 56.7754018, 1.0711443, 3);
	CHECK(g.v[0].name == NULL && g.v[0].address == NULL);
	CHECK_STR(g.v[0].place_id, "adjh234");
	CHECK_STR(g.v[0].semantic_type, "INFERRED_HOME");
	CHECK_INT(g.nonpoint, 2);    /* the start-less activity, the position without LatLng */
	CHECK_INT(g.rejected, 2);
	CHECK_STR(g.why[0], "visit: lat out of range (-90..90)");
	CHECK_INT(g.why_line[0], 6);
	CHECK_STR(g.why[1], "accuracyMeters is not a number: 'x'");
	CHECK_INT(g.why_line[1], 12);
	got_free(&g);
}

/* iOS location-history.json: a root array, geo: URIs, every value a
 * string, -05:00 offsets and minute-precision times. */
static const char ios_doc[] =
	"[{\"startTime\":\"2023-08-27T15:48:56.000-05:00\",\"endTime\":\"2023-08-27T17:04:26.999-05:00\","
	"\"visit\":{\"hierarchyLevel\":\"0\",\"probability\":\"0.710000\",\"topCandidate\":{\"probability\":\"0.785181\","
	"\"semanticType\":\"Unknown\",\"placeID\":\"ChIJxxP_\",\"placeLocation\":\"geo:27.720022,-97.347951\"}}},\n"
	"{\"startTime\":\"2024-09-20T17:45-04:00\",\"endTime\":\"2024-09-20T21:09-04:00\","
	"\"activity\":{\"start\":\"geo:42.369934,-71.076917\",\"end\":\"geo:42.404707,-71.126226,12.5\","
	"\"distanceMeters\":\"5599.117188\",\"probability\":\"0.587855\",\"topCandidate\":{\"type\":\"walking\",\"probability\":\"0.496676\"}}},\n"
	"{\"startTime\":\"2023-08-27T20:00:00.000Z\",\"endTime\":\"2023-08-27T22:00:00.000Z\","
	"\"timelinePath\":[{\"point\":\"geo:27.720007,-97.348044\",\"durationMinutesOffsetFromStartTime\":\"49\"},\n"
	"{\"point\":\"geo:27.72,-97.35\",\"durationMinutesOffsetFromStartTime\":\"soon\"},\n"
	"{\"point\":\"27.72,-97.35,4\",\"durationMinutesOffsetFromStartTime\":\"50\"}]},\n"
	"{\"startTime\":\"2023-08-27T22:00:00.000Z\",\"endTime\":\"2023-08-28T00:00:00.000Z\","
	"\"timelineMemory\":{\"destinations\":[{\"identifier\":\"ChIJ\"}],\"distanceFromOriginKms\":\"1594\"}}]\n";

TEST(import_google_ios)
{
	struct got g = { 0 };
	run(IMPORT_JSON, ios_doc, &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.shape, "location-history.json");
	CHECK_INT(g.nv, 1);
	check_visit(&g.v[0], INT64_C(1693169336000), INT64_C(1693173866999), 27.720022, -97.347951, 1);
	CHECK_STR(g.v[0].place_id, "ChIJxxP_");
	CHECK_STR(g.v[0].semantic_type, "Unknown");
	CHECK(g.v[0].name == NULL);
	CHECK_INT(g.n, 3);
	check_fix(&g.f[0], INT64_C(1726868700000), 42.369934, -71.076917);
	CHECK_STR(g.f[0].attrs, "{\"google\":\"activity\",\"activity\":\"walking\"}");
	check_fix(&g.f[1], INT64_C(1726880940000), 42.404707, -71.126226);
	check_fix(&g.f[2], INT64_C(1693169340000), 27.720007, -97.348044);
	CHECK_INT(g.rejected, 2);
	CHECK_STR(g.why[0], "durationMinutesOffsetFromStartTime is not a number: 'soon'");
	CHECK_INT(g.why_line[0], 4);
	CHECK_STR(g.why[1], "unreadable point '27.72,-97.35,4'");
	CHECK_INT(g.why_line[1], 5);
	CHECK_INT(g.nonpoint, 0);    /* timelineMemory is not a position */
	got_free(&g);
}

/* A path point's minute offset too large for any time (found by
 * fuzz_import: 3e38 minutes overflowed the conversion to milliseconds) is
 * rejected with its reason; the segment's other points are stored. */
TEST(import_google_offset_out_of_range)
{
	struct got g = { 0 };
	run(IMPORT_JSON, "{\"semanticSegments\":[\n"
	                 "{\"startTime\":\"2024-04-03T08:00:00.000+02:00\",\"endTime\":\"2024-04-03T10:00:00.000+02:00\","
	                 "\"timelinePath\":[{\"point\":\"50.05\xC2\xB0, 14.34\xC2\xB0\","
	                 "\"durationMinutesOffsetFromStartTime\":311111111111111111111111111111111111110},\n"
	                 "{\"point\":\"50.06\xC2\xB0, 14.35\xC2\xB0\",\"durationMinutesOffsetFromStartTime\":-1e300},\n"
	                 "{\"point\":\"50.07\xC2\xB0, 14.36\xC2\xB0\",\"durationMinutesOffsetFromStartTime\":30}]}]}", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_INT(g.n, 1);
	if (g.n == 1)
		check_fix(&g.f[0], INT64_C(1712125800000), 50.07, 14.36);
	CHECK_INT(g.rejected, 2);
	CHECK_STR(g.why[0], "durationMinutesOffsetFromStartTime out of range: '311111111111111111111111111111111111110'");
	CHECK_INT(g.why_line[0], 2);
	got_free(&g);
}

/* Timeline Edits.json: raw positions become fixes, the rest is passed over. */
TEST(import_google_edits)
{
	struct got g = { 0 };
	run(IMPORT_JSON, "{\"timelineEdits\":[{\"deviceId\":\"-1613859921\",\"rawSignal\":{\"signal\":{\"position\":{"
	                 "\"point\":{\"latE7\":355831402,\"lngE7\":-1193393903},\"accuracyMm\":12000,"
	                 "\"altitudeMeters\":-23.0,\"source\":\"WIFI\",\"timestamp\":\"2025-08-15T14:32:18.000Z\"}}}},\n"
	                 "{\"deviceId\":\"1\",\"rawSignal\":{\"signal\":{\"activityRecord\":{\"detectedActivities\":"
	                 "[{\"activityType\":\"STILL\",\"probability\":1}],\"timestamp\":\"2025-08-15T14:32:18.000Z\"}}}},\n"
	                 "{\"deviceId\":\"1\",\"placeAggregates\":{\"placeAggregateInfo\":[{\"score\":1,"
	                 "\"point\":{\"latE7\":1,\"lngE7\":2}}]}}]}", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.shape, "Timeline Edits");
	CHECK_INT(g.n, 1);
	check_fix(&g.f[0], INT64_C(1755268338000), 35.5831402, -119.3393903);
	CHECK_INT(g.f[0].has, FIX_ACC | FIX_ALT);
	CHECK(g.f[0].acc == 12 && g.f[0].alt == -23);
	CHECK_STR(g.f[0].attrs, "{\"source\":\"WIFI\"}");
	CHECK_INT(g.rejected + g.nonpoint + g.notime + g.nv, 0);
	got_free(&g);
}

/* Cut off or broken mid-list: the import stops with the JSON reason. */
TEST(import_google_truncated)
{
	static const char *const docs[] = { semantic_doc, timeline_doc, ios_doc };
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct got g = { 0 };
		char *cut = strdup(docs[i]);
		cut[strlen(cut) * 2 / 3] = 0;
		run(IMPORT_JSON, cut, &g);
		CHECK_INT(g.rc, IMPORT_ERR);
		CHECK(strncmp(g.err, "JSON", 4) == 0);
		got_free(&g);
		free(cut);
	}
	struct got g = { 0 };
	run(IMPORT_JSON, "{\"timelineObjects\":[\n{\"placeVisit\":{\"location\":{\"latitudeE7\":1,}}}]}", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 2);
	CHECK(strncmp(g.err, "JSON parse error", 16) == 0);
	got_free(&g);
}

/* Every fix of an interleaved Records.json says its deviceTag. */
TEST(import_takeout_fix_tags)
{
	struct got g = { 0 };
	run(IMPORT_JSON, "{\"locations\":[{\"latitudeE7\":10,\"longitudeE7\":20,\"deviceTag\":7,"
	                 "\"timestampMs\":\"1000\"},{\"latitudeE7\":11,\"longitudeE7\":21,"
	                 "\"deviceTag\":-8,\"timestampMs\":\"2000\"},{\"latitudeE7\":12,\"longitudeE7\":22,"
	                 "\"timestampMs\":\"3000\"},{\"deviceTag\":1184882232,\"latitudeE7\":13,\"longitudeE7\":23,"
	                 "\"timestamp\":\"2024-06-15T14:21:29.460Z\"}]}", &g);
	CHECK_INT(g.rc, IMPORT_OK);
	CHECK_STR(g.shape, "Records.json");
	CHECK_INT(g.n, 4);
	CHECK(g.has_tag[0] && g.tag[0] == 7);
	CHECK(g.has_tag[1] && g.tag[1] == -8);
	CHECK(!g.has_tag[2]);
	CHECK(g.has_tag[3] && g.tag[3] == 1184882232);
	got_free(&g);
}

TEST(import_parse_latlng)
{
	double lat, lon;
	CHECK_INT(import_parse_latlng("48.1234567\xC2\xB0, 11.1234567\xC2\xB0", &lat, &lon), 0);
	CHECK(lat == 48.1234567 && lon == 11.1234567);
	CHECK_INT(import_parse_latlng("geo:-27.72,97.3", &lat, &lon), 0);
	CHECK(lat == -27.72 && lon == 97.3);
	CHECK_INT(import_parse_latlng("geo:1,2,300.5", &lat, &lon), 0);
	CHECK(lat == 1 && lon == 2);
	CHECK_INT(import_parse_latlng("1.5,2.5", &lat, &lon), 0);
	CHECK_INT(import_parse_latlng("1,2,3", &lat, &lon), -1);
	CHECK_INT(import_parse_latlng("geo:1,2,3,4", &lat, &lon), -1);
	CHECK_INT(import_parse_latlng("48.1\xC2\xB0", &lat, &lon), -1);
	CHECK_INT(import_parse_latlng("north, east", &lat, &lon), -1);
	CHECK_INT(import_parse_latlng("", &lat, &lon), -1);
}
