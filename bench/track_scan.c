/* The track benchmark's baseline: the bare SQLite read of the same rows,
 * `SELECT time_ms, lat, lon FROM fixes WHERE device_id = ? AND time_ms
 * BETWEEN ? AND ?`, stepped to the end with the three columns read. What
 * any track query that reads every fix costs at least on this machine.
 *
 *   cc -std=c17 -D_GNU_SOURCE -O2 -o build/bench_track_scan bench/track_scan.c -lsqlite3
 *   build/bench_track_scan DB DEVICE_NAME FROM_MS TO_MS RUNS
 *
 * Prints one line per run: "rows seconds", then "median seconds". */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: track_scan DB DEVICE_NAME FROM_MS TO_MS RUNS\n");
		return 2;
	}
	int runs = atoi(argv[5]);
	if (runs < 1 || runs > 100) {
		fprintf(stderr, "track_scan: RUNS 1..100\n");
		return 2;
	}
	sqlite3 *db;
	sqlite3_stmt *st;
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT time_ms, lat, lon FROM fixes WHERE device_id = ? AND "
	                           "time_ms BETWEEN ? AND ?", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "track_scan: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	int64_t dev = -1;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db, "SELECT id FROM devices WHERE name = ?", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(q, 1, argv[2], -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		dev = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (dev < 0) {
		fprintf(stderr, "track_scan: no device '%s'\n", argv[2]);
		return 1;
	}
	double t[100];
	for (int r = 0; r < runs; r++) {
		double t0 = now_s(), sum = 0;
		int64_t rows = 0;
		sqlite3_bind_int64(st, 1, dev);
		sqlite3_bind_int64(st, 2, atoll(argv[3]));
		sqlite3_bind_int64(st, 3, atoll(argv[4]));
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			sum += (double)sqlite3_column_int64(st, 0) + sqlite3_column_double(st, 1) +
			       sqlite3_column_double(st, 2);
			rows++;
		}
		if (rc != SQLITE_DONE) {
			fprintf(stderr, "track_scan: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		sqlite3_reset(st);
		t[r] = now_s() - t0;
		printf("%lld %.6f%s\n", (long long)rows, t[r], sum == 0.5 ? " " : "");
	}
	qsort(t, (size_t)runs, sizeof t[0], cmp_d);
	printf("median %.6f\n", t[runs / 2]);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}
