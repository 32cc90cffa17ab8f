/* net/peers.c: per-address counts survive any order of arrivals and
 * departures (the backward-shift delete keeps every entry reachable). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net/peers.h"
#include "test.h"

static struct sockaddr_in v4(uint32_t host)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(host);
	return a;
}

TEST(peers_ipv6_counts_per_64_and_v4_mapped_as_v4)
{
	struct peers *t = peers_new(8);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 }, b = a, m = a;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &a.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &b.sin6_addr);
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &m.sin6_addr);
	struct sockaddr_in four = v4(0xc0000207);   /* 192.0.2.7 */
	struct peer *pa = peers_get(t, (struct sockaddr *)&a);
	CHECK(pa != NULL);
	CHECK(peers_get(t, (struct sockaddr *)&b) == pa);
	struct peer *pm = peers_get(t, (struct sockaddr *)&m);
	CHECK(pm != NULL && pm != pa);
	CHECK(peers_get(t, (struct sockaddr *)&four) == pm);
	CHECK_INT(peers_count(t), 2);
	struct sockaddr un = { .sa_family = AF_UNIX };
	CHECK(peers_get(t, &un) == NULL);
	peers_put(t, pa);
	peers_put(t, pm);
	CHECK_INT(peers_count(t), 0);
	peers_free(t);
}

TEST(peers_full_table_and_random_churn)
{
	enum { MAX = 300, ROUNDS = 20000 };
	struct peers *t = peers_new(MAX);
	struct peer *held[MAX] = { 0 };
	uint32_t addr[MAX];
	srand(7);
	for (int i = 0; i < MAX; i++)
		addr[i] = 0x0a000000u + (uint32_t)i * 7919u;   /* spread, some colliding */
	for (int r = 0; r < ROUNDS; r++) {
		int i = rand() % MAX;
		struct sockaddr_in a = v4(addr[i]);
		if (held[i]) {
			CHECK(peers_get(t, (struct sockaddr *)&a) == held[i]);
			CHECK_INT(held[i]->conns, 1);
			held[i]->conns = 0;
			peers_put(t, held[i]);
			held[i] = NULL;
		} else {
			held[i] = peers_get(t, (struct sockaddr *)&a);
			CHECK(held[i] != NULL);
			CHECK_INT(held[i]->conns, 0);
			held[i]->conns = 1;
		}
		/* Every held entry is still found after the change. */
		if (r % 97 == 0)
			for (int k = 0; k < MAX; k++)
				if (held[k]) {
					struct sockaddr_in b = v4(addr[k]);
					CHECK(peers_get(t, (struct sockaddr *)&b) == held[k]);
				}
	}
	size_t n = 0;
	for (int k = 0; k < MAX; k++)
		n += held[k] != NULL;
	CHECK_INT(peers_count(t), n);
	/* Full: a new address gets no entry rather than growing the table. */
	for (int k = 0; k < MAX; k++)
		if (!held[k]) {
			struct sockaddr_in a = v4(addr[k]);
			held[k] = peers_get(t, (struct sockaddr *)&a);
			held[k]->conns = 1;
		}
	struct sockaddr_in extra = v4(0x7f000099);
	CHECK(peers_get(t, (struct sockaddr *)&extra) == NULL);
	peers_free(t);
}
