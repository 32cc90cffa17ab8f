/* POST /api/imports?device=D[&name=FILE]: a file (raw, or the file of a
 * multipart/form-data body) into the caller's device, parsed while it
 * arrives (imports.h) -> 202 {"id"}. GET /api/imports: the caller's jobs
 * with their progress and summaries; GET /api/imports/ID: one of them.
 *
 * A body of up to 4 GiB is taken only from a caller known from the head
 * alone (a session with its CSRF token, or HTTP Basic credentials checked
 * within the last hour), so a stranger never makes the server write a
 * byte to disk. Any other caller's body is held in memory as usual, up to
 * the webapp's small limit: a small file still imports once the
 * credentials check out. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/names.h"
#include "net/server.h"
#include "webapp/imports.h"
#include "webapp/webapp.h"

/* What a browser or a script may send in one upload. */
#define UPLOAD_MAX (4ULL << 30)

static const char *upload_name(const struct kvlist *q, int *bad)
{
	const char *name = query_val(q, "name", bad);
	return name ? name : "upload";
}

static uint64_t content_length(const struct http_request *req)
{
	const char *v = http_header(req, "Content-Length");
	if (!v)
		return 0;
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	return *end ? 0 : (uint64_t)n;
}

void imports_head(struct webapp *app, const struct http_request *head,
                  struct http_body_rule *rule)
{
	struct caller who;
	if (!app->imports || !head_caller(app, head, &who))
		return;
	struct kvlist q;
	query_parse(head, &q);
	int bad = 0;
	const char *dev = query_val(&q, "device", &bad);
	const char *name = upload_name(&q, &bad);
	struct device_rec d;
	/* Anything amiss is answered by the route, from a body kept small. */
	if (bad || !dev || store_device_get(app->store, who.user.id, dev, &d) != STORE_OK) {
		kvlist_free(&q);
		return;
	}
	int status;
	const char *why;
	struct import_upload *up = imports_start(app->imports, &who.user, &d, name,
	                                         content_length(head),
	                                         http_header(head, "Content-Type"), &status, &why);
	kvlist_free(&q);
	rule->limit = UPLOAD_MAX;
	if (!up) {
		/* Read and dropped: the route answers with the refusal. */
		rule->discard = 1;
		return;
	}
	rule->sink = imports_sink;
	rule->sink_end = imports_sink_end;
	rule->sink_ctx = up;
}

static void reply_id(struct conn *c, int64_t id)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "{\"id\":%" PRId64 "}", id);
	reply_json(c, 202, &b);
	buf_free(&b);
}

static void route_import_post(struct webapp *app, struct conn *c, const struct http_request *req,
                              const struct caller *who)
{
	if (req->body_sunk) {
		reply_id(c, imports_id(req->sink_ctx));
		return;
	}
	struct kvlist q;
	query_parse(req, &q);
	int bad = 0;
	const char *dev = query_val(&q, "device", &bad);
	const char *name = upload_name(&q, &bad);
	struct device_rec d;
	if (bad) {
		kvlist_free(&q);
		reply_error(c, 400, "bad query");
		return;
	}
	if (caller_device(app, c, who, dev, &d) < 0) {
		kvlist_free(&q);
		return;
	}
	if (!app->imports) {
		kvlist_free(&q);
		reply_error(c, 503, "imports are not available");
		return;
	}
	int status = 0;
	const char *why = NULL;
	struct import_upload *up = NULL;
	if (req->body_discarded) {
		/* imports_head refused it for the running ones. */
		status = imports_busy(app->imports, who->user.id, &why) ? 429 : 503;
	} else {
		up = imports_start_body(app->imports, &who->user, &d, name,
		                        http_header(req, "Content-Type"), req->body, req->body_len,
		                        &status, &why);
	}
	kvlist_free(&q);
	if (up) {
		reply_id(c, imports_id(up));
	} else if (status == 429) {
		reply_retry_after(c, 429, why, 10);
	} else {
		reply_error(c, status ? status : 503, why ? why : "try again");
	}
}

static void route_imports(struct webapp *app, struct conn *c, const struct http_request *req,
                          const struct caller *who)
{
	(void)req;
	struct buf b;
	buf_init(&b);
	if (app->imports)
		imports_list_json(app->imports, who->user.id, &b);
	else
		buf_adds(&b, "[]");
	reply_json(c, 200, &b);
	buf_free(&b);
}

static void route_import_one(struct webapp *app, struct conn *c, const struct http_request *req,
                             const struct caller *who)
{
	const char *p = req->path + strlen("/api/imports/");
	char *end;
	long long id = strtoll(p, &end, 10);
	struct buf b;
	buf_init(&b);
	if (*end || end == p || !app->imports ||
	    imports_job_json(app->imports, who->user.id, id, &b) < 0) {
		/* Another user's job is as unknown as one that never was. */
		reply_error(c, 404, "no such import");
	} else {
		reply_json(c, 200, &b);
	}
	buf_free(&b);
}

const struct route import_routes[] = {
	{ "POST", "/api/imports", R_AUTH, route_import_post },
	{ "GET", "/api/imports", R_AUTH, route_imports },
	{ "GET", "/api/imports/", R_AUTH | R_PREFIX, route_import_one },
	{ NULL, NULL, 0, NULL },
};
