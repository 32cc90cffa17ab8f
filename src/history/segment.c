/* Stays and trips (segment.h): one state machine per device, fed cleaned
 * fixes, O(1) work and no allocation per fix (the parts array grows only
 * when a trip enters a new 15-minute bucket). */
#include "history/segment.h"
#include "base/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Counted steps slower than this are standing still: they do not vote
 * for the mode. */
#define MOVING_MS 0.5
/* Speeds are measured over at least this long: at 1 Hz, a few metres of
 * noise between two fixes would be as many m/s. */
#define SPEED_WINDOW_MS 10000

enum state { EMPTY, MOVING, STAY };

/* A run of fixes around a running mean: a stay or a candidate for one.
 * The mean is kept as offsets from the first fix (wrapped longitude), so
 * it is a pure function of the run's fixes. */
struct place {
	struct hist_fix first, last;
	double sdlat, sdlon;
	uint64_t n;
};

/* A trip's movement so far. Plain data: a copy taken when a candidate
 * stay starts is restored if the candidate becomes a stay, which rolls
 * back the candidate's own fixes (they belong to the stay). parts[] itself
 * is shared; nparts and the last part's value are what a copy restores. */
struct odo {
	struct hist_fix k;     /* the last counted fix */
	struct hist_fix sp;    /* where the current speed window began */
	double dist;
	uint64_t fed;          /* fixes fed since the trip's first end */
	uint64_t steps;        /* speed windows */
	double top1, top2;     /* the two highest window speeds */
	double class_ms[4];    /* time moving at walk, cycle, drive, fly speeds */
	size_t nparts;
	double last_part;
};

struct hist_seg {
	struct hist_config cfg;
	hist_emit_fn emit;
	void *ctx;
	struct clean clean;
	struct hist_cos cos;
	enum state state;
	int finished;
	int64_t raw_t;         /* the raw fix being fed: decided_ms */
	struct hist_fix last;  /* the last cleaned fix processed */
	/* the trip in progress (in STAY: the tentative one of an excursion) */
	int64_t trip_start;
	double from_lat, from_lon;
	struct odo odo;
	struct place cand;
	struct odo cand_odo;   /* odo before the candidate's first fix */
	/* STAY */
	struct place stay;
	int n_out;             /* consecutive fixes outside it */
	int64_t out_first;
	struct hist_part *parts;
	size_t cap;
};

const char *hist_mode_name(enum hist_mode m)
{
	switch (m) {
	case HIST_WALK: return "walk";
	case HIST_CYCLE: return "cycle";
	case HIST_DRIVE: return "drive";
	case HIST_FLY: return "fly";
	case HIST_UNKNOWN: break;
	}
	return "unknown";
}

struct hist_seg *hist_seg_new(const struct hist_config *cfg, hist_emit_fn emit, void *ctx)
{
	struct hist_seg *s = xcalloc(1, sizeof(*s));
	s->cfg = *cfg;
	s->emit = emit;
	s->ctx = ctx;
	clean_init(&s->clean, cfg);
	hist_cos_init(&s->cos);
	s->state = EMPTY;
	return s;
}

void hist_seg_free(struct hist_seg *s)
{
	if (!s)
		return;
	free(s->parts);
	free(s);
}

const struct clean *hist_seg_clean(const struct hist_seg *s)
{
	return &s->clean;
}

static double dist(struct hist_seg *s, double lat1, double lon1, double lat2, double lon2)
{
	return hist_dist_c(&s->cos, lat1, lon1, lat2, lon2);
}

/* ---- places ---------------------------------------------------------- */

static void place_start(struct place *p, const struct hist_fix *f)
{
	p->first = p->last = *f;
	p->sdlat = p->sdlon = 0;
	p->n = 1;
}

static void place_add(struct place *p, const struct hist_fix *f)
{
	p->sdlat += f->lat - p->first.lat;
	p->sdlon += hist_dlon(p->first.lon, f->lon);
	p->last = *f;
	p->n++;
}

static void place_centre(const struct place *p, double *lat, double *lon)
{
	*lat = p->first.lat + p->sdlat / (double)p->n;
	double lo = p->first.lon + p->sdlon / (double)p->n;
	if (lo > 180.0)
		lo -= 360.0;
	else if (lo < -180.0)
		lo += 360.0;
	*lon = lo;
}

static double place_dist(struct hist_seg *s, const struct place *p, const struct hist_fix *f)
{
	double lat, lon;
	place_centre(p, &lat, &lon);
	return dist(s, lat, lon, f->lat, f->lon);
}

/* ---- the odometer ---------------------------------------------------- */

/* Adds d metres travelled over [t0, t1] to the 15-minute buckets, in
 * proportion to the time in each. */
