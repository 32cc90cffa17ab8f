/* History derivation (src/history): cleaning, stays and trips on synthetic
 * tracks with GPS noise, and the resume rule of segment.h (chunks, late
 * fixes, randomized tracks) giving exactly what one run from scratch
 * gives. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "history/clean.h"
#include "history/hist.h"
#include "history/segment.h"
#include "history_gen.h"
#include "test.h"

#define T0 INT64_C(1718064000000)   /* 2024-06-11T00:00:00Z */
#define HOUR 3600.0

static size_t count_kind(const struct seglist *l, enum hist_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->s[i].kind == k;
	return n;
}

static const struct hist_segment *nth(const struct seglist *l, enum hist_kind k, size_t want)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->s[i].kind == k && want-- == 0)
			return &l->s[i];
	return NULL;
}

/* The segment list's own rules: in time order, each starting where the
 * previous ended, only the last open, closed stays at least stay_min,
 * distances and speeds sane, parts summing to the distance. */
static void check_invariants(const struct hist_config *cfg, const struct seglist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct hist_segment *g = &l->s[i];
		CHECK(g->end_ms >= g->start_ms);
		CHECK(g->open == (i + 1 == l->n));
		if (i)
			CHECK_INT(g->start_ms, l->s[i - 1].end_ms);
		if (i && g->kind == HIST_STAY)
			CHECK(l->s[i - 1].kind == HIST_TRIP);
		if (g->kind == HIST_STAY && !g->open)
			CHECK(g->end_ms - g->start_ms >= cfg->stay_min_ms);
		if (!g->open)
			CHECK(g->decided_ms > g->end_ms || (g->kind == HIST_TRIP && g->decided_ms >= g->end_ms));
		if (g->kind == HIST_TRIP) {
			CHECK(g->distance >= 0);
			CHECK(g->max_speed >= 0);
			CHECK(isfinite(g->avg_speed));
			double sum = 0;
			for (size_t k = 0; k < g->nparts; k++) {
				CHECK(g->parts[k].distance > 0);
				CHECK(g->parts[k].start_ms % HIST_PART_MS == 0);
				if (k)
					CHECK(g->parts[k].start_ms > g->parts[k - 1].start_ms);
				CHECK(g->parts[k].start_ms + HIST_PART_MS > g->start_ms);
				CHECK(g->parts[k].start_ms <= g->end_ms);
				sum += g->parts[k].distance;
			}
			CHECK(fabs(sum - g->distance) <= 1e-6 * (g->distance + 1));
		}
	}
}

static int same_lists(const struct seglist *a, const struct seglist *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!segment_same(&a->s[i], &b->s[i]))
			return 0;
	return 1;
}

/* ---- cleaning ---- */

static int push_all(struct clean *c, const struct hist_fix *f, size_t n, struct hist_fix *out)
{
	int k = 0;
	for (size_t i = 0; i < n; i++)
		k += clean_push(c, &f[i], &out[k]);
	k += clean_flush(c, &out[k]);
	return k;
}

TEST(history_clean_accuracy)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct clean c;
	clean_init(&c, &cfg);
	struct hist_fix f[] = {
		{ 1000, 52.5, 13.4, 10 }, { 2000, 52.5, 13.4, 500 }, { 3000, 52.5, 13.4, 500.5 },
		{ 4000, 52.5, 13.4, -1 }, { 4000, 52.5, 13.4, 5 }, { 3500, 52.5, 13.4, 5 },
		{ 5000, 52.5, 13.4, 2000 },
	}, out[8];
	int k = push_all(&c, f, 7, out);
	CHECK_INT(k, 3);
	CHECK_INT(out[0].t_ms, 1000);
	CHECK_INT(out[1].t_ms, 2000);   /* exactly max_accuracy: kept */
	CHECK_INT(out[2].t_ms, 4000);   /* no accuracy: kept */
	CHECK_INT(c.dropped_accuracy, 2);
	CHECK_INT(c.dropped_order, 2);  /* a repeated time, a step back */
}

