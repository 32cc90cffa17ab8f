/* What the history layer works on: a cleaned-or-raw position reduced to the
 * four values derivation reads, the tunable limits (design.md "History"),
 * and great-circle distances. Pure: no I/O.
 *
 * Distances: steps and radii are short (metres to kilometres), so
 * hist_dist uses an equirectangular projection whose cosine comes from the
 * pair's mean latitude rounded to 0.01° (error < 0.1 % below 10 km; longer
 * steps fall back to haversine). The rounding makes every distance a pure
 * function of its two points, which the resume rule of segment.h needs:
 * derivations that start at different fixes must compute bit-identical
 * numbers. */
#ifndef MINTRAC_HIST_H
#define MINTRAC_HIST_H
#include <stdint.h>

/* One fix as derivation sees it. acc < 0 means "no accuracy given". */
struct hist_fix {
	int64_t t_ms;          /* UTC ms; fed strictly increasing */
	double  lat, lon;      /* degrees */
	double  acc;           /* metres, or < 0 when unknown */
};

struct hist_config {
	double  max_accuracy;  /* m: a fix less accurate than this is left out (500) */
	double  jump_speed;    /* m/s: an out-and-back faster than this is a spike (69.4) */
	double  spike_min;     /* m: a spike is at least this far from both neighbours (50) */
	double  stay_radius;   /* m (100) */
	int64_t stay_min_ms;   /* ms (300 000) */
	double  step_min;      /* m: the odometer counts a step once the fix is this far
	                        * from the last counted one, so noise while moving
	                        * slowly or standing at a red light adds little (30) */
	int     leave_fixes;   /* consecutive fixes outside a stay that end it (3) */
};

void hist_config_default(struct hist_config *c);

#define HIST_EARTH_R 6371008.8   /* mean radius, metres */

double hist_haversine(double lat1, double lon1, double lat2, double lon2);
/* Metres between two points; see the file comment. */
double hist_dist(double lat1, double lon1, double lat2, double lon2);

/* The same distance with the last cosine remembered: consecutive fixes
 * share their 0.01° latitude band, so the cosine is computed once per band
 * change instead of once per step. The result is bit-identical to
 * hist_dist (the cached value is a pure function of the band). */
struct hist_cos {
	long   band;
	double cos;
};
void hist_cos_init(struct hist_cos *c);
double hist_dist_c(struct hist_cos *c, double lat1, double lon1, double lat2, double lon2);
/* Longitude difference b - a folded into [-180, 180]. */
double hist_dlon(double a, double b);
#endif
