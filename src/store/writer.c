/* Group commit (see writer.h). Two threads share this object:
 *
 *   loop thread:   writer_submit() appends to `queue`. Once per loop
 *                  iteration, just before the loop blocks (ev_prepare), if
 *                  no batch is in flight the whole queue becomes the batch
 *                  `inflight` and is handed over under the mutex (`todo`).
 *   writer thread: takes `todo`, BEGIN IMMEDIATE, every fix, COMMIT (or
 *                  ROLLBACK), publishes it as `finished`, ev_async_send().
 *   loop thread:   the ev_async callback takes `finished` and calls every
 *                  done() in submission order.
 *
 * The loop never waits for the database; while a batch commits, new
 * requests pile up in `queue` and form the next, bigger batch. The
 * watchers are unref'd so an idle writer never keeps ev_run() alive; one
 * ev_ref() is held while requests are pending, so they are answered. */
#include "store/writer.h"
#include "base/util.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "store/store.h"
#include "store/store_test.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The batch's fixes as store_put_fixes takes them: one statement for the
 * whole group commit. Writer thread only; grown, never shrunk. */
struct flat {
	int64_t           *device_ids;
	const struct fix **fixes;
	int               *inserted;
	size_t             cap;
};

struct writer {
	struct ev_loop   *loop;
	ev_prepare        prepare;
	ev_async          async;
	pthread_t         thread;
	pthread_mutex_t   mu;
	pthread_cond_t    cv;

	/* Loop thread only. */
	struct write_req *queue, **queue_tail;
	size_t            nqueued;
	struct write_req *inflight;       /* handed to the thread, not yet answered */
	size_t            ninflight;
	int               reffed;         /* holding one ev_ref for pending requests */

	/* Shared, under mu. */
	struct write_req *todo;           /* batch for the thread to take */
	struct write_req *finished;       /* batch the thread is done with */
	int               quit;
	int               fail_next;      /* test hook */

	/* Writer thread only (and writer_free after the join). */
	struct store     *st;             /* NULL after a failure: reopened by the next batch */
	char             *dbpath;
	int               store_flags;
	size_t            failed_batches; /* of the storage incident under way (0: none) */
	size_t            failed_reqs;
	struct flat       flat;
};

static void lock(struct writer *w)
{
	int rc = pthread_mutex_lock(&w->mu);
	if (rc)
		fatal("writer: pthread_mutex_lock: %s", strerror(rc));
}

static void unlock(struct writer *w)
{
	int rc = pthread_mutex_unlock(&w->mu);
	if (rc)
		fatal("writer: pthread_mutex_unlock: %s", strerror(rc));
}

static void fail_batch(struct write_req *b)
{
	for (struct write_req *r = b; r; r = r->next) {
		r->status = -1;
		r->inserted = 0;
	}
}

/* A storage incident (full disk, failed write or fsync, read-only file)
 * is logged once when it starts and once when a commit succeeds again,
 * however many batches fail in between: not once per batch or request. */
static void note_failure(struct writer *w, struct write_req *b, const char *why)
{
	size_t n = 0;
	for (struct write_req *r = b; r; r = r->next)
		n++;
	if (!w->failed_batches++)
		log_warnx("writer: storage failed, answering 503 until a commit succeeds: %s", why);
	w->failed_reqs += n;
}

static void note_success(struct writer *w)
{
	if (!w->failed_batches)
		return;
	log_info("writer: storage works again, after %zu failed commits (%zu requests answered 503)",
	         w->failed_batches, w->failed_reqs);
	w->failed_batches = 0;
	w->failed_reqs = 0;
}

/* After a failed batch the connection is closed, not reused: SQLite rolls
 * back after an I/O error, but a connection that (re)opened while the file
 * was read-only stays read-only, and after a failed fsync nothing of the
 * old connection's state is worth trusting. A fresh connection reads the
 * WAL index again; the frames of the failed commit lie beyond its end. */
static void drop_store(struct writer *w)
{
	if (w->st && store_rollback(w->st) != STORE_OK)
		log_debug("writer: rollback after failure: %s", store_errmsg(w->st));
	store_close(w->st);
	w->st = NULL;
}

static int ensure_store(struct writer *w, char *err, size_t errlen)
{
	if (!w->st)
		w->st = store_open(w->dbpath, w->store_flags, err, errlen);
	return w->st != NULL;
}

