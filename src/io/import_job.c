/* An import run (import_job.h): libarchive reads the input and its
 * members, the parsers of import.h turn each into fixes, and this file
 * stores them: batches, the undo log that makes a file a unit, the devices
 * of Records.json's deviceTags and the places of Google's visits.
 *
 * Two threads: parsing takes about a third of an import's time and
 * storing the rest, so a parser thread runs libarchive and the parser and
 * hands the fixes over in a few bounded batches (struct hand), while the
 * calling thread keeps the store connection, the undo log, the reports
 * and the progress callback. Whatever needs the store at a file's start and end (begin,
 * done, failed) the parser asks of the storing thread and waits for
 * (hand_call), so the importer's counts and error are read while the
 * parser stands still. Only the storing thread touches the store. */
#include "io/import_job.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/auth.h"
#include "base/xalloc.h"
#include "history/hist.h"
#include "store/history_store.h"

/* Fixes per transaction: large enough that the commit's fsync is noise,
 * small enough that the receiver's group commit waits a fraction of a
 * second for the write lock at most. */
#define BATCH      50000
/* ... and at most this long, so a receiver waiting for the write lock
 * waits a fraction of a second, whatever the machine's speed. */
#define TX_MAX_MS  200
/* The pause after a commit in which a waiting writer takes the lock
 * (store_sqlite.c's busy handler tries every millisecond). */
#define GAP_US     3000
/* Keys per transaction when a failed file is taken back, or moved. */
#define UNDO_BATCH 5000
/* Fixes handed to the store at once (store_put_fixes): one statement on a
 * database across a network instead of a round trip per fix. */
#define PUT_RUN    256
/* Bytes held to tell a format from its content. */
#define HEAD_MAX   512
#define PROGRESS_MS 200
/* Batches between the threads: one filled, one stored, one spare. */
#define NHAND      3
/* Records per batch, and the text bytes after which a batch goes early
 * (attributes are at most FIX_ATTRS_MAX each): a few MiB in all. */
#define HAND_RECS  4096
#define HAND_TEXT  (512 * 1024)

/* One fix the current file added (or moved): the undo log's record. */
struct undo_rec {
	int64_t device_id, time_ms;
	int64_t first_tag;           /* 1: a row of the file's first deviceTag */
};

struct tag_dev {
	int64_t tag, device_id;
	int     made;                /* created by the current file */
};

/* A place named by Google's visits, once per key (placeId, else name and
 * spot); made at the end of the file. */
struct gplace {
	char   key[200];
	char   name[128];
	double lat, lon;
};

/* A fix or a visit, as the parser thread hands it over. Text (the fix's
 * attributes, the visit's names) lives in the batch's text; offsets, as
 * it may move while it grows. */
enum { REC_FIX, REC_VISIT };
#define NO_TEXT UINT32_MAX
struct hand_rec {
	struct fix f;                /* f.attrs unused: attrs */
	int64_t    tag;              /* REC_FIX: deviceTag when has_tag */
	int64_t    end_ms;           /* REC_VISIT: f.time_ms is its start */
	uint32_t   attrs, name, place_id, semantic_type;
	uint8_t    kind, has_tag;
};

struct import_job;
typedef int (*hand_fn)(struct import_job *j, void *arg);

struct hand_batch {
	struct hand_rec *rec;
	size_t           n;
	char            *text;
	size_t           tlen, tcap;
	uint64_t         bytes;      /* input read when handed over, for progress */
	int              tell;       /* progress now: the parser will wait for input */
	hand_fn          call;       /* then run this for the parser, which waits */
	void            *arg;
	int              last;       /* the parser thread is done */
};

/* The batches in flight: free ones go to the parser, full ones to the
 * storing thread, in order (rings of NHAND). */
struct hand {
	pthread_mutex_t    mu;
	pthread_cond_t     cv;       /* a batch freed or filled, or a call answered */
	struct hand_batch  b[NHAND];
	struct hand_batch *free_[NHAND], *full[NHAND];
	size_t             nfree, full_at, nfull;
	int                answered, answer;
	struct hand_batch *cur;      /* the parser's, being filled */
	int                ready;    /* mu and cv initialised */
};

struct import_job {
	struct store          *s;
	struct store_hist     *h;          /* opened at the first place */
	struct import_job_opts o;
	char                  *device_name;
	import_progress_fn     progress;
	import_report_fn       report;
	void                  *ctx;
	struct import_totals   t;
	char                   err[700];
	int64_t                last_progress_ms;
	uint64_t               bytes_before; /* of the inputs done */
	struct archive        *a;            /* the input being read (parser thread) */
	uint64_t               given;        /* bytes a stream handed to it (parser thread) */
	uint64_t               seen;         /* input read, as the last batch said */
	struct hand            hand;
	atomic_int             abort;        /* the store failed: the parser stops the file */
	int                    run_rc;       /* the parser thread's run() */

	/* The file being read. */
	struct importer *im;
	FILE            *undo;
	uint64_t         nundo;
	uint64_t         first_end;         /* records before it may be the first tag's */
	int              in_tx, store_failed;
	int64_t          tx_start;          /* mono ms */
	uint64_t         batch, read_extra, stored, dup, visits, places;
	struct tag_dev  *tags;
	size_t           ntags, tagcap;
	int64_t         *devs;              /* begin_puts' list */
	size_t           devcap;
	int              first_moved;       /* a second tag came: the first's rows move */
	struct gplace   *pl;
	size_t           npl, plcap;
	size_t          *plhash;            /* plhcap slots: index + 1, 0 empty */
	size_t           plhcap;
	char             visit_attrs[32];

