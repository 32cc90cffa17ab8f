/* Shared plumbing of the formats: the decode result's lifecycle and the
 * plain failure reply. */
#include "proto/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void decode_init(struct decode *d)
{
	memset(d, 0, sizeof *d);
	d->reply_status = 200;
}

void decode_free(struct decode *d)
{
	for (size_t i = 0; i < d->nfixes; i++)
		fix_free(&d->fixes[i]);
	free(d->fixes);
	free(d->secret);
	free(d->user);
	free(d->reply_owned);
	free(d->set_cookie);
	decode_init(d);
}

static void decode_push(struct decode *d, struct fix *f)
{
	array_grow(&d->fixes, &d->capfixes, d->nfixes + 1, sizeof *d->fixes);
	d->fixes[d->nfixes++] = *f;
	f->attrs = NULL;
}

int decode_push_checked(struct decode *d, struct fix *f, const char *where)
{
	const char *why = fix_check(f);
	if (why) {
		fix_free(f);
		return where ? decode_fail(d, 0, "%s: %s", where, why) : decode_fail(d, 0, "%s", why);
	}
	decode_push(d, f);
	return 0;
}

int decode_fail(struct decode *d, int early, const char *fmt, ...)
{
	va_list ap;
	/* Keep the first reason: it is the one the client needs to fix. */
	if (d->status)
		return -1;
	d->status = 400;
	d->early_error = early;
	va_start(ap, fmt);
	vsnprintf(d->error, sizeof d->error, fmt, ap);
	va_end(ap);
	return -1;
}

void proto_reply_free(struct proto_reply *out)
{
	buf_free(&out->body);
}

void proto_reject_text(struct proto_reply *out, int status, const char *why)
{
	out->status = status;
	out->type = "text/plain; charset=utf-8";
	out->headers = NULL;
	buf_init(&out->body);
	buf_printf(&out->body, "%s\n", why);
}
