/* SPDX-License-Identifier: MIT */
/* Claims as a verified token would give them, for the tests of what
 * consumes them (caches, routes, minting). */
#ifndef TESTS_CLAIMS_TESTUTIL_H
#define TESTS_CLAIMS_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"

/* Fills |c| (zeroed first) with subject |sub|, expiry |exp| and kept
 * claims |extra| (compact JSON), each cut to its field's size. */
static inline void
tu_claims(struct auth_claims *c, const char *sub, int64_t exp,
    const char *extra)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->sub, sizeof(c->sub), "%s", sub);
	c->sub_len = strlen(c->sub);
	c->exp = exp;
	snprintf(c->extra, sizeof(c->extra), "%s", extra);
	c->extra_len = strlen(c->extra);
}

#endif /* TESTS_CLAIMS_TESTUTIL_H */
