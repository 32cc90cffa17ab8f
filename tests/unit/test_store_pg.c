/* store_pg.c against a real server: the store contract on PostgreSQL.
 * Runs when MINTRAC_TEST_PG_URL names a throwaway database (each test
 * drops and makes its public schema again); skipped, saying so, when not. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/auth.h"
#include "base/point.h"
#include "store/pg_schema.h"
#include "store/store.h"
#include "test.h"
#include "test_loc.h"

static const char *pg_url(void)
{
	const char *u = getenv("MINTRAC_TEST_PG_URL");
	return u && *u ? u : NULL;
}

/* A connection of the test's own, to look at and change the database
 * behind the store's back. */
static PGconn *admin(void)
{
	const char *const keys[] = { "application_name", "options", "dbname", NULL };
	const char *const vals[] = { "mintrac-test", "-c client_min_messages=warning", pg_url(),
	                             NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "  admin connection: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int sql(PGconn *c, const char *q)
{
	PGresult *r = PQexec(c, q);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "  %s: %s", q, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

/* The first value of q as a number (-1 on error). */
static long long sql_int(PGconn *c, const char *q)
{
	PGresult *r = PQexec(c, q);
	long long v = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "  %s: %s", q, PQresultErrorMessage(r));
	PQclear(r);
	return v;
}

/* An empty database; 0, or -1 when skipped (reason printed) or failed. */
static int pg_empty(void)
{
	if (!pg_url()) {
		test_skip("MINTRAC_TEST_PG_URL is not set");
		return -1;
	}
	PGconn *c = admin();
	CHECK(c != NULL);
	if (!c)
		return -1;
	int rc = sql(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	CHECK_INT(rc, 0);
	PQfinish(c);
	return rc;
}

static struct store *pg_fresh(void)
{
	char err[512];
	if (pg_empty() < 0)
		return NULL;
	struct store *s = store_open(pg_url(), STORE_CREATE, err, sizeof err);
	if (!s)
		fprintf(stderr, "  store_open: %s\n", err);
	CHECK(s != NULL);
	return s;
}

TEST(store_pg_schema)
{
	char err[512] = "";
	if (pg_empty() < 0)
		return;
	CHECK(store_open(pg_url(), 0, err, sizeof err) == NULL);
	CHECK_STR(err, "no mintrac schema in DB: run 'mintrac init'");
	CHECK_STR(store_kind(pg_url()), "postgresql");
	struct store *s = store_open(pg_url(), STORE_CREATE, err, sizeof err);
	CHECK(s != NULL);
	store_close(s);
	s = store_open(pg_url(), 0, err, sizeof err);
	CHECK(s != NULL);
	CHECK_INT(store_count(s, 0), 0);
	CHECK_INT(store_cred_generation(s), 0);
	store_close(s);
	/* The month tables of now and the next month are made at init. */
	PGconn *c = admin();
	if (!c)
		return;
	CHECK(sql_int(c, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'fixes'::regclass") >= 3);
	CHECK_INT(sql_int(c, "SELECT version FROM mintrac_schema"), pg_schema_version());
	CHECK(pg_schema_version() >= 2);   /* 2: what the webapps share */
	/* A newer schema is refused, not misread. */
	CHECK_INT(sql(c, "UPDATE mintrac_schema SET version = 99"), 0);
	CHECK(store_open(pg_url(), 0, err, sizeof err) == NULL);
	CHECK(strstr(err, "newer") != NULL);
	CHECK(store_open(pg_url(), STORE_CREATE, err, sizeof err) == NULL);
	CHECK(strstr(err, "newer") != NULL);
	PQfinish(c);
	/* A server that is not there: a clear error, no hang. */
	CHECK(store_open("postgresql://nobody@127.0.0.1:1/none", 0, err, sizeof err) == NULL);
	CHECK(strncmp(err, "postgresql: ", 12) == 0);
}

static void *open_create(void *arg)
{
	char err[512];
	struct store *s = store_open(pg_url(), STORE_CREATE, err, sizeof err);
	if (!s)
		fprintf(stderr, "  concurrent open: %s\n", err);
	*(int *)arg = s != NULL;
	store_close(s);
	return NULL;
}

/* Processes starting at once on an empty database: one creates the
 * schema, the others wait for it and find it done. */
TEST(store_pg_schema_concurrent)
{
	pthread_t th[4];
	int ok[4] = { 0 };
	if (pg_empty() < 0)
		return;
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, open_create, &ok[i]) == 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(ok[i]);
	}
}

struct names { char buf[512]; };

static int collect_user(void *ctx, const struct user_rec *u)
{
	struct names *n = ctx;
	size_t l = strlen(n->buf);
	snprintf(n->buf + l, sizeof n->buf - l, "%s,", u->name);
	return 0;
}

static int collect_dev(void *ctx, const struct device_rec *d)
{
	struct names *n = ctx;
	size_t l = strlen(n->buf);
	snprintf(n->buf + l, sizeof n->buf - l, "%s/%s,", d->user, d->name);
	return 0;
}

TEST(store_pg_users_devices)
{
	struct store *s = pg_fresh();
	if (!s)
		return;
	struct user_rec u;
	struct device_rec d;
	unsigned char h[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	int64_t g0 = store_cred_generation(s);
	CHECK_INT(store_user_add(s, "bob", "hash1"), STORE_OK);
	CHECK_INT(store_user_add(s, "Zed", "hash2"), STORE_OK);
	CHECK_INT(store_user_add(s, "alice", "hash2"), STORE_OK);
	CHECK_INT(store_user_add(s, "bob", "hash3"), STORE_EXISTS);
	CHECK_INT(store_user_get(s, "bob", &u), STORE_OK);
	CHECK_STR(u.pwhash, "hash1");
	CHECK_STR(u.timezone, "UTC");
	CHECK(u.created_ms > 1600000000000LL);
	CHECK_INT(store_user_get(s, "carol", &u), STORE_NOTFOUND);
	/* Bytes order, as SQLite's: upper case first. */
	struct names n = { "" };
	CHECK_INT(store_user_list(s, collect_user, &n), STORE_OK);
	CHECK_STR(n.buf, "Zed,alice,bob,");
	CHECK_INT(store_user_set_timezone(s, "bob", "Europe/Berlin"), STORE_OK);
	CHECK_INT(store_user_set_timezone(s, "carol", "UTC"), STORE_NOTFOUND);
	CHECK_INT(store_user_set_password(s, "carol", "x"), STORE_NOTFOUND);
	CHECK_INT(store_cred_generation(s), g0);          /* adding users is no change */

	CHECK_INT(store_user_get(s, "bob", &u), STORE_OK);
	CHECK_STR(u.timezone, "Europe/Berlin");
	int64_t id = 0, id2 = 0;
	unsigned char h3[TOKEN_HASH_LEN];
	auth_token_hash("tok-3", h3);
	auth_token_hash("tok-1", h);
	auth_token_hash("tok-2", h2);
	CHECK_INT(store_device_add(s, u.id, "phone", h, "", &id), STORE_OK);
	CHECK(id > 0);
	int64_t g1 = store_cred_generation(s);
	CHECK(g1 > g0);
	CHECK_INT(store_device_add(s, u.id, "phone", h2, NULL, &id2), STORE_EXISTS);
	CHECK_INT(store_device_add(s, u.id, "car", h, NULL, &id2), STORE_EXISTS);   /* token */
	CHECK_INT(store_device_add(s, u.id, "car", h2, "123456", &id2), STORE_OK);
	CHECK_INT(store_device_add(s, 999999, "x", h3, NULL, NULL), STORE_NOTFOUND);
	CHECK_INT(store_device_by_token(s, h, &d), STORE_OK);
	CHECK_INT(d.id, id);
	CHECK_STR(d.user, "bob");
	CHECK_STR(d.name, "phone");
	CHECK_STR(d.ident, "");
	CHECK_INT(store_device_by_ident(s, "123456", &d), STORE_OK);
	CHECK_INT(d.id, id2);
	CHECK_INT(store_device_by_ident(s, "", &d), STORE_NOTFOUND);
	CHECK_INT(store_device_get(s, u.id, "car", &d), STORE_OK);
	CHECK_INT(store_device_by_id(s, 424242, &d), STORE_NOTFOUND);
	CHECK_INT(store_device_rename(s, id2, "phone"), STORE_EXISTS);
	CHECK_INT(store_device_rename(s, id2, "auto"), STORE_OK);
	CHECK_INT(store_device_rename(s, 424242, "auto"), STORE_NOTFOUND);
	int64_t g2 = store_cred_generation(s);
	CHECK_INT(store_device_set_token(s, id, h3), STORE_OK);
	CHECK(store_cred_generation(s) > g2);
	CHECK_INT(store_device_by_token(s, h, &d), STORE_NOTFOUND);
	CHECK_INT(store_device_by_token(s, h3, &d), STORE_OK);
	memset(&n, 0, sizeof n);
	CHECK_INT(store_device_list(s, 0, collect_dev, &n), STORE_OK);
	CHECK_STR(n.buf, "bob/auto,bob/phone,");
	CHECK_INT(store_device_del(s, id2), STORE_OK);
	CHECK_INT(store_device_del(s, id2), STORE_NOTFOUND);
	int64_t g3 = store_cred_generation(s);
	CHECK_INT(store_user_del(s, "bob"), STORE_OK);
	CHECK(store_cred_generation(s) > g3);
	CHECK_INT(store_device_by_id(s, id, &d), STORE_NOTFOUND);
	CHECK_INT(store_user_del(s, "bob"), STORE_NOTFOUND);
	char err[512];
	/* A backup is pg_dump's. */
	CHECK_INT(store_backup(s, "/tmp/never-written.db"), STORE_ERR);
	CHECK(strstr(store_errmsg(s), "pg_dump") != NULL);
	CHECK(access("/tmp/never-written.db", F_OK) != 0);
	store_close(s);
	(void)err;
}

struct sess_seen { int n; int64_t created; };

static void sess_cb(void *ctx, const unsigned char id_hash[TOKEN_HASH_LEN], int64_t created_ms)
{
	struct sess_seen *ss = ctx;
	(void)id_hash;
	ss->n++;
	ss->created = created_ms;
}

TEST(store_pg_sessions)
{
	struct store *s = pg_fresh();
	if (!s)
		return;
	struct user_rec u;
	struct session_rec r;
	unsigned char a[TOKEN_HASH_LEN], b[TOKEN_HASH_LEN], c[TOKEN_HASH_LEN], x[TOKEN_HASH_LEN];
	char pw[PWHASH_LEN];
	auth_token_hash("sa", a);
	auth_token_hash("sb", b);
	auth_token_hash("sc", c);
	auth_token_hash("sx", x);
	CHECK_INT(store_user_add(s, "ann", "pw1"), STORE_OK);
	CHECK_INT(store_user_get(s, "ann", &u), STORE_OK);
	CHECK_INT(store_session_add(s, a, u.id, "csrf-a", 1000, 5000), STORE_OK);
	CHECK_INT(store_session_add(s, a, u.id, "csrf-a", 1000, 5000), STORE_EXISTS);
	CHECK_INT(store_session_add(s, b, u.id, "csrf-b", 2000, 9000), STORE_OK);
	CHECK_INT(store_session_add(s, c, u.id, "csrf-c", 3000, 9000), STORE_OK);
	CHECK_INT(store_session_add(s, x, 777777, "x", 3000, 9000), STORE_NOTFOUND);
	CHECK_INT(store_session_get(s, a, 4999, &r), STORE_OK);
	CHECK_STR(r.user, "ann");
	CHECK_STR(r.csrf, "csrf-a");
	CHECK_INT(r.created_ms, 1000);
	CHECK_INT(store_session_get(s, a, 5000, &r), STORE_NOTFOUND);
	CHECK_INT(store_session_touch(s, a, 6000), STORE_OK);
	CHECK_INT(store_session_get(s, a, 5000, &r), STORE_OK);
	struct sess_seen ss = { 0, 0 };
	CHECK_INT(store_user_creds(s, u.id, 5500, pw, sess_cb, &ss), STORE_OK);
	CHECK_STR(pw, "pw1");
	CHECK_INT(ss.n, 3);
	CHECK_INT(store_session_trim(s, u.id, 2), 1);    /* a, the oldest */
	CHECK_INT(store_session_get(s, a, 0, &r), STORE_NOTFOUND);
	CHECK_INT(store_session_purge(s, 9000), 2);
	CHECK_INT(store_session_add(s, a, u.id, "csrf-a", 1000, 50000), STORE_OK);
	CHECK_INT(store_session_del(s, a), STORE_OK);
	CHECK_INT(store_session_del(s, a), STORE_NOTFOUND);
	/* A new password signs out everywhere. */
	CHECK_INT(store_session_add(s, a, u.id, "csrf-a", 1000, 50000), STORE_OK);
	CHECK_INT(store_user_set_password(s, "ann", "pw2"), STORE_OK);
	CHECK_INT(store_session_get(s, a, 0, &r), STORE_NOTFOUND);
	ss.n = 0;
	CHECK_INT(store_user_creds(s, u.id, 0, pw, sess_cb, &ss), STORE_OK);
	CHECK_STR(pw, "pw2");
	CHECK_INT(ss.n, 0);
	CHECK_INT(store_user_creds(s, 777777, 0, pw, sess_cb, &ss), STORE_NOTFOUND);
	store_close(s);
}

struct walk { int n; int64_t last; int stop_at; char attrs[256]; int sorted; };

static int walk_cb(void *ctx, const struct fix *f)
{
	struct walk *w = ctx;
	if (w->n && f->time_ms <= w->last)
		w->sorted = 0;
	w->last = f->time_ms;
	if (f->attrs && w->n == 0)
		snprintf(w->attrs, sizeof w->attrs, "%s", f->attrs);
	w->n++;
	return w->stop_at && w->n == w->stop_at ? 42 : 0;
}

TEST(store_pg_fixes_batch)
{
	struct store *s = pg_fresh();
	if (!s)
		return;
	int64_t d1 = test_add_device(s, "u", "d1", "t1", NULL), d2 = test_add_device(s, "u", "d2", "t2", NULL);
	CHECK(d1 > 0 && d2 > 0);
	/* Exact doubles, optional values, attrs byte for byte (quotes,
	 * backslashes, braces, commas, multibyte), and one not UTF-8. */
	struct fix f[6];
	f[0] = test_fix(1700000000000, 52.520008123456789, 13.404954987654321);
	f[0].alt = 34.5;
	f[0].acc = 0.1;
	f[0].has = FIX_ALT | FIX_ACC;
	f[0].attrs = (char *)(uintptr_t)"{\"a\":\"q\\\"b\\\\c,{x}\",\"ü\":\"NULL\"}";
	f[1] = test_fix(1700000001000, -33.9, 151.2);
	f[2] = test_fix(1700000000000, 1, 1);          /* same time as f[0]: a duplicate */
	f[3] = test_fix(1700000000000, 2, 2);          /* of d2: not a duplicate */
	f[4] = test_fix(1700000002000, 3, 3);          /* device gone */
	f[5] = test_fix(1700000003000, 4, 4);
	f[5].attrs = (char *)(uintptr_t)"{\"x\":\"\xff\"}";
	const struct fix *fp[6] = { &f[0], &f[1], &f[2], &f[3], &f[4], &f[5] };
	int64_t ids[6] = { d1, d1, d1, d2, 999999, d1 };
	int ins[6];
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_put_fixes(s, ids, fp, 6, ins), STORE_OK);
	CHECK_INT(ins[0], 1);
	CHECK_INT(ins[1], 1);
	CHECK_INT(ins[2], 0);
	CHECK_INT(ins[3], 1);
	CHECK_INT(ins[4], -1);
	CHECK_INT(ins[5], 1);
	CHECK_INT(store_count(s, d1), 3);      /* seen inside the transaction */
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_count(s, d1), 3);
	CHECK_INT(store_count(s, d2), 1);
	CHECK_INT(store_count(s, 0), 4);
	/* Again: all duplicates, counts unchanged. */
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_put_fixes(s, ids, fp, 6, ins), STORE_OK);
	CHECK_INT(ins[0] + ins[1] + ins[2] + ins[3] + ins[5], 0);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_count(s, 0), 4);

	struct fix out;
	CHECK_INT(store_last_fix(s, d1, &out), STORE_OK);
	CHECK_INT(out.time_ms, 1700000003000);
	CHECK_STR(out.attrs, "{\"x\":\"\xef\xbf\xbd\"}");
	fix_free(&out);
	CHECK_INT(store_fix_first_in(s, d1, 0, INT64_MAX, &out), STORE_OK);
	CHECK(out.lat == 52.520008123456789 && out.lon == 13.404954987654321);
	CHECK(out.alt == 34.5 && out.acc == 0.1);
	CHECK_INT(out.has, FIX_ALT | FIX_ACC);
	CHECK_STR(out.attrs, f[0].attrs);
	fix_free(&out);
	CHECK_INT(store_fix_last_in(s, d1, 0, 1700000002500, &out), STORE_OK);
	CHECK_INT(out.time_ms, 1700000001000);
	CHECK(out.attrs == NULL);
	fix_free(&out);
	CHECK_INT(store_fix_first_in(s, d1, 1800000000000, INT64_MAX, &out), STORE_NOTFOUND);
	CHECK_INT(store_last_fix(s, 999999, &out), STORE_NOTFOUND);
	int64_t t = 0;
	CHECK_INT(store_fix_nth_last(s, d1, 0, INT64_MAX, 2, &t), STORE_OK);
	CHECK_INT(t, 1700000001000);
	CHECK_INT(store_fix_nth_last(s, d1, 0, INT64_MAX, 4, &t), STORE_NOTFOUND);

	/* put_fix alone is a transaction of its own; a gone device is NOTFOUND. */
	struct fix g = test_fix(1700000004000, 5, 5);
	int one = -5;
	CHECK_INT(store_put_fix(s, d1, &g, &one), STORE_OK);
	CHECK_INT(one, 1);
	CHECK_INT(store_put_fix(s, d1, &g, &one), STORE_OK);
	CHECK_INT(one, 0);
	CHECK_INT(store_put_fix(s, 999999, &g, &one), STORE_NOTFOUND);
	CHECK_INT(one, 0);
	CHECK_INT(store_count(s, d1), 4);

	struct walk w = { .sorted = 1 };
	CHECK_INT(store_fixes(s, d1, 0, INT64_MAX, walk_cb, &w), STORE_OK);
	CHECK_INT(w.n, 4);
	CHECK(w.sorted);
	CHECK_STR(w.attrs, f[0].attrs);

	/* History marks: from the earliest fix stored. */
	PGconn *c = admin();
	if (c) {
		char q[128];
		snprintf(q, sizeof q, "SELECT from_ms FROM history_dirty WHERE device_id = %lld",
		         (long long)d1);
		CHECK_INT(sql_int(c, q), 1700000000000);
		PQfinish(c);
	}
	/* A rollback takes the fixes and their counts back. */
	struct fix h = test_fix(1700000009000, 6, 6);
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_put_fix(s, d1, &h, &one), STORE_OK);
	CHECK_INT(one, 1);
	CHECK_INT(store_rollback(s), STORE_OK);
	CHECK_INT(store_count(s, d1), 4);
	CHECK_INT(store_fix_count_range(s, d1, 0, INT64_MAX, NULL), 4);
	store_close(s);
}

