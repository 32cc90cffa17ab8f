/* Local days for a user's time zone: the UTC bounds of a calendar date in
 * an IANA zone, from the system's tz database (/usr/share/zoneinfo, Debian
 * package tzdata).
 *
 * How: the C library's own conversion, mktime on local midnight with
 * tm_isdst = -1 (so glibc picks the offset in force), under TZ set to the
 * zone and restored afterwards. Setting TZ is process-wide, so these run
 * on one thread only (the event loop that answers the request), never
 * from a worker pool; nothing else in mintrac reads local time. A date
 * whose midnight does not exist (a zone that springs forward at 00:00)
 * starts at the first instant that does, as mktime normalises it. */
#ifndef MINTRAC_LOCALDAY_H
#define MINTRAC_LOCALDAY_H
#include <stdint.h>

/* 1 when name is a zone the tz database holds ("UTC", "Europe/Berlin"):
 * letters, digits and "_+-" in '/'-separated parts, no "..", a file
 * starting with the TZif magic; 0 otherwise ("", "../etc/passwd",
 * "Mars/Base", "right/..." whose clock counts leap seconds). */
int localday_zone_ok(const char *name);

/* "YYYY-MM-DD" (a real date, years 1900..9999) -> 0 and *y, *m, *d; -1 otherwise. */
int localday_parse_date(const char *s, int *y, int *m, int *d);

/* [start_ms, end_ms): from local midnight of y-m-d to the next one in
 * zone. 0, or -1 for a bad zone or date. */
int localday_bounds(const char *zone, int y, int m, int d, int64_t *start_ms, int64_t *end_ms);

/* "YYYY-MM-DD HH:MM", the wall clock in zone at t_ms (for people reading
 * a table). 0, or -1 for a bad zone. */
int localday_clock(const char *zone, int64_t t_ms, char out[17]);
#endif
