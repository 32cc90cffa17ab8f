/* store_sqlite.c, the webapp's side: schema v3 (migration from v2), the
 * per-device fix counts of device_stats, range seeks, rename, demo data
 * deletion, web sessions. Every database lives in its own directory under
 * /tmp and is removed at the end. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/auth.h"
#include "base/point.h"
#include "store/store.h"
#include "test.h"
#include "store/store_test.h"

struct wdb {
	char dir[64];
	char path[96];
};

static int wdb_init(struct wdb *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/mintrac-storeweb-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof t->path, "%s/mintrac.db", t->dir);
	return 0;
}

static void wdb_rm(struct wdb *t)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[128];
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		snprintf(p, sizeof p, "%s%s", t->path, sfx[i]);
		unlink(p);
	}
	rmdir(t->dir);
}

static struct store *wdb_open(struct wdb *t)
{
	char err[256];
	struct store *s = store_open(t->path, STORE_CREATE, err, sizeof err);
	if (!s)
		fprintf(stderr, "store_open: %s\n", err);
	return s;
}

static struct store *wdb_new(struct wdb *t)
{
	return wdb_init(t) == 0 ? wdb_open(t) : NULL;
}

/* One integer from a query run on a separate, plain sqlite3 connection:
 * what is really on disk, independent of the code under test. */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "raw_int: %s: %s\n", sql, db ? sqlite3_errmsg(db) : "no db");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int64_t raw_count(const char *path, int64_t dev)
{
	char sql[96];
	if (dev)
		snprintf(sql, sizeof sql, "SELECT count(*) FROM fixes WHERE device_id = %lld",
		         (long long)dev);
	else
		snprintf(sql, sizeof sql, "SELECT count(*) FROM fixes");
	return raw_int(path, sql);
}

static int64_t user_id(struct store *s, const char *name)
{
	struct user_rec u;
	if (store_user_get(s, name, &u) == STORE_NOTFOUND &&
	    (store_user_add(s, name, "x") != STORE_OK || store_user_get(s, name, &u) != STORE_OK))
		return 0;
	return u.id;
}

/* A device of user (created if missing); its token is derived from both
 * names so every device gets a distinct one. 0 on failure. */
static int64_t new_dev(struct store *s, const char *user, const char *dev)
{
	char tok[160];
	unsigned char h[TOKEN_HASH_LEN];
	int64_t uid = user_id(s, user), id = 0;
	snprintf(tok, sizeof tok, "tok-%s-%s-xxxxxxxxxxxxxxxx", user, dev);
	auth_token_hash(tok, h);
	if (!uid || store_device_add(s, uid, dev, h, NULL, &id) != STORE_OK)
		return 0;
	return id;
}

static struct fix wfix(int64_t t, const char *attrs)
{
	struct fix f;
	memset(&f, 0, sizeof f);
	f.time_ms = t;
	f.lat = 48.1 + (double)(t % 1000) * 1e-6;
	f.lon = 11.5;
	f.attrs = (char *)(uintptr_t)attrs;   /* store_put_fix only reads it */
	return f;
}

/* n fixes at t0, t0 + step, ... in one transaction; how many were new, or -1. */
static int64_t put_run(struct store *s, int64_t dev, int64_t t0, int64_t step, int n,
                       const char *attrs)
{
	int64_t added = 0;
	if (store_begin(s) != STORE_OK)
		return -1;
	for (int i = 0; i < n; i++) {
		struct fix f = wfix(t0 + step * i, attrs);
		int ins = -1;
		if (store_put_fix(s, dev, &f, &ins) != STORE_OK) {
			store_rollback(s);
			return -1;
		}
		added += ins;
	}
	return store_commit(s) == STORE_OK ? added : -1;
}

/* Every device's count equals a count(*) of its rows, and the total too. */
static int counts_exact(struct store *s, const char *path, const int64_t *devs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (store_count(s, devs[i]) != raw_count(path, devs[i]))
			return 0;
	return store_count(s, 0) == raw_count(path, 0);
}

/* ---- migration ---- */

/* Schema versions 1 and 2 exactly as released (store_sqlite.c's
 * migrations[0] and [1]): a database that an older mintrac wrote. */
static const char v2_schema[] =
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
	" PRIMARY KEY(device_id, time_ms)) WITHOUT ROWID;"
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
	" UPDATE meta SET value = value + 1 WHERE key = 'cred_gen'; END;"
	"PRAGMA user_version = 2;";

