/* Segments over local days (pure). A day is [start_ms, end_ms), computed
 * by the caller (localday.h gives local midnights; 23 or 25 hours at DST
 * changes are just other bounds). A segment belongs to every day it
 * overlaps and is never clipped; only distance is split: a trip counts in
 * a day the parts (segment.h: 15-minute UTC buckets) inside it, a bucket
 * cut by the day's edge (a zone whose midnight is not on a quarter hour)
 * in proportion to the time inside. */
#ifndef MINTRAC_DAY_H
#define MINTRAC_DAY_H
#include <stddef.h>
#include <stdint.h>
#include "history/segment.h"

/* Metres of parts[0..n) that fall in [start_ms, end_ms). */
double day_parts_distance(const struct hist_part *parts, size_t n, int64_t start_ms, int64_t end_ms);

/* Whether segment g overlaps [start_ms, end_ms): it starts before the end
 * and ends after the start (one that ends exactly at start_ms belongs to
 * the day before; an instant segment counts where it is). */
int day_overlaps(const struct hist_segment *g, int64_t start_ms, int64_t end_ms);

struct day_span {
	int64_t start_ms, end_ms;   /* in: the day */
	size_t  first, count;       /* out: segs[first .. first+count) overlap it */
	double  distance;           /* out: metres of trips inside it */
};

/* segs in time order, not overlapping (as the segmenter emits them); days
 * in increasing order, not overlapping. O(nsegs + ndays + parts). */
void day_split(const struct hist_segment *segs, size_t nsegs, struct day_span *days, size_t ndays);
#endif
