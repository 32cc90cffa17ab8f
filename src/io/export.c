/* Export writers: GeoJSON, GPX 1.1, CSV, KML 2.2. A document is written
 * piece by piece (export_more): each piece reads the next fixes with one
 * short store_fixes walk that starts just after the last fix written
 * (keyset paging by time), so an export of years of fixes never sits in
 * memory whole and no read transaction stays open between pieces. */
#include "io/export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "history/clean.h"

#define FLUSH_AT (64 * 1024)
/* Most fixes one walk reads, whatever the budget: bounds a piece for
 * formats whose text lags behind the fixes read (KML coordinates). */
#define PAGE_MAX 4096
/* KML's gx:Track wants every <when> before every <gx:coord>; to stay
 * streaming, a device's fixes go into gx:Tracks of at most this many. */
#define KML_CHUNK 1000
/* store_fixes' callback returns this to pause a walk at a page's end;
 * distinct from every store_rc. */
#define WALK_PAUSE 0x7e00

#define GPX_NS_MINTRAC "urn:mintrac:gpx:1"

struct ewriter {
	struct buf  b;
	enum export_format fmt;
	const char *device;       /* current device name */
	int         several;      /* more than one device: name each fix */
	int         first;        /* no fix written yet (GeoJSON commas) */
	int         no_attrs;     /* thinned track: features without attributes */
	/* KML chunking: coordinates wait here until the chunk's whens are out. */
	struct buf  coords;
	size_t      chunk_n;
};

struct export {
	struct ewriter w;
	struct store  *s;
	int64_t       *ids;
	char         **names;
	size_t         ndev;
	int64_t        from_ms, to_ms;
	/* times mode (export_new_times): fetch these fixes of ids[0] */
	int64_t       *times;
	size_t         ntimes, ti;
	int            by_times;
	/* progress */
	size_t         dev;         /* device being written */
	int            dev_open;    /* its device_begin is out */
	int64_t        next_ms;     /* where its next walk starts */
	size_t         page_n;      /* fixes read by the current walk */
	int64_t        last_ms;     /* time of the last fix written */
	size_t         budget;
	int            begun, done;
	int            err;         /* STORE_ERR or the sink's value once failed */
	/* export_set_clean: fixes pass the cleaner, which releases each one
	 * fix late; the last few are kept whole until it does. */
	int            cleaning;
	struct hist_config clean_cfg;
	struct clean   clean;
	struct fix     held[3];
	unsigned       nheld;       /* fixes fed; held[k % 3] is the k-th */
};


static const struct {
	const char *name, *ctype, *ext;
} formats[] = {
	[EXPORT_GEOJSON] = { "geojson", "application/geo+json", "geojson" },
	[EXPORT_GPX]     = { "gpx", "application/gpx+xml", "gpx" },
	[EXPORT_CSV]     = { "csv", "text/csv; charset=utf-8", "csv" },
	[EXPORT_KML]     = { "kml", "application/vnd.google-earth.kml+xml", "kml" },
};

int export_format_parse(const char *name, enum export_format *out)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		if (strcmp(name, formats[i].name) == 0) {
			*out = (enum export_format)i;
			return 0;
		}
	}
	return -1;
}

const char *export_content_type(enum export_format f)
{
	if ((unsigned)f >= sizeof formats / sizeof formats[0])
		return "application/octet-stream";
	return formats[f].ctype;
}

const char *export_extension(enum export_format f)
{
	if ((unsigned)f >= sizeof formats / sizeof formats[0])
		return "bin";
	return formats[f].ext;
}

/* ---- output plumbing ---- */

/* RFC 4180 text field: quoted when it holds a separator, quote or line
 * break. A spreadsheet runs a cell that starts with = + - @ (or a tab or
 * CR before one) as a formula, so such a text gets a leading ' (OWASP's
 * "CSV injection" advice): a device named "=HYPERLINK(...)" stays text.
 * Only text goes through here; the numbers we format ourselves are plain
 * numbers to any spreadsheet. */
static void add_csv_field(struct buf *b, const char *s, int force_quote)
{
	int formula = s[0] && strchr("=+-@\t\r", s[0]) != NULL;
	if (!force_quote && !formula && !strpbrk(s, ",\"\r\n")) {
		buf_adds(b, s);
		return;
	}
	buf_addc(b, '"');
	if (formula)
		buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '"')
			buf_addc(b, '"');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

