/* The reads the map's track is drawn from (store.h): store_fix_positions
 * and store_fix_first_many, and track_thin on them. Each case runs on
 * SQLite, and on PostgreSQL when MINTRAC_TEST_PG_URL names a database this
 * test may empty; the sampled track must come out the same on both, since
 * the two backends answer the same seeks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/track.h"
#include "test.h"
#include "test_loc.h"

#define T0    INT64_C(1706745600000)    /* 2024-02-01T00:00:00Z */
#define STEP  INT64_C(600000)           /* a fix every 10 minutes */
#define NFIX  13000                     /* about 90 days: four month tables */
#define LONG  (TRACK_FULL_MAX + 20000)  /* fixes of the track long enough to be sampled */

struct env {
	struct test_loc loc;
	struct store   *s;
	int64_t         dev, other, track;
};

static int put_many(struct store *s, int64_t dev, int n, int64_t t0, int64_t step, double wiggle)
{
	struct fix *f = calloc((size_t)n, sizeof *f);
	const struct fix **fp = calloc((size_t)n, sizeof *fp);
	int64_t *ids = calloc((size_t)n, sizeof *ids);
	int *ins = calloc((size_t)n, sizeof *ins);
	int rc = -1;
	if (f && fp && ids && ins) {
		for (int i = 0; i < n; i++) {
			/* A walk north with a sideways zigzag of varying width, so
			 * the thinned line has points to keep. */
			double lon = 11.5 + wiggle * ((i / 97) % 2 ? 1 : -1) * (double)(i % 97) / 97.0;
			f[i] = test_fix(t0 + (int64_t)i * step, 48.0 + i * 1e-5, lon);
			fp[i] = &f[i];
			ids[i] = dev;
		}
		rc = store_begin(s) == STORE_OK && store_put_fixes(s, ids, fp, (size_t)n, ins) == STORE_OK &&
		     store_commit(s) == STORE_OK ? 0 : -1;
	}
	free(f);
	free(fp);
	free(ids);
	free(ins);
	return rc;
}

static void env_close(struct env *e)
{
	if (e->s)
		store_close(e->s);
	test_loc_remove(&e->loc);
}

static int env_fill(struct env *e, int with_track)
{
	e->dev = test_add_device(e->s, "anna", "phone", "tok-phone", NULL);
	e->other = test_add_device(e->s, "anna", "watch", "tok-watch", NULL);
	if (!e->dev || !e->other)
		return -1;
	/* The other device's fixes sit between the first one's: no read may
	 * see them. */
	if (put_many(e->s, e->dev, NFIX, T0, STEP, 0.001) < 0 ||
	    put_many(e->s, e->other, NFIX, T0 + STEP / 2, STEP, 0.001) < 0)
		return -1;
	if (with_track) {
		e->track = test_add_device(e->s, "anna", "logger", "tok-logger", NULL);
		if (!e->track || put_many(e->s, e->track, LONG, T0, 1000, 0.01) < 0)
			return -1;
	}
	return 0;
}

/* The store with its devices and fixes: 0, or -1 with nothing left open. */
static int env_open(struct env *e, int pg, int with_track)
{
	memset(e, 0, sizeof *e);
	if (!(e->s = test_loc_open(&e->loc, pg)) || env_fill(e, with_track) < 0) {
		env_close(e);
		return -1;
	}
	return 0;
}

