/* SPDX-License-Identifier: MIT */
/* Declarations shared between auth/ sources only; not part of the API. */
#ifndef AUTH_INTERNAL_H
#define AUTH_INTERNAL_H

#include <jansson.h>
#include <openssl/evp.h>

#include "auth.h"

/* Fills |out| from a decoded, duplicate-free JSON payload object: the
 * subject (|p|->subject_path or "sub"; must be a non-empty string of at
 * most AUTH_MAX_SUB_LEN bytes without control bytes), exp/nbf/iat (JSON
 * integers only: a real, even 1.0, is AUTH_CLAIM_INVALID; exp required
 * unless |p|->exp_optional) checked against |now| with |p|->leeway when
 * |check_times| (when false they are neither required nor compared, only
 * type-checked), iss and aud (string or array) when the policy sets them
 * (a present aud without a policy audience is AUTH_CLAIM_MISMATCH), and the
 * kept claims as compact JSON. |out| is written only on AUTH_OK,
 * with alg AUTH_ALG_INVALID. Defined in claims.c. */
enum auth_status auth_claims_from_json(const struct auth_policy *p,
    json_t *payload, int64_t now, bool check_times, struct auth_claims *out);

/* Parses |len| bytes of JSON text strictly (JSON_REJECT_DUPLICATES, an
 * object at the top, depth at most AUTH_MAX_JSON_DEPTH). NULL when
 * malformed, or when an allocation failed during the parse (see
 * auth_init). Defined in jwt.c. */
json_t *auth_json_parse_object(const char *text, size_t len);

/* Allocation-failure tracking for jansson on this thread, active once
 * auth_init() has run: reset, run jansson, then ask. Defined in jwt.c. */
void auth_json_oom_reset(void);
bool auth_json_oom(void);

/* HMAC-SHA-2 of |msg| under |key| with digest |md_name| ("SHA256"...)
 * into |out| (64 bytes room). Returns the MAC length, or 0 on failure.
 * Defined in jwt_sig.c. */
size_t auth_hmac(const char *md_name, const unsigned char *key, size_t key_len,
    const unsigned char *msg, size_t msg_len, unsigned char *out);

/* One verification key, pinned to one alg. Owned by its keyset; immutable
 * once added. Defined in keys.c. */
struct auth_key {
	char kid[AUTH_MAX_KID_LEN + 1]; /* NUL-terminated; "" when none */
	size_t kid_len;
	bool has_kid;
	enum auth_alg alg;
	EVP_PKEY *pkey;   /* RS/PS/ES/EdDSA; owned */
	EVP_MAC_CTX *mac; /* HS: keyed template, dup'd per use; owned */
	EVP_MD *md;       /* fetched digest, NULL for EdDSA; owned */
	size_t sig_len;   /* exact signature length for this key */
};

/* Picks the key for a token whose header says |alg| and, when |has_kid|,
 * kid |kid| (|kid_len| bytes), the same way with one key or many: the key
 * with that kid; else the set's one key without a kid (when the token has
 * no kid, or a kid no key has). A key with a kid is never chosen for
 * another kid or for a kid-less token. AUTH_KEY_UNKNOWN when none fits,
 * AUTH_ALG_REJECTED when the key is pinned to another alg. Defined in
 * keys.c. */
enum auth_status auth_keyset_select(const struct auth_keyset *ks,
    enum auth_alg alg, const char *kid, size_t kid_len, bool has_kid,
    const struct auth_key **out);

/* Checks JWS signature |sig| over |msg| with |k| (whose alg the caller has
 * already matched). AUTH_OK, AUTH_BAD_SIGNATURE, or AUTH_INTERNAL when
 * OpenSSL fails. Defined in jwt_sig.c. */
enum auth_status auth_sig_verify(const struct auth_key *k,
    const unsigned char *msg, size_t msg_len, const unsigned char *sig,
    size_t sig_len);

/* The name of |alg|'s digest ("SHA256", ...), NULL for EdDSA or invalid.
 * Defined in keys.c. */
const char *auth_alg_md_name(enum auth_alg alg);

/* Formats a one-line reason into |err| (nothing when |err| is NULL or
 * |err_len| is 0). Defined in status.c. */
void auth_seterr(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* AUTH_INTERNAL_H */
