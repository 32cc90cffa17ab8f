/* throttle.c: token buckets per user, per address and per trusted pair. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "webapp/throttle.h"
#include "test.h"
#include "test_decode.h"

/* n failed checks of user from addr at `at`; how many were let through. */
static int fail_n(struct throttle *t, const char *addr, const char *user, int n, double at)
{
	int let = 0;
	for (int i = 0; i < n; i++) {
		struct throttle_ticket tk;
		if (throttle_take(t, addr, user, at, &tk) == 0)
			let++;
	}
	return let;
}

static int ok_now(struct throttle *t, const char *addr, const char *user, double at)
{
	struct throttle_ticket tk;
	if (throttle_take(t, addr, user, at, &tk) > 0)
		return 0;
	throttle_success(t, addr, user, at, &tk);
	return 1;
}

TEST(throttle_user_budget_is_a_token_bucket)
{
	struct throttle *t = throttle_new();
	CHECK(t != NULL);
	char addr[32];
	/* Guesses from ever new addresses: the user's bucket bounds them. */
	int let = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(addr, sizeof addr, "198.51.%d.%d", i / 250, i % 250);
		let += fail_n(t, addr, "anna", 1, 100);
	}
	CHECK_INT(let, THROTTLE_USER_BURST);
	struct throttle_ticket tk;
	CHECK_DBL(throttle_take(t, "203.0.113.1", "anna", 100, &tk), THROTTLE_USER_PERIOD);
	CHECK_DBL(throttle_take(t, "203.0.113.1", "anna", 100 + THROTTLE_USER_PERIOD / 4, &tk),
	          THROTTLE_USER_PERIOD * 3 / 4);
	/* One token per period comes back, and not more. */
	CHECK_INT(fail_n(t, "203.0.113.2", "anna", 5, 100 + THROTTLE_USER_PERIOD), 1);
	CHECK_INT(fail_n(t, "203.0.113.2", "anna", 50, 100 + 3.5 * THROTTLE_USER_PERIOD), 2);
	/* Others are not affected. */
	CHECK_INT(fail_n(t, "203.0.113.3", "bert", 1, 100), 1);
	/* A long while later the bucket is full again, never fuller. */
	CHECK_INT(fail_n(t, "203.0.113.4", "anna", 100, 1e6), THROTTLE_USER_BURST);
	throttle_free(t);
	throttle_free(NULL);
}

TEST(throttle_address_budget_spans_users)
{
	struct throttle *t = throttle_new();
	char user[32];
	int let = 0;
	for (int i = 0; i < 100; i++) {
		snprintf(user, sizeof user, "user%d", i);
		let += fail_n(t, "192.0.2.7", user, 1, 50);
	}
	CHECK_INT(let, THROTTLE_ADDR_BURST);
	struct throttle_ticket tk;
	CHECK_DBL(throttle_take(t, "192.0.2.7", NULL, 50, &tk), THROTTLE_ADDR_PERIOD);
	CHECK_DBL(throttle_take(t, "192.0.2.8", "user1", 50, &tk), 0);
	/* A success as some user gives back only its own token: the count
	 * of the others' failures stands. */
	CHECK(!ok_now(t, "192.0.2.7", "user1", 50));
	CHECK_INT(fail_n(t, "192.0.2.7", "someone", 1, 50 + THROTTLE_ADDR_PERIOD), 1);
	CHECK(ok_now(t, "192.0.2.7", "user2", 50 + 2 * THROTTLE_ADDR_PERIOD));
	CHECK_INT(fail_n(t, "192.0.2.7", "someone", 3, 50 + 2 * THROTTLE_ADDR_PERIOD), 1);
	/* An IPv6 client is counted by its /64. */
	let = 0;
	for (int i = 0; i < 100; i++) {
		char a6[64];
		snprintf(a6, sizeof a6, "2001:db8:1:2:%x::1", i);
		let += fail_n(t, a6, NULL, 1, 70);
	}
	CHECK_INT(let, THROTTLE_ADDR_BURST);
	CHECK_INT(fail_n(t, "2001:db8:1:3::1", NULL, 1, 70), 1);
	throttle_free(t);
}

