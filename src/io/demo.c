/* The demo day (demo.h): a walker and a car move along hard-coded routes
 * with a simple speed controller (accelerate to the street's speed, brake
 * in time for corners and red lights), and a simulated phone samples them
 * with the errors a real receiver has (a position error that wanders
 * rather than jumps, an accuracy that covers it).
 *
 * The routes are polylines through junctions and bends of real streets,
 * placed from landmarks, U-Bahn stations under or over the streets and bus
 * stops; between two points the streets are straight, so the track follows
 * them to within a few tens of metres. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "io/demo.h"

#define DAY_MS      86400000LL
#define MINUTE_MS   60000LL
#define HOUR_MS     (60 * MINUTE_MS)
#define LAT0        52.515              /* centre of the local projection */
#define LON0        13.400
#define M_PER_DEG   111194.93           /* metres per degree of latitude */
#define STEP_MS     100                 /* simulation step */
#define LOOKAHEAD_M 300.0               /* how far ahead the driver plans */
#define MAX_WP      64
#define BATT_START  92.0
#define BATT_END    71.0

enum wp_kind {
	WP_PLAIN,
	WP_LIGHT,        /* traffic light: red (a wait) or green, drawn per day */
	WP_PAUSE,        /* the walker stops a few minutes */
};

struct wp {
	double       lat, lon;
	enum wp_kind kind;
	double       vmax;     /* drive: speed limit from here to the next point, m/s */
};

/* Walk, ~5.3 km: Mitte, Brandenburg Gate, Tiergarten, Potsdamer Platz. */
static const struct wp walk_route[] = {
	{ 52.51880, 13.38845, WP_PLAIN, 0 },   /* home: Friedrichstraße / Dorotheenstraße */
	{ 52.51712, 13.38868, WP_LIGHT, 0 },   /* Friedrichstraße / Unter den Linden */
	{ 52.51672, 13.38570, WP_LIGHT, 0 },   /* Unter den Linden / Glinkastraße */
	{ 52.51640, 13.38110, WP_LIGHT, 0 },   /* Unter den Linden / Wilhelmstraße */
	{ 52.51630, 13.37930, WP_PLAIN, 0 },   /* Pariser Platz */
	{ 52.51628, 13.37770, WP_PLAIN, 0 },   /* Brandenburger Tor */
	{ 52.51622, 13.37625, WP_LIGHT, 0 },   /* Platz des 18. März, across Ebertstraße */
	{ 52.51594, 13.37200, WP_PLAIN, 0 },   /* Straße des 17. Juni, Soviet War Memorial */
	{ 52.51550, 13.36540, WP_PLAIN, 0 },   /* Straße des 17. Juni */
	{ 52.51505, 13.35854, WP_PLAIN, 0 },   /* Straße des 17. Juni */
	{ 52.51462, 13.35200, WP_PLAIN, 0 },   /* Großer Stern, tunnel to the column */
	{ 52.51451, 13.35045, WP_PAUSE, 0 },   /* Victory Column */
	{ 52.51375, 13.35025, WP_PLAIN, 0 },   /* Großer Stern, south tunnel exit */
	{ 52.51150, 13.35030, WP_PLAIN, 0 },   /* Hofjägerallee */
	{ 52.50960, 13.35035, WP_LIGHT, 0 },   /* Hofjägerallee / Tiergartenstraße */
	{ 52.50995, 13.35500, WP_PLAIN, 0 },   /* Tiergartenstraße, embassies */
	{ 52.51030, 13.36000, WP_PLAIN, 0 },   /* Tiergartenstraße */
	{ 52.51065, 13.36500, WP_LIGHT, 0 },   /* Tiergartenstraße */
	{ 52.51090, 13.36900, WP_PLAIN, 0 },   /* Tiergartenstraße at the Philharmonie */
	{ 52.51080, 13.37200, WP_LIGHT, 0 },   /* Kemperplatz */
	{ 52.51110, 13.37450, WP_PLAIN, 0 },   /* Lennéstraße */
	{ 52.51140, 13.37660, WP_LIGHT, 0 },   /* Lennéstraße / Ebertstraße */
	{ 52.50962, 13.37660, WP_LIGHT, 0 },   /* Potsdamer Platz */
	{ 52.50950, 13.37585, WP_PLAIN, 0 },   /* the office, Potsdamer Platz 1 */
};

