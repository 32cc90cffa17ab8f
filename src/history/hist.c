/* Limits and distances for the history layer (hist.h). */
#include "history/hist.h"

#include <limits.h>
#include <math.h>

#define DEG (3.14159265358979323846 / 180.0)
/* Beyond this the flat projection's error grows past what a trip's
 * distance should carry; haversine costs more but such steps are rare. */
#define FLAT_MAX_M 10000.0

void hist_config_default(struct hist_config *c)
{
	c->max_accuracy = 500.0;
	c->jump_speed = 250.0 / 3.6;
	c->spike_min = 50.0;
	c->stay_radius = 100.0;
	c->stay_min_ms = 300000;
	c->step_min = 30.0;
	c->leave_fixes = 3;
}

double hist_dlon(double a, double b)
{
	double d = b - a;
	if (d > 180.0)
		d -= 360.0;
	else if (d < -180.0)
		d += 360.0;
	return d;
}

double hist_haversine(double lat1, double lon1, double lat2, double lon2)
{
	double p1 = lat1 * DEG, p2 = lat2 * DEG;
	double sa = sin((p2 - p1) / 2), sb = sin(hist_dlon(lon1, lon2) * DEG / 2);
	double h = sa * sa + cos(p1) * cos(p2) * sb * sb;
	if (h > 1.0)
		h = 1.0;
	return 2.0 * HIST_EARTH_R * asin(sqrt(h));
}

void hist_cos_init(struct hist_cos *c)
{
	c->band = LONG_MIN;
	c->cos = 1.0;
}

double hist_dist_c(struct hist_cos *c, double lat1, double lon1, double lat2, double lon2)
{
	/* cos of the mean latitude on a 0.01° grid */
	long band = (long)floor((lat1 + lat2) * 50.0);
	if (band != c->band) {
		c->band = band;
		c->cos = cos(((double)band / 100.0 + 0.005) * DEG);
	}
	double x = hist_dlon(lon1, lon2) * c->cos;
	double y = lat2 - lat1;
	double d = sqrt(x * x + y * y) * DEG * HIST_EARTH_R;
	return d > FLAT_MAX_M ? hist_haversine(lat1, lon1, lat2, lon2) : d;
}

double hist_dist(double lat1, double lon1, double lat2, double lon2)
{
	struct hist_cos c;
	hist_cos_init(&c);
	return hist_dist_c(&c, lat1, lon1, lat2, lon2);
}
