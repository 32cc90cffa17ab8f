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

struct conn;
struct server;

struct server_config {
	int    max_conns;          /* default 1024 */
	double idle_timeout;       /* seconds, default 30 */
	size_t max_header_bytes;   /* default 16 KiB -> 431 */
	size_t default_body_limit; /* default 1 MiB -> 413 */
	/* Per-route body limit (e.g. Overland 8 MiB); NULL = default. Called
	 * once the headers are complete. */
	size_t (*body_limit)(void *ctx, const char *method, const char *path);
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
/* Pull-mode stream body with backpressure, after conn_stream_begin: the
 * server calls more(ctx, c) whenever less than about 64 KiB of output is
 * queued and the socket can take more; more() writes a piece with
 * conn_stream_write and returns 0 (call me again), 1 (done: the server ends
 * the stream) or -1 (failed: the server closes the connection, so the
 * client sees a cut-off body rather than a complete-looking one). A client
 * that stops reading is closed by the idle timer. Set conn_on_close to free
 * ctx: it is called when the stream ends for any reason. */
void conn_stream_pull(struct conn *c, int (*more)(void *ctx, struct conn *c), void *ctx);
/* Called once when the connection is finished with the current long-lived
 * reply: the pull stream ended, or the socket closed (client gone, error,
 * idle timeout, server shutdown) while a stream or raw (upgraded)
 * connection was open. After it returns the server ends any unfinished
 * stream itself; the handler must drop every pointer to c. */
void conn_on_close(struct conn *c, void (*cb)(void *ctx, struct conn *c), void *ctx);
/* Protocol switch (WebSocket): sends head (a complete "HTTP/1.1 101 ..."
 * response head, ending in an empty line) as the reply to the current
 * request, then hands every byte the client sends to on_data and no longer
 * parses HTTP. Use conn_on_close for the end. */
void conn_upgrade(struct conn *c, const char *head, size_t len,
                  void (*on_data)(void *ctx, struct conn *c, const char *data, size_t len),
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
