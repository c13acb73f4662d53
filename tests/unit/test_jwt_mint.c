/* SPDX-License-Identifier: MIT */
/* Tests for auth/jwt_mint.c: minted tokens verify with our verifier, the
 * bytes match what libjwt 1.10 minted, and an OOM loop over new and mint. */
#include <stdint.h>

#include <openssl/crypto.h>

#include "claims_testutil.h"
#include "crypto_testutil.h"
#include "failalloc.h"
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
    {"RS384", AUTH_ALG_RS384, "keys/rsa2048.pem", "keys/rsa2048.pub.pem"},
    {"RS512", AUTH_ALG_RS512, "keys/rsa2048.pem", "keys/rsa2048.pub.pem"},
    {"PS256", AUTH_ALG_PS256, "keys/rsa2048.pem", "keys/rsa2048.pub.pem"},
    {"PS384", AUTH_ALG_PS384, "keys/rsa2048.pem", "keys/rsa2048.pub.pem"},
    {"PS512", AUTH_ALG_PS512, "keys/rsa2048.pem", "keys/rsa2048.pub.pem"},
    {"ES256", AUTH_ALG_ES256, "keys/ec256.pem", "keys/ec256.pub.pem"},
    {"ES384", AUTH_ALG_ES384, "keys/ec384.pem", "keys/ec384.pub.pem"},
    {"ES512", AUTH_ALG_ES512, "keys/ec521.pem", "keys/ec521.pub.pem"},
    {"EdDSA", AUTH_ALG_EDDSA, "keys/ed25519.pem", "keys/ed25519.pub.pem"},
};

struct bad_case {
	const char *name;
	enum auth_alg alg;
	const char *key_file; /* NULL: a 31-byte secret */
	int64_t ttl;
};