static void flat_fill(struct flat *f, const struct write_req *b, size_t *n)
{
	*n = 0;
	for (const struct write_req *r = b; r; r = r->next)
		*n += r->nfixes;
	if (*n > f->cap) {
		size_t cap = f->cap ? f->cap : 256;
		while (cap < *n)
			cap *= 2;
		f->device_ids = xrealloc(f->device_ids, cap * sizeof *f->device_ids);
		f->fixes = xrealloc(f->fixes, cap * sizeof *f->fixes);
		f->inserted = xrealloc(f->inserted, cap * sizeof *f->inserted);
		f->cap = cap;
	}
	size_t k = 0;
	for (const struct write_req *r = b; r; r = r->next)
		for (size_t i = 0; i < r->nfixes; i++, k++) {
			f->device_ids[k] = r->device_id;
			f->fixes[k] = &r->fixes[i];
		}
}

/* Stores every fix of the batch. A device deleted after its request was
 * authenticated fails that request alone (none of its fixes is stored)
 * and the batch goes on. */
static int put_batch(struct writer *w, struct write_req *b)
{
	size_t n;
	flat_fill(&w->flat, b, &n);
	int rc = store_put_fixes(w->st, w->flat.device_ids, w->flat.fixes, n, w->flat.inserted);
	/* Heard by live maps on every host once (and only if) this commits. */
	if (rc == STORE_OK)
		rc = store_notify_fixes(w->st, w->flat.device_ids, w->flat.fixes, w->flat.inserted, n);
	if (rc != STORE_OK)
		return rc;
	size_t k = 0;
	for (struct write_req *r = b; r; r = r->next) {
		r->status = 0;
		r->inserted = 0;
		for (size_t i = 0; i < r->nfixes; i++, k++) {
			if (w->flat.inserted[k] < 0)
				r->status = -1;
			else
				r->inserted += (size_t)w->flat.inserted[k];
		}
		if (r->status < 0) {
			log_warnx("writer: device %lld is gone; %zu fixes not stored",
			          (long long)r->device_id, r->nfixes);
			r->inserted = 0;
		}
	}
	return STORE_OK;
}

/* Runs in the writer thread (or in writer_free after the join). */
static void commit_batch(struct writer *w, struct write_req *b, int inject_full)
{
	char err[512];
	if (!ensure_store(w, err, sizeof err)) {
		note_failure(w, b, err);
		fail_batch(b);
		return;
	}
	if (inject_full && store_test_limit_pages(w->st, 1) != STORE_OK)
		log_warnx("writer: test hook: %s", store_errmsg(w->st));
	int rc = store_begin(w->st);
	if (rc == STORE_OK)
		rc = put_batch(w, b);
	if (rc == STORE_OK)
		rc = store_commit(w->st);
	if (rc != STORE_OK) {
		note_failure(w, b, store_errmsg(w->st));
		fail_batch(b);
		drop_store(w);   /* the test hook's cap goes with the connection */
		/* A 503 must mean "not stored", even after a crash: before the
		 * batch is answered, a commit of its own overwrites the frames
		 * the failed one may have left in the WAL. */
		if (ensure_store(w, err, sizeof err) && store_bury_failed(w->st) != STORE_OK) {
			log_debug("writer: overwriting the failed commit: %s", store_errmsg(w->st));
			drop_store(w);
		}
		return;
	}
	if (inject_full && store_test_limit_pages(w->st, 0) != STORE_OK)
		log_warnx("writer: test hook: %s", store_errmsg(w->st));
	note_success(w);
}

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	for (;;) {
		lock(w);
		while (!w->todo && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		struct write_req *b = w->todo;
		int inject = w->fail_next;
		w->todo = NULL;
		if (b)
			w->fail_next = 0;
		unlock(w);
		if (!b)
			return NULL;   /* quit, and nothing left to commit */
		commit_batch(w, b, inject);
		lock(w);
		w->finished = b;
		unlock(w);
		ev_async_send(w->loop, &w->async);
	}
}

/* Keeps the loop alive exactly while requests wait for an answer. */
static void update_ref(struct writer *w)
{
	int want = w->nqueued + w->ninflight > 0;
	if (want && !w->reffed)
		ev_ref(w->loop);
	else if (!want && w->reffed)
		ev_unref(w->loop);
	w->reffed = want;
}

