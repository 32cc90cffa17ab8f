/* `mintrac user add|list|del|passwd|set`. */
#include <stdio.h>
#include <string.h>

#include "base/auth.h"
#include "base/tzname.h"
#include "cli/cli.h"

static int print_user(void *ctx, const struct user_rec *u)
{
	(void)ctx;
	printf("%s\n", u->name);
	return 0;
}

static int has_flag(struct cli *c, int from, const char *flag)
{
	for (int i = from; i < c->argc; i++)
		if (!strcmp(c->argv[i], flag))
			return 1;
		else if (c->argv[i][0] == '-')
			die("unknown option '%s'", c->argv[i]);
	return 0;
}

int cmd_user(struct cli *c)
{
	if (c->argc < 1)
		die("usage: mintrac user add NAME [--password-stdin] | list | del NAME | passwd NAME [--password-stdin] | set NAME --timezone ZONE");
	const char *sub = c->argv[0];
	if (!strcmp(sub, "list")) {
		struct store *s = cli_store(c);
		if (store_user_list(s, print_user, NULL) != STORE_OK)
			die("cannot list users: %s", store_errmsg(s));
		store_close(s);
		return 0;
	}
	if (c->argc < 2)
		die("usage: mintrac user %s NAME", sub);
	const char *name = c->argv[1];
	if (!strcmp(sub, "add") || !strcmp(sub, "passwd")) {
		int from_stdin = has_flag(c, 2, "--password-stdin");
		const char *why = check_user_name(name);
		if (why)
			die("invalid user name: %s", why);
		struct store *s = cli_store(c);
		struct user_rec u;
		if (!strcmp(sub, "passwd"))
			cli_user(s, name, &u);
		else if (store_user_get(s, name, &u) == STORE_OK)
			die("user '%s' exists already", name);
		char pw[256], hash[PWHASH_LEN];
		read_password(from_stdin, pw, sizeof pw);
		if (auth_init() < 0 || auth_password_hash(pw, hash) < 0)
			die("cannot hash the password (out of memory?)");
		memset(pw, 0, sizeof pw);
		int rc = !strcmp(sub, "add") ? store_user_add(s, name, hash)
		                             : store_user_set_password(s, name, hash);
		if (rc == STORE_EXISTS)
			die("user '%s' exists already", name);
		if (rc != STORE_OK)
			die("cannot save user '%s': %s", name, store_errmsg(s));
		printf("%s %s\n", !strcmp(sub, "add") ? "added user" : "changed the password of", name);
		store_close(s);
		return 0;
	}
	if (!strcmp(sub, "del")) {
		has_flag(c, 2, "");
		struct store *s = cli_store(c);
		struct user_rec u;
		cli_user(s, name, &u);
		if (store_user_del(s, name) != STORE_OK)
			die("cannot delete user '%s': %s", name, store_errmsg(s));
		printf("deleted user %s, their devices and points\n", name);
		store_close(s);
		return 0;
	}
	if (!strcmp(sub, "set")) {
		/* The settings a user has: today the time zone of their days. */
		if (c->argc != 4 || strcmp(c->argv[2], "--timezone") != 0)
			die("usage: mintrac user set NAME --timezone ZONE");
		const char *tz = c->argv[3];
		const char *why = tzname_check(tz);
		if (why)
			die("'%s': %s", tz, why);
		struct store *s = cli_store(c);
		struct user_rec u;
		cli_user(s, name, &u);
		if (store_user_set_timezone(s, name, tz) != STORE_OK)
			die("cannot set the time zone of '%s': %s", name, store_errmsg(s));
		printf("time zone of %s: %s\n", name, tz);
		store_close(s);
		return 0;
	}
	die("unknown user command '%s' (add, list, del, passwd, set)", sub);
}
