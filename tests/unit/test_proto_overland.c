/* proto_overland: every request of clients/overland.http (Example 3, the
 * "owntracks" mode, is tested in test_proto_owntracks.c), the Dawarich
 * senders of clients/README.md (GPSLogger, Home Assistant), and the error
 * cases of docs/design.md §2. Requests use the fuzz seed format. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "test.h"
#include "test_decode.h"

#define NOW_MS INT64_C(1700000000123)

#define ov_run(raw, d) tdec_run(proto_overland.decode, (raw), strlen(raw), NOW_MS, (d))
#define ov_attrs(f) tdec_fix_attrs(f)
#define ov_expect_400(raw, early) tdec_expect_400(proto_overland.decode, (raw), (early), NOW_MS)


static void ov_check_reply(const struct decode *d)
{
	CHECK_INT(d->status, 0);
	CHECK_INT(d->reply_status, 200);
	CHECK_STR(d->reply_type, "application/json");
	CHECK_STR(d->reply_body, "{\"result\":\"ok\"}");
	CHECK(d->reply_owned == NULL);
}

/* Keys that are read into the fix must not be repeated as attributes. */
static void ov_no_mapped_attrs(json_t *a)
{
	static const char *const mapped[] = {
		"timestamp", "speed", "course", "altitude", "horizontal_accuracy", "battery_level",
	};
	for (size_t i = 0; i < sizeof mapped / sizeof mapped[0]; i++)
		ATTR_NONE(a, mapped[i]);
}

/* overland.http Example 1: a normal batch of two points. */
TEST(ov_example1_batch)
{
	struct decode d;
	ov_run("POST /api/overland?token=abc\n"
	       "Host: tracker.example.org\n"
	       "Content-Type: application/json\n"
	       "Accept: application/json\n"
	       "Authorization: Bearer xxxxxx\n"
	       "\n"
	       "{\"locations\":[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":"
	       "[13.404954,52.520008]},\"properties\":{\"timestamp\":\"2024-05-01T10:15:30Z\","
	       "\"altitude\":44,\"speed\":14,\"course\":272,\"horizontal_accuracy\":5,"
	       "\"vertical_accuracy\":3,\"speed_accuracy\":0.5,\"course_accuracy\":10.2,"
	       "\"motion\":[\"driving\"],\"battery_state\":\"unplugged\",\"battery_level\":0.87,"
	       "\"wifi\":\"\",\"device_id\":\"pixel-ios\"}},{\"type\":\"Feature\",\"geometry\":"
	       "{\"type\":\"Point\",\"coordinates\":[13.405121,52.520101]},\"properties\":"
	       "{\"timestamp\":\"2024-05-01T10:15:31Z\",\"altitude\":44,\"speed\":14,\"course\":271,"
	       "\"horizontal_accuracy\":5,\"vertical_accuracy\":3,\"speed_accuracy\":0.5,"
	       "\"course_accuracy\":9.8,\"motion\":[\"driving\"],\"battery_state\":\"unplugged\","
	       "\"battery_level\":0.87,\"wifi\":\"\",\"device_id\":\"pixel-ios\"}}]}", &d);
	ov_check_reply(&d);
	/* The Authorization header wins over ?token=. */
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "xxxxxx");
	CHECK(d.user == NULL);
	CHECK_INT(d.nfixes, 2);
	if (d.nfixes == 2) {
		struct fix *f = &d.fixes[0];
		CHECK_DBL(f->lon, 13.404954);
		CHECK_DBL(f->lat, 52.520008);
		CHECK_INT(f->time_ms, INT64_C(1714558530000));
		CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
		CHECK_DBL(f->alt, 44);
		CHECK_DBL(f->speed, 14);
		CHECK_DBL(f->course, 272);
		CHECK_DBL(f->acc, 5);
		CHECK_DBL(f->batt, 87);
		json_t *a = ov_attrs(f);
		CHECK_INT(json_object_size(a), 7);
		ATTR_INT(a, "vertical_accuracy", 3);
		ATTR_REAL(a, "speed_accuracy", 0.5);
		ATTR_REAL(a, "course_accuracy", 10.2);
		ATTR_STR(a, "motion", "[\"driving\"]");
		ATTR_STR(a, "battery_state", "unplugged");
		ATTR_STR(a, "wifi", "");
		ATTR_STR(a, "device_id", "pixel-ios");
		ov_no_mapped_attrs(a);
		json_decref(a);
		CHECK(strstr(f->attrs, "\"course_accuracy\":10.2") != NULL);

		f = &d.fixes[1];
		CHECK_DBL(f->lon, 13.405121);
		CHECK_DBL(f->lat, 52.520101);
		CHECK_INT(f->time_ms, INT64_C(1714558531000));
		CHECK_DBL(f->course, 271);
		a = ov_attrs(f);
		ATTR_REAL(a, "course_accuracy", 9.8);
		json_decref(a);
	}
	decode_free(&d);
}

