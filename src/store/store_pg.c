/* PostgreSQL implementation of store.h over libpq: the same contract and
 * the same tables as store_sqlite.c (pg_schema.c). One struct pg_store is
 * one connection, used by one thread at a time.
 *
 * Statements are prepared once per connection (pg_util.c). store_begin
 * sends nothing: BEGIN goes with the transaction's first statement, so a
 * batch whose fixes fall in a month without a table yet can make it
 * (pg_months.c) before the transaction, which then never holds the lock
 * that takes. A connection that broke (the server restarted) is made
 * again by the next call outside a transaction, at most once per back-off
 * interval (0.25 s doubling to 5 s); inside a transaction the call fails
 * and the caller rolls back. */
#include "store/store.h"
#include "store/pg_conn.h"
#include "store/pg_fixes.h"
#include "store/pg_shared.h"
#include "store/pg_schema.h"
#include "store/store_backend.h"
#include "store/store_pg.h"
#include "base/point.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(TOKEN_HASH_LEN == 32, "token hash is a SHA-256");

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000

enum stmt_id {
	ST_USER_ADD, ST_USER_GET, ST_USER_PASSWD, ST_USER_DEL, ST_USER_LIST, ST_USER_SET_TZ,
	ST_DEV_ADD, ST_DEV_GET, ST_DEV_BY_TOKEN, ST_DEV_BY_IDENT, ST_DEV_SET_TOKEN,
	ST_DEV_DEL, ST_DEV_LIST_ALL, ST_DEV_LIST_USER, ST_DEV_BY_ID, ST_DEV_RENAME,
	ST_CRED_GEN,
	ST_SESS_ADD, ST_SESS_GET, ST_SESS_TOUCH, ST_SESS_DEL, ST_SESS_PURGE, ST_SESS_TRIM,
	ST_USER_CREDS,
	ST_MAX
};

#define USER_COLS "SELECT id, name, pwhash, created_ms, timezone FROM users "
#define DEV_COLS  "SELECT d.id, d.user_id, u.name, d.name, d.ident, d.created_ms " \
                  "FROM devices d JOIN users u ON u.id = d.user_id "
#define SESS_COLS "SELECT s.user_id, u.name, s.csrf, s.created_ms, s.expires_ms " \
                  "FROM sessions s JOIN users u ON u.id = s.user_id "

static const char *const stmt_sql[ST_MAX] = {
	[ST_USER_ADD]      = "INSERT INTO users(name, pwhash, created_ms) VALUES($1, $2, $3)",
	[ST_USER_GET]      = USER_COLS "WHERE name = $1",
	[ST_USER_PASSWD]   = "UPDATE users SET pwhash = $1 WHERE name = $2",
	[ST_USER_DEL]      = "DELETE FROM users WHERE name = $1",
	[ST_USER_LIST]     = USER_COLS "ORDER BY name",
	[ST_USER_SET_TZ]   = "UPDATE users SET timezone = $1 WHERE name = $2",
	[ST_DEV_ADD]       = "INSERT INTO devices(user_id, name, token_hash, ident, created_ms) "
	                     "VALUES($1, $2, $3, $4, $5) RETURNING id",
	[ST_DEV_GET]       = DEV_COLS "WHERE d.user_id = $1 AND d.name = $2",
	[ST_DEV_BY_TOKEN]  = DEV_COLS "WHERE d.token_hash = $1",
	[ST_DEV_BY_IDENT]  = DEV_COLS "WHERE d.ident = $1",
	[ST_DEV_SET_TOKEN] = "UPDATE devices SET token_hash = $1 WHERE id = $2",
	[ST_DEV_DEL]       = "DELETE FROM devices WHERE id = $1",
	[ST_DEV_LIST_ALL]  = DEV_COLS "ORDER BY u.name, d.name",
	[ST_DEV_LIST_USER] = DEV_COLS "WHERE d.user_id = $1 ORDER BY u.name, d.name",
	[ST_DEV_BY_ID]     = DEV_COLS "WHERE d.id = $1",
	[ST_DEV_RENAME]    = "UPDATE devices SET name = $1 WHERE id = $2",
	[ST_CRED_GEN]      = "SELECT value FROM meta WHERE key = 'cred_gen'",
	[ST_SESS_ADD]      = "INSERT INTO sessions(id_hash, user_id, csrf, created_ms, expires_ms) "
	                     "VALUES($1, $2, $3, $4, $5)",
	[ST_SESS_GET]      = SESS_COLS "WHERE s.id_hash = $1 AND s.expires_ms > $2",
	[ST_SESS_TOUCH]    = "UPDATE sessions SET expires_ms = $1 WHERE id_hash = $2",
	[ST_SESS_DEL]      = "DELETE FROM sessions WHERE id_hash = $1",
	[ST_SESS_PURGE]    = "DELETE FROM sessions WHERE expires_ms <= $1",
	[ST_SESS_TRIM]     = "DELETE FROM sessions WHERE user_id = $1 AND id_hash NOT IN "
	                     "(SELECT id_hash FROM sessions WHERE user_id = $1 "
	                     "ORDER BY created_ms DESC, id_hash LIMIT $2)",
	/* One row per live session, or one with NULLs when there is none;
	 * no row when the user is gone. */
	[ST_USER_CREDS]    = "SELECT u.pwhash, s.id_hash, s.created_ms FROM users u "
	                     "LEFT JOIN sessions s ON s.user_id = u.id AND s.expires_ms > $2 "
	                     "WHERE u.id = $1",
};

