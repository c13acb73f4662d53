/* SPDX-License-Identifier: MIT */
/* Names and HTTP statuses of the verdicts in enum auth_status. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* Stable names: they are the problem+json `code` and the access-log `auth`
 * field, so they never change once released. */
static const char *const status_names[AUTH_STATUS_MAX] = {
    [AUTH_OK] = "ok",
    [AUTH_NO_TOKEN] = "no_token",
    [AUTH_AMBIGUOUS] = "ambiguous",
    [AUTH_TOO_LARGE] = "too_large",
    [AUTH_MALFORMED] = "malformed",
    [AUTH_CRIT_UNSUPPORTED] = "crit_unsupported",
    [AUTH_ALG_REJECTED] = "alg_rejected",
    [AUTH_KEY_UNKNOWN] = "key_unknown",
    [AUTH_BAD_SIGNATURE] = "bad_signature",
    [AUTH_EXPIRED] = "expired",
    [AUTH_NOT_YET_VALID] = "not_yet_valid",
    [AUTH_CLAIM_MISSING] = "claim_missing",
    [AUTH_CLAIM_INVALID] = "claim_invalid",
    [AUTH_CLAIM_MISMATCH] = "claim_mismatch",
    [AUTH_NO_SUBJECT] = "no_subject",
    [AUTH_PATH_INVALID] = "path_invalid",
    [AUTH_NO_ROUTE] = "no_route",
    [AUTH_FORBIDDEN] = "forbidden",
    [AUTH_INTERNAL] = "internal",
};

const char *
auth_status_str(enum auth_status s)
{
	if ((unsigned)s >= AUTH_STATUS_MAX || status_names[s] == NULL)
		return "internal";
	return status_names[s];
}

int
auth_status_http(enum auth_status s)
{
	switch (s) {
	case AUTH_OK:
		return 200;
	case AUTH_PATH_INVALID:
	case AUTH_AMBIGUOUS:
	case AUTH_TOO_LARGE:
		return 400;
	case AUTH_NO_ROUTE:
		return 404;
	case AUTH_FORBIDDEN:
		return 403;
	case AUTH_NO_TOKEN:
	case AUTH_MALFORMED:
	case AUTH_CRIT_UNSUPPORTED:
	case AUTH_ALG_REJECTED:
	case AUTH_KEY_UNKNOWN:
	case AUTH_BAD_SIGNATURE:
	case AUTH_EXPIRED:
	case AUTH_NOT_YET_VALID:
	case AUTH_CLAIM_MISSING:
	case AUTH_CLAIM_INVALID:
	case AUTH_CLAIM_MISMATCH:
	case AUTH_NO_SUBJECT:
		return 401;
	case AUTH_INTERNAL:
	case AUTH_STATUS_MAX:
	default:
		/* Fail closed: an unknown verdict is never a pass. */
		return 503;
	}
}

void
auth_seterr(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}
