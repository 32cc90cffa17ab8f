/* What the webapp's route modules share: the process state, the signed-in
 * caller, the reply helpers and each module's routes. webapp.c owns the
 * process (loop, signals, routing table, authentication); api_*.c and
 * web_static.c each hold the routes of one concern. */
#ifndef MINTRAC_WEBAPP_H
#define MINTRAC_WEBAPP_H
#include <ev.h>
#include <stdint.h>
#include "base/buf.h"
#include "base/config.h"
#include "net/http.h"
#include "net/server.h"
#include "store/store.h"

/* The webapp process: runs its own libev loop on the already bound listen_fd
 * until SIGTERM/SIGINT, then stops accepting, finishes in-flight replies and
 * returns the process exit status (0). */
int webapp_main(const struct config *cfg, int listen_fd);

struct webauth;
struct sessions;
struct throttle;
struct pwcheck;
struct deriver;
struct pruner;
struct store_hist;
struct hub;
struct livefeed;
struct live_ctx;
struct trust;
struct streams;
struct imports;

struct webapp {
	struct ev_loop        *loop;       /* the process's loop (service.h runs it) */
	struct store          *store;
	struct webauth        *auth;       /* HTTP Basic verdict cache */
	struct sessions       *sessions;   /* cookie sessions (session.h) */
	struct throttle       *throttle;   /* password guesses per user / address */
	struct throttle       *ident_probes; /* other users' idents asked for (api_devices.c) */
	struct pwcheck        *pwcheck;    /* password checks off the loop */
	struct deriver        *deriver;    /* history kept current (deriver.h) */
	struct pruner         *pruner;     /* retention's daily prune, or NULL (pruner.h) */
	struct store_hist     *hist;       /* history's queries on store, prepared once */
	struct hub            *hub;        /* SSE and WebSocket subscribers */
	struct streams        *streams;    /* their caps and credentials (streams.h) */
	struct livefeed       *live;       /* fixes committed by the receivers */
	struct live_ctx       *live_ctx;   /* webapp.c's, for what live brings */
	struct trust          *trust;      /* trusted_proxies, trusted_origins */
	struct imports        *imports;    /* uploads being parsed (imports.h) */
	const struct config   *cfg;
	char                   receiver_url[512];  /* for device settings */
};

/* How the caller proved who they are. */
enum caller_via { VIA_NONE, VIA_SESSION, VIA_BASIC };

struct caller {
	struct user_rec  user;
	enum caller_via  via;
	char             csrf[48];     /* the session's CSRF token; "" for Basic */
	int64_t          session_end_ms; /* the session's absolute end (wall clock ms) */
	/* The session's id as stored (VIA_SESSION): a live stream keeps it to
	 * notice when the session ends (streams.h). */
	unsigned char    session_hash[TOKEN_HASH_LEN];
};

typedef void (*route_fn)(struct webapp *app, struct conn *c, const struct http_request *req,
                         const struct caller *who);

/* Route flags. */
enum {
	R_PUBLIC  = 0,        /* no credentials needed (page, assets, login) */
	R_AUTH    = 1 << 0,   /* signed-in caller required: 401 JSON otherwise */
	R_BASIC_CHALLENGE = 1 << 1, /* the 401 carries WWW-Authenticate (OwnTracks API) */
	R_PREFIX  = 1 << 2,   /* path is a prefix ("/static/", "/api/devices/") */
	R_SAME_ORIGIN = 1 << 3, /* the origin rule even on GET (WebSocket handshakes) */
};

struct route {
	const char *method;   /* "GET" also answers HEAD */
	const char *path;
	int         flags;
	route_fn    fn;
};

/* Common headers. HDR_API: JSON answers; pages add the CSP (web_static.c). */
#define HDR_BASE "X-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\n"
#define HDR_API  HDR_BASE "Cache-Control: no-store\r\n" \
	"Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
