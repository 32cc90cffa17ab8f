/* GPX and KML import with expat (streaming: the document is never whole in
 * memory). Element names are matched by their local part, so files with or
 * without namespace prefixes (gx:, gpxtpx:, mintrac:) read the same.
 *
 * GPX: trkpt, rtept and wpt with lat/lon attributes, <ele>, <time>, and in
 * any extension the values export writes (mintrac:speed, course, accuracy,
 * battery; also Garmin's gpxtpx:speed/course/bearing). A point without
 * <time> is counted and skipped.
 * KML: gx:Track (<when> and <gx:coord>, paired in order, as export writes
 * them in chunks) and Placemark Point + TimeStamp; LineString coordinates
 * carry no times and are counted as skipped. */
#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "io/import.h"

#define TAG_STACK 256
#define TEXT_MAX  (64 * 1024)   /* no value we read is longer */

enum tag {
	T_OTHER, T_PT, T_ELE, T_TIME, T_SPEED, T_COURSE, T_ACC, T_BATT,
	T_PLACEMARK, T_TRACK, T_WHEN, T_COORD, T_COORDINATES, T_TIMESTAMP,
	T_POINT, T_LINE,
};

/* What the text being captured is for. */
enum cap {
	C_NONE, C_PT_VALUE, C_TRACK_WHEN, C_TRACK_COORD, C_PM_WHEN, C_PM_COORDS, C_COUNT_TUPLES,
};

struct kcoord {
	double lon, lat, alt;
	int    has_alt;
};

struct import_xml {
	struct import_state *st;
	XML_Parser xp;
	int        depth;
	unsigned char tags[TAG_STACK];

	/* GPX point being read */
	int        pt_depth;          /* 0 = not in a point */
	struct fix pt;
	int        pt_time;

	/* The GPX point or KML Placemark being read had a value we cannot
	 * read: it is rejected when it ends. */
	int        rec_bad;
	uint64_t   rec_bad_line;
	char       rec_why[160];

	/* KML context counters */
	int        n_placemark, n_track, n_timestamp, n_point, n_line;
	int        pm_time_set, pm_point_set;
	int64_t    pm_time;
	struct kcoord pm_point;

	/* gx:Track: whens and coords wait here until their partner arrives */
	int64_t   *whens;
	struct kcoord *coords;
	size_t     qhead, qlen, qcap;
	int        qkind;             /* 0 empty, 1 whens, 2 coords */

	/* character data capture */
	enum cap   cap;
	enum tag   cap_tag;
	int        cap_depth;
	struct buf text;
	int        in_token;          /* C_COUNT_TUPLES */
};

static uint64_t xline(const struct import_xml *p)
{
	return (uint64_t)XML_GetCurrentLineNumber(p->xp);
}

static void stop(struct import_xml *p)
{
	XML_StopParser(p->xp, XML_FALSE);
}

static int fail(struct import_xml *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct import_xml *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	import_vfail(p->st, xline(p), fmt, ap);
	va_end(ap);
	stop(p);
	return -1;
}

static void rec_reject(struct import_xml *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The record's first unreadable value; the import goes on. */
static void rec_reject(struct import_xml *p, const char *fmt, ...)
{
	if (p->rec_bad)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->rec_why, sizeof p->rec_why, fmt, ap);
	va_end(ap);
	p->rec_bad = 1;
	p->rec_bad_line = xline(p);
}

/* Counts the record as rejected when it had a bad value; 1 then. */
static int rec_end(struct import_xml *p)
{
	if (!p->rec_bad)
		return 0;
	p->rec_bad = 0;
	import_reject(p->st, p->rec_bad_line, "%s", p->rec_why);
	return 1;
}

static const char *local_name(const char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}

static enum tag tag_of(const char *name)
{
	static const struct {
		const char *name;
		enum tag    tag;
	} names[] = {
		{ "trkpt", T_PT },         { "rtept", T_PT },          { "wpt", T_PT },
		{ "ele", T_ELE },          { "time", T_TIME },         { "speed", T_SPEED },
		{ "course", T_COURSE },    { "bearing", T_COURSE },    { "accuracy", T_ACC },
		{ "battery", T_BATT },     { "Placemark", T_PLACEMARK }, { "Track", T_TRACK },
		{ "when", T_WHEN },        { "coord", T_COORD },       { "coordinates", T_COORDINATES },
		{ "TimeStamp", T_TIMESTAMP }, { "Point", T_POINT },    { "LineString", T_LINE },
		{ "LinearRing", T_LINE },
	};
	const char *l = local_name(name);
	/* This runs for every element of the file: compare the first byte first. */
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].name[0] == l[0] && strcmp(l, names[i].name) == 0)
			return names[i].tag;
	return T_OTHER;
}

