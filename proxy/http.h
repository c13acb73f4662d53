/* SPDX-License-Identifier: MIT */
/* Character classes of HTTP/1.1 shared by the client and server parsers. */
#ifndef PROXY_HTTP_H
#define PROXY_HTTP_H

#include <stdbool.h>
#include <string.h>

/* tchar, RFC 9110 §5.6.2: the bytes of a method or a field name. */
static inline bool
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

#endif /* PROXY_HTTP_H */
