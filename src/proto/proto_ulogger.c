/* μlogger (/client/index.php): a form-based, session-style protocol in three
 * steps (auth, addtrack, addpos), form or multipart/form-data bodies.
 *
 * mintrac keeps no sessions: `auth` answers with a cookie that carries the
 * credentials themselves ("ulogger=USER:TOKEN"), which the app's cookie
 * manager sends back on every later request, where they are checked again.
 * `user` is the mintrac user name and `pass` one of that user's device
 * tokens. Track ids are accepted and kept as an attribute only: a device's
 * fixes form one time line, trips are derived from it. */
#include "proto/proto_ulogger.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "net/multipart.h"
#include "proto/proto_attrs.h"
#include "proto/proto_kv.h"
#include "base/util.h"

#define UL_COOKIE "ulogger"
#define UL_OK "{\"error\":false}"
#define UL_BOUNDARY_MAX MULTIPART_BOUNDARY_MAX
#define UL_CRED_MAX 512

/* ---- multipart/form-data ---------------------------------------------- */

/* Part headers up to the empty line; *pp moves past it. -1 malformed. */
static int ul_part_headers(const char **pp, const char *end, struct multipart_disposition *part)
{
	static const char cd[] = "content-disposition:";
	const char *p = *pp;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return -1;
		const char *le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (le == p) {
			*pp = nl + 1;
			return 0;
		}
		if ((size_t)(le - p) >= sizeof cd - 1 && strncasecmp(p, cd, sizeof cd - 1) == 0 &&
		    multipart_disposition(p + sizeof cd - 1, le, part) < 0)
			return -1;
		p = nl + 1;
	}
}

/* The parts of a multipart body into form; *files counts file parts (their
 * content is dropped). CRLF or bare LF line ends. 0 ok, -1 malformed. */
static int ul_multipart(const char *body, size_t len, const char *boundary,
                        struct kvlist *form, int *files)
{
	char delim[UL_BOUNDARY_MAX + 4];
	int dl = snprintf(delim, sizeof delim, "\n--%s", boundary);
	if (dl < 0 || (size_t)dl >= sizeof delim)
		return -1;
	const char *end = body + len, *p;

	/* The first delimiter may open the body or follow a preamble. */
	if (len >= (size_t)dl - 1 && memcmp(body, delim + 1, (size_t)dl - 1) == 0) {
		p = body + dl - 1;
	} else {
		const char *m = memmem(body, len, delim, (size_t)dl);
		if (!m)
			return -1;
		p = m + dl;
	}
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;                  /* close delimiter */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;                       /* transport padding */
		if (p < end && *p == '\r')
			p++;
		if (p >= end || *p != '\n')
			return -1;
		p++;
		struct multipart_disposition part = { 0 };
		if (ul_part_headers(&p, end, &part) < 0)
			return -1;
		const char *m = memmem(p, (size_t)(end - p), delim, (size_t)dl);
		if (!m)
			return -1;
		const char *ce = m > p && m[-1] == '\r' ? m - 1 : m;
		if (part.filename || part.filename_ext)
			(*files)++;
		else if (part.name && part.name_len)
			kvlist_add(form, part.name, part.name_len, p, (size_t)(ce - p));
		p = m + dl;
	}
}

/* The request's fields: multipart or urlencoded body. -1 = early 400. */
static int ul_form(const struct http_request *r, struct kvlist *form, int *files,
                   struct decode *d)
{
	char boundary[UL_BOUNDARY_MAX + 1];
	const char *ct = http_header(r, "Content-Type");
	int mp = ct ? multipart_boundary(ct, boundary, sizeof boundary) : 0;
	if (mp < 0)
		return decode_fail(d, 1, "multipart body without a usable boundary");
	if (mp == 0)
		return r->body && r->body_len ? kvx_parse(form, r->body, r->body_len, 1, d) : 0;
	if (!r->body || ul_multipart(r->body, r->body_len, boundary, form, files) < 0)
		return decode_fail(d, 1, "malformed multipart body");
	for (size_t i = 0; i < form->n; i++)
		if (!utf8_valid(form->v[i].key, strlen(form->v[i].key)) ||
		    !utf8_valid(form->v[i].val, form->v[i].vlen))
			return decode_fail(d, 1, "multipart field %s is not valid UTF-8", form->v[i].key);
	return 0;
}

