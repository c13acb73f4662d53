/* SPDX-License-Identifier: MIT */
/* Verifies real Better Auth 1.7.25 tokens and cookies (tests/data/betterauth).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "tap.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must be defined"
#endif

#define LEEWAY 60

static const char *const fixtures[] = {
    "eddsa",
    "es256",
    "es512",
    "rs256",
    "ps256",
};
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

struct fixture {
	const char *name;
	json_t *root;
	const char *alg;
	char *jwks; /* compact JSON text */
	const char *token;
	const char *sub;
	const char *iss;
	const char *aud;
	int64_t iat;
	int64_t exp;
	const char *secret;
	const char *session_token_cookie;
	const char *session_token;
	const char *sd_jwt;
	int64_t sd_jwt_iat;
	int64_t sd_jwt_exp;
	const char *sd_compact;
	const char *sd_compact_sub;
	int64_t sd_compact_expires_at; /* milliseconds */
};

static struct fixture fx[N_FIXTURES];

/* ------------------------------------------------------------ test helpers */

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL) {
		printf("Bail out! fixture field %s missing\n", k);
		exit(1);
	}
	return s;
}

static int64_t
jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v)) {
		printf("Bail out! fixture field %s missing\n", k);
		exit(1);
	}
	return (int64_t)json_integer_value(v);
}

static void
fixture_load(struct fixture *f, const char *name)
{
	char path[512];
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/betterauth/%s.json", TEST_DATA_DIR,
	    name);
	f->name = name;
	f->root = json_load_file(path, 0, &jerr);
	if (f->root == NULL) {
		printf("Bail out! %s: %s\n", path, jerr.text);
		exit(1);
	}
	f->alg = jstr(f->root, "alg");
	f->jwks = json_dumps(json_object_get(f->root, "jwks"), JSON_COMPACT);
	if (f->jwks == NULL) {
		printf("Bail out! %s: no jwks\n", path);
		exit(1);
	}
	f->token = jstr(f->root, "token");
	f->sub = jstr(f->root, "sub");
	f->iss = jstr(f->root, "iss");
	f->aud = jstr(f->root, "aud");
	f->iat = jint(f->root, "iat");
	f->exp = jint(f->root, "exp");
	f->secret = jstr(f->root, "secret");
	f->session_token_cookie = jstr(f->root, "session_token_cookie");
	f->session_token = jstr(f->root, "session_token");
	f->sd_jwt = jstr(f->root, "session_data_jwt");
	f->sd_jwt_iat = jint(f->root, "session_data_jwt_iat");
	f->sd_jwt_exp = jint(f->root, "session_data_jwt_exp");
	f->sd_compact = jstr(f->root, "session_data_compact");
	f->sd_compact_sub = jstr(f->root, "session_data_compact_sub");
	f->sd_compact_expires_at =
	    jint(f->root, "session_data_compact_expires_at");
}

static void
fixture_free(struct fixture *f)
{
	free(f->jwks);
	json_decref(f->root);
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	return d;
}

/* A different base64url character at |s[i]|, so the decoded bits change. */
static void
flip_b64_char(char *s, size_t i)
{
	s[i] = s[i] == 'A' ? 'B' : 'A';
}

/* Changes an interior character of the |part|th dot-separated part. */
static char *
tamper_part(const char *token, int part)
{
	char *t = xstrdup(token);
	char *p = t;
	char *end;

	for (int i = 0; i < part; i++)
		p = strchr(p, '.') + 1;
	end = strchr(p, '.');
	if (end == NULL)
		end = p + strlen(p);
	/* The middle: never the last character, whose low bits may be
	 * padding (base64 of a 32-byte signature leaves 2 unused bits). */
	flip_b64_char(p, (size_t)(end - p) / 2);
	return t;
}

static const char b64u_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Independent base64url helpers, so tampering does not lean on the
 * library under test. */
