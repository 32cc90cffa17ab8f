/* Cached HTTP Basic verification; see webauth.h for why and how. */
#include "webapp/webauth.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WEBAUTH_SLOTS  64
#define WEBAUTH_TTL_MS (5 * 60 * 1000)
#define WEBAUTH_USER_MAX 65
#define WEBAUTH_PASS_MAX 1024

struct webauth_entry {
	int           used;
	unsigned char key[crypto_generichash_BYTES];
	int64_t       user_id;
	char          user[WEBAUTH_USER_MAX];
	char          pwhash[PWHASH_LEN];   /* what the password was checked against */
	int64_t       expires_ms;
};

struct webauth {
	unsigned char        hkey[crypto_generichash_KEYBYTES];
	struct webauth_entry e[WEBAUTH_SLOTS];
	/* Checked against when the user does not exist, so that a wrong
	 * name costs as long as a wrong password and the timing does not
	 * tell which user names exist. Made on first need. */
	char                 dummy[PWHASH_LEN];
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct webauth *webauth_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct webauth *wa = calloc(1, sizeof *wa);
	if (!wa)
		return NULL;
	randombytes_buf(wa->hkey, sizeof wa->hkey);
	return wa;
}

void webauth_free(struct webauth *wa)
{
	if (!wa)
		return;
	sodium_memzero(wa, sizeof *wa);
	free(wa);
}

static void cache_key(const struct webauth *wa, const char *user, const char *pass,
                      unsigned char out[crypto_generichash_BYTES])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, wa->hkey, sizeof wa->hkey, crypto_generichash_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
	crypto_generichash_update(&st, (const unsigned char *)pass, strlen(pass));
	crypto_generichash_final(&st, out, crypto_generichash_BYTES);
	sodium_memzero(&st, sizeof st);
}

static struct webauth_entry *cache_find(struct webauth *wa, const unsigned char *key,
                                        int64_t now)
{
	for (size_t i = 0; i < WEBAUTH_SLOTS; i++) {
		struct webauth_entry *e = &wa->e[i];
		if (!e->used)
			continue;
		if (e->expires_ms <= now) {
			sodium_memzero(e, sizeof *e);
			continue;
		}
		if (sodium_memcmp(e->key, key, sizeof e->key) == 0)
			return e;
	}
	return NULL;
}

/* A free slot, else the one closest to expiry (all share one TTL, so that
 * is the oldest). */
static struct webauth_entry *cache_slot(struct webauth *wa)
{
	struct webauth_entry *old = &wa->e[0];
	for (size_t i = 0; i < WEBAUTH_SLOTS; i++) {
		if (!wa->e[i].used)
			return &wa->e[i];
		if (wa->e[i].expires_ms < old->expires_ms)
			old = &wa->e[i];
	}
	return old;
}

int webauth_check(struct webauth *wa, struct store *s, const char *user, const char *pass,
                  struct user_rec *out)
{
	if (!user[0] || strlen(user) >= WEBAUTH_USER_MAX)
		return 0;
	int rc = store_user_get(s, user, out);
	if (rc == STORE_NOTFOUND) {
		unsigned char r[16];
		char junk[2 * sizeof r + 1];
		if (!wa->dummy[0]) {
			randombytes_buf(r, sizeof r);
			sodium_bin2hex(junk, sizeof junk, r, sizeof r);
			if (auth_password_hash(junk, wa->dummy) < 0)
				wa->dummy[0] = 0;
		}
		if (wa->dummy[0])
			(void)auth_password_verify(pass, wa->dummy);
		return 0;
	}
	if (rc != STORE_OK)
		return -1;

	unsigned char key[crypto_generichash_BYTES];
	cache_key(wa, user, pass, key);
	int64_t now = mono_ms();
	struct webauth_entry *e = cache_find(wa, key, now);
	if (e) {
		if (e->user_id == out->id && strcmp(e->pwhash, out->pwhash) == 0) {
			sodium_memzero(key, sizeof key);
			return 1;
		}
		/* Password changed or user re-created: verify afresh. */
		sodium_memzero(e, sizeof *e);
	}

	int ok = auth_password_verify(pass, out->pwhash) == 1;
	if (ok) {
		e = cache_slot(wa);
		e->used = 1;
		memcpy(e->key, key, sizeof key);
		e->user_id = out->id;
		snprintf(e->user, sizeof e->user, "%s", out->name);
		snprintf(e->pwhash, sizeof e->pwhash, "%s", out->pwhash);
		e->expires_ms = now + WEBAUTH_TTL_MS;
	}
	sodium_memzero(key, sizeof key);
	return ok;
}

int webauth_request(struct webauth *wa, struct store *s, const struct http_request *req,
                    struct user_rec *out)
{
	char user[WEBAUTH_USER_MAX + 1], pass[WEBAUTH_PASS_MAX];
	if (http_basic_auth(req, user, sizeof user, pass, sizeof pass) < 0)
		return 0;
	int rc = webauth_check(wa, s, user, pass, out);
	sodium_memzero(pass, sizeof pass);
	return rc;
}
