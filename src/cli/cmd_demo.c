/* `mintrac demo [USER DEVICE] [--date YYYY-MM-DD]` stores a generated day
 * of fixes (demo.h) so that a new user sees a track on the map before any
 * phone is set up; `mintrac demo --remove [USER [DEVICE]]` deletes them
 * again. Demo fixes are the ones whose attributes hold "demo":true; fixes
 * from phones never do, so removing the demo leaves them alone. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "io/demo.h"

#define DEFAULT_USER   "demo"
#define DEFAULT_DEVICE "demo-phone"
#define USAGE "usage: mintrac demo [USER DEVICE] [--date YYYY-MM-DD] | demo --remove [USER [DEVICE]]"

struct add {
	struct store *s;
	int64_t       device_id;
	uint64_t      added, stored_before;
	int           failed;
};

static int put(void *ctx, const struct fix *f, enum demo_phase phase)
{
	struct add *a = ctx;
	int inserted = 0;
	(void)phase;
	if (store_put_fix(a->s, a->device_id, f, &inserted) != STORE_OK) {
		a->failed = 1;
		return 1;
	}
	if (inserted)
		a->added++;
	else
		a->stored_before++;
	return 0;
}

/* Local midnight of the date in text (YYYY-MM-DD; NULL: today), days_back
 * days earlier, into *ms and *out. -1 when text is no such date. */
static int midnight_of(const char *text, int days_back, int64_t *ms, struct tm *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (text) {
		int y, m, d, used = 0;
		if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' ||
		    sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || used != 10)
			return -1;
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
	} else {
		time_t now = time(NULL);
		if (!localtime_r(&now, &tm))
			return -1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	}
	int year = tm.tm_year, mon = tm.tm_mon, mday = tm.tm_mday;
	tm.tm_mday -= days_back;
	tm.tm_isdst = -1;
	errno = 0;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 && errno)
		return -1;
	/* mktime normalises 2024-02-30 to March: that is no date. */
	if (!days_back && (tm.tm_year != year || tm.tm_mon != mon || tm.tm_mday != mday))
		return -1;
	*ms = (int64_t)t * 1000;
	*out = tm;
	return 0;
}

static void local_hhmm(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(out, len, "%H:%M", &tm))
		snprintf(out, len, "?");
}

/* The user (and, when dev is not NULL, the device), or one line and exit
 * 1. Names are checked first, so that an error never echoes a name that
 * could not be stored. defaults: the names were not given; say how to
 * create them. */
static void lookup(struct store *s, const char *user, const char *dev, int defaults,
                   struct user_rec *u, struct device_rec *d)
{
	const char *why = check_user_name(user);
	if (why)
		die("invalid user name: %s", why);
	if (dev && (why = check_device_name(dev)))
		die("invalid device name: %s", why);
	int rc = store_user_get(s, user, u);
	if (rc == STORE_NOTFOUND && defaults)
		die("no user '" DEFAULT_USER "': name one (mintrac demo USER DEVICE) or create it "
		    "(mintrac user add " DEFAULT_USER "; mintrac device add " DEFAULT_USER " "
		    DEFAULT_DEVICE ")");
	if (rc == STORE_NOTFOUND)
		die("no user '%s'", user);
	if (rc != STORE_OK)
		die("cannot read user '%s': %s", user, store_errmsg(s));
	if (!dev)
		return;
	rc = store_device_get(s, u->id, dev, d);
	if (rc == STORE_NOTFOUND && defaults)
		die("user '" DEFAULT_USER "' has no device '" DEFAULT_DEVICE "': name one (mintrac "
		    "demo USER DEVICE) or create it (mintrac device add " DEFAULT_USER " "
		    DEFAULT_DEVICE ")");
	if (rc == STORE_NOTFOUND)
		die("user '%s' has no device '%s'", user, dev);
	if (rc != STORE_OK)
		die("cannot read device '%s': %s", dev, store_errmsg(s));
}

