/* store_sqlite.c: schema, users, devices, fixes, backup, failure injection. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/auth.h"
#include "base/point.h"
#include "store/store.h"
#include "test.h"
#include "test_loc.h"
#include "store/store_test.h"

struct tmpdb {
	char dir[64];
	char path[96];
};

static int tmpdb_init(struct tmpdb *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/mintrac-store-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof t->path, "%s/mintrac.db", t->dir);
	return 0;
}

static void tmpdb_rm(struct tmpdb *t)
{
	static const char *const sfx[] = { "", "-wal", "-shm", ".bak", ".bak-wal", ".bak-shm" };
	char p[128];
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		snprintf(p, sizeof p, "%s%s", t->path, sfx[i]);
		unlink(p);
	}
	rmdir(t->dir);
}

static struct store *open_new(struct tmpdb *t)
{
	char err[256];
	if (tmpdb_init(t) != 0)
		return NULL;
	struct store *s = store_open(t->path, STORE_CREATE, err, sizeof err);
	if (!s)
		fprintf(stderr, "store_open: %s\n", err);
	return s;
}

static void hash_of(const char *token, unsigned char h[TOKEN_HASH_LEN])
{
	auth_token_hash(token, h);
}

TEST(store_open_missing_and_schema)
{
	struct tmpdb t;
	char err[256] = "";
	CHECK(tmpdb_init(&t) == 0);
	CHECK(store_open(t.path, 0, err, sizeof err) == NULL);
	CHECK(strstr(err, "no database at") != NULL);
	CHECK(strstr(err, "mintrac init") != NULL);

	struct store *s = store_open(t.path, STORE_CREATE, err, sizeof err);
	CHECK(s != NULL);
	store_close(s);
	/* Re-open without CREATE: schema already current, nothing re-applied. */
	s = store_open(t.path, 0, err, sizeof err);
	CHECK(s != NULL);
	CHECK_INT(store_count(s, 0), 0);
	store_close(s);
	s = store_open(t.path, STORE_CREATE | STORE_SYNC_NORMAL, err, sizeof err);
	CHECK(s != NULL);
	store_close(s);

	sqlite3 *db;
	CHECK(sqlite3_open(t.path, &db) == SQLITE_OK);
	sqlite3_stmt *st;
	CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), store_test_schema_version());
	sqlite3_finalize(st);
	CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	/* A future schema version is refused, not misread. */
	CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(store_open(t.path, 0, err, sizeof err) == NULL);
	CHECK(strstr(err, "newer") != NULL);
	tmpdb_rm(&t);
}

TEST(store_not_a_database)
{
	struct tmpdb t;
	char err[256] = "";
	CHECK(tmpdb_init(&t) == 0);
	FILE *fp = fopen(t.path, "w");
	CHECK(fp != NULL);
	if (fp) {
		fputs("this is not sqlite, this is a text file with enough bytes in it...\n", fp);
		fclose(fp);
	}
	CHECK(store_open(t.path, 0, err, sizeof err) == NULL);
	CHECK(err[0] != '\0');
	tmpdb_rm(&t);
}

struct names { char buf[512]; };

static int collect_user(void *ctx, const struct user_rec *u)
{
	struct names *n = ctx;
	size_t l = strlen(n->buf);
	snprintf(n->buf + l, sizeof n->buf - l, "%s,", u->name);
	return 0;
}

TEST(store_users)
{
	struct tmpdb t;
	struct store *s = open_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	struct user_rec u;
	CHECK_INT(store_user_add(s, "bob", "hash1"), STORE_OK);
	CHECK_INT(store_user_add(s, "alice", "hash2"), STORE_OK);
	CHECK_INT(store_user_add(s, "bob", "hash3"), STORE_EXISTS);
	CHECK(strstr(store_errmsg(s), "UNIQUE") != NULL);
	CHECK_INT(store_user_get(s, "bob", &u), STORE_OK);
	CHECK_STR(u.name, "bob");
	CHECK_STR(u.pwhash, "hash1");
	CHECK(u.id > 0);
	CHECK(u.created_ms > 1600000000000LL);
	CHECK_INT(store_user_get(s, "carol", &u), STORE_NOTFOUND);
	CHECK_INT(store_user_set_password(s, "bob", "newhash"), STORE_OK);
	CHECK_INT(store_user_get(s, "bob", &u), STORE_OK);
	CHECK_STR(u.pwhash, "newhash");
	CHECK_INT(store_user_set_password(s, "carol", "x"), STORE_NOTFOUND);

	struct names n = { "" };
	CHECK_INT(store_user_list(s, collect_user, &n), STORE_OK);
	CHECK_STR(n.buf, "alice,bob,");

	CHECK_INT(store_user_del(s, "bob"), STORE_OK);
	CHECK_INT(store_user_get(s, "bob", &u), STORE_NOTFOUND);
	CHECK_INT(store_user_del(s, "bob"), STORE_NOTFOUND);
	store_close(s);
	tmpdb_rm(&t);
}

