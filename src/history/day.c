/* Segments over local days (day.h). */
#include "history/day.h"

double day_parts_distance(const struct hist_part *parts, size_t n, int64_t start_ms, int64_t end_ms)
{
	double d = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t lo = parts[i].start_ms, hi = lo + HIST_PART_MS;
		if (hi <= start_ms || lo >= end_ms)
			continue;
		if (lo >= start_ms && hi <= end_ms) {
			d += parts[i].distance;
			continue;
		}
		int64_t a = lo > start_ms ? lo : start_ms, b = hi < end_ms ? hi : end_ms;
		d += parts[i].distance * (double)(b - a) / (double)HIST_PART_MS;
	}
	return d;
}

int day_overlaps(const struct hist_segment *g, int64_t start_ms, int64_t end_ms)
{
	if (g->start_ms >= end_ms)
		return 0;
	if (g->end_ms > start_ms)
		return 1;
	return g->end_ms == g->start_ms && g->start_ms >= start_ms;
}

void day_split(const struct hist_segment *segs, size_t nsegs, struct day_span *days, size_t ndays)
{
	size_t lo = 0;
	for (size_t d = 0; d < ndays; d++) {
		struct day_span *day = &days[d];
		/* segments ending before this day end before every later one */
		while (lo < nsegs && !day_overlaps(&segs[lo], day->start_ms, day->end_ms) &&
		       segs[lo].start_ms < day->start_ms)
			lo++;
		day->first = lo;
		day->count = 0;
		day->distance = 0;
		for (size_t i = lo; i < nsegs && day_overlaps(&segs[i], day->start_ms, day->end_ms); i++) {
			day->count++;
			if (segs[i].kind == HIST_TRIP)
				day->distance += day_parts_distance(segs[i].parts, segs[i].nparts,
								    day->start_ms, day->end_ms);
		}
	}
}
