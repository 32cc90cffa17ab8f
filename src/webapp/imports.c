/* The webapp's import jobs (imports.h): the spool an upload is written
 * to on the event loop, and the thread that parses it as it grows. The
 * two sides meet under the registry's mutex: `written` and `ended` move
 * forward on the loop, the thread waits on `more` for them.
 *
 * The record of a job is the store's (store_import_add and friends), so
 * that every webapp process on the database answers GET /api/imports for
 * it. A recorder thread with a store connection of its own writes this
 * process's jobs: when one ends at once, while it runs at most every
 * RECORD_MS, and at least every HEARTBEAT_MS; a running job not written
 * for IMPORTS_STALE_MS is one whose process stopped. Neither the loop nor
 * an import waits for those writes (an import's own transaction may hold
 * SQLite's write lock meanwhile). */
#include "webapp/imports.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>

#include <time.h>

#include "base/log.h"
#include "base/point.h"
#include "io/import_job.h"
#include "net/multipart.h"

/* Per-file summaries kept per job, for the page's summary. */
#define FILES_KEPT 16
/* How often the recorder writes a job whose progress moved, and a
 * running job's record at least (its process is alive). */
#define RECORD_MS    500
#define HEARTBEAT_MS 5000
/* A job ended and recorded stays in memory this long: the request that
 * sent it still reads its id. */
#define FORGET_MS    60000
#define STOPPED_WHY  "the webapp running it stopped"

enum job_state { JOB_RUNNING, JOB_DONE, JOB_FAILED };

static const char *const state_names[] = { "running", "done", "failed" };

struct file_sum {
	char     name[200];
	uint64_t read, stored, duplicates, rejected, visits;
};

struct import_upload {
	struct imports       *im;
	struct import_upload *next;          /* the registry's list, newest first */
	int64_t               id, user_id, device_id;
	char                  device[NAME_MAX_BYTES + 1];
	char                  name[256];
	int64_t               started_ms, finished_ms;
	uint64_t              total;
	int                   fd;            /* the spool: unlinked, read and written by offset */
	struct multipart     *mp;            /* the loop's; NULL for a raw body */
	pthread_cond_t        more;          /* written or ended moved, or cancel */

	/* Under im->mu. */
	uint64_t         written;            /* bytes of the file in the spool */
	int              ended, body_ok;
	char             fail[200];          /* why the body failed */
	int              broken;             /* the loop's: a piece could not be kept */
	int              sink_open;          /* the server may still call the sink */
	int              thread_running;
	int              cancel;
	int              dirty;              /* changed since the recorder wrote it */
	int              recorded;           /* its end is in the store */
	int              writing;            /* the recorder writes it, mu let go */
	int64_t          put_mono;           /* when the recorder last wrote it */
	int64_t          ended_mono;
	enum job_state   state;
	struct import_totals t;
	char             error[700];
	struct file_sum  files[FILES_KEPT];
	size_t           nfiles, nreasons;
	char             reason[IMPORT_REASONS][400];

	/* The thread's alone. */
	uint64_t read_off;
	char     rerr[200];
};

struct imports {
	pthread_mutex_t       mu;
	pthread_cond_t        idle;          /* a thread ended */
	pthread_cond_t        wake;          /* the recorder: a job ended, or stop */
	pthread_cond_t        written;       /* the recorder wrote a job */
	struct import_upload *jobs;          /* this process's */
	struct store         *s;             /* the loop's */
	pthread_t             recorder;
	int                   recorder_on;   /* started and not joined */
	int                   recorder_stop;
	int                   threads;
	int                   stopping;      /* imports_stop ran: no new job */
	char                  db_path[PATH_MAX];
	char                  spool_dir[PATH_MAX];
	double                place_radius;
	int                   sync_normal;
};

static void *recorder_thread(void *arg);

