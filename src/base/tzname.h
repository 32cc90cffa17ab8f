/* IANA time zone names ("Europe/Berlin"), as a user sets them: checked
 * against the system's zone database (Debian's tzdata, under TZDIR or
 * /usr/share/zoneinfo), so a name that is stored can always be used. */
#ifndef MINTRAC_TZNAME_H
#define MINTRAC_TZNAME_H

#define TZNAME_MAX 64   /* bytes with the NUL; the longest IANA name is ~32 */

/* NULL when name is a zone of the database; else why not, one line. "UTC"
 * is always a zone, even without the database. */
const char *tzname_check(const char *name);
#endif
