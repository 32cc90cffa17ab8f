/* Token buckets for password checks; see throttle.h for the policy. Three
 * fixed pools of THROTTLE_MAX_KEYS entries (users, addresses, trusted
 * user+address pairs), each chained in a hash table keyed with SipHash (a
 * random key per process, so no one can pick names that all land in one
 * chain). Entries are dropped only when idle: their bucket is full again
 * and they hold no trust. */
#include "webapp/throttle.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/log.h"
#include "base/point.h"
#include "store/store.h"

#define NBUCKETS  (THROTTLE_MAX_KEYS * 2)
#define KEY_MAX   160               /* a user name, '\n', an address */
#define NIL       UINT32_MAX
/* After a sweep of a full table found nothing to drop, new keys are
 * refused for this long without sweeping again, so a flood of new
 * addresses cannot make every request scan the table. */
#define SWEEP_PAUSE 1.0

enum { TOOK_USER = 1, TOOK_ADDR = 2, TOOK_PAIR = 4 };

struct tentry {
	char     key[KEY_MAX];
	double   tokens;                /* as of `at` */
	double   at;
	double   trusted_until;         /* pairs: the address signed in as the user */
	uint32_t chain;                 /* next in the bucket, or in the free list */
	int      used;
};

struct ttable {
	struct tentry e[THROTTLE_MAX_KEYS];
	uint32_t      head[NBUCKETS];
	uint32_t      free;
	double        burst, period;
	double        no_room_until;
};

struct tables {
	struct ttable user, addr, pair;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

/* One of the two: the tables of this process, or the store's rows that
 * every webapp process shares (keys prefixed with scope). */
struct throttle {
	struct tables *m;
	struct store  *store;
	char           scope[16];
};

static void table_init(struct ttable *tab, double burst, double period)
{
	memset(tab, 0, sizeof *tab);
	for (size_t i = 0; i < NBUCKETS; i++)
		tab->head[i] = NIL;
	for (uint32_t i = 0; i < THROTTLE_MAX_KEYS; i++)
		tab->e[i].chain = i + 1 < THROTTLE_MAX_KEYS ? i + 1 : NIL;
	tab->free = 0;
	tab->burst = burst;
	tab->period = period;
}

struct throttle *throttle_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct throttle *t = calloc(1, sizeof *t);
	struct tables *m = malloc(sizeof *m);
	if (!t || !m) {
		free(t);
		free(m);
		return NULL;
	}
	table_init(&m->user, THROTTLE_USER_BURST, THROTTLE_USER_PERIOD);
	table_init(&m->addr, THROTTLE_ADDR_BURST, THROTTLE_ADDR_PERIOD);
	table_init(&m->pair, THROTTLE_PAIR_BURST, THROTTLE_PAIR_PERIOD);
	randombytes_buf(m->hkey, sizeof m->hkey);
	t->m = m;
	return t;
}

struct throttle *throttle_new_shared(struct store *s, const char *scope)
{
	struct throttle *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->store = s;
	snprintf(t->scope, sizeof t->scope, "%s", scope);
	return t;
}

void throttle_free(struct throttle *t)
{
	if (t)
		free(t->m);
	free(t);
}

static uint32_t bucket_of(const struct tables *t, const char *key)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;
	crypto_shorthash(h, (const unsigned char *)key, strlen(key), t->hkey);
	memcpy(&v, h, sizeof v);
	return (uint32_t)(v % NBUCKETS);
}

static double tokens_at(const struct ttable *tab, const struct tentry *e, double now)
{
	double elapsed = now > e->at ? now - e->at : 0;
	double n = e->tokens + elapsed / tab->period;
	return n < tab->burst ? n : tab->burst;
}

static int entry_idle(const struct ttable *tab, const struct tentry *e, double now)
{
	return tokens_at(tab, e, now) >= tab->burst && e->trusted_until <= now;
}

static uint32_t entry_find(const struct tables *t, const struct ttable *tab, const char *key)
{
	for (uint32_t i = tab->head[bucket_of(t, key)]; i != NIL; i = tab->e[i].chain)
		if (strcmp(tab->e[i].key, key) == 0)
			return i;
	return NIL;
}

static void entry_remove(const struct tables *t, struct ttable *tab, uint32_t i)
{
	uint32_t *p = &tab->head[bucket_of(t, tab->e[i].key)];
	while (*p != NIL && *p != i)
		p = &tab->e[*p].chain;
	if (*p == i)
		*p = tab->e[i].chain;
	memset(&tab->e[i], 0, sizeof tab->e[i]);
	tab->e[i].chain = tab->free;
	tab->free = i;
}

