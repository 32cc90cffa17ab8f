/* history_store.h's contract, the same checks on both backends (SQLite
 * always, PostgreSQL when MINTRAC_TEST_PG_URL names a database this test
 * may empty), and the engine and geodata cases of test_history_engine.c
 * and test_geo.c on PostgreSQL (store_cases.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/point.h"
#include "store/geo_store.h"
#include "store/history_store.h"
#include "store/store.h"
#include "store_cases.h"
#include "test.h"
#include "test_loc.h"

#define T0 INT64_C(1714521600000)     /* 2024-05-01T00:00:00Z */
#define NFIX 9000                     /* more than one page of history_pg.c's walk */

struct env {
	struct test_loc loc;
	struct store *s;
	struct store_hist *h;
	int64_t user_id, device_id;
};

static int env_open(struct env *e, int pg)
{
	memset(e, 0, sizeof *e);
	if (!(e->s = test_loc_open(&e->loc, pg)))
		return -1;
	struct user_rec u;
	unsigned char tok[TOKEN_HASH_LEN] = { 7 };
	if (store_user_add(e->s, "bert", "x") != STORE_OK ||
	    store_user_get(e->s, "bert", &u) != STORE_OK ||
	    store_device_add(e->s, u.id, "phone", tok, NULL, &e->device_id) != STORE_OK)
		return -1;
	e->user_id = u.id;
	e->h = store_hist_open(e->s);
	return 0;
}

static void env_close(struct env *e)
{
	store_hist_close(e->h);
	store_close(e->s);
	test_loc_remove(&e->loc);
}

/* ---- what is out of date, derivation counts ---- */

static void check_dirty(struct env *e)
{
	int64_t dev, from, seq, gen;
	CHECK_INT(store_hist_dirty_next(e->h, 0, &dev, &from, &seq), STORE_NOTFOUND);
	/* A mark for a device that is gone is no error, and the transaction
	 * it is in still commits. */
	CHECK_INT(store_begin(e->s), STORE_OK);
	CHECK_INT(store_hist_mark(e->h, e->device_id, T0 + 5000), STORE_OK);
	CHECK_INT(store_hist_mark(e->h, e->device_id + 1000, T0), STORE_OK);
	CHECK_INT(store_hist_mark(e->h, e->device_id, T0 + 3000), STORE_OK);
	CHECK_INT(store_hist_gen_bump(e->h, e->device_id, &gen), STORE_OK);
	CHECK_INT(gen, 1);
	/* A second object on the same store, in the same transaction. */
	struct store_hist *h2 = store_hist_open(e->s);
	CHECK_INT(store_hist_gen(h2, e->device_id, &gen), STORE_OK);
	CHECK_INT(gen, 1);
	CHECK_INT(store_hist_dirty_next(h2, 0, &dev, &from, &seq), STORE_OK);
	store_hist_close(h2);
	CHECK_INT(store_commit(e->s), STORE_OK);
	CHECK_INT(store_hist_dirty_next(e->h, 0, &dev, &from, &seq), STORE_OK);
	CHECK_INT(dev, e->device_id);
	CHECK_INT(from, T0 + 3000);
	CHECK_INT(seq, 2);
	CHECK_INT(store_hist_dirty_next(e->h, e->device_id, &dev, &from, &seq), STORE_NOTFOUND);
	/* Done up to an older change: the mark stays. */
	CHECK_INT(store_hist_dirty_done(e->h, e->device_id, 1), STORE_OK);
	CHECK_INT(store_hist_dirty_next(e->h, 0, &dev, &from, &seq), STORE_OK);
	CHECK_INT(store_hist_dirty_done(e->h, e->device_id, 2), STORE_OK);
	CHECK_INT(store_hist_dirty_next(e->h, 0, &dev, &from, &seq), STORE_NOTFOUND);
	CHECK_INT(store_hist_mark(e->h, e->device_id, INT64_MIN), STORE_OK);
	CHECK_INT(store_hist_dirty_next(e->h, 0, &dev, &from, &seq), STORE_OK);
	CHECK_INT(from, INT64_MIN);
	CHECK_INT(store_hist_dirty_done(e->h, e->device_id, seq), STORE_OK);
	CHECK_INT(store_hist_gen(e->h, e->device_id, &gen), STORE_OK);
	CHECK_INT(gen, 1);
	CHECK_INT(store_hist_gen_bump(e->h, e->device_id, &gen), STORE_OK);
	CHECK_INT(gen, 2);
	CHECK_INT(store_hist_gen(e->h, e->device_id + 1000, &gen), STORE_OK);
	CHECK_INT(gen, 0);
}

