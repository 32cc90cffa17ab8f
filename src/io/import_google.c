/* Google's semantic location exports, read from the events import_json.c
 * passes on (one list at a time, so memory stays constant):
 *   Semantic Location History  timelineObjects[]: placeVisit (a visit) and
 *                              activitySegment (start, end and the timed
 *                              simplifiedRawPath points as fixes)
 *   Timeline.json (Android)    semanticSegments[]: timelinePath points,
 *                              visit, activity start/end; rawSignals[]:
 *                              position
 *   location-history.json (iOS) the same segments as a root array, with
 *                              "geo:lat,lon" strings and every value a string
 *   Timeline Edits.json        timelineEdits[].rawSignal.signal.position
 * A frame stack gives each open object its role from its parent's role and
 * its member name; values are read by role and name, anything else skipped.
 * Waypoints carry no time and never become fixes. A visit is handed on as
 * a visit only, never as fixes too. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "io/import.h"

#define G_DEPTH   32
#define G_TEXT    512     /* longer visit names and addresses are cut here */

enum grole {
	G_OTHER,
	G_LIST,
	G_TLO,       /* timelineObjects[] element */
	G_SEG,       /* semanticSegments[] / iOS root array element */
	G_RAWSIG,    /* rawSignals[] element */
	G_EDIT,      /* timelineEdits[] element */
	G_PVISIT, G_PVLOC, G_DUR, G_CANDS, G_CAND,
	G_ASEG, G_ASTART, G_AEND, G_RAWPATH, G_RAWPTS, G_WAYPATH, G_WAYPTS,
	G_TPATH, G_PT,
	G_VISIT, G_VTOP, G_PLACELOC,
	G_ACT, G_ACTPT, G_ATOP,
	G_ERAW, G_ESIG, G_POS, G_POSPT,
};

/* What a point (G_PT or G_POS) is. */
enum pkind { PK_RAW, PK_WAY, PK_PATH, PK_POS };

/* A position read as E7 halves or a "lat, lon" string: bit 1 lat, 2 lon. */
struct gpos {
	double   lat, lon;
	unsigned set;
};

struct gbad {
	int      bad;
	uint64_t line;
	char     why[160];
};

/* The list element being read: a timelineObject or a segment. */
struct gseg {
	uint64_t    line;
	int64_t     start, end;
	int         start_set, end_set;
	int         visit, act;
	struct gpos vpos, center, cand, astart, aend;
	int         ncands;
	struct buf  name, address, place_id, semantic_type, act_type;
	unsigned    strs;             /* which of the five were given */
	struct gbad bad;
};

enum { S_NAME = 1, S_ADDRESS = 2, S_PLACE_ID = 4, S_SEMANTIC = 8, S_ACT_TYPE = 16 };

struct gpt {
	struct fix  f;
	enum pkind  kind;
	struct gpos pos;
	int         time_set, offset_set;
	double      offset_min;
	char        source[40];
	struct gbad bad;
};

struct import_google {
	struct import_state *st;
	struct import_json  *json;
	enum import_google_list list;
	unsigned char roles[G_DEPTH];
	int         depth;
	int         ignore;           /* depth inside a skipped value */
	int         act_end;          /* the open G_ACTPT is the activity's end */
	int         pt_depth;         /* depth of the open point, 0 when none */
	struct buf  key;
	struct buf  attrs;
	struct gseg seg;
	struct gpt  pt;
};

static const char *const list_shapes[] = {
	[IG_TIMELINE_OBJECTS] = "Semantic Location History",
	[IG_SEMANTIC_SEGMENTS] = "Timeline.json",
	[IG_RAW_SIGNALS] = "Timeline.json",
	[IG_IOS] = "location-history.json",
	[IG_TIMELINE_EDITS] = "Timeline Edits",
};

struct import_google *import_google_new(struct import_state *st, struct import_json *json)
{
	struct import_google *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->st = st;
	g->json = json;
	buf_init(&g->key);
	buf_adds(&g->key, "");
	buf_init(&g->attrs);
	buf_init(&g->seg.name);
	buf_init(&g->seg.address);
	buf_init(&g->seg.place_id);
	buf_init(&g->seg.semantic_type);
	buf_init(&g->seg.act_type);
	return g;
}

