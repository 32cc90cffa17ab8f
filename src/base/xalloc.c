/* The one out-of-memory rule (xalloc.h): abort, never return NULL. */
#include "base/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void xalloc_die(void)
{
	fputs("mintrac: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		xalloc_die();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		xalloc_die();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		xalloc_die();
	return q;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

char *xmemdup(const char *p, size_t n)
{
	if (n == SIZE_MAX)
		xalloc_die();
	char *s = xmalloc(n + 1);
	if (n)
		memcpy(s, p, n);
	s[n] = 0;
	return s;
}

void array_grow(void *pp, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			xalloc_die();
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		xalloc_die();
	/* Through memcpy: pp points at a pointer of some other type. */
	void *old;
	memcpy(&old, pp, sizeof old);
	void *grown = xrealloc(old, ncap * elem);
	memcpy(pp, &grown, sizeof grown);
	*cap = ncap;
}
