/* libev HTTP/1.1 server: one listener, many non-blocking connections served
 * concurrently from one loop; keep-alive and pipelining (responses in
 * request order); an idle timer per connection (ev_timer_again); bounded
 * input checked as bytes arrive (431 headers, 413 body); a cap on open
 * connections. It knows nothing of mintrac's routes: each complete request
 * is handed to on_request. */
#ifndef MINTRAC_SERVER_H
#define MINTRAC_SERVER_H
#include <ev.h>
#include <stddef.h>
#include "net/http.h"
#include "net/http_parse.h"

struct conn;
struct server;

struct server_config {
	int    max_conns;          /* default 1024 */
	double idle_timeout;       /* seconds, default 30 */
	size_t max_header_bytes;   /* default 16 KiB -> 431 */
	size_t default_body_limit; /* default 1 MiB -> 413 */
	/* What one client address may hold (IPv6: one /64): connections
	 * beyond it are closed at once; default max_conns / 8, at least 4. */
	int    max_conns_per_addr;
	/* Request bodies being received, held in memory: a request that
	 * would take the total or its address's share past these gets 503
	 * and is closed. Defaults 96 MiB and 32 MiB (two of the largest
	 * body a route accepts). Sunk bodies (http_body_rule.sink) are not
	 * held and do not count. */
	size_t max_buffered;
	size_t max_buffered_per_addr;
	/* A request, head and body, must arrive within request_timeout
	 * seconds (default 30) plus one second per min_body_rate bytes of
	 * body received (default 8 KiB/s), or it gets 408: the idle timer
	 * alone is re-armed by every byte, so a client sending a byte now
	 * and then would hold its slot for ever. A sunk body (up to
	 * gigabytes) earns no such credit: it must come at min_body_rate or
	 * faster over every request_timeout window (an upload at 64 kbit/s
	 * lasts as long as it needs, one that falls below gets 408), and the
	 * idle timeout closes it when it stops altogether. */
	double request_timeout;
	size_t min_body_rate;
	/* Called once a request's headers are complete, before its body:
	 * sets the body's limit (e.g. Overland 8 MiB; preset to
	 * default_body_limit), whether it is read and dropped unseen, or
	 * whether it goes to a sink as it arrives (struct http_body_rule in
	 * http_parse.h, which says when sink_end is called); NULL keeps the
	 * preset. The request then reaches on_request as usual, with
	 * body_discarded or body_sunk set. A 100-continue is answered after
	 * on_head (unless it set a limit below the Content-Length: 413). */
	void   (*on_head)(void *ctx, const struct http_request *head, struct http_body_rule *rule);
	/* A complete request. The handler owns nothing in req beyond the call
	 * and must answer exactly once with conn_reply() or conn_stream_*(),
	 * now or later (after conn_hold()). */
	void   (*on_request)(void *ctx, struct conn *c, const struct http_request *req);
	void    *ctx;
	const char *name;          /* "receiver" / "webapp", for logs */
};

struct server *server_new(struct ev_loop *loop, int listen_fd, const struct server_config *cfg);
/* Stop accepting; open connections keep being served. */
void server_stop_accepting(struct server *s);
/* Connections currently waiting for a deferred reply. */
size_t server_waiting(const struct server *s);
size_t server_conns(const struct server *s);
/* Close every connection and free; call after the replies went out. */
void server_free(struct server *s);

/* The handler will reply later. A held connection whose client went away
 * stays allocated (fd closed) until conn_reply() is called, so a deferred
 * reply never touches freed memory. */
void conn_hold(struct conn *c);
/* Complete response. extra_headers: "Name: v\r\n..." or NULL. Adds
 * Content-Length, Connection, Date. A 4xx keeps the connection open unless
 * close_after is set. */
void conn_reply(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                const char *extra_headers);
void conn_reply_close(struct conn *c, int status, const char *ctype, const char *body,
                      size_t len, const char *extra_headers);
/* Drop the connection instead of answering the current request: the
 * client sees no reply and retries (some apps count any reply, even a 503,
 * as delivered). Safe inside on_request. */
void conn_abort(struct conn *c, const char *reason);
/* Streaming (chunked) response for large or long-lived bodies. */
void conn_stream_begin(struct conn *c, int status, const char *ctype, const char *extra_headers);
void conn_stream_write(struct conn *c, const char *data, size_t len);
void conn_stream_end(struct conn *c);
/* The owner of a long-lived reply: a stream's body, or an upgraded
 * connection. One table and one ctx per reply; unused entries are NULL.
 *
 * more: pull-mode body with backpressure. The server calls more(ctx, c)
 *   whenever less than about 64 KiB of output is queued and the socket can
 *   take more; more() writes a piece with conn_stream_write and returns 0
 *   (call me again), 1 (done: the server ends the stream) or -1 (failed:
 *   the server closes the connection, so the client sees a cut-off body
 *   rather than a complete-looking one). A client that stops reading is
 *   closed by the idle timer. NULL: the owner pushes (SSE).
 * on_data: every byte the client sends on an upgraded connection.
 * on_close: called exactly once when the reply is over: the pull stream
 *   ended, or the socket closed (client gone, error, idle timeout, server
 *   shutdown). Free ctx here; afterwards the server ends any unfinished
 *   stream itself, and the owner must drop every pointer to c. */
struct conn_ops {
	int  (*more)(void *ctx, struct conn *c);
	void (*on_data)(void *ctx, struct conn *c, const char *data, size_t len);
	void (*on_close)(void *ctx, struct conn *c);
};

/* Hands the stream begun with conn_stream_begin to its owner. When the
 * client is already gone, ops->on_close is called at once: the owner hears
 * of the end exactly once either way, so call this last. */
void conn_stream_attach(struct conn *c, const struct conn_ops *ops, void *ctx);
/* Protocol switch (WebSocket): sends head (a complete "HTTP/1.1 101 ..."
 * response head, ending in an empty line) as the reply to the current
 * request, then hands every byte the client sends to ops->on_data and no
 * longer parses HTTP. ops->on_close as above, also at once if the
 * connection failed meanwhile: call this last. */
void conn_upgrade(struct conn *c, const char *head, size_t len, const struct conn_ops *ops,
                  void *ctx);
/* Raw output on an upgraded connection (queued; no size limit enforced). */
void conn_raw_write(struct conn *c, const char *data, size_t len);
/* Bytes queued and not yet taken by the socket (to drop slow subscribers). */
size_t conn_out_pending(const struct conn *c);
/* Close an upgraded or streaming connection once its queued output is out. */
void conn_close_after_write(struct conn *c);
/* Exempt from the idle timeout (SSE, WebSocket). */
void conn_no_timeout(struct conn *c);
const char *conn_peer(const struct conn *c);
#endif
