#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "receiver/credcache.h"
#include "store/store.h"
#include "test.h"

static void key_of(const char *text, unsigned char key[TOKEN_HASH_LEN])
{
	auth_token_hash(text, key);
}

TEST(credcache_hit_miss_and_sync)
{
	struct credcache *c = malloc(sizeof *c);
	unsigned char k1[TOKEN_HASH_LEN], k2[TOKEN_HASH_LEN];
	int64_t id = 0;
	char user[65];
	credcache_init(c);
	key_of("token-one-aaaaaaaaaaaaaaaaaa", k1);
	key_of("token-two-bbbbbbbbbbbbbbbbbb", k2);
	/* Not synced yet: nothing is remembered. */
	credcache_put(c, k1, 7, "alice");
	CHECK(!credcache_get(c, k1, &id, user));
	credcache_sync(c, 3);
	credcache_put(c, k1, 7, "alice");
	CHECK(credcache_get(c, k1, &id, user));
	CHECK_INT(id, 7);
	CHECK_STR(user, "alice");
	CHECK(!credcache_get(c, k2, &id, user));
	credcache_sync(c, 3);                  /* same generation: kept */
	CHECK(credcache_get(c, k1, &id, user));
	credcache_sync(c, 4);                  /* moved: forgotten */
	CHECK(!credcache_get(c, k1, &id, user));
	free(c);
}

TEST(credcache_many_entries_stay_correct)
{
	struct credcache *c = malloc(sizeof *c);
	credcache_init(c);
	credcache_sync(c, 1);
	char text[64], user[65];
	unsigned char k[TOKEN_HASH_LEN];
	int64_t id;
	for (int i = 1; i <= 3000; i++) {
		snprintf(text, sizeof text, "tok-%d", i);
		key_of(text, k);
		credcache_put(c, k, i, "u");
		CHECK(credcache_get(c, k, &id, user));
		CHECK_INT(id, i);
	}
	/* Whatever is still cached maps to the right device. */
	for (int i = 1; i <= 3000; i++) {
		snprintf(text, sizeof text, "tok-%d", i);
		key_of(text, k);
		if (credcache_get(c, k, &id, user))
			CHECK_INT(id, i);
	}
	free(c);
}

TEST(store_cred_generation_moves_on_every_credential_change)
{
	char dir[] = "/tmp/mintrac-gen-XXXXXX", path[256], err[256];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/t.db", dir);
	struct store *s = store_open(path, STORE_CREATE, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	unsigned char h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
	key_of("first-token-xxxxxxxxxxxxxxxx", h1);
	key_of("second-token-xxxxxxxxxxxxxxx", h2);
	int64_t g0 = store_cred_generation(s), g, dev;
	CHECK(g0 >= 0);
	CHECK_INT(store_user_add(s, "alice", "$argon2id$x"), STORE_OK);
	struct user_rec u;
	CHECK_INT(store_user_get(s, "alice", &u), STORE_OK);
	CHECK_INT(store_device_add(s, u.id, "phone", h1, NULL, &dev), STORE_OK);
	g = store_cred_generation(s);
	CHECK(g > g0);
	CHECK_INT(store_device_set_token(s, dev, h2), STORE_OK);
	CHECK(store_cred_generation(s) > g);
	g = store_cred_generation(s);
	/* Fixes are no credential change. */
	struct fix f;
	fix_init(&f);
	f.time_ms = 1000;
	f.lat = 1;
	f.lon = 2;
	int ins;
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_put_fix(s, dev, &f, &ins), STORE_OK);
	CHECK_INT(store_commit(s), STORE_OK);
	CHECK_INT(store_cred_generation(s), g);
	CHECK_INT(store_device_del(s, dev), STORE_OK);
	CHECK(store_cred_generation(s) > g);
	g = store_cred_generation(s);
	CHECK_INT(store_user_del(s, "alice"), STORE_OK);
	CHECK(store_cred_generation(s) > g);
	store_close(s);
	unlink(path);
	snprintf(path, sizeof path, "%s/t.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/t.db-shm", dir);
	unlink(path);
	rmdir(dir);
}
