/* SPDX-License-Identifier: MIT */
/* The gate as a table: (config, request head, peer) -> (status, code, the
 * exact upstream head bytes), with real configs and real tokens. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "conf.h"
#include "crypto_testutil.h"
#include "gate.h"
#include "guard.h"
#include "http1.h"
#include "tap.h"

#define NOW 1800000000
#define SECRET "gate-test-secret-0123456789abcdef0123456789"
#define MAX_FIELDS 100

/* Config A's routes, in order: Better Auth's own (passing its cookies),
 * the user's own path, optional, none, a stripped prefix, and an issuer
 * keeping a dotted claim. */
static const char conf_a[] =
    "upstream api { url = \"http://127.0.0.1:9\" }\n"
    "upstream web { url = \"http://127.0.0.1:10\" }\n"
    "issuer hs {\n"
    "  cookie = \"token\"\n"
    "  secret = \"" SECRET "\"\n"
    "  keep_claims = {\"email\", \"role\"}\n"
    "}\n"
    "issuer dot {\n"
    "  cookie = \"dtoken\"\n"
    "  secret = \"" SECRET "\"\n"
    "  keep_claims = {\"user.email\"}\n"
    "}\n"
    "route \"/api/auth/**\" { upstream = web; auth = none\n"
    "  pass_auth_cookies = true }\n"
    "route \"/api/{user_id}/**\" { upstream = api; issuer = hs\n"
    "  require = {\"user_id == sub\"} }\n"
    "route \"/opt/**\" { upstream = api; auth = optional; issuer = hs }\n"
    "route \"/pub/**\" { upstream = api; auth = none }\n"
    "route \"/strip/**\" { upstream = api; auth = none\n"
    "  strip_prefix = \"/strip\" }\n"
    "route \"/dot/**\" { upstream = api; issuer = dot }\n"
    "headers {\n"
    "  strip = {\"X-Custom-Secret\"}\n"
    "  claim email { header = \"X-User-Email\" }\n"
    "  trust_forwarded = {\"10.0.0.0/8\", \"2001:db8::/32\"}\n"
    "}\n"
    "csrf { origins = {\"https://app.example.com\"} }\n";

/* Config B: the same issuer, CSRF refusing requests without Origin. */
static const char conf_b[] =
    "upstream api { url = \"http://127.0.0.1:9\" }\n"
    "issuer hs { cookie = \"token\"; secret = \"" SECRET "\" }\n"
    "route \"/api/{user_id}/**\" { upstream = api\n"
    "  require = {\"user_id == sub\"} }\n"
    "csrf { require_origin = true }\n";

static char *tok_u1, *tok_u2, *tok_bad, *tok_exp, *tok_dot;
static char err[CONF_ERR_LEN];

static struct conf *
load(const char *text)
{
	char path[] = "/tmp/bearerd-test-gate-XXXXXX";
	int fd = mkstemp(path);
	struct conf *c;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	close(fd);
	c = conf_load(path, err, sizeof(err));
	unlink(path);
	if (c == NULL) {
		printf("Bail out! config: %s\n", err);
		exit(1);
	}
	return c;
}

static char *
hs256(const char *payload)
{
	struct tu_signer s = {"HS256", NULL, (const unsigned char *)SECRET,
	    strlen(SECRET), 0, 0};

	return tu_jws(&s, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload);
}

/* Replaces {T1} {T2} {TB} {TX} {TD} with the tokens. */
static void
subst(const char *in, char *out, size_t cap)
{
	static const char *const keys[] = {"{T1}", "{T2}", "{TB}", "{TX}",
	    "{TD}"};
	const char *vals[] = {tok_u1, tok_u2, tok_bad, tok_exp, tok_dot};
	size_t o = 0, k;

	while (*in != '\0' && o + 1 < cap) {
		for (k = 0; k < 5; k++)
			if (strncmp(in, keys[k], 4) == 0)
				break;
		if (k < 5) {
			size_t n = strlen(vals[k]);

			if (o + n + 1 >= cap)
				break;
			memcpy(out + o, vals[k], n);
			o += n;
			in += 4;
			continue;
		}
		out[o++] = *in++;
	}
	out[o] = '\0';
}

/* ------------------------------------------------------- a head, parsed */

/* Parses |head| with the codec, as the server does; a head the codec
 * refuses is a broken test. */
static void
parse(const char *head, size_t len, struct h1_request *r, struct h1_field *f)
{
	struct h1_error e;
	int n = h1_parse_request(head, len, NULL, r, f, MAX_FIELDS, &e);

	if (n != (int)len) {
		printf("Bail out! the codec says %d (%s at %zu) to: %.*s\n", n,
		    n == H1_ERROR ? e.code : "-", n == H1_ERROR ? e.at : 0,
		    (int)len, head);
		exit(1);
	}
}

/* ------------------------------------------------------------ the table */

enum peer { P_UNTRUSTED = 0, P_TRUSTED, P_TLS, P_TRUSTED_TLS };

struct gcase {
	const char *name;
	struct conf **conf;
	enum peer peer;
	const char *head; /* {T1} etc. replaced */
	int status;
	const char *code;     /* with a local reply */
	const char *www_auth; /* with a 401 */
	const char *up;       /* the exact upstream head, with status 0 */
};

static struct conf *ca, *cb;

#define XF "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
#define RID "X-Request-Id: gen-1\r\n"
#define XFH(h) "X-Forwarded-Host: " h "\r\n"
#define STD(h) XF XFH(h) RID
#define BEARER1 "Authorization: Bearer {T1}\r\nX-User-Email: a@x.test\r\n"

