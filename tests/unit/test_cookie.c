/* SPDX-License-Identifier: MIT */
/* Tests for auth/cookie.c: finding one cookie across Cookie headers, and
 * stripping ours. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "guard.h"
#include "tap.h"

#define MAX_HDRS 3

static struct guard guards[MAX_HDRS];

/* One find case: up to MAX_HDRS header values (NULL ends the list). */
struct find_case {
	const char *name;
	const char *hdrs[MAX_HDRS + 1];
	const char *cookie;
	enum auth_status want;
	const char *want_val; /* for AUTH_OK */
};

static const struct find_case find_cases[] = {
    {"only pair", {"session=abc", NULL}, "session", AUTH_OK, "abc"},
    {"first of three", {"session=abc; a=1; b=2", NULL}, "session", AUTH_OK,
        "abc"},
    {"middle", {"a=1; session=abc; b=2", NULL}, "session", AUTH_OK, "abc"},
    {"last", {"a=1; b=2; session=abc", NULL}, "session", AUTH_OK, "abc"},
    {"no space after ;", {"a=1;session=abc;b=2", NULL}, "session", AUTH_OK,
        "abc"},
    {"whitespace around name and value", {"a=1 ;  session = abc \t; b=2", NULL},
        "session", AUTH_OK, "abc"},
    {"trailing ;", {"session=abc;", NULL}, "session", AUTH_OK, "abc"},
    {"value holds =", {"session=a=b==", NULL}, "session", AUTH_OK, "a=b=="},
    {"quoted", {"session=\"abc\"", NULL}, "session", AUTH_OK, "abc"},
    {"quoted, spaces outside", {"a=1;  session=\"abc\"  ", NULL}, "session",
        AUTH_OK, "abc"},
    {"one quote is data", {"session=\"abc", NULL}, "session", AUTH_OK, "\"abc"},
    {"only one pair of quotes removed", {"session=\"\"abc\"\"", NULL},
        "session", AUTH_OK, "\"abc\""},
    {"percent-encoded (Better Auth session_token)",
        {"better-auth.session_token=XV6J1kDDCZL0e4XlqqGIfa1HyywCBZ5S."
         "Kiz2Zwvjrv4y24nXamHeBs2zPFHOnEaW%2BZiI0gBg30U%3D",
            NULL},
        "better-auth.session_token", AUTH_OK,
        "XV6J1kDDCZL0e4XlqqGIfa1HyywCBZ5S."
        "Kiz2Zwvjrv4y24nXamHeBs2zPFHOnEaW+ZiI0gBg30U="},
    {"lower-case escapes", {"session=%2b%2f%3d%41", NULL}, "session", AUTH_OK,
        "+/=A"},
    {"raw + / = kept (decodeURIComponent)", {"session=a+b/c=", NULL}, "session",
        AUTH_OK, "a+b/c="},
    {"quoted and encoded", {"session=\"a%20b\"", NULL}, "session", AUTH_OK,
        "a b"},
    {"escaped UTF-8 passes as bytes", {"session=%C3%A9", NULL}, "session",
        AUTH_OK, "\xc3\xa9"},

    {"absent", {"a=1; b=2", NULL}, "session", AUTH_NO_TOKEN, NULL},
    {"no headers", {NULL}, "session", AUTH_NO_TOKEN, NULL},
    {"empty header", {"", NULL}, "session", AUTH_NO_TOKEN, NULL},
    {"empty value", {"session=", NULL}, "session", AUTH_NO_TOKEN, NULL},
    {"empty quoted value", {"session=\"\"", NULL}, "session", AUTH_NO_TOKEN,
        NULL},
    {"name is case-sensitive", {"Session=abc; SESSION=abc", NULL}, "session",
        AUTH_NO_TOKEN, NULL},
    {"longer name", {"xsession=abc; session_x=abc", NULL}, "session",
        AUTH_NO_TOKEN, NULL},
    {"pair without =", {"session; a=1", NULL}, "session", AUTH_NO_TOKEN, NULL},
    {"name only in a value", {"a=session=abc", NULL}, "session", AUTH_NO_TOKEN,
        NULL},

    {"bad escape: lone %", {"session=abc%", NULL}, "session", AUTH_MALFORMED,
        NULL},
    {"bad escape: one digit", {"session=abc%4", NULL}, "session",
        AUTH_MALFORMED, NULL},
    {"bad escape: non-hex", {"session=%zz", NULL}, "session", AUTH_MALFORMED,
        NULL},
    {"bad escape: half hex", {"session=a%G1", NULL}, "session", AUTH_MALFORMED,
        NULL},
    {"encoded NUL", {"session=abc%00def", NULL}, "session", AUTH_MALFORMED,
        NULL},
    {"encoded LF", {"session=abc%0Adef", NULL}, "session", AUTH_MALFORMED,
        NULL},
    {"encoded DEL", {"session=abc%7f", NULL}, "session", AUTH_MALFORMED, NULL},
    {"raw control byte",
        {"session=ab\x01"
         "c",
            NULL},
        "session", AUTH_MALFORMED, NULL},
    {"raw tab inside", {"session=ab\tc", NULL}, "session", AUTH_MALFORMED,
        NULL},
    {"value trimmed of SP and HTAB only", {"session= \tab\xa0 ", NULL},
        "session", AUTH_OK, "ab\xa0"},
    {"bad escape elsewhere is not ours", {"a=%zz; session=abc", NULL},
        "session", AUTH_OK, "abc"},

    {"duplicate, same value", {"session=abc; session=abc", NULL}, "session",
        AUTH_OK, "abc"},
    {"duplicate, same after decoding", {"session=a%2Bb; session=a+b", NULL},
        "session", AUTH_OK, "a+b"},
    {"duplicate, same after unquoting", {"session=abc; session=\"abc\"", NULL},
        "session", AUTH_OK, "abc"},
    {"duplicate, different value", {"session=abc; session=abd", NULL},
        "session", AUTH_AMBIGUOUS, NULL},
    {"duplicate, planted first", {"session=evil; a=1; session=abc", NULL},
        "session", AUTH_AMBIGUOUS, NULL},
    {"duplicate, longer second", {"session=abc; session=abcd", NULL}, "session",
        AUTH_AMBIGUOUS, NULL},
    {"duplicate, shorter second", {"session=abcd; session=abc", NULL},
        "session", AUTH_AMBIGUOUS, NULL},
    {"duplicate, empty first", {"session=; session=abc", NULL}, "session",
        AUTH_AMBIGUOUS, NULL},
    {"duplicate, empty second", {"session=abc; session=", NULL}, "session",
        AUTH_AMBIGUOUS, NULL},
    {"duplicate, both empty", {"session=; session=\"\"", NULL}, "session",
        AUTH_NO_TOKEN, NULL},
    {"duplicate, second malformed", {"session=abc; session=ab%zz", NULL},
        "session", AUTH_MALFORMED, NULL},
    {"duplicate behind NBSP (Python strips it)",
        {"session=abc; \xa0session=evil", NULL}, "session", AUTH_AMBIGUOUS,
        NULL},

    {"several headers, second has it", {"a=1", "b=2; session=abc", NULL},
        "session", AUTH_OK, "abc"},
    {"several headers, third has it", {"a=1", "b=2", "session=abc", NULL},
        "session", AUTH_OK, "abc"},
    {"several headers, same copy", {"session=abc", "a=1; session=abc", NULL},
        "session", AUTH_OK, "abc"},
    {"several headers, different copy",
        {"session=abc", "a=1; session=evil", NULL}, "session", AUTH_AMBIGUOUS,
        NULL},
    {"several headers, empty one", {"", "session=abc", NULL}, "session",
        AUTH_OK, "abc"},
};

