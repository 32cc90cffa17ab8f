/* Storage interface. Everything the rest of mintrac knows about the database
 * is in this header (and history_store.h, geo_store.h). store.c sends each
 * call to the backend the location names (store_backend.h):
 *   store_sqlite.c  WAL, versioned schema (PRAGMA user_version), prepared
 *                   statements reused, every rc checked;
 *   store_pg.c      PostgreSQL over libpq, the same contract.
 * A `struct store` is one connection; use it from one thread only. */
#ifndef MINTRAC_STORE_H
#define MINTRAC_STORE_H
#include <stddef.h>
#include <stdint.h>
#include "base/auth.h"
#include "base/point.h"

enum store_rc {
	STORE_OK       = 0,
	STORE_NOTFOUND = 1,
	STORE_EXISTS   = 2,   /* unique name / ident already taken */
	STORE_ERR      = -1,  /* storage failure; store_errmsg() says why */
};

enum store_flags {
	STORE_CREATE   = 1 << 0,   /* create file and schema if missing */
	STORE_READONLY = 1 << 1,
	STORE_SYNC_NORMAL = 1 << 2, /* synchronous=NORMAL instead of FULL */
	STORE_BULK        = 1 << 3, /* a 32 MiB page cache: an import's inserts
	                             * find the B-tree's pages in memory */
	STORE_WRITER      = 1 << 4, /* the receiver's writer: the same batch
	                             * statement over and over, planned once */
};

#define NAME_MAX_BYTES 256        /* 64 UTF-8 characters at most */

struct user_rec {
	int64_t id;
	char    name[65];
	char    pwhash[PWHASH_LEN];
	int64_t created_ms;
	char    timezone[64];   /* IANA name, "UTC" unless set (base/tzname.h) */
};

struct device_rec {
	int64_t id;
	int64_t user_id;
	char    user[65];
	char    name[NAME_MAX_BYTES + 1];
	char    ident[129];          /* "" when none */
	int64_t created_ms;
};

struct store;

/* location: "sqlite:PATH", a plain PATH (SQLite), or a libpq URI
 * "postgresql://user:pass@host:port/db" ("postgres://" too). */
struct store *store_open(const char *location, int flags, char *err, size_t errlen);
/* The backend a location names: "sqlite" or "postgresql". */
const char *store_kind(const char *location);
void store_close(struct store *s);             /* NULL-safe */
const char *store_errmsg(struct store *s);

int store_user_add(struct store *s, const char *name, const char *pwhash);
int store_user_get(struct store *s, const char *name, struct user_rec *out);
int store_user_set_password(struct store *s, const char *name, const char *pwhash);
/* STORE_NOTFOUND when there is no such user; tz is checked by the caller. */
int store_user_set_timezone(struct store *s, const char *name, const char *tz);
int store_user_del(struct store *s, const char *name);          /* and its devices and fixes */
int store_user_list(struct store *s, int (*cb)(void *ctx, const struct user_rec *u), void *ctx);

int store_device_add(struct store *s, int64_t user_id, const char *name,
                     const unsigned char hash[TOKEN_HASH_LEN], const char *ident,
                     int64_t *id_out);
int store_device_get(struct store *s, int64_t user_id, const char *name, struct device_rec *out);
int store_device_by_token(struct store *s, const unsigned char hash[TOKEN_HASH_LEN],
                          struct device_rec *out);
int store_device_by_id(struct store *s, int64_t device_id, struct device_rec *out);
int store_device_by_ident(struct store *s, const char *ident, struct device_rec *out);
int store_device_set_token(struct store *s, int64_t device_id,
                           const unsigned char hash[TOKEN_HASH_LEN]);
int store_device_del(struct store *s, int64_t device_id);       /* and its fixes */
/* user_id 0 = every user's devices; ordered by user name, device name. */
int store_device_list(struct store *s, int64_t user_id,
                      int (*cb)(void *ctx, const struct device_rec *d), void *ctx);

/* Writing fixes: wrap store_put_fix calls in begin/commit; on any error
 * call store_rollback so nothing is half-stored. A fix with the same
 * (device, time_ms) as a stored one is skipped (*inserted = 0). */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
