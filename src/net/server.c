/* libev HTTP/1.1 server: see server.h. One loop serves every connection;
 * nothing here blocks. Wire parsing is http_parse.c; this file owns the
 * sockets, the watchers and the lifetime of struct conn.
 *
 * Lifetime: conn_new() is the only constructor, conn_close(c, reason) the
 * only way a connection ends (idempotent: stops every watcher, closes the
 * fd). The struct itself is freed later, by conn_release(), once nothing
 * refers to it any more: no callback or public call is running on it
 * (c->refs) and no request handed to on_request still awaits its reply
 * (reply_owed). So a deferred reply after the client left, or a write
 * error inside a handler, never touches freed memory.
 *
 * What a connection is doing is one phase (enum conn_phase), changed only
 * by conn_phase(), which checks the transition against phase_next[] and
 * keeps server_waiting() in step; the other fields are facts that hold in
 * any phase (eof, no_timeout) or describe the current request and stream.
 * The invariants are asserted in the test builds (conn_check). */
#include "net/server.h"
#include "base/util.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "net/http_parse.h"
#include "net/net.h"
#include "net/peers.h"
#include "base/log.h"

#define READ_CHUNK       (64 * 1024)
/* Unparsed pipelined input kept while a reply is pending; beyond it we stop
 * reading (TCP pushes back on the client). */
#define INBUF_HIGH       (64 * 1024)
/* Queued output beyond which no further pipelined request is started. */
#define OUTBUF_HIGH      (1024 * 1024)
/* After a close-after-reply, read and drop what the client still sends
 * for this long, so our reply is not destroyed by a TCP reset. */
#define LINGER_SECONDS   2.0
/* Queued stream output sent at once from this size on. */
#define STREAM_FLUSH     (16 * 1024)
/* A pull stream is asked for more while less than this is queued. */
#define PULL_LOW         (64 * 1024)
/* At most this many pulls per write event, so one download cannot starve
 * the other connections of the loop. */
#define PULL_BURST       8
/* Pause after EMFILE/ENFILE before accepting again. */
#define ACCEPT_PAUSE     0.5

/* Where a connection is in its request/reply cycle. The socket's state is
 * apart (fd < 0 once closed): a request handed to the handler keeps its
 * phase when the client leaves, because its reply is still owed. */
enum conn_phase {
	CONN_READING,    /* no request handed out: parse the next one */
	CONN_HANDLING,   /* a request is with the handler; its reply is owed */
	CONN_HELD,       /* the same, answered later (conn_hold): counted in
	                  * server_waiting */
	CONN_STREAMING,  /* the reply's head is out, its body under way */
	CONN_RAW,        /* upgraded: the client's bytes go to ops->on_data */
	CONN_DRAINING,   /* the last output is queued: send it, then linger */
	CONN_LINGERING,  /* write side shut: drop input until FIN or timeout */
	CONN_CLOSED,     /* socket closed, nothing owed: freed once unused */
};

#define PH(p) (1u << (p))
#define PH_ANSWER (PH(CONN_STREAMING) | PH(CONN_RAW) | PH(CONN_READING) | \
                   PH(CONN_DRAINING) | PH(CONN_CLOSED))
/* The state machine: phase_next[p] holds the phases p may change to
 * (checked by assert, so only in the test builds). */
#ifndef NDEBUG
static const unsigned phase_next[] = {
	[CONN_READING]   = PH(CONN_HANDLING) | PH(CONN_DRAINING) | PH(CONN_CLOSED),
	[CONN_HANDLING]  = PH(CONN_HELD) | PH_ANSWER,
	[CONN_HELD]      = PH_ANSWER,
	[CONN_STREAMING] = PH(CONN_READING) | PH(CONN_DRAINING) | PH(CONN_CLOSED),
	[CONN_RAW]       = PH(CONN_DRAINING) | PH(CONN_CLOSED),
	[CONN_DRAINING]  = PH(CONN_LINGERING) | PH(CONN_CLOSED),
	[CONN_LINGERING] = PH(CONN_CLOSED),
	[CONN_CLOSED]    = 0,
};
#endif

struct conn {
	struct server *srv;
	struct conn   *prev, *next;
	int            fd;          /* -1 once closed */
	enum conn_phase phase;
	ev_io          rw, ww;
	ev_timer       idle;
	ev_timer       deadline;    /* the request being read must be in by then */
	ev_tstamp      req_start;   /* when its first byte came */
	/* A sunk body's current window (see conn_sink_window): since when,
	 * and its body bytes seen then. */
	ev_tstamp      win_start;
	size_t         win_seen;
	struct peer   *addr;        /* the client address's counts; NULL: none */
	size_t         buffered;    /* body bytes counted in addr and the server */
	struct http_in in;
	struct buf     inbuf;       /* read from the socket, parsed up to inoff */
	size_t         inoff;
	struct buf     out;         /* queued output, written up to outoff */
	size_t         outoff;
	char           peer[64];
	int            refs;        /* calls on the stack that use this conn */
	/* The owner of the long-lived reply (STREAMING, RAW, or DRAINING out
	 * of one of them), until ops->on_close has been called. */
	const struct conn_ops *ops;
	void          *ops_ctx;
	/* The request handed out, and its streamed reply. */
	bool           req_head;
	bool           req_keep_alive;
	bool           req_http11;
	bool           stream_chunked;      /* false: HTTP/1.0 stream ends with close */
	bool           stream_close;        /* close once the stream ends */
	/* Facts that hold in any phase. */
	bool           eof;                 /* the client sent FIN */
	bool           no_timeout;          /* exempt from the idle rule */
	/* Re-entrancy guards: a call below us is already doing this. */
	bool           in_process;
	bool           in_pull;             /* inside ops->more */
	bool           close_due;           /* closed during it: tell afterwards */
};

