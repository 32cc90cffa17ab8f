/* Slowing down password guessing: failed sign-ins are counted per client
 * address and per user name. The first THROTTLE_FREE failures cost
 * nothing; each further one doubles the wait before the next attempt is
 * even checked (1 s, 2 s, 4 s ... capped at THROTTLE_MAX_WAIT), so a
 * guesser gets a few dozen tries an hour while a user who mistyped twice
 * notices nothing. A success clears that address and user. Entries forget
 * after an hour without failures; the table is bounded (oldest evicted).
 * Times are passed in (seconds, monotonic) so the policy is testable. */
#ifndef MINTRAC_THROTTLE_H
#define MINTRAC_THROTTLE_H
#include "net/http.h"

#define THROTTLE_FREE      5
#define THROTTLE_MAX_WAIT  900.0
#define THROTTLE_FORGET    3600.0
#define THROTTLE_MAX_KEYS  4096

struct throttle;

struct throttle *throttle_new(void);
void throttle_free(struct throttle *t);          /* NULL-safe */
/* Seconds before an attempt from addr for user may be checked (0: now).
 * user may be NULL (HTTP Basic without a name). */
double throttle_wait(struct throttle *t, const char *addr, const char *user, double now);
void throttle_fail(struct throttle *t, const char *addr, const char *user, double now);
void throttle_success(struct throttle *t, const char *addr, const char *user);
#endif
