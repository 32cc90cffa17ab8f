/* http.c: query/form decoding, header lookup, Basic/Bearer/cookies. */
#include <sodium.h>
#include <stdlib.h>

#include "net/http.h"
#include "test.h"

#include "test_decode.h"

static void req(struct http_request *r, const char *raw)
{
	mt_test_request(r, raw);
}

static void parse(struct kvlist *l, const char *s)
{
	kvlist_init(l);
	kvlist_parse_urlencoded(l, s, strlen(s));
}

TEST(http_urlencoded_basic)
{
	struct kvlist l;
	parse(&l, "id=48241179&lat=52.520008&lon=13.404954&charge=true");
	CHECK_INT(l.n, 4);
	CHECK_STR(kvlist_get(&l, "id"), "48241179");
	CHECK_STR(kvlist_get(&l, "lat"), "52.520008");
	CHECK_STR(kvlist_get(&l, "charge"), "true");
	CHECK(kvlist_get(&l, "missing") == NULL);
	CHECK(kvlist_get(&l, "ID") == NULL);     /* case-sensitive */
	kvlist_free(&l);
	CHECK_INT(l.n, 0);
}

TEST(http_urlencoded_decoding)
{
	struct kvlist l;
	parse(&l, "t=2024-05-01+10%3A15%3A30&off=12%3A15%2B02%3A00&sp=a%20b&u=%C3%A9&k%61y=v");
	CHECK_STR(kvlist_get(&l, "t"), "2024-05-01 10:15:30");
	CHECK_STR(kvlist_get(&l, "off"), "12:15+02:00");
	CHECK_STR(kvlist_get(&l, "sp"), "a b");
	CHECK_STR(kvlist_get(&l, "u"), "\xC3\xA9");
	CHECK_STR(kvlist_get(&l, "kay"), "v");     /* keys are decoded too */
	kvlist_free(&l);
}

TEST(http_urlencoded_malformed_percent)
{
	struct kvlist l;
	parse(&l, "a=100%&b=%zz&c=%4&d=%41%&e=%%41");
	CHECK_STR(kvlist_get(&l, "a"), "100%");
	CHECK_STR(kvlist_get(&l, "b"), "%zz");
	CHECK_STR(kvlist_get(&l, "c"), "%4");
	CHECK_STR(kvlist_get(&l, "d"), "A%");
	CHECK_STR(kvlist_get(&l, "e"), "%A");
	kvlist_free(&l);
}

TEST(http_urlencoded_edges)
{
	struct kvlist l;
	parse(&l, "&&a=1&&flag&empty=&=v&a=2&x=y=z&");
	CHECK_STR(kvlist_get(&l, "a"), "1");       /* first wins */
	CHECK_STR(kvlist_get(&l, "flag"), "");
	CHECK_STR(kvlist_get(&l, "empty"), "");
	CHECK_STR(kvlist_get(&l, ""), "v");
	CHECK_STR(kvlist_get(&l, "x"), "y=z");
	CHECK_INT(l.n, 6);
	kvlist_free(&l);

	parse(&l, "");
	CHECK_INT(l.n, 0);
	kvlist_free(&l);

	/* %00 keeps its length; the C string stops early */
	parse(&l, "n=a%00b");
	CHECK_INT(l.v[0].vlen, 3);
	CHECK_STR(kvlist_get(&l, "n"), "a");
	kvlist_free(&l);

	/* not NUL-terminated input: only len bytes are read */
	kvlist_init(&l);
	kvlist_parse_urlencoded(&l, "a=1&b=2", 3);
	CHECK_INT(l.n, 1);
	CHECK_STR(kvlist_get(&l, "a"), "1");
	kvlist_free(&l);

	/* many pairs grow the list */
	struct buf_like { char s[4000]; size_t n; } big = { .n = 0 };
	for (int i = 0; i < 300; i++)
		big.n += (size_t)snprintf(big.s + big.n, sizeof big.s - big.n, "k%d=%d&", i, i);
	parse(&l, big.s);
	CHECK_INT(l.n, 300);
	CHECK_STR(kvlist_get(&l, "k299"), "299");
	kvlist_free(&l);
}