static void
test_find_table(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(find_cases) / sizeof(find_cases[0]); i++) {
		const struct find_case *tc = &find_cases[i];
		struct auth_view hv[MAX_HDRS];
		char out[AUTH_MAX_COOKIE_VALUE_LEN + 1];
		size_t n = 0, out_len = 12345;
		enum auth_status st;

		for (k = 0; tc->hdrs[k] != NULL; k++) {
			size_t len = strlen(tc->hdrs[k]);

			hv[k].ptr = guard_put(&guards[k], tc->hdrs[k], len);
			hv[k].len = len;
			n++;
		}
		st = auth_cookie_find(hv, n, tc->cookie, out, sizeof(out),
		    &out_len);
		is_int(st, tc->want, "find: %s", tc->name);
		if (tc->want == AUTH_OK && st == AUTH_OK) {
			is_str(out, tc->want_val, "find: %s: value", tc->name);
			is_int(out_len, strlen(tc->want_val),
			    "find: %s: length", tc->name);
		} else if (st != AUTH_OK) {
			is_int(out_len, 12345, "find: %s: no length on failure",
			    tc->name);
		}
	}
}

/* Builds "session=" + |n| bytes of |c| (+ suffix) into a heap string. */
static char *
make_cookie(const char *prefix, size_t n, char c, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(pl + n + sl + 1);

	if (s == NULL)
		exit(2);
	memcpy(s, prefix, pl);
	memset(s + pl, c, n);
	memcpy(s + pl + n, suffix, sl + 1);
	return s;
}

