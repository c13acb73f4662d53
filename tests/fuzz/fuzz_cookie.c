/* SPDX-License-Identifier: MIT */
/* Fuzzes auth_cookie_find and auth_cookie_strip on hostile Cookie headers. */
#include <string.h>

#include "fuzz.h"

#define MAX_HEADERS 4

static const char cred[] = "better-auth.session_token";
static const char *const strip_names[] = {
    "better-auth.session_token",
    "better-auth.session_data",
    "__Secure-better-auth.session_token",
};
#define N_STRIP (sizeof(strip_names) / sizeof(strip_names[0]))

/*
 * What a backend sees as blank around a name: Python's str.strip() on a
 * latin-1 decoded header (Starlette's cookie parser). Written out here,
 * not taken from cookie.c, so the check is independent of the code.
 */
static bool
py_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r' || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0;
}

/*
 * Checks that no "name=value" pair of header |h| is named like any of
 * |strip_names|, the way Starlette splits it (";" then the first "=",
 * then strip both sides).
 */
static void
check_no_stripped_name(const char *h, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *semi = memchr(h + i, ';', len - i);
		size_t end = semi ? (size_t)(semi - h) : len;
		const char *eq = memchr(h + i, '=', end - i);

		if (eq != NULL) {
			const char *n = h + i;
			size_t nl = (size_t)(eq - n);

			while (nl > 0 && py_space((unsigned char)n[0])) {
				n++;
				nl--;
			}
			while (nl > 0 && py_space((unsigned char)n[nl - 1]))
				nl--;
			for (size_t k = 0; k < N_STRIP; k++)
				FUZZ_CHECK(nl != strlen(strip_names[k]) ||
				    memcmp(n, strip_names[k], nl) != 0);
		}
		i = end + 1;
	}
}

/* Every "; "-joined piece of |out| is a byte-for-byte piece of |in|. */
static void
check_pieces_from_input(const char *out, size_t out_len, const char *in,
    size_t in_len)
{
	size_t i = 0;

	while (i < out_len) {
		const char *sep = memmem(out + i, out_len - i, "; ", 2);
		size_t end = sep ? (size_t)(sep - out) : out_len;

		/* A kept pair may itself hold "; "? No: ';' ends a pair. */
		FUZZ_CHECK(end > i);
		FUZZ_CHECK(memmem(in, in_len, out + i, end - i) != NULL);
		i = end + 2;
	}
}

/* Strips one header; returns the heap copy (or NULL on -1). */
static char *
strip(const char *in, size_t in_len, size_t *out_len)
{
	size_t cap = in_len + in_len / 2 + 16;
	char *out = malloc(cap);
	int r;

	if (out == NULL)
		abort();
	*out_len = (size_t)-1;
	r = auth_cookie_strip(in, in_len, strip_names, N_STRIP, out, cap,
	    out_len);
	FUZZ_CHECK(r == 0 || r == -1);
	if (r != 0) {
		free(out);
		return NULL;
	}
	FUZZ_CHECK(*out_len < cap);
	FUZZ_CHECK(out[*out_len] == '\0');
	return out;
}

static enum auth_status
find(const struct auth_view *h, size_t n, char *out, size_t cap, size_t *len)
{
	enum auth_status st;

	*len = (size_t)-1;
	st = auth_cookie_find(h, n, cred, out, cap, len);
	FUZZ_CHECK(fuzz_status_valid(st));
	FUZZ_CHECK(st == AUTH_OK || st == AUTH_NO_TOKEN ||
	    st == AUTH_AMBIGUOUS || st == AUTH_TOO_LARGE ||
	    st == AUTH_MALFORMED);
	if (st == AUTH_OK) {
		FUZZ_CHECK(*len > 0 && *len < cap);
		FUZZ_CHECK(*len <= AUTH_MAX_COOKIE_VALUE_LEN);
		FUZZ_CHECK(out[*len] == '\0');
		/* No control byte survives decoding (it would be cut or
		 * misread downstream). */
		for (size_t i = 0; i < *len; i++)
			FUZZ_CHECK((unsigned char)out[i] >= 0x20 &&
			    (unsigned char)out[i] != 0x7f);
	}
	return st;
}

/*
 * The Better Auth checks run on what auth_cookie_find returns, as the
 * proxy does. The secret is the one of the capture fuzz_jwt.c also uses,
 * so the committed real cookies verify at NOW.
 */
static const char ba_secret[] = "OZ5Wu5BtzQo3XrHU25WknfyldueKJMHz4x_am8aLdFE";
#define NOW INT64_C(1795697055)

