/* Query/form parameter helpers shared by the key=value decoders. */
#include "proto/proto_kv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "proto/proto_attrs.h"

/* Content-Type names JSON: application/json, text/json or any "+json",
 * parameters such as charset ignored. */
int kvx_is_json(const struct http_request *r)
{
	const char *ct = http_header(r, "Content-Type");
	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strcspn(ct, ";");
	while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if ((n == 16 && strncasecmp(ct, "application/json", n) == 0) ||
	    (n == 9 && strncasecmp(ct, "text/json", n) == 0))
		return 1;
	return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* Query parameters, or the form body when the query is empty (POST forms
 * and Traccar Client 10.x). */
int kvx_parse(struct kvlist *kv, const char *s, size_t len, int from_body, struct decode *d)
{
	size_t first = kv->n;
	kvlist_parse_urlencoded(kv, s, len);
	for (size_t i = first; i < kv->n; i++)
		if (!utf8_valid(kv->v[i].key, strlen(kv->v[i].key)) ||
		    !utf8_valid(kv->v[i].val, kv->v[i].vlen))
			/* Early even for the query: the credential may be the
			 * very parameter that failed, so 401 would mislead. */
			return decode_fail(d, 1, "%s is not valid UTF-8",
			                   from_body ? "form body" : "query string");
	return 0;
}

int kvx_params(const struct http_request *r, struct kvlist *kv, struct decode *d)
{
	if (r->query && *r->query) {
		/* The body is unused then, but one that is not text still
		 * "does not parse": refuse rather than ignore it. */
		if (r->body && r->body_len && !utf8_valid(r->body, r->body_len))
			return decode_fail(d, 1, "body is not valid UTF-8");
		return kvx_parse(kv, r->query, strlen(r->query), 0, d);
	}
	if (r->body && r->body_len)
		return kvx_parse(kv, r->body, r->body_len, 1, d);
	return 0;
}

/* First alias present with a non-empty value (empty counts as absent). */
const char *kvx_first(const struct kvlist *kv, const char *const *names)
{
	for (; *names; names++) {
		const char *v = kvlist_get(kv, *names);
		if (v && *v)
			return v;
	}
	return NULL;
}

/* Optional number under any alias: 1 found, 0 absent, -1 bad (400 set). */
int kvx_number(const struct kvlist *kv, const char *const *names, double *out,
               struct decode *d)
{
	for (; *names; names++) {
		const char *v = kvlist_get(kv, *names);
		if (!v || !*v)
			continue;
		if (parse_double(v, out) < 0)
			return decode_fail(d, 0, "%s is not a number", *names);
		return 1;
	}
	return 0;
}

/* First alias present at all, even with an empty value. */
static int latlon_one(const struct kvlist *kv, const char *const *names,
                      const char **name, const char **val)
{
	for (; *names; names++) {
		const char *v = kvlist_get(kv, *names);
		if (v) {
			*name = *names;
			*val = v;
			return 1;
		}
	}
	return 0;
}

/* lat/lon are stricter than other numbers: present-but-empty is an error,
 * and one without the other is too. 1 position, 0 none (heartbeat), -1 bad. */
int kvx_position(const struct kvlist *kv, const char *const *lat_names,
                 const char *const *lon_names, struct fix *f, struct decode *d)
{
	const char *latn = NULL, *lonn = NULL, *lat = NULL, *lon = NULL;
	int has_lat = latlon_one(kv, lat_names, &latn, &lat);
	int has_lon = latlon_one(kv, lon_names, &lonn, &lon);
	if (!has_lat && !has_lon)
		return 0;
	if (!has_lat || !has_lon)
		return decode_fail(d, 0, "only one of lat/lon");
	if (!*lat)
		return decode_fail(d, 0, "%s is empty", latn);
	if (!*lon)
		return decode_fail(d, 0, "%s is empty", lonn);
	if (parse_double(lat, &f->lat) < 0)
		return decode_fail(d, 0, "%s is not a finite number", latn);
	if (parse_double(lon, &f->lon) < 0)
		return decode_fail(d, 0, "%s is not a finite number", lonn);
	if (f->lat < -90 || f->lat > 90)
		return decode_fail(d, 0, "%s out of range (-90..90)", latn);
	if (f->lon < -180 || f->lon > 180)
		return decode_fail(d, 0, "%s out of range (-180..180)", lonn);
	return 1;
}

/* Fix time from the first alias present; the receipt time when none is. */
int kvx_time(const struct kvlist *kv, const char *const *names, int64_t *ms,
             struct decode *d)
{
	for (; *names; names++) {
		const char *v = kvlist_get(kv, *names);
		if (!v || !*v)
			continue;
		if (parse_time(v, ms) < 0)
			return decode_fail(d, 0, "%s is not a readable time", *names);
		return 0;
	}
	*ms = d->now_ms;
	return 0;
}

/* Every parameter that is not a known field or credential, first value
 * of each name only, empty values dropped. */
char *kvx_attrs(const struct kvlist *kv, const char *const *known)
{
	json_t *obj = pattr_new();
	for (size_t i = 0; i < kv->n; i++) {
		const struct kv *e = &kv->v[i];
		if (*e->key && *e->val && !pname_listed(e->key, known))
			pattr_add_text(obj, e->key, e->val);
	}
	return pattr_finish(obj);
}