static void positions_case(int pg)
{
	struct env e;
	if (env_open(&e, pg, 0) < 0) {
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	struct fix_pos *v = calloc(NFIX + 1, sizeof *v);
	size_t n = 99;
	CHECK(v != NULL);
	if (!v) {
		env_close(&e);
		return;
	}
	/* All of them, in order, across the month tables. */
	CHECK_INT(store_fix_positions(e.s, e.dev, 0, INT64_MAX, NFIX + 1, v, &n), STORE_OK);
	CHECK_INT(n, NFIX);
	int ok = 1;
	for (size_t i = 0; i < n && ok; i++)
		ok = v[i].t == T0 + (int64_t)i * STEP && v[i].lat == 48.0 + (double)i * 1e-5;
	CHECK(ok);
	/* Stopped at max: the first max of them. */
	CHECK_INT(store_fix_positions(e.s, e.dev, T0 + STEP, INT64_MAX, 5000, v, &n), STORE_OK);
	CHECK_INT(n, 5000);
	CHECK(v[0].t == T0 + STEP && v[4999].t == T0 + 5000 * STEP);
	/* A range's ends are inside it. */
	CHECK_INT(store_fix_positions(e.s, e.dev, T0 + 10 * STEP, T0 + 20 * STEP, 100, v, &n),
	          STORE_OK);
	CHECK_INT(n, 11);
	/* Nothing: an empty range, a reversed one, an unknown device, max 0. */
	CHECK_INT(store_fix_positions(e.s, e.dev, T0 + 1, T0 + STEP - 1, 100, v, &n), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(store_fix_positions(e.s, e.dev, T0 + STEP, T0, 100, v, &n), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(store_fix_positions(e.s, 987654, 0, INT64_MAX, 100, v, &n), STORE_OK);
	CHECK_INT(n, 0);
	CHECK_INT(store_fix_positions(e.s, e.dev, 0, INT64_MAX, 0, v, &n), STORE_OK);
	CHECK_INT(n, 0);
	/* Inside a transaction it leaves the transaction open and usable. */
	CHECK_INT(store_begin(e.s), STORE_OK);
	CHECK_INT(store_fix_positions(e.s, e.other, 0, INT64_MAX, 10, v, &n), STORE_OK);
	CHECK_INT(n, 10);
	CHECK(v[0].t == T0 + STEP / 2);
	CHECK_INT(store_fix_positions(e.s, e.other, 0, INT64_MAX, 10, v, &n), STORE_OK);
	CHECK_INT(n, 10);
	CHECK_INT(store_commit(e.s), STORE_OK);
	free(v);
	env_close(&e);
}

TEST(store_seek_positions)
{
	positions_case(0);
}

TEST(store_seek_positions_pg)
{
	if (test_pg_url("store_seek_positions_pg"))
		positions_case(1);
}

/* Each seek checked against store_fix_first_in, the one-at-a-time read. */
static int same_as_first_in(struct store *s, int64_t dev, const struct fix_seek *k)
{
	struct fix f;
	int rc = k->from_ms > k->to_ms ? STORE_NOTFOUND
	                               : store_fix_first_in(s, dev, k->from_ms, k->to_ms, &f);
	if (rc == STORE_NOTFOUND)
		return !k->found;
	if (rc != STORE_OK)
		return 0;
	int same = k->found && k->first.t == f.time_ms && k->first.lat == f.lat &&
	           k->first.lon == f.lon;
	fix_free(&f);
	return same;
}

static void first_many_case(int pg)
{
	struct env e;
	if (env_open(&e, pg, 0) < 0) {
		test_fail(__FILE__, __LINE__, "no store");
		return;
	}
	/* More seeks than one PostgreSQL statement takes (8192), every kind:
	 * on a fix, between fixes, up to a fix, inside a gap before the
	 * first and after the last, reversed, unbounded, across months. */
	enum { N = 9000 };
	struct fix_seek *v = calloc(N, sizeof *v);
	CHECK(v != NULL);
	if (!v) {
		env_close(&e);
		return;
	}
	for (int i = 0; i < N; i++) {
		int64_t at = T0 - 50 * STEP + (int64_t)i * (STEP * 3 / 2);
		switch (i % 6) {
		case 0: v[i] = (struct fix_seek){ .from_ms = at, .to_ms = at + STEP / 4 }; break;
		case 1: v[i] = (struct fix_seek){ .from_ms = at, .to_ms = at + 40 * STEP }; break;
		case 2: v[i] = (struct fix_seek){ .from_ms = at + 1, .to_ms = at }; break;
		case 3: v[i] = (struct fix_seek){ .from_ms = at, .to_ms = INT64_MAX }; break;
		case 4: v[i] = (struct fix_seek){ .from_ms = INT64_MIN, .to_ms = at }; break;
		default: v[i] = (struct fix_seek){ .from_ms = at, .to_ms = at }; break;
		}
		v[i].found = 7;   /* overwritten either way */
	}
	CHECK_INT(store_fix_first_many(e.s, e.dev, v, N), STORE_OK);
	int same = 1, found = 0, missed = 0;
	for (int i = 0; i < N; i++) {
		if (!same_as_first_in(e.s, e.dev, &v[i]) && same) {
			fprintf(stderr, "seek %d [%lld, %lld]: found %d at %lld\n", i,
			        (long long)v[i].from_ms, (long long)v[i].to_ms, v[i].found,
			        (long long)v[i].first.t);
			same = 0;
		}
		found += v[i].found == 1;
		missed += v[i].found == 0;
	}
	CHECK(same);
	CHECK_INT(found + missed, N);
	CHECK(found > N / 3 && missed > N / 6);
	/* None at all, and an empty batch. */
	struct fix_seek none = { .from_ms = 0, .to_ms = INT64_MAX, .found = 1 };
	CHECK_INT(store_fix_first_many(e.s, 987654, &none, 1), STORE_OK);
	CHECK_INT(none.found, 0);
	CHECK_INT(store_fix_first_many(e.s, e.dev, v, 0), STORE_OK);
	free(v);
	env_close(&e);
}

TEST(store_seek_first_many)
{
	first_many_case(0);
}

TEST(store_seek_first_many_pg)
{
	if (test_pg_url("store_seek_first_many_pg"))
		first_many_case(1);
}

/* A track too long to read in full (TRACK_FULL_MAX) is sampled: the same
 * times on both backends, and a short one read in full is thinned. */
static int thin_times(int pg, int64_t from, int64_t to, double tol, int64_t **t, size_t *n)
{
	struct env e;
	if (env_open(&e, pg, 1) < 0)
		return -1;
	int rc = track_thin(e.s, e.track, from, to, tol, t, n) == STORE_OK ? 0 : -1;
	env_close(&e);
	return rc;
}

static void check_track(const int64_t *t, size_t n, int64_t first, int64_t last)
{
	CHECK(n > 20);
	if (n < 2)
		return;
	CHECK(t[0] == first && t[n - 1] == last);
	int asc = 1;
	for (size_t i = 1; i < n; i++)
		asc &= t[i] > t[i - 1];
	CHECK(asc);
}

TEST(store_seek_track_pg)
{
	if (!test_pg_url("store_seek_track_pg"))
		return;
	const int64_t last = T0 + (int64_t)(LONG - 1) * 1000;
	int64_t *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	/* Sampled: the whole track. */
	CHECK_INT(thin_times(0, 0, INT64_MAX, 30, &a, &na), 0);
	CHECK_INT(thin_times(1, 0, INT64_MAX, 30, &b, &nb), 0);
	check_track(a, na, T0, last);
	CHECK_INT(na, nb);
	CHECK(na == nb && na && memcmp(a, b, na * sizeof *a) == 0);
	free(a);
	free(b);
	/* Read in full: an hour of it. */
	a = b = NULL;
	CHECK_INT(thin_times(0, T0 + 3600000, T0 + 7200000, 5, &a, &na), 0);
	CHECK_INT(thin_times(1, T0 + 3600000, T0 + 7200000, 5, &b, &nb), 0);
	check_track(a, na, T0 + 3600000, T0 + 7200000);
	CHECK(na == nb && na && memcmp(a, b, na * sizeof *a) == 0);
	free(a);
	free(b);
}
