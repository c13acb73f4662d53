/* SPDX-License-Identifier: MIT */
/* Finds one cookie in Cookie header values and strips ours before forwarding
 * (RFC 6265 §4.2). */
#include <string.h>

#include "internal.h"

/*
 * Bytes trimmed around a cookie name. RFC 6265 §4.2.1 only has SP after
 * ';', but §5.2 and real parsers are laxer: Python's str.strip() (Starlette,
 * on latin-1 decoded headers) also drops CR, LF, VT, FF, 0x1C-0x1F, 0x85
 * and 0xA0. Names are trimmed of the same set so that "\xa0session_token"
 * is the same cookie to us as to the backend: it is then found as a
 * duplicate and stripped, never smuggled past us. Values and the pairs we
 * forward are only trimmed of SP and HTAB (RFC 7230 OWS), so that a
 * neighbour's UTF-8 value ending in 0xA0 is forwarded intact.
 */
static int
is_name_trim(unsigned char c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d) ||
	    (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0;
}

static int
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* One "name=value" pair of a Cookie header, trimmed, as views. */
struct pair {
	const char *name;
	size_t name_len;
	const char *val;
	size_t val_len;
	int has_eq;
};

static void
trim(const char **p, size_t *len, int (*is_space)(unsigned char))
{
	while (*len > 0 && is_space((unsigned char)(*p)[0])) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && is_space((unsigned char)(*p)[*len - 1]))
		(*len)--;
}

/* Splits the segment |s| (between two ';') into a trimmed pair. A segment
 * without '=' has an empty name (RFC 6265bis §5.6, as Starlette does). */
static void
pair_split(const char *s, size_t len, struct pair *out)
{
	const char *eq = memchr(s, '=', len);

	if (eq == NULL) {
		out->name = s;
		out->name_len = 0;
		out->val = s;
		out->val_len = len;
		out->has_eq = 0;
	} else {
		out->name = s;
		out->name_len = (size_t)(eq - s);
		out->val = eq + 1;
		out->val_len = len - out->name_len - 1;
		out->has_eq = 1;
	}
	trim(&out->name, &out->name_len, is_name_trim);
	trim(&out->val, &out->val_len, is_ows);
}

/* Counts the non-empty segments of header |h|; stops past the limit. */
static size_t
count_pairs(const char *h, size_t len)
{
	size_t n = 0, i = 0;

	while (i < len && n <= AUTH_MAX_COOKIES) {
		const char *semi = memchr(h + i, ';', len - i);
		size_t end = semi ? (size_t)(semi - h) : len;
		const char *s = h + i;
		size_t slen = end - i;

		trim(&s, &slen, is_ows);
		if (slen > 0)
			n++;
		i = end + 1;
	}
	return n;
}

/*
 * Percent-decodes |in| (decodeURIComponent, which Better Auth applies: '+'
 * stays '+'). Writes into |out| when it is not NULL, else compares with
 * |ref|. Returns AUTH_OK (and the length), AUTH_MALFORMED for a bad escape
 * or a control byte, AUTH_TOO_LARGE when over |cap|, or AUTH_AMBIGUOUS when
 * comparing and the bytes differ.
 */
static enum auth_status
pct_decode(const char *in, size_t len, char *out, const char *ref, size_t cap,
    size_t *out_len)
{
	size_t i, n = 0;
	enum auth_status differ = AUTH_OK;

	if (out != NULL && memchr(in, '%', len) == NULL) {
		/* No escape (a JWT never has one): the bytes as they are,
		 * in a loop the compiler can vectorise. */
		/* the bytes the loop below would look at before its cap */
		size_t m = len > cap ? cap + 1 : len;
		unsigned bad = 0;

		for (i = 0; i < m; i++) {
			unsigned char c = (unsigned char)in[i];

			bad |= (unsigned)(c < 0x20) | (unsigned)(c == 0x7f);
		}
		if (bad)
			return AUTH_MALFORMED;
		if (len > cap)
			return AUTH_TOO_LARGE;
		memcpy(out, in, len);
		*out_len = len;
		return AUTH_OK;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return AUTH_MALFORMED;
			hi = auth_hexval((unsigned char)in[i + 1]);
			lo = auth_hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return AUTH_MALFORMED;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		/* A control byte or NUL, raw or decoded, has no place in a
		 * credential and would be cut or misread downstream. */
		if (c < 0x20 || c == 0x7f)
			return AUTH_MALFORMED;
		if (n >= cap)
			return AUTH_TOO_LARGE;
		if (out != NULL)
			out[n] = (char)c;
		else if ((unsigned char)ref[n] != c)
			differ = AUTH_AMBIGUOUS;
		n++;
	}
	*out_len = n;
	return differ;
}