void import_google_free(struct import_google *g)
{
	if (!g)
		return;
	buf_free(&g->key);
	buf_free(&g->attrs);
	buf_free(&g->seg.name);
	buf_free(&g->seg.address);
	buf_free(&g->seg.place_id);
	buf_free(&g->seg.semantic_type);
	buf_free(&g->seg.act_type);
	free(g);
}

void import_google_begin(struct import_google *g, enum import_google_list list)
{
	g->list = list;
	g->st->shape = list_shapes[list];
	g->depth = 1;
	g->roles[0] = G_LIST;
	g->ignore = 0;
	g->pt_depth = 0;
}

/* ---- values ---- */

int import_parse_latlng(const char *s, double *lat, double *lon)
{
	char text[96];
	double v[3];
	int n = 0;
	int geo = strncmp(s, "geo:", 4) == 0;
	if (geo)
		s += 4;
	if (strlen(s) >= sizeof text)
		return -1;
	strcpy(text, s);
	for (char *p = text;; n++) {
		if (n == 3)
			return -1;
		char *comma = strchr(p, ',');
		if (comma)
			*comma = 0;
		while (*p == ' ')
			p++;
		size_t len = strlen(p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		/* Android writes degrees as "48.1°": U+00B0 in UTF-8. */
		if (len >= 2 && (unsigned char)p[len - 2] == 0xC2 && (unsigned char)p[len - 1] == 0xB0)
			len -= 2;
		p[len] = 0;
		if (parse_double(p, &v[n]) < 0)
			return -1;
		if (!comma) {
			n++;
			break;
		}
		p = comma + 1;
	}
	/* lat, lon and, in some geo: URIs, an altitude. */
	if (n < 2 || (n == 3 && !geo))
		return -1;
	*lat = v[0];
	*lon = v[1];
	return 0;
}

static void mark_bad(struct import_google *g, struct gbad *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first unreadable value of a record: it is rejected when it ends. */
static void mark_bad(struct import_google *g, struct gbad *b, const char *fmt, ...)
{
	if (b->bad)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->why, sizeof b->why, fmt, ap);
	va_end(ap);
	b->bad = 1;
	b->line = import_json_line(g->json);
}

/* The record a value belongs to: the open point, else the element. */
static struct gbad *bad_of(struct import_google *g)
{
	return g->pt_depth ? &g->pt.bad : &g->seg.bad;
}

static int value_number(struct import_google *g, const struct import_scalar *v, double *x)
{
	if ((v->is_num || v->is_str) && parse_double(v->text, x) == 0)
		return 0;
	mark_bad(g, bad_of(g), "%s is not a number: '%.40s'", g->key.data, v->text);
	return -1;
}

/* ISO text, or with ms = 1 (the older *Ms members) milliseconds. */
static int value_time(struct import_google *g, const struct import_scalar *v, int ms, int64_t *out)
{
	char *end;
	if (v->is_str || v->is_num) {
		if (!ms && parse_time(v->text, out) == 0)
			return 0;
		if (ms && *v->text) {
			long long x = strtoll(v->text, &end, 10);
			if (!*end && x >= 0) {
				*out = x;
				return 0;
			}
		}
	}
	mark_bad(g, bad_of(g), "unreadable %s '%.40s'", g->key.data, v->text);
	return -1;
}

static void value_e7(struct import_google *g, const struct import_scalar *v, struct gpos *pos, int lon)
{
	double deg;
	if ((!v->is_num && !v->is_str) ||
	    import_e7_degrees(v->text, lon ? 1800000000 : 900000000, &deg) < 0) {
		mark_bad(g, bad_of(g), "%s is not a number: '%.40s'", g->key.data, v->text);
		return;
	}
	if (lon)
		pos->lon = deg;
	else
		pos->lat = deg;
	pos->set |= lon ? 2u : 1u;
}

static void value_latlng(struct import_google *g, const struct import_scalar *v, struct gpos *pos)
{
	if (!v->is_str || import_parse_latlng(v->text, &pos->lat, &pos->lon) < 0) {
		mark_bad(g, bad_of(g), "unreadable %s '%.40s'", g->key.data, v->text);
		return;
	}
	pos->set = 3;
}

static void value_text(struct import_google *g, const struct import_scalar *v, struct buf *b,
                       unsigned bit)
{
	if (!v->is_str)
		return;
	size_t n = strlen(v->text);
	if (n > G_TEXT) {
		n = G_TEXT;
		while (n > 0 && ((unsigned char)v->text[n] & 0xC0) == 0x80)
			n--;          /* cut before a whole character */
	}
	buf_reset(b);
	buf_add(b, v->text, n);
	g->seg.strs |= bit;
}

static int key_is(const struct import_google *g, const char *k)
{
	return strcmp(g->key.data, k) == 0;
}

/* ---- emitting ---- */

static int emit(struct import_google *g, struct fix *f, const struct gbad *bad)
{
	if (bad->bad)
		return import_reject(g->st, bad->line, "%s", bad->why) == IMPORT_OK;
	f->attrs = g->attrs.len ? g->attrs.data : NULL;
	int rc = import_emit(g->st, import_json_line(g->json), f);
	f->attrs = NULL;
	return rc == IMPORT_OK;
}

/* Minutes past the segment's start. Past ten thousand years either way
 * there is no time to give, and the milliseconds would not fit an int64
 * (a fuzzed 3e38 did not). */
#define OFFSET_MIN_MAX 5.3e9

static void value_offset(struct import_google *g, const struct import_scalar *v, struct gpt *pt)
{
	double m;
	if (value_number(g, v, &m) < 0)
		return;
	if (!(fabs(m) <= OFFSET_MIN_MAX)) {
		mark_bad(g, bad_of(g), "%s out of range: '%.40s'", g->key.data, v->text);
		return;
	}
	pt->offset_min = m;
	pt->offset_set = 1;
}

static int point_end(struct import_google *g)
{
	struct gpt *pt = &g->pt;
	g->pt_depth = 0;
	if (pt->kind == PK_WAY) {
		/* No time: never a fix. */
		if (pt->pos.set == 3)
			g->st->skipped_notime++;
		return 1;
	}
	if (!pt->bad.bad && pt->pos.set != 3) {
		g->st->skipped_nonpoint++;
		return 1;
	}
	if (!pt->time_set && pt->offset_set && g->seg.start_set) {
		pt->f.time_ms = g->seg.start + (int64_t)(pt->offset_min * 60000.0);
		pt->time_set = 1;
	}
	if (!pt->bad.bad && !pt->time_set) {
		g->st->skipped_notime++;
		return 1;
	}
	pt->f.lat = pt->pos.lat;
	pt->f.lon = pt->pos.lon;
	buf_reset(&g->attrs);
	if (pt->kind == PK_POS && pt->source[0]) {
		buf_adds(&g->attrs, "{\"source\":");
		buf_add_json_str(&g->attrs, pt->source);
		buf_addc(&g->attrs, '}');
	} else if (pt->kind != PK_POS) {
		buf_adds(&g->attrs, "{\"google\":\"path\"}");
	}
	return emit(g, &pt->f, &pt->bad);
}

static int visit_end(struct import_google *g)
{
	struct gseg *s = &g->seg;
	const struct gpos *pos = s->vpos.set == 3 ? &s->vpos : s->center.set == 3 ? &s->center
	                       : s->cand.set == 3 ? &s->cand : NULL;
	if (!pos) {
		g->st->skipped_nonpoint++;
		return 1;
	}
	if (!s->start_set || !s->end_set) {
		g->st->skipped_notime++;
		return 1;
	}
	struct import_visit v = {
		.start_ms = s->start,
		.end_ms = s->end,
		.lat = pos->lat,
		.lon = pos->lon,
		.name = s->strs & S_NAME ? s->name.data : NULL,
		.address = s->strs & S_ADDRESS ? s->address.data : NULL,
		.place_id = s->strs & S_PLACE_ID ? s->place_id.data : NULL,
		.semantic_type = s->strs & S_SEMANTIC ? s->semantic_type.data : NULL,
		.line = s->line,
	};
	return import_emit_visit(g->st, &v) == IMPORT_OK;
}

/* An activity's start and end: fixes at the segment's start and end. */
static int activity_end(struct import_google *g)
{
	struct gseg *s = &g->seg;
	const struct gbad ok = { 0 };
	buf_reset(&g->attrs);
	buf_adds(&g->attrs, "{\"google\":\"activity\"");
	if (s->strs & S_ACT_TYPE) {
		buf_adds(&g->attrs, ",\"activity\":");
		buf_add_json_str(&g->attrs, s->act_type.data);
	}
	buf_addc(&g->attrs, '}');
	for (int end = 0; end < 2; end++) {
		const struct gpos *pos = end ? &s->aend : &s->astart;
		if (pos->set != 3) {
			g->st->skipped_nonpoint++;
			continue;
		}
		if (!(end ? s->end_set : s->start_set)) {
			g->st->skipped_notime++;
			continue;
		}
		struct fix f;
		fix_init(&f);
		f.time_ms = end ? s->end : s->start;
		f.lat = pos->lat;
		f.lon = pos->lon;
		if (!emit(g, &f, &ok))
			return 0;
	}
	return 1;
}

static int element_end(struct import_google *g)
{
	struct gseg *s = &g->seg;
	if (s->bad.bad) {
		if (s->visit || s->act)
			import_reject(g->st, s->bad.line, "%s", s->bad.why);
		return 1;
	}
	if (s->visit && !visit_end(g))
		return 0;
	if (s->act && !activity_end(g))
		return 0;
	return 1;
}

static void element_begin(struct import_google *g)
{
	struct gseg *s = &g->seg;
	s->line = import_json_line(g->json);
	s->start_set = s->end_set = s->visit = s->act = 0;
	s->ncands = 0;
	s->strs = 0;
	memset(&s->vpos, 0, sizeof s->vpos);
	s->center = s->cand = s->astart = s->aend = s->vpos;
	memset(&s->bad, 0, sizeof s->bad);
}

static void point_begin(struct import_google *g, enum pkind kind)
{
	memset(&g->pt, 0, sizeof g->pt);
	fix_init(&g->pt.f);
	g->pt.kind = kind;
	g->pt_depth = g->depth;
}

/* ---- events ---- */

/* The role of a container opened as the value of the current member (or
 * as an array element: elem = 1). */
static enum grole child_role(struct import_google *g, enum grole parent, int array, int elem)
{
	static const struct {
		unsigned char parent, child, array;
		const char   *key;
	} t[] = {
		{ G_TLO, G_PVISIT, 0, "placeVisit" },       { G_TLO, G_ASEG, 0, "activitySegment" },
		{ G_PVISIT, G_PVLOC, 0, "location" },       { G_PVISIT, G_DUR, 0, "duration" },
		{ G_PVISIT, G_CANDS, 1, "otherCandidateLocations" },
		{ G_ASEG, G_ASTART, 0, "startLocation" },   { G_ASEG, G_AEND, 0, "endLocation" },
		{ G_ASEG, G_DUR, 0, "duration" },           { G_ASEG, G_RAWPATH, 0, "simplifiedRawPath" },
		{ G_RAWPATH, G_RAWPTS, 1, "points" },       { G_ASEG, G_WAYPATH, 0, "waypointPath" },
		{ G_WAYPATH, G_WAYPTS, 1, "waypoints" },    { G_SEG, G_TPATH, 1, "timelinePath" },
		{ G_SEG, G_VISIT, 0, "visit" },             { G_VISIT, G_VTOP, 0, "topCandidate" },
		{ G_VTOP, G_PLACELOC, 0, "placeLocation" }, { G_SEG, G_ACT, 0, "activity" },
		{ G_ACT, G_ACTPT, 0, "start" },             { G_ACT, G_ACTPT, 0, "end" },
		{ G_ACT, G_ATOP, 0, "topCandidate" },       { G_RAWSIG, G_POS, 0, "position" },
		{ G_EDIT, G_ERAW, 0, "rawSignal" },         { G_ERAW, G_ESIG, 0, "signal" },
		{ G_ESIG, G_POS, 0, "position" },           { G_POS, G_POSPT, 0, "point" },
	};
	if (elem) {
		if (array)
			return G_OTHER;
		switch (parent) {
		case G_LIST:
			return g->list == IG_TIMELINE_OBJECTS ? G_TLO
			     : g->list == IG_RAW_SIGNALS      ? G_RAWSIG
			     : g->list == IG_TIMELINE_EDITS   ? G_EDIT : G_SEG;
		case G_CANDS:  return G_CAND;
		case G_RAWPTS: return G_PT;
		case G_WAYPTS: return G_PT;
		case G_TPATH:  return G_PT;
		default:       return G_OTHER;
		}
	}
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].parent == parent && t[i].array == array && key_is(g, t[i].key))
			return t[i].child;
	return G_OTHER;
}

