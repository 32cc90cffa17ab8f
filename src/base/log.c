#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Process-wide logging state: one logger per process by design. */
static FILE *log_fp;
static char log_tag[32] = "mintrac";
static enum log_level log_lvl = LOG_LVL_INFO;

/* log_reject's count per kind for the current second. */
#define REJECT_KINDS 16
static struct reject_kind {
	const char *kind;
	time_t      sec;
	unsigned    lines;       /* written this second */
	unsigned long suppressed;
} reject_kinds[REJECT_KINDS];

void log_set_tag(const char *tag)
{
	snprintf(log_tag, sizeof log_tag, "%s", tag);
}

void log_set_level(enum log_level lvl)
{
	log_lvl = lvl;
}

int log_open_file(const char *path)
{
	FILE *fp = fopen(path, "ae");
	if (!fp)
		return -1;
	setvbuf(fp, NULL, _IOLBF, 0);
	if (log_fp)
		fclose(log_fp);
	log_fp = fp;
	return 0;
}

void log_close(void)
{
	if (log_fp)
		fclose(log_fp);
	log_fp = NULL;
}

/* Length of the printable UTF-8 character at s (1..4), 0 when s does not
 * start one (a control, DEL, a C1 control, or malformed). */
static size_t printable_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp;
	size_t len;
	if (c < 0x80)
		return c >= 0x20 && c != 0x7f ? 1 : 0;
	if ((c & 0xE0) == 0xC0) {
		cp = c & 0x1F;
		len = 2;
	} else if ((c & 0xF0) == 0xE0) {
		cp = c & 0x0F;
		len = 3;
	} else if ((c & 0xF8) == 0xF0) {
		cp = c & 0x07;
		len = 4;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3F);
	}
	if ((len == 2 && cp < 0xA0) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;   /* overlong, C1 control, surrogate, out of range */
	return len;
}

size_t log_escape(char *out, size_t outlen, const char *in, size_t inlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	if (!outlen)
		return 0;
	for (size_t i = 0; i < inlen;) {
		size_t k = s[i] == '\\' ? 0 : printable_char(s + i, inlen - i);
		if (k) {
			if (o + k >= outlen)
				break;
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else if (s[i] == '\\') {
			if (o + 2 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
			i++;
		} else {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[i] >> 4];
			out[o++] = hex[s[i] & 15];
			i++;
		}
	}
	out[o] = 0;
	return o;
}

__attribute__((format(printf, 3, 0)))
static void vlog(enum log_level lvl, const char *errstr, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	if (lvl > log_lvl)
		return;
	FILE *out = log_fp ? log_fp : stderr;
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	/* Build the line first so concurrent processes never interleave it. */
	char line[2048];
	int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s[%d] %s: ",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, (int)(tv.tv_usec / 1000), log_tag, (int)getpid(), names[lvl]);
	if (n < 0)
		return;
	char msg[1024];
	int m = vsnprintf(msg, sizeof msg, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)m >= sizeof msg)
		m = (int)sizeof msg - 1;
	if ((size_t)n < sizeof line)
		n += (int)log_escape(line + n, sizeof line - (size_t)n, msg, (size_t)m);
	if ((size_t)n < sizeof line && errstr)
		n += snprintf(line + n, sizeof line - (size_t)n, ": %s", errstr);
	if ((size_t)n >= sizeof line - 1)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, out);
	fflush(out);
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void log_reject(const char *kind, const char *fmt, ...)
{
	struct reject_kind *k = NULL;
	for (size_t i = 0; i < REJECT_KINDS && !k; i++)
		if (!reject_kinds[i].kind || !strcmp(reject_kinds[i].kind, kind))
			k = &reject_kinds[i];
	if (!k)
		k = &reject_kinds[REJECT_KINDS - 1];   /* more kinds than slots: they share */
	if (k->kind != kind && (!k->kind || strcmp(k->kind, kind)))
		k->kind = kind;
	time_t now = time(NULL);
	if (now != k->sec) {
		k->sec = now;
		k->lines = 0;
	}
	if (k->lines >= LOG_REJECT_PER_SEC) {
		k->suppressed++;
		return;
	}
	k->lines++;
	if (k->suppressed) {
		log_info("suppressed %lu similar lines (%s)", k->suppressed, kind);
		k->suppressed = 0;
	}
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