	/* Fixes waiting for store_put_fixes; their attrs point into the hand
	 * batch being stored (or visit_attrs), so the run is stored before
	 * that batch goes back to the parser. */
	struct {
		int64_t           dev[PUT_RUN];
		struct fix        fix[PUT_RUN];
		const struct fix *ptr[PUT_RUN];
		int               first[PUT_RUN];
		int               ins[PUT_RUN];
		size_t            n;
	} run;
};

static void hand_free(struct hand *h)
{
	for (size_t i = 0; i < NHAND; i++) {
		free(h->b[i].rec);
		free(h->b[i].text);
	}
	if (h->ready) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
	}
	memset(h, 0, sizeof *h);
}

static int hand_init(struct hand *h)
{
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&h->cv, NULL) != 0) {
		pthread_mutex_destroy(&h->mu);
		return -1;
	}
	h->ready = 1;
	for (size_t i = 0; i < NHAND; i++) {
		h->b[i].rec = malloc(HAND_RECS * sizeof *h->b[i].rec);
		h->b[i].tcap = 64 * 1024;
		h->b[i].text = malloc(h->b[i].tcap);
		if (!h->b[i].rec || !h->b[i].text) {
			hand_free(h);
			return -1;
		}
		h->free_[h->nfree++] = &h->b[i];
	}
	return 0;
}

struct import_job *import_job_new(struct store *s, const struct import_job_opts *o,
                                  import_progress_fn progress, import_report_fn report,
                                  void *ctx)
{
	struct import_job *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->s = s;
	j->o = *o;
	j->device_name = strdup(o->device_name ? o->device_name : "");
	j->undo = tmpfile();
	if (!j->device_name || !j->undo) {
		import_job_free(j);
		return NULL;
	}
	/* A key per fix: one write per 2,730 of them, not per 170. */
	(void)setvbuf(j->undo, NULL, _IOFBF, 64 * 1024);
	j->o.device_name = j->device_name;
	if (hand_init(&j->hand) < 0) {
		import_job_free(j);
		return NULL;
	}
	j->progress = progress;
	j->report = report;
	j->ctx = ctx;
	snprintf(j->visit_attrs, sizeof j->visit_attrs, "{\"google\":\"visit\"}");
	return j;
}

void import_job_free(struct import_job *j)
{
	if (!j)
		return;
	if (j->in_tx)
		(void)store_rollback(j->s);
	import_free(j->im);
	store_hist_close(j->h);
	if (j->undo)
		fclose(j->undo);
	free(j->tags);
	free(j->devs);
	free(j->pl);
	free(j->plhash);
	free(j->device_name);
	hand_free(&j->hand);
	free(j);
}

const char *import_job_error(const struct import_job *j)
{
	return j->err;
}

const struct import_totals *import_job_totals(const struct import_job *j)
{
	return &j->t;
}

static void tell_progress(struct import_job *j, int force)
{
	if (!j->progress)
		return;
	int64_t now = mono_ms();
	if (!force && now - j->last_progress_ms < PROGRESS_MS)
		return;
	j->last_progress_ms = now;
	j->t.bytes = j->seen;
	j->progress(j->ctx, &j->t);
}

/* ---- the store side of one file ---- */

static int begin(struct import_job *j)
{
	if (store_begin(j->s) != STORE_OK)
		return -1;
	j->in_tx = 1;
	j->batch = 0;
	j->tx_start = mono_ms();
	return 0;
}

/* A transaction of the file's fixes: the devices they may go to (DEVICE,
 * the tags' devices; those made inside it need no check) are checked at
 * its start instead of at every row (store_begin_bulk). */
static int begin_puts(struct import_job *j)
{
	array_grow(&j->devs, &j->devcap, j->ntags + 1, sizeof *j->devs);
	j->devs[0] = j->o.device_id;
	for (size_t i = 0; i < j->ntags; i++)
		j->devs[i + 1] = j->tags[i].device_id;
	if (store_begin_bulk(j->s, j->devs, j->ntags + 1) != STORE_OK)
		return -1;
	j->in_tx = 1;
	j->batch = 0;
	j->tx_start = mono_ms();
	return 0;
}

static int commit(struct import_job *j)
{
	j->in_tx = 0;
	if (store_commit(j->s) != STORE_OK) {
		(void)store_rollback(j->s);
		return -1;
	}
	return 0;
}

/* Commits the batch and begins the next, with a gap between. */
static int next_tx(struct import_job *j)
{
	if (commit(j) < 0)
		return -1;
	usleep(GAP_US);
	return begin_puts(j);
}

/* The store failed: the file's further records are dropped, and the
 * parser stops at its next fix and asks for the file to be taken back. */
static void store_stop(struct import_job *j)
{
	j->store_failed = 1;
	atomic_store(&j->abort, 1);
}

static int log_key(struct import_job *j, int64_t device_id, int64_t time_ms, int first_tag)
{
	struct undo_rec r = { device_id, time_ms, first_tag };
	if (fwrite(&r, sizeof r, 1, j->undo) != 1)
		return -1;
	j->nundo++;
	if (first_tag)
		j->first_end = j->nundo;
	return 0;
}

