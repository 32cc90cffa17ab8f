/* See test_loc.h. */
#include "test_loc.h"
#include "test.h"
#include "base/auth.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *test_pg_url(const char *name)
{
	const char *url = getenv("MINTRAC_TEST_PG_URL");
	if (url && *url)
		return url;
	(void)name;
	test_skip("MINTRAC_TEST_PG_URL is not set");
	return NULL;
}

/* The cascade's NOTICEs are not news. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Every table, index and partition the store made goes with the schema. */
static int pg_empty(const char *url)
{
	PGconn *c = PQconnectdb(url);
	int ok = PQstatus(c) == CONNECTION_OK;
	if (ok) {
		PQsetNoticeProcessor(c, quiet, NULL);
		PGresult *r = PQexec(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
	}
	if (!ok)
		fprintf(stderr, "emptying %s: %s", url, PQerrorMessage(c));
	PQfinish(c);
	return ok ? 0 : -1;
}

int test_loc_make(struct test_loc *t, int pg)
{
	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/mintrac-test-XXXXXX");
	if (!mkdtemp(t->dir)) {
		perror("mkdtemp");
		t->dir[0] = 0;
		return -1;
	}
	if (!pg) {
		snprintf(t->loc, sizeof t->loc, "%s/mintrac.db", t->dir);
		return 0;
	}
	const char *url = getenv("MINTRAC_TEST_PG_URL");
	if (!url || !*url || strlen(url) >= sizeof t->loc) {
		fprintf(stderr, "MINTRAC_TEST_PG_URL is not set\n");
		return -1;
	}
	snprintf(t->loc, sizeof t->loc, "%s", url);
	return pg_empty(url);
}

struct store *test_loc_open(struct test_loc *t, int pg)
{
	char err[256];
	if (test_loc_make(t, pg) < 0)
		return NULL;
	struct store *s = store_open(t->loc, STORE_CREATE, err, sizeof err);
	if (!s)
		fprintf(stderr, "store_open: %s\n", err);
	return s;
}

void test_loc_remove(struct test_loc *t)
{
	if (!t->dir[0])
		return;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", t->dir);
}

int64_t test_add_device(struct store *s, const char *user, const char *dev, const char *token,
                        const char *ident)
{
	struct user_rec u;
	unsigned char h[TOKEN_HASH_LEN];
	int64_t id = 0;
	if (store_user_get(s, user, &u) == STORE_NOTFOUND &&
	    (store_user_add(s, user, "x") != STORE_OK || store_user_get(s, user, &u) != STORE_OK))
		return 0;
	auth_token_hash(token, h);
	if (store_device_add(s, u.id, dev, h, ident, &id) != STORE_OK)
		return 0;
	return id;
}

struct fix test_fix(int64_t t, double lat, double lon)
{
	struct fix f;
	memset(&f, 0, sizeof f);
	f.time_ms = t;
	f.lat = lat;
	f.lon = lon;
	return f;
}