TEST(http_header_lookup)
{
	struct http_request r;
	req(&r, "POST /x?a=1\nContent-Type: application/json\nX-Limit-U: anna\n\n{}");
	CHECK_STR(r.method, "POST");
	CHECK_STR(r.path, "/x");
	CHECK_STR(r.query, "a=1");
	CHECK_STR(http_header(&r, "content-type"), "application/json");
	CHECK_STR(http_header(&r, "CONTENT-TYPE"), "application/json");
	CHECK_STR(http_header(&r, "x-limit-u"), "anna");
	CHECK(http_header(&r, "Authorization") == NULL);
	http_request_free(&r);
	CHECK(r.path == NULL && r.headers == NULL && r.body == NULL);
	http_request_free(&r);   /* twice is harmless */
}

TEST(http_basic_auth_decodes)
{
	struct http_request r;
	char u[64], p[64];
	/* "anna:s3cr:et" — the password may contain ':' */
	req(&r, "GET /\nAuthorization: Basic YW5uYTpzM2NyOmV0\n\n");
	CHECK_INT(http_basic_auth(&r, u, sizeof u, p, sizeof p), 0);
	CHECK_STR(u, "anna");
	CHECK_STR(p, "s3cr:et");
	http_request_free(&r);

	/* scheme case-insensitive, padding optional: "ab:cd" = YWI6Y2Q= */
	req(&r, "GET /\nauthorization: basic   YWI6Y2Q  \n\n");
	CHECK_INT(http_basic_auth(&r, u, sizeof u, p, sizeof p), 0);
	CHECK_STR(u, "ab");
	CHECK_STR(p, "cd");
	http_request_free(&r);

	/* empty user: "TOKEN" only after the ':' */
	req(&r, "GET /\nAuthorization: Basic OnRvaw==\n\n");
	CHECK_INT(http_basic_auth(&r, u, sizeof u, p, sizeof p), 0);
	CHECK_STR(u, "");
	CHECK_STR(p, "tok");
	http_request_free(&r);
}

TEST(http_basic_auth_rejects)
{
	static const char *const bad[] = {
		"GET /\n\n",                                        /* absent */
		"GET /\nAuthorization: Bearer YWI6Y2Q=\n\n",        /* other scheme */
		"GET /\nAuthorization: Basic\n\n",
		"GET /\nAuthorization: Basic \n\n",
		"GET /\nAuthorization: Basic !!!!\n\n",
		"GET /\nAuthorization: Basic YWJjZA==\n\n",         /* "abcd": no ':' */
		"GET /\nAuthorization: Basicx YWI6Y2Q=\n\n",
		"GET /\nAuthorization: Basic YQBiOmM=\n\n",         /* "a\0b:c" */
	};
	char u[64], p[64];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_request r;
		req(&r, bad[i]);
		if (http_basic_auth(&r, u, sizeof u, p, sizeof p) != -1)
			test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
		http_request_free(&r);
	}
	/* too long for the caller's buffers */
	struct http_request r;
	req(&r, "GET /\nAuthorization: Basic YW5uYTpzM2NyOmV0\n\n");
	CHECK_INT(http_basic_auth(&r, u, 4, p, sizeof p), -1);
	CHECK_INT(http_basic_auth(&r, u, 5, p, 7), -1);
	CHECK_INT(http_basic_auth(&r, u, 5, p, 8), 0);
	http_request_free(&r);
}

