/* History on the store (not a test): deriving a year of 1 Hz fixes from
 * scratch as the webapp's deriver does (history/engine.h: read, segment,
 * write), against the cheapest read of the same rows in the same run; then
 * the reads the API makes of what was derived: a day's timeline, a
 * month's trips, a year's stats. Run by bench/derive on bench/track's
 * cached year:
 *
 *   build/bench_derive DB USER DEVICE DAY_S
 *
 * Prints each time, fixes/s and ratios against the bare scan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "history/day.h"
#include "history/engine.h"
#include "history/stats.h"
#include "store/history_store.h"
#include "store/store.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_fix(void *ctx, int64_t t, double lat, double lon, double acc)
{
	(void)t, (void)lat, (void)lon, (void)acc;
	(*(uint64_t *)ctx)++;
	return 0;
}

struct reads {
	size_t segs;
	double dist;
	int64_t from, to;
};

static int read_seg(void *ctx, const struct seg_rec *r)
{
	struct reads *rd = ctx;
	rd->segs++;
	if (r->kind == SEG_TRIP && r->parts_len) {
		struct hist_part parts[4096];
		size_t n = hist_parts_decode(r->parts, r->parts_len, parts, 4096);
		rd->dist += day_parts_distance(parts, n < 4096 ? n : 4096, rd->from, rd->to);
	}
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: bench_derive DB USER DEVICE DAY_S\n");
		return 2;
	}
	char err[512];
	struct store *s = store_open(argv[1], 0, err, sizeof err);
	if (!s) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	struct user_rec u;
	struct device_rec d;
	if (store_user_get(s, argv[2], &u) != STORE_OK ||
	    store_device_get(s, u.id, argv[3], &d) != STORE_OK) {
		fprintf(stderr, "bench: no device %s of %s\n", argv[3], argv[2]);
		return 1;
	}
	int64_t day0 = strtoll(argv[4], NULL, 10) * 1000;
	struct store_hist *h = store_hist_open(s);

	/* The baseline: every row read once, nothing done with it. */
	uint64_t rows = 0;
	double scan = 1e9;
	for (int i = 0; i < 2; i++) {
		rows = 0;
		double t0 = now_s();
		if (store_hist_fixes(h, d.id, INT64_MIN, count_fix, &rows) != STORE_OK) {
			fprintf(stderr, "bench: %s\n", store_hist_errmsg(h));
			return 1;
		}
		double t = now_s() - t0;
		scan = t < scan ? t : scan;
	}

	/* From scratch, as after a restore or a change of the settings. */
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.stay_radius = 100, cfg.stay_min = 300, cfg.max_accuracy = 500, cfg.jump_speed = 250;
	struct hist_config hc;
	hist_config_from(&hc, &cfg);
	struct hist_engine *e = hist_engine_new(s, &hc, NULL, NULL);
	if (store_begin(s) != STORE_OK || store_hist_mark(h, d.id, INT64_MIN) != STORE_OK ||
	    store_commit(s) != STORE_OK) {
		fprintf(stderr, "bench: cannot mark: %s\n", store_errmsg(s));
		return 1;
	}
	double t0 = now_s();
	if (hist_engine_run(e) != 1) {
		fprintf(stderr, "bench: derive: %s\n", hist_engine_errmsg(e));
		return 1;
	}
	double derive = now_s() - t0;
	hist_engine_free(e);

	/* What the API reads. */
	struct reads all = { .from = INT64_MIN, .to = INT64_MAX };
	store_hist_segments(h, d.id, INT64_MIN, INT64_MAX, read_seg, &all);
	double tday[21], tmonth[21], tyear[5];
	struct reads rd = { 0 };
	for (int i = 0; i < 21; i++) {
		rd = (struct reads){ .from = day0, .to = day0 + 86400000 };
		t0 = now_s();
		store_hist_segments(h, d.id, day0, day0 + 86400000 - 1, read_seg, &rd);
		tday[i] = now_s() - t0;
	}
	size_t day_segs = rd.segs;
	double day_km = rd.dist / 1000;
	int64_t m0 = day0 - 13 * 86400000LL;         /* the day's month, roughly */
	for (int i = 0; i < 21; i++) {
		rd = (struct reads){ .from = INT64_MIN, .to = INT64_MAX };
		t0 = now_s();
		store_hist_segments(h, d.id, m0, m0 + 30 * 86400000LL - 1, read_seg, &rd);
		tmonth[i] = now_s() - t0;
	}
	size_t month_segs = rd.segs;
	struct hist_stats st;
	time_t ds = (time_t)(day0 / 1000);
	struct tm tm;
	gmtime_r(&ds, &tm);
	for (int i = 0; i < 5; i++) {
		t0 = now_s();
		if (hist_stats(h, d.id, u.id, "Europe/Berlin", tm.tm_year + 1900, &st, err,
		               sizeof err) != 0) {
			fprintf(stderr, "bench: stats: %s\n", err);
			return 1;
		}
		tyear[i] = now_s() - t0;
		if (i < 4)
			hist_stats_free(&st);
	}
	printf("fixes                      %12llu\n", (unsigned long long)rows);
	printf("segments derived           %12zu  (%.0f km of trips)\n", all.segs, all.dist / 1000);
	printf("baseline: bare scan        %9.2f s  %6.2f M fixes/s\n", scan, rows / scan / 1e6);
	printf("derive from scratch        %9.2f s  %6.2f M fixes/s  %5.2fx the scan\n", derive,
	       rows / derive / 1e6, derive / scan);
	printf("a day's timeline           %9.2f ms  (%zu segments, %.1f km)\n",
	       median(tday, 21) * 1000, day_segs, day_km);
	printf("a month's trips            %9.2f ms  (%zu segments)\n", median(tmonth, 21) * 1000,
	       month_segs);
	printf("a year's stats             %9.2f ms  (%d days, %.0f km)\n", median(tyear, 5) * 1000,
	       st.days, st.distance / 1000);
	hist_stats_free(&st);
	store_hist_close(h);
	store_close(s);
	return 0;
}
