/* SPDX-License-Identifier: MIT */
/* Tests for auth/jwt.c and jwt_sig.c: JWS parsing, alg pinning, interop. */
#include <stdint.h>

#include <openssl/crypto.h>

#include "crypto_testutil.h"
#include "internal.h"
#include "failalloc.h"
#include "tap.h"

#define NOW INT64_C(1795694643)
#define ISS "https://issuer.test"
#define AUD "bearerd-test"

/* --------------------------------------------------------------- fixtures */

enum ks_id {
	KS_MULTI,
	KS_HS,
	KS_RSA,
	KS_PS,
	KS_ES,
	KS_ED,
	KS_RSA_KID,
	KS_MIXED, /* a JWKS (every key with a kid) and one kid-less secret */
	KS_N
};
enum key_id {
	K_SECRET,
	K_RSA,
	K_EC256,
	K_EC384,
	K_EC521,
	K_ED,
	K_PEMTEXT,
	K_OTHER_SECRET,
	K_N
};

static struct auth_keyset *keysets[KS_N];
static EVP_PKEY *privs[K_N];
static unsigned char *secrets[K_N];
static size_t secret_lens[K_N];

enum mut {
	M_NONE,
	M_TAMPER_PAYLOAD,
	M_TAMPER_SIG,
	M_EMPTY_SIG,
	M_TWO_PARTS,
	M_FOUR_PARTS,
	M_FIVE_PARTS,
	M_PAD_SIG,
	M_PAD_HDR,
	M_PAD_PAYLOAD,
	M_PLUS_SIG,
	M_SLASH_SIG,
	M_NONCANON_SIG,
	M_EMPTY_HDR,
	M_EMPTY_PAYLOAD,
	M_SPACE_SIG,
	M_TRAILING_NL,
	M_ZERO_SIG
};

struct jcase {
	const char *name;
	enum ks_id ks;
	const char *alg; /* signer */
	enum key_id key;
	int pss_salt;
	int es_der;
	const char *hdr;
	const char *payload;
	enum mut mut;
	int64_t now; /* 0: NOW */
	enum auth_status want;
	const char *sub;
};

#define CLAIMS                                                                 \
	"\"iat\":1795690000,\"exp\":1795698243,\"iss\":\"" ISS                 \
	"\",\"aud\":\"" AUD "\""
#define P_GOOD "{\"sub\":\"user-1\"," CLAIMS "}"
#define H(alg) "{\"alg\":\"" alg "\",\"typ\":\"JWT\"}"
#define HK(alg, kid) "{\"alg\":\"" alg "\",\"kid\":\"" kid "\"}"

