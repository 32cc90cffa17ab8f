/* Work off the event loop. A few threads take jobs from a bounded queue
 * and hand each back to the loop (ev_async) when done: the loop never
 * waits for a slow step (argon2 checks in the webapp, decoding a large
 * body in the receiver), and a flood of such work costs it nothing but
 * queueing, because a job that finds the queue full is refused at once
 * and its caller answers 503.
 *
 * The caller embeds struct work in its own job and recovers it with
 * container_of in run and done. */
#ifndef MINTRAC_WORKPOOL_H
#define MINTRAC_WORKPOOL_H
#include <ev.h>
#include <stddef.h>

struct work {
	struct work *next;                     /* the pool's */
	/* In a pool thread: the work itself. It must touch nothing the loop
	 * uses meanwhile. */
	void (*run)(struct work *w);
	/* Then in the loop's thread, once: ran is 1, or 0 when the job never
	 * ran because the pool is being freed. done may free the job and
	 * submit new ones. */
	void (*done)(struct work *w, int ran);
};

struct workpool;

/* name is for messages. NULL when the threads cannot be started. */
struct workpool *workpool_new(struct ev_loop *loop, const char *name, int threads,
                              size_t queue_max);
/* Stops the threads (jobs under way finish first) and reports every job
 * not yet reported: done(w, 1) for those that ran, done(w, 0) for the
 * rest. NULL-safe. */
void workpool_free(struct workpool *p);
/* Queues w. 0: w->done will be called once; -1: the queue is full or the
 * pool is stopping (w is untouched and done will not be called). */
int workpool_submit(struct workpool *p, struct work *w);
/* Jobs submitted and not yet reported (queued, running or finished). */
size_t workpool_pending(const struct workpool *p);
#endif
