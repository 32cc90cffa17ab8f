/* server.c against real sockets on 127.0.0.1: the server runs on a libev
 * loop in this process and the clients are non-blocking sockets driven
 * by running that loop with EV_RUN_NOWAIT between reads. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "base/buf.h"
#include "base/log.h"
#include "net/net.h"
#include "net/server.h"
#include "webapp/web_stream.h"
#include "test.h"

/* ---- the server under test ---------------------------------------------- */

#define MAXDEFER 8

/* What a body sink (http_body_rule.sink) was told. */
struct sinkrec {
	struct buf got;          /* every byte handed to sink, in order */
	int        pieces;
	int        ends_ok;      /* sink_end(0) calls */
	int        ends_fail;    /* sink_end(-1) calls */
	int        ok_pending;   /* sink_end(0) came, its on_request not yet */
	int        ended;        /* sink_end came since rec_reset */
	size_t     refuse_at;    /* > 0: refuse once this many bytes came */
	int        refused;
	int        sunk_requests; /* on_request with body_sunk */
	int        misordered;   /* a sunk on_request without sink_end(0) first */
};

struct tserver {
	struct ev_loop *loop;
	int             lfd;
	int             port;
	struct server  *srv;
	ev_timer        defer_timer;
	struct conn    *deferred[MAXDEFER];
	char           *deferred_query[MAXDEFER];
	int             ndeferred;
	int             requests;
	int             owners_closed;   /* conn_ops.on_close calls */
	char            last_peer[64];
	struct sinkrec  sink;
};

static int rec_sink(void *ctx, const char *data, size_t len)
{
	struct sinkrec *r = ctx;
	if (r->ended)
		r->misordered = 1;   /* called after its end */
	r->pieces++;
	buf_add(&r->got, data, len);
	if (r->refuse_at && r->got.len >= r->refuse_at) {
		r->refused = 1;
		return 1;
	}
	return 0;
}

static void rec_end(void *ctx, int ok)
{
	struct sinkrec *r = ctx;
	r->ended = 1;
	if (ok == 0) {
		r->ends_ok++;
		r->ok_pending = 1;
	} else {
		r->ends_fail++;
	}
}

/* A fresh record for the next sunk request (the counts stay). */
static void rec_reset(struct sinkrec *r)
{
	buf_reset(&r->got);
	r->pieces = 0;
	r->refused = 0;
	r->ended = 0;
}

/* ---- a pull-mode stream: n pieces, or a failure at piece fail_at ---- */

struct pull {
	struct tserver *t;
	int             made;
	int             n;
	int             fail_at;   /* 0: never */
};

static int pull_more(void *ctx, struct conn *c)
{
	struct pull *p = ctx;
	if (++p->made == p->fail_at)
		return -1;
	char piece[32];
	int len = snprintf(piece, sizeof piece, "piece %d\n", p->made);
	conn_stream_write(c, piece, (size_t)len);
	return p->made >= p->n;
}

static void pull_closed(void *ctx, struct conn *c)
{
	(void)c;
	struct pull *p = ctx;
	p->t->owners_closed++;
	free(p);
}

static const struct conn_ops pull_ops = { .more = pull_more, .on_close = pull_closed };

/* The same through web_stream: a source of n pieces failing at fail_at. */
static int source_more(void *ctx, struct buf *out, size_t want)
{
	(void)want;
	struct pull *p = ctx;
	if (++p->made == p->fail_at)
		return -1;
	buf_printf(out, "piece %d\n", p->made);
	return p->made >= p->n;
}

static void source_free(void *ctx)
{
	struct pull *p = ctx;
	p->t->owners_closed++;
	free(p);
}

static const struct web_source test_source = { .more = source_more, .free = source_free };

static void pull_start(struct tserver *t, struct conn *c, int n, int fail_at)
{
	struct pull *p = calloc(1, sizeof *p);
	CHECK(p != NULL);
	*p = (struct pull){ .t = t, .n = n, .fail_at = fail_at };
	conn_stream_begin(c, 200, "text/plain", NULL);
	conn_stream_attach(c, &pull_ops, p);
}

/* Answers every held request, in the order they were held. */
static void defer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct tserver *t = (struct tserver *)w->data;
	for (int i = 0; i < t->ndeferred; i++) {
		if (strcmp(t->deferred_query[i], "stream") == 0) {
			pull_start(t, t->deferred[i], 3, 0);
			free(t->deferred_query[i]);
			continue;
		}
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "deferred:%s", t->deferred_query[i]);
		conn_reply(t->deferred[i], 200, "text/plain", b.data, b.len, NULL);
		buf_free(&b);
		free(t->deferred_query[i]);
	}
	t->ndeferred = 0;
}

