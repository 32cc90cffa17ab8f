/* multipart/form-data (RFC 7578), read as it streams in: an upload form's
 * file part is handed on piece by piece while the body arrives, in
 * constant memory (the delimiter's length plus one part's header section),
 * whatever its size and however the body is cut into pieces. Pure code: no
 * I/O, no clock.
 *
 * The file is the first part whose Content-Disposition has a filename (or
 * filename*), or else is named "file"; every other part is skipped. The
 * boundary delimiter is "CRLF--boundary" as RFC 2046 has it (browsers,
 * curl); part header lines may end in CRLF or LF. */
#ifndef MINTRAC_MULTIPART_H
#define MINTRAC_MULTIPART_H
#include <stddef.h>

/* Longest boundary accepted (RFC 2046 allows 70; some clients send more). */
#define MULTIPART_BOUNDARY_MAX 200
/* A part's header section, and a preamble before the first boundary, may
 * be this long; beyond it the body is refused (it is not the form it
 * claims to be, and nobody should wait for gigabytes to learn that). */
#define MULTIPART_HEADER_MAX   (8 * 1024)
/* multipart_filename() is at most this many bytes (cut at a character). */
#define MULTIPART_NAME_MAX     255

struct multipart;

/* Takes a piece of the file's content; 0 to go on, non-zero to stop (the
 * feed then returns 1). */
typedef int (*multipart_data_cb)(void *ctx, const char *data, size_t len);

/* A reader for a body with this Content-Type header value; NULL when it
 * is not multipart/form-data with a usable boundary (multipart_boundary
 * tells which). */
struct multipart *multipart_new(const char *content_type, multipart_data_cb cb, void *ctx);
void multipart_free(struct multipart *m);
/* The next piece of the body, any size (0 too). 0 = go on; -1 = the body
 * is malformed (multipart_error says how; every later call returns -1);
 * 1 = the callback stopped it (every later call returns 1). */
int multipart_feed(struct multipart *m, const char *data, size_t len);
/* The body is over: 0 when the file part was complete and the closing
 * boundary came; -1 otherwise (multipart_error: no boundary, cut off, no
 * file part), 1 when the callback had stopped it. */
int multipart_finish(struct multipart *m);
/* One line saying what is wrong with the body; "" while nothing is. */
const char *multipart_error(const struct multipart *m);
/* The file part's filename, made safe to show and to use as a file name:
 * the last path component, no control characters, valid UTF-8 (other
 * bytes become '?'), at most MULTIPART_NAME_MAX bytes, never "." or "..";
 * "" until the file part's headers came, or when it had none. */
const char *multipart_filename(const struct multipart *m);
/* The file part's Content-Type as sent (control characters dropped,
 * bounded); "" until known or when it had none. */
const char *multipart_part_type(const struct multipart *m);

/* ---- pieces also used by whole-body readers (proto_ulogger) ---- */

/* The boundary parameter of a multipart/form-data Content-Type, quoted or
 * not, into out (len bytes). 1 = found; 0 = not multipart/form-data; -1 =
 * no usable boundary (absent, empty, unclosed quote, longer than len - 1). */
int multipart_boundary(const char *content_type, char *out, size_t len);

/* A Content-Disposition value's parameters; the pointers are into the
 * parsed text (not NUL-terminated) and NULL when the parameter is absent. */
struct multipart_disposition {
	const char *name;
	size_t      name_len;
	const char *filename;
	size_t      filename_len;
	const char *filename_ext;      /* filename* (RFC 8187: charset'lang'%XX) */
	size_t      filename_ext_len;
};

/* Parses "form-data; name="x"; filename="y"" in [p, end) (what follows
 * the header's colon). Quoted values run to the next quote (browsers
 * percent-encode quotes in names; backslashes are kept, as old browsers
 * send Windows paths). 0, or -1 when a quote is not closed. */
int multipart_disposition(const char *p, const char *end, struct multipart_disposition *d);
#endif
