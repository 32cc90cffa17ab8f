/* SQLite implementation of store.h. One struct sq is one connection,
 * used by one thread at a time. The receiver, the webapp and CLI commands
 * share the file at once: WAL lets readers run while one writer commits,
 * and a busy handler makes writers queue instead of failing. Every statement
 * is prepared once, on first use, and reset right after each use so no
 * read transaction stays open (another process's change is seen by the
 * very next query).
 *
 * Fix counts are kept per device in device_stats so store_count is a
 * lookup, not a scan of millions of rows. store_put_fix only counts in
 * memory; store_commit writes one upsert per device touched inside the
 * transaction, so ingest costs no extra statement per fix and the counts
 * commit or roll back with the fixes themselves. */
#include "store/store.h"
#include "store/faultvfs.h"
#include "store/store_backend.h"
#include "store/store_sqlite.h"
#include "store/store_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(TOKEN_HASH_LEN == 32, "token hash is a SHA-256");

/* Schema history: migrations[v - 1] takes the schema from version v - 1 to
 * v. Append only; never edit an entry once released. */
static const char *const migrations[] = {
	/* 1: initial schema. fixes is keyed by (device, fix time): the key
	 * dedupes resent points and orders range scans. NULL = unknown. */
	"CREATE TABLE users("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" pwhash TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE devices("
	" id INTEGER PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" token_hash BLOB NOT NULL UNIQUE,"
	" ident TEXT UNIQUE,"
	" created_ms INTEGER NOT NULL,"
	" UNIQUE(user_id, name));"
	"CREATE TABLE fixes("
	" device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" time_ms INTEGER NOT NULL,"
	" lat REAL NOT NULL, lon REAL NOT NULL,"
	" alt REAL, speed REAL, course REAL, acc REAL, batt REAL,"
	" attrs TEXT,"
	" PRIMARY KEY(device_id, time_ms)) WITHOUT ROWID;",
	/* 2: a counter that every change to credentials bumps, whoever makes
	 * it (CLI, webapp, a cascade), so the receiver can cache token
	 * lookups and still see a change with the very next request. */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO meta VALUES('cred_gen', 0);"
	"CREATE TRIGGER devices_ins AFTER INSERT ON devices BEGIN"
	" UPDATE meta SET value = value + 1 WHERE key = 'cred_gen'; END;"
	"CREATE TRIGGER devices_upd AFTER UPDATE ON devices BEGIN"
	" UPDATE meta SET value = value + 1 WHERE key = 'cred_gen'; END;"
	"CREATE TRIGGER devices_del AFTER DELETE ON devices BEGIN"
	" UPDATE meta SET value = value + 1 WHERE key = 'cred_gen'; END;"
	"CREATE TRIGGER users_upd AFTER UPDATE ON users BEGIN"
	" UPDATE meta SET value = value + 1 WHERE key = 'cred_gen'; END;"
	"CREATE TRIGGER users_del AFTER DELETE ON users BEGIN"
	" UPDATE meta SET value = value + 1 WHERE key = 'cred_gen'; END;",
	/* 3: the webapp. device_stats holds each device's fix count (a row
	 * of its own, not a column of devices: the devices_upd trigger would
	 * bump cred_gen on every commit). Only devices that ever had a fix
	 * have a row; the IN keeps a stray orphan fix from failing the
	 * foreign key. sessions keeps only the SHA-256 of the cookie; the
	 * user_id index serves the cascade of a user delete and the trigger
	 * that signs a user out everywhere when the password changes. */
	"CREATE TABLE device_stats("
	" device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
	" points INTEGER NOT NULL);"
	"INSERT INTO device_stats(device_id, points)"
	" SELECT device_id, count(*) FROM fixes"
	" WHERE device_id IN (SELECT id FROM devices) GROUP BY device_id;"
	"CREATE TABLE sessions("
	" id_hash BLOB PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" csrf TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX sessions_expires ON sessions(expires_ms);"
	"CREATE INDEX sessions_user ON sessions(user_id);"
	"CREATE TRIGGER users_pw AFTER UPDATE OF pwhash ON users BEGIN"
	" DELETE FROM sessions WHERE user_id = NEW.id; END;",
	/* 4: each user's time zone (IANA name), for local days. The
	 * credential trigger is narrowed to what credentials are made of, so
	 * setting a zone does not flush the receiver's token cache. */
	"ALTER TABLE users ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';"
	"DROP TRIGGER users_upd;"
	"CREATE TRIGGER users_upd AFTER UPDATE OF id, name, pwhash ON users BEGIN"
	" UPDATE meta SET value = value + 1 WHERE key = 'cred_gen'; END;",
	/* 5: history (history_sqlite.c). history_dirty says from which time
	 * a device's derived history is out of date: every transaction that
	 * inserts or deletes fixes lowers from_ms and bumps seq (pend_flush),
	 * whoever writes (receiver, import, delete), so the deriver finds its
	 * work even after a crash. Devices with fixes start dirty from the
	 * beginning. history_gen counts a device's derivations, so a deriver
	 * that kept a device's segmenter in memory sees that another process
	 * re-derived it. Places are the user's; a deleted place stays as a
	 * tombstone so that its spot is not made a place again. */
	"CREATE TABLE history_dirty("
	" device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
	" from_ms INTEGER NOT NULL,"
	" seq INTEGER NOT NULL);"
	"INSERT INTO history_dirty(device_id, from_ms, seq)"
	" SELECT device_id, -9223372036854775808, 1 FROM device_stats WHERE points > 0;"
	"CREATE TABLE history_gen("
	" device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
	" gen INTEGER NOT NULL);"
	"CREATE TABLE places("
	" id INTEGER PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" name TEXT,"
	" lat REAL NOT NULL, lon REAL NOT NULL, radius REAL NOT NULL,"
	" city TEXT, country TEXT, country_name TEXT,"
	" deleted INTEGER NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX places_user ON places(user_id, lat);"
	"CREATE TABLE segments("
	" device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" start_ms INTEGER NOT NULL, kind INTEGER NOT NULL,"
	" end_ms INTEGER NOT NULL, decided_ms INTEGER NOT NULL,"
	" open INTEGER NOT NULL, nfix INTEGER NOT NULL,"
	" lat REAL, lon REAL, from_lat REAL, from_lon REAL, to_lat REAL, to_lon REAL,"
	" distance REAL, duration REAL, avg_speed REAL, max_speed REAL,"
	" mode INTEGER, gap INTEGER,"
	" place_id INTEGER REFERENCES places(id) ON DELETE SET NULL,"
	" parts BLOB,"
	" PRIMARY KEY(device_id, start_ms, kind)) WITHOUT ROWID;"
	"CREATE INDEX segments_place ON segments(place_id) WHERE place_id IS NOT NULL;"
	"CREATE TABLE fix_quarters("
	" device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" q INTEGER NOT NULL,"
	" PRIMARY KEY(device_id, q)) WITHOUT ROWID;",
	/* 6: what the webapp processes share (shared_sqlite.c): token
	 * buckets still owed tokens, trusted (user, address) pairs, and
	 * import jobs with the JSON their process last wrote. AUTOINCREMENT:
	 * a job's id is never given to another job. */
	"CREATE TABLE throttle_buckets("
	" key TEXT PRIMARY KEY,"
	" tokens REAL NOT NULL, at_ms INTEGER NOT NULL,"
	" burst REAL NOT NULL, period_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE throttle_trust("
	" key TEXT PRIMARY KEY,"
	" until_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE import_jobs("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" running INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
	" json TEXT NOT NULL);"
	"CREATE INDEX import_jobs_user ON import_jobs(user_id, id);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int store_test_schema_version(void)
{
	return SCHEMA_VERSION;
}

enum stmt_id {
	ST_USER_ADD, ST_USER_GET, ST_USER_PASSWD, ST_USER_DEL, ST_USER_LIST, ST_USER_SET_TZ,
	ST_DEV_ADD, ST_DEV_GET, ST_DEV_BY_TOKEN, ST_DEV_BY_IDENT, ST_DEV_SET_TOKEN,
	ST_DEV_DEL, ST_DEV_LIST_ALL, ST_DEV_LIST_USER, ST_DEV_BY_ID, ST_DEV_RENAME,
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_FIX_PUT, ST_FIX_RANGE, ST_FIX_LAST, ST_FIX_FIRST_IN, ST_FIX_LAST_IN, ST_FIX_NTH_LAST,
	ST_STATS_ADD, ST_COUNT_DEV, ST_COUNT_ALL, ST_DEMO_DEL_DEV, ST_DEMO_DEL_ALL, ST_DIRTY_MARK,
	ST_RANGE_COUNT, ST_RANGE_DEL,
	ST_FIX_DEL_AT,
	ST_CRED_GEN,
	ST_SESS_ADD, ST_SESS_GET, ST_SESS_TOUCH, ST_SESS_DEL, ST_SESS_PURGE, ST_SESS_TRIM,
	ST_USER_CREDS,
	ST_MAX
};

#define USER_COLS "SELECT id, name, pwhash, created_ms, timezone FROM users "
#define DEV_COLS  "SELECT d.id, d.user_id, u.name, d.name, d.ident, d.created_ms " \
                  "FROM devices d JOIN users u ON u.id = d.user_id "
/* ?4..?7: west, south, east, north of a box (west > east crosses the
 * antimeridian), or ?4 NULL for no box. */
#define RANGE_BOX "(?4 IS NULL OR (lat BETWEEN ?5 AND ?7 AND (CASE WHEN ?4 <= ?6 " \
                  "THEN lon BETWEEN ?4 AND ?6 ELSE lon >= ?4 OR lon <= ?6 END)))"
#define FIX_COLS  "SELECT time_ms, lat, lon, alt, speed, course, acc, batt, attrs FROM fixes "
/* attrs holds "demo":true. instr() skips the JSON parse for the rows that
 * cannot match (our attrs writer never escapes ASCII letters); CASE
 * evaluates in order, so invalid JSON is never handed to json_type, which
 * would fail the whole statement. */
#define DEMO_FIX  "CASE WHEN instr(attrs, '\"demo\"') = 0 THEN 0 " \
                  "WHEN json_valid(attrs) THEN json_type(attrs, '$.demo') = 'true' ELSE 0 END"
#define SESS_COLS "SELECT s.user_id, u.name, s.csrf, s.created_ms, s.expires_ms " \
                  "FROM sessions s JOIN users u ON u.id = s.user_id "

static const char *const stmt_sql[ST_MAX] = {
	[ST_USER_ADD]      = "INSERT INTO users(name, pwhash, created_ms) VALUES(?, ?, ?)",
	[ST_USER_GET]      = USER_COLS "WHERE name = ?",
	[ST_USER_PASSWD]   = "UPDATE users SET pwhash = ? WHERE name = ?",
	[ST_USER_DEL]      = "DELETE FROM users WHERE name = ?",
	[ST_USER_LIST]     = USER_COLS "ORDER BY name",
	[ST_USER_SET_TZ]   = "UPDATE users SET timezone = ? WHERE name = ?",
	[ST_DEV_ADD]       = "INSERT INTO devices(user_id, name, token_hash, ident, created_ms) "
	                     "VALUES(?, ?, ?, ?, ?)",
	[ST_DEV_GET]       = DEV_COLS "WHERE d.user_id = ? AND d.name = ?",
	[ST_DEV_BY_TOKEN]  = DEV_COLS "WHERE d.token_hash = ?",
	[ST_DEV_BY_IDENT]  = DEV_COLS "WHERE d.ident = ?",
	[ST_DEV_SET_TOKEN] = "UPDATE devices SET token_hash = ? WHERE id = ?",
	[ST_DEV_DEL]       = "DELETE FROM devices WHERE id = ?",
	[ST_DEV_LIST_ALL]  = DEV_COLS "ORDER BY u.name, d.name",
	[ST_DEV_LIST_USER] = DEV_COLS "WHERE d.user_id = ? ORDER BY u.name, d.name",
	[ST_DEV_BY_ID]     = DEV_COLS "WHERE d.id = ?",
	[ST_DEV_RENAME]    = "UPDATE devices SET name = ? WHERE id = ?",
	[ST_BEGIN]         = "BEGIN IMMEDIATE",
	[ST_COMMIT]        = "COMMIT",
	[ST_ROLLBACK]      = "ROLLBACK",
	[ST_FIX_PUT]       = "INSERT OR IGNORE INTO fixes(device_id, time_ms, lat, lon, alt, speed, "
	                     "course, acc, batt, attrs) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_FIX_RANGE]     = FIX_COLS "WHERE device_id = ? AND time_ms BETWEEN ? AND ? ORDER BY time_ms",
	[ST_FIX_LAST]      = FIX_COLS "WHERE device_id = ? ORDER BY time_ms DESC LIMIT 1",
	[ST_FIX_FIRST_IN]  = FIX_COLS "WHERE device_id = ? AND time_ms BETWEEN ? AND ? "
	                     "ORDER BY time_ms LIMIT 1",
	[ST_FIX_LAST_IN]   = FIX_COLS "WHERE device_id = ? AND time_ms BETWEEN ? AND ? "
	                     "ORDER BY time_ms DESC LIMIT 1",
	[ST_FIX_NTH_LAST]  = "SELECT time_ms FROM fixes WHERE device_id = ? AND time_ms BETWEEN ? AND ? "
	                     "ORDER BY time_ms DESC LIMIT 1 OFFSET ?",
	/* The EXISTS guard: a device deleted inside the open transaction (its
	 * fixes went with it) must not fail the commit on the foreign key.
	 * INSERT ... SELECT needs its WHERE before ON CONFLICT anyway. */
	[ST_STATS_ADD]     = "INSERT INTO device_stats(device_id, points) SELECT ?1, ?2 "
	                     "WHERE EXISTS(SELECT 1 FROM devices WHERE id = ?1) "
	                     "ON CONFLICT(device_id) DO UPDATE SET points = points + excluded.points",
	[ST_COUNT_DEV]     = "SELECT points FROM device_stats WHERE device_id = ?",
	[ST_DIRTY_MARK]    = "INSERT INTO history_dirty(device_id, from_ms, seq) SELECT ?1, ?2, 1 "
	                     "WHERE EXISTS(SELECT 1 FROM devices WHERE id = ?1) "
	                     "ON CONFLICT(device_id) DO UPDATE SET "
	                     "from_ms = min(from_ms, excluded.from_ms), seq = seq + 1",
	[ST_COUNT_ALL]     = "SELECT coalesce(sum(points), 0) FROM device_stats",
	[ST_DEMO_DEL_DEV]  = "DELETE FROM fixes WHERE device_id = ? AND " DEMO_FIX
	                     " RETURNING device_id, time_ms",
	[ST_DEMO_DEL_ALL]  = "DELETE FROM fixes WHERE " DEMO_FIX " RETURNING device_id, time_ms",
	[ST_RANGE_COUNT]   = "SELECT count(*) FROM fixes WHERE device_id = ?1 AND time_ms BETWEEN ?2 AND ?3 "
	                     "AND " RANGE_BOX,
	[ST_RANGE_DEL]     = "DELETE FROM fixes WHERE device_id = ?1 AND time_ms IN (SELECT time_ms "
	                     "FROM fixes WHERE device_id = ?1 AND time_ms BETWEEN ?2 AND ?3 AND "
	                     RANGE_BOX " ORDER BY time_ms LIMIT ?8) RETURNING device_id, time_ms",
	[ST_FIX_DEL_AT]    = "DELETE FROM fixes WHERE device_id = ? AND time_ms = ?",
	[ST_CRED_GEN]      = "SELECT value FROM meta WHERE key = 'cred_gen'",
	[ST_SESS_ADD]      = "INSERT INTO sessions(id_hash, user_id, csrf, created_ms, expires_ms) "
	                     "VALUES(?, ?, ?, ?, ?)",
	[ST_SESS_GET]      = SESS_COLS "WHERE s.id_hash = ? AND s.expires_ms > ?",
	[ST_SESS_TOUCH]    = "UPDATE sessions SET expires_ms = ? WHERE id_hash = ?",
	[ST_SESS_DEL]      = "DELETE FROM sessions WHERE id_hash = ?",
	[ST_SESS_PURGE]    = "DELETE FROM sessions WHERE expires_ms <= ?",
	[ST_SESS_TRIM]     = "DELETE FROM sessions WHERE user_id = ?1 AND id_hash NOT IN "
	                     "(SELECT id_hash FROM sessions WHERE user_id = ?1 "
	                     "ORDER BY created_ms DESC, id_hash LIMIT ?2)",
	/* One row per live session, or one with NULLs when there is none;
	 * no row when the user is gone. */
	[ST_USER_CREDS]    = "SELECT u.pwhash, s.id_hash, s.created_ms FROM users u "
	                     "LEFT JOIN sessions s ON s.user_id = u.id AND s.expires_ms > ?2 "
	                     "WHERE u.id = ?1",
};

/* Fixes counted (inserted, or deleted as negative) per device in the open
 * transaction and not yet in device_stats. An open-addressing table: the
 * writer's batches are unbounded and may touch many devices, and every
 * store_put_fix looks its device up. */
struct pend {
	int64_t device_id;
	int64_t n;
	int64_t min_ms;       /* earliest fix time inserted or deleted */
	int     used;
};

struct sq {
	struct store  base;              /* first: store_backend.h */
	sqlite3      *db;
	sqlite3_stmt *st[ST_MAX];
	int64_t       saved_max_pages;   /* test hook: limit to restore, 0 = none */
	struct pend  *pend;              /* pend_cap slots, a power of two (or 0) */
	size_t        pend_cap, pend_used;
	char          err[512];
	int64_t       busy_since;        /* mono ms: when the current wait began */
};

static struct sq *sq_of(struct store *base)
{
	return (struct sq *)base;
}

static const struct store_ops sq_ops;
static void sq_close(struct store *base);
static int sq_rollback(struct store *base);

/* How long a writer waits for the write lock before SQLITE_BUSY. */
#define BUSY_WAIT_MS 10000

/* SQLite's own busy_timeout sleeps longer and longer between tries, up to
 * 100 ms, so a writer that commits in batches (an import, a deletion) and
 * takes the lock again within a millisecond kept a waiting receiver out
 * for its whole run. Trying every millisecond gets the waiter in at the
 * first gap; the batch writers leave one after each commit. */
static int busy_wait(void *ctx, int tries)
{
	struct sq *s = ctx;
	int64_t now = mono_ms();
	if (tries == 0)
		s->busy_since = now;
	if (now - s->busy_since >= BUSY_WAIT_MS)
		return 0;
	usleep(1000);
	return 1;
}

static int64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records sqlite's message with what we were doing; returns STORE_ERR. */
static int fail(struct sq *s, const char *what)
{
	snprintf(s->err, sizeof s->err, "%s: %s", what, sqlite3_errmsg(s->db));
	return STORE_ERR;
}

int store_sqlite_fail(struct store *base, const char *what)
{
	return fail(sq_of(base), what);
}

static sqlite3_stmt *stmt(struct sq *s, enum stmt_id id)
{
	if (!s->st[id] && sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
	                                     &s->st[id], NULL) != SQLITE_OK) {
		fail(s, "prepare");
		s->st[id] = NULL;
	}
	return s->st[id];
}

