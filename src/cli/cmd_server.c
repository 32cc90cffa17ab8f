/* `mintrac init|run|start|stop|status`: the server processes' lifecycle. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "receiver/receiver.h"
#include "webapp/webapp.h"
#include "cli/cli.h"
#include "base/log.h"
#include "base/proc.h"
#include "net/net.h"

enum { SRV_RECEIVER = 1, SRV_WEBAPP = 2, SRV_BOTH = 3 };

static const char conf_template[] =
	"# mintrac configuration: \"key = value\"; MINTRAC_* environment variables\n"
	"# and command-line flags override these.\n"
	"#\n"
	"# Where phones send positions (Traccar's port for this protocol family).\n"
	"# Use 0.0.0.0:5055 to accept from the network, or keep loopback behind a proxy.\n"
	"#receiver_listen = 127.0.0.1:5055\n"
	"# Where the map and API are served.\n"
	"#webapp_listen = 127.0.0.1:8082\n"
	"# The receiver's URL as phones reach it; used in the settings `device add` prints.\n"
	"#public_url = https://tracker.example.org\n"
	"#webapp_url = https://map.example.org\n"
	"# Reverse proxies (addresses or CIDR blocks, space-separated) whose\n"
	"# X-Forwarded-For and X-Forwarded-Host are believed; none by default.\n"
	"#trusted_proxies = 127.0.0.1 ::1\n"
	"# Other sites whose pages may use the webapp (POSTs, /ws/last), e.g. the\n"
	"# address of an OwnTracks Frontend.\n"
	"#trusted_origins = https://otf.example.org\n"
	"#max_connections = 1024\n"
	"#idle_timeout = 30\n"
	"# A web sign-in ends this long after it was made, however much it is used\n"
	"# (unused, it ends after 30 days); 90d, 12h or seconds.\n"
	"#session_lifetime = 90d\n"
	"# full: an acknowledged point survives a power cut; normal: faster, may lose\n"
	"# the last acknowledged points on power loss (never on a crash).\n"
	"#synchronous = full\n"
	"# History (stays and trips): a fix less accurate than max_accuracy (m) is\n"
	"# left out, and so is an out-and-back faster than jump_speed (km/h); a stay\n"
	"# is at least stay_min (5m, 30s, 1h) within stay_radius (m).\n"
	"#max_accuracy = 500\n"
	"#jump_speed = 250\n"
	"#stay_radius = 100\n"
	"#stay_min = 5m\n"
	"# Fixes older than this (30d, 2w, 6m, 2y: days, weeks, calendar months or\n"
	"# years) are deleted by the webapp every day, the first time prune_delay\n"
	"# after it starts; kept for ever by default.\n"
	"#retention = 2y\n"
	"#prune_delay = 60s\n"
	"#log_level = info\n";

static void path_in(const struct cli *c, const char *file, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", c->cfg.datadir, file);
}

int cmd_init(struct cli *c)
{
	char err[512], conf[PATH_MAX + 32];
	if (c->argc)
		die("usage: mintrac [-d DATADIR] init");
	if (mkdir(c->cfg.datadir, 0700) < 0 && errno != EEXIST)
		die("cannot create %s: %s", c->cfg.datadir, strerror(errno));
	char shown[PATH_MAX];
	int existed = strcmp(store_kind(c->cfg.store), "sqlite") == 0 && cli_store_exists(c);
	struct store *s = store_open(c->cfg.store, STORE_CREATE, err, sizeof err);
	if (!s)
		die("%s", err);
	store_close(s);
	path_in(c, "mintrac.conf", conf, sizeof conf);
	int fd = open(conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ssize_t n = write(fd, conf_template, sizeof conf_template - 1);
		close(fd);
		if (n != (ssize_t)sizeof conf_template - 1)
			die("cannot write %s", conf);
	} else if (errno != EEXIST) {
		die("cannot create %s: %s", conf, strerror(errno));
	}
	cli_store_shown(c, shown, sizeof shown);
	printf("%s %s (database %s)\n", existed ? "already initialised:" : "initialised",
	       c->cfg.datadir, shown);
	return 0;
}

/* --receiver/--webapp and listen addresses, shared by run and start. */
static int parse_serve_flags(struct cli *c, int allow_listen)
{
	int which = 0;
	char err[256];
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i], *val = NULL, *key = NULL;
		if (!strcmp(a, "--receiver")) {
			which |= SRV_RECEIVER;
			continue;
		}
		if (!strcmp(a, "--webapp")) {
			which |= SRV_WEBAPP;
			continue;
		}
		if (allow_listen && !strncmp(a, "--receiver-listen", 17))
			key = "receiver_listen";
		else if (allow_listen && !strncmp(a, "--webapp-listen", 15))
			key = "webapp_listen";
		else
			die("unexpected argument '%s'", a);
		const char *eq = strchr(a, '=');
		if (eq)
			val = eq + 1;
		else if (strlen(a) == (key[0] == 'r' ? 17u : 15u) && i + 1 < c->argc)
			val = c->argv[++i];
		else
			die("unexpected argument '%s'", a);
		if (config_set(&c->cfg, key, val, err, sizeof err) < 0)
			die("%s", err);
	}
	return which ? which : SRV_BOTH;
}

