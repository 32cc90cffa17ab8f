/* `mintrac trips|timeline|stats USER DEVICE ... [--json]`: the derived
 * history (design.md "History"), as a table in the user's time zone or as
 * the API's JSON. The history is brought up to date first, so the answer
 * holds whether or not the webapp runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/point.h"
#include "base/xalloc.h"
#include "cli/cli.h"
#include "history/day.h"
#include "history/engine.h"
#include "history/localday.h"
#include "history/stats.h"
#include "io/hist_json.h"
#include "store/history_store.h"

struct opts {
	const char *user, *device;
	const char *from, *to, *date, *year;
	int json;
};

static void parse(struct cli *c, const char *cmd, const char *flags, struct opts *o)
{
	memset(o, 0, sizeof *o);
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		const char **slot = !strcmp(a, "--from") ? &o->from : !strcmp(a, "--to") ? &o->to
		                  : !strcmp(a, "--date") ? &o->date : !strcmp(a, "--year") ? &o->year
		                  : NULL;
		if (slot && strstr(flags, a)) {
			if (i + 1 >= c->argc)
				die("%s needs a value", a);
			*slot = c->argv[++i];
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (a[0] == '-') {
			die("%s: unknown option '%s'", cmd, a);
		} else if (!o->user) {
			o->user = a;
		} else if (!o->device) {
			o->device = a;
		} else {
			die("%s: unexpected argument '%s'", cmd, a);
		}
	}
	if (!o->user || !o->device)
		die("usage: mintrac %s USER DEVICE %s [--json]", cmd, flags);
}

static const char *zone_of(const struct user_rec *u)
{
	return u->timezone[0] ? u->timezone : "UTC";
}

/* ---- the table ---- */

struct table {
	struct store_hist *h;
	int64_t user_id;
	const char *zone;
	struct buf *json;        /* --json: segments written here */
	int first;
	int64_t day_start, day_end;
	double distance;
};

static void clock_of(const char *zone, int64_t t, char out[17])
{
	if (localday_clock(zone, t, out) < 0)
		snprintf(out, 17, "?");
}

static int row(void *ctx, const struct seg_rec *r)
{
	struct table *t = ctx;
	struct place_rec p;
	int have_place = r->kind == SEG_STAY && r->place_id &&
	                 store_place_get(t->h, t->user_id, r->place_id, &p) == STORE_OK;
	if (r->kind == SEG_TRIP && t->day_end > t->day_start && r->parts_len) {
		size_t n = r->parts_len / HIST_PART_BYTES;
		struct hist_part *parts = xmalloc(n * sizeof *parts);
		hist_parts_decode(r->parts, r->parts_len, parts, n);
		t->distance += day_parts_distance(parts, n, t->day_start, t->day_end);
		free(parts);
	}
	if (t->json) {
		if (!t->first)
			buf_addc(t->json, ',');
		t->first = 0;
		hist_json_segment(t->json, r, have_place ? &p : NULL);
		return 0;
	}
	char a[17], b[17];
	clock_of(t->zone, r->start_ms, a);
	clock_of(t->zone, r->end_ms, b);
	if (r->kind == SEG_STAY) {
		const char *what = have_place && p.named ? p.name : have_place && p.city[0] ? p.city
		                 : "(unnamed place)";
		printf("%s  %s  stay  %s%s\n", a, b + 11, what, r->open ? "  (still there)" : "");
	} else {
		double mins = r->duration_s / 60;
		printf("%s  %s  trip  %.1f km, %.0f min, %s%s%s\n", a, b + 11, r->distance / 1000, mins,
		       hist_json_mode(r->mode), r->gap ? ", no fixes between" : "",
		       r->open ? "  (under way)" : "");
	}
	return 0;
}

int cmd_trips(struct cli *c)
{
	struct opts o;
	parse(c, "trips", "--from T --to T", &o);
	int64_t from = cli_time_bound("--from", o.from, 0), to = cli_time_bound("--to", o.to, 1);
	struct store *s = cli_store(c);
	struct user_rec u;
	struct device_rec d;
	cli_device(s, o.user, o.device, &u, &d);
	cli_derive(c, s);
	struct buf b;
	buf_init(&b);
	struct table t = { .h = store_hist_open(s), .user_id = u.id, .zone = zone_of(&u),
	                   .json = o.json ? &b : NULL, .first = 1 };
	if (o.json) {
		buf_adds(&b, "{\"device\":");
		buf_add_json_str(&b, d.name);
		buf_adds(&b, ",\"segments\":[");
	}
	if (store_hist_segments(t.h, d.id, from, to, row, &t) != STORE_OK)
		die("cannot read the history: %s", store_hist_errmsg(t.h));
	if (o.json) {
		buf_adds(&b, "]}\n");
		fwrite(b.data, 1, b.len, stdout);
	}
	buf_free(&b);
	store_hist_close(t.h);
	store_close(s);
	return 0;
}