/* Users anna (devices 1 "phone": 5 fixes, 2 "car": 3 fixes) and ben
 * (device 3 "watch": none). */
static const char v2_data[] =
	"INSERT INTO users VALUES(1, 'anna', 'h1', 1), (2, 'ben', 'h2', 2);"
	"INSERT INTO devices VALUES(1, 1, 'phone', x'01', NULL, 1),"
	" (2, 1, 'car', x'02', '4242', 1), (3, 2, 'watch', x'03', NULL, 1);"
	"INSERT INTO fixes VALUES(1, 1000, 1, 2, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (1, 2000, 1, 2, 5, NULL, NULL, NULL, NULL, '{\"demo\":true}'),"
	" (1, 3000, 1, 2, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (1, 4000, 1, 2, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (1, 5000, 1, 2, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (2, 1000, 3, 4, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (2, 2000, 3, 4, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (2, 3000, 3, 4, NULL, NULL, NULL, NULL, NULL, NULL);";

static int make_v2(const char *path)
{
	sqlite3 *db = NULL;
	int ok = sqlite3_open(path, &db) == SQLITE_OK &&
	         sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK &&
	         sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) == SQLITE_OK &&
	         sqlite3_exec(db, v2_schema, NULL, NULL, NULL) == SQLITE_OK &&
	         sqlite3_exec(db, v2_data, NULL, NULL, NULL) == SQLITE_OK;
	if (!ok)
		fprintf(stderr, "make_v2: %s\n", db ? sqlite3_errmsg(db) : "no db");
	sqlite3_close(db);
	return ok ? 0 : -1;
}

TEST(store_web_migrate_from_v2)
{
	struct wdb t;
	char err[256];
	CHECK(wdb_init(&t) == 0);
	CHECK(make_v2(t.path) == 0);
	int64_t gen = raw_int(t.path, "SELECT value FROM meta WHERE key = 'cred_gen'");
	CHECK(gen > 0);

	/* A read-only open does not migrate: it asks for one read-write open. */
	CHECK(store_open(t.path, STORE_READONLY, err, sizeof err) == NULL);
	CHECK(strstr(err, "older") != NULL);
	CHECK_INT(raw_int(t.path, "PRAGMA user_version"), 2);

	struct store *s = store_open(t.path, 0, err, sizeof err);
	CHECK(s != NULL);
	if (!s) {
		wdb_rm(&t);
		return;
	}
	CHECK_INT(raw_int(t.path, "PRAGMA user_version"), store_test_schema_version());
	/* Counts filled from the rows already there; no row for a device
	 * that never had a fix, and it still counts 0. */
	CHECK_INT(store_count(s, 1), 5);
	CHECK_INT(store_count(s, 2), 3);
	CHECK_INT(store_count(s, 3), 0);
	CHECK_INT(store_count(s, 0), 8);
	CHECK_INT(raw_int(t.path, "SELECT count(*) FROM device_stats"), 2);
	/* The data and the credential generation are untouched. */
	CHECK_INT(store_cred_generation(s), gen);
	struct device_rec d;
	CHECK_INT(store_device_by_ident(s, "4242", &d), STORE_OK);
	CHECK_STR(d.name, "car");
	CHECK_STR(d.user, "anna");
	struct user_rec u;
	CHECK_INT(store_user_get(s, "anna", &u), STORE_OK);
	CHECK_STR(u.timezone, "UTC");       /* version 4 */
	struct fix f;
	CHECK_INT(store_fix_first_in(s, 1, 1500, 5000, &f), STORE_OK);
	CHECK_INT(f.time_ms, 2000);
	CHECK_INT(f.has, FIX_ALT);
	CHECK(f.alt == 5);
	CHECK_STR(f.attrs, "{\"demo\":true}");
	fix_free(&f);
	/* The new tables work on the migrated file. */
	CHECK_INT(put_run(s, 3, 10000, 1, 4, NULL), 4);
	CHECK_INT(store_count(s, 3), 4);
	CHECK_INT(store_count(s, 0), 12);
	unsigned char h[TOKEN_HASH_LEN];
	auth_token_hash("session-aaaaaaaaaaaaaaaaaaaaaaa", h);
	CHECK_INT(store_session_add(s, h, 2, "csrf", 1, 1000), STORE_OK);
	store_close(s);

	/* Opening again applies nothing twice. */
	s = wdb_open(&t);
	CHECK(s != NULL);
	if (s) {
		CHECK_INT(store_count(s, 1), 5);
		CHECK_INT(store_count(s, 0), 12);
		CHECK_INT(raw_int(t.path, "PRAGMA user_version"), store_test_schema_version());
		store_close(s);
	}
	wdb_rm(&t);
}

