/* Overland (/overland) and Dawarich's /api/v1/overland/batches (GPSLogger's
 * Dawarich sender, Home Assistant): {"locations":[Feature...],
 * "current":Feature?, "trip":{...}?}.
 *
 * A batch is all or nothing: one invalid position or time makes the whole
 * request a 400 and nothing is stored, so the app re-sends the batch after
 * the user fixes the cause instead of silently losing part of it. Features
 * that are not positions (trip summaries, visits, log actions, features
 * without coordinates) are skipped. The reply {"result":"ok"} is what the
 * app checks before it deletes the batch. */
#include "proto/proto.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "proto/proto_attrs.h"
#include "proto/proto_cred.h"
#include "proto/json_budget.h"
#include "proto/json_stream.h"
#include "base/util.h"

/* How a property is read into the fix. */
enum ov_kind { OV_PLAIN, OV_SENTINEL, OV_BATTERY };

struct ov_opt {
	const char  *name;
	unsigned     bit;
	enum ov_kind kind;
};

static const struct ov_opt ov_opts[] = {
	{ "speed",               FIX_SPEED,  OV_SENTINEL },
	{ "course",              FIX_COURSE, OV_SENTINEL },
	{ "altitude",            FIX_ALT,    OV_PLAIN },
	{ "horizontal_accuracy", FIX_ACC,    OV_SENTINEL },
	{ "battery_level",       FIX_BATT,   OV_BATTERY },
};

/* Attributes for which -1 means "unknown": dropped rather than stored. */
static const char *const ov_sentinel_attrs[] = {
	"vertical_accuracy", "speed_accuracy", "course_accuracy", NULL
};

/* Never stored as attributes: read into the fix, or credentials. */
static const char *const ov_skip[] = { "timestamp", "token", "api_key", NULL };

/* battery_level is 0..1 for Overland and Transistorsoft-style senders, but
 * GPSLogger's Dawarich sender and Home Assistant send a percent: a value
 * above 1 is already one. The product is rounded to 1e-6 so that 0.58
 * becomes 58, not 57.99999999999999 (by hand: |v| <= 1 keeps the cast in
 * range, and the build links no libm). */
static double ov_battery(double v)
{
	if (v > 1 || v < -1)
		return v;
	double x = v * 100 * 1e6;
	return (double)(int64_t)(x < 0 ? x - 0.5 : x + 0.5) / 1e6;
}

/* Maps the known numeric properties; returns the bits consumed so that they
 * are not repeated as attributes (a non-number stays an attribute). */
static unsigned ov_optionals(json_t *props, struct fix *f)
{
	unsigned used = 0;
	for (size_t i = 0; i < sizeof ov_opts / sizeof ov_opts[0]; i++) {
		double x;
		int rc = pjson_number(json_object_get(props, ov_opts[i].name), &x);
		if (rc != 1)
			continue;
		used |= ov_opts[i].bit;
		if (ov_opts[i].kind != OV_PLAIN && x == -1)
			continue;
		*pfix_slot(f, ov_opts[i].bit) = ov_opts[i].kind == OV_BATTERY ? ov_battery(x) : x;
		f->has |= ov_opts[i].bit;
	}
	return used;
}

static int ov_mapped(const char *key, unsigned used)
{
	for (size_t i = 0; i < sizeof ov_opts / sizeof ov_opts[0]; i++)
		if ((used & ov_opts[i].bit) && strcmp(key, ov_opts[i].name) == 0)
			return 1;
	return 0;
}

static char *ov_attrs(json_t *props, unsigned used)
{
	json_t *attrs = pattr_new();
	const char *key;
	json_t *v;
	json_object_foreach(props, key, v) {
		if (pname_listed(key, ov_skip) || ov_mapped(key, used))
			continue;
		if (pname_listed(key, ov_sentinel_attrs) && json_is_number(v) &&
		    json_number_value(v) == -1)
			continue;
		pattr_add_json(attrs, key, v);
	}
	return pattr_finish(attrs);
}

/* properties.timestamp: ISO 8601 (Z or offset, any fraction); a number is
 * read like any epoch number (seconds below 2^31, else ms); absent is the
 * time of receipt. */
static int ov_time(json_t *props, struct fix *f, struct decode *d, const char *where)
{
	json_t *ts = json_object_get(props, "timestamp");
	if (!ts || json_is_null(ts)) {
		f->time_ms = d->now_ms;
		return 0;
	}
	if (json_is_string(ts)) {
		if (parse_time(json_string_value(ts), &f->time_ms) == 0)
			return 0;
	} else if (json_is_number(ts)) {
		struct buf b;
		buf_init(&b);
		buf_add_double(&b, json_number_value(ts));
		int rc = parse_time(b.data, &f->time_ms);
		buf_free(&b);
		if (rc == 0)
			return 0;
	}
	return decode_fail(d, 0, "%s: unreadable timestamp", where);
}

/* geometry.coordinates [lon, lat(, alt)]. 1 = no position (skip the
 * feature), 0 = read, -1 = invalid (400 recorded). */