static int collect_dev(void *ctx, const struct device_rec *d)
{
	struct names *n = ctx;
	size_t l = strlen(n->buf);
	snprintf(n->buf + l, sizeof n->buf - l, "%s/%s,", d->user, d->name);
	return 0;
}

static int stop_at_first(void *ctx, const struct device_rec *d)
{
	(void)d;
	(*(int *)ctx)++;
	return 7;
}

TEST(store_devices)
{
	struct tmpdb t;
	struct store *s = open_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	struct user_rec anna, ben;
	struct device_rec d;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN], h3[TOKEN_HASH_LEN], h4[TOKEN_HASH_LEN];
	hash_of("token-one-aaaaaaaaaaaaaaaa", h1);
	hash_of("token-two-bbbbbbbbbbbbbbbb", h2);
	hash_of("token-three-ccccccccccccccc", h3);
	hash_of("token-four-dddddddddddddddd", h4);
	CHECK_INT(store_user_add(s, "anna", "x"), STORE_OK);
	CHECK_INT(store_user_add(s, "ben", "x"), STORE_OK);
	CHECK_INT(store_user_get(s, "anna", &anna), STORE_OK);
	CHECK_INT(store_user_get(s, "ben", &ben), STORE_OK);

	int64_t id1 = 0, id2 = 0, id3 = 0;
	CHECK_INT(store_device_add(s, anna.id, "Anna's phone", h1, "123456", &id1), STORE_OK);
	CHECK_INT(store_device_add(s, anna.id, "<img src=x>", h2, NULL, &id2), STORE_OK);
	CHECK(id1 > 0 && id2 > 0 && id1 != id2);
	/* Device names are unique per user, not globally. */
	CHECK_INT(store_device_add(s, anna.id, "Anna's phone", h3, NULL, NULL), STORE_EXISTS);
	CHECK_INT(store_device_add(s, ben.id, "Anna's phone", h3, "", &id3), STORE_OK);
	/* Tokens and idents are unique globally. */
	CHECK_INT(store_device_add(s, ben.id, "other", h1, NULL, NULL), STORE_EXISTS);
	CHECK_INT(store_device_add(s, ben.id, "other", h4, "123456", NULL), STORE_EXISTS);
	/* A device of a user that does not exist. */
	CHECK_INT(store_device_add(s, 9999, "ghost", h4, NULL, NULL), STORE_NOTFOUND);

	CHECK_INT(store_device_get(s, anna.id, "Anna's phone", &d), STORE_OK);
	CHECK_INT(d.id, id1);
	CHECK_INT(d.user_id, anna.id);
	CHECK_STR(d.user, "anna");
	CHECK_STR(d.name, "Anna's phone");
	CHECK_STR(d.ident, "123456");
	CHECK(d.created_ms > 0);
	CHECK_INT(store_device_get(s, ben.id, "Anna's phone", &d), STORE_OK);
	CHECK_INT(d.id, id3);
	CHECK_STR(d.ident, "");
	CHECK_INT(store_device_get(s, ben.id, "<img src=x>", &d), STORE_NOTFOUND);

	CHECK_INT(store_device_by_token(s, h2, &d), STORE_OK);
	CHECK_INT(d.id, id2);
	CHECK_STR(d.name, "<img src=x>");
	CHECK_INT(store_device_by_token(s, h4, &d), STORE_NOTFOUND);
	CHECK_INT(store_device_by_ident(s, "123456", &d), STORE_OK);
	CHECK_INT(d.id, id1);
	CHECK_INT(store_device_by_ident(s, "654321", &d), STORE_NOTFOUND);
	CHECK_INT(store_device_by_ident(s, "", &d), STORE_NOTFOUND);

	/* New token: the old one stops working at once. */
	CHECK_INT(store_device_set_token(s, id1, h4), STORE_OK);
	CHECK_INT(store_device_by_token(s, h1, &d), STORE_NOTFOUND);
	CHECK_INT(store_device_by_token(s, h4, &d), STORE_OK);
	CHECK_INT(d.id, id1);
	CHECK_INT(store_device_set_token(s, 9999, h1), STORE_NOTFOUND);

	struct names n = { "" };
	CHECK_INT(store_device_list(s, 0, collect_dev, &n), STORE_OK);
	CHECK_STR(n.buf, "anna/<img src=x>,anna/Anna's phone,ben/Anna's phone,");
	memset(&n, 0, sizeof n);
	CHECK_INT(store_device_list(s, ben.id, collect_dev, &n), STORE_OK);
	CHECK_STR(n.buf, "ben/Anna's phone,");
	int calls = 0;
	CHECK_INT(store_device_list(s, 0, stop_at_first, &calls), 7);
	CHECK_INT(calls, 1);

	CHECK_INT(store_device_del(s, id2), STORE_OK);
	CHECK_INT(store_device_by_token(s, h2, &d), STORE_NOTFOUND);
	CHECK_INT(store_device_del(s, id2), STORE_NOTFOUND);
	store_close(s);
	tmpdb_rm(&t);
}

