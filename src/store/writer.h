/* Group commit. Requests submitted while the loop runs are gathered and, once
 * per loop iteration (ev_prepare), handed to a writer thread that commits
 * them all in one transaction: one fsync per batch, not per point. The loop
 * keeps accepting while a batch commits. Each request's done() is called in
 * the loop thread after COMMIT returned (status 0) or after a rollback
 * (status -1): a whole batch is committed or none of it. */
#ifndef MINTRAC_WRITER_H
#define MINTRAC_WRITER_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include "base/point.h"

struct write_req {
	int64_t     device_id;
	struct fix *fixes;        /* still owned by the submitter */
	size_t      nfixes;
	int         status;       /* set before done(): 0 committed, -1 failed */
	size_t      inserted;     /* fixes that were new (not duplicates) */
	void      (*done)(struct write_req *req);
	void       *ctx;
	struct write_req *next;   /* writer's own list link */
};

struct writer;

/* Opens its own connection to dbpath (store_open flags as in store.h). */
struct writer *writer_new(struct ev_loop *loop, const char *dbpath, int store_flags,
                          char *err, size_t errlen);
void writer_submit(struct writer *w, struct write_req *req);
/* Requests submitted or committing, not yet answered. */
size_t writer_pending(const struct writer *w);
/* Commits whatever is pending, calls every done(), joins the thread, frees. */
void writer_free(struct writer *w);
#endif
