/* proto_owntracks: every request of clients/owntracks.http, Overland's
 * "owntracks" mode (overland.http Example 3), the Dawarich path, and the
 * error cases of docs/design.md §2. Requests are written in the fuzz seed format
 * (fuzz/fuzz_req.h) so the tests replay them as the apps send them. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "test.h"
#include "test_decode.h"

#define NOW_MS INT64_C(1700000000123)

#define ot_run(raw, d) tdec_run(proto_owntracks.decode, (raw), strlen(raw), NOW_MS, (d))
#define ot_run_len(raw, len, d) tdec_run(proto_owntracks.decode, (raw), (len), NOW_MS, (d))
#define ot_attrs(f) tdec_fix_attrs(f)
#define ot_expect_400(raw, early) tdec_expect_400(proto_owntracks.decode, (raw), (early), NOW_MS)


static void ot_check_ok_empty(struct decode *d)
{
	CHECK_INT(d->status, 0);
	CHECK_INT(d->nfixes, 0);
	CHECK_INT(d->reply_status, 200);
	CHECK_STR(d->reply_type, "application/json");
	CHECK_STR(d->reply_body, "[]");
}

/* owntracks.http Example 1: Android, extended data, Basic auth. */
TEST(ot_example1_android_location)
{
	struct decode d;
	ot_run("POST /api/owntracks\n"
	       "Host: tracker.example.org\n"
	       "User-Agent: Owntracks-Android/gms/420502004\n"
	       "Content-Type: application/json; charset=utf-8\n"
	       "Authorization: Basic amFuZTpzZWNyZXQ=\n"
	       "X-Limit-U: jane\n"
	       "X-Limit-D: phone\n"
	       "\n"
	       "{\"_type\":\"location\",\"created_at\":1714558531,\"_id\":\"3b0e8f1a\",\"batt\":87,"
	       "\"bs\":1,\"acc\":5,\"vac\":3,\"lat\":52.520008,\"lon\":13.404954,\"alt\":44,"
	       "\"vel\":50,\"cog\":272,\"tst\":1714558530,\"m\":2,\"conn\":\"m\",\"tid\":\"ph\","
	       "\"topic\":\"owntracks/jane/phone\"}", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.reply_status, 200);
	CHECK_STR(d.reply_type, "application/json");
	CHECK_STR(d.reply_body, "[]");
	CHECK(d.reply_owned == NULL);
	CHECK(d.set_cookie == NULL);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "secret");
	CHECK_STR(d.user, "jane");
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		struct fix *f = &d.fixes[0];
		CHECK_DBL(f->lat, 52.520008);
		CHECK_DBL(f->lon, 13.404954);
		CHECK_INT(f->time_ms, INT64_C(1714558530000));
		CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
		CHECK_DBL(f->speed, 50 / 3.6);
		CHECK_DBL(f->speed, 13.888888888888889);
		CHECK_DBL(f->course, 272);
		CHECK_DBL(f->alt, 44);
		CHECK_DBL(f->acc, 5);
		CHECK_DBL(f->batt, 87);
		json_t *a = ot_attrs(f);
		CHECK_INT(json_object_size(a), 8);
		ATTR_INT(a, "created_at", 1714558531);
		ATTR_STR(a, "_id", "3b0e8f1a");
		ATTR_INT(a, "bs", 1);
		ATTR_INT(a, "vac", 3);
		ATTR_INT(a, "m", 2);
		ATTR_STR(a, "conn", "m");
		ATTR_STR(a, "tid", "ph");
		ATTR_STR(a, "topic", "owntracks/jane/phone");
		static const char *const mapped[] = {
			"_type", "lat", "lon", "tst", "vel", "cog", "alt", "acc", "batt"
		};
		for (size_t i = 0; i < sizeof mapped / sizeof mapped[0]; i++)
			ATTR_NONE(a, mapped[i]);
		json_decref(a);
	}
	decode_free(&d);
}

/* owntracks.http Example 2: the booklet's curl test (form content type, JSON
 * body), Recorder-style ?u=&d= which never select the device. */