/* ---- fixes ---- */

struct walk {
	int64_t n, last, unknown_acc;
	int64_t stop_at;
	double lat_sum;
};

static int walk_cb(void *ctx, int64_t t, double lat, double lon, double acc)
{
	struct walk *w = ctx;
	(void)lon;
	if (w->n && t <= w->last)
		test_fail(__FILE__, __LINE__, "fix %lld after %lld", (long long)t, (long long)w->last);
	w->last = t;
	w->n++;
	w->unknown_acc += acc < 0;
	w->lat_sum += lat;
	return w->stop_at && w->n == w->stop_at ? 7 : 0;
}

static void check_fixes(struct env *e)
{
	CHECK_INT(store_begin(e->s), STORE_OK);
	for (int i = 0; i < NFIX; i++) {
		struct fix f;
		fix_init(&f);
		f.time_ms = T0 + (int64_t)i * 1000;
		f.lat = 0.1 * (i % 10);
		f.lon = 1.0 / 3;
		if (i % 2) {
			f.acc = 5;
			f.has |= FIX_ACC;
		}
		int ins;
		CHECK_INT(store_put_fix(e->s, e->device_id, &f, &ins), STORE_OK);
	}
	CHECK_INT(store_commit(e->s), STORE_OK);
	struct walk w = { 0 };
	CHECK_INT(store_hist_fixes(e->h, e->device_id, T0 + 1000, walk_cb, &w), STORE_OK);
	CHECK_INT(w.n, NFIX - 1);
	CHECK_INT(w.last, T0 + (NFIX - 1) * INT64_C(1000));
	CHECK_INT(w.unknown_acc, (NFIX - 1) / 2);
	/* Latitudes read back exactly: 0.1 * k sums as it was written. */
	double want = 0;
	for (int i = 1; i < NFIX; i++)
		want += 0.1 * (i % 10);
	CHECK(w.lat_sum == want);
	struct walk stop = { .stop_at = NFIX - 10 };
	CHECK_INT(store_hist_fixes(e->h, e->device_id, INT64_MIN, walk_cb, &stop), 7);
	CHECK_INT(stop.n, NFIX - 10);
}

/* ---- segments and quarters ---- */

struct segs {
	int n;
	struct seg_rec r[8];
	unsigned char parts[8][16];
	int stop_at;
};

static int seg_cb(void *ctx, const struct seg_rec *r)
{
	struct segs *s = ctx;
	if (s->n < 8) {
		s->r[s->n] = *r;
		if (r->parts_len <= sizeof s->parts[0] && r->parts_len)
			memcpy(s->parts[s->n], r->parts, r->parts_len);
		s->r[s->n].parts = NULL;
	}
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 9 : 0;
}

static struct segs segments(struct env *e, int64_t from, int64_t to)
{
	struct segs s = { 0 };
	CHECK_INT(store_hist_segments(e->h, e->device_id, from, to, seg_cb, &s), STORE_OK);
	return s;
}

struct qs {
	int n;
	int64_t q[16];
};

static int q_cb(void *ctx, int64_t q)
{
	struct qs *s = ctx;
	if (s->n < 16)
		s->q[s->n] = q;
	s->n++;
	return 0;
}

static struct qs quarters(struct env *e, int64_t from, int64_t to)
{
	struct qs s = { 0 };
	CHECK_INT(store_hist_quarters(e->h, e->device_id, from, to, q_cb, &s), STORE_OK);
	return s;
}

