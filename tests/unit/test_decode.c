#include "test_decode.h"

#include <stdlib.h>
#include <string.h>

#include "../../fuzz/fuzz_req.h"
#include "test.h"

void mt_test_request(struct http_request *r, const char *raw)
{
	if (fuzz_request((const unsigned char *)raw, strlen(raw), r) != 0)
		abort();
	strcpy(r->peer, "test");
}

int tdec_run(tdec_fn fn, const char *raw, size_t len, int64_t now, struct decode *d)
{
	struct http_request r;
	decode_init(d);
	d->now_ms = now;
	if (fuzz_request((const unsigned char *)raw, len, &r) != 0) {
		http_request_free(&r);
		test_fail(__FILE__, __LINE__, "malformed test request: %.60s", raw);
		return -2;
	}
	int rc = fn(&r, d);
	http_request_free(&r);
	if ((rc == 0) != (d->status == 0))
		test_fail(__FILE__, __LINE__, "return %d but status %d", rc, d->status);
	return rc;
}

json_t *tdec_fix_attrs(const struct fix *f)
{
	if (!f->attrs)
		return NULL;
	json_t *o = json_loads(f->attrs, 0, NULL);
	if (!json_is_object(o))
		test_fail(__FILE__, __LINE__, "attrs not a JSON object: %s", f->attrs);
	return o;
}

json_t *tdec_attrs(const struct decode *d, size_t i)
{
	return i < d->nfixes ? tdec_fix_attrs(&d->fixes[i]) : NULL;
}

void tdec_expect_400(tdec_fn fn, const char *raw, int early, int64_t now)
{
	struct decode d;
	if (tdec_run(fn, raw, strlen(raw), now, &d) != -1)
		test_fail(__FILE__, __LINE__, "accepted: %s", raw);
	if (d.status != 400 || d.early_error != early || !d.error[0] || strchr(d.error, '\n') ||
	    d.nfixes)
		test_fail(__FILE__, __LINE__, "status %d early %d nfixes %zu error \"%s\" for %s",
		          d.status, d.early_error, d.nfixes, d.error, raw);
	decode_free(&d);
}
