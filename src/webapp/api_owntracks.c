/* OwnTracks Recorder's read API (/api/0/version, list, last, locations)
 * and its /ws/last WebSocket, so that OwnTracks Frontend and scripts
 * written for the Recorder work against mintrac. `user` is the mintrac
 * user name and `device` the device name; a caller sees only their own:
 * another user's name gives empty answers, never an error object
 * (Frontend reads every answer and stops at the first it cannot read).
 *
 * A fix is written in the Recorder's location shape: tst in epoch
 * seconds, vel in km/h, batt in percent, topic owntracks/USER/DEVICE, and
 * the OwnTracks members the phone sent (tid, t, conn, SSID, inregions...)
 * back from the fix's attributes. Parameters come from the query, a POST
 * form (the Recorder's docs use curl -d) or the Recorder's X-Limit-*
 * headers. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "base/version.h"
#include "base/buf.h"
#include "io/export.h"
#include "net/http.h"
#include "webapp/hub.h"
#include "webapp/streams.h"
#include "base/log.h"
#include "base/point.h"
#include "net/server.h"
#include "store/store.h"
#include "webapp/webapp.h"
#include "webapp/web_stream.h"
#include "net/ws.h"

#define OT_ROUTE (R_AUTH | R_BASIC_CHALLENGE)
/* The Recorder's default history when `from` is missing. */
#define OT_DEFAULT_HOURS 6
/* /ws/last: pings at least this often (and within the idle timeout, so a
 * proxy configured like us keeps the socket), a client that leaves 1 MiB
 * unread is dropped, and a client message is small ("LAST"). */
#define OT_PING_MAX     25.0
#define OT_WS_PENDING   (1024 * 1024)
#define OT_WS_MESSAGE   (64 * 1024)

/* ---- parameters --------------------------------------------------------- */

struct ot_params {
	struct kvlist kv;              /* query, then a POST form */
	const struct http_request *req;
	int bad;                       /* a value hides a NUL */
};

static void ot_params_init(struct ot_params *p, const struct http_request *req)
{
	query_parse(req, &p->kv);
	p->req = req;
	p->bad = 0;
	const char *ct = http_header(req, "Content-Type");
	if (strcmp(req->method, "POST") == 0 && req->body_len &&
	    (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33) == 0))
		kvlist_parse_urlencoded(&p->kv, req->body, req->body_len);
}

static void ot_params_free(struct ot_params *p)
{
	kvlist_free(&p->kv);
}

/* name from the query or form, else the Recorder's X-Limit-Name header;
 * NULL when absent or empty. */
static const char *ot_param(struct ot_params *p, const char *name, const char *header)
{
	const char *v = query_val(&p->kv, name, &p->bad);
	if (!v && header) {
		v = http_header(p->req, header);
		if (v && !*v)
			v = NULL;
	}
	return v;
}

/* `user` names the caller (or is absent). */
static int ot_user_ok(const char *user, const struct caller *who)
{
	return !user || strcmp(user, who->user.name) == 0;
}

/* ---- the Recorder's location object ------------------------------------- */

struct ot_obj {
	struct buf *b;
	const char *fields;   /* fields=a,b,c: only these members; NULL: all */
	int         first;
};

static int ot_field_wanted(const char *fields, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = fields; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && (p[n] == ',' || p[n] == 0))
			return 1;
	return 0;
}

/* Starts member key; 0 when fields= leaves it out. */
static int ot_key(struct ot_obj *o, const char *key)
{
	if (o->fields && !ot_field_wanted(o->fields, key))
		return 0;
	if (!o->first)
		buf_addc(o->b, ',');
	o->first = 0;
	buf_add_json_str(o->b, key);
	buf_addc(o->b, ':');
	return 1;
}

static void ot_str(struct ot_obj *o, const char *key, const char *v)
{
	if (ot_key(o, key))
		buf_add_json_str(o->b, v);
}

static void ot_num(struct ot_obj *o, const char *key, double v)
{
	if (ot_key(o, key))
		buf_add_double(o->b, v);
}

static void ot_int(struct ot_obj *o, const char *key, int64_t v)
{
	if (ot_key(o, key))
		buf_add_int(o->b, v);
}

/* The Recorder's isotst ("...T...Z") and disptst ("... ") forms. */
static void ot_time_str(struct ot_obj *o, const char *key, int64_t secs, char sep,
                        const char *zone)
{
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !ot_key(o, key))
		return;
	buf_printf(o->b, "\"%04d-%02d-%02d%c%02d:%02d:%02d%s\"", tm.tm_year + 1900, tm.tm_mon + 1,
	           tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
}

