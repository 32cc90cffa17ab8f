/* Tiny unit-test harness: TEST(name) registers a function at load time;
 * CHECK* record failures with file:line and keep going. The runner
 * (tests/unit/main.c) prints "N passed, N failed". */
#ifndef MINTRAC_TEST_H
#define MINTRAC_TEST_H
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
/* The current test did not run (why: one line); counted apart. */
void test_skip(const char *why);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                      \
	static void test_##name(void);                                  \
	__attribute__((constructor)) static void reg_##name(void)       \
	{ test_register(#name, test_##name); }                          \
	static void test_##name(void)

#define CHECK(c) do { if (!(c)) test_fail(__FILE__, __LINE__, "%s", #c); } while (0)
#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %lld, want %lld", #a, a_, b_); } while (0)
#define CHECK_DBL(a, b) do { double a_ = (a), b_ = (b); \
	if (!(fabs(a_ - b_) <= 1e-9 * (fabs(b_) > 1 ? fabs(b_) : 1))) \
		test_fail(__FILE__, __LINE__, "%s == %.17g, want %.17g", #a, a_, b_); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_) != 0) \
		test_fail(__FILE__, __LINE__, "%s == \"%s\", want \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#endif
