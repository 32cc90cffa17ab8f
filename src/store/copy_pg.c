/* store.h's whole-table copy on PostgreSQL (mintrac migrate). The SQL is
 * built from the caller's constant table and column names. Rows are read
 * in chunks through a cursor, so a table never sits whole in memory. */
#include "store/store_pg.h"
#include "store/pg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#define COLS_MAX 32
#define CHUNK 1000

/* The type oids of pg_type (fixed in PostgreSQL's catalog). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

static int fail(struct store *s, PGconn *c, const char *what, const PGresult *r)
{
	char msg[512];
	const char *m = r ? PQresultErrorMessage(r) : "";
	snprintf(msg, sizeof msg, "%s: %s", what, *m ? m : (c ? PQerrorMessage(c) : "no connection"));
	return store_pg_fail(s, msg);
}

static int command(struct store *s, PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	int rc = ok ? STORE_OK : fail(s, c, what, r);
	PQclear(r);
	return rc;
}

static void read_val(const PGresult *r, int row, int col, struct store_val *v,
                     unsigned char **blob)
{
	memset(v, 0, sizeof *v);
	if (PQgetisnull(r, row, col)) {
		v->type = SV_NULL;
		return;
	}
	const char *t = PQgetvalue(r, row, col);
	switch (PQftype(r, col)) {
	case OID_BOOL:
		v->type = SV_INT;
		v->i = t[0] == 't';
		break;
	case OID_INT2: case OID_INT4: case OID_INT8:
		v->type = SV_INT;
		v->i = strtoll(t, NULL, 10);
		break;
	case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
		v->type = SV_REAL;
		v->f = strtod(t, NULL);
		break;
	case OID_BYTEA:
		v->type = SV_BLOB;
		*blob = PQunescapeBytea((const unsigned char *)t, &v->len);
		v->p = *blob;
		break;
	default:
		v->type = SV_TEXT;
		v->p = t;
		v->len = (size_t)PQgetlength(r, row, col);
	}
}

/* Runs in a transaction of its own unless the caller has one open. */
int pg_rows(struct store *s, const char *table, const char *cols,
            int (*cb)(void *ctx, int n, const struct store_val *v), void *ctx)
{
	PGconn *c = store_pg_conn(s);
	if (!c)
		return fail(s, c, table, NULL);
	int own = PQtransactionStatus(c) == PQTRANS_IDLE;
	char sql[600];
	if (own && command(s, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", table) != STORE_OK)
		return STORE_ERR;
	snprintf(sql, sizeof sql, "DECLARE mintrac_rows NO SCROLL CURSOR FOR SELECT %s FROM %s "
	         "ORDER BY 1", cols, table);
	int rc = command(s, c, sql, table);
	char fetch[64];
	snprintf(fetch, sizeof fetch, "FETCH %d FROM mintrac_rows", CHUNK);
	while (rc == STORE_OK) {
		PGresult *r = PQexec(c, fetch);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			rc = fail(s, c, table, r);
			PQclear(r);
			break;
		}
		int rows = PQntuples(r), n = PQnfields(r);
		if (n > COLS_MAX)
			abort();   /* the callers' column lists are constants */
		for (int row = 0; row < rows && rc == STORE_OK; row++) {
			struct store_val v[COLS_MAX];
			unsigned char *blobs[COLS_MAX] = { 0 };
			for (int i = 0; i < n; i++)
				read_val(r, row, i, &v[i], &blobs[i]);
			rc = cb(ctx, n, v);
			for (int i = 0; i < n; i++)
				PQfreemem(blobs[i]);
		}
		PQclear(r);
		if (rows < CHUNK)
			break;
	}
	if (rc == STORE_ERR || !own)
		(void)command(s, c, "CLOSE mintrac_rows", table);
	if (own)
		(void)command(s, c, rc == STORE_ERR ? "ROLLBACK" : "COMMIT", table);
	return rc;
}

int pg_put_row(struct store *s, const char *table, const char *cols, int n,
               const struct store_val *v, int *inserted)
{
	PGconn *c = store_pg_conn(s);
	if (!c)
		return fail(s, c, table, NULL);
	if (n > PG_ARGS_MAX)
		abort();
	struct buf sql;
	struct pg_args a;
	buf_init(&sql);
	pg_args_init(&a);
	buf_printf(&sql, "INSERT INTO %s(%s) OVERRIDING SYSTEM VALUE VALUES(", table, cols);
	for (int i = 0; i < n; i++) {
		buf_printf(&sql, i ? ", $%d" : "$%d", i + 1);
		switch (v[i].type) {
		case SV_INT:  pg_arg_i64(&a, v[i].i); break;
		case SV_REAL: pg_arg_f64(&a, v[i].f); break;
		case SV_TEXT: pg_arg_text(&a, v[i].p); break;
		case SV_BLOB: pg_arg_bytes(&a, v[i].p, v[i].len); break;
		case SV_NULL: pg_arg_text(&a, NULL); break;
		}
	}
	buf_add(&sql, ") ON CONFLICT DO NOTHING", 24);
	buf_addc(&sql, 0);
	PGresult *r = PQexecParams(c, sql.data, a.n, NULL, a.val, a.len, a.fmt, 0);
	buf_free(&sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		int rc = fail(s, c, table, r);
		PQclear(r);
		return rc;
	}
	*inserted = !strcmp(PQcmdTuples(r), "1");
	PQclear(r);
	return STORE_OK;
}

/* Rows copied with their ids leave the identity's sequence behind them. */
int pg_rows_done(struct store *s, const char *table)
{
	PGconn *c = store_pg_conn(s);
	if (!c)
		return fail(s, c, table, NULL);
	char sql[300];
	snprintf(sql, sizeof sql, "SELECT setval(pg_get_serial_sequence('%s', 'id'), "
	         "coalesce(max(id), 0) + 1, false) FROM %s", table, table);
	PGresult *r = PQexec(c, sql);
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? STORE_OK : fail(s, c, table, r);
	PQclear(r);
	return rc;
}
