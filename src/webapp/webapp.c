/* The webapp process: routing, authentication and the process around the
 * route modules (web_static.c, api_*.c). A request finds its route in the
 * modules' tables; a route that needs a caller gets one from the session
 * cookie or from HTTP Basic; every state-changing request passes the
 * origin rule (net/trust.c: Origin, Sec-Fetch-Site, trusted_origins) and
 * the session's CSRF token before its handler runs, so no handler has to remember them. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/buf.h"
#include "webapp/hub.h"
#include "base/log.h"
#include "base/point.h"
#include "store/history_store.h"
#include "webapp/deriver.h"
#include "webapp/imports.h"
#include "webapp/livefeed.h"
#include "webapp/pruner.h"
#include "webapp/pwcheck.h"
#include "webapp/session.h"
#include "webapp/signin.h"
#include "webapp/streams.h"
#include "webapp/throttle.h"
#include "webapp/webapp.h"
#include "net/service.h"
#include "net/trust.h"
#include "base/util.h"
#include "webapp/webauth.h"

/* How long shutdown waits for open connections to take their last reply. */
#define DRAIN_SECONDS 0.5
/* Expired sessions are deleted this often. */
#define PURGE_SECONDS 3600.0

/* ---- helpers shared by the route modules ---- */

void reply_json(struct conn *c, int status, const struct buf *b)
{
	conn_reply(c, status, CT_JSON, b->data, b->len, HDR_API);
}

void reply_error_h(struct conn *c, int status, const char *msg, const char *headers)
{
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "{\"error\":");
	buf_add_json_str(&b, msg);
	buf_adds(&b, "}");
	conn_reply(c, status, CT_JSON, b.data, b.len, headers);
	buf_free(&b);
}

void reply_error(struct conn *c, int status, const char *msg)
{
	reply_error_h(c, status, msg, HDR_API);
}

int caller_device(struct webapp *app, struct conn *c, const struct caller *who,
                  const char *name, struct device_rec *d)
{
	if (!name) {
		reply_error(c, 400, "device required");
		return -1;
	}
	int rc = store_device_get(app->store, who->user.id, name, d);
	if (rc == STORE_NOTFOUND) {
		reply_error(c, 404, "no such device");
		return -1;
	}
	if (rc != STORE_OK) {
		reply_store_error(app, c, "device lookup");
		return -1;
	}
	return 0;
}

json_t *body_object(struct conn *c, const struct http_request *req)
{
	json_error_t err;
	json_t *root = json_loadb(req->body ? req->body : "", req->body_len,
	                          JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(root)) {
		json_decref(root);
		reply_error(c, 400, "body must be a JSON object");
		return NULL;
	}
	return root;
}

void reply_retry_after(struct conn *c, int status, const char *msg, double wait)
{
	struct buf h;
	buf_init(&h);
	buf_printf(&h, HDR_API "Retry-After: %lld\r\n", (long long)ceil(wait));
	reply_error_h(c, status, msg, h.data);
	buf_free(&h);
}

void reply_signin_refused(struct conn *c, const struct signin_result *res)
{
	switch (res->verdict) {
	case SIGNIN_THROTTLED:
		reply_retry_after(c, 429, "too many failed sign-ins; try again later",
		                  res->retry_after);
		break;
	case SIGNIN_BUSY:
		reply_retry_after(c, 503, "too many sign-ins being checked; try again shortly",
		                  res->retry_after);
		break;
	default:
		reply_error(c, 503, "storage unavailable");
		break;
	}
}

void reply_store_error(struct webapp *app, struct conn *c, const char *what)
{
	log_warnx("%s: %s", what, store_errmsg(app->store));
	reply_error(c, 503, "storage unavailable");
}

void query_parse(const struct http_request *req, struct kvlist *q)
{
	kvlist_init(q);
	kvlist_parse_urlencoded(q, req->query ? req->query : "", req->query ? strlen(req->query) : 0);
}

const char *query_val(const struct kvlist *q, const char *key, int *bad)
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

static int devlist_add(void *ctx, const struct device_rec *d)
{
	struct devlist *l = ctx;
	array_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n++] = *d;
	return 0;
}

