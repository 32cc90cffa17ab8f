/* For the other SQLite files of store/ only (geo_sqlite.c): the
 * connection under a struct store, so a module with tables of its own
 * keeps its SQL in its own file. Nothing outside store/ includes this. */
#ifndef MINTRAC_STORE_SQLITE_H
#define MINTRAC_STORE_SQLITE_H
#include <sqlite3.h>
#include "store/store.h"

sqlite3 *store_sqlite_db(struct store *s);
/* The history and geodata tables' backends on the same connection. */
struct store_hist *sq_hist_open(struct store *s);
struct store_geo *sq_geo_open(struct store *s);
#endif
