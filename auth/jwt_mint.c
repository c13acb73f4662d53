/* SPDX-License-Identifier: MIT */
/* Mints short-lived upstream tokens: compact JWS (RFC 7515 §7.1) signed
 * through OpenSSL EVP, claims written with jansson. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "internal.h"

#define MINT_PEM_MAX_LEN (64 * 1024)
#define MINT_RSA_MAX_BITS 16384
/* The largest signature: RSA at MINT_RSA_MAX_BITS. */
#define MINT_SIG_MAX_LEN (MINT_RSA_MAX_BITS / 8)
/* The encoded header: {"alg":"EdDSA","kid":<kid escaped>,"typ":"JWT"};
 * a kid of AUTH_MAX_KID_LEN bytes of \u00XX escapes at most. */
#define MINT_HDR_JSON_MAX (64 + 6 * AUTH_MAX_KID_LEN)
#define MINT_HDR_B64_MAX (4 * ((MINT_HDR_JSON_MAX + 2) / 3) + 1)

struct auth_minter {
	enum auth_alg alg;
	EVP_MAC_CTX *mac; /* HS: keyed template, dup'd per mint; owned */
	EVP_PKEY *pkey;   /* RS/PS/ES/EdDSA private key; owned */
	EVP_MD *md;       /* digest; NULL for HS and EdDSA; owned */
	size_t coord;     /* ES: bytes per coordinate of r and s */
	char hdr[MINT_HDR_B64_MAX]; /* base64url of the header, fixed */
	size_t hdr_len;
	char *issuer;   /* owned, may be NULL */
	char *audience; /* owned, may be NULL */
	int64_t ttl;
};

/* Claims we set ourselves; a kept claim of the same name never overrides
 * them. */
static const char *const reserved[] = {"sub", "iat", "exp", "iss", "aud"};

static bool
is_hs(enum auth_alg alg)
{
	return alg >= AUTH_ALG_HS256 && alg <= AUTH_ALG_HS512;
}

static bool
is_rsa(enum auth_alg alg)
{
	return alg >= AUTH_ALG_RS256 && alg <= AUTH_ALG_PS512;
}

static bool
is_es(enum auth_alg alg)
{
	return alg >= AUTH_ALG_ES256 && alg <= AUTH_ALG_ES512;
}

/* Reads PEM private key |key| and checks that it suits |alg| (type, size,
 * curve), so that config errors show at load and not as failed requests.
 * Sets |m|->pkey and |m|->coord, or returns -1 with |err|. */
static int
load_private_key(struct auth_minter *m, const unsigned char *key,
    size_t key_len, char *err, size_t err_len)
{
	static const int curves[] = {NID_X9_62_prime256v1, NID_secp384r1,
	    NID_secp521r1};
	static const size_t coords[] = {32, 48, 66};
	EVP_PKEY *pk = NULL;
	BIO *bio;
	char group[64];
	size_t glen;
	int rv = -1, nid, bits;

	if (key_len > MINT_PEM_MAX_LEN) {
		auth_seterr(err, err_len, "private key too large");
		return -1;
	}
	bio = BIO_new_mem_buf(key, (int)key_len);
	if (bio == NULL) {
		auth_seterr(err, err_len, "out of memory");
		goto out;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		auth_seterr(err, err_len, "not a PEM private key");
		goto out;
	}
	if (is_rsa(m->alg)) {
		/* An "RSA-PSS" (restricted) key is refused: its own
		 * parameters could disagree with the alg's. */
		bits = EVP_PKEY_get_bits(pk);
		if (!EVP_PKEY_is_a(pk, "RSA") || bits < AUTH_MIN_RSA_BITS ||
		    bits > MINT_RSA_MAX_BITS) {
			auth_seterr(err, err_len,
			    "%s needs an RSA key of %d to %d bits",
			    auth_alg_str(m->alg), AUTH_MIN_RSA_BITS,
			    MINT_RSA_MAX_BITS);
			goto out;
		}
	} else if (is_es(m->alg)) {
		if (!EVP_PKEY_is_a(pk, "EC") ||
		    EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) !=
		        1) {
			auth_seterr(err, err_len,
			    "%s needs a named-curve EC key",
			    auth_alg_str(m->alg));
			goto out;
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid != curves[m->alg - AUTH_ALG_ES256]) {
			auth_seterr(err, err_len, "%s does not suit curve %s",
			    auth_alg_str(m->alg), group);
			goto out;
		}
		m->coord = coords[m->alg - AUTH_ALG_ES256];
	} else if (!EVP_PKEY_is_a(pk, "ED25519")) {
		auth_seterr(err, err_len, "EdDSA needs an Ed25519 key");
		goto out;
	}
	m->pkey = pk;
	pk = NULL;
	rv = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	return rv;
}

