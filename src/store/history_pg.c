/* Placeholder until the PostgreSQL history backend lands (another branch
 * replaces this file): no history on a PostgreSQL store yet. */
#include "store/store_pg.h"

#include <stddef.h>

struct store_hist *pg_hist_open(struct store *s)
{
	(void)s;
	return NULL;
}
