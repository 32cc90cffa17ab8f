/* For the other PostgreSQL files of store/ only (history_pg.c, geo_pg.c):
 * the connection under a struct store, so a module with tables of its own
 * keeps its SQL in its own file. Nothing outside store/ includes this. */
#ifndef MINTRAC_STORE_PG_H
#define MINTRAC_STORE_PG_H
#include <libpq-fe.h>
#include "store/pg_util.h"
#include "store/store.h"

/* The connection; NULL while it is down (store_pg.c reconnects with
 * back-off at the start of the next transaction or call). */
PGconn *store_pg_conn(struct store *s);
/* Bumped each time the connection is made again: a module whose
 * statements were prepared on an older one prepares them again. */
unsigned store_pg_epoch(struct store *s);
/* The statements of a module (prefix "h", "g": unique per module, sql its
 * table) on this connection: one table per prefix and connection however
 * many objects of the module are open on it (two history objects on one
 * store would otherwise prepare "h0" twice, which fails), forgotten when
 * the connection is made again. NULL when more modules ask than it holds. */
struct pg_stmts *store_pg_stmts(struct store *s, const char *prefix, const char *const *sql,
                                int count);
/* NOTIFYs the fixes with inserted[i] == 1 inside the open transaction
 * (listen_pg.c): 0, or -1 with err. */
int pg_notify_fixes(PGconn *c, const int64_t *device_ids, const struct fix *const *fixes,
                    const int *inserted, size_t n, char *err, size_t errlen);
/* Sets the store's error (store_errmsg) to msg; returns STORE_ERR. */
int store_pg_fail(struct store *s, const char *msg);
/* store_notify_fixes on the store's connection (listen_pg.c). */
int pg_store_notify(struct store *s, const int64_t *device_ids, const struct fix *const *fixes,
                    const int *inserted, size_t n);
/* Whole tables row by row (copy_pg.c; store.h's store_rows...). */
int pg_rows(struct store *s, const char *table, const char *cols,
            int (*cb)(void *ctx, int n, const struct store_val *v), void *ctx);
int pg_put_row(struct store *s, const char *table, const char *cols, int n,
               const struct store_val *v, int *inserted);
int pg_rows_done(struct store *s, const char *table);
/* The history and geodata backends on the same connection. */
struct store_hist *pg_hist_open(struct store *s);
struct store_geo *pg_geo_open(struct store *s);
#endif
