/* Password checks off the event loop. argon2id takes tens of milliseconds
 * and 19 MiB per check; run in the loop, a flood of wrong passwords would
 * stall every other request. A few threads verify, fed by a bounded queue:
 * a check that finds the queue full is refused at once (the caller answers
 * 503), so a flood costs the loop nothing but queueing. Only the verify
 * runs in a thread: the caller reads the stored hash in the loop and gets
 * the verdict back in the loop (ev_async). */
#ifndef MINTRAC_PWCHECK_H
#define MINTRAC_PWCHECK_H
#include <ev.h>
#include <stddef.h>

#define PWCHECK_THREADS 2
#define PWCHECK_QUEUE   16     /* checks waiting for a thread */
#define PWCHECK_PASS_MAX 1024  /* longer passwords are refused by the caller */

struct pwcheck;

/* verdict: 1 the password matches, 0 it does not, -1 never checked (the
 * pool is being freed). Called in the loop's thread. */
typedef void (*pwcheck_done_fn)(void *ctx, int verdict);

struct pwcheck *pwcheck_new(struct ev_loop *loop, int threads, size_t queue_max);
/* Stops the threads (a check under way is finished first); every check
 * not yet reported is reported now, with -1 if it never ran. NULL-safe. */
void pwcheck_free(struct pwcheck *p);
/* Queues a check of pass against the encoded hash (both copied; the copy
 * of pass is wiped). 0: done will be called once; -1: the queue is full,
 * or pass is too long (done will not be called). */
int pwcheck_submit(struct pwcheck *p, const char *pass, const char *hash,
                   pwcheck_done_fn done, void *ctx);
#endif
