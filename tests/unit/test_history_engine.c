/* history/engine: what the store holds after fixes arrive in batches, late,
 * deleted, or derived by another process, is what one derivation of all
 * the fixes from scratch gives; stays get places. Each case runs on a real
 * store: SQLite in a temporary directory here, PostgreSQL in
 * test_history_pg.c (store_cases.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history/engine.h"
#include "history/stats.h"
#include "store/history_store.h"
#include "test.h"
#include "history_gen.h"
#include "store_cases.h"
#include "test_loc.h"

#define T0   INT64_C(1714521600000)     /* 2024-05-01T00:00:00Z */
#define HOUR (3600 * 1000)

struct tdb {
	struct test_loc loc;
	struct store *s;
	int64_t user_id, device_id;
};

static int tdb_open(struct tdb *t, int pg)
{
	memset(t, 0, sizeof *t);
	if (test_loc_make(&t->loc, pg) < 0)
		return -1;
	char err[256];
	t->s = store_open(t->loc.loc, STORE_CREATE, err, sizeof err);
	if (!t->s) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	struct user_rec u;
	unsigned char h[TOKEN_HASH_LEN] = { 1 };
	if (store_user_add(t->s, "anna", "x") != STORE_OK ||
	    store_user_get(t->s, "anna", &u) != STORE_OK ||
	    store_device_add(t->s, u.id, "phone", h, NULL, &t->device_id) != STORE_OK)
		return -1;
	t->user_id = u.id;
	return 0;
}

static void tdb_close(struct tdb *t)
{
	store_close(t->s);
	test_loc_remove(&t->loc);
}

static void put_fixes(struct tdb *t, const struct hist_fix *f, size_t n)
{
	CHECK_INT(store_begin(t->s), STORE_OK);
	for (size_t i = 0; i < n; i++) {
		struct fix x;
		fix_init(&x);
		x.time_ms = f[i].t_ms;
		x.lat = f[i].lat;
		x.lon = f[i].lon;
		if (f[i].acc >= 0) {
			x.acc = f[i].acc;
			x.has |= FIX_ACC;
		}
		int ins;
		CHECK_INT(store_put_fix(t->s, t->device_id, &x, &ins), STORE_OK);
	}
	CHECK_INT(store_commit(t->s), STORE_OK);
}

/* The stored segments, as the segmenter's structs. */
struct stored {
	struct seglist l;
	int64_t places[256];
	size_t nplaces;
};

static int collect(void *ctx, const struct seg_rec *r)
{
	struct stored *st = ctx;
	struct hist_segment g;
	memset(&g, 0, sizeof g);
	g.kind = r->kind == SEG_STAY ? HIST_STAY : HIST_TRIP;
	g.open = r->open;
	g.start_ms = r->start_ms;
	g.end_ms = r->end_ms;
	g.decided_ms = r->decided_ms;
	g.nfix = (uint64_t)r->nfix;
	g.lat = r->lat;
	g.lon = r->lon;
	g.from_lat = r->from_lat;
	g.from_lon = r->from_lon;
	g.to_lat = r->to_lat;
	g.to_lon = r->to_lon;
	g.distance = r->distance;
	g.duration_s = r->duration_s;
	g.avg_speed = r->avg_speed;
	g.max_speed = r->max_speed;
	g.mode = (enum hist_mode)r->mode;
	g.gap = r->gap;
	struct hist_part parts[512];
	g.nparts = hist_parts_decode(r->parts, r->parts_len, parts, 512);
	g.parts = parts;
	seglist_add(&st->l, &g);
	if (r->kind == SEG_STAY && st->nplaces < 256)
		st->places[st->nplaces++] = r->place_id;
	return 0;
}

static void read_stored(struct tdb *t, struct stored *st)
{
	memset(st, 0, sizeof *st);
	struct store_hist *h = store_hist_open(t->s);
	CHECK_INT(store_hist_segments(h, t->device_id, INT64_MIN, INT64_MAX, collect, st), STORE_OK);
	store_hist_close(h);
}

