/* Derived history as JSON, the shapes of design.md "History" (times ISO
 * 8601 UTC as in /api/points, distances m, speeds m/s): written by the
 * webapp's /api/trips, /api/timeline, /api/places and by the CLI's
 * --json, so both say the same. */
#ifndef MINTRAC_HIST_JSON_H
#define MINTRAC_HIST_JSON_H
#include "base/buf.h"
#include "store/history_store.h"

/* One stay or trip. place: the stay's place, NULL when it has none. */
void hist_json_segment(struct buf *b, const struct seg_rec *r, const struct place_rec *place);
/* One place with its visits (first and last: start times of its stays). */
void hist_json_place(struct buf *b, const struct place_stat *ps);
/* /api/stats: {"device","timezone","distance","days","years","months",
 * "countries","cities"[,"daily"]}; country names come from name_of (NULL:
 * null) when given. */
struct hist_stats;
void hist_json_stats(struct buf *b, const char *device, const char *zone, int year,
                     const struct hist_stats *st,
                     const char *(*name_of)(void *ctx, const char *code), void *ctx);
/* The trips' mode names: "walk", "cycle", "drive", "fly", "unknown". */
const char *hist_json_mode(int mode);
#endif
