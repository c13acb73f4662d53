/* SPDX-License-Identifier: MIT */
/* Tests for auth/session.c: Better Auth's signed session_token and compact
 * session_data cookies. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "failalloc.h"
#include "tap.h"

#define NOW 1795694669 /* seconds; the vectors' session was made then */

/* ------------------------------------------------------ test vectors */

/* tests/data/session/vectors.txt, written by make_vectors.py (Python's
 * hmac/base64/json, not this code). */
static char vec_secret[128], vec_token_plain[256], vec_token_dots[256];
static char vec_compact_user[128], vec_compact2_user[128];
static char vec_compact[4096], vec_compact2[4096];
static int64_t vec_expires;

static void
load_vectors(void)
{
	char line[8192], *sp;
	FILE *f = fopen(TEST_DATA_DIR "/session/vectors.txt", "r");
	int n = 0;

	if (f == NULL) {
		printf("Bail out! cannot open " TEST_DATA_DIR
		       "/session/vectors.txt\n");
		exit(1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp++ = '\0';
#define TAKE(k, dst)                                                           \
	if (strcmp(line, k) == 0) {                                            \
		snprintf(dst, sizeof(dst), "%s", sp);                          \
		n++;                                                           \
	}
		TAKE("secret", vec_secret)
		TAKE("token_plain", vec_token_plain)
		TAKE("token_dots", vec_token_dots)
		TAKE("compact_user", vec_compact_user)
		TAKE("compact2_user", vec_compact2_user)
		TAKE("compact", vec_compact)
		TAKE("compact2", vec_compact2)
#undef TAKE
		if (strcmp(line, "compact_expires") == 0) {
			vec_expires = strtoll(sp, NULL, 10);
			n++;
		}
	}
	fclose(f);
	if (n != 8) {
		printf("Bail out! vectors.txt has %d of 8 entries\n", n);
		exit(1);
	}
}

/* ------------------------------------------------------ test helpers */

/* base64url without padding, through OpenSSL's encoder (not ours). */
static void
b64url(const unsigned char *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len), i;

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
}

static size_t
b64url_dec(const char *in, char *out)
{
	char tmp[8192];
	size_t n = strlen(in), i, pad = 0;
	int len;

	for (i = 0; i < n; i++)
		tmp[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	while (i % 4) {
		tmp[i++] = '=';
		pad++;
	}
	tmp[i] = '\0';
	len =
	    EVP_DecodeBlock((unsigned char *)out, (unsigned char *)tmp, (int)i);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (len < (int)pad)
		exit(2);
	len -= (int)pad;
	out[len] = '\0';
	return (size_t)len;
}

/*
 * A compact cookie built here: |outer_fmt| holds %s for the session text,
 * %" PRId64 " for expiresAt and a second %s for the signature. The MAC is
 * over |mac_text| when given, else over |session| with ,"expiresAt":N
 * spliced in.
 */
static void
make_compact(const char *outer_fmt, const char *session, int64_t exp,
    const char *mac_text, const char *secret, char *out)
{
	char msg[4096], json[8192], sig[64];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	size_t sl = strlen(session);

	if (mac_text == NULL) {
		if (strcmp(session, "{}") == 0)
			snprintf(msg, sizeof(msg),
			    "{\"expiresAt\":%" PRId64 "}", exp);
		else
			snprintf(msg, sizeof(msg),
			    "%.*s,\"expiresAt\":%" PRId64 "}", (int)(sl - 1),
			    session, exp);
		mac_text = msg;
	}
	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)mac_text, strlen(mac_text), mac, &mac_len);
	b64url(mac, mac_len, sig);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(json, sizeof(json), outer_fmt, session, exp, sig);
#pragma GCC diagnostic pop
	b64url((const unsigned char *)json, strlen(json), out);
}

#define STD_FMT                                                                \
	"{\"session\":%s,\"expiresAt\":%" PRId64 ",\"signature\":\"%s\"}"