static void check_segments(struct env *e)
{
	static const unsigned char blob[6] = { 0, 1, 2, 'x', 0, 'z' };
	struct seg_rec stay = { .kind = SEG_STAY, .start_ms = 1000, .end_ms = 5000,
	                        .decided_ms = 6000, .nfix = 4, .lat = 0.1 + 0.2, .lon = 1.0 / 3,
	                        .duration_s = 4 };
	struct seg_rec trip = { .kind = SEG_TRIP, .start_ms = 5000, .end_ms = 9000,
	                        .decided_ms = 9000, .nfix = 5, .from_lat = 1e-300,
	                        .from_lon = -2.5, .to_lat = 3, .to_lon = M_PI,
	                        .distance = 123.456789012345678, .duration_s = 4, .avg_speed = 1,
	                        .max_speed = 2, .mode = 3, .gap = 1, .parts = blob,
	                        .parts_len = sizeof blob };
	struct seg_rec open = { .kind = SEG_STAY, .open = 1, .start_ms = 9000, .end_ms = 12000,
	                        .decided_ms = 12000, .nfix = 1, .lat = 1, .lon = 2,
	                        .duration_s = 3 };
	CHECK_INT(store_begin(e->s), STORE_OK);
	CHECK_INT(store_hist_put(e->h, e->device_id, &stay), STORE_OK);
	CHECK_INT(store_hist_put(e->h, e->device_id, &trip), STORE_OK);
	CHECK_INT(store_hist_put(e->h, e->device_id, &open), STORE_OK);
	trip.max_speed = 7.25;             /* put again: replaced */
	CHECK_INT(store_hist_put(e->h, e->device_id, &trip), STORE_OK);
	CHECK_INT(store_commit(e->s), STORE_OK);

	struct segs s = segments(e, INT64_MIN, INT64_MAX);
	CHECK_INT(s.n, 3);
	if (s.n == 3) {
		CHECK(s.r[0].lat == 0.1 + 0.2);
		CHECK(s.r[0].lon == 1.0 / 3);
		CHECK_INT(s.r[0].parts_len, 0);
		CHECK(s.r[1].from_lat == 1e-300);
		CHECK(s.r[1].to_lon == M_PI);
		CHECK(s.r[1].distance == 123.456789012345678);
		CHECK(s.r[1].max_speed == 7.25);
		CHECK_INT(s.r[1].mode, 3);
		CHECK_INT(s.r[1].gap, 1);
		CHECK_INT(s.r[1].nfix, 5);
		CHECK_INT(s.r[1].parts_len, sizeof blob);
		CHECK(!memcmp(s.parts[1], blob, sizeof blob));
		CHECK_INT(s.r[2].open, 1);
		CHECK_INT(s.r[2].kind, SEG_STAY);
	}
	/* The range's start: a segment that ends just as it begins is
	 * before it; one that starts there is in it. */
	s = segments(e, 5000, 5000);
	CHECK_INT(s.n, 1);
	CHECK_INT(s.r[0].kind, SEG_TRIP);
	s = segments(e, 4000, 4500);
	CHECK_INT(s.n, 1);
	CHECK_INT(s.r[0].start_ms, 1000);
	s = segments(e, 4000, 9000);
	CHECK_INT(s.n, 3);
	s = segments(e, 13000, 20000);
	CHECK_INT(s.n, 0);
	struct segs stop = { .stop_at = 2 };
	CHECK_INT(store_hist_segments(e->h, e->device_id, INT64_MIN, INT64_MAX, seg_cb, &stop), 9);

	int64_t start;
	CHECK_INT(store_hist_resume_point(e->h, e->device_id, 7000, &start), STORE_OK);
	CHECK_INT(start, 1000);
	CHECK_INT(store_hist_resume_point(e->h, e->device_id, 6000, &start), STORE_NOTFOUND);
	CHECK_INT(store_hist_clear_open(e->h, e->device_id), STORE_OK);
	CHECK_INT(segments(e, INT64_MIN, INT64_MAX).n, 2);

	CHECK_INT(store_begin(e->s), STORE_OK);
	for (int64_t q = -2; q < 5; q++)
		CHECK_INT(store_hist_quarter_put(e->h, e->device_id, q), STORE_OK);
	CHECK_INT(store_hist_quarter_put(e->h, e->device_id, 3), STORE_OK);   /* again: no error */
	CHECK_INT(store_commit(e->s), STORE_OK);
	struct qs q = quarters(e, -1, 3);
	CHECK_INT(q.n, 5);
	CHECK_INT(q.q[0], -1);
	CHECK_INT(q.q[4], 3);
	/* From a time inside quarter 2: that quarter stays (it has earlier
	 * fixes), later ones go, and so do segments starting from then. */
	CHECK_INT(store_hist_clear_from(e->h, e->device_id, 2 * 900000 + 5), STORE_OK);
	CHECK_INT(quarters(e, -10, 10).n, 5);
	CHECK_INT(segments(e, INT64_MIN, INT64_MAX).n, 2);
	CHECK_INT(store_hist_clear_from(e->h, e->device_id, 5000), STORE_OK);
	CHECK_INT(segments(e, INT64_MIN, INT64_MAX).n, 1);
	CHECK_INT(store_hist_clear_from(e->h, e->device_id, -900000 - 1), STORE_OK);
	CHECK_INT(quarters(e, -10, 10).n, 1);     /* quarter -2 holds the time */
	CHECK_INT(store_hist_clear_from(e->h, e->device_id, INT64_MIN), STORE_OK);
	CHECK_INT(quarters(e, -10, 10).n, 0);
	CHECK_INT(segments(e, INT64_MIN, INT64_MAX).n, 0);
}