struct imports *imports_new(const struct config *cfg, struct store *s)
{
	struct imports *im = calloc(1, sizeof *im);
	if (!im)
		return NULL;
	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->idle, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&im->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&im->written, NULL);
	im->s = s;
	snprintf(im->db_path, sizeof im->db_path, "%s", cfg->store);
	snprintf(im->spool_dir, sizeof im->spool_dir, "%s", cfg->datadir);
	im->place_radius = cfg->stay_radius;
	im->sync_normal = !cfg->sync_full;
	int err = pthread_create(&im->recorder, NULL, recorder_thread, im);
	if (err) {
		log_warnx("import: cannot start the recorder thread: %s", strerror(err));
		pthread_cond_destroy(&im->written);
		pthread_cond_destroy(&im->wake);
		pthread_cond_destroy(&im->idle);
		pthread_mutex_destroy(&im->mu);
		free(im);
		return NULL;
	}
	im->recorder_on = 1;
	return im;
}

static void job_free(struct import_upload *up)
{
	if (up->fd >= 0)
		close(up->fd);
	multipart_free(up->mp);
	pthread_cond_destroy(&up->more);
	free(up);
}

/* Whether nobody but the registry holds the job any more. */
static int job_idle(const struct import_upload *up)
{
	return !up->sink_open && !up->thread_running;
}

void imports_stop(struct imports *im)
{
	if (!im)
		return;
	pthread_mutex_lock(&im->mu);
	im->stopping = 1;
	for (struct import_upload *up = im->jobs; up; up = up->next) {
		up->cancel = 1;
		pthread_cond_signal(&up->more);
	}
	while (im->threads > 0)
		pthread_cond_wait(&im->idle, &im->mu);
	/* The jobs' ends are written before the process goes. */
	int join = im->recorder_on;
	im->recorder_on = 0;
	im->recorder_stop = 1;
	pthread_cond_signal(&im->wake);
	pthread_mutex_unlock(&im->mu);
	if (join)
		pthread_join(im->recorder, NULL);
}

void imports_free(struct imports *im)
{
	if (!im)
		return;
	imports_stop(im);
	/* The server is gone by now: no sink call can come. */
	struct import_upload *up = im->jobs;
	while (up) {
		struct import_upload *next = up->next;
		job_free(up);
		up = next;
	}
	pthread_cond_destroy(&im->idle);
	pthread_cond_destroy(&im->wake);
	pthread_cond_destroy(&im->written);
	pthread_mutex_destroy(&im->mu);
	free(im);
}

/* Drops the jobs whose end is in the store, once nothing holds them.
 * Under mu; on the loop, which is the last to read a job (its id). */
static void forget(struct imports *im)
{
	int64_t now = mono_ms();
	for (struct import_upload **pp = &im->jobs; *pp;) {
		struct import_upload *up = *pp;
		if (up->recorded && !up->writing && job_idle(up) && now - up->ended_mono >= FORGET_MS) {
			*pp = up->next;
			job_free(up);
			continue;
		}
		pp = &up->next;
	}
}

static void job_json(const struct import_upload *up, struct buf *b);

/* ---- the recorder ---- */

/* Writes the jobs that are due. Under mu, which it lets go around each
 * write: a job not yet recorded is never freed meanwhile (forget). */
static void record_due(struct imports *im, struct store **s, struct buf *b, int last)
{
	int64_t now = mono_ms();
	for (struct import_upload *up = im->jobs; up; up = up->next) {
		int running = up->state == JOB_RUNNING;
		int moved = up->dirty && (!running || last || now - up->put_mono >= RECORD_MS);
		int alive = running && now - up->put_mono >= HEARTBEAT_MS;
		if (up->recorded || (!moved && !alive))
			continue;
		buf_reset(b);
		job_json(up, b);
		int64_t id = up->id;
		up->dirty = 0;
		up->put_mono = now;
		up->writing = 1;
		pthread_mutex_unlock(&im->mu);
		char err[512];
		if (!*s && !(*s = store_open(im->db_path, im->sync_normal ? STORE_SYNC_NORMAL : 0, err,
		                             sizeof err)))
			log_warnx("import %lld: cannot record it: %s", (long long)id, err);
		int rc = *s ? store_import_put(*s, id, running, now_ms(), b->data) : STORE_ERR;
		if (rc == STORE_ERR && *s)
			log_warnx("import %lld: cannot record it: %s", (long long)id, store_errmsg(*s));
		pthread_mutex_lock(&im->mu);
		up->writing = 0;
		pthread_cond_broadcast(&im->written);
		if (rc == STORE_ERR)
			up->dirty = 1;          /* tried again at the next round */
		else if (!running)
			up->recorded = 1;       /* done with, or gone from the store */
	}
}

