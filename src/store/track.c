/* A device's track for the map (track.h): read in full and thinned when
 * the range is short enough, sampled with index seeks when it is not. */
#include "store/track.h"

#include <stdlib.h>

#include "base/point.h"
#include "store/thin.h"

/* The sampler's even seeks: about one per 15 minutes of the range, at
 * least enough to see a day's outings, at most a fifth of the budget so
 * the bisection has room to follow the shape. */
#define SAMPLE_STEP_MS  (15 * 60 * 1000)
#define SAMPLE_INITIAL_MIN 1024
#define SAMPLE_INITIAL_MAX (TRACK_SAMPLE_MAX / 5)

struct seeker {
	struct store *s;
	int64_t       device_id;
};

static int seek_many(void *ctx, struct fix_seek *v, size_t n)
{
	struct seeker *k = ctx;
	return store_fix_first_many(k->s, k->device_id, v, n) == STORE_OK ? 0 : -1;
}

/* Times of the kept points of pts[0..n) at tol_m into *times. */
static int keep_times(const struct fix_pos *pts, size_t n, double tol_m, int64_t **times,
                      size_t *nout)
{
	*times = NULL;
	*nout = 0;
	if (n == 0)
		return STORE_OK;
	unsigned char *keep = malloc(n);
	if (!keep)
		return STORE_ERR;
	size_t kept = thin_dp(pts, n, tol_m, keep);
	int64_t *t = kept == SIZE_MAX ? NULL : malloc(kept * sizeof *t);
	if (!t) {
		free(keep);
		return STORE_ERR;
	}
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			t[w++] = pts[i].t;
	free(keep);
	*times = t;
	*nout = w;
	return STORE_OK;
}

/* The range from its first fix (from_ms) on, too long to read. */
static int sampled(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                   double tol_m, int64_t **times, size_t *n)
{
	struct seeker k = { s, device_id };
	struct fix last;
	int rc = store_fix_last_in(s, device_id, from_ms, to_ms, &last);
	if (rc == STORE_NOTFOUND)
		return STORE_OK;   /* everything was deleted meanwhile */
	if (rc != STORE_OK)
		return STORE_ERR;
	int64_t end_ms = last.time_ms;
	fix_free(&last);

	/* The range trimmed to its first and last fix: the even seeks then
	 * cover the track, not an open-ended range decades long. */
	uint64_t span = (uint64_t)end_ms - (uint64_t)from_ms;
	uint64_t want = span / SAMPLE_STEP_MS;
	size_t initial = want < SAMPLE_INITIAL_MIN ? SAMPLE_INITIAL_MIN
	               : want > SAMPLE_INITIAL_MAX ? SAMPLE_INITIAL_MAX : (size_t)want;
	struct fix_pos *pts;
	size_t npts;
	if (thin_sample(from_ms, end_ms, tol_m, initial, TRACK_SAMPLE_MAX, seek_many, &k, &pts,
	                &npts) < 0)
		return STORE_ERR;
	rc = keep_times(pts, npts, tol_m, times, n);
	free(pts);
	return rc;
}

int track_thin(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
               double tol_m, int64_t **times, size_t *n)
{
	*times = NULL;
	*n = 0;
	if (from_ms > to_ms)
		return STORE_OK;
	/* One more than the most read in full: finding it means sampling. */
	struct fix_pos *v = malloc((TRACK_FULL_MAX + 1) * sizeof *v);
	size_t got;
	if (!v)
		return STORE_ERR;
	if (store_fix_positions(s, device_id, from_ms, to_ms, TRACK_FULL_MAX + 1, v, &got) !=
	    STORE_OK) {
		free(v);
		return STORE_ERR;
	}
	if (got > TRACK_FULL_MAX) {
		int64_t first_ms = v[0].t;
		free(v);
		return sampled(s, device_id, first_ms, to_ms, tol_m, times, n);
	}
	int rc = keep_times(v, got, tol_m, times, n);
	free(v);
	return rc;
}
