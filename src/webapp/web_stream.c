/* Pull-mode reply bodies: see web_stream.h. */
#include "webapp/web_stream.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/log.h"
#include "io/export.h"
#include "net/server.h"
#include "store/store.h"
#include "webapp/webapp.h"

/* Text made per pull: the server asks again once its queue drains below
 * about this much, so a slow reader holds one piece in memory, not the
 * document. */
#define PIECE (64 * 1024)

struct web_stream {
	const struct web_source *src;
	void                    *ctx;
	struct buf               piece;   /* the piece being handed to the server */
};

static void web_stream_free(struct web_stream *s)
{
	if (!s)
		return;
	s->src->free(s->ctx);
	buf_free(&s->piece);
	free(s);
}

/* The piece is made first and written last: a write that fails closes the
 * connection, whose on_close frees s once this returns. */
static int web_stream_more(void *ctx, struct conn *c)
{
	struct web_stream *s = ctx;
	buf_reset(&s->piece);
	int rc = s->src->more(s->ctx, &s->piece, PIECE);
	if (rc >= 0)   /* on -1 the 200 is out: the client gets a cut-off body */
		conn_stream_write(c, s->piece.data, s->piece.len);
	return rc;
}

static void web_stream_closed(void *ctx, struct conn *c)
{
	(void)c;
	web_stream_free(ctx);
}

static const struct conn_ops web_stream_ops = {
	.more = web_stream_more,
	.on_close = web_stream_closed,
};

void web_stream(struct conn *c, const struct web_source *src, void *ctx, const char *ctype,
                const char *headers)
{
	struct web_stream *s = xcalloc(1, sizeof *s);
	s->src = src;
	s->ctx = ctx;
	buf_init(&s->piece);
	int rc = src->more(ctx, &s->piece, PIECE);
	if (rc < 0) {
		web_stream_free(s);
		reply_error(c, 503, "storage unavailable");
		return;
	}
	conn_stream_begin(c, 200, ctype, headers);
	conn_stream_write(c, s->piece.data, s->piece.len);
	if (rc == 1) {
		web_stream_free(s);
		conn_stream_end(c);
		return;
	}
	/* Last: when the client is already gone it frees s at once. */
	conn_stream_attach(c, &web_stream_ops, s);
}

/* ---- exports (io/export.c) as a source ---- */

struct export_source {
	struct store  *store;
	struct export *e;
	char           device[NAME_MAX_BYTES + 1];   /* for the log */
};

static int buf_sink(void *ctx, const char *data, size_t len)
{
	buf_add(ctx, data, len);
	return 0;
}

static int export_source_more(void *ctx, struct buf *out, size_t want)
{
	struct export_source *x = ctx;
	int rc = export_more(x->e, buf_sink, out, want);
	if (rc < 0)
		log_warnx("export of %s: %s", x->device, store_errmsg(x->store));
	return rc;
}

static void export_source_free(void *ctx)
{
	struct export_source *x = ctx;
	export_free(x->e);
	free(x);
}

static const struct web_source export_source = {
	.more = export_source_more,
	.free = export_source_free,
};

void stream_export(struct webapp *app, struct conn *c, struct export *e, const char *device,
                   const char *ctype, const char *headers)
{
	if (!e) {
		log_warnx("export of %s: out of memory", device);
		reply_error(c, 503, "out of memory");
		return;
	}
	struct export_source *x = xcalloc(1, sizeof *x);
	x->store = app->store;
	x->e = e;
	snprintf(x->device, sizeof x->device, "%s", device);
	web_stream(c, &export_source, x, ctype, headers);
}
