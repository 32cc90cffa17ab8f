/* Derived history over HTTP (design.md "History"): /api/trips,
 * /api/timeline, /api/stats and the user's places. What is read was
 * derived by the deriver (deriver.h) from committed fixes; nothing here
 * derives. Places and stays belong to the caller; another user's device is
 * 404 like one that does not exist. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/names.h"
#include "base/xalloc.h"
#include "history/day.h"
#include "history/engine.h"
#include "history/hist.h"
#include "history/localday.h"
#include "history/stats.h"
#include "io/hist_json.h"
#include "store/history_store.h"
#include "webapp/webapp.h"

#define PLACES_PREFIX "/api/places/"
#define PLACE_RADIUS_MIN 10.0
#define PLACE_RADIUS_MAX 50000.0
#define PLACE_NAME_MAX 100
#define MAX_PARTS 4096      /* a trip of six weeks in 15-minute parts */

/* The stays' places, fetched once per request. */
struct places_seen {
	struct place_rec *p;
	size_t n, cap;
};

static const struct place_rec *place_of(struct store_hist *h, struct places_seen *ps,
                                        int64_t user_id, int64_t id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->p[i].id == id)
			return &ps->p[i];
	struct place_rec p;
	if (store_place_get(h, user_id, id, &p) != STORE_OK)
		return NULL;
	array_grow(&ps->p, &ps->cap, ps->n + 1, sizeof *ps->p);
	ps->p[ps->n] = p;
	return &ps->p[ps->n++];
}

/* Writes the segments overlapping a range; for a day, also the part of
 * the trips' distance inside it. */
struct seg_writer {
	struct store_hist  *h;
	struct places_seen  places;
	int64_t             user_id;
	struct buf         *b;
	int                 first;
	int64_t             day_start, day_end;   /* distance inside: when day_end > day_start */
	double              distance;
};

static int write_seg(void *ctx, const struct seg_rec *r)
{
	struct seg_writer *w = ctx;
	if (!w->first)
		buf_addc(w->b, ',');
	w->first = 0;
	hist_json_segment(w->b, r, r->kind == SEG_STAY ? place_of(w->h, &w->places, w->user_id,
	                                                          r->place_id)
	                                               : NULL);
	if (r->kind == SEG_TRIP && w->day_end > w->day_start && r->parts_len) {
		struct hist_part parts[MAX_PARTS];
		size_t n = hist_parts_decode(r->parts, r->parts_len, parts, MAX_PARTS);
		w->distance += day_parts_distance(parts, n < MAX_PARTS ? n : MAX_PARTS, w->day_start,
		                                  w->day_end);
	}
	return 0;
}

/* The caller's time zone, read afresh (it may have changed since sign-in). */
static int caller_zone(struct webapp *app, struct conn *c, const struct caller *who,
                       char zone[64])
{
	struct user_rec u;
	if (store_user_get(app->store, who->user.name, &u) != STORE_OK) {
		reply_store_error(app, c, "user lookup");
		return -1;
	}
	snprintf(zone, 64, "%s", u.timezone[0] ? u.timezone : "UTC");
	return 0;
}

static void route_trips(struct webapp *app, struct conn *c, const struct http_request *req,
                        const struct caller *who)
{
	struct kvlist q;
	int bad = 0;
	query_parse(req, &q);
	const char *device = query_val(&q, "device", &bad);
	const char *from_s = query_val(&q, "from", &bad);
	const char *to_s = query_val(&q, "to", &bad);
	int64_t from, to;
	struct device_rec d;
	if (bad)
		reply_error(c, 400, "bad parameter");
	else if (parse_time_bound(from_s, 0, &from) < 0)
		reply_error(c, 400, "bad from");
	else if (parse_time_bound(to_s, 1, &to) < 0)
		reply_error(c, 400, "bad to");
	else if (caller_device(app, c, who, device, &d) == 0) {
		struct buf b;
		buf_init(&b);
		buf_adds(&b, "{\"device\":");
		buf_add_json_str(&b, d.name);
		buf_adds(&b, ",\"segments\":[");
		struct seg_writer w = { .h = app->hist, .user_id = who->user.id,
		                        .b = &b, .first = 1 };
		int rc = store_hist_segments(w.h, d.id, from, to, write_seg, &w);
		if (rc != STORE_OK) {
			log_warnx("trips: %s", store_hist_errmsg(w.h));
			reply_error(c, 503, "storage unavailable");
		} else {
			buf_adds(&b, "]}");
			reply_json(c, 200, &b);
		}
		free(w.places.p);
		buf_free(&b);
	}
	kvlist_free(&q);
}

