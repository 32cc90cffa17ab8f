/* libFuzzer target: arbitrary requests through μlogger's decoder. Built by
 * `make fuzz`; seeds in fuzz/seeds/proto_ulogger/ (fuzz_req.h format). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_req.h"
#include "proto/proto_ulogger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The action of the input being checked. */
static enum ulogger_action action;

static int decode_noting(const struct http_request *r, struct decode *d)
{
	return ulogger_decode_action(r, d, &action);
}

static void check(const struct decode *d)
{
	fuzz_check_json_reply(d);
	/* The cookie goes into a header: never a CR, LF or other control. */
	for (const char *c = d->set_cookie; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			__builtin_trap();
	if (d->nfixes > 1 || (d->nfixes && action != UL_ADDPOS))
		__builtin_trap();
	if (d->reply_owned) {
		json_t *o = json_loads(d->reply_owned, 0, NULL);
		if (!json_is_object(o))
			__builtin_trap();
		json_decref(o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decode(data, size, decode_noting, check);
}