TEST(throttle_right_password_gives_back_and_trusts_the_address)
{
	struct throttle *t = throttle_new();
	/* The owner signs in from home once. */
	CHECK(ok_now(t, "10.0.0.1", "carl", 10));
	/* Someone else uses up carl's budget from elsewhere. */
	char addr[32];
	for (int i = 0; i < 100; i++) {
		snprintf(addr, sizeof addr, "172.16.%d.%d", i / 200, i % 200);
		fail_n(t, addr, "carl", 1, 20);
	}
	CHECK(!ok_now(t, "172.17.0.1", "carl", 20));
	/* From home the owner still gets in, with a budget of its own. */
	CHECK(ok_now(t, "10.0.0.1", "carl", 20));
	CHECK(ok_now(t, "10.0.0.1", "carl", 20));
	CHECK_INT(fail_n(t, "10.0.0.1", "carl", 100, 20), THROTTLE_PAIR_BURST);
	/* Each success gave its token back: only failures cost. */
	CHECK(!ok_now(t, "10.0.0.1", "carl", 20));
	/* Trust lasts THROTTLE_TRUST_FOR from the last success. */
	CHECK(ok_now(t, "10.0.0.2", "dora", 0));
	CHECK_INT(fail_n(t, "10.0.0.9", "dora", 100, THROTTLE_TRUST_FOR - 10), THROTTLE_USER_BURST);
	CHECK(ok_now(t, "10.0.0.2", "dora", THROTTLE_TRUST_FOR - 10));
	CHECK_INT(fail_n(t, "10.0.0.9", "dora", 100, 2 * THROTTLE_TRUST_FOR), THROTTLE_USER_BURST);
	CHECK(!ok_now(t, "10.0.0.2", "dora", 2 * THROTTLE_TRUST_FOR));
	/* A cancelled check costs nothing. */
	struct throttle_ticket tk;
	for (int i = 0; i < 3 * THROTTLE_USER_BURST; i++) {
		CHECK_DBL(throttle_take(t, "10.0.0.3", "erin", 5, &tk), 0);
		throttle_cancel(t, "10.0.0.3", "erin", 5, &tk);
	}
	throttle_free(t);
}

TEST(throttle_tables_never_drop_a_bucket_still_owed)
{
	struct throttle *t = throttle_new();
	struct throttle_ticket tk;
	char addr[32], user[32];
	/* The victim's budget is spent. */
	CHECK_INT(fail_n(t, "10.1.1.1", "victim", 100, 0), THROTTLE_USER_BURST);
	/* Far more users and addresses than the tables hold fail once each. */
	for (int i = 0; i < 3 * THROTTLE_MAX_KEYS; i++) {
		snprintf(addr, sizeof addr, "10.%d.%d.%d", 2 + i / 65536, (i / 256) % 256, i % 256);
		snprintf(user, sizeof user, "u%d", i);
		(void)throttle_take(t, addr, user, 0.001 * i, &tk);
	}
	/* The victim's bucket is still owed. */
	CHECK(throttle_take(t, "192.0.2.1", "victim", 20, &tk) > 0);
	/* With the users' table full of owed buckets, a new user is refused
	 * (not tracked would mean unbounded). */
	CHECK(throttle_take(t, "192.0.2.1", "newcomer", 20, &tk) > 0);
	/* Once buckets refill, entries make room again. */
	CHECK_DBL(throttle_take(t, "192.0.2.1", "newcomer", 20 + THROTTLE_USER_PERIOD, &tk), 0);
	throttle_free(t);
}

TEST(throttle_no_entry_for_no_user)
{
	struct throttle *t = throttle_new();
	struct throttle_ticket tk;
	char addr[32];
	CHECK_INT(fail_n(t, "10.3.3.3", "victim", 100, 0), THROTTLE_USER_BURST);
	/* Names that are no user (NULL) from ever new addresses: only the
	 * addresses are counted, and the victim's entry is untouched. */
	for (int i = 0; i < 2 * THROTTLE_MAX_KEYS; i++) {
		snprintf(addr, sizeof addr, "10.4.%d.%d", i / 256, i % 256);
		(void)throttle_take(t, addr, NULL, 1, &tk);
	}
	CHECK(throttle_take(t, "10.3.3.4", "victim", 2, &tk) > 0);
	throttle_free(t);
}