TEST(http_basic_auth_roundtrip)
{
	/* encode with libsodium, decode through the header */
	const char *cred = "user.name:T0k3n_-abcdefghijklmnopqrstuv";
	char b64[128], raw[256], u[64], p[64];
	sodium_bin2base64(b64, sizeof b64, (const unsigned char *)cred, strlen(cred),
	                  sodium_base64_VARIANT_ORIGINAL);
	snprintf(raw, sizeof raw, "POST /owntracks\nAuthorization: Basic %s\n\n", b64);
	struct http_request r;
	req(&r, raw);
	CHECK_INT(http_basic_auth(&r, u, sizeof u, p, sizeof p), 0);
	CHECK_STR(u, "user.name");
	CHECK_STR(p, "T0k3n_-abcdefghijklmnopqrstuv");
	http_request_free(&r);
}

TEST(http_bearer_token)
{
	struct http_request r;
	char t[32];
	req(&r, "GET /\nAuthorization: Bearer abc123\n\n");
	CHECK_INT(http_bearer(&r, t, sizeof t), 0);
	CHECK_STR(t, "abc123");
	CHECK_INT(http_bearer(&r, t, 6), -1);      /* does not fit */
	CHECK_INT(http_bearer(&r, t, 7), 0);
	http_request_free(&r);

	req(&r, "GET /\nAUTHORIZATION: bearer  xyz \n\n");
	CHECK_INT(http_bearer(&r, t, sizeof t), 0);
	CHECK_STR(t, "xyz");
	http_request_free(&r);

	req(&r, "GET /\nAuthorization: Bearer \n\n");
	CHECK_INT(http_bearer(&r, t, sizeof t), -1);
	http_request_free(&r);
	req(&r, "GET /\nAuthorization: Basic YWI6Y2Q=\n\n");
	CHECK_INT(http_bearer(&r, t, sizeof t), -1);
	http_request_free(&r);
	req(&r, "GET /\n\n");
	CHECK_INT(http_bearer(&r, t, sizeof t), -1);
	http_request_free(&r);
}

TEST(http_cookie_lookup)
{
	struct http_request r;
	char v[32];
	req(&r, "GET /\nCookie: a=1; mintrac_session=abc; xmintrac_session=no; q=\"quoted\"\n\n");
	CHECK_INT(http_cookie(&r, "mintrac_session", v, sizeof v), 0);
	CHECK_STR(v, "abc");
	CHECK_INT(http_cookie(&r, "a", v, sizeof v), 0);
	CHECK_STR(v, "1");
	CHECK_INT(http_cookie(&r, "q", v, sizeof v), 0);
	CHECK_STR(v, "quoted");
	CHECK_INT(http_cookie(&r, "session", v, sizeof v), -1);
	CHECK_INT(http_cookie(&r, "mintrac_session", v, 3), -1);
	CHECK_INT(http_cookie(&r, "mintrac_session", v, 4), 0);
	http_request_free(&r);

	req(&r, "GET /\n\n");
	CHECK_INT(http_cookie(&r, "a", v, sizeof v), -1);
	http_request_free(&r);
	req(&r, "GET /\nCookie: ;;; \n\n");
	CHECK_INT(http_cookie(&r, "a", v, sizeof v), -1);
	http_request_free(&r);
}

TEST(http_status_texts)
{
	CHECK_STR(http_status_text(200), "OK");
	CHECK_STR(http_status_text(201), "Created");
	CHECK_STR(http_status_text(204), "No Content");
	CHECK_STR(http_status_text(400), "Bad Request");
	CHECK_STR(http_status_text(401), "Unauthorized");
	CHECK_STR(http_status_text(404), "Not Found");
	CHECK_STR(http_status_text(408), "Request Timeout");
	CHECK_STR(http_status_text(413), "Content Too Large");
	CHECK_STR(http_status_text(431), "Request Header Fields Too Large");
	CHECK_STR(http_status_text(503), "Service Unavailable");
	CHECK_STR(http_status_text(299), "Unknown");
	CHECK_STR(http_status_text(-1), "Unknown");
	static const int codes[] = { 100, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404,
		405, 408, 409, 413, 414, 415, 429, 431, 500, 501, 503 };
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		CHECK(strcmp(http_status_text(codes[i]), "Unknown") != 0);
}