/* A new database is created at the latest version with every table. */
TEST(store_web_new_schema)
{
	struct wdb t;
	struct store *s = wdb_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(raw_int(t.path, "PRAGMA user_version"), store_test_schema_version());
	CHECK_INT(raw_int(t.path, "SELECT count(*) FROM sqlite_schema WHERE name IN "
	                          "('device_stats', 'sessions', 'sessions_expires')"), 3);
	CHECK_INT(store_count(s, 0), 0);
	store_close(s);
	wdb_rm(&t);
}

/* ---- counts ---- */

TEST(store_web_counts)
{
	struct wdb t;
	struct store *s = wdb_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t devs[3] = { new_dev(s, "anna", "phone"), new_dev(s, "anna", "car"),
	                    new_dev(s, "ben", "phone") };
	CHECK(devs[0] > 0 && devs[1] > 0 && devs[2] > 0);
	int64_t gen = store_cred_generation(s);

	CHECK_INT(put_run(s, devs[0], 1000, 10, 100, NULL), 100);
	CHECK_INT(store_count(s, devs[0]), 100);
	CHECK_INT(store_count(s, devs[1]), 0);
	CHECK_INT(store_count(s, 0), 100);

	/* Duplicates (same device and time) are not counted; the same times
	 * on another device are. */
	CHECK_INT(put_run(s, devs[0], 1000, 10, 150, NULL), 50);
	CHECK_INT(put_run(s, devs[1], 1000, 10, 30, NULL), 30);
	CHECK_INT(store_count(s, devs[0]), 150);
	CHECK_INT(store_count(s, devs[1]), 30);
	CHECK_INT(store_count(s, 0), 180);

	/* Inside a transaction the connection's own inserts count, as a
	 * count(*) would see them; a rollback takes them back. */
	CHECK_INT(store_begin(s), STORE_OK);
	for (int i = 0; i < 20; i++) {
		struct fix f = wfix(900000 + i, NULL);
		int ins = -1;
		CHECK_INT(store_put_fix(s, devs[i % 2 ? 1 : 2], &f, &ins), STORE_OK);
		CHECK_INT(ins, 1);
	}
	CHECK_INT(store_count(s, devs[1]), 40);
	CHECK_INT(store_count(s, devs[2]), 10);
	CHECK_INT(store_count(s, 0), 200);
	CHECK_INT(store_rollback(s), STORE_OK);
	CHECK_INT(store_count(s, devs[1]), 30);
	CHECK_INT(store_count(s, devs[2]), 0);
	CHECK_INT(store_count(s, 0), 180);
	/* The next transaction does not inherit the rolled-back counts. */
	CHECK_INT(put_run(s, devs[2], 5000, 1, 7, NULL), 7);
	CHECK_INT(store_count(s, devs[2]), 7);

	/* A put outside begin/commit commits itself, count included; a
	 * duplicate or an unknown device counts nothing. */
	struct fix f = wfix(777777, NULL);
	int ins = -1;
	CHECK_INT(store_put_fix(s, devs[2], &f, &ins), STORE_OK);
	CHECK_INT(ins, 1);
	CHECK_INT(store_put_fix(s, devs[2], &f, &ins), STORE_OK);
	CHECK_INT(ins, 0);
	CHECK_INT(store_put_fix(s, 999999, &f, &ins), STORE_NOTFOUND);
	CHECK_INT(ins, 0);
	CHECK_INT(store_count(s, devs[2]), 8);
	CHECK_INT(store_count(s, 999999), 0);
	CHECK(counts_exact(s, t.path, devs, 3));

	/* An unknown device inside a batch fails alone (the writer goes on
	 * with the rest of the batch) and adds no count row. */
	CHECK_INT(store_begin(s), STORE_OK);
	struct fix g = wfix(888888, NULL);
	CHECK_INT(store_put_fix(s, 999999, &g, &ins), STORE_NOTFOUND);
	CHECK_INT(store_put_fix(s, devs[0], &g, &ins), STORE_OK);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_count(s, devs[0]), 151);
	CHECK_INT(raw_int(t.path, "SELECT count(*) FROM device_stats WHERE device_id = 999999"), 0);

	/* Storing fixes never touches devices: the credential generation
	 * (the receiver's token cache) stays. */
	CHECK_INT(store_cred_generation(s), gen);

	/* Deleting a device deletes its count; the others stay. */
	CHECK_INT(store_device_del(s, devs[0]), STORE_OK);
	CHECK_INT(store_count(s, devs[0]), 0);
	CHECK_INT(store_count(s, 0), 38);
	CHECK_INT(raw_int(t.path, "SELECT count(*) FROM device_stats"), 2);
	/* So does deleting a user, for all of the user's devices. */
	CHECK_INT(store_user_del(s, "anna"), STORE_OK);
	CHECK_INT(store_count(s, devs[1]), 0);
	CHECK_INT(store_count(s, 0), 8);
	CHECK(counts_exact(s, t.path, devs, 3));
	store_close(s);
	wdb_rm(&t);
}

