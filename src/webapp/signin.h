/* One password check, for POST /api/login and for HTTP Basic alike: the
 * name's rules, the store, the memory of verified passwords (webauth.h),
 * the guess budget (throttle.h) and the check itself in the pool
 * (pwcheck.h), in that order, so that the cheap answers cost no hashing
 * and the loop never hashes. */
#ifndef MINTRAC_SIGNIN_H
#define MINTRAC_SIGNIN_H
#include "store/store.h"

struct webapp;

enum signin_verdict {
	SIGNIN_OK,          /* user filled */
	SIGNIN_WRONG,       /* no such user, or the wrong password: 401 */
	SIGNIN_THROTTLED,   /* too many failed guesses: 429, retry_after */
	SIGNIN_BUSY,        /* no room to check now: 503, retry_after */
	SIGNIN_STORE_ERROR, /* 503 (logged) */
};

struct signin_result {
	enum signin_verdict verdict;
	double              retry_after;   /* seconds */
	struct user_rec     user;
};

typedef void (*signin_done_fn)(void *ctx, const struct signin_result *r);

/* Checks user/pass from client address addr; done(ctx, r) is called
 * exactly once, before this returns (cheap answers) or later from the
 * loop (the check went to the pool). */
void signin_check(struct webapp *app, const char *addr, const char *user, const char *pass,
                  signin_done_fn done, void *ctx);
#endif
