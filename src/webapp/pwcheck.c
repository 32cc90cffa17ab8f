/* The password-check pool; see pwcheck.h. Jobs go from `todo` (bounded)
 * to a thread and then to `finished`, which the loop drains on its
 * ev_async. */
#include "webapp/pwcheck.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/auth.h"
#include "base/log.h"

struct job {
	struct job      *next;
	pwcheck_done_fn  done;
	void            *ctx;
	int              verdict;
	char             hash[PWHASH_LEN];
	char             pass[PWCHECK_PASS_MAX];
};

struct pwcheck {
	struct ev_loop  *loop;
	ev_async         async;
	pthread_mutex_t  mu;
	pthread_cond_t   cv;
	pthread_t       *threads;
	int              nthreads;
	size_t           queue_max;
	int              quit;
	/* Guarded by mu. */
	struct job      *todo, **todo_tail;
	size_t           ntodo;
	struct job      *finished, **finished_tail;
};

static void lock(struct pwcheck *p)
{
	int rc = pthread_mutex_lock(&p->mu);
	if (rc)
		fatal("pwcheck: pthread_mutex_lock: %s", strerror(rc));
}

static void unlock(struct pwcheck *p)
{
	int rc = pthread_mutex_unlock(&p->mu);
	if (rc)
		fatal("pwcheck: pthread_mutex_unlock: %s", strerror(rc));
}

static void job_free(struct job *j)
{
	sodium_memzero(j->pass, sizeof j->pass);
	free(j);
}

static void *worker(void *arg)
{
	struct pwcheck *p = arg;
	lock(p);
	for (;;) {
		while (!p->todo && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit)
			break;
		struct job *j = p->todo;
		p->todo = j->next;
		if (!p->todo)
			p->todo_tail = &p->todo;
		p->ntodo--;
		unlock(p);
		j->verdict = auth_password_verify(j->pass, j->hash) == 1;
		sodium_memzero(j->pass, sizeof j->pass);
		j->next = NULL;
		lock(p);
		*p->finished_tail = j;
		p->finished_tail = &j->next;
		ev_async_send(p->loop, &p->async);
	}
	unlock(p);
	return NULL;
}

/* Reports the finished jobs; done() may submit new ones. */
static void report_finished(struct pwcheck *p)
{
	lock(p);
	struct job *j = p->finished;
	p->finished = NULL;
	p->finished_tail = &p->finished;
	unlock(p);
	while (j) {
		struct job *next = j->next;
		j->done(j->ctx, j->verdict);
		job_free(j);
		j = next;
	}
}

static void async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop, (void)revents;
	report_finished(w->data);
}

/* Workers take no signals: the loop handles them (libev may use
 * signalfd, which needs them blocked in every thread). */
static int start_threads(struct pwcheck *p, int n)
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

static void stop_threads(struct pwcheck *p)
{
	lock(p);
	p->quit = 1;
	pthread_cond_broadcast(&p->cv);
	unlock(p);
	for (int i = 0; i < p->nthreads; i++) {
		int rc = pthread_join(p->threads[i], NULL);
		if (rc)
			fatal("pwcheck: pthread_join: %s", strerror(rc));
	}
	p->nthreads = 0;
}

struct pwcheck *pwcheck_new(struct ev_loop *loop, int threads, size_t queue_max)
{
	if (threads < 1 || sodium_init() < 0)
		return NULL;
	struct pwcheck *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->threads = calloc((size_t)threads, sizeof *p->threads);
	if (!p->threads) {
		free(p);
		return NULL;
	}
	p->loop = loop;
	p->queue_max = queue_max;
	p->todo_tail = &p->todo;
	p->finished_tail = &p->finished;
	int rc = pthread_mutex_init(&p->mu, NULL);
	if (!rc && (rc = pthread_cond_init(&p->cv, NULL)) != 0)
		pthread_mutex_destroy(&p->mu);
	if (rc) {
		log_warnx("pwcheck: %s", strerror(rc));
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
		log_warnx("pwcheck: cannot start threads: %s", strerror(rc));
		pwcheck_free(p);
		return NULL;
	}
	return p;
}

void pwcheck_free(struct pwcheck *p)
{
	if (!p)
		return;
	stop_threads(p);
	report_finished(p);
	/* No thread is left: what never ran is reported as such. A done()
	 * that submits again lands in todo and is reported here too. */
	while (p->todo) {
		struct job *j = p->todo;
		p->todo = j->next;
		if (!p->todo)
			p->todo_tail = &p->todo;
		p->ntodo--;
		j->done(j->ctx, -1);
		job_free(j);
	}
	ev_ref(p->loop);
	ev_async_stop(p->loop, &p->async);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
}

int pwcheck_submit(struct pwcheck *p, const char *pass, const char *hash,
                   pwcheck_done_fn done, void *ctx)
{
	size_t n = strlen(pass);
	if (n >= PWCHECK_PASS_MAX || strlen(hash) >= PWHASH_LEN)
		return -1;
	lock(p);
	int full = p->ntodo >= p->queue_max || p->quit;
	unlock(p);
	if (full)
		return -1;
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		return -1;
	memcpy(j->pass, pass, n + 1);
	memcpy(j->hash, hash, strlen(hash) + 1);
	j->done = done;
	j->ctx = ctx;
	lock(p);
	*p->todo_tail = j;
	p->todo_tail = &j->next;
	p->ntodo++;
	pthread_cond_signal(&p->cv);
	unlock(p);
	return 0;
}
