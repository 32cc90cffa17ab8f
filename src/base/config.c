#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->receiver_listen, sizeof c->receiver_listen, "127.0.0.1:5055");
	snprintf(c->webapp_listen, sizeof c->webapp_listen, "127.0.0.1:8082");
	c->max_conns = 1024;
	c->idle_timeout = 30;
	c->session_lifetime = 90.0 * 86400;
	c->stay_radius = 100;
	c->stay_min = 300;
	c->max_accuracy = 500;
	c->jump_speed = 250;
	c->max_streams_per_user = 16;
	c->max_streams_per_addr = 32;
	c->sync_full = 1;
	c->prune_delay = 60;
	c->log_level = LOG_LVL_INFO;
	snprintf(c->tile_url, sizeof c->tile_url, "https://tile.openstreetmap.org/{z}/{x}/{y}.png");
	snprintf(c->tile_attribution, sizeof c->tile_attribution,
	         "&copy; OpenStreetMap contributors");
}

static int set_str(char *dst, size_t len, const char *key, const char *v, char *err, size_t errlen)
{
	if (strlen(v) >= len) {
		snprintf(err, errlen, "%s: value too long", key);
		return -1;
	}
	snprintf(dst, len, "%s", v);
	return 0;
}

/* Seconds, or a number with a unit (s, m, h, d); 0 when it is neither. */
static double duration(const char *v)
{
	char *end;
	double d = strtod(v, &end);
	double unit = !strcmp(end, "") || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
	            : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : 0;
	return end == v || !(d > 0) ? 0 : d * unit;
}

/* A plain number within [lo, hi]: 0, else -1 with the message. */
static int number_in(const char *key, const char *v, double lo, double hi, const char *unit,
                     double *out, char *err, size_t errlen)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || *end || !(d >= lo && d <= hi)) {
		snprintf(err, errlen, "%s: expected %g..%g %s, got '%s'", key, lo, hi, unit, v);
		return -1;
	}
	*out = d;
	return 0;
}

/* A relative SQLite path is taken from DATADIR, like the default file, so
 * the same mintrac.conf works from any working directory. */
static int set_store(struct config *c, const char *v, char *err, size_t errlen)
{
	int pg = !strncmp(v, "postgresql://", 13) || !strncmp(v, "postgres://", 11);
	const char *path = !strncmp(v, "sqlite:", 7) ? v + 7 : v;
	if (!pg && !*path) {
		snprintf(err, errlen, "store: expected sqlite:PATH or postgresql://..., got '%s'", v);
		return -1;
	}
	if (!pg && strstr(path, "://")) {
		snprintf(err, errlen, "store: unknown kind of store '%s' (sqlite:PATH or "
		         "postgresql://...)", v);
		return -1;
	}
	int n = pg || path[0] == '/' ? snprintf(c->store, sizeof c->store, "%s", pg ? v : path)
	                             : snprintf(c->store, sizeof c->store, "%s/%s", c->datadir, path);
	if (n < 0 || (size_t)n >= sizeof c->store) {
		snprintf(err, errlen, "store: too long");
		return -1;
	}
	return 0;
}

