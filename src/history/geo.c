/* Offline geodata, the pure part (see geo.h). Coordinates are integer
 * microdegrees so the point-in-polygon test is exact: a point on an edge
 * is found on it (a zero cross product), not left to rounding. */
#include "history/geo.h"

#include <endian.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define UDEG     1000000.0
#define DEG180   180000000LL
#define DEG360   360000000LL

double geo_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	double r = M_PI / 180;
	double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
	double a = sin(dlat / 2) * sin(dlat / 2) +
	           cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2);
	if (a > 1)
		a = 1;
	return 2 * GEO_EARTH_RADIUS_M * asin(sqrt(a));
}

struct geo_shape {
	int32_t       *xy;         /* x, y pairs of all rings */
	size_t         n, cap;     /* pairs */
	uint32_t      *len;        /* pairs per ring */
	size_t         nrings, rcap;
	unsigned char *blob;
	size_t         blob_len;
};

struct geo_shape *geo_shape_new(void)
{
	return xcalloc(1, sizeof(struct geo_shape));
}

void geo_shape_free(struct geo_shape *sh)
{
	if (!sh)
		return;
	free(sh->xy);
	free(sh->len);
	free(sh->blob);
	free(sh);
}

void geo_shape_ring(struct geo_shape *sh)
{
	array_grow(&sh->len, &sh->rcap, sh->nrings + 1, sizeof *sh->len);
	sh->len[sh->nrings++] = 0;
}

static int32_t to_udeg(double deg)
{
	return (int32_t)llround(deg * UDEG);
}

void geo_shape_add(struct geo_shape *sh, double lat, double lon)
{
	if (!sh->nrings)
		geo_shape_ring(sh);
	array_grow(&sh->xy, &sh->cap, sh->n + 1, 2 * sizeof *sh->xy);
	sh->xy[2 * sh->n] = to_udeg(lon);
	sh->xy[2 * sh->n + 1] = to_udeg(lat);
	sh->n++;
	sh->len[sh->nrings - 1]++;
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

/* A longitude step wrapped into [-180°, 180°]; a step of exactly 360° is
 * an edge along a parallel of data cut at the antimeridian: 0. */
static int64_t wrapped_step(int64_t d)
{
	if (d == DEG360 || d == -DEG360)
		return 0;
	while (d > DEG180)
		d -= DEG360;
	while (d < -DEG180)
		d += DEG360;
	return d;
}

/* Appends ring `in` (n vertices) to `out` as geo.h says: unwrapped across
 * the antimeridian, or, for a ring round a pole (its steps add up to a
 * whole turn), closed through the pole where it crosses the antimeridian. */
static void put_ring(struct geo_shape *out, const int32_t *in, size_t n)
{
	int64_t turn = 0, lat_sum = 0, widest = 0;
	size_t cross = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t d = (int64_t)in[2 * ((i + 1) % n)] - in[2 * i];
		turn += wrapped_step(d);
		lat_sum += in[2 * i + 1];
		if (llabs(d) > widest) {
			widest = llabs(d);
			cross = i;
		}
	}
	size_t need = out->n + n + 2;
	array_grow(&out->xy, &out->cap, need, 2 * sizeof *out->xy);
	int32_t *xy = out->xy + 2 * out->n;
	size_t k = 0;
	if (turn != 0) {
		int32_t pole = lat_sum < 0 ? -90000000 : 90000000;
		for (size_t i = 0; i < n; i++) {
			xy[2 * k] = in[2 * i];
			xy[2 * k++ + 1] = in[2 * i + 1];
			if (i == cross && widest > DEG180) {
				int32_t side = in[2 * i] >= 0 ? (int32_t)DEG180 : -(int32_t)DEG180;
				xy[2 * k] = side;
				xy[2 * k++ + 1] = pole;
				xy[2 * k] = -side;
				xy[2 * k++ + 1] = pole;
			}
		}
	} else {
		int64_t shift = 0, min = INT64_MAX, prev = 0;
		for (size_t i = 0; i < n; i++) {
			int64_t x = in[2 * i];
			if (i > 0) {
				/* A step of exactly 360° too: -180 and +180 are one
				 * meridian (cut data gives both in one ring). */
				int64_t d = x + shift - prev;
				if (d > DEG180)
					shift -= DEG360;
				else if (d < -DEG180)
					shift += DEG360;
			}
			prev = x + shift;
			min = prev < min ? prev : min;
			xy[2 * i] = (int32_t)prev;
			xy[2 * i + 1] = in[2 * i + 1];
		}
		if (min < -DEG180)
			for (size_t i = 0; i < n; i++)
				xy[2 * i] += (int32_t)DEG360;
		k = n;
	}
	out->n += k;
	array_grow(&out->len, &out->rcap, out->nrings + 1, sizeof *out->len);
	out->len[out->nrings++] = (uint32_t)k;
}

