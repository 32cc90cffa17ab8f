/* Live streams' caps and credentials; see streams.h. A plain list, like
 * the hub's: at most max_connections entries, scanned on open and once a
 * round. A slot may be closed from inside its end callback (the
 * connection closes at once), so while a round walks the list, closing
 * only marks the slot and the round sweeps afterwards. */
#include "webapp/streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/log.h"
#include "base/point.h"
#include "base/xalloc.h"
#include "webapp/throttle.h"
#include "webapp/webapp.h"

struct stream_slot {
	struct stream_slot *next;
	int64_t             user_id;
	enum caller_via     via;
	unsigned char       session_hash[TOKEN_HASH_LEN];   /* VIA_SESSION */
	char                pwhash[PWHASH_LEN];             /* VIA_BASIC */
	char                addr[80];                       /* counted unit */
	stream_end_fn       end;
	void               *ctx;
	unsigned            dead : 1;      /* closed: swept after the round */
	unsigned            ended : 1;     /* end() called */
	unsigned            checked : 1;   /* done in this round */
};

struct streams {
	struct ev_loop     *loop;
	struct store       *store;
	int64_t             lifetime_ms;
	int                 max_per_user, max_per_addr;
	struct stream_slot *slots;
	size_t              n;          /* open (not dead) slots */
	int                 walking;    /* a round is under way */
	ev_timer            timer;
};

static void check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	streams_check(w->data);
}

struct streams *streams_new(struct ev_loop *loop, struct store *st, int64_t lifetime_ms,
                            int max_per_user, int max_per_addr)
{
	struct streams *ss = calloc(1, sizeof *ss);
	if (!ss)
		return NULL;
	ss->loop = loop;
	ss->store = st;
	ss->lifetime_ms = lifetime_ms;
	ss->max_per_user = max_per_user;
	ss->max_per_addr = max_per_addr;
	ev_timer_init(&ss->timer, check_cb, STREAMS_CHECK_SECONDS, STREAMS_CHECK_SECONDS);
	ss->timer.data = ss;
	return ss;
}

static void slot_free(struct stream_slot *sl)
{
	sodium_memzero(sl, sizeof *sl);
	free(sl);
}

void streams_free(struct streams *ss)
{
	if (!ss)
		return;
	ev_timer_stop(ss->loop, &ss->timer);
	while (ss->slots) {
		struct stream_slot *sl = ss->slots;
		ss->slots = sl->next;
		slot_free(sl);
	}
	free(ss);
}

static void sweep(struct streams *ss)
{
	struct stream_slot **pp = &ss->slots;
	while (*pp) {
		struct stream_slot *sl = *pp;
		if (sl->dead) {
			*pp = sl->next;
			slot_free(sl);
		} else {
			pp = &sl->next;
		}
	}
}

struct stream_slot *streams_open(struct streams *ss, const struct caller *who, const char *addr,
                                 stream_end_fn end, void *ctx, int *status, const char **why)
{
	char unit[sizeof ((struct stream_slot *)0)->addr];
	throttle_addr_unit(addr, unit, sizeof unit);
	int per_user = 0, per_addr = 0;
	for (const struct stream_slot *sl = ss->slots; sl; sl = sl->next) {
		if (sl->dead)
			continue;
		per_user += sl->user_id == who->user.id;
		per_addr += strcmp(sl->addr, unit) == 0;
	}
	*status = 429;
	if (per_user >= ss->max_per_user) {
		log_reject("streams", "refused a live stream of %s from %s: %d open, the most "
		           "max_streams_per_user allows", who->user.name, addr, per_user);
		*why = "too many live streams open for this user (max_streams_per_user)";
		return NULL;
	}
	if (per_addr >= ss->max_per_addr) {
		log_reject("streams", "refused a live stream of %s from %s: %d open from %s, the "
		           "most max_streams_per_address allows", who->user.name, addr, per_addr, unit);
		*why = "too many live streams open from this address (max_streams_per_address)";
		return NULL;
	}
	struct stream_slot *sl = calloc(1, sizeof *sl);
	if (!sl) {
		*status = 503;
		*why = "out of memory";
		return NULL;
	}
	sl->user_id = who->user.id;
	sl->via = who->via;
	memcpy(sl->session_hash, who->session_hash, sizeof sl->session_hash);
	snprintf(sl->pwhash, sizeof sl->pwhash, "%s", who->user.pwhash);
	snprintf(sl->addr, sizeof sl->addr, "%s", unit);
	sl->end = end;
	sl->ctx = ctx;
	sl->next = ss->slots;
	ss->slots = sl;
	if (ss->n++ == 0)
		ev_timer_again(ss->loop, &ss->timer);
	return sl;
}

