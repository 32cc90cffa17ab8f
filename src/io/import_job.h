/* Importing into the store: what `mintrac import` and POST /api/imports
 * share. Input is read through libarchive, so a plain file, a .gz (.bz2,
 * .xz) and a Takeout .zip (.tar, .tgz) all stream in constant memory; the
 * fixes go through the parsers of import.h into one user's device.
 *
 * Each file, and each member of an archive, is a unit: it is stored whole,
 * or, when it turns out malformed or cut off, taken back entirely (the
 * keys it added are logged to a temporary file and deleted again), so the
 * store is as it was before that file. Fixes are committed in batches
 * meanwhile, so the receiver's commits never wait for a whole file.
 *
 * Records.json rows of several deviceTags go to one device each, named
 * "DEVICE (tag N)" (only the first tag's rows go to DEVICE while the file
 * shows a single tag; they move once a second one appears); with a tag
 * chosen, only its rows are read. Google visits become named places (a
 * place already holding the spot keeps its name; an unnamed one takes
 * Google's) and two fixes at the visit's spot, at its start and end, so
 * the history derives the stay there.
 *
 * Not thread-safe; one job per store connection. */
#ifndef MINTRAC_IMPORT_JOB_H
#define MINTRAC_IMPORT_JOB_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "io/import.h"
#include "store/store.h"

struct import_job_opts {
	int64_t     user_id;
	int64_t     device_id;      /* DEVICE */
	const char *device_name;    /* DEVICE's name, for "DEVICE (tag N)" */
	int         tag_set;        /* only the rows of deviceTag tag */
	int64_t     tag;
	double      place_radius;   /* metres, for new places of Google visits */
};

/* Everything so far, across files. */
struct import_totals {
	uint64_t bytes, total;      /* input read (as stored: compressed), its size or 0 */
	uint64_t fixes, stored, duplicates, rejected, visits, files;
};

/* One file (or archive member), once it is done or has failed. */
struct import_file_report {
	const char *name;           /* "FILE", or "ARCHIVE:MEMBER" */
	const char *shape;          /* import_shape(), "" when nothing was recognised */
	uint64_t    read, stored, duplicates, rejected;
	uint64_t    skipped_notime, skipped_nonpoint, skipped_tag, visits, places;
	size_t      nreasons;       /* the first rejections */
	const char *reason[IMPORT_REASONS];
	uint64_t    reason_line[IMPORT_REASONS];
	const char *error;          /* NULL, or why the file stopped (nothing of it stays) */
	uint64_t    error_line;     /* 0 when the error has no position */
};

typedef void (*import_progress_fn)(void *ctx, const struct import_totals *t);
typedef void (*import_report_fn)(void *ctx, const struct import_file_report *r);

/* A read callback for import_job_read: up to len bytes into buf; how
 * many, 0 at the end, -1 on failure (the reason in why). */
typedef ssize_t (*import_read_fn)(void *rctx, void *buf, size_t len, const char **why);

struct import_job;
/* progress is called at most every 200 ms and once at the end of each
 * file; report once per file. Either may be NULL. NULL when out of memory. */
struct import_job *import_job_new(struct store *s, const struct import_job_opts *o,
                                  import_progress_fn progress, import_report_fn report,
                                  void *ctx);
void import_job_free(struct import_job *j);             /* NULL-safe */
/* Reads a file ("-": standard input) and imports every file in it. 0, or
 * -1 when it stopped: import_job_error says why; the files before stay. */
int import_job_path(struct import_job *j, const char *path);
/* The same from a stream; name says the format when its extension does
 * (".gz" and the like stripped), total is its size (0 unknown). */
int import_job_read(struct import_job *j, const char *name, uint64_t total,
                    import_read_fn read, void *rctx);
/* "FILE[:LINE]: reason" of the stop, "" when none. */
const char *import_job_error(const struct import_job *j);
const struct import_totals *import_job_totals(const struct import_job *j);
#endif