/* Ends a use of a statement: releases its read snapshot and the bound
 * pointers (bindings are SQLITE_STATIC: they point into caller memory). */
static void finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Maps a failed step to a store_rc, keeping sqlite's message. */
static int step_error(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int ext = sqlite3_extended_errcode(s->db);
	int ret = fail(s, what);
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		ret = STORE_EXISTS;
	else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = STORE_NOTFOUND;   /* the user or device it refers to is gone */
	finish(st);
	return ret;
}

/* Runs a statement that returns no rows. */
static int exec_done(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return step_error(s, st, what);
	finish(st);
	return STORE_OK;
}

/* Runs an UPDATE/DELETE; STORE_NOTFOUND when it matched no row. */
static int exec_change(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int rc = exec_done(s, st, what);
	if (rc == STORE_OK && sqlite3_changes(s->db) == 0)
		return STORE_NOTFOUND;
	return rc;
}

static int bind_fail(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int rc = fail(s, what);
	finish(st);
	return rc;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

/* One-value query used at open time (PRAGMA user_version and friends). */
static int query_int(struct sq *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(s, sql);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		fail(s, sql);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? STORE_OK : STORE_ERR;
}

static int exec_sql(struct sq *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->err, sizeof s->err, "%s: %s", sql, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return STORE_ERR;
	}
	return STORE_OK;
}

