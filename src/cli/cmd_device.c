/* `mintrac device add|list|del|token`. */
#include <stdio.h>
#include <string.h>

#include "proto/appsettings.h"
#include "base/auth.h"
#include "base/buf.h"
#include "cli/cli.h"

struct device_opts {
	const char *ident;
	int json;
};

/* Positional arguments first, then --ident ID / --json. */
static void parse_opts(struct cli *c, int from, struct device_opts *o, int allow_ident)
{
	memset(o, 0, sizeof *o);
	for (int i = from; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--json"))
			o->json = 1;
		else if (allow_ident && !strcmp(c->argv[i], "--ident") && i + 1 < c->argc)
			o->ident = c->argv[++i];
		else
			die("unexpected argument '%s'", c->argv[i]);
	}
}

static void print_settings(const struct cli *c, const char *user, const char *device,
                           const char *token, const char *ident, int json)
{
	char url[512];
	struct buf b;
	config_receiver_url(&c->cfg, url, sizeof url);
	struct app_settings s = { url, user, device, token, ident };
	buf_init(&b);
	if (json) {
		app_settings_json(&b, &s);
		buf_addc(&b, '\n');
	} else {
		app_settings_text(&b, &s);
	}
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void new_token(char tok[TOKEN_LEN + 1], unsigned char hash[TOKEN_HASH_LEN])
{
	if (auth_init() < 0 || auth_token_new(tok) < 0)
		die("cannot generate a token (no randomness?)");
	auth_token_hash(tok, hash);
}

static int device_add(struct cli *c)
{
	struct device_opts o;
	if (c->argc < 3)
		die("usage: mintrac device add USER DEVICE [--ident ID] [--json]");
	const char *user = c->argv[1], *name = c->argv[2];
	parse_opts(c, 3, &o, 1);
	const char *why = check_device_name(name);
	if (why)
		die("invalid device name: %s", why);
	if (o.ident && (why = check_device_ident(o.ident)) != NULL)
		die("%s", why);
	struct store *s = cli_store(c);
	struct user_rec u;
	cli_user(s, user, &u);
	char tok[TOKEN_LEN + 1];
	unsigned char hash[TOKEN_HASH_LEN];
	new_token(tok, hash);
	int64_t id;
	int rc = store_device_add(s, u.id, name, hash, o.ident, &id);
	if (rc == STORE_EXISTS)
		die("user '%s' already has a device '%s', or the ident is taken", user, name);
	if (rc != STORE_OK)
		die("cannot add device: %s", store_errmsg(s));
	store_close(s);
	print_settings(c, user, name, tok, o.ident, o.json);
	return 0;
}

static int device_token(struct cli *c)
{
	struct device_opts o;
	if (c->argc < 3)
		die("usage: mintrac device token USER DEVICE [--json]");
	parse_opts(c, 3, &o, 0);
	struct store *s = cli_store(c);
	struct user_rec u;
	struct device_rec d;
	cli_device(s, c->argv[1], c->argv[2], &u, &d);
	char tok[TOKEN_LEN + 1];
	unsigned char hash[TOKEN_HASH_LEN];
	new_token(tok, hash);
	if (store_device_set_token(s, d.id, hash) != STORE_OK)
		die("cannot change the token: %s", store_errmsg(s));
	store_close(s);
	if (o.json) {
		struct buf b;
		buf_init(&b);
		buf_adds(&b, "{\"token\":");
		buf_add_json_str(&b, tok);
		buf_adds(&b, "}\n");
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
	} else {
		print_settings(c, u.name, d.name, tok, d.ident, 0);
	}
	return 0;
}

struct list_ctx {
	struct store *s;
	int failed;
};

static int print_device(void *ctx, const struct device_rec *d)
{
	struct list_ctx *lc = ctx;
	int64_t n = store_count(lc->s, d->id);
	if (n < 0)
		lc->failed = 1;
	printf("%s\t%s\t%lld points%s%s\n", d->user, d->name, (long long)n,
	       d->ident[0] ? "\tident " : "", d->ident);
	return 0;
}

static int device_list(struct cli *c)
{
	struct store *s = cli_store(c);
	int64_t uid = 0;
	if (c->argc > 2)
		die("usage: mintrac device list [USER]");
	if (c->argc == 2) {
		struct user_rec u;
		cli_user(s, c->argv[1], &u);
		uid = u.id;
	}
	struct list_ctx lc = { s, 0 };
	if (store_device_list(s, uid, print_device, &lc) != STORE_OK || lc.failed)
		die("cannot list devices: %s", store_errmsg(s));
	store_close(s);
	return 0;
}

static int device_del(struct cli *c)
{
	if (c->argc != 3)
		die("usage: mintrac device del USER DEVICE");
	struct store *s = cli_store(c);
	struct user_rec u;
	struct device_rec d;
	cli_device(s, c->argv[1], c->argv[2], &u, &d);
	if (store_device_del(s, d.id) != STORE_OK)
		die("cannot delete device: %s", store_errmsg(s));
	store_close(s);
	printf("deleted device %s of %s and its points\n", d.name, u.name);
	return 0;
}

int cmd_device(struct cli *c)
{
	if (c->argc < 1)
		die("usage: mintrac device add|list|del|token ...");
	const char *sub = c->argv[0];
	if (!strcmp(sub, "add"))
		return device_add(c);
	if (!strcmp(sub, "token"))
		return device_token(c);
	if (!strcmp(sub, "list"))
		return device_list(c);
	if (!strcmp(sub, "del"))
		return device_del(c);
	die("unknown device command '%s' (add, list, del, token)", sub);
}
