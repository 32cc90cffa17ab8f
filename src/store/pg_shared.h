/* What the webapp processes share, in PostgreSQL (store.h): store_ops
 * members for store_pg.c's table. */
#ifndef MINTRAC_PG_SHARED_H
#define MINTRAC_PG_SHARED_H
#include "store/pg_util.h"
#include "store/store.h"

void pg_shared_stmts(struct pg_stmts *ps);
int pg_bucket_lock(struct store *s, const struct store_bucket *b, int64_t now_ms,
                   double *tokens, int64_t *at_ms);
int pg_bucket_set(struct store *s, const struct store_bucket *b, double tokens, int64_t at_ms);
int pg_trust_set(struct store *s, const char *key, int64_t until_ms);
int pg_trust_get(struct store *s, const char *key, int64_t now_ms);
int64_t pg_bucket_purge(struct store *s, int64_t now_ms);
int pg_import_add(struct store *s, int64_t user_id, int64_t now_ms, int64_t live_ms,
                  int64_t *id_out);
int pg_import_put(struct store *s, int64_t id, int running, int64_t now_ms, const char *json);
int pg_import_list(struct store *s, int64_t user_id, int64_t id,
                   int (*cb)(void *ctx, const struct store_import_rec *r), void *ctx);
int64_t pg_import_trim(struct store *s, int64_t user_id, int keep, int64_t live_ms);
#endif