/* Whether |s| (|len| bytes) occurs in any of the headers: a name that
 * does not is in no pair, and its search ends here. */
static bool
in_any(const struct auth_view *headers, size_t n, const char *s, size_t len)
{
	size_t h;

	for (h = 0; h < n; h++) {
		const char *p = headers[h].ptr, *end = p + headers[h].len, *q;

		/* memchr for the first byte, then compare: glibc's memmem
		 * costs ~400 instructions a call on a short header */
		while ((size_t)(end - p) >= len &&
		    (q = memchr(p, s[0], (size_t)(end - p) - len + 1)) !=
		        NULL) {
			if (memcmp(q, s, len) == 0)
				return true;
			p = q + 1;
		}
	}
	return false;
}

/* Removes one pair of surrounding DQUOTEs (RFC 6265 §4.1.1 cookie-value). */
static void
unquote(const char **v, size_t *len)
{
	if (*len >= 2 && (*v)[0] == '"' && (*v)[*len - 1] == '"') {
		(*v)++;
		*len -= 2;
	}
}

enum auth_status
auth_cookie_find(const struct auth_view *headers, size_t n, const char *name,
    char *out, size_t out_cap, size_t *out_len)
{
	size_t name_len, h, found_len = 0;
	int found = 0;

	if (name == NULL || out == NULL || out_cap == 0 || out_len == NULL ||
	    (headers == NULL && n > 0))
		return AUTH_INTERNAL;
	name_len = strlen(name);
	if (name_len == 0)
		return AUTH_INTERNAL;

	/* Limits first, over every header, before looking at any value. */
	for (h = 0; h < n; h++) {
		if (headers[h].len > AUTH_MAX_COOKIE_HEADER_LEN)
			return AUTH_TOO_LARGE;
		if (headers[h].len > 0 && headers[h].ptr == NULL)
			return AUTH_INTERNAL;
		if (count_pairs(headers[h].ptr, headers[h].len) >
		    AUTH_MAX_COOKIES)
			return AUTH_TOO_LARGE;
	}

	if (!in_any(headers, n, name, name_len))
		return AUTH_NO_TOKEN;

	/* The decoded value and its NUL must fit both the limit and |out|. */
	if (out_cap - 1 < AUTH_MAX_COOKIE_VALUE_LEN)
		out_cap = out_cap - 1;
	else
		out_cap = AUTH_MAX_COOKIE_VALUE_LEN;

	for (h = 0; h < n; h++) {
		const char *p = headers[h].ptr;
		size_t len = headers[h].len, i = 0;

		while (i < len) {
			const char *semi = memchr(p + i, ';', len - i);
			size_t end = semi ? (size_t)(semi - p) : len;
			struct pair pr;
			enum auth_status st;
			size_t dlen;

			pair_split(p + i, end - i, &pr);
			i = end + 1;
			if (!pr.has_eq || pr.name_len != name_len ||
			    memcmp(pr.name, name, name_len) != 0)
				continue;
			unquote(&pr.val, &pr.val_len);
			/* Each escape shrinks three bytes to one: a raw
			 * value over three times the limit cannot fit. */
			if (pr.val_len > 3 * (size_t)AUTH_MAX_COOKIE_VALUE_LEN)
				return AUTH_TOO_LARGE;
			if (!found) {
				st = pct_decode(pr.val, pr.val_len, out, NULL,
				    out_cap, &dlen);
				if (st != AUTH_OK)
					return st;
				found = 1;
				found_len = dlen;
				continue;
			}
			/* A second copy: a planted cookie (set for a parent
			 * domain or path) must never choose the identity,
			 * so any difference is refused, not resolved. */
			st = pct_decode(pr.val, pr.val_len, NULL, out,
			    found_len, &dlen);
			if (st == AUTH_TOO_LARGE)
				return AUTH_AMBIGUOUS;
			if (st != AUTH_OK)
				return st;
			if (dlen != found_len)
				return AUTH_AMBIGUOUS;
		}
	}
	if (!found || found_len == 0)
		return AUTH_NO_TOKEN;
	out[found_len] = '\0';
	*out_len = found_len;
	return AUTH_OK;
}

