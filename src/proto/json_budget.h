/* Parsing JSON within a memory budget. A JSON text's tree can take far
 * more memory than its bytes: `{}` is three bytes and a jansson object of
 * a few hundred, so an 8 MiB body of `{},{},…` became 640 MB. The
 * decoders parse through json_budget_load, which refuses a text whose
 * tree would outgrow the budget, as soon as it does, instead of building
 * it. jansson's allocator hooks carry no context, so the accounting is
 * per thread: every jansson allocation of the process goes through it
 * (json_budget_init installs the hooks; they call malloc and free, so
 * memory from before that is freed as usual). */
#ifndef MINTRAC_JSON_BUDGET_H
#define MINTRAC_JSON_BUDGET_H
#include <jansson.h>
#include <stddef.h>

/* The tree of a body of n bytes may take JSON_BUDGET_FACTOR * n +
 * JSON_BUDGET_BASE bytes: a real Overland batch's tree takes about seven
 * times its size (tests/unit/test_json_budget.c), a text of empty
 * objects a hundred times. */
#define JSON_BUDGET_FACTOR 12
#define JSON_BUDGET_BASE   (256 * 1024)

/* Installs the hooks and fixes jansson's hash seed, before any thread but
 * this one uses jansson (neither may change under another thread);
 * json_budget_load calls it too, for single-threaded users. */
void json_budget_init(void);
/* Between begin and end, jansson allocations on this thread may add at
 * most budget bytes to what it held at begin; past that they fail (jansson
 * then reports an error). end says whether one did: 1, else 0. */
void json_budget_begin(size_t budget);
int  json_budget_end(void);
/* json_loadb(buf, len, 0, err) whose tree may take at most budget bytes
 * (malloc_usable_size); past that it stops, frees what it built and
 * returns NULL with *over set to 1 (else 0). */
json_t *json_budget_load(const char *buf, size_t len, size_t budget, json_error_t *err,
                         int *over);
/* Bytes jansson holds on this thread now, and the most a json_budget_load
 * of this thread's took (for tests and benchmarks). */
size_t json_budget_live(void);
size_t json_budget_peak(void);
#endif
