/* proto_ulogger: every request of clients/ulogger.http (probe, auth,
 * addtrack, addpos as a form and as multipart with a binary image), the
 * stateless cookie, and the error cases. Requests use the fuzz seed format. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto_ulogger.h"
#include "test.h"
#include "test_decode.h"

#define NOW_MS INT64_C(1714558530123)

/* The action of the last request decoded through ul_noting. */
static enum ulogger_action last_action;

static int ul_noting(const struct http_request *r, struct decode *d)
{
	return ulogger_decode_action(r, d, &last_action);
}

/* Every μlogger reply is JSON, the errors included. */
static int ul_run_len(const char *raw, size_t len, struct decode *d)
{
	int rc = tdec_run(ul_noting, raw, len, NOW_MS, d);
	CHECK_STR(d->reply_type, "application/json");
	return rc;
}
#define ul_run(raw, d) ul_run_len((raw), strlen(raw), (d))
#define ul_attrs(f) tdec_fix_attrs(f)
#define ul_expect_400(raw, early) tdec_expect_400(proto_ulogger.decode, (raw), (early), NOW_MS)
#define TOKEN "Zq3_k9Lm-Xw7Yp2RtV8sAb4"
#define COOKIE "Cookie: ulogger=demo:" TOKEN "\n"


static void ul_check_cookie_cred(const struct decode *d)
{
	CHECK_INT(d->cred, CRED_USER_TOKEN);
	CHECK_STR(d->user, "demo");
	CHECK_STR(d->secret, TOKEN);
}

/* ulogger.http 0): reachability probe. No credential: the receiver answers
 * 401, which the app counts as reachable (only 5xx is not). */
TEST(ul_head_probe)
{
	struct decode d;
	ul_run("HEAD /client/index.php\n"
	       "Host: ulogger.example.org\n"
	       "User-Agent: uLogger/3.12; Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240205.004)\n"
	       "\n", &d);
	CHECK_INT(d.cred, CRED_NONE);
	CHECK_INT(d.status, 400);
	CHECK_INT(d.early_error, 0);
	CHECK_INT(last_action, UL_NONE);
	decode_free(&d);
}

