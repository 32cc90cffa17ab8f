/* Device routes of the webapp: list, add, rename, delete, new token. A
 * device is always looked up by (caller, name), so no route ever reaches
 * another user's device: theirs are simply not found. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "proto/appsettings.h"
#include "base/auth.h"
#include "base/buf.h"
#include "base/names.h"
#include "io/export.h"
#include "net/http.h"
#include "base/log.h"
#include "base/point.h"
#include "net/server.h"
#include "store/store.h"
#include "webapp/throttle.h"
#include "webapp/webapp.h"

#define DEVICES_PREFIX "/api/devices/"

static void route_devices(struct webapp *app, struct conn *c, const struct http_request *req,
                          const struct caller *who)
{
	(void)req;
	struct devlist l;
	if (devices_of(app, who->user.id, &l) != STORE_OK) {
		reply_store_error(app, c, "device list");
		return;
	}
	struct buf b;
	buf_init(&b);
	buf_addc(&b, '[');
	for (size_t i = 0; i < l.n; i++) {
		const struct device_rec *d = &l.v[i];
		struct fix f;
		int rc = store_last_fix(app->store, d->id, &f);
		int64_t n = store_count(app->store, d->id);
		if ((rc != STORE_OK && rc != STORE_NOTFOUND) || n < 0) {
			if (rc == STORE_OK)
				fix_free(&f);
			buf_free(&b);
			free(l.v);
			reply_store_error(app, c, "device summary");
			return;
		}
		if (i)
			buf_addc(&b, ',');
		buf_adds(&b, "{\"name\":");
		buf_add_json_str(&b, d->name);
		buf_adds(&b, ",\"ident\":");
		if (d->ident[0])
			buf_add_json_str(&b, d->ident);
		else
			buf_adds(&b, "null");
		buf_adds(&b, ",\"created\":\"");
		buf_add_iso_ms(&b, d->created_ms);
		buf_adds(&b, "\",\"last\":");
		if (rc == STORE_OK) {
			export_geojson_feature(&b, &f, d->name);
			fix_free(&f);
		} else {
			buf_adds(&b, "null");
		}
		buf_adds(&b, ",\"points\":");
		buf_add_int(&b, n);
		buf_addc(&b, '}');
	}
	buf_addc(&b, ']');
	reply_json(c, 200, &b);
	buf_free(&b);
	free(l.v);
}

/* The request's JSON object and its "name" member, checked by the rules
 * `device add` applies (*name points into the returned object; the caller
 * json_decref()s it). NULL when answered with 400. */
static json_t *body_with_name(struct conn *c, const struct http_request *req,
                              const char **name)
{
	json_t *root = body_object(c, req);
	if (!root)
		return NULL;
	json_t *v = json_object_get(root, "name");
	if (!json_is_string(v)) {
		json_decref(root);
		reply_error(c, 400, "name required");
		return NULL;
	}
	*name = json_string_value(v);
	const char *why = check_device_name(*name);
	if (why) {
		char msg[160];
		snprintf(msg, sizeof msg, "invalid device name: %s", why);
		json_decref(root);
		reply_error(c, 400, msg);
		return NULL;
	}
	return root;
}

/* The same settings `device add` prints: the JSON of --json, the text
 * without it, and the receiver URL (for a QR code). */
static void reply_settings(struct webapp *app, struct conn *c, int status,
                           const struct caller *who, const char *device, const char *token,
                           const char *ident)
{
	struct app_settings s = { app->receiver_url, who->user.name, device, token,
	                          ident && *ident ? ident : NULL };
	struct buf b, text;
	buf_init(&b);
	buf_init(&text);
	app_settings_text(&text, &s);
	buf_adds(&b, "{\"name\":");
	buf_add_json_str(&b, device);
	buf_adds(&b, ",\"token\":");
	buf_add_json_str(&b, token);
	buf_adds(&b, ",\"url\":");
	buf_add_json_str(&b, app->receiver_url);
	buf_adds(&b, ",\"settings\":");
	app_settings_json(&b, &s);
	buf_adds(&b, ",\"text\":");
	buf_add_json_str(&b, text.data);
	buf_addc(&b, '}');
	reply_json(c, status, &b);
	buf_free(&text);
	buf_free(&b);
}

