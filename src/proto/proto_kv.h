/* Query/form parameters -> fix fields: the helpers shared by the decoders
 * whose clients send key=value pairs (/, /osmand, /gpslogger). Pure. */
#ifndef MINTRAC_PROTO_KV_H
#define MINTRAC_PROTO_KV_H
#include <stdint.h>
#include "net/http.h"
#include "proto/proto.h"

/* Content-Type names JSON (application/json, text/json, +json). */
int kvx_is_json(const struct http_request *r);
/* Decode key=value text into kv; text that is not UTF-8 once decoded is a
 * 400, reported before authentication (from_body names the source). */
int kvx_parse(struct kvlist *kv, const char *s, size_t len, int from_body, struct decode *d);
/* Query parameters, or the form body when the query is empty; -1 = 400. */
int kvx_params(const struct http_request *r, struct kvlist *kv, struct decode *d);
/* First alias present with a non-empty value, else NULL. */
const char *kvx_first(const struct kvlist *kv, const char *const *names);
/* Optional number under any alias: 1 found, 0 absent, -1 bad (400 set). */
int kvx_number(const struct kvlist *kv, const char *const *names, double *out,
               struct decode *d);
/* lat/lon are stricter than other numbers: present-but-empty is an error,
 * and one without the other is too. 1 position, 0 none (heartbeat), -1 bad. */
int kvx_position(const struct kvlist *kv, const char *const *lat_names,
                 const char *const *lon_names, struct fix *f, struct decode *d);
/* Fix time from the first alias present; the receipt time when none is. */
int kvx_time(const struct kvlist *kv, const char *const *names, int64_t *ms,
             struct decode *d);
/* Attributes JSON of every parameter not in `known` (NULL when none). */
char *kvx_attrs(const struct kvlist *kv, const char *const *known);
#endif