static enum auth_status
find1(const char *h, size_t len, const char *name, char *out, size_t cap,
    size_t *out_len)
{
	struct auth_view v;

	v.ptr = guard_put(&guards[0], h, len);
	v.len = len;
	return auth_cookie_find(&v, 1, name, out, cap, out_len);
}

static void
test_find_limits(void)
{
	static char out[AUTH_MAX_COOKIE_VALUE_LEN + 1];
	struct auth_view hv[2];
	size_t out_len, i;
	char *s, *pairs;
	size_t plen;

	/* One decoded value: the limit exactly, then one over. */
	s = make_cookie("session=", AUTH_MAX_COOKIE_VALUE_LEN, 'v', "");
	is_int(find1(s, strlen(s), "session", out, sizeof(out), &out_len),
	    AUTH_OK, "value at the limit");
	is_int(out_len, AUTH_MAX_COOKIE_VALUE_LEN, "value at the limit: len");
	free(s);
	s = make_cookie("session=", AUTH_MAX_COOKIE_VALUE_LEN + 1, 'v', "");
	is_int(find1(s, strlen(s), "session", out, sizeof(out), &out_len),
	    AUTH_TOO_LARGE, "value one over the limit");
	free(s);

	/* Escapes count decoded: 8192 "%41" is 24576 raw bytes, over the
	 * header limit, so put 4000 of them. */
	{
		size_t n = 4000, k;
		char *e = malloc(8 + 3 * n + 1);

		if (e == NULL)
			exit(2);
		memcpy(e, "session=", 8);
		for (k = 0; k < n; k++)
			memcpy(e + 8 + 3 * k, "%41", 3);
		e[8 + 3 * n] = '\0';
		is_int(find1(e, strlen(e), "session", out, sizeof(out),
		           &out_len),
		    AUTH_OK, "4000 escapes decode to 4000 bytes");
		is_int(out_len, n, "4000 escapes: length");
		ok(out[0] == 'A' && out[n - 1] == 'A' && out[n] == '\0',
		    "4000 escapes: bytes");
		free(e);
	}

	/* The caller's buffer is a limit too. */
	is_int(find1("session=abcd", 12, "session", out, 4, &out_len),
	    AUTH_TOO_LARGE, "value longer than out_cap - 1");
	is_int(find1("session=abc", 11, "session", out, 4, &out_len), AUTH_OK,
	    "value exactly out_cap - 1");
	is_str(out, "abc", "value exactly out_cap - 1: bytes");

	/* One header: the limit exactly, then one over, cookie absent. */
	s = make_cookie("a=", AUTH_MAX_COOKIE_HEADER_LEN - 2, 'x', "");
	is_int(find1(s, strlen(s), "session", out, sizeof(out), &out_len),
	    AUTH_NO_TOKEN, "header at the limit");
	free(s);
	s = make_cookie("a=", AUTH_MAX_COOKIE_HEADER_LEN - 1, 'x', "");
	is_int(find1(s, strlen(s), "session", out, sizeof(out), &out_len),
	    AUTH_TOO_LARGE, "header one over the limit");

	/* Limits come first: an oversize second header beats a malformed
	 * and an ambiguous cookie in the first. */
	hv[0].ptr = guard_put(&guards[0], "session=%zz; session=x", 22);
	hv[0].len = 22;
	hv[1].ptr = guard_put(&guards[1], s, strlen(s));
	hv[1].len = strlen(s);
	is_int(auth_cookie_find(hv, 2, "session", out, sizeof(out), &out_len),
	    AUTH_TOO_LARGE, "oversize header checked before any value");
	free(s);

	/* Pairs in one header: 64 then 65; empty segments do not count. */
	pairs = malloc(AUTH_MAX_COOKIES * 16 + 64);
	if (pairs == NULL)
		exit(2);
	plen = 0;
	for (i = 0; i < AUTH_MAX_COOKIES - 1; i++)
		plen += (size_t)sprintf(pairs + plen, "c%zu=%zu; ;", i, i);
	plen += (size_t)sprintf(pairs + plen, "session=abc");
	is_int(find1(pairs, plen, "session", out, sizeof(out), &out_len),
	    AUTH_OK, "%d pairs", AUTH_MAX_COOKIES);
	plen += (size_t)sprintf(pairs + plen, "; z=1");
	is_int(find1(pairs, plen, "session", out, sizeof(out), &out_len),
	    AUTH_TOO_LARGE, "%d pairs", AUTH_MAX_COOKIES + 1);
	free(pairs);

	/* Bad arguments fail closed. */
	is_int(find1("session=abc", 11, "", out, sizeof(out), &out_len),
	    AUTH_INTERNAL, "empty name");
	is_int(find1("session=abc", 11, NULL, out, sizeof(out), &out_len),
	    AUTH_INTERNAL, "NULL name");
	is_int(auth_cookie_find(NULL, 1, "session", out, sizeof(out), &out_len),
	    AUTH_INTERNAL, "NULL headers");
}