/* Drive, ~14 km: Leipziger Straße, Kreuzberg, Friedrichshain, Mitte. The
 * roundabouts (Kottbusser Tor, Strausberger Platz) are driven round,
 * anticlockwise. */
static const struct wp drive_route[] = {
	{ 52.50950, 13.37585, WP_PLAIN,  8.0 },   /* Potsdamer Platz 1 */
	{ 52.50962, 13.37660, WP_LIGHT, 12.0 },   /* Potsdamer Platz */
	{ 52.50972, 13.37870, WP_PLAIN, 12.0 },   /* Leipziger Platz */
	{ 52.50990, 13.38260, WP_LIGHT, 13.0 },   /* Leipziger Straße / Wilhelmstraße */
	{ 52.51003, 13.38453, WP_PLAIN, 13.0 },   /* Leipziger Straße / Mauerstraße */
	{ 52.51040, 13.38995, WP_LIGHT, 11.0 },   /* Leipziger Straße / Friedrichstraße */
	{ 52.50753, 13.39040, WP_LIGHT, 11.0 },   /* Checkpoint Charlie */
	{ 52.50600, 13.39065, WP_LIGHT, 11.0 },   /* Friedrichstraße / Rudi-Dutschke-Straße */
	{ 52.50650, 13.39800, WP_LIGHT, 11.0 },   /* Rudi-Dutschke-Straße / Axel-Springer-Straße */
	{ 52.50355, 13.41080, WP_LIGHT,  9.0 },   /* Oranienstraße, Moritzplatz */
	{ 52.50235, 13.41640, WP_LIGHT,  9.0 },   /* Oranienstraße / Oranienplatz */
	{ 52.50176, 13.41930, WP_LIGHT,  8.0 },   /* Oranienstraße / Adalbertstraße */
	{ 52.49956, 13.41809, WP_PLAIN,  7.0 },   /* Kottbusser Tor, north */
	{ 52.49941, 13.41752, WP_PLAIN,  7.0 },
	{ 52.49906, 13.41728, WP_PLAIN,  7.0 },   /* Kottbusser Tor, west */
	{ 52.49871, 13.41752, WP_PLAIN,  7.0 },
	{ 52.49857, 13.41809, WP_PLAIN,  7.0 },   /* Kottbusser Tor, south */
	{ 52.49871, 13.41866, WP_PLAIN,  7.0 },
	{ 52.49906, 13.41890, WP_LIGHT, 12.0 },   /* Kottbusser Tor, east: Skalitzer Straße */
	{ 52.49909, 13.42824, WP_LIGHT, 12.0 },   /* Skalitzer Straße, Görlitzer Bahnhof */
	{ 52.50095, 13.44150, WP_LIGHT, 11.0 },   /* Schlesisches Tor */
	{ 52.50145, 13.44503, WP_PLAIN, 11.0 },   /* Oberbaumbrücke, south end */
	{ 52.50243, 13.44663, WP_PLAIN, 11.0 },   /* Oberbaumbrücke, north end */
	{ 52.50300, 13.44720, WP_LIGHT, 12.0 },   /* Warschauer Straße / Mühlenstraße */
	{ 52.50620, 13.44890, WP_PLAIN, 12.0 },   /* Warschauer Brücke */
	{ 52.51100, 13.45150, WP_LIGHT, 12.0 },   /* Warschauer Straße */
	{ 52.51575, 13.45400, WP_LIGHT, 13.5 },   /* Frankfurter Tor */
	{ 52.51665, 13.44530, WP_LIGHT, 13.5 },   /* Karl-Marx-Allee, Weberwiese */
	{ 52.51822, 13.42865, WP_PLAIN,  7.0 },   /* Strausberger Platz, east */
	{ 52.51860, 13.42839, WP_PLAIN,  7.0 },
	{ 52.51876, 13.42776, WP_PLAIN,  7.0 },   /* Strausberger Platz, north */
	{ 52.51860, 13.42713, WP_PLAIN,  7.0 },
	{ 52.51822, 13.42687, WP_LIGHT, 13.5 },   /* Strausberger Platz, west */
	{ 52.52027, 13.42186, WP_LIGHT, 13.0 },   /* Karl-Marx-Allee / Schillingstraße */
	{ 52.52158, 13.41830, WP_LIGHT, 12.0 },   /* Karl-Marx-Allee / Otto-Braun-Straße */
	{ 52.52611, 13.41709, WP_LIGHT, 12.0 },   /* Otto-Braun-Straße / Mollstraße */
	{ 52.52951, 13.40487, WP_LIGHT, 11.0 },   /* Torstraße */
	{ 52.52955, 13.40140, WP_LIGHT, 12.0 },   /* Rosenthaler Platz */
	{ 52.52833, 13.39285, WP_LIGHT, 12.0 },   /* Torstraße */
	{ 52.52596, 13.38721, WP_LIGHT, 10.0 },   /* Oranienburger Tor */
	{ 52.52020, 13.38820, WP_LIGHT,  8.0 },   /* Friedrichstraße station */
	{ 52.51880, 13.38845, WP_PLAIN,  0.0 },   /* home */
};

