/* "/" decoder: every request of clients/traccar-client.http (A, B, C and
 * its iOS variant, D, heartbeat) and osmand.http Example 2, plus errors. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "test.h"

#include "test_decode.h"

#define NOW INT64_C(1700000000000)

#define run(d, raw) tdec_run(proto_traccar.decode, (raw), strlen(raw), NOW, (d))
#define attrs(d, i) tdec_attrs((d), (i))
#define expect_400(raw, early) tdec_expect_400(proto_traccar.decode, (raw), (early), NOW)
#define KN (1852.0 / 3600.0)

TEST(traccar_A_legacy_android)
{
	struct decode d;
	CHECK_INT(run(&d, "POST /?id=123456789012345&timestamp=1714558530&lat=52.520008&lon=13.404954&speed=27.019431&bearing=271.5&altitude=43.7&accuracy=0.0&batt=87.0&charge=true\n"
	                  "Host: traccar.example.org:5055\nUser-Agent: Dalvik/2.1.0\nContent-Length: 0\n\n"), 0);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.reply_status, 200);
	CHECK(d.reply_type == NULL && d.reply_body == NULL && d.reply_owned == NULL);
	CHECK_INT(d.cred, CRED_TOKEN_OR_IDENT);
	CHECK_STR(d.secret, "123456789012345");
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK_DBL(f->lat, 52.520008);
	CHECK_DBL(f->lon, 13.404954);
	CHECK(fabs(f->speed - 13.9) < 1e-4);
	CHECK_DBL(f->speed, 27.019431 * KN);
	CHECK_DBL(f->course, 271.5);
	CHECK_DBL(f->alt, 43.7);
	CHECK_DBL(f->acc, 0);
	CHECK_DBL(f->batt, 87);
	CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	json_t *a = attrs(&d, 0);
	CHECK(json_is_true(json_object_get(a, "charge")));
	CHECK_INT(json_object_size(a), 1);
	json_decref(a);
	decode_free(&d);
}

TEST(traccar_A_test_vector_zeros)
{
	/* ProtocolFormatterTest: zero is a value everywhere */
	struct decode d;
	CHECK_INT(run(&d, "POST /?id=123456789012345&timestamp=619315200&lat=0.0&lon=0.0&speed=0.0&bearing=0.0&altitude=0.0&accuracy=0.0&batt=0.0\n\n"), 0);
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(619315200000));
	CHECK_DBL(f->lat, 0);
	CHECK_DBL(f->lon, 0);
	CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	CHECK_DBL(f->speed, 0);
	CHECK_DBL(f->course, 0);
	CHECK_DBL(f->alt, 0);
	CHECK_DBL(f->batt, 0);
	CHECK(f->attrs == NULL);
	decode_free(&d);
}

TEST(traccar_B_legacy_ios)
{
	struct decode d;
	CHECK_INT(run(&d, "POST /?id=123456789012345&timestamp=1714558530&lat=52.520008&lon=13.404954&speed=27.0194&bearing=271.5&altitude=43.7&accuracy=4.8&batt=87&charge=true\n"
	                  "Host: traccar.example.org:5055\nContent-Length: 0\n\n"), 0);
	CHECK_STR(d.secret, "123456789012345");
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK(fabs(f->speed - 13.9) < 1e-4);
	CHECK_DBL(f->speed, 27.0194 * KN);
	CHECK_DBL(f->acc, 4.8);
	CHECK_DBL(f->batt, 87);
	CHECK_DBL(f->course, 271.5);
	json_t *a = attrs(&d, 0);
	CHECK(json_is_true(json_object_get(a, "charge")));
	CHECK(!json_object_get(a, "id"));
	json_decref(a);
	decode_free(&d);

	/* iOS test vector, integer zeros; unknown battery is -100 there */
	CHECK_INT(run(&d, "POST /?id=1&timestamp=0&lat=0.000000&lon=0.000000&speed=0&bearing=0&altitude=0&accuracy=0&batt=-100\n\n"), 0);
	CHECK_INT(d.nfixes, 1);
	CHECK_INT(d.fixes[0].time_ms, 0);
	CHECK_INT(d.fixes[0].has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC);
	decode_free(&d);
}

