/* Derived history in the store: a device's stays and trips (segments), the
 * user's places, the quarter hours in which a device has fixes, and the
 * bookkeeping that keeps them current (history/engine.h derives; this
 * stores). Backend-neutral: the SQL is in history_sqlite.c.
 *
 * A struct store_hist holds the prepared queries on one store connection;
 * close it before the store. Same thread rules as struct store. Writes go
 * inside store_begin .. store_commit of that store. */
#ifndef MINTRAC_HISTORY_STORE_H
#define MINTRAC_HISTORY_STORE_H
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

#define SEG_STAY 0
#define SEG_TRIP 1

/* One segment as stored (history/segment.h's struct hist_segment, plus
 * its place). parts: the trip's distance per quarter hour, opaque here
 * (history/engine.c encodes them). */
struct seg_rec {
	int         kind;            /* SEG_STAY or SEG_TRIP */
	int         open;            /* the device's last, still growing */
	int64_t     start_ms, end_ms, decided_ms;
	int64_t     nfix;
	double      lat, lon;        /* stay: centre */
	double      from_lat, from_lon, to_lat, to_lon;
	double      distance, duration_s, avg_speed, max_speed;
	int         mode, gap;
	int64_t     place_id;        /* stays: 0 when none */
	const void *parts;
	size_t      parts_len;
};

struct place_rec {
	int64_t id, user_id;
	char    name[128];           /* "" when unnamed */
	int     named;
	double  lat, lon, radius;
	char    city[128];           /* "" when unknown */
	char    country[3];
	char    country_name[128];   /* "" when unknown */
	int     deleted;             /* a tombstone: its stays have no place */
	int64_t created_ms;
};

struct store_hist;

struct store_hist *store_hist_open(struct store *s);
void store_hist_close(struct store_hist *h);          /* NULL-safe */
const char *store_hist_errmsg(const struct store_hist *h);

/* ---- what is out of date ---- */

/* The first dirty device after after_id (0: from the start): STORE_OK with
 * *device_id, *from_ms (INT64_MIN: from scratch) and *seq, or
 * STORE_NOTFOUND. */
int store_hist_dirty_next(struct store_hist *h, int64_t after_id, int64_t *device_id,
                          int64_t *from_ms, int64_t *seq);
/* The device was derived up to the change numbered seq: its mark goes,
 * unless a later change came meanwhile (then it stays for the next run). */
int store_hist_dirty_done(struct store_hist *h, int64_t device_id, int64_t seq);
/* Marks the device out of date from from_ms (fixes deleted or changed by
 * a path that does not go through store_put_fix). */
int store_hist_mark(struct store_hist *h, int64_t device_id, int64_t from_ms);
/* A device's derivation count (0 when never derived); bump adds one. */
int store_hist_gen(struct store_hist *h, int64_t device_id, int64_t *gen);
int store_hist_gen_bump(struct store_hist *h, int64_t device_id, int64_t *gen);

/* ---- reading fixes for derivation ---- */

/* Fixes of the device with time_ms >= from_ms, in time order, only what
 * derivation reads; acc < 0 when unknown. A non-zero return from cb stops
 * the walk and is returned. */
int store_hist_fixes(struct store_hist *h, int64_t device_id, int64_t from_ms,
                     int (*cb)(void *ctx, int64_t t_ms, double lat, double lon, double acc),
                     void *ctx);

/* ---- segments ---- */

/* The start of the stored closed stay with the greatest start_ms among
 * those decided before t (segment.h's resume rule): STORE_OK or
 * STORE_NOTFOUND. */
int store_hist_resume_point(struct store_hist *h, int64_t device_id, int64_t t,
                            int64_t *start_ms);
/* Deletes the device's segments with start_ms >= from_ms and the open
 * one, and its quarters after from_ms's; INT64_MIN: everything. */
int store_hist_clear_from(struct store_hist *h, int64_t device_id, int64_t from_ms);
/* Deletes the device's open segment (it is replaced after each run). */
int store_hist_clear_open(struct store_hist *h, int64_t device_id);
int store_hist_put(struct store_hist *h, int64_t device_id, const struct seg_rec *r);
/* Segments overlapping [from_ms, to_ms] in time order (one that ends just
 * as from_ms begins does not), unclipped; records valid during the call. */
int store_hist_segments(struct store_hist *h, int64_t device_id, int64_t from_ms,
                        int64_t to_ms, int (*cb)(void *ctx, const struct seg_rec *r),
                        void *ctx);
/* Quarter hours (time_ms / 900000) with at least one fix. */
int store_hist_quarter_put(struct store_hist *h, int64_t device_id, int64_t q);
int store_hist_quarters(struct store_hist *h, int64_t device_id, int64_t from_q, int64_t to_q,
                        int (*cb)(void *ctx, int64_t q), void *ctx);

/* ---- places ---- */

/* The user's place (tombstones included) whose circle holds the point,
 * the nearest centre when several do: STORE_OK or STORE_NOTFOUND. The
 * circle test is the caller's (dist), given the candidates of a box. */
int store_place_near(struct store_hist *h, int64_t user_id, double lat, double lon,
                     double (*dist)(double lat1, double lon1, double lat2, double lon2),
                     struct place_rec *out);
int store_place_add(struct store_hist *h, const struct place_rec *p, int64_t *id_out);
/* STORE_NOTFOUND unless the user has such a place (tombstones are gone). */
int store_place_get(struct store_hist *h, int64_t user_id, int64_t id, struct place_rec *out);
/* name NULL: unchanged, "" : unnamed; radius <= 0: unchanged. */
int store_place_update(struct store_hist *h, int64_t user_id, int64_t id, const char *name,
                       double radius);
/* Makes the place a tombstone and takes it from its stays. */
int store_place_delete(struct store_hist *h, int64_t user_id, int64_t id);
/* The user's places (no tombstones) with their visits (stays) and the
 * first and last stay's start, ordered by id. */
struct place_stat {
	struct place_rec p;
	int64_t visits, first_ms, last_ms;
};
int store_place_list(struct store_hist *h, int64_t user_id,
                     int (*cb)(void *ctx, const struct place_stat *p), void *ctx);
/* Stays of the user's devices whose centre lies in the place's circle get
 * it (those of another live place keep theirs unless the new one is
 * nearer); an unnamed place left without stays goes. Returns how many
 * changed, or -1. */
int64_t store_place_claim(struct store_hist *h, int64_t user_id, int64_t id,
                          double (*dist)(double lat1, double lon1, double lat2, double lon2));
#endif
