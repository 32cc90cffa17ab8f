/* Local days (src/history/localday.c): midnights in IANA zones across DST
 * changes, zone and date validation; and segments over days (day.c): a
 * trip across midnight counted in both days by its parts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history/day.h"
#include "history/localday.h"
#include "history/segment.h"
#include "history_gen.h"
#include "test.h"

#define H_MS INT64_C(3600000)

TEST(localday_dst_berlin)
{
	int64_t s, e;
	CHECK_INT(localday_bounds("Europe/Berlin", 2024, 3, 31, &s, &e), 0);
	CHECK_INT(s, INT64_C(1711839600000));          /* 2024-03-30T23:00Z */
	CHECK_INT(e - s, 23 * H_MS);
	CHECK_INT(localday_bounds("Europe/Berlin", 2024, 10, 27, &s, &e), 0);
	CHECK_INT(s, INT64_C(1729980000000));          /* 2024-10-26T22:00Z */
	CHECK_INT(e - s, 25 * H_MS);
	CHECK_INT(localday_bounds("Europe/Berlin", 2024, 6, 11, &s, &e), 0);
	CHECK_INT(s, INT64_C(1718056800000));          /* 2024-06-10T22:00Z */
	CHECK_INT(e - s, 24 * H_MS);
	CHECK_INT(localday_bounds("UTC", 2024, 2, 29, &s, &e), 0);
	CHECK_INT(s, INT64_C(1709164800000));
	CHECK_INT(e - s, 24 * H_MS);
	/* a half-hour zone: midnight on a quarter hour, as day.h assumes */
	CHECK_INT(localday_bounds("Asia/Kolkata", 2024, 1, 1, &s, &e), 0);
	CHECK_INT(s, INT64_C(1704047400000));          /* 2023-12-31T18:30Z */
	/* a year end: the next day is in the next year */
	CHECK_INT(localday_bounds("America/New_York", 2024, 12, 31, &s, &e), 0);
	CHECK_INT(e, INT64_C(1735707600000));          /* 2025-01-01T05:00Z */
}

TEST(localday_bad_input)
{
	int64_t s = 1, e = 2;
	const char *bad[] = { "", "Mars/Base", "../../etc/passwd", "/etc/localtime", "Europe/",
			      "Europe//Berlin", "Europe/Berlin ", "right/UTC", "Europe/../UTC",
			      "Europe", "europe/berlin%00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (localday_zone_ok(bad[i]))
			test_fail(__FILE__, __LINE__, "zone \"%s\" accepted", bad[i]);
		CHECK_INT(localday_bounds(bad[i], 2024, 1, 1, &s, &e), -1);
	}
	CHECK(!localday_zone_ok(NULL));
	CHECK(localday_zone_ok("UTC"));
	CHECK(localday_zone_ok("Europe/Berlin"));
	CHECK(localday_zone_ok("America/Argentina/Buenos_Aires"));
	CHECK_INT(localday_bounds("UTC", 2023, 2, 29, &s, &e), -1);
	CHECK_INT(localday_bounds("UTC", 2024, 13, 1, &s, &e), -1);
	CHECK_INT(localday_bounds("UTC", 2024, 4, 31, &s, &e), -1);
	int y, m, d;
	CHECK_INT(localday_parse_date("2024-03-31", &y, &m, &d), 0);
	CHECK(y == 2024 && m == 3 && d == 31);
	const char *bad_dates[] = { "2024-3-31", "2024-03-32", "2024-00-10", "24-03-31", "2024-03-31x",
				    "2024/03/31", "", "2023-02-29", "0000-01-01" };
	for (size_t i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++)
		if (localday_parse_date(bad_dates[i], &y, &m, &d) == 0)
			test_fail(__FILE__, __LINE__, "date \"%s\" accepted", bad_dates[i]);
}

/* The process's TZ is what it was before, set or not. */
TEST(localday_restores_tz)
{
	int64_t s, e;
	const char *old = getenv("TZ");
	char *saved = old ? xstrdup(old) : NULL;
	setenv("TZ", "Asia/Tokyo", 1);
	CHECK_INT(localday_bounds("Europe/Berlin", 2024, 3, 31, &s, &e), 0);
	CHECK_STR(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
	CHECK_INT(localday_bounds("Europe/Berlin", 2024, 3, 31, &s, &e), 0);
	CHECK(getenv("TZ") == NULL);
	if (saved)
		setenv("TZ", saved, 1);
	free(saved);
}

TEST(day_parts_distance)
{
	struct hist_part p[] = { { 0, 900 }, { HIST_PART_MS, 300 }, { 3 * HIST_PART_MS, 60 } };
	CHECK_DBL(day_parts_distance(p, 3, 0, 4 * HIST_PART_MS), 1260);
	CHECK_DBL(day_parts_distance(p, 3, HIST_PART_MS, 2 * HIST_PART_MS), 300);
	CHECK_DBL(day_parts_distance(p, 3, 0, HIST_PART_MS / 2), 450);   /* a bucket cut in half */
	CHECK_DBL(day_parts_distance(p, 3, 4 * HIST_PART_MS, 9 * HIST_PART_MS), 0);
}

/* A drive from 23:30 to 00:30 at constant speed, between two stays: it
 * belongs to both days, each counting the half it drove. */
static void midnight_drive(int64_t midnight, struct gen *g, struct seglist *l)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	gen_init(g, midnight - 2 * H_MS, 5);
	gen_stay(g, 5400, 30);                   /* until 23:30 */
	gen_move(g, 36000, 0, 10, 1);            /* an hour at 10 m/s */
	gen_stay(g, 7200, 30);
	derive(&cfg, g->f, g->n, l);
}