int config_set(struct config *c, const char *key, const char *v, char *err, size_t errlen)
{
	char *end;
	if (!strcmp(key, "store"))
		return set_store(c, v, err, errlen);
	if (!strcmp(key, "receiver_listen"))
		return set_str(c->receiver_listen, sizeof c->receiver_listen, key, v, err, errlen);
	if (!strcmp(key, "webapp_listen"))
		return set_str(c->webapp_listen, sizeof c->webapp_listen, key, v, err, errlen);
	if (!strcmp(key, "public_url"))
		return set_str(c->public_url, sizeof c->public_url, key, v, err, errlen);
	if (!strcmp(key, "webapp_url"))
		return set_str(c->webapp_url, sizeof c->webapp_url, key, v, err, errlen);
	if (!strcmp(key, "tile_url"))
		return set_str(c->tile_url, sizeof c->tile_url, key, v, err, errlen);
	if (!strcmp(key, "tile_attribution"))
		return set_str(c->tile_attribution, sizeof c->tile_attribution, key, v, err, errlen);
	if (!strcmp(key, "trusted_proxies"))
		return set_str(c->trusted_proxies, sizeof c->trusted_proxies, key, v, err, errlen);
	if (!strcmp(key, "trusted_origins"))
		return set_str(c->trusted_origins, sizeof c->trusted_origins, key, v, err, errlen);
	if (!strcmp(key, "max_connections")) {
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || *end || n < 1 || n > 1000000) {
			snprintf(err, errlen, "max_connections: expected 1..1000000, got '%s'", v);
			return -1;
		}
		c->max_conns = (int)n;
		return 0;
	}
	if (!strcmp(key, "max_connections_per_address")) {
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || *end || n < 1 || n > 1000000) {
			snprintf(err, errlen, "max_connections_per_address: expected 1..1000000, got '%s'",
			         v);
			return -1;
		}
		c->max_conns_per_addr = (int)n;
		return 0;
	}
	if (!strcmp(key, "max_streams_per_user") || !strcmp(key, "max_streams_per_address")) {
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || *end || n < 1 || n > 1000000) {
			snprintf(err, errlen, "%s: expected 1..1000000, got '%s'", key, v);
			return -1;
		}
		if (!strcmp(key, "max_streams_per_user"))
			c->max_streams_per_user = (int)n;
		else
			c->max_streams_per_addr = (int)n;
		return 0;
	}
	if (!strcmp(key, "request_timeout")) {
		double d = strtod(v, &end);
		if (*end || !(d > 0) || d > 86400) {
			snprintf(err, errlen, "request_timeout: expected seconds > 0, got '%s'", v);
			return -1;
		}
		c->request_timeout = d;
		return 0;
	}
	if (!strcmp(key, "idle_timeout")) {
		double d = strtod(v, &end);
		if (*end || !(d > 0) || d > 86400) {
			snprintf(err, errlen, "idle_timeout: expected seconds > 0, got '%s'", v);
			return -1;
		}
		c->idle_timeout = d;
		return 0;
	}
	if (!strcmp(key, "session_lifetime")) {
		/* A number of seconds, or with a unit: 12h, 90d. */
		double d = duration(v);
		if (!(d > 0) || d > 10.0 * 366 * 86400) {
			snprintf(err, errlen, "session_lifetime: expected a duration such as 90d, "
			         "12h or seconds, got '%s'", v);
			return -1;
		}
		c->session_lifetime = d;
		return 0;
	}
	/* History (design.md "History"): the limits of cleaning and stays. */
	if (!strcmp(key, "stay_radius"))
		return number_in(key, v, 10, 10000, "m", &c->stay_radius, err, errlen);
	if (!strcmp(key, "max_accuracy"))
		return number_in(key, v, 1, 100000, "m", &c->max_accuracy, err, errlen);
	if (!strcmp(key, "jump_speed"))
		return number_in(key, v, 10, 5000, "km/h", &c->jump_speed, err, errlen);
	if (!strcmp(key, "stay_min")) {
		double d = duration(v);
		if (!(d >= 30) || d > 86400) {
			snprintf(err, errlen, "stay_min: expected a duration from 30s to 1d such as 5m, "
			         "got '%s'", v);
			return -1;
		}
		c->stay_min = d;
		return 0;
	}
	if (!strcmp(key, "retention")) {
		/* "none" too, so an environment can switch off a file's setting. */
		if (!strcmp(v, "none")) {
			c->retention.n = 0;
			return 0;
		}
		if (parse_age(v, &c->retention) < 0) {
			snprintf(err, errlen, "retention: expected an age such as 30d, 2w, 6m or 2y "
			         "(days, weeks, months, years; at most 1000y) or none, got '%s'", v);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "prune_delay")) {
		double d = duration(v);
		if (!(d > 0) || d > 86400) {
			snprintf(err, errlen, "prune_delay: expected a duration up to 1d such as 60s "
			         "or 5m, got '%s'", v);
			return -1;
		}
		c->prune_delay = d;
		return 0;
	}
	if (!strcmp(key, "synchronous")) {
		if (!strcmp(v, "full"))
			c->sync_full = 1;
		else if (!strcmp(v, "normal"))
			c->sync_full = 0;
		else {
			snprintf(err, errlen, "synchronous: expected full or normal, got '%s'", v);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "log_level")) {
		static const char *names[] = { "error", "warn", "info", "debug" };
		for (int i = 0; i < 4; i++)
			if (!strcmp(v, names[i])) {
				c->log_level = (enum log_level)i;
				return 0;
			}
		snprintf(err, errlen, "log_level: expected error|warn|info|debug, got '%s'", v);
		return -1;
	}
	snprintf(err, errlen, "unknown setting '%s'", key);
	return -1;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int load_file(struct config *c, const char *path, int must_exist, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "re");
	if (!fp) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char line[2048], msg[256];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, fp)) {
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = 0;
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = 0;
			val++;
		}
		if (config_set(c, key, val, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			rc = -1;
			break;
		}
	}
	fclose(fp);
	return rc;
}

