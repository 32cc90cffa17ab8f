/* libFuzzer target: arbitrary requests through proto_osmand.decode. Built by
 * `make fuzz`; seeds in fuzz/seeds/proto_osmand/ (fuzz_req.h format). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_req.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decode(data, size, proto_osmand.decode, NULL);
}
