/* Stays and trips (design.md "History"), derived from one device's fixes
 * in time order by a streaming state machine with bounded memory: a stay
 * keeps a running centre, not its fixes, so a week parked at 1 Hz costs
 * what a minute does. Cleaning (clean.h) runs inside: feed raw fixes.
 *
 * The rules:
 *   - Stay: a run of fixes all within stay_radius of their running mean
 *     (the centre) lasting at least stay_min. A gap inside the radius is
 *     part of it. Its start is its first fix, its end its last fix inside.
 *   - A stay ends when leave_fixes consecutive fixes lie outside the
 *     radius, or one lies beyond 3 × stay_radius, or the fixes outside have
 *     lasted stay_min. Fewer outside fixes followed by one inside are GPS
 *     drift: forgotten (no distance, not in the centre). A fix outside the
 *     radius by less than its own accuracy counts neither way.
 *   - Trip: everything between two stays (or before the first, or after
 *     the last), from the previous stay's last fix (or the device's first
 *     fix) to the next stay's first fix. A candidate stay that breaks up
 *     before stay_min is part of the trip. from/to: the previous stay's
 *     centre (or first fix) and the next stay's centre as it stood when the
 *     stay reached stay_min (or, for an open trip, its last fix).
 *   - distance: an odometer over the trip's cleaned fixes that counts a
 *     step once a fix lies step_min from the last counted fix, plus the
 *     remainder to the trip's last fix. Fixes of stays never reach it, so
 *     jitter while parked adds nothing; step_min keeps jitter while walking
 *     from adding much.
 *   - speeds: measured over windows of at least 10 s (fix to fix), since
 *     metres of noise between fixes a second apart are as many m/s.
 *     max_speed: the second-highest window speed (one absurd window is
 *     ignored), the highest when there is one. avg_speed: distance /
 *     duration.
 *   - mode: the class (walk < 7 km/h, cycle < 25, drive < 200, fly) that
 *     holds the time-weighted median of the window speeds above 0.5 m/s;
 *     unknown with fewer than 3 windows or none above 0.5 m/s.
 *   - gap: a closed trip with no fix between its two ends.
 *   - Per-day distance: every distance the odometer adds is split by time
 *     over 15-minute UTC buckets (a step crossing a bucket edge in
 *     proportion to the time on each side) and a trip carries its nonzero
 *     buckets as parts. Every zone's midnight falls on a quarter hour, so
 *     day.h sums the parts of any local day in any zone without
 *     re-deriving; store the parts with the trip.
 *
 * Output: each segment is passed to the callback when it is decided; a
 * trip when the next stay reaches stay_min, a stay when it ends. Every
 * segment's start is the previous one's end. hist_seg_open and
 * hist_seg_finish pass the device's last segment with open = 1 (end = the
 * last fix's time).
 * The segment and its parts are valid during the callback only.
 *
 * What to store per segment: kind, start_ms, end_ms, decided_ms, open,
 * lat/lon (stay), nfix, and for a trip from/to, distance, duration_s,
 * avg_speed, max_speed, mode, gap and its parts (start_ms, distance).
 *
 * KEEPING UP. Two ways, both giving exactly what one run over all the
 * fixes from scratch gives (tests/unit/test_history.c checks both):
 *
 * A. Live, while fixes only append. Keep the device's segmenter between
 *    batches and push each batch's fixes; what it emits closed is final,
 *    store it. After the batch, hist_seg_open emits the current open
 *    segment (replace the stored open one) and leaves the segmenter as it
 *    was. This holds only while every new fix is later than every fix
 *    already pushed; otherwise, or after a restart, use B.
 *
 * B. Resume rule. decided_ms is the time of the raw fix whose arrival
 *    made the segmenter emit the segment; a closed segment depends only
 *    on raw fixes up to decided_ms. When fixes are added or deleted, let
 *    T be the earliest time of any fix added or deleted since the last
 *    derivation (for fixes appended after all others, the first new one's
 *    time). Then:
 *    1. take the stored closed stay S with the greatest start_ms among
 *       those with decided_ms < T; if there is none, derive from scratch
 *       (delete every stored segment, feed all fixes);
 *    2. delete every stored segment with start_ms >= S.start_ms (S
 *       itself, everything after it and the open segment);
 *    3. feed a new segmenter (same config) every raw fix with t_ms >=
 *       S.start_ms in time order, storing what it emits, then
 *       hist_seg_finish (or keep it live, as in A).
 *    Why this equals scratch: (a) everything stored before S was decided
 *    by raw fixes older than T, which did not change; (b) S's first fix c
 *    was released by the cleaner, so a fresh cleaner starting at c
 *    releases the same fixes after it (clean.h); (c) in the scratch run c
 *    started a new candidate stay whose state depends on no earlier fix,
 *    and the trip before it ended at c, so a segmenter starting at c
 *    (whose trip starts and ends at c and is not emitted) is from c on in
 *    the same state; (d) all distances are pure functions of their fixes
 *    (hist.h). The cost is the fixes since S's start: a stay of a week at
 *    1 Hz is 600 k fixes, a few tens of ms here plus reading them, which
 *    is why A is the path for the receiver's batches.
 *
 * Memory: the segmenter is a fixed struct plus the parts of the trip in
 * progress (one per 15 minutes of trip). No allocation per fix. */
#ifndef MINTRAC_SEGMENT_H
#define MINTRAC_SEGMENT_H
#include <stddef.h>
#include <stdint.h>
#include "history/clean.h"
#include "history/hist.h"

enum hist_kind { HIST_STAY, HIST_TRIP };
enum hist_mode { HIST_UNKNOWN, HIST_WALK, HIST_CYCLE, HIST_DRIVE, HIST_FLY };

/* "walk", "cycle", "drive", "fly", "unknown" (design.md's names). */
const char *hist_mode_name(enum hist_mode m);

#define HIST_PART_MS 900000   /* the distance buckets: 15 minutes of UTC */

struct hist_part {
	int64_t start_ms;      /* a multiple of HIST_PART_MS */
	double  distance;      /* m travelled in [start_ms, start_ms + HIST_PART_MS) */
};

struct hist_segment {
	enum hist_kind kind;
	int     open;          /* the device's last segment: may still grow */
	int64_t start_ms, end_ms;
	int64_t decided_ms;    /* see the resume rule; for an open one, the last fix's */
	uint64_t nfix;         /* cleaned fixes: of a stay inside it; of a trip between its ends */
	double  lat, lon;      /* stay: centre */
	/* trip only */
	double  from_lat, from_lon, to_lat, to_lon;
	double  distance, duration_s, avg_speed, max_speed;
	enum hist_mode mode;
	int     gap;
	const struct hist_part *parts;
	size_t  nparts;
};

typedef void (*hist_emit_fn)(void *ctx, const struct hist_segment *s);

struct hist_seg;

struct hist_seg *hist_seg_new(const struct hist_config *cfg, hist_emit_fn emit, void *ctx);
/* Feeds one raw fix (strictly after the previous one). */
void hist_seg_push(struct hist_seg *s, const struct hist_fix *f);
/* Emits the open segment (if any fix was kept) and leaves the segmenter
 * as it was: more fixes may follow (KEEPING UP, A). */
void hist_seg_open(struct hist_seg *s);
/* End of input: emits the open segment; the segmenter takes no more
 * fixes after this. */
void hist_seg_finish(struct hist_seg *s);
void hist_seg_free(struct hist_seg *s);
/* Its cleaner's counters (dropped fixes). */
const struct clean *hist_seg_clean(const struct hist_seg *s);
#endif