/* OwnTracks members kept as attributes and given back as the phone sent
 * them; anything else of the attributes stays out of this shape. */
enum ot_kind { OT_STRING, OT_NUMBER, OT_STRINGS };
static const struct {
	const char  *name;
	enum ot_kind kind;
} ot_extras[] = {
	{ "t", OT_STRING },      { "conn", OT_STRING },      { "SSID", OT_STRING },
	{ "BSSID", OT_STRING },  { "poi", OT_STRING },       { "addr", OT_STRING },
	{ "tag", OT_STRING },    { "vac", OT_NUMBER },       { "p", OT_NUMBER },
	{ "bs", OT_NUMBER },     { "m", OT_NUMBER },         { "created_at", OT_NUMBER },
	{ "inregions", OT_STRINGS }, { "inrids", OT_STRINGS },
};

static int ot_all_strings(json_t *a)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (!json_is_string(v))
			return 0;
	return 1;
}

static void ot_extra(struct ot_obj *o, json_t *attrs)
{
	for (size_t i = 0; i < sizeof ot_extras / sizeof ot_extras[0]; i++) {
		json_t *v = json_object_get(attrs, ot_extras[i].name);
		switch (ot_extras[i].kind) {
		case OT_STRING:
			if (json_is_string(v))
				ot_str(o, ot_extras[i].name, json_string_value(v));
			break;
		case OT_NUMBER:
			if (json_is_integer(v))
				ot_int(o, ot_extras[i].name, json_integer_value(v));
			else if (json_is_real(v))
				ot_num(o, ot_extras[i].name, json_real_value(v));
			break;
		case OT_STRINGS:
			if (json_is_array(v) && ot_all_strings(v) && ot_key(o, ot_extras[i].name)) {
				size_t k;
				json_t *s;
				buf_addc(o->b, '[');
				json_array_foreach(v, k, s) {
					if (k)
						buf_addc(o->b, ',');
					buf_add_json_str(o->b, json_string_value(s));
				}
				buf_addc(o->b, ']');
			}
			break;
		}
	}
}

/* The phone's tid, else the last two characters of the device name (the
 * OwnTracks apps' default: the end of the device id). */
static void ot_tid(struct ot_obj *o, const char *device, json_t *attrs)
{
	const char *tid = json_string_value(json_object_get(attrs, "tid"));
	if (tid && *tid) {
		ot_str(o, "tid", tid);
		return;
	}
	size_t n = strlen(device), start = n;
	for (int chars = 0; start > 0 && chars < 2; chars++) {
		start--;
		while (start > 0 && ((unsigned char)device[start] & 0xC0) == 0x80)
			start--;
	}
	if (ot_key(o, "tid")) {
		char two[16];
		snprintf(two, sizeof two, "%.*s", (int)(n - start), device + start);
		buf_add_json_str(o->b, two);
	}
}

static void ot_location(struct buf *b, const char *fields, const char *user, const char *device,
                        const struct fix *f)
{
	struct ot_obj o = { b, fields, 1 };
	json_t *attrs = f->attrs ? json_loads(f->attrs, 0, NULL) : NULL;
	int64_t tst = f->time_ms / 1000;   /* fixes are never before 1970 */

	buf_addc(b, '{');
	ot_str(&o, "_type", "location");
	ot_num(&o, "lat", f->lat);
	ot_num(&o, "lon", f->lon);
	ot_int(&o, "tst", tst);
	if (f->has & FIX_ACC)
		ot_num(&o, "acc", f->acc);
	if (f->has & FIX_ALT)
		ot_num(&o, "alt", f->alt);
	if (f->has & FIX_BATT)
		ot_int(&o, "batt", llround(f->batt));
	if (f->has & FIX_SPEED)
		ot_int(&o, "vel", llround(f->speed * 3.6));   /* OwnTracks: integer km/h */
	if (f->has & FIX_COURSE)
		ot_num(&o, "cog", f->course);
	ot_tid(&o, device, attrs);
	if (ot_key(&o, "topic")) {
		struct buf t;
		buf_init(&t);
		buf_printf(&t, "owntracks/%s/%s", user, device);
		buf_add_json_str(b, t.data);
		buf_free(&t);
	}
	ot_str(&o, "username", user);
	ot_str(&o, "device", device);
	ot_time_str(&o, "isotst", tst, 'T', "Z");
	/* The receipt time is not kept: the fix time stands in for it. */
	ot_time_str(&o, "isorcv", tst, 'T', "Z");
	ot_time_str(&o, "disptst", tst, ' ', "");
	if (attrs)
		ot_extra(&o, attrs);
	buf_addc(b, '}');
	json_decref(attrs);
}

