/* SPDX-License-Identifier: MIT */
/* Declarations shared between auth/ sources only; not part of the API. */
#ifndef AUTH_INTERNAL_H
#define AUTH_INTERNAL_H

#include <jansson.h>

#include "auth.h"

/* Fills |out| from a decoded, duplicate-free JSON payload object: the
 * subject (|p|->subject_path or "sub"; must be a non-empty string of at
 * most AUTH_MAX_SUB_LEN bytes), exp/nbf/iat (JSON integers or, for exp,
 * a real with no fraction beyond range checks; exp required unless
 * |p|->exp_optional) checked against |now| with |p|->leeway when
 * |check_times|, iss and aud (string or array) when the policy sets them,
 * and the kept claims as compact JSON. Defined in claims.c. */
enum auth_status auth_claims_from_json(const struct auth_policy *p,
    json_t *payload, int64_t now, bool check_times, struct auth_claims *out);

/* Parses |len| bytes of JSON text strictly (JSON_REJECT_DUPLICATES, an
 * object at the top, depth at most AUTH_MAX_JSON_DEPTH). NULL when
 * malformed. Defined in jwt.c. */
json_t *auth_json_parse_object(const char *text, size_t len);

/* HMAC-SHA-2 of |msg| under |key| with digest |md_name| ("SHA256"...)
 * into |out| (64 bytes room). Returns the MAC length, or 0 on failure.
 * Defined in jwt_sig.c. */
size_t auth_hmac(const char *md_name, const unsigned char *key,
    size_t key_len, const unsigned char *msg, size_t msg_len,
    unsigned char *out);

#endif /* AUTH_INTERNAL_H */