struct server {
	struct ev_loop *loop;
	int             fd;
	ev_io           accept_w;
	ev_timer        accept_pause;
	struct server_config cfg;
	struct conn    *conns;      /* every struct conn, open or awaiting a reply */
	size_t          nconns;     /* open sockets */
	struct peers   *peers;      /* per client address: conns, buffered */
	size_t          buffered;   /* request body bytes held, all connections */
	size_t          nwaiting;
	int             accepting;
	ev_tstamp       refused_logged;  /* conn_refused: last line written */
	size_t          refused_quiet;   /* refusals since, not logged */
	time_t          date_sec;    /* second the cached Date header is for */
	char            date_hdr[96];
};

static void conn_process(struct conn *c);
static void conn_close(struct conn *c, const char *reason);
static void conn_notify_close(struct conn *c);
static void conn_pull(struct conn *c);

/* ---- connection lifetime ------------------------------------------------ */

static const char *srv_name(const struct server *s)
{
	return s->cfg.name ? s->cfg.name : "server";
}

static size_t out_pending(const struct conn *c)
{
	return c->out.len - c->outoff;
}

static bool conn_closed(const struct conn *c)
{
	return c->fd < 0;
}

/* The handler has a request whose answer has not begun. */
static bool reply_owed(const struct conn *c)
{
	return c->phase == CONN_HANDLING || c->phase == CONN_HELD;
}

/* The invariants of the phase; checked after every change (assert is off
 * in the release build, see the Makefile). */
static void conn_check(const struct conn *c)
{
	assert(c->phase != CONN_CLOSED || conn_closed(c));
	assert(!conn_closed(c) || c->phase == CONN_CLOSED || reply_owed(c));
	assert(c->phase != CONN_LINGERING || out_pending(c) == 0);
	assert(c->phase != CONN_HELD || c->srv->nwaiting > 0);
	/* A long-lived reply's owner hears of its end before the next
	 * request is taken. */
	assert(!c->ops || !(c->phase == CONN_READING || reply_owed(c)));
	(void)c;
}

/* Every phase change goes through here. */
static void conn_phase(struct conn *c, enum conn_phase to)
{
	assert(phase_next[c->phase] & PH(to));
	if (c->phase == CONN_HELD)
		c->srv->nwaiting--;
	if (to == CONN_HELD)
		c->srv->nwaiting++;
	c->phase = to;
	conn_check(c);
}

static void conn_ref(struct conn *c)
{
	c->refs++;
}

/* Free the struct once it is closed and nothing refers to it. */
static void conn_release(struct conn *c)
{
	if (!conn_closed(c) || c->refs > 0 || reply_owed(c))
		return;
	struct server *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	http_in_free(&c->in);
	buf_free(&c->inbuf);
	buf_free(&c->out);
	free(c);
}

/* Drop a reference; the conn may be freed: the caller must not use it. */
static void conn_unref(struct conn *c)
{
	c->refs--;
	conn_release(c);
}

static void accept_resume(struct server *s)
{
	if (s->accepting && s->fd >= 0 && !ev_is_active(&s->accept_w) &&
	    !ev_is_active(&s->accept_pause) && (int)s->nconns < s->cfg.max_conns)
		ev_io_start(s->loop, &s->accept_w);
}

/* Sets the body bytes c holds to n in its address's and the server's
 * totals; false when growing to n takes either past its cap. */
static bool conn_count_buffered(struct conn *c, size_t n)
{
	struct server *s = c->srv;
	bool grew = n > c->buffered;
	s->buffered = s->buffered - c->buffered + n;
	if (c->addr)
		c->addr->buffered = c->addr->buffered - c->buffered + n;
	c->buffered = n;
	return !grew || (s->buffered <= s->cfg.max_buffered &&
	                 (!c->addr || c->addr->buffered <= s->cfg.max_buffered_per_addr));
}

/* Tells the owner of a long-lived reply, once, that it is over. */
static void conn_notify_close(struct conn *c)
{
	const struct conn_ops *ops = c->ops;
	if (!ops)
		return;
	/* The producer is still running on its state: free it after. */
	if (c->in_pull) {
		c->close_due = true;
		return;
	}
	c->ops = NULL;
	if (!ops->on_close)
		return;
	conn_ref(c);
	ops->on_close(c->ops_ctx, c);
	c->refs--;   /* no release here: the caller goes on with c */
}

/* The one way a connection ends. Idempotent; the struct lives on while a
 * reply is owed or a call is using it. */
