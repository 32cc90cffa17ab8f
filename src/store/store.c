/* The store's front: store_open picks the backend the location names, and
 * every other call goes through that backend's table (store_backend.h). */
#include "store/store.h"
#include "store/store_backend.h"
#include "store/store_test.h"

#include <stdio.h>
#include <string.h>

static int is_pg(const char *location)
{
	return strncmp(location, "postgresql://", 13) == 0 ||
	       strncmp(location, "postgres://", 11) == 0;
}

const char *store_kind(const char *location)
{
	return is_pg(location) ? "postgresql" : "sqlite";
}

struct store *store_open(const char *location, int flags, char *err, size_t errlen)
{
	if (is_pg(location))
		return store_pg_open(location, flags, err, errlen);
	if (strncmp(location, "sqlite:", 7) == 0)
		location += 7;
	if (!*location) {
		snprintf(err, errlen, "store: sqlite: needs a file path");
		return NULL;
	}
	return store_sqlite_open(location, flags, err, errlen);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_errmsg(struct store *s)
{
	return s->ops->errmsg(s);
}

int store_user_add(struct store *s, const char *name, const char *pwhash)
{
	return s->ops->user_add(s, name, pwhash);
}

int store_user_get(struct store *s, const char *name, struct user_rec *out)
{
	return s->ops->user_get(s, name, out);
}

int store_user_set_password(struct store *s, const char *name, const char *pwhash)
{
	return s->ops->user_set_password(s, name, pwhash);
}

int store_user_set_timezone(struct store *s, const char *name, const char *tz)
{
	return s->ops->user_set_timezone(s, name, tz);
}

int store_user_del(struct store *s, const char *name)
{
	return s->ops->user_del(s, name);
}

int store_user_list(struct store *s, int (*cb)(void *ctx, const struct user_rec *u), void *ctx)
{
	return s->ops->user_list(s, cb, ctx);
}

int store_device_add(struct store *s, int64_t user_id, const char *name,
                     const unsigned char hash[TOKEN_HASH_LEN], const char *ident, int64_t *id_out)
{
	return s->ops->device_add(s, user_id, name, hash, ident, id_out);
}

int store_device_get(struct store *s, int64_t user_id, const char *name, struct device_rec *out)
{
	return s->ops->device_get(s, user_id, name, out);
}

int store_device_by_token(struct store *s, const unsigned char hash[TOKEN_HASH_LEN],
                          struct device_rec *out)
{
	return s->ops->device_by_token(s, hash, out);
}

int store_device_by_id(struct store *s, int64_t device_id, struct device_rec *out)
{
	return s->ops->device_by_id(s, device_id, out);
}

int store_device_by_ident(struct store *s, const char *ident, struct device_rec *out)
{
	return s->ops->device_by_ident(s, ident, out);
}

int store_device_set_token(struct store *s, int64_t device_id,
                           const unsigned char hash[TOKEN_HASH_LEN])
{
	return s->ops->device_set_token(s, device_id, hash);
}

int store_device_del(struct store *s, int64_t device_id)
{
	return s->ops->device_del(s, device_id);
}

int store_device_list(struct store *s, int64_t user_id,
                      int (*cb)(void *ctx, const struct device_rec *d), void *ctx)
{
	return s->ops->device_list(s, user_id, cb, ctx);
}

int store_begin(struct store *s)
{
	return s->ops->begin(s);
}

int store_commit(struct store *s)
{
	return s->ops->commit(s);
}

int store_rollback(struct store *s)
{
	return s->ops->rollback(s);
}

int store_put_fix(struct store *s, int64_t device_id, const struct fix *f, int *inserted)
{
	return s->ops->put_fix(s, device_id, f, inserted);
}

int store_put_fixes(struct store *s, const int64_t *device_ids, const struct fix *const *fixes,
                    size_t n, int *inserted)
{
	if (s->ops->put_fixes)
		return s->ops->put_fixes(s, device_ids, fixes, n, inserted);
	for (size_t i = 0; i < n; i++) {
		int rc = s->ops->put_fix(s, device_ids[i], fixes[i], &inserted[i]);
		if (rc == STORE_NOTFOUND)
			inserted[i] = -1;
		else if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

int store_bury_failed(struct store *s)
{
	return s->ops->bury_failed(s);
}

int store_fixes(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                int (*cb)(void *ctx, const struct fix *f), void *ctx)
{
	return s->ops->fixes(s, device_id, from_ms, to_ms, cb, ctx);
}

int store_last_fix(struct store *s, int64_t device_id, struct fix *out)
{
	return s->ops->last_fix(s, device_id, out);
}

int64_t store_count(struct store *s, int64_t device_id)
{
	return s->ops->count(s, device_id);
}

int64_t store_cred_generation(struct store *s)
{
	return s->ops->cred_generation(s);
}

int store_device_rename(struct store *s, int64_t device_id, const char *new_name)
{
	return s->ops->device_rename(s, device_id, new_name);
}

int store_fix_nth_last(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                       int64_t n, int64_t *time_ms)
{
	return s->ops->fix_nth_last(s, device_id, from_ms, to_ms, n, time_ms);
}

int store_fix_first_in(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                       struct fix *out)
{
	return s->ops->fix_first_in(s, device_id, from_ms, to_ms, out);
}

int store_fix_last_in(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                      struct fix *out)
{
	return s->ops->fix_last_in(s, device_id, from_ms, to_ms, out);
}

int store_fix_first_many(struct store *s, int64_t device_id, struct fix_seek *v, size_t n)
{
	if (s->ops->fix_first_many)
		return s->ops->fix_first_many(s, device_id, v, n);
	for (size_t i = 0; i < n; i++) {
		struct fix f;
		v[i].found = 0;
		if (v[i].from_ms > v[i].to_ms)
			continue;
		int rc = s->ops->fix_first_in(s, device_id, v[i].from_ms, v[i].to_ms, &f);
		if (rc == STORE_NOTFOUND)
			continue;
		if (rc != STORE_OK)
			return STORE_ERR;
		v[i].found = 1;
		v[i].first = (struct fix_pos){ f.time_ms, f.lat, f.lon };
		fix_free(&f);
	}
	return STORE_OK;
}

/* store_fixes' callback returns this to stop the walk when out is full:
 * distinct from every store_rc. */
#define POSITIONS_FULL 0x7f00

struct positions {
	struct fix_pos *out;
	size_t          n, max;
};

static int add_position(void *ctx, const struct fix *f)
{
	struct positions *p = ctx;
	p->out[p->n++] = (struct fix_pos){ f->time_ms, f->lat, f->lon };
	return p->n == p->max ? POSITIONS_FULL : 0;
}

int store_fix_positions(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                        size_t max, struct fix_pos *out, size_t *n)
{
	*n = 0;
	if (s->ops->fix_positions)
		return s->ops->fix_positions(s, device_id, from_ms, to_ms, max, out, n);
	if (max == 0)
		return STORE_OK;
	struct positions p = { out, 0, max };
	int rc = s->ops->fixes(s, device_id, from_ms, to_ms, add_position, &p);
	/* STORE_NOTFOUND: the device is gone, so it has no fixes. */
	if (rc != STORE_OK && rc != POSITIONS_FULL && rc != STORE_NOTFOUND)
		return STORE_ERR;
	*n = rc == STORE_NOTFOUND ? 0 : p.n;
	return STORE_OK;
}

int64_t store_demo_delete(struct store *s, int64_t device_id)
{
	return s->ops->demo_delete(s, device_id);
}

int64_t store_fix_count_range(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                              const double *box)
{
	return s->ops->fix_count_range(s, device_id, from_ms, to_ms, box);
}

int64_t store_fix_delete_batch(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
                               const double *box, int64_t max)
{
	return s->ops->fix_delete_batch(s, device_id, from_ms, to_ms, box, max);
}

int store_fix_delete_at(struct store *s, int64_t device_id, int64_t time_ms, int *deleted)
{
	return s->ops->fix_delete_at(s, device_id, time_ms, deleted);
}

int store_fix_delete_many(struct store *s, const int64_t *device_ids, const int64_t *times_ms,
                          size_t n, int64_t *deleted)
{
	*deleted = 0;
	if (s->ops->fix_delete_many)
		return n ? s->ops->fix_delete_many(s, device_ids, times_ms, n, deleted) : STORE_OK;
	for (size_t i = 0; i < n; i++) {
		int del = 0;
		if (s->ops->fix_delete_at(s, device_ids[i], times_ms[i], &del) != STORE_OK)
			return STORE_ERR;
		*deleted += del;
	}
	return STORE_OK;
}

int store_session_add(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN], int64_t user_id,
                      const char *csrf, int64_t created_ms, int64_t expires_ms)
{
	return s->ops->session_add(s, id_hash, user_id, csrf, created_ms, expires_ms);
}

int store_session_get(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN], int64_t now_ms,
                      struct session_rec *out)
{
	return s->ops->session_get(s, id_hash, now_ms, out);
}

int store_session_touch(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN],
                        int64_t expires_ms)
{
	return s->ops->session_touch(s, id_hash, expires_ms);
}

