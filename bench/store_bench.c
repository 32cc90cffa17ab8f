/* Storage micro-benchmark: what one commit costs, and what group commit
 * buys. Not built by `make`; build and run from the tree root:
 *
 *   cc -std=c17 -D_GNU_SOURCE -O2 -Isrc -o build/store_bench bench/store_bench.c \
 *      src/store/store_sqlite.c src/store/writer.c src/base/auth.c src/base/log.c src/base/point.c \
 *      -lsqlite3 -lsodium -lev -lpthread -lm
 *   ./build/store_bench [DIR]        (DIR: where the temporary db goes, default /tmp)
 *
 * Measures, with synchronous=FULL (the default):
 *   1. 1000-fix transactions through store_put_fix (one fsync each);
 *   2. one-fix transactions (the cost of committing every point alone);
 *   3. the writer: 20,000 one-fix requests submitted 200 per loop
 *      iteration, so batches form as under load. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/auth.h"
#include "store/store.h"
#include "store/writer.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct fix mkfix(int64_t t)
{
	struct fix f;
	memset(&f, 0, sizeof f);
	f.time_ms = t;
	f.lat = 52.52 + (double)(t % 100000) * 1e-7;
	f.lon = 13.40;
	f.has = FIX_SPEED | FIX_ALT | FIX_ACC;
	f.speed = 1.5;
	f.alt = 34;
	f.acc = 5;
	return f;
}

static int batch(struct store *s, int64_t dev, int64_t t0, int n)
{
	if (store_begin(s) != STORE_OK)
		return -1;
	for (int i = 0; i < n; i++) {
		struct fix f = mkfix(t0 + i);
		int ins;
		if (store_put_fix(s, dev, &f, &ins) != STORE_OK) {
			store_rollback(s);
			return -1;
		}
	}
	return store_commit(s) == STORE_OK ? 0 : -1;
}

struct bench_req {
	struct write_req wr;
	struct fix       f;
};

struct feeder {
	ev_timer          t;
	struct writer    *w;
	struct bench_req *reqs;
	size_t            n, next;
	size_t            done;
};

static void req_done(struct write_req *wr)
{
	struct feeder *fd = wr->ctx;
	if (wr->status != 0)
		fprintf(stderr, "request failed\n");
	fd->done++;
}

static void feed_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct feeder *fd = (struct feeder *)(void *)t;
	for (int i = 0; i < 200 && fd->next < fd->n; i++)
		writer_submit(fd->w, &fd->reqs[fd->next++].wr);
	t->repeat = fd->next < fd->n ? 1e-6 : 0.;
	ev_timer_again(loop, t);
}

int main(int argc, char **argv)
{
	char path[256], err[512];
	snprintf(path, sizeof path, "%s/mintrac-bench-%d.db", argc > 1 ? argv[1] : "/tmp",
	         (int)getpid());
	struct store *s = store_open(path, STORE_CREATE, err, sizeof err);
	if (!s || store_user_add(s, "bench", "x") != STORE_OK) {
		fprintf(stderr, "%s\n", s ? store_errmsg(s) : err);
		return 1;
	}
	struct user_rec u;
	unsigned char h[TOKEN_HASH_LEN] = { 1 };
	int64_t dev;
	if (store_user_get(s, "bench", &u) != STORE_OK ||
	    store_device_add(s, u.id, "phone", h, NULL, &dev) != STORE_OK) {
		fprintf(stderr, "%s\n", store_errmsg(s));
		return 1;
	}

	enum { BATCHES = 20, PER = 1000, SINGLES = 200, REQS = 20000 };
	double t = now_s();
	for (int i = 0; i < BATCHES; i++)
		if (batch(s, dev, 1000000000000LL + (int64_t)i * PER, PER) != 0)
			return 1;
	t = now_s() - t;
	printf("1000-fix transactions: %.2f ms each, %.0f fixes/s\n",
	       t * 1e3 / BATCHES, BATCHES * PER / t);

	t = now_s();
	for (int i = 0; i < SINGLES; i++)
		if (batch(s, dev, 1100000000000LL + i, 1) != 0)
			return 1;
	t = now_s() - t;
	printf("1-fix transactions:    %.2f ms each, %.0f fixes/s\n",
	       t * 1e3 / SINGLES, SINGLES / t);
	store_close(s);

	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct writer *w = writer_new(loop, path, 0, err, sizeof err);
	if (!w) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct feeder fd = { .w = w, .n = REQS };
	fd.reqs = calloc(REQS, sizeof *fd.reqs);
	if (!fd.reqs)
		return 1;
	for (size_t i = 0; i < REQS; i++) {
		fd.reqs[i].f = mkfix(1200000000000LL + (int64_t)i);
		fd.reqs[i].wr.device_id = dev;
		fd.reqs[i].wr.fixes = &fd.reqs[i].f;
		fd.reqs[i].wr.nfixes = 1;
		fd.reqs[i].wr.done = req_done;
		fd.reqs[i].wr.ctx = &fd;
	}
	ev_timer_init(&fd.t, feed_cb, 0., 0.);
	ev_timer_start(loop, &fd.t);
	t = now_s();
	ev_run(loop, 0);
	t = now_s() - t;
	printf("writer, 1-fix requests: %zu answered in %.2f s, %.0f requests/s\n",
	       fd.done, t, (double)fd.done / t);
	writer_free(w);
	ev_loop_destroy(loop);
	free(fd.reqs);
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(err, sizeof err, "%s%s", path, sfx[i]);
		unlink(err);
	}
	return 0;
}
