/* Credentials with libsodium. Tokens carry 192 random bits and are stored
 * only as SHA-256 (a leaked database reveals no usable token); passwords
 * are argon2id at OWASP's minimum setting, so `user add` and each login
 * stay fast on a Raspberry Pi. */
#include "base/auth.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_RAW_BYTES (TOKEN_LEN * 3 / 4)    /* 24 bytes = 32 base64url chars */
#define PW_OPSLIMIT     2
#define PW_MEMLIMIT     (19u * 1024 * 1024)

_Static_assert(PWHASH_LEN >= crypto_pwhash_STRBYTES, "PWHASH_LEN holds an encoded hash");
_Static_assert(TOKEN_HASH_LEN == crypto_hash_sha256_BYTES, "token hash is SHA-256");
_Static_assert(TOKEN_RAW_BYTES * 8 >= 128, "a token has at least 128 random bits");

int auth_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

static int fill_random(unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int auth_token_new(char out[TOKEN_LEN + 1])
{
	unsigned char raw[TOKEN_RAW_BYTES];
	char enc[sodium_base64_ENCODED_LEN(TOKEN_RAW_BYTES,
	                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	if (fill_random(raw, sizeof raw) != 0)
		return -1;
	/* URL-safe alphabet without padding: [A-Za-z0-9_-] only. */
	sodium_bin2base64(enc, sizeof enc, raw, sizeof raw,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	memcpy(out, enc, TOKEN_LEN);
	out[TOKEN_LEN] = '\0';
	sodium_memzero(enc, sizeof enc);
	return strlen(out) == TOKEN_LEN ? 0 : -1;
}

void auth_token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN])
{
	crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

int auth_token_syntax_ok(const char *token)
{
	if (!token)
		return 0;
	size_t n = 0;
	for (const char *p = token; *p; p++, n++) {
		char c = *p;
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		         (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (!ok || n >= 128)
			return 0;
	}
	return n >= 22;
}

int auth_hash_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

int auth_password_hash(const char *pw, char out[PWHASH_LEN])
{
	return crypto_pwhash_str_alg(out, pw, strlen(pw), PW_OPSLIMIT, PW_MEMLIMIT,
	                             crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -1;
}

int auth_password_standin(char out[PWHASH_LEN])
{
	unsigned char salt[crypto_pwhash_SALTBYTES], digest[32];
	char s64[sodium_base64_ENCODED_LEN(sizeof salt, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	char d64[sodium_base64_ENCODED_LEN(sizeof digest, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	if (fill_random(salt, sizeof salt) != 0 || fill_random(digest, sizeof digest) != 0)
		return -1;
	sodium_bin2base64(s64, sizeof s64, salt, sizeof salt, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_bin2base64(d64, sizeof d64, digest, sizeof digest,
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	/* The encoding crypto_pwhash_str_alg writes (memory in KiB). */
	int n = snprintf(out, PWHASH_LEN, "$argon2id$v=19$m=%u,t=%u,p=1$%s$%s",
	                 (unsigned)(PW_MEMLIMIT / 1024), (unsigned)PW_OPSLIMIT, s64, d64);
	return n > 0 && n < PWHASH_LEN ? 0 : -1;
}

int auth_password_verify(const char *pw, const char *hash)
{
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}
