/* WebSocket endpoints: see ws.h. libwslay does the framing (masking,
 * fragments, control frames, close handshake, automatic pongs); this file
 * feeds it the bytes server.c hands over and gives it conn_raw_write to
 * send with. conn_raw_write queues whatever the socket does not take at
 * once, so wslay's own queue is always empty after wslay_event_send and
 * a client that stops reading shows up as conn_out_pending.
 *
 * A connection can end inside any call that writes (a write error closes
 * it at once, and server.c then calls us back), so every entry point
 * counts itself in w->depth and the object is torn down only when the
 * outermost one returns. */
#include "net/ws.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>
#include <wslay/wslay.h>

#include "base/buf.h"
#include "base/log.h"

/* A peer that has sent nothing (not even a pong) for this many ping
 * intervals is gone without a FIN (a phone that lost its network). */
#define WS_DEAD_PINGS 3
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct ws {
	struct ev_loop        *loop;
	struct conn           *c;          /* NULL once the connection is gone */
	wslay_event_context_ptr wslay;
	ev_timer               ping;
	ev_tstamp              last_rx;    /* when the client last sent anything */
	struct ws_options      opt;
	struct ws_handler      h;
	void                  *ctx;
	const char            *in;         /* bytes being fed to wslay */
	size_t                 inlen;
	int                    depth;      /* entry points on the stack */
	unsigned               gone : 1;   /* the connection ended: tear down */
	unsigned               in_recv : 1;
};

/* ---- SHA-1 (FIPS 180-4), for Sec-WebSocket-Accept only ----------------- */

static uint32_t rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6;
		}
		uint32_t t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void ws_sha1(const void *data, size_t len, unsigned char out[20])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	const unsigned char *p = data;
	size_t left = len;
	for (; left >= 64; p += 64, left -= 64)
		sha1_block(h, p);
	/* The tail, 0x80, zeros, and the bit length: one or two blocks. */
	unsigned char tail[128] = { 0 };
	memcpy(tail, p, left);
	tail[left] = 0x80;
	size_t n = left < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[n - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha1_block(h, tail);
	if (n == 128)
		sha1_block(h, tail + 64);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
}

void ws_accept_value(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	struct buf b;
	unsigned char md[20];
	buf_init(&b);
	buf_adds(&b, key);
	buf_adds(&b, WS_GUID);
	ws_sha1(b.data, b.len, md);
	buf_free(&b);
	sodium_bin2base64(out, WS_ACCEPT_LEN + 1, md, sizeof md, sodium_base64_VARIANT_ORIGINAL);
}

/* ---- handshake ---------------------------------------------------------- */

/* tok is one of the comma-separated tokens of a header value (any case). */
static int has_token(const char *value, const char *tok)
{
	size_t n = strlen(tok);
	const char *p = value;
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(p, tok, n) == 0)
			return 1;
		p = end;
	}
	return 0;
}