static void route_timeline(struct webapp *app, struct conn *c, const struct http_request *req,
                           const struct caller *who)
{
	struct kvlist q;
	int bad = 0, y, m, dd;
	query_parse(req, &q);
	const char *device = query_val(&q, "device", &bad);
	const char *date = query_val(&q, "date", &bad);
	char zone[64];
	int64_t start, end;
	struct device_rec d;
	if (bad)
		reply_error(c, 400, "bad parameter");
	else if (!date || localday_parse_date(date, &y, &m, &dd) < 0)
		reply_error(c, 400, "date required as YYYY-MM-DD");
	else if (caller_device(app, c, who, device, &d) == 0 && caller_zone(app, c, who, zone) == 0) {
		if (localday_bounds(zone, y, m, dd, &start, &end) < 0) {
			reply_error(c, 400, "bad date or time zone");
		} else {
			struct buf b, segs;
			buf_init(&b);
			buf_init(&segs);
			struct seg_writer w = { .h = app->hist, .user_id = who->user.id,
			                        .b = &segs, .first = 1, .day_start = start,
			                        .day_end = end };
			int rc = store_hist_segments(w.h, d.id, start, end - 1, write_seg, &w);
			if (rc != STORE_OK) {
				log_warnx("timeline: %s", store_hist_errmsg(w.h));
				reply_error(c, 503, "storage unavailable");
			} else {
				buf_adds(&b, "{\"device\":");
				buf_add_json_str(&b, d.name);
				buf_adds(&b, ",\"date\":");
				buf_add_json_str(&b, date);
				buf_adds(&b, ",\"timezone\":");
				buf_add_json_str(&b, zone);
				buf_adds(&b, ",\"distance\":");
				buf_add_double(&b, round(w.distance * 1000) / 1000);
				buf_adds(&b, ",\"segments\":[");
				buf_add(&b, segs.data, segs.len);
				buf_adds(&b, "]}");
				reply_json(c, 200, &b);
			}
			free(w.places.p);
			buf_free(&segs);
			buf_free(&b);
		}
	}
	kvlist_free(&q);
}

static void route_stats(struct webapp *app, struct conn *c, const struct http_request *req,
                        const struct caller *who)
{
	struct kvlist q;
	int bad = 0;
	query_parse(req, &q);
	const char *device = query_val(&q, "device", &bad);
	const char *year_s = query_val(&q, "year", &bad);
	int year = 0;
	char *end = NULL;
	char zone[64];
	struct device_rec d;
	if (year_s)
		year = (int)strtol(year_s, &end, 10);
	if (bad)
		reply_error(c, 400, "bad parameter");
	else if (year_s && (!*year_s || *end || year < 1900 || year > 9999))
		reply_error(c, 400, "bad year");
	else if (caller_device(app, c, who, device, &d) == 0 && caller_zone(app, c, who, zone) == 0) {
		struct buf b;
		buf_init(&b);
		struct store_hist *h = app->hist;
		char err[256];
		struct hist_stats st;
		int rc = hist_stats(h, d.id, who->user.id, zone, year, &st, err, sizeof err);
		if (rc == 0) {
			hist_json_stats(&b, d.name, zone, year, &st, NULL, NULL);
			hist_stats_free(&st);
			reply_json(c, 200, &b);
		}
		else if (rc == -2)
			reply_error(c, 400, err);
		else {
			log_warnx("stats: %s", err);
			reply_error(c, 503, "storage unavailable");
		}
		buf_free(&b);
	}
	kvlist_free(&q);
}

/* ---- places ---- */

static int write_place(void *ctx, const struct place_stat *ps)
{
	struct buf *b = ctx;
	if (b->len > 1)
		buf_addc(b, ',');
	hist_json_place(b, ps);
	return 0;
}

