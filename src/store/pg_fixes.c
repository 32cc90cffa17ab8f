/* See pg_fixes.h. A batch of fixes is one statement: each column an array
 * parameter, unnested, the first of each (device, time) inserted unless
 * stored already, and device_stats and history_dirty updated from what
 * the INSERT returned, all in the same statement and so in the caller's
 * transaction. Nothing a phone can send makes it fail: a duplicate is
 * skipped by ON CONFLICT, a device deleted meanwhile by the devices the
 * statement locks (FOR KEY SHARE) before it inserts. */
#include "store/pg_fixes.h"
#include "store/pg_conn.h"
#include "base/point.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK      4096     /* fixes per statement: a few hundred KiB of text */
#define CHUNK_TEXT (4 << 20)   /* attrs bytes per statement at most (each may be 64 KiB) */
#define WALK_ROWS  2000     /* rows per FETCH of store_fixes */
#define POS_ROWS   16384    /* rows per FETCH of store_fix_positions: 3 numbers each */
#define SEEK_CHUNK 8192     /* seeks per statement of store_fix_first_many */

enum stmt_id {
	FX_PUT, FX_LAST, FX_FIRST_IN, FX_LAST_IN, FX_NTH_LAST, FX_COUNT_DEV, FX_COUNT_ALL,
	FX_DEMO_DEL_DEV, FX_DEMO_DEL_ALL, FX_RANGE_COUNT, FX_RANGE_DEL, FX_DEL_AT, FX_DEL_MANY,
	FX_FIRST_MANY, FX_MAX
};

#define FIX_COLS  "SELECT time_ms, lat, lon, alt, speed, course, acc, batt, attrs FROM fixes "
/* $4..$7: west, south, east, north of a box (west > east crosses the
 * antimeridian), or $4 NULL for no box. */
#define RANGE_BOX "($4::float8 IS NULL OR (lat BETWEEN $5::float8 AND $7::float8 AND " \
                  "(CASE WHEN $4 <= $6::float8 THEN lon BETWEEN $4 AND $6 " \
                  "ELSE lon >= $4 OR lon <= $6 END)))"
/* attrs holds "demo":true. The LIKE spares the JSON parse for the rows
 * that cannot match; CASE keeps that order. */
#define DEMO_FIX  "CASE WHEN attrs LIKE '%\"demo\"%' THEN mintrac_is_demo(attrs) ELSE false END"
/* The tail of a statement whose CTE `src` returned the (device_id,
 * time_ms) of fixes inserted (sign "") or deleted (sign "-"): each
 * device's count and history mark, in device order so that two writers
 * lock the rows in the same order. */
#define COUNTED(src, sign) \
	"agg AS (SELECT device_id, count(*) AS n, min(time_ms) AS m FROM " src \
	" GROUP BY device_id), " \
	"st AS (INSERT INTO device_stats(device_id, points) SELECT device_id, " sign "n " \
	"FROM agg ORDER BY device_id ON CONFLICT (device_id) DO UPDATE SET " \
	"points = device_stats.points + excluded.points), " \
	"hd AS (INSERT INTO history_dirty(device_id, from_ms, seq) SELECT device_id, m, 1 " \
	"FROM agg ORDER BY device_id ON CONFLICT (device_id) DO UPDATE SET " \
	"from_ms = least(history_dirty.from_ms, excluded.from_ms), seq = history_dirty.seq + 1) "

