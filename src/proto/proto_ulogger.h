/* μlogger's decoder with the step it took, for the tests and the fuzz
 * target: the generic struct decode carries nothing μlogger-specific. */
#ifndef MINTRAC_PROTO_ULOGGER_H
#define MINTRAC_PROTO_ULOGGER_H
#include "net/http.h"
#include "proto/proto.h"

enum ulogger_action { UL_NONE, UL_AUTH, UL_ADDTRACK, UL_ADDPOS, UL_OTHER };

/* proto_ulogger.decode, also telling which action the request named
 * (UL_NONE when the form did not parse or named none). */
int ulogger_decode_action(const struct http_request *r, struct decode *d,
                          enum ulogger_action *action);
#endif
