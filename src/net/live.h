/* Receiver -> webapp notice of committed fixes. The receiver sends
 * (device id, fix time) pairs, after COMMIT, as datagrams on an abstract
 * unix socket named after the database file; the webapp reads the fixes
 * back from the database. Best effort by design: the database is the
 * record, a lost notice only delays a live map until its next refresh, and
 * the receiver never waits for (or on) the webapp: sends are non-blocking
 * and a missing or full webapp socket drops the notice. */
#ifndef MINTRAC_LIVE_H
#define MINTRAC_LIVE_H
#include <stddef.h>
#include <stdint.h>

struct live_key {
	int64_t device_id;
	int64_t time_ms;
};

struct live_tx;
struct live_tx *live_tx_new(const char *db_path);    /* NULL on failure (logged) */
void live_tx_free(struct live_tx *t);                /* NULL-safe */
void live_tx_send(struct live_tx *t, const struct live_key *keys, size_t n);

struct live_rx;
/* Binds the socket; NULL on failure (logged: live updates off, all else works). */
struct live_rx *live_rx_new(const char *db_path);
void live_rx_free(struct live_rx *r);                /* NULL-safe */
int live_rx_fd(const struct live_rx *r);             /* non-blocking, for an ev_io */
/* Reads every pending datagram, calling cb per key; returns keys read. */
size_t live_rx_drain(struct live_rx *r, void (*cb)(void *ctx, const struct live_key *k),
                     void *ctx);
#endif