/* Drops every idle entry; whether any room was made. */
static int table_sweep(const struct tables *t, struct ttable *tab, double now)
{
	if (now < tab->no_room_until)
		return 0;
	for (uint32_t i = 0; i < THROTTLE_MAX_KEYS; i++)
		if (tab->e[i].used && entry_idle(tab, &tab->e[i], now))
			entry_remove(t, tab, i);
	if (tab->free != NIL)
		return 1;
	tab->no_room_until = now + SWEEP_PAUSE;
	return 0;
}

/* A new entry with a full bucket, or NIL when the table has no room. */
static uint32_t entry_add(const struct tables *t, struct ttable *tab, const char *key,
                          double now)
{
	if (tab->free == NIL && !table_sweep(t, tab, now))
		return NIL;
	uint32_t i = tab->free;
	struct tentry *e = &tab->e[i];
	tab->free = e->chain;
	memset(e, 0, sizeof *e);
	e->used = 1;
	snprintf(e->key, sizeof e->key, "%s", key);
	e->tokens = tab->burst;
	e->at = now;
	uint32_t b = bucket_of(t, key);
	e->chain = tab->head[b];
	tab->head[b] = i;
	return i;
}

/* Seconds until entry i (NIL: none, so a full bucket) has a token. */
static double entry_wait(const struct ttable *tab, uint32_t i, double now)
{
	if (i == NIL)
		return 0;
	double n = tokens_at(tab, &tab->e[i], now);
	return n >= 1 ? 0 : (1 - n) * tab->period;
}

static void entry_take(struct ttable *tab, uint32_t i, double now)
{
	tab->e[i].tokens = tokens_at(tab, &tab->e[i], now) - 1;
	tab->e[i].at = now;
}

static void give_back(const struct tables *t, struct ttable *tab, const char *key, double now)
{
	uint32_t i = entry_find(t, tab, key);
	if (i == NIL)
		return;             /* dropped once full again: nothing owed */
	double n = tokens_at(tab, &tab->e[i], now) + 1;
	tab->e[i].tokens = n < tab->burst ? n : tab->burst;
	tab->e[i].at = now;
}

void throttle_addr_unit(const char *addr, char *out, size_t len)
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];
	if (inet_pton(AF_INET6, addr, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
		memset(a6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a6, text, sizeof text)) {
			snprintf(out, len, "%s/64", text);
			return;
		}
	}
	snprintf(out, len, "%s", addr);
}

static void addr_key(const char *addr, char out[KEY_MAX])
{
	throttle_addr_unit(addr, out, KEY_MAX);
}

static void pair_key(const char *user, const char *akey, char out[KEY_MAX])
{
	snprintf(out, KEY_MAX, "%.64s\n%.80s", user, akey);
}

static double mem_take(struct tables *t, const char *addr, const char *user, double now,
                       struct throttle_ticket *tk)
{
	char akey[KEY_MAX], pkey[KEY_MAX];
	tk->took = 0;
	addr_key(addr, akey);
	if (user) {
		pair_key(user, akey, pkey);
		uint32_t p = entry_find(t, &t->pair, pkey);
		if (p != NIL && t->pair.e[p].trusted_until > now) {
			double w = entry_wait(&t->pair, p, now);
			if (w > 0)
				return w;
			entry_take(&t->pair, p, now);
			tk->took = TOOK_PAIR;
			return 0;
		}
	}
	uint32_t u = user ? entry_find(t, &t->user, user) : NIL;
	uint32_t a = entry_find(t, &t->addr, akey);
	double w = entry_wait(&t->user, u, now), wa = entry_wait(&t->addr, a, now);
	if (wa > w)
		w = wa;
	if (w > 0)
		return w;
	if (user && u == NIL && (u = entry_add(t, &t->user, user, now)) == NIL)
		return SWEEP_PAUSE;
	if (a == NIL)
		a = entry_add(t, &t->addr, akey, now);
	if (u != NIL) {
		entry_take(&t->user, u, now);
		tk->took |= TOOK_USER;
	}
	if (a != NIL) {
		entry_take(&t->addr, a, now);
		tk->took |= TOOK_ADDR;
	}
	return 0;
}

static void mem_cancel(struct tables *t, const char *addr, const char *user, double now,
                       const struct throttle_ticket *tk)
{
	char akey[KEY_MAX], pkey[KEY_MAX];
	addr_key(addr, akey);
	if ((tk->took & TOOK_USER) && user)
		give_back(t, &t->user, user, now);
	if (tk->took & TOOK_ADDR)
		give_back(t, &t->addr, akey, now);
	if ((tk->took & TOOK_PAIR) && user) {
		pair_key(user, akey, pkey);
		give_back(t, &t->pair, pkey, now);
	}
}

static void mem_success(struct tables *t, const char *addr, const char *user, double now,
                        const struct throttle_ticket *tk)
{
	char akey[KEY_MAX], pkey[KEY_MAX];
	mem_cancel(t, addr, user, now, tk);
	if (!user)
		return;
	addr_key(addr, akey);
	pair_key(user, akey, pkey);
	uint32_t p = entry_find(t, &t->pair, pkey);
	if (p == NIL)
		p = entry_add(t, &t->pair, pkey, now);
	if (p != NIL)
		t->pair.e[p].trusted_until = now + THROTTLE_TRUST_FOR;
}

