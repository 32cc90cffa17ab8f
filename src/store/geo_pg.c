/* PostgreSQL implementation of geo_store.h, the same rules as geo_sqlite.c,
 * with the core server only (no PostGIS): each table has a GiST index on
 * a box (countries) or point (places) expression, and the queries name
 * that same expression so the index serves them. The geometric operators
 * compare with a small tolerance (1e-10), so each query also compares the
 * plain columns: the rows are exactly those the box meets.
 *
 * Why GiST: with the installed data (4245 shapes, 130378 places), 6000
 * lookups' worth of queries (one point box for countries, four growing
 * boxes for places, as geo_lookup.c asks), timed on the server: countries
 * 80-200 ms with GiST, 250-680 ms with a btree on (max_lat, min_lat), 3.3 s
 * with none; places 590-630 ms with GiST, 630-790 ms with a btree on
 * (lat, lon), 14 s with a btree on lat alone (the whole band of latitude
 * is read, and filtered by longitude).
 *
 * Like geo_sqlite.c, the tables are not in store_pg.c's migrations: they
 * hold a copy of installed files, and `mintrac geo load` makes them when
 * missing and replaces their rows. A store that never had them loaded
 * answers every query with nothing. A statement naming a missing table would abort the caller's
 * transaction, so whether they exist is asked first (to_regclass, which
 * never fails) until they do. */
#include "store/geo_store.h"
#include "store/pg_util.h"
#include "store/store_backend.h"
#include "store/store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define COUNTRY_BOX "box(point(min_lon, min_lat), point(max_lon, max_lat))"
#define CITY_POINT  "point(lon, lat)"
#define QUERY_BOX   "box(point($2::float8, $1::float8), point($4::float8, $3::float8))"

/* Not DROP or TRUNCATE: their lock, held to the end of the load's
 * transaction, would stall every lookup meanwhile (the deriver's too);
 * rows deleted leave readers the old data until the commit. */