/* overland.http Example 2: backlog with a trip summary and "current". */
TEST(ov_example2_trip_and_current)
{
	struct decode d;
	ov_run("POST /api/overland\n"
	       "Host: tracker.example.org\n"
	       "Content-Type: application/json\n"
	       "Authorization: Bearer xxxxxx\n"
	       "\n"
	       "{\"locations\":[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":"
	       "[13.404954,52.520008]},\"properties\":{\"timestamp\":\"2024-05-01T10:15:30Z\","
	       "\"altitude\":44,\"speed\":14,\"course\":272,\"horizontal_accuracy\":5,"
	       "\"vertical_accuracy\":3,\"speed_accuracy\":0.5,\"course_accuracy\":10.2,"
	       "\"motion\":[\"driving\"],\"battery_state\":\"unplugged\",\"battery_level\":0.87,"
	       "\"wifi\":\"\",\"trip_id\":\"2024-05-01T10:00:00Z\"}},{\"type\":\"Feature\","
	       "\"geometry\":{\"type\":\"Point\",\"coordinates\":[13.41,52.52]},\"properties\":"
	       "{\"timestamp\":\"2024-05-01T10:40:00Z\",\"type\":\"trip\",\"mode\":\"car\","
	       "\"start\":\"2024-05-01T10:00:00Z\",\"end\":\"2024-05-01T10:40:00Z\","
	       "\"start_location\":null,\"end_location\":null,\"duration\":2400,\"distance\":18250,"
	       "\"stopped_automatically\":false,\"steps\":0,\"battery_state\":\"unplugged\","
	       "\"battery_level\":0.85,\"wifi\":\"\"}}],\"current\":{\"type\":\"Feature\","
	       "\"geometry\":{\"type\":\"Point\",\"coordinates\":[13.45,52.51]},\"properties\":"
	       "{\"timestamp\":\"2024-05-01T12:00:00Z\",\"altitude\":40,\"speed\":0,\"course\":-1,"
	       "\"horizontal_accuracy\":8,\"vertical_accuracy\":4,\"speed_accuracy\":-1,"
	       "\"course_accuracy\":-1,\"motion\":[\"stationary\"],\"battery_state\":\"charging\","
	       "\"battery_level\":0.6,\"wifi\":\"HomeNet\"}}}", &d);
	ov_check_reply(&d);
	CHECK_STR(d.secret, "xxxxxx");
	CHECK_INT(d.nfixes, 2);      /* the trip summary is not a fix */
	if (d.nfixes == 2) {
		struct fix *f = &d.fixes[0];
		CHECK_INT(f->time_ms, INT64_C(1714558530000));
		json_t *a = ov_attrs(f);
		ATTR_STR(a, "trip_id", "2024-05-01T10:00:00Z");
		json_decref(a);

		f = &d.fixes[1];           /* current, last */
		CHECK_DBL(f->lon, 13.45);
		CHECK_DBL(f->lat, 52.51);
		CHECK_INT(f->time_ms, INT64_C(1714564800000));
		/* speed 0 is a value; course -1 is unknown. */
		CHECK_INT(f->has, FIX_SPEED | FIX_ALT | FIX_ACC | FIX_BATT);
		CHECK_DBL(f->speed, 0);
		CHECK_DBL(f->alt, 40);
		CHECK_DBL(f->acc, 8);
		CHECK_DBL(f->batt, 60);
		a = ov_attrs(f);
		CHECK_INT(json_object_size(a), 4);
		ATTR_INT(a, "vertical_accuracy", 4);
		ATTR_NONE(a, "speed_accuracy");
		ATTR_NONE(a, "course_accuracy");
		ATTR_NONE(a, "course");
		ATTR_STR(a, "motion", "[\"stationary\"]");
		ATTR_STR(a, "battery_state", "charging");
		ATTR_STR(a, "wifi", "HomeNet");
		ov_no_mapped_attrs(a);
		json_decref(a);
	}
	decode_free(&d);
}

