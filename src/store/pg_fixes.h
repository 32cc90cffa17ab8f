/* Fixes in PostgreSQL: store_ops members for store_pg.c's table. Each
 * statement that inserts or deletes fixes updates device_stats and
 * history_dirty itself, so the counts go or stay with the fixes. */
#ifndef MINTRAC_PG_FIXES_H
#define MINTRAC_PG_FIXES_H
#include "store/pg_util.h"
#include "store/store.h"

void pg_fixes_stmts(struct pg_stmts *ps);
int pg_put_fix(struct store *s, int64_t device_id, const struct fix *f, int *inserted);
int pg_put_fixes(struct store *s, const int64_t *device_ids, const struct fix *const *fixes,
                 size_t n, int *inserted);
int pg_fixes(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
             int (*cb)(void *ctx, const struct fix *f), void *ctx);
int pg_last_fix(struct store *s, int64_t device_id, struct fix *out);
int64_t pg_count(struct store *s, int64_t device_id);
int pg_fix_nth_last(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                    int64_t n, int64_t *time_ms);
int pg_fix_first_in(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                    struct fix *out);
int pg_fix_last_in(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                   struct fix *out);
int pg_fix_first_many(struct store *s, int64_t device_id, struct fix_seek *v, size_t n);
int pg_fix_positions(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                     size_t max, struct fix_pos *out, size_t *n);
int64_t pg_demo_delete(struct store *s, int64_t device_id);
int64_t pg_fix_count_range(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                           const double *box);
int64_t pg_fix_delete_batch(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                            const double *box, int64_t max);
int pg_fix_delete_at(struct store *s, int64_t device_id, int64_t time_ms, int *deleted);
int pg_fix_delete_many(struct store *s, const int64_t *device_ids, const int64_t *times_ms,
                       size_t n, int64_t *deleted);
#endif