/* More fixes than one statement takes, in months with no table made yet,
 * walked in time order through the cursor in several fetches. */
TEST(store_pg_fixes_large)
{
	struct store *s = pg_fresh();
	if (!s)
		return;
	int64_t d = test_add_device(s, "u", "d", "t", NULL);
	enum { N = 10000 };
	struct fix *f = calloc(N, sizeof *f);
	const struct fix **fp = calloc(N, sizeof *fp);
	int64_t *ids = calloc(N, sizeof *ids);
	int *ins = calloc(N, sizeof *ins);
	if (!f || !fp || !ids || !ins)
		return;
	/* 2021-01-01 on, one fix every 20 minutes: about 4.5 months,
	 * written newest first. */
	for (int i = 0; i < N; i++) {
		f[i] = test_fix(1609459200000LL + (int64_t)(N - 1 - i) * 1200000, 10 + i * 1e-4, 20);
		fp[i] = &f[i];
		ids[i] = d;
	}
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_put_fixes(s, ids, fp, N, ins), STORE_OK);
	CHECK_INT(store_commit(s), STORE_OK);
	int sum = 0;
	for (int i = 0; i < N; i++)
		sum += ins[i];
	CHECK_INT(sum, N);
	CHECK_INT(store_count(s, d), N);
	struct walk w = { .sorted = 1 };
	CHECK_INT(store_fixes(s, d, 0, INT64_MAX, walk_cb, &w), STORE_OK);
	CHECK_INT(w.n, N);
	CHECK(w.sorted);
	struct walk w2 = { .sorted = 1, .stop_at = 2500 };
	CHECK_INT(store_fixes(s, d, 0, INT64_MAX, walk_cb, &w2), 42);
	CHECK_INT(w2.n, 2500);
	/* Inside a transaction the walk leaves it open and usable. */
	struct walk w3 = { .sorted = 1 };
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_fixes(s, d, 1609459200000LL, 1612137600000LL - 1, walk_cb, &w3), STORE_OK);
	CHECK_INT(w3.n, 31 * 72);
	CHECK_INT(store_commit(s), STORE_OK);
	PGconn *c = admin();
	if (c) {
		/* Each month in a table of its own, nothing in the default one. */
		CHECK_INT(sql_int(c, "SELECT count(*) FROM fixes_default"), 0);
		CHECK_INT(sql_int(c, "SELECT count(*) FROM fixes_2021_02"), 28 * 72);
		CHECK_INT(sql_int(c, "SELECT count(DISTINCT tableoid) FROM fixes"), 5);
		PQfinish(c);
	}
	free(f);
	free(fp);
	free(ids);
	free(ins);
	store_close(s);
}