/* ulogger.http 1): auth with the example's demo/demo, and with a token. */
TEST(ul_auth)
{
	struct decode d;
	ul_run("POST /client/index.php\n"
	       "Host: ulogger.example.org\n"
	       "User-Agent: uLogger/3.12; Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240205.004)\n"
	       "Content-Type: application/x-www-form-urlencoded\n"
	       "\n"
	       "action=auth&user=demo&pass=demo", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(last_action, UL_AUTH);
	CHECK_INT(d.cred, CRED_USER_TOKEN);
	CHECK_STR(d.user, "demo");
	CHECK_STR(d.secret, "demo");
	CHECK_INT(d.reply_status, 200);
	CHECK_STR(d.reply_body, "{\"error\":false}");
	CHECK(d.reply_owned == NULL);
	CHECK_STR(d.set_cookie, "ulogger=demo:demo; Path=/; HttpOnly");
	CHECK_INT(d.nfixes, 0);
	decode_free(&d);

	/* Parameter order is arbitrary (a Java HashMap). */
	ul_run("POST /client/index.php\nContent-Type: application/x-www-form-urlencoded\n\n"
	       "pass=" TOKEN "&user=anna.b&action=auth", &d);
	CHECK_INT(d.status, 0);
	CHECK_STR(d.user, "anna.b");
	CHECK_STR(d.secret, TOKEN);
	CHECK_STR(d.set_cookie, "ulogger=anna.b:" TOKEN "; Path=/; HttpOnly");
	decode_free(&d);
}

TEST(ul_auth_incomplete_or_unsafe)
{
	struct decode d;
	/* Missing or empty password: no credential, so 401. */
	ul_run("POST /client/index.php\n\naction=auth&user=demo", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(last_action, UL_AUTH);
	CHECK_INT(d.cred, CRED_NONE);
	CHECK(d.set_cookie == NULL);
	decode_free(&d);
	ul_run("POST /client/index.php\n\naction=auth&user=&pass=x", &d);
	CHECK_INT(d.cred, CRED_NONE);
	decode_free(&d);
	/* Characters no user or token has never reach Set-Cookie (they can only
	 * fail authentication anyway). */
	ul_run("POST /client/index.php\n\naction=auth&user=demo&pass=a%0D%0ASet-Cookie:%20x=y", &d);
	CHECK_INT(d.cred, CRED_USER_TOKEN);
	CHECK(d.set_cookie == NULL);
	decode_free(&d);
	ul_run("POST /client/index.php\n\naction=auth&user=de%3Bmo&pass=tok", &d);
	CHECK(d.set_cookie == NULL);
	decode_free(&d);
	/* Nor oversized values (a user name is at most 64 characters). */
	char raw[512];
	snprintf(raw, sizeof raw, "POST /client/index.php\n\naction=auth&user=%065d&pass=tok", 0);
	ul_run(raw, &d);
	CHECK_INT(d.cred, CRED_USER_TOKEN);
	CHECK(d.set_cookie == NULL);
	decode_free(&d);
}

/* ulogger.http 2): addtrack with the cookie from auth. */
TEST(ul_addtrack)
{
	struct decode d;
	ul_run("POST /client/index.php\n"
	       "Host: ulogger.example.org\n"
	       COOKIE
	       "Content-Type: application/x-www-form-urlencoded\n"
	       "\n"
	       "action=addtrack&track=Auto_2024.05.01_12.15", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(last_action, UL_ADDTRACK);
	ul_check_cookie_cred(&d);
	CHECK_INT(d.nfixes, 0);
	CHECK_STR(d.reply_owned, "{\"error\":false,\"trackid\":1714558530}");
	CHECK(d.set_cookie == NULL);
	decode_free(&d);

	/* Without the cookie: CRED_NONE (401, the app logs in again). */
	ul_run("POST /client/index.php\n\naction=addtrack&track=x", &d);
	CHECK_INT(d.cred, CRED_NONE);
	CHECK_INT(last_action, UL_ADDTRACK);
	decode_free(&d);
}

/* ulogger.http 3): addpos as a form. */
TEST(ul_addpos_form)
{
	struct decode d;
	ul_run("POST /client/index.php\n"
	       "Host: ulogger.example.org\n"
	       COOKIE
	       "Content-Type: application/x-www-form-urlencoded\n"
	       "\n"
	       "trackid=12&lon=13.404954&accuracy=4.8&altitude=43.7&bearing=271.5&provider=gps"
	       "&action=addpos&speed=13.9&lat=52.520008&time=1714558530", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(last_action, UL_ADDPOS);
	ul_check_cookie_cred(&d);
	CHECK_STR(d.reply_body, "{\"error\":false}");
	CHECK(d.reply_owned == NULL);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		struct fix *f = &d.fixes[0];
		CHECK_DBL(f->lat, 52.520008);
		CHECK_DBL(f->lon, 13.404954);
		CHECK_INT(f->time_ms, INT64_C(1714558530000));
		CHECK_INT(f->has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC);
		CHECK_DBL(f->speed, 13.9);
		CHECK_DBL(f->course, 271.5);
		CHECK_DBL(f->alt, 43.7);
		CHECK_DBL(f->acc, 4.8);
		json_t *a = ul_attrs(f);
		CHECK_INT(json_object_size(a), 2);
		ATTR_INT(a, "trackid", 12);
		ATTR_STR(a, "provider", "gps");
		json_decref(a);
	}
	decode_free(&d);
}

static void ul_check_multipart_fix(struct decode *d)
{
	CHECK_INT(d->status, 0);
	CHECK_INT(last_action, UL_ADDPOS);
	ul_check_cookie_cred(d);
	CHECK_STR(d->reply_body, "{\"error\":false}");
	CHECK_INT(d->nfixes, 1);
	if (d->nfixes != 1)
		return;
	struct fix *f = &d->fixes[0];
	CHECK_DBL(f->lat, 52.520008);
	CHECK_DBL(f->lon, 13.404954);
	CHECK_INT(f->time_ms, INT64_C(1714558530000));
	CHECK_INT(f->has, 0);
	json_t *a = ul_attrs(f);
	CHECK_INT(json_object_size(a), 3);
	ATTR_INT(a, "trackid", 12);
	ATTR_STR(a, "comment", "Lunch stop");
	CHECK(json_is_true(json_object_get(a, "image")));
	json_decref(a);
}

/* ulogger.http 3b): multipart with a binary JPEG part, CRLF framing as the
 * app sends it. The image bytes include NUL, CR LF and "--". */
TEST(ul_addpos_multipart_binary)
{
	static const char raw[] =
		"POST /client/index.php\n"
		"Host: ulogger.example.org\n"
		COOKIE
		"Content-Type: multipart/form-data; boundary=----a1b2c3\n"
		"\n"
		"------a1b2c3\r\n"
		"Content-Disposition: form-data; name=\"action\"\r\n\r\n"
		"addpos\r\n"
		"------a1b2c3\r\n"
		"Content-Disposition: form-data; name=\"trackid\"\r\n\r\n"
		"12\r\n"
		"------a1b2c3\r\n"
		"Content-Disposition: form-data; name=\"lat\"\r\n\r\n"
		"52.520008\r\n"
		"------a1b2c3\r\n"
		"Content-Disposition: form-data; name=\"lon\"\r\n\r\n"
		"13.404954\r\n"
		"------a1b2c3\r\n"
		"Content-Disposition: form-data; name=\"time\"\r\n\r\n"
		"1714558530\r\n"
		"------a1b2c3\r\n"
		"Content-Disposition: form-data; name=\"comment\"\r\n\r\n"
		"Lunch stop\r\n"
		"------a1b2c3\r\n"
		"Content-Disposition: form-data; name=\"image\"; filename=\"upload\"\r\n"
		"Content-Type: image/jpeg\r\n\r\n"
		"\xff\xd8\xff\xe0\0\x10JFIF\0\r\n--\r\n----a1b2c\r\n\r\n\xff\xd9\r\n"
		"------a1b2c3--\r\n";
	struct decode d;
	ul_run_len(raw, sizeof raw - 1, &d);
	ul_check_multipart_fix(&d);
	decode_free(&d);
}

/* The same request verbatim from ulogger.http: bare LF line ends. */
TEST(ul_addpos_multipart_lf)
{
	struct decode d;
	ul_run("POST /client/index.php\n"
	       "Host: ulogger.example.org\n"
	       COOKIE
	       "Content-Type: multipart/form-data; boundary=----a1b2c3\n"
	       "\n"
	       "------a1b2c3\n"
	       "Content-Disposition: form-data; name=\"action\"\n\naddpos\n"
	       "------a1b2c3\n"
	       "Content-Disposition: form-data; name=\"trackid\"\n\n12\n"
	       "------a1b2c3\n"
	       "Content-Disposition: form-data; name=\"lat\"\n\n52.520008\n"
	       "------a1b2c3\n"
	       "Content-Disposition: form-data; name=\"lon\"\n\n13.404954\n"
	       "------a1b2c3\n"
	       "Content-Disposition: form-data; name=\"time\"\n\n1714558530\n"
	       "------a1b2c3\n"
	       "Content-Disposition: form-data; name=\"comment\"\n\nLunch stop\n"
	       "------a1b2c3\n"
	       "Content-Disposition: form-data; name=\"image\"; filename=\"upload\"\n"
	       "Content-Type: image/jpeg\n\n<binary>\n"
	       "------a1b2c3--\n", &d);
	ul_check_multipart_fix(&d);
	decode_free(&d);
}

/* Quoted boundary, preamble, header case, extra part headers, parameter
 * spacing, a quoted name holding ';', epilogue, an empty value. */
TEST(ul_multipart_variants)
{
	struct decode d;
	ul_run("POST /client/index.php\n"
	       COOKIE
	       "content-type: Multipart/Form-Data; charset=utf-8; BOUNDARY=\"b:1 x\"\n"
	       "\n"
	       "This is a preamble.\r\n"
	       "--b:1 x\r\n"
	       "content-disposition: form-data;name=action\r\n"
	       "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	       "addpos\r\n"
	       "--b:1 x  \r\n"
	       "Content-Disposition: form-data; name = \"lat\"\r\n\r\n"
	       "-33.5\r\n"
	       "--b:1 x\r\n"
	       "Content-Disposition: form-data; foo; name=\"lon\"\r\n\r\n"
	       "151.25\r\n"
	       "--b:1 x\r\n"
	       "Content-Disposition: form-data; name=\"time\"\r\n\r\n"
	       "2024-05-01T10:15:30.5Z\r\n"
	       "--b:1 x\r\n"
	       "Content-Disposition: form-data; name=\"a;b\"\r\n\r\n"
	       "multi\r\nline\r\n"
	       "--b:1 x\r\n"
	       "Content-Disposition: form-data; name=\"speed\"\r\n\r\n"
	       "\r\n"
	       "--b:1 x--\r\n"
	       "epilogue --b:1 x\r\n", &d);
	CHECK_INT(d.status, 0);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		struct fix *f = &d.fixes[0];
		CHECK_DBL(f->lat, -33.5);
		CHECK_DBL(f->lon, 151.25);
		CHECK_INT(f->time_ms, INT64_C(1714558530500));
		CHECK_INT(f->has, 0);          /* empty speed is absent */
		json_t *a = ul_attrs(f);
		CHECK_INT(json_object_size(a), 1);
		ATTR_STR(a, "a;b", "multi\r\nline");
		json_decref(a);
	}
	decode_free(&d);
}

TEST(ul_multipart_malformed)
{
#define MP "POST /client/index.php\n" COOKIE "Content-Type: multipart/form-data; boundary=XX\n\n"
	/* No closing delimiter. */
	ul_expect_400(MP "--XX\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\naddpos\r\n", 1);
	/* Truncated inside the headers. */
	ul_expect_400(MP "--XX\r\nContent-Disposition: form-data; name=\"action\"", 1);
	/* No delimiter at all. */
	ul_expect_400(MP "action=addpos&lat=1&lon=2&time=1", 1);
	ul_expect_400(MP, 1);
	/* Garbage after a delimiter. */
	ul_expect_400(MP "--XXjunk\r\n\r\nx\r\n--XX--", 1);
	/* Unclosed quote in a parameter. */
	ul_expect_400(MP "--XX\r\nContent-Disposition: form-data; name=\"action\r\n\r\nx\r\n--XX--", 1);
	/* Missing or empty boundary. */
	ul_expect_400("POST /client/index.php\n" COOKIE "Content-Type: multipart/form-data\n\n"
	              "--XX\r\n\r\n--XX--", 1);
	ul_expect_400("POST /client/index.php\n" COOKIE "Content-Type: multipart/form-data; boundary=\n\n"
	              "--XX--", 1);
	ul_expect_400("POST /client/index.php\n" COOKIE "Content-Type: multipart/form-data; boundary=\"XX\n\n"
	              "--XX--", 1);
#undef MP
	/* A well-formed multipart without any part is just "missing action". */
	ul_expect_400("POST /client/index.php\n" COOKIE "Content-Type: multipart/form-data; boundary=XX\n\n"
	              "--XX--\r\n", 0);
}

TEST(ul_action_errors)
{
	struct decode d;
	/* Missing action: 400 after authentication. */
	ul_run("POST /client/index.php\n" COOKIE "\nlat=1&lon=2&time=1714558530", &d);
	CHECK_INT(d.status, 400);
	CHECK_INT(d.early_error, 0);
	CHECK_INT(last_action, UL_NONE);
	ul_check_cookie_cred(&d);
	decode_free(&d);
	ul_run("POST /client/index.php\n" COOKIE "\naction=", &d);
	CHECK_INT(d.status, 400);
	CHECK_INT(d.early_error, 0);
	decode_free(&d);
	/* Unknown action (e.g. adduser: not offered). */
	ul_run("POST /client/index.php\n" COOKIE "\naction=adduser&login=x&password=y", &d);
	CHECK_INT(d.status, 400);
	CHECK_INT(d.early_error, 0);
	CHECK_INT(last_action, UL_OTHER);
	decode_free(&d);
}

TEST(ul_addpos_errors)
{
	static const char *const bad[] = {
		"lat=91&lon=2&time=1714558530",
		"lat=1&lon=-180.5&time=1714558530",
		"lat=&lon=2&time=1714558530",
		"lat=abc&lon=2&time=1714558530",
		"lat=nan&lon=2&time=1714558530",
		"lat=inf&lon=2&time=1714558530",
		"lat=1&time=1714558530",
		"lon=1&time=1714558530",
		"time=1714558530",
		"lat=1&lon=2",
		"lat=1&lon=2&time=",
		"lat=1&lon=2&time=soon",
		"lat=1&lon=2&time=-5",
	};
	char raw[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(raw, sizeof raw, "POST /client/index.php\n" COOKIE "\naction=addpos&%s", bad[i]);
		ul_expect_400(raw, 0);
	}
}

TEST(ul_invalid_utf8_is_early_400)
{
	struct decode d;
	/* A form value that is not UTF-8 once decoded: the body does not
	 * parse, so it is refused before authentication. */
	ul_run("POST /client/index.php\n"
	       "\n"
	       "action=auth&user=%FF&pass=x", &d);
	CHECK_INT(d.status, 400);
	CHECK_INT(d.early_error, 1);
	decode_free(&d);
}

TEST(ul_addpos_attributes)
{
	struct decode d;
	ul_run("POST /client/index.php\n"
	       "Cookie: theme=dark; ulogger=\"demo:" TOKEN "\"; other=1\n"
	       "\n"
	       "action=addpos&lat=1&lon=2&time=1714558530&trackid=12&trackid=13&comment=caf%C3%A9+%3D+ok"
	       "&n=-1.5e3&b=true&f=false&z=007&x=0x1A&accuracy=high&altitude=0&pass=SECRET"
	       "&user=demo&token=SECRET&api_key=SECRET&empty=", &d);
	CHECK_INT(d.status, 0);
	ul_check_cookie_cred(&d);
	CHECK_INT(d.nfixes, 1);
	if (d.nfixes == 1) {
		struct fix *f = &d.fixes[0];
		CHECK_INT(f->has, FIX_ALT);    /* altitude 0 is a value */
		CHECK_DBL(f->alt, 0);
		CHECK(strstr(f->attrs, "SECRET") == NULL);
		json_t *a = ul_attrs(f);
		ATTR_INT(a, "trackid", 12);      /* the first of repeated names */
		ATTR_STR(a, "comment", "caf\xc3\xa9 = ok");
		CHECK(json_is_number(json_object_get(a, "n")));
		CHECK_DBL(json_number_value(json_object_get(a, "n")), -1500);
		CHECK(json_is_true(json_object_get(a, "b")));
		CHECK(json_is_false(json_object_get(a, "f")));
		ATTR_STR(a, "z", "007");
		ATTR_STR(a, "x", "0x1A");
		ATTR_STR(a, "accuracy", "high");     /* not a number: kept as text */
		ATTR_STR(a, "empty", "");
		ATTR_NONE(a, "altitude");
		ATTR_NONE(a, "action");
		ATTR_NONE(a, "lat");
		ATTR_NONE(a, "time");
		ATTR_NONE(a, "user");
		ATTR_NONE(a, "pass");
		ATTR_NONE(a, "token");
		ATTR_NONE(a, "api_key");
		json_decref(a);
	}
	decode_free(&d);
}

TEST(ul_cookie_shapes)
{
	static const char *const none[] = {
		"Cookie: ulogger=demo\n",            /* no ':' */
		"Cookie: ulogger=:" TOKEN "\n",      /* empty user */
		"Cookie: ulogger=demo:\n",           /* empty token */
		"Cookie: ulogger2=demo:x\n",
		"Cookie: PHPSESSID=abc\n",
		"",
	};
	char raw[256];
	struct decode d;
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
		snprintf(raw, sizeof raw, "POST /client/index.php\n%s\naction=addtrack", none[i]);
		ul_run(raw, &d);
		CHECK_INT(d.cred, CRED_NONE);
		CHECK(d.user == NULL && d.secret == NULL);
		decode_free(&d);
	}
	/* Split at the first ':'. */
	ul_run("POST /client/index.php\nCookie: ulogger=demo:a:b\n\naction=addtrack", &d);
	CHECK_INT(d.cred, CRED_USER_TOKEN);
	CHECK_STR(d.user, "demo");
	CHECK_STR(d.secret, "a:b");
	decode_free(&d);
}

TEST(ul_trackid_positive)
{
	struct http_request r;
	struct decode d;
	static const char raw[] = "POST /client/index.php\n" COOKIE "\naction=addtrack";
	mt_test_request(&r, raw);
	decode_init(&d);
	d.now_ms = 500;          /* (0 s) % 2^31-1 would be 0: never sent */
	proto_ulogger.decode(&r, &d);
	CHECK_STR(d.reply_owned, "{\"error\":false,\"trackid\":1}");
	decode_free(&d);
	decode_init(&d);
	d.now_ms = INT64_C(2147483647) * 1000 + 5000;
	proto_ulogger.decode(&r, &d);
	CHECK_STR(d.reply_owned, "{\"error\":false,\"trackid\":5}");
	decode_free(&d);
	http_request_free(&r);
}
