/* Sign-in routes of the webapp: the public config, login, logout and the
 * current session. Login is the one place a password arrives by form or
 * JSON; it is checked as HTTP Basic is (signin.c), off the event loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "base/version.h"
#include "base/buf.h"
#include "base/names.h"
#include "net/http.h"
#include "base/log.h"
#include "net/server.h"
#include "webapp/session.h"
#include "webapp/signin.h"
#include "webapp/throttle.h"
#include "webapp/webapp.h"

#define USER_MAX 128
#define PASS_MAX 1024

static void route_config(struct webapp *app, struct conn *c, const struct http_request *req,
                         const struct caller *who)
{
	(void)req, (void)who;
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "{\"version\":");
	buf_add_json_str(&b, MINTRAC_VERSION);
	buf_adds(&b, ",\"tile_url\":");
	buf_add_json_str(&b, app->cfg->tile_url);
	buf_adds(&b, ",\"tile_attribution\":");
	buf_add_json_str(&b, app->cfg->tile_attribution);
	buf_addc(&b, '}');
	reply_json(c, 200, &b);
	buf_free(&b);
}

static int copy_field(char *out, size_t len, const char *s, size_t n)
{
	if (n == 0 || n >= len || strlen(s) != n)
		return -1;
	memcpy(out, s, n + 1);
	return 0;
}

/* {"user","password"} as JSON or as a urlencoded form. 0, or -1 when
 * either is missing, empty, too long or hides a NUL. */
static int login_fields(const struct http_request *req, char user[USER_MAX], char pass[PASS_MAX])
{
	const char *ct = http_header(req, "Content-Type");
	int rc = -1;
	if (ct && strncmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
		struct kvlist f;
		const struct kv *u = NULL, *p = NULL;
		kvlist_init(&f);
		kvlist_parse_urlencoded(&f, req->body ? req->body : "", req->body_len);
		for (size_t i = 0; i < f.n; i++) {
			if (!u && !strcmp(f.v[i].key, "user"))
				u = &f.v[i];
			else if (!p && !strcmp(f.v[i].key, "password"))
				p = &f.v[i];
		}
		if (u && p && copy_field(user, USER_MAX, u->val, u->vlen) == 0 &&
		    copy_field(pass, PASS_MAX, p->val, p->vlen) == 0)
			rc = 0;
		for (size_t i = 0; i < f.n; i++)
			sodium_memzero(f.v[i].val, f.v[i].vlen);
		kvlist_free(&f);
		return rc;
	}
	json_error_t err;
	json_t *root = json_loadb(req->body ? req->body : "", req->body_len, 0, &err);
	json_t *u = json_object_get(root, "user"), *p = json_object_get(root, "password");
	if (json_is_object(root) && json_is_string(u) && json_is_string(p) &&
	    copy_field(user, USER_MAX, json_string_value(u), json_string_length(u)) == 0 &&
	    copy_field(pass, PASS_MAX, json_string_value(p), json_string_length(p)) == 0)
		rc = 0;
	json_decref(root);
	return rc;
}

/* A login whose password is being checked: the request is kept (its
 * headers decide the cookie's Secure flag) with the body wiped. */
struct login_wait {
	struct webapp       *app;
	struct conn         *c;
	struct http_request  req;
	char                 addr[64];
	char                 user[USER_MAX];
};

static void login_ok(struct login_wait *w, const struct user_rec *u)
{
	struct buf h, b;
	char csrf[48];
	buf_init(&h);
	buf_adds(&h, HDR_API);
	if (sessions_create(w->app->sessions, &w->req, u, &h, csrf) < 0) {
		buf_free(&h);
		reply_error(w->c, 503, "storage unavailable");
		return;
	}
	buf_init(&b);
	buf_adds(&b, "{\"user\":");
	buf_add_json_str(&b, u->name);
	buf_adds(&b, ",\"csrf\":");
	buf_add_json_str(&b, csrf);
	buf_addc(&b, '}');
	conn_reply(w->c, 200, CT_JSON, b.data, b.len, h.data);
	buf_free(&b);
	buf_free(&h);
}

