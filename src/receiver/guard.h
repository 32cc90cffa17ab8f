/* Slowing down credential guessing on the receiver. Idents are short
 * (Traccar Client's default is six digits) and select a device alone, so
 * without a limit one address could try tens of thousands a second.
 * Each source address (an IPv6 /64 counts as one) has a bucket of
 * GUARD_BURST unknown idents that refills one every GUARD_REFILL seconds;
 * once it is empty, idents from that address are not looked up (429 with
 * Retry-After) until it refills. Tokens are neither counted nor held
 * back: at 22+ characters of 64 they cannot be guessed, and a phone with
 * a valid token behind the same NAT as a misconfigured one keeps
 * delivering. A phone
 * retrying with a wrong ident at its own pace (Traccar Client: every
 * 30 s, or backing off from 5 s) never empties its bucket, so it delivers
 * as soon as the right ident is set.
 *
 * The table is fixed (GUARD_SLOTS, set-associative under a keyed hash so
 * no one can aim at one set); a new address never evicts one whose bucket
 * is not full again, so a flood of fresh addresses cannot wash a
 * throttled one out: when its set holds only such entries, the newcomer
 * shares one overflow bucket with every other such newcomer. */
#ifndef MINTRAC_GUARD_H
#define MINTRAC_GUARD_H
#include "net/http.h"

#define GUARD_BURST   20
#define GUARD_REFILL  3.0
#define GUARD_SLOTS   4096
#define GUARD_WAYS    8

struct guard;
struct trust;

/* t (not owned) says whose X-Forwarded-For names the client. NULL when out
 * of memory. */
struct guard *guard_new(const struct trust *t);
void guard_free(struct guard *g);   /* NULL-safe */

/* Only ident lookups are guarded: they happen on `/` alone, and only for a
 * secret that is not token-shaped (a token-shaped one, 22+ characters of
 * 64, is no guess). ident: the request's secret when the endpoint looks
 * idents up, else NULL (then both calls do nothing). now: monotonic s. */
/* Seconds before the ident may be looked up (0: now). */
double guard_wait(struct guard *g, const struct http_request *req, const char *ident,
                  double now);
/* The ident named no device. */
void guard_fail(struct guard *g, const struct http_request *req, const char *ident,
                double now);

/* 429 with Retry-After (whole seconds, at least 1) and a one-line reason;
 * logged as a rejection. */
struct conn;
void guard_reply(const struct guard *g, struct conn *c, const struct http_request *req,
                 double wait);

/* The same by address text, for the unit tests. */
double guard_wait_addr(struct guard *g, const char *addr, double now);
void guard_fail_addr(struct guard *g, const char *addr, double now);
#endif
