/* Logging: one line per event, to stderr (run) or a file (start).
 * log_warn appends strerror(errno), as OpenBSD's log.c does. */
#ifndef MINTRAC_LOG_H
#define MINTRAC_LOG_H
#include <stdio.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Log to stderr until log_open_file() is called; tag names the process. */
void log_set_tag(const char *tag);
void log_set_level(enum log_level lvl);
int  log_open_file(const char *path);   /* -1 on error (errno set) */
void log_close(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