TEST(ot_example2_booklet_curl)
{
	struct decode d;
	ot_run("POST /pub?u=jane&d=phone\n"
	       "Host: 127.0.0.1:8085\n"
	       "Content-Type: application/x-www-form-urlencoded\n"
	       "\n"
	       "{\"_type\":\"location\",\"t\":\"u\",\"batt\":11,\"lat\":48.856826,\"lon\":2.292713,"
	       "\"tid\":\"JJ\",\"tst\":1714558530,\"topic\":\"owntracks/jane/phone\"}", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.cred, CRED_NONE);
	CHECK(d.secret == NULL);
	CHECK(d.user == NULL);
	CHECK_STR(d.reply_body, "[]");
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		struct fix *f = &d.fixes[0];
		CHECK_DBL(f->lat, 48.856826);
		CHECK_DBL(f->lon, 2.292713);
		CHECK_INT(f->time_ms, INT64_C(1714558530000));
		CHECK_INT(f->has, FIX_BATT);
		CHECK_DBL(f->batt, 11);
		json_t *a = ot_attrs(f);
		CHECK_INT(json_object_size(a), 3);
		ATTR_STR(a, "t", "u");
		ATTR_STR(a, "tid", "JJ");
		ATTR_STR(a, "topic", "owntracks/jane/phone");
		json_decref(a);
	}
	decode_free(&d);
}

/* owntracks.http Example 3: a transition carries lat/lon/tst but is no fix. */
TEST(ot_example3_transition_not_a_fix)
{
	struct decode d;
	ot_run("POST /api/owntracks\n"
	       "Host: tracker.example.org\n"
	       "Content-Type: application/json; charset=utf-8\n"
	       "X-Limit-U: jane\n"
	       "X-Limit-D: phone\n"
	       "\n"
	       "{\"_type\":\"transition\",\"wtst\":1714000000,\"lat\":52.520008,\"lon\":13.404954,"
	       "\"tst\":1714558530,\"acc\":12,\"tid\":\"ph\",\"event\":\"leave\",\"desc\":\"Home\","
	       "\"t\":\"c\",\"rid\":\"6da9cf\"}", &d);
	ot_check_ok_empty(&d);
	CHECK_INT(d.cred, CRED_NONE);
	decode_free(&d);
}

/* owntracks.http Example 4: encrypted payload. */
TEST(ot_example4_encrypted)
{
	struct decode d;
	ot_run("POST /api/owntracks\n"
	       "Host: tracker.example.org\n"
	       "Content-Type: application/json; charset=utf-8\n"
	       "Authorization: Basic amFuZTpzZWNyZXQ=\n"
	       "\n"
	       "{\"_type\":\"encrypted\",\"data\":\"TestCipherText\"}", &d);
	ot_check_ok_empty(&d);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "secret");
	decode_free(&d);
}

/* overland.http Example 3: Overland's "owntracks" mode, tst counted from
 * 2001-01-01; its raw "Basic TOKEN:" header. */
TEST(ot_overland_owntracks_mode)
{
	struct decode d;
	ot_run("POST /api/owntracks\n"
	       "Host: tracker.example.org\n"
	       "Content-Type: application/json\n"
	       "Authorization: Basic Zq3_k9Lm-Xw7Yp2RtV8sAb4:\n"
	       "\n"
	       "{\"_type\":\"location\",\"lat\":52.520008,\"lon\":13.404954,\"tst\":736251330,"
	       "\"acc\":5,\"batt\":87,\"topic\":\"owntracks/pixel-ios\"}", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "Zq3_k9Lm-Xw7Yp2RtV8sAb4");
	CHECK(d.user == NULL);
	CHECK_STR(d.reply_body, "[]");
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		struct fix *f = &d.fixes[0];
		CHECK_INT(f->time_ms, INT64_C(1714558530000));
		CHECK_DBL(f->lat, 52.520008);
		CHECK_DBL(f->lon, 13.404954);
		CHECK_INT(f->has, FIX_ACC | FIX_BATT);
		CHECK_DBL(f->acc, 5);
		CHECK_DBL(f->batt, 87);
		json_t *a = ot_attrs(f);
		CHECK_INT(json_object_size(a), 1);
		ATTR_STR(a, "topic", "owntracks/pixel-ios");
		json_decref(a);
	}
	decode_free(&d);
}

