/* Memory of verified passwords, so a script polling the API with HTTP
 * Basic, or a user signing in again, does not pay argon2id (~45 ms,
 * 19 MiB) on every request, and gets in even while guessing from
 * elsewhere throttles the name (signin.c). An entry is keyed by a keyed
 * BLAKE2b of "user\0password" (per-process random key, so no password is
 * kept in memory) and trusted only while the user's stored hash is the one
 * it was verified against: `user passwd` and `user del` take effect at the
 * very next request. Entries slide: one used within WEBAUTH_TTL_MS stays. */
#ifndef MINTRAC_WEBAUTH_H
#define MINTRAC_WEBAUTH_H
#include <stdint.h>
#include <sodium.h>
#include "store/store.h"

#define WEBAUTH_SLOTS   128
#define WEBAUTH_TTL_MS  (60LL * 60 * 1000)
#define WEBAUTH_KEY_LEN crypto_generichash_BYTES

struct webauth;

/* NULL on failure. */
struct webauth *webauth_new(void);
void webauth_free(struct webauth *wa); /* NULL-safe; wipes the cache */

void webauth_key(const struct webauth *wa, const char *user, const char *pass,
                 unsigned char key[WEBAUTH_KEY_LEN]);
/* 1 when key was verified against u's current hash (same user id and
 * stored hash) and used within the TTL before now_ms (monotonic); 0 else. */
int webauth_cached(struct webauth *wa, const unsigned char key[WEBAUTH_KEY_LEN],
                   const struct user_rec *u, int64_t now_ms);
void webauth_remember(struct webauth *wa, const unsigned char key[WEBAUTH_KEY_LEN],
                      const struct user_rec *u, int64_t now_ms);
/* auth_password_standin's hash, made once: checked for a name that is no
 * user, so that the answer takes as long as for a wrong password and its
 * timing does not tell which names exist. */
const char *webauth_standin(const struct webauth *wa);
#endif