struct walk {
	int      n;
	int64_t  times[16];
	struct fix last;
	char     attrs[128];
};

static int collect_fix(void *ctx, const struct fix *f)
{
	struct walk *w = ctx;
	if (w->n < 16)
		w->times[w->n] = f->time_ms;
	w->n++;
	w->last = *f;
	w->last.attrs = NULL;
	snprintf(w->attrs, sizeof w->attrs, "%s", f->attrs ? f->attrs : "(null)");
	return 0;
}

static int put(struct store *s, int64_t dev, const struct fix *f)
{
	int ins = -1;
	int rc = store_put_fix(s, dev, f, &ins);
	return rc == STORE_OK ? ins : -1;
}

TEST(store_fixes_roundtrip)
{
	struct tmpdb t;
	struct store *s = open_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t dev = test_add_device(s, "anna", "phone", "tok-aaaaaaaaaaaaaaaaaaaaaaa", NULL);
	int64_t dev2 = test_add_device(s, "anna", "tablet", "tok-bbbbbbbbbbbbbbbbbbbbbbb", NULL);
	CHECK(dev > 0 && dev2 > 0);

	/* Out of order on purpose: results come back in time order. */
	struct fix a = test_fix(1714558530123LL, 52.5200081, 13.4049541);
	struct fix b = test_fix(1714558500000LL, -33.8688197, 151.2092955);
	struct fix c = test_fix(1714558560000LL, 37.4220001, -122.0840001);
	a.has = FIX_SPEED | FIX_COURSE | FIX_ALT;   /* zero is a value */
	a.speed = 0;
	a.course = 0;
	a.alt = 0;
	a.attrs = (char[]){ "{\"hdop\":1.5,\"event\":\"motion\"}" };
	c.has = FIX_ACC | FIX_BATT;
	c.acc = 4.25;
	c.batt = 87;

	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(put(s, dev, &a), 1);
	CHECK_INT(put(s, dev, &b), 1);
	CHECK_INT(put(s, dev, &c), 1);
	CHECK_INT(put(s, dev, &a), 0);           /* same device and time: skipped */
	CHECK_INT(put(s, dev2, &a), 1);          /* other device: stored */
	CHECK_INT(store_commit(s), STORE_OK);
	/* Outside an explicit transaction a put commits by itself. */
	struct fix dup = test_fix(b.time_ms, 1, 1);
	CHECK_INT(put(s, dev, &dup), 0);

	CHECK_INT(store_count(s, dev), 3);
	CHECK_INT(store_count(s, dev2), 1);
	CHECK_INT(store_count(s, 0), 4);

	struct walk w;
	memset(&w, 0, sizeof w);
	CHECK_INT(store_fixes(s, dev, INT64_MIN, INT64_MAX, collect_fix, &w), STORE_OK);
	CHECK_INT(w.n, 3);
	CHECK_INT(w.times[0], b.time_ms);
	CHECK_INT(w.times[1], a.time_ms);
	CHECK_INT(w.times[2], c.time_ms);
	/* Bounds are inclusive. */
	memset(&w, 0, sizeof w);
	CHECK_INT(store_fixes(s, dev, b.time_ms, a.time_ms, collect_fix, &w), STORE_OK);
	CHECK_INT(w.n, 2);
	memset(&w, 0, sizeof w);
	CHECK_INT(store_fixes(s, dev, a.time_ms, a.time_ms, collect_fix, &w), STORE_OK);
	CHECK_INT(w.n, 1);
	CHECK(w.last.lat == 52.5200081);          /* exact, not approximately */
	CHECK(w.last.lon == 13.4049541);
	CHECK_INT(w.last.has, FIX_SPEED | FIX_COURSE | FIX_ALT);
	CHECK(w.last.speed == 0 && w.last.course == 0 && w.last.alt == 0);
	CHECK_STR(w.attrs, "{\"hdop\":1.5,\"event\":\"motion\"}");
	memset(&w, 0, sizeof w);
	CHECK_INT(store_fixes(s, dev, a.time_ms + 1, c.time_ms - 1, collect_fix, &w), STORE_OK);
	CHECK_INT(w.n, 0);
	memset(&w, 0, sizeof w);
	CHECK_INT(store_fixes(s, dev, b.time_ms, b.time_ms, collect_fix, &w), STORE_OK);
	CHECK_INT(w.n, 1);
	CHECK_INT(w.last.has, 0);                 /* absent stays absent */
	CHECK_STR(w.attrs, "(null)");
	CHECK(w.last.lat == -33.8688197 && w.last.lon == 151.2092955);

	struct fix last;
	CHECK_INT(store_last_fix(s, dev, &last), STORE_OK);
	CHECK_INT(last.time_ms, c.time_ms);
	CHECK(last.lat == 37.4220001 && last.lon == -122.0840001);
	CHECK_INT(last.has, FIX_ACC | FIX_BATT);
	CHECK(last.acc == 4.25 && last.batt == 87);
	CHECK(last.attrs == NULL);
	fix_free(&last);
	CHECK_INT(store_last_fix(s, dev2, &last), STORE_OK);
	CHECK_STR(last.attrs, "{\"hdop\":1.5,\"event\":\"motion\"}");
	fix_free(&last);
	CHECK_INT(store_last_fix(s, 9999, &last), STORE_NOTFOUND);
	CHECK_INT(store_count(s, 9999), 0);

	/* A fix for a device that does not exist is refused. */
	int ins = 1;
	CHECK_INT(store_put_fix(s, 9999, &a, &ins), STORE_NOTFOUND);
	CHECK_INT(ins, 0);
	store_close(s);
	tmpdb_rm(&t);
}

