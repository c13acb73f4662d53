/* SPDX-License-Identifier: MIT */
/* Tests for proxy/http1.c: request and response heads (every smuggling
 * shape the integration suite sends, at every split point), the chunked
 * decoder at every split, and the field helpers. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "http1.h"
#include "tap.h"

static struct guard g;

#define OKH 0 /* want: the whole input is one complete head */

/* ------------------------------------------------------------ requests */

#define H "Host: a\r\nCookie: token=x\r\n"

struct req_case {
	const char *name;
	const char *in;
	int want;         /* OKH, H1_INCOMPLETE or H1_ERROR */
	int status;       /* with H1_ERROR */
	const char *code; /* with H1_ERROR */
};

static const struct req_case req_cases[] = {
    /* accepted */
    {"simple GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", OKH, 0, NULL},
    {"HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\n\r\n", OKH, 0, NULL},
    {"every method", "DELETE /x HTTP/1.1\r\n" H "\r\n", OKH, 0, NULL},
    {"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", OKH, 0,
        NULL},
    {"chunked POST",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n", OKH, 0,
        NULL},
    {"CL 18 digits",
        "POST /t HTTP/1.1\r\n" H "Content-Length: 999999999999999999\r\n\r\n",
        OKH, 0, NULL},
    {"obs-text in a value",
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: \xe9\xff\r\n\r\n", OKH, 0, NULL},
    {"empty value", "GET / HTTP/1.1\r\nHost: a\r\nX-A:\r\n\r\n", OKH, 0, NULL},
    {"absolute-form", "GET http://example.com/a?b HTTP/1.1\r\nHost: a\r\n\r\n",
        OKH, 0, NULL},
    {"absolute-form HTTPS upper",
        "GET HTTPS://e.com HTTP/1.1\r\nHost: a\r\n\r\n", OKH, 0, NULL},
    {"Content_Length is another field",
        "GET / HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\n\r\n", OKH, 0, NULL},

    /* the smuggling shapes of tests/integration/test_http.py */
    {"cl_and_te",
        "POST /t HTTP/1.1\r\n" H "Content-Length: 38\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        H1_ERROR, 400, "content_length_with_transfer_encoding"},
    {"te_and_cl",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n"
        "Content-Length: 4\r\n\r\n",
        H1_ERROR, 400, "content_length_with_transfer_encoding"},
    {"duplicate_cl_differs",
        "POST /t HTTP/1.1\r\n" H "Content-Length: 3\r\n"
        "Content-Length: 5\r\n\r\n",
        H1_ERROR, 400, "duplicate_content_length"},
    {"duplicate_cl_same",
        "POST /t HTTP/1.1\r\n" H "Content-Length: 3\r\n"
        "Content-Length: 3\r\n\r\n",
        H1_ERROR, 400, "duplicate_content_length"},
    {"cl_list", "POST /t HTTP/1.1\r\n" H "Content-Length: 3, 3\r\n\r\n",
        H1_ERROR, 400, "bad_content_length"},
    {"cl_plus", "POST /t HTTP/1.1\r\n" H "Content-Length: +3\r\n\r\n", H1_ERROR,
        400, "bad_content_length"},
    {"cl_negative", "POST /t HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n",
        H1_ERROR, 400, "bad_content_length"},
    {"cl_hex", "POST /t HTTP/1.1\r\n" H "Content-Length: 0x3\r\n\r\n", H1_ERROR,
        400, "bad_content_length"},
    {"cl_empty", "POST /t HTTP/1.1\r\n" H "Content-Length: \r\n\r\n", H1_ERROR,
        400, "bad_content_length"},
    {"cl_huge",
        "POST /t HTTP/1.1\r\n" H
        "Content-Length: 99999999999999999999999\r\n\r\n",
        H1_ERROR, 400, "bad_content_length"},
    {"cl 19 digits",
        "POST /t HTTP/1.1\r\n" H "Content-Length: 1000000000000000000\r\n\r\n",
        H1_ERROR, 400, "bad_content_length"},
    {"cl inner space", "POST /t HTTP/1.1\r\n" H "Content-Length: 1 2\r\n\r\n",
        H1_ERROR, 400, "bad_content_length"},
    {"te_chunked_gzip",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n",
        H1_ERROR, 400, "bad_transfer_encoding"},
    {"te_gzip_chunked",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n",
        H1_ERROR, 400, "bad_transfer_encoding"},
    {"te_upper_space",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: CHUNKED \r\n\r\n",
        H1_ERROR, 400, "bad_transfer_encoding"},
    {"te Chunked",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: Chunked\r\n\r\n", OKH, 0,
        NULL},
    {"te trailing tab",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: chunked\t\r\n\r\n",
        H1_ERROR, 400, "bad_transfer_encoding"},
    {"te leading tab",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding:\tchunked\r\n\r\n", OKH, 0,
        NULL},
    {"te xchunked",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n\r\n",
        H1_ERROR, 400, "bad_transfer_encoding"},
    {"te_gzip", "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n",
        H1_ERROR, 400, "bad_transfer_encoding"},
    {"te_twice",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        H1_ERROR, 400, "bad_transfer_encoding"},
    {"te_vtab",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding:\x0b"
        "chunked\r\n\r\n",
        H1_ERROR, 400, "control_byte"},
    {"te_http10", "POST /t HTTP/1.0\r\n" H "Transfer-Encoding: chunked\r\n\r\n",
        H1_ERROR, 400, "bad_transfer_encoding"},
    {"te empty", "POST /t HTTP/1.1\r\n" H "Transfer-Encoding:\r\n\r\n",
        H1_ERROR, 400, "bad_transfer_encoding"},
    {"obs_fold", "GET /t HTTP/1.1\r\n" H "X-Folded: a\r\n b\r\n\r\n", H1_ERROR,
        400, "obs_fold"},
    {"obs_fold_tab", "GET /t HTTP/1.1\r\n" H "X-Folded: a\r\n\tb\r\n\r\n",
        H1_ERROR, 400, "obs_fold"},
    {"fold before the first field", "GET /t HTTP/1.1\r\n Host: a\r\n\r\n",
        H1_ERROR, 400, "obs_fold"},
    {"bare_lf_header", "GET /t HTTP/1.1\r\n" H "X-A: 1\nX-B: 2\r\n\r\n",
        H1_ERROR, 400, "bare_lf"},
    {"bare_lf_request_line", "GET /t HTTP/1.1\n" H "\r\n", H1_ERROR, 400,
        "bare_lf"},
    {"bare lf end", "GET /t HTTP/1.1\r\n" H "\n", H1_ERROR, 400, "bare_lf"},
    {"bare_cr", "GET /t HTTP/1.1\r\n" H "X-A: 1\rX-B: 2\r\n\r\n", H1_ERROR, 400,
        "bare_cr"},
    {"bare cr end", "GET /t HTTP/1.1\r\n" H "\rX", H1_ERROR, 400, "bare_cr"},
    {"nul_in_value", "GET /t HTTP/1.1\r\n" H "X-A: a\0b\r\n\r\n", H1_ERROR, 400,
        "control_byte"},
    {"nul_in_name", "GET /t HTTP/1.1\r\n" H "X-\0A: a\r\n\r\n", H1_ERROR, 400,
        "bad_field_name"},
    {"del in value", "GET /t HTTP/1.1\r\n" H "X-A: a\x7f\r\n\r\n", H1_ERROR,
        400, "control_byte"},
    {"space_before_colon", "GET /t HTTP/1.1\r\n" H "X-A : 1\r\n\r\n", H1_ERROR,
        400, "bad_field_name"},
    {"space_before_colon_cl",
        "POST /t HTTP/1.1\r\n" H "Content-Length : 3\r\n\r\n", H1_ERROR, 400,
        "bad_field_name"},
    {"space_before_colon_te",
        "POST /t HTTP/1.1\r\n" H "Transfer-Encoding : chunked\r\n\r\n",
        H1_ERROR, 400, "bad_field_name"},
    {"empty_header_name", "GET /t HTTP/1.1\r\n" H ": x\r\n\r\n", H1_ERROR, 400,
        "bad_field"},
    {"no colon", "GET /t HTTP/1.1\r\n" H "X-A\r\n\r\n", H1_ERROR, 400,
        "bad_field"},
    {"separator in name", "GET /t HTTP/1.1\r\n" H "X(A): 1\r\n\r\n", H1_ERROR,
        400, "bad_field_name"},
    {"missing_host", "GET /t HTTP/1.1\r\nCookie: token=x\r\n\r\n", H1_ERROR,
        400, "missing_host"},
    {"missing host on 1.0", "GET /t HTTP/1.0\r\n\r\n", H1_ERROR, 400,
        "missing_host"},
    {"two_hosts", "GET /t HTTP/1.1\r\n" H "Host: evil.example\r\n\r\n",
        H1_ERROR, 400, "duplicate_host"},
    {"empty host", "GET /t HTTP/1.1\r\nHost:\r\n\r\n", H1_ERROR, 400,
        "bad_host"},
    {"host with space", "GET /t HTTP/1.1\r\nHost: a b\r\n\r\n", H1_ERROR, 400,
        "bad_host"},
    {"host with userinfo", "GET /t HTTP/1.1\r\nHost: u@a\r\n\r\n", H1_ERROR,
        400, "bad_host"},
    {"host list", "GET /t HTTP/1.1\r\nHost: a,b\r\n\r\n", H1_ERROR, 400,
        "bad_host"},
    {"host path", "GET /t HTTP/1.1\r\nHost: a/b\r\n\r\n", H1_ERROR, 400,
        "bad_host"},
    {"host backslash", "GET /t HTTP/1.1\r\nHost: a\\b\r\n\r\n", H1_ERROR, 400,
        "bad_host"},
    {"connect", "CONNECT 127.0.0.1:22 HTTP/1.1\r\n" H "\r\n", H1_ERROR, 501,
        "method_not_supported"},
    {"trace", "TRACE / HTTP/1.1\r\n" H "\r\n", H1_ERROR, 501,
        "method_not_supported"},
    {"lower-case method", "get / HTTP/1.1\r\n" H "\r\n", H1_ERROR, 501,
        "method_not_supported"},
    {"bad method byte", "G(T / HTTP/1.1\r\n" H "\r\n", H1_ERROR, 400,
        "bad_method"},
    {"upgrade_h2c",
        "GET /t HTTP/1.1\r\n" H "Connection: Upgrade, HTTP2-Settings\r\n"
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"
        "\r\n\r\n",
        H1_ERROR, 400, "h2c_refused"},
    {"http2-settings alone",
        "GET /t HTTP/1.1\r\n" H "HTTP2-Settings: AAMAAABk\r\n\r\n", H1_ERROR,
        400, "h2c_refused"},
    {"http2_version", "GET /t HTTP/2.0\r\n" H "\r\n", H1_ERROR, 505,
        "version_not_supported"},
    {"http09_style", "GET /api/u1/tasks\r\n\r\n", H1_ERROR, 400,
        "bad_request_line"},
    {"bad_version", "GET /t HTTP/1.10\r\n" H "\r\n", H1_ERROR, 400,
        "bad_version"},
    {"lowercase_method_version", "GET /t http/1.1\r\n" H "\r\n", H1_ERROR, 400,
        "bad_version"},
    {"double_space_request_line", "GET  /t HTTP/1.1\r\n" H "\r\n", H1_ERROR,
        400, "bad_request_line"},
    {"space after version", "GET /t HTTP/1.1 \r\n" H "\r\n", H1_ERROR, 400,
        "bad_version"},
    {"three spaces", "GET /t x HTTP/1.1\r\n" H "\r\n", H1_ERROR, 400,
        "bad_version"},
    {"prior_knowledge_h2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", H1_ERROR, 505,
        "version_not_supported"},
    {"HTTP/0.9 version", "GET / HTTP/0.9\r\n" H "\r\n", H1_ERROR, 505,
        "version_not_supported"},
    {"fragment", "GET /a#b HTTP/1.1\r\n" H "\r\n", H1_ERROR, 400, "bad_target"},
    {"obs-text in target", "GET /\xe9 HTTP/1.1\r\n" H "\r\n", H1_ERROR, 400,
        "bad_target"},
    {"asterisk-form", "OPTIONS * HTTP/1.1\r\n" H "\r\n", H1_ERROR, 400,
        "bad_target"},
    {"authority-form", "GET a:80 HTTP/1.1\r\n" H "\r\n", H1_ERROR, 400,
        "bad_target"},
    {"ftp scheme", "GET ftp://a/ HTTP/1.1\r\n" H "\r\n", H1_ERROR, 400,
        "bad_target"},
    {"absolute without authority", "GET http:///x HTTP/1.1\r\n" H "\r\n",
        H1_ERROR, 400, "bad_target"},
    {"absolute with userinfo", "GET http://u@a/ HTTP/1.1\r\n" H "\r\n",
        H1_ERROR, 400, "bad_target"},
    {"leading bare LF", "\nGET / HTTP/1.1\r\n" H "\r\n", H1_ERROR, 400,
        "bare_lf"},
    {"leading bare CR", "\rGET / HTTP/1.1\r\n" H "\r\n", H1_ERROR, 400,
        "bare_cr"},

    /* incomplete forever-valid prefixes */
    {"empty", "", H1_INCOMPLETE, 0, NULL},
    {"no end yet", "GET / HTTP/1.1\r\nHost: a\r\n", H1_INCOMPLETE, 0, NULL},
    {"a CR at the end", "GET / HTTP/1.1\r\nHost: a\r\n\r", H1_INCOMPLETE, 0,
        NULL},
};

static int
parse_req(const char *in, size_t len, const struct h1_limits *lim,
    struct h1_request *r, struct h1_field *f, size_t cap, struct h1_error *e)
{
	const char *p = guard_put(&g, in, len);

	return h1_parse_request(p, len, lim, r, f, cap, e);
}

/* Every view of |r| lies inside [buf, buf + len). */
static bool
req_views_inside(const struct h1_request *r, const char *buf, size_t len)
{
#define IN(p, n) ((n) == 0 || ((p) >= buf && (size_t)((p)-buf) + (n) <= len))
	size_t i;

	if (!IN(r->method, r->method_len) || !IN(r->target, r->target_len) ||
	    !IN(r->path, r->path_len) || !IN(r->authority, r->authority_len) ||
	    !IN(r->host, r->host_len))
		return false;
	for (i = 0; i < r->n_fields; i++)
		if (!IN(r->fields[i].name, r->fields[i].name_len) ||
		    !IN(r->fields[i].value, r->fields[i].value_len))
			return false;
	return true;
#undef IN
}

static void
test_request_table(void)
{
	struct h1_field f[128];
	struct h1_request r;
	struct h1_error e;
	size_t i, k, len;

	for (i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		int rc, want;
		bool prefixes_ok = true;

		len = strlen(c->in);
		/* the NUL cases: the table strings hold a NUL on purpose */
		if (strstr(c->name, "nul_in") != NULL)
			len += strlen(c->in + len + 1) + 1;
		want = c->want == OKH ? (int)len : c->want;
		rc = parse_req(c->in, len, NULL, &r, f, 128, &e);
		is_int(rc, want, "request %s: verdict", c->name);
		if (c->want == H1_ERROR && rc == H1_ERROR) {
			is_int(e.status, c->status, "request %s: status",
			    c->name);
			is_str(e.code, c->code, "request %s: code", c->name);
		}
		if (rc > 0)
			ok(req_views_inside(&r, g.base + g.size - len, len),
			    "request %s: views inside the input", c->name);
		/* Every prefix: incomplete, or the same verdict. */
		for (k = 0; k < len; k++) {
			struct h1_error pe;
			int prc = parse_req(c->in, k, NULL, &r, f, 128, &pe);

			if (prc == H1_INCOMPLETE)
				continue;
			if (prc != H1_ERROR || rc != H1_ERROR ||
			    pe.status != e.status ||
			    strcmp(pe.code, e.code) != 0) {
				printf("#   prefix %zu gave %d (%s)\n", k, prc,
				    prc == H1_ERROR ? pe.code : "-");
				prefixes_ok = false;
				break;
			}
		}
		ok(prefixes_ok, "request %s: every prefix agrees", c->name);
	}
}

static void
test_request_views(void)
{
	static const char in[] =
	    "\r\nPOST http://Example.com:8080?q=1 HTTP/1.0\r\n"
	    "Host: other:1\r\n"
	    "X-A:  \t v v \t \r\n"
	    "Connection: keep-alive\r\n"
	    "Content-Length: 12\r\n"
	    "x_forwarded_for: 1.2.3.4\r\n"
	    "\r\nbody";
	struct h1_field f[8];
	struct h1_request r;
	struct h1_error e;
	size_t len = sizeof(in) - 1;
	int rc = parse_req(in, len, NULL, &r, f, 8, &e);

	is_int(rc, (int)len - 4, "views: head length excludes the body");
	ok(r.meth == H1_M_POST && r.method_len == 4 &&
	        memcmp(r.method, "POST", 4) == 0,
	    "views: method");
	ok(r.absolute_form && r.target_len == 27, "views: absolute target");
	ok(r.path_len == 4 && memcmp(r.path, "?q=1", 4) == 0,
	    "views: path is what follows the authority");
	ok(r.authority_len == 16 &&
	        memcmp(r.authority, "Example.com:8080", 16) == 0,
	    "views: the target's authority wins over Host");
	ok(r.host_len == 7 && memcmp(r.host, "other:1", 7) == 0,
	    "views: Host value");
	is_int(r.minor, 0, "views: minor");
	is_int(r.n_fields, 5, "views: fields");
	ok(f[1].value_len == 3 && memcmp(f[1].value, "v v", 3) == 0,
	    "views: OWS trimmed both sides, inner kept");
	is_int(f[0].tok, H1_T_HOST, "views: Host token");
	is_int(f[2].tok, H1_T_CONNECTION, "views: Connection token");
	is_int(f[4].tok, H1_T_OTHER, "views: x_forwarded_for is not a token");
	is_int(h1_token_lookup_loose(f[4].name, f[4].name_len),
	    H1_T_X_FORWARDED_FOR, "views: but loosely it is X-Forwarded-For");
	ok(r.body == H1_BODY_LENGTH && r.content_length == 12,
	    "views: Content-Length body");
	ok(r.keep_alive, "views: HTTP/1.0 with keep-alive persists");
	ok(req_views_inside(&r, g.base + g.size - len, len),
	    "views: all inside the input");
}

struct flags_case {
	const char *name;
	const char *in;
	bool keep_alive, expect, ws;
	enum h1_body body;
	uint64_t cl;
};

static const struct flags_case flags_cases[] = {
    {"1.1 default", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, false, false,
        H1_BODY_NONE, 0},
    {"1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        false, false, false, H1_BODY_NONE, 0},
    {"1.1 close in a list",
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n",
        false, false, false, H1_BODY_NONE, 0},
    {"1.0 default", "GET / HTTP/1.0\r\nHost: a\r\n\r\n", false, false, false,
        H1_BODY_NONE, 0},
    {"1.0 keep-alive",
        "GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n", true,
        false, false, H1_BODY_NONE, 0},
    {"expect",
        "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
        "Content-Length: 0\r\n\r\n",
        true, true, false, H1_BODY_LENGTH, 0},
    {"websocket",
        "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
        "Connection: keep-alive, Upgrade\r\n\r\n",
        true, false, true, H1_BODY_NONE, 0},
    {"websocket needs Connection: upgrade",
        "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", true,
        false, false, H1_BODY_NONE, 0},
    {"websocket needs GET",
        "POST /ws HTTP/1.1\r\nHost: a\r\n"
        "Upgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        true, false, false, H1_BODY_NONE, 0},
    {"websocket needs 1.1",
        "GET /ws HTTP/1.0\r\nHost: a\r\n"
        "Upgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        false, false, false, H1_BODY_NONE, 0},
    {"chunked",
        "POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        true, false, false, H1_BODY_CHUNKED, 0},
    {"CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000123\r\n\r\n", true,
        false, false, H1_BODY_LENGTH, 123},
};

static void
test_request_flags(void)
{
	struct h1_field f[16];
	struct h1_request r;
	struct h1_error e;
	size_t i;

	for (i = 0; i < sizeof(flags_cases) / sizeof(flags_cases[0]); i++) {
		const struct flags_case *c = &flags_cases[i];
		size_t len = strlen(c->in);
		int rc = parse_req(c->in, len, NULL, &r, f, 16, &e);

		if (rc != (int)len) {
			ok(0, "flags %s: parsed (%s)", c->name, e.code);
			continue;
		}
		ok(r.keep_alive == c->keep_alive &&
		        r.expect_continue == c->expect &&
		        r.upgrade_websocket == c->ws && r.body == c->body &&
		        r.content_length == c->cl,
		    "flags %s", c->name);
	}
}

/* Builds "GET /<target> HTTP/1.1\r\nHost: a\r\n<fields>\r\n". */
static size_t
build(char *buf, size_t cap, size_t target_len, size_t n_fields,
    size_t field_len)
{
	size_t n = 0, i;

	n += (size_t)snprintf(buf + n, cap - n, "GET /");
	for (i = 1; i < target_len; i++)
		buf[n++] = 'a';
	n += (size_t)snprintf(buf + n, cap - n, " HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < n_fields; i++) {
		size_t k;

		/* "X-nnnn: vvv", |field_len| bytes in all */
		n += (size_t)snprintf(buf + n, cap - n, "X-%04zu: ", i);
		for (k = 8; k < field_len; k++)
			buf[n++] = 'v';
		buf[n++] = '\r';
		buf[n++] = '\n';
	}
	buf[n++] = '\r';
	buf[n++] = '\n';
	return n;
}

static void
test_limits(void)
{
	static char buf[GUARD_MAX];
	struct h1_field f[200];
	struct h1_request r;
	struct h1_error e;
	struct h1_limits lim;
	size_t len;
	int rc;

	h1_limits_init(&lim);
	/* the target: 8192 bytes pass, 8193 are 414 */
	len = build(buf, sizeof(buf), 8192, 0, 0);
	is_int(parse_req(buf, len, NULL, &r, f, 200, &e), (int)len,
	    "limits: target of max_target bytes");
	len = build(buf, sizeof(buf), 8193, 0, 0);
	rc = parse_req(buf, len, NULL, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 414 && e.at == 4 + 8192,
	    "limits: one byte over max_target is 414 at that byte");
	rc = parse_req(buf, 5 + 8193, NULL, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 414,
	    "limits: 414 before the request line ends");
	len = build(buf, sizeof(buf), 40000, 0, 0);
	rc = parse_req(buf, len, NULL, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 414, "limits: 40000-byte target");

	/* one field line: 8192 bytes pass, 8193 are 431 */
	len = build(buf, sizeof(buf), 1, 1, 8192);
	is_int(parse_req(buf, len, NULL, &r, f, 200, &e), (int)len,
	    "limits: field line of max_line bytes");
	len = build(buf, sizeof(buf), 1, 1, 8193);
	rc = parse_req(buf, len, NULL, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 431 &&
	        strcmp(e.code, "field_too_large") == 0,
	    "limits: field line of max_line + 1 bytes is 431");
	len = build(buf, sizeof(buf), 1, 1, 40000);
	rc = parse_req(buf, 30000, NULL, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 431,
	    "limits: a 40000-byte field is refused before its end");

	/* fields: 99 + Host pass, 100 + Host are 431 */
	len = build(buf, sizeof(buf), 1, 99, 12);
	is_int(parse_req(buf, len, NULL, &r, f, 200, &e), (int)len,
	    "limits: max_fields fields");
	len = build(buf, sizeof(buf), 1, 100, 12);
	rc = parse_req(buf, len, NULL, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 431 &&
	        strcmp(e.code, "too_many_fields") == 0,
	    "limits: max_fields + 1 fields is 431");
	len = build(buf, sizeof(buf), 1, 150, 12);
	rc = parse_req(buf, len, NULL, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 431, "limits: 150 fields");
	len = build(buf, sizeof(buf), 1, 10, 12);
	rc = parse_req(buf, len, NULL, &r, f, 5, &e);
	ok(rc == H1_ERROR && e.status == 431,
	    "limits: the caller's array bounds the fields too");

	/* the whole head: exactly max_head passes, one more is 431 */
	len = build(buf, sizeof(buf), 1, 2, 8);
	lim.max_head = len;
	is_int(parse_req(buf, len, &lim, &r, f, 200, &e), (int)len,
	    "limits: head of max_head bytes");
	lim.max_head = len - 1;
	rc = parse_req(buf, len, &lim, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 431 &&
	        strcmp(e.code, "head_too_large") == 0 && e.at == len - 1,
	    "limits: head of max_head + 1 bytes is 431");
	rc = parse_req(buf, len - 1, &lim, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 431,
	    "limits: 431 as soon as max_head bytes are not a head");
	rc = parse_req(buf, len - 2, &lim, &r, f, 200, &e);
	is_int(rc, H1_INCOMPLETE, "limits: incomplete below max_head");
	/* the default: 16384 */
	len = build(buf, sizeof(buf), 1, 30, 600);
	rc = parse_req(buf, len, NULL, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 431 &&
	        strcmp(e.code, "head_too_large") == 0,
	    "limits: default max_head");
	/* a smaller max_line, as issue 9 configures it */
	lim.max_head = 0;
	lim.max_line = 100;
	len = build(buf, sizeof(buf), 1, 1, 101);
	rc = parse_req(buf, len, &lim, &r, f, 200, &e);
	ok(rc == H1_ERROR && e.status == 431, "limits: configured max_line");
	len = build(buf, sizeof(buf), 1, 1, 100);
	is_int(parse_req(buf, len, &lim, &r, f, 200, &e), (int)len,
	    "limits: configured max_line, at the limit");
}

/* ----------------------------------------------------------- responses */

struct res_case {
	const char *name;
	const char *in;
	bool head_request;
	int want; /* OKH or H1_ERROR (or H1_INCOMPLETE) */
	const char *code;
	int status;
	enum h1_body body;
	bool has_cl;
	uint64_t cl;
	bool keep_alive;
};

#define RES_ERR(n, s, c)                                                       \
	{                                                                      \
		n, s, false, H1_ERROR, c, 0, 0, false, 0, false                \
	}

static const struct res_case res_cases[] = {
    {"200 CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, OKH, NULL,
        200, H1_BODY_LENGTH, true, 5, true},
    {"200 CL 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, OKH,
        NULL, 200, H1_BODY_LENGTH, true, 0, true},
    {"200 chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        false, OKH, NULL, 200, H1_BODY_CHUNKED, false, 0, true},
    {"200 to close", "HTTP/1.1 200 OK\r\n\r\n", false, OKH, NULL, 200,
        H1_BODY_CLOSE, false, 0, false},
    {"no reason", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", false, OKH, NULL,
        200, H1_BODY_LENGTH, true, 1, true},
    {"empty reason", "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n", false, OKH,
        NULL, 200, H1_BODY_LENGTH, true, 1, true},
    {"obs-text reason", "HTTP/1.1 200 \xc3\xa9t\xc3\xa9\r\n\r\n", false, OKH,
        NULL, 200, H1_BODY_CLOSE, false, 0, false},
    {"close",
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
        false, OKH, NULL, 200, H1_BODY_LENGTH, true, 2, false},
    {"1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", false, OKH, NULL,
        200, H1_BODY_LENGTH, true, 2, false},
    {"1.0 keep-alive",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
        false, OKH, NULL, 200, H1_BODY_LENGTH, true, 2, true},
    {"100", "HTTP/1.1 100 Continue\r\n\r\n", false, OKH, NULL, 100,
        H1_BODY_NONE, false, 0, true},
    {"103 with fields", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false,
        OKH, NULL, 103, H1_BODY_NONE, false, 0, true},
    {"101",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\n\r\n",
        false, OKH, NULL, 101, H1_BODY_NONE, false, 0, false},
    {"204 with CL", "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
        false, OKH, NULL, 204, H1_BODY_NONE, true, 3, true},
    {"304 with CL", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        false, OKH, NULL, 304, H1_BODY_NONE, true, 10, true},
    {"304 chunked",
        "HTTP/1.1 304 Not Modified\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        false, OKH, NULL, 304, H1_BODY_NONE, false, 0, true},
    {"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, OKH, NULL,
        200, H1_BODY_NONE, true, 99, true},
    {"HEAD chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        true, OKH, NULL, 200, H1_BODY_NONE, false, 0, true},
    {"HEAD, no length", "HTTP/1.1 200 OK\r\n\r\n", true, OKH, NULL, 200,
        H1_BODY_NONE, false, 0, true},
    {"599", "HTTP/1.1 599 x\r\n\r\n", false, OKH, NULL, 599, H1_BODY_CLOSE,
        false, 0, false},
    {"CL 18 digits",
        "HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n"
        "\r\n",
        false, OKH, NULL, 200, H1_BODY_LENGTH, true, 999999999999999999ULL,
        true},

    /* the hostile upstreams of tests/integration/test_adversarial.py */
    RES_ERR("cl_te",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        "content_length_with_transfer_encoding"),
    RES_ERR("te_cl",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        "Content-Length: 5\r\n\r\n",
        "content_length_with_transfer_encoding"),
    RES_ERR("two_cl",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
        "Content-Length: 5\r\n\r\n",
        "duplicate_content_length"),
    RES_ERR("two_cl_same",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
        "Content-Length: 5\r\n\r\n",
        "duplicate_content_length"),
    RES_ERR("cl_list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
        "bad_content_length"),
    RES_ERR("cl overflow",
        "HTTP/1.1 200 OK\r\n"
        "Content-Length: 18446744073709551617\r\n\r\n",
        "bad_content_length"),
    RES_ERR("cl 19 digits",
        "HTTP/1.1 200 OK\r\n"
        "Content-Length: 1000000000000000000\r\n\r\n",
        "bad_content_length"),
    RES_ERR("te_gzip_chunked",
        "HTTP/1.1 200 OK\r\n"
        "Transfer-Encoding: gzip, chunked\r\n\r\n",
        "bad_transfer_encoding"),
    {"CHUNKED", "HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n", false,
        OKH, NULL, 200, H1_BODY_CHUNKED, false, 0, true},
    RES_ERR("te trailing space",
        "HTTP/1.1 200 OK\r\n"
        "Transfer-Encoding: chunked \r\n\r\n",
        "bad_transfer_encoding"),
    RES_ERR("te twice",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        "bad_transfer_encoding"),
    RES_ERR("te on 1.0",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "bad_transfer_encoding"),
    RES_ERR("te_space_colon",
        "HTTP/1.1 200 OK\r\n"
        "Transfer-Encoding : chunked\r\n\r\n",
        "bad_field_name"),
    RES_ERR("obs_fold",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n"
        "Content-Length: 2\r\n\r\n",
        "obs_fold"),
    RES_ERR("bare_lf", "HTTP/1.1 200 OK\nContent-Length: 2\n\n", "bare_lf"),
    RES_ERR("bare cr", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "bare_cr"),
    RES_ERR("status_999", "HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\n",
        "bad_status"),
    RES_ERR("status 099", "HTTP/1.1 099 x\r\n\r\n", "bad_status"),
    RES_ERR("status 600", "HTTP/1.1 600 x\r\n\r\n", "bad_status"),
    RES_ERR("status two digits", "HTTP/1.1 20 OK\r\n\r\n", "bad_status"),
    RES_ERR("status four digits", "HTTP/1.1 2000 OK\r\n\r\n",
        "bad_status_line"),
    RES_ERR("HTTP/2", "HTTP/2 200 OK\r\n\r\n", "bad_status_line"),
    RES_ERR("HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", "bad_status_line"),
    RES_ERR("lower-case version", "http/1.1 200 OK\r\n\r\n", "bad_status_line"),
    RES_ERR("leading empty line", "\r\nHTTP/1.1 200 OK\r\n\r\n",
        "bad_status_line"),
    RES_ERR("CTL in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", "control_byte"),
    RES_ERR("two spaces", "HTTP/1.1  200 OK\r\n\r\n", "bad_status"),
};

static void
test_response_table(void)
{
	struct h1_field f[128];
	struct h1_response r;
	struct h1_error e;
	size_t i, k, len;

	for (i = 0; i < sizeof(res_cases) / sizeof(res_cases[0]); i++) {
		const struct res_case *c = &res_cases[i];
		const char *p;
		int rc, want;
		bool prefixes_ok = true;

		len = strlen(c->in);
		want = c->want == OKH ? (int)len : c->want;
		p = guard_put(&g, c->in, len);
		rc = h1_parse_response(p, len, NULL, c->head_request, &r, f,
		    128, &e);
		is_int(rc, want, "response %s: verdict", c->name);
		if (rc == H1_ERROR && c->want == H1_ERROR) {
			is_int(e.status, 502, "response %s: status", c->name);
			is_str(e.code, c->code, "response %s: code", c->name);
		}
		if (rc > 0 && c->want == OKH)
			ok(r.status == c->status && r.body == c->body &&
			        r.has_content_length == c->has_cl &&
			        r.content_length == c->cl &&
			        r.keep_alive == c->keep_alive,
			    "response %s: status %d body %d cl %d/%llu keep %d",
			    c->name, r.status, (int)r.body,
			    (int)r.has_content_length,
			    (unsigned long long)r.content_length,
			    (int)r.keep_alive);
		for (k = 0; k < len; k++) {
			struct h1_error pe;
			int prc;

			p = guard_put(&g, c->in, k);
			prc = h1_parse_response(p, k, NULL, c->head_request, &r,
			    f, 128, &pe);
			if (prc == H1_INCOMPLETE)
				continue;
			if (prc != H1_ERROR || rc != H1_ERROR ||
			    pe.status != e.status ||
			    strcmp(pe.code, e.code) != 0) {
				printf("#   prefix %zu gave %d\n", k, prc);
				prefixes_ok = false;
				break;
			}
		}
		ok(prefixes_ok, "response %s: every prefix agrees", c->name);
	}
}

static void
test_response_misc(void)
{
	static const char two[] =
	    "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static char big[GUARD_MAX];
	struct h1_field f[128];
	struct h1_response r;
	struct h1_error e;
	size_t n = 0, i;
	int rc, rc2;

	rc = h1_parse_response(two, sizeof(two) - 1, NULL, false, &r, f, 128,
	    &e);
	is_int(rc, 25, "1xx: only the interim head is consumed");
	rc2 = h1_parse_response(two + rc, sizeof(two) - 1 - (size_t)rc, NULL,
	    false, &r, f, 128, &e);
	ok(rc2 == 38 && r.status == 200 && r.reason_len == 2 &&
	        memcmp(r.reason, "OK", 2) == 0,
	    "1xx: then the final head");
	/* huge_head: 2000 fields of 100 bytes */
	n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < 2000 && n + 200 < sizeof(big); i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "X-H%zu: %0100d\r\n", i, 0);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	rc = h1_parse_response(guard_put(&g, big, n), n, NULL, false, &r, f,
	    128, &e);
	ok(rc == H1_ERROR && e.status == 502, "huge_head refused (%s)",
	    rc == H1_ERROR ? e.code : "-");
	/* the 101 that nobody asked for parses; the caller refuses it */
	rc = h1_parse_response(
	    "HTTP/1.1 101 Switching Protocols\r\n\r\nGET /evil", 45, NULL,
	    false, &r, f, 128, &e);
	ok(rc == 36 && r.status == 101 && !r.keep_alive,
	    "101: the bytes after the head are not consumed");
}

/* ------------------------------------------------------------- chunked */

struct chunk_case {
	const char *name;
	const char *in;
	enum h1_chunk_status want; /* DONE, ERROR, or NEED (input ends early) */
	const char *data;          /* decoded bytes, with DONE or NEED */
	const char *code;          /* with ERROR */
	size_t rest;               /* bytes left after DONE */
};

static const char trailer_nul[] = "0\r\nX: a\0\r\n\r\n";

static const struct chunk_case chunk_cases[] = {
    {"one chunk", "3\r\nabc\r\n0\r\n\r\n", H1_CHUNK_DONE, "abc", NULL, 0},
    {"two chunks", "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n", H1_CHUNK_DONE,
        "abc0123456789", NULL, 0},
    {"upper and lower hex", "a\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n",
        H1_CHUNK_DONE, "01234567890123456789a", NULL, 0},
    {"leading zeros", "0003\r\nabc\r\n000\r\n\r\n", H1_CHUNK_DONE, "abc", NULL,
        0},
    {"empty body", "0\r\n\r\n", H1_CHUNK_DONE, "", NULL, 0},
    {"extensions", "3;a=1;b=\"x y\"\r\nabc\r\n0;last\r\n\r\n", H1_CHUNK_DONE,
        "abc", NULL, 0},
    {"BWS before ;", "3 \t;a\r\nabc\r\n0\r\n\r\n", H1_CHUNK_DONE, "abc", NULL,
        0},
    {"trailers dropped", "3\r\nabc\r\n0\r\nX-T: 1\r\nAuthorization: b\r\n\r\n",
        H1_CHUNK_DONE, "abc", NULL, 0},
    {"bytes after the end stay", "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
        H1_CHUNK_DONE, "x", NULL, 16},
    {"16 digits", "000000000000000A\r\n0123456789\r\n0\r\n\r\n", H1_CHUNK_DONE,
        "0123456789", NULL, 0},
    {"16 F digits then data", "FFFFFFFFFFFFFFFF\r\nabc", H1_CHUNK_NEED, "abc",
        NULL, 0},
    {"unfinished", "3\r\nab", H1_CHUNK_NEED, "ab", NULL, 0},

    /* the chunk shapes of tests/integration/test_http.py and the
     * hostile upstreams of test_adversarial.py */
    {"chunk_size_overflow", "FFFFFFFFFFFFFFFFF1\r\nabc\r\n0\r\n\r\n",
        H1_CHUNK_ERROR, NULL, "chunk_size_too_large", 0},
    {"chunk_size_2pow64", "10000000000000000\r\nGET /x HTTP/1.1\r\n",
        H1_CHUNK_ERROR, NULL, "chunk_size_too_large", 0},
    {"chunk_size_17_digits", "10000000000000005\r\nhello\r\n0\r\n\r\n",
        H1_CHUNK_ERROR, NULL, "chunk_size_too_large", 0},
    {"17 digits of leading zeros", "00000000000000003\r\nabc\r\n0\r\n\r\n",
        H1_CHUNK_ERROR, NULL, "chunk_size_too_large", 0},
    {"chunk_size_junk", "3x\r\nabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bad_chunk_size", 0},
    {"chunk_size_negative", "-3\r\nabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bad_chunk_size", 0},
    {"0x prefix", "0x3\r\nabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bad_chunk_size", 0},
    {"empty size", "\r\nabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bad_chunk_size", 0},
    {"space first", " 3\r\nabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bad_chunk_size", 0},
    {"space without extension", "3 \r\nabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bad_chunk_size", 0},
    {"chunk_missing_crlf", "3\r\nabcX0\r\n\r\n", H1_CHUNK_ERROR, "abc",
        "bad_chunk_end", 0},
    {"LF after data", "3\r\nabc\n0\r\n\r\n", H1_CHUNK_ERROR, "abc",
        "bad_chunk_end", 0},
    {"CR CR after data", "3\r\nabc\r\r0\r\n\r\n", H1_CHUNK_ERROR, "abc",
        "bare_cr", 0},
    {"bare LF size line", "3\nabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bare_lf", 0},
    {"bare CR size line", "3\rabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bare_cr", 0},
    {"bare LF in extension", "3;a\nabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bare_lf", 0},
    {"CTL in extension", "3;a\x01\r\nabc\r\n0\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bad_chunk_ext", 0},
    {"bare LF final line", "0\r\n\n", H1_CHUNK_ERROR, NULL, "bare_lf", 0},
    {"bare CR final line", "0\r\n\rx", H1_CHUNK_ERROR, NULL, "bare_cr", 0},
    {"trailer obs-fold", "0\r\nX: 1\r\n 2\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "obs_fold", 0},
    {"trailer bare LF", "0\r\nX: 1\n\r\n", H1_CHUNK_ERROR, NULL, "bare_lf", 0},
    {"trailer space before colon", "0\r\nX : 1\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bad_trailer", 0},
    {"trailer without colon", "0\r\nX\r\n\r\n", H1_CHUNK_ERROR, NULL,
        "bad_trailer", 0},
    {"trailer NUL", trailer_nul, H1_CHUNK_ERROR, NULL, "bad_trailer", 0},
};

/* Decodes |in| fed in pieces of |step| bytes (0: all at once), guard page
 * after each piece. Appends data to |out|; returns the final status and
 * the bytes left after DONE in |*rest|. */
static enum h1_chunk_status
decode(const char *in, size_t len, size_t step, char *out, size_t *out_len,
    const char **code, size_t *rest, bool *views_ok)
{
	struct h1_chunked c;
	size_t off = 0;
	enum h1_chunk_status st;

	h1_chunked_init(&c);
	*out_len = 0;
	*rest = 0;
	*code = NULL;
	for (;;) {
		size_t piece = step == 0 || len - off < step ? len - off : step;
		const char *p = guard_put(&g, in + off, piece);
		size_t used = 0, consumed, dl;
		const char *d;

		for (;;) {
			st = h1_chunked_step(&c, p + used, piece - used,
			    &consumed, &d, &dl);
			if (consumed > piece - used)
				*views_ok = false;
			if (st == H1_CHUNK_DATA) {
				if (dl == 0 || d < p + used ||
				    d + dl > p + used + consumed)
					*views_ok = false;
				memcpy(out + *out_len, d, dl);
				*out_len += dl;
			}
			used += consumed;
			if (st == H1_CHUNK_DONE) {
				*rest = len - off - used;
				return st;
			}
			if (st == H1_CHUNK_ERROR) {
				*code = c.code;
				return st;
			}
			if (st == H1_CHUNK_NEED) {
				if (used != piece)
					*views_ok = false;
				break;
			}
			if (used == piece)
				break;
		}
		off += piece;
		if (off >= len)
			return H1_CHUNK_NEED;
	}
}

static void
test_chunked_table(void)
{
	static char out[4096], out2[4096];
	size_t i;

	for (i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
		const struct chunk_case *c = &chunk_cases[i];
		size_t len = strlen(c->in), out_len, out2_len, rest, rest2,
		       step;
		const char *code, *code2;
		enum h1_chunk_status st, st2;
		bool views = true, same = true;

		/* The one case with a NUL inside: its length is the literal's
		 * (sizeof minus the terminator), not strlen's. */
		if (strcmp(c->name, "trailer NUL") == 0)
			len = sizeof(trailer_nul) - 1;
		st = decode(c->in, len, 0, out, &out_len, &code, &rest, &views);
		is_int(st, c->want, "chunked %s: status", c->name);
		if (c->want == H1_CHUNK_ERROR)
			is_str(code, c->code, "chunked %s: code", c->name);
		if (c->data != NULL)
			ok(out_len == strlen(c->data) &&
			        memcmp(out, c->data, out_len) == 0,
			    "chunked %s: data", c->name);
		if (c->want == H1_CHUNK_DONE)
			is_int(rest, c->rest, "chunked %s: rest", c->name);
		/* every piece size gives the same bytes and verdict */
		for (step = 1; step <= len; step++) {
			st2 = decode(c->in, len, step, out2, &out2_len, &code2,
			    &rest2, &views);
			if (st2 != st || out2_len != out_len ||
			    memcmp(out, out2, out_len) != 0 || rest2 != rest ||
			    (code != NULL) != (code2 != NULL) ||
			    (code != NULL && strcmp(code, code2) != 0)) {
				printf("#   pieces of %zu differ\n", step);
				same = false;
				break;
			}
		}
		ok(same, "chunked %s: same whatever the split", c->name);
		ok(views, "chunked %s: views inside the input", c->name);
	}
}

static void
test_chunked_limits(void)
{
	static char buf[GUARD_MAX];
	static char out[GUARD_MAX];
	size_t n, out_len, rest, i;
	const char *code;
	bool views = true;
	enum h1_chunk_status st;

	/* an extension line of H1_CHUNK_LINE_MAX bytes passes, one more not */
	n = 0;
	buf[n++] = '1';
	buf[n++] = ';';
	while (n < H1_CHUNK_LINE_MAX)
		buf[n++] = 'e';
	memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
	st = decode(buf, n + 10, 0, out, &out_len, &code, &rest, &views);
	is_int(st, H1_CHUNK_DONE, "chunked: size line of the limit");
	memmove(buf + 1, buf, n + 10);
	st = decode(buf, n + 11, 0, out, &out_len, &code, &rest, &views);
	ok(st == H1_CHUNK_ERROR && strcmp(code, "chunk_line_too_long") == 0,
	    "chunked: size line over the limit");

	/* trailers: H1_TRAILER_MAX bytes in all, the final CRLF included */
	for (i = 0; i < 2; i++) {
		size_t total = H1_TRAILER_MAX + i;

		n = (size_t)snprintf(buf, sizeof(buf), "0\r\nX: ");
		while (n < 3 + total - 4)
			buf[n++] = 'v';
		memcpy(buf + n, "\r\n\r\n", 4);
		n += 4;
		st = decode(buf, n, 0, out, &out_len, &code, &rest, &views);
		if (i == 0)
			is_int(st, H1_CHUNK_DONE,
			    "chunked: trailers at the limit");
		else
			ok(st == H1_CHUNK_ERROR &&
			        strcmp(code, "trailer_too_large") == 0,
			    "chunked: trailers one byte over the limit");
	}
	n = (size_t)snprintf(buf, sizeof(buf), "0\r\n");
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X: %090d\r\n",
		    0);
	memcpy(buf + n, "\r\n", 2);
	st = decode(buf, n + 2, 0, out, &out_len, &code, &rest, &views);
	ok(st == H1_CHUNK_ERROR && strcmp(code, "trailer_too_large") == 0,
	    "chunked: trailers over the limit");
	n = (size_t)snprintf(buf, sizeof(buf), "0\r\n");
	for (i = 0; i < H1_TRAILER_FIELDS + 1; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X: 1\r\n");
	memcpy(buf + n, "\r\n", 2);
	st = decode(buf, n + 2, 0, out, &out_len, &code, &rest, &views);
	ok(st == H1_CHUNK_ERROR && strcmp(code, "trailer_too_large") == 0,
	    "chunked: too many trailer fields");
	ok(views, "chunked limits: views inside the input");
}

static void
test_chunked_after_end(void)
{
	struct h1_chunked c;
	size_t consumed;
	const char *d;
	size_t dl;

	h1_chunked_init(&c);
	is_int(h1_chunked_step(&c, "0\r\n\r\n", 5, &consumed, &d, &dl),
	    H1_CHUNK_DONE, "chunked: done");
	ok(h1_chunked_step(&c, "x", 1, &consumed, &d, &dl) == H1_CHUNK_DONE &&
	        consumed == 0,
	    "chunked: after done, nothing more is consumed");
	h1_chunked_init(&c);
	is_int(h1_chunked_step(&c, "x", 1, &consumed, &d, &dl), H1_CHUNK_ERROR,
	    "chunked: error");
	ok(h1_chunked_step(&c, "0\r\n\r\n", 5, &consumed, &d, &dl) ==
	            H1_CHUNK_ERROR &&
	        consumed == 0,
	    "chunked: an error sticks");
}

/* ------------------------------------------------------------- helpers */

static void
test_content_length(void)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t v;
	} cases[] = {
	    {"0", 0, 0},
	    {"42", 0, 42},
	    {"007", 0, 7},
	    {"999999999999999999", 0, 999999999999999999ULL},
	    {"1000000000000000000", -1, 0},
	    {"", -1, 0},
	    {"+1", -1, 0},
	    {"-1", -1, 0},
	    {" 1", -1, 0},
	    {"1 ", -1, 0},
	    {"1,1", -1, 0},
	    {"0x1", -1, 0},
	    {"1e3", -1, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		size_t n = strlen(cases[i].in);
		int rc =
		    h1_content_length(guard_put(&g, cases[i].in, n), n, &v);

		ok(rc == cases[i].rc && (rc != 0 || v == cases[i].v),
		    "content_length \"%s\"", cases[i].in);
	}
}

static void
test_lists(void)
{
	static const struct {
		const char *in;
		const char *items; /* joined with | */
	} cases[] = {
	    {"", ""},
	    {"a", "a"},
	    {"a,b", "a|b"},
	    {" a , b ", "a|b"},
	    {",,a,,\t,b,", "a|b"},
	    {"keep-alive, Upgrade", "keep-alive|Upgrade"},
	    {"a b, c", "a b|c"},
	    {" , ", ""},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char joined[64];
		size_t n = strlen(cases[i].in), pos = 0, jl = 0, il;
		const char *v = guard_put(&g, cases[i].in, n), *it;

		while (h1_list_next(v, n, &pos, &it, &il)) {
			if (jl > 0)
				joined[jl++] = '|';
			memcpy(joined + jl, it, il);
			jl += il;
		}
		joined[jl] = '\0';
		is_str(joined, cases[i].items, "list \"%s\"", cases[i].in);
	}
	ok(h1_list_has_token("keep-alive, UPGRADE", 19, "upgrade", 7),
	    "list has token, any case");
	ok(!h1_list_has_token("keep-alive, upgrades", 20, "upgrade", 7),
	    "list has no token that is a prefix");
	ok(!h1_list_has_token("", 0, "close", 5), "empty list");
}

static void
test_names_and_tokens(void)
{
	uint16_t t;
	bool all = true;

	ok(h1_name_eq("Content-Length", 14, "content-length", 14),
	    "name_eq folds case");
	ok(!h1_name_eq("Content_Length", 14, "content-length", 14),
	    "name_eq: _ is not -");
	ok(h1_name_eq_loose("Content_Length", 14, "content-length", 14),
	    "name_eq_loose: _ is -");
	ok(!h1_name_eq("Host", 4, "Hos", 3), "name_eq: lengths");
	{
		static const struct {
			uint64_t v;
			const char *s;
		} dec[] = {{0, "0"}, {9, "9"}, {10, "10"}, {200, "200"},
		    {18446744073709551615u, "18446744073709551615"}};
		char d[H1_DEC_MAX];
		size_t i, k;

		for (i = 0; i < sizeof(dec) / sizeof(dec[0]); i++) {
			k = h1_dec(d, dec[i].v);
			ok(H1_DEC_MAX - k == strlen(dec[i].s) &&
			        memcmp(d + k, dec[i].s, H1_DEC_MAX - k) == 0,
			    "dec: %s", dec[i].s);
		}
	}
	{
		/* every byte pair: equal exactly when tolower() says so */
		unsigned x, y;
		bool same = true;

		for (x = 0; x < 256; x++)
			for (y = 0; y < 256; y++) {
				char a = (char)x, b = (char)y;
				bool want = x == y ||
				    (x < 128 && y < 128 &&
				        tolower((int)x) == tolower((int)y));

				if (h1_name_eq(&a, 1, &b, 1) != want)
					same = false;
			}
		ok(same, "name_eq: every byte pair folds as ASCII tolower");
	}
	for (t = 1; t < H1_T_MAX; t++) {
		const char *name = h1_token_name(t);
		char low[64], under[64];
		size_t n, k;

		if (name == NULL) {
			all = false;
			continue;
		}
		n = strlen(name);
		for (k = 0; k < n; k++) {
			low[k] = (char)(name[k] >= 'A' && name[k] <= 'Z'
			        ? name[k] - 'A' + 'a'
			        : name[k]);
			under[k] = name[k] == '-' ? '_' : name[k];
		}
		if (h1_token_lookup(name, n) != t ||
		    h1_token_lookup(low, n) != t ||
		    h1_token_lookup_loose(under, n) != t ||
		    (strchr(name, '-') != NULL &&
		        h1_token_lookup(under, n) != H1_T_OTHER)) {
			printf("#   token %s\n", name);
			all = false;
		}
	}
	ok(all, "every token: canonical, lower-case and loose lookups");
	is_int(h1_token_lookup("X-Other", 7), H1_T_OTHER, "unknown name");
	is_int(h1_token_lookup("", 0), H1_T_OTHER, "empty name");
	ok(h1_token_name(H1_T_OTHER) == NULL && h1_token_name(H1_T_MAX) == NULL,
	    "no name for OTHER or out of range");
	ok((h1_token_flags(H1_T_CONNECTION) & (H1_DROP_REQ | H1_DROP_RES)) ==
	        (H1_DROP_REQ | H1_DROP_RES),
	    "Connection dropped both ways");
	ok((h1_token_flags(H1_T_HOST) & H1_DROP_REQ) &&
	        !(h1_token_flags(H1_T_HOST) & H1_DROP_RES),
	    "Host dropped on requests only");
	ok(h1_token_flags(H1_T_CONTENT_LENGTH) & H1_DROP_REQ &&
	        h1_token_flags(H1_T_CONTENT_LENGTH) & H1_DROP_RES,
	    "Content-Length re-framed both ways");
	ok(h1_token_flags(H1_T_COOKIE) == 0 &&
	        h1_token_flags(H1_T_SET_COOKIE) == 0,
	    "cookies pass (the gate strips its own)");
	ok(h1_token_flags(H1_T_X_FORWARDED_FOR) == H1_FORWARDING,
	    "X-Forwarded-For is forwarding");
	is_int(h1_token_flags(H1_T_MAX), 0, "no flags out of range");
	is_str(h1_reason(200), "OK", "reason 200");
	is_str(h1_reason(431), "Request Header Fields Too Large", "reason 431");
	is_str(h1_reason(299), "Unknown", "reason of an unknown code");
	ok(h1_is_tchar('!') && h1_is_tchar('~') && !h1_is_tchar('(') &&
	        !h1_is_tchar(' ') && !h1_is_tchar(0) && !h1_is_tchar(0x80),
	    "tchar");
}

int
main(void)
{
	guard_init(&g);
	test_request_table();
	test_request_views();
	test_request_flags();
	test_limits();
	test_response_table();
	test_response_misc();
	test_chunked_table();
	test_chunked_limits();
	test_chunked_after_end();
	test_content_length();
	test_lists();
	test_names_and_tokens();
	return tap_done();
}
