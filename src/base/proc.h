/* Processes: pidfiles, daemonizing, readiness notification and the
 * supervisor that keeps the receiver and webapp children running. The
 * supervisor uses no event loop (plain sigtimedwait), so a child starts
 * with clean libev state after fork. */
#ifndef MINTRAC_PROC_H
#define MINTRAC_PROC_H
#include <limits.h>
#include <sys/types.h>
#include "base/config.h"

int   pidfile_write(const char *path, pid_t pid);
pid_t pidfile_read(const char *path);          /* 0 when missing or invalid */
/* 1 when pid runs (not a zombie) a binary named like ours, else 0: a stale
 * pidfile whose pid now belongs to another program does not count. */
int   pid_alive(pid_t pid);
/* Wait up to `seconds` for pid to exit; 0 when gone, -1 on timeout. */
int   pid_wait_gone(pid_t pid, double seconds);

struct child_spec {
	const char *name;                          /* "receiver" / "webapp" */
	int       (*main)(const struct config *cfg, int listen_fd);
	int         listen_fd;
	char        pidfile[PATH_MAX + 32];
	pid_t       pid;                           /* 0 when not running */
	int         done;                          /* exited on purpose: no restart */
	int         crashes;                       /* consecutive quick crashes */
	double      started;                       /* monotonic seconds */
	double      restart_at;                    /* monotonic seconds, 0 = none */
};

/* Children call this once they serve: tells `start` it may return. */
void proc_ready(void);
/* Runs the children and restarts a crashed one with backoff until SIGTERM/
 * SIGINT or until every child exited on purpose; returns the exit status.
 * notify_fd (or -1) is the pipe end the children report readiness on. */
int supervise(const struct config *cfg, struct child_spec *kids, size_t nkids,
              const char *own_pidfile, int notify_fd);
/* Detach from the terminal (fork, setsid, stdio to /dev/null). Returns in
 * the daemon; the original process waits on `ready_fd` for `nready` bytes
 * and exits 0, or exits 1 with a message when the daemon failed. */
void daemonize(int ready_rfd, int ready_wfd, size_t nready, const char *logfile);
double mono_now(void);
#endif
