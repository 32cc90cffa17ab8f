/* WebSocket endpoints (RFC 6455) on top of server.c: the opening
 * handshake, framing (libwslay), server pings, and the end of the
 * connection. It knows nothing of what the messages mean: the owner gets
 * each complete text message and the end, and sends text messages.
 *
 * Lifetime: ws_new() is the constructor. Until ws_start() the owner frees
 * the object with ws_free(). From ws_start() on the connection owns it:
 * it ends only through h->on_close (exactly once, maybe even before
 * ws_start returns), after which the object is freed by this module. */
#ifndef MINTRAC_WS_H
#define MINTRAC_WS_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include "net/http.h"
#include "net/server.h"

struct ws;

struct ws_handler {
	/* One complete text message from the client (not NUL-terminated). */
	void (*on_text)(void *ctx, struct ws *w, const char *msg, size_t len);
	/* The connection is over (client closed, error, dropped, shutdown).
	 * w is freed when this returns: drop every pointer to it. */
	void (*on_close)(void *ctx, struct ws *w);
};

struct ws_options {
	double ping_interval;  /* seconds between server pings */
	size_t max_pending;    /* unsent output beyond which the client is dropped */
	size_t max_message;    /* largest message accepted from the client */
};

/* NULL when req is a valid opening handshake (GET, Upgrade: websocket,
 * Connection: Upgrade, Sec-WebSocket-Version: 13, a Sec-WebSocket-Key of
 * 16 bytes), else a one-line reason for a 400. */
const char *ws_handshake_error(const struct http_request *req);
/* Extra headers for the 400 of a refused handshake (the version we speak). */
#define WS_BAD_HANDSHAKE_HEADERS "Sec-WebSocket-Version: 13\r\n"

/* NULL when out of memory. */
struct ws *ws_new(struct ev_loop *loop, const struct ws_options *o, const struct ws_handler *h,
                  void *ctx);
void ws_free(struct ws *w);   /* NULL-safe; only before ws_start */
/* Answers the (validated) handshake with 101 and takes the connection. */
void ws_start(struct ws *w, struct conn *c, const struct http_request *req);
/* Queues one text message. 0, or -1 when the connection is closing or
 * the client was dropped for not reading (more than max_pending queued):
 * then h->on_close may already have run, so the caller must not touch w
 * or its own ctx again. */
int ws_send_text(struct ws *w, const char *msg, size_t len);
/* Ends the connection from our side: a close frame with code (e.g. 1008,
 * policy violation) and reason (at most 123 bytes), then the connection
 * closes once it is out. h->on_close may run before this returns. */
void ws_close(struct ws *w, uint16_t code, const char *reason);

/* Exposed for the unit tests. */
#define WS_ACCEPT_LEN 28
void ws_sha1(const void *data, size_t len, unsigned char out[20]);
/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), NUL-terminated. */
void ws_accept_value(const char *key, char out[WS_ACCEPT_LEN + 1]);
#endif