/* ---- places ---- */

static double dist(double lat1, double lon1, double lat2, double lon2)
{
	return hypot(lat1 - lat2, lon1 - lon2) * 111000.0;
}

struct plist {
	int n;
	struct place_stat p[4];
};

static int place_cb(void *ctx, const struct place_stat *p)
{
	struct plist *l = ctx;
	if (l->n < 4)
		l->p[l->n] = *p;
	l->n++;
	return 0;
}

static struct plist places(struct env *e, int64_t user_id)
{
	struct plist l = { 0 };
	CHECK_INT(store_place_list(e->h, user_id, place_cb, &l), STORE_OK);
	return l;
}

static void put_stay(struct env *e, int64_t start, double lat, double lon)
{
	struct seg_rec r = { .kind = SEG_STAY, .start_ms = start, .end_ms = start + 1000,
	                     .decided_ms = start + 2000, .nfix = 2, .lat = lat, .lon = lon,
	                     .duration_s = 1 };
	CHECK_INT(store_hist_put(e->h, e->device_id, &r), STORE_OK);
}

static void check_places(struct env *e)
{
	struct place_rec p = { .user_id = e->user_id, .lat = 0.3, .lon = 1.0 / 3, .radius = 200,
	                       .created_ms = 77 }, got;
	snprintf(p.city, sizeof p.city, "Städtchen");
	snprintf(p.country, sizeof p.country, "DE");
	int64_t unnamed, home;
	CHECK_INT(store_begin(e->s), STORE_OK);
	CHECK_INT(store_place_add(e->h, &p, &unnamed), STORE_OK);
	put_stay(e, 1000, 0.3, 1.0 / 3);
	put_stay(e, 5000, 10, 10);
	CHECK_INT(store_commit(e->s), STORE_OK);
	CHECK_INT(store_place_get(e->h, e->user_id, unnamed, &got), STORE_OK);
	CHECK_INT(got.named, 0);
	CHECK_STR(got.name, "");
	CHECK_STR(got.city, "Städtchen");
	CHECK_STR(got.country_name, "");
	CHECK(got.lon == 1.0 / 3);
	CHECK_INT(got.created_ms, 77);
	CHECK_INT(store_place_get(e->h, e->user_id + 1, unnamed, &got), STORE_NOTFOUND);

	CHECK_INT(store_place_near(e->h, e->user_id, 0.3001, 1.0 / 3, dist, &got), STORE_OK);
	CHECK_INT(got.id, unnamed);
	CHECK_INT(store_place_near(e->h, e->user_id, 0.31, 1.0 / 3, dist, &got), STORE_NOTFOUND);
	CHECK_INT(store_place_near(e->h, e->user_id + 1, 0.3, 1.0 / 3, dist, &got), STORE_NOTFOUND);

	CHECK_INT(store_begin(e->s), STORE_OK);
	CHECK_INT(store_place_claim(e->h, e->user_id, unnamed, dist), 1);
	CHECK_INT(store_place_claim(e->h, e->user_id, unnamed, dist), 0);
	CHECK_INT(store_commit(e->s), STORE_OK);
	struct plist l = places(e, e->user_id);
	CHECK_INT(l.n, 1);
	CHECK_INT(l.p[0].visits, 1);
	CHECK_INT(l.p[0].first_ms, 1000);
	CHECK_INT(l.p[0].last_ms, 1000);

	/* A named place over the same spot takes the stay; the unnamed one,
	 * left without stays, goes. */
	p.named = 1;
	snprintf(p.name, sizeof p.name, "Home");
	p.radius = 500;
	CHECK_INT(store_begin(e->s), STORE_OK);
	CHECK_INT(store_place_add(e->h, &p, &home), STORE_OK);
	CHECK_INT(store_place_claim(e->h, e->user_id, home, dist), 1);
	CHECK_INT(store_commit(e->s), STORE_OK);
	CHECK_INT(store_place_get(e->h, e->user_id, unnamed, &got), STORE_NOTFOUND);
	/* A named place whose centre is farther does not take it from Home. */
	struct place_rec q = p;
	snprintf(q.name, sizeof q.name, "Shed");
	q.lat = 0.302;
	int64_t shed;
	CHECK_INT(store_place_add(e->h, &q, &shed), STORE_OK);
	CHECK_INT(store_place_claim(e->h, e->user_id, shed, dist), 0);
	CHECK_INT(store_place_delete(e->h, e->user_id, shed), STORE_OK);

	CHECK_INT(store_place_update(e->h, e->user_id, home, "Haus", 0), STORE_OK);
	CHECK_INT(store_place_get(e->h, e->user_id, home, &got), STORE_OK);
	CHECK_STR(got.name, "Haus");
	CHECK(got.radius == 500);
	CHECK_INT(store_place_update(e->h, e->user_id, home, NULL, 300.5), STORE_OK);
	CHECK_INT(store_place_get(e->h, e->user_id, home, &got), STORE_OK);
	CHECK_STR(got.name, "Haus");
	CHECK(got.radius == 300.5);
	CHECK_INT(store_place_update(e->h, e->user_id, home, "", 0), STORE_OK);
	CHECK_INT(store_place_get(e->h, e->user_id, home, &got), STORE_OK);
	CHECK_INT(got.named, 0);
	CHECK_INT(store_place_update(e->h, e->user_id + 1, home, "x", 0), STORE_NOTFOUND);
	CHECK_INT(store_place_update(e->h, e->user_id, home + 100, NULL, 5), STORE_NOTFOUND);

	/* Deleting leaves a tombstone: not listed, not got, but near finds it
	 * (its spot is not made a place again), and its stays lose it. */
	CHECK_INT(store_place_delete(e->h, e->user_id, home), STORE_OK);
	CHECK_INT(store_place_delete(e->h, e->user_id, home), STORE_NOTFOUND);
	CHECK_INT(store_place_get(e->h, e->user_id, home, &got), STORE_NOTFOUND);
	CHECK_INT(places(e, e->user_id).n, 0);
	CHECK_INT(store_place_near(e->h, e->user_id, 0.3, 1.0 / 3, dist, &got), STORE_OK);
	CHECK_INT(got.id, home);
	CHECK_INT(got.deleted, 1);
	CHECK_INT(got.named, 0);
	struct segs s = segments(e, INT64_MIN, INT64_MAX);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.r[0].place_id, 0);
}

