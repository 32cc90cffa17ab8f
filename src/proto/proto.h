/* Client formats: one descriptor (struct proto) per phone app, exported by
 * its decoder file (proto_*.c). A descriptor says which paths the app posts
 * to, how large its bodies may be, how its requests decode, and how it wants
 * a failure answered; the receiver (receiver.c) is one loop over the table
 * (proto_find). The decoders are pure: no I/O, no database, no globals:
 * fuzzable and unit-testable.
 *
 * Receiver order (receiver.c):
 *   1. HEAD and OPTIONS are answered 200 with no body (reachability probes);
 *   2. decode; if status != 0 and early_error -> reject(status, error);
 *   3. authenticate the credential (reject 401 when missing/unknown);
 *   4. if status != 0 -> reject(status (400), error);
 *   5. commit fixes (all or none), then reply reply_status/reply_type/body
 *      (what the decoder chose: the success answer can depend on the request,
 *      e.g. μlogger's track id). */
#ifndef MINTRAC_PROTO_H
#define MINTRAC_PROTO_H
#include <stddef.h>
#include <stdint.h>
#include "base/buf.h"
#include "base/point.h"
#include "net/http.h"

enum cred_kind {
	CRED_NONE,            /* no credential found: 401 */
	CRED_TOKEN,           /* `secret` is a device token */
	CRED_TOKEN_OR_IDENT,  /* `/` only: a token or the device's ident */
	CRED_USER_TOKEN,      /* μlogger: `user` must own the device of token `secret` */
};

struct decode {
	/* outcome of decoding */
	int         status;       /* 0 ok; else HTTP status to send (400) */
	int         early_error;  /* error found before auth (body did not parse) */
	char        error[160];   /* one-line reason when status != 0 */

	/* credential */
	enum cred_kind cred;
	char       *secret;       /* token / ident (owned) */
	char       *user;         /* user name where the protocol carries one (owned) */

	/* decoded fixes, time order as received */
	struct fix *fixes;
	size_t      nfixes, capfixes;

	/* success reply (after commit) */
	int         reply_status;     /* default 200 */
	const char *reply_type;       /* Content-Type or NULL for an empty reply */
	const char *reply_body;       /* static text, e.g. "[]"; NULL = empty */
	char       *reply_owned;      /* or an owned body (takes precedence) */
	char       *set_cookie;       /* owned "name=value; Path=/" or NULL */

	/* Time of receipt in UTC ms, set by the caller after decode_init():
	 * the fix time for records that carry none (Traccar rule). */
	int64_t     now_ms;
};

void decode_init(struct decode *d);
void decode_free(struct decode *d);
/* The one place a decoded fix is validated (fix_check: ranges, times) and
 * appended: valid, it is appended (taking ownership of f->attrs) and 0
 * returned; invalid, it is
 * freed and a 400 recorded ("WHERE: why" when where is not NULL), -1. */
int decode_push_checked(struct decode *d, struct fix *f, const char *where);
/* Record a 400 with a printf-style reason; returns -1 for tail calls. */
int decode_fail(struct decode *d, int early, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A reply as the receiver sends it (conn_reply's arguments). */
struct proto_reply {
	int         status;
	const char *type;      /* Content-Type; NULL with an empty body */
	const char *headers;   /* extra "Name: value\r\n" lines, or NULL */
	struct buf  body;      /* proto_reply_free releases it */
};
void proto_reply_free(struct proto_reply *out);

/* One client format as the receiver serves it. Every method reaches
 * decode except HEAD and OPTIONS (see above): the apps use GET or POST as
 * their users configure them. */
struct proto {
	const char         *name;        /* for the log: "osmand" */
	const char *const  *paths;       /* exact, NULL-terminated; "/x/" is "/x" */
	size_t              body_limit;  /* larger bodies get 413 before decode */
	/* 0 when d->status == 0, else -1. */
	int               (*decode)(const struct http_request *r, struct decode *d);
	/* The credential as the head alone (query, headers) gives it, for
	 * refusing a request before its body is read or parsed: 1 when the
	 * body cannot change it, with d->cred and d->secret filled (CRED_NONE:
	 * there is none); 0 when the body might carry or override one. NULL:
	 * always 0 (the body is read first). */
	int               (*head_cred)(const struct http_request *head, struct decode *d);
	/* Fills all of *out with the failure reply the app understands, for
	 * a status (400, 401, 503) and a one-line reason. */
	void              (*reject)(struct proto_reply *out, int status, const char *why);
};

extern const struct proto proto_traccar;    /* "/" */
extern const struct proto proto_osmand;     /* "/osmand" */
extern const struct proto proto_gpslogger;  /* "/gpslogger" */
extern const struct proto proto_owntracks;  /* "/owntracks", "/pub", Dawarich's */
extern const struct proto proto_overland;   /* "/overland", Dawarich's */
extern const struct proto proto_ulogger;    /* "/client/index.php" */

/* Every format the receiver serves, NULL-terminated (proto_table.c). */
extern const struct proto *const proto_all[];
/* The format serving path (one trailing slash tolerated), NULL for none. */
const struct proto *proto_find(const char *path);
/* The plain answer most apps get: "why\n" as text/plain, no extra header. */
void proto_reject_text(struct proto_reply *out, int status, const char *why);
#endif
