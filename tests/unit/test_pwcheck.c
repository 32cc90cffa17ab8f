/* pwcheck.c (password checks in threads, answered in the loop) and
 * webauth.c (the memory of verified passwords). */
#include <ev.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/auth.h"
#include "webapp/pwcheck.h"
#include "webapp/webauth.h"
#include "test.h"

struct verdicts {
	int n, match, nomatch, never;
	int order[64];
};

static void on_verdict(void *ctx, int verdict)
{
	struct verdicts *v = ctx;
	if (v->n < 64)
		v->order[v->n] = verdict;
	v->n++;
	if (verdict == 1)
		v->match++;
	else if (verdict == 0)
		v->nomatch++;
	else
		v->never++;
}

TEST(pwcheck_verifies_off_the_loop_and_bounds_its_queue)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char hash[PWHASH_LEN];
	CHECK(auth_init() == 0);
	CHECK_INT(auth_password_hash("right one", hash), 0);
	struct pwcheck *p = pwcheck_new(loop, 1, 2);
	CHECK(p != NULL);
	struct verdicts v;
	memset(&v, 0, sizeof v);
	/* One thread, two places: the thread takes the first at once, so
	 * three fit; the rest are refused and never called back. */
	int accepted = 0;
	for (int i = 0; i < 6; i++)
		accepted += pwcheck_submit(p, i % 2 ? "wrong" : "right one", hash, on_verdict, &v) == 0;
	CHECK(accepted >= 2 && accepted <= 3);
	/* An oversize password is refused, not truncated. */
	char big[PWCHECK_PASS_MAX + 8];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	CHECK_INT(pwcheck_submit(p, big, hash, on_verdict, &v), -1);
	while (v.n < accepted)
		ev_run(loop, EVRUN_ONCE);
	CHECK_INT(v.n, accepted);
	CHECK_INT(v.never, 0);
	CHECK_INT(v.order[0], 1);
	CHECK_INT(v.order[1], 0);
	/* Freeing reports what never ran, once. */
	memset(&v, 0, sizeof v);
	accepted = 0;
	for (int i = 0; i < 3; i++)
		accepted += pwcheck_submit(p, "right one", hash, on_verdict, &v) == 0;
	pwcheck_free(p);
	CHECK_INT(v.n, accepted);
	CHECK_INT(v.match + v.never, accepted);
	pwcheck_free(NULL);
	ev_loop_destroy(loop);
}

TEST(webauth_remembers_only_while_the_stored_hash_stands)
{
	struct webauth *wa = webauth_new();
	CHECK(wa != NULL);
	struct user_rec u;
	memset(&u, 0, sizeof u);
	u.id = 7;
	snprintf(u.name, sizeof u.name, "carl");
	CHECK_INT(auth_password_hash("correct horse", u.pwhash), 0);
	unsigned char k[WEBAUTH_KEY_LEN], k2[WEBAUTH_KEY_LEN], k3[WEBAUTH_KEY_LEN];
	webauth_key(wa, "carl", "correct horse", k);
	webauth_key(wa, "carl", "wrong horse", k2);
	webauth_key(wa, "carlcorrect", " horse", k3);
	CHECK(memcmp(k, k2, sizeof k) != 0);
	CHECK(memcmp(k, k3, sizeof k) != 0);
	CHECK_INT(webauth_cached(wa, k, &u, 1000), 0);
	webauth_remember(wa, k, &u, 1000);
	CHECK_INT(webauth_cached(wa, k, &u, 2000), 1);
	CHECK_INT(webauth_cached(wa, k2, &u, 2000), 0);
	/* Use slides the entry; disuse ends it. */
	CHECK_INT(webauth_cached(wa, k, &u, 1000 + WEBAUTH_TTL_MS), 1);
	CHECK_INT(webauth_cached(wa, k, &u, 1000 + 3 * WEBAUTH_TTL_MS), 0);
	/* A new password, or the user re-created, and it is forgotten. */
	webauth_remember(wa, k, &u, 5000);
	struct user_rec changed = u;
	CHECK_INT(auth_password_hash("correct horse", changed.pwhash), 0);
	CHECK_INT(webauth_cached(wa, k, &changed, 6000), 0);
	CHECK_INT(webauth_cached(wa, k, &u, 6000), 0);
	webauth_remember(wa, k, &u, 7000);
	changed = u;
	changed.id = 8;
	CHECK_INT(webauth_cached(wa, k, &changed, 8000), 0);
	/* The stand-in hash costs what a real one does, and matches nothing. */
	const char *si = webauth_standin(wa);
	const char *cost_end = strchr(u.pwhash + 10, '$');
	cost_end = cost_end ? strchr(cost_end + 1, '$') : NULL;
	CHECK(cost_end != NULL);
	if (cost_end)
		CHECK(strncmp(si, u.pwhash, (size_t)(cost_end - u.pwhash + 1)) == 0);
	CHECK_INT(strlen(si), strlen(u.pwhash));
	CHECK_INT(auth_password_verify("", si), 0);
	CHECK_INT(auth_password_verify("correct horse", si), 0);
	/* A verify that fails on parsing would be fast: it must run as long. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(auth_password_verify("wrong horse", u.pwhash), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double real = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(auth_password_verify("wrong horse", si), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double stand = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(stand > real / 4);
	webauth_free(wa);
	webauth_free(NULL);
}
