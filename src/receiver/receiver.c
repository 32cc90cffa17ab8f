/* The receiver process: routes each request to its client decoder,
 * authenticates the device, queues the fixes for group commit and replies
 * only after COMMIT returned. A point's way: server.c -> receiver.c ->
 * proto_*.c -> writer.c/store -> reply. The process around it (loop,
 * signals, drain) is net/service.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/receiver.h"
#include "base/auth.h"
#include "base/xalloc.h"
#include "receiver/credcache.h"
#include "receiver/guard.h"
#include "base/log.h"
#include "base/util.h"
#include "proto/json_budget.h"
#include "proto/proto.h"
#include "net/server.h"
#include "net/service.h"
#include "store/store.h"
#include "net/live.h"
#include "net/trust.h"
#include "net/workpool.h"
#include "store/writer.h"

struct receiver {
	struct service  svc;       /* loop, server, signals, drain (service.h) */
	const struct config *cfg;
	struct store   *store;     /* this loop's own connection: credential lookups */
	struct writer  *writer;    /* group commit on a second connection */
	struct workpool *decoders; /* large bodies decode here (DECODE_*) */
	struct credcache creds;    /* token -> device, checked once per iteration */
	struct live_tx *live;      /* tells the webapp what was committed */
	struct live_key *live_keys;/* gathered this loop iteration */
	size_t          live_n, live_cap;
	ev_prepare      live_flush;
	struct trust   *trust;     /* trusted_proxies: whose X-Forwarded-For counts */
	struct guard   *guard;     /* unknown credentials per source address */
	unsigned int    creds_iter;
	int             creds_checked;
};

/* Bodies up to this are decoded in the loop (a few milliseconds at
 * worst, and no thread hand-off for the phones' small requests); larger
 * ones in the decode pool, so one request never stalls the others. */
#define DECODE_INLINE_MAX (64 * 1024)
#define DECODE_THREADS    1
/* Bodies waiting for the decoder; each is at most a format's limit
 * (16 MiB), and the server caps what is still arriving. */
#define DECODE_QUEUE      8

/* A request being decoded or committed; the reply goes out from
 * decoded() or committed(). */
struct pending {
	struct write_req wr;
	struct work      work;      /* decoding off the loop (large bodies) */
	struct conn     *conn;
	const struct proto *fmt;
	struct http_request req;    /* its copy while decoding off the loop */
	struct decode    d;
	struct receiver *rcv;
};

static void send_reply(struct conn *c, struct proto_reply *out)
{
	conn_reply(c, out->status, out->type, out->body.data, out->body.len, out->headers);
	proto_reply_free(out);
}

/* The failure reply in the app's own form; p is NULL for an unknown path. */
static void reject(struct conn *c, const struct http_request *req, const struct proto *p,
                   int status, const char *why)
{
	struct proto_reply out;
	log_reject("receiver", "rejected %s %s from %s: %d %s", req->method, req->path, req->peer,
	           status, why);
	(p ? p->reject : proto_reject_text)(&out, status, why);
	send_reply(c, &out);
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
	unsigned int iter = ev_iteration(rcv->svc.loop);
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

/* Whether the head alone already means 401: the format takes its
 * credential from the head only, and that one is missing or unknown. A
 * storage error is left for on_request to answer. */
static int head_refused(struct receiver *rcv, const struct proto *p,
                        const struct http_request *head)
{
	if (!p->head_cred || !strcmp(head->method, "HEAD") || !strcmp(head->method, "OPTIONS"))
		return 0;
	struct decode d;
	decode_init(&d);
	int64_t device_id;
	int refused = p->head_cred(head, &d) == 1 && authenticate(rcv, &d, &device_id) == 0;
	decode_free(&d);
	return refused;
}

/* Before any body byte: the format's limit, and a body nobody may send
 * is read and dropped unseen, so an unauthenticated 8 MiB batch costs
 * neither memory nor a parse (issue: bodies before credentials). */
static void on_head(void *ctx, const struct http_request *head, struct http_body_rule *rule)
{
	struct receiver *rcv = ctx;
	const struct proto *p = proto_find(head->path);
	rule->limit = p ? p->body_limit : 1 * MiB;
	rule->discard = !p || (!rcv->svc.stopping && head_refused(rcv, p, head));
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
	http_request_free(&p->req);
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
	array_grow(&rcv->live_keys, &rcv->live_cap, rcv->live_n + wr->nfixes,
	           sizeof *rcv->live_keys);
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
		/* Plain text for every app: a retry is all any of them needs. */
		struct proto_reply out;
		/* The writer logs the incident once; not one line per request. */
		log_debug("storage failed: answering 503 to %s", conn_peer(p->conn));
		proto_reject_text(&out, 503, "storage error: not stored, please retry");
		out.headers = "Retry-After: 5\r\n";
		send_reply(p->conn, &out);
	}
	pending_free(p);
}