int devices_of(struct webapp *app, int64_t user_id, struct devlist *l)
{
	memset(l, 0, sizeof *l);
	int rc = store_device_list(app->store, user_id, devlist_add, l);
	if (rc != STORE_OK) {
		free(l->v);
		memset(l, 0, sizeof *l);
		return STORE_ERR;
	}
	return STORE_OK;
}

void webapp_client_addr(const struct webapp *app, const struct http_request *req, char *out,
                        size_t len)
{
	trust_client_addr(app->trust, req, out, len);
}

int path_segment(const char *path, const char *prefix, char *out, size_t outlen,
                 const char **rest)
{
	size_t plen = strlen(prefix);
	if (strncmp(path, prefix, plen) != 0)
		return -1;
	const char *seg = path + plen;
	const char *end = strchr(seg, '/');
	size_t len = end ? (size_t)(end - seg) : strlen(seg);
	if (len == 0 || len >= outlen)
		return -1;
	size_t n = http_pct_decode(seg, len, out, 0);
	if (n == 0 || strlen(out) != n || !utf8_valid(out, n))
		return -1;
	*rest = end ? end : "";
	return 0;
}

/* ---- routing ---- */

static const struct route *const tables[] = {
	static_routes, session_routes, me_routes, device_routes, points_routes, history_routes,
	stream_routes,      import_routes,
	owntracks_routes,
};

static int path_matches(const struct route *r, const char *path)
{
	size_t n = strlen(r->path);
	if (r->flags & R_PREFIX)
		return strncmp(path, r->path, n) == 0 && path[n] != 0;
	if (strncmp(path, r->path, n) != 0)
		return 0;
	/* One trailing slash is tolerated ("/api/devices/"). */
	return path[n] == 0 || (n > 1 && path[n] == '/' && path[n + 1] == 0);
}