static void *recorder_thread(void *arg)
{
	struct imports *im = arg;
	struct store *s = NULL;
	struct buf b;
	buf_init(&b);
	pthread_mutex_lock(&im->mu);
	for (;;) {
		int last = im->recorder_stop;
		record_due(im, &s, &b, last);
		if (last)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += RECORD_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&im->wake, &im->mu, &ts);
	}
	pthread_mutex_unlock(&im->mu);
	store_close(s);
	buf_free(&b);
	return NULL;
}

/* ---- the thread ---- */

static ssize_t spool_read(void *ctx, void *buf, size_t len, const char **why)
{
	struct import_upload *up = ctx;
	struct imports *im = up->im;
	pthread_mutex_lock(&im->mu);
	while (!up->cancel && up->read_off >= up->written && !up->ended)
		pthread_cond_wait(&up->more, &im->mu);
	if (up->cancel) {
		pthread_mutex_unlock(&im->mu);
		*why = "the server is stopping";
		return -1;
	}
	if (up->read_off >= up->written) {
		int ok = up->body_ok;
		pthread_mutex_unlock(&im->mu);
		*why = up->fail;          /* set before ended, fixed since */
		return ok ? 0 : -1;
	}
	uint64_t avail = up->written - up->read_off;
	pthread_mutex_unlock(&im->mu);
	size_t n = avail < len ? (size_t)avail : len;
	ssize_t got;
	do
		got = pread(up->fd, buf, n, (off_t)up->read_off);
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		snprintf(up->rerr, sizeof up->rerr, "reading the spooled upload: %s",
		         got < 0 ? strerror(errno) : "it is shorter than written");
		*why = up->rerr;
		return -1;
	}
	up->read_off += (uint64_t)got;
	return got;
}

static void on_progress(void *ctx, const struct import_totals *t)
{
	struct import_upload *up = ctx;
	pthread_mutex_lock(&up->im->mu);
	up->t = *t;
	up->dirty = 1;
	pthread_mutex_unlock(&up->im->mu);
}

static void on_report(void *ctx, const struct import_file_report *r)
{
	struct import_upload *up = ctx;
	pthread_mutex_lock(&up->im->mu);
	if (!r->error && up->nfiles < FILES_KEPT) {
		struct file_sum *f = &up->files[up->nfiles++];
		snprintf(f->name, sizeof f->name, "%s", r->name);
		f->read = r->read;
		f->stored = r->stored;
		f->duplicates = r->duplicates;
		f->rejected = r->rejected;
		f->visits = r->visits;
	}
	for (size_t i = 0; i < r->nreasons && up->nreasons < IMPORT_REASONS; i++)
		snprintf(up->reason[up->nreasons++], sizeof up->reason[0], "%s:%llu: %s", r->name,
		         (unsigned long long)r->reason_line[i], r->reason[i]);
	up->dirty = 1;
	pthread_mutex_unlock(&up->im->mu);
}

