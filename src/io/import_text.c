/* Line-based imports: CSV (RFC 4180, with a header row; the columns export
 * writes, and the usual other names for them) and OwnTracks Recorder .rec
 * (ISO-time TAB type TAB JSON; the JSON goes through the same decoder as
 * OwnTracks HTTP posts, so a fix reads the same either way).
 * Both read bytes as they come and keep only the current record. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "io/import.h"
#include "proto/proto.h"
#include "proto/proto_attrs.h"

#define RECORD_MAX (1024 * 1024)

enum col {
	COL_EXTRA, COL_SKIP, COL_TIME, COL_LAT, COL_LON, COL_ALT, COL_SPEED, COL_COURSE,
	COL_ACC, COL_BATT, COL_ATTRS, COL__N,
};

enum csv_state { S_START, S_UNQ, S_Q, S_QQ };

struct import_text {
	struct import_state *st;
	int        csv;
	uint64_t   line;          /* physical line being read, 1-based */
	uint64_t   rec_line;      /* line the current record started on */
	int        in_record;
	struct buf rec;           /* CSV: fields, each NUL-terminated; .rec: the line */
	size_t    *offs;
	size_t     nf, capf;
	enum csv_state cs;
	/* header */
	int        have_header;
	size_t     ncols;
	enum col  *cols;
	char     **names;
	struct buf members;
};

