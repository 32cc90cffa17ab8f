/* SQLite implementation of store.h. One struct store is one connection,
 * used by one thread at a time. The receiver, the webapp and CLI commands
 * share the file at once: WAL lets readers run while one writer commits,
 * and busy_timeout makes writers queue instead of failing. Every statement
 * is prepared once, on first use, and reset right after each use so no
 * read transaction stays open (another process's change is seen by the
 * very next query). */
#include "store.h"
#include "writer_test.h"

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
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

enum stmt_id {
	ST_USER_ADD, ST_USER_GET, ST_USER_PASSWD, ST_USER_DEL, ST_USER_LIST,
	ST_DEV_ADD, ST_DEV_GET, ST_DEV_BY_TOKEN, ST_DEV_BY_IDENT, ST_DEV_SET_TOKEN,
	ST_DEV_DEL, ST_DEV_LIST_ALL, ST_DEV_LIST_USER,
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_FIX_PUT, ST_FIX_RANGE, ST_FIX_LAST, ST_COUNT_DEV, ST_COUNT_ALL,
	ST_CRED_GEN,
	ST_MAX
};

#define USER_COLS "SELECT id, name, pwhash, created_ms FROM users "
#define DEV_COLS  "SELECT d.id, d.user_id, u.name, d.name, d.ident, d.created_ms " \
                  "FROM devices d JOIN users u ON u.id = d.user_id "
#define FIX_COLS  "SELECT time_ms, lat, lon, alt, speed, course, acc, batt, attrs FROM fixes "

static const char *const stmt_sql[ST_MAX] = {
	[ST_USER_ADD]      = "INSERT INTO users(name, pwhash, created_ms) VALUES(?, ?, ?)",
	[ST_USER_GET]      = USER_COLS "WHERE name = ?",
	[ST_USER_PASSWD]   = "UPDATE users SET pwhash = ? WHERE name = ?",
	[ST_USER_DEL]      = "DELETE FROM users WHERE name = ?",
	[ST_USER_LIST]     = USER_COLS "ORDER BY name",
	[ST_DEV_ADD]       = "INSERT INTO devices(user_id, name, token_hash, ident, created_ms) "
	                     "VALUES(?, ?, ?, ?, ?)",
	[ST_DEV_GET]       = DEV_COLS "WHERE d.user_id = ? AND d.name = ?",
	[ST_DEV_BY_TOKEN]  = DEV_COLS "WHERE d.token_hash = ?",
	[ST_DEV_BY_IDENT]  = DEV_COLS "WHERE d.ident = ?",
	[ST_DEV_SET_TOKEN] = "UPDATE devices SET token_hash = ? WHERE id = ?",
	[ST_DEV_DEL]       = "DELETE FROM devices WHERE id = ?",
	[ST_DEV_LIST_ALL]  = DEV_COLS "ORDER BY u.name, d.name",
	[ST_DEV_LIST_USER] = DEV_COLS "WHERE d.user_id = ? ORDER BY u.name, d.name",
	[ST_BEGIN]         = "BEGIN IMMEDIATE",
	[ST_COMMIT]        = "COMMIT",
	[ST_ROLLBACK]      = "ROLLBACK",
	[ST_FIX_PUT]       = "INSERT OR IGNORE INTO fixes(device_id, time_ms, lat, lon, alt, speed, "
	                     "course, acc, batt, attrs) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_FIX_RANGE]     = FIX_COLS "WHERE device_id = ? AND time_ms BETWEEN ? AND ? ORDER BY time_ms",
	[ST_FIX_LAST]      = FIX_COLS "WHERE device_id = ? ORDER BY time_ms DESC LIMIT 1",
	[ST_COUNT_DEV]     = "SELECT count(*) FROM fixes WHERE device_id = ?",
	[ST_COUNT_ALL]     = "SELECT count(*) FROM fixes",
	[ST_CRED_GEN]      = "SELECT value FROM meta WHERE key = 'cred_gen'",
};

struct store {
	sqlite3      *db;
	sqlite3_stmt *st[ST_MAX];
	int64_t       saved_max_pages;   /* test hook: limit to restore, 0 = none */
	char          err[512];
};

static int64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records sqlite's message with what we were doing; returns STORE_ERR. */
static int fail(struct store *s, const char *what)
{
	snprintf(s->err, sizeof s->err, "%s: %s", what, sqlite3_errmsg(s->db));
	return STORE_ERR;
}

static sqlite3_stmt *stmt(struct store *s, enum stmt_id id)
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
static int step_error(struct store *s, sqlite3_stmt *st, const char *what)
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
static int exec_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return step_error(s, st, what);
	finish(st);
	return STORE_OK;
}