/* Stored attrs are a compact JSON object written by our own decoders (via
 * buf_add_json_str, so valid UTF-8) and go out verbatim; anything that is
 * not even shaped like an object must not break the whole document. */
static const char *attrs_or_empty(const struct fix *f)
{
	size_t n = f->attrs ? strlen(f->attrs) : 0;
	if (n < 2 || f->attrs[0] != '{' || f->attrs[n - 1] != '}')
		return "{}";
	return f->attrs;
}

/* ---- GeoJSON ---- */

static void json_prop(struct buf *b, const char *name, double v)
{
	buf_addc(b, ',');
	buf_add_json_str(b, name);
	buf_addc(b, ':');
	buf_add_double(b, v);
}

static void feature(struct buf *b, const struct fix *f, const char *device, int attrs)
{
	buf_adds(b, "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[");
	buf_add_double(b, f->lon);
	buf_addc(b, ',');
	buf_add_double(b, f->lat);
	if (f->has & FIX_ALT) {
		buf_addc(b, ',');
		buf_add_double(b, f->alt);
	}
	buf_adds(b, "]},\"properties\":{\"time\":\"");
	buf_add_iso_ms(b, f->time_ms);
	buf_addc(b, '"');
	if (f->has & FIX_SPEED)
		json_prop(b, "speed", f->speed);
	if (f->has & FIX_COURSE)
		json_prop(b, "course", f->course);
	if (f->has & FIX_ALT)
		json_prop(b, "altitude", f->alt);
	if (f->has & FIX_ACC)
		json_prop(b, "accuracy", f->acc);
	if (f->has & FIX_BATT)
		json_prop(b, "battery", f->batt);
	if (attrs) {
		buf_adds(b, ",\"attributes\":");
		buf_adds(b, attrs_or_empty(f));
	}
	if (device) {
		buf_adds(b, ",\"device\":");
		buf_add_json_str(b, device);
	}
	buf_adds(b, "}}");
}

void export_geojson_feature(struct buf *b, const struct fix *f, const char *device)
{
	feature(b, f, device, 1);
}

static void geojson_fix(struct ewriter *w, const struct fix *f)
{
	if (!w->first)
		buf_addc(&w->b, ',');
	w->first = 0;
	buf_addc(&w->b, '\n');
	feature(&w->b, f, w->several ? w->device : NULL, !w->no_attrs);
}

/* ---- GPX ---- */

static void gpx_ext(struct buf *b, const char *name, double v)
{
	buf_printf(b, "<mintrac:%s>", name);
	buf_add_double(b, v);
	buf_printf(b, "</mintrac:%s>", name);
}

static void gpx_fix(struct ewriter *w, const struct fix *f)
{
	struct buf *b = &w->b;
	buf_adds(b, "<trkpt lat=\"");
	buf_add_double(b, f->lat);
	buf_adds(b, "\" lon=\"");
	buf_add_double(b, f->lon);
	buf_adds(b, "\">");
	if (f->has & FIX_ALT) {
		buf_adds(b, "<ele>");
		buf_add_double(b, f->alt);
		buf_adds(b, "</ele>");
	}
	buf_adds(b, "<time>");
	buf_add_iso_ms(b, f->time_ms);
	buf_adds(b, "</time>");
	if (f->has & (FIX_SPEED | FIX_COURSE | FIX_ACC | FIX_BATT)) {
		buf_adds(b, "<extensions>");
		if (f->has & FIX_SPEED)
			gpx_ext(b, "speed", f->speed);
		if (f->has & FIX_COURSE)
			gpx_ext(b, "course", f->course);
		if (f->has & FIX_ACC)
			gpx_ext(b, "accuracy", f->acc);
		if (f->has & FIX_BATT)
			gpx_ext(b, "battery", f->batt);
		buf_adds(b, "</extensions>");
	}
	buf_adds(b, "</trkpt>\n");
}

/* ---- CSV ---- */

static void csv_num(struct buf *b, unsigned has, unsigned bit, double v)
{
	buf_addc(b, ',');
	if (has & bit)
		buf_add_double(b, v);
}

