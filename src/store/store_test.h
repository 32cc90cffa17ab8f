/* Test-only hooks for failure injection. Nothing outside tests/ and bench/
 * may call these. They make SQLite itself fail (a "full disk" through
 * PRAGMA max_page_count on the connection that writes) so the tests walk
 * the real error path, not a simulated one. */
#ifndef MINTRAC_WRITER_TEST_H
#define MINTRAC_WRITER_TEST_H
#include "store/store.h"
#include "store/writer.h"

/* on = 1: cap this connection's database at its current page count, so
 * the next insert that needs a new page fails with SQLITE_FULL.
 * on = 0: restore the previous cap. STORE_OK or STORE_ERR. */
int store_test_limit_pages(struct store *s, int on);

/* The writer's next batch runs with store_test_limit_pages(on) on the
 * writer's own connection, and the cap is lifted after that batch. */
void writer_test_fail_next(struct writer *w);

/* The schema version a database is migrated to (PRAGMA user_version). */
int store_test_schema_version(void);
#endif
