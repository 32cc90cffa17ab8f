/* Verified-password memory; see webauth.h for why and how. */
#include "webapp/webauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/auth.h"

struct webauth_entry {
	int           used;
	unsigned char key[WEBAUTH_KEY_LEN];
	int64_t       user_id;
	char          pwhash[PWHASH_LEN];   /* what the password was checked against */
	int64_t       expires_ms;
};

struct webauth {
	unsigned char        hkey[crypto_generichash_KEYBYTES];
	struct webauth_entry e[WEBAUTH_SLOTS];
	char                 standin[PWHASH_LEN];
};

struct webauth *webauth_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct webauth *wa = calloc(1, sizeof *wa);
	if (!wa)
		return NULL;
	randombytes_buf(wa->hkey, sizeof wa->hkey);
	if (auth_password_standin(wa->standin) < 0) {
		webauth_free(wa);
		return NULL;
	}
	return wa;
}

void webauth_free(struct webauth *wa)
{
	if (!wa)
		return;
	sodium_memzero(wa, sizeof *wa);
	free(wa);
}

void webauth_key(const struct webauth *wa, const char *user, const char *pass,
                 unsigned char key[WEBAUTH_KEY_LEN])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, wa->hkey, sizeof wa->hkey, WEBAUTH_KEY_LEN);
	crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
	crypto_generichash_update(&st, (const unsigned char *)pass, strlen(pass));
	crypto_generichash_final(&st, key, WEBAUTH_KEY_LEN);
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

int webauth_cached(struct webauth *wa, const unsigned char key[WEBAUTH_KEY_LEN],
                   const struct user_rec *u, int64_t now_ms)
{
	struct webauth_entry *e = cache_find(wa, key, now_ms);
	if (!e)
		return 0;
	if (e->user_id != u->id || strcmp(e->pwhash, u->pwhash) != 0) {
		/* Password changed or user re-created: verify afresh. */
		sodium_memzero(e, sizeof *e);
		return 0;
	}
	e->expires_ms = now_ms + WEBAUTH_TTL_MS;
	return 1;
}

/* A free slot, else the one closest to expiry (all share one TTL, so that
 * is the least recently used). */
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

void webauth_remember(struct webauth *wa, const unsigned char key[WEBAUTH_KEY_LEN],
                      const struct user_rec *u, int64_t now_ms)
{
	struct webauth_entry *e = cache_find(wa, key, now_ms);
	if (!e)
		e = cache_slot(wa);
	e->used = 1;
	memcpy(e->key, key, WEBAUTH_KEY_LEN);
	e->user_id = u->id;
	snprintf(e->pwhash, sizeof e->pwhash, "%s", u->pwhash);
	e->expires_ms = now_ms + WEBAUTH_TTL_MS;
}

const char *webauth_standin(const struct webauth *wa)
{
	return wa->standin;
}