static void csv_fix(struct ewriter *w, const struct fix *f)
{
	struct buf *b = &w->b;
	if (w->several) {
		add_csv_field(b, w->device, 0);
		buf_addc(b, ',');
	}
	buf_add_iso_ms(b, f->time_ms);
	buf_addc(b, ',');
	buf_add_double(b, f->lat);
	buf_addc(b, ',');
	buf_add_double(b, f->lon);
	csv_num(b, f->has, FIX_ALT, f->alt);
	csv_num(b, f->has, FIX_SPEED, f->speed);
	csv_num(b, f->has, FIX_COURSE, f->course);
	csv_num(b, f->has, FIX_ACC, f->acc);
	csv_num(b, f->has, FIX_BATT, f->batt);
	buf_addc(b, ',');
	add_csv_field(b, attrs_or_empty(f), 1);
	buf_adds(b, "\r\n");
}

/* ---- KML ---- */

static void kml_chunk_end(struct ewriter *w)
{
	if (!w->chunk_n)
		return;
	buf_add(&w->b, w->coords.data, w->coords.len);
	buf_reset(&w->coords);
	buf_adds(&w->b, "</gx:Track>\n");
	w->chunk_n = 0;
}

static void kml_fix(struct ewriter *w, const struct fix *f)
{
	if (w->chunk_n == 0)
		buf_adds(&w->b, "<gx:Track>\n");
	buf_adds(&w->b, "<when>");
	buf_add_iso_ms(&w->b, f->time_ms);
	buf_adds(&w->b, "</when>\n");
	struct buf *c = &w->coords;
	buf_adds(c, "<gx:coord>");
	buf_add_double(c, f->lon);
	buf_addc(c, ' ');
	buf_add_double(c, f->lat);
	if (f->has & FIX_ALT) {
		buf_addc(c, ' ');
		buf_add_double(c, f->alt);
	}
	buf_adds(c, "</gx:coord>\n");
	if (++w->chunk_n == KML_CHUNK)
		kml_chunk_end(w);
}

/* ---- document structure ---- */

static void doc_begin(struct ewriter *w)
{
	struct buf *b = &w->b;
	switch (w->fmt) {
	case EXPORT_GEOJSON:
		buf_adds(b, "{\"type\":\"FeatureCollection\",\"features\":[");
		break;
	case EXPORT_GPX:
		buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		            "<gpx version=\"1.1\" creator=\"mintrac\" "
		            "xmlns=\"http://www.topografix.com/GPX/1/1\" "
		            "xmlns:mintrac=\"" GPX_NS_MINTRAC "\">\n");
		break;
	case EXPORT_CSV:
		if (w->several)
			buf_adds(b, "device,");
		buf_adds(b, "time,lat,lon,altitude,speed,course,accuracy,battery,attributes\r\n");
		break;
	case EXPORT_KML:
		buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		            "<kml xmlns=\"http://www.opengis.net/kml/2.2\" "
		            "xmlns:gx=\"http://www.google.com/kml/ext/2.2\">\n"
		            "<Document>\n<name>mintrac</name>\n");
		break;
	}
}

static void doc_end(struct ewriter *w)
{
	switch (w->fmt) {
	case EXPORT_GEOJSON:
		buf_adds(&w->b, w->first ? "]}\n" : "\n]}\n");
		break;
	case EXPORT_GPX:
		buf_adds(&w->b, "</gpx>\n");
		break;
	case EXPORT_CSV:
		break;
	case EXPORT_KML:
		buf_adds(&w->b, "</Document>\n</kml>\n");
		break;
	}
}

static void device_begin(struct ewriter *w)
{
	struct buf *b = &w->b;
	switch (w->fmt) {
	case EXPORT_GPX:
		buf_adds(b, "<trk><name>");
		buf_add_xml(b, w->device);
		buf_adds(b, "</name><trkseg>\n");
		break;
	case EXPORT_KML:
		buf_adds(b, "<Placemark>\n<name>");
		buf_add_xml(b, w->device);
		/* interpolate joins the chunks into one line on the map. */
		buf_adds(b, "</name>\n<gx:MultiTrack>\n<gx:interpolate>1</gx:interpolate>\n");
		break;
	default:
		break;
	}
}

