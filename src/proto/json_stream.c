/* See json_stream.h. yajl reports events; a value of the root (or one
 * element of the streamed array) is built into a jansson tree on a stack of
 * open containers and handed over when it closes. */
#include "proto/json_stream.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "proto/json_budget.h"

/* As deep as jansson reads (JSON_PARSER_MAX_DEPTH). */
#define JSON_STREAM_MAX_DEPTH 2048

struct frame {
	json_t *v;              /* an open object or array */
	char   *key;            /* objects: the key of the value to come (owned) */
};

struct reader {
	const struct json_stream_ops *ops;
	void         *ctx;
	const char   *array_key;
	int           depth;        /* structural: 0 before the root, 1 in it, 2 in the array */
	int           in_array;     /* inside root[array_key] */
	int           seen_array;
	char         *root_key;     /* key of the root member being read (owned) */
	size_t        index;        /* next element of the array */
	struct frame *stack;        /* containers being built */
	size_t        nstack, capstack;
	enum json_stream_status status;
	char         *err;
	size_t        errlen;
};

static int fail(struct reader *r, enum json_stream_status st, const char *why)
{
	r->status = st;
	if (why && r->errlen)
		snprintf(r->err, r->errlen, "%s", why);
	return 0;
}

/* A finished value of the root or the array goes to the caller. */
static int emit(struct reader *r, json_t *v)
{
	int stop = r->in_array ? r->ops->element(r->ctx, r->index++, v)
	                       : r->ops->member(r->ctx, r->root_key ? r->root_key : "", v);
	json_decref(v);
	return stop ? fail(r, JSON_STREAM_STOPPED, NULL) : 1;
}

/* A new value: into the open container, or handed over when none is. A
 * NULL v is a refused allocation: over budget (or out of memory). */
static int add(struct reader *r, json_t *v)
{
	if (!v)
		return fail(r, JSON_STREAM_TOO_BIG, NULL);
	if (r->nstack == 0)
		return emit(r, v);
	struct frame *top = &r->stack[r->nstack - 1];
	int rc;
	if (json_is_array(top->v)) {
		rc = json_array_append_new(top->v, v);
	} else {
		rc = json_object_set_new_nocheck(top->v, top->key ? top->key : "", v);
		free(top->key);
		top->key = NULL;
	}
	return rc == 0 ? 1 : fail(r, JSON_STREAM_TOO_BIG, NULL);
}

/* Before any value: the root must be an object; root[array_key] as an
 * array is walked rather than built. 1: go on with the value, 0: stop,
 * 2: consumed (the root or the array opened). */
static int place(struct reader *r, int opens_map, int opens_array)
{
	if (r->nstack)
		return 1;
	if (r->depth == 0) {
		if (!opens_map)
			return fail(r, JSON_STREAM_NOT_OBJECT, NULL);
		r->depth = 1;
		return 2;
	}
	if (r->depth == 1 && opens_array && r->root_key && strcmp(r->root_key, r->array_key) == 0) {
		if (r->seen_array)
			return fail(r, JSON_STREAM_TWICE, NULL);
		r->seen_array = r->in_array = 1;
		r->depth = 2;
		if (r->ops->array && r->ops->array(r->ctx))
			return fail(r, JSON_STREAM_STOPPED, NULL);
		return 2;
	}
	return 1;
}

static int open_container(struct reader *r, json_t *v, int is_map)
{
	int p = place(r, is_map, !is_map);
	if (p != 1) {
		json_decref(v);
		return p == 2;
	}
	if (!v)
		return fail(r, JSON_STREAM_TOO_BIG, NULL);
	if (r->nstack >= JSON_STREAM_MAX_DEPTH) {
		json_decref(v);
		return fail(r, JSON_STREAM_MALFORMED, "maximum parsing depth reached");
	}
	/* The parent owns a nested container (add consumes v even when it
	 * fails); the stack's bottom entry is the one reference we own. */
	if (r->nstack && !add(r, v))
		return 0;
	array_grow(&r->stack, &r->capstack, r->nstack + 1, sizeof *r->stack);
	r->stack[r->nstack].v = v;
	r->stack[r->nstack].key = NULL;
	r->nstack++;
	return 1;
}

