/* Track thinning (thin.h): Douglas–Peucker on a local equirectangular
 * projection, and thin_sample, which finds a long track's shape with index
 * seeks so that a year of 1 Hz fixes is never read row by row. */
#include "store/thin.h"
#include "base/xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EARTH_R   6371008.8                 /* mean radius, metres */
#define DEG       (3.14159265358979323846 / 180.0)
#define MERC_M_PX 156543.03392              /* metres per pixel at zoom 0, equator */
/* A stretch whose ends are this many tolerances apart is split even when
 * its midpoint lies on the chord: one sample cannot vouch for that much. */
#define FAR_FACTOR 64.0

double thin_tolerance_for_zoom(double z, double lat, double pixels)
{
	return MERC_M_PX * cos(lat * DEG) / exp2(z) * pixels;
}

/* The projection around a: metres per degree of longitude and latitude. */
struct proj {
	double kx, ky;
	double lat0, lon0;
};

static void proj_at(struct proj *pr, const struct fix_pos *a)
{
	pr->ky = EARTH_R * DEG;
	pr->kx = pr->ky * cos(a->lat * DEG);
	pr->lat0 = a->lat;
	pr->lon0 = a->lon;
}

/* Longitude difference the short way round, so a track crossing the
 * antimeridian is not a segment around the whole planet. */
static double dlon(double lon, double lon0)
{
	double d = lon - lon0;
	if (d > 180.0)
		d -= 360.0;
	else if (d < -180.0)
		d += 360.0;
	return d;
}

static void proj_xy(const struct proj *pr, const struct fix_pos *p, double *x, double *y)
{
	*x = dlon(p->lon, pr->lon0) * pr->kx;
	*y = (p->lat - pr->lat0) * pr->ky;
}

/* Squared distance from (px,py) to the segment from the origin to (bx,by);
 * squared so that Douglas–Peucker's inner loop needs no square root. */
static double seg_dist2_xy(double px, double py, double bx, double by, double bb)
{
	double u = 0;
	if (bb > 0) {
		u = (px * bx + py * by) / bb;
		if (u < 0)
			u = 0;
		else if (u > 1)
			u = 1;
	}
	double dx = px - u * bx, dy = py - u * by;
	return dx * dx + dy * dy;
}

double thin_seg_dist(const struct fix_pos *p, const struct fix_pos *a, const struct fix_pos *b)
{
	struct proj pr;
	double px, py, bx, by;
	proj_at(&pr, a);
	proj_xy(&pr, p, &px, &py);
	proj_xy(&pr, b, &bx, &by);
	return sqrt(seg_dist2_xy(px, py, bx, by, bx * bx + by * by));
}

static double pt_dist(const struct fix_pos *a, const struct fix_pos *b)
{
	struct proj pr;
	double x, y;
	proj_at(&pr, a);
	proj_xy(&pr, b, &x, &y);
	return hypot(x, y);
}

/* ---- Douglas–Peucker ---- */

struct span {
	size_t i, j;
};

size_t thin_dp(const struct fix_pos *pts, size_t n, double tol_m, unsigned char *keep)
{
	if (n == 0)
		return 0;
	memset(keep, 0, n);
	keep[0] = keep[n - 1] = 1;
	if (n <= 2)
		return n;
	double tol2 = tol_m > 0 ? tol_m * tol_m : 0;
	/* Each split pushes two spans and pops one, and a span of k points
	 * splits into two smaller ones, so the stack never holds more than
	 * n entries; it grows on demand because it is usually tiny. */
	size_t cap = 64, top = 0, kept = 2;
	struct span *st = malloc(cap * sizeof *st);
	if (!st)
		return SIZE_MAX;
	st[top++] = (struct span){ 0, n - 1 };
	while (top) {
		struct span sp = st[--top];
		if (sp.j - sp.i < 2)
			continue;
		struct proj pr;
		double bx, by;
		proj_at(&pr, &pts[sp.i]);
		proj_xy(&pr, &pts[sp.j], &bx, &by);
		double bb = bx * bx + by * by;
		double worst = -1;
		size_t at = sp.i;
		for (size_t k = sp.i + 1; k < sp.j; k++) {
			double px, py;
			proj_xy(&pr, &pts[k], &px, &py);
			double d = seg_dist2_xy(px, py, bx, by, bb);
			if (d > worst) {
				worst = d;
				at = k;
			}
		}
		if (!(worst > tol2))
			continue;
		keep[at] = 1;
		kept++;
		array_grow(&st, &cap, top + 2, sizeof *st);
		st[top++] = (struct span){ at, sp.j };
		st[top++] = (struct span){ sp.i, at };
	}
	free(st);
	return kept;
}

