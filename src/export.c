/* Export writers: GeoJSON, GPX 1.1, CSV, KML 2.2. The document is produced
 * while walking store_fixes and handed to the sink in pieces of ~64 KiB, so
 * an export of years of fixes never sits in memory whole. */
#include "export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define FLUSH_AT (64 * 1024)
/* KML's gx:Track wants every <when> before every <gx:coord>; to stay
 * streaming, a device's fixes go into gx:Tracks of at most this many. */
#define KML_CHUNK 1000

#define GPX_NS_MINTRAC "urn:mintrac:gpx:1"

struct ewriter {
	struct buf  b;
	export_sink sink;
	void       *ctx;
	int         sink_rc;      /* first non-zero return of the sink */
	enum export_format fmt;
	const char *device;       /* current device name */
	int         several;      /* more than one device: name each fix */
	int         first;        /* no fix written yet (GeoJSON commas) */
	/* KML chunking: coordinates wait here until the chunk's whens are out. */
	struct buf  coords;
	size_t      chunk_n;
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

static int ew_flush(struct ewriter *w)
{
	if (w->sink_rc)
		return w->sink_rc;
	if (w->b.len) {
		int rc = w->sink(w->ctx, w->b.data, w->b.len);
		buf_reset(&w->b);
		if (rc) {
			w->sink_rc = rc;
			return rc;
		}
	}
	return 0;
}

static int ew_maybe_flush(struct ewriter *w)
{
	return w->b.len >= FLUSH_AT ? ew_flush(w) : 0;
}

/* RFC 4180 field: quoted when it holds a separator, quote or line break. */
static void add_csv_field(struct buf *b, const char *s, int force_quote)
{
	if (!force_quote && !strpbrk(s, ",\"\r\n")) {
		buf_adds(b, s);
		return;
	}
	buf_addc(b, '"');
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

void export_geojson_feature(struct buf *b, const struct fix *f, const char *device)
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
	buf_adds(b, ",\"attributes\":");
	buf_adds(b, attrs_or_empty(f));
	if (device) {
		buf_adds(b, ",\"device\":");
		buf_add_json_str(b, device);
	}
	buf_adds(b, "}}");
}

static void geojson_fix(struct ewriter *w, const struct fix *f)
{
	if (!w->first)
		buf_addc(&w->b, ',');
	w->first = 0;
	buf_addc(&w->b, '\n');
	export_geojson_feature(&w->b, f, w->several ? w->device : NULL);
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

static int on_fix(void *ctx, const struct fix *f)
{
	struct ewriter *w = ctx;
	switch (w->fmt) {
	case EXPORT_GEOJSON: geojson_fix(w, f); break;
	case EXPORT_GPX:     gpx_fix(w, f); break;
	case EXPORT_CSV:     csv_fix(w, f); break;
	case EXPORT_KML:     kml_fix(w, f); break;
	}
	return ew_maybe_flush(w);
}

int export_write(struct store *s, const int64_t *device_ids, const char *const *names,
                 size_t ndevices, int64_t from_ms, int64_t to_ms, enum export_format f,
                 export_sink sink, void *ctx)
{
	if ((unsigned)f >= sizeof formats / sizeof formats[0])
		return STORE_ERR;
	struct ewriter w;
	memset(&w, 0, sizeof w);
	buf_init(&w.b);
	buf_init(&w.coords);
	w.sink = sink;
	w.ctx = ctx;
	w.fmt = f;
	w.several = ndevices > 1;
	w.first = 1;

	int rc = 0;
	doc_begin(&w);
	for (size_t i = 0; i < ndevices && rc == 0; i++) {
		w.device = names[i] ? names[i] : "";
		device_begin(&w);
		int src = store_fixes(s, device_ids[i], from_ms, to_ms, on_fix, &w);
		if (w.sink_rc)
			rc = w.sink_rc;
		else if (src < 0)
			rc = STORE_ERR;
		/* STORE_NOTFOUND (a device gone meanwhile) reads as no fixes. */
		if (rc == 0) {
			device_end(&w);
			rc = ew_maybe_flush(&w);
		}
	}
	if (rc == 0) {
		doc_end(&w);
		rc = ew_flush(&w);
	}
	buf_free(&w.coords);
	buf_free(&w.b);
	return rc;
}