/* Stores the waiting run; 0, or 1 to stop (store_failed set). */
static int flush_run(struct import_job *j)
{
	size_t n = j->run.n;
	j->run.n = 0;
	if (!n || j->store_failed)
		return j->store_failed;
	for (size_t i = 0; i < n; i++)
		j->run.ptr[i] = &j->run.fix[i];
	if (store_put_fixes(j->s, j->run.dev, j->run.ptr, n, j->run.ins) != STORE_OK)
		goto fail;
	uint64_t before = j->t.fixes;
	for (size_t i = 0; i < n; i++) {
		/* -1: a device deleted meanwhile (begin_puts checked them). */
		if (j->run.ins[i] < 0)
			goto fail;
		j->t.fixes++;
		if (j->run.ins[i]) {
			if (log_key(j, j->run.dev[i], j->run.fix[i].time_ms, j->run.first[i]) < 0)
				goto fail;
			j->stored++;
			j->t.stored++;
		} else {
			j->dup++;
			j->t.duplicates++;
		}
	}
	j->batch += n;
	if ((j->batch >= BATCH || mono_ms() - j->tx_start >= TX_MAX_MS) && next_tx(j) < 0)
		goto fail;
	if ((before >> 10) != (j->t.fixes >> 10))
		tell_progress(j, 0);
	return 0;
fail:
	store_stop(j);
	return 1;
}

/* Stores one fix of the file (in a run); 0, or 1 to stop (store_failed set). */
static int put(struct import_job *j, int64_t device_id, const struct fix *f, int first_tag)
{
	size_t k = j->run.n++;
	j->run.dev[k] = device_id;
	j->run.fix[k] = *f;
	j->run.first[k] = first_tag;
	return j->run.n == PUT_RUN ? flush_run(j) : 0;
}

/* "DEVICE (tag N)", found or made (and remembered as made by this file). */
static int tag_device(struct import_job *j, struct tag_dev *td)
{
	char name[160];
	snprintf(name, sizeof name, "%s (tag %" PRId64 ")", j->device_name, td->tag);
	struct device_rec d;
	int rc = store_device_get(j->s, j->o.user_id, name, &d);
	if (rc == STORE_OK) {
		td->device_id = d.id;
		return 0;
	}
	if (rc != STORE_NOTFOUND)
		return -1;
	char tok[TOKEN_LEN + 1];
	unsigned char hash[TOKEN_HASH_LEN];
	if (auth_init() < 0 || auth_token_new(tok) < 0)
		return -1;
	auth_token_hash(tok, hash);
	if (store_device_add(j->s, j->o.user_id, name, hash, NULL, &td->device_id) != STORE_OK)
		return -1;
	td->made = 1;
	return 0;
}

/* The device of a row with deviceTag tag: the first tag seen goes to
 * DEVICE until a second one shows there are several. -1 on a store error. */
static int64_t device_of_tag(struct import_job *j, int64_t tag, int *first)
{
	for (size_t i = 0; i < j->ntags; i++) {
		if (j->tags[i].tag == tag) {
			*first = i == 0 && !j->first_moved;
			return j->tags[i].device_id;
		}
	}
	if (j->ntags == j->tagcap) {
		size_t cap = j->tagcap ? 2 * j->tagcap : 4;
		struct tag_dev *t = realloc(j->tags, cap * sizeof *t);
		if (!t)
			return -1;
		j->tags = t;
		j->tagcap = cap;
	}
	struct tag_dev *td = &j->tags[j->ntags];
	memset(td, 0, sizeof *td);
	td->tag = tag;
	if (j->ntags == 0) {
		td->device_id = j->o.device_id;
		*first = 1;
		j->ntags++;
		return td->device_id;
	}
	/* Several tags: every one gets its own device, the first included;
	 * its rows stored so far move at the end of the file. */
	if (!j->first_moved) {
		if (tag_device(j, &j->tags[0]) < 0)
			return -1;
		j->first_moved = 1;
	}
	if (tag_device(j, td) < 0)
		return -1;
	j->ntags++;
	*first = 0;
	return td->device_id;
}

static char *rec_text(struct hand_batch *b, uint32_t at)
{
	return at == NO_TEXT ? NULL : b->text + at;
}

static int store_fix(struct import_job *j, struct hand_batch *b, const struct hand_rec *r)
{
	struct fix f = r->f;
	f.attrs = rec_text(b, r->attrs);
	int64_t dev = j->o.device_id;
	int first = 0;
	if (r->has_tag) {
		dev = device_of_tag(j, r->tag, &first);
		if (dev < 0) {
			store_stop(j);
			return 1;
		}
	}
	return put(j, dev, &f, first);
}

/* ---- Google's visits: their places ---- */

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int plhash_grow(struct import_job *j)
{
	size_t cap = j->plhcap ? 2 * j->plhcap : 64;
	size_t *t = calloc(cap, sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < j->npl; i++) {
		size_t k = fnv(j->pl[i].key) & (cap - 1);
		while (t[k])
			k = (k + 1) & (cap - 1);
		t[k] = i + 1;
	}
	free(j->plhash);
	j->plhash = t;
	j->plhcap = cap;
	return 0;
}

/* What a visit without a name is called, from Google's semantic type. */
static const char *semantic_name(const char *type)
{
	if (!type)
		return NULL;
	if (strcasecmp(type, "HOME") == 0 || strcasecmp(type, "INFERRED_HOME") == 0 ||
	    strcasecmp(type, "TYPE_HOME") == 0)
		return "Home";
	if (strcasecmp(type, "WORK") == 0 || strcasecmp(type, "INFERRED_WORK") == 0 ||
	    strcasecmp(type, "TYPE_WORK") == 0)
		return "Work";
	return NULL;
}