#define NWALK  (sizeof walk_route / sizeof walk_route[0])
#define NDRIVE (sizeof drive_route / sizeof drive_route[0])

/* How each way of moving behaves. */
struct mover {
	double accel;            /* m/s² from standstill */
	double brake;            /* planned deceleration, m/s² */
	double brake_max;        /* hardest braking, m/s² */
	double p_red;            /* chance that a light is red */
	double red_min, red_max; /* seconds at a red light */
	int    fix_min, fix_max; /* seconds between fixes */
	double speed_noise;      /* m/s, of the reported speed */
	double course_noise;     /* degrees */
};

static const struct mover walker = { 0.7, 1.0, 1.5, 0.5, 5, 35, 1, 3, 0.06, 4.0 };
static const struct mover driver = { 1.8, 2.0, 3.0, 0.55, 10, 50, 1, 1, 0.12, 1.5 };

struct gen {
	uint64_t rng;
	demo_fn  fn;
	void    *ctx;
	int      rc;               /* first non-zero return of fn */
	double   m_per_deg_lon;
	int64_t  t;                /* time of the last fix, ms */
	int      have_fix;
	double   ex, ey;           /* position error east/north, m */
	double   ez;               /* altitude error, m */
	double   drain;            /* battery use so far, in weighted seconds */
	double   drain_total;      /* of the whole day (0 while measuring it) */
	struct demo_summary sum;
};