static const struct gcase cases[] = {
    /* -- the README's "What reaches the upstream", line by line -- */
    {"client Authorization removed, exactly one Bearer", &ca, P_UNTRUSTED,
        "GET /api/u1/tasks?x=1&y HTTP/1.1\r\nHost: app.test\r\n"
        "Authorization: Bearer {T2}\r\nauthorization: Basic dTI6cHc=\r\n"
        "Proxy-Authorization: Basic eA==\r\nAccept: */*\r\n"
        "Cookie: token={T1}\r\n\r\n",
        0, NULL, NULL,
        "GET /api/u1/tasks?x=1&y HTTP/1.1\r\nAccept: */*\r\n" STD("app.test")
            BEARER1},
    {"auth none: Authorization removed, none added", &ca, P_UNTRUSTED,
        "GET /pub/x HTTP/1.1\r\nHost: app.test\r\n"
        "Authorization: Bearer {T1}\r\n\r\n",
        0, NULL, NULL, "GET /pub/x HTTP/1.1\r\n" STD("app.test")},
    {"identity headers in every case and spelling", &ca, P_UNTRUSTED,
        "GET /api/u1/t HTTP/1.1\r\nHost: app.test\r\nX-User-Id: u2\r\n"
        "x_user_id: u2\r\nX-USER-ID: u3\r\nX-User: u2\r\nX-Username: u2\r\n"
        "X-UserEmail: e\r\nX-User-Email: evil@x\r\nX_User_Email: evil@x\r\n"
        "X-Auth-Request-User: u2\r\nX-Auth-Request-Email: e\r\n"
        "X-Authenticated-User: u2\r\nX-Authenticated-Groups: admin\r\n"
        "X-Remote-User: u2\r\nX-Remote-Groups: g\r\n"
        "X-Forwarded-User: u2\r\nx-forwarded_user: u2\r\n"
        "X-Forwarded-Email: e\r\nX-Forwarded-Preferred-Username: u2\r\n"
        "Remote-User: u2\r\nREMOTE_USER: u2\r\nX-Keep-Me: kept\r\n"
        "Cookie: token={T1}\r\n\r\n",
        0, NULL, NULL,
        "GET /api/u1/t HTTP/1.1\r\nX-Keep-Me: kept\r\n" STD("app.test")
            BEARER1},
    {"URL and method overrides", &ca, P_UNTRUSTED,
        "POST /pub/x HTTP/1.1\r\nHost: app.test\r\n"
        "X-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\n"
        "X-Override-URL: /admin\r\nX-HTTP-Method-Override: DELETE\r\n"
        "x_http_method: DELETE\r\nX-Method-Override: PUT\r\n\r\n",
        0, NULL, NULL, "POST /pub/x HTTP/1.1\r\n" STD("app.test")},
    {"configured strip list, every spelling", &ca, P_UNTRUSTED,
        "GET /pub/x HTTP/1.1\r\nHost: app.test\r\nX-Custom-Secret: 1\r\n"
        "x_custom_SECRET: 2\r\nX-Custom-Secrets: kept\r\n\r\n",
        0, NULL, NULL,
        "GET /pub/x HTTP/1.1\r\nX-Custom-Secrets: kept\r\n" STD("app.test")},
    {"claim header only from the verified claim", &ca, P_UNTRUSTED,
        "GET /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "X-User-Email: evil@x\r\nCookie: token={T1}\r\n\r\n",
        0, NULL, NULL, "GET /api/u1/t HTTP/1.1\r\n" STD("app.test") BEARER1},
    {"credential cookie cut, the others kept in order", &ca, P_UNTRUSTED,
        "GET /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Cookie: a=1; token={T1}; theme=dark\r\n\r\n",
        0, NULL, NULL,
        "GET /api/u1/t HTTP/1.1\r\nCookie: a=1; theme=dark\r\n" STD("app.test")
            BEARER1},
    {"hop-by-hop and Connection-named headers", &ca, P_UNTRUSTED,
        "GET /pub/x HTTP/1.1\r\nHost: app.test\r\n"
        "Connection: keep-alive, X-Hop-Me\r\nX-Hop-Me: 1\r\nX_Hop_Me: 2\r\n"
        "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
        "TE: trailers\r\nTrailer: X-Foo\r\nUpgrade: foo/1\r\n"
        "Expect: 100-continue\r\nContent_Length: 5\r\n"
        "Transfer_Encoding: chunked\r\nX-Keep-Me: kept\r\n\r\n",
        0, NULL, NULL,
        "GET /pub/x HTTP/1.1\r\nX-Keep-Me: kept\r\n" STD("app.test")},
    {"websocket upgrade re-created", &ca, P_UNTRUSTED,
        "GET /pub/ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: abc==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n",
        0, NULL, NULL,
        "GET /pub/ws HTTP/1.1\r\nSec-WebSocket-Key: abc==\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Connection: Upgrade\r\nUpgrade: websocket\r\n" STD("app.test")},
    {"forwarding headers of an untrusted peer replaced", &ca, P_UNTRUSTED,
        "GET /pub/x HTTP/1.1\r\nHost: app.test\r\n"
        "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
        "X-Forwarded-Host: evil.test\r\nX_Forwarded_For: 6.6.6.7\r\n"
        "X-Forwarded-Port: 1\r\nX-Forwarded-Prefix: /evil\r\n"
        "X-Forwarded-Server: e\r\nForwarded: for=6.6.6.6\r\n"
        "X-Real-IP: 6.6.6.6\r\nX-Client-IP: 6.6.6.6\r\n"
        "True-Client-IP: 6.6.6.6\r\nX-Request-Id: evil\r\n\r\n",
        0, NULL, NULL, "GET /pub/x HTTP/1.1\r\n" STD("app.test")},
    {"forwarding headers of a trusted peer kept and extended", &ca, P_TRUSTED,
        "GET /pub/x HTTP/1.1\r\nHost: app.test\r\n"
        "X-Forwarded-For: 203.0.113.1\r\nX-Forwarded-Proto: https\r\n"
        "X-Forwarded-Host: front.test\r\nX-Real-IP: 203.0.113.1\r\n"
        "Forwarded: for=203.0.113.1\r\nX-Forwarded-For: 10.1.1.1\r\n"
        "X-Request-Id: front-42\r\n\r\n",
        0, NULL, NULL,
        "GET /pub/x HTTP/1.1\r\nX-Forwarded-For: 203.0.113.1, 10.1.1.1, "
        "10.0.0.5\r\nX-Real-IP: 203.0.113.1\r\n"
        "Forwarded: for=203.0.113.1\r\nX-Forwarded-Proto: https\r\n"
        "X-Forwarded-Host: front.test\r\nX-Request-Id: front-42\r\n"},
    {"a trusted peer's invalid request id and proto are not taken", &ca,
        P_TRUSTED,
        "GET /pub/x HTTP/1.1\r\nHost: app.test\r\n"
        "X-Forwarded-Proto: gopher\r\nX-Forwarded-Host: a/b\r\n"
        "X-Request-Id: a,b\r\n\r\n",
        0, NULL, NULL,
        "GET /pub/x HTTP/1.1\r\nX-Forwarded-For: 10.0.0.5\r\n"
        "X-Forwarded-Proto: http\r\n" XFH("app.test") RID},
    {"TLS listener: X-Forwarded-Proto https", &ca, P_TLS,
        "GET /pub/x HTTP/1.1\r\nHost: app.test\r\n\r\n", 0, NULL, NULL,
        "GET /pub/x HTTP/1.1\r\nX-Forwarded-For: 192.0.2.7\r\n"
        "X-Forwarded-Proto: https\r\n" XFH("app.test") RID},
    {"the canonical path is forwarded", &ca, P_UNTRUSTED,
        "GET /pub/%7Euser/%41b%2f?q=%2e HTTP/1.1\r\nHost: app.test\r\n\r\n",
        400, "path_invalid", NULL, NULL},
    {"unreserved escapes decoded, others kept upper-case", &ca, P_UNTRUSTED,
        "GET /pub/%7euser/%41b%3a?q=%2e HTTP/1.1\r\nHost: app.test\r\n\r\n", 0,
        NULL, NULL, "GET /pub/~user/Ab%3A?q=%2e HTTP/1.1\r\n" STD("app.test")},
    {"absolute-form: its authority wins over Host", &ca, P_UNTRUSTED,
        "GET http://abs.test:8080/pub/x?q HTTP/1.1\r\nHost: other.test\r\n"
        "\r\n",
        0, NULL, NULL, "GET /pub/x?q HTTP/1.1\r\n" STD("abs.test:8080")},
    {"absolute-form without a path asks for /", &ca, P_UNTRUSTED,
        "GET http://abs.test?q HTTP/1.1\r\nHost: abs.test\r\n\r\n", 404,
        "no_route", NULL, NULL},
    {"strip_prefix", &ca, P_UNTRUSTED,
        "GET /strip/a/b?c HTTP/1.1\r\nHost: app.test\r\n\r\n", 0, NULL, NULL,
        "GET /a/b?c HTTP/1.1\r\n" STD("app.test")},
    {"strip_prefix leaves /", &ca, P_UNTRUSTED,
        "GET /strip HTTP/1.1\r\nHost: app.test\r\n\r\n", 0, NULL, NULL,
        "GET / HTTP/1.1\r\n" STD("app.test")},
    {"dotted keep_claims: user.email fills the email claim header", &ca,
        P_UNTRUSTED,
        "GET /dot/x HTTP/1.1\r\nHost: app.test\r\nCookie: dtoken={TD}\r\n"
        "\r\n",
        0, NULL, NULL,
        "GET /dot/x HTTP/1.1\r\n" STD(
            "app.test") "Authorization: Bearer {TD}\r\nX-User-Email: d@x.test\r\n"},

    /* -- Better Auth cookies never leak -- */
    {"every Better Auth cookie cut on a route without auth", &ca, P_UNTRUSTED,
        "GET /pub/x HTTP/1.1\r\nHost: app.test\r\n"
        "Cookie: better-auth.session_token=abc.sig; theme=dark; "
        "__Secure-better-auth.session_token=x; "
        "better-auth.session_data=d; better-auth.session_data.0=c0; "
        "__Secure-better-auth.session_data.12=c12; "
        "better-auth.dont_remember=t; token={T1}; dtoken=x; "
        "better-auth.session_datax=keep; better-auth.session_data.x=keep2"
        "\r\nCookie: better-auth.session_token=abc\r\n\r\n",
        0, NULL, NULL,
        "GET /pub/x HTTP/1.1\r\nCookie: theme=dark; "
        "better-auth.session_datax=keep; better-auth.session_data.x=keep2"
        "\r\n" STD("app.test")},
    {"pass_auth_cookies passes them verbatim", &ca, P_UNTRUSTED,
        "POST /api/auth/sign-out HTTP/1.1\r\nHost: app.test\r\n"
        "Cookie: better-auth.session_token=abc;token={T1}\r\n\r\n",
        0, NULL, NULL,
        "POST /api/auth/sign-out HTTP/1.1\r\n"
        "Cookie: better-auth.session_token=abc;token={T1}\r\n" STD("app.test")},

    /* -- refusals -- */
    {"no credential: 401 Bearer", &ca, P_UNTRUSTED,
        "GET /api/u1/t HTTP/1.1\r\nHost: app.test\r\n\r\n", 401, "no_token",
        "Bearer", NULL},
    {"bad signature: 401 invalid_token", &ca, P_UNTRUSTED,
        "GET /api/u1/t HTTP/1.1\r\nHost: app.test\r\nCookie: token={TB}\r\n"
        "\r\n",
        401, "bad_signature", "Bearer error=\"invalid_token\"", NULL},
    {"expired: 401 invalid_token", &ca, P_UNTRUSTED,
        "GET /api/u1/t HTTP/1.1\r\nHost: app.test\r\nCookie: token={TX}\r\n"
        "\r\n",
        401, "expired", "Bearer error=\"invalid_token\"", NULL},
    {"another user's path: 403", &ca, P_UNTRUSTED,
        "GET /api/u2/t HTTP/1.1\r\nHost: app.test\r\nCookie: token={T1}\r\n"
        "\r\n",
        403, "forbidden", NULL, NULL},
    {"two credential values: 400 ambiguous", &ca, P_UNTRUSTED,
        "GET /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Cookie: token={T1}; token={T2}\r\n\r\n",
        400, "ambiguous", NULL, NULL},
    {"dot segment: 400", &ca, P_UNTRUSTED,
        "GET /pub/../api/u2/t HTTP/1.1\r\nHost: app.test\r\n\r\n", 400,
        "path_invalid", NULL, NULL},
    {"no route: 404", &ca, P_UNTRUSTED,
        "GET /nothing HTTP/1.1\r\nHost: app.test\r\n\r\n", 404, "no_route",
        NULL, NULL},
    {"optional route, no cookie: forwarded without identity", &ca, P_UNTRUSTED,
        "GET /opt/x HTTP/1.1\r\nHost: app.test\r\n\r\n", 0, NULL, NULL,
        "GET /opt/x HTTP/1.1\r\n" STD("app.test")},
    {"optional route, bad cookie: forwarded without identity or cookie", &ca,
        P_UNTRUSTED,
        "GET /opt/x HTTP/1.1\r\nHost: app.test\r\nCookie: token={TB}\r\n"
        "\r\n",
        0, NULL, NULL, "GET /opt/x HTTP/1.1\r\n" STD("app.test")},

    /* -- CSRF guard -- */
    {"csrf: unsafe, cookie, foreign Origin: 403", &ca, P_UNTRUSTED,
        "POST /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Origin: https://evil.test\r\nCookie: token={T1}\r\n\r\n",
        403, "csrf", NULL, NULL},
    {"csrf: Origin null: 403", &ca, P_UNTRUSTED,
        "DELETE /api/u1/t HTTP/1.1\r\nHost: app.test\r\nOrigin: null\r\n"
        "Cookie: token={T1}\r\n\r\n",
        403, "csrf", NULL, NULL},
    {"csrf: own origin passes", &ca, P_UNTRUSTED,
        "POST /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Origin: http://app.test\r\nCookie: token={T1}\r\n\r\n",
        0, NULL, NULL,
        "POST /api/u1/t HTTP/1.1\r\nOrigin: http://app.test\r\n" STD("app.test")
            BEARER1},
    {"csrf: own origin with its default port passes", &ca, P_UNTRUSTED,
        "PUT /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Origin: http://APP.test:80\r\nCookie: token={T1}\r\n\r\n",
        0, NULL, NULL,
        "PUT /api/u1/t HTTP/1.1\r\nOrigin: http://APP.test:80\r\n" STD(
            "app.test") BEARER1},
    {"csrf: own host under the other scheme: 403", &ca, P_TLS,
        "PATCH /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Origin: http://app.test\r\nCookie: token={T1}\r\n\r\n",
        403, "csrf", NULL, NULL},
    {"csrf: the origin a trusted proxy forwarded passes", &ca, P_TRUSTED,
        "POST /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "X-Forwarded-Proto: https\r\nX-Forwarded-Host: front.test\r\n"
        "Origin: https://front.test\r\nCookie: token={T1}\r\n\r\n",
        0, NULL, NULL,
        "POST /api/u1/t HTTP/1.1\r\nOrigin: https://front.test\r\n"
        "X-Forwarded-For: 10.0.0.5\r\nX-Forwarded-Proto: https\r\n" XFH(
            "front.test") RID BEARER1},
    {"csrf: a listed origin passes", &ca, P_UNTRUSTED,
        "POST /api/u1/t HTTP/1.1\r\nHost: api.test\r\n"
        "Sec-Fetch-Site: same-site\r\nOrigin: https://app.example.com\r\n"
        "Cookie: token={T1}\r\n\r\n",
        0, NULL, NULL,
        "POST /api/u1/t HTTP/1.1\r\nSec-Fetch-Site: same-site\r\n"
        "Origin: https://app.example.com\r\n" STD("api.test") BEARER1},
    {"csrf: Sec-Fetch-Site same-origin passes", &ca, P_UNTRUSTED,
        "POST /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Sec-Fetch-Site: same-origin\r\nCookie: token={T1}\r\n\r\n",
        0, NULL, NULL,
        "POST /api/u1/t HTTP/1.1\r\nSec-Fetch-Site: same-origin\r\n" STD(
            "app.test") BEARER1},
    {"csrf: cross-site with our own Origin: 403", &ca, P_UNTRUSTED,
        "POST /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Sec-Fetch-Site: cross-site\r\nOrigin: http://app.test\r\n"
        "Cookie: token={T1}\r\n\r\n",
        403, "csrf", NULL, NULL},
    {"csrf: cross-site without Origin: 403", &ca, P_UNTRUSTED,
        "POST /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Sec-Fetch-Site: cross-site\r\nCookie: token={T1}\r\n\r\n",
        403, "csrf", NULL, NULL},
    {"csrf: no Origin, no Sec-Fetch-Site (not a browser) passes", &ca,
        P_UNTRUSTED,
        "POST /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Cookie: token={T1}\r\n\r\n",
        0, NULL, NULL, "POST /api/u1/t HTTP/1.1\r\n" STD("app.test") BEARER1},
    {"csrf: require_origin refuses it", &cb, P_UNTRUSTED,
        "POST /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Cookie: token={T1}\r\n\r\n",
        403, "csrf", NULL, NULL},
    {"csrf: safe methods are not checked", &ca, P_UNTRUSTED,
        "GET /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
        "Origin: https://evil.test\r\nCookie: token={T1}\r\n\r\n",
        0, NULL, NULL,
        "GET /api/u1/t HTTP/1.1\r\nOrigin: https://evil.test\r\n" STD(
            "app.test") BEARER1},
    {"csrf: no cookie identity, no check", &ca, P_UNTRUSTED,
        "POST /pub/x HTTP/1.1\r\nHost: app.test\r\n"
        "Origin: https://evil.test\r\n\r\n",
        0, NULL, NULL,
        "POST /pub/x HTTP/1.1\r\nOrigin: https://evil.test\r\n" STD(
            "app.test")},
};