TEST(traccar_C_flutter_json)
{
	struct decode d;
	CHECK_INT(run(&d, "POST /\nHost: traccar.example.org:5055\nContent-Type: application/json\n\n"
	                  "{\"location\":{\"timestamp\":\"2025-06-15T13:45:12.862Z\",\"coords\":{\"latitude\":37.4219983,\"longitude\":-122.084,\"accuracy\":5,\"speed\":0,\"heading\":-1,\"altitude\":5},\"is_moving\":false,\"odometer\":0,\"event\":\"motionchange\",\"battery\":{\"level\":1,\"is_charging\":false},\"activity\":{\"type\":\"still\"},\"extras\":{},\"_\":\"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&\"},\"device_id\":\"48241179\"}"), 0);
	CHECK_INT(d.cred, CRED_TOKEN_OR_IDENT);
	CHECK_STR(d.secret, "48241179");
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1749995112862));
	CHECK_DBL(f->lat, 37.4219983);
	CHECK_DBL(f->lon, -122.084);
	CHECK_DBL(f->acc, 5);
	CHECK_DBL(f->speed, 0);       /* m/s, 0 is a value */
	CHECK_DBL(f->alt, 5);
	CHECK_DBL(f->batt, 100);      /* level 1 -> 100 % */
	CHECK_INT(f->has, FIX_SPEED | FIX_ALT | FIX_ACC | FIX_BATT);   /* heading -1: unknown */
	json_t *a = attrs(&d, 0);
	CHECK(json_is_false(json_object_get(a, "is_moving")));
	CHECK(json_is_integer(json_object_get(a, "odometer")));
	CHECK_INT(json_integer_value(json_object_get(a, "odometer")), 0);
	CHECK_STR(json_string_value(json_object_get(a, "event")), "motionchange");
	CHECK_STR(json_string_value(json_object_get(a, "activity")), "still");
	CHECK(json_is_false(json_object_get(a, "charge")));
	CHECK(!json_object_get(a, "device_id"));
	CHECK(!json_object_get(a, "id"));
	CHECK(!json_object_get(a, "_"));
	CHECK(!strstr(d.fixes[0].attrs, "48241179"));
	json_decref(a);
	decode_free(&d);
}

TEST(traccar_C_ios_variant)
{
	struct decode d;
	CHECK_INT(run(&d, "POST /\nContent-Type: application/json\n\n"
	                  "{\"location\":{\"extras\":{},\"mock\":true,\"coords\":{\"speed_accuracy\":-1,\"speed\":-1,\"longitude\":-122.406417,\"ellipsoidal_altitude\":0,\"floor\":null,\"heading_accuracy\":-1,\"latitude\":37.785834000000001,\"accuracy\":5,\"altitude_accuracy\":-1,\"altitude\":0,\"heading\":-1},\"is_moving\":false,\"age\":188,\"odometer\":0,\"uuid\":\"2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8\",\"event\":\"motionchange\",\"battery\":{\"level\":-1,\"is_charging\":false},\"activity\":{\"type\":\"unknown\",\"confidence\":100},\"timestamp\":\"2025-05-09T04:11:30.579Z\"},\"device_id\":\"658765\"}"), 0);
	CHECK_STR(d.secret, "658765");
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1746763890579));
	CHECK_DBL(f->lat, 37.785834);
	CHECK_DBL(f->lon, -122.406417);
	CHECK_DBL(f->alt, 0);
	CHECK_DBL(f->acc, 5);
	CHECK_INT(f->has, FIX_ALT | FIX_ACC);   /* speed, heading, battery -1 */
	json_t *a = attrs(&d, 0);
	CHECK(json_is_true(json_object_get(a, "mock")));
	CHECK_STR(json_string_value(json_object_get(a, "activity")), "unknown");
	CHECK(json_is_false(json_object_get(a, "charge")));
	CHECK_STR(json_string_value(json_object_get(a, "event")), "motionchange");
	json_decref(a);
	decode_free(&d);
}

