/* A JSON object body read one member at a time. A batch such as Overland's
 * {"locations":[Feature, ...], "current":Feature} parsed whole becomes a
 * tree about seven times its size; read with yajl's event parser, only one
 * element of the batch array exists as a jansson tree at a time, handed to
 * the caller and freed, so decoding takes little more memory than the
 * fixes it yields. The values a caller sees are exactly what json_loadb
 * would have built (numbers, strings without NUL, duplicate keys: last
 * wins), so decoders keep their jansson code. Jansson allocations run
 * under json_budget: one element larger than the budget stops the read. */
#ifndef MINTRAC_JSON_STREAM_H
#define MINTRAC_JSON_STREAM_H
#include <jansson.h>
#include <stddef.h>

struct json_stream_ops {
	/* Element i of the root's array member named array_key. The value is
	 * borrowed: it is freed after the call. Nonzero stops the read. */
	int (*element)(void *ctx, size_t i, json_t *v);
	/* root[array_key] opens as an array (before its elements; also when
	 * it has none). NULL: not wanted. Nonzero stops. */
	int (*array)(void *ctx);
	/* Any other member of the root (also array_key when it is not an
	 * array), borrowed likewise, in document order. Nonzero stops. */
	int (*member)(void *ctx, const char *key, json_t *v);
};

enum json_stream_status {
	JSON_STREAM_OK,
	JSON_STREAM_STOPPED,    /* a callback returned nonzero */
	JSON_STREAM_MALFORMED,  /* not JSON, or a NUL in a string: err says */
	JSON_STREAM_NOT_OBJECT, /* the root is not an object */
	JSON_STREAM_TWICE,      /* array_key appears twice in the root */
	JSON_STREAM_TOO_BIG,    /* one value's tree would outgrow the budget */
};

/* Reads buf[0..len); err (a one-line reason, printable ASCII) is set for
 * MALFORMED. */
enum json_stream_status json_stream_object(const char *buf, size_t len, const char *array_key,
                                           const struct json_stream_ops *ops, void *ctx,
                                           size_t budget, char *err, size_t errlen);
#endif
