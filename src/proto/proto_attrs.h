/* Helpers of the JSON and form decoders (proto_owntracks.c, proto_overland.c,
 * proto_ulogger.c): a fix's attributes object, JSON numbers, JSON errors.
 *
 * Attributes are collected in a jansson object (unique keys, insertion order)
 * and written with buf_add_double, so a number reads back to the same double
 * with the fewest digits; json_dumps would print 0.87 as 0.86999999999999999.
 * Everything is static: each decoder stays a self-contained, fuzzable unit. */
#ifndef MINTRAC_PROTO_ATTRS_H
#define MINTRAC_PROTO_ATTRS_H
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "base/point.h"
#include "proto/json_budget.h"
#include "proto/proto.h"

/* key is one of the NULL-terminated names. */
static inline int pname_listed(const char *key, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(key, *names) == 0)
			return 1;
	return 0;
}

/* The fix field behind one FIX_* bit. */
static inline double *pfix_slot(struct fix *f, unsigned bit)
{
	switch (bit) {
	case FIX_SPEED:  return &f->speed;
	case FIX_COURSE: return &f->course;
	case FIX_ALT:    return &f->alt;
	case FIX_ACC:    return &f->acc;
	default:         return &f->batt;
	}
}

/* Compact JSON text of v. Strings go through buf_add_json_str, which also
 * makes any invalid UTF-8 (form values) valid. Depth is bounded by jansson's
 * parser limit or by the decoders (form values are scalars). */
static inline void pattr_write(struct buf *b, json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;
	int first = 1;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		buf_addc(b, '{');
		json_object_foreach(v, key, m) {
			if (!first)
				buf_addc(b, ',');
			first = 0;
			buf_add_json_str(b, key);
			buf_addc(b, ':');
			pattr_write(b, m);
		}
		buf_addc(b, '}');
		break;
	case JSON_ARRAY:
		buf_addc(b, '[');
		json_array_foreach(v, i, m) {
			if (i)
				buf_addc(b, ',');
			pattr_write(b, m);
		}
		buf_addc(b, ']');
		break;
	case JSON_STRING:
		buf_add_json_str(b, json_string_value(v));
		break;
	case JSON_INTEGER:
		buf_add_int(b, (int64_t)json_integer_value(v));
		break;
	case JSON_REAL:
		buf_add_double(b, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_adds(b, "true");
		break;
	case JSON_FALSE:
		buf_adds(b, "false");
		break;
	case JSON_NULL:
		buf_adds(b, "null");
		break;
	}
}

/* A new, empty attributes object (never NULL: out of memory aborts, as
 * buf.c does). */
static inline json_t *pattr_new(void)
{
	json_t *o = json_object();
	if (!o)
		xalloc_die();
	return o;
}

/* Stores a JSON member as an attribute: scalars keep their JSON type, null
 * is dropped, arrays and objects become their compact text as a string. */
static inline void pattr_add_json(json_t *attrs, const char *key, json_t *v)
{
	if (!v || json_is_null(v))
		return;
	if (json_is_object(v) || json_is_array(v)) {
		struct buf b;
		buf_init(&b);
		pattr_write(&b, v);
		json_object_set_new(attrs, key, json_string_nocheck(b.data));
		buf_free(&b);
		return;
	}
	json_object_set(attrs, key, v);
}

/* JSON number syntax: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * Sets *integral when there is no fraction or exponent. */
static inline int pattr_is_json_number(const char *s, int *integral)
{
	const char *p = s;
	*integral = 1;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (isdigit((unsigned char)*p))
			p++;
	else
		return 0;
	if (*p == '.') {
		*integral = 0;
		p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		*integral = 0;
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == 0;
}

/* Stores a form value as an attribute: a number when the text is a JSON
 * number, true/false, else the string. The first of repeated names wins,
 * as kvlist_get does; names that are not UTF-8 are dropped (jansson's
 * json_object_set_new refuses them and frees the value). */
static inline void pattr_add_text(json_t *attrs, const char *key, const char *val)
{
	json_t *v = NULL;
	int integral;

	if (json_object_get(attrs, key))
		return;
	if (strcmp(val, "true") == 0) {
		v = json_true();
	} else if (strcmp(val, "false") == 0) {
		v = json_false();
	} else if (pattr_is_json_number(val, &integral)) {
		errno = 0;
		if (integral) {
			long long n = strtoll(val, NULL, 10);
			if (errno == 0)
				v = json_integer(n);
		}
		if (!v) {
			double x = strtod(val, NULL);
			if (isfinite(x))
				v = json_real(x);
		}
	}
	if (!v)
		v = json_string_nocheck(val);
	json_object_set_new(attrs, key, v);
}

/* Attribute text for fix.attrs (owned), NULL when there is none. Consumes
 * the object. */
static inline char *pattr_finish(json_t *attrs)
{
	char *s = NULL;
	if (json_object_size(attrs) > 0) {
		struct buf b;
		buf_init(&b);
		pattr_write(&b, attrs);
		s = buf_steal(&b);
	}
	json_decref(attrs);
	return s;
}

/* A JSON number, or a string holding one (some senders quote numbers).
 * 1 = read, 0 = absent or null, -1 = present but not a number. */
static inline int pjson_number(json_t *v, double *out)
{
	if (!v || json_is_null(v))
		return 0;
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return isfinite(*out) ? 1 : -1;
	}
	if (json_is_string(v) && parse_double(json_string_value(v), out) == 0)
		return 1;
	return -1;
}

/* Parses a request body as one JSON object. On failure records an early
 * 400 with jansson's reason, reduced to printable ASCII so it stays one
 * line, or saying the root is no object. */
static inline json_t *pjson_load(const struct http_request *r, struct decode *d)
{
	json_error_t err;
	int over;
	size_t budget = JSON_BUDGET_FACTOR * r->body_len + JSON_BUDGET_BASE;
	json_t *root = json_budget_load(r->body ? r->body : "", r->body_len, budget, &err, &over);
	if (over) {
		decode_fail(d, 1, "JSON body has too many values for its size");
		return NULL;
	}
	/* Every client's JSON body is one object: anything else does not
	 * parse as far as the decoders are concerned. */
	if (root && !json_is_object(root)) {
		json_decref(root);
		decode_fail(d, 1, "JSON root is not an object");
		return NULL;
	}
	if (root)
		return root;
	char text[sizeof err.text];
	size_t i;
	for (i = 0; i + 1 < sizeof text && err.text[i]; i++) {
		unsigned char c = (unsigned char)err.text[i];
		text[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	text[i] = 0;
	decode_fail(d, 1, "malformed JSON (line %d): %s", err.line, text);
	return NULL;
}
#endif