static const struct { const char *env, *key; } env_map[] = {
	{ "MINTRAC_STORE", "store" },
	{ "MINTRAC_RECEIVER_LISTEN", "receiver_listen" },
	{ "MINTRAC_WEBAPP_LISTEN", "webapp_listen" },
	{ "MINTRAC_PUBLIC_URL", "public_url" },
	{ "MINTRAC_WEBAPP_URL", "webapp_url" },
	{ "MINTRAC_MAX_CONNECTIONS", "max_connections" },
	{ "MINTRAC_IDLE_TIMEOUT", "idle_timeout" },
	{ "MINTRAC_MAX_CONNECTIONS_PER_ADDRESS", "max_connections_per_address" },
	{ "MINTRAC_REQUEST_TIMEOUT", "request_timeout" },
	{ "MINTRAC_SESSION_LIFETIME", "session_lifetime" },
	{ "MINTRAC_MAX_STREAMS_PER_USER", "max_streams_per_user" },
	{ "MINTRAC_MAX_STREAMS_PER_ADDRESS", "max_streams_per_address" },
	{ "MINTRAC_SYNCHRONOUS", "synchronous" },
	{ "MINTRAC_LOG_LEVEL", "log_level" },
	{ "MINTRAC_TILE_URL", "tile_url" },
	{ "MINTRAC_TRUSTED_PROXIES", "trusted_proxies" },
	{ "MINTRAC_TRUSTED_ORIGINS", "trusted_origins" },
	{ "MINTRAC_STAY_RADIUS", "stay_radius" },
	{ "MINTRAC_STAY_MIN", "stay_min" },
	{ "MINTRAC_MAX_ACCURACY", "max_accuracy" },
	{ "MINTRAC_JUMP_SPEED", "jump_speed" },
	{ "MINTRAC_RETENTION", "retention" },
	{ "MINTRAC_PRUNE_DELAY", "prune_delay" },
};

int config_load(struct config *c, const char *datadir, const char *config_file,
                char *err, size_t errlen)
{
	defaults(c);
	if (!datadir || !*datadir)
		datadir = getenv("MINTRAC_DATA");
	if (!datadir || !*datadir)
		datadir = "./mintrac-data";
	if (strlen(datadir) + 32 >= sizeof c->datadir) {
		snprintf(err, errlen, "data directory path too long");
		return -1;
	}
	snprintf(c->datadir, sizeof c->datadir, "%s", datadir);
	snprintf(c->store, sizeof c->store, "%s/mintrac.db", datadir);
	int must_exist = config_file != NULL;
	if (!config_file)
		config_file = getenv("MINTRAC_CONFIG");
	if (config_file)
		snprintf(c->config_file, sizeof c->config_file, "%s", config_file);
	else
		snprintf(c->config_file, sizeof c->config_file, "%s/mintrac.conf", datadir);
	if (load_file(c, c->config_file, must_exist, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < sizeof env_map / sizeof env_map[0]; i++) {
		const char *v = getenv(env_map[i].env);
		char msg[256];
		if (v && *v && config_set(c, env_map[i].key, v, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "%s: %s", env_map[i].env, msg);
			return -1;
		}
	}
	return 0;
}

static void url_from_listen(const char *listen, char *out, size_t len)
{
	/* A wildcard bind is no address a phone can use; show the host name
	 * placeholder so the user knows to set public_url. */
	if (!strncmp(listen, "0.0.0.0:", 8) || !strncmp(listen, "[::]:", 5) || listen[0] == ':')
		snprintf(out, len, "http://YOUR-SERVER%s", strrchr(listen, ':'));
	else
		snprintf(out, len, "http://%s", listen);
}

static void strip_slash(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = 0;
}

void config_receiver_url(const struct config *c, char *out, size_t len)
{
	if (c->public_url[0])
		snprintf(out, len, "%s", c->public_url);
	else
		url_from_listen(c->receiver_listen, out, len);
	strip_slash(out);
}

void config_webapp_url(const struct config *c, char *out, size_t len)
{
	if (c->webapp_url[0])
		snprintf(out, len, "%s", c->webapp_url);
	else
		url_from_listen(c->webapp_listen, out, len);
	strip_slash(out);
}
