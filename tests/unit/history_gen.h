/* Synthetic tracks for the history tests: a device moved along straight
 * legs between stays, with GPS noise, in metres around a base point, and
 * a collector for the segments the segmenter emits. Header-only (static
 * functions) so each test file gets its own copy. */
#ifndef MINTRAC_HISTORY_GEN_H
#define MINTRAC_HISTORY_GEN_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "history/segment.h"

#define GEN_LAT0 52.52
#define GEN_LON0 13.40
#define GEN_M_PER_DEG (HIST_EARTH_R * 3.14159265358979323846 / 180.0)

struct gen {
	struct hist_fix *f;
	size_t n, cap;
	uint64_t seed;
	int64_t t;            /* ms of the next fix */
	double x, y;          /* true position, metres east/north of the base */
	double ax, ay;        /* slowly drifting error while moving */
	double path;          /* true metres moved so far */
	double jitter;        /* half-width of the uniform noise while still (m) */
};

/* xorshift64*: uniform in [-1, 1). */
static inline double gen_noise(struct gen *g)
{
	g->seed ^= g->seed >> 12;
	g->seed ^= g->seed << 25;
	g->seed ^= g->seed >> 27;
	return (double)((g->seed * UINT64_C(2685821657736338717)) >> 11) / 4503599627370496.0 - 1.0;
}

static inline void gen_init(struct gen *g, int64_t t0, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->t = t0;
	g->seed = seed ? seed : 1;
	g->jitter = 15.0;
}

static inline void gen_free(struct gen *g)
{
	free(g->f);
}

static inline void gen_put(struct gen *g, int64_t t, double x, double y, double acc)
{
	array_grow(&g->f, &g->cap, g->n + 1, sizeof(*g->f));
	g->f[g->n++] = (struct hist_fix){
		.t_ms = t,
		.lat = GEN_LAT0 + y / GEN_M_PER_DEG,
		.lon = GEN_LON0 + x / (GEN_M_PER_DEG * cos(GEN_LAT0 * 3.14159265358979323846 / 180.0)),
		.acc = acc,
	};
}

/* Still at the current place for secs, a fix every `every` seconds with
 * independent noise of ±jitter metres on each axis. */
static inline void gen_stay(struct gen *g, double secs, double every)
{
	int64_t end = g->t + (int64_t)(secs * 1000);
	for (; g->t < end; g->t += (int64_t)(every * 1000))
		gen_put(g, g->t, g->x + g->jitter * gen_noise(g), g->y + g->jitter * gen_noise(g), 10);
}

/* Straight to (x, y) at speed m/s, a fix every `every` seconds; the error
 * drifts (as a phone's does while moving) within about ±15 m, plus ±3 m. */
static inline void gen_move(struct gen *g, double x, double y, double speed, double every)
{
	double dx = x - g->x, dy = y - g->y, len = sqrt(dx * dx + dy * dy);
	double secs = len / speed;
	int64_t t0 = g->t, end = g->t + (int64_t)(secs * 1000);
	double x0 = g->x, y0 = g->y;
	for (; g->t < end; g->t += (int64_t)(every * 1000)) {
		double k = (double)(g->t - t0) / (double)(end - t0);
		g->ax = 0.95 * g->ax + 1.5 * gen_noise(g);
		g->ay = 0.95 * g->ay + 1.5 * gen_noise(g);
		gen_put(g, g->t, x0 + k * dx + g->ax + 3 * gen_noise(g),
			y0 + k * dy + g->ay + 3 * gen_noise(g), 8);
	}
	g->x = x;
	g->y = y;
	g->path += len;
}

/* No fixes for secs (position unchanged unless moved by the caller). */
static inline void gen_silence(struct gen *g, double secs)
{
	g->t += (int64_t)(secs * 1000);
}

/* ---- segments, copied out of the callback ---- */

struct seglist {
	struct hist_segment *s;
	size_t n, cap;
};

static inline void seglist_add(struct seglist *l, const struct hist_segment *g)
{
	array_grow(&l->s, &l->cap, l->n + 1, sizeof(*l->s));
	struct hist_segment *c = &l->s[l->n++];
	*c = *g;
	if (g->nparts) {
		struct hist_part *p = xmalloc(g->nparts * sizeof(*p));
		memcpy(p, g->parts, g->nparts * sizeof(*p));
		c->parts = p;
	} else {
		c->parts = NULL;
	}
}

static inline void seglist_truncate(struct seglist *l, size_t n)
{
	while (l->n > n)
		free((void *)(uintptr_t)l->s[--l->n].parts);
}

static inline void seglist_free(struct seglist *l)
{
	seglist_truncate(l, 0);
	free(l->s);
	memset(l, 0, sizeof(*l));
}

static inline void seglist_emit(void *ctx, const struct hist_segment *g)
{
	seglist_add(ctx, g);
}

/* Derives f[0..n) from scratch with cfg, appending to out. */
static inline void derive(const struct hist_config *cfg, const struct hist_fix *f, size_t n,
			  struct seglist *out)
{
	struct hist_seg *s = hist_seg_new(cfg, seglist_emit, out);
	for (size_t i = 0; i < n; i++)
		hist_seg_push(s, &f[i]);
	hist_seg_finish(s);
	hist_seg_free(s);
}

/* Exact equality, field by field (numbers compared bit for bit). */
static inline int segment_same(const struct hist_segment *a, const struct hist_segment *b)
{
	if (a->kind != b->kind || a->open != b->open || a->start_ms != b->start_ms ||
	    a->end_ms != b->end_ms || a->nfix != b->nfix || a->nparts != b->nparts ||
	    a->mode != b->mode || a->gap != b->gap)
		return 0;
	if (!a->open && a->decided_ms != b->decided_ms)
		return 0;
	const double *x[] = { &a->lat, &a->lon, &a->from_lat, &a->from_lon, &a->to_lat, &a->to_lon,
			      &a->distance, &a->duration_s, &a->avg_speed, &a->max_speed };
	const double *y[] = { &b->lat, &b->lon, &b->from_lat, &b->from_lon, &b->to_lat, &b->to_lon,
			      &b->distance, &b->duration_s, &b->avg_speed, &b->max_speed };
	for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++)
		if (memcmp(x[i], y[i], sizeof(double)) != 0)
			return 0;
	for (size_t i = 0; i < a->nparts; i++)
		if (a->parts[i].start_ms != b->parts[i].start_ms ||
		    memcmp(&a->parts[i].distance, &b->parts[i].distance, sizeof(double)) != 0)
			return 0;
	return 1;
}

/* What the store does when fixes changed: segment.h's resume rule.
 * stored holds what earlier derivations emitted; f[0..n) are all the
 * device's fixes now; t_changed the earliest time added or deleted.
 * Returns the number of fixes fed. */
static inline size_t rederive(const struct hist_config *cfg, struct seglist *stored,
			      const struct hist_fix *f, size_t n, int64_t t_changed)
{
	int64_t from = INT64_MIN;
	for (size_t i = stored->n; i-- > 0;) {
		const struct hist_segment *g = &stored->s[i];
		if (g->kind == HIST_STAY && !g->open && g->decided_ms < t_changed) {
			from = g->start_ms;
			break;
		}
	}
	while (stored->n && stored->s[stored->n - 1].start_ms >= from)
		seglist_truncate(stored, stored->n - 1);
	size_t i0 = 0;
	while (i0 < n && f[i0].t_ms < from)
		i0++;
	derive(cfg, f + i0, n - i0, stored);
	return n - i0;
}
#endif