static void route_places(struct webapp *app, struct conn *c, const struct http_request *req,
                         const struct caller *who)
{
	(void)req;
	struct buf b;
	buf_init(&b);
	buf_addc(&b, '[');
	struct store_hist *h = app->hist;
	if (store_place_list(h, who->user.id, write_place, &b) != STORE_OK) {
		log_warnx("places: %s", store_hist_errmsg(h));
		reply_error(c, 503, "storage unavailable");
	} else {
		buf_addc(&b, ']');
		reply_json(c, 200, &b);
	}
	buf_free(&b);
}

/* The place's JSON as listed (with its visits), after a change. */
struct picker {
	int64_t           id;
	struct place_stat found;
	int               have;
};

static int pick(void *ctx, const struct place_stat *ps)
{
	struct picker *pk = ctx;
	if (ps->p.id != pk->id)
		return 0;
	pk->found = *ps;
	pk->have = 1;
	return 1;
}

static void reply_place(struct webapp *app, struct conn *c, struct store_hist *h,
                        int64_t user_id, int64_t id, int status)
{
	struct picker pk = { .id = id };
	int rc = store_place_list(h, user_id, pick, &pk);
	if (!pk.have) {
		if (rc == STORE_OK)
			reply_error(c, 404, "no such place");
		else
			reply_store_error(app, c, "place");
		return;
	}
	struct buf b;
	buf_init(&b);
	hist_json_place(&b, &pk.found);
	reply_json(c, status, &b);
	buf_free(&b);
}

/* Ends a place change begun with store_begin: committed when rc is
 * STORE_OK, else rolled back and answered (404 for a place the user does
 * not have, 503 for a storage error). 0 when committed: the caller
 * answers. */
static int place_change_end(struct webapp *app, struct conn *c, struct store_hist *h, int rc,
                            const char *what)
{
	if (rc == STORE_OK)
		rc = store_commit(app->store);
	if (rc == STORE_OK)
		return 0;
	store_rollback(app->store);
	if (rc == STORE_NOTFOUND) {
		reply_error(c, 404, "no such place");
	} else {
		log_warnx("%s: %s", what, store_hist_errmsg(h));
		reply_error(c, 503, "storage unavailable");
	}
	return -1;
}

/* name: a JSON string (1..100 bytes, a display name's rules) or null. */
static int place_name_of(json_t *v, const char **name, const char **why)
{
	if (json_is_null(v)) {
		*name = "";
		return 0;
	}
	if (!json_is_string(v)) {
		*why = "name must be a string or null";
		return -1;
	}
	*name = json_string_value(v);
	if (strlen(*name) > PLACE_NAME_MAX) {
		*why = "name: at most 100 bytes";
		return -1;
	}
	if (**name && (*why = check_device_name(*name)) != NULL)
		return -1;
	return 0;
}

static int radius_of(json_t *v, double *radius, const char **why)
{
	if (!json_is_number(v) || !(json_number_value(v) >= PLACE_RADIUS_MIN) ||
	    json_number_value(v) > PLACE_RADIUS_MAX) {
		*why = "radius: a number of metres from 10 to 50000";
		return -1;
	}
	*radius = json_number_value(v);
	return 0;
}

