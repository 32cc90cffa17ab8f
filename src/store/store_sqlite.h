/* For the other SQLite files of store/ only (geo_sqlite.c): the
 * connection under a struct store, so a module with tables of its own
 * keeps its SQL in its own file. Nothing outside store/ includes this. */
#ifndef MINTRAC_STORE_SQLITE_H
#define MINTRAC_STORE_SQLITE_H
#include <sqlite3.h>
#include "store/store.h"

sqlite3 *store_sqlite_db(struct store *s);
/* Records SQLite's last message with what was being done in the store's
 * error (store_errmsg); returns STORE_ERR. */
int store_sqlite_fail(struct store *s, const char *what);
/* The history and geodata tables' backends on the same connection. */
struct store_hist *sq_hist_open(struct store *s);
struct store_geo *sq_geo_open(struct store *s);
/* Whole tables row by row (copy_sqlite.c; store.h's store_rows...). */
int sq_rows(struct store *s, const char *table, const char *cols,
            int (*cb)(void *ctx, int n, const struct store_val *v), void *ctx);
int sq_put_row(struct store *s, const char *table, const char *cols, int n,
               const struct store_val *v, int *inserted);
int sq_rows_done(struct store *s, const char *table);
#endif