static void
run_case(struct guard *g, const struct gcase *tc)
{
	static char text[16384], want[16384];
	struct h1_field fields[MAX_FIELDS];
	struct h1_request r;
	struct gate_in in;
	struct gate_ctx ctx = {.tcache = NULL};
	struct gate_out out;
	const struct conf *c = *tc->conf;
	size_t cap = gate_head_cap(c);
	const char *head;
	char *buf;
	int rv;

	subst(tc->head, text, sizeof(text));
	head = guard_put(g, text, strlen(text));
	parse(head, strlen(text), &r, fields);
	/* The output ends at the guard page: an overrun faults. */
	buf = g->base + g->size - strlen(text) - cap;
	in.req = &r;
	in.peer = tc->peer == P_TRUSTED || tc->peer == P_TRUSTED_TLS
	    ? "10.0.0.5"
	    : "192.0.2.7";
	in.peer_trusted = tc->peer == P_TRUSTED || tc->peer == P_TRUSTED_TLS;
	in.tls = tc->peer == P_TLS || tc->peer == P_TRUSTED_TLS;
	in.request_id = "gen-1";
	in.request_id_len = 5;
	rv = gate_decide(&in, c, &ctx, NOW, &out, buf, cap);
	is_int(out.status, tc->status, "%s: status", tc->name);
	is_int(rv, tc->status == 0 ? 0 : -1, "%s: returns", tc->name);
	if (tc->status != 0) {
		is_str(out.code, tc->code, "%s: code", tc->name);
		is_str(out.title, h1_reason(tc->status), "%s: title", tc->name);
		if (tc->www_auth != NULL)
			is_str(out.www_auth, tc->www_auth,
			    "%s: WWW-Authenticate", tc->name);
		else
			ok(out.www_auth == NULL, "%s: no WWW-Authenticate",
			    tc->name);
		return;
	}
	subst(tc->up, want, sizeof(want));
	ok(out.head_len == strlen(want) && memcmp(buf, want, out.head_len) == 0,
	    "%s: upstream head", tc->name);
	if (out.head_len != strlen(want) ||
	    memcmp(buf, want, out.head_len) != 0)
		printf("#   got:\n#   %.*s\n#   want:\n#   %s\n",
		    (int)out.head_len, buf, want);
	ok(out.upstream == c->routes[out.route].upstream, "%s: upstream",
	    tc->name);
}

