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
	if ((size_t)n < sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
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
