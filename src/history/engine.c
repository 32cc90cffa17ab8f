/* See engine.h. A run takes one marked device at a time: read its fixes
 * through a segmenter, collecting what it emits (segments and the quarter
 * hours that have fixes), then write that in one transaction. */
#include "history/engine.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/xalloc.h"
#include "history/geo_lookup.h"
#include "store/history_store.h"

/* Segmenters kept between runs (path A), one per device; beyond this
 * many devices the least recently derived is dropped (it then takes
 * path B once). */
#define LIVE_MAX 256
/* on_fix's return when the engine was cancelled: stops the walk; distinct
 * from every store_rc. */
#define FEED_CANCELLED 0x7d00

struct live {
	int64_t device_id;
	int64_t gen;             /* history_gen as this engine last wrote it */
	int64_t last_t;          /* the last fix fed */
	uint64_t used;           /* run counter, for eviction */
	struct hist_seg *seg;
};

/* A segment as emitted, with its parts copied out of the segmenter. */
struct out_seg {
	struct hist_segment g;
	size_t parts_off;        /* into engine.parts */
};

struct hist_engine {
	struct store       *s;
	struct store_hist  *h;
	struct hist_config  cfg;
	hist_namer_fn       namer;
	void               *namer_ctx;
	struct live         live[LIVE_MAX];
	size_t              nlive;
	uint64_t            runs;
	/* one device's derivation */
	struct out_seg     *out;
	size_t              nout, capout;
	struct hist_part   *parts;
	size_t              nparts, capparts;
	int64_t            *quarters;
	size_t              nq, capq;
	int64_t             last_q;
	int                 have_q;
	int64_t             fed_last;      /* the last raw fix fed */
	struct hist_seg    *feeding;
	atomic_int          cancelled;
	char                err[512];
};

/* ---- parts ---- */

void hist_parts_encode(const struct hist_part *parts, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++, out += HIST_PART_BYTES) {
		uint32_t q = (uint32_t)(int32_t)(parts[i].start_ms / HIST_PART_MS);
		uint64_t bits;
		memcpy(&bits, &parts[i].distance, sizeof bits);
		for (int b = 0; b < 4; b++)
			out[b] = (unsigned char)(q >> (8 * b));
		for (int b = 0; b < 8; b++)
			out[4 + b] = (unsigned char)(bits >> (8 * b));
	}
}

size_t hist_parts_decode(const void *blob, size_t len, struct hist_part *out, size_t max)
{
	const unsigned char *p = blob;
	size_t n = len / HIST_PART_BYTES;
	for (size_t i = 0; i < n && i < max; i++, p += HIST_PART_BYTES) {
		uint32_t q = 0;
		uint64_t bits = 0;
		for (int b = 0; b < 4; b++)
			q |= (uint32_t)p[b] << (8 * b);
		for (int b = 0; b < 8; b++)
			bits |= (uint64_t)p[4 + b] << (8 * b);
		out[i].start_ms = (int64_t)(int32_t)q * HIST_PART_MS;
		memcpy(&out[i].distance, &bits, sizeof bits);
	}
	return n;
}

/* ---- the engine ---- */

void hist_geo_namer(void *ctx, struct place_rec *p)
{
	struct geo_place g;
	if (geo_lookup(ctx, p->lat, p->lon, &g) != STORE_OK)
		return;          /* unnamed for now; the place itself is kept */
	snprintf(p->country, sizeof p->country, "%s", g.country);
	snprintf(p->country_name, sizeof p->country_name, "%s", g.country_name);
	snprintf(p->city, sizeof p->city, "%.127s", g.city);
}

void hist_config_from(struct hist_config *h, const struct config *c)
{
	hist_config_default(h);
	h->stay_radius = c->stay_radius;
	h->stay_min_ms = (int64_t)(c->stay_min * 1000);
	h->max_accuracy = c->max_accuracy;
	h->jump_speed = c->jump_speed / 3.6;
}

struct hist_engine *hist_engine_new(struct store *s, const struct hist_config *cfg,
                                    hist_namer_fn namer, void *namer_ctx)
{
	struct hist_engine *e = xcalloc(1, sizeof *e);
	e->s = s;
	e->h = store_hist_open(s);
	e->cfg = *cfg;
	e->namer = namer;
	e->namer_ctx = namer_ctx;
	return e;
}

static void live_drop(struct live *l)
{
	hist_seg_free(l->seg);
	memset(l, 0, sizeof *l);
}

void hist_engine_free(struct hist_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nlive; i++)
		live_drop(&e->live[i]);
	hist_seg_free(e->feeding);
	store_hist_close(e->h);
	free(e->out);
	free(e->parts);
	free(e->quarters);
	free(e);
}

const char *hist_engine_errmsg(const struct hist_engine *e)
{
	return e->err;
}

static int store_fail(struct hist_engine *e, const char *what)
{
	snprintf(e->err, sizeof e->err, "%s: %s", what, store_hist_errmsg(e->h));
	return -1;
}

static struct live *live_find(struct hist_engine *e, int64_t device_id)
{
	for (size_t i = 0; i < e->nlive; i++)
		if (e->live[i].device_id == device_id)
			return &e->live[i];
	return NULL;
}