static int ov_coords(json_t *feat, struct fix *f, double *alt, struct decode *d,
                     const char *where)
{
	json_t *geom = json_object_get(feat, "geometry");
	if (!json_is_object(geom))
		return 1;
	const char *gtype = json_string_value(json_object_get(geom, "type"));
	if (gtype && strcmp(gtype, "Point") != 0)
		return 1;
	json_t *c = json_object_get(geom, "coordinates");
	if (!c || json_is_null(c))
		return 1;
	if (!json_is_array(c))
		return decode_fail(d, 0, "%s: coordinates is not an array", where);
	if (json_array_size(c) < 2)
		return decode_fail(d, 0, "%s: coordinates need both lon and lat", where);
	if (pjson_number(json_array_get(c, 0), &f->lon) != 1)
		return decode_fail(d, 0, "%s: lon is not a number", where);
	if (pjson_number(json_array_get(c, 1), &f->lat) != 1)
		return decode_fail(d, 0, "%s: lat is not a number", where);
	*alt = NAN;
	if (json_array_size(c) > 2 && pjson_number(json_array_get(c, 2), alt) != 1)
		*alt = NAN;
	return 0;
}

/* Trip summaries carry type "trip"; visits and log actions an "action". */
static int ov_is_event(json_t *props)
{
	if (!props)
		return 0;
	const char *type = json_string_value(json_object_get(props, "type"));
	if (type && strcmp(type, "trip") == 0)
		return 1;
	return json_object_get(props, "action") != NULL;
}

static int ov_feature(json_t *feat, struct decode *d, const char *where)
{
	struct fix f;
	double alt;

	if (!json_is_object(feat))
		return decode_fail(d, 1, "%s is not an object", where);
	json_t *props = json_object_get(feat, "properties");
	if (props && json_is_null(props))
		props = NULL;
	if (props && !json_is_object(props))
		return decode_fail(d, 1, "%s: properties is not an object", where);
	if (ov_is_event(props))
		return 0;
	fix_init(&f);
	int rc = ov_coords(feat, &f, &alt, d, where);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	unsigned used = 0;
	if (props) {
		if (ov_time(props, &f, d, where) < 0)
			return -1;
		used = ov_optionals(props, &f);
		f.attrs = ov_attrs(props, used);
	} else {
		f.time_ms = d->now_ms;
	}
	/* GeoJSON's optional third coordinate, when no altitude property. */
	if (!(used & FIX_ALT) && isfinite(alt)) {
		f.alt = alt;
		f.has |= FIX_ALT;
	}
	return decode_push_checked(d, &f, where);
}

/* The batch is read element by element (json_stream.h): a tree of one
 * feature at a time, not of the whole batch. "current" is kept until the
 * locations are done, as it is the latest position. */
struct ov_read {
	struct decode *d;
	json_t        *current;
	int            locations;    /* 1 an array, -1 something else */
};

static int ov_array(void *ctx)
{
	struct ov_read *o = ctx;
	o->locations = 1;
	return 0;
}

static int ov_element(void *ctx, size_t i, json_t *feat)
{
	struct ov_read *o = ctx;
	char where[48];
	snprintf(where, sizeof where, "locations[%zu]", i);
	return ov_feature(feat, o->d, where) < 0;
}

static int ov_member(void *ctx, const char *key, json_t *v)
{
	struct ov_read *o = ctx;
	if (strcmp(key, "locations") == 0) {
		o->locations = -1;           /* an array would have been streamed */
		return 1;
	}
	if (strcmp(key, "current") == 0) {
		json_decref(o->current);     /* the last one wins, as in a tree */
		o->current = json_incref(v);
	}
	return 0;
}

static int ov_batch(const struct http_request *r, struct decode *d)
{
	static const struct json_stream_ops ops = { ov_element, ov_array, ov_member };
	struct ov_read o = { d, NULL, 0 };
	char err[160];
	size_t budget = JSON_BUDGET_FACTOR * r->body_len + JSON_BUDGET_BASE;
	enum json_stream_status st = json_stream_object(r->body ? r->body : "", r->body_len,
	                                                "locations", &ops, &o, budget, err,
	                                                sizeof err);
	int rc = 0;
	switch (st) {
	case JSON_STREAM_OK:
		break;
	case JSON_STREAM_STOPPED:
		rc = d->status ? -1 : decode_fail(d, 1, "locations missing or not an array");
		break;
	case JSON_STREAM_MALFORMED:
		rc = decode_fail(d, 1, "malformed JSON: %s", err);
		break;
	case JSON_STREAM_NOT_OBJECT:
		rc = decode_fail(d, 1, "JSON root is not an object");
		break;
	case JSON_STREAM_TWICE:
		rc = decode_fail(d, 1, "locations appears twice");
		break;
	case JSON_STREAM_TOO_BIG:
		rc = decode_fail(d, 1, "JSON body has too many values for its size");
		break;
	}
	if (rc == 0 && o.locations == 0)
		rc = decode_fail(d, 1, "locations missing or not an array");
	if (rc == 0 && o.current && !json_is_null(o.current))
		rc = ov_feature(o.current, d, "current");
	json_decref(o.current);
	return rc;
}

static int overland_decode(const struct http_request *r, struct decode *d)
{
	pcred_token(r, d);
	d->reply_status = 200;
	d->reply_type = "application/json";
	d->reply_body = "{\"result\":\"ok\"}";
	int rc = ov_batch(r, d);
	if (rc < 0) {
		/* All or nothing: drop what was decoded before the bad feature. */
		for (size_t i = 0; i < d->nfixes; i++)
			fix_free(&d->fixes[i]);
		d->nfixes = 0;
	}
	return rc;
}

/* The token is only ever in the head. */
static int overland_head_cred(const struct http_request *head, struct decode *d)
{
	pcred_token(head, d);
	return 1;
}

static const char *const ov_paths[] = { "/overland", "/api/v1/overland/batches", NULL };

const struct proto proto_overland = {
	.name = "overland",
	.paths = ov_paths,
	.body_limit = 8 * MiB,
	.decode = overland_decode,
	.head_cred = overland_head_cred,
	.reject = proto_reject_text,
};
