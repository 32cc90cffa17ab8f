/* session.c: cookie sessions (create, check, slide, expire, refresh, end). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/auth.h"
#include "base/buf.h"
#include "base/point.h"
#include "webapp/session.h"
#include "store/store.h"
#include "webapp/webapp.h"
#include "test.h"
#include "test_decode.h"

TEST(session_lifecycle)
{
	char err[256], dir[] = "/tmp/mintrac-session-XXXXXX", path[300];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/db", dir);
	struct store *st = store_open(path, STORE_CREATE, err, sizeof err);
	CHECK(st != NULL);
	char hash[PWHASH_LEN];
	auth_init();
	auth_password_hash("password1", hash);
	CHECK_INT(store_user_add(st, "anna", hash), STORE_OK);
	struct user_rec u;
	CHECK_INT(store_user_get(st, "anna", &u), STORE_OK);
	struct sessions *ss = sessions_new(st, 0, 3 * SESSION_TTL_MS);
	struct http_request r;
	mt_test_request(&r, "POST /api/login\nX-Forwarded-Proto: https, http\n\n");
	struct buf h; buf_init(&h);
	char csrf[48];
	CHECK_INT(sessions_create(ss, &r, &u, &h, csrf), 0);
	/* The first X-Forwarded-Proto hop is the client's: https -> Secure. */
	CHECK(strstr(h.data, "; HttpOnly; SameSite=Lax; Max-Age=2592000; Secure\r\n") != NULL);
	CHECK(strlen(csrf) >= 22);
	char id[64] = "";
	sscanf(h.data, "Set-Cookie: mintrac_session=%32s", id);
	http_request_free(&r);
	char raw[256];
	snprintf(raw, sizeof raw, "GET /\nCookie: a=b; mintrac_session=%s\n\n", id);
	mt_test_request(&r, raw);
	struct caller who;
	CHECK_INT(sessions_check(ss, &r, &who), 1);
	CHECK_STR(who.user.name, "anna");
	CHECK_STR(who.csrf, csrf);
	CHECK_INT(who.via, VIA_SESSION);
	/* Refresh re-sends the same id with the full lifetime. */
	buf_reset(&h);
	sessions_refresh(ss, &r, &who, &h);
	char want[200];
	snprintf(want, sizeof want, "Set-Cookie: mintrac_session=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000\r\n", id);
	CHECK_STR(h.data, want);
	unsigned char ih[TOKEN_HASH_LEN];
	auth_token_hash(id, ih);
	struct session_rec rec;
	CHECK_INT(store_session_get(st, ih, now_ms(), &rec), STORE_OK);
	int64_t e0 = rec.expires_ms;
	/* more than half left: untouched */
	CHECK_INT(store_session_touch(st, ih, now_ms() + SESSION_TTL_MS / 2 + 60000), STORE_OK);
	CHECK_INT(store_session_get(st, ih, now_ms(), &rec), STORE_OK);
	int64_t e1 = rec.expires_ms;
	CHECK_INT(sessions_check(ss, &r, &who), 1);
	CHECK_INT(store_session_get(st, ih, now_ms(), &rec), STORE_OK);
	CHECK_INT(rec.expires_ms, e1);
	/* less than half: extended */
	CHECK_INT(store_session_touch(st, ih, now_ms() + 1000), STORE_OK);
	CHECK_INT(sessions_check(ss, &r, &who), 1);
	CHECK_INT(store_session_get(st, ih, now_ms(), &rec), STORE_OK);
	CHECK(rec.expires_ms >= e0);
	/* expired */
	CHECK_INT(store_session_touch(st, ih, now_ms() - 1), STORE_OK);
	CHECK_INT(sessions_check(ss, &r, &who), 0);
	buf_reset(&h);
	CHECK_INT(sessions_destroy(ss, &r, &h), 0);
	CHECK(strstr(h.data, "mintrac_session=; Path=/") != NULL);
	CHECK(strstr(h.data, "Max-Age=0") != NULL);
	/* A cookie not shaped like ours is never looked up. */
	http_request_free(&r);
	mt_test_request(&r, "GET /\nCookie: mintrac_session=../../x\n\n");
	CHECK_INT(sessions_check(ss, &r, &who), 0);
	http_request_free(&r);
	buf_free(&h);
	sessions_free(ss);
	store_close(st);
	snprintf(raw, sizeof raw, "rm -rf '%s'", dir);
	CHECK_INT(system(raw), 0);
}