size_t geo_shape_finish(struct geo_shape *sh, double *min_lat, double *min_lon,
                        double *max_lat, double *max_lon)
{
	/* Each ring without repeated vertices and its closing one, into a
	 * new shape; rings left with fewer than 3 are dropped. */
	struct geo_shape out = { 0 };
	int32_t *ring = xmalloc((sh->n ? sh->n : 1) * 2 * sizeof *ring);
	size_t src = 0;
	for (size_t r = 0; r < sh->nrings; r++) {
		size_t m = 0;
		for (uint32_t i = 0; i < sh->len[r]; i++, src++) {
			int32_t x = sh->xy[2 * src], y = sh->xy[2 * src + 1];
			if (m > 0 && ring[2 * (m - 1)] == x && ring[2 * (m - 1) + 1] == y)
				continue;
			ring[2 * m] = x;
			ring[2 * m++ + 1] = y;
		}
		if (m > 1 && ring[0] == ring[2 * (m - 1)] && ring[1] == ring[2 * (m - 1) + 1])
			m--;
		if (m >= 3)
			put_ring(&out, ring, m);
	}
	free(ring);
	free(sh->xy);
	free(sh->len);
	sh->xy = out.xy;
	sh->n = out.n;
	sh->cap = out.cap;
	sh->len = out.len;
	sh->nrings = out.nrings;
	sh->rcap = out.rcap;
	size_t rings = sh->nrings;

	int64_t x0 = INT64_MAX, y0 = INT64_MAX, x1 = INT64_MIN, y1 = INT64_MIN;
	for (size_t i = 0; i < sh->n; i++) {
		int64_t x = sh->xy[2 * i], y = sh->xy[2 * i + 1];
		x0 = x < x0 ? x : x0;
		x1 = x > x1 ? x : x1;
		y0 = y < y0 ? y : y0;
		y1 = y > y1 ? y : y1;
	}
	*min_lat = rings ? (double)y0 / UDEG : 0;
	*max_lat = rings ? (double)y1 / UDEG : 0;
	*min_lon = rings ? (double)x0 / UDEG : 0;
	*max_lon = rings ? (double)x1 / UDEG : 0;

	free(sh->blob);
	sh->blob_len = 4 + 4 * rings + 8 * sh->n;
	sh->blob = xmalloc(sh->blob_len);
	unsigned char *p = sh->blob;
	put32(p, (uint32_t)rings);
	p += 4;
	for (size_t r = 0; r < rings; r++, p += 4)
		put32(p, sh->len[r]);
	for (size_t i = 0; i < 2 * sh->n; i++, p += 4)
		put32(p, (uint32_t)sh->xy[i]);
	return rings;
}

const unsigned char *geo_shape_blob(const struct geo_shape *sh, size_t *len)
{
	*len = sh->blob_len;
	return sh->blob;
}

/* The rings of a blob: NULL when it is malformed. */
static const unsigned char *decode(const void *blob, size_t len, uint32_t *nrings)
{
	const unsigned char *p = blob;
	if (!p || len < 4)
		return NULL;
	uint32_t n = get32(p);
	if (n == 0 || (len - 4) / 4 < n)
		return NULL;
	uint64_t total = 0;
	for (uint32_t r = 0; r < n; r++) {
		uint32_t k = get32(p + 4 + 4 * (size_t)r);
		if (k < 3)
			return NULL;
		total += k;
	}
	if (total * 8 != len - 4 - 4 * (uint64_t)n)
		return NULL;
	*nrings = n;
	return p + 4;
}

