/* The format table: every receiver path finds its format (README's
 * endpoint table), each path is served by exactly one, and each format's
 * failure reply is the one its app understands. */
#include <string.h>

#include "base/util.h"
#include "proto/proto.h"
#include "test.h"

TEST(proto_find_every_path)
{
	static const struct {
		const char *path;
		const struct proto *want;
	} cases[] = {
		{ "/", &proto_traccar },
		{ "/osmand", &proto_osmand },
		{ "/osmand/", &proto_osmand },
		{ "/gpslogger", &proto_gpslogger },
		{ "/owntracks", &proto_owntracks },
		{ "/pub", &proto_owntracks },
		{ "/api/v1/owntracks/points", &proto_owntracks },
		{ "/overland", &proto_overland },
		{ "/api/v1/overland/batches/", &proto_overland },
		{ "/client/index.php", &proto_ulogger },
		{ "//", &proto_traccar },
		{ "/osmand//", NULL },
		{ "/OSMAND", NULL },
		{ "/osmandx", NULL },
		{ "/api/v1/owntracks", NULL },
		{ "/client/", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (proto_find(cases[i].path) != cases[i].want)
			test_fail(__FILE__, __LINE__, "%s: wrong format", cases[i].path);
}

TEST(proto_table_each_path_once)
{
	size_t n = 0;
	for (const struct proto *const *p = proto_all; *p; p++) {
		CHECK((*p)->name && (*p)->decode && (*p)->reject && (*p)->body_limit >= 1 * MiB);
		for (const char *const *q = (*p)->paths; *q; q++, n++)
			if (proto_find(*q) != *p)
				test_fail(__FILE__, __LINE__, "%s not served by %s", *q, (*p)->name);
	}
	CHECK_INT(n, 9);
	CHECK_INT(proto_overland.body_limit, 8 * MiB);
	CHECK_INT(proto_ulogger.body_limit, 16 * MiB);
	CHECK_INT(proto_osmand.body_limit, 1 * MiB);
}

static void check_reply(const struct proto *p, int status, const char *why, const char *type,
                        const char *body, const char *headers)
{
	struct proto_reply out;
	p->reject(&out, status, why);
	CHECK_INT(out.status, status);
	CHECK_STR(out.type, type);
	CHECK_STR(out.body.data, body);
	if (headers)
		CHECK_STR(out.headers, headers);
	else
		CHECK(out.headers == NULL);
	proto_reply_free(&out);
}

TEST(proto_reject_replies)
{
	const char *text = "text/plain; charset=utf-8";
	check_reply(&proto_traccar, 401, "unknown credential", text, "unknown credential\n", NULL);
	check_reply(&proto_overland, 400, "locations[0]: bad time", text,
	            "locations[0]: bad time\n", NULL);
	/* OwnTracks sends its password only when challenged. */
	check_reply(&proto_owntracks, 401, "missing credential", text, "missing credential\n",
	            "WWW-Authenticate: Basic realm=\"mintrac\"\r\n");
	check_reply(&proto_owntracks, 400, "bad lat", text, "bad lat\n", NULL);
	/* μlogger reads JSON only, and its own realm on a 401. */
	check_reply(&proto_ulogger, 401, "unknown credential", "application/json",
	            "{\"error\":true,\"message\":\"Unauthorized\"}",
	            "WWW-Authenticate: OAuth realm=\"users@ulogger\"\r\n");
	check_reply(&proto_ulogger, 400, "a \"quoted\" reason", "application/json",
	            "{\"error\":true,\"message\":\"a \\\"quoted\\\" reason\"}", NULL);
	check_reply(&proto_ulogger, 503, "storage error", "application/json",
	            "{\"error\":true,\"message\":\"storage error\"}", NULL);
}
