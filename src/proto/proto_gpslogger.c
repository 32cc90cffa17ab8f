/* /gpslogger: GPSLogger's "Log to custom URL". The user chooses method,
 * names and body, so this reads the query string plus a form or JSON body
 * under both the names of clients/gpslogger.http and GPSLogger's own %ALL
 * names. */
#include "proto/proto.h"
#include "proto/proto_kv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/proto_attrs.h"
#include "base/util.h"

static const char *const gl_lat[] = { "lat", "latitude", NULL };
static const char *const gl_lon[] = { "lon", "longitude", NULL };
static const char *const gl_time[] = { "timestamp", "time", NULL };
static const char *const gl_alt[] = { "altitude", "alt", NULL };
static const char *const gl_speed[] = { "speed", "spd", NULL };
static const char *const gl_kph[] = { "spd_kph", NULL };
static const char *const gl_course[] = { "bearing", "dir", "course", NULL };
static const char *const gl_acc[] = { "accuracy", "acc", NULL };
static const char *const gl_batt[] = { "batt", "battery", NULL };
static const char *const gl_token[] = { "token", NULL };
static const char *const gl_known[] = {
	"lat", "latitude", "lon", "longitude", "timestamp", "time", "altitude",
	"alt", "speed", "spd", "spd_kph", "bearing", "dir", "course", "accuracy",
	"acc", "batt", "battery", "token", "api_key", NULL
};

/* GPSLogger URL-encodes placeholder values even inside a JSON body
 * (%TIMEOFFSET's '+' arrives as "%2B"): decode %XX, keep '+' and any
 * malformed '%' as they are. */
static void add_pct_decoded(struct kvlist *kv, const char *key, const char *s)
{
	size_t n = strlen(s);
	char *out = xmemdup(s, n);
	n = http_pct_decode(s, n, out, 0);
	kvlist_add(kv, key, strlen(key), out, n);
	free(out);
}

/* One JSON member as a parameter; numbers keep their exact value. */
static void add_json_member(struct kvlist *kv, const char *key, json_t *v)
{
	struct buf b;
	buf_init(&b);
	switch (json_typeof(v)) {
	case JSON_STRING:
		add_pct_decoded(kv, key, json_string_value(v));
		return;
	case JSON_INTEGER:
		buf_add_int(&b, (int64_t)json_integer_value(v));
		break;
	case JSON_REAL:
		buf_add_double(&b, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_adds(&b, "true");
		break;
	case JSON_FALSE:
		buf_adds(&b, "false");
		break;
	case JSON_NULL:
		return;        /* null = absent */
	case JSON_OBJECT:
	case JSON_ARRAY:
		pattr_write(&b, v);
		break;
	}
	kvlist_add(kv, key, strlen(key), b.data ? b.data : "", b.len);
	buf_free(&b);
}

static int gl_json_body(const struct http_request *r, struct kvlist *kv, struct decode *d)
{
	const char *key;
	json_t *v;
	json_t *root = pjson_load(r, d);
	if (!root)
		return -1;
	json_object_foreach(root, key, v)
		add_json_member(kv, key, v);
	json_decref(root);
	return 0;
}

/* JSON when the Content-Type says so, or when there is none and the body
 * starts with '{' (GPSLogger sends no Content-Type unless the user adds
 * one); otherwise a form. */
static int gl_body_is_json(const struct http_request *r)
{
	if (kvx_is_json(r))
		return 1;
	if (http_header(r, "Content-Type"))
		return 0;
	const char *p = r->body;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return *p == '{';
}

/* Body parameters go first so that kvlist_get prefers them to the query. */
static int gl_params(const struct http_request *r, struct kvlist *kv, struct decode *d)
{
	int body = strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 &&
	           r->body && r->body_len;
	if (body) {
		if (gl_body_is_json(r)) {
			if (gl_json_body(r, kv, d) < 0)
				return -1;
		} else if (kvx_parse(kv, r->body, r->body_len, 1, d) < 0) {
			return -1;
		}
	}
	if (r->query)
		return kvx_parse(kv, r->query, strlen(r->query), 0, d);
	return 0;
}

static void gl_cred(const struct http_request *r, const struct kvlist *kv, struct decode *d)
{
	char user[256], pass[512];
	const char *tok = kvx_first(kv, gl_token);
	if (tok) {
		d->cred = CRED_TOKEN;
		d->secret = xmemdup(tok, strlen(tok));
	} else if (http_basic_auth(r, user, sizeof user, pass, sizeof pass) == 0) {
		d->cred = CRED_TOKEN;
		d->secret = xmemdup(pass, strlen(pass));
		d->user = xmemdup(user, strlen(user));
	} else if (http_bearer(r, pass, sizeof pass) == 0) {
		d->cred = CRED_TOKEN;
		d->secret = xmemdup(pass, strlen(pass));
	}
}

static int gl_opt(const struct kvlist *kv, const char *const *names, double *out,
                  unsigned bit, struct fix *f, struct decode *d)
{
	int rc = kvx_number(kv, names, out, d);
	if (rc > 0)
		f->has |= bit;
	return rc < 0 ? -1 : 0;
}

static int gl_decode(const struct kvlist *kv, struct decode *d)
{
	struct fix f;
	double kph;
	fix_init(&f);
	int pos = kvx_position(kv, gl_lat, gl_lon, &f, d);
	if (pos < 0 || kvx_time(kv, gl_time, &f.time_ms, d) < 0)
		return -1;
	if (pos == 0)
		return 0;      /* no position: nothing to store */
	if (gl_opt(kv, gl_alt, &f.alt, FIX_ALT, &f, d) < 0 ||
	    gl_opt(kv, gl_speed, &f.speed, FIX_SPEED, &f, d) < 0 ||
	    gl_opt(kv, gl_course, &f.course, FIX_COURSE, &f, d) < 0 ||
	    gl_opt(kv, gl_acc, &f.acc, FIX_ACC, &f, d) < 0 ||
	    gl_opt(kv, gl_batt, &f.batt, FIX_BATT, &f, d) < 0)
		return -1;
	if (f.batt < 0)
		f.has &= ~(unsigned)FIX_BATT;
	if (!(f.has & FIX_SPEED)) {
		int rc = kvx_number(kv, gl_kph, &kph, d);
		if (rc < 0)
			return -1;
		if (rc) {
			f.speed = kph / 3.6;
			f.has |= FIX_SPEED;
		}
	}
	f.attrs = kvx_attrs(kv, gl_known);
	return decode_push_checked(d, &f, NULL);
}

static int gpslogger_decode(const struct http_request *r, struct decode *d)
{
	struct kvlist kv;
	kvlist_init(&kv);
	if (gl_params(r, &kv, d) == 0) {
		gl_cred(r, &kv, d);
		gl_decode(&kv, d);
	}
	kvlist_free(&kv);
	return d->status ? -1 : 0;
}

static const char *const gl_paths[] = { "/gpslogger", NULL };

const struct proto proto_gpslogger = {
	.name = "gpslogger",
	.paths = gl_paths,
	.body_limit = 1 * MiB,
	.decode = gpslogger_decode,
	.reject = proto_reject_text,
};