int store_put_fix(struct store *s, int64_t device_id, const struct fix *f, int *inserted);
/* n fixes at once, inside begin/commit: fixes[i] of device_ids[i].
 * inserted[i] is 1 (stored), 0 (a duplicate) or -1 (its device is gone:
 * not stored, and the others still are). One group commit's worth: a
 * backend across a network stores them in one statement, so a batch costs
 * one round trip, not one per fix. STORE_OK, or STORE_ERR and the caller
 * rolls back. */
int store_put_fixes(struct store *s, const int64_t *device_ids, const struct fix *const *fixes,
                    size_t n, int *inserted);
/* After a commit failed (and was rolled back): commits a one-row change of
 * its own, so that what the failed commit left in the journal is
 * overwritten. After a failed fsync the failed transaction's pages may be
 * complete in the WAL, and recovery after a crash would replay a commit
 * that was reported as failed. STORE_OK or STORE_ERR. */
int store_bury_failed(struct store *s);

/* Fixes of a device with from_ms <= time_ms <= to_ms, in time order. The
 * callback's fix (attrs included) is valid only during the call; a non-zero
 * return from cb stops the walk and is returned. */
int store_fixes(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                int (*cb)(void *ctx, const struct fix *f), void *ctx);
/* Latest fix of a device: STORE_OK (fill *out, caller fix_free()s it) or STORE_NOTFOUND. */
int store_last_fix(struct store *s, int64_t device_id, struct fix *out);
/* Number of fixes of a device (device_id 0: all), or -1 on error. O(1):
 * kept per device (device_stats) and updated by store_commit. */
int64_t store_count(struct store *s, int64_t device_id);
/* A number that changes whenever users or devices change (token, ident,
 * deletion), or -1 on error: lets a reader cache credential lookups. */
int64_t store_cred_generation(struct store *s);
/* Rename a device: STORE_OK, STORE_EXISTS (the user has one of that name)
 * or STORE_NOTFOUND. */
int store_device_rename(struct store *s, int64_t device_id, const char *new_name);

/* The time of the n-th last fix (n >= 1) of a device with from_ms <=
 * time_ms <= to_ms, read backwards from to_ms: STORE_OK (*time_ms set),
 * STORE_NOTFOUND when the range holds fewer than n fixes. */
int store_fix_nth_last(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                       int64_t n, int64_t *time_ms);

/* The first fix of a device with from_ms <= time_ms <= to_ms (an index
 * seek, not a scan): STORE_OK (fill *out, caller fix_free()s it) or
 * STORE_NOTFOUND. store_fix_last_in is the same for the last one. */
int store_fix_first_in(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                       struct fix *out);
int store_fix_last_in(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                      struct fix *out);

/* For each of v[0..n): the first fix of the device in [from_ms, to_ms]
 * (found and first set; a range with from_ms > to_ms finds none). The
 * map's sampler asks thousands at a time: PostgreSQL answers them in one
 * statement, not one round trip each. STORE_OK or STORE_ERR. */
int store_fix_first_many(struct store *s, int64_t device_id, struct fix_seek *v, size_t n);
/* The times and places of the device's fixes in [from_ms, to_ms], in time
 * order, the first max of them into out (*n set; *n < max: that was all).
 * A device that does not exist has none. STORE_OK or STORE_ERR. */
int store_fix_positions(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                        size_t max, struct fix_pos *out, size_t *n);

/* Demo data: fixes whose attributes hold "demo":true. Deletes them (all
 * devices when device_id is 0) and returns how many, or -1 on error. Runs
 * its own transaction: not inside store_begin. */
int64_t store_demo_delete(struct store *s, int64_t device_id);

/* Fixes of a device with from_ms <= time_ms <= to_ms, and inside box
 * (west, south, east, north in degrees; west > east crosses the
 * antimeridian) when box is not NULL: how many, or -1. */
int64_t store_fix_count_range(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                              const double *box);
/* Deletes the first max of those in one transaction of its own (the
 * device's count and history mark go with it): how many (0 when none is
 * left), or -1. Callers loop, so a large deletion is many short
 * transactions and the receiver's commits never wait long. */
int64_t store_fix_delete_batch(struct store *s, int64_t device_id, int64_t from_ms,
                               int64_t to_ms, const double *box, int64_t max);

/* Deletes one fix inside the caller's transaction (its count and history
 * mark go with it); *deleted says whether there was one. STORE_OK or
 * STORE_ERR. An import takes back a failed file's fixes with it. */
