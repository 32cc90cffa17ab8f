/* SQLite implementation of history_store.h (tables: store_sqlite.c's
 * migration 5). Segments are keyed (device, start, kind): segments follow
 * each other without overlap, so those overlapping a range are the one
 * that starts last at or before its start and those starting inside it,
 * one index range. */
#include "store/history_store.h"
#include "store/store_backend.h"
#include "store/store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define SEG_COLS "start_ms, kind, end_ms, decided_ms, open, nfix, lat, lon, from_lat, from_lon," \
                 " to_lat, to_lon, distance, duration, avg_speed, max_speed, mode, gap," \
                 " place_id, parts"
#define PLACE_COLS "id, user_id, name, lat, lon, radius, city, country, deleted, created_ms, " \
                   "country_name"

enum hist_stmt {
	HS_DIRTY_NEXT, HS_DIRTY_DONE, HS_MARK, HS_GEN, HS_GEN_BUMP, HS_FIXES, HS_RESUME,
	HS_CLEAR_SEG, HS_CLEAR_Q, HS_CLEAR_OPEN, HS_PUT, HS_SEGS, HS_Q_PUT, HS_QS,
	HS_PLACE_BOX, HS_PLACE_ADD, HS_PLACE_GET, HS_PLACE_NAME, HS_PLACE_RADIUS,
	HS_PLACE_DEL, HS_PLACE_UNSTAY, HS_PLACE_LIST, HS_CLAIM_BOX, HS_CLAIM_SET, HS_DROP_EMPTY,
	HS_MAX
};