static void *job_thread(void *arg)
{
	struct import_upload *up = arg;
	struct imports *im = up->im;
	char err[512] = "", name[256];
	int rc = -1;
	struct store *s = store_open(im->db_path, STORE_BULK | (im->sync_normal ? STORE_SYNC_NORMAL : 0), err,
	                             sizeof err);
	/* The name of a multipart file is known with its first bytes. */
	pthread_mutex_lock(&im->mu);
	while (!up->cancel && !up->written && !up->ended)
		pthread_cond_wait(&up->more, &im->mu);
	snprintf(name, sizeof name, "%s", up->name);
	pthread_mutex_unlock(&im->mu);
	struct import_job_opts o = {
		.user_id = up->user_id, .device_id = up->device_id, .device_name = up->device,
		.place_radius = im->place_radius,
	};
	struct import_job *j = s ? import_job_new(s, &o, on_progress, on_report, up) : NULL;
	if (j) {
		rc = import_job_read(j, name, up->total, spool_read, up);
		snprintf(err, sizeof err, "%s", import_job_error(j));
	} else if (s) {
		snprintf(err, sizeof err, "out of memory");
	}
	pthread_mutex_lock(&im->mu);
	if (j)
		up->t = *import_job_totals(j);
	up->state = rc == 0 ? JOB_DONE : JOB_FAILED;
	snprintf(up->error, sizeof up->error, "%s", rc == 0 ? "" : err);
	up->finished_ms = now_ms();
	up->ended_mono = mono_ms();
	up->dirty = 1;
	pthread_cond_signal(&im->wake);
	pthread_mutex_unlock(&im->mu);
	import_job_free(j);
	store_close(s);
	if (rc == 0)
		log_info("import %lld (%s, device %s): %llu fixes, %llu stored",
		         (long long)up->id, name, up->device, (unsigned long long)up->t.fixes,
		         (unsigned long long)up->t.stored);
	else
		log_warnx("import %lld (device %s) failed: %s", (long long)up->id, up->device, err);
	pthread_mutex_lock(&im->mu);
	up->thread_running = 0;
	im->threads--;
	pthread_cond_broadcast(&im->idle);
	pthread_mutex_unlock(&im->mu);
	return NULL;
}

/* ---- the loop's side ---- */

static int spool_open(struct imports *im)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/.upload-XXXXXX", im->spool_dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);      /* gone with the last descriptor, crash or not */
	return fd;
}

/* Appends to the spool; 0, or -1 with the reason in fail. */
static int spool_write(void *ctx, const char *data, size_t len)
{
	struct import_upload *up = ctx;
	struct imports *im = up->im;
	pthread_mutex_lock(&im->mu);
	int finished = up->state != JOB_RUNNING || up->cancel;
	if (up->mp && !up->written && *multipart_filename(up->mp))
		snprintf(up->name, sizeof up->name, "%s", multipart_filename(up->mp));
	pthread_mutex_unlock(&im->mu);
	/* A job that has stopped (a malformed file) reads no more: the rest
	 * of the body is taken and dropped, so the client still gets its
	 * answer and reads the failure from GET /api/imports. */
	if (finished)
		return 0;
	uint64_t off = 0;
	while (off < len) {
		ssize_t n = write(up->fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(up->fail, sizeof up->fail, "cannot spool the upload: %s", strerror(errno));
			up->broken = 1;
			return -1;
		}
		off += (uint64_t)n;
	}
	pthread_mutex_lock(&im->mu);
	up->written += len;
	up->dirty = 1;
	pthread_cond_signal(&up->more);
	pthread_mutex_unlock(&im->mu);
	return 0;
}

int imports_sink(void *upload, const char *data, size_t len)
{
	struct import_upload *up = upload;
	if (!up->mp)
		return spool_write(up, data, len);
	int rc = multipart_feed(up->mp, data, len);
	if (rc < 0)
		snprintf(up->fail, sizeof up->fail, "%s", multipart_error(up->mp));
	if (rc != 0)
		up->broken = 1;
	return rc == 0 ? 0 : -1;
}

void imports_sink_end(void *upload, int status)
{
	struct import_upload *up = upload;
	struct imports *im = up->im;
	/* The server reads and drops what follows a refused piece, then says
	 * the body is whole: the file in the spool is not. */
	int ok = status == 0 && !up->broken;
	if (up->mp && ok && multipart_finish(up->mp) != 0) {
		snprintf(up->fail, sizeof up->fail, "%s", multipart_error(up->mp));
		ok = 0;
	}
	if (!ok && !up->fail[0])
		snprintf(up->fail, sizeof up->fail, "the upload was cut off");
	pthread_mutex_lock(&im->mu);
	up->ended = 1;
	up->body_ok = ok;
	up->sink_open = 0;
	pthread_cond_signal(&up->more);
	pthread_mutex_unlock(&im->mu);
}

