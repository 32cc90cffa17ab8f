/* Keeping derived history current (design.md "History": fresh). The store
 * marks a device out of date from the earliest fix any transaction added
 * or removed (store/history_store.h: history_dirty); hist_engine_run
 * brings every marked device up to date by segment.h's rules:
 *   A. while fixes only append, a device's segmenter is kept in memory
 *      between runs and fed the new fixes alone;
 *   B. otherwise (a late fix in the past, a deletion, a restart, another
 *      process derived meanwhile) derivation restarts at the last stay
 *      that was decided before the change, reading the fixes from there.
 * Fixes are read outside any write transaction; what was derived is
 * written in one short transaction, so the receiver's commits never wait
 * for a derivation, only for its write. Stays get the user's place whose
 * circle holds their centre, or a new unnamed place there (named by the
 * namer, when given); a deleted place's spot stays without a place.
 *
 * One engine per store connection and thread (the webapp runs it on a
 * worker thread, the CLI after an import). Several processes may run
 * engines on one database: history_gen tells each when its in-memory
 * segmenters are stale. */
#ifndef MINTRAC_ENGINE_H
#define MINTRAC_ENGINE_H
#include <stddef.h>
#include <stdint.h>
#include "history/hist.h"
#include "history/segment.h"
#include "store/store.h"

/* Fills p->city (a populated place's name), p->country (ISO 3166-1
 * alpha-2) and p->country_name for a new place at p->lat, p->lon; left
 * "" when unknown. */
struct place_rec;
typedef void (*hist_namer_fn)(void *ctx, struct place_rec *p);

struct hist_engine;
struct config;
struct geo;

/* A namer from the offline geodata (geo_lookup.h); ctx is a struct geo. */
void hist_geo_namer(void *ctx, struct place_rec *p);

/* The settings' limits (stay_radius, stay_min, max_accuracy, jump_speed)
 * over hist_config_default. */
void hist_config_from(struct hist_config *h, const struct config *c);

/* s is used by this engine alone from now on (it opens its own queries on
 * it); namer may be NULL. */
struct hist_engine *hist_engine_new(struct store *s, const struct hist_config *cfg,
                                    hist_namer_fn namer, void *namer_ctx);
void hist_engine_free(struct hist_engine *e);      /* NULL-safe; not the store */
const char *hist_engine_errmsg(const struct hist_engine *e);

/* Derives every device marked out of date. Returns how many were brought
 * up to date, or -1 on a storage error (what was done stays done; the
 * rest stays marked for the next run). */
int hist_engine_run(struct hist_engine *e);
/* From any thread: a run under way stops at its next fix (returning -1,
 * nothing of the device it was on written), and so do later runs. */
void hist_engine_cancel(struct hist_engine *e);

/* A trip's parts as stored: 12 bytes each, the quarter-hour index (int32)
 * and the metres (IEEE double), little-endian. */
#define HIST_PART_BYTES 12
void hist_parts_encode(const struct hist_part *parts, size_t n, unsigned char *out);
/* Decodes up to max parts of blob; returns how many there are. */
size_t hist_parts_decode(const void *blob, size_t len, struct hist_part *out, size_t max);
#endif
