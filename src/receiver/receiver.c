/* The receiver process: routes each request to its client decoder,
 * authenticates the device, queues the fixes for group commit and replies
 * only after COMMIT returned. A point's way: server.c -> receiver.c ->
 * proto_*.c -> writer.c/store -> reply. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "receiver/receiver.h"
#include "base/auth.h"
#include "base/buf.h"
#include "receiver/credcache.h"
#include "receiver/guard.h"
#include "base/log.h"
#include "base/proc.h"
#include "proto/proto.h"
#include "net/net.h"
#include "net/server.h"
#include "store/store.h"
#include "net/live.h"
#include "net/trust.h"
#include "store/writer.h"

#define MiB (1024 * 1024)

struct receiver {
	struct ev_loop *loop;
	struct server  *srv;
	struct store   *store;     /* this loop's own connection: credential lookups */
	struct writer  *writer;    /* group commit on a second connection */
	ev_signal       sigterm, sigint;
	ev_timer        drain;     /* shutdown: wait for in-flight commits */
	int             stopping;
	struct credcache creds;    /* token -> device, checked once per iteration */
	struct live_tx *live;      /* tells the webapp what was committed */
	struct live_key *live_keys;/* gathered this loop iteration */
	size_t          live_n, live_cap;
	ev_prepare      live_flush;
	unsigned int    creds_iter;
	int             creds_checked;
	struct trust   *trust;     /* trusted_proxies: whose X-Forwarded-For counts */
	struct guard   *guard;     /* unknown credentials per source address */
};

/* A request whose fixes are committing; the reply goes out in done(). */
struct pending {
	struct write_req wr;
	struct conn     *conn;
	struct decode    d;
	struct receiver *rcv;
};

enum reply_style { STYLE_PLAIN, STYLE_OWNTRACKS, STYLE_OVERLAND, STYLE_ULOGGER };

static const struct route {
	const char *path;
	int       (*decode)(const struct http_request *r, struct decode *d);
	size_t      body_limit;
	enum reply_style style;
} routes[] = {
	{ "/",                         proto_traccar,   1 * MiB,  STYLE_PLAIN },
	{ "/osmand",                   proto_osmand,    1 * MiB,  STYLE_PLAIN },
	{ "/gpslogger",                proto_gpslogger, 1 * MiB,  STYLE_PLAIN },
	{ "/owntracks",                proto_owntracks, 1 * MiB,  STYLE_OWNTRACKS },
	{ "/pub",                      proto_owntracks, 1 * MiB,  STYLE_OWNTRACKS },
	{ "/api/v1/owntracks/points",  proto_owntracks, 1 * MiB,  STYLE_OWNTRACKS },
	{ "/overland",                 proto_overland,  8 * MiB,  STYLE_OVERLAND },
	{ "/api/v1/overland/batches",  proto_overland,  8 * MiB,  STYLE_OVERLAND },
	{ "/client/index.php",         proto_ulogger,   16 * MiB, STYLE_ULOGGER },
};

/* Exact match, tolerating one trailing slash ("/osmand/"). */
static const struct route *route_find(const char *path)
{
	size_t n = strlen(path);
	if (n > 1 && path[n - 1] == '/')
		n--;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (strlen(routes[i].path) == n && !strncmp(routes[i].path, path, n))
			return &routes[i];
	return NULL;
}

static size_t body_limit(void *ctx, const char *method, const char *path)
{
	(void)ctx;
	(void)method;
	const struct route *rt = route_find(path);
	return rt ? rt->body_limit : 1 * MiB;
}

static void reply_text(struct conn *c, int status, const char *text, const char *headers)
{
	char line[256];
	int n = snprintf(line, sizeof line, "%s\n", text);
	conn_reply(c, status, "text/plain; charset=utf-8", line,
	           (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1), headers);
}

