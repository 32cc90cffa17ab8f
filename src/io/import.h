/* Reading track files back into fixes: GPX, KML, GeoJSON (also Overland
 * batches), Google Takeout Records.json, CSV (as `export` writes it) and
 * OwnTracks Recorder .rec. Pure: bytes in (in chunks of any size, even one
 * byte at a time), fixes out through a callback; no I/O, no database. Every
 * parser streams (expat, yajl, a byte-wise CSV/line reader), so memory stays
 * constant whatever the file size. */
#ifndef MINTRAC_IMPORT_H
#define MINTRAC_IMPORT_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "base/point.h"

enum import_format {
	IMPORT_XML,    /* GPX (trkpt, rtept, wpt) and KML (gx:Track, Placemark/Point) */
	IMPORT_JSON,   /* GeoJSON FeatureCollection / Feature, Overland, Takeout */
	IMPORT_CSV,    /* header row naming time, lat, lon, ... */
	IMPORT_REC,    /* OwnTracks Recorder: ISO-time TAB type TAB JSON */
};

/* import_feed / import_finish results. */
enum import_rc {
	IMPORT_OK    = 0,
	IMPORT_ERR   = -1,   /* the input is invalid: import_error() says where and why */
	IMPORT_ABORT = 1,    /* the callback returned non-zero */
};

/* Called for each fix in file order. The fix (attrs included: compact JSON
 * object text or NULL) is only valid during the call. Non-zero stops the
 * import: feed/finish return IMPORT_ABORT. */
typedef int (*import_cb)(void *ctx, const struct fix *f);

/* Format from a file name's extension (.gpx .kml .geojson .json .csv .rec,
 * any case); -1 when the name says nothing. */
int import_detect_name(const char *path, enum import_format *out);
/* Format from the first bytes of a file; -1 when they fit none. */
int import_detect_content(const char *head, size_t len, enum import_format *out);
const char *import_format_name(enum import_format f);

struct importer;
struct importer *import_new(enum import_format f, import_cb cb, void *ctx);
void import_free(struct importer *im);                  /* NULL-safe */
/* After an error or abort every further call returns the same result. */
int import_feed(struct importer *im, const void *data, size_t len);
int import_finish(struct importer *im);                 /* end of input */
/* One-line reason of an IMPORT_ERR ("" otherwise) and its 1-based line. */
const char *import_error(const struct importer *im);
uint64_t import_error_line(const struct importer *im);
/* Fixes handed to the callback, and points left out because they carry no
 * time (GPX wpt/rtept without <time>, KML LineString, GeoJSON features) or
 * no single position (GeoJSON LineString and other non-Point features). */
uint64_t import_count(const struct importer *im);
uint64_t import_skipped_notime(const struct importer *im);
uint64_t import_skipped_nonpoint(const struct importer *im);
/* Records.json from several phones interleaves their rows, told apart by
 * `deviceTag`; with a tag set only that phone's rows become fixes, the
 * others (and rows without a tag) are counted by import_skipped_tag. */
void import_set_device_tag(struct importer *im, int64_t tag);
uint64_t import_skipped_tag(const struct importer *im);


/* The deviceTag of the fix being handed to the callback right now (Records.json rows carry one): 1 and *tag set, or 0 when the row has none. Only valid during the callback. */
int import_fix_tag(const struct importer *im, int64_t *tag);
struct import_visit {
	int64_t     start_ms, end_ms;
	double      lat, lon;
	const char *name;
	const char *address;
	const char *place_id;
	const char *semantic_type;
	uint64_t    line;
};
typedef int (*import_visit_cb)(void *ctx, const struct import_visit *v);
void import_set_visit_cb(struct importer *im, import_visit_cb cb);
uint64_t import_visits(const struct importer *im);
uint64_t import_rejected(const struct importer *im);
#define IMPORT_REASONS 5
const char *import_reject_reason(const struct importer *im, size_t i, uint64_t *line);
const char *import_shape(const struct importer *im);

/* ---- Internal: shared by import.c and the parsers import_*.c. ---- */
struct import_state {
	import_cb cb;
	void     *ctx;
	uint64_t  count, skipped_notime, skipped_nonpoint, skipped_tag;
	int       tag_set;      /* only rows with deviceTag == tag */
	int64_t   tag;
	int       rc;           /* IMPORT_OK until the first error / abort */
	uint64_t  err_line;
	char      err[240];
};
/* Checks f (fix_check) and hands it to the callback. Returns IMPORT_OK, or
 * IMPORT_ERR / IMPORT_ABORT (recorded in st). */
int import_emit(struct import_state *st, uint64_t line, const struct fix *f);
/* Records the first error (printf-style reason, made one line); returns IMPORT_ERR. */
int import_fail(struct import_state *st, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int import_vfail(struct import_state *st, uint64_t line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

struct import_xml;
struct import_xml *import_xml_new(struct import_state *st);
int  import_xml_feed(struct import_xml *p, const char *data, size_t len);
int  import_xml_finish(struct import_xml *p);
void import_xml_free(struct import_xml *p);
struct import_json;
struct import_json *import_json_new(struct import_state *st);
int  import_json_feed(struct import_json *p, const char *data, size_t len);
int  import_json_finish(struct import_json *p);
void import_json_free(struct import_json *p);
struct import_text;
/* csv = 1 for CSV, 0 for .rec */
struct import_text *import_text_new(struct import_state *st, int csv);
int  import_text_feed(struct import_text *p, const char *data, size_t len);
int  import_text_finish(struct import_text *p);
void import_text_free(struct import_text *p);

struct buf;
/* A JSON object text (CSV `attributes` column) -> its members, compact, as
 * the JSON parser writes them, appended to out (no braces; a comma first
 * when out is not empty). 0 on success, -1 with a reason in why. */
int import_json_members(const char *text, size_t len, struct buf *out, char *why, size_t whylen);
#endif