struct strip_case {
	const char *name;
	const char *in;
	const char *names[3];
	const char *want; /* NULL: -1 expected */
};

static const struct strip_case strip_cases[] = {
    {"drop the middle", "a=1; session=abc; b=2", {"session"}, "a=1; b=2"},
    {"drop the first", "session=abc; a=1", {"session"}, "a=1"},
    {"drop the last", "a=1; session=abc", {"session"}, "a=1"},
    {"drop all: empty", "session=abc", {"session"}, ""},
    {"drop every copy", "session=1; a=1; session=2; session=\"3\"", {"session"},
        "a=1"},
    {"two names",
        "x=0; better-auth.session_token=t; "
        "better-auth.session_data=d; y=1",
        {"better-auth.session_token", "better-auth.session_data"}, "x=0; y=1"},
    {"rejoined with \"; \"", "a=1;b=2;  c=3", {"session"}, "a=1; b=2; c=3"},
    {"pairs kept byte for byte", " a=\"q w\" ;b=%zz;  c==", {"s"},
        "a=\"q w\"; b=%zz; c=="},
    {"empty segments dropped", ";;a=1;; ;b=2;", {"s"}, "a=1; b=2"},
    {"case-sensitive", "Session=1; session=2", {"session"}, "Session=1"},
    {"whitespace around the name", "a=1;  session =2", {"session"}, "a=1"},
    {"NBSP before the name (Python strips it)", "\xa0session=2; a=1",
        {"session"}, "a=1"},
    {"pair without = kept", "session; a=1", {"session"}, "session; a=1"},
    {"longer name kept", "sessionx=1; session_=2", {"session"},
        "sessionx=1; session_=2"},
    {"empty header", "", {"session"}, ""},
    {"nothing to strip", "a=1", {NULL}, "a=1"},
    {"neighbour's UTF-8 value kept whole",
        "a=x\xc3\xa0; session=1; "
        "b=\xc2\x85",
        {"session"}, "a=x\xc3\xa0; b=\xc2\x85"},
    {"tab around pairs", "\ta=1\t;\tsession=1", {"session"}, "a=1"},
};

/* Better Auth's chunked session_data: "sd.0", "sd.1", ... joined in
 * index order when "sd" itself is absent. */
static const struct find_case chunk_cases[] = {
    {"plain name, no chunks", {"sd=abc", NULL}, "sd", AUTH_OK, "abc"},
    {"plain name wins over chunks", {"sd.0=x; sd=abc; sd.1=y", NULL}, "sd",
        AUTH_OK, "abc"},
    {"two chunks in order", {"sd.0=ab; sd.1=cd", NULL}, "sd", AUTH_OK, "abcd"},
    {"chunks out of order", {"sd.2=ef; sd.0=ab; sd.1=cd", NULL}, "sd", AUTH_OK,
        "abcdef"},
    {"chunks across headers", {"sd.1=cd", "a=1; sd.0=ab", NULL}, "sd", AUTH_OK,
        "abcd"},
    {"each chunk percent-decoded", {"sd.0=a%2B; sd.1=%3D", NULL}, "sd", AUTH_OK,
        "a+="},
    {"each chunk unquoted", {"sd.0=\"ab\"; sd.1=cd", NULL}, "sd", AUTH_OK,
        "abcd"},
    {"stops at a gap", {"sd.0=ab; sd.2=ef", NULL}, "sd", AUTH_OK, "ab"},
    {"no chunk 0", {"sd.1=cd; sd.2=ef", NULL}, "sd", AUTH_NO_TOKEN, NULL},
    {"leading zero is no chunk", {"sd.00=ab", NULL}, "sd", AUTH_NO_TOKEN, NULL},
    {"sign is no chunk", {"sd.+0=ab", NULL}, "sd", AUTH_NO_TOKEN, NULL},
    {"another name's chunk", {"sdx.0=ab", NULL}, "sd", AUTH_NO_TOKEN, NULL},
    {"a chunk twice, same value", {"sd.0=ab; sd.1=cd; sd.0=ab", NULL}, "sd",
        AUTH_OK, "abcd"},
    {"a chunk twice, other value", {"sd.0=ab; sd.1=cd; sd.1=ce", NULL}, "sd",
        AUTH_AMBIGUOUS, NULL},
    {"a malformed chunk", {"sd.0=ab; sd.1=c%zz", NULL}, "sd", AUTH_MALFORMED,
        NULL},
    {"no cookie at all", {"a=1", NULL}, "sd", AUTH_NO_TOKEN, NULL},
};