TEST(traccar_json_extras_and_batch)
{
	struct decode d;
	/* extras become top-level attributes; credentials never stored */
	CHECK_INT(run(&d, "POST /\nContent-Type: Application/JSON; charset=utf-8\n\n"
	                  "{\"device_id\":48241179,\"location\":[{\"timestamp\":\"2025-06-15T13:45:12.862Z\",\"coords\":{\"latitude\":1.5,\"longitude\":2.5,\"speed\":3.25,\"heading\":0},\"battery\":{\"level\":0.87},\"extras\":{\"trip\":\"work\",\"n\":7,\"id\":\"x\",\"device_id\":\"y\"}},"
	                  "{\"timestamp\":\"2025-06-15T13:45:13Z\",\"coords\":{\"latitude\":\"1.6\",\"longitude\":\"2.6\"}}]}"), 0);
	CHECK_STR(d.secret, "48241179");
	CHECK_INT(d.nfixes, 2);
	CHECK_DBL(d.fixes[0].speed, 3.25);   /* m/s in JSON: no knots conversion */
	CHECK_DBL(d.fixes[0].course, 0);
	CHECK_DBL(d.fixes[0].batt, 87);
	CHECK_INT(d.fixes[0].has, FIX_SPEED | FIX_COURSE | FIX_BATT);
	json_t *a = attrs(&d, 0);
	CHECK_STR(json_string_value(json_object_get(a, "trip")), "work");
	CHECK_INT(json_integer_value(json_object_get(a, "n")), 7);
	CHECK(!json_object_get(a, "id") && !json_object_get(a, "device_id"));
	CHECK(!json_object_get(a, "extras"));
	json_decref(a);
	CHECK_INT(d.fixes[1].time_ms, INT64_C(1749995113000));
	CHECK_DBL(d.fixes[1].lat, 1.6);
	CHECK_INT(d.fixes[1].has, 0);
	CHECK(d.fixes[1].attrs == NULL);
	decode_free(&d);

	/* no location / empty batch / no coords: heartbeats */
	CHECK_INT(run(&d, "POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\"}"), 0);
	CHECK_INT(d.nfixes, 0);
	CHECK_STR(d.secret, "1");
	decode_free(&d);
	CHECK_INT(run(&d, "POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":[]}"), 0);
	CHECK_INT(d.nfixes, 0);
	decode_free(&d);
	CHECK_INT(run(&d, "POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":{\"event\":\"heartbeat\"}}"), 0);
	CHECK_INT(d.nfixes, 0);
	decode_free(&d);

	/* missing timestamp -> time of receipt; device id from the query */
	CHECK_INT(run(&d, "POST /?id=q1\nContent-Type: application/json\n\n{\"location\":{\"coords\":{\"latitude\":1,\"longitude\":2}}}"), 0);
	CHECK_STR(d.secret, "q1");
	CHECK_INT(d.nfixes, 1);
	CHECK_INT(d.fixes[0].time_ms, NOW);
	decode_free(&d);

	/* no credential anywhere */
	CHECK_INT(run(&d, "POST /\nContent-Type: application/json\n\n{\"location\":{\"coords\":{\"latitude\":1,\"longitude\":2}}}"), 0);
	CHECK_INT(d.cred, CRED_NONE);
	CHECK(d.secret == NULL);
	decode_free(&d);

	/* an empty JSON body: the query counts (legacy clients POST an empty body) */
	CHECK_INT(run(&d, "POST /?id=5&lat=1&lon=2\nContent-Type: application/json\n\n"), 0);
	CHECK_STR(d.secret, "5");
	CHECK_INT(d.nfixes, 1);
	decode_free(&d);
	CHECK_INT(run(&d, "POST /\nContent-Type: application/json\n\n"), 0);
	CHECK_INT(d.cred, CRED_NONE);
	CHECK_INT(d.nfixes, 0);
	decode_free(&d);

	/* a '{' body without Content-Type is JSON too */
	CHECK_INT(run(&d, "POST /\n\n  {\"device_id\":\"7\",\"location\":{\"coords\":{\"latitude\":1,\"longitude\":2}}}"), 0);
	CHECK_STR(d.secret, "7");
	CHECK_INT(d.nfixes, 1);
	decode_free(&d);
}

TEST(traccar_json_errors)
{
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",", 1);
	expect_400("POST /\nContent-Type: application/json\n\n[{\"id\":\"1\"}]", 1);
	expect_400("POST /\nContent-Type: application/json\n\n\"x\"", 1);
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"\xff\"}", 1);
	expect_400("POST /\nContent-Type: application/json\n\n{\"location\":\"here\"}", 1);
	expect_400("POST /\nContent-Type: application/json\n\n{\"location\":[1]}", 1);
	/* values: not early */
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":{\"coords\":{\"latitude\":91,\"longitude\":2}}}", 0);
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":{\"coords\":{\"latitude\":1,\"longitude\":-181}}}", 0);
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":{\"coords\":{\"latitude\":1}}}", 0);
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":{\"coords\":{\"latitude\":\"abc\",\"longitude\":2}}}", 0);
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":{\"coords\":{\"latitude\":\"nan\",\"longitude\":2}}}", 0);
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":{\"coords\":{\"latitude\":true,\"longitude\":2}}}", 0);
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":{\"timestamp\":\"soon\",\"coords\":{\"latitude\":1,\"longitude\":2}}}", 0);
	expect_400("POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":{\"coords\":{\"latitude\":1,\"longitude\":2,\"speed\":\"fast\"}}}", 0);
	/* one bad element fails the whole batch */
	struct decode d;
	CHECK_INT(run(&d, "POST /\nContent-Type: application/json\n\n{\"device_id\":\"1\",\"location\":[{\"coords\":{\"latitude\":1,\"longitude\":2}},{\"coords\":{\"latitude\":100,\"longitude\":2}}]}"), -1);
	CHECK_INT(d.status, 400);
	decode_free(&d);
}

