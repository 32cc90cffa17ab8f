/* Track thinning: the zoom tolerance, segment distance, Douglas–Peucker
 * (straight lines, corners, monotone in the tolerance, stationary clouds),
 * thin_sample over a synthetic week of 1 Hz fixes with trips, loops and
 * gaps, seeking in memory as the store would on its index; then track_thin
 * and the thinned GeoJSON document against a real temporary store. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/buf.h"
#include "io/export.h"
#include "store/store.h"
#include "test.h"
#include "store/thin.h"
#include "store/track.h"

#define M_PER_DEG 111195.0   /* metres per degree of latitude (mean radius) */

static struct fix_pos pt(int64_t t, double lat, double lon)
{
	return (struct fix_pos){ t, lat, lon };
}

/* Deterministic noise: xorshift64*, uniform in [-1, 1). */
static double noise(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * UINT64_C(2685821657736338717)) >> 11) / 4503599627370496.0 - 1.0;
}

TEST(thin_tolerance_for_zoom)
{
	CHECK_DBL(thin_tolerance_for_zoom(0, 0, 1), 156543.03392);
	CHECK_DBL(thin_tolerance_for_zoom(1, 0, 1), 156543.03392 / 2);
	CHECK_DBL(thin_tolerance_for_zoom(10, 0, 2), 156543.03392 / 1024 * 2);
	CHECK(fabs(thin_tolerance_for_zoom(0, 60, 1) - 156543.03392 / 2) < 1e-6);
	CHECK(fabs(thin_tolerance_for_zoom(0, -60, 1) - 156543.03392 / 2) < 1e-6);
	/* Decimal zooms fall between their neighbours. */
	double a = thin_tolerance_for_zoom(5, 52, 1), b = thin_tolerance_for_zoom(5.5, 52, 1);
	double c = thin_tolerance_for_zoom(6, 52, 1);
	CHECK(a > b && b > c);
}

TEST(thin_seg_dist)
{
	struct fix_pos a = pt(0, 0, 0), b = pt(1, 0, 0.1);
	struct fix_pos on = pt(2, 0, 0.05), north = pt(3, 1000 / M_PER_DEG, 0.05);
	struct fix_pos beyond = pt(4, 0, 0.1 + 500 / M_PER_DEG);
	CHECK(thin_seg_dist(&on, &a, &b) < 1e-6);
	CHECK(fabs(thin_seg_dist(&north, &a, &b) - 1000) < 10);
	/* Past an end the distance is to that end, not to the line. */
	CHECK(fabs(thin_seg_dist(&beyond, &a, &b) - 500) < 5);
	/* A degenerate segment is a point. */
	CHECK(fabs(thin_seg_dist(&north, &on, &on) - 1000) < 10);
	/* Across the antimeridian: 179.999 to -179.999 is 222 m, not the globe. */
	struct fix_pos w = pt(0, 0, 179.999), e = pt(1, 0, -179.999), mid = pt(2, 0.001, 180);
	CHECK(fabs(thin_seg_dist(&mid, &w, &e) - 111.2) < 2);
	/* At 60°N a degree of longitude is half as long. */
	struct fix_pos p60a = pt(0, 60, 10), p60b = pt(1, 60, 10.02), p60c = pt(2, 60, 10.04);
	CHECK(fabs(thin_seg_dist(&p60c, &p60a, &p60a) - 0.04 * M_PER_DEG / 2) < 10);
	(void)p60b;
}

TEST(thin_dp_small_inputs)
{
	unsigned char keep[2] = { 9, 9 };
	struct fix_pos one[1] = { pt(0, 1, 2) }, two[2] = { pt(0, 1, 2), pt(1, 1, 2) };
	CHECK_INT(thin_dp(one, 0, 1, keep), 0);
	CHECK_INT(thin_dp(one, 1, 1, keep), 1);
	CHECK_INT(keep[0], 1);
	CHECK_INT(thin_dp(two, 2, 1, keep), 2);
	CHECK(keep[0] == 1 && keep[1] == 1);
}