static void conn_close(struct conn *c, const char *reason)
{
	if (conn_closed(c))
		return;
	struct server *s = c->srv;
	log_debug("%s: %s: connection closed: %s", srv_name(s), c->peer, reason);
	ev_io_stop(s->loop, &c->rw);
	ev_io_stop(s->loop, &c->ww);
	ev_timer_stop(s->loop, &c->idle);
	ev_timer_stop(s->loop, &c->deadline);
	close(c->fd);
	c->fd = -1;
	s->nconns--;
	conn_count_buffered(c, 0);
	/* A body being sunk is cut off: its owner hears so now, not when
	 * the struct is freed. */
	http_in_cancel(&c->in);
	if (c->addr) {
		c->addr->conns--;
		peers_put(s->peers, c->addr);
		c->addr = NULL;
	}
	accept_resume(s);
	/* An unfinished stream is over: nobody reads it any more. */
	if (!reply_owed(c))
		conn_phase(c, CONN_CLOSED);
	conn_notify_close(c);
	conn_release(c);
}

/* Idle rule: the timer runs while we wait for the client (to send a
 * request, or to read our output); it is stopped while the client waits
 * for us (a deferred reply) and for exempt connections. */
static void conn_arm_timer(struct conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	if (conn_closed(c) || c->phase == CONN_LINGERING)
		return;
	bool awaits_us = reply_owed(c) || c->phase == CONN_STREAMING;
	if (c->no_timeout || (awaits_us && out_pending(c) == 0)) {
		ev_timer_stop(loop, &c->idle);
		return;
	}
	c->idle.repeat = c->srv->cfg.idle_timeout;
	ev_timer_again(loop, &c->idle);
}

/* Reply sent and close wanted: stop sending, keep draining the client's
 * input for a moment, then close (see LINGER_SECONDS). */
static void conn_linger(struct conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	if (c->phase != CONN_DRAINING)
		return;
	if (c->eof) {
		conn_close(c, "done");
		return;
	}
	if (shutdown(c->fd, SHUT_WR) < 0) {
		conn_close(c, "shutdown failed");
		return;
	}
	conn_phase(c, CONN_LINGERING);
	buf_reset(&c->inbuf);
	c->inoff = 0;
	ev_io_stop(loop, &c->ww);
	ev_io_start(loop, &c->rw);
	double t = c->srv->cfg.idle_timeout < LINGER_SECONDS ? c->srv->cfg.idle_timeout
	                                                      : LINGER_SECONDS;
	c->idle.repeat = t > 0 ? t : LINGER_SECONDS;
	ev_timer_again(loop, &c->idle);
}

/* Write queued output; 0 when all of it went out, 1 when some remains
 * (write watcher started), -1 when the connection closed. */
static bool pulling(const struct conn *c)
{
	return c->phase == CONN_STREAMING && c->ops && c->ops->more;
}

static int conn_flush(struct conn *c)
{
	while (out_pending(c) > 0) {
		ssize_t n = send(c->fd, c->out.data + c->outoff, out_pending(c), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(c->srv->loop, &c->ww);
			return 1;
		}
		if (n < 0) {
			log_debug("%s: %s: write: %s", srv_name(c->srv), c->peer, strerror(errno));
			conn_close(c, "write error");
			return -1;
		}
		c->outoff += (size_t)n;
	}
	buf_reset(&c->out);
	c->outoff = 0;
	/* A pull stream wants to hear when the socket can take more. */
	if (!pulling(c))
		ev_io_stop(c->srv->loop, &c->ww);
	return 0;
}

/* Send iov now if nothing is queued, queue what the socket does not take. */
static void conn_send(struct conn *c, struct iovec *iov, int niov)
{
	if (conn_closed(c) || c->phase == CONN_LINGERING)
		return;
	size_t skip = 0;
	if (out_pending(c) == 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)niov };
		ssize_t n;
		do
			n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			log_debug("%s: %s: write: %s", srv_name(c->srv), c->peer, strerror(errno));
			conn_close(c, "write error");
			return;
		}
		skip = n > 0 ? (size_t)n : 0;
	}
	for (int i = 0; i < niov; i++) {
		size_t len = iov[i].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		buf_add(&c->out, (const char *)iov[i].iov_base + skip, len - skip);
		skip = 0;
	}
	if (out_pending(c) > 0)
		ev_io_start(c->srv->loop, &c->ww);
}

static void conn_send_str(struct conn *c, const char *s, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)s, .iov_len = len };
	conn_send(c, &iov, 1);
}

/* Streams arrive in many small pieces (one per exported point): collect
 * them and let the write watcher send them on the next loop iteration,
 * in large writes, unless enough has piled up to send now. */
static void conn_queue(struct conn *c, const char *s, size_t len)
{
	if (conn_closed(c) || c->phase == CONN_LINGERING)
		return;
	buf_add(&c->out, s, len);
	if (out_pending(c) >= STREAM_FLUSH)
		conn_flush(c);
	else
		ev_io_start(c->srv->loop, &c->ww);
}

/* ---- responses ---------------------------------------------------------- */

