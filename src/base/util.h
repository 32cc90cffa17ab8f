/* Small macros every layer may use. */
#ifndef MINTRAC_UTIL_H
#define MINTRAC_UTIL_H
#include <stddef.h>

/* Sizes in bytes: limits read as "8 * MiB". */
#define MiB ((size_t)1024 * 1024)

/* The struct that embeds *ptr as its member (libev watchers inside a
 * connection or writer), instead of casting by position. */
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif
