/* libFuzzer target: arbitrary requests through proto_owntracks.decode. Built by
 * `make fuzz`; seeds in fuzz/seeds/proto_owntracks/ (fuzz_req.h format). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_req.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct decode *d)
{
	fuzz_check_json_reply(d);
	if (d->status == 0 && (!d->reply_body || strcmp(d->reply_body, "[]") != 0))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decode(data, size, proto_owntracks.decode, check);
}
