/* `mintrac import USER DEVICE [--tag N] FILE...`: files into the store
 * through io/import_job.h (plain, compressed or a Takeout archive; every
 * format of import.h; a folder is every such file in it and below). Each file is stored whole or not at all; one line
 * per file says what it held, and on a terminal a progress line shows
 * bytes, fixes, rate and the time left. */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/import_job.h"

struct view {
	int      tty;              /* stderr is a terminal: draw progress */
	int      drawn;            /* a progress line is on the screen */
	double   start;            /* monotonic seconds */
	uint64_t committed;        /* new fixes of the files done */
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void human_bytes(char *out, size_t len, double b)
{
	static const char *const unit[] = { "B", "KB", "MB", "GB", "TB" };
	int u = 0;
	while (b >= 1000 && u < 4) {
		b /= 1000;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

static void clear_line(struct view *v)
{
	if (v->drawn) {
		fputs("\r\033[K", stderr);
		v->drawn = 0;
	}
}

static void on_progress(void *ctx, const struct import_totals *t)
{
	struct view *v = ctx;
	if (!v->tty)
		return;
	double secs = mono() - v->start;
	char done[32], all[32] = "", eta[32] = "";
	human_bytes(done, sizeof done, (double)t->bytes);
	if (t->total) {
		char tot[24];
		human_bytes(tot, sizeof tot, (double)t->total);
		snprintf(all, sizeof all, " of %s", tot);
		if (t->bytes > 0 && t->bytes < t->total && secs > 0.5) {
			long left = (long)(secs * (double)(t->total - t->bytes) / (double)t->bytes);
			snprintf(eta, sizeof eta, ", %ld:%02ld left", left / 60, left % 60);
		}
	}
	fprintf(stderr, "\r\033[K%s%s, %" PRIu64 " fixes, %.0f fixes/s%s", done, all, t->fixes,
	        secs > 0 ? (double)t->fixes / secs : 0.0, eta);
	fflush(stderr);
	v->drawn = 1;
}

static void on_report(void *ctx, const struct import_file_report *r)
{
	struct view *v = ctx;
	clear_line(v);
	if (r->error)
		return;          /* the stop's own message says it */
	v->committed += r->stored;
	printf("%s: %" PRIu64 " fixes read, %" PRIu64 " stored, %" PRIu64 " already stored", r->name,
	       r->read, r->stored, r->duplicates);
	if (r->rejected)
		printf(", rejected %" PRIu64 " for their values", r->rejected);
	if (r->skipped_notime)
		printf(", skipped %" PRIu64 " points without a time", r->skipped_notime);
	if (r->skipped_tag)
		printf(", skipped %" PRIu64 " of other deviceTags", r->skipped_tag);
	if (r->skipped_nonpoint)
		printf(", skipped %" PRIu64 " features that are not points", r->skipped_nonpoint);
	if (r->visits)
		printf(", %" PRIu64 " visits", r->visits);
	if (r->places)
		printf(", %" PRIu64 " places named", r->places);
	if (*r->shape)
		printf(" (%s)", r->shape);
	printf("\n");
	for (size_t i = 0; i < r->nreasons; i++)
		printf("  %s:%" PRIu64 ": %s\n", r->name, r->reason_line[i], r->reason[i]);
	fflush(stdout);
}

/* In a folder, the files a name says are location data or an archive
 * of them; the rest (pictures, pages, dot files) is passed over. */
static int wanted(const char *name)
{
	static const char *const archives[] = { ".zip", ".tar", ".tgz", ".tar.gz" };
	static const char *const zs[] = { ".gz", ".bz2", ".xz", ".zst" };
	size_t n = strlen(name);
	if (name[0] == '.')
		return 0;
	for (size_t i = 0; i < sizeof archives / sizeof archives[0]; i++) {
		size_t k = strlen(archives[i]);
		if (n > k && strcasecmp(name + n - k, archives[i]) == 0)
			return 1;
	}
	char bare[NAME_MAX + 1];
	snprintf(bare, sizeof bare, "%s", name);
	for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
		size_t k = strlen(zs[i]);
		if (n > k && strcasecmp(bare + n - k, zs[i]) == 0) {
			bare[n - k] = 0;
			break;
		}
	}
	enum import_format f;
	return import_detect_name(bare, &f) == 0;
}

struct run {
	struct cli        *c;
	struct store      *s;
	struct import_job *j;
	struct view       *v;
};

static _Noreturn void stopped(struct run *r)
{
	clear_line(r->v);
	char why[800];
	snprintf(why, sizeof why, "%s", import_job_error(r->j));
	import_job_free(r->j);
	/* What the files before it stored is valid data: the history is
	 * brought up to date for it before the exit. */
	if (r->v->committed)
		cli_derive(r->c, r->s);
	store_close(r->s);
	if (r->v->committed == 0)
		die("%s (import stopped; nothing was stored)", why);
	die("%s (import stopped; nothing of this file was stored; the %" PRIu64
	    " new fixes of the files before it stay)", why, r->v->committed);
}

/* A file, or a folder: every wanted file in it and below, in name order
 * (an unpacked Takeout, a folder of GPX tracks). Links to folders are not
 * followed, so a loop cannot recur. */
static void import_path(struct run *r, const char *path, int depth)
{
	struct stat st;
	if (strcmp(path, "-") == 0 || stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (import_job_path(r->j, path) < 0)
			stopped(r);
		return;
	}
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		die("%s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		char sub[PATH_MAX];
		struct stat ls;
		const char *name = names[i]->d_name;
		int fits = snprintf(sub, sizeof sub, "%s/%s", path, name) < (int)sizeof sub;
		if (fits && name[0] != '.' && lstat(sub, &ls) == 0) {
			if (S_ISDIR(ls.st_mode) && depth < 16)
				import_path(r, sub, depth + 1);
			else if (S_ISREG(ls.st_mode) && wanted(name))
				import_path(r, sub, depth);
		}
		free(names[i]);
	}
	free(names);
}

/* --tag N anywhere among the arguments; the rest move up in argv. */
static void take_tag(struct cli *c, struct import_job_opts *o)
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
			o->tag_set = 1;
			o->tag = v;
		} else {
			c->argv[n++] = c->argv[i];
		}
	}
	c->argc = n;
}

int cmd_import(struct cli *c)
{
	struct import_job_opts o;
	memset(&o, 0, sizeof o);
	take_tag(c, &o);
	if (c->argc < 3)
		die("usage: mintrac import USER DEVICE [--tag N] FILE|FOLDER...");
	struct store *s = cli_store_bulk(c);
	struct user_rec u;
	struct device_rec d;
	cli_device(s, c->argv[0], c->argv[1], &u, &d);
	o.user_id = u.id;
	o.device_id = d.id;
	o.device_name = d.name;
	o.place_radius = c->cfg.stay_radius;
	struct view v = { isatty(2), 0, mono(), 0 };
	struct import_job *j = import_job_new(s, &o, on_progress, on_report, &v);
	if (!j)
		die("out of memory");
	struct run r = { c, s, j, &v };
	for (int i = 2; i < c->argc; i++)
		import_path(&r, c->argv[i], 0);
	clear_line(&v);
	import_job_free(j);
	/* Done means the trips and stays are there too. */
	cli_derive(c, s);
	store_close(s);
	return 0;
}
