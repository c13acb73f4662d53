/* SPDX-License-Identifier: MIT */
/* Strict JWS compact parsing and verification (RFC 7515, 7519, 8725). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Decoded parts are at most 3/4 of the token. */
#define PART_MAX (AUTH_MAX_TOKEN_LEN / 4 * 3 + 3)

/*
 * Nesting depth of |text|, counting '{' and '[' outside strings; more than
 * |max| stops the scan early. Run before jansson so that a deep document
 * costs a linear scan, not a recursive parse.
 */
static bool
json_depth_ok(const char *text, size_t len, int max)
{
	bool in_str = false, esc = false;
	int depth = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = text[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				return false;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return true;
}

static json_malloc_t prev_malloc; /* jansson's allocator before auth_init */
static json_free_t prev_free;
static _Thread_local bool json_oom;

static void *
oom_noting_malloc(size_t n)
{
	void *p = prev_malloc(n);

	if (p == NULL)
		json_oom = true;
	return p;
}

void
auth_init(void)
{
	if (prev_malloc != NULL)
		return;
	json_object_seed(0);
	json_get_alloc_funcs(&prev_malloc, &prev_free);
	if (prev_malloc == NULL || prev_free == NULL) {
		prev_malloc = malloc;
		prev_free = free;
	}
	json_set_alloc_funcs(oom_noting_malloc, prev_free);
}

void
auth_json_oom_reset(void)
{
	json_oom = false;
}

bool
auth_json_oom(void)
{
	return json_oom;
}

/* auth_json_parse_object, telling AUTH_MALFORMED from running out of
 * memory (AUTH_INTERNAL) in |st|. */
static json_t *
parse_object(const char *text, size_t len, enum auth_status *st)
{
	json_error_t e;
	json_t *j;

	*st = AUTH_MALFORMED;
	if (text == NULL || len == 0)
		return NULL;
	if (!json_depth_ok(text, len, AUTH_MAX_JSON_DEPTH))
		return NULL;
	/* Duplicate members are how {"alg":"none","alg":"HS256"} and a
	 * second "sub" smuggle a value past one reader (RFC 7515 §5.2:
	 * reject or use the last; we reject). Strings with \u0000 are
	 * refused too (no JSON_ALLOW_NUL). */
	json_oom = false;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	if (json_oom) {
		/* Even a document jansson returned may be corrupt. */
		json_decref(j);
		*st = AUTH_INTERNAL;
		return NULL;
	}
	if (j == NULL) {
		if (json_error_code(&e) == json_error_out_of_memory)
			*st = AUTH_INTERNAL;
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	*st = AUTH_OK;
	return j;
}

json_t *
auth_json_parse_object(const char *text, size_t len)
{
	enum auth_status st;

	return parse_object(text, len, &st);
}

/* Reads the protected header: alg, kid, typ, crit (RFC 7515 §4.1). */
static enum auth_status
parse_header(json_t *hdr, enum auth_alg *alg, const char **kid, size_t *kid_len,
    bool *has_kid)
{
	json_t *v;

	v = json_object_get(hdr, "alg");
	if (!json_is_string(v))
		return AUTH_MALFORMED;
	/* Case-sensitive, "none" never (RFC 8725 §3.1-3.2). */
	*alg = auth_alg_from_str(json_string_value(v), json_string_length(v));
	if (*alg == AUTH_ALG_INVALID)
		return AUTH_ALG_REJECTED;
	/* RFC 7515 §4.1.11: a recipient that does not understand a listed
	 * extension must reject; we understand none. */
	if (json_object_get(hdr, "crit") != NULL)
		return AUTH_CRIT_UNSUPPORTED;
	v = json_object_get(hdr, "typ");
	if (v != NULL && !json_is_string(v))
		return AUTH_MALFORMED;
	*has_kid = false;
	v = json_object_get(hdr, "kid");
	if (v != NULL) {
		if (!json_is_string(v) ||
		    json_string_length(v) > AUTH_MAX_KID_LEN)
			return AUTH_MALFORMED;
		*kid = json_string_value(v);
		*kid_len = json_string_length(v);
		*has_kid = true;
	}
	/* jku, x5u, jwk and x5c are never read: keys come from config. */
	return AUTH_OK;
}

enum auth_status
auth_jwt_verify(const struct auth_policy *p, const char *token,
    size_t token_len, int64_t now, struct auth_claims *out)
{
	unsigned char hbuf[PART_MAX], sbuf[PART_MAX], pbuf[PART_MAX];
	const char *dot1, *dot2, *kid = NULL;
	const struct auth_key *key = NULL;
	size_t hlen, slen, plen, kid_len = 0;
	json_t *hdr = NULL, *payload = NULL;
	enum auth_alg alg = AUTH_ALG_INVALID;
	enum auth_status st;
	bool has_kid = false;

	if (p == NULL || p->keys == NULL || out == NULL)
		return AUTH_INTERNAL;
	if (token == NULL || token_len == 0)
		return AUTH_NO_TOKEN;
	/* Limits first, before any other work. */
	if (token_len > AUTH_MAX_TOKEN_LEN)
		return AUTH_TOO_LARGE;
	/* RFC 7515 §7.1: exactly three parts. A JWE has five. */
	dot1 = memchr(token, '.', token_len);
	if (dot1 == NULL)
		return AUTH_MALFORMED;
	dot2 = memchr(dot1 + 1, '.', token_len - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL ||
	    memchr(dot2 + 1, '.', token_len - (size_t)(dot2 + 1 - token)))
		return AUTH_MALFORMED;
	if (dot1 == token || dot2 == dot1 + 1)
		return AUTH_MALFORMED;
	if (b64url_decode(token, (size_t)(dot1 - token), hbuf, sizeof(hbuf),
	        &hlen) == -1)
		return AUTH_MALFORMED;
	hdr = parse_object((const char *)hbuf, hlen, &st);
	if (hdr == NULL)
		return st;
	st = parse_header(hdr, &alg, &kid, &kid_len, &has_kid);
	if (st != AUTH_OK)
		goto out;
	/* An empty signature is what alg "none" leaves (RFC 7519 §6.1). */
	slen = token_len - (size_t)(dot2 + 1 - token);
	if (slen == 0 ||
	    b64url_decode(dot2 + 1, slen, sbuf, sizeof(sbuf), &slen) == -1 ||
	    slen == 0) {
		st = AUTH_MALFORMED;
		goto out;
	}
	st = auth_keyset_select(p->keys, alg, kid, kid_len, has_kid, &key);
	if (st != AUTH_OK)
		goto out;
	/* The payload is only base64url-checked before the signature; it is
	 * parsed only once it is known to come from the key holder. */
	if (b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), pbuf,
	        sizeof(pbuf), &plen) == -1) {
		st = AUTH_MALFORMED;
		goto out;
	}
	/* The signing input is the ASCII of header "." payload (§5.2). */
	st = auth_sig_verify(key, (const unsigned char *)token,
	    (size_t)(dot2 - token), sbuf, slen);
	if (st != AUTH_OK)
		goto out;
	payload = parse_object((const char *)pbuf, plen, &st);
	if (payload == NULL)
		goto out;
	st = auth_claims_from_json(p, payload, now, true, out);
	if (st == AUTH_OK)
		out->alg = alg;
out:
	json_decref(payload);
	json_decref(hdr);
	return st;
}