static int count_walk(void *ctx, const struct fix *f)
{
	(void)f;
	++*(int *)ctx;
	return 0;
}

/* store_begin_bulk checks the devices once instead of at every row: a
 * device that is gone refuses the transaction, puts in it store as
 * store_begin's do, and afterwards every statement is checked again (a
 * put to no device is refused, a device's deletion takes its fixes). */
TEST(store_begin_bulk_checks_devices_once)
{
	struct tmpdb t;
	struct store *s = open_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t dev = test_add_device(s, "anna", "phone", "tok-aaaaaaaaaaaaaaaaaaaaaaa", NULL);
	int64_t dev2 = test_add_device(s, "anna", "watch", "tok-bbbbbbbbbbbbbbbbbbbbbbb", NULL);
	CHECK(dev > 0 && dev2 > 0);
	int64_t both[] = { dev, dev2 }, gone[] = { dev, 9999 };
	struct fix a = test_fix(1714558500000LL, 52.5, 13.4), b = test_fix(1714558501000LL, 52.6, 13.5);

	CHECK_INT(store_begin_bulk(s, gone, 2), STORE_NOTFOUND);
	CHECK(strstr(store_errmsg(s), "9999") != NULL);
	CHECK_INT(store_begin(s), STORE_OK);        /* nothing was left open */
	CHECK_INT(put(s, 9999, &a), -1);             /* and the check is back */
	CHECK_INT(store_rollback(s), STORE_OK);

	CHECK_INT(store_begin_bulk(s, both, 2), STORE_OK);
	CHECK_INT(store_begin_bulk(s, both, 2), STORE_ERR);   /* one at a time */
	CHECK_INT(put(s, dev, &a), 1);
	CHECK_INT(put(s, dev, &a), 0);               /* duplicates still skipped */
	CHECK_INT(put(s, dev2, &b), 1);
	CHECK_INT(store_count(s, dev), 1);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_count(s, dev), 1);
	CHECK_INT(store_count(s, dev2), 1);
	int ins = 1;
	CHECK_INT(store_put_fix(s, 9999, &b, &ins), STORE_NOTFOUND);
	CHECK_INT(ins, 0);

	/* Rolled back: nothing stays, the check is back. */
	CHECK_INT(store_begin_bulk(s, both, 1), STORE_OK);
	CHECK_INT(put(s, dev, &b), 1);
	CHECK_INT(store_rollback(s), STORE_OK);
	CHECK_INT(store_count(s, dev), 1);
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(put(s, 9999, &b), -1);
	CHECK_INT(store_rollback(s), STORE_OK);

	/* Deleting the device takes its fixes (the cascade is a foreign key). */
	CHECK_INT(store_device_del(s, dev), STORE_OK);
	int n = 0;
	CHECK_INT(store_fixes(s, dev, INT64_MIN, INT64_MAX, count_walk, &n), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(store_begin_bulk(s, both, 2), STORE_NOTFOUND);
	store_close(s);
	tmpdb_rm(&t);
}