static void handler(void *ctx, struct conn *c, const struct http_request *req)
{
	struct tserver *t = ctx;
	t->requests++;
	snprintf(t->last_peer, sizeof t->last_peer, "%s", req->peer);
	if (strcmp(req->path, "/defer") == 0 && t->ndeferred < MAXDEFER) {
		conn_hold(c);
		t->deferred[t->ndeferred] = c;
		t->deferred_query[t->ndeferred] = strdup(req->query);
		t->ndeferred++;
		ev_timer_set(&t->defer_timer, 0.05, 0.);
		ev_timer_start(t->loop, &t->defer_timer);
		return;
	}
	if (strcmp(req->path, "/bigstream") == 0) {
		/* Many small pieces, as an export writes them. */
		conn_stream_begin(c, 200, "text/plain", NULL);
		for (int i = 0; i < 20000; i++)
			conn_stream_write(c, "0123456789", 10);
		conn_stream_end(c);
		return;
	}
	if (strcmp(req->path, "/stream") == 0) {
		conn_stream_begin(c, 200, "text/plain", "X-Test: 1\r\n");
		conn_stream_write(c, "a", 1);
		conn_stream_write(c, "bc", 2);
		conn_stream_end(c);
		return;
	}
	if (strcmp(req->path, "/pull") == 0) {
		pull_start(t, c, atoi(req->query), 0);
		return;
	}
	if (strcmp(req->path, "/pullfail") == 0) {
		pull_start(t, c, 1000, atoi(req->query));
		return;
	}
	if (strcmp(req->path, "/source") == 0) {
		struct pull *p = calloc(1, sizeof *p);
		CHECK(p != NULL);
		*p = (struct pull){ .t = t, .n = 1000, .fail_at = atoi(req->query) };
		web_stream(c, &test_source, p, "text/plain", NULL);
		return;
	}
	if (strcmp(req->path, "/abort") == 0) {
		conn_abort(c, "test");
		return;
	}
	if (strncmp(req->path, "/sink", 5) == 0) {
		/* sink_end(0) came just before, on this call stack. */
		if (!req->body_sunk || req->body_discarded || req->body_len != 0 ||
		    !t->sink.ok_pending)
			t->sink.misordered = 1;
		t->sink.ok_pending = 0;
		t->sink.sunk_requests++;
		char b[64];
		int n = snprintf(b, sizeof b, "%s:%zu", t->sink.refused ? "refused" : "sunk",
		                 t->sink.got.len);
		conn_reply(c, t->sink.refused ? 400 : 200, "text/plain", b, (size_t)n, NULL);
		return;
	}
	if (strcmp(req->path, "/echo") == 0) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s?%s|%s", req->path, req->query, req->body);
		conn_reply(c, 200, "text/plain", b.data, b.len, "X-Echo: yes\r\n");
		buf_free(&b);
		return;
	}
	conn_reply(c, 404, "text/plain", "not found\n", 10, NULL);
}

/* /sink's body goes to t->sink (4 MiB; /sink/small 1000 bytes). */
static void body_limit(void *ctx, const struct http_request *head, struct http_body_rule *rule)
{
	struct tserver *t = ctx;
	rule->limit = strcmp(head->path, "/big") == 0 ? 8u * 1024 * 1024 : 1024;
	if (strncmp(head->path, "/sink", 5) == 0) {
		rule->limit = strcmp(head->path, "/sink/small") == 0 ? 1000 : 4u * 1024 * 1024;
		rule->sink = rec_sink;
		rule->sink_end = rec_end;
		rule->sink_ctx = &t->sink;
		rule->discard = 1;   /* ignored with a sink */
	}
}

struct tserver_opts {
	double idle_timeout;        /* 0: 0.3 s */
	double request_timeout;
	size_t min_body_rate;
	size_t max_buffered_per_addr;
};

static void tserver_start_opts(struct tserver *t, int max_conns, const struct tserver_opts *o)
{
	memset(t, 0, sizeof *t);
	log_set_level(LOG_LVL_ERROR);   /* rejected requests are expected here */
	t->loop = ev_loop_new(EVFLAG_AUTO);
	char err[256];
	t->lfd = net_listen("127.0.0.1:0", err, sizeof err);
	CHECK(t->lfd >= 0);
	char name[64];
	net_sockname(t->lfd, name, sizeof name);
	CHECK(strncmp(name, "127.0.0.1:", 10) == 0);
	t->port = atoi(name + 10);
	CHECK(t->port > 0);
	struct server_config cfg = {
		.max_conns = max_conns,
		.idle_timeout = 0.3,
		.max_header_bytes = 16 * 1024,
		.default_body_limit = 1024,
		.on_head = body_limit,
		.on_request = handler,
		.ctx = t,
		.name = "test",
	};
	if (o) {
		if (o->idle_timeout > 0)
			cfg.idle_timeout = o->idle_timeout;
		cfg.request_timeout = o->request_timeout;
		cfg.min_body_rate = o->min_body_rate;
		cfg.max_buffered_per_addr = o->max_buffered_per_addr;
	}
	t->srv = server_new(t->loop, t->lfd, &cfg);
	CHECK(t->srv != NULL);
	ev_init(&t->defer_timer, defer_cb);
	t->defer_timer.data = t;
	buf_init(&t->sink.got);
}

static void tserver_start(struct tserver *t, int max_conns)
{
	tserver_start_opts(t, max_conns, NULL);
}

static void tserver_stop(struct tserver *t)
{
	ev_timer_stop(t->loop, &t->defer_timer);
	for (int i = 0; i < t->ndeferred; i++)
		free(t->deferred_query[i]);
	server_free(t->srv);
	close(t->lfd);
	ev_loop_destroy(t->loop);
	buf_free(&t->sink.got);
	log_set_level(LOG_LVL_INFO);
}

/* ---- clients ------------------------------------------------------------ */

#define MAXRESP 16

struct resp {
	int  status;
	char body[256];
	size_t blen;
	size_t total;     /* whole body length */
};

struct client {
	int fd;
	http_parser p;
	struct resp r[MAXRESP];
	int nresp;        /* responses complete (counts past MAXRESP too) */
	int eof;
	int bad;          /* the response stream did not parse */
	int head_at;      /* index of the response that answers a HEAD, or -1 */
	struct buf cur;
};

static struct client *client_of(http_parser *p)
{
	return p->data;
}

static int c_on_body(http_parser *p, const char *at, size_t len)
{
	buf_add(&client_of(p)->cur, at, len);
	return 0;
}

static int c_on_headers_complete(http_parser *p)
{
	struct client *cl = client_of(p);
	return cl->nresp == cl->head_at ? 1 : 0;
}

