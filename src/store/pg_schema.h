/* The PostgreSQL schema: versioned migrations, run under an advisory lock
 * so that processes starting at once do not race. For store_pg.c. */
#ifndef MINTRAC_PG_SCHEMA_H
#define MINTRAC_PG_SCHEMA_H
#include <libpq-fe.h>
#include <stddef.h>

/* The schema version this build migrates to. */
int pg_schema_version(void);
/* Checks (and with STORE_CREATE, or an older schema on a read-write
 * connection, creates or migrates) the schema on c, outside any
 * transaction: 0, or -1 with err set ("no mintrac schema in DB: run
 * 'mintrac init'" when there is none and flags lack STORE_CREATE). */
int pg_schema_open(PGconn *c, int flags, char *err, size_t errlen);
#endif
