/* The month tables of the partitioned fixes table (pg_schema.c): which
 * months one connection knows to have a table of their own, and making
 * those that do not yet. For store_pg.c. */
#ifndef MINTRAC_PG_MONTHS_H
#define MINTRAC_PG_MONTHS_H
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

struct pg_months {
	int    *known;        /* sorted month numbers (year * 12 + month - 1) */
	size_t  n, cap;
	int     loaded;       /* the catalog was read on this connection */
	int64_t pause_until;  /* mono ms: no new tables before (the table was busy) */
};

void pg_months_init(struct pg_months *m);
void pg_months_free(struct pg_months *m);
/* After a reconnect: read the catalog again. */
void pg_months_forget(struct pg_months *m);
/* The month (UTC) of a fix time. */
int pg_month_of(int64_t time_ms);
/* 1 when month needs no table made: it has one, or is left to the
 * default table (see pg_months_make). */
int pg_months_known(struct pg_months *m, int month);
/* Makes month's table. in_tx: inside a transaction that has run
 * statements (the table is made under a savepoint and its lock is held to
 * the end). Never fails the caller: a month whose fixes are already in
 * the default table stays there, a month too far from now (before 2000 or
 * a year ahead) goes there, and when the fixes table is busy (an export's
 * long read) the attempt gives up after 200 ms and the fixes go to the
 * default table until a later attempt succeeds. */
void pg_months_make(struct pg_months *m, PGconn *c, int month, int in_tx);
#endif