/* Trims XML white space in place. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

/* Shortened copy of a bad value for an error message. */
static const char *shown(char *s)
{
	if (strlen(s) > 40)
		strcpy(s + 37, "...");
	return s;
}

/* "a<sep>b[<sep>c]" -> 2 or 3 numbers, else -1. */
static int split_numbers(char *s, char sep, double out[3])
{
	int n = 0;
	char *p = s;
	for (;;) {
		char *e = strchr(p, sep);
		if (e)
			*e = 0;
		if (n == 3 || parse_double(trim(p), &out[n]) < 0)
			return -1;
		n++;
		if (!e)
			break;
		*e = sep;
		p = e + 1;
	}
	return n >= 2 ? n : -1;
}

/* A gx:Track's values pair in order, so one it cannot read breaks the
 * whole track (fail); a Placemark's only reject that Placemark. */
static int read_coord(struct import_xml *p, char *text, char sep, struct kcoord *c)
{
	double v[3];
	char *s = trim(text);
	if (sep == ',' && strpbrk(s, " \t\r\n")) {
		rec_reject(p, "a Point holds more than one coordinate: '%s'", shown(s));
		return -1;
	}
	if (sep == ' ') {
		/* gx:coord separates by any white space; fold it to single spaces. */
		char *w = s;
		for (char *r = s; *r; r++) {
			int ws = *r == ' ' || *r == '\t' || *r == '\r' || *r == '\n';
			if (!ws || (w > s && w[-1] != ' '))
				*w++ = ws ? ' ' : *r;
		}
		*w = 0;
	}
	char copy[128];
	snprintf(copy, sizeof copy, "%s", s);
	int n = split_numbers(s, sep, v);
	if (n < 0 && sep == ',') {
		rec_reject(p, "unreadable coordinate '%s' (lon,lat[,alt])", shown(copy));
		return -1;
	}
	if (n < 0)
		return fail(p, "unreadable coordinate '%s' (lon lat [alt])", shown(copy));
	c->lon = v[0];
	c->lat = v[1];
	c->has_alt = n == 3;
	c->alt = n == 3 ? v[2] : 0;
	return 0;
}

static int read_time(struct import_xml *p, char *text, int strict, int64_t *ms)
{
	char *s = trim(text);
	if (parse_time(s, ms) == 0)
		return 0;
	if (strict)
		return fail(p, "unreadable time '%s'", shown(s));
	rec_reject(p, "unreadable time '%s'", shown(s));
	return -1;
}

/* ---- GPX points ---- */

static int attr_number(const char **atts, const char *name, double *out)
{
	for (; atts[0]; atts += 2) {
		if (strcmp(local_name(atts[0]), name) == 0) {
			char tmp[64];
			size_t n = strlen(atts[1]);
			if (n >= sizeof tmp)
				return -1;
			memcpy(tmp, atts[1], n + 1);
			return parse_double(trim(tmp), out);
		}
	}
	return -1;
}

static void pt_begin(struct import_xml *p, const char *name, const char **atts)
{
	fix_init(&p->pt);
	p->pt_time = 0;
	p->rec_bad = 0;
	p->pt_depth = p->depth;
	if (attr_number(atts, "lat", &p->pt.lat) < 0 || attr_number(atts, "lon", &p->pt.lon) < 0)
		rec_reject(p, "<%s> without a valid lat and lon", local_name(name));
}

static void pt_value(struct import_xml *p, enum tag t, char *text)
{
	if (t == T_TIME) {
		char *s = trim(text);
		if (parse_time(s, &p->pt.time_ms) == 0)
			p->pt_time = 1;
		else
			rec_reject(p, "unreadable time '%s'", shown(s));
		return;
	}
	static const struct {
		enum tag    tag;
		unsigned    bit;
		const char *name;
	} vals[] = {
		{ T_ELE, FIX_ALT, "ele" },       { T_SPEED, FIX_SPEED, "speed" },
		{ T_COURSE, FIX_COURSE, "course" }, { T_ACC, FIX_ACC, "accuracy" },
		{ T_BATT, FIX_BATT, "battery" },
	};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		if (vals[i].tag != t)
			continue;
		double v;
		char *s = trim(text);
		if (parse_double(s, &v) < 0) {
			rec_reject(p, "<%s> is not a number: '%s'", vals[i].name, shown(s));
			return;
		}
		switch (vals[i].bit) {
		case FIX_ALT:    p->pt.alt = v; break;
		case FIX_SPEED:  p->pt.speed = v; break;
		case FIX_COURSE: p->pt.course = v; break;
		case FIX_ACC:    p->pt.acc = v; break;
		default:         p->pt.batt = v; break;
		}
		p->pt.has |= vals[i].bit;
	}
}

