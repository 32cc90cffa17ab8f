/* /gpslogger decoder: every request of clients/gpslogger.http, the %ALL
 * names, every credential form, body kinds and errors. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "test.h"

#include "test_decode.h"

#define NOW INT64_C(1700000000000)

#define run(d, raw) tdec_run(proto_gpslogger.decode, (raw), strlen(raw), NOW, (d))
#define attrs(d, i) tdec_attrs((d), (i))
#define expect_400(raw, early) tdec_expect_400(proto_gpslogger.decode, (raw), (early), NOW)

TEST(gpslogger_example1_get)
{
	struct decode d;
	CHECK_INT(run(&d, "GET /api/gpslogger?id=4f2a9c0d1e7b3a55&lat=52.520008&lon=13.404954&timestamp=1714558530&altitude=43.7&speed=13.9&bearing=271.5&accuracy=4.8&batt=87.0&charge=false&sat=11&prov=gps\n"
	                  "Host: tracker.example.org\nAccept-Encoding: gzip\nUser-Agent: okhttp/4.12.0\n\n"), 0);
	CHECK_INT(d.reply_status, 200);
	CHECK(d.reply_type == NULL && d.reply_body == NULL);
	CHECK_INT(d.cred, CRED_NONE);     /* id is no credential here: 401 */
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK_DBL(f->lat, 52.520008);
	CHECK_DBL(f->lon, 13.404954);
	CHECK_DBL(f->alt, 43.7);
	CHECK_DBL(f->speed, 13.9);
	CHECK_DBL(f->course, 271.5);
	CHECK_DBL(f->acc, 4.8);
	CHECK_DBL(f->batt, 87);
	CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	json_t *a = attrs(&d, 0);
	CHECK_STR(json_string_value(json_object_get(a, "id")), "4f2a9c0d1e7b3a55");
	CHECK(json_is_false(json_object_get(a, "charge")));
	CHECK_INT(json_integer_value(json_object_get(a, "sat")), 11);
	CHECK_STR(json_string_value(json_object_get(a, "prov")), "gps");
	CHECK_INT(json_object_size(a), 4);
	json_decref(a);
	decode_free(&d);

	/* the same with a token */
	CHECK_INT(run(&d, "GET /gpslogger?token=T0k&lat=1&lon=2\n\n"), 0);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "T0k");
	CHECK(d.fixes[0].attrs == NULL);
	decode_free(&d);
}

TEST(gpslogger_example2_json)
{
	struct decode d;
	CHECK_INT(run(&d, "POST /api/gpslogger?id=4f2a9c0d1e7b3a55\nHost: tracker.example.org\nContent-Type: application/json\nAuthorization: Bearer abc123\nAccept-Encoding: gzip\nUser-Agent: okhttp/4.12.0\n\n"
	                  "{\"time\": 1714558530, \"lat\": 52.520008, \"lon\": 13.404954, \"alt\": 43.7, \"acc\": 4.8, \"spd\": 13.9, \"dir\": 271.5, \"batt\": 87.0, \"iso\": \"2024-05-01T10:15:30.000Z\", \"local\": \"2024-05-01T12:15:30.000%2B02:00\", \"dist\": 1523}"), 0);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "abc123");
	CHECK(d.user == NULL);
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK_DBL(f->lat, 52.520008);
	CHECK_DBL(f->lon, 13.404954);
	CHECK_DBL(f->alt, 43.7);
	CHECK_DBL(f->acc, 4.8);
	CHECK_DBL(f->speed, 13.9);
	CHECK_DBL(f->course, 271.5);
	CHECK_DBL(f->batt, 87);
	CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	json_t *a = attrs(&d, 0);
	CHECK_STR(json_string_value(json_object_get(a, "iso")), "2024-05-01T10:15:30.000Z");
	CHECK_STR(json_string_value(json_object_get(a, "local")), "2024-05-01T12:15:30.000+02:00");
	CHECK_INT(json_integer_value(json_object_get(a, "dist")), 1523);
	CHECK_STR(json_string_value(json_object_get(a, "id")), "4f2a9c0d1e7b3a55");
	CHECK_INT(json_object_size(a), 4);
	json_decref(a);
	decode_free(&d);
}

TEST(gpslogger_example3_defaults)
{
	struct decode d;
	CHECK_INT(run(&d, "GET /log?lat=52.520008&longitude=13.404954&time=2024-05-01T10:15:30.000Z&s=13.9\nHost: localhost\n\n"), 0);
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK_DBL(f->lat, 52.520008);
	CHECK_DBL(f->lon, 13.404954);
	CHECK_INT(f->has, 0);              /* "s" is no known name */
	json_t *a = attrs(&d, 0);
	CHECK_DBL(json_real_value(json_object_get(a, "s")), 13.9);
	CHECK_INT(json_object_size(a), 1);
	json_decref(a);
	decode_free(&d);
}

