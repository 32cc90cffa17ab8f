/* libFuzzer target: arbitrary requests through proto_overland(). Built by
 * `make fuzz`; seeds in fuzz/seeds/proto_overland/ (fuzz_req.h format). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

/* fuzz_req.h's header comment holds "seeds/" + "*" + "/", which -Wcomment flags. */
#include "fuzz_req.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request r;
	struct decode d;
	if (fuzz_request(data, size, &r) != 0) {
		http_request_free(&r);
		return 0;
	}
	decode_init(&d);
	d.now_ms = INT64_C(1714558530000);
	int rc = proto_overland(&r, &d);
	/* The contract every caller relies on. */
	if ((rc == 0) != (d.status == 0) || (d.status && (!d.error[0] || strchr(d.error, '\n'))))
		__builtin_trap();
	if (!d.reply_type || strcmp(d.reply_type, "application/json") != 0)
		__builtin_trap();
	if (d.cred != CRED_NONE && !d.secret)
		__builtin_trap();
	/* A batch is all or nothing. */
	if (d.status && d.nfixes)
		__builtin_trap();
	if (d.status == 0 && (!d.reply_body || strcmp(d.reply_body, "{\"result\":\"ok\"}") != 0))
		__builtin_trap();
	for (size_t i = 0; i < d.nfixes; i++) {
		if (fix_check(&d.fixes[i]))
			__builtin_trap();
		if (d.fixes[i].attrs) {
			json_t *a = json_loads(d.fixes[i].attrs, 0, NULL);
			if (!json_is_object(a) || json_object_size(a) == 0)
				__builtin_trap();
			json_decref(a);
		}
	}
	decode_free(&d);
	http_request_free(&r);
	return 0;
}
