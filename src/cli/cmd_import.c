/* `mintrac import USER DEVICE FILE...`: track files into the store.
 * Files are read in 256 KiB chunks and fed to the streaming parsers of
 * import.c; fixes go in through store_put_fix in transactions of 50,000, so
 * an import runs at the speed of the disk in constant memory. A parse error
 * rolls back the open batch only: batches and files committed before it are
 * valid data and stay.
 * Files go through zlib's gzread, which inflates a .gz (several members too)
 * as it reads and passes any other file through unchanged, so a compressed
 * export streams in the same constant memory. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <zlib.h>

#include "cli/cli.h"
#include "io/import.h"

#define CHUNK (256 * 1024)
#define BATCH 50000

struct run {
	struct store *s;
	int64_t       device_id;
	int           in_tx;
	uint64_t      batch;          /* fixes in the open transaction */
	uint64_t      committed;      /* new fixes committed, all files */
	uint64_t      batch_new;      /* new fixes in the open transaction */
	uint64_t      stored, dup;    /* this file */
	int           store_failed;
	char         *chunk;          /* the read buffer, freed on every exit */
	int           tag_set;        /* --tag N: one phone of a Records.json */
	int64_t       tag;
};

static void begin(struct run *r)
{
	if (store_begin(r->s) != STORE_OK)
		die("cannot start a transaction: %s", store_errmsg(r->s));
	r->in_tx = 1;
	r->batch = r->batch_new = 0;
}

static int commit(struct run *r)
{
	if (store_commit(r->s) != STORE_OK)
		return -1;
	r->in_tx = 0;
	r->committed += r->batch_new;
	r->batch = r->batch_new = 0;
	return 0;
}

static int on_fix(void *ctx, const struct fix *f)
{
	struct run *r = ctx;
	int inserted = 0;
	if (store_put_fix(r->s, r->device_id, f, &inserted) != STORE_OK) {
		r->store_failed = 1;
		return 1;
	}
	if (inserted) {
		r->stored++;
		r->batch_new++;
	} else {
		r->dup++;
	}
	if (++r->batch >= BATCH) {
		if (commit(r) < 0) {
			r->store_failed = 1;
			return 1;
		}
		begin(r);
	}
	return 0;
}

/* One line, then exit 1, with the open batch rolled back. */
static _Noreturn void stop(struct run *r, const char *file, uint64_t line, const char *why)
{
	char where[64] = "";
	if (r->in_tx)
		store_rollback(r->s);
	if (line)
		snprintf(where, sizeof where, ":%" PRIu64, line);
	/* Copy the reason: it may live in the store, which closes first. */
	char reason[512];
	snprintf(reason, sizeof reason, "%s", why);
	uint64_t kept = r->committed;
	store_close(r->s);
	free(r->chunk);
	if (kept == 0)
		die("%s%s: %s (import stopped; nothing was stored)", file, where, reason);
	die("%s%s: %s (import stopped; the %" PRIu64 " new fixes committed before it stay stored)",
	    file, where, reason, kept);
}

/* The name without a trailing ".gz" says the format: "x.gpx.gz" is GPX. */
static int detect_name(const char *file, enum import_format *f)
{
	size_t n = strlen(file);
	if (n < 3 || strcasecmp(file + n - 3, ".gz") != 0)
		return import_detect_name(file, f);
	char *bare = strndup(file, n - 3);
	if (!bare)
		die("out of memory");
	int rc = import_detect_name(bare, f);
	free(bare);
	return rc;
}

static enum import_format pick_format(struct run *r, const char *file, const char *head, size_t n)
{
	enum import_format f;
	if (strcmp(file, "-") != 0 && detect_name(file, &f) == 0)
		return f;
	if (import_detect_content(head, n, &f) == 0)
		return f;
	stop(r, file, 0, "cannot tell the format (GPX, KML, GeoJSON, Takeout JSON, CSV with a "
	                 "time,lat,lon header, or OwnTracks .rec)");
}

/* Up to CHUNK bytes; -1 with the reason in *why on a read or inflate error
 * (a truncated .gz among them). */
static long read_chunk(gzFile gz, char *chunk, const char **why)
{
	int n = gzread(gz, chunk, CHUNK);
	if (n >= 0)
		return n;
	int zerr;
	const char *msg = gzerror(gz, &zerr);
	*why = zerr == Z_ERRNO ? strerror(errno) : msg;
	return -1;
}