static int c_on_message_complete(http_parser *p)
{
	struct client *cl = client_of(p);
	if (cl->nresp < MAXRESP) {
		struct resp *r = &cl->r[cl->nresp];
		r->total = cl->cur.len;
		r->status = (int)p->status_code;
		r->blen = cl->cur.len < sizeof r->body - 1 ? cl->cur.len : sizeof r->body - 1;
		if (r->blen)
			memcpy(r->body, cl->cur.data, r->blen);
		r->body[r->blen] = 0;
	} else {
		/* Keep the last one visible for the long keep-alive run. */
		struct resp *r = &cl->r[MAXRESP - 1];
		r->total = cl->cur.len;
		r->status = (int)p->status_code;
		r->blen = cl->cur.len < sizeof r->body - 1 ? cl->cur.len : sizeof r->body - 1;
		if (r->blen)
			memcpy(r->body, cl->cur.data, r->blen);
		r->body[r->blen] = 0;
	}
	cl->nresp++;
	buf_reset(&cl->cur);
	return 0;
}

static const http_parser_settings resp_settings = {
	.on_body = c_on_body,
	.on_headers_complete = c_on_headers_complete,
	.on_message_complete = c_on_message_complete,
};

static void client_open(struct client *cl, int port)
{
	memset(cl, 0, sizeof *cl);
	cl->head_at = -1;
	buf_init(&cl->cur);
	http_parser_init(&cl->p, HTTP_RESPONSE);
	cl->p.data = cl;
	cl->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(cl->fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rc = connect(cl->fd, (struct sockaddr *)&sa, sizeof sa);
	CHECK(rc == 0 || errno == EINPROGRESS);
}

static void client_close(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	buf_free(&cl->cur);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read whatever the server sent so far. */
static void client_pump(struct client *cl)
{
	char tmp[65536];
	while (cl->fd >= 0 && !cl->eof) {
		ssize_t n = recv(cl->fd, tmp, sizeof tmp, 0);
		if (n < 0)
			break;
		if (n == 0) {
			cl->eof = 1;
			break;
		}
		size_t used = http_parser_execute(&cl->p, &resp_settings, tmp, (size_t)n);
		if (used != (size_t)n || HTTP_PARSER_ERRNO(&cl->p) != HPE_OK)
			cl->bad = 1;
	}
}

/* Run the loop and read until `done` or `secs` pass; returns done(). */
static int run_until(struct tserver *t, struct client **cls, int ncl,
                     int (*done)(struct tserver *, struct client **, int), double secs)
{
	double end = now_s() + secs;
	for (;;) {
		ev_run(t->loop, EVRUN_NOWAIT);
		for (int i = 0; i < ncl; i++)
			client_pump(cls[i]);
		if (done && done(t, cls, ncl))
			return 1;
		if (now_s() > end)
			return done ? done(t, cls, ncl) : 1;
		usleep(200);
	}
}

static void client_send(struct tserver *t, struct client *cl, const char *data, size_t len)
{
	double end = now_s() + 2;
	while (len > 0 && now_s() < end) {
		ssize_t n = send(cl->fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)
			break;
		struct client *one[1] = { cl };
		run_until(t, one, 1, NULL, 0.001);
	}
}

static void client_sends(struct tserver *t, struct client *cl, const char *s)
{
	client_send(t, cl, s, strlen(s));
}

static int want_n;
static int have_n(struct tserver *t, struct client **cls, int ncl)
{
	(void)t;
	for (int i = 0; i < ncl; i++)
		if (cls[i]->nresp < want_n)
			return 0;
	return 1;
}

static int have_eof(struct tserver *t, struct client **cls, int ncl)
{
	(void)t;
	for (int i = 0; i < ncl; i++)
		if (!cls[i]->eof)
			return 0;
	return 1;
}

static int wait_responses(struct tserver *t, struct client *cl, int n, double secs)
{
	struct client *one[1] = { cl };
	want_n = n;
	return run_until(t, one, 1, have_n, secs);
}

static int wait_eof(struct tserver *t, struct client *cl, double secs)
{
	struct client *one[1] = { cl };
	return run_until(t, one, 1, have_eof, secs);
}

/* ---- tests -------------------------------------------------------------- */

TEST(server_listen_errors)
{
	char err[256], name[64];
	int fd = net_listen("127.0.0.1:0", err, sizeof err);
	CHECK(fd >= 0);
	net_sockname(fd, name, sizeof name);
	char again[80];
	snprintf(again, sizeof again, "%s", name);
	int fd2 = net_listen(again, err, sizeof err);
	CHECK_INT(fd2, -1);
	char want[160];
	snprintf(want, sizeof want, "cannot listen on %s: Address already in use", again);
	CHECK_STR(err, want);
	CHECK_INT(net_listen("no-port-here", err, sizeof err), -1);
	CHECK(strstr(err, "no-port-here") != NULL);
	int fd6 = net_listen("[::1]:0", err, sizeof err);
	if (fd6 >= 0) {   /* IPv6 may be off in a container */
		net_sockname(fd6, name, sizeof name);
		CHECK(strncmp(name, "[::1]:", 6) == 0);
		close(fd6);
	}
	int flags = fcntl(fd, F_GETFL);
	CHECK(flags & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST(server_keep_alive_1000)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	int ok = 1;
	for (int i = 0; i < 1000 && ok; i++) {
		char req[128], want[64];
		snprintf(req, sizeof req, "GET /echo?i=%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
		client_sends(&t, &cl, req);
		ok = wait_responses(&t, &cl, i + 1, 2.0);
		snprintf(want, sizeof want, "/echo?i=%d|", i);
		int k = cl.nresp <= MAXRESP ? cl.nresp - 1 : MAXRESP - 1;
		if (ok && (cl.r[k].status != 200 || strcmp(cl.r[k].body, want) != 0))
			ok = 0;
	}
	CHECK(ok);
	CHECK_INT(cl.nresp, 1000);
	CHECK(!cl.eof && !cl.bad);
	CHECK_INT(server_conns(t.srv), 1);
	CHECK(strncmp(t.last_peer, "127.0.0.1:", 10) == 0);
	client_close(&cl);
	tserver_stop(&t);
}

TEST(server_pipelined_in_order)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	cl.head_at = 5;
	client_sends(&t, &cl,
	             "GET /echo?1 HTTP/1.1\r\n\r\n"
	             "GET /defer?2 HTTP/1.1\r\n\r\n"
	             "POST /echo?3 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"
	             "GET /nothing?4 HTTP/1.1\r\n\r\n"
	             "GET /stream HTTP/1.1\r\n\r\n"
	             "HEAD /echo?6 HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 1, 10.0));
	/* The deferred one blocks the rest until it is answered. */
	CHECK_INT(server_waiting(t.srv), 1);
	CHECK_INT(cl.nresp, 1);
	CHECK(wait_responses(&t, &cl, 6, 10.0));
	CHECK_INT(cl.nresp, 6);
	CHECK(!cl.bad);
	CHECK_STR(cl.r[0].body, "/echo?1|");
	CHECK_STR(cl.r[1].body, "deferred:2");
	CHECK_STR(cl.r[2].body, "/echo?3|body");
	CHECK_INT(cl.r[3].status, 404);
	CHECK_STR(cl.r[4].body, "abc");
	CHECK_INT(cl.r[5].status, 200);
	CHECK_INT(cl.r[5].blen, 0);
	CHECK_INT(server_waiting(t.srv), 0);
	/* Still open for more. */
	client_sends(&t, &cl, "GET /echo?7 HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 7, 10.0));
	CHECK_STR(cl.r[6].body, "/echo?7|");
	CHECK(!cl.eof);
	client_close(&cl);
	tserver_stop(&t);
}

TEST(server_404_keeps_open)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "GET /missing HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 1, 10.0));
	CHECK_INT(cl.r[0].status, 404);
	client_sends(&t, &cl, "GET /echo HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 2, 10.0));
	CHECK_INT(cl.r[1].status, 200);
	CHECK(!cl.eof);
	client_close(&cl);
	tserver_stop(&t);
}

/* conn_abort: no reply at all, the connection drops, nothing pipelined
 * behind it is answered, and the server goes on serving others. */
TEST(server_abort_drops_without_reply)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl, other;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "GET /echo HTTP/1.1\r\n\r\nGET /abort HTTP/1.1\r\n\r\n"
	                      "GET /echo HTTP/1.1\r\n\r\n");
	CHECK(wait_eof(&t, &cl, 1.0));
	CHECK_INT(cl.nresp, 1);
	CHECK_INT(cl.r[0].status, 200);
	client_open(&other, t.port);
	client_sends(&t, &other, "GET /echo HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &other, 1, 1.0));
	CHECK_INT(other.r[0].status, 200);
	client_close(&cl);
	client_close(&other);
	tserver_stop(&t);
}

TEST(server_connection_close_and_http10)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client a, b;
	client_open(&a, t.port);
	client_open(&b, t.port);
	client_sends(&t, &a, "GET /echo HTTP/1.1\r\nConnection: close\r\n\r\nGET /echo HTTP/1.1\r\n\r\n");
	client_sends(&t, &b, "GET /stream HTTP/1.0\r\n\r\n");
	CHECK(wait_eof(&t, &a, 1.0));
	CHECK(wait_eof(&t, &b, 1.0));
	CHECK_INT(a.nresp, 1);
	CHECK_INT(a.r[0].status, 200);
	/* HTTP/1.0: no chunking, the body ends with the connection. */
	http_parser_execute(&b.p, &resp_settings, NULL, 0);
	CHECK_INT(b.nresp, 1);
	CHECK_STR(b.r[0].body, "abc");
	client_close(&a);
	client_close(&b);
	tserver_stop(&t);
}

TEST(server_431_413_close)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client a, b, c;
	client_open(&a, t.port);
	client_open(&b, t.port);
	client_open(&c, t.port);
	struct buf big;
	buf_init(&big);
	buf_adds(&big, "GET /echo HTTP/1.1\r\n");
	for (int i = 0; big.len < 17 * 1024; i++)
		buf_printf(&big, "X-Pad-%d: %0200d\r\n", i, i);
	buf_adds(&big, "\r\n");
	client_send(&t, &a, big.data, big.len);
	buf_free(&big);
	CHECK(wait_eof(&t, &a, 1.5));
	CHECK_INT(a.nresp, 1);
	CHECK_INT(a.r[0].status, 431);

	/* A good request first, then one over the limit. */
	client_sends(&t, &b, "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"
	                     "POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n\r\n");
	CHECK(wait_eof(&t, &b, 1.5));
	CHECK_INT(b.nresp, 2);
	CHECK_INT(b.r[0].status, 200);
	CHECK_INT(b.r[1].status, 413);
	CHECK(strstr(b.r[1].body, "too large") != NULL);

	/* /big allows more; garbage is a 400. */
	client_sends(&t, &c, "POST /big HTTP/1.1\r\nContent-Length: 5000\r\n\r\n");
	struct buf body;
	buf_init(&body);
	for (int i = 0; i < 5000; i++)
		buf_addc(&body, 'x');
	client_send(&t, &c, body.data, body.len);
	buf_free(&body);
	CHECK(wait_responses(&t, &c, 1, 1.0));
	CHECK_INT(c.r[0].status, 404);
	client_sends(&t, &c, "BLAH\r\n\r\n");
	CHECK(wait_eof(&t, &c, 1.5));
	CHECK_INT(c.nresp, 2);
	CHECK_INT(c.r[1].status, 400);
	client_close(&a);
	client_close(&b);
	client_close(&c);
	CHECK(run_until(&t, NULL, 0, NULL, 0.05));
	CHECK_INT(server_conns(t.srv), 0);
	tserver_stop(&t);
}

TEST(server_expect_continue)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 1, 10.0));
	CHECK_INT(cl.r[0].status, 100);
	client_sends(&t, &cl, "abc");
	CHECK(wait_responses(&t, &cl, 2, 10.0));
	CHECK_INT(cl.r[1].status, 200);
	CHECK_STR(cl.r[1].body, "/echo?|abc");
	client_close(&cl);
	tserver_stop(&t);
}

