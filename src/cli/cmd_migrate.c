/* `mintrac migrate --to LOCATION`: copies the configured store into another
 * one, SQLite to PostgreSQL or back (or SQLite to a new SQLite file).
 *
 * Users, devices (with their token hashes), sessions and places are copied
 * row by row with their ids, so every reference stays true; fixes go
 * through store_put_fixes in batches, so the destination's per-device
 * counts and history marks are kept as by any other insert, and its
 * history (stays, trips) is derived again there by the webapp. Every row
 * whose key is taken is skipped, and a device's fixes resume after the
 * latest one the destination has: an interrupted migration runs again to
 * its end. At the end the counts of both sides are compared. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/point.h"
#include "base/xalloc.h"
#include "cli/cli.h"

/* The tables copied as rows, parents first. Both backends use these names. */
static const struct {
	const char *table, *cols;
} row_tables[] = {
	{ "users",    "id, name, pwhash, created_ms, timezone" },
	{ "devices",  "id, user_id, name, token_hash, ident, created_ms" },
	{ "sessions", "id_hash, user_id, csrf, created_ms, expires_ms" },
	{ "places",   "id, user_id, name, lat, lon, radius, city, country, deleted, created_ms, "
	              "country_name" },
};

/* Fixes per transaction: big enough that a commit's cost is shared, small
 * enough that an interruption loses little and memory stays flat. */
#define FIX_BATCH 5000
/* Rows of a small table per transaction. */
#define ROW_BATCH 1000

struct copy {
	struct store *src, *dst;
	const char   *table, *cols;
	int64_t       rows, added;
	int           in_tx;          /* a destination transaction is open */
	/* fixes */
	int64_t       device_id;
	struct fix   *fixes;
	int64_t      *ids;
	const struct fix **ptrs;
	int          *inserted;
	size_t        n;
	int64_t       done, total, shown_ms;
	int           tty;
};

static void fail_dst(struct copy *cp, const char *what)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s", store_errmsg(cp->dst));
	(void)store_rollback(cp->dst);
	die("migrate: %s: %s (run the same command again to go on)", what, msg);
}

static void tx_begin(struct copy *cp)
{
	if (!cp->in_tx && store_begin(cp->dst) != STORE_OK)
		fail_dst(cp, "begin");
	cp->in_tx = 1;
}

static void tx_commit(struct copy *cp)
{
	if (cp->in_tx && store_commit(cp->dst) != STORE_OK)
		fail_dst(cp, "commit");
	cp->in_tx = 0;
}

static int put_row(void *ctx, int n, const struct store_val *v)
{
	struct copy *cp = ctx;
	int ins = 0;
	tx_begin(cp);
	if (store_put_row(cp->dst, cp->table, cp->cols, n, v, &ins) != STORE_OK)
		fail_dst(cp, cp->table);
	cp->rows++;
	cp->added += ins;
	if (cp->rows % ROW_BATCH == 0)
		tx_commit(cp);
	return 0;
}

static int count_row(void *ctx, int n, const struct store_val *v)
{
	(void)n;
	(void)v;
	(*(int64_t *)ctx)++;
	return 0;
}

static int64_t count_rows(struct store *s, const char *table, const char *cols)
{
	int64_t n = 0;
	if (store_rows(s, table, cols, count_row, &n) != STORE_OK)
		die("migrate: counting %s: %s", table, store_errmsg(s));
	return n;
}

/* A destination that holds users the source does not (another
 * installation's data) would mix two stores: refuse before writing. */
struct user_check {
	struct store *src;
	const char   *bad;
	char          name[65];
};

static int check_user(void *ctx, const struct user_rec *u)
{
	struct user_check *uc = ctx;
	struct user_rec mine;
	if (store_user_get(uc->src, u->name, &mine) != STORE_OK || mine.id != u->id) {
		snprintf(uc->name, sizeof uc->name, "%s", u->name);
		return 1;
	}
	return 0;
}

static void progress(struct copy *cp, int last)
{
	if (!cp->tty)
		return;
	int64_t now = mono_ms();
	if (!last && now - cp->shown_ms < 200)
		return;
	cp->shown_ms = now;
	fprintf(stderr, "\rfixes %lld of %lld (%.0f%%)%s", (long long)cp->done,
	        (long long)cp->total, cp->total ? 100.0 * (double)cp->done / (double)cp->total : 100.0,
	        last ? "\n" : "");
}

static void flush_fixes(struct copy *cp)
{
	if (!cp->n)
		return;
	tx_begin(cp);
	if (store_put_fixes(cp->dst, cp->ids, cp->ptrs, cp->n, cp->inserted) != STORE_OK)
		fail_dst(cp, "fixes");
	tx_commit(cp);
	cp->done += (int64_t)cp->n;
	for (size_t i = 0; i < cp->n; i++)
		fix_free(&cp->fixes[i]);
	cp->n = 0;
	progress(cp, 0);
}

static int take_fix(void *ctx, const struct fix *f)
{
	struct copy *cp = ctx;
	struct fix *d = &cp->fixes[cp->n];
	*d = *f;
	d->attrs = f->attrs ? xstrdup(f->attrs) : NULL;
	cp->ids[cp->n] = cp->device_id;
	cp->ptrs[cp->n] = d;
	if (++cp->n == FIX_BATCH)
		flush_fixes(cp);
	return 0;
}

