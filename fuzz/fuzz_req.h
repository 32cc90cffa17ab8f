/* Shared by the decoder fuzz targets: turns fuzz bytes into a request.
 * Format (the same as the files under fuzz/seeds/NAME/): first line "METHOD PATH[?QUERY]",
 * then "Name: value" header lines, an empty line, then the body. */
#ifndef MINTRAC_FUZZ_REQ_H
#define MINTRAC_FUZZ_REQ_H
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "net/http.h"
#include "proto/proto.h"

static inline char *fuzz_dup(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

/* Returns 0 on success; the request must be freed with http_request_free. */
static inline int fuzz_request(const unsigned char *data, size_t size, struct http_request *r)
{
	const char *p = (const char *)data, *end = p + size;
	memset(r, 0, sizeof *r);
	const char *nl = memchr(p, '\n', size);
	if (!nl)
		return -1;
	const char *sp = memchr(p, ' ', (size_t)(nl - p));
	if (!sp || (size_t)(sp - p) >= sizeof r->method)
		return -1;
	memcpy(r->method, p, (size_t)(sp - p));
	const char *target = sp + 1;
	const char *q = memchr(target, '?', (size_t)(nl - target));
	r->path = fuzz_dup(target, (size_t)((q ? q : nl) - target));
	r->query = q ? fuzz_dup(q + 1, (size_t)(nl - q - 1)) : fuzz_dup("", 0);
	p = nl + 1;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (le == p) {
			p = le + 1;
			break;
		}
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon) {
			const char *v = colon + 1;
			while (v < le && *v == ' ')
				v++;
			struct http_header *h = realloc(r->headers, (r->nheaders + 1) * sizeof *h);
			if (!h)
				abort();
			r->headers = h;
			h[r->nheaders].name = fuzz_dup(p, (size_t)(colon - p));
			h[r->nheaders].value = fuzz_dup(v, (size_t)(le - v));
			r->nheaders++;
		}
		if (!nl) {
			p = end;
			break;
		}
		p = nl + 1;
	}
	if (p > end)
		p = end;
	r->body = fuzz_dup(p, (size_t)(end - p));
	r->body_len = (size_t)(end - p);
	strcpy(r->peer, "fuzz");
	return 0;
}

typedef int (*fuzz_decoder)(const struct http_request *r, struct decode *d);
/* Extra invariants of one decoder; called after the common ones. */
typedef void (*fuzz_check)(const struct decode *d);

/* Decodes one input and traps on any broken promise every caller relies
 * on: status and return agree, a reason is one line, a credential has a
 * value, every fix passes fix_check, attributes are a non-empty object. */
static inline int fuzz_decode(const uint8_t *data, size_t size, fuzz_decoder decoder, fuzz_check check)
{
	struct http_request r;
	struct decode d;
	if (fuzz_request(data, size, &r) != 0) {
		http_request_free(&r);
		return 0;
	}
	decode_init(&d);
	d.now_ms = INT64_C(1714558530000);
	int rc = decoder(&r, &d);
	if ((rc == 0) != (d.status == 0) || (d.status && (!d.error[0] || strchr(d.error, '\n'))))
		__builtin_trap();
	if (d.cred != CRED_NONE && !d.secret)
		__builtin_trap();
	for (size_t i = 0; i < d.nfixes; i++) {
		if (fix_check(&d.fixes[i]))
			__builtin_trap();
		if (d.fixes[i].attrs) {
			/* Numbers are positional, so a huge one reads as an
			 * integer too big for jansson unless taken as a real. */
			json_t *a = json_loads(d.fixes[i].attrs, JSON_DECODE_INT_AS_REAL, NULL);
			if (!json_is_object(a) || json_object_size(a) == 0)
				__builtin_trap();
			json_decref(a);
		}
	}
	if (check)
		check(&d);
	decode_free(&d);
	http_request_free(&r);
	return 0;
}

/* JSON replies (OwnTracks, Overland, μlogger) always say so. */
static inline void fuzz_check_json_reply(const struct decode *d)
{
	if (!d->reply_type || strcmp(d->reply_type, "application/json") != 0)
		__builtin_trap();
}
#endif