/* A slot for the device: a free one, or the least recently used. */
static struct live *live_take(struct hist_engine *e, int64_t device_id)
{
	struct live *l = live_find(e, device_id);
	if (l) {
		live_drop(l);
	} else if (e->nlive < LIVE_MAX) {
		l = &e->live[e->nlive++];
	} else {
		l = &e->live[0];
		for (size_t i = 1; i < e->nlive; i++)
			if (e->live[i].used < l->used)
				l = &e->live[i];
		live_drop(l);
	}
	l->device_id = device_id;
	return l;
}

static void on_segment(void *ctx, const struct hist_segment *g)
{
	struct hist_engine *e = ctx;
	array_grow(&e->out, &e->capout, e->nout + 1, sizeof *e->out);
	struct out_seg *o = &e->out[e->nout++];
	o->g = *g;
	o->g.parts = NULL;
	o->parts_off = e->nparts;
	if (g->nparts) {
		array_grow(&e->parts, &e->capparts, e->nparts + g->nparts, sizeof *e->parts);
		memcpy(e->parts + e->nparts, g->parts, g->nparts * sizeof *g->parts);
		e->nparts += g->nparts;
	}
}

/* Rounded down, also before 1970, without overflow. */
static int64_t quarter_of(int64_t t)
{
	int64_t q = t / HIST_PART_MS;
	return t % HIST_PART_MS < 0 ? q - 1 : q;
}

static int on_fix(void *ctx, int64_t t_ms, double lat, double lon, double acc)
{
	struct hist_engine *e = ctx;
	if (atomic_load_explicit(&e->cancelled, memory_order_relaxed))
		return FEED_CANCELLED;
	struct hist_fix f = { t_ms, lat, lon, acc };
	hist_seg_push(e->feeding, &f);
	e->fed_last = t_ms;
	int64_t q = quarter_of(t_ms);
	if (!e->have_q || q != e->last_q) {
		array_grow(&e->quarters, &e->capq, e->nq + 1, sizeof *e->quarters);
		e->quarters[e->nq++] = q;
		e->last_q = q;
		e->have_q = 1;
	}
	return 0;
}

static void collect_reset(struct hist_engine *e)
{
	e->nout = e->nparts = e->nq = 0;
	e->have_q = 0;
}

/* The place of a stay: the user's place holding its centre, else a new
 * unnamed one there; 0 when a deleted place holds it. */
static int place_for(struct hist_engine *e, int64_t user_id, double lat, double lon,
                     int64_t *place_id)
{
	struct place_rec p;
	int rc = store_place_near(e->h, user_id, lat, lon, hist_dist, &p);
	if (rc == STORE_OK) {
		*place_id = p.deleted ? 0 : p.id;
		return 0;
	}
	if (rc != STORE_NOTFOUND)
		return store_fail(e, "place");
	memset(&p, 0, sizeof p);
	p.user_id = user_id;
	p.lat = lat;
	p.lon = lon;
	p.radius = e->cfg.stay_radius;
	if (e->namer)
		e->namer(e->namer_ctx, &p);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	p.created_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (store_place_add(e->h, &p, place_id) != STORE_OK)
		return store_fail(e, "place");
	return 0;
}

static int put_segment(struct hist_engine *e, int64_t device_id, int64_t user_id,
                       const struct out_seg *o)
{
	const struct hist_segment *g = &o->g;
	struct seg_rec r;
	memset(&r, 0, sizeof r);
	r.kind = g->kind == HIST_STAY ? SEG_STAY : SEG_TRIP;
	r.open = g->open;
	r.start_ms = g->start_ms;
	r.end_ms = g->end_ms;
	r.decided_ms = g->decided_ms;
	r.nfix = (int64_t)g->nfix;
	r.lat = g->lat;
	r.lon = g->lon;
	r.from_lat = g->from_lat;
	r.from_lon = g->from_lon;
	r.to_lat = g->to_lat;
	r.to_lon = g->to_lon;
	r.distance = g->distance;
	r.duration_s = g->kind == HIST_STAY ? (double)(g->end_ms - g->start_ms) / 1000.0
	                                     : g->duration_s;
	r.avg_speed = g->avg_speed;
	r.max_speed = g->max_speed;
	r.mode = (int)g->mode;
	r.gap = g->gap;
	unsigned char *blob = NULL;
	if (g->kind == HIST_STAY) {
		if (place_for(e, user_id, g->lat, g->lon, &r.place_id) < 0)
			return -1;
	} else if (g->nparts) {
		blob = xmalloc(g->nparts * HIST_PART_BYTES);
		hist_parts_encode(e->parts + o->parts_off, g->nparts, blob);
		r.parts = blob;
		r.parts_len = g->nparts * HIST_PART_BYTES;
	}
	int rc = store_hist_put(e->h, device_id, &r);
	free(blob);
	return rc == STORE_OK ? 0 : store_fail(e, "segment");
}

