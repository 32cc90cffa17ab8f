/* See pg_util.h. */
#include "store/pg_util.h"
#include "base/buf.h"

#include <inttypes.h>
#include <math.h>
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

/* One line: libpq's messages end in a newline, and the server's full
 * text adds lines of context (LINE 1: ... ^) that the primary message
 * does without. */
static void set_err(char *err, size_t errlen, const char *what, const char *msg)
{
	snprintf(err, errlen, "%s: %s", what, msg);
	for (char *p = err; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t n = strlen(err);
	while (n > 0 && err[n - 1] == ' ')
		err[--n] = 0;
}

static PGresult *checked(PGconn *c, PGresult *r, ExecStatusType ok_status, char *err,
                         size_t errlen, char sqlstate[6]);

PGresult *pg_run(PGconn *c, struct pg_stmts *ps, int id, const struct pg_args *a,
                 ExecStatusType ok_status, char *err, size_t errlen, char sqlstate[6])
{
	char name[16];
	snprintf(name, sizeof name, "%s%d", ps->prefix, id);
	if (!ps->prepared[id]) {
		PGresult *p = checked(c, PQprepare(c, name, ps->sql[id], 0, NULL), PGRES_COMMAND_OK,
		                      err, errlen, sqlstate);
		if (!p)
			return NULL;
		PQclear(p);
		ps->prepared[id] = 1;
	}
	PGresult *r = PQexecPrepared(c, name, a ? a->n : 0, a ? a->val : NULL, a ? a->len : NULL,
	                             a ? a->fmt : NULL, 0);
	return checked(c, r, ok_status, err, errlen, sqlstate);
}

/* Keeps r when it has the status wanted; otherwise records why and frees it. */
static PGresult *checked(PGconn *c, PGresult *r, ExecStatusType ok_status, char *err,
                         size_t errlen, char sqlstate[6])
{
	if (sqlstate)
		sqlstate[0] = 0;
	if (PQresultStatus(r) == ok_status)
		return r;
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (sqlstate && st)
		snprintf(sqlstate, 6, "%s", st);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	if (!msg || !*msg)
		msg = PQresultErrorMessage(r);
	set_err(err, errlen, "postgresql", *msg ? msg : PQerrorMessage(c));
	PQclear(r);
	return NULL;
}

PGresult *pg_run_once(PGconn *c, const char *sql, const struct pg_args *a,
                      ExecStatusType ok_status, char *err, size_t errlen, char sqlstate[6])
{
	PGresult *r = PQexecParams(c, sql, a ? a->n : 0, NULL, a ? a->val : NULL,
	                           a ? a->len : NULL, a ? a->fmt : NULL, 0);
	return checked(c, r, ok_status, err, errlen, sqlstate);
}

PGresult *pg_run_binary(PGconn *c, const char *sql, ExecStatusType ok_status, char *err,
                        size_t errlen)
{
	PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);
	return checked(c, r, ok_status, err, errlen, NULL);
}

/* Network byte order, as the binary format sends every number. */
static uint64_t be64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
		return 0;
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int64_t pg_bin_i64(const PGresult *r, int row, int col)
{
	uint64_t u = be64(r, row, col);
	int64_t v;
	memcpy(&v, &u, sizeof v);
	return v;
}

double pg_bin_f64(const PGresult *r, int row, int col)
{
	uint64_t u = be64(r, row, col);
	double v;
	memcpy(&v, &u, sizeof v);
	return v;
}

int pg_command_state(PGconn *c, const char *sql, char *err, size_t errlen, char sqlstate[6])
{
	PGresult *r = checked(c, PQexec(c, sql), PGRES_COMMAND_OK, err, errlen, sqlstate);
	PQclear(r);
	return r ? 0 : -1;
}

int pg_command(PGconn *c, const char *sql, char *err, size_t errlen)
{
	return pg_command_state(c, sql, err, errlen, NULL);
}

static void array_next(struct buf *b)
{
	buf_addc(b, b->len ? ',' : '{');
}

void pg_array_i64(struct buf *b, int64_t v)
{
	array_next(b);
	buf_add_int(b, v);
}

/* buf_add_double's digits read back to the same double (PostgreSQL's
 * float8 input is strtod's). */
void pg_array_f64(struct buf *b, int has, double v)
{
	array_next(b);
	if (has && isfinite(v))
		buf_add_double(b, v);
	else
		buf_adds(b, "NULL");
}

/* Quoted, so a text "NULL" stays text; inside quotes only " and \ are
 * special. */
void pg_array_text(struct buf *b, const char *v)
{
	array_next(b);
	if (!v) {
		buf_adds(b, "NULL");
		return;
	}
	buf_addc(b, '"');
	for (const char *p = v; *p; ) {
		size_t run = strcspn(p, "\"\\");
		buf_add(b, p, run);
		p += run;
		if (*p) {
			buf_addc(b, '\\');
			buf_addc(b, *p++);
		}
	}
	buf_addc(b, '"');
}

void pg_array_end(struct buf *b)
{
	if (!b->len)
		buf_addc(b, '{');
	buf_addc(b, '}');
}

int64_t pg_changes(const PGresult *r)
{
	const char *n = PQcmdTuples((PGresult *)(uintptr_t)r);
	return *n ? strtoll(n, NULL, 10) : 0;
}

void pg_stmts_forget(struct pg_stmts *ps)
{
	memset(ps->prepared, 0, sizeof ps->prepared);
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

int pg_is_check(const char *sqlstate)
{
	return !strcmp(sqlstate, "23514");
}

int pg_is_lock_timeout(const char *sqlstate)
{
	return !strcmp(sqlstate, "55P03");
}

int pg_is_duplicate_table(const char *sqlstate)
{
	return !strcmp(sqlstate, "42P07");
}
