/* libFuzzer target: arbitrary requests through proto_gpslogger.decode. Built by
 * `make fuzz`; seeds in fuzz/seeds/proto_gpslogger/ (fuzz_req.h format). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_req.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decode(data, size, proto_gpslogger.decode, NULL);
}
