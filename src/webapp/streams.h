/* The open live streams of the webapp (/api/stream, /ws/last): how many
 * one user and one client address may hold, and the credential each was
 * opened with, so that a stream ends when its credential does.
 *
 * A stream is a long-lived request: its credential was checked once, at
 * the start. Sessions end by logout, expiry, their absolute lifetime, a
 * new password (a trigger deletes them) or the user's deletion, and the
 * last three may happen in another process (`mintrac user passwd` writes
 * the database), so the registry re-checks on a timer: every
 * STREAMS_CHECK_SECONDS, one query per user that holds streams (not per
 * stream), and ends each stream whose session is gone or past its
 * lifetime, or, for HTTP Basic, whose user's password hash is no longer
 * the one it signed in with. A stream therefore outlives its credential
 * by at most STREAMS_CHECK_SECONDS (plus the query). A storage error
 * ends nothing (it is logged; the next round checks again). The timer
 * runs only while streams are open. */
#ifndef MINTRAC_STREAMS_H
#define MINTRAC_STREAMS_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

#define STREAMS_CHECK_SECONDS 2.0

struct streams;
struct stream_slot;
struct caller;

/* The stream's credential is gone: end the stream (why: a short reason,
 * "signed out", for the log or a close frame). Called at most once per
 * slot; it may call streams_close on the slot from inside. */
typedef void (*stream_end_fn)(void *ctx, const char *why);

/* lifetime_ms: the sessions' absolute lifetime (session.h); max_*: the
 * caps (config: max_streams_per_user, max_streams_per_address). NULL
 * when out of memory. */
struct streams *streams_new(struct ev_loop *loop, struct store *st, int64_t lifetime_ms,
                            int max_per_user, int max_per_addr);
void streams_free(struct streams *ss);   /* NULL-safe; slots must be closed */

/* Admits one stream of who from client address addr (an IPv6 /64 counts
 * as one address): its slot, or NULL with *why a one-line reason for a
 * 429 when the user or the address holds its cap already, or for a 503
 * when out of memory (*status says which). */
struct stream_slot *streams_open(struct streams *ss, const struct caller *who, const char *addr,
                                 stream_end_fn end, void *ctx, int *status, const char **why);
/* The stream is over (any reason); NULL-safe. */
void streams_close(struct streams *ss, struct stream_slot *sl);
/* One round of the credential check, now (the timer's work). */
void streams_check(struct streams *ss);
size_t streams_count(const struct streams *ss);
#endif
