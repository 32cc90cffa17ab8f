/* The demo day generator (demo.c): deterministic, a realistic count, times
 * inside the day and increasing, valid fixes, walking and driving speeds,
 * distances that agree with speed and time, the route inside Berlin. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/demo.h"
#include "base/point.h"
#include "test.h"

#define DAY_MS 86400000LL

/* Local midnights: 2024-05-01 in Berlin (CEST), 2024-12-31 (CET), the
 * spring DST change 2025-03-30, 2026-11-23 UTC, 1999-07-04 in Denver. */
static const int64_t days[] = {
	1714514400000LL, 1735599600000LL, 1743289200000LL, 1795392000000LL, 931071600000LL,
};

struct rec {
	struct fix      f;           /* attrs not kept: valid during the call only */
	enum demo_phase ph;
	int             attrs_ok;
};

struct day {
	struct rec *r;
	size_t      n, cap;
	size_t      stop_after;       /* stop with 7 after this many (0: never) */
};

static int collect(void *ctx, const struct fix *f, enum demo_phase ph)
{
	struct day *d = ctx;
	if (d->stop_after && d->n == d->stop_after)
		return 7;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;
		struct rec *r = realloc(d->r, cap * sizeof *r);
		if (!r)
			return -1;
		d->r = r;
		d->cap = cap;
	}
	struct rec *r = &d->r[d->n++];
	r->f = *f;
	r->f.attrs = NULL;
	r->ph = ph;
	r->attrs_ok = f->attrs && !strcmp(f->attrs, DEMO_ATTRS);
	return 0;
}

static int generate(int64_t midnight, struct day *d, struct demo_summary *sum)
{
	memset(d, 0, sizeof *d);
	return demo_day(midnight, collect, d, sum);
}

static double dist_m(const struct fix *a, const struct fix *b)
{
	double r = M_PI / 180.0;
	double dlat = (b->lat - a->lat) * r, dlon = (b->lon - a->lon) * r;
	double h = sin(dlat / 2) * sin(dlat / 2) +
	           cos(a->lat * r) * cos(b->lat * r) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * 6371008.8 * asin(sqrt(h));
}

static double bearing(const struct fix *a, const struct fix *b)
{
	double r = M_PI / 180.0;
	double y = sin((b->lon - a->lon) * r) * cos(b->lat * r);
	double x = cos(a->lat * r) * sin(b->lat * r) -
	           sin(a->lat * r) * cos(b->lat * r) * cos((b->lon - a->lon) * r);
	double deg = atan2(y, x) / r;
	return deg < 0 ? deg + 360 : deg;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n ? v[n / 2] : NAN;
}

TEST(demo_deterministic)
{
	struct day a, b, c;
	struct demo_summary sa, sb, sc;
	CHECK_INT(generate(days[0], &a, &sa), 0);
	CHECK_INT(generate(days[0], &b, &sb), 0);
	CHECK_INT(generate(days[1], &c, &sc), 0);
	CHECK_INT(a.n, b.n);
	CHECK(a.n > 0 && a.n == sa.fixes && sa.fixes == sb.fixes);
	int same = a.n == b.n;
	for (size_t i = 0; same && i < a.n; i++) {
		const struct fix *x = &a.r[i].f, *y = &b.r[i].f;
		same = x->time_ms == y->time_ms && x->lat == y->lat && x->lon == y->lon &&
		       x->speed == y->speed && x->course == y->course && x->alt == y->alt &&
		       x->acc == y->acc && x->batt == y->batt && x->has == y->has &&
		       a.r[i].ph == b.r[i].ph;
	}
	CHECK(same);
	/* Another date is another day, not the same one moved. */
	CHECK(c.n > 0);
	CHECK(c.n != a.n || c.r[0].f.time_ms - days[1] != a.r[0].f.time_ms - days[0]);
	/* The summary alone (no callback) describes the same day. */
	struct demo_summary only;
	CHECK_INT(demo_day(days[0], NULL, NULL, &only), 0);
	CHECK_INT(only.fixes, sa.fixes);
	CHECK_INT(only.first_ms, sa.first_ms);
	CHECK_INT(only.last_ms, sa.last_ms);
	free(a.r);
	free(b.r);
	free(c.r);
}