static void contract(int pg)
{
	struct env e;
	if (env_open(&e, pg) < 0) {
		test_fail(__FILE__, __LINE__, "no store");
		env_close(&e);
		return;
	}
	check_dirty(&e);
	check_segments(&e);
	check_places(&e);
	check_fixes(&e);
	env_close(&e);
}

TEST(history_store_contract)
{
	contract(0);
}

TEST(history_store_contract_pg)
{
	if (test_pg_url("history_store_contract_pg"))
		contract(1);
}

/* ---- geodata reloaded while another connection reads ---- */

struct names {
	int n;
	char first[32];
};

static int name_cb(void *ctx, const struct geo_city_rec *c)
{
	struct names *nm = ctx;
	if (!nm->n++)
		snprintf(nm->first, sizeof nm->first, "%s", c->name);
	return 0;
}

static struct names cities(struct store_geo *g)
{
	struct names nm = { 0 };
	CHECK_INT(store_geo_cities_in(g, 0, 0, 2, 2, name_cb, &nm), STORE_OK);
	return nm;
}

static void load_one(struct store_geo *g, const char *name)
{
	CHECK_INT(store_geo_clear(g), STORE_OK);
	CHECK_INT(store_geo_put_city(g, name, "AA", 1, 1), STORE_OK);
}