/* Runs an UPDATE/DELETE; STORE_NOTFOUND when it matched no row. */
static int exec_change(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = exec_done(s, st, what);
	if (rc == STORE_OK && sqlite3_changes(s->db) == 0)
		return STORE_NOTFOUND;
	return rc;
}

static int bind_fail(struct store *s, sqlite3_stmt *st, const char *what)
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
static int query_int(struct store *s, const char *sql, int64_t *out)
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

static int exec_sql(struct store *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->err, sizeof s->err, "%s: %s", sql, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return STORE_ERR;
	}
	return STORE_OK;
}

static int set_wal(struct store *s)
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
static int migrate(struct store *s)
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

static int check_version(struct store *s, int flags)
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

static int configure(struct store *s, int flags)
{
	if (sqlite3_extended_result_codes(s->db, 1) != SQLITE_OK ||
	    sqlite3_busy_timeout(s->db, 10000) != SQLITE_OK)
		return fail(s, "configure");
	if (!(flags & STORE_READONLY) && set_wal(s) != STORE_OK)
		return STORE_ERR;
	/* A small page cache: the receiver must stay small on a Raspberry Pi. */
	if (exec_sql(s, (flags & STORE_SYNC_NORMAL) ? "PRAGMA synchronous=NORMAL"
	                                             : "PRAGMA synchronous=FULL") != STORE_OK ||
	    exec_sql(s, "PRAGMA foreign_keys=ON") != STORE_OK ||
	    exec_sql(s, "PRAGMA temp_store=MEMORY") != STORE_OK ||
	    exec_sql(s, "PRAGMA cache_size=-2000") != STORE_OK)
		return STORE_ERR;
	return check_version(s, flags);
}

struct store *store_open(const char *path, int flags, char *err, size_t errlen)
{
	struct stat sb;
	if (!(flags & STORE_CREATE) && stat(path, &sb) != 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "no database at %s: run 'mintrac init'", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct store *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int oflags = SQLITE_OPEN_NOMUTEX;
	if (flags & STORE_READONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE | ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		         s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		store_close(s);
		return NULL;
	}
	if (configure(s, flags) != STORE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->err);
		store_close(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	/* All statements are finalized, so close cannot be refused as busy. */
	sqlite3_close(s->db);
	free(s);
}

const char *store_errmsg(struct store *s)
{
	return s->err;
}

/* ---- users ---- */

static void read_user(sqlite3_stmt *st, struct user_rec *u)
{
	u->id = sqlite3_column_int64(st, 0);
	copy_col(u->name, sizeof u->name, st, 1);
	copy_col(u->pwhash, sizeof u->pwhash, st, 2);
	u->created_ms = sqlite3_column_int64(st, 3);
}

int store_user_add(struct store *s, const char *name, const char *pwhash)
{
	sqlite3_stmt *st = stmt(s, ST_USER_ADD);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, name) || bind_text(st, 2, pwhash) ||
	    sqlite3_bind_int64(st, 3, clock_ms()))
		return bind_fail(s, st, "user add");
	return exec_done(s, st, "user add");
}

int store_user_get(struct store *s, const char *name, struct user_rec *out)
{
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

int store_user_set_password(struct store *s, const char *name, const char *pwhash)
{
	sqlite3_stmt *st = stmt(s, ST_USER_PASSWD);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, pwhash) || bind_text(st, 2, name))
		return bind_fail(s, st, "user passwd");
	return exec_change(s, st, "user passwd");
}

int store_user_del(struct store *s, const char *name)
{
	sqlite3_stmt *st = stmt(s, ST_USER_DEL);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, name))
		return bind_fail(s, st, "user del");
	return exec_change(s, st, "user del");   /* devices and fixes cascade */
}

int store_user_list(struct store *s, int (*cb)(void *ctx, const struct user_rec *u), void *ctx)
{
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
static int device_one(struct store *s, sqlite3_stmt *st, struct device_rec *out, const char *what)
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

int store_device_add(struct store *s, int64_t user_id, const char *name,
                     const unsigned char hash[TOKEN_HASH_LEN], const char *ident,
                     int64_t *id_out)
{
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

int store_device_get(struct store *s, int64_t user_id, const char *name, struct device_rec *out)
{
	sqlite3_stmt *st = stmt(s, ST_DEV_GET);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, user_id) || bind_text(st, 2, name))
		return bind_fail(s, st, "device get");
	return device_one(s, st, out, "device get");
}

int store_device_by_token(struct store *s, const unsigned char hash[TOKEN_HASH_LEN],
                          struct device_rec *out)
{
	sqlite3_stmt *st = stmt(s, ST_DEV_BY_TOKEN);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_blob(st, 1, hash, TOKEN_HASH_LEN, SQLITE_STATIC))
		return bind_fail(s, st, "device by token");
	return device_one(s, st, out, "device by token");
}