static const char *SD_OK =
    "{\"session\":{\"userId\":\"user-42\",\"token\":\"tok\"},"
    "\"user\":{\"id\":\"user-42\",\"email\":\"a@example.com\"},"
    "\"role\":\"admin\",\"version\":\"1\"}";

/* ------------------------------------------------------ session_token */

struct tok_case {
	const char *name;
	const char *value;
	enum auth_status want;
	size_t tok_len;
};

static void
test_session_token(void)
{
	const unsigned char *sec = (const unsigned char *)vec_secret;
	size_t sl = strlen(vec_secret), out_len, i;
	const char *hdr =
	    "better-auth.session_token=XV6J1kDDCZL0e4XlqqGIfa1Hy"
	    "ywCBZ5S.Kiz2Zwvjrv4y24nXamHeBs2zPFHOnEaW%2BZiI0gBg30U%3D";
	struct auth_view v = {hdr, strlen(hdr)}, tok;
	char val[AUTH_MAX_COOKIE_VALUE_LEN + 1], buf[256];
	char *big;
	enum auth_status st;

	/* The real cookie from Better Auth, through the cookie parser. */
	is_int(auth_cookie_find(&v, 1, "better-auth.session_token", val,
	           sizeof(val), &out_len),
	    AUTH_OK, "real cookie: found and decoded");
	st = auth_ba_session_token_check(sec, sl, val, out_len, &tok);
	is_int(st, AUTH_OK, "real cookie: signature valid");
	ok(st == AUTH_OK && tok.ptr == val && tok.len == 32 &&
	        memcmp(tok.ptr, "XV6J1kDDCZL0e4XlqqGIfa1HyywCBZ5S", 32) == 0,
	    "real cookie: token is a view of the first 32 bytes");

	{
		/* Single edits of the Python-made values. */
		struct tok_case cases[] = {
		    {"python vector", vec_token_plain, AUTH_OK, 32},
		    {"token with dots: split at the last", vec_token_dots,
		        AUTH_OK, 5},
		    {"tampered token", NULL, AUTH_BAD_SIGNATURE, 0},
		    {"tampered signature", NULL, AUTH_BAD_SIGNATURE, 0},
		    {"short signature (43)", NULL, AUTH_MALFORMED, 0},
		    {"long signature (45)", NULL, AUTH_MALFORMED, 0},
		    {"no trailing =", NULL, AUTH_MALFORMED, 0},
		    {"== padding (31 bytes)", NULL, AUTH_MALFORMED, 0},
		    {"base64url alphabet", NULL, AUTH_MALFORMED, 0},
		    {"still percent-encoded", NULL, AUTH_MALFORMED, 0},
		    {"no dot", "XV6J1kDDCZL0e4XlqqGIfa1HyywCBZ5S",
		        AUTH_MALFORMED, 0},
		    {"empty token", NULL, AUTH_MALFORMED, 0},
		    {"empty value", "", AUTH_MALFORMED, 0},
		    {"dot only", ".", AUTH_MALFORMED, 0},
		    {"signature only, dot last", NULL, AUTH_MALFORMED, 0},
		};
		char edits[15][256];
		const char *sig = strrchr(vec_token_plain, '.') + 1;
		size_t tl = strlen(vec_token_plain);

		snprintf(edits[2], 256, "%s", vec_token_plain);
		edits[2][0] ^= 1;
		cases[2].value = edits[2];
		snprintf(edits[3], 256, "%s", vec_token_plain);
		edits[3][40] = edits[3][40] == 'A' ? 'B' : 'A';
		cases[3].value = edits[3];
		snprintf(edits[4], 256, "%.*s=", (int)(tl - 2),
		    vec_token_plain);
		cases[4].value = edits[4];
		snprintf(edits[5], 256, "%.*sA=", (int)(tl - 1),
		    vec_token_plain);
		cases[5].value = edits[5];
		snprintf(edits[6], 256, "%.*sA", (int)(tl - 1),
		    vec_token_plain);
		cases[6].value = edits[6];
		snprintf(edits[7], 256, "%.*s==", (int)(tl - 2),
		    vec_token_plain);
		cases[7].value = edits[7];
		snprintf(edits[8], 256, "%s", vec_token_plain);
		for (i = 0; edits[8][i]; i++)
			if (edits[8][i] == '+')
				edits[8][i] = '-';
		cases[8].value = edits[8];
		snprintf(edits[9], 256,
		    "XV6J1kDDCZL0e4XlqqGIfa1HyywCBZ5S."
		    "Kiz2Zwvjrv4y24nXamHeBs2zPFHOnEaW%%2BZiI0gBg30U%%3D");
		cases[9].value = edits[9];
		snprintf(edits[11], 256, ".%s", sig);
		cases[11].value = edits[11];
		snprintf(edits[14], 256, "%s.", sig);
		cases[14].value = edits[14];

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			size_t len = strlen(cases[i].value);

			/* Exactly |len| bytes, no NUL after them. */
			big = malloc(len ? len : 1);
			if (big == NULL)
				exit(2);
			memcpy(big, cases[i].value, len);
			tok.ptr = NULL;
			tok.len = 999;
			st = auth_ba_session_token_check(sec, sl, big, len,
			    &tok);
			is_int(st, cases[i].want, "session_token: %s",
			    cases[i].name);
			if (cases[i].want == AUTH_OK)
				ok(tok.ptr == big &&
				        tok.len == cases[i].tok_len,
				    "session_token: %s: token view",
				    cases[i].name);
			else
				ok(tok.ptr == NULL && tok.len == 999,
				    "session_token: %s: view untouched",
				    cases[i].name);
			free(big);
		}
	}

	/* Another secret, a short secret, an oversize value. */
	snprintf(buf, sizeof(buf), "%s", vec_secret);
	buf[0] ^= 1;
	is_int(auth_ba_session_token_check((unsigned char *)buf, sl,
	           vec_token_plain, strlen(vec_token_plain), &tok),
	    AUTH_BAD_SIGNATURE, "session_token: another secret");
	is_int(auth_ba_session_token_check(sec, AUTH_MIN_SECRET_LEN - 1,
	           vec_token_plain, strlen(vec_token_plain), &tok),
	    AUTH_INTERNAL, "session_token: secret under the minimum");
	is_int(auth_ba_session_token_check(NULL, 0, vec_token_plain,
	           strlen(vec_token_plain), &tok),
	    AUTH_INTERNAL, "session_token: no secret");
	big = malloc(AUTH_MAX_COOKIE_VALUE_LEN + 1);
	if (big == NULL)
		exit(2);
	memset(big, 'a', AUTH_MAX_COOKIE_VALUE_LEN + 1);
	memcpy(big + AUTH_MAX_COOKIE_VALUE_LEN + 1 - 45, ".", 1);
	is_int(auth_ba_session_token_check(sec, sl, big,
	           AUTH_MAX_COOKIE_VALUE_LEN + 1, &tok),
	    AUTH_TOO_LARGE, "session_token: value over the limit");
	free(big);
}

