/* SPDX-License-Identifier: MIT */
/* Canonicalises a request path, the one form both matched and forwarded (RFC
 * 3986 §6.2.2). */
#include <stdbool.h>
#include <string.h>

#include "internal.h"

static const char hex_upper[] = "0123456789ABCDEF";

/* RFC 3986 §2.3 unreserved: ALPHA DIGIT "-" "." "_" "~". */
static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* RFC 3986 §3.3 pchar without pct-encoded: unreserved, sub-delims, ':'
 * and '@'. These are kept raw. */
static bool
is_pchar_raw(unsigned char c)
{
	return is_unreserved(c) || c == '!' || c == '$' || c == '&' ||
	    c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' ||
	    c == ',' || c == ';' || c == '=' || c == ':' || c == '@';
}

/* The number of continuation bytes a UTF-8 lead byte announces, and the
 * allowed range of the first one (Unicode 15 Table 3-7): this refuses
 * overlong forms (C0, C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF) and
 * code points over U+10FFFF (F4 90-, F5-FF). Returns -1 for a byte that
 * cannot start a sequence. */
static int
utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		return 1;
	if (c == 0xe0) {
		*lo = 0xa0;
		return 2;
	}
	if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
		return 2;
	if (c == 0xed) {
		*hi = 0x9f;
		return 2;
	}
	if (c == 0xf0) {
		*lo = 0x90;
		return 3;
	}
	if (c >= 0xf1 && c <= 0xf3)
		return 3;
	if (c == 0xf4) {
		*hi = 0x8f;
		return 3;
	}
	return -1;
}

/* Reads the escape at |in|[|i|] ("%XY"); -1 when it is not one. */
static int
escape_at(const char *in, size_t len, size_t i)
{
	int hi, lo;

	if (i >= len || in[i] != '%' || len - i < 3)
		return -1;
	hi = auth_hexval((unsigned char)in[i + 1]);
	lo = auth_hexval((unsigned char)in[i + 2]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi << 4 | lo;
}

/*
 * True when the canonical segment |s| is a dot segment (RFC 3986 §3.3),
 * also when followed by path parameters: Tomcat and others read "..;x"
 * (and "..%3Bx") as "..", a known way past a prefix-matching proxy.
 */
static bool
is_dot_segment(const char *s, size_t len)
{
	size_t base = len, i;

	for (i = 0; i < len; i++) {
		if (s[i] == ';' ||
		    (s[i] == '%' && len - i >= 3 && s[i + 1] == '3' &&
		        s[i + 2] == 'B')) {
			base = i;
			break;
		}
	}
	return (base == 1 && s[0] == '.') ||
	    (base == 2 && s[0] == '.' && s[1] == '.');
}

enum auth_status
auth_path_canon(const char *in, size_t in_len, char *out, size_t out_cap,
    size_t *out_len)
{
	size_t i, o = 0, seg = 1, cap;

	if (out == NULL || out_len == NULL || (in == NULL && in_len > 0))
		return AUTH_INTERNAL;
	if (in_len > AUTH_MAX_PATH_LEN)
		return AUTH_TOO_LARGE;
	if (in_len == 0 || in[0] != '/')
		return AUTH_PATH_INVALID;
	/* The canonical path and its NUL must fit the limit and |out|. */
	if (out_cap < 2)
		return AUTH_TOO_LARGE;
	cap = (out_cap > AUTH_MAX_PATH_LEN ? AUTH_MAX_PATH_LEN : out_cap) - 1;

	out[o++] = '/';
	for (i = 1; i <= in_len; i++) {
		unsigned char c;

		if (i == in_len || in[i] == '/') {
			/* End of the segment out[seg, o). An empty one is
			 * only allowed last ("/", "/a/"): "//" is read as
			 * "/" by some servers and as a segment by others. */
			if (o == seg && i != in_len)
				return AUTH_PATH_INVALID;
			if (is_dot_segment(out + seg, o - seg))
				return AUTH_PATH_INVALID;
			if (i == in_len)
				break;
			if (o >= cap)
				return AUTH_TOO_LARGE;
			out[o++] = '/';
			seg = o;
			continue;
		}
		c = (unsigned char)in[i];
		if (c == '%') {
			unsigned char lo, hi;
			int n, k, v;

			v = escape_at(in, in_len, i);
			if (v < 0)
				return AUTH_PATH_INVALID;
			if (is_unreserved((unsigned char)v)) {
				/* RFC 3986 §6.2.2.2: equivalent: decoded. */
				if (o >= cap)
					return AUTH_TOO_LARGE;
				out[o++] = (char)v;
				i += 2;
				continue;
			}
			/* An encoded '/' or '\' would split the segment
			 * differently for a decoding backend; control bytes
			 * truncate or smuggle. */
			if (v == '/' || v == '\\' || v < 0x20 || v == 0x7f)
				return AUTH_PATH_INVALID;
			n = 0;
			lo = hi = 0;
			if (v >= 0x80) {
				n = utf8_lead((unsigned char)v, &lo, &hi);
				if (n < 0)
					return AUTH_PATH_INVALID;
			}
			/* Copy the escape and, for UTF-8, its continuation
			 * escapes, each checked, all in upper-case hex. */
			for (k = 0; k <= n; k++) {
				if (k > 0) {
					v = escape_at(in, in_len, i);
					if (v < lo || v > hi)
						return AUTH_PATH_INVALID;
					lo = 0x80;
					hi = 0xbf;
				}
				if (cap - o < 3)
					return AUTH_TOO_LARGE;
				out[o++] = '%';
				out[o++] = hex_upper[v >> 4];
				out[o++] = hex_upper[v & 0xf];
				i += 3;
			}
			i--;
			continue;
		}
		if (is_pchar_raw(c)) {
			if (o >= cap)
				return AUTH_TOO_LARGE;
			out[o++] = (char)c;
			continue;
		}
		/* Raw '\' (a separator on some backends), '?' and '#' (the
		 * caller split the query; these cannot be path bytes),
		 * space, control and non-ASCII bytes: refused. */
		if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '?' || c == '#')
			return AUTH_PATH_INVALID;
		/* Other printable ASCII ('"', '<', '>', '[', ']', '^', '`',
		 * '{', '|', '}') must be encoded (RFC 3986 §2.1). A decoding
		 * backend reads "%7B" and "{" alike, so one spelling. */
		if (cap - o < 3)
			return AUTH_TOO_LARGE;
		out[o++] = '%';
		out[o++] = hex_upper[c >> 4];
		out[o++] = hex_upper[c & 0xf];
	}
	out[o] = '\0';
	*out_len = o;
	return AUTH_OK;
}
