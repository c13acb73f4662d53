/* SPDX-License-Identifier: MIT */
/* Verification keysets: secrets, PEM and JWKS keys, each pinned to one alg. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "internal.h"

#define PEM_MAX_LEN (64 * 1024)
#define JWKS_MAX_LEN (256 * 1024)
#define JWKS_MAX_KEYS 64
#define RSA_MAX_BITS 16384

enum alg_kind { KIND_NONE, KIND_HS, KIND_RS, KIND_PS, KIND_ES, KIND_ED };

/* RFC 7518 §3.1 names, their digest, and what key they need. */
static const struct alg_info {
	const char *name;
	const char *md;
	enum alg_kind kind;
	int curve_nid;   /* ES only */
	const char *crv; /* ES: the JWK crv (RFC 7518 §6.2.1.1) */
	size_t coord;    /* ES: bytes per coordinate */
} alg_infos[AUTH_ALG_MAX] = {
    [AUTH_ALG_HS256] = {"HS256", "SHA256", KIND_HS, 0, NULL, 0},
    [AUTH_ALG_HS384] = {"HS384", "SHA384", KIND_HS, 0, NULL, 0},
    [AUTH_ALG_HS512] = {"HS512", "SHA512", KIND_HS, 0, NULL, 0},
    [AUTH_ALG_RS256] = {"RS256", "SHA256", KIND_RS, 0, NULL, 0},
    [AUTH_ALG_RS384] = {"RS384", "SHA384", KIND_RS, 0, NULL, 0},
    [AUTH_ALG_RS512] = {"RS512", "SHA512", KIND_RS, 0, NULL, 0},
    [AUTH_ALG_PS256] = {"PS256", "SHA256", KIND_PS, 0, NULL, 0},
    [AUTH_ALG_PS384] = {"PS384", "SHA384", KIND_PS, 0, NULL, 0},
    [AUTH_ALG_PS512] = {"PS512", "SHA512", KIND_PS, 0, NULL, 0},
    [AUTH_ALG_ES256] = {"ES256", "SHA256", KIND_ES, NID_X9_62_prime256v1,
        "P-256", 32},
    [AUTH_ALG_ES384] = {"ES384", "SHA384", KIND_ES, NID_secp384r1, "P-384", 48},
    [AUTH_ALG_ES512] = {"ES512", "SHA512", KIND_ES, NID_secp521r1, "P-521", 66},
    [AUTH_ALG_EDDSA] = {"EdDSA", NULL, KIND_ED, 0, NULL, 0},
};

struct auth_keyset {
	struct auth_key *keys; /* owned; |n| used of |cap| */
	size_t n;
	size_t cap;
};

static enum alg_kind
alg_kind(enum auth_alg alg)
{
	if ((unsigned)alg >= AUTH_ALG_MAX || alg == AUTH_ALG_INVALID)
		return KIND_NONE;
	return alg_infos[alg].kind;
}

const char *
auth_alg_str(enum auth_alg alg)
{
	if (alg_kind(alg) == KIND_NONE)
		return NULL;
	return alg_infos[alg].name;
}

enum auth_alg
auth_alg_from_str(const char *s, size_t len)
{
	int a;

	if (s == NULL)
		return AUTH_ALG_INVALID;
	/* Case-sensitive (RFC 7515 §4.1.1): "hs256" and "None" are not
	 * names, and "none" is deliberately absent from the table. */
	for (a = AUTH_ALG_INVALID + 1; a < AUTH_ALG_MAX; a++) {
		if (strlen(alg_infos[a].name) == len &&
		    memcmp(alg_infos[a].name, s, len) == 0)
			return (enum auth_alg)a;
	}
	return AUTH_ALG_INVALID;
}

const char *
auth_alg_md_name(enum auth_alg alg)
{
	if (alg_kind(alg) == KIND_NONE)
		return NULL;
	return alg_infos[alg].md;
}

static void
key_clear(struct auth_key *k)
{
	EVP_PKEY_free(k->pkey);
	/* The HMAC provider wipes its copy of the secret when freed. */
	EVP_MAC_CTX_free(k->mac);
	EVP_MD_free(k->md);
	OPENSSL_cleanse(k, sizeof(*k));
}

