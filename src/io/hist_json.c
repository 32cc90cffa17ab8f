/* See hist_json.h. */
#include "io/hist_json.h"

#include "history/segment.h"
#include "history/stats.h"

const char *hist_json_mode(int mode)
{
	return hist_mode_name((enum hist_mode)mode);
}

static void latlon(struct buf *b, double lat, double lon)
{
	buf_adds(b, "{\"lat\":");
	buf_add_double(b, lat);
	buf_adds(b, ",\"lon\":");
	buf_add_double(b, lon);
	buf_addc(b, '}');
}

static void str_or_null(struct buf *b, const char *s)
{
	if (s && *s)
		buf_add_json_str(b, s);
	else
		buf_adds(b, "null");
}

/* Metres and m/s to the millimetre: more digits would only be noise. */
static void rounded(struct buf *b, double v)
{
	buf_add_double(b, (double)(int64_t)(v * 1000 + (v < 0 ? -0.5 : 0.5)) / 1000);
}

void hist_json_segment(struct buf *b, const struct seg_rec *r, const struct place_rec *place)
{
	buf_adds(b, r->kind == SEG_STAY ? "{\"kind\":\"stay\",\"start\":\"" : "{\"kind\":\"trip\",\"start\":\"");
	buf_add_iso_ms(b, r->start_ms);
	buf_adds(b, "\",\"end\":\"");
	buf_add_iso_ms(b, r->end_ms);
	buf_addc(b, '"');
	if (r->kind == SEG_STAY) {
		buf_adds(b, ",\"lat\":");
		buf_add_double(b, r->lat);
		buf_adds(b, ",\"lon\":");
		buf_add_double(b, r->lon);
		buf_adds(b, ",\"place\":");
		if (place) {
			buf_printf(b, "{\"id\":%lld,\"name\":", (long long)place->id);
			str_or_null(b, place->named ? place->name : NULL);
			buf_adds(b, ",\"city\":");
			str_or_null(b, place->city);
			buf_adds(b, ",\"country\":");
			str_or_null(b, place->country);
			buf_addc(b, '}');
		} else {
			buf_adds(b, "null");
		}
	} else {
		buf_adds(b, ",\"distance\":");
		rounded(b, r->distance);
		buf_adds(b, ",\"duration\":");
		rounded(b, r->duration_s);
		buf_adds(b, ",\"avg_speed\":");
		rounded(b, r->avg_speed);
		buf_adds(b, ",\"max_speed\":");
		rounded(b, r->max_speed);
		buf_adds(b, ",\"mode\":\"");
		buf_adds(b, hist_json_mode(r->mode));
		buf_adds(b, "\",\"from\":");
		latlon(b, r->from_lat, r->from_lon);
		buf_adds(b, ",\"to\":");
		latlon(b, r->to_lat, r->to_lon);
		if (r->gap)
			buf_adds(b, ",\"gap\":true");
	}
	if (r->open)
		buf_adds(b, ",\"open\":true");
	buf_addc(b, '}');
}

void hist_json_place(struct buf *b, const struct place_stat *ps)
{
	const struct place_rec *p = &ps->p;
	buf_printf(b, "{\"id\":%lld,\"name\":", (long long)p->id);
	str_or_null(b, p->named ? p->name : NULL);
	buf_adds(b, ",\"lat\":");
	buf_add_double(b, p->lat);
	buf_adds(b, ",\"lon\":");
	buf_add_double(b, p->lon);
	buf_adds(b, ",\"radius\":");
	buf_add_double(b, p->radius);
	buf_adds(b, ",\"city\":");
	str_or_null(b, p->city);
	buf_adds(b, ",\"country\":");
	str_or_null(b, p->country);
	buf_printf(b, ",\"visits\":%lld,\"first\":", (long long)ps->visits);
	if (ps->visits) {
		buf_addc(b, '"');
		buf_add_iso_ms(b, ps->first_ms);
		buf_adds(b, "\",\"last\":\"");
		buf_add_iso_ms(b, ps->last_ms);
		buf_addc(b, '"');
	} else {
		buf_adds(b, "null,\"last\":null");
	}
	buf_addc(b, '}');
}

static void periods(struct buf *b, const char *name, const char *key,
                    const struct stats_period *v, size_t n, int with_days)
{
	buf_printf(b, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		buf_printf(b, "%s{\"%s\":", i ? "," : "", key);
		buf_add_json_str(b, v[i].key);
		buf_adds(b, ",\"distance\":");
		rounded(b, v[i].distance);
		if (with_days)
			buf_printf(b, ",\"days\":%d", v[i].days);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
}

static void wheres(struct buf *b, const char *name, const struct stats_where *v, size_t n,
                   int cities, const char *(*name_of)(void *ctx, const char *code), void *ctx)
{
	buf_printf(b, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		buf_adds(b, i ? ",{" : "{");
		if (cities) {
			buf_adds(b, "\"name\":");
			buf_add_json_str(b, v[i].name);
			buf_adds(b, ",\"country\":");
			str_or_null(b, v[i].country);
		} else {
			buf_adds(b, "\"code\":");
			buf_add_json_str(b, v[i].country);
			buf_adds(b, ",\"name\":");
			str_or_null(b, v[i].display[0] ? v[i].display
			                               : name_of ? name_of(ctx, v[i].country) : NULL);
		}
		buf_printf(b, ",\"days\":%d,\"first\":\"%s\",\"last\":\"%s\"}", v[i].days,
		           v[i].first, v[i].last);
	}
	buf_addc(b, ']');
}

void hist_json_stats(struct buf *b, const char *device, const char *zone, int year,
                     const struct hist_stats *st,
                     const char *(*name_of)(void *ctx, const char *code), void *ctx)
{
	buf_adds(b, "{\"device\":");
	buf_add_json_str(b, device);
	buf_adds(b, ",\"timezone\":");
	buf_add_json_str(b, zone);
	if (year)
		buf_printf(b, ",\"year\":%d", year);
	buf_adds(b, ",\"distance\":");
	rounded(b, st->distance);
	buf_printf(b, ",\"days\":%d", st->days);
	periods(b, "years", "year", st->years, st->nyears, 1);
	periods(b, "months", "month", st->months, st->nmonths, 1);
	wheres(b, "countries", st->countries, st->ncountries, 0, name_of, ctx);
	wheres(b, "cities", st->cities, st->ncities, 1, name_of, ctx);
	if (year)
		periods(b, "daily", "date", st->daily, st->ndaily, 0);
	buf_addc(b, '}');
}
