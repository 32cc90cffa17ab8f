/* SQLite implementation of geo_store.h: two R*Tree tables whose auxiliary
 * columns hold the rows themselves, so a box query is one index walk with
 * no join. R*Tree keeps boxes as 32-bit floats rounded outwards, so a box
 * query never misses a row; exact coordinates are in the aux columns.
 *
 * The tables are not in store_sqlite.c's migrations: they hold a copy of
 * installed files, not user data, and `mintrac geo load` drops and makes
 * them afresh. A store that never had them loaded answers every query
 * with nothing, which callers read as "no geodata". */
#include "store/geo_store.h"
#include "store/store_backend.h"
#include "store/store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define GEO_TABLES \
	"CREATE VIRTUAL TABLE geo_countries USING rtree(id, min_lon, max_lon, min_lat, max_lat," \
	" +code, +name, +shape);" \
	"CREATE VIRTUAL TABLE geo_cities USING rtree(id, min_lon, max_lon, min_lat, max_lat," \
	" +name, +country, +lat, +lon);"

#define BOX_MEETS "WHERE max_lon >= ?2 AND min_lon <= ?4 AND max_lat >= ?1 AND min_lat <= ?3"

enum geo_stmt {
	GS_PUT_COUNTRY, GS_SET_COUNTRY, GS_PUT_CITY, GS_COUNTRIES_IN, GS_CITIES_IN,
	GS_COUNT_COUNTRIES, GS_COUNT_CITIES, GS_BEGIN, GS_COMMIT, GS_MAX
};

static const char *const geo_sql[GS_MAX] = {
	[GS_PUT_COUNTRY]     = "INSERT INTO geo_countries(min_lon, max_lon, min_lat, max_lat, "
	                       "code, name, shape) VALUES(?, ?, ?, ?, ?, ?, ?)",
	[GS_SET_COUNTRY]     = "UPDATE geo_countries SET code = ?2, name = ?3 WHERE id = ?1",
	[GS_PUT_CITY]        = "INSERT INTO geo_cities(min_lon, max_lon, min_lat, max_lat, "
	                       "name, country, lat, lon) VALUES(?4, ?4, ?3, ?3, ?1, ?2, ?3, ?4)",
	[GS_COUNTRIES_IN]    = "SELECT id, code, name, shape FROM geo_countries " BOX_MEETS,
	[GS_CITIES_IN]       = "SELECT name, country, lat, lon FROM geo_cities " BOX_MEETS,
	[GS_COUNT_COUNTRIES] = "SELECT count(*) FROM geo_countries",
	[GS_COUNT_CITIES]    = "SELECT count(*) FROM geo_cities",
	[GS_BEGIN]           = "BEGIN",
	[GS_COMMIT]          = "COMMIT",
};

struct sq_geo {
	struct store_geo base;   /* first: store_backend.h */
	sqlite3      *db;
	sqlite3_stmt *st[GS_MAX];
	int           in_read;       /* store_geo_read_begin opened a transaction */
	char          err[512];
};

static struct sq_geo *sq_geo_of(struct store_geo *base)
{
	return (struct sq_geo *)base;
}

static const struct geo_ops sq_geo_ops;

struct store_geo *sq_geo_open(struct store *s)
{
	struct sq_geo *g = xcalloc(1, sizeof *g);
	g->base.ops = &sq_geo_ops;
	g->db = store_sqlite_db(s);
	return &g->base;
}

static void sq_geo_close(struct store_geo *base)
{
	struct sq_geo *g = sq_geo_of(base);
	if (!g)
		return;
	for (int i = 0; i < GS_MAX; i++)
		sqlite3_finalize(g->st[i]);
	free(g);
}

static const char *sq_geo_errmsg(const struct store_geo *base)
{
	const struct sq_geo *g = (const struct sq_geo *)base;
	return g->err;
}

static int fail(struct sq_geo *g, const char *what)
{
	snprintf(g->err, sizeof g->err, "%s: %s", what, sqlite3_errmsg(g->db));
	return STORE_ERR;
}

static int tables_exist(struct sq_geo *g)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(g->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
	                       "AND name IN ('geo_countries', 'geo_cities')", -1, &st, NULL) != SQLITE_OK)
		return fail(g, "geodata tables");
	int rc = sqlite3_step(st);
	int n = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	return n < 0 ? fail(g, "geodata tables") : n == 2;
}