/* GPSLogger's Dawarich sender (DawarichWorker / DawarichBatchLocation):
 * ?api_key=, local time with offset and ms, battery_level as a percent. */
TEST(ov_dawarich_gpslogger)
{
	struct decode d;
	ov_run("POST /api/v1/overland/batches?api_key=GpsL_0123456789abcdefghij\n"
	       "Content-Type: application/json; charset=utf-8\n"
	       "\n"
	       "{\"locations\":[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
	       "\"coordinates\":[13.404954,52.520008]},\"properties\":{\"timestamp\":"
	       "\"2024-05-01T12:15:30.000+02:00\",\"altitude\":43.7,\"speed\":13.9,"
	       "\"horizontal_accuracy\":4.8,\"vertical_accuracy\":7.2,\"activity\":\"unknown\","
	       "\"desired_accuracy\":0,\"deffered\":0,\"significant_change\":\"disabled\","
	       "\"locations_in_payload\":1,\"device_id\":\"pixel\",\"wifi\":\"unknown\","
	       "\"battery_state\":\"charging\",\"battery_level\":87}},{\"type\":\"Feature\","
	       "\"geometry\":{\"type\":\"Point\",\"coordinates\":[13.405,52.5201]},\"properties\":"
	       "{\"timestamp\":\"2024-05-01T12:15:35.250+02:00\",\"altitude\":44.0,\"speed\":0.0,"
	       "\"horizontal_accuracy\":3.9,\"battery_state\":\"unplugged\",\"battery_level\":86}}]}",
	       &d);
	ov_check_reply(&d);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "GpsL_0123456789abcdefghij");
	CHECK_INT(d.nfixes, 2);
	if (d.nfixes == 2) {
		struct fix *f = &d.fixes[0];
		CHECK_INT(f->time_ms, INT64_C(1714558530000));
		CHECK_DBL(f->lat, 52.520008);
		CHECK_DBL(f->lon, 13.404954);
		CHECK_INT(f->has, FIX_SPEED | FIX_ALT | FIX_ACC | FIX_BATT);
		CHECK_DBL(f->alt, 43.7);
		CHECK_DBL(f->speed, 13.9);
		CHECK_DBL(f->acc, 4.8);
		CHECK_DBL(f->batt, 87);
		json_t *a = ov_attrs(f);
		ATTR_REAL(a, "vertical_accuracy", 7.2);
		ATTR_STR(a, "activity", "unknown");
		ATTR_INT(a, "desired_accuracy", 0);
		ATTR_INT(a, "deffered", 0);
		ATTR_STR(a, "significant_change", "disabled");
		ATTR_INT(a, "locations_in_payload", 1);
		ATTR_STR(a, "device_id", "pixel");
		ov_no_mapped_attrs(a);
		json_decref(a);
		f = &d.fixes[1];
		CHECK_INT(f->time_ms, INT64_C(1714558535250));
		CHECK_DBL(f->speed, 0);
		CHECK(f->has & FIX_SPEED);
		CHECK_DBL(f->batt, 86);
	}
	decode_free(&d);
}

/* Home Assistant's Dawarich integration (dawarich-api add_one_point):
 * Bearer, isoformat() with microseconds and offset, 0 for unknown. */
