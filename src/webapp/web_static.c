/* The page and its assets, served from memory: tools/embed.c compiles
 * web/ (and the Leaflet and QR-code files the page loads) into the table
 * of web_assets.h at build time, so a request path is only ever a key in
 * that table and never reaches the filesystem. Every reply carries the
 * Content-Security-Policy that lets the page run its own scripts and
 * styles and load images from itself and the configured tile server, and
 * an ETag so a browser revalidates with a 304 instead of a download. */
#include <stddef.h>
#include <string.h>

#include "base/buf.h"
#include "net/http.h"
#include "net/server.h"
#include "webapp/web_assets.h"
#include "webapp/webapp.h"

/* Revalidated on every load (no-cache), which the ETag makes cheap; the
 * asset names carry no version, so a longer lifetime could pair a new page
 * with an old script. */
#define HDR_STATIC HDR_BASE "Cache-Control: no-cache\r\n"

/* Weak, so a link of the sources without the generated file (a quick test
 * build by hand) still links; such a binary answers the page with 503. */
extern const struct web_asset web_assets[] __attribute__((weak));

static const struct web_asset *asset_find(const char *name)
{
	if (!web_assets)
		return NULL;
	for (const struct web_asset *a = web_assets; a->name; a++) {
		if (strcmp(a->name, name) == 0)
			return a;
	}
	return NULL;
}

/* If-None-Match holds "*" or a list of entity tags, each maybe weak
 * (W/"..."); GET compares them weakly (RFC 9110 13.1.2). */
static int etag_matches(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = inm;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		const char *end = p;
		if (*end == '"') {
			end = strchr(end + 1, '"');
			if (!end)
				return 0;
			end++;
		} else {
			while (*end && *end != ',')
				end++;
		}
		if ((size_t)(end - p) == elen && memcmp(p, etag, elen) == 0)
			return 1;
		if (end == p)
			p++;
		else
			p = end;
	}
	return 0;
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
}

/* The tile server as a CSP source (" https://tile.example.org"), appended
 * to b. Leaflet's {s} subdomain placeholder becomes CSP's leftmost-label
 * wildcard, a first label of "*". A relative tile URL needs
 * nothing beyond 'self'; anything that does not parse as a plain
 * http(s) host adds nothing, so a stray character in the setting can
 * never widen or break the policy (the tiles then fail to load and the
 * map shows the track on a plain background). */
static void csp_tile_source(struct buf *b, const char *tile_url)
{
	const char *scheme;
	if (strncmp(tile_url, "https://", 8) == 0)
		scheme = "https://";
	else if (strncmp(tile_url, "http://", 7) == 0)
		scheme = "http://";
	else
		return;
	const char *host = tile_url + strlen(scheme);
	size_t len = strcspn(host, "/?#");
	if (len == 0 || len > 253)
		return;
	char out[300];
	size_t n = 0;
	int wild = 0;
	const char *p = host, *end = host + len;
	if (memchr(host, '{', len)) {
		/* Only {s}, and only in the first label: "a{s}.tiles.org" too. */
		const char *brace = memchr(host, '{', len);
		const char *dot = memchr(host, '.', len);
		if (!dot || brace > dot || strncmp(brace, "{s}", 3) != 0)
			return;
		out[n++] = '*';
		wild = 1;
		p = dot;
	}
	for (; p < end; p++) {
		if (!host_char(*p))
			return;
		out[n++] = *p;
	}
	/* The wildcard needs a real domain after it. */
	if (wild && (n < 3 || !memchr(out + 2, '.', n - 2)))
		return;
	buf_addc(b, ' ');
	buf_adds(b, scheme);
	buf_add(b, out, n);
}

static void add_csp(struct buf *h, const struct webapp *app)
{
	buf_adds(h, "Content-Security-Policy: default-src 'none'; script-src 'self'; "
	            "style-src 'self'; img-src 'self' data:");
	csp_tile_source(h, app->cfg->tile_url);
	buf_adds(h, "; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
	            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'\r\n");
}

static void serve(struct webapp *app, struct conn *c, const struct http_request *req,
                  const struct web_asset *a)
{
	if (!a) {
		conn_reply(c, 404, "text/plain; charset=utf-8", "not found\n", 10, HDR_BASE);
		return;
	}
	struct buf h;
	buf_init(&h);
	buf_adds(&h, HDR_STATIC);
	buf_printf(&h, "ETag: %s\r\n", a->etag);
	add_csp(&h, app);
	const char *inm = http_header(req, "If-None-Match");
	if (inm && etag_matches(inm, a->etag))
		conn_reply(c, 304, NULL, NULL, 0, h.data);
	else
		conn_reply(c, 200, a->ctype, (const char *)a->data, a->len, h.data);
	buf_free(&h);
}

static void route_index(struct webapp *app, struct conn *c, const struct http_request *req,
                        const struct caller *who)
{
	(void)who;
	const struct web_asset *a = asset_find("index.html");
	if (!a) {
		static const char msg[] = "this build has no page: build with make\n";
		conn_reply(c, 503, "text/plain; charset=utf-8", msg, sizeof msg - 1, HDR_BASE);
		return;
	}
	serve(app, c, req, a);
}

static void route_asset(struct webapp *app, struct conn *c, const struct http_request *req,
                        const struct caller *who)
{
	(void)who;
	/* The router matched the prefix; the rest is only a table key. */
	serve(app, c, req, asset_find(req->path + strlen("/static/")));
}

const struct route static_routes[] = {
	{ "GET", "/",        R_PUBLIC, route_index },
	{ "GET", "/static/", R_PUBLIC | R_PREFIX, route_asset },
	{ NULL, NULL, 0, NULL },
};