static void opened(struct import_google *g, enum grole parent, enum grole r)
{
	switch (r) {
	case G_TLO:
	case G_SEG:
		element_begin(g);
		break;
	case G_PVISIT:
	case G_VISIT:
		g->seg.visit = 1;
		break;
	case G_ASEG:
	case G_ACT:
		g->seg.act = 1;
		break;
	case G_CAND:
		g->seg.ncands++;
		break;
	case G_ACTPT:
		g->act_end = key_is(g, "end");
		break;
	case G_PT:
		point_begin(g, parent == G_RAWPTS ? PK_RAW : parent == G_WAYPTS ? PK_WAY : PK_PATH);
		break;
	case G_POS:
		point_begin(g, PK_POS);
		break;
	default:
		break;
	}
}

int import_google_open(struct import_google *g, int array)
{
	if (g->ignore) {
		g->ignore++;
		return 1;
	}
	enum grole parent = g->roles[g->depth - 1];
	int elem = parent == G_LIST || parent == G_CANDS || parent == G_RAWPTS ||
	           parent == G_WAYPTS || parent == G_TPATH;
	enum grole r = child_role(g, parent, array, elem);
	if (r == G_OTHER || g->depth == G_DEPTH) {
		g->ignore = 1;
		return 1;
	}
	g->roles[g->depth++] = (unsigned char)r;
	opened(g, parent, r);
	return 1;
}