static int note_place(struct import_job *j, const struct import_visit *v)
{
	const char *name = v->name && *v->name ? v->name : semantic_name(v->semantic_type);
	if (!name)
		return 0;       /* the history makes an unnamed place, as for any stay */
	char key[sizeof j->pl[0].key];
	if (v->place_id && *v->place_id)
		snprintf(key, sizeof key, "id:%s", v->place_id);
	else
		snprintf(key, sizeof key, "%s@%.4f,%.4f", name, v->lat, v->lon);
	if ((j->npl + 1) * 2 > j->plhcap && plhash_grow(j) < 0)
		return -1;
	size_t k = fnv(key) & (j->plhcap - 1);
	for (; j->plhash[k]; k = (k + 1) & (j->plhcap - 1))
		if (strcmp(j->pl[j->plhash[k] - 1].key, key) == 0)
			return 0;
	if (j->npl == j->plcap) {
		size_t cap = j->plcap ? 2 * j->plcap : 16;
		struct gplace *p = realloc(j->pl, cap * sizeof *p);
		if (!p)
			return -1;
		j->pl = p;
		j->plcap = cap;
	}
	struct gplace *p = &j->pl[j->npl];
	snprintf(p->key, sizeof p->key, "%s", key);
	snprintf(p->name, sizeof p->name, "%s", name);
	p->lat = v->lat;
	p->lon = v->lon;
	j->plhash[k] = ++j->npl;
	return 0;
}

static int store_visit(struct import_job *j, const struct import_visit *v)
{
	struct fix f;
	fix_init(&f);
	f.lat = v->lat;
	f.lon = v->lon;
	f.attrs = j->visit_attrs;
	j->visits++;
	j->t.visits++;
	/* Its spot at its start and its end: the stay the history derives. */
	int64_t at[2] = { v->start_ms, v->end_ms };
	for (int i = 0; i < (v->end_ms > v->start_ms ? 2 : 1); i++) {
		f.time_ms = at[i];
		if (fix_check(&f))
			return 0;   /* the parser checked the spot; a time out of range: no fix */
		j->read_extra++;
		if (put(j, j->o.device_id, &f, 0))
			return 1;
	}
	if (note_place(j, v) < 0) {
		store_stop(j);
		return 1;
	}
	return 0;
}

static void store_batch(struct import_job *j, struct hand_batch *b)
{
	for (size_t i = 0; i < b->n && !j->store_failed; i++) {
		const struct hand_rec *r = &b->rec[i];
		if (r->kind == REC_FIX) {
			(void)store_fix(j, b, r);
			continue;
		}
		struct import_visit v = {
			.start_ms = r->f.time_ms, .end_ms = r->end_ms,
			.lat = r->f.lat, .lon = r->f.lon,
			.name = rec_text(b, r->name), .place_id = rec_text(b, r->place_id),
			.semantic_type = rec_text(b, r->semantic_type),
		};
		(void)store_visit(j, &v);
	}
	/* The run's attrs point into b, which goes back to the parser. */
	(void)flush_run(j);
}

/* Gives each noted place a name on the user's map: a new place, or the
 * unnamed one already there. Inside the file's last transaction. */
static int make_places(struct import_job *j)
{
	if (!j->npl)
		return 0;
	if (!j->h && !(j->h = store_hist_open(j->s)))
		return -1;
	for (size_t i = 0; i < j->npl; i++) {
		const struct gplace *g = &j->pl[i];
		struct place_rec p;
		int rc = store_place_near(j->h, j->o.user_id, g->lat, g->lon, hist_dist, &p);
		if (rc == STORE_OK) {
			/* A name the user gave, or a place the user deleted, stays. */
			if (p.deleted || p.named)
				continue;
			if (store_place_update(j->h, j->o.user_id, p.id, g->name, 0) != STORE_OK)
				return -1;
			j->places++;
			continue;
		}
		if (rc != STORE_NOTFOUND)
			return -1;
		memset(&p, 0, sizeof p);
		p.user_id = j->o.user_id;
		p.named = 1;
		snprintf(p.name, sizeof p.name, "%s", g->name);
		p.lat = g->lat;
		p.lon = g->lon;
		p.radius = j->o.place_radius > 0 ? j->o.place_radius : 100;
		p.created_ms = now_ms();
		int64_t id;
		if (store_place_add(j->h, &p, &id) != STORE_OK ||
		    store_place_claim(j->h, j->o.user_id, id, hist_dist) < 0)
			return -1;
		j->places++;
	}
	return 0;
}

/* ---- the undo log ---- */

/* Reads records [at, at + n) of the log; how many, -1 on error. */
static ssize_t undo_read(struct import_job *j, uint64_t at, struct undo_rec *r, size_t n)
{
	ssize_t got = pread(fileno(j->undo), r, n * sizeof *r, (off_t)(at * sizeof *r));
	return got < 0 ? -1 : got / (ssize_t)sizeof *r;
}

static int undo_write(struct import_job *j, uint64_t at, const struct undo_rec *r)
{
	return pwrite(fileno(j->undo), r, sizeof *r, (off_t)(at * sizeof *r)) == (ssize_t)sizeof *r
	               ? 0
	               : -1;
}

static void undo_reset(struct import_job *j)
{
	fflush(j->undo);
	if (ftruncate(fileno(j->undo), 0) == 0)
		rewind(j->undo);
	j->nundo = 0;
	j->first_end = 0;
}

