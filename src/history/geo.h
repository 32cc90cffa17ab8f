/* Offline geodata, the pure part: great-circle distance, and country
 * shapes as compact blobs with a point-in-polygon test.
 *
 * A shape is one polygon: an outer ring and its holes, in integer
 * microdegrees (0.1 m, exact for any quantised source), encoded as
 *   u32 nrings, u32 len[nrings], then len[0] + ... (x = lon, y = lat)
 *   pairs of i32, every number little-endian,
 * so a blob read back from the store on any machine decodes the same.
 * Rings are read with the even-odd rule, so holes need no orientation.
 *
 * The antimeridian: a ring whose consecutive longitudes jump by more than
 * 180° (and less than 360°) is unwrapped (longitudes made continuous, then
 * shifted so that none is below -180°), so it may extend past +180°; a
 * point is then tested at lon and lon + 360 (geo_shape_contains does
 * both). A ring round a pole (its longitude steps, each taken the short
 * way, add up to a whole turn; a step of exactly 360° counts as none) is
 * closed through that pole where it crosses the antimeridian: Natural
 * Earth's Antarctica is a ring along its coast from -180° to +180°. */
#ifndef MINTRAC_HISTORY_GEO_H
#define MINTRAC_HISTORY_GEO_H
#include <stddef.h>
#include <stdint.h>

#define GEO_EARTH_RADIUS_M 6371008.8   /* mean radius (IUGG) */

/* Great-circle distance in metres (haversine). */
double geo_distance_m(double lat1, double lon1, double lat2, double lon2);

/* A shape under construction: rings of (lat, lon) vertices in degrees. */
struct geo_shape;
struct geo_shape *geo_shape_new(void);
void geo_shape_free(struct geo_shape *sh);           /* NULL-safe */
/* Starts a ring; the vertices that follow belong to it. A closing vertex
 * equal to the first may be given or not. */
void geo_shape_ring(struct geo_shape *sh);
void geo_shape_add(struct geo_shape *sh, double lat, double lon);
/* Ends the shape: drops rings of fewer than 3 distinct vertices, unwraps
 * rings across the antimeridian. Returns the number of rings left (0 =
 * nothing to store) and the bounding box in degrees (max_lon may exceed
 * 180 after unwrapping). */
size_t geo_shape_finish(struct geo_shape *sh, double *min_lat, double *min_lon,
                        double *max_lat, double *max_lon);
/* The encoded blob of a finished shape; valid until geo_shape_free. */
const unsigned char *geo_shape_blob(const struct geo_shape *sh, size_t *len);

/* 1 when (lat, lon) is inside the encoded shape or on its boundary, 0
 * when outside, -1 when the blob is malformed. */
int geo_shape_contains(const void *blob, size_t len, double lat, double lon);
/* Distance in metres from (lat, lon) to the nearest edge of the shape
 * (a local flat approximation, good to a few metres within tens of km)
 * when it is at most max_m, else INFINITY (edges certainly farther are
 * skipped unmeasured); -1 when the blob is malformed. */
double geo_shape_edge_distance_m(const void *blob, size_t len, double lat, double lon,
                                 double max_m);
#endif