static void device_end(struct ewriter *w)
{
	switch (w->fmt) {
	case EXPORT_GPX:
		buf_adds(&w->b, "</trkseg></trk>\n");
		break;
	case EXPORT_KML:
		kml_chunk_end(w);
		buf_adds(&w->b, "</gx:MultiTrack>\n</Placemark>\n");
		break;
	default:
		break;
	}
}

static void write_fix(struct ewriter *w, const struct fix *f)
{
	switch (w->fmt) {
	case EXPORT_GEOJSON: geojson_fix(w, f); break;
	case EXPORT_GPX:     gpx_fix(w, f); break;
	case EXPORT_CSV:     csv_fix(w, f); break;
	case EXPORT_KML:     kml_fix(w, f); break;
	}
}

/* ---- the document, piece by piece ---- */

static struct export *export_alloc(struct store *s, enum export_format f, size_t ndev)
{
	if ((unsigned)f >= sizeof formats / sizeof formats[0])
		return NULL;
	struct export *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	buf_init(&e->w.b);
	buf_init(&e->w.coords);
	e->w.fmt = f;
	e->w.several = ndev > 1;
	e->w.first = 1;
	e->s = s;
	e->ndev = ndev;
	if (ndev && (!(e->ids = calloc(ndev, sizeof *e->ids)) ||
	             !(e->names = calloc(ndev, sizeof *e->names)))) {
		export_free(e);
		return NULL;
	}
	return e;
}

struct export *export_new(struct store *s, const int64_t *device_ids, const char *const *names,
                          size_t ndevices, int64_t from_ms, int64_t to_ms, enum export_format f)
{
	struct export *e = export_alloc(s, f, ndevices);
	if (!e)
		return NULL;
	for (size_t i = 0; i < ndevices; i++) {
		e->ids[i] = device_ids[i];
		if (!(e->names[i] = strdup(names[i] ? names[i] : ""))) {
			export_free(e);
			return NULL;
		}
	}
	e->from_ms = from_ms;
	e->to_ms = to_ms;
	return e;
}

struct export *export_new_times(struct store *s, int64_t device_id, const int64_t *times,
                                size_t n)
{
	struct export *e = export_alloc(s, EXPORT_GEOJSON, 1);
	if (!e)
		return NULL;
	e->ids[0] = device_id;
	e->by_times = 1;
	e->w.no_attrs = 1;
	if (!(e->names[0] = strdup("")) ||
	    (n && !(e->times = malloc(n * sizeof *e->times)))) {
		export_free(e);
		return NULL;
	}
	if (n)
		memcpy(e->times, times, n * sizeof *e->times);
	e->ntimes = n;
	return e;
}

void export_free(struct export *e)
{
	if (!e)
		return;
	for (size_t i = 0; e->names && i < e->ndev; i++)
		free(e->names[i]);
	free(e->names);
	free(e->ids);
	free(e->times);
	for (int i = 0; i < 3; i++)
		fix_free(&e->held[i]);
	buf_free(&e->w.coords);
	buf_free(&e->w.b);
	free(e);
}

/* The cleaner released the fix at time t, one of the last three fed:
 * write the held copy. */
static void write_released(struct export *e, int64_t t)
{
	for (unsigned k = e->nheld > 3 ? e->nheld - 3 : 0; k < e->nheld; k++)
		if (e->held[k % 3].time_ms == t) {
			write_fix(&e->w, &e->held[k % 3]);
			return;
		}
}

static void hold(struct export *e, const struct fix *f)
{
	struct fix *slot = &e->held[e->nheld++ % 3];
	fix_free(slot);
	*slot = *f;
	slot->attrs = f->attrs ? xstrdup(f->attrs) : NULL;
}

/* One fix through the cleaner (design.md "History": cleaning). */
static void clean_fix(struct export *e, const struct fix *f)
{
	struct hist_fix hf = { f->time_ms, f->lat, f->lon, (f->has & FIX_ACC) ? f->acc : -1 };
	struct hist_fix out;
	hold(e, f);
	if (clean_push(&e->clean, &hf, &out))
		write_released(e, out.t_ms);
}

