/* Statistics (stats.h). Days are numbered from 1970-01-01 (civil calendar,
 * H. Hinnant's algorithms); each day's UTC bounds come from localday.h.
 * One pass over the days in order sweeps the trips' parts and the quarter
 * hours with fixes, both sorted by time. */
#include "history/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"
#include "history/day.h"
#include "history/engine.h"
#include "history/localday.h"

static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int day_bounds(const char *zone, int64_t day, int64_t *start, int64_t *end)
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	return localday_bounds(zone, y, m, d, start, end);
}

/* The local day holding instant t: its UTC date, or the one before or
 * after. -1 when the zone cannot be used. */
static int day_of(const char *zone, int64_t t, int64_t *day)
{
	int64_t utc = t >= 0 ? t / 86400000 : -((-t + 86399999) / 86400000);
	for (int64_t k = utc - 1; k <= utc + 1; k++) {
		int64_t s, e;
		if (day_bounds(zone, k, &s, &e) < 0)
			return -1;
		if (t >= s && t < e) {
			*day = k;
			return 0;
		}
	}
	return -1;
}

static void date_str(int64_t day, char out[11])
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	unsigned yy = (unsigned)y % 10000u, mm = (unsigned)m % 100u, dd = (unsigned)d % 100u;
	out[0] = (char)('0' + yy / 1000);
	out[1] = (char)('0' + yy / 100 % 10);
	out[2] = (char)('0' + yy / 10 % 10);
	out[3] = (char)('0' + yy % 10);
	out[4] = '-';
	out[5] = (char)('0' + mm / 10);
	out[6] = (char)('0' + mm % 10);
	out[7] = '-';
	out[8] = (char)('0' + dd / 10);
	out[9] = (char)('0' + dd % 10);
	out[10] = 0;
}

/* ---- what is read ---- */

struct stay {
	int64_t start_ms, end_ms, place_id;
};

struct reading {
	struct hist_part *parts;
	size_t nparts, capparts;
	struct stay *stays;
	size_t nstays, capstays;
	int64_t *qs;
	size_t nq, capq;
};

static int read_seg(void *ctx, const struct seg_rec *r)
{
	struct reading *rd = ctx;
	if (r->kind == SEG_TRIP && r->parts_len) {
		size_t n = r->parts_len / HIST_PART_BYTES;
		array_grow(&rd->parts, &rd->capparts, rd->nparts + n, sizeof *rd->parts);
		hist_parts_decode(r->parts, r->parts_len, rd->parts + rd->nparts, n);
		rd->nparts += n;
	} else if (r->kind == SEG_STAY && r->place_id) {
		array_grow(&rd->stays, &rd->capstays, rd->nstays + 1, sizeof *rd->stays);
		rd->stays[rd->nstays++] = (struct stay){ r->start_ms, r->end_ms, r->place_id };
	}
	return 0;
}

static int read_q(void *ctx, int64_t q)
{
	struct reading *rd = ctx;
	array_grow(&rd->qs, &rd->capq, rd->nq + 1, sizeof *rd->qs);
	rd->qs[rd->nq++] = q;
	return 0;
}

/* ---- accumulating ---- */

static struct stats_period *period(struct stats_period **v, size_t *n, size_t *cap,
                                   const char *key)
{
	if (*n && strcmp((*v)[*n - 1].key, key) == 0)
		return &(*v)[*n - 1];
	array_grow(v, cap, *n + 1, sizeof **v);
	struct stats_period *p = &(*v)[(*n)++];
	memset(p, 0, sizeof *p);
	snprintf(p->key, sizeof p->key, "%s", key);
	return p;
}

static void count_where(struct stats_where **v, size_t *n, size_t *cap, const char *name,
                        const char *country, const char *display, int64_t day)
{
	struct stats_where *w = NULL;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name) && !strcmp((*v)[i].country, country)) {
			w = &(*v)[i];
			break;
		}
	if (!w) {
		array_grow(v, cap, *n + 1, sizeof **v);
		w = &(*v)[(*n)++];
		memset(w, 0, sizeof *w);
		snprintf(w->name, sizeof w->name, "%s", name);
		snprintf(w->country, sizeof w->country, "%s", country);
		snprintf(w->display, sizeof w->display, "%s", display);
		date_str(day, w->first);
		w->last_day = -1;
	}
	if (w->last_day >= 0 && day <= w->last_day)
		return;
	w->days++;
	w->last_day = (int)day;
	date_str(day, w->last);
}

static int where_order(const void *a, const void *b)
{
	const struct stats_where *x = a, *y = b;
	if (x->days != y->days)
		return y->days - x->days;
	return strcmp(x->name, y->name);
}

