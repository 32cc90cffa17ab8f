/* PostgreSQL implementation of history_store.h, the same rules as
 * history_sqlite.c (tables: store_pg.c's migrations, named as SQLite's).
 * Writes run inside the caller's transaction, where any failing statement
 * aborts the whole of it: nothing here relies on an error for an expected
 * case (upserts, ON CONFLICT DO NOTHING, EXISTS guards). */
#include "store/history_store.h"
#include "store/pg_util.h"
#include "store/store_backend.h"
#include "store/store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define SEG_COLS "start_ms, kind, end_ms, decided_ms, open, nfix, lat, lon, from_lat, from_lon," \
                 " to_lat, to_lon, distance, duration, avg_speed, max_speed, mode, gap," \
                 " place_id, parts"
#define SEG_SET  "end_ms = excluded.end_ms, decided_ms = excluded.decided_ms, " \
                 "open = excluded.open, nfix = excluded.nfix, lat = excluded.lat, " \
                 "lon = excluded.lon, from_lat = excluded.from_lat, " \
                 "from_lon = excluded.from_lon, to_lat = excluded.to_lat, " \
                 "to_lon = excluded.to_lon, distance = excluded.distance, " \
                 "duration = excluded.duration, avg_speed = excluded.avg_speed, " \
                 "max_speed = excluded.max_speed, mode = excluded.mode, gap = excluded.gap, " \
                 "place_id = excluded.place_id, parts = excluded.parts"
#define PLACE_COLS "id, user_id, name, lat, lon, radius, city, country, deleted, created_ms, " \
                   "country_name"
/* Fixes are read a page at a time, by key: a device's whole track in one
 * result would be held in memory at once. */
#define FIX_PAGE 8192

enum hist_stmt {
	HS_DIRTY_NEXT, HS_DIRTY_DONE, HS_MARK, HS_GEN, HS_GEN_BUMP, HS_FIXES, HS_RESUME,
	HS_CLEAR_SEG, HS_CLEAR_Q, HS_CLEAR_OPEN, HS_PUT, HS_SEGS, HS_Q_PUT, HS_QS,
	HS_PLACE_BOX, HS_PLACE_ADD, HS_PLACE_GET, HS_PLACE_NAME, HS_PLACE_RADIUS,
	HS_PLACE_DEL, HS_PLACE_UNSTAY, HS_PLACE_LIST, HS_CLAIM_BOX, HS_CLAIM_SET, HS_DROP_EMPTY,
	HS_MAX
};

