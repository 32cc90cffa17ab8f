/* The benchmark's baseline: a libev HTTP responder that does nothing but
 * answer every request with an empty 200 on a keep-alive connection. It
 * parses only enough to find where each request ends ("\r\n\r\n", no body:
 * wrk sends GETs), so its figures are what one libev loop on this machine
 * can do at all; bench/ingest reports mintrac's receiver relative to it.
 *   build/bench_null 127.0.0.1:PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

struct conn {
	ev_io io;
	int fd;
	size_t have;	/* bytes of an unfinished request kept in buf */
	char buf[8192];
};

static void conn_close(struct ev_loop *loop, struct conn *c)
{
	ev_io_stop(loop, &c->io);
	close(c->fd);
	free(c);
}

/* Writes n replies; a loopback socket buffer holds far more than one
 * read's worth of replies, so a short write is treated as a dead peer. */
static int send_replies(int fd, size_t n)
{
	char out[sizeof(reply) * 64];
	size_t len = sizeof(reply) - 1;
	while (n > 0) {
		size_t k = n < 64 ? n : 64;
		for (size_t i = 0; i < k; i++)
			memcpy(out + i * len, reply, len);
		ssize_t w = write(fd, out, k * len);
		if (w != (ssize_t)(k * len))
			return -1;
		n -= k;
	}
	return 0;
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, io);
	(void)revents;
	ssize_t r = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		conn_close(loop, c);
		return;
	}
	size_t end = c->have + (size_t)r, start = 0, n = 0;
	/* Rescan from 3 bytes back so a terminator split across reads counts. */
	size_t pos = c->have >= 3 ? c->have - 3 : 0;
	for (;;) {
		char *hit = memmem(c->buf + pos, end - pos, "\r\n\r\n", 4);
		if (!hit)
			break;
		n++;
		start = (size_t)(hit - c->buf) + 4;
		pos = start;
	}
	if (start == 0 && end == sizeof(c->buf)) {
		conn_close(loop, c);	/* a header larger than the buffer */
		return;
	}
	memmove(c->buf, c->buf + start, end - start);
	c->have = end - start;
	if (n > 0 && send_replies(c->fd, n) < 0)
		conn_close(loop, c);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int one = 1;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
			close(fd);
			continue;
		}
		struct conn *c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->have = 0;
		ev_io_init(&c->io, on_read, fd, EV_READ);
		ev_io_start(loop, &c->io);
	}
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int listen_on(const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int fd = listen_on(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "bench_null: cannot listen on %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	struct ev_loop *loop = EV_DEFAULT;
	ev_io accept_w;
	ev_signal term_w, int_w;
	ev_io_init(&accept_w, on_accept, fd, EV_READ);
	ev_io_start(loop, &accept_w);
	ev_signal_init(&term_w, on_signal, SIGTERM);
	ev_signal_start(loop, &term_w);
	ev_signal_init(&int_w, on_signal, SIGINT);
	ev_signal_start(loop, &int_w);
	fprintf(stderr, "bench_null listening on %s\n", argv[1]);
	ev_run(loop, 0);
	close(fd);
	return 0;
}