/* The Date header changes once a second; format it once a second. */
static void add_date(struct server *srv, struct buf *b)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)ev_now(srv->loop);
	if (t != srv->date_sec || !srv->date_hdr[0]) {
		struct tm tm;
		gmtime_r(&t, &tm);
		snprintf(srv->date_hdr, sizeof srv->date_hdr,
		         "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday],
		         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		         tm.tm_sec);
		srv->date_sec = t;
	}
	buf_adds(b, srv->date_hdr);
}

static void status_line(struct conn *c, struct buf *h, int status, const char *ctype)
{
	const char *text = http_status_text(status);
	buf_printf(h, "HTTP/1.1 %d %s\r\n", status, text ? text : "");
	add_date(c->srv, h);
	if (ctype)
		buf_printf(h, "Content-Type: %s\r\n", ctype);
}

void conn_abort(struct conn *c, const char *reason)
{
	conn_ref(c);
	conn_close(c, reason);
	/* Nothing will be sent: the reply is owed no more. */
	if (reply_owed(c))
		conn_phase(c, CONN_CLOSED);
	conn_unref(c);
}

/* The reply to the request handed out is complete (or the client is
 * gone): serve the next pipelined request, or close. */
static void conn_reply_done(struct conn *c, bool close_after)
{
	if (conn_closed(c)) {
		conn_phase(c, CONN_CLOSED);
		return;
	}
	if (close_after) {
		conn_phase(c, CONN_DRAINING);
		if (out_pending(c) == 0)
			conn_linger(c);
		else
			conn_arm_timer(c);   /* a held reply had it stopped */
		return;
	}
	conn_phase(c, CONN_READING);
	conn_arm_timer(c);
	if (!c->in_process)
		conn_process(c);
}

/* The handler may answer: a request is with it and nothing was sent. */
static bool may_answer(struct conn *c, const char *what)
{
	if (reply_owed(c))
		return true;
	log_warnx("%s: %s: %s without a request awaiting one", srv_name(c->srv), c->peer, what);
	return false;
}

static void reply(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                  const char *extra, bool force_close)
{
	if (!may_answer(c, "reply"))
		return;
	conn_ref(c);
	bool keep = c->req_keep_alive && !force_close && !c->eof;
	if (!conn_closed(c)) {
		struct buf h;
		buf_init(&h);
		status_line(c, &h, status, ctype);
		/* 204 and 304 have no body, and RFC 9110 forbids saying so. */
		if (status != 204 && status != 304)
			buf_printf(&h, "Content-Length: %zu\r\n", len);
		buf_printf(&h, "Connection: %s\r\n", keep ? "keep-alive" : "close");
		if (extra)
			buf_adds(&h, extra);
		buf_adds(&h, "\r\n");
		struct iovec iov[2] = {
			{ .iov_base = h.data, .iov_len = h.len },
			{ .iov_base = (void *)(uintptr_t)body, .iov_len = body ? len : 0 },
		};
		conn_send(c, iov, c->req_head || !body ? 1 : 2);
		buf_free(&h);
	}
	conn_reply_done(c, !keep);
	conn_unref(c);
}

void conn_reply(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                const char *extra_headers)
{
	reply(c, status, ctype, body, len, extra_headers, false);
}

void conn_reply_close(struct conn *c, int status, const char *ctype, const char *body,
                      size_t len, const char *extra_headers)
{
	reply(c, status, ctype, body, len, extra_headers, true);
}

/* A framing error or timeout of our own: a one-line reason, then close.
 * No request was handed out, so nothing is owed. */
static void conn_reject(struct conn *c, int status, const char *reason)
{
	assert(c->phase == CONN_READING);
	http_in_cancel(&c->in);   /* no request of this connection is read any more */
	char body[160];
	int n = snprintf(body, sizeof body, "%s\n", reason);
	if (n < 0 || (size_t)n >= sizeof body)
		n = (int)sizeof body - 1;
	struct buf h;
	buf_init(&h);
	status_line(c, &h, status, "text/plain; charset=utf-8");
	buf_printf(&h, "Content-Length: %d\r\nConnection: close\r\n\r\n", n);
	struct iovec iov[2] = {
		{ .iov_base = h.data, .iov_len = h.len },
		{ .iov_base = body, .iov_len = (size_t)n },
	};
	conn_send(c, iov, 2);
	buf_free(&h);
	if (conn_closed(c))
		return;
	conn_phase(c, CONN_DRAINING);
	if (out_pending(c) == 0)
		conn_linger(c);
}

void conn_stream_begin(struct conn *c, int status, const char *ctype, const char *extra_headers)
{
	if (!may_answer(c, "stream"))
		return;
	c->stream_chunked = c->req_http11 && !c->req_head;
	c->stream_close = !c->req_keep_alive || !c->req_http11 || c->eof;
	/* The client left while the handler worked: the stream is over
	 * before it began. */
	if (conn_closed(c)) {
		conn_phase(c, CONN_CLOSED);
		return;
	}
	/* The reply has begun: the connection no longer waits on us. */
	conn_phase(c, CONN_STREAMING);
	conn_ref(c);
	struct buf h;
	buf_init(&h);
	status_line(c, &h, status, ctype);
	if (c->stream_chunked)
		buf_adds(&h, "Transfer-Encoding: chunked\r\n");
	buf_printf(&h, "Connection: %s\r\n", c->stream_close ? "close" : "keep-alive");
	if (extra_headers)
		buf_adds(&h, extra_headers);
	buf_adds(&h, "\r\n");
	conn_queue(c, h.data, h.len);
	buf_free(&h);
	conn_arm_timer(c);
	conn_unref(c);
}