int store_session_del(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN])
{
	return s->ops->session_del(s, id_hash);
}

int64_t store_session_purge(struct store *s, int64_t now_ms)
{
	return s->ops->session_purge(s, now_ms);
}

int64_t store_session_trim(struct store *s, int64_t user_id, int keep)
{
	return s->ops->session_trim(s, user_id, keep);
}

int store_user_creds(struct store *s, int64_t user_id, int64_t now_ms, char pwhash[PWHASH_LEN],
                     void (*cb)(void *ctx, const unsigned char id_hash[TOKEN_HASH_LEN],
                     int64_t created_ms), void *ctx)
{
	return s->ops->user_creds(s, user_id, now_ms, pwhash, cb, ctx);
}

int store_backup(struct store *s, const char *file)
{
	return s->ops->backup(s, file);
}

int store_rows(struct store *s, const char *table, const char *cols,
               int (*cb)(void *ctx, int n, const struct store_val *v), void *ctx)
{
	return s->ops->rows(s, table, cols, cb, ctx);
}

int store_put_row(struct store *s, const char *table, const char *cols, int n,
                  const struct store_val *v, int *inserted)
{
	return s->ops->put_row(s, table, cols, n, v, inserted);
}

int store_rows_done(struct store *s, const char *table)
{
	return s->ops->rows_done(s, table);
}

