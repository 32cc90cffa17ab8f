/* For the PostgreSQL files of store/ only: statements prepared once per
 * connection, parameters as text, results read as text, and libpq's
 * errors turned into store.h's codes. One struct pg_stmts per object
 * (store, history, geodata) on the same PGconn, each with its own table
 * of SQL, so every module keeps its SQL in its own file. */
#ifndef MINTRAC_PG_UTIL_H
#define MINTRAC_PG_UTIL_H
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define PG_ARGS_MAX 24
#define PG_STMTS_MAX 64

/* Parameters of one statement: text, NULL, or binary (bytea). Numbers
 * are printed into buf exactly (%lld, %.17g), so nothing is rounded. */
struct pg_args {
	int         n;
	const char *val[PG_ARGS_MAX];
	int         len[PG_ARGS_MAX];
	int         fmt[PG_ARGS_MAX];       /* 0 text, 1 binary */
	char        buf[PG_ARGS_MAX][32];
};

void pg_args_init(struct pg_args *a);
void pg_arg_i64(struct pg_args *a, int64_t v);
void pg_arg_f64(struct pg_args *a, double v);
/* has == 0: NULL (an optional value that is unknown). */
void pg_arg_opt_f64(struct pg_args *a, int has, double v);
void pg_arg_text(struct pg_args *a, const char *v);          /* NULL: SQL NULL */
void pg_arg_bytes(struct pg_args *a, const void *v, size_t len);

/* The statements of one module on a connection: sql[id] is prepared
 * under the name "<prefix><id>" the first time it runs. */
struct pg_stmts {
	const char        *prefix;        /* unique per module: "s", "h", "g" */
	const char *const *sql;
	int                count;
	unsigned char      prepared[PG_STMTS_MAX];
};

/* Runs statement id with a's parameters (a may be NULL): the result, or
 * NULL with err set when it could not be sent or failed. ok_status says
 * what success is (PGRES_COMMAND_OK or PGRES_TUPLES_OK); a failing
 * statement's SQLSTATE is in *sqlstate (may be NULL; "" when none). The
 * caller PQclear()s the result. */
PGresult *pg_run(PGconn *c, struct pg_stmts *ps, int id, const struct pg_args *a,
                 ExecStatusType ok_status, char *err, size_t errlen, char sqlstate[6]);
/* As pg_run for a statement run once, not prepared (a cursor's DECLARE,
 * whose name varies). */
PGresult *pg_run_once(PGconn *c, const char *sql, const struct pg_args *a,
                      ExecStatusType ok_status, char *err, size_t errlen, char sqlstate[6]);
/* As pg_run_once with no parameters, the result in binary format (a
 * cursor's FETCH of many numbers: no text to print and parse again). */
PGresult *pg_run_binary(PGconn *c, const char *sql, ExecStatusType ok_status, char *err,
                        size_t errlen);
/* Reading a binary-format result's bigint and double precision columns
 * (0 when NULL). */
int64_t pg_bin_i64(const PGresult *r, int row, int col);
double pg_bin_f64(const PGresult *r, int row, int col);
/* A plain command with no parameters and no result (BEGIN, COMMIT, DDL):
 * 0, or -1 with err set. */
int pg_command(PGconn *c, const char *sql, char *err, size_t errlen);
/* As pg_command, also giving the failure's SQLSTATE ("" when none). */
int pg_command_state(PGconn *c, const char *sql, char *err, size_t errlen, char sqlstate[6]);
/* After the connection was reset every statement must be prepared again. */
void pg_stmts_forget(struct pg_stmts *ps);

/* Array parameters in text form ("{1,2,NULL}"), built element by
 * element into a buf (base/buf.h), so a whole batch of values is one
 * parameter: pg_array_end closes it (an empty array too). */
struct buf;
void pg_array_i64(struct buf *b, int64_t v);
void pg_array_f64(struct buf *b, int has, double v);      /* has == 0: NULL */
void pg_array_text(struct buf *b, const char *v);         /* NULL: NULL */
void pg_array_end(struct buf *b);

/* Rows an INSERT/UPDATE/DELETE changed. */
int64_t pg_changes(const PGresult *r);

/* Reading a text-format result. */
int64_t pg_i64(const PGresult *r, int row, int col);       /* 0 when NULL */
double pg_f64(const PGresult *r, int row, int col);        /* 0 when NULL */
int pg_null(const PGresult *r, int row, int col);
/* Copies a text value (truncated to n - 1 bytes; "" when NULL). */
void pg_text(const PGresult *r, int row, int col, char *out, size_t n);
/* A bytea column: bytes to PQfreemem(), *len set; NULL when NULL. */
unsigned char *pg_bytes(const PGresult *r, int row, int col, size_t *len);

/* SQLSTATE classes the store maps to its codes. */
int pg_is_unique(const char *sqlstate);        /* 23505 */
int pg_is_foreign_key(const char *sqlstate);   /* 23503 */
int pg_is_check(const char *sqlstate);         /* 23514 */
int pg_is_lock_timeout(const char *sqlstate);  /* 55P03 */
int pg_is_duplicate_table(const char *sqlstate);   /* 42P07 */
#endif