/* ---- sampling with seeks ---- */

struct ptvec {
	struct fix_pos *v;
	size_t          n, cap;
};

static void ptvec_push(struct ptvec *pv, const struct fix_pos *p)
{
	array_grow(&pv->v, &pv->cap, pv->n + 1, sizeof *pv->v);
	pv->v[pv->n++] = *p;
}

struct stretch {
	struct fix_pos a, b;
};

/* FIFO of stretches still to check: refining level by level means that,
 * when max_pts runs out, the whole range is sampled about equally finely
 * rather than its start in detail and its end not at all. */
struct queue {
	struct stretch *v;
	size_t          head, n, cap;
};

static void queue_push(struct queue *q, const struct fix_pos *a, const struct fix_pos *b)
{
	if (q->n == q->cap) {
		if (q->head > q->cap / 2) {
			memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof *q->v);
			q->n -= q->head;
			q->head = 0;
		} else {
			array_grow(&q->v, &q->cap, q->n + 1, sizeof *q->v);
		}
	}
	q->v[q->n++] = (struct stretch){ *a, *b };
}

static int cmp_t(const void *x, const void *y)
{
	const struct fix_pos *a = x, *b = y;
	return (a->t > b->t) - (a->t < b->t);
}

/* from + off, computed without signed overflow (off < 2^64 spans any
 * int64 range). */
static int64_t add_off(int64_t from, uint64_t off)
{
	uint64_t u = (uint64_t)from + off;
	return u > (uint64_t)INT64_MAX ? -(int64_t)(~u) - 1 : (int64_t)u;
}

/* Start of slot i of n covering span + 1 ms from `from`. */
static int64_t slot_start(int64_t from, uint64_t span, size_t i, size_t n)
{
	uint64_t step = span / n, rem = span % n;
	return add_off(from, step * i + rem * i / n);
}

/* How far m is from where the chord a-b puts it at m's time (the
 * synchronized distance). At least its distance from the chord, and also
 * large when the stretch's motion is uneven: a loop run early in a stretch
 * that ends standing still has its time-midpoint at rest on the chord's
 * end, and only this tells that the stretch is not one straight move. */
static double sync_dist(const struct fix_pos *m, const struct fix_pos *a, const struct fix_pos *b)
{
	double u = (double)((uint64_t)m->t - (uint64_t)a->t) /
	           (double)((uint64_t)b->t - (uint64_t)a->t);
	struct proj pr;
	double mx, my, bx, by;
	proj_at(&pr, a);
	proj_xy(&pr, m, &mx, &my);
	proj_xy(&pr, b, &bx, &by);
	return hypot(mx - u * bx, my - u * by);
}

/* A batch of seeks, grown as needed and reused round after round. */
struct batch {
	struct fix_seek *v;
	size_t           n, cap;
};

static void batch_add(struct batch *bt, int64_t from_ms, int64_t to_ms)
{
	array_grow(&bt->v, &bt->cap, bt->n + 1, sizeof *bt->v);
	bt->v[bt->n++] = (struct fix_seek){ .from_ms = from_ms, .to_ms = to_ms };
}