/* Dawarich-compatible path: ?api_key= and Bearer. */
TEST(ot_dawarich_points_api_key_and_bearer)
{
	struct decode d;
	ot_run("POST /api/v1/owntracks/points?api_key=KEY_abcdefghijklmnopqrst\n"
	       "Content-Type: application/json\n"
	       "\n"
	       "{\"_type\":\"location\",\"lat\":1.5,\"lon\":-2.25,\"tst\":1714558530}", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "KEY_abcdefghijklmnopqrst");
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		CHECK(d.fixes[0].attrs == NULL);
		CHECK_INT(d.fixes[0].has, 0);
		CHECK_DBL(d.fixes[0].lon, -2.25);
	}
	decode_free(&d);

	ot_run("POST /api/v1/owntracks/points\n"
	       "Authorization: Bearer tok_Bearer-123456789012\n"
	       "\n"
	       "{\"_type\":\"location\",\"lat\":1.5,\"lon\":-2.25,\"tst\":1714558530}", &d);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "tok_Bearer-123456789012");
	CHECK(d.user == NULL);
	CHECK_INT(d.nfixes, 1);
	decode_free(&d);
}

TEST(ot_credentials)
{
	struct decode d;
	static const char body[] = "\n\n{\"_type\":\"lwt\"}";
	char raw[512];

	/* ?token= */
	snprintf(raw, sizeof raw, "POST /owntracks?token=abc%%2Ddef%s", body);
	ot_run(raw, &d);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "abc-def");
	decode_free(&d);

	/* A header wins over the query. */
	snprintf(raw, sizeof raw, "POST /owntracks?token=query\nAuthorization: Bearer header%s", body);
	ot_run(raw, &d);
	CHECK_STR(d.secret, "header");
	decode_free(&d);

	/* base64("TOKEN:"): user part is the token when the password is empty. */
	snprintf(raw, sizeof raw, "POST /owntracks\nAuthorization: Basic VE9LRU46%s", body);
	ot_run(raw, &d);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "TOKEN");
	decode_free(&d);

	/* Raw token without the colon (not base64 of "user:pass"). */
	snprintf(raw, sizeof raw, "POST /owntracks\nAuthorization: Basic abc_DEF-ghi%s", body);
	ot_run(raw, &d);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "abc_DEF-ghi");
	decode_free(&d);

	/* Lower-case scheme, user name kept. */
	snprintf(raw, sizeof raw, "POST /pub\nauthorization: basic amFuZTpzZWNyZXQ=%s", body);
	ot_run(raw, &d);
	CHECK_STR(d.secret, "secret");
	CHECK_STR(d.user, "jane");
	decode_free(&d);

	/* X-Limit-U/D and ?u=&d= are no credential. */
	snprintf(raw, sizeof raw, "POST /pub?u=jane&d=phone\nX-Limit-U: jane\nX-Limit-D: phone%s", body);
	ot_run(raw, &d);
	CHECK_INT(d.cred, CRED_NONE);
	CHECK(d.secret == NULL && d.user == NULL);
	decode_free(&d);

	/* Empty query token is no credential. */
	snprintf(raw, sizeof raw, "POST /pub?token=&api_key=%s", body);
	ot_run(raw, &d);
	CHECK_INT(d.cred, CRED_NONE);
	decode_free(&d);
}

/* A friend deleted: zero-length body. */
TEST(ot_empty_body)
{
	struct decode d;
	ot_run("POST /owntracks\nAuthorization: Basic amFuZTpzZWNyZXQ=\n\n", &d);
	ot_check_ok_empty(&d);
	CHECK_INT(d.cred, CRED_TOKEN);
	decode_free(&d);
	ot_run("POST /owntracks\n\n \r\n", &d);
	ot_check_ok_empty(&d);
	decode_free(&d);
}

TEST(ot_other_types_no_fix)
{
	static const char *const types[] = {
		"transition", "waypoint", "waypoints", "card", "status", "cmd", "lwt",
		"steps", "encrypted", "configuration", "beacon", "whatever", "",
	};
	struct decode d;
	char raw[512];
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		snprintf(raw, sizeof raw, "POST /owntracks\n\n{\"_type\":\"%s\",\"lat\":1,"
		         "\"lon\":2,\"tst\":1714558530}", types[i]);
		ot_run(raw, &d);
		ot_check_ok_empty(&d);
		decode_free(&d);
	}
	/* Missing or non-string _type. */
	ot_run("POST /owntracks\n\n{\"lat\":1,\"lon\":2,\"tst\":1714558530}", &d);
	ot_check_ok_empty(&d);
	decode_free(&d);
	ot_run("POST /owntracks\n\n{\"_type\":5,\"lat\":1,\"lon\":2,\"tst\":1714558530}", &d);
	ot_check_ok_empty(&d);
	decode_free(&d);
	/* Not even lat/lon checked on non-location types. */
	ot_run("POST /owntracks\n\n{\"_type\":\"waypoint\",\"lat\":91,\"lon\":\"x\"}", &d);
	ot_check_ok_empty(&d);
	decode_free(&d);
}