/* ---- /api/0/version, /api/0/list ---------------------------------------- */

static void route_version(struct webapp *app, struct conn *c, const struct http_request *req,
                          const struct caller *who)
{
	(void)app, (void)req, (void)who;
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "{\"version\":");
	buf_add_json_str(&b, MINTRAC_VERSION);
	buf_addc(&b, '}');
	reply_json(c, 200, &b);
	buf_free(&b);
}

/* No user: the users (the caller); user: that user's devices; user and
 * device: the Recorder's .rec files, which mintrac does not have. */
static void route_list(struct webapp *app, struct conn *c, const struct http_request *req,
                       const struct caller *who)
{
	struct ot_params p;
	ot_params_init(&p, req);
	const char *user = ot_param(&p, "user", "X-Limit-User");
	const char *device = ot_param(&p, "device", "X-Limit-Device");
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "{\"results\":[");
	if (p.bad) {
		reply_error(c, 400, "bad parameter");
		goto out;
	}
	if (!user) {
		buf_add_json_str(&b, who->user.name);
	} else if (!device && ot_user_ok(user, who)) {
		struct devlist l;
		if (devices_of(app, who->user.id, &l) != STORE_OK) {
			reply_store_error(app, c, "device list");
			goto out;
		}
		for (size_t i = 0; i < l.n; i++) {
			if (i)
				buf_addc(&b, ',');
			buf_add_json_str(&b, l.v[i].name);
		}
		free(l.v);
	}
	buf_adds(&b, "]}");
	reply_json(c, 200, &b);
out:
	buf_free(&b);
	ot_params_free(&p);
}

/* ---- /api/0/last -------------------------------------------------------- */

/* The last fix of each of the caller's devices (only `device` when
 * given), as a JSON array in b; fields as for ot_location. */
static int ot_last_fixes(struct webapp *app, const struct user_rec *u, const char *device,
                         const char *fields, struct buf *b)
{
	struct devlist l;
	if (devices_of(app, u->id, &l) != STORE_OK)
		return STORE_ERR;
	int first = 1, rc = STORE_OK;
	buf_addc(b, '[');
	for (size_t i = 0; i < l.n && rc == STORE_OK; i++) {
		if (device && strcmp(device, l.v[i].name) != 0)
			continue;
		struct fix f;
		int r = store_last_fix(app->store, l.v[i].id, &f);
		if (r == STORE_NOTFOUND)
			continue;
		if (r != STORE_OK) {
			rc = STORE_ERR;
			break;
		}
		if (!first)
			buf_addc(b, ',');
		first = 0;
		ot_location(b, fields, u->name, l.v[i].name, &f);
		fix_free(&f);
	}
	buf_addc(b, ']');
	free(l.v);
	return rc;
}

static void route_last(struct webapp *app, struct conn *c, const struct http_request *req,
                       const struct caller *who)
{
	struct ot_params p;
	ot_params_init(&p, req);
	const char *user = ot_param(&p, "user", "X-Limit-User");
	const char *device = ot_param(&p, "device", "X-Limit-Device");
	const char *fields = ot_param(&p, "fields", NULL);
	struct buf b;
	buf_init(&b);
	if (p.bad)
		reply_error(c, 400, "bad parameter");
	else if (!ot_user_ok(user, who))
		conn_reply(c, 200, CT_JSON, "[]", 2, HDR_API);
	else if (ot_last_fixes(app, &who->user, device, fields, &b) != STORE_OK)
		reply_store_error(app, c, "last fix");
	else
		reply_json(c, 200, &b);
	buf_free(&b);
	ot_params_free(&p);
}

/* ---- /api/0/locations --------------------------------------------------- */

static int ot_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The Recorder's forms YYYY-MM, YYYY-MM-DD, ...THH, ...THH:MM,
 * ...THH:MM:SS ('T' or 't', optional 'Z'), in UTC. A `to` means the end
 * of what it names (the whole day, minute, second: `to` is inclusive).
 * Anything else is read by parse_time (offsets, fractions, epoch). */
