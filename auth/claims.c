/* SPDX-License-Identifier: MIT */
/* JWT claims (RFC 7519 §4.1): times, iss, aud, subject, kept claims. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int64_t
sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/*
 * Reads time claim |name| (a NumericDate, RFC 7519 §2). Only a JSON integer
 * is accepted. A real, even an integral one such as 1.79e9 or 1.0, is
 * AUTH_CLAIM_INVALID: issuers we know (jose, Better Auth, PyJWT) emit
 * integers, a real has to be rounded one way or the other, and libjwt reads
 * one as 0, so readers disagree about it; refusing is the only answer that
 * cannot be turned into a longer lifetime. 1e30 is a real too.
 */
static enum auth_status
get_time(json_t *payload, const char *name, int64_t *val, bool *present)
{
	json_t *v = json_object_get(payload, name);

	*present = v != NULL;
	if (v == NULL)
		return AUTH_OK;
	if (!json_is_integer(v))
		return AUTH_CLAIM_INVALID;
	*val = (int64_t)json_integer_value(v);
	return AUTH_OK;
}

static bool
str_eq(json_t *v, const char *s)
{
	size_t n = strlen(s);

	return json_is_string(v) && json_string_length(v) == n &&
	    memcmp(json_string_value(v), s, n) == 0;
}

/* RFC 7519 §4.1.3: aud is a string or an array of strings, and ours must
 * be among them. */
static enum auth_status
check_aud(json_t *aud, const char *want)
{
	json_t *v;
	size_t i;
	bool found = false;

	if (aud == NULL)
		return AUTH_CLAIM_MISSING;
	if (json_is_string(aud))
		return str_eq(aud, want) ? AUTH_OK : AUTH_CLAIM_MISMATCH;
	if (!json_is_array(aud))
		return AUTH_CLAIM_MISMATCH;
	json_array_foreach(aud, i, v)
	{
		if (!json_is_string(v))
			return AUTH_CLAIM_MISMATCH;
		if (str_eq(v, want))
			found = true;
	}
	return found ? AUTH_OK : AUTH_CLAIM_MISMATCH;
}

/* Follows dotted |path| ("session.userId") through nested objects. */
static json_t *
get_path(json_t *obj, const char *path)
{
	const char *seg = path, *dot;
	size_t len;

	for (;;) {
		dot = strchr(seg, '.');
		len = dot ? (size_t)(dot - seg) : strlen(seg);
		if (len == 0 || !json_is_object(obj))
			return NULL;
		obj = json_object_getn(obj, seg, len);
		if (obj == NULL || dot == NULL)
			return obj;
		seg = dot + 1;
	}
}

static enum auth_status
get_subject(const struct auth_policy *p, json_t *payload, struct auth_claims *c)
{
	const char *path = p->subject_path ? p->subject_path : "sub";
	json_t *v = get_path(payload, path);
	const unsigned char *s;
	size_t n, i;

	if (!json_is_string(v))
		return AUTH_NO_SUBJECT;
	s = (const unsigned char *)json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > AUTH_MAX_SUB_LEN)
		return AUTH_NO_SUBJECT;
	/* The subject reaches logs and headers: no control bytes. */
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return AUTH_NO_SUBJECT;
	memcpy(c->sub, s, n);
	c->sub[n] = '\0';
	c->sub_len = n;
	return AUTH_OK;
}

static enum auth_status
keep_claims(const struct auth_policy *p, json_t *payload, struct auth_claims *c)
{
	json_t *extra, *v;
	size_t i, n;
	enum auth_status st = AUTH_INTERNAL;

	extra = json_object();
	if (extra == NULL)
		return AUTH_INTERNAL;
	for (i = 0; i < p->n_keep_claims && i < AUTH_MAX_KEEP_CLAIMS; i++) {
		const char *path = p->keep_claims[i], *key;

		if (path == NULL)
			continue;
		/* "user.email" is kept as "email", so one claim header or
		 * rule serves a JWT's top-level email and Better Auth's
		 * session_data alike. */
		key = strrchr(path, '.');
		key = key != NULL ? key + 1 : path;
		v = get_path(payload, path);
		if (v != NULL && json_object_set(extra, key, v))
			goto out;
	}
	/* Sorted and compact, so equal claims give equal bytes. */
	n = json_dumpb(extra, c->extra, sizeof(c->extra),
	    JSON_COMPACT | JSON_SORT_KEYS);
	if (n == 0) {
		goto out;
	} else if (n >= sizeof(c->extra)) {
		st = AUTH_TOO_LARGE;
		goto out;
	}
	c->extra[n] = '\0';
	c->extra_len = n;
	st = AUTH_OK;
out:
	json_decref(extra);
	return st;
}

