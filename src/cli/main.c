/* mintrac: CLI dispatch (a table of commands), nothing else. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/log.h"

static const struct command {
	const char *name;
	int       (*fn)(struct cli *c);
	const char *usage;
} commands[] = {
	{ "init",   cmd_init,   "init                         create DATADIR, database and config" },
	{ "run",    cmd_run,    "run   [--receiver|--webapp]  serve in the foreground" },
	{ "start",  cmd_start,  "start [--receiver|--webapp]  serve in the background" },
	{ "stop",   cmd_stop,   "stop  [--receiver|--webapp]  stop background servers" },
	{ "status", cmd_status, "status                       what runs, where, points stored" },
	{ "user",   cmd_user,   "user add NAME [--password-stdin] | list | del NAME | passwd NAME [--password-stdin] | set NAME --timezone ZONE" },
	{ "device", cmd_device, "device add USER DEVICE [--ident ID] [--json] | list [USER] | del USER DEVICE | token USER DEVICE [--json]" },
	{ "import", cmd_import, "import USER DEVICE [--tag N] FILE|FOLDER...  GPX, KML, GeoJSON, CSV, .rec, any Google export; .gz, Takeout .zip" },
	{ "export", cmd_export, "export USER [DEVICE] [--from T] [--to T] [--format gpx|geojson|csv|kml]" },
	{ "trips",  cmd_trips,  "trips USER DEVICE [--from T] [--to T] [--json]     stays and trips" },
	{ "timeline", cmd_timeline, "timeline USER DEVICE --date D [--json]     one local day" },
	{ "stats",  cmd_stats,  "stats USER DEVICE [--year Y] [--json]       distance, days, places" },
	{ "delete", cmd_delete, "delete USER DEVICE --from T --to T [--bbox W,S,E,N] [--yes]   fixes, for good" },
	{ "prune",  cmd_prune,  "prune --older-than AGE [USER [DEVICE]] [--yes]   fixes older than AGE (30d, 2w, 6m, 2y), for good" },
	{ "demo",   cmd_demo,   "demo [USER DEVICE] [--date D] | demo --remove [USER [DEVICE]]   a generated demo day" },
	{ "geo",    cmd_geo,    "geo load [DIR] | status | lookup LAT LON... [--json]   offline country and city names" },
	{ "backup", cmd_backup, "backup FILE                  online, consistent copy of the database" },
	{ "migrate", cmd_migrate, "migrate --to LOCATION        copy the store to sqlite:PATH or postgresql://..." },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: mintrac [-d DATADIR] [-c CONFIG] [--store LOCATION] COMMAND ...\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %s\n", commands[i].usage);
	fprintf(out, "run/start also take --receiver-listen ADDR:PORT and --webapp-listen ADDR:PORT\n");
	fprintf(out, "LOCATION: sqlite:PATH (default DATADIR/mintrac.db) or postgresql://USER@HOST:PORT/DB\n");
}

int main(int argc, char **argv)
{
	const char *datadir = NULL, *conffile = NULL, *store = NULL;
	int i = 1;
	/* A file-size limit (ulimit -f) must fail a write, which SQLite
	 * reports and we answer with 503, not kill the process mid-commit. */
	signal(SIGXFSZ, SIG_IGN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((!strcmp(argv[i], "-d") || !strcmp(argv[i], "-c")) && i + 1 < argc) {
			if (argv[i][1] == 'd')
				datadir = argv[++i];
			else
				conffile = argv[++i];
		} else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
			store = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			die("unknown option '%s' (try 'mintrac --help')", argv[i]);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const struct command *cmd = NULL;
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
		if (!strcmp(commands[k].name, argv[i]))
			cmd = &commands[k];
	if (!cmd)
		die("unknown command '%s' (try 'mintrac --help')", argv[i]);
	struct cli c;
	char err[512];
	memset(&c, 0, sizeof c);
	if (config_load(&c.cfg, datadir, conffile, err, sizeof err) < 0)
		die("%s", err);
	if (store && config_set(&c.cfg, "store", store, err, sizeof err) < 0)
		die("--store: %s", err);
	log_set_level(c.cfg.log_level);
	c.argc = argc - i - 1;
	c.argv = argv + i + 1;
	c.have_datadir_flag = datadir != NULL;
	return cmd->fn(&c);
}
