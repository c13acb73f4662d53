/* SPDX-License-Identifier: MIT */
/* Tests for auth/keys.c: alg names, secrets, PEM, JWKS, kid selection. */
#include "crypto_testutil.h"
#include "internal.h"
#include "tap.h"

static const char *const alg_names[] = {NULL, "HS256", "HS384", "HS512",
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
    "ES512", "EdDSA"};

static const unsigned char secret32[] = "0123456789abcdef0123456789abcdef";

/* Better Auth 1.7.25 JWKS as served by /api/auth/jwks. */
static const char ba_eddsa_jwks[] =
    "{\"keys\":[{\"alg\":\"EdDSA\",\"crv\":"
    "\"Ed25519\",\"x\":\"AcnPY416yUKrsTbsq20Eh3BohrVvpjBsAtwZMjT8atA\","
    "\"kty\":\"OKP\",\"kid\":\"Ze3kiQ2Fsk7nMU0sguMaOlpyJGYjvy4T\"}]}";
static const char ba_es256_jwks[] =
    "{\"keys\":[{\"alg\":\"ES256\",\"crv\":"
    "\"P-256\",\"kty\":\"EC\",\"x\":\"ZLN4j3X9NSpQeLUsop3y7ni6P_dAC8hSmvz7"
    "ucekFrQ\",\"y\":\"sNY8W3U6prcNqjtV0aDE8jib73YQx0nW8Yu5Pq8_ew4\",\"kid\""
    ":\"ORnNUdwhuxn0IB65AWThdTCEax2KLmF6\"}]}";

struct pem_case {
	const char *name;
	const char *file;
	enum auth_alg alg;
	int rv;
};

static const struct pem_case pem_cases[] = {
    {"RSA SPKI RS256", "keys/rsa2048.pub.pem", AUTH_ALG_RS256, 0},
    {"RSA SPKI RS512", "keys/rsa2048.pub.pem", AUTH_ALG_RS512, 0},
    {"RSA SPKI PS256", "keys/rsa2048.pub.pem", AUTH_ALG_PS256, 0},
    {"RSA PKCS#1 RS256", "keys/rsa2048.pkcs1.pub.pem", AUTH_ALG_RS256, 0},
    {"P-256 ES256", "keys/ec256.pub.pem", AUTH_ALG_ES256, 0},
    {"P-384 ES384", "keys/ec384.pub.pem", AUTH_ALG_ES384, 0},
    {"P-521 ES512", "keys/ec521.pub.pem", AUTH_ALG_ES512, 0},
    {"Ed25519 EdDSA", "keys/ed25519.pub.pem", AUTH_ALG_EDDSA, 0},
    {"RSA 1024 refused", "keys/rsa1024.pub.pem", AUTH_ALG_RS256, -1},
    {"RSA private key refused", "keys/rsa2048.pem", AUTH_ALG_RS256, -1},
    {"EC private key refused", "keys/ec256.pem", AUTH_ALG_ES256, -1},
    {"Ed25519 private key refused", "keys/ed25519.pem", AUTH_ALG_EDDSA, -1},
    {"certificate refused", "keys/rsa2048.cert.pem", AUTH_ALG_RS256, -1},
    {"P-256 for ES384 refused", "keys/ec256.pub.pem", AUTH_ALG_ES384, -1},
    {"P-384 for ES256 refused", "keys/ec384.pub.pem", AUTH_ALG_ES256, -1},
    {"RSA for ES256 refused", "keys/rsa2048.pub.pem", AUTH_ALG_ES256, -1},
    {"EC for RS256 refused", "keys/ec256.pub.pem", AUTH_ALG_RS256, -1},
    {"Ed25519 for RS256 refused", "keys/ed25519.pub.pem", AUTH_ALG_RS256, -1},
    {"RSA for EdDSA refused", "keys/rsa2048.pub.pem", AUTH_ALG_EDDSA, -1},
    {"PEM for HS256 refused", "keys/rsa2048.pub.pem", AUTH_ALG_HS256, -1},
    {"PEM for invalid alg refused", "keys/rsa2048.pub.pem", AUTH_ALG_INVALID,
        -1},
    {"JWKS file is not a PEM", "keys/jwks.json", AUTH_ALG_RS256, -1},
};