static void
test_find_chunked(void)
{
	static char big[AUTH_MAX_COOKIE_HEADER_LEN];
	char out[AUTH_MAX_COOKIE_VALUE_LEN + 1];
	struct auth_view hv[MAX_HDRS];
	size_t i, k, n, out_len;
	enum auth_status st;

	for (i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
		const struct find_case *tc = &chunk_cases[i];

		for (n = 0, k = 0; tc->hdrs[k] != NULL; k++, n++) {
			hv[k].len = strlen(tc->hdrs[k]);
			hv[k].ptr =
			    guard_put(&guards[k], tc->hdrs[k], hv[k].len);
		}
		out_len = 12345;
		st = auth_cookie_find_chunked(hv, n, tc->cookie, out,
		    sizeof(out), &out_len);
		is_int(st, tc->want, "chunked: %s", tc->name);
		if (tc->want == AUTH_OK && st == AUTH_OK) {
			is_str(out, tc->want_val, "chunked: %s: value",
			    tc->name);
			is_int(out_len, strlen(tc->want_val),
			    "chunked: %s: length", tc->name);
		}
	}

	/* Two chunks of 4000 fit AUTH_MAX_COOKIE_VALUE_LEN; three do not. */
	for (k = 0; k < 3; k++) {
		size_t off = (size_t)snprintf(big, sizeof(big), "sd.0=");

		for (i = 0; i <= k; i++) {
			if (i > 0)
				off += (size_t)snprintf(big + off,
				    sizeof(big) - off, "; sd.%zu=", i);
			memset(big + off, 'a' + (int)i, 4000);
			off += 4000;
		}
		hv[0].ptr = guard_put(&guards[0], big, off);
		hv[0].len = off;
		st = auth_cookie_find_chunked(hv, 1, "sd", out, sizeof(out),
		    &out_len);
		if (k < 2) {
			is_int(st, AUTH_OK, "chunked: %zu chunks of 4000",
			    k + 1);
			ok(st == AUTH_OK && out_len == 4000 * (k + 1) &&
			        out[0] == 'a' &&
			        out[out_len - 1] == 'a' + (int)k,
			    "chunked: %zu chunks joined in order", k + 1);
		} else {
			is_int(st, AUTH_TOO_LARGE,
			    "chunked: 12000 bytes refused");
		}
	}
	/* a small |out| is never overrun */
	hv[0].ptr = guard_put(&guards[0], "sd.0=abc; sd.1=def", 18);
	hv[0].len = 18;
	is_int(auth_cookie_find_chunked(hv, 1, "sd", out, 5, &out_len),
	    AUTH_TOO_LARGE, "chunked: joined value over |out_cap|");
	is_int(auth_cookie_find_chunked(hv, 1, "sd", out, 7, &out_len), AUTH_OK,
	    "chunked: exactly fits |out_cap|");
}