/* The cookie id sessions_create put in h. */
static void cookie_id(const struct buf *h, char id[64])
{
	id[0] = 0;
	const char *p = strstr(h->data, "mintrac_session=");
	if (p)
		sscanf(p, "mintrac_session=%32s", id);
}

TEST(session_absolute_lifetime_and_cap_per_user)
{
	char err[256], dir[] = "/tmp/mintrac-session-XXXXXX", path[300], raw[256];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/db", dir);
	struct store *st = store_open(path, STORE_CREATE, err, sizeof err);
	CHECK(st != NULL);
	auth_init();
	CHECK_INT(store_user_add(st, "anna", "x"), STORE_OK);
	struct user_rec u;
	CHECK_INT(store_user_get(st, "anna", &u), STORE_OK);
	/* An hour's lifetime: the cookie says so, and so does its refresh. */
	struct sessions *ss = sessions_new(st, 0, 3600 * 1000);
	struct http_request r, rc;
	mt_test_request(&r, "POST /api/login\n\n");
	struct buf h;
	buf_init(&h);
	char csrf[48], id[64], first[64];
	CHECK_INT(sessions_create(ss, &r, &u, &h, csrf), 0);
	CHECK(strstr(h.data, "Max-Age=3600\r\n") != NULL);
	cookie_id(&h, first);
	snprintf(raw, sizeof raw, "GET /\nCookie: mintrac_session=%s\n\n", first);
	mt_test_request(&rc, raw);
	struct caller who;
	CHECK_INT(sessions_check(ss, &rc, &who), 1);
	buf_reset(&h);
	sessions_refresh(ss, &rc, &who, &h);
	CHECK(strstr(h.data, "Max-Age=3599\r\n") || strstr(h.data, "Max-Age=3600\r\n"));
	/* Kept busy, a session still ends its lifetime after sign-in. */
	unsigned char ih[TOKEN_HASH_LEN];
	auth_token_hash(first, ih);
	CHECK_INT(store_session_del(st, ih), STORE_OK);
	CHECK_INT(store_session_add(st, ih, u.id, "tok", now_ms() - 3600 * 1000 - 1,
	                            now_ms() + SESSION_TTL_MS), STORE_OK);
	CHECK_INT(sessions_check(ss, &rc, &who), 0);
	struct session_rec rec;
	CHECK_INT(store_session_get(st, ih, now_ms(), &rec), STORE_NOTFOUND);
	http_request_free(&rc);
	/* At most SESSION_MAX_PER_USER: the oldest goes. */
	sessions_free(ss);
	ss = sessions_new(st, 0, 3 * SESSION_TTL_MS);
	buf_reset(&h);
	CHECK_INT(sessions_create(ss, &r, &u, &h, csrf), 0);
	cookie_id(&h, first);
	usleep(3000);
	for (int i = 0; i < SESSION_MAX_PER_USER; i++) {
		buf_reset(&h);
		CHECK_INT(sessions_create(ss, &r, &u, &h, csrf), 0);
	}
	cookie_id(&h, id);
	auth_token_hash(first, ih);
	CHECK_INT(store_session_get(st, ih, now_ms(), &rec), STORE_NOTFOUND);
	auth_token_hash(id, ih);
	CHECK_INT(store_session_get(st, ih, now_ms(), &rec), STORE_OK);
	CHECK_INT(store_session_trim(st, u.id, 1), SESSION_MAX_PER_USER - 1);
	CHECK_INT(store_session_get(st, ih, now_ms(), &rec), STORE_OK);
	http_request_free(&r);
	buf_free(&h);
	sessions_free(ss);
	store_close(st);
	snprintf(raw, sizeof raw, "rm -rf '%s'", dir);
	CHECK_INT(system(raw), 0);
}