/* Stored == from scratch (stays' durations are the store's own). */
static void check_same(struct tdb *t, const struct hist_config *cfg, const struct hist_fix *f,
                       size_t n, const char *what)
{
	struct seglist want = { 0 };
	derive(cfg, f, n, &want);
	CHECK(want.n >= 3);
	struct stored got;
	read_stored(t, &got);
	int same = got.l.n == want.n;
	for (size_t i = 0; same && i < want.n; i++) {
		struct hist_segment w = want.s[i];
		if (w.kind == HIST_STAY)
			w.duration_s = (double)(w.end_ms - w.start_ms) / 1000.0;
		same = segment_same(&got.l.s[i], &w);
		if (!same)
			test_fail(__FILE__, __LINE__, "%s: segment %zu differs", what, i);
	}
	if (got.l.n != want.n)
		test_fail(__FILE__, __LINE__, "%s: %zu segments stored, %zu from scratch", what,
		          got.l.n, want.n);
	seglist_free(&want);
	seglist_free(&got.l);
}

static void day(struct gen *g)
{
	gen_init(g, T0, 7);
	gen_stay(g, 8 * 3600, 60);              /* home */
	gen_move(g, 3000, 0, 1.4, 5);           /* walk */
	gen_stay(g, 40 * 60, 10);               /* café */
	gen_move(g, 9000, 8000, 15, 1);         /* drive */
	gen_stay(g, 8 * 3600, 60);              /* work */
	gen_move(g, 0, 0, 18, 1);               /* drive home */
	gen_stay(g, 2 * 3600, 60);
}

static int run(struct hist_engine *e)
{
	int n = hist_engine_run(e);
	if (n < 0)
		fprintf(stderr, "engine: %s\n", hist_engine_errmsg(e));
	return n;
}

void hist_case_batches_equal_scratch(int pg)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct tdb t;
	if (tdb_open(&t, pg) < 0) {
		tdb_close(&t);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	struct gen g;
	day(&g);
	struct hist_engine *e = hist_engine_new(t.s, &cfg, NULL, NULL);
	/* Batches as a phone sends them, derived after each (path A). */
	size_t done = 0;
	int runs = 0;
	while (done < g.n) {
		size_t k = 1 + (done * 7919) % 400;
		if (done + k > g.n)
			k = g.n - done;
		put_fixes(&t, g.f + done, k);
		done += k;
		CHECK_INT(run(e), 1);
		runs++;
		if (runs % 10 == 0)
			check_same(&t, &cfg, g.f, done, "batches");
	}
	check_same(&t, &cfg, g.f, g.n, "all batches");
	CHECK_INT(run(e), 0);            /* nothing left to do */
	/* Home, café, work, home: the two home stays share a place. */
	struct stored st;
	read_stored(&t, &st);
	CHECK(st.nplaces >= 4);
	if (st.nplaces >= 4) {
		CHECK(st.places[0] != 0 && st.places[1] != 0 && st.places[2] != 0);
		CHECK(st.places[0] != st.places[1] && st.places[1] != st.places[2]);
		CHECK_INT(st.places[st.nplaces - 1], st.places[0]);
	}
	seglist_free(&st.l);
	hist_engine_free(e);
	gen_free(&g);
	tdb_close(&t);
}