static void
test_algs(void)
{
	int a;

	for (a = AUTH_ALG_HS256; a < AUTH_ALG_MAX; a++) {
		is_str(auth_alg_str((enum auth_alg)a), alg_names[a],
		    "alg_str %d", a);
		is_int(auth_alg_from_str(alg_names[a], strlen(alg_names[a])), a,
		    "alg_from_str %s", alg_names[a]);
	}
	ok(auth_alg_str(AUTH_ALG_INVALID) == NULL, "alg_str invalid is NULL");
	ok(auth_alg_str(AUTH_ALG_MAX) == NULL, "alg_str MAX is NULL");
	is_int(auth_alg_from_str("none", 4), AUTH_ALG_INVALID, "none");
	is_int(auth_alg_from_str("None", 4), AUTH_ALG_INVALID, "None");
	is_int(auth_alg_from_str("hs256", 5), AUTH_ALG_INVALID, "hs256");
	is_int(auth_alg_from_str("EDDSA", 5), AUTH_ALG_INVALID, "EDDSA");
	is_int(auth_alg_from_str("HS256 ", 6), AUTH_ALG_INVALID,
	    "trailing space");
	is_int(auth_alg_from_str("HS25", 4), AUTH_ALG_INVALID, "prefix");
	is_int(auth_alg_from_str("HS2566", 5), AUTH_ALG_HS256,
	    "length is honoured");
	is_int(auth_alg_from_str("", 0), AUTH_ALG_INVALID, "empty");
	is_int(auth_alg_from_str(NULL, 0), AUTH_ALG_INVALID, "NULL");
	is_int(auth_alg_from_str("ES256K", 6), AUTH_ALG_INVALID, "ES256K");
}

static void
test_secrets(void)
{
	struct auth_keyset *ks = auth_keyset_new();
	char err[256];

	ok(ks != NULL, "keyset_new");
	is_int(auth_keyset_count(ks), 0, "empty keyset");
	is_int(auth_keyset_add_secret(ks, NULL, AUTH_ALG_HS256, secret32, 31,
	           err, sizeof(err)),
	    -1, "31-byte secret refused");
	ok(strstr(err, "32") != NULL, "error names the minimum: %s", err);
	is_int(auth_keyset_add_secret(ks, NULL, AUTH_ALG_RS256, secret32, 32,
	           err, sizeof(err)),
	    -1, "secret for RS256 refused");
	is_int(auth_keyset_add_secret(ks, NULL, AUTH_ALG_INVALID, secret32, 32,
	           err, sizeof(err)),
	    -1, "secret for alg none refused");
	is_int(auth_keyset_add_secret(ks, NULL, AUTH_ALG_HS256, NULL, 32, err,
	           sizeof(err)),
	    -1, "NULL secret refused");
	is_int(auth_keyset_count(ks), 0, "failures add nothing");
	is_int(auth_keyset_add_secret(ks, NULL, AUTH_ALG_HS256, secret32, 32,
	           err, sizeof(err)),
	    0, "32-byte secret accepted");
	is_int(auth_keyset_add_secret(ks, NULL, AUTH_ALG_HS384, secret32, 32,
	           err, sizeof(err)),
	    -1, "a second key without kid refused");
	is_int(auth_keyset_add_secret(ks, "a", AUTH_ALG_HS384, secret32, 32,
	           err, sizeof(err)),
	    0, "kid a accepted");
	is_int(auth_keyset_add_secret(ks, "a", AUTH_ALG_HS512, secret32, 32,
	           err, sizeof(err)),
	    -1, "duplicate kid a refused");
	ok(strstr(err, "duplicate") != NULL, "error says duplicate: %s", err);
	{
		char long_kid[AUTH_MAX_KID_LEN + 2];

		memset(long_kid, 'k', sizeof(long_kid) - 1);
		long_kid[sizeof(long_kid) - 1] = '\0';
		is_int(auth_keyset_add_secret(ks, long_kid, AUTH_ALG_HS512,
		           secret32, 32, err, sizeof(err)),
		    -1, "kid too long");
		long_kid[AUTH_MAX_KID_LEN] = '\0';
		is_int(auth_keyset_add_secret(ks, long_kid, AUTH_ALG_HS512,
		           secret32, 32, err, sizeof(err)),
		    0, "kid at the limit");
	}
	is_int(auth_keyset_count(ks), 3, "three keys");
	auth_keyset_free(ks);
	auth_keyset_free(NULL);
	is_int(auth_keyset_count(NULL), 0, "count of NULL");
}

