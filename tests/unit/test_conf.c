/* SPDX-License-Identifier: MIT */
/* conf_load(): every field of a full config, defaults, each error as
 * file:line:column: message, the syntax, and an OOM loop over the load. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "conf.h"
#include "conf_int.h"
#include "failalloc.h"
#include "tap.h"

#define DIR TEST_DATA_DIR "/conf/"
#define EXAMPLE TEST_DATA_DIR "/../../conf/bearerd.conf"

#define SECRET "test-only-secret-0123456789abcdefghijklmn" /* 42 bytes */
#define FILE_SECRET "test-only-secret-file-0123456789abcdefghij"
#define MINT_DEFAULT "mint-default-secret-0123456789abcdef"

static char err[CONF_ERR_LEN];

/*
 * Allocation failure injection for the OOM loop, two ways:
 * - in every build, one countdown fails the Nth allocation made through the
 *   loader's allocator (conf_set_alloc_hook), OpenSSL's or jansson's
 *   (failalloc.h), and conf_alloc_live() shows what a failed load left;
 * - without ASan (which owns malloc), malloc, calloc, realloc and strdup
 *   are also replaced here and the Nth call fails whoever makes it (libc's
 *   fopen included); blocks allocated from this executable's own code are
 *   tracked, so a failed load must leave none.
 */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

#ifndef HAVE_ASAN
#define OOM_LOOP 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern char __executable_start[], etext[];

#define LIVE_CAP (1u << 16)
static bool oom_on;        /* tracking and injection active */
static long oom_countdown; /* fail the call that finds it at 0 */
static bool oom_hit;
static void *live[LIVE_CAP];
static size_t n_live;

static size_t
live_hash(const void *p)
{
	return (size_t)(((uintptr_t)p >> 4) * 0x9e3779b1u) & (LIVE_CAP - 1);
}

static void
live_add(void *p)
{
	size_t i = live_hash(p);

	while (live[i] != NULL)
		i = (i + 1) & (LIVE_CAP - 1);
	live[i] = p;
	n_live++;
}

/* Linear probing with backward-shift deletion (no tombstones). */
static void
live_del(void *p)
{
	size_t i = live_hash(p), j, k;

	while (live[i] != NULL && live[i] != p)
		i = (i + 1) & (LIVE_CAP - 1);
	if (live[i] == NULL)
		return;
	live[i] = NULL;
	n_live--;
	for (j = (i + 1) & (LIVE_CAP - 1); live[j] != NULL;
	     j = (j + 1) & (LIVE_CAP - 1)) {
		k = live_hash(live[j]);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			live[i] = live[j];
			live[j] = NULL;
			i = j;
		}
	}
}

static bool
ours(const void *ra)
{
	return oom_on && (const char *)ra >= __executable_start &&
	    (const char *)ra < etext;
}

/* Every caller may be failed, libraries included; only ours are tracked. */
static bool
may_fail(void)
{
	return oom_on;
}

/* True when this call must fail. */
static bool
oom_fail(void)
{
	if (oom_countdown == 0) {
		oom_hit = true;
		return true;
	}
	oom_countdown--;
	return false;
}

void *
malloc(size_t n)
{
	void *p;

	if (may_fail() && oom_fail())
		return NULL;
	p = __libc_malloc(n);
	if (p != NULL && ours(__builtin_return_address(0)))
		live_add(p);
	return p;
}

void *
calloc(size_t n, size_t size)
{
	void *p;

	if (may_fail() && oom_fail())
		return NULL;
	p = __libc_calloc(n, size);
	if (p != NULL && ours(__builtin_return_address(0)))
		live_add(p);
	return p;
}

void *
realloc(void *old, size_t n)
{
	void *p;

	if (may_fail() && oom_fail())
		return NULL;
	p = __libc_realloc(old, n);
	if (p != NULL && oom_on) {
		if (old != NULL)
			live_del(old);
		if (ours(__builtin_return_address(0)))
			live_add(p);
	}
	return p;
}

char *
strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (may_fail() && oom_fail())
		return NULL;
	p = __libc_malloc(n);
	if (p != NULL && ours(__builtin_return_address(0)))
		live_add(p);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void
free(void *p)
{
	if (p != NULL && oom_on)
		live_del(p);
	__libc_free(p);
}
#endif /* !HAVE_ASAN */

/* Whether |e| has a line "<path>:<line>:<col>: ..." containing |sub|; any
 * column when |col| is 0. */
