/* Live subscribers of the webapp: SSE streams (/api/stream) and WebSocket
 * connections (/ws/last), each for one user. When the receiver commits
 * fixes, webapp.c reads them back and publishes each to the subscribers of
 * the device's owner. A subscriber is a callback; the hub knows nothing of
 * HTTP. */
#ifndef MINTRAC_HUB_H
#define MINTRAC_HUB_H
#include <stddef.h>
#include <stdint.h>
#include "base/point.h"
#include "store/store.h"

struct hub;
struct hub_sub;

/* Called for each new fix of a device of the subscriber's user. It may
 * unsubscribe itself (or others) from inside the call. */
typedef void (*hub_deliver_fn)(void *ctx, const struct device_rec *d, const struct fix *f);

struct hub *hub_new(void);
void hub_free(struct hub *h);            /* NULL-safe; subscribers must be gone */
/* NULL when out of memory. */
struct hub_sub *hub_subscribe(struct hub *h, int64_t user_id, hub_deliver_fn fn, void *ctx);
void hub_unsubscribe(struct hub *h, struct hub_sub *s);   /* NULL-safe */
/* Whether anyone listens for user_id (0: for anyone), so that nobody pays
 * for reading fixes back when no page is open. */
int hub_wants(const struct hub *h, int64_t user_id);
void hub_publish(struct hub *h, const struct device_rec *d, const struct fix *f);
size_t hub_count(const struct hub *h);
#endif