enum auth_status
auth_claims_from_json(const struct auth_policy *p, json_t *payload, int64_t now,
    bool check_times, struct auth_claims *out)
{
	struct auth_claims c;
	int64_t exp = INT64_MAX, nbf = 0, iat = 0, leeway;
	bool has_exp, has_nbf, has_iat;
	enum auth_status st;

	if (p == NULL || out == NULL || !json_is_object(payload))
		return AUTH_INTERNAL;
	memset(&c, 0, sizeof(c));
	if ((st = get_time(payload, "exp", &exp, &has_exp)) != AUTH_OK ||
	    (st = get_time(payload, "nbf", &nbf, &has_nbf)) != AUTH_OK ||
	    (st = get_time(payload, "iat", &iat, &has_iat)) != AUTH_OK)
		return st;
	if (check_times) {
		leeway = p->leeway > 0 ? p->leeway : 0;
		if (!has_exp && !p->exp_optional)
			return AUTH_CLAIM_MISSING;
		/* RFC 7519 §4.1.4: valid only while now is before exp; so
		 * expired from exp + leeway on (the edge itself is out). */
		if (has_exp && now >= sat_add(exp, leeway))
			return AUTH_EXPIRED;
		/* §4.1.5: valid from nbf on; an iat in the future is as
		 * suspect (a token from a skewed or forged clock). */
		if (has_nbf && sat_add(now, leeway) < nbf)
			return AUTH_NOT_YET_VALID;
		if (has_iat && sat_add(now, leeway) < iat)
			return AUTH_NOT_YET_VALID;
	}
	c.exp = has_exp ? exp : INT64_MAX;
	c.iat = has_iat ? iat : 0;
	if (p->issuer != NULL) {
		json_t *iss = json_object_get(payload, "iss");

		if (iss == NULL)
			return AUTH_CLAIM_MISSING;
		/* §4.1.1: a case-sensitive string, compared exactly. */
		if (!str_eq(iss, p->issuer))
			return AUTH_CLAIM_MISMATCH;
	}
	if (p->audience != NULL &&
	    (st = check_aud(json_object_get(payload, "aud"), p->audience)) !=
	        AUTH_OK)
		return st;
	/* §4.1.3: a present aud that names no audience of ours MUST be
	 * rejected; with none configured, none can be ours. */
	if (p->audience == NULL && json_object_get(payload, "aud") != NULL)
		return AUTH_CLAIM_MISMATCH;
	if ((st = get_subject(p, payload, &c)) != AUTH_OK)
		return st;
	if ((st = keep_claims(p, payload, &c)) != AUTH_OK)
		return st;
	c.alg = AUTH_ALG_INVALID;
	memcpy(out, &c, sizeof(c));
	return AUTH_OK;
}

int
auth_claims_get(const struct auth_claims *c, const char *name, char *out,
    size_t out_cap, size_t *out_len)
{
	json_t *extra, *v;
	const char *s;
	size_t n;
	int rv = -1;

	if (c == NULL || name == NULL || out == NULL || out_cap == 0 ||
	    out_len == NULL || c->extra_len == 0 ||
	    c->extra_len >= sizeof(c->extra))
		return -1;
	extra = auth_json_parse_object(c->extra, c->extra_len);
	v = json_object_get(extra, name);
	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		if (n < out_cap) {
			memcpy(out, s, n);
			out[n] = '\0';
			*out_len = n;
			rv = 0;
		}
	} else if (json_is_integer(v) || json_is_real(v) ||
	    json_is_boolean(v)) {
		/* The JSON text, as it would be compared in a rule. */
		n = json_dumpb(v, out, out_cap, JSON_ENCODE_ANY | JSON_COMPACT);
		if (n > 0 && n < out_cap) {
			out[n] = '\0';
			*out_len = n;
			rv = 0;
		}
	}
	json_decref(extra);
	return rv;
}