static void hand_over(struct writer *w)
{
	if (w->inflight || !w->queue)
		return;
	w->inflight = w->queue;
	w->ninflight = w->nqueued;
	w->queue = NULL;
	w->queue_tail = &w->queue;
	w->nqueued = 0;
	lock(w);
	w->todo = w->inflight;
	pthread_cond_signal(&w->cv);
	unlock(w);
}

/* Answers a finished batch in submission order. done() may free its
 * request, or submit new ones; neither touches this batch's links. */
static void answer(struct writer *w, struct write_req *b)
{
	w->inflight = NULL;
	w->ninflight = 0;
	while (b) {
		struct write_req *next = b->next;
		b->next = NULL;
		b->done(b);
		b = next;
	}
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	(void)loop;
	(void)revents;
	hand_over(container_of(p, struct writer, prepare));
}

static void async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)loop;
	(void)revents;
	struct writer *w = container_of(a, struct writer, async);
	lock(w);
	struct write_req *b = w->finished;
	w->finished = NULL;
	unlock(w);
	if (b)
		answer(w, b);
	update_ref(w);
}

void writer_submit(struct writer *w, struct write_req *req)
{
	req->next = NULL;
	req->status = 0;
	req->inserted = 0;
	*w->queue_tail = req;
	w->queue_tail = &req->next;
	w->nqueued++;
	update_ref(w);
}

size_t writer_pending(const struct writer *w)
{
	return w->nqueued + w->ninflight;
}

void writer_test_fail_next(struct writer *w)
{
	lock(w);
	w->fail_next = 1;
	unlock(w);
}

/* The thread must not take signals: the servers handle them in the loop
 * (libev may use signalfd, which needs them blocked in every thread). */
static int start_thread(struct writer *w)
{
	sigset_t all, old;
	sigfillset(&all);
	int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (rc)
		return rc;
	rc = pthread_create(&w->thread, NULL, writer_thread, w);
	int rc2 = pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc ? rc : rc2;
}

struct writer *writer_new(struct ev_loop *loop, const char *dbpath, int store_flags,
                          char *err, size_t errlen)
{
	struct writer *w = calloc(1, sizeof *w);
	if (!w || !(w->dbpath = strdup(dbpath))) {
		snprintf(err, errlen, "writer: out of memory");
		free(w);
		return NULL;
	}
	w->loop = loop;
	w->store_flags = (store_flags & ~STORE_CREATE) | STORE_WRITER;
	w->queue_tail = &w->queue;
	w->st = store_open(dbpath, w->store_flags, err, errlen);
	if (!w->st) {
		free(w->dbpath);
		free(w);
		return NULL;
	}
	int rc = pthread_mutex_init(&w->mu, NULL);
	if (!rc && (rc = pthread_cond_init(&w->cv, NULL)) != 0)
		pthread_mutex_destroy(&w->mu);
	if (!rc && (rc = start_thread(w)) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
	}
	if (rc) {
		snprintf(err, errlen, "writer: %s", strerror(rc));
		store_close(w->st);
		free(w->dbpath);
		free(w);
		return NULL;
	}
	ev_prepare_init(&w->prepare, prepare_cb);
	ev_prepare_start(loop, &w->prepare);
	ev_unref(loop);
	ev_async_init(&w->async, async_cb);
	ev_async_start(loop, &w->async);
	ev_unref(loop);
	return w;
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	lock(w);
	w->quit = 1;
	pthread_cond_signal(&w->cv);
	unlock(w);
	/* The thread commits a batch it was handed before it exits. */
	int rc = pthread_join(w->thread, NULL);
	if (rc)
		fatal("writer: pthread_join: %s", strerror(rc));
	if (w->finished) {
		struct write_req *b = w->finished;
		w->finished = NULL;
		answer(w, b);
	}
	/* What is still queued is committed here, synchronously; done()
	 * callbacks may submit more, so loop until nothing is left. */
	while (w->queue) {
		struct write_req *b = w->queue;
		w->inflight = b;
		w->ninflight = w->nqueued;
		w->queue = NULL;
		w->queue_tail = &w->queue;
		w->nqueued = 0;
		commit_batch(w, b, 0);
		answer(w, b);
	}
	if (w->reffed)
		ev_unref(w->loop);
	ev_ref(w->loop);
	ev_prepare_stop(w->loop, &w->prepare);
	ev_ref(w->loop);
	ev_async_stop(w->loop, &w->async);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	store_close(w->st);
	free(w->flat.device_ids);
	free(w->flat.fixes);
	free(w->flat.inserted);
	free(w->dbpath);
	free(w);
}
