#include "net/http_parse.h"

#include "base/buf.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_HEADER (16u * 1024)
#define DEFAULT_BODY_LIMIT (1024u * 1024)

/* The buffer's bytes as a malloc'd string ("" when empty); the buffer is
 * left empty. */
static char *take_buf(struct buf *b)
{
	if (!b->data) {
		return xmemdup("", 0);
	}
	return buf_steal(b);
}

static struct http_in *from_parser(http_parser *p)
{
	return p->data;
}

static int fail(struct http_in *in, int status, const char *reason)
{
	in->err_status = status;
	in->err_reason = reason;
	return -1;
}

/* The raw header section as the parser consumed it, for what http_parser
 * tolerates: whitespace before a colon (it would read "Host : x" as Host)
 * and obs-fold (a line starting with SP/HT continues the previous one).
 * Both let two readers of one request disagree, so both get a 400. */
enum { SCAN_START, SCAN_REQLINE, SCAN_LINE, SCAN_NAME, SCAN_VALUE, SCAN_END, SCAN_DONE };

static const char *scan_header_bytes(struct http_in *in, const char *p, size_t n)
{
	for (size_t i = 0; i < n && in->scan != SCAN_DONE; i++) {
		char c = p[i];
		switch (in->scan) {
		case SCAN_START:
			if (c == '\r' || c == '\n')
				break;   /* empty lines before a request are ignored */
			in->scan = SCAN_REQLINE;
			break;
		case SCAN_REQLINE:
		case SCAN_VALUE:
			if (c == '\n')
				in->scan = SCAN_LINE;
			break;
		case SCAN_LINE:
			if (c == ' ' || c == '\t')
				return "obsolete line folding";
			if (c == '\r')
				in->scan = SCAN_END;
			else if (c == '\n')
				in->scan = SCAN_DONE;
			else
				in->scan = c == ':' ? SCAN_VALUE : SCAN_NAME;
			break;
		case SCAN_NAME:
			if (c == ':')
				in->scan = SCAN_VALUE;
			else if (c == ' ' || c == '\t')
				return "whitespace before a header's colon";
			else if (c == '\n')
				in->scan = SCAN_LINE;
			break;
		case SCAN_END:
			in->scan = SCAN_DONE;
			break;
		}
	}
	return NULL;
}

/* The sink hears of its request's end, once; never called again. */
static void end_sink(struct http_in *in, int ok)
{
	void (*sink_end)(void *, int) = in->sink_end;
	void *ctx = in->sink_ctx;
	int had = in->sink != NULL;
	in->sink = NULL;
	in->sink_end = NULL;
	in->sink_ctx = NULL;
	in->sink_failed = 0;
	if (had && sink_end)
		sink_end(ctx, ok);
}

static int on_message_begin(http_parser *p)
{
	struct http_in *in = from_parser(p);
	in->in_message = 1;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_in *in = from_parser(p);
	if (in->url.len + len > in->lim.max_header_bytes)
		return fail(in, 414, "request target too long");
	buf_add(&in->url, at, len);
	return 0;
}