/* ---- credentials ---------------------------------------------------------- */

static void ul_set_cred(struct decode *d, const char *user, size_t ulen, const char *tok)
{
	d->cred = CRED_USER_TOKEN;
	d->user = xmemdup(user, ulen);
	d->secret = xmemdup(tok, strlen(tok));
}

/* Cookie "ulogger=USER:TOKEN" (split at the first ':'); CRED_NONE when
 * absent, so the receiver answers 401 and the app logs in again. */
static void ul_cookie_cred(const struct http_request *r, struct decode *d)
{
	char v[UL_CRED_MAX];
	if (http_cookie(r, UL_COOKIE, v, sizeof v) < 0)
		return;
	const char *colon = strchr(v, ':');
	if (!colon || colon == v || !colon[1])
		return;
	ul_set_cred(d, v, (size_t)(colon - v), colon + 1);
}

/* User names are [A-Za-z0-9._-]{1,64}, tokens [A-Za-z0-9_-]: anything
 * else can never log in, and must never reach a Set-Cookie header (nor an
 * oversized one). */
static int ul_cookie_safe(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* ---- actions -------------------------------------------------------------- */

static int ul_auth(const struct kvlist *form, struct decode *d)
{
	const char *user = kvlist_get(form, "user"), *pass = kvlist_get(form, "pass");
	d->reply_body = UL_OK;
	if (!user || !pass || !*user || !*pass)
		return 0;                          /* CRED_NONE: 401 */
	ul_set_cred(d, user, strlen(user), pass);
	if (ul_cookie_safe(user, 64) && ul_cookie_safe(pass, 256)) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, UL_COOKIE "=%s:%s; Path=/; HttpOnly", user, pass);
		d->set_cookie = buf_steal(&b);
	}
	return 0;
}

static int ul_addtrack(struct decode *d)
{
	struct buf b;
	int64_t id = (d->now_ms / 1000) % 2147483647;
	buf_init(&b);
	buf_adds(&b, "{\"error\":false,\"trackid\":");
	buf_add_int(&b, id > 0 ? id : 1);
	buf_addc(&b, '}');
	d->reply_owned = buf_steal(&b);
	return 0;
}

struct ul_opt {
	const char *name;
	unsigned    bit;
};

static const struct ul_opt ul_opts[] = {
	{ "altitude", FIX_ALT },
	{ "speed",    FIX_SPEED },
	{ "bearing",  FIX_COURSE },
	{ "accuracy", FIX_ACC },
};

/* Never attributes: the action, the position, credentials. */
static const char *const ul_skip[] = {
	"action", "lat", "lon", "time", "user", "pass", "token", "api_key", NULL
};

static double *ul_slot(struct fix *f, unsigned bit)
{
	switch (bit) {
	case FIX_SPEED:  return &f->speed;
	case FIX_COURSE: return &f->course;
	case FIX_ALT:    return &f->alt;
	default:         return &f->acc;
	}
}

static int ul_position(const struct kvlist *form, struct fix *f, struct decode *d)
{
	const char *lat = kvlist_get(form, "lat"), *lon = kvlist_get(form, "lon");
	const char *t = kvlist_get(form, "time");
	if (!lat && !lon)
		return decode_fail(d, 0, "missing lat and lon");
	if (!lat || !lon)
		return decode_fail(d, 0, "only one of lat/lon");
	if (parse_double(lat, &f->lat) < 0)
		return decode_fail(d, 0, "lat is not a number");
	if (parse_double(lon, &f->lon) < 0)
		return decode_fail(d, 0, "lon is not a number");
	if (!t || !*t)
		return decode_fail(d, 0, "missing time");
	if (parse_time(t, &f->time_ms) < 0)
		return decode_fail(d, 0, "unreadable time");
	return 0;
}

