/* geo_store.h's calls, each sent to the backend's table. */
#include "store/geo_store.h"
#include "store/store_backend.h"

struct store_geo *store_geo_open(struct store *s)
{
	return s->ops->geo_open(s);
}

void store_geo_close(struct store_geo *g)
{
	if (g)
		g->ops->close(g);
}

const char *store_geo_errmsg(const struct store_geo *g)
{
	return g->ops->errmsg(g);
}

int store_geo_clear(struct store_geo *g)
{
	return g->ops->clear(g);
}

int store_geo_put_country(struct store_geo *g, const char *code, const char *name, double min_lat,
                          double min_lon, double max_lat, double max_lon, const void *shape,
                          size_t shape_len, int64_t *id_out)
{
	return g->ops->put_country(g, code, name, min_lat, min_lon, max_lat, max_lon, shape,
	                           shape_len, id_out);
}

int store_geo_set_country(struct store_geo *g, int64_t id, const char *code, const char *name)
{
	return g->ops->set_country(g, id, code, name);
}

int store_geo_put_city(struct store_geo *g, const char *name, const char *country, double lat,
                       double lon)
{
	return g->ops->put_city(g, name, country, lat, lon);
}

int store_geo_read_begin(struct store_geo *g)
{
	return g->ops->read_begin(g);
}

int store_geo_read_end(struct store_geo *g)
{
	return g->ops->read_end(g);
}

int store_geo_count(struct store_geo *g, int64_t *countries, int64_t *cities)
{
	return g->ops->count(g, countries, cities);
}

int store_geo_countries_in(struct store_geo *g, double min_lat, double min_lon,
                           double max_lat, double max_lon,
                           int (*cb)(void *ctx, const struct geo_country_rec *c), void *ctx)
{
	return g->ops->countries_in(g, min_lat, min_lon, max_lat, max_lon, cb, ctx);
}

int store_geo_cities_in(struct store_geo *g, double min_lat, double min_lon,
                        double max_lat, double max_lon,
                        int (*cb)(void *ctx, const struct geo_city_rec *c), void *ctx)
{
	return g->ops->cities_in(g, min_lat, min_lon, max_lat, max_lon, cb, ctx);
}
