/* Cookie sessions; see session.h. The cookie's id is a device-token-like
 * random string: the store keeps only its SHA-256, so a copy of the
 * database does not sign anyone in. */
#include "webapp/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "base/auth.h"
#include "base/log.h"
#include "base/point.h"
#include "webapp/webapp.h"

struct sessions {
	struct store *st;
	int           https_default;
	int64_t       lifetime_ms;
};

struct sessions *sessions_new(struct store *st, int https_default, int64_t lifetime_ms)
{
	if (auth_init() < 0)
		return NULL;
	struct sessions *ss = calloc(1, sizeof *ss);
	if (!ss)
		return NULL;
	ss->st = st;
	ss->https_default = https_default;
	ss->lifetime_ms = lifetime_ms > 0 ? lifetime_ms : SESSION_TTL_MS;
	return ss;
}

void sessions_free(struct sessions *ss)
{
	free(ss);
}

int sessions_secure(const struct sessions *ss, const struct http_request *req)
{
	if (ss->https_default)
		return 1;
	/* A chain of proxies lists one scheme each; the first is the
	 * browser's. */
	const char *p = http_header(req, "X-Forwarded-Proto");
	if (!p)
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	return strncasecmp(p, "https", 5) == 0 &&
	       (p[5] == 0 || p[5] == ',' || p[5] == ' ' || p[5] == '\t');
}

static void cookie_line(const struct sessions *ss, const struct http_request *req,
                        const char *id, long long max_age, struct buf *hdr)
{
	buf_printf(hdr, "Set-Cookie: " SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; "
	                "Max-Age=%lld%s\r\n",
	           id, max_age, sessions_secure(ss, req) ? "; Secure" : "");
}

/* The id hash of the request's cookie; -1 when there is none, or it is not
 * shaped like one of ours (no lookup for those). */
static int cookie_hash(const struct http_request *req, unsigned char hash[TOKEN_HASH_LEN])
{
	char id[TOKEN_LEN + 2];
	if (http_cookie(req, SESSION_COOKIE, id, sizeof id) < 0 || strlen(id) != TOKEN_LEN ||
	    !auth_token_syntax_ok(id))
		return -1;
	auth_token_hash(id, hash);
	sodium_memzero(id, sizeof id);
	return 0;
}

int sessions_create(struct sessions *ss, const struct http_request *req,
                    const struct user_rec *u, struct buf *hdr, char csrf[48])
{
	char id[TOKEN_LEN + 1], tok[TOKEN_LEN + 1];
	unsigned char hash[TOKEN_HASH_LEN];
	if (auth_token_new(id) < 0 || auth_token_new(tok) < 0) {
		log_warnx("session: no randomness for a new session");
		return -1;
	}
	auth_token_hash(id, hash);
	int64_t now = now_ms();
	int64_t ttl = SESSION_TTL_MS < ss->lifetime_ms ? SESSION_TTL_MS : ss->lifetime_ms;
	if (store_session_add(ss->st, hash, u->id, tok, now, now + ttl) != STORE_OK) {
		log_warnx("session: cannot store a new session: %s", store_errmsg(ss->st));
		sodium_memzero(id, sizeof id);
		return -1;
	}
	/* The new one is the newest, so it stays; a failure leaves one
	 * session too many until the next sign-in. */
	if (store_session_trim(ss->st, u->id, SESSION_MAX_PER_USER) < 0)
		log_warnx("session: cannot end the oldest sessions: %s", store_errmsg(ss->st));
	cookie_line(ss, req, id, ttl / 1000, hdr);
	sodium_memzero(id, sizeof id);
	snprintf(csrf, 48, "%s", tok);
	return 0;
}

int sessions_check(struct sessions *ss, const struct http_request *req, struct caller *who)
{
	unsigned char hash[TOKEN_HASH_LEN];
	struct session_rec rec;
	if (cookie_hash(req, hash) < 0)
		return 0;
	int64_t now = now_ms();
	int rc = store_session_get(ss->st, hash, now, &rec);
	if (rc == STORE_NOTFOUND)
		return 0;
	if (rc != STORE_OK)
		return -1;
	int64_t end = rec.created_ms + ss->lifetime_ms;
	if (now >= end) {
		/* Past its absolute lifetime, however busy it was. */
		if (store_session_del(ss->st, hash) == STORE_ERR)
			log_warnx("session: cannot end an old session: %s", store_errmsg(ss->st));
		return 0;
	}
	int64_t until = now + SESSION_TTL_MS < end ? now + SESSION_TTL_MS : end;
	if (rec.expires_ms - now < SESSION_TTL_MS / 2 && until > rec.expires_ms &&
	    store_session_touch(ss->st, hash, until) != STORE_OK) {
		/* The session still holds for its remaining time. */
		log_warnx("session: cannot extend a session: %s", store_errmsg(ss->st));
	}
	memset(who, 0, sizeof *who);
	who->user.id = rec.user_id;
	snprintf(who->user.name, sizeof who->user.name, "%s", rec.user);
	who->via = VIA_SESSION;
	snprintf(who->csrf, sizeof who->csrf, "%s", rec.csrf);
	who->session_end_ms = end;
	memcpy(who->session_hash, hash, sizeof who->session_hash);
	return 1;
}

void sessions_refresh(const struct sessions *ss, const struct http_request *req,
                      const struct caller *who, struct buf *hdr)
{
	char id[TOKEN_LEN + 2];
	if (http_cookie(req, SESSION_COOKIE, id, sizeof id) < 0 || strlen(id) != TOKEN_LEN ||
	    !auth_token_syntax_ok(id))
		return;
	/* The browser's copy ends with the session, not later. */
	int64_t left = who->session_end_ms - now_ms();
	int64_t age = left < SESSION_TTL_MS ? left : SESSION_TTL_MS;
	cookie_line(ss, req, id, age > 0 ? age / 1000 : 0, hdr);
	sodium_memzero(id, sizeof id);
}

int sessions_destroy(struct sessions *ss, const struct http_request *req, struct buf *hdr)
{
	unsigned char hash[TOKEN_HASH_LEN];
	if (cookie_hash(req, hash) == 0) {
		int rc = store_session_del(ss->st, hash);
		if (rc != STORE_OK && rc != STORE_NOTFOUND) {
			log_warnx("session: cannot end a session: %s", store_errmsg(ss->st));
			return -1;
		}
	}
	cookie_line(ss, req, "", 0, hdr);
	return 0;
}
