/* Reading track files back into fixes: GPX, KML, GeoJSON (also Overland
 * batches), every Google location export (Records.json, Semantic Location
 * History, Timeline.json, location-history.json, Timeline Edits; told apart
 * by their structure), CSV (as `export` writes it) and OwnTracks Recorder
 * .rec. A record with bad values is rejected and counted; only a file that
 * is malformed stops the import. Pure: bytes in (in chunks of any size, even one
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
 * time (GPX wpt/rtept without <time>, KML LineString, GeoJSON features,
 * Google's waypoints) or no single position (GeoJSON LineString and other
 * non-Point features, rows and Google records without coordinates). */
uint64_t import_count(const struct importer *im);
uint64_t import_skipped_notime(const struct importer *im);
uint64_t import_skipped_nonpoint(const struct importer *im);
/* Records.json from several phones interleaves their rows, told apart by
 * `deviceTag`; with a tag set only that phone's rows become fixes, the
 * others (and rows without a tag) are counted by import_skipped_tag. */
void import_set_device_tag(struct importer *im, int64_t tag);
uint64_t import_skipped_tag(const struct importer *im);
/* The deviceTag of the fix being handed to the callback right now
 * (Records.json rows carry one): 1 and *tag set, or 0 when the row has
 * none. Only valid during the callback. */
int import_fix_tag(const struct importer *im, int64_t *tag);
/* A Google visit (Semantic Location History placeVisit, Timeline.json /
 * location-history.json visit). Strings NULL when absent; only valid
 * during the call. */
struct import_visit {
	int64_t     start_ms, end_ms;   /* UTC ms; end_ms >= start_ms */
	double      lat, lon;           /* degrees */
	const char *name;               /* Google's place name, or NULL */
	const char *address;            /* or NULL */
	const char *place_id;           /* Google's placeId, or NULL */
	const char *semantic_type;      /* e.g. "HOME", "INFERRED_WORK", or NULL */
	uint64_t    line;               /* 1-based position in the file */
};
/* Non-zero stops the import (IMPORT_ABORT), as import_cb. */
typedef int (*import_visit_cb)(void *ctx, const struct import_visit *v);
/* Without one, visits are counted only (import_visits). ctx is import_new's. */
void import_set_visit_cb(struct importer *im, import_visit_cb cb);
uint64_t import_visits(const struct importer *im);
/* Records rejected for their values (out of range, unreadable time or
 * number); the import goes on. */
uint64_t import_rejected(const struct importer *im);
/* The first IMPORT_REASONS rejections, i < min(import_rejected,
 * IMPORT_REASONS): the one-line reason, its line in *line. */
#define IMPORT_REASONS 5
const char *import_reject_reason(const struct importer *im, size_t i, uint64_t *line);
/* A short name of the shape recognised so far ("GPX", "KML", "GeoJSON",
 * "Overland", "Records.json", "Semantic Location History",
 * "Timeline.json", "location-history.json", "Timeline Edits", "CSV",
 * "OwnTracks .rec"), "" before it is known. */
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
	import_visit_cb visit_cb;
	uint64_t  visits, rejected;
	struct {
		uint64_t line;
		char     why[160];
	} reasons[IMPORT_REASONS];
	int       fix_tag_set;  /* the fix in the callback has a deviceTag */
	int64_t   fix_tag;
	const char *shape;      /* a static name, "" until known */
};
/* Checks f (fix_check) and hands it to the callback; a fix that fails the
 * check is rejected (import_reject). Returns IMPORT_OK, or IMPORT_ABORT
 * (recorded in st). */
int import_emit(struct import_state *st, uint64_t line, const struct fix *f);
/* The same for a visit: range and order checked, counted, handed on. */
int import_emit_visit(struct import_state *st, const struct import_visit *v);
/* Counts one rejected record, keeping the first reasons (printf-style,
 * made one line). Returns IMPORT_OK: the import goes on. */
int import_reject(struct import_state *st, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
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
/* Line of the token the JSON parser is at, for reasons found in callbacks. */
uint64_t import_json_line(struct import_json *p);

/* A JSON scalar as the parsers see it: its text NUL-terminated. */
struct import_scalar {
	int         is_num, is_str, is_null;
	const char *text;
};
/* Google's semantic exports (import_google.c), fed the events of one list
 * by import_json.c: the list named by a root member, or the root array of
 * location-history.json. */
enum import_google_list {
	IG_TIMELINE_OBJECTS,   /* Semantic Location History */
	IG_SEMANTIC_SEGMENTS,  /* Timeline.json */
	IG_RAW_SIGNALS,        /* Timeline.json */
	IG_IOS,                /* location-history.json */
	IG_TIMELINE_EDITS,     /* Timeline Edits.json */
};
struct import_google;
struct import_google *import_google_new(struct import_state *st, struct import_json *json);
void import_google_free(struct import_google *g);
/* Starts a list (its '[' already read) and names the shape. */
void import_google_begin(struct import_google *g, enum import_google_list list);
/* Event handlers as yajl's: 0 stops the parse (the reason is in st). */
int import_google_open(struct import_google *g, int array);
/* *done = 1 when this closes the list itself: the events go back to the
 * caller. */
int import_google_close(struct import_google *g, int *done);
int import_google_key(struct import_google *g, const char *key, size_t len);
int import_google_scalar(struct import_google *g, const struct import_scalar *v);
/* "lat°, lon°" or "geo:lat,lon[,alt]" -> degrees; 0, or -1 when unreadable. */
int import_parse_latlng(const char *s, double *lat, double *lon);
/* An E7 integer (text of a JSON number or string) -> degrees, undoing
 * Records.json's unsigned 32-bit wrap past max_e7; 0, or -1 when unreadable. */
int import_e7_degrees(const char *text, int64_t max_e7, double *deg);
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