static void import_file(struct run *r, const char *file, char *chunk)
{
	int is_stdin = strcmp(file, "-") == 0;
	errno = 0;
	gzFile gz = is_stdin ? gzdopen(dup(0), "rb") : gzopen(file, "rb");
	if (!gz)
		stop(r, file, 0, errno ? strerror(errno) : "out of memory");
	const char *why = NULL;
	long n = read_chunk(gz, chunk, &why);
	if (n < 0)
		stop(r, file, 0, why);
	enum import_format fmt = pick_format(r, file, chunk, (size_t)n);
	struct importer *im = import_new(fmt, on_fix, r);
	if (!im)
		die("out of memory");
	if (r->tag_set)
		import_set_device_tag(im, r->tag);
	r->stored = r->dup = 0;
	begin(r);
	int rc = IMPORT_OK;
	while (n > 0 && rc == IMPORT_OK) {
		rc = import_feed(im, chunk, (size_t)n);
		if (rc == IMPORT_OK) {
			n = read_chunk(gz, chunk, &why);
			if (n < 0) {
				char reason[300];
				snprintf(reason, sizeof reason, "%s", why);
				import_free(im);
				stop(r, file, 0, reason);
			}
		}
	}
	if (rc == IMPORT_OK)
		rc = import_finish(im);
	gzclose(gz);
	if (rc == IMPORT_ABORT || r->store_failed) {
		import_free(im);
		stop(r, file, 0, store_errmsg(r->s));
	}
	if (rc != IMPORT_OK) {
		char reason[300];
		snprintf(reason, sizeof reason, "%s", import_error(im));
		uint64_t line = import_error_line(im);
		import_free(im);
		stop(r, file, line, reason);
	}
	if (commit(r) < 0)
		stop(r, file, 0, store_errmsg(r->s));
	printf("%s: %" PRIu64 " fixes read, %" PRIu64 " stored, %" PRIu64 " already stored", file,
	       import_count(im), r->stored, r->dup);
	if (import_skipped_notime(im))
		printf(", skipped %" PRIu64 " points without a time", import_skipped_notime(im));
	if (import_skipped_tag(im))
		printf(", skipped %" PRIu64 " of other deviceTags", import_skipped_tag(im));
	if (import_skipped_nonpoint(im))
		printf(", skipped %" PRIu64 " features that are not points", import_skipped_nonpoint(im));
	if (import_visits(im))
		printf(", %" PRIu64 " visits not stored", import_visits(im));
	if (import_rejected(im))
		printf(", rejected %" PRIu64 " for their values", import_rejected(im));
	printf("\n");
	/* The first reasons, each where grep and an editor find it. */
	uint64_t at;
	const char *reason;
	for (size_t i = 0; (reason = import_reject_reason(im, i, &at)) != NULL; i++)
		printf("  %s:%" PRIu64 ": %s\n", file, at, reason);
	fflush(stdout);
	import_free(im);
}

/* --tag N anywhere among the arguments; the rest move up in argv. */
static void take_tag(struct cli *c, struct run *r)
{
	int n = 0;
	for (int i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--tag") == 0) {
			char *end;
			if (i + 1 == c->argc)
				die("--tag: expected a deviceTag number");
			errno = 0;
			long long v = strtoll(c->argv[++i], &end, 10);
			if (errno || end == c->argv[i] || *end)
				die("--tag: expected a deviceTag number, got '%s'", c->argv[i]);
			r->tag_set = 1;
			r->tag = v;
		} else {
			c->argv[n++] = c->argv[i];
		}
	}
	c->argc = n;
}

int cmd_import(struct cli *c)
{
	struct run r;
	memset(&r, 0, sizeof r);
	take_tag(c, &r);
	if (c->argc < 3)
		die("usage: mintrac import USER DEVICE [--tag N] FILE...");
	r.s = cli_store(c);
	struct user_rec u;
	struct device_rec d;
	cli_device(r.s, c->argv[0], c->argv[1], &u, &d);
	r.device_id = d.id;
	r.chunk = malloc(CHUNK);
	if (!r.chunk)
		die("out of memory");
	for (int i = 2; i < c->argc; i++)
		import_file(&r, c->argv[i], r.chunk);
	free(r.chunk);
	/* Done means the trips and stays are there too. */
	cli_derive(c, r.s);
	store_close(r.s);
	return 0;
}