struct auth_keyset *
auth_keyset_new(void)
{
	return calloc(1, sizeof(struct auth_keyset));
}

void
auth_keyset_free(struct auth_keyset *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->n; i++)
		key_clear(&ks->keys[i]);
	free(ks->keys);
	free(ks);
}

size_t
auth_keyset_count(const struct auth_keyset *ks)
{
	return ks == NULL ? 0 : ks->n;
}

/* Room for |more| keys, so that a later append cannot fail halfway. */
static int
keyset_reserve(struct auth_keyset *ks, size_t more)
{
	struct auth_key *nk;
	size_t cap;

	if (more > JWKS_MAX_KEYS * 16)
		return -1;
	if (ks->n + more <= ks->cap)
		return 0;
	cap = ks->cap ? ks->cap : 4;
	while (cap < ks->n + more)
		cap *= 2;
	nk = realloc(ks->keys, cap * sizeof(*nk));
	if (nk == NULL)
		return -1;
	memset(nk + ks->cap, 0, (cap - ks->cap) * sizeof(*nk));
	ks->keys = nk;
	ks->cap = cap;
	return 0;
}

static bool
keyset_has_kid(const struct auth_keyset *ks, const struct auth_key *k)
{
	size_t i;

	for (i = 0; i < ks->n; i++) {
		if (ks->keys[i].has_kid != k->has_kid)
			continue;
		if (!k->has_kid)
			return true; /* two keys without a kid: ambiguous */
		if (ks->keys[i].kid_len == k->kid_len &&
		    memcmp(ks->keys[i].kid, k->kid, k->kid_len) == 0)
			return true;
	}
	return false;
}

/* Sets |k|'s kid and alg and fetches its digest once, so that no
 * verification fetches anything. */
static int
key_init(struct auth_key *k, const char *kid, size_t kid_len, enum auth_alg alg,
    char *err, size_t err_len)
{
	memset(k, 0, sizeof(*k));
	if (alg_kind(alg) == KIND_NONE) {
		auth_seterr(err, err_len, "invalid algorithm");
		return -1;
	}
	if (kid != NULL && kid_len > 0) {
		if (kid_len > AUTH_MAX_KID_LEN) {
			auth_seterr(err, err_len, "kid longer than %d bytes",
			    AUTH_MAX_KID_LEN);
			return -1;
		}
		if (memchr(kid, '\0', kid_len) != NULL) {
			auth_seterr(err, err_len, "kid contains a NUL byte");
			return -1;
		}
		memcpy(k->kid, kid, kid_len);
		k->kid_len = kid_len;
		k->has_kid = true;
	}
	k->alg = alg;
	if (alg_infos[alg].md != NULL) {
		k->md = EVP_MD_fetch(NULL, alg_infos[alg].md, NULL);
		if (k->md == NULL) {
			ERR_clear_error();
			auth_seterr(err, err_len, "digest %s unavailable",
			    alg_infos[alg].md);
			return -1;
		}
	}
	return 0;
}

/* Appends |k| (ownership moves to |ks|) unless its kid is taken. */
static int
keyset_append(struct auth_keyset *ks, struct auth_key *k, char *err,
    size_t err_len)
{
	if (keyset_has_kid(ks, k)) {
		if (k->has_kid)
			auth_seterr(err, err_len, "duplicate kid \"%s\"",
			    k->kid);
		else
			auth_seterr(err, err_len,
			    "a second key without a kid could never be chosen");
		return -1;
	}
	if (keyset_reserve(ks, 1) == -1) {
		auth_seterr(err, err_len, "out of memory");
		return -1;
	}
	ks->keys[ks->n++] = *k;
	memset(k, 0, sizeof(*k));
	return 0;
}