static void pt_end(struct import_xml *p)
{
	p->pt_depth = 0;
	if (rec_end(p))
		return;
	if (!p->pt_time) {
		p->st->skipped_notime++;
		return;
	}
	if (import_emit(p->st, xline(p), &p->pt) != IMPORT_OK)
		stop(p);
}

/* ---- KML ---- */

static void emit_kml(struct import_xml *p, int64_t when, const struct kcoord *c)
{
	struct fix f;
	fix_init(&f);
	f.time_ms = when;
	f.lat = c->lat;
	f.lon = c->lon;
	if (c->has_alt) {
		f.alt = c->alt;
		f.has |= FIX_ALT;
	}
	if (import_emit(p->st, xline(p), &f) != IMPORT_OK)
		stop(p);
}

static void queue_grow(struct import_xml *p)
{
	if (p->qhead > 0) {
		/* Slide the waiting entries to the front before growing. */
		if (p->qkind == 1)
			memmove(p->whens, p->whens + p->qhead, p->qlen * sizeof *p->whens);
		else
			memmove(p->coords, p->coords + p->qhead, p->qlen * sizeof *p->coords);
		p->qhead = 0;
		if (p->qlen < p->qcap)
			return;
	}
	/* The two arrays share qcap: the same growth from the same
	 * capacity ends at the same capacity. */
	size_t wcap = p->qcap, ccap = p->qcap;
	array_grow(&p->whens, &wcap, p->qcap + 1, sizeof *p->whens);
	array_grow(&p->coords, &ccap, p->qcap + 1, sizeof *p->coords);
	p->qcap = wcap;
}

/* kind 1: a <when> (ms), kind 2: a <gx:coord>; pairs with the oldest
 * waiting entry of the other kind, else waits. */
static void track_item(struct import_xml *p, int kind, int64_t when, const struct kcoord *c)
{
	if (p->qlen > 0 && p->qkind != kind) {
		size_t i = p->qhead++;
		if (--p->qlen == 0)
			p->qhead = 0;
		if (kind == 1)
			emit_kml(p, when, &p->coords[i]);
		else
			emit_kml(p, p->whens[i], c);
		return;
	}
	if (p->qhead + p->qlen == p->qcap)
		queue_grow(p);
	p->qkind = kind;
	if (kind == 1)
		p->whens[p->qhead + p->qlen] = when;
	else
		p->coords[p->qhead + p->qlen] = *c;
	p->qlen++;
}

static void track_end(struct import_xml *p)
{
	if (p->qlen > 0)
		fail(p, "gx:Track has %zu %s without a %s", p->qlen,
		     p->qkind == 1 ? "<when>" : "<gx:coord>", p->qkind == 1 ? "<gx:coord>" : "<when>");
	p->qlen = p->qhead = 0;
}

static void placemark_end(struct import_xml *p)
{
	int rejected = rec_end(p);
	if (!rejected && p->pm_point_set) {
		if (p->pm_time_set)
			emit_kml(p, p->pm_time, &p->pm_point);
		else
			p->st->skipped_notime++;
	}
	p->pm_point_set = p->pm_time_set = 0;
}

static void count_tuples(struct import_xml *p, const char *s, int len)
{
	for (int i = 0; i < len; i++) {
		int ws = s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n';
		if (!ws && !p->in_token)
			p->st->skipped_notime++;
		p->in_token = !ws;
	}
}

/* ---- expat handlers ---- */

static void start_capture(struct import_xml *p, enum cap c, enum tag t)
{
	p->cap = c;
	p->cap_tag = t;
	p->cap_depth = p->depth;
	p->in_token = 0;
	buf_reset(&p->text);
	buf_add(&p->text, "", 0);   /* text.data is a string even when empty */
}

/* Which text of this element, if any, we need. */
static enum cap capture_for(const struct import_xml *p, enum tag t)
{
	if (p->pt_depth) {
		if (t == T_ELE || t == T_TIME)
			return p->depth == p->pt_depth + 1 ? C_PT_VALUE : C_NONE;
		return t == T_SPEED || t == T_COURSE || t == T_ACC || t == T_BATT ? C_PT_VALUE : C_NONE;
	}
	if (p->n_track) {
		if (t == T_WHEN)
			return C_TRACK_WHEN;
		return t == T_COORD ? C_TRACK_COORD : C_NONE;
	}
	if (t == T_WHEN && p->n_timestamp && p->n_placemark)
		return C_PM_WHEN;
	if (t == T_COORDINATES) {
		if (p->n_line)
			return C_COUNT_TUPLES;
		if (p->n_point && p->n_placemark)
			return C_PM_COORDS;
	}
	return C_NONE;
}