static void push_header(struct http_in *in)
{
	struct http_request *r = &in->req;
	array_grow(&r->headers, &in->nheaders_cap, r->nheaders + 1, sizeof *r->headers);
	r->headers[r->nheaders].name = take_buf(&in->field);
	r->headers[r->nheaders].value = take_buf(&in->value);
	r->nheaders++;
	in->in_value = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_in *in = from_parser(p);
	if (in->headers_done)
		return 0;     /* chunked trailers: bounded by the parser, ignored */
	if (in->in_value)
		push_header(in);
	buf_add(&in->field, at, len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_in *in = from_parser(p);
	if (in->headers_done)
		return 0;
	in->in_value = 1;
	buf_add(&in->value, at, len);
	return 0;
}

/* Pause so that http_in_feed() sees exactly where the header section ends
 * and applies the limits before any body byte is read. */
static int on_headers_complete(http_parser *p)
{
	struct http_in *in = from_parser(p);
	if (in->in_value || in->field.len)
		push_header(in);
	in->headers_done = 1;
	http_parser_pause(p, 1);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_in *in = from_parser(p);
	if (len > in->body_limit || in->body_seen > in->body_limit - len)
		return fail(in, 413, "request body too large");
	in->body_seen += len;
	if (in->sink) {
		if (!in->sink_failed && in->sink(in->sink_ctx, at, len) != 0)
			in->sink_failed = 1;
	} else if (!in->discard) {
		buf_add(&in->body, at, len);
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_in *in = from_parser(p);
	struct http_request *r = &in->req;
	r->body_len = in->body.len;
	r->body = take_buf(&in->body);
	r->body_discarded = in->discard && !in->sink;
	r->body_sunk = in->sink != NULL;
	r->sink_ctx = in->sink ? in->sink_ctx : NULL;
	/* An Upgrade (WebSocket) or CONNECT request switches protocols; nothing
	 * here speaks the next one, so that connection ends after the reply. */
	r->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	in->http11 = p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1);
	in->in_message = 0;
	in->ready = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void http_in_init(struct http_in *in, const struct http_in_limits *lim)
{
	memset(in, 0, sizeof *in);
	if (lim)
		in->lim = *lim;
	if (!in->lim.max_header_bytes)
		in->lim.max_header_bytes = DEFAULT_MAX_HEADER;
	if (!in->lim.default_body_limit)
		in->lim.default_body_limit = DEFAULT_BODY_LIMIT;
	http_parser_init(&in->parser, HTTP_REQUEST);
	in->parser.data = in;
	buf_init(&in->url);
	buf_init(&in->field);
	buf_init(&in->value);
	buf_init(&in->body);
}

/* Forget the request being built (its strings are freed; its sink, if
 * still open, hears that the request will not complete). */
static void reset_request(struct http_in *in)
{
	end_sink(in, -1);
	http_request_free(&in->req);
	memset(&in->req, 0, sizeof in->req);
	in->nheaders_cap = 0;
	buf_reset(&in->url);
	buf_reset(&in->field);
	buf_reset(&in->value);
	buf_reset(&in->body);
	in->hdr_bytes = 0;
	in->body_limit = in->body_seen = 0;
	in->discard = 0;
	in->in_value = in->headers_done = in->continue_due = in->ready = 0;
	in->scan = SCAN_START;
}

void http_in_free(struct http_in *in)
{
	reset_request(in);
	buf_free(&in->url);
	buf_free(&in->field);
	buf_free(&in->value);
	buf_free(&in->body);
}

/* Path and raw query from the request target: origin-form "/p?q",
 * absolute-form "http://host/p?q", or anything else ("*", CONNECT's
 * host:port) kept whole as the path. */
static void split_target(struct http_in *in)
{
	const char *u = in->url.data ? in->url.data : "";
	size_t n = in->url.len;
	if (n && u[0] == '/') {
		/* Origin-form, what every client sends: split at the first '?'
		 * without the general URL parser (a hot path under load). */
		const char *q = memchr(u, '?', n);
		const char *h = memchr(u, '#', n);
		size_t end = h ? (size_t)(h - u) : n;
		if (q && (size_t)(q - u) > end)
			q = NULL;
		in->req.path = xmemdup(u, q ? (size_t)(q - u) : end);
		in->req.query = q ? xmemdup(q + 1, end - (size_t)(q - u) - 1) : xmemdup("", 0);
		return;
	}
	struct http_parser_url pu;
	http_parser_url_init(&pu);
	int is_connect = in->parser.method == HTTP_CONNECT;
	if (n <= UINT16_MAX && http_parser_parse_url(u, n, is_connect, &pu) == 0 && !is_connect) {
		if (pu.field_set & (1 << UF_PATH))
			in->req.path = xmemdup(u + pu.field_data[UF_PATH].off, pu.field_data[UF_PATH].len);
		else
			in->req.path = xmemdup("/", 1);
		if (pu.field_set & (1 << UF_QUERY))
			in->req.query = xmemdup(u + pu.field_data[UF_QUERY].off,
			                        pu.field_data[UF_QUERY].len);
		else
			in->req.query = xmemdup("", 0);
		return;
	}
	const char *q = memchr(u, '?', n);
	in->req.path = xmemdup(u, q ? (size_t)(q - u) : n);
	in->req.query = q ? xmemdup(q + 1, n - (size_t)(q - u) - 1) : xmemdup("", 0);
}

static int wants_continue(const struct http_in *in)
{
	const http_parser *p = &in->parser;
	if (p->http_major != 1 || p->http_minor < 1)
		return 0;
	int has_body = (p->flags & F_CHUNKED) ||
	               ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
	const char *e = http_header(&in->req, "Expect");
	return has_body && e && strcasecmp(e, "100-continue") == 0;
}

/* Headers are in: fill method/path/query and apply the body limit. */
static int headers_accepted(struct http_in *in)
{
	http_parser *p = &in->parser;
	in->req.http11 = p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1);
	snprintf(in->req.method, sizeof in->req.method, "%s",
	         http_method_str((enum http_method)p->method));
	split_target(in);
	struct http_body_rule rule = { .limit = in->lim.default_body_limit };
	if (in->lim.on_head)
		in->lim.on_head(in->lim.ctx, &in->req, &rule);
	in->body_limit = rule.limit;
	in->discard = rule.discard != 0;
	if (rule.sink) {
		in->sink = rule.sink;
		in->sink_end = rule.sink_end;
		in->sink_ctx = rule.sink_ctx;
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > in->body_limit)
		return fail(in, 413, "request body too large");
	in->continue_due = wants_continue(in);
	return 0;
}

static enum http_in_status parse_error(struct http_in *in)
{
	enum http_errno e = HTTP_PARSER_ERRNO(&in->parser);
	if (in->err_status)
		return HTTP_IN_ERROR;            /* set by a callback */
	if (e == HPE_HEADER_OVERFLOW) {
		in->err_status = 431;
		in->err_reason = "header section too large";
	} else {
		in->err_status = 400;
		in->err_reason = e == HPE_OK ? "malformed request" : http_errno_description(e);
	}
	return HTTP_IN_ERROR;
}

/* The raw header section (request line included) reached the limit. */
static enum http_in_status header_overflow(struct http_in *in)
{
	if (in->req.nheaders == 0 && in->field.len == 0 && in->in_message)
		fail(in, 414, "request target too long");
	else
		fail(in, 431, "header section too large");
	return HTTP_IN_ERROR;
}

enum http_in_status http_in_feed(struct http_in *in, const char *data, size_t len,
                                 size_t *consumed)
{
	size_t pos = 0;
	enum http_in_status st = HTTP_IN_NEED_MORE;
	int report_continue = 0;
	*consumed = 0;
	if (in->err_status)
		return HTTP_IN_ERROR;
	if (in->ready)
		return HTTP_IN_READY;
	if (in->closed) {
		*consumed = len;
		return HTTP_IN_NEED_MORE;
	}
	while (pos < len) {
		size_t chunk = len - pos;
		int in_headers = !in->headers_done;
		/* Never let the parser see more header bytes than the limit, so
		 * the check holds however the bytes are split. */
		if (in_headers && chunk > in->lim.max_header_bytes - in->hdr_bytes)
			chunk = in->lim.max_header_bytes - in->hdr_bytes;
		size_t n = http_parser_execute(&in->parser, &settings, data + pos, chunk);
		const char *bad = in_headers ? scan_header_bytes(in, data + pos, n) : NULL;
		pos += n;
		if (in_headers)
			in->hdr_bytes += n;
		if (bad) {
			fail(in, 400, bad);
			st = HTTP_IN_ERROR;
			break;
		}
		enum http_errno e = HTTP_PARSER_ERRNO(&in->parser);
		if (e == HPE_PAUSED) {
			http_parser_pause(&in->parser, 0);
			if (in->ready) {
				st = HTTP_IN_READY;
				break;
			}
			if (in_headers && in->headers_done) {
				if (headers_accepted(in) < 0) {
					st = HTTP_IN_ERROR;
					break;
				}
				/* Once body bytes are already here the client did
				 * not wait; a 100 would only confuse it. The parser
				 * may leave the header's final LF unconsumed. */
				report_continue = in->continue_due && len - pos <= 1;
				in->continue_due = 0;
			}
			continue;
		}
		if (e != HPE_OK) {
			st = parse_error(in);
			break;
		}
		if (n < chunk) {
			/* The parser stopped without saying why; never spin. */
			st = parse_error(in);
			break;
		}
		if (!in->headers_done && in->hdr_bytes >= in->lim.max_header_bytes) {
			st = header_overflow(in);
			break;
		}
	}
	if (st == HTTP_IN_NEED_MORE && report_continue)
		st = HTTP_IN_CONTINUE;
	if (st == HTTP_IN_ERROR)
		end_sink(in, -1);   /* nothing more is read: the body is cut off */
	*consumed = pos;
	return st;
}

void http_in_take(struct http_in *in, struct http_request *out)
{
	if (!in->ready) {
		memset(out, 0, sizeof *out);
		return;
	}
	/* The body is complete: the sink hears so just before the request
	 * goes to its handler. */
	end_sink(in, 0);
	*out = in->req;
	memset(&in->req, 0, sizeof in->req);
	if (!out->keep_alive)
		in->closed = 1;
	reset_request(in);
}

int http_in_error_status(const struct http_in *in)
{
	return in->err_status;
}

const char *http_in_error_reason(const struct http_in *in)
{
	return in->err_reason ? in->err_reason : "";
}

int http_in_http11(const struct http_in *in)
{
	return in->http11;
}

int http_in_partial(const struct http_in *in)
{
	return in->in_message && !in->ready;
}

size_t http_in_body_seen(const struct http_in *in)
{
	return in->body_seen;
}

int http_in_sinking(const struct http_in *in)
{
	return in->sink != NULL;
}

void http_in_cancel(struct http_in *in)
{
	end_sink(in, -1);
}

size_t http_in_body_bytes(const struct http_in *in)
{
	return in->ready ? in->req.body_len : in->body.len;
}