static void check_split(int64_t d0, int64_t d1, int64_t d2)
{
	struct gen g;
	struct seglist l = { 0 };
	midnight_drive(d1, &g, &l);
	CHECK_INT(l.n, 3);
	if (l.n != 3)
		goto out;
	const struct hist_segment *t = &l.s[1];
	CHECK(t->kind == HIST_TRIP && t->start_ms < d1 && t->end_ms > d1);
	struct day_span days[2] = { { .start_ms = d0, .end_ms = d1 }, { .start_ms = d1, .end_ms = d2 } };
	day_split(l.s, l.n, days, 2);
	CHECK_INT(days[0].first, 0);
	CHECK_INT(days[0].count, 2);             /* the stay before and the trip */
	CHECK_INT(days[1].first, 1);
	CHECK_INT(days[1].count, 2);             /* the trip and the stay after */
	CHECK(fabs(days[0].distance + days[1].distance - t->distance) < 1e-6);
	CHECK(fabs(days[0].distance - t->distance / 2) < t->distance * 0.03);
out:
	seglist_free(&l);
	gen_free(&g);
}

TEST(day_trip_across_midnight)
{
	/* UTC days */
	int64_t d1 = INT64_C(1718064000000);     /* 2024-06-11T00:00Z */
	check_split(d1 - 24 * H_MS, d1, d1 + 24 * H_MS);
	/* Berlin's local days, from the zone */
	int64_t s0, e0, s1, e1;
	CHECK_INT(localday_bounds("Europe/Berlin", 2024, 6, 10, &s0, &e0), 0);
	CHECK_INT(localday_bounds("Europe/Berlin", 2024, 6, 11, &s1, &e1), 0);
	CHECK_INT(e0, s1);
	check_split(s0, s1, e1);
	/* Kolkata's: midnight at :30 of a UTC hour */
	CHECK_INT(localday_bounds("Asia/Kolkata", 2024, 6, 10, &s0, &e0), 0);
	CHECK_INT(localday_bounds("Asia/Kolkata", 2024, 6, 11, &s1, &e1), 0);
	check_split(s0, s1, e1);
}

/* A stay of three days is in each of them; days without segments are
 * empty; the 25-hour day counts what it holds. */
TEST(day_split_long_stay)
{
	struct hist_config cfg;
	hist_config_default(&cfg);
	int64_t b[6];
	for (int i = 0; i < 5; i++) {
		int64_t e;
		CHECK_INT(localday_bounds("Europe/Berlin", 2024, 10, 25 + i, &b[i], &e), 0);
		b[i + 1] = e;
	}
	struct gen g;
	struct seglist l = { 0 };
	gen_init(&g, b[0] + 6 * H_MS, 3);
	gen_stay(&g, 3 * 86400.0, 300);          /* 25th 06:00 .. 28th 06:00 */
	gen_move(&g, 2000, 0, 1.4, 5);
	gen_stay(&g, 3600, 60);
	derive(&cfg, g.f, g.n, &l);
	CHECK_INT(l.n, 3);
	struct day_span days[5];
	for (int i = 0; i < 5; i++)
		days[i] = (struct day_span){ .start_ms = b[i], .end_ms = b[i + 1] };
	day_split(l.s, l.n, days, 5);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(days[i].first, 0);
		CHECK_INT(days[i].count, 1);
		CHECK_DBL(days[i].distance, 0);
	}
	CHECK_INT(days[2].end_ms - days[2].start_ms, 25 * H_MS);
	CHECK_INT(days[3].first, 0);
	CHECK_INT(days[3].count, 3);
	CHECK(days[3].distance > 1700 && days[3].distance < 2050);   /* 2 km less up to a radius at each end */
	CHECK_INT(days[4].count, 0);
	CHECK_DBL(days[4].distance, 0);
	seglist_free(&l);
	gen_free(&g);
}