static void
test_table(void)
{
	struct guard g;
	size_t i;

	guard_init(&g);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&g, &cases[i]);
}

/* The verdict's other outputs, and a head that does not fit. */
static void
test_outputs(void)
{
	static char text[8192];
	struct h1_field fields[MAX_FIELDS];
	struct h1_request r;
	struct gate_in in = {&r, "192.0.2.7", false, false, "gen-1", 5};
	struct gate_ctx ctx = {.tcache = NULL};
	struct gate_out out;
	struct auth_tcache *tc = auth_tcache_new(16);
	char buf[65536];
	size_t full;

	subst("GET /api/u1/t HTTP/1.1\r\nHost: app.test\r\n"
	      "Cookie: token={T1}\r\n\r\n",
	    text, sizeof(text));
	parse(text, strlen(text), &r, fields);
	ctx.tcache = tc;
	is_int(gate_decide(&in, ca, &ctx, NOW, &out, buf, sizeof(buf)), 0,
	    "forwarded");
	is_int(out.route, 1, "route index");
	ok(out.auth_needed && out.auth == AUTH_OK, "auth needed, ok");
	ok(out.has_sub && strcmp(out.sub, "u1") == 0, "sub for logs");
	is_str(out.path, "/api/u1/t", "canonical path for logs");
	is_str(out.request_id, "gen-1", "request id for logs");
	ok(!out.need_exchange && out.issuer == -1, "no exchange");
	full = out.head_len;
	/* The second time comes from the token cache: the same bytes. */
	{
		char again[65536];

		gate_decide(&in, ca, &ctx, NOW + 1, &out, again, sizeof(again));
		ok(out.head_len == full && memcmp(buf, again, full) == 0,
		    "cached verdict gives the same head");
	}
	/* Every cap short of the head is a 431, never a truncated head. */
	{
		size_t cap;
		bool all = true;

		for (cap = 0; cap < full; cap++) {
			memset(buf, 'Z', sizeof(buf));
			if (gate_decide(&in, ca, &ctx, NOW, &out, buf, cap) !=
			        -1 ||
			    out.status != 431 || out.head_len != 0 ||
			    buf[cap] != 'Z')
				all = false;
		}
		ok(all, "caps 0..%zu: 431 head_too_large, nothing past cap",
		    full - 1);
		is_str(out.code, "head_too_large", "431 code");
		is_int(gate_decide(&in, ca, &ctx, NOW, &out, buf, full), 0,
		    "exactly enough room");
	}
	auth_tcache_free(tc);

	/* auth = none: no identity looked at. */
	snprintf(text, sizeof(text), "GET /pub/x HTTP/1.1\r\nHost: h\r\n\r\n");
	parse(text, strlen(text), &r, fields);
	gate_decide(&in, ca, &ctx, NOW, &out, buf, sizeof(buf));
	ok(!out.auth_needed && out.auth == AUTH_OK && !out.has_sub,
	    "auth none: not needed, ok, no sub");
	snprintf(text, sizeof(text),
	    "GET /pub/x/../y HTTP/1.1\r\nHost: h\r\n\r\n");
	parse(text, strlen(text), &r, fields);
	gate_decide(&in, ca, &ctx, NOW, &out, buf, sizeof(buf));
	ok(out.route == -1 && strcmp(out.path, "-") == 0 &&
	        out.auth == AUTH_PATH_INVALID,
	    "a refused path: no route, path -");
}