static const struct store_ops pg_ops;

/* libpq's messages run over lines; ours are one. */
static void one_line(char *out, size_t n, const char *msg)
{
	snprintf(out, n, "%s", msg);
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t len = strlen(out);
	while (len && out[len - 1] == ' ')
		out[--len] = 0;
}

/* The server's notices (CREATE TABLE IF NOT EXISTS: "already exists,
 * skipping") are no news to anyone: libpq would print them on stderr. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* What every connection is set to: commits durable before a 2xx, text in
 * UTF-8, times in UTC, doubles read back exactly whatever the server's
 * default, and no writes on a read-only store. The writers of batches
 * (the receiver's, an import's) run one statement of array parameters
 * again and again: left to choose, the server keeps planning it anew for
 * every batch (a plan for the arrays at hand looks cheaper than a generic
 * one), which bench/pg measured at about a fifth of the ingest rate. */
static int session_setup(struct pg_store *s)
{
	char sql[320];
	snprintf(sql, sizeof sql, "SET synchronous_commit = on; SET client_encoding = 'UTF8'; "
	         "SET timezone = 'UTC'; SET extra_float_digits = 3%s%s",
	         (s->flags & STORE_READONLY) ? "; SET default_transaction_read_only = on" : "",
	         (s->flags & (STORE_WRITER | STORE_BULK)) ? "; SET plan_cache_mode = force_generic_plan"
	                                                  : "");
	return pg_command(s->c, sql, s->err, sizeof s->err);
}

static PGconn *lost(struct pg_store *s)
{
	snprintf(s->err, sizeof s->err, "postgresql: connection lost (%s); retrying", s->lost);
	return NULL;
}

/* Outside a transaction: the connection, made again when it broke. */
static PGconn *ready(struct pg_store *s)
{
	if (PQstatus(s->c) == CONNECTION_OK)
		return s->c;
	int64_t now = mono_ms();
	if (now < s->retry_at)
		return lost(s);
	PQreset(s->c);
	if (PQstatus(s->c) == CONNECTION_OK && session_setup(s) == 0) {
		s->backoff = BACKOFF_MIN_MS;
		s->retry_at = 0;
		s->epoch++;
		s->cursors = 0;
		pg_stmts_forget(&s->st);
		pg_stmts_forget(&s->fst);
		for (int i = 0; i < s->nmods; i++)
			pg_stmts_forget(&s->mods[i]);
		pg_stmts_forget(&s->xst);
		pg_months_forget(&s->months);
		return s->c;
	}
	one_line(s->lost, sizeof s->lost, PQstatus(s->c) == CONNECTION_OK ? s->err
	                                                                   : PQerrorMessage(s->c));
	s->retry_at = now + s->backoff;
	s->backoff = s->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff * 2;
	return lost(s);
}