static const char *const mine_busy = "an import of yours is running: try again when it is done";

/* Whether this process runs a job of the user's, or all it may. Under mu. */
static const char *busy_here(struct imports *im, int64_t user_id)
{
	int mine = 0, all = 0;
	for (struct import_upload *x = im->jobs; x; x = x->next) {
		if (x->state == JOB_RUNNING) {
			all++;
			mine += x->user_id == user_id;
		}
	}
	if (mine >= IMPORTS_RUNNING_PER_USER)
		return mine_busy;
	if (all >= IMPORTS_RUNNING_MAX)
		return "imports are running: try again in a while";
	return NULL;
}

static int64_t live_since(void)
{
	return now_ms() - IMPORTS_STALE_MS;
}

static int running_cb(void *ctx, const struct store_import_rec *r)
{
	(void)ctx;
	return r->running && r->updated_ms >= live_since();
}

/* Writes the ends of the user's jobs here that the recorder has not
 * written yet, so the store does not count one as running after the
 * client saw it done. */
static void record_ended(struct imports *im, int64_t user_id)
{
	struct buf b;
	buf_init(&b);
	pthread_mutex_lock(&im->mu);
	for (struct import_upload *up = im->jobs; up; up = up->next) {
		if (up->user_id != user_id || up->state == JOB_RUNNING)
			continue;
		/* A write of the recorder's under way may be of an older state:
		 * the end goes after it. */
		while (up->writing)
			pthread_cond_wait(&im->written, &im->mu);
		if (up->recorded)
			continue;
		buf_reset(&b);
		job_json(up, &b);
		up->recorded = 1;          /* the recorder leaves it be */
		up->dirty = 0;
		pthread_mutex_unlock(&im->mu);
		int rc = store_import_put(im->s, up->id, 0, now_ms(), b.data);
		if (rc == STORE_ERR)
			log_warnx("import %lld: cannot record it: %s", (long long)up->id,
			          store_errmsg(im->s));
		pthread_mutex_lock(&im->mu);
		if (rc == STORE_ERR) {
			up->recorded = 0;
			up->dirty = 1;
		}
	}
	pthread_mutex_unlock(&im->mu);
	buf_free(&b);
}

int imports_busy(struct imports *im, int64_t user_id, const char **why)
{
	pthread_mutex_lock(&im->mu);
	*why = busy_here(im, user_id);
	pthread_mutex_unlock(&im->mu);
	if (*why)
		return 1;
	record_ended(im, user_id);
	/* Another webapp's job of the user's. */
	if (store_import_list(im->s, user_id, 0, running_cb, NULL) == 1) {
		*why = mine_busy;
		return 1;
	}
	return 0;
}

/* Takes the job's place in the store: 0, or -1 with *status and *why. */
static int job_add(struct imports *im, struct import_upload *up, int *status,
                   const char **why)
{
	record_ended(im, up->user_id);
	int rc = store_import_add(im->s, up->user_id, up->started_ms, live_since(), &up->id);
	if (rc == STORE_EXISTS) {
		*status = 429;
		*why = mine_busy;
		return -1;
	}
	if (rc != STORE_OK) {
		if (rc == STORE_ERR)
			log_warnx("import: %s", store_errmsg(im->s));
		*status = 503;
		*why = "cannot start the import for now";
		return -1;
	}
	if (store_import_trim(im->s, up->user_id, IMPORTS_KEEP_PER_USER, live_since()) < 0)
		log_warnx("import: dropping old jobs: %s", store_errmsg(im->s));
	return 0;
}

/* The job's record as it is now, from the loop (no thread has it yet). */
static void job_put(struct imports *im, struct import_upload *up)
{
	struct buf b;
	buf_init(&b);
	job_json(up, &b);
	if (store_import_put(im->s, up->id, up->state == JOB_RUNNING, now_ms(), b.data) ==
	    STORE_ERR)
		log_warnx("import %lld: cannot record it: %s", (long long)up->id,
		          store_errmsg(im->s));
	buf_free(&b);
}

