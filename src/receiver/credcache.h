/* The receiver's memory of which device a credential names, so a phone's
 * every request does not cost a database read. It is only as fresh as the
 * store's credential generation: the owner checks that once per loop
 * iteration (credcache_sync) and everything is forgotten when it moved.
 * Unknown credentials are never remembered. */
#ifndef MINTRAC_CREDCACHE_H
#define MINTRAC_CREDCACHE_H
#include <stdint.h>
#include "base/auth.h"

#define CREDCACHE_SLOTS 1024   /* power of two; far more devices than one instance has */

struct credcache_entry {
	unsigned char key[TOKEN_HASH_LEN];   /* SHA-256 of the credential */
	int64_t       device_id;             /* 0 = empty slot */
	char          user[65];
};

struct credcache {
	struct credcache_entry slot[CREDCACHE_SLOTS];
	int64_t generation;                  /* -1 = unknown: cache empty */
	size_t  used;
};

void credcache_init(struct credcache *c);
/* Forget everything unless the generation is the one the cache holds. */
void credcache_sync(struct credcache *c, int64_t generation);
/* 1 and fills device_id/user when known, else 0. */
int  credcache_get(const struct credcache *c, const unsigned char key[TOKEN_HASH_LEN],
                   int64_t *device_id, char user[65]);
void credcache_put(struct credcache *c, const unsigned char key[TOKEN_HASH_LEN],
                   int64_t device_id, const char *user);
#endif
