/* SPDX-License-Identifier: MIT */
/* Tests for auth/path.c: the canonical path, and every refused spelling
 * (the path rules in the README). */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "guard.h"
#include "tap.h"

static struct guard g;

struct path_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	enum auth_status want;
	const char *canon; /* for AUTH_OK */
};

#define OK(in, canon)                                                          \
	{                                                                      \
		in, 0, AUTH_OK, canon                                          \
	}
#define BAD(in)                                                                \
	{                                                                      \
		in, 0, AUTH_PATH_INVALID, NULL                                 \
	}

static const struct path_case cases[] = {
    /* Valid paths and their canonical form. */
    OK("/", "/"),
    OK("/a", "/a"),
    OK("/a/b/c", "/a/b/c"),
    OK("/a/b/", "/a/b/"),
    OK("/api/users/42", "/api/users/42"),
    OK("/%61%62%63", "/abc"),
    OK("/%41%5a%30%39", "/AZ09"),
    OK("/a%2Db%2Ec%5Fd%7Ee", "/a-b.c_d~e"),
    OK("/a%2db%2ec%5fd%7ee", "/a-b.c_d~e"),
    OK("/a%20b", "/a%20b"),
    OK("/a%3ab%3Ac", "/a%3Ab%3Ac"),
    OK("/q%3f%23%25", "/q%3F%23%25"),
    OK("/a%2bb", "/a%2Bb"),
    OK("/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="),
    OK("/caf%c3%a9", "/caf%C3%A9"),
    OK("/%E2%82%AC", "/%E2%82%AC"),
    OK("/%F0%9F%98%80", "/%F0%9F%98%80"),
    OK("/%F4%8F%BF%BF", "/%F4%8F%BF%BF"),
    OK("/%ED%9F%BF", "/%ED%9F%BF"),
    OK("/%C2%80", "/%C2%80"),
    OK("/...", "/..."),
    OK("/.a", "/.a"),
    OK("/a.", "/a."),
    OK("/..a/b..", "/..a/b.."),
    OK("/.well-known/jwks", "/.well-known/jwks"),
    OK("/a;b", "/a;b"),
    OK("/a{b}", "/a%7Bb%7D"),
    OK("/a|b^c`d", "/a%7Cb%5Ec%60d"),
    OK("/\"<>[]", "/%22%3C%3E%5B%5D"),

    /* Must start with '/'. */
    {"", 0, AUTH_PATH_INVALID, NULL},
    BAD("a/b"),
    BAD("*"),
    BAD("http://x/"),
    BAD("%2Fa"),

    /* Encoded '/' and '\', raw '\'. */
    BAD("/a%2Fb"),
    BAD("/a%2fb"),
    BAD("/a%5Cb"),
    BAD("/a%5cb"),
    BAD("/a\\b"),
    BAD("/..\\x"),

    /* Control bytes, encoded and raw; space; non-ASCII raw. */
    BAD("/a%00"),
    {"/a\0b", 4, AUTH_PATH_INVALID, NULL},
    BAD("/a%01"),
    BAD("/a%0A"),
    BAD("/a%0d%0aX:1"),
    BAD("/a%1F"),
    BAD("/a%1f"),
    BAD("/a%7F"),
    BAD("/a\x01"),
    BAD("/a\tb"),
    BAD("/a\nb"),
    BAD("/a\x7f"),
    BAD("/a b"),
    BAD("/caf\xc3\xa9"),
    BAD("/\x80"),
    BAD("/\xff"),
    BAD("/a?b"),
    BAD("/a#b"),

    /* Invalid percent-encoding. */
    BAD("/%"),
    BAD("/a%"),
    BAD("/%4"),
    BAD("/a%4"),
    BAD("/%zz"),
    BAD("/%g0"),
    BAD("/%0g"),
    BAD("/%%41"),
    BAD("/% 41"),

    /* Invalid or overlong UTF-8 inside escapes. */
    BAD("/%C0%AE"),
    BAD("/%C0%AE%C0%AE"),
    BAD("/%C1%BF"),
    BAD("/%E0%80%AE"),
    BAD("/%E0%9F%BF"),
    BAD("/%F0%80%80%AE"),
    BAD("/%F0%8F%BF%BF"),
    BAD("/%ED%A0%80"),
    BAD("/%ED%BF%BF"),
    BAD("/%F4%90%80%80"),
    BAD("/%F5%80%80%80"),
    BAD("/%FF"),
    BAD("/%80"),
    BAD("/%BF"),
    BAD("/%C3"),
    BAD("/%C3/"),
    BAD("/%C3a"),
    BAD("/%C3%41"),
    BAD("/%C3%C3%A9"),
    BAD("/%E2%82"),
    BAD("/%E2%82%41"),
    BAD("/%F0%9F%98"),
    BAD("/%C3%A9%A9"),

    /* Empty segments. */
    BAD("//"),
    BAD("//a"),
    BAD("/a//b"),
    BAD("/a//"),
    BAD("/a///b"),

    /* Dot segments in every spelling and place. */
    BAD("/."),
    BAD("/.."),
    BAD("/./"),
    BAD("/../"),
    BAD("/./a"),
    BAD("/../a"),
    BAD("/a/."),
    BAD("/a/.."),
    BAD("/a/./"),
    BAD("/a/../"),
    BAD("/a/./b"),
    BAD("/a/../b"),
    BAD("/a/b/../../etc/passwd"),
    BAD("/%2e"),
    BAD("/%2E"),
    BAD("/%2e%2e"),
    BAD("/%2E%2E"),
    BAD("/%2E%2e"),
    BAD("/%2e%2E"),
    BAD("/.%2e"),
    BAD("/%2e."),
    BAD("/.%2E/"),
    BAD("/a/%2e%2e/b"),
    BAD("/a/%2e/b"),
    BAD("/a/%2E%2E"),
    BAD("/a/.%2e"),
    BAD("/a/%2e./"),
    BAD("/%2e%2e/%2e%2e/etc"),
    BAD("/a/..;/b"),
    BAD("/a/..;x=1/b"),
    BAD("/a/.;/b"),
    BAD("/a/..%3B/b"),
    BAD("/a/%2e%2e%3bx/b"),
    BAD("/..%2Fetc"),
    BAD("/%2e%2e%2fetc"),
    BAD("/%2e%2e%5cetc"),
};

