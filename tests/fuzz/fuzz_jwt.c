/* SPDX-License-Identifier: MIT */
/* Fuzzes the whole JWS verifier (and JWKS loading) with a fixed keyset and
 * clock. */
#include <string.h>

#include "fuzz.h"

/*
 * The test keys: public keys and the secret of one Better Auth 1.7.25
 * capture (tests/data/betterauth/{eddsa,es256}.json of 2026-11-26), copied
 * here so a later recapture cannot change what the committed seeds mean:
 * corpus/fuzz_jwt/ holds that capture's real tokens, which verify under
 * these keys at NOW.
 */
static const char jwks_eddsa[] =
    "{\"keys\":[{\"alg\":\"EdDSA\",\"crv\":\"Ed25519\","
    "\"x\":\"fHJoZZ6Zov6Zqut7_xjUXov5RSdONpkcnht48rRiuJY\",\"kty\":\"OKP\","
    "\"kid\":\"fEM6MPjBFcRAd49a6LOnsFcXRWSkqNwi\"}]}";
static const char iss_eddsa[] = "http://127.0.0.1:3391";
static const char jwks_es256[] =
    "{\"keys\":[{\"alg\":\"ES256\",\"crv\":\"P-256\",\"kty\":\"EC\","
    "\"x\":\"nw_DKr97Wak-z16M_ldunPvdCXGF0LWlV1Son-rCJB0\","
    "\"y\":\"XZNHHF-pN0mhg82eaEVwPFzuD5QgmGWZFHabt_LdkH0\","
    "\"kid\":\"Gk0TTHY80HJ8CoHh3RAlVR64ahbrCP1A\"}]}";
static const char iss_es256[] = "http://127.0.0.1:3393";
/* BETTER_AUTH_SECRET of that capture: the session_data (jwt) HS256 key. */
static const char secret[] = "OZ5Wu5BtzQo3XrHU25WknfyldueKJMHz4x_am8aLdFE";

/* One second after the ES256 token's iat; every seed token is live. */
#define NOW INT64_C(1795697055)
#define LEEWAY 60

enum { P_EDDSA, P_ES256, P_HS256, N_POLICIES };

static struct auth_keyset *keys[N_POLICIES];
static struct auth_policy pol[N_POLICIES];
static const enum auth_alg pol_alg[N_POLICIES] = {
    AUTH_ALG_EDDSA,
    AUTH_ALG_ES256,
    AUTH_ALG_HS256,
};

static void
setup(void)
{
	char err[256];

	for (int i = 0; i < N_POLICIES; i++) {
		keys[i] = auth_keyset_new();
		FUZZ_CHECK(keys[i] != NULL);
		memset(&pol[i], 0, sizeof(pol[i]));
		pol[i].keys = keys[i];
		pol[i].leeway = LEEWAY;
		pol[i].keep_claims[0] = "email";
		pol[i].keep_claims[1] = "name";
		pol[i].keep_claims[2] = "role";
		pol[i].n_keep_claims = 3;
	}
	FUZZ_CHECK(auth_keyset_add_jwks(keys[P_EDDSA], jwks_eddsa,
	               strlen(jwks_eddsa), err, sizeof(err)) == 0);
	pol[P_EDDSA].issuer = iss_eddsa;
	pol[P_EDDSA].audience = iss_eddsa;
	FUZZ_CHECK(auth_keyset_add_jwks(keys[P_ES256], jwks_es256,
	               strlen(jwks_es256), err, sizeof(err)) == 0);
	pol[P_ES256].issuer = iss_es256;
	pol[P_ES256].audience = iss_es256;
	FUZZ_CHECK(auth_keyset_add_secret(keys[P_HS256], NULL, AUTH_ALG_HS256,
	               (const unsigned char *)secret, strlen(secret), err,
	               sizeof(err)) == 0);
	/* Better Auth's session_data (jwt): no sub, iss or aud. */
	pol[P_HS256].subject_path = "session.userId";
}