/* Writes what one derivation collected. from_ms: where path B restarted
 * (its stored segments from there go), or INT64_MAX for path A (only the
 * open segment is replaced). gen_read: history_gen when the fixes were
 * read; if another engine wrote since, nothing is written (1 returned:
 * the device stays marked). */
static int write_out(struct hist_engine *e, int64_t device_id, int64_t user_id, int64_t seq,
                     int64_t from_ms, int64_t gen_read, int64_t *gen_out)
{
	if (store_begin(e->s) != STORE_OK) {
		snprintf(e->err, sizeof e->err, "begin: %s", store_errmsg(e->s));
		return -1;
	}
	int64_t gen;
	if (store_hist_gen(e->h, device_id, &gen) != STORE_OK)
		goto fail;
	if (gen != gen_read) {
		store_rollback(e->s);
		return 1;
	}
	if ((from_ms == INT64_MAX ? store_hist_clear_open(e->h, device_id)
	                          : store_hist_clear_from(e->h, device_id, from_ms)) != STORE_OK)
		goto fail;
	for (size_t i = 0; i < e->nout; i++)
		if (put_segment(e, device_id, user_id, &e->out[i]) < 0)
			goto fail_logged;
	for (size_t i = 0; i < e->nq; i++)
		if (store_hist_quarter_put(e->h, device_id, e->quarters[i]) != STORE_OK)
			goto fail;
	if (store_hist_gen_bump(e->h, device_id, gen_out) != STORE_OK ||
	    store_hist_dirty_done(e->h, device_id, seq) != STORE_OK)
		goto fail;
	if (store_commit(e->s) != STORE_OK) {
		snprintf(e->err, sizeof e->err, "commit: %s", store_errmsg(e->s));
		store_rollback(e->s);
		return -1;
	}
	return 0;
fail:
	store_fail(e, "history write");
fail_logged:
	store_rollback(e->s);
	return -1;
}

/* Feeds the device's fixes from from_ms into seg, then collects its open
 * segment. */
static int feed(struct hist_engine *e, struct hist_seg *seg, int64_t device_id, int64_t from_ms)
{
	e->feeding = seg;
	int rc = store_hist_fixes(e->h, device_id, from_ms, on_fix, e);
	e->feeding = NULL;
	if (rc == FEED_CANCELLED) {
		snprintf(e->err, sizeof e->err, "cancelled");
		return -1;
	}
	if (rc != STORE_OK)
		return store_fail(e, "history fixes");
	hist_seg_open(seg);
	return 0;
}

static int derive(struct hist_engine *e, int64_t device_id, int64_t from_ms, int64_t seq)
{
	struct device_rec d;
	int rc = store_device_by_id(e->s, device_id, &d);
	if (rc == STORE_NOTFOUND)
		return 0;             /* deleted meanwhile: its marks went with it */
	if (rc != STORE_OK) {
		snprintf(e->err, sizeof e->err, "device: %s", store_errmsg(e->s));
		return -1;
	}
	int64_t gen;
	if (store_hist_gen(e->h, device_id, &gen) != STORE_OK)
		return store_fail(e, "history gen");
	collect_reset(e);
	struct live *l = live_find(e, device_id);
	int64_t restart = INT64_MAX;
	if (l && l->gen == gen && from_ms > l->last_t) {
		/* A: only appended since; go on where we stopped. */
		e->fed_last = l->last_t;
		if (feed(e, l->seg, device_id, l->last_t + 1) < 0) {
			live_drop(l);
			return -1;
		}
	} else {
		/* B: from the last stay decided before the change. */
		restart = INT64_MIN;
		if (from_ms != INT64_MIN) {
			rc = store_hist_resume_point(e->h, device_id, from_ms, &restart);
			if (rc == STORE_NOTFOUND)
				restart = INT64_MIN;
			else if (rc != STORE_OK)
				return store_fail(e, "history resume");
		}
		l = live_take(e, device_id);
		l->seg = hist_seg_new(&e->cfg, on_segment, e);
		e->fed_last = INT64_MIN;
		if (feed(e, l->seg, device_id, restart) < 0) {
			live_drop(l);
			return -1;
		}
	}
	l->last_t = e->fed_last;
	l->used = ++e->runs;
	int64_t newgen = gen;
	rc = write_out(e, device_id, d.user_id, seq, restart, gen, &newgen);
	if (rc != 0) {
		/* Stale or failed: what the segmenter holds may not be stored. */
		live_drop(l);
		return rc < 0 ? -1 : 0;
	}
	l->gen = newgen;
	return 1;
}

void hist_engine_cancel(struct hist_engine *e)
{
	atomic_store(&e->cancelled, 1);
}

int hist_engine_run(struct hist_engine *e)
{
	int done = 0;
	int64_t after = 0, device_id, from_ms, seq;
	for (;;) {
		int rc = store_hist_dirty_next(e->h, after, &device_id, &from_ms, &seq);
		if (rc == STORE_NOTFOUND)
			break;
		if (rc != STORE_OK)
			return store_fail(e, "history dirty");
		after = device_id;
		int n = derive(e, device_id, from_ms, seq);
		if (n < 0)
			return -1;
		done += n;
	}
	return done;
}