int store_fix_delete_at(struct store *s, int64_t device_id, int64_t time_ms, int *deleted);

/* store_fix_delete_at for each (device_ids[i], times_ms[i]), inside the
 * caller's transaction, in one statement where the backend can (a
 * backend across a network would pay a round trip per fix): STORE_OK
 * with *deleted how many were there, or STORE_ERR. An import that takes
 * back a large file does it with this. */
int store_fix_delete_many(struct store *s, const int64_t *device_ids, const int64_t *times_ms,
                          size_t n, int64_t *deleted);

/* Web sessions. The cookie holds a random id; only its SHA-256 is stored.
 * A session ends at expires_ms, on logout, and when its user is deleted
 * or changes password. */
struct session_rec {
	int64_t user_id;
	char    user[65];
	char    csrf[48];            /* per-session CSRF token (text) */
	int64_t created_ms, expires_ms;
};
int store_session_add(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN],
                      int64_t user_id, const char *csrf, int64_t created_ms,
                      int64_t expires_ms);
/* STORE_OK with *out, or STORE_NOTFOUND when absent or expired at now_ms. */
int store_session_get(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN],
                      int64_t now_ms, struct session_rec *out);
int store_session_touch(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN],
                        int64_t expires_ms);
int store_session_del(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN]);
/* Deletes sessions expired at now_ms; returns how many, or -1. */
int64_t store_session_purge(struct store *s, int64_t now_ms);
/* Deletes all but the `keep` newest sessions of the user; how many, or -1. */
int64_t store_session_trim(struct store *s, int64_t user_id, int keep);
/* What a user's credentials are now, in one query (live streams check
 * theirs against it): STORE_OK with the password hash in pwhash and
 * cb(ctx, id_hash, created_ms) for each session not expired at now_ms,
 * STORE_NOTFOUND when the user is gone, STORE_ERR. */
int store_user_creds(struct store *s, int64_t user_id, int64_t now_ms,
                     char pwhash[PWHASH_LEN],
                     void (*cb)(void *ctx, const unsigned char id_hash[TOKEN_HASH_LEN],
                                int64_t created_ms),
                     void *ctx);

/* ---- fixes committed by any process (the live map) ----
 * Inside begin/commit, after store_put_fixes: the fixes with inserted[i]
 * == 1 are announced to every store_listen of the database when (and
 * only if) the transaction commits. SQLite: nothing; on one machine the
 * receiver tells its webapp itself (net/live.h). */
int store_notify_fixes(struct store *s, const int64_t *device_ids,
                       const struct fix *const *fixes, const int *inserted, size_t n);
/* 1 when the location's backend announces fixes (PostgreSQL). */
int store_announces(const char *location);

struct store_listen;
/* A connection of its own that hears the announcements: NULL with err for
 * a backend without them. A database unreachable now is tried again by
 * store_listen_drain. */
struct store_listen *store_listen_open(const char *location, char *err, size_t errlen);
void store_listen_close(struct store_listen *l);              /* NULL-safe */
/* The descriptor to wait on for reading; -1 while the connection is down
 * (then call store_listen_drain now and then: it reconnects). It may
 * change after a drain. */
int store_listen_fd(const struct store_listen *l);
/* cb for each fix announced since the last call; never blocks. Returns
 * how many, or -1 when the connection is down (fixes announced meanwhile
 * are not heard: the database is the record). */
int64_t store_listen_drain(struct store_listen *l,
                           void (*cb)(void *ctx, int64_t device_id, int64_t time_ms), void *ctx);

/* ---- state the webapp processes share (stateless processes) ----
 * Token buckets (webapp/throttle.h's shared variant): a bucket is named
 * by key and refills one token per period_ms up to burst. A bucket with
 * no row is full, and a row whose bucket is full again is deleted, so
 * rows stay only for buckets owed tokens. Times are wall-clock ms: the
 * processes sharing a database share no monotonic clock. */
#define STORE_BUCKETS_MAX 3
#define STORE_BUCKET_KEY_MAX 200      /* bytes of a key */
struct store_bucket {
	const char *key;
	double      burst;
	int64_t     period_ms;
};
/* One token from each of the n (<= STORE_BUCKETS_MAX) buckets, all or
 * none, in one transaction of its own (not inside store_begin): STORE_OK
 * with *wait_ms 0 when taken, or with *wait_ms the ms until every one has
 * a token (nothing taken); STORE_ERR. Two processes taking the last token
 * at once: one of them gets it. */