/* Calls fn for each of the first `count` records of the log (or chunk for
 * every run of up to 256 of them, when fn is NULL), UNDO_BATCH of them to
 * a transaction with a gap after each; fn may rewrite the record at its
 * index. 0, or -1 with the transaction left open for the caller. */
static int undo_walk(struct import_job *j, uint64_t count,
                     int (*fn)(struct import_job *j, uint64_t at, const struct undo_rec *r),
                     int (*chunk)(struct import_job *j, const struct undo_rec *r, size_t n))
{
	struct undo_rec r[256];
	if (fflush(j->undo) != 0)
		return -1;
	for (uint64_t at = 0; at < count;) {
		if (begin(j) < 0)
			return -1;
		uint64_t end = at + UNDO_BATCH < count ? at + UNDO_BATCH : count;
		while (at < end) {
			size_t want = end - at < 256 ? (size_t)(end - at) : 256;
			ssize_t n = undo_read(j, at, r, want);
			if (n <= 0)
				return -1;
			if (!fn) {
				if (chunk(j, r, (size_t)n) < 0)
					return -1;
				at += (uint64_t)n;
				continue;
			}
			for (ssize_t i = 0; i < n; i++, at++)
				if (fn(j, at, &r[i]) < 0)
					return -1;
		}
		if (commit(j) < 0)
			return -1;
		usleep(GAP_US);
	}
	return 0;
}

/* A row of the first tag stored in DEVICE goes to the tag's own device:
 * copied there (a duplicate if an earlier import moved it already) and
 * deleted from DEVICE, its log record following it. */
static int move_one(struct import_job *j, uint64_t at, const struct undo_rec *r)
{
	if (!r->first_tag || r->device_id != j->o.device_id)
		return 0;
	int64_t to = j->tags[0].device_id;
	struct fix f;
	int ins = 0, del = 0;
	if (store_fix_first_in(j->s, r->device_id, r->time_ms, r->time_ms, &f) != STORE_OK)
		return -1;
	int rc = store_put_fix(j->s, to, &f, &ins);
	fix_free(&f);
	if (rc != STORE_OK || store_fix_delete_at(j->s, r->device_id, r->time_ms, &del) != STORE_OK)
		return -1;
	if (!ins) {
		j->stored--;
		j->t.stored--;
		j->dup++;
		j->t.duplicates++;
	}
	/* Now only the moved copy, if new, is the file's. */
	struct undo_rec nr = { ins ? to : 0, r->time_ms, 0 };
	return undo_write(j, at, &nr);
}

/* The rows of n records (a moved one's record may name none), in one
 * statement: a PostgreSQL store across a network would pay a round trip
 * per row, and a large file's undo would take minutes. */
static int delete_chunk(struct import_job *j, const struct undo_rec *r, size_t n)
{
	int64_t dev[256], t[256], del;
	size_t k = 0;
	for (size_t i = 0; i < n && k < 256; i++) {
		if (!r[i].device_id)
			continue;
		dev[k] = r[i].device_id;
		t[k++] = r[i].time_ms;
	}
	return store_fix_delete_many(j->s, dev, t, k, &del) == STORE_OK ? 0 : -1;
}

/* Takes back everything the current file stored. 0, or -1 (the store is
 * then left with some of it; the caller says so). */
static int undo_file(struct import_job *j)
{
	if (j->in_tx) {
		j->in_tx = 0;
		(void)store_rollback(j->s);
	}
	if (undo_walk(j, j->nundo, NULL, delete_chunk) < 0) {
		if (j->in_tx) {
			j->in_tx = 0;
			(void)store_rollback(j->s);
		}
		return -1;
	}
	/* Devices this file made hold nothing now. */
	for (size_t i = 0; i < j->ntags; i++)
		if (j->tags[i].made && store_device_del(j->s, j->tags[i].device_id) != STORE_OK)
			return -1;
	return 0;
}

/* ---- one file ---- */

static void file_reset(struct import_job *j)
{
	import_free(j->im);
	j->im = NULL;
	undo_reset(j);
	j->store_failed = 0;
	atomic_store(&j->abort, 0);
	j->batch = j->read_extra = j->stored = j->dup = j->visits = j->places = 0;
	j->ntags = 0;
	j->first_moved = 0;
	j->npl = 0;
	if (j->plhash)
		memset(j->plhash, 0, j->plhcap * sizeof *j->plhash);
}

static void fill_report(struct import_job *j, struct import_file_report *r, const char *name)
{
	memset(r, 0, sizeof *r);
	r->name = name;
	if (!j->im) {
		r->shape = "";
		return;
	}
	r->shape = import_shape(j->im);
	r->read = import_count(j->im) + j->read_extra;
	r->stored = j->stored;
	r->duplicates = j->dup;
	r->rejected = import_rejected(j->im);
	r->skipped_notime = import_skipped_notime(j->im);
	r->skipped_nonpoint = import_skipped_nonpoint(j->im);
	r->skipped_tag = import_skipped_tag(j->im);
	r->visits = j->visits;
	r->places = j->places;
	for (size_t i = 0; i < IMPORT_REASONS && i < r->rejected; i++)
		r->reason[r->nreasons++] = import_reject_reason(j->im, i, &r->reason_line[i]);
}

/* The file stops: its fixes are taken back, the error is recorded and
 * reported. Always -1. */
