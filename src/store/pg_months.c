/* See pg_months.h. Creating a partition takes an exclusive lock on fixes
 * (and reads the default partition), so it is done once per month and
 * connection, ahead of the transaction that fills it whenever the caller
 * allows, and with a short lock_timeout: a writer never waits long behind
 * a reader, and a month it could not make yet is stored in the default
 * table meanwhile. */
#include "store/pg_months.h"
#include "base/log.h"
#include "base/point.h"
#include "base/xalloc.h"
#include "store/pg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIRST_MONTH (2000 * 12)       /* earlier fixes go to the default table */
#define PAUSE_MS    5000

void pg_months_init(struct pg_months *m)
{
	memset(m, 0, sizeof *m);
}

void pg_months_free(struct pg_months *m)
{
	free(m->known);
	pg_months_init(m);
}

void pg_months_forget(struct pg_months *m)
{
	m->n = 0;
	m->loaded = 0;
	m->pause_until = 0;
}

int pg_month_of(int64_t time_ms)
{
	time_t t = (time_t)(time_ms / 1000 - (time_ms % 1000 < 0));
	struct tm tm;
	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static int64_t month_start_ms(int month)
{
	struct tm tm = { .tm_year = month / 12 - 1900, .tm_mon = month % 12, .tm_mday = 1 };
	return (int64_t)timegm(&tm) * 1000;
}

/* Index where month is or goes. */
static size_t find(const struct pg_months *m, int month)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->known[mid] < month)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void add(struct pg_months *m, int month)
{
	size_t i = find(m, month);
	if (i < m->n && m->known[i] == month)
		return;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 32;
		m->known = xrealloc(m->known, m->cap * sizeof *m->known);
	}
	memmove(m->known + i + 1, m->known + i, (m->n - i) * sizeof *m->known);
	m->known[i] = month;
	m->n++;
}

/* The month tables the catalog has (fixes_YYYY_MM). A failed read leaves
 * the set empty: making a table that exists is a no-op. */
static void load(struct pg_months *m, PGconn *c)
{
	char err[256];
	m->loaded = 1;
	PGresult *r = pg_run_once(c, "SELECT c.relname FROM pg_inherits i"
	                          " JOIN pg_class c ON c.oid = i.inhrelid"
	                          " WHERE i.inhparent = to_regclass('fixes')", NULL,
	                          PGRES_TUPLES_OK, err, sizeof err, NULL);
	if (!r) {
		log_debug("store: month tables: %s", err);
		return;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		int y, mo;
		char end;
		if (sscanf(PQgetvalue(r, i, 0), "fixes_%4d_%2d%c", &y, &mo, &end) == 2 &&
		    mo >= 1 && mo <= 12)
			add(m, y * 12 + mo - 1);
	}
	PQclear(r);
}

int pg_months_known(struct pg_months *m, int month)
{
	if (month < FIRST_MONTH || month > pg_month_of(now_ms()) + 12)
		return 1;
	size_t i = find(m, month);
	return m->loaded && i < m->n && m->known[i] == month;
}

void pg_months_make(struct pg_months *m, PGconn *c, int month, int in_tx)
{
	char sql[384], err[512], state[6];
	if (!m->loaded)
		load(m, c);
	if (pg_months_known(m, month) || mono_ms() < m->pause_until)
		return;
	snprintf(sql, sizeof sql, "%sSET LOCAL lock_timeout = '200ms';"
	         "CREATE TABLE IF NOT EXISTS fixes_%04d_%02d PARTITION OF fixes"
	         " FOR VALUES FROM (%lld) TO (%lld)%s",
	         in_tx ? "SAVEPOINT mintrac_month;" : "", month / 12, month % 12 + 1,
	         (long long)month_start_ms(month), (long long)month_start_ms(month + 1),
	         in_tx ? ";RELEASE SAVEPOINT mintrac_month;SET LOCAL lock_timeout = DEFAULT" : "");
	if (pg_command_state(c, sql, err, sizeof err, state) == 0) {
		add(m, month);
		return;
	}
	/* The connection broke: the statement that follows says so, and
	 * the month is tried again on the next one. */
	if (PQstatus(c) != CONNECTION_OK)
		return;
	if (in_tx)
		PQclear(PQexec(c, "ROLLBACK TO SAVEPOINT mintrac_month;"
		                  "RELEASE SAVEPOINT mintrac_month"));
	if (pg_is_lock_timeout(state)) {
		m->pause_until = mono_ms() + PAUSE_MS;
		return;
	}
	/* 23514: the default table holds fixes of the month already; they
	 * stay there with the rest of that month's. Anything else (a
	 * read-only server, no privilege) would fail again: the default table
	 * takes the month on this connection. */
	/* 42P07 and 23505: another connection made it at the same moment
	 * (IF NOT EXISTS looks before it locks). */
	if (!pg_is_check(state) && !pg_is_duplicate_table(state) && !pg_is_unique(state))
		log_warnx("store: cannot make the table of %04d-%02d (its fixes go to "
		          "fixes_default): %s", month / 12, month % 12 + 1, err);
	add(m, month);
}
