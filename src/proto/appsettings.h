/* What a user pastes into each phone app for a device: URL templates and
 * credentials, as JSON (`device add --json`, the webapp) or as text. */
#ifndef MINTRAC_APPSETTINGS_H
#define MINTRAC_APPSETTINGS_H
#include "base/buf.h"

struct app_settings {
	const char *base_url;   /* receiver URL as phones reach it, no trailing '/' */
	const char *user;
	const char *device;
	const char *token;
	const char *ident;      /* NULL when none */
};

void app_settings_json(struct buf *b, const struct app_settings *s);
void app_settings_text(struct buf *b, const struct app_settings *s);
#endif
