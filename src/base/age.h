/* An age such as 30d, 2w, 6m, 2y: how old fixes may grow (the setting
 * retention, `mintrac prune --older-than`). Months and years are calendar
 * months and years in UTC, not 30 or 365 days: "6m" on 31 August is
 * 28 or 29 February (the day clamped to the month's end), so the cutoff
 * is the date a person would name. */
#ifndef MINTRAC_AGE_H
#define MINTRAC_AGE_H
#include <stdint.h>

struct age {
	int  n;        /* 0: no age (retention unset) */
	char unit;     /* 'd', 'w', 'm' or 'y' */
};

/* "N" followed by one unit letter, N from 1 up to 1,000 years' worth
 * (366000d, 52300w, 12000m, 1000y). 0, or -1 (out untouched) for
 * anything else: 0, signs, spaces, other units, overflow. */
int parse_age(const char *s, struct age *out);
/* The instant now_ms minus the age (UTC ms); fixes before it are older. */
int64_t age_cutoff_ms(const struct age *a, int64_t now_ms);
#endif