static int set_wal(struct sq *s)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "PRAGMA journal_mode");
	int rc = sqlite3_step(st);
	const unsigned char *mode = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	int ok = mode && strcmp((const char *)mode, "wal") == 0;
	if (!ok)
		snprintf(s->err, sizeof s->err, "cannot use WAL journal mode: %s",
		         mode ? (const char *)mode : sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return ok ? STORE_OK : STORE_ERR;
}

/* Each step in its own IMMEDIATE transaction, re-checking the version
 * inside it: another process may be migrating the same file. */
static int migrate(struct sq *s)
{
	for (int v = 1; v <= SCHEMA_VERSION; v++) {
		int64_t cur;
		if (exec_sql(s, "BEGIN IMMEDIATE") != STORE_OK)
			return STORE_ERR;
		if (query_int(s, "PRAGMA user_version", &cur) != STORE_OK)
			goto fail;
		if (cur >= v) {
			if (exec_sql(s, "COMMIT") != STORE_OK)
				goto fail;
			continue;
		}
		char bump[64];
		snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v);
		if (exec_sql(s, migrations[v - 1]) != STORE_OK || exec_sql(s, bump) != STORE_OK ||
		    exec_sql(s, "COMMIT") != STORE_OK)
			goto fail;
	}
	return STORE_OK;
fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return STORE_ERR;
}

static int check_version(struct sq *s, int flags)
{
	int64_t v;
	if (query_int(s, "PRAGMA user_version", &v) != STORE_OK)
		return STORE_ERR;
	if (v > SCHEMA_VERSION) {
		snprintf(s->err, sizeof s->err,
		         "database schema version %lld is newer than this mintrac (%d)",
		         (long long)v, SCHEMA_VERSION);
		return STORE_ERR;
	}
	if (v == SCHEMA_VERSION)
		return STORE_OK;
	if (flags & STORE_READONLY) {
		snprintf(s->err, sizeof s->err,
		         "database schema version %lld is older than this mintrac (%d): "
		         "open it read-write once to upgrade", (long long)v, SCHEMA_VERSION);
		return STORE_ERR;
	}
	return migrate(s);
}