PGconn *pg_store_conn_idle(struct pg_store *s)
{
	if (PQstatus(s->c) == CONNECTION_OK)
		return s->c;
	/* Before its BEGIN a transaction has nothing on the connection yet:
	 * a new one serves as well. */
	if (s->in_tx && s->begun) {
		one_line(s->lost, sizeof s->lost, PQerrorMessage(s->c));
		snprintf(s->err, sizeof s->err, "postgresql: connection lost in a transaction (%s)",
		         s->lost);
		return NULL;
	}
	return ready(s);
}

PGconn *pg_store_conn(struct pg_store *s)
{
	PGconn *c = pg_store_conn_idle(s);
	if (!c || !s->in_tx || s->begun)
		return c;
	if (pg_command(c, "BEGIN", s->err, sizeof s->err) < 0) {
		/* Broken since its last use (a restarted server): the writer's
		 * next batch goes to a new connection, not to a 503. */
		if (PQstatus(c) != CONNECTION_BAD)
			return NULL;
		one_line(s->lost, sizeof s->lost, PQerrorMessage(c));
		if (!(c = ready(s)) || pg_command(c, "BEGIN", s->err, sizeof s->err) < 0)
			return NULL;
	}
	s->begun = 1;
	return c;
}

int pg_store_fail(struct pg_store *s, const char *what)
{
	char why[sizeof s->err];
	memcpy(why, s->err, sizeof why);
	snprintf(s->err, sizeof s->err, "%s: %.400s", what, why);
	return STORE_ERR;
}

int pg_store_run(struct pg_store *s, struct pg_stmts *ps, int id, const struct pg_args *a,
                 ExecStatusType ok, const char *what, PGresult **out)
{
	char state[6] = "";
	PGconn *c = pg_store_conn(s);
	PGresult *r = NULL;
	if (c) {
		r = pg_run(c, ps, id, a, ok, s->err, sizeof s->err, state);
		/* Broken since its last use (a restarted server): a statement
		 * outside a transaction can run again on a new connection. */
		if (!r && !s->in_tx && PQstatus(c) == CONNECTION_BAD) {
			one_line(s->lost, sizeof s->lost, PQerrorMessage(c));
			if ((c = ready(s)))
				r = pg_run(c, ps, id, a, ok, s->err, sizeof s->err, state);
		}
	}
	if (r) {
		*out = r;
		return STORE_OK;
	}
	pg_store_fail(s, what);
	if (pg_is_unique(state))
		return STORE_EXISTS;
	if (pg_is_foreign_key(state))
		return STORE_NOTFOUND;   /* the user or device it refers to is gone */
	return STORE_ERR;
}

static int run(struct pg_store *s, enum stmt_id id, const struct pg_args *a, ExecStatusType ok,
               const char *what, PGresult **out)
{
	return pg_store_run(s, &s->st, id, a, ok, what, out);
}

/* A statement that returns no rows. */
static int exec_done(struct pg_store *s, enum stmt_id id, const struct pg_args *a,
                     const char *what)
{
	PGresult *r;
	int rc = run(s, id, a, PGRES_COMMAND_OK, what, &r);
	if (rc == STORE_OK)
		PQclear(r);
	return rc;
}

/* An UPDATE/DELETE: how many rows it changed, or -1. */
static int64_t exec_count(struct pg_store *s, enum stmt_id id, const struct pg_args *a,
                          const char *what)
{
	PGresult *r;
	if (run(s, id, a, PGRES_COMMAND_OK, what, &r) != STORE_OK)
		return -1;
	int64_t n = pg_changes(r);
	PQclear(r);
	return n;
}

/* An UPDATE/DELETE; STORE_NOTFOUND when it matched no row. */
static int exec_change(struct pg_store *s, enum stmt_id id, const struct pg_args *a,
                       const char *what)
{
	PGresult *r;
	int rc = run(s, id, a, PGRES_COMMAND_OK, what, &r);
	if (rc != STORE_OK)
		return rc;
	int64_t n = pg_changes(r);
	PQclear(r);
	return n ? STORE_OK : STORE_NOTFOUND;
}

