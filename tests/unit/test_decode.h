/* Shared by the decoder tests: requests written as text in the fuzz seed
 * format ("METHOD TARGET", header lines, blank line, body), a decoder run
 * with the promises every caller relies on checked, attribute reading. */
#ifndef MINTRAC_TEST_DECODE_H
#define MINTRAC_TEST_DECODE_H
#include <jansson.h>
#include <stdint.h>
#include "net/http.h"
#include "proto/proto.h"

typedef int (*tdec_fn)(const struct http_request *r, struct decode *d);

/* NUL-terminated raw text -> request (abort on a malformed test input). */
void mt_test_request(struct http_request *r, const char *raw);
/* decode_init, now_ms = now, run fn; checks return code == status. */
int tdec_run(tdec_fn fn, const char *raw, size_t len, int64_t now, struct decode *d);
/* Parsed attributes of a fix, NULL when it has none (caller decrefs). */
json_t *tdec_fix_attrs(const struct fix *f);
/* Same for fix i of d, NULL when there is no such fix. */
json_t *tdec_attrs(const struct decode *d, size_t i);
/* A 400 with a one-line reason, early as given, and no fixes. */
void tdec_expect_400(tdec_fn fn, const char *raw, int early, int64_t now);

#define ATTR_INT(a, k, v) do { json_t *x_ = json_object_get((a), (k)); \
	CHECK(json_is_integer(x_)); CHECK_INT(json_integer_value(x_), (v)); } while (0)
#define ATTR_REAL(a, k, v) do { json_t *x_ = json_object_get((a), (k)); \
	CHECK(json_is_number(x_)); CHECK_DBL(json_number_value(x_), (v)); } while (0)
#define ATTR_STR(a, k, v) CHECK_STR(json_string_value(json_object_get((a), (k))), (v))
#define ATTR_NONE(a, k) CHECK(json_object_get((a), (k)) == NULL)
#endif
