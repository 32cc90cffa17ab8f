/* Generates the track benchmark's data: one device, one year of 1 Hz fixes
 * (31,536,000 rows) written straight into a mintrac database that
 * `mintrac init`, `user add` and `device add` created, in one transaction
 * with one prepared insert. Not part of mintrac; bench/track builds it:
 *
 *   cc -std=c17 -D_GNU_SOURCE -O2 -o build/bench_track_gen bench/track_gen.c -lsqlite3 -lm
 *   build/bench_track_gen DB DEVICE_NAME START_EPOCH_S SECONDS
 *
 * The year is a life, deterministic (fixed seed): nights at home, commutes
 * on a winding road to work, a lunch walk, evening runs, Saturday trips of
 * 20-80 km, two holidays 800 km away; GPS jitter of a few metres on every
 * fix. Writing with the journal off and synchronous=OFF is safe here: the
 * file is a cache that bench/track rebuilds if it is not marked complete. */
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEG (3.14159265358979323846 / 180.0)
#define M_PER_DEG 111195.0

struct pt {
	double lat, lon;
};

static uint64_t rng = 0x9e3779b97f4a7c15u;

static double urand(void)   /* [0, 1) */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

static struct pt offset(struct pt p, double north_m, double east_m)
{
	p.lat += north_m / M_PER_DEG;
	p.lon += east_m / (M_PER_DEG * cos(p.lat * DEG));
	return p;
}

/* What the device does over [t0, t1) of the day. */
enum kind { STAY, MOVE, LOOP };
struct seg {
	int       t0, t1;          /* seconds of the day */
	enum kind kind;
	struct pt a, b;            /* STAY: a; MOVE: a -> b; LOOP: a = centre */
	double    r;               /* MOVE: wiggle amplitude (m); LOOP: radius (m) */
	double    bends;           /* MOVE: half-waves of the wiggle; LOOP: laps */
};

static struct pt at(const struct seg *s, int sec)
{
	double u = (double)(sec - s->t0) / (double)(s->t1 - s->t0);
	switch (s->kind) {
	case STAY:
		return s->a;
	case MOVE: {
		/* Eased start and stop, a sine wiggle across the straight line. */
		double e = u * u * (3 - 2 * u);
		struct pt p = { s->a.lat + (s->b.lat - s->a.lat) * e, s->a.lon + (s->b.lon - s->a.lon) * e };
		double dn = (s->b.lat - s->a.lat) * M_PER_DEG;
		double de = (s->b.lon - s->a.lon) * M_PER_DEG * cos(s->a.lat * DEG);
		double len = hypot(dn, de);
		double w = len > 0 ? s->r * sin(3.14159265358979 * s->bends * e) / len : 0;
		return offset(p, -de * w, dn * w);
	}
	case LOOP: {
		double ang = 2 * 3.14159265358979 * s->bends * u;
		return offset(s->a, s->r * (1 - cos(ang)), s->r * sin(ang));
	}
	}
	return s->a;
}