static int stop_walk(void *ctx, const struct fix *f)
{
	(void)f;
	return ++*(int *)ctx == 2 ? 42 : 0;
}

TEST(store_fixes_walk_stops)
{
	struct tmpdb t;
	struct store *s = open_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t dev = test_add_device(s, "u", "d", "tok-ccccccccccccccccccccccc", NULL);
	for (int i = 0; i < 5; i++) {
		struct fix f = test_fix(1000 + i, 1, 2);
		CHECK_INT(put(s, dev, &f), 1);
	}
	int n = 0;
	CHECK_INT(store_fixes(s, dev, 0, 5000, stop_walk, &n), 42);
	CHECK_INT(n, 2);
	/* The statement was reset: a second walk starts from the beginning. */
	n = 0;
	CHECK_INT(store_fixes(s, dev, 0, 5000, stop_walk, &n), 42);
	store_close(s);
	tmpdb_rm(&t);
}

static int put_many(struct store *s, int64_t dev, int64_t t0, int n)
{
	if (store_begin(s) != STORE_OK)
		return -1;
	for (int i = 0; i < n; i++) {
		struct fix f = test_fix(t0 + i * 1000, 48.1 + i * 1e-6, 11.5 - i * 1e-6);
		f.has = FIX_SPEED;
		f.speed = i % 30;
		int ins;
		if (store_put_fix(s, dev, &f, &ins) != STORE_OK) {
			store_rollback(s);
			return -1;
		}
	}
	return store_commit(s) == STORE_OK ? 0 : -1;
}

TEST(store_delete_cascades)
{
	struct tmpdb t;
	struct store *s = open_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t d1 = test_add_device(s, "anna", "phone", "tok-ddddddddddddddddddddddd", NULL);
	int64_t d2 = test_add_device(s, "anna", "car", "tok-eeeeeeeeeeeeeeeeeeeeeee", "4242");
	int64_t d3 = test_add_device(s, "ben", "phone", "tok-fffffffffffffffffffffff", NULL);
	CHECK_INT(put_many(s, d1, 1700000000000LL, 20000), 0);
	CHECK_INT(put_many(s, d2, 1700000000000LL, 100), 0);
	CHECK_INT(put_many(s, d3, 1700000000000LL, 10), 0);
	CHECK_INT(store_count(s, 0), 20110);

	/* A device with many fixes goes with all of them. */
	CHECK_INT(store_device_del(s, d1), STORE_OK);
	CHECK_INT(store_count(s, d1), 0);
	CHECK_INT(store_count(s, 0), 110);

	/* A user goes with their devices and fixes, and nobody else's. */
	CHECK_INT(store_user_del(s, "anna"), STORE_OK);
	struct device_rec d;
	CHECK_INT(store_device_by_ident(s, "4242", &d), STORE_NOTFOUND);
	CHECK_INT(store_count(s, d2), 0);
	CHECK_INT(store_count(s, 0), 10);
	CHECK_INT(store_device_by_token(s, (unsigned char[TOKEN_HASH_LEN]){ 0 }, &d), STORE_NOTFOUND);
	store_close(s);
	tmpdb_rm(&t);
}

