/* SPDX-License-Identifier: MIT */
/* Fuzzes auth_path_canon: output is canonical, safe, a fixed point, same
 * meaning. */
#include <string.h>

#include "fuzz.h"

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* Percent-decodes everything (a decoding backend's view); -1 on a bad
 * escape. |out| has room for |n| bytes. */
static size_t
decode_all(const char *in, size_t n, unsigned char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] == '%') {
			if (n - i < 3 ||
			    fuzz_hexval((unsigned char)in[i + 1]) < 0 ||
			    fuzz_hexval((unsigned char)in[i + 2]) < 0)
				return (size_t)-1;
			out[o++] = (unsigned char)(fuzz_hexval(
			                               (unsigned char)in[i + 1])
			        << 4 |
			    fuzz_hexval((unsigned char)in[i + 2]));
			i += 2;
		} else {
			out[o++] = (unsigned char)in[i];
		}
	}
	return o;
}

/* A segment a server might read as "." or "..", also with ";params". */
static bool
dot_like(const char *s, size_t n)
{
	const char *semi = memchr(s, ';', n);

	if (semi != NULL)
		n = (size_t)(semi - s);
	return (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.');
}

static void
check_canonical(const char *p, size_t n)
{
	size_t seg = 1;

	FUZZ_CHECK(n >= 1 && p[0] == '/');
	FUZZ_CHECK(n < AUTH_MAX_PATH_LEN);
	FUZZ_CHECK(p[n] == '\0');
	FUZZ_CHECK(memmem(p, n, "//", 2) == NULL);
	FUZZ_CHECK(memmem(p, n, "/./", 3) == NULL);
	FUZZ_CHECK(memmem(p, n, "/../", 4) == NULL);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		/* Printable ASCII only, no '\', '?', '#' or space. */
		FUZZ_CHECK(c > 0x20 && c < 0x7f);
		FUZZ_CHECK(c != '\\' && c != '?' && c != '#');
		if (c == '%') {
			int v;

			FUZZ_CHECK(n - i >= 3);
			FUZZ_CHECK(strchr("0123456789ABCDEF", p[i + 1]) &&
			    p[i + 1] != '\0');
			FUZZ_CHECK(strchr("0123456789ABCDEF", p[i + 2]) &&
			    p[i + 2] != '\0');
			v = fuzz_hexval((unsigned char)p[i + 1]) << 4 |
			    fuzz_hexval((unsigned char)p[i + 2]);
			/* No encoded '/' or '\', no control byte, and no
			 * unreserved byte left encoded (%2E, %41, ...). */
			FUZZ_CHECK(v != '/' && v != '\\');
			FUZZ_CHECK(v >= 0x20 && v != 0x7f);
			FUZZ_CHECK(!unreserved((unsigned char)v));
		}
	}
	/* No segment is a dot segment, raw or with ";params". */
	while (seg <= n) {
		const char *sl = memchr(p + seg, '/', n - seg);
		size_t end = sl ? (size_t)(sl - p) : n;

		FUZZ_CHECK(!dot_like(p + seg, end - seg));
		seg = end + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_dup(data, size);
	size_t cap = 3 * size + 8, len = (size_t)-1, len2 = (size_t)-1;
	char *out = malloc(cap), *out2 = malloc(cap), *exact;
	unsigned char *d1, *d2;
	enum auth_status st, st2;
	size_t n1, n2;

	if (out == NULL || out2 == NULL)
		abort();
	st = auth_path_canon(in, size, out, cap, &len);
	FUZZ_CHECK(fuzz_status_valid(st));
	FUZZ_CHECK(
	    st == AUTH_OK || st == AUTH_PATH_INVALID || st == AUTH_TOO_LARGE);
	if (size > AUTH_MAX_PATH_LEN)
		FUZZ_CHECK(st == AUTH_TOO_LARGE);
	if (size == 0 || data[0] != '/')
		FUZZ_CHECK(st != AUTH_OK);
	if (st != AUTH_OK)
		goto done;

	FUZZ_CHECK(len < cap && len <= 3 * size);
	check_canonical(out, len);

	/* A fixed point: canon(canon(x)) == canon(x). */
	st2 = auth_path_canon(out, len, out2, cap, &len2);
	FUZZ_CHECK(st2 == AUTH_OK);
	FUZZ_CHECK(len2 == len && memcmp(out, out2, len + 1) == 0);

	/* Same meaning: a backend that percent-decodes both sees the same
	 * bytes. */
	d1 = malloc(size + 1);
	d2 = malloc(len + 1);
	if (d1 == NULL || d2 == NULL)
		abort();
	n1 = decode_all(in, size, d1);
	n2 = decode_all(out, len, d2);
	FUZZ_CHECK(n1 != (size_t)-1 && n2 != (size_t)-1);
	FUZZ_CHECK(n1 == n2 && memcmp(d1, d2, n1) == 0);
	free(d1);
	free(d2);

	/* A buffer with no room for the NUL is refused, never overrun
	 * (|exact| is an exact-size block, so ASan sees a write past it). */
	exact = malloc(len);
	if (exact == NULL)
		abort();
	st2 = auth_path_canon(in, size, exact, len, &len2);
	FUZZ_CHECK(st2 == AUTH_TOO_LARGE);
	free(exact);
done:
	free(in);
	free(out);
	free(out2);
	return 0;
}