static const char *const hist_sql[HS_MAX] = {
	[HS_DIRTY_NEXT]  = "SELECT device_id, from_ms, seq FROM history_dirty WHERE device_id > ? "
	                   "ORDER BY device_id LIMIT 1",
	[HS_DIRTY_DONE]  = "DELETE FROM history_dirty WHERE device_id = ? AND seq = ?",
	[HS_MARK]        = "INSERT INTO history_dirty(device_id, from_ms, seq) SELECT ?1, ?2, 1 "
	                   "WHERE EXISTS(SELECT 1 FROM devices WHERE id = ?1) "
	                   "ON CONFLICT(device_id) DO UPDATE SET "
	                   "from_ms = min(from_ms, excluded.from_ms), seq = seq + 1",
	[HS_GEN]         = "SELECT gen FROM history_gen WHERE device_id = ?",
	[HS_GEN_BUMP]    = "INSERT INTO history_gen(device_id, gen) VALUES(?, 1) "
	                   "ON CONFLICT(device_id) DO UPDATE SET gen = gen + 1 RETURNING gen",
	[HS_FIXES]       = "SELECT time_ms, lat, lon, acc FROM fixes "
	                   "WHERE device_id = ? AND time_ms >= ? ORDER BY time_ms",
	[HS_RESUME]      = "SELECT max(start_ms) FROM segments WHERE device_id = ? AND kind = 0 "
	                   "AND open = 0 AND decided_ms < ?",
	[HS_CLEAR_SEG]   = "DELETE FROM segments WHERE device_id = ?1 AND (start_ms >= ?2 OR open)",
	[HS_CLEAR_Q]     = "DELETE FROM fix_quarters WHERE device_id = ?1 AND q > ?2",
	[HS_CLEAR_OPEN]  = "DELETE FROM segments WHERE device_id = ? AND open",
	[HS_PUT]         = "INSERT OR REPLACE INTO segments(device_id, " SEG_COLS ") VALUES(?, "
	                   "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[HS_SEGS]        = "SELECT " SEG_COLS " FROM segments WHERE device_id = ?1 AND start_ms >= "
	                   "coalesce((SELECT max(start_ms) FROM segments WHERE device_id = ?1 "
	                   "AND start_ms <= ?2), ?2) AND start_ms <= ?3 ORDER BY start_ms, kind",
	[HS_Q_PUT]       = "INSERT OR IGNORE INTO fix_quarters(device_id, q) VALUES(?, ?)",
	[HS_QS]          = "SELECT q FROM fix_quarters WHERE device_id = ? AND q >= ? AND q <= ? "
	                   "ORDER BY q",
	[HS_PLACE_BOX]   = "SELECT " PLACE_COLS " FROM places WHERE user_id = ? "
	                   "AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?",
	[HS_PLACE_ADD]   = "INSERT INTO places(user_id, name, lat, lon, radius, city, country, "
	                   "created_ms, country_name) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[HS_PLACE_GET]   = "SELECT " PLACE_COLS " FROM places WHERE user_id = ? AND id = ? "
	                   "AND NOT deleted",
	[HS_PLACE_NAME]  = "UPDATE places SET name = ?3 WHERE user_id = ?1 AND id = ?2 AND NOT deleted",
	[HS_PLACE_RADIUS] = "UPDATE places SET radius = ?3 WHERE user_id = ?1 AND id = ?2 "
	                   "AND NOT deleted",
	[HS_PLACE_DEL]   = "UPDATE places SET deleted = 1, name = NULL WHERE user_id = ?1 AND id = ?2 "
	                   "AND NOT deleted",
	[HS_PLACE_UNSTAY] = "UPDATE segments SET place_id = NULL WHERE place_id = ?",
	[HS_PLACE_LIST]  = "SELECT " PLACE_COLS ", (SELECT count(*) FROM segments s "
	                   "WHERE s.place_id = p.id), (SELECT min(start_ms) FROM segments s "
	                   "WHERE s.place_id = p.id), (SELECT max(start_ms) FROM segments s "
	                   "WHERE s.place_id = p.id) FROM places p WHERE user_id = ? AND NOT deleted "
	                   "ORDER BY id",
	[HS_CLAIM_BOX]   = "SELECT s.device_id, s.start_ms, s.lat, s.lon, s.place_id, p.lat, p.lon, "
	                   "p.deleted, p.name IS NOT NULL FROM segments s "
	                   "JOIN devices d ON d.id = s.device_id "
	                   "LEFT JOIN places p ON p.id = s.place_id "
	                   "WHERE d.user_id = ? AND s.kind = 0 AND s.lat BETWEEN ? AND ? "
	                   "AND s.lon BETWEEN ? AND ?",
	[HS_CLAIM_SET]   = "UPDATE segments SET place_id = ? WHERE device_id = ? AND start_ms = ? "
	                   "AND kind = 0",
	/* An unnamed place that lost its last stay to another was only ever
	 * made for those stays: it goes (nothing refers to it). */
	[HS_DROP_EMPTY]  = "DELETE FROM places WHERE id = ? AND name IS NULL AND NOT deleted "
	                   "AND NOT EXISTS(SELECT 1 FROM segments WHERE place_id = places.id)",
};

struct sq_hist {
	struct store_hist base;   /* first: store_backend.h */
	sqlite3      *db;
	sqlite3_stmt *st[HS_MAX];
	char          err[512];
};

static struct sq_hist *sq_hist_of(struct store_hist *base)
{
	return (struct sq_hist *)base;
}

static const struct hist_ops sq_hist_ops;

struct store_hist *sq_hist_open(struct store *s)
{
	struct sq_hist *h = xcalloc(1, sizeof *h);
	h->base.ops = &sq_hist_ops;
	h->db = store_sqlite_db(s);
	return &h->base;
}

static void sq_hist_close(struct store_hist *base)
{
	struct sq_hist *h = sq_hist_of(base);
	if (!h)
		return;
	for (int i = 0; i < HS_MAX; i++)
		sqlite3_finalize(h->st[i]);
	free(h);
}

static const char *sq_hist_errmsg(const struct store_hist *base)
{
	const struct sq_hist *h = (const struct sq_hist *)base;
	return h->err;
}

static int fail(struct sq_hist *h, const char *what)
{
	snprintf(h->err, sizeof h->err, "%s: %s", what, sqlite3_errmsg(h->db));
	return STORE_ERR;
}

static sqlite3_stmt *stmt(struct sq_hist *h, enum hist_stmt id)
{
	if (!h->st[id] && sqlite3_prepare_v3(h->db, hist_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
	                                     &h->st[id], NULL) != SQLITE_OK) {
		fail(h, "prepare");
		h->st[id] = NULL;
	}
	return h->st[id];
}