int store_bucket_take(struct store *s, const struct store_bucket *b, size_t n, int64_t now_ms,
                      int64_t *wait_ms);
/* One token back to each (never past burst), in one transaction. */
int store_bucket_give(struct store *s, const struct store_bucket *b, size_t n, int64_t now_ms);
/* key is trusted until until_ms (a later time than a stored one only). */
int store_trust_set(struct store *s, const char *key, int64_t until_ms);
/* STORE_OK when key is trusted at now_ms, STORE_NOTFOUND, STORE_ERR. */
int store_trust_get(struct store *s, const char *key, int64_t now_ms);
/* Deletes the rows of buckets full again and of trust expired at now_ms:
 * how many, or -1. */
int64_t store_bucket_purge(struct store *s, int64_t now_ms);

/* Import jobs (webapp/imports.h), readable by every webapp process: the
 * process that runs a job writes its state and its JSON (the reply of
 * GET /api/imports/ID) now and then, and a running job not written since
 * live_ms is one whose process stopped. */
struct store_import_rec {
	int64_t     id, user_id;
	int         running;
	int64_t     created_ms, updated_ms;
	const char *json;             /* valid during the callback; "" before the first write */
};
/* A new running job of the user: STORE_OK with *id_out, STORE_EXISTS when
 * the user has a running job written at or after live_ms (checked and
 * added atomically), STORE_NOTFOUND when the user is gone, STORE_ERR. */
int store_import_add(struct store *s, int64_t user_id, int64_t now_ms, int64_t live_ms,
                     int64_t *id_out);
/* The job's state and JSON as of now_ms: STORE_OK, STORE_NOTFOUND. */
int store_import_put(struct store *s, int64_t id, int running, int64_t now_ms,
                     const char *json);
/* The user's jobs, newest first (id 0), or the one job id of the user;
 * a non-zero return from cb stops the walk and is returned. */
int store_import_list(struct store *s, int64_t user_id, int64_t id,
                      int (*cb)(void *ctx, const struct store_import_rec *r), void *ctx);
/* Deletes all but the keep newest of the user's jobs that are not running
 * (a running job not written since live_ms counts as not running): how
 * many, or -1. */
int64_t store_import_trim(struct store *s, int64_t user_id, int keep, int64_t live_ms);

/* Online, consistent copy of the database into file (SQLite backup API). */
int store_backup(struct store *s, const char *file);

/* ---- moving a store to another backend (mintrac migrate) ----
 * Whole tables, row by row, with their ids, between stores of the same
 * schema. table and cols are the caller's constants (both backends use the
 * same names), never user input. */
enum store_val_type { SV_NULL, SV_INT, SV_REAL, SV_TEXT, SV_BLOB };
struct store_val {
	enum store_val_type type;
	int64_t             i;
	double              f;
	const void         *p;        /* SV_TEXT (NUL-terminated), SV_BLOB */
	size_t              len;
};
/* Every row of the table, ordered by its first column; values valid
 * during the call; a non-zero return from cb stops the walk and is
 * returned. */
int store_rows(struct store *s, const char *table, const char *cols,
               int (*cb)(void *ctx, int n, const struct store_val *v), void *ctx);
/* One row, inside begin/commit; a row whose key is taken already is left
 * as it is (*inserted 0), so a copy that was interrupted can run again. */
int store_put_row(struct store *s, const char *table, const char *cols, int n,
                  const struct store_val *v, int *inserted);
/* After rows with explicit ids (a table with an "id" column): the next id
 * the table makes comes after them (a PostgreSQL sequence; nothing in
 * SQLite). */
int store_rows_done(struct store *s, const char *table);

/* For bulk imports (io/import_job.c): a transaction like store_begin's
 * whose store_put_fix calls skip the per-row check that the device
 * exists; instead each of device_id[0..n) is checked once
 * here. Puts inside it may go only to those devices and to devices added
 * inside it. STORE_OK; STORE_NOTFOUND when one is gone, STORE_ERR (no
 * transaction is left open then). Ended by store_commit/store_rollback,
 * after which every statement is checked as before. A backend without
 * such checks may make it store_begin. */
int store_begin_bulk(struct store *s, const int64_t *device_id, size_t n);
#endif
