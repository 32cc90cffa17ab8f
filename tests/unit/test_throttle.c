#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "webapp/throttle.h"
#include "test.h"
#include "test_decode.h"

/* n failures of addr/user at time `at`. */
static void fail_n(struct throttle *t, const char *addr, const char *user, int n, double at)
{
	for (int i = 0; i < n; i++)
		throttle_fail(t, addr, user, at);
}

TEST(throttle_free_failures_cost_nothing_then_doubling)
{
	struct throttle *t = throttle_new();
	CHECK(t != NULL);
	CHECK_DBL(throttle_wait(t, "10.0.0.1", "anna", 100), 0);
	fail_n(t, "10.0.0.1", "anna", THROTTLE_FREE, 100);
	CHECK_DBL(throttle_wait(t, "10.0.0.1", "anna", 100), 0);
	/* Each further failure doubles the wait: 1, 2, 4, 8 s. */
	double want = 1;
	for (int i = 0; i < 4; i++) {
		double at = 200 + i * 100;
		throttle_fail(t, "10.0.0.1", "anna", at);
		CHECK_DBL(throttle_wait(t, "10.0.0.1", "anna", at), want);
		CHECK_DBL(throttle_wait(t, "10.0.0.1", "anna", at + want / 2), want / 2);
		CHECK_DBL(throttle_wait(t, "10.0.0.1", "anna", at + want), 0);
		want *= 2;
	}
	throttle_free(t);
	throttle_free(NULL);
}

TEST(throttle_wait_is_capped)
{
	struct throttle *t = throttle_new();
	fail_n(t, "10.0.0.2", "bob", THROTTLE_FREE + 200, 1000);
	CHECK_DBL(throttle_wait(t, "10.0.0.2", "bob", 1000), THROTTLE_MAX_WAIT);
	CHECK_DBL(throttle_wait(t, "10.0.0.2", "bob", 1000 + THROTTLE_MAX_WAIT), 0);
	throttle_free(t);
}

TEST(throttle_address_and_user_each_count)
{
	struct throttle *t = throttle_new();
	/* One address guessing many users: the address is slowed. */
	char user[32];
	for (int i = 0; i <= THROTTLE_FREE; i++) {
		snprintf(user, sizeof user, "user%d", i);
		throttle_fail(t, "192.0.2.7", user, 50);
	}
	CHECK_DBL(throttle_wait(t, "192.0.2.7", "someone-else", 50), 1);
	CHECK_DBL(throttle_wait(t, "192.0.2.7", NULL, 50), 1);
	CHECK_DBL(throttle_wait(t, "192.0.2.8", "user1", 50), 0);
	/* Many addresses guessing one user: the user is slowed everywhere. */
	char addr[32];
	for (int i = 0; i <= THROTTLE_FREE + 1; i++) {
		snprintf(addr, sizeof addr, "198.51.100.%d", i);
		throttle_fail(t, addr, "carol", 60);
	}
	CHECK_DBL(throttle_wait(t, "203.0.113.1", "carol", 60), 2);
	CHECK_DBL(throttle_wait(t, "203.0.113.1", "dave", 60), 0);
	/* The larger of the two waits counts. */
	CHECK_DBL(throttle_wait(t, "192.0.2.7", "carol", 60.5), 1.5);
	throttle_free(t);
}

TEST(throttle_success_clears_and_forgets_after_an_hour)
{
	struct throttle *t = throttle_new();
	fail_n(t, "10.1.1.1", "erin", THROTTLE_FREE + 3, 10);
	CHECK_DBL(throttle_wait(t, "10.1.1.1", "erin", 10), 4);
	throttle_success(t, "10.1.1.1", "erin");
	CHECK_DBL(throttle_wait(t, "10.1.1.1", "erin", 10), 0);
	/* Counting starts afresh: the free failures are free again. */
	fail_n(t, "10.1.1.1", "erin", THROTTLE_FREE, 11);
	CHECK_DBL(throttle_wait(t, "10.1.1.1", "erin", 11), 0);

	fail_n(t, "10.1.1.2", "frank", THROTTLE_FREE + 20, 100);
	CHECK_DBL(throttle_wait(t, "10.1.1.2", "frank", 100 + THROTTLE_MAX_WAIT - 1), 1);
	/* An hour without failures: as if none had happened. */
	CHECK_DBL(throttle_wait(t, "10.1.1.2", "frank", 100 + THROTTLE_FORGET), 0);
	throttle_fail(t, "10.1.1.2", "frank", 100 + THROTTLE_FORGET);
	CHECK_DBL(throttle_wait(t, "10.1.1.2", "frank", 100 + THROTTLE_FORGET), 0);
	throttle_free(t);
}