TEST(ov_dawarich_home_assistant)
{
	struct decode d;
	ov_run("POST /api/v1/overland/batches\n"
	       "Content-Type: application/json\n"
	       "Accept: application/json\n"
	       "Authorization: Bearer HAss_0123456789abcdefghij\n"
	       "\n"
	       "{\"locations\": [{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", "
	       "\"coordinates\": [13.404954, 52.520008]}, \"properties\": {\"timestamp\": "
	       "\"2024-05-01T12:15:30.123456+02:00\", \"altitude\": 0, \"speed\": 0, "
	       "\"horizontal_accuracy\": 0, \"vertical_accuracy\": 0, \"motion\": [], "
	       "\"pauses\": false, \"activity\": \"unknown\", \"desired_accuracy\": 0, "
	       "\"deferred\": 0, \"significant_change\": \"unknown\", \"locations_in_payload\": 1, "
	       "\"device_id\": \"device_tracker.phone\", \"wifi\": \"unknown\", "
	       "\"battery_state\": \"unknown\", \"battery_level\": 55}}]}", &d);
	ov_check_reply(&d);
	CHECK_STR(d.secret, "HAss_0123456789abcdefghij");
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		struct fix *f = &d.fixes[0];
		CHECK_INT(f->time_ms, INT64_C(1714558530123));
		CHECK_INT(f->has, FIX_SPEED | FIX_ALT | FIX_ACC | FIX_BATT);
		CHECK_DBL(f->alt, 0);
		CHECK_DBL(f->speed, 0);
		CHECK_DBL(f->acc, 0);
		CHECK_DBL(f->batt, 55);
		json_t *a = ov_attrs(f);
		ATTR_STR(a, "motion", "[]");
		CHECK(json_is_false(json_object_get(a, "pauses")));
		ATTR_INT(a, "vertical_accuracy", 0);
		ATTR_STR(a, "device_id", "device_tracker.phone");
		ov_no_mapped_attrs(a);
		json_decref(a);
	}
	decode_free(&d);
}

TEST(ov_battery_and_sentinels)
{
	static const struct { const char *in; int has; double want; } cases[] = {
		{ "0.87", 1, 87 }, { "0.58", 1, 58 }, { "1", 1, 100 }, { "1.0", 1, 100 },
		{ "0", 1, 0 }, { "0.05", 1, 5 }, { "87", 1, 87 }, { "100", 1, 100 },
		{ "-1", 0, 0 }, { "-1.0", 0, 0 },
	};
	char raw[512];
	struct decode d;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(raw, sizeof raw, "POST /overland\n\n{\"locations\":[{\"geometry\":"
		         "{\"coordinates\":[1,2]},\"properties\":{\"timestamp\":\"2024-05-01T10:15:30Z\","
		         "\"battery_level\":%s}}]}", cases[i].in);
		ov_run(raw, &d);
		CHECK_INT(d.status, 0);
		CHECK_INT(d.nfixes, 1);
		if (d.nfixes == 1) {
			CHECK_INT(!!(d.fixes[0].has & FIX_BATT), cases[i].has);
			if (cases[i].has)
				CHECK(d.fixes[0].batt == cases[i].want);   /* exact */
			CHECK(d.fixes[0].attrs == NULL);
		}
		decode_free(&d);
	}
	/* -1 for speed, course, horizontal_accuracy: unknown, not stored at all. */
	ov_run("POST /overland\n\n{\"locations\":[{\"geometry\":{\"coordinates\":[1,2]},"
	       "\"properties\":{\"timestamp\":\"2024-05-01T10:15:30Z\",\"speed\":-1,\"course\":-1,"
	       "\"horizontal_accuracy\":-1,\"vertical_accuracy\":-1,\"speed_accuracy\":-1.0,"
	       "\"course_accuracy\":-1,\"altitude\":-1}}]}", &d);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		CHECK_INT(d.fixes[0].has, FIX_ALT);   /* altitude -1 m is a real altitude */
		CHECK_DBL(d.fixes[0].alt, -1);
		CHECK(d.fixes[0].attrs == NULL);
	}
	decode_free(&d);
}