static void finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int exec_done(struct sq_hist *h, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : fail(h, what);
	finish(st);
	return rc;
}

static int step_error(struct sq_hist *h, sqlite3_stmt *st, const char *what)
{
	int rc = fail(h, what);
	finish(st);
	return rc;
}

static int bind_i64s(sqlite3_stmt *st, int n, const int64_t *v)
{
	for (int i = 0; i < n; i++)
		if (sqlite3_bind_int64(st, i + 1, v[i]) != SQLITE_OK)
			return -1;
	return 0;
}

/* A statement of int64 parameters that changes rows. */
static int exec_i64s(struct sq_hist *h, enum hist_stmt id, int n, const int64_t *v,
                     const char *what)
{
	sqlite3_stmt *st = stmt(h, id);
	if (!st)
		return STORE_ERR;
	if (bind_i64s(st, n, v) < 0) {
		finish(st);
		return fail(h, what);
	}
	return exec_done(h, st, what);
}

static void copy_text(char *out, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(out, len, "%s", t ? (const char *)t : "");
}

/* ---- what is out of date ---- */

static int sq_hist_dirty_next(struct store_hist *base, int64_t after_id, int64_t *device_id,
                          int64_t *from_ms, int64_t *seq)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_DIRTY_NEXT);
	if (!st)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, after_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		finish(st);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return step_error(h, st, "history dirty");
	*device_id = sqlite3_column_int64(st, 0);
	*from_ms = sqlite3_column_int64(st, 1);
	*seq = sqlite3_column_int64(st, 2);
	finish(st);
	return STORE_OK;
}

static int sq_hist_dirty_done(struct store_hist *base, int64_t device_id, int64_t seq)
{
	struct sq_hist *h = sq_hist_of(base);
	int64_t v[] = { device_id, seq };
	return exec_i64s(h, HS_DIRTY_DONE, 2, v, "history done");
}

static int sq_hist_mark(struct store_hist *base, int64_t device_id, int64_t from_ms)
{
	struct sq_hist *h = sq_hist_of(base);
	int64_t v[] = { device_id, from_ms };
	return exec_i64s(h, HS_MARK, 2, v, "history mark");
}

static int one_i64(struct sq_hist *h, enum hist_stmt id, int64_t arg, int64_t *out,
                   int null_is_missing, const char *what)
{
	sqlite3_stmt *st = stmt(h, id);
	if (!st)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, arg);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE ||
	    (rc == SQLITE_ROW && null_is_missing && sqlite3_column_type(st, 0) == SQLITE_NULL)) {
		finish(st);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return step_error(h, st, what);
	*out = sqlite3_column_int64(st, 0);
	finish(st);
	return STORE_OK;
}

static int sq_hist_gen(struct store_hist *base, int64_t device_id, int64_t *gen)
{
	struct sq_hist *h = sq_hist_of(base);
	int rc = one_i64(h, HS_GEN, device_id, gen, 1, "history gen");
	if (rc == STORE_NOTFOUND) {
		*gen = 0;
		return STORE_OK;
	}
	return rc;
}

static int sq_hist_gen_bump(struct store_hist *base, int64_t device_id, int64_t *gen)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_GEN_BUMP);
	if (!st)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, device_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return step_error(h, st, "history gen");
	*gen = sqlite3_column_int64(st, 0);
	/* Step to the end so the statement's write completes. */
	int rc = sqlite3_step(st);
	finish(st);
	return rc == SQLITE_DONE ? STORE_OK : fail(h, "history gen");
}

/* ---- fixes ---- */

static int sq_hist_fixes(struct store_hist *base, int64_t device_id, int64_t from_ms,
                     int (*cb)(void *ctx, int64_t t_ms, double lat, double lon, double acc),
                     void *ctx)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_FIXES);
	if (!st)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, from_ms);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		double acc = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 3);
		int stop = cb(ctx, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1),
		              sqlite3_column_double(st, 2), acc);
		if (stop) {
			finish(st);
			return stop;
		}
	}
	if (rc != SQLITE_DONE)
		return step_error(h, st, "history fixes");
	finish(st);
	return STORE_OK;
}

