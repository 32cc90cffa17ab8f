/* age.c: the ages of retention and prune, their calendar cutoffs, and the
 * settings retention and prune_delay. */
#include "base/age.h"
#include "base/config.h"
#include "base/point.h"
#include "test.h"

#include <time.h>

static int age_ok(const char *s, int n, char unit)
{
	struct age a = { -1, '?' };
	return parse_age(s, &a) == 0 && a.n == n && a.unit == unit;
}

static int age_bad(const char *s)
{
	struct age a = { -1, '?' };
	return parse_age(s, &a) < 0 && a.n == -1 && a.unit == '?';
}

static int64_t iso(const char *s)
{
	int64_t ms = -1;
	return parse_time(s, &ms) < 0 ? -1 : ms;
}

static int64_t cutoff(const char *age, const char *now)
{
	struct age a;
	if (parse_age(age, &a) < 0)
		return -1;
	return age_cutoff_ms(&a, iso(now));
}

TEST(age_parse_accepts)
{
	CHECK(age_ok("30d", 30, 'd'));
	CHECK(age_ok("2w", 2, 'w'));
	CHECK(age_ok("6m", 6, 'm'));
	CHECK(age_ok("2y", 2, 'y'));
	CHECK(age_ok("1d", 1, 'd'));
	CHECK(age_ok("007d", 7, 'd'));
	CHECK(age_ok("366000d", 366000, 'd'));
	CHECK(age_ok("52300w", 52300, 'w'));
	CHECK(age_ok("12000m", 12000, 'm'));
	CHECK(age_ok("1000y", 1000, 'y'));
}

TEST(age_parse_rejects)
{
	CHECK(age_bad(NULL));
	CHECK(age_bad(""));
	CHECK(age_bad("0d"));
	CHECK(age_bad("0"));
	CHECK(age_bad("-1d"));
	CHECK(age_bad("+1d"));
	CHECK(age_bad(" 1d"));
	CHECK(age_bad("1d "));
	CHECK(age_bad("1 d"));
	CHECK(age_bad("30"));           /* a unit is required */
	CHECK(age_bad("d"));
	CHECK(age_bad("1h"));
	CHECK(age_bad("1D"));
	CHECK(age_bad("1.5y"));
	CHECK(age_bad("1dd"));
	CHECK(age_bad("2y1m"));
	CHECK(age_bad("abc"));
	CHECK(age_bad("366001d"));
	CHECK(age_bad("52301w"));
	CHECK(age_bad("12001m"));
	CHECK(age_bad("1001y"));
	CHECK(age_bad("99999999999999999999d"));   /* would overflow */
	CHECK(age_bad("9223372036854775808y"));
}

TEST(age_cutoff_calendar)
{
	CHECK_INT(cutoff("30d", "2024-05-31T10:00:00.250Z"), iso("2024-05-01T10:00:00.250Z"));
	CHECK_INT(cutoff("2w", "2024-05-15T00:00:00Z"), iso("2024-05-01T00:00:00Z"));
	CHECK_INT(cutoff("6m", "2024-05-15T08:30:00Z"), iso("2023-11-15T08:30:00Z"));
	CHECK_INT(cutoff("2y", "2024-05-15T08:30:00.5Z"), iso("2022-05-15T08:30:00.5Z"));
	/* The day is clamped to the shorter month's end. */
	CHECK_INT(cutoff("6m", "2024-08-31T12:00:00Z"), iso("2024-02-29T12:00:00Z"));
	CHECK_INT(cutoff("1m", "2023-03-31T12:00:00Z"), iso("2023-02-28T12:00:00Z"));
	CHECK_INT(cutoff("1y", "2024-02-29T00:00:00Z"), iso("2023-02-28T00:00:00Z"));
	/* Across the year boundary. */
	CHECK_INT(cutoff("3m", "2024-01-10T00:00:00Z"), iso("2023-10-10T00:00:00Z"));
	CHECK_INT(cutoff("12m", "2024-01-10T00:00:00Z"), iso("2023-01-10T00:00:00Z"));
	/* Before 1970 too (the longest age from now). */
	struct tm tm = { .tm_year = 1024 - 1900, .tm_mon = 0, .tm_mday = 10 };
	CHECK_INT(cutoff("1000y", "2024-01-10T00:00:00Z"), (int64_t)timegm(&tm) * 1000);
}

TEST(age_config_retention)
{
	struct config c;
	char err[256] = "";
	memset(&c, 0, sizeof c);
	CHECK_INT(config_set(&c, "retention", "2y", err, sizeof err), 0);
	CHECK(c.retention.n == 2 && c.retention.unit == 'y');
	CHECK_INT(config_set(&c, "retention", "none", err, sizeof err), 0);
	CHECK_INT(c.retention.n, 0);
	CHECK_INT(config_set(&c, "retention", "18 months", err, sizeof err), -1);
	CHECK(strstr(err, "retention: expected an age such as 30d") != NULL);
	CHECK(strstr(err, "'18 months'") != NULL);
	CHECK_INT(config_set(&c, "prune_delay", "5m", err, sizeof err), 0);
	CHECK_DBL(c.prune_delay, 300);
	CHECK_INT(config_set(&c, "prune_delay", "0", err, sizeof err), -1);
	CHECK_INT(config_set(&c, "prune_delay", "2d", err, sizeof err), -1);
}
