/* Streaming multipart/form-data reader: see multipart.h.
 *
 * The body is read as a sequence of states. Preamble and part content are
 * searched for the delimiter "\r\n--boundary"; bytes that may be the start
 * of one (a partial match at the end of a piece) are held back until the
 * next piece decides, so the file's bytes go out exactly once and nothing
 * but that tail is ever copied. The reader starts as if "\r\n" had just
 * been read, so a body that opens with "--boundary" (no preamble, as
 * browsers send it) is found by the same search. */
#include "net/multipart.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "net/http.h"

#define TYPE_MAX 127

enum mp_state {
	MP_PREAMBLE,     /* before the first delimiter: dropped */
	MP_AFTER_DELIM,  /* right after a delimiter: "--", padding or CRLF */
	MP_DASH,         /* one '-' of the closing "--" */
	MP_PADDING,      /* transport padding (spaces) before the CRLF */
	MP_CR,           /* the CR of the line end: LF due */
	MP_HEADERS,      /* a part's header section, up to the empty line */
	MP_CONTENT,      /* a part's content, up to the next delimiter */
	MP_EPILOGUE,     /* after the closing delimiter: dropped */
	MP_FAILED,       /* malformed: m->err */
	MP_ABORTED,      /* the callback said stop */
};

struct multipart {
	multipart_data_cb cb;
	void         *ctx;
	enum mp_state st;
	char         *delim;     /* "\r\n--" boundary */
	size_t        dl;
	char         *held;      /* a prefix of delim the last piece ended in */
	size_t        hl;
	char         *tmp;       /* held + the next piece's first dl bytes */
	size_t        preamble;  /* preamble bytes dropped */
	struct buf    hdr;       /* the current part's header section */
	size_t        line_len;  /* bytes of its current line, CRs left out */
	int           in_file;   /* the current part is the file */
	int           file_state; /* 0 not seen, 1 coming, 2 complete */
	const char   *err;
	char          filename[MULTIPART_NAME_MAX + 1];
	char          part_type[TYPE_MAX + 1];
};

/* ---- Content-Type and Content-Disposition ------------------------------- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int multipart_boundary(const char *ct, char *out, size_t len)
{
	static const char mp[] = "multipart/form-data";
	ct = skip_ws(ct);
	if (strncasecmp(ct, mp, sizeof mp - 1) != 0)
		return 0;
	const char *p = ct + sizeof mp - 1;
	if (*p && *p != ';' && *p != ' ' && *p != '\t')
		return 0;   /* multipart/form-dataX */
	while ((p = strchr(p, ';')) != NULL) {
		p = skip_ws(p + 1);
		if (strncasecmp(p, "boundary", 8) != 0)
			continue;
		p = skip_ws(p + 8);
		if (*p != '=')
			continue;
		p = skip_ws(p + 1);
		size_t n;
		if (*p == '"') {
			const char *q = strchr(++p, '"');
			if (!q)
				return -1;
			n = (size_t)(q - p);
		} else {
			n = strcspn(p, "; \t");
		}
		if (n == 0 || n >= len)
			return -1;
		memcpy(out, p, n);
		out[n] = 0;
		return 1;
	}
	return -1;
}

/* One parameter value: quoted (up to the next quote) or a token. NULL when
 * the quote is not closed. */
static const char *param_value(const char *p, const char *end, size_t *n)
{
	if (p < end && *p == '"') {
		const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (!q)
			return NULL;
		*n = (size_t)(q - p - 1);
		return p + 1;
	}
	const char *q = p;
	while (q < end && *q != ';' && *q != ' ' && *q != '\t')
		q++;
	*n = (size_t)(q - p);
	return p;
}

static int key_is(const char *k, size_t klen, const char *want)
{
	return klen == strlen(want) && strncasecmp(k, want, klen) == 0;
}

