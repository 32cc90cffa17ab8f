/* GET /api/stream: Server-Sent Events, one `fix` event per newly stored fix
 * of the caller's devices, the fix as a GeoJSON Feature with
 * properties.device (as in /api/points). The stream never ends on its own:
 * a comment line every SSE_PING_SECONDS keeps proxies and the browser from
 * timing it out, and `retry:` tells EventSource to come back quickly after
 * a server restart. A subscriber that stops reading is dropped rather than
 * buffered without bound; its EventSource reconnects. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "io/export.h"
#include "webapp/hub.h"
#include "base/log.h"
#include "webapp/webapp.h"

#define SSE_PING_SECONDS 15.0
#define SSE_MAX_QUEUED   (1024 * 1024)

struct sse {
	struct webapp  *app;
	struct conn    *c;
	struct hub_sub *sub;
	ev_timer        ping;
	int             dropped;     /* closing: send nothing more */
};

static void sse_free(struct sse *s)
{
	if (!s)
		return;
	ev_timer_stop(s->app->loop, &s->ping);
	hub_unsubscribe(s->app->hub, s->sub);
	free(s);
}

static void sse_closed(void *ctx, struct conn *c)
{
	(void)c;
	sse_free(ctx);
}

/* A pushed stream: no more(), only the end. */
static const struct conn_ops sse_ops = { .on_close = sse_closed };

static void sse_send(struct sse *s, const char *data, size_t len)
{
	if (s->dropped)
		return;
	if (conn_out_pending(s->c) > SSE_MAX_QUEUED) {
		s->dropped = 1;
		log_info("dropping a live stream to %s: it stopped reading", conn_peer(s->c));
		conn_close_after_write(s->c);
		return;
	}
	conn_stream_write(s->c, data, len);
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
	conn_stream_begin(c, 200, "text/event-stream; charset=utf-8",
	                  HDR_API "X-Accel-Buffering: no\r\n");
	if (!strcmp(req->method, "HEAD")) {
		conn_stream_end(c);
		return;
	}
	struct sse *s = calloc(1, sizeof *s);
	if (!s) {
		log_warnx("live stream: out of memory");
		conn_stream_end(c);
		return;
	}
	s->app = app;
	s->c = c;
	ev_timer_init(&s->ping, sse_ping, SSE_PING_SECONDS, SSE_PING_SECONDS);
	s->ping.data = s;
	s->sub = hub_subscribe(app->hub, who->user.id, sse_deliver, s);
	if (!s->sub) {
		log_warnx("live stream: out of memory");
		free(s);
		conn_stream_end(c);
		return;
	}
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