static void on_start(void *ud, const char *name, const char **atts)
{
	struct import_xml *p = ud;
	if (p->st->rc)
		return;
	enum tag t = p->depth < TAG_STACK ? tag_of(name) : T_OTHER;
	if (p->depth < TAG_STACK)
		p->tags[p->depth] = (unsigned char)t;
	p->depth++;
	if (p->depth == 1)
		p->st->shape = strcmp(local_name(name), "kml") == 0 ? "KML" : "GPX";
	if (p->cap != C_NONE)
		return;    /* markup inside a value we read: part of it */
	switch (t) {
	case T_PT:
		if (!p->pt_depth)
			pt_begin(p, name, atts);
		return;
	case T_PLACEMARK: p->n_placemark++; break;
	case T_TRACK:     p->n_track++; break;
	case T_TIMESTAMP: p->n_timestamp++; break;
	case T_POINT:     p->n_point++; break;
	case T_LINE:      p->n_line++; break;
	default:          break;
	}
	enum cap c = capture_for(p, t);
	if (c != C_NONE)
		start_capture(p, c, t);
}

static void captured(struct import_xml *p)
{
	enum cap c = p->cap;
	struct kcoord k;
	int64_t ms;
	p->cap = C_NONE;
	switch (c) {
	case C_PT_VALUE:
		pt_value(p, p->cap_tag, p->text.data);
		break;
	case C_TRACK_WHEN:
		if (read_time(p, p->text.data, 1, &ms) == 0)
			track_item(p, 1, ms, NULL);
		break;
	case C_TRACK_COORD:
		if (read_coord(p, p->text.data, ' ', &k) == 0)
			track_item(p, 2, 0, &k);
		break;
	case C_PM_WHEN:
		if (read_time(p, p->text.data, 0, &p->pm_time) == 0)
			p->pm_time_set = 1;
		break;
	case C_PM_COORDS:
		if (read_coord(p, p->text.data, ',', &p->pm_point) == 0)
			p->pm_point_set = 1;
		break;
	default:
		break;
	}
}

static void on_end(void *ud, const char *name)
{
	struct import_xml *p = ud;
	(void)name;
	if (p->st->rc)
		return;
	p->depth--;
	if (p->cap != C_NONE) {
		if (p->depth != p->cap_depth - 1)
			return;
		captured(p);
		if (p->st->rc)
			return;
	}
	enum tag t = p->depth < TAG_STACK ? (enum tag)p->tags[p->depth] : T_OTHER;
	switch (t) {
	case T_PT:
		if (p->pt_depth == p->depth + 1)
			pt_end(p);
		break;
	case T_PLACEMARK:
		p->n_placemark--;
		placemark_end(p);
		break;
	case T_TRACK:
		p->n_track--;
		track_end(p);
		break;
	case T_TIMESTAMP: p->n_timestamp--; break;
	case T_POINT:     p->n_point--; break;
	case T_LINE:      p->n_line--; break;
	default:          break;
	}
}

static void on_text(void *ud, const char *s, int len)
{
	struct import_xml *p = ud;
	if (p->st->rc || p->cap == C_NONE)
		return;
	if (p->cap == C_COUNT_TUPLES) {
		count_tuples(p, s, len);
		return;
	}
	if (p->text.len + (size_t)len > TEXT_MAX) {
		fail(p, "element text longer than %d bytes", TEXT_MAX);
		return;
	}
	buf_add(&p->text, s, (size_t)len);
}

struct import_xml *import_xml_new(struct import_state *st)
{
	struct import_xml *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->st = st;
	buf_init(&p->text);
	p->xp = XML_ParserCreate(NULL);
	if (!p->xp) {
		buf_free(&p->text);
		free(p);
		return NULL;
	}
	XML_SetUserData(p->xp, p);
	XML_SetElementHandler(p->xp, on_start, on_end);
	XML_SetCharacterDataHandler(p->xp, on_text);
	return p;
}

void import_xml_free(struct import_xml *p)
{
	if (!p)
		return;
	XML_ParserFree(p->xp);
	buf_free(&p->text);
	free(p->whens);
	free(p->coords);
	free(p);
}

static int parse(struct import_xml *p, const char *data, int len, int final)
{
	if (XML_Parse(p->xp, data, len, final) == XML_STATUS_OK)
		return p->st->rc;
	if (p->st->rc)
		return p->st->rc;
	return import_fail(p->st, xline(p), "XML error: %s",
	                   XML_ErrorString(XML_GetErrorCode(p->xp)));
}

int import_xml_feed(struct import_xml *p, const char *data, size_t len)
{
	while (len > 0) {
		int n = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len;
		int rc = parse(p, data, n, 0);
		if (rc)
			return rc;
		data += n;
		len -= (size_t)n;
	}
	return IMPORT_OK;
}

int import_xml_finish(struct import_xml *p)
{
	return parse(p, "", 0, 1);
}
