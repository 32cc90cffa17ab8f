/* Bounding password guesses. Each check of a password takes a token from
 * token buckets that refill at a fixed rate; a check that finds a bucket
 * empty is refused (429) without hashing, and a right password gives its
 * tokens back. So a wrong guess costs a token and nothing but time refills
 * it: the guesses an attacker gets per user are bounded by the bucket's
 * rate whatever else happens (other users' sign-ins, other addresses,
 * table pressure). The buckets:
 * - per user, for every address the user never signed in from;
 * - per address (a /64 for IPv6), across all users, against spraying;
 * - per (user, address) that signed in successfully within
 *   THROTTLE_TRUST_FOR: the owner's usual address has a budget of its own,
 *   so guessing from elsewhere does not lock the owner out there.
 * Only users that exist get an entry (the caller passes NULL for a name
 * that is no user), so made-up names cost no memory. A bucket back at
 * full is as good as no entry; the fixed-size tables drop only such
 * entries (and expired trust), never a bucket still owed tokens. When a
 * table is full of those, a new user is refused (fail closed; it would
 * need THROTTLE_MAX_KEYS users under attack at once), a new address is
 * not tracked (its user buckets still apply), and a new trust is not
 * remembered. Times are passed in (seconds, monotonic) so the policy is
 * testable.
 *
 * With several webapp processes on one database (PostgreSQL) each would
 * give an attacker a budget of its own: the shared variant keeps the same
 * buckets as rows of the store (store_bucket_take and friends), taken
 * and given back atomically, so all of them draw on one budget. Its times
 * are the wall clock's (the processes share no monotonic clock): the
 * `now` arguments are not used. A store that fails refuses the check. */
#ifndef MINTRAC_THROTTLE_H
#define MINTRAC_THROTTLE_H
#include <stddef.h>
#include <stdint.h>

#define THROTTLE_USER_BURST   10
#define THROTTLE_USER_PERIOD  600.0     /* seconds per token: 6 guesses/hour */
#define THROTTLE_ADDR_BURST   20
#define THROTTLE_ADDR_PERIOD  60.0
#define THROTTLE_PAIR_BURST   10
#define THROTTLE_PAIR_PERIOD  600.0
#define THROTTLE_TRUST_FOR    (30.0 * 86400)
#define THROTTLE_MAX_KEYS     4096      /* entries per table */

struct throttle;

/* Which buckets a check took a token from; hand it back to
 * throttle_success or throttle_cancel. */
struct throttle_ticket {
	unsigned took;
};

struct store;

struct throttle *throttle_new(void);
/* The shared variant on the store s (a connection of the caller's, used
 * from its thread only); scope names the throttle's rows ("signin"), so
 * two throttles on one store keep apart. */
struct throttle *throttle_new_shared(struct store *s, const char *scope);
void throttle_free(struct throttle *t);          /* NULL-safe */
/* May a password for user (NULL: the name is no user) from addr be checked
 * at now? 0: yes, one token taken from each bucket that applies (*tk says
 * which). Else the seconds until it may; nothing taken. */
double throttle_take(struct throttle *t, const char *addr, const char *user, double now,
                     struct throttle_ticket *tk);
/* The password was right: the tokens go back, and addr is trusted for user. */
void throttle_success(struct throttle *t, const char *addr, const char *user, double now,
                      const struct throttle_ticket *tk);
/* The check was not made (no room to make it): the tokens go back. */
void throttle_cancel(struct throttle *t, const char *addr, const char *user, double now,
                     const struct throttle_ticket *tk);
/* The shared variant's rows of buckets full again and of expired trust
 * are deleted (hourly): how many, or -1. 0 for the in-memory one, which
 * drops its own. */
int64_t throttle_purge(struct throttle *t);
/* The unit an address is counted in (here and for live streams): an
 * IPv6 client usually holds a whole /64, so "2001:db8:1:2::/64" for any
 * address in it; anything else as given. */
void throttle_addr_unit(const char *addr, char *out, size_t len);
#endif