/* ---- opening and closing ---- */

static void pg_close(struct store *base)
{
	struct pg_store *s = pg_store_of(base);
	if (!s)
		return;
	PQfinish(s->c);   /* an open transaction is rolled back by the server */
	pg_months_free(&s->months);
	for (int i = 0; i < PG_FIX_ARRAYS; i++)
		buf_free(&s->arr[i]);
	buf_free(&s->text);
	free(s->devs);
	free(s);
}

/* The month tables the fixes of now and the next month go to, made before
 * any fix needs them. */
static void months_ahead(struct pg_store *s)
{
	int now = pg_month_of(now_ms());
	for (int m = now; m <= now + 1; m++)
		pg_months_make(&s->months, s->c, m, 0);
}

struct store *store_pg_open(const char *uri, int flags, char *err, size_t errlen)
{
	/* Ours first, so the URI's own application_name or connect_timeout
	 * wins; expand_dbname reads the URI. */
	const char *const keys[] = { "application_name", "connect_timeout", "dbname", NULL };
	const char *const vals[] = { "mintrac", "10", uri, NULL };
	struct pg_store *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.ops = &pg_ops;
	s->flags = flags;
	s->backoff = BACKOFF_MIN_MS;
	s->st = (struct pg_stmts){ .prefix = "s", .sql = stmt_sql, .count = ST_MAX };
	pg_fixes_stmts(&s->fst);
	pg_shared_stmts(&s->xst);
	pg_months_init(&s->months);
	for (int i = 0; i < PG_FIX_ARRAYS; i++)
		buf_init(&s->arr[i]);
	buf_init(&s->text);
	s->c = PQconnectdbParams(keys, vals, 1);
	if (!s->c) {
		snprintf(err, errlen, "postgresql: out of memory");
		pg_close(&s->base);
		return NULL;
	}
	if (PQstatus(s->c) != CONNECTION_OK) {
		one_line(s->lost, sizeof s->lost, PQerrorMessage(s->c));
		snprintf(err, errlen, "postgresql: %s", s->lost);
		pg_close(&s->base);
		return NULL;
	}
	PQsetNoticeProcessor(s->c, quiet, NULL);   /* kept across PQreset */
	if (session_setup(s) < 0 || pg_schema_open(s->c, flags, s->err, sizeof s->err) < 0) {
		snprintf(err, errlen, "%s", s->err);
		pg_close(&s->base);
		return NULL;
	}
	if ((flags & STORE_CREATE) && !(flags & STORE_READONLY))
		months_ahead(s);
	return &s->base;
}

static const char *pg_errmsg(struct store *base)
{
	return pg_store_of(base)->err;
}

PGconn *store_pg_conn(struct store *base)
{
	return pg_store_conn(pg_store_of(base));
}

int store_pg_fail(struct store *base, const char *msg)
{
	struct pg_store *s = pg_store_of(base);
	one_line(s->err, sizeof s->err, msg);
	return STORE_ERR;
}

unsigned store_pg_epoch(struct store *base)
{
	return pg_store_of(base)->epoch;
}

struct pg_stmts *store_pg_stmts(struct store *base, const char *prefix, const char *const *sql,
                                int count)
{
	struct pg_store *s = pg_store_of(base);
	for (int i = 0; i < s->nmods; i++)
		if (!strcmp(s->mods[i].prefix, prefix))
			return &s->mods[i];
	if (s->nmods == PG_MODS || count > PG_STMTS_MAX) {
		snprintf(s->err, sizeof s->err, "postgresql: no room for the statements of \"%s\"",
		         prefix);
		return NULL;
	}
	s->mods[s->nmods] = (struct pg_stmts){ .prefix = prefix, .sql = sql, .count = count };
	return &s->mods[s->nmods++];
}

/* ---- transactions ---- */

static int pg_begin(struct store *base)
{
	struct pg_store *s = pg_store_of(base);
	if (s->in_tx) {
		snprintf(s->err, sizeof s->err, "begin: a transaction is already open");
		return STORE_ERR;
	}
	if (!pg_store_conn_idle(s))
		return pg_store_fail(s, "begin");
	s->in_tx = 1;
	s->begun = 0;
	return STORE_OK;
}