int store_begin_bulk(struct store *s, const int64_t *device_id, size_t n)
{
	return s->ops->begin_bulk ? s->ops->begin_bulk(s, device_id, n) : s->ops->begin(s);
}

int store_notify_fixes(struct store *s, const int64_t *device_ids,
                       const struct fix *const *fixes, const int *inserted, size_t n)
{
	return s->ops->notify_fixes ? s->ops->notify_fixes(s, device_ids, fixes, inserted, n)
	                            : STORE_OK;
}

int store_announces(const char *location)
{
	return is_pg(location);
}

/* Only PostgreSQL has announcements; the listener is its own connection,
 * not a store's, so it is picked by the location like store_open. */
struct store_listen *store_listen_open(const char *location, char *err, size_t errlen)
{
	if (is_pg(location))
		return pg_listen_open(location, err, errlen);
	snprintf(err, errlen, "%s store: no announcements", store_kind(location));
	return NULL;
}

void store_listen_close(struct store_listen *l)
{
	pg_listen_close(l);
}

int store_listen_fd(const struct store_listen *l)
{
	return pg_listen_fd(l);
}

int64_t store_listen_drain(struct store_listen *l,
                           void (*cb)(void *ctx, int64_t device_id, int64_t time_ms), void *ctx)
{
	return pg_listen_drain(l, cb, ctx);
}

int store_test_limit_pages(struct store *s, int on)
{
	return s->ops->test_limit_pages ? s->ops->test_limit_pages(s, on) : STORE_ERR;
}