static void route_place_add(struct webapp *app, struct conn *c, const struct http_request *req,
                            const struct caller *who)
{
	json_t *root = body_object(c, req);
	if (!root)
		return;
	const char *name = "", *why = NULL;
	double radius = 100;
	json_t *lat = json_object_get(root, "lat"), *lon = json_object_get(root, "lon");
	json_t *nv = json_object_get(root, "name"), *rv = json_object_get(root, "radius");
	if (nv && place_name_of(nv, &name, &why) < 0) {
	} else if (!json_is_number(lat) || !json_is_number(lon) ||
	           !(fabs(json_number_value(lat)) <= 90) || !(fabs(json_number_value(lon)) <= 180)) {
		why = "lat and lon required (degrees)";
	} else if (rv) {
		radius_of(rv, &radius, &why);
	}
	if (why) {
		char msg[200];
		snprintf(msg, sizeof msg, "%s", why);
		json_decref(root);
		reply_error(c, 400, msg);
		return;
	}
	struct place_rec p;
	memset(&p, 0, sizeof p);
	p.user_id = who->user.id;
	p.named = *name != 0;
	snprintf(p.name, sizeof p.name, "%s", name);
	p.lat = json_number_value(lat);
	p.lon = json_number_value(lon);
	p.radius = radius;
	p.created_ms = now_ms();
	json_decref(root);
	struct store_hist *h = app->hist;
	int64_t id = 0;
	int rc = store_begin(app->store);
	if (rc == STORE_OK)
		rc = store_place_add(h, &p, &id) == STORE_OK ? STORE_OK : STORE_ERR;
	if (rc == STORE_OK && store_place_claim(h, who->user.id, id, hist_dist) < 0)
		rc = STORE_ERR;
	if (place_change_end(app, c, h, rc, "place add") == 0)
		reply_place(app, c, h, who->user.id, id, 201);
}

/* The place id of the path: 0, or -1 when answered 404. */
static int place_id_of(struct conn *c, const struct http_request *req, int64_t *id)
{
	char seg[32];
	const char *rest;
	char *end;
	if (path_segment(req->path, PLACES_PREFIX, seg, sizeof seg, &rest) == 0 && !*rest) {
		long long v = strtoll(seg, &end, 10);
		if (!*end && v > 0) {
			*id = v;
			return 0;
		}
	}
	reply_error(c, 404, "no such place");
	return -1;
}

static void route_place_patch(struct webapp *app, struct conn *c, const struct http_request *req,
                              const struct caller *who)
{
	int64_t id;
	if (place_id_of(c, req, &id) < 0)
		return;
	json_t *root = body_object(c, req);
	if (!root)
		return;
	const char *name = NULL, *why = NULL;
	double radius = 0;
	json_t *nv = json_object_get(root, "name"), *rv = json_object_get(root, "radius");
	if (!nv && !rv)
		why = "name or radius required";
	else if (nv && place_name_of(nv, &name, &why) < 0)
		;
	else if (rv)
		radius_of(rv, &radius, &why);
	if (why) {
		char msg[200];
		snprintf(msg, sizeof msg, "%s", why);
		json_decref(root);
		reply_error(c, 400, msg);
		return;
	}
	char name_copy[PLACE_NAME_MAX + 1];
	if (name)
		snprintf(name_copy, sizeof name_copy, "%s", name);
	json_decref(root);
	struct store_hist *h = app->hist;
	int rc = store_begin(app->store);
	if (rc == STORE_OK)
		rc = store_place_update(h, who->user.id, id, name ? name_copy : NULL, radius);
	if (rc == STORE_OK && radius > 0 && store_place_claim(h, who->user.id, id, hist_dist) < 0)
		rc = STORE_ERR;
	if (place_change_end(app, c, h, rc, "place change") == 0)
		reply_place(app, c, h, who->user.id, id, 200);
}

static void route_place_delete(struct webapp *app, struct conn *c, const struct http_request *req,
                               const struct caller *who)
{
	int64_t id;
	if (place_id_of(c, req, &id) < 0)
		return;
	struct store_hist *h = app->hist;
	int rc = store_begin(app->store);
	if (rc == STORE_OK)
		rc = store_place_delete(h, who->user.id, id);
	if (place_change_end(app, c, h, rc, "place delete") == 0) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "{\"deleted\":%lld}", (long long)id);
		reply_json(c, 200, &b);
		buf_free(&b);
	}
}

const struct route history_routes[] = {
	{ "GET",    "/api/trips",    R_AUTH, route_trips },
	{ "GET",    "/api/timeline", R_AUTH, route_timeline },
	{ "GET",    "/api/stats",    R_AUTH, route_stats },
	{ "GET",    "/api/places",   R_AUTH, route_places },
	{ "POST",   "/api/places",   R_AUTH, route_place_add },
	{ "PATCH",  PLACES_PREFIX,   R_AUTH | R_PREFIX, route_place_patch },
	{ "DELETE", PLACES_PREFIX,   R_AUTH | R_PREFIX, route_place_delete },
	{ NULL, NULL, 0, NULL },
};