/* A transaction in which a statement failed is rolled back by COMMIT,
 * which then succeeds as a command: its tag says which it was. */
static int pg_commit(struct store *base)
{
	struct pg_store *s = pg_store_of(base);
	if (!s->in_tx) {
		snprintf(s->err, sizeof s->err, "commit: no transaction is open");
		return STORE_ERR;
	}
	int begun = s->begun;
	s->in_tx = s->begun = 0;
	if (!begun)
		return STORE_OK;
	if (PQstatus(s->c) != CONNECTION_OK) {
		one_line(s->lost, sizeof s->lost, PQerrorMessage(s->c));
		snprintf(s->err, sizeof s->err, "commit: postgresql: connection lost (%s)", s->lost);
		return STORE_ERR;
	}
	PGresult *r = PQexec(s->c, "COMMIT");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(r), "COMMIT");
	if (!ok) {
		const char *msg = PQresultErrorMessage(r);
		one_line(s->lost, sizeof s->lost, *msg ? msg : PQerrorMessage(s->c));
		snprintf(s->err, sizeof s->err, "commit: postgresql: %s",
		         PQresultStatus(r) == PGRES_COMMAND_OK ? "the transaction was rolled back"
		                                             : s->lost);
	}
	PQclear(r);
	return ok ? STORE_OK : STORE_ERR;
}

/* A broken connection has nothing left to undo: the server ended the
 * transaction with the session. */
static int pg_rollback(struct store *base)
{
	struct pg_store *s = pg_store_of(base);
	int begun = s->in_tx && s->begun;
	s->in_tx = s->begun = 0;
	if (!begun || PQstatus(s->c) != CONNECTION_OK)
		return STORE_OK;
	if (pg_command(s->c, "ROLLBACK", s->err, sizeof s->err) < 0)
		return pg_store_fail(s, "rollback");
	return STORE_OK;
}

/* Nothing to bury: a commit PostgreSQL reported as failed is not replayed
 * after a crash. An open transaction is ended all the same. */
static int pg_bury_failed(struct store *base)
{
	return pg_rollback(base);
}

/* ---- users ---- */

static void read_user(const PGresult *r, int row, struct user_rec *u)
{
	u->id = pg_i64(r, row, 0);
	pg_text(r, row, 1, u->name, sizeof u->name);
	pg_text(r, row, 2, u->pwhash, sizeof u->pwhash);
	u->created_ms = pg_i64(r, row, 3);
	pg_text(r, row, 4, u->timezone, sizeof u->timezone);
}

static int pg_user_add(struct store *base, const char *name, const char *pwhash)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, name);
	pg_arg_text(&a, pwhash);
	pg_arg_i64(&a, now_ms());
	return exec_done(pg_store_of(base), ST_USER_ADD, &a, "user add");
}

static int pg_user_get(struct store *base, const char *name, struct user_rec *out)
{
	struct pg_args a;
	PGresult *r;
	pg_args_init(&a);
	pg_arg_text(&a, name);
	int rc = run(pg_store_of(base), ST_USER_GET, &a, PGRES_TUPLES_OK, "user get", &r);
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(r))
		read_user(r, 0, out);
	rc = PQntuples(r) ? STORE_OK : STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

/* The users_pw trigger deletes the user's sessions in the same statement. */
static int pg_user_set_password(struct store *base, const char *name, const char *pwhash)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, pwhash);
	pg_arg_text(&a, name);
	return exec_change(pg_store_of(base), ST_USER_PASSWD, &a, "user passwd");
}

static int pg_user_set_timezone(struct store *base, const char *name, const char *tz)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, tz);
	pg_arg_text(&a, name);
	return exec_change(pg_store_of(base), ST_USER_SET_TZ, &a, "user timezone");
}

/* Devices, their fixes and counts, and sessions cascade. */
static int pg_user_del(struct store *base, const char *name)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, name);
	return exec_change(pg_store_of(base), ST_USER_DEL, &a, "user del");
}