static void add_parts(struct hist_seg *s, int64_t t0, int64_t t1, double d)
{
	struct odo *o = &s->odo;
	int64_t b = t0 - ((t0 % HIST_PART_MS) + HIST_PART_MS) % HIST_PART_MS;
	double span = (double)(t1 - t0);
	while (b < t1 || (b == t0 && t0 == t1)) {
		int64_t lo = b > t0 ? b : t0, hi = b + HIST_PART_MS < t1 ? b + HIST_PART_MS : t1;
		double part = span > 0 ? d * (double)(hi - lo) / span : d;
		if (part > 0) {
			if (o->nparts && s->parts[o->nparts - 1].start_ms == b) {
				o->last_part += part;
			} else {
				if (o->nparts)
					s->parts[o->nparts - 1].distance = o->last_part;
				array_grow(&s->parts, &s->cap, o->nparts + 1, sizeof(*s->parts));
				s->parts[o->nparts].start_ms = b;
				o->nparts++;
				o->last_part = part;
			}
			s->parts[o->nparts - 1].distance = o->last_part;
		}
		if (t0 == t1)
			break;
		b += HIST_PART_MS;
	}
}

static void odo_begin(struct hist_seg *s, const struct hist_fix *from)
{
	s->odo = (struct odo){ .k = *from, .sp = *from };
}

static void odo_speed(struct hist_seg *s, const struct hist_fix *f)
{
	struct odo *o = &s->odo;
	int64_t dt = f->t_ms - o->sp.t_ms;
	if (dt < SPEED_WINDOW_MS)
		return;
	double v = dist(s, o->sp.lat, o->sp.lon, f->lat, f->lon) / ((double)dt / 1000.0);
	if (v > o->top1) {
		o->top2 = o->top1;
		o->top1 = v;
	} else if (v > o->top2) {
		o->top2 = v;
	}
	if (v >= MOVING_MS) {
		double kmh = v * 3.6;
		int c = kmh < 7 ? 0 : kmh < 25 ? 1 : kmh < 200 ? 2 : 3;
		o->class_ms[c] += (double)dt;
	}
	o->steps++;
	o->sp = *f;
}

static void odo_feed(struct hist_seg *s, const struct hist_fix *f)
{
	struct odo *o = &s->odo;
	o->fed++;
	odo_speed(s, f);
	double d = dist(s, o->k.lat, o->k.lon, f->lat, f->lon);
	if (d < s->cfg.step_min)
		return;
	o->dist += d;
	add_parts(s, o->k.t_ms, f->t_ms, d);
	o->k = *f;
}

/* The remainder from the last counted fix to the trip's last one. */
static void odo_close(struct hist_seg *s, const struct hist_fix *f)
{
	struct odo *o = &s->odo;
	double d = dist(s, o->k.lat, o->k.lon, f->lat, f->lon);
	if (d > 0) {
		o->dist += d;
		add_parts(s, o->k.t_ms, f->t_ms, d);
	}
	o->k = *f;
}

static enum hist_mode odo_mode(const struct odo *o)
{
	double total = 0;
	for (int i = 0; i < 4; i++)
		total += o->class_ms[i];
	if (o->steps < 3 || total <= 0)
		return HIST_UNKNOWN;
	double acc = 0;
	static const enum hist_mode modes[4] = { HIST_WALK, HIST_CYCLE, HIST_DRIVE, HIST_FLY };
	for (int i = 0; i < 4; i++) {
		acc += o->class_ms[i];
		if (acc * 2 >= total)
			return modes[i];
	}
	return HIST_FLY;
}

/* ---- emitting -------------------------------------------------------- */

static void emit_trip(struct hist_seg *s, const struct hist_fix *end, double to_lat,
		      double to_lon, uint64_t nfix, int open)
{
	const struct odo *o = &s->odo;
	struct hist_segment g = {
		.kind = HIST_TRIP,
		.open = open,
		.start_ms = s->trip_start,
		.end_ms = end->t_ms,
		.decided_ms = s->raw_t,
		.nfix = nfix,
		.from_lat = s->from_lat, .from_lon = s->from_lon,
		.to_lat = to_lat, .to_lon = to_lon,
		.distance = o->dist,
		.duration_s = (double)(end->t_ms - s->trip_start) / 1000.0,
		.max_speed = o->steps >= 2 ? o->top2 : o->top1,
		.mode = odo_mode(o),
		.gap = !open && nfix == 0,
		.parts = s->parts,
		.nparts = o->nparts,
	};
	g.avg_speed = g.duration_s > 0 ? g.distance / g.duration_s : 0;
	s->emit(s->ctx, &g);
}

static void emit_stay(struct hist_seg *s, const struct place *p, int64_t end, int open)
{
	struct hist_segment g = {
		.kind = HIST_STAY,
		.open = open,
		.start_ms = p->first.t_ms,
		.end_ms = end,
		.decided_ms = s->raw_t,
		.nfix = p->n,
	};
	place_centre(p, &g.lat, &g.lon);
	s->emit(s->ctx, &g);
}

/* ---- the machine ----------------------------------------------------- */

static void trip_begin(struct hist_seg *s, const struct hist_fix *from, double lat, double lon)
{
	s->trip_start = from->t_ms;
	s->from_lat = lat;
	s->from_lon = lon;
	odo_begin(s, from);
	s->cand.n = 0;
}

