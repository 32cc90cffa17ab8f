/* The webapp process: the page and the JSON API for the UI and scripts.
 * Every /api route authenticates with HTTP Basic (webauth.c caches the
 * argon2id verdict) and shows the caller only their own devices. Replies
 * are built synchronously from this process's own store connection; large
 * exports stream through export.c in chunks. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "buf.h"
#include "export.h"
#include "http.h"
#include "log.h"
#include "point.h"
#include "proc.h"
#include "server.h"
#include "store.h"
#include "webauth.h"

#define HDR_BASE "X-Content-Type-Options: nosniff\r\n"
#define HDR_API  HDR_BASE "Cache-Control: no-store\r\n"
#define HDR_PAGE HDR_BASE "Cache-Control: no-cache\r\n" \
	"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; " \
	"frame-ancestors 'none'\r\n" \
	"Referrer-Policy: no-referrer\r\n"
#define CT_JSON "application/json"

/* How long shutdown waits for open connections to take their last reply. */
#define DRAIN_SECONDS 0.5

struct webapp {
	struct ev_loop *loop;
	struct server  *srv;
	struct store   *store;
	struct webauth *auth;
	ev_signal       sigterm, sigint;
	ev_timer        drain;
	ev_tstamp       drain_until;
	int             stopping;
};

typedef void (*route_fn)(struct webapp *app, struct conn *c, const struct http_request *req,
                         const struct user_rec *u);

/* ---- replies ---- */

static void reply_json(struct conn *c, int status, const struct buf *b)
{
	conn_reply(c, status, CT_JSON, b->data, b->len, HDR_API);
}

static void reply_error_h(struct conn *c, int status, const char *msg, const char *headers)
{
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "{\"error\":");
	buf_add_json_str(&b, msg);
	buf_adds(&b, "}");
	conn_reply(c, status, CT_JSON, b.data, b.len, headers);
	buf_free(&b);
}

static void reply_error(struct conn *c, int status, const char *msg)
{
	reply_error_h(c, status, msg, HDR_API);
}

static void reply_store_error(struct webapp *app, struct conn *c, const char *what)
{
	log_warnx("%s: %s", what, store_errmsg(app->store));
	reply_error(c, 503, "storage unavailable");
}

/* ---- GET / ---- */

