/* The formats the receiver serves and how a request's path finds one. */
#include "proto/proto.h"

#include <string.h>

const struct proto *const proto_all[] = {
	&proto_traccar, &proto_osmand, &proto_gpslogger, &proto_owntracks, &proto_overland,
	&proto_ulogger, NULL,
};

/* Exact match, tolerating one trailing slash ("/osmand/"). */
const struct proto *proto_find(const char *path)
{
	size_t n = strlen(path);
	if (n > 1 && path[n - 1] == '/')
		n--;
	for (const struct proto *const *p = proto_all; *p; p++)
		for (const char *const *q = (*p)->paths; *q; q++)
			if (strlen(*q) == n && !strncmp(*q, path, n))
				return *p;
	return NULL;
}