TEST(history_clean_spike)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct clean c;
	clean_init(&c, &cfg);
	double m = 1.0 / 111195.0;   /* a metre of latitude */
	/* still, then one fix 2 km off for one second at 1 Hz: a spike */
	struct hist_fix f[] = {
		{ 0, 52.5, 13.4, -1 }, { 1000, 52.5 + 5 * m, 13.4, -1 },
		{ 2000, 52.5 + 2000 * m, 13.4, -1 }, { 3000, 52.5 + 3 * m, 13.4, -1 },
		{ 4000, 52.5, 13.4, -1 },
	}, out[8];
	int k = push_all(&c, f, 5, out);
	CHECK_INT(k, 4);
	CHECK_INT(c.dropped_spike, 1);
	for (int i = 0; i < k; i++)
		CHECK(out[i].t_ms != 2000);

	/* the same out-and-back over 10 minutes (6.7 m/s) is a real one */
	clean_init(&c, &cfg);
	for (int i = 0; i < 5; i++)
		f[i].t_ms *= 300;
	CHECK_INT(push_all(&c, f, 5, out), 5);

	/* far from both neighbours, but they are far apart too: moving fast, kept */
	clean_init(&c, &cfg);
	struct hist_fix g[] = {
		{ 0, 52.5, 13.4, -1 }, { 1000, 52.5 + 1000 * m, 13.4, -1 }, { 2000, 52.5 + 2000 * m, 13.4, -1 },
	};
	CHECK_INT(push_all(&c, g, 3, out), 3);
}

/* ---- a commuter's day ---- */

/* home → walk → café → drive (a red light on the way) → work → drive →
 * home, with noise, one spike at the café and inaccurate fixes at work. */
static double commute_day_jitter(struct gen *g, double jitter, double *walk, double *drive1,
				 double *drive2)
{
	gen_init(g, T0, 42);
	g->jitter = jitter;
	gen_stay(g, 8 * HOUR, 60);                     /* home, a fix a minute */
	double p0 = g->path;
	gen_move(g, 800, 0, 1.4, 5);                   /* walk east, then north */
	gen_move(g, 800, 600, 1.4, 5);
	*walk = g->path - p0;
	gen_stay(g, 15 * 60, 10);                      /* café */
	gen_put(g, g->t, g->x + 3000, g->y, 10);       /* a spike 3 km east */
	g->t += 10000;
	gen_stay(g, 15 * 60, 10);
	p0 = g->path;
	gen_move(g, 800, 4000, 14, 1);                 /* drive north */
	gen_stay(g, 60, 1);                            /* red light */
	gen_move(g, 6000, 4000, 14, 1);
	gen_move(g, 9000, 8000, 20, 1);
	*drive1 = g->path - p0;
	for (int i = 0; i < 9 * 60; i++) {             /* work, 9 h at a fix a minute */
		gen_stay(g, 60, 60);
		if (i % 97 == 50)                          /* now and then far off and inaccurate */
			gen_put(g, g->t - 30000, g->x - 900, g->y + 700, 800);
	}
	p0 = g->path;
	gen_move(g, 9000, 0, 18, 1);
	gen_move(g, 0, 0, 15, 1);
	*drive2 = g->path - p0;
	gen_stay(g, 3 * HOUR, 60);                     /* home for the evening */
	return g->path;
}

static double commute_day(struct gen *g, double *walk, double *drive1, double *drive2)
{
	return commute_day_jitter(g, 15, walk, drive1, drive2);
}