static int new_token(char tok[TOKEN_LEN + 1], unsigned char hash[TOKEN_HASH_LEN])
{
	if (auth_token_new(tok) < 0) {
		log_warnx("no randomness for a device token");
		return -1;
	}
	auth_token_hash(tok, hash);
	return 0;
}

/* An ident selects a device alone (on the receiver's `/`), so it is
 * unique across users and refusing one says that somebody holds it. That
 * must not be a free oracle for another user's credential: asking about
 * an ident held by someone else costs a token from token buckets of the
 * caller and the address, in a table of its own that no sign-in refills
 * (webapp/throttle.h), so probing is as slow as guessing a password; and
 * the answer is one sentence whoever holds it. The token is taken before
 * the lookup, so the timing says nothing either, and given back when the
 * ident is free or the caller's own. 0: free to use; -1: answered. */
static int ident_taken(struct webapp *app, struct conn *c, const struct http_request *req,
                       const struct caller *who, const char *ident)
{
	char addr[64];
	double now = ev_now(app->loop);
	struct throttle_ticket tk;
	webapp_client_addr(app, req, addr, sizeof addr);
	double wait = throttle_take(app->ident_probes, addr, who->user.name, now, &tk);
	if (wait > 0) {
		reply_retry_after(c, 429, "too many idents of other users asked for; try again later",
		                  wait);
		return -1;
	}
	struct device_rec d;
	int rc = store_device_by_ident(app->store, ident, &d);
	if (rc != STORE_OK || d.user_id == who->user.id)
		throttle_cancel(app->ident_probes, addr, who->user.name, now, &tk);
	if (rc == STORE_NOTFOUND)
		return 0;
	if (rc != STORE_OK) {
		reply_store_error(app, c, "ident lookup");
		return -1;
	}
	reply_error(c, 409, "that ident cannot be used");
	return -1;
}

static void route_device_add(struct webapp *app, struct conn *c, const struct http_request *req,
                             const struct caller *who)
{
	const char *name;
	json_t *root = body_with_name(c, req, &name);
	if (!root)
		return;
	json_t *iv = json_object_get(root, "ident");
	const char *ident = NULL;
	if (iv && !json_is_null(iv)) {
		/* The rule of `device add --ident`. */
		ident = json_string_value(iv);
		const char *why = ident ? check_device_ident(ident) : "the ident must be a string";
		if (why) {
			json_decref(root);
			reply_error(c, 400, why);
			return;
		}
	}
	if (ident && ident_taken(app, c, req, who, ident) < 0) {
		json_decref(root);
		return;
	}
	char tok[TOKEN_LEN + 1];
	unsigned char hash[TOKEN_HASH_LEN];
	int64_t id;
	if (new_token(tok, hash) < 0) {
		json_decref(root);
		reply_error(c, 500, "cannot generate a token");
		return;
	}
	int rc = store_device_add(app->store, who->user.id, name, hash, ident, &id);
	if (rc == STORE_EXISTS) {
		reply_error(c, 409, "a device of that name exists");
	} else if (rc != STORE_OK) {
		reply_store_error(app, c, "adding a device");
	} else {
		log_info("user %s added device %lld", who->user.name, (long long)id);
		reply_settings(app, c, 201, who, name, tok, ident);
	}
	sodium_memzero(tok, sizeof tok);
	json_decref(root);
}

/* The caller's device named by the path after DEVICES_PREFIX, when what
 * follows the name is exactly `tail` ("" or "/token"). 0, or -1 when
 * answered (404, 503). */
