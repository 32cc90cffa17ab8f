/* The webapp's imports (POST /api/imports): each upload is written to an
 * unlinked spool file in the data directory as it arrives (raw, or the
 * file part of a multipart/form-data body), and a thread of its own reads
 * that file as it grows, through io/import_job.h on a store connection of
 * its own. So the upload is parsed while it is still arriving, never held
 * in memory, and never on the event loop: the map, the live stream and
 * the receiver's commits go on. GET /api/imports lists a user's jobs with
 * their progress and summaries, from the store: the jobs of every webapp
 * process on the database (the limit of one running job per user holds
 * across them; IMPORTS_RUNNING_MAX is per process). */
#ifndef MINTRAC_IMPORTS_H
#define MINTRAC_IMPORTS_H
#include <stdint.h>
#include "base/buf.h"
#include "base/config.h"
#include "store/store.h"

/* Imports running at once: each parses on a core of its own. */
#define IMPORTS_RUNNING_MAX      2
#define IMPORTS_RUNNING_PER_USER 1
/* Finished jobs remembered per user for GET /api/imports. */
#define IMPORTS_KEEP_PER_USER    10
/* A running job whose record was not written for this long is one whose
 * webapp stopped: failed, and the user's next upload may start. */
#define IMPORTS_STALE_MS         30000

struct imports;
struct import_upload;

/* s: the loop's store connection (jobs are added and read through it). */
struct imports *imports_new(const struct config *cfg, struct store *s);
/* Stops running jobs (their current file is taken back) and waits for
 * their threads; uploads still arriving are read and dropped until the
 * server goes. NULL-safe. */
void imports_stop(struct imports *im);
/* imports_stop, then frees: after the server, whose sinks point here. */
void imports_free(struct imports *im);

/* A new job for the user's device. name: the file's name as the client
 * gave it (its extension tells the format), total: the body's length
 * (0 unknown), content_type: the request's (multipart/form-data is
 * unpacked). NULL with *status and *why when refused: 429 when the user's
 * or the server's imports are all busy, 400 for a bad multipart type, 503
 * when the spool or the thread cannot be made. */
struct import_upload *imports_start(struct imports *im, const struct user_rec *u,
                                    const struct device_rec *d, const char *name,
                                    uint64_t total, const char *content_type, int *status,
                                    const char **why);
/* 1 with *why when a new job of the user's would be refused for now. */
int imports_busy(struct imports *im, int64_t user_id, const char **why);
/* The server's body sink (net/http_parse.h): the body as it arrives,
 * then its end (status 0: the whole body arrived; -1: it never will). */
int imports_sink(void *upload, const char *data, size_t len);
void imports_sink_end(void *upload, int status);
/* A job started from a body already in memory (a small upload that
 * came in buffered): the same, fed and ended at once. */
struct import_upload *imports_start_body(struct imports *im, const struct user_rec *u,
                                         const struct device_rec *d, const char *name,
                                         const char *content_type, const char *body,
                                         size_t len, int *status, const char **why);
int64_t imports_id(const struct import_upload *up);
/* The user's jobs, newest first, as a JSON array appended to b. */
void imports_list_json(struct imports *im, int64_t user_id, struct buf *b);
/* One job as a JSON object; 0, or -1 when the user has no such job. */
int imports_job_json(struct imports *im, int64_t user_id, int64_t id, struct buf *b);
#endif