TEST(history_commute_day)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	double walk, drive1, drive2;
	commute_day(&g, &walk, &drive1, &drive2);
	struct seglist l = { 0 };
	derive(&cfg, g.f, g.n, &l);
	check_invariants(&cfg, &l);

	CHECK_INT(count_kind(&l, HIST_STAY), 4);
	CHECK_INT(count_kind(&l, HIST_TRIP), 3);
	CHECK(l.n == 7 && l.s[0].kind == HIST_STAY);
	const struct hist_segment *t1 = nth(&l, HIST_TRIP, 0), *t2 = nth(&l, HIST_TRIP, 1),
				  *t3 = nth(&l, HIST_TRIP, 2);
	if (!t1 || !t2 || !t3 || l.n != 7)
		goto out;
	CHECK_STR(hist_mode_name(t1->mode), "walk");
	CHECK_STR(hist_mode_name(t2->mode), "drive");
	CHECK_STR(hist_mode_name(t3->mode), "drive");
	/* A trip starts at the last fix inside one stay and ends at the first
	 * inside the next: up to a stay radius short at each end. */
	double slack = 2 * cfg.stay_radius;
	CHECK(t1->distance > walk - slack && t1->distance < walk);
	CHECK(t2->distance > drive1 - slack && t2->distance < drive1 * 1.01);
	CHECK(t3->distance > drive2 - slack && t3->distance < drive2 * 1.01);
	CHECK(!t1->gap && !t2->gap && !t3->gap);
	CHECK(t2->max_speed > 19 && t2->max_speed < 22);
	CHECK(t3->max_speed > 17.5 && t3->max_speed < 20);
	CHECK(t1->avg_speed > 1.0 && t1->avg_speed < 1.9);
	/* the stays: home at 0,0, the café, work, home again (open) */
	double m_lat = 1.0 / GEN_M_PER_DEG;
	CHECK(fabs(l.s[0].lat - GEN_LAT0) < 5 * m_lat);
	CHECK(fabs(l.s[2].lat - (GEN_LAT0 + 600 * m_lat)) < 10 * m_lat);
	CHECK(fabs(l.s[4].lat - (GEN_LAT0 + 8000 * m_lat)) < 10 * m_lat);
	CHECK(l.s[6].open && l.s[6].kind == HIST_STAY);
	CHECK_INT(l.s[6].end_ms, g.f[g.n - 1].t_ms);
	CHECK(hist_dist(t1->from_lat, t1->from_lon, l.s[0].lat, l.s[0].lon) < 1e-6);
	CHECK(hist_dist(t1->to_lat, t1->to_lon, l.s[2].lat, l.s[2].lon) < 30);
	/* the spike and the inaccurate fixes were cleaned away */
	struct clean cl;
	clean_init(&cl, &cfg);
	struct hist_fix out1;
	for (size_t i = 0; i < g.n; i++)
		clean_push(&cl, &g.f[i], &out1);
	CHECK_INT(cl.dropped_spike, 1);
	CHECK_INT(cl.dropped_accuracy, 6);
	CHECK_INT(cl.dropped_order, 0);

	/* Jitter while parked adds nothing: the same day with still fixes
	 * exact (the moving ones are the same) has the same trips, give or
	 * take a few metres where a trip meets a stay. */
	struct gen g0;
	struct seglist l0 = { 0 };
	commute_day_jitter(&g0, 0, &walk, &drive1, &drive2);
	derive(&cfg, g0.f, g0.n, &l0);
	CHECK_INT(l0.n, 7);
	if (l0.n == 7)
		for (size_t i = 1; i < 7; i += 2)
			CHECK(fabs(l0.s[i].distance - l.s[i].distance) < 0.01 * l.s[i].distance + 50);
	seglist_free(&l0);
	gen_free(&g0);
out:
	seglist_free(&l);
	gen_free(&g);
}

TEST(history_jitter_only)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	gen_init(&g, T0, 7);
	g.jitter = 40;   /* worse than the day's ±15 m, still inside the radius mostly */
	gen_stay(&g, 24 * HOUR, 5);
	struct seglist l = { 0 };
	derive(&cfg, g.f, g.n, &l);
	CHECK_INT(l.n, 1);
	CHECK(l.n == 1 && l.s[0].kind == HIST_STAY && l.s[0].open);
	seglist_free(&l);
	gen_free(&g);
}

/* Indoors a phone may sit 160 m off for minutes, saying so (acc 120): no
 * trip. The same fixes claiming 10 m accuracy are a real out-and-back
 * (4.5 minutes: no stay at the far end, one trip home to home). */
static size_t drift_trips(double acc)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	gen_init(&g, T0, 21);
	gen_stay(&g, HOUR, 30);
	for (int i = 0; i < 10; i++) {
		gen_put(&g, g.t, g.x + 160, g.y, acc);
		g.t += 30000;
	}
	gen_stay(&g, HOUR, 30);
	struct seglist l = { 0 };
	derive(&cfg, g.f, g.n, &l);
	check_invariants(&cfg, &l);
	size_t n = count_kind(&l, HIST_TRIP);
	seglist_free(&l);
	gen_free(&g);
	return n;
}

TEST(history_indoor_drift)
{
	CHECK_INT(drift_trips(120), 0);
	CHECK_INT(drift_trips(10), 1);   /* out and back, too short for a stay there */
}

TEST(history_silent_at_home)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	gen_init(&g, T0, 9);
	gen_stay(&g, 2 * 60, 30);   /* less than stay_min before the silence */
	gen_silence(&g, 6 * HOUR);
	gen_stay(&g, HOUR, 60);
	gen_silence(&g, 5 * HOUR);
	gen_stay(&g, 60, 60);
	struct seglist l = { 0 };
	derive(&cfg, g.f, g.n, &l);
	CHECK_INT(l.n, 1);
	CHECK_INT(count_kind(&l, HIST_TRIP), 0);
	if (l.n == 1) {
		CHECK_INT(l.s[0].start_ms, T0);
		CHECK_INT(l.s[0].end_ms, g.f[g.n - 1].t_ms);
	}
	seglist_free(&l);
	gen_free(&g);
}