TEST(ov_non_position_features_skipped)
{
	struct decode d;
	ov_run("POST /overland\nAuthorization: Bearer t\n\n{\"locations\":["
	       /* visit */
	       "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},"
	       "\"properties\":{\"action\":\"visit\",\"arrival_date\":\"2024-05-01T10:00:00Z\","
	       "\"departure_date\":null}},"
	       /* log action without geometry */
	       "{\"type\":\"Feature\",\"properties\":{\"action\":\"pause\",\"timestamp\":"
	       "\"2024-05-01T10:00:00Z\"}},"
	       /* null geometry, null coordinates, other geometry type */
	       "{\"type\":\"Feature\",\"geometry\":null,\"properties\":{}},"
	       "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":null}},"
	       "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\"}},"
	       "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
	       "[[1,2],[3,4]]}},"
	       /* trip summary, even with an invalid position */
	       "{\"type\":\"Feature\",\"geometry\":{\"coordinates\":[500,2]},\"properties\":"
	       "{\"type\":\"trip\",\"timestamp\":\"garbage\"}}"
	       "],\"current\":{\"properties\":{\"action\":\"visit\"}},\"trip\":{\"mode\":\"car\"}}", &d);
	ov_check_reply(&d);
	CHECK_INT(d.nfixes, 0);
	decode_free(&d);

	/* Empty batch, null current. */
	ov_run("POST /overland\n\n{\"locations\":[],\"current\":null}", &d);
	ov_check_reply(&d);
	CHECK_INT(d.nfixes, 0);
	CHECK_INT(d.cred, CRED_NONE);
	decode_free(&d);
}

TEST(ov_time_and_geometry_variants)
{
	struct decode d;
	ov_run("POST /overland?token=qtok\n\n{\"locations\":["
	       /* no timestamp: receipt time */
	       "{\"geometry\":{\"coordinates\":[-0.5,-45.25]},\"properties\":{\"speed\":3}},"
	       /* no properties at all */
	       "{\"geometry\":{\"coordinates\":[1,2]}},"
	       /* offset without colon, numeric epoch seconds, epoch ms */
	       "{\"geometry\":{\"coordinates\":[1,2]},\"properties\":{\"timestamp\":"
	       "\"2024-05-01T03:15:30-0700\"}},"
	       "{\"geometry\":{\"coordinates\":[1,2]},\"properties\":{\"timestamp\":1714558530}},"
	       "{\"geometry\":{\"coordinates\":[1,2]},\"properties\":{\"timestamp\":1714558530250}},"
	       /* third coordinate is the altitude when there is no property */
	       "{\"geometry\":{\"coordinates\":[1,2,123.5]},\"properties\":{\"timestamp\":"
	       "\"2024-05-01T10:15:30Z\"}},"
	       "{\"geometry\":{\"coordinates\":[1,2,123.5]},\"properties\":{\"timestamp\":"
	       "\"2024-05-01T10:15:30Z\",\"altitude\":7}}"
	       "]}", &d);
	ov_check_reply(&d);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "qtok");
	CHECK_INT(d.nfixes, 7);
	if (d.nfixes == 7) {
		CHECK_INT(d.fixes[0].time_ms, NOW_MS);
		CHECK_DBL(d.fixes[0].lon, -0.5);
		CHECK_DBL(d.fixes[0].lat, -45.25);
		CHECK_INT(d.fixes[0].has, FIX_SPEED);
		CHECK_INT(d.fixes[1].time_ms, NOW_MS);
		CHECK(d.fixes[1].attrs == NULL);
		CHECK_INT(d.fixes[2].time_ms, INT64_C(1714558530000));
		CHECK_INT(d.fixes[3].time_ms, INT64_C(1714558530000));
		CHECK_INT(d.fixes[4].time_ms, INT64_C(1714558530250));
		CHECK_INT(d.fixes[5].has, FIX_ALT);
		CHECK_DBL(d.fixes[5].alt, 123.5);
		CHECK_DBL(d.fixes[6].alt, 7);
	}
	decode_free(&d);
}

