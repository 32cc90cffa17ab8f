/* Incremental HTTP/1.x request reader on top of the http_parser library:
 * bytes in, complete struct http_request out. No I/O and no clock, so it is
 * unit-tested and fuzzed on its own; server.c owns the socket.
 *
 * Feed whatever is buffered; http_in_feed() says how much it used and why it
 * stopped. Requests come out one at a time (the parser is paused after each
 * one), so a pipelined second request stays unparsed until the caller takes
 * the first and feeds the rest again. Limits are checked as the bytes
 * arrive: header section > max_header_bytes -> 431 (a request line alone
 * over it -> 414), body over the route's limit -> 413 (a Content-Length
 * above it is refused before any body byte arrives), anything the parser
 * rejects -> 400, and 400 as well for what the parser lets through but
 * RFC 9112 says to refuse: whitespace between a field name and its colon
 * and obsolete line folding (a proxy and we could read different
 * requests). The Host rule is the servers' own (http_host_error).
 * After an error the connection must be closed. */
#ifndef MINTRAC_HTTP_PARSE_H
#define MINTRAC_HTTP_PARSE_H
#include <http_parser.h>
#include <stddef.h>
#include "base/buf.h"
#include "net/http.h"

enum http_in_status {
	HTTP_IN_NEED_MORE,  /* all input used, no complete request yet */
	HTTP_IN_CONTINUE,   /* headers accepted and the client sent "Expect:
	                     * 100-continue" with no body byte yet: write
	                     * "HTTP/1.1 100 Continue\r\n\r\n", then feed on */
	HTTP_IN_READY,      /* a complete request: http_in_take() it */
	HTTP_IN_ERROR,      /* framing error: reply http_in_error_status(), close */
};

/* What becomes of a request's body, decided from its head (method, path,
 * query, headers) before any body byte is read. */
struct http_body_rule {
	size_t limit;     /* a larger body gets 413 */
	/* Read the body (still within limit, and counted by the server's
	 * deadline) but keep none of it: the answer cannot depend on it, e.g.
	 * the head's credential is unknown. The request then comes out with
	 * body_discarded set and an empty body, so nothing of it is held
	 * or parsed. */
	int    discard;
	/* Set by on_head to receive the body as it arrives instead of
	 * buffered (an upload of gigabytes): each decoded piece of it
	 * (Content-Length or chunked, any sizes) goes to sink(sink_ctx, data,
	 * len) in order, none of it is held, and the request comes out with
	 * body_sunk set and an empty body. `limit` still applies; discard is
	 * ignored. The calls come from the server's loop as bytes are read:
	 * a sink that blocks stalls every connection.
	 *
	 * sink returns 0 to go on. Non-zero refuses the rest: sink is not
	 * called again, the remaining body is read and dropped (within limit
	 * and the server's deadline) and the request comes out as usual, so
	 * the handler answers with the status and reason its ctx recorded
	 * (a browser shows an answer to an upload only once it has sent the
	 * whole body).
	 *
	 * sink_end(sink_ctx, ok) is called exactly once for every request
	 * whose on_head set a sink, whatever happens, and sink never after:
	 *   ok 0:  the whole body arrived (maybe none, or refused by sink).
	 *          Called by http_in_take(), so in the server just before
	 *          on_request, on the same call stack: sink_end can leave ctx
	 *          where on_request finds it.
	 *   ok -1: the request will not complete (client gone or reset, body
	 *          cut off, framing error, limit exceeded, timeout, server
	 *          shut down); on_request is not called for it. Free ctx. */
	int  (*sink)(void *sink_ctx, const char *data, size_t len);
	void (*sink_end)(void *sink_ctx, int ok);
	void  *sink_ctx;
};

struct http_in_limits {
	size_t max_header_bytes;    /* 0 = 16 KiB */
	size_t default_body_limit;  /* 0 = 1 MiB */
	/* Called once the headers are complete with the rule preset to
	 * {default_body_limit, keep}; NULL keeps that for every request.
	 * head has method, path, query and headers, no body yet. */
	void  (*on_head)(void *ctx, const struct http_request *head, struct http_body_rule *rule);
	void   *ctx;
};

/* Everything is private to http_parse.c; embed it, don't touch it. */
struct http_in {
	http_parser parser;
	struct http_in_limits lim;
	struct http_request req;   /* being built */
	struct buf url, field, value, body;
	size_t hdr_bytes;          /* raw bytes of this request's header section */
	size_t body_limit;
	size_t body_seen;          /* body bytes read, kept or not */
	size_t nheaders_cap;
	int    err_status;         /* 0, or 400/413/414/431 */
	const char *err_reason;    /* static text */
	unsigned in_message : 1;   /* a request has begun */
	unsigned in_value : 1;     /* last header callback was a value */
	unsigned headers_done : 1;
	unsigned continue_due : 1; /* Expect: 100-continue not yet reported */
	unsigned ready : 1;        /* req complete, waiting for http_in_take */
	unsigned closed : 1;       /* a non-keep-alive request was taken */
	unsigned http11 : 1;       /* version of the last complete request */
	unsigned discard : 1;      /* this request's body is dropped (on_head) */
	unsigned sink_failed : 1;  /* the sink refused: drop the rest */
	/* Set (by on_head) until sink_end was called: this request's body
	 * goes there. */
	int  (*sink)(void *sink_ctx, const char *data, size_t len);
	void (*sink_end)(void *sink_ctx, int ok);
	void  *sink_ctx;
	unsigned char scan;        /* where the raw header scan is (http_parse.c) */
};

void http_in_init(struct http_in *in, const struct http_in_limits *lim);
void http_in_free(struct http_in *in);
/* Parse from data[0..len). *consumed = bytes used; feed the rest (plus any
 * new bytes) again on the next call. While a request is READY and not yet
 * taken, or after an ERROR, nothing more is used. After a request with
 * keep_alive == 0 was taken, further bytes are discarded (the connection
 * ends after that reply). */
enum http_in_status http_in_feed(struct http_in *in, const char *data, size_t len,
                                 size_t *consumed);
/* Move the READY request into *out (the caller frees it with
 * http_request_free). out->peer is left empty for the caller to fill. */
void http_in_take(struct http_in *in, struct http_request *out);
/* After HTTP_IN_ERROR: 400, 413, 414 or 431, and a short reason. */
int  http_in_error_status(const struct http_in *in);
const char *http_in_error_reason(const struct http_in *in);
/* 1 when the last complete request was HTTP/1.1 or later (chunked replies
 * allowed), 0 for HTTP/1.0. */
int  http_in_http11(const struct http_in *in);
/* 1 while part of a request has arrived but not all of it (an idle timeout
 * then deserves a 408). */
int  http_in_partial(const struct http_in *in);
/* Body bytes of the request being read, held until it is taken. */
size_t http_in_body_bytes(const struct http_in *in);
/* Body bytes of the request being read so far, held or dropped. */
size_t http_in_body_seen(const struct http_in *in);
/* 1 while the request being read has its body going to a sink. */
int  http_in_sinking(const struct http_in *in);
/* The request being read will not be completed (the connection is closing
 * or stops reading requests): its sink hears sink_end(-1) now. Idempotent;
 * http_in_free() does it too. */
void http_in_cancel(struct http_in *in);
#endif
