/* xalloc: the one out-of-memory rule. Growth keeps contents and doubles;
 * a size that would overflow aborts with one line on stderr instead of
 * returning, so no caller needs (or has) an untested failure branch. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "test.h"

struct item {
	int64_t a, b;
};

TEST(array_grow_doubles_and_keeps_contents)
{
	struct item *v = NULL;
	size_t cap = 0;
	array_grow(&v, &cap, 1, sizeof *v);
	CHECK_INT(cap, 16);
	for (size_t i = 0; i < 16; i++)
		v[i].a = (int64_t)i;
	array_grow(&v, &cap, 16, sizeof *v);   /* enough already */
	CHECK_INT(cap, 16);
	array_grow(&v, &cap, 100, sizeof *v);
	CHECK_INT(cap, 128);
	CHECK_INT(v[15].a, 15);
	free(v);
}

/* Runs fn in a child; its stderr, and whether it died of SIGABRT. */
static int dies_of_abort(void (*fn)(void), char *err, size_t errlen)
{
	int fds[2];
	if (pipe(fds) < 0)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], err, errlen - 1);
	err[n > 0 ? n : 0] = 0;
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void grow_past_size_max(void)
{
	struct item *v = NULL;
	size_t cap = 0;
	array_grow(&v, &cap, 1, sizeof *v);
	array_grow(&v, &cap, SIZE_MAX / 4, sizeof *v);
}

static void dup_size_max(void)
{
	xmemdup("", SIZE_MAX);
}

TEST(xalloc_overflow_aborts_with_one_line)
{
	char err[256];
	CHECK(dies_of_abort(grow_past_size_max, err, sizeof err));
	CHECK_STR(err, "mintrac: out of memory\n");
	CHECK(dies_of_abort(dup_size_max, err, sizeof err));
	CHECK_STR(err, "mintrac: out of memory\n");
}

TEST(xalloc_copies)
{
	char *s = xstrdup("abc");
	CHECK_STR(s, "abc");
	free(s);
	s = xmemdup("abcdef", 2);
	CHECK_STR(s, "ab");
	free(s);
	int *z = xcalloc(4, sizeof *z);
	CHECK(z[0] == 0 && z[3] == 0);
	z = xrealloc(z, 8 * sizeof *z);
	CHECK(z[3] == 0);
	free(z);
}
