/* Cookie sessions of the webapp. The cookie (mintrac_session) carries a
 * random 32-character id; the store keeps only its SHA-256, the user, a
 * per-session CSRF token and the expiry. Sessions slide: a session used
 * when less than half its idle lifetime (SESSION_TTL_MS) is left is
 * extended, but never past its absolute lifetime (session_lifetime in the
 * config, counted from sign-in), so a stolen cookie kept busy still dies.
 * A user holds at most SESSION_MAX_PER_USER sessions: signing in once more
 * ends the oldest (a script that logs in on every run cannot fill the
 * table, and the owner's sessions stay few enough to reason about). The cookie is
 * HttpOnly, SameSite=Lax, Path=/, and Secure when the page is served over
 * HTTPS (webapp_url https://, or a proxy's X-Forwarded-Proto: https). */
#ifndef MINTRAC_SESSION_H
#define MINTRAC_SESSION_H
#include <stdint.h>
#include "base/buf.h"
#include "net/http.h"
#include "store/store.h"

#define SESSION_COOKIE  "mintrac_session"
#define SESSION_TTL_MS  (30LL * 24 * 3600 * 1000)
#define SESSION_MAX_PER_USER 64

struct sessions;
struct caller;

/* https_default: the configured webapp URL is https; lifetime_ms: the
 * absolute lifetime. NULL on failure. */
struct sessions *sessions_new(struct store *st, int https_default, int64_t lifetime_ms);
void sessions_free(struct sessions *ss);     /* NULL-safe */

/* Whether this request came over HTTPS (config or X-Forwarded-Proto). */
int sessions_secure(const struct sessions *ss, const struct http_request *req);
/* New session for u: appends a "Set-Cookie: ...\r\n" line to hdr and
 * copies the CSRF token to csrf. 0, or -1 (storage error, logged). */
int sessions_create(struct sessions *ss, const struct http_request *req,
                    const struct user_rec *u, struct buf *hdr, char csrf[48]);
/* The request's session: 1 valid (fills who: user, via VIA_SESSION, csrf,
 * session_end_ms, session_hash), 0 none / unknown / expired, -1 storage error. */
int sessions_check(struct sessions *ss, const struct http_request *req, struct caller *who);
/* Sends the request's cookie again with the full Max-Age (appends a
 * Set-Cookie line to hdr), so the browser's copy slides with the session:
 * a user who opens the page now and then is never signed out. Call it
 * only for a request whose session sessions_check accepted. */
void sessions_refresh(const struct sessions *ss, const struct http_request *req,
                      const struct caller *who, struct buf *hdr);
/* Ends the request's session (if any) and appends a Set-Cookie line that
 * clears the cookie. 0, or -1 on storage error. */
int sessions_destroy(struct sessions *ss, const struct http_request *req, struct buf *hdr);
#endif