/* Keys the HMAC template with |key|; -1 when OpenSSL fails. */
static int
load_secret(struct auth_minter *m, const unsigned char *key, size_t key_len)
{
	OSSL_PARAM params[2];
	char md[16]; /* OSSL_PARAM takes a mutable string */
	EVP_MAC *mac;

	snprintf(md, sizeof(md), "%s", auth_alg_md_name(m->alg));

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return -1;
	m->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (m->mac == NULL)
		return -1;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, md, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(m->mac, key, key_len, params) != 1)
		return -1;
	return 0;
}

/* Encodes the fixed header (RFC 7515 §4.1, RFC 7519 §5.1) into |m|->hdr:
 * {"alg":...,"kid":...,"typ":"JWT"}, keys sorted as libjwt wrote them. */
static int
encode_header(struct auth_minter *m, const char *kid)
{
	char s[MINT_HDR_JSON_MAX];
	size_t len;
	json_t *h;
	int rv = -1;

	h = json_object();
	if (h == NULL)
		return -1;
	if (json_object_set_new(h, "alg", json_string(auth_alg_str(m->alg))) !=
	        0 ||
	    json_object_set_new(h, "typ", json_string("JWT")) != 0)
		goto out;
	if (kid != NULL && json_object_set_new(h, "kid", json_string(kid)) != 0)
		goto out;
	auth_json_oom_reset();
	len = json_dumpb(h, s, sizeof(s), JSON_COMPACT | JSON_SORT_KEYS);
	if (len == 0 || len > sizeof(s) || auth_json_oom())
		goto out;
	if (b64url_encode((const unsigned char *)s, len, m->hdr, sizeof(m->hdr),
	        &m->hdr_len) != 0)
		goto out;
	rv = 0;
out:
	json_decref(h);
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
	EVP_MAC_CTX_free(m->mac);
	EVP_PKEY_free(m->pkey);
	EVP_MD_free(m->md);
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

	if (auth_alg_str(alg) == NULL) {
		auth_seterr(err, err_len, "cannot mint with alg none");
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
	if (is_hs(alg) && key_len < AUTH_MIN_SECRET_LEN) {
		auth_seterr(err, err_len, "secret shorter than %d bytes",
		    AUTH_MIN_SECRET_LEN);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		auth_seterr(err, err_len, "out of memory");
		return NULL;
	}
	m->alg = alg;
	m->ttl = ttl;
	if (is_hs(alg)) {
		if (load_secret(m, key, key_len) == -1) {
			auth_seterr(err, err_len, "cannot key HMAC");
			goto out_free;
		}
	} else if (load_private_key(m, key, key_len, err, err_len) == -1) {
		goto out_free;
	}
	if (!is_hs(alg) && alg != AUTH_ALG_EDDSA) {
		m->md = EVP_MD_fetch(NULL, auth_alg_md_name(alg), NULL);
		if (m->md == NULL)
			fail = true;
	}
	if (encode_header(m, kid) == -1)
		fail = true;
	m->issuer = dup_opt(issuer, &fail);
	m->audience = dup_opt(audience, &fail);
	if (fail) {
		auth_seterr(err, err_len, "out of memory");
		goto out_free;
	}
	/* One trial run, so that a key that cannot sign fails here. */
	memset(&probe, 0, sizeof(probe));
	memcpy(probe.sub, "probe", 6);
	probe.sub_len = 5;
	probe.exp = INT64_MAX;
	memcpy(probe.extra, "{}", 3);
	probe.extra_len = 2;
	if (auth_minter_mint(m, &probe, 1, tok, sizeof(tok), &tok_len, &exp) ==
	    -1) {
		auth_seterr(err, err_len, "cannot sign with this key");
		goto out_free;
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	return m;

out_free:
	ERR_clear_error();
	auth_minter_free(m);
	return NULL;
}

/* The payload (RFC 7519 §4.1): the kept claims minus the reserved names,
 * then sub, iat, exp, iss and aud; compact with sorted keys, so the same
 * claims always give the same bytes. Writes at most |cap| bytes of JSON
 * (not NUL-terminated) to |out| and returns their length, or 0 on any
 * failure. */
static size_t
payload_json(const struct auth_minter *m, const struct auth_claims *c,
    int64_t now, int64_t exp, char *out, size_t cap)
{
	json_t *p = NULL;
	size_t i, len = 0;

	auth_json_oom_reset();
	if (c->extra_len > 0) {
		if (c->extra_len >= sizeof(c->extra))
			return 0;
		p = auth_json_parse_object(c->extra, c->extra_len);
		if (p == NULL)
			return 0;
		for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
			json_object_del(p, reserved[i]);
	} else if ((p = json_object()) == NULL) {
		return 0;
	}
	if (json_object_set_new(p, "sub", json_stringn(c->sub, c->sub_len)) !=
	        0 ||
	    json_object_set_new(p, "iat", json_integer((json_int_t)now)) != 0 ||
	    json_object_set_new(p, "exp", json_integer((json_int_t)exp)) != 0)
		goto out;
	if (m->issuer != NULL &&
	    json_object_set_new(p, "iss", json_string(m->issuer)) != 0)
		goto out;
	if (m->audience != NULL &&
	    json_object_set_new(p, "aud", json_string(m->audience)) != 0)
		goto out;
	len = json_dumpb(p, out, cap, JSON_COMPACT | JSON_SORT_KEYS);
	if (len > cap || auth_json_oom())
		len = 0;
out:
	json_decref(p);
	return len;
}

/* RFC 7518 §3.4: an ES signature is r||s, each left-padded to the
 * coordinate size; OpenSSL gives DER. Rewrites |sig| in place. */
static int
es_der_to_raw(unsigned char *sig, size_t *sig_len, size_t coord)
{
	const unsigned char *p = sig;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	int rv = -1;

	es = d2i_ECDSA_SIG(NULL, &p, (long)*sig_len);
	if (es == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, (int)coord) == (int)coord &&
	    BN_bn2binpad(s, sig + coord, (int)coord) == (int)coord) {
		*sig_len = 2 * coord;
		rv = 0;
	}
	ECDSA_SIG_free(es);
	return rv;
}

/* Signs |msg| with |m|'s key into |sig| (MINT_SIG_MAX_LEN bytes); the
 * JWS signature bytes (RFC 7518 §3) and their length, or 0. */
static size_t
sign(const struct auth_minter *m, const unsigned char *msg, size_t msg_len,
    unsigned char *sig)
{
	EVP_MAC_CTX *mac = NULL;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = 0, cap = MINT_SIG_MAX_LEN;

	if (m->mac != NULL) {
		/* The template stays read-only so threads can share it. */
		mac = EVP_MAC_CTX_dup(m->mac);
		if (mac == NULL || EVP_MAC_update(mac, msg, msg_len) != 1 ||
		    EVP_MAC_final(mac, sig, &len, cap) != 1)
			len = 0;
		EVP_MAC_CTX_free(mac);
		return len;
	}
	if ((size_t)EVP_PKEY_get_size(m->pkey) > cap)
		return 0;
	ctx = EVP_MD_CTX_new();
	/* Ed25519 is one-shot and takes no digest (RFC 8037 §3.1). */
	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, &pctx, m->md, NULL, m->pkey) != 1)
		goto fail;
	if (m->alg >= AUTH_ALG_RS256 && m->alg <= AUTH_ALG_RS512 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto fail;
	/* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash. */
	if (m->alg >= AUTH_ALG_PS256 && m->alg <= AUTH_ALG_PS512 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	            RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, m->md) <= 0))
		goto fail;
	len = cap;
	if (EVP_DigestSign(ctx, sig, &len, msg, msg_len) != 1)
		goto fail;
	if (is_es(m->alg) && es_der_to_raw(sig, &len, m->coord) == -1)
		goto fail;
	EVP_MD_CTX_free(ctx);
	return len;