/* ------------------------------------------------------------ compact */

static struct auth_policy
policy(void)
{
	struct auth_policy p;

	memset(&p, 0, sizeof(p));
	p.leeway = 0;
	p.keep_claims[0] = "role";
	p.n_keep_claims = 1;
	return p;
}

static enum auth_status
verify(const struct auth_policy *p, const char *secret, const char *value,
    int64_t now, struct auth_claims *out)
{
	size_t len = strlen(value);
	char *copy = malloc(len ? len : 1);
	enum auth_status st;

	/* Exactly |len| bytes on the heap, so ASan sees any over-read. */
	if (copy == NULL)
		exit(2);
	memcpy(copy, value, len);
	st = auth_ba_compact_verify(p, (const unsigned char *)secret,
	    strlen(secret), copy, len, now, out);
	free(copy);
	return st;
}

static void
test_compact_vectors(void)
{
	struct auth_policy p = policy();
	struct auth_claims c;
	char role[64], json[8192], bad[8192];
	size_t rl;
	int64_t e = vec_expires / 1000;

	memset(&c, 0, sizeof(c));
	is_int(verify(&p, vec_secret, vec_compact, NOW, &c), AUTH_OK,
	    "compact (python): valid");
	is_str(c.sub, vec_compact_user, "compact (python): subject");
	is_int(c.sub_len, strlen(vec_compact_user), "compact: subject length");
	is_int(c.exp, e, "compact (python): exp is expiresAt in seconds");
	is_int(c.alg, AUTH_ALG_HS256, "compact (python): alg");
	is_str(c.extra, "{}", "compact (python): no kept claims present");

	memset(&c, 0, sizeof(c));
	is_int(verify(&p, vec_secret, vec_compact2, NOW, &c), AUTH_OK,
	    "compact2 (python, escapes and UTF-8): valid");
	is_str(c.sub, vec_compact2_user, "compact2 (python): subject");
	ok(auth_claims_get(&c, "role", role, sizeof(role), &rl) == 0 &&
	        strcmp(role, "admin") == 0,
	    "compact2 (python): kept claim role");

	/* Expiry edges: valid while expiresAt > now in ms (+ leeway). */
	is_int(verify(&p, vec_secret, vec_compact, e, &c), AUTH_OK,
	    "expiresAt - 552 ms: valid");
	is_int(verify(&p, vec_secret, vec_compact, e + 1, &c), AUTH_EXPIRED,
	    "expiresAt + 448 ms: expired");
	is_int(verify(&p, vec_secret, vec_compact, e + 86400, &c), AUTH_EXPIRED,
	    "a day later: expired");
	p.leeway = 30;
	is_int(verify(&p, vec_secret, vec_compact, e + 30, &c), AUTH_OK,
	    "leeway 30: 29.4 s late, valid");
	is_int(verify(&p, vec_secret, vec_compact, e + 31, &c), AUTH_EXPIRED,
	    "leeway 30: 30.4 s late, expired");
	p.leeway = 0;

	/* Another secret. */
	snprintf(bad, sizeof(bad), "%s", vec_secret);
	bad[3] ^= 1;
	is_int(verify(&p, bad, vec_compact, NOW, &c), AUTH_BAD_SIGNATURE,
	    "compact: another secret");

	/* Tampering with the decoded JSON: a userId byte, expiresAt. */
	b64url_dec(vec_compact, json);
	{
		char *u = strstr(json, vec_compact_user);

		ok(u != NULL, "decoded vector holds the user id");
		if (u != NULL) {
			u[0] ^= 1;
			b64url((unsigned char *)json, strlen(json), bad);
			is_int(verify(&p, vec_secret, bad, NOW, &c),
			    AUTH_BAD_SIGNATURE, "compact: tampered userId");
			u[0] ^= 1;
		}
		u = strstr(json, "\"expiresAt\":1795694966552");
		ok(u != NULL, "decoded vector holds expiresAt");
		if (u != NULL) {
			u[strlen("\"expiresAt\":1795")] = '9';
			b64url((unsigned char *)json, strlen(json), bad);
			is_int(verify(&p, vec_secret, bad, NOW, &c),
			    AUTH_BAD_SIGNATURE, "compact: later expiresAt");
		}
	}
	/* A changed signature byte. */
	b64url_dec(vec_compact, json);
	{
		char *s = strstr(json, "\"signature\":\"");

		if (s != NULL) {
			s += 13;
			s[5] = s[5] == 'A' ? 'B' : 'A';
			b64url((unsigned char *)json, strlen(json), bad);
			is_int(verify(&p, vec_secret, bad, NOW, &c),
			    AUTH_BAD_SIGNATURE, "compact: tampered signature");
		} else {
			ok(0, "decoded vector holds a signature");
		}
	}
}