static void
test_pems(void)
{
	size_t i, len;
	char err[256];

	for (i = 0; i < sizeof(pem_cases) / sizeof(pem_cases[0]); i++) {
		const struct pem_case *c = &pem_cases[i];
		struct auth_keyset *ks = auth_keyset_new();
		char *pem = tu_read(c->file, &len);
		struct tu_guard g;
		int rv;

		err[0] = '\0';
		rv = auth_keyset_add_pem(ks, "k", c->alg,
		    tu_guard_copy(&g, pem, len), len, err, sizeof(err));
		is_int(rv, c->rv, "pem %s%s%s", c->name, rv ? ": " : "",
		    rv ? err : "");
		is_int(auth_keyset_count(ks), c->rv == 0 ? 1 : 0,
		    "pem %s: count", c->name);
		tu_guard_free(&g);
		free(pem);
		auth_keyset_free(ks);
	}
	/* Two blocks: a public key with a private key after it. */
	{
		struct auth_keyset *ks = auth_keyset_new();
		char *a = tu_read("keys/rsa2048.pub.pem", NULL);
		char *b = tu_read("keys/rsa2048.pem", NULL);
		size_t both_len = strlen(a) + strlen(b) + 1;
		char *both = malloc(both_len);

		snprintf(both, both_len, "%s%s", a, b);
		is_int(auth_keyset_add_pem(ks, NULL, AUTH_ALG_RS256, both,
		           strlen(both), err, sizeof(err)),
		    -1, "two PEM blocks");
		is_int(auth_keyset_add_pem(ks, NULL, AUTH_ALG_RS256, a,
		           strlen(a) - 40, err, sizeof(err)),
		    -1, "truncated PEM");
		is_int(auth_keyset_add_pem(ks, NULL, AUTH_ALG_RS256, a, 0, err,
		           sizeof(err)),
		    -1, "empty PEM");
		is_int(auth_keyset_add_pem(ks, NULL, AUTH_ALG_RS256, a,
		           strlen(a), err, sizeof(err)),
		    0, "PEM once");
		is_int(auth_keyset_add_pem(ks, NULL, AUTH_ALG_RS384, a,
		           strlen(a), err, sizeof(err)),
		    -1, "same PEM without kid twice");
		free(a);
		free(b);
		free(both);
		auth_keyset_free(ks);
	}
}

struct jwks_case {
	const char *name;
	const char *json;
	int rv;
	size_t count; /* keys added when rv == 0 */
};

#define RSA_N_SMALL "\"n\":\"AQAB\""
#define P256_X "\"x\":\"ZLN4j3X9NSpQeLUsop3y7ni6P_dAC8hSmvz7ucekFrQ\""
#define P256_Y "\"y\":\"sNY8W3U6prcNqjtV0aDE8jib73YQx0nW8Yu5Pq8_ew4\""
#define P256_Y_BAD "\"y\":\"sNY8W3U6prcNqjtV0aDE8jib73YQx0nW8Yu5Pq8_ew5\""
#define ED_X "\"x\":\"AcnPY416yUKrsTbsq20Eh3BohrVvpjBsAtwZMjT8atA\""

