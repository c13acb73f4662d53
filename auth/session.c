/* SPDX-License-Identifier: MIT */
/* Better Auth's signed session_token cookie and its compact session_data
 * cookie. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

#define BA_SIG_B64_LEN 44 /* base64std of 32 bytes, one '=' */
#define BA_MAC_LEN 32     /* HMAC-SHA256 */
#define BA_DEFAULT_SUBJECT "session.userId"

/* better-call signs "value.base64(HMAC)"; the value may itself hold dots,
 * so the signature is after the last one. NULL when there is none. */
static const char *
last_dot(const char *value, size_t value_len)
{
	size_t i;

	for (i = value_len; i > 0; i--)
		if (value[i - 1] == '.')
			return value + i - 1;
	return NULL;
}

enum auth_status
auth_ba_session_token_check(const unsigned char *secret, size_t secret_len,
    const char *value, size_t value_len, struct auth_view *out_token)
{
	unsigned char mac[64], sig[BA_MAC_LEN + 2];
	const char *dot = NULL;
	size_t i, sig_len, tok_len;
	enum auth_status st;

	if (secret == NULL || secret_len < AUTH_MIN_SECRET_LEN ||
	    out_token == NULL || (value == NULL && value_len > 0))
		return AUTH_INTERNAL;
	if (value_len > AUTH_MAX_COOKIE_VALUE_LEN)
		return AUTH_TOO_LARGE;
	if ((dot = last_dot(value, value_len)) == NULL)
		return AUTH_MALFORMED;
	tok_len = (size_t)(dot - value);
	sig_len = value_len - tok_len - 1;
	/* As better-call's getSignedCookie: exactly 44 characters ending in
	 * '=', the padded standard base64 of a SHA-256 MAC. */
	if (tok_len == 0 || sig_len != BA_SIG_B64_LEN || dot[sig_len] != '=')
		return AUTH_MALFORMED;
	if (b64std_decode(dot + 1, sig_len, sig, sizeof(sig), &i) != 0 ||
	    i != BA_MAC_LEN)
		return AUTH_MALFORMED;
	if (auth_hmac("SHA256", secret, secret_len,
	        (const unsigned char *)value, tok_len, mac) != BA_MAC_LEN) {
		st = AUTH_INTERNAL;
		goto out_cleanse;
	}
	if (CRYPTO_memcmp(mac, sig, BA_MAC_LEN) != 0) {
		st = AUTH_BAD_SIGNATURE;
		goto out_cleanse;
	}
	out_token->ptr = value;
	out_token->len = tok_len;
	st = AUTH_OK;
out_cleanse:
	OPENSSL_cleanse(mac, sizeof(mac));
	return st;
}

enum auth_status
auth_ba_session_token_check_memo(struct auth_tcache_memo *m, const char *issuer,
    const unsigned char *secret, size_t secret_len, const char *value,
    size_t value_len, struct auth_view *out_token)
{
	static const unsigned char none[AUTH_TCACHE_KEY_LEN];
	const char *dot;
	enum auth_status st;

	if (out_token != NULL &&
	    auth_tcache_memo_has(m, issuer, value, value_len) &&
	    (dot = last_dot(value, value_len)) != NULL) {
		out_token->ptr = value;
		out_token->len = (size_t)(dot - value);
		return AUTH_OK;
	}
	st = auth_ba_session_token_check(secret, secret_len, value, value_len,
	    out_token);
	if (st == AUTH_OK)
		auth_tcache_memo_set(m, issuer, value, value_len, none);
	return st;
}

/* ------------------------------------------------------------ compact */

/*
 * A minimal scanner over JSON text that jansson has already accepted
 * (strict, depth-limited): it only needs to find where a value ends, so it
 * tracks strings and brackets. Every step is bounds-checked all the same.
 */
