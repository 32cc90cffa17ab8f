/* Track routes of the webapp: /api/points (every fix, or a thinned track
 * for the map) and /api/last. Documents are pulled by the server as the
 * client reads them (web_stream.c), so a year-long export neither
 * blocks the loop nor piles up in memory for a slow client. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "io/export.h"
#include "net/http.h"
#include "base/log.h"
#include "base/point.h"
#include "net/server.h"
#include "store/store.h"
#include "store/thin.h"
#include "store/track.h"
#include "history/engine.h"
#include "webapp/fixdel.h"
#include "webapp/webapp.h"
#include "webapp/web_stream.h"

static void route_last(struct webapp *app, struct conn *c, const struct http_request *req,
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
	int first = 1;
	for (size_t i = 0; i < l.n; i++) {
		struct fix f;
		int rc = store_last_fix(app->store, l.v[i].id, &f);
		if (rc == STORE_NOTFOUND)
			continue;
		if (rc != STORE_OK) {
			buf_free(&b);
			free(l.v);
			reply_store_error(app, c, "last fix");
			return;
		}
		if (!first)
			buf_addc(&b, ',');
		first = 0;
		buf_adds(&b, "{\"device\":");
		buf_add_json_str(&b, l.v[i].name);
		buf_adds(&b, ",\"fix\":");
		export_geojson_feature(&b, &f, l.v[i].name);
		buf_addc(&b, '}');
		fix_free(&f);
	}
	buf_addc(&b, ']');
	reply_json(c, 200, &b);
	buf_free(&b);
	free(l.v);
}

/* Content-Disposition with an ASCII fallback name and the exact UTF-8 name
 * (RFC 6266 / 5987). */