static bool
b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void
check_ok_claims(int i, const char *tok, size_t n, const struct auth_claims *c)
{
	size_t dots = 0;

	FUZZ_CHECK(c->sub_len > 0 && c->sub_len <= AUTH_MAX_SUB_LEN);
	FUZZ_CHECK(c->sub[c->sub_len] == '\0');
	FUZZ_CHECK(strlen(c->sub) == c->sub_len); /* no NUL inside */
	FUZZ_CHECK(c->alg == pol_alg[i]);         /* pinned by the key */
	FUZZ_CHECK(c->exp > NOW - LEEWAY);        /* RFC 7519 §4.1.4 */
	FUZZ_CHECK(c->iat <= NOW + LEEWAY);
	FUZZ_CHECK(c->extra_len >= 2 && c->extra_len < AUTH_MAX_EXTRA_LEN);
	FUZZ_CHECK(c->extra[c->extra_len] == '\0');
	FUZZ_CHECK(c->extra[0] == '{' && c->extra[c->extra_len - 1] == '}');
	/* Only a compact JWS can verify: three base64url parts. */
	for (size_t k = 0; k < n; k++) {
		if (tok[k] == '.')
			dots++;
		else
			FUZZ_CHECK(b64url_char((unsigned char)tok[k]));
	}
	FUZZ_CHECK(dots == 2);
}

static void
fuzz_token(const char *tok, size_t n)
{
	for (int i = 0; i < N_POLICIES; i++) {
		struct auth_claims c, c2;
		enum auth_status st, st2;

		memset(&c, 0xa5, sizeof(c));
		st = auth_jwt_verify(&pol[i], tok, n, NOW, &c);
		FUZZ_CHECK(fuzz_status_valid(st));
		if (n > AUTH_MAX_TOKEN_LEN)
			FUZZ_CHECK(st == AUTH_TOO_LARGE);
		if (n == 0)
			FUZZ_CHECK(st != AUTH_OK);
		/* Deterministic: same verdict, same claims. */
		memset(&c2, 0x5a, sizeof(c2));
		st2 = auth_jwt_verify(&pol[i], tok, n, NOW, &c2);
		FUZZ_CHECK(st2 == st);
		if (st != AUTH_OK)
			continue;
		check_ok_claims(i, tok, n, &c);
		FUZZ_CHECK(c2.sub_len == c.sub_len &&
		    memcmp(c.sub, c2.sub, c.sub_len) == 0);
		FUZZ_CHECK(c2.exp == c.exp && c2.iat == c.iat);
		FUZZ_CHECK(c2.extra_len == c.extra_len &&
		    memcmp(c.extra, c2.extra, c.extra_len) == 0);
		/* A token good now is expired just past exp + leeway. */
		if (c.exp < INT64_MAX - LEEWAY - 1) {
			st2 = auth_jwt_verify(&pol[i], tok, n,
			    c.exp + LEEWAY + 1, &c2);
			FUZZ_CHECK(st2 == AUTH_EXPIRED);
		}
	}
}

/* A JWKS document: all or nothing, never a half-filled keyset. */
static void
fuzz_jwks(const char *doc, size_t n)
{
	struct auth_keyset *ks = auth_keyset_new();
	char err[128];
	int r;

	FUZZ_CHECK(ks != NULL);
	memset(err, 'x', sizeof(err));
	r = auth_keyset_add_jwks(ks, doc, n, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -1);
	if (r == 0) {
		FUZZ_CHECK(auth_keyset_count(ks) >= 1);
	} else {
		FUZZ_CHECK(auth_keyset_count(ks) == 0);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	}
	auth_keyset_free(ks);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char *in;

	if (!ready) {
		setup();
		ready = true;
	}
	in = fuzz_dup(data, size);
	/* A JWS never starts with '{' (base64url): such inputs are JWKS
	 * documents, the other untrusted text the verifier reads. */
	if (size > 0 && data[0] == '{')
		fuzz_jwks(in, size);
	else
		fuzz_token(in, size);
	free(in);
	return 0;
}
