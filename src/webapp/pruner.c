#include "webapp/pruner.h"

#include <ev.h>
#include <stdlib.h>

#include "base/age.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/point.h"
#include "base/xalloc.h"
#include "store/store.h"
#include "webapp/fixdel.h"
#include "webapp/webapp.h"

struct pruner {
	struct webapp *app;
	ev_timer       tick;
	struct fixdel *running;      /* the prune under way, or NULL */
	int64_t        cutoff_ms;    /* of the prune under way */
};

static void log_prune(struct pruner *p, int64_t deleted, const char *error)
{
	const struct age *a = &p->app->cfg->retention;
	struct buf b;
	buf_init(&b);
	buf_add_iso_ms(&b, p->cutoff_ms);
	if (error)
		log_warnx("prune (retention %d%c): stopped after %lld fixes older than %s: %s", a->n,
		          a->unit, (long long)deleted, b.data, error);
	else
		log_info("prune (retention %d%c): deleted %lld fixes older than %s", a->n, a->unit,
		         (long long)deleted, b.data);
	buf_free(&b);
}

static void prune_done(struct webapp *app, void *ctx, int64_t deleted, int failed)
{
	struct pruner *p = ctx;
	p->running = NULL;
	log_prune(p, deleted, failed ? store_errmsg(app->store) : NULL);
}

/* The devices holding fixes older than the cutoff, as ranges to delete;
 * -1 on a storage error. Counting is a read (an index range), where an
 * empty delete batch would take the write lock for each device. */
static int old_fixes(struct webapp *app, int64_t cutoff_ms, struct fixdel_range **out, size_t *n)
{
	struct devlist l;
	if (devices_of(app, 0, &l) != STORE_OK)
		return -1;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < l.n; i++) {
		int64_t k = store_fix_count_range(app->store, l.v[i].id, INT64_MIN, cutoff_ms - 1, NULL);
		if (k < 0) {
			free(l.v);
			free(*out);
			return -1;
		}
		if (k > 0) {
			array_grow(out, &cap, *n + 1, sizeof **out);
			(*out)[(*n)++] = (struct fixdel_range){ .device_id = l.v[i].id,
			                                        .from_ms = INT64_MIN,
			                                        .to_ms = cutoff_ms - 1 };
		}
	}
	free(l.v);
	return 0;
}

static void prune(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct pruner *p = w->data;
	/* A day's prune still under way (a huge first one) carries on. */
	if (p->running)
		return;
	struct webapp *app = p->app;
	p->cutoff_ms = age_cutoff_ms(&app->cfg->retention, now_ms());
	struct fixdel_range *r;
	size_t n;
	if (old_fixes(app, p->cutoff_ms, &r, &n) < 0) {
		log_prune(p, 0, store_errmsg(app->store));
		return;
	}
	if (n)
		p->running = fixdel_new(app, r, n, prune_done, p);
	else
		log_prune(p, 0, NULL);
	free(r);
}

struct pruner *pruner_new(struct webapp *app)
{
	const struct config *cfg = app->cfg;
	if (!cfg->retention.n)
		return NULL;
	struct pruner *p = xcalloc(1, sizeof *p);
	p->app = app;
	ev_timer_init(&p->tick, prune, cfg->prune_delay, PRUNE_EVERY);
	p->tick.data = p;
	ev_timer_start(app->loop, &p->tick);
	log_info("retention %d%c: fixes older than that are deleted every %g h, the first time "
	         "in %g s", cfg->retention.n, cfg->retention.unit, PRUNE_EVERY / 3600,
	         cfg->prune_delay);
	return p;
}

void pruner_free(struct pruner *p)
{
	if (!p)
		return;
	ev_timer_stop(p->app->loop, &p->tick);
	fixdel_free(p->running);
	free(p);
}
