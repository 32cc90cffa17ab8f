/* GeoJSON, Overland and Google Takeout import with yajl's event parser, so a
 * multi-GB Records.json goes through in constant memory. One state machine
 * reads every shape, because they share the outer form:
 *   root object or array -> `features` / `locations` array -> record objects.
 * A record is a fix when it is a GeoJSON Point feature (geometry.coordinates
 * [lon, lat(, alt)], properties.time / timestamp, speed, course, altitude,
 * accuracy, battery, attributes; Overland's horizontal_accuracy and
 * battery_level 0..1) or a Takeout location (latitudeE7, longitudeE7,
 * accuracy, altitude, velocity m/s, heading, timestamp ISO or timestampMs).
 * A root object that is itself a Feature is a record too. Google's semantic
 * exports (a root member timelineObjects, semanticSegments, rawSignals or
 * timelineEdits; a root array of segments) go to import_google.c event by
 * event. A record with a value we cannot read is rejected (counted, with
 * its reason and line) when it ends; only broken JSON stops the import.
 *
 * `attributes` objects are written back as compact JSON text: keys and
 * strings through buf_add_json_str, numbers as their literal text, so what
 * `export` wrote comes back byte for byte. Other scalar members (Takeout's
 * source, deviceTag, ...; unknown feature properties) become attributes too;
 * nested unknown values (Takeout's activity) are dropped. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "io/import.h"

#define MAX_FRAMES  16
#define ATTR_DEPTH  64
#define ATTRS_MAX   (1024 * 1024)   /* attributes text of one fix */

/* ---- compact JSON writer for attribute members ---- */

struct jattr {
	struct buf   *out;         /* members text, without the braces */
	int           depth;       /* 0 outside; 1 in the attributes object */
	unsigned char first[ATTR_DEPTH + 2];
	unsigned char arr[ATTR_DEPTH + 2];
	struct buf    s;           /* NUL-terminated copy of a yajl string */
};

static void ja_text(struct jattr *a, const unsigned char *s, size_t n)
{
	buf_reset(&a->s);
	buf_add(&a->s, s, n);
	buf_add_json_str(a->out, a->s.data);
}

/* Comma before an array element after the first. */
static void ja_sep(struct jattr *a)
{
	if (a->depth > 1 && a->arr[a->depth]) {
		if (!a->first[a->depth])
			buf_addc(a->out, ',');
		a->first[a->depth] = 0;
	}
}

static void ja_key(struct jattr *a, const unsigned char *k, size_t n)
{
	if (a->depth == 1) {
		if (a->out->len)
			buf_addc(a->out, ',');
	} else {
		if (!a->first[a->depth])
			buf_addc(a->out, ',');
		a->first[a->depth] = 0;
	}
	ja_text(a, k, n);
	buf_addc(a->out, ':');
}

static void ja_raw(struct jattr *a, const char *s, size_t n)
{
	ja_sep(a);
	buf_add(a->out, s, n);
}

/* Whether a JSON number literal reads as a finite double; one without an
 * exponent and shorter than DBL_MAX's 309 digits always does. */
static int number_finite(struct buf *tmp, const char *s, size_t n)
{
	if (n < 300 && !memchr(s, 'e', n) && !memchr(s, 'E', n))
		return 1;
	buf_reset(tmp);
	buf_add(tmp, s, n);
	return isfinite(strtod(tmp->data, NULL));
}

/* A number literal, kept as written when it is a finite double: 1e999
 * would read back as infinity (or an error) elsewhere. -1 otherwise. */
static int ja_number(struct jattr *a, const char *s, size_t n)
{
	if (!number_finite(&a->s, s, n))
		return -1;
	ja_raw(a, s, n);
	return 0;
}

static void ja_string(struct jattr *a, const unsigned char *s, size_t n)
{
	ja_sep(a);
	ja_text(a, s, n);
}

/* '{' or '['; the first open enters the attributes object itself. -1 when
 * nested too deeply. */