/* One seek: 1 (*out set), 0 none, -1 error. */
static int seek_one(thin_seek_fn seek, void *ctx, int64_t from_ms, int64_t to_ms,
                    struct fix_pos *out)
{
	struct fix_seek k = { .from_ms = from_ms, .to_ms = to_ms };
	if (seek(ctx, &k, 1) < 0)
		return -1;
	if (k.found)
		*out = k.first;
	return k.found;
}

/* The last fix in [from_ms, to_ms], given that `first` is the first one:
 * a binary search by time with first-fix seeks (at most 64 of them).
 * 0 or -1 (error). */
static int seek_last(int64_t to_ms, thin_seek_fn seek, void *ctx, const struct fix_pos *first,
                     struct fix_pos *last)
{
	*last = *first;
	int64_t hi = to_ms;
	while (last->t < hi) {
		uint64_t d = (uint64_t)hi - (uint64_t)last->t;
		int64_t mid = add_off(last->t, d / 2 + (d & 1));
		struct fix_pos p;
		int rc = seek_one(seek, ctx, mid, hi, &p);
		if (rc < 0)
			return -1;
		if (rc)
			*last = p;
		else
			hi = mid - 1;
	}
	return 0;
}

/* The range's first and last fix: 1, 0 (no fix in range), -1 error. */
static int seek_ends(int64_t from_ms, int64_t to_ms, thin_seek_fn seek, void *ctx,
                     struct fix_pos *first, struct fix_pos *last)
{
	/* The caller usually knows the last fix's time and passes it as
	 * to_ms: then one call finds both ends. */
	struct fix_seek ends[2] = { { .from_ms = from_ms, .to_ms = to_ms },
	                            { .from_ms = to_ms, .to_ms = to_ms } };
	if (seek(ctx, ends, 2) < 0)
		return -1;
	if (!ends[0].found)
		return 0;
	*first = ends[0].first;
	if (ends[1].found) {
		*last = ends[1].first;
		return 1;
	}
	return seek_last(to_ms, seek, ctx, first, last) < 0 ? -1 : 1;
}

/* The even seeks over the span the fixes cover, into pv. A seek asks for
 * the first fix from its slot's start on, so one seek crosses a whole gap
 * in the data; the slots after it inside that gap find the same fix and
 * are passed over. */
static int seek_even(const struct fix_pos *first, const struct fix_pos *last, size_t initial,
                     size_t max_pts, thin_seek_fn seek, void *ctx, struct batch *bt,
                     struct ptvec *pv)
{
	uint64_t span = (uint64_t)last->t - (uint64_t)first->t;
	bt->n = 0;
	for (size_t i = 1; i < initial; i++)
		batch_add(bt, slot_start(first->t, span, i, initial), last->t);
	if (bt->n && seek(ctx, bt->v, bt->n) < 0)
		return -1;
	size_t i = 1;
	while (i < initial && pv->n < max_pts - 1) {
		const struct fix_seek *k = &bt->v[i - 1];
		if (!k->found || k->first.t == last->t)
			break;
		ptvec_push(pv, &k->first);
		while (i < initial && slot_start(first->t, span, i, initial) <= k->first.t)
			i++;
	}
	return 0;
}

/* A middle seek k of the stretch starting at a found nothing from the
 * midpoint on, and the half before it has room for a fix: seek there. */
static int seek_earlier(const struct fix_seek *k, const struct fix_pos *a)
{
	return !k->found && k->from_ms <= k->to_ms && k->from_ms - 1 >= a->t + 1;
}

/* For each stretch of lv[0..n): one fix strictly between its ends, near
 * the middle by time (the first at or after the midpoint, else, that half
 * being empty, the first after its start), in mids[i] (found or not).
 * Two calls of seek at most. 0 or -1. */