static int file_fail(struct import_job *j, const char *name, uint64_t line, const char *why)
{
	char reason[400];
	snprintf(reason, sizeof reason, "%s", why && *why ? why : "failed");
	uint64_t stored = j->stored;
	int undone = undo_file(j) == 0;
	j->t.stored -= stored;
	struct import_file_report r;
	fill_report(j, &r, name);
	r.stored = 0;
	r.error = reason;
	r.error_line = line;
	char where[32] = "";
	if (line)
		snprintf(where, sizeof where, ":%" PRIu64, line);
	if (undone)
		snprintf(j->err, sizeof j->err, "%s%s: %s", name, where, reason);
	else
		snprintf(j->err, sizeof j->err,
		         "%s%s: %s; taking its fixes back failed too (%s): some of them stay", name,
		         where, reason, store_errmsg(j->s));
	if (j->report)
		j->report(j->ctx, &r);
	file_reset(j);
	return -1;
}

/* The parser's stop: a store failure behind the callback, or the input's fault. */
static int parse_fail(struct import_job *j, const char *name, int rc)
{
	if (rc == IMPORT_ABORT || j->store_failed) {
		char why[300];
		snprintf(why, sizeof why, "cannot store: %s", store_errmsg(j->s));
		return file_fail(j, name, 0, why);
	}
	return file_fail(j, name, import_error_line(j->im), import_error(j->im));
}

static int file_done(struct import_job *j, const char *name)
{
	/* Only the log's head can hold the first tag's rows: they all came
	 * before the second tag. A walk of the whole log, a 1 GB file's 3 M
	 * records in 640 transactions, took a third of its import. */
	if (commit(j) < 0 || (j->first_moved && undo_walk(j, j->first_end, move_one, NULL) < 0) ||
	    begin(j) < 0 ||
	    make_places(j) < 0 || commit(j) < 0) {
		char why[300];
		snprintf(why, sizeof why, "cannot store: %s", store_errmsg(j->s));
		return file_fail(j, name, 0, why);
	}
	j->t.files++;
	struct import_file_report r;
	fill_report(j, &r, name);
	j->t.rejected += r.rejected;
	if (j->report)
		j->report(j->ctx, &r);
	file_reset(j);
	tell_progress(j, 1);
	return 0;
}

/* The name's format, a trailing compression suffix ignored ("x.gpx.gz"). */
static int format_of_name(const char *name, enum import_format *f)
{
	static const char *const zs[] = { ".gz", ".bz2", ".xz", ".zst" };
	char bare[512];
	snprintf(bare, sizeof bare, "%s", name);
	size_t n = strlen(bare);
	for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
		size_t k = strlen(zs[i]);
		if (n > k && strcasecmp(bare + n - k, zs[i]) == 0) {
			bare[n - k] = 0;
			break;
		}
	}
	return import_detect_name(bare, f);
}

/* ---- the parser thread's side ---- */

/* Input read so far: libarchive counts a block once it is used up, so a
 * stream's own count is not a block behind. */
static uint64_t parser_bytes(struct import_job *j)
{
	uint64_t used = j->a ? (uint64_t)archive_filter_bytes(j->a, -1) : 0;
	return j->bytes_before + (j->given > used ? j->given : used);
}

/* The parser's batch to fill, waiting for a free one. */
static struct hand_batch *hand_cur(struct import_job *j)
{
	struct hand *h = &j->hand;
	if (h->cur)
		return h->cur;
	pthread_mutex_lock(&h->mu);
	while (!h->nfree)
		pthread_cond_wait(&h->cv, &h->mu);
	struct hand_batch *b = h->free_[--h->nfree];
	pthread_mutex_unlock(&h->mu);
	b->n = b->tlen = 0;
	b->tell = b->last = 0;
	b->call = NULL;
	b->arg = NULL;
	h->cur = b;
	return b;
}

/* Hands the batch being filled (even empty) to the storing thread. */
static void hand_send(struct import_job *j)
{
	struct hand *h = &j->hand;
	struct hand_batch *b = hand_cur(j);
	b->bytes = parser_bytes(j);
	pthread_mutex_lock(&h->mu);
	h->full[(h->full_at + h->nfull++) % NHAND] = b;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	h->cur = NULL;
}

/* fn(j, arg) on the storing thread once it has stored everything handed
 * over before; waits for its result. */
