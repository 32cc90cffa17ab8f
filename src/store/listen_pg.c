/* Announcing committed fixes on PostgreSQL: NOTIFY inside the writer's
 * transaction (delivered at commit, never for a rollback) and a LISTEN
 * connection of its own in each webapp, so a live map hears every
 * receiver, on any host. A payload holds "DEVICE:TIME" pairs separated by
 * spaces, under PostgreSQL's 8000-byte limit; a batch takes as many
 * notifications as it needs. */
#include "store/store_backend.h"
#include "store/store_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/point.h"
#include "base/xalloc.h"

#define CHANNEL "mintrac_fixes"
#define PAYLOAD_MAX 7900
/* Reconnecting: the first try at once, then waits doubling up to the max. */
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 5000

static int notify(PGconn *c, const char *payload, char *err, size_t errlen)
{
	const char *v[1] = { payload };
	PGresult *r = PQexecParams(c, "SELECT pg_notify('" CHANNEL "', $1)", 1, NULL, v, NULL,
	                           NULL, 0);
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(err, errlen, "notify: %s", PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

int pg_notify_fixes(PGconn *c, const int64_t *device_ids, const struct fix *const *fixes,
                    const int *inserted, size_t n, char *err, size_t errlen)
{
	char payload[PAYLOAD_MAX + 64];
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (inserted[i] != 1)
			continue;
		if (len > PAYLOAD_MAX) {
			if (notify(c, payload, err, errlen) < 0)
				return -1;
			len = 0;
		}
		len += (size_t)snprintf(payload + len, sizeof payload - len, "%s%" PRId64 ":%" PRId64,
		                        len ? " " : "", device_ids[i], fixes[i]->time_ms);
	}
	return len ? notify(c, payload, err, errlen) : 0;
}

int pg_store_notify(struct store *s, const int64_t *device_ids, const struct fix *const *fixes,
                    const int *inserted, size_t n)
{
	char err[512];
	PGconn *c = store_pg_conn(s);
	if (!c)
		return STORE_ERR;      /* store_errmsg says why */
	if (pg_notify_fixes(c, device_ids, fixes, inserted, n, err, sizeof err) < 0)
		return store_pg_fail(s, err);
	return STORE_OK;
}

struct store_listen {
	char   *uri;
	PGconn *c;              /* NULL while down */
	int64_t next_try_ms;    /* mono ms */
	int64_t wait_ms;
};

static void down(struct store_listen *l, const char *why)
{
	if (why)
		log_warnx("live: %s; reconnecting", why);
	PQfinish(l->c);
	l->c = NULL;
	l->next_try_ms = mono_ms() + l->wait_ms;
	l->wait_ms = l->wait_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : l->wait_ms * 2;
}

/* A bounded connect: this runs on the webapp's loop, so an unreachable
 * host may hold it for connect_timeout at most, once per retry. */
static int connect_listen(struct store_listen *l, char *err, size_t errlen)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { l->uri, "2", "mintrac-live", NULL };
	l->c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(l->c) != CONNECTION_OK) {
		snprintf(err, errlen, "postgresql: %s", PQerrorMessage(l->c));
		err[strcspn(err, "\n")] = 0;
		return -1;
	}
	PGresult *r = PQexec(l->c, "LISTEN " CHANNEL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(err, errlen, "listen: %s", PQresultErrorMessage(r));
	PQclear(r);
	if (!ok || PQsetnonblocking(l->c, 1) != 0)
		return -1;
	l->wait_ms = RETRY_MIN_MS;
	return 0;
}

struct store_listen *pg_listen_open(const char *uri, char *err, size_t errlen)
{
	struct store_listen *l = xcalloc(1, sizeof *l);
	l->uri = xstrdup(uri);
	l->wait_ms = RETRY_MIN_MS;
	/* Unreachable now is not an error: drain tries again. */
	if (connect_listen(l, err, errlen) < 0)
		down(l, err);
	return l;
}

void pg_listen_close(struct store_listen *l)
{
	if (!l)
		return;
	PQfinish(l->c);
	free(l->uri);
	free(l);
}

int pg_listen_fd(const struct store_listen *l)
{
	return l->c ? PQsocket(l->c) : -1;
}

static int64_t deliver(const char *payload,
                       void (*cb)(void *ctx, int64_t device_id, int64_t time_ms), void *ctx)
{
	int64_t n = 0;
	const char *p = payload;
	while (*p) {
		char *end;
		errno = 0;
		long long dev = strtoll(p, &end, 10);
		if (end == p || *end != ':')
			break;     /* not ours: someone else NOTIFYing on the channel */
		p = end + 1;
		long long t = strtoll(p, &end, 10);
		if (end == p || errno)
			break;
		cb(ctx, dev, t);
		n++;
		p = end;
		while (*p == ' ')
			p++;
	}
	return n;
}

int64_t pg_listen_drain(struct store_listen *l,
                        void (*cb)(void *ctx, int64_t device_id, int64_t time_ms), void *ctx)
{
	char err[512];
	if (!l->c) {
		if (mono_ms() < l->next_try_ms)
			return -1;
		if (connect_listen(l, err, sizeof err) < 0) {
			down(l, NULL);
			return -1;
		}
		log_info("live: connected again");
	}
	if (!PQconsumeInput(l->c) || PQstatus(l->c) != CONNECTION_OK) {
		snprintf(err, sizeof err, "%s", PQerrorMessage(l->c));
		err[strcspn(err, "\n")] = 0;
		down(l, err);
		return -1;
	}
	int64_t n = 0;
	PGnotify *nt;
	while ((nt = PQnotifies(l->c)) != NULL) {
		n += deliver(nt->extra, cb, ctx);
		PQfreemem(nt);
	}
	return n;
}