static int configure(struct sq *s, int flags)
{
	if (sqlite3_extended_result_codes(s->db, 1) != SQLITE_OK ||
	    sqlite3_busy_handler(s->db, busy_wait, s) != SQLITE_OK)
		return fail(s, "configure");
	if (!(flags & STORE_READONLY) && set_wal(s) != STORE_OK)
		return STORE_ERR;
	/* A small page cache: the receiver must stay small on a Raspberry Pi.
	 * An import's is larger: with 2 MiB it re-reads B-tree pages from the
	 * OS for every batch, about a third of its time. */
	if (exec_sql(s, (flags & STORE_SYNC_NORMAL) ? "PRAGMA synchronous=NORMAL"
	                                             : "PRAGMA synchronous=FULL") != STORE_OK ||
	    exec_sql(s, "PRAGMA foreign_keys=ON") != STORE_OK ||
	    exec_sql(s, "PRAGMA temp_store=MEMORY") != STORE_OK ||
	    exec_sql(s, (flags & STORE_BULK) ? "PRAGMA cache_size=-32768"
	                                     : "PRAGMA cache_size=-2000") != STORE_OK)
		return STORE_ERR;
	return check_version(s, flags);
}

struct store *store_sqlite_open(const char *path, int flags, char *err, size_t errlen)
{
	struct stat sb;
	if (!(flags & STORE_CREATE) && stat(path, &sb) != 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "no database at %s: run 'mintrac init'", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	faultvfs_install();   /* test flavour only; a no-op otherwise */
	struct sq *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.ops = &sq_ops;
	int oflags = SQLITE_OPEN_NOMUTEX;
	if (flags & STORE_READONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE | ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		         s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		sq_close(&s->base);
		return NULL;
	}
	if (configure(s, flags) != STORE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->err);
		sq_close(&s->base);
		return NULL;
	}
	return &s->base;
}

static void sq_close(struct store *base)
{
	struct sq *s = sq_of(base);
	if (!s)
		return;
	for (int i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	/* All statements are finalized, so close cannot be refused as busy. */
	sqlite3_close(s->db);
	free(s->pend);
	free(s);
}

static const char *sq_errmsg(struct store *base)
{
	struct sq *s = sq_of(base);
	return s->err;
}

sqlite3 *store_sqlite_db(struct store *base)
{
	return sq_of(base)->db;
}

/* ---- users ---- */

static void read_user(sqlite3_stmt *st, struct user_rec *u)
{
	u->id = sqlite3_column_int64(st, 0);
	copy_col(u->name, sizeof u->name, st, 1);
	copy_col(u->pwhash, sizeof u->pwhash, st, 2);
	u->created_ms = sqlite3_column_int64(st, 3);
	copy_col(u->timezone, sizeof u->timezone, st, 4);
}

static int sq_user_add(struct store *base, const char *name, const char *pwhash)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_USER_ADD);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, name) || bind_text(st, 2, pwhash) ||
	    sqlite3_bind_int64(st, 3, clock_ms()))
		return bind_fail(s, st, "user add");
	return exec_done(s, st, "user add");
}

static int sq_user_get(struct store *base, const char *name, struct user_rec *out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_USER_GET);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, name))
		return bind_fail(s, st, "user get");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		finish(st);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return step_error(s, st, "user get");
	read_user(st, out);
	finish(st);
	return STORE_OK;
}

/* The users_pw trigger deletes the user's sessions in the same statement:
 * a new password signs out every browser, whoever sets it. */
static int sq_user_set_password(struct store *base, const char *name, const char *pwhash)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_USER_PASSWD);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, pwhash) || bind_text(st, 2, name))
		return bind_fail(s, st, "user passwd");
	return exec_change(s, st, "user passwd");
}

static int sq_user_set_timezone(struct store *base, const char *name, const char *tz)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_USER_SET_TZ);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, tz) || bind_text(st, 2, name))
		return bind_fail(s, st, "user timezone");
	return exec_change(s, st, "user timezone");
}

static int sq_user_del(struct store *base, const char *name)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_USER_DEL);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, name))
		return bind_fail(s, st, "user del");
	/* Devices, their fixes and counts, and sessions cascade. */
	return exec_change(s, st, "user del");
}

static int sq_user_list(struct store *base, int (*cb)(void *ctx, const struct user_rec *u), void *ctx)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_USER_LIST);
	if (!st)
		return STORE_ERR;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct user_rec u;
		read_user(st, &u);
		int r = cb(ctx, &u);
		if (r) {
			finish(st);
			return r;
		}
	}
	if (rc != SQLITE_DONE)
		return step_error(s, st, "user list");
	finish(st);
	return STORE_OK;
}

/* ---- devices ---- */

static void read_device(sqlite3_stmt *st, struct device_rec *d)
{
	d->id = sqlite3_column_int64(st, 0);
	d->user_id = sqlite3_column_int64(st, 1);
	copy_col(d->user, sizeof d->user, st, 2);
	copy_col(d->name, sizeof d->name, st, 3);
	copy_col(d->ident, sizeof d->ident, st, 4);
	d->created_ms = sqlite3_column_int64(st, 5);
}

/* Runs a bound device query expecting at most one row. */
static int device_one(struct sq *s, sqlite3_stmt *st, struct device_rec *out, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		finish(st);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return step_error(s, st, what);
	read_device(st, out);
	finish(st);
	return STORE_OK;
}

static int sq_device_add(struct store *base, int64_t user_id, const char *name,
                     const unsigned char hash[TOKEN_HASH_LEN], const char *ident,
                     int64_t *id_out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_DEV_ADD);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, user_id) || bind_text(st, 2, name) ||
	    sqlite3_bind_blob(st, 3, hash, TOKEN_HASH_LEN, SQLITE_STATIC) ||
	    bind_text(st, 4, ident && *ident ? ident : NULL) ||
	    sqlite3_bind_int64(st, 5, clock_ms()))
		return bind_fail(s, st, "device add");
	int rc = exec_done(s, st, "device add");
	if (rc == STORE_OK && id_out)
		*id_out = sqlite3_last_insert_rowid(s->db);
	return rc;
}

static int sq_device_get(struct store *base, int64_t user_id, const char *name, struct device_rec *out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_DEV_GET);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, user_id) || bind_text(st, 2, name))
		return bind_fail(s, st, "device get");
	return device_one(s, st, out, "device get");
}

static int sq_device_by_token(struct store *base, const unsigned char hash[TOKEN_HASH_LEN],
                          struct device_rec *out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_DEV_BY_TOKEN);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_blob(st, 1, hash, TOKEN_HASH_LEN, SQLITE_STATIC))
		return bind_fail(s, st, "device by token");
	return device_one(s, st, out, "device by token");
}

static int sq_device_by_ident(struct store *base, const char *ident, struct device_rec *out)
{
	struct sq *s = sq_of(base);
	if (!ident || !*ident)
		return STORE_NOTFOUND;
	sqlite3_stmt *st = stmt(s, ST_DEV_BY_IDENT);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, ident))
		return bind_fail(s, st, "device by ident");
	return device_one(s, st, out, "device by ident");
}

static int sq_device_by_id(struct store *base, int64_t device_id, struct device_rec *out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_DEV_BY_ID);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id))
		return bind_fail(s, st, "device by id");
	return device_one(s, st, out, "device by id");
}

/* UNIQUE(user_id, name) makes a clash STORE_EXISTS (step_error). */
static int sq_device_rename(struct store *base, int64_t device_id, const char *new_name)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_DEV_RENAME);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, new_name) || sqlite3_bind_int64(st, 2, device_id))
		return bind_fail(s, st, "device rename");
	return exec_change(s, st, "device rename");
}

