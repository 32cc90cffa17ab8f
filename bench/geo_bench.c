/* Place-name benchmark: how long `geo load` takes and how many geo_lookup
 * calls a second the store answers, against the baseline of one bare
 * R*Tree box query for the same point on the same database (a second
 * connection, `SELECT id FROM geo_countries WHERE <box holds the point>`
 * stepped to the end): what any indexed lookup costs at least.
 *
 *   make bench-geo                 (builds build/bench_geo and runs it)
 *   build/bench_geo [GEODATA_DIR] [N]
 *
 * Points: N places of the data moved up to ~5 km in a random direction
 * (where stays are: near people), and N points uniform over the sphere
 * (mostly sea: the coast search and the widening city search). */
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "history/geo_lookup.h"
#include "io/geodata.h"
#include "store/geo_store.h"
#include "store/store.h"

#ifndef MINTRAC_GEODATA_DIR
#define MINTRAC_GEODATA_DIR "geodata/node_modules"
#endif

/* CPU time of this process (user + system, syscalls included): on a
 * machine shared with other jobs it measures the work, not the wait for a
 * core, so the ratio holds still. Everything here runs on one thread. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: the same points on every run. */
static uint64_t rng_state = 88172645463325252ULL;
static double rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

struct pts {
	double *ll;
	size_t n, cap;
};

static int collect(void *ctx, const struct geo_city_rec *c)
{
	struct pts *p = ctx;
	array_grow(&p->ll, &p->cap, p->n + 1, 2 * sizeof *p->ll);
	p->ll[2 * p->n] = c->lat;
	p->ll[2 * p->n + 1] = c->lon;
	p->n++;
	return 0;
}

static double run_lookups(struct geo *g, const double *ll, size_t n, size_t *found)
{
	double t0 = now_s();
	*found = 0;
	for (size_t i = 0; i < n; i++) {
		struct geo_place p;
		if (geo_lookup(g, ll[2 * i], ll[2 * i + 1], &p) != STORE_OK) {
			fprintf(stderr, "bench: lookup: %s\n", geo_errmsg(g));
			exit(1);
		}
		*found += p.country[0] != '\0';
	}
	return now_s() - t0;
}

static double run_baseline(sqlite3 *db, const double *ll, size_t n)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT id FROM geo_countries WHERE max_lon >= ?2 AND "
	                       "min_lon <= ?2 AND max_lat >= ?1 AND min_lat <= ?1", -1, &st,
	                       NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: %s\n", sqlite3_errmsg(db));
		exit(1);
	}
	double t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_double(st, 1, ll[2 * i]);
		sqlite3_bind_double(st, 2, ll[2 * i + 1]);
		while (sqlite3_step(st) == SQLITE_ROW)
			(void)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	double t = now_s() - t0;
	sqlite3_finalize(st);
	return t;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : MINTRAC_GEODATA_DIR;
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	char tmpl[] = "/tmp/mintrac-bench-geo-XXXXXX", path[128], err[1024];
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof path, "%s/mintrac.db", tmpl);
	struct store *s = store_open(path, STORE_CREATE, err, sizeof err);
	if (!s) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	struct geodata_stats st;
	double t0 = now_s();
	if (geodata_load(s, dir, &st, err, sizeof err) < 0) {
		fprintf(stderr, "bench: geo load: %s (run 'bash scripts/setup.sh')\n", err);
		return 1;
	}
	double load_s = now_s() - t0;
	printf("load: %zu shapes, %zu places in %.2f s\n", st.shapes, st.cities, load_s);

	/* Near places, and uniform over the sphere. */
	struct store_geo *sg = store_geo_open(s);
	struct pts all = { NULL, 0, 0 };
	store_geo_cities_in(sg, -90, -180, 90, 180, collect, &all);
	store_geo_close(sg);
	double *near = xmalloc(2 * n * sizeof *near), *unif = xmalloc(2 * n * sizeof *unif);
	for (size_t i = 0; i < n; i++) {
		size_t k = (size_t)(rnd() * (double)all.n) % all.n;
		double d = rnd() * 5000 / 111195, a = rnd() * 2 * M_PI;
		near[2 * i] = fmax(-90, fmin(90, all.ll[2 * k] + d * sin(a)));
		double lon = all.ll[2 * k + 1] + d * cos(a) / fmax(0.05, cos(near[2 * i] * M_PI / 180));
		near[2 * i + 1] = lon > 180 ? lon - 360 : lon < -180 ? lon + 360 : lon;
		unif[2 * i] = asin(2 * rnd() - 1) * 180 / M_PI;
		unif[2 * i + 1] = rnd() * 360 - 180;
	}

	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	struct geo *g = geo_open(s);
	size_t found_near, found_unif;
	/* One warm-up pass of each, so both sides run on a warm page cache. */
	run_baseline(db, near, n < 1000 ? n : 1000);
	run_lookups(g, near, n < 1000 ? n : 1000, &found_near);
	double base_near = run_baseline(db, near, n), base_unif = run_baseline(db, unif, n);
	double look_near = run_lookups(g, near, n, &found_near);
	double look_unif = run_lookups(g, unif, n, &found_unif);
	printf("%-28s %12s %12s %8s\n", "", "geo_lookup/s", "bare box/s", "ratio");
	printf("%-28s %12.0f %12.0f %8.3f   (%zu%% with a country)\n", "within 5 km of a place",
	       (double)n / look_near, (double)n / base_near, base_near / look_near,
	       100 * found_near / n);
	printf("%-28s %12.0f %12.0f %8.3f   (%zu%% with a country)\n", "uniform over the sphere",
	       (double)n / look_unif, (double)n / base_unif, base_unif / look_unif,
	       100 * found_unif / n);
	printf("ratio = geo_lookup rate / bare R*Tree box query rate (same points, same run)\n");
	geo_close(g);
	sqlite3_close(db);
	store_close(s);
	free(near);
	free(unif);
	free(all.ll);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
	return system(cmd) == 0 ? 0 : 1;
}