static void
check_session(const char *v, size_t n)
{
	struct auth_view tok = {NULL, 0};
	struct auth_policy p;
	struct auth_claims c;
	enum auth_status st;

	st = auth_ba_session_token_check((const unsigned char *)ba_secret,
	    sizeof(ba_secret) - 1, v, n, &tok);
	FUZZ_CHECK(
	    st == AUTH_OK || st == AUTH_BAD_SIGNATURE || st == AUTH_MALFORMED);
	if (st == AUTH_OK) {
		FUZZ_CHECK(
		    tok.len > 0 && fuzz_view_inside(tok.ptr, tok.len, v, n));
		FUZZ_CHECK(tok.len < n && v[tok.len] == '.');
	}

	memset(&p, 0, sizeof(p));
	p.leeway = 60;
	p.keep_claims[0] = "email";
	p.n_keep_claims = 1;
	st = auth_ba_compact_verify(&p, (const unsigned char *)ba_secret,
	    sizeof(ba_secret) - 1, v, n, NOW, &c);
	FUZZ_CHECK(fuzz_status_valid(st) && st != AUTH_INTERNAL);
	if (st == AUTH_OK) {
		FUZZ_CHECK(c.sub_len > 0 && c.sub_len <= AUTH_MAX_SUB_LEN);
		FUZZ_CHECK(strlen(c.sub) == c.sub_len);
		FUZZ_CHECK(c.extra_len < AUTH_MAX_EXTRA_LEN &&
		    c.extra[c.extra_len] == '\0');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_view hv[MAX_HEADERS], sv[MAX_HEADERS];
	char *hbuf[MAX_HEADERS] = {NULL}, *sbuf[MAX_HEADERS] = {NULL};
	size_t n = 0, i = 0, max_len = 0, len, len2;
	char *out, *out2;
	enum auth_status st, st2;
	bool all_stripped = true;

	/* One Cookie header per line, each in its own exact-size heap
	 * block so ASan sees any over-read. */
	while (n < MAX_HEADERS && (i < size || n == 0)) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t end =
		    (nl && n + 1 < MAX_HEADERS) ? (size_t)(nl - data) : size;

		hbuf[n] = fuzz_dup(data + i, end - i);
		hv[n].ptr = hbuf[n];
		hv[n].len = end - i;
		if (hv[n].len > max_len)
			max_len = hv[n].len;
		n++;
		i = end + 1;
	}

	out = malloc(AUTH_MAX_COOKIE_VALUE_LEN + 1);
	out2 = malloc(AUTH_MAX_COOKIE_VALUE_LEN + 1);
	if (out == NULL || out2 == NULL)
		abort();
	st = find(hv, n, out, AUTH_MAX_COOKIE_VALUE_LEN + 1, &len);
	if (st == AUTH_OK)
		FUZZ_CHECK(len <= max_len); /* decoding never grows */

	/* Deterministic, and a buffer one byte short is refused, not
	 * overrun (ASan would see the write: |out2| is exact). */
	st2 = find(hv, n, out2, AUTH_MAX_COOKIE_VALUE_LEN + 1, &len2);
	FUZZ_CHECK(st2 == st);
	if (st == AUTH_OK) {
		char *exact;

		FUZZ_CHECK(len2 == len && memcmp(out, out2, len) == 0);
		exact = malloc(len);
		if (exact == NULL)
			abort();
		st2 = find(hv, n, exact, len, &len2);
		FUZZ_CHECK(st2 != AUTH_OK);
		free(exact);
		/* The decoded value, in an exact-size block. */
		exact = fuzz_dup((const uint8_t *)out, len);
		check_session(exact, len);
		free(exact);
	}
	/* The session_data cookie, found the same way. */
	if (auth_cookie_find(hv, n, "better-auth.session_data", out2,
	        AUTH_MAX_COOKIE_VALUE_LEN + 1, &len2) == AUTH_OK) {
		char *exact = fuzz_dup((const uint8_t *)out2, len2);

		check_session(exact, len2);
		free(exact);
	}

	/* Strip every header. What is left never names a stripped cookie,
	 * keeps only input bytes, is a fixed point, and no longer yields
	 * the credential. */
	for (i = 0; i < n; i++) {
		size_t sl, sl2;
		char *again;

		sbuf[i] = strip(hv[i].ptr, hv[i].len, &sl);
		if (hv[i].len > AUTH_MAX_COOKIE_HEADER_LEN)
			FUZZ_CHECK(sbuf[i] == NULL);
		if (sbuf[i] == NULL) {
			all_stripped = false;
			continue;
		}
		sv[i].ptr = sbuf[i];
		sv[i].len = sl;
		check_no_stripped_name(sbuf[i], sl);
		check_pieces_from_input(sbuf[i], sl, hv[i].ptr, hv[i].len);
		again = strip(sbuf[i], sl, &sl2);
		FUZZ_CHECK(again != NULL);
		FUZZ_CHECK(sl2 == sl && memcmp(again, sbuf[i], sl) == 0);
		free(again);
	}
	if (all_stripped) {
		st2 = find(sv, n, out2, AUTH_MAX_COOKIE_VALUE_LEN + 1, &len2);
		FUZZ_CHECK(st2 != AUTH_OK && st2 != AUTH_AMBIGUOUS);
	}

	for (i = 0; i < n; i++) {
		free(hbuf[i]);
		free(sbuf[i]);
	}
	free(out);
	free(out2);
	return 0;
}
