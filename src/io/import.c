/* Import front end: format detection, the importer object that hands bytes
 * to the right parser (import_xml.c, import_json.c, import_text.c), and the
 * error/count bookkeeping they share. */
#include "io/import.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct importer {
	enum import_format fmt;
	struct import_state st;
	union {
		struct import_xml  *xml;
		struct import_json *json;
		struct import_text  *text;
	} p;
	/* A UTF-8 byte order mark is dropped before yajl and the text parsers
	 * (expat reads it itself); up to 3 leading bytes wait here to tell. */
	unsigned char head[3];
	size_t        nhead;
	int           head_done;
};

static const char *const format_names[] = {
	[IMPORT_XML] = "GPX/KML", [IMPORT_JSON] = "GeoJSON/Takeout",
	[IMPORT_CSV] = "CSV",     [IMPORT_REC] = "OwnTracks .rec",
};

const char *import_format_name(enum import_format f)
{
	if ((unsigned)f >= sizeof format_names / sizeof format_names[0])
		return "?";
	return format_names[f];
}

int import_detect_name(const char *path, enum import_format *out)
{
	static const struct {
		const char *ext;
		enum import_format f;
	} exts[] = {
		{ ".gpx", IMPORT_XML },  { ".kml", IMPORT_XML },      { ".xml", IMPORT_XML },
		{ ".json", IMPORT_JSON }, { ".geojson", IMPORT_JSON }, { ".csv", IMPORT_CSV },
		{ ".rec", IMPORT_REC },
	};
	const char *base = strrchr(path, '/');
	const char *dot = strrchr(base ? base : path, '.');
	if (!dot)
		return -1;
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		if (strcasecmp(dot, exts[i].ext) == 0) {
			*out = exts[i].f;
			return 0;
		}
	}
	return -1;
}

/* "YYYY-MM-DDT...<TAB>": the Recorder's line start. */
static int looks_like_rec(const char *p, const char *end)
{
	static const char shape[] = "dddd-dd-ddT";
	size_t n = sizeof shape - 1;
	if ((size_t)(end - p) < n + 1)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)p[i]) : p[i] != shape[i])
			return 0;
	}
	for (const char *q = p + n; q < end && *q != '\n'; q++)
		if (*q == '\t')
			return 1;
	return 0;
}

/* A header line naming a time, a latitude and a longitude column. */
static int looks_like_csv(const char *p, const char *end)
{
	char line[1024];
	size_t n = 0;
	while (p < end && *p != '\n' && *p != '\r' && n < sizeof line - 1)
		line[n++] = (char)tolower((unsigned char)*p++);
	line[n] = 0;
	return strchr(line, ',') && strstr(line, "lat") && strstr(line, "lon") &&
	       (strstr(line, "time") || strstr(line, "date"));
}

int import_detect_content(const char *head, size_t len, enum import_format *out)
{
	const char *p = head, *end = head + len;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p == end)
		return -1;
	if (*p == '<')
		*out = IMPORT_XML;
	else if (*p == '{' || *p == '[')
		*out = IMPORT_JSON;
	else if (looks_like_rec(p, end))
		*out = IMPORT_REC;
	else if (looks_like_csv(p, end))
		*out = IMPORT_CSV;
	else
		return -1;
	return 0;
}

struct importer *import_new(enum import_format f, import_cb cb, void *ctx)
{
	struct importer *im = calloc(1, sizeof *im);
	if (!im)
		return NULL;
	im->fmt = f;
	im->st.cb = cb;
	im->st.ctx = ctx;
	im->st.shape = f == IMPORT_CSV ? "CSV" : f == IMPORT_REC ? "OwnTracks .rec" : "";
	int ok = 0;
	switch (f) {
	case IMPORT_XML:
		im->p.xml = import_xml_new(&im->st);
		ok = im->p.xml != NULL;
		im->head_done = 1;
		break;
	case IMPORT_JSON:
		im->p.json = import_json_new(&im->st);
		ok = im->p.json != NULL;
		break;
	case IMPORT_CSV:
	case IMPORT_REC:
		im->p.text = import_text_new(&im->st, f == IMPORT_CSV);
		ok = im->p.text != NULL;
		break;
	}
	if (!ok) {
		free(im);
		return NULL;
	}
	return im;
}

void import_free(struct importer *im)
{
	if (!im)
		return;
	switch (im->fmt) {
	case IMPORT_XML:  import_xml_free(im->p.xml); break;
	case IMPORT_JSON: import_json_free(im->p.json); break;
	default:          import_text_free(im->p.text); break;
	}
	free(im);
}

static int feed_parser(struct importer *im, const char *data, size_t len)
{
	if (len == 0)
		return IMPORT_OK;
	switch (im->fmt) {
	case IMPORT_XML:  return import_xml_feed(im->p.xml, data, len);
	case IMPORT_JSON: return import_json_feed(im->p.json, data, len);
	default:          return import_text_feed(im->p.text, data, len);
	}
}