void hist_case_late_fix_and_delete(int pg)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct tdb t;
	if (tdb_open(&t, pg) < 0) {
		tdb_close(&t);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	struct gen g;
	day(&g);
	/* All but every 50th fix of the day's second half, derived... */
	size_t half = g.n / 2;
	struct hist_fix *held = xmalloc(g.n * sizeof *held);
	size_t nheld = 0;
	struct hist_fix *now = xmalloc(g.n * sizeof *now);
	size_t nnow = 0;
	for (size_t i = 0; i < g.n; i++) {
		if (i > half && i % 50 == 0)
			held[nheld++] = g.f[i];
		else
			now[nnow++] = g.f[i];
	}
	put_fixes(&t, now, nnow);
	struct hist_engine *e = hist_engine_new(t.s, &cfg, NULL, NULL);
	CHECK_INT(run(e), 1);
	check_same(&t, &cfg, now, nnow, "before the late fixes");
	/* ... then the held ones arrive late, into past stays and trips. */
	put_fixes(&t, held, nheld);
	CHECK_INT(run(e), 1);
	check_same(&t, &cfg, g.f, g.n, "after the late fixes");
	/* Another process derives from scratch: this engine's segmenter is
	 * stale and it notices. */
	struct hist_engine *other = hist_engine_new(t.s, &cfg, NULL, NULL);
	struct store_hist *h = store_hist_open(t.s);
	CHECK_INT(store_hist_mark(h, t.device_id, INT64_MIN), STORE_OK);
	CHECK_INT(run(other), 1);
	struct gen g2;
	gen_init(&g2, g.f[g.n - 1].t_ms + 60000, 9);
	g2.x = g.x;
	g2.y = g.y;
	gen_stay(&g2, 3600, 60);
	put_fixes(&t, g2.f, g2.n);
	CHECK_INT(run(e), 1);
	struct hist_fix *all = xmalloc((g.n + g2.n) * sizeof *all);
	memcpy(all, g.f, g.n * sizeof *all);
	memcpy(all + g.n, g2.f, g2.n * sizeof *all);
	check_same(&t, &cfg, all, g.n + g2.n, "after another engine");
	/* Deleting fixes (the demo's way) re-derives what they were part of. */
	CHECK_INT(store_begin(t.s), STORE_OK);
	CHECK_INT(store_hist_mark(h, t.device_id, all[half].t_ms), STORE_OK);
	CHECK_INT(store_commit(t.s), STORE_OK);
	CHECK_INT(run(e), 1);
	check_same(&t, &cfg, all, g.n + g2.n, "after a mark");
	store_hist_close(h);
	hist_engine_free(other);
	hist_engine_free(e);
	free(all);
	free(held);
	free(now);
	gen_free(&g2);
	gen_free(&g);
	tdb_close(&t);
}

/* A place the user named keeps its name for stays derived later; a deleted
 * place's spot gets no new place. */
void hist_case_places(int pg)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct tdb t;
	if (tdb_open(&t, pg) < 0) {
		tdb_close(&t);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	struct gen g;
	day(&g);
	size_t half = g.n / 2;
	put_fixes(&t, g.f, half);
	struct hist_engine *e = hist_engine_new(t.s, &cfg, NULL, NULL);
	CHECK_INT(run(e), 1);
	struct stored st;
	read_stored(&t, &st);
	CHECK(st.nplaces >= 2);
	int64_t home = st.places[0], cafe = st.places[1];
	seglist_free(&st.l);
	struct store_hist *h = store_hist_open(t.s);
	CHECK_INT(store_place_update(h, t.user_id, home, "Home", 0), STORE_OK);
	CHECK_INT(store_place_delete(h, t.user_id, cafe), STORE_OK);
	struct place_rec p;
	CHECK_INT(store_place_get(h, t.user_id, cafe, &p), STORE_NOTFOUND);
	CHECK_INT(store_place_get(h, t.user_id + 1, home, &p), STORE_NOTFOUND);
	/* Everything from scratch, the rest of the day included. */
	put_fixes(&t, g.f + half, g.n - half);
	CHECK_INT(store_hist_mark(h, t.device_id, INT64_MIN), STORE_OK);
	CHECK_INT(run(e), 1);
	read_stored(&t, &st);
	CHECK_INT(st.places[0], home);
	CHECK_INT(st.places[1], 0);                   /* the café: deleted */
	CHECK_INT(st.places[st.nplaces - 1], home);
	CHECK_INT(store_place_get(h, t.user_id, home, &p), STORE_OK);
	CHECK_STR(p.name, "Home");
	seglist_free(&st.l);
	store_hist_close(h);
	hist_engine_free(e);
	gen_free(&g);
	tdb_close(&t);
}

/* Stats over local days: a trip across midnight counts in both days by its
 * parts; a stay over two days counts its city and country on both; days
 * are the user's zone's (Europe/Berlin: UTC+2 in summer). */