/* A load not yet committed leaves other connections the old places, at
 * once: nothing it locks makes a lookup wait (on PostgreSQL the reader's
 * lock_timeout turns a wait into a failure instead of a hang). */
static void geo_reload(int pg)
{
	struct test_loc t;
	char err[256], loc2[sizeof t.loc + 64];
	struct store *s1 = test_loc_make(&t, pg) < 0 ? NULL
	                 : store_open(t.loc, STORE_CREATE, err, sizeof err);
	CHECK(s1 != NULL);
	if (!s1) {
		test_loc_remove(&t);
		return;
	}
	snprintf(loc2, sizeof loc2, "%s%s", t.loc, !pg ? "" : strchr(t.loc, '?')
	         ? "&options=-c%20lock_timeout%3D3000" : "?options=-c%20lock_timeout%3D3000");
	struct store_geo *g1 = store_geo_open(s1);
	CHECK_INT(store_begin(s1), STORE_OK);
	load_one(g1, "Old");
	CHECK_INT(store_commit(s1), STORE_OK);
	struct store *s2 = store_open(loc2, 0, err, sizeof err);
	CHECK(s2 != NULL);
	if (s2) {
		struct store_geo *g2 = store_geo_open(s2);
		CHECK_STR(cities(g2).first, "Old");
		CHECK_INT(store_begin(s1), STORE_OK);
		load_one(g1, "New");
		struct names nm = cities(g2);
		CHECK_INT(nm.n, 1);
		CHECK_STR(nm.first, "Old");
		CHECK_INT(store_commit(s1), STORE_OK);
		nm = cities(g2);
		CHECK_INT(nm.n, 1);
		CHECK_STR(nm.first, "New");
		store_geo_close(g2);
		store_close(s2);
	}
	store_geo_close(g1);
	store_close(s1);
	test_loc_remove(&t);
}

TEST(geo_reload_reads_old)
{
	geo_reload(0);
}

TEST(geo_reload_reads_old_pg)
{
	if (test_pg_url("geo_reload_reads_old_pg"))
		geo_reload(1);
}

/* The engine and geodata cases, on PostgreSQL. */
#define PG_CASE(name, fn)                           \
	TEST(name)                                  \
	{                                           \
		if (test_pg_url(#name))             \
			fn(1);                      \
	}

PG_CASE(history_engine_batches_equal_scratch_pg, hist_case_batches_equal_scratch)
PG_CASE(history_engine_late_fix_and_delete_pg, hist_case_late_fix_and_delete)
PG_CASE(history_engine_places_pg, hist_case_places)
PG_CASE(history_stats_local_days_pg, hist_case_stats_local_days)
PG_CASE(geo_lookup_nothing_loaded_pg, geo_case_nothing_loaded)
PG_CASE(geo_lookup_synthetic_pg, geo_case_synthetic)
PG_CASE(geodata_load_synthetic_pg, geodata_case_load)