int
auth_keyset_add_secret(struct auth_keyset *ks, const char *kid,
    enum auth_alg alg, const unsigned char *secret, size_t secret_len,
    char *err, size_t err_len)
{
	struct auth_key k;
	EVP_MAC *mac = NULL;
	OSSL_PARAM params[2];
	char md_name[16];

	if (ks == NULL || secret == NULL) {
		auth_seterr(err, err_len, "no secret");
		return -1;
	}
	if (alg_kind(alg) != KIND_HS) {
		auth_seterr(err, err_len,
		    "a secret can only be used with HS256, "
		    "HS384 or HS512");
		return -1;
	}
	/* RFC 7518 §3.2: the key must be at least as long as the hash; we
	 * ask for 32 bytes for every HS alg. */
	if (secret_len < AUTH_MIN_SECRET_LEN) {
		auth_seterr(err, err_len, "secret shorter than %d bytes",
		    AUTH_MIN_SECRET_LEN);
		return -1;
	}
	if (key_init(&k, kid, kid ? strlen(kid) : 0, alg, err, err_len) == -1)
		goto out_clear;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		goto out_ossl;
	k.mac = EVP_MAC_CTX_new(mac);
	if (k.mac == NULL)
		goto out_ossl;
	snprintf(md_name, sizeof(md_name), "%s", alg_infos[alg].md);
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, md_name, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* Keyed once: each verification dups this template. */
	if (EVP_MAC_init(k.mac, secret, secret_len, params) != 1)
		goto out_ossl;
	k.sig_len = EVP_MAC_CTX_get_mac_size(k.mac);
	if (k.sig_len == 0 || k.sig_len > EVP_MAX_MD_SIZE)
		goto out_ossl;
	EVP_MAC_free(mac);
	mac = NULL;
	if (keyset_append(ks, &k, err, err_len) == -1)
		goto out_clear;
	return 0;

out_ossl:
	ERR_clear_error();
	auth_seterr(err, err_len, "OpenSSL could not key HMAC");
out_clear:
	EVP_MAC_free(mac);
	key_clear(&k);
	return -1;
}

/* Checks that |pk| suits |alg| (type, size, curve) and is a sound public
 * key, and returns the exact signature length, or 0 with |err|. */
static size_t
check_key_for_alg(EVP_PKEY *pk, enum auth_alg alg, char *err, size_t err_len)
{
	const struct alg_info *ai = &alg_infos[alg];
	EVP_PKEY_CTX *ctx;
	BIGNUM *e = NULL;
	char group[64];
	size_t glen = 0, sig_len = 0;
	int bits, nid, ok;

	switch (ai->kind) {
	case KIND_RS:
	case KIND_PS:
		/* An "RSA-PSS" (restricted) key is refused: its own
		 * parameters could disagree with the alg's. */
		if (!EVP_PKEY_is_a(pk, "RSA")) {
			auth_seterr(err, err_len, "%s needs an RSA key",
			    ai->name);
			return 0;
		}
		bits = EVP_PKEY_get_bits(pk);
		if (bits < AUTH_MIN_RSA_BITS || bits > RSA_MAX_BITS) {
			auth_seterr(err, err_len,
			    "RSA key of %d bits (need %d to "
			    "%d)",
			    bits, AUTH_MIN_RSA_BITS, RSA_MAX_BITS);
			return 0;
		}
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
		    !BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 64) {
			BN_free(e);
			ERR_clear_error();
			auth_seterr(err, err_len,
			    "RSA public exponent unusable");
			return 0;
		}
		BN_free(e);
		sig_len = (size_t)EVP_PKEY_get_size(pk);
		break;
	case KIND_ES:
		if (!EVP_PKEY_is_a(pk, "EC") ||
		    EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) !=
		        1) {
			ERR_clear_error();
			auth_seterr(err, err_len,
			    "%s needs a named-curve EC key", ai->name);
			return 0;
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid != ai->curve_nid) {
			auth_seterr(err, err_len, "%s needs curve %s, not %s",
			    ai->name, ai->crv, group);
			return 0;
		}
		sig_len = 2 * ai->coord;
		break;
	case KIND_ED:
		if (!EVP_PKEY_is_a(pk, "ED25519")) {
			auth_seterr(err, err_len, "EdDSA needs an Ed25519 key");
			return 0;
		}
		sig_len = 64;
		break;
	default:
		auth_seterr(err, err_len, "%s is not a public-key algorithm",
		    ai->name ? ai->name : "?");
		return 0;
	}
	/* The point is on its curve, the modulus is odd, and so on. */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		auth_seterr(err, err_len,
		    "public key fails its validity check");
		return 0;
	}
	return sig_len;
}