static void reject(struct conn *c, const struct http_request *req, const struct route *rt,
                   int status, const char *why)
{
	log_reject("receiver", "rejected %s %s from %s: %d %s", req->method, req->path, req->peer,
	           status, why);
	if (rt && rt->style == STYLE_ULOGGER && status == 401) {
		static const char body[] = "{\"error\":true,\"message\":\"Unauthorized\"}";
		conn_reply(c, 401, "application/json", body, sizeof body - 1,
		           "WWW-Authenticate: OAuth realm=\"users@ulogger\"\r\n");
		return;
	}
	if (rt && rt->style == STYLE_ULOGGER) {
		struct buf b;
		buf_init(&b);
		buf_adds(&b, "{\"error\":true,\"message\":");
		buf_add_json_str(&b, why);
		buf_addc(&b, '}');
		conn_reply(c, status, "application/json", b.data, b.len, NULL);
		buf_free(&b);
		return;
	}
	const char *hdr = NULL;
	if (status == 401 && rt && rt->style == STYLE_OWNTRACKS)
		hdr = "WWW-Authenticate: Basic realm=\"mintrac\"\r\n";
	reply_text(c, status, why, hdr);
}

/* One device lookup, through the cache. An ident's key is hashed with a
 * prefix no token has, so the two kinds never collide. 1 found, 0 unknown,
 * -1 storage error. */
static int lookup(struct receiver *rcv, const char *secret, int as_ident, int64_t *id,
                  char user[65])
{
	unsigned char key[TOKEN_HASH_LEN];
	struct device_rec dev;
	int rc;
	if (as_ident) {
		char text[160];
		if (strlen(secret) > 128)
			return 0;
		snprintf(text, sizeof text, "ident\x1f%s", secret);
		auth_token_hash(text, key);
	} else {
		auth_token_hash(secret, key);
	}
	if (credcache_get(&rcv->creds, key, id, user))
		return 1;
	if (as_ident)
		rc = store_device_by_ident(rcv->store, secret, &dev);
	else
		rc = store_device_by_token(rcv->store, key, &dev);
	if (rc == STORE_ERR)
		return -1;
	if (rc != STORE_OK)
		return 0;
	credcache_put(&rcv->creds, key, dev.id, dev.user);
	*id = dev.id;
	snprintf(user, 65, "%s", dev.user);
	return 1;
}

/* Which device the credential names. 1 found, 0 unknown, -1 storage error. */
static int authenticate(struct receiver *rcv, const struct decode *d, int64_t *device_id)
{
	char user[65];
	int rc;
	if (d->cred == CRED_NONE || !d->secret || !*d->secret)
		return 0;
	/* Once per loop iteration: a credential changed before this request
	 * arrived is seen by it, at one database read per iteration. */
	unsigned int iter = ev_iteration(rcv->loop);
	if (!rcv->creds_checked || iter != rcv->creds_iter) {
		int64_t gen = store_cred_generation(rcv->store);
		if (gen < 0)
			return -1;
		credcache_sync(&rcv->creds, gen);
		rcv->creds_iter = iter;
		rcv->creds_checked = 1;
	}
	if (auth_token_syntax_ok(d->secret)) {
		rc = lookup(rcv, d->secret, 0, device_id, user);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			/* μlogger names the user too; the token must be theirs. */
			if (d->cred == CRED_USER_TOKEN && (!d->user || strcmp(d->user, user)))
				return 0;
			return 1;
		}
	}
	if (d->cred == CRED_TOKEN_OR_IDENT)
		return lookup(rcv, d->secret, 1, device_id, user);
	return 0;
}

static void send_success(struct conn *c, struct decode *d)
{
	const char *body = d->reply_owned ? d->reply_owned : d->reply_body;
	char hdr[512];
	hdr[0] = 0;
	if (d->set_cookie)
		snprintf(hdr, sizeof hdr, "Set-Cookie: %s\r\n", d->set_cookie);
	conn_reply(c, d->reply_status, d->reply_type, body ? body : "", body ? strlen(body) : 0,
	           hdr[0] ? hdr : NULL);
}

static void pending_free(struct pending *p)
{
	decode_free(&p->d);
	free(p);
}

/* Committed fixes are gathered and sent to the webapp once per loop
 * iteration (live_flush_cb), one datagram for a whole group commit. A
 * request with some duplicates is sent whole: the page ignores a fix it
 * already has. */