static int close_container(struct reader *r)
{
	if (r->nstack == 0) {
		/* The array or the root itself ends. */
		if (r->in_array) {
			r->in_array = 0;
			r->depth = 1;
		} else {
			r->depth = 0;
		}
		return 1;
	}
	struct frame f = r->stack[--r->nstack];
	free(f.key);
	if (r->nstack)
		return 1;                       /* its parent holds it */
	return emit(r, f.v);
}

static int scalar(struct reader *r, json_t *v)
{
	int p = place(r, 0, 0);
	if (p != 1) {
		json_decref(v);
		return 0;
	}
	return add(r, v);
}

static int on_null(void *ctx)
{
	return scalar(ctx, json_null());
}

static int on_boolean(void *ctx, int b)
{
	return scalar(ctx, json_boolean(b));
}

/* Numbers as jansson reads them: an integer when there is no fraction or
 * exponent, else a real; out of range is an error either way. */
static int on_number(void *ctx, const char *s, size_t n)
{
	struct reader *r = ctx;
	char text[64];
	if (n >= sizeof text)
		return fail(r, JSON_STREAM_MALFORMED, "number too long");
	memcpy(text, s, n);
	text[n] = 0;
	errno = 0;
	if (strpbrk(text, ".eE")) {
		double x = strtod(text, NULL);
		if (errno == ERANGE && fabs(x) > 1)
			return fail(r, JSON_STREAM_MALFORMED, "real number overflow");
		return scalar(r, json_real(x));
	}
	long long i = strtoll(text, NULL, 10);
	if (errno == ERANGE)
		return fail(r, JSON_STREAM_MALFORMED, "too big integer");
	return scalar(r, json_integer(i));
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	struct reader *r = ctx;
	if (memchr(s, 0, n))
		return fail(r, JSON_STREAM_MALFORMED, "\\u0000 is not allowed");
	return scalar(r, json_stringn_nocheck((const char *)s, n));
}

static int on_map_key(void *ctx, const unsigned char *s, size_t n)
{
	struct reader *r = ctx;
	if (memchr(s, 0, n))
		return fail(r, JSON_STREAM_MALFORMED, "\\u0000 is not allowed in a key");
	char **slot = r->nstack ? &r->stack[r->nstack - 1].key : &r->root_key;
	free(*slot);
	*slot = xmemdup((const char *)s, n);
	return 1;
}

static int on_start_map(void *ctx)
{
	struct reader *r = ctx;
	return open_container(r, r->nstack || r->depth ? json_object() : NULL, 1);
}

static int on_start_array(void *ctx)
{
	struct reader *r = ctx;
	return open_container(r, json_array(), 0);
}

static int on_end(void *ctx)
{
	return close_container(ctx);
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_map_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end,
};

/* yajl's message, one printable line. */
static void yajl_reason(struct reader *r, yajl_handle h, const char *buf, size_t len)
{
	unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)buf, len);
	size_t i, o = 0;
	for (i = 0; msg && msg[i] && o + 1 < r->errlen; i++) {
		unsigned char c = msg[i];
		if (c == '\n')
			continue;
		r->err[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (r->errlen)
		r->err[o] = 0;
	if (msg)
		yajl_free_error(h, msg);
}

enum json_stream_status json_stream_object(const char *buf, size_t len, const char *array_key,
                                           const struct json_stream_ops *ops, void *ctx,
                                           size_t budget, char *err, size_t errlen)
{
	struct reader r = {
		.ops = ops, .ctx = ctx, .array_key = array_key,
		.status = JSON_STREAM_OK, .err = err, .errlen = errlen,
	};
	if (errlen)
		err[0] = 0;
	yajl_handle h = yajl_alloc(&callbacks, NULL, &r);
	if (!h)
		fatal("json_stream: out of memory");
	json_budget_begin(budget);
	yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	int over = json_budget_end();
	if (st == yajl_status_error) {
		yajl_reason(&r, h, buf, len);
		r.status = JSON_STREAM_MALFORMED;
	} else if (over && r.status == JSON_STREAM_OK) {
		r.status = JSON_STREAM_TOO_BIG;
	}
	if (r.nstack)
		json_decref(r.stack[0].v);     /* owns everything above it */
	for (size_t i = 0; i < r.nstack; i++)
		free(r.stack[i].key);
	free(r.stack);
	free(r.root_key);
	yajl_free(h);
	return r.status;
}