static const char *const stmt_sql[FX_MAX] = {
	/* Rows (i, 0): the batch's i-th fix (from 1) was stored; rows (0, id):
	 * device id exists (the others' fixes are not stored). */
	[FX_PUT]          = "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], "
	                    "$3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], "
	                    "$8::float8[], $9::float8[], $10::text[]) WITH ORDINALITY AS t(device_id, "
	                    "time_ms, lat, lon, alt, speed, course, acc, batt, attrs, i)), "
	                    "dev AS MATERIALIZED (SELECT id FROM devices WHERE id IN "
	                    "(SELECT device_id FROM u) ORDER BY id FOR KEY SHARE), "
	                    "firsts AS (SELECT DISTINCT ON (device_id, time_ms) * FROM u "
	                    "WHERE device_id IN (SELECT id FROM dev) ORDER BY device_id, time_ms, i), "
	                    "ins AS (INSERT INTO fixes(device_id, time_ms, lat, lon, alt, speed, "
	                    "course, acc, batt, attrs) SELECT device_id, time_ms, lat, lon, alt, speed, "
	                    "course, acc, batt, attrs FROM firsts ON CONFLICT DO NOTHING "
	                    "RETURNING device_id, time_ms), "
	                    COUNTED("ins", "")
	                    "SELECT f.i, 0::bigint FROM ins JOIN firsts f USING (device_id, time_ms) "
	                    "UNION ALL SELECT 0, id FROM dev",
	[FX_LAST]         = FIX_COLS "WHERE device_id = $1 ORDER BY time_ms DESC LIMIT 1",
	[FX_FIRST_IN]     = FIX_COLS "WHERE device_id = $1 AND time_ms BETWEEN $2 AND $3 "
	                    "ORDER BY time_ms LIMIT 1",
	[FX_LAST_IN]      = FIX_COLS "WHERE device_id = $1 AND time_ms BETWEEN $2 AND $3 "
	                    "ORDER BY time_ms DESC LIMIT 1",
	/* Each range's first fix: one index seek per range on the server,
	 * the month tables a range cannot touch pruned as it runs. Rows
	 * (i, time, lat, lon) for the ranges (from 1) that hold one. */
	[FX_FIRST_MANY]   = "SELECT r.i, f.time_ms, f.lat, f.lon FROM unnest($2::bigint[], "
	                    "$3::bigint[]) WITH ORDINALITY AS r(lo, hi, i) CROSS JOIN LATERAL "
	                    "(SELECT time_ms, lat, lon FROM fixes WHERE device_id = $1 AND "
	                    "time_ms BETWEEN r.lo AND r.hi ORDER BY time_ms LIMIT 1) f",
	[FX_NTH_LAST]     = "SELECT time_ms FROM fixes WHERE device_id = $1 AND time_ms BETWEEN $2 "
	                    "AND $3 ORDER BY time_ms DESC LIMIT 1 OFFSET $4",
	[FX_COUNT_DEV]    = "SELECT points FROM device_stats WHERE device_id = $1",
	[FX_COUNT_ALL]    = "SELECT coalesce(sum(points), 0) FROM device_stats",
	[FX_DEMO_DEL_DEV] = "WITH del AS (DELETE FROM fixes WHERE device_id = $1 AND " DEMO_FIX
	                    " RETURNING device_id, time_ms), " COUNTED("del", "-")
	                    "SELECT count(*) FROM del",
	[FX_DEMO_DEL_ALL] = "WITH del AS (DELETE FROM fixes WHERE " DEMO_FIX
	                    " RETURNING device_id, time_ms), " COUNTED("del", "-")
	                    "SELECT count(*) FROM del",
	[FX_RANGE_COUNT]  = "SELECT count(*) FROM fixes WHERE device_id = $1 AND time_ms BETWEEN $2 "
	                    "AND $3 AND " RANGE_BOX,
	[FX_RANGE_DEL]    = "WITH del AS (DELETE FROM fixes WHERE device_id = $1 AND time_ms IN "
	                    "(SELECT time_ms FROM fixes WHERE device_id = $1 AND time_ms BETWEEN $2 "
	                    "AND $3 AND " RANGE_BOX " ORDER BY time_ms LIMIT $8) "
	                    "RETURNING device_id, time_ms), " COUNTED("del", "-")
	                    "SELECT count(*) FROM del",
	[FX_DEL_AT]       = "WITH del AS (DELETE FROM fixes WHERE device_id = $1 AND time_ms = $2 "
	                    "RETURNING device_id, time_ms), " COUNTED("del", "-")
	                    "SELECT count(*) FROM del",
	[FX_DEL_MANY]     = "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) "
	                    "AS t(device_id, time_ms)), "
	                    "del AS (DELETE FROM fixes f USING u WHERE f.device_id = u.device_id "
	                    "AND f.time_ms = u.time_ms RETURNING f.device_id, f.time_ms), "
	                    COUNTED("del", "-") "SELECT count(*) FROM del",
};

void pg_fixes_stmts(struct pg_stmts *ps)
{
	*ps = (struct pg_stmts){ .prefix = "f", .sql = stmt_sql, .count = FX_MAX };
}

