/* SPDX-License-Identifier: MIT */
/* A small GET client over the upstream pools, for the issuer's token and
 * JWKS endpoints: one request, the whole (bounded) body, one callback. */
#ifndef PROXY_FETCH_H
#define PROXY_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "upstream.h"

#define FETCH_MAX_SET_COOKIE 8192 /* Set-Cookie lines kept, all together */

struct fetch_result {
	int status;        /* the HTTP status; 0 when no response came */
	enum up_error err; /* why, when status is 0 */
	bool too_large;    /* the body passed the limit (status kept) */
	/* The body, NUL-terminated (valid during the callback only). */
	const char *body;
	size_t body_len;
	/* Every Set-Cookie of the response as "Set-Cookie: v\r\n" lines
	 * (valid during the callback only); cut at FETCH_MAX_SET_COOKIE. */
	const char *set_cookie;
	size_t set_cookie_len;
};

typedef void fetch_done_fn(void *arg, const struct fetch_result *res);

struct fetch;

/*
 * Starts GET |target| on |pool| with the header lines |headers| (each
 * ending in CRLF; may be NULL), keeping at most |body_max| body bytes.
 * |done| is called exactly once, never from inside this function, unless
 * fetch_cancel comes first. Returns NULL on allocation failure (nothing
 * will be called).
 */
struct fetch *fetch_get(struct up_pool *pool, const char *target,
    const char *headers, size_t body_max, fetch_done_fn *done, void *arg);

/* Abandons |f| (no callback afterwards) and frees it. NULL is fine. Must
 * not be called from inside |f|'s own callback. */
void fetch_cancel(struct fetch *f);

#endif /* PROXY_FETCH_H */