static const char *const hist_sql[HS_MAX] = {
	[HS_DIRTY_NEXT]  = "SELECT device_id, from_ms, seq FROM history_dirty WHERE device_id > $1 "
	                   "ORDER BY device_id LIMIT 1",
	[HS_DIRTY_DONE]  = "DELETE FROM history_dirty WHERE device_id = $1 AND seq = $2",
	/* The EXISTS keeps a mark for a device deleted meanwhile from failing
	 * the foreign key (and with it the caller's transaction). */
	[HS_MARK]        = "INSERT INTO history_dirty AS d(device_id, from_ms, seq) "
	                   "SELECT $1::bigint, $2::bigint, 1 "
	                   "WHERE EXISTS(SELECT 1 FROM devices WHERE id = $1::bigint) "
	                   "ON CONFLICT(device_id) DO UPDATE SET "
	                   "from_ms = least(d.from_ms, excluded.from_ms), seq = d.seq + 1",
	[HS_GEN]         = "SELECT gen FROM history_gen WHERE device_id = $1",
	[HS_GEN_BUMP]    = "INSERT INTO history_gen AS g(device_id, gen) VALUES($1, 1) "
	                   "ON CONFLICT(device_id) DO UPDATE SET gen = g.gen + 1 RETURNING gen",
	[HS_FIXES]       = "SELECT time_ms, lat, lon, acc FROM fixes "
	                   "WHERE device_id = $1 AND time_ms >= $2 ORDER BY time_ms LIMIT $3",
	[HS_RESUME]      = "SELECT max(start_ms) FROM segments WHERE device_id = $1 AND kind = 0 "
	                   "AND open = 0 AND decided_ms < $2",
	[HS_CLEAR_SEG]   = "DELETE FROM segments WHERE device_id = $1 "
	                   "AND (start_ms >= $2 OR open <> 0)",
	[HS_CLEAR_Q]     = "DELETE FROM fix_quarters WHERE device_id = $1 AND q > $2",
	[HS_CLEAR_OPEN]  = "DELETE FROM segments WHERE device_id = $1 AND open <> 0",
	[HS_PUT]         = "INSERT INTO segments(device_id, " SEG_COLS ") VALUES($1, $2, $3, $4, "
	                   "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, "
	                   "$20, $21) ON CONFLICT(device_id, start_ms, kind) DO UPDATE SET " SEG_SET,
	[HS_SEGS]        = "SELECT " SEG_COLS " FROM segments WHERE device_id = $1 AND start_ms >= "
	                   "coalesce((SELECT max(start_ms) FROM segments WHERE device_id = $1 "
	                   "AND start_ms <= $2), $2) AND start_ms <= $3 ORDER BY start_ms, kind",
	[HS_Q_PUT]       = "INSERT INTO fix_quarters(device_id, q) VALUES($1, $2) "
	                   "ON CONFLICT DO NOTHING",
	[HS_QS]          = "SELECT q FROM fix_quarters WHERE device_id = $1 AND q >= $2 AND q <= $3 "
	                   "ORDER BY q",
	[HS_PLACE_BOX]   = "SELECT " PLACE_COLS " FROM places WHERE user_id = $1 "
	                   "AND lat BETWEEN $2 AND $3 AND lon BETWEEN $4 AND $5",
	[HS_PLACE_ADD]   = "INSERT INTO places(user_id, name, lat, lon, radius, city, country, "
	                   "created_ms, country_name) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) "
	                   "RETURNING id",
	[HS_PLACE_GET]   = "SELECT " PLACE_COLS " FROM places WHERE user_id = $1 AND id = $2 "
	                   "AND deleted = 0",
	[HS_PLACE_NAME]  = "UPDATE places SET name = $3 WHERE user_id = $1 AND id = $2 "
	                   "AND deleted = 0",
	[HS_PLACE_RADIUS] = "UPDATE places SET radius = $3 WHERE user_id = $1 AND id = $2 "
	                   "AND deleted = 0",
	[HS_PLACE_DEL]   = "UPDATE places SET deleted = 1, name = NULL WHERE user_id = $1 "
	                   "AND id = $2 AND deleted = 0",
	[HS_PLACE_UNSTAY] = "UPDATE segments SET place_id = NULL WHERE place_id = $1",
	[HS_PLACE_LIST]  = "SELECT " PLACE_COLS ", (SELECT count(*) FROM segments s "
	                   "WHERE s.place_id = p.id), (SELECT min(start_ms) FROM segments s "
	                   "WHERE s.place_id = p.id), (SELECT max(start_ms) FROM segments s "
	                   "WHERE s.place_id = p.id) FROM places p WHERE user_id = $1 "
	                   "AND deleted = 0 ORDER BY id",
	[HS_CLAIM_BOX]   = "SELECT s.device_id, s.start_ms, s.lat, s.lon, s.place_id, p.lat, p.lon, "
	                   "p.deleted, (p.name IS NOT NULL)::int FROM segments s "
	                   "JOIN devices d ON d.id = s.device_id "
	                   "LEFT JOIN places p ON p.id = s.place_id "
	                   "WHERE d.user_id = $1 AND s.kind = 0 AND s.lat BETWEEN $2 AND $3 "
	                   "AND s.lon BETWEEN $4 AND $5",
	[HS_CLAIM_SET]   = "UPDATE segments SET place_id = $1 WHERE device_id = $2 "
	                   "AND start_ms = $3 AND kind = 0",
	/* An unnamed place that lost its last stay to another was only ever
	 * made for those stays: it goes (nothing refers to it). */
	[HS_DROP_EMPTY]  = "DELETE FROM places WHERE id = $1 AND name IS NULL AND deleted = 0 "
	                   "AND NOT EXISTS(SELECT 1 FROM segments WHERE place_id = places.id)",
};

struct pg_hist {
	struct store_hist base;   /* first: store_backend.h */
	struct store     *s;
	char              err[512];
};

static struct pg_hist *pg_hist_of(struct store_hist *base)
{
	return (struct pg_hist *)base;
}

static const struct hist_ops pg_hist_ops;

struct store_hist *pg_hist_open(struct store *s)
{
	struct pg_hist *h = xcalloc(1, sizeof *h);
	h->base.ops = &pg_hist_ops;
	h->s = s;
	return &h->base;
}