static int demo_add(struct cli *c, const char *user, const char *dev, const char *date)
{
	struct tm day;
	int64_t midnight;
	if (midnight_of(date, 0, &midnight, &day) < 0)
		die("%s", date ? "--date: expected a date as YYYY-MM-DD" : "cannot read the local date");
	if (midnight < 0)
		die("--date: pick a day from 1970-01-02 on");
	struct demo_summary sum;
	(void)demo_day(midnight, NULL, NULL, &sum);       /* no callback: cannot fail */
	char end[16], date_text[16];
	local_hhmm(sum.last_ms, end, sizeof end);
	/* No fix may lie in the future: it would be the device's last
	 * position for the rest of the day. */
	int yesterday = sum.last_ms > now_ms();
	if (yesterday && date)
		die("the demo day of %s ends at %s, which is still to come: pick an earlier date",
		    date, end);
	if (yesterday && midnight_of(NULL, 1, &midnight, &day) < 0)
		die("cannot read the local date");
	if (!strftime(date_text, sizeof date_text, "%Y-%m-%d", &day))
		die("cannot format the date");

	struct add a;
	memset(&a, 0, sizeof a);
	a.s = cli_store(c);
	struct user_rec u;
	struct device_rec d;
	lookup(a.s, user, dev, !strcmp(user, DEFAULT_USER) && !strcmp(dev, DEFAULT_DEVICE), &u, &d);
	a.device_id = d.id;
	if (store_begin(a.s) != STORE_OK)
		die("cannot start a transaction: %s", store_errmsg(a.s));
	if (demo_day(midnight, put, &a, &sum) != 0 || a.failed || store_commit(a.s) != STORE_OK) {
		char why[512];
		snprintf(why, sizeof why, "%s", store_errmsg(a.s));
		store_rollback(a.s);
		store_close(a.s);
		die("cannot store the demo fixes (none was stored): %s", why);
	}
	if (yesterday)
		printf("it is before %s, when the demo day ends, so the day is yesterday\n", end);
	printf("%s/%s: added %" PRIu64 " demo fixes on %s (%" PRIu64 " were stored already): "
	       "a %.1f km walk through the Tiergarten and a %.1f km drive across Berlin\n",
	       d.user, d.name, a.added, date_text, a.stored_before, sum.walk_m / 1000.0,
	       sum.drive_m / 1000.0);
	store_close(a.s);
	return 0;
}

static int demo_remove(struct cli *c, const char *user, const char *dev)
{
	struct store *s = cli_store(c);
	struct cli_ids ids = { NULL, 0, 0 };
	struct user_rec u;
	struct device_rec d;
	if (!user || dev) {
		memset(&d, 0, sizeof d);          /* id 0: every device */
		if (user)
			lookup(s, user, dev, 0, &u, &d);
		cli_collect_id(&ids, &d);
	} else {
		lookup(s, user, NULL, 0, &u, NULL);
		if (store_device_list(s, u.id, cli_collect_id, &ids) != STORE_OK)
			die("cannot list the devices of '%s': %s", user, store_errmsg(s));
	}
	int64_t removed = 0;
	for (size_t i = 0; i < ids.n; i++) {
		int64_t n = store_demo_delete(s, ids.id[i]);
		if (n < 0)
			die("cannot remove the demo fixes (%" PRId64 " removed before the error): %s",
			    removed, store_errmsg(s));
		removed += n;
	}
	free(ids.id);
	if (!user)
		printf("removed %" PRId64 " demo fixes from all devices\n", removed);
	else if (!dev)
		printf("removed %" PRId64 " demo fixes from the devices of %s\n", removed, u.name);
	else
		printf("removed %" PRId64 " demo fixes from %s/%s\n", removed, d.user, d.name);
	store_close(s);
	return 0;
}

int cmd_demo(struct cli *c)
{
	const char *pos[2] = { NULL, NULL }, *date = NULL;
	int npos = 0, removing = 0;
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (!strcmp(a, "--remove"))
			removing = 1;
		else if (!strcmp(a, "--date") && i + 1 < c->argc)
			date = c->argv[++i];
		else if (a[0] == '-' || npos == 2)
			die(USAGE);
		else
			pos[npos++] = a;
	}
	if (removing) {
		if (date)
			die("--remove takes no --date: it removes every demo fix");
		return demo_remove(c, pos[0], pos[1]);
	}
	if (npos == 1)
		die("name both USER and DEVICE, or neither (then " DEFAULT_USER " " DEFAULT_DEVICE ")");
	return demo_add(c, npos ? pos[0] : DEFAULT_USER, npos ? pos[1] : DEFAULT_DEVICE, date);
}