/* Passes on the bytes held back while looking for a BOM. */
static int flush_head(struct importer *im)
{
	static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
	im->head_done = 1;
	if (im->nhead == 3 && memcmp(im->head, bom, 3) == 0)
		return IMPORT_OK;
	return feed_parser(im, (const char *)im->head, im->nhead);
}

int import_feed(struct importer *im, const void *data, size_t len)
{
	static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
	const unsigned char *d = data;
	if (im->st.rc)
		return im->st.rc;
	while (!im->head_done && len > 0) {
		im->head[im->nhead++] = *d++;
		len--;
		if (im->head[im->nhead - 1] != bom[im->nhead - 1] || im->nhead == 3) {
			int rc = flush_head(im);
			if (rc)
				return rc;
		}
	}
	return feed_parser(im, (const char *)d, len);
}

int import_finish(struct importer *im)
{
	if (im->st.rc)
		return im->st.rc;
	if (!im->head_done) {
		int rc = flush_head(im);
		if (rc)
			return rc;
	}
	switch (im->fmt) {
	case IMPORT_XML:  return import_xml_finish(im->p.xml);
	case IMPORT_JSON: return import_json_finish(im->p.json);
	default:          return import_text_finish(im->p.text);
	}
}

const char *import_error(const struct importer *im)
{
	return im->st.rc == IMPORT_ERR ? im->st.err : "";
}

uint64_t import_error_line(const struct importer *im)
{
	return im->st.err_line;
}

uint64_t import_count(const struct importer *im)
{
	return im->st.count;
}

uint64_t import_skipped_notime(const struct importer *im)
{
	return im->st.skipped_notime;
}

uint64_t import_skipped_nonpoint(const struct importer *im)
{
	return im->st.skipped_nonpoint;
}

void import_set_device_tag(struct importer *im, int64_t tag)
{
	im->st.tag_set = 1;
	im->st.tag = tag;
}

uint64_t import_skipped_tag(const struct importer *im)
{
	return im->st.skipped_tag;
}

int import_fix_tag(const struct importer *im, int64_t *tag)
{
	if (!im->st.fix_tag_set)
		return 0;
	*tag = im->st.fix_tag;
	return 1;
}

void import_set_visit_cb(struct importer *im, import_visit_cb cb)
{
	im->st.visit_cb = cb;
}

uint64_t import_visits(const struct importer *im)
{
	return im->st.visits;
}

uint64_t import_rejected(const struct importer *im)
{
	return im->st.rejected;
}

const char *import_reject_reason(const struct importer *im, size_t i, uint64_t *line)
{
	if (i >= IMPORT_REASONS || i >= im->st.rejected)
		return NULL;
	*line = im->st.reasons[i].line;
	return im->st.reasons[i].why;
}

const char *import_shape(const struct importer *im)
{
	return im->st.shape;
}

/* ---- shared by the parsers ---- */

/* One line on the terminal whatever the file held. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

int import_fail(struct import_state *st, uint64_t line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = import_vfail(st, line, fmt, ap);
	va_end(ap);
	return rc;
}

int import_vfail(struct import_state *st, uint64_t line, const char *fmt, va_list ap)
{
	if (st->rc)
		return st->rc;
	st->rc = IMPORT_ERR;
	st->err_line = line;
	vsnprintf(st->err, sizeof st->err, fmt, ap);
	one_line(st->err);
	return IMPORT_ERR;
}

int import_reject(struct import_state *st, uint64_t line, const char *fmt, ...)
{
	if (st->rejected < IMPORT_REASONS) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(st->reasons[st->rejected].why, sizeof st->reasons[0].why, fmt, ap);
		va_end(ap);
		one_line(st->reasons[st->rejected].why);
		st->reasons[st->rejected].line = line;
	}
	st->rejected++;
	return IMPORT_OK;
}

int import_emit(struct import_state *st, uint64_t line, const struct fix *f)
{
	if (st->rc)
		return st->rc;
	const char *why = fix_check(f);
	if (why)
		return import_reject(st, line, "%s", why);
	st->count++;
	if (st->cb && st->cb(st->ctx, f) != 0) {
		st->rc = IMPORT_ABORT;
		return IMPORT_ABORT;
	}
	return IMPORT_OK;
}

int import_emit_visit(struct import_state *st, const struct import_visit *v)
{
	if (st->rc)
		return st->rc;
	/* The fixes' own checks say what is out of range, in the same words. */
	struct fix f;
	fix_init(&f);
	f.lat = v->lat;
	f.lon = v->lon;
	f.time_ms = v->start_ms;
	const char *why = fix_check(&f);
	if (!why) {
		f.time_ms = v->end_ms;
		why = fix_check(&f);
	}
	if (why)
		return import_reject(st, v->line, "visit: %s", why);
	if (v->end_ms < v->start_ms)
		return import_reject(st, v->line, "visit ends before it starts");
	st->visits++;
	if (st->visit_cb && st->visit_cb(st->ctx, v) != 0) {
		st->rc = IMPORT_ABORT;
		return IMPORT_ABORT;
	}
	return IMPORT_OK;
}