static int ja_open(struct jattr *a, char c)
{
	if (a->depth == 0) {
		a->depth = 1;
		return 0;
	}
	if (a->depth > ATTR_DEPTH)
		return -1;
	ja_sep(a);
	buf_addc(a->out, c);
	a->depth++;
	a->first[a->depth] = 1;
	a->arr[a->depth] = c == '[';
	return 0;
}

/* 1 when this closes the attributes object itself. */
static int ja_close(struct jattr *a)
{
	if (a->depth == 1) {
		a->depth = 0;
		return 1;
	}
	buf_addc(a->out, a->arr[a->depth] ? ']' : '}');
	a->depth--;
	return 0;
}

/* ---- the streaming parser ---- */

enum role { R_ROOT, R_LIST, R_RECORD, R_GEOM, R_COORDS, R_PROPS };

enum field {
	F_ATTR, F_IGNORE, F_TIME, F_TIMEMS, F_E7LAT, F_E7LON, F_SPEED, F_COURSE, F_ALT, F_ACC,
	F_BATT, F_ACC_OL, F_BATT_OL,
};

struct rec {
	struct fix f;
	int        bad;           /* a value was unreadable: the record is rejected */
	uint64_t   bad_line;
	char       why[160];
	int        geom, geom_type, geom_point;
	int        ncoords, coords_bad;
	double     coords[3];
	int        e7lat, e7lon;
	int        time_set, overland;
	int        tag_set;
	int64_t    tag;           /* Records.json deviceTag */
	int        nkeys;         /* members seen */
};

struct import_json {
	struct import_state *st;
	yajl_handle h;
	enum role   roles[MAX_FRAMES];
	int         nframes;
	int         root_container;   /* the root object holds a features/locations list */
	int         ignore;           /* depth inside a value we skip */
	int         attrs_ok;         /* the attributes open was ours to follow */
	struct buf  key;              /* current member name (NUL-terminated) */
	struct buf  sval;             /* current string value (NUL-terminated) */
	struct rec  r;
	struct buf  members;
	struct buf  attrs;            /* "{members}" of the record emitted; kept to spare a malloc each */
	struct jattr ja;
	uint64_t    line_base;        /* newlines before the current chunk */
	/* The chunk yajl is reading, and how far into it newlines are counted
	 * (import_json_line, from callbacks). */
	const char *chunk;
	size_t      chunk_len, counted;
	uint64_t    chunk_lines;
	int         list_key;         /* the root list is "locations" (not "features") */
	struct import_google *google;
	int         in_google;        /* events go to the Google reader */
};

