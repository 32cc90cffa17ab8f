/* HTTP request as handed to route handlers and decoders, plus the pure
 * helpers to read it (query/form decoding, headers). The wire parsing itself
 * lives in http_parse.c (http_parser library). Nothing here does I/O. */
#ifndef MINTRAC_HTTP_H
#define MINTRAC_HTTP_H
#include <stddef.h>

struct kv {
	char  *key;
	char  *val;      /* NUL-terminated, percent-decoded */
	size_t vlen;     /* may contain NUL bytes if the client sent %00 */
};

struct kvlist {
	struct kv *v;
	size_t     n, cap;
};

void kvlist_init(struct kvlist *l);
void kvlist_free(struct kvlist *l);
void kvlist_add(struct kvlist *l, const char *key, size_t klen, const char *val, size_t vlen);
/* application/x-www-form-urlencoded (also query strings): '&' separated,
 * '+' is a space, %XX decoded. Appends to l. */
void kvlist_parse_urlencoded(struct kvlist *l, const char *s, size_t len);
/* %XX decoding of s[0..len) into out (room for len + 1), '+' as a space
 * when plus_is_space; a '%' without two hex digits stays. Returns the
 * length written (out is NUL-terminated). */
size_t http_pct_decode(const char *s, size_t len, char *out, int plus_is_space);
/* First value for key (exact, case-sensitive), NULL when absent. */
const char *kvlist_get(const struct kvlist *l, const char *key);

struct http_header {
	char *name;
	char *value;
};

struct http_request {
	char   method[16];        /* "GET", "POST", "HEAD", ... */
	char  *path;              /* raw path without the query, e.g. "/osmand" */
	char  *query;             /* raw query without '?', "" when none */
	struct http_header *headers;
	size_t nheaders;
	char  *body;              /* NUL-terminated (body[body_len] == 0) */
	size_t body_len;
	int    keep_alive;        /* the connection may serve another request */
	int    http11;            /* HTTP/1.1 or later (Host is then required) */
	int    body_discarded;    /* the body was read and dropped unseen
	                           * (http_body_rule.discard): body is "" */
	int    body_sunk;         /* the body went to http_body_rule.sink as
	                           * it arrived: body is "" */
	void  *sink_ctx;          /* with body_sunk: the rule's sink_ctx, so the
	                           * handler finds what the body went to */
	char   peer[64];          /* "127.0.0.1:12345", for logs */
};

/* Case-insensitive header lookup; NULL when absent. */
const char *http_header(const struct http_request *r, const char *name);
/* Frees everything the request owns (used by server.c and tests). */
void http_request_free(struct http_request *r);
/* A deep copy of src into dst, for a handler that answers after its call
 * returned. 0, or -1 when out of memory (dst is then empty; freeing it is
 * safe either way). */
int http_request_copy(struct http_request *dst, const struct http_request *src);
/* Decode "Authorization: Basic base64(user:pass)" into user/pass buffers;
 * 0 on success, -1 when absent or malformed. */
int http_basic_auth(const struct http_request *r, char *user, size_t ulen,
                    char *pass, size_t plen);
/* "Authorization: Bearer TOKEN" -> token; 0 on success. */
int http_bearer(const struct http_request *r, char *tok, size_t len);
/* Value of cookie `name` from the Cookie header; 0 on success. */
int http_cookie(const struct http_request *r, const char *name, char *out, size_t len);
/* Whether an Origin header ("https://host:port") names host ("host:port",
 * case-insensitive); 0 for opaque origins ("null") and a NULL host. */
int http_origin_is(const char *origin, const char *host);
/* RFC 9112 section 3.2: an HTTP/1.1 request without Host, or any request
 * with more than one, gets a 400; the reason, or NULL when Host is fine. */
const char *http_host_error(const struct http_request *r);
/* Reason phrase for a status code ("OK", "Bad Request", ...). */
const char *http_status_text(int status);
#endif