static int sq_device_set_token(struct store *base, int64_t device_id,
                           const unsigned char hash[TOKEN_HASH_LEN])
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_DEV_SET_TOKEN);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_blob(st, 1, hash, TOKEN_HASH_LEN, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 2, device_id))
		return bind_fail(s, st, "device token");
	return exec_change(s, st, "device token");
}

static int sq_device_del(struct store *base, int64_t device_id)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_DEV_DEL);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id))
		return bind_fail(s, st, "device del");
	return exec_change(s, st, "device del");   /* fixes and device_stats cascade */
}

static int sq_device_list(struct store *base, int64_t user_id,
                      int (*cb)(void *ctx, const struct device_rec *d), void *ctx)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, user_id ? ST_DEV_LIST_USER : ST_DEV_LIST_ALL);
	if (!st)
		return STORE_ERR;
	if (user_id && sqlite3_bind_int64(st, 1, user_id))
		return bind_fail(s, st, "device list");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct device_rec d;
		read_device(st, &d);
		int r = cb(ctx, &d);
		if (r) {
			finish(st);
			return r;
		}
	}
	if (rc != SQLITE_DONE)
		return step_error(s, st, "device list");
	finish(st);
	return STORE_OK;
}

/* ---- per-device counts of the open transaction ---- */

static size_t pend_slot(int64_t device_id, size_t cap)
{
	/* Fibonacci hashing: device ids are small consecutive integers. */
	return (size_t)(((uint64_t)device_id * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

/* The slot holding device_id, or the free slot where it goes. */
static struct pend *pend_find(struct pend *t, size_t cap, int64_t device_id)
{
	size_t i = pend_slot(device_id, cap);
	while (t[i].used && t[i].device_id != device_id)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

static int pend_grow(struct sq *s)
{
	size_t cap = s->pend_cap ? s->pend_cap * 2 : 16;
	struct pend *t = calloc(cap, sizeof *t);
	if (!t) {
		snprintf(s->err, sizeof s->err, "fix counts: out of memory");
		return STORE_ERR;
	}
	for (size_t i = 0; i < s->pend_cap; i++)
		if (s->pend[i].used)
			*pend_find(t, cap, s->pend[i].device_id) = s->pend[i];
	free(s->pend);
	s->pend = t;
	s->pend_cap = cap;
	return STORE_OK;
}

/* The open transaction's counter for device_id, created at 0; NULL when
 * out of memory. Taken before the row changes, so a failure leaves
 * nothing stored uncounted. Load stays at most one half. */
static struct pend *pend_counter(struct sq *s, int64_t device_id)
{
	if ((s->pend_used + 1) * 2 > s->pend_cap && pend_grow(s) != STORE_OK)
		return NULL;
	struct pend *p = pend_find(s->pend, s->pend_cap, device_id);
	if (!p->used) {
		p->used = 1;
		p->device_id = device_id;
		p->n = 0;
		p->min_ms = INT64_MAX;
		s->pend_used++;
	}
	return p;
}

/* A fix of the device at time_ms was inserted (+1) or deleted (-1). */
static void pend_count(struct pend *p, int64_t time_ms, int delta)
{
	p->n += delta;
	if (time_ms < p->min_ms)
		p->min_ms = time_ms;
}

static void pend_clear(struct sq *s)
{
	if (s->pend_used)
		memset(s->pend, 0, s->pend_cap * sizeof *s->pend);
	s->pend_used = 0;
}

/* What this connection's open transaction adds to store_count: the fixes
 * it inserted are visible to its own queries, so count them as a
 * count(*) would. */
static int64_t pend_sum(struct sq *s, int64_t device_id)
{
	if (!s->pend_used || sqlite3_get_autocommit(s->db))
		return 0;
	if (device_id) {
		struct pend *p = pend_find(s->pend, s->pend_cap, device_id);
		return p->used ? p->n : 0;
	}
	int64_t n = 0;
	for (size_t i = 0; i < s->pend_cap; i++)
		n += s->pend[i].used ? s->pend[i].n : 0;
	return n;
}

/* Writes the counts into device_stats, one upsert per device, inside the
 * open transaction. Cleared once written: they are part of the
 * transaction now and go or stay with it. */
static int pend_flush(struct sq *s)
{
	/* SQLite rolled back by itself (FULL, IOERR): the counted rows are
	 * gone, and COMMIT will report that there is no transaction. */
	if (sqlite3_get_autocommit(s->db)) {
		pend_clear(s);
		return STORE_OK;
	}
	if (!s->pend_used)
		return STORE_OK;
	sqlite3_stmt *st = stmt(s, ST_STATS_ADD);
	sqlite3_stmt *dirty = stmt(s, ST_DIRTY_MARK);
	if (!st || !dirty)
		return STORE_ERR;
	for (size_t i = 0; i < s->pend_cap; i++) {
		const struct pend *p = &s->pend[i];
		if (!p->used || p->min_ms == INT64_MAX)
			continue;
		if (p->n != 0) {
			if (sqlite3_bind_int64(st, 1, p->device_id) || sqlite3_bind_int64(st, 2, p->n))
				return bind_fail(s, st, "fix counts");
			if (exec_done(s, st, "fix counts") != STORE_OK)
				return STORE_ERR;
		}
		if (sqlite3_bind_int64(dirty, 1, p->device_id) ||
		    sqlite3_bind_int64(dirty, 2, p->min_ms))
			return bind_fail(s, dirty, "history mark");
		if (exec_done(s, dirty, "history mark") != STORE_OK)
			return STORE_ERR;
	}
	pend_clear(s);
	return STORE_OK;
}

/* ---- transactions and fixes ---- */

/* Foreign keys on or off for this connection; only outside a
 * transaction. STORE_OK or STORE_ERR. */
static int set_fkeys(struct sq *s, int on)
{
	int now = -1;
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_FKEY, on, &now) != SQLITE_OK ||
	    now != on)
		return fail(s, "foreign keys");
	return STORE_OK;
}

/* store_begin_bulk's transaction is over (committed, rolled back, also
 * by SQLite itself): every later statement is checked again. */
static int fkeys_back(struct sq *s)
{
	int now = 1;
	if (!sqlite3_get_autocommit(s->db) ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_FKEY, -1, &now) != SQLITE_OK || now)
		return STORE_OK;
	return set_fkeys(s, 1);
}

static int begin_tx(struct sq *s)
{
	sqlite3_stmt *st = stmt(s, ST_BEGIN);
	if (!st)
		return STORE_ERR;
	int rc = exec_done(s, st, "begin");
	/* Only now: a refused BEGIN (already in one) keeps that one's counts. */
	if (rc == STORE_OK)
		pend_clear(s);
	return rc;
}

static int sq_begin(struct store *base)
{
	struct sq *s = sq_of(base);
	if (fkeys_back(s) != STORE_OK)
		return STORE_ERR;
	return begin_tx(s);
}

/* The foreign key of fixes.device_id costs a devices lookup per row, a
 * fifth of an import's storing. The write lock is held from BEGIN
 * IMMEDIATE to the end, so no other connection can delete a device
 * meanwhile: checked once here, each of them holds for every row. */
static int sq_begin_bulk(struct store *base, const int64_t *device_id, size_t n)
{
	struct sq *s = sq_of(base);
	if (!sqlite3_get_autocommit(s->db)) {
		snprintf(s->err, sizeof s->err, "begin: a transaction is open");
		return STORE_ERR;
	}
	if (set_fkeys(s, 0) != STORE_OK || begin_tx(s) != STORE_OK) {
		(void)fkeys_back(s);
		return STORE_ERR;
	}
	for (size_t i = 0; i < n; i++) {
		struct device_rec d;
		int rc = sq_device_by_id(base, device_id[i], &d);
		if (rc == STORE_OK)
			continue;
		char why[sizeof s->err];
		if (rc == STORE_NOTFOUND)
			snprintf(why, sizeof why, "device %lld: it was deleted", (long long)device_id[i]);
		else
			snprintf(why, sizeof why, "%s", s->err);
		(void)sq_rollback(base);
		snprintf(s->err, sizeof s->err, "%s", why);
		return rc;
	}
	return STORE_OK;
}

static int sq_commit(struct store *base)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_COMMIT);
	if (!st || pend_flush(s) != STORE_OK)
		return STORE_ERR;
	int rc = exec_done(s, st, "commit");
	if (fkeys_back(s) != STORE_OK && rc == STORE_OK)
		rc = STORE_ERR;
	return rc;
}

