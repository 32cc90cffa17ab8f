/* Credentials: device tokens (random, stored hashed, compared in constant
 * time) and user passwords (argon2id via libsodium). */
#ifndef MINTRAC_AUTH_H
#define MINTRAC_AUTH_H
#include <stddef.h>

#define TOKEN_LEN      32   /* characters of [A-Za-z0-9_-]: 192 random bits */
#define TOKEN_HASH_LEN 32
#define PWHASH_LEN     128  /* buffer size for an encoded argon2id hash */

int  auth_init(void);                                  /* sodium_init; -1 on error */
/* New token: TOKEN_LEN chars + NUL from getrandom(). 0 ok, -1 error. */
int  auth_token_new(char out[TOKEN_LEN + 1]);
/* SHA-256 of the token text; what the database stores and looks up. */
void auth_token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN]);
int  auth_token_syntax_ok(const char *token);          /* [A-Za-z0-9_-]{22,128} */
int  auth_hash_equal(const unsigned char *a, const unsigned char *b, size_t n); /* constant time */
int  auth_password_hash(const char *pw, char out[PWHASH_LEN]);   /* 0 ok */
int  auth_password_verify(const char *pw, const char *hash);      /* 1 match, 0 not */
/* An encoded hash with the same cost as auth_password_hash's but a random
 * salt and digest, so no password is known to match it; made without
 * hashing (instant). Checked for names that are no user, so that their
 * answer takes as long as a wrong password's. 0 ok. */
int  auth_password_standin(char out[PWHASH_LEN]);
#endif