int multipart_disposition(const char *p, const char *end, struct multipart_disposition *d)
{
	memset(d, 0, sizeof *d);
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		if (!semi)
			return 0;
		p = semi + 1;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *next = memchr(p, ';', (size_t)(end - p));
		const char *eq = memchr(p, '=', (size_t)((next ? next : end) - p));
		if (!eq)
			continue;          /* a parameter without a value */
		size_t klen = (size_t)(eq - p), vlen;
		while (klen && (p[klen - 1] == ' ' || p[klen - 1] == '\t'))
			klen--;
		const char *v = eq + 1;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		const char *val = param_value(v, end, &vlen);
		if (!val)
			return -1;
		if (key_is(p, klen, "name")) {
			d->name = val;
			d->name_len = vlen;
		} else if (key_is(p, klen, "filename")) {
			d->filename = val;
			d->filename_len = vlen;
		} else if (key_is(p, klen, "filename*")) {
			d->filename_ext = val;
			d->filename_ext_len = vlen;
		}
		/* Continue after the value (a quoted one may contain ';'). */
		p = val + vlen + (val > v ? 1 : 0);
	}
	return 0;
}

/* ---- the file part's name and type --------------------------------------- */

/* Length of the valid UTF-8 character at s[0..n), 0 when it is not one. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t k = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	return k <= n && utf8_valid((const char *)s, k) ? k : 0;
}

/* The last path component of name[0..n) into out: control characters
 * dropped, invalid UTF-8 as '?', cut at a character to fit, "." and ".."
 * as "". */
