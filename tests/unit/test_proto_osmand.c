/* /osmand decoder: every request of clients/osmand.http, mintrac's own
 * template (docs/design.md "Field names"), aliases and errors. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "test.h"

#include "test_decode.h"

#define NOW INT64_C(1700000000000)

#define run(d, raw) tdec_run(proto_osmand.decode, (raw), strlen(raw), NOW, (d))
#define attrs(d, i) tdec_attrs((d), (i))
#define expect_400(raw) tdec_expect_400(proto_osmand.decode, (raw), 0, NOW)

TEST(osmand_example1)
{
	struct decode d;
	CHECK_INT(run(&d, "GET /api/osmand?id=pixel7&lat=52.520008&lon=13.404954&timestamp=1714558530123&hdop=4.8&altitude=43.7&speed=13.9&bearing=271.5&eta=0&etfa=0&eda=0&edfa=0&batproc=87\n"
	                  "Host: tracker.example.org\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240205.004)\nConnection: Keep-Alive\nAccept-Encoding: gzip\n\n"), 0);
	CHECK_INT(d.reply_status, 200);
	CHECK(d.reply_type == NULL && d.reply_body == NULL);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, "pixel7");
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530123));
	CHECK_DBL(f->lat, 52.520008);
	CHECK_DBL(f->lon, 13.404954);
	CHECK_DBL(f->acc, 4.8);        /* hdop is accuracy in metres */
	CHECK_DBL(f->alt, 43.7);
	CHECK_DBL(f->speed, 13.9);     /* m/s, unchanged */
	CHECK_DBL(f->course, 271.5);
	CHECK_DBL(f->batt, 87);
	CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	json_t *a = attrs(&d, 0);
	CHECK_INT(json_object_size(a), 4);
	CHECK(json_is_integer(json_object_get(a, "eta")));
	CHECK_INT(json_integer_value(json_object_get(a, "eta")), 0);
	CHECK_INT(json_integer_value(json_object_get(a, "etfa")), 0);
	CHECK_INT(json_integer_value(json_object_get(a, "eda")), 0);
	CHECK_INT(json_integer_value(json_object_get(a, "edfa")), 0);
	CHECK(!json_object_get(a, "id") && !json_object_get(a, "hdop"));
	json_decref(a);
	decode_free(&d);
}

TEST(osmand_example2_on_osmand_path)
{
	struct decode d;
	CHECK_INT(run(&d, "GET /osmand?id=666&lat=52.520008&lon=13.404954&timestamp=1714558530123&hdop=4.8&altitude=43.7&speed=13.9&bearing=271.5\n\n"), 0);
	CHECK_STR(d.secret, "666");
	CHECK_INT(d.nfixes, 1);
	CHECK_DBL(d.fixes[0].speed, 13.9);
	CHECK(d.fixes[0].attrs == NULL);
	decode_free(&d);
}

TEST(osmand_example3_navigation)
{
	struct decode d;
	CHECK_INT(run(&d, "GET /api/osmand?id=pixel7&lat=52.520008&lon=13.404954&timestamp=1714558530123&hdop=3.9&altitude=44.0&speed=0.0&bearing=0.0&eta=1714560330123&etfa=1714559430123&eda=18250&edfa=7400&batproc=86\n"
	                  "Host: tracker.example.org\n\n"), 0);
	CHECK_INT(d.nfixes, 1);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530123));   /* never eta/etfa */
	CHECK_DBL(f->acc, 3.9);
	CHECK_DBL(f->alt, 44);
	CHECK_DBL(f->speed, 0);
	CHECK_DBL(f->course, 0);
	CHECK_DBL(f->batt, 86);
	CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	json_t *a = attrs(&d, 0);
	CHECK_INT(json_integer_value(json_object_get(a, "eta")), INT64_C(1714560330123));
	CHECK_INT(json_integer_value(json_object_get(a, "etfa")), INT64_C(1714559430123));
	CHECK_INT(json_integer_value(json_object_get(a, "eda")), 18250);
	CHECK_INT(json_integer_value(json_object_get(a, "edfa")), 7400);
	json_decref(a);
	decode_free(&d);
}

