/* History benchmark (not a test): how fast src/history derives stays and
 * trips, against the cheapest pass over the same fixes.
 *
 *   make bench-history         (or: build/bench_history [FIXES])
 *
 * A synthetic device at 1 Hz (default 31,536,000 fixes: a year), stays of
 * 10 min to 10 h with ±15 m jitter and moves at 1-35 m/s with drifting
 * error, generated 1 M fixes at a time into one buffer (32 MiB, so a year
 * needs no gigabytes). Each buffer is timed three ways: the baseline, a
 * bare loop summing its coordinates; cleaning alone (clean_push); and the
 * whole derivation (hist_seg_push: cleaning, stays, trips, parts).
 * Generation is not timed. Prints fixes/s and the ratio of each time to
 * the baseline's (what deriving costs per fix beyond reading it once). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "history/clean.h"
#include "history/segment.h"

#define CHUNK 1000000
#define DEG (3.14159265358979323846 / 180.0)
#define M_PER_DEG 111195.0

struct gen {
	uint64_t seed;
	int64_t t;
	double x, y;             /* metres from the base */
	double ax, ay;           /* drifting error while moving */
	int moving;
	int64_t left;            /* fixes left in the current leg */
	double vx, vy;
};

static double noise(struct gen *g)   /* [-1, 1) */
{
	g->seed ^= g->seed >> 12;
	g->seed ^= g->seed << 25;
	g->seed ^= g->seed >> 27;
	return (double)((g->seed * UINT64_C(2685821657736338717)) >> 11) / 4503599627370496.0 - 1.0;
}

static void next_leg(struct gen *g)
{
	g->moving = !g->moving;
	if (g->moving) {
		double v = 1 + 17 * (noise(g) + 1), a = M_PI * noise(g);
		g->vx = v * cos(a);
		g->vy = v * sin(a);
		g->left = (int64_t)((2000 + 14000 * (noise(g) + 1)) / v);
	} else {
		g->left = (int64_t)(600 + 17700 * (noise(g) + 1));
	}
}

static void fill(struct gen *g, struct hist_fix *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (g->left-- <= 0)
			next_leg(g);
		double ex, ey;
		if (g->moving) {
			g->x += g->vx;
			g->y += g->vy;
			g->ax = 0.95 * g->ax + 1.5 * noise(g);
			g->ay = 0.95 * g->ay + 1.5 * noise(g);
			ex = g->ax + 3 * noise(g);
			ey = g->ay + 3 * noise(g);
		} else {
			ex = 15 * noise(g);
			ey = 15 * noise(g);
		}
		double lat = 48.0 + (g->y + ey) / M_PER_DEG;
		f[i] = (struct hist_fix){
			.t_ms = g->t,
			.lat = lat,
			.lon = 11.0 + (g->x + ex) / (M_PER_DEG * cos(lat * DEG)),
			.acc = 10,
		};
		g->t += 1000;
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct counts {
	uint64_t stays, trips;
	double distance;
};

static void count(void *ctx, const struct hist_segment *s)
{
	struct counts *c = ctx;
	if (s->kind == HIST_STAY) {
		c->stays++;
	} else {
		c->trips++;
		c->distance += s->distance;
	}
}

int main(int argc, char **argv)
{
	long long total = argc > 1 ? atoll(argv[1]) : 31536000LL;
	if (total < 1) {
		fprintf(stderr, "usage: bench_history [FIXES]\n");
		return 2;
	}
	struct hist_fix *buf = malloc(CHUNK * sizeof(*buf));
	if (!buf)
		return 1;
	struct hist_config cfg;
	hist_config_default(&cfg);
	struct counts c = { 0 };
	struct hist_seg *seg = hist_seg_new(&cfg, count, &c);
	struct clean cl;
	clean_init(&cl, &cfg);
	struct gen g = { .seed = 0x9e3779b97f4a7c15u, .t = INT64_C(1672531200000) };
	double t_base = 0, t_clean = 0, t_seg = 0, sum = 0;
	uint64_t kept = 0;
	for (long long done = 0; done < total;) {
		size_t n = total - done < CHUNK ? (size_t)(total - done) : CHUNK;
		fill(&g, buf, n);
		double t0 = now_s();
		for (size_t i = 0; i < n; i++)
			sum += buf[i].lat + buf[i].lon + (double)buf[i].t_ms;
		double t1 = now_s();
		struct hist_fix out;
		for (size_t i = 0; i < n; i++)
			kept += (uint64_t)clean_push(&cl, &buf[i], &out);
		double t2 = now_s();
		for (size_t i = 0; i < n; i++)
			hist_seg_push(seg, &buf[i]);
		double t3 = now_s();
		t_base += t1 - t0;
		t_clean += t2 - t1;
		t_seg += t3 - t2;
		done += (long long)n;
	}
	hist_seg_finish(seg);
	hist_seg_free(seg);
	free(buf);
	double n = (double)total;
	printf("history bench: %lld fixes at 1 Hz (%.1f days): %llu stays, %llu trips, %.0f km; "
	       "%llu kept by cleaning (checksum %g)\n",
	       total, n / 86400, (unsigned long long)c.stays, (unsigned long long)c.trips,
	       c.distance / 1000, (unsigned long long)kept, sum);
	printf("%-34s %8.3f s %8.1f M fixes/s %9s\n", "baseline (sum the array)", t_base,
	       n / t_base / 1e6, "1.00x");
	printf("%-34s %8.3f s %8.1f M fixes/s %8.1fx\n", "clean_push", t_clean, n / t_clean / 1e6,
	       t_clean / t_base);
	printf("%-34s %8.3f s %8.1f M fixes/s %8.1fx\n", "hist_seg_push (clean+stays+trips)", t_seg,
	       n / t_seg / 1e6, t_seg / t_base);
	printf("target: a year at 1 Hz from scratch in < 10 s (> 3 M fixes/s): %s\n",
	       n / t_seg >= 3e6 ? "met" : "MISSED");
	return 0;
}