static const struct jwks_case jwks_cases[] = {
    {"Better Auth EdDSA", ba_eddsa_jwks, 0, 1},
    {"Better Auth ES256", ba_es256_jwks, 0, 1},
    {"EC without alg: from crv",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\"," P256_X "," P256_Y
        ",\"kid\":\"a\"}]}",
        0, 1},
    {"use sig kept",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," ED_X
        ",\"use\":\"sig\",\"kid\":\"a\"}]}",
        0, 1},
    {"use enc skipped, sig kept",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," ED_X
        ",\"use\":\"enc\",\"kid\":\"a\"},{\"kty\":\"OKP\",\"crv\":"
        "\"Ed25519\"," ED_X ",\"kid\":\"b\"}]}",
        0, 1},
    {"only enc keys",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," ED_X
        ",\"use\":\"enc\",\"kid\":\"a\"}]}",
        -1, 0},
    {"no keys", "{\"keys\":[]}", -1, 0},
    {"keys not an array", "{\"keys\":{}}", -1, 0},
    {"not an object", "[]", -1, 0},
    {"not JSON", "{\"keys\":[", -1, 0},
    {"duplicate kids",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," ED_X
        ",\"kid\":\"a\"},{\"kty\":\"EC\",\"crv\":\"P-256\"," P256_X "," P256_Y
        ",\"kid\":\"a\"}]}",
        -1, 0},
    {"duplicate member", "{\"keys\":[],\"keys\":[]}", -1, 0},
    {"oct refused",
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\","
        "\"kid\":\"a\"}]}",
        -1, 0},
    {"private d refused",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," ED_X
        ",\"d\":\"AAAA\",\"kid\":\"a\"}]}",
        -1, 0},
    {"unknown kty skipped",
        "{\"keys\":[{\"kty\":\"AKP\",\"kid\":\"z\"},{\"kty\":\"OKP\","
        "\"crv\":\"Ed25519\"," ED_X ",\"kid\":\"a\"}]}",
        0, 1},
    {"unknown alg skipped",
        "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP\"," RSA_N_SMALL
        ",\"e\":\"AQAB\",\"kid\":\"z\"},{\"kty\":\"OKP\",\"crv\":"
        "\"Ed25519\"," ED_X ",\"kid\":\"a\"}]}",
        0, 1},
    {"Ed448 skipped",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed448\"," ED_X
        ",\"kid\":\"z\"}]}",
        -1, 0},
    {"alg does not suit kty",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"ES256\"," ED_X
        ",\"kid\":\"a\"}]}",
        -1, 0},
    {"alg does not suit crv",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES384\"," P256_X
        "," P256_Y ",\"kid\":\"a\"}]}",
        -1, 0},
    {"HS alg on RSA key",
        "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"HS256\"," RSA_N_SMALL
        ",\"e\":\"AQAB\",\"kid\":\"a\"}]}",
        -1, 0},
    {"EC point not on curve",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\"," P256_X "," P256_Y_BAD
        ",\"kid\":\"a\"}]}",
        -1, 0},
    {"EC coordinate too short",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\"," P256_Y
        ",\"kid\":\"a\"}]}",
        -1, 0},
    {"EC y missing",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\"," P256_X
        ",\"kid\":\"a\"}]}",
        -1, 0},
    {"Ed25519 x short",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
        "\"x\":\"AAAA\",\"kid\":\"a\"}]}",
        -1, 0},
    {"x padded base64",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
        "\"AcnPY416yUKrsTbsq20Eh3BohrVvpjBsAtwZMjT8atA=\",\"kid\":\"a\"}]}",
        -1, 0},
    {"RSA modulus too small",
        "{\"keys\":[{\"kty\":\"RSA\"," RSA_N_SMALL ",\"e\":\"AQAB\","
        "\"kid\":\"a\"}]}",
        -1, 0},
    {"kid not a string",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," ED_X ",\"kid\":7}]}",
        -1, 0},
    {"kid empty",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," ED_X
        ",\"kid\":\"\"}]}",
        -1, 0},
    {"no kid, single key",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," ED_X "}]}", 0, 1},
    {"use not a string",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," ED_X
        ",\"use\":1,\"kid\":\"a\"}]}",
        -1, 0},
    {"key not an object", "{\"keys\":[1]}", -1, 0},
};