/* SQLite may already have rolled back by itself (SQLITE_FULL, IOERR,
 * NOMEM): then there is nothing left to undo. */
static int sq_rollback(struct store *base)
{
	struct sq *s = sq_of(base);
	pend_clear(s);
	if (sqlite3_get_autocommit(s->db))
		return fkeys_back(s);
	sqlite3_stmt *st = stmt(s, ST_ROLLBACK);
	if (!st)
		return STORE_ERR;
	int rc = exec_done(s, st, "rollback");
	if (rc != STORE_OK && sqlite3_get_autocommit(s->db))
		rc = STORE_OK;
	if (fkeys_back(s) != STORE_OK && rc == STORE_OK)
		rc = STORE_ERR;
	return rc;
}

/* The new commit is written from the WAL's first free frame on, exactly
 * where the failed one's frames begin; WAL frames carry a running checksum,
 * so recovery stops at the first old frame after it. (When the WAL was
 * reset instead, the old frames' salt no longer matches: same effect.) */
static int sq_bury_failed(struct store *base)
{
	struct sq *s = sq_of(base);
	if (!sqlite3_get_autocommit(s->db) && store_rollback(&s->base) != STORE_OK)
		return STORE_ERR;
	if (exec_sql(s, "BEGIN IMMEDIATE;"
	                "INSERT INTO meta(key, value) VALUES('failed_commits', 1)"
	                " ON CONFLICT(key) DO UPDATE SET value = value + 1;"
	                "COMMIT") == STORE_OK)
		return STORE_OK;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return STORE_ERR;
}

static int bind_opt(sqlite3_stmt *st, int i, const struct fix *f, unsigned bit, double v)
{
	return (f->has & bit) ? sqlite3_bind_double(st, i, v) : sqlite3_bind_null(st, i);
}

/* A put outside begin/commit gets a transaction of its own, so the fix
 * and its count commit together. */
static int put_alone(struct sq *s, int64_t device_id, const struct fix *f, int *inserted)
{
	int rc = store_begin(&s->base);
	if (rc == STORE_OK)
		rc = store_put_fix(&s->base, device_id, f, inserted);
	if (rc == STORE_OK)
		rc = store_commit(&s->base);
	if (rc != STORE_OK) {
		if (inserted)
			*inserted = 0;
		/* The first error is the one to report; a failed rollback
		 * leaves SQLite to roll back on the next statement. */
		(void)store_rollback(&s->base);
	}
	return rc;
}

static int sq_put_fix(struct store *base, int64_t device_id, const struct fix *f, int *inserted)
{
	struct sq *s = sq_of(base);
	if (inserted)
		*inserted = 0;
	if (sqlite3_get_autocommit(s->db))
		return put_alone(s, device_id, f, inserted);
	sqlite3_stmt *st = stmt(s, ST_FIX_PUT);
	struct pend *count = st ? pend_counter(s, device_id) : NULL;
	if (!count)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id) || sqlite3_bind_int64(st, 2, f->time_ms) ||
	    sqlite3_bind_double(st, 3, f->lat) || sqlite3_bind_double(st, 4, f->lon) ||
	    bind_opt(st, 5, f, FIX_ALT, f->alt) || bind_opt(st, 6, f, FIX_SPEED, f->speed) ||
	    bind_opt(st, 7, f, FIX_COURSE, f->course) || bind_opt(st, 8, f, FIX_ACC, f->acc) ||
	    bind_opt(st, 9, f, FIX_BATT, f->batt) || bind_text(st, 10, f->attrs))
		return bind_fail(s, st, "store fix");
	int rc = exec_done(s, st, "store fix");
	/* OR IGNORE: a duplicate changes no row and is not counted. */
	int ins = rc == STORE_OK && sqlite3_changes(s->db) == 1;
	if (ins)
		pend_count(count, f->time_ms, 1);
	if (inserted)
		*inserted = ins;
	return rc;
}

static void opt_col(sqlite3_stmt *st, int col, struct fix *f, unsigned bit, double *v)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return;
	*v = sqlite3_column_double(st, col);
	f->has |= bit;
}

/* Fills f from a FIX_COLS row, except attrs. */
static void read_fix(sqlite3_stmt *st, struct fix *f)
{
	f->time_ms = sqlite3_column_int64(st, 0);
	f->lat = sqlite3_column_double(st, 1);
	f->lon = sqlite3_column_double(st, 2);
	f->has = 0;
	opt_col(st, 3, f, FIX_ALT, &f->alt);
	opt_col(st, 4, f, FIX_SPEED, &f->speed);
	opt_col(st, 5, f, FIX_COURSE, &f->course);
	opt_col(st, 6, f, FIX_ACC, &f->acc);
	opt_col(st, 7, f, FIX_BATT, &f->batt);
}

static int sq_fixes(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                int (*cb)(void *ctx, const struct fix *f), void *ctx)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_FIX_RANGE);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id) || sqlite3_bind_int64(st, 2, from_ms) ||
	    sqlite3_bind_int64(st, 3, to_ms))
		return bind_fail(s, st, "fixes");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct fix f;
		memset(&f, 0, sizeof f);
		read_fix(st, &f);
		/* Lent to cb for the call only (const struct fix): no copy per row.
		 * The uintptr_t hop drops sqlite's const without a qualifier cast. */
		f.attrs = (char *)(uintptr_t)sqlite3_column_text(st, 8);
		int r = cb(ctx, &f);
		if (r) {
			finish(st);
			return r;
		}
	}
	if (rc != SQLITE_DONE)
		return step_error(s, st, "fixes");
	finish(st);
	return STORE_OK;
}

/* Runs a bound FIX_COLS query expecting at most one row into *out, with
 * its own copy of attrs. */
static int fix_one(struct sq *s, sqlite3_stmt *st, struct fix *out, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		finish(st);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return step_error(s, st, what);
	fix_init(out);
	read_fix(st, out);
	const unsigned char *attrs = sqlite3_column_text(st, 8);
	if (attrs && !(out->attrs = strdup((const char *)attrs))) {
		snprintf(s->err, sizeof s->err, "%s: out of memory", what);
		finish(st);
		return STORE_ERR;
	}
	finish(st);
	return STORE_OK;
}

static int sq_last_fix(struct store *base, int64_t device_id, struct fix *out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_FIX_LAST);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id))
		return bind_fail(s, st, "last fix");
	return fix_one(s, st, out, "last fix");
}

/* The track thinner calls these tens of thousands of times per request:
 * one reused statement, a seek on the (device_id, time_ms) key, no
 * allocation but attrs. */
