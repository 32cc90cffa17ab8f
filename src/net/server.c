/* libev HTTP/1.1 server: see server.h. One loop serves every connection;
 * nothing here blocks. Wire parsing is http_parse.c; this file owns the
 * sockets, the watchers and the lifetime of struct conn.
 *
 * Lifetime: conn_new() is the only constructor, conn_close(c, reason) the
 * only way a connection ends (idempotent: stops every watcher, closes the
 * fd). The struct itself is freed later, by conn_release(), once nothing
 * refers to it any more: no callback or public call is running on it
 * (c->refs) and no request handed to on_request still awaits its reply
 * (c->pending_reply). So a deferred reply after the client left, or a write
 * error inside a handler, never touches freed memory. */
#include "net/server.h"
#include "base/util.h"

#include <errno.h>
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

struct conn {
	struct server *srv;
	struct conn   *prev, *next;
	int            fd;
	ev_io          rw, ww;
	ev_timer       idle;
	struct http_in in;
	struct buf     inbuf;       /* read from the socket, parsed up to inoff */
	size_t         inoff;
	struct buf     out;         /* queued output, written up to outoff */
	size_t         outoff;
	char           peer[64];
	int            refs;        /* calls on the stack that use this conn */
	/* Long-lived replies (server.h): a pull stream's producer, the
	 * upgraded connection's input handler, and who to tell at the end. */
	int          (*pull)(void *ctx, struct conn *c);
	void          *pull_ctx;
	void         (*on_data)(void *ctx, struct conn *c, const char *data, size_t len);
	void          *data_ctx;
	void         (*on_close)(void *ctx, struct conn *c);
	void          *close_ctx;
	unsigned       closed : 1;          /* fd closed, watchers stopped */
	unsigned       pending_reply : 1;   /* a request awaits its reply */
	unsigned       held : 1;            /* counted in server_waiting */
	unsigned       streaming : 1;       /* a chunked reply is under way */
	unsigned       stream_chunked : 1;  /* 0: HTTP/1.0 stream ends with close */
	unsigned       stream_close : 1;    /* close once the stream ends */
	unsigned       req_head : 1;
	unsigned       req_keep_alive : 1;
	unsigned       req_http11 : 1;
	unsigned       close_after_write : 1;
	unsigned       lingering : 1;
	unsigned       eof : 1;             /* the client sent FIN */
	unsigned       no_timeout : 1;
	unsigned       in_process : 1;
	unsigned       raw : 1;             /* upgraded: no more HTTP */
	unsigned       in_pull : 1;         /* inside the pull producer */
	unsigned       close_due : 1;       /* closed during it: tell afterwards */
};