static void
test_strip(void)
{
	char out[256], *s, *big;
	size_t i, out_len;

	for (i = 0; i < sizeof(strip_cases) / sizeof(strip_cases[0]); i++) {
		const struct strip_case *tc = &strip_cases[i];
		size_t nn = 0, len = strlen(tc->in);
		const char *in = guard_put(&guards[0], tc->in, len);
		int r;

		while (nn < 3 && tc->names[nn] != NULL)
			nn++;
		r = auth_cookie_strip(in, len, tc->names, nn, out, sizeof(out),
		    &out_len);
		is_int(r, tc->want ? 0 : -1, "strip: %s", tc->name);
		if (r == 0 && tc->want) {
			is_str(out, tc->want, "strip: %s: header", tc->name);
			is_int(out_len, strlen(tc->want), "strip: %s: length",
			    tc->name);
		}
	}

	/* |out| exactly big enough (with the NUL), then one short. */
	{
		const char *names[] = {"session"};
		const char *in = "a=1; session=x; b=2";

		is_int(auth_cookie_strip(in, strlen(in), names, 1, out, 9,
		           &out_len),
		    0, "strip: exact out_cap");
		is_str(out, "a=1; b=2", "strip: exact out_cap: header");
		is_int(auth_cookie_strip(in, strlen(in), names, 1, out, 8,
		           &out_len),
		    -1, "strip: out_cap one short");
	}

	/* Over the limits: refused. */
	{
		const char *names[] = {"session"};
		size_t plen = 0;

		big = malloc(AUTH_MAX_COOKIE_HEADER_LEN + 64);
		s = make_cookie("a=", AUTH_MAX_COOKIE_HEADER_LEN - 1, 'x', "");
		is_int(auth_cookie_strip(s, strlen(s), names, 1, big,
		           AUTH_MAX_COOKIE_HEADER_LEN + 64, &out_len),
		    -1, "strip: header over the limit");
		free(s);
		s = malloc(AUTH_MAX_COOKIES * 16);
		if (s == NULL || big == NULL)
			exit(2);
		for (i = 0; i <= AUTH_MAX_COOKIES; i++)
			plen += (size_t)sprintf(s + plen, "c%zu=1; ", i);
		is_int(auth_cookie_strip(s, plen, names, 1, big,
		           AUTH_MAX_COOKIE_HEADER_LEN + 64, &out_len),
		    -1, "strip: %d pairs", AUTH_MAX_COOKIES + 1);
		free(s);
		free(big);
	}
}

/* The value decoder's fast path (no '%') against a byte-at-a-time
 * reference, over random values and caps: same status, same bytes. */
static int
ref_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static enum auth_status
ref_decode(const char *in, size_t len, size_t cap, char *out, size_t *n_out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			if (len - i < 3 ||
			    ref_hex((unsigned char)in[i + 1]) < 0 ||
			    ref_hex((unsigned char)in[i + 2]) < 0)
				return AUTH_MALFORMED;
			c = (unsigned char)(ref_hex((unsigned char)in[i + 1])
			        << 4 |
			    ref_hex((unsigned char)in[i + 2]));
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return AUTH_MALFORMED;
		if (n >= cap)
			return AUTH_TOO_LARGE;
		out[n++] = (char)c;
	}
	*n_out = n;
	return n == 0 ? AUTH_NO_TOKEN : AUTH_OK;
}

static void
test_decode_differential(void)
{
	static const char alphabet[] = "aZ09-_.%4fE\x01\x1f\x7f\x80\xff";
	unsigned seed = 12345;
	int i, same = 1;

	for (i = 0; i < 20000 && same; i++) {
		char hdr[64], val[40], out[40], want[40];
		struct auth_view v;
		size_t len, cap, k, got_len = 0, want_len = 0;
		enum auth_status got, exp;

		seed = seed * 1103515245u + 12345u;
		len = 1 + (seed >> 16) % 24;
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			/* a value with no '%' in half the cases */
			val[k] = alphabet[(seed >> 16) %
			    ((i & 1) ? sizeof(alphabet) - 1 : 7)];
		}
		seed = seed * 1103515245u + 12345u;
		cap = 2 + (seed >> 16) % 30; /* out_cap: room for the NUL */
		memcpy(hdr, "k=", 2);
		memcpy(hdr + 2, val, len);
		v.ptr = hdr;
		v.len = len + 2;
		got = auth_cookie_find(&v, 1, "k", out, cap, &got_len);
		exp = ref_decode(val, len, cap - 1, want, &want_len);
		if (got != exp ||
		    (got == AUTH_OK &&
		        (got_len != want_len ||
		            memcmp(out, want, want_len) != 0)))
			same = 0;
	}
	ok(same, "decoding matches the byte-at-a-time reference (%d cases)", i);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < MAX_HDRS; i++)
		guard_init(&guards[i]);
	test_find_table();
	test_find_limits();
	test_find_chunked();
	test_strip();
	test_decode_differential();
	return tap_done();
}
