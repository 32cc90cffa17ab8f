/* writer.c: group commit through a real libev loop on a temporary db. */
#include <ev.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/auth.h"
#include "store/store.h"
#include "test.h"
#include "store/writer.h"
#include "store/store_test.h"

struct wfix {
	char            dir[64];
	char            path[96];
	struct ev_loop *loop;
	struct writer  *w;
	int64_t         dev, dev2;
	ev_timer        watchdog;
	int             timed_out;
};

struct req {
	struct write_req wr;
	struct fix       fixes[64];
	int              done_calls;
	size_t           order;        /* position among done() calls */
};

static size_t done_seq;

static void req_done(struct write_req *wr)
{
	struct req *r = wr->ctx;
	r->done_calls++;
	r->order = done_seq++;
}

/* n fixes one second apart from t0 (ms). */
static void req_init(struct req *r, int64_t dev, int64_t t0, size_t n)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < n && i < 64; i++) {
		r->fixes[i].time_ms = t0 + (int64_t)i * 1000;
		r->fixes[i].lat = 52.52 + (double)i * 1e-5;
		r->fixes[i].lon = 13.40;
	}
	r->wr.device_id = dev;
	r->wr.fixes = r->fixes;
	r->wr.nfixes = n;
	r->wr.done = req_done;
	r->wr.ctx = r;
	r->wr.status = 99;
}

static int64_t mkdev(struct store *s, const char *user, const char *name, const char *token)
{
	struct user_rec u;
	unsigned char h[TOKEN_HASH_LEN];
	int64_t id = 0;
	if (store_user_get(s, user, &u) == STORE_NOTFOUND &&
	    (store_user_add(s, user, "x") != STORE_OK || store_user_get(s, user, &u) != STORE_OK))
		return 0;
	auth_token_hash(token, h);
	return store_device_add(s, u.id, name, h, NULL, &id) == STORE_OK ? id : 0;
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct wfix *f = (struct wfix *)(void *)((char *)t - offsetof(struct wfix, watchdog));
	f->timed_out = 1;
	ev_break(loop, EVBREAK_ALL);
}

static int wfix_init(struct wfix *f)
{
	char err[256];
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/mintrac-writer-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/mintrac.db", f->dir);
	struct store *s = store_open(f->path, STORE_CREATE, err, sizeof err);
	if (!s)
		return -1;
	f->dev = mkdev(s, "anna", "phone", "tok-writer-aaaaaaaaaaaaaaaa");
	f->dev2 = mkdev(s, "ben", "phone", "tok-writer-bbbbbbbbbbbbbbbb");
	store_close(s);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	if (!f->loop || !f->dev || !f->dev2)
		return -1;
	/* Never let a broken writer hang the test run; unref'd so it does
	 * not keep ev_run() alive by itself. */
	ev_timer_init(&f->watchdog, watchdog_cb, 20., 0.);
	ev_timer_start(f->loop, &f->watchdog);
	ev_unref(f->loop);
	f->w = writer_new(f->loop, f->path, 0, err, sizeof err);
	if (!f->w)
		fprintf(stderr, "writer_new: %s\n", err);
	return f->w ? 0 : -1;
}

static void wfix_free(struct wfix *f)
{
	char p[128];
	writer_free(f->w);
	if (f->loop) {
		ev_ref(f->loop);
		ev_timer_stop(f->loop, &f->watchdog);
		ev_loop_destroy(f->loop);
	}
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
		unlink(p);
	}
	rmdir(f->dir);
}

static int64_t count(struct wfix *f, int64_t dev)
{
	char err[256];
	struct store *s = store_open(f->path, 0, err, sizeof err);
	if (!s)
		return -2;
	int64_t n = store_count(s, dev);
	store_close(s);
	return n;
}

/* Submitting from a callback, as the receiver does. */
struct submitter {
	ev_timer       t;
	struct writer *w;
	struct req    *reqs;
	size_t         n, next, per_tick;
};

