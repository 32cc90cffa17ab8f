#include "webapp/fixdel.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "store/store.h"
#include "webapp/deriver.h"
#include "webapp/webapp.h"

/* The pause between batches. SQLite's busy handler lets a waiting writer
 * (the receiver's) retry after 1, 2, 5 ... 100 ms; batches back to back
 * would take the lock again before it wakes, and it would wait for the
 * whole deletion. */
#define FIXDEL_GAP 0.1

struct fixdel {
	struct webapp        *app;
	ev_timer              next;
	struct fixdel_range  *ranges;
	size_t                n, at;       /* ranges, the one being deleted */
	int64_t               total;
	fixdel_done_fn        done;
	void                 *ctx;
};

static void finish(struct fixdel *d, int failed)
{
	if (d->total)
		deriver_kick(d->app->deriver);
	d->done(d->app, d->ctx, d->total, failed);
	fixdel_free(d);
}

static void step(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct fixdel *d = w->data;
	while (d->at < d->n) {
		const struct fixdel_range *r = &d->ranges[d->at];
		int64_t k = store_fix_delete_batch(d->app->store, r->device_id, r->from_ms, r->to_ms,
		                                   r->has_box ? r->box : NULL, FIXDEL_BATCH);
		if (k < 0) {
			finish(d, 1);
			return;
		}
		if (k > 0) {
			d->total += k;
			ev_timer_set(w, FIXDEL_GAP, 0.);
			ev_timer_start(loop, w);
			return;
		}
		/* This range is empty: the next one at once (a prune's devices
		 * mostly have nothing that old, and each check is an index seek). */
		d->at++;
	}
	finish(d, 0);
}

struct fixdel *fixdel_new(struct webapp *app, const struct fixdel_range *r, size_t n,
                          fixdel_done_fn done, void *ctx)
{
	struct fixdel *d = xcalloc(1, sizeof *d);
	d->app = app;
	d->n = n;
	d->ranges = xcalloc(n ? n : 1, sizeof *r);
	if (n)
		memcpy(d->ranges, r, n * sizeof *r);
	d->done = done;
	d->ctx = ctx;
	ev_timer_init(&d->next, step, 0., 0.);
	d->next.data = d;
	ev_timer_start(app->loop, &d->next);
	return d;
}

void fixdel_free(struct fixdel *d)
{
	if (!d)
		return;
	ev_timer_stop(d->app->loop, &d->next);
	free(d->ranges);
	free(d);
}