#define GEO_EMPTY "DELETE FROM geo_countries; DELETE FROM geo_cities"
#define GEO_TABLES \
	"CREATE TABLE geo_countries(" \
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY," \
	" min_lat double precision NOT NULL, min_lon double precision NOT NULL," \
	" max_lat double precision NOT NULL, max_lon double precision NOT NULL," \
	" code text, name text, shape bytea NOT NULL);" \
	"CREATE INDEX geo_countries_box ON geo_countries USING gist((" COUNTRY_BOX "));" \
	"CREATE TABLE geo_cities(" \
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY," \
	" name text, country text," \
	" lat double precision NOT NULL, lon double precision NOT NULL);" \
	"CREATE INDEX geo_cities_point ON geo_cities USING gist((" CITY_POINT "));"

enum geo_stmt {
	GS_EXIST, GS_PUT_COUNTRY, GS_SET_COUNTRY, GS_PUT_CITY, GS_COUNTRIES_IN, GS_CITIES_IN,
	GS_COUNT, GS_MAX
};

static const char *const geo_sql[GS_MAX] = {
	[GS_EXIST]        = "SELECT (to_regclass('geo_countries') IS NOT NULL "
	                    "AND to_regclass('geo_cities') IS NOT NULL)::int",
	[GS_PUT_COUNTRY]  = "INSERT INTO geo_countries(min_lat, min_lon, max_lat, max_lon, code, "
	                    "name, shape) VALUES($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	[GS_SET_COUNTRY]  = "UPDATE geo_countries SET code = $2, name = $3 WHERE id = $1",
	[GS_PUT_CITY]     = "INSERT INTO geo_cities(name, country, lat, lon) VALUES($1, $2, $3, $4)",
	[GS_COUNTRIES_IN] = "SELECT id, code, name, shape FROM geo_countries "
	                    "WHERE " COUNTRY_BOX " && " QUERY_BOX " AND max_lon >= $2 "
	                    "AND min_lon <= $4 AND max_lat >= $1 AND min_lat <= $3",
	[GS_CITIES_IN]    = "SELECT name, country, lat, lon FROM geo_cities "
	                    "WHERE " CITY_POINT " <@ " QUERY_BOX " AND lat >= $1 AND lat <= $3 "
	                    "AND lon >= $2 AND lon <= $4",
	[GS_COUNT]        = "SELECT (SELECT count(*) FROM geo_countries), "
	                    "(SELECT count(*) FROM geo_cities)",
};

struct pg_geo {
	struct store_geo base;   /* first: store_backend.h */
	struct store    *s;
	unsigned         epoch;     /* the connection the tables were seen on */
	int              have;      /* the tables were seen on this connection */
	int              in_read;   /* store_geo_read_begin opened a transaction */
	char             err[512];
};

static struct pg_geo *pg_geo_of(struct store_geo *base)
{
	return (struct pg_geo *)base;
}

static const struct geo_ops pg_geo_ops;

struct store_geo *pg_geo_open(struct store *s)
{
	struct pg_geo *g = xcalloc(1, sizeof *g);
	g->base.ops = &pg_geo_ops;
	g->s = s;
	g->epoch = store_pg_epoch(s);
	return &g->base;
}

static void pg_geo_close(struct store_geo *base)
{
	/* The prepared statements go with the connection. */
	free(pg_geo_of(base));
}

static const char *pg_geo_errmsg(const struct store_geo *base)
{
	const struct pg_geo *g = (const struct pg_geo *)base;
	return g->err;
}

/* The connection, NULL with g->err set while it is down; statements of
 * an older one are forgotten. */
static PGconn *conn(struct pg_geo *g, const char *what)
{
	PGconn *c = store_pg_conn(g->s);
	if (!c) {
		snprintf(g->err, sizeof g->err, "%s: no connection to postgresql", what);
		return NULL;
	}
	unsigned epoch = store_pg_epoch(g->s);
	if (epoch != g->epoch) {
		g->epoch = epoch;
		g->have = 0;
	}
	return c;
}

static PGresult *run(struct pg_geo *g, enum geo_stmt id, const struct pg_args *a,
                     ExecStatusType ok_status, const char *what)
{
	PGconn *c = conn(g, what);
	if (!c)
		return NULL;
	char msg[sizeof g->err - 64];
	/* The connection's, shared by every geodata object on it. */
	struct pg_stmts *ps = store_pg_stmts(g->s, "g", geo_sql, GS_MAX);
	PGresult *r = ps ? pg_run(c, ps, id, a, ok_status, msg, sizeof msg, NULL) : NULL;
	if (!ps)
		snprintf(msg, sizeof msg, "%s", store_errmsg(g->s));
	if (!r)
		snprintf(g->err, sizeof g->err, "%s: %s", what, msg);
	return r;
}

static int command(struct pg_geo *g, const char *sql, const char *what)
{
	PGconn *c = conn(g, what);
	if (!c)
		return STORE_ERR;
	char msg[sizeof g->err - 64];
	if (pg_command(c, sql, msg, sizeof msg) == 0)
		return STORE_OK;
	snprintf(g->err, sizeof g->err, "%s: %s", what, msg);
	return STORE_ERR;
}

/* 1 when the tables exist, 0 when not (nothing loaded), or STORE_ERR.
 * Asked until they are seen: another process may load meanwhile. */
static int tables_exist(struct pg_geo *g)
{
	PGconn *c = conn(g, "geodata tables");
	if (!c)
		return STORE_ERR;
	if (g->have)
		return 1;
	PGresult *r = run(g, GS_EXIST, NULL, PGRES_TUPLES_OK, "geodata tables");
	if (!r)
		return STORE_ERR;
	g->have = pg_i64(r, 0, 0) != 0;
	PQclear(r);
	return g->have;
}

static int pg_geo_clear(struct store_geo *base)
{
	struct pg_geo *g = pg_geo_of(base);
	int have = tables_exist(g);
	if (have < 0)
		return STORE_ERR;
	if (have)
		return command(g, GEO_EMPTY, "geodata tables");
	/* Not seen until asked again: the caller's transaction may yet roll
	 * back, and the tables with it. */
	g->have = 0;
	return command(g, GEO_TABLES, "geodata tables");
}

static int pg_geo_put_country(struct store_geo *base, const char *code, const char *name,
                              double min_lat, double min_lon, double max_lat, double max_lon,
                              const void *shape, size_t shape_len, int64_t *id_out)
{
	struct pg_geo *g = pg_geo_of(base);
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_f64(&a, min_lat);
	pg_arg_f64(&a, min_lon);
	pg_arg_f64(&a, max_lat);
	pg_arg_f64(&a, max_lon);
	pg_arg_text(&a, code);
	pg_arg_text(&a, name);
	pg_arg_bytes(&a, shape, shape_len);
	PGresult *r = run(g, GS_PUT_COUNTRY, &a, PGRES_TUPLES_OK, "insert country");
	if (!r)
		return STORE_ERR;
	if (id_out)
		*id_out = pg_i64(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

static int pg_geo_set_country(struct store_geo *base, int64_t id, const char *code,
                              const char *name)
{
	struct pg_geo *g = pg_geo_of(base);
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, id);
	pg_arg_text(&a, code);
	pg_arg_text(&a, name);
	PGresult *r = run(g, GS_SET_COUNTRY, &a, PGRES_COMMAND_OK, "update country");
	if (!r)
		return STORE_ERR;
	int rc = pg_changes(r) ? STORE_OK : STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

static int pg_geo_put_city(struct store_geo *base, const char *name, const char *country,
                           double lat, double lon)
{
	struct pg_geo *g = pg_geo_of(base);
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, name);
	pg_arg_text(&a, country);
	pg_arg_f64(&a, lat);
	pg_arg_f64(&a, lon);
	PGresult *r = run(g, GS_PUT_CITY, &a, PGRES_COMMAND_OK, "insert city");
	if (!r)
		return STORE_ERR;
	PQclear(r);
	return STORE_OK;
}

static int pg_geo_read_begin(struct store_geo *base)
{
	struct pg_geo *g = pg_geo_of(base);
	PGconn *c = conn(g, "begin");
	if (!c)
		return STORE_ERR;
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		return STORE_OK;
	/* One snapshot for all of a lookup's queries. */
	if (command(g, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin") != STORE_OK)
		return STORE_ERR;
	g->in_read = 1;
	return STORE_OK;
}

static int pg_geo_read_end(struct store_geo *base)
{
	struct pg_geo *g = pg_geo_of(base);
	if (!g->in_read)
		return STORE_OK;
	g->in_read = 0;
	if (command(g, "COMMIT", "commit") == STORE_OK)
		return STORE_OK;
	PGconn *c = store_pg_conn(g->s);
	if (c && PQtransactionStatus(c) != PQTRANS_IDLE) {
		char msg[64];
		pg_command(c, "ROLLBACK", msg, sizeof msg);
	}
	return STORE_ERR;
}

static int pg_geo_count(struct store_geo *base, int64_t *countries, int64_t *cities)
{
	struct pg_geo *g = pg_geo_of(base);
	*countries = *cities = 0;
	int have = tables_exist(g);
	if (have <= 0)
		return have < 0 ? STORE_ERR : STORE_OK;
	PGresult *r = run(g, GS_COUNT, NULL, PGRES_TUPLES_OK, "count");
	if (!r)
		return STORE_ERR;
	*countries = pg_i64(r, 0, 0);
	*cities = pg_i64(r, 0, 1);
	PQclear(r);
	return STORE_OK;
}

/* The rows of a box query (?1..?4 = min_lat, min_lon, max_lat, max_lon);
 * NULL with *rc STORE_OK when nothing is loaded, STORE_ERR on an error. */
static PGresult *box_query(struct pg_geo *g, enum geo_stmt id, double min_lat, double min_lon,
                           double max_lat, double max_lon, int *rc)
{
	int have = tables_exist(g);
	*rc = have < 0 ? STORE_ERR : STORE_OK;
	if (have <= 0)
		return NULL;
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_f64(&a, min_lat);
	pg_arg_f64(&a, min_lon);
	pg_arg_f64(&a, max_lat);
	pg_arg_f64(&a, max_lon);
	PGresult *r = run(g, id, &a, PGRES_TUPLES_OK, "geodata query");
	if (!r)
		*rc = STORE_ERR;
	return r;
}

static int pg_geo_countries_in(struct store_geo *base, double min_lat, double min_lon,
                               double max_lat, double max_lon,
                               int (*cb)(void *ctx, const struct geo_country_rec *c), void *ctx)
{
	struct pg_geo *g = pg_geo_of(base);
	int rc;
	PGresult *r = box_query(g, GS_COUNTRIES_IN, min_lat, min_lon, max_lat, max_lon, &rc);
	if (!r)
		return rc;
	int stop = 0, n = PQntuples(r);
	for (int i = 0; i < n && !stop; i++) {
		size_t len;
		unsigned char *shape = pg_bytes(r, i, 3, &len);
		struct geo_country_rec c = {
			.id = pg_i64(r, i, 0),
			.code = pg_null(r, i, 1) ? NULL : PQgetvalue(r, i, 1),
			.name = PQgetvalue(r, i, 2),   /* "" when NULL */
			.shape = shape,
			.shape_len = len,
		};
		stop = cb(ctx, &c);
		PQfreemem(shape);
	}
	PQclear(r);
	return stop;
}

static int pg_geo_cities_in(struct store_geo *base, double min_lat, double min_lon,
                            double max_lat, double max_lon,
                            int (*cb)(void *ctx, const struct geo_city_rec *c), void *ctx)
{
	struct pg_geo *g = pg_geo_of(base);
	int rc;
	PGresult *r = box_query(g, GS_CITIES_IN, min_lat, min_lon, max_lat, max_lon, &rc);
	if (!r)
		return rc;
	int stop = 0, n = PQntuples(r);
	for (int i = 0; i < n && !stop; i++) {
		struct geo_city_rec c = {
			.name = PQgetvalue(r, i, 0),      /* "" when NULL */
			.country = PQgetvalue(r, i, 1),
			.lat = pg_f64(r, i, 2),
			.lon = pg_f64(r, i, 3),
		};
		stop = cb(ctx, &c);
	}
	PQclear(r);
	return stop;
}

static const struct geo_ops pg_geo_ops = {
	.close = pg_geo_close,
	.errmsg = pg_geo_errmsg,
	.clear = pg_geo_clear,
	.put_country = pg_geo_put_country,
	.set_country = pg_geo_set_country,
	.put_city = pg_geo_put_city,
	.read_begin = pg_geo_read_begin,
	.read_end = pg_geo_read_end,
	.count = pg_geo_count,
	.countries_in = pg_geo_countries_in,
	.cities_in = pg_geo_cities_in,
};
