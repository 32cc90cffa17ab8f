/* point.c: strict numbers, every accepted time form, range checks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/point.h"
#include "test.h"

static int64_t pt(const char *s)
{
	int64_t ms = -12345;
	if (parse_time(s, &ms) < 0)
		return -1;
	return ms;
}

static int pd_ok(const char *s, double want)
{
	double v = -999;
	return parse_double(s, &v) == 0 && v == want;
}

static int pd_bad(const char *s)
{
	double v = -999;
	return parse_double(s, &v) < 0 && v == -999;
}

TEST(point_parse_double_accepts)
{
	CHECK(pd_ok("0", 0));
	CHECK(pd_ok("0.0", 0));
	CHECK(pd_ok("-0.5", -0.5));
	CHECK(pd_ok("+12.25", 12.25));
	CHECK(pd_ok("52.520008", 52.520008));
	CHECK(pd_ok("1.0E-4", 1.0e-4));      /* Java Float.toString */
	CHECK(pd_ok("1.5e3", 1500));
	CHECK(pd_ok("87.0", 87));
	CHECK(pd_ok(".5", 0.5));
	CHECK(pd_ok("5.", 5));
	CHECK(pd_ok("1714558530123", 1714558530123.0));
}

TEST(point_parse_double_rejects)
{
	CHECK(pd_bad(""));
	CHECK(pd_bad(NULL));
	CHECK(pd_bad(" 1"));
	CHECK(pd_bad("1 "));
	CHECK(pd_bad("\t1"));
	CHECK(pd_bad("abc"));
	CHECK(pd_bad("1abc"));
	CHECK(pd_bad("nan"));
	CHECK(pd_bad("NaN"));
	CHECK(pd_bad("inf"));
	CHECK(pd_bad("-inf"));
	CHECK(pd_bad("Infinity"));
	CHECK(pd_bad("1e999"));
	CHECK(pd_bad("-1e999"));
	CHECK(pd_bad("0x10"));
	CHECK(pd_bad("1,5"));
	CHECK(pd_bad("1e"));
	CHECK(pd_bad("-"));
	CHECK(pd_bad("."));
	CHECK(pd_bad("1..2"));
}

/* What parse_double must give: strtod's double, bit for bit (the sign of
 * a zero included), whichever path point.c takes. */