static size_t
js_ws(const char *s, size_t len, size_t i)
{
	while (i < len &&
	    (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* |s|[|i|] is '"': returns the index after the closing quote, or 0. */
static size_t
js_string_end(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

/* Returns the index just after the value starting at |i|, or 0. */
static size_t
js_value_end(const char *s, size_t len, size_t i)
{
	size_t depth = 0;

	if (i >= len)
		return 0;
	if (s[i] == '"')
		return js_string_end(s, len, i);
	if (s[i] != '{' && s[i] != '[') {
		while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
		    s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			i++;
		return i;
	}
	while (i < len) {
		if (s[i] == '"') {
			i = js_string_end(s, len, i);
			if (i == 0)
				return 0;
			continue;
		}
		if (s[i] == '{' || s[i] == '[')
			depth++;
		else if (s[i] == '}' || s[i] == ']') {
			if (depth == 0)
				return 0;
			if (--depth == 0)
				return i + 1;
		}
		i++;
	}
	return 0;
}

/*
 * Finds the raw text of top-level member |key| of the object |s| (the key
 * spelled without escapes). Returns 0 and the span, or -1. jansson rejected
 * duplicates, so a key spelled with escapes would be the only one, which
 * leaves no raw spelling here and fails closed.
 */
static int
js_member_span(const char *s, size_t len, const char *key, size_t *out_off,
    size_t *out_len)
{
	size_t i, klen = strlen(key);

	i = js_ws(s, len, 0);
	if (i >= len || s[i] != '{')
		return -1;
	i = js_ws(s, len, i + 1);
	while (i < len && s[i] == '"') {
		size_t kend = js_string_end(s, len, i), vend;
		int match;

		if (kend == 0)
			return -1;
		match =
		    kend - i - 2 == klen && memcmp(s + i + 1, key, klen) == 0;
		i = js_ws(s, len, kend);
		if (i >= len || s[i] != ':')
			return -1;
		i = js_ws(s, len, i + 1);
		vend = js_value_end(s, len, i);
		if (vend == 0)
			return -1;
		if (match) {
			*out_off = i;
			*out_len = vend - i;
			return 0;
		}
		i = js_ws(s, len, vend);
		if (i < len && s[i] == ',')
			i = js_ws(s, len, i + 1);
	}
	return -1;
}

enum auth_status
auth_ba_compact_verify(const struct auth_policy *p, const unsigned char *secret,
    size_t secret_len, const char *value, size_t value_len, int64_t now,
    struct auth_claims *out)
{
	struct auth_policy sp;
	struct auth_claims cl;
	unsigned char mac[64], sig[BA_MAC_LEN + 2];
	char *text = NULL, *msg = NULL, num[32];
	size_t text_len, text_cap, msg_len, s_off, s_len, inner, sig_len, n;
	json_t *root = NULL, *session, *jexp, *jsig;
	json_int_t exp_ms;
	int64_t leeway_ms;
	enum auth_status st;
	int k;

	if (p == NULL || out == NULL || secret == NULL ||
	    secret_len < AUTH_MIN_SECRET_LEN ||
	    (value == NULL && value_len > 0))
		return AUTH_INTERNAL;
	if (value_len > AUTH_MAX_COOKIE_VALUE_LEN)
		return AUTH_TOO_LARGE;
	if (value_len == 0)
		return AUTH_MALFORMED;
	if (now < 0 || now > INT64_MAX / 1000 - 1)
		return AUTH_INTERNAL;

	text_cap = value_len / 4 * 3 + 3;
	text = malloc(text_cap);
	if (text == NULL)
		return AUTH_INTERNAL;
	/* Strict base64url, no padding (Better Auth's base64Url encoder). */
	if (b64url_decode(value, value_len, (unsigned char *)text, text_cap,
	        &text_len) != 0) {
		st = AUTH_MALFORMED;
		goto out_free_text;
	}
	root = auth_json_parse_object(text, text_len);
	if (root == NULL) {
		/* Running out of memory is ours to answer (503), not the
		 * client's cookie. */
		st = auth_json_oom() ? AUTH_INTERNAL : AUTH_MALFORMED;
		goto out_free_text;
	}
	session = json_object_get(root, "session");
	jexp = json_object_get(root, "expiresAt");
	jsig = json_object_get(root, "signature");
	if (!json_is_object(session) || !json_is_integer(jexp) ||
	    !json_is_string(jsig)) {
		st = AUTH_MALFORMED;
		goto out_free_root;
	}
	exp_ms = json_integer_value(jexp);
	sig_len = json_string_length(jsig);
	if (b64url_decode(json_string_value(jsig), sig_len, sig, sizeof(sig),
	        &n) != 0 ||
	    n != BA_MAC_LEN) {
		st = AUTH_MALFORMED;
		goto out_free_root;
	}

	/*
	 * The MAC covers JSON.stringify({...session, expiresAt}): the raw
	 * text of the "session" member with ,"expiresAt":N spliced in
	 * before its final '}'. Re-serialising through jansson would not
	 * reproduce V8's bytes; the raw text does.
	 */
	if (js_member_span(text, text_len, "session", &s_off, &s_len) != 0 ||
	    s_len < 2 || text[s_off] != '{' || text[s_off + s_len - 1] != '}') {
		st = AUTH_MALFORMED;
		goto out_free_root;
	}
	k = snprintf(num, sizeof(num), "%" PRId64, (int64_t)exp_ms);
	if (k <= 0 || (size_t)k >= sizeof(num)) {
		st = AUTH_INTERNAL;
		goto out_free_root;
	}
	msg = malloc(s_len + sizeof(",\"expiresAt\":}") + (size_t)k);
	if (msg == NULL) {
		st = AUTH_INTERNAL;
		goto out_free_root;
	}
	msg_len = s_len - 1;
	memcpy(msg, text + s_off, msg_len);
	/* An empty object gains its only member without a comma. */
	inner = js_ws(text + s_off, s_len - 1, 1);
	if (inner == s_len - 1)
		msg_len = 1;
	else
		msg[msg_len++] = ',';
	/* msg is the HMAC input, not a string. */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(msg + msg_len, "\"expiresAt\":", 12);
	msg_len += 12;
	memcpy(msg + msg_len, num, (size_t)k);
	msg_len += (size_t)k;
	msg[msg_len++] = '}';
	if (auth_hmac("SHA256", secret, secret_len, (unsigned char *)msg,
	        msg_len, mac) != BA_MAC_LEN) {
		st = AUTH_INTERNAL;
		goto out_free_msg;
	}
	if (CRYPTO_memcmp(mac, sig, BA_MAC_LEN) != 0) {
		st = AUTH_BAD_SIGNATURE;
		goto out_free_msg;
	}

	/* expiresAt is in milliseconds; the leeway in seconds. */
	if (exp_ms <= 0) {
		st = AUTH_CLAIM_INVALID;
		goto out_free_msg;
	}
	leeway_ms = p->leeway;
	if (leeway_ms < 0)
		leeway_ms = 0;
	if (leeway_ms > INT64_MAX / 1000 / 4)
		leeway_ms = INT64_MAX / 1000 / 4;
	leeway_ms *= 1000;
	if ((int64_t)exp_ms <= now * 1000 - leeway_ms) {
		st = AUTH_EXPIRED;
		goto out_free_msg;
	}

	/*
	 * The subject and kept claims come from the session record. The
	 * cookie carries no exp, iss or aud of its own: expiresAt (checked
	 * above) is its lifetime and the HMAC secret is its issuer.
	 */
	sp = *p;
	if (sp.subject_path == NULL)
		sp.subject_path = BA_DEFAULT_SUBJECT;
	sp.exp_optional = true;
	sp.issuer = NULL;
	sp.audience = NULL;
	st = auth_claims_from_json(&sp, session, now, false, &cl);
	if (st != AUTH_OK)
		goto out_free_msg;
	cl.exp = (int64_t)(exp_ms / 1000);
	cl.alg = AUTH_ALG_HS256;
	memcpy(out, &cl, sizeof(cl));
	st = AUTH_OK;

out_free_msg:
	/* The session record holds the raw session token. */
	OPENSSL_cleanse(msg, msg_len);
	free(msg);
out_free_root:
	json_decref(root);
out_free_text:
	OPENSSL_cleanse(text, text_cap);
	free(text);
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(&cl, sizeof(cl));
	return st;
}