/* ---- segments ---- */

static int sq_hist_resume_point(struct store_hist *base, int64_t device_id, int64_t t, int64_t *start_ms)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_RESUME);
	if (!st)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, t);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return step_error(h, st, "history resume");
	rc = sqlite3_column_type(st, 0) == SQLITE_NULL ? STORE_NOTFOUND : STORE_OK;
	if (rc == STORE_OK)
		*start_ms = sqlite3_column_int64(st, 0);
	finish(st);
	return rc;
}

static int sq_hist_clear_from(struct store_hist *base, int64_t device_id, int64_t from_ms)
{
	struct sq_hist *h = sq_hist_of(base);
	int64_t v[] = { device_id, from_ms };
	if (exec_i64s(h, HS_CLEAR_SEG, 2, v, "history clear") != STORE_OK)
		return STORE_ERR;
	/* The quarter holding from_ms also holds fixes before it, which stay;
	 * from scratch, every quarter goes. */
	int64_t q[] = { device_id, from_ms == INT64_MIN ? INT64_MIN : hist_quarter_of(from_ms) };
	return exec_i64s(h, HS_CLEAR_Q, 2, q, "history clear");
}

static int sq_hist_clear_open(struct store_hist *base, int64_t device_id)
{
	struct sq_hist *h = sq_hist_of(base);
	return exec_i64s(h, HS_CLEAR_OPEN, 1, &device_id, "history clear open");
}

static int bind_real_or_null(sqlite3_stmt *st, int i, int has, double v)
{
	return has ? sqlite3_bind_double(st, i, v) : sqlite3_bind_null(st, i);
}

static int sq_hist_put(struct store_hist *base, int64_t device_id, const struct seg_rec *r)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_PUT);
	if (!st)
		return STORE_ERR;
	int stay = r->kind == SEG_STAY, trip = !stay;
	int bad = sqlite3_bind_int64(st, 1, device_id) || sqlite3_bind_int64(st, 2, r->start_ms) ||
	          sqlite3_bind_int(st, 3, r->kind) || sqlite3_bind_int64(st, 4, r->end_ms) ||
	          sqlite3_bind_int64(st, 5, r->decided_ms) || sqlite3_bind_int(st, 6, r->open) ||
	          sqlite3_bind_int64(st, 7, r->nfix) ||
	          bind_real_or_null(st, 8, stay, r->lat) || bind_real_or_null(st, 9, stay, r->lon) ||
	          bind_real_or_null(st, 10, trip, r->from_lat) ||
	          bind_real_or_null(st, 11, trip, r->from_lon) ||
	          bind_real_or_null(st, 12, trip, r->to_lat) ||
	          bind_real_or_null(st, 13, trip, r->to_lon) ||
	          bind_real_or_null(st, 14, trip, r->distance) ||
	          bind_real_or_null(st, 15, 1, r->duration_s) ||
	          bind_real_or_null(st, 16, trip, r->avg_speed) ||
	          bind_real_or_null(st, 17, trip, r->max_speed) ||
	          (trip ? sqlite3_bind_int(st, 18, r->mode) : sqlite3_bind_null(st, 18)) ||
	          (trip ? sqlite3_bind_int(st, 19, r->gap) : sqlite3_bind_null(st, 19)) ||
	          (r->place_id ? sqlite3_bind_int64(st, 20, r->place_id) : sqlite3_bind_null(st, 20)) ||
	          (r->parts_len ? sqlite3_bind_blob(st, 21, r->parts, (int)r->parts_len,
	                                            SQLITE_STATIC)
	                        : sqlite3_bind_null(st, 21));
	if (bad) {
		finish(st);
		return fail(h, "history put");
	}
	return exec_done(h, st, "history put");
}

