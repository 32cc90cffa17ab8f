/* The receiver process: phones' positions in, replies after COMMIT. */
#ifndef MINTRAC_RECEIVER_H
#define MINTRAC_RECEIVER_H
#include "base/config.h"

/* Runs its own libev loop on the already bound listen_fd until SIGTERM/
 * SIGINT, then stops accepting, commits and answers what is in flight and
 * returns the process exit status (0). */
int receiver_main(const struct config *cfg, int listen_fd);
#endif