static int seek_middles(const struct stretch *lv, size_t n, thin_seek_fn seek, void *ctx,
                        struct batch *mids, struct batch *back)
{
	mids->n = 0;
	for (size_t i = 0; i < n; i++) {
		const struct fix_pos *a = &lv[i].a, *b = &lv[i].b;
		if ((uint64_t)b->t - (uint64_t)a->t < 2) {
			batch_add(mids, 1, 0);   /* nothing can lie between: an empty range */
			continue;
		}
		batch_add(mids, add_off(a->t, ((uint64_t)b->t - (uint64_t)a->t) / 2), b->t - 1);
	}
	if (seek(ctx, mids->v, mids->n) < 0)
		return -1;
	back->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (seek_earlier(&mids->v[i], &lv[i].a))
			batch_add(back, lv[i].a.t + 1, mids->v[i].from_ms - 1);
	}
	if (!back->n)
		return 0;
	if (seek(ctx, back->v, back->n) < 0)
		return -1;
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (seek_earlier(&mids->v[i], &lv[i].a))
			mids->v[i] = back->v[j++];
	return 0;
}

int thin_sample(int64_t from_ms, int64_t to_ms, double tol_m, size_t initial, size_t max_pts,
                thin_seek_fn seek, void *ctx, struct fix_pos **out, size_t *nout)
{
	struct ptvec pv = { NULL, 0, 0 };
	struct queue q = { NULL, 0, 0, 0 };
	struct batch mids = { NULL, 0, 0 }, back = { NULL, 0, 0 };
	struct stretch *lv = NULL;
	size_t lv_cap = 0;
	struct fix_pos first, last;
	int rc;

	*out = NULL;
	*nout = 0;
	if (from_ms > to_ms || max_pts == 0)
		return 0;
	rc = seek_ends(from_ms, to_ms, seek, ctx, &first, &last);
	if (rc <= 0)
		return rc;
	if (initial < 1)
		initial = 1;
	if (initial > max_pts - 1)
		initial = max_pts > 1 ? max_pts - 1 : 1;

	ptvec_push(&pv, &first);
	if (seek_even(&first, &last, initial, max_pts, seek, ctx, &mids, &pv) < 0)
		goto fail;
	if (last.t != first.t && pv.n < max_pts)
		ptvec_push(&pv, &last);

	for (size_t k = 0; k + 1 < pv.n; k++)
		queue_push(&q, &pv.v[k], &pv.v[k + 1]);
	/* Level by level: the stretches queued now are one level; their
	 * middles are sought together, then checked in queue order, which
	 * queues the next level. */
	while (q.head < q.n && pv.n < max_pts) {
		size_t n = q.n - q.head;
		array_grow(&lv, &lv_cap, n, sizeof *lv);
		memcpy(lv, q.v + q.head, n * sizeof *lv);
		q.head = q.n;
		if (seek_middles(lv, n, seek, ctx, &mids, &back) < 0)
			goto fail;
		for (size_t i = 0; i < n && pv.n < max_pts; i++) {
			const struct fix_seek *k = &mids.v[i];
			const struct stretch *st = &lv[i];
			if (!k->found)
				continue;
			if (!(sync_dist(&k->first, &st->a, &st->b) > tol_m) &&
			    !(pt_dist(&st->a, &st->b) > FAR_FACTOR * tol_m))
				continue;
			ptvec_push(&pv, &k->first);
			queue_push(&q, &st->a, &k->first);
			queue_push(&q, &k->first, &st->b);
		}
	}
	free(q.v);
	free(lv);
	free(mids.v);
	free(back.v);

	if (pv.n)
		qsort(pv.v, pv.n, sizeof *pv.v, cmp_t);
	size_t w = 0;
	for (size_t k = 0; k < pv.n; k++)
		if (w == 0 || pv.v[k].t != pv.v[w - 1].t)
			pv.v[w++] = pv.v[k];
	*out = pv.v;
	*nout = w;
	return 0;
fail:
	free(q.v);
	free(lv);
	free(mids.v);
	free(back.v);
	free(pv.v);
	return -1;
}