/* Configured cookie names are shorter (conf/ refuses 256 and more). */
#define COOKIE_NAME_MAX 255

enum auth_status
auth_cookie_find_chunked(const struct auth_view *headers, size_t n,
    const char *name, char *out, size_t out_cap, size_t *out_len)
{
	char cname[COOKIE_NAME_MAX + 8];
	size_t total = 0, len, i, name_len;
	enum auth_status st;

	st = auth_cookie_find(headers, n, name, out, out_cap, out_len);
	if (st != AUTH_NO_TOKEN)
		return st;
	name_len = strlen(name);
	if (name_len > COOKIE_NAME_MAX)
		return AUTH_NO_TOKEN;
	memcpy(cname, name, name_len);
	cname[name_len] = '.';
	if (!in_any(headers, n, cname, name_len + 1))
		return AUTH_NO_TOKEN;
	for (i = 0; i < AUTH_MAX_COOKIE_CHUNKS; i++) {
		/* the index as Better Auth writes it: decimal, no sign, no
		 * leading zero (parseCookieChunkIndex refuses others) */
		size_t d = name_len + 1, v = i, w = 1;

		while (v / w >= 10)
			w *= 10;
		for (; w > 0; w /= 10)
			cname[d++] = (char)('0' + v / w % 10);
		cname[d] = '\0';
		/* total < out_cap: each find kept room for its NUL, and a
		 * remaining capacity of 1 still tells absent from present */
		st = auth_cookie_find(headers, n, cname, out + total,
		    out_cap - total, &len);
		if (st == AUTH_NO_TOKEN)
			break;
		if (st != AUTH_OK)
			return st;
		total += len;
		if (total > AUTH_MAX_COOKIE_VALUE_LEN)
			return AUTH_TOO_LARGE;
	}
	if (total == 0)
		return AUTH_NO_TOKEN;
	out[total] = '\0';
	*out_len = total;
	return AUTH_OK;
}

struct strip_names {
	const char *const *names;
	size_t n;
};

static bool
drop_named(const char *name, size_t name_len, void *arg)
{
	const struct strip_names *sn = arg;
	size_t k;

	for (k = 0; k < sn->n; k++)
		if (sn->names[k] != NULL && strlen(sn->names[k]) == name_len &&
		    memcmp(sn->names[k], name, name_len) == 0)
			return true;
	return false;
}

int
auth_cookie_strip(const char *in, size_t in_len, const char *const *names,
    size_t n_names, char *out, size_t out_cap, size_t *out_len)
{
	struct strip_names sn = {names, n_names};

	if (names == NULL && n_names > 0)
		return -1;
	return auth_cookie_filter(in, in_len, drop_named, &sn, out, out_cap,
	    out_len);
}

int
auth_cookie_filter(const char *in, size_t in_len,
    bool (*drop)(const char *name, size_t name_len, void *arg), void *arg,
    char *out, size_t out_cap, size_t *out_len)
{
	size_t i = 0, o = 0;

	if ((in == NULL && in_len > 0) || drop == NULL || out == NULL ||
	    out_cap == 0 || out_len == NULL)
		return -1;
	if (in_len > AUTH_MAX_COOKIE_HEADER_LEN ||
	    count_pairs(in, in_len) > AUTH_MAX_COOKIES)
		return -1;

	while (i < in_len) {
		const char *semi = memchr(in + i, ';', in_len - i);
		size_t end = semi ? (size_t)(semi - in) : in_len;
		const char *seg = in + i;
		size_t seg_len = end - i;
		struct pair pr;

		i = end + 1;
		trim(&seg, &seg_len, is_ows);
		if (seg_len == 0)
			continue;
		pair_split(seg, seg_len, &pr);
		if (pr.has_eq && drop(pr.name, pr.name_len, arg))
			continue;
		/* Room for "; ", the pair and the final NUL. */
		if ((o > 0 ? 2 : 0) + seg_len >= out_cap - o)
			return -1;
		if (o > 0) {
			out[o++] = ';';
			out[o++] = ' ';
		}
		memcpy(out + o, seg, seg_len);
		o += seg_len;
	}
	out[o] = '\0';
	*out_len = o;
	return 0;
}