/* Long attributes split a batch into several statements (a few MiB of
 * text each): every fix stored, attrs whole. Outside a transaction the
 * batch is still stored whole. */
TEST(store_pg_fixes_long_attrs)
{
	struct store *s = pg_fresh();
	if (!s)
		return;
	int64_t d = test_add_device(s, "u", "d", "t", NULL);
	enum { N = 200, LEN = 60000 };
	char *text = malloc(LEN + 1);
	struct fix f[N];
	const struct fix *fp[N];
	int64_t ids[N];
	int ins[N];
	if (!text)
		return;
	memset(text, 'x', LEN);
	memcpy(text, "{\"k\":\"", 6);
	memcpy(text + LEN - 2, "\"}", 2);
	text[LEN] = 0;
	for (int i = 0; i < N; i++) {
		f[i] = test_fix(1700000000000 + i, 1, 1);
		f[i].attrs = text;
		fp[i] = &f[i];
		ids[i] = d;
	}
	CHECK_INT(store_put_fixes(s, ids, fp, N, ins), STORE_OK);
	int sum = 0;
	for (int i = 0; i < N; i++)
		sum += ins[i];
	CHECK_INT(sum, N);
	CHECK_INT(store_count(s, d), N);
	struct fix out;
	CHECK_INT(store_last_fix(s, d, &out), STORE_OK);
	CHECK(out.attrs && strlen(out.attrs) == LEN && !strcmp(out.attrs, text));
	fix_free(&out);
	free(text);
	store_close(s);
}

