/* See pg_util.h. */
#include "store/pg_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_args_init(struct pg_args *a)
{
	a->n = 0;
}

static int next(struct pg_args *a)
{
	/* A statement's parameter count is fixed in the source: more than
	 * PG_ARGS_MAX is a programming error, caught by every test run. */
	if (a->n >= PG_ARGS_MAX)
		abort();
	return a->n++;
}

void pg_arg_i64(struct pg_args *a, int64_t v)
{
	int i = next(a);
	snprintf(a->buf[i], sizeof a->buf[i], "%" PRId64, v);
	a->val[i] = a->buf[i];
	a->len[i] = 0;
	a->fmt[i] = 0;
}

void pg_arg_f64(struct pg_args *a, double v)
{
	int i = next(a);
	snprintf(a->buf[i], sizeof a->buf[i], "%.17g", v);
	a->val[i] = a->buf[i];
	a->len[i] = 0;
	a->fmt[i] = 0;
}

void pg_arg_opt_f64(struct pg_args *a, int has, double v)
{
	if (has)
		pg_arg_f64(a, v);
	else
		pg_arg_text(a, NULL);
}

void pg_arg_text(struct pg_args *a, const char *v)
{
	int i = next(a);
	a->val[i] = v;
	a->len[i] = 0;
	a->fmt[i] = 0;
}

void pg_arg_bytes(struct pg_args *a, const void *v, size_t len)
{
	int i = next(a);
	a->val[i] = v;
	a->len[i] = (int)len;
	a->fmt[i] = 1;
}

static void set_err(char *err, size_t errlen, const char *what, const char *msg)
{
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;     /* libpq's messages end in a newline; ours are one line */
	snprintf(err, errlen, "%s: %.*s", what, (int)n, msg);
}

PGresult *pg_run(PGconn *c, struct pg_stmts *ps, int id, const struct pg_args *a,
                 ExecStatusType ok_status, char *err, size_t errlen, char sqlstate[6])
{
	char name[16];
	if (sqlstate)
		sqlstate[0] = 0;
	snprintf(name, sizeof name, "%s%d", ps->prefix, id);
	if (!ps->prepared[id]) {
		PGresult *p = PQprepare(c, name, ps->sql[id], 0, NULL);
		if (PQresultStatus(p) != PGRES_COMMAND_OK) {
			set_err(err, errlen, "prepare", PQerrorMessage(c));
			if (sqlstate && PQresultErrorField(p, PG_DIAG_SQLSTATE))
				snprintf(sqlstate, 6, "%s", PQresultErrorField(p, PG_DIAG_SQLSTATE));
			PQclear(p);
			return NULL;
		}
		PQclear(p);
		ps->prepared[id] = 1;
	}
	PGresult *r = PQexecPrepared(c, name, a ? a->n : 0, a ? a->val : NULL, a ? a->len : NULL,
	                             a ? a->fmt : NULL, 0);
	if (PQresultStatus(r) == ok_status)
		return r;
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (sqlstate && st)
		snprintf(sqlstate, 6, "%s", st);
	const char *msg = PQresultErrorMessage(r);
	set_err(err, errlen, "postgresql", *msg ? msg : PQerrorMessage(c));
	PQclear(r);
	return NULL;
}

int pg_command(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		const char *msg = PQresultErrorMessage(r);
		set_err(err, errlen, "postgresql", *msg ? msg : PQerrorMessage(c));
	}
	PQclear(r);
	return ok ? 0 : -1;
}

void pg_stmts_forget(struct pg_stmts *ps)
{
	memset(ps->prepared, 0, sizeof ps->prepared);
}

int64_t pg_changes(PGresult *r)
{
	return strtoll(PQcmdTuples(r), NULL, 10);
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pg_f64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

int pg_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col);
}

void pg_text(const PGresult *r, int row, int col, char *out, size_t n)
{
	snprintf(out, n, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

unsigned char *pg_bytes(const PGresult *r, int row, int col, size_t *len)
{
	*len = 0;
	if (PQgetisnull(r, row, col))
		return NULL;
	return PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), len);
}

int pg_is_unique(const char *sqlstate)
{
	return !strcmp(sqlstate, "23505");
}

int pg_is_foreign_key(const char *sqlstate)
{
	return !strcmp(sqlstate, "23503");
}
