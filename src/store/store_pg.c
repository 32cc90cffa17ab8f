/* PostgreSQL backend (being written). */
#include "store/store_backend.h"

#include <stdio.h>

struct store *store_pg_open(const char *uri, int flags, char *err, size_t errlen)
{
	(void)uri;
	(void)flags;
	snprintf(err, errlen, "postgresql: this build has no PostgreSQL backend yet");
	return NULL;
}