/* ---- shared: the store's buckets (wall-clock ms) ---- */

/* A store that cannot answer refuses the check for this long: guesses
 * are never let through unbudgeted. */
#define STORE_DOWN_WAIT 1.0

struct shared_keys {
	char user[STORE_BUCKET_KEY_MAX + 1], addr[STORE_BUCKET_KEY_MAX + 1],
	     pair[STORE_BUCKET_KEY_MAX + 1];
	struct store_bucket b[STORE_BUCKETS_MAX];
};

static void shared_keys(const struct throttle *t, const char *addr, const char *user,
                        struct shared_keys *k)
{
	char akey[KEY_MAX];
	addr_key(addr, akey);
	snprintf(k->user, sizeof k->user, "%s\nu\n%.64s", t->scope, user ? user : "");
	snprintf(k->addr, sizeof k->addr, "%s\na\n%.80s", t->scope, akey);
	snprintf(k->pair, sizeof k->pair, "%s\np\n%.64s\n%.80s", t->scope, user ? user : "",
	         akey);
}

static struct store_bucket bucket(const char *key, double burst, double period)
{
	return (struct store_bucket){ key, burst, (int64_t)(period * 1000) };
}

/* The buckets of a ticket. */
static size_t took_buckets(struct shared_keys *k, unsigned took)
{
	size_t n = 0;
	if (took & TOOK_USER)
		k->b[n++] = bucket(k->user, THROTTLE_USER_BURST, THROTTLE_USER_PERIOD);
	if (took & TOOK_ADDR)
		k->b[n++] = bucket(k->addr, THROTTLE_ADDR_BURST, THROTTLE_ADDR_PERIOD);
	if (took & TOOK_PAIR)
		k->b[n++] = bucket(k->pair, THROTTLE_PAIR_BURST, THROTTLE_PAIR_PERIOD);
	return n;
}

static double store_down(struct throttle *t)
{
	log_warnx("throttle: %s", store_errmsg(t->store));
	return STORE_DOWN_WAIT;
}

static double shared_take(struct throttle *t, const char *addr, const char *user,
                          struct throttle_ticket *tk)
{
	struct shared_keys k;
	int64_t now = now_ms(), wait;
	shared_keys(t, addr, user, &k);
	unsigned took = TOOK_ADDR;
	if (user) {
		int rc = store_trust_get(t->store, k.pair, now);
		if (rc == STORE_ERR)
			return store_down(t);
		took = rc == STORE_OK ? TOOK_PAIR : TOOK_USER | TOOK_ADDR;
	}
	size_t n = took_buckets(&k, took);
	if (store_bucket_take(t->store, k.b, n, now, &wait) != STORE_OK)
		return store_down(t);
	if (wait > 0)
		return (double)wait / 1000;
	tk->took = took;
	return 0;
}

static void shared_cancel(struct throttle *t, const char *addr, const char *user,
                          const struct throttle_ticket *tk)
{
	struct shared_keys k;
	shared_keys(t, addr, user, &k);
	size_t n = took_buckets(&k, user ? tk->took : tk->took & TOOK_ADDR);
	if (n && store_bucket_give(t->store, k.b, n, now_ms()) != STORE_OK)
		log_warnx("throttle: %s", store_errmsg(t->store));
}

static void shared_success(struct throttle *t, const char *addr, const char *user,
                           const struct throttle_ticket *tk)
{
	shared_cancel(t, addr, user, tk);
	if (!user)
		return;
	struct shared_keys k;
	shared_keys(t, addr, user, &k);
	if (store_trust_set(t->store, k.pair, now_ms() + (int64_t)(THROTTLE_TRUST_FOR * 1000)) !=
	    STORE_OK)
		log_warnx("throttle: %s", store_errmsg(t->store));
}

double throttle_take(struct throttle *t, const char *addr, const char *user, double now,
                     struct throttle_ticket *tk)
{
	tk->took = 0;
	return t->store ? shared_take(t, addr, user, tk) : mem_take(t->m, addr, user, now, tk);
}

void throttle_cancel(struct throttle *t, const char *addr, const char *user, double now,
                     const struct throttle_ticket *tk)
{
	if (t->store)
		shared_cancel(t, addr, user, tk);
	else
		mem_cancel(t->m, addr, user, now, tk);
}

void throttle_success(struct throttle *t, const char *addr, const char *user, double now,
                      const struct throttle_ticket *tk)
{
	if (t->store)
		shared_success(t, addr, user, tk);
	else
		mem_success(t->m, addr, user, now, tk);
}

int64_t throttle_purge(struct throttle *t)
{
	return t->store ? store_bucket_purge(t->store, now_ms()) : 0;
}