struct import_upload *imports_start(struct imports *im, const struct user_rec *u,
                                    const struct device_rec *d, const char *name,
                                    uint64_t total, const char *content_type, int *status,
                                    const char **why)
{
	if (im->stopping) {
		*status = 503;
		*why = "the server is stopping";
		return NULL;
	}
	pthread_mutex_lock(&im->mu);
	forget(im);
	*why = busy_here(im, u->id);
	pthread_mutex_unlock(&im->mu);
	if (*why) {
		*status = 429;
		return NULL;
	}
	struct import_upload *up = calloc(1, sizeof *up);
	if (!up) {
		*status = 503;
		*why = "out of memory";
		return NULL;
	}
	up->im = im;
	up->fd = -1;
	pthread_cond_init(&up->more, NULL);
	if (content_type && strncasecmp(content_type, "multipart/", 10) == 0) {
		up->mp = multipart_new(content_type, spool_write, up);
		if (!up->mp) {
			job_free(up);
			*status = 400;
			*why = "multipart body without a boundary, or not multipart/form-data";
			return NULL;
		}
	}
	up->fd = spool_open(im);
	if (up->fd < 0) {
		log_warnx("import: cannot make a spool file in %s: %s", im->spool_dir, strerror(errno));
		job_free(up);
		*status = 503;
		*why = "cannot store the upload for now";
		return NULL;
	}
	up->user_id = u->id;
	up->device_id = d->id;
	snprintf(up->device, sizeof up->device, "%s", d->name);
	snprintf(up->name, sizeof up->name, "%s", name && *name ? name : "upload");
	up->total = total;
	up->started_ms = now_ms();
	up->state = JOB_RUNNING;
	if (job_add(im, up, status, why) < 0) {
		job_free(up);
		return NULL;
	}
	job_put(im, up);
	up->put_mono = mono_ms();
	up->sink_open = 1;
	up->thread_running = 1;
	pthread_mutex_lock(&im->mu);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	int err = pthread_create(&th, &attr, job_thread, up);
	pthread_attr_destroy(&attr);
	if (err) {
		pthread_mutex_unlock(&im->mu);
		log_warnx("import: cannot start a thread: %s", strerror(err));
		/* Its record must not hold the user's place. */
		up->state = JOB_FAILED;
		up->finished_ms = now_ms();
		snprintf(up->error, sizeof up->error, "cannot start the import for now");
		job_put(im, up);
		job_free(up);
		*status = 503;
		*why = "cannot start the import for now";
		return NULL;
	}
	im->threads++;
	up->next = im->jobs;
	im->jobs = up;
	pthread_mutex_unlock(&im->mu);
	return up;
}

struct import_upload *imports_start_body(struct imports *im, const struct user_rec *u,
                                         const struct device_rec *d, const char *name,
                                         const char *content_type, const char *body,
                                         size_t len, int *status, const char **why)
{
	struct import_upload *up = imports_start(im, u, d, name, len, content_type, status, why);
	if (!up)
		return NULL;
	imports_sink_end(up, imports_sink(up, body, len) == 0 ? 0 : -1);
	return up;
}

int64_t imports_id(const struct import_upload *up)
{
	return up->id;
}

/* ---- listing ---- */

static void add_u64(struct buf *b, const char *key, uint64_t v)
{
	buf_printf(b, ",\"%s\":%llu", key, (unsigned long long)v);
}

