/* See livefeed.h. */
#include "webapp/livefeed.h"

#include <stdlib.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "net/live.h"
#include "store/store.h"

/* While the database is unreachable: how often to look again. */
#define RETRY_SECONDS 1.0

struct livefeed {
	struct ev_loop      *loop;
	ev_io                io;
	ev_timer             retry;        /* PostgreSQL only: while down */
	struct live_rx      *rx;           /* SQLite: the receiver's datagrams */
	struct store_listen *listen;       /* PostgreSQL: announcements */
	livefeed_fix_fn      fix;
	livefeed_done_fn     done;
	void                *ctx;
};

static void on_key(void *ctx, const struct live_key *k)
{
	struct livefeed *f = ctx;
	f->fix(f->ctx, k->device_id, k->time_ms);
}

static void on_fix(void *ctx, int64_t device_id, int64_t time_ms)
{
	struct livefeed *f = ctx;
	f->fix(f->ctx, device_id, time_ms);
}

/* Watches the listener's descriptor, which changes when it reconnects;
 * while it is down the retry timer drains (which reconnects). */
static void follow(struct livefeed *f)
{
	int fd = store_listen_fd(f->listen);
	if (fd == f->io.fd && ev_is_active(&f->io))
		return;
	ev_io_stop(f->loop, &f->io);
	if (fd >= 0) {
		ev_io_set(&f->io, fd, EV_READ);
		ev_io_start(f->loop, &f->io);
		ev_timer_stop(f->loop, &f->retry);
	} else {
		ev_timer_again(f->loop, &f->retry);
	}
}

static void drain(struct livefeed *f)
{
	int64_t n;
	if (f->rx) {
		n = (int64_t)live_rx_drain(f->rx, on_key, f);
	} else {
		n = store_listen_drain(f->listen, on_fix, f);
		follow(f);
	}
	if (n > 0)
		f->done(f->ctx);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	drain(w->data);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	drain(w->data);
}

struct livefeed *livefeed_new(struct ev_loop *loop, const char *store, livefeed_fix_fn fix,
                              livefeed_done_fn done, void *ctx)
{
	struct livefeed *f = xcalloc(1, sizeof *f);
	f->loop = loop;
	f->fix = fix;
	f->done = done;
	f->ctx = ctx;
	ev_io_init(&f->io, io_cb, -1, EV_READ);
	ev_timer_init(&f->retry, retry_cb, 0.0, RETRY_SECONDS);
	f->io.data = f->retry.data = f;
	if (store_announces(store)) {
		char err[512];
		f->listen = store_listen_open(store, err, sizeof err);
		if (!f->listen) {
			log_warnx("live updates off: %s", err);
			livefeed_free(f);
			return NULL;
		}
		follow(f);
		return f;
	}
	f->rx = live_rx_new(store);
	if (!f->rx) {
		livefeed_free(f);
		return NULL;
	}
	ev_io_set(&f->io, live_rx_fd(f->rx), EV_READ);
	ev_io_start(loop, &f->io);
	return f;
}

void livefeed_stop(struct livefeed *f)
{
	if (!f)
		return;
	ev_io_stop(f->loop, &f->io);
	ev_timer_stop(f->loop, &f->retry);
}

void livefeed_free(struct livefeed *f)
{
	if (!f)
		return;
	livefeed_stop(f);
	live_rx_free(f->rx);
	store_listen_close(f->listen);
	free(f);
}