void conn_stream_write(struct conn *c, const char *data, size_t len)
{
	if (c->phase != CONN_STREAMING || conn_closed(c) || len == 0 || c->req_head)
		return;
	conn_ref(c);
	if (c->stream_chunked) {
		char head[32];
		int n = snprintf(head, sizeof head, "%zx\r\n", len);
		conn_queue(c, head, (size_t)n);
		conn_queue(c, data, len);
		conn_queue(c, "\r\n", 2);
	} else {
		conn_queue(c, data, len);
	}
	conn_arm_timer(c);
	conn_unref(c);
}

void conn_stream_end(struct conn *c)
{
	if (c->phase != CONN_STREAMING) {
		/* Closed, or cut off by conn_close_after_write, it is over
		 * already; anything else is a bug in the caller. */
		if (c->phase == CONN_READING || reply_owed(c))
			log_warnx("%s: %s: stream end without a stream", srv_name(c->srv),
			          c->peer);
		conn_release(c);   /* the caller's last use of a closed c */
		return;
	}
	assert(!c->ops);   /* its owner ends it from on_close, or not at all */
	conn_ref(c);
	if (c->stream_chunked)
		conn_queue(c, "0\r\n\r\n", 5);
	conn_reply_done(c, c->stream_close);
	conn_unref(c);
}

/* Ask the producer for more while little is queued (see PULL_LOW). */
static void conn_pull(struct conn *c)
{
	for (int i = 0; i < PULL_BURST && pulling(c) && out_pending(c) < PULL_LOW; i++) {
		/* HEAD: the headers are out and there is no body to make. */
		int rc = 1;
		if (!c->req_head) {
			c->in_pull = true;
			rc = c->ops->more(c->ops_ctx, c);
			c->in_pull = false;
		}
		if (c->close_due) {
			/* A write inside the producer found the client gone. */
			c->close_due = false;
			conn_notify_close(c);
			return;
		}
		if (rc == 0)
			continue;
		if (rc < 0) {
			conn_close(c, "stream failed");
			return;
		}
		conn_notify_close(c);
		conn_stream_end(c);
		return;
	}
	if (pulling(c))
		ev_io_start(c->srv->loop, &c->ww);
}

/* The owner hears of the end exactly once: now, if it came already. */
static void conn_set_owner(struct conn *c, const struct conn_ops *ops, void *ctx)
{
	c->ops = ops;
	c->ops_ctx = ctx;
	if (conn_closed(c)) {
		conn_notify_close(c);
		conn_release(c);   /* the caller's last use of a closed c */
	}
}

void conn_stream_attach(struct conn *c, const struct conn_ops *ops, void *ctx)
{
	if (c->phase != CONN_STREAMING && !conn_closed(c)) {
		log_warnx("%s: %s: stream owner without a stream", srv_name(c->srv), c->peer);
		return;
	}
	if (conn_closed(c)) {
		conn_set_owner(c, ops, ctx);   /* tells the owner, frees c */
		return;
	}
	conn_set_owner(c, ops, ctx);
	/* The first piece is made when the socket is writable, i.e. at once:
	 * the handler returns first. */
	if (pulling(c))
		ev_io_start(c->srv->loop, &c->ww);
}

void conn_upgrade(struct conn *c, const char *head, size_t len, const struct conn_ops *ops,
                  void *ctx)
{
	if (!may_answer(c, "upgrade"))
		return;
	if (conn_closed(c)) {
		conn_phase(c, CONN_CLOSED);
		conn_set_owner(c, ops, ctx);
		return;
	}
	conn_phase(c, CONN_RAW);
	conn_ref(c);
	conn_set_owner(c, ops, ctx);
	conn_send_str(c, head, len);
	conn_arm_timer(c);
	/* Bytes that came right behind the handshake are the new protocol's;
	 * conn_process hands them over once this request's call returns. */
	if (!c->in_process)
		conn_process(c);
	conn_unref(c);
}

void conn_raw_write(struct conn *c, const char *data, size_t len)
{
	if (c->phase != CONN_RAW || len == 0)
		return;
	conn_send_str(c, data, len);
	conn_arm_timer(c);
}

size_t conn_out_pending(const struct conn *c)
{
	return conn_closed(c) ? 0 : out_pending(c);
}

void conn_close_after_write(struct conn *c)
{
	if (c->phase != CONN_STREAMING && c->phase != CONN_RAW)
		return;
	if (out_pending(c) == 0) {
		conn_close(c, "closed by the server");
		return;
	}
	conn_phase(c, CONN_DRAINING);
	/* The queue may never drain (a client that stopped reading is the
	 * usual reason to get here): from now on the idle rule applies, even
	 * to a connection that was exempt from it. */
	c->no_timeout = false;
	conn_arm_timer(c);
}

