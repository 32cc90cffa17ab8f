/* The skeleton of a server process (the receiver, the webapp): ignore
 * SIGPIPE, libsodium, the event loop, the HTTP server on the bound socket,
 * SIGTERM/SIGINT, a drain before exit, readiness for the supervisor, and
 * one release path. What differs (the store, the handlers, what shutdown
 * waits for) comes in as service_ops callbacks, which reach their process
 * state with container_of on the embedded struct service. */
#ifndef MINTRAC_SERVICE_H
#define MINTRAC_SERVICE_H
#include <ev.h>
#include "base/config.h"
#include "net/server.h"

struct service;

struct service_ops {
	/* Opens what the process needs on svc->loop (store, watchers) and
	 * sets sc's handler, ctx and body limits; the listener's common
	 * settings are filled in already. 0, or -1 after logging why; close
	 * then releases whatever was made. */
	int  (*open)(struct service *svc, struct server_config *sc);
	/* Shutdown waits while this returns non-zero (and while replies are
	 * held), at most drain_max seconds when that is set. NULL: nothing. */
	int  (*busy)(struct service *svc);
	/* A signal arrived and accepting stopped: logs what is left. NULL
	 * logs "stopping: no new connections". */
	void (*stopping)(struct service *svc);
	/* The loop ended and the server still exists: finish what answers
	 * through its connections, stop the watchers open started. Only
	 * after a successful open. NULL: nothing. */
	void (*quiesce)(struct service *svc);
	/* After the server is freed (or open failed): release everything. */
	void (*close)(struct service *svc);
};

struct service {
	/* Set by the caller. */
	const char               *name;       /* "receiver": log lines, server name */
	const struct service_ops *ops;
	double                    drain_max;  /* seconds; 0 = until busy() is 0 */
	/* Set by service_run. */
	struct ev_loop           *loop;
	struct server            *srv;
	int                       stopping;   /* a signal arrived: take no new work */
	ev_signal                 sigterm, sigint;
	ev_timer                  drain;
	ev_tstamp                 drain_until;
};

/* Runs the process on the already bound listen_fd until SIGTERM/SIGINT,
 * then stops accepting, drains and releases; the process exit status
 * (0, or 1 when it could not start). */
int service_run(struct service *svc, const struct config *cfg, int listen_fd);
#endif