void hist_case_stats_local_days(int pg)
{
	struct tdb t;
	if (tdb_open(&t, pg) < 0) {
		tdb_close(&t);
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	struct store_hist *h = store_hist_open(t.s);
	CHECK_INT(store_begin(t.s), STORE_OK);
	struct place_rec p;
	memset(&p, 0, sizeof p);
	p.user_id = t.user_id;
	p.lat = 52.52;
	p.lon = 13.4;
	p.radius = 100;
	snprintf(p.city, sizeof p.city, "Berlin");
	snprintf(p.country, sizeof p.country, "DE");
	int64_t pid;
	CHECK_INT(store_place_add(h, &p, &pid), STORE_OK);
	/* 2024-05-01 21:30Z .. 22:30Z = 23:30 .. 00:30 in Berlin; four quarter
	 * hours of 1 km. */
	int64_t t0 = T0 + 21 * HOUR + 30 * 60000;
	struct hist_part parts[4];
	for (int i = 0; i < 4; i++)
		parts[i] = (struct hist_part){ t0 + i * HIST_PART_MS, 1000.0 };
	unsigned char blob[4 * HIST_PART_BYTES];
	hist_parts_encode(parts, 4, blob);
	struct seg_rec trip = { .kind = SEG_TRIP, .start_ms = t0, .end_ms = t0 + HOUR,
	                        .decided_ms = t0 + HOUR, .distance = 4000, .duration_s = 3600,
	                        .parts = blob, .parts_len = sizeof blob };
	struct seg_rec stay = { .kind = SEG_STAY, .start_ms = t0 + HOUR, .end_ms = t0 + 10 * HOUR,
	                        .decided_ms = t0 + 10 * HOUR, .lat = 52.52, .lon = 13.4,
	                        .place_id = pid };
	CHECK_INT(store_hist_put(h, t.device_id, &trip), STORE_OK);
	CHECK_INT(store_hist_put(h, t.device_id, &stay), STORE_OK);
	for (int64_t q = t0 / HIST_PART_MS; q < (t0 + 10 * HOUR) / HIST_PART_MS; q += 4)
		CHECK_INT(store_hist_quarter_put(h, t.device_id, q), STORE_OK);
	CHECK_INT(store_commit(t.s), STORE_OK);
	struct hist_stats st;
	char err[128];
	CHECK_INT(hist_stats(h, t.device_id, t.user_id, "Europe/Berlin", 2024, &st, err, sizeof err), 0);
	CHECK_INT(st.ndaily, 366);
	CHECK_INT(st.days, 2);
	CHECK(fabs(st.distance - 4000) < 1e-6);
	/* May 1 is day 121 (0-based) of 2024. */
	if (st.ndaily == 366) {
		CHECK_STR(st.daily[121].key, "2024-05-01");
		CHECK(fabs(st.daily[121].distance - 2000) < 1e-6);
		CHECK(fabs(st.daily[122].distance - 2000) < 1e-6);
	}
	CHECK_INT(st.ncountries, 1);
	CHECK_INT(st.ncities, 1);
	if (st.ncountries == 1 && st.ncities == 1) {
		CHECK_STR(st.countries[0].country, "DE");
		CHECK_INT(st.countries[0].days, 1);       /* the stay is on May 2 only, locally */
		CHECK_STR(st.cities[0].first, "2024-05-02");
	}
	hist_stats_free(&st);
	/* In UTC the trip is all on May 1. */
	CHECK_INT(hist_stats(h, t.device_id, t.user_id, "UTC", 2024, &st, err, sizeof err), 0);
	if (st.ndaily == 366) {
		CHECK(fabs(st.daily[121].distance - 4000) < 1e-6);
		CHECK(fabs(st.daily[122].distance) < 1e-6);
	}
	hist_stats_free(&st);
	CHECK_INT(hist_stats(h, t.device_id, t.user_id, "Mars/Base", 2024, &st, err, sizeof err), -2);
	store_hist_close(h);
	tdb_close(&t);
}

TEST(history_engine_batches_equal_scratch)
{
	hist_case_batches_equal_scratch(0);
}

TEST(history_engine_late_fix_and_delete)
{
	hist_case_late_fix_and_delete(0);
}

TEST(history_engine_places)
{
	hist_case_places(0);
}

TEST(history_stats_local_days)
{
	hist_case_stats_local_days(0);
}
