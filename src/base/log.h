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
/* A rejection (bad request, wrong credential, refused origin): at most
 * LOG_REJECT_PER_SEC lines a second for each kind (a short static name),
 * then one "suppressed N similar lines" when the next second's first line
 * of that kind is written, so a flood cannot fill the disk. */
#define LOG_REJECT_PER_SEC 20
void log_reject(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every line's message passes through this: bytes that are not printable
 * (controls, DEL, C1 controls, invalid UTF-8) and backslashes are written
 * as \xNN / \\, so a path, user agent or name from the network can
 * neither forge a log line nor hide in one. Writes at most outlen - 1
 * bytes, never cuts an escape or a character, NUL-terminates; returns the
 * length written. */
size_t log_escape(char *out, size_t outlen, const char *in, size_t inlen);
#endif
