/* PostgreSQL's side of what the webapp processes share (store.h): token
 * buckets, trust and import jobs. A bucket's row is locked by the upsert
 * that reads it, so two webapps taking from one bucket queue on the row
 * and the second reads what the first left. */
#include "store/pg_shared.h"
#include "store/pg_conn.h"

#include <stdio.h>

enum stmt_id {
	SH_LOCK, SH_SET, SH_DEL, SH_TRUST_SET, SH_TRUST_GET, SH_PURGE_BUCKETS, SH_PURGE_TRUST,
	SH_USER_LOCK, SH_IMP_ADD, SH_IMP_PUT, SH_IMP_LIST, SH_IMP_TRIM,
	SH_MAX
};

static const char *const stmt_sql[SH_MAX] = {
	/* A bucket without a row gets one, full, so that it is locked too. */
	[SH_LOCK]          = "INSERT INTO throttle_buckets(key, tokens, at_ms, burst, period_ms) "
	                     "VALUES($1, $2::float8, $3::bigint, $2::float8, $4::bigint) "
	                     "ON CONFLICT (key) DO UPDATE SET tokens = throttle_buckets.tokens "
	                     "RETURNING tokens, at_ms",
	[SH_SET]           = "INSERT INTO throttle_buckets(key, tokens, at_ms, burst, period_ms) "
	                     "VALUES($1, $2::float8, $3::bigint, $4::float8, $5::bigint) "
	                     "ON CONFLICT (key) DO UPDATE SET tokens = EXCLUDED.tokens, "
	                     "at_ms = EXCLUDED.at_ms, burst = EXCLUDED.burst, "
	                     "period_ms = EXCLUDED.period_ms",
	[SH_DEL]           = "DELETE FROM throttle_buckets WHERE key = $1",
	/* A later time only, and only when it moves by more than a minute. */
	[SH_TRUST_SET]     = "INSERT INTO throttle_trust(key, until_ms) VALUES($1, $2::bigint) "
	                     "ON CONFLICT (key) DO UPDATE SET until_ms = EXCLUDED.until_ms "
	                     "WHERE throttle_trust.until_ms < EXCLUDED.until_ms - 60000",
	[SH_TRUST_GET]     = "SELECT 1 FROM throttle_trust WHERE key = $1 AND until_ms > $2::bigint",
	[SH_PURGE_BUCKETS] = "DELETE FROM throttle_buckets "
	                     "WHERE tokens + ($1::bigint - at_ms)::float8 / period_ms >= burst",
	[SH_PURGE_TRUST]   = "DELETE FROM throttle_trust WHERE until_ms <= $1::bigint",
	/* Two webapps adding a job of one user queue here: the second's
	 * check then sees the first's job. */
	[SH_USER_LOCK]     = "SELECT 1 FROM users WHERE id = $1::bigint FOR NO KEY UPDATE",
	[SH_IMP_ADD]       = "INSERT INTO import_jobs(user_id, running, created_ms, updated_ms, json) "
	                     "SELECT $1::bigint, 1, $2::bigint, $2::bigint, '' WHERE NOT EXISTS("
	                     "SELECT 1 FROM import_jobs WHERE user_id = $1::bigint AND running = 1 "
	                     "AND updated_ms >= $3::bigint) RETURNING id",
	[SH_IMP_PUT]       = "UPDATE import_jobs SET running = $2::bigint, updated_ms = $3::bigint, "
	                     "json = $4 WHERE id = $1::bigint",
	[SH_IMP_LIST]      = "SELECT id, user_id, running, created_ms, updated_ms, json "
	                     "FROM import_jobs WHERE user_id = $1::bigint "
	                     "AND ($2::bigint = 0 OR id = $2::bigint) ORDER BY id DESC",
	[SH_IMP_TRIM]      = "DELETE FROM import_jobs WHERE id IN (SELECT id FROM import_jobs "
	                     "WHERE user_id = $1::bigint AND NOT (running = 1 AND "
	                     "updated_ms >= $3::bigint) ORDER BY id DESC OFFSET $2::bigint)",
};

void pg_shared_stmts(struct pg_stmts *ps)
{
	*ps = (struct pg_stmts){ .prefix = "x", .sql = stmt_sql, .count = SH_MAX };
}

static int run(struct store *base, int id, const struct pg_args *a, ExecStatusType ok,
               const char *what, PGresult **out)
{
	struct pg_store *s = pg_store_of(base);
	return pg_store_run(s, &s->xst, id, a, ok, what, out);
}

static int64_t run_count(struct store *base, int id, const struct pg_args *a, const char *what)
{
	PGresult *r;
	if (run(base, id, a, PGRES_COMMAND_OK, what, &r) != STORE_OK)
		return -1;
	int64_t n = pg_changes(r);
	PQclear(r);
	return n;
}

