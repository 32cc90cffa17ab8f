/* What the webapp processes share through the store (store.h): token
 * buckets, trust, import jobs, and throttle.h's shared variant on them.
 * Each case runs on SQLite, and on PostgreSQL when MINTRAC_TEST_PG_URL
 * names a database this test may empty. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "webapp/throttle.h"
#include "test.h"
#include "test_loc.h"

#define T0 INT64_C(1714521600000)     /* 2024-05-01T00:00:00Z */

struct env {
	struct test_loc loc;
	struct store   *s;
	int64_t         user_id;
};

static int env_open(struct env *e, int pg)
{
	memset(e, 0, sizeof *e);
	if (!(e->s = test_loc_open(&e->loc, pg)))
		return -1;
	struct user_rec u;
	if (store_user_add(e->s, "anna", "x") != STORE_OK ||
	    store_user_get(e->s, "anna", &u) != STORE_OK)
		return -1;
	e->user_id = u.id;
	return 0;
}

static void env_close(struct env *e)
{
	store_close(e->s);
	test_loc_remove(&e->loc);
}

static int count_cb(void *ctx, int n, const struct store_val *v)
{
	(void)n, (void)v;
	++*(int *)ctx;
	return 0;
}

static int rows(struct store *s, const char *table)
{
	int n = 0;
	if (store_rows(s, table, "key", count_cb, &n) != STORE_OK)
		return -1;
	return n;
}

static int64_t take(struct store *s, const struct store_bucket *b, size_t n, int64_t now)
{
	int64_t wait = -1;
	if (store_bucket_take(s, b, n, now, &wait) != STORE_OK)
		return -1;
	return wait;
}

