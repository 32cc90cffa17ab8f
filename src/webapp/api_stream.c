/* GET /api/stream: Server-Sent Events, one `fix` event per newly stored fix
 * of the caller's devices, the fix as a GeoJSON Feature with
 * properties.device (as in /api/points). The stream does not end on its
 * own: a comment line every SSE_PING_SECONDS keeps proxies and the browser
 * from timing it out, and `retry:` tells EventSource to come back quickly
 * after a server restart. It ends (the connection closes) when the
 * credential it was opened with does (streams.h); the EventSource's
 * reconnect then gets 401. A user and an address hold a bounded number of
 * streams (429 past that). A subscriber is dropped rather than buffered
 * without bound: never more than SSE_MAX_QUEUED bytes wait for it, the
 * event being added counted, so one huge event cannot go in whole; its
 * EventSource reconnects. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "io/export.h"
#include "webapp/hub.h"
#include "webapp/streams.h"
#include "base/log.h"
#include "webapp/webapp.h"

#define SSE_PING_SECONDS 15.0
#define SSE_MAX_QUEUED   (1024 * 1024)

struct sse {
	struct webapp  *app;
	struct conn    *c;
	struct hub_sub *sub;
	struct stream_slot *slot;
	ev_timer        ping;
	int             dropped;     /* closing: send nothing more */
};

static void sse_free(struct sse *s)
{
	if (!s)
		return;
	ev_timer_stop(s->app->loop, &s->ping);
	hub_unsubscribe(s->app->hub, s->sub);
	streams_close(s->app->streams, s->slot);
	free(s);
}

static void sse_closed(void *ctx, struct conn *c)
{
	(void)c;
	sse_free(ctx);
}

/* A pushed stream: no more(), only the end. */
static const struct conn_ops sse_ops = { .on_close = sse_closed };

/* Closes the stream once what is queued is out (a reader that stopped
 * reading: within the idle timeout). */
static void sse_drop(struct sse *s, const char *why)
{
	s->dropped = 1;
	log_info("ending a live stream to %s: %s", conn_peer(s->c), why);
	conn_close_after_write(s->c);
}

/* 0 when len more bytes may be queued for s; else s is dropped. */
static int sse_room(struct sse *s, size_t len)
{
	if (s->dropped)
		return -1;
	if (conn_out_pending(s->c) + len > SSE_MAX_QUEUED) {
		sse_drop(s, "it stopped reading");
		return -1;
	}
	return 0;
}

static void sse_send(struct sse *s, const char *data, size_t len)
{
	if (sse_room(s, len) == 0)
		conn_stream_write(s->c, data, len);
}

static void sse_end(void *ctx, const char *why)
{
	struct sse *s = ctx;
	if (!s->dropped)
		sse_drop(s, why);
}

static void sse_ping(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct sse *s = w->data;
	static const char ping[] = ": ping\n\n";
	sse_send(s, ping, sizeof ping - 1);
}

static void sse_deliver(void *ctx, const struct device_rec *d, const struct fix *f)
{
	struct sse *s = ctx;
	/* The event holds the attributes whole: a reader without room for
	 * them is dropped before the event is made. */
	if (sse_room(s, f->attrs ? strlen(f->attrs) : 0) < 0)
		return;
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "event: fix\nid: ");
	buf_add_int(&b, f->time_ms);
	buf_adds(&b, "\ndata: ");
	/* JSON text holds no raw newline, so one data: line carries it. */
	export_geojson_feature(&b, f, d->name);
	buf_adds(&b, "\n\n");
	sse_send(s, b.data, b.len);
	buf_free(&b);
}

static void route_stream(struct webapp *app, struct conn *c, const struct http_request *req,
                         const struct caller *who)
{
	if (!strcmp(req->method, "HEAD")) {
		conn_stream_begin(c, 200, "text/event-stream; charset=utf-8",
		                  HDR_API "X-Accel-Buffering: no\r\n");
		conn_stream_end(c);
		return;
	}
	struct sse *s = xcalloc(1, sizeof *s);
	char addr[64];
	const char *why;
	int status;
	webapp_client_addr(app, req, addr, sizeof addr);
	s->slot = streams_open(app->streams, who, addr, sse_end, s, &status, &why);
	s->sub = s->slot ? hub_subscribe(app->hub, who->user.id, sse_deliver, s) : NULL;
	if (!s->sub) {
		if (s->slot) {
			status = 503;
			why = "out of memory";
		}
		streams_close(app->streams, s->slot);
		free(s);
		reply_error(c, status, why);
		return;
	}
	s->app = app;
	s->c = c;
	ev_timer_init(&s->ping, sse_ping, SSE_PING_SECONDS, SSE_PING_SECONDS);
	s->ping.data = s;
	conn_stream_begin(c, 200, "text/event-stream; charset=utf-8",
	                  HDR_API "X-Accel-Buffering: no\r\n");
	ev_timer_start(app->loop, &s->ping);
	conn_no_timeout(c);
	static const char hello[] = "retry: 2000\n: live fixes of your devices\n\n";
	conn_stream_write(c, hello, sizeof hello - 1);
	/* Last: when the client is already gone it frees s at once. */
	conn_stream_attach(c, &sse_ops, s);
}

const struct route stream_routes[] = {
	{ "GET", "/api/stream", R_AUTH, route_stream },
	{ NULL, NULL, 0, NULL },
};