/* The statement, prepared on first use; NULL with *missing = 1 when the
 * tables were never made (nothing loaded), NULL with *missing = 0 on an
 * error. Not cached while missing: another process may load meanwhile. */
static sqlite3_stmt *stmt(struct sq_geo *g, enum geo_stmt id, int *missing)
{
	*missing = 0;
	if (g->st[id])
		return g->st[id];
	if (sqlite3_prepare_v3(g->db, geo_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &g->st[id],
	                       NULL) == SQLITE_OK)
		return g->st[id];
	fail(g, "prepare");
	g->st[id] = NULL;
	*missing = tables_exist(g) == 0;
	return NULL;
}

static void finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int exec_done(struct sq_geo *g, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : fail(g, what);
	finish(st);
	return rc;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int sq_geo_clear(struct store_geo *base)
{
	struct sq_geo *g = sq_geo_of(base);
	/* The statements name the tables about to go: drop them first. */
	for (int i = 0; i < GS_MAX; i++) {
		sqlite3_finalize(g->st[i]);
		g->st[i] = NULL;
	}
	char *msg = NULL;
	if (sqlite3_exec(g->db, "DROP TABLE IF EXISTS geo_countries;"
	                 "DROP TABLE IF EXISTS geo_cities;" GEO_TABLES, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(g->err, sizeof g->err, "geodata tables: %s", msg ? msg : sqlite3_errmsg(g->db));
		sqlite3_free(msg);
		return STORE_ERR;
	}
	return STORE_OK;
}

static int sq_geo_put_country(struct store_geo *base, const char *code, const char *name,
                          double min_lat, double min_lon, double max_lat, double max_lon,
                          const void *shape, size_t shape_len, int64_t *id_out)
{
	struct sq_geo *g = sq_geo_of(base);
	int missing;
	sqlite3_stmt *st = stmt(g, GS_PUT_COUNTRY, &missing);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_double(st, 1, min_lon) || sqlite3_bind_double(st, 2, max_lon) ||
	    sqlite3_bind_double(st, 3, min_lat) || sqlite3_bind_double(st, 4, max_lat) ||
	    bind_text(st, 5, code) || bind_text(st, 6, name) ||
	    sqlite3_bind_blob64(st, 7, shape, shape_len, SQLITE_STATIC)) {
		fail(g, "bind");
		finish(st);
		return STORE_ERR;
	}
	int rc = exec_done(g, st, "insert country");
	if (rc == STORE_OK && id_out)
		*id_out = sqlite3_last_insert_rowid(g->db);
	return rc;
}

static int sq_geo_set_country(struct store_geo *base, int64_t id, const char *code, const char *name)
{
	struct sq_geo *g = sq_geo_of(base);
	int missing;
	sqlite3_stmt *st = stmt(g, GS_SET_COUNTRY, &missing);
	if (!st)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, code) || bind_text(st, 3, name)) {
		fail(g, "bind");
		finish(st);
		return STORE_ERR;
	}
	int rc = exec_done(g, st, "update country");
	if (rc == STORE_OK && sqlite3_changes(g->db) == 0)
		return STORE_NOTFOUND;
	return rc;
}

static int sq_geo_put_city(struct store_geo *base, const char *name, const char *country,
                       double lat, double lon)
{
	struct sq_geo *g = sq_geo_of(base);
	int missing;
	sqlite3_stmt *st = stmt(g, GS_PUT_CITY, &missing);
	if (!st)
		return STORE_ERR;
	if (bind_text(st, 1, name) || bind_text(st, 2, country) ||
	    sqlite3_bind_double(st, 3, lat) || sqlite3_bind_double(st, 4, lon)) {
		fail(g, "bind");
		finish(st);
		return STORE_ERR;
	}
	return exec_done(g, st, "insert city");
}

static int sq_geo_read_begin(struct store_geo *base)
{
	struct sq_geo *g = sq_geo_of(base);
	int missing;
	if (!sqlite3_get_autocommit(g->db))
		return STORE_OK;
	sqlite3_stmt *st = stmt(g, GS_BEGIN, &missing);
	if (!st || exec_done(g, st, "begin") != STORE_OK)
		return STORE_ERR;
	g->in_read = 1;
	return STORE_OK;
}

