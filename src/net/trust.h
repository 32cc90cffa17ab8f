/* Whom a server believes about a request it did not see first hand: which
 * peers are reverse proxies (`trusted_proxies`: their X-Forwarded-For and
 * X-Forwarded-Host count, nobody else's do) and which pages may change
 * state or open a WebSocket (the one origin rule, with `trusted_origins`).
 * Pure: no I/O, no clock; the webapp and the receiver each hold one. */
#ifndef MINTRAC_TRUST_H
#define MINTRAC_TRUST_H
#include <stddef.h>
#include "net/http.h"

struct trust;

/* proxies: space-separated addresses or CIDR blocks ("127.0.0.1 10.0.0.0/8
 * ::1"); origins: space-separated "scheme://host[:port]"; self_url: the
 * webapp's own URL (webapp_url) or NULL. NULL with a one-line err when an
 * entry does not parse (or out of memory). */
struct trust *trust_new(const char *proxies, const char *origins, const char *self_url,
                        char *err, size_t errlen);
void trust_free(struct trust *t);   /* NULL-safe */

/* Whether the peer ("ip:port", "[ip6]:port" as in http_request.peer) is a
 * listed proxy. */
int trust_peer_is_proxy(const struct trust *t, const char *peer);

/* The client's address (no port) for throttling and logs: the peer's;
 * when the peer is a listed proxy, the right-most X-Forwarded-For address
 * that is not itself a listed proxy (a client may prepend anything; only
 * what our own proxies appended counts). Always an address in inet_ntop
 * form, so it is safe in a log line. */
void trust_client_addr(const struct trust *t, const struct http_request *req, char *out,
                       size_t len);

/* The one origin rule, for every state-changing request and every
 * WebSocket handshake: 1 when it may proceed, 0 when a browser made it
 * from another site that is not listed. Sec-Fetch-Site: same-origin (set
 * by the browser, unforgeable by a page) or an Origin listed in
 * trusted_origins pass; any other Sec-Fetch-Site (same-site, cross-site,
 * none) does not; without Sec-Fetch-Site, an Origin must name the webapp
 * itself (Host, X-Forwarded-Host from a listed proxy, or self_url); a
 * request with neither header is not from a browser and passes. */
int trust_origin_ok(const struct trust *t, const struct http_request *req);

/* "scheme://host[:port]" lower-cased, without a default port (80 for http,
 * 443 for https) or a trailing '/'; -1 when s is no such origin. */
int trust_origin_normalize(const char *s, size_t n, char *out, size_t outlen);
#endif