static void submit_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct submitter *sb = (struct submitter *)(void *)t;
	for (size_t i = 0; i < sb->per_tick && sb->next < sb->n; i++)
		writer_submit(sb->w, &sb->reqs[sb->next++].wr);
	/* Repeats until all are submitted; repeat 0 stops it. */
	t->repeat = sb->next < sb->n ? 0.0005 : 0.;
	ev_timer_again(loop, t);
}

static void run_submitter(struct wfix *f, struct req *reqs, size_t n, size_t per_tick)
{
	struct submitter sb = { .w = f->w, .reqs = reqs, .n = n, .per_tick = per_tick };
	ev_timer_init(&sb.t, submit_cb, 0., 0.);
	ev_timer_start(f->loop, &sb.t);
	ev_run(f->loop, 0);      /* returns once every request is answered */
	ev_timer_stop(f->loop, &sb.t);
}

TEST(writer_commits_every_request)
{
	struct wfix f;
	CHECK(wfix_init(&f) == 0);
	if (!f.w) {
		wfix_free(&f);
		return;
	}
	enum { N = 300 };
	struct req *reqs = calloc(N, sizeof *reqs);
	CHECK(reqs != NULL);
	for (size_t i = 0; i < N; i++)
		req_init(&reqs[i], i % 2 ? f.dev2 : f.dev, 1700000000000LL + (int64_t)i * 100000, 10);
	done_seq = 0;
	run_submitter(&f, reqs, N, 7);
	CHECK(!f.timed_out);
	CHECK_INT(writer_pending(f.w), 0);
	size_t ok = 0;
	for (size_t i = 0; i < N; i++) {
		CHECK_INT(reqs[i].done_calls, 1);
		ok += reqs[i].wr.status == 0 && reqs[i].wr.inserted == 10;
		CHECK_INT(reqs[i].order, i);      /* answered in submission order */
	}
	CHECK_INT(ok, N);
	CHECK_INT(count(&f, f.dev), N / 2 * 10);
	CHECK_INT(count(&f, f.dev2), N / 2 * 10);
	free(reqs);
	wfix_free(&f);
}

TEST(writer_idle_does_not_keep_loop_alive)
{
	struct wfix f;
	CHECK(wfix_init(&f) == 0);
	if (f.w) {
		ev_run(f.loop, 0);       /* nothing pending: returns at once */
		CHECK(!f.timed_out);
		CHECK_INT(writer_pending(f.w), 0);
	}
	wfix_free(&f);
}

TEST(writer_dedupes_across_requests)
{
	struct wfix f;
	CHECK(wfix_init(&f) == 0);
	if (!f.w) {
		wfix_free(&f);
		return;
	}
	static struct req r[3];
	req_init(&r[0], f.dev, 1700000000000LL, 10);
	req_init(&r[1], f.dev, 1700000005000LL, 10);     /* 5 overlap r[0] */
	req_init(&r[2], f.dev2, 1700000000000LL, 10);    /* same times, other device */
	run_submitter(&f, r, 3, 3);
	CHECK_INT(r[0].wr.status, 0);
	CHECK_INT(r[0].wr.inserted, 10);
	CHECK_INT(r[1].wr.status, 0);
	CHECK_INT(r[1].wr.inserted, 5);
	CHECK_INT(r[2].wr.inserted, 10);
	/* Resent later (a phone retrying): accepted, nothing new. */
	req_init(&r[0], f.dev, 1700000000000LL, 10);
	run_submitter(&f, r, 1, 1);
	CHECK_INT(r[0].wr.status, 0);
	CHECK_INT(r[0].wr.inserted, 0);
	CHECK_INT(count(&f, f.dev), 15);
	CHECK_INT(count(&f, f.dev2), 10);
	wfix_free(&f);
}