static int ot_bound(const char *s, int is_to, int64_t *ms)
{
	size_t n = strlen(s);
	if (n > 7 && (s[n - 1] == 'Z' || s[n - 1] == 'z'))
		n--;
	static const size_t lens[] = { 7, 10, 13, 16, 19 };
	int unit = -1;
	for (int i = 0; i < 5; i++)
		if (n == lens[i])
			unit = i;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_mday = 1;
	int y = 0, mo = 0, ok = unit >= 0 && ot_digits(s, 4, &y) == 0 && s[4] == '-' &&
	                        ot_digits(s + 5, 2, &mo) == 0;
	if (ok && unit >= 1)
		ok = s[7] == '-' && ot_digits(s + 8, 2, &tm.tm_mday) == 0;
	if (ok && unit >= 2)
		ok = (s[10] == 'T' || s[10] == 't') && ot_digits(s + 11, 2, &tm.tm_hour) == 0;
	if (ok && unit >= 3)
		ok = s[13] == ':' && ot_digits(s + 14, 2, &tm.tm_min) == 0;
	if (ok && unit >= 4)
		ok = s[16] == ':' && ot_digits(s + 17, 2, &tm.tm_sec) == 0;
	if (!ok)
		return parse_time_t(s, ms);
	if (mo < 1 || mo > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	struct tm check = tm;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != check.tm_mday)   /* 31 April */
		return -1;
	*ms = (int64_t)t * 1000;
	if (!is_to)
		return 0;
	if (unit == 0) {
		check.tm_mon++;
		*ms = (int64_t)timegm(&check) * 1000 - 1;
	} else {
		static const int64_t unit_ms[] = { 0, 86400000, 3600000, 60000, 1000 };
		*ms += unit_ms[unit] - 1;
	}
	return 0;
}

/* limit=N: the last N fixes of the range, i.e. a later `from`, found by
 * reading N index entries backwards from `to` (not by walking the range). */
static int ot_limit_from(struct store *st, int64_t device_id, int64_t limit, int64_t *from,
                         int64_t to)
{
	int64_t t;
	int rc = store_fix_nth_last(st, device_id, *from, to, limit, &t);
	if (rc == STORE_OK)
		*from = t;
	return rc == STORE_ERR ? STORE_ERR : STORE_OK;
}

/* The JSON answer, made in pieces as the client reads (web_stream.c): any
 * range, bounded memory, and a storage error before the first piece is a
 * clean 503. The count is known only at the end, so it follows the data. */
struct ot_stream {
	struct webapp *app;
	int64_t        device_id;
	int64_t        next_ms, to_ms;
	int64_t        count;
	int            started;
	char           user[sizeof ((struct user_rec *)0)->name];
	char           device[NAME_MAX_BYTES + 1];
	char          *fields;
	struct buf    *out;     /* the piece being made, during ot_stream_more */
	size_t         want;    /* its size, about */
};

static struct ot_stream *ot_stream_new(struct webapp *app, const char *user,
                                       const struct device_rec *d, int64_t from, int64_t to,
                                       const char *fields)
{
	struct ot_stream *s = xcalloc(1, sizeof *s);
	s->app = app;
	s->device_id = d->id;
	s->next_ms = from;
	s->to_ms = to;
	snprintf(s->user, sizeof s->user, "%s", user);
	snprintf(s->device, sizeof s->device, "%s", d->name);
	s->fields = fields ? xmemdup(fields, strlen(fields)) : NULL;
	return s;
}

static void ot_stream_free(void *ctx)
{
	struct ot_stream *s = ctx;
	if (!s)
		return;
	free(s->fields);
	free(s);
}

static int ot_stream_fix(void *ctx, const struct fix *f)
{
	struct ot_stream *s = ctx;
	if (s->count)
		buf_addc(s->out, ',');
	ot_location(s->out, s->fields, s->user, s->device, f);
	s->count++;
	if (f->time_ms >= s->to_ms)
		return 2;   /* the end of the range: nothing can follow */
	s->next_ms = f->time_ms + 1;
	return s->out->len >= s->want;
}

static int ot_stream_more(void *ctx, struct buf *out, size_t want)
{
	struct ot_stream *s = ctx;
	s->out = out;
	s->want = want;
	if (!s->started) {
		buf_adds(out, "{\"data\":[");
		s->started = 1;
	}
	int rc = store_fixes(s->app->store, s->device_id, s->next_ms, s->to_ms, ot_stream_fix, s);
	s->out = NULL;
	if (rc < 0) {
		log_warnx("locations of %s: %s", s->device, store_errmsg(s->app->store));
		return -1;
	}
	if (rc == 1)
		return 0;
	buf_adds(out, "],\"count\":");
	buf_add_int(out, s->count);
	buf_adds(out, ",\"status\":200,\"version\":");
	buf_add_json_str(out, MINTRAC_VERSION);
	buf_addc(out, '}');
	return 1;
}

