/* history_store.h's calls, each sent to the backend's table, and the
 * rules the backends share (store_backend.h). */
#include "store/history_store.h"
#include "store/store_backend.h"

#include <math.h>

void hist_box_of(double lat, double m, double *dlat, double *dlon)
{
	*dlat = m / 111000.0;
	double c = cos(lat * M_PI / 180.0);
	*dlon = c > 0.01 ? *dlat / c : 360.0;
}

int64_t hist_quarter_of(int64_t t)
{
	int64_t q = t / 900000;
	return t % 900000 < 0 ? q - 1 : q;
}

int hist_seg_overlaps(const struct seg_rec *r, int64_t from_ms)
{
	return !(r->end_ms < from_ms || (r->end_ms == from_ms && r->start_ms < from_ms));
}

struct store_hist *store_hist_open(struct store *s)
{
	return s->ops->hist_open(s);
}

void store_hist_close(struct store_hist *h)
{
	if (h)
		h->ops->close(h);
}

const char *store_hist_errmsg(const struct store_hist *h)
{
	return h->ops->errmsg(h);
}

int store_hist_dirty_next(struct store_hist *h, int64_t after_id, int64_t *device_id,
                          int64_t *from_ms, int64_t *seq)
{
	return h->ops->dirty_next(h, after_id, device_id, from_ms, seq);
}

int store_hist_dirty_done(struct store_hist *h, int64_t device_id, int64_t seq)
{
	return h->ops->dirty_done(h, device_id, seq);
}

int store_hist_mark(struct store_hist *h, int64_t device_id, int64_t from_ms)
{
	return h->ops->mark(h, device_id, from_ms);
}

int store_hist_gen(struct store_hist *h, int64_t device_id, int64_t *gen)
{
	return h->ops->gen(h, device_id, gen);
}

int store_hist_gen_bump(struct store_hist *h, int64_t device_id, int64_t *gen)
{
	return h->ops->gen_bump(h, device_id, gen);
}

int store_hist_fixes(struct store_hist *h, int64_t device_id, int64_t from_ms,
                     int (*cb)(void *ctx, int64_t t_ms, double lat, double lon, double acc),
                     void *ctx)
{
	return h->ops->fixes(h, device_id, from_ms, cb, ctx);
}

int store_hist_resume_point(struct store_hist *h, int64_t device_id, int64_t t, int64_t *start_ms)
{
	return h->ops->resume_point(h, device_id, t, start_ms);
}

int store_hist_clear_from(struct store_hist *h, int64_t device_id, int64_t from_ms)
{
	return h->ops->clear_from(h, device_id, from_ms);
}

int store_hist_clear_open(struct store_hist *h, int64_t device_id)
{
	return h->ops->clear_open(h, device_id);
}

int store_hist_put(struct store_hist *h, int64_t device_id, const struct seg_rec *r)
{
	return h->ops->put(h, device_id, r);
}

int store_hist_segments(struct store_hist *h, int64_t device_id, int64_t from_ms, int64_t to_ms,
                        int (*cb)(void *ctx, const struct seg_rec *r), void *ctx)
{
	return h->ops->segments(h, device_id, from_ms, to_ms, cb, ctx);
}

int store_hist_quarter_put(struct store_hist *h, int64_t device_id, int64_t q)
{
	return h->ops->quarter_put(h, device_id, q);
}

int store_hist_quarters(struct store_hist *h, int64_t device_id, int64_t from_q, int64_t to_q,
                        int (*cb)(void *ctx, int64_t q), void *ctx)
{
	return h->ops->quarters(h, device_id, from_q, to_q, cb, ctx);
}

int store_place_near(struct store_hist *h, int64_t user_id, double lat, double lon,
                     double (*dist)(double lat1, double lon1, double lat2, double lon2),
                     struct place_rec *out)
{
	return h->ops->place_near(h, user_id, lat, lon, dist, out);
}

int store_place_add(struct store_hist *h, const struct place_rec *p, int64_t *id_out)
{
	return h->ops->place_add(h, p, id_out);
}

int store_place_get(struct store_hist *h, int64_t user_id, int64_t id, struct place_rec *out)
{
	return h->ops->place_get(h, user_id, id, out);
}

int store_place_update(struct store_hist *h, int64_t user_id, int64_t id, const char *name,
                       double radius)
{
	return h->ops->place_update(h, user_id, id, name, radius);
}

int store_place_delete(struct store_hist *h, int64_t user_id, int64_t id)
{
	return h->ops->place_delete(h, user_id, id);
}

int store_place_list(struct store_hist *h, int64_t user_id,
                     int (*cb)(void *ctx, const struct place_stat *p), void *ctx)
{
	return h->ops->place_list(h, user_id, cb, ctx);
}

int64_t store_place_claim(struct store_hist *h, int64_t user_id, int64_t id,
                          double (*dist)(double lat1, double lon1, double lat2, double lon2))
{
	return h->ops->place_claim(h, user_id, id, dist);
}