/* Moves |*pk| into a new key of |ks| pinned to |alg|. */
static int
add_pkey(struct auth_keyset *ks, const char *kid, size_t kid_len,
    enum auth_alg alg, EVP_PKEY **pk, char *err, size_t err_len)
{
	struct auth_key k;

	if (key_init(&k, kid, kid_len, alg, err, err_len) == -1) {
		key_clear(&k);
		return -1;
	}
	k.sig_len = check_key_for_alg(*pk, alg, err, err_len);
	if (k.sig_len == 0) {
		key_clear(&k);
		return -1;
	}
	k.pkey = *pk;
	*pk = NULL;
	if (keyset_append(ks, &k, err, err_len) == -1) {
		*pk = k.pkey; /* give it back to the caller to free */
		k.pkey = NULL;
		key_clear(&k);
		return -1;
	}
	return 0;
}

/*
 * Decodes a PKCS#1 RSAPublicKey. d2i_PublicKey gives a legacy key, which
 * OpenSSL exports to its provider lazily on first use; re-reading it as
 * SPKI gives a provider-native key that concurrent verifications only
 * read.
 */
static EVP_PKEY *
pkcs1_public_key(const unsigned char **p, long len)
{
	EVP_PKEY *legacy, *pk = NULL;
	unsigned char *der = NULL;
	const unsigned char *q;
	int n;

	legacy = d2i_PublicKey(EVP_PKEY_RSA, NULL, p, len);
	if (legacy == NULL)
		return NULL;
	n = i2d_PUBKEY(legacy, &der);
	if (n > 0) {
		q = der;
		pk = d2i_PUBKEY_ex(NULL, &q, n, NULL, NULL);
	}
	OPENSSL_free(der);
	EVP_PKEY_free(legacy);
	return pk;
}

/* Parses exactly one PEM block labelled "PUBLIC KEY" (SPKI) or "RSA PUBLIC
 * KEY" (PKCS#1). Anything else (a private key, a certificate, several
 * blocks, an encrypted block) is refused. */
static EVP_PKEY *
pem_public_key(const char *pem, size_t pem_len, char *err, size_t err_len)
{
	static const char begin[] = "-----BEGIN ";
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	const char *at;
	long dlen = 0;
	size_t nblocks = 0;

	if (pem == NULL || pem_len == 0 || pem_len > PEM_MAX_LEN) {
		auth_seterr(err, err_len, "PEM empty or larger than %d bytes",
		    PEM_MAX_LEN);
		return NULL;
	}
	for (at = pem; (at = memmem(at, pem_len - (size_t)(at - pem), begin,
	                    sizeof(begin) - 1)) != NULL;
	     at += sizeof(begin) - 1)
		nblocks++;
	if (nblocks != 1) {
		auth_seterr(err, err_len,
		    "expected exactly one PEM block, found "
		    "%zu",
		    nblocks);
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	if (bio == NULL ||
	    PEM_read_bio(bio, &name, &header, &data, &dlen) != 1) {
		auth_seterr(err, err_len, "not a PEM document");
		goto out;
	}
	if (header != NULL && header[0] != '\0') {
		auth_seterr(err, err_len,
		    "PEM headers (encryption) not allowed");
		goto out;
	}
	p = data;
	if (strcmp(name, "PUBLIC KEY") == 0) {
		pk = d2i_PUBKEY_ex(NULL, &p, dlen, NULL, NULL);
	} else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
		pk = pkcs1_public_key(&p, dlen);
	} else {
		auth_seterr(err, err_len, "a \"%.40s\" PEM is not a public key",
		    name);
		goto out;
	}
	if (pk == NULL || p != data + dlen) {
		EVP_PKEY_free(pk);
		pk = NULL;
		auth_seterr(err, err_len, "malformed public key");
	}
out:
	ERR_clear_error();
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(header);
	/* The block may have been a private key: wipe it. */
	if (data != NULL)
		OPENSSL_clear_free(data, (size_t)dlen);
	return pk;
}

