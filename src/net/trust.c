/* Proxies and origins the servers trust; see trust.h for the rules. */
#include "net/trust.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/xalloc.h"

#define ORIGIN_MAX 256

/* An address as IPv6 (IPv4 as ::ffff:a.b.c.d), so one compare serves both. */
struct ip {
	unsigned char a[16];
};

struct net_block {
	struct ip net;
	int       bits;    /* prefix length over the 128-bit form */
};

struct trust {
	struct net_block *proxies;
	size_t            nproxies;
	char            (*origins)[ORIGIN_MAX];
	size_t            norigins;
	char              self[ORIGIN_MAX];   /* "" when unknown */
};

/* s[0..n) as one address, with the forms peers and X-Forwarded-For use:
 * "1.2.3.4", "1.2.3.4:80", "::1", "[::1]", "[::1]:80". */
static int ip_parse(const char *s, size_t n, struct ip *out)
{
	char tmp[64];
	if (n >= 1 && s[0] == '[') {
		const char *end = memchr(s, ']', n);
		if (!end)
			return -1;
		size_t rest = n - (size_t)(end - s) - 1;
		if (rest && end[1] != ':')
			return -1;
		s++;
		n = (size_t)(end - s);
	} else {
		const char *colon = memchr(s, ':', n);
		/* One colon: IPv4 with a port; more: IPv6 without brackets. */
		if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1))
			n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	struct in_addr a4;
	if (inet_pton(AF_INET, tmp, &a4) == 1) {
		memset(out->a, 0, 10);
		out->a[10] = out->a[11] = 0xff;
		memcpy(out->a + 12, &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, tmp, out->a) == 1 ? 0 : -1;
}

static int ip_is_v4(const struct ip *ip)
{
	static const unsigned char pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return memcmp(ip->a, pre, sizeof pre) == 0;
}

static void ip_format(const struct ip *ip, char *out, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	const char *r = ip_is_v4(ip) ? inet_ntop(AF_INET, ip->a + 12, tmp, sizeof tmp)
	                             : inet_ntop(AF_INET6, ip->a, tmp, sizeof tmp);
	snprintf(out, len, "%s", r ? r : "?");
}

static int block_has(const struct net_block *b, const struct ip *ip)
{
	int bits = b->bits;
	for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		if ((ip->a[i] & mask) != (b->net.a[i] & mask))
			return 0;
	}
	return 1;
}

static int is_proxy(const struct trust *t, const struct ip *ip)
{
	for (size_t i = 0; i < t->nproxies; i++)
		if (block_has(&t->proxies[i], ip))
			return 1;
	return 0;
}

/* "10.0.0.0/8", "::1", "fd00::/8". */
static int block_parse(const char *s, size_t n, struct net_block *out)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	if (alen == 0 || s[0] == '[' || ip_parse(s, alen, &out->net) < 0 ||
	    (memchr(s, ':', alen) == NULL) != ip_is_v4(&out->net))
		return -1;   /* no ports here: "1.2.3.4:80" is not a block */
	int v4 = ip_is_v4(&out->net), max = v4 ? 32 : 128;
	int bits = max;
	if (slash) {
		const char *p = slash + 1, *end = s + n;
		if (p == end || end - p > 3)
			return -1;
		bits = 0;
		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			bits = bits * 10 + (*p - '0');
		}
		if (bits > max)
			return -1;
	}
	out->bits = v4 ? bits + 96 : bits;
	return 0;
}

int trust_origin_normalize(const char *s, size_t n, char *out, size_t outlen)
{
	while (n && s[n - 1] == '/')
		n--;
	const char *sep = n >= 3 ? memmem(s, n, "://", 3) : NULL;
	if (!sep || sep == s || n >= outlen)
		return -1;
	size_t slen = (size_t)(sep - s), hlen = n - slen - 3;
	const char *host = sep + 3;
	if (hlen == 0 || memchr(host, '/', hlen) || memchr(host, '@', hlen))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f)
			return -1;
		out[i] = (char)tolower(c);
	}
	out[n] = 0;
	/* Browsers leave the scheme's default port out of Origin. */
	const char *def = !strncmp(out, "http://", 7) ? ":80" : !strncmp(out, "https://", 8) ? ":443" : NULL;
	size_t dl = def ? strlen(def) : 0;
	if (def && n > dl && !strcmp(out + n - dl, def))
		out[n - dl] = 0;
	return 0;
}

/* Calls fn on each space-separated word of list; stops at its first -1. */
static int each_word(const char *list, int (*fn)(void *ctx, const char *w, size_t n), void *ctx)
{
	const char *p = list ? list : "";
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		if (p > w && fn(ctx, w, (size_t)(p - w)) < 0)
			return -1;
	}
	return 0;
}

struct build {
	struct trust *t;
	size_t        cap_p, cap_o;
	char         *err;
	size_t        errlen;
};

static int add_proxy(void *ctx, const char *w, size_t n)
{
	struct build *b = ctx;
	struct net_block blk;
	if (block_parse(w, n, &blk) < 0) {
		snprintf(b->err, b->errlen, "trusted_proxies: '%.*s' is no address or CIDR block",
		         (int)(n > 64 ? 64 : n), w);
		return -1;
	}
	array_grow(&b->t->proxies, &b->cap_p, b->t->nproxies + 1, sizeof *b->t->proxies);
	b->t->proxies[b->t->nproxies++] = blk;
	return 0;
}