struct gen_case {
	const char *name;
	const char *fmt;     /* outer JSON, see make_compact */
	const char *session; /* the session member's text */
	int64_t exp_ms;
	const char *mac_text; /* NULL: the Better Auth splice */
	const char *subject_path;
	enum auth_status want;
	const char *want_sub;
};

#define EXP_OK ((int64_t)(NOW + 300) * 1000 + 7)

static const struct gen_case gen_cases[] = {
    {"generated: valid", STD_FMT, NULL, EXP_OK, NULL, NULL, AUTH_OK, "user-42"},
    {"generated: members in another order",
        "{\"signature\":\"%3$s\",\"expiresAt\":%2$" PRId64 ",\"session\":%1$s}",
        NULL, EXP_OK, NULL, NULL, AUTH_OK, "user-42"},
    {"generated: whitespace around members",
        "{ \"session\" : %s ,\n \"expiresAt\" : %" PRId64
        " , \"signature\" : \"%s\" }",
        NULL, EXP_OK, NULL, NULL, AUTH_OK, "user-42"},
    {"generated: an unsigned extra member is ignored",
        "{\"x\":{\"session\":1},\"session\":%s,\"expiresAt\":%" PRId64
        ",\"signature\":\"%s\",\"y\":[\"}\"]}",
        NULL, EXP_OK, NULL, NULL, AUTH_OK, "user-42"},
    {"generated: subject_path user.email", STD_FMT, NULL, EXP_OK, NULL,
        "user.email", AUTH_OK, "a@example.com"},
    {"generated: MAC without the expiresAt splice", STD_FMT, NULL, EXP_OK,
        "{\"session\":{\"userId\":\"user-42\",\"token\":\"tok\"}}", NULL,
        AUTH_BAD_SIGNATURE, NULL},
    {"generated: expired by one ms", STD_FMT, NULL, (int64_t)NOW * 1000, NULL,
        NULL, AUTH_EXPIRED, NULL},
    {"generated: valid by one ms", STD_FMT, NULL, (int64_t)NOW * 1000 + 1, NULL,
        NULL, AUTH_OK, "user-42"},
    {"generated: expiresAt zero", STD_FMT, NULL, 0, NULL, NULL,
        AUTH_CLAIM_INVALID, NULL},
    {"generated: expiresAt negative", STD_FMT, NULL, -5, NULL, NULL,
        AUTH_CLAIM_INVALID, NULL},
    {"generated: no userId", STD_FMT,
        "{\"session\":{\"token\":\"t\"},\"user\":{}}", EXP_OK, NULL, NULL,
        AUTH_NO_SUBJECT, NULL},
    {"generated: empty userId", STD_FMT, "{\"session\":{\"userId\":\"\"}}",
        EXP_OK, NULL, NULL, AUTH_NO_SUBJECT, NULL},
    {"generated: numeric userId", STD_FMT, "{\"session\":{\"userId\":42}}",
        EXP_OK, NULL, NULL, AUTH_NO_SUBJECT, NULL},
    {"generated: empty session object", STD_FMT, "{}", EXP_OK, NULL, NULL,
        AUTH_NO_SUBJECT, NULL},
    {"generated: session is an array", STD_FMT, "[1]", EXP_OK, "x", NULL,
        AUTH_MALFORMED, NULL},
    {"generated: session is a string", STD_FMT, "\"{}\"", EXP_OK, "x", NULL,
        AUTH_MALFORMED, NULL},
    {"generated: duplicate session member",
        "{\"session\":%s,\"session\":{},\"expiresAt\":%" PRId64
        ",\"signature\":\"%s\"}",
        NULL, EXP_OK, NULL, NULL, AUTH_MALFORMED, NULL},
    {"generated: duplicate expiresAt",
        "{\"session\":%s,\"expiresAt\":%" PRId64
        ",\"expiresAt\":1,\"signature\":\"%s\"}",
        NULL, EXP_OK, NULL, NULL, AUTH_MALFORMED, NULL},
    {"generated: session key spelled with an escape",
        "{\"\\u0073ession\":%s,\"expiresAt\":%" PRId64 ",\"signature\":\"%s\"}",
        NULL, EXP_OK, NULL, NULL, AUTH_MALFORMED, NULL},
    {"generated: expiresAt a string",
        "{\"session\":%s,\"expiresAt\":\"%" PRId64 "\",\"signature\":\"%s\"}",
        NULL, EXP_OK, NULL, NULL, AUTH_MALFORMED, NULL},
    {"generated: expiresAt a real",
        "{\"session\":%s,\"expiresAt\":%" PRId64 ".0,\"signature\":\"%s\"}",
        NULL, EXP_OK, NULL, NULL, AUTH_MALFORMED, NULL},
    {"generated: no signature",
        "{\"session\":%s,\"expiresAt\":%" PRId64 ",\"sig\":\"%s\"}", NULL,
        EXP_OK, NULL, NULL, AUTH_MALFORMED, NULL},
    {"generated: padded signature",
        "{\"session\":%s,\"expiresAt\":%" PRId64 ",\"signature\":\"%s=\"}",
        NULL, EXP_OK, NULL, NULL, AUTH_MALFORMED, NULL},
    {"generated: short signature",
        "{\"session\":%s,\"expiresAt\":%" PRId64 ",\"signature\":\"%.42s\"}",
        NULL, EXP_OK, NULL, NULL, AUTH_MALFORMED, NULL},
    {"generated: not an object at the top",
        "[{\"session\":%s,\"expiresAt\":%" PRId64 ",\"signature\":\"%s\"}]",
        NULL, EXP_OK, NULL, NULL, AUTH_MALFORMED, NULL},
    {"generated: trailing garbage", STD_FMT "x", NULL, EXP_OK, NULL, NULL,
        AUTH_MALFORMED, NULL},
};

