/* net/trust.c (proxies, the origin rule), receiver/guard.c (unknown
 * credentials per address) and base/log.c's escaping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "net/http.h"
#include "net/trust.h"
#include "receiver/guard.h"
#include "test.h"
#include "test_decode.h"

static struct trust *mk(const char *proxies, const char *origins, const char *self)
{
	char err[256];
	struct trust *t = trust_new(proxies, origins, self, err, sizeof err);
	if (!t)
		test_fail(__FILE__, __LINE__, "trust_new: %s", err);
	return t;
}

/* Client address of a request from peer with the given extra header lines. */
static void addr_of(const struct trust *t, const char *peer, const char *hdrs, char *out,
                    size_t len)
{
	struct http_request r;
	char raw[512];
	snprintf(raw, sizeof raw, "GET /\nHost: x\n%s\n", hdrs ? hdrs : "");
	mt_test_request(&r, raw);
	snprintf(r.peer, sizeof r.peer, "%s", peer);
	trust_client_addr(t, &r, out, len);
	http_request_free(&r);
}

TEST(trust_client_addr_only_from_listed_proxies)
{
	char a[64];
	struct trust *none = mk("", "", NULL);
	/* Nobody is a proxy by default, loopback included. */
	addr_of(none, "127.0.0.1:5000", "X-Forwarded-For: 203.0.113.9\n", a, sizeof a);
	CHECK_STR(a, "127.0.0.1");
	addr_of(none, "[2001:db8::1]:443", NULL, a, sizeof a);
	CHECK_STR(a, "2001:db8::1");
	trust_free(none);

	struct trust *t = mk("127.0.0.1 10.0.0.0/8 ::1", "", NULL);
	addr_of(t, "192.0.2.1:5000", "X-Forwarded-For: 203.0.113.9\n", a, sizeof a);
	CHECK_STR(a, "192.0.2.1");
	/* The right-most address that is not one of ours. */
	addr_of(t, "127.0.0.1:5000", "X-Forwarded-For: 1.1.1.1, 203.0.113.9, 10.1.2.3\n", a,
	        sizeof a);
	CHECK_STR(a, "203.0.113.9");
	addr_of(t, "[::1]:5000", "X-Forwarded-For: 2001:db8::7\n", a, sizeof a);
	CHECK_STR(a, "2001:db8::7");
	addr_of(t, "[::ffff:127.0.0.1]:5000", "X-Forwarded-For: 198.51.100.4\n", a, sizeof a);
	CHECK_STR(a, "198.51.100.4");
	/* Two fields read as one list. */
	addr_of(t, "127.0.0.1:1", "X-Forwarded-For: 198.51.100.1\nX-Forwarded-For: 10.0.0.2\n", a,
	        sizeof a);
	CHECK_STR(a, "198.51.100.1");
	/* Garbage stops the walk at the last good hop. */
	addr_of(t, "127.0.0.1:5000", "X-Forwarded-For: evil<name>\n", a, sizeof a);
	CHECK_STR(a, "127.0.0.1");
	addr_of(t, "127.0.0.1:5000", "X-Forwarded-For: 1.2.3.4, unknown\n", a, sizeof a);
	CHECK_STR(a, "127.0.0.1");
	/* All hops ours: the left-most. */
	addr_of(t, "127.0.0.1:5000", "X-Forwarded-For: 10.9.9.9\n", a, sizeof a);
	CHECK_STR(a, "10.9.9.9");
	CHECK(trust_peer_is_proxy(t, "10.200.0.1:80"));
	CHECK(!trust_peer_is_proxy(t, "11.0.0.1:80"));
	trust_free(t);
}

TEST(trust_refuses_bad_settings)
{
	char err[256];
	const char *bad_proxies[] = { "10.0.0.0/33", "1.2.3.4:80", "nohost", "::1/129", "10.0.0.0/" };
	for (size_t i = 0; i < sizeof bad_proxies / sizeof *bad_proxies; i++) {
		struct trust *t = trust_new(bad_proxies[i], "", NULL, err, sizeof err);
		CHECK(t == NULL);
		CHECK(strstr(err, "trusted_proxies") != NULL);
	}
	const char *bad_origins[] = { "otf.example.com", "https://", "https://a/b", "null" };
	for (size_t i = 0; i < sizeof bad_origins / sizeof *bad_origins; i++) {
		struct trust *t = trust_new("", bad_origins[i], NULL, err, sizeof err);
		CHECK(t == NULL);
		CHECK(strstr(err, "trusted_origins") != NULL);
	}
	char o[64];
	CHECK_INT(trust_origin_normalize("HTTPS://Maps.Example:443/", 25, o, sizeof o), 0);
	CHECK_STR(o, "https://maps.example");
	CHECK_INT(trust_origin_normalize("http://a:8080", 13, o, sizeof o), 0);
	CHECK_STR(o, "http://a:8080");
}

static int ok(const struct trust *t, const char *peer, const char *raw)
{
	struct http_request r;
	mt_test_request(&r, raw);
	snprintf(r.peer, sizeof r.peer, "%s", peer);
	int x = trust_origin_ok(t, &r);
	http_request_free(&r);
	return x;
}

