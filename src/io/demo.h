/* Demo data: one generated day of a phone's fixes in Berlin, so that a new
 * user sees a track on the map before setting up a phone. Pure: no I/O, no
 * clock, no global state. The same day always gives the same fixes (a PRNG
 * seeded with the date), so adding a day twice stores it once: the store
 * skips a fix whose device and time it already has.
 *
 * The day, in local time, on streets and paths read from the map of Berlin:
 *   ~08:10  a walk from Friedrichstraße along Unter den Linden, through the
 *           Brandenburg Gate and the Tiergarten to the Victory Column, then
 *           down Hofjägerallee and Tiergartenstraße to Potsdamer Platz
 *           (about 5 km at 1.2-1.6 m/s, waits at crossings, a pause at the
 *           column; a fix every 1-3 s);
 *   ~09:20  a stay at the office at Potsdamer Platz (a fix every 15-45 s);
 *   ~16:50  a drive through Kreuzberg, over the Oberbaumbrücke, along
 *           Karl-Marx-Allee and Torstraße back to Friedrichstraße (about
 *           14 km, up to 50 km/h, red lights, slower corners; a fix every
 *           second), then a short stay at home.
 * Every fix has speed (m/s), altitude (about 35-60 m), accuracy (3-8 m
 * outdoors, 10-30 m indoors) and battery (92 % falling to 71 %), a course
 * while moving, and the attributes DEMO_ATTRS, which store_demo_delete
 * looks for. */
#ifndef MINTRAC_DEMO_H
#define MINTRAC_DEMO_H
#include <stdint.h>
#include "base/point.h"

#define DEMO_ATTRS "{\"demo\":true}"

/* Every generated position lies in this box (central Berlin). */
#define DEMO_LAT_MIN 52.495
#define DEMO_LAT_MAX 52.530
#define DEMO_LON_MIN 13.345
#define DEMO_LON_MAX 13.460

enum demo_phase { DEMO_WALK, DEMO_STAY, DEMO_DRIVE };

/* Called once per fix, in time order. f (attrs included) is valid only
 * during the call; a non-zero return stops the day. */
typedef int (*demo_fn)(void *ctx, const struct fix *f, enum demo_phase phase);

struct demo_summary {
	uint64_t fixes;
	double   walk_m, drive_m;      /* length of the two routes, metres */
	int64_t  first_ms, last_ms;    /* times of the first and last fix */
};

/* Generates the day that starts at midnight_ms (the local midnight of the
 * day, as UTC milliseconds; times of day count from it), calling fn for
 * each fix. fn may be NULL to learn only the summary. Fills *sum (when not
 * NULL) with what was generated. Returns 0, or fn's non-zero return. */
int demo_day(int64_t midnight_ms, demo_fn fn, void *ctx, struct demo_summary *sum);
#endif