/* ---- writing ---- */

/* PostgreSQL refuses text that is not UTF-8, which would fail the whole
 * batch: such bytes become U+FFFD, as every reader of attrs would show
 * them anyway (buf_add_json_str). Valid text is stored byte for byte. */
static const char *valid_text(struct pg_store *s, const char *t)
{
	size_t n;
	if (!t || utf8_valid(t, n = strlen(t)))
		return t;
	buf_reset(&s->text);
	for (size_t i = 0; i < n; ) {
		unsigned char c = (unsigned char)t[i];
		size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		if (i + len <= n && utf8_valid(t + i, len)) {
			buf_add(&s->text, t + i, len);
			i += len;
		} else {
			buf_adds(&s->text, "\xEF\xBF\xBD");
			i++;
		}
	}
	return s->text.data;
}

/* Months of the batch that have no table yet get one first: before the
 * transaction's BEGIN when it has not run a statement yet (the writer's
 * case), else under a savepoint inside it. Next month's is made a month
 * early: its first fixes then never find it missing (a busy table at that
 * moment would send the month to the default table for good). */
static void make_months(struct pg_store *s, const struct fix *const *fixes, size_t n)
{
	if (s->flags & STORE_READONLY)
		return;     /* the INSERT will say it cannot */
	PGconn *c = pg_store_conn_idle(s);
	int next = pg_month_of(now_ms()) + 1;
	if (c && !(s->in_tx && s->begun) && !pg_months_known(&s->months, next))
		pg_months_make(&s->months, c, next, 0);
	int last = INT_MIN;
	for (size_t i = 0; c && i < n; i++) {
		int m = pg_month_of(fixes[i]->time_ms);
		if (m == last)
			continue;
		last = m;
		if (!pg_months_known(&s->months, m))
			pg_months_make(&s->months, c, m, s->in_tx && s->begun);
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Which fixes the statement stored, and whose device is gone. */
static void read_inserted(struct pg_store *s, const PGresult *r, const int64_t *ids, size_t n,
                          int *inserted)
{
	size_t rows = (size_t)PQntuples(r), nd = 0;
	if (rows > s->devs_cap) {
		s->devs_cap = rows;
		s->devs = xrealloc(s->devs, rows * sizeof *s->devs);
	}
	for (size_t i = 0; i < rows; i++)
		if (pg_i64(r, (int)i, 0) == 0)
			s->devs[nd++] = pg_i64(r, (int)i, 1);
	qsort(s->devs, nd, sizeof *s->devs, cmp_i64);
	for (size_t i = 0; i < n; i++)
		inserted[i] = bsearch(&ids[i], s->devs, nd, sizeof *s->devs, cmp_i64) ? 0 : -1;
	for (size_t i = 0; i < rows; i++) {
		int64_t k = pg_i64(r, (int)i, 0);
		if (k >= 1 && (size_t)k <= n)
			inserted[k - 1] = 1;
	}
}

/* Stores the first fixes of the batch, at most CHUNK of them and
 * CHUNK_TEXT bytes of attrs; *used says how many. */
static int put_chunk(struct pg_store *s, const int64_t *ids, const struct fix *const *fixes,
                     size_t n, int *inserted, size_t *used)
{
	struct pg_args a;
	PGresult *r;
	for (int k = 0; k < PG_FIX_ARRAYS; k++)
		buf_reset(&s->arr[k]);
	if (n > CHUNK)
		n = CHUNK;
	for (size_t i = 0; i < n; i++) {
		if (s->arr[9].len > CHUNK_TEXT) {
			n = i;
			break;
		}
		const struct fix *f = fixes[i];
		pg_array_i64(&s->arr[0], ids[i]);
		pg_array_i64(&s->arr[1], f->time_ms);
		pg_array_f64(&s->arr[2], 1, f->lat);
		pg_array_f64(&s->arr[3], 1, f->lon);
		pg_array_f64(&s->arr[4], f->has & FIX_ALT, f->alt);
		pg_array_f64(&s->arr[5], f->has & FIX_SPEED, f->speed);
		pg_array_f64(&s->arr[6], f->has & FIX_COURSE, f->course);
		pg_array_f64(&s->arr[7], f->has & FIX_ACC, f->acc);
		pg_array_f64(&s->arr[8], f->has & FIX_BATT, f->batt);
		pg_array_text(&s->arr[9], valid_text(s, f->attrs));
	}
	pg_args_init(&a);
	for (int k = 0; k < PG_FIX_ARRAYS; k++) {
		pg_array_end(&s->arr[k]);
		pg_arg_text(&a, s->arr[k].data);
	}
	if (pg_store_run(s, &s->fst, FX_PUT, &a, PGRES_TUPLES_OK, "store fixes", &r) != STORE_OK)
		return STORE_ERR;
	read_inserted(s, r, ids, n, inserted);
	PQclear(r);
	*used = n;
	return STORE_OK;
}

/* One statement per CHUNK fixes (fewer when their attrs are long); a
 * batch of more outside a transaction gets a transaction of its own, so
 * that it is stored whole or not at all. */
int pg_put_fixes(struct store *base, const int64_t *device_ids, const struct fix *const *fixes,
                 size_t n, int *inserted)
{
	struct pg_store *s = pg_store_of(base);
	int own = !s->in_tx && n > 1;
	if (own && store_begin(base) != STORE_OK)
		return STORE_ERR;
	make_months(s, fixes, n);
	int rc = STORE_OK;
	for (size_t i = 0, used = 0; rc == STORE_OK && i < n; i += used)
		rc = put_chunk(s, device_ids + i, fixes + i, n - i, inserted + i, &used);
	if (own && rc == STORE_OK)
		rc = store_commit(base);
	if (own && rc != STORE_OK)
		(void)store_rollback(base);   /* the first error is the one to report */
	if (rc != STORE_OK)
		memset(inserted, 0, n * sizeof *inserted);
	return rc;
}

/* A fix of a device that is gone is STORE_NOTFOUND, as SQLite's foreign
 * key makes it. */
int pg_put_fix(struct store *base, int64_t device_id, const struct fix *f, int *inserted)
{
	struct pg_store *s = pg_store_of(base);
	int ins = 0;
	int rc = pg_put_fixes(base, &device_id, &f, 1, &ins);
	if (rc == STORE_OK && ins < 0) {
		snprintf(s->err, sizeof s->err, "store fix: no device %lld", (long long)device_id);
		rc = STORE_NOTFOUND;
	}
	if (inserted)
		*inserted = ins > 0;
	return rc;
}

/* ---- reading ---- */

static void opt_col(const PGresult *r, int row, int col, struct fix *f, unsigned bit, double *v)
{
	if (pg_null(r, row, col))
		return;
	*v = pg_f64(r, row, col);
	f->has |= bit;
}

/* Fills f from a FIX_COLS row, except attrs. PostgreSQL prints a double
 * with the fewest digits that read back to it, so nothing is rounded. */
static void read_fix(const PGresult *r, int row, struct fix *f)
{
	f->time_ms = pg_i64(r, row, 0);
	f->lat = pg_f64(r, row, 1);
	f->lon = pg_f64(r, row, 2);
	f->has = 0;
	opt_col(r, row, 3, f, FIX_ALT, &f->alt);
	opt_col(r, row, 4, f, FIX_SPEED, &f->speed);
	opt_col(r, row, 5, f, FIX_COURSE, &f->course);
	opt_col(r, row, 6, f, FIX_ACC, &f->acc);
	opt_col(r, row, 7, f, FIX_BATT, &f->batt);
}

/* Reads the rows through a cursor, WALK_ROWS at a time, so a year of
 * fixes is never held in memory; a callback may use the store meanwhile
 * (the cursor lives in the transaction, the caller's or one of its own). */
static int walk(struct pg_store *s, PGconn *c, const char *cursor,
                int (*cb)(void *ctx, const struct fix *f), void *ctx)
{
	char fetch[64];
	snprintf(fetch, sizeof fetch, "FETCH %d FROM %s", WALK_ROWS, cursor);
	for (;;) {
		PGresult *r = pg_run_once(c, fetch, NULL, PGRES_TUPLES_OK, s->err, sizeof s->err, NULL);
		if (!r)
			return pg_store_fail(s, "fixes");
		int rows = PQntuples(r), rc = STORE_OK;
		for (int i = 0; rc == STORE_OK && i < rows; i++) {
			struct fix f;
			memset(&f, 0, sizeof f);
			read_fix(r, i, &f);
			/* Lent to cb for the call only (const struct fix). */
			f.attrs = pg_null(r, i, 8) ? NULL : PQgetvalue(r, i, 8);
			rc = cb(ctx, &f);
		}
		PQclear(r);
		if (rc != STORE_OK || rows < WALK_ROWS)
			return rc;
	}
}

int pg_fixes(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
             int (*cb)(void *ctx, const struct fix *f), void *ctx)
{
	struct pg_store *s = pg_store_of(base);
	char cursor[32], sql[256];
	struct pg_args a;
	int own = !s->in_tx;
	if (own && store_begin(base) != STORE_OK)
		return STORE_ERR;
	snprintf(cursor, sizeof cursor, "mintrac_walk%d", s->cursors);
	snprintf(sql, sizeof sql, "DECLARE %s NO SCROLL CURSOR FOR " FIX_COLS
	         "WHERE device_id = $1 AND time_ms BETWEEN $2 AND $3 ORDER BY time_ms", cursor);
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	pg_arg_i64(&a, from_ms);
	pg_arg_i64(&a, to_ms);
	PGconn *c = pg_store_conn(s);
	PGresult *r = c ? pg_run_once(c, sql, &a, PGRES_COMMAND_OK, s->err, sizeof s->err, NULL)
	                : NULL;
	int rc = STORE_ERR;
	if (!r) {
		pg_store_fail(s, "fixes");
	} else {
		PQclear(r);
		s->cursors++;
		rc = walk(s, c, cursor, cb, ctx);
		s->cursors--;
		snprintf(sql, sizeof sql, "CLOSE %s", cursor);
		if (rc != STORE_ERR && !own && pg_command(c, sql, s->err, sizeof s->err) < 0)
			rc = pg_store_fail(s, "fixes");
	}
	if (own && rc != STORE_ERR && store_commit(base) != STORE_OK)
		rc = STORE_ERR;
	if (own && rc == STORE_ERR)
		(void)store_rollback(base);
	return rc;
}

/* A FIX_COLS query expecting at most one row, into *out with its own copy
 * of attrs. */
static int fix_one(struct pg_store *s, int id, const struct pg_args *a, struct fix *out,
                   const char *what)
{
	PGresult *r;
	int rc = pg_store_run(s, &s->fst, id, a, PGRES_TUPLES_OK, what, &r);
	if (rc != STORE_OK)
		return rc;
	if (!PQntuples(r)) {
		PQclear(r);
		return STORE_NOTFOUND;
	}
	fix_init(out);
	read_fix(r, 0, out);
	if (!pg_null(r, 0, 8))
		out->attrs = xstrdup(PQgetvalue(r, 0, 8));
	PQclear(r);
	return STORE_OK;
}

int pg_last_fix(struct store *base, int64_t device_id, struct fix *out)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	return fix_one(pg_store_of(base), FX_LAST, &a, out, "last fix");
}

static int fix_in(struct store *base, int id, int64_t device_id, int64_t from_ms, int64_t to_ms,
                  struct fix *out, const char *what)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	pg_arg_i64(&a, from_ms);
	pg_arg_i64(&a, to_ms);
	return fix_one(pg_store_of(base), id, &a, out, what);
}

