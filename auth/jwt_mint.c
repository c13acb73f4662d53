/* SPDX-License-Identifier: MIT */
/* Mints short-lived upstream tokens with libjwt (it never verifies). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "internal.h"

struct auth_minter {
	enum auth_alg alg;
	jwt_alg_t jalg;
	unsigned char *key; /* owned, cleansed on free */
	size_t key_len;
	char *kid;      /* owned, may be NULL */
	char *issuer;   /* owned, may be NULL */
	char *audience; /* owned, may be NULL */
	int64_t ttl;
};

/* Claims we set ourselves; a kept claim of the same name never overrides
 * them. */
static const char *const reserved[] = {"sub", "iat", "exp", "iss", "aud"};

static jwt_alg_t
to_libjwt_alg(enum auth_alg alg)
{
	switch (alg) {
	case AUTH_ALG_HS256:
		return JWT_ALG_HS256;
	case AUTH_ALG_HS384:
		return JWT_ALG_HS384;
	case AUTH_ALG_HS512:
		return JWT_ALG_HS512;
	case AUTH_ALG_RS256:
		return JWT_ALG_RS256;
	case AUTH_ALG_RS384:
		return JWT_ALG_RS384;
	case AUTH_ALG_RS512:
		return JWT_ALG_RS512;
	case AUTH_ALG_ES256:
		return JWT_ALG_ES256;
	case AUTH_ALG_ES384:
		return JWT_ALG_ES384;
	case AUTH_ALG_ES512:
		return JWT_ALG_ES512;
	default:
		return JWT_ALG_INVAL; /* PS and EdDSA: not in libjwt 1.10 */
	}
}

/* Checks that PEM private key |key| suits |alg| before libjwt ever sees
 * it, so that config errors show at load and not as failed requests. */
static int
check_private_key(enum auth_alg alg, const unsigned char *key, size_t key_len,
    char *err, size_t err_len)
{
	static const int curves[] = {NID_X9_62_prime256v1, NID_secp384r1,
	    NID_secp521r1};
	EVP_PKEY *pk = NULL;
	BIO *bio;
	char group[64];
	size_t glen;
	int rv = -1, nid;

	if (key_len > 64 * 1024) {
		auth_seterr(err, err_len, "private key too large");
		return -1;
	}
	bio = BIO_new_mem_buf(key, (int)key_len);
	if (bio != NULL)
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		auth_seterr(err, err_len, "not a PEM private key");
		goto out;
	}
	if (alg >= AUTH_ALG_RS256 && alg <= AUTH_ALG_RS512) {
		if (!EVP_PKEY_is_a(pk, "RSA") ||
		    EVP_PKEY_get_bits(pk) < AUTH_MIN_RSA_BITS) {
			auth_seterr(err, err_len,
			    "%s needs an RSA key of at least "
			    "%d bits",
			    auth_alg_str(alg), AUTH_MIN_RSA_BITS);
			goto out;
		}
	} else {
		if (!EVP_PKEY_is_a(pk, "EC") ||
		    EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) !=
		        1) {
			auth_seterr(err, err_len,
			    "%s needs a named-curve EC key", auth_alg_str(alg));
			goto out;
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid != curves[alg - AUTH_ALG_ES256]) {
			auth_seterr(err, err_len, "%s does not suit curve %s",
			    auth_alg_str(alg), group);
			goto out;
		}
	}
	rv = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	return rv;
}

static char *
dup_opt(const char *s, bool *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*fail = true;
	return d;
}

void
auth_minter_free(struct auth_minter *m)
{
	if (m == NULL)
		return;
	if (m->key != NULL)
		OPENSSL_clear_free(m->key, m->key_len);
	free(m->kid);
	free(m->issuer);
	free(m->audience);
	free(m);
}