TEST(history_gap_while_driving)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	gen_init(&g, T0, 11);
	gen_stay(&g, HOUR, 30);
	gen_move(&g, 5000, 0, 15, 1);
	double gx = 25000;               /* 20 min without fixes, still driving */
	gen_silence(&g, 20 * 60);
	g.path += gx - g.x;
	g.x = gx;
	gen_move(&g, 30000, 0, 15, 1);
	gen_stay(&g, HOUR, 30);
	struct seglist l = { 0 };
	derive(&cfg, g.f, g.n, &l);
	check_invariants(&cfg, &l);
	CHECK_INT(count_kind(&l, HIST_TRIP), 1);
	CHECK_INT(count_kind(&l, HIST_STAY), 2);
	const struct hist_segment *t = nth(&l, HIST_TRIP, 0);
	if (t) {
		CHECK(!t->gap);
		CHECK(t->nfix > 100);
		CHECK(t->distance > 29700 && t->distance < 30300);
		CHECK_STR(hist_mode_name(t->mode), "drive");
	}
	seglist_free(&l);
	gen_free(&g);
}

TEST(history_gap_between_stays)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	gen_init(&g, T0, 13);
	gen_stay(&g, HOUR, 30);
	gen_silence(&g, 3 * HOUR);       /* phone off, moved 50 km */
	g.x = 50000;
	gen_stay(&g, HOUR, 30);
	struct seglist l = { 0 };
	derive(&cfg, g.f, g.n, &l);
	check_invariants(&cfg, &l);
	CHECK_INT(l.n, 3);
	const struct hist_segment *t = nth(&l, HIST_TRIP, 0);
	if (t) {
		CHECK(t->gap);
		CHECK_INT(t->nfix, 0);
		CHECK(fabs(t->distance - 50000) < 100);
		CHECK(t->duration_s > 3 * HOUR);
		CHECK_INT(t->mode, HIST_UNKNOWN);
	}
	seglist_free(&l);
	gen_free(&g);
}

TEST(history_open_trip)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	gen_init(&g, T0, 17);
	gen_stay(&g, HOUR, 30);
	gen_move(&g, 3000, 0, 12, 1);   /* still driving when the fixes end */
	struct seglist l = { 0 };
	derive(&cfg, g.f, g.n, &l);
	check_invariants(&cfg, &l);
	CHECK_INT(l.n, 2);
	if (l.n == 2) {
		CHECK(l.s[1].kind == HIST_TRIP && l.s[1].open && !l.s[1].gap);
		CHECK_INT(l.s[1].end_ms, g.f[g.n - 1].t_ms);
		CHECK(l.s[1].distance > 2800 && l.s[1].distance < 3100);
	}
	seglist_free(&l);
	gen_free(&g);
}

/* ---- resuming ---- */

/* The store's way: fixes arrive in chunks, each followed by the resume
 * rule; the result must equal one run over everything. */
TEST(history_resume_chunks)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	double a, b, c;
	commute_day(&g, &a, &b, &c);
	struct seglist whole = { 0 }, stored = { 0 };
	derive(&cfg, g.f, g.n, &whole);
	uint64_t seed = 99;
	size_t have = 0, fed = 0, rounds = 0;
	while (have < g.n) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		size_t k = 1 + (size_t)(seed >> 33) % 400;
		if (k > g.n - have)
			k = g.n - have;
		int64_t first_new = g.f[have].t_ms;
		have += k;
		fed += rederive(&cfg, &stored, g.f, have, first_new);
		rounds++;
	}
	CHECK(same_lists(&stored, &whole));
	/* resuming re-read only since the last closed stay, not the day */
	CHECK(fed < rounds * g.n / 2);
	seglist_free(&whole);
	seglist_free(&stored);
	gen_free(&g);
}

/* Way A of segment.h: one live segmenter, fixes pushed as batches come,
 * hist_seg_open after each. Closed segments plus the latest open one are,
 * after every batch, what a run over the fixes so far gives. */
struct live {
	struct seglist closed, open;
};

static void live_emit(void *ctx, const struct hist_segment *g)
{
	struct live *l = ctx;
	seglist_add(g->open ? &l->open : &l->closed, g);
}