/* A device deleted inside the transaction that counted fixes for it: the
 * commit succeeds and leaves no count behind. */
TEST(store_web_counts_device_gone_in_tx)
{
	struct wdb t;
	struct store *s = wdb_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t devs[2] = { new_dev(s, "anna", "phone"), new_dev(s, "anna", "car") };
	CHECK_INT(store_begin(s), STORE_OK);
	for (int i = 0; i < 10; i++) {
		struct fix f = wfix(1000 + i, NULL);
		int ins;
		CHECK_INT(store_put_fix(s, devs[i % 2], &f, &ins), STORE_OK);
	}
	CHECK_INT(store_device_del(s, devs[0]), STORE_OK);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_count(s, devs[0]), 0);
	CHECK_INT(store_count(s, devs[1]), 5);
	CHECK_INT(raw_int(t.path, "SELECT count(*) FROM device_stats"), 1);
	CHECK(counts_exact(s, t.path, devs, 2));
	store_close(s);
	wdb_rm(&t);
}

/* One transaction over many devices, interleaved, as a writer batch under
 * load: every count is exact. */
TEST(store_web_counts_many_devices)
{
	struct wdb t;
	struct store *s = wdb_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	enum { NDEV = 300 };
	int64_t devs[NDEV];
	char name[32];
	for (int i = 0; i < NDEV; i++) {
		snprintf(name, sizeof name, "d%d", i);
		devs[i] = new_dev(s, i % 2 ? "anna" : "ben", name);
		CHECK(devs[i] > 0);
	}
	CHECK_INT(store_begin(s), STORE_OK);
	int64_t want = 0;
	for (int round = 0; round < 5; round++)
		for (int i = 0; i < NDEV; i++) {
			if (i % 7 == 0 && round > 2)
				continue;
			struct fix f = wfix(1000 + round, NULL);
			int ins = 0;
			CHECK_INT(store_put_fix(s, devs[i], &f, &ins), STORE_OK);
			want += ins;
		}
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_count(s, 0), want);
	CHECK_INT(store_count(s, devs[7]), 3);
	CHECK_INT(store_count(s, devs[8]), 5);
	CHECK(counts_exact(s, t.path, devs, NDEV));
	store_close(s);
	wdb_rm(&t);
}

/* A "full disk" in the middle of a batch: the rolled-back fixes are not
 * counted, and counting works again afterwards. */
