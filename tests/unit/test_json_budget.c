/* json_budget: a JSON text's tree may take a bounded multiple of its size;
 * the decoders refuse a body past it (400) before building the tree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"
#include "net/http.h"
#include "proto/json_budget.h"
#include "proto/proto.h"
#include "test.h"

/* An Overland batch as the app sends it (tests/fixtures/clients/overland.http),
 * n features. */
static void overland_batch(struct buf *b, int n)
{
	buf_adds(b, "{\"locations\":[");
	for (int i = 0; i < n; i++) {
		buf_printf(b, "%s{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
		           "\"coordinates\":[-122.%07d,45.%07d]},\"properties\":{"
		           "\"timestamp\":\"2024-05-01T10:%02d:%02dZ\",\"altitude\":%d,\"speed\":4,"
		           "\"horizontal_accuracy\":5,\"vertical_accuracy\":3,\"speed_accuracy\":0.5,"
		           "\"course\":180,\"course_accuracy\":10.25,\"motion\":[\"driving\"],"
		           "\"battery_state\":\"unplugged\",\"battery_level\":0.8,\"wifi\":\"\","
		           "\"device_id\":\"phone\",\"pauses\":false,\"activity\":\"other\","
		           "\"desired_accuracy\":100,\"deferred\":1000,\"significant_change\":\"disabled\","
		           "\"locations_in_payload\":%d}}",
		           i ? "," : "", 4000000 + i, 5000000 + i, (i / 60) % 60, i % 60, 30 + i % 7, n);
	}
	buf_adds(b, "]}");
}

TEST(json_budget_real_batches_fit)
{
	struct buf b;
	buf_init(&b);
	overland_batch(&b, 1000);        /* the app's largest batch setting */
	json_error_t err;
	int over = 1;
	size_t before = json_budget_live();
	json_t *root = json_budget_load(b.data, b.len, JSON_BUDGET_FACTOR * b.len + JSON_BUDGET_BASE,
	                                &err, &over);
	CHECK(root != NULL);
	CHECK_INT(over, 0);
	double ratio = (double)(json_budget_peak() - before) / (double)b.len;
	/* The factor leaves room: a real batch needs well under it. */
	CHECK(ratio < JSON_BUDGET_FACTOR * 0.75);
	json_decref(root);
	CHECK_INT(json_budget_live(), before);
	buf_free(&b);
}

TEST(json_budget_empty_objects_refused)
{
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "{\"locations\":[{}");
	while (b.len < 1024 * 1024)
		buf_adds(&b, ",{}");
	buf_adds(&b, "]}");
	size_t budget = JSON_BUDGET_FACTOR * b.len + JSON_BUDGET_BASE;
	size_t before = json_budget_live();
	json_error_t err;
	int over = 0;
	json_t *root = json_budget_load(b.data, b.len, budget, &err, &over);
	CHECK(root == NULL);
	CHECK_INT(over, 1);
	CHECK(json_budget_peak() - before <= budget);
	CHECK_INT(json_budget_live(), before);    /* all of the partial tree freed */
	/* The same text under no real limit builds a tree many times larger:
	 * what the budget saves. */
	root = json_budget_load(b.data, b.len, (size_t)1 << 40, &err, &over);
	CHECK(root != NULL);
	CHECK(json_budget_peak() - before > 2 * budget);
	json_decref(root);
	buf_free(&b);
}

/* Through the decoders: a 400 in the app's terms, before the tree is
 * built: Overland reads its batch one element at a time (json_stream.h),
 * so the element is what outgrows the budget; OwnTracks parses whole. */
TEST(json_budget_decoders_refuse)
{
	static const struct {
		const struct proto *p;
		const char *path, *open, *close;
	} cases[] = {
		{ &proto_overland, "/overland", "{\"locations\":[[{}", "]]}" },
		{ &proto_owntracks, "/owntracks", "{\"_type\":\"location\",\"x\":[{}", "]}" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct buf b;
		buf_init(&b);
		buf_adds(&b, cases[c].open);
		while (b.len < 512 * 1024)
			buf_adds(&b, ",{}");
		buf_adds(&b, cases[c].close);
		struct http_request r;
		memset(&r, 0, sizeof r);
		snprintf(r.method, sizeof r.method, "POST");
		r.path = (char *)(uintptr_t)cases[c].path;
		r.query = (char *)(uintptr_t)"token=abc";
		r.body = b.data;
		r.body_len = b.len;
		struct decode d;
		decode_init(&d);
		size_t before = json_budget_live();
		CHECK(cases[c].p->decode(&r, &d) < 0);
		CHECK_INT(d.status, 400);
		CHECK_INT(d.early_error, 1);
		CHECK(strstr(d.error, "too many values") != NULL);
		CHECK_INT(d.nfixes, 0);
		CHECK_INT(json_budget_live(), before);
		decode_free(&d);
		buf_free(&b);
	}
}

/* A batch of empty features is skipped feature by feature (none is a
 * position), never built whole. */
TEST(json_budget_overland_streams)
{
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "{\"locations\":[{}");
	while (b.len < 1024 * 1024)
		buf_adds(&b, ",{}");
	buf_adds(&b, "]}");
	struct http_request r;
	memset(&r, 0, sizeof r);
	snprintf(r.method, sizeof r.method, "POST");
	r.path = (char *)(uintptr_t)"/overland";
	r.query = (char *)(uintptr_t)"";
	r.body = b.data;
	r.body_len = b.len;
	struct decode d;
	decode_init(&d);
	size_t before = json_budget_live();
	CHECK_INT(proto_overland.decode(&r, &d), 0);
	CHECK_INT(d.nfixes, 0);
	CHECK(json_budget_peak() - before < 64 * 1024);
	decode_free(&d);
	buf_free(&b);
}