static void pg_hist_close(struct store_hist *base)
{
	/* The prepared statements go with the connection. */
	free(pg_hist_of(base));
}

static const char *pg_hist_errmsg(const struct store_hist *base)
{
	const struct pg_hist *h = (const struct pg_hist *)base;
	return h->err;
}

/* Runs statement id: the result (ok_status), or NULL with h->err set. */
static PGresult *run(struct pg_hist *h, enum hist_stmt id, const struct pg_args *a,
                     ExecStatusType ok_status, const char *what)
{
	PGconn *c = store_pg_conn(h->s);
	if (!c) {
		snprintf(h->err, sizeof h->err, "%s: no connection to postgresql", what);
		return NULL;
	}
	/* The connection's, shared by every history object on it. */
	struct pg_stmts *ps = store_pg_stmts(h->s, "h", hist_sql, HS_MAX);
	if (!ps) {
		snprintf(h->err, sizeof h->err, "%s: %s", what, store_errmsg(h->s));
		return NULL;
	}
	char msg[sizeof h->err - 64];
	PGresult *r = pg_run(c, ps, id, a, ok_status, msg, sizeof msg, NULL);
	if (!r)
		snprintf(h->err, sizeof h->err, "%s: %s", what, msg);
	return r;
}

/* A statement that changes rows: STORE_OK, or STORE_NOTFOUND when
 * must_change and it changed none. */
static int exec(struct pg_hist *h, enum hist_stmt id, const struct pg_args *a, int must_change,
                const char *what)
{
	PGresult *r = run(h, id, a, PGRES_COMMAND_OK, what);
	if (!r)
		return STORE_ERR;
	int rc = must_change && pg_changes(r) == 0 ? STORE_NOTFOUND : STORE_OK;
	PQclear(r);
	return rc;
}

static int exec_i64s(struct pg_hist *h, enum hist_stmt id, int n, const int64_t *v,
                     int must_change, const char *what)
{
	struct pg_args a;
	pg_args_init(&a);
	for (int i = 0; i < n; i++)
		pg_arg_i64(&a, v[i]);
	return exec(h, id, &a, must_change, what);
}

/* A query of int64 parameters. */
static PGresult *query_i64s(struct pg_hist *h, enum hist_stmt id, int n, const int64_t *v,
                            const char *what)
{
	struct pg_args a;
	pg_args_init(&a);
	for (int i = 0; i < n; i++)
		pg_arg_i64(&a, v[i]);
	return run(h, id, &a, PGRES_TUPLES_OK, what);
}

/* The first column of a one-row query: STORE_OK, or STORE_NOTFOUND when
 * there is no row or it is NULL. */
static int one_i64(struct pg_hist *h, enum hist_stmt id, int n, const int64_t *v, int64_t *out,
                   const char *what)
{
	PGresult *r = query_i64s(h, id, n, v, what);
	if (!r)
		return STORE_ERR;
	int rc = PQntuples(r) == 0 || pg_null(r, 0, 0) ? STORE_NOTFOUND : STORE_OK;
	if (rc == STORE_OK)
		*out = pg_i64(r, 0, 0);
	PQclear(r);
	return rc;
}

/* ---- what is out of date ---- */

static int pg_hist_dirty_next(struct store_hist *base, int64_t after_id, int64_t *device_id,
                              int64_t *from_ms, int64_t *seq)
{
	struct pg_hist *h = pg_hist_of(base);
	PGresult *r = query_i64s(h, HS_DIRTY_NEXT, 1, &after_id, "history dirty");
	if (!r)
		return STORE_ERR;
	int rc = PQntuples(r) ? STORE_OK : STORE_NOTFOUND;
	if (rc == STORE_OK) {
		*device_id = pg_i64(r, 0, 0);
		*from_ms = pg_i64(r, 0, 1);
		*seq = pg_i64(r, 0, 2);
	}
	PQclear(r);
	return rc;
}

static int pg_hist_dirty_done(struct store_hist *base, int64_t device_id, int64_t seq)
{
	int64_t v[] = { device_id, seq };
	return exec_i64s(pg_hist_of(base), HS_DIRTY_DONE, 2, v, 0, "history done");
}

static int pg_hist_mark(struct store_hist *base, int64_t device_id, int64_t from_ms)
{
	int64_t v[] = { device_id, from_ms };
	return exec_i64s(pg_hist_of(base), HS_MARK, 2, v, 0, "history mark");
}