static int add_origin(void *ctx, const char *w, size_t n)
{
	struct build *b = ctx;
	char o[ORIGIN_MAX];
	if (trust_origin_normalize(w, n, o, sizeof o) < 0) {
		snprintf(b->err, b->errlen,
		         "trusted_origins: '%.*s' is no origin (scheme://host[:port])",
		         (int)(n > 64 ? 64 : n), w);
		return -1;
	}
	array_grow(&b->t->origins, &b->cap_o, b->t->norigins + 1, sizeof *b->t->origins);
	memcpy(b->t->origins[b->t->norigins++], o, sizeof o);
	return 0;
}

struct trust *trust_new(const char *proxies, const char *origins, const char *self_url,
                        char *err, size_t errlen)
{
	struct trust *t = xcalloc(1, sizeof *t);
	struct build b = { t, 0, 0, err, errlen };
	if (each_word(proxies, add_proxy, &b) < 0 || each_word(origins, add_origin, &b) < 0) {
		trust_free(t);
		return NULL;
	}
	if (self_url) {
		/* Only scheme://host[:port] of the URL counts, not its path. */
		const char *sep = strstr(self_url, "://");
		const char *end = sep ? strchr(sep + 3, '/') : NULL;
		size_t n = end ? (size_t)(end - self_url) : strlen(self_url);
		if (trust_origin_normalize(self_url, n, t->self, sizeof t->self) < 0)
			t->self[0] = 0;
	}
	return t;
}

void trust_free(struct trust *t)
{
	if (!t)
		return;
	free(t->proxies);
	free(t->origins);
	free(t);
}

int trust_peer_is_proxy(const struct trust *t, const char *peer)
{
	struct ip ip;
	return t->nproxies && ip_parse(peer, strlen(peer), &ip) == 0 && is_proxy(t, &ip);
}

/* The right-most entry of one X-Forwarded-For value, walking left from
 * *end; 1 with [*s, *e) the entry (trimmed), 0 when none is left. */
static int xff_prev(const char *v, const char **end, const char **s, const char **e)
{
	const char *p = *end;
	if (p <= v)
		return 0;
	const char *q = p;
	while (q > v && q[-1] != ',')
		q--;
	*end = q > v ? q - 1 : v;
	const char *a = q, *b = p;
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	*s = a;
	*e = b;
	return 1;
}

void trust_client_addr(const struct trust *t, const struct http_request *req, char *out,
                       size_t len)
{
	struct ip ip;
	if (ip_parse(req->peer, strlen(req->peer), &ip) < 0) {
		snprintf(out, len, "?");
		return;
	}
	/* Several X-Forwarded-For fields read as one list, in order; walk it
	 * from the right while each hop is one of our proxies. */
	for (size_t h = req->nheaders; h-- > 0 && is_proxy(t, &ip);) {
		if (strcasecmp(req->headers[h].name, "X-Forwarded-For") != 0)
			continue;
		const char *v = req->headers[h].value, *end = v + strlen(v), *s, *e;
		while (is_proxy(t, &ip) && xff_prev(v, &end, &s, &e)) {
			struct ip next;
			if (ip_parse(s, (size_t)(e - s), &next) < 0)
				goto done;   /* garbage ("unknown", a name): stop at the last good hop */
			ip = next;
		}
	}
done:
	ip_format(&ip, out, len);
}

static int origin_listed(const struct trust *t, const char *origin)
{
	char o[ORIGIN_MAX];
	if (!t->norigins || trust_origin_normalize(origin, strlen(origin), o, sizeof o) < 0)
		return 0;
	for (size_t i = 0; i < t->norigins; i++)
		if (!strcmp(t->origins[i], o))
			return 1;
	return 0;
}

/* The first host of X-Forwarded-Host (a chain of proxies appends). */
static int origin_is_forwarded_host(const char *origin, const char *xfh)
{
	char host[ORIGIN_MAX];
	size_t n = strcspn(xfh, ",");
	while (n && (xfh[n - 1] == ' ' || xfh[n - 1] == '\t'))
		n--;
	while (n && (*xfh == ' ' || *xfh == '\t'))
		xfh++, n--;
	if (n == 0 || n >= sizeof host)
		return 0;
	memcpy(host, xfh, n);
	host[n] = 0;
	return http_origin_is(origin, host);
}

static int origin_is_self(const struct trust *t, const struct http_request *req,
                          const char *origin)
{
	if (http_origin_is(origin, http_header(req, "Host")))
		return 1;
	const char *xfh = http_header(req, "X-Forwarded-Host");
	if (xfh && trust_peer_is_proxy(t, req->peer) && origin_is_forwarded_host(origin, xfh))
		return 1;
	char o[ORIGIN_MAX];
	return t->self[0] && trust_origin_normalize(origin, strlen(origin), o, sizeof o) == 0 &&
	       !strcmp(o, t->self);
}

int trust_origin_ok(const struct trust *t, const struct http_request *req)
{
	const char *site = http_header(req, "Sec-Fetch-Site");
	const char *origin = http_header(req, "Origin");
	if (site && !strcasecmp(site, "same-origin"))
		return 1;
	if (origin && origin_listed(t, origin))
		return 1;
	if (site)
		return 0;   /* the browser itself says: not from this origin */
	if (!origin)
		return 1;   /* no browser sends neither on a POST or a handshake */
	return origin_is_self(t, req, origin);
}