static void safe_filename(char *out, size_t cap, const char *name, size_t n)
{
	for (size_t i = n; i > 0; i--) {
		if (name[i - 1] == '/' || name[i - 1] == '\\') {
			name += i;
			n -= i;
			break;
		}
	}
	const unsigned char *s = (const unsigned char *)name;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_char(s + i, n - i);
		if (k == 0) {
			k = 1;
			if (o + 1 >= cap)
				break;
			out[o++] = '?';
		} else if (k == 1 && (s[i] < 0x20 || s[i] == 0x7f)) {
			/* dropped */
		} else if (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			/* C1 controls: dropped too */
		} else {
			if (o + k >= cap)
				break;
			memcpy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	out[o] = 0;
	if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		out[0] = 0;
}

/* filename* = charset'language'percent-encoded (RFC 8187); only UTF-8
 * (and its subset US-ASCII) is read. 0, or -1 when it is not usable. */
static int ext_filename(char *out, size_t cap, const char *v, size_t n)
{
	const char *q1 = memchr(v, '\'', n);
	const char *q2 = q1 ? memchr(q1 + 1, '\'', (size_t)(v + n - q1 - 1)) : NULL;
	if (!q2)
		return -1;
	size_t cl = (size_t)(q1 - v);
	if (!key_is(v, cl, "utf-8") && !key_is(v, cl, "us-ascii"))
		return -1;
	const char *enc = q2 + 1;
	size_t el = (size_t)(v + n - enc);
	char *dec = xmalloc(el + 1);
	size_t dl = http_pct_decode(enc, el, dec, 0);
	safe_filename(out, cap, dec, dl);
	free(dec);
	return 0;
}

/* ---- the reader ----------------------------------------------------------- */

static int fail(struct multipart *m, const char *why)
{
	m->st = MP_FAILED;
	m->err = why;
	return -1;
}

struct multipart *multipart_new(const char *content_type, multipart_data_cb cb, void *ctx)
{
	char b[MULTIPART_BOUNDARY_MAX + 1];
	if (!content_type || !cb || multipart_boundary(content_type, b, sizeof b) != 1)
		return NULL;
	struct multipart *m = xcalloc(1, sizeof *m);
	m->cb = cb;
	m->ctx = ctx;
	m->dl = 4 + strlen(b);
	m->delim = xmalloc(m->dl + 1);
	memcpy(m->delim, "\r\n--", 4);
	memcpy(m->delim + 4, b, m->dl - 4);
	m->delim[m->dl] = 0;
	m->held = xmalloc(m->dl);
	m->tmp = xmalloc(2 * m->dl);
	memcpy(m->held, "\r\n", 2);   /* see the top of the file */
	m->hl = 2;
	buf_init(&m->hdr);
	m->st = MP_PREAMBLE;
	return m;
}

void multipart_free(struct multipart *m)
{
	if (!m)
		return;
	free(m->delim);
	free(m->held);
	free(m->tmp);
	buf_free(&m->hdr);
	free(m);
}

/* Bytes before a delimiter: the file's go to the callback; a preamble is
 * only counted. 0, -1 failed, 1 stopped by the callback. */
static int emit(struct multipart *m, const char *p, size_t len)
{
	if (m->st == MP_PREAMBLE) {
		m->preamble += len;
		if (m->preamble > MULTIPART_HEADER_MAX)
			return fail(m, "no multipart boundary at the start of the body");
		return 0;
	}
	if (!m->in_file || len == 0)
		return 0;
	if (m->cb(m->ctx, p, len) != 0) {
		m->st = MP_ABORTED;
		return 1;
	}
	return 0;
}

/* Length of the longest end of p[0..len) that begins the delimiter (and is
 * shorter than it). */
static size_t partial_tail(const struct multipart *m, const char *p, size_t len)
{
	size_t from = len >= m->dl ? len - (m->dl - 1) : 0;
	for (size_t i = from; i < len; i++)
		if (p[i] == '\r' && memcmp(p + i, m->delim, len - i) == 0)
			return len - i;
	return 0;
}

/* Preamble or content up to the next delimiter: *used is how many bytes
 * of data were taken, *found whether a delimiter ended in them. 0, -1
 * failed, 1 stopped. */
static int scan(struct multipart *m, const char *data, size_t n, size_t *used, int *found)
{
	size_t dl = m->dl;
	*used = 0;
	*found = 0;
	if (m->hl) {
		/* Does the held tail, with what follows, make a delimiter? */
		size_t k = n < dl ? n : dl, hl = m->hl;
		memcpy(m->tmp, m->held, hl);
		memcpy(m->tmp + hl, data, k);
		size_t tl = hl + k;
		const char *at = memmem(m->tmp, tl, m->delim, dl);
		if (at) {
			size_t q = (size_t)(at - m->tmp);
			m->hl = 0;
			*used = q + dl - hl;
			*found = 1;
			return emit(m, m->tmp, q);
		}
		if (k < dl) {
			/* All of data is in tmp and decides nothing yet. */
			size_t keep = partial_tail(m, m->tmp, tl);
			memcpy(m->held, m->tmp + tl - keep, keep);
			m->hl = keep;
			*used = n;
			return emit(m, m->tmp, tl - keep);
		}
		/* No delimiter begins in the held bytes: they were content. */
		m->hl = 0;
		int rc = emit(m, m->tmp, hl);
		if (rc)
			return rc;
	}
	const char *at = memmem(data, n, m->delim, dl);
	if (at) {
		size_t q = (size_t)(at - data);
		*used = q + dl;
		*found = 1;
		return emit(m, data, q);
	}
	size_t keep = partial_tail(m, data, n);
	memcpy(m->held, data + n - keep, keep);
	m->hl = keep;
	*used = n;
	return emit(m, data, n - keep);
}

/* The part's header section is complete: is it the file? */
static int part_begin(struct multipart *m)
{
	static const char cd[] = "content-disposition:", ct[] = "content-type:";
	const char *p = m->hdr.data ? m->hdr.data : "", *end = p + m->hdr.len;
	struct multipart_disposition d = { 0 };
	const char *type = NULL;
	size_t type_len = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (le > p && le[-1] == '\r')
			le--;
		size_t n = (size_t)(le - p);
		if (n >= sizeof cd - 1 && strncasecmp(p, cd, sizeof cd - 1) == 0) {
			if (multipart_disposition(p + sizeof cd - 1, le, &d) < 0)
				return fail(m, "malformed Content-Disposition in a part");
		} else if (n >= sizeof ct - 1 && strncasecmp(p, ct, sizeof ct - 1) == 0) {
			type = skip_ws(p + sizeof ct - 1);
			type_len = (size_t)(le - type);
		}
		p = nl ? nl + 1 : end;
	}
	m->st = MP_CONTENT;
	int is_file = d.filename || d.filename_ext ||
	              (d.name && d.name_len == 4 && memcmp(d.name, "file", 4) == 0);
	if (!is_file || m->file_state != 0)
		return 0;
	m->in_file = 1;
	m->file_state = 1;
	if (!d.filename_ext ||
	    ext_filename(m->filename, sizeof m->filename, d.filename_ext, d.filename_ext_len) < 0)
		safe_filename(m->filename, sizeof m->filename, d.filename ? d.filename : "",
		              d.filename_len);
	size_t o = 0;
	for (size_t i = 0; type && i < type_len && o < TYPE_MAX; i++)
		if ((unsigned char)type[i] >= 0x20 && type[i] != 0x7f)
			m->part_type[o++] = type[i];
	while (o > 0 && m->part_type[o - 1] == ' ')
		o--;
	m->part_type[o] = 0;
	return 0;
}