/* Under mu. */
static void job_json(const struct import_upload *up, struct buf *b)
{
	buf_printf(b, "{\"id\":%lld,\"device\":", (long long)up->id);
	buf_add_json_str(b, up->device);
	buf_adds(b, ",\"name\":");
	buf_add_json_str(b, up->name);
	buf_printf(b, ",\"state\":\"%s\"", state_names[up->state]);
	/* Bytes read by the parser, of the body's length: the progress bar. */
	add_u64(b, "bytes", up->t.bytes);
	add_u64(b, "total", up->total);
	add_u64(b, "received", up->written);
	add_u64(b, "fixes", up->t.fixes);
	add_u64(b, "stored", up->t.stored);
	add_u64(b, "duplicates", up->t.duplicates);
	add_u64(b, "rejected", up->t.rejected);
	add_u64(b, "visits", up->t.visits);
	buf_adds(b, ",\"error\":");
	if (up->state == JOB_FAILED)
		buf_add_json_str(b, up->error);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"started\":");
	buf_addc(b, '"');
	buf_add_iso_ms(b, up->started_ms);
	buf_adds(b, "\",\"finished\":");
	if (up->finished_ms) {
		buf_addc(b, '"');
		buf_add_iso_ms(b, up->finished_ms);
		buf_addc(b, '"');
	} else {
		buf_adds(b, "null");
	}
	buf_adds(b, ",\"files\":[");
	for (size_t i = 0; i < up->nfiles; i++) {
		const struct file_sum *f = &up->files[i];
		buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
		buf_add_json_str(b, f->name);
		buf_printf(b, ",\"fixes\":%llu,\"stored\":%llu,\"duplicates\":%llu,\"rejected\":%llu,"
		           "\"visits\":%llu}",
		           (unsigned long long)f->read, (unsigned long long)f->stored,
		           (unsigned long long)f->duplicates, (unsigned long long)f->rejected,
		           (unsigned long long)f->visits);
	}
	buf_adds(b, "],\"reasons\":[");
	for (size_t i = 0; i < up->nreasons; i++) {
		if (i)
			buf_addc(b, ',');
		buf_add_json_str(b, up->reason[i]);
	}
	buf_adds(b, "]}");
}

/* What a record says, a running job whose process stopped as failed.
 * The record is job_json's: "state", "error" and "finished" appear once
 * each at the top level, and never inside a string (its quotes are
 * escaped there). */
static void stale_json(const char *json, int64_t updated_ms, struct buf *b)
{
	struct buf fin;
	buf_init(&fin);
	buf_adds(&fin, "\"finished\":\"");
	buf_add_iso_ms(&fin, updated_ms);
	buf_addc(&fin, '"');
	const char *from[] = { "\"state\":\"running\"", "\"error\":null", "\"finished\":null" };
	const char *to[] = { "\"state\":\"failed\"", "\"error\":\"" STOPPED_WHY "\"", fin.data };
	const char *p = json;
	for (size_t i = 0; i < 3; i++) {
		const char *at = strstr(p, from[i]);
		if (!at)
			continue;
		buf_add(b, p, (size_t)(at - p));
		buf_adds(b, to[i]);
		p = at + strlen(from[i]);
	}
	buf_adds(b, p);
	buf_free(&fin);
}

struct list_ctx {
	struct imports *im;
	struct buf     *b;
	int             n;
	int64_t         live;
};

/* One job: this process's own from memory (fresher than its record),
 * any other from its record. */
static int list_one(void *ctx, const struct store_import_rec *r)
{
	struct list_ctx *lc = ctx;
	struct import_upload *up;
	pthread_mutex_lock(&lc->im->mu);
	for (up = lc->im->jobs; up && up->id != r->id; up = up->next)
		;
	if (up || *r->json) {
		if (lc->n++)
			buf_addc(lc->b, ',');
		if (up)
			job_json(up, lc->b);
		else if (r->running && r->updated_ms < lc->live)
			stale_json(r->json, r->updated_ms, lc->b);
		else
			buf_adds(lc->b, r->json);
	}
	pthread_mutex_unlock(&lc->im->mu);
	return 0;
}

void imports_list_json(struct imports *im, int64_t user_id, struct buf *b)
{
	struct list_ctx lc = { im, b, 0, live_since() };
	buf_addc(b, '[');
	if (store_import_list(im->s, user_id, 0, list_one, &lc) != STORE_OK)
		log_warnx("import list: %s", store_errmsg(im->s));
	buf_addc(b, ']');
}

int imports_job_json(struct imports *im, int64_t user_id, int64_t id, struct buf *b)
{
	struct list_ctx lc = { im, b, 0, live_since() };
	if (id <= 0)
		return -1;
	if (store_import_list(im->s, user_id, id, list_one, &lc) != STORE_OK)
		log_warnx("import list: %s", store_errmsg(im->s));
	return lc.n ? 0 : -1;
}