int pg_fix_first_in(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                    struct fix *out)
{
	return fix_in(base, FX_FIRST_IN, device_id, from_ms, to_ms, out, "first fix in range");
}

int pg_fix_last_in(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                   struct fix *out)
{
	return fix_in(base, FX_LAST_IN, device_id, from_ms, to_ms, out, "last fix in range");
}

static int first_chunk(struct pg_store *s, int64_t device_id, struct fix_seek *v, size_t n)
{
	struct buf *lo = &s->arr[0], *hi = &s->arr[1];
	buf_reset(lo);
	buf_reset(hi);
	for (size_t i = 0; i < n; i++) {
		v[i].found = 0;
		pg_array_i64(lo, v[i].from_ms);
		pg_array_i64(hi, v[i].to_ms);
	}
	pg_array_end(lo);
	pg_array_end(hi);
	struct pg_args a;
	PGresult *r;
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	pg_arg_text(&a, lo->data);
	pg_arg_text(&a, hi->data);
	int rc = pg_store_run(s, &s->fst, FX_FIRST_MANY, &a, PGRES_TUPLES_OK, "first fixes", &r);
	if (rc != STORE_OK)
		return STORE_ERR;
	for (int row = 0; row < PQntuples(r); row++) {
		int64_t i = pg_i64(r, row, 0) - 1;
		if (i < 0 || (size_t)i >= n)
			continue;
		v[i].found = 1;
		v[i].first = (struct fix_pos){ pg_i64(r, row, 1), pg_f64(r, row, 2), pg_f64(r, row, 3) };
	}
	PQclear(r);
	return STORE_OK;
}