void conn_hold(struct conn *c)
{
	if (c->phase != CONN_HANDLING)
		return;
	conn_phase(c, CONN_HELD);
	conn_arm_timer(c);
}

void conn_no_timeout(struct conn *c)
{
	c->no_timeout = true;
	if (!conn_closed(c) && c->phase != CONN_LINGERING)
		ev_timer_stop(c->srv->loop, &c->idle);
}

const char *conn_peer(const struct conn *c)
{
	return c->peer;
}

/* ---- request flow ------------------------------------------------------- */

static void conn_dispatch(struct conn *c)
{
	struct server *s = c->srv;
	struct http_request req;
	http_in_take(&c->in, &req);
	conn_count_buffered(c, 0);   /* the body is the handler's now */
	ev_timer_stop(s->loop, &c->deadline);
	snprintf(req.peer, sizeof req.peer, "%s", c->peer);
	conn_phase(c, CONN_HANDLING);
	c->req_head = strcmp(req.method, "HEAD") == 0;
	c->req_keep_alive = req.keep_alive != 0;
	c->req_http11 = http_in_http11(&c->in) != 0;
	s->cfg.on_request(s->cfg.ctx, c, &req);
	/* The contract is one answer per request; a handler that forgot
	 * would leave the client hanging and the connection stuck. */
	if (c->phase == CONN_HANDLING) {
		log_warnx("%s: %s: %s %s: handler gave no reply", srv_name(s), c->peer,
		          req.method, req.path);
		conn_reply_close(c, 500, "text/plain; charset=utf-8", "internal error\n", 15, NULL);
	}
	http_request_free(&req);
}

/* A request refused for what its address holds: logged at most once a
 * second per server, or an attack would fill the log. */
static void conn_refused(struct server *s, const char *peer, const char *why)
{
	ev_tstamp now = ev_now(s->loop);
	if (now - s->refused_logged < 1.0) {
		s->refused_quiet++;
		return;
	}
	if (s->refused_quiet)
		log_warnx("%s: %s: %s (and %zu more refusals in the last second)", srv_name(s), peer,
		          why, s->refused_quiet);
	else
		log_warnx("%s: %s: %s", srv_name(s), peer, why);
	s->refused_logged = now;
	s->refused_quiet = 0;
}

/* The request being read is due by then (see request_timeout). */
static ev_tstamp conn_request_due(const struct conn *c)
{
	const struct server_config *cfg = &c->srv->cfg;
	return c->req_start + cfg->request_timeout +
	       (double)http_in_body_seen(&c->in) / (double)cfg->min_body_rate;
}

/* The deadline runs while a request is partly in, from its first byte. */
static void conn_arm_deadline(struct conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	bool reading = !conn_closed(c) && c->phase == CONN_READING &&
	               (http_in_partial(&c->in) || c->inbuf.len > c->inoff);
	if (!reading) {
		ev_timer_stop(loop, &c->deadline);
		return;
	}
	if (ev_is_active(&c->deadline))
		return;
	c->req_start = c->win_start = ev_now(loop);
	c->win_seen = 0;
	ev_timer_set(&c->deadline, c->srv->cfg.request_timeout, 0.);
	ev_timer_start(loop, &c->deadline);
}

static void conn_parse_error(struct conn *c)
{
	int status = http_in_error_status(&c->in);
	const char *reason = http_in_error_reason(&c->in);
	log_reject("framing", "%s: %s: rejected request: %d %s", srv_name(c->srv), c->peer, status,
	           reason);
	conn_reject(c, status, reason);
}

static void conn_update_reading(struct conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	if (conn_closed(c) || c->phase == CONN_LINGERING)
		return;
	bool want = !c->eof && c->phase != CONN_DRAINING && c->inbuf.len - c->inoff < INBUF_HIGH;
	if (want)
		ev_io_start(loop, &c->rw);
	else
		ev_io_stop(loop, &c->rw);
}

/* Hand out buffered requests one at a time, in order, while no reply is
 * pending; a handler that answers at once lets the next one through. */
static void conn_process(struct conn *c)
{
	if (c->in_process || conn_closed(c))
		return;
	conn_ref(c);
	c->in_process = true;
	while ((c->phase == CONN_READING || c->phase == CONN_RAW) && !conn_closed(c) &&
	       out_pending(c) < OUTBUF_HIGH && c->inbuf.data) {
		if (c->phase == CONN_RAW) {
			size_t n = c->inbuf.len - c->inoff;
			if (n && c->ops && c->ops->on_data) {
				c->inoff = c->inbuf.len;
				c->ops->on_data(c->ops_ctx, c, c->inbuf.data + c->inbuf.len - n, n);
			}
			break;
		}
		size_t used;
		enum http_in_status st = http_in_feed(&c->in, c->inbuf.data + c->inoff,
		                                      c->inbuf.len - c->inoff, &used);
		c->inoff += used;
		if (!conn_count_buffered(c, http_in_body_bytes(&c->in))) {
			conn_refused(c->srv, c->peer, "too many uploads at once");
			conn_reject(c, 503, "too many uploads at once: retry later");
			break;
		}
		if (st == HTTP_IN_NEED_MORE)
			break;
		if (st == HTTP_IN_CONTINUE) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			conn_send_str(c, cont, sizeof cont - 1);
		} else if (st == HTTP_IN_ERROR) {
			conn_parse_error(c);
		} else {
			conn_dispatch(c);
		}
	}
	if (c->inoff == c->inbuf.len) {
		buf_reset(&c->inbuf);
		c->inoff = 0;
	}
	conn_arm_deadline(c);
	c->in_process = false;
	if (!conn_closed(c) && c->eof && (c->phase == CONN_READING || c->phase == CONN_RAW) &&
	    out_pending(c) == 0)
		conn_close(c, "client closed");
	conn_update_reading(c);
	conn_unref(c);
}

