/* hub.c (live subscribers) and live.c (receiver -> webapp notices). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "webapp/hub.h"
#include "net/live.h"
#include "test.h"

struct seen {
	int              n;
	int64_t          last_time;
	struct hub      *hub;
	struct hub_sub  *self, *other;   /* to unsubscribe from inside */
};

static void deliver(void *ctx, const struct device_rec *d, const struct fix *f)
{
	struct seen *s = ctx;
	(void)d;
	s->n++;
	s->last_time = f->time_ms;
	if (s->self) {
		hub_unsubscribe(s->hub, s->self);
		s->self = NULL;
	}
	if (s->other) {
		hub_unsubscribe(s->hub, s->other);
		s->other = NULL;
	}
}

static struct device_rec dev(int64_t id, int64_t user)
{
	struct device_rec d;
	memset(&d, 0, sizeof d);
	d.id = id;
	d.user_id = user;
	snprintf(d.name, sizeof d.name, "dev%lld", (long long)id);
	return d;
}

TEST(hub_delivers_to_owner_only)
{
	struct hub *h = hub_new();
	struct seen a = { 0 }, b = { 0 };
	struct hub_sub *sa = hub_subscribe(h, 1, deliver, &a);
	struct hub_sub *sb = hub_subscribe(h, 2, deliver, &b);
	CHECK(sa && sb);
	CHECK(hub_wants(h, 0));
	CHECK(hub_wants(h, 1));
	CHECK(!hub_wants(h, 3));
	struct device_rec d1 = dev(10, 1);
	struct fix f;
	fix_init(&f);
	f.time_ms = 42;
	hub_publish(h, &d1, &f);
	CHECK_INT(a.n, 1);
	CHECK_INT(b.n, 0);
	CHECK_INT(a.last_time, 42);
	hub_unsubscribe(h, sa);
	CHECK(!hub_wants(h, 1));
	hub_publish(h, &d1, &f);
	CHECK_INT(a.n, 1);
	CHECK_INT(hub_count(h), 1);
	hub_unsubscribe(h, sb);
	CHECK(!hub_wants(h, 0));
	hub_free(h);
}

TEST(hub_unsubscribe_inside_publish)
{
	struct hub *h = hub_new();
	struct seen a = { 0 }, b = { 0 };
	a.hub = b.hub = h;
	struct hub_sub *sb = hub_subscribe(h, 1, deliver, &b);
	struct hub_sub *sa = hub_subscribe(h, 1, deliver, &a);
	/* a is first in the walk; it removes itself and b before b is reached. */
	a.self = sa;
	a.other = sb;
	struct device_rec d = dev(1, 1);
	struct fix f;
	fix_init(&f);
	hub_publish(h, &d, &f);
	CHECK_INT(a.n, 1);
	CHECK_INT(b.n, 0);
	CHECK_INT(hub_count(h), 0);
	hub_publish(h, &d, &f);
	CHECK_INT(a.n, 1);
	hub_free(h);
}

struct got {
	struct live_key k[10000];
	size_t          n;
};

static void got_key(void *ctx, const struct live_key *k)
{
	struct got *g = ctx;
	if (g->n < sizeof g->k / sizeof g->k[0])
		g->k[g->n] = *k;
	g->n++;
}

TEST(live_round_trip_and_isolation)
{
	char dir[] = "/tmp/mintrac-live-XXXXXX", db1[64], db2[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(db1, sizeof db1, "%s/a.db", dir);
	snprintf(db2, sizeof db2, "%s/b.db", dir);
	/* Nobody listening: sending is harmless. */
	struct live_tx *tx = live_tx_new(db1);
	CHECK(tx != NULL);
	struct live_key k[6000];
	for (size_t i = 0; i < 6000; i++) {
		k[i].device_id = 7;
		k[i].time_ms = (int64_t)i;
	}
	live_tx_send(tx, k, 10);

	struct live_rx *rx = live_rx_new(db1);
	struct live_rx *rx2 = live_rx_new(db2);
	CHECK(rx && rx2);
	/* A second listener for the same database cannot bind. */
	CHECK(live_rx_new(db1) == NULL);
	struct got *g = calloc(1, sizeof *g);
	live_tx_send(tx, k, 6000);      /* two datagrams */
	CHECK_INT(live_rx_drain(rx, got_key, g), 6000);
	CHECK_INT(g->n, 6000);
	CHECK_INT(g->k[5999].time_ms, 5999);
	CHECK_INT(g->k[0].device_id, 7);
	g->n = 0;
	CHECK_INT(live_rx_drain(rx2, got_key, g), 0);
	CHECK_INT(live_rx_drain(rx, got_key, g), 0);
	free(g);
	live_rx_free(rx);
	live_rx_free(rx2);
	live_tx_free(tx);
	rmdir(dir);
}
