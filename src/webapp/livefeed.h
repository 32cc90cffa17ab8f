/* How the webapp hears of fixes that receivers committed, for live maps:
 * on one machine with a SQLite store, the receiver's datagrams
 * (net/live.h); with PostgreSQL, the database's announcements
 * (store_listen), which reach every webapp from every receiver on any
 * host. Best effort either way: the database is the record. */
#ifndef MINTRAC_LIVEFEED_H
#define MINTRAC_LIVEFEED_H
#include <ev.h>
#include <stdint.h>

struct livefeed;

/* fix for each fix heard, then done once for what one wakeup brought. */
typedef void (*livefeed_fix_fn)(void *ctx, int64_t device_id, int64_t time_ms);
typedef void (*livefeed_done_fn)(void *ctx);

/* NULL when neither can be had (logged): the map works, minus live
 * updates. A database unreachable at the start is retried. */
struct livefeed *livefeed_new(struct ev_loop *loop, const char *store, livefeed_fix_fn fix,
                              livefeed_done_fn done, void *ctx);
/* Stops hearing (quiesce); free still needed. NULL-safe. */
void livefeed_stop(struct livefeed *f);
void livefeed_free(struct livefeed *f);          /* NULL-safe */
#endif