static int jfail(struct import_json *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Errors found in callbacks get their line in import_json_feed, from the
 * bytes yajl consumed up to the cancel. */
static int jfail(struct import_json *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	import_vfail(p->st, 0, fmt, ap);
	va_end(ap);
	return 0;
}

static int rec_bad(struct import_json *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A value of the current record that cannot be read: the record is
 * rejected when it ends (the first reason kept), the import goes on. */
static int rec_bad(struct import_json *p, const char *fmt, ...)
{
	if (p->r.bad)
		return 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->r.why, sizeof p->r.why, fmt, ap);
	va_end(ap);
	p->r.bad = 1;
	p->r.bad_line = import_json_line(p);
	return 1;
}

static enum role top(const struct import_json *p)
{
	return p->roles[p->nframes - 1];
}

static int push(struct import_json *p, enum role r)
{
	if (p->nframes == MAX_FRAMES)
		return jfail(p, "JSON nested too deeply");
	p->roles[p->nframes++] = r;
	return 1;
}

static void rec_reset(struct import_json *p)
{
	memset(&p->r, 0, sizeof p->r);
	fix_init(&p->r.f);
	buf_reset(&p->members);
}

static enum field field_of(enum role r, const char *key)
{
	static const struct {
		const char *key;
		enum field  f;
	} rec_keys[] = {
		{ "latitudeE7", F_E7LAT }, { "longitudeE7", F_E7LON }, { "timestamp", F_TIME },
		{ "timestampMs", F_TIMEMS }, { "accuracy", F_ACC },   { "altitude", F_ALT },
		{ "velocity", F_SPEED },   { "heading", F_COURSE },    { "type", F_IGNORE },
		{ "id", F_IGNORE },        { "bbox", F_IGNORE },
	}, prop_keys[] = {
		{ "time", F_TIME },        { "timestamp", F_TIME },    { "speed", F_SPEED },
		{ "course", F_COURSE },    { "altitude", F_ALT },      { "accuracy", F_ACC },
		{ "battery", F_BATT },     { "horizontal_accuracy", F_ACC_OL },
		{ "battery_level", F_BATT_OL }, { "device", F_IGNORE }, { "attributes", F_IGNORE },
	};
	/* Once per member of a multi-GB file: compare the first byte first. */
	if (r == R_PROPS) {
		for (size_t i = 0; i < sizeof prop_keys / sizeof prop_keys[0]; i++)
			if (prop_keys[i].key[0] == key[0] && strcmp(key, prop_keys[i].key) == 0)
				return prop_keys[i].f;
	} else {
		for (size_t i = 0; i < sizeof rec_keys / sizeof rec_keys[0]; i++)
			if (rec_keys[i].key[0] == key[0] && strcmp(key, rec_keys[i].key) == 0)
				return rec_keys[i].f;
	}
	return F_ATTR;
}


static int set_opt(struct import_json *p, unsigned bit, double v)
{
	struct fix *f = &p->r.f;
	switch (bit) {
	case FIX_SPEED:  f->speed = v; break;
	case FIX_COURSE: f->course = v; break;
	case FIX_ALT:    f->alt = v; break;
	case FIX_ACC:    f->acc = v; break;
	default:         f->batt = v; break;
	}
	f->has |= bit;
	return 1;
}

static int read_int64(const char *s, int64_t *out)
{
	char *end;
	if (!*s)
		return -1;
	/* Up to 18 plain digits cannot overflow: no strtoll needed. */
	const char *q = s + (*s == '-');
	int64_t acc = 0;
	int n = 0;
	while (n <= 18 && *q >= '0' && *q <= '9') {
		acc = acc * 10 + (*q++ - '0');
		n++;
	}
	if (!*q && n && n <= 18) {
		*out = *s == '-' ? -acc : acc;
		return 0;
	}
	long long v = strtoll(s, &end, 10);
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* Degrees from an E7 integer, exact to the last digit. Some Records.json
 * rows hold the E7 value wrapped as an unsigned 32-bit number (a latitude
 * E7 above 900,000,000 or a longitude above 1,800,000,000 is one); other
 * importers undo it by subtracting 2^32, and so do we. */
int import_e7_degrees(const char *text, int64_t max_e7, double *deg)
{
	int64_t e7;
	double x;
	if (read_int64(text, &e7) == 0) {
		if (e7 > max_e7)
			e7 -= INT64_C(4294967296);
		*deg = (double)e7 / 1e7;
		return 0;
	}
	if (parse_double(text, &x) < 0)
		return -1;
	*deg = x / 1e7;
	return 0;
}

static int record_field(struct import_json *p, enum field fld, const struct import_scalar *v)
{
	double x;
	int64_t ms;
	if (v->is_null || fld == F_IGNORE)
		return 1;
	if (fld == F_TIME || fld == F_TIMEMS) {
		if (!v->is_num && !v->is_str)
			return rec_bad(p, "%s is not a time", p->key.data);
		int bad = fld == F_TIME ? parse_time(v->text, &ms) < 0
		                        : read_int64(v->text, &ms) < 0 || ms < 0;
		if (bad)
			return rec_bad(p, "unreadable %s '%.40s'", p->key.data, v->text);
		p->r.f.time_ms = ms;
		p->r.time_set = 1;
		p->r.overland = top(p) == R_PROPS && strcmp(p->key.data, "timestamp") == 0;
		return 1;
	}
	if ((!v->is_num && !v->is_str) || parse_double(v->text, &x) < 0)
		return rec_bad(p, "%s is not a number", p->key.data);
	switch (fld) {
	case F_E7LAT:
		import_e7_degrees(v->text, 900000000, &p->r.f.lat);
		p->r.e7lat = 1;
		return 1;
	case F_E7LON:
		import_e7_degrees(v->text, 1800000000, &p->r.f.lon);
		p->r.e7lon = 1;
		return 1;
	case F_SPEED:  return set_opt(p, FIX_SPEED, x);
	case F_COURSE: return set_opt(p, FIX_COURSE, x);
	case F_ALT:    return set_opt(p, FIX_ALT, x);
	case F_ACC:    return set_opt(p, FIX_ACC, x);
	case F_BATT:   return set_opt(p, FIX_BATT, x);
	case F_ACC_OL: return x == -1 ? 1 : set_opt(p, FIX_ACC, x);
	case F_BATT_OL:
		/* Overland: 0..1, -1 unknown; some senders give a percent already. */
		if (x == -1)
			return 1;
		return set_opt(p, FIX_BATT, x <= 1 ? x * 100 : x);
	default:
		return 1;
	}
}

/* An unknown scalar member kept as an attribute. */
static int extra_attr(struct import_json *p, const struct import_scalar *v, const char *raw, size_t rawlen)
{
	if (v->is_null)
		return 1;
	if (v->is_num && !number_finite(&p->ja.s, v->text, strlen(v->text)))
		return rec_bad(p, "%s: number out of range", p->key.data);
	p->ja.depth = 1;
	ja_key(&p->ja, (const unsigned char *)p->key.data, p->key.len);
	if (v->is_str)
		ja_text(&p->ja, (const unsigned char *)raw, rawlen);
	else
		buf_add(p->ja.out, raw, rawlen);
	p->ja.depth = 0;
	if (p->members.len > ATTRS_MAX)
		return jfail(p, "attributes larger than %d bytes", ATTRS_MAX);
	return 1;
}

static int on_scalar(struct import_json *p, const struct import_scalar *v, const char *raw, size_t rawlen)
{
	if (p->nframes == 0)
		return jfail(p, "the JSON root is not an object or an array");
	switch (top(p)) {
	case R_LIST:
		return 1;
	case R_COORDS:
		if (!v->is_num)
			return rec_bad(p, "coordinates must be numbers");
		if (p->r.ncoords < 3 && parse_double(v->text, &p->r.coords[p->r.ncoords]) < 0)
			return rec_bad(p, "unreadable coordinate '%.40s'", v->text);
		p->r.ncoords++;
		return 1;
	case R_GEOM:
		if (strcmp(p->key.data, "type") == 0 && v->is_str) {
			p->r.geom_type = 1;
			p->r.geom_point = strcmp(v->text, "Point") == 0;
		}
		return 1;
	default: {
		enum field f = field_of(top(p), p->key.data);
		if (f == F_ATTR && top(p) == R_RECORD && strcmp(p->key.data, "deviceTag") == 0)
			p->r.tag_set = v->is_num && read_int64(v->text, &p->r.tag) == 0;
		if (f == F_ATTR)
			return extra_attr(p, v, raw, rawlen);
		return record_field(p, f, v);
	}
	}
}

/* The shape, once the first record of the root list tells it. */
static void name_shape(struct import_json *p)
{
	if (*p->st->shape)
		return;
	if (p->r.geom)
		p->st->shape = p->list_key && p->r.overland ? "Overland" : "GeoJSON";
	else if (p->r.e7lat || p->r.e7lon)
		p->st->shape = "Records.json";
}

static int emit_record(struct import_json *p, int in_list)
{
	struct rec *r = &p->r;
	name_shape(p);
	if (r->geom) {
		if (!r->geom_point) {
			if (r->geom_type || in_list)
				p->st->skipped_nonpoint++;
			return 1;
		}
		if (!r->bad && (r->ncoords < 2 || r->ncoords > 3 || r->coords_bad))
			rec_bad(p, "a Point's coordinates must be [lon, lat] or [lon, lat, alt]");
		r->f.lon = r->coords[0];
		r->f.lat = r->coords[1];
		if (r->ncoords == 3 && !(r->f.has & FIX_ALT))
			set_opt(p, FIX_ALT, r->coords[2]);
		if (r->overland) {
			/* Overland's -1: unknown. */
			if ((r->f.has & FIX_SPEED) && r->f.speed == -1)
				r->f.has &= ~(unsigned)FIX_SPEED;
			if ((r->f.has & FIX_COURSE) && r->f.course == -1)
				r->f.has &= ~(unsigned)FIX_COURSE;
		}
	} else if (r->e7lat || r->e7lon) {
		if (!r->bad && (!r->e7lat || !r->e7lon))
			rec_bad(p, "a location needs both latitudeE7 and longitudeE7");
	} else {
		/* Without a position: counted when it is one of the list's rows. */
		if (in_list)
			p->st->skipped_nonpoint++;
		return 1;
	}
	if (p->st->tag_set && (!r->tag_set || r->tag != p->st->tag)) {
		p->st->skipped_tag++;
		return 1;
	}
	if (r->bad) {
		import_reject(p->st, r->bad_line, "%s", r->why);
		return 1;
	}
	if (!r->time_set) {
		p->st->skipped_notime++;
		return 1;
	}
	if (p->members.len) {
		buf_reset(&p->attrs);
		buf_addc(&p->attrs, '{');
		buf_add(&p->attrs, p->members.data, p->members.len);
		buf_addc(&p->attrs, '}');
		r->f.attrs = p->attrs.data;
	}
	p->st->fix_tag_set = r->tag_set;
	p->st->fix_tag = r->tag;
	int rc = import_emit(p->st, import_json_line(p), &r->f);
	p->st->fix_tag_set = 0;
	r->f.attrs = NULL;
	return rc == IMPORT_OK;
}

/* ---- yajl callbacks ---- */

static int cb_null(void *ctx)
{
	struct import_json *p = ctx;
	struct import_scalar v = { 0, 0, 1, "" };
	if (p->in_google)
		return import_google_scalar(p->google, &v);
	if (p->ignore)
		return 1;
	if (p->ja.depth) {
		ja_raw(&p->ja, "null", 4);
		return 1;
	}
	return on_scalar(p, &v, "null", 4);
}

static int cb_bool(void *ctx, int b)
{
	struct import_json *p = ctx;
	struct import_scalar v = { 0, 0, 0, b ? "true" : "false" };
	if (p->in_google)
		return import_google_scalar(p->google, &v);
	if (p->ignore)
		return 1;
	if (p->ja.depth) {
		ja_raw(&p->ja, v.text, strlen(v.text));
		return 1;
	}
	return on_scalar(p, &v, v.text, strlen(v.text));
}

static int cb_number(void *ctx, const char *s, size_t n)
{
	struct import_json *p = ctx;
	if (p->ignore && !p->in_google)
		return 1;
	if (p->ja.depth) {
		if (ja_number(&p->ja, s, n) < 0)
			return rec_bad(p, "attributes: number out of range");
		return 1;
	}
	buf_reset(&p->sval);
	buf_add(&p->sval, s, n);
	struct import_scalar v = { 1, 0, 0, p->sval.data };
	if (p->in_google)
		return import_google_scalar(p->google, &v);
	return on_scalar(p, &v, s, n);
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
	struct import_json *p = ctx;
	if (p->ignore && !p->in_google)
		return 1;
	if (p->ja.depth) {
		ja_string(&p->ja, s, n);
		return 1;
	}
	buf_reset(&p->sval);
	buf_add(&p->sval, s, n);
	struct import_scalar v = { 0, 1, 0, p->sval.data };
	if (p->in_google)
		return import_google_scalar(p->google, &v);
	return on_scalar(p, &v, p->sval.data, n);
}

/* A root array whose first element starts with one of these members is
 * location-history.json (iOS), not a list of GeoJSON features. */
static int ios_member(const char *k)
{
	static const char *const keys[] = {
		"startTime", "endTime", "visit", "activity", "timelinePath", "timelineMemory",
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	return 0;
}

/* The first member of an object in the root array, before any record told
 * the shape: location-history.json hands the array (element already open)
 * to the Google reader. */
static int ios_switch(struct import_json *p, const char *k)
{
	if (*p->st->shape || p->nframes != 2 || p->roles[0] != R_LIST || p->r.nkeys++ ||
	    !ios_member(k))
		return 0;
	p->nframes = 0;
	p->in_google = 1;
	import_google_begin(p->google, IG_IOS);
	return 1;
}

static int cb_key(void *ctx, const unsigned char *s, size_t n)
{
	struct import_json *p = ctx;
	if (p->in_google)
		return import_google_key(p->google, (const char *)s, n);
	if (p->ignore)
		return 1;
	if (p->ja.depth) {
		ja_key(&p->ja, s, n);
		if (p->members.len > ATTRS_MAX)
			return jfail(p, "attributes larger than %d bytes", ATTRS_MAX);
		return 1;
	}
	buf_reset(&p->key);
	buf_add(&p->key, s, n);
	if (ios_switch(p, p->key.data))
		return import_google_open(p->google, 0) &&
		       import_google_key(p->google, (const char *)s, n);
	return 1;
}

static int open_attrs(struct import_json *p, char c)
{
	if (ja_open(&p->ja, c) < 0)
		return jfail(p, "attributes nested more than %d deep", ATTR_DEPTH);
	return 1;
}

static int cb_start_map(void *ctx)
{
	struct import_json *p = ctx;
	if (p->in_google)
		return import_google_open(p->google, 0);
	if (p->ignore) {
		p->ignore++;
		return 1;
	}
	if (p->ja.depth)
		return open_attrs(p, '{');
	if (p->nframes == 0) {
		rec_reset(p);
		return push(p, R_ROOT);
	}
	const char *k = p->key.data;
	switch (top(p)) {
	case R_LIST:
		rec_reset(p);
		return push(p, R_RECORD);
	case R_ROOT:
	case R_RECORD:
		if (strcmp(k, "geometry") == 0) {
			p->r.geom = 1;
			return push(p, R_GEOM);
		}
		if (strcmp(k, "properties") == 0)
			return push(p, R_PROPS);
		break;
	case R_PROPS:
		if (strcmp(k, "attributes") == 0)
			return open_attrs(p, '{');
		break;
	default:
		break;
	}
	p->ignore = 1;
	return 1;
}

/* Events go back from the Google reader when its list closes. */
static int google_close(struct import_json *p)
{
	int done = 0;
	if (!import_google_close(p->google, &done))
		return 0;
	if (done)
		p->in_google = 0;
	return 1;
}

static int cb_end_map(void *ctx)
{
	struct import_json *p = ctx;
	if (p->in_google)
		return google_close(p);
	if (p->ignore) {
		p->ignore--;
		return 1;
	}
	if (p->ja.depth) {
		ja_close(&p->ja);
		return 1;
	}
	enum role r = top(p);
	p->nframes--;
	if (r == R_RECORD || (r == R_ROOT && !p->root_container))
		return emit_record(p, r == R_RECORD);
	return 1;
}

/* Root members holding a list of one of Google's semantic exports. */
static const struct {
	const char *key;
	enum import_google_list list;
} google_lists[] = {
	{ "timelineObjects", IG_TIMELINE_OBJECTS }, { "semanticSegments", IG_SEMANTIC_SEGMENTS },
	{ "rawSignals", IG_RAW_SIGNALS },           { "timelineEdits", IG_TIMELINE_EDITS },
};

static int root_list(struct import_json *p, const char *k)
{
	if (strcmp(k, "features") == 0 || strcmp(k, "locations") == 0) {
		p->root_container = 1;
		p->list_key = k[0] == 'l';
		return push(p, R_LIST);
	}
	for (size_t i = 0; i < sizeof google_lists / sizeof google_lists[0]; i++) {
		if (strcmp(k, google_lists[i].key) == 0) {
			p->root_container = 1;
			p->in_google = 1;
			import_google_begin(p->google, google_lists[i].list);
			return 1;
		}
	}
	p->ignore = 1;
	return 1;
}

static int cb_start_array(void *ctx)
{
	struct import_json *p = ctx;
	if (p->in_google)
		return import_google_open(p->google, 1);
	if (p->ignore) {
		p->ignore++;
		return 1;
	}
	if (p->ja.depth)
		return open_attrs(p, '[');
	if (p->nframes == 0)
		return push(p, R_LIST);
	const char *k = p->key.data;
	switch (top(p)) {
	case R_ROOT:
		return root_list(p, k);
	case R_GEOM:
		if (strcmp(k, "coordinates") == 0) {
			p->r.ncoords = 0;
			return push(p, R_COORDS);
		}
		break;
	case R_COORDS:
		p->r.coords_bad = 1;   /* nested: not a Point's */
		break;
	default:
		break;
	}
	p->ignore = 1;
	return 1;
}

static int cb_end_array(void *ctx)
{
	struct import_json *p = ctx;
	if (p->in_google)
		return google_close(p);
	if (p->ignore) {
		p->ignore--;
		return 1;
	}
	if (p->ja.depth) {
		ja_close(&p->ja);
		return 1;
	}
	p->nframes--;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_key,
	.yajl_end_map = cb_end_map,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end_array,
};

struct import_json *import_json_new(struct import_state *st)
{
	struct import_json *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->st = st;
	buf_init(&p->key);
	buf_adds(&p->key, "");
	buf_init(&p->sval);
	buf_init(&p->members);
	buf_init(&p->attrs);
	buf_init(&p->ja.s);
	p->ja.out = &p->members;
	p->google = import_google_new(st, p);
	p->h = yajl_alloc(&callbacks, NULL, p);
	if (!p->h || !p->google) {
		import_json_free(p);
		return NULL;
	}
	return p;
}

void import_json_free(struct import_json *p)
{
	if (!p)
		return;
	if (p->h)
		yajl_free(p->h);
	import_google_free(p->google);
	buf_free(&p->key);
	buf_free(&p->sval);
	buf_free(&p->members);
	buf_free(&p->attrs);
	buf_free(&p->ja.s);
	free(p);
}

static uint64_t count_lines(const char *s, size_t n)
{
	uint64_t lines = 0;
	const char *end = s + n;
	while (s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		lines++;
		s++;
	}
	return lines;
}

/* yajl's offset in the chunk is that of the token just read, also while
 * its callback runs: newlines up to there are counted once, as the chunk
 * is read. */
uint64_t import_json_line(struct import_json *p)
{
	size_t used = yajl_get_bytes_consumed(p->h);
	if (used > p->chunk_len)
		used = p->chunk_len;
	if (used > p->counted) {
		p->chunk_lines += count_lines(p->chunk + p->counted, used - p->counted);
		p->counted = used;
	}
	return p->line_base + p->chunk_lines + 1;
}

static yajl_status parse_chunk(struct import_json *p, const char *data, size_t len, int last)
{
	p->chunk = data;
	p->chunk_len = len;
	p->counted = 0;
	p->chunk_lines = 0;
	if (last)
		return yajl_complete_parse(p->h);
	return yajl_parse(p->h, (const unsigned char *)data, len);
}

/* Turns a yajl status into ours, with the line of the failure. */
static int status(struct import_json *p, yajl_status ys, const char *data, size_t len)
{
	if (ys == yajl_status_ok) {
		if (len > p->counted)
			p->chunk_lines += count_lines(data + p->counted, len - p->counted);
		p->line_base += p->chunk_lines;
		p->chunk_len = p->counted = 0;
		p->chunk_lines = 0;
		return p->st->rc;
	}
	uint64_t line = import_json_line(p);
	if (p->st->rc) {
		if (p->st->rc == IMPORT_ERR && p->st->err_line == 0)
			p->st->err_line = line;
		return p->st->rc;
	}
	unsigned char *msg = yajl_get_error(p->h, 0, (const unsigned char *)data, len);
	char text[160];
	snprintf(text, sizeof text, "%s", msg ? (const char *)msg : "parse error");
	if (msg)
		yajl_free_error(p->h, msg);
	text[strcspn(text, "\r\n")] = 0;
	return import_fail(p->st, line, "JSON %s", text);
}

int import_json_feed(struct import_json *p, const char *data, size_t len)
{
	if (p->st->rc)
		return p->st->rc;
	yajl_status ys = parse_chunk(p, data, len, 0);
	return status(p, ys, data, len);
}

int import_json_finish(struct import_json *p)
{
	if (p->st->rc)
		return p->st->rc;
	yajl_status ys = parse_chunk(p, "", 0, 1);
	return status(p, ys, "", 0);
}

/* ---- a single attributes object (CSV) ---- */

struct members_ctx {
	struct jattr ja;
	int          done, bad;
};

static int m_null(void *ctx)
{
	struct members_ctx *m = ctx;
	if (!m->ja.depth)
		return m->bad = 1, 0;
	ja_raw(&m->ja, "null", 4);
	return 1;
}

static int m_bool(void *ctx, int b)
{
	struct members_ctx *m = ctx;
	if (!m->ja.depth)
		return m->bad = 1, 0;
	ja_raw(&m->ja, b ? "true" : "false", b ? 4 : 5);
	return 1;
}

static int m_number(void *ctx, const char *s, size_t n)
{
	struct members_ctx *m = ctx;
	if (!m->ja.depth)
		return m->bad = 1, 0;
	if (ja_number(&m->ja, s, n) < 0)
		return m->bad = 3, 0;
	return 1;
}

static int m_string(void *ctx, const unsigned char *s, size_t n)
{
	struct members_ctx *m = ctx;
	if (!m->ja.depth)
		return m->bad = 1, 0;
	ja_string(&m->ja, s, n);
	return 1;
}

static int m_key(void *ctx, const unsigned char *s, size_t n)
{
	struct members_ctx *m = ctx;
	ja_key(&m->ja, s, n);
	return 1;
}

static int m_open(struct members_ctx *m, char c)
{
	if (m->done || (!m->ja.depth && c != '{'))
		return m->bad = 1, 0;
	if (ja_open(&m->ja, c) < 0)
		return m->bad = 2, 0;
	return 1;
}

static int m_start_map(void *ctx)
{
	return m_open(ctx, '{');
}

static int m_start_array(void *ctx)
{
	return m_open(ctx, '[');
}

static int m_close(void *ctx)
{
	struct members_ctx *m = ctx;
	if (ja_close(&m->ja))
		m->done = 1;
	return 1;
}

static const yajl_callbacks member_callbacks = {
	.yajl_null = m_null,
	.yajl_boolean = m_bool,
	.yajl_number = m_number,
	.yajl_string = m_string,
	.yajl_start_map = m_start_map,
	.yajl_map_key = m_key,
	.yajl_end_map = m_close,
	.yajl_start_array = m_start_array,
	.yajl_end_array = m_close,
};

int import_json_members(const char *text, size_t len, struct buf *out, char *why, size_t whylen)
{
	struct members_ctx m;
	memset(&m, 0, sizeof m);
	m.ja.out = out;
	buf_init(&m.ja.s);
	size_t before = out->len;
	yajl_handle h = yajl_alloc(&member_callbacks, NULL, &m);
	if (!h)
		xalloc_die();
	yajl_status ys = yajl_parse(h, (const unsigned char *)text, len);
	if (ys == yajl_status_ok)
		ys = yajl_complete_parse(h);
	int rc = 0;
	if (ys != yajl_status_ok || !m.done) {
		rc = -1;
		if (m.bad == 1 || (ys == yajl_status_ok && !m.done)) {
			snprintf(why, whylen, "attributes is not a JSON object");
		} else if (m.bad == 3) {
			snprintf(why, whylen, "attributes: number out of range");
		} else if (m.bad == 2) {
			snprintf(why, whylen, "attributes nested more than %d deep", ATTR_DEPTH);
		} else {
			unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)text, len);
			snprintf(why, whylen, "attributes: JSON %s", msg ? (const char *)msg : "parse error");
			if (msg)
				yajl_free_error(h, msg);
			why[strcspn(why, "\r\n")] = 0;
		}
		out->len = before;
		if (out->data)
			out->data[before] = 0;
	}
	yajl_free(h);
	buf_free(&m.ja.s);
	return rc;
}
