/* /osmand: OsmAnd's online tracking URL template (mintrac's own names). */
#include "proto/proto.h"
#include "proto/proto_kv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/proto_attrs.h"
#include "base/xalloc.h"
#include "base/util.h"

static const char *const os_lat[] = { "lat", NULL };
static const char *const os_lon[] = { "lon", NULL };
static const char *const os_time[] = { "timestamp", NULL };
static const char *const os_alt[] = { "altitude", "alt", NULL };
static const char *const os_speed[] = { "speed", NULL };
static const char *const os_course[] = { "bearing", "course", "heading", NULL };
static const char *const os_acc[] = { "hdop", "accuracy", "acc", NULL };
static const char *const os_batt[] = { "batproc", "batt", "battery", NULL };
static const char *const os_cred[] = { "token", "id", NULL };
static const char *const os_known[] = {
	"lat", "lon", "timestamp", "altitude", "alt", "speed", "bearing",
	"course", "heading", "hdop", "accuracy", "acc", "batproc", "batt",
	"battery", "token", "id", "api_key", NULL
};

/* The optional values, under every name OsmAnd users type. */
static int os_values(const struct kvlist *kv, struct fix *f, struct decode *d)
{
	int rc;
	if ((rc = kvx_number(kv, os_alt, &f->alt, d)) < 0)
		return -1;
	f->has |= rc ? FIX_ALT : 0;
	if ((rc = kvx_number(kv, os_speed, &f->speed, d)) < 0)
		return -1;
	f->has |= rc ? FIX_SPEED : 0;
	if ((rc = kvx_number(kv, os_course, &f->course, d)) < 0)
		return -1;
	f->has |= rc ? FIX_COURSE : 0;
	if ((rc = kvx_number(kv, os_acc, &f->acc, d)) < 0)
		return -1;
	f->has |= rc ? FIX_ACC : 0;
	if ((rc = kvx_number(kv, os_batt, &f->batt, d)) < 0)
		return -1;
	/* A negative level is an app's "unknown", not a reading. */
	f->has |= rc && f->batt >= 0 ? FIX_BATT : 0;
	return 0;
}

static int os_decode(const struct kvlist *kv, struct decode *d)
{
	struct fix f;
	fix_init(&f);
	const char *cred = kvx_first(kv, os_cred);
	if (cred) {
		d->cred = CRED_TOKEN;
		d->secret = xstrdup(cred);
	}
	int pos = kvx_position(kv, os_lat, os_lon, &f, d);
	if (pos < 0 || kvx_time(kv, os_time, &f.time_ms, d) < 0)
		return -1;
	if (pos == 0)
		return 0;      /* heartbeat: nothing to store */
	if (os_values(kv, &f, d) < 0)
		return -1;
	f.attrs = kvx_attrs(kv, os_known);
	return decode_push_checked(d, &f, NULL);
}

static int osmand_decode(const struct http_request *r, struct decode *d)
{
	struct kvlist kv;
	kvlist_init(&kv);
	if (kvx_params(r, &kv, d) == 0)
		os_decode(&kv, d);
	kvlist_free(&kv);
	return d->status ? -1 : 0;
}

/* With a query, the body is not read for parameters (kvx_params), so
 * the query alone says who is asking. */
static int osmand_head_cred(const struct http_request *head, struct decode *d)
{
	if (!head->query || !*head->query)
		return 0;
	struct kvlist kv;
	kvlist_init(&kv);
	/* A query that is not UTF-8 gets decode's 400, not a 401. */
	int rc = kvx_parse(&kv, head->query, strlen(head->query), 0, d) == 0;
	const char *cred = rc ? kvx_first(&kv, os_cred) : NULL;
	if (cred) {
		d->cred = CRED_TOKEN;
		d->secret = xstrdup(cred);
	}
	kvlist_free(&kv);
	return rc;
}

static const char *const os_paths[] = { "/osmand", NULL };

const struct proto proto_osmand = {
	.name = "osmand",
	.paths = os_paths,
	.body_limit = 1 * MiB,
	.decode = osmand_decode,
	.head_cred = osmand_head_cred,
	.reject = proto_reject_text,
};