int cmd_timeline(struct cli *c)
{
	struct opts o;
	parse(c, "timeline", "--date D", &o);
	int y, m, dd;
	if (!o.date || localday_parse_date(o.date, &y, &m, &dd) < 0)
		die("timeline: --date YYYY-MM-DD required");
	struct store *s = cli_store(c);
	struct user_rec u;
	struct device_rec d;
	cli_device(s, o.user, o.device, &u, &d);
	int64_t start, end;
	if (localday_bounds(zone_of(&u), y, m, dd, &start, &end) < 0)
		die("timeline: cannot use the date %s in %s", o.date, zone_of(&u));
	cli_derive(c, s);
	struct buf b;
	buf_init(&b);
	struct table t = { .h = store_hist_open(s), .user_id = u.id, .zone = zone_of(&u),
	                   .json = o.json ? &b : NULL, .first = 1, .day_start = start,
	                   .day_end = end };
	if (!o.json)
		printf("%s in %s\n", o.date, zone_of(&u));
	if (store_hist_segments(t.h, d.id, start, end - 1, row, &t) != STORE_OK)
		die("cannot read the history: %s", store_hist_errmsg(t.h));
	if (o.json) {
		struct buf out;
		buf_init(&out);
		buf_adds(&out, "{\"device\":");
		buf_add_json_str(&out, d.name);
		buf_adds(&out, ",\"date\":");
		buf_add_json_str(&out, o.date);
		buf_adds(&out, ",\"timezone\":");
		buf_add_json_str(&out, zone_of(&u));
		buf_adds(&out, ",\"distance\":");
		buf_add_double(&out, round(t.distance * 1000) / 1000);
		buf_adds(&out, ",\"segments\":[");
		buf_add(&out, b.data, b.len);
		buf_adds(&out, "]}\n");
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
	} else {
		printf("distance: %.1f km\n", t.distance / 1000);
	}
	buf_free(&b);
	store_hist_close(t.h);
	store_close(s);
	return 0;
}

int cmd_stats(struct cli *c)
{
	struct opts o;
	parse(c, "stats", "--year Y", &o);
	int year = 0;
	if (o.year) {
		char *e;
		year = (int)strtol(o.year, &e, 10);
		if (!*o.year || *e || year < 1900 || year > 9999)
			die("stats: --year: expected a year such as 2024, got '%s'", o.year);
	}
	struct store *s = cli_store(c);
	struct user_rec u;
	struct device_rec d;
	cli_device(s, o.user, o.device, &u, &d);
	cli_derive(c, s);
	struct store_hist *h = store_hist_open(s);
	struct hist_stats st;
	char err[256];
	if (hist_stats(h, d.id, u.id, zone_of(&u), year, &st, err, sizeof err) != 0)
		die("stats: %s", err);
	if (o.json) {
		struct buf b;
		buf_init(&b);
		hist_json_stats(&b, d.name, zone_of(&u), year, &st, NULL, NULL);
		buf_addc(&b, '\n');
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
	} else {
		printf("%s: %.1f km on %d days (%s)\n", d.name, st.distance / 1000, st.days, zone_of(&u));
		for (size_t i = 0; i < st.nmonths; i++)
			if (st.months[i].days || st.months[i].distance > 0)
				printf("  %s  %8.1f km  %3d days\n", st.months[i].key,
				       st.months[i].distance / 1000, st.months[i].days);
		for (size_t i = 0; i < st.ncountries; i++)
			printf("  country %s: %d days, %s .. %s\n", st.countries[i].country,
			       st.countries[i].days, st.countries[i].first, st.countries[i].last);
		for (size_t i = 0; i < st.ncities; i++)
			printf("  city %s (%s): %d days, %s .. %s\n", st.cities[i].name,
			       st.cities[i].country, st.cities[i].days, st.cities[i].first,
			       st.cities[i].last);
	}
	hist_stats_free(&st);
	store_hist_close(h);
	store_close(s);
	return 0;
}
