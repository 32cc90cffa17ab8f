/* Helpers shared by the CLI commands: errors, opening the store, name
 * rules, password input. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "base/auth.h"
#include "base/point.h"
#include "base/xalloc.h"
#include "cli/cli.h"
#include "history/engine.h"
#include "history/geo_lookup.h"

void die(const char *fmt, ...)
{
	va_list ap;
	fputs("mintrac: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int cli_store_exists(const struct cli *c)
{
	return strcmp(store_kind(c->cfg.store), "sqlite") != 0 || access(c->cfg.store, F_OK) == 0;
}

void cli_store_shown(const struct cli *c, char *out, size_t len)
{
	const char *loc = c->cfg.store;
	const char *scheme = strstr(loc, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
	const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
	if (colon)
		snprintf(out, len, "%.*s:***%s", (int)(colon - loc), loc, at);
	else
		snprintf(out, len, "%s", loc);
}

static struct store *open_store(const struct cli *c, int flags)
{
	char err[512];
	if (!cli_store_exists(c))
		die("no database in %s: run 'mintrac -d %s init' first", c->cfg.datadir,
		    c->cfg.datadir);
	struct store *s = store_open(c->cfg.store,
	                             flags | (c->cfg.sync_full ? 0 : STORE_SYNC_NORMAL), err,
	                             sizeof err);
	if (!s)
		die("%s", err);
	return s;
}

struct store *cli_store(const struct cli *c)
{
	return open_store(c, 0);
}

struct store *cli_store_bulk(const struct cli *c)
{
	return open_store(c, STORE_BULK);
}

void cli_user(struct store *s, const char *name, struct user_rec *u)
{
	int rc = store_user_get(s, name, u);
	if (rc == STORE_NOTFOUND)
		die("no user '%s'", name);
	if (rc != STORE_OK)
		die("cannot read user '%s': %s", name, store_errmsg(s));
}

void cli_device(struct store *s, const char *user, const char *dev, struct user_rec *u,
                struct device_rec *d)
{
	cli_user(s, user, u);
	int rc = store_device_get(s, u->id, dev, d);
	if (rc == STORE_NOTFOUND)
		die("user '%s' has no device '%s'", user, dev);
	if (rc != STORE_OK)
		die("cannot read device '%s': %s", dev, store_errmsg(s));
}


static void read_line(FILE *fp, char *out, size_t len)
{
	if (!fgets(out, (int)len, fp))
		die("no password given on standard input");
	size_t n = strlen(out);
	if (n == len - 1 && out[n - 1] != '\n')
		die("password too long (at most %zu bytes)", len - 2);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = 0;
}

static void prompt(const char *text, char *out, size_t len)
{
	struct termios old, quiet;
	fputs(text, stderr);
	fflush(stderr);
	int tty = tcgetattr(0, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	read_line(stdin, out, len);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
}

void read_password(int from_stdin, char *out, size_t len)
{
	if (from_stdin) {
		read_line(stdin, out, len);
	} else {
		if (!isatty(0))
			die("standard input is not a terminal: use --password-stdin");
		char again[256];
		prompt("Password: ", out, len);
		prompt("Password (again): ", again, sizeof again);
		if (strcmp(out, again))
			die("the passwords differ");
	}
	if (strlen(out) < 8)
		die("password too short: at least 8 characters");
}

void cli_derive(const struct cli *c, struct store *s)
{
	struct hist_config hc;
	hist_config_from(&hc, &c->cfg);
	struct geo *g = geo_open(s);
	struct hist_engine *e = hist_engine_new(s, &hc, hist_geo_namer, g);
	if (hist_engine_run(e) < 0)
		die("cannot bring the history up to date: %s", hist_engine_errmsg(e));
	hist_engine_free(e);
	geo_close(g);
}

int64_t cli_time_bound(const char *flag, const char *text, int upper)
{
	int64_t ms;
	if (parse_time_bound(text, upper, &ms) < 0)
		die("%s: cannot read time '%s' (ISO 8601 or epoch seconds)", flag, text);
	return ms;
}

int cli_collect_id(void *ctx, const struct device_rec *d)
{
	struct cli_ids *ids = ctx;
	array_grow(&ids->id, &ids->cap, ids->n + 1, sizeof *ids->id);
	ids->id[ids->n++] = d->id;
	return 0;
}