static int live_matches(const struct live *l, const struct seglist *want)
{
	if (l->closed.n + l->open.n != want->n || l->open.n > 1)
		return 0;
	for (size_t i = 0; i < l->closed.n; i++)
		if (!segment_same(&l->closed.s[i], &want->s[i]))
			return 0;
	return l->open.n == 0 || segment_same(&l->open.s[0], &want->s[want->n - 1]);
}

TEST(history_live_batches)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	double a, b, c;
	commute_day(&g, &a, &b, &c);
	struct live live = { 0 };
	struct hist_seg *s = hist_seg_new(&cfg, live_emit, &live);
	uint64_t seed = 5;
	size_t have = 0, batches = 0, bad = 0;
	while (have < g.n) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		size_t k = 1 + (size_t)(seed >> 33) % 300;
		if (k > g.n - have)
			k = g.n - have;
		for (size_t i = have; i < have + k; i++)
			hist_seg_push(s, &g.f[i]);
		have += k;
		seglist_truncate(&live.open, 0);
		hist_seg_open(s);
		struct seglist want = { 0 };
		derive(&cfg, g.f, have, &want);
		bad += !live_matches(&live, &want);
		seglist_free(&want);
		batches++;
	}
	CHECK_INT(bad, 0);
	CHECK(batches > 10);
	CHECK_INT(live.closed.n, 6);
	CHECK_INT(live.open.n, 1);
	hist_seg_free(s);
	seglist_free(&live.closed);
	seglist_free(&live.open);
	gen_free(&g);
}

static void insert_fix(struct gen *g, const struct hist_fix *f)
{
	array_grow(&g->f, &g->cap, g->n + 1, sizeof(*g->f));
	size_t i = g->n;
	while (i > 0 && g->f[i - 1].t_ms > f->t_ms) {
		g->f[i] = g->f[i - 1];
		i--;
	}
	g->f[i] = *f;
	g->n++;
}

TEST(history_late_fix)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct gen g;
	double a, b, c;
	commute_day(&g, &a, &b, &c);
	struct seglist stored = { 0 }, whole = { 0 };
	derive(&cfg, g.f, g.n, &stored);
	const struct hist_segment *work = nth(&stored, HIST_STAY, 2);
	CHECK(work != NULL);
	if (!work)
		goto out;
	/* Late fixes land in the middle of the stay at work: first one near
	 * it (nothing changes), then three far off, which cut the stay in two
	 * with an out-and-back trip between. */
	int64_t mid = work->start_ms + (work->end_ms - work->start_ms) / 2 + 7;
	struct hist_fix near = { mid, work->lat, work->lon + 0.0001, 5 };
	insert_fix(&g, &near);
	rederive(&cfg, &stored, g.f, g.n, near.t_ms);
	derive(&cfg, g.f, g.n, &whole);
	CHECK(same_lists(&stored, &whole));
	CHECK_INT(count_kind(&stored, HIST_STAY), 4);

	for (int i = 1; i <= 3; i++) {
		struct hist_fix far = { mid + i * 10000, work->lat + 0.01, work->lon, 5 };
		insert_fix(&g, &far);
	}
	/* the stored list still has the old stay at work; the rule goes back
	 * to the café, the last closed stay decided before the first late fix */
	rederive(&cfg, &stored, g.f, g.n, mid + 10000);
	seglist_truncate(&whole, 0);
	derive(&cfg, g.f, g.n, &whole);
	CHECK(same_lists(&stored, &whole));
	CHECK_INT(count_kind(&stored, HIST_STAY), 5);
	check_invariants(&cfg, &stored);

	/* A late fix after the end of the stay at home but before the fixes
	 * that decided it had ended: back inside, it makes the first fix
	 * outside drift, so the stay ends later: the stored stay was decided
	 * after the late fix, so the rule re-derives it. */
	const struct hist_segment *home = &stored.s[0];
	size_t i = 0;
	while (g.f[i].t_ms <= home->end_ms)
		i++;
	struct hist_fix back = { g.f[i].t_ms + 1, home->lat, home->lon, 5 };
	CHECK(back.t_ms > home->end_ms && back.t_ms < home->decided_ms);
	int64_t old_end = home->end_ms;
	insert_fix(&g, &back);
	rederive(&cfg, &stored, g.f, g.n, back.t_ms);
	seglist_truncate(&whole, 0);
	derive(&cfg, g.f, g.n, &whole);
	CHECK(same_lists(&stored, &whole));
	CHECK_INT(stored.s[0].end_ms, back.t_ms);
	CHECK(stored.s[0].end_ms != old_end);

	/* Two late fixes a kilometre off a minute after arriving at the café,
	 * before the stay there had lasted stay_min: the arrival was not a
	 * stay yet, so the trip before it was not final either. A rule that
	 * resumed from the café's start (it is before the late fixes) would
	 * keep that trip and start another one at the café. */
	const struct hist_segment *cafe = nth(&stored, HIST_STAY, 1);
	CHECK(cafe != NULL);
	if (!cafe)
		goto out;
	int64_t late = cafe->start_ms + 60500;   /* between two fixes */
	struct hist_fix off1 = { late, cafe->lat + 0.009, cafe->lon, 5 };
	struct hist_fix off2 = { late + 1000, cafe->lat + 0.009, cafe->lon, 5 };
	size_t trips_before = count_kind(&stored, HIST_TRIP);
	insert_fix(&g, &off1);
	insert_fix(&g, &off2);
	rederive(&cfg, &stored, g.f, g.n, late);
	seglist_truncate(&whole, 0);
	derive(&cfg, g.f, g.n, &whole);
	CHECK(same_lists(&stored, &whole));
	CHECK_INT(count_kind(&stored, HIST_TRIP), trips_before);
	check_invariants(&cfg, &stored);