TEST(trust_origin_rule)
{
	struct trust *t = mk("10.0.0.1", "https://otf.example", "https://map.example/sub");
	const char *p = "192.0.2.1:1";
	CHECK_INT(ok(t, p, "POST /x\nHost: a.example:8082\n\n"), 1);   /* a script */
	CHECK_INT(ok(t, p, "POST /x\nHost: a.example:8082\nOrigin: http://a.example:8082\n\n"), 1);
	CHECK_INT(ok(t, p, "POST /x\nHost: A.example\nOrigin: https://a.example\n\n"), 1);
	CHECK_INT(ok(t, p, "POST /x\nHost: a.example\nOrigin: https://evil.example\n\n"), 0);
	CHECK_INT(ok(t, p, "POST /x\nHost: a.example\nOrigin: null\n\n"), 0);
	/* webapp_url names us whatever Host says. */
	CHECK_INT(ok(t, p, "POST /x\nHost: upstream\nOrigin: https://map.example\n\n"), 1);
	/* Listed origins pass, whatever the browser says of the site. */
	CHECK_INT(ok(t, p, "GET /ws/last\nHost: otrecorder\nOrigin: https://otf.example\n\n"), 1);
	CHECK_INT(ok(t, p, "GET /ws/last\nHost: otrecorder\nOrigin: https://OTF.example:443\n"
	                   "Sec-Fetch-Site: cross-site\n\n"), 1);
	/* same-origin is the browser's word; same-site and cross-site are not. */
	CHECK_INT(ok(t, p, "GET /ws/last\nHost: otrecorder\nOrigin: https://maps.example\n"
	                   "Sec-Fetch-Site: same-origin\n\n"), 1);
	CHECK_INT(ok(t, p, "GET /ws/last\nHost: a.example\nOrigin: https://b.a.example\n"
	                   "Sec-Fetch-Site: same-site\n\n"), 0);
	CHECK_INT(ok(t, p, "GET /ws/last\nHost: a.example\nOrigin: https://a.example\n"
	                   "Sec-Fetch-Site: cross-site\n\n"), 0);
	CHECK_INT(ok(t, p, "POST /x\nHost: a.example\nSec-Fetch-Site: none\n\n"), 0);
	/* X-Forwarded-Host counts only from a listed proxy. */
	const char *fwd = "POST /x\nHost: upstream\nOrigin: https://pub.example\n"
	                  "X-Forwarded-Host: pub.example\n\n";
	CHECK_INT(ok(t, p, fwd), 0);
	CHECK_INT(ok(t, "10.0.0.1:5", fwd), 1);
	trust_free(t);
}

TEST(guard_bucket_per_address)
{
	struct guard *g = guard_new(NULL);
	CHECK(g != NULL);
	for (int i = 0; i < GUARD_BURST - 1; i++)
		guard_fail_addr(g, "192.0.2.1", 100);
	CHECK_DBL(guard_wait_addr(g, "192.0.2.1", 100), 0);
	guard_fail_addr(g, "192.0.2.1", 100);
	CHECK_DBL(guard_wait_addr(g, "192.0.2.1", 100), GUARD_REFILL);
	/* Others are not affected; one IPv6 /64 is one address. */
	CHECK_DBL(guard_wait_addr(g, "192.0.2.2", 100), 0);
	for (int i = 0; i < GUARD_BURST; i++)
		guard_fail_addr(g, "2001:db8:1:2::1", 100);
	CHECK(guard_wait_addr(g, "2001:db8:1:2:ffff::9", 100) > 0);
	CHECK_DBL(guard_wait_addr(g, "2001:db8:1:3::1", 100), 0);
	/* It refills: one more try after GUARD_REFILL seconds. */
	CHECK_DBL(guard_wait_addr(g, "192.0.2.1", 100 + GUARD_REFILL), 0);
	guard_fail_addr(g, "192.0.2.1", 100 + GUARD_REFILL);
	CHECK(guard_wait_addr(g, "192.0.2.1", 100 + GUARD_REFILL) > 0);
	/* A flood of new addresses does not wash a throttled one out. */
	char a[64];
	for (int i = 0; i < GUARD_SLOTS * 2; i++) {
		snprintf(a, sizeof a, "10.%d.%d.1", (i >> 8) & 255, i & 255);
		for (int k = 0; k < GUARD_BURST; k++)
			guard_fail_addr(g, a, 101 + GUARD_REFILL);
	}
	CHECK(guard_wait_addr(g, "192.0.2.1", 101 + GUARD_REFILL) > 0);
	/* No ident (another endpoint, no credential) and token-shaped secrets
	 * are neither held back nor counted: they never reach the request. */
	CHECK_DBL(guard_wait(g, NULL, NULL, 100), 0);
	CHECK_DBL(guard_wait(g, NULL, "", 100), 0);
	CHECK_DBL(guard_wait(g, NULL, "Abcdefghijklmnopqrstu-_0", 100), 0);
	guard_fail(g, NULL, NULL, 100);
	guard_fail(g, NULL, "Abcdefghijklmnopqrstu-_0", 100);
	guard_free(g);
}

static const char *esc(const char *in, char *out, size_t len)
{
	log_escape(out, len, in, strlen(in));
	return out;
}

TEST(log_escape_non_printable)
{
	char o[64];
	CHECK_STR(esc("GET /a b", o, sizeof o), "GET /a b");
	CHECK_STR(esc("x\ny\r\x1b[31m", o, sizeof o), "x\\x0ay\\x0d\\x1b[31m");
	CHECK_STR(esc("back\\slash", o, sizeof o), "back\\\\slash");
	CHECK_STR(esc("Anna's \xc3\xa4 phone", o, sizeof o), "Anna's \xc3\xa4 phone");
	CHECK_STR(esc("c1 \xc2\x85 bad \xff", o, sizeof o), "c1 \\xc2\\x85 bad \\xff");
	CHECK_STR(esc("del\x7f", o, sizeof o), "del\\x7f");
	/* Never cut inside an escape. */
	CHECK_STR(esc("ab\n", o, 5), "ab");
}
