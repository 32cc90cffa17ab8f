/* `mintrac delete USER DEVICE --from T --to T [--bbox W,S,E,N] [--yes]`
 * and `mintrac prune --older-than AGE [USER [DEVICE]] [--yes]`: fixes
 * taken away for good. The count comes first; without --yes a terminal is
 * asked and anything else is refused, so a script cannot delete by
 * mistake. Deleted in batches of short transactions (the receiver keeps
 * committing meanwhile); the history follows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/age.h"
#include "base/buf.h"
#include "base/point.h"
#include "cli/cli.h"

#define DELETE_BATCH 5000
/* A pause between batches so that a waiting writer (the receiver) gets
 * the lock: SQLite's busy handler retries after 1, 2, 5 ... 100 ms. */
#define DELETE_GAP_US 100000

/* Asked on a terminal; refused (dies, nothing deleted) otherwise, unless
 * --yes was given. */
static void confirm(int yes)
{
	if (yes)
		return;
	if (!isatty(STDIN_FILENO))
		die("not deleting without --yes (no terminal to ask)");
	printf("delete them for good? [y/N] ");
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y'))
		die("nothing deleted");
}

/* The range of one device in batches; *total counts across calls, so an
 * error names how many went before it. */
static void delete_batches(struct store *s, int64_t device_id, int64_t from, int64_t to,
                           const double *box, int64_t *total)
{
	int64_t k;
	while ((k = store_fix_delete_batch(s, device_id, from, to, box, DELETE_BATCH)) > 0) {
		*total += k;
		usleep(DELETE_GAP_US);
	}
	if (k < 0)
		die("deleting stopped after %lld fixes: %s", (long long)*total, store_errmsg(s));
}

int cmd_delete(struct cli *c)
{
	const char *user = NULL, *device = NULL, *from_s = NULL, *to_s = NULL, *bbox_s = NULL;
	int yes = 0;
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		const char **slot = !strcmp(a, "--from") ? &from_s : !strcmp(a, "--to") ? &to_s
		                  : !strcmp(a, "--bbox") ? &bbox_s : NULL;
		if (slot) {
			if (i + 1 >= c->argc)
				die("%s needs a value", a);
			*slot = c->argv[++i];
		} else if (!strcmp(a, "--yes")) {
			yes = 1;
		} else if (a[0] == '-') {
			die("delete: unknown option '%s'", a);
		} else if (!user) {
			user = a;
		} else if (!device) {
			device = a;
		} else {
			die("delete: unexpected argument '%s'", a);
		}
	}
	if (!user || !device)
		die("usage: mintrac delete USER DEVICE --from T --to T [--bbox W,S,E,N] [--yes]");
	if (!from_s || !to_s)
		die("delete: %s T required (ISO 8601 or epoch seconds)", from_s ? "--to" : "--from");
	int64_t from = cli_time_bound("--from", from_s, 0), to = cli_time_bound("--to", to_s, 1);
	double box[4];
	if (bbox_s && parse_bbox(bbox_s, box) < 0)
		die("--bbox: expected W,S,E,N in degrees, got '%s'", bbox_s);
	struct store *s = cli_store(c);
	struct user_rec u;
	struct device_rec d;
	cli_device(s, user, device, &u, &d);
	const double *b = bbox_s ? box : NULL;
	int64_t n = store_fix_count_range(s, d.id, from, to, b);
	if (n < 0)
		die("cannot count fixes: %s", store_errmsg(s));
	printf("%lld fixes of %s/%s from %s to %s%s%s\n", (long long)n, user, device, from_s, to_s,
	       bbox_s ? " in " : "", bbox_s ? bbox_s : "");
	if (n == 0) {
		store_close(s);
		return 0;
	}
	confirm(yes);
	int64_t total = 0;
	delete_batches(s, d.id, from, to, b, &total);
	cli_derive(c, s);
	printf("deleted %lld fixes\n", (long long)total);
	store_close(s);
	return 0;
}

int cmd_prune(struct cli *c)
{
	const char *user = NULL, *device = NULL, *age_s = NULL;
	int yes = 0;
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (!strcmp(a, "--older-than")) {
			if (i + 1 >= c->argc)
				die("%s needs a value", a);
			age_s = c->argv[++i];
		} else if (!strcmp(a, "--yes")) {
			yes = 1;
		} else if (a[0] == '-') {
			die("prune: unknown option '%s'", a);
		} else if (!user) {
			user = a;
		} else if (!device) {
			device = a;
		} else {
			die("prune: unexpected argument '%s'", a);
		}
	}
	if (!age_s)
		die("usage: mintrac prune --older-than AGE [USER [DEVICE]] [--yes]   (AGE: 30d, 6m, 2y)");
	struct age age;
	if (parse_age(age_s, &age) < 0)
		die("--older-than: expected an age such as 30d, 2w, 6m or 2y (days, weeks, months, "
		    "years; at most 1000y), got '%s'", age_s);
	int64_t cutoff = age_cutoff_ms(&age, now_ms());
	struct store *s = cli_store(c);
	struct cli_ids ids = { NULL, 0, 0 };
	struct user_rec u;
	if (device) {
		struct device_rec d;
		cli_device(s, user, device, &u, &d);
		cli_collect_id(&ids, &d);
	} else {
		if (user)
			cli_user(s, user, &u);
		if (store_device_list(s, user ? u.id : 0, cli_collect_id, &ids) != STORE_OK)
			die("cannot list devices: %s", store_errmsg(s));
	}
	int64_t n = 0;
	for (size_t i = 0; i < ids.n; i++) {
		int64_t k = store_fix_count_range(s, ids.id[i], INT64_MIN, cutoff - 1, NULL);
		if (k < 0)
			die("cannot count fixes: %s", store_errmsg(s));
		n += k;
	}
	struct buf when;
	buf_init(&when);
	buf_add_iso_ms(&when, cutoff);
	printf("%lld fixes older than %s (before %s) of %s%s%s\n", (long long)n, age_s, when.data,
	       user ? user : "every user", device ? "/" : "", device ? device : "");
	buf_free(&when);
	int64_t total = 0;
	if (n > 0) {
		confirm(yes);
		for (size_t i = 0; i < ids.n; i++)
			delete_batches(s, ids.id[i], INT64_MIN, cutoff - 1, NULL, &total);
		cli_derive(c, s);
		printf("deleted %lld fixes\n", (long long)total);
	}
	free(ids.id);
	store_close(s);
	return 0;
}
