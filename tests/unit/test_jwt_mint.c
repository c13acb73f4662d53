/* SPDX-License-Identifier: MIT */
/* Tests for auth/jwt_mint.c: minted tokens verify with our verifier. */
#include <stdint.h>

#include "crypto_testutil.h"
#include "internal.h"
#include "tap.h"

#define NOW INT64_C(1795694643)

struct mcase {
	const char *name;
	enum auth_alg alg;
	const char *priv; /* file, or NULL for the HMAC secret */
	const char *pub;  /* file to verify with, or NULL for the secret */
};

static const struct mcase good[] = {
    {"HS256", AUTH_ALG_HS256, NULL, NULL},
    {"HS384", AUTH_ALG_HS384, NULL, NULL},
    {"HS512", AUTH_ALG_HS512, NULL, NULL},
    {"RS256", AUTH_ALG_RS256, "keys/rsa2048.pem", "keys/rsa2048.pub.pem"},
    {"RS512", AUTH_ALG_RS512, "keys/rsa2048.pem", "keys/rsa2048.pub.pem"},
    {"ES256", AUTH_ALG_ES256, "keys/ec256.pem", "keys/ec256.pub.pem"},
    {"ES384", AUTH_ALG_ES384, "keys/ec384.pem", "keys/ec384.pub.pem"},
    {"ES512", AUTH_ALG_ES512, "keys/ec521.pem", "keys/ec521.pub.pem"},
};

struct bad_case {
	const char *name;
	enum auth_alg alg;
	const char *key_file; /* NULL: a 31-byte secret */
	int64_t ttl;
};

static const struct bad_case bad[] = {
    {"HS256 secret of 31 bytes", AUTH_ALG_HS256, NULL, 300},
    {"PS256 (not in libjwt 1.10)", AUTH_ALG_PS256, "keys/rsa2048.pem", 300},
    {"EdDSA (not in libjwt 1.10)", AUTH_ALG_EDDSA, "keys/ed25519.pem", 300},
    {"alg invalid", AUTH_ALG_INVALID, "keys/hs.secret", 300},
    {"RS256 with an EC key", AUTH_ALG_RS256, "keys/ec256.pem", 300},
    {"ES256 with a P-384 key", AUTH_ALG_ES256, "keys/ec384.pem", 300},
    {"ES256 with an RSA key", AUTH_ALG_ES256, "keys/rsa2048.pem", 300},
    {"RS256 with a public key", AUTH_ALG_RS256, "keys/rsa2048.pub.pem", 300},
    {"ttl 0", AUTH_ALG_HS256, "keys/hs.secret", 0},
    {"ttl negative", AUTH_ALG_HS256, "keys/hs.secret", -5},
};

static void
claims_init(struct auth_claims *c, const char *sub, int64_t exp,
    const char *extra)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->sub, sizeof(c->sub), "%s", sub);
	c->sub_len = strlen(sub);
	c->exp = exp;
	snprintf(c->extra, sizeof(c->extra), "%s", extra);
	c->extra_len = strlen(extra);
}