TEST(thin_dp_straight_line)
{
	enum { N = 1000 };
	struct fix_pos *p = malloc(N * sizeof *p);
	unsigned char *keep = malloc(N);
	CHECK(p && keep);
	if (!p || !keep)
		goto out;
	for (int i = 0; i < N; i++)   /* 10 m steps north-east */
		p[i] = pt(i * 1000, 48.0 + i * 7.07 / M_PER_DEG,
		          11.0 + i * 7.07 / (M_PER_DEG * cos(48.0 * 3.14159265358979 / 180)));
	CHECK_INT(thin_dp(p, N, 1.0, keep), 2);
	CHECK(keep[0] == 1 && keep[N - 1] == 1);
	for (int i = 1; i < N - 1; i++)
		if (keep[i])
			CHECK(!"a point of a straight line kept");
out:
	free(p);
	free(keep);
}

TEST(thin_dp_zigzag_keeps_corners)
{
	/* Six legs of 1 km alternating north-east and south-east, 20 m
	 * steps: the 5 corners and the 2 ends stay, nothing else. */
	enum { LEG = 50, LEGS = 6, N = LEG * LEGS + 1 };
	struct fix_pos p[N];
	unsigned char keep[N];
	double lat = 0, lon = 30, step = 20 / M_PER_DEG / sqrt(2);
	for (int i = 0; i < N; i++) {
		p[i] = pt(i, lat, lon);
		int up = (i / LEG) % 2 == 0;
		lat += up ? step : -step;
		lon += step;
	}
	size_t kept = thin_dp(p, N, 5.0, keep);
	CHECK_INT(kept, LEGS + 1);
	for (int c = 0; c <= LEGS; c++)
		CHECK_INT(keep[c * LEG], 1);
	/* A tolerance larger than the zig-zag's height keeps only the ends. */
	CHECK_INT(thin_dp(p, N, 1000.0, keep), 2);
}

TEST(thin_dp_monotone_in_tolerance)
{
	enum { N = 5000 };
	struct fix_pos *p = malloc(N * sizeof *p);
	unsigned char *prev = malloc(N), *keep = malloc(N);
	CHECK(p && prev && keep);
	if (!p || !prev || !keep)
		goto out;
	uint64_t s = 42;
	double lat = 52.5, lon = 13.4, h = 0;
	for (int i = 0; i < N; i++) {   /* a wandering walk, 5 m steps */
		p[i] = pt(i * 1000, lat, lon);
		h += noise(&s) * 0.4;
		lat += 5 * cos(h) / M_PER_DEG;
		lon += 5 * sin(h) / (M_PER_DEG * cos(lat * 3.14159265358979 / 180));
	}
	static const double tols[] = { 0.5, 1, 2, 5, 10, 20, 50, 100, 500, 5000, 1e7 };
	size_t last = SIZE_MAX;
	for (size_t k = 0; k < sizeof tols / sizeof tols[0]; k++) {
		size_t kept = thin_dp(p, N, tols[k], keep);
		CHECK(kept <= last);
		CHECK(kept >= 2);
		size_t count = 0;
		for (int i = 0; i < N; i++) {
			count += keep[i];
			/* What a larger tolerance keeps, a smaller one kept too. */
			if (last != SIZE_MAX && keep[i] && !prev[i])
				CHECK(!"kept at a larger tolerance but not at a smaller one");
		}
		CHECK_INT(count, kept);
		memcpy(prev, keep, N);
		last = kept;
	}
	CHECK_INT(last, 2);
out:
	free(p);
	free(prev);
	free(keep);
}

TEST(thin_dp_stationary_cloud)
{
	/* An hour at one place, GPS jitter of ±4 m. */
	enum { N = 3600 };
	struct fix_pos *p = malloc(N * sizeof *p);
	unsigned char *keep = malloc(N);
	CHECK(p && keep);
	if (!p || !keep)
		goto out;
	uint64_t s = 7;
	for (int i = 0; i < N; i++)
		p[i] = pt(i * 1000, 40.0 + noise(&s) * 4 / M_PER_DEG,
		          -3.7 + noise(&s) * 4 / (M_PER_DEG * 0.766));
	CHECK_INT(thin_dp(p, N, 20.0, keep), 2);
	/* At a tolerance below the jitter, the cloud is detail. */
	CHECK(thin_dp(p, N, 0.5, keep) > 100);
out:
	free(p);
	free(keep);
}