static int fix_in(struct sq *s, enum stmt_id id, int64_t device_id, int64_t from_ms,
                  int64_t to_ms, struct fix *out, const char *what)
{
	sqlite3_stmt *st = stmt(s, id);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id) || sqlite3_bind_int64(st, 2, from_ms) ||
	    sqlite3_bind_int64(st, 3, to_ms))
		return bind_fail(s, st, what);
	return fix_one(s, st, out, what);
}

static int sq_fix_first_in(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                       struct fix *out)
{
	struct sq *s = sq_of(base);
	return fix_in(s, ST_FIX_FIRST_IN, device_id, from_ms, to_ms, out, "first fix in range");
}

static int sq_fix_last_in(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                      struct fix *out)
{
	struct sq *s = sq_of(base);
	return fix_in(s, ST_FIX_LAST_IN, device_id, from_ms, to_ms, out, "last fix in range");
}

/* Walks the (device_id, time_ms) key backwards from to_ms: n steps,
 * however long the range before them. */
static int sq_fix_nth_last(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                       int64_t n, int64_t *time_ms)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_FIX_NTH_LAST);
	if (!st)
		return STORE_ERR;
	if (n < 1)
		n = 1;
	if (sqlite3_bind_int64(st, 1, device_id) || sqlite3_bind_int64(st, 2, from_ms) ||
	    sqlite3_bind_int64(st, 3, to_ms) || sqlite3_bind_int64(st, 4, n - 1))
		return bind_fail(s, st, "n-th last fix");
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return step_error(s, st, "n-th last fix");
	if (rc == SQLITE_ROW)
		*time_ms = sqlite3_column_int64(st, 0);
	finish(st);
	return rc == SQLITE_ROW ? STORE_OK : STORE_NOTFOUND;
}

/* A device without a device_stats row never had a fix: 0. */
static int64_t sq_count(struct store *base, int64_t device_id)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, device_id ? ST_COUNT_DEV : ST_COUNT_ALL);
	if (!st)
		return -1;
	if (device_id && sqlite3_bind_int64(st, 1, device_id)) {
		bind_fail(s, st, "count");
		return -1;
	}
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		step_error(s, st, "count");
		return -1;
	}
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	finish(st);
	return n + pend_sum(s, device_id);
}

/* Runs a bound DELETE ... RETURNING device_id, time_ms inside the
 * transaction begun for it: each deleted row counts through the same
 * per-device deltas as inserts (count and history mark), written by the
 * commit in the same transaction. How many, or -1 (rolled back). */
static int64_t delete_counted(struct sq *s, sqlite3_stmt *st, const char *what)
{
	int64_t n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pend *count = pend_counter(s, sqlite3_column_int64(st, 0));
		if (!count) {
			finish(st);
			goto fail;
		}
		pend_count(count, sqlite3_column_int64(st, 1), -1);
		n++;
	}
	if (rc != SQLITE_DONE) {
		step_error(s, st, what);
		goto fail;
	}
	finish(st);
	if (store_commit(&s->base) != STORE_OK)
		goto fail;
	return n;
fail:
	/* The first error is the one to report; a failed rollback leaves
	 * SQLite to roll back on the next statement. */
	(void)store_rollback(&s->base);
	return -1;
}

static int64_t sq_demo_delete(struct store *base, int64_t device_id)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, device_id ? ST_DEMO_DEL_DEV : ST_DEMO_DEL_ALL);
	if (!st || store_begin(&s->base) != STORE_OK)
		return -1;
	if (device_id && sqlite3_bind_int64(st, 1, device_id)) {
		bind_fail(s, st, "demo delete");
		(void)store_rollback(&s->base);
		return -1;
	}
	return delete_counted(s, st, "demo delete");
}

static int bind_range(sqlite3_stmt *st, int64_t device_id, int64_t from_ms, int64_t to_ms,
                      const double *box)
{
	if (sqlite3_bind_int64(st, 1, device_id) || sqlite3_bind_int64(st, 2, from_ms) ||
	    sqlite3_bind_int64(st, 3, to_ms))
		return -1;
	for (int i = 0; i < 4; i++)
		if ((box ? sqlite3_bind_double(st, 4 + i, box[i]) : sqlite3_bind_null(st, 4 + i)))
			return -1;
	return 0;
}

static int64_t sq_fix_count_range(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                              const double *box)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_RANGE_COUNT);
	if (!st)
		return -1;
	if (bind_range(st, device_id, from_ms, to_ms, box) < 0) {
		bind_fail(s, st, "count fixes");
		return -1;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		step_error(s, st, "count fixes");
		return -1;
	}
	int64_t n = sqlite3_column_int64(st, 0);
	finish(st);
	return n;
}

static int64_t sq_fix_delete_batch(struct store *base, int64_t device_id, int64_t from_ms,
                               int64_t to_ms, const double *box, int64_t max)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_RANGE_DEL);
	if (!st || store_begin(&s->base) != STORE_OK)
		return -1;
	if (bind_range(st, device_id, from_ms, to_ms, box) < 0 || sqlite3_bind_int64(st, 8, max)) {
		bind_fail(s, st, "delete fixes");
		(void)store_rollback(&s->base);
		return -1;
	}
	return delete_counted(s, st, "delete fixes");
}

static int sq_fix_delete_at(struct store *base, int64_t device_id, int64_t time_ms, int *deleted)
{
	struct sq *s = sq_of(base);
	*deleted = 0;
	sqlite3_stmt *st = stmt(s, ST_FIX_DEL_AT);
	struct pend *count = st ? pend_counter(s, device_id) : NULL;
	if (!count)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id) || sqlite3_bind_int64(st, 2, time_ms))
		return bind_fail(s, st, "delete fix");
	int rc = exec_done(s, st, "delete fix");
	if (rc == STORE_OK && sqlite3_changes(s->db) == 1) {
		pend_count(count, time_ms, -1);
		*deleted = 1;
	}
	return rc;
}

static int64_t sq_cred_generation(struct store *base)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_CRED_GEN);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		step_error(s, st, "credential generation");
		return -1;
	}
	int64_t n = sqlite3_column_int64(st, 0);
	finish(st);
	return n;
}

/* ---- web sessions ---- */

#define CSRF_MAX (sizeof ((struct session_rec *)0)->csrf - 1)

static int sq_session_add(struct store *base, const unsigned char id_hash[TOKEN_HASH_LEN],
                      int64_t user_id, const char *csrf, int64_t created_ms,
                      int64_t expires_ms)
{
	struct sq *s = sq_of(base);
	/* What does not fit in session_rec could never be read back whole. */
	if (!csrf || strlen(csrf) > CSRF_MAX) {
		snprintf(s->err, sizeof s->err, "session add: CSRF token longer than %zu bytes",
		         CSRF_MAX);
		return STORE_ERR;
	}
	sqlite3_stmt *st = stmt(s, ST_SESS_ADD);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_blob(st, 1, id_hash, TOKEN_HASH_LEN, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 2, user_id) || bind_text(st, 3, csrf) ||
	    sqlite3_bind_int64(st, 4, created_ms) || sqlite3_bind_int64(st, 5, expires_ms))
		return bind_fail(s, st, "session add");
	/* A user deleted meanwhile: STORE_NOTFOUND through the foreign key. */
	return exec_done(s, st, "session add");
}

static int sq_session_get(struct store *base, const unsigned char id_hash[TOKEN_HASH_LEN],
                      int64_t now_ms, struct session_rec *out)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_SESS_GET);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_blob(st, 1, id_hash, TOKEN_HASH_LEN, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 2, now_ms))
		return bind_fail(s, st, "session get");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		finish(st);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return step_error(s, st, "session get");
	out->user_id = sqlite3_column_int64(st, 0);
	copy_col(out->user, sizeof out->user, st, 1);
	copy_col(out->csrf, sizeof out->csrf, st, 2);
	out->created_ms = sqlite3_column_int64(st, 3);
	out->expires_ms = sqlite3_column_int64(st, 4);
	finish(st);
	return STORE_OK;
}