static void conn_read_linger(struct conn *c)
{
	char drop[4096];
	ssize_t n = read(c->fd, drop, sizeof drop);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		conn_close(c, "done");
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct conn *c = container_of(w, struct conn, rw);
	conn_ref(c);
	if (c->phase == CONN_LINGERING) {
		conn_read_linger(c);
		goto out;
	}
	if (c->inoff > 0) {
		buf_consume(&c->inbuf, c->inoff);
		c->inoff = 0;
	}
	buf_reserve(&c->inbuf, READ_CHUNK);
	ssize_t n = read(c->fd, c->inbuf.data + c->inbuf.len, c->inbuf.cap - c->inbuf.len - 1);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			log_debug("%s: %s: read: %s", srv_name(c->srv), c->peer, strerror(errno));
			conn_close(c, "read error");
		}
		goto out;
	}
	if (n == 0) {
		c->eof = true;
		ev_io_stop(c->srv->loop, &c->rw);
		/* Nobody to answer any more (see server.h): drop the socket,
		 * keep the struct for the owed reply. */
		if (reply_owed(c) || c->phase == CONN_STREAMING) {
			conn_close(c, "client closed while its reply was pending");
			goto out;
		}
	} else {
		c->inbuf.len += (size_t)n;
		c->inbuf.data[c->inbuf.len] = 0;
		conn_arm_timer(c);
	}
	conn_process(c);
out:
	conn_unref(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct conn *c = container_of(w, struct conn, ww);
	conn_ref(c);
	size_t before = out_pending(c);
	int rc = conn_flush(c);
	if (rc >= 0 && out_pending(c) != before)
		conn_arm_timer(c);
	if (rc >= 0 && pulling(c)) {
		conn_pull(c);
		rc = conn_closed(c) ? -1 : out_pending(c) ? 1 : 0;
	}
	if (rc == 0) {
		if (c->phase == CONN_DRAINING)
			conn_linger(c);
		else
			conn_process(c);
	}
	conn_unref(c);
}

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct conn *c = container_of(w, struct conn, idle);
	conn_ref(c);
	if (c->phase == CONN_LINGERING) {
		conn_close(c, "lingering close done");
	} else if (out_pending(c) > 0) {
		conn_close(c, "client stopped reading");
	} else if (c->phase == CONN_READING &&
	           (http_in_partial(&c->in) || c->inbuf.len > c->inoff)) {
		log_info("%s: %s: request timed out", srv_name(c->srv), c->peer);
		conn_reject(c, 408, "request timed out");
		/* The socket did not take the answer at once: don't wait. */
		if (c->phase != CONN_LINGERING)
			conn_close(c, "request timed out");
	} else {
		conn_close(c, "idle");
	}
	conn_unref(c);
}

/* A sunk body may be gigabytes long: the credit its first bytes earn
 * under conn_request_due would let the client stall (a byte per idle
 * timeout) for days. Instead it must keep up min_body_rate over each
 * window of request_timeout seconds: true when this window did, and a
 * new one begins (the timer fires again at its end). */
static bool conn_sink_window(struct conn *c)
{
	const struct server_config *cfg = &c->srv->cfg;
	ev_tstamp now = ev_now(c->srv->loop);
	size_t seen = http_in_body_seen(&c->in);
	size_t got = seen >= c->win_seen ? seen - c->win_seen : seen;
	if ((double)got < (now - c->win_start) * (double)cfg->min_body_rate)
		return false;
	c->win_start = now;
	c->win_seen = seen;
	ev_timer_set(&c->deadline, cfg->request_timeout, 0.);
	ev_timer_start(c->srv->loop, &c->deadline);
	return true;
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct conn *c = container_of(w, struct conn, deadline);
	if (http_in_sinking(&c->in)) {
		if (conn_sink_window(c))
			return;
	} else {
		ev_tstamp left = conn_request_due(c) - ev_now(loop);
		if (left > 0.01) {   /* body bytes came meanwhile: more time */
			ev_timer_set(w, left, 0.);
			ev_timer_start(loop, w);
			return;
		}
	}
	conn_ref(c);
	conn_refused(c->srv, c->peer, "request took too long");
	conn_reject(c, 408, "request took too long");
	/* The socket did not take the answer at once: don't wait. */
	if (c->phase != CONN_LINGERING)
		conn_close(c, "request took too long");
	conn_unref(c);
}

static void conn_on_head(void *ctx, const struct http_request *head, struct http_body_rule *rule)
{
	const struct server *s = ctx;
	if (s->cfg.on_head)
		s->cfg.on_head(s->cfg.ctx, head, rule);
}

