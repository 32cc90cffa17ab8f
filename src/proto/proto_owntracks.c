/* OwnTracks HTTP mode (/owntracks, /pub) and Dawarich's
 * /api/v1/owntracks/points: one JSON message per POST.
 *
 * Only `_type:"location"` is a fix. Every other message type (transition,
 * waypoint(s), card, status, cmd, lwt, steps, encrypted, ...) and an empty
 * body (sent when a friend is deleted) gets `[]` and stores nothing: a non-2xx
 * reply would block the app's outgoing queue. The device comes from the
 * credential alone; X-Limit-U/D, ?u=&d=, topic and tid never select it. */
#include "proto/proto.h"

#include <jansson.h>
#include <string.h>

#include "proto/proto_attrs.h"
#include "proto/proto_cred.h"
#include "base/util.h"

/* Overland's "owntracks" logging mode sends seconds since 2001-01-01
 * (timeIntervalSinceReferenceDate); no real OwnTracks fix predates 2001. */
#define OT_EPOCH_2001 978307200.0
/* Above this tst is not seconds of any plausible date (year 5138). */
#define OT_TST_MAX 1e11

/* Members read into the fix (when they hold a number) or never stored. */
static const char *const ot_skip[] = { "_type", "lat", "lon", "tst", "token", "api_key", NULL };

struct ot_opt {
	const char *name;
	unsigned    bit;
	double      scale;   /* client unit -> mintrac unit */
};

static const struct ot_opt ot_opts[] = {
	{ "vel",  FIX_SPEED,  1 / 3.6 },   /* km/h -> m/s */
	{ "cog",  FIX_COURSE, 1 },
	{ "alt",  FIX_ALT,    1 },
	{ "acc",  FIX_ACC,    1 },
	{ "batt", FIX_BATT,   1 },
};

/* lat and lon: both absent is a record without a position (1), one of them
 * or a non-number is a 400 (-1), else 0. */
static int ot_position(json_t *root, struct fix *f, struct decode *d)
{
	json_t *lat = json_object_get(root, "lat"), *lon = json_object_get(root, "lon");
	if (!lat && !lon)
		return 1;
	if (!lat || !lon)
		return decode_fail(d, 0, "only one of lat/lon");
	if (pjson_number(lat, &f->lat) != 1)
		return decode_fail(d, 0, "lat is not a number");
	if (pjson_number(lon, &f->lon) != 1)
		return decode_fail(d, 0, "lon is not a number");
	return 0;
}

static int ot_time(json_t *root, struct fix *f, struct decode *d)
{
	double tst;
	int rc = pjson_number(json_object_get(root, "tst"), &tst);
	if (rc == 0) {
		f->time_ms = d->now_ms;   /* tst is required by the app; be lenient */
		return 0;
	}
	if (rc < 0)
		return decode_fail(d, 0, "tst is not a number");
	if (tst < 0 || tst >= OT_TST_MAX)
		return decode_fail(d, 0, "tst out of range");
	if (tst < OT_EPOCH_2001)
		tst += OT_EPOCH_2001;
	f->time_ms = secs_to_ms(tst);
	return 0;
}

/* Optional numbers; a member that is not a number is kept as an attribute
 * instead of being mapped. */
static void ot_optionals(json_t *root, struct fix *f, json_t *attrs)
{
	for (size_t i = 0; i < sizeof ot_opts / sizeof ot_opts[0]; i++) {
		json_t *v = json_object_get(root, ot_opts[i].name);
		double x;
		int rc = pjson_number(v, &x);
		if (rc == 1) {
			*pfix_slot(f, ot_opts[i].bit) = x * ot_opts[i].scale;
			f->has |= ot_opts[i].bit;
		} else if (rc < 0) {
			pattr_add_json(attrs, ot_opts[i].name, v);
		}
	}
}

static int ot_location(json_t *root, struct decode *d)
{
	struct fix f;
	const char *key;
	json_t *v;

	fix_init(&f);
	int rc = ot_position(root, &f, d);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (ot_time(root, &f, d) < 0)
		return -1;
	json_t *attrs = pattr_new();
	ot_optionals(root, &f, attrs);
	json_object_foreach(root, key, v) {
		if (pname_listed(key, ot_skip))
			continue;
		int mapped = 0;
		for (size_t i = 0; i < sizeof ot_opts / sizeof ot_opts[0]; i++)
			if (strcmp(key, ot_opts[i].name) == 0)
				mapped = 1;
		if (!mapped)
			pattr_add_json(attrs, key, v);
	}
	f.attrs = pattr_finish(attrs);
	return decode_push_checked(d, &f, NULL);
}

static int ot_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* A 401 asks for Basic: OwnTracks sends the password only when asked. */
static void ot_reject(struct proto_reply *out, int status, const char *why)
{
	proto_reject_text(out, status, why);
	if (status == 401)
		out->headers = "WWW-Authenticate: Basic realm=\"mintrac\"\r\n";
}

static int owntracks_decode(const struct http_request *r, struct decode *d)
{
	pcred_token(r, d);
	d->reply_status = 200;
	d->reply_type = "application/json";
	d->reply_body = "[]";
	if (!r->body || ot_blank(r->body, r->body_len))
		return 0;
	json_t *root = pjson_load(r, d);
	if (!root)
		return -1;
	int rc = 0;
	const char *type = json_string_value(json_object_get(root, "_type"));
	if (type && strcmp(type, "location") == 0)
		rc = ot_location(root, d);
	json_decref(root);
	return rc;
}

/* The token is only ever in the head. */
static int owntracks_head_cred(const struct http_request *head, struct decode *d)
{
	pcred_token(head, d);
	return 1;
}

static const char *const ot_paths[] = { "/owntracks", "/pub", "/api/v1/owntracks/points", NULL };

const struct proto proto_owntracks = {
	.name = "owntracks",
	.paths = ot_paths,
	.body_limit = 1 * MiB,
	.decode = owntracks_decode,
	.head_cred = owntracks_head_cred,
	.reject = ot_reject,
};
