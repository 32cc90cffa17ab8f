/* One PostgreSQL store connection (store_pg.c) as its modules see it:
 * pg_fixes.c runs its statements through pg_store_run, which makes the
 * connection again when it broke and sends a transaction's BEGIN when its
 * first statement runs. For store_pg.c and pg_fixes.c only. */
#ifndef MINTRAC_PG_CONN_H
#define MINTRAC_PG_CONN_H
#include <libpq-fe.h>
#include <stdint.h>
#include "base/buf.h"
#include "store/pg_months.h"
#include "store/pg_util.h"
#include "store/store_backend.h"

#define PG_FIX_ARRAYS 10   /* one array parameter per column of fixes */
#define PG_MODS        4   /* modules with statements of their own: history, geodata */

struct pg_store {
	struct store     base;            /* first: store_backend.h */
	PGconn          *c;
	int              flags;           /* STORE_* it was opened with */
	unsigned         epoch;           /* connections made so far */
	struct pg_stmts  st;              /* store_pg.c's statements */
	struct pg_stmts  fst;             /* pg_fixes.c's */
	struct pg_stmts  mods[PG_MODS];   /* the other modules' (store_pg_stmts) */
	int              nmods;
	struct pg_stmts  xst;             /* pg_shared.c's */
	int              in_tx;           /* between store_begin and commit/rollback */
	int              begun;           /* its BEGIN was sent (with its first statement) */
	int              cursors;         /* store_fixes walks open (nested in callbacks) */
	int64_t          retry_at;        /* mono ms: no reconnect before */
	int64_t          backoff;         /* ms until the next attempt after a failed one */
	struct pg_months months;          /* fixes' month tables known to exist */
	struct buf       arr[PG_FIX_ARRAYS];   /* pg_fixes.c: a batch's columns */
	struct buf       text;            /* pg_fixes.c: attrs made valid UTF-8 */
	int64_t         *devs;            /* pg_fixes.c: a batch's existing devices */
	size_t           devs_cap;
	char             lost[256];       /* why the connection is down */
	char             err[512];
};

static inline struct pg_store *pg_store_of(struct store *s)
{
	return (struct pg_store *)s;
}

/* The connection ready for a statement: made again if it broke (outside
 * a transaction, with back-off), and inside a transaction its BEGIN sent.
 * NULL with err set when it is down. */
PGconn *pg_store_conn(struct pg_store *s);
/* The connection if it is up, without sending anything (months tables are
 * made before a transaction's BEGIN). */
PGconn *pg_store_conn_idle(struct pg_store *s);
/* Runs statement id of ps: STORE_OK with *out (PQclear it), or the
 * failure as store.h says it (a unique key: STORE_EXISTS, a missing row a
 * foreign key needs: STORE_NOTFOUND, else STORE_ERR) with err saying
 * "what: why". Outside a transaction a statement that found the
 * connection broken runs once more on a new one. */
int pg_store_run(struct pg_store *s, struct pg_stmts *ps, int id, const struct pg_args *a,
                 ExecStatusType ok, const char *what, PGresult **out);
/* Records a failure of what (err holds libpq's words); returns STORE_ERR. */
int pg_store_fail(struct pg_store *s, const char *what);
#endif