int store_device_by_ident(struct store *s, const char *ident, struct device_rec *out)
{
	if (!ident || !*ident)
		return STORE_NOTFOUND;
	sqlite3_stmt *st = stmt(s, ST_DEV_BY_IDENT);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, ident))
		return bind_fail(s, st, "device by ident");
	return device_one(s, st, out, "device by ident");
}

int store_device_set_token(struct store *s, int64_t device_id,
                           const unsigned char hash[TOKEN_HASH_LEN])
{
	sqlite3_stmt *st = stmt(s, ST_DEV_SET_TOKEN);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_blob(st, 1, hash, TOKEN_HASH_LEN, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 2, device_id))
		return bind_fail(s, st, "device token");
	return exec_change(s, st, "device token");
}

int store_device_del(struct store *s, int64_t device_id)
{
	sqlite3_stmt *st = stmt(s, ST_DEV_DEL);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id))
		return bind_fail(s, st, "device del");
	return exec_change(s, st, "device del");   /* fixes cascade */
}

int store_device_list(struct store *s, int64_t user_id,
                      int (*cb)(void *ctx, const struct device_rec *d), void *ctx)
{
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

/* ---- transactions and fixes ---- */

int store_begin(struct store *s)
{
	sqlite3_stmt *st = stmt(s, ST_BEGIN);
	return st ? exec_done(s, st, "begin") : STORE_ERR;
}

int store_commit(struct store *s)
{
	sqlite3_stmt *st = stmt(s, ST_COMMIT);
	return st ? exec_done(s, st, "commit") : STORE_ERR;
}

/* SQLite may already have rolled back by itself (SQLITE_FULL, IOERR,
 * NOMEM): then there is nothing left to undo. */
int store_rollback(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return STORE_OK;
	sqlite3_stmt *st = stmt(s, ST_ROLLBACK);
	if (!st)
		return STORE_ERR;
	int rc = exec_done(s, st, "rollback");
	if (rc != STORE_OK && sqlite3_get_autocommit(s->db))
		return STORE_OK;
	return rc;
}

static int bind_opt(sqlite3_stmt *st, int i, const struct fix *f, unsigned bit, double v)
{
	return (f->has & bit) ? sqlite3_bind_double(st, i, v) : sqlite3_bind_null(st, i);
}

int store_put_fix(struct store *s, int64_t device_id, const struct fix *f, int *inserted)
{
	sqlite3_stmt *st = stmt(s, ST_FIX_PUT);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id) || sqlite3_bind_int64(st, 2, f->time_ms) ||
	    sqlite3_bind_double(st, 3, f->lat) || sqlite3_bind_double(st, 4, f->lon) ||
	    bind_opt(st, 5, f, FIX_ALT, f->alt) || bind_opt(st, 6, f, FIX_SPEED, f->speed) ||
	    bind_opt(st, 7, f, FIX_COURSE, f->course) || bind_opt(st, 8, f, FIX_ACC, f->acc) ||
	    bind_opt(st, 9, f, FIX_BATT, f->batt) || bind_text(st, 10, f->attrs))
		return bind_fail(s, st, "store fix");
	int rc = exec_done(s, st, "store fix");
	if (inserted)
		*inserted = rc == STORE_OK && sqlite3_changes(s->db) == 1;
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

int store_fixes(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                int (*cb)(void *ctx, const struct fix *f), void *ctx)
{
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

int store_last_fix(struct store *s, int64_t device_id, struct fix *out)
{
	sqlite3_stmt *st = stmt(s, ST_FIX_LAST);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, device_id))
		return bind_fail(s, st, "last fix");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		finish(st);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return step_error(s, st, "last fix");
	fix_init(out);
	read_fix(st, out);
	const unsigned char *attrs = sqlite3_column_text(st, 8);
	if (attrs && !(out->attrs = strdup((const char *)attrs))) {
		snprintf(s->err, sizeof s->err, "last fix: out of memory");
		finish(st);
		return STORE_ERR;
	}
	finish(st);
	return STORE_OK;
}

int64_t store_count(struct store *s, int64_t device_id)
{
	sqlite3_stmt *st = stmt(s, device_id ? ST_COUNT_DEV : ST_COUNT_ALL);
	if (!st)
		return -1;
	if (device_id && sqlite3_bind_int64(st, 1, device_id)) {
		bind_fail(s, st, "count");
		return -1;
	}
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		step_error(s, st, "count");
		return -1;
	}
	int64_t n = sqlite3_column_int64(st, 0);
	finish(st);
	return n;
}

int64_t store_cred_generation(struct store *s)
{
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

/* ---- backup ---- */

static int backup_copy(struct store *s, sqlite3 *dst)
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

int store_backup(struct store *s, const char *file)
{
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

int store_test_limit_pages(struct store *s, int on)
{
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