int
auth_keyset_add_pem(struct auth_keyset *ks, const char *kid, enum auth_alg alg,
    const char *pem, size_t pem_len, char *err, size_t err_len)
{
	EVP_PKEY *pk;
	int rv;

	if (ks == NULL) {
		auth_seterr(err, err_len, "no keyset");
		return -1;
	}
	if (alg_kind(alg) == KIND_NONE || alg_kind(alg) == KIND_HS) {
		auth_seterr(err, err_len,
		    "a PEM key needs an RS, PS, ES or EdDSA "
		    "algorithm");
		return -1;
	}
	pk = pem_public_key(pem, pem_len, err, err_len);
	if (pk == NULL)
		return -1;
	rv = add_pkey(ks, kid, kid ? strlen(kid) : 0, alg, &pk, err, err_len);
	EVP_PKEY_free(pk);
	return rv;
}

/* ------------------------------------------------------------------ JWKS */

/* Decodes the base64url member |name| of |jwk| (RFC 7518 §6). */
static int
jwk_bytes(json_t *jwk, const char *name, unsigned char *out, size_t cap,
    size_t *len)
{
	json_t *v = json_object_get(jwk, name);

	if (!json_is_string(v))
		return -1;
	if (b64url_decode(json_string_value(v), json_string_length(v), out, cap,
	        len) == -1 ||
	    *len == 0)
		return -1;
	return 0;
}

