/* See tzname.h. */
#include "base/tzname.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Letters, digits and "/_+-" in components that are neither empty nor
 * "." or "..": the name can only ever reach a file inside the database. */
static int name_shape_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= TZNAME_MAX || name[0] == '/' || name[n - 1] == '/')
		return 0;
	for (const char *p = name; *p; p++) {
		char c = *p;
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		         c == '/' || c == '_' || c == '+' || c == '-' || c == '.';
		if (!ok)
			return 0;
		if (c == '/' && p[1] == '/')
			return 0;
		/* A component starting with '.' would be "." or ".." or hidden. */
		if (c == '.' && (p == name || p[-1] == '/'))
			return 0;
	}
	return 1;
}

const char *tzname_check(const char *name)
{
	if (!name || !name_shape_ok(name))
		return "not a time zone name (like Europe/Berlin)";
	/* right/...: clocks that count leap seconds, which no phone keeps. */
	if (strncmp(name, "right/", 6) == 0)
		return "unknown time zone";
	if (strcmp(name, "UTC") == 0)
		return NULL;
	const char *dir = getenv("TZDIR");
	char path[512];
	int n = snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo",
	                 name);
	if (n < 0 || (size_t)n >= sizeof path)
		return "not a time zone name (like Europe/Berlin)";
	/* A zone file starts with the magic "TZif" (RFC 8536); directories
	 * such as "Europe" and other files there do not. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "unknown time zone";
	char magic[4];
	ssize_t got = read(fd, magic, sizeof magic);
	close(fd);
	if (got != (ssize_t)sizeof magic || memcmp(magic, "TZif", 4) != 0)
		return "unknown time zone";
	return NULL;
}
