/* The caller's own settings: GET and PATCH /api/me. Today the time zone
 * that their local days (history: timeline, stats) are counted in. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/tzname.h"
#include "store/store.h"
#include "webapp/webapp.h"

static void reply_me(struct webapp *app, struct conn *c, const char *name)
{
	struct user_rec u;
	int rc = store_user_get(app->store, name, &u);
	if (rc == STORE_NOTFOUND) {
		/* Deleted while the request was on its way. */
		reply_error(c, 401, "unauthorized");
		return;
	}
	if (rc != STORE_OK) {
		reply_store_error(app, c, "user lookup");
		return;
	}
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "{\"name\":");
	buf_add_json_str(&b, u.name);
	buf_adds(&b, ",\"timezone\":");
	buf_add_json_str(&b, u.timezone);
	buf_addc(&b, '}');
	conn_reply(c, 200, CT_JSON, b.data, b.len, HDR_API);
	buf_free(&b);
}

static void route_me(struct webapp *app, struct conn *c, const struct http_request *req,
                     const struct caller *who)
{
	(void)req;
	reply_me(app, c, who->user.name);
}

static void route_me_patch(struct webapp *app, struct conn *c, const struct http_request *req,
                           const struct caller *who)
{
	json_t *root = body_object(c, req);
	if (!root)
		return;
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "timezone") != 0) {
			json_decref(root);
			reply_error(c, 400, "unknown setting (only timezone can be changed)");
			return;
		}
	}
	json_t *tzv = json_object_get(root, "timezone");
	if (tzv) {
		const char *tz = json_string_value(tzv);
		const char *why = tz ? tzname_check(tz) : "timezone must be a string";
		if (why) {
			char msg[160];
			snprintf(msg, sizeof msg, "timezone: %s", why);
			json_decref(root);
			reply_error(c, 400, msg);
			return;
		}
		int rc = store_user_set_timezone(app->store, who->user.name, tz);
		if (rc != STORE_OK && rc != STORE_NOTFOUND) {
			json_decref(root);
			reply_store_error(app, c, "user timezone");
			return;
		}
	}
	json_decref(root);
	reply_me(app, c, who->user.name);
}

const struct route me_routes[] = {
	{ "GET",   "/api/me", R_AUTH, route_me },
	{ "PATCH", "/api/me", R_AUTH, route_me_patch },
	{ NULL, NULL, 0, NULL },
};
