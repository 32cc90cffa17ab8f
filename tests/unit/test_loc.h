/* A fresh store location for a test: SQLite in a temporary directory,
 * or the PostgreSQL database MINTRAC_TEST_PG_URL names, emptied first
 * (so the tests that use it need a database of their own). Lets one test
 * body run on both backends. */
#ifndef MINTRAC_TEST_LOC_H
#define MINTRAC_TEST_LOC_H
#include <stdint.h>
#include "base/point.h"
#include "store/store.h"

struct test_loc {
	char dir[64];      /* a temporary directory (SQLite's file, a test's files) */
	char loc[512];     /* what store_open takes */
};

/* MINTRAC_TEST_PG_URL, or NULL after printing why name is skipped. */
const char *test_pg_url(const char *name);
/* 0, or -1 with the reason printed. pg: use MINTRAC_TEST_PG_URL. */
int test_loc_make(struct test_loc *t, int pg);
void test_loc_remove(struct test_loc *t);
/* test_loc_make, then the store there opened (created): NULL with the
 * reason printed. */
struct store *test_loc_open(struct test_loc *t, int pg);

/* The user (made with password hash "x" when missing) gets a device with
 * token's hash: its id, or 0 on failure. */
int64_t test_add_device(struct store *s, const char *user, const char *dev, const char *token,
                        const char *ident);
/* A fix with only its time and place. */
struct fix test_fix(int64_t t, double lat, double lon);
#endif
