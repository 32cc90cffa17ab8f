/* Runs every registered TEST; exit status is non-zero on any failure. */
#include <stdarg.h>
#include <stdlib.h>
#include "test.h"

struct test { const char *name; test_fn fn; };
static struct test tests[1024];
static size_t ntests;
static int cur_failed, cur_skipped;

void test_register(const char *name, test_fn fn)
{
	if (ntests == sizeof(tests) / sizeof(tests[0])) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "  FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cur_failed = 1;
}

void test_skip(const char *why)
{
	printf("  skipped: %s\n", why);
	cur_skipped = 1;
}

int main(int argc, char **argv)
{
	size_t passed = 0, failed = 0, skipped = 0;
	for (size_t i = 0; i < ntests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		cur_failed = cur_skipped = 0;
		tests[i].fn();
		if (cur_failed) {
			failed++;
			fprintf(stderr, "not ok %s\n", tests[i].name);
		} else if (cur_skipped) {
			skipped++;
		} else {
			passed++;
		}
	}
	/* A skipped test is no pass: the PostgreSQL cases run again with a
	 * cluster (tests/run-all.sh) and count there. */
	printf("unit: %zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
