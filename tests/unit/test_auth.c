/* auth.c: tokens, token hashes, password hashes. */
#include <stdlib.h>
#include <string.h>

#include "base/auth.h"
#include "test.h"

static int token_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

TEST(auth_tokens)
{
	enum { N = 1000 };
	static char tok[N][TOKEN_LEN + 1];
	CHECK_INT(auth_init(), 0);
	for (size_t i = 0; i < N; i++) {
		CHECK_INT(auth_token_new(tok[i]), 0);
		CHECK_INT(strlen(tok[i]), TOKEN_LEN);
		CHECK_INT(strspn(tok[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                         "0123456789_-"), TOKEN_LEN);
		CHECK(auth_token_syntax_ok(tok[i]));
	}
	qsort(tok, N, sizeof tok[0], token_cmp);
	size_t dups = 0;
	for (size_t i = 1; i < N; i++)
		dups += strcmp(tok[i - 1], tok[i]) == 0;
	CHECK_INT(dups, 0);
	/* All 64 symbols turn up over 32,000 characters (none is unreachable). */
	int seen[256] = { 0 }, kinds = 0;
	for (size_t i = 0; i < N; i++)
		for (size_t j = 0; j < TOKEN_LEN; j++)
			kinds += !seen[(unsigned char)tok[i][j]]++;
	CHECK_INT(kinds, 64);
}

TEST(auth_token_hash_stable)
{
	unsigned char a[TOKEN_HASH_LEN], b[TOKEN_HASH_LEN], c[TOKEN_HASH_LEN];
	CHECK_INT(auth_init(), 0);
	auth_token_hash("abcdefghijklmnopqrstuvwxyz", a);
	auth_token_hash("abcdefghijklmnopqrstuvwxyz", b);
	auth_token_hash("abcdefghijklmnopqrstuvwxyZ", c);
	CHECK(auth_hash_equal(a, b, TOKEN_HASH_LEN));
	CHECK(!auth_hash_equal(a, c, TOKEN_HASH_LEN));
	/* SHA-256("abc"), FIPS 180-2 test vector: the stored form is fixed. */
	static const unsigned char abc[TOKEN_HASH_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde,
		0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	auth_token_hash("abc", a);
	CHECK(memcmp(a, abc, TOKEN_HASH_LEN) == 0);
}

TEST(auth_token_syntax)
{
	char long_ok[129], too_long[130];
	memset(long_ok, 'a', 128);
	long_ok[128] = '\0';
	memset(too_long, 'a', 129);
	too_long[129] = '\0';
	CHECK(auth_token_syntax_ok("abcdefghij-_KLMNOPQRS0123"));
	CHECK(auth_token_syntax_ok("abcdefghijklmnopqrstuv"));      /* 22 */
	CHECK(!auth_token_syntax_ok("abcdefghijklmnopqrstu"));      /* 21 */
	CHECK(auth_token_syntax_ok(long_ok));
	CHECK(!auth_token_syntax_ok(too_long));
	CHECK(!auth_token_syntax_ok(""));
	CHECK(!auth_token_syntax_ok(NULL));
	CHECK(!auth_token_syntax_ok("abcdefghijklmnopqrstuv+"));
	CHECK(!auth_token_syntax_ok("abcdefghijklmnopqrstuv/"));
	CHECK(!auth_token_syntax_ok("abcdefghijklmnopqrstuv="));
	CHECK(!auth_token_syntax_ok("abcdefghijklmnopqrstuv "));
	CHECK(!auth_token_syntax_ok("abcdefghijklmnopqrstu\xc3\xa9"));
}

TEST(auth_passwords)
{
	char h1[PWHASH_LEN], h2[PWHASH_LEN];
	CHECK_INT(auth_init(), 0);
	CHECK_INT(auth_password_hash("correct horse", h1), 0);
	CHECK_INT(auth_password_hash("correct horse", h2), 0);
	CHECK(strncmp(h1, "$argon2id$", 10) == 0);
	CHECK(strstr(h1, "m=19456,t=2,") != NULL);
	CHECK(strcmp(h1, h2) != 0);                /* salted */
	CHECK_INT(auth_password_verify("correct horse", h1), 1);
	CHECK_INT(auth_password_verify("correct horse", h2), 1);
	CHECK_INT(auth_password_verify("correct horsE", h1), 0);
	CHECK_INT(auth_password_verify("", h1), 0);
	CHECK_INT(auth_password_verify("correct horse", "not a hash"), 0);
	CHECK_INT(auth_password_hash("", h2), 0);  /* length policy is the CLI's */
	CHECK_INT(auth_password_verify("", h2), 1);
}