static const char index_html[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>mintrac</title>\n"
	"<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;"
	"padding:0 1em;line-height:1.5}code{background:#eee;padding:0 .2em}</style>\n"
	"</head>\n"
	"<body>\n"
	"<h1>mintrac</h1>\n"
	"<p>The map is coming soon. Meanwhile the API below serves your tracks to "
	"scripts; it takes HTTP Basic authentication with your mintrac user name "
	"and password.</p>\n"
	"<ul>\n"
	"<li><code>GET /api/devices</code> &mdash; your devices, each with its last fix "
	"and number of points</li>\n"
	"<li><code>GET /api/last</code> &mdash; the last fix of each device</li>\n"
	"<li><code>GET /api/points?device=D&amp;from=T&amp;to=T&amp;format=F</code> "
	"&mdash; every fix of a device in [from, to] (ISO 8601 or epoch seconds); "
	"format <code>geojson</code> (default), <code>gpx</code>, <code>csv</code> or "
	"<code>kml</code></li>\n"
	"</ul>\n"
	"<p>Example: <code>curl -u USER https://HOST/api/points?device=phone&amp;"
	"from=2024-05-01&amp;format=gpx</code></p>\n"
	"</body>\n"
	"</html>\n";

static void route_index(struct webapp *app, struct conn *c, const struct http_request *req,
                        const struct user_rec *u)
{
	(void)app, (void)req, (void)u;
	conn_reply(c, 200, "text/html; charset=utf-8", index_html, sizeof index_html - 1,
	           HDR_PAGE);
}

/* ---- the caller's devices ---- */

struct devlist {
	struct device_rec *v;
	size_t             n, cap;
};

static int devlist_add(void *ctx, const struct device_rec *d)
{
	struct devlist *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct device_rec *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return STORE_ERR;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *d;
	return 0;
}

/* Collected first, so no other query runs while the list is being read. */
static int devices_of(struct webapp *app, const struct user_rec *u, struct devlist *l)
{
	memset(l, 0, sizeof *l);
	int rc = store_device_list(app->store, u->id, devlist_add, l);
	if (rc != STORE_OK) {
		free(l->v);
		memset(l, 0, sizeof *l);
		return STORE_ERR;
	}
	return STORE_OK;
}

static void route_devices(struct webapp *app, struct conn *c, const struct http_request *req,
                          const struct user_rec *u)
{
	(void)req;
	struct devlist l;
	if (devices_of(app, u, &l) != STORE_OK) {
		reply_store_error(app, c, "device list");
		return;
	}
	struct buf b;
	buf_init(&b);
	buf_addc(&b, '[');
	for (size_t i = 0; i < l.n; i++) {
		const struct device_rec *d = &l.v[i];
		struct fix f;
		int rc = store_last_fix(app->store, d->id, &f);
		int64_t n = store_count(app->store, d->id);
		if ((rc != STORE_OK && rc != STORE_NOTFOUND) || n < 0) {
			if (rc == STORE_OK)
				fix_free(&f);
			buf_free(&b);
			free(l.v);
			reply_store_error(app, c, "device summary");
			return;
		}
		if (i)
			buf_addc(&b, ',');
		buf_adds(&b, "{\"name\":");
		buf_add_json_str(&b, d->name);
		buf_adds(&b, ",\"last\":");
		if (rc == STORE_OK) {
			export_geojson_feature(&b, &f, d->name);
			fix_free(&f);
		} else {
			buf_adds(&b, "null");
		}
		buf_adds(&b, ",\"points\":");
		buf_add_int(&b, n);
		buf_addc(&b, '}');
	}
	buf_addc(&b, ']');
	reply_json(c, 200, &b);
	buf_free(&b);
	free(l.v);
}

static void route_last(struct webapp *app, struct conn *c, const struct http_request *req,
                       const struct user_rec *u)
{
	(void)req;
	struct devlist l;
	if (devices_of(app, u, &l) != STORE_OK) {
		reply_store_error(app, c, "device list");
		return;
	}
	struct buf b;
	buf_init(&b);
	buf_addc(&b, '[');
	int first = 1;
	for (size_t i = 0; i < l.n; i++) {
		struct fix f;
		int rc = store_last_fix(app->store, l.v[i].id, &f);
		if (rc == STORE_NOTFOUND)
			continue;
		if (rc != STORE_OK) {
			buf_free(&b);
			free(l.v);
			reply_store_error(app, c, "last fix");
			return;
		}
		if (!first)
			buf_addc(&b, ',');
		first = 0;
		buf_adds(&b, "{\"device\":");
		buf_add_json_str(&b, l.v[i].name);
		buf_adds(&b, ",\"fix\":");
		export_geojson_feature(&b, &f, l.v[i].name);
		buf_addc(&b, '}');
		fix_free(&f);
	}
	buf_addc(&b, ']');
	reply_json(c, 200, &b);
	buf_free(&b);
	free(l.v);
}

/* ---- GET /api/points ---- */

/* Query value, NULL when absent or empty; *bad when it hides a NUL byte. */
static const char *query_val(const struct kvlist *q, const char *key, int *bad)
{
	for (size_t i = 0; i < q->n; i++) {
		if (strcmp(q->v[i].key, key) != 0)
			continue;
		if (strlen(q->v[i].val) != q->v[i].vlen)
			*bad = 1;
		return q->v[i].val[0] ? q->v[i].val : NULL;
	}
	return NULL;
}

static int is_bare_date(const char *s)
{
	return strlen(s) == 10 && s[4] == '-' && s[7] == '-';
}

/* from/to: absent = unbounded; a bare date as `to` means that whole day. */
static int parse_bound(const char *s, int is_to, int64_t *ms)
{
	if (!s) {
		*ms = is_to ? INT64_MAX : INT64_MIN;
		return 0;
	}
	if (parse_time(s, ms) < 0)
		return -1;
	if (is_to && is_bare_date(s))
		*ms += 86399999;
	return 0;
}

/* Content-Disposition with an ASCII fallback name and the exact UTF-8 name
 * (RFC 6266 / 5987). */
static void add_disposition(struct buf *h, const char *device, const char *ext)
{
	buf_adds(h, "Content-Disposition: attachment; filename=\"");
	for (const unsigned char *p = (const unsigned char *)device; *p; p++) {
		int safe = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		           (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
		buf_addc(h, safe ? (char)*p : '_');
	}
	buf_printf(h, ".%s\"; filename*=UTF-8''", ext);
	for (const unsigned char *p = (const unsigned char *)device; *p; p++) {
		int safe = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		           (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
		if (safe)
			buf_addc(h, (char)*p);
		else
			buf_printf(h, "%%%02X", *p);
	}
	buf_printf(h, ".%s\r\n", ext);
}

/* The status line goes out with the first piece of the document, so an
 * error before any output can still be a clean 503. */
struct stream_sink {
	struct conn *c;
	const char  *ctype;
	const char  *headers;
	int          started;
};

static int stream_write(void *ctx, const char *data, size_t len)
{
	struct stream_sink *ss = ctx;
	if (!ss->started) {
		conn_stream_begin(ss->c, 200, ss->ctype, ss->headers);
		ss->started = 1;
	}
	conn_stream_write(ss->c, data, len);
	return 0;
}

static void route_points(struct webapp *app, struct conn *c, const struct http_request *req,
                         const struct user_rec *u)
{
	struct kvlist q;
	int bad = 0;
	kvlist_init(&q);
	kvlist_parse_urlencoded(&q, req->query ? req->query : "",
	                        req->query ? strlen(req->query) : 0);
	const char *device = query_val(&q, "device", &bad);
	const char *from_s = query_val(&q, "from", &bad);
	const char *to_s = query_val(&q, "to", &bad);
	const char *fmt_s = query_val(&q, "format", &bad);
	int64_t from, to;
	enum export_format fmt = EXPORT_GEOJSON;
	struct device_rec d;
	int rc;

	if (!device) {
		reply_error(c, 400, "device required");
	} else if (bad) {
		reply_error(c, 400, "bad parameter");
	} else if (parse_bound(from_s, 0, &from) < 0) {
		reply_error(c, 400, "bad from");
	} else if (parse_bound(to_s, 1, &to) < 0) {
		reply_error(c, 400, "bad to");
	} else if (fmt_s && export_format_parse(fmt_s, &fmt) < 0) {
		reply_error(c, 400, "unknown format");
	} else if ((rc = store_device_get(app->store, u->id, device, &d)) == STORE_NOTFOUND) {
		reply_error(c, 404, "no such device");
	} else if (rc != STORE_OK) {
		reply_store_error(app, c, "device lookup");
	} else {
		struct buf h;
		buf_init(&h);
		buf_adds(&h, HDR_API);
		if (fmt != EXPORT_GEOJSON)
			add_disposition(&h, d.name, export_extension(fmt));
		struct stream_sink ss = { c, export_content_type(fmt), h.data, 0 };
		const char *name = d.name;
		rc = export_write(app->store, &d.id, &name, 1, from, to, fmt, stream_write, &ss);
		if (rc != 0 && !ss.started) {
			reply_store_error(app, c, "export");
		} else {
			if (rc != 0)   /* the 200 is out: the client gets a short body */
				log_warnx("export of %s cut short: %s", d.name,
				          store_errmsg(app->store));
			if (!ss.started)
				conn_stream_begin(c, 200, ss.ctype, ss.headers);
			conn_stream_end(c);
		}
		buf_free(&h);
	}
	kvlist_free(&q);
}

/* ---- routing ---- */

static const struct route {
	const char *method;
	const char *path;
	int         api;       /* needs credentials; JSON errors */
	route_fn    fn;
} routes[] = {
	{ "GET", "/",            0, route_index },
	{ "GET", "/api/devices", 1, route_devices },
	{ "GET", "/api/points",  1, route_points },
	{ "GET", "/api/last",    1, route_last },
};

/* Exact match, tolerating one trailing slash ("/api/devices/"). */
static int path_is(const char *path, const char *want)
{
	size_t n = strlen(want);
	if (strncmp(path, want, n) != 0)
		return 0;
	return path[n] == 0 || (n > 1 && path[n] == '/' && path[n + 1] == 0);
}

static int is_api(const char *path)
{
	return strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0;
}

static void on_request(void *ctx, struct conn *c, const struct http_request *req)
{
	struct webapp *app = ctx;
	const char *path = req->path ? req->path : "/";
	const struct route *r = NULL;
	int path_known = 0;

	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (!path_is(path, routes[i].path))
			continue;
		path_known = 1;
		/* server.c drops the body of a HEAD reply. */
		if (strcmp(req->method, routes[i].method) == 0 ||
		    (strcmp(req->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
			r = &routes[i];
			break;
		}
	}
	if (!r) {
		if (path_known)
			reply_error_h(c, 405, "method not allowed",
			              is_api(path) ? HDR_API "Allow: GET, HEAD\r\n"
			                            : HDR_BASE "Allow: GET, HEAD\r\n");
		else if (is_api(path))
			reply_error(c, 404, "not found");
		else
			conn_reply(c, 404, "text/plain; charset=utf-8", "not found\n", 10, HDR_BASE);
		return;
	}

	struct user_rec u;
	memset(&u, 0, sizeof u);
	if (r->api) {
		/* No WWW-Authenticate: the page must never raise the browser's
		 * password dialog. */
		int ok = webauth_request(app->auth, app->store, req, &u);
		if (ok < 0) {
			reply_store_error(app, c, "user lookup");
			return;
		}
		if (!ok) {
			/* Failed sign-ins belong in the log: that is where an
			 * admin looks for password guessing. */
			log_info("rejected %s %s from %s: 401 %s", req->method, path, req->peer,
			         http_header(req, "Authorization") ? "wrong credentials"
			                                           : "no credentials");
			reply_error(c, 401, "unauthorized");
			return;
		}
	}
	r->fn(app, c, req, &u);
}

/* ---- process ---- */

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct webapp *app = w->data;
	/* Replies are synchronous; give the last ones a moment to leave. */
	if ((server_conns(app->srv) || server_waiting(app->srv)) && ev_now(loop) < app->drain_until)
		return;
	ev_timer_stop(loop, w);
	ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	struct webapp *app = w->data;
	if (app->stopping)
		return;
	app->stopping = 1;
	log_info("stopping: no new connections");
	server_stop_accepting(app->srv);
	app->drain_until = ev_now(loop) + DRAIN_SECONDS;
	ev_timer_init(&app->drain, drain_cb, 0, 0.01);
	app->drain.data = app;
	ev_timer_start(loop, &app->drain);
}

int webapp_main(const struct config *cfg, int listen_fd)
{
	struct webapp app;
	char err[512], addr[128];
	memset(&app, 0, sizeof app);
	log_set_tag("webapp");
	signal(SIGPIPE, SIG_IGN);
	if (auth_init() < 0) {
		log_warnx("cannot initialise libsodium");
		return 1;
	}
	app.loop = ev_default_loop(EVFLAG_AUTO);
	if (!app.loop) {
		log_warnx("cannot create the event loop");
		return 1;
	}
	app.store = store_open(cfg->db_path, cfg->sync_full ? 0 : STORE_SYNC_NORMAL, err,
	                       sizeof err);
	if (!app.store) {
		log_warnx("%s", err);
		return 1;
	}
	app.auth = webauth_new();
	if (!app.auth) {
		log_warnx("cannot set up the credential cache");
		store_close(app.store);
		return 1;
	}
	struct server_config sc = {
		.max_conns = cfg->max_conns,
		.idle_timeout = cfg->idle_timeout,
		.max_header_bytes = 16 * 1024,
		.default_body_limit = 64 * 1024,   /* the API takes no uploads yet */
		.body_limit = NULL,
		.on_request = on_request,
		.ctx = &app,
		.name = "webapp",
	};
	app.srv = server_new(app.loop, listen_fd, &sc);
	if (!app.srv) {
		log_warnx("cannot start the webapp server");
		webauth_free(app.auth);
		store_close(app.store);
		return 1;
	}
	ev_signal_init(&app.sigterm, on_signal, SIGTERM);
	ev_signal_init(&app.sigint, on_signal, SIGINT);
	app.sigterm.data = app.sigint.data = &app;
	ev_signal_start(app.loop, &app.sigterm);
	ev_signal_start(app.loop, &app.sigint);
	net_sockname(listen_fd, addr, sizeof addr);
	log_info("webapp listening on %s", addr);
	proc_ready();
	ev_run(app.loop, 0);
	ev_signal_stop(app.loop, &app.sigterm);
	ev_signal_stop(app.loop, &app.sigint);
	ev_timer_stop(app.loop, &app.drain);
	server_free(app.srv);
	webauth_free(app.auth);
	store_close(app.store);
	log_info("webapp stopped");
	return 0;
}