static void
test_jwks(void)
{
	struct auth_keyset *ks;
	char err[256], *json;
	size_t i, len;
	struct tu_guard g;

	for (i = 0; i < sizeof(jwks_cases) / sizeof(jwks_cases[0]); i++) {
		const struct jwks_case *c = &jwks_cases[i];
		int rv;

		ks = auth_keyset_new();
		err[0] = '\0';
		len = strlen(c->json);
		rv = auth_keyset_add_jwks(ks, tu_guard_copy(&g, c->json, len),
		    len, err, sizeof(err));
		is_int(rv, c->rv, "jwks %s%s%s", c->name, rv ? ": " : "",
		    rv ? err : "");
		is_int(auth_keyset_count(ks), c->count, "jwks %s: count",
		    c->name);
		tu_guard_free(&g);
		auth_keyset_free(ks);
	}

	/* The generated fixture: 10 keys, one per alg but HS. */
	json = tu_read("keys/jwks.json", &len);
	ks = auth_keyset_new();
	is_int(auth_keyset_add_jwks(ks, json, len, err, sizeof(err)), 0,
	    "fixture JWKS loads");
	is_int(auth_keyset_count(ks), 10, "fixture JWKS has 10 keys");
	/* Loading it again: every kid is a duplicate; nothing changes. */
	is_int(auth_keyset_add_jwks(ks, json, len, err, sizeof(err)), -1,
	    "second load: duplicate kids");
	is_int(auth_keyset_count(ks), 10, "keyset unchanged after failure");
	is_int(auth_keyset_add_jwks(ks, ba_eddsa_jwks, strlen(ba_eddsa_jwks),
	           err, sizeof(err)),
	    0, "another JWKS adds to the set");
	is_int(auth_keyset_count(ks), 11, "11 keys");

	/* kid selection. */
	{
		const struct auth_key *k = NULL;

		is_int(auth_keyset_select(ks, AUTH_ALG_PS256, "ps256", 5, true,
		           &k),
		    AUTH_OK, "select ps256");
		ok(k != NULL && k->alg == AUTH_ALG_PS256 && k->sig_len == 256,
		    "selected key is PS256 with 256-byte signatures");
		is_int(auth_keyset_select(ks, AUTH_ALG_RS256, "ps256", 5, true,
		           &k),
		    AUTH_ALG_REJECTED, "kid of a key pinned to PS256");
		is_int(auth_keyset_select(ks, AUTH_ALG_ES256, "nope", 4, true,
		           &k),
		    AUTH_KEY_UNKNOWN, "unknown kid");
		is_int(auth_keyset_select(ks, AUTH_ALG_ES256, "es25", 4, true,
		           &k),
		    AUTH_KEY_UNKNOWN, "kid prefix is not the kid");
		is_int(auth_keyset_select(ks, AUTH_ALG_ES256, NULL, 0, false,
		           &k),
		    AUTH_KEY_UNKNOWN, "no kid with many keys");
		is_int(auth_keyset_select(ks, AUTH_ALG_INVALID, "es256", 5,
		           true, &k),
		    AUTH_ALG_REJECTED, "alg none");
		is_int(auth_keyset_select(ks, AUTH_ALG_ES512, "es512", 5, true,
		           &k),
		    AUTH_OK, "select es512");
		ok(k != NULL && k->sig_len == 132,
		    "ES512 signatures are 132 "
		    "bytes");
	}
	auth_keyset_free(ks);
	free(json);
}

/* ------------------------------------------------------- kid selection */

enum sel_set {
	SET_EMPTY,
	SET_SECRET,         /* one secret, no kid */
	SET_SECRET_KID,     /* one secret, kid "hs" */
	SET_SECRET_JWKS,    /* a secret without kid beside a JWKS */
	SET_KID_JWKS,       /* secret kid "hs" beside a JWKS (Finding: kid'd
	                       secrets) */
	SET_JWKS,           /* two JWKS keys, each with a kid */
	SET_JWKS_ONE,       /* one JWKS key with a kid */
	SET_PEM_KID_SECRET, /* an RSA PEM without kid and secret kid "hs" */
	SET_N
};

#define ED_KID "Ze3kiQ2Fsk7nMU0sguMaOlpyJGYjvy4T"
#define ES_KID "ORnNUdwhuxn0IB65AWThdTCEax2KLmF6"