static const struct web_source ot_source = {
	.more = ot_stream_more,
	.free = ot_stream_free,
};

/* format=geojson|gpx: the same documents as /api/points. */
static void ot_export(struct webapp *app, struct conn *c, const struct device_rec *d,
                      int64_t from, int64_t to, enum export_format fmt)
{
	const char *name = d->name;
	stream_export(app, c, export_new(app->store, &d->id, &name, 1, from, to, fmt), d->name,
	              export_content_type(fmt), HDR_API);
}

static const char ot_empty_locations[] = "{\"count\":0,\"data\":[],\"status\":200}";

static void route_locations(struct webapp *app, struct conn *c, const struct http_request *req,
                            const struct caller *who)
{
	struct ot_params p;
	ot_params_init(&p, req);
	const char *user = ot_param(&p, "user", "X-Limit-User");
	const char *device = ot_param(&p, "device", "X-Limit-Device");
	const char *from_s = ot_param(&p, "from", "X-Limit-From");
	const char *to_s = ot_param(&p, "to", "X-Limit-To");
	const char *limit_s = ot_param(&p, "limit", NULL);
	const char *format = ot_param(&p, "format", NULL);
	const char *fields = ot_param(&p, "fields", NULL);
	int64_t from = now_ms() - OT_DEFAULT_HOURS * 3600000LL, to = INT64_MAX, limit = 0;
	char *end = NULL;
	struct device_rec d;
	int rc;

	if (limit_s) {
		errno = 0;
		limit = strtoll(limit_s, &end, 10);
	}
	if (p.bad)
		reply_error(c, 400, "bad parameter");
	else if (!user || !device)
		reply_error(c, 400, "user and device are required");
	else if (from_s && ot_bound(from_s, 0, &from) < 0)
		reply_error(c, 400, "bad from");
	else if (to_s && ot_bound(to_s, 1, &to) < 0)
		reply_error(c, 400, "bad to");
	else if (from > to)
		reply_error(c, 400, "from is after to");
	else if (limit_s && (*end || errno || limit < 0))
		reply_error(c, 400, "bad limit");
	else if (format && strcmp(format, "json") && strcmp(format, "geojson") &&
	         strcmp(format, "gpx"))
		reply_error(c, 400, "unsupported format (json, geojson, gpx)");
	else if (!ot_user_ok(user, who) ||
	         (rc = store_device_get(app->store, who->user.id, device, &d)) == STORE_NOTFOUND)
		conn_reply(c, 200, CT_JSON, ot_empty_locations, sizeof ot_empty_locations - 1,
		           HDR_API);
	else if (rc != STORE_OK)
		reply_store_error(app, c, "device lookup");
	else if (limit > 0 && ot_limit_from(app->store, d.id, limit, &from, to) != STORE_OK)
		reply_store_error(app, c, "locations");
	else if (format && strcmp(format, "json") != 0)
		ot_export(app, c, &d, from, to,
		          strcmp(format, "gpx") == 0 ? EXPORT_GPX : EXPORT_GEOJSON);
	else {
		struct ot_stream *s = ot_stream_new(app, who->user.name, &d, from, to, fields);
		web_stream(c, &ot_source, s, CT_JSON, HDR_API);
	}
	ot_params_free(&p);
}

/* ---- /ws/last ----------------------------------------------------------- */

/* One open /ws/last: the WebSocket, the caller's hub subscription and
 * its place among the live streams (streams.h: caps, credential). */
struct ot_live {
	struct webapp  *app;
	struct ws      *ws;
	struct hub_sub *sub;
	struct stream_slot *slot;
	struct user_rec user;
};

static void ot_live_free(struct ot_live *l)
{
	if (!l)
		return;
	hub_unsubscribe(l->app->hub, l->sub);
	streams_close(l->app->streams, l->slot);
	ws_free(l->ws);
	free(l);
}

/* One frame; -1 when the connection went (l may be freed: return). */
static int ot_live_send(struct ot_live *l, const char *device, const struct fix *f)
{
	struct buf b;
	buf_init(&b);
	ot_location(&b, NULL, l->user.name, device, f);
	int rc = ws_send_text(l->ws, b.data, b.len);
	buf_free(&b);
	return rc;
}