#define CT_JSON  "application/json"

void reply_json(struct conn *c, int status, const struct buf *b);
/* {"error":"msg"} with HDR_API, or with the given headers. */
void reply_error(struct conn *c, int status, const char *msg);
void reply_error_h(struct conn *c, int status, const char *msg, const char *headers);
/* A sign-in that was neither let in nor refused as wrong: 429 (throttled)
 * or 503 (no room to check now) with Retry-After (seconds, rounded up),
 * or 503 for a storage error. Login and Basic answer these alike. */
/* The caller's device of that name: 0 with *d, or -1 when answered (400
 * without a name, 404 for a device that is not the caller's, 503). */
struct device_rec;
int caller_device(struct webapp *app, struct conn *c, const struct caller *who,
                  const char *name, struct device_rec *d);
/* The request body as a JSON object (duplicate keys refused), or NULL
 * when it is not one (answered 400); the caller json_decref()s it. */
struct json_t;
struct json_t *body_object(struct conn *c, const struct http_request *req);
/* An error with Retry-After: wait seconds, rounded up. */
void reply_retry_after(struct conn *c, int status, const char *msg, double wait);
struct signin_result;
void reply_signin_refused(struct conn *c, const struct signin_result *res);
/* Logs store_errmsg and answers 503 "storage unavailable". */
void reply_store_error(struct webapp *app, struct conn *c, const char *what);

/* Query value, NULL when absent or empty; *bad set when it hides a NUL. */
const char *query_val(const struct kvlist *q, const char *key, int *bad);
/* Parses req->query into q (kvlist_init'ed by the call). */
void query_parse(const struct http_request *req, struct kvlist *q);

/* The caller's devices, collected before any other query runs.
 * STORE_OK with l filled (free l->v), or STORE_ERR. */
struct devlist {
	struct device_rec *v;
	size_t             n, cap;
};
int devices_of(struct webapp *app, int64_t user_id, struct devlist *l);

/* The client's address for throttles and logs: the peer's, or what a
 * proxy in trusted_proxies forwarded (net/trust.h). */
void webapp_client_addr(const struct webapp *app, const struct http_request *req, char *out,
                        size_t len);

/* "/api/devices/NAME/token" with prefix "/api/devices/": percent-decodes
 * the segment after the prefix into out (NUL-terminated) and points *rest
 * at what follows it ("" or "/token"). -1 when empty, too long or not
 * valid UTF-8 / contains a NUL. */
int path_segment(const char *path, const char *prefix, char *out, size_t outlen,
                 const char **rest);

/* The caller from the head alone, without a password check: a session
 * (with its CSRF token on a write), or HTTP Basic credentials verified
 * within WEBAUTH_TTL_MS. 1 with *who filled, 0 otherwise. */
int head_caller(struct webapp *app, const struct http_request *req, struct caller *who);
/* on_head of POST /api/imports (api_imports.c): a known caller's body goes
 * to an import as it arrives. */
struct http_body_rule;
void imports_head(struct webapp *app, const struct http_request *head,
                  struct http_body_rule *rule);

/* Route tables of the modules (terminated by a {NULL} entry). */
extern const struct route static_routes[];    /* web_static.c: /, /static/... */
extern const struct route session_routes[];   /* api_session.c: login, logout, session, config */
extern const struct route device_routes[];    /* api_devices.c: list, add, rename, delete, token */
extern const struct route points_routes[];    /* api_points.c: points (full, thinned), last */
extern const struct route me_routes[];        /* api_me.c: the caller's settings */
extern const struct route history_routes[];   /* api_history.c: trips, timeline, stats, places */
extern const struct route stream_routes[];    /* api_stream.c: /api/stream (SSE) */
extern const struct route import_routes[];    /* api_imports.c: uploads, their progress */
extern const struct route owntracks_routes[]; /* api_owntracks.c: /api/0/..., /ws/last */

#endif