static void add_disposition(struct buf *h, const char *device, const char *ext)
{
	buf_adds(h, "Content-Disposition: attachment; filename=\"");
	for (const unsigned char *p = (const unsigned char *)device; *p; p++) {
		int safe = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		           (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
		buf_addc(h, safe ? (char)*p : '_');
	}
	buf_printf(h, ".%s\"; filename*=UTF-8''", ext);
	for (const unsigned char *p = (const unsigned char *)device; *p; p++) {
		int safe = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		           (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
		if (safe)
			buf_addc(h, (char)*p);
		else
			buf_printf(h, "%%%02X", *p);
	}
	buf_printf(h, ".%s\r\n", ext);
}

/* ---- /api/points ---- */

/* zoom / tolerance -> metres, or a one-line reason. 0: no thinning asked
 * for; 1: *tol_m set or *zoom set (*has_zoom); -1: *why. */
static int parse_thinning(const char *zoom_s, const char *tol_s, double *zoom, int *has_zoom,
                          double *tol_m, const char **why)
{
	*has_zoom = 0;
	if (zoom_s && tol_s) {
		*why = "zoom and tolerance exclude each other";
		return -1;
	}
	if (zoom_s) {
		if (parse_double(zoom_s, zoom) < 0 || *zoom < 0 || *zoom > 24) {
			*why = "bad zoom (a number from 0 to 24)";
			return -1;
		}
		*has_zoom = 1;
		return 1;
	}
	if (tol_s) {
		if (parse_double(tol_s, tol_m) < 0 || !(*tol_m > 0)) {
			*why = "bad tolerance (metres, more than 0)";
			return -1;
		}
		return 1;
	}
	return 0;
}

/* The thinned track for the map: the fixes track_thin keeps, as GeoJSON
 * without attributes. A zoom becomes a one-pixel tolerance at the
 * latitude where the range starts. */
/* &clean=1: the fixes cleaning keeps (the settings' limits). */
static void set_clean(struct webapp *app, struct export *e, int clean)
{
	if (!clean || !e)
		return;
	struct hist_config hc;
	hist_config_from(&hc, app->cfg);
	export_set_clean(e, &hc);
}

static void thinned(struct webapp *app, struct conn *c, const struct device_rec *d, int64_t from,
                    int64_t to, int has_zoom, double zoom, double tol_m, int clean)
{
	if (has_zoom) {
		struct fix f;
		int rc = store_fix_first_in(app->store, d->id, from, to, &f);
		if (rc == STORE_NOTFOUND) {
			stream_export(app, c, export_new_times(app->store, d->id, NULL, 0), d->name,
			              export_content_type(EXPORT_GEOJSON), HDR_API);
			return;
		}
		if (rc != STORE_OK) {
			reply_store_error(app, c, "track");
			return;
		}
		tol_m = thin_tolerance_for_zoom(zoom, f.lat, 1.0);
		fix_free(&f);
	}
	int64_t *times;
	size_t n;
	if (track_thin(app->store, d->id, from, to, tol_m, &times, &n) != STORE_OK) {
		reply_store_error(app, c, "track");
		return;
	}
	struct export *e = export_new_times(app->store, d->id, times, n);
	free(times);
	set_clean(app, e, clean);
	stream_export(app, c, e, d->name, export_content_type(EXPORT_GEOJSON), HDR_API);
}

static void route_points(struct webapp *app, struct conn *c, const struct http_request *req,
                         const struct caller *who)
{
	struct kvlist q;
	int bad = 0;
	query_parse(req, &q);
	const char *device = query_val(&q, "device", &bad);
	const char *from_s = query_val(&q, "from", &bad);
	const char *to_s = query_val(&q, "to", &bad);
	const char *fmt_s = query_val(&q, "format", &bad);
	const char *zoom_s = query_val(&q, "zoom", &bad);
	const char *tol_s = query_val(&q, "tolerance", &bad);
	const char *clean_s = query_val(&q, "clean", &bad);
	int clean = clean_s && !strcmp(clean_s, "1");
	int64_t from, to;
	enum export_format fmt = EXPORT_GEOJSON;
	double zoom = 0, tol_m = 0;
	int has_zoom = 0, thin = 0;
	const char *why = NULL;
	struct device_rec d;

	if (!device) {
		reply_error(c, 400, "device required");
	} else if (bad) {
		reply_error(c, 400, "bad parameter");
	} else if (parse_time_bound(from_s, 0, &from) < 0) {
		reply_error(c, 400, "bad from");
	} else if (parse_time_bound(to_s, 1, &to) < 0) {
		reply_error(c, 400, "bad to");
	} else if (clean_s && strcmp(clean_s, "1") && strcmp(clean_s, "0")) {
		reply_error(c, 400, "clean: 1 or 0");
	} else if (fmt_s && export_format_parse(fmt_s, &fmt) < 0) {
		reply_error(c, 400, "unknown format");
	} else if ((thin = parse_thinning(zoom_s, tol_s, &zoom, &has_zoom, &tol_m, &why)) < 0) {
		reply_error(c, 400, why);
	} else if (thin && fmt != EXPORT_GEOJSON) {
		reply_error(c, 400, "thinning is for geojson");
	} else if (caller_device(app, c, who, device, &d) < 0) {
		/* answered */
	} else if (thin) {
		thinned(app, c, &d, from, to, has_zoom, zoom, tol_m, clean);
	} else {
		struct buf h;
		buf_init(&h);
		buf_adds(&h, HDR_API);
		if (fmt != EXPORT_GEOJSON)
			add_disposition(&h, d.name, export_extension(fmt));
		const char *name = d.name;
		struct export *e = export_new(app->store, &d.id, &name, 1, from, to, fmt);
		set_clean(app, e, clean);
		stream_export(app, c, e, d.name, export_content_type(fmt), h.data);
		buf_free(&h);
	}
	kvlist_free(&q);
}

/* ---- DELETE /api/points: batches between other requests (fixdel.h) ---- */

/* The answer comes when the last batch is done. */
static void delete_done(struct webapp *app, void *ctx, int64_t deleted, int failed)
{
	struct conn *c = ctx;
	if (failed) {
		reply_store_error(app, c, "deleting fixes");
		return;
	}
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "{\"deleted\":%lld}", (long long)deleted);
	reply_json(c, 200, &b);
	buf_free(&b);
}

static void route_points_delete(struct webapp *app, struct conn *c, const struct http_request *req,
                                const struct caller *who)
{
	struct kvlist q;
	int bad = 0;
	query_parse(req, &q);
	const char *device = query_val(&q, "device", &bad);
	const char *from_s = query_val(&q, "from", &bad);
	const char *to_s = query_val(&q, "to", &bad);
	const char *bbox_s = query_val(&q, "bbox", &bad);
	const char *dry_s = query_val(&q, "dry_run", &bad);
	int64_t from, to;
	double box[4];
	struct device_rec d;
	if (!device) {
		reply_error(c, 400, "device required");
	} else if (bad) {
		reply_error(c, 400, "bad parameter");
	} else if (!from_s || !to_s) {
		reply_error(c, 400, "from and to required");
	} else if (parse_time_bound(from_s, 0, &from) < 0) {
		reply_error(c, 400, "bad from");
	} else if (parse_time_bound(to_s, 1, &to) < 0) {
		reply_error(c, 400, "bad to");
	} else if (bbox_s && parse_bbox(bbox_s, box) < 0) {
		reply_error(c, 400, "bbox: W,S,E,N in degrees");
	} else if (dry_s && strcmp(dry_s, "1") && strcmp(dry_s, "0")) {
		reply_error(c, 400, "dry_run: 1 or 0");
	} else if (caller_device(app, c, who, device, &d) < 0) {
		/* answered */
	} else if (dry_s && !strcmp(dry_s, "1")) {
		int64_t n = store_fix_count_range(app->store, d.id, from, to, bbox_s ? box : NULL);
		if (n < 0) {
			reply_store_error(app, c, "counting fixes");
		} else {
			struct buf b;
			buf_init(&b);
			buf_printf(&b, "{\"count\":%lld}", (long long)n);
			reply_json(c, 200, &b);
			buf_free(&b);
		}
	} else {
		struct fixdel_range r = { .device_id = d.id, .from_ms = from, .to_ms = to,
		                          .has_box = bbox_s != NULL };
		if (bbox_s)
			memcpy(r.box, box, sizeof box);
		conn_hold(c);
		fixdel_new(app, &r, 1, delete_done, c);
	}
	kvlist_free(&q);
}

const struct route points_routes[] = {
	{ "DELETE", "/api/points", R_AUTH, route_points_delete },
	{ "GET", "/api/points", R_AUTH, route_points },
	{ "GET", "/api/last",   R_AUTH, route_last },
	{ NULL, NULL, 0, NULL },
};
