/* ws.c: the SHA-1 behind Sec-WebSocket-Accept, the handshake checks, the
 * cross-site rule, and a live connection on 127.0.0.1 (server.c on a loop
 * in this process): messages both ways, the close handshake, dropping a
 * client that stops reading, and the end at server shutdown. */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "net/http.h"
#include "base/log.h"
#include "net/net.h"
#include "net/server.h"
#include "test.h"
#include "test_decode.h"
#include "net/ws.h"

static void hex(const unsigned char *md, char out[41])
{
	for (int i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void sha1_hex(const char *s, size_t n, char out[41])
{
	unsigned char md[20];
	ws_sha1(s, n, md);
	hex(md, out);
}

TEST(ws_sha1_vectors)
{
	char out[41];
	/* FIPS 180 examples, and lengths around the padding boundary. */
	sha1_hex("", 0, out);
	CHECK_STR(out, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sha1_hex("abc", 3, out);
	CHECK_STR(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha1_hex(two, strlen(two), out);
	CHECK_STR(out, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	const char *fox = "The quick brown fox jumps over the lazy dog";
	sha1_hex(fox, strlen(fox), out);
	CHECK_STR(out, "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
	char *a = malloc(1000000);
	CHECK(a != NULL);
	if (a) {
		memset(a, 'a', 1000000);
		sha1_hex(a, 1000000, out);
		CHECK_STR(out, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
		/* 55, 56 and 64 bytes: one block, two blocks, a full block. */
		sha1_hex(a, 55, out);
		CHECK_STR(out, "c1c8bbdc22796e28c0e15163d20899b65621d65a");
		sha1_hex(a, 56, out);
		CHECK_STR(out, "c2db330f6083854c99d4b5bfb6e8f29f201be699");
		sha1_hex(a, 64, out);
		CHECK_STR(out, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
		free(a);
	}
}

TEST(ws_accept_rfc6455_example)
{
	char acc[WS_ACCEPT_LEN + 1];
	ws_accept_value("dGhlIHNhbXBsZSBub25jZQ==", acc);
	CHECK_STR(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static const char *handshake(const char *raw)
{
	struct http_request r;
	mt_test_request(&r, raw);
	const char *why = ws_handshake_error(&r);
	http_request_free(&r);
	return why;
}

TEST(ws_handshake_checks)
{
	CHECK(handshake("GET /ws/last\nUpgrade: websocket\nConnection: Upgrade\n"
	                "Sec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
	                "\n") == NULL);
	/* Firefox lists keep-alive too; token case does not matter. */
	CHECK(handshake("GET /ws/last\nUpgrade: WebSocket\nConnection: keep-alive, upgrade\n"
	                "Sec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
	                "\n") == NULL);
	CHECK(handshake("POST /ws/last\nUpgrade: websocket\nConnection: Upgrade\n"
	                "Sec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
	                "\n") != NULL);
	CHECK(handshake("GET /ws/last\nConnection: Upgrade\n"
	                "Sec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
	                "\n") != NULL);
	CHECK(handshake("GET /ws/last\nUpgrade: websocket\nConnection: keep-alive\n"
	                "Sec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
	                "\n") != NULL);
	CHECK(handshake("GET /ws/last\nUpgrade: websocket\nConnection: Upgrade\n"
	                "Sec-WebSocket-Version: 8\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
	                "\n") != NULL);
	CHECK(handshake("GET /ws/last\nUpgrade: websocket\nConnection: Upgrade\n"
	                "Sec-WebSocket-Version: 13\n\n") != NULL);
	/* The key must be base64 of exactly 16 bytes. */
	CHECK(handshake("GET /ws/last\nUpgrade: websocket\nConnection: Upgrade\n"
	                "Sec-WebSocket-Version: 13\nSec-WebSocket-Key: c2hvcnQ=\n\n") != NULL);
	CHECK(handshake("GET /ws/last\nUpgrade: websocket\nConnection: Upgrade\n"
	                "Sec-WebSocket-Version: 13\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==x\n"
	                "\n") != NULL);
	CHECK(handshake("GET /ws/last\nUpgrade: websocket\nConnection: Upgrade\n"
	                "Sec-WebSocket-Version: 13\n"
	                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSBsb25nZXIgdGhhbiAxNiBieXRlcw==\n"
	                "\n") != NULL);
}

/* ---- a live connection -------------------------------------------------- */

struct wsrv {
	struct ev_loop *loop;
	int             lfd, port;
	struct server  *srv;
	struct ws      *w;          /* the open WebSocket, NULL once closed */
	int             closes;     /* on_close calls */
	char            got[64];    /* last text message */
	int             echo;       /* send each message back */
};

static void t_text(void *ctx, struct ws *w, const char *msg, size_t len)
{
	struct wsrv *t = ctx;
	snprintf(t->got, sizeof t->got, "%.*s", (int)len, msg);
	if (t->echo)
		ws_send_text(w, msg, len);
}

static void t_close(void *ctx, struct ws *w)
{
	struct wsrv *t = ctx;
	CHECK(w == t->w);
	t->w = NULL;
	t->closes++;
}

static const struct ws_handler t_handler = { t_text, t_close };

static void t_request(void *ctx, struct conn *c, const struct http_request *req)
{
	struct wsrv *t = ctx;
	if (ws_handshake_error(req)) {
		conn_reply(c, 400, "text/plain", "no\n", 3, WS_BAD_HANDSHAKE_HEADERS);
		return;
	}
	struct ws_options o = { .ping_interval = 10, .max_pending = 256 * 1024,
	                        .max_message = 1024 };
	t->w = ws_new(t->loop, &o, &t_handler, t);
	CHECK(t->w != NULL);
	ws_start(t->w, c, req);
}

static void wsrv_start(struct wsrv *t)
{
	memset(t, 0, sizeof *t);
	log_set_level(LOG_LVL_ERROR);
	t->loop = ev_loop_new(EVFLAG_AUTO);
	char err[256], name[64];
	t->lfd = net_listen("127.0.0.1:0", err, sizeof err);
	CHECK(t->lfd >= 0);
	net_sockname(t->lfd, name, sizeof name);
	t->port = atoi(name + 10);
	struct server_config cfg = {
		.max_conns = 8, .idle_timeout = 5, .max_header_bytes = 16 * 1024,
		.default_body_limit = 1024, .on_request = t_request, .ctx = t, .name = "test",
	};
	t->srv = server_new(t->loop, t->lfd, &cfg);
	CHECK(t->srv != NULL);
}

static void wsrv_stop(struct wsrv *t)
{
	server_free(t->srv);
	close(t->lfd);
	ev_loop_destroy(t->loop);
	log_set_level(LOG_LVL_INFO);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop and reads into in until it holds `want` bytes, or the
 * time is up; returns the bytes held. */
static size_t pump(struct wsrv *t, int fd, struct buf *in, size_t want, double secs)
{
	double end = mono() + secs;
	while (in->len < want && mono() < end) {
		ev_run(t->loop, EVRUN_NOWAIT);
		char tmp[65536];
		ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
		if (n > 0)
			buf_add(in, tmp, (size_t)n);
		else if (n == 0)
			break;
		else
			usleep(200);
	}
	return in->len;
}

/* A connected, upgraded client socket (rcvbuf: its SO_RCVBUF, 0 = default). */
static int ws_client(struct wsrv *t, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	if (rcvbuf)
		CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)t->port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	const char *hs = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
	                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
	CHECK(send(fd, hs, strlen(hs), MSG_NOSIGNAL) == (ssize_t)strlen(hs));
	struct buf in;
	buf_init(&in);
	const char *want = "HTTP/1.1 101 Switching Protocols\r\n";
	double end = mono() + 2;
	while (!strstr(in.data ? in.data : "", "\r\n\r\n") && mono() < end)
		pump(t, fd, &in, in.len + 1, 0.01);
	CHECK(in.data && strncmp(in.data, want, strlen(want)) == 0);
	CHECK(in.data && strstr(in.data, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	buf_free(&in);
	return fd;
}

/* A masked client frame. */
static void client_frame(int fd, int opcode, const char *payload, size_t n)
{
	unsigned char f[256];
	const unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	f[0] = (unsigned char)(0x80 | opcode);
	f[1] = (unsigned char)(0x80 | n);
	memcpy(f + 2, mask, 4);
	for (size_t i = 0; i < n; i++)
		f[6 + i] = (unsigned char)(payload[i] ^ mask[i % 4]);
	CHECK(send(fd, f, 6 + n, MSG_NOSIGNAL) == (ssize_t)(6 + n));
}

TEST(ws_live_echo_and_close)
{
	struct wsrv t;
	wsrv_start(&t);
	t.echo = 1;
	int fd = ws_client(&t, 0);
	client_frame(fd, 0x1, "LAST", 4);
	struct buf in;
	buf_init(&in);
	pump(&t, fd, &in, 6, 2);
	CHECK_STR(t.got, "LAST");
	/* An unmasked text frame back: 0x81, length 4, "LAST". */
	CHECK(in.len == 6 && memcmp(in.data, "\x81\x04LAST", 6) == 0);
	buf_reset(&in);
	/* The close handshake: our close is answered, then the socket ends. */
	client_frame(fd, 0x8, "\x03\xe8", 2);
	pump(&t, fd, &in, 100, 1);
	CHECK(in.len >= 2 && (unsigned char)in.data[0] == 0x88);
	CHECK_INT(t.closes, 1);
	CHECK(t.w == NULL);
	buf_free(&in);
	close(fd);
	wsrv_stop(&t);
}

TEST(ws_live_slow_reader_dropped)
{
	struct wsrv t;
	wsrv_start(&t);
	int fd = ws_client(&t, 4096);
	size_t msg = 32 * 1024, sent = 0;
	char *big = malloc(msg);
	CHECK(big != NULL);
	memset(big, 'x', msg);
	/* The client reads nothing; the server drops it once 256 KiB are
	 * queued on top of what the socket buffers took. */
	int rc = 0;
	for (int i = 0; i < 4096 && rc == 0; i++) {
		rc = ws_send_text(t.w, big, msg);
		if (rc == 0)
			sent += msg;
		ev_run(t.loop, EVRUN_NOWAIT);
	}
	CHECK_INT(rc, -1);
	CHECK_INT(t.closes, 1);
	CHECK(t.w == NULL);
	CHECK(sent < 64u * 1024 * 1024);
	free(big);
	close(fd);
	wsrv_stop(&t);
}

TEST(ws_live_client_gone_and_shutdown)
{
	struct wsrv t;
	wsrv_start(&t);
	/* The client just closes its socket. */
	int fd = ws_client(&t, 0);
	close(fd);
	double end = mono() + 2;
	while (t.closes == 0 && mono() < end)
		ev_run(t.loop, EVRUN_NOWAIT);
	CHECK_INT(t.closes, 1);
	/* Server shutdown with a socket open ends it too. */
	fd = ws_client(&t, 0);
	CHECK(t.w != NULL);
	wsrv_stop(&t);
	CHECK_INT(t.closes, 2);
	CHECK(t.w == NULL);
	close(fd);
}