TEST(ov_credentials)
{
	struct decode d;
	ov_run("POST /overland?api_key=ak\n\n{\"locations\":[]}", &d);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "ak");
	decode_free(&d);
	ov_run("POST /overland?token=t1&api_key=ak\n\n{\"locations\":[]}", &d);
	CHECK_STR(d.secret, "t1");
	decode_free(&d);
	/* device_id never selects the device. */
	ov_run("POST /overland\n\n{\"locations\":[{\"geometry\":{\"coordinates\":[1,2]},"
	       "\"properties\":{\"device_id\":\"other\",\"token\":\"T\",\"api_key\":\"A\"}}]}", &d);
	CHECK_INT(d.cred, CRED_NONE);
	CHECK(d.secret == NULL);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1)
		CHECK_STR(d.fixes[0].attrs, "{\"device_id\":\"other\"}");
	decode_free(&d);
	/* Overland's owntracks-mode header on an Overland path too. */
	ov_run("POST /overland\nAuthorization: Basic tok_en-123:\n\n{\"locations\":[]}", &d);
	CHECK_STR(d.secret, "tok_en-123");
	decode_free(&d);
}

TEST(ov_errors_early)
{
	ov_expect_400("POST /overland\n\n", 1);
	ov_expect_400("POST /overland\n\n{\"locations\":[", 1);
	ov_expect_400("POST /overland\n\nlocations=1", 1);
	ov_expect_400("POST /overland\n\n[]", 1);
	ov_expect_400("POST /overland\n\n{}", 1);
	ov_expect_400("POST /overland\n\n{\"locations\":{}}", 1);
	ov_expect_400("POST /overland\n\n{\"locations\":\"[]\"}", 1);
	ov_expect_400("POST /overland\n\n{\"locations\":null}", 1);
	ov_expect_400("POST /overland\n\n{\"locations\":[1]}", 1);
	ov_expect_400("POST /overland\n\n{\"locations\":[{\"properties\":[]}]}", 1);
	ov_expect_400("POST /overland\n\n{\"locations\":[],\"current\":\"x\"}", 1);
	ov_expect_400("POST /overland\n\n{\"locations\":[{\"properties\":{\"wifi\":\"\xff\"}}]}", 1);
}

TEST(ov_errors_whole_batch)
{
	static const char *const bad[] = {
		"{\"coordinates\":[2,91]}",                /* lat 91 */
		"{\"coordinates\":[-180.1,0]}",
		"{\"coordinates\":[1]}",                   /* only one of lon/lat */
		"{\"coordinates\":[]}",
		"{\"coordinates\":[\"a\",1]}",
		"{\"coordinates\":[1,null]}",
		"{\"coordinates\":\"1,2\"}",
		"{\"type\":\"Point\",\"coordinates\":[1,{}]}",
	};
	char raw[512];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		/* A valid feature first: it must be dropped too. */
		snprintf(raw, sizeof raw, "POST /overland\n\n{\"locations\":[{\"geometry\":"
		         "{\"coordinates\":[1,2]}},{\"geometry\":%s}]}", bad[i]);
		ov_expect_400(raw, 0);
	}
	static const char *const badtime[] = {
		"\"yesterday\"", "\"2024-13-01T00:00:00Z\"", "\"\"", "true", "[]", "-5", "1e300",
	};
	for (size_t i = 0; i < sizeof badtime / sizeof badtime[0]; i++) {
		snprintf(raw, sizeof raw, "POST /overland\n\n{\"locations\":[{\"geometry\":"
		         "{\"coordinates\":[1,2]},\"properties\":{\"timestamp\":%s}}]}", badtime[i]);
		ov_expect_400(raw, 0);
	}
	/* A bad "current" spoils the batch as well. */
	ov_expect_400("POST /overland\n\n{\"locations\":[{\"geometry\":{\"coordinates\":[1,2]}}],"
	              "\"current\":{\"geometry\":{\"coordinates\":[1,95]}}}", 0);
}