/* The candidate reached stay_min: the trip before it ends at its first
 * fix, and it becomes the stay. */
static void confirm(struct hist_seg *s)
{
	const struct hist_fix *c = &s->cand.first;
	if (c->t_ms > s->trip_start) {
		s->odo = s->cand_odo;
		if (s->odo.nparts)
			s->parts[s->odo.nparts - 1].distance = s->odo.last_part;
		uint64_t between = s->odo.fed;
		odo_feed(s, c);
		odo_close(s, c);
		double lat, lon;
		place_centre(&s->cand, &lat, &lon);
		emit_trip(s, c, lat, lon, between, 0);
	}
	s->stay = s->cand;
	s->state = STAY;
	s->n_out = 0;
}

/* A fix while moving (or during an excursion from a stay): it joins the
 * candidate stay, or starts a new one (the old one was part of the trip). */
static void moving_fix(struct hist_seg *s, const struct hist_fix *f)
{
	if (s->cand.n && place_dist(s, &s->cand, f) <= s->cfg.stay_radius) {
		odo_feed(s, f);
		place_add(&s->cand, f);
		if (s->state == MOVING && f->t_ms - s->cand.first.t_ms >= s->cfg.stay_min_ms)
			confirm(s);
		return;
	}
	s->cand_odo = s->odo;
	odo_feed(s, f);
	place_start(&s->cand, f);
}

static void stay_fix(struct hist_seg *s, const struct hist_fix *f)
{
	double d = place_dist(s, &s->stay, f);
	if (d <= s->cfg.stay_radius) {
		s->n_out = 0;            /* drift, if anything was outside: forgotten */
		place_add(&s->stay, f);
		return;
	}
	/* Outside, but within its own accuracy of the radius: it cannot say
	 * the device left (indoors a phone reports 150 m off with acc 100 for
	 * minutes), nor that it stayed. */
	if (f->acc > 0 && d <= s->cfg.stay_radius + f->acc)
		return;
	if (s->n_out == 0) {
		double lat, lon;
		place_centre(&s->stay, &lat, &lon);
		trip_begin(s, &s->stay.last, lat, lon);
		s->out_first = f->t_ms;
	}
	s->n_out++;
	if (s->n_out >= s->cfg.leave_fixes || d > 3 * s->cfg.stay_radius ||
	    f->t_ms - s->out_first >= s->cfg.stay_min_ms) {
		emit_stay(s, &s->stay, s->stay.last.t_ms, 0);
		s->state = MOVING;
		s->n_out = 0;
	}
	moving_fix(s, f);
}

static void process(struct hist_seg *s, const struct hist_fix *f)
{
	switch (s->state) {
	case EMPTY:
		trip_begin(s, f, f->lat, f->lon);
		s->cand_odo = s->odo;
		place_start(&s->cand, f);
		s->state = MOVING;
		break;
	case MOVING:
		moving_fix(s, f);
		break;
	case STAY:
		stay_fix(s, f);
		break;
	}
	s->last = *f;
}

void hist_seg_push(struct hist_seg *s, const struct hist_fix *f)
{
	struct hist_fix out;
	if (s->finished)
		return;
	s->raw_t = f->t_ms;
	if (clean_push(&s->clean, f, &out))
		process(s, &out);
}

/* The open segment. The cleaner's pending fix is not judged yet, so it
 * only stretches the open segment to its time (and, for a trip, to its
 * place): a closed segment must never rest on it. */
static void emit_open(struct hist_seg *s)
{
	struct hist_fix pend;
	int has_pend = clean_peek(&s->clean, &pend);
	if (s->state == EMPTY) {
		if (!has_pend)
			return;
		process(s, &pend);
		has_pend = 0;
	}
	const struct hist_fix *end = has_pend ? &pend : &s->last;
	s->raw_t = end->t_ms;
	if (s->state == STAY) {
		emit_stay(s, &s->stay, end->t_ms, 1);
		return;
	}
	if (s->cand.n && s->cand.first.t_ms == s->trip_start) {
		emit_stay(s, &s->cand, end->t_ms, 1);  /* nothing moved yet */
		return;
	}
	if (has_pend)
		odo_feed(s, &pend);
	uint64_t between = s->odo.fed ? s->odo.fed - 1 : 0;
	odo_close(s, end);
	emit_trip(s, end, end->lat, end->lon, between, 1);
}

/* Works on the state and puts it back: the struct is plain data, and of
 * parts[] only the last used entry can change (odo.last_part holds its
 * value); entries past it are scratch. A realloc of parts is kept. */
void hist_seg_open(struct hist_seg *s)
{
	if (s->finished)
		return;
	struct hist_seg saved = *s;
	emit_open(s);
	saved.parts = s->parts;
	saved.cap = s->cap;
	*s = saved;
	if (s->odo.nparts)
		s->parts[s->odo.nparts - 1].distance = s->odo.last_part;
}

void hist_seg_finish(struct hist_seg *s)
{
	if (s->finished)
		return;
	emit_open(s);
	s->finished = 1;
}
