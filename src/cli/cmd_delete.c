/* `mintrac delete USER DEVICE --from T --to T [--bbox W,S,E,N] [--yes]`:
 * fixes taken away for good. The count comes first; without --yes a
 * terminal is asked and anything else is refused, so a script cannot
 * delete by mistake. Deleted in batches of short transactions (the
 * receiver keeps committing meanwhile); the history follows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/point.h"
#include "cli/cli.h"

#define DELETE_BATCH 5000
/* A pause between batches so that a waiting writer (the receiver) gets
 * the lock: SQLite's busy handler retries after 1, 2, 5 ... 100 ms. */
#define DELETE_GAP_US 100000

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
	if (!yes) {
		if (!isatty(STDIN_FILENO))
			die("not deleting without --yes (no terminal to ask)");
		printf("delete them for good? [y/N] ");
		fflush(stdout);
		char line[16];
		if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y'))
			die("nothing deleted");
	}
	int64_t total = 0, k;
	while ((k = store_fix_delete_batch(s, d.id, from, to, b, DELETE_BATCH)) > 0) {
		total += k;
		usleep(DELETE_GAP_US);
	}
	if (k < 0)
		die("deleting stopped after %lld fixes: %s", (long long)total, store_errmsg(s));
	cli_derive(c, s);
	printf("deleted %lld fixes\n", (long long)total);
	store_close(s);
	return 0;
}