/* |s| with bytes outside printable ASCII as \xHH, for TAP lines. */
static const char *
esc(const char *s, size_t len)
{
	static char buf[512];
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < sizeof(buf); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static void
test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct path_case *tc = &cases[i];
		size_t len = tc->len ? tc->len : strlen(tc->in);
		const char *in = guard_put(&g, tc->in, len);
		char out[AUTH_MAX_PATH_LEN + 1];
		size_t out_len = 777;
		enum auth_status st;

		st = auth_path_canon(in, len, out, sizeof(out), &out_len);
		is_int(st, tc->want, "\"%s\"", esc(tc->in, len));
		if (st == AUTH_OK && tc->want == AUTH_OK) {
			is_str(out, tc->canon, "\"%s\": canonical",
			    esc(tc->in, len));
			is_int(out_len, strlen(tc->canon), "\"%s\": length",
			    esc(tc->in, len));
		} else if (st != AUTH_OK) {
			is_int(out_len, 777, "\"%s\": no length on failure",
			    esc(tc->in, len));
		}
	}
}

/* The canonical form is a fixed point: canonicalising it again gives the
 * same bytes, so what was matched is exactly what is forwarded. */
static void
test_idempotent(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[AUTH_MAX_PATH_LEN + 1], out2[AUTH_MAX_PATH_LEN + 1];
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		size_t ol, ol2;
		const char *in;

		if (cases[i].want != AUTH_OK)
			continue;
		if (auth_path_canon(cases[i].in, len, out, sizeof(out), &ol) !=
		    AUTH_OK) {
			bad++;
			continue;
		}
		in = guard_put(&g, out, ol);
		if (auth_path_canon(in, ol, out2, sizeof(out2), &ol2) !=
		        AUTH_OK ||
		    ol2 != ol || memcmp(out, out2, ol) != 0)
			bad++;
	}
	is_int(bad, 0, "every canonical path canonicalises to itself");
}

