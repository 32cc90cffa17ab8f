/* Client protocol decoders: one pure function per client format. Each turns
 * a parsed request into fixes, the credential to check, and the reply the app
 * needs. No I/O, no database, no globals: fuzzable and unit-testable.
 *
 * Receiver order (receiver.c):
 *   1. decode; if status != 0 and early_error -> reply `status` with error;
 *   2. authenticate the credential (401 when missing/unknown);
 *   3. if status != 0 -> reply `status` (400) with error;
 *   4. commit fixes (all or none), then reply reply_status/reply_type/body. */
#ifndef MINTRAC_PROTO_H
#define MINTRAC_PROTO_H
#include <stddef.h>
#include <stdint.h>
#include "net/http.h"
#include "base/point.h"

enum cred_kind {
	CRED_NONE,            /* no credential found: 401 */
	CRED_TOKEN,           /* `secret` is a device token */
	CRED_TOKEN_OR_IDENT,  /* `/` only: a token or the device's ident */
	CRED_USER_TOKEN,      /* μlogger: `user` must own the device of token `secret` */
};

enum ulogger_action { UL_NONE, UL_AUTH, UL_ADDTRACK, UL_ADDPOS, UL_OTHER };

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

	enum ulogger_action ul_action;

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

/* Each returns 0 when d->status == 0, else -1. */
int proto_traccar(const struct http_request *r, struct decode *d);   /* "/" */
int proto_osmand(const struct http_request *r, struct decode *d);    /* "/osmand" */
int proto_gpslogger(const struct http_request *r, struct decode *d); /* "/gpslogger" */
int proto_owntracks(const struct http_request *r, struct decode *d); /* "/owntracks", "/pub", "/api/v1/owntracks/points" */
int proto_overland(const struct http_request *r, struct decode *d);  /* "/overland", "/api/v1/overland/batches" */
int proto_ulogger(const struct http_request *r, struct decode *d);   /* "/client/index.php" */
#endif
