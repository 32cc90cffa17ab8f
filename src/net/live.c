/* Receiver -> webapp notices (see live.h). The socket lives in Linux's
 * abstract namespace, named after the database's real path: nothing to
 * clean up after a crash, and two mintrac instances on one machine (two
 * data directories) never hear each other. An abstract name has no file
 * permissions, so any local user could send to it: the kernel stamps each
 * datagram with its sender's credentials (SO_PASSCRED), and only those
 * from our own user are read. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "net/live.h"
#include "base/log.h"

#define LIVE_MAGIC   0x4d544c31u          /* "MTL1" */
#define LIVE_PER_MSG 4096                 /* keys per datagram: 64 KiB */
#define LIVE_RCVBUF  (4 * 1024 * 1024)

struct live_msg {
	uint32_t        magic;
	uint32_t        n;
	struct live_key keys[LIVE_PER_MSG];
};

struct live_tx {
	int                fd;
	struct sockaddr_un addr;
	socklen_t          addrlen;
	int                warned;
};

struct live_rx {
	int             fd;
	struct live_msg msg;
};

static socklen_t live_addr(const char *db_path, struct sockaddr_un *sa)
{
	char real[PATH_MAX];
	const char *p = realpath(db_path, real) ? real : db_path;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)p, strlen(p));
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	/* sun_path[0] == 0: abstract name, the rest is not NUL-terminated. */
	int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "mintrac-live-");
	for (int i = 0; i < 12; i++)
		n += snprintf(sa->sun_path + 1 + n, sizeof sa->sun_path - 1 - (size_t)n, "%02x",
		              h[i]);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int live_socket(void)
{
	return socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

struct live_tx *live_tx_new(const char *db_path)
{
	struct live_tx *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->fd = live_socket();
	if (t->fd < 0) {
		log_warn("live updates off: socket");
		free(t);
		return NULL;
	}
	t->addrlen = live_addr(db_path, &t->addr);
	return t;
}

void live_tx_free(struct live_tx *t)
{
	if (!t)
		return;
	close(t->fd);
	free(t);
}

void live_tx_send(struct live_tx *t, const struct live_key *keys, size_t n)
{
	struct {
		uint32_t magic, n;
	} head;
	while (t && n > 0) {
		size_t k = n < LIVE_PER_MSG ? n : LIVE_PER_MSG;
		head.magic = LIVE_MAGIC;
		head.n = (uint32_t)k;
		struct iovec iov[2] = {
			{ .iov_base = &head, .iov_len = sizeof head },
			{ .iov_base = (void *)(uintptr_t)keys, .iov_len = k * sizeof *keys },
		};
		struct msghdr mh = { .msg_name = &t->addr, .msg_namelen = t->addrlen,
		                     .msg_iov = iov, .msg_iovlen = 2 };
		if (sendmsg(t->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			/* No webapp (ECONNREFUSED), or a busy one (EAGAIN): the
			 * notice is dropped, the fixes are stored regardless. */
			if (errno != ECONNREFUSED && errno != ENOENT && errno != EAGAIN &&
			    !t->warned) {
				log_warn("live notice not sent");
				t->warned = 1;
			}
			return;
		}
		keys += k;
		n -= k;
	}
}

struct live_rx *live_rx_new(const char *db_path)
{
	struct live_rx *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	struct sockaddr_un sa;
	socklen_t len = live_addr(db_path, &sa);
	r->fd = live_socket();
	if (r->fd < 0) {
		log_warn("live updates off: socket");
		free(r);
		return NULL;
	}
	int sz = LIVE_RCVBUF;
	/* A bigger queue absorbs bursts (an Overland batch of thousands). */
	(void)setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	int on = 1;
	if (setsockopt(r->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0) {
		log_warn("live updates off: SO_PASSCRED");
		close(r->fd);
		free(r);
		return NULL;
	}
	if (bind(r->fd, (struct sockaddr *)&sa, len) < 0) {
		log_warn("live updates off: bind");
		close(r->fd);
		free(r);
		return NULL;
	}
	return r;
}

void live_rx_free(struct live_rx *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r);
}

int live_rx_fd(const struct live_rx *r)
{
	return r->fd;
}

/* The kernel's stamp of who sent the datagram (never what they claim). */
static int live_sender_ok(struct msghdr *mh, uid_t self)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cr;
			memcpy(&cr, CMSG_DATA(c), sizeof cr);
			return cr.uid == self;
		}
	}
	return 0;
}

size_t live_rx_drain(struct live_rx *r, void (*cb)(void *ctx, const struct live_key *k),
                     void *ctx)
{
	size_t total = 0;
	uid_t self = geteuid();
	for (;;) {
		union {
			struct cmsghdr h;
			char           space[CMSG_SPACE(sizeof(struct ucred))];
		} cm;
		struct iovec iov = { .iov_base = &r->msg, .iov_len = sizeof r->msg };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm,
		                     .msg_controllen = sizeof cm };
		ssize_t n = recvmsg(r->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("live: recv");
			return total;
		}
		if (!live_sender_ok(&mh, self)) {
			log_reject("live", "live: ignored a notice from another user");
			continue;
		}
		/* A datagram that is not exactly one of ours is ignored. */
		size_t hdr = offsetof(struct live_msg, keys);
		if ((size_t)n < hdr || r->msg.magic != LIVE_MAGIC || r->msg.n > LIVE_PER_MSG ||
		    (size_t)n != hdr + r->msg.n * sizeof(struct live_key))
			continue;
		for (uint32_t i = 0; i < r->msg.n; i++)
			cb(ctx, &r->msg.keys[i]);
		total += r->msg.n;
	}
}