static int pg_hist_gen(struct store_hist *base, int64_t device_id, int64_t *gen)
{
	int rc = one_i64(pg_hist_of(base), HS_GEN, 1, &device_id, gen, "history gen");
	if (rc == STORE_NOTFOUND) {
		*gen = 0;
		return STORE_OK;
	}
	return rc;
}

static int pg_hist_gen_bump(struct store_hist *base, int64_t device_id, int64_t *gen)
{
	struct pg_hist *h = pg_hist_of(base);
	int rc = one_i64(h, HS_GEN_BUMP, 1, &device_id, gen, "history gen");
	if (rc == STORE_NOTFOUND) {
		snprintf(h->err, sizeof h->err, "history gen: no row returned");
		return STORE_ERR;
	}
	return rc;
}

/* ---- fixes ---- */

static int pg_hist_fixes(struct store_hist *base, int64_t device_id, int64_t from_ms,
                         int (*cb)(void *ctx, int64_t t_ms, double lat, double lon, double acc),
                         void *ctx)
{
	struct pg_hist *h = pg_hist_of(base);
	for (;;) {
		int64_t v[] = { device_id, from_ms, FIX_PAGE };
		PGresult *r = query_i64s(h, HS_FIXES, 3, v, "history fixes");
		if (!r)
			return STORE_ERR;
		int n = PQntuples(r);
		int64_t t = 0;
		for (int i = 0; i < n; i++) {
			t = pg_i64(r, i, 0);
			double acc = pg_null(r, i, 3) ? -1 : pg_f64(r, i, 3);
			int stop = cb(ctx, t, pg_f64(r, i, 1), pg_f64(r, i, 2), acc);
			if (stop) {
				PQclear(r);
				return stop;
			}
		}
		PQclear(r);
		if (n < FIX_PAGE || t == INT64_MAX)
			return STORE_OK;
		from_ms = t + 1;
	}
}

/* ---- segments ---- */

static int pg_hist_resume_point(struct store_hist *base, int64_t device_id, int64_t t,
                                int64_t *start_ms)
{
	int64_t v[] = { device_id, t };
	return one_i64(pg_hist_of(base), HS_RESUME, 2, v, start_ms, "history resume");
}

static int pg_hist_clear_from(struct store_hist *base, int64_t device_id, int64_t from_ms)
{
	struct pg_hist *h = pg_hist_of(base);
	int64_t v[] = { device_id, from_ms };
	if (exec_i64s(h, HS_CLEAR_SEG, 2, v, 0, "history clear") != STORE_OK)
		return STORE_ERR;
	/* The quarter holding from_ms also holds fixes before it, which stay;
	 * from scratch, every quarter goes. */
	int64_t q[] = { device_id, from_ms == INT64_MIN ? INT64_MIN : hist_quarter_of(from_ms) };
	return exec_i64s(h, HS_CLEAR_Q, 2, q, 0, "history clear");
}

static int pg_hist_clear_open(struct store_hist *base, int64_t device_id)
{
	return exec_i64s(pg_hist_of(base), HS_CLEAR_OPEN, 1, &device_id, 0, "history clear open");
}

static void arg_opt_i64(struct pg_args *a, int has, int64_t v)
{
	if (has)
		pg_arg_i64(a, v);
	else
		pg_arg_text(a, NULL);
}

static int pg_hist_put(struct store_hist *base, int64_t device_id, const struct seg_rec *r)
{
	int stay = r->kind == SEG_STAY, trip = !stay;
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	pg_arg_i64(&a, r->start_ms);
	pg_arg_i64(&a, r->kind);
	pg_arg_i64(&a, r->end_ms);
	pg_arg_i64(&a, r->decided_ms);
	pg_arg_i64(&a, r->open);
	pg_arg_i64(&a, r->nfix);
	pg_arg_opt_f64(&a, stay, r->lat);
	pg_arg_opt_f64(&a, stay, r->lon);
	pg_arg_opt_f64(&a, trip, r->from_lat);
	pg_arg_opt_f64(&a, trip, r->from_lon);
	pg_arg_opt_f64(&a, trip, r->to_lat);
	pg_arg_opt_f64(&a, trip, r->to_lon);
	pg_arg_opt_f64(&a, trip, r->distance);
	pg_arg_f64(&a, r->duration_s);
	pg_arg_opt_f64(&a, trip, r->avg_speed);
	pg_arg_opt_f64(&a, trip, r->max_speed);
	arg_opt_i64(&a, trip, r->mode);
	arg_opt_i64(&a, trip, r->gap);
	arg_opt_i64(&a, r->place_id != 0, r->place_id);
	if (r->parts_len)
		pg_arg_bytes(&a, r->parts, r->parts_len);
	else
		pg_arg_text(&a, NULL);
	return exec(pg_hist_of(base), HS_PUT, &a, 0, "history put");
}