static int method_matches(const struct route *r, const char *method)
{
	/* server.c drops the body of a HEAD reply. */
	return strcmp(method, r->method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
}

/* The route for the request; NULL with *allow listing the methods the
 * path takes ("" when the path is unknown). An exact route wins over a
 * prefix one. */
static const struct route *find_route(const char *method, const char *path, struct buf *allow)
{
	const struct route *found = NULL;
	for (int pass = 0; pass < 2 && !found; pass++) {
		for (size_t t = 0; t < sizeof tables / sizeof tables[0] && !found; t++) {
			for (const struct route *r = tables[t]; r->path; r++) {
				if (((r->flags & R_PREFIX) != 0) != (pass == 1) ||
				    !path_matches(r, path))
					continue;
				if (method_matches(r, method)) {
					found = r;
					break;
				}
				if (!strstr(allow->data ? allow->data : "", r->method)) {
					if (allow->len)
						buf_adds(allow, ", ");
					buf_adds(allow, r->method);
					if (!strcmp(r->method, "GET"))
						buf_adds(allow, ", HEAD");
				}
			}
		}
	}
	return found;
}

static int is_api(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
	       strncmp(path, "/ws/", 4) == 0;
}

static int is_safe_method(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

static int csrf_ok(const struct http_request *req, const struct caller *who)
{
	const char *tok = http_header(req, "X-CSRF-Token");
	size_t n = strlen(who->csrf);
	return tok && n > 0 && strlen(tok) == n && sodium_memcmp(tok, who->csrf, n) == 0;
}

static void reply_unauthorized(struct conn *c, const struct route *r, const char *msg)
{
	/* The app's own calls get no WWW-Authenticate, so the page never
	 * raises the browser's password dialog; the OwnTracks routes do, so
	 * OwnTracks Frontend asks for the password. */
	reply_error_h(c, 401, msg,
	              (r->flags & R_BASIC_CHALLENGE)
	                  ? HDR_API "WWW-Authenticate: Basic realm=\"mintrac\"\r\n"
	                  : HDR_API);
}

int head_caller(struct webapp *app, const struct http_request *req, struct caller *who)
{
	memset(who, 0, sizeof *who);
	if (http_host_error(req) || !trust_origin_ok(app->trust, req))
		return 0;
	int rc = sessions_check(app->sessions, req, who);
	if (rc > 0)
		return is_safe_method(req->method) || csrf_ok(req, who);
	if (rc < 0)
		return 0;
	char user[128], pass[256];
	unsigned char key[WEBAUTH_KEY_LEN];
	if (http_basic_auth(req, user, sizeof user, pass, sizeof pass) < 0)
		return 0;
	webauth_key(app->auth, user, pass, key);
	sodium_memzero(pass, sizeof pass);
	if (store_user_get(app->store, user, &who->user) != STORE_OK ||
	    !webauth_cached(app->auth, key, &who->user, mono_ms()))
		return 0;
	who->via = VIA_BASIC;
	return 1;
}

/* A request whose caller gives HTTP Basic credentials: its route runs
 * once the password check is back (signin.c), on a copy of the request. */
struct basic_wait {
	struct webapp       *app;
	struct conn         *c;
	const struct route  *r;
	struct http_request  req;
	char                 addr[64];
};

static void basic_checked(void *ctx, const struct signin_result *res)
{
	struct basic_wait *w = ctx;
	struct caller who;
	switch (res->verdict) {
	case SIGNIN_OK:
		memset(&who, 0, sizeof who);
		who.user = res->user;
		who.via = VIA_BASIC;
		w->r->fn(w->app, w->c, &w->req, &who);
		sodium_memzero(&who, sizeof who);
		break;
	case SIGNIN_WRONG:
		/* Failed sign-ins belong in the log: that is where an admin
		 * looks for password guessing. */
		log_reject("401", "rejected %s %s from %s: 401 wrong credentials", w->req.method,
		           w->req.path, w->addr);
		reply_unauthorized(w->c, w->r, "unauthorized");
		break;
	default:
		reply_signin_refused(w->c, res);
		break;
	}
	http_request_free(&w->req);
	free(w);
}

/* 1: *who filled from the session cookie; 0: answered, or handed to the
 * password check, which runs the route itself (basic_checked). */
static int authenticate(struct webapp *app, struct conn *c, const struct http_request *req,
                        const struct route *r, struct caller *who)
{
	int rc = sessions_check(app->sessions, req, who);
	if (rc < 0) {
		reply_store_error(app, c, "session lookup");
		return 0;
	}
	if (rc > 0)
		return 1;

	char addr[64], user[128], pass[256];
	webapp_client_addr(app, req, addr, sizeof addr);
	if (!http_header(req, "Authorization")) {
		reply_unauthorized(c, r, "sign in required");
		return 0;
	}
	if (http_basic_auth(req, user, sizeof user, pass, sizeof pass) < 0) {
		log_reject("401", "rejected %s %s from %s: 401 malformed credentials", req->method,
		         req->path, addr);
		reply_unauthorized(c, r, "unauthorized");
		return 0;
	}
	struct basic_wait *w = calloc(1, sizeof *w);
	if (!w || http_request_copy(&w->req, req) < 0) {
		free(w);
		sodium_memzero(pass, sizeof pass);
		reply_error(c, 503, "out of memory");
		return 0;
	}
	w->app = app;
	w->c = c;
	w->r = r;
	snprintf(w->addr, sizeof w->addr, "%s", addr);
	conn_hold(c);
	signin_check(app, addr, user, pass, basic_checked, w);
	sodium_memzero(pass, sizeof pass);
	return 0;
}

static void on_head(void *ctx, const struct http_request *head, struct http_body_rule *rule)
{
	if (strcmp(head->method, "POST") == 0 && head->path && strcmp(head->path, "/api/imports") == 0)
		imports_head(ctx, head, rule);
}

static void on_request(void *ctx, struct conn *c, const struct http_request *req)
{
	struct webapp *app = ctx;
	const char *path = req->path ? req->path : "/";
	if (http_host_error(req)) {
		reply_error(c, 400, http_host_error(req));
		return;
	}
	struct buf allow;
	buf_init(&allow);
	const struct route *r = find_route(req->method, path, &allow);
	if (!r) {
		if (allow.len) {
			struct buf h;
			buf_init(&h);
			buf_adds(&h, is_api(path) ? HDR_API : HDR_BASE);
			buf_printf(&h, "Allow: %s\r\n", allow.data);
			reply_error_h(c, 405, "method not allowed", h.data);
			buf_free(&h);
		} else if (is_api(path)) {
			reply_error(c, 404, "not found");
		} else {
			conn_reply(c, 404, "text/plain; charset=utf-8", "not found\n", 10, HDR_BASE);
		}
		buf_free(&allow);
		return;
	}
	buf_free(&allow);

	if ((!is_safe_method(req->method) || (r->flags & R_SAME_ORIGIN)) &&
	    !trust_origin_ok(app->trust, req)) {
		char addr[64];
		const char *origin = http_header(req, "Origin");
		webapp_client_addr(app, req, addr, sizeof addr);
		log_reject("origin", "refused %s %s from %s: Origin %s is neither this site nor in "
		           "trusted_origins", req->method, path, addr, origin ? origin : "(none)");
		reply_error(c, 403, "cross-site request refused");
		return;
	}
	struct caller who;
	memset(&who, 0, sizeof who);
	if ((r->flags & R_AUTH) && !authenticate(app, c, req, r, &who))
		return;
	if ((r->flags & R_AUTH) && who.via == VIA_SESSION && !is_safe_method(req->method) &&
	    !csrf_ok(req, &who)) {
		reply_error(c, 403, "missing or wrong CSRF token");
		return;
	}
	r->fn(app, c, req, &who);
}

/* ---- live fixes from the receiver ---- */

/* A fix heard of: read back and handed to the streams that want it. The
 * last device looked up is kept, since a batch is mostly one device's. */
struct live_ctx {
	struct device_rec dev;
	int               have_dev;
};

static void live_fix(void *ctx, int64_t device_id, int64_t time_ms)
{
	struct webapp *app = ctx;
	struct live_ctx *lc = app->live_ctx;
	if (!hub_wants(app->hub, 0))
		return;
	if (!lc->have_dev || lc->dev.id != device_id) {
		lc->have_dev = 0;
		int rc = store_device_by_id(app->store, device_id, &lc->dev);
		if (rc != STORE_OK) {
			if (rc != STORE_NOTFOUND)
				log_warnx("live: device lookup: %s", store_errmsg(app->store));
			return;
		}
		lc->have_dev = 1;
	}
	if (!hub_wants(app->hub, lc->dev.user_id))
		return;
	struct fix f;
	int rc = store_fix_first_in(app->store, device_id, time_ms, time_ms, &f);
	if (rc == STORE_OK) {
		hub_publish(app->hub, &lc->dev, &f);
		fix_free(&f);
	} else if (rc != STORE_NOTFOUND) {
		log_warnx("live: reading a fix back: %s", store_errmsg(app->store));
	}
}

static void live_done(void *ctx)
{
	struct webapp *app = ctx;
	struct live_ctx *lc = app->live_ctx;
	/* A device renamed or moved meanwhile is looked up afresh. */
	lc->have_dev = 0;
	/* Fixes were committed: the history catches up now, not at the tick. */
	deriver_kick(app->deriver);
}

/* ---- process (service.h callbacks) ---- */

/* The webapp and what only its process needs. */
struct webapp_proc {
	struct service  svc;
	struct webapp   app;
	struct live_ctx live_ctx;
	ev_timer        purge;
};

static void purge_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct webapp *app = w->data;
	if (store_session_purge(app->store, now_ms()) < 0)
		log_warnx("purging expired sessions: %s", store_errmsg(app->store));
	/* Both throttles' rows: one table. */
	if (throttle_purge(app->throttle) < 0)
		log_warnx("purging throttle rows: %s", store_errmsg(app->store));
}

static int web_open(struct service *svc, struct server_config *sc)
{
	struct webapp_proc *wp = container_of(svc, struct webapp_proc, svc);
	struct webapp *app = &wp->app;
	const struct config *cfg = app->cfg;
	char err[512], wurl[512];
	app->loop = svc->loop;
	config_receiver_url(cfg, app->receiver_url, sizeof app->receiver_url);
	config_webapp_url(cfg, wurl, sizeof wurl);
	app->trust = trust_new(cfg->trusted_proxies, cfg->trusted_origins, wurl, err, sizeof err);
	if (!app->trust) {
		log_warnx("%s", err);
		return -1;
	}
	app->store = store_open(cfg->store, cfg->sync_full ? 0 : STORE_SYNC_NORMAL, err,
	                        sizeof err);
	if (!app->store) {
		log_warnx("%s", err);
		return -1;
	}
	app->auth = webauth_new();
	app->sessions = sessions_new(app->store, strncmp(wurl, "https://", 8) == 0,
	                             (int64_t)(cfg->session_lifetime * 1000));
	/* Webapps sharing a database (PostgreSQL) share one budget; with
	 * SQLite there is one webapp, and its tables are in memory. */
	if (store_announces(cfg->store)) {
		app->throttle = throttle_new_shared(app->store, "signin");
		app->ident_probes = throttle_new_shared(app->store, "ident");
	} else {
		app->throttle = throttle_new();
		app->ident_probes = throttle_new();
	}
	app->hub = hub_new();
	app->streams = streams_new(svc->loop, app->store, (int64_t)(cfg->session_lifetime * 1000),
	                           cfg->max_streams_per_user, cfg->max_streams_per_addr);
	app->pwcheck = pwcheck_new(svc->loop, PWCHECK_THREADS, PWCHECK_QUEUE);
	if (!app->auth || !app->sessions || !app->throttle || !app->ident_probes || !app->hub ||
	    !app->streams || !app->pwcheck) {
		log_warnx("webapp: out of memory");
		return -1;
	}
	app->hist = store_hist_open(app->store);
	/* Without it uploads are refused (503); the rest works. */
	app->imports = imports_new(cfg, app->store);
	/* Without it the map still works; history then stays as it was. */
	app->deriver = deriver_new(svc->loop, cfg);
	app->pruner = pruner_new(app);
	/* Without it the map still works, minus live updates. */
	app->live_ctx = &wp->live_ctx;
	app->live = livefeed_new(svc->loop, cfg->store, live_fix, live_done, app);
	ev_timer_start(svc->loop, &wp->purge);
	sc->default_body_limit = 64 * 1024;   /* JSON bodies of the UI are small */
	sc->on_head = on_head;
	sc->on_request = on_request;
	sc->ctx = app;
	return 0;
}

/* Replies are synchronous: shutdown gives open connections a moment
 * (drain_max) to take their last one. */
static int web_busy(struct service *svc)
{
	return server_conns(svc->srv) > 0;
}

static void web_quiesce(struct service *svc)
{
	struct webapp_proc *wp = container_of(svc, struct webapp_proc, svc);
	livefeed_stop(wp->app.live);
	ev_timer_stop(svc->loop, &wp->purge);
	/* Checks still under way answer their held connections before the
	 * server is freed. */
	pwcheck_free(wp->app.pwcheck);
	wp->app.pwcheck = NULL;
	/* A prune under way stops between batches; the next start goes on. */
	pruner_free(wp->app.pruner);
	wp->app.pruner = NULL;
	deriver_free(wp->app.deriver);
	wp->app.deriver = NULL;
	/* A running import's current file is taken back before the exit;
	 * the registry itself outlives the server (web_close). */
	imports_stop(wp->app.imports);
}

static void web_close(struct service *svc)
{
	struct webapp *app = &container_of(svc, struct webapp_proc, svc)->app;
	pruner_free(app->pruner);
	deriver_free(app->deriver);
	imports_free(app->imports);
	store_hist_close(app->hist);
	streams_free(app->streams);
	hub_free(app->hub);
	livefeed_free(app->live);
	throttle_free(app->throttle);
	throttle_free(app->ident_probes);
	sessions_free(app->sessions);
	webauth_free(app->auth);
	trust_free(app->trust);
	store_close(app->store);
}

static const struct service_ops web_ops = {
	.open = web_open,
	.busy = web_busy,
	.quiesce = web_quiesce,
	.close = web_close,
};

int webapp_main(const struct config *cfg, int listen_fd)
{
	struct webapp_proc wp;
	memset(&wp, 0, sizeof wp);
	wp.app.cfg = cfg;
	ev_timer_init(&wp.purge, purge_cb, 1.0, PURGE_SECONDS);
	wp.purge.data = &wp.app;
	wp.svc.name = "webapp";
	wp.svc.ops = &web_ops;
	wp.svc.drain_max = DRAIN_SECONDS;
	return service_run(&wp.svc, cfg, listen_fd);
}