static int path_device(struct webapp *app, struct conn *c, const struct http_request *req,
                       const struct caller *who, const char *tail, struct device_rec *d)
{
	char name[NAME_MAX_BYTES + 1];
	const char *rest;
	if (path_segment(req->path, DEVICES_PREFIX, name, sizeof name, &rest) < 0 ||
	    strcmp(rest, tail) != 0) {
		reply_error(c, 404, "not found");
		return -1;
	}
	return caller_device(app, c, who, name, d);
}

static void route_device_rename(struct webapp *app, struct conn *c,
                                const struct http_request *req, const struct caller *who)
{
	struct device_rec d;
	if (path_device(app, c, req, who, "", &d) < 0)
		return;
	const char *name;
	json_t *root = body_with_name(c, req, &name);
	if (!root)
		return;
	int rc = strcmp(name, d.name) == 0 ? STORE_OK : store_device_rename(app->store, d.id, name);
	if (rc == STORE_EXISTS) {
		reply_error(c, 409, "a device of that name exists");
	} else if (rc == STORE_NOTFOUND) {
		reply_error(c, 404, "no such device");
	} else if (rc != STORE_OK) {
		reply_store_error(app, c, "renaming a device");
	} else {
		struct buf b;
		buf_init(&b);
		buf_adds(&b, "{\"name\":");
		buf_add_json_str(&b, name);
		buf_addc(&b, '}');
		reply_json(c, 200, &b);
		buf_free(&b);
	}
	json_decref(root);
}

static void route_device_delete(struct webapp *app, struct conn *c,
                                const struct http_request *req, const struct caller *who)
{
	struct device_rec d;
	if (path_device(app, c, req, who, "", &d) < 0)
		return;
	int64_t n = store_count(app->store, d.id);
	if (n < 0) {
		reply_store_error(app, c, "counting fixes");
		return;
	}
	int rc = store_device_del(app->store, d.id);
	if (rc == STORE_NOTFOUND) {
		reply_error(c, 404, "no such device");
		return;
	}
	if (rc != STORE_OK) {
		reply_store_error(app, c, "deleting a device");
		return;
	}
	log_info("user %s deleted device %lld and %lld fixes", who->user.name, (long long)d.id,
	         (long long)n);
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "{\"deleted\":");
	buf_add_int(&b, n);
	buf_addc(&b, '}');
	reply_json(c, 200, &b);
	buf_free(&b);
}

static void route_device_token(struct webapp *app, struct conn *c,
                               const struct http_request *req, const struct caller *who)
{
	struct device_rec d;
	if (path_device(app, c, req, who, "/token", &d) < 0)
		return;
	char tok[TOKEN_LEN + 1];
	unsigned char hash[TOKEN_HASH_LEN];
	if (new_token(tok, hash) < 0) {
		reply_error(c, 500, "cannot generate a token");
		return;
	}
	int rc = store_device_set_token(app->store, d.id, hash);
	if (rc == STORE_NOTFOUND) {
		reply_error(c, 404, "no such device");
	} else if (rc != STORE_OK) {
		reply_store_error(app, c, "changing a token");
	} else {
		log_info("user %s gave device %lld a new token", who->user.name, (long long)d.id);
		reply_settings(app, c, 200, who, d.name, tok, d.ident);
	}
	sodium_memzero(tok, sizeof tok);
}

const struct route device_routes[] = {
	{ "GET",    "/api/devices",   R_AUTH,            route_devices },
	{ "POST",   "/api/devices",   R_AUTH,            route_device_add },
	{ "PATCH",  DEVICES_PREFIX,   R_AUTH | R_PREFIX, route_device_rename },
	{ "DELETE", DEVICES_PREFIX,   R_AUTH | R_PREFIX, route_device_delete },
	{ "POST",   DEVICES_PREFIX,   R_AUTH | R_PREFIX, route_device_token },
	{ NULL, NULL, 0, NULL },
};