/* Row i of a SEG_COLS result; returns r->parts, a copy to PQfreemem(). */
static unsigned char *read_seg(const PGresult *res, int i, struct seg_rec *r)
{
	memset(r, 0, sizeof *r);
	r->start_ms = pg_i64(res, i, 0);
	r->kind = (int)pg_i64(res, i, 1);
	r->end_ms = pg_i64(res, i, 2);
	r->decided_ms = pg_i64(res, i, 3);
	r->open = (int)pg_i64(res, i, 4);
	r->nfix = pg_i64(res, i, 5);
	r->lat = pg_f64(res, i, 6);
	r->lon = pg_f64(res, i, 7);
	r->from_lat = pg_f64(res, i, 8);
	r->from_lon = pg_f64(res, i, 9);
	r->to_lat = pg_f64(res, i, 10);
	r->to_lon = pg_f64(res, i, 11);
	r->distance = pg_f64(res, i, 12);
	r->duration_s = pg_f64(res, i, 13);
	r->avg_speed = pg_f64(res, i, 14);
	r->max_speed = pg_f64(res, i, 15);
	r->mode = (int)pg_i64(res, i, 16);
	r->gap = (int)pg_i64(res, i, 17);
	r->place_id = pg_i64(res, i, 18);
	unsigned char *parts = pg_bytes(res, i, 19, &r->parts_len);
	r->parts = parts;
	return parts;
}

static int pg_hist_segments(struct store_hist *base, int64_t device_id, int64_t from_ms,
                            int64_t to_ms, int (*cb)(void *ctx, const struct seg_rec *r),
                            void *ctx)
{
	struct pg_hist *h = pg_hist_of(base);
	int64_t v[] = { device_id, from_ms, to_ms };
	PGresult *res = query_i64s(h, HS_SEGS, 3, v, "history segments");
	if (!res)
		return STORE_ERR;
	int stop = 0, n = PQntuples(res);
	for (int i = 0; i < n && !stop; i++) {
		struct seg_rec r;
		unsigned char *parts = read_seg(res, i, &r);
		if (hist_seg_overlaps(&r, from_ms))
			stop = cb(ctx, &r);
		PQfreemem(parts);
	}
	PQclear(res);
	return stop;
}

static int pg_hist_quarter_put(struct store_hist *base, int64_t device_id, int64_t q)
{
	int64_t v[] = { device_id, q };
	return exec_i64s(pg_hist_of(base), HS_Q_PUT, 2, v, 0, "history quarter");
}

static int pg_hist_quarters(struct store_hist *base, int64_t device_id, int64_t from_q,
                            int64_t to_q, int (*cb)(void *ctx, int64_t q), void *ctx)
{
	int64_t v[] = { device_id, from_q, to_q };
	PGresult *r = query_i64s(pg_hist_of(base), HS_QS, 3, v, "history quarters");
	if (!r)
		return STORE_ERR;
	int stop = 0, n = PQntuples(r);
	for (int i = 0; i < n && !stop; i++)
		stop = cb(ctx, pg_i64(r, i, 0));
	PQclear(r);
	return stop;
}

/* ---- places ---- */

static void read_place(const PGresult *r, int i, struct place_rec *p)
{
	memset(p, 0, sizeof *p);
	p->id = pg_i64(r, i, 0);
	p->user_id = pg_i64(r, i, 1);
	p->named = !pg_null(r, i, 2);
	pg_text(r, i, 2, p->name, sizeof p->name);
	p->lat = pg_f64(r, i, 3);
	p->lon = pg_f64(r, i, 4);
	p->radius = pg_f64(r, i, 5);
	pg_text(r, i, 6, p->city, sizeof p->city);
	pg_text(r, i, 7, p->country, sizeof p->country);
	p->deleted = (int)pg_i64(r, i, 8);
	p->created_ms = pg_i64(r, i, 9);
	pg_text(r, i, 10, p->country_name, sizeof p->country_name);
}