static int tfail(struct import_text *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int tfail(struct import_text *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = import_vfail(p->st, p->rec_line, fmt, ap);
	va_end(ap);
	return rc;
}

/* A row with a value that cannot be read: counted and passed over. */
#define REJECTED 1

static int treject(struct import_text *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int treject(struct import_text *p, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	import_reject(p->st, p->rec_line, "%s", why);
	return REJECTED;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* ---- CSV rows ---- */

static enum col col_of(const char *name)
{
	static const struct {
		const char *name;
		enum col    col;
	} names[] = {
		{ "time", COL_TIME },       { "timestamp", COL_TIME },  { "datetime", COL_TIME },
		{ "date", COL_TIME },       { "time_utc", COL_TIME },   { "lat", COL_LAT },
		{ "latitude", COL_LAT },    { "lon", COL_LON },         { "lng", COL_LON },
		{ "long", COL_LON },        { "longitude", COL_LON },   { "altitude", COL_ALT },
		{ "alt", COL_ALT },         { "ele", COL_ALT },         { "elevation", COL_ALT },
		{ "speed", COL_SPEED },     { "course", COL_COURSE },   { "bearing", COL_COURSE },
		{ "heading", COL_COURSE },  { "accuracy", COL_ACC },    { "acc", COL_ACC },
		{ "battery", COL_BATT },    { "batt", COL_BATT },       { "attributes", COL_ATTRS },
		{ "device", COL_SKIP },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].col;
	return COL_EXTRA;
}

static int read_header(struct import_text *p)
{
	int seen[COL__N] = { 0 };
	p->ncols = p->nf;
	p->cols = xcalloc(p->ncols, sizeof *p->cols);
	p->names = xcalloc(p->ncols, sizeof *p->names);
	for (size_t i = 0; i < p->nf; i++) {
		char *name = trim(p->rec.data + p->offs[i]);
		enum col c = col_of(name);
		if (c > COL_SKIP && seen[c]++)
			c = COL_EXTRA;          /* a second "lat": keep it as an attribute */
		p->cols[i] = c;
		p->names[i] = xstrdup(name);
	}
	if (!seen[COL_TIME] || !seen[COL_LAT] || !seen[COL_LON])
		return tfail(p, "the CSV header must name time, lat and lon columns");
	p->have_header = 1;
	return IMPORT_OK;
}

static int csv_number(struct import_text *p, size_t i, char *v, double *out)
{
	if (parse_double(v, out) < 0)
		return treject(p, "%s is not a number: '%.40s'", p->names[i], v);
	return IMPORT_OK;
}

/* Unknown column: a number when it reads as a JSON number, true/false,
 * else a string, as the receiver keeps unknown fields. */
static void extra_member(struct import_text *p, size_t i, const char *v)
{
	int integral;
	if (p->members.len)
		buf_addc(&p->members, ',');
	buf_add_json_str(&p->members, p->names[i]);
	buf_addc(&p->members, ':');
	if (!strcmp(v, "true") || !strcmp(v, "false") ||
	    (pattr_is_json_number(v, &integral) && isfinite(strtod(v, NULL))))
		buf_adds(&p->members, v);
	else
		buf_add_json_str(&p->members, v);
}

/* IMPORT_OK or REJECTED; *req collects which of time, lat, lon were given. */
static int csv_value(struct import_text *p, size_t i, char *v, struct fix *f, unsigned *req)
{
	static const unsigned bits[COL__N] = {
		[COL_ALT] = FIX_ALT, [COL_SPEED] = FIX_SPEED, [COL_COURSE] = FIX_COURSE,
		[COL_ACC] = FIX_ACC, [COL_BATT] = FIX_BATT,
	};
	enum col c = p->cols[i];
	double x;
	if (c == COL_SKIP || c == COL_ATTRS)
		return IMPORT_OK;
	if (c == COL_EXTRA) {
		if (*v)
			extra_member(p, i, v);
		return IMPORT_OK;
	}
	if (!*v)
		return IMPORT_OK;
	if (c == COL_TIME) {
		if (parse_time(v, &f->time_ms) < 0)
			return treject(p, "unreadable time '%.40s'", v);
		*req |= 1;
		return IMPORT_OK;
	}
	if (csv_number(p, i, v, &x))
		return REJECTED;
	switch (c) {
	case COL_LAT:    f->lat = x; *req |= 2; return IMPORT_OK;
	case COL_LON:    f->lon = x; *req |= 4; return IMPORT_OK;
	case COL_ALT:    f->alt = x; break;
	case COL_SPEED:  f->speed = x; break;
	case COL_COURSE: f->course = x; break;
	case COL_ACC:    f->acc = x; break;
	default:         f->batt = x; break;
	}
	f->has |= bits[c];
	return IMPORT_OK;
}

static int csv_row(struct import_text *p)
{
	if (p->nf == 1 && p->rec.data[p->offs[0]] == 0)
		return IMPORT_OK;              /* blank line */
	if (!p->have_header)
		return read_header(p);
	if (p->nf != p->ncols)
		return tfail(p, "%zu fields, the header has %zu", p->nf, p->ncols);
	struct fix f;
	unsigned req = 0;
	fix_init(&f);
	buf_reset(&p->members);
	/* The attributes object first, so its members keep their order. */
	for (size_t i = 0; i < p->nf; i++) {
		char *v = trim(p->rec.data + p->offs[i]);
		char why[200];
		if (p->cols[i] == COL_ATTRS && *v && strcmp(v, "{}") != 0 &&
		    import_json_members(v, strlen(v), &p->members, why, sizeof why) < 0) {
			treject(p, "%s", why);
			return IMPORT_OK;
		}
	}
	for (size_t i = 0; i < p->nf; i++)
		if (csv_value(p, i, trim(p->rec.data + p->offs[i]), &f, &req))
			return IMPORT_OK;
	/* An empty time or position: skipped like a GPX point without them. */
	if ((req & 6) != 6) {
		p->st->skipped_nonpoint++;
		return IMPORT_OK;
	}
	if (!(req & 1)) {
		p->st->skipped_notime++;
		return IMPORT_OK;
	}
	struct buf text;
	buf_init(&text);
	if (p->members.len) {
		buf_addc(&text, '{');
		buf_add(&text, p->members.data, p->members.len);
		buf_addc(&text, '}');
		f.attrs = text.data;
	}
	int rc = import_emit(p->st, p->rec_line, &f);
	f.attrs = NULL;
	buf_free(&text);
	return rc;
}

/* ---- .rec lines ---- */

static int rec_line(struct import_text *p)
{
	char *line = p->rec.data ? p->rec.data : (char *)"";
	size_t n = p->rec.len;
	while (n > 0 && line[n - 1] == '\r')
		line[--n] = 0;
	if (strspn(line, " \t") == n)
		return IMPORT_OK;
	char *tab1 = strchr(line, '\t');
	char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
	if (!tab2)
		return tfail(p, "not a .rec line (TIME<TAB>TYPE<TAB>JSON)");
	*tab1 = 0;
	int64_t t;
	if (parse_time(trim(line), &t) < 0) {
		treject(p, "unreadable time '%.40s'", line);
		return IMPORT_OK;
	}
	char *json = tab2 + 1;
	struct http_request r;
	struct decode d;
	memset(&r, 0, sizeof r);
	r.body = json;
	r.body_len = strlen(json);
	decode_init(&d);
	d.now_ms = t;              /* a location without tst takes the line's time */
	int rc = IMPORT_OK;
	/* A payload that does not parse is a broken file; one that parses
	 * with a bad value is a rejected line. */
	if (proto_owntracks.decode(&r, &d) < 0 && d.early_error)
		rc = tfail(p, "%s", d.error);
	else if (d.status)
		treject(p, "%s", d.error);
	for (size_t i = 0; i < d.nfixes && rc == IMPORT_OK; i++)
		rc = import_emit(p->st, p->rec_line, &d.fixes[i]);
	decode_free(&d);
	return rc;
}

/* ---- record assembly ---- */

static void field_start(struct import_text *p)
{
	array_grow(&p->offs, &p->capf, p->nf + 1, sizeof *p->offs);
	p->offs[p->nf++] = p->rec.len;
}

static void field_end(struct import_text *p)
{
	buf_addc(&p->rec, 0);
}

static int record_end(struct import_text *p)
{
	int rc;
	if (p->csv) {
		field_end(p);
		rc = csv_row(p);
	} else {
		rc = rec_line(p);
	}
	buf_reset(&p->rec);
	p->nf = 0;
	p->in_record = 0;
	p->cs = S_START;
	if (p->csv)
		field_start(p);
	return rc;
}

static int too_long(struct import_text *p)
{
	return tfail(p, "record longer than %d bytes", RECORD_MAX);
}

static int rec_feed(struct import_text *p, const char *d, size_t len)
{
	while (len > 0) {
		if (!p->in_record) {
			p->in_record = 1;
			p->rec_line = p->line;
		}
		const char *nl = memchr(d, '\n', len);
		size_t n = nl ? (size_t)(nl - d) : len;
		buf_add(&p->rec, d, n);
		if (p->rec.len > RECORD_MAX)
			return too_long(p);
		d += n;
		len -= n;
		if (nl) {
			d++;
			len--;
			int rc = record_end(p);
			p->line++;
			if (rc)
				return rc;
		}
	}
	return IMPORT_OK;
}

/* Length of the run of bytes at d that need no state change. */
static size_t plain_run(const char *d, size_t len, int quoted)
{
	size_t i = 0;
	if (quoted) {
		while (i < len && d[i] != '"' && d[i] != '\n')
			i++;
	} else {
		while (i < len && d[i] != ',' && d[i] != '\n' && d[i] != '\r' && d[i] != '"')
			i++;
	}
	return i;
}

static int csv_feed(struct import_text *p, const char *d, size_t len)
{
	while (len > 0) {
		if (!p->in_record) {
			p->in_record = 1;
			p->rec_line = p->line;
		}
		if (p->cs == S_UNQ || p->cs == S_Q) {
			size_t n = plain_run(d, len, p->cs == S_Q);
			buf_add(&p->rec, d, n);
			if (p->rec.len > RECORD_MAX)
				return too_long(p);
			d += n;
			len -= n;
			if (!len)
				break;
		}
		char c = *d++;
		len--;
		switch (p->cs) {
		case S_START:
		case S_UNQ:
			if (c == '"' && p->cs == S_START) {
				p->cs = S_Q;
			} else if (c == ',') {
				field_end(p);
				field_start(p);
				p->cs = S_START;
			} else if (c == '\n') {
				int rc = record_end(p);
				p->line++;
				if (rc)
					return rc;
			} else if (c != '\r') {
				buf_addc(&p->rec, c);
				p->cs = S_UNQ;
			}
			break;
		case S_Q:
			if (c == '"') {
				p->cs = S_QQ;
			} else {
				buf_addc(&p->rec, c);
				p->line += c == '\n';
			}
			break;
		case S_QQ:
			if (c == '"') {
				buf_addc(&p->rec, '"');
				p->cs = S_Q;
			} else if (c == ',') {
				field_end(p);
				field_start(p);
				p->cs = S_START;
			} else if (c == '\n') {
				int rc = record_end(p);
				p->line++;
				if (rc)
					return rc;
			} else if (c != '\r') {
				return tfail(p, "unexpected '%c' after a closing quote", c);
			}
			break;
		}
	}
	return IMPORT_OK;
}

struct import_text *import_text_new(struct import_state *st, int csv)
{
	struct import_text *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->st = st;
	p->csv = csv;
	p->line = 1;
	buf_init(&p->rec);
	buf_init(&p->members);
	if (csv)
		field_start(p);
	return p;
}

void import_text_free(struct import_text *p)
{
	if (!p)
		return;
	buf_free(&p->rec);
	buf_free(&p->members);
	free(p->offs);
	for (size_t i = 0; i < p->ncols; i++)
		free(p->names[i]);
	free(p->names);
	free(p->cols);
	free(p);
}

int import_text_feed(struct import_text *p, const char *data, size_t len)
{
	if (p->st->rc)
		return p->st->rc;
	return p->csv ? csv_feed(p, data, len) : rec_feed(p, data, len);
}

int import_text_finish(struct import_text *p)
{
	if (p->st->rc)
		return p->st->rc;
	if (p->csv && p->cs == S_Q)
		return tfail(p, "a quoted field is not closed");
	if (p->in_record)
		return record_end(p);
	if (p->csv && !p->have_header)
		return import_fail(p->st, p->line, "no CSV header (time,lat,lon,...)");
	return IMPORT_OK;
}