struct auth_minter *
auth_minter_new(enum auth_alg alg, const unsigned char *key, size_t key_len,
    const char *kid, const char *issuer, const char *audience, int64_t ttl,
    char *err, size_t err_len)
{
	struct auth_minter *m;
	struct auth_claims probe;
	char tok[AUTH_MAX_FWD_LEN];
	size_t tok_len;
	int64_t exp;
	bool fail = false;

	if (to_libjwt_alg(alg) == JWT_ALG_INVAL) {
		auth_seterr(err, err_len,
		    "cannot mint with %s (HS, RS and ES "
		    "only)",
		    auth_alg_str(alg) ? auth_alg_str(alg) : "none");
		return NULL;
	}
	if (key == NULL || key_len == 0 || key_len > INT32_MAX) {
		auth_seterr(err, err_len, "no signing key");
		return NULL;
	}
	if (ttl <= 0 || ttl > 365 * 86400) {
		auth_seterr(err, err_len, "ttl must be 1 s to 1 year");
		return NULL;
	}
	if (kid != NULL && strlen(kid) > AUTH_MAX_KID_LEN) {
		auth_seterr(err, err_len, "kid too long");
		return NULL;
	}
	if (alg <= AUTH_ALG_HS512) {
		if (key_len < AUTH_MIN_SECRET_LEN) {
			auth_seterr(err, err_len,
			    "secret shorter than %d bytes",
			    AUTH_MIN_SECRET_LEN);
			return NULL;
		}
	} else if (check_private_key(alg, key, key_len, err, err_len) == -1) {
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		auth_seterr(err, err_len, "out of memory");
		return NULL;
	}
	m->alg = alg;
	m->jalg = to_libjwt_alg(alg);
	m->ttl = ttl;
	m->key = OPENSSL_malloc(key_len);
	if (m->key == NULL)
		fail = true;
	else {
		memcpy(m->key, key, key_len);
		m->key_len = key_len;
	}
	m->kid = dup_opt(kid, &fail);
	m->issuer = dup_opt(issuer, &fail);
	m->audience = dup_opt(audience, &fail);
	if (fail) {
		auth_seterr(err, err_len, "out of memory");
		goto out_free;
	}
	/* One trial run, so that a key libjwt cannot use fails here. */
	memset(&probe, 0, sizeof(probe));
	memcpy(probe.sub, "probe", 6);
	probe.sub_len = 5;
	probe.exp = INT64_MAX;
	memcpy(probe.extra, "{}", 3);
	probe.extra_len = 2;
	if (auth_minter_mint(m, &probe, 1, tok, sizeof(tok), &tok_len, &exp) ==
	    -1) {
		auth_seterr(err, err_len, "libjwt cannot sign with this key");
		goto out_free;
	}
	return m;

out_free:
	auth_minter_free(m);
	return NULL;
}

/* The kept claims minus the reserved names, as JSON text for libjwt, or
 * NULL (with |*fail| set on error) when there is nothing to add. */
static char *
extra_grants(const struct auth_claims *c, bool *fail)
{
	json_t *extra;
	char *s = NULL;
	size_t i;

	*fail = false;
	if (c->extra_len == 0)
		return NULL;
	if (c->extra_len >= sizeof(c->extra)) {
		*fail = true;
		return NULL;
	}
	extra = auth_json_parse_object(c->extra, c->extra_len);
	if (extra == NULL) {
		*fail = true;
		goto out;
	}
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		json_object_del(extra, reserved[i]);
	if (json_object_size(extra) == 0)
		goto out;
	s = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
	if (s == NULL)
		*fail = true;
out:
	json_decref(extra);
	return s;
}

int
auth_minter_mint(const struct auth_minter *m, const struct auth_claims *c,
    int64_t now, char *out, size_t out_cap, size_t *out_len, int64_t *out_exp)
{
	jwt_t *jwt = NULL;
	char *grants = NULL, *tok = NULL;
	int64_t exp;
	size_t n;
	bool fail;
	int rv = -1;

	if (m == NULL || c == NULL || out == NULL || out_len == NULL ||
	    c->sub_len == 0 || c->sub_len > AUTH_MAX_SUB_LEN)
		return -1;
	/* Never outlive the identity it was minted from. */
	exp = now > INT64_MAX - m->ttl ? INT64_MAX : now + m->ttl;
	if (c->exp < exp)
		exp = c->exp;
	grants = extra_grants(c, &fail);
	if (fail)
		goto out;
	/* libjwt parses the grants with jansson too (see auth_init). */
	auth_json_oom_reset();
	if (jwt_new(&jwt) != 0 || jwt == NULL)
		goto out;
	if (jwt_set_alg(jwt, m->jalg, m->key, (int)m->key_len) != 0)
		goto out;
	if (m->kid != NULL && jwt_add_header(jwt, "kid", m->kid) != 0)
		goto out;
	if (grants != NULL && jwt_add_grants_json(jwt, grants) != 0)
		goto out;
	if (jwt_add_grant(jwt, "sub", c->sub) != 0 ||
	    jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)exp) != 0)
		goto out;
	if (m->issuer != NULL && jwt_add_grant(jwt, "iss", m->issuer) != 0)
		goto out;
	if (m->audience != NULL && jwt_add_grant(jwt, "aud", m->audience) != 0)
		goto out;
	tok = jwt_encode_str(jwt);
	if (tok == NULL || auth_json_oom())
		goto out;
	n = strlen(tok);
	if (n >= out_cap)
		goto out;
	memcpy(out, tok, n + 1);
	*out_len = n;
	if (out_exp != NULL)
		*out_exp = exp;
	rv = 0;
out:
	ERR_clear_error();
	free(tok);
	free(grants);
	jwt_free(jwt);
	return rv;
}