/* ---- thin_sample over a synthetic week ---- */

struct track {
	struct fix_pos *v;
	size_t          n, cap;
	size_t          seeks;     /* seeks asked for */
	size_t          calls;     /* batches they came in */
	int             fail_at;   /* non-zero: that seek fails */
};

static void track_add(struct track *tr, int64_t t, double lat, double lon)
{
	if (tr->n == tr->cap) {
		tr->cap = tr->cap ? tr->cap * 2 : 4096;
		tr->v = realloc(tr->v, tr->cap * sizeof *tr->v);
		if (!tr->v)
			abort();
	}
	tr->v[tr->n++] = pt(t, lat, lon);
}

struct walker {
	double lat, lon, h;
};

static void walk(struct walker *w, double metres, double turn)
{
	w->h += turn;
	w->lat += metres * cos(w->h) / M_PER_DEG;
	w->lon += metres * sin(w->h) / (M_PER_DEG * cos(w->lat * 3.14159265358979 / 180));
}

#define DAY_S 86400
#define T0 INT64_C(1704067200000)   /* 2024-01-01 */

/* A week at 1 Hz: nights and work days in place (jitter), a winding drive
 * to work and the same road back (out and back), a 300 m loop run twice
 * every evening, a 4 h gap on day 2 and no data at all on day 4. */
static void make_week(struct track *tr)
{
	const double home_lat = 52.50, home_lon = 13.40;
	uint64_t s = 12345;
	struct walker *road = malloc(3600 * sizeof *road);
	if (!road)
		abort();
	for (int day = 0; day < 7; day++) {
		if (day == 4)
			continue;
		int64_t base = T0 + (int64_t)day * DAY_S * 1000;
		struct walker w = { home_lat, home_lon, 0.3 * day };
		for (int sec = 0; sec < DAY_S; sec++) {
			int64_t t = base + (int64_t)sec * 1000;
			if (day == 2 && sec >= 10 * 3600 && sec < 14 * 3600)
				continue;
			double lat, lon;
			if (sec >= 7 * 3600 && sec < 8 * 3600) {          /* drive out */
				int k = sec - 7 * 3600;
				walk(&w, 15, noise(&s) * 0.01 + 0.002 * sin(k / 300.0));
				road[k] = w;
				lat = w.lat;
				lon = w.lon;
			} else if (sec >= 17 * 3600 && sec < 18 * 3600) { /* and back */
				const struct walker *r = &road[18 * 3600 - 1 - sec];
				lat = r->lat;
				lon = r->lon;
			} else if (sec >= 19 * 3600 && sec < 19 * 3600 + 1256) { /* loops */
				double a = (sec - 19 * 3600) * 3.0 / 300.0;
				lat = home_lat + 300 * (1 - cos(a)) / M_PER_DEG;
				lon = home_lon + 300 * sin(a) / (M_PER_DEG * 0.6088);
			} else {
				const struct walker *at = sec < 7 * 3600 || sec >= 18 * 3600 ? NULL
				                        : &road[3599];
				lat = (at ? at->lat : home_lat) + noise(&s) * 3 / M_PER_DEG;
				lon = (at ? at->lon : home_lon) + noise(&s) * 3 / (M_PER_DEG * 0.6088);
			}
			track_add(tr, t, lat, lon);
		}
	}
	free(road);
}

/* The store's seek, in memory: the first fix with from <= t <= to. */
static int mem_seek_one(const struct track *tr, int64_t from_ms, int64_t to_ms,
                        struct fix_pos *out)
{
	size_t lo = 0, hi = tr->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tr->v[mid].t < from_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == tr->n || tr->v[lo].t > to_ms)
		return 0;
	*out = tr->v[lo];
	return 1;
}

/* The sampler's seek: a batch, counted as one call (one round trip to a
 * store across a network) and as its number of seeks. */
static int mem_seek(void *ctx, struct fix_seek *v, size_t n)
{
	struct track *tr = ctx;
	tr->calls++;
	for (size_t i = 0; i < n; i++) {
		tr->seeks++;
		if (tr->fail_at && (int)tr->seeks == tr->fail_at)
			return -1;
		v[i].found = mem_seek_one(tr, v[i].from_ms, v[i].to_ms, &v[i].first);
	}
	return 0;
}