TEST(traccar_D_flutter_form)
{
	struct decode d;
	CHECK_INT(run(&d, "POST /\nHost: traccar.example.org:5055\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\nUser-Agent: ktor-client\n\n"
	                  "id=48241179&lat=52.520008&lon=13.404954&timestamp=1714558530&accuracy=4.8&altitude=43.7&speed=27.02&bearing=271.5&batt=87&charge=false&battery_health=good&battery_voltage=4012&battery_temp=28.5"), 0);
	CHECK_INT(d.cred, CRED_TOKEN_OR_IDENT);
	CHECK_STR(d.secret, "48241179");
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK_DBL(f->lat, 52.520008);
	CHECK_DBL(f->lon, 13.404954);
	CHECK_DBL(f->acc, 4.8);
	CHECK_DBL(f->alt, 43.7);
	CHECK_DBL(f->speed, 27.02 * KN);
	CHECK(fabs(f->speed - 13.9003) < 1e-4);
	CHECK_DBL(f->course, 271.5);
	CHECK_DBL(f->batt, 87);
	CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	json_t *a = attrs(&d, 0);
	CHECK(json_is_false(json_object_get(a, "charge")));
	CHECK_STR(json_string_value(json_object_get(a, "battery_health")), "good");
	CHECK_INT(json_integer_value(json_object_get(a, "battery_voltage")), 4012);
	CHECK(json_is_real(json_object_get(a, "battery_temp")));
	CHECK_DBL(json_real_value(json_object_get(a, "battery_temp")), 28.5);
	CHECK_INT(json_object_size(a), 4);
	json_decref(a);
	decode_free(&d);
}

TEST(traccar_D_heartbeat)
{
	struct decode d;
	CHECK_INT(run(&d, "POST /\nContent-Type: application/x-www-form-urlencoded\n\nid=48241179&timestamp=1714558530&batt=80&charge=true"), 0);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.reply_status, 200);
	CHECK_INT(d.nfixes, 0);
	CHECK_STR(d.secret, "48241179");
	decode_free(&d);

	/* legacy: POST with empty body and only the id */
	CHECK_INT(run(&d, "POST /?id=48241179\nContent-Length: 0\n\n"), 0);
	CHECK_INT(d.nfixes, 0);
	decode_free(&d);
}

TEST(traccar_osmand_example2)
{
	/* OsmAnd's template aimed at Traccar: ms timestamp, speed read as knots */
	struct decode d;
	CHECK_INT(run(&d, "GET /?id=666&lat=52.520008&lon=13.404954&timestamp=1714558530123&hdop=4.8&altitude=43.7&speed=13.9&bearing=271.5\n"
	                  "Host: traccar.example.org:5055\nConnection: Keep-Alive\nAccept-Encoding: gzip\n\n"), 0);
	CHECK_STR(d.secret, "666");
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530123));
	CHECK_DBL(f->speed, 13.9 * KN);
	CHECK_DBL(f->course, 271.5);
	CHECK_DBL(f->alt, 43.7);
	CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT);   /* hdop is no accuracy on "/" */
	json_t *a = attrs(&d, 0);
	CHECK_DBL(json_real_value(json_object_get(a, "hdop")), 4.8);
	CHECK_INT(json_object_size(a), 1);
	json_decref(a);
	decode_free(&d);
}

