#include "proto/appsettings.h"

#include <string.h>

enum app { APP_OSMAND, APP_TRACCAR, APP_GPSLOGGER, APP_OWNTRACKS, APP_OVERLAND, APP_ULOGGER,
           APP_DAWARICH, APP_COUNT };

static const char *const app_keys[APP_COUNT] = {
	"osmand", "traccar", "gpslogger", "owntracks", "overland", "ulogger", "dawarich",
};

/* Tokens are [A-Za-z0-9_-] only, so they go into URLs unencoded. */
static void app_url(struct buf *b, const struct app_settings *s, enum app a)
{
	buf_adds(b, s->base_url);
	switch (a) {
	case APP_OSMAND:
		buf_printf(b, "/osmand?token=%s&lat={0}&lon={1}&timestamp={2}&hdop={3}"
		              "&altitude={4}&speed={5}&bearing={6}&eta={7}&etfa={8}&eda={9}"
		              "&edfa={10}&batproc={11}", s->token);
		break;
	case APP_TRACCAR:
		buf_printf(b, "/?id=%s", s->token);
		break;
	case APP_GPSLOGGER:
		buf_printf(b, "/gpslogger?token=%s&lat=%%LAT&lon=%%LON&timestamp=%%TIMESTAMP"
		              "&altitude=%%ALT&speed=%%SPD&bearing=%%DIR&accuracy=%%ACC&batt=%%BATT",
		           s->token);
		break;
	case APP_OWNTRACKS:
		buf_adds(b, "/owntracks");
		break;
	case APP_OVERLAND:
		buf_printf(b, "/overland?token=%s", s->token);
		break;
	case APP_ULOGGER:
		break;
	case APP_DAWARICH:
		buf_printf(b, "/api/v1/overland/batches?api_key=%s", s->token);
		break;
	case APP_COUNT:
		break;
	}
}

void app_settings_json(struct buf *b, const struct app_settings *s)
{
	buf_adds(b, "{\"user\":");
	buf_add_json_str(b, s->user);
	buf_adds(b, ",\"device\":");
	buf_add_json_str(b, s->device);
	buf_adds(b, ",\"token\":");
	buf_add_json_str(b, s->token);
	buf_adds(b, ",\"ident\":");
	if (s->ident && *s->ident)
		buf_add_json_str(b, s->ident);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"urls\":{");
	for (int a = 0; a < APP_COUNT; a++) {
		struct buf u;
		buf_init(&u);
		app_url(&u, s, (enum app)a);
		buf_printf(b, "%s\"%s\":", a ? "," : "", app_keys[a]);
		buf_add_json_str(b, u.data);
		buf_free(&u);
	}
	buf_adds(b, "}}");
}

void app_settings_text(struct buf *b, const struct app_settings *s)
{
	struct buf u;
	buf_init(&u);
	buf_printf(b, "Device \"%s\" of %s\n  token: %s\n", s->device, s->user, s->token);
	if (s->ident && *s->ident)
		buf_printf(b, "  ident: %s (accepted instead of the token by Traccar Client)\n", s->ident);

	app_url(&u, s, APP_OSMAND);
	buf_printf(b, "\nOsmAnd: Trip recording > Online tracking > Web address:\n  %s\n", u.data);
	buf_printf(b, "\nTraccar Client: Server URL:\n  %s\n  Device identifier: %s\n", s->base_url,
	           s->ident && *s->ident ? s->ident : s->token);
	buf_reset(&u);
	app_url(&u, s, APP_GPSLOGGER);
	buf_printf(b, "\nGPSLogger: Log to custom URL > URL (method GET):\n  %s\n", u.data);
	buf_reset(&u);
	app_url(&u, s, APP_OWNTRACKS);
	buf_printf(b, "\nOwnTracks: Mode HTTP, URL:\n  %s\n  Username: %s\n  Password: %s\n", u.data,
	           s->user, s->token);
	buf_reset(&u);
	app_url(&u, s, APP_OVERLAND);
	buf_printf(b, "\nOverland: Receiver Endpoint:\n  %s\n  (or endpoint %s/overland with Access Token %s)\n",
	           u.data, s->base_url, s->token);
	buf_printf(b, "\nuLogger: Server URL:\n  %s\n  Username: %s\n  Password: %s\n", s->base_url,
	           s->user, s->token);
	buf_reset(&u);
	app_url(&u, s, APP_DAWARICH);
	buf_printf(b, "\nDawarich-compatible senders (GPSLogger's Dawarich sender, Home Assistant):\n  %s\n",
	           u.data);
	buf_free(&u);
}