TEST(server_idle_timeout)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client silent, partial, kept;
	client_open(&silent, t.port);
	client_open(&partial, t.port);
	client_open(&kept, t.port);
	client_sends(&t, &partial, "GET /echo HTT");
	client_sends(&t, &kept, "GET /echo HTTP/1.1\r\n\r\n");
	double start = now_s();
	struct client *all[3] = { &silent, &partial, &kept };
	CHECK(run_until(&t, all, 3, have_eof, 1.5));
	double took = now_s() - start;
	CHECK(took > 0.25 && took < 1.0);
	CHECK_INT(silent.nresp, 0);
	CHECK_INT(partial.nresp, 1);
	CHECK_INT(partial.r[0].status, 408);
	CHECK_INT(kept.nresp, 1);
	CHECK_INT(kept.r[0].status, 200);
	client_close(&silent);
	client_close(&partial);
	client_close(&kept);
	CHECK(run_until(&t, NULL, 0, NULL, 0.05));
	CHECK_INT(server_conns(t.srv), 0);
	tserver_stop(&t);
}

static int none_waiting(struct tserver *t, struct client **cls, int ncl)
{
	(void)cls;
	(void)ncl;
	return server_waiting(t->srv) == 0 && server_conns(t->srv) == 0;
}

TEST(server_client_gone_while_deferred)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "GET /defer?x HTTP/1.1\r\n\r\nGET /echo HTTP/1.1\r\n\r\n");
	struct client *one[1] = { &cl };
	for (int i = 0; i < 100 && server_waiting(t.srv) == 0; i++)
		run_until(&t, one, 1, NULL, 0.001);
	CHECK_INT(server_waiting(t.srv), 1);
	client_close(&cl);
	/* The fd goes at once; the struct waits for the deferred reply. */
	CHECK(run_until(&t, NULL, 0, none_waiting, 1.0));
	CHECK_INT(t.ndeferred, 0);
	CHECK_INT(t.requests, 1);
	tserver_stop(&t);
}

