/* The release, as /api/config and /api/0/version report it. */
#ifndef MINTRAC_VERSION_H
#define MINTRAC_VERSION_H
#define MINTRAC_VERSION "0.2.0"
#endif