static void
test_compact_generated(void)
{
	struct auth_policy p = policy();
	struct auth_claims c;
	char val[8192], role[64];
	size_t i, rl;

	for (i = 0; i < sizeof(gen_cases) / sizeof(gen_cases[0]); i++) {
		const struct gen_case *tc = &gen_cases[i];
		enum auth_status st;

		make_compact(tc->fmt, tc->session ? tc->session : SD_OK,
		    tc->exp_ms, tc->mac_text, vec_secret, val);
		p.subject_path = tc->subject_path;
		memset(&c, 0x5a, sizeof(c));
		st = verify(&p, vec_secret, val, NOW, &c);
		is_int(st, tc->want, "%s", tc->name);
		if (tc->want == AUTH_OK && st == AUTH_OK) {
			is_str(c.sub, tc->want_sub, "%s: subject", tc->name);
			is_int(c.exp, tc->exp_ms / 1000, "%s: exp", tc->name);
			ok(auth_claims_get(&c, "role", role, sizeof(role),
			       &rl) == 0 &&
			        strcmp(role, "admin") == 0,
			    "%s: kept claim", tc->name);
		} else if (st != AUTH_OK) {
			ok(c.sub[0] == 0x5a &&
			        c.exp == (int64_t)0x5a5a5a5a5a5a5a5aLL,
			    "%s: out untouched", tc->name);
		}
	}
	p.subject_path = NULL;

	/* Not base64url, not JSON, empty, too large. */
	is_int(verify(&p, vec_secret, "eyJ=", NOW, &c), AUTH_MALFORMED,
	    "compact: padded base64url");
	is_int(verify(&p, vec_secret, "ey+/", NOW, &c), AUTH_MALFORMED,
	    "compact: standard base64 alphabet");
	b64url((const unsigned char *)"not json", 8, val);
	is_int(verify(&p, vec_secret, val, NOW, &c), AUTH_MALFORMED,
	    "compact: not JSON");
	is_int(verify(&p, vec_secret, "", NOW, &c), AUTH_MALFORMED,
	    "compact: empty");
	{
		char *big = malloc(AUTH_MAX_COOKIE_VALUE_LEN + 1);

		if (big == NULL)
			exit(2);
		memset(big, 'A', AUTH_MAX_COOKIE_VALUE_LEN);
		big[AUTH_MAX_COOKIE_VALUE_LEN] = '\0';
		is_int(auth_ba_compact_verify(&p,
		           (const unsigned char *)vec_secret,
		           strlen(vec_secret), big,
		           AUTH_MAX_COOKIE_VALUE_LEN + 1, NOW, &c),
		    AUTH_TOO_LARGE, "compact: over the limit");
		free(big);
	}
	is_int(auth_ba_compact_verify(&p, (const unsigned char *)vec_secret, 8,
	           vec_compact, strlen(vec_compact), NOW, &c),
	    AUTH_INTERNAL, "compact: secret under the minimum");
	is_int(auth_ba_compact_verify(NULL, (const unsigned char *)vec_secret,
	           strlen(vec_secret), vec_compact, strlen(vec_compact), NOW,
	           &c),
	    AUTH_INTERNAL, "compact: no policy");
}