TEST(server_max_conns)
{
	struct tserver t;
	tserver_start(&t, 2);
	struct client c[3];
	for (int i = 0; i < 3; i++) {
		client_open(&c[i], t.port);
		client_sends(&t, &c[i], "GET /echo HTTP/1.1\r\n\r\n");
	}
	struct client *two[2] = { &c[0], &c[1] };
	want_n = 1;
	CHECK(run_until(&t, two, 2, have_n, 1.0));
	/* The third waits in the backlog: not refused, not served. */
	CHECK(wait_responses(&t, &c[2], 1, 0.1) == 0);
	CHECK(!c[2].eof);
	CHECK_INT(server_conns(t.srv), 2);
	client_close(&c[0]);
	CHECK(wait_responses(&t, &c[2], 1, 1.0));
	CHECK_INT(c[2].r[0].status, 200);
	client_close(&c[1]);
	client_close(&c[2]);
	tserver_stop(&t);
}

TEST(server_stop_accepting)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client a, b;
	client_open(&a, t.port);
	client_sends(&t, &a, "GET /echo HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &a, 1, 1.0));
	server_stop_accepting(t.srv);
	client_open(&b, t.port);
	client_sends(&t, &b, "GET /echo HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &b, 1, 0.1) == 0);
	/* Open connections are still served. */
	client_sends(&t, &a, "GET /echo HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &a, 2, 1.0));
	client_close(&a);
	client_close(&b);
	tserver_stop(&t);
}

TEST(server_big_stream)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "GET /bigstream HTTP/1.1\r\n\r\nGET /echo?after HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 2, 10.0));
	CHECK(!cl.bad);
	CHECK_INT(cl.r[0].status, 200);
	CHECK_INT(cl.r[0].total, 200000);
	CHECK_STR(cl.r[1].body, "/echo?after|");
	client_close(&cl);
	tserver_stop(&t);
}

/* A deferred reply at the head of a long pipeline: the server stops
 * reading while the input piles up and resumes once it has answered. */
TEST(server_pipeline_backpressure)
{
	/* 3,000 answers through one loop that is also the client: on a loaded
	 * machine a pause between reads outlasted the 0.3 s idle timeout (a
	 * 408 mid-pipeline). Idleness is not what this test is about. */
	struct tserver_opts o = { .idle_timeout = 5.0 };
	struct tserver t;
	tserver_start_opts(&t, 16, &o);
	struct client cl;
	client_open(&cl, t.port);
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "GET /defer?first HTTP/1.1\r\n\r\n");
	for (int i = 0; i < 3000; i++)
		buf_printf(&b, "GET /echo?%d HTTP/1.1\r\nHost: localhost\r\n\r\n", i);
	CHECK(b.len > 100 * 1024);
	client_send(&t, &cl, b.data, b.len);
	buf_free(&b);
	CHECK(wait_responses(&t, &cl, 3001, 10.0));
	CHECK_INT(cl.nresp, 3001);
	CHECK(!cl.bad && !cl.eof);
	CHECK_STR(cl.r[0].body, "deferred:first");
	CHECK_STR(cl.r[1].body, "/echo?0|");
	CHECK_STR(cl.r[MAXRESP - 1].body, "/echo?2999|");
	client_close(&cl);
	tserver_stop(&t);
}