TEST(throttle_table_is_bounded_oldest_evicted)
{
	struct throttle *t = throttle_new();
	char addr[32];
	/* The first address fails hard, then many more fail once each, each
	 * later: the table fills and the oldest entries go first. */
	fail_n(t, "172.16.0.1", NULL, THROTTLE_FREE + 1, 0);
	CHECK_DBL(throttle_wait(t, "172.16.0.1", NULL, 0), 1);
	for (int i = 0; i < THROTTLE_MAX_KEYS - 2; i++) {
		snprintf(addr, sizeof addr, "10.9.%d.%d", i / 256, i % 256);
		throttle_fail(t, addr, NULL, 0.0001 * i);
	}
	/* Still there: the table has room for THROTTLE_MAX_KEYS keys. */
	CHECK(throttle_wait(t, "172.16.0.1", NULL, 0.5) > 0);
	fail_n(t, "172.16.0.2", NULL, THROTTLE_FREE + 1, 0.5);
	fail_n(t, "172.16.0.3", NULL, THROTTLE_FREE + 1, 0.5);
	/* The table is full: the newest key pushed out the oldest. */
	CHECK_DBL(throttle_wait(t, "172.16.0.1", NULL, 0.5), 0);
	CHECK_DBL(throttle_wait(t, "172.16.0.2", NULL, 0.5), 1);
	CHECK_DBL(throttle_wait(t, "172.16.0.3", NULL, 0.5), 1);
	/* A recent failure moves a key to the young end. */
	for (int i = 0; i <= THROTTLE_FREE; i++)
		throttle_fail(t, "10.9.0.1", NULL, 1);
	for (int i = 0; i < THROTTLE_MAX_KEYS; i++) {
		snprintf(addr, sizeof addr, "10.8.%d.%d", i / 256, i % 256);
		throttle_fail(t, addr, NULL, 2);
		if (i == THROTTLE_MAX_KEYS - 10)
			CHECK(throttle_wait(t, "10.9.0.1", NULL, 1.5) > 0);
	}
	/* A full table's worth of new keys: every old one went. */
	CHECK_DBL(throttle_wait(t, "172.16.0.2", NULL, 2), 0);
	CHECK_DBL(throttle_wait(t, "10.9.0.1", NULL, 1.5), 0);
	throttle_fail(t, "10.8.0.9", NULL, 2);
	throttle_fail(t, "10.8.0.9", NULL, 2);
	throttle_fail(t, "10.8.0.9", NULL, 2);
	throttle_fail(t, "10.8.0.9", NULL, 2);
	throttle_fail(t, "10.8.0.9", NULL, 2);
	CHECK_DBL(throttle_wait(t, "10.8.0.9", NULL, 2), 1);
	throttle_free(t);
}

TEST(throttle_long_names_do_not_overflow)
{
	struct throttle *t = throttle_new();
	char user[600];
	memset(user, 'x', sizeof user - 1);
	user[sizeof user - 1] = 0;
	fail_n(t, "10.2.2.2", user, THROTTLE_FREE + 1, 5);
	CHECK_DBL(throttle_wait(t, "10.3.3.3", user, 5), 1);
	throttle_success(t, "10.2.2.2", user);
	CHECK_DBL(throttle_wait(t, "10.3.3.3", user, 5), 0);
	throttle_free(t);
}
