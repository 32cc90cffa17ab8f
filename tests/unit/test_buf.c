#include <stdlib.h>

#include "base/buf.h"
#include "test.h"

static void check_double(double v, const char *want)
{
	struct buf b;
	buf_init(&b);
	buf_add_double(&b, v);
	CHECK_STR(b.data, want);
	if (strcmp(want, "null"))
		CHECK(strtod(b.data, NULL) == v);
	buf_free(&b);
}

TEST(buf_double_shortest_positional)
{
	check_double(0, "0");
	check_double(-0.0, "0");
	check_double(30, "30");
	check_double(13.9, "13.9");
	check_double(52.520008, "52.520008");
	check_double(-122.0840001, "-122.0840001");
	check_double(0.0001, "0.0001");
	check_double(1e-7, "0.0000001");
	check_double(1714558530123.0, "1714558530123");
	check_double(0.1 + 0.2, "0.30000000000000004");
	check_double(123456789012345.0, "123456789012345");
	check_double(1e21, "1000000000000000000000");
	check_double(1.0 / 0.0, "null");
}

TEST(buf_double_round_trips_random)
{
	struct buf b;
	buf_init(&b);
	srand(7);
	for (int i = 0; i < 20000; i++) {
		double v = ((double)rand() / RAND_MAX - 0.5) * 360.0;
		if (i % 3 == 0)
			v /= 1e6;
		buf_reset(&b);
		buf_add_double(&b, v);
		if (strtod(b.data, NULL) != v || strpbrk(b.data, "eE"))
			test_fail(__FILE__, __LINE__, "%.17g -> %s", v, b.data);
	}
	buf_free(&b);
}

TEST(buf_utf8_valid)
{
	CHECK(utf8_valid("caf\xc3\xa9", 5));
	CHECK(utf8_valid("\xf0\x9f\x98\x80", 4));
	CHECK(!utf8_valid("\xff", 1));
	CHECK(!utf8_valid("\xc3\x28", 2));
	CHECK(!utf8_valid("\xc3", 1));              /* truncated */
	CHECK(!utf8_valid("\xc0\xaf", 2));          /* overlong '/' */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
	CHECK(utf8_valid("a\0b", 3));               /* NUL is valid UTF-8 */
}

TEST(buf_json_string_escapes)
{
	struct buf b;
	buf_init(&b);
	buf_add_json_str(&b, "<img src=x>\"\\\n\x01");
	CHECK_STR(b.data, "\"\\u003cimg src=x>\\\"\\\\\\n\\u0001\"");
	buf_reset(&b);
	/* Runs of plain text between escapes, valid multibyte kept, an
	 * invalid byte (lone, truncated, overlong) replaced by U+FFFD. */
	buf_add_json_str(&b, "ab\xc3\xa9" "cd\r\t\x7f\xff\xc3(\xe2\x82\xac<\xc0\xaf" "end");
	CHECK_STR(b.data, "\"ab\xc3\xa9" "cd\\r\\t\\u007f\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac"
		  "\\u003c\xef\xbf\xbd\xef\xbf\xbd" "end\"");
	buf_reset(&b);
	buf_add_json_str(&b, "\xe2\x82");
	CHECK_STR(b.data, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	buf_reset(&b);
	buf_add_json_str(&b, "");
	CHECK_STR(b.data, "\"\"");
	buf_reset(&b);
	buf_add_iso_ms(&b, 1714558530123LL);
	CHECK_STR(b.data, "2024-05-01T10:15:30.123Z");
	buf_reset(&b);
	buf_add_iso_ms(&b, -1);
	CHECK_STR(b.data, "1969-12-31T23:59:59.999Z");
	buf_free(&b);
}
