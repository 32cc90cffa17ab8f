/* Thinning a track for display: pure geometry, no I/O. A map at zoom Z
 * cannot show detail finer than a pixel, so fixes closer than the pixel
 * tolerance to the line through their neighbours can go (Douglas–Peucker).
 * For ranges too long to read (a year of 1 Hz is 31.5 M rows), thin_sample
 * finds the shape with index seeks instead of a scan: it samples the range
 * at even times and bisects, by time, every stretch whose midpoint strays
 * from the straight line by more than the tolerance. */
#ifndef MINTRAC_THIN_H
#define MINTRAC_THIN_H
#include <stddef.h>
#include <stdint.h>
#include "base/point.h"

/* Metres per pixel at web-mercator zoom level z (0..24) and latitude lat,
 * times `pixels` (the tolerance in pixels, e.g. 1.0). */
double thin_tolerance_for_zoom(double z, double lat, double pixels);

/* Distance in metres from p to the segment a-b (local equirectangular
 * projection around a; accurate to well under 1 % for segments below a few
 * hundred km, which is all thinning needs). */
double thin_seg_dist(const struct fix_pos *p, const struct fix_pos *a, const struct fix_pos *b);

/* Douglas–Peucker with tolerance tol_m (metres) on pts[0..n): sets keep[i]
 * to 1 for kept points (first and last always), 0 otherwise; returns the
 * kept count. Iterative (explicit stack), O(n log n) typical; -1 (as
 * SIZE_MAX) only when out of memory. */
size_t thin_dp(const struct fix_pos *pts, size_t n, double tol_m, unsigned char *keep);

/* seek: for each of v[0..n), the first fix in [from_ms, to_ms] (found,
 * first). 0, or -1 on error. Given many at once, so a store across a
 * network answers a whole round of seeks in one round trip. */
typedef int (*thin_seek_fn)(void *ctx, struct fix_seek *v, size_t n);

/* Samples [from_ms, to_ms] with at most max_pts points: the range's first
 * and last fix (the last found by bisection when no fix lies at to_ms),
 * `initial` evenly spaced seeks between them, then bisection of each
 * stretch whose time-midpoint fix lies farther than tol_m from where the
 * chord puts it at that time (so a loop followed by a stop is split too),
 * or whose ends are farther apart than 64 * tol_m, until stretches hold
 * no fix between their ends or max_pts is reached. The bisection goes
 * level by level, each level's seeks in one or two calls of seek. *out
 * (malloc'ed, caller frees) gets the distinct fixes found, in time order.
 * 0 on success, -1 on error (seek error or out of memory). */
int thin_sample(int64_t from_ms, int64_t to_ms, double tol_m, size_t initial, size_t max_pts,
                thin_seek_fn seek, void *ctx, struct fix_pos **out, size_t *nout);
#endif
