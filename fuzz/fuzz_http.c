/* libFuzzer target for http_parse: the input is raw bytes from a client.
 * They arrive in pieces whose sizes come from a generator seeded by the
 * first bytes (which still belong to the input, so plain HTTP seeds stay
 * valid), and are fed the way server.c feeds them: everything buffered
 * and not yet consumed, again after each request is taken. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "net/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A body sink's life: sink only while open, sink_end exactly once. */
struct fuzz_sink {
	int    open;
	size_t got;
};

static int fuzz_sink(void *ctx, const char *data, size_t len)
{
	struct fuzz_sink *s = ctx;
	if (!s->open || (len && !data))
		abort();
	s->got += len;
	return s->got > 1000;   /* refuses the rest now and then */
}

static void fuzz_sink_end(void *ctx, int ok)
{
	struct fuzz_sink *s = ctx;
	if (!s->open || (ok != 0 && ok != -1))
		abort();
	s->open = 0;
}

/* /overland takes 64 KiB; /drop's body is read and dropped unseen;
 * /sink's goes to a sink. */
static void fuzz_on_head(void *ctx, const struct http_request *head, struct http_body_rule *rule)
{
	if (!head->method[0] || !head->path || !head->query)
		abort();   /* headers-complete must have filled them */
	rule->limit = strcmp(head->path, "/overland") == 0 ? 64 * 1024 : 2048;
	rule->discard = strcmp(head->path, "/drop") == 0;
	if (strncmp(head->path, "/sink", 5) == 0) {
		struct fuzz_sink *s = ctx;
		if (s->open)
			abort();   /* the last one never ended */
		*s = (struct fuzz_sink){ .open = 1 };
		rule->sink = fuzz_sink;
		rule->sink_end = fuzz_sink_end;
		rule->sink_ctx = s;
	}
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void check_request(const struct http_request *r, const struct fuzz_sink *sink)
{
	if (!r->path || !r->query || !r->body || r->body[r->body_len] != 0)
		abort();
	if (r->body_sunk && (r->body_len || sink->open))
		abort();   /* sink_end(0) comes before the request */
	for (size_t i = 0; i < r->nheaders; i++)
		if (!r->headers[i].name || !r->headers[i].value)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 2166136261u ^ (uint32_t)size;
	for (size_t i = 0; i < size && i < 4; i++)
		seed = (seed ^ data[i]) * 16777619u;
	if (!seed)
		seed = 1;
	struct fuzz_sink sink = { 0, 0 };
	/* Small limits too, so 431/413/414 paths are reached. */
	struct http_in_limits lim = {
		.max_header_bytes = (seed & 1) ? 512 : 0,
		.default_body_limit = 2048,
		.on_head = (seed & 2) ? fuzz_on_head : NULL,
		.ctx = &sink,
	};
	struct http_in in;
	http_in_init(&in, &lim);
	const char *p = (const char *)data;
	size_t delivered = 0, off = 0;
	int done = 0;
	while (delivered < size && !done) {
		uint32_t r = next_rand(&seed);
		size_t piece = (r & 3) == 0 ? 1 + (r >> 8) % 4096 : 1 + (r >> 8) % 16;
		delivered = size - delivered < piece ? size : delivered + piece;
		for (;;) {
			size_t used;
			enum http_in_status st = http_in_feed(&in, p + off, delivered - off, &used);
			if (used > delivered - off)
				abort();
			off += used;
			if (st == HTTP_IN_READY) {
				struct http_request req;
				http_in_take(&in, &req);
				check_request(&req, &sink);
				http_request_free(&req);
				continue;
			}
			if (st == HTTP_IN_CONTINUE)
				continue;
			if (st == HTTP_IN_ERROR) {
				int code = http_in_error_status(&in);
				if (code != 400 && code != 413 && code != 414 && code != 431)
					abort();
				done = 1;
			}
			break;
		}
	}
	http_in_free(&in);
	if (sink.open)
		abort();   /* a sink that never heard of its end */
	return 0;
}
