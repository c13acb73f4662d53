/* SPDX-License-Identifier: MIT */
/* Tests for auth/b64url.c: strict base64url and standard base64 (RFC 4648). */
#include "crypto_testutil.h"
#include "tap.h"

struct dcase {
	const char *name;
	const char *in;
	int rv;
	const char *want; /* decoded bytes when rv == 0 */
	size_t want_len;
};

static const struct dcase url_cases[] = {
    {"empty", "", 0, "", 0},
    {"f", "Zg", 0, "f", 1},
    {"fo", "Zm8", 0, "fo", 2},
    {"foo", "Zm9v", 0, "foo", 3},
    {"foob", "Zm9vYg", 0, "foob", 4},
    {"fooba", "Zm9vYmE", 0, "fooba", 5},
    {"foobar", "Zm9vYmFy", 0, "foobar", 6},
    {"url alphabet - _", "-_-_", 0, "\xfb\xff\xbf", 3},
    {"all ones", "____", 0, "\xff\xff\xff", 3},
    {"padding ==", "Zg==", -1, NULL, 0},
    {"padding =", "Zm8=", -1, NULL, 0},
    {"lone =", "Zm9v=", -1, NULL, 0},
    {"plus", "+_-_", -1, NULL, 0},
    {"slash", "-_/_", -1, NULL, 0},
    {"space", "Zm9 v", -1, NULL, 0},
    {"newline", "Zm9v\nYg", -1, NULL, 0},
    {"dot", "Zm.v", -1, NULL, 0},
    {"NUL", "Zm\0v", -1, NULL, 0},
    {"high byte", "Zm\xc3v", -1, NULL, 0},
    {"length 1 mod 4", "Zm9vY", -1, NULL, 0},
    {"single char", "Z", -1, NULL, 0},
    {"non-canonical 2 (Zh)", "Zh", -1, NULL, 0},
    {"non-canonical 3 (Zm9)", "Zm9", -1, NULL, 0},
    {"canonical 3 (Zm8)", "Zm8", 0, "fo", 2},
    {"non-canonical last of 2 (AB)", "AB", -1, NULL, 0},
    {"canonical (AA)", "AA", 0, "\0", 1},
};

static const struct dcase std_cases[] = {
    {"empty", "", 0, "", 0},
    {"f", "Zg==", 0, "f", 1},
    {"fo", "Zm8=", 0, "fo", 2},
    {"foo", "Zm9v", 0, "foo", 3},
    {"foobar", "Zm9vYmFy", 0, "foobar", 6},
    {"std alphabet + /", "+/+/", 0, "\xfb\xff\xbf", 3},
    {"missing padding", "Zg", -1, NULL, 0},
    {"short padding", "Zg=", -1, NULL, 0},
    {"three =", "Z===", -1, NULL, 0},
    {"all =", "====", -1, NULL, 0},
    {"= inside", "Zg=v", -1, NULL, 0},
    {"= then char", "Zm=v", -1, NULL, 0},
    {"= in first group", "Zg==Zg==", -1, NULL, 0},
    {"url alphabet -", "-_-_", -1, NULL, 0},
    {"non-canonical Zh==", "Zh==", -1, NULL, 0},
    {"non-canonical Zm9=", "Zm9=", -1, NULL, 0},
    {"space", "Zm9v Zg==", -1, NULL, 0},
};

static void
run_decode(const char *kind, const struct dcase *c, size_t n,
    int (*dec)(const char *, size_t, unsigned char *, size_t, size_t *))
{
	unsigned char out[64];
	size_t i, out_len, in_len;
	struct tu_guard g;
	int rv;

	for (i = 0; i < n; i++) {
		/* The NUL case has an embedded NUL: its length is 4. */
		in_len = strcmp(c[i].name, "NUL") == 0 ? 4 : strlen(c[i].in);
		out_len = 999;
		rv = dec(tu_guard_copy(&g, c[i].in, in_len), in_len, out,
		    sizeof(out), &out_len);
		is_int(rv, c[i].rv, "%s decode: %s", kind, c[i].name);
		if (c[i].rv == 0 && rv == 0) {
			is_int(out_len, c[i].want_len, "%s length: %s", kind,
			    c[i].name);
			ok(out_len == c[i].want_len &&
			        memcmp(out, c[i].want, out_len) == 0,
			    "%s bytes: %s", kind, c[i].name);
		}
		tu_guard_free(&g);
	}
}

int
main(void)
{
	unsigned char in[64], out[64];
	char enc[128];
	size_t n, enc_len, out_len, i, bad;
	struct tu_guard g;

	run_decode("url", url_cases, sizeof(url_cases) / sizeof(url_cases[0]),
	    b64url_decode);
	run_decode("std", std_cases, sizeof(std_cases) / sizeof(std_cases[0]),
	    b64std_decode);

	/* Round trips of every length 0..64 through the encoder. */
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	bad = 0;
	for (n = 0; n <= sizeof(in); n++) {
		if (b64url_encode(in, n, enc, sizeof(enc), &enc_len) != 0 ||
		    enc_len != (n * 4 + 2) / 3 || enc[enc_len] != '\0' ||
		    strchr(enc, '=') || strchr(enc, '+') || strchr(enc, '/') ||
		    b64url_decode(tu_guard_copy(&g, enc, enc_len), enc_len, out,
		        sizeof(out), &out_len) != 0 ||
		    out_len != n || memcmp(in, out, n) != 0)
			bad++;
		if (g.map)
			tu_guard_free(&g);
	}
	is_int(bad, 0, "encode/decode round trip for lengths 0..64");

	ok(b64url_encode((const unsigned char *)"foobar", 6, enc, 9,
	       &enc_len) == 0 &&
	        strcmp(enc, "Zm9vYmFy") == 0,
	    "encode foobar into exactly 9 bytes");
	is_int(b64url_encode((const unsigned char *)"foobar", 6, enc, 8,
	           &enc_len),
	    -1, "encode needs room for the NUL");
	ok(b64url_encode((const unsigned char *)"\xfb\xff", 2, enc, sizeof(enc),
	       &enc_len) == 0 &&
	        strcmp(enc, "-_8") == 0,
	    "encode uses - and _");
	is_int(b64url_decode("Zm9vYmFy", 8, out, 5, &out_len), -1,
	    "decode refuses a short output buffer");
	ok(b64url_decode("Zm9vYmFy", 8, out, 6, &out_len) == 0 && out_len == 6,
	    "decode fits an exact output buffer");
	is_int(b64std_decode("Zm9vYg==", 8, out, 3, &out_len), -1,
	    "std decode refuses a short output buffer");
	is_int(b64url_decode(NULL, 1, out, 6, &out_len), -1, "NULL input");
	return tap_done();
}