static void read_seg(sqlite3_stmt *st, struct seg_rec *r)
{
	memset(r, 0, sizeof *r);
	r->start_ms = sqlite3_column_int64(st, 0);
	r->kind = sqlite3_column_int(st, 1);
	r->end_ms = sqlite3_column_int64(st, 2);
	r->decided_ms = sqlite3_column_int64(st, 3);
	r->open = sqlite3_column_int(st, 4);
	r->nfix = sqlite3_column_int64(st, 5);
	r->lat = sqlite3_column_double(st, 6);
	r->lon = sqlite3_column_double(st, 7);
	r->from_lat = sqlite3_column_double(st, 8);
	r->from_lon = sqlite3_column_double(st, 9);
	r->to_lat = sqlite3_column_double(st, 10);
	r->to_lon = sqlite3_column_double(st, 11);
	r->distance = sqlite3_column_double(st, 12);
	r->duration_s = sqlite3_column_double(st, 13);
	r->avg_speed = sqlite3_column_double(st, 14);
	r->max_speed = sqlite3_column_double(st, 15);
	r->mode = sqlite3_column_int(st, 16);
	r->gap = sqlite3_column_int(st, 17);
	r->place_id = sqlite3_column_int64(st, 18);
	r->parts = sqlite3_column_blob(st, 19);
	r->parts_len = (size_t)sqlite3_column_bytes(st, 19);
}

static int sq_hist_segments(struct store_hist *base, int64_t device_id, int64_t from_ms,
                        int64_t to_ms, int (*cb)(void *ctx, const struct seg_rec *r),
                        void *ctx)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_SEGS);
	if (!st)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, device_id);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct seg_rec r;
		read_seg(st, &r);
		if (!hist_seg_overlaps(&r, from_ms))
			continue;
		int stop = cb(ctx, &r);
		if (stop) {
			finish(st);
			return stop;
		}
	}
	if (rc != SQLITE_DONE)
		return step_error(h, st, "history segments");
	finish(st);
	return STORE_OK;
}

static int sq_hist_quarter_put(struct store_hist *base, int64_t device_id, int64_t q)
{
	struct sq_hist *h = sq_hist_of(base);
	int64_t v[] = { device_id, q };
	return exec_i64s(h, HS_Q_PUT, 2, v, "history quarter");
}

static int sq_hist_quarters(struct store_hist *base, int64_t device_id, int64_t from_q, int64_t to_q,
                        int (*cb)(void *ctx, int64_t q), void *ctx)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_QS);
	if (!st)
		return STORE_ERR;
	int64_t v[] = { device_id, from_q, to_q };
	bind_i64s(st, 3, v);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int stop = cb(ctx, sqlite3_column_int64(st, 0));
		if (stop) {
			finish(st);
			return stop;
		}
	}
	if (rc != SQLITE_DONE)
		return step_error(h, st, "history quarters");
	finish(st);
	return STORE_OK;
}

/* ---- places ---- */

static void read_place(sqlite3_stmt *st, struct place_rec *p)
{
	memset(p, 0, sizeof *p);
	p->id = sqlite3_column_int64(st, 0);
	p->user_id = sqlite3_column_int64(st, 1);
	p->named = sqlite3_column_type(st, 2) != SQLITE_NULL;
	copy_text(p->name, sizeof p->name, st, 2);
	p->lat = sqlite3_column_double(st, 3);
	p->lon = sqlite3_column_double(st, 4);
	p->radius = sqlite3_column_double(st, 5);
	copy_text(p->city, sizeof p->city, st, 6);
	copy_text(p->country, sizeof p->country, st, 7);
	p->deleted = sqlite3_column_int(st, 8);
	p->created_ms = sqlite3_column_int64(st, 9);
	copy_text(p->country_name, sizeof p->country_name, st, 10);
}