static void live_note(struct receiver *rcv, const struct write_req *wr)
{
	if (!rcv->live)
		return;
	if (array_grow(&rcv->live_keys, &rcv->live_cap, rcv->live_n + wr->nfixes,
	               sizeof *rcv->live_keys) < 0)
		return;   /* a missed notice only delays a live map */
	for (size_t i = 0; i < wr->nfixes; i++) {
		rcv->live_keys[rcv->live_n].device_id = wr->device_id;
		rcv->live_keys[rcv->live_n].time_ms = wr->fixes[i].time_ms;
		rcv->live_n++;
	}
}

static void live_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop, (void)revents;
	struct receiver *rcv = w->data;
	if (rcv->live_n) {
		live_tx_send(rcv->live, rcv->live_keys, rcv->live_n);
		rcv->live_n = 0;
	}
}

static void committed(struct write_req *wr)
{
	struct pending *p = wr->ctx;
	if (wr->status == 0) {
		if (wr->inserted > 0)
			live_note(p->rcv, wr);
		send_success(p->conn, &p->d);
	} else {
		log_warnx("storage failed: answering 503 to %s", conn_peer(p->conn));
		reply_text(p->conn, 503, "storage error: not stored, please retry", "Retry-After: 5\r\n");
	}
	pending_free(p);
}

static void on_request(void *ctx, struct conn *c, const struct http_request *req)
{
	struct receiver *rcv = ctx;
	const struct route *rt = route_find(req->path);
	if (rcv->stopping) {
		/* Shutting down: take no new work on open keep-alive
		 * connections, or steady traffic would hold the drain open.
		 * No reply at all, not even a 503: legacy Traccar Client on
		 * iOS counts any reply as delivered; a dropped connection
		 * makes every app keep the point and send it again. */
		conn_abort(c, "shutting down");
		return;
	}
	if (http_host_error(req)) {
		reject(c, req, rt, 400, http_host_error(req));
		return;
	}
	if (!rt) {
		reject(c, req, NULL, 404, "not found");
		return;
	}
	if (!strcmp(req->method, "HEAD") || !strcmp(req->method, "OPTIONS")) {
		/* μlogger probes reachability with HEAD. */
		conn_reply(c, 200, NULL, "", 0, NULL);
		return;
	}
	struct pending *p = calloc(1, sizeof *p);
	if (!p) {
		reject(c, req, rt, 503, "out of memory");
		return;
	}
	p->rcv = rcv;
	p->conn = c;
	decode_init(&p->d);
	p->d.now_ms = now_ms();
	struct decode *d = &p->d;
	rt->decode(req, d);
	if (d->status && d->early_error) {
		reject(c, req, rt, d->status, d->error);
		pending_free(p);
		return;
	}
	const char *ident = d->cred == CRED_TOKEN_OR_IDENT ? d->secret : NULL;
	double wait = guard_wait(rcv->guard, req, ident, ev_now(rcv->loop));
	if (wait > 0) {
		guard_reply(rcv->guard, c, req, wait);
		pending_free(p);
		return;
	}
	int64_t device_id = 0;
	int auth = authenticate(rcv, d, &device_id);
	if (auth < 0) {
		log_warnx("credential lookup failed: %s", store_errmsg(rcv->store));
		reject(c, req, rt, 503, "storage error");
		pending_free(p);
		return;
	}
	if (auth == 0) {
		guard_fail(rcv->guard, req, ident, ev_now(rcv->loop));
		reject(c, req, rt, 401, d->cred == CRED_NONE ? "missing credential" : "unknown credential");
		pending_free(p);
		return;
	}
	if (d->status) {
		reject(c, req, rt, d->status, d->error);
		pending_free(p);
		return;
	}
	if (d->nfixes == 0) {
		/* Heartbeats and non-location messages: nothing to commit. */
		send_success(c, d);
		pending_free(p);
		return;
	}
	p->wr.device_id = device_id;
	p->wr.fixes = d->fixes;
	p->wr.nfixes = d->nfixes;
	p->wr.done = committed;
	p->wr.ctx = p;
	conn_hold(c);
	writer_submit(rcv->writer, &p->wr);
}

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct receiver *rcv = w->data;
	if (writer_pending(rcv->writer) || server_waiting(rcv->srv))
		return;
	/* Every acknowledged point is committed and its reply written. */
	ev_timer_stop(loop, w);
	ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	struct receiver *rcv = w->data;
	if (rcv->stopping)
		return;
	rcv->stopping = 1;
	log_info("stopping: no new connections, finishing %zu in-flight requests",
	         writer_pending(rcv->writer));
	server_stop_accepting(rcv->srv);
	ev_timer_init(&rcv->drain, drain_cb, 0, 0.01);
	rcv->drain.data = rcv;
	ev_timer_start(loop, &rcv->drain);
}

