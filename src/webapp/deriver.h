/* The webapp keeps derived history current (history/engine.h) on a thread
 * of its own with its own store connection, so a derivation that reads a
 * year of fixes never stalls a request. It runs when the receiver says
 * fixes were committed (deriver_kick from the live notices) and once a
 * second in any case (notices are best effort, and imports and deletions
 * by the CLI send none): a committed fix is in the history within about a
 * second. One run at a time; a kick during a run asks for another. */
#ifndef MINTRAC_DERIVER_H
#define MINTRAC_DERIVER_H
#include <ev.h>

struct config;
struct deriver;

/* NULL when the store or the thread cannot be had (logged). */
struct deriver *deriver_new(struct ev_loop *loop, const struct config *cfg);
/* Something changed: derive soon. */
void deriver_kick(struct deriver *d);
/* Waits for a run under way to finish. NULL-safe. */
void deriver_free(struct deriver *d);
#endif