static const struct sel_case {
	enum sel_set set;
	enum auth_alg alg; /* the token's alg */
	const char *kid;   /* the token's kid; NULL: none */
	enum auth_status want;
	const char *want_kid; /* the chosen key's kid, "" for none */
} sel_cases[] = {
    {SET_EMPTY, AUTH_ALG_HS256, NULL, AUTH_KEY_UNKNOWN, NULL},
    {SET_EMPTY, AUTH_ALG_HS256, "hs", AUTH_KEY_UNKNOWN, NULL},
    {SET_SECRET, AUTH_ALG_HS256, NULL, AUTH_OK, ""},
    {SET_SECRET, AUTH_ALG_HS256, "x", AUTH_OK, ""},
    {SET_SECRET, AUTH_ALG_HS384, NULL, AUTH_ALG_REJECTED, NULL},
    {SET_SECRET, AUTH_ALG_INVALID, NULL, AUTH_ALG_REJECTED, NULL},
    {SET_SECRET_KID, AUTH_ALG_HS256, "hs", AUTH_OK, "hs"},
    {SET_SECRET_KID, AUTH_ALG_HS256, "h", AUTH_KEY_UNKNOWN, NULL},
    {SET_SECRET_KID, AUTH_ALG_HS256, "hs2", AUTH_KEY_UNKNOWN, NULL},
    {SET_SECRET_KID, AUTH_ALG_HS256, NULL, AUTH_KEY_UNKNOWN, NULL},
    {SET_SECRET_KID, AUTH_ALG_HS384, "hs", AUTH_ALG_REJECTED, NULL},
    {SET_SECRET_JWKS, AUTH_ALG_HS256, NULL, AUTH_OK, ""},
    {SET_SECRET_JWKS, AUTH_ALG_HS256, "x", AUTH_OK, ""},
    {SET_SECRET_JWKS, AUTH_ALG_EDDSA, ED_KID, AUTH_OK, ED_KID},
    {SET_SECRET_JWKS, AUTH_ALG_ES256, ES_KID, AUTH_OK, ES_KID},
    {SET_SECRET_JWKS, AUTH_ALG_ES256, ED_KID, AUTH_ALG_REJECTED, NULL},
    {SET_SECRET_JWKS, AUTH_ALG_EDDSA, NULL, AUTH_ALG_REJECTED, NULL},
    {SET_SECRET_JWKS, AUTH_ALG_EDDSA, "nope", AUTH_ALG_REJECTED, NULL},
    {SET_KID_JWKS, AUTH_ALG_HS256, "hs", AUTH_OK, "hs"},
    {SET_KID_JWKS, AUTH_ALG_EDDSA, ED_KID, AUTH_OK, ED_KID},
    {SET_KID_JWKS, AUTH_ALG_HS256, NULL, AUTH_KEY_UNKNOWN, NULL},
    {SET_KID_JWKS, AUTH_ALG_HS256, "nope", AUTH_KEY_UNKNOWN, NULL},
    {SET_KID_JWKS, AUTH_ALG_HS256, ED_KID, AUTH_ALG_REJECTED, NULL},
    {SET_KID_JWKS, AUTH_ALG_EDDSA, "hs", AUTH_ALG_REJECTED, NULL},
    {SET_JWKS, AUTH_ALG_ES256, ES_KID, AUTH_OK, ES_KID},
    {SET_JWKS, AUTH_ALG_ES256, NULL, AUTH_KEY_UNKNOWN, NULL},
    {SET_JWKS, AUTH_ALG_ES256, "ORnNUdwhuxn0IB65AWThdTCEax2KLmF",
        AUTH_KEY_UNKNOWN, NULL},
    /* One key or many: the same answers. */
    {SET_JWKS_ONE, AUTH_ALG_EDDSA, ED_KID, AUTH_OK, ED_KID},
    {SET_JWKS_ONE, AUTH_ALG_EDDSA, NULL, AUTH_KEY_UNKNOWN, NULL},
    {SET_JWKS_ONE, AUTH_ALG_EDDSA, "nope", AUTH_KEY_UNKNOWN, NULL},
    {SET_PEM_KID_SECRET, AUTH_ALG_HS256, "hs", AUTH_OK, "hs"},
    {SET_PEM_KID_SECRET, AUTH_ALG_RS256, NULL, AUTH_OK, ""},
    {SET_PEM_KID_SECRET, AUTH_ALG_RS256, "whatever", AUTH_OK, ""},
    {SET_PEM_KID_SECRET, AUTH_ALG_HS256, NULL, AUTH_ALG_REJECTED, NULL},
    {SET_PEM_KID_SECRET, AUTH_ALG_HS256, "other", AUTH_ALG_REJECTED, NULL},
};

static const char *const set_names[SET_N] = {"empty", "secret", "secret kid",
    "secret + JWKS", "kid'd secret + JWKS", "JWKS", "JWKS of one key",
    "PEM + kid'd secret"};