TEST(demo_count_and_times)
{
	for (size_t k = 0; k < sizeof days / sizeof days[0]; k++) {
		struct day d;
		struct demo_summary s;
		CHECK_INT(generate(days[k], &d, &s), 0);
		CHECK(d.n >= 4000 && d.n <= 10000);
		CHECK_INT(s.fixes, d.n);
		if (!d.n)
			continue;
		CHECK_INT(s.first_ms, d.r[0].f.time_ms);
		CHECK_INT(s.last_ms, d.r[d.n - 1].f.time_ms);
		/* Morning to evening: a walk after 8, home before 19:00. */
		CHECK(d.r[0].f.time_ms >= days[k] + 8 * 3600000LL);
		CHECK(d.r[d.n - 1].f.time_ms < days[k] + 19 * 3600000LL);
		size_t bad = 0;
		for (size_t i = 0; i < d.n; i++) {
			int64_t t = d.r[i].f.time_ms;
			if (t < days[k] || t >= days[k] + DAY_MS || (i && t <= d.r[i - 1].f.time_ms))
				bad++;
		}
		CHECK_INT(bad, 0);
		/* Walk, stay, drive, stay: in that order, each there. */
		size_t changes = 0;
		for (size_t i = 1; i < d.n; i++)
			changes += d.r[i].ph != d.r[i - 1].ph;
		CHECK_INT(changes, 3);
		CHECK_INT(d.r[0].ph, DEMO_WALK);
		CHECK_INT(d.r[d.n - 1].ph, DEMO_STAY);
		CHECK(s.walk_m > 4000 && s.walk_m < 7000);
		CHECK(s.drive_m > 10000 && s.drive_m < 20000);
		free(d.r);
	}
}

TEST(demo_fixes_valid)
{
	struct day d;
	CHECK_INT(generate(days[0], &d, NULL), 0);
	size_t invalid = 0, attrs = 0, fields = 0, acc = 0, course = 0, alt = 0, batt = 0;
	unsigned want = FIX_SPEED | FIX_ALT | FIX_ACC | FIX_BATT;
	for (size_t i = 0; i < d.n; i++) {
		const struct fix *f = &d.r[i].f;
		invalid += fix_check(f) != NULL;
		attrs += !d.r[i].attrs_ok;
		fields += (f->has & want) != want;
		if (d.r[i].ph == DEMO_STAY)
			acc += f->acc < 10 || f->acc > 30;
		else
			acc += f->acc < 3 || f->acc > 8;
		/* A course while moving, from the direction of travel; none
		 * standing still. */
		if (f->has & FIX_COURSE)
			course += f->speed < 0.5 || f->course < 0 || f->course >= 360;
		else
			course += f->speed >= 0.5;
		alt += f->alt < 30 || f->alt > 65 ||
		       (i && fabs(f->alt - d.r[i - 1].f.alt) > 4);
		/* Whole percent, falling slowly: 92 in the morning, 71 at night. */
		batt += f->batt != floor(f->batt) || (i && f->batt > d.r[i - 1].f.batt);
	}
	CHECK_INT(invalid, 0);
	CHECK_INT(attrs, 0);
	CHECK_INT(fields, 0);
	CHECK_INT(acc, 0);
	CHECK_INT(course, 0);
	CHECK_INT(alt, 0);
	CHECK_INT(batt, 0);
	CHECK_DBL(d.r[0].f.batt, 92);
	CHECK_DBL(d.r[d.n - 1].f.batt, 71);
	free(d.r);
}

