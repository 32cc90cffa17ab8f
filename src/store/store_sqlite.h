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
/* What the webapp processes share (shared_sqlite.c; store.h). */
int sq_bucket_lock(struct store *s, const struct store_bucket *b, int64_t now_ms,
                   double *tokens, int64_t *at_ms);
int sq_bucket_set(struct store *s, const struct store_bucket *b, double tokens, int64_t at_ms);
int sq_trust_set(struct store *s, const char *key, int64_t until_ms);
int sq_trust_get(struct store *s, const char *key, int64_t now_ms);
int64_t sq_bucket_purge(struct store *s, int64_t now_ms);
int sq_import_add(struct store *s, int64_t user_id, int64_t now_ms, int64_t live_ms,
                  int64_t *id_out);
int sq_import_put(struct store *s, int64_t id, int running, int64_t now_ms, const char *json);
int sq_import_list(struct store *s, int64_t user_id, int64_t id,
                   int (*cb)(void *ctx, const struct store_import_rec *r), void *ctx);
int64_t sq_import_trim(struct store *s, int64_t user_id, int keep, int64_t live_ms);
#endif