const char *ws_handshake_error(const struct http_request *req)
{
	const char *up = http_header(req, "Upgrade");
	const char *conn = http_header(req, "Connection");
	const char *ver = http_header(req, "Sec-WebSocket-Version");
	const char *key = http_header(req, "Sec-WebSocket-Key");
	if (strcmp(req->method, "GET") != 0)
		return "a WebSocket handshake is a GET";
	if (!up || !has_token(up, "websocket"))
		return "expected Upgrade: websocket";
	if (!conn || !has_token(conn, "Upgrade"))
		return "expected Connection: Upgrade";
	if (!ver || strcmp(ver, "13") != 0)
		return "unsupported Sec-WebSocket-Version (13 is spoken)";
	unsigned char raw[32];
	size_t rawlen = 0;
	const char *end = NULL;
	if (!key || sodium_base642bin(raw, sizeof raw, key, strlen(key), NULL, &rawlen, &end,
	                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    *end != 0 || rawlen != 16)
		return "bad Sec-WebSocket-Key";
	return NULL;
}

/* ---- lifetime ----------------------------------------------------------- */

void ws_free(struct ws *w)
{
	if (!w)
		return;
	if (w->loop)
		ev_timer_stop(w->loop, &w->ping);
	wslay_event_context_free(w->wslay);
	free(w);
}

static void ws_enter(struct ws *w)
{
	w->depth++;
}

/* Leaves an entry point; tears down (w is freed) when the connection
 * ended and this was the outermost one. */
static void ws_leave(struct ws *w)
{
	if (--w->depth > 0 || !w->gone)
		return;
	w->h.on_close(w->ctx, w);
	ws_free(w);
}

/* server.c: the connection is over (any reason). */
static void ws_conn_closed(void *ctx, struct conn *c)
{
	(void)c;
	struct ws *w = ctx;
	w->c = NULL;
	w->gone = 1;
	ev_timer_stop(w->loop, &w->ping);
	ws_enter(w);
	ws_leave(w);
}

/* Output not yet taken by the socket, ours and wslay's. */
static size_t ws_pending(struct ws *w)
{
	return conn_out_pending(w->c) + wslay_event_get_queued_msg_length(w->wslay);
}

/* Close the connection now (fatal error, slow or dead client). */
static void ws_abort(struct ws *w, const char *why)
{
	if (!w->c)
		return;
	log_info("websocket %s: %s", conn_peer(w->c), why);
	conn_abort(w->c, why);
}

/* Hand queued frames to the connection; close it once the close
 * handshake is done. */
static void ws_flush(struct ws *w)
{
	if (!w->c || w->in_recv)
		return;
	if (wslay_event_send(w->wslay) != 0) {
		ws_abort(w, "send failed");
		return;
	}
	if (w->c && !wslay_event_want_read(w->wslay) && !wslay_event_want_write(w->wslay))
		conn_close_after_write(w->c);
}

/* ---- wslay callbacks ---------------------------------------------------- */

static ssize_t cb_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
{
	(void)flags;
	struct ws *w = user;
	if (w->inlen == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	size_t n = len < w->inlen ? len : w->inlen;
	memcpy(buf, w->in, n);
	w->in += n;
	w->inlen -= n;
	return (ssize_t)n;
}

static ssize_t cb_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
	(void)flags;
	struct ws *w = user;
	if (w->c)
		conn_raw_write(w->c, (const char *)data, len);
	if (!w->c) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static void cb_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
	(void)ctx;
	struct ws *w = user;
	if (arg->opcode == WSLAY_TEXT_FRAME && !w->gone)
		w->h.on_text(w->ctx, w, (const char *)arg->msg, arg->msg_length);
}

/* ---- events ------------------------------------------------------------- */

static void ws_on_data(void *ctx, struct conn *c, const char *data, size_t len)
{
	(void)c;
	struct ws *w = ctx;
	ws_enter(w);
	w->last_rx = ev_now(w->loop);
	w->in = data;
	w->inlen = len;
	w->in_recv = 1;
	int rc = wslay_event_recv(w->wslay);
	w->in_recv = 0;
	w->in = NULL;
	w->inlen = 0;
	if (rc != 0)
		ws_abort(w, "receive failed");
	else
		ws_flush(w);   /* pongs, replies, a close answered */
	ws_leave(w);
}

static void ws_ping_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct ws *w = t->data;
	ws_enter(w);
	if (ev_now(loop) - w->last_rx > WS_DEAD_PINGS * w->opt.ping_interval) {
		ws_abort(w, "no answer to pings");
	} else if (w->c && ws_pending(w) > w->opt.max_pending) {
		ws_abort(w, "client stopped reading");
	} else {
		struct wslay_event_msg m = { WSLAY_PING, NULL, 0 };
		if (wslay_event_queue_msg(w->wslay, &m) == 0)
			ws_flush(w);
	}
	ws_leave(w);
}

static const struct conn_ops ws_conn_ops = {
	.on_data = ws_on_data,
	.on_close = ws_conn_closed,
};

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = cb_recv,
	.send_callback = cb_send,
	.on_msg_recv_callback = cb_msg,
};

struct ws *ws_new(struct ev_loop *loop, const struct ws_options *o, const struct ws_handler *h,
                  void *ctx)
{
	struct ws *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->loop = loop;
	w->opt = *o;
	w->h = *h;
	w->ctx = ctx;
	ev_timer_init(&w->ping, ws_ping_cb, o->ping_interval, o->ping_interval);
	w->ping.data = w;
	if (wslay_event_context_server_init(&w->wslay, &ws_callbacks, w) != 0) {
		free(w);
		return NULL;
	}
	wslay_event_config_set_max_recv_msg_length(w->wslay, o->max_message);
	return w;
}

void ws_start(struct ws *w, struct conn *c, const struct http_request *req)
{
	char accept[WS_ACCEPT_LEN + 1];
	struct buf h;
	ws_accept_value(http_header(req, "Sec-WebSocket-Key"), accept);
	buf_init(&h);
	buf_printf(&h, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	ws_enter(w);
	w->c = c;
	/* Signing in may have taken a while (password hashing): time the
	 * first ping from now, not from when this loop iteration began. */
	ev_now_update(w->loop);
	w->last_rx = ev_now(w->loop);
	conn_no_timeout(c);
	ev_timer_start(w->loop, &w->ping);
	/* Last: ws_conn_closed runs at once if the connection failed. */
	conn_upgrade(c, h.data, h.len, &ws_conn_ops, w);
	buf_free(&h);
	ws_leave(w);
}

void ws_close(struct ws *w, uint16_t code, const char *reason)
{
	if (!w->c || w->gone)
		return;
	ws_enter(w);
	/* The client's answering close is not waited for: nothing it could
	 * still say matters, and a client that never answers would hold the
	 * socket. */
	if (wslay_event_queue_close(w->wslay, code, (const uint8_t *)reason, strlen(reason)) == 0)
		ws_flush(w);
	if (w->c)
		conn_close_after_write(w->c);
	ws_leave(w);
}

int ws_send_text(struct ws *w, const char *msg, size_t len)
{
	if (!w->c || w->gone)
		return -1;
	ws_enter(w);
	int rc = -1;
	if (ws_pending(w) + len > w->opt.max_pending) {
		ws_abort(w, "client stopped reading");
	} else {
		struct wslay_event_msg m = { WSLAY_TEXT_FRAME, (const uint8_t *)msg, len };
		if (wslay_event_queue_msg(w->wslay, &m) == 0) {
			ws_flush(w);
			rc = w->c ? 0 : -1;
		}
	}
	ws_leave(w);
	return rc;
}