static const struct bad_case bad[] = {
    {"HS256 secret of 31 bytes", AUTH_ALG_HS256, NULL, 300},
    {"alg invalid", AUTH_ALG_INVALID, "keys/hs.secret", 300},
    {"alg out of range", AUTH_ALG_MAX, "keys/hs.secret", 300},
    {"PS256 with an EC key", AUTH_ALG_PS256, "keys/ec256.pem", 300},
    {"EdDSA with an RSA key", AUTH_ALG_EDDSA, "keys/rsa2048.pem", 300},
    {"EdDSA with an EC key", AUTH_ALG_EDDSA, "keys/ec256.pem", 300},
    {"ES256 with an Ed25519 key", AUTH_ALG_ES256, "keys/ed25519.pem", 300},
    {"RS256 with a secret", AUTH_ALG_RS256, "keys/hs.secret", 300},
    {"ES512 with a P-256 key", AUTH_ALG_ES512, "keys/ec256.pem", 300},
    {"EdDSA with a public key", AUTH_ALG_EDDSA, "keys/ed25519.pub.pem", 300},
    {"ttl over a year", AUTH_ALG_HS256, "keys/hs.secret", 366 * 86400},
    {"RS256 with an EC key", AUTH_ALG_RS256, "keys/ec256.pem", 300},
    {"ES256 with a P-384 key", AUTH_ALG_ES256, "keys/ec384.pem", 300},
    {"ES256 with an RSA key", AUTH_ALG_ES256, "keys/rsa2048.pem", 300},
    {"RS256 with a public key", AUTH_ALG_RS256, "keys/rsa2048.pub.pem", 300},
    {"ttl 0", AUTH_ALG_HS256, "keys/hs.secret", 0},
    {"ttl negative", AUTH_ALG_HS256, "keys/hs.secret", -5},
};

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
		tu_claims(&c, "user-1", NOW + 900,
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
		tu_claims(&c, "user-2", NOW + 100, "{}");
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
	tu_claims(&c, "user-1", INT64_MAX, "{}");
	ok(mt &&
	        auth_minter_mint(mt, &c, NOW, tok, sizeof(tok), &tok_len,
	            &exp) == 0,
	    "mint with another secret");
	is_int(auth_jwt_verify(&p, tok, tok_len, NOW, &out), AUTH_BAD_SIGNATURE,
	    "a token minted with the wrong key fails");
	/* No kid configured: the header has none. */
	ok(b64url_decode(tok, (size_t)(strchr(tok, '.') - tok),
	       (unsigned char *)hdr, sizeof(hdr) - 1, &hlen) == 0,
	    "header decodes");
	hdr[hlen] = '\0';
	is_str(hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    "header without kid");
	tu_claims(&c, "", INT64_MAX, "{}");
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

/* The token libjwt 1.10 minted for these inputs (header and payload keys
 * sorted, compact, UTF-8 kept, '/' unescaped): HMAC is deterministic, so
 * the same claims must still give the same bytes. */
static void
test_libjwt_bytes(void)
{
	static const char want[] =
	    "eyJhbGciOiJIUzI1NiIsImtpZCI6Im1pbnQtMSIsInR5cCI6IkpXVCJ9."
	    "eyJhdWQiOiJ1cHN0cmVhbSIsImV4cCI6MTc5NTY5NDk0MywiaWF0IjoxNzk1Njk0"
	    "NjQzLCJpc3MiOiJiZWFyZXJkIiwibiI6Nywib3JnIjoibzEiLCJyb2xlIjoiYWRt"
	    "aW4iLCJzdWIiOiJ1c2VyLTEiLCJ1IjoiY2Fmw6kvXCJ4XCIifQ."
	    "6XKRo1q_VCpqs-BAK6DDhVIvZvUtEm-eQXkCr1DNm6g";
	size_t secret_len, tok_len = 0;
	char *secret = tu_read("keys/hs.secret", &secret_len);
	char err[256], tok[4096];
	struct auth_minter *mt;
	struct auth_claims c;
	int64_t exp;

	mt = auth_minter_new(AUTH_ALG_HS256, (const unsigned char *)secret,
	    secret_len, "mint-1", "bearerd", "upstream", 300, err, sizeof(err));
	tu_claims(&c, "user-1", NOW + 900,
	    "{\"aud\":\"evil\",\"exp\":9999999999,\"iss\":\"evil\",\"n\":7,"
	    "\"org\":\"o1\",\"role\":\"admin\",\"sub\":\"admin\","
	    "\"u\":\"caf\\u00e9/\\\"x\\\"\"}");
	ok(mt &&
	        auth_minter_mint(mt, &c, NOW, tok, sizeof(tok), &tok_len,
	            &exp) == 0,
	    "HS256 mint for the libjwt comparison");
	is_str(tok, want, "the same bytes as libjwt 1.10 minted");
	auth_minter_free(mt);
	free(secret);
}

/* Runs |mt| on claims with kept claims, failing allocation |fail_at| (-1:
 * none), and checks the result against |ks|: 0 when it minted a token that
 * verifies with every claim intact, 1 when it failed cleanly (-1), 2 when
 * it minted something wrong. */
static int
mint_checked(const struct auth_minter *mt, struct auth_keyset *ks, long fail_at)
{
	int rv;

	struct auth_policy p;
	struct auth_claims c, out;
	char tok[4096], v[64];
	size_t tok_len = 0, vl;
	int64_t exp = 0;

	tu_claims(&c, "user-1-with-a-longer-id-0123456789", NOW + 900,
	    "{\"org\":\"an-organisation-name\",\"sub\":\"admin\"}");
	alloc_countdown = fail_at;
	rv = auth_minter_mint(mt, &c, NOW, tok, sizeof(tok), &tok_len, &exp);
	alloc_countdown = -1;
	if (rv != 0)
		return 1;
	memset(&p, 0, sizeof(p));
	p.keys = ks;
	p.issuer = "bearerd";
	p.audience = "upstream";
	p.keep_claims[0] = "org";
	p.n_keep_claims = 1;
	if (tok_len != strlen(tok) ||
	    auth_jwt_verify(&p, tok, tok_len, NOW, &out) != AUTH_OK ||
	    strcmp(out.sub, c.sub) != 0 || out.exp != NOW + 300 ||
	    auth_claims_get(&out, "org", v, sizeof(v), &vl) != 0 ||
	    strcmp(v, "an-organisation-name") != 0)
		return 2;
	return 0;
}

/*
 * Every allocation of OpenSSL (pass 0) or jansson (pass 1) failed in turn,
 * first while building a minter, then while minting: each run either
 * fails cleanly (NULL with a reason, or -1) or gives a minter or token that
 * verifies with every claim intact; never a crash (libjwt 1.10 passed a
 * failed allocation to strlen here), a leak (ASan) or a wrong token.
 */
static void
test_oom(int hooked)
{
	static const struct mcase algs[] = {
	    {"HS256", AUTH_ALG_HS256, NULL, NULL},
	    {"RS256", AUTH_ALG_RS256, "keys/rsa2048.pem",
	        "keys/rsa2048.pub.pem"},
	    {"PS256", AUTH_ALG_PS256, "keys/rsa2048.pem",
	        "keys/rsa2048.pub.pem"},
	    {"ES256", AUTH_ALG_ES256, "keys/ec256.pem", "keys/ec256.pub.pem"},
	    {"ES512", AUTH_ALG_ES512, "keys/ec521.pem", "keys/ec521.pub.pem"},
	    {"EdDSA", AUTH_ALG_EDDSA, "keys/ed25519.pem",
	        "keys/ed25519.pub.pem"},
	};
	size_t i, key_len, secret_len;
	char *secret, err[256];
	int pass;

	if (!hooked) {
		ok(1, "# SKIP OOM: allocator hooks unavailable");
		return;
	}
	secret = tu_read("keys/hs.secret", &secret_len);
	for (pass = 0; pass < 2; pass++) {
		fail_ossl = pass == 0;
		fail_json = pass == 1;
		for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			const struct mcase *a = &algs[i];
			char *key =
			    a->priv ? tu_read(a->priv, &key_len) : secret;
			struct auth_keyset *ks = auth_keyset_new();
			struct auth_minter *mt;
			int wrong = 0, runs = 0, clean = 0, r;
			long n;

			if (a->priv == NULL) {
				key_len = secret_len;
				auth_keyset_add_secret(ks, "mint-1", a->alg,
				    (const unsigned char *)secret, secret_len,
				    err, sizeof(err));
			} else {
				size_t pub_len;
				char *pub = tu_read(a->pub, &pub_len);

				auth_keyset_add_pem(ks, "mint-1", a->alg, pub,
				    pub_len, err, sizeof(err));
				free(pub);
			}
			/* PS and ES512 load their keys as RS and ES256 do:
			 * their OpenSSL runs would only repeat those. */
			for (n = 0; n < 20000; n++) {
				if (pass == 0 &&
				    (a->alg == AUTH_ALG_PS256 ||
				        a->alg == AUTH_ALG_ES512))
					break;
				alloc_failed = 0;
				alloc_countdown = n;
				err[0] = '\0';
				mt = auth_minter_new(a->alg,
				    (const unsigned char *)key, key_len,
				    "mint-1", "bearerd", "upstream", 300, err,
				    sizeof(err));
				alloc_countdown = -1;
				runs++;
				if (mt == NULL) {
					clean++;
					if (err[0] == '\0')
						wrong++;
				} else if (mint_checked(mt, ks, -1) != 0) {
					printf("# OOM new %s at %ld\n", a->name,
					    n);
					wrong++;
				}
				auth_minter_free(mt);
				if (alloc_failed == 0) {
					if (mt == NULL)
						wrong++;
					break;
				}
			}
			if (runs > 0)
				is_int(wrong, 0,
				    "OOM (%s) auth_minter_new %s: %d runs (%d "
				    "refused), each clean",
				    pass == 0 ? "OpenSSL" : "jansson", a->name,
				    runs, clean);

			mt = auth_minter_new(a->alg, (const unsigned char *)key,
			    key_len, "mint-1", "bearerd", "upstream", 300, err,
			    sizeof(err));
			wrong = runs = clean = 0;
			for (n = 0; mt != NULL && n < 20000; n++) {
				alloc_failed = 0;
				r = mint_checked(mt, ks, n);
				runs++;
				if (r == 1)
					clean++;
				if (r == 2) {
					printf("# OOM mint %s at %ld\n",
					    a->name, n);
					wrong++;
				}
				if (alloc_failed == 0) {
					if (r != 0)
						wrong++;
					break;
				}
			}
			ok(mt != NULL && wrong == 0 && runs > 1,
			    "OOM (%s) auth_minter_mint %s: %d runs (%d "
			    "refused), each clean",
			    pass == 0 ? "OpenSSL" : "jansson", a->name, runs,
			    clean);
			auth_minter_free(mt);
			auth_keyset_free(ks);
			if (a->priv)
				free(key);
		}
	}
	fail_ossl = fail_json = 0;
	free(secret);
}

int
main(void)
{
	/* Before OpenSSL allocates anything. */
	int hooked = CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free);

	json_set_alloc_funcs(j_malloc, free);
	auth_init();
	test_good();
	test_wrong_key();
	test_bad();
	test_libjwt_bytes();
	test_oom(hooked);
	return tap_done();
}
