/* store.h's whole-table copy on SQLite (mintrac migrate). The SQL is
 * built from the caller's constant table and column names; statements are
 * prepared per call: a migration runs each once per table or per row of a
 * small table, and fixes go through store_put_fixes. */
#include "store/store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#define COLS_MAX 32

int sq_rows(struct store *s, const char *table, const char *cols,
            int (*cb)(void *ctx, int n, const struct store_val *v), void *ctx)
{
	sqlite3 *db = store_sqlite_db(s);
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s ORDER BY 1", cols, table);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_sqlite_fail(s, table);
	int n = sqlite3_column_count(st), rc;
	if (n > COLS_MAX) {
		sqlite3_finalize(st);
		return STORE_ERR;
	}
	struct store_val v[COLS_MAX];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++) {
			memset(&v[i], 0, sizeof v[i]);
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				v[i].type = SV_INT;
				v[i].i = sqlite3_column_int64(st, i);
				break;
			case SQLITE_FLOAT:
				v[i].type = SV_REAL;
				v[i].f = sqlite3_column_double(st, i);
				break;
			case SQLITE_TEXT:
				v[i].type = SV_TEXT;
				v[i].p = sqlite3_column_text(st, i);
				v[i].len = (size_t)sqlite3_column_bytes(st, i);
				break;
			case SQLITE_BLOB:
				v[i].type = SV_BLOB;
				v[i].p = sqlite3_column_blob(st, i);
				v[i].len = (size_t)sqlite3_column_bytes(st, i);
				break;
			default:
				v[i].type = SV_NULL;
			}
		}
		int stop = cb(ctx, n, v);
		if (stop) {
			sqlite3_finalize(st);
			return stop;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = store_sqlite_fail(s, table);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return STORE_OK;
}

int sq_put_row(struct store *s, const char *table, const char *cols, int n,
               const struct store_val *v, int *inserted)
{
	sqlite3 *db = store_sqlite_db(s);
	struct buf sql;
	buf_init(&sql);
	buf_printf(&sql, "INSERT OR IGNORE INTO %s(%s) VALUES(", table, cols);
	for (int i = 0; i < n; i++)
		buf_add(&sql, i ? ", ?" : "?", i ? 3 : 1);
	buf_addc(&sql, ')');
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql.data, (int)sql.len, &st, NULL);
	buf_free(&sql);
	if (rc != SQLITE_OK)
		return store_sqlite_fail(s, table);
	for (int i = 0; i < n && rc == SQLITE_OK; i++) {
		switch (v[i].type) {
		case SV_INT:  rc = sqlite3_bind_int64(st, i + 1, v[i].i); break;
		case SV_REAL: rc = sqlite3_bind_double(st, i + 1, v[i].f); break;
		case SV_TEXT: rc = sqlite3_bind_text(st, i + 1, v[i].p, (int)v[i].len, SQLITE_STATIC); break;
		case SV_BLOB: rc = sqlite3_bind_blob(st, i + 1, v[i].p, (int)v[i].len, SQLITE_STATIC); break;
		case SV_NULL: rc = sqlite3_bind_null(st, i + 1); break;
		}
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rc = store_sqlite_fail(s, table);
		sqlite3_finalize(st);
		return rc;
	}
	*inserted = sqlite3_changes(db) == 1;
	sqlite3_finalize(st);
	return STORE_OK;
}

int sq_rows_done(struct store *s, const char *table)
{
	(void)s;
	(void)table;
	return STORE_OK;
}
