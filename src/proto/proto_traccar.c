/* "/": Traccar's OsmAnd protocol, as Traccar Client (all generations) and
 * OsmAnd pointed at a Traccar server send it. Query string, form body, or
 * the Traccar Client 9.x JSON (Transistorsoft) body. Speed is in knots
 * except inside the JSON, where it is m/s. */
#include "proto/proto.h"
#include "proto/proto_kv.h"

#include <stdlib.h>
#include <string.h>

#include "proto/proto_attrs.h"
#include "base/util.h"

#define KNOTS_TO_MS (1852.0 / 3600.0)

static const char *const tc_cred[] = { "id", "deviceid", "device_id", NULL };
static const char *const tc_lat[] = { "lat", NULL };
static const char *const tc_lon[] = { "lon", NULL };
static const char *const tc_time[] = { "timestamp", NULL };
static const char *const tc_speed[] = { "speed", NULL };
static const char *const tc_course[] = { "bearing", "heading", NULL };
static const char *const tc_alt[] = { "altitude", NULL };
static const char *const tc_acc[] = { "accuracy", NULL };
static const char *const tc_batt[] = { "batt", NULL };
static const char *const tc_known[] = {
	"id", "deviceid", "device_id", "token", "api_key", "lat", "lon",
	"location", "timestamp", "speed", "bearing", "heading", "altitude",
	"accuracy", "batt", NULL
};

static void set_cred(struct decode *d, const char *secret)
{
	free(d->secret);
	d->cred = CRED_TOKEN_OR_IDENT;
	d->secret = xmemdup(secret, strlen(secret));
}

/* One optional number field; sets bit in f->has when present. */
static int tc_opt(const struct kvlist *kv, const char *const *names, double *out,
                  double scale, unsigned bit, struct fix *f, struct decode *d)
{
	int rc = kvx_number(kv, names, out, d);
	if (rc < 0)
		return -1;
	if (rc) {
		*out *= scale;
		f->has |= bit;
	}
	return 0;
}

/* `location=lat,lon` is Traccar's alternative to lat+lon. */
static int tc_location(struct kvlist *kv, struct decode *d)
{
	const char *loc = kvlist_get(kv, "location");
	if (!loc || kvlist_get(kv, "lat") || kvlist_get(kv, "lon"))
		return 0;
	const char *comma = strchr(loc, ',');
	if (!comma)
		return decode_fail(d, 0, "location is not lat,lon");
	/* Each value is its own allocation, so loc survives kvlist_add. */
	kvlist_add(kv, "lat", 3, loc, (size_t)(comma - loc));
	kvlist_add(kv, "lon", 3, comma + 1, strlen(comma + 1));
	return 0;
}

static int tc_query(struct kvlist *kv, struct decode *d)
{
	struct fix f;
	fix_init(&f);
	const char *cred = kvx_first(kv, tc_cred);
	if (cred)
		set_cred(d, cred);
	if (tc_location(kv, d) < 0)
		return -1;
	int pos = kvx_position(kv, tc_lat, tc_lon, &f, d);
	if (pos < 0 || kvx_time(kv, tc_time, &f.time_ms, d) < 0)
		return -1;
	if (pos == 0)
		return 0;      /* heartbeat (Traccar Client 10.x while stationary) */
	if (tc_opt(kv, tc_speed, &f.speed, KNOTS_TO_MS, FIX_SPEED, &f, d) < 0 ||
	    tc_opt(kv, tc_course, &f.course, 1, FIX_COURSE, &f, d) < 0 ||
	    tc_opt(kv, tc_alt, &f.alt, 1, FIX_ALT, &f, d) < 0 ||
	    tc_opt(kv, tc_acc, &f.acc, 1, FIX_ACC, &f, d) < 0 ||
	    tc_opt(kv, tc_batt, &f.batt, 1, FIX_BATT, &f, d) < 0)
		return -1;
	/* Legacy iOS sends batteryLevel*100, i.e. -100 when unknown. */
	if (f.batt < 0)
		f.has &= ~(unsigned)FIX_BATT;
	f.attrs = kvx_attrs(kv, tc_known);
	return decode_push_checked(d, &f, NULL);
}