int pg_bucket_lock(struct store *base, const struct store_bucket *b, int64_t now_ms,
                   double *tokens, int64_t *at_ms)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, b->key);
	pg_arg_f64(&a, b->burst);
	pg_arg_i64(&a, now_ms);
	pg_arg_i64(&a, b->period_ms);
	PGresult *r;
	int rc = run(base, SH_LOCK, &a, PGRES_TUPLES_OK, "bucket read", &r);
	if (rc != STORE_OK)
		return rc;
	*tokens = pg_f64(r, 0, 0);
	*at_ms = pg_i64(r, 0, 1);
	PQclear(r);
	return STORE_OK;
}

int pg_bucket_set(struct store *base, const struct store_bucket *b, double tokens,
                  int64_t at_ms)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, b->key);
	int full = tokens >= b->burst;
	if (!full) {
		pg_arg_f64(&a, tokens);
		pg_arg_i64(&a, at_ms);
		pg_arg_f64(&a, b->burst);
		pg_arg_i64(&a, b->period_ms);
	}
	return run_count(base, full ? SH_DEL : SH_SET, &a, "bucket write") < 0 ? STORE_ERR
	                                                                      : STORE_OK;
}

int pg_trust_set(struct store *base, const char *key, int64_t until_ms)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, key);
	pg_arg_i64(&a, until_ms);
	return run_count(base, SH_TRUST_SET, &a, "trust write") < 0 ? STORE_ERR : STORE_OK;
}

int pg_trust_get(struct store *base, const char *key, int64_t now_ms)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, key);
	pg_arg_i64(&a, now_ms);
	PGresult *r;
	int rc = run(base, SH_TRUST_GET, &a, PGRES_TUPLES_OK, "trust read", &r);
	if (rc != STORE_OK)
		return rc;
	rc = PQntuples(r) ? STORE_OK : STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

int64_t pg_bucket_purge(struct store *base, int64_t now_ms)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, now_ms);
	int64_t b = run_count(base, SH_PURGE_BUCKETS, &a, "throttle purge");
	int64_t t = b < 0 ? -1 : run_count(base, SH_PURGE_TRUST, &a, "throttle purge");
	return t < 0 ? -1 : b + t;
}

/* ---- import jobs ---- */

int pg_import_add(struct store *base, int64_t user_id, int64_t now_ms, int64_t live_ms,
                  int64_t *id_out)
{
	struct pg_args a;
	PGresult *r;
	if (base->ops->begin(base) != STORE_OK)
		return STORE_ERR;
	pg_args_init(&a);
	pg_arg_i64(&a, user_id);
	int rc = run(base, SH_USER_LOCK, &a, PGRES_TUPLES_OK, "import add", &r);
	if (rc != STORE_OK)
		goto out;
	rc = PQntuples(r) ? STORE_OK : STORE_NOTFOUND;
	PQclear(r);
	if (rc != STORE_OK)
		goto out;
	pg_arg_i64(&a, now_ms);
	pg_arg_i64(&a, live_ms);
	rc = run(base, SH_IMP_ADD, &a, PGRES_TUPLES_OK, "import add", &r);
	if (rc != STORE_OK)
		goto out;
	rc = PQntuples(r) ? STORE_OK : STORE_EXISTS;
	if (rc == STORE_OK)
		*id_out = pg_i64(r, 0, 0);
	PQclear(r);
	if (rc == STORE_OK)
		return base->ops->commit(base);
out:
	(void)base->ops->rollback(base);
	return rc;
}

int pg_import_put(struct store *base, int64_t id, int running, int64_t now_ms, const char *json)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, id);
	pg_arg_i64(&a, !!running);
	pg_arg_i64(&a, now_ms);
	pg_arg_text(&a, json);
	int64_t n = run_count(base, SH_IMP_PUT, &a, "import write");
	return n < 0 ? STORE_ERR : n ? STORE_OK : STORE_NOTFOUND;
}

int pg_import_list(struct store *base, int64_t user_id, int64_t id,
                   int (*cb)(void *ctx, const struct store_import_rec *r), void *ctx)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, user_id);
	pg_arg_i64(&a, id);
	PGresult *r;
	int rc = run(base, SH_IMP_LIST, &a, PGRES_TUPLES_OK, "import list", &r);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct store_import_rec rec = {
			.id = pg_i64(r, i, 0),
			.user_id = pg_i64(r, i, 1),
			.running = pg_i64(r, i, 2) != 0,
			.created_ms = pg_i64(r, i, 3),
			.updated_ms = pg_i64(r, i, 4),
			.json = pg_null(r, i, 5) ? "" : PQgetvalue(r, i, 5),
		};
		rc = cb(ctx, &rec);
	}
	PQclear(r);
	return rc;
}

int64_t pg_import_trim(struct store *base, int64_t user_id, int keep, int64_t live_ms)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, user_id);
	pg_arg_i64(&a, keep);
	pg_arg_i64(&a, live_ms);
	return run_count(base, SH_IMP_TRIM, &a, "import trim");
}