static int pg_user_list(struct store *base, int (*cb)(void *ctx, const struct user_rec *u),
                        void *ctx)
{
	PGresult *r;
	int rc = run(pg_store_of(base), ST_USER_LIST, NULL, PGRES_TUPLES_OK, "user list", &r);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
		struct user_rec u;
		read_user(r, i, &u);
		rc = cb(ctx, &u);
	}
	PQclear(r);
	return rc;
}

/* ---- devices ---- */

static void read_device(const PGresult *r, int row, struct device_rec *d)
{
	d->id = pg_i64(r, row, 0);
	d->user_id = pg_i64(r, row, 1);
	pg_text(r, row, 2, d->user, sizeof d->user);
	pg_text(r, row, 3, d->name, sizeof d->name);
	pg_text(r, row, 4, d->ident, sizeof d->ident);
	d->created_ms = pg_i64(r, row, 5);
}

/* A device query expecting at most one row. */
static int device_one(struct pg_store *s, enum stmt_id id, const struct pg_args *a,
                      struct device_rec *out, const char *what)
{
	PGresult *r;
	int rc = run(s, id, a, PGRES_TUPLES_OK, what, &r);
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(r))
		read_device(r, 0, out);
	rc = PQntuples(r) ? STORE_OK : STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

static int pg_device_add(struct store *base, int64_t user_id, const char *name,
                         const unsigned char hash[TOKEN_HASH_LEN], const char *ident,
                         int64_t *id_out)
{
	struct pg_args a;
	PGresult *r;
	pg_args_init(&a);
	pg_arg_i64(&a, user_id);
	pg_arg_text(&a, name);
	pg_arg_bytes(&a, hash, TOKEN_HASH_LEN);
	pg_arg_text(&a, ident && *ident ? ident : NULL);
	pg_arg_i64(&a, now_ms());
	int rc = run(pg_store_of(base), ST_DEV_ADD, &a, PGRES_TUPLES_OK, "device add", &r);
	if (rc != STORE_OK)
		return rc;
	if (id_out)
		*id_out = pg_i64(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

static int pg_device_get(struct store *base, int64_t user_id, const char *name,
                         struct device_rec *out)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, user_id);
	pg_arg_text(&a, name);
	return device_one(pg_store_of(base), ST_DEV_GET, &a, out, "device get");
}

static int pg_device_by_token(struct store *base, const unsigned char hash[TOKEN_HASH_LEN],
                              struct device_rec *out)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_bytes(&a, hash, TOKEN_HASH_LEN);
	return device_one(pg_store_of(base), ST_DEV_BY_TOKEN, &a, out, "device by token");
}

static int pg_device_by_ident(struct store *base, const char *ident, struct device_rec *out)
{
	struct pg_args a;
	if (!ident || !*ident)
		return STORE_NOTFOUND;
	pg_args_init(&a);
	pg_arg_text(&a, ident);
	return device_one(pg_store_of(base), ST_DEV_BY_IDENT, &a, out, "device by ident");
}

static int pg_device_by_id(struct store *base, int64_t device_id, struct device_rec *out)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	return device_one(pg_store_of(base), ST_DEV_BY_ID, &a, out, "device by id");
}

/* UNIQUE(user_id, name) makes a clash STORE_EXISTS. */
static int pg_device_rename(struct store *base, int64_t device_id, const char *new_name)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_text(&a, new_name);
	pg_arg_i64(&a, device_id);
	return exec_change(pg_store_of(base), ST_DEV_RENAME, &a, "device rename");
}

static int pg_device_set_token(struct store *base, int64_t device_id,
                               const unsigned char hash[TOKEN_HASH_LEN])
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_bytes(&a, hash, TOKEN_HASH_LEN);
	pg_arg_i64(&a, device_id);
	return exec_change(pg_store_of(base), ST_DEV_SET_TOKEN, &a, "device token");
}

/* Fixes, device_stats and the history rows cascade. */
static int pg_device_del(struct store *base, int64_t device_id)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, device_id);
	return exec_change(pg_store_of(base), ST_DEV_DEL, &a, "device del");
}

