#include "base/age.h"

#include <string.h>
#include <time.h>

#define DAY_MS INT64_C(86400000)

int parse_age(const char *s, struct age *out)
{
	if (!s)
		return -1;
	long n = 0;
	const char *p = s;
	/* Digits only (strtol would take signs and spaces); seven digits are
	 * more than any unit's limit, so n cannot overflow. */
	for (; *p >= '0' && *p <= '9'; p++) {
		if (p - s >= 7)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (p == s || !p[0] || p[1])
		return -1;
	long max = *p == 'd' ? 366000 : *p == 'w' ? 52300 : *p == 'm' ? 12000 : *p == 'y' ? 1000 : 0;
	if (n < 1 || n > max)
		return -1;
	out->n = (int)n;
	out->unit = *p;
	return 0;
}

static int month_days(int year, int mon)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return days[mon] + (mon == 1 && leap);
}

int64_t age_cutoff_ms(const struct age *a, int64_t now_ms)
{
	if (a->unit == 'd' || a->unit == 'w')
		return now_ms - (int64_t)a->n * (a->unit == 'w' ? 7 : 1) * DAY_MS;
	int64_t ms = now_ms % 1000;
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	long months = (long)(tm.tm_year + 1900) * 12 + tm.tm_mon -
	              (long)a->n * (a->unit == 'y' ? 12 : 1);
	int year = (int)(months / 12), mon = (int)(months % 12);
	if (mon < 0) {
		mon += 12;
		year--;
	}
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	if (tm.tm_mday > month_days(year, mon))
		tm.tm_mday = month_days(year, mon);
	return (int64_t)timegm(&tm) * 1000 + ms;
}
