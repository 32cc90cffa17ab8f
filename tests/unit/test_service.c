/* net/service.c: the skeleton both server processes run. Each case runs
 * service_run in a child (its own default loop and signal handlers) with
 * callbacks that note the order they were called in, and checks the
 * shutdown rules: a failed open releases without quiescing, a signal
 * drains until nothing is busy, drain_max bounds that wait. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/util.h"
#include "net/net.h"
#include "net/service.h"
#include "test.h"

struct fake {
	struct service svc;
	char           trace[512];
	size_t         n;
	int            fail_open;
	int            busy_polls;   /* busy() answers 1 this many times; -1: always */
	ev_timer       kill;         /* raises SIGTERM once the loop runs */
};

static void note(struct fake *f, char c)
{
	if (f->n + 1 < sizeof f->trace)
		f->trace[f->n++] = c;
}

static void kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	raise(SIGTERM);
}

static void on_request(void *ctx, struct conn *c, const struct http_request *req)
{
	(void)ctx, (void)req;
	conn_reply(c, 200, NULL, "", 0, NULL);
}

static int f_open(struct service *svc, struct server_config *sc)
{
	struct fake *f = container_of(svc, struct fake, svc);
	note(f, 'o');
	if (f->fail_open)
		return -1;
	ev_timer_init(&f->kill, kill_cb, 0.02, 0);
	ev_timer_start(svc->loop, &f->kill);
	sc->on_request = on_request;
	sc->ctx = f;
	return 0;
}

static int f_busy(struct service *svc)
{
	struct fake *f = container_of(svc, struct fake, svc);
	note(f, 'b');
	if (f->busy_polls < 0)
		return 1;
	return f->busy_polls-- > 0;
}

static void f_stopping(struct service *svc)
{
	note(container_of(svc, struct fake, svc), 's');
}

static void f_quiesce(struct service *svc)
{
	note(container_of(svc, struct fake, svc), 'q');
}

static void f_close(struct service *svc)
{
	note(container_of(svc, struct fake, svc), 'c');
}

static const struct service_ops f_ops = {
	.open = f_open,
	.busy = f_busy,
	.stopping = f_stopping,
	.quiesce = f_quiesce,
	.close = f_close,
};

/* Runs one service in a child: its exit status, its trace with runs of
 * 'b' squeezed to one, how many busy polls there were, and the seconds it
 * took; -1 when it did not end within 10 s. */
static int run_service(int fail_open, int busy_polls, double drain_max, char *trace,
                       size_t tlen, int *polls, double *secs)
{
	int pfd[2];
	struct timespec t0, t1;
	if (pipe(pfd) < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid == 0) {
		char err[128];
		struct config cfg;
		struct fake f;
		memset(&cfg, 0, sizeof cfg);
		memset(&f, 0, sizeof f);
		cfg.max_conns = 4;
		cfg.idle_timeout = 5;
		f.svc.name = "svc-test";
		f.svc.ops = &f_ops;
		f.svc.drain_max = drain_max;
		f.fail_open = fail_open;
		f.busy_polls = busy_polls;
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, 2);   /* the service's own log lines */
		int fd = net_listen("127.0.0.1:0", err, sizeof err);
		if (fd < 0)
			_exit(3);
		int rc = service_run(&f.svc, &cfg, fd);
		if (write(pfd[1], f.trace, f.n) < 0)
			_exit(4);
		_exit(rc);
	}
	close(pfd[1]);
	char raw[512];
	ssize_t n = 0;
	/* A drain that never ends must fail the test, not hang it. */
	struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
	if (poll(&pf, 1, 10000) == 1)
		n = read(pfd[0], raw, sizeof raw - 1);
	else
		kill(pid, SIGKILL);
	close(pfd[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	size_t w = 0;
	*polls = 0;
	for (ssize_t i = 0; i < n && w + 1 < tlen; i++) {
		if (raw[i] == 'b')
			(*polls)++;
		if (raw[i] != 'b' || w == 0 || trace[w - 1] != 'b')
			trace[w++] = raw[i];
	}
	trace[w] = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(service_failed_open_releases_without_quiesce)
{
	char trace[64];
	int polls;
	double secs;
	CHECK_INT(run_service(1, 0, 0, trace, sizeof trace, &polls, &secs), 1);
	CHECK_STR(trace, "oc");
}

TEST(service_signal_drains_until_idle)
{
	char trace[64];
	int polls;
	double secs;
	/* Busy for three polls: the fourth finds it idle and the loop ends. */
	CHECK_INT(run_service(0, 3, 0, trace, sizeof trace, &polls, &secs), 0);
	CHECK_STR(trace, "osbqc");
	CHECK_INT(polls, 4);
}

TEST(service_drain_max_bounds_the_wait)
{
	char trace[64];
	int polls;
	double secs;
	/* Always busy: the wait ends after drain_max (0.2 s), not never. */
	CHECK_INT(run_service(0, -1, 0.2, trace, sizeof trace, &polls, &secs), 0);
	CHECK_STR(trace, "osbqc");
	CHECK(polls >= 5);
	CHECK(secs >= 0.2 && secs < 5);
}