static void
test_reply(void)
{
	struct gate_out out;
	char buf[1024];
	ssize_t n;
	static const char want401[] =
	    "HTTP/1.1 401 Unauthorized\r\n"
	    "Content-Type: application/problem+json\r\n"
	    "Content-Length: 76\r\nCache-Control: no-store\r\n"
	    "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n\r\n"
	    "{\"type\":\"about:blank\",\"title\":\"Unauthorized\",\"status\":401,"
	    "\"code\":\"expired\"}\n";

	memset(&out, 0, sizeof(out));
	out.status = 401;
	out.code = "expired";
	out.title = h1_reason(401);
	out.www_auth = "Bearer error=\"invalid_token\"";
	n = gate_reply(&out, 1, false, false, buf, sizeof(buf));
	ok(n == (ssize_t)strlen(want401) &&
	        memcmp(buf, want401, (size_t)n) == 0,
	    "401 reply, exact bytes");
	if (n > 0 &&
	    (n != (ssize_t)strlen(want401) ||
	        memcmp(buf, want401, (size_t)n) != 0))
		printf("#   got: %.*s\n", (int)n, buf);
	n = gate_reply(&out, 1, false, true, buf, sizeof(buf));
	ok(n == (ssize_t)(strstr(want401, "\r\n\r\n") + 4 - want401) &&
	        memcmp(buf, want401, (size_t)n) == 0,
	    "HEAD: the same head, no body");
	out.status = 403;
	out.code = "csrf";
	out.title = NULL;
	out.www_auth = NULL;
	n = gate_reply(&out, 0, false, false, buf, sizeof(buf));
	ok(n > 0 && strstr(buf, "HTTP/1.1 403 Forbidden\r\n") == buf &&
	        strstr(buf, "Connection: keep-alive\r\n") != NULL &&
	        strstr(buf, "WWW-Authenticate") == NULL &&
	        strstr(buf, "\"code\":\"csrf\"") != NULL,
	    "403 to HTTP/1.0: keep-alive said, no challenge");
	n = gate_reply(&out, 1, true, false, buf, sizeof(buf));
	ok(n > 0 && strstr(buf, "Connection: close\r\n") != NULL,
	    "close asked");
	{
		ssize_t full = n;
		bool all = true;
		ssize_t cap;

		for (cap = 0; cap < full; cap++)
			if (gate_reply(&out, 1, true, false, buf,
			        (size_t)cap) != -1)
				all = false;
		ok(all, "every short buffer: -1");
		is_int(gate_reply(&out, 1, true, false, buf, (size_t)full + 1),
		    full, "room for the bytes and snprintf's NUL");
	}
}