static int
has_err_at(const char *e, const char *path, int line, int col, const char *sub)
{
	char prefix[1024];
	const char *p = e;

	snprintf(prefix, sizeof(prefix), "%s:%d:", path, line);
	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char buf[2048];

		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (strncmp(buf, prefix, strlen(prefix)) == 0 &&
		    strstr(buf, sub) != NULL) {
			char *end;
			long c = strtol(buf + strlen(prefix), &end, 10);

			if (end != buf + strlen(prefix) && *end == ':' &&
			    end[1] == ' ' && (col == 0 || c == col))
				return 1;
		}
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

static int
has_err(const char *e, const char *path, int line, const char *sub)
{
	return has_err_at(e, path, line, 0, sub);
}

static int
count_lines(const char *e)
{
	int n = *e ? 1 : 0;

	for (; *e; e++)
		n += *e == '\n';
	return n;
}

/* Loads DIR/|name|, which must fail with |sub| at |line|. */
static void
bad(const char *name, int line, const char *sub)
{
	char path[512];
	struct conf *c;

	snprintf(path, sizeof(path), "%s%s", DIR, name);
	c = conf_load(path, err, sizeof(err));
	ok(c == NULL, "%s is refused", name);
	ok(has_err(err, path, line, sub), "%s: line %d says \"%s\"", name, line,
	    sub);
	if (!has_err(err, path, line, sub))
		printf("#   got: %s\n", err);
	conf_free(c);
}

/* Writes |text| to a temporary file in DIR (relative paths resolve
 * there) and loads it. */
static struct conf *
load_text(const char *text, char *path, size_t path_len)
{
	FILE *f;
	struct conf *c;

	snprintf(path, path_len, "%stmp-%ld.conf", DIR, (long)getpid());
	f = fopen(path, "w");
	if (f == NULL)
		return NULL;
	fputs(text, f);
	fclose(f);
	c = conf_load(path, err, sizeof(err));
	unlink(path);
	return c;
}

static void
test_full(void)
{
	const struct conf_issuer *m, *b;
	const struct auth_route *ar;
	struct conf *c, *c2;
	char path[512];
	size_t i;

	snprintf(path, sizeof(path), "%sfull.conf", DIR);
	setenv("BEARERD_TEST_SECRET", SECRET, 1);
	unsetenv("BEARERD_TEST_MINT_SECRET");
	c = conf_load(path, err, sizeof(err));
	ok(c != NULL, "full.conf loads");
	if (c == NULL) {
		printf("#   %s\n", err);
		return;
	}
	is_str(err, "", "no error text on success");
	is_str(c->file, path, "file");
	is_str(c->listen_host, "::1", "listen host without brackets");
	is_str(c->listen_port, "9090", "listen port");
	is_int(c->workers, 3, "workers");
	is_int(c->backlog, 77, "backlog");
	is_int(c->max_head_bytes, 8192, "max_head_bytes");
	is_int(c->max_header_fields, 50, "max_header_fields");
	is_int(c->max_body_bytes, 0, "max_body_bytes 0 = unlimited");
	is_int(c->token_cache_entries, 64, "token_cache_entries");
	is_int(c->head_timeout_ms, 1001, "head timeout");
	is_int(c->body_timeout_ms, 1002, "body timeout");
	is_int(c->idle_timeout_ms, 1003, "idle timeout");
	is_int(c->drain_timeout_ms, 1004, "drain timeout");

	is_int(c->n_upstreams, 3, "three upstreams");
	is_str(c->upstreams[0].name, "api", "upstream 0 name");
	is_str(c->upstreams[0].host, "127.0.0.1", "upstream 0 host");
	is_str(c->upstreams[0].port, "8000", "upstream 0 port");
	is_str(c->upstreams[0].host_header, "127.0.0.1:8000",
	    "upstream 0 Host keeps a non-default port");
	is_int(c->upstreams[0].connect_timeout_ms, 11, "connect_timeout");
	is_int(c->upstreams[0].response_timeout_ms, 12, "response_timeout");
	is_int(c->upstreams[0].idle_timeout_ms, 13, "idle_timeout");
	is_int(c->upstreams[0].max_idle, 4, "max_idle");
	is_str(c->upstreams[1].name, "web", "upstream 1 name");
	is_str(c->upstreams[1].host, "::1", "IPv6 upstream host unbracketed");
	is_str(c->upstreams[1].port, "80", "default port 80");
	is_str(c->upstreams[1].host_header, "[::1]",
	    "IPv6 Host bracketed, default port left out");
	is_str(c->upstreams[2].host, "backend.internal", "host name");
	is_str(c->upstreams[2].host_header, "backend.internal",
	    "explicit :80 left out of Host");
	is_int(conf_upstream_find(c, "named"), 2, "conf_upstream_find");
	is_int(conf_upstream_find(c, "nope"), -1, "conf_upstream_find miss");

	is_int(c->n_issuers, 2, "two issuers");
	m = &c->issuers[0];
	is_str(m->name, "main", "issuer 0 name");
	is_int(m->cred, CONF_CRED_JWT, "credential jwt");
	is_str(m->cookie, "token", "cookie");
	is_str(m->cookie_secure, "__Secure-token", "cookie_secure");
	is_str(m->session_cookie, "better-auth.session_token",
	    "session_cookie");
	is_int(m->secret_len, strlen(SECRET), "secret length");
	ok(m->secret != NULL && memcmp(m->secret, SECRET, strlen(SECRET)) == 0,
	    "secret bytes from ${BEARERD_TEST_SECRET}");
	ok(m->keys != NULL, "keyset built");
	is_int(auth_keyset_count(m->keys), 4,
	    "secret + two PEM keys + one JWKS key");
	ok(m->policy.keys == m->keys, "policy.keys is the keyset");
	is_str(m->policy.issuer, "https://auth.example.com", "policy.issuer");
	is_str(m->policy.audience, "api://example", "policy.audience");
	is_int(m->policy.leeway, 5, "leeway");
	ok(m->policy.exp_optional, "require_exp = false");
	is_str(m->policy.subject_path, "uid", "subject");
	is_int(m->policy.n_keep_claims, 3, "three kept claims");
	is_str(m->policy.keep_claims[0], "email", "keep_claims[0]");
	is_str(m->policy.keep_claims[2], "org_id", "keep_claims[2]");
	is_int(m->forward, CONF_FORWARD_MINT, "forward mint");
	ok(m->minter != NULL, "RS256 minter from a PEM private key");
	is_int(m->refresh_before, 30, "refresh_before");
	is_int(m->session_recheck, 15, "session_recheck");
	ok(m->cache_domain != NULL && strncmp(m->cache_domain, "main/", 5) == 0,
	    "cache_domain main/");

	b = &c->issuers[1];
	is_str(b->name, "ba", "issuer 1 name");
	is_int(b->cred, CONF_CRED_BA_COMPACT, "better-auth-compact");
	is_str(b->cookie, "better-auth.session_data", "default cookie");
	is_str(b->cookie_secure, "__Secure-better-auth.session_data",
	    "default cookie_secure");
	ok(b->session_cookie == NULL, "no session_cookie");
	is_int(b->secret_len, strlen(FILE_SECRET),
	    "secret_file, trailing newline trimmed");
	ok(b->secret != NULL &&
	        memcmp(b->secret, FILE_SECRET, strlen(FILE_SECRET)) == 0,
	    "secret_file bytes");
	is_str(b->policy.subject_path, "session.userId",
	    "compact subject default");
	is_int(b->policy.leeway, 30, "default leeway");
	ok(!b->policy.exp_optional, "default require_exp");
	ok(b->policy.issuer == NULL && b->policy.audience == NULL,
	    "no iss/aud check by default");
	ok(b->minter != NULL, "HS256 minter from ${VAR:-default}");
	is_int(b->refresh_before, 60, "default refresh_before");
	is_int(b->session_recheck, 60, "default session_recheck");
	ok(b->cache_domain != NULL &&
	        strcmp(b->cache_domain, m->cache_domain) != 0,
	    "cache domains differ per issuer");

	is_int(c->n_routes, 4, "four routes");
	is_str(c->routes[0].pattern, "/api/auth/**", "route 0 first in file");
	is_int(c->routes[0].mode, AUTH_MODE_NONE, "route 0 auth none");
	is_int(c->routes[0].upstream, 1, "route 0 -> web");
	is_int(c->routes[0].issuer, -1, "route 0 no issuer");
	is_str(c->routes[1].pattern, "/api/{user_id}/**", "route 1");
	is_int(c->routes[1].mode, AUTH_MODE_REQUIRED, "route 1 required");
	is_int(c->routes[1].upstream, 0, "route 1 -> api");
	is_int(c->routes[1].issuer, 0, "route 1 -> main");
	is_int(c->routes[2].mode, AUTH_MODE_REQUIRED,
	    "auth defaults to required");
	is_int(c->routes[2].upstream, 2, "route 2 -> named");
	is_str(c->routes[3].pattern, "/**", "route 3 last");
	is_int(c->routes[3].mode, AUTH_MODE_OPTIONAL, "route 3 optional");
	is_int(c->routes[3].issuer, 1, "route 3 -> ba");
	ok(c->routes[1].strip_prefix == NULL, "no strip_prefix");

	ok(c->table != NULL, "route table");
	is_int(auth_route_count(c->table), 4, "table has every route");
	for (i = 0; i < 4 && i < auth_route_count(c->table); i++) {
		ar = auth_route_get(c->table, i);
		ok(ar != NULL && ar->tag == (int)i &&
		        strcmp(ar->pattern, c->routes[i].pattern) == 0 &&
		        ar->mode == c->routes[i].mode,
		    "table route %zu: tag, pattern and mode", i);
	}
	ar = auth_route_get(c->table, 1);
	if (ar != NULL) {
		is_int(ar->n_rules, 2, "route 1 has two rules");
		is_int(ar->rules[0].kind, AUTH_RULE_VAR_SUB, "user_id == sub");
		is_str(ar->rules[0].var, "user_id", "rule var");
		is_int(ar->rules[1].kind, AUTH_RULE_CLAIM_VALUE,
		    "claim.role == \"admin\"");
		is_str(ar->rules[1].claim, "role", "rule claim");
		is_str(ar->rules[1].value, "admin", "rule value");
	}
	ar = auth_route_get(c->table, 2);
	if (ar != NULL) {
		is_int(ar->n_rules, 1, "a single-string require");
		is_int(ar->rules[0].kind, AUTH_RULE_VAR_CLAIM,
		    "org == claim.org_id");
		is_str(ar->rules[0].var, "org", "var org");
		is_str(ar->rules[0].claim, "org_id", "claim org_id");
	}

	is_int(c->n_strip_headers, 4, "strip list + claim headers");
	is_str(c->strip_headers[0], "x-user-id", "strip lower-cased");
	is_str(c->strip_headers[1], "x-remote-thing", "strip 1");
	is_str(c->strip_headers[2], "x-user-email", "claim header stripped");
	is_str(c->strip_headers[3], "x-user-role", "claim header stripped");
	is_int(c->n_claim_headers, 2, "two claim headers");
	is_str(c->claim_header_claim[0], "email", "claim email");
	is_str(c->claim_header_name[0], "X-User-Email", "header name kept");
	is_str(c->claim_header_claim[1], "role", "claim role");
	is_int(c->n_trusted, 3, "trust_forwarded: three networks");
	ok(c->trusted[0].family == AF_INET && c->trusted[0].bits == 8 &&
	        c->trusted[0].addr[0] == 10,
	    "10.0.0.0/8");
	ok(c->trusted[1].family == AF_INET6 && c->trusted[1].bits == 128 &&
	        c->trusted[1].addr[15] == 1,
	    "::1 is a /128");
	ok(c->trusted[2].family == AF_INET6 && c->trusted[2].bits == 32,
	    "2001:db8::/32");
	is_int(c->n_csrf_origins, 2, "csrf origins");
	is_str(c->csrf_origins[0], "https://app.example.com",
	    "origins lower-cased");
	ok(c->csrf_require_origin, "csrf require_origin");
	ok(c->routes[0].pass_auth_cookies, "pass_auth_cookies on");
	ok(!c->routes[1].pass_auth_cookies, "pass_auth_cookies off");
	is_str(c->routes[c->n_routes - 1].strip_prefix, "/web", "strip_prefix");
	is_str(c->issuers[1].keep_claims[0], "user.email", "dotted keep");
	{
		/* Better Auth's family in both prefixes, chunks of
		 * session_data, and the configured credential cookies. */
		static const char *const want[] = {"better-auth.session_token",
		    "__Secure-better-auth.session_token",
		    "better-auth.session_data",
		    "__Secure-better-auth.session_data",
		    "better-auth.dont_remember",
		    "__Secure-better-auth.dont_remember"};
		size_t k, j;

		for (k = 0; k < 6; k++) {
			for (j = 0; j < c->n_cut_cookies; j++)
				if (strcmp(c->cut_cookies[j], want[k]) == 0)
					break;
			ok(j < c->n_cut_cookies &&
			        c->cut_chunked[j] == (k == 2 || k == 3),
			    "cut %s", want[k]);
		}
	}
	is_str(c->health_path, "/_health", "health");
	is_str(c->ready_path, "/_ready", "ready");
	ok(!c->access_log, "access log off");

	/* A reload gets new cache domains: nothing cached crosses loads. */
	c2 = conf_load(path, err, sizeof(err));
	ok(c2 != NULL &&
	        strcmp(c2->issuers[0].cache_domain,
	            c->issuers[0].cache_domain) != 0,
	    "cache domain differs per load");
	conf_free(c2);
	conf_free(c);
	unsetenv("BEARERD_TEST_SECRET");
}

static void
test_defaults(void)
{
	static const char *const strip[] = {"x-user-id", "x-user-email",
	    "x-user", "x-forwarded-user", "x-auth-request-user", "remote-user"};
	char path[512];
	struct conf *c;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i;

	snprintf(path, sizeof(path), "%sminimal.conf", DIR);
	c = conf_load(path, err, sizeof(err));
	ok(c != NULL, "minimal.conf loads");
	if (c == NULL) {
		printf("#   %s\n", err);
		return;
	}
	is_str(c->listen_host, "127.0.0.1", "default listen host");
	is_str(c->listen_port, "8080", "default listen port");
	is_int(c->workers,
	    cpus < 1         ? 1
	        : cpus > 256 ? 256
	                     : cpus,
	    "workers 0 = online CPUs");
	is_int(c->backlog, 1024, "default backlog");
	is_int(c->max_head_bytes, 16384, "default max_head_bytes");
	is_int(c->max_header_line, 8192, "default max_header_line");
	is_int(c->max_header_fields, 100, "default max_header_fields");
	is_int(c->max_body_bytes, 104857600, "default max_body_bytes");
	is_int(c->token_cache_entries, 1024, "default token_cache_entries");
	is_int(c->head_timeout_ms, 10000, "default head");
	is_int(c->body_timeout_ms, 30000, "default body");
	is_int(c->idle_timeout_ms, 60000, "default idle");
	is_int(c->drain_timeout_ms, 10000, "default drain");
	is_int(c->drain_delay_ms, 0, "default drain_delay");
	is_int(c->upstreams[0].connect_timeout_ms, 2000, "default connect");
	is_int(c->upstreams[0].response_timeout_ms, 30000, "default response");
	is_int(c->upstreams[0].idle_timeout_ms, 4000, "default pool idle");
	is_int(c->upstreams[0].max_idle, 1024, "default max_idle");
	is_str(c->upstreams[0].host_header, "localhost:3000", "Host");
	is_int(c->n_issuers, 0, "no issuer");
	is_int(c->routes[0].issuer, -1, "auth none: no issuer");
	is_int(c->n_strip_headers, 6, "default strip list");
	for (i = 0; i < 6 && i < c->n_strip_headers; i++)
		is_str(c->strip_headers[i], strip[i], "default strip %zu", i);
	is_int(c->n_claim_headers, 0, "no claim headers");
	is_int(c->n_trusted, 0, "trust_forwarded: nobody");
	is_int(c->n_csrf_origins, 0, "no csrf origins");
	ok(!c->csrf_require_origin, "csrf require_origin off");
	is_int(c->n_cut_cookies, 6, "Better Auth's cookies cut by default");
	is_str(c->health_path, "/healthz", "default health");
	is_str(c->ready_path, "/readyz", "default ready");
	ok(c->access_log, "access log on");
	conf_free(c);
}

static void
test_bad(void)
{
	char path[512];
	struct conf *c;

	bad("bad_unknown.conf", 5, "unknown option \"colour\" in route");
	bad("bad_upstream.conf", 6, "unknown upstream \"nope\"");
	bad("bad_no_issuer.conf", 3, "needs an issuer");
	bad("bad_short_secret.conf", 4,
	    "secret is 10 bytes after expansion; at least 32 are required");
	unsetenv("BEARERD_TEST_UNSET_VAR");
	bad("bad_env_secret.conf", 4,
	    "secret is 0 bytes after expansion; at least 32 are required (is the environment variable set?)");
	ok(strstr(err, "BEARERD") == NULL, "the message does not echo values");
	/* The same file loads once the variable is set. */
	setenv("BEARERD_TEST_UNSET_VAR", SECRET, 1);
	snprintf(path, sizeof(path), "%sbad_env_secret.conf", DIR);
	c = conf_load(path, err, sizeof(err));
	ok(c != NULL, "with the variable set it loads");
	ok(c != NULL && c->issuers[0].secret_len == strlen(SECRET),
	    "the expanded secret");
	conf_free(c);
	unsetenv("BEARERD_TEST_UNSET_VAR");
	bad("bad_secret_file.conf", 3,
	    "secret_file short_secret.txt holds 5 bytes");
	bad("bad_https.conf", 2, "ca_file needs an https:// url");
	bad("bad_listen.conf", 3, "listen: an IPv6 address needs brackets");
	bad("bad_alg.conf", 5, "unknown alg \"XS256\"");
	bad("bad_alg_key.conf", 4, "key \"k1\" (rsa.pub.pem, alg ES256)");
	bad("bad_rule.conf", 6, "require \"user_id === sub\"");
	snprintf(path, sizeof(path), "%sbad_rule.conf", DIR);
	ok(!has_err(err, path, 5, "require"), "the good rule is not blamed");
	bad("bad_rule_var.conf", 5,
	    "require \"uid == sub\": {uid} is not a variable of the pattern");
	bad("bad_dup.conf", 3,
	    "duplicate upstream \"api\" (first defined at line 1)");
	bad("bad_session.conf", 2, "credential session needs token_url");
	bad("bad_session_jwks.conf", 6,
	    "issuer \"ba\": jwks_url: \"ftp://localhost/jwks\" must be an http:// or https:// URL");
	snprintf(path, sizeof(path), "%sbad_session_jwks.conf", DIR);
	ok(!has_err(err, path, 12, "jwks_url"), "an https jwks_url is fine");
	ok(has_err(err, path, 11, "token_url: the path must be visible ASCII"),
	    "a token_url with a fragment is refused");
	bad("bad_session_secret.conf", 2,
	    "credential session needs secret or secret_file");
	bad("bad_compact_exchange.conf", 5,
	    "a better-auth-compact exchange needs token_url, jwks_url and session_cookie together");
	c = conf_load(DIR "session.conf", err, sizeof(err));
	ok(c != NULL, "session.conf loads: %s", c ? "" : err);
	if (c != NULL) {
		const struct conf_issuer *s = &c->issuers[0];

		ok(s->cred == CONF_CRED_SESSION, "credential session");
		is_str(s->cookie, "better-auth.session_token",
		    "session cookie default");
		is_str(s->cookie_secure, "__Secure-better-auth.session_token",
		    "session cookie, https name");
		is_str(s->dont_remember, "better-auth.dont_remember",
		    "dont_remember cookie");
		is_str(s->dont_remember_secure,
		    "__Secure-better-auth.dont_remember",
		    "dont_remember cookie, https name");
		is_str(s->token_up.host, "127.0.0.1", "token_url host");
		is_str(s->token_up.port, "3000", "token_url port");
		is_str(s->token_up.host_header, "127.0.0.1:3000",
		    "token_url Host");
		is_str(s->token_path, "/api/auth/token", "token_url path");
		is_str(s->jwks_up.host, "::1", "jwks_url v6 host");
		is_str(s->jwks_up.host_header, "[::1]:3001", "jwks_url Host");
		is_str(s->jwks_path, "/api/auth/jwks?x=1", "jwks_url target");
		ok(!s->token_up.tls && !s->jwks_up.tls, "plain http");
		is_int(s->jwks_refresh, 120, "jwks_refresh");
		is_int(s->jwks_min_refresh, 5, "jwks_min_refresh");
		is_int(s->refresh_before, 30, "refresh_before");
		is_int(s->session_recheck, 15, "session_recheck");
		ok(auth_keyset_count(s->keys) == 0,
		    "the cookie secret is no JWT key");
		conf_free(c);
	}
	bad("bad_mint.conf", 4, "forward = mint needs a key");

	/* Every independent mistake of one file, in line order. */
	bad("bad_many.conf", 2, "listen: the port is missing");
	snprintf(path, sizeof(path), "%sbad_many.conf", DIR);
	ok(has_err(err, path, 3, "workers must be between 0 and 256"),
	    "many: workers");
	ok(has_err(err, path, 6, "head must be between 1 and"),
	    "many: timeouts head");
	ok(has_err(err, path, 9, "url must start with http:// or https://"),
	    "many: url scheme");
	ok(has_err(err, path, 12, "secret is 5 bytes"), "many: secret");
	ok(has_err(err, path, 15, "unknown upstream \"nope\""),
	    "many: upstream");
	is_int(count_lines(err), 6, "six errors, one per line");
	ok(strstr(err, path) == err && strstr(err, ":2:") != NULL &&
	        strstr(err, ":2:") < strstr(err, ":15:"),
	    "sorted by line");

	c = conf_load(DIR "no-such-file.conf", err, sizeof(err));
	ok(c == NULL &&
	        strncmp(err, DIR "no-such-file.conf: cannot open ",
	            strlen(DIR "no-such-file.conf: cannot open ")) == 0,
	    "a missing file");
	/* A short buffer is truncated, never overrun. */
	{
		char small[24];

		memset(small, 'x', sizeof(small));
		c = conf_load(DIR "bad_many.conf", small, sizeof(small) - 4);
		ok(c == NULL && strlen(small) == sizeof(small) - 5 &&
		        small[sizeof(small) - 1] == 'x',
		    "error text truncated");
	}
}

static void
test_inline(void)
{
	char path[512];
	struct conf *c;

	/* https upstreams: port 443 by default (left out of Host), ca_file
	 * relative to the config file and holding a certificate. */
	c = load_text("upstream s { url = \"https://api.example\" }\n"
	              "upstream t { url = \"HTTPS://[::1]:8443\"\n"
	              "  ca_file = \"../keys/rsa2048.cert.pem\" }\n"
	              "route \"/s/**\" { upstream = s; auth = none }\n"
	              "route \"/t/**\" { upstream = t; auth = none }\n",
	    path, sizeof(path));
	ok(c != NULL, "https upstreams");
	if (c == NULL)
		printf("#   %s\n", err);
	ok(c != NULL && c->upstreams[0].tls && !c->upstreams[0].ca_file &&
	        strcmp(c->upstreams[0].port, "443") == 0 &&
	        strcmp(c->upstreams[0].host_header, "api.example") == 0,
	    "https: port 443, Host without it, system store");
	ok(c != NULL && c->upstreams[1].tls &&
	        strcmp(c->upstreams[1].port, "8443") == 0 &&
	        strcmp(c->upstreams[1].host_header, "[::1]:8443") == 0 &&
	        c->upstreams[1].ca_file != NULL &&
	        strstr(c->upstreams[1].ca_file, "/keys/rsa2048.cert.pem") !=
	            NULL,
	    "https: port, ca_file resolved");
	conf_free(c);
	c = load_text(
	    "upstream s { url = \"https://a\"\n"
	    "  ca_file = \"rsa.pem\" }\n"
	    "upstream t { url = \"https://b\"; ca_file = \"nope.pem\" }\n"
	    "route \"/**\" { upstream = s; auth = none }\n",
	    path, sizeof(path));
	ok(c == NULL &&
	        has_err(err, path, 2,
	            "ca_file rsa.pem: holds no PEM certificate") &&
	        has_err(err, path, 3, "ca_file nope.pem: No such file"),
	    "https: a ca_file without a certificate, or missing");
	if (c == NULL && !has_err(err, path, 3, "nope.pem"))
		printf("#   %s\n", err);
	conf_free(c);

	/* Key titles are scoped per issuer; ';' separates options; a bare
	 * "//" inside a word is not a comment. */
	c = load_text(
	    "upstream u { url = http://127.0.0.1:9 }\n"
	    "issuer a { key k { pem_file = rsa.pub.pem; alg = RS256 } }\n"
	    "issuer b { key k { pem_file = ec.pub.pem; alg = ES256 } }\n"
	    "route \"/a/**\" { upstream = u; issuer = a }\n"
	    "route \"/b/**\" { upstream = u; issuer = b }\n",
	    path, sizeof(path));
	ok(c != NULL, "same key title in two issuers; ';' separators");
	if (c == NULL)
		printf("#   %s\n", err);
	ok(c != NULL && strcmp(c->upstreams[0].port, "9") == 0,
	    "bare url with // parsed");
	conf_free(c);

	c = load_text("# one\n# two\n/* three\n four */\n"
	              "upstream u { url = \"http://x:1\" } // five\n"
	              "route \"/a\" { upstream = u; auth = none }\n"
	              "route \"/a\" { upstream = u; auth = none }\n",
	    path, sizeof(path));
	ok(c == NULL &&
	        has_err(err, path, 7,
	            "duplicate route \"/a\" (first defined at line 6)"),
	    "line numbers exact after comments; duplicate route");
	if (!has_err(err, path, 7, "duplicate route"))
		printf("#   %s\n", err);

	c = load_text(
	    "upstream u { url = \"http://x:1\" }\n"
	    "issuer a { secret = \"" SECRET "\" }\n"
	    "issuer b { secret = \"" SECRET "\" }\n"
	    "route \"/a\" { upstream = u }\n"
	    "route \"/b\" { upstream = u; auth = none; issuer = a }\n"
	    "route \"/c/{x}\" { upstream = u; issuer = a; require = \"x == claim.email\" }\n"
	    "headers { claim role { header = \"X User\" } }\n"
	    "headers { claim org { header = X-Org } }\n"
	    "headers { claim sub { header = x-org } }\n",
	    path, sizeof(path));
	ok(c == NULL, "cross-field errors");
	ok(has_err(err, path, 4, "2 issuers are defined; name one"),
	    "two issuers need issuer = NAME");
	ok(has_err(err, path, 5, "issuer is not allowed with auth = none"),
	    "issuer with auth none");
	ok(has_err(err, path, 6,
	       "claim \"email\", which issuer \"a\" does not keep"),
	    "rule claim not kept");
	ok(has_err(err, path, 7, "header \"X User\" is not a header name"),
	    "claim header name checked");
	ok(has_err(err, path, 8, "claim \"org\": no issuer keeps this claim"),
	    "claim header needs a kept claim");
	ok(has_err(err, path, 9,
	       "header \"x-org\" is already filled by claim \"org\""),
	    "two claims, one header");
	if (count_lines(err) != 7)
		printf("#   %s\n", err);

	c = load_text("upstream u { url = \"http://x:1/path\" }\n"
	              "route \"/a\" { upstream = u; auth = none }\n"
	              "\"line|bearerd\" = {1}\n",
	    path, sizeof(path));
	ok(c == NULL &&
	        has_err_at(err, path, 3, 1,
	            "expected an option or a section name, found a quoted string"),
	    "a quoted string cannot name an option");

	c = load_text("upstream u { url = \"http://x:1\" }\n"
	              "issuer c {\n"
	              "  credential = better-auth-compact\n"
	              "  secret = \"" SECRET "\"\n"
	              "}\n"
	              "route \"/a\" { upstream = u }\n",
	    path, sizeof(path));
	ok(c == NULL && has_err(err, path, 2, "needs forward = mint"),
	    "compact cannot pass its cookie through");

	c = load_text("upstream u { url = \"http://x:1\" }\n"
	              "issuer m {\n"
	              "  secret = \"" SECRET "\"\n"
	              "  forward = mint\n"
	              "  mint_alg = RS256\n"
	              "  mint_secret = \"" SECRET "\"\n"
	              "}\n"
	              "route \"/a\" { upstream = u }\n"
	              "route \"/b\" { upstream = u\n",
	    path, sizeof(path));
	ok(c == NULL &&
	        has_err(err, path, 9,
	            "end of file: the '{' of line 9 is never closed"),
	    "an unclosed section");
	ok(has_err_at(err, path, 5, 14, "mint_alg RS256 needs mint_key_file"),
	    "what parsed is still checked");

	c = load_text("upstream u {\n"
	              "  url = \"http://x:1\n"
	              "}\n",
	    path, sizeof(path));
	ok(c == NULL && has_err(err, path, 2, "quoted string is never closed"),
	    "an unclosed string");

	/* An unset ${VAR} expands to "" silently: an empty iss or aud to
	 * check (or to mint) is a missing variable, never a policy. Loaded,
	 * it would answer 401 to every request while -t says OK. */
	unsetenv("BEARERD_TEST_UNSET_VAR");
	c = load_text("upstream u { url = \"http://x:1\" }\n"
	              "issuer a {\n"
	              "  secret = \"" SECRET "\"\n"
	              "  issuer = \"${BEARERD_TEST_UNSET_VAR}\"\n"
	              "  audience = \"${BEARERD_TEST_UNSET_VAR}\"\n"
	              "  forward = mint\n"
	              "  mint_secret = \"" SECRET "\"\n"
	              "  mint_issuer = \"${BEARERD_TEST_UNSET_VAR}\"\n"
	              "  mint_audience = \"\"\n"
	              "}\n"
	              "route \"/a\" { upstream = u }\n",
	    path, sizeof(path));
	ok(c == NULL && has_err(err, path, 4, "issuer is empty"),
	    "an empty issuer (unset variable) is refused");
	ok(has_err(err, path, 5, "audience is empty"),
	    "an empty audience is refused");
	ok(has_err(err, path, 8, "mint_issuer is empty"),
	    "an empty mint_issuer is refused");
	ok(has_err(err, path, 9, "mint_audience is empty"),
	    "an empty mint_audience is refused");
	if (count_lines(err) != 4)
		printf("#   %s\n", err);
	conf_free(c);

	/* The gate's options, each refused with its line. */
	c = load_text(
	    "upstream u { url = \"http://x:1\" }\n"
	    "issuer a {\n"
	    "  secret = \"" SECRET "\"\n"
	    "  keep_claims = {\"email\", \"user.email\", \"a..b\"}\n"
	    "}\n"
	    "route \"/a/**\" { upstream = u; strip_prefix = \"/a/\" }\n"
	    "route \"/b/**\" { upstream = u; strip_prefix = \"/b/../c\" }\n"
	    "headers {\n"
	    "  trust_forwarded = {\"10.0.0.1/8\", \"fe80::/129\",\n"
	    "    \"localhost\", \"true\"}\n"
	    "}\n"
	    "csrf { origins = {\"app.example.com\", \"https://a/b\"} }\n",
	    path, sizeof(path));
	ok(c == NULL &&
	        has_err(err, path, 4,
	            "keep_claims \"email\" and \"user.email\" are both kept as "
	            "\"email\""),
	    "two kept claims under one name");
	ok(has_err(err, path, 4, "keep_claims \"a..b\" is not a claim name"),
	    "an empty path segment");
	ok(has_err(err, path, 6, "strip_prefix \"/a/\" must be a path"),
	    "strip_prefix with a trailing slash");
	ok(has_err(err, path, 7, "strip_prefix \"/b/../c\" must be a path"),
	    "strip_prefix with a dot segment");
	ok(has_err(err, path, 9, "has host bits set beyond /8"),
	    "a network with host bits");
	ok(has_err(err, path, 9, "the prefix length must be 0..128"),
	    "a v6 prefix over 128");
	ok(has_err(err, path, 10, "\"localhost\" is not an IPv4 or IPv6"),
	    "a name is not a network");
	ok(has_err(err, path, 10, "true would trust every client"),
	    "the old boolean true is refused");
	ok(has_err(err, path, 12, "origins \"app.example.com\""),
	    "an origin without scheme");
	ok(has_err(err, path, 12, "origins \"https://a/b\""),
	    "an origin with a path");
	if (count_lines(err) != 10)
		printf("#   %s\n", err);
	conf_free(c);

	/* One field line may be larger than 8 KB (a browser's Cookie), but
	 * never larger than the whole head. */
	c = load_text(
	    "limits { max_head_bytes = 65536; max_header_line = 32768 }\n"
	    "upstream u { url = \"http://x:1\" }\n"
	    "route \"/a\" { upstream = u; auth = none }\n",
	    path, sizeof(path));
	ok(c != NULL && c->max_header_line == 32768 &&
	        c->max_head_bytes == 65536,
	    "max_header_line 32768 under max_head_bytes 65536");
	conf_free(c);
	c = load_text("\n\n\n"
	              "limits { max_header_line = 100 }\n"
	              "upstream u { url = \"http://x:1\" }\n"
	              "route \"/a\" { upstream = u; auth = none }\n",
	    path, sizeof(path));
	ok(c == NULL &&
	        has_err(err, path, 4,
	            "max_header_line must be between 256 and 1048576"),
	    "max_header_line under its minimum");
	conf_free(c);
	c = load_text("limits {\n"
	              "  max_header_line = 32768\n"
	              "}\n"
	              "upstream u { url = \"http://x:1\" }\n"
	              "route \"/a\" { upstream = u; auth = none }\n",
	    path, sizeof(path));
	ok(c == NULL &&
	        has_err(err, path, 2,
	            "max_header_line (32768) is larger than max_head_bytes (16384): raise max_head_bytes too"),
	    "max_header_line over max_head_bytes");
	conf_free(c);

	c = load_text("upstream u { url = \"http://x:1\" }\n"
	              "route \"/a\" { upstream = u; auth = none }\n"
	              "headers { trust_forwarded = false }\n",
	    path, sizeof(path));
	ok(c != NULL && c->n_trusted == 0,
	    "trust_forwarded = false still loads: nobody trusted");
	conf_free(c);
}

/* secret_kid and mint_kid: a kid'd secret beside a PEM without kid; a token
 * minted under mint_kid verifies against the issuer's keys by that kid. */
static void
test_kids(void)
{
	char path[512], tok[AUTH_MAX_FWD_LEN];
	struct auth_claims cl, got;
	struct conf *c;
	size_t tok_len;
	int64_t exp;

	c = load_text("upstream u { url = \"http://x:1\" }\n"
	              "issuer a {\n"
	              "  secret = \"" SECRET "\"\n"
	              "  secret_kid = \"hs-1\"\n"
	              "  key r { pem_file = rsa.pub.pem; alg = RS256 }\n"
	              "  jwks_file = jwks.json\n"
	              "  forward = mint\n"
	              "  mint_secret = \"" SECRET "\"\n"
	              "  mint_kid = \"hs-1\"\n"
	              "}\n"
	              "route \"/a\" { upstream = u }\n",
	    path, sizeof(path));
	ok(c != NULL, "secret_kid beside a kid-less PEM and a JWKS loads");
	if (c == NULL) {
		printf("#   %s\n", err);
		return;
	}
	ok(auth_keyset_count(c->issuers[0].keys) >= 3,
	    "the secret, the PEM and the JWKS keys are all there");
	memset(&cl, 0, sizeof(cl));
	memcpy(cl.sub, "u1", 3);
	cl.sub_len = 2;
	cl.exp = 2000000000;
	memcpy(cl.extra, "{}", 3);
	cl.extra_len = 2;
	ok(auth_minter_mint(c->issuers[0].minter, &cl, 1700000000, tok,
	       sizeof(tok), &tok_len, &exp) == 0,
	    "mint under mint_kid");
	ok(strstr(tok, ".") != NULL, "a compact JWS");
	is_int(auth_jwt_verify(&c->issuers[0].policy, tok, tok_len, 1700000000,
	           &got),
	    AUTH_OK, "the HS256 token with kid hs-1 verifies by its kid");
	conf_free(c);

	c = load_text("upstream u { url = \"http://x:1\" }\n"
	              "issuer a {\n"
	              "  secret = \"" SECRET "\"\n"
	              "  secret_kid = \"\"\n"
	              "}\n"
	              "issuer b {\n"
	              "  jwks_file = jwks.json\n"
	              "  secret_kid = k\n"
	              "}\n"
	              "issuer c {\n"
	              "  credential = better-auth-compact\n"
	              "  secret = \"" SECRET "\"\n"
	              "  secret_kid = k\n"
	              "  forward = mint\n"
	              "  mint_secret = \"" SECRET "\"\n"
	              "  mint_kid = \"\"\n"
	              "}\n"
	              "issuer d {\n"
	              "  secret = \"" SECRET "\"\n"
	              "  key r { pem_file = rsa.pub.pem; alg = RS256 }\n"
	              "}\n"
	              "route \"/a\" { upstream = u; issuer = a }\n",
	    path, sizeof(path));
	ok(c == NULL && has_err(err, path, 4, "secret_kid must be 1 to 128"),
	    "an empty secret_kid");
	ok(has_err(err, path, 8, "no secret or secret_file"),
	    "secret_kid without a secret");
	ok(has_err(err, path, 13, "secret_kid is for credential jwt"),
	    "secret_kid on better-auth-compact");
	ok(has_err(err, path, 16, "mint_kid must be 1 to 128"),
	    "an empty mint_kid");
	ok(has_err(err, path, 20,
	       "a second key without a kid could never be chosen"),
	    "a kid-less secret and a kid-less PEM: the one-kid-less-key rule");
	if (count_lines(err) != 5)
		printf("#   %s\n", err);
	conf_free(c);
}

/* Route order: each refused config with its message, and configs that are
 * fine; literal case options. */
static const struct order_case {
	const char *routes; /* after "upstream u" and "issuer a" (lines 1-2) */
	int line;           /* 0: the config loads */
	const char *msg;
} order_cases[] = {
    {"route \"/**\" { upstream = u; auth = optional }\n"
     "route \"/api/{user_id}/**\" { upstream = u; require = \"user_id == sub\" }\n",
        4,
        "route \"/api/{user_id}/**\" can never match: route \"/**\" (line 3) comes first and takes every path it would; put the more specific route above the broader one, or remove this one"},
    {"route \"/api/**\" { upstream = u }\n"
     "route \"/api/x\" { upstream = u }\n",
        4, "route \"/api/x\" can never match: route \"/api/**\" (line 3)"},
    {"route \"/api/**\" { upstream = u; auth = optional }\n"
     "route \"/api/{user_id}/**\" { upstream = u; require = \"user_id == sub\" }\n",
        3,
        "route \"/api/**\" takes paths such as \"/api/{user_id}/**\" from route \"/api/{user_id}/**\" (line 4), which is stricter there (auth = required, not optional); put route \"/api/{user_id}/**\" first, or narrow this route so it no longer overlaps it"},
    {"case_insensitive_literals = true\n"
     "route \"/api/**\" {\n"
     "  upstream = u\n"
     "  auth = optional\n"
     "  case_insensitive_literals = true\n"
     "}\n"
     "route \"/api/{user_id}/**\" { upstream = u; require = \"user_id == sub\" }\n",
        9, "can never match: route \"/api/**\" (line 4) comes first"},
    {"route \"/b\" { upstream = u; auth = none }\n"
     "route \"/a\" { upstream = u; auth = none }\n"
     "route \"/a/{x}/**\" { upstream = u; auth = none }\n"
     "route \"/a/**\" { upstream = u; auth = optional }\n",
        6,
        "route \"/a/**\" can never match: the routes above it, from \"/a\" (line 4) on, take every path it would; move it above them, or remove it"},
    {"route \"/{x}/public/**\" { upstream = u; auth = none }\n"
     "route \"/api/{user_id}/**\" { upstream = u; require = \"user_id == sub\" }\n",
        3,
        "takes paths such as \"/api/public/**\" from route \"/api/{user_id}/**\" (line 4), which is stricter there (auth = required, not none)"},
    /* A case-sensitive upper-case route above a folding one takes
     * "/API/bob/..." from it: the finding this guards. */
    {"route \"/API/**\" { upstream = u; auth = optional }\n"
     "route \"/api/{user_id}/**\" { upstream = u; require = \"user_id == sub\" }\n",
        3, "takes paths such as \"/API/{user_id}/**\""},
    /* With folding turned off, the two never meet. */
    {"route \"/API/**\" { upstream = u; auth = optional }\n"
     "route \"/api/{user_id}/**\" {\n"
     "  upstream = u\n"
     "  require = \"user_id == sub\"\n"
     "  case_insensitive_literals = false\n"
     "}\n",
        0, NULL},
    {"case_insensitive_literals = false\n"
     "route \"/API/**\" { upstream = u; auth = optional }\n"
     "route \"/api/{user_id}/**\" { upstream = u; require = \"user_id == sub\" }\n",
        0, NULL},
    /* Fine: the reference layout, an exception above its route. */
    {"route \"/api/auth/**\" { upstream = u; auth = none }\n"
     "route \"/api/users/{user_id}/**\" { upstream = u; require = \"user_id == sub\" }\n"
     "route \"/api/**\" { upstream = u }\n"
     "route \"/**\" { upstream = u; auth = optional }\n",
        0, NULL},
    {"route \"/api/{user_id}/public/**\" { upstream = u; auth = none }\n"
     "route \"/api/{user_id}/**\" { upstream = u; require = \"user_id == sub\" }\n"
     "route \"/**\" { upstream = u; auth = none }\n",
        0, NULL},
};

static void
test_route_order(void)
{
	char path[512], text[2048];
	struct conf *c;
	size_t i;

	for (i = 0; i < sizeof(order_cases) / sizeof(order_cases[0]); i++) {
		const struct order_case *oc = &order_cases[i];

		snprintf(text, sizeof(text),
		    "upstream u { url = \"http://x:1\" }\n"
		    "issuer a { secret = \"" SECRET "\" }\n%s",
		    oc->routes);
		c = load_text(text, path, sizeof(path));
		if (oc->line == 0) {
			ok(c != NULL, "route order %zu loads", i);
			if (c == NULL)
				printf("#   %s\n", err);
		} else {
			ok(c == NULL && has_err(err, path, oc->line, oc->msg),
			    "route order %zu: line %d says \"%s\"", i, oc->line,
			    oc->msg);
			if (c != NULL || !has_err(err, path, oc->line, oc->msg))
				printf("#   got: %s\n", c ? "(loaded)" : err);
			if (c == NULL)
				is_int(count_lines(err), 1,
				    "route order %zu: one error", i);
		}
		conf_free(c);
	}
	/* The options reach the table. */
	c = load_text("upstream u { url = \"http://x:1\" }\n"
	              "route \"/a\" { upstream = u; auth = none }\n"
	              "route \"/b\" { upstream = u; auth = none\n"
	              "  case_insensitive_literals = true }\n"
	              "route \"/c\" { upstream = u; auth = none\n"
	              "  case_insensitive_literals = false }\n",
	    path, sizeof(path));
	ok(c != NULL && !auth_route_folds(auth_route_get(c->table, 0)) &&
	        auth_route_folds(auth_route_get(c->table, 1)) &&
	        !auth_route_folds(auth_route_get(c->table, 2)),
	    "case_insensitive_literals per route");
	conf_free(c);
	c = load_text("upstream u { url = \"http://x:1\" }\n"
	              "route \"/a\" { upstream = u; auth = none\n"
	              "  case_insensitive_literals = maybe }\n",
	    path, sizeof(path));
	ok(c == NULL && has_err(err, path, 3, "case_insensitive_literals"),
	    "case_insensitive_literals is a boolean");
	conf_free(c);
}

static void
test_example(void)
{
	struct conf *c;

	setenv("BETTER_AUTH_SECRET", SECRET, 1);
	setenv("BACKEND_JWT_SECRET", SECRET "-backend", 1);
	c = conf_load(EXAMPLE, err, sizeof(err));
	ok(c != NULL, "conf/bearerd.conf loads");
	if (c == NULL)
		printf("#   %s\n", err);
	conf_free(c);
	unsetenv("BACKEND_JWT_SECRET");
	c = conf_load(EXAMPLE, err, sizeof(err));
	ok(c == NULL && strstr(err, "mint_secret is 0 bytes") != NULL,
	    "conf/bearerd.conf without BACKEND_JWT_SECRET is refused");
	unsetenv("BETTER_AUTH_SECRET");
}

/* Writes |text| and loads it, expecting failure with |sub| at |line|:|col|
 * (any column when 0) and |n_errs| errors in all (any when -1). */
static void
bad_text(const char *text, int line, int col, const char *sub, int n_errs,
    const char *name)
{
	char path[512];
	struct conf *c = load_text(text, path, sizeof(path));

	ok(c == NULL && has_err_at(err, path, line, col, sub), "%s", name);
	if (n_errs >= 0)
		is_int(count_lines(err), n_errs, "%s: %d errors", name, n_errs);
	if (c != NULL || !has_err_at(err, path, line, col, sub) ||
	    (n_errs >= 0 && count_lines(err) != n_errs))
		printf("#   got: %s\n", err);
	conf_free(c);
}

#define U "upstream u { url = \"http://x:1\" }\n"
#define R "route \"/a\" { upstream = u; auth = none }\n"

static void
test_syntax(void)
{
	char path[512];
	struct conf *c;

	/* All errors of a file in one pass, syntax ones too, each at its
	 * line and column. */
	bad_text(U "listen == \"x\"\n" R "bogus {\n  a = b\n}\n"
	           "route \"/b\" { upstream = u; auht = none }\n"
	           "backlog = 10\nbacklog = 20\n",
	    2, 9, "expected a value, found '='", 5, "one pass: syntax error");
	snprintf(path, sizeof(path), "%stmp-%ld.conf", DIR, (long)getpid());
	ok(has_err_at(err, path, 4, 1, "unknown section \"bogus\""),
	    "one pass: unknown section");
	ok(has_err_at(err, path, 7, 28,
	       "unknown option \"auht\" in route; did you mean \"auth\"?"),
	    "one pass: did you mean, at the option's column");
	ok(has_err_at(err, path, 9, 1,
	       "backlog is set twice (first at line 8)"),
	    "one pass: an option set twice");
	bad_text(U R "limits {{\n  max_head_bytes = 64k\n}\n", 3, 9,
	    "expected an option or a section name, found '{'", 1,
	    "a stray brace is one error");
	bad_text(U R "max_head_bytes = 1\n", 3, 1,
	    "unknown option \"max_head_bytes\" (it belongs in limits { })", 1,
	    "an option in the wrong section");
	bad_text(U "route \"/a\" { upstream = uu; auth = none }\n", 2, 25,
	    "unknown upstream \"uu\"; did you mean \"u\"? (upstreams: u)", 1,
	    "unknown upstream: suggestion and the known names");
	bad_text(U "issuer a { secret = \"" SECRET "\" }\n"
	           "route \"/a\" { upstream = u; issuer = zzz }\n",
	    3, 37, "unknown issuer \"zzz\" (issuers: a)", 1,
	    "unknown issuer: the known names");
	bad_text(U R "timeouts { head = 10x }\n", 3, 19,
	    "head: \"10x\" is not a duration", 1, "a bad duration");
	bad_text(U "issuer a { secret = \"" SECRET "\"; leeway = 1500ms }\n" R,
	    2, 75, "whole seconds", 1, "seconds: milliseconds must add up");
	bad_text(U R "limits { max_body_bytes = 1t }\n", 3, 27, "is not a size",
	    1, "a bad size");

	/* Units, and plain numbers keep their meaning. */
	c = load_text(U R
	    "timeouts { head = 500ms; body = 2m; idle = 1h; drain = 1500;\n"
	    "  drain_delay = 5s }\n"
	    "limits { max_head_bytes = 64k; max_body_bytes = 1m }\n",
	    path, sizeof(path));
	ok(c != NULL, "units load");
	if (c != NULL) {
		is_int(c->head_timeout_ms, 500, "500ms");
		is_int(c->body_timeout_ms, 120000, "2m");
		is_int(c->idle_timeout_ms, 3600000, "1h");
		is_int(c->drain_timeout_ms, 1500, "a plain number is ms");
		is_int(c->drain_delay_ms, 5000, "drain_delay 5s");
		is_int(c->max_head_bytes, 65536, "64k");
		is_int(c->max_body_bytes, 1048576, "1m is a MiB");
	}
	conf_free(c);

	/* ${VAR} only in double quotes. */
	setenv("BEARERD_TEST_EMPTY", "", 1);
	c = load_text(U "issuer a {\n  secret = \"${BEARERD_TEST_EMPTY:-" SECRET
	                "}\"\n  issuer = \"a\\$b\\x41\"\n}\n" R,
	    path, sizeof(path));
	ok(c != NULL && c->issuers[0].secret_len == strlen(SECRET),
	    "${VAR:-default} replaces an empty variable");
	ok(c != NULL && strcmp(c->issuers[0].iss, "a$bA") == 0,
	    "\\$ and \\xHH escapes");
	conf_free(c);
	unsetenv("BEARERD_TEST_EMPTY");
	bad_text(U "issuer a { secret = '${BEARERD_TEST_SECRET}' }\n" R, 2, 22,
	    "'${' in single quotes", -1,
	    "a single-quoted ${...} is an error, not a literal secret");
	bad_text(U "issuer a { secret = ${BEARERD_TEST_SECRET} }\n" R, 2, 21,
	    "'${' in a bare value", -1, "a bare ${...} is an error");
	bad_text(U "issuer a { secret = \"${1X}\" }\n" R, 2, 22,
	    "is not ${NAME} or ${NAME:-default}", -1, "a bad variable name");
	bad_text(U "issuer a { secret = \"\\q\" }\n" R, 2, 22,
	    "unknown escape '\\q'", -1, "an unknown escape");

	/* += adds to a list. */
	c = load_text(U
	    "issuer a { secret = \"" SECRET "\"\n"
	    "  keep_claims = {\"email\"}\n  keep_claims += \"role\" }\n" R,
	    path, sizeof(path));
	ok(c != NULL && c->issuers[0].n_keep_claims == 2 &&
	        strcmp(c->issuers[0].keep_claims[1], "role") == 0,
	    "+= appends to a list");
	conf_free(c);
}

/* Every option of the table is documented in conf/bearerd.conf, and every
 * option the reference sets shows the table's default, but for the few it
 * sets to an example value (listed here). */
static void
test_reference(void)
{
	static const char *const examples[] = {"credential", "forward",
	    "cookie", "session_cookie", "secret", "keep_claims", "mint_secret",
	    "url", "upstream", "auth", "issuer", "require", "header", "health",
	    "ready", "pass_auth_cookies"};
	struct conf_ctx ctx;
	struct conf_node *top, *stack[8];
	FILE *f = fopen(EXAMPLE, "rb");
	char *text = malloc(1 << 20);
	size_t len = 0, i, k, depth = 0;
	int undocumented = 0, drift = 0;

	if (f != NULL && text != NULL)
		len = fread(text, 1, (1 << 20) - 1, f);
	if (f != NULL)
		fclose(f);
	ok(len > 0, "conf/bearerd.conf read");
	if (len == 0) {
		free(text);
		return;
	}
	text[len] = '\0';
	for (i = 0; i < conf_n_opts; i++) {
		const char *p = text;
		size_t n = strlen(conf_opts[i].name);
		bool found = false;

		while (!found && (p = strstr(p, conf_opts[i].name)) != NULL) {
			const char *q = p + n;

			while (*q == ' ')
				q++;
			if (q == p + n && *q != '=' && *q != '{' && *q != '+')
				q = p; /* part of a longer word */
			else if (*q != '=' && *q != '{' && *q != '+') {
				/* "name TITLE {" */
				while (*q != '\0' && *q != ' ' && *q != '\n')
					q++;
				while (*q == ' ')
					q++;
			}
			found = (p == text ||
			            !(p[-1] == '_' ||
			                (p[-1] >= 'a' && p[-1] <= 'z'))) &&
			    (*q == '=' || *q == '{' ||
			        (*q == '+' && q[1] == '='));
			p += n;
		}
		if (!found && undocumented++ < 5)
			printf("#   %s%s%s is not in conf/bearerd.conf\n",
			    conf_opts[i].sec, conf_opts[i].sec[0] ? "." : "",
			    conf_opts[i].name);
	}
	is_int(undocumented, 0, "every option of the table is documented");

	memset(&ctx, 0, sizeof(ctx));
	ctx.path = EXAMPLE;
	top = conf_parse(&ctx, text, len);
	is_int(ctx.n_errs, 0, "the reference parses");
	/* Depth-first over the tree. */
	stack[depth++] = top;
	while (depth > 0) {
		struct conf_node *n = stack[--depth];

		if (n == NULL)
			continue;
		stack[depth++] = n->next;
		if (n->kids != NULL && depth < 8)
			stack[depth++] = n->kids;
		if (n->opt->def == NULL || n->n_vals == 0)
			continue;
		for (k = 0; k < sizeof(examples) / sizeof(examples[0]); k++)
			if (strcmp(examples[k], n->opt->name) == 0)
				break;
		if (k < sizeof(examples) / sizeof(examples[0]))
			continue;
		if (n->opt->type == CONF_T_STR) {
			if (strcmp(n->vals[0].s, n->opt->def) == 0)
				continue;
		} else if (n->opt->type == CONF_T_LIST) {
			char joined[1024] = "";

			for (k = 0; k < n->n_vals; k++)
				snprintf(joined + strlen(joined),
				    sizeof(joined) - strlen(joined), "%s%s",
				    k ? ", " : "", n->vals[k].s);
			if (strcmp(joined, n->opt->def) == 0)
				continue;
		} else {
			int64_t a, b;

			if (conf_parse_number(n->vals[0].s, n->opt->type, &a) ==
			        0 &&
			    conf_parse_number(n->opt->def, n->opt->type, &b) ==
			        0 &&
			    a == b)
				continue;
		}
		if (drift++ < 5)
			printf("#   line %d: %s = %s, the table says %s\n",
			    n->pos.line, n->opt->name, n->vals[0].s,
			    n->opt->def);
	}
	is_int(drift, 0, "the reference shows the table's defaults");
	conf_tree_free(top);
	for (i = 0; i < ctx.n_errs; i++)
		conf_mfree(ctx.errs[i].msg);
	conf_mfree(ctx.errs);
	free(text);
}

static bool conf_failed; /* the countdown hit an allocation of conf/ */

static bool
fail_now(void)
{
	bool f = alloc_should_fail() != 0;

	conf_failed |= f;
	return f;
}

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* conf_buf_add (mem.c), the growing text behind values and the writer:
 * appends in order, NUL-terminated, and after a failed allocation nothing
 * more, with nothing leaked once the caller frees it. */
static void
test_buf(void)
{
	static const struct {
		const char *name;
		const char *parts[4]; /* NULL-terminated */
		long fail_at;         /* the conf allocation that fails; -1 */
		const char *want;     /* NULL: no text at all */
		size_t cap;
		bool failed;
	} tab[] = {
	    {"an empty append allocates", {"", NULL}, -1, "", 64, false},
	    {"two parts", {"ab", "cd", NULL}, -1, "abcd", 64, false},
	    {"63 bytes and the NUL fit the first 64", {&A64[1], NULL}, -1,
	        &A64[1], 64, false},
	    {"64 bytes double it", {A64, NULL}, -1, A64, 128, false},
	    {"growth keeps what was there", {"xy", A64, "z", NULL}, -1,
	        "xy" A64 "z", 128, false},
	    {"first allocation fails", {"ab", "cd", NULL}, 0, NULL, 0, true},
	    {"growth fails: the text so far, nothing after",
	        {"xy", A64, "z", NULL}, 1, "xy", 64, true},
	};
	size_t i, j;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct conf_buf b = {NULL, 0, 0, false};
		long live0 = conf_alloc_live();

		alloc_countdown = tab[i].fail_at;
		conf_set_alloc_hook(fail_now);
		for (j = 0; tab[i].parts[j] != NULL; j++)
			conf_buf_add(&b, tab[i].parts[j],
			    strlen(tab[i].parts[j]));
		conf_set_alloc_hook(NULL);
		alloc_countdown = -1;
		is_int(b.failed, tab[i].failed, "buf %s: failed", tab[i].name);
		is_int(b.cap, tab[i].cap, "buf %s: capacity", tab[i].name);
		if (tab[i].want == NULL) {
			ok(b.p == NULL, "buf %s: no text", tab[i].name);
		} else {
			is_str(b.p, tab[i].want, "buf %s: text", tab[i].name);
			is_int(b.n, strlen(tab[i].want), "buf %s: length",
			    tab[i].name);
		}
		conf_wipe_free(b.p, b.cap);
		is_int(conf_alloc_live(), live0, "buf %s: nothing left",
		    tab[i].name);
	}
}