TEST(traccar_query_variants)
{
	struct decode d;
	/* deviceid, location=lat,lon, heading, "yyyy-MM-dd HH:mm:ss" with '+' */
	CHECK_INT(run(&d, "GET /?deviceid=abc&location=-33.5,151.25&heading=0&timestamp=2024-05-01+10:15:30&cell=262,1,2,3&wifi=aa-bb&token=zzz\n\n"), 0);
	CHECK_STR(d.secret, "abc");
	CHECK_INT(d.nfixes, 1);
	CHECK_DBL(d.fixes[0].lat, -33.5);
	CHECK_DBL(d.fixes[0].lon, 151.25);
	CHECK_DBL(d.fixes[0].course, 0);
	CHECK_INT(d.fixes[0].has, FIX_COURSE);
	CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530000));
	json_t *a = attrs(&d, 0);
	CHECK_STR(json_string_value(json_object_get(a, "cell")), "262,1,2,3");
	CHECK_STR(json_string_value(json_object_get(a, "wifi")), "aa-bb");
	CHECK(!json_object_get(a, "token") && !json_object_get(a, "deviceid") &&
	      !json_object_get(a, "location"));
	json_decref(a);
	decode_free(&d);

	/* ISO with offset (%2B), no timestamp -> now, empty id falls back */
	CHECK_INT(run(&d, "GET /?id=&deviceid=x&lat=1&lon=2&timestamp=2024-05-01T12:15:30.250%2B02:00\n\n"), 0);
	CHECK_STR(d.secret, "x");
	CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530250));
	decode_free(&d);
	CHECK_INT(run(&d, "GET /?id=1&lat=1&lon=2&speed=&bearing=\n\n"), 0);
	CHECK_INT(d.fixes[0].time_ms, NOW);
	CHECK_INT(d.fixes[0].has, 0);      /* empty = absent */
	decode_free(&d);

	/* no credential: decoded, the receiver answers 401 */
	CHECK_INT(run(&d, "GET /?lat=1&lon=2\n\n"), 0);
	CHECK_INT(d.cred, CRED_NONE);
	CHECK(d.secret == NULL);
	decode_free(&d);

	/* the query wins over a form body */
	CHECK_INT(run(&d, "POST /?id=q&lat=1&lon=2\nContent-Type: application/x-www-form-urlencoded\n\nid=b&lat=3&lon=4"), 0);
	CHECK_STR(d.secret, "q");
	CHECK_DBL(d.fixes[0].lat, 1);
	decode_free(&d);

	/* Java-style exponent, negative zero, boundaries */
	CHECK_INT(run(&d, "GET /?id=1&lat=90&lon=-180&speed=1.0E-4&altitude=-0.0\n\n"), 0);
	CHECK_DBL(d.fixes[0].speed, 1e-4 * KN);
	CHECK_INT(d.fixes[0].has, FIX_SPEED | FIX_ALT);
	decode_free(&d);
}

TEST(traccar_query_errors)
{
	expect_400("GET /?id=1&lat=&lon=2\n\n", 0);
	expect_400("GET /?id=1&lat=1&lon=\n\n", 0);
	expect_400("GET /?id=1&lat=abc&lon=2\n\n", 0);
	expect_400("GET /?id=1&lat=nan&lon=2\n\n", 0);
	expect_400("GET /?id=1&lat=1&lon=inf\n\n", 0);
	expect_400("GET /?id=1&lat=-inf&lon=2\n\n", 0);
	expect_400("GET /?id=1&lat=91&lon=2\n\n", 0);
	expect_400("GET /?id=1&lat=-90.5&lon=2\n\n", 0);
	expect_400("GET /?id=1&lat=1&lon=181\n\n", 0);
	expect_400("GET /?id=1&lat=1&lon=-180.0001\n\n", 0);
	expect_400("GET /?id=1&lat=1\n\n", 0);
	expect_400("GET /?id=1&lon=1\n\n", 0);
	expect_400("GET /?id=1&lat=%201&lon=2\n\n", 0);
	expect_400("GET /?id=1&lat=1&lon=2&timestamp=yesterday\n\n", 0);
	expect_400("GET /?id=1&lat=1&lon=2&timestamp=2024-02-30T00:00:00Z\n\n", 0);
	expect_400("GET /?id=1&timestamp=garbage\n\n", 0);   /* even on a heartbeat */
	expect_400("GET /?id=1&lat=1&lon=2&speed=fast\n\n", 0);
	expect_400("GET /?id=1&lat=1&lon=2&batt=full\n\n", 0);
	expect_400("GET /?id=1&location=12.5\n\n", 0);
	expect_400("GET /?id=1&location=95,10\n\n", 0);
	expect_400("POST /\nContent-Type: application/x-www-form-urlencoded\n\nid=1&lat=1", 0);
}
