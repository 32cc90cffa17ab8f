/* Credential-guessing guard of the receiver; see guard.h for the policy. */
#include "receiver/guard.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/auth.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "net/server.h"
#include "net/trust.h"

#define NSETS (GUARD_SLOTS / GUARD_WAYS)

struct gentry {
	unsigned char key[16];   /* IPv6, or IPv4-mapped; IPv6 cut to its /64 */
	int           used;
	double        tokens;    /* failures left at time `last` */
	double        last;
};

struct guard {
	const struct trust *trust;
	unsigned char       hkey[crypto_shorthash_KEYBYTES];
	struct gentry       e[GUARD_SLOTS];
	struct gentry       overflow;   /* newcomers to a set of busy entries */
};

struct guard *guard_new(const struct trust *t)
{
	if (sodium_init() < 0)
		return NULL;
	struct guard *g = xcalloc(1, sizeof *g);
	g->trust = t;
	randombytes_buf(g->hkey, sizeof g->hkey);
	g->overflow.used = 1;
	g->overflow.tokens = GUARD_BURST;
	return g;
}

void guard_free(struct guard *g)
{
	free(g);
}

/* One host's key: an IPv6 holder gets a whole /64, so it counts once. */
static int addr_key(const char *addr, unsigned char key[16])
{
	struct in_addr a4;
	memset(key, 0, 16);
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, key) != 1)
		return -1;
	if (!(memcmp(key, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0))
		memset(key + 8, 0, 8);
	return 0;
}

static double level(const struct gentry *e, double now)
{
	double t = e->tokens + (now - e->last) / GUARD_REFILL;
	return t > GUARD_BURST ? GUARD_BURST : t;
}

/* The entry counting key; NULL when it has none and needs none (!create).
 * A way is free when unused or refilled to the full burst. */
static struct gentry *entry_for(struct guard *g, const unsigned char key[16], double now,
                                int create)
{
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, key, 16, g->hkey);
	uint64_t hv;
	memcpy(&hv, h, sizeof hv);
	struct gentry *set = &g->e[(hv % NSETS) * GUARD_WAYS], *free_way = NULL;
	for (size_t i = 0; i < GUARD_WAYS; i++) {
		struct gentry *e = &set[i];
		if (e->used && memcmp(e->key, key, 16) == 0)
			return e;
		if (!free_way && (!e->used || level(e, now) >= GUARD_BURST))
			free_way = e;
	}
	if (!free_way)
		return &g->overflow;
	if (!create)
		return NULL;
	memcpy(free_way->key, key, 16);
	free_way->used = 1;
	free_way->tokens = GUARD_BURST;
	free_way->last = now;
	return free_way;
}

double guard_wait_addr(struct guard *g, const char *addr, double now)
{
	unsigned char key[16];
	if (addr_key(addr, key) < 0)
		return 0;
	struct gentry *e = entry_for(g, key, now, 0);
	if (!e)
		return 0;
	double t = level(e, now);
	return t < 1 ? (1 - t) * GUARD_REFILL : 0;
}

void guard_fail_addr(struct guard *g, const char *addr, double now)
{
	unsigned char key[16];
	if (addr_key(addr, key) < 0)
		return;
	struct gentry *e = entry_for(g, key, now, 1);
	double t = level(e, now) - 1;
	e->tokens = t < 0 ? 0 : t;
	e->last = now;
}

static int is_ident_guess(const char *ident)
{
	return ident && *ident && !auth_token_syntax_ok(ident);
}

double guard_wait(struct guard *g, const struct http_request *req, const char *ident,
                  double now)
{
	if (!is_ident_guess(ident))
		return 0;
	char addr[64];
	trust_client_addr(g->trust, req, addr, sizeof addr);
	return guard_wait_addr(g, addr, now);
}

void guard_fail(struct guard *g, const struct http_request *req, const char *ident,
                double now)
{
	char addr[64];
	if (!is_ident_guess(ident))
		return;
	trust_client_addr(g->trust, req, addr, sizeof addr);
	guard_fail_addr(g, addr, now);
}

void guard_reply(const struct guard *g, struct conn *c, const struct http_request *req,
                 double wait)
{
	static const char body[] = "too many unknown credentials from this address; retry later\n";
	char addr[64], hdr[64];
	long long secs = (long long)ceil(wait);
	trust_client_addr(g->trust, req, addr, sizeof addr);
	snprintf(hdr, sizeof hdr, "Retry-After: %lld\r\n", secs < 1 ? 1 : secs);
	log_reject("guard", "rejected %s %s from %s: 429 too many unknown credentials",
	           req->method, req->path, addr);
	conn_reply(c, 429, "text/plain; charset=utf-8", body, sizeof body - 1, hdr);
}