TEST(gpslogger_times)
{
	struct decode d;
	/* %TIMEOFFSET: %2B in the query, in a JSON string, and as a raw '+' */
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2&time=2024-05-01T12:15:30.000%2B02:00\n\n"), 0);
	CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530000));
	decode_free(&d);
	CHECK_INT(run(&d, "POST /gpslogger\nContent-Type: application/json\n\n{\"lat\":1,\"lon\":2,\"time\":\"2024-05-01T12:15:30.000%2B02:00\"}"), 0);
	CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530000));
	decode_free(&d);
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2&time=2024-05-01T12:15:30.000+02:00\n\n"), 0);
	CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530000));
	decode_free(&d);
	/* timestamp seconds, ms from 2^31, precedence over time */
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2&timestamp=1714558530123&time=2000-01-01\n\n"), 0);
	CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530123));
	decode_free(&d);
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2&time=1714558530\n\n"), 0);
	CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530000));
	decode_free(&d);
	CHECK_INT(run(&d, "POST /gpslogger\nContent-Type: application/json\n\n{\"lat\":1,\"lon\":2,\"timestamp\":1714558530.25}"), 0);
	CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530250));
	decode_free(&d);
	/* none -> receipt time */
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2&time=\n\n"), 0);
	CHECK_INT(d.fixes[0].time_ms, NOW);
	decode_free(&d);
}

TEST(gpslogger_speeds_and_aliases)
{
	struct decode d;
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2&spd_kph=50\n\n"), 0);
	CHECK_DBL(d.fixes[0].speed, 50 / 3.6);
	CHECK(fabs(d.fixes[0].speed - 13.8889) < 1e-4);
	CHECK_INT(d.fixes[0].has, FIX_SPEED);
	CHECK(d.fixes[0].attrs == NULL);     /* spd_kph consumed */
	decode_free(&d);
	/* m/s wins over km/h */
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2&spd=3&spd_kph=50\n\n"), 0);
	CHECK_DBL(d.fixes[0].speed, 3);
	decode_free(&d);
	/* zero is a value */
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2&speed=0&course=0&alt=0&acc=0&battery=0\n\n"), 0);
	CHECK_INT(d.fixes[0].has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	CHECK_DBL(d.fixes[0].speed, 0);
	decode_free(&d);
	/* empty = absent; latitude alias */
	CHECK_INT(run(&d, "GET /gpslogger?latitude=1&longitude=2&speed=&dir=&acc=&hdop=&vdop=\n\n"), 0);
	CHECK_INT(d.fixes[0].has, 0);
	CHECK(d.fixes[0].attrs == NULL);
	decode_free(&d);
	/* %ALL style */
	CHECK_INT(run(&d, "GET /gpslogger?token=t&lat=52.5&lon=13.4&sat=9&desc=a%20note&alt=40.5&acc=3.0&dir=10.0&prov=gps&spd=1.5&timestamp=1714558530&time=2024-05-01T10:15:30.000Z&timeoffset=2024-05-01T12:15:30.000%2B02:00&date=2024-05-01&starttimestamp=1714550000&batt=55.0&ischarging=true&aid=abc&ser=unknown&act=&filename=20240501&profile=Default&hdop=0.9&vdop=&pdop=&dist=12\n\n"), 0);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK_DBL(f->alt, 40.5);
	CHECK_DBL(f->acc, 3);
	CHECK_DBL(f->course, 10);
	CHECK_DBL(f->speed, 1.5);
	CHECK_DBL(f->batt, 55);
	json_t *a = attrs(&d, 0);
	CHECK_STR(json_string_value(json_object_get(a, "desc")), "a note");
	CHECK(json_is_true(json_object_get(a, "ischarging")));
	CHECK_STR(json_string_value(json_object_get(a, "timeoffset")), "2024-05-01T12:15:30.000+02:00");
	CHECK_INT(json_integer_value(json_object_get(a, "dist")), 12);
	CHECK(!json_object_get(a, "act") && !json_object_get(a, "token") && !json_object_get(a, "time"));
	json_decref(a);
	decode_free(&d);
}

TEST(gpslogger_credentials)
{
	struct decode d;
	/* Basic: password = token, user name kept ("anna:tok123") */
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2\nAuthorization: Basic YW5uYTp0b2sxMjM=\n\n"), 0);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "tok123");
	CHECK_STR(d.user, "anna");
	decode_free(&d);
	/* token parameter first */
	CHECK_INT(run(&d, "GET /gpslogger?token=qt&lat=1&lon=2\nAuthorization: Basic YW5uYTp0b2sxMjM=\n\n"), 0);
	CHECK_STR(d.secret, "qt");
	CHECK(d.user == NULL);
	decode_free(&d);
	/* token inside a JSON body, api_key never stored */
	CHECK_INT(run(&d, "POST /gpslogger?api_key=k\nContent-Type: application/json\n\n{\"token\":\"jt\",\"lat\":1,\"lon\":2}"), 0);
	CHECK_STR(d.secret, "jt");
	CHECK(d.fixes[0].attrs == NULL);
	decode_free(&d);
	/* token in a form body */
	CHECK_INT(run(&d, "POST /gpslogger\n\ntoken=ft&lat=1&lon=2"), 0);
	CHECK_STR(d.secret, "ft");
	decode_free(&d);
	/* none */
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2\nAuthorization: Digest x\n\n"), 0);
	CHECK_INT(d.cred, CRED_NONE);
	decode_free(&d);
}

TEST(gpslogger_bodies)
{
	struct decode d;
	/* no Content-Type, body starts with '{' -> JSON; strings parse too */
	CHECK_INT(run(&d, "POST /gpslogger?token=t\n\n \n{\"lat\":\"52.5\",\"lon\":\"13.25\",\"batt\":\"87.0\",\"spd_kph\":\"36\",\"n\":null,\"o\":{\"x\":1}}"), 0);
	CHECK_INT(d.nfixes, 1);
	CHECK_DBL(d.fixes[0].lat, 52.5);
	CHECK_DBL(d.fixes[0].lon, 13.25);
	CHECK_DBL(d.fixes[0].batt, 87);
	CHECK_DBL(d.fixes[0].speed, 10);
	json_t *a = attrs(&d, 0);
	CHECK(!json_object_get(a, "n"));
	CHECK_STR(json_string_value(json_object_get(a, "o")), "{\"x\":1}");
	json_decref(a);
	decode_free(&d);
	/* body overrides the query; query supplements */
	CHECK_INT(run(&d, "POST /gpslogger?lat=9&lon=9&acc=4\nContent-Type: text/plain\n\nlat=1&lon=2"), 0);
	CHECK_DBL(d.fixes[0].lat, 1);
	CHECK_DBL(d.fixes[0].lon, 2);
	CHECK_DBL(d.fixes[0].acc, 4);
	CHECK(d.fixes[0].attrs == NULL);   /* the query's lat/lon are not repeated */
	decode_free(&d);
	CHECK_INT(run(&d, "PUT /gpslogger\nContent-Type: application/json; charset=utf-8\n\n{\"lat\":1,\"lon\":2,\"flag\":true}"), 0);
	a = attrs(&d, 0);
	CHECK(json_is_true(json_object_get(a, "flag")));
	json_decref(a);
	decode_free(&d);
	/* GET ignores a body */
	CHECK_INT(run(&d, "GET /gpslogger?lat=1&lon=2\n\n{broken"), 0);
	CHECK_INT(d.nfixes, 1);
	decode_free(&d);
	/* POST with an empty body: just the query */
	CHECK_INT(run(&d, "POST /gpslogger?lat=1&lon=2\nContent-Type: application/json\n\n"), 0);
	CHECK_INT(d.nfixes, 1);
	decode_free(&d);
	/* heartbeat */
	CHECK_INT(run(&d, "POST /gpslogger?token=t\nContent-Type: application/json\n\n{\"batt\":50}"), 0);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.nfixes, 0);
	decode_free(&d);
}

