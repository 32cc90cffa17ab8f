/* The password check of login and HTTP Basic; see signin.h. */
#include "webapp/signin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/log.h"
#include "base/names.h"
#include "base/point.h"
#include "webapp/pwcheck.h"
#include "webapp/throttle.h"
#include "webapp/webapp.h"
#include "webapp/webauth.h"

/* A full pool clears in a fraction of a second; a client told to come back
 * in one second finds room. */
#define BUSY_RETRY 1.0

struct pending {
	struct webapp          *app;
	signin_done_fn          done;
	void                   *ctx;
	int                     exists;        /* user names a stored user */
	struct user_rec         user;          /* as read before the check */
	unsigned char           key[WEBAUTH_KEY_LEN];
	struct throttle_ticket  tk;
	char                    addr[64];
	char                    name[65];
};

static void finish(signin_done_fn done, void *ctx, enum signin_verdict v, double retry_after,
                   const struct user_rec *u)
{
	struct signin_result r;
	memset(&r, 0, sizeof r);
	r.verdict = v;
	r.retry_after = retry_after;
	if (u)
		r.user = *u;
	done(ctx, &r);
	sodium_memzero(&r, sizeof r);
}

static void checked(void *arg, int verdict)
{
	struct pending *p = arg;
	struct webapp *app = p->app;
	double now = ev_now(app->loop);
	const char *user = p->exists ? p->name : NULL;
	if (verdict < 0) {
		/* Shutting down: the check was never made. */
		throttle_cancel(app->throttle, p->addr, user, now, &p->tk);
		finish(p->done, p->ctx, SIGNIN_BUSY, BUSY_RETRY, NULL);
	} else if (verdict == 1 && p->exists) {
		/* The password may have changed while it was checked: only a
		 * match against the hash still stored counts. */
		struct user_rec now_u;
		int rc = store_user_get(app->store, p->name, &now_u);
		if (rc == STORE_OK && now_u.id == p->user.id && !strcmp(now_u.pwhash, p->user.pwhash)) {
			throttle_success(app->throttle, p->addr, user, now, &p->tk);
			webauth_remember(app->auth, p->key, &now_u, mono_ms());
			finish(p->done, p->ctx, SIGNIN_OK, 0, &now_u);
		} else if (rc == STORE_OK || rc == STORE_NOTFOUND) {
			finish(p->done, p->ctx, SIGNIN_WRONG, 0, NULL);
		} else {
			log_warnx("user lookup: %s", store_errmsg(app->store));
			throttle_cancel(app->throttle, p->addr, user, now, &p->tk);
			finish(p->done, p->ctx, SIGNIN_STORE_ERROR, 0, NULL);
		}
		sodium_memzero(&now_u, sizeof now_u);
	} else {
		finish(p->done, p->ctx, SIGNIN_WRONG, 0, NULL);
	}
	sodium_memzero(p, sizeof *p);
	free(p);
}

void signin_check(struct webapp *app, const char *addr, const char *user, const char *pass,
                  signin_done_fn done, void *ctx)
{
	/* A name that breaks the rules is no user: answered without a
	 * lookup, a hash or a throttle entry. */
	if (check_user_name(user)) {
		finish(done, ctx, SIGNIN_WRONG, 0, NULL);
		return;
	}
	struct pending *p = calloc(1, sizeof *p);
	if (!p) {
		finish(done, ctx, SIGNIN_BUSY, BUSY_RETRY, NULL);
		return;
	}
	p->app = app;
	p->done = done;
	p->ctx = ctx;
	snprintf(p->addr, sizeof p->addr, "%s", addr);
	snprintf(p->name, sizeof p->name, "%s", user);
	int rc = store_user_get(app->store, user, &p->user);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		log_warnx("user lookup: %s", store_errmsg(app->store));
		free(p);
		finish(done, ctx, SIGNIN_STORE_ERROR, 0, NULL);
		return;
	}
	p->exists = rc == STORE_OK;
	double now = ev_now(app->loop);
	if (p->exists) {
		webauth_key(app->auth, user, pass, p->key);
		/* Verified before: no hash, and no budget needed. */
		if (webauth_cached(app->auth, p->key, &p->user, mono_ms())) {
			throttle_success(app->throttle, addr, user, now, &p->tk);
			finish(done, ctx, SIGNIN_OK, 0, &p->user);
			sodium_memzero(p, sizeof *p);
			free(p);
			return;
		}
	}
	double wait = throttle_take(app->throttle, addr, p->exists ? user : NULL, now, &p->tk);
	if (wait > 0) {
		sodium_memzero(p, sizeof *p);
		free(p);
		finish(done, ctx, SIGNIN_THROTTLED, wait, NULL);
		return;
	}
	const char *hash = p->exists ? p->user.pwhash : webauth_standin(app->auth);
	if (pwcheck_submit(app->pwcheck, pass, hash, checked, p) < 0) {
		throttle_cancel(app->throttle, addr, p->exists ? user : NULL, now, &p->tk);
		sodium_memzero(p, sizeof *p);
		free(p);
		finish(done, ctx, SIGNIN_BUSY, BUSY_RETRY, NULL);
	}
}
