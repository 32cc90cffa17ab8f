/* json_stream: the values handed over are what json_loadb builds, one
 * root member or array element at a time; errors are told apart. */
#include <jansson.h>
#include <string.h>
#include "proto/json_stream.h"
#include "test.h"

struct seen {
	json_t *rebuilt;      /* the root put back together from the callbacks */
	json_t *array;        /* root[key] rebuilt from its elements */
	int     arrays;
	int     stop_at;      /* element index that stops, or -1 */
};

static int s_element(void *ctx, size_t i, json_t *v)
{
	struct seen *s = ctx;
	json_array_append(s->array, v);
	return (int)i == s->stop_at;
}

static int s_array(void *ctx)
{
	struct seen *s = ctx;
	s->arrays++;
	json_object_set(s->rebuilt, "locations", s->array);
	return 0;
}

static int s_member(void *ctx, const char *key, json_t *v)
{
	struct seen *s = ctx;
	json_object_set(s->rebuilt, key, v);
	return 0;
}

static const struct json_stream_ops ops = { s_element, s_array, s_member };

static enum json_stream_status run(const char *text, struct seen *s, char *err, size_t errlen)
{
	s->rebuilt = json_object();
	s->array = json_array();
	s->arrays = 0;
	return json_stream_object(text, strlen(text), "locations", &ops, s, 1 << 20, err, errlen);
}

static void done(struct seen *s)
{
	json_decref(s->rebuilt);
	json_decref(s->array);
}

TEST(json_stream_same_values_as_a_tree)
{
	static const char *const docs[] = {
		"{}",
		"{\"locations\":[]}",
		"{\"locations\":[1,2.5,-3e2,\"x\",true,false,null,{},[]],\"current\":{\"a\":[1,{\"b\":null}]}}",
		"{\"a\":1,\"locations\":[{\"type\":\"Feature\",\"geometry\":{\"coordinates\":[1.5,2]},"
		"\"properties\":{\"s\":\"\\u00e9\\n\\\"\",\"n\":9007199254740993,\"f\":0.1}}],\"z\":[[[]]]}",
		"{\"dup\":1,\"dup\":{\"x\":2},\"locations\":[{\"k\":1,\"k\":2}]}",
		"  {\"locations\" : [ 1 , 2 ] , \"b\" : \"c\" }  ",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct seen s = { .stop_at = -1 };
		char err[128];
		CHECK_INT(run(docs[i], &s, err, sizeof err), JSON_STREAM_OK);
		json_error_t je;
		json_t *tree = json_loads(docs[i], 0, &je);
		CHECK(tree != NULL);
		if (!json_equal(tree, s.rebuilt))
			test_fail(__FILE__, __LINE__, "doc %zu differs", i);
		CHECK_INT(s.arrays, json_is_array(json_object_get(tree, "locations")) ? 1 : 0);
		json_decref(tree);
		done(&s);
	}
}

TEST(json_stream_errors)
{
	static const struct {
		const char *text;
		enum json_stream_status st;
	} cases[] = {
		{ "[1,2]", JSON_STREAM_NOT_OBJECT },
		{ "\"x\"", JSON_STREAM_NOT_OBJECT },
		{ "{\"locations\":[1],\"locations\":[2]}", JSON_STREAM_TWICE },
		{ "{\"locations\":[1,", JSON_STREAM_MALFORMED },
		{ "{\"a\":tru}", JSON_STREAM_MALFORMED },
		{ "{\"a\":1}{}", JSON_STREAM_MALFORMED },
		{ "{\"a\":\"\\u0000\"}", JSON_STREAM_MALFORMED },
		{ "{\"a\":1e999}", JSON_STREAM_MALFORMED },
		{ "{\"a\":99999999999999999999}", JSON_STREAM_MALFORMED },
		{ "{\"a\":\"\xff\"}", JSON_STREAM_MALFORMED },
		{ "{/* c */}", JSON_STREAM_MALFORMED },
		{ "", JSON_STREAM_MALFORMED },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct seen s = { .stop_at = -1 };
		char err[128];
		enum json_stream_status st = run(cases[i].text, &s, err, sizeof err);
		if (st != cases[i].st)
			test_fail(__FILE__, __LINE__, "case %zu: status %d, want %d", i, (int)st,
			          (int)cases[i].st);
		if (st == JSON_STREAM_MALFORMED)
			CHECK(err[0] != 0 && !strchr(err, '\n'));
		/* jansson refuses these too. */
		json_error_t je;
		json_t *tree = json_loads(cases[i].text, 0, &je);
		CHECK(tree == NULL || st != JSON_STREAM_MALFORMED);
		json_decref(tree);
		done(&s);
	}
}

TEST(json_stream_stops_and_deep_nesting)
{
	struct seen s = { .stop_at = 1 };
	char err[128];
	CHECK_INT(run("{\"locations\":[{},{},{}]}", &s, err, sizeof err), JSON_STREAM_STOPPED);
	CHECK_INT(json_array_size(s.array), 2);
	done(&s);
	/* Nesting past jansson's depth is refused, in the array or not. */
	char deep[6000];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof deep, "{\"a\":");
	for (int i = 0; i < 2100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 2100; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = 0;
	s.stop_at = -1;
	CHECK_INT(run(deep, &s, err, sizeof err), JSON_STREAM_MALFORMED);
	CHECK(strstr(err, "depth") != NULL);
	done(&s);
}
