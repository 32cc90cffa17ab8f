/* libFuzzer target for multipart: the input's first line is the
 * Content-Type value, the rest the body. The body is read twice, whole and
 * in pieces whose sizes come from a generator seeded by the input (as in
 * fuzz_http), and both reads must agree byte for byte: what the file part
 * holds, the name, the type, the verdict. The name must be as safe as
 * multipart.h says. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"
#include "net/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct read {
	struct buf file;
	int        rc;
	char       name[MULTIPART_NAME_MAX + 1];
	char       type[256];
	char       err[256];
};

static int take(void *ctx, const char *p, size_t len)
{
	struct buf *b = ctx;
	if (len == 0 || !p)
		abort();   /* never an empty piece */
	buf_add(b, p, len);
	return 0;
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void check_name(const char *n)
{
	size_t len = strlen(n);
	if (len > MULTIPART_NAME_MAX || !utf8_valid(n, len) || strchr(n, '/') ||
	    strchr(n, '\\') || !strcmp(n, ".") || !strcmp(n, ".."))
		abort();
	for (const unsigned char *p = (const unsigned char *)n; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

/* Reads body with pieces of the generator's sizes, or whole when seed is 0. */
static int read_body(struct read *r, const char *ct, const char *body, size_t len, uint32_t seed)
{
	buf_init(&r->file);
	struct multipart *m = multipart_new(ct, take, &r->file);
	if (!m)
		return -1;
	r->rc = 0;
	for (size_t off = 0; off < len && r->rc == 0;) {
		size_t piece = len - off;
		if (seed) {
			uint32_t x = next_rand(&seed);
			piece = (x & 3) == 0 ? 1 + (x >> 8) % 4096 : 1 + (x >> 8) % 16;
			if (piece > len - off)
				piece = len - off;
		}
		r->rc = multipart_feed(m, body + off, piece);
		if (r->rc != 0 && r->rc != -1)
			abort();   /* the callback never stops here */
		off += piece;
	}
	if (r->rc == 0)
		r->rc = multipart_finish(m);
	if ((r->rc != 0) != (multipart_error(m)[0] != 0))
		abort();   /* a failure says why, success says nothing */
	if (r->rc && multipart_feed(m, "x", 1) != r->rc)
		abort();   /* failed stays failed */
	if (r->file.len > len)
		abort();
	check_name(multipart_filename(m));
	snprintf(r->name, sizeof r->name, "%s", multipart_filename(m));
	snprintf(r->type, sizeof r->type, "%s", multipart_part_type(m));
	snprintf(r->err, sizeof r->err, "%s", multipart_error(m));
	multipart_free(m);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nl = memchr(p, '\n', size < 300 ? size : 300);
	if (!nl)
		return 0;
	char ct[301];
	memcpy(ct, p, (size_t)(nl - p));
	ct[nl - p] = 0;
	const char *body = nl + 1;
	size_t len = size - (size_t)(nl - p) - 1;
	uint32_t seed = 2166136261u ^ (uint32_t)size;
	for (size_t i = 0; i < size && i < 4; i++)
		seed = (seed ^ data[i]) * 16777619u;
	if (!seed)
		seed = 1;
	struct read whole, pieces;
	if (read_body(&whole, ct, body, len, 0) < 0)
		return 0;   /* not a multipart Content-Type */
	if (read_body(&pieces, ct, body, len, seed) < 0)
		abort();
	if (whole.rc != pieces.rc || whole.file.len != pieces.file.len ||
	    (whole.file.len && memcmp(whole.file.data, pieces.file.data, whole.file.len)) ||
	    strcmp(whole.name, pieces.name) || strcmp(whole.type, pieces.type) ||
	    strcmp(whole.err, pieces.err))
		abort();   /* how the body was cut changed what was read */
	buf_free(&whole.file);
	buf_free(&pieces.file);
	return 0;
}