static int pd_exact(const char *s)
{
	double v = -999, want = strtod(s, NULL);
	return parse_double(s, &v) == 0 && memcmp(&v, &want, sizeof v) == 0;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* point.c reads plain decimals of up to 15 digits without strtod (an
 * exact integer divided by an exact power of ten rounds once, as strtod
 * does) and hands everything else to strtod: both must agree with strtod. */
TEST(point_parse_double_fast_path_exact)
{
	/* At the fast path's edges: 15 digits are taken, 16 and more not. */
	static const char *const edge[] = {
		"0", "-0", "-0.0", "0.000", "1", "-1", "9", "0.1", "0.3", "-0.7", "2.675", "1.005",
		"123456789012345", "-123456789012345", "999999999999999", "99999999999999.9",
		"0.00000000000001", "0.999999999999999", "9.99999999999999", "47.3864810",
		"8.5227360", "-122.0840001", "52.5200081", "13.4049541", "1234567890123456",
		"9007199254740993", "0.0000000000000001", "12345678901234567890",
		"0.1234567890123456789", "-9007199254740993.5", "4.35", "0.000001", "1e5", "1.5E-3",
		"-2.5e+2", "7e-320", "1.7976931348623157e308", ".5", "-.5", "5.", "+3.25", "00012.50",
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
		if (!pd_exact(edge[i])) {
			fprintf(stderr, "parse_double(\"%s\") differs from strtod\n", edge[i]);
			bad++;
		}
	}
	/* Generated: 1 to 18 digits, the point anywhere or absent, either sign,
	 * sometimes an exponent. */
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	for (int n = 0; n < 200000 && bad < 5; n++) {
		char s[48];
		size_t k = 0;
		uint64_t r = xorshift(&x);
		if (r & 1)
			s[k++] = '-';
		int nd = 1 + (int)(xorshift(&x) % 18);
		int point = (int)(xorshift(&x) % (uint64_t)(nd + 1));   /* nd: none */
		for (int d = 0; d < nd; d++) {
			if (d == point && d > 0)
				s[k++] = '.';
			s[k++] = (char)('0' + xorshift(&x) % 10);
		}
		if ((r >> 1) % 16 == 0)
			k += (size_t)snprintf(s + k, sizeof s - k, "e%d", (int)(xorshift(&x) % 40) - 20);
		s[k] = 0;
		if (!pd_exact(s)) {
			fprintf(stderr, "parse_double(\"%s\") differs from strtod\n", s);
			bad++;
		}
	}
	CHECK_INT(bad, 0);
}

TEST(point_parse_time_epoch)
{
	CHECK_INT(pt("1714558530"), INT64_C(1714558530000));
	CHECK_INT(pt("1714558530123"), INT64_C(1714558530123));
	CHECK_INT(pt("0"), 0);
	CHECK_INT(pt("619315200"), INT64_C(619315200000));
	CHECK_INT(pt("1714558530.5"), INT64_C(1714558530500));
	CHECK_INT(pt("1714558530.1234"), INT64_C(1714558530123));
	/* 2^31 boundary: below is seconds, from 2^31 on milliseconds */
	CHECK_INT(pt("2147483647"), INT64_C(2147483647000));
	CHECK_INT(pt("2147483648"), INT64_C(2147483648));
	CHECK_INT(pt("2147483647.9"), INT64_C(2147483647900));
	CHECK_INT(pt("1.7145585301E12"), INT64_C(1714558530100));
	CHECK_INT(pt("-1"), -1);          /* rejected */
	CHECK_INT(pt("1e300"), -1);       /* far beyond year 9999 */
	CHECK_INT(pt(""), -1);
	CHECK_INT(pt(NULL), -1);
	CHECK_INT(pt("12abc"), -1);
	CHECK_INT(pt("nan"), -1);
	CHECK_INT(pt(" 1714558530"), -1);
}

TEST(point_parse_time_iso)
{
	CHECK_INT(pt("2025-06-15T13:45:12.862Z"), INT64_C(1749995112862));
	CHECK_INT(pt("2024-05-01T10:15:30Z"), INT64_C(1714558530000));
	CHECK_INT(pt("2024-05-01T10:15:30.000Z"), INT64_C(1714558530000));
	CHECK_INT(pt("2024-05-01t10:15:30z"), INT64_C(1714558530000));
	CHECK_INT(pt("2024-05-01T10:15:30"), INT64_C(1714558530000));   /* no zone = UTC */
	CHECK_INT(pt("2024-05-01T10:15Z"), INT64_C(1714558500000));
	/* minutes only with an offset, as Google's location-history.json has */
	CHECK_INT(pt("2024-09-20T17:45-04:00"), INT64_C(1726868700000));
	CHECK_INT(pt("2024-05-01T12:15+02:00"), INT64_C(1714558500000));
	CHECK_INT(pt("2024-05-01T10:15"), INT64_C(1714558500000));
	/* offsets: ±HH:MM, ±HHMM, ±HH */
	CHECK_INT(pt("2024-05-01T12:15:30.000+02:00"), INT64_C(1714558530000));
	CHECK_INT(pt("2024-05-01T12:15:30+0200"), INT64_C(1714558530000));
	CHECK_INT(pt("2024-05-01T12:15:30+02"), INT64_C(1714558530000));
	CHECK_INT(pt("2024-05-01T05:45:30-04:30"), INT64_C(1714558530000));
	CHECK_INT(pt("2024-05-01T10:15:30-00:00"), INT64_C(1714558530000));
	CHECK_INT(pt("2024-05-01T15:30:30+05:15"), INT64_C(1714558530000));
	/* a '+' turned into a space by URL decoding */
	CHECK_INT(pt("2024-05-01T12:15:30.000 02:00"), INT64_C(1714558530000));
	/* fractions: any digits, ms kept, finer digits dropped */
	CHECK_INT(pt("2024-05-01T10:15:30.1Z"), INT64_C(1714558530100));
	CHECK_INT(pt("2024-05-01T10:15:30.12Z"), INT64_C(1714558530120));
	CHECK_INT(pt("2024-05-01T10:15:30.123456Z"), INT64_C(1714558530123));
	CHECK_INT(pt("2024-05-01T10:15:30.123999+00:00"), INT64_C(1714558530123));
	CHECK_INT(pt("2024-05-01T10:15:30,5Z"), INT64_C(1714558530500));
	/* date-time with a space, and date only */
	CHECK_INT(pt("2024-05-01 10:15:30"), INT64_C(1714558530000));
	CHECK_INT(pt("2024-05-01 10:15:30.250"), INT64_C(1714558530250));
	CHECK_INT(pt("2024-05-01"), INT64_C(1714521600000));
	/* crossing a day / year with an offset */
	CHECK_INT(pt("2024-01-01T00:30:00+01:00"), INT64_C(1704065400000));
	CHECK_INT(pt("1970-01-01T00:00:00Z"), 0);
}

TEST(point_parse_time_calendar)
{
	CHECK_INT(pt("2024-02-29T12:00:00Z"), INT64_C(1709208000000));  /* leap day */
	CHECK_INT(pt("2000-02-29"), INT64_C(951782400000));             /* 400-year leap */
	CHECK_INT(pt("2023-02-29"), -1);
	CHECK_INT(pt("1900-02-29"), -1);
	CHECK_INT(pt("2024-02-30"), -1);
	CHECK_INT(pt("2024-04-31"), -1);
	CHECK_INT(pt("2024-12-31T23:59:59Z"), INT64_C(1735689599000));
	CHECK_INT(pt("2024-13-01"), -1);
	CHECK_INT(pt("2024-00-01"), -1);
	CHECK_INT(pt("2024-01-00"), -1);
	CHECK_INT(pt("2024-01-32"), -1);
	CHECK_INT(pt("2024-05-01T24:00:00Z"), -1);
	CHECK_INT(pt("2024-05-01T10:60:00Z"), -1);
	CHECK_INT(pt("2024-05-01T10:15:61Z"), -1);
	CHECK_INT(pt("1969-12-31T23:59:59Z"), -1);   /* before the epoch */
}

TEST(point_parse_time_garbage)
{
	CHECK_INT(pt("yesterday"), -1);
	CHECK_INT(pt("2024-05-01T"), -1);
	CHECK_INT(pt("2024-05-01T10"), -1);
	CHECK_INT(pt("2024-05-01T10:15:30."), -1);
	CHECK_INT(pt("2024-05-01T10:15:30Zjunk"), -1);
	CHECK_INT(pt("2024-05-01T10:15:30+25:00"), -1);
	CHECK_INT(pt("2024-05-01T10:15:30+02:60"), -1);
	CHECK_INT(pt("2024-05-01T10:15:30+2"), -1);
	CHECK_INT(pt("2024-05-01T10:15:30+02:0"), -1);
	CHECK_INT(pt("2024-5-1"), -1);
	CHECK_INT(pt("24-05-01T10:15:30Z"), -1);
	CHECK_INT(pt("2024/05/01 10:15:30"), -1);
	CHECK_INT(pt("2024-05-01X10:15:30"), -1);
	CHECK_INT(pt("2024-05-01 "), -1);
}

TEST(point_secs_to_ms)
{
	CHECK_INT(secs_to_ms(1714558530), INT64_C(1714558530000));
	CHECK_INT(secs_to_ms(1714558530.123), INT64_C(1714558530123));
	CHECK_INT(secs_to_ms(1714558530.1235), INT64_C(1714558530124));  /* rounds */
	CHECK_INT(secs_to_ms(0), 0);
	CHECK(secs_to_ms(1e300) > 0);   /* clamped, defined */
	CHECK(secs_to_ms(-1e300) < 0);
}

TEST(point_fix_check)
{
	struct fix f;
	fix_init(&f);
	CHECK(fix_check(&f) == NULL);
	f.lat = 90;
	f.lon = -180;
	CHECK(fix_check(&f) == NULL);
	f.lat = -90;
	f.lon = 180;
	CHECK(fix_check(&f) == NULL);
	f.lat = 90.0000001;
	CHECK(fix_check(&f) != NULL);
	f.lat = -91;
	CHECK(fix_check(&f) != NULL);
	f.lat = NAN;
	CHECK(fix_check(&f) != NULL);
	f.lat = 0;
	f.lon = 180.5;
	CHECK(fix_check(&f) != NULL);
	f.lon = -INFINITY;
	CHECK(fix_check(&f) != NULL);
	f.lon = 0;
	f.speed = NAN;
	CHECK(fix_check(&f) != NULL);
	f.speed = 0;
	f.time_ms = -1;
	CHECK(fix_check(&f) != NULL);
	f.time_ms = 0;
	const char *why;
	f.lat = 100;
	why = fix_check(&f);
	CHECK(why && !strchr(why, '\n'));
	fix_free(&f);
}

/* Attributes up to FIX_ATTRS_MAX bytes pass, one byte more is refused. */
TEST(point_fix_check_attrs_size)
{
	struct fix f;
	fix_init(&f);
	f.attrs = malloc(FIX_ATTRS_MAX + 2);
	CHECK(f.attrs != NULL);
	if (!f.attrs)
		return;
	memset(f.attrs, ' ', FIX_ATTRS_MAX + 1);
	f.attrs[0] = '{';
	f.attrs[FIX_ATTRS_MAX - 1] = '}';
	f.attrs[FIX_ATTRS_MAX] = 0;
	CHECK(fix_check(&f) == NULL);
	f.attrs[FIX_ATTRS_MAX - 1] = ' ';
	f.attrs[FIX_ATTRS_MAX] = '}';
	f.attrs[FIX_ATTRS_MAX + 1] = 0;
	const char *why = fix_check(&f);
	CHECK(why && strstr(why, "attributes"));
	fix_free(&f);
}

TEST(point_fix_init_free)
{
	struct fix f;
	fix_init(&f);
	CHECK_INT(f.has, 0);
	CHECK(f.attrs == NULL);
	f.attrs = malloc(4);
	fix_free(&f);
	CHECK(f.attrs == NULL);
	fix_free(&f);   /* twice is harmless */
}

TEST(point_now_ms)
{
	int64_t t = now_ms();
	CHECK(t > INT64_C(1600000000000));
	CHECK(now_ms() >= t);
}

static int64_t ptt(const char *s)
{
	int64_t ms = -12345;
	if (parse_time_t(s, &ms) < 0)
		return -1;
	return ms;
}

/* T on the command line and in the API: seconds up to year 9999. */
TEST(point_parse_time_t_epoch)
{
	CHECK_INT(ptt("4102444800"), INT64_C(4102444800000)); /* 2100-01-01 */
	CHECK_INT(ptt("2147483648"), INT64_C(2147483648000));
	CHECK_INT(ptt("1714558530"), INT64_C(1714558530000));
	CHECK_INT(ptt("1714558530.5"), INT64_C(1714558530500));
	CHECK_INT(ptt("253402300799"), INT64_C(253402300799000));  /* last second of 9999 */
	CHECK_INT(ptt("253402300800"), INT64_C(253402300800));     /* from here on ms */
	CHECK_INT(ptt("1714558530123"), INT64_C(1714558530123));
	CHECK_INT(ptt("2024-05-01T10:15:30+02:00"), INT64_C(1714551330000));
	CHECK_INT(ptt("-1"), -1);
	CHECK_INT(ptt("1e300"), -1);
	CHECK_INT(ptt(""), -1);
	CHECK_INT(ptt("12abc"), -1);
	/* the phones' rule is unchanged: from 2^31 on it is ms */
	CHECK_INT(pt("4102444800"), INT64_C(4102444800));
}