TEST(ot_zero_is_a_value)
{
	struct decode d;
	ot_run("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":0,\"lon\":0,\"tst\":1714558530,"
	       "\"vel\":0,\"cog\":0,\"alt\":0,\"acc\":0,\"batt\":0}", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		struct fix *f = &d.fixes[0];
		CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
		CHECK_DBL(f->speed, 0);
		CHECK_DBL(f->course, 0);
		CHECK_DBL(f->alt, 0);
		CHECK_DBL(f->lat, 0);
		CHECK(f->attrs == NULL);
	}
	decode_free(&d);
}

TEST(ot_time_rules)
{
	struct decode d;
	/* Missing tst: time of receipt. */
	ot_run("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":1,\"lon\":2}", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes)
		CHECK_INT(d.fixes[0].time_ms, NOW_MS);
	decode_free(&d);
	/* Fractional seconds, to the ms. */
	ot_run("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":1714558530.123}", &d);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes)
		CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530123));
	decode_free(&d);
	/* A numeric string is tolerated. */
	ot_run("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":\"1714558530\"}", &d);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes)
		CHECK_INT(d.fixes[0].time_ms, INT64_C(1714558530000));
	decode_free(&d);
	/* 2001-01-01 itself (tst 0 in Overland's owntracks mode). */
	ot_run("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":0}", &d);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes)
		CHECK_INT(d.fixes[0].time_ms, INT64_C(978307200000));
	decode_free(&d);
	/* Exactly 2001-01-01 in Unix seconds is not shifted. */
	ot_run("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":978307200}", &d);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes)
		CHECK_INT(d.fixes[0].time_ms, INT64_C(978307200000));
	decode_free(&d);
	/* Unreadable times: 400 after auth. */
	static const char *const bad[] = { "\"soon\"", "-1", "true", "1e300", "[1]", "null" };
	char raw[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(raw, sizeof raw, "POST /owntracks\n\n{\"_type\":\"location\",\"lat\":1,"
		         "\"lon\":2,\"tst\":%s}", bad[i]);
		ot_run(raw, &d);
		if (strcmp(bad[i], "null") == 0) {
			/* null is "no tst": time of receipt. */
			CHECK_INT(d.status, 0);
		} else {
			CHECK_INT(d.status, 400);
			CHECK_INT(d.early_error, 0);
			CHECK_INT(d.nfixes, 0);
		}
		decode_free(&d);
	}
}

TEST(ot_attributes_types)
{
	struct decode d;
	ot_run("POST /owntracks?api_key=K\n\n{\"_type\":\"location\",\"lat\":1,\"lon\":2,\"tst\":1714558530,"
	       "\"inregions\":[\"Home\",\"Work\"],\"inrids\":[],\"poi\":{\"a\":0.5,\"b\":[1,true]},"
	       "\"SSID\":\"Net \\\"x\\\"\",\"BSSID\":\"aa:bb\",\"p\":101.325,\"ratio\":0.87,"
	       "\"flag\":true,\"off\":false,\"gone\":null,\"token\":\"SECRET\",\"api_key\":\"SECRET\","
	       "\"vel\":\"fast\",\"n\":-7}", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		struct fix *f = &d.fixes[0];
		CHECK_INT(f->has, 0);
		CHECK(strstr(f->attrs, "SECRET") == NULL);
		/* Shortest round-trip numbers, never %.17g noise. */
		CHECK(strstr(f->attrs, "\"ratio\":0.87,") != NULL);
		CHECK(strstr(f->attrs, "\"p\":101.325") != NULL);
		CHECK(strstr(f->attrs, ", ") == NULL && strstr(f->attrs, "\": ") == NULL);
		json_t *a = ot_attrs(f);
		ATTR_STR(a, "inregions", "[\"Home\",\"Work\"]");
		ATTR_STR(a, "inrids", "[]");
		ATTR_STR(a, "poi", "{\"a\":0.5,\"b\":[1,true]}");
		ATTR_STR(a, "SSID", "Net \"x\"");
		ATTR_STR(a, "BSSID", "aa:bb");
		CHECK(json_is_real(json_object_get(a, "p")));
		CHECK_DBL(json_real_value(json_object_get(a, "p")), 101.325);
		CHECK(json_is_true(json_object_get(a, "flag")));
		CHECK(json_is_false(json_object_get(a, "off")));
		ATTR_NONE(a, "gone");
		ATTR_NONE(a, "token");
		ATTR_NONE(a, "api_key");
		ATTR_STR(a, "vel", "fast");       /* not a number: kept, not mapped */
		ATTR_INT(a, "n", -7);
		ATTR_NONE(a, "lat");
		ATTR_NONE(a, "_type");
		json_decref(a);
	}
	decode_free(&d);
}

