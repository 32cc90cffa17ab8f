/* What each client address holds on a server right now: open connections
 * and request bytes buffered. server.c caps both per address so that one
 * address (an attacker, or one broken client) cannot take every slot or
 * all the memory while phones and signed-in users elsewhere keep being
 * served. IPv6 addresses count per /64, the block one subscriber gets. */
#ifndef MINTRAC_PEERS_H
#define MINTRAC_PEERS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct peer {
	unsigned char key[16];   /* IPv4-mapped or the IPv6 /64, zero-padded */
	uint32_t      conns;     /* open connections */
	size_t        buffered;  /* request body bytes held */
};

struct peers;

/* A table for at most max_peers addresses at once (one per connection is
 * the most a server can have). */
struct peers *peers_new(size_t max_peers);
void peers_free(struct peers *t);
/* The entry for sa, created with zero counts when new; NULL when the
 * table is full or the address family is not IP (no per-address limit
 * then applies, e.g. a unix socket). */
struct peer *peers_get(struct peers *t, const struct sockaddr *sa);
/* Drops p once both its counts are back to zero; p may be freed. */
void peers_put(struct peers *t, struct peer *p);
size_t peers_count(const struct peers *t);
#endif