/* Largest distance of a fix of tr in [from, to] from the polyline of the
 * kept points, each fix measured against the segment spanning its time. */
static double worst_deviation(const struct track *tr, const struct fix_pos *line, size_t n,
                              int64_t from, int64_t to)
{
	double worst = 0;
	size_t k = 0;
	for (size_t i = 0; i < tr->n; i++) {
		const struct fix_pos *p = &tr->v[i];
		if (p->t < from || p->t > to)
			continue;
		while (k + 1 < n && line[k + 1].t < p->t)
			k++;
		double d = k + 1 < n ? thin_seg_dist(p, &line[k], &line[k + 1])
		                     : thin_seg_dist(p, &line[k], &line[k]);
		if (d > worst)
			worst = d;
	}
	return worst;
}

static int in_track(const struct track *tr, const struct fix_pos *p)
{
	struct fix_pos q;
	return mem_seek_one(tr, p->t, p->t, &q) == 1 && q.lat == p->lat && q.lon == p->lon;
}

TEST(thin_sample_week)
{
	struct track tr = { NULL, 0, 0, 0, 0, 0 };
	make_week(&tr);
	CHECK(tr.n > 500000);
	const double tol = 50;
	const int64_t from = T0 - 3600000, to = T0 + 7LL * DAY_S * 1000;
	struct fix_pos *s = NULL;
	size_t n = 0;
	CHECK_INT(thin_sample(from, to, tol, 7 * 96, 50000, mem_seek, &tr, &s, &n), 0);
	CHECK(n > 10);
	if (n <= 10) {
		free(s);
		free(tr.v);
		return;
	}
	/* Far fewer seeks than fixes: the week was not read. And few calls:
	 * each level of the bisection is one batch (two when some middles
	 * are empty), not a round trip per seek. */
	CHECK(tr.seeks * 100 < tr.n);
	CHECK(tr.calls < 80);
	CHECK(tr.calls * 50 < tr.seeks);
	int ok = 1;
	for (size_t i = 0; i < n && ok; i++) {
		if (!in_track(&tr, &s[i]) || (i && s[i].t <= s[i - 1].t))
			ok = 0;
	}
	CHECK(ok);   /* real fixes, strictly in time order */
	CHECK(s[0].t == tr.v[0].t);
	CHECK(s[n - 1].t == tr.v[tr.n - 1].t);   /* the last one found too */

	/* Thinned as the map would, the sample still follows every fix
	 * within a few tolerances: trips, loops, both sides of the gaps. */
	struct fix_pos *line = malloc(n * sizeof *line);
	unsigned char *keep = malloc(n);
	CHECK(line && keep);
	if (line && keep) {
		size_t kept = thin_dp(s, n, tol, keep), w = 0;
		for (size_t i = 0; i < n; i++)
			if (keep[i])
				line[w++] = s[i];
		CHECK_INT(w, kept);
		double dev = worst_deviation(&tr, line, w, tr.v[0].t, s[n - 1].t);
		CHECK(dev < 3 * tol);
		/* No point of the sample sits in the gaps. */
		for (size_t i = 0; i < n; i++) {
			int64_t sec = (s[i].t - T0) / 1000;
			CHECK(!(sec >= 4 * DAY_S && sec < 5 * DAY_S));
			CHECK(!(sec >= 2 * DAY_S + 10 * 3600 && sec < 2 * DAY_S + 14 * 3600));
		}
		/* Each evening's two loops reach their far side (600 m north
		 * of home) twice. */
		for (int day = 0; day < 7; day++) {
			int64_t lo = T0 + ((int64_t)day * DAY_S + 19 * 3600) * 1000, hi = lo + 1256000;
			int runs = 0, in = 0;
			for (size_t i = 0; i < w; i++) {
				int far = line[i].t >= lo && line[i].t < hi &&
				          (line[i].lat - 52.50) * M_PER_DEG > 450;
				runs += far && !in;
				in = far;
			}
			CHECK_INT(runs, day == 4 ? 0 : 2);
		}
	}
	free(line);
	free(keep);
	free(s);

	/* A smaller budget is respected. */
	tr.seeks = 0;
	CHECK_INT(thin_sample(from, to, tol, 7 * 96, 300, mem_seek, &tr, &s, &n), 0);
	CHECK(n <= 300 && n > 100);
	free(s);

	/* A range inside the gap day has nothing. */
	CHECK_INT(thin_sample(T0 + 4LL * DAY_S * 1000, T0 + 5LL * DAY_S * 1000 - 1, tol, 96, 1000,
	                      mem_seek, &tr, &s, &n), 0);
	CHECK_INT(n, 0);
	CHECK(s == NULL);

	/* Unbounded ends work (no overflow in the slot arithmetic). */
	CHECK_INT(thin_sample(INT64_MIN, INT64_MAX, tol, 1000, 5000, mem_seek, &tr, &s, &n), 0);
	CHECK(n > 10 && n <= 5000);
	if (n)
		CHECK(s[0].t == tr.v[0].t && s[n - 1].t == tr.v[tr.n - 1].t);
	free(s);

	/* A failing seek fails the sample. */
	tr.seeks = 0;
	tr.fail_at = 500;
	CHECK_INT(thin_sample(from, to, tol, 7 * 96, 50000, mem_seek, &tr, &s, &n), -1);
	CHECK(s == NULL);
	free(tr.v);
}

