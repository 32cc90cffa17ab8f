/* HTTP Basic verification for the webapp with a small cache, so a script
 * polling the API does not pay argon2id (~30 ms, 19 MiB) on every request.
 * The cache is keyed by a keyed BLAKE2b of "user\0password" (per-process
 * random key, so no password is kept in memory) and an entry is trusted
 * only while the user's stored hash is the one it was verified against:
 * `user passwd` and `user del` take effect at the very next request. */
#ifndef MINTRAC_WEBAUTH_H
#define MINTRAC_WEBAUTH_H
#include <stdint.h>
#include "net/http.h"
#include "store/store.h"

struct webauth;

struct webauth *webauth_new(void);     /* NULL if libsodium cannot start */
void webauth_free(struct webauth *wa); /* NULL-safe; wipes the cache */

/* 1: user/password valid (*out filled from the store), 0: not, -1: storage error. */
int webauth_check(struct webauth *wa, struct store *s, const char *user, const char *pass,
                  struct user_rec *out);
/* The same for the request's "Authorization: Basic" header (0 when absent). */
int webauth_request(struct webauth *wa, struct store *s, const struct http_request *req,
                    struct user_rec *out);
#endif