/* A month whose fixes reached the default table (its table could not be
 * made) stays there; a batch is never failed by the month tables, inside
 * a transaction that has run statements either. */
TEST(store_pg_months_default)
{
	struct store *s = pg_fresh();
	if (!s)
		return;
	int64_t d = test_add_device(s, "u", "d", "t", NULL);
	PGconn *c = admin();
	if (!c)
		return;
	/* Fixes of 2019-05 put straight into the default table. */
	CHECK_INT(sql(c, "INSERT INTO fixes(device_id, time_ms, lat, lon) SELECT id, "
	                 "1557000000000, 1, 1 FROM devices"), 0);
	struct fix a = test_fix(1557000001000, 2, 2);      /* 2019-05 */
	struct fix b = test_fix(1546300800000, 3, 3);      /* 2019-01 */
	struct fix e = test_fix(946684799000, 4, 4);       /* 1999-12: too old for a table */
	int one;
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_put_fix(s, d, &a, &one), STORE_OK);
	CHECK_INT(one, 1);
	CHECK_INT(store_put_fix(s, d, &b, &one), STORE_OK);   /* made under a savepoint */
	CHECK_INT(one, 1);
	CHECK_INT(store_put_fix(s, d, &e, &one), STORE_OK);
	CHECK_INT(one, 1);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(sql_int(c, "SELECT count(*) FROM fixes_default"), 3);
	CHECK_INT(sql_int(c, "SELECT count(*) FROM fixes_2019_01"), 1);
	CHECK_INT(sql_int(c, "SELECT count(*) FROM pg_class WHERE relname = 'fixes_2019_05'"), 0);
	CHECK_INT(store_count(s, d), 3);   /* the row put behind its back is not counted */
	store_close(s);

	/* Next month's table is made by the writer a month early, whatever
	 * month its fixes are of. */
	char err[512], q[160];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	int y = tm.tm_year + 1900 + (tm.tm_mon == 11), m = tm.tm_mon == 11 ? 1 : tm.tm_mon + 2;
	snprintf(q, sizeof q, "DROP TABLE fixes_%04d_%02d", y, m);
	CHECK_INT(sql(c, q), 0);
	s = store_open(pg_url(), 0, err, sizeof err);
	CHECK(s != NULL);
	if (s) {
		struct fix g = test_fix(1557000002000, 2, 2);
		CHECK_INT(store_begin(s), STORE_OK);
		CHECK_INT(store_put_fix(s, d, &g, &one), STORE_OK);
		CHECK_INT(store_commit(s), STORE_OK);
		snprintf(q, sizeof q, "SELECT count(*) FROM pg_class WHERE relname = 'fixes_%04d_%02d'",
		         y, m);
		CHECK_INT(sql_int(c, q), 1);
		store_close(s);
	}
	PQfinish(c);
}

