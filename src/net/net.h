/* Listening sockets and address text, apart from the HTTP server so that a
 * caller that only binds (the CLI, before it forks the servers) needs none
 * of the connection API. */
#ifndef MINTRAC_NET_H
#define MINTRAC_NET_H
#include <stddef.h>

struct sockaddr;

/* Bind and listen (non-blocking, SO_REUSEADDR) on "host:port" or
 * "[v6]:port"; returns the fd, or -1 with a reason in err. */
int  net_listen(const char *addr, char *err, size_t errlen);
/* "host:port" actually bound (port 0 resolves to the real port). */
void net_sockname(int fd, char *out, size_t len);
/* "1.2.3.4:80", "[::1]:80" or "unknown". */
void net_format_addr(const struct sockaddr *sa, char *out, size_t len);
#endif
