/* Device-token credential of the JSON decoders (OwnTracks, Overland and
 * their Dawarich-compatible paths): `Authorization: Basic` (password =
 * token, user name kept), `Authorization: Bearer TOKEN`, or the query
 * parameter `token` or `api_key`. Static so each decoder stays a
 * self-contained, fuzzable unit. */
#ifndef MINTRAC_PROTO_CRED_H
#define MINTRAC_PROTO_CRED_H
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "net/http.h"
#include "proto/proto.h"

/* Longest credential we look at; a token is 22+ characters. */
#define PCRED_MAX 512

static inline void pcred_set(struct decode *d, const char *tok, size_t n, const char *user)
{
	d->cred = CRED_TOKEN;
	d->secret = xmemdup(tok, n);
	if (user && *user)
		d->user = xmemdup(user, strlen(user));
}

/* Overland's "owntracks" mode sends `Authorization: Basic TOKEN:` with the
 * token NOT base64-encoded. A trailing ':' can never occur in base64, so
 * such a value is taken as a raw token before any decoding; so is a value
 * that did not decode to "user:pass" but looks like a bare token. */
static inline int pcred_raw_basic(const char *h, int decoded_ok, struct decode *d)
{
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Basic", 5) != 0 || (h[5] != ' ' && h[5] != '\t'))
		return 0;
	h += 5;
	while (*h == ' ' || *h == '\t')
		h++;
	size_t n = strlen(h);
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	int colon = n && h[n - 1] == ':';
	if (colon)
		n--;
	else if (decoded_ok)
		return 0;
	if (n == 0 || n >= PCRED_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= 0x20 || (unsigned char)h[i] >= 0x7f || h[i] == ':')
			return 0;
	pcred_set(d, h, n, NULL);
	return 1;
}

static inline int pcred_basic(const struct http_request *r, struct decode *d)
{
	const char *h = http_header(r, "Authorization");
	char user[PCRED_MAX], pass[PCRED_MAX];
	if (!h)
		return 0;
	int ok = http_basic_auth(r, user, sizeof user, pass, sizeof pass) == 0;
	if (pcred_raw_basic(h, ok, d))
		return 1;
	if (!ok)
		return 0;
	if (pass[0])
		pcred_set(d, pass, strlen(pass), user);
	else if (user[0])
		pcred_set(d, user, strlen(user), NULL);   /* base64("TOKEN:") */
	return d->cred != CRED_NONE;
}

/* Fills d->cred/secret/user from the request; CRED_NONE when nothing is
 * found. Headers come first: they are what the apps are set up with. */
static inline void pcred_token(const struct http_request *r, struct decode *d)
{
	char tok[PCRED_MAX];
	static const char *const names[] = { "token", "api_key" };

	if (pcred_basic(r, d))
		return;
	if (http_bearer(r, tok, sizeof tok) == 0) {
		pcred_set(d, tok, strlen(tok), NULL);
		return;
	}
	if (!r->query || !*r->query)
		return;
	struct kvlist q;
	kvlist_init(&q);
	kvlist_parse_urlencoded(&q, r->query, strlen(r->query));
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *v = kvlist_get(&q, names[i]);
		if (v && *v) {
			pcred_set(d, v, strlen(v), NULL);
			break;
		}
	}
	kvlist_free(&q);
}
#endif