TEST(store_pg_delete)
{
	struct store *s = pg_fresh();
	if (!s)
		return;
	int64_t d = test_add_device(s, "u", "d", "t", NULL), d2 = test_add_device(s, "u", "d2", "t2", NULL);
	/* Fixes on both sides of the antimeridian and a demo day. */
	struct fix f[8];
	f[0] = test_fix(1000000, 10, 179.5);
	f[1] = test_fix(2000000, 10, -179.5);
	f[2] = test_fix(3000000, 10, 0);
	f[3] = test_fix(4000000, 50, 179.9);
	f[4] = test_fix(5000000, 10, 170);
	f[4].attrs = (char *)(uintptr_t)"{\"demo\":true}";
	f[5] = test_fix(6000000, 10, 170);
	f[5].attrs = (char *)(uintptr_t)"{\"demo\":tru";              /* not JSON */
	f[6] = test_fix(7000000, 10, 170);
	f[6].attrs = (char *)(uintptr_t)"{\"demo\":false}";
	f[7] = test_fix(8000000, 10, 170);
	f[7].attrs = (char *)(uintptr_t)"{\"demo\":true,\"n\":1}";
	const struct fix *fp[8];
	int64_t ids[8];
	int ins[8];
	for (int i = 0; i < 8; i++) {
		fp[i] = &f[i];
		ids[i] = i == 7 ? d2 : d;
	}
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_put_fixes(s, ids, fp, 8, ins), STORE_OK);
	CHECK_INT(store_commit(s), STORE_OK);
	double box[4] = { 179, 0, -179, 20 };       /* crosses the antimeridian */
	CHECK_INT(store_fix_count_range(s, d, 0, INT64_MAX, box), 2);
	double box2[4] = { -1, 0, 171, 20 };
	CHECK_INT(store_fix_count_range(s, d, 0, INT64_MAX, box2), 4);
	CHECK_INT(store_fix_count_range(s, d, 0, 3000000, NULL), 3);
	CHECK_INT(store_fix_delete_batch(s, d, 0, INT64_MAX, box, 1), 1);
	CHECK_INT(store_fix_delete_batch(s, d, 0, INT64_MAX, box, 100), 1);
	CHECK_INT(store_fix_delete_batch(s, d, 0, INT64_MAX, box, 100), 0);
	CHECK_INT(store_count(s, d), 5);
	CHECK_INT(store_demo_delete(s, d), 1);
	CHECK_INT(store_count(s, d), 4);
	CHECK_INT(store_demo_delete(s, 0), 1);     /* d2's */
	CHECK_INT(store_count(s, d2), 0);
	int del = -1;
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_fix_delete_at(s, d, 3000000, &del), STORE_OK);
	CHECK_INT(del, 1);
	CHECK_INT(store_fix_delete_at(s, d, 3000000, &del), STORE_OK);
	CHECK_INT(del, 0);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_count(s, d), 3);
	CHECK_INT(store_count(s, 0), 3);
	PGconn *c = admin();
	if (c) {
		char q[128];
		snprintf(q, sizeof q, "SELECT from_ms FROM history_dirty WHERE device_id = %lld",
		         (long long)d);
		CHECK_INT(sql_int(c, q), 1000000);
		PQfinish(c);
	}
	/* A device's deletion takes its fixes and count. */
	CHECK_INT(store_device_del(s, d), STORE_OK);
	CHECK_INT(store_count(s, 0), 0);
	store_close(s);
}