/* ---- track_thin and the thinned document against a real store ---- */

struct tdb {
	struct store *s;
	char          dir[64], path[96];
	int64_t       dev;
};

static int tdb_open(struct tdb *d)
{
	char err[256];
	unsigned char h[TOKEN_HASH_LEN];
	struct user_rec u;
	snprintf(d->dir, sizeof d->dir, "/tmp/mintrac-test-thin-XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	snprintf(d->path, sizeof d->path, "%s/t.db", d->dir);
	d->s = store_open(d->path, STORE_CREATE | STORE_SYNC_NORMAL, err, sizeof err);
	if (!d->s)
		return -1;
	memset(h, 3, sizeof h);
	if (store_user_add(d->s, "tina", "$argon2id$fake") != STORE_OK ||
	    store_user_get(d->s, "tina", &u) != STORE_OK ||
	    store_device_add(d->s, u.id, "bike", h, NULL, &d->dev) != STORE_OK)
		return -1;
	return 0;
}

static void tdb_close(struct tdb *d)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[128];
	store_close(d->s);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", d->path, sfx[i]);
		unlink(p);
	}
	rmdir(d->dir);
}

/* n fixes at 1 Hz from T0: 300 m east per 100 s, with a 2 km detour north
 * from fix n/2 - 200 to n/2 + 200, attributes on every fix. */
static int tdb_fill(struct tdb *d, int n)
{
	if (store_begin(d->s) != STORE_OK)
		return -1;
	for (int i = 0; i < n; i++) {
		struct fix f;
		fix_init(&f);
		f.time_ms = T0 + (int64_t)i * 1000;
		int off = i - n / 2;
		double north = off > -200 && off < 200 ? 2000 - 10.0 * abs(off) : 0;
		f.lat = 45.0 + north / M_PER_DEG;
		f.lon = 7.0 + i * 3.0 / (M_PER_DEG * 0.7071);
		f.has = FIX_SPEED;
		f.speed = 3;
		f.attrs = (char *)(uintptr_t)"{\"k\":1}";
		int ins;
		if (store_put_fix(d->s, d->dev, &f, &ins) != STORE_OK || !ins) {
			store_rollback(d->s);
			return -1;
		}
	}
	return store_commit(d->s) == STORE_OK ? 0 : -1;
}

static void check_thinned(const int64_t *t, size_t n, int64_t first, int64_t last, int64_t peak)
{
	int sorted = 1, has_peak = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && t[i] <= t[i - 1])
			sorted = 0;
		if (t[i] < first || t[i] > last)
			sorted = 0;
		has_peak |= t[i] == peak;
	}
	CHECK(sorted);
	CHECK(n >= 3);
	if (n) {
		CHECK(t[0] == first);
		CHECK(t[n - 1] == last);
	}
	CHECK(has_peak);
}

