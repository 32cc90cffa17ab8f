/* SQLite's side of what the webapp processes share (store.h): token
 * buckets, trust and import jobs. Statements are prepared per call: each
 * runs a few times a second at most. A bucket's lock is the transaction's
 * (BEGIN IMMEDIATE holds the file's write lock). */
#include "store/store_backend.h"
#include "store/store_sqlite.h"

#include <stdio.h>

/* The statement with its parameters bound by the caller; NULL with the
 * error recorded. */
static sqlite3_stmt *prep(struct store *s, const char *sql, const char *what)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(store_sqlite_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
		store_sqlite_fail(s, what);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* Steps a statement that returns no rows and finalizes it. */
static int run(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int ret = rc == SQLITE_DONE ? STORE_OK : store_sqlite_fail(s, what);
	if (rc != SQLITE_DONE && sqlite3_extended_errcode(store_sqlite_db(s)) ==
	    SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = STORE_NOTFOUND;
	sqlite3_finalize(st);
	return ret;
}

static int bound_fail(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = store_sqlite_fail(s, what);
	sqlite3_finalize(st);
	return rc;
}

int sq_bucket_lock(struct store *s, const struct store_bucket *b, int64_t now_ms,
                   double *tokens, int64_t *at_ms)
{
	sqlite3_stmt *st = prep(s, "SELECT tokens, at_ms FROM throttle_buckets WHERE key = ?",
	                        "bucket read");
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC))
		return bound_fail(s, st, "bucket read");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*tokens = sqlite3_column_double(st, 0);
		*at_ms = sqlite3_column_int64(st, 1);
	} else if (rc == SQLITE_DONE) {
		*tokens = b->burst;
		*at_ms = now_ms;
	} else {
		return bound_fail(s, st, "bucket read");
	}
	sqlite3_finalize(st);
	return STORE_OK;
}

int sq_bucket_set(struct store *s, const struct store_bucket *b, double tokens, int64_t at_ms)
{
	int full = tokens >= b->burst;
	sqlite3_stmt *st = prep(s, full ? "DELETE FROM throttle_buckets WHERE key = ?1" :
	                        "INSERT INTO throttle_buckets(key, tokens, at_ms, burst, period_ms) "
	                        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET "
	                        "tokens = excluded.tokens, at_ms = excluded.at_ms, "
	                        "burst = excluded.burst, period_ms = excluded.period_ms",
	                        "bucket write");
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC) ||
	    (!full && (sqlite3_bind_double(st, 2, tokens) || sqlite3_bind_int64(st, 3, at_ms) ||
	               sqlite3_bind_double(st, 4, b->burst) ||
	               sqlite3_bind_int64(st, 5, b->period_ms))))
		return bound_fail(s, st, "bucket write");
	return run(s, st, "bucket write");
}

int sq_trust_set(struct store *s, const char *key, int64_t until_ms)
{
	/* A later time only: a stored one that is later stays, and a write
	 * that would move it by little is no write. */
	sqlite3_stmt *st = prep(s, "INSERT INTO throttle_trust(key, until_ms) VALUES(?1, ?2) "
	                        "ON CONFLICT(key) DO UPDATE SET until_ms = excluded.until_ms "
	                        "WHERE until_ms < excluded.until_ms - 60000", "trust write");
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) || sqlite3_bind_int64(st, 2, until_ms))
		return bound_fail(s, st, "trust write");
	return run(s, st, "trust write");
}

int sq_trust_get(struct store *s, const char *key, int64_t now_ms)
{
	sqlite3_stmt *st = prep(s, "SELECT 1 FROM throttle_trust WHERE key = ? AND until_ms > ?",
	                        "trust read");
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) || sqlite3_bind_int64(st, 2, now_ms))
		return bound_fail(s, st, "trust read");
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return bound_fail(s, st, "trust read");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? STORE_OK : STORE_NOTFOUND;
}

int64_t sq_bucket_purge(struct store *s, int64_t now_ms)
{
	static const char *const sql[] = {
		"DELETE FROM throttle_buckets WHERE tokens + (?1 - at_ms) * 1.0 / period_ms >= burst",
		"DELETE FROM throttle_trust WHERE until_ms <= ?1",
	};
	int64_t n = 0;
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *st = prep(s, sql[i], "throttle purge");
		if (!st)
			return -1;
		if (sqlite3_bind_int64(st, 1, now_ms)) {
			bound_fail(s, st, "throttle purge");
			return -1;
		}
		if (run(s, st, "throttle purge") != STORE_OK)
			return -1;
		n += sqlite3_changes64(store_sqlite_db(s));
	}
	return n;
}