static void buckets_case(int pg)
{
	struct env e;
	if (env_open(&e, pg) < 0) {
		env_close(&e);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	struct store_bucket a = { "a", 3, 1000 }, b = { "b", 2, 60000 };
	struct store_bucket ab[] = { b, a };
	for (int i = 0; i < 3; i++)
		CHECK_INT(take(e.s, &a, 1, T0), 0);
	CHECK_INT(rows(e.s, "throttle_buckets"), 1);
	CHECK_INT(take(e.s, &a, 1, T0), 1000);
	CHECK_INT(take(e.s, &a, 1, T0 + 250), 750);
	/* All or nothing: b is not touched while a is empty. */
	CHECK_INT(take(e.s, ab, 2, T0 + 250), 750);
	CHECK_INT(rows(e.s, "throttle_buckets"), 1);
	/* One token a period comes back. */
	CHECK_INT(take(e.s, ab, 2, T0 + 1000), 0);
	CHECK_INT(take(e.s, &a, 1, T0 + 1000), 1000);
	CHECK_INT(take(e.s, &b, 1, T0 + 1000), 0);
	CHECK_INT(take(e.s, &b, 1, T0 + 1000), 60000);
	/* Given back: never past burst, and a bucket full again has no row. */
	CHECK_INT(store_bucket_give(e.s, ab, 2, T0 + 1000), STORE_OK);
	CHECK_INT(take(e.s, &a, 1, T0 + 1000), 0);
	CHECK_INT(store_bucket_give(e.s, &b, 1, T0 + 1000), STORE_OK);
	CHECK_INT(store_bucket_give(e.s, &b, 1, T0 + 1000), STORE_OK);
	CHECK_INT(rows(e.s, "throttle_buckets"), 1);
	/* Purged once full again by time alone. */
	CHECK_INT(store_bucket_purge(e.s, T0 + 1500), 0);
	CHECK_INT(store_bucket_purge(e.s, T0 + 4000), 1);
	CHECK_INT(rows(e.s, "throttle_buckets"), 0);
	/* More than the buckets a take may hold, or a bad one: refused. */
	struct store_bucket four[] = { a, b, { "c", 1, 1 }, { "d", 1, 1 } };
	CHECK_INT(store_bucket_take(e.s, four, 4, T0, &(int64_t){ 0 }), STORE_ERR);
	struct store_bucket bad = { "e", 0, 1000 };
	CHECK_INT(store_bucket_take(e.s, &bad, 1, T0, &(int64_t){ 0 }), STORE_ERR);

	/* Trust until a time, later ones only. */
	CHECK_INT(store_trust_get(e.s, "anna\n1.2.3.4", T0), STORE_NOTFOUND);
	CHECK_INT(store_trust_set(e.s, "anna\n1.2.3.4", T0 + 600000), STORE_OK);
	CHECK_INT(store_trust_set(e.s, "anna\n1.2.3.4", T0 + 1000), STORE_OK);
	CHECK_INT(store_trust_get(e.s, "anna\n1.2.3.4", T0 + 599999), STORE_OK);
	CHECK_INT(store_trust_get(e.s, "anna\n1.2.3.4", T0 + 600000), STORE_NOTFOUND);
	CHECK_INT(store_bucket_purge(e.s, T0 + 599999), 0);
	CHECK_INT(store_bucket_purge(e.s, T0 + 600000), 1);
	CHECK_INT(rows(e.s, "throttle_trust"), 0);
	env_close(&e);
}

TEST(store_shared_buckets)
{
	buckets_case(0);
}

TEST(store_shared_buckets_pg)
{
	if (test_pg_url("store_shared_buckets_pg"))
		buckets_case(1);
}

/* ---- two connections taking the last tokens at once ---- */

#define RACE_BURST 40
#define RACE_TRIES 30

struct racer {
	const char *loc;
	int         got;
	int         errors;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char err[256];
	struct store *s = store_open(r->loc, 0, err, sizeof err);
	if (!s) {
		r->errors++;
		return NULL;
	}
	/* Two buckets in opposite orders from the two sides: locked in key
	 * order, they never deadlock. */
	struct store_bucket b[] = { { "x", RACE_BURST, 3600000 }, { "y", 1000, 3600000 } };
	struct store_bucket rb[] = { b[1], b[0] };
	for (int i = 0; i < RACE_TRIES; i++) {
		int64_t wait;
		if (store_bucket_take(s, (r->got + i) & 1 ? rb : b, 2, T0, &wait) != STORE_OK)
			r->errors++;
		else if (wait == 0)
			r->got++;
	}
	store_close(s);
	return NULL;
}

static void race_case(int pg)
{
	struct env e;
	if (env_open(&e, pg) < 0) {
		env_close(&e);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	struct racer r[2] = { { e.loc.loc, 0, 0 }, { e.loc.loc, 0, 0 } };
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&th[i], NULL, race, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(r[0].errors + r[1].errors, 0);
	CHECK_INT(r[0].got + r[1].got, RACE_BURST);
	env_close(&e);
}

TEST(store_shared_buckets_race)
{
	race_case(0);
}

TEST(store_shared_buckets_race_pg)
{
	if (test_pg_url("store_shared_buckets_race_pg"))
		race_case(1);
}

/* ---- import jobs ---- */

struct seen {
	int     n;
	int64_t id[16];
	int     running[16];
	char    json[16][32];
};

static int seen_cb(void *ctx, const struct store_import_rec *r)
{
	struct seen *s = ctx;
	if (s->n < 16) {
		s->id[s->n] = r->id;
		s->running[s->n] = r->running;
		snprintf(s->json[s->n], sizeof s->json[0], "%s", r->json);
	}
	s->n++;
	return 0;
}

static void imports_case(int pg)
{
	struct env e;
	if (env_open(&e, pg) < 0) {
		env_close(&e);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	struct user_rec bob;
	CHECK_INT(store_user_add(e.s, "bob", "x"), STORE_OK);
	CHECK_INT(store_user_get(e.s, "bob", &bob), STORE_OK);
	int64_t id1 = 0, id2 = 0, id3 = 0, idb = 0;
	CHECK_INT(store_import_add(e.s, e.user_id, T0, T0 - 30000, &id1), STORE_OK);
	struct seen s = { 0 };
	CHECK_INT(store_import_list(e.s, e.user_id, 0, seen_cb, &s), STORE_OK);
	CHECK_INT(s.n, 1);
	CHECK_STR(s.json[0], "");
	CHECK_INT(s.running[0], 1);
	/* One running job per user, and another user's is no matter. */
	CHECK_INT(store_import_add(e.s, e.user_id, T0 + 1000, T0 - 29000, &id2), STORE_EXISTS);
	CHECK_INT(store_import_add(e.s, bob.id, T0, T0 - 30000, &idb), STORE_OK);
	CHECK_INT(store_import_put(e.s, id1, 1, T0 + 5000, "{\"a\":1}"), STORE_OK);
	CHECK_INT(store_import_add(e.s, e.user_id, T0 + 34000, T0 + 4000, &id2), STORE_EXISTS);
	/* Not written for a while: its process is gone, the user goes on. */
	CHECK_INT(store_import_add(e.s, e.user_id, T0 + 36000, T0 + 6000, &id2), STORE_OK);
	CHECK(id2 > id1);
	CHECK_INT(store_import_put(e.s, id2, 0, T0 + 37000, "{\"b\":2}"), STORE_OK);
	CHECK_INT(store_import_add(e.s, e.user_id, T0 + 38000, T0 + 8000, &id3), STORE_OK);
	CHECK_INT(store_import_put(e.s, id3, 0, T0 + 39000, "{\"c\":3}"), STORE_OK);
	CHECK_INT(store_import_put(e.s, id3 + 100, 0, T0, "{}"), STORE_NOTFOUND);
	memset(&s, 0, sizeof s);
	CHECK_INT(store_import_list(e.s, e.user_id, 0, seen_cb, &s), STORE_OK);
	CHECK_INT(s.n, 3);
	CHECK_INT(s.id[0], id3);
	CHECK_INT(s.id[2], id1);
	CHECK_STR(s.json[1], "{\"b\":2}");
	/* One of them, and never another user's. */
	memset(&s, 0, sizeof s);
	CHECK_INT(store_import_list(e.s, e.user_id, id2, seen_cb, &s), STORE_OK);
	CHECK_INT(s.n, 1);
	CHECK_INT(s.running[0], 0);
	memset(&s, 0, sizeof s);
	CHECK_INT(store_import_list(e.s, bob.id, id2, seen_cb, &s), STORE_OK);
	CHECK_INT(s.n, 0);
	/* Keep the newest one that is not running: the stale one counts as
	 * not running; a live running one is kept whatever. */
	CHECK_INT(store_import_trim(e.s, e.user_id, 1, T0 + 6000), 2);
	memset(&s, 0, sizeof s);
	CHECK_INT(store_import_list(e.s, e.user_id, 0, seen_cb, &s), STORE_OK);
	CHECK_INT(s.n, 1);
	CHECK_INT(s.id[0], id3);
	CHECK_INT(store_import_trim(e.s, bob.id, 0, T0 - 30000), 0);
	/* A user's jobs go with the user. */
	CHECK_INT(store_user_del(e.s, "anna"), STORE_OK);
	memset(&s, 0, sizeof s);
	CHECK_INT(store_import_list(e.s, e.user_id, 0, seen_cb, &s), STORE_OK);
	CHECK_INT(s.n, 0);
	CHECK_INT(store_import_add(e.s, e.user_id, T0, T0, &id1), STORE_NOTFOUND);
	env_close(&e);
}

TEST(store_shared_imports)
{
	imports_case(0);
}

TEST(store_shared_imports_pg)
{
	if (test_pg_url("store_shared_imports_pg"))
		imports_case(1);
}

/* ---- throttle.h's shared variant: two webapps, one budget ---- */

static int let(struct throttle *t, const char *addr, const char *user)
{
	struct throttle_ticket tk;
	return throttle_take(t, addr, user, 0, &tk) == 0;
}

static void throttle_case(int pg)
{
	struct env e;
	if (env_open(&e, pg) < 0) {
		env_close(&e);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	char err[256];
	struct store *s2 = store_open(e.loc.loc, 0, err, sizeof err);
	CHECK(s2 != NULL);
	if (!s2) {
		env_close(&e);
		return;
	}
	struct throttle *w1 = throttle_new_shared(e.s, "signin");
	struct throttle *w2 = throttle_new_shared(s2, "signin");
	struct throttle *probes = throttle_new_shared(s2, "ident");
	/* The owner signs in from home first: that address is trusted. */
	struct throttle_ticket tk;
	CHECK_DBL(throttle_take(w1, "192.0.2.1", "anna", 0, &tk), 0);
	throttle_success(w1, "192.0.2.1", "anna", 0, &tk);
	/* Guesses alternately at both webapps from ever new addresses: one
	 * budget. */
	int n = 0;
	char addr[32];
	for (int i = 0; i < 3 * THROTTLE_USER_BURST; i++) {
		snprintf(addr, sizeof addr, "198.51.100.%d", i + 1);
		n += let(i & 1 ? w2 : w1, addr, "anna");
	}
	CHECK_INT(n, THROTTLE_USER_BURST);
	double w = throttle_take(w2, "198.51.100.200", "anna", 0, &tk);
	CHECK(w > THROTTLE_USER_PERIOD - 5 && w <= THROTTLE_USER_PERIOD);
	/* The trusted address has a budget of its own, at either webapp. */
	CHECK_INT(let(w2, "192.0.2.1", "anna"), 1);
	/* The address budget spans users (no user: a name that is none). */
	n = 0;
	for (int i = 0; i < 2 * THROTTLE_ADDR_BURST; i++)
		n += let(i & 1 ? w2 : w1, "203.0.113.9", NULL);
	CHECK_INT(n, THROTTLE_ADDR_BURST);
	/* A check not made gives its tokens back. */
	CHECK_DBL(throttle_take(w1, "203.0.113.10", "bert", 0, &tk), 0);
	throttle_cancel(w2, "203.0.113.10", "bert", 0, &tk);
	n = 0;
	for (int i = 0; i < 2 * THROTTLE_USER_BURST; i++)
		n += let(w1, "203.0.113.10", "bert");
	CHECK_INT(n, THROTTLE_USER_BURST);
	/* Another scope keeps apart. */
	CHECK_INT(let(probes, "198.51.100.1", "anna"), 1);
	CHECK(throttle_purge(w1) >= 0);
	throttle_free(w1);
	throttle_free(w2);
	throttle_free(probes);
	store_close(s2);
	env_close(&e);
}

TEST(throttle_shared_one_budget)
{
	throttle_case(0);
}

TEST(throttle_shared_one_budget_pg)
{
	if (test_pg_url("throttle_shared_one_budget_pg"))
		throttle_case(1);
}

/* A database of PostgreSQL schema 1 (before these tables) is brought up
 * to date by the next read-write open, its data kept. */
TEST(store_shared_pg_upgrade)
{
	const char *url = test_pg_url("store_shared_pg_upgrade");
	if (!url)
		return;
	struct env e;
	if (env_open(&e, 1) < 0) {
		env_close(&e);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	store_close(e.s);
	PGconn *c = PQconnectdb(url);
	PGresult *r = PQexec(c, "DROP TABLE throttle_buckets, throttle_trust, import_jobs;"
	                        "UPDATE mintrac_schema SET version = 1");
	CHECK_INT(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	char err[256];
	e.s = store_open(url, 0, err, sizeof err);
	CHECK(e.s != NULL);
	if (e.s) {
		struct user_rec u;
		CHECK_INT(store_user_get(e.s, "anna", &u), STORE_OK);
		int64_t id = 0;
		CHECK_INT(store_import_add(e.s, u.id, T0, T0, &id), STORE_OK);
		CHECK(id > 0);
	}
	r = PQexec(c, "SELECT version FROM mintrac_schema");
	CHECK_INT(PQresultStatus(r), PGRES_TUPLES_OK);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		CHECK_STR(PQgetvalue(r, 0, 0), "2");
	PQclear(r);
	PQfinish(c);
	env_close(&e);
}

/* ---- many fixes deleted at once (an import's undo) ---- */

static void delete_many_case(int pg)
{
	struct env e;
	if (env_open(&e, pg) < 0) {
		env_close(&e);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	unsigned char tok[TOKEN_HASH_LEN] = { 9 };
	int64_t dev = 0;
	CHECK_INT(store_device_add(e.s, e.user_id, "phone", tok, NULL, &dev), STORE_OK);
	CHECK_INT(store_begin(e.s), STORE_OK);
	for (int i = 0; i < 5; i++) {
		struct fix f = { .time_ms = T0 + i * 1000, .lat = 52.5, .lon = 13.4 };
		int ins = 0;
		CHECK_INT(store_put_fix(e.s, dev, &f, &ins), STORE_OK);
		CHECK_INT(ins, 1);
	}
	CHECK_INT(store_commit(e.s), STORE_OK);
	CHECK_INT(store_count(e.s, dev), 5);
	/* Three that are there, one that is not, one of a device that is not. */
	int64_t devs[] = { dev, dev, dev, dev, dev + 100 };
	int64_t times[] = { T0, T0 + 2000, T0 + 4000, T0 + 500, T0 };
	int64_t del = -1;
	CHECK_INT(store_begin(e.s), STORE_OK);
	CHECK_INT(store_fix_delete_many(e.s, devs, times, 5, &del), STORE_OK);
	CHECK_INT(store_commit(e.s), STORE_OK);
	CHECK_INT(del, 3);
	CHECK_INT(store_count(e.s, dev), 2);
	CHECK_INT(store_fix_count_range(e.s, dev, T0, T0 + 4000, NULL), 2);
	CHECK_INT(store_fix_delete_many(e.s, devs, times, 0, &del), STORE_OK);
	CHECK_INT(del, 0);
	env_close(&e);
}

TEST(store_fix_delete_many)
{
	delete_many_case(0);
}

TEST(store_fix_delete_many_pg)
{
	if (test_pg_url("store_fix_delete_many_pg"))
		delete_many_case(1);
}