static void raise_fd_limit(void)
{
	/* 1,024 clients need more descriptors than the usual soft limit. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "we");
	if (!fp || fputs(text, fp) == EOF || fclose(fp) != 0)
		log_warn("cannot write %s", path);
}

static char *read_text(const char *path, char *out, size_t len)
{
	FILE *fp = fopen(path, "re");
	out[0] = 0;
	if (!fp)
		return out;
	if (fgets(out, (int)len, fp))
		out[strcspn(out, "\n")] = 0;
	fclose(fp);
	return out;
}

struct serve {
	struct child_spec kids[2];
	size_t nkids;
	char own_pidfile[PATH_MAX + 32];
};

/* Checks, binds and prepares; the sockets are listening when it returns, so
 * an address in use is reported here, before any fork. */
static void serve_prepare(struct cli *c, struct serve *sv, int which)
{
	char err[512], addr[160], path[PATH_MAX + 32];
	memset(sv, 0, sizeof *sv);
	store_close(cli_store(c));          /* the database exists and is current */
	path_in(c, "mintrac.pid", sv->own_pidfile, sizeof sv->own_pidfile);
	pid_t sup = pidfile_read(sv->own_pidfile);
	if (sup && sup != getpid() && pid_alive(sup))
		die("mintrac already runs on %s (pid %d); 'mintrac stop' first", c->cfg.datadir, (int)sup);
	raise_fd_limit();
	static const struct { int bit; const char *name; int (*fn)(const struct config *, int); } srv[] = {
		{ SRV_RECEIVER, "receiver", receiver_main },
		{ SRV_WEBAPP, "webapp", webapp_main },
	};
	for (size_t i = 0; i < 2; i++) {
		if (!(which & srv[i].bit))
			continue;
		struct child_spec *k = &sv->kids[sv->nkids++];
		k->name = srv[i].name;
		k->main = srv[i].fn;
		snprintf(k->pidfile, sizeof k->pidfile, "%s/%s.pid", c->cfg.datadir, k->name);
		pid_t old = pidfile_read(k->pidfile);
		if (old && pid_alive(old))
			die("the %s already runs (pid %d); 'mintrac stop' first", k->name, (int)old);
		const char *listen = i == 0 ? c->cfg.receiver_listen : c->cfg.webapp_listen;
		k->listen_fd = net_listen(listen, err, sizeof err);
		if (k->listen_fd < 0)
			die("%s: %s", k->name, err);
		net_sockname(k->listen_fd, addr, sizeof addr);
		snprintf(path, sizeof path, "%s/%s.addr", c->cfg.datadir, k->name);
		strcat(addr, "\n");
		write_text(path, addr);
	}
}

static void serve_cleanup(struct cli *c, struct serve *sv)
{
	char path[PATH_MAX + 32];
	for (size_t i = 0; i < sv->nkids; i++) {
		snprintf(path, sizeof path, "%s/%s.addr", c->cfg.datadir, sv->kids[i].name);
		unlink(path);
		if (sv->kids[i].listen_fd >= 0)
			close(sv->kids[i].listen_fd);
	}
}

int cmd_run(struct cli *c)
{
	struct serve sv;
	int which = parse_serve_flags(c, 1);
	serve_prepare(c, &sv, which);
	log_set_tag("mintrac");
	int rc = supervise(&c->cfg, sv.kids, sv.nkids, sv.own_pidfile, -1);
	serve_cleanup(c, &sv);
	return rc;
}

int cmd_start(struct cli *c)
{
	struct serve sv;
	char logfile[PATH_MAX + 32];
	int which = parse_serve_flags(c, 1);
	serve_prepare(c, &sv, which);
	path_in(c, "mintrac.log", logfile, sizeof logfile);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	/* The children must inherit the write end across their fork only;
	 * O_CLOEXEC is harmless because nothing execs. */
	daemonize(pfd[0], pfd[1], sv.nkids, logfile);
	log_set_tag("mintrac");
	int rc = supervise(&c->cfg, sv.kids, sv.nkids, sv.own_pidfile, pfd[1]);
	serve_cleanup(c, &sv);
	return rc;
}

static int stop_pid(const char *what, pid_t pid)
{
	if (!pid || !pid_alive(pid))
		return 0;
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		die("cannot signal the %s (pid %d): %s", what, (int)pid, strerror(errno));
	return 1;
}

int cmd_stop(struct cli *c)
{
	char own[PATH_MAX + 32], path[2][PATH_MAX + 32], addr[PATH_MAX + 32];
	static const char *names[2] = { "receiver", "webapp" };
	int which = parse_serve_flags(c, 0);
	path_in(c, "mintrac.pid", own, sizeof own);
	pid_t sup = pidfile_read(own), kid[2];
	for (int i = 0; i < 2; i++) {
		snprintf(path[i], sizeof path[i], "%s/%s.pid", c->cfg.datadir, names[i]);
		kid[i] = pidfile_read(path[i]);
	}
	int signalled = 0;
	if (which == SRV_BOTH && stop_pid("supervisor", sup)) {
		signalled = 1;
	} else {
		/* One server, or no supervisor left (killed): signal directly.
		 * A child that exits 0 on SIGTERM is not restarted. */
		for (int i = 0; i < 2; i++)
			if (which & (1 << i))
				signalled |= stop_pid(names[i], kid[i]);
	}
	int timeout = 0;
	for (int i = 0; i < 2; i++)
		if ((which & (1 << i)) && kid[i] && pid_wait_gone(kid[i], 60) < 0)
			timeout = 1;
	if (which == SRV_BOTH && sup && pid_wait_gone(sup, 60) < 0)
		timeout = 1;
	if (timeout)
		die("servers did not stop within 60 s");
	for (int i = 0; i < 2; i++) {
		if (!(which & (1 << i)))
			continue;
		unlink(path[i]);
		snprintf(addr, sizeof addr, "%s/%s.addr", c->cfg.datadir, names[i]);
		unlink(addr);
	}
	if (which == SRV_BOTH)
		unlink(own);
	printf("%s\n", signalled ? "stopped" : "not running");
	return 0;
}

int cmd_status(struct cli *c)
{
	static const char *names[2] = { "receiver", "webapp" };
	char path[PATH_MAX + 32], addr[160];
	int running = 0;
	if (c->argc)
		die("usage: mintrac status");
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s.pid", c->cfg.datadir, names[i]);
		pid_t pid = pidfile_read(path);
		if (pid && pid_alive(pid)) {
			snprintf(path, sizeof path, "%s/%s.addr", c->cfg.datadir, names[i]);
			read_text(path, addr, sizeof addr);
			printf("%s %s pid %d\n", names[i], addr[0] ? addr : "?", (int)pid);
			running++;
		} else {
			printf("%s not running%s\n", names[i], pid ? " (stale pidfile)" : "");
		}
	}
	if (cli_store_exists(c)) {
		struct store *s = cli_store(c);
		long long n = (long long)store_count(s, 0);
		store_close(s);
		printf("points %lld\n", n);
	}
	return running ? 0 : 1;
}