static void
test_good(void)
{
	size_t i, secret_len, key_len = 0, tok_len = 0;
	char *secret = tu_read("keys/hs.secret", &secret_len);
	char err[256], tok[4096], v[64];

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct mcase *m = &good[i];
		char *key = m->priv ? tu_read(m->priv, &key_len) : secret;
		struct auth_keyset *ks = auth_keyset_new();
		struct auth_minter *mt;
		struct auth_policy p;
		struct auth_claims c, out;
		int64_t exp = 0;
		enum auth_status st;

		if (m->priv == NULL)
			key_len = secret_len;
		err[0] = '\0';
		mt =
		    auth_minter_new(m->alg, (const unsigned char *)key, key_len,
		        "mint-1", "bearerd", "upstream", 300, err, sizeof(err));
		ok(mt != NULL, "%s minter%s%s", m->name, mt ? "" : ": ", err);
		if (m->pub) {
			char *pub = tu_read(m->pub, &key_len);

			auth_keyset_add_pem(ks, "mint-1", m->alg, pub, key_len,
			    err, sizeof(err));
			free(pub);
		} else {
			auth_keyset_add_secret(ks, "mint-1", m->alg,
			    (const unsigned char *)secret, secret_len, err,
			    sizeof(err));
		}
		memset(&p, 0, sizeof(p));
		p.keys = ks;
		p.issuer = "bearerd";
		p.audience = "upstream";
		p.keep_claims[0] = "org";
		p.keep_claims[1] = "role";
		p.keep_claims[2] = "exp";
		p.keep_claims[3] = "n";
		p.n_keep_claims = 4;

		/* Kept claims named like a reserved one never win. */
		claims_init(&c, "user-1", NOW + 900,
		    "{\"aud\":\"evil\","
		    "\"exp\":9999999999,\"iss\":\"evil\",\"n\":7,\"org\":\"o1\","
		    "\"role\":\"admin\",\"sub\":\"admin\"}");
		ok(mt &&
		        auth_minter_mint(mt, &c, NOW, tok, sizeof(tok),
		            &tok_len, &exp) == 0,
		    "%s mint", m->name);
		is_int(exp, NOW + 300, "%s exp = now + ttl", m->name);
		is_int(tok_len, strlen(tok), "%s token length", m->name);
		st = auth_jwt_verify(&p, tok, tok_len, NOW, &out);
		is_int(st, AUTH_OK, "%s minted token verifies with ours (%s)",
		    m->name, auth_status_str(st));
		is_str(out.sub, "user-1", "%s sub", m->name);
		is_int(out.exp, NOW + 300, "%s exp", m->name);
		is_int(out.iat, NOW, "%s iat", m->name);
		is_int(out.alg, m->alg, "%s alg", m->name);
		ok(auth_claims_get(&out, "org", v, sizeof(v), &key_len) == 0 &&
		        strcmp(v, "o1") == 0,
		    "%s org carried", m->name);
		ok(auth_claims_get(&out, "n", v, sizeof(v), &key_len) == 0 &&
		        strcmp(v, "7") == 0,
		    "%s number carried", m->name);
		ok(auth_claims_get(&out, "exp", v, sizeof(v), &key_len) == 0 &&
		        strcmp(v, "1795694943") == 0,
		    "%s extra exp did not win", m->name);
		is_int(auth_jwt_verify(&p, tok, tok_len, NOW + 300, &out),
		    AUTH_EXPIRED, "%s expired at exp", m->name);

		/* Never outlive the identity. */
		claims_init(&c, "user-2", NOW + 100, "{}");
		ok(mt &&
		        auth_minter_mint(mt, &c, NOW, tok, sizeof(tok),
		            &tok_len, &exp) == 0 &&
		        exp == NOW + 100,
		    "%s exp capped by the identity's exp", m->name);
		is_int(auth_jwt_verify(&p, tok, tok_len, NOW, &out), AUTH_OK,
		    "%s capped token verifies", m->name);
		is_str(out.sub, "user-2", "%s sub 2", m->name);
		/* Too small an output buffer. */
		is_int(mt ? auth_minter_mint(mt, &c, NOW, tok, tok_len,
		                &tok_len, &exp)
		          : 0,
		    -1, "%s buffer one byte short", m->name);
		auth_minter_free(mt);
		auth_keyset_free(ks);
		if (m->priv)
			free(key);
	}
	free(secret);
}

static void
test_wrong_key(void)
{
	static const unsigned char other[] =
	    "a-different-secret-of-at-least-32-bytes";
	size_t secret_len, tok_len = 0, hlen = 0;
	char *secret = tu_read("keys/hs.secret", &secret_len);
	struct auth_minter *mt;
	struct auth_keyset *ks = auth_keyset_new();
	struct auth_policy p;
	struct auth_claims c, out;
	char err[256], tok[4096], hdr[256];
	int64_t exp;

	mt = auth_minter_new(AUTH_ALG_HS256, other, sizeof(other) - 1, NULL,
	    NULL, NULL, 60, err, sizeof(err));
	auth_keyset_add_secret(ks, NULL, AUTH_ALG_HS256,
	    (const unsigned char *)secret, secret_len, err, sizeof(err));
	memset(&p, 0, sizeof(p));
	p.keys = ks;
	claims_init(&c, "user-1", INT64_MAX, "{}");
	ok(mt &&
	        auth_minter_mint(mt, &c, NOW, tok, sizeof(tok), &tok_len,
	            &exp) == 0,
	    "mint with another secret");
	is_int(auth_jwt_verify(&p, tok, tok_len, NOW, &out), AUTH_BAD_SIGNATURE,
	    "a token minted with the wrong key fails");
	/* No kid configured: the header has none; typ JWT from libjwt. */
	ok(b64url_decode(tok, (size_t)(strchr(tok, '.') - tok),
	       (unsigned char *)hdr, sizeof(hdr) - 1, &hlen) == 0,
	    "header decodes");
	hdr[hlen] = '\0';
	ok(strstr(hdr, "\"kid\"") == NULL && strstr(hdr, "\"HS256\""),
	    "header without kid: %s", hdr);
	claims_init(&c, "", INT64_MAX, "{}");
	is_int(auth_minter_mint(mt, &c, NOW, tok, sizeof(tok), &tok_len, &exp),
	    -1, "empty subject refused");
	auth_minter_free(mt);
	auth_minter_free(NULL);
	auth_keyset_free(ks);
	free(secret);
}

static void
test_bad(void)
{
	static const unsigned char short_secret[] =
	    "0123456789abcdef0123456789abcde";
	size_t i, len;
	char err[256];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *key =
		    bad[i].key_file ? tu_read(bad[i].key_file, &len) : NULL;
		struct auth_minter *mt;

		err[0] = '\0';
		mt = auth_minter_new(bad[i].alg,
		    key ? (unsigned char *)key : short_secret,
		    key ? len : sizeof(short_secret) - 1, NULL, NULL, NULL,
		    bad[i].ttl, err, sizeof(err));
		ok(mt == NULL && err[0] != '\0', "refused: %s (%s)",
		    bad[i].name, err);
		auth_minter_free(mt);
		free(key);
	}
}

int
main(void)
{
	test_good();
	test_wrong_key();
	test_bad();
	return tap_done();
}