static const struct jcase cases[] = {
    /* Every alg, good. */
    {"HS256 single key", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"HS256 kid", KS_MULTI, "HS256", K_SECRET, 0, 0, HK("HS256", "hs256"),
        P_GOOD, M_NONE, 0, AUTH_OK, "user-1"},
    {"HS384 kid", KS_MULTI, "HS384", K_SECRET, 0, 0, HK("HS384", "hs384"),
        P_GOOD, M_NONE, 0, AUTH_OK, "user-1"},
    {"HS512 kid", KS_MULTI, "HS512", K_SECRET, 0, 0, HK("HS512", "hs512"),
        P_GOOD, M_NONE, 0, AUTH_OK, "user-1"},
    {"RS256", KS_MULTI, "RS256", K_RSA, 0, 0, HK("RS256", "rs256"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"RS384", KS_MULTI, "RS384", K_RSA, 0, 0, HK("RS384", "rs384"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"RS512", KS_MULTI, "RS512", K_RSA, 0, 0, HK("RS512", "rs512"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"PS256", KS_MULTI, "PS256", K_RSA, 0, 0, HK("PS256", "ps256"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"PS384", KS_MULTI, "PS384", K_RSA, 0, 0, HK("PS384", "ps384"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"PS512", KS_MULTI, "PS512", K_RSA, 0, 0, HK("PS512", "ps512"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"ES256", KS_MULTI, "ES256", K_EC256, 0, 0, HK("ES256", "es256"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"ES384", KS_MULTI, "ES384", K_EC384, 0, 0, HK("ES384", "es384"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"ES512", KS_MULTI, "ES512", K_EC521, 0, 0, HK("ES512", "es512"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"EdDSA", KS_MULTI, "EdDSA", K_ED, 0, 0, HK("EdDSA", "eddsa"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"RS256 PEM, no kid", KS_RSA, "RS256", K_RSA, 0, 0, H("RS256"), P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},
    {"RS256 PEM without kid, token kid", KS_RSA, "RS256", K_RSA, 0, 0,
        HK("RS256", "whatever"), P_GOOD, M_NONE, 0, AUTH_OK, "user-1"},
    {"PS256 PEM", KS_PS, "PS256", K_RSA, 0, 0, H("PS256"), P_GOOD, M_NONE, 0,
        AUTH_OK, "user-1"},
    {"ES256 PEM", KS_ES, "ES256", K_EC256, 0, 0, H("ES256"), P_GOOD, M_NONE, 0,
        AUTH_OK, "user-1"},
    {"EdDSA PEM", KS_ED, "EdDSA", K_ED, 0, 0, H("EdDSA"), P_GOOD, M_NONE, 0,
        AUTH_OK, "user-1"},
    {"typ at+jwt (RFC 9068)", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", P_GOOD, M_NONE, 0, AUTH_OK,
        "user-1"},
    {"Better Auth session-cache typ", KS_ES, "ES256", K_EC256, 0, 0,
        "{\"alg\":\"ES256\",\"typ\":\"better-auth.session-cache+jwt\"}", P_GOOD,
        M_NONE, 0, AUTH_OK, "user-1"},

    /* alg. */
    {"alg none, empty signature", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"none\"}", P_GOOD, M_EMPTY_SIG, 0, AUTH_ALG_REJECTED, NULL},
    {"alg none, HMAC signature", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"none\"}", P_GOOD, M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"alg None", KS_HS, "HS256", K_SECRET, 0, 0, "{\"alg\":\"None\"}", P_GOOD,
        M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"alg hs256 (case)", KS_HS, "HS256", K_SECRET, 0, 0, "{\"alg\":\"hs256\"}",
        P_GOOD, M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"alg unknown", KS_HS, "HS256", K_SECRET, 0, 0, "{\"alg\":\"HS1\"}", P_GOOD,
        M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"HS256 token vs RSA key", KS_RSA, "HS256", K_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"RS256->HS256 confusion, PEM as secret", KS_RSA, "HS256", K_PEMTEXT, 0, 0,
        H("HS256"), P_GOOD, M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"RS256->HS256 confusion by kid", KS_MULTI, "HS256", K_PEMTEXT, 0, 0,
        HK("HS256", "rs256"), P_GOOD, M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"RS256 token vs HMAC key", KS_HS, "RS256", K_RSA, 0, 0, H("RS256"), P_GOOD,
        M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"alg the key does not allow (RS384 vs RS256)", KS_RSA, "RS384", K_RSA, 0,
        0, H("RS384"), P_GOOD, M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"PS256 vs RS256 key", KS_RSA, "PS256", K_RSA, 0, 0, H("PS256"), P_GOOD,
        M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"kid naming a key of another alg", KS_MULTI, "RS256", K_RSA, 0, 0,
        HK("RS256", "ps256"), P_GOOD, M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"unknown kid", KS_MULTI, "RS256", K_RSA, 0, 0, HK("RS256", "nope"), P_GOOD,
        M_NONE, 0, AUTH_KEY_UNKNOWN, NULL},
    {"unknown kid, single key with kid", KS_RSA_KID, "RS256", K_RSA, 0, 0,
        HK("RS256", "nope"), P_GOOD, M_NONE, 0, AUTH_KEY_UNKNOWN, NULL},
    {"no kid, many keys", KS_MULTI, "RS256", K_RSA, 0, 0, H("RS256"), P_GOOD,
        M_NONE, 0, AUTH_KEY_UNKNOWN, NULL},
    /* Better Auth: a kid-less HS256 session_data JWT beside a JWKS. */
    {"no kid, the one kid-less key", KS_MIXED, "HS256", K_SECRET, 0, 0,
        H("HS256"), P_GOOD, M_NONE, 0, AUTH_OK, "user-1"},
    {"kid beside a kid-less key", KS_MIXED, "EdDSA", K_ED, 0, 0,
        HK("EdDSA", "eddsa"), P_GOOD, M_NONE, 0, AUTH_OK, "user-1"},
    {"no kid, RS256 picks the kid-less HS key", KS_MIXED, "RS256", K_RSA, 0, 0,
        H("RS256"), P_GOOD, M_NONE, 0, AUTH_ALG_REJECTED, NULL},
    {"no kid, forged with another secret", KS_MIXED, "HS256", K_OTHER_SECRET, 0,
        0, H("HS256"), P_GOOD, M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},

    /* Header. */
    {"crit", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", P_GOOD, M_NONE, 0,
        AUTH_CRIT_UNSUPPORTED, NULL},
    {"crit empty", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"crit\":[]}", P_GOOD, M_NONE, 0,
        AUTH_CRIT_UNSUPPORTED, NULL},
    {"b64 false with crit (RFC 7797)", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", P_GOOD, M_NONE,
        0, AUTH_CRIT_UNSUPPORTED, NULL},
    {"duplicate alg", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"none\",\"alg\":\"HS256\"}", P_GOOD, M_NONE, 0,
        AUTH_MALFORMED, NULL},
    {"alg missing", KS_HS, "HS256", K_SECRET, 0, 0, "{\"typ\":\"JWT\"}", P_GOOD,
        M_NONE, 0, AUTH_MALFORMED, NULL},
    {"alg a number", KS_HS, "HS256", K_SECRET, 0, 0, "{\"alg\":256}", P_GOOD,
        M_NONE, 0, AUTH_MALFORMED, NULL},
    {"typ a number", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"typ\":1}", P_GOOD, M_NONE, 0, AUTH_MALFORMED,
        NULL},
    {"kid a number", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"kid\":1}", P_GOOD, M_NONE, 0, AUTH_MALFORMED,
        NULL},
    {"kid of 129 bytes", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"kid\":\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
        "kkkkkkkkkkkkkkkkkkkkkk\"}",
        P_GOOD, M_NONE, 0, AUTH_MALFORMED, NULL},
    {"header an array", KS_HS, "HS256", K_SECRET, 0, 0, "[\"HS256\"]", P_GOOD,
        M_NONE, 0, AUTH_MALFORMED, NULL},
    {"header not JSON", KS_HS, "HS256", K_SECRET, 0, 0, "{alg:HS256}", P_GOOD,
        M_NONE, 0, AUTH_MALFORMED, NULL},
    {"header with \\u0000", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"x\":\"a\\u0000b\"}", P_GOOD, M_NONE, 0,
        AUTH_MALFORMED, NULL},
    {"header with trailing junk", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\"}x", P_GOOD, M_NONE, 0, AUTH_MALFORMED, NULL},
    {"embedded jwk is never used", KS_HS, "HS256", K_OTHER_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"b3RoZXI\"}}",
        P_GOOD, M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},
    {"jku and x5u ignored", KS_HS, "HS256", K_SECRET, 0, 0,
        "{\"alg\":\"HS256\",\"jku\":\"https://evil.test/jwks\","
        "\"x5u\":\"https://evil.test/c\"}",
        P_GOOD, M_NONE, 0, AUTH_OK, "user-1"},

    /* Structure and base64url. */
    {"two parts", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_TWO_PARTS, 0, AUTH_MALFORMED, NULL},
    {"four parts", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_FOUR_PARTS, 0, AUTH_MALFORMED, NULL},
    {"five parts (JWE shape)", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_FIVE_PARTS, 0, AUTH_MALFORMED, NULL},
    {"empty signature", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_EMPTY_SIG, 0, AUTH_MALFORMED, NULL},
    {"empty header", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_EMPTY_HDR, 0, AUTH_MALFORMED, NULL},
    {"empty payload", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_EMPTY_PAYLOAD, 0, AUTH_MALFORMED, NULL},
    {"signature with padding", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_PAD_SIG, 0, AUTH_MALFORMED, NULL},
    {"header with padding", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_PAD_HDR, 0, AUTH_MALFORMED, NULL},
    {"payload with padding", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_PAD_PAYLOAD, 0, AUTH_MALFORMED, NULL},
    {"'+' in signature", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_PLUS_SIG, 0, AUTH_MALFORMED, NULL},
    {"'/' in signature", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_SLASH_SIG, 0, AUTH_MALFORMED, NULL},
    {"space in signature", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_SPACE_SIG, 0, AUTH_MALFORMED, NULL},
    {"trailing newline", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), P_GOOD,
        M_TRAILING_NL, 0, AUTH_MALFORMED, NULL},
    {"non-canonical last signature char", KS_HS, "HS256", K_SECRET, 0, 0,
        H("HS256"), P_GOOD, M_NONCANON_SIG, 0, AUTH_MALFORMED, NULL},

    /* Signatures. */
    {"HS256 tampered payload", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_TAMPER_PAYLOAD, 0, AUTH_BAD_SIGNATURE, NULL},
    {"HS256 tampered signature", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_TAMPER_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"HS256 other secret", KS_HS, "HS256", K_OTHER_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},
    {"HS512 token bytes under an HS256 header", KS_HS, "HS512", K_SECRET, 0, 0,
        H("HS256"), P_GOOD, M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},
    {"RS256 tampered payload", KS_RSA, "RS256", K_RSA, 0, 0, H("RS256"), P_GOOD,
        M_TAMPER_PAYLOAD, 0, AUTH_BAD_SIGNATURE, NULL},
    {"RS256 tampered signature", KS_RSA, "RS256", K_RSA, 0, 0, H("RS256"),
        P_GOOD, M_TAMPER_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"PS256 tampered signature", KS_PS, "PS256", K_RSA, 0, 0, H("PS256"),
        P_GOOD, M_TAMPER_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"PS256 signed with salt length 64", KS_PS, "PS256", K_RSA, 64, 0,
        H("PS256"), P_GOOD, M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},
    {"PS256 signed with salt length 20", KS_PS, "PS256", K_RSA, 20, 0,
        H("PS256"), P_GOOD, M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},
    {"PS256 header, PKCS#1 v1.5 signature", KS_PS, "RS256", K_RSA, 0, 0,
        H("PS256"), P_GOOD, M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},
    {"ES256 DER signature", KS_ES, "ES256", K_EC256, 0, 1, H("ES256"), P_GOOD,
        M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},
    {"ES256 tampered payload", KS_ES, "ES256", K_EC256, 0, 0, H("ES256"),
        P_GOOD, M_TAMPER_PAYLOAD, 0, AUTH_BAD_SIGNATURE, NULL},
    {"ES256 tampered signature", KS_ES, "ES256", K_EC256, 0, 0, H("ES256"),
        P_GOOD, M_TAMPER_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"ES256 header, P-384 signature", KS_ES, "ES384", K_EC384, 0, 0, H("ES256"),
        P_GOOD, M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},
    {"EdDSA tampered payload", KS_ED, "EdDSA", K_ED, 0, 0, H("EdDSA"), P_GOOD,
        M_TAMPER_PAYLOAD, 0, AUTH_BAD_SIGNATURE, NULL},
    {"EdDSA tampered signature", KS_ED, "EdDSA", K_ED, 0, 0, H("EdDSA"), P_GOOD,
        M_TAMPER_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"HS256 all-zero signature", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_ZERO_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"RS256 all-zero signature", KS_RSA, "RS256", K_RSA, 0, 0, H("RS256"),
        P_GOOD, M_ZERO_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"PS256 all-zero signature", KS_PS, "PS256", K_RSA, 0, 0, H("PS256"),
        P_GOOD, M_ZERO_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"ES256 all-zero signature (r = s = 0)", KS_ES, "ES256", K_EC256, 0, 0,
        H("ES256"), P_GOOD, M_ZERO_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"EdDSA all-zero signature", KS_ED, "EdDSA", K_ED, 0, 0, H("EdDSA"), P_GOOD,
        M_ZERO_SIG, 0, AUTH_BAD_SIGNATURE, NULL},
    {"bad signature beats bad claims", KS_HS, "HS256", K_OTHER_SECRET, 0, 0,
        H("HS256"), "{\"sub\":1}", M_NONE, 0, AUTH_BAD_SIGNATURE, NULL},

    /* Payload and claims. */
    {"duplicate sub", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"user-1\",\"sub\":\"admin\"," CLAIMS "}", M_NONE, 0,
        AUTH_MALFORMED, NULL},
    {"sub a number", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":42," CLAIMS "}", M_NONE, 0, AUTH_NO_SUBJECT, NULL},
    {"sub empty", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"\"," CLAIMS "}", M_NONE, 0, AUTH_NO_SUBJECT, NULL},
    {"exp = -1", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"exp\":-1,\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}",
        M_NONE, 0, AUTH_EXPIRED, NULL},
    {"exp = 1e30", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"exp\":1e30,\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}",
        M_NONE, 0, AUTH_CLAIM_INVALID, NULL},
    {"exp as float", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"exp\":1795698243.0,\"iss\":\"" ISS "\",\"aud\":\"" AUD
        "\"}",
        M_NONE, 0, AUTH_CLAIM_INVALID, NULL},
    {"exp beyond int64", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"exp\":99999999999999999999,\"iss\":\"" ISS
        "\",\"aud\":\"" AUD "\"}",
        M_NONE, 0, AUTH_MALFORMED, NULL},
    {"exp missing", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}", M_NONE, 0,
        AUTH_CLAIM_MISSING, NULL},
    {"exp edge: now = exp + 30 - 1", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_NONE, 1795698243 + 29, AUTH_OK, "user-1"},
    {"exp edge: now = exp + 30", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_NONE, 1795698243 + 30, AUTH_EXPIRED, NULL},
    {"exp edge: now = exp + 30 + 1", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        P_GOOD, M_NONE, 1795698243 + 31, AUTH_EXPIRED, NULL},
    {"nbf edge: now = nbf - 30 - 1", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"nbf\":1795694643," CLAIMS "}", M_NONE,
        1795694643 - 31, AUTH_NOT_YET_VALID, NULL},
    {"nbf edge: now = nbf - 30", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"nbf\":1795694643," CLAIMS "}", M_NONE,
        1795694643 - 30, AUTH_OK, "u"},
    {"nbf edge: now = nbf - 30 + 1", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"nbf\":1795694643," CLAIMS "}", M_NONE,
        1795694643 - 29, AUTH_OK, "u"},
    {"wrong iss", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"exp\":1795698243,\"iss\":\"https://evil.test\","
        "\"aud\":\"" AUD "\"}",
        M_NONE, 0, AUTH_CLAIM_MISMATCH, NULL},
    {"wrong aud string", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"exp\":1795698243,\"iss\":\"" ISS "\","
        "\"aud\":\"other\"}",
        M_NONE, 0, AUTH_CLAIM_MISMATCH, NULL},
    {"wrong aud array", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"exp\":1795698243,\"iss\":\"" ISS "\","
        "\"aud\":[\"other\",\"bearerd\"]}",
        M_NONE, 0, AUTH_CLAIM_MISMATCH, NULL},
    {"aud array with ours", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\",\"exp\":1795698243,\"iss\":\"" ISS "\","
        "\"aud\":[\"other\",\"" AUD "\"]}",
        M_NONE, 0, AUTH_OK, "u"},
    {"payload an array", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"), "[1]",
        M_NONE, 0, AUTH_MALFORMED, NULL},
    {"payload not JSON", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":", M_NONE, 0, AUTH_MALFORMED, NULL},
    {"payload depth 17", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\"," CLAIMS ",\"d\":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}",
        M_NONE, 0, AUTH_MALFORMED, NULL},
    {"payload depth 16", KS_HS, "HS256", K_SECRET, 0, 0, H("HS256"),
        "{\"sub\":\"u\"," CLAIMS ",\"d\":[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]}",
        M_NONE, 0, AUTH_OK, "u"},
    {"brackets inside strings do not count", KS_HS, "HS256", K_SECRET, 0, 0,
        H("HS256"),
        "{\"sub\":\"u\"," CLAIMS ",\"d\":\"[[[[[[[[[[[["
        "[[[[[[[[[[[[[[\\\"[[[[\"}",
        M_NONE, 0, AUTH_OK, "u"},
};

static char *
mutate(const char *tok, enum mut m)
{
	size_t n = strlen(tok);
	char *t = malloc(n + 16);
	char *d1, *d2, *sig;
	size_t i;

	memcpy(t, tok, n + 1);
	d1 = strchr(t, '.');
	d2 = strchr(d1 + 1, '.');
	sig = d2 + 1;
	switch (m) {
	case M_NONE:
		break;
	case M_TAMPER_PAYLOAD:
		i = (size_t)(d2 - d1) / 2;
		d1[i] = d1[i] == 'A' ? 'B' : 'A';
		break;
	case M_TAMPER_SIG:
		i = strlen(sig) / 2;
		sig[i] = sig[i] == 'A' ? 'B' : 'A';
		break;
	case M_EMPTY_SIG:
		*sig = '\0';
		break;
	case M_TWO_PARTS:
		*d2 = '\0';
		break;
	case M_FOUR_PARTS:
		strcat(t, ".AAAA");
		break;
	case M_FIVE_PARTS:
		strcat(t, ".AAAA.AAAA");
		break;
	case M_PAD_SIG:
		strcat(t, "=");
		break;
	case M_PAD_HDR:
		memmove(d1 + 1, d1, strlen(d1) + 1);
		*d1 = '=';
		break;
	case M_PAD_PAYLOAD:
		memmove(d2 + 1, d2, strlen(d2) + 1);
		*d2 = '=';
		break;
	case M_PLUS_SIG:
		sig[3] = '+';
		break;
	case M_SLASH_SIG:
		sig[3] = '/';
		break;
	case M_SPACE_SIG:
		sig[3] = ' ';
		break;
	case M_TRAILING_NL:
		strcat(t, "\n");
		break;
	case M_ZERO_SIG:
		/* Same length, all zero bytes: r = s = 0, or 0 mod n. */
		memset(sig, 'A', strlen(sig));
		break;
	case M_NONCANON_SIG: {
		/* 32 bytes -> 43 chars; the last carries 2 unused bits. */
		char *last = sig + strlen(sig) - 1;
		static const char alpha[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_";
		size_t v = (size_t)(strchr(alpha, *last) - alpha);

		*last = alpha[v | 1];
		break;
	}
	case M_EMPTY_HDR:
		memmove(t, d1, strlen(d1) + 1);
		break;
	case M_EMPTY_PAYLOAD:
		memmove(d1 + 1, d2, strlen(d2) + 1);
		break;
	}
	return t;
}

static struct auth_policy
base_policy(enum ks_id ks)
{
	struct auth_policy p;

	memset(&p, 0, sizeof(p));
	p.keys = keysets[ks];
	p.issuer = ISS;
	p.audience = AUD;
	p.leeway = 30;
	return p;
}

/* Verifies |tok| from a guard-page copy. */
static enum auth_status
verify_guarded(const struct auth_policy *p, const char *tok, size_t len,
    int64_t now, struct auth_claims *out)
{
	struct tu_guard g;
	enum auth_status st;

	st = auth_jwt_verify(p, tu_guard_copy(&g, tok, len), len, now, out);
	tu_guard_free(&g);
	return st;
}

static char *
make(const struct jcase *c)
{
	struct tu_signer s;

	memset(&s, 0, sizeof(s));
	s.alg = c->alg;
	s.pk = privs[c->key];
	s.secret = secrets[c->key];
	s.secret_len = secret_lens[c->key];
	s.pss_salt = c->pss_salt;
	s.es_der = c->es_der;
	return tu_jws(&s, c->hdr, c->payload);
}

static void
test_table(void)
{
	struct auth_claims out;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct jcase *c = &cases[i];
		struct auth_policy p = base_policy(c->ks);
		char *tok = make(c), *m = mutate(tok, c->mut);
		enum auth_status st;

		memset(&out, 0x5a, sizeof(out));
		st = verify_guarded(&p, m, strlen(m), c->now ? c->now : NOW,
		    &out);
		is_int(st, c->want, "%s (%s)", c->name, auth_status_str(st));
		if (c->want == AUTH_OK && st == AUTH_OK) {
			is_str(out.sub, c->sub, "%s: sub", c->name);
			is_str(auth_alg_str(out.alg), c->alg, "%s: alg",
			    c->name);
		} else if (st != AUTH_OK) {
			ok(out.sub[0] == 0x5a &&
			        out.alg == (enum auth_alg)0x5a5a5a5a,
			    "%s: out untouched", c->name);
		}
		free(tok);
		free(m);
	}
}

static void
test_limits(void)
{
	struct auth_policy p = base_policy(KS_HS);
	struct auth_claims out;
	struct tu_signer s = {"HS256", NULL, NULL, 0, 0, 0};
	char *big, *payload, *tok = NULL, *prev = NULL;
	size_t fill;

	s.secret = secrets[K_SECRET];
	s.secret_len = secret_lens[K_SECRET];
	is_int(auth_jwt_verify(&p, NULL, 0, NOW, &out), AUTH_NO_TOKEN,
	    "NULL token");
	is_int(auth_jwt_verify(&p, "", 0, NOW, &out), AUTH_NO_TOKEN,
	    "empty token");
	is_int(auth_jwt_verify(NULL, "a.b.c", 5, NOW, &out), AUTH_INTERNAL,
	    "NULL policy");
	p.keys = NULL;
	is_int(auth_jwt_verify(&p, "a.b.c", 5, NOW, &out), AUTH_INTERNAL,
	    "policy without keys");
	p.keys = keysets[KS_HS];

	big = malloc(AUTH_MAX_TOKEN_LEN + 2);
	memset(big, 'a', AUTH_MAX_TOKEN_LEN + 1);
	big[AUTH_MAX_TOKEN_LEN + 1] = '\0';
	is_int(verify_guarded(&p, big, AUTH_MAX_TOKEN_LEN + 1, NOW, &out),
	    AUTH_TOO_LARGE, "junk one byte over the limit");
	is_int(verify_guarded(&p, big, AUTH_MAX_TOKEN_LEN, NOW, &out),
	    AUTH_MALFORMED, "junk at the limit is parsed (malformed)");
	free(big);

	/* A genuine token grown until it just passes the limit. */
	payload = malloc(AUTH_MAX_TOKEN_LEN);
	for (fill = 5000;; fill++) {
		snprintf(payload, AUTH_MAX_TOKEN_LEN,
		    "{\"sub\":\"u\"," CLAIMS ",\"pad\":\"%0*d\"}", (int)fill,
		    0);
		free(prev);
		prev = tok;
		tok = tu_jws(&s, H("HS256"), payload);
		if (strlen(tok) > AUTH_MAX_TOKEN_LEN)
			break;
	}
	ok(prev != NULL && strlen(prev) <= AUTH_MAX_TOKEN_LEN &&
	        strlen(prev) > AUTH_MAX_TOKEN_LEN - 3,
	    "largest token is %zu bytes", prev ? strlen(prev) : 0);
	is_int(verify_guarded(&p, prev, strlen(prev), NOW, &out), AUTH_OK,
	    "genuine token at the limit verifies");
	is_int(verify_guarded(&p, tok, strlen(tok), NOW, &out), AUTH_TOO_LARGE,
	    "genuine token of %zu bytes is too large", strlen(tok));
	free(prev);
	free(tok);
	free(payload);
}

/* Tokens PyJWT 2.6 signed, for every alg (tests/data/pyjwt/make.py). */
static void
test_pyjwt(void)
{
	struct auth_policy p = base_policy(KS_MULTI);
	struct auth_claims out;
	json_t *doc, *toks, *negs, *t;
	size_t len, i;
	char *text = tu_read("pyjwt/tokens.json", &len);
	int64_t now;

	doc = json_loadb(text, len, 0, NULL);
	ok(doc != NULL, "tokens.json parses");
	now = json_integer_value(json_object_get(doc, "now"));
	toks = json_object_get(doc, "tokens");
	negs = json_object_get(doc, "negatives");
	is_int(json_array_size(toks), 13, "PyJWT tokens for all 13 algs");
	json_array_foreach(toks, i, t)
	{
		const char *name =
		    json_string_value(json_object_get(t, "name"));
		const char *tok =
		    json_string_value(json_object_get(t, "token"));
		const char *tp =
		    json_string_value(json_object_get(t, "tampered_payload"));
		const char *ts =
		    json_string_value(json_object_get(t, "tampered_signature"));
		enum auth_status st;

		st = verify_guarded(&p, tok, strlen(tok), now, &out);
		is_int(st, AUTH_OK, "PyJWT %s verifies (%s)", name,
		    auth_status_str(st));
		if (st == AUTH_OK) {
			is_str(out.sub,
			    json_string_value(json_object_get(t, "sub")),
			    "PyJWT %s sub", name);
			is_str(auth_alg_str(out.alg), name, "PyJWT %s alg",
			    name);
		}
		is_int(verify_guarded(&p, tp, strlen(tp), now, &out),
		    AUTH_BAD_SIGNATURE, "PyJWT %s tampered payload", name);
		is_int(verify_guarded(&p, ts, strlen(ts), now, &out),
		    AUTH_BAD_SIGNATURE, "PyJWT %s tampered signature", name);
		is_int(verify_guarded(&p, tok, strlen(tok), 4102444800 + 30,
		           &out),
		    AUTH_EXPIRED, "PyJWT %s at exp + leeway", name);
	}
	ok(json_array_size(negs) >= 6, "hand-made negatives present");
	json_array_foreach(negs, i, t)
	{
		const char *name =
		    json_string_value(json_object_get(t, "name"));
		const char *tok =
		    json_string_value(json_object_get(t, "token"));
		const char *want =
		    json_string_value(json_object_get(t, "status"));
		enum auth_status st =
		    verify_guarded(&p, tok, strlen(tok), now, &out);

		is_str(auth_status_str(st), want, "PyJWT negative: %s", name);
	}
	json_decref(doc);
	free(text);
}

/* A real Better Auth 1.7.25 EdDSA token and its JWKS, captured from
 * /api/auth/token and /api/auth/jwks. */
static void
test_better_auth(void)
{
	static const char jwks[] =
	    "{\"keys\":[{\"alg\":\"EdDSA\",\"crv\":"
	    "\"Ed25519\",\"x\":\"AcnPY416yUKrsTbsq20Eh3BohrVvpjBsAtwZMjT8atA\","
	    "\"kty\":\"OKP\",\"kid\":\"Ze3kiQ2Fsk7nMU0sguMaOlpyJGYjvy4T\"}]}";
	static const char tok[] =
	    "eyJhbGciOiJFZERTQSIsImtpZCI6IlplM2tpUTJGc2s3"
	    "bk1VMHNndU1hT2xweUpHWWp2eTRUIn0.eyJpYXQiOjE3OTU2OTQ2NDMsIm5hbWUiOi"
	    "JQcm9iZSBVc2VyIiwiZW1haWwiOiJwcm9iZS0xNzk1Njk0NjQyNDc5LTlmYjdjZkBl"
	    "eGFtcGxlLmNvbSIsImVtYWlsVmVyaWZpZWQiOmZhbHNlLCJjcmVhdGVkQXQiOiIyMD"
	    "I2LTExLTI2VDEyOjA0OjAyLjg3NVoiLCJ1cGRhdGVkQXQiOiIyMDI2LTExLTI2VDEy"
	    "OjA0OjAyLjg3NVoiLCJpZCI6IlNkbGZXNk9OM3FXOUlabXpjeXhlTlRSTWRNM1VvVz"
	    "QzIiwic3ViIjoiU2RsZlc2T04zcVc5SVptemN5eGVOVFJNZE0zVW9XNDMiLCJleHAi"
	    "OjE3OTU2OTU1NDMsImlzcyI6Imh0dHA6Ly8xMjcuMC4wLjE6MzIwMSIsImF1ZCI6Im"
	    "h0dHA6Ly8xMjcuMC4wLjE6MzIwMSJ9.8lv39VKsd0PuFVGhQbjEGjpmqFT3Y_7vMfs"
	    "jeT37EfcZmSqhvE2zXQix1GNmywiE6lKzp-uIQ-uC00zZNGYDDA";
	struct auth_keyset *ks = auth_keyset_new();
	struct auth_policy p;
	struct auth_claims out;
	char err[256], *bad, v[64];
	size_t n;

	ok(auth_keyset_add_jwks(ks, jwks, strlen(jwks), err, sizeof(err)) == 0,
	    "Better Auth JWKS loads");
	memset(&p, 0, sizeof(p));
	p.keys = ks;
	p.issuer = "http://127.0.0.1:3201";
	p.audience = "http://127.0.0.1:3201";
	p.keep_claims[0] = "email";
	p.keep_claims[1] = "emailVerified";
	p.n_keep_claims = 2;
	is_int(verify_guarded(&p, tok, strlen(tok), 1795694700, &out), AUTH_OK,
	    "Better Auth EdDSA token verifies");
	is_str(out.sub, "SdlfW6ON3qW9IZmzcyxeNTRMdM3UoW43", "Better Auth sub");
	is_int(out.exp, 1795695543, "Better Auth exp");
	is_int(out.iat, 1795694643, "Better Auth iat");
	is_int(out.alg, AUTH_ALG_EDDSA, "Better Auth alg");
	ok(auth_claims_get(&out, "email", v, sizeof(v), &n) == 0 &&
	        strcmp(v, "probe-1795694642479-9fb7cf@example.com") == 0,
	    "Better Auth email kept");
	ok(auth_claims_get(&out, "emailVerified", v, sizeof(v), &n) == 0 &&
	        strcmp(v, "false") == 0,
	    "Better Auth emailVerified kept");
	p.leeway = 0;
	is_int(verify_guarded(&p, tok, strlen(tok), 1795695543, &out),
	    AUTH_EXPIRED, "Better Auth token at exp");
	p.audience = "http://127.0.0.1:3202";
	is_int(verify_guarded(&p, tok, strlen(tok), 1795694700, &out),
	    AUTH_CLAIM_MISMATCH, "Better Auth token, other audience");
	p.audience = NULL;
	bad = mutate(tok, M_TAMPER_SIG);
	is_int(verify_guarded(&p, bad, strlen(bad), 1795694700, &out),
	    AUTH_BAD_SIGNATURE, "Better Auth token, tampered signature");
	free(bad);
	auth_keyset_free(ks);
}

/* RFC 4231 §4.3 (test case 2) through auth_hmac. */
static void
test_hmac(void)
{
	static const struct {
		const char *md;
		const char *hex;
	} kat[] = {
	    {"SHA256",
	        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec"
	        "58b964ec3843"},
	    {"SHA384",
	        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42e"
	        "c3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
	    {"SHA512",
	        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd61027"
	        "0cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b"
	        "636e070a38bce737"},
	};
	unsigned char mac[64];
	char hex[129];
	size_t i, j, n;

	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		n = auth_hmac(kat[i].md, (const unsigned char *)"Jefe", 4,
		    (const unsigned char *)"what do ya want for nothing?", 28,
		    mac);
		for (j = 0; j < n; j++)
			sprintf(hex + 2 * j, "%02x", mac[j]);
		hex[2 * n] = '\0';
		is_str(hex, kat[i].hex, "auth_hmac %s (RFC 4231 case 2)",
		    kat[i].md);
	}
	is_int(auth_hmac("MD4X", (const unsigned char *)"k", 1,
	           (const unsigned char *)"m", 1, mac),
	    0, "auth_hmac unknown md");
	is_int(auth_hmac("SHA256", NULL, 0, (const unsigned char *)"m", 1, mac),
	    0, "auth_hmac without key");
	is_int(auth_hmac("SHA256", (const unsigned char *)"k", 1, NULL, 0, mac),
	    32, "auth_hmac of an empty message");
}

/*
 * Fails the Nth allocation for N = 0, 1, ... until a verification runs
 * without an injected failure; ASan checks that nothing leaked.
 * OpenSSL failures must give AUTH_INTERNAL, or AUTH_BAD_SIGNATURE when
 * OpenSSL's verify reports the failure without ERR_R_MALLOC_FAILURE (it
 * does, e.g. when the error record itself cannot be allocated), or be
 * tolerated by OpenSSL.
 * jansson failures must give AUTH_INTERNAL too: jansson 2.14's lexer
 * ignores a failed buffer growth and can drop a byte from a string (seen
 * here: a signed sub "user-1-with-a-longer-id-0123456789" came back as
 * "user-1-with-a-onger-id-..." with AUTH_OK), which auth_init's allocator
 * wrapper turns into AUTH_INTERNAL.
 */
#define LONG_SUB "user-1-with-a-longer-id-0123456789"

static void
test_oom(int hooked)
{
	static const struct {
		enum ks_id ks;
		const char *alg;
		enum key_id key;
		const char *hdr;
	} toks[] = {
	    {KS_HS, "HS256", K_SECRET, H("HS256")},
	    {KS_RSA, "RS256", K_RSA, H("RS256")},
	    {KS_ES, "ES256", K_EC256, H("ES256")},
	    {KS_MULTI, "PS256", K_RSA, HK("PS256", "ps256")},
	    {KS_ED, "EdDSA", K_ED, H("EdDSA")},
	};
	struct auth_claims out;
	size_t i;
	int pass;

	if (!hooked) {
		ok(1, "# SKIP OOM: allocator hooks unavailable");
		return;
	}
	for (pass = 0; pass < 2; pass++) {
		fail_ossl = pass == 0;
		fail_json = pass == 1;
		for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++) {
			struct jcase c = {"oom", toks[i].ks, toks[i].alg,
			    toks[i].key, 0, 0, toks[i].hdr,
			    "{\"sub\":\"" LONG_SUB "\"," CLAIMS
			    ",\"role\":\"x\"}",
			    M_NONE, 0, AUTH_OK, LONG_SUB};
			struct auth_policy p = base_policy(c.ks);
			char *tok = make(&c);
			long n;
			int bad = 0, runs = 0, internal = 0;
			enum auth_status st;

			p.keep_claims[0] = "role";
			p.n_keep_claims = 1;
			for (n = 0; n < 10000; n++) {
				alloc_failed = 0;
				alloc_countdown = n;
				st = auth_jwt_verify(&p, tok, strlen(tok), NOW,
				    &out);
				alloc_countdown = -1;
				runs++;
				if (st == AUTH_OK &&
				    strcmp(out.sub, LONG_SUB) != 0) {
					printf("# OOM %s at %ld: sub %s\n",
					    toks[i].alg, n, out.sub);
					bad++;
				}
				if (st == AUTH_INTERNAL)
					internal++;
				if (st != AUTH_OK && st != AUTH_INTERNAL &&
				    (pass == 1 || st != AUTH_BAD_SIGNATURE)) {
					printf("# OOM %s at %ld: %s\n",
					    toks[i].alg, n,
					    auth_status_str(st));
					bad++;
				}
				if (alloc_failed == 0) {
					if (st != AUTH_OK)
						bad++;
					break;
				}
			}
			is_int(bad, 0,
			    "OOM (%s) %s: %d runs (%d internal), "
			    "each failed closed",
			    pass == 0 ? "OpenSSL" : "jansson", toks[i].alg,
			    runs, internal);
			free(tok);
		}
	}
	fail_ossl = fail_json = 0;
}

static void
setup(void)
{
	static const char *const hs_kids[] = {"hs256", "hs384", "hs512"};
	char err[256], *pem, *jwks;
	size_t len, i;
	struct auth_keyset *ks;

	privs[K_RSA] = tu_load_priv("keys/rsa2048.pem");
	privs[K_EC256] = tu_load_priv("keys/ec256.pem");
	privs[K_EC384] = tu_load_priv("keys/ec384.pem");
	privs[K_EC521] = tu_load_priv("keys/ec521.pem");
	privs[K_ED] = tu_load_priv("keys/ed25519.pem");
	secrets[K_SECRET] =
	    (unsigned char *)tu_read("keys/hs.secret", &secret_lens[K_SECRET]);
	secrets[K_PEMTEXT] = (unsigned char *)tu_read("keys/rsa2048.pub.pem",
	    &secret_lens[K_PEMTEXT]);
	secrets[K_OTHER_SECRET] =
	    (unsigned char *)strdup("another-secret-of-more-than-32-bytes-xx");
	secret_lens[K_OTHER_SECRET] = strlen((char *)secrets[K_OTHER_SECRET]);

	for (i = 0; i < KS_N; i++)
		keysets[i] = auth_keyset_new();
	jwks = tu_read("keys/jwks.json", &len);
	ks = keysets[KS_MULTI];
	ok(auth_keyset_add_jwks(ks, jwks, len, err, sizeof(err)) == 0,
	    "setup: JWKS");
	for (i = 0; i < 3; i++)
		ok(auth_keyset_add_secret(ks, hs_kids[i],
		       (enum auth_alg)(AUTH_ALG_HS256 + i), secrets[K_SECRET],
		       secret_lens[K_SECRET], err, sizeof(err)) == 0,
		    "setup: secret %s", hs_kids[i]);
	ok(auth_keyset_add_jwks(keysets[KS_MIXED], jwks, len, err,
	       sizeof(err)) == 0,
	    "setup: mixed JWKS");
	ok(auth_keyset_add_secret(keysets[KS_MIXED], NULL, AUTH_ALG_HS256,
	       secrets[K_SECRET], secret_lens[K_SECRET], err, sizeof(err)) == 0,
	    "setup: mixed secret");
	free(jwks);
	ok(auth_keyset_add_secret(keysets[KS_HS], NULL, AUTH_ALG_HS256,
	       secrets[K_SECRET], secret_lens[K_SECRET], err, sizeof(err)) == 0,
	    "setup: HS");
	pem = tu_read("keys/rsa2048.pub.pem", &len);
	ok(auth_keyset_add_pem(keysets[KS_RSA], NULL, AUTH_ALG_RS256, pem, len,
	       err, sizeof(err)) == 0,
	    "setup: RSA PEM");
	ok(auth_keyset_add_pem(keysets[KS_PS], NULL, AUTH_ALG_PS256, pem, len,
	       err, sizeof(err)) == 0,
	    "setup: PS PEM");
	ok(auth_keyset_add_pem(keysets[KS_RSA_KID], "rsa-1", AUTH_ALG_RS256,
	       pem, len, err, sizeof(err)) == 0,
	    "setup: RSA PEM with kid");
	free(pem);
	pem = tu_read("keys/ec256.pub.pem", &len);
	ok(auth_keyset_add_pem(keysets[KS_ES], NULL, AUTH_ALG_ES256, pem, len,
	       err, sizeof(err)) == 0,
	    "setup: EC PEM");
	free(pem);
	pem = tu_read("keys/ed25519.pub.pem", &len);
	ok(auth_keyset_add_pem(keysets[KS_ED], NULL, AUTH_ALG_EDDSA, pem, len,
	       err, sizeof(err)) == 0,
	    "setup: Ed25519 PEM");
	free(pem);
}

static void
teardown(void)
{
	size_t i;

	for (i = 0; i < KS_N; i++)
		auth_keyset_free(keysets[i]);
	for (i = 0; i < K_N; i++) {
		EVP_PKEY_free(privs[i]);
		free(secrets[i]);
	}
}

int
main(void)
{
	/* Before OpenSSL allocates anything. */
	int hooked = CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free);

	json_set_alloc_funcs(j_malloc, free);
	/* Wraps j_malloc to notice failures; a second call changes nothing. */
	auth_init();
	auth_init();
	setup();
	test_table();
	test_limits();
	test_pyjwt();
	test_better_auth();
	test_hmac();
	test_oom(hooked);
	teardown();
	return tap_done();
}