static void
test_trusted(void)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	static const struct {
		const char *addr;
		bool want;
	} t[] = {{"10.0.0.1", true}, {"10.255.255.255", true},
	    {"11.0.0.0", false}, {"9.255.255.255", false}, {"127.0.0.1", false},
	    {"2001:db8::1", true}, {"2001:db9::1", false},
	    {"::ffff:10.1.2.3", true}, {"::ffff:11.1.2.3", false},
	    {"::1", false}};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const struct sockaddr *sa;

		memset(&a4, 0, sizeof(a4));
		memset(&a6, 0, sizeof(a6));
		if (inet_pton(AF_INET, t[i].addr, &a4.sin_addr) == 1) {
			a4.sin_family = AF_INET;
			sa = (const struct sockaddr *)&a4;
		} else {
			inet_pton(AF_INET6, t[i].addr, &a6.sin6_addr);
			a6.sin6_family = AF_INET6;
			sa = (const struct sockaddr *)&a6;
		}
		is_int(gate_peer_trusted(ca, sa), t[i].want, "trusted %s",
		    t[i].addr);
	}
	a4.sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.1", &a4.sin_addr);
	ok(!gate_peer_trusted(cb, (const struct sockaddr *)&a4),
	    "no trust_forwarded: nobody");
}

/* ---------------------------------------------------- credential = session */

static const char conf_s[] =
    "upstream api { url = \"http://127.0.0.1:9\" }\n"
    "issuer ba {\n"
    "  credential = session\n"
    "  secret = \"" SECRET "\"\n"
    "  token_url = \"http://127.0.0.1:3000/api/auth/token\"\n"
    "  jwks_file = \"" TEST_DATA_DIR "/conf/jwks.json\"\n"
    "  refresh_before = 60\n"
    "  session_recheck = 30\n"
    "}\n"
    "route \"/api/{user_id}/**\" { upstream = api; issuer = ba\n"
    "  require = {\"user_id == sub\"} }\n";

#define STOK "XV6J1kDDCZL0e4XlqqGIfa1HyywCBZ5S"

static const char conf_cc[] =
    "upstream api { url = \"http://127.0.0.1:9\" }\n"
    "issuer cc {\n"
    "  credential = better-auth-compact\n"
    "  session_cookie = \"better-auth.session_token\"\n"
    "  secret = \"" SECRET "\"\n"
    "  token_url = \"http://127.0.0.1:3000/api/auth/token\"\n"
    "  jwks_url = \"http://127.0.0.1:3000/api/auth/jwks\"\n"
    "  forward = mint\n"
    "  mint_secret = \"" SECRET "\"\n"
    "}\n"
    "route \"/api/{user_id}/**\" { upstream = api; issuer = cc\n"
    "  require = {\"user_id == sub\"} }\n";

/* Better Auth's cookie value for |tok|: tok "." base64(HMAC(secret, tok)),
 * percent-encoded as encodeURIComponent does. */
static void
session_cookie(const char *tok, const char *secret, char *out, size_t cap)
{
	unsigned char mac[32];
	unsigned int ml = 0;
	char b64[64], *o;
	size_t i;

	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)tok, strlen(tok), mac, &ml);
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)ml);
	o = out + snprintf(out, cap, "%s.", tok);
	for (i = 0; b64[i] != '\0'; i++) {
		if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=')
			o += sprintf(o, "%%%02X", (unsigned char)b64[i]);
		else
			*o++ = b64[i];
	}
	*o = '\0';
}

/* session_cookie's value with its %XX escapes decoded. */
static void
pct_plain(const char *in, char *out, size_t *out_len)
{
	size_t n = 0;

	while (*in != '\0') {
		if (in[0] == '%' && in[1] != '\0' && in[2] != '\0') {
			out[n++] =
			    (char)(auth_hexval((unsigned char)in[1]) * 16 +
			        auth_hexval((unsigned char)in[2]));
			in += 3;
		} else
			out[n++] = *in++;
	}
	out[n] = '\0';
	*out_len = n;
}

static int
decide(const struct conf *c, struct gate_ctx *ctx, const char *head,
    int64_t now, struct gate_out *out, char *buf, size_t cap)
{
	static char text[8192];
	static struct h1_field fields[MAX_FIELDS];
	static struct h1_request r;
	static struct gate_in in;

	snprintf(text, sizeof(text), "%s", head);
	parse(text, strlen(text), &r, fields);
	memset(&in, 0, sizeof(in));
	in.req = &r;
	in.peer = "192.0.2.7";
	return gate_decide(&in, c, ctx, now, out, buf, cap);
}

/* Run twice: without the connection's memos and with them (every verdict
 * must be the same), then what the memos themselves must do. */
