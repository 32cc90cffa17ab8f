/* Live subscribers (see hub.h). A plain list: a handful of open pages per
 * server, so a scan per fix costs less than any index would. A subscriber
 * may leave from inside a delivery (its connection closed while being
 * written to), so removal during hub_publish only marks it and the list is
 * swept when the outermost publish returns. */
#include <stdlib.h>

#include "webapp/hub.h"

struct hub_sub {
	struct hub_sub *next;
	int64_t         user_id;
	hub_deliver_fn  fn;
	void           *ctx;
	int             dead;
};

struct hub {
	struct hub_sub *subs;
	size_t          n;          /* live (not dead) subscribers */
	int             publishing; /* nesting depth of hub_publish */
};

struct hub *hub_new(void)
{
	return calloc(1, sizeof(struct hub));
}

static void sweep(struct hub *h)
{
	struct hub_sub **pp = &h->subs;
	while (*pp) {
		struct hub_sub *s = *pp;
		if (s->dead) {
			*pp = s->next;
			free(s);
		} else {
			pp = &s->next;
		}
	}
}

void hub_free(struct hub *h)
{
	if (!h)
		return;
	while (h->subs) {
		struct hub_sub *s = h->subs;
		h->subs = s->next;
		free(s);
	}
	free(h);
}

struct hub_sub *hub_subscribe(struct hub *h, int64_t user_id, hub_deliver_fn fn, void *ctx)
{
	struct hub_sub *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->user_id = user_id;
	s->fn = fn;
	s->ctx = ctx;
	s->next = h->subs;
	h->subs = s;
	h->n++;
	return s;
}

void hub_unsubscribe(struct hub *h, struct hub_sub *s)
{
	if (!s || s->dead)
		return;
	s->dead = 1;
	h->n--;
	if (!h->publishing)
		sweep(h);
}

int hub_wants(const struct hub *h, int64_t user_id)
{
	for (const struct hub_sub *s = h->subs; s; s = s->next)
		if (!s->dead && (user_id == 0 || s->user_id == user_id))
			return 1;
	return 0;
}

void hub_publish(struct hub *h, const struct device_rec *d, const struct fix *f)
{
	h->publishing++;
	/* Subscribers added during the walk are at the head, before s: they
	 * get the next fix, not this one. */
	for (struct hub_sub *s = h->subs; s; s = s->next)
		if (!s->dead && s->user_id == d->user_id)
			s->fn(s->ctx, d, f);
	if (--h->publishing == 0)
		sweep(h);
}

size_t hub_count(const struct hub *h)
{
	return h->n;
}