/*
 * Fails the Nth OpenSSL, then jansson, allocation for N = 0, 1, ... until
 * a verification runs without an injected failure: every run must be
 * AUTH_OK with the right subject or AUTH_INTERNAL, never another verdict
 * and never a subject that was not signed; ASan checks for leaks.
 */
static void
test_oom(int hooked)
{
	struct auth_policy p = policy();
	struct auth_claims c;
	struct auth_view tok;
	int pass;

	if (!hooked) {
		ok(1, "# SKIP OOM: allocator hooks unavailable");
		return;
	}
	for (pass = 0; pass < 2; pass++) {
		int bad = 0, runs = 0, internal = 0;
		long n;
		enum auth_status st;

		fail_ossl = pass == 0;
		fail_json = pass == 1;
		for (n = 0; n < 10000; n++) {
			alloc_failed = 0;
			alloc_countdown = n;
			memset(&c, 0, sizeof(c));
			st = verify(&p, vec_secret, vec_compact2, NOW, &c);
			alloc_countdown = -1;
			runs++;
			if (st == AUTH_INTERNAL)
				internal++;
			else if (st != AUTH_OK ||
			    strcmp(c.sub, vec_compact2_user) != 0) {
				printf("# OOM at %ld: %d, sub %s\n", n, (int)st,
				    c.sub);
				bad++;
			}
			if (alloc_failed == 0)
				break;
		}
		is_int(bad, 0,
		    "OOM (%s) compact: %d runs (%d internal), each "
		    "failed closed",
		    pass == 0 ? "OpenSSL" : "jansson", runs, internal);
		ok(runs > 1, "OOM (%s) compact: failures were injected",
		    pass == 0 ? "OpenSSL" : "jansson");

		bad = runs = internal = 0;
		for (n = 0; n < 10000; n++) {
			alloc_failed = 0;
			alloc_countdown = n;
			st = auth_ba_session_token_check((const unsigned char *)
			                                     vec_secret,
			    strlen(vec_secret), vec_token_plain,
			    strlen(vec_token_plain), &tok);
			alloc_countdown = -1;
			runs++;
			if (st == AUTH_INTERNAL)
				internal++;
			else if (st != AUTH_OK)
				bad++;
			if (alloc_failed == 0)
				break;
		}
		is_int(bad, 0,
		    "OOM (%s) session_token: %d runs (%d internal), "
		    "each failed closed",
		    pass == 0 ? "OpenSSL" : "jansson", runs, internal);
	}
	fail_ossl = fail_json = 0;
}

int
main(void)
{
	/* Before OpenSSL allocates anything. */
	int hooked = CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free);

	json_set_alloc_funcs(j_malloc, free);
	/* Wraps j_malloc, so that jansson failures are noticed. */
	auth_init();
	load_vectors();
	test_session_token();
	test_compact_vectors();
	test_compact_generated();
	test_oom(hooked);
	return tap_done();
}