int import_google_close(struct import_google *g, int *done)
{
	if (g->ignore) {
		g->ignore--;
		return 1;
	}
	enum grole r = g->roles[--g->depth];
	if (g->depth == 0) {
		*done = 1;
		return 1;
	}
	switch (r) {
	case G_TLO:
	case G_SEG:
		return element_end(g);
	case G_PT:
	case G_POS:
		return point_end(g);
	default:
		return 1;
	}
}

int import_google_key(struct import_google *g, const char *key, size_t len)
{
	if (g->ignore)
		return 1;
	buf_reset(&g->key);
	buf_add(&g->key, key, len);
	return 1;
}

/* Values of the element: visit, activity, times. */
static void seg_value(struct import_google *g, enum grole r, const struct import_scalar *v)
{
	struct gseg *s = &g->seg;
	switch (r) {
	case G_SEG:
		if (key_is(g, "startTime"))
			s->start_set = value_time(g, v, 0, &s->start) == 0;
		else if (key_is(g, "endTime"))
			s->end_set = value_time(g, v, 0, &s->end) == 0;
		break;
	case G_DUR:
		if (key_is(g, "startTimestamp") || key_is(g, "startTimestampMs"))
			s->start_set = value_time(g, v, key_is(g, "startTimestampMs"), &s->start) == 0;
		else if (key_is(g, "endTimestamp") || key_is(g, "endTimestampMs"))
			s->end_set = value_time(g, v, key_is(g, "endTimestampMs"), &s->end) == 0;
		break;
	case G_PVLOC:
		if (key_is(g, "latitudeE7") || key_is(g, "longitudeE7"))
			value_e7(g, v, &s->vpos, g->key.data[1] == 'o');
		else if (key_is(g, "name"))
			value_text(g, v, &s->name, S_NAME);
		else if (key_is(g, "address"))
			value_text(g, v, &s->address, S_ADDRESS);
		else if (key_is(g, "placeId"))
			value_text(g, v, &s->place_id, S_PLACE_ID);
		else if (key_is(g, "semanticType"))
			value_text(g, v, &s->semantic_type, S_SEMANTIC);
		break;
	case G_PVISIT:
		if (key_is(g, "centerLatE7") || key_is(g, "centerLngE7"))
			value_e7(g, v, &s->center, g->key.data[7] == 'n');
		break;
	case G_CAND:
		if (s->ncands == 1 && (key_is(g, "latitudeE7") || key_is(g, "longitudeE7")))
			value_e7(g, v, &s->cand, g->key.data[1] == 'o');
		break;
	case G_ASTART:
	case G_AEND:
		if (key_is(g, "latitudeE7") || key_is(g, "longitudeE7"))
			value_e7(g, v, r == G_ASTART ? &s->astart : &s->aend, g->key.data[1] == 'o');
		break;
	case G_ASEG:
		if (key_is(g, "activityType"))
			value_text(g, v, &s->act_type, S_ACT_TYPE);
		break;
	case G_VTOP:
		if (key_is(g, "placeId") || key_is(g, "placeID"))
			value_text(g, v, &s->place_id, S_PLACE_ID);
		else if (key_is(g, "semanticType"))
			value_text(g, v, &s->semantic_type, S_SEMANTIC);
		else if (key_is(g, "placeLocation"))
			value_latlng(g, v, &s->vpos);
		break;
	case G_PLACELOC:
		if (key_is(g, "latLng"))
			value_latlng(g, v, &s->vpos);
		else if (key_is(g, "name"))
			value_text(g, v, &s->name, S_NAME);
		else if (key_is(g, "address"))
			value_text(g, v, &s->address, S_ADDRESS);
		break;
	case G_ACT:
		if (key_is(g, "start") || key_is(g, "end"))
			value_latlng(g, v, key_is(g, "end") ? &s->aend : &s->astart);
		break;
	case G_ACTPT:
		if (key_is(g, "latLng"))
			value_latlng(g, v, g->act_end ? &s->aend : &s->astart);
		break;
	case G_ATOP:
		if (key_is(g, "type"))
			value_text(g, v, &s->act_type, S_ACT_TYPE);
		break;
	default:
		break;
	}
}

