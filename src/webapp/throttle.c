/* Failed sign-ins per address and per user name; see throttle.h for the
 * policy. A fixed pool of THROTTLE_MAX_KEYS entries, chained in a hash
 * table keyed with SipHash (a random key per process, so no one can pick
 * names that all land in one chain) and kept on a list from the most to
 * the least recently failed, whose tail is evicted when the pool is full. */
#include "webapp/throttle.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NBUCKETS  (THROTTLE_MAX_KEYS * 2)
#define KEY_MAX   160               /* "u:" + a name; longer names are cut */
#define NIL       UINT32_MAX

struct tentry {
	char     key[KEY_MAX];
	unsigned fails;
	double   last;                  /* time of the last failure */
	uint32_t chain;                 /* next in the bucket */
	uint32_t newer, older;          /* recency list, or free list (older) */
};

struct throttle {
	struct tentry e[THROTTLE_MAX_KEYS];
	uint32_t      bucket[NBUCKETS];
	uint32_t      newest, oldest;   /* recency list ends */
	uint32_t      free;             /* unused entries, linked by older */
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

struct throttle *throttle_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct throttle *t = malloc(sizeof *t);
	if (!t)
		return NULL;
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < NBUCKETS; i++)
		t->bucket[i] = NIL;
	for (uint32_t i = 0; i < THROTTLE_MAX_KEYS; i++)
		t->e[i].older = i + 1 < THROTTLE_MAX_KEYS ? i + 1 : NIL;
	t->free = 0;
	t->newest = t->oldest = NIL;
	randombytes_buf(t->hkey, sizeof t->hkey);
	return t;
}

void throttle_free(struct throttle *t)
{
	free(t);
}

static void make_key(char out[KEY_MAX], char kind, const char *s)
{
	snprintf(out, KEY_MAX, "%c:%s", kind, s);
}

static uint32_t bucket_of(const struct throttle *t, const char *key)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;
	crypto_shorthash(h, (const unsigned char *)key, strlen(key), t->hkey);
	memcpy(&v, h, sizeof v);
	return (uint32_t)(v % NBUCKETS);
}

static void list_unlink(struct throttle *t, uint32_t i)
{
	struct tentry *e = &t->e[i];
	if (e->newer != NIL)
		t->e[e->newer].older = e->older;
	else
		t->newest = e->older;
	if (e->older != NIL)
		t->e[e->older].newer = e->newer;
	else
		t->oldest = e->newer;
	e->newer = e->older = NIL;
}

static void list_push_newest(struct throttle *t, uint32_t i)
{
	struct tentry *e = &t->e[i];
	e->newer = NIL;
	e->older = t->newest;
	if (t->newest != NIL)
		t->e[t->newest].newer = i;
	t->newest = i;
	if (t->oldest == NIL)
		t->oldest = i;
}

static void entry_remove(struct throttle *t, uint32_t i)
{
	uint32_t *p = &t->bucket[bucket_of(t, t->e[i].key)];
	while (*p != NIL && *p != i)
		p = &t->e[*p].chain;
	if (*p == i)
		*p = t->e[i].chain;
	list_unlink(t, i);
	memset(&t->e[i], 0, sizeof t->e[i]);
	t->e[i].chain = t->e[i].newer = NIL;
	t->e[i].older = t->free;
	t->free = i;
}

/* The entry for key, or NIL. One forgotten (no failure for THROTTLE_FORGET)
 * is removed on the way, as if it had never been. */
static uint32_t entry_find(struct throttle *t, const char *key, double now)
{
	for (uint32_t i = t->bucket[bucket_of(t, key)]; i != NIL; i = t->e[i].chain) {
		if (strcmp(t->e[i].key, key) != 0)
			continue;
		if (now - t->e[i].last >= THROTTLE_FORGET) {
			entry_remove(t, i);
			return NIL;
		}
		return i;
	}
	return NIL;
}

static uint32_t entry_add(struct throttle *t, const char *key)
{
	if (t->free == NIL)
		entry_remove(t, t->oldest);
	uint32_t i = t->free;
	struct tentry *e = &t->e[i];
	t->free = e->older;
	memset(e, 0, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s", key);
	uint32_t b = bucket_of(t, key);
	e->chain = t->bucket[b];
	t->bucket[b] = i;
	list_push_newest(t, i);
	return i;
}

/* Seconds a key still has to wait at now. */
static double key_wait(struct throttle *t, const char *key, double now)
{
	uint32_t i = entry_find(t, key, now);
	if (i == NIL || t->e[i].fails <= THROTTLE_FREE)
		return 0;
	unsigned extra = t->e[i].fails - THROTTLE_FREE - 1;
	double delay = ldexp(1.0, extra > 30 ? 30 : (int)extra);
	if (delay > THROTTLE_MAX_WAIT)
		delay = THROTTLE_MAX_WAIT;
	double w = t->e[i].last + delay - now;
	return w > 0 ? w : 0;
}

double throttle_wait(struct throttle *t, const char *addr, const char *user, double now)
{
	char key[KEY_MAX];
	make_key(key, 'a', addr);
	double w = key_wait(t, key, now);
	if (user) {
		make_key(key, 'u', user);
		double wu = key_wait(t, key, now);
		if (wu > w)
			w = wu;
	}
	return w;
}

static void key_fail(struct throttle *t, const char *key, double now)
{
	uint32_t i = entry_find(t, key, now);
	if (i == NIL) {
		i = entry_add(t, key);
	} else {
		list_unlink(t, i);
		list_push_newest(t, i);
	}
	if (t->e[i].fails < UINT32_MAX)
		t->e[i].fails++;
	t->e[i].last = now;
}

void throttle_fail(struct throttle *t, const char *addr, const char *user, double now)
{
	char key[KEY_MAX];
	make_key(key, 'a', addr);
	key_fail(t, key, now);
	if (user) {
		make_key(key, 'u', user);
		key_fail(t, key, now);
	}
}

static void key_clear(struct throttle *t, const char *key)
{
	for (uint32_t i = t->bucket[bucket_of(t, key)]; i != NIL; i = t->e[i].chain) {
		if (strcmp(t->e[i].key, key) == 0) {
			entry_remove(t, i);
			return;
		}
	}
}

void throttle_success(struct throttle *t, const char *addr, const char *user)
{
	char key[KEY_MAX];
	make_key(key, 'a', addr);
	key_clear(t, key);
	if (user) {
		make_key(key, 'u', user);
		key_clear(t, key);
	}
}
