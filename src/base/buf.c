/* Growable byte buffers and the text writers that fill them: exact
 * numbers, JSON and XML escaping, ISO times (buf.h). */
#include "base/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	/* The parsers add a few bytes at a time: skip the call when it fits. */
	if (b->len + n + 1 > b->cap)
		buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addc(struct buf *b, char c)
{
	if (b->len + 2 > b->cap)
		buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = 0;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	/* Usually the text fits in the spare room: format once, straight in. */
	buf_reserve(b, 64);
	size_t room = b->cap - b->len;
	va_start(ap, fmt);
	int n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = 0;
		return;
	}
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = 0;
}

char *buf_steal(struct buf *b)
{
	if (!b->data)
		buf_reserve(b, 0);
	char *p = b->data;
	buf_init(b);
	return p;
}

/* Mantissa "d.ddd" and decimal exponent -> positional text. */
static void add_positional(struct buf *b, const char *mant, int e10)
{
	char digits[32];
	size_t n = 0;
	if (*mant == '-') {
		buf_addc(b, '-');
		mant++;
	}
	for (; *mant && n < sizeof digits - 1; mant++)
		if (*mant >= '0' && *mant <= '9')
			digits[n++] = *mant;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = 0;
	if (e10 < 0) {
		buf_adds(b, "0.");
		for (int i = -1; i > e10; i--)
			buf_addc(b, '0');
		buf_add(b, digits, n);
		return;
	}
	size_t ilen = (size_t)e10 + 1;
	if (n <= ilen) {
		buf_add(b, digits, n);
		for (size_t i = n; i < ilen; i++)
			buf_addc(b, '0');
		return;
	}
	buf_add(b, digits, ilen);
	buf_addc(b, '.');
	buf_add(b, digits + ilen, n - ilen);
}

/* Shortest decimal that reads back to exactly v, always positional:
 * xsd:decimal (GPX, KML) has no exponent form, and
 * "3e+01" would be valid JSON yet surprise every spreadsheet and script.
 * Starting at 15 digits keeps a large export fast (this runs for every
 * number of every fix): for normal numbers 15 digits always read back when
 * a shorter text does, and %g drops the padding zeros. */
void buf_add_double(struct buf *b, double v)
{
	char tmp[48];
	if (!isfinite(v)) {
		buf_adds(b, "null");
		return;
	}
	if (v == 0) {          /* also folds -0 */
		buf_addc(b, '0');
		return;
	}
	int prec;
	for (prec = 15; prec < 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(tmp, sizeof tmp, "%.17g", v);
	char *e = strpbrk(tmp, "eE");
	if (!e) {
		buf_adds(b, tmp);
		return;
	}
	*e = 0;
	add_positional(b, tmp, atoi(e + 1));
}

void buf_add_int(struct buf *b, int64_t v)
{
	buf_printf(b, "%lld", (long long)v);
}

/* Length of a valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;
		if (c == 0xED && s[1] > 0x9F)
			return 0;           /* surrogates */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;
		if (c == 0xF4 && s[1] > 0x8F)
			return 0;
		return 4;
	}
	return 0;
}

int utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		/* utf8_len reads at most 4 bytes; copy the tail so it never
		 * reads past the end. */
		unsigned char tmp[4] = { 0, 0, 0, 0 };
		size_t avail = (size_t)(end - p) < 4 ? (size_t)(end - p) : 4;
		memcpy(tmp, p, avail);
		size_t len = utf8_len(tmp);
		if (len == 0 || len > avail)
			return 0;
		p += len;
	}
	return 1;
}

void buf_add_json_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	buf_addc(b, '"');
	while (*p) {
		/* Plain text goes in as one run: most strings are nothing else. */
		const unsigned char *run = p;
		for (;;) {
			unsigned r = *p;
			if (r >= 0x20 && r < 0x7f && r != '"' && r != '\\' && r != '<') {
				p++;
			} else if (r >= 0x80) {
				size_t n = utf8_len(p);
				if (n == 0)
					break;
				p += n;
			} else {
				break;
			}
		}
		if (p != run)
			buf_add(b, run, (size_t)(p - run));
		if (!*p)
			break;
		unsigned c = *p;
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
			p++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': buf_adds(b, "\\n"); break;
			case '\r': buf_adds(b, "\\r"); break;
			case '\t': buf_adds(b, "\\t"); break;
			default: buf_printf(b, "\\u%04x", c); break;
			}
			p++;
		} else if (c == '<') {
			/* Keeps "</script>" inert if JSON is ever inlined in HTML. */
			buf_adds(b, "\\u003c");
			p++;
		} else {
			/* The run stops at a byte only when it starts no valid
			 * UTF-8 sequence. */
			buf_adds(b, "\xEF\xBF\xBD");
			p++;
		}
	}
	buf_addc(b, '"');
}

void buf_add_xml(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&apos;"); break;
		default: buf_addc(b, *s); break;
		}
	}
}

void buf_add_iso_ms(struct buf *b, int64_t ms)
{
	int64_t secs = ms / 1000, rem = ms % 1000;
	if (rem < 0) {
		rem += 1000;
		secs -= 1;
	}
	time_t t = (time_t)secs;
	struct tm tm;
	gmtime_r(&t, &tm);
	buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}
