/* The server-process skeleton shared by receiver_main and webapp_main
 * (service.h). */
#include "net/service.h"

#include <signal.h>
#include <string.h>

#include "base/auth.h"
#include "base/log.h"
#include "base/proc.h"
#include "net/net.h"

/* Polled, not event-driven: the conditions (a writer thread's queue, open
 * connections) have no single event that says "now idle". */
#define DRAIN_POLL_SECONDS 0.01

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct service *svc = w->data;
	int busy = server_waiting(svc->srv) || (svc->ops->busy && svc->ops->busy(svc));
	if (busy && (svc->drain_max <= 0 || ev_now(loop) < svc->drain_until))
		return;
	/* Every acknowledged request is answered (or the wait ran out). */
	ev_timer_stop(loop, w);
	ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	struct service *svc = w->data;
	if (svc->stopping)
		return;
	svc->stopping = 1;
	if (svc->ops->stopping)
		svc->ops->stopping(svc);
	else
		log_info("stopping: no new connections");
	server_stop_accepting(svc->srv);
	svc->drain_until = ev_now(loop) + svc->drain_max;
	ev_timer_start(loop, &svc->drain);
}

/* The part of the server's settings every process shares. */
static void listener_config(const struct service *svc, const struct config *cfg,
                            struct server_config *sc)
{
	memset(sc, 0, sizeof *sc);
	sc->max_conns = cfg->max_conns;
	sc->idle_timeout = cfg->idle_timeout;
	sc->max_conns_per_addr = cfg->max_conns_per_addr;
	sc->request_timeout = cfg->request_timeout;
	sc->max_header_bytes = 16 * 1024;
	sc->name = svc->name;
}

int service_run(struct service *svc, const struct config *cfg, int listen_fd)
{
	struct server_config sc;
	char addr[128];
	ev_signal_init(&svc->sigterm, on_signal, SIGTERM);
	ev_signal_init(&svc->sigint, on_signal, SIGINT);
	ev_timer_init(&svc->drain, drain_cb, 0, DRAIN_POLL_SECONDS);
	svc->sigterm.data = svc->sigint.data = svc->drain.data = svc;
	log_set_tag(svc->name);
	signal(SIGPIPE, SIG_IGN);
	if (auth_init() < 0) {
		log_warnx("cannot initialise libsodium");
		return 1;
	}
	svc->loop = ev_default_loop(EVFLAG_AUTO);
	if (!svc->loop) {
		log_warnx("cannot create the event loop");
		return 1;
	}
	listener_config(svc, cfg, &sc);
	if (svc->ops->open(svc, &sc) < 0) {
		svc->ops->close(svc);
		return 1;
	}
	svc->srv = server_new(svc->loop, listen_fd, &sc);
	if (!svc->srv) {
		log_warnx("cannot start the %s server", svc->name);
		if (svc->ops->quiesce)
			svc->ops->quiesce(svc);
		svc->ops->close(svc);
		return 1;
	}
	ev_signal_start(svc->loop, &svc->sigterm);
	ev_signal_start(svc->loop, &svc->sigint);
	net_sockname(listen_fd, addr, sizeof addr);
	log_info("%s listening on %s", svc->name, addr);
	proc_ready();
	ev_run(svc->loop, 0);
	ev_signal_stop(svc->loop, &svc->sigterm);
	ev_signal_stop(svc->loop, &svc->sigint);
	ev_timer_stop(svc->loop, &svc->drain);
	if (svc->ops->quiesce)
		svc->ops->quiesce(svc);
	server_free(svc->srv);
	svc->srv = NULL;
	svc->ops->close(svc);
	log_info("%s stopped", svc->name);
	return 0;
}