/* Optional numbers (empty = absent) and the attributes. A value that is
 * not a number is kept as an attribute rather than lost. */
static char *ul_rest(const struct kvlist *form, int files, struct fix *f)
{
	json_t *attrs = pattr_new();
	for (size_t i = 0; i < sizeof ul_opts / sizeof ul_opts[0]; i++) {
		const char *v = kvlist_get(form, ul_opts[i].name);
		double x;
		if (!v || !*v)
			continue;
		if (parse_double(v, &x) == 0) {
			*ul_slot(f, ul_opts[i].bit) = x;
			f->has |= ul_opts[i].bit;
		} else {
			pattr_add_text(attrs, ul_opts[i].name, v);
		}
	}
	for (size_t i = 0; i < form->n; i++) {
		const char *k = form->v[i].key;
		int opt = 0;
		for (size_t j = 0; j < sizeof ul_opts / sizeof ul_opts[0]; j++)
			if (strcmp(k, ul_opts[j].name) == 0)
				opt = 1;
		if (!opt && !pname_listed(k, ul_skip))
			pattr_add_text(attrs, k, form->v[i].val);
	}
	if (files && !json_object_get(attrs, "image"))
		json_object_set_new(attrs, "image", json_true());
	return pattr_finish(attrs);
}

static int ul_addpos(const struct kvlist *form, int files, struct decode *d)
{
	struct fix f;
	d->reply_body = UL_OK;
	fix_init(&f);
	if (ul_position(form, &f, d) < 0)
		return -1;
	f.attrs = ul_rest(form, files, &f);
	return decode_push_checked(d, &f, NULL);
}

static int ul_action(const struct http_request *r, const struct kvlist *form, int files,
                     struct decode *d, enum ulogger_action *act)
{
	const char *action = kvlist_get(form, "action");
	if (action && strcmp(action, "auth") == 0) {
		*act = UL_AUTH;
		return ul_auth(form, d);
	}
	ul_cookie_cred(r, d);
	if (!action || !*action)
		return decode_fail(d, 0, "missing action");
	if (strcmp(action, "addtrack") == 0) {
		*act = UL_ADDTRACK;
		return ul_addtrack(d);
	}
	if (strcmp(action, "addpos") == 0) {
		*act = UL_ADDPOS;
		return ul_addpos(form, files, d);
	}
	*act = UL_OTHER;
	return decode_fail(d, 0, "unknown action");
}

int ulogger_decode_action(const struct http_request *r, struct decode *d,
                          enum ulogger_action *action)
{
	struct kvlist form;
	int files = 0, rc;

	*action = UL_NONE;
	d->reply_status = 200;
	d->reply_type = "application/json";
	kvlist_init(&form);
	rc = ul_form(r, &form, &files, d);
	if (rc == 0)
		rc = ul_action(r, &form, files, d, action);
	kvlist_free(&form);
	return rc;
}

static int ulogger_decode(const struct http_request *r, struct decode *d)
{
	enum ulogger_action action;
	return ulogger_decode_action(r, d, &action);
}

/* Every answer is JSON, a failure too; a 401 names μlogger's realm, the
 * one the app expects. */
static void ul_reject(struct proto_reply *out, int status, const char *why)
{
	out->status = status;
	out->type = "application/json";
	out->headers = NULL;
	buf_init(&out->body);
	if (status == 401) {
		buf_adds(&out->body, "{\"error\":true,\"message\":\"Unauthorized\"}");
		out->headers = "WWW-Authenticate: OAuth realm=\"users@ulogger\"\r\n";
		return;
	}
	buf_adds(&out->body, "{\"error\":true,\"message\":");
	buf_add_json_str(&out->body, why);
	buf_addc(&out->body, '}');
}

static const char *const ul_paths[] = { "/client/index.php", NULL };

const struct proto proto_ulogger = {
	.name = "ulogger",
	.paths = ul_paths,
	.body_limit = 16 * MiB,
	.decode = ulogger_decode,
	.reject = ul_reject,
};