void streams_close(struct streams *ss, struct stream_slot *sl)
{
	if (!sl || sl->dead)
		return;
	sl->dead = 1;
	if (--ss->n == 0)
		ev_timer_stop(ss->loop, &ss->timer);
	if (!ss->walking)
		sweep(ss);
}

/* The live sessions of one user, as store_user_creds lists them. */
struct sess_list {
	struct {
		unsigned char hash[TOKEN_HASH_LEN];
		int64_t       created_ms;
	} *v;
	size_t n, cap;
};

static void sess_add(void *ctx, const unsigned char id_hash[TOKEN_HASH_LEN], int64_t created_ms)
{
	struct sess_list *l = ctx;
	array_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
	memcpy(l->v[l->n].hash, id_hash, TOKEN_HASH_LEN);
	l->v[l->n].created_ms = created_ms;
	l->n++;
}

/* NULL while sl's credential holds, else why it does not. */
static const char *slot_stale(const struct streams *ss, const struct stream_slot *sl, int rc,
                              const char *pwhash, const struct sess_list *l, int64_t now)
{
	if (rc == STORE_NOTFOUND)
		return "user deleted";
	if (sl->via != VIA_SESSION)
		return strcmp(pwhash, sl->pwhash) == 0 ? NULL : "password changed";
	for (size_t i = 0; i < l->n; i++)
		if (sodium_memcmp(l->v[i].hash, sl->session_hash, TOKEN_HASH_LEN) == 0)
			return now < l->v[i].created_ms + ss->lifetime_ms ? NULL : "session expired";
	/* Logout, expiry, trimming and a new password all delete it. */
	return "signed out";
}

/* Checks every open slot of user_id against one read of the store. */
static void check_user(struct streams *ss, int64_t user_id, int64_t now)
{
	char pwhash[PWHASH_LEN] = "";
	struct sess_list l = { NULL, 0, 0 };
	int rc = store_user_creds(ss->store, user_id, now, pwhash, sess_add, &l);
	if (rc == STORE_ERR)
		log_warnx("live streams: checking credentials: %s", store_errmsg(ss->store));
	for (struct stream_slot *sl = ss->slots; sl; sl = sl->next) {
		if (sl->dead || sl->user_id != user_id)
			continue;
		sl->checked = 1;
		const char *why = rc == STORE_ERR || sl->ended ? NULL
		                  : slot_stale(ss, sl, rc, pwhash, &l, now);
		if (why) {
			sl->ended = 1;
			sl->end(sl->ctx, why);
		}
	}
	sodium_memzero(pwhash, sizeof pwhash);
	free(l.v);
}

void streams_check(struct streams *ss)
{
	if (ss->walking)
		return;
	ss->walking = 1;
	int64_t now = now_ms();
	for (struct stream_slot *sl = ss->slots; sl; sl = sl->next)
		sl->checked = 0;
	for (struct stream_slot *sl = ss->slots; sl; sl = sl->next)
		if (!sl->dead && !sl->checked)
			check_user(ss, sl->user_id, now);
	ss->walking = 0;
	sweep(ss);
}

size_t streams_count(const struct streams *ss)
{
	return ss->n;
}
