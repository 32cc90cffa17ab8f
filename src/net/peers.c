/* Open addressing with linear probing; a removed entry is filled by
 * shifting back the ones after it (no tombstones), so lookups stay short
 * however long the server runs. Entries are allocated apart from the slot
 * array, so a struct peer * stays valid while others come and go. */
#include "net/peers.h"
#include "base/xalloc.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>


struct peers {
	struct peer **slot;
	size_t        mask;    /* slots - 1; slots is a power of two */
	size_t        n;
	size_t        max;
};

struct peers *peers_new(size_t max_peers)
{
	struct peers *t = xcalloc(1, sizeof *t);
	size_t slots = 16;
	while (slots < 2 * max_peers)   /* at most half full */
		slots *= 2;
	t->slot = xcalloc(slots, sizeof *t->slot);
	t->mask = slots - 1;
	t->max = max_peers;
	return t;
}

void peers_free(struct peers *t)
{
	if (!t)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		free(t->slot[i]);
	free(t->slot);
	free(t);
}

static int peer_key(const struct sockaddr *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const unsigned char *a = in6->sin6_addr.s6_addr;
		/* An IPv4 client on a dual-stack socket is one address. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			memcpy(key, a, 16);
		else
			memcpy(key, a, 8);
		return 0;
	}
	return -1;
}

/* FNV-1a: the keys are addresses anyone can pick, but the table never
 * holds more than max entries and is at most half full, so a crafted
 * collision chain costs at most max probes. */
static size_t peer_hash(const unsigned char key[16])
{
	uint64_t h = 14695981039346656037u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 1099511628211u;
	return (size_t)h;
}

struct peer *peers_get(struct peers *t, const struct sockaddr *sa)
{
	unsigned char key[16];
	if (peer_key(sa, key) < 0)
		return NULL;
	size_t i = peer_hash(key) & t->mask;
	for (; t->slot[i]; i = (i + 1) & t->mask)
		if (!memcmp(t->slot[i]->key, key, 16))
			return t->slot[i];
	if (t->n >= t->max)
		return NULL;
	struct peer *p = xcalloc(1, sizeof *p);
	memcpy(p->key, key, 16);
	t->slot[i] = p;
	t->n++;
	return p;
}

void peers_put(struct peers *t, struct peer *p)
{
	if (!p || p->conns || p->buffered)
		return;
	size_t i = peer_hash(p->key) & t->mask;
	while (t->slot[i] != p)
		i = (i + 1) & t->mask;
	free(p);
	t->slot[i] = NULL;
	t->n--;
	/* Shift back the entries of the run after i that hash at or before
	 * the hole, so every remaining entry is still reachable. */
	for (size_t j = (i + 1) & t->mask; t->slot[j]; j = (j + 1) & t->mask) {
		size_t home = peer_hash(t->slot[j]->key) & t->mask;
		/* Is home cyclically outside (i, j]? Then it may move to i. */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slot[i] = t->slot[j];
			t->slot[j] = NULL;
			i = j;
		}
	}
}

size_t peers_count(const struct peers *t)
{
	return t->n;
}
