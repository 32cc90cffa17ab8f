/* Fixes deleted on the webapp's loop in batches of FIXDEL_BATCH with a
 * pause between, so the page, the streams and the receiver's commits go
 * on meanwhile: DELETE /api/points and the daily prune (pruner.h) both
 * delete through it. The history follows (the deriver is kicked at the
 * end). */
#ifndef MINTRAC_FIXDEL_H
#define MINTRAC_FIXDEL_H
#include <stddef.h>
#include <stdint.h>

#define FIXDEL_BATCH 5000    /* fixes per transaction: ~25 ms of the loop */

struct webapp;
struct fixdel;

/* One device's fixes with from_ms <= time_ms <= to_ms, and inside box
 * (W, S, E, N) when has_box. */
struct fixdel_range {
	int64_t device_id, from_ms, to_ms;
	double  box[4];
	int     has_box;
};

/* Called once, when every range is done (failed 0) or at the first
 * storage error (failed 1, store_errmsg(app->store) says why); deleted
 * counts the fixes gone either way. The deletion frees itself after. */
typedef void (*fixdel_done_fn)(struct webapp *app, void *ctx, int64_t deleted, int failed);

/* Starts deleting the n ranges (copied) one after another; the first
 * batch runs on the loop's next turn. */
struct fixdel *fixdel_new(struct webapp *app, const struct fixdel_range *r, size_t n,
                          fixdel_done_fn done, void *ctx);
/* Stops a deletion under way, without calling done (shutdown). */
void fixdel_free(struct fixdel *d);
#endif