int receiver_main(const struct config *cfg, int listen_fd)
{
	struct receiver rcv;
	char err[512], addr[128];
	memset(&rcv, 0, sizeof rcv);
	credcache_init(&rcv.creds);
	signal(SIGPIPE, SIG_IGN);
	if (auth_init() < 0) {
		log_warnx("cannot initialise libsodium");
		return 1;
	}
	rcv.trust = trust_new(cfg->trusted_proxies, NULL, NULL, err, sizeof err);
	rcv.guard = rcv.trust ? guard_new(rcv.trust) : NULL;
	if (!rcv.guard) {
		log_warnx("%s", rcv.trust ? "receiver: out of memory" : err);
		trust_free(rcv.trust);
		return 1;
	}
	rcv.loop = ev_default_loop(EVFLAG_AUTO);
	int flags = cfg->sync_full ? 0 : STORE_SYNC_NORMAL;
	rcv.store = store_open(cfg->db_path, flags, err, sizeof err);
	if (!rcv.store) {
		log_warnx("%s", err);
		guard_free(rcv.guard);
		trust_free(rcv.trust);
		return 1;
	}
	rcv.writer = writer_new(rcv.loop, cfg->db_path, flags, err, sizeof err);
	if (!rcv.writer) {
		log_warnx("%s", err);
		store_close(rcv.store);
		guard_free(rcv.guard);
		trust_free(rcv.trust);
		return 1;
	}
	struct server_config sc = {
		.max_conns = cfg->max_conns,
		.idle_timeout = cfg->idle_timeout,
		.max_header_bytes = 16 * 1024,
		.default_body_limit = 1 * MiB,
		.body_limit = body_limit,
		.on_request = on_request,
		.ctx = &rcv,
		.name = "receiver",
	};
	rcv.srv = server_new(rcv.loop, listen_fd, &sc);
	if (!rcv.srv) {
		log_warnx("cannot start the receiver server");
		writer_free(rcv.writer);
		store_close(rcv.store);
		guard_free(rcv.guard);
		trust_free(rcv.trust);
		return 1;
	}
	rcv.live = live_tx_new(cfg->db_path);
	ev_prepare_init(&rcv.live_flush, live_flush_cb);
	rcv.live_flush.data = &rcv;
	ev_prepare_start(rcv.loop, &rcv.live_flush);
	ev_unref(rcv.loop);   /* the flush alone must not keep the loop running */
	ev_signal_init(&rcv.sigterm, on_signal, SIGTERM);
	ev_signal_init(&rcv.sigint, on_signal, SIGINT);
	rcv.sigterm.data = rcv.sigint.data = &rcv;
	ev_signal_start(rcv.loop, &rcv.sigterm);
	ev_signal_start(rcv.loop, &rcv.sigint);
	net_sockname(listen_fd, addr, sizeof addr);
	log_info("receiver listening on %s", addr);
	proc_ready();
	ev_run(rcv.loop, 0);
	ev_signal_stop(rcv.loop, &rcv.sigterm);
	ev_signal_stop(rcv.loop, &rcv.sigint);
	/* writer_free commits anything still queued and answers it. */
	writer_free(rcv.writer);
	ev_ref(rcv.loop);
	ev_prepare_stop(rcv.loop, &rcv.live_flush);
	live_tx_free(rcv.live);
	free(rcv.live_keys);
	server_free(rcv.srv);
	store_close(rcv.store);
	guard_free(rcv.guard);
	trust_free(rcv.trust);
	log_info("receiver stopped");
	return 0;
}