static size_t
b64u_dec(const char *in, size_t n, unsigned char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		const char *c = strchr(b64u_alphabet, in[i]);

		if (c == NULL || in[i] == '\0')
			return (size_t)-1;
		acc = (acc << 6) | (uint32_t)(c - b64u_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

static size_t
b64u_enc(const unsigned char *in, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64u_alphabet[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = b64u_alphabet[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return o;
}

/*
 * Decodes the base64url text [p, p+n), replaces the first "Fixture User"
 * by "Fixture Usex" (still valid JSON, so only the signature can catch
 * it) and returns the re-encoded text, or NULL.
 */
static char *
b64u_edit_name(const char *p, size_t n)
{
	unsigned char *raw = malloc(n + 1);
	char *enc = malloc(n * 2 + 8);
	char *hit;
	size_t len;

	if (raw == NULL || enc == NULL)
		goto fail;
	len = b64u_dec(p, n, raw);
	if (len == (size_t)-1)
		goto fail;
	raw[len] = '\0';
	hit = strstr((char *)raw, "Fixture User");
	if (hit == NULL)
		goto fail;
	hit[11] = 'x';
	b64u_enc(raw, len, enc);
	free(raw);
	return enc;
fail:
	free(raw);
	free(enc);
	return NULL;
}

/* |token| with its |part|th part's JSON edited by b64u_edit_name. */
static char *
tamper_json(const char *token, int part)
{
	const char *p = token;
	const char *end;
	char *mid, *out;
	size_t n;

	for (int i = 0; i < part; i++)
		p = strchr(p, '.') + 1;
	end = strchr(p, '.');
	if (end == NULL)
		end = p + strlen(p);
	mid = b64u_edit_name(p, (size_t)(end - p));
	if (mid == NULL)
		return NULL;
	n = (size_t)(p - token) + strlen(mid) + strlen(end) + 1;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%.*s%s%s", (int)(p - token), token, mid, end);
	free(mid);
	return out;
}

/* decodeURIComponent for the fixture's cookie; the result is shorter. */
static size_t
pct_decode(const char *in, char *out)
{
	size_t o = 0;

	for (size_t i = 0; in[i] != '\0'; i++) {
		if (in[i] == '%' &&
		    auth_hexval((unsigned char)in[i + 1]) >= 0 &&
		    auth_hexval((unsigned char)in[i + 2]) >= 0) {
			out[o++] =
			    (char)(auth_hexval((unsigned char)in[i + 1]) * 16 +
			        auth_hexval((unsigned char)in[i + 2]));
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return o;
}

static bool
view_inside(struct auth_view v, const char *buf, size_t len)
{
	return v.ptr >= buf && v.len <= len &&
	    (size_t)(v.ptr - buf) <= len - v.len;
}

static void
policy_init(struct auth_policy *p, const struct auth_keyset *ks,
    const char *iss, const char *aud)
{
	memset(p, 0, sizeof(*p));
	p->keys = ks;
	p->issuer = iss;
	p->audience = aud;
	p->leeway = LEEWAY;
}

static enum auth_status
verify(const struct auth_policy *p, const char *tok, int64_t now,
    struct auth_claims *c)
{
	return auth_jwt_verify(p, tok, strlen(tok), now, c);
}

/* ------------------------------------------------------ the /token JWT */

static void
test_jwt(const struct fixture *f, struct auth_keyset *const *all)
{
	struct auth_keyset *ks = auth_keyset_new();
	struct auth_policy p;
	struct auth_claims c;
	char err[256] = "";
	char email[256];
	size_t email_len = 0;
	char *bad;
	json_t *payload_email;
	enum auth_status st;

	ok(ks != NULL, "%s: keyset_new", f->name);
	if (ks == NULL)
		return;
	is_int(auth_keyset_add_jwks(ks, f->jwks, strlen(f->jwks), err,
	           sizeof(err)),
	    0, "%s: JWKS from /api/auth/jwks loads (%s)", f->name, err);
	is_int(auth_keyset_count(ks), 1, "%s: one key", f->name);
	policy_init(&p, ks, f->iss, f->aud);
	p.keep_claims[0] = "email";
	p.n_keep_claims = 1;

	memset(&c, 0, sizeof(c));
	st = verify(&p, f->token, f->iat + 1, &c);
	is_int(st, AUTH_OK, "%s: real token verifies at iat+1 (%s)", f->name,
	    auth_status_str(st));
	is_str(c.sub, f->sub, "%s: sub is the user id", f->name);
	is_int(c.sub_len, strlen(f->sub), "%s: sub_len", f->name);
	is_int(c.exp, f->exp, "%s: exp", f->name);
	is_int(c.iat, f->iat, "%s: iat", f->name);
	is_str(auth_alg_str(c.alg), f->alg, "%s: alg pinned from the JWK",
	    f->name);
	/* The kept claim must equal the e-mail in the token's payload
	 * (the fixture keeps it only there). */
	payload_email = NULL;
	{
		const char *p1 = strchr(f->token, '.') + 1;
		const char *p2 = strchr(p1, '.');
		unsigned char raw[4096];
		size_t n = b64u_dec(p1, (size_t)(p2 - p1), raw);
		json_t *pl = n == (size_t)-1
		    ? NULL
		    : json_loadb((const char *)raw, n, 0, NULL);

		if (pl != NULL)
			payload_email =
			    json_incref(json_object_get(pl, "email"));
		json_decref(pl);
	}
	ok(st == AUTH_OK &&
	        auth_claims_get(&c, "email", email, sizeof(email),
	            &email_len) == 0 &&
	        payload_email != NULL &&
	        email_len == strlen(json_string_value(payload_email)) &&
	        memcmp(email, json_string_value(payload_email), email_len) == 0,
	    "%s: kept claim email matches the payload", f->name);
	json_decref(payload_email);

	st = verify(&p, f->token, f->exp - 1, &c);
	is_int(st, AUTH_OK, "%s: valid at exp-1", f->name);
	st = verify(&p, f->token, f->exp + LEEWAY + 1, &c);
	is_int(st, AUTH_EXPIRED, "%s: expired at exp+leeway+1", f->name);

	bad = tamper_part(f->token, 2);
	st = verify(&p, bad, f->iat + 1, &c);
	is_int(st, AUTH_BAD_SIGNATURE, "%s: interior signature char changed",
	    f->name);
	free(bad);

	bad = tamper_part(f->token, 1);
	st = verify(&p, bad, f->iat + 1, &c);
	ok(st == AUTH_BAD_SIGNATURE || st == AUTH_MALFORMED,
	    "%s: interior payload char changed: rejected (%s)", f->name,
	    auth_status_str(st));
	free(bad);

	bad = tamper_json(f->token, 1);
	ok(bad != NULL, "%s: payload re-encoded with another name", f->name);
	if (bad != NULL) {
		st = verify(&p, bad, f->iat + 1, &c);
		is_int(st, AUTH_BAD_SIGNATURE,
		    "%s: well-formed edited payload: bad signature", f->name);
		free(bad);
	}

	p.audience = "http://127.0.0.1:1";
	st = verify(&p, f->token, f->iat + 1, &c);
	is_int(st, AUTH_CLAIM_MISMATCH, "%s: wrong audience", f->name);
	p.audience = f->aud;
	p.issuer = "https://evil.example";
	st = verify(&p, f->token, f->iat + 1, &c);
	is_int(st, AUTH_CLAIM_MISMATCH, "%s: wrong issuer", f->name);
	p.issuer = f->iss;

	/* Every other run's JWKS has another kid: never a match. */
	for (size_t i = 0; i < N_FIXTURES; i++) {
		struct auth_policy q;

		if (all[i] == NULL || strcmp(fixtures[i], f->name) == 0)
			continue;
		policy_init(&q, all[i], f->iss, f->aud);
		st = verify(&q, f->token, f->iat + 1, &c);
		is_int(st, AUTH_KEY_UNKNOWN, "%s: token against %s's JWKS",
		    f->name, fixtures[i]);
	}
	auth_keyset_free(ks);
}

/* ------------------------------------------- the session_token cookie */

static void
test_session_token(const struct fixture *f)
{
	size_t n = strlen(f->session_token_cookie);
	char *dec = malloc(n + 1);
	char *hdr = malloc(n + 64);
	char found[AUTH_MAX_COOKIE_VALUE_LEN + 1];
	size_t found_len = 0, dec_len, secret_len = strlen(f->secret);
	struct auth_view tok = {NULL, 0}, hv;
	enum auth_status st;
	char *dot;

	if (dec == NULL || hdr == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	dec_len = pct_decode(f->session_token_cookie, dec);
	ok(strchr(f->session_token_cookie, '%') != NULL,
	    "%s: the Set-Cookie value is percent-encoded", f->name);

	/* The library's cookie reader decodes it the same way. */
	snprintf(hdr, n + 64, "other=1; better-auth.session_token=%s; x=y",
	    f->session_token_cookie);
	hv.ptr = hdr;
	hv.len = strlen(hdr);
	st = auth_cookie_find(&hv, 1, "better-auth.session_token", found,
	    sizeof(found), &found_len);
	is_int(st, AUTH_OK, "%s: auth_cookie_find finds the cookie", f->name);
	ok(st == AUTH_OK && found_len == dec_len &&
	        memcmp(found, dec, dec_len) == 0,
	    "%s: auth_cookie_find percent-decodes like decodeURIComponent",
	    f->name);

	st = auth_ba_session_token_check((const unsigned char *)f->secret,
	    secret_len, dec, dec_len, &tok);
	is_int(st, AUTH_OK, "%s: session_token HMAC verifies (%s)", f->name,
	    auth_status_str(st));
	ok(st == AUTH_OK && view_inside(tok, dec, dec_len) &&
	        tok.len == strlen(f->session_token) &&
	        memcmp(tok.ptr, f->session_token, tok.len) == 0,
	    "%s: token view is the raw session token, inside the value",
	    f->name);

	st = auth_ba_session_token_check((const unsigned char *)"wrong", 5, dec,
	    dec_len, &tok);
	/* A secret under AUTH_MIN_SECRET_LEN is the caller's error: any
	 * status but AUTH_OK (session.c answers AUTH_INTERNAL). */
	ok(st != AUTH_OK && st < AUTH_STATUS_MAX,
	    "%s: a short wrong secret never verifies (%s)", f->name,
	    auth_status_str(st));
	{
		char *ws = xstrdup(f->secret);

		ws[0] = ws[0] == 'a' ? 'b' : 'a';
		st = auth_ba_session_token_check((const unsigned char *)ws,
		    secret_len, dec, dec_len, &tok);
		is_int(st, AUTH_BAD_SIGNATURE, "%s: wrong secret", f->name);
		free(ws);
	}

	/* Tamper the token part and, separately, the signature. */
	dec[dec_len / 4] = dec[dec_len / 4] == 'a' ? 'b' : 'a';
	st = auth_ba_session_token_check((const unsigned char *)f->secret,
	    secret_len, dec, dec_len, &tok);
	is_int(st, AUTH_BAD_SIGNATURE, "%s: tampered token part", f->name);
	dec_len = pct_decode(f->session_token_cookie, dec);
	dot = strrchr(dec, '.');
	dot[10] = dot[10] == 'a' ? 'b' : 'a';
	st = auth_ba_session_token_check((const unsigned char *)f->secret,
	    secret_len, dec, dec_len, &tok);
	is_int(st, AUTH_BAD_SIGNATURE, "%s: tampered signature", f->name);
	free(dec);
	free(hdr);
}

/* ----------------------------------------- the session_data cookie, jwt */

static void
test_session_data_jwt(const struct fixture *f)
{
	struct auth_keyset *ks = auth_keyset_new();
	struct auth_policy p;
	struct auth_claims c;
	char err[256] = "";
	enum auth_status st;
	char *bad;

	ok(ks != NULL, "%s: keyset_new", f->name);
	if (ks == NULL)
		return;
	is_int(auth_keyset_add_secret(ks, NULL, AUTH_ALG_HS256,
	           (const unsigned char *)f->secret, strlen(f->secret), err,
	           sizeof(err)),
	    0, "%s: raw secret as HS256 key (%s)", f->name, err);
	policy_init(&p, ks, NULL, NULL);
	p.subject_path = "session.userId";

	memset(&c, 0, sizeof(c));
	st = verify(&p, f->sd_jwt, f->sd_jwt_iat + 1, &c);
	is_int(st, AUTH_OK, "%s: session_data (jwt) verifies (%s)", f->name,
	    auth_status_str(st));
	is_str(c.sub, f->sub, "%s: session.userId is the user id", f->name);
	is_int(c.alg, AUTH_ALG_HS256, "%s: HS256", f->name);
	is_int(c.exp, f->sd_jwt_exp, "%s: session_data exp", f->name);
	st = verify(&p, f->sd_jwt, f->sd_jwt_exp + LEEWAY + 1, &c);
	is_int(st, AUTH_EXPIRED, "%s: session_data (jwt) expires", f->name);

	p.subject_path = NULL;
	st = verify(&p, f->sd_jwt, f->sd_jwt_iat + 1, &c);
	is_int(st, AUTH_NO_SUBJECT, "%s: no top-level sub in session_data",
	    f->name);
	p.subject_path = "session.userId";

	bad = tamper_part(f->sd_jwt, 2);
	st = verify(&p, bad, f->sd_jwt_iat + 1, &c);
	is_int(st, AUTH_BAD_SIGNATURE, "%s: session_data signature changed",
	    f->name);
	free(bad);
	bad = tamper_json(f->sd_jwt, 1);
	ok(bad != NULL, "%s: session_data payload re-encoded", f->name);
	if (bad != NULL) {
		st = verify(&p, bad, f->sd_jwt_iat + 1, &c);
		is_int(st, AUTH_BAD_SIGNATURE,
		    "%s: session_data payload edited", f->name);
		free(bad);
	}
	auth_keyset_free(ks);
}

/* -------------------------------------- the session_data cookie, compact */

static void
test_session_data_compact(const struct fixture *f)
{
	const unsigned char *sec = (const unsigned char *)f->secret;
	size_t sec_len = strlen(f->secret);
	const char *v = f->sd_compact;
	size_t v_len = strlen(v);
	int64_t exp_s = f->sd_compact_expires_at / 1000;
	struct auth_policy p;
	struct auth_claims c;
	enum auth_status st;
	char *bad, *ws;

	policy_init(&p, NULL, NULL, NULL);
	memset(&c, 0, sizeof(c));
	st =
	    auth_ba_compact_verify(&p, sec, sec_len, v, v_len, exp_s - 200, &c);
	is_int(st, AUTH_OK, "%s: compact session_data verifies (%s)", f->name,
	    auth_status_str(st));
	is_str(c.sub, f->sd_compact_sub, "%s: compact subject is the user id",
	    f->name);
	p.subject_path = "session.userId";
	st = auth_ba_compact_verify(&p, sec, sec_len, v, v_len, exp_s - 1, &c);
	is_int(st, AUTH_OK, "%s: compact, explicit session.userId", f->name);
	is_str(c.sub, f->sd_compact_sub, "%s: same subject", f->name);
	st = auth_ba_compact_verify(&p, sec, sec_len, v, v_len,
	    exp_s + LEEWAY + 2, &c);
	is_int(st, AUTH_EXPIRED, "%s: compact expired after expiresAt",
	    f->name);

	ws = xstrdup(f->secret);
	ws[0] = ws[0] == 'a' ? 'b' : 'a';
	st = auth_ba_compact_verify(&p, (const unsigned char *)ws, sec_len, v,
	    v_len, exp_s - 200, &c);
	is_int(st, AUTH_BAD_SIGNATURE, "%s: compact, wrong secret", f->name);
	free(ws);

	bad = b64u_edit_name(v, v_len);
	ok(bad != NULL, "%s: compact payload re-encoded", f->name);
	if (bad != NULL) {
		st = auth_ba_compact_verify(&p, sec, sec_len, bad, strlen(bad),
		    exp_s - 200, &c);
		is_int(st, AUTH_BAD_SIGNATURE, "%s: compact, edited name",
		    f->name);
		free(bad);
	}
}

int
main(void)
{
	struct auth_keyset *all[N_FIXTURES];

	for (size_t i = 0; i < N_FIXTURES; i++) {
		char err[256] = "";

		fixture_load(&fx[i], fixtures[i]);
		all[i] = auth_keyset_new();
		if (all[i] != NULL &&
		    auth_keyset_add_jwks(all[i], fx[i].jwks, strlen(fx[i].jwks),
		        err, sizeof(err)) != 0) {
			auth_keyset_free(all[i]);
			all[i] = NULL;
		}
	}
	for (size_t i = 0; i < N_FIXTURES; i++) {
		test_jwt(&fx[i], all);
		test_session_token(&fx[i]);
		test_session_data_jwt(&fx[i]);
		test_session_data_compact(&fx[i]);
	}
	for (size_t i = 0; i < N_FIXTURES; i++) {
		auth_keyset_free(all[i]);
		fixture_free(&fx[i]);
	}
	return tap_done();
}