/* A pull stream: the producer is asked until it says done, the stream
 * ends properly (the connection serves the next request), and its owner
 * hears of the end exactly once. */
TEST(server_pull_stream)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "GET /pull?5000 HTTP/1.1\r\n\r\nGET /echo?after HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 2, 10.0));
	CHECK(!cl.bad && !cl.eof);
	CHECK_INT(cl.r[0].status, 200);
	CHECK(strncmp(cl.r[0].body, "piece 1\npiece 2\n", 16) == 0);
	CHECK(cl.r[0].total > 5000 * 8);
	CHECK_STR(cl.r[1].body, "/echo?after|");
	CHECK_INT(t.owners_closed, 1);
	client_close(&cl);
	tserver_stop(&t);
}

/* A producer that fails after the 200 went out: the connection closes, so
 * the client sees a cut-off body (no last chunk), not a complete one. */
TEST(server_pull_stream_fails)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "GET /pullfail?3 HTTP/1.1\r\n\r\n");
	CHECK(wait_eof(&t, &cl, 2.0));
	CHECK_INT(cl.nresp, 0);
	CHECK_INT(t.owners_closed, 1);
	client_close(&cl);
	tserver_stop(&t);
}

/* A held request whose client left, answered later with a stream: the
 * owner hears at once that it is over, and the struct is freed (ASan's
 * leak check fails this test otherwise). */
TEST(server_stream_after_client_left)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "GET /defer?stream HTTP/1.1\r\n\r\n");
	struct client *one[1] = { &cl };
	for (int i = 0; i < 100 && server_waiting(t.srv) == 0; i++)
		run_until(&t, one, 1, NULL, 0.001);
	CHECK_INT(server_waiting(t.srv), 1);
	client_close(&cl);
	CHECK(run_until(&t, NULL, 0, none_waiting, 1.0));
	for (int i = 0; i < 100 && t.owners_closed == 0; i++)
		run_until(&t, NULL, 0, NULL, 0.01);
	CHECK_INT(t.owners_closed, 1);
	CHECK_INT(t.ndeferred, 0);
	tserver_stop(&t);
}

/* web_stream makes the first piece before the status line: a source that
 * fails at once gives a clean 503 (the connection stays usable); one that
 * fails later cuts the body off. */
TEST(server_web_stream_errors)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "GET /source?1 HTTP/1.1\r\n\r\nGET /echo?after HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 2, 10.0));
	CHECK_INT(cl.r[0].status, 503);
	CHECK_STR(cl.r[1].body, "/echo?after|");
	CHECK_INT(t.owners_closed, 1);
	client_close(&cl);

	client_open(&cl, t.port);
	client_sends(&t, &cl, "GET /source?40 HTTP/1.1\r\n\r\n");
	CHECK(wait_eof(&t, &cl, 2.0));
	CHECK_INT(cl.nresp, 0);
	CHECK_INT(t.owners_closed, 2);
	client_close(&cl);
	tserver_stop(&t);
}

/* ---- body sinks --------------------------------------------------------- */

/* n bytes of every value, NUL and CR LF included. */
static void make_body(struct buf *b, size_t n)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++)
		buf_addc(b, (char)((i * 7 + i / 256) & 0xff));
}

/* Sends data in pieces of odd sizes, running the server between them. */
static void send_pieces(struct tserver *t, struct client *cl, const char *data, size_t len)
{
	static const size_t sizes[] = { 1, 7, 2, 13, 4096, 3, 65537, 1, 999 };
	struct client *one[1] = { cl };
	for (size_t off = 0, i = 0; off < len; i++) {
		size_t n = sizes[i % (sizeof sizes / sizeof sizes[0])];
		if (n > len - off)
			n = len - off;
		client_send(t, cl, data + off, n);
		off += n;
		run_until(t, one, 1, NULL, 0.0005);
	}
}

static void chunk_encode(struct buf *out, const struct buf *body)
{
	static const size_t sizes[] = { 5, 1, 4000, 17, 70000, 2 };
	buf_reset(out);
	for (size_t off = 0, i = 0; off < body->len; i++) {
		size_t n = sizes[i % (sizeof sizes / sizeof sizes[0])];
		if (n > body->len - off)
			n = body->len - off;
		buf_printf(out, "%zx\r\n", n);
		buf_add(out, body->data + off, n);
		buf_adds(out, "\r\n");
		off += n;
	}
	buf_adds(out, "0\r\n\r\n");
}

/* The sink gets exactly the body, Content-Length or chunked, sent in odd
 * pieces; on_request follows sink_end(0), once each, with body_sunk and no
 * body; the connection goes on (a pipelined request behind a sunk body
 * in the same write is served). Sunk bytes do not count as buffered: 1 MiB
 * goes through a server whose per-address cap is 100 KiB, where a buffered
 * 200 KiB body is refused. */
