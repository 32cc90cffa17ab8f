/* A fix (one stored position) and the pure helpers that read client values
 * into it: numbers, times, validation. Units inside are fixed: time in UTC
 * milliseconds, speed m/s, course degrees, altitude/accuracy metres,
 * battery percent. */
#ifndef MINTRAC_POINT_H
#define MINTRAC_POINT_H
#include <stdint.h>

enum fix_has {
	FIX_SPEED  = 1 << 0,
	FIX_COURSE = 1 << 1,
	FIX_ALT    = 1 << 2,
	FIX_ACC    = 1 << 3,
	FIX_BATT   = 1 << 4,
};

struct fix {
	int64_t  time_ms;
	double   lat, lon;
	double   speed, course, alt, acc, batt;
	unsigned has;          /* FIX_* bits: which optional values are known */
	char    *attrs;        /* JSON object text ("{...}") or NULL; owned */
};

/* A fix's time and place: all that drawing or thinning a track needs. */
struct fix_pos {
	int64_t t;          /* fix time, ms */
	double  lat, lon;
};

/* One seek of many (store_fix_first_many, thin_sample): the first fix
 * with from_ms <= time <= to_ms, if there is one. */
struct fix_seek {
	int64_t        from_ms, to_ms;   /* in */
	int            found;            /* out: 1 when the range holds a fix */
	struct fix_pos first;            /* out: that fix, when found */
};

void fix_init(struct fix *f);
void fix_free(struct fix *f);          /* frees attrs */

/* Strict number: whole string must parse, finite, not empty.
 * Accepts Java's "1.0E-4". 0 on success, -1 otherwise. */
int parse_double(const char *s, double *out);

/* Time text -> UTC ms. Accepts: integer or decimal epoch (< 2^31 seconds,
 * else milliseconds); ISO 8601 "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM|±HHMM)"
 * (no zone = UTC); "YYYY-MM-DD HH:MM:SS" (UTC); "YYYY-MM-DD" (midnight UTC).
 * 0 on success, -1 when it cannot be read. */
int parse_time(const char *s, int64_t *ms);

/* T on the command line and in the API: as parse_time, but an epoch number
 * is seconds below 253,402,300,800 (year 10000) and milliseconds above. */
int parse_time_t(const char *s, int64_t *ms);
/* One end of a range of T (parse_time_t): NULL is unbounded (INT64_MIN,
 * or INT64_MAX when upper), and a bare date as the upper end means the
 * end of that day. 0, or -1 when unreadable. */
int parse_time_bound(const char *s, int upper, int64_t *ms);

/* Epoch seconds as a double (JSON number) -> ms, rounding to the ms. */
int64_t secs_to_ms(double secs);

/* The longest attributes text a fix may carry. Every fix is read back
 * whole (exports, the map, each live stream's event), so one client's
 * huge extra members would cost every reader; phones send a few hundred
 * bytes. */
#define FIX_ATTRS_MAX (64 * 1024)

/* Range check (and the attributes' size): NULL when valid, else a
 * one-line reason. Every receiver format and every importer checks each
 * fix here before storing it. */
const char *fix_check(const struct fix *f);

/* Receipt time helper (CLOCK_REALTIME in ms). */
int64_t now_ms(void);
/* CLOCK_MONOTONIC in ms: for intervals and ages, never a date. */
int64_t mono_ms(void);
/* "W,S,E,N" in degrees (west > east crosses the antimeridian) -> box[4];
 * 0, or -1 when not four numbers in range with south <= north. */
int parse_bbox(const char *s, double box[4]);
#endif