/* ---- Traccar Client 9.x JSON ------------------------------------------- */

/* Number member: 1 found, 0 absent (missing, null or ""), -1 wrong type.
 * Numeric strings are read like query values. */
static int jnum(const json_t *obj, const char *name, double *out)
{
	const json_t *v = obj ? json_object_get(obj, name) : NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 1;
	}
	if (json_is_string(v)) {
		if (!*json_string_value(v))
			return 0;
		return parse_double(json_string_value(v), out) == 0 ? 1 : -1;
	}
	return -1;
}

/* Time member: ISO text or an epoch number (same rule as the query). */
static int jtime(const json_t *v, int64_t *ms)
{
	struct buf b;
	int rc;
	if (json_is_string(v))
		return parse_time(json_string_value(v), ms);
	if (!json_is_number(v))
		return -1;
	buf_init(&b);
	if (json_is_integer(v))
		buf_add_int(&b, (int64_t)json_integer_value(v));
	else
		buf_add_double(&b, json_real_value(v));
	rc = parse_time(b.data, ms);
	buf_free(&b);
	return rc;
}

/* Optional m/s-style member where a negative value (-1) means unknown. */
static int jopt(const json_t *obj, const char *name, double *out, unsigned bit,
                int neg_unknown, struct fix *f, struct decode *d)
{
	double v;
	int rc = jnum(obj, name, &v);
	if (rc < 0)
		return decode_fail(d, 0, "%s is not a number", name);
	if (rc == 0 || (neg_unknown && v < 0))
		return 0;
	*out = v;
	f->has |= bit;
	return 0;
}

static int is_cred_name(const char *k)
{
	for (const char *const *p = tc_cred; *p; p++)
		if (strcmp(*p, k) == 0)
			return 1;
	return strcmp(k, "token") == 0 || strcmp(k, "api_key") == 0;
}

static void tc_json_attrs(json_t *loc, json_t *attrs)
{
	const char *k;
	json_t *v;
	json_t *extras = json_object_get(loc, "extras");
	if (json_is_object(extras))
		json_object_foreach(extras, k, v)
			if (!is_cred_name(k))
				pattr_add_json(attrs, k, v);
	pattr_add_json(attrs, "event", json_object_get(loc, "event"));
	pattr_add_json(attrs, "is_moving", json_object_get(loc, "is_moving"));
	pattr_add_json(attrs, "odometer", json_object_get(loc, "odometer"));
	pattr_add_json(attrs, "mock", json_object_get(loc, "mock"));
	json_t *act = json_object_get(loc, "activity");
	if (json_is_object(act))
		pattr_add_json(attrs, "activity", json_object_get(act, "type"));
	json_t *batt = json_object_get(loc, "battery");
	if (json_is_object(batt))
		pattr_add_json(attrs, "charge", json_object_get(batt, "is_charging"));
}

static int tc_json_battery(json_t *loc, struct fix *f, struct decode *d)
{
	json_t *batt = json_object_get(loc, "battery");
	double level;
	if (!batt || json_is_null(batt))
		return 0;
	if (!json_is_object(batt))
		return decode_fail(d, 0, "battery is not an object");
	int rc = jnum(batt, "level", &level);
	if (rc < 0)
		return decode_fail(d, 0, "battery.level is not a number");
	if (rc == 0 || level < 0)
		return 0;      /* -1: unknown */
	/* 0..1 as documented; a larger value is already a percent. */
	f->batt = level <= 1 ? level * 100 : level;
	f->has |= FIX_BATT;
	return 0;
}