int pg_fix_first_many(struct store *base, int64_t device_id, struct fix_seek *v, size_t n)
{
	struct pg_store *s = pg_store_of(base);
	for (size_t at = 0; at < n; at += SEEK_CHUNK)
		if (first_chunk(s, device_id, v + at, n - at < SEEK_CHUNK ? n - at : SEEK_CHUNK) !=
		    STORE_OK)
			return STORE_ERR;
	return STORE_OK;
}

/* Reads the cursor's rows in binary until max or the end. */
static int positions_walk(struct pg_store *s, PGconn *c, const char *cursor, size_t max,
                          struct fix_pos *out, size_t *n)
{
	char fetch[64];
	snprintf(fetch, sizeof fetch, "FETCH %d FROM %s", POS_ROWS, cursor);
	while (*n < max) {
		PGresult *r = pg_run_binary(c, fetch, PGRES_TUPLES_OK, s->err, sizeof s->err);
		if (!r)
			return pg_store_fail(s, "fix positions");
		int rows = PQntuples(r);
		for (int i = 0; i < rows && *n < max; i++)
			out[(*n)++] = (struct fix_pos){ pg_bin_i64(r, i, 0), pg_bin_f64(r, i, 1),
			                                pg_bin_f64(r, i, 2) };
		PQclear(r);
		if (rows < POS_ROWS)
			break;
	}
	return STORE_OK;
}