TEST(gpslogger_errors)
{
	expect_400("POST /gpslogger\nContent-Type: application/json\n\n{\"lat\":1,", 1);
	expect_400("POST /gpslogger\nContent-Type: application/json\n\n[1,2]", 1);
	expect_400("POST /gpslogger\n\n{\"lat\":1", 1);
	expect_400("POST /gpslogger\nContent-Type: application/json\n\n{\"lat\":\"\xc3\x28\"}", 1);
	expect_400("GET /gpslogger?lat=&lon=2\n\n", 0);
	expect_400("GET /gpslogger?lat=abc&lon=2\n\n", 0);
	expect_400("GET /gpslogger?lat=nan&lon=2\n\n", 0);
	expect_400("GET /gpslogger?lat=1&longitude=inf\n\n", 0);
	expect_400("GET /gpslogger?lat=91&lon=2\n\n", 0);
	expect_400("GET /gpslogger?lat=1&lon=181\n\n", 0);
	expect_400("GET /gpslogger?lat=1\n\n", 0);
	expect_400("GET /gpslogger?longitude=1\n\n", 0);
	expect_400("GET /gpslogger?lat=1&lon=2&time=notatime\n\n", 0);
	expect_400("GET /gpslogger?lat=1&lon=2&timestamp=2024-13-01\n\n", 0);
	expect_400("GET /gpslogger?lat=1&lon=2&spd_kph=fast\n\n", 0);
	expect_400("POST /gpslogger\nContent-Type: application/json\n\n{\"lat\":true,\"lon\":2}", 0);
	expect_400("POST /gpslogger\nContent-Type: application/json\n\n{\"lat\":1,\"lon\":2,\"time\":\"2024-02-30T00:00:00Z\"}", 0);
}