static void
test_limits(void)
{
	char *s = malloc(AUTH_MAX_PATH_LEN + 2);
	char *out = malloc(AUTH_MAX_PATH_LEN + 8);
	const char *in;
	size_t ol;

	if (s == NULL || out == NULL)
		exit(2);
	/* "/aaaa...": the limit includes the NUL of the output. */
	s[0] = '/';
	memset(s + 1, 'a', AUTH_MAX_PATH_LEN + 1);
	in = guard_put(&g, s, AUTH_MAX_PATH_LEN - 1);
	is_int(auth_path_canon(in, AUTH_MAX_PATH_LEN - 1, out,
	           AUTH_MAX_PATH_LEN + 8, &ol),
	    AUTH_OK, "path of limit - 1 bytes");
	is_int(ol, AUTH_MAX_PATH_LEN - 1, "path of limit - 1 bytes: length");
	in = guard_put(&g, s, AUTH_MAX_PATH_LEN);
	is_int(auth_path_canon(in, AUTH_MAX_PATH_LEN, out,
	           AUTH_MAX_PATH_LEN + 8, &ol),
	    AUTH_TOO_LARGE, "path of limit bytes (no room for the NUL)");
	in = guard_put(&g, s, AUTH_MAX_PATH_LEN + 1);
	is_int(auth_path_canon(in, AUTH_MAX_PATH_LEN + 1, out,
	           AUTH_MAX_PATH_LEN + 8, &ol),
	    AUTH_TOO_LARGE, "path over the limit");
	/* Too large is decided before anything else. */
	s[AUTH_MAX_PATH_LEN] = '\\';
	in = guard_put(&g, s, AUTH_MAX_PATH_LEN + 1);
	is_int(auth_path_canon(in, AUTH_MAX_PATH_LEN + 1, out,
	           AUTH_MAX_PATH_LEN + 8, &ol),
	    AUTH_TOO_LARGE, "oversize wins over an invalid byte");

	/* Encoding raw '{' grows the path: the output limit holds too. */
	memset(s + 1, '{', AUTH_MAX_PATH_LEN);
	in = guard_put(&g, s, 2000);
	is_int(auth_path_canon(in, 2000, out, AUTH_MAX_PATH_LEN + 8, &ol),
	    AUTH_TOO_LARGE, "growth past the limit");

	/* The caller's buffer. */
	in = guard_put(&g, "/abc", 4);
	is_int(auth_path_canon(in, 4, out, 4, &ol), AUTH_TOO_LARGE,
	    "out_cap without room for the NUL");
	is_int(auth_path_canon(in, 4, out, 5, &ol), AUTH_OK, "out_cap exact");
	is_str(out, "/abc", "out_cap exact: bytes");
	in = guard_put(&g, "/", 1);
	is_int(auth_path_canon(in, 1, out, 1, &ol), AUTH_TOO_LARGE,
	    "\"/\" with out_cap 1");
	is_int(auth_path_canon(in, 1, out, 0, &ol), AUTH_TOO_LARGE,
	    "\"/\" with out_cap 0");
	is_int(auth_path_canon(in, 1, out, 2, &ol), AUTH_OK,
	    "\"/\" with out_cap 2");
	is_str(out, "/", "\"/\" with out_cap 2: bytes");
	in = guard_put(&g, "/%C3%A9", 7);
	is_int(auth_path_canon(in, 7, out, 7, &ol), AUTH_TOO_LARGE,
	    "out_cap one short inside an escape");
	is_int(auth_path_canon(NULL, 1, out, 5, &ol), AUTH_INTERNAL,
	    "NULL input");
	free(s);
	free(out);
}

/* Every single byte after "/a": each is either canonical as itself, as
 * its escape, or refused, and never read past the input. */
static void
test_all_bytes(void)
{
	int c, bad = 0;

	for (c = 0; c < 256; c++) {
		char in[3] = {'/', 'a', (char)c}, out[16];
		size_t ol;
		enum auth_status st;
		const char *p = guard_put(&g, in, 3);

		st = auth_path_canon(p, 3, out, sizeof(out), &ol);
		if (c < 0x21 || c >= 0x7f || c == '\\' || c == '?' ||
		    c == '#' || c == '%') {
			if (st != AUTH_PATH_INVALID)
				bad++;
		} else if (c == '/') {
			if (st != AUTH_OK || strcmp(out, "/a/") != 0)
				bad++;
		} else if (st != AUTH_OK || (ol != 3 && ol != 5)) {
			bad++;
		}
	}
	is_int(bad, 0, "each byte after \"/a\" is kept, escaped or refused");
}

int
main(void)
{
	guard_init(&g);
	test_table();
	test_idempotent();
	test_limits();
	test_all_bytes();
	return tap_done();
}
