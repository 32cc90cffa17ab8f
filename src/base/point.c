/* Fixes and the strict readers for client numbers and times. Strict because
 * a value we half-understand is worse than a 400 the user can see. */
#include "base/point.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Latest fix time we accept (9999-12-31T23:59:59.999Z): keeps every later
 * conversion (ISO output, int64 arithmetic) in range. */
#define MAX_TIME_MS INT64_C(253402300799999)

void fix_init(struct fix *f)
{
	memset(f, 0, sizeof *f);
}

void fix_free(struct fix *f)
{
	free(f->attrs);
	f->attrs = NULL;
}

/* Plain "-ddd.ddd" with at most 15 digits: the digits as an integer and
 * the power of ten are both exact doubles, so one division rounds once,
 * giving exactly what strtod gives (Clinger's fast path). 1 when taken. */
static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };

static int decimal_fast(const char *s, double *out)
{
	const char *p = s;
	int neg = *p == '-';
	p += neg;
	uint64_t m = 0;
	int digits = 0, frac = -1;
	for (;; p++) {
		if (*p >= '0' && *p <= '9') {
			if (++digits > 15)
				return 0;
			m = m * 10 + (uint64_t)(*p - '0');
			if (frac >= 0)
				frac++;
		} else if (*p == '.' && frac < 0 && digits) {
			frac = 0;
		} else {
			break;
		}
	}
	if (*p || !digits || frac == 0)
		return 0;
	double v = (double)m;
	if (frac > 0)
		v /= pow10[frac];
	*out = neg ? -v : v;
	return 1;
}

int parse_double(const char *s, double *out)
{
	char *end;
	if (s && decimal_fast(s, out))
		return 0;
	/* Only decimal notation: strtod alone would also take leading spaces,
	 * hex floats, "nan", "inf" and "infinity". */
	if (!s || !*s)
		return -1;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p))
			return -1;
	double v = strtod(s, &end);
	if (end == s || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* Nearest integer, halves away from zero; no libm (the Makefile links none).
 * Callers keep |v| well inside the int64 range. */
static int64_t round_ms(double v)
{
	return (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
}

int64_t secs_to_ms(double secs)
{
	double ms = secs * 1000.0;
	/* Clamp so the conversion to int64 is always defined. */
	if (!(ms > -4e18))
		return INT64_C(-4000000000000000000);
	if (ms > 4e18)
		return INT64_C(4000000000000000000);
	return round_ms(ms);
}

/* Reads exactly n digits at *p into *v. */
static int digits(const char **p, int n, int *v)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : dm[m - 1];
}

/* Epoch number: below 2^31 it is seconds (Traccar's rule), else ms. */
static int parse_epoch(const char *s, int64_t *ms)
{
	double v;
	if (parse_double(s, &v) < 0 || v < 0)
		return -1;
	if (v < 2147483648.0) {
		*ms = secs_to_ms(v);
		return 0;
	}
	if (v > (double)MAX_TIME_MS)
		return -1;
	*ms = round_ms(v);
	return 0;
}

/* Zone suffix: Z, ±HH:MM, ±HHMM, ±HH or nothing (UTC). A space stands for a
 * '+' that URL decoding turned into one. Sets *off_s; -1 on garbage. */
static int parse_zone(const char *p, int *off_s)
{
	int sign, hh, mm = 0;
	*off_s = 0;
	if (!*p)
		return 0;
	if ((*p == 'Z' || *p == 'z') && !p[1])
		return 0;
	if (*p == '+' || *p == ' ')
		sign = 1;
	else if (*p == '-')
		sign = -1;
	else
		return -1;
	p++;
	if (digits(&p, 2, &hh) < 0)
		return -1;
	if (*p == ':')
		p++;
	if (*p && digits(&p, 2, &mm) < 0)
		return -1;
	if (*p || hh > 23 || mm > 59)
		return -1;
	*off_s = sign * (hh * 3600 + mm * 60);
	return 0;
}

static int parse_iso(const char *s, int64_t *ms)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, off_s;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || digits(&p, 2, &d) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) < 0)
				return -1;
			if (*p == '.' || *p == ',') {
				int n = 0;
				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				/* Keep milliseconds, drop finer digits. */
				for (; isdigit((unsigned char)*p); p++, n++)
					if (n < 3)
						frac_ms = frac_ms * 10 + (*p - '0');
				for (; n < 3; n++)
					frac_ms *= 10;
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return -1;
		if (parse_zone(p, &off_s) < 0)
			return -1;
	} else if (*p) {
		return -1;
	} else {
		off_s = 0;
	}

	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	/* Fields are validated above, so timegm cannot fail for 0000..9999. */
	time_t t = timegm(&tm);
	int64_t v = ((int64_t)t - off_s) * 1000 + frac_ms;
	if (v < 0 || v > MAX_TIME_MS)
		return -1;
	*ms = v;
	return 0;
}

int parse_time(const char *s, int64_t *ms)
{
	if (!s || !*s)
		return -1;
	/* "YYYY-" distinguishes a date from an epoch number. */
	if (strlen(s) >= 10 && s[4] == '-')
		return parse_iso(s, ms);
	return parse_epoch(s, ms);
}

/* The contract's T: an epoch number is seconds up to year 9999 (below
 * 253,402,300,800) and milliseconds from there on, so `to=4102444800` is
 * 2100 and not a day in 1970. The phones' 2^31 rule stays in parse_time. */
int parse_time_t(const char *s, int64_t *ms)
{
	double v;
	if (!s || !*s)
		return -1;
	if (strlen(s) >= 10 && s[4] == '-')
		return parse_iso(s, ms);
	if (parse_double(s, &v) < 0 || v < 0 || v > (double)MAX_TIME_MS)
		return -1;
	*ms = v < 253402300800.0 ? secs_to_ms(v) : round_ms(v);
	return 0;
}

const char *fix_check(const struct fix *f)
{
	if (!isfinite(f->lat) || f->lat < -90 || f->lat > 90)
		return "lat out of range (-90..90)";
	if (!isfinite(f->lon) || f->lon < -180 || f->lon > 180)
		return "lon out of range (-180..180)";
	if (!isfinite(f->speed) || !isfinite(f->course) || !isfinite(f->alt) ||
	    !isfinite(f->acc) || !isfinite(f->batt))
		return "value not finite";
	if (f->time_ms < 0 || f->time_ms > MAX_TIME_MS)
		return "time out of range";
	if (f->attrs && strlen(f->attrs) > FIX_ATTRS_MAX)
		return "attributes longer than 65536 bytes";
	return NULL;
}

int64_t now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int parse_bbox(const char *s, double box[4])
{
	const char *p = s;
	for (int i = 0; i < 4; i++) {
		char *end;
		box[i] = strtod(p, &end);
		if (end == p || !isfinite(box[i]) || *end != (i < 3 ? ',' : 0))
			return -1;
		p = end + 1;
	}
	if (fabs(box[0]) > 180 || fabs(box[2]) > 180 || fabs(box[1]) > 90 || fabs(box[3]) > 90 ||
	    box[1] > box[3])
		return -1;
	return 0;
}

int parse_time_bound(const char *s, int upper, int64_t *ms)
{
	if (!s) {
		*ms = upper ? INT64_MAX : INT64_MIN;
		return 0;
	}
	if (parse_time_t(s, ms) < 0)
		return -1;
	if (upper && strlen(s) == 10 && s[4] == '-' && s[7] == '-')
		*ms += 86400000 - 1;
	return 0;
}
