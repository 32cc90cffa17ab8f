/* The page's files, embedded at build time: tools/embed.c writes
 * build/gen/assets.c from web/ and the files of web/node_modules the page
 * loads (see the Makefile). web_static.c serves them. */
#ifndef MINTRAC_WEB_ASSETS_H
#define MINTRAC_WEB_ASSETS_H
#include <stddef.h>

struct web_asset {
	const char          *name;    /* "index.html", "images/layers.png" */
	const char          *ctype;   /* Content-Type */
	const unsigned char *data;
	size_t               len;
	const char          *etag;    /* quoted, e.g. "\"0123456789abcdef\"" */
};

/* Terminated by an entry whose name is NULL. */
extern const struct web_asset web_assets[];
#endif