static int sq_geo_read_end(struct store_geo *base)
{
	struct sq_geo *g = sq_geo_of(base);
	int missing;
	if (!g->in_read)
		return STORE_OK;
	g->in_read = 0;
	sqlite3_stmt *st = stmt(g, GS_COMMIT, &missing);
	if (!st || exec_done(g, st, "commit") != STORE_OK) {
		if (!sqlite3_get_autocommit(g->db))
			sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
		return STORE_ERR;
	}
	return STORE_OK;
}

static int count(struct sq_geo *g, enum geo_stmt id, int64_t *out)
{
	int missing;
	sqlite3_stmt *st = stmt(g, id, &missing);
	*out = 0;
	if (!st)
		return missing ? STORE_OK : STORE_ERR;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	finish(st);
	return rc == SQLITE_ROW ? STORE_OK : fail(g, "count");
}

static int sq_geo_count(struct store_geo *base, int64_t *countries, int64_t *cities)
{
	struct sq_geo *g = sq_geo_of(base);
	if (count(g, GS_COUNT_COUNTRIES, countries) != STORE_OK)
		return STORE_ERR;
	return count(g, GS_COUNT_CITIES, cities);
}

/* Binds the box as ?1..?4 = min_lat, min_lon, max_lat, max_lon. */
static sqlite3_stmt *box_query(struct sq_geo *g, enum geo_stmt id, double min_lat,
                               double min_lon, double max_lat, double max_lon, int *missing)
{
	sqlite3_stmt *st = stmt(g, id, missing);
	if (!st)
		return NULL;
	if (sqlite3_bind_double(st, 1, min_lat) || sqlite3_bind_double(st, 2, min_lon) ||
	    sqlite3_bind_double(st, 3, max_lat) || sqlite3_bind_double(st, 4, max_lon)) {
		fail(g, "bind");
		finish(st);
		return NULL;
	}
	return st;
}

static int walk_end(struct sq_geo *g, sqlite3_stmt *st, int rc, int stopped)
{
	if (!stopped && rc != SQLITE_DONE) {
		fail(g, "geodata query");
		finish(st);
		return STORE_ERR;
	}
	finish(st);
	return stopped;
}

static int sq_geo_countries_in(struct store_geo *base, double min_lat, double min_lon,
                           double max_lat, double max_lon,
                           int (*cb)(void *ctx, const struct geo_country_rec *c), void *ctx)
{
	struct sq_geo *g = sq_geo_of(base);
	int missing, rc, stop = 0;
	sqlite3_stmt *st = box_query(g, GS_COUNTRIES_IN, min_lat, min_lon, max_lat, max_lon,
	                             &missing);
	if (!st)
		return missing ? STORE_OK : STORE_ERR;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct geo_country_rec c = {
			.id = sqlite3_column_int64(st, 0),
			.code = (const char *)sqlite3_column_text(st, 1),
			.name = (const char *)sqlite3_column_text(st, 2),
			.shape = sqlite3_column_blob(st, 3),
			.shape_len = (size_t)sqlite3_column_bytes(st, 3),
		};
		if (!c.name)
			c.name = "";
		stop = cb(ctx, &c);
	}
	return walk_end(g, st, rc, stop);
}

static int sq_geo_cities_in(struct store_geo *base, double min_lat, double min_lon,
                        double max_lat, double max_lon,
                        int (*cb)(void *ctx, const struct geo_city_rec *c), void *ctx)
{
	struct sq_geo *g = sq_geo_of(base);
	int missing, rc, stop = 0;
	sqlite3_stmt *st = box_query(g, GS_CITIES_IN, min_lat, min_lon, max_lat, max_lon, &missing);
	if (!st)
		return missing ? STORE_OK : STORE_ERR;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *country = (const char *)sqlite3_column_text(st, 1);
		struct geo_city_rec c = {
			.name = name ? name : "",
			.country = country ? country : "",
			.lat = sqlite3_column_double(st, 2),
			.lon = sqlite3_column_double(st, 3),
		};
		stop = cb(ctx, &c);
	}
	return walk_end(g, st, rc, stop);
}

static const struct geo_ops sq_geo_ops = {
	.close = sq_geo_close,
	.errmsg = sq_geo_errmsg,
	.clear = sq_geo_clear,
	.put_country = sq_geo_put_country,
	.set_country = sq_geo_set_country,
	.put_city = sq_geo_put_city,
	.read_begin = sq_geo_read_begin,
	.read_end = sq_geo_read_end,
	.count = sq_geo_count,
	.countries_in = sq_geo_countries_in,
	.cities_in = sq_geo_cities_in,
};