static int pg_device_list(struct store *base, int64_t user_id,
                          int (*cb)(void *ctx, const struct device_rec *d), void *ctx)
{
	struct pg_args a;
	PGresult *r = NULL;
	pg_args_init(&a);
	if (user_id)
		pg_arg_i64(&a, user_id);
	int rc = run(pg_store_of(base), user_id ? ST_DEV_LIST_USER : ST_DEV_LIST_ALL, &a,
	             PGRES_TUPLES_OK, "device list", &r);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
		struct device_rec d;
		read_device(r, i, &d);
		rc = cb(ctx, &d);
	}
	PQclear(r);
	return rc;
}

static int64_t pg_cred_generation(struct store *base)
{
	PGresult *r;
	if (run(pg_store_of(base), ST_CRED_GEN, NULL, PGRES_TUPLES_OK, "credential generation",
	        &r) != STORE_OK)
		return -1;
	int64_t n = PQntuples(r) ? pg_i64(r, 0, 0) : -1;
	PQclear(r);
	return n;
}

/* ---- web sessions ---- */

#define CSRF_MAX (sizeof ((struct session_rec *)0)->csrf - 1)

/* A user deleted meanwhile: STORE_NOTFOUND through the foreign key. */
static int pg_session_add(struct store *base, const unsigned char id_hash[TOKEN_HASH_LEN],
                          int64_t user_id, const char *csrf, int64_t created_ms,
                          int64_t expires_ms)
{
	struct pg_store *s = pg_store_of(base);
	struct pg_args a;
	/* What does not fit in session_rec could never be read back whole. */
	if (!csrf || strlen(csrf) > CSRF_MAX) {
		snprintf(s->err, sizeof s->err, "session add: CSRF token longer than %zu bytes",
		         CSRF_MAX);
		return STORE_ERR;
	}
	pg_args_init(&a);
	pg_arg_bytes(&a, id_hash, TOKEN_HASH_LEN);
	pg_arg_i64(&a, user_id);
	pg_arg_text(&a, csrf);
	pg_arg_i64(&a, created_ms);
	pg_arg_i64(&a, expires_ms);
	return exec_done(s, ST_SESS_ADD, &a, "session add");
}

static int pg_session_get(struct store *base, const unsigned char id_hash[TOKEN_HASH_LEN],
                          int64_t now, struct session_rec *out)
{
	struct pg_args a;
	PGresult *r;
	pg_args_init(&a);
	pg_arg_bytes(&a, id_hash, TOKEN_HASH_LEN);
	pg_arg_i64(&a, now);
	int rc = run(pg_store_of(base), ST_SESS_GET, &a, PGRES_TUPLES_OK, "session get", &r);
	if (rc != STORE_OK)
		return rc;
	if (!PQntuples(r)) {
		PQclear(r);
		return STORE_NOTFOUND;
	}
	out->user_id = pg_i64(r, 0, 0);
	pg_text(r, 0, 1, out->user, sizeof out->user);
	pg_text(r, 0, 2, out->csrf, sizeof out->csrf);
	out->created_ms = pg_i64(r, 0, 3);
	out->expires_ms = pg_i64(r, 0, 4);
	PQclear(r);
	return STORE_OK;
}

static int pg_session_touch(struct store *base, const unsigned char id_hash[TOKEN_HASH_LEN],
                            int64_t expires_ms)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, expires_ms);
	pg_arg_bytes(&a, id_hash, TOKEN_HASH_LEN);
	return exec_change(pg_store_of(base), ST_SESS_TOUCH, &a, "session touch");
}

static int pg_session_del(struct store *base, const unsigned char id_hash[TOKEN_HASH_LEN])
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_bytes(&a, id_hash, TOKEN_HASH_LEN);
	return exec_change(pg_store_of(base), ST_SESS_DEL, &a, "session del");
}

/* Same boundary as store_session_get: expired when expires_ms <= now. */
static int64_t pg_session_purge(struct store *base, int64_t now)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, now);
	return exec_count(pg_store_of(base), ST_SESS_PURGE, &a, "session purge");
}

