/* libFuzzer target: arbitrary bytes through every import parser (import.h),
 * whole and in small chunks. Built by `make fuzz`; seeds in
 * fuzz/seeds/import/. Input: byte 0 picks the format (low 2 bits), the
 * chunk size (bits 2..5) and whether the callback stops early (bit 6); the
 * rest is the file. Files named for a format in the seed corpus start with
 * that byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "io/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	size_t n, stop_at, visits;
	struct importer *im;
};

static int on_fix(void *p, const struct fix *f)
{
	struct ctx *c = p;
	int64_t tag;
	/* What every caller (cmd_import -> store_put_fix) relies on. */
	if (fix_check(f))
		__builtin_trap();
	(void)import_fix_tag(c->im, &tag);
	if (f->attrs) {
		json_t *a = json_loads(f->attrs, JSON_DECODE_INT_AS_REAL, NULL);
		if (!json_is_object(a) || json_object_size(a) == 0)
			__builtin_trap();
		json_decref(a);
	}
	return ++c->n == c->stop_at;
}

/* A visit is in range, ordered, and its strings are readable text. */
static int on_visit(void *p, const struct import_visit *v)
{
	struct ctx *c = p;
	struct fix f;
	fix_init(&f);
	f.lat = v->lat;
	f.lon = v->lon;
	f.time_ms = v->start_ms;
	if (fix_check(&f) || v->end_ms < v->start_ms || v->line == 0)
		__builtin_trap();
	const char *s[] = { v->name, v->address, v->place_id, v->semantic_type };
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		if (s[i] && strlen(s[i]) > 4096)
			__builtin_trap();
	c->visits++;
	return (c->n + c->visits) == c->stop_at;
}

/* Rejections: counted, the first reasons one line each with a line. */
static void check_rejects(const struct importer *im)
{
	uint64_t line;
	for (size_t i = 0; i < IMPORT_REASONS; i++) {
		const char *why = import_reject_reason(im, i, &line);
		if ((why != NULL) != (i < import_rejected(im)))
			__builtin_trap();
		if (why && (!why[0] || strchr(why, '\n') || line == 0))
			__builtin_trap();
	}
}

static void check_error(const struct importer *im, int rc)
{
	const char *e = import_error(im);
	if (rc == IMPORT_ERR && (!e[0] || strchr(e, '\n')))
		__builtin_trap();
	if (rc != IMPORT_ERR && e[0])
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum import_format fmt = (enum import_format)(data[0] & 3);
	size_t step = ((data[0] >> 2) & 15) + 1;
	if (step == 16)
		step = size;
	struct ctx c = { 0, (data[0] & 64) ? 2 : 0, 0, NULL };
	const char *doc = (const char *)data + 1;
	size_t len = size - 1;

	enum import_format guess;
	(void)import_detect_content(doc, len, &guess);

	struct importer *im = import_new(fmt, on_fix, &c);
	if (!im)
		__builtin_trap();
	c.im = im;
	import_set_visit_cb(im, on_visit);
	int rc = IMPORT_OK;
	for (size_t off = 0; off < len && rc == IMPORT_OK; off += step)
		rc = import_feed(im, doc + off, len - off < step ? len - off : step);
	if (rc == IMPORT_OK)
		rc = import_finish(im);
	if (rc != IMPORT_OK && rc != IMPORT_ERR && rc != IMPORT_ABORT)
		__builtin_trap();
	if (rc == IMPORT_ABORT && c.n + c.visits != c.stop_at)
		__builtin_trap();
	if (import_count(im) != c.n || import_visits(im) != c.visits)
		__builtin_trap();
	check_rejects(im);
	(void)import_shape(im);
	/* After a stop every call answers the same. */
	if (rc != IMPORT_OK && (import_feed(im, "x", 1) != rc || import_finish(im) != rc))
		__builtin_trap();
	check_error(im, rc);
	import_free(im);

	/* The CSV attributes reader on the same bytes. */
	struct buf b;
	char why[200];
	buf_init(&b);
	if (import_json_members(doc, len, &b, why, sizeof why) == 0 && b.len) {
		buf_addc(&b, '}');
		struct buf o;
		buf_init(&o);
		buf_addc(&o, '{');
		buf_add(&o, b.data, b.len);
		json_t *a = json_loads(o.data, JSON_DECODE_INT_AS_REAL, NULL);
		if (!json_is_object(a))
			__builtin_trap();
		json_decref(a);
		buf_free(&o);
	}
	buf_free(&b);
	return 0;
}