/* ---- import jobs ---- */

/* One statement, so the check and the insert are one write transaction. */
int sq_import_add(struct store *s, int64_t user_id, int64_t now_ms, int64_t live_ms,
                  int64_t *id_out)
{
	sqlite3_stmt *st = prep(s, "INSERT INTO import_jobs(user_id, running, created_ms, "
	                        "updated_ms, json) SELECT ?1, 1, ?2, ?2, '' WHERE NOT EXISTS("
	                        "SELECT 1 FROM import_jobs WHERE user_id = ?1 AND running AND "
	                        "updated_ms >= ?3) RETURNING id", "import add");
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, user_id) || sqlite3_bind_int64(st, 2, now_ms) ||
	    sqlite3_bind_int64(st, 3, live_ms))
		return bound_fail(s, st, "import add");
	int rc = sqlite3_step(st);
	int ret = STORE_EXISTS;
	if (rc == SQLITE_ROW) {
		*id_out = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
		ret = STORE_OK;
	}
	if (rc != SQLITE_DONE) {
		ret = sqlite3_extended_errcode(store_sqlite_db(s)) == SQLITE_CONSTRAINT_FOREIGNKEY ?
		      STORE_NOTFOUND : STORE_ERR;
		store_sqlite_fail(s, "import add");
	}
	sqlite3_finalize(st);
	return ret;
}

int sq_import_put(struct store *s, int64_t id, int running, int64_t now_ms, const char *json)
{
	sqlite3_stmt *st = prep(s, "UPDATE import_jobs SET running = ?2, updated_ms = ?3, "
	                        "json = ?4 WHERE id = ?1", "import write");
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, id) || sqlite3_bind_int(st, 2, !!running) ||
	    sqlite3_bind_int64(st, 3, now_ms) || sqlite3_bind_text(st, 4, json, -1, SQLITE_STATIC))
		return bound_fail(s, st, "import write");
	int rc = run(s, st, "import write");
	if (rc == STORE_OK && sqlite3_changes(store_sqlite_db(s)) == 0)
		return STORE_NOTFOUND;
	return rc;
}

int sq_import_list(struct store *s, int64_t user_id, int64_t id,
                   int (*cb)(void *ctx, const struct store_import_rec *r), void *ctx)
{
	sqlite3_stmt *st = prep(s, "SELECT id, user_id, running, created_ms, updated_ms, json "
	                        "FROM import_jobs WHERE user_id = ?1 AND (?2 = 0 OR id = ?2) "
	                        "ORDER BY id DESC", "import list");
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, user_id) || sqlite3_bind_int64(st, 2, id))
		return bound_fail(s, st, "import list");
	int rc, ret = STORE_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *json = sqlite3_column_text(st, 5);
		struct store_import_rec r = {
			.id = sqlite3_column_int64(st, 0),
			.user_id = sqlite3_column_int64(st, 1),
			.running = sqlite3_column_int(st, 2),
			.created_ms = sqlite3_column_int64(st, 3),
			.updated_ms = sqlite3_column_int64(st, 4),
			.json = json ? (const char *)json : "",
		};
		if ((ret = cb(ctx, &r)) != 0)
			break;
	}
	if (ret == STORE_OK && rc != SQLITE_DONE)
		ret = store_sqlite_fail(s, "import list");
	sqlite3_finalize(st);
	return ret;
}

int64_t sq_import_trim(struct store *s, int64_t user_id, int keep, int64_t live_ms)
{
	sqlite3_stmt *st = prep(s, "DELETE FROM import_jobs WHERE id IN (SELECT id FROM import_jobs "
	                        "WHERE user_id = ?1 AND NOT (running AND updated_ms >= ?3) "
	                        "ORDER BY id DESC LIMIT -1 OFFSET ?2)", "import trim");
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, user_id) || sqlite3_bind_int(st, 2, keep) ||
	    sqlite3_bind_int64(st, 3, live_ms)) {
		bound_fail(s, st, "import trim");
		return -1;
	}
	if (run(s, st, "import trim") != STORE_OK)
		return -1;
	return sqlite3_changes64(store_sqlite_db(s));
}
