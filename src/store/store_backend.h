/* What a store backend provides: a table of functions for each object of
 * store.h, history_store.h and geo_store.h. store.c, history_store.c and
 * geo_store.c send each public call through the table, so the rest of
 * mintrac never knows which database it talks to. For the store/ files
 * only: nothing outside store/ includes this.
 *
 * A backend's object embeds the public one as its first member and
 * converts back (the conversion C guarantees for a struct's first member):
 *   struct sq { struct store base; sqlite3 *db; ... };
 * Each constructor sets base.ops. */
#ifndef MINTRAC_STORE_BACKEND_H
#define MINTRAC_STORE_BACKEND_H
#include <stddef.h>
#include <stdint.h>
#include "store/geo_store.h"
#include "store/history_store.h"
#include "store/store.h"

struct store_ops {
	void (*close)(struct store *s);
	const char *(*errmsg)(struct store *s);
	int (*user_add)(struct store *s, const char *name, const char *pwhash);
	int (*user_get)(struct store *s, const char *name, struct user_rec *out);
	int (*user_set_password)(struct store *s, const char *name, const char *pwhash);
	int (*user_set_timezone)(struct store *s, const char *name, const char *tz);
	int (*user_del)(struct store *s, const char *name);
	int (*user_list)(struct store *s, int (*cb)(void *ctx, const struct user_rec *u),
	              void *ctx);
	int (*device_add)(struct store *s, int64_t user_id, const char *name,
	              const unsigned char hash[TOKEN_HASH_LEN], const char *ident, int64_t *id_out);
	int (*device_get)(struct store *s, int64_t user_id, const char *name,
	              struct device_rec *out);
	int (*device_by_token)(struct store *s, const unsigned char hash[TOKEN_HASH_LEN],
	              struct device_rec *out);
	int (*device_by_id)(struct store *s, int64_t device_id, struct device_rec *out);
	int (*device_by_ident)(struct store *s, const char *ident, struct device_rec *out);
	int (*device_set_token)(struct store *s, int64_t device_id,
	              const unsigned char hash[TOKEN_HASH_LEN]);
	int (*device_del)(struct store *s, int64_t device_id);
	int (*device_list)(struct store *s, int64_t user_id,
	              int (*cb)(void *ctx, const struct device_rec *d), void *ctx);
	int (*begin)(struct store *s);
	int (*commit)(struct store *s);
	int (*rollback)(struct store *s);
	int (*put_fix)(struct store *s, int64_t device_id, const struct fix *f, int *inserted);
	/* NULL: store.c calls put_fix for each. */
	int (*put_fixes)(struct store *s, const int64_t *device_ids, const struct fix *const *fixes,
	              size_t n, int *inserted);
	int (*bury_failed)(struct store *s);
	int (*fixes)(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
	              int (*cb)(void *ctx, const struct fix *f), void *ctx);
	int (*last_fix)(struct store *s, int64_t device_id, struct fix *out);
	int64_t (*count)(struct store *s, int64_t device_id);
	int64_t (*cred_generation)(struct store *s);
	int (*device_rename)(struct store *s, int64_t device_id, const char *new_name);
	int (*fix_nth_last)(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
	              int64_t n, int64_t *time_ms);
	int (*fix_first_in)(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
	              struct fix *out);
	int (*fix_last_in)(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
	              struct fix *out);
	/* NULL: store.c calls fix_first_in for each. */
	int (*fix_first_many)(struct store *s, int64_t device_id, struct fix_seek *v, size_t n);
	/* NULL: store.c reads them with fixes. */
	int (*fix_positions)(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
	              size_t max, struct fix_pos *out, size_t *n);
	int64_t (*demo_delete)(struct store *s, int64_t device_id);
	int64_t (*fix_count_range)(struct store *s, int64_t device_id, int64_t from_ms,
	              int64_t to_ms, const double *box);
	int64_t (*fix_delete_batch)(struct store *s, int64_t device_id, int64_t from_ms,
	              int64_t to_ms, const double *box, int64_t max);
	int (*fix_delete_at)(struct store *s, int64_t device_id, int64_t time_ms, int *deleted);
	/* NULL: store.c calls fix_delete_at for each. */
	int (*fix_delete_many)(struct store *s, const int64_t *device_ids, const int64_t *times_ms,
	              size_t n, int64_t *deleted);
	int (*session_add)(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN],
	              int64_t user_id, const char *csrf, int64_t created_ms, int64_t expires_ms);
	int (*session_get)(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN],
	              int64_t now_ms, struct session_rec *out);
	int (*session_touch)(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN],
	              int64_t expires_ms);
	int (*session_del)(struct store *s, const unsigned char id_hash[TOKEN_HASH_LEN]);
	int64_t (*session_purge)(struct store *s, int64_t now_ms);
	int64_t (*session_trim)(struct store *s, int64_t user_id, int keep);
	int (*user_creds)(struct store *s, int64_t user_id, int64_t now_ms, char pwhash[PWHASH_LEN],
	              void (*cb)(void *ctx, const unsigned char id_hash[TOKEN_HASH_LEN],
	              int64_t created_ms), void *ctx);
	int (*backup)(struct store *s, const char *file);
	struct store_hist *(*hist_open)(struct store *s);
	struct store_geo *(*geo_open)(struct store *s);
	int (*rows)(struct store *s, const char *table, const char *cols,
	              int (*cb)(void *ctx, int n, const struct store_val *v), void *ctx);
	int (*put_row)(struct store *s, const char *table, const char *cols, int n,
	              const struct store_val *v, int *inserted);
	int (*rows_done)(struct store *s, const char *table);
	/* NULL: store_begin_bulk is store_begin. */
	int (*begin_bulk)(struct store *s, const int64_t *device_id, size_t n);
	/* NULL: the backend announces nothing (store_notify_fixes is a no-op). */
	int (*notify_fixes)(struct store *s, const int64_t *device_ids,
	              const struct fix *const *fixes, const int *inserted, size_t n);
	/* Inside begin/commit: the bucket's row locked against other
	 * writers until the commit, and its tokens as of *at_ms (a bucket
	 * without a row: burst at now_ms). */
	int (*bucket_lock)(struct store *s, const struct store_bucket *b, int64_t now_ms,
	              double *tokens, int64_t *at_ms);
	/* Inside begin/commit: the bucket has tokens as of at_ms (a full
	 * one: its row deleted). */
	int (*bucket_set)(struct store *s, const struct store_bucket *b, double tokens,
	              int64_t at_ms);
	int (*trust_set)(struct store *s, const char *key, int64_t until_ms);
	int (*trust_get)(struct store *s, const char *key, int64_t now_ms);
	int64_t (*bucket_purge)(struct store *s, int64_t now_ms);
	int (*import_add)(struct store *s, int64_t user_id, int64_t now_ms, int64_t live_ms,
	              int64_t *id_out);
	int (*import_put)(struct store *s, int64_t id, int running, int64_t now_ms,
	              const char *json);
	int (*import_list)(struct store *s, int64_t user_id, int64_t id,
	              int (*cb)(void *ctx, const struct store_import_rec *r), void *ctx);
	int64_t (*import_trim)(struct store *s, int64_t user_id, int keep, int64_t live_ms);
	/* Test hook (store_test.h); NULL: not supported by the backend. */
	int (*test_limit_pages)(struct store *s, int on);
};