static void set_opt(struct fix *f, unsigned bit, double v)
{
	switch (bit) {
	case FIX_SPEED: f->speed = v; break;
	case FIX_ALT:   f->alt = v; break;
	default:        f->acc = v; break;
	}
	f->has |= bit;
}

/* Values of a point: path points, raw positions. */
static void point_value(struct import_google *g, enum grole r, const struct import_scalar *v)
{
	struct gpt *pt = &g->pt;
	const char *k = g->key.data;
	double x;
	if (r == G_POSPT || (r == G_PT && pt->kind != PK_PATH)) {
		if (key_is(g, "latE7") || key_is(g, "lngE7"))
			value_e7(g, v, &pt->pos, k[1] == 'n');
		else if (r == G_PT && (key_is(g, "timestamp") || key_is(g, "timestampMs")))
			pt->time_set = value_time(g, v, k[9] == 'M', &pt->f.time_ms) == 0;
		else if (r == G_PT && key_is(g, "accuracyMeters") && value_number(g, v, &x) == 0)
			set_opt(&pt->f, FIX_ACC, x);
		return;
	}
	if (r == G_PT) {
		if (key_is(g, "point"))
			value_latlng(g, v, &pt->pos);
		else if (key_is(g, "time"))
			pt->time_set = value_time(g, v, 0, &pt->f.time_ms) == 0;
		else if (key_is(g, "durationMinutesOffsetFromStartTime"))
			value_offset(g, v, pt);
		return;
	}
	/* G_POS */
	if (key_is(g, "LatLng") || key_is(g, "latLng"))
		value_latlng(g, v, &pt->pos);
	else if (key_is(g, "timestamp"))
		pt->time_set = value_time(g, v, 0, &pt->f.time_ms) == 0;
	else if (key_is(g, "accuracyMeters") && value_number(g, v, &x) == 0)
		set_opt(&pt->f, FIX_ACC, x);
	else if (key_is(g, "accuracyMm") && value_number(g, v, &x) == 0)
		set_opt(&pt->f, FIX_ACC, x / 1000);
	else if (key_is(g, "altitudeMeters") && value_number(g, v, &x) == 0)
		set_opt(&pt->f, FIX_ALT, x);
	else if (key_is(g, "speedMetersPerSecond") && value_number(g, v, &x) == 0)
		set_opt(&pt->f, FIX_SPEED, x);
	else if (key_is(g, "source") && v->is_str)
		snprintf(pt->source, sizeof pt->source, "%s", v->text);
}

int import_google_scalar(struct import_google *g, const struct import_scalar *v)
{
	if (g->ignore || v->is_null)
		return 1;
	enum grole r = g->roles[g->depth - 1];
	if (r == G_LIST)
		return 1;
	if (r == G_PT || r == G_POS || r == G_POSPT)
		point_value(g, r, v);
	else
		seg_value(g, r, v);
	return 1;
}