TEST(ot_numeric_strings_and_unicode)
{
	struct decode d;
	ot_run("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":\"52.5\",\"lon\":\"-1.0E-4\","
	       "\"tst\":1714558530,\"batt\":\"87\",\"desc\":\"Caf\\u00e9 \xe2\x82\xac\"}", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		CHECK_DBL(d.fixes[0].lat, 52.5);
		CHECK_DBL(d.fixes[0].lon, -0.0001);
		CHECK_INT(d.fixes[0].has, FIX_BATT);
		CHECK_DBL(d.fixes[0].batt, 87);
		json_t *a = ot_attrs(&d.fixes[0]);
		ATTR_STR(a, "desc", "Caf\xc3\xa9 \xe2\x82\xac");
		json_decref(a);
	}
	decode_free(&d);
}

TEST(ot_errors_early)
{
	ot_expect_400("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":1,", 1);
	ot_expect_400("POST /owntracks\n\n{\"_type\":\"location\"}}", 1);
	ot_expect_400("POST /owntracks\n\n_type=location&lat=1&lon=2", 1);
	ot_expect_400("POST /owntracks\n\n[{\"_type\":\"location\",\"lat\":1,\"lon\":2}]", 1);
	ot_expect_400("POST /owntracks\n\n\"location\"", 1);
	ot_expect_400("POST /owntracks\n\n42", 1);
	ot_expect_400("POST /owntracks\n\nnull", 1);
	/* Invalid UTF-8 inside a string. */
	ot_expect_400("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":1,\"lon\":2,"
	              "\"tid\":\"\xff\xfe\"}", 1);
	ot_expect_400("POST /owntracks\n\n{\"_type\":\"location\",\"desc\":\"\xc3\x28\"}", 1);
	/* NUL inside the body. */
	struct decode d;
	static const char nul[] = "POST /owntracks\n\n{\"_type\":\"location\",\"a\":\"x\0y\"}";
	ot_run_len(nul, sizeof nul - 1, &d);
	CHECK_INT(d.status, 400);
	CHECK_INT(d.early_error, 1);
	decode_free(&d);
}

TEST(ot_errors_position)
{
	static const char *const bad[] = {
		"\"lat\":91,\"lon\":2", "\"lat\":-90.0001,\"lon\":2", "\"lat\":1,\"lon\":180.5",
		"\"lat\":1,\"lon\":-181", "\"lat\":\"abc\",\"lon\":2", "\"lat\":\"\",\"lon\":2",
		"\"lat\":null,\"lon\":2", "\"lat\":true,\"lon\":2", "\"lat\":[1],\"lon\":2",
		"\"lat\":\"nan\",\"lon\":2", "\"lat\":\"inf\",\"lon\":2", "\"lat\":1",
		"\"lon\":2", "\"lat\":1e400,\"lon\":2",
	};
	char raw[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(raw, sizeof raw, "POST /owntracks\n\n{\"_type\":\"location\",%s,"
		         "\"tst\":1714558530}", bad[i]);
		/* 1e400 does not parse as a JSON number at all: early. */
		ot_expect_400(raw, strstr(bad[i], "1e400") != NULL);
	}
	/* Boundaries are valid. */
	struct decode d;
	ot_run("POST /owntracks\n\n{\"_type\":\"location\",\"lat\":-90,\"lon\":180,\"tst\":1}", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.nfixes, 1);
	decode_free(&d);
	/* A location without any position is a heartbeat: no fix, 2xx. */
	ot_run("POST /owntracks\n\n{\"_type\":\"location\",\"tst\":1714558530,\"batt\":50}", &d);
	ot_check_ok_empty(&d);
	decode_free(&d);
}