/* Header bytes up to the empty line that ends the section; *used bytes of
 * data taken. */
static int headers(struct multipart *m, const char *data, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		if (m->hdr.len >= MULTIPART_HEADER_MAX)
			return fail(m, "a part's headers are longer than 8 KiB");
		if (c == '\n' && m->line_len == 0) {
			*used = i + 1;
			return part_begin(m);
		}
		buf_addc(&m->hdr, c);
		if (c == '\n')
			m->line_len = 0;
		else if (c != '\r')
			m->line_len++;
	}
	*used = n;
	return 0;
}

static void begin_headers(struct multipart *m)
{
	buf_reset(&m->hdr);
	m->line_len = 0;
	m->st = MP_HEADERS;
}

/* One byte of what follows a delimiter. */
static int after_delim(struct multipart *m, char c)
{
	switch (m->st) {
	case MP_AFTER_DELIM:
		if (c == '-') {
			m->st = MP_DASH;
			return 0;
		}
		/* else padding or the line end, as below */
		/* fall through */
	case MP_PADDING:
		if (c == ' ' || c == '\t')
			m->st = MP_PADDING;
		else if (c == '\r')
			m->st = MP_CR;
		else if (c == '\n')
			begin_headers(m);
		else
			return fail(m, "a boundary is followed by something other than a line end");
		return 0;
	case MP_DASH:
		if (c != '-')
			return fail(m, "a boundary is followed by something other than a line end");
		m->st = MP_EPILOGUE;
		return 0;
	case MP_CR:
		if (c != '\n')
			return fail(m, "a boundary line ends in CR without LF");
		begin_headers(m);
		return 0;
	default:
		return 0;
	}
}

int multipart_feed(struct multipart *m, const char *data, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		size_t used = 1;
		int rc = 0, found = 0;
		switch (m->st) {
		case MP_FAILED:
			return -1;
		case MP_ABORTED:
			return 1;
		case MP_EPILOGUE:
			return 0;
		case MP_PREAMBLE:
		case MP_CONTENT:
			rc = scan(m, data + pos, len - pos, &used, &found);
			if (rc == 0 && found) {
				if (m->in_file)
					m->file_state = 2;
				m->in_file = 0;
				m->st = MP_AFTER_DELIM;
			}
			break;
		case MP_HEADERS:
			rc = headers(m, data + pos, len - pos, &used);
			break;
		default:
			rc = after_delim(m, data[pos]);
			break;
		}
		if (rc)
			return rc;
		pos += used;
	}
	return m->st == MP_FAILED ? -1 : m->st == MP_ABORTED ? 1 : 0;
}

int multipart_finish(struct multipart *m)
{
	switch (m->st) {
	case MP_ABORTED:
		return 1;
	case MP_FAILED:
		return -1;
	case MP_PREAMBLE:
		return fail(m, "no multipart boundary in the body");
	case MP_EPILOGUE:
		if (m->file_state != 2)
			return fail(m, "no file part in the form");
		return 0;
	default:
		return fail(m, "the body ended before the closing boundary");
	}
}

const char *multipart_error(const struct multipart *m)
{
	return m->err ? m->err : "";
}

const char *multipart_filename(const struct multipart *m)
{
	return m->filename;
}

const char *multipart_part_type(const struct multipart *m)
{
	return m->part_type;
}