static void conn_new(struct server *s, int fd, const struct sockaddr *sa)
{
	struct peer *addr = peers_get(s->peers, sa);
	if (addr && addr->conns >= (uint32_t)s->cfg.max_conns_per_addr) {
		char name[64];
		net_format_addr(sa, name, sizeof name);
		conn_refused(s, name, "too many connections from this address");
		close(fd);
		return;
	}
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		log_warnx("%s: out of memory for a connection", srv_name(s));
		close(fd);
		peers_put(s->peers, addr);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->addr = addr;
	if (addr)
		addr->conns++;
	net_format_addr(sa, c->peer, sizeof c->peer);
	struct http_in_limits lim = {
		.max_header_bytes = s->cfg.max_header_bytes,
		.default_body_limit = s->cfg.default_body_limit,
		.on_head = conn_on_head,
		.ctx = s,
	};
	http_in_init(&c->in, &lim);
	buf_init(&c->inbuf);
	buf_init(&c->out);
	ev_io_init(&c->rw, read_cb, fd, EV_READ);
	ev_io_init(&c->ww, write_cb, fd, EV_WRITE);
	ev_init(&c->idle, idle_cb);
	ev_init(&c->deadline, deadline_cb);
	c->idle.repeat = s->cfg.idle_timeout;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	int one = 1;
	/* Replies go out in one write each; don't let Nagle hold pipelined
	 * or streamed ones back. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	log_debug("%s: %s: connection accepted", srv_name(s), c->peer);
	ev_io_start(s->loop, &c->rw);
	ev_timer_again(s->loop, &c->idle);
}

/* ---- listener ----------------------------------------------------------- */

static void accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct server *s = container_of(w, struct server, accept_pause);
	ev_timer_stop(s->loop, &s->accept_pause);
	accept_resume(s);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct server *s = container_of(w, struct server, accept_w);
	for (;;) {
		/* Full: leave the rest in the backlog until one closes. */
		if ((int)s->nconns >= s->cfg.max_conns) {
			ev_io_stop(loop, &s->accept_w);
			return;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(s->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_new(s, fd, (struct sockaddr *)&ss);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		log_warn("%s: accept", srv_name(s));
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Out of descriptors: retrying at once would spin. */
			ev_io_stop(loop, &s->accept_w);
			ev_timer_set(&s->accept_pause, ACCEPT_PAUSE, 0.);
			ev_timer_start(loop, &s->accept_pause);
		}
		return;
	}
}

struct server *server_new(struct ev_loop *loop, int listen_fd, const struct server_config *cfg)
{
	struct server *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->loop = loop;
	s->fd = listen_fd;
	s->cfg = *cfg;
	if (s->cfg.max_conns <= 0)
		s->cfg.max_conns = 1024;
	if (s->cfg.idle_timeout <= 0)
		s->cfg.idle_timeout = 30;
	if (!s->cfg.max_header_bytes)
		s->cfg.max_header_bytes = 16 * 1024;
	if (!s->cfg.default_body_limit)
		s->cfg.default_body_limit = 1024 * 1024;
	if (s->cfg.max_conns_per_addr <= 0)
		s->cfg.max_conns_per_addr = s->cfg.max_conns / 8 > 4 ? s->cfg.max_conns / 8 : 4;
	if (!s->cfg.max_buffered)
		s->cfg.max_buffered = 96u * 1024 * 1024;
	if (!s->cfg.max_buffered_per_addr)
		s->cfg.max_buffered_per_addr = 32u * 1024 * 1024;
	if (s->cfg.request_timeout <= 0)
		s->cfg.request_timeout = 30;
	if (!s->cfg.min_body_rate)
		s->cfg.min_body_rate = 8 * 1024;
	s->peers = peers_new((size_t)s->cfg.max_conns);
	s->accepting = 1;
	ev_io_init(&s->accept_w, accept_cb, listen_fd, EV_READ);
	ev_timer_init(&s->accept_pause, accept_pause_cb, ACCEPT_PAUSE, 0.);
	ev_io_start(loop, &s->accept_w);
	return s;
}

void server_stop_accepting(struct server *s)
{
	s->accepting = 0;
	ev_io_stop(s->loop, &s->accept_w);
	ev_timer_stop(s->loop, &s->accept_pause);
}

size_t server_waiting(const struct server *s)
{
	return s->nwaiting;
}

size_t server_conns(const struct server *s)
{
	return s->nconns;
}

/* Held connections must have been answered first: a conn_reply() after
 * this would use freed memory. The listening fd stays the caller's. */
void server_free(struct server *s)
{
	if (!s)
		return;
	server_stop_accepting(s);
	while (s->conns) {
		struct conn *c = s->conns;
		/* A stream (SSE) is cut at shutdown by design; a plain reply
		 * still owed is a bug somewhere. */
		if (reply_owed(c))
			log_warnx("%s: %s: freed while a reply was pending", srv_name(s), c->peer);
		c->refs = 0;
		conn_abort(c, "server shutting down");
	}
	peers_free(s->peers);
	free(s);
}
