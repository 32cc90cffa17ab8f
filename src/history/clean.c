/* Cleaning (clean.h): accuracy, order and single-fix spikes, streamed. */
#include "history/clean.h"

void clean_init(struct clean *c, const struct hist_config *cfg)
{
	*c = (struct clean){
		.max_accuracy = cfg->max_accuracy,
		.jump_speed = cfg->jump_speed,
		.spike_min = cfg->spike_min,
	};
	hist_cos_init(&c->cos);
}

static int is_spike(struct clean *c, const struct hist_fix *a,
		    const struct hist_fix *b, const struct hist_fix *n)
{
	double ab = hist_dist_c(&c->cos, a->lat, a->lon, b->lat, b->lon);
	double bn = hist_dist_c(&c->cos, b->lat, b->lon, n->lat, n->lon);
	double near = ab < bn ? ab : bn;
	if (near < c->spike_min)
		return 0;
	double an = hist_dist_c(&c->cos, a->lat, a->lon, n->lat, n->lon);
	if (an * 2.0 > near)
		return 0;
	double secs = (double)(n->t_ms - a->t_ms) / 1000.0;
	return (ab + bn) > c->jump_speed * secs;
}

int clean_push(struct clean *c, const struct hist_fix *f, struct hist_fix *out)
{
	if (f->acc >= 0 && f->acc > c->max_accuracy) {
		c->dropped_accuracy++;
		return 0;
	}
	if (c->has_last && f->t_ms <= c->last_t) {
		c->dropped_order++;
		return 0;
	}
	c->has_last = 1;
	c->last_t = f->t_ms;
	if (!c->has_pend) {
		c->pend = *f;
		c->has_pend = 1;
		return 0;
	}
	if (c->has_prev && is_spike(c, &c->prev, &c->pend, f)) {
		c->dropped_spike++;
		c->pend = *f;
		return 0;
	}
	*out = c->pend;
	c->prev = c->pend;
	c->has_prev = 1;
	c->pend = *f;
	return 1;
}

int clean_flush(struct clean *c, struct hist_fix *out)
{
	if (!c->has_pend)
		return 0;
	*out = c->pend;
	c->prev = c->pend;
	c->has_prev = 1;
	c->has_pend = 0;
	return 1;
}

int clean_peek(const struct clean *c, struct hist_fix *out)
{
	if (!c->has_pend)
		return 0;
	*out = c->pend;
	return 1;
}