static int hand_call(struct import_job *j, hand_fn fn, void *arg)
{
	struct hand *h = &j->hand;
	struct hand_batch *b = hand_cur(j);
	b->call = fn;
	b->arg = arg;
	hand_send(j);
	pthread_mutex_lock(&h->mu);
	while (!h->answered)
		pthread_cond_wait(&h->cv, &h->mu);
	h->answered = 0;
	int rc = h->answer;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/* A record of the batch being filled; a full batch goes first. */
static struct hand_rec *hand_rec(struct import_job *j)
{
	struct hand_batch *b = hand_cur(j);
	if (b->n == HAND_RECS || b->tlen >= HAND_TEXT) {
		hand_send(j);
		b = hand_cur(j);
	}
	return &b->rec[b->n++];
}

/* A copy of t in the batch being filled: its offset, or NO_TEXT. */
static uint32_t hand_text(struct import_job *j, const char *t)
{
	if (!t)
		return NO_TEXT;
	struct hand_batch *b = j->hand.cur;
	size_t n = strlen(t) + 1;
	if (b->tlen + n > b->tcap) {
		while (b->tlen + n > b->tcap)
			b->tcap *= 2;
		b->text = xrealloc(b->text, b->tcap);
	}
	memcpy(b->text + b->tlen, t, n);
	b->tlen += n;
	return (uint32_t)(b->tlen - n);
}

static int on_fix(void *ctx, const struct fix *f)
{
	struct import_job *j = ctx;
	if (atomic_load_explicit(&j->abort, memory_order_relaxed))
		return 1;
	struct hand_rec *r = hand_rec(j);
	r->kind = REC_FIX;
	r->f = *f;
	r->f.attrs = NULL;
	r->has_tag = !j->o.tag_set && import_fix_tag(j->im, &r->tag);
	r->attrs = hand_text(j, f->attrs);
	return 0;
}

static int on_visit(void *ctx, const struct import_visit *v)
{
	struct import_job *j = ctx;
	if (atomic_load_explicit(&j->abort, memory_order_relaxed))
		return 1;
	struct hand_rec *r = hand_rec(j);
	memset(r, 0, sizeof *r);
	r->kind = REC_VISIT;
	r->f.time_ms = v->start_ms;
	r->end_ms = v->end_ms;
	r->f.lat = v->lat;
	r->f.lon = v->lon;
	r->attrs = NO_TEXT;
	r->name = hand_text(j, v->name);
	r->place_id = hand_text(j, v->place_id);
	r->semantic_type = hand_text(j, v->semantic_type);
	return 0;
}

/* What the parser thread asks of the storing thread at a file's end. */
struct file_end {
	const char *name;
	const char *why;        /* file_fail's reason, or NULL: parse_fail's rc */
	int         rc;
};

static int call_begin(struct import_job *j, void *arg)
{
	if (begin_puts(j) == 0)
		return 0;
	char why[300];
	snprintf(why, sizeof why, "cannot store: %s", store_errmsg(j->s));
	return file_fail(j, arg, 0, why);
}

static int call_fail(struct import_job *j, void *arg)
{
	const struct file_end *e = arg;
	return e->why ? file_fail(j, e->name, 0, e->why) : parse_fail(j, e->name, e->rc);
}

/* The parser finished the file; the store may have failed meanwhile. */
static int call_done(struct import_job *j, void *arg)
{
	return j->store_failed ? parse_fail(j, arg, IMPORT_ABORT) : file_done(j, arg);
}

static int fail_file(struct import_job *j, const char *name, const char *why)
{
	struct file_end e = { name, why ? why : "failed", 0 };
	return hand_call(j, call_fail, &e);
}

static int fail_parse(struct import_job *j, const char *name, int rc)
{
	struct file_end e = { name, NULL, rc };
	return hand_call(j, call_fail, &e);
}

static int feed(struct import_job *j, const char *name, const void *data, size_t len)
{
	int rc = import_feed(j->im, data, len);
	return rc == IMPORT_OK ? 0 : fail_parse(j, name, rc);
}

/* One file: the raw input, or an archive's member. In an archive, a
 * member that is no location data (a page, a photo) is passed over. */
static int import_entry(struct import_job *j, struct archive *a, const char *outer,
                        const char *member)
{
	char name[700];
	if (member)
		snprintf(name, sizeof name, "%s:%s", outer, member);
	else
		snprintf(name, sizeof name, "%s", outer);
	enum import_format fmt;
	int by_name = format_of_name(member ? member : outer, &fmt) == 0;
	if (member && !by_name)
		return 0;
	/* The first bytes, for a file its name does not tell. */
	char head[HEAD_MAX];
	size_t nhead = 0;
	const void *blk = NULL;
	size_t blen = 0;
	int64_t off;
	int r = ARCHIVE_OK;
	while (nhead < sizeof head) {
		r = archive_read_data_block(a, &blk, &blen, &off);
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			break;
		size_t take = blen < sizeof head - nhead ? blen : sizeof head - nhead;
		memcpy(head + nhead, blk, take);
		nhead += take;
		blk = (const char *)blk + take;
		blen -= take;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN && r != ARCHIVE_EOF)
		return fail_file(j, name, archive_error_string(a));
	if (!by_name && import_detect_content(head, nhead, &fmt) < 0)
		return fail_file(j, name,
		                 nhead == 0 ? "the file is empty"
		                            : "cannot tell the format (GPX, KML, GeoJSON, a Google "
		                              "export, CSV with a time,lat,lon header, or OwnTracks .rec)");
	j->im = import_new(fmt, on_fix, j);
	if (!j->im)
		return fail_file(j, name, "out of memory");
	if (j->o.tag_set)
		import_set_device_tag(j->im, j->o.tag);
	import_set_visit_cb(j->im, on_visit);
	if (hand_call(j, call_begin, name) < 0)
		return -1;
	if (feed(j, name, head, nhead) < 0)
		return -1;
	while (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (blen && feed(j, name, blk, blen) < 0)
			return -1;
		/* A store failure stops the file even where no fix comes. */
		if (atomic_load_explicit(&j->abort, memory_order_relaxed))
			return fail_parse(j, name, IMPORT_ABORT);
		r = archive_read_data_block(a, &blk, &blen, &off);
	}
	if (r != ARCHIVE_EOF)
		return fail_file(j, name, archive_error_string(a));
	int rc = import_finish(j->im);
	if (rc != IMPORT_OK)
		return fail_parse(j, name, rc);
	return hand_call(j, call_done, name);
}


static struct archive *reader_new(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	/* Built-in decompressors only: never an external program chosen by
	 * the bytes of an uploaded file. */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	/* Last resort, bidding lowest: the input itself is the one file. */
	archive_read_support_format_raw(a);
	return a;
}

/* Every file of the opened input; closes it. On the parser thread. */
static int parse_all(struct import_job *j, struct archive *a, const char *outer)
{
	struct archive_entry *e;
	int r, rc = 0, files = 0;
	j->a = a;
	while (rc == 0 && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
		int raw = archive_format(a) == ARCHIVE_FORMAT_RAW;
		if (!raw && archive_entry_filetype(e) == AE_IFDIR)
			continue;
		files++;
		rc = import_entry(j, a, outer, raw ? NULL : archive_entry_pathname(e));
	}
	if (rc == 0 && r != ARCHIVE_EOF) {
		snprintf(j->err, sizeof j->err, "%s: %s", outer, archive_error_string(a));
		rc = -1;
	} else if (rc == 0 && files == 0 && archive_format(a) == ARCHIVE_FORMAT_EMPTY) {
		snprintf(j->err, sizeof j->err, "%s: the file is empty", outer);
		rc = -1;
	}
	j->bytes_before = parser_bytes(j);
	j->given = 0;
	j->a = NULL;
	archive_read_free(a);
	return rc;
}

struct parse_arg {
	struct import_job *j;
	struct archive    *a;
	const char        *outer;
};

static void *parse_thread(void *arg)
{
	struct parse_arg *pa = arg;
	struct import_job *j = pa->j;
	j->run_rc = parse_all(j, pa->a, pa->outer);
	hand_cur(j)->last = 1;
	hand_send(j);
	return NULL;
}

/* ---- the storing thread's side ---- */

/* Stores what the parser hands over, runs what it asks for, until it is done. */
static void hand_serve(struct import_job *j)
{
	struct hand *h = &j->hand;
	for (;;) {
		pthread_mutex_lock(&h->mu);
		while (!h->nfull)
			pthread_cond_wait(&h->cv, &h->mu);
		struct hand_batch *b = h->full[h->full_at];
		h->full_at = (h->full_at + 1) % NHAND;
		h->nfull--;
		pthread_mutex_unlock(&h->mu);
		j->seen = b->bytes;
		store_batch(j, b);
		tell_progress(j, b->tell);
		int last = b->last, rc = b->call ? b->call(j, b->arg) : 0;
		pthread_mutex_lock(&h->mu);
		if (b->call) {
			h->answered = 1;
			h->answer = rc;
		}
		h->free_[h->nfree++] = b;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		if (last)
			return;
	}
}

/* Every file of the opened input, parsed on a thread of its own and
 * stored on this one; closes it. */
static int run(struct import_job *j, struct archive *a, const char *outer, uint64_t total)
{
	j->t.total = total ? j->bytes_before + total : 0;
	struct parse_arg pa = { j, a, outer };
	pthread_t th;
	if (pthread_create(&th, NULL, parse_thread, &pa) != 0) {
		snprintf(j->err, sizeof j->err, "%s: cannot start the parser thread", outer);
		archive_read_free(a);
		return -1;
	}
	hand_serve(j);
	pthread_join(th, NULL);
	tell_progress(j, 1);
	return j->run_rc;
}

int import_job_path(struct import_job *j, const char *path)
{
	struct archive *a = reader_new();
	if (!a) {
		snprintf(j->err, sizeof j->err, "%s: out of memory", path);
		return -1;
	}
	int is_stdin = strcmp(path, "-") == 0;
	struct stat st;
	uint64_t total = 0;
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(j->err, sizeof j->err, "%s: %s", path, strerror(errno));
		if (fd > 0)
			close(fd);
		archive_read_free(a);
		return -1;
	}
	if (S_ISREG(st.st_mode))
		total = (uint64_t)st.st_size;
	if (archive_read_open_fd(a, fd, 256 * 1024) != ARCHIVE_OK) {
		snprintf(j->err, sizeof j->err, "%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		if (!is_stdin)
			close(fd);
		return -1;
	}
	int rc = run(j, a, path, total);
	if (!is_stdin)
		close(fd);
	return rc;
}

struct stream {
	struct import_job *j;
	import_read_fn     read;
	void              *rctx;
	char              *buf;
};

#define STREAM_BUF (256 * 1024)

static la_ssize_t stream_read(struct archive *a, void *ctx, const void **out)
{
	struct stream *st = ctx;
	const char *why = NULL;
	/* The read may wait for an upload's next bytes: what is parsed so far
	 * is stored and told first. */
	hand_cur(st->j)->tell = 1;
	hand_send(st->j);
	ssize_t n = st->read(st->rctx, st->buf, STREAM_BUF, &why);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", why ? why : "read failed");
		return -1;
	}
	st->j->given += (uint64_t)n;
	*out = st->buf;
	return n;
}

int import_job_read(struct import_job *j, const char *name, uint64_t total,
                    import_read_fn read, void *rctx)
{
	struct stream st = { j, read, rctx, malloc(STREAM_BUF) };
	struct archive *a = st.buf ? reader_new() : NULL;
	if (!a) {
		free(st.buf);
		snprintf(j->err, sizeof j->err, "%s: out of memory", name);
		return -1;
	}
	if (archive_read_open(a, &st, NULL, stream_read, NULL) != ARCHIVE_OK) {
		snprintf(j->err, sizeof j->err, "%s: %s", name, archive_error_string(a));
		archive_read_free(a);
		free(st.buf);
		return -1;
	}
	int rc = run(j, a, name, total);
	free(st.buf);
	return rc;
}
