/* The work pool; see workpool.h. Jobs go from `todo` (bounded) to a
 * thread and then to `finished`, which the loop drains on its ev_async. */
#include "net/workpool.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

struct workpool {
	struct ev_loop  *loop;
	const char      *name;
	ev_async         async;
	pthread_mutex_t  mu;
	pthread_cond_t   cv;
	pthread_t       *threads;
	int              nthreads;
	size_t           queue_max;
	size_t           pending;       /* loop thread only */
	/* Guarded by mu. */
	int              quit;
	struct work     *todo, **todo_tail;
	size_t           ntodo;
	struct work     *finished, **finished_tail;
};

static void lock(struct workpool *p)
{
	int rc = pthread_mutex_lock(&p->mu);
	if (rc)
		fatal("%s: pthread_mutex_lock: %s", p->name, strerror(rc));
}

static void unlock(struct workpool *p)
{
	int rc = pthread_mutex_unlock(&p->mu);
	if (rc)
		fatal("%s: pthread_mutex_unlock: %s", p->name, strerror(rc));
}

static struct work *todo_pop(struct workpool *p)
{
	struct work *w = p->todo;
	p->todo = w->next;
	if (!p->todo)
		p->todo_tail = &p->todo;
	p->ntodo--;
	w->next = NULL;
	return w;
}

static void *worker(void *arg)
{
	struct workpool *p = arg;
	lock(p);
	for (;;) {
		while (!p->todo && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit)
			break;
		struct work *w = todo_pop(p);
		unlock(p);
		w->run(w);
		lock(p);
		*p->finished_tail = w;
		p->finished_tail = &w->next;
		ev_async_send(p->loop, &p->async);
	}
	unlock(p);
	return NULL;
}

/* Reports the finished jobs; done() may submit new ones. */
static void report_finished(struct workpool *p)
{
	lock(p);
	struct work *w = p->finished;
	p->finished = NULL;
	p->finished_tail = &p->finished;
	unlock(p);
	while (w) {
		struct work *next = w->next;
		p->pending--;
		w->done(w, 1);
		w = next;
	}
}

static void async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)loop, (void)revents;
	report_finished(a->data);
}

/* Workers take no signals: the loop handles them (libev may use
 * signalfd, which needs them blocked in every thread). */
static int start_threads(struct workpool *p, int n)
{
	sigset_t all, old;
	sigfillset(&all);
	int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (rc)
		return rc;
	for (; p->nthreads < n; p->nthreads++) {
		rc = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
		if (rc)
			break;
	}
	int rc2 = pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc ? rc : rc2;
}

static void stop_threads(struct workpool *p)
{
	lock(p);
	p->quit = 1;
	pthread_cond_broadcast(&p->cv);
	unlock(p);
	for (int i = 0; i < p->nthreads; i++) {
		int rc = pthread_join(p->threads[i], NULL);
		if (rc)
			fatal("%s: pthread_join: %s", p->name, strerror(rc));
	}
	p->nthreads = 0;
}

struct workpool *workpool_new(struct ev_loop *loop, const char *name, int threads,
                              size_t queue_max)
{
	if (threads < 1)
		return NULL;
	struct workpool *p = xcalloc(1, sizeof *p);
	p->threads = xcalloc((size_t)threads, sizeof *p->threads);
	p->loop = loop;
	p->name = name;
	p->queue_max = queue_max;
	p->todo_tail = &p->todo;
	p->finished_tail = &p->finished;
	int rc = pthread_mutex_init(&p->mu, NULL);
	if (!rc && (rc = pthread_cond_init(&p->cv, NULL)) != 0)
		pthread_mutex_destroy(&p->mu);
	if (rc) {
		log_warnx("%s: %s", name, strerror(rc));
		free(p->threads);
		free(p);
		return NULL;
	}
	ev_async_init(&p->async, async_cb);
	p->async.data = p;
	ev_async_start(loop, &p->async);
	/* Idle threads must not keep the loop running. */
	ev_unref(loop);
	if ((rc = start_threads(p, threads)) != 0) {
		log_warnx("%s: cannot start threads: %s", name, strerror(rc));
		workpool_free(p);
		return NULL;
	}
	return p;
}

void workpool_free(struct workpool *p)
{
	if (!p)
		return;
	stop_threads(p);
	report_finished(p);
	/* No thread is left: what never ran is reported as such. A done()
	 * that submits again lands in todo (quit refuses it) or is reported
	 * here too. */
	lock(p);
	while (p->todo) {
		struct work *w = todo_pop(p);
		unlock(p);
		p->pending--;
		w->done(w, 0);
		lock(p);
	}
	unlock(p);
	ev_ref(p->loop);
	ev_async_stop(p->loop, &p->async);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
}

int workpool_submit(struct workpool *p, struct work *w)
{
	lock(p);
	int refused = p->ntodo >= p->queue_max || p->quit;
	if (!refused) {
		w->next = NULL;
		*p->todo_tail = w;
		p->todo_tail = &w->next;
		p->ntodo++;
		pthread_cond_signal(&p->cv);
	}
	unlock(p);
	if (refused)
		return -1;
	p->pending++;
	return 0;
}

size_t workpool_pending(const struct workpool *p)
{
	return p ? p->pending : 0;
}
