/* The webapp's import jobs (imports.h): the spool an upload is written
 * to on the event loop, and the thread that parses it as it grows. The
 * two sides meet under the registry's mutex: `written` and `ended` move
 * forward on the loop, the thread waits on `more` for them. */
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

#include "base/log.h"
#include "base/point.h"
#include "io/import_job.h"
#include "net/multipart.h"

/* Per-file summaries kept per job, for the page's summary. */
#define FILES_KEPT 16

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
	struct import_upload *jobs;
	int64_t               next_id;
	int                   threads;
	int                   stopping;      /* imports_stop ran: no new job */
	char                  db_path[PATH_MAX];
	char                  spool_dir[PATH_MAX];
	double                place_radius;
	int                   sync_normal;
};

struct imports *imports_new(const struct config *cfg)
{
	struct imports *im = calloc(1, sizeof *im);
	if (!im)
		return NULL;
	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->idle, NULL);
	im->next_id = 1;
	snprintf(im->db_path, sizeof im->db_path, "%s", cfg->store);
	snprintf(im->spool_dir, sizeof im->spool_dir, "%s", cfg->datadir);
	im->place_radius = cfg->stay_radius;
	im->sync_normal = !cfg->sync_full;
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
	pthread_mutex_unlock(&im->mu);
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
	pthread_mutex_destroy(&im->mu);
	free(im);
}

/* Drops the user's oldest finished jobs past the ones kept. Under mu. */
static void prune(struct imports *im, int64_t user_id)
{
	int kept = 0;
	for (struct import_upload **pp = &im->jobs; *pp;) {
		struct import_upload *up = *pp;
		if (up->user_id == user_id && up->state != JOB_RUNNING && job_idle(up) &&
		    ++kept > IMPORTS_KEEP_PER_USER) {
			*pp = up->next;
			job_free(up);
			continue;
		}
		pp = &up->next;
	}
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

int imports_busy(struct imports *im, int64_t user_id, const char **why)
{
	pthread_mutex_lock(&im->mu);
	int mine = 0, all = 0;
	for (struct import_upload *x = im->jobs; x; x = x->next) {
		if (x->state == JOB_RUNNING) {
			all++;
			mine += x->user_id == user_id;
		}
	}
	pthread_mutex_unlock(&im->mu);
	if (mine >= IMPORTS_RUNNING_PER_USER) {
		*why = "an import of yours is running: try again when it is done";
		return 1;
	}
	if (all >= IMPORTS_RUNNING_MAX) {
		*why = "imports are running: try again in a while";
		return 1;
	}
	return 0;
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
	if (imports_busy(im, u->id, why)) {
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
	up->sink_open = 1;
	up->thread_running = 1;
	pthread_mutex_lock(&im->mu);
	up->id = im->next_id++;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	int err = pthread_create(&th, &attr, job_thread, up);
	pthread_attr_destroy(&attr);
	if (err) {
		pthread_mutex_unlock(&im->mu);
		log_warnx("import: cannot start a thread: %s", strerror(err));
		job_free(up);
		*status = 503;
		*why = "cannot start the import for now";
		return NULL;
	}
	im->threads++;
	up->next = im->jobs;
	im->jobs = up;
	prune(im, u->id);
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

void imports_list_json(struct imports *im, int64_t user_id, struct buf *b)
{
	int n = 0;
	buf_addc(b, '[');
	pthread_mutex_lock(&im->mu);
	for (const struct import_upload *up = im->jobs; up; up = up->next) {
		if (up->user_id != user_id)
			continue;
		if (n++)
			buf_addc(b, ',');
		job_json(up, b);
	}
	pthread_mutex_unlock(&im->mu);
	buf_addc(b, ']');
}

int imports_job_json(struct imports *im, int64_t user_id, int64_t id, struct buf *b)
{
	int rc = -1;
	pthread_mutex_lock(&im->mu);
	for (const struct import_upload *up = im->jobs; up; up = up->next) {
		if (up->id == id && up->user_id == user_id) {
			job_json(up, b);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&im->mu);
	return rc;
}