static void ot_live_deliver(void *ctx, const struct device_rec *d, const struct fix *f)
{
	(void)ot_live_send(ctx, d->name, f);
}

/* "LAST": one location frame per device of the caller. */
static void ot_live_text(void *ctx, struct ws *w, const char *msg, size_t len)
{
	(void)w;
	struct ot_live *l = ctx;
	struct webapp *app = l->app;
	if (len != 4 || memcmp(msg, "LAST", 4) != 0)
		return;
	struct devlist dl;
	if (devices_of(app, l->user.id, &dl) != STORE_OK) {
		log_warnx("/ws/last: device list: %s", store_errmsg(app->store));
		return;
	}
	for (size_t i = 0; i < dl.n; i++) {
		struct fix f;
		int rc = store_last_fix(app->store, dl.v[i].id, &f);
		if (rc == STORE_NOTFOUND)
			continue;
		if (rc != STORE_OK) {
			log_warnx("/ws/last: last fix: %s", store_errmsg(app->store));
			break;
		}
		rc = ot_live_send(l, dl.v[i].name, &f);
		fix_free(&f);
		if (rc < 0)
			break;
	}
	free(dl.v);
}

static void ot_live_closed(void *ctx, struct ws *w)
{
	(void)w;
	struct ot_live *l = ctx;
	l->ws = NULL;   /* freed by ws.c */
	ot_live_free(l);
}

/* The credential is gone: 1008 (policy violation) with the reason; the
 * client's reconnect then gets 401. */
static void ot_live_end(void *ctx, const char *why)
{
	struct ot_live *l = ctx;
	log_info("/ws/last of %s: %s: closing", l->user.name, why);
	ws_close(l->ws, 1008, why);
}

static const struct ws_handler ot_live_handler = { ot_live_text, ot_live_closed };

/* NULL with *status and *why for the refusal. */
static struct ot_live *ot_live_new(struct webapp *app, const struct caller *who, const char *addr,
                                   int *status, const char **why)
{
	struct ot_live *l = xcalloc(1, sizeof *l);
	l->app = app;
	l->user = who->user;
	sodium_memzero(l->user.pwhash, sizeof l->user.pwhash);   /* the slot keeps it */
	l->slot = streams_open(app->streams, who, addr, ot_live_end, l, status, why);
	if (!l->slot) {
		free(l);
		return NULL;
	}
	double idle = app->cfg->idle_timeout;
	struct ws_options o = {
		.ping_interval = idle > 0 && idle * 5 / 6 < OT_PING_MAX ? idle * 5 / 6 : OT_PING_MAX,
		.max_pending = OT_WS_PENDING,
		.max_message = OT_WS_MESSAGE,
	};
	l->ws = ws_new(app->loop, &o, &ot_live_handler, l);
	l->sub = hub_subscribe(app->hub, who->user.id, ot_live_deliver, l);
	if (!l->ws || !l->sub) {
		ot_live_free(l);
		*status = 503;
		*why = "out of memory";
		return NULL;
	}
	return l;
}

static void route_ws_last(struct webapp *app, struct conn *c, const struct http_request *req,
                          const struct caller *who)
{
	const char *why = ws_handshake_error(req);
	if (why) {
		reply_error_h(c, 400, why, HDR_API WS_BAD_HANDSHAKE_HEADERS);
		return;
	}
	char addr[64];
	int status;
	webapp_client_addr(app, req, addr, sizeof addr);
	struct ot_live *l = ot_live_new(app, who, addr, &status, &why);
	if (!l) {
		reply_error(c, status, why);
		return;
	}
	ws_start(l->ws, c, req);
}

const struct route owntracks_routes[] = {
	{ "GET",  "/api/0/version",   OT_ROUTE, route_version },
	{ "POST", "/api/0/version",   OT_ROUTE, route_version },
	{ "GET",  "/api/0/list",      OT_ROUTE, route_list },
	{ "POST", "/api/0/list",      OT_ROUTE, route_list },
	{ "GET",  "/api/0/last",      OT_ROUTE, route_last },
	{ "POST", "/api/0/last",      OT_ROUTE, route_last },
	{ "GET",  "/api/0/locations", OT_ROUTE, route_locations },
	{ "POST", "/api/0/locations", OT_ROUTE, route_locations },
	{ "GET",  "/ws/last",         OT_ROUTE | R_SAME_ORIGIN, route_ws_last },
	{ NULL, NULL, 0, NULL },
};