static int64_t pg_session_trim(struct store *base, int64_t user_id, int keep)
{
	struct pg_args a;
	pg_args_init(&a);
	pg_arg_i64(&a, user_id);
	pg_arg_i64(&a, keep);
	return exec_count(pg_store_of(base), ST_SESS_TRIM, &a, "session trim");
}

static int pg_user_creds(struct store *base, int64_t user_id, int64_t now, char pwhash[PWHASH_LEN],
                         void (*cb)(void *ctx, const unsigned char id_hash[TOKEN_HASH_LEN],
                                    int64_t created_ms),
                         void *ctx)
{
	struct pg_args a;
	PGresult *r;
	pg_args_init(&a);
	pg_arg_i64(&a, user_id);
	pg_arg_i64(&a, now);
	int rc = run(pg_store_of(base), ST_USER_CREDS, &a, PGRES_TUPLES_OK, "user credentials", &r);
	if (rc != STORE_OK)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		size_t len;
		if (!i)
			pg_text(r, 0, 0, pwhash, PWHASH_LEN);
		unsigned char *h = pg_bytes(r, i, 1, &len);
		if (h && len == TOKEN_HASH_LEN)
			cb(ctx, h, pg_i64(r, i, 2));
		PQfreemem(h);
	}
	rc = PQntuples(r) ? STORE_OK : STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

/* A copy of a PostgreSQL database is the server's business (pg_dump, or
 * its base backups and WAL archive): a file of ours would be neither. */
static int pg_backup(struct store *base, const char *file)
{
	struct pg_store *s = pg_store_of(base);
	(void)file;
	snprintf(s->err, sizeof s->err, "backup: a PostgreSQL store is backed up with pg_dump");
	return STORE_ERR;
}

static const struct store_ops pg_ops = {
	.rows = pg_rows,
	.put_row = pg_put_row,
	.rows_done = pg_rows_done,
	.notify_fixes = pg_store_notify,
	.close = pg_close,
	.errmsg = pg_errmsg,
	.user_add = pg_user_add,
	.user_get = pg_user_get,
	.user_set_password = pg_user_set_password,
	.user_set_timezone = pg_user_set_timezone,
	.user_del = pg_user_del,
	.user_list = pg_user_list,
	.device_add = pg_device_add,
	.device_get = pg_device_get,
	.device_by_token = pg_device_by_token,
	.device_by_id = pg_device_by_id,
	.device_by_ident = pg_device_by_ident,
	.device_set_token = pg_device_set_token,
	.device_del = pg_device_del,
	.device_list = pg_device_list,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.put_fix = pg_put_fix,
	.put_fixes = pg_put_fixes,
	.bury_failed = pg_bury_failed,
	.fixes = pg_fixes,
	.last_fix = pg_last_fix,
	.count = pg_count,
	.cred_generation = pg_cred_generation,
	.device_rename = pg_device_rename,
	.fix_nth_last = pg_fix_nth_last,
	.fix_first_in = pg_fix_first_in,
	.fix_last_in = pg_fix_last_in,
	.fix_first_many = pg_fix_first_many,
	.fix_positions = pg_fix_positions,
	.demo_delete = pg_demo_delete,
	.fix_count_range = pg_fix_count_range,
	.fix_delete_batch = pg_fix_delete_batch,
	.fix_delete_at = pg_fix_delete_at,
	.fix_delete_many = pg_fix_delete_many,
	.session_add = pg_session_add,
	.session_get = pg_session_get,
	.session_touch = pg_session_touch,
	.session_del = pg_session_del,
	.session_purge = pg_session_purge,
	.bucket_lock = pg_bucket_lock,
	.bucket_set = pg_bucket_set,
	.trust_set = pg_trust_set,
	.trust_get = pg_trust_get,
	.bucket_purge = pg_bucket_purge,
	.import_add = pg_import_add,
	.import_put = pg_import_put,
	.import_list = pg_import_list,
	.import_trim = pg_import_trim,
	.session_trim = pg_session_trim,
	.user_creds = pg_user_creds,
	.backup = pg_backup,
	.hist_open = pg_hist_open,
	.geo_open = pg_geo_open,
	.test_limit_pages = NULL,
};