int hist_stats(struct store_hist *h, int64_t device_id, int64_t user_id, const char *zone,
               int year, struct hist_stats *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	struct reading rd = { 0 };
	int rc = -1;
	int64_t first, last, t0, t1, e;
	if (year) {
		first = days_from_civil(year, 1, 1);
		last = days_from_civil(year, 12, 31);
	} else {
		if (store_hist_quarters(h, device_id, INT64_MIN, INT64_MAX, read_q, &rd) != STORE_OK)
			goto out;
		if (rd.nq == 0) {
			rc = 0;
			goto out;
		}
		if (day_of(zone, rd.qs[0] * HIST_PART_MS, &first) < 0 ||
		    day_of(zone, rd.qs[rd.nq - 1] * HIST_PART_MS, &last) < 0)
			goto bad_zone;
		rd.nq = 0;
	}
	if (day_bounds(zone, first, &t0, &e) < 0 || day_bounds(zone, last, &e, &t1) < 0)
		goto bad_zone;
	if (store_hist_quarters(h, device_id, t0 / HIST_PART_MS, (t1 - 1) / HIST_PART_MS, read_q,
	                        &rd) != STORE_OK ||
	    store_hist_segments(h, device_id, t0, t1 - 1, read_seg, &rd) != STORE_OK)
		goto out;
	size_t pi = 0, qi = 0;
	for (int64_t day = first; day <= last; day++) {
		int64_t ds, de;
		if (day_bounds(zone, day, &ds, &de) < 0)
			goto bad_zone;
		while (pi < rd.nparts && rd.parts[pi].start_ms + HIST_PART_MS <= ds)
			pi++;
		size_t pn = 0;
		while (pi + pn < rd.nparts && rd.parts[pi + pn].start_ms < de)
			pn++;
		double dist = day_parts_distance(rd.parts + pi, pn, ds, de);
		while (qi < rd.nq && rd.qs[qi] * HIST_PART_MS < ds)
			qi++;
		int tracked = qi < rd.nq && rd.qs[qi] * HIST_PART_MS < de;
		char date[11];
		date_str(day, date);
		st->distance += dist;
		st->days += tracked;
		char key[11];
		memcpy(key, date, 4);
		key[4] = 0;
		struct stats_period *p = period(&st->years, &st->nyears, &st->capy, key);
		p->distance += dist;
		p->days += tracked;
		memcpy(key, date, 7);
		key[7] = 0;
		p = period(&st->months, &st->nmonths, &st->capm, key);
		p->distance += dist;
		p->days += tracked;
		if (year) {
			p = period(&st->daily, &st->ndaily, &st->capd, date);
			p->distance = dist;
			p->days = tracked;
		}
	}
	/* Countries and cities of the stays, on each local day they cover. */
	for (size_t i = 0; i < rd.nstays; i++) {
		struct place_rec pl;
		int prc = store_place_get(h, user_id, rd.stays[i].place_id, &pl);
		if (prc == STORE_NOTFOUND)
			continue;
		if (prc != STORE_OK)
			goto out;
		if (!pl.country[0] && !pl.city[0])
			continue;
		int64_t a, b;
		if (day_of(zone, rd.stays[i].start_ms, &a) < 0 || day_of(zone, rd.stays[i].end_ms, &b) < 0)
			goto bad_zone;
		if (a < first)
			a = first;
		if (b > last)
			b = last;
		for (int64_t day = a; day <= b; day++) {
			if (pl.country[0])
				count_where(&st->countries, &st->ncountries, &st->capc, pl.country, pl.country,
				            pl.country_name, day);
			if (pl.city[0])
				count_where(&st->cities, &st->ncities, &st->capt, pl.city, pl.country, "", day);
		}
	}
	if (st->ncountries)
		qsort(st->countries, st->ncountries, sizeof *st->countries, where_order);
	if (st->ncities)
		qsort(st->cities, st->ncities, sizeof *st->cities, where_order);
	rc = 0;
	goto out;
bad_zone:
	snprintf(err, errlen, "time zone or year cannot be used");
	rc = -2;
	goto done;
out:
	if (rc < 0)
		snprintf(err, errlen, "%s", store_hist_errmsg(h));
done:
	free(rd.parts);
	free(rd.stays);
	free(rd.qs);
	if (rc != 0)
		hist_stats_free(st);
	return rc;
}

void hist_stats_free(struct hist_stats *st)
{
	free(st->years);
	free(st->months);
	free(st->daily);
	free(st->countries);
	free(st->cities);
	memset(st, 0, sizeof *st);
}
