/* Name rules of the contract: user names [A-Za-z0-9._-]{1,64}; device names
 * 1-64 characters of UTF-8 without control characters or '/'; idents as
 * Traccar Client sends them. Each returns NULL when valid, else why not (a
 * fixed sentence that never echoes the name). */
#ifndef MINTRAC_NAMES_H
#define MINTRAC_NAMES_H

const char *check_user_name(const char *name);
const char *check_device_name(const char *name);
const char *check_device_ident(const char *ident);
#endif