out:
	seglist_free(&stored);
	seglist_free(&whole);
	gen_free(&g);
}

/* Random tracks: stays of random length and sampling, moves at random
 * speeds, silences, spikes, inaccurate fixes; fed in random chunks with
 * random late fixes. Invariants hold and resuming equals scratch. */
TEST(history_randomized)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	for (uint64_t round = 1; round <= 30; round++) {
		struct gen g;
		gen_init(&g, T0, round * 7919);
		for (int leg = 0; leg < 40; leg++) {
			double r = (gen_noise(&g) + 1) / 2;
			if (r < 0.4) {
				gen_stay(&g, 30 + 3600 * (gen_noise(&g) + 1), 1 + 60 * (gen_noise(&g) + 1));
			} else if (r < 0.85) {
				double speed = 1 + 20 * (gen_noise(&g) + 1);
				gen_move(&g, g.x + 3000 * gen_noise(&g), g.y + 3000 * gen_noise(&g), speed,
					 1 + 5 * (gen_noise(&g) + 1));
			} else if (r < 0.93) {
				gen_silence(&g, 7200 * (gen_noise(&g) + 1));
				if (gen_noise(&g) > 0)
					g.x += 20000 * gen_noise(&g);
			} else {
				gen_put(&g, g.t, g.x + 5000 * gen_noise(&g), g.y, gen_noise(&g) > 0 ? 900 : 5);
				g.t += 1000;
			}
		}
		struct seglist whole = { 0 }, stored = { 0 };
		derive(&cfg, g.f, g.n, &whole);
		check_invariants(&cfg, &whole);

		/* the same fixes arriving in chunks, some late, as one list */
		size_t n = g.n;
		struct hist_fix *all = g.f;
		struct hist_fix *now = xmalloc((n + 1) * sizeof(*now));
		size_t have = 0;
		unsigned char *in = xcalloc(n, 1);
		size_t added = 0;
		while (added < n) {
			size_t k = 1 + (size_t)((gen_noise(&g) + 1) * 300);
			int64_t earliest = INT64_MAX;
			for (size_t j = 0; j < k && added < n; j++) {
				/* mostly the next fix in time; sometimes one left behind */
				size_t pick = 0;
				while (in[pick])
					pick++;
				if (gen_noise(&g) > 0.9) {
					size_t skip = (size_t)((gen_noise(&g) + 1) * 20);
					while (skip-- && pick + 1 < n) {
						pick++;
						while (pick < n - 1 && in[pick])
							pick++;
					}
					if (in[pick])
						for (pick = 0; in[pick]; pick++)
							;
				}
				in[pick] = 1;
				added++;
				if (all[pick].t_ms < earliest)
					earliest = all[pick].t_ms;
			}
			have = 0;
			for (size_t i = 0; i < n; i++)
				if (in[i])
					now[have++] = all[i];
			rederive(&cfg, &stored, now, have, earliest);
		}
		CHECK(same_lists(&stored, &whole));
		if (!same_lists(&stored, &whole))
			fprintf(stderr, "  round %llu: %zu vs %zu segments\n", (unsigned long long)round,
				stored.n, whole.n);
		free(in);
		free(now);
		seglist_free(&whole);
		seglist_free(&stored);
		gen_free(&g);
	}
}
