/* Local days (localday.h): tz database lookups through the C library. */
#include "history/localday.h"
#include "base/tzname.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* One rule for zone names, the users' (base/tzname.h). */
int localday_zone_ok(const char *name)
{
	return tzname_check(name) == NULL;
}

static int days_in(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

static int date_ok(int y, int m, int d)
{
	return y >= 1900 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in(y, m);
}

int localday_parse_date(const char *s, int *y, int *m, int *d)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int yy = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int mm = (s[5] - '0') * 10 + (s[6] - '0');
	int dd = (s[8] - '0') * 10 + (s[9] - '0');
	if (!date_ok(yy, mm, dd))
		return -1;
	*y = yy;
	*m = mm;
	*d = dd;
	return 0;
}

/* Local midnight of y-m-d (mday may be one past the month's end: mktime
 * carries it) under the TZ currently set. */
static int midnight(int y, int m, int d, int64_t *ms)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1 };
	time_t t = mktime(&tm);
	if (t == (time_t)-1)   /* no local midnight is one second before the epoch */
		return -1;
	*ms = (int64_t)t * 1000;
	return 0;
}

int localday_bounds(const char *zone, int y, int m, int d, int64_t *start_ms, int64_t *end_ms)
{
	if (!date_ok(y, m, d) || !localday_zone_ok(zone))
		return -1;
	const char *old = getenv("TZ");
	char *saved = old ? xstrdup(old) : NULL;
	char *tz = xmalloc(strlen(zone) + 2);
	tz[0] = ':';   /* a file of the database, never a POSIX rule string */
	strcpy(tz + 1, zone);
	setenv("TZ", tz, 1);
	tzset();
	int rc = midnight(y, m, d, start_ms) == 0 && midnight(y, m, d + 1, end_ms) == 0 ? 0 : -1;
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	free(tz);
	return rc;
}

int localday_clock(const char *zone, int64_t t_ms, char out[17])
{
	if (!localday_zone_ok(zone))
		return -1;
	const char *old = getenv("TZ");
	char *saved = old ? xstrdup(old) : NULL;
	char *tz = xmalloc(strlen(zone) + 2);
	tz[0] = ':';
	strcpy(tz + 1, zone);
	setenv("TZ", tz, 1);
	tzset();
	time_t t = (time_t)(t_ms >= 0 ? t_ms / 1000 : -((-t_ms + 999) / 1000));
	struct tm tm;
	int rc = localtime_r(&t, &tm) && strftime(out, 17, "%Y-%m-%d %H:%M", &tm) == 16 ? 0 : -1;
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	free(tz);
	return rc;
}
