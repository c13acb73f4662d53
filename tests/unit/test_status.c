/* SPDX-License-Identifier: MIT */
/* Tests for auth/status.c: stable names and HTTP mapping of every verdict. */
#include <ctype.h>

#include "auth.h"
#include "tap.h"

static const struct {
	enum auth_status s;
	const char *name;
	int http;
} cases[] = {
    {AUTH_OK, "ok", 200},
    {AUTH_NO_TOKEN, "no_token", 401},
    {AUTH_AMBIGUOUS, "ambiguous", 400},
    {AUTH_TOO_LARGE, "too_large", 400},
    {AUTH_MALFORMED, "malformed", 401},
    {AUTH_CRIT_UNSUPPORTED, "crit_unsupported", 401},
    {AUTH_ALG_REJECTED, "alg_rejected", 401},
    {AUTH_KEY_UNKNOWN, "key_unknown", 401},
    {AUTH_BAD_SIGNATURE, "bad_signature", 401},
    {AUTH_EXPIRED, "expired", 401},
    {AUTH_NOT_YET_VALID, "not_yet_valid", 401},
    {AUTH_CLAIM_MISSING, "claim_missing", 401},
    {AUTH_CLAIM_INVALID, "claim_invalid", 401},
    {AUTH_CLAIM_MISMATCH, "claim_mismatch", 401},
    {AUTH_NO_SUBJECT, "no_subject", 401},
    {AUTH_PATH_INVALID, "path_invalid", 400},
    {AUTH_NO_ROUTE, "no_route", 404},
    {AUTH_FORBIDDEN, "forbidden", 403},
    {AUTH_INTERNAL, "internal", 503},
};

int
main(void)
{
	size_t i, j, n = sizeof(cases) / sizeof(cases[0]);

	is_int(n, AUTH_STATUS_MAX, "every status is in the table");
	for (i = 0; i < n; i++) {
		const char *s = auth_status_str(cases[i].s);
		int snake = s != NULL && s[0] != '\0';

		is_str(s, cases[i].name, "name of status %d", (int)cases[i].s);
		is_int(auth_status_http(cases[i].s), cases[i].http,
		    "http of %s", cases[i].name);
		for (j = 0; snake && s[j]; j++)
			if (!(islower((unsigned char)s[j]) || s[j] == '_'))
				snake = 0;
		ok(snake, "%s is snake_case", cases[i].name);
		for (j = 0; j < i; j++)
			ok(strcmp(s, auth_status_str(cases[j].s)) != 0,
			    "%s differs from %s", s, cases[j].name);
	}
	is_str(auth_status_str(AUTH_STATUS_MAX), "internal", "MAX is internal");
	is_str(auth_status_str((enum auth_status) - 1), "internal",
	    "negative is internal");
	is_str(auth_status_str((enum auth_status)1000), "internal",
	    "1000 is internal");
	is_int(auth_status_http(AUTH_STATUS_MAX), 503, "MAX is 503");
	is_int(auth_status_http((enum auth_status)1000), 503, "1000 is 503");
	return tap_done();
}