static int tc_json_location(json_t *loc, struct decode *d)
{
	struct fix f;
	double lat, lon;
	fix_init(&f);
	if (!json_is_object(loc))
		return decode_fail(d, 1, "location is not an object");
	json_t *ts = json_object_get(loc, "timestamp");
	if (!ts || json_is_null(ts))
		f.time_ms = d->now_ms;
	else if (jtime(ts, &f.time_ms) < 0)
		return decode_fail(d, 0, "location.timestamp is not a readable time");
	json_t *coords = json_object_get(loc, "coords");
	if (coords && !json_is_null(coords) && !json_is_object(coords))
		return decode_fail(d, 0, "coords is not an object");
	int hlat = jnum(coords, "latitude", &lat);
	int hlon = jnum(coords, "longitude", &lon);
	if (hlat < 0 || hlon < 0)
		return decode_fail(d, 0, "%s is not a number", hlat < 0 ? "latitude" : "longitude");
	if (!hlat && !hlon)
		return 0;      /* no position: heartbeat */
	if (!hlat || !hlon)
		return decode_fail(d, 0, "only one of latitude/longitude");
	f.lat = lat;
	f.lon = lon;
	if (jopt(coords, "speed", &f.speed, FIX_SPEED, 1, &f, d) < 0 ||
	    jopt(coords, "heading", &f.course, FIX_COURSE, 1, &f, d) < 0 ||
	    jopt(coords, "accuracy", &f.acc, FIX_ACC, 0, &f, d) < 0 ||
	    jopt(coords, "altitude", &f.alt, FIX_ALT, 0, &f, d) < 0 ||
	    tc_json_battery(loc, &f, d) < 0)
		return -1;
	json_t *attrs = pattr_new();
	tc_json_attrs(loc, attrs);
	f.attrs = pattr_finish(attrs);
	return decode_push_checked(d, &f, NULL);
}

static void tc_json_cred(const struct http_request *r, json_t *root, struct decode *d)
{
	json_t *id = json_object_get(root, "device_id");
	if (json_is_string(id) && *json_string_value(id)) {
		set_cred(d, json_string_value(id));
	} else if (json_is_integer(id)) {
		struct buf b;
		buf_init(&b);
		buf_add_int(&b, (int64_t)json_integer_value(id));
		set_cred(d, b.data);
		buf_free(&b);
	} else {
		/* A server URL like "/?id=..." with a JSON body. */
		struct kvlist kv;
		kvlist_init(&kv);
		if (r->query)
			kvlist_parse_urlencoded(&kv, r->query, strlen(r->query));
		const char *q = kvx_first(&kv, tc_cred);
		if (q)
			set_cred(d, q);
		kvlist_free(&kv);
	}
}

static int tc_json(const struct http_request *r, struct decode *d)
{
	json_t *root = pjson_load(r, d);
	if (!root)
		return -1;
	tc_json_cred(r, root, d);
	json_t *loc = json_object_get(root, "location");
	if (json_is_array(loc)) {
		/* Transistorsoft batchSync: one fix per element. */
		size_t i;
		json_t *one;
		json_array_foreach(loc, i, one)
			if (tc_json_location(one, d) < 0)
				break;
	} else if (loc && !json_is_null(loc)) {
		tc_json_location(loc, d);
	}
	json_decref(root);
	return d->status ? -1 : 0;
}

/* JSON by Content-Type; also a bare '{' body without one, which would
 * otherwise be read as a meaningless form. An empty body is no JSON: the
 * parameters are then in the query, whatever the Content-Type says. */
static int body_is_json(const struct http_request *r)
{
	if (!r->body || !r->body_len)
		return 0;
	if (kvx_is_json(r))
		return 1;
	if (http_header(r, "Content-Type") || (r->query && *r->query))
		return 0;
	const char *p = r->body;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return *p == '{';
}

static int traccar_decode(const struct http_request *r, struct decode *d)
{
	if (body_is_json(r))
		return tc_json(r, d);
	struct kvlist kv;
	kvlist_init(&kv);
	if (kvx_params(r, &kv, d) == 0)
		tc_query(&kv, d);
	kvlist_free(&kv);
	return d->status ? -1 : 0;
}

static const char *const tc_paths[] = { "/", NULL };

const struct proto proto_traccar = {
	.name = "traccar",
	.paths = tc_paths,
	.body_limit = 1 * MiB,
	.decode = traccar_decode,
	.reject = proto_reject_text,
};