TEST(store_web_counts_full_disk)
{
	struct wdb t;
	struct store *s = wdb_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t dev = new_dev(s, "anna", "phone");
	CHECK_INT(put_run(s, dev, 1000, 1, 10, NULL), 10);
	CHECK_INT(store_test_limit_pages(s, 1), STORE_OK);
	CHECK_INT(store_begin(s), STORE_OK);
	int rc = STORE_OK;
	for (int i = 0; i < 5000 && rc == STORE_OK; i++) {
		struct fix f = wfix(100000 + i, "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
		int ins;
		rc = store_put_fix(s, dev, &f, &ins);
	}
	CHECK_INT(rc, STORE_ERR);
	CHECK_INT(store_rollback(s), STORE_OK);
	CHECK_INT(store_count(s, dev), 10);
	CHECK_INT(store_test_limit_pages(s, 0), STORE_OK);
	CHECK_INT(put_run(s, dev, 200000, 1, 500, NULL), 500);
	CHECK_INT(store_count(s, dev), 510);
	CHECK(counts_exact(s, t.path, &dev, 1));
	store_close(s);
	wdb_rm(&t);
}

/* Counts written by one connection are seen by another (receiver writes,
 * webapp reads) once committed, and not before. */
TEST(store_web_counts_two_connections)
{
	struct wdb t;
	char err[256];
	struct store *w = wdb_new(&t);
	CHECK(w != NULL);
	if (!w)
		return;
	struct store *r = store_open(t.path, 0, err, sizeof err);
	CHECK(r != NULL);
	int64_t dev = new_dev(w, "anna", "phone");
	CHECK_INT(store_begin(w), STORE_OK);
	struct fix f = wfix(1000, NULL);
	int ins;
	CHECK_INT(store_put_fix(w, dev, &f, &ins), STORE_OK);
	if (r)
		CHECK_INT(store_count(r, dev), 0);
	CHECK_INT(store_commit(w), STORE_OK);
	if (r) {
		CHECK_INT(store_count(r, dev), 1);
		CHECK_INT(store_count(r, 0), 1);
	}
	store_close(r);
	store_close(w);
	wdb_rm(&t);
}

/* ---- demo data ---- */

TEST(store_web_demo_delete)
{
	struct wdb t;
	struct store *s = wdb_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t devs[2] = { new_dev(s, "anna", "phone"), new_dev(s, "ben", "phone") };
	/* Device 0: 3 demo fixes among others that are not demo data. */
	CHECK_INT(put_run(s, devs[0], 1000, 1, 3, "{\"demo\":true,\"n\":1}"), 3);
	CHECK_INT(put_run(s, devs[0], 2000, 1, 2, NULL), 2);
	CHECK_INT(put_run(s, devs[0], 3000, 1, 1, "{\"demo\":false}"), 1);
	CHECK_INT(put_run(s, devs[0], 3001, 1, 1, "{\"demo\":\"true\"}"), 1);
	CHECK_INT(put_run(s, devs[0], 3002, 1, 1, "{\"x\":{\"demo\":true}}"), 1);
	CHECK_INT(put_run(s, devs[0], 3003, 1, 1, "not json but says \"demo\":true"), 1);
	CHECK_INT(put_run(s, devs[0], 3004, 1, 1, "{\"hdop\":2}"), 1);
	/* Device 1: 4 demo fixes, 1 real one. */
	CHECK_INT(put_run(s, devs[1], 1000, 1, 4, "{\"demo\":true}"), 4);
	CHECK_INT(put_run(s, devs[1], 5000, 1, 1, NULL), 1);
	CHECK_INT(store_count(s, 0), 15);

	/* One device: its demo fixes only. */
	CHECK_INT(store_demo_delete(s, devs[0]), 3);
	CHECK_INT(store_count(s, devs[0]), 7);
	CHECK_INT(store_count(s, devs[1]), 5);
	CHECK(counts_exact(s, t.path, devs, 2));
	struct fix f;
	CHECK_INT(store_fix_first_in(s, devs[0], 0, 1999, &f), STORE_NOTFOUND);
	CHECK_INT(store_fix_first_in(s, devs[0], 0, INT64_MAX, &f), STORE_OK);
	CHECK_INT(f.time_ms, 2000);
	fix_free(&f);
	CHECK_INT(store_demo_delete(s, devs[0]), 0);
	CHECK_INT(store_demo_delete(s, 424242), 0);

	/* All devices. */
	CHECK_INT(store_demo_delete(s, 0), 4);
	CHECK_INT(store_count(s, devs[1]), 1);
	CHECK_INT(store_count(s, 0), 8);
	CHECK_INT(store_demo_delete(s, 0), 0);
	CHECK(counts_exact(s, t.path, devs, 2));
	/* The connection is back outside a transaction: a put commits. */
	CHECK_INT(put_run(s, devs[1], 9000, 1, 2, "{\"demo\":true}"), 2);
	CHECK_INT(store_count(s, 0), 10);
	CHECK_INT(store_demo_delete(s, 0), 2);
	CHECK(counts_exact(s, t.path, devs, 2));
	store_close(s);
	wdb_rm(&t);
}

/* ---- range seeks ---- */

TEST(store_web_fix_first_last_in)
{
	struct wdb t;
	struct store *s = wdb_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t dev = new_dev(s, "anna", "phone");
	int64_t other = new_dev(s, "anna", "car");
	/* 1000, 2000, ..., 10000; the other device has fixes in between. */
	CHECK_INT(put_run(s, dev, 1000, 1000, 10, "{\"k\":1}"), 10);
	CHECK_INT(put_run(s, other, 500, 1000, 12, NULL), 12);
	CHECK_INT(store_begin(s), STORE_OK);
	struct fix full = wfix(10500, "{\"event\":\"stop\"}");
	full.has = FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT;
	full.speed = 0;
	full.course = 270.5;
	full.alt = -3.25;
	full.acc = 4;
	full.batt = 99;
	int ins;
	CHECK_INT(store_put_fix(s, dev, &full, &ins), STORE_OK);
	CHECK_INT(store_commit(s), STORE_OK);

	struct {
		int64_t from, to;
		int     rc_first;
		int64_t first;
		int     rc_last;
		int64_t last;
	} cases[] = {
		{ 1000, 10000, STORE_OK, 1000, STORE_OK, 10000 },       /* inclusive edges */
		{ 1001, 9999, STORE_OK, 2000, STORE_OK, 9000 },         /* just inside */
		{ 2000, 2000, STORE_OK, 2000, STORE_OK, 2000 },         /* one instant */
		{ 2001, 2999, STORE_NOTFOUND, 0, STORE_NOTFOUND, 0 },   /* gap: only the other device */
		{ 0, 999, STORE_NOTFOUND, 0, STORE_NOTFOUND, 0 },       /* before all */
		{ 10501, INT64_MAX, STORE_NOTFOUND, 0, STORE_NOTFOUND, 0 }, /* after all */
		{ 5000, 4000, STORE_NOTFOUND, 0, STORE_NOTFOUND, 0 },   /* from > to */
		{ INT64_MIN, INT64_MAX, STORE_OK, 1000, STORE_OK, 10500 },
		{ INT64_MIN, 1000, STORE_OK, 1000, STORE_OK, 1000 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fix f;
		int rc = store_fix_first_in(s, dev, cases[i].from, cases[i].to, &f);
		CHECK_INT(rc, cases[i].rc_first);
		if (rc == STORE_OK) {
			CHECK_INT(f.time_ms, cases[i].first);
			CHECK_STR(f.attrs, "{\"k\":1}");
			fix_free(&f);
		}
		rc = store_fix_last_in(s, dev, cases[i].from, cases[i].to, &f);
		CHECK_INT(rc, cases[i].rc_last);
		if (rc == STORE_OK) {
			CHECK_INT(f.time_ms, cases[i].last);
			fix_free(&f);
		}
	}

	/* The whole fix comes back, as store_fixes gives it. */
	struct fix f;
	CHECK_INT(store_fix_last_in(s, dev, 10001, 20000, &f), STORE_OK);
	CHECK_INT(f.time_ms, 10500);
	CHECK_INT(f.has, FIX_SPEED | FIX_COURSE | FIX_ALT | FIX_ACC | FIX_BATT);
	CHECK(f.speed == 0 && f.course == 270.5 && f.alt == -3.25 && f.acc == 4 && f.batt == 99);
	CHECK(f.lat == full.lat && f.lon == full.lon);
	CHECK_STR(f.attrs, "{\"event\":\"stop\"}");
	fix_free(&f);
	/* Absent values stay absent; no attrs is NULL. */
	CHECK_INT(store_fix_first_in(s, other, 0, 600, &f), STORE_OK);
	CHECK_INT(f.time_ms, 500);
	CHECK_INT(f.has, 0);
	CHECK(f.attrs == NULL);
	fix_free(&f);
	CHECK_INT(store_fix_first_in(s, 424242, INT64_MIN, INT64_MAX, &f), STORE_NOTFOUND);
	CHECK_INT(store_fix_last_in(s, 424242, INT64_MIN, INT64_MAX, &f), STORE_NOTFOUND);

	/* Many seeks in a row reuse one statement and leave no read
	 * transaction open: a second connection can still write. */
	int64_t sum = 0;
	for (int i = 0; i < 2000; i++) {
		if (store_fix_first_in(s, dev, (i % 10) * 1000 + 1, INT64_MAX, &f) == STORE_OK) {
			sum += f.time_ms;
			fix_free(&f);
		}
	}
	CHECK_INT(sum, 200LL * (1000 + 2000 + 3000 + 4000 + 5000 + 6000 + 7000 + 8000 + 9000 +
	                        10000));
	char err[256];
	struct store *w = store_open(t.path, 0, err, sizeof err);
	CHECK(w != NULL);
	if (w) {
		CHECK_INT(put_run(w, dev, 20000, 1, 1, NULL), 1);
		store_close(w);
	}
	store_close(s);
	wdb_rm(&t);
}

/* ---- devices ---- */

TEST(store_web_device_by_id_and_rename)
{
	struct wdb t;
	struct store *s = wdb_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t phone = new_dev(s, "anna", "phone");
	int64_t car = new_dev(s, "anna", "car");
	int64_t bens = new_dev(s, "ben", "tablet");
	CHECK(phone > 0 && car > 0 && bens > 0);

	struct device_rec d;
	CHECK_INT(store_device_by_id(s, phone, &d), STORE_OK);
	CHECK_INT(d.id, phone);
	CHECK_STR(d.name, "phone");
	CHECK_STR(d.user, "anna");
	CHECK_STR(d.ident, "");
	CHECK_INT(d.user_id, user_id(s, "anna"));
	CHECK_INT(store_device_by_id(s, 424242, &d), STORE_NOTFOUND);

	CHECK_INT(put_run(s, phone, 1000, 1, 5, NULL), 5);
	int64_t gen = store_cred_generation(s);
	CHECK_INT(store_device_rename(s, phone, "old phone"), STORE_OK);
	CHECK_INT(store_device_get(s, user_id(s, "anna"), "phone", &d), STORE_NOTFOUND);
	CHECK_INT(store_device_get(s, user_id(s, "anna"), "old phone", &d), STORE_OK);
	CHECK_INT(d.id, phone);
	CHECK_INT(store_device_by_id(s, phone, &d), STORE_OK);
	CHECK_STR(d.name, "old phone");
	/* Fixes and count stay with the device; a rename is a device change
	 * (the receiver's caches hold names). */
	CHECK_INT(store_count(s, phone), 5);
	CHECK(store_cred_generation(s) > gen);

	/* The user already has a "car": refused, nothing changes. */
	CHECK_INT(store_device_rename(s, phone, "car"), STORE_EXISTS);
	CHECK_INT(store_device_by_id(s, phone, &d), STORE_OK);
	CHECK_STR(d.name, "old phone");
	/* Another user's name is free to take; so is the device's own. */
	CHECK_INT(store_device_rename(s, car, "tablet"), STORE_OK);
	CHECK_INT(store_device_rename(s, car, "tablet"), STORE_OK);
	CHECK_INT(store_device_rename(s, 424242, "x"), STORE_NOTFOUND);
	/* The freed name can be reused. */
	unsigned char h[TOKEN_HASH_LEN];
	auth_token_hash("tok-another-phone-xxxxxxxxxxxxxx", h);
	CHECK_INT(store_device_add(s, user_id(s, "anna"), "phone", h, NULL, NULL), STORE_OK);
	store_close(s);
	wdb_rm(&t);
}

/* ---- sessions ---- */

static void sid(const char *id, unsigned char h[TOKEN_HASH_LEN])
{
	auth_token_hash(id, h);
}

TEST(store_web_sessions)
{
	struct wdb t;
	struct store *s = wdb_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t anna = user_id(s, "anna");
	unsigned char a[TOKEN_HASH_LEN], b[TOKEN_HASH_LEN], c[TOKEN_HASH_LEN];
	sid("session-a-xxxxxxxxxxxxxxxxxxxxxx", a);
	sid("session-b-xxxxxxxxxxxxxxxxxxxxxx", b);
	sid("session-c-xxxxxxxxxxxxxxxxxxxxxx", c);
	const char *csrf = "0123456789abcdef0123456789abcdef0123456789abcde";   /* 47 */

	CHECK_INT(store_session_add(s, a, anna, csrf, 1000, 5000), STORE_OK);
	struct session_rec r;
	memset(&r, 0, sizeof r);
	CHECK_INT(store_session_get(s, a, 1000, &r), STORE_OK);
	CHECK_INT(r.user_id, anna);
	CHECK_STR(r.user, "anna");
	CHECK_STR(r.csrf, csrf);
	CHECK_INT(r.created_ms, 1000);
	CHECK_INT(r.expires_ms, 5000);
	/* Expired at expires_ms, valid just before. */
	CHECK_INT(store_session_get(s, a, 4999, &r), STORE_OK);
	CHECK_INT(store_session_get(s, a, 5000, &r), STORE_NOTFOUND);
	CHECK_INT(store_session_get(s, b, 1000, &r), STORE_NOTFOUND);

	/* Touch slides the expiry, even of one just expired (not purged). */
	CHECK_INT(store_session_touch(s, a, 9000), STORE_OK);
	CHECK_INT(store_session_get(s, a, 8999, &r), STORE_OK);
	CHECK_INT(r.expires_ms, 9000);
	CHECK_INT(r.created_ms, 1000);
	CHECK_INT(store_session_touch(s, b, 9000), STORE_NOTFOUND);

	/* One id, one session; no session for a user that does not exist;
	 * a CSRF token that session_rec cannot hold is refused. */
	CHECK_INT(store_session_add(s, a, anna, "x", 1, 2), STORE_EXISTS);
	CHECK_INT(store_session_add(s, b, 424242, "x", 1, 2), STORE_NOTFOUND);
	char longer[64];
	snprintf(longer, sizeof longer, "%sX", csrf);
	CHECK_INT(store_session_add(s, b, anna, longer, 1, 2), STORE_ERR);
	CHECK(strstr(store_errmsg(s), "CSRF") != NULL);
	CHECK_INT(store_session_add(s, b, anna, NULL, 1, 2), STORE_ERR);
	CHECK_INT(store_session_get(s, b, 0, &r), STORE_NOTFOUND);

	/* Logout. */
	CHECK_INT(store_session_del(s, a), STORE_OK);
	CHECK_INT(store_session_get(s, a, 1000, &r), STORE_NOTFOUND);
	CHECK_INT(store_session_del(s, a), STORE_NOTFOUND);

	/* Purge removes exactly the expired ones. */
	CHECK_INT(store_session_add(s, a, anna, "a", 0, 100), STORE_OK);
	CHECK_INT(store_session_add(s, b, anna, "b", 0, 200), STORE_OK);
	CHECK_INT(store_session_add(s, c, anna, "c", 0, 300), STORE_OK);
	CHECK_INT(store_session_purge(s, 50), 0);
	CHECK_INT(store_session_purge(s, 200), 2);
	CHECK_INT(store_session_purge(s, 200), 0);
	CHECK_INT(store_session_get(s, c, 250, &r), STORE_OK);
	CHECK_STR(r.csrf, "c");
	CHECK_INT(raw_int(t.path, "SELECT count(*) FROM sessions"), 1);
	store_close(s);
	wdb_rm(&t);
}

/* A password change signs the user out everywhere, also when another
 * process (the CLI) changes it; a deleted user's sessions go with the
 * user. Other users are not affected. */
TEST(store_web_sessions_end_with_user)
{
	struct wdb t;
	char err[256];
	struct store *web = wdb_new(&t);
	CHECK(web != NULL);
	if (!web)
		return;
	struct store *cli = store_open(t.path, 0, err, sizeof err);
	CHECK(cli != NULL);
	if (!cli) {
		store_close(web);
		wdb_rm(&t);
		return;
	}
	int64_t anna = user_id(cli, "anna"), ben = user_id(cli, "ben");
	unsigned char a1[TOKEN_HASH_LEN], a2[TOKEN_HASH_LEN], b1[TOKEN_HASH_LEN];
	sid("session-a1-xxxxxxxxxxxxxxxxxxxxx", a1);
	sid("session-a2-xxxxxxxxxxxxxxxxxxxxx", a2);
	sid("session-b1-xxxxxxxxxxxxxxxxxxxxx", b1);
	CHECK_INT(store_session_add(web, a1, anna, "t1", 0, 10000), STORE_OK);
	CHECK_INT(store_session_add(web, a2, anna, "t2", 0, 10000), STORE_OK);
	CHECK_INT(store_session_add(web, b1, ben, "t3", 0, 10000), STORE_OK);

	struct session_rec r;
	CHECK_INT(store_user_set_password(cli, "anna", "new-hash"), STORE_OK);
	CHECK_INT(store_session_get(web, a1, 1, &r), STORE_NOTFOUND);
	CHECK_INT(store_session_get(web, a2, 1, &r), STORE_NOTFOUND);
	CHECK_INT(store_session_get(web, b1, 1, &r), STORE_OK);
	CHECK_STR(r.user, "ben");
	/* A new session after the change works. */
	CHECK_INT(store_session_add(web, a1, anna, "t4", 0, 10000), STORE_OK);
	CHECK_INT(store_session_get(web, a1, 1, &r), STORE_OK);
	/* Unknown user: nothing changes. */
	CHECK_INT(store_user_set_password(cli, "nobody", "h"), STORE_NOTFOUND);
	CHECK_INT(store_session_get(web, b1, 1, &r), STORE_OK);

	CHECK_INT(store_user_del(cli, "ben"), STORE_OK);
	CHECK_INT(store_session_get(web, b1, 1, &r), STORE_NOTFOUND);
	CHECK_INT(store_session_get(web, a1, 1, &r), STORE_OK);
	CHECK_INT(raw_int(t.path, "SELECT count(*) FROM sessions"), 1);
	store_close(cli);
	store_close(web);
	wdb_rm(&t);
}