TEST(osmand_mintrac_template)
{
	struct decode d;
	const char *tok = "Ab3_xYz-0123456789abcdefgh";
	char raw[512];
	snprintf(raw, sizeof raw, "GET /osmand?token=%s&lat=52.520008&lon=13.404954&timestamp=1714558530123&hdop=4.8&altitude=43.7&speed=13.9&bearing=271.5&eta=0&etfa=0&eda=0&edfa=0&batproc=87\n\n", tok);
	CHECK_INT(run(&d, raw), 0);
	CHECK_INT(d.cred, CRED_TOKEN);
	CHECK_STR(d.secret, tok);
	CHECK(d.user == NULL);
	CHECK_INT(d.nfixes, 1);
	CHECK(!strstr(d.fixes[0].attrs, tok));
	CHECK(!strstr(d.fixes[0].attrs, "token"));
	decode_free(&d);

	/* token wins over id; neither is stored */
	CHECK_INT(run(&d, "GET /osmand?id=ident&token=tok&lat=1&lon=2\n\n"), 0);
	CHECK_STR(d.secret, "tok");
	CHECK(d.fixes[0].attrs == NULL);
	decode_free(&d);

	/* no credential */
	CHECK_INT(run(&d, "GET /osmand?lat=1&lon=2\n\n"), 0);
	CHECK_INT(d.cred, CRED_NONE);
	decode_free(&d);
}

TEST(osmand_aliases_and_forms)
{
	struct decode d;
	/* seconds, alt, acc, course, batt, Java exponent */
	CHECK_INT(run(&d, "GET /osmand?token=t&lat=-1.0E-4&lon=2&timestamp=1714558530&alt=5&acc=7&course=90&batt=50&speed=1.0E-4\n\n"), 0);
	struct fix *f = &d.fixes[0];
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK_DBL(f->lat, -1e-4);
	CHECK_DBL(f->alt, 5);
	CHECK_DBL(f->acc, 7);
	CHECK_DBL(f->course, 90);
	CHECK_DBL(f->batt, 50);
	CHECK_DBL(f->speed, 1e-4);
	CHECK(f->attrs == NULL);
	decode_free(&d);

	CHECK_INT(run(&d, "GET /osmand?token=t&lat=1&lon=2&heading=45&accuracy=3&battery=12.5&timestamp=2024-05-01T10:15:30.5Z\n\n"), 0);
	f = &d.fixes[0];
	CHECK_DBL(f->course, 45);
	CHECK_DBL(f->acc, 3);
	CHECK_DBL(f->batt, 12.5);
	CHECK_INT(f->time_ms, INT64_C(1714558530500));
	decode_free(&d);

	/* missing or empty timestamp -> receipt time, eta is not a time */
	CHECK_INT(run(&d, "GET /osmand?token=t&lat=1&lon=2&timestamp=&eta=1714560330123&speed=&batproc=\n\n"), 0);
	CHECK_INT(d.fixes[0].time_ms, NOW);
	CHECK_INT(d.fixes[0].has, 0);
	decode_free(&d);

	/* form body when the query is empty */
	CHECK_INT(run(&d, "POST /osmand\nContent-Type: application/x-www-form-urlencoded\n\ntoken=t&lat=1.5&lon=2.5&timestamp=1714558530123&note=hello+world"), 0);
	CHECK_STR(d.secret, "t");
	CHECK_DBL(d.fixes[0].lat, 1.5);
	json_t *a = attrs(&d, 0);
	CHECK_STR(json_string_value(json_object_get(a, "note")), "hello world");
	json_decref(a);
	decode_free(&d);

	/* heartbeat: no position, no fix, success */
	CHECK_INT(run(&d, "GET /osmand?token=t&batproc=80\n\n"), 0);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.nfixes, 0);
	decode_free(&d);

	/* repeated name: the first value counts */
	CHECK_INT(run(&d, "GET /osmand?token=t&lat=1&lon=2&x=1&x=2\n\n"), 0);
	a = attrs(&d, 0);
	CHECK_INT(json_integer_value(json_object_get(a, "x")), 1);
	json_decref(a);
	decode_free(&d);
}

TEST(osmand_errors)
{
	expect_400("GET /osmand?token=t&lat=&lon=2\n\n");
	expect_400("GET /osmand?token=t&lat=abc&lon=2\n\n");
	expect_400("GET /osmand?token=t&lat=nan&lon=2\n\n");
	expect_400("GET /osmand?token=t&lat=1&lon=inf\n\n");
	expect_400("GET /osmand?token=t&lat=91&lon=2\n\n");
	expect_400("GET /osmand?token=t&lat=1&lon=181\n\n");
	expect_400("GET /osmand?token=t&lat=1\n\n");
	expect_400("GET /osmand?token=t&lon=1\n\n");
	expect_400("GET /osmand?token=t&lat=1&lon=2&timestamp=abc\n\n");
	expect_400("GET /osmand?token=t&lat=1&lon=2&timestamp=-5\n\n");
	expect_400("GET /osmand?token=t&lat=1&lon=2&hdop=x\n\n");
	expect_400("GET /osmand?token=t&lat=1&lon=2&speed=1,5\n\n");
	expect_400("GET /osmand?token=t&lat=1&lon=2&bearing=NaN\n\n");
}