struct hist_ops {
	void (*close)(struct store_hist *h);
	const char *(*errmsg)(const struct store_hist *h);
	int (*dirty_next)(struct store_hist *h, int64_t after_id, int64_t *device_id,
	              int64_t *from_ms, int64_t *seq);
	int (*dirty_done)(struct store_hist *h, int64_t device_id, int64_t seq);
	int (*mark)(struct store_hist *h, int64_t device_id, int64_t from_ms);
	int (*gen)(struct store_hist *h, int64_t device_id, int64_t *gen);
	int (*gen_bump)(struct store_hist *h, int64_t device_id, int64_t *gen);
	int (*fixes)(struct store_hist *h, int64_t device_id, int64_t from_ms, int (*cb)(void *ctx,
	              int64_t t_ms, double lat, double lon, double acc), void *ctx);
	int (*resume_point)(struct store_hist *h, int64_t device_id, int64_t t, int64_t *start_ms);
	int (*clear_from)(struct store_hist *h, int64_t device_id, int64_t from_ms);
	int (*clear_open)(struct store_hist *h, int64_t device_id);
	int (*put)(struct store_hist *h, int64_t device_id, const struct seg_rec *r);
	int (*segments)(struct store_hist *h, int64_t device_id, int64_t from_ms, int64_t to_ms,
	              int (*cb)(void *ctx, const struct seg_rec *r), void *ctx);
	int (*quarter_put)(struct store_hist *h, int64_t device_id, int64_t q);
	int (*quarters)(struct store_hist *h, int64_t device_id, int64_t from_q, int64_t to_q,
	              int (*cb)(void *ctx, int64_t q), void *ctx);
	int (*place_near)(struct store_hist *h, int64_t user_id, double lat, double lon,
	              double (*dist)(double lat1, double lon1, double lat2, double lon2),
	              struct place_rec *out);
	int (*place_add)(struct store_hist *h, const struct place_rec *p, int64_t *id_out);
	int (*place_get)(struct store_hist *h, int64_t user_id, int64_t id, struct place_rec *out);
	int (*place_update)(struct store_hist *h, int64_t user_id, int64_t id, const char *name,
	              double radius);
	int (*place_delete)(struct store_hist *h, int64_t user_id, int64_t id);
	int (*place_list)(struct store_hist *h, int64_t user_id, int (*cb)(void *ctx,
	              const struct place_stat *p), void *ctx);
	int64_t (*place_claim)(struct store_hist *h, int64_t user_id, int64_t id,
	              double (*dist)(double lat1, double lon1, double lat2, double lon2));
};

