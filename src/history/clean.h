/* Cleaning (design.md "History"): which fixes derivation reads. Nothing
 * is deleted; a caller streams a device's fixes through a struct clean
 * and uses only the fixes it releases. Two rules:
 *   - accuracy: a fix with acc > max_accuracy is left out (no accuracy:
 *     kept);
 *   - spike: fix B between its neighbours A (the last released fix) and C
 *     (the next fix) is left out when it lies at least spike_min from both,
 *     A and C lie closer to each other than half of that, and going
 *     A → B → C in C.t - A.t would need more than jump_speed.
 * Also left out: a fix whose time is not after the previous fix's (the
 * input must be in time order; a repeated time is a duplicate).
 *
 * Streaming: the state is three fixes, so a cursor over millions of rows
 * needs no buffer. A fix is released one fix late (when its successor
 * arrives, which decides whether it was a spike); clean_flush releases the
 * last one unjudged.
 *
 * Resuming: the first fix fed to a fresh struct clean is always released,
 * and every later decision depends only on the last released fix, the
 * pending one and the new one. So a run started at a fix that an earlier
 * run released releases, from there on, exactly what the earlier run did. */
#ifndef MINTRAC_CLEAN_H
#define MINTRAC_CLEAN_H
#include <stdint.h>
#include "history/hist.h"

struct clean {
	double max_accuracy, jump_speed, spike_min;
	struct hist_cos cos;
	struct hist_fix prev, pend;   /* last released; waiting for its successor */
	int has_prev, has_pend, has_last;
	int64_t last_t;               /* time of the last fix that passed accuracy */
	uint64_t dropped_accuracy, dropped_spike, dropped_order;
};

void clean_init(struct clean *c, const struct hist_config *cfg);
/* Feeds raw fix f. Returns 1 and sets *out when a fix is released, else 0. */
int clean_push(struct clean *c, const struct hist_fix *f, struct hist_fix *out);
/* Releases the pending fix, if any (end of input): 1 and *out, else 0. */
int clean_flush(struct clean *c, struct hist_fix *out);
/* The pending fix without releasing it: 1 and *out, else 0. */
int clean_peek(const struct clean *c, struct hist_fix *out);
#endif