static int sq_hist_place_near(struct store_hist *base, int64_t user_id, double lat, double lon,
                     double (*dist)(double lat1, double lon1, double lat2, double lon2),
                     struct place_rec *out)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_PLACE_BOX);
	if (!st)
		return STORE_ERR;
	double dlat, dlon;
	hist_box_of(lat, PLACE_RADIUS_MAX, &dlat, &dlon);
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_double(st, 2, lat - dlat);
	sqlite3_bind_double(st, 3, lat + dlat);
	sqlite3_bind_double(st, 4, dlon >= 180 ? -180 : lon - dlon);
	sqlite3_bind_double(st, 5, dlon >= 180 ? 180 : lon + dlon);
	int rc, found = 0;
	double best = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct place_rec p;
		read_place(st, &p);
		double d = dist(lat, lon, p.lat, p.lon);
		if (d <= p.radius && (!found || d < best)) {
			*out = p;
			best = d;
			found = 1;
		}
	}
	if (rc != SQLITE_DONE)
		return step_error(h, st, "place near");
	finish(st);
	return found ? STORE_OK : STORE_NOTFOUND;
}

static int bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	return v && *v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static int sq_hist_place_add(struct store_hist *base, const struct place_rec *p, int64_t *id_out)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_PLACE_ADD);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, p->user_id) ||
	    bind_text_or_null(st, 2, p->named ? p->name : NULL) ||
	    sqlite3_bind_double(st, 3, p->lat) || sqlite3_bind_double(st, 4, p->lon) ||
	    sqlite3_bind_double(st, 5, p->radius) || bind_text_or_null(st, 6, p->city) ||
	    bind_text_or_null(st, 7, p->country) || sqlite3_bind_int64(st, 8, p->created_ms) ||
	    bind_text_or_null(st, 9, p->country_name)) {
		finish(st);
		return fail(h, "place add");
	}
	int rc = exec_done(h, st, "place add");
	if (rc == STORE_OK)
		*id_out = sqlite3_last_insert_rowid(h->db);
	return rc;
}

static int sq_hist_place_get(struct store_hist *base, int64_t user_id, int64_t id, struct place_rec *out)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_PLACE_GET);
	if (!st)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int64(st, 2, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		finish(st);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return step_error(h, st, "place get");
	read_place(st, out);
	finish(st);
	return STORE_OK;
}

static int changed(struct sq_hist *h, int rc)
{
	return rc == STORE_OK && sqlite3_changes(h->db) == 0 ? STORE_NOTFOUND : rc;
}

static int sq_hist_place_update(struct store_hist *base, int64_t user_id, int64_t id, const char *name,
                       double radius)
{
	struct sq_hist *h = sq_hist_of(base);
	int rc = STORE_OK;
	if (name) {
		sqlite3_stmt *st = stmt(h, HS_PLACE_NAME);
		if (!st)
			return STORE_ERR;
		sqlite3_bind_int64(st, 1, user_id);
		sqlite3_bind_int64(st, 2, id);
		bind_text_or_null(st, 3, name);
		rc = changed(h, exec_done(h, st, "place rename"));
		if (rc != STORE_OK)
			return rc;
	}
	if (radius > 0) {
		sqlite3_stmt *st = stmt(h, HS_PLACE_RADIUS);
		if (!st)
			return STORE_ERR;
		sqlite3_bind_int64(st, 1, user_id);
		sqlite3_bind_int64(st, 2, id);
		sqlite3_bind_double(st, 3, radius);
		rc = changed(h, exec_done(h, st, "place resize"));
	}
	return rc;
}

static int sq_hist_place_delete(struct store_hist *base, int64_t user_id, int64_t id)
{
	struct sq_hist *h = sq_hist_of(base);
	int64_t v[] = { user_id, id };
	int rc = changed(h, exec_i64s(h, HS_PLACE_DEL, 2, v, "place delete"));
	if (rc != STORE_OK)
		return rc;
	return exec_i64s(h, HS_PLACE_UNSTAY, 1, &id, "place delete");
}

static int sq_hist_place_list(struct store_hist *base, int64_t user_id,
                     int (*cb)(void *ctx, const struct place_stat *p), void *ctx)
{
	struct sq_hist *h = sq_hist_of(base);
	sqlite3_stmt *st = stmt(h, HS_PLACE_LIST);
	if (!st)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, user_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct place_stat ps;
		read_place(st, &ps.p);
		ps.visits = sqlite3_column_int64(st, 11);
		ps.first_ms = sqlite3_column_int64(st, 12);
		ps.last_ms = sqlite3_column_int64(st, 13);
		int stop = cb(ctx, &ps);
		if (stop) {
			finish(st);
			return stop;
		}
	}
	if (rc != SQLITE_DONE)
		return step_error(h, st, "place list");
	finish(st);
	return STORE_OK;
}

