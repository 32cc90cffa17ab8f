/* Shared by the decoder fuzz targets: turns fuzz bytes into a request.
 * Format (the same as the files under fuzz/seeds/NAME/): first line "METHOD PATH[?QUERY]",
 * then "Name: value" header lines, an empty line, then the body. */
#ifndef MINTRAC_FUZZ_REQ_H
#define MINTRAC_FUZZ_REQ_H
#include <stdlib.h>
#include <string.h>
#include "http.h"

static char *fuzz_dup(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

/* Returns 0 on success; the request must be freed with http_request_free. */
static int fuzz_request(const unsigned char *data, size_t size, struct http_request *r)
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
#endif
