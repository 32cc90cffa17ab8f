/* multipart: the streaming form-data reader, on bodies as browsers send
 * them, fed whole and in pieces down to single bytes. */
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"
#include "net/multipart.h"
#include "test.h"

#define WEBKIT_CT "multipart/form-data; boundary=----WebKitFormBoundaryXYZ"
#define DELIM "------WebKitFormBoundaryXYZ"

struct collect {
	struct buf got;
	int        calls;
	size_t     stop_at;   /* > 0: stop once this many bytes came */
};

static int collect_cb(void *ctx, const char *data, size_t len)
{
	struct collect *c = ctx;
	if (len == 0)
		abort();   /* never an empty piece */
	c->calls++;
	buf_add(&c->got, data, len);
	return c->stop_at && c->got.len >= c->stop_at;
}

/* Feeds body in pieces of `step` bytes; returns the first non-zero feed
 * result, else multipart_finish's. */
static int run(struct multipart *m, const char *body, size_t len, size_t step)
{
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		int rc = multipart_feed(m, body + off, n);
		if (rc)
			return rc;
	}
	return multipart_finish(m);
}

/* The file's bytes: every byte value, NUL included, and near-delimiters
 * ("\r\n--", the delimiter less its last byte, CR at the very end). */
static void file_content(struct buf *f)
{
	buf_init(f);
	for (int i = 0; i < 256; i++)
		buf_addc(f, (char)i);
	buf_add(f, "\r\n--", 4);
	buf_add(f, "\0\r\n", 3);
	buf_adds(f, "\r\n------WebKitFormBoundaryXY");   /* the delimiter less a byte */
	buf_adds(f, "Q\r\n-\r\r\n--\r\n");
	buf_adds(f, "\r\n-----WebKitFormBoundaryXYZ");   /* a dash short */
	buf_adds(f, "\r\n------WebKitFormBoundaryXYW");  /* the last byte changed */
	buf_adds(f, "\r");
}

static void browser_body(struct buf *b, const struct buf *file)
{
	buf_init(b);
	buf_adds(b, DELIM "\r\n"
	            "Content-Disposition: form-data; name=\"device\"\r\n\r\n"
	            "phone\r\n" DELIM "\r\n"
	            "Content-Disposition: form-data; name=\"file\"; filename=\"Takeout.zip\"\r\n"
	            "Content-Type: application/zip\r\n\r\n");
	buf_add(b, file->data, file->len);
	buf_adds(b, "\r\n" DELIM "\r\n"
	            "Content-Disposition: form-data; name=\"after\"\r\n\r\n"
	            "x\r\n" DELIM "--\r\n");
}

TEST(multipart_browser_body_any_pieces)
{
	struct buf file, body;
	file_content(&file);
	browser_body(&body, &file);
	static const size_t steps[] = { 1, 2, 3, 5, 7, 13, 27, 28, 29, 64, 1000, 1 << 20 };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct collect c = { .stop_at = 0 };
		buf_init(&c.got);
		struct multipart *m = multipart_new(WEBKIT_CT, collect_cb, &c);
		CHECK(m != NULL);
		CHECK_STR(multipart_filename(m), "");
		CHECK_INT(run(m, body.data, body.len, steps[i]), 0);
		CHECK_INT(c.got.len, file.len);
		CHECK(c.got.len == file.len && memcmp(c.got.data, file.data, file.len) == 0);
		CHECK_STR(multipart_filename(m), "Takeout.zip");
		CHECK_STR(multipart_part_type(m), "application/zip");
		CHECK_STR(multipart_error(m), "");
		if (steps[i] >= body.len)
			CHECK_INT(c.calls, 1);   /* whole: no copies, one piece */
		multipart_free(m);
		buf_free(&c.got);
	}
	buf_free(&file);
	buf_free(&body);
}

/* Preamble and epilogue, transport padding, LF-only header lines, a quoted
 * boundary, a part named "file" without filename, a second file ignored. */
