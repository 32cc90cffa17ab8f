/* `mintrac export|backup`: data out of the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "cli/cli.h"
#include "io/export.h"
#include "base/point.h"

static int stdout_sink(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	return fwrite(data, 1, len, stdout) == len ? 0 : -1;
}

struct collect {
	int64_t *ids;
	char   **names;
	size_t   n, ids_cap, names_cap;
};

static int collect_device(void *ctx, const struct device_rec *d)
{
	struct collect *c = ctx;
	array_grow(&c->ids, &c->ids_cap, c->n + 1, sizeof *c->ids);
	array_grow(&c->names, &c->names_cap, c->n + 1, sizeof *c->names);
	c->ids[c->n] = d->id;
	c->names[c->n] = xstrdup(d->name);
	c->n++;
	return 0;
}

int cmd_export(struct cli *c)
{
	const char *user = NULL, *device = NULL;
	int64_t from = INT64_MIN, to = INT64_MAX;
	enum export_format fmt = EXPORT_GEOJSON;
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		if ((!strcmp(a, "--from") || !strcmp(a, "--to") || !strcmp(a, "--format")) &&
		    i + 1 < c->argc) {
			const char *v = c->argv[++i];
			if (a[2] == 'f' && a[3] == 'o') {
				if (export_format_parse(v, &fmt) < 0)
					die("--format: expected gpx, geojson, csv or kml, got '%s'", v);
			} else if (a[2] == 'f') {
				from = cli_time_bound(a, v, 0);
			} else {
				to = cli_time_bound(a, v, 1);
			}
		} else if (a[0] == '-') {
			die("unexpected argument '%s'", a);
		} else if (!user) {
			user = a;
		} else if (!device) {
			device = a;
		} else {
			die("unexpected argument '%s'", a);
		}
	}
	if (!user)
		die("usage: mintrac export USER [DEVICE] [--from T] [--to T] [--format gpx|geojson|csv|kml]");
	struct store *s = cli_store(c);
	struct user_rec u;
	struct collect col = { NULL, NULL, 0, 0, 0 };
	if (device) {
		struct device_rec d;
		cli_device(s, user, device, &u, &d);
		collect_device(&col, &d);
	} else {
		cli_user(s, user, &u);
		if (store_device_list(s, u.id, collect_device, &col) != STORE_OK)
			die("cannot list devices: %s", store_errmsg(s));
	}
	int rc = export_write(s, col.ids, (const char *const *)col.names, col.n, from, to, fmt,
	                      stdout_sink, NULL);
	if (rc == STORE_ERR)
		die("export failed: %s", store_errmsg(s));
	if (rc != 0 || fflush(stdout) != 0)
		die("cannot write the export: %s", strerror(errno));
	for (size_t i = 0; i < col.n; i++)
		free(col.names[i]);
	free(col.names);
	free(col.ids);
	store_close(s);
	return 0;
}

int cmd_backup(struct cli *c)
{
	if (c->argc != 1)
		die("usage: mintrac backup FILE");
	struct store *s = cli_store(c);
	int rc = store_backup(s, c->argv[0]);
	if (rc == STORE_EXISTS)
		die("%s exists already: choose a new file", c->argv[0]);
	if (rc != STORE_OK)
		die("backup failed: %s", store_errmsg(s));
	store_close(s);
	char shown[PATH_MAX];
	cli_store_shown(c, shown, sizeof shown);
	printf("backed up %s to %s\n", shown, c->argv[0]);
	return 0;
}
