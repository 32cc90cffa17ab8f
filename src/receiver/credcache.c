#include "receiver/credcache.h"

#include <stdio.h>
#include <string.h>

void credcache_init(struct credcache *c)
{
	memset(c, 0, sizeof *c);
	c->generation = -1;
}

void credcache_sync(struct credcache *c, int64_t generation)
{
	if (generation == c->generation && generation >= 0)
		return;
	memset(c->slot, 0, sizeof c->slot);
	c->used = 0;
	c->generation = generation;
}

/* The key is a SHA-256, so its first bytes are already a good hash. */
static size_t home(const unsigned char *key)
{
	size_t h;
	memcpy(&h, key, sizeof h);
	return h & (CREDCACHE_SLOTS - 1);
}

int credcache_get(const struct credcache *c, const unsigned char key[TOKEN_HASH_LEN],
                  int64_t *device_id, char user[65])
{
	for (size_t i = home(key), n = 0; n < CREDCACHE_SLOTS; n++, i = (i + 1) & (CREDCACHE_SLOTS - 1)) {
		const struct credcache_entry *e = &c->slot[i];
		if (!e->device_id)
			return 0;
		if (auth_hash_equal(e->key, key, TOKEN_HASH_LEN)) {
			*device_id = e->device_id;
			snprintf(user, 65, "%s", e->user);
			return 1;
		}
	}
	return 0;
}

void credcache_put(struct credcache *c, const unsigned char key[TOKEN_HASH_LEN],
                   int64_t device_id, const char *user)
{
	if (c->generation < 0)
		return;                      /* not synced: nothing to vouch for it */
	if (c->used >= CREDCACHE_SLOTS / 2) {
		/* Keep probes short: start over rather than fill up. */
		memset(c->slot, 0, sizeof c->slot);
		c->used = 0;
	}
	size_t i = home(key);
	while (c->slot[i].device_id) {
		if (!memcmp(c->slot[i].key, key, TOKEN_HASH_LEN))
			return;
		i = (i + 1) & (CREDCACHE_SLOTS - 1);
	}
	struct credcache_entry *e = &c->slot[i];
	memcpy(e->key, key, TOKEN_HASH_LEN);
	e->device_id = device_id;
	snprintf(e->user, sizeof e->user, "%s", user);
	c->used++;
}
