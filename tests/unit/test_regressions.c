/* Regression tests from the review of the process lifecycle (proc.c). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "base/proc.h"
#include "test.h"

/* A server that cannot start (database missing, store will not open). */
static int failing_main(const struct config *cfg, int listen_fd)
{
	(void)cfg;
	(void)listen_fd;
	return 1;
}

/* `start` whose server fails before it is ready must report the failure
 * and leave nothing running: no supervisor restarting the server in the
 * background, no pidfiles that make the next `start` refuse. */
TEST(regress_start_failure_leaves_nothing_running)
{
	char dir[] = "/tmp/mt-review-XXXXXX";
	char own[PATH_MAX], logfile[PATH_MAX], kidpid[PATH_MAX];
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(own, sizeof own, "%s/mintrac.pid", dir);
	snprintf(logfile, sizeof logfile, "%s/mintrac.log", dir);
	snprintf(kidpid, sizeof kidpid, "%s/receiver.pid", dir);
	fflush(stdout);
	fflush(stderr);
	pid_t x = fork();
	if (x == 0) {
		/* What cmd_start does, with a server that fails at startup. */
		struct config cfg;
		memset(&cfg, 0, sizeof cfg);
		struct child_spec kid;
		memset(&kid, 0, sizeof kid);
		kid.name = "receiver";
		kid.main = failing_main;
		kid.listen_fd = -1;
		snprintf(kid.pidfile, sizeof kid.pidfile, "%s", kidpid);
		int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, 2);   /* "start failed" is expected here */
		int pfd[2];
		if (pipe2(pfd, O_CLOEXEC) < 0)
			_exit(3);
		daemonize(pfd[0], pfd[1], 1, logfile);
		_exit(supervise(&cfg, &kid, 1, own, pfd[1]));
	}
	CHECK(x > 0);
	int st = 0;
	CHECK_INT(waitpid(x, &st, 0), x);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	pid_t sup = pidfile_read(own);
	int alive = sup && pid_alive(sup);
	CHECK(!alive);
	CHECK(access(kidpid, F_OK) != 0);
	if (alive) {
		kill(sup, SIGTERM);
		pid_wait_gone(sup, 10);
	}
	unlink(own);
	unlink(kidpid);
	unlink(logfile);
	rmdir(dir);
}

/* ---- server.c: the idle rule after a deferred reply --------------------- */

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include "base/log.h"
#include "net/net.h"
#include "net/server.h"

#define BIG_REPLY (4u * 1024 * 1024)

struct held {
	struct ev_loop *loop;
	struct conn    *c;
	ev_timer        later;
	char           *body;
};

static void held_reply(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct held *h = w->data;
	/* Larger than any socket buffer: most of it stays queued. */
	conn_reply_close(h->c, 200, "text/plain", h->body, BIG_REPLY, NULL);
	h->c = NULL;
}

static void held_handler(void *ctx, struct conn *c, const struct http_request *req)
{
	(void)req;
	struct held *h = ctx;
	conn_hold(c);
	h->c = c;
	ev_timer_set(&h->later, 0.05, 0.);
	ev_timer_start(h->loop, &h->later);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A client that takes a deferred reply but never reads it is still closed
 * by the idle timeout, as it is after an immediate reply. */
TEST(regress_server_deferred_close_reply_unread_times_out)
{
	struct held h;
	memset(&h, 0, sizeof h);
	log_set_level(LOG_LVL_ERROR);
	h.loop = ev_loop_new(EVFLAG_AUTO);
	h.body = calloc(1, BIG_REPLY);
	ev_init(&h.later, held_reply);
	h.later.data = &h;
	char err[256], name[64];
	int lfd = net_listen("127.0.0.1:0", err, sizeof err);
	CHECK(lfd >= 0);
	net_sockname(lfd, name, sizeof name);
	struct server_config cfg = {
		.max_conns = 4,
		.idle_timeout = 0.3,
		.on_request = held_handler,
		.ctx = &h,
		.name = "review",
	};
	struct server *srv = server_new(h.loop, lfd, &cfg);
	CHECK(srv != NULL);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int small = 4096;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(name + 10)) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	static const char req[] = "GET /held HTTP/1.1\r\nHost: x\r\n\r\n";
	CHECK(send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1));
	/* Never read: wait well past the idle timeout. */
	double end = mono() + 2.0;
	int replied = 0;
	while (mono() < end && !(replied && server_conns(srv) == 0)) {
		ev_run(h.loop, EVRUN_NOWAIT);
		replied = replied || (h.c == NULL && server_conns(srv) <= 1 && !ev_is_active(&h.later) &&
		                      server_waiting(srv) == 0);
		usleep(1000);
	}
	CHECK(replied);
	CHECK_INT(server_conns(srv), 0);
	close(fd);
	ev_run(h.loop, EVRUN_NOWAIT);
	ev_timer_stop(h.loop, &h.later);
	server_free(srv);
	close(lfd);
	ev_loop_destroy(h.loop);
	free(h.body);
	log_set_level(LOG_LVL_INFO);
}