static int copy_device_fixes(void *ctx, const struct device_rec *d)
{
	struct copy *cp = ctx;
	struct fix last;
	int64_t from = INT64_MIN;
	/* Fixes are copied in time order and committed in batches, so what
	 * the destination holds of a device is a prefix: go on after it. */
	int rc = store_last_fix(cp->dst, d->id, &last);
	if (rc == STORE_OK) {
		int at_end = last.time_ms == INT64_MAX;
		from = at_end ? INT64_MAX : last.time_ms + 1;
		cp->done += store_count(cp->dst, d->id);
		fix_free(&last);
		if (at_end)
			return 0;
	} else if (rc != STORE_NOTFOUND) {
		die("migrate: reading the destination: %s", store_errmsg(cp->dst));
	}
	cp->device_id = d->id;
	if (store_fixes(cp->src, d->id, from, INT64_MAX, take_fix, cp) != STORE_OK)
		die("migrate: reading fixes: %s", store_errmsg(cp->src));
	flush_fixes(cp);
	return 0;
}

static void verify(struct copy *cp)
{
	int bad = 0;
	for (size_t i = 0; i < sizeof row_tables / sizeof row_tables[0]; i++) {
		int64_t a = count_rows(cp->src, row_tables[i].table, row_tables[i].cols);
		int64_t b = count_rows(cp->dst, row_tables[i].table, row_tables[i].cols);
		printf("%-8s %lld -> %lld%s\n", row_tables[i].table, (long long)a, (long long)b,
		       a == b ? "" : "  DIFFERENT");
		bad |= a != b;
	}
	struct cli_ids ids = { 0 };
	if (store_device_list(cp->src, 0, cli_collect_id, &ids) != STORE_OK)
		die("migrate: %s", store_errmsg(cp->src));
	int64_t a = 0, b = 0;
	for (size_t i = 0; i < ids.n; i++) {
		int64_t x = store_count(cp->src, ids.id[i]), y = store_count(cp->dst, ids.id[i]);
		if (x < 0 || y < 0)
			die("migrate: counting fixes failed");
		if (x != y) {
			fprintf(stderr, "migrate: device %lld: %lld fixes here, %lld there\n",
			        (long long)ids.id[i], (long long)x, (long long)y);
			bad = 1;
		}
		a += x;
		b += y;
	}
	free(ids.id);
	printf("%-8s %lld -> %lld%s\n", "fixes", (long long)a, (long long)b,
	       a == b ? "" : "  DIFFERENT");
	if (bad)
		die("migrate: the counts differ (see above); nothing was removed from the source");
}

int cmd_migrate(struct cli *c)
{
	const char *to = NULL;
	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--to") && i + 1 < c->argc)
			to = c->argv[++i];
		else
			die("usage: mintrac migrate --to sqlite:PATH|postgresql://...");
	}
	if (!to)
		die("usage: mintrac migrate --to sqlite:PATH|postgresql://...");
	if (!strcmp(to, c->cfg.store) ||
	    (!strncmp(to, "sqlite:", 7) && !strcmp(to + 7, c->cfg.store)))
		die("migrate: the destination is the store itself");

	char err[512];
	struct copy cp = { 0 };
	cp.src = cli_store(c);
	cp.dst = store_open(to, STORE_CREATE, err, sizeof err);
	if (!cp.dst)
		die("migrate: %s", err);
	cp.tty = isatty(STDERR_FILENO);

	struct user_check uc = { .src = cp.src };
	int rc = store_user_list(cp.dst, check_user, &uc);
	if (rc == 1)
		die("migrate: the destination has a user '%s' this store does not: "
		    "migrate into an empty store", uc.name);
	if (rc != STORE_OK)
		die("migrate: %s", store_errmsg(cp.dst));

	for (size_t i = 0; i < sizeof row_tables / sizeof row_tables[0]; i++) {
		cp.table = row_tables[i].table;
		cp.cols = row_tables[i].cols;
		cp.rows = cp.added = 0;
		if (store_rows(cp.src, cp.table, cp.cols, put_row, &cp) != STORE_OK)
			die("migrate: reading %s: %s", cp.table, store_errmsg(cp.src));
		tx_commit(&cp);
		if (!strncmp(cp.cols, "id, ", 4) && store_rows_done(cp.dst, cp.table) != STORE_OK)
			fail_dst(&cp, cp.table);
		printf("%-8s %lld copied, %lld there already\n", cp.table, (long long)cp.added,
		       (long long)(cp.rows - cp.added));
	}

	cp.fixes = xcalloc(FIX_BATCH, sizeof *cp.fixes);
	cp.ids = xcalloc(FIX_BATCH, sizeof *cp.ids);
	cp.ptrs = xcalloc(FIX_BATCH, sizeof *cp.ptrs);
	cp.inserted = xcalloc(FIX_BATCH, sizeof *cp.inserted);
	cp.total = store_count(cp.src, 0);
	if (store_device_list(cp.src, 0, copy_device_fixes, &cp) != STORE_OK)
		die("migrate: %s", store_errmsg(cp.src));
	progress(&cp, 1);
	free(cp.fixes);
	free(cp.ids);
	free(cp.ptrs);
	free(cp.inserted);

	verify(&cp);
	store_close(cp.dst);
	store_close(cp.src);
	printf("migrated; stays and trips are derived again there by its webapp (or by "
	       "'mintrac trips')\n");
	return 0;
}