struct geo_ops {
	void (*close)(struct store_geo *g);
	const char *(*errmsg)(const struct store_geo *g);
	int (*clear)(struct store_geo *g);
	int (*put_country)(struct store_geo *g, const char *code, const char *name, double min_lat,
	              double min_lon, double max_lat, double max_lon, const void *shape,
	              size_t shape_len, int64_t *id_out);
	int (*set_country)(struct store_geo *g, int64_t id, const char *code, const char *name);
	int (*put_city)(struct store_geo *g, const char *name, const char *country, double lat,
	              double lon);
	int (*read_begin)(struct store_geo *g);
	int (*read_end)(struct store_geo *g);
	int (*count)(struct store_geo *g, int64_t *countries, int64_t *cities);
	int (*countries_in)(struct store_geo *g, double min_lat, double min_lon, double max_lat,
	              double max_lon, int (*cb)(void *ctx, const struct geo_country_rec *c),
	              void *ctx);
	int (*cities_in)(struct store_geo *g, double min_lat, double min_lon, double max_lat,
	              double max_lon, int (*cb)(void *ctx, const struct geo_city_rec *c),
	              void *ctx);
};

struct store      { const struct store_ops *ops; };
struct store_hist { const struct hist_ops  *ops; };
struct store_geo  { const struct geo_ops   *ops; };

/* What the history backends share (history_store.c), so that each
 * backend's SQL differs but its rules do not. A box of degrees around a
 * point that holds every circle of the user's places that could contain
 * it: radius up to PLACE_RADIUS_MAX m. */
#define PLACE_RADIUS_MAX 50000.0
/* Degrees of latitude and longitude that m metres span at lat. */
void hist_box_of(double lat, double m, double *dlat, double *dlon);
/* Quarter of a time, rounded down also for negative times. */
int64_t hist_quarter_of(int64_t t);
/* Whether a segment of the overlap query (the one that starts last at or
 * before from_ms, and those starting inside) really overlaps: the first
 * may end before from_ms, or just as it starts (then it belongs before). */
int hist_seg_overlaps(const struct seg_rec *r, int64_t from_ms);

/* The backends' constructors (store_open picks one by the location). */
struct store *store_sqlite_open(const char *path, int flags, char *err, size_t errlen);
struct store *store_pg_open(const char *uri, int flags, char *err, size_t errlen);
/* Announcements (listen_pg.c). */
struct store_listen *pg_listen_open(const char *uri, char *err, size_t errlen);
void pg_listen_close(struct store_listen *l);
int pg_listen_fd(const struct store_listen *l);
int64_t pg_listen_drain(struct store_listen *l,
                        void (*cb)(void *ctx, int64_t device_id, int64_t time_ms), void *ctx);
#endif
