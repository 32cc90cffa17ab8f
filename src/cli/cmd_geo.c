/* `mintrac geo load [DIR] | status | lookup LAT LON... [--json]`: the
 * offline place names (io/geodata.h, history/geo_lookup.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "cli/cli.h"
#include "history/geo_lookup.h"
#include "io/geodata.h"

/* Where scripts/setup.sh installs the data (geodata/node_modules of the
 * source tree, compiled in by the Makefile); MINTRAC_GEODATA overrides. */
#ifndef MINTRAC_GEODATA_DIR
#define MINTRAC_GEODATA_DIR "geodata/node_modules"
#endif

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int geo_load(struct cli *c)
{
	if (c->argc > 2)
		die("usage: mintrac geo load [DIR]");
	const char *dir = c->argc == 2 ? c->argv[1] : getenv("MINTRAC_GEODATA");
	if (!dir || !*dir)
		dir = MINTRAC_GEODATA_DIR;
	struct store *s = cli_store(c);
	struct geodata_stats st;
	char err[1024];
	double t0 = now_s();
	if (geodata_load(s, dir, &st, err, sizeof err) < 0)
		die("geo load: %s (install the data with 'bash scripts/setup.sh')", err);
	store_close(s);
	printf("loaded %zu countries (%zu shapes, %zu territories named from their places, "
	       "%zu without a code) and %zu places from %s in %.1f s\n",
	       st.countries, st.shapes, st.resolved, st.unknown, st.cities, dir, now_s() - t0);
	return 0;
}

static int geo_status(struct cli *c)
{
	if (c->argc != 1)
		die("usage: mintrac geo status");
	struct store *s = cli_store(c);
	struct store_geo *sg = store_geo_open(s);
	int64_t countries, cities;
	if (store_geo_count(sg, &countries, &cities) != STORE_OK)
		die("geo status: %s", store_geo_errmsg(sg));
	store_geo_close(sg);
	store_close(s);
	if (!countries && !cities) {
		printf("no geodata loaded: run 'mintrac geo load'\n");
		return 1;
	}
	printf("%lld country shapes, %lld places\n", (long long)countries, (long long)cities);
	return 0;
}

static double parse_deg(const char *text, double limit)
{
	char *end;
	double v = strtod(text, &end);
	if (end == text || *end || !(v >= -limit && v <= limit))
		die("geo lookup: '%s' is not a coordinate within ±%g", text, limit);
	return v;
}

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static void print_place(double lat, double lon, const struct geo_place *p, int as_json)
{
	if (!as_json) {
		printf("%.6f,%.6f\t%s\t%s\t%s", lat, lon, p->country[0] ? p->country : "-",
		       p->country_name[0] ? p->country_name : "-", p->city[0] ? p->city : "-");
		if (p->city[0])
			printf(" (%s, %.1f km)", p->city_country, p->city_distance_m / 1000);
		printf("\n");
		return;
	}
	json_t *o = json_pack("{s:f,s:f,s:o,s:o,s:o,s:o,s:o}", "lat", lat, "lon", lon,
	                      "country", str_or_null(p->country),
	                      "country_name", str_or_null(p->country_name),
	                      "city", str_or_null(p->city),
	                      "city_country", str_or_null(p->city_country),
	                      "city_distance", p->city[0] ? json_real(p->city_distance_m)
	                                                  : json_null());
	if (!o)
		xalloc_die();
	char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (!text)
		xalloc_die();
	printf("%s\n", text);
	free(text);
	json_decref(o);
}

static int geo_lookup_cmd(struct cli *c)
{
	int as_json = 0, n = 0;
	double *ll = xmalloc((size_t)c->argc * sizeof *ll);
	for (int i = 1; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--json")) {
			as_json = 1;
		}
		else {
			ll[n] = parse_deg(c->argv[i], n % 2 ? 180 : 90);
			n++;
		}
	}
	if (n == 0 || n % 2)
		die("usage: mintrac geo lookup LAT LON [LAT LON]... [--json]");
	struct store *s = cli_store(c);
	struct geo *g = geo_open(s);
	if (geo_loaded(g) == 0)
		fprintf(stderr, "mintrac: no geodata loaded: run 'mintrac geo load'\n");
	for (int i = 0; i < n; i += 2) {
		struct geo_place p;
		if (geo_lookup(g, ll[i], ll[i + 1], &p) != STORE_OK)
			die("geo lookup: %s", geo_errmsg(g));
		print_place(ll[i], ll[i + 1], &p, as_json);
	}
	geo_close(g);
	store_close(s);
	free(ll);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_geo(struct cli *c)
{
	const char *sub = c->argc > 0 ? c->argv[0] : "";
	if (!strcmp(sub, "load"))
		return geo_load(c);
	if (!strcmp(sub, "status"))
		return geo_status(c);
	if (!strcmp(sub, "lookup"))
		return geo_lookup_cmd(c);
	die("usage: mintrac geo load [DIR] | status | lookup LAT LON... [--json]");
}
