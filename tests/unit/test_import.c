/* import*.c: every parser on small inline documents (each field and unit),
 * format detection, error lines, and chunk boundaries: every document is
 * also fed one byte at a time and must give exactly the same fixes. */
#include <stdlib.h>

#include "base/buf.h"
#include "io/import.h"
#include "test.h"

#define MAXF 16

struct got {
	size_t     n;
	struct fix f[MAXF];
	int        abort_after;    /* callback returns 1 after this many; 0 never */
	int        rc;
	char       err[256];
	uint64_t   line;
	uint64_t   count, notime, nonpoint;
};

static int collect(void *ctx, const struct fix *f)
{
	struct got *g = ctx;
	if (g->n < MAXF) {
		g->f[g->n] = *f;
		g->f[g->n].attrs = f->attrs ? strdup(f->attrs) : NULL;
	}
	g->n++;
	return g->abort_after && g->n >= (size_t)g->abort_after;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n && i < MAXF; i++)
		fix_free(&g->f[i]);
}

/* Feeds doc in pieces of step bytes (0: all at once). */
static void run_step(enum import_format fmt, const char *doc, size_t step, struct got *g)
{
	int abort_after = g->abort_after;
	memset(g, 0, sizeof *g);
	g->abort_after = abort_after;
	struct importer *im = import_new(fmt, collect, g);
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
		for (size_t i = 0; i < g->n && i < h.n && i < MAXF; i++)
			CHECK(same_fix(&h.f[i], &g->f[i]));
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

TEST(import_gpx_errors)
{
	struct got g = { 0 };
	run(IMPORT_XML, "<gpx>\n<trk><trkseg>\n<trkpt lat=\"1\" lon=\"2\">\n<time>yesterday</time>"
	                "</trkpt>\n</trkseg></trk></gpx>\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 4);
	CHECK(strstr(g.err, "unreadable time 'yesterday'") != NULL);
	got_free(&g);

	run(IMPORT_XML, "<gpx>\n<wpt lat=\"91\" lon=\"2\"><time>2024-05-01T00:00:00Z</time>\n</wpt></gpx>", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 3);
	CHECK(strstr(g.err, "lat out of range") != NULL);
	got_free(&g);

	run(IMPORT_XML, "<gpx>\n\n<trkpt lon=\"2\"><time>2024-05-01T00:00:00Z</time></trkpt></gpx>", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 3);
	CHECK(strstr(g.err, "<trkpt> without a valid lat and lon") != NULL);
	got_free(&g);

	run(IMPORT_XML, "<gpx><trkpt lat=\"1\" lon=\"2\"><ele>high</ele>"
	                "<time>2024-05-01T00:00:00Z</time></trkpt></gpx>", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK(strstr(g.err, "<ele> is not a number: 'high'") != NULL);
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
	CHECK_INT(g.nonpoint, 1);
	CHECK_INT(g.notime, 1);
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

TEST(import_geojson_errors)
{
	struct got g = { 0 };
	run(IMPORT_JSON, "{\"features\":[\n{\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,95]},\n"
	                 "\"properties\":{\"time\":\"2024-05-01T00:00:00Z\"}\n}\n]}", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 4);
	CHECK_STR(g.err, "lat out of range (-90..90)");
	got_free(&g);

	run(IMPORT_JSON, "{\"features\":[\n{\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,5]},\n"
	                 "\"properties\":{\"time\":\"soon\"}\n}\n]}", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 3);
	CHECK_STR(g.err, "unreadable time 'soon'");
	got_free(&g);

	run(IMPORT_JSON, "{\"features\":[{\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,5]},"
	                 "\"properties\":{\"time\":\"2024-05-01\",\"speed\":\"fast\"}}]}", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_STR(g.err, "speed is not a number");
	got_free(&g);

	run(IMPORT_JSON, "{\"features\":[{\"geometry\":{\"type\":\"Point\",\"coordinates\":[1]},"
	                 "\"properties\":{\"time\":\"2024-05-01\"}}]}", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK(strstr(g.err, "coordinates must be [lon, lat]") != NULL);
	got_free(&g);

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

	run(IMPORT_JSON, "{\"features\":[{\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,5]},"
	                 "\"properties\":{\"time\":\"2024-05-01\",\"attributes\":{\"x\":[1e999]}}}]}", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_STR(g.err, "attributes: number out of range");
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
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_STR(g.err, "lat out of range (-90..90)");
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
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 2);
	CHECK_STR(g.err, "unreadable timestampMs '12x'");
	got_free(&g);

	run(IMPORT_JSON, "{\"locations\":[{\"latitudeE7\":1,\"timestampMs\":\"1\"}]}", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_STR(g.err, "a location needs both latitudeE7 and longitudeE7");
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
	run(IMPORT_CSV, "time,lat,lon\n2024-05-01,1,2\n2024-05-01T00:00:01Z,x,2\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.line, 3);
	CHECK_STR(g.err, "lat is not a number: 'x'");
	got_free(&g);

	run(IMPORT_CSV, "time,lat,lon\n\"a\nb\",1,2\n2024-05-01,1,2,3\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 2);
	CHECK_STR(g.err, "unreadable time 'a b'");   /* made one line */
	got_free(&g);

	run(IMPORT_CSV, "time,lat,lon\n2024-05-01,1,2,3\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 2);
	CHECK_STR(g.err, "4 fields, the header has 3");
	got_free(&g);

	run(IMPORT_CSV, "time,lat,lon,attributes\n2024-05-01,1,2,[1]\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_STR(g.err, "attributes is not a JSON object");
	got_free(&g);

	run(IMPORT_CSV, "time,lat,lon,attributes\n2024-05-01,1,2,\"{\"\"a\"\":}\"\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK(strncmp(g.err, "attributes: JSON", 16) == 0);
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

	run(IMPORT_CSV, "time,lat,lon\n,1,2\n", &g);
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_STR(g.err, "time is empty");
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
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_INT(g.line, 2);
	CHECK_STR(g.err, "lat is not a number");
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
	CHECK_INT(g.rc, IMPORT_ERR);
	CHECK_STR(g.err, "unreadable time 'later'");
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