static void
test_select(void)
{
	struct auth_keyset *sets[SET_N];
	char err[256], *pem;
	size_t i, len;
	int bad = 0;

	for (i = 0; i < SET_N; i++)
		sets[i] = auth_keyset_new();
	pem = tu_read("keys/rsa2048.pub.pem", &len);
	bad |= auth_keyset_add_secret(sets[SET_SECRET], NULL, AUTH_ALG_HS256,
	    secret32, 32, err, sizeof(err));
	bad |= auth_keyset_add_secret(sets[SET_SECRET_KID], "hs",
	    AUTH_ALG_HS256, secret32, 32, err, sizeof(err));
	bad |= auth_keyset_add_secret(sets[SET_SECRET_JWKS], NULL,
	    AUTH_ALG_HS256, secret32, 32, err, sizeof(err));
	bad |= auth_keyset_add_secret(sets[SET_KID_JWKS], "hs", AUTH_ALG_HS256,
	    secret32, 32, err, sizeof(err));
	bad |= auth_keyset_add_pem(sets[SET_PEM_KID_SECRET], NULL,
	    AUTH_ALG_RS256, pem, len, err, sizeof(err));
	bad |= auth_keyset_add_secret(sets[SET_PEM_KID_SECRET], "hs",
	    AUTH_ALG_HS256, secret32, 32, err, sizeof(err));
	for (i = SET_SECRET_JWKS; i <= SET_JWKS; i++) {
		bad |= auth_keyset_add_jwks(sets[i], ba_eddsa_jwks,
		    strlen(ba_eddsa_jwks), err, sizeof(err));
		bad |= auth_keyset_add_jwks(sets[i], ba_es256_jwks,
		    strlen(ba_es256_jwks), err, sizeof(err));
	}
	bad |= auth_keyset_add_jwks(sets[SET_JWKS_ONE], ba_eddsa_jwks,
	    strlen(ba_eddsa_jwks), err, sizeof(err));
	free(pem);
	is_int(bad, 0, "selection keysets built");
	/* The kid-less-key rule holds beside kid'd keys too. */
	is_int(auth_keyset_add_secret(sets[SET_SECRET_JWKS], NULL,
	           AUTH_ALG_HS512, secret32, 32, err, sizeof(err)),
	    -1, "a second kid-less key beside a JWKS refused");
	is_int(auth_keyset_add_secret(sets[SET_KID_JWKS], NULL, AUTH_ALG_HS512,
	           secret32, 32, err, sizeof(err)),
	    0, "one kid-less key beside a kid'd secret and a JWKS");
	is_int(auth_keyset_add_secret(sets[SET_KID_JWKS], "hs", AUTH_ALG_HS512,
	           secret32, 32, err, sizeof(err)),
	    -1, "a secret kid taken twice refused");
	auth_keyset_free(sets[SET_KID_JWKS]);
	sets[SET_KID_JWKS] = auth_keyset_new();
	bad = auth_keyset_add_secret(sets[SET_KID_JWKS], "hs", AUTH_ALG_HS256,
	    secret32, 32, err, sizeof(err));
	bad |= auth_keyset_add_jwks(sets[SET_KID_JWKS], ba_eddsa_jwks,
	    strlen(ba_eddsa_jwks), err, sizeof(err));
	bad |= auth_keyset_add_jwks(sets[SET_KID_JWKS], ba_es256_jwks,
	    strlen(ba_es256_jwks), err, sizeof(err));
	is_int(bad, 0, "kid'd secret + JWKS rebuilt");

	for (i = 0; i < sizeof(sel_cases) / sizeof(sel_cases[0]); i++) {
		const struct sel_case *c = &sel_cases[i];
		const struct auth_key *k = NULL;
		enum auth_status st;

		st = auth_keyset_select(sets[c->set], c->alg, c->kid,
		    c->kid ? strlen(c->kid) : 0, c->kid != NULL, &k);
		is_int(st, c->want, "select [%s] %s kid %s", set_names[c->set],
		    auth_alg_str(c->alg) ? auth_alg_str(c->alg) : "none",
		    c->kid ? c->kid : "(none)");
		if (c->want != AUTH_OK)
			continue;
		ok(k != NULL && k->alg == c->alg &&
		        k->has_kid == (c->want_kid[0] != '\0') &&
		        k->kid_len == strlen(c->want_kid) &&
		        memcmp(k->kid, c->want_kid, k->kid_len) == 0,
		    "  chose the key with kid \"%s\"", c->want_kid);
	}
	for (i = 0; i < SET_N; i++)
		auth_keyset_free(sets[i]);
}

int
main(void)
{
	test_algs();
	test_secrets();
	test_pems();
	test_jwks();
	test_select();
	return tap_done();
}
