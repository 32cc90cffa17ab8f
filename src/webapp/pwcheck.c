/* Password checks on a work pool (net/workpool.h); see pwcheck.h. */
#include "webapp/pwcheck.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/auth.h"
#include "base/util.h"
#include "base/xalloc.h"
#include "net/workpool.h"

struct job {
	struct work      work;
	pwcheck_done_fn  done;
	void            *ctx;
	int              verdict;
	char             hash[PWHASH_LEN];
	char             pass[PWCHECK_PASS_MAX];
};

struct pwcheck {
	struct workpool *pool;
};

static void job_run(struct work *w)
{
	struct job *j = container_of(w, struct job, work);
	j->verdict = auth_password_verify(j->pass, j->hash) == 1;
	sodium_memzero(j->pass, sizeof j->pass);
}

static void job_done(struct work *w, int ran)
{
	struct job *j = container_of(w, struct job, work);
	j->done(j->ctx, ran ? j->verdict : -1);
	sodium_memzero(j->pass, sizeof j->pass);
	free(j);
}

struct pwcheck *pwcheck_new(struct ev_loop *loop, int threads, size_t queue_max)
{
	if (sodium_init() < 0)
		return NULL;
	struct workpool *pool = workpool_new(loop, "pwcheck", threads, queue_max);
	if (!pool)
		return NULL;
	struct pwcheck *p = xcalloc(1, sizeof *p);
	p->pool = pool;
	return p;
}

void pwcheck_free(struct pwcheck *p)
{
	if (!p)
		return;
	workpool_free(p->pool);
	free(p);
}

int pwcheck_submit(struct pwcheck *p, const char *pass, const char *hash,
                   pwcheck_done_fn done, void *ctx)
{
	size_t n = strlen(pass);
	if (n >= PWCHECK_PASS_MAX || strlen(hash) >= PWHASH_LEN)
		return -1;
	struct job *j = xcalloc(1, sizeof *j);
	memcpy(j->pass, pass, n + 1);
	memcpy(j->hash, hash, strlen(hash) + 1);
	j->done = done;
	j->ctx = ctx;
	j->work.run = job_run;
	j->work.done = job_done;
	if (workpool_submit(p->pool, &j->work) < 0) {
		sodium_memzero(j->pass, sizeof j->pass);
		free(j);
		return -1;
	}
	return 0;
}