/* splitmix64: small, fast, and the same on every platform. */
static uint64_t rnd(struct gen *g)
{
	uint64_t z = (g->rng += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double unit(struct gen *g)               /* [0, 1) */
{
	return (double)(rnd(g) >> 11) * (1.0 / 9007199254740992.0);
}

static double uniform(struct gen *g, double lo, double hi)
{
	return lo + (hi - lo) * unit(g);
}

static double gauss(struct gen *g)
{
	double u = 1.0 - unit(g), v = unit(g);
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static double smooth(double x)
{
	x = clamp(x, 0, 1);
	return x * x * (3 - 2 * x);
}

/* Ground height: the Spree valley lies at about 38 m; the land rises to
 * the Barnim plateau north-east of Torstraße and Karl-Marx-Allee, and to
 * the Teltow south of Kreuzberg. */
static double terrain(double lat, double lon)
{
	return 38.0 + 9.0 * smooth((lat - 52.518) / 0.012) + 5.0 * smooth((lon - 13.41) / 0.05) +
	       6.0 * smooth((52.503 - lat) / 0.010);
}

static double round_to(double v, double step)
{
	return round(v / step) * step;
}

static void to_xy(const struct gen *g, double lat, double lon, double *x, double *y)
{
	*x = (lon - LON0) * g->m_per_deg_lon;
	*y = (lat - LAT0) * M_PER_DEG;
}

/* Battery use per second: GPS and screen while moving, little indoors. */
static double drain_rate(enum demo_phase ph)
{
	return ph == DEMO_DRIVE ? 1.4 : ph == DEMO_WALK ? 1.0 : 0.2;
}

static int64_t fix_interval(struct gen *g, int lo, int hi)
{
	int64_t s = lo + (int64_t)(rnd(g) % (uint64_t)(hi - lo + 1));
	return s * 1000 + (int64_t)(rnd(g) % 61) - 30;
}

/* The phone's view of the true position (x, y) and speed v at time t. */
static void emit(struct gen *g, enum demo_phase ph, double x, double y, double v,
                 double course, int64_t t)
{
	double dt = g->have_fix ? (double)(t - g->t) / 1000.0 : 0.0;
	/* Gauss-Markov errors: they drift over tens of seconds, as a
	 * receiver's do, so the track wobbles instead of zig-zagging. */
	double sigma = ph == DEMO_STAY ? 9.0 : ph == DEMO_WALK ? 3.0 : 2.5;
	double cap = ph == DEMO_STAY ? 25.0 : ph == DEMO_WALK ? 7.0 : 5.5;
	double a = g->have_fix ? exp(-dt / 20.0) : 0.0;
	double k = sqrt(1.0 - a * a) * sigma;
	g->ex = a * g->ex + k * gauss(g);
	g->ey = a * g->ey + k * gauss(g);
	double e = hypot(g->ex, g->ey);
	if (e > cap) {
		g->ex *= cap / e;
		g->ey *= cap / e;
		e = cap;
	}
	/* The reported accuracy covers the actual error. */
	double acc = ph == DEMO_STAY ? clamp(8.0 + 0.8 * e + 6.0 * unit(g), 10.0, 30.0)
	                             : clamp(2.5 + 0.8 * e + 1.5 * unit(g), 3.0, 8.0);
	if (acc < e + 0.5)
		acc = e + 0.5;
	double az = g->have_fix ? exp(-dt / 60.0) : 0.0;
	g->ez = az * g->ez + sqrt(1.0 - az * az) * 1.0 * gauss(g);
	const struct mover *m = ph == DEMO_WALK ? &walker : &driver;
	double speed = v > 0.05 ? fmax(0.0, v + m->speed_noise * gauss(g)) : 0.0;
	double cnoise = m->course_noise * gauss(g);

	g->drain += dt * drain_rate(ph);
	char attrs[] = DEMO_ATTRS;
	struct fix f;
	memset(&f, 0, sizeof f);
	f.time_ms = t;
	f.lat = round_to(LAT0 + (y + g->ey) / M_PER_DEG, 1e-7);
	f.lon = round_to(LON0 + (x + g->ex) / g->m_per_deg_lon, 1e-7);
	f.alt = round_to(terrain(f.lat, f.lon) + g->ez, 0.1);
	f.acc = round_to(acc, 0.1);
	f.speed = round_to(speed, 0.01);
	f.has = FIX_SPEED | FIX_ALT | FIX_ACC;
	/* Receivers give no course when standing still. */
	if (speed >= 0.5) {
		f.course = round_to(fmod(course + cnoise + 720.0, 360.0), 0.1);
		if (f.course >= 360.0)
			f.course = 0.0;
		f.has |= FIX_COURSE;
	}
	if (g->drain_total > 0) {
		f.batt = round(BATT_START - (BATT_START - BATT_END) * g->drain / g->drain_total);
		f.has |= FIX_BATT;
	}
	f.attrs = attrs;

	if (!g->sum.fixes)
		g->sum.first_ms = t;
	g->sum.last_ms = t;
	g->sum.fixes++;
	g->t = t;
	g->have_fix = 1;
	if (g->fn && !g->rc)
		g->rc = g->fn(g->ctx, &f, ph);
}

/* A route in metres, with what happens at each point this time. */
struct demo_path {
	size_t n;
	double x[MAX_WP], y[MAX_WP];
	double cum[MAX_WP];        /* distance from the start to point i */
	double heading[MAX_WP];    /* of the leg from point i to i+1, degrees */
	double corner[MAX_WP];     /* speed to take point i at (HUGE_VAL: any) */
	double wait[MAX_WP];       /* seconds to stand at point i (0: pass) */
	double vmax[MAX_WP];
};

static double turn_angle(double h1, double h2)
{
	return fabs(fmod(h2 - h1 + 540.0, 360.0) - 180.0);
}

static void route_init(struct gen *g, struct demo_path *r, const struct wp *wp, size_t n,
                       enum demo_phase ph)
{
	const struct mover *m = ph == DEMO_WALK ? &walker : &driver;
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		to_xy(g, wp[i].lat, wp[i].lon, &r->x[i], &r->y[i]);
		r->cum[i] = i ? r->cum[i - 1] + hypot(r->x[i] - r->x[i - 1], r->y[i] - r->y[i - 1]) : 0;
		r->vmax[i] = wp[i].vmax;
		r->corner[i] = HUGE_VAL;
		r->wait[i] = 0;
		if (wp[i].kind == WP_LIGHT && unit(g) < m->p_red)
			r->wait[i] = uniform(g, m->red_min, m->red_max);
		else if (wp[i].kind == WP_PAUSE)
			r->wait[i] = uniform(g, 180, 300);
	}
	for (size_t i = 0; i + 1 < n; i++) {
		double h = atan2(r->x[i + 1] - r->x[i], r->y[i + 1] - r->y[i]) * 180.0 / M_PI;
		r->heading[i] = h < 0 ? h + 360.0 : h;
	}
	r->heading[n - 1] = r->heading[n - 2];
	/* Drivers slow down for turns; walkers hardly do. */
	for (size_t i = 1; ph == DEMO_DRIVE && i + 1 < n; i++) {
		double a = turn_angle(r->heading[i - 1], r->heading[i]);
		r->corner[i] = a < 20 ? HUGE_VAL : a < 45 ? 9.0 : a < 80 ? 6.5 : a < 120 ? 4.5 : 3.0;
	}
	r->corner[n - 1] = 0;
	r->wait[0] = r->wait[n - 1] = 0;
}

/* The fastest speed at s that still allows every required speed ahead. */
static double allowed(const struct demo_path *r, size_t leg, double s, double brake)
{
	double best = HUGE_VAL;
	for (size_t j = leg + 1; j < r->n && r->cum[j] - s < LOOKAHEAD_M; j++) {
		double req = r->wait[j] > 0 ? 0.0 : r->corner[j];
		/* A lower limit on the next street counts from its start. */
		if (r->vmax[j] > 0 && j + 1 < r->n)
			req = fmin(req, r->vmax[j]);
		if (req == HUGE_VAL)
			continue;
		double d = fmax(0.0, r->cum[j] - s);
		best = fmin(best, sqrt(req * req + 2.0 * brake * d));
	}
	return best;
}

/* Moves along the route from time t0 (after the last fix) to its end,
 * sampling fixes. */
static void travel(struct gen *g, const struct wp *wp, size_t n, enum demo_phase ph, int64_t t0)
{
	const struct mover *m = ph == DEMO_WALK ? &walker : &driver;
	struct demo_path r;
	route_init(g, &r, wp, n, ph);
	double total = r.cum[n - 1];
	double s = 0, v = 0, standing = 0;
	double pace = 0;           /* the walker's deviation from 1.4 m/s, or the
	                            * driver's from 92 % of the limit */
	size_t leg = 0;
	int64_t now = t0, next = t0;
	int arrived = 0;
	while (!g->rc) {
		while (now < next && !arrived) {
			int64_t step = next - now < STEP_MS ? next - now : STEP_MS;
			double h = (double)step / 1000.0;
			now += step;
			/* Ornstein-Uhlenbeck: pace drifts about its mean (60 s). */
			double keep = exp(-h / 60.0);
			pace = keep * pace + sqrt(1.0 - keep * keep) * 0.08 * gauss(g);
			if (standing > 0) {
				standing -= h;
				continue;
			}
			double target = ph == DEMO_WALK ? clamp(1.4 + pace, 1.25, 1.55)
			                                : r.vmax[leg] * clamp(0.92 + pace * 0.6, 0.78, 1.0);
			target = fmin(target, allowed(&r, leg, s, m->brake));
			if (v < target)
				v = fmin(target, v + m->accel * (ph == DEMO_DRIVE ? 1.0 - 0.5 * v / 14.0 : 1.0) * h);
			else
				v = fmax(target, v - m->brake_max * h);
			s += v * h;
			/* Passing points: stop at the ones to stand at. */
			while (leg + 1 < n && s >= r.cum[leg + 1]) {
				leg++;
				if (r.wait[leg] > 0 || leg + 1 == n) {
					s = r.cum[leg];
					v = 0;
					standing = r.wait[leg];
					r.wait[leg] = 0;
					if (leg + 1 == n)
						arrived = 1;
					break;
				}
			}
		}
		size_t i = leg + 1 < n ? leg : n - 2;
		double frac = (s - r.cum[i]) / (r.cum[i + 1] - r.cum[i]);
		frac = clamp(frac, 0, 1);
		emit(g, ph, r.x[i] + frac * (r.x[i + 1] - r.x[i]), r.y[i] + frac * (r.y[i + 1] - r.y[i]),
		     v, r.heading[i], next);
		if (arrived)
			break;
		next += fix_interval(g, m->fix_min, m->fix_max);
	}
	if (ph == DEMO_WALK)
		g->sum.walk_m = total;
	else
		g->sum.drive_m = total;
}

/* Indoors at one place until `until` (exclusive). */
static void stay(struct gen *g, const struct wp *at, int64_t until)
{
	double x, y;
	to_xy(g, at->lat, at->lon, &x, &y);
	for (;;) {
		int64_t t = g->t + fix_interval(g, 15, 45);
		if (t >= until || g->rc)
			break;
		emit(g, DEMO_STAY, x, y, 0, 0, t);
	}
}

static void run_day(struct gen *g, int64_t midnight)
{
	int64_t walk = midnight + 8 * HOUR_MS + 5 * MINUTE_MS + (int64_t)(rnd(g) % (15 * MINUTE_MS));
	int64_t drive = midnight + 16 * HOUR_MS + 50 * MINUTE_MS + (int64_t)(rnd(g) % (20 * MINUTE_MS));
	travel(g, walk_route, NWALK, DEMO_WALK, walk);
	stay(g, &walk_route[NWALK - 1], drive);
	travel(g, drive_route, NDRIVE, DEMO_DRIVE, drive);
	stay(g, &drive_route[NDRIVE - 1], g->t + 15 * MINUTE_MS);
}

static void gen_init(struct gen *g, int64_t midnight, demo_fn fn, void *ctx)
{
	memset(g, 0, sizeof *g);
	/* The date, not the instant, picks the day: the same date in another
	 * zone or after a DST change is the same day. */
	int64_t day = (midnight + DAY_MS / 2) / DAY_MS - (midnight + DAY_MS / 2 < 0);
	g->rng = (uint64_t)day * 0x2545F4914F6CDD1DULL ^ 0x6D696E7472616320ULL;   /* "mintrac " */
	g->fn = fn;
	g->ctx = ctx;
	g->m_per_deg_lon = M_PER_DEG * cos(LAT0 * M_PI / 180.0);
}

int demo_day(int64_t midnight_ms, demo_fn fn, void *ctx, struct demo_summary *sum)
{
	struct gen g;
	/* Pass one measures the day's battery use, pass two reports the
	 * battery against it: the same seed walks the same day twice. */
	gen_init(&g, midnight_ms, NULL, NULL);
	run_day(&g, midnight_ms);
	if (fn) {
		double total = g.drain;
		gen_init(&g, midnight_ms, fn, ctx);
		g.drain_total = total;
		run_day(&g, midnight_ms);
	}
	if (sum)
		*sum = g.sum;
	return g.rc;
}