static int plan_day(int day, int weekday, struct pt home, struct pt work, struct seg *v)
{
	int n = 0;
	/* Holidays: weeks 28-29 and 51-52 of the year, 800 km south. */
	int holiday = (day >= 196 && day < 210) || day >= 350;
	int travel_out = day == 196 || day == 350, travel_back = day == 209;
	struct pt away = offset(home, -800000, 150000);
	struct pt base = holiday && !travel_out ? away : home;
	if (travel_out || travel_back) {
		struct pt from = travel_out ? home : away, to = travel_out ? away : home;
		v[n++] = (struct seg){ 0, 8 * 3600, STAY, from, from, 0, 0 };
		v[n++] = (struct seg){ 8 * 3600, 17 * 3600, MOVE, from, to, 20000, 7, };
		v[n++] = (struct seg){ 17 * 3600, 86400, STAY, to, to, 0, 0 };
		return n;
	}
	if (holiday) {
		struct pt spot = offset(base, (urand() - 0.5) * 30000, (urand() - 0.5) * 30000);
		v[n++] = (struct seg){ 0, 9 * 3600, STAY, base, base, 0, 0 };
		v[n++] = (struct seg){ 9 * 3600, 10 * 3600, MOVE, base, spot, 2000, 3 };
		v[n++] = (struct seg){ 10 * 3600, 15 * 3600, LOOP, spot, spot, 1500, 2 };
		v[n++] = (struct seg){ 15 * 3600, 16 * 3600, MOVE, spot, base, 2000, 3 };
		v[n++] = (struct seg){ 16 * 3600, 86400, STAY, base, base, 0, 0 };
		return n;
	}
	if (weekday < 5) {
		v[n++] = (struct seg){ 0, 27000, STAY, home, home, 0, 0 };
		v[n++] = (struct seg){ 27000, 28800, MOVE, home, work, 600, 5 };
		v[n++] = (struct seg){ 28800, 45000, STAY, work, work, 0, 0 };
		v[n++] = (struct seg){ 45000, 47700, LOOP, work, work, 400, 1 };
		v[n++] = (struct seg){ 47700, 63000, STAY, work, work, 0, 0 };
		v[n++] = (struct seg){ 63000, 65100, MOVE, work, home, 600, 5 };
		if (weekday % 2 == 0) {
			v[n++] = (struct seg){ 65100, 68400, STAY, home, home, 0, 0 };
			v[n++] = (struct seg){ 68400, 72000, LOOP, home, home, 1300, 1 };
			v[n++] = (struct seg){ 72000, 86400, STAY, home, home, 0, 0 };
		} else {
			v[n++] = (struct seg){ 65100, 86400, STAY, home, home, 0, 0 };
		}
		return n;
	}
	if (weekday == 5) {   /* Saturday: a trip */
		double d = 20000 + urand() * 60000, ang = urand() * 2 * 3.14159265358979;
		struct pt dest = offset(home, d * cos(ang), d * sin(ang));
		v[n++] = (struct seg){ 0, 10 * 3600, STAY, home, home, 0, 0 };
		v[n++] = (struct seg){ 10 * 3600, 11 * 3600, MOVE, home, dest, 3000, 4 };
		v[n++] = (struct seg){ 11 * 3600, 14 * 3600, LOOP, dest, dest, 800, 1 };
		v[n++] = (struct seg){ 14 * 3600, 15 * 3600, MOVE, dest, home, 3000, 4 };
		v[n++] = (struct seg){ 15 * 3600, 86400, STAY, home, home, 0, 0 };
		return n;
	}
	v[n++] = (struct seg){ 0, 15 * 3600, STAY, home, home, 0, 0 };   /* Sunday: a walk */
	v[n++] = (struct seg){ 15 * 3600, 17 * 3600, LOOP, home, home, 900, 1 };
	v[n++] = (struct seg){ 17 * 3600, 86400, STAY, home, home, 0, 0 };
	return n;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "track_gen: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* The id of the (only) device of that name, or -1. */
static int64_t device_id(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int64_t id = -1;
	if (sqlite3_prepare_v2(db, "SELECT id FROM devices WHERE name = ?", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	if (id < 0)
		fprintf(stderr, "bench: no device '%s': %s\n", name, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return id;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: track_gen DB DEVICE_NAME START_EPOCH_S SECONDS\n");
		return 2;
	}
	const char *path = argv[1];
	int64_t start = atoll(argv[3]), secs = atoll(argv[4]);
	if (secs <= 0 || secs % 86400) {
		fprintf(stderr, "track_gen: bad arguments (SECONDS: whole days)\n");
		return 2;
	}
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "track_gen: %s: %s\n", path, sqlite3_errmsg(db));
		return 1;
	}
	if (exec(db, "PRAGMA journal_mode=OFF") || exec(db, "PRAGMA synchronous=OFF") ||
	    exec(db, "PRAGMA cache_size=-262144") || exec(db, "PRAGMA locking_mode=EXCLUSIVE") ||
	    exec(db, "BEGIN"))
		return 1;
	int64_t dev = device_id(db, argv[2]);
	if (dev <= 0)
		return 1;
	sqlite3_stmt *del, *ins;
	if (sqlite3_prepare_v2(db, "DELETE FROM fixes WHERE device_id = ?", -1, &del, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO fixes(device_id, time_ms, lat, lon, alt, speed, course, "
	                           "acc, batt, attrs) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
	                       -1, &ins, NULL)) {
		fprintf(stderr, "track_gen: prepare: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_bind_int64(del, 1, dev);
	if (sqlite3_step(del) != SQLITE_DONE) {
		fprintf(stderr, "track_gen: delete: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_finalize(del);

	struct pt home = { 52.5200, 13.4050 };
	struct pt work = offset(home, 5200, 6100);
	struct seg plan[16];
	struct pt prev = home;
	int64_t rows = 0;
	for (int64_t day = 0; day < secs / 86400; day++) {
		int64_t day0 = start + day * 86400;
		int weekday = (int)(((day0 / 86400) + 3) % 7);   /* 1970-01-01 was a Thursday */
		int nseg = plan_day((int)day, weekday, home, work, plan), k = 0;
		for (int sec = 0; sec < 86400; sec++) {
			while (k + 1 < nseg && sec >= plan[k].t1)
				k++;
			struct pt p = at(&plan[k], sec);
			p = offset(p, (urand() - 0.5) * 5, (urand() - 0.5) * 5);
			double dn = (p.lat - prev.lat) * M_PER_DEG;
			double de = (p.lon - prev.lon) * M_PER_DEG * cos(p.lat * DEG);
			double speed = plan[k].kind == STAY ? urand() * 0.3 : hypot(dn, de);
			double course = fmod(atan2(de, dn) / DEG + 360, 360);
			prev = p;
			if (sqlite3_bind_int64(ins, 1, dev) ||
			    sqlite3_bind_int64(ins, 2, (day0 + sec) * 1000 + (sec % 7) * 100) ||
			    sqlite3_bind_double(ins, 3, round(p.lat * 1e7) / 1e7) ||
			    sqlite3_bind_double(ins, 4, round(p.lon * 1e7) / 1e7) ||
			    sqlite3_bind_double(ins, 5, round(35 + 10 * sin(sec / 5000.0) + urand() * 3)) ||
			    sqlite3_bind_double(ins, 6, round(speed * 100) / 100) ||
			    sqlite3_bind_double(ins, 7, round(course)) ||
			    sqlite3_bind_double(ins, 8, round(3 + urand() * 12)) ||
			    sqlite3_bind_double(ins, 9, 100 - (sec / 1440)) ||
			    sqlite3_step(ins) != SQLITE_DONE) {
				fprintf(stderr, "track_gen: insert: %s\n", sqlite3_errmsg(db));
				return 1;
			}
			sqlite3_reset(ins);
			rows++;
		}
	}
	sqlite3_finalize(ins);
	/* The webapp's per-device count, where the schema keeps one. */
	char sql[256];
	snprintf(sql, sizeof sql,
	         "INSERT INTO device_stats(device_id, points) VALUES(%lld, %lld) "
	         "ON CONFLICT(device_id) DO UPDATE SET points = excluded.points",
	         (long long)dev, (long long)rows);
	sqlite3_stmt *st;
	int has_stats = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = 'device_stats'",
	                                   -1, &st, NULL) == SQLITE_OK &&
	                sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if ((has_stats && exec(db, sql)) || exec(db, "COMMIT") ||
	    exec(db, "PRAGMA locking_mode=NORMAL") || exec(db, "PRAGMA journal_mode=WAL"))
		return 1;
	sqlite3_close(db);
	printf("%lld\n", (long long)rows);
	return 0;
}