TEST(track_thin_full_and_sampled)
{
	struct tdb d;
	if (tdb_open(&d) < 0 || tdb_fill(&d, 150000) < 0) {
		CHECK(!"temp store");
		tdb_close(&d);
		return;
	}
	int64_t *t = NULL;
	size_t n = 0;
	/* Short range (read in full): the detour's peak and the ends. */
	int64_t lo = T0 + 74000 * 1000LL, hi = T0 + 76000 * 1000LL;
	CHECK_INT(track_thin(d.s, d.dev, lo, hi, 20, &t, &n), STORE_OK);
	check_thinned(t, n, lo, hi, T0 + 75000 * 1000LL);
	CHECK(n < 10);
	free(t);

	/* All of it (150,000 fixes: sampled with seeks). */
	CHECK_INT(track_thin(d.s, d.dev, INT64_MIN, INT64_MAX, 20, &t, &n), STORE_OK);
	check_thinned(t, n, T0, T0 + 149999 * 1000LL, T0 + 75000 * 1000LL);
	CHECK(n < 10);
	free(t);

	/* Nothing in range; an empty range. */
	CHECK_INT(track_thin(d.s, d.dev, 0, 1000, 20, &t, &n), STORE_OK);
	CHECK(n == 0 && t == NULL);
	CHECK_INT(track_thin(d.s, d.dev, hi, lo, 20, &t, &n), STORE_OK);
	CHECK(n == 0 && t == NULL);
	tdb_close(&d);
}

static int collect(void *ctx, const char *data, size_t len)
{
	buf_add(ctx, data, len);
	return 0;
}

TEST(export_times_document)
{
	struct tdb d;
	if (tdb_open(&d) < 0 || tdb_fill(&d, 3000) < 0) {
		CHECK(!"temp store");
		tdb_close(&d);
		return;
	}
	/* The kept fixes only, in order, without attributes; a time whose
	 * fix is gone is skipped. Small budgets give many pieces. */
	int64_t times[] = { T0, T0 + 1000, T0 + 1500, T0 + 2999000 };
	struct export *e = export_new_times(d.s, d.dev, times, 4);
	struct buf b;
	buf_init(&b);
	int rc = -2, calls = 0;
	CHECK(e != NULL);
	while (e && (rc = export_more(e, collect, &b, 10)) == 0)
		calls++;
	CHECK_INT(rc, 1);
	CHECK(calls >= 2);
	CHECK_INT(export_more(e, collect, &b, 10), 1);
	export_free(e);
	json_t *doc = json_loads(b.data ? b.data : "", 0, NULL);
	CHECK(doc != NULL);
	json_t *fs = json_object_get(doc, "features");
	CHECK_INT(json_array_size(fs), 3);
	static const char *const want[] = { "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:01.000Z",
	                                     "2024-01-01T00:49:59.000Z" };
	for (size_t i = 0; i < json_array_size(fs) && i < 3; i++) {
		json_t *props = json_object_get(json_array_get(fs, i), "properties");
		CHECK_STR(json_string_value(json_object_get(props, "time")), want[i]);
		CHECK(json_object_get(props, "attributes") == NULL);
		CHECK(json_object_get(props, "speed") != NULL);
	}
	json_decref(doc);
	buf_free(&b);

	/* No times: an empty collection, the same text as an empty export. */
	buf_init(&b);
	e = export_new_times(d.s, d.dev, NULL, 0);
	CHECK(e && export_more(e, collect, &b, 65536) == 1);
	CHECK_STR(b.data, "{\"type\":\"FeatureCollection\",\"features\":[]}\n");
	export_free(e);
	buf_free(&b);

	/* The range export in tiny pieces equals export_write's document. */
	const char *name = "bike";
	struct buf whole;
	buf_init(&whole);
	buf_init(&b);
	CHECK_INT(export_write(d.s, &d.dev, &name, 1, INT64_MIN, INT64_MAX, EXPORT_KML, collect,
	                       &whole), 0);
	e = export_new(d.s, &d.dev, &name, 1, INT64_MIN, INT64_MAX, EXPORT_KML);
	while (e && (rc = export_more(e, collect, &b, 1)) == 0)
		;
	CHECK_INT(rc, 1);
	export_free(e);
	CHECK(b.len == whole.len && b.len > 0 && memcmp(b.data, whole.data, b.len) == 0);
	buf_free(&b);
	buf_free(&whole);
	tdb_close(&d);
}
