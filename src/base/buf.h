/* Growable byte buffer, always NUL-terminated. Out of memory aborts, as
 * everywhere (xalloc.h, included here so every buffer user has the rule's
 * helpers at hand). */
#ifndef MINTRAC_BUF_H
#define MINTRAC_BUF_H
#include <stddef.h>
#include <stdint.h>
#include "base/xalloc.h"

struct buf {
	char  *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);                 /* len = 0, keeps memory */
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_consume(struct buf *b, size_t n);     /* drop n bytes from the front */
char *buf_steal(struct buf *b);                /* hand over data, buffer becomes empty */

/* Shortest decimal text that reads back to exactly the same double
 * (never %g's 6 digits), always positional ("30", "0.0001", never
 * "3e+01"): valid JSON, xsd:decimal (GPX/KML) and CSV alike. Huge values
 * become long integers: JSON readers with 64-bit integers need their
 * "integers as reals" option for those. "null" for non-finite values. */
void buf_add_double(struct buf *b, double v);
void buf_add_int(struct buf *b, int64_t v);
/* JSON string literal with quotes; invalid UTF-8 bytes become U+FFFD. */
void buf_add_json_str(struct buf *b, const char *s);
/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t n);
/* XML text/attribute escaping (& < > " '). */
void buf_add_xml(struct buf *b, const char *s);
/* "YYYY-MM-DDTHH:MM:SS.sssZ" for UTC milliseconds since the epoch. */
void buf_add_iso_ms(struct buf *b, int64_t ms);
#endif
