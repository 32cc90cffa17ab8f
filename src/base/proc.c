#include "base/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* Readiness pipe inherited by the children (one per process: set before
 * fork, used once by proc_ready()). */
static int ready_fd = -1;

double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pidfile_write(const char *path, pid_t pid)
{
	char tmp[PATH_MAX + 8], text[32];
	int n = snprintf(text, sizeof text, "%d\n", (int)pid);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	/* Written whole and renamed, so a reader never sees half a pid. */
	if (write(fd, text, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

pid_t pidfile_read(const char *path)
{
	char text[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = 0;
	char *end;
	long v = strtol(text, &end, 10);
	if (v <= 1 || (*end && *end != '\n'))
		return 0;
	return (pid_t)v;
}

/* readlink of /proc/PID/exe, without the " (deleted)" an upgrade that
 * replaced the binary under a running server adds. 0, or -1 when unknown. */
static int exe_path(const char *link, char *out, size_t len)
{
	ssize_t n = readlink(link, out, len - 1);
	if (n < 0)
		return -1;
	out[n] = 0;
	size_t dl = strlen(" (deleted)");
	if ((size_t)n > dl && !strcmp(out + n - dl, " (deleted)"))
		out[n - dl] = 0;
	return 0;
}

/* A pidfile outlives a crash or a power cut, and its pid may by now belong
 * to another program: only a process running a binary of our name is ours
 * (the name, not the path: `status` may run from another copy than the
 * one `start` ran). When /proc cannot tell, trust the pid. */
static int runs_this_binary(pid_t pid)
{
	char link[64], mine[PATH_MAX], theirs[PATH_MAX];
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	if (exe_path("/proc/self/exe", mine, sizeof mine) < 0 ||
	    exe_path(link, theirs, sizeof theirs) < 0)
		return 1;
	const char *a = strrchr(mine, '/'), *b = strrchr(theirs, '/');
	return strcmp(a ? a + 1 : mine, b ? b + 1 : theirs) == 0;
}

int pid_alive(pid_t pid)
{
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return 0;
	if (!runs_this_binary(pid))
		return 0;
	/* kill() succeeds on zombies; /proc tells them apart. */
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

int pid_wait_gone(pid_t pid, double seconds)
{
	double end = mono_now() + seconds;
	while (pid_alive(pid)) {
		/* Reap it if it is our own child. */
		waitpid(pid, NULL, WNOHANG);
		if (mono_now() > end)
			return -1;
		usleep(20000);
	}
	return 0;
}

void proc_ready(void)
{
	if (ready_fd < 0)
		return;
	char c = 'R';
	if (write(ready_fd, &c, 1) < 0)
		log_warn("readiness notification");
	close(ready_fd);
	ready_fd = -1;
}

static void spawn(const struct config *cfg, struct child_spec *kids, size_t nkids, size_t i,
                  const sigset_t *oldmask, int notify_fd)
{
	struct child_spec *k = &kids[i];
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("fork %s", k->name);
		k->restart_at = mono_now() + 1;
		return;
	}
	if (pid == 0) {
		/* Each server holds only its own listening socket. */
		for (size_t j = 0; j < nkids; j++)
			if (j != i && kids[j].listen_fd >= 0)
				close(kids[j].listen_fd);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		/* A terminal hangup reaches the whole process group; the
		 * supervisor turns it into an orderly SIGTERM, so the server
		 * must not die of it mid-commit. */
		signal(SIGHUP, SIG_IGN);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		ready_fd = notify_fd;
		log_set_tag(k->name);
		_exit(k->main(cfg, k->listen_fd) == 0 ? 0 : 1);
	}
	k->pid = pid;
	k->started = mono_now();
	k->restart_at = 0;
	if (pidfile_write(k->pidfile, pid) < 0)
		log_warn("cannot write %s", k->pidfile);
	log_info("%s started, pid %d", k->name, (int)pid);
}

static void reap(struct child_spec *kids, size_t nkids, int stopping)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < nkids; i++) {
			struct child_spec *k = &kids[i];
			if (k->pid != pid)
				continue;
			k->pid = 0;
			if (stopping || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
				log_info("%s exited", k->name);
				k->done = 1;
				unlink(k->pidfile);
				break;
			}
			/* A crash: restart, backing off when it keeps crashing
			 * right after starting (0.5 s, 1 s, 2 s ... 30 s). */
			if (WIFSIGNALED(status))
				log_warnx("%s (pid %d) killed by signal %d (%s); restarting", k->name,
				          (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
			else
				log_warnx("%s (pid %d) exited with status %d; restarting", k->name,
				          (int)pid, WEXITSTATUS(status));
			double now = mono_now();
			k->crashes = now - k->started < 30 ? k->crashes + 1 : 0;
			double delay = 0.5;
			for (int c = 0; c < k->crashes && delay < 30; c++)
				delay *= 2;
			k->restart_at = now + (delay > 30 ? 30 : delay);
			break;
		}
	}
}

int supervise(const struct config *cfg, struct child_spec *kids, size_t nkids,
              const char *own_pidfile, int notify_fd)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	if (own_pidfile && pidfile_write(own_pidfile, getpid()) < 0)
		log_warn("cannot write %s", own_pidfile);

	for (size_t i = 0; i < nkids; i++)
		spawn(cfg, kids, nkids, i, &old, notify_fd);
	/* Only the first children report readiness to `start`. */
	if (notify_fd >= 0)
		close(notify_fd);

	int stopping = 0;
	for (;;) {
		size_t alive = 0;
		double next = 0, now = mono_now();
		for (size_t i = 0; i < nkids; i++) {
			if (kids[i].pid)
				alive++;
			else if (!stopping && !kids[i].done && kids[i].restart_at) {
				if (kids[i].restart_at <= now) {
					spawn(cfg, kids, nkids, i, &old, -1);
					alive++;
				} else if (!next || kids[i].restart_at < next) {
					next = kids[i].restart_at;
				}
			}
		}
		if (!alive && !next)
			break;
		struct timespec ts = { 1, 0 };
		if (next) {
			double d = next - now;
			ts.tv_sec = (time_t)d;
			ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
		}
		siginfo_t info;
		int sig = sigtimedwait(&set, &info, &ts);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			if (!stopping)
				log_info("received %s, stopping", strsignal(sig));
			stopping = 1;
			for (size_t i = 0; i < nkids; i++)
				if (kids[i].pid)
					kill(kids[i].pid, SIGTERM);
		}
		reap(kids, nkids, stopping);
	}
	for (size_t i = 0; i < nkids; i++)
		unlink(kids[i].pidfile);
	if (own_pidfile)
		unlink(own_pidfile);
	log_info("stopped");
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

void daemonize(int ready_rfd, int ready_wfd, size_t nready, const char *logfile)
{
	pid_t pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		/* The caller of `start`: wait until every server says it
		 * serves, or until they all closed the pipe without saying so. */
		close(ready_wfd);
		size_t got = 0;
		double end = mono_now() + 60;
		while (got < nready && mono_now() < end) {
			struct pollfd p = { .fd = ready_rfd, .events = POLLIN };
			if (poll(&p, 1, 200) <= 0)
				continue;
			char c[8];
			ssize_t n = read(ready_rfd, c, sizeof c);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got < nready) {
			/* Failed means nothing runs: otherwise the supervisor
			 * would keep restarting the broken server in the
			 * background and hold the ports and pidfiles, so the
			 * next `start` refuses. */
			if (kill(pid, SIGTERM) == 0 && pid_wait_gone(pid, 60) < 0)
				kill(pid, SIGKILL);
			fprintf(stderr, "mintrac: start failed; see %s\n", logfile);
			exit(1);
		}
		exit(0);
	}
	close(ready_rfd);
	if (setsid() < 0)
		fatal("setsid: %s", strerror(errno));
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}
	/* stderr too: whatever a library prints lands in the log file. */
	int lfd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (lfd >= 0) {
		dup2(lfd, 2);
		if (lfd > 2)
			close(lfd);
	}
}