#define VX(v, i) ((int64_t)(int32_t)get32((v) + 8 * (size_t)(i)))
#define VY(v, i) ((int64_t)(int32_t)get32((v) + 8 * (size_t)(i) + 4))

/* Even-odd test of one point against all rings: 1 inside, 2 on an edge,
 * 0 outside. */
static int contains_at(const unsigned char *lens, uint32_t nrings, int64_t px, int64_t py)
{
	const unsigned char *v = lens + 4 * (size_t)nrings;
	int inside = 0;
	for (uint32_t r = 0; r < nrings; r++) {
		uint32_t n = get32(lens + 4 * (size_t)r);
		int64_t ax = VX(v, n - 1), ay = VY(v, n - 1);
		for (uint32_t i = 0; i < n; i++) {
			int64_t bx = VX(v, i), by = VY(v, i);
			if ((ay > py) != (by > py)) {
				int64_t c = (bx - ax) * (py - ay) - (px - ax) * (by - ay);
				if (c == 0)
					return 2;
				if ((c > 0) == (by > ay))
					inside ^= 1;
			} else if (ay == py && by == py &&
			           px >= (ax < bx ? ax : bx) && px <= (ax > bx ? ax : bx)) {
				return 2;
			} else if (ax == px && ay == py) {
				return 2;
			}
			ax = bx;
			ay = by;
		}
		v += 8 * (size_t)n;
	}
	return inside;
}

int geo_shape_contains(const void *blob, size_t len, double lat, double lon)
{
	uint32_t nrings;
	const unsigned char *lens = decode(blob, len, &nrings);
	if (!lens)
		return -1;
	int64_t px = to_udeg(lon), py = to_udeg(lat);
	return contains_at(lens, nrings, px, py) || contains_at(lens, nrings, px + DEG360, py);
}

/* Squared distance in square metres from the origin to segment a-b, all
 * in local metres. */
static double seg_dist2(double ax, double ay, double bx, double by)
{
	double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
	double t = l2 > 0 ? -(ax * dx + ay * dy) / l2 : 0;
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	double x = ax + t * dx, y = ay + t * dy;
	return x * x + y * y;
}

double geo_shape_edge_distance_m(const void *blob, size_t len, double lat, double lon,
                                 double max_m)
{
	uint32_t nrings;
	const unsigned char *lens = decode(blob, len, &nrings);
	if (!lens)
		return -1;
	const double my = GEO_EARTH_RADIUS_M * M_PI / 180 / UDEG;   /* m per udeg */
	const double mx = my * fmax(cos(lat * M_PI / 180), 1e-6);
	/* An edge with both ends beyond the window on one side is farther
	 * than max_m: an integer test before any floating point. */
	const int64_t wx = (int64_t)fmin(max_m / mx, 4e8) + 1, wy = (int64_t)fmin(max_m / my, 4e8) + 1;
	int64_t py = to_udeg(lat);
	double best = INFINITY;
	for (int turn = 0; turn < 2; turn++) {
		int64_t px = to_udeg(lon) + turn * DEG360;
		const unsigned char *v = lens + 4 * (size_t)nrings;
		for (uint32_t r = 0; r < nrings; r++) {
			uint32_t n = get32(lens + 4 * (size_t)r);
			int64_t ax = VX(v, n - 1) - px, ay = VY(v, n - 1) - py;
			for (uint32_t i = 0; i < n; i++) {
				int64_t bx = VX(v, i) - px, by = VY(v, i) - py;
				if (!((ax > wx && bx > wx) || (ax < -wx && bx < -wx) ||
				      (ay > wy && by > wy) || (ay < -wy && by < -wy))) {
					double d2 = seg_dist2((double)ax * mx, (double)ay * my,
					                      (double)bx * mx, (double)by * my);
					if (d2 < best)
						best = d2;
				}
				ax = bx;
				ay = by;
			}
			v += 8 * (size_t)n;
		}
	}
	best = sqrt(best);
	return best <= max_m ? best : INFINITY;
}
