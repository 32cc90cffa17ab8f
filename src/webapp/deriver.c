/* See deriver.h. The engine and its store connection are touched only by
 * the pool's thread while a run is out, and by the loop otherwise. */
#include "webapp/deriver.h"

#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "base/xalloc.h"
#include "history/engine.h"
#include "history/geo_lookup.h"
#include "net/workpool.h"
#include "store/store.h"

#define DERIVE_EVERY 1.0     /* seconds between runs without a kick */
/* At most one run this often, however often fixes arrive: a phone posting
 * every second, or a thousand of them, cost one derivation (one short
 * write) per half second, not one per commit of the receiver's. */
#define DERIVE_GAP   0.5

struct deriver {
	struct ev_loop     *loop;
	struct store       *store;
	struct hist_engine *engine;
	struct geo         *geo;         /* names for new places */
	struct workpool    *pool;
	struct work         work;
	ev_timer            tick;
	ev_timer            later;       /* a kick within DERIVE_GAP of the last run */
	ev_tstamp           last_start;
	int                 running, again;
	int                 result;      /* of the last run: devices, or -1 */
	int                 failing;     /* the last run failed: log once */
};

static void run_now(struct deriver *d);

static void derive_run(struct work *w)
{
	struct deriver *d = container_of(w, struct deriver, work);
	d->result = hist_engine_run(d->engine);
}

static void derive_done(struct work *w, int ran)
{
	struct deriver *d = container_of(w, struct deriver, work);
	d->running = 0;
	if (ran && d->result < 0 && !d->failing &&
	    strcmp(hist_engine_errmsg(d->engine), "cancelled") != 0)
		log_warnx("history: %s (retrying every second)", hist_engine_errmsg(d->engine));
	if (ran)
		d->failing = d->result < 0;
	if (ran && d->again) {
		d->again = 0;
		run_now(d);
	}
}

static void run_now(struct deriver *d)
{
	if (d->running) {
		d->again = 1;
		return;
	}
	ev_tstamp wait = d->last_start + DERIVE_GAP - ev_now(d->loop);
	if (wait > 0) {
		if (!ev_is_active(&d->later)) {
			ev_timer_set(&d->later, wait, 0.);
			ev_timer_start(d->loop, &d->later);
		}
		return;
	}
	d->last_start = ev_now(d->loop);
	d->work.run = derive_run;
	d->work.done = derive_done;
	if (workpool_submit(d->pool, &d->work) == 0)
		d->running = 1;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	run_now(w->data);
}

struct deriver *deriver_new(struct ev_loop *loop, const struct config *cfg)
{
	char err[512];
	/* Derived rows need no fsync of their own: after a power cut the
	 * receiver's durable mark of what changed is still there, and what
	 * was derived from it is derived again. */
	struct store *s = store_open(cfg->store, STORE_SYNC_NORMAL, err, sizeof err);
	if (!s) {
		log_warnx("history: %s", err);
		return NULL;
	}
	struct workpool *pool = workpool_new(loop, "history", 1, 1);
	if (!pool) {
		store_close(s);
		return NULL;
	}
	struct deriver *d = xcalloc(1, sizeof *d);
	struct hist_config hc;
	hist_config_from(&hc, cfg);
	d->loop = loop;
	d->store = s;
	d->pool = pool;
	d->geo = geo_open(s);
	d->engine = hist_engine_new(s, &hc, hist_geo_namer, d->geo);
	ev_timer_init(&d->tick, tick_cb, 0.05, DERIVE_EVERY);
	ev_timer_init(&d->later, tick_cb, 0., 0.);
	d->tick.data = d->later.data = d;
	ev_timer_start(loop, &d->tick);
	/* The timer alone must not keep the loop running at shutdown. */
	ev_unref(loop);
	return d;
}

void deriver_kick(struct deriver *d)
{
	if (d)
		run_now(d);
}

void deriver_free(struct deriver *d)
{
	if (!d)
		return;
	ev_ref(d->loop);
	ev_timer_stop(d->loop, &d->tick);
	ev_timer_stop(d->loop, &d->later);
	d->again = 0;
	/* A derivation of a long history must not hold up the shutdown: it
	 * stops at its next fix, and what it was doing is redone next time. */
	hist_engine_cancel(d->engine);
	workpool_free(d->pool);
	hist_engine_free(d->engine);
	geo_close(d->geo);
	store_close(d->store);
	free(d);
}