/* Parameters: the user, then the box of m metres around (lat, lon) as
 * south, north, west, east. */
static void box_args(struct pg_args *a, int64_t user_id, double lat, double lon, double m)
{
	double dlat, dlon;
	hist_box_of(lat, m, &dlat, &dlon);
	pg_args_init(a);
	pg_arg_i64(a, user_id);
	pg_arg_f64(a, lat - dlat);
	pg_arg_f64(a, lat + dlat);
	pg_arg_f64(a, dlon >= 180 ? -180 : lon - dlon);
	pg_arg_f64(a, dlon >= 180 ? 180 : lon + dlon);
}

static int pg_hist_place_near(struct store_hist *base, int64_t user_id, double lat, double lon,
                              double (*dist)(double lat1, double lon1, double lat2, double lon2),
                              struct place_rec *out)
{
	struct pg_hist *h = pg_hist_of(base);
	struct pg_args a;
	box_args(&a, user_id, lat, lon, PLACE_RADIUS_MAX);
	PGresult *r = run(h, HS_PLACE_BOX, &a, PGRES_TUPLES_OK, "place near");
	if (!r)
		return STORE_ERR;
	int found = 0, n = PQntuples(r);
	double best = 0;
	for (int i = 0; i < n; i++) {
		struct place_rec p;
		read_place(r, i, &p);
		double d = dist(lat, lon, p.lat, p.lon);
		if (d <= p.radius && (!found || d < best)) {
			*out = p;
			best = d;
			found = 1;
		}
	}
	PQclear(r);
	return found ? STORE_OK : STORE_NOTFOUND;
}

/* "" is stored as NULL, as history_sqlite.c does. */
static void arg_text_or_null(struct pg_args *a, const char *v)
{
	pg_arg_text(a, v && *v ? v : NULL);
}

