/* Allocation that never returns NULL: out of memory (or a size that would
 * overflow) prints one line and aborts. A tracker that cannot allocate a
 * few KiB cannot do anything useful, and one rule means no caller has an
 * out-of-memory branch that is never tested. Client-sized input stays
 * bounded by the servers' limits, not by these. */
#ifndef MINTRAC_XALLOC_H
#define MINTRAC_XALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* malloc'd NUL-terminated copy of p[0..n). */
char *xmemdup(const char *p, size_t n);
/* Makes the array *pp (items of elem bytes, capacity *cap items) hold at
 * least need items, doubling (from 16) so appends stay amortised O(1).
 * pp is the address of the array pointer (struct x **). */
void array_grow(void *pp, size_t *cap, size_t need, size_t elem);
/* The abort itself, for a library call that reports out of memory as NULL
 * (jansson, yajl). */
_Noreturn void xalloc_die(void);
#endif
