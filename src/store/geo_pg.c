/* Placeholder until the PostgreSQL geodata backend lands (another branch
 * replaces this file): no place names on a PostgreSQL store yet. */
#include "store/store_pg.h"

#include <stddef.h>

struct store_geo *pg_geo_open(struct store *s)
{
	(void)s;
	return NULL;
}