static void clean_end(struct export *e)
{
	struct hist_fix out;
	if (e->cleaning && clean_flush(&e->clean, &out))
		write_released(e, out.t_ms);
	if (e->cleaning)
		clean_init(&e->clean, &e->clean_cfg);
	e->nheld = 0;      /* the next device's times are its own */
}

void export_set_clean(struct export *e, const struct hist_config *cfg)
{
	e->cleaning = 1;
	e->clean_cfg = *cfg;
	clean_init(&e->clean, cfg);
}

static int on_fix(void *ctx, const struct fix *f)
{
	struct export *e = ctx;
	if (e->cleaning)
		clean_fix(e, f);
	else
		write_fix(&e->w, f);
	e->last_ms = f->time_ms;
	e->page_n++;
	return e->w.b.len >= e->budget || e->page_n >= PAGE_MAX ? WALK_PAUSE : 0;
}

/* The next walk over the current device: STORE_OK or STORE_ERR. */
static int range_step(struct export *e)
{
	struct ewriter *w = &e->w;
	if (e->dev == e->ndev) {
		doc_end(w);
		e->done = 1;
		return STORE_OK;
	}
	if (!e->dev_open) {
		w->device = e->names[e->dev];
		device_begin(w);
		e->dev_open = 1;
		e->next_ms = e->from_ms;
	}
	e->page_n = 0;
	int rc = store_fixes(e->s, e->ids[e->dev], e->next_ms, e->to_ms, on_fix, e);
	if (rc == WALK_PAUSE && e->last_ms < e->to_ms) {
		e->next_ms = e->last_ms + 1;
		return STORE_OK;
	}
	/* STORE_NOTFOUND (a device gone meanwhile) reads as no more fixes. */
	if (rc != WALK_PAUSE && rc != STORE_OK && rc != STORE_NOTFOUND)
		return STORE_ERR;
	clean_end(e);
	device_end(w);
	e->dev_open = 0;
	e->dev++;
	return STORE_OK;
}

/* The next kept fixes of a thinned track: STORE_OK or STORE_ERR. */
static int times_step(struct export *e)
{
	struct ewriter *w = &e->w;
	while (e->ti < e->ntimes && w->b.len < e->budget) {
		struct fix f;
		int64_t t = e->times[e->ti];
		int rc = store_fix_first_in(e->s, e->ids[0], t, t, &f);
		if (rc == STORE_NOTFOUND) {   /* deleted since the track was thinned */
			e->ti++;
			continue;
		}
		if (rc != STORE_OK)
			return STORE_ERR;
		if (e->cleaning)
			clean_fix(e, &f);
		else
			write_fix(w, &f);
		fix_free(&f);
		e->ti++;
	}
	if (e->ti == e->ntimes) {
		clean_end(e);
		doc_end(w);
		e->done = 1;
	}
	return STORE_OK;
}

int export_more(struct export *e, export_sink sink, void *ctx, size_t budget)
{
	if (e->err)
		return -1;
	if (e->done)
		return 1;
	struct ewriter *w = &e->w;
	e->budget = budget ? budget : 1;
	if (!e->begun) {
		doc_begin(w);
		e->begun = 1;
	}
	while (!e->done && w->b.len < e->budget) {
		int rc = e->by_times ? times_step(e) : range_step(e);
		if (rc != STORE_OK) {
			e->err = STORE_ERR;
			return -1;
		}
	}
	if (w->b.len) {
		int rc = sink(ctx, w->b.data, w->b.len);
		buf_reset(&w->b);
		if (rc) {
			e->err = rc;
			return -1;
		}
	}
	return e->done ? 1 : 0;
}

int export_write(struct store *s, const int64_t *device_ids, const char *const *names,
                 size_t ndevices, int64_t from_ms, int64_t to_ms, enum export_format f,
                 export_sink sink, void *ctx)
{
	struct export *e = export_new(s, device_ids, names, ndevices, from_ms, to_ms, f);
	if (!e)
		return STORE_ERR;
	int rc;
	while ((rc = export_more(e, sink, ctx, FLUSH_AT)) == 0)
		;
	rc = rc < 0 ? e->err : 0;
	export_free(e);
	return rc;
}