static EVP_PKEY *
jwk_rsa(json_t *jwk)
{
	unsigned char n[RSA_MAX_BITS / 8], e[8];
	size_t n_len, e_len;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if (jwk_bytes(jwk, "n", n, sizeof(n), &n_len) == -1 ||
	    jwk_bytes(jwk, "e", e, sizeof(e), &e_len) == -1)
		return NULL;
	if ((bn_n = BN_bin2bn(n, (int)n_len, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(e, (int)e_len, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return pk;
}

static EVP_PKEY *
jwk_ec(json_t *jwk, const struct alg_info *ai)
{
	unsigned char pt[1 + 2 * 66];
	size_t x_len, y_len;
	char group[8];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;

	/* RFC 7518 §6.2.1.2: coordinates are exactly the curve's size. */
	pt[0] = 0x04; /* uncompressed point (SEC 1 §2.3.3) */
	if (jwk_bytes(jwk, "x", pt + 1, ai->coord, &x_len) == -1 ||
	    x_len != ai->coord ||
	    jwk_bytes(jwk, "y", pt + 1 + ai->coord, ai->coord, &y_len) == -1 ||
	    y_len != ai->coord)
		return NULL;
	snprintf(group, sizeof(group), "%s", ai->crv);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    pt, 1 + 2 * ai->coord);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static EVP_PKEY *
jwk_okp(json_t *jwk)
{
	unsigned char x[32];
	size_t x_len;

	if (jwk_bytes(jwk, "x", x, sizeof(x), &x_len) == -1 || x_len != 32)
		return NULL;
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
}

static bool
json_str_is(json_t *v, const char *s)
{
	return json_is_string(v) && json_string_length(v) == strlen(s) &&
	    memcmp(json_string_value(v), s, strlen(s)) == 0;
}

/*
 * Turns JWK |jwk| into |*out|, or sets |*skip| for a key this verifier
 * does not use (RFC 7517 §5: ignore keys whose kty, use or alg is not
 * understood). Returns -1 with |err| when the key is malformed.
 */
static int
jwk_to_pkey(json_t *jwk, size_t idx, EVP_PKEY **out, enum auth_alg *alg,
    bool *skip, char *err, size_t err_len)
{
	json_t *kty = json_object_get(jwk, "kty");
	json_t *use = json_object_get(jwk, "use");
	json_t *jalg = json_object_get(jwk, "alg");
	json_t *crv = json_object_get(jwk, "crv");
	enum alg_kind kind;
	int a;

	*skip = false;
	*out = NULL;
	if (!json_is_object(jwk) || !json_is_string(kty)) {
		auth_seterr(err, err_len, "jwks key %zu: no kty", idx);
		return -1;
	}
	if (json_str_is(kty, "oct")) {
		auth_seterr(err, err_len,
		    "jwks key %zu: kty \"oct\" (a secret) "
		    "refused",
		    idx);
		return -1;
	}
	/* A public key set that leaks a private key is broken: refuse it
	 * rather than use it. */
	if (json_object_get(jwk, "d") != NULL) {
		auth_seterr(err, err_len,
		    "jwks key %zu: private key member \"d\"", idx);
		return -1;
	}
	if (use != NULL && !json_is_string(use)) {
		auth_seterr(err, err_len, "jwks key %zu: use is not a string",
		    idx);
		return -1;
	}
	if (use != NULL && !json_str_is(use, "sig")) {
		*skip = true;
		return 0;
	}
	if (jalg != NULL && !json_is_string(jalg)) {
		auth_seterr(err, err_len, "jwks key %zu: alg is not a string",
		    idx);
		return -1;
	}
	if (crv != NULL && !json_is_string(crv)) {
		auth_seterr(err, err_len, "jwks key %zu: crv is not a string",
		    idx);
		return -1;
	}
	if (json_str_is(kty, "RSA")) {
		kind = KIND_RS;
		*alg = AUTH_ALG_RS256;
	} else if (json_str_is(kty, "EC")) {
		kind = KIND_ES;
		*alg = AUTH_ALG_INVALID;
		for (a = AUTH_ALG_ES256; a <= AUTH_ALG_ES512; a++)
			if (json_str_is(crv, alg_infos[a].crv))
				*alg = (enum auth_alg)a;
		if (*alg == AUTH_ALG_INVALID) {
			*skip = true; /* e.g. secp256k1 */
			return 0;
		}
	} else if (json_str_is(kty, "OKP")) {
		kind = KIND_ED;
		if (!json_str_is(crv, "Ed25519")) {
			*skip = true; /* Ed448, X25519, ... */
			return 0;
		}
		*alg = AUTH_ALG_EDDSA;
	} else {
		*skip = true;
		return 0;
	}
	if (jalg != NULL) {
		enum auth_alg ja = auth_alg_from_str(json_string_value(jalg),
		    json_string_length(jalg));

		if (ja == AUTH_ALG_INVALID) {
			*skip = true; /* RSA-OAEP, ES256K, "none", ... */
			return 0;
		}
		/* The member pins the alg; it must suit kty and crv. */
		if ((kind == KIND_RS && alg_kind(ja) != KIND_RS &&
		        alg_kind(ja) != KIND_PS) ||
		    (kind == KIND_ES && ja != *alg) ||
		    (kind == KIND_ED && ja != AUTH_ALG_EDDSA)) {
			auth_seterr(err, err_len,
			    "jwks key %zu: alg %s does not "
			    "suit the key",
			    idx, alg_infos[ja].name);
			return -1;
		}
		*alg = ja;
	}
	if (kind == KIND_RS)
		*out = jwk_rsa(jwk);
	else if (kind == KIND_ES)
		*out = jwk_ec(jwk, &alg_infos[*alg]);
	else
		*out = jwk_okp(jwk);
	ERR_clear_error();
	if (*out == NULL) {
		auth_seterr(err, err_len, "jwks key %zu: bad key parameters",
		    idx);
		return -1;
	}
	return 0;
}

int
auth_keyset_add_jwks(struct auth_keyset *ks, const char *json, size_t json_len,
    char *err, size_t err_len)
{
	struct auth_keyset tmp = {NULL, 0, 0};
	json_t *doc = NULL, *keys, *jwk, *jkid;
	EVP_PKEY *pk = NULL;
	enum auth_alg alg;
	size_t i, nkeys;
	bool skip;
	int rv = -1;

	if (ks == NULL || json == NULL || json_len == 0 ||
	    json_len > JWKS_MAX_LEN) {
		auth_seterr(err, err_len, "JWKS empty or larger than %d bytes",
		    JWKS_MAX_LEN);
		return -1;
	}
	doc = auth_json_parse_object(json, json_len);
	if (doc == NULL) {
		auth_seterr(err, err_len,
		    "JWKS is not a JSON object (or has "
		    "duplicate members)");
		return -1;
	}
	keys = json_object_get(doc, "keys");
	nkeys = json_array_size(keys);
	if (!json_is_array(keys) || nkeys > JWKS_MAX_KEYS) {
		auth_seterr(err, err_len,
		    "JWKS \"keys\" is not an array of at "
		    "most %d keys",
		    JWKS_MAX_KEYS);
		goto out;
	}
	/* Build into |tmp| first so that |ks| is untouched on failure. */
	json_array_foreach(keys, i, jwk)
	{
		if (jwk_to_pkey(jwk, i, &pk, &alg, &skip, err, err_len) == -1)
			goto out;
		if (skip)
			continue;
		jkid = json_object_get(jwk, "kid");
		if (jkid != NULL &&
		    (!json_is_string(jkid) || json_string_length(jkid) == 0)) {
			auth_seterr(err, err_len,
			    "jwks key %zu: kid is not a "
			    "non-empty string",
			    i);
			goto out;
		}
		if (add_pkey(&tmp, json_string_value(jkid),
		        json_string_length(jkid), alg, &pk, err,
		        err_len) == -1) {
			char why[160];

			snprintf(why, sizeof(why), "%s", err ? err : "");
			auth_seterr(err, err_len, "jwks key %zu: %s", i, why);
			goto out;
		}
	}
	if (tmp.n == 0) {
		auth_seterr(err, err_len, "JWKS has no usable signature key");
		goto out;
	}
	for (i = 0; i < tmp.n; i++) {
		if (keyset_has_kid(ks, &tmp.keys[i])) {
			auth_seterr(err, err_len, "duplicate kid \"%s\"",
			    tmp.keys[i].kid);
			goto out;
		}
	}
	if (keyset_reserve(ks, tmp.n) == -1) {
		auth_seterr(err, err_len, "out of memory");
		goto out;
	}
	memcpy(ks->keys + ks->n, tmp.keys, tmp.n * sizeof(*tmp.keys));
	ks->n += tmp.n;
	tmp.n = 0;
	rv = 0;
out:
	EVP_PKEY_free(pk);
	for (i = 0; i < tmp.n; i++)
		key_clear(&tmp.keys[i]);
	free(tmp.keys);
	json_decref(doc);
	return rv;
}

enum auth_status
auth_keyset_select(const struct auth_keyset *ks, enum auth_alg alg,
    const char *kid, size_t kid_len, bool has_kid, const struct auth_key **out)
{
	const struct auth_key *k = NULL;
	size_t i;

	if (alg_kind(alg) == KIND_NONE)
		return AUTH_ALG_REJECTED;
	if (ks == NULL || ks->n == 0)
		return AUTH_KEY_UNKNOWN;
	/*
	 * One rule whatever the number of keys: a key configured with a kid
	 * is chosen by that kid only; the one key without a kid (a keyset
	 * holds at most one) takes every token whose kid names no key, or
	 * that has none. So a kid'd secret works beside PEMs or a JWKS, and
	 * Better Auth's kid-less session_data JWT finds its secret beside a
	 * JWKS. RFC 7515 §4.1.4 leaves the kid's meaning to the application;
	 * the signature, checked with the chosen key's own alg, decides.
	 */
	if (has_kid) {
		for (i = 0; i < ks->n && k == NULL; i++) {
			const struct auth_key *c = &ks->keys[i];

			if (c->has_kid && c->kid_len == kid_len &&
			    memcmp(c->kid, kid, kid_len) == 0)
				k = c;
		}
	}
	for (i = 0; i < ks->n && k == NULL; i++)
		if (!ks->keys[i].has_kid)
			k = &ks->keys[i];
	if (k == NULL)
		return AUTH_KEY_UNKNOWN;
	/* The key, never the token, chooses the alg (RFC 8725 §3.1). */
	if (k->alg != alg)
		return AUTH_ALG_REJECTED;
	*out = k;
	return AUTH_OK;
}
