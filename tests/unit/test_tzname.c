/* tzname: zone names are checked against the zone database, and nothing
 * but a zone file inside it is ever opened. */
#include <stdlib.h>
#include "base/tzname.h"
#include "test.h"

TEST(tzname_known_and_unknown)
{
	static const char *const good[] = {
		"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5",
		"America/Port-au-Prince", "Asia/Kolkata",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (tzname_check(good[i]))
			test_fail(__FILE__, __LINE__, "%s refused: %s", good[i], tzname_check(good[i]));
	static const char *const bad[] = {
		"", "Europe", "Europe/", "/etc/passwd", "../../../etc/passwd", "Europe/../../etc/passwd",
		"Mars/Olympus", "Europe//Berlin", "Europe/Berlin\n", "Europe/Berlin ", ".hidden",
		"Europe/.x", "tzdata.zi", "zone.tab", "right/Europe/Berlin",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!tzname_check(bad[i]))
			test_fail(__FILE__, __LINE__, "'%s' accepted", bad[i]);
	CHECK(tzname_check(NULL) != NULL);
}

/* Without a database only UTC is known; TZDIR points elsewhere. */
TEST(tzname_tzdir)
{
	const char *old = getenv("TZDIR");
	setenv("TZDIR", "/nonexistent-zoneinfo", 1);
	CHECK(tzname_check("UTC") == NULL);
	CHECK(tzname_check("Europe/Berlin") != NULL);
	if (old)
		setenv("TZDIR", old, 1);
	else
		unsetenv("TZDIR");
	CHECK(tzname_check("Europe/Berlin") == NULL);
}