fail:
	EVP_MD_CTX_free(ctx);
	return 0;
}

int
auth_minter_mint(const struct auth_minter *m, const struct auth_claims *c,
    int64_t now, char *out, size_t out_cap, size_t *out_len, int64_t *out_exp)
{
	unsigned char sig[MINT_SIG_MAX_LEN];
	char payload[AUTH_MAX_FWD_LEN];
	size_t n, pn, sn, sig_len, payload_len;
	int64_t exp;
	int rv = -1;

	if (m == NULL || c == NULL || out == NULL || out_len == NULL ||
	    c->sub_len == 0 || c->sub_len > AUTH_MAX_SUB_LEN)
		return -1;
	/* Never outlive the identity it was minted from. */
	exp = now > INT64_MAX - m->ttl ? INT64_MAX : now + m->ttl;
	if (c->exp < exp)
		exp = c->exp;
	payload_len = payload_json(m, c, now, exp, payload, sizeof(payload));
	if (payload_len == 0)
		goto out;
	/* RFC 7515 §7.1: header "." payload "." signature, the first two
	 * being the signing input. */
	if (m->hdr_len + 2 > out_cap)
		goto out;
	memcpy(out, m->hdr, m->hdr_len);
	out[m->hdr_len] = '.';
	n = m->hdr_len + 1;
	if (b64url_encode((const unsigned char *)payload, payload_len, out + n,
	        out_cap - n, &pn) != 0)
		goto out;
	n += pn;
	sig_len = sign(m, (const unsigned char *)out, n, sig);
	if (sig_len == 0 || n + 2 > out_cap)
		goto out;
	out[n++] = '.';
	if (b64url_encode(sig, sig_len, out + n, out_cap - n, &sn) != 0)
		goto out;
	n += sn;
	*out_len = n;
	if (out_exp != NULL)
		*out_exp = exp;
	rv = 0;
out:
	if (rv != 0 && out_cap > 0)
		out[0] = '\0';
	ERR_clear_error();
	return rv;
}
