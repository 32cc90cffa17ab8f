/* Settings: defaults < DATADIR/mintrac.conf (or -c FILE) < MINTRAC_* env <
 * command-line flags. The file is "key = value" lines, '#' comments. */
#ifndef MINTRAC_CONFIG_H
#define MINTRAC_CONFIG_H
#include <limits.h>
#include "base/age.h"
#include "base/log.h"

struct config {
	char   datadir[PATH_MAX];
	char   config_file[PATH_MAX];
	/* store: where the data is (store/store.h's locations): a SQLite
	 * file path (default DATADIR/mintrac.db; "sqlite:PATH", relative to
	 * DATADIR) or a "postgresql://" URI. */
	char   store[PATH_MAX];
	char   receiver_listen[128];       /* receiver_listen, default 127.0.0.1:5055 */
	char   webapp_listen[128];         /* webapp_listen, default 127.0.0.1:8082 */
	char   public_url[512];            /* receiver URL as phones reach it; "" = derived */
	char   webapp_url[512];            /* webapp URL as browsers reach it; "" = derived */
	int    max_conns;                  /* max_connections, default 1024 */
	double idle_timeout;               /* idle_timeout seconds, default 30 */
	int    max_conns_per_addr;         /* max_connections_per_address, default 1/8 of all */
	double request_timeout;            /* request_timeout seconds, default 30 */
	double session_lifetime;           /* session_lifetime seconds from sign-in, default 90 days */
	int    max_streams_per_user;       /* live streams (SSE, WebSocket) a user holds, default 16 */
	int    max_streams_per_addr;       /* max_streams_per_address, default 32 (IPv6: a /64) */
	int    sync_full;                  /* synchronous = full|normal, default full */
	enum log_level log_level;          /* log_level = error|warn|info|debug */
	char   tile_url[512];              /* map tiles (webapp) */
	char   tile_attribution[512];
	/* Space-separated lists, checked when each server starts (net/trust.c). */
	char   trusted_proxies[1024];      /* addresses or CIDR blocks whose X-Forwarded-* count */
	char   trusted_origins[1024];      /* other sites' origins allowed to use the webapp */
	/* History: stay_radius m (100), stay_min s (300), max_accuracy m
	 * (500), jump_speed km/h (250). */
	double stay_radius, stay_min, max_accuracy, jump_speed;
	/* retention: the webapp deletes fixes older than this every day
	 * (n == 0: never, the default). prune_delay: seconds from the
	 * webapp's start to its first prune (default 60), so a restart
	 * prunes soon without slowing the start. */
	struct age retention;
	double prune_delay;
};

/* Fill defaults, then the config file, then the environment. datadir and
 * config_file may be NULL (MINTRAC_DATA, else ./mintrac-data). A missing
 * config file is fine; an unreadable or malformed one is an error. */
int config_load(struct config *c, const char *datadir, const char *config_file,
                char *err, size_t errlen);
/* Apply one "key", "value" setting (file, env and flags share it). */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen);
/* Receiver base URL as phones should use it (public_url or http://listen). */
void config_receiver_url(const struct config *c, char *out, size_t len);
void config_webapp_url(const struct config *c, char *out, size_t len);
#endif