static void login_checked(void *ctx, const struct signin_result *res)
{
	struct login_wait *w = ctx;
	switch (res->verdict) {
	case SIGNIN_OK:
		login_ok(w, &res->user);
		break;
	case SIGNIN_WRONG:
		/* An admin looks for password guessing in the log. Only names
		 * that could be users are echoed, so the line stays one line. */
		log_reject("401", "refused sign-in as %s from %s",
		           check_user_name(w->user) ? "(not a user name)" : w->user, w->addr);
		reply_error(w->c, 401, "wrong user name or password");
		break;
	default:
		reply_signin_refused(w->c, res);
		break;
	}
	http_request_free(&w->req);
	free(w);
}

static void route_login(struct webapp *app, struct conn *c, const struct http_request *req,
                        const struct caller *who)
{
	(void)who;
	char user[USER_MAX], pass[PASS_MAX];
	if (login_fields(req, user, pass) < 0) {
		reply_error(c, 400, "user and password required");
		return;
	}
	struct login_wait *w = calloc(1, sizeof *w);
	if (!w || http_request_copy(&w->req, req) < 0) {
		free(w);
		sodium_memzero(pass, sizeof pass);
		reply_error(c, 503, "out of memory");
		return;
	}
	if (w->req.body)
		sodium_memzero(w->req.body, w->req.body_len);
	w->app = app;
	w->c = c;
	webapp_client_addr(app, req, w->addr, sizeof w->addr);
	snprintf(w->user, sizeof w->user, "%s", user);
	conn_hold(c);
	signin_check(app, w->addr, user, pass, login_checked, w);
	sodium_memzero(pass, sizeof pass);
}

/* Public, so that a browser whose session already expired can still clear
 * its cookie; but when a session is there, only its own page may end it
 * (webapp.c checks CSRF tokens on R_AUTH routes only). */
static void route_logout(struct webapp *app, struct conn *c, const struct http_request *req,
                         const struct caller *who)
{
	(void)who;
	struct caller s;
	int rc = sessions_check(app->sessions, req, &s);
	if (rc < 0) {
		reply_store_error(app, c, "session lookup");
		return;
	}
	if (rc > 0) {
		const char *tok = http_header(req, "X-CSRF-Token");
		size_t n = strlen(s.csrf);
		if (!tok || n == 0 || strlen(tok) != n || sodium_memcmp(tok, s.csrf, n) != 0) {
			reply_error(c, 403, "missing or wrong CSRF token");
			return;
		}
	}
	struct buf h;
	buf_init(&h);
	buf_adds(&h, HDR_API);
	if (sessions_destroy(app->sessions, req, &h) < 0) {
		buf_free(&h);
		reply_error(c, 503, "storage unavailable");
		return;
	}
	conn_reply(c, 200, CT_JSON, "{}", 2, h.data);
	buf_free(&h);
}

static void route_session(struct webapp *app, struct conn *c, const struct http_request *req,
                          const struct caller *who)
{
	struct buf b, h;
	buf_init(&b);
	buf_init(&h);
	buf_adds(&b, "{\"user\":");
	buf_add_json_str(&b, who->user.name);
	buf_adds(&b, ",\"csrf\":");
	buf_add_json_str(&b, who->csrf);
	buf_addc(&b, '}');
	buf_adds(&h, HDR_API);
	/* The page asks this on every load: the cookie slides with use. */
	if (who->via == VIA_SESSION)
		sessions_refresh(app->sessions, req, who, &h);
	conn_reply(c, 200, CT_JSON, b.data, b.len, h.data);
	buf_free(&h);
	buf_free(&b);
}

const struct route session_routes[] = {
	{ "GET",  "/api/config",  R_PUBLIC, route_config },
	{ "POST", "/api/login",   R_PUBLIC, route_login },
	{ "POST", "/api/logout",  R_PUBLIC, route_logout },
	{ "GET",  "/api/session", R_AUTH,   route_session },
	{ NULL, NULL, 0, NULL },
};
