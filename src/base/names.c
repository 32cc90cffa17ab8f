/* The contract's name rules for users, devices and idents, shared by the
 * CLI and the webapp's API so both refuse the same names with the same
 * words. */
#include "base/names.h"

#include <string.h>

const char *check_user_name(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > 64)
		return "user names are 1 to 64 characters";
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return "user names may contain only letters, digits, '.', '_' and '-'";
	return NULL;
}

/* '&' would cut the ident short in the query strings that carry it; a
 * control character (a newline, an escape sequence) has no place in a
 * device's id and would reach `device list` output and the logs. */
const char *check_device_ident(const char *ident)
{
	if (!*ident || strlen(ident) > 128 || strchr(ident, '&'))
		return "invalid ident: 1 to 128 characters, no '&'";
	for (const unsigned char *p = (const unsigned char *)ident; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
			return "invalid ident: no control characters";
	return NULL;
}

const char *check_device_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t chars = 0;
	while (*p) {
		unsigned c = *p, cp;
		size_t len;
		if (c < 0x80) {
			cp = c;
			len = 1;
		} else if ((c & 0xE0) == 0xC0) {
			cp = c & 0x1F;
			len = 2;
		} else if ((c & 0xF0) == 0xE0) {
			cp = c & 0x0F;
			len = 3;
		} else if ((c & 0xF8) == 0xF0) {
			cp = c & 0x07;
			len = 4;
		} else {
			return "device names must be valid UTF-8";
		}
		for (size_t k = 1; k < len; k++) {
			if ((p[k] & 0xC0) != 0x80)
				return "device names must be valid UTF-8";
			cp = (cp << 6) | (p[k] & 0x3F);
		}
		/* Reject overlong forms and surrogates, as any UTF-8 reader must. */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
			return "device names must be valid UTF-8";
		if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
			return "device names may not contain control characters";
		if (cp == '/')
			return "device names may not contain '/'";
		p += len;
		chars++;
	}
	if (chars < 1 || chars > 64)
		return "device names are 1 to 64 characters";
	return NULL;
}
