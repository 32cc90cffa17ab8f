/* A device's track for the map: the times of the fixes to draw for a range
 * at a tolerance. Up to TRACK_FULL_MAX fixes in range are read in full and
 * thinned exactly (Douglas–Peucker); longer ranges are sampled with index
 * seeks (thin_sample) and then thinned. Memory stays bounded by the larger
 * of the two limits, whatever the range. */
#ifndef MINTRAC_TRACK_H
#define MINTRAC_TRACK_H
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

#define TRACK_FULL_MAX   100000   /* fixes read in full before sampling */
#define TRACK_SAMPLE_MAX 50000    /* most points a sampled track keeps */

/* Times (ms, ascending) of the fixes to draw, in *times (malloc'ed; caller
 * frees; NULL when n is 0). STORE_OK or STORE_ERR. */
int track_thin(struct store *s, int64_t device_id, int64_t from_ms, int64_t to_ms,
               double tol_m, int64_t **times, size_t *n);
#endif