/*
 * Loads |name| with the Nth allocation failing, for N = 0, |step|,
 * 2 |step|, ... until a load succeeds: through the loader's allocator,
 * OpenSSL's and jansson's (|libc| false), or through malloc itself, any
 * caller (|libc| true, not under ASan).
 */
static void
oom_loop(const char *name, long step, bool libc)
{
	char path[512];
	struct conf *c;
	long n, live0;
	int bad_fail = 0, leaks = 0, loaded = 0;

	snprintf(path, sizeof(path), "%s%s", DIR, name);
	setenv("BEARERD_TEST_SECRET", SECRET, 1);
	/* One load first: libraries initialise themselves once. */
	conf_free(conf_load(path, err, sizeof(err)));
	live0 = conf_alloc_live();
	for (n = 0; n < 200000; n += step) {
		alloc_failed = 0;
		conf_failed = false;
#ifdef OOM_LOOP
		memset(live, 0, sizeof(live));
		n_live = 0;
		oom_hit = false;
		if (libc) {
			oom_countdown = n;
			oom_on = true;
		}
#endif
		if (!libc) {
			fail_ossl = fail_json = 1;
			conf_set_alloc_hook(fail_now);
			alloc_countdown = n;
		}
		c = conf_load(path, err, sizeof(err));
		alloc_countdown = -1;
		conf_set_alloc_hook(NULL);
		fail_ossl = fail_json = 0;
#ifdef OOM_LOOP
		oom_on = false;
		alloc_failed += oom_hit;
		if (libc && n_live != 0 && c == NULL && leaks++ == 0)
			printf("#   allocation %ld failed: %zu blocks leaked\n",
			    n, n_live);
#endif
		if (c != NULL && alloc_failed == 0) {
			conf_free(c);
			loaded = 1;
			break;
		}
		/* OpenSSL copes with some failures itself (a cache not
		 * filled): a load may succeed, but then whole. */
		if (c != NULL && !conf_failed && c->n_issuers == 2 &&
		    c->issuers[0].minter != NULL &&
		    c->issuers[1].minter != NULL &&
		    auth_keyset_count(c->issuers[0].keys) >= 1 &&
		    auth_route_count(c->table) == 4) {
			conf_free(c);
			continue;
		}
		/* auth/ may blame OpenSSL rather than memory: any error
		 * will do, but there must be one. */
		if (c != NULL || err[0] == '\0') {
			if (bad_fail++ == 0)
				printf("#   allocation %ld: %s\n", n,
				    c != NULL ? "loaded anyway" : "no message");
			conf_free(c);
		}
		if (conf_alloc_live() != live0 && leaks++ == 0)
			printf("#   allocation %ld failed: %ld blocks leaked\n",
			    n, conf_alloc_live() - live0);
	}
	ok(loaded, "OOM %s %s: loads once allocations stop failing (%ld)",
	    libc ? "malloc" : "hooks", name, n);
	ok(n > 20 * step, "OOM %s %s: the load allocates (%ld times)",
	    libc ? "malloc" : "hooks", name, n);
	is_int(bad_fail, 0,
	    "OOM %s %s: every failed allocation fails the load with an error",
	    libc ? "malloc" : "hooks", name);
	is_int(leaks, 0, "OOM %s %s: nothing leaks on any failure path",
	    libc ? "malloc" : "hooks", name);
	unsetenv("BEARERD_TEST_SECRET");
}

static void
test_oom(void)
{
	/* Every allocation of a load without PEM keys; one in 97 with them
	 * (OpenSSL decodes a PEM in ~15 ms). */
	oom_loop("oom.conf", 1, false);
	oom_loop("full.conf", 97, false);
#ifdef OOM_LOOP
	oom_loop("oom.conf", 1, true);
	oom_loop("full.conf", 97, true);
#else
	printf("# OOM loop over libc malloc skipped under ASan\n");
#endif
}

int
main(void)
{
	int hooked = CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free);

	json_set_alloc_funcs(j_malloc, free);
	ok(hooked, "OpenSSL allocator hooked before any allocation");
	test_full();
	test_defaults();
	test_bad();
	test_inline();
	test_kids();
	test_route_order();
	test_example();
	test_syntax();
	test_reference();
	test_buf();
	test_oom();
	conf_free(NULL);
	ok(1, "conf_free(NULL)");
	return tap_done();
}
