/* Pure helpers over a parsed request: query/form decoding, headers,
 * credentials. The wire parser lives in http_parse.c. */
#include "net/http.h"

#include "base/buf.h"
#include "base/xalloc.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void kvlist_init(struct kvlist *l)
{
	l->v = NULL;
	l->n = l->cap = 0;
}

void kvlist_free(struct kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].val);
	}
	free(l->v);
	kvlist_init(l);
}

/* Takes ownership of key and val (malloc'd, NUL-terminated). */
static void kvlist_push(struct kvlist *l, char *key, char *val, size_t vlen)
{
	array_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n].key = key;
	l->v[l->n].val = val;
	l->v[l->n].vlen = vlen;
	l->n++;
}

void kvlist_add(struct kvlist *l, const char *key, size_t klen, const char *val, size_t vlen)
{
	kvlist_push(l, xmemdup(key, klen), xmemdup(val, vlen), vlen);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t http_pct_decode(const char *s, size_t len, char *out, int plus_is_space)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '+' && plus_is_space) {
			out[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < len &&
		           (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		           (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = 0;
	return o;
}

static void add_pair(struct kvlist *l, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	size_t klen = eq ? (size_t)(eq - s) : len;
	const char *v = eq ? eq + 1 : s + len;
	size_t vlen = eq ? len - klen - 1 : 0;
	/* Decoding only shrinks text: decode in place of the final copies
	 * (the key's length only matters up to its first NUL). */
	char *k = xmalloc(klen + 1), *val = xmalloc(vlen + 1);
	http_pct_decode(s, klen, k, 1);
	size_t vn = http_pct_decode(v, vlen, val, 1);
	kvlist_push(l, k, val, vn);
}

void kvlist_parse_urlencoded(struct kvlist *l, const char *s, size_t len)
{
	const char *end = s + len;
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *e = amp ? amp : end;
		if (e > s)          /* "a=1&&b=2": skip the empty pair */
			add_pair(l, s, (size_t)(e - s));
		s = amp ? amp + 1 : end;
	}
}

const char *kvlist_get(const struct kvlist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].val;
	return NULL;
}

const char *http_header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value ? r->headers[i].value : "";
	return NULL;
}

void http_request_free(struct http_request *r)
{
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	r->path = r->query = r->body = NULL;
	r->headers = NULL;
	r->nheaders = 0;
	r->body_len = 0;
}

static char *dup_or_null(const char *s, int *bad)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*bad = 1;
	return d;
}

int http_request_copy(struct http_request *dst, const struct http_request *src)
{
	int bad = 0;
	*dst = *src;
	dst->path = dup_or_null(src->path, &bad);
	dst->query = dup_or_null(src->query, &bad);
	dst->body = NULL;
	dst->headers = NULL;
	dst->nheaders = 0;
	if (src->body) {
		dst->body = malloc(src->body_len + 1);
		if (dst->body) {
			memcpy(dst->body, src->body, src->body_len);
			dst->body[src->body_len] = 0;
		} else {
			bad = 1;
		}
	}
	if (!bad && src->nheaders) {
		dst->headers = calloc(src->nheaders, sizeof *dst->headers);
		if (!dst->headers)
			bad = 1;
		for (size_t i = 0; !bad && i < src->nheaders; i++, dst->nheaders++) {
			dst->headers[i].name = dup_or_null(src->headers[i].name, &bad);
			dst->headers[i].value = dup_or_null(src->headers[i].value, &bad);
		}
	}
	if (bad) {
		http_request_free(dst);
		return -1;
	}
	return 0;
}

/* "Scheme param" with a case-insensitive scheme: returns the param (after
 * spaces), or NULL when the header is absent or has another scheme. */
static const char *auth_param(const struct http_request *r, const char *scheme)
{
	const char *h = http_header(r, "Authorization");
	size_t n = strlen(scheme);
	if (!h)
		return NULL;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, scheme, n) != 0 || (h[n] != ' ' && h[n] != '\t'))
		return NULL;
	h += n;
	while (*h == ' ' || *h == '\t')
		h++;
	return h;
}

/* Length of s without trailing blanks. */
static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

int http_basic_auth(const struct http_request *r, char *user, size_t ulen,
                    char *pass, size_t plen)
{
	const char *b64 = auth_param(r, "Basic");
	if (!b64 || !ulen || !plen)
		return -1;
	size_t n = trimmed_len(b64);
	if (n == 0 || n > 4096)
		return -1;
	/* Some clients leave out the '=' padding; libsodium wants it. */
	char *padded = xmalloc(n + 4);
	memcpy(padded, b64, n);
	while (n % 4)
		padded[n++] = '=';
	padded[n] = 0;
	size_t cap = n / 4 * 3 + 1, len;
	unsigned char *bin = xmalloc(cap);
	int rc = -1;
	if (sodium_base642bin(bin, cap, padded, n, NULL, &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) == 0) {
		const unsigned char *colon = memchr(bin, ':', len);
		size_t ul = colon ? (size_t)(colon - bin) : 0;
		size_t pl = colon ? len - ul - 1 : 0;
		/* A NUL inside would silently shorten the credential. */
		if (colon && !memchr(bin, 0, len) && ul < ulen && pl < plen) {
			memcpy(user, bin, ul);
			user[ul] = 0;
			memcpy(pass, colon + 1, pl);
			pass[pl] = 0;
			rc = 0;
		}
	}
	sodium_memzero(bin, cap);
	free(bin);
	free(padded);
	return rc;
}

int http_bearer(const struct http_request *r, char *tok, size_t len)
{
	const char *t = auth_param(r, "Bearer");
	if (!t)
		return -1;
	size_t n = trimmed_len(t);
	if (n == 0 || n >= len)
		return -1;
	memcpy(tok, t, n);
	tok[n] = 0;
	return 0;
}

int http_cookie(const struct http_request *r, const char *name, char *out, size_t len)
{
	const char *h = http_header(r, "Cookie");
	size_t nlen = strlen(name);
	if (!h || !nlen)
		return -1;
	while (*h) {
		while (*h == ' ' || *h == '\t' || *h == ';')
			h++;
		const char *end = strchr(h, ';');
		if (!end)
			end = h + strlen(h);
		if ((size_t)(end - h) > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
			const char *v = h + nlen + 1;
			size_t vl = (size_t)(end - v);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (vl >= len)
				return -1;
			memcpy(out, v, vl);
			out[vl] = 0;
			return 0;
		}
		h = end;
	}
	return -1;
}

const char *http_status_text(int status)
{
	static const struct { int code; const char *text; } tab[] = {
		{ 100, "Continue" },
		{ 200, "OK" },
		{ 201, "Created" },
		{ 204, "No Content" },
		{ 301, "Moved Permanently" },
		{ 302, "Found" },
		{ 304, "Not Modified" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (tab[i].code == status)
			return tab[i].text;
	return "Unknown";
}

const char *http_host_error(const struct http_request *r)
{
	size_t hosts = 0;
	for (size_t i = 0; i < r->nheaders; i++)
		hosts += strcasecmp(r->headers[i].name, "Host") == 0;
	if (hosts > 1)
		return "more than one Host header";
	if (hosts == 0 && r->http11)
		return "missing Host header";
	return NULL;
}

int http_origin_is(const char *origin, const char *host)
{
	const char *p = strstr(origin, "://");
	return p && host && strcasecmp(p + 3, host) == 0;
}