static int pg_hist_place_add(struct store_hist *base, const struct place_rec *p, int64_t *id_out)
{
	struct pg_hist *h = pg_hist_of(base);
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, p->user_id);
	arg_text_or_null(&a, p->named ? p->name : NULL);
	pg_arg_f64(&a, p->lat);
	pg_arg_f64(&a, p->lon);
	pg_arg_f64(&a, p->radius);
	arg_text_or_null(&a, p->city);
	arg_text_or_null(&a, p->country);
	pg_arg_i64(&a, p->created_ms);
	arg_text_or_null(&a, p->country_name);
	PGresult *r = run(h, HS_PLACE_ADD, &a, PGRES_TUPLES_OK, "place add");
	if (!r)
		return STORE_ERR;
	*id_out = pg_i64(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

static int pg_hist_place_get(struct store_hist *base, int64_t user_id, int64_t id,
                             struct place_rec *out)
{
	int64_t v[] = { user_id, id };
	PGresult *r = query_i64s(pg_hist_of(base), HS_PLACE_GET, 2, v, "place get");
	if (!r)
		return STORE_ERR;
	int rc = PQntuples(r) ? STORE_OK : STORE_NOTFOUND;
	if (rc == STORE_OK)
		read_place(r, 0, out);
	PQclear(r);
	return rc;
}

static int pg_hist_place_update(struct store_hist *base, int64_t user_id, int64_t id,
                                const char *name, double radius)
{
	struct pg_hist *h = pg_hist_of(base);
	struct pg_args a;
	int rc = STORE_OK;
	if (name) {
		pg_args_init(&a);
		pg_arg_i64(&a, user_id);
		pg_arg_i64(&a, id);
		arg_text_or_null(&a, name);
		rc = exec(h, HS_PLACE_NAME, &a, 1, "place rename");
		if (rc != STORE_OK)
			return rc;
	}
	if (radius > 0) {
		pg_args_init(&a);
		pg_arg_i64(&a, user_id);
		pg_arg_i64(&a, id);
		pg_arg_f64(&a, radius);
		rc = exec(h, HS_PLACE_RADIUS, &a, 1, "place resize");
	}
	return rc;
}

static int pg_hist_place_delete(struct store_hist *base, int64_t user_id, int64_t id)
{
	struct pg_hist *h = pg_hist_of(base);
	int64_t v[] = { user_id, id };
	int rc = exec_i64s(h, HS_PLACE_DEL, 2, v, 1, "place delete");
	if (rc != STORE_OK)
		return rc;
	return exec_i64s(h, HS_PLACE_UNSTAY, 1, &id, 0, "place delete");
}

static int pg_hist_place_list(struct store_hist *base, int64_t user_id,
                              int (*cb)(void *ctx, const struct place_stat *p), void *ctx)
{
	PGresult *r = query_i64s(pg_hist_of(base), HS_PLACE_LIST, 1, &user_id, "place list");
	if (!r)
		return STORE_ERR;
	int stop = 0, n = PQntuples(r);
	for (int i = 0; i < n && !stop; i++) {
		struct place_stat ps;
		read_place(r, i, &ps.p);
		ps.visits = pg_i64(r, i, 11);
		ps.first_ms = pg_i64(r, i, 12);
		ps.last_ms = pg_i64(r, i, 13);
		stop = cb(ctx, &ps);
	}
	PQclear(r);
	return stop;
}

/* Whether row i of the claim query is a stay that place p (id) takes. */
static int claim_takes(const PGresult *r, int i, int64_t id, const struct place_rec *p,
                       double (*dist)(double lat1, double lon1, double lat2, double lon2))
{
	double lat = pg_f64(r, i, 2), lon = pg_f64(r, i, 3);
	double d = dist(lat, lon, p->lat, p->lon);
	if (d > p->radius || pg_i64(r, i, 4) == id)
		return 0;
	/* A stay of another live, named place keeps it unless this one's
	 * centre is nearer; unnamed places and tombstones give way. */
	int other = !pg_null(r, i, 4) && !pg_i64(r, i, 7);
	return !(other && pg_i64(r, i, 8) && dist(lat, lon, pg_f64(r, i, 5), pg_f64(r, i, 6)) <= d);
}

static int64_t pg_hist_place_claim(struct store_hist *base, int64_t user_id, int64_t id,
                                   double (*dist)(double lat1, double lon1, double lat2,
                                                  double lon2))
{
	struct pg_hist *h = pg_hist_of(base);
	struct place_rec p;
	if (pg_hist_place_get(base, user_id, id, &p) != STORE_OK)
		return -1;
	struct pg_args a;
	box_args(&a, user_id, p.lat, p.lon, p.radius);
	PGresult *r = run(h, HS_CLAIM_BOX, &a, PGRES_TUPLES_OK, "place claim");
	if (!r)
		return -1;
	/* Every stay moves before any old place is dropped: dropping looks
	 * for stays left. */
	int n = PQntuples(r);
	int64_t moved = 0;
	for (int i = 0; i < n; i++) {
		if (!claim_takes(r, i, id, &p, dist))
			continue;
		int64_t v[] = { id, pg_i64(r, i, 0), pg_i64(r, i, 1) };
		if (exec_i64s(h, HS_CLAIM_SET, 3, v, 0, "place claim") != STORE_OK) {
			PQclear(r);
			return -1;
		}
		moved++;
	}
	for (int i = 0; i < n; i++) {
		if (pg_null(r, i, 4) || !claim_takes(r, i, id, &p, dist))
			continue;
		int64_t old = pg_i64(r, i, 4);
		if (exec_i64s(h, HS_DROP_EMPTY, 1, &old, 0, "place claim") != STORE_OK) {
			PQclear(r);
			return -1;
		}
	}
	PQclear(r);
	return moved;
}

static const struct hist_ops pg_hist_ops = {
	.close = pg_hist_close,
	.errmsg = pg_hist_errmsg,
	.dirty_next = pg_hist_dirty_next,
	.dirty_done = pg_hist_dirty_done,
	.mark = pg_hist_mark,
	.gen = pg_hist_gen,
	.gen_bump = pg_hist_gen_bump,
	.fixes = pg_hist_fixes,
	.resume_point = pg_hist_resume_point,
	.clear_from = pg_hist_clear_from,
	.clear_open = pg_hist_clear_open,
	.put = pg_hist_put,
	.segments = pg_hist_segments,
	.quarter_put = pg_hist_quarter_put,
	.quarters = pg_hist_quarters,
	.place_near = pg_hist_place_near,
	.place_add = pg_hist_place_add,
	.place_get = pg_hist_place_get,
	.place_update = pg_hist_place_update,
	.place_delete = pg_hist_place_delete,
	.place_list = pg_hist_place_list,
	.place_claim = pg_hist_place_claim,
};
