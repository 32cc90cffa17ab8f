/* Sockets apart from HTTP, as Redis keeps anet.c apart from networking.c:
 * binding a listener, and the text of an address. */
#include "net/net.h"

#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>

#define LISTEN_BACKLOG 1024

void net_format_addr(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		snprintf(out, len, "unknown");
	}
}

/* "host:port", "[v6]:port" or ":port" (every address) into host and port;
 * host "" means any. */
static int split_addr(const char *addr, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return -1;
		if ((size_t)(end - addr - 1) >= hlen)
			return -1;
		memcpy(host, addr + 1, (size_t)(end - addr - 1));
		host[end - addr - 1] = 0;
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= hlen)
			return -1;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = 0;
	}
	if (!colon[1] || strlen(colon + 1) >= plen)
		return -1;
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

static int listen_one(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                ai->ai_protocol);
	if (fd < 0)
		return -1;
	int one = 1, zero = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		goto fail;
	/* "[::]:port" and ":port" also take IPv4 where the system allows. */
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	return fd;
fail:;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int net_listen(const char *addr, char *err, size_t errlen)
{
	char host[256], port[32];
	if (split_addr(addr, host, sizeof host, port, sizeof port) < 0) {
		snprintf(err, errlen, "cannot listen on %s: expected HOST:PORT", addr);
		return -1;
	}
	struct addrinfo hints = { 0 }, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		         rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	int fd = -1, saved = 0;
	for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = listen_one(ai);
		if (fd < 0)
			saved = errno;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(saved));
	return fd;
}

void net_sockname(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(out, len, "unknown");
		return;
	}
	net_format_addr((struct sockaddr *)&ss, out, len);
}

