/* See json_budget.h. */
#include "proto/json_budget.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* Per thread, because the hooks have no context argument: what jansson
 * holds, the ceiling while a budgeted parse runs (SIZE_MAX otherwise),
 * whether it was hit, and the highest point of the last budgeted parse. */
static _Thread_local size_t live, ceiling = SIZE_MAX, peak;
static _Thread_local int hit;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void *budget_malloc(size_t n)
{
	if (ceiling != SIZE_MAX && (n > ceiling || live > ceiling - n)) {
		hit = 1;
		return NULL;
	}
	void *p = malloc(n);
	if (p) {
		live += malloc_usable_size(p);
		if (live > peak)
			peak = live;
	}
	return p;
}

static void budget_free(void *p)
{
	if (!p)
		return;
	/* Memory from before the hooks, or from another thread, was never
	 * counted here: never let the count wrap. */
	size_t n = malloc_usable_size(p);
	live = n < live ? live - n : 0;
	free(p);
}

static void install_hooks(void)
{
	json_object_seed(0);
	json_set_alloc_funcs(budget_malloc, budget_free);
}

void json_budget_init(void)
{
	pthread_once(&hooks_once, install_hooks);
}

void json_budget_begin(size_t budget)
{
	json_budget_init();
	ceiling = live > SIZE_MAX - 1 - budget ? SIZE_MAX - 1 : live + budget;
	peak = live;
	hit = 0;
}

int json_budget_end(void)
{
	ceiling = SIZE_MAX;
	return hit;
}

json_t *json_budget_load(const char *buf, size_t len, size_t budget, json_error_t *err,
                         int *over)
{
	json_budget_begin(budget);
	json_t *root = json_loadb(buf, len, 0, err);
	*over = json_budget_end();
	if (*over && root) {
		/* jansson recovered from a refused allocation somewhere: the
		 * tree cannot be trusted to be whole. */
		json_decref(root);
		root = NULL;
	}
	return root;
}

size_t json_budget_live(void)
{
	return live;
}

size_t json_budget_peak(void)
{
	return peak;
}