static const char *const variant_ct = "Multipart/Form-Data ; charset=utf-8; boundary=\"b:1 2\"";
static const char variant_body[] =
	"preamble to drop\r\n"
	"--b:1 2  \r\n"
	"content-disposition: form-data; name=\"file\"\n"
	"\n"
	"ab\r\ncd\r\n"
	"--b:1 2\r\n"
	"Content-Disposition: form-data; name=\"other\"; filename=\"second.txt\"\r\n\r\n"
	"not this\r\n"
	"--b:1 2--\r\n"
	"epilogue\r\n--b:1 2\r\nignored";

TEST(multipart_variants)
{
	for (size_t step = 1; step <= sizeof variant_body; step += sizeof variant_body - 1) {
		struct collect c = { .stop_at = 0 };
		buf_init(&c.got);
		struct multipart *m = multipart_new(variant_ct, collect_cb, &c);
		CHECK(m != NULL);
		CHECK_INT(run(m, variant_body, sizeof variant_body - 1, step), 0);
		CHECK_STR(c.got.data, "ab\r\ncd");
		CHECK_STR(multipart_filename(m), "");
		CHECK_STR(multipart_part_type(m), "");
		multipart_free(m);
		buf_free(&c.got);
	}
}

TEST(multipart_content_types)
{
	char b[MULTIPART_BOUNDARY_MAX + 1];
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=abc", b, sizeof b), 1);
	CHECK_STR(b, "abc");
	CHECK_INT(multipart_boundary("multipart/form-data;boundary=\"a;b\"; x=y", b, sizeof b), 1);
	CHECK_STR(b, "a;b");
	CHECK_INT(multipart_boundary("application/zip", b, sizeof b), 0);
	CHECK_INT(multipart_boundary("multipart/form-datax; boundary=a", b, sizeof b), 0);
	CHECK_INT(multipart_boundary("multipart/form-data", b, sizeof b), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=", b, sizeof b), -1);
	CHECK_INT(multipart_boundary("multipart/form-data; boundary=\"open", b, sizeof b), -1);
	struct collect c = { .stop_at = 0 };
	CHECK(multipart_new(NULL, collect_cb, &c) == NULL);
	CHECK(multipart_new("application/octet-stream", collect_cb, &c) == NULL);
	CHECK(multipart_new("multipart/form-data", collect_cb, &c) == NULL);
	char longb[300];
	memset(longb, 'q', sizeof longb);
	memcpy(longb, "multipart/form-data; boundary=", 30);
	longb[sizeof longb - 1] = 0;
	CHECK(multipart_new(longb, collect_cb, &c) == NULL);
}

static void filename_of(const char *disposition, char *out, size_t cap)
{
	struct buf body;
	buf_init(&body);
	buf_printf(&body, "--B\r\nContent-Disposition: form-data; name=\"f\"; %s\r\n"
	                  "Content-Type: text/plain\x01\r\n\r\nx\r\n--B--", disposition);
	struct collect c = { .stop_at = 0 };
	buf_init(&c.got);
	struct multipart *m = multipart_new("multipart/form-data; boundary=B", collect_cb, &c);
	CHECK_INT(run(m, body.data, body.len, 3), 0);
	CHECK_STR(c.got.data, "x");
	CHECK_STR(multipart_part_type(m), "text/plain");
	snprintf(out, cap, "%s", multipart_filename(m));
	multipart_free(m);
	buf_free(&c.got);
	buf_free(&body);
}

TEST(multipart_filename_sanitised)
{
	char name[512];
	filename_of("filename=\"C:\\Users\\me\\Take\x01out\x7f.zip\"", name, sizeof name);
	CHECK_STR(name, "Takeout.zip");
	filename_of("filename=\"../../etc/passwd\"", name, sizeof name);
	CHECK_STR(name, "passwd");
	filename_of("filename=\"a/..\"", name, sizeof name);
	CHECK_STR(name, "");
	filename_of("filename=plain.json", name, sizeof name);
	CHECK_STR(name, "plain.json");
	filename_of("filename=\"bad\xff\xc3_utf8\xc2\x85.gpx\"", name, sizeof name);
	CHECK_STR(name, "bad??_utf8.gpx");
	filename_of("filename=\"x.zip\"; filename*=UTF-8''%C3%A9t%C3%A9%0A.zip", name, sizeof name);
	CHECK_STR(name, "\xc3\xa9t\xc3\xa9.zip");   /* "été.zip" */
	filename_of("filename*=utf-8'en'dir%2Fx.zip", name, sizeof name);
	CHECK_STR(name, "x.zip");
	filename_of("filename=\"fallback.zip\"; filename*=latin1''x", name, sizeof name);
	CHECK_STR(name, "fallback.zip");
	/* 200 two-byte characters: cut at a character within 255 bytes. */
	struct buf d;
	buf_init(&d);
	buf_adds(&d, "filename=\"");
	for (int i = 0; i < 200; i++)
		buf_adds(&d, "\xc3\xa9");
	buf_adds(&d, "\"");
	filename_of(d.data, name, sizeof name);
	CHECK_INT(strlen(name), 254);
	buf_free(&d);
}

/* body, fed step bytes at a time, fails with why. */
static void check_fails(const char *body, size_t len, size_t step, const char *why)
{
	struct collect c = { .stop_at = 0 };
	buf_init(&c.got);
	struct multipart *m = multipart_new("multipart/form-data; boundary=B", collect_cb, &c);
	CHECK(m != NULL);
	CHECK_INT(run(m, body, len, step), -1);
	CHECK_STR(multipart_error(m), why);
	CHECK_INT(multipart_feed(m, "more", 4), -1);   /* it stays failed */
	CHECK_INT(multipart_finish(m), -1);
	CHECK_STR(multipart_error(m), why);
	multipart_free(m);
	buf_free(&c.got);
}

#define FAILS(body, step, why) check_fails(body, sizeof body - 1, step, why)

TEST(multipart_malformed)
{
	for (size_t step = 1; step <= 4096; step *= 4096) {
		FAILS("PK\3\4 a zip, not a form", step, "no multipart boundary in the body");
		FAILS("--B\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nabc", step,
		      "the body ended before the closing boundary");
		FAILS("--B\r\nContent-Disposition: form-data; filename=\"a\"\r\n", step,
		      "the body ended before the closing boundary");
		FAILS("--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--B--", step,
		      "no file part in the form");
		FAILS("--B\r\n\r\nx\r\n--B--", step, "no file part in the form");   /* no headers */
		FAILS("--Bjunk\r\n", step, "a boundary is followed by something other than a line end");
		FAILS("--B\r\n\r\nx\r\n--B-x", step,
		      "a boundary is followed by something other than a line end");
		FAILS("--B\rx", step, "a boundary line ends in CR without LF");
		FAILS("--B\r\nContent-Disposition: form-data; filename=\"a\r\n\r\nx\r\n--B--", step,
		      "malformed Content-Disposition in a part");
	}
	/* A part's headers past 8 KiB, and a preamble as long: refused as
	 * they come, not at the end of a body of gigabytes. */
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "--B\r\nX-Long: ");
	for (int i = 0; i < 9000; i++)
		buf_addc(&b, 'h');
	check_fails(b.data, b.len, 100, "a part's headers are longer than 8 KiB");
	buf_reset(&b);
	for (int i = 0; i < 9000; i++)
		buf_addc(&b, i % 2 ? '\r' : '\n');
	check_fails(b.data, b.len, 7, "no multipart boundary at the start of the body");
	buf_free(&b);
}

/* The callback stops it: 1 from then on, the bytes it took so far. */
TEST(multipart_callback_stops)
{
	struct buf file, body;
	file_content(&file);
	browser_body(&body, &file);
	for (size_t step = 1; step <= body.len; step += body.len - 1) {
		struct collect c = { .stop_at = 100 };
		buf_init(&c.got);
		struct multipart *m = multipart_new(WEBKIT_CT, collect_cb, &c);
		CHECK_INT(run(m, body.data, body.len, step), 1);
		CHECK(c.got.len >= 100);
		CHECK_INT(multipart_feed(m, "x", 1), 1);
		CHECK_INT(multipart_finish(m), 1);
		CHECK(memcmp(c.got.data, file.data, 100) == 0);
		multipart_free(m);
		buf_free(&c.got);
	}
	buf_free(&file);
	buf_free(&body);
}