struct server {
	struct ev_loop *loop;
	int             fd;
	ev_io           accept_w;
	ev_timer        accept_pause;
	struct server_config cfg;
	struct conn    *conns;      /* every struct conn, open or awaiting a reply */
	size_t          nconns;     /* open sockets */
	size_t          nwaiting;
	int             accepting;
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

static void conn_ref(struct conn *c)
{
	c->refs++;
}

/* Free the struct once it is closed and nothing refers to it. */
static void conn_release(struct conn *c)
{
	if (!c->closed || c->refs > 0 || c->pending_reply)
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

/* Tells the owner of a long-lived reply, once, that it is over. */
static void conn_notify_close(struct conn *c)
{
	void (*cb)(void *, struct conn *) = c->on_close;
	if (!cb)
		return;
	/* The producer is still running on its state: free it after. */
	if (c->in_pull) {
		c->close_due = 1;
		return;
	}
	c->on_close = NULL;
	conn_ref(c);
	cb(c->close_ctx, c);
	c->refs--;   /* no release here: the caller goes on with c */
}

/* The one way a connection ends. Idempotent; the struct lives on while a
 * reply is pending or a call is using it. */
static void conn_close(struct conn *c, const char *reason)
{
	if (c->closed)
		return;
	struct server *s = c->srv;
	log_debug("%s: %s: connection closed: %s", srv_name(s), c->peer, reason);
	ev_io_stop(s->loop, &c->rw);
	ev_io_stop(s->loop, &c->ww);
	ev_timer_stop(s->loop, &c->idle);
	close(c->fd);
	c->fd = -1;
	c->closed = 1;
	s->nconns--;
	accept_resume(s);
	c->pull = NULL;
	c->on_data = NULL;
	conn_notify_close(c);
	/* Nobody reads an unfinished stream any more: it is over. */
	if (c->streaming) {
		c->streaming = 0;
		c->pending_reply = 0;
	}
	conn_release(c);
}

static size_t out_pending(const struct conn *c)
{
	return c->out.len - c->outoff;
}

/* Idle rule: the timer runs while we wait for the client (to send a
 * request, or to read our output); it is stopped while the client waits
 * for us (a deferred reply) and for exempt connections. */
static void conn_arm_timer(struct conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	if (c->closed || c->lingering)
		return;
	if (c->no_timeout || (c->pending_reply && out_pending(c) == 0)) {
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
	if (c->closed || c->lingering)
		return;
	if (c->eof) {
		conn_close(c, "done");
		return;
	}
	if (shutdown(c->fd, SHUT_WR) < 0) {
		conn_close(c, "shutdown failed");
		return;
	}
	c->lingering = 1;
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
	if (!c->pull)
		ev_io_stop(c->srv->loop, &c->ww);
	return 0;
}

/* Send iov now if nothing is queued, queue what the socket does not take. */
static void conn_send(struct conn *c, struct iovec *iov, int niov)
{
	if (c->closed || c->lingering)
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
	if (c->closed || c->lingering)
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
	if (c->held) {
		c->held = 0;
		c->srv->nwaiting--;
	}
	c->pending_reply = 0;
	c->streaming = 0;
	conn_close(c, reason);
}

/* The reply to the pending request went out (or the client is gone):
 * serve the next pipelined request, or close. */
static void conn_reply_done(struct conn *c, int close_after)
{
	c->pending_reply = 0;
	c->streaming = 0;
	if (c->held) {
		c->held = 0;
		c->srv->nwaiting--;
	}
	if (c->closed)
		return;
	if (close_after) {
		c->close_after_write = 1;
		if (out_pending(c) == 0)
			conn_linger(c);
		else
			conn_arm_timer(c);   /* a held reply had it stopped */
		return;
	}
	conn_arm_timer(c);
	if (!c->in_process)
		conn_process(c);
}

static void reply(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                  const char *extra, int force_close)
{
	if (!c->pending_reply || c->streaming) {
		log_warnx("%s: %s: reply %d without a request awaiting one", srv_name(c->srv),
		          c->peer, status);
		return;
	}
	conn_ref(c);
	int keep = c->req_keep_alive && !force_close && !c->eof;
	if (!c->closed) {
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
	reply(c, status, ctype, body, len, extra_headers, 0);
}

void conn_reply_close(struct conn *c, int status, const char *ctype, const char *body,
                      size_t len, const char *extra_headers)
{
	reply(c, status, ctype, body, len, extra_headers, 1);
}

/* A framing error or timeout of our own: a one-line reason, then close.
 * No request was handed out, so nothing is pending. */
static void conn_reject(struct conn *c, int status, const char *reason)
{
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
	c->close_after_write = 1;
	if (!c->closed && out_pending(c) == 0)
		conn_linger(c);
}

void conn_stream_begin(struct conn *c, int status, const char *ctype, const char *extra_headers)
{
	if (!c->pending_reply || c->streaming) {
		log_warnx("%s: %s: stream without a request awaiting one", srv_name(c->srv), c->peer);
		return;
	}
	c->streaming = 1;
	/* The reply has begun: the connection no longer waits on us. */
	if (c->held) {
		c->held = 0;
		c->srv->nwaiting--;
	}
	c->stream_chunked = c->req_http11 && !c->req_head;
	c->stream_close = !c->req_keep_alive || !c->req_http11 || c->eof;
	if (c->closed)
		return;
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
	if (!c->streaming || c->closed || len == 0 || c->req_head)
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
	if (!c->streaming) {
		log_warnx("%s: %s: stream end without a stream", srv_name(c->srv), c->peer);
		return;
	}
	conn_ref(c);
	if (!c->closed && c->stream_chunked)
		conn_queue(c, "0\r\n\r\n", 5);
	conn_reply_done(c, c->stream_close);
	conn_unref(c);
}

/* Ask the producer for more while little is queued (see PULL_LOW). */
static void conn_pull(struct conn *c)
{
	for (int i = 0; i < PULL_BURST && c->pull && !c->closed && out_pending(c) < PULL_LOW;
	     i++) {
		/* HEAD: the headers are out and there is no body to make. */
		int rc = 1;
		if (!c->req_head) {
			c->in_pull = 1;
			rc = c->pull(c->pull_ctx, c);
			c->in_pull = 0;
		}
		if (c->close_due) {
			/* A write inside the producer found the client gone. */
			c->close_due = 0;
			conn_notify_close(c);
			return;
		}
		if (rc == 0)
			continue;
		c->pull = NULL;
		if (rc < 0) {
			conn_close(c, "stream failed");
			return;
		}
		conn_notify_close(c);
		conn_stream_end(c);
		return;
	}
	if (c->pull && !c->closed)
		ev_io_start(c->srv->loop, &c->ww);
}

void conn_stream_pull(struct conn *c, int (*more)(void *ctx, struct conn *c), void *ctx)
{
	/* The client left while the first piece was written: the stream is
	 * over already, and conn_on_close tells its owner. */
	if (c->closed)
		return;
	if (!c->streaming) {
		log_warnx("%s: %s: pull without a stream", srv_name(c->srv), c->peer);
		return;
	}
	c->pull = more;
	c->pull_ctx = ctx;
	/* The first piece is made when the socket is writable, i.e. at once:
	 * the handler returns first, so it may still set conn_on_close. */
	if (!c->closed)
		ev_io_start(c->srv->loop, &c->ww);
}

void conn_on_close(struct conn *c, void (*cb)(void *ctx, struct conn *c), void *ctx)
{
	c->on_close = cb;
	c->close_ctx = ctx;
	/* Already gone: tell at once, as the caller expects exactly one call. */
	if (c->closed)
		conn_notify_close(c);
}

void conn_upgrade(struct conn *c, const char *head, size_t len,
                  void (*on_data)(void *ctx, struct conn *c, const char *data, size_t len),
                  void *ctx)
{
	if (!c->pending_reply || c->streaming) {
		log_warnx("%s: %s: upgrade without a request awaiting one", srv_name(c->srv),
		          c->peer);
		return;
	}
	if (c->held) {
		c->held = 0;
		c->srv->nwaiting--;
	}
	c->pending_reply = 0;
	c->raw = 1;
	c->on_data = on_data;
	c->data_ctx = ctx;
	conn_send_str(c, head, len);
	conn_arm_timer(c);
	/* Bytes that came right behind the handshake are the new protocol's;
	 * conn_process hands them over once this request's call returns. */
	if (!c->in_process && !c->closed)
		conn_process(c);
}

void conn_raw_write(struct conn *c, const char *data, size_t len)
{
	if (!c->raw || c->closed || len == 0)
		return;
	conn_send_str(c, data, len);
	conn_arm_timer(c);
}

size_t conn_out_pending(const struct conn *c)
{
	return c->closed ? 0 : out_pending(c);
}

void conn_close_after_write(struct conn *c)
{
	if (c->closed)
		return;
	if (out_pending(c) == 0) {
		conn_close(c, "closed by the server");
		return;
	}
	c->pull = NULL;
	c->close_after_write = 1;
	/* The queue may never drain (a client that stopped reading is the
	 * usual reason to get here): from now on the idle rule applies, even
	 * to a connection that was exempt from it. */
	c->no_timeout = 0;
	conn_arm_timer(c);
}

void conn_hold(struct conn *c)
{
	if (!c->pending_reply || c->held || c->streaming)
		return;
	c->held = 1;
	c->srv->nwaiting++;
	conn_arm_timer(c);
}

void conn_no_timeout(struct conn *c)
{
	c->no_timeout = 1;
	if (!c->closed && !c->lingering)
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
	snprintf(req.peer, sizeof req.peer, "%s", c->peer);
	c->pending_reply = 1;
	c->req_head = strcmp(req.method, "HEAD") == 0;
	c->req_keep_alive = req.keep_alive != 0;
	c->req_http11 = http_in_http11(&c->in) != 0;
	s->cfg.on_request(s->cfg.ctx, c, &req);
	/* The contract is one answer per request; a handler that forgot
	 * would leave the client hanging and the connection stuck. */
	if (c->pending_reply && !c->held && !c->streaming) {
		log_warnx("%s: %s: %s %s: handler gave no reply", srv_name(s), c->peer,
		          req.method, req.path);
		conn_reply_close(c, 500, "text/plain; charset=utf-8", "internal error\n", 15, NULL);
	}
	http_request_free(&req);
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
	if (c->closed || c->lingering)
		return;
	int want = !c->eof && !c->close_after_write && c->inbuf.len - c->inoff < INBUF_HIGH;
	if (want)
		ev_io_start(loop, &c->rw);
	else
		ev_io_stop(loop, &c->rw);
}

/* Hand out buffered requests one at a time, in order, while no reply is
 * pending; a handler that answers at once lets the next one through. */
static void conn_process(struct conn *c)
{
	if (c->in_process || c->closed)
		return;
	conn_ref(c);
	c->in_process = 1;
	while (!c->closed && !c->pending_reply && !c->close_after_write && !c->lingering &&
	       out_pending(c) < OUTBUF_HIGH && c->inbuf.data) {
		if (c->raw) {
			size_t n = c->inbuf.len - c->inoff;
			if (n && c->on_data) {
				c->inoff = c->inbuf.len;
				c->on_data(c->data_ctx, c, c->inbuf.data + c->inbuf.len - n, n);
			}
			break;
		}
		size_t used;
		enum http_in_status st = http_in_feed(&c->in, c->inbuf.data + c->inoff,
		                                      c->inbuf.len - c->inoff, &used);
		c->inoff += used;
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
	c->in_process = 0;
	if (!c->closed && c->eof && !c->pending_reply && out_pending(c) == 0 && !c->lingering)
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
	if (c->lingering) {
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
		c->eof = 1;
		ev_io_stop(c->srv->loop, &c->rw);
		/* Nobody to answer any more (see server.h): drop the socket,
		 * keep the struct for the pending reply. */
		if (c->pending_reply) {
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
	if (rc >= 0 && c->pull) {
		conn_pull(c);
		rc = c->closed ? -1 : out_pending(c) ? 1 : 0;
	}
	if (rc == 0) {
		if (c->close_after_write)
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
	if (c->lingering) {
		conn_close(c, "lingering close done");
	} else if (out_pending(c) > 0) {
		conn_close(c, "client stopped reading");
	} else if (!c->pending_reply &&
	           (http_in_partial(&c->in) || c->inbuf.len > c->inoff)) {
		log_info("%s: %s: request timed out", srv_name(c->srv), c->peer);
		conn_reject(c, 408, "request timed out");
		if (!c->closed && !c->lingering)
			conn_close(c, "request timed out");
	} else {
		conn_close(c, "idle");
	}
	conn_unref(c);
}

static size_t conn_body_limit(void *ctx, const char *method, const char *path)
{
	const struct server *s = ctx;
	if (s->cfg.body_limit)
		return s->cfg.body_limit(s->cfg.ctx, method, path);
	return s->cfg.default_body_limit;
}

static void conn_new(struct server *s, int fd, const struct sockaddr *sa)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		log_warnx("%s: out of memory for a connection", srv_name(s));
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	net_format_addr(sa, c->peer, sizeof c->peer);
	struct http_in_limits lim = {
		.max_header_bytes = s->cfg.max_header_bytes,
		.default_body_limit = s->cfg.default_body_limit,
		.body_limit = conn_body_limit,
		.ctx = s,
	};
	http_in_init(&c->in, &lim);
	buf_init(&c->inbuf);
	buf_init(&c->out);
	ev_io_init(&c->rw, read_cb, fd, EV_READ);
	ev_io_init(&c->ww, write_cb, fd, EV_WRITE);
	ev_init(&c->idle, idle_cb);
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
		if (c->pending_reply && !c->streaming)
			log_warnx("%s: %s: freed while a reply was pending", srv_name(s), c->peer);
		c->pending_reply = 0;
		c->refs = 0;
		if (c->closed)
			conn_release(c);
		else
			conn_close(c, "server shutting down");
	}
	free(s);
}
