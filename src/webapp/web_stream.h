/* Reply bodies made piece by piece at the client's pace: the server pulls
 * the next piece (conn_ops.more) whenever its queue runs low, so a
 * year-long document neither blocks the loop nor piles up in memory for a
 * slow reader, and the status line is sent only once the first piece
 * exists, so a storage error up to then is still a clean 503. */
#ifndef MINTRAC_WEB_STREAM_H
#define MINTRAC_WEB_STREAM_H
#include <stddef.h>

struct buf;
struct conn;
struct export;
struct webapp;

/* What makes the body. more() appends about `want` bytes to out and
 * returns 0 (more to come), 1 (that was the last) or -1 (failed; more()
 * logged why). free() is called once, whatever happened. */
struct web_source {
	int  (*more)(void *ctx, struct buf *out, size_t want);
	void (*free)(void *ctx);
};

/* Answers 200 with the body src makes from ctx (owned from here on): 503
 * when the first piece fails, a cut-off body (the connection closes)
 * when a later one does. headers: "Name: v\r\n..." or NULL. */
void web_stream(struct conn *c, const struct web_source *src, void *ctx, const char *ctype,
                const char *headers);

/* The document e writes (owned from here on), through web_stream. device
 * names the export in the log. */
void stream_export(struct webapp *app, struct conn *c, struct export *e, const char *device,
                   const char *ctype, const char *headers);
#endif