static void
test_session(bool memos)
{
	struct conf *cs = load(conf_s);
	struct auth_scache *sc = auth_scache_new(16);
	struct auth_tcache_memo memo, smemo;
	struct gate_ctx ctx = {.scache = sc};
	struct gate_out out;
	struct auth_claims cl;
	char ck[256], forged[256], head[1024], buf[65536];
	const char *dom = cs->issuers[0].cache_domain;
	int rc;

	session_cookie(STOK, SECRET, ck, sizeof(ck));
	session_cookie(STOK, "another-secret-0123456789abcdef0123456789",
	    forged, sizeof(forged));
	memset(&memo, 0, sizeof(memo));
	memset(&smemo, 0, sizeof(smemo));
	if (memos) {
		ctx.memo = &memo;
		ctx.smemo = &smemo;
	}

	snprintf(head, sizeof(head),
	    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: better-auth.session_token=%s\r\n\r\n",
	    forged);
	rc = decide(cs, &ctx, head, NOW, &out, buf, sizeof(buf));
	ok(rc == -1 && out.status == 401 && !out.need_exchange &&
	        out.auth == AUTH_BAD_SIGNATURE,
	    "session: a forged cookie is 401 with no exchange");

	snprintf(head, sizeof(head),
	    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: a=1; better-auth.session_token=%s\r\n\r\n",
	    ck);
	rc = decide(cs, &ctx, head, NOW, &out, buf, sizeof(buf));
	ok(rc == 0 && out.status == 0 && out.need_exchange && out.issuer == 0 &&
	        out.head_len == 0,
	    "session: nothing cached: need_exchange for issuer 0");
	ok(out.session_lookup == AUTH_SC_MISS && !out.session_stale,
	    "session: metrics: a miss");
	ok(out.dont_remember_len == 0 && out.dont_remember[0] == '\0',
	    "session: no dont_remember cookie");
	ok(out.session_token_len == strlen(STOK) &&
	        strncmp(out.session, STOK ".", strlen(STOK) + 1) == 0 &&
	        out.session_len == strlen(STOK) + 45,
	    "session: the decoded cookie value and its token part");

	memset(&cl, 0, sizeof(cl));
	strcpy(cl.sub, "u1");
	cl.sub_len = 2;
	cl.exp = NOW + 900;
	strcpy(cl.extra, "{}");
	cl.extra_len = 2;
	ok(auth_scache_put(sc, dom, STOK, strlen(STOK), &cl, "the.jwt.x", 9,
	       NOW + 900, NOW) == 0,
	    "session: the exchange's answer cached");
	rc = decide(cs, &ctx, head, NOW + 1, &out, buf, sizeof(buf));
	ok(rc == 0 && out.status == 0 && !out.need_exchange && out.has_sub &&
	        strcmp(out.sub, "u1") == 0,
	    "session: cached: forwarded as u1");
	ok(out.session_lookup == AUTH_SC_HIT, "session: metrics: a hit");
	buf[out.head_len] = '\0';
	ok(strstr(buf, "Authorization: Bearer the.jwt.x\r\n") != NULL,
	    "session: the cached JWT is the Bearer");
	ok(strstr(buf, "session_token") == NULL &&
	        strstr(buf, "Cookie: a=1\r\n") != NULL,
	    "session: the session cookie is cut, the others kept");
	if (memos) {
		static const unsigned char zero[AUTH_TCACHE_KEY_LEN];
		char fh[1024], ckd[256], fd[256];
		size_t ckd_len, fd_len;

		/* the memo holds the cookie's value as decoded */
		pct_plain(ck, ckd, &ckd_len);
		pct_plain(forged, fd, &fd_len);

		snprintf(fh, sizeof(fh),
		    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
		    "Cookie: better-auth.session_token=%s\r\n\r\n",
		    forged);
		ok(auth_tcache_memo_has(&smemo, cs->issuers[0].name, ckd,
		       ckd_len),
		    "session memo: holds the cookie that verified");
		rc = decide(cs, &ctx, fh, NOW + 1, &out, buf, sizeof(buf));
		ok(rc == -1 && out.status == 401 &&
		        out.auth == AUTH_BAD_SIGNATURE,
		    "session memo: a forged cookie of the same length after "
		    "it is still 401");
		/* White box: what the memo holds is not verified again, so
		 * only a verified cookie may ever enter it. */
		auth_tcache_memo_set(&smemo, cs->issuers[0].name, fd, fd_len,
		    zero);
		rc = decide(cs, &ctx, fh, NOW + 1, &out, buf, sizeof(buf));
		ok(rc == 0 && out.status == 0,
		    "session memo: consulted (a planted entry is believed)");
		auth_tcache_memo_set(&smemo, "another-issuer", fd, fd_len,
		    zero);
		rc = decide(cs, &ctx, fh, NOW + 1, &out, buf, sizeof(buf));
		ok(rc == -1 && out.status == 401,
		    "session memo: under another issuer's name it is not");
		auth_tcache_memo_clear(&smemo);
	}

	snprintf(head, sizeof(head),
	    "GET /api/u2/t HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: better-auth.session_token=%s\r\n\r\n",
	    ck);
	rc = decide(cs, &ctx, head, NOW + 1, &out, buf, sizeof(buf));
	ok(rc == -1 && out.status == 403, "session: another user's path 403");

	snprintf(head, sizeof(head),
	    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: __Secure-better-auth.session_token=%s\r\n\r\n",
	    ck);
	rc = decide(cs, &ctx, head, NOW + 1, &out, buf, sizeof(buf));
	ok(rc == 0 && out.status == 0 && !out.need_exchange,
	    "session: the __Secure- name finds the same session");

	snprintf(head, sizeof(head),
	    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: better-auth.session_token=%s; "
	    "__Secure-better-auth.dont_remember=true.sig%%3D\r\n\r\n",
	    ck);
	rc = decide(cs, &ctx, head, NOW + 31, &out, buf, sizeof(buf));
	ok(rc == 0 && out.need_exchange && out.dont_remember_len == 9 &&
	        strcmp(out.dont_remember, "true.sig=") == 0,
	    "session: dont_remember handed to the exchange, decoded");
	snprintf(head, sizeof(head),
	    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: __Secure-better-auth.session_token=%s\r\n\r\n",
	    ck);

	/* the issuer just answered 401: the same request is decided again
	 * without the session */
	ctx.session_refused = true;
	rc = decide(cs, &ctx, head, NOW + 1, &out, buf, sizeof(buf));
	ok(rc == -1 && out.status == 401 && out.auth == AUTH_EXPIRED &&
	        !out.need_exchange && out.www_auth != NULL &&
	        strstr(out.www_auth, "invalid_token") != NULL,
	    "session: refused by the issuer: 401 invalid_token");
	ctx.session_refused = false;

	/* session_recheck (30 s) passed: ask the issuer again */
	rc = decide(cs, &ctx, head, NOW + 31, &out, buf, sizeof(buf));
	ok(rc == 0 && out.need_exchange, "session: recheck due: exchange");
	/* the issuer is down: served as cached until retry_at */
	ok(auth_scache_fail(sc, dom, STOK, strlen(STOK), NOW + 36, NOW + 31),
	    "session: refresh failed, entry still usable");
	rc = decide(cs, &ctx, head, NOW + 32, &out, buf, sizeof(buf));
	ok(rc == 0 && out.status == 0 && !out.need_exchange,
	    "session: issuer down: the cached JWT still works");
	ok(out.session_lookup == AUTH_SC_STALE && out.session_stale,
	    "session: metrics: a stale entry served");
	rc = decide(cs, &ctx, head, NOW + 36, &out, buf, sizeof(buf));
	ok(rc == 0 && out.need_exchange,
	    "session: retry_at reached: exchange again");
	rc = decide(cs, &ctx, head, NOW + 900, &out, buf, sizeof(buf));
	ok(rc == 0 && out.need_exchange,
	    "session: at exp nothing cached is used");

	snprintf(head, sizeof(head),
	    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n\r\n");
	rc = decide(cs, &ctx, head, NOW, &out, buf, sizeof(buf));
	ok(rc == -1 && out.status == 401 && out.auth == AUTH_NO_TOKEN,
	    "session: no cookie 401");
	snprintf(head, sizeof(head),
	    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: better-auth.session_token=" STOK "\r\n\r\n");
	rc = decide(cs, &ctx, head, NOW, &out, buf, sizeof(buf));
	ok(rc == -1 && out.status == 401 && out.auth == AUTH_MALFORMED,
	    "session: an unsigned token 401");
	snprintf(head, sizeof(head),
	    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: better-auth.session_token=%s; "
	    "better-auth.session_token=%s\r\n\r\n",
	    ck, forged);
	rc = decide(cs, &ctx, head, NOW, &out, buf, sizeof(buf));
	ok(rc == -1 && out.status == 400 && !out.need_exchange,
	    "session: two different session cookies refused");

	ctx.scache = NULL;
	snprintf(head, sizeof(head),
	    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: better-auth.session_token=%s\r\n\r\n",
	    ck);
	rc = decide(cs, &ctx, head, NOW, &out, buf, sizeof(buf));
	ok(rc == -1 && out.status == 503, "session: no session cache 503");
	ctx.scache = sc;

	/* better-auth-compact with an exchange: no session_data (the browser
	 * dropped it at its Max-Age), the session cookie is exchanged */
	{
		struct conf *cc = load(conf_cc);

		/* another configuration: the caller empties the memo */
		auth_tcache_memo_clear(&smemo);

		snprintf(head, sizeof(head),
		    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
		    "Cookie: better-auth.session_token=%s\r\n\r\n",
		    ck);
		rc = decide(cc, &ctx, head, NOW, &out, buf, sizeof(buf));
		ok(rc == 0 && out.need_exchange && out.issuer == 0 &&
		        out.session_token_len == strlen(STOK),
		    "compact: no session_data, a session cookie: exchange");
		snprintf(head, sizeof(head),
		    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
		    "Cookie: better-auth.session_token=%s\r\n\r\n",
		    forged);
		rc = decide(cc, &ctx, head, NOW, &out, buf, sizeof(buf));
		ok(rc == -1 && out.status == 401 && out.auth == AUTH_NO_TOKEN &&
		        !out.need_exchange,
		    "compact: a forged session cookie: the 401 of no session_data");
		ok(auth_scache_put(sc, cc->issuers[0].cache_domain, STOK,
		       strlen(STOK), &cl, "minted.x.y", 10, NOW + 300,
		       NOW) == 0,
		    "compact: the exchange's answer cached");
		snprintf(head, sizeof(head),
		    "GET /api/u1/t HTTP/1.1\r\nHost: h\r\n"
		    "Cookie: __Secure-better-auth.session_token=%s\r\n\r\n",
		    ck);
		rc = decide(cc, &ctx, head, NOW + 1, &out, buf, sizeof(buf));
		buf[rc == 0 ? out.head_len : 0] = '\0';
		ok(rc == 0 && out.status == 0 &&
		        strstr(buf, "Authorization: Bearer minted.x.y\r\n") !=
		            NULL,
		    "compact: served from the exchange's cache");
		conf_free(cc);
	}

	auth_tcache_memo_clear(&memo);
	auth_tcache_memo_clear(&smemo);
	auth_scache_free(sc);
	conf_free(cs);
}

/*
 * One connection's requests through one token-cache memo: each verdict is
 * the one the token itself earns, whatever the connection sent before (a
 * forged token one byte from the last good one is still refused).
 */
static void
test_memo(void)
{
	static const struct {
		const char *head;
		int status;
		const char *what;
	} seq[] = {
	    {"GET /api/u1/t HTTP/1.1\r\nHost: h\r\nCookie: token={T1}\r\n\r\n",
	        0, "u1's token"},
	    {"GET /api/u1/t HTTP/1.1\r\nHost: h\r\nCookie: token={T1}\r\n\r\n",
	        0, "again, from the memo"},
	    {"GET /api/u1/t HTTP/1.1\r\nHost: h\r\nCookie: token={TB}\r\n\r\n",
	        401, "a forged signature one byte off"},
	    {"GET /api/u1/t HTTP/1.1\r\nHost: h\r\nCookie: token={T1}\r\n\r\n",
	        0, "u1's token after it"},
	    {"GET /api/u1/t HTTP/1.1\r\nHost: h\r\nCookie: token={T2}\r\n\r\n",
	        403, "u2's token on u1's path"},
	    {"GET /api/u2/t HTTP/1.1\r\nHost: h\r\nCookie: token={T2}\r\n\r\n",
	        0, "u2's token on its own path"},
	    {"GET /api/u2/t HTTP/1.1\r\nHost: h\r\nCookie: token={TX}\r\n\r\n",
	        401, "an expired token"},
	};
	static char text[8192], buf[65536];
	struct h1_field fields[MAX_FIELDS];
	struct h1_request r;
	struct gate_in in = {&r, "192.0.2.7", false, false, "gen-1", 5};
	struct gate_ctx ctx = {.tcache = NULL};
	struct auth_tcache_memo memo;
	struct gate_out out;
	size_t i;

	memset(&memo, 0, sizeof(memo));
	ctx.tcache = auth_tcache_new(16);
	ctx.memo = &memo;
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		subst(seq[i].head, text, sizeof(text));
		parse(text, strlen(text), &r, fields);
		gate_decide(&in, ca, &ctx, NOW, &out, buf, sizeof(buf));
		is_int(out.status, seq[i].status, "memo: %s", seq[i].what);
	}
	auth_tcache_memo_clear(&memo);
	auth_tcache_free(ctx.tcache);
}

int
main(void)
{
	char p[512];

	auth_init();
	snprintf(p, sizeof(p),
	    "{\"sub\":\"u1\",\"exp\":%d,\"email\":\"a@x.test\"}", NOW + 3600);
	tok_u1 = hs256(p);
	snprintf(p, sizeof(p), "{\"sub\":\"u2\",\"exp\":%d}", NOW + 3600);
	tok_u2 = hs256(p);
	snprintf(p, sizeof(p), "{\"sub\":\"u1\",\"exp\":%d}", NOW - 3600);
	tok_exp = hs256(p);
	snprintf(p, sizeof(p),
	    "{\"sub\":\"u1\",\"exp\":%d,\"user\":{\"email\":\"d@x.test\"}}",
	    NOW + 3600);
	tok_dot = hs256(p);
	tok_bad = strdup(tok_u1);
	tok_bad[strlen(tok_bad) - 2] =
	    tok_bad[strlen(tok_bad) - 2] == 'A' ? 'B' : 'A';

	ca = load(conf_a);
	cb = load(conf_b);
	test_table();
	test_outputs();
	test_memo();
	test_reply();
	test_trusted();
	test_session(false);
	test_session(true);
	conf_free(ca);
	conf_free(cb);
	free(tok_u1);
	free(tok_u2);
	free(tok_exp);
	free(tok_dot);
	free(tok_bad);
	return tap_done();
}
