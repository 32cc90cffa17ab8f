/* The two server processes. Each runs its own libev loop on an already
 * bound listening socket until SIGTERM/SIGINT, then stops accepting,
 * finishes in-flight work and returns the process exit status (0). */
#ifndef MINTRAC_APP_H
#define MINTRAC_APP_H
#include "config.h"

/* The release, as /api/config and /api/0/version report it. */
#define MINTRAC_VERSION "0.2.0"

int receiver_main(const struct config *cfg, int listen_fd);
int webapp_main(const struct config *cfg, int listen_fd);
#endif