TEST(writer_failed_batch_stores_nothing)
{
	struct wfix f;
	CHECK(wfix_init(&f) == 0);
	if (!f.w) {
		wfix_free(&f);
		return;
	}
	enum { N = 40 };
	static struct req r[N];
	req_init(&r[0], f.dev, 1600000000000LL, 5);
	run_submitter(&f, r, 1, 1);
	CHECK_INT(r[0].wr.status, 0);

	/* One batch of 40 requests x 64 fixes on a "full disk". */
	for (size_t i = 0; i < N; i++)
		req_init(&r[i], i % 2 ? f.dev2 : f.dev, 1700000000000LL + (int64_t)i * 100000, 64);
	writer_test_fail_next(f.w);
	run_submitter(&f, r, N, N);
	CHECK(!f.timed_out);
	for (size_t i = 0; i < N; i++) {
		CHECK_INT(r[i].done_calls, 1);
		CHECK_INT(r[i].wr.status, -1);
		CHECK_INT(r[i].wr.inserted, 0);
	}
	CHECK_INT(count(&f, f.dev), 5);
	CHECK_INT(count(&f, f.dev2), 0);

	/* The same requests again, on a disk with room: all stored. */
	for (size_t i = 0; i < N; i++)
		req_init(&r[i], i % 2 ? f.dev2 : f.dev, 1700000000000LL + (int64_t)i * 100000, 64);
	run_submitter(&f, r, N, N);
	for (size_t i = 0; i < N; i++) {
		CHECK_INT(r[i].wr.status, 0);
		CHECK_INT(r[i].wr.inserted, 64);
	}
	CHECK_INT(count(&f, f.dev), 5 + N / 2 * 64);
	CHECK_INT(count(&f, f.dev2), N / 2 * 64);
	wfix_free(&f);
}

/* A device deleted between authentication and commit fails its own
 * request only; the rest of the batch is committed. */
TEST(writer_deleted_device_fails_alone)
{
	struct wfix f;
	CHECK(wfix_init(&f) == 0);
	if (!f.w) {
		wfix_free(&f);
		return;
	}
	static struct req r[3];
	req_init(&r[0], f.dev, 1700000000000LL, 3);
	req_init(&r[1], 987654, 1700000000000LL, 3);
	req_init(&r[2], f.dev2, 1700000000000LL, 3);
	run_submitter(&f, r, 3, 3);
	CHECK_INT(r[0].wr.status, 0);
	CHECK_INT(r[1].wr.status, -1);
	CHECK_INT(r[1].wr.inserted, 0);
	CHECK_INT(r[2].wr.status, 0);
	CHECK_INT(count(&f, 0), 6);
	wfix_free(&f);
}

TEST(writer_free_commits_pending)
{
	struct wfix f;
	CHECK(wfix_init(&f) == 0);
	if (!f.w) {
		wfix_free(&f);
		return;
	}
	static struct req r[5];
	for (size_t i = 0; i < 5; i++) {
		req_init(&r[i], f.dev, 1700000000000LL + (int64_t)i * 100000, 4);
		writer_submit(f.w, &r[i].wr);
	}
	CHECK_INT(writer_pending(f.w), 5);
	/* Hand a first batch to the thread without waiting for its answer. */
	ev_run(f.loop, EVRUN_NOWAIT);
	struct req late;
	req_init(&late, f.dev2, 1700000000000LL, 4);
	writer_submit(f.w, &late.wr);
	writer_free(f.w);
	f.w = NULL;
	for (size_t i = 0; i < 5; i++) {
		CHECK_INT(r[i].done_calls, 1);
		CHECK_INT(r[i].wr.status, 0);
	}
	CHECK_INT(late.done_calls, 1);
	CHECK_INT(late.wr.status, 0);
	CHECK_INT(count(&f, f.dev), 20);
	CHECK_INT(count(&f, f.dev2), 4);
	wfix_free(&f);
}

TEST(writer_new_without_database)
{
	char err[256] = "";
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	CHECK(writer_new(loop, "/tmp/mintrac-no-such-dir/x.db", 0, err, sizeof err) == NULL);
	CHECK(strstr(err, "no database") != NULL);
	ev_loop_destroy(loop);
}