TEST(store_backup_copy)
{
	struct tmpdb t;
	char err[256], bak[128];
	struct store *s = open_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t dev = test_add_device(s, "anna", "phone", "tok-ggggggggggggggggggggggg", NULL);
	CHECK_INT(put_many(s, dev, 1700000000000LL, 500), 0);
	snprintf(bak, sizeof bak, "%s.bak", t.path);
	CHECK_INT(store_backup(s, bak), STORE_OK);
	/* Never overwrites. */
	CHECK_INT(store_backup(s, bak), STORE_EXISTS);
	CHECK_INT(store_backup(s, "/nonexistent-dir/x.db"), STORE_ERR);
	store_close(s);

	struct store *b = store_open(bak, STORE_READONLY, err, sizeof err);
	CHECK(b != NULL);
	if (b) {
		CHECK_INT(store_count(b, dev), 500);
		struct device_rec d;
		unsigned char h[TOKEN_HASH_LEN];
		hash_of("tok-ggggggggggggggggggggggg", h);
		CHECK_INT(store_device_by_token(b, h, &d), STORE_OK);
		/* Read-only really is read-only. */
		CHECK_INT(store_user_add(b, "x", "y"), STORE_ERR);
		store_close(b);
	}
	tmpdb_rm(&t);
}

/* Two connections, as the CLI and the receiver: a change is seen at once. */
TEST(store_two_connections)
{
	struct tmpdb t;
	char err[256];
	struct store *cli = open_new(&t);
	CHECK(cli != NULL);
	if (!cli)
		return;
	struct store *srv = store_open(t.path, 0, err, sizeof err);
	CHECK(srv != NULL);
	if (!srv) {
		store_close(cli);
		return;
	}
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	struct device_rec d;
	hash_of("tok-hhhhhhhhhhhhhhhhhhhhhhh", h1);
	hash_of("tok-iiiiiiiiiiiiiiiiiiiiiii", h2);
	CHECK_INT(store_device_by_token(srv, h1, &d), STORE_NOTFOUND);
	int64_t dev = test_add_device(cli, "anna", "phone", "tok-hhhhhhhhhhhhhhhhhhhhhhh", NULL);
	CHECK_INT(store_device_by_token(srv, h1, &d), STORE_OK);
	CHECK_INT(store_device_set_token(cli, dev, h2), STORE_OK);
	CHECK_INT(store_device_by_token(srv, h1, &d), STORE_NOTFOUND);
	CHECK_INT(store_device_by_token(srv, h2, &d), STORE_OK);
	CHECK_INT(store_device_del(cli, dev), STORE_OK);
	CHECK_INT(store_device_by_token(srv, h2, &d), STORE_NOTFOUND);
	store_close(srv);
	store_close(cli);
	tmpdb_rm(&t);
}

/* A "full disk" in the middle of a batch: nothing of it is stored and the
 * connection works afterwards. */
TEST(store_full_disk_rolls_back)
{
	struct tmpdb t;
	struct store *s = open_new(&t);
	CHECK(s != NULL);
	if (!s)
		return;
	int64_t dev = test_add_device(s, "anna", "phone", "tok-jjjjjjjjjjjjjjjjjjjjjjj", NULL);
	CHECK_INT(put_many(s, dev, 1600000000000LL, 10), 0);
	CHECK_INT(store_test_limit_pages(s, 1), STORE_OK);

	int rc = STORE_OK, stored = 0;
	CHECK_INT(store_begin(s), STORE_OK);
	for (int i = 0; i < 5000 && rc == STORE_OK; i++) {
		struct fix f = test_fix(1700000000000LL + i, 10, 20);
		f.attrs = (char[]){ "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}" };
		int ins;
		rc = store_put_fix(s, dev, &f, &ins);
		stored += rc == STORE_OK;
	}
	CHECK_INT(rc, STORE_ERR);
	CHECK(stored > 0);                        /* it failed mid-batch */
	CHECK(strstr(store_errmsg(s), "full") != NULL);
	CHECK_INT(store_rollback(s), STORE_OK);
	CHECK_INT(store_count(s, dev), 10);

	CHECK_INT(store_test_limit_pages(s, 0), STORE_OK);
	CHECK_INT(put_many(s, dev, 1800000000000LL, 1000), 0);
	CHECK_INT(store_count(s, dev), 1010);
	store_close(s);
	tmpdb_rm(&t);
}