TEST(server_sink_receives_body)
{
	struct tserver t;
	struct tserver_opts o = { .max_buffered_per_addr = 100 * 1024 };
	tserver_start_opts(&t, 16, &o);
	struct client cl;
	client_open(&cl, t.port);
	struct buf body, wire;
	buf_init(&body);
	buf_init(&wire);
	make_body(&body, 1024 * 1024 + 3);

	buf_printf(&wire, "POST /sink HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", body.len);
	buf_add(&wire, body.data, body.len);
	send_pieces(&t, &cl, wire.data, wire.len);
	CHECK(wait_responses(&t, &cl, 1, 10.0));
	CHECK_INT(cl.r[0].status, 200);
	CHECK_STR(cl.r[0].body, "sunk:1048579");
	CHECK(t.sink.got.len == body.len && memcmp(t.sink.got.data, body.data, body.len) == 0);
	CHECK(t.sink.pieces > 1);
	CHECK_INT(t.sink.ends_ok, 1);
	CHECK_INT(t.sink.ends_fail, 0);
	CHECK_INT(t.sink.sunk_requests, 1);

	rec_reset(&t.sink);
	make_body(&body, 300 * 1024 + 11);
	buf_reset(&wire);
	buf_adds(&wire, "POST /sink HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	struct buf chunked;
	buf_init(&chunked);
	chunk_encode(&chunked, &body);
	buf_add(&wire, chunked.data, chunked.len);
	buf_free(&chunked);
	buf_adds(&wire, "GET /echo?after HTTP/1.1\r\n\r\n");
	send_pieces(&t, &cl, wire.data, wire.len);
	CHECK(wait_responses(&t, &cl, 3, 10.0));
	CHECK_INT(cl.r[1].status, 200);
	CHECK_STR(cl.r[1].body, "sunk:307211");
	CHECK(t.sink.got.len == body.len && memcmp(t.sink.got.data, body.data, body.len) == 0);
	CHECK_STR(cl.r[2].body, "/echo?after|");

	/* Sunk body and the next request in one write. */
	rec_reset(&t.sink);
	client_sends(&t, &cl, "POST /sink HTTP/1.1\r\nContent-Length: 5\r\n\r\nab\r\ncGET /echo?next HTTP/1.1\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 5, 10.0));
	CHECK_STR(cl.r[3].body, "sunk:5");
	CHECK_STR(t.sink.got.data, "ab\r\nc");
	CHECK_STR(cl.r[4].body, "/echo?next|");

	/* 100-continue: answered, then the body goes to the sink. */
	rec_reset(&t.sink);
	client_sends(&t, &cl, "POST /sink HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
	CHECK(wait_responses(&t, &cl, 6, 10.0));
	CHECK_INT(cl.r[5].status, 100);
	client_sends(&t, &cl, "xyz");
	CHECK(wait_responses(&t, &cl, 7, 10.0));
	CHECK_STR(cl.r[6].body, "sunk:3");
	CHECK_INT(t.sink.ends_ok, 4);
	CHECK_INT(t.sink.ends_fail, 0);
	CHECK_INT(t.sink.sunk_requests, 4);
	CHECK(!t.sink.misordered);
	CHECK(!cl.eof && !cl.bad);

	/* The same cap still holds for buffered bodies. */
	make_body(&body, 200 * 1024);
	buf_reset(&wire);
	buf_printf(&wire, "POST /big HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", body.len);
	buf_add(&wire, body.data, body.len);
	client_send(&t, &cl, wire.data, wire.len);
	CHECK(wait_eof(&t, &cl, 2.0));
	CHECK_INT(cl.r[7].status, 503);
	buf_free(&body);
	buf_free(&wire);
	client_close(&cl);
	tserver_stop(&t);
}

/* The client leaves mid-body, or resets: sink_end(-1) once, no on_request. */
TEST(server_sink_client_gone)
{
	struct tserver t;
	tserver_start(&t, 16);
	for (int reset = 0; reset < 2; reset++) {
		struct client cl;
		client_open(&cl, t.port);
		client_sends(&t, &cl, "POST /sink HTTP/1.1\r\nContent-Length: 100000\r\n\r\n0123456789");
		struct client *one[1] = { &cl };
		for (int i = 0; i < 200 && t.sink.got.len < 10; i++)
			run_until(&t, one, 1, NULL, 0.001);
		CHECK_INT(t.sink.got.len, 10);
		if (reset) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(cl.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		}
		client_close(&cl);
		for (int i = 0; i < 200 && t.sink.ends_fail < reset + 1; i++)
			run_until(&t, NULL, 0, NULL, 0.001);
		CHECK_INT(t.sink.ends_fail, reset + 1);
		rec_reset(&t.sink);
	}
	CHECK(run_until(&t, NULL, 0, none_waiting, 1.0));
	CHECK_INT(t.sink.ends_ok, 0);
	CHECK_INT(t.sink.ends_fail, 2);
	CHECK_INT(t.requests, 0);
	tserver_stop(&t);
	CHECK_INT(t.sink.ends_fail, 2);
}

/* Over the limit: a Content-Length above it gets 413 before any byte; a
 * chunked body crossing it mid-stream gets 413 and the connection closes.
 * Either way sink_end(-1) once and no on_request. */
TEST(server_sink_limit)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client a, b;
	client_open(&a, t.port);
	client_sends(&t, &a, "POST /sink/small HTTP/1.1\r\nContent-Length: 1001\r\n\r\n");
	CHECK(wait_eof(&t, &a, 2.0));
	CHECK_INT(a.nresp, 1);
	CHECK_INT(a.r[0].status, 413);
	CHECK_INT(t.sink.got.len, 0);
	CHECK_INT(t.sink.ends_fail, 1);

	client_open(&b, t.port);
	client_sends(&t, &b, "POST /sink/small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	struct buf piece;
	buf_init(&piece);
	buf_adds(&piece, "190\r\n");   /* 400 bytes a chunk: the third crosses 1000 */
	for (int i = 0; i < 400; i++)
		buf_addc(&piece, 'z');
	buf_adds(&piece, "\r\n");
	for (int i = 0; i < 3; i++)
		client_send(&t, &b, piece.data, piece.len);
	buf_free(&piece);
	CHECK(wait_eof(&t, &b, 2.0));
	CHECK_INT(b.nresp, 1);
	CHECK_INT(b.r[0].status, 413);
	CHECK(t.sink.got.len <= 1000);
	CHECK_INT(t.sink.ends_fail, 2);
	CHECK_INT(t.sink.ends_ok, 0);
	CHECK_INT(t.requests, 0);
	client_close(&a);
	client_close(&b);
	tserver_stop(&t);
	CHECK_INT(t.sink.ends_fail, 2);
}

/* A sink that refuses is not called again; the rest of the body is read
 * and dropped and the handler answers (its own status), on a connection
 * that goes on. */
TEST(server_sink_refuses)
{
	struct tserver t;
	tserver_start(&t, 16);
	t.sink.refuse_at = 100;
	struct client cl;
	client_open(&cl, t.port);
	struct buf body, wire;
	buf_init(&body);
	buf_init(&wire);
	make_body(&body, 50000);
	buf_printf(&wire, "POST /sink HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", body.len);
	buf_add(&wire, body.data, body.len);
	buf_adds(&wire, "GET /echo?after HTTP/1.1\r\n\r\n");
	send_pieces(&t, &cl, wire.data, wire.len);
	CHECK(wait_responses(&t, &cl, 2, 10.0));
	CHECK_INT(cl.r[0].status, 400);
	CHECK(strncmp(cl.r[0].body, "refused:", 8) == 0);
	CHECK(t.sink.got.len >= 100 && t.sink.got.len < body.len);
	CHECK_STR(cl.r[1].body, "/echo?after|");
	CHECK_INT(t.sink.ends_ok, 1);
	CHECK_INT(t.sink.ends_fail, 0);
	CHECK(!t.sink.misordered);
	buf_free(&body);
	buf_free(&wire);
	client_close(&cl);
	tserver_stop(&t);
}

/* The server shuts down while a body is being sunk: sink_end(-1) once. */
TEST(server_sink_server_free)
{
	struct tserver t;
	tserver_start(&t, 16);
	struct client cl;
	client_open(&cl, t.port);
	client_sends(&t, &cl, "POST /sink HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
	struct client *one[1] = { &cl };
	for (int i = 0; i < 200 && t.sink.got.len < 3; i++)
		run_until(&t, one, 1, NULL, 0.001);
	CHECK_INT(t.sink.got.len, 3);
	CHECK_INT(t.sink.ends_fail, 0);
	tserver_stop(&t);
	CHECK_INT(t.sink.ends_fail, 1);
	CHECK_INT(t.sink.ends_ok, 0);
	client_close(&cl);
}

/* Sends body bytes at `rate` a second for `secs` seconds, or until the
 * server answers or closes. */
static void drip(struct tserver *t, struct client *cl, size_t rate, double secs)
{
	struct client *one[1] = { cl };
	double start = now_s(), step = 0.02;
	size_t sent = 0;
	char x[4096];
	memset(x, 'x', sizeof x);
	while (now_s() - start < secs && !cl->eof && cl->nresp == 0) {
		size_t due = (size_t)((now_s() - start) * (double)rate);
		if (due > sent) {
			size_t n = due - sent < sizeof x ? due - sent : sizeof x;
			if (send(cl->fd, x, n, MSG_NOSIGNAL) > 0)
				sent += n;
		}
		run_until(t, one, 1, NULL, step);
	}
}

/* A sunk upload outlasting request_timeout is served while it keeps up
 * min_body_rate, however long it takes; one below it gets 408 after about
 * a window, although the bytes it sent first were fast (no credit). A
 * buffered body below the rate still gets 408. */
TEST(server_sink_slow_upload)
{
	struct tserver t;
	struct tserver_opts o = { .request_timeout = 0.4, .min_body_rate = 2000 };
	tserver_start_opts(&t, 16, &o);
	struct client a, b, c;
	client_open(&a, t.port);
	client_sends(&t, &a, "POST /sink HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n");
	drip(&t, &a, 6000, 1.3);   /* well past request_timeout: not cut */
	CHECK_INT(a.nresp, 0);
	CHECK(!a.eof);
	CHECK(t.sink.got.len > 5000);
	CHECK_INT(t.sink.ends_fail, 0);
	client_close(&a);
	for (int i = 0; i < 200 && t.sink.ends_fail < 1; i++)
		run_until(&t, NULL, 0, NULL, 0.001);
	CHECK_INT(t.sink.ends_fail, 1);

	/* Fast first (100 KB would earn 50 s of credit), then trickling. */
	client_open(&b, t.port);
	struct buf body;
	buf_init(&body);
	make_body(&body, 100000);
	client_sends(&t, &b, "POST /sink HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n");
	client_send(&t, &b, body.data, body.len);
	buf_free(&body);
	double start = now_s();
	drip(&t, &b, 200, 3.0);
	double took = now_s() - start;
	CHECK(wait_eof(&t, &b, 1.0));
	CHECK_INT(b.nresp, 1);
	CHECK_INT(b.r[0].status, 408);
	CHECK(took < 1.5);

	client_open(&c, t.port);
	client_sends(&t, &c, "POST /big HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
	start = now_s();
	drip(&t, &c, 200, 3.0);
	took = now_s() - start;
	CHECK(wait_eof(&t, &c, 1.0));
	CHECK_INT(c.nresp, 1);
	CHECK_INT(c.r[0].status, 408);
	CHECK(took < 1.5);

	CHECK_INT(t.sink.ends_fail, 2);   /* b's too */
	client_close(&b);
	client_close(&c);
	CHECK_INT(t.sink.ends_ok, 0);
	tserver_stop(&t);
}
