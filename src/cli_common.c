/* Helpers shared by the CLI commands: errors, opening the store, name
 * rules, password input. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth.h"
#include "cli.h"

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

struct store *cli_store(const struct cli *c)
{
	char err[512];
	if (access(c->cfg.db_path, F_OK) < 0)
		die("no database in %s: run 'mintrac -d %s init' first", c->cfg.datadir,
		    c->cfg.datadir);
	struct store *s = store_open(c->cfg.db_path, c->cfg.sync_full ? 0 : STORE_SYNC_NORMAL,
	                             err, sizeof err);
	if (!s)
		die("%s", err);
	return s;
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

const char *check_user_name(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > 64)
		return "user names are 1 to 64 characters";
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return "user names may contain only letters, digits, '.', '_' and '-'";
	return NULL;
}

/* '&' would cut the ident short in the query strings that carry it. */
const char *check_device_ident(const char *ident)
{
	if (!*ident || strlen(ident) > 128 || strchr(ident, '&'))
		return "invalid ident: 1 to 128 characters, no '&'";
	return NULL;
}

const char *check_device_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t chars = 0;
	while (*p) {
		unsigned c = *p, cp;
		size_t len;
		if (c < 0x80) {
			cp = c;
			len = 1;
		} else if ((c & 0xE0) == 0xC0) {
			cp = c & 0x1F;
			len = 2;
		} else if ((c & 0xF0) == 0xE0) {
			cp = c & 0x0F;
			len = 3;
		} else if ((c & 0xF8) == 0xF0) {
			cp = c & 0x07;
			len = 4;
		} else {
			return "device names must be valid UTF-8";
		}
		for (size_t k = 1; k < len; k++) {
			if ((p[k] & 0xC0) != 0x80)
				return "device names must be valid UTF-8";
			cp = (cp << 6) | (p[k] & 0x3F);
		}
		/* Reject overlong forms and surrogates, as any UTF-8 reader must. */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
			return "device names must be valid UTF-8";
		if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
			return "device names may not contain control characters";
		if (cp == '/')
			return "device names may not contain '/'";
		p += len;
		chars++;
	}
	if (chars < 1 || chars > 64)
		return "device names are 1 to 64 characters";
	return NULL;
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