static int sq_session_touch(struct store *base, const unsigned char id_hash[TOKEN_HASH_LEN],
                        int64_t expires_ms)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_SESS_TOUCH);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, expires_ms) ||
	    sqlite3_bind_blob(st, 2, id_hash, TOKEN_HASH_LEN, SQLITE_STATIC))
		return bind_fail(s, st, "session touch");
	return exec_change(s, st, "session touch");
}

static int sq_session_del(struct store *base, const unsigned char id_hash[TOKEN_HASH_LEN])
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_SESS_DEL);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_blob(st, 1, id_hash, TOKEN_HASH_LEN, SQLITE_STATIC))
		return bind_fail(s, st, "session del");
	return exec_change(s, st, "session del");
}

/* Same boundary as store_session_get: expired when expires_ms <= now_ms. */
static int64_t sq_session_purge(struct store *base, int64_t now_ms)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_SESS_PURGE);
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, now_ms)) {
		bind_fail(s, st, "session purge");
		return -1;
	}
	if (exec_done(s, st, "session purge") != STORE_OK)
		return -1;
	return sqlite3_changes64(s->db);
}

static int64_t sq_session_trim(struct store *base, int64_t user_id, int keep)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_SESS_TRIM);
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, user_id) || sqlite3_bind_int(st, 2, keep)) {
		bind_fail(s, st, "session trim");
		return -1;
	}
	if (exec_done(s, st, "session trim") != STORE_OK)
		return -1;
	return sqlite3_changes64(s->db);
}

static int sq_user_creds(struct store *base, int64_t user_id, int64_t now_ms,
                     char pwhash[PWHASH_LEN],
                     void (*cb)(void *ctx, const unsigned char id_hash[TOKEN_HASH_LEN],
                                int64_t created_ms),
                     void *ctx)
{
	struct sq *s = sq_of(base);
	sqlite3_stmt *st = stmt(s, ST_USER_CREDS);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, user_id) || sqlite3_bind_int64(st, 2, now_ms))
		return bind_fail(s, st, "user credentials");
	int rc, found = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!found)
			copy_col(pwhash, PWHASH_LEN, st, 0);
		found = 1;
		if (sqlite3_column_type(st, 1) == SQLITE_BLOB &&
		    sqlite3_column_bytes(st, 1) == TOKEN_HASH_LEN)
			cb(ctx, sqlite3_column_blob(st, 1), sqlite3_column_int64(st, 2));
	}
	if (rc != SQLITE_DONE)
		return step_error(s, st, "user credentials");
	finish(st);
	return found ? STORE_OK : STORE_NOTFOUND;
}

/* ---- backup ---- */

static int backup_copy(struct sq *s, sqlite3 *dst)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", s->db, "main");
	if (!b) {
		snprintf(s->err, sizeof s->err, "backup: %s", sqlite3_errmsg(dst));
		return STORE_ERR;
	}
	int rc;
	/* All pages in one step = one read snapshot = a consistent copy.
	 * BUSY/LOCKED only while a writer holds the source; wait and retry. */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
		sqlite3_sleep(50);
	int frc = sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE || frc != SQLITE_OK) {
		snprintf(s->err, sizeof s->err, "backup: %s",
		         sqlite3_errstr(rc != SQLITE_DONE ? rc : frc));
		return STORE_ERR;
	}
	return STORE_OK;
}

static int sq_backup(struct store *base, const char *file)
{
	struct sq *s = sq_of(base);
	/* O_EXCL claims the name atomically: never overwrite a file. */
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(s->err, sizeof s->err, "backup: %s: %s", file,
		         e == EEXIST ? "file exists" : strerror(e));
		return e == EEXIST ? STORE_EXISTS : STORE_ERR;
	}
	close(fd);
	sqlite3 *dst = NULL;
	int rc = STORE_ERR;
	if (sqlite3_open_v2(file, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
	    != SQLITE_OK)
		snprintf(s->err, sizeof s->err, "backup: %s: %s", file,
		         dst ? sqlite3_errmsg(dst) : "cannot open");
	else
		rc = backup_copy(s, dst);
	if (dst && sqlite3_close(dst) != SQLITE_OK && rc == STORE_OK) {
		snprintf(s->err, sizeof s->err, "backup: %s: close failed", file);
		rc = STORE_ERR;
	}
	if (rc != STORE_OK)
		unlink(file);
	return rc;
}

/* ---- test hooks (writer_test.h) ---- */

static int sq_test_limit_pages(struct store *base, int on)
{
	struct sq *s = sq_of(base);
	char sql[64];
	int64_t v;
	if (on) {
		int64_t pages;
		if (query_int(s, "PRAGMA max_page_count", &v) != STORE_OK ||
		    query_int(s, "PRAGMA page_count", &pages) != STORE_OK)
			return STORE_ERR;
		s->saved_max_pages = v;
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)pages);
	} else {
		if (!s->saved_max_pages)
			return STORE_OK;
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
		         (long long)s->saved_max_pages);
		s->saved_max_pages = 0;
	}
	return query_int(s, sql, &v);
}

static const struct store_ops sq_ops = {
	.close = sq_close,
	.errmsg = sq_errmsg,
	.user_add = sq_user_add,
	.user_get = sq_user_get,
	.user_set_password = sq_user_set_password,
	.user_set_timezone = sq_user_set_timezone,
	.user_del = sq_user_del,
	.user_list = sq_user_list,
	.device_add = sq_device_add,
	.device_get = sq_device_get,
	.device_by_token = sq_device_by_token,
	.device_by_id = sq_device_by_id,
	.device_by_ident = sq_device_by_ident,
	.device_set_token = sq_device_set_token,
	.device_del = sq_device_del,
	.device_list = sq_device_list,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.put_fix = sq_put_fix,
	.bury_failed = sq_bury_failed,
	.fixes = sq_fixes,
	.last_fix = sq_last_fix,
	.count = sq_count,
	.cred_generation = sq_cred_generation,
	.device_rename = sq_device_rename,
	.fix_nth_last = sq_fix_nth_last,
	.fix_first_in = sq_fix_first_in,
	.fix_last_in = sq_fix_last_in,
	.demo_delete = sq_demo_delete,
	.fix_count_range = sq_fix_count_range,
	.fix_delete_batch = sq_fix_delete_batch,
	.fix_delete_at = sq_fix_delete_at,
	.session_add = sq_session_add,
	.session_get = sq_session_get,
	.session_touch = sq_session_touch,
	.session_del = sq_session_del,
	.session_purge = sq_session_purge,
	.session_trim = sq_session_trim,
	.user_creds = sq_user_creds,
	.backup = sq_backup,
	.hist_open = sq_hist_open,
	.geo_open = sq_geo_open,
	.rows = sq_rows,
	.put_row = sq_put_row,
	.rows_done = sq_rows_done,
	.begin_bulk = sq_begin_bulk,
	.bucket_lock = sq_bucket_lock,
	.bucket_set = sq_bucket_set,
	.trust_set = sq_trust_set,
	.trust_get = sq_trust_get,
	.bucket_purge = sq_bucket_purge,
	.import_add = sq_import_add,
	.import_put = sq_import_put,
	.import_list = sq_import_list,
	.import_trim = sq_import_trim,
	.test_limit_pages = sq_test_limit_pages,
};
