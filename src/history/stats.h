/* A device's statistics over local days (design.md "History": stats):
 * distance per day, month and year (trip distance, split over days by the
 * trips' quarter-hour parts, so jitter adds nothing), days with a fix,
 * and the countries and cities of its stays with their days and first and
 * last local date. Read from the derived history in the store; the local
 * days are the user's zone's (localday.h: on the loop's thread only). */
#ifndef MINTRAC_STATS_H
#define MINTRAC_STATS_H
#include <stddef.h>
#include <stdint.h>
#include "store/history_store.h"

struct stats_period {           /* a year ("2024"), a month ("2024-05") or a day */
	char   key[11];
	double distance;            /* metres */
	int    days;                /* local days with a fix */
};

struct stats_where {            /* a country (code) or a city (name, country) */
	char name[128];
	char country[3];
	char display[128];          /* countries: the country's name, "" unknown */
	int  days;
	char first[11], last[11];   /* local dates */
	int  last_day;              /* internal: the last day index counted */
};

struct hist_stats {
	double distance;
	int    days;
	struct stats_period *years, *months, *daily;
	size_t nyears, nmonths, ndaily;
	struct stats_where *countries, *cities;
	size_t ncountries, ncities;
	size_t capy, capm, capd, capc, capt;
};

/* Fills st for the device over year (0: all its history) in zone. 0; -1
 * on a storage error; -2 for a zone or year that cannot be used (err
 * says). daily is filled only for a year. */
int hist_stats(struct store_hist *h, int64_t device_id, int64_t user_id, const char *zone,
               int year, struct hist_stats *st, char *err, size_t errlen);
void hist_stats_free(struct hist_stats *st);
#endif