/* The server ends the store's connection (as a restart does): the next
 * call outside a transaction connects again; inside one it fails, the
 * rollback succeeds, and the store works again after it. */
TEST(store_pg_reconnect)
{
	struct store *s = pg_fresh();
	if (!s)
		return;
	int64_t d = test_add_device(s, "u", "d", "t", NULL);
	PGconn *c = admin();
	if (!c)
		return;
	const char *kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
	                   "WHERE application_name = 'mintrac' AND datname = current_database()";
	struct user_rec u;
	CHECK_INT(sql_int(c, kill), 1);
	CHECK_INT(store_user_get(s, "u", &u), STORE_OK);

	struct fix f = test_fix(1700000000000, 1, 1);
	const struct fix *fp = &f;
	int ins = 0;
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_put_fixes(s, &d, &fp, 1, &ins), STORE_OK);
	CHECK_INT(sql_int(c, kill), 1);
	CHECK_INT(store_commit(s), STORE_ERR);
	CHECK(strstr(store_errmsg(s), "connection") != NULL);
	CHECK_INT(store_rollback(s), STORE_OK);
	CHECK_INT(store_count(s, d), 0);        /* reconnected; nothing was committed */

	/* Broken mid-transaction: that transaction fails whole. */
	struct fix f2 = test_fix(1700000001000, 1, 1);
	const struct fix *fp2 = &f2;
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_put_fixes(s, &d, &fp, 1, &ins), STORE_OK);
	CHECK_INT(sql_int(c, kill), 1);
	CHECK_INT(store_put_fixes(s, &d, &fp2, 1, &ins), STORE_ERR);
	CHECK_INT(store_rollback(s), STORE_OK);
	CHECK_INT(store_count(s, d), 0);
	/* Broken while idle, before a transaction's first statement: the
	 * transaction runs on a new connection (the writer's next batch). */
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(sql_int(c, kill), 1);
	CHECK_INT(store_put_fixes(s, &d, &fp, 1, &ins), STORE_OK);
	CHECK_INT(ins, 1);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_count(s, d), 1);
	/* A walk of its own after a break: the same. */
	struct walk w = { .sorted = 1 };
	CHECK_INT(sql_int(c, kill), 1);
	CHECK_INT(store_fixes(s, d, 0, INT64_MAX, walk_cb, &w), STORE_OK);
	CHECK_INT(w.n, 1);
	PQfinish(c);
	store_close(s);
}

/* A read-only store reads and refuses to write. */
TEST(store_pg_readonly)
{
	char err[512];
	struct store *w = pg_fresh();
	if (!w)
		return;
	int64_t d = test_add_device(w, "u", "d", "t", NULL);
	store_close(w);
	struct store *s = store_open(pg_url(), STORE_READONLY, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	struct user_rec u;
	CHECK_INT(store_user_get(s, "u", &u), STORE_OK);
	struct fix f = test_fix(1700000000000, 1, 1);
	int one;
	CHECK_INT(store_put_fix(s, d, &f, &one), STORE_ERR);
	CHECK(strstr(store_errmsg(s), "read-only") != NULL);
	CHECK_INT(store_user_add(s, "v", "x"), STORE_ERR);
	store_close(s);
}