TEST(demo_speeds)
{
	struct day d;
	CHECK_INT(generate(days[1], &d, NULL), 0);
	double *walk = malloc(d.n * sizeof *walk);
	CHECK(walk != NULL);
	if (!walk)
		return;
	size_t nwalk = 0, ndrive = 0, cruising = 0, too_fast = 0, stay_moving = 0, gaps = 0;
	size_t stops = 0, still = 0;
	double drive_max = 0;
	for (size_t i = 0; i < d.n; i++) {
		const struct fix *f = &d.r[i].f;
		enum demo_phase ph = d.r[i].ph;
		if (ph == DEMO_WALK && f->speed > 0.3) {
			walk[nwalk++] = f->speed;
			too_fast += f->speed > 2.0;
		} else if (ph == DEMO_DRIVE) {
			ndrive++;
			cruising += f->speed >= 8 && f->speed <= 14;
			drive_max = fmax(drive_max, f->speed);
			/* A stop: standing 8 s or more, then driving on. */
			if (f->speed == 0) {
				still++;
			} else {
				stops += still >= 8;
				still = 0;
			}
		} else if (ph == DEMO_STAY) {
			stay_moving += f->speed != 0;
		}
		/* While moving, a fix every 1 to 5 s. */
		if (i && ph != DEMO_STAY && d.r[i - 1].ph == ph) {
			int64_t dt = f->time_ms - d.r[i - 1].f.time_ms;
			gaps += dt < 900 || dt > 5100;
		}
	}
	CHECK(nwalk > 1000 && ndrive > 1000);
	double med = median(walk, nwalk);
	CHECK(med >= 1.2 && med <= 1.6);
	CHECK_INT(too_fast, 0);
	CHECK(drive_max >= 8 && drive_max <= 14.5);
	CHECK(cruising * 4 >= ndrive);          /* a quarter of the drive at 8-14 m/s */
	CHECK(stops >= 3);                       /* red lights */
	CHECK_INT(stay_moving, 0);
	CHECK_INT(gaps, 0);
	free(walk);
	free(d.r);
}

TEST(demo_distances_match_speed)
{
	struct day d;
	CHECK_INT(generate(days[2], &d, NULL), 0);
	size_t far = 0, near = 0, course_off = 0, moving = 0;
	for (size_t i = 1; i < d.n; i++) {
		const struct fix *a = &d.r[i - 1].f, *b = &d.r[i].f;
		double dt = (double)(b->time_ms - a->time_ms) / 1000.0;
		double expect = (a->speed + b->speed) / 2 * dt, m = dist_m(a, b);
		/* The positions are off by at most their accuracy; corners make
		 * the straight distance shorter than the way driven. */
		far += m > 1.05 * expect + a->acc + b->acc + 0.5;
		near += m < 0.6 * expect - a->acc - b->acc;
		/* The course points where the track goes. */
		if (i + 1 < d.n && d.r[i].ph == DEMO_DRIVE && b->speed > 5 && (b->has & FIX_COURSE)) {
			double way = bearing(a, &d.r[i + 1].f);
			double off = fabs(fmod(b->course - way + 540.0, 360.0) - 180.0);
			moving++;
			course_off += off > 30;
		}
	}
	CHECK_INT(far, 0);
	CHECK_INT(near, 0);
	CHECK(moving > 500);
	CHECK(course_off * 20 <= moving);        /* all but corners */
	free(d.r);
}

TEST(demo_inside_berlin)
{
	struct day d;
	CHECK_INT(generate(days[3], &d, NULL), 0);
	size_t outside = 0;
	for (size_t i = 0; i < d.n; i++) {
		const struct fix *f = &d.r[i].f;
		outside += f->lat < DEMO_LAT_MIN || f->lat > DEMO_LAT_MAX || f->lon < DEMO_LON_MIN ||
		           f->lon > DEMO_LON_MAX;
	}
	CHECK_INT(outside, 0);
	/* From home and back home: Friedrichstraße, Berlin-Mitte. */
	struct fix home;
	memset(&home, 0, sizeof home);
	home.lat = 52.5188;
	home.lon = 13.38845;
	CHECK(dist_m(&d.r[0].f, &home) < 30);
	CHECK(dist_m(&d.r[d.n - 1].f, &home) < 60);
	free(d.r);
}

TEST(demo_callback_stops)
{
	struct day d;
	struct demo_summary s;
	memset(&d, 0, sizeof d);
	d.stop_after = 10;
	CHECK_INT(demo_day(days[0], collect, &d, &s), 7);
	CHECK_INT(d.n, 10);
	free(d.r);
}
