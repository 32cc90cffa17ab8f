/* Shared by the CLI command modules (cmd_*.c). */
#ifndef MINTRAC_CLI_H
#define MINTRAC_CLI_H
#include "base/config.h"
#include "base/names.h"
#include "store/store.h"

struct cli {
	struct config cfg;
	int    argc;        /* arguments after the command word */
	char **argv;
	int    have_datadir_flag;
};

/* One clear line on stderr, exit 1. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Open the database of cfg, or die with a hint to run `mintrac init`. */
struct store *cli_store(const struct cli *c);
/* 1 when the configured store exists (a SQLite file is there; a
 * PostgreSQL database is taken to: opening it says when not). */
int cli_store_exists(const struct cli *c);
/* The store location as it may be shown (a password in a URI hidden). */
void cli_store_shown(const struct cli *c, char *out, size_t len);
/* The same with STORE_BULK, for an import. */
struct store *cli_store_bulk(const struct cli *c);
/* Look up a user or device, or die naming what is missing. */
void cli_user(struct store *s, const char *name, struct user_rec *u);
void cli_device(struct store *s, const char *user, const char *dev,
                struct user_rec *u, struct device_rec *d);
/* Read a password: first line of stdin with --password-stdin, else a
 * terminal prompt (twice). Dies on short (< 8) passwords. */
void read_password(int from_stdin, char *out, size_t len);
/* Brings the derived history (stays, trips, places) up to date, as the
 * webapp's deriver would: after an import, before history is shown. */
void cli_derive(const struct cli *c, struct store *s);
/* Device ids: cli_collect_id appends d's (a store_device_list callback,
 * or called directly); free id. */
struct cli_ids {
	int64_t *id;
	size_t   n, cap;
};
int cli_collect_id(void *ctx, const struct device_rec *d);
/* parse_time_bound, or die naming the flag. */
int64_t cli_time_bound(const char *flag, const char *text, int upper);

int cmd_init(struct cli *c);
int cmd_run(struct cli *c);
int cmd_start(struct cli *c);
int cmd_stop(struct cli *c);
int cmd_status(struct cli *c);
int cmd_user(struct cli *c);
int cmd_device(struct cli *c);
int cmd_import(struct cli *c);
int cmd_export(struct cli *c);
int cmd_backup(struct cli *c);
int cmd_migrate(struct cli *c);
int cmd_demo(struct cli *c);
int cmd_trips(struct cli *c);
int cmd_timeline(struct cli *c);
int cmd_stats(struct cli *c);
int cmd_delete(struct cli *c);
int cmd_prune(struct cli *c);
int cmd_geo(struct cli *c);
#endif