/* Stays to move, gathered first: the walk's statement must be done
 * before the updates. */
struct claim {
	int64_t device_id, start_ms, old_place;
};

static int64_t sq_hist_place_claim(struct store_hist *base, int64_t user_id, int64_t id,
                          double (*dist)(double lat1, double lon1, double lat2, double lon2))
{
	struct sq_hist *h = sq_hist_of(base);
	struct place_rec p;
	if (store_place_get(&h->base, user_id, id, &p) != STORE_OK)
		return -1;
	sqlite3_stmt *st = stmt(h, HS_CLAIM_BOX);
	if (!st)
		return -1;
	double dlat, dlon;
	hist_box_of(p.lat, p.radius, &dlat, &dlon);
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_double(st, 2, p.lat - dlat);
	sqlite3_bind_double(st, 3, p.lat + dlat);
	sqlite3_bind_double(st, 4, dlon >= 180 ? -180 : p.lon - dlon);
	sqlite3_bind_double(st, 5, dlon >= 180 ? 180 : p.lon + dlon);
	struct claim *c = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		double d = dist(sqlite3_column_double(st, 2), sqlite3_column_double(st, 3), p.lat, p.lon);
		if (d > p.radius || sqlite3_column_int64(st, 4) == id)
			continue;
		/* A stay of another live, named place keeps it unless this one's
		 * centre is nearer; unnamed places and tombstones give way. */
		int other = sqlite3_column_type(st, 4) != SQLITE_NULL && !sqlite3_column_int(st, 7);
		if (other && sqlite3_column_int(st, 8) &&
		    dist(sqlite3_column_double(st, 2), sqlite3_column_double(st, 3),
		         sqlite3_column_double(st, 5), sqlite3_column_double(st, 6)) <= d)
			continue;
		array_grow(&c, &cap, n + 1, sizeof *c);
		c[n].device_id = sqlite3_column_int64(st, 0);
		c[n].start_ms = sqlite3_column_int64(st, 1);
		c[n].old_place = sqlite3_column_int64(st, 4);
		n++;
	}
	finish(st);
	if (rc != SQLITE_DONE) {
		free(c);
		fail(h, "place claim");
		return -1;
	}
	int64_t moved = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t v[] = { id, c[i].device_id, c[i].start_ms };
		if (exec_i64s(h, HS_CLAIM_SET, 3, v, "place claim") != STORE_OK) {
			free(c);
			return -1;
		}
		moved++;
	}
	for (size_t i = 0; i < n; i++) {
		if (!c[i].old_place)
			continue;
		int64_t v[] = { c[i].old_place };
		if (exec_i64s(h, HS_DROP_EMPTY, 1, v, "place claim") != STORE_OK) {
			free(c);
			return -1;
		}
	}
	free(c);
	return moved;
}

static const struct hist_ops sq_hist_ops = {
	.close = sq_hist_close,
	.errmsg = sq_hist_errmsg,
	.dirty_next = sq_hist_dirty_next,
	.dirty_done = sq_hist_dirty_done,
	.mark = sq_hist_mark,
	.gen = sq_hist_gen,
	.gen_bump = sq_hist_gen_bump,
	.fixes = sq_hist_fixes,
	.resume_point = sq_hist_resume_point,
	.clear_from = sq_hist_clear_from,
	.clear_open = sq_hist_clear_open,
	.put = sq_hist_put,
	.segments = sq_hist_segments,
	.quarter_put = sq_hist_quarter_put,
	.quarters = sq_hist_quarters,
	.place_near = sq_hist_place_near,
	.place_add = sq_hist_place_add,
	.place_get = sq_hist_place_get,
	.place_update = sq_hist_place_update,
	.place_delete = sq_hist_place_delete,
	.place_list = sq_hist_place_list,
	.place_claim = sq_hist_place_claim,
};
