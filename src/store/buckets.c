/* store.h's token buckets and shared state, the same on every backend:
 * the arithmetic is here, each backend only locks, reads and writes a
 * bucket's row (store_backend.h). Rows are locked in key order, so two
 * processes taking from the same buckets never wait on each other in a
 * circle. */
#include "store/store_backend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double tokens_at(const struct store_bucket *b, double tokens, int64_t at_ms,
                        int64_t now_ms)
{
	double n = tokens;
	if (now_ms > at_ms)
		n += (double)(now_ms - at_ms) / (double)b->period_ms;
	return n < b->burst ? n : b->burst;
}

/* The buckets' indices in key order. */
static void key_order(const struct store_bucket *b, size_t n, size_t order[STORE_BUCKETS_MAX])
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(b[order[j - 1]].key, b[order[j]].key) > 0; j--) {
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
}

static int valid(const struct store_bucket *b, size_t n)
{
	if (n > STORE_BUCKETS_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!b[i].key || strlen(b[i].key) > STORE_BUCKET_KEY_MAX || b[i].period_ms <= 0 ||
		    b[i].burst < 1)
			return 0;
	return 1;
}

static int abort_tx(struct store *s)
{
	(void)s->ops->rollback(s);
	return STORE_ERR;
}

int store_bucket_take(struct store *s, const struct store_bucket *b, size_t n, int64_t now_ms,
                      int64_t *wait_ms)
{
	size_t order[STORE_BUCKETS_MAX];
	double have[STORE_BUCKETS_MAX];
	*wait_ms = 0;
	if (!valid(b, n))
		return STORE_ERR;
	key_order(b, n, order);
	if (s->ops->begin(s) != STORE_OK)
		return STORE_ERR;
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		double tokens;
		int64_t at;
		if (s->ops->bucket_lock(s, &b[i], now_ms, &tokens, &at) != STORE_OK)
			return abort_tx(s);
		have[i] = tokens_at(&b[i], tokens, at, now_ms);
		if (have[i] < 1) {
			int64_t w = (int64_t)ceil((1 - have[i]) * (double)b[i].period_ms);
			if (w > *wait_ms)
				*wait_ms = w;
		}
	}
	if (*wait_ms > 0) {
		/* Nothing taken: nothing to keep. */
		if (s->ops->rollback(s) != STORE_OK)
			return STORE_ERR;
		return STORE_OK;
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		if (s->ops->bucket_set(s, &b[i], have[i] - 1, now_ms) != STORE_OK)
			return abort_tx(s);
	}
	if (s->ops->commit(s) != STORE_OK)
		return abort_tx(s);
	return STORE_OK;
}

int store_bucket_give(struct store *s, const struct store_bucket *b, size_t n, int64_t now_ms)
{
	size_t order[STORE_BUCKETS_MAX];
	if (!valid(b, n))
		return STORE_ERR;
	if (n == 0)
		return STORE_OK;
	key_order(b, n, order);
	if (s->ops->begin(s) != STORE_OK)
		return STORE_ERR;
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		double tokens;
		int64_t at;
		if (s->ops->bucket_lock(s, &b[i], now_ms, &tokens, &at) != STORE_OK)
			return abort_tx(s);
		double v = tokens_at(&b[i], tokens, at, now_ms) + 1;
		if (s->ops->bucket_set(s, &b[i], v < b[i].burst ? v : b[i].burst, now_ms) != STORE_OK)
			return abort_tx(s);
	}
	if (s->ops->commit(s) != STORE_OK)
		return abort_tx(s);
	return STORE_OK;
}

int store_trust_set(struct store *s, const char *key, int64_t until_ms)
{
	if (!key || strlen(key) > STORE_BUCKET_KEY_MAX)
		return STORE_ERR;
	return s->ops->trust_set(s, key, until_ms);
}

int store_trust_get(struct store *s, const char *key, int64_t now_ms)
{
	if (!key || strlen(key) > STORE_BUCKET_KEY_MAX)
		return STORE_NOTFOUND;
	return s->ops->trust_get(s, key, now_ms);
}

int64_t store_bucket_purge(struct store *s, int64_t now_ms)
{
	return s->ops->bucket_purge(s, now_ms);
}

int store_import_add(struct store *s, int64_t user_id, int64_t now_ms, int64_t live_ms,
                     int64_t *id_out)
{
	return s->ops->import_add(s, user_id, now_ms, live_ms, id_out);
}

int store_import_put(struct store *s, int64_t id, int running, int64_t now_ms, const char *json)
{
	return s->ops->import_put(s, id, running, now_ms, json);
}

int store_import_list(struct store *s, int64_t user_id, int64_t id,
                      int (*cb)(void *ctx, const struct store_import_rec *r), void *ctx)
{
	return s->ops->import_list(s, user_id, id, cb, ctx);
}

int64_t store_import_trim(struct store *s, int64_t user_id, int keep, int64_t live_ms)
{
	return s->ops->import_trim(s, user_id, keep, live_ms);
}
