/* SPDX-License-Identifier: MIT */
/* JWS signature checks through OpenSSL EVP (RFC 7518 §3), one-shot HMAC. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "internal.h"

size_t
auth_hmac(const char *md_name, const unsigned char *key, size_t key_len,
    const unsigned char *msg, size_t msg_len, unsigned char *out)
{
	size_t len = 0;

	if (md_name == NULL || key == NULL || key_len == 0 || out == NULL ||
	    (msg == NULL && msg_len > 0))
		return 0;
	if (EVP_Q_mac(NULL, "HMAC", NULL, md_name, NULL, key, key_len,
	        msg != NULL ? msg : (const unsigned char *)"", msg_len, out,
	        EVP_MAX_MD_SIZE, &len) == NULL) {
		ERR_clear_error();
		return 0;
	}
	return len;
}

/* Empties this thread's OpenSSL error queue; true if an allocation
 * failure was among the errors, so that running out of memory is
 * AUTH_INTERNAL (503) rather than a bad signature (401). */
static bool
ossl_oom(void)
{
	unsigned long e;
	bool oom = false;

	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_REASON(e) == ERR_GET_REASON(ERR_R_MALLOC_FAILURE))
			oom = true;
	return oom;
}

static enum auth_status
verify_hmac(const struct auth_key *k, const unsigned char *msg, size_t msg_len,
    const unsigned char *sig, size_t sig_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	EVP_MAC_CTX *ctx;
	enum auth_status st = AUTH_INTERNAL;

	/* The template was keyed once at load; a copy keeps it read-only
	 * so that threads can share it. */
	ctx = EVP_MAC_CTX_dup(k->mac);
	if (ctx == NULL)
		goto out;
	if (EVP_MAC_update(ctx, msg, msg_len) != 1 ||
	    EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) != 1 ||
	    mac_len != k->sig_len)
		goto out;
	st = CRYPTO_memcmp(mac, sig, mac_len) == 0 ? AUTH_OK
	                                           : AUTH_BAD_SIGNATURE;
out:
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(mac, sizeof(mac));
	if (st == AUTH_INTERNAL)
		ERR_clear_error();
	return st;
}

/* RFC 7518 §3.4: ES signatures are r||s, each exactly the coordinate size.
 * OpenSSL wants DER, so re-encode. Returns the DER length or 0. */
static size_t
es_raw_to_der(const unsigned char *sig, size_t sig_len, unsigned char *der,
    size_t der_cap)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	unsigned char *p = der;
	int len;

	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, (int)(sig_len / 2), NULL);
	s = BN_bin2bn(sig + sig_len / 2, (int)(sig_len / 2), NULL);
	if (es == NULL || r == NULL || s == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return 0;
	}
	len = i2d_ECDSA_SIG(es, NULL);
	if (len <= 0 || (size_t)len > der_cap)
		len = 0;
	else
		len = i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	return len > 0 ? (size_t)len : 0;
}

enum auth_status
auth_sig_verify(const struct auth_key *k, const unsigned char *msg,
    size_t msg_len, const unsigned char *sig, size_t sig_len)
{
	unsigned char der[16 + 2 * 70];
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	enum auth_status st = AUTH_INTERNAL;
	int rv;

	if (k == NULL || msg == NULL || sig == NULL)
		return AUTH_INTERNAL;
	/* Every alg has one exact signature length: checking it first
	 * refuses DER-encoded ES signatures, truncated RSA signatures and
	 * empty HMACs before any crypto runs. */
	if (sig_len != k->sig_len)
		return AUTH_BAD_SIGNATURE;
	switch (k->alg) {
	case AUTH_ALG_HS256:
	case AUTH_ALG_HS384:
	case AUTH_ALG_HS512:
		return verify_hmac(k, msg, msg_len, sig, sig_len);
	case AUTH_ALG_ES256:
	case AUTH_ALG_ES384:
	case AUTH_ALG_ES512:
		sig_len = es_raw_to_der(sig, sig_len, der, sizeof(der));
		if (sig_len == 0)
			goto out;
		sig = der;
		break;
	case AUTH_ALG_RS256:
	case AUTH_ALG_RS384:
	case AUTH_ALG_RS512:
	case AUTH_ALG_PS256:
	case AUTH_ALG_PS384:
	case AUTH_ALG_PS512:
	case AUTH_ALG_EDDSA:
		break;
	default:
		return AUTH_INTERNAL;
	}
	if (k->pkey == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* Ed25519 is one-shot and takes no digest (RFC 8037 §3.1). */
	if (EVP_DigestVerifyInit(ctx, &pctx, k->md, NULL, k->pkey) != 1)
		goto out;
	switch (k->alg) {
	case AUTH_ALG_RS256:
	case AUTH_ALG_RS384:
	case AUTH_ALG_RS512:
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
			goto out;
		break;
	case AUTH_ALG_PS256:
	case AUTH_ALG_PS384:
	case AUTH_ALG_PS512:
		/* RFC 7518 §3.5: MGF1 with the same hash, and a salt exactly
		 * as long as the hash; any other salt length fails. */
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <=
		        0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		        RSA_PSS_SALTLEN_DIGEST) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, k->md) <= 0)
			goto out;
		break;
	default:
		break;
	}
	rv = EVP_DigestVerify(ctx, sig, sig_len, msg, msg_len);
	/* 0 is a wrong signature. A negative value is an error, but the
	 * signature bytes are the attacker's and OpenSSL also reports some
	 * malformed ones that way: still a bad signature, never a pass,
	 * unless OpenSSL ran out of memory. */
	if (rv == 1)
		st = AUTH_OK;
	else
		st = ossl_oom() ? AUTH_INTERNAL : AUTH_BAD_SIGNATURE;
out:
	if (st != AUTH_OK)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return st;
}