int pg_fix_positions(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                     size_t max, struct fix_pos *out, size_t *n)
{
	struct pg_store *s = pg_store_of(base);
	char cursor[32], sql[256];
	struct pg_args a;
	*n = 0;
	if (max == 0 || from_ms > to_ms)
		return STORE_OK;
	int own = !s->in_tx;
	if (own && store_begin(base) != STORE_OK)
		return STORE_ERR;
	/* A cursor, so a large range is not held in memory twice (the
	 * result and out); the LIMIT lets the server stop where we do. */
	snprintf(cursor, sizeof cursor, "mintrac_pos%d", s->cursors);
	snprintf(sql, sizeof sql, "DECLARE %s NO SCROLL CURSOR FOR SELECT time_ms, lat, lon "
	         "FROM fixes WHERE device_id = $1 AND time_ms BETWEEN $2 AND $3 "
	         "ORDER BY time_ms LIMIT $4", cursor);
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	pg_arg_i64(&a, from_ms);
	pg_arg_i64(&a, to_ms);
	pg_arg_i64(&a, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	PGconn *c = pg_store_conn(s);
	PGresult *r = c ? pg_run_once(c, sql, &a, PGRES_COMMAND_OK, s->err, sizeof s->err, NULL)
	                : NULL;
	int rc = STORE_ERR;
	if (!r) {
		pg_store_fail(s, "fix positions");
	} else {
		PQclear(r);
		rc = positions_walk(s, c, cursor, max, out, n);
		snprintf(sql, sizeof sql, "CLOSE %s", cursor);
		if (rc == STORE_OK && !own && pg_command(c, sql, s->err, sizeof s->err) < 0)
			rc = pg_store_fail(s, "fix positions");
	}
	if (own && rc == STORE_OK && store_commit(base) != STORE_OK)
		rc = STORE_ERR;
	if (own && rc != STORE_OK)
		(void)store_rollback(base);
	return rc;
}

int pg_fix_nth_last(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                    int64_t n, int64_t *time_ms)
{
	struct pg_store *s = pg_store_of(base);
	struct pg_args a;
	PGresult *r;
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	pg_arg_i64(&a, from_ms);
	pg_arg_i64(&a, to_ms);
	pg_arg_i64(&a, n < 1 ? 0 : n - 1);
	int rc = pg_store_run(s, &s->fst, FX_NTH_LAST, &a, PGRES_TUPLES_OK, "n-th last fix", &r);
	if (rc != STORE_OK)
		return rc;
	rc = PQntuples(r) ? STORE_OK : STORE_NOTFOUND;
	if (rc == STORE_OK)
		*time_ms = pg_i64(r, 0, 0);
	PQclear(r);
	return rc;
}

/* A one-value query: the value (0 when there is no row), or -1. */
static int64_t one_value(struct pg_store *s, int id, const struct pg_args *a, const char *what)
{
	PGresult *r;
	if (pg_store_run(s, &s->fst, id, a, PGRES_TUPLES_OK, what, &r) != STORE_OK)
		return -1;
	int64_t n = PQntuples(r) ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	return n;
}

/* A device without a device_stats row never had a fix: 0. */
int64_t pg_count(struct store *base, int64_t device_id)
{
	struct pg_args a;
	pg_args_init(&a);
	if (device_id)
		pg_arg_i64(&a, device_id);
	return one_value(pg_store_of(base), device_id ? FX_COUNT_DEV : FX_COUNT_ALL, &a, "count");
}

/* ---- deleting ---- */

/* One statement, so it is a transaction of its own outside store_begin. */
int64_t pg_demo_delete(struct store *base, int64_t device_id)
{
	struct pg_args a;
	pg_args_init(&a);
	if (device_id)
		pg_arg_i64(&a, device_id);
	return one_value(pg_store_of(base), device_id ? FX_DEMO_DEL_DEV : FX_DEMO_DEL_ALL, &a,
	                 "demo delete");
}

static void range_args(struct pg_args *a, int64_t device_id, int64_t from_ms, int64_t to_ms,
                       const double *box)
{
	pg_args_init(a);
	pg_arg_i64(a, device_id);
	pg_arg_i64(a, from_ms);
	pg_arg_i64(a, to_ms);
	for (int i = 0; i < 4; i++)
		pg_arg_opt_f64(a, box != NULL, box ? box[i] : 0);
}

int64_t pg_fix_count_range(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                           const double *box)
{
	struct pg_args a;
	range_args(&a, device_id, from_ms, to_ms, box);
	return one_value(pg_store_of(base), FX_RANGE_COUNT, &a, "count fixes");
}

int64_t pg_fix_delete_batch(struct store *base, int64_t device_id, int64_t from_ms, int64_t to_ms,
                            const double *box, int64_t max)
{
	struct pg_args a;
	range_args(&a, device_id, from_ms, to_ms, box);
	pg_arg_i64(&a, max);
	return one_value(pg_store_of(base), FX_RANGE_DEL, &a, "delete fixes");
}

int pg_fix_delete_at(struct store *base, int64_t device_id, int64_t time_ms, int *deleted)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	pg_arg_i64(&a, time_ms);
	int64_t n = one_value(pg_store_of(base), FX_DEL_AT, &a, "delete fix");
	*deleted = n > 0;
	return n < 0 ? STORE_ERR : STORE_OK;
}

int pg_fix_delete_many(struct store *base, const int64_t *device_ids, const int64_t *times_ms,
                       size_t n, int64_t *deleted)
{
	struct pg_store *s = pg_store_of(base);
	for (size_t off = 0; off < n; off += CHUNK) {
		size_t m = n - off < CHUNK ? n - off : CHUNK;
		buf_reset(&s->arr[0]);
		buf_reset(&s->arr[1]);
		for (size_t i = off; i < off + m; i++) {
			pg_array_i64(&s->arr[0], device_ids[i]);
			pg_array_i64(&s->arr[1], times_ms[i]);
		}
		pg_array_end(&s->arr[0]);
		pg_array_end(&s->arr[1]);
		struct pg_args a;
		pg_args_init(&a);
		pg_arg_text(&a, s->arr[0].data);
		pg_arg_text(&a, s->arr[1].data);
		int64_t k = one_value(s, FX_DEL_MANY, &a, "delete fixes");
		if (k < 0)
			return STORE_ERR;
		*deleted += k;
	}
	return STORE_OK;
}