/* The request is decoded (in the loop or the pool): authenticate, then
 * commit or answer. */
static void decoded(struct pending *p, const struct http_request *req)
{
	struct receiver *rcv = p->rcv;
	struct conn *c = p->conn;
	const struct proto *fmt = p->fmt;
	struct decode *d = &p->d;
	if (d->status && d->early_error) {
		reject(c, req, fmt, d->status, d->error);
		pending_free(p);
		return;
	}
	const char *ident = d->cred == CRED_TOKEN_OR_IDENT ? d->secret : NULL;
	double wait = guard_wait(rcv->guard, req, ident, ev_now(rcv->svc.loop));
	if (wait > 0) {
		guard_reply(rcv->guard, c, req, wait);
		pending_free(p);
		return;
	}
	int64_t device_id = 0;
	int auth = authenticate(rcv, d, &device_id);
	if (auth < 0) {
		log_warnx("credential lookup failed: %s", store_errmsg(rcv->store));
		reject(c, req, fmt, 503, "storage error");
		pending_free(p);
		return;
	}
	if (auth == 0) {
		guard_fail(rcv->guard, req, ident, ev_now(rcv->svc.loop));
		reject(c, req, fmt, 401, d->cred == CRED_NONE ? "missing credential" : "unknown credential");
		pending_free(p);
		return;
	}
	if (req->body_discarded) {
		/* The credential became valid while its body arrived unread. */
		reject(c, req, fmt, 503, "credential changed during the request; send it again");
		pending_free(p);
		return;
	}
	if (d->status) {
		reject(c, req, fmt, d->status, d->error);
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
	conn_hold(c);   /* no-op when decoded off the loop: held already */
	writer_submit(rcv->writer, &p->wr);
}

static void decode_run(struct work *w)
{
	struct pending *p = container_of(w, struct pending, work);
	p->fmt->decode(&p->req, &p->d);
}

static void decode_done(struct work *w, int ran)
{
	struct pending *p = container_of(w, struct pending, work);
	if (!ran) {
		/* Shutting down: as for new requests, no reply (on_request). */
		conn_abort(p->conn, "shutting down");
		pending_free(p);
		return;
	}
	decoded(p, &p->req);
}

/* A large body goes to the decode pool with a copy of its request (the
 * server frees its own when this returns); a full pool is a 503 the apps
 * retry. */
static void decode_later(struct pending *p, const struct http_request *req)
{
	if (http_request_copy(&p->req, req) < 0) {
		reject(p->conn, req, p->fmt, 503, "out of memory; please retry");
		pending_free(p);
		return;
	}
	p->work.run = decode_run;
	p->work.done = decode_done;
	if (workpool_submit(p->rcv->decoders, &p->work) < 0) {
		reject(p->conn, req, p->fmt, 503, "too many large requests being decoded; please retry");
		pending_free(p);
		return;
	}
	conn_hold(p->conn);
}

static void on_request(void *ctx, struct conn *c, const struct http_request *req)
{
	struct receiver *rcv = ctx;
	const struct proto *fmt = proto_find(req->path);
	if (rcv->svc.stopping) {
		/* Shutting down: take no new work on open keep-alive
		 * connections, or steady traffic would hold the drain open.
		 * No reply at all, not even a 503: legacy Traccar Client on
		 * iOS counts any reply as delivered; a dropped connection
		 * makes every app keep the point and send it again. */
		conn_abort(c, "shutting down");
		return;
	}
	if (http_host_error(req)) {
		reject(c, req, fmt, 400, http_host_error(req));
		return;
	}
	if (!fmt) {
		reject(c, req, NULL, 404, "not found");
		return;
	}
	if (!strcmp(req->method, "HEAD") || !strcmp(req->method, "OPTIONS")) {
		/* μlogger probes reachability with HEAD. */
		conn_reply(c, 200, NULL, "", 0, NULL);
		return;
	}
	struct pending *p = xcalloc(1, sizeof *p);
	p->rcv = rcv;
	p->conn = c;
	p->fmt = fmt;
	decode_init(&p->d);
	p->d.now_ms = now_ms();
	if (req->body_discarded) {
		/* A dropped body (on_head) leaves the head's credential to judge. */
		fmt->head_cred(req, &p->d);
	} else if (req->body_len > DECODE_INLINE_MAX) {
		decode_later(p, req);
		return;
	} else {
		fmt->decode(req, &p->d);
	}
	decoded(p, req);
}


/* ---- process (service.h callbacks) ---- */

static int rcv_open(struct service *svc, struct server_config *sc)
{
	struct receiver *rcv = container_of(svc, struct receiver, svc);
	const struct config *cfg = rcv->cfg;
	char err[512];
	rcv->trust = trust_new(cfg->trusted_proxies, NULL, NULL, err, sizeof err);
	if (!rcv->trust) {
		log_warnx("%s", err);
		return -1;
	}
	rcv->guard = guard_new(rcv->trust);
	int flags = cfg->sync_full ? 0 : STORE_SYNC_NORMAL;
	rcv->store = store_open(cfg->store, flags, err, sizeof err);
	if (!rcv->store) {
		log_warnx("%s", err);
		return -1;
	}
	rcv->writer = writer_new(svc->loop, cfg->store, flags, err, sizeof err);
	if (!rcv->writer) {
		log_warnx("%s", err);
		return -1;
	}
	json_budget_init();      /* before the decode thread uses jansson */
	rcv->decoders = workpool_new(svc->loop, "decoders", DECODE_THREADS, DECODE_QUEUE);
	if (!rcv->decoders)
		return -1;
	/* A database that announces fixes itself tells every webapp; the
	 * datagram would tell this host's a second time. */
	rcv->live = store_announces(cfg->store) ? NULL : live_tx_new(cfg->store);
	ev_prepare_init(&rcv->live_flush, live_flush_cb);
	rcv->live_flush.data = rcv;
	ev_prepare_start(svc->loop, &rcv->live_flush);
	ev_unref(svc->loop);   /* the flush alone must not keep the loop running */
	sc->default_body_limit = 1 * MiB;
	sc->on_head = on_head;
	sc->on_request = on_request;
	sc->ctx = rcv;
	return 0;
}

/* Shutdown waits for every queued commit, without a time limit: an
 * acknowledged point is a committed one. */
static int rcv_busy(struct service *svc)
{
	struct receiver *rcv = container_of(svc, struct receiver, svc);
	return writer_pending(rcv->writer) > 0 || workpool_pending(rcv->decoders) > 0;
}

static void rcv_stopping(struct service *svc)
{
	struct receiver *rcv = container_of(svc, struct receiver, svc);
	log_info("stopping: no new connections, finishing %zu in-flight requests",
	         writer_pending(rcv->writer));
}

static void rcv_quiesce(struct service *svc)
{
	struct receiver *rcv = container_of(svc, struct receiver, svc);
	/* Decoded requests go on to the writer, so the pool stops first;
	 * writer_free commits anything still queued and answers it. */
	workpool_free(rcv->decoders);
	rcv->decoders = NULL;
	writer_free(rcv->writer);
	rcv->writer = NULL;
	ev_ref(svc->loop);
	ev_prepare_stop(svc->loop, &rcv->live_flush);
}

static void rcv_close(struct service *svc)
{
	struct receiver *rcv = container_of(svc, struct receiver, svc);
	workpool_free(rcv->decoders);
	writer_free(rcv->writer);
	live_tx_free(rcv->live);
	free(rcv->live_keys);
	store_close(rcv->store);
	guard_free(rcv->guard);
	trust_free(rcv->trust);
}

static const struct service_ops rcv_ops = {
	.open = rcv_open,
	.busy = rcv_busy,
	.stopping = rcv_stopping,
	.quiesce = rcv_quiesce,
	.close = rcv_close,
};

int receiver_main(const struct config *cfg, int listen_fd)
{
	struct receiver rcv;
	memset(&rcv, 0, sizeof rcv);
	credcache_init(&rcv.creds);
	rcv.cfg = cfg;
	rcv.svc.name = "receiver";
	rcv.svc.ops = &rcv_ops;
	return service_run(&rcv.svc, cfg, listen_fd);
}
