/* SPDX-License-Identifier: MIT */
/* The configuration: a bearerd.conf file turned into an immutable struct conf.
 */
#ifndef CONF_CONF_H
#define CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define CONF_MAX_UPSTREAMS 32
#define CONF_MAX_ISSUERS 16
#define CONF_MAX_ROUTES 256
#define CONF_MAX_NAMES 32        /* strip_headers, claim headers, origins */
#define CONF_MAX_NETS 64         /* trust_forwarded networks */
#define CONF_MAX_CUT_COOKIES 256 /* auth cookie names cut from Cookie */
#define CONF_ERR_LEN 8192        /* all error lines together */

struct conf_upstream {
	char *name;
	char *host;              /* host name or numeric address, no brackets */
	char *port;              /* decimal, as a string for getaddrinfo */
	char *host_header;       /* "host" or "host:port", sent as Host */
	int connect_timeout_ms;  /* default 2000 */
	int response_timeout_ms; /* until the final response head; 30000 */
	int idle_timeout_ms;     /* pooled connection idle; default 4000 */
	int max_idle; /* cap on pooled idle connections per worker; 1024 */
	bool tls;     /* https:// url: TLS 1.2+, certificate and name checked */
	char *ca_file; /* PEM CAs for a tls upstream; NULL: the system store */
};

enum conf_cred {
	CONF_CRED_JWT = 0,    /* the cookie holds a JWT, verified locally */
	CONF_CRED_BA_COMPACT, /* Better Auth session_data, compact strategy */
	CONF_CRED_SESSION     /* Better Auth session_token, exchanged at
	                         token_url for a JWT */
};

enum conf_forward {
	CONF_FORWARD_PASSTHROUGH = 0, /* the verified JWT as is */
	CONF_FORWARD_MINT             /* a fresh token signed by bearerd */
};

/* Where identities come from and what goes upstream. */
struct conf_issuer {
	char *name;
	enum conf_cred cred;
	char *cookie;          /* the credential cookie's name */
	char *cookie_secure;   /* "__Secure-" + cookie, also accepted */
	char *session_cookie;  /* Better Auth session_token name, or NULL */
	unsigned char *secret; /* HMAC secret (session/compact, HS keys) */
	size_t secret_len;
	/* The session_token cookie the exchange sends (credential session:
	 * cookie; better-auth-compact with token_url: session_cookie) and
	 * its "__Secure-" twin; NULL without an exchange. Owned. */
	char *exch_cookie;
	char *exch_cookie_secure;
	/* How the JWT from token_url is verified: |policy| for credential
	 * session; for better-auth-compact, the subject "sub" and the kept
	 * claims by their last segment ("user.email" -> "email"), as a JWT
	 * carries them. keys: the jwks_url set at run time. */
	struct auth_policy exch_policy;
	/* credential session: Better Auth's dont_remember cookie, when the
	 * session cookie's name shows its prefix ("P.session_token" ->
	 * "P.dont_remember"), and its "__Secure-" twin; else NULL. */
	char *dont_remember;
	char *dont_remember_secure;
	char *token_url; /* exchange endpoint (credential session), or NULL */
	char *jwks_url;  /* remote JWKS, or NULL */
	/* token_url and jwks_url split for the HTTP client: host, port and
	 * Host header in the upstream form (name NULL, timeouts set), and
	 * the request target ("/api/auth/token"). Set iff the URL is. */
	struct conf_upstream token_up;
	char *token_path;
	struct conf_upstream jwks_up;
	char *jwks_path;
	int64_t jwks_refresh; /* seconds between JWKS refreshes; 300 */
	int64_t
	    jwks_min_refresh; /* seconds between unknown-kid refetches; 10 */
	struct auth_keyset *keys;  /* owned */
	struct auth_policy policy; /* policy.keys == keys; strings owned */
	enum conf_forward forward;
	struct auth_minter *minter; /* owned; non-NULL iff forward == mint */
	/* seconds before exp at which a cached exchanged JWT is renewed;
	 * default 60 */
	int64_t refresh_before;
	/* seconds after which a cached exchange is checked again at
	 * token_url, bounding how long a revoked session still works;
	 * default 60 */
	int64_t session_recheck;
	char *cache_domain; /* tcache domain: unique per issuer+reload */
	/* The strings policy points at (owned here, read through policy). */
	char *iss;     /* "issuer" option, or NULL */
	char *aud;     /* "audience" option, or NULL */
	char *subject; /* subject path, never NULL */
	char *keep_claims[AUTH_MAX_KEEP_CLAIMS];
	size_t n_keep_claims;
};

struct conf_route {
	char *pattern;
	enum auth_mode mode;
	int upstream; /* index into conf.upstreams */
	int issuer;   /* index into conf.issuers, -1 for auth = none */
	/* Path prefix removed before forwarding ("/api": "/api/x" goes up
	 * as "/x", "/api" as "/"), or NULL. Starts with '/', no trailing
	 * '/'; only removed at a segment boundary. */
	char *strip_prefix;
	/* Pass the auth cookies (conf.cut_cookies) to the upstream; only
	 * Better Auth's own routes (/api/auth/...) need them. Default false. */
	bool pass_auth_cookies;
};

/* A network in CIDR form: the first |bits| bits of |addr|. */
struct conf_net {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network byte order; 4 used for AF_INET */
	unsigned bits;          /* prefix length: 0..32 or 0..128 */
};

struct conf {
	char *file; /* the path it was loaded from */

	/* listener */
	char *listen_host; /* "0.0.0.0", "::1", ... */
	char *listen_port;
	/* TLS on the listener: PEM certificate chain and private key, both
	 * checked to match at load; NULL for plain HTTP. */
	char *tls_cert_file;
	char *tls_key_file;
	/* A health path answered on the public listener, or NULL (off: the
	 * admin listener serves health, readiness and metrics). */
	char *public_health_path;
	int workers; /* resolved: >= 1 */
	int backlog;

	struct conf_upstream upstreams[CONF_MAX_UPSTREAMS];
	size_t n_upstreams;
	struct conf_issuer issuers[CONF_MAX_ISSUERS];
	size_t n_issuers;
	struct conf_route routes[CONF_MAX_ROUTES];
	size_t n_routes;
	/* The same routes for matching; route i has tag i. Owned. */
	struct auth_route_table *table;

	/* headers */
	char *strip_headers[CONF_MAX_NAMES]; /* identity headers, lower-case,
	                                         compared in all _/- variants */
	size_t n_strip_headers;
	/* claim -> header, e.g. "email" -> "X-User-Email" */
	char *claim_header_claim[CONF_MAX_NAMES];
	char *claim_header_name[CONF_MAX_NAMES];
	size_t n_claim_headers;
	/* Peers whose forwarding headers are believed (X-Forwarded-For,
	 * -Proto, -Host, Forwarded, X-Real-IP, X-Request-Id, ...). */
	struct conf_net trusted[CONF_MAX_NETS];
	size_t n_trusted;
	/* Cookies cut from Cookie on routes without pass_auth_cookies: every
	 * issuer's credential and session cookies, and Better Auth's
	 * session_token, session_data, dont_remember, in both prefixes.
	 * cut_chunked[i]: "NAME.<digits>" (a chunk) is cut too. */
	char *cut_cookies[CONF_MAX_CUT_COOKIES];
	bool cut_chunked[CONF_MAX_CUT_COOKIES];
	size_t n_cut_cookies;

	/* CSRF guard for unsafe methods authenticated by a cookie */
	char *csrf_origins[CONF_MAX_NAMES]; /* allowed Origins, lower-case,
	                                       "scheme://host[:port]" */
	size_t n_csrf_origins;
	bool csrf_require_origin; /* refuse when neither Origin nor
	                             Sec-Fetch-Site is sent; default false */

	/* limits */
	size_t max_head_bytes;      /* default 16384 */
	size_t max_header_line;     /* one field line, CRLF excluded;
	                               default 8192, <= max_head_bytes */
	size_t max_header_fields;   /* default 100 */
	uint64_t max_body_bytes;    /* default 100 MiB; 0 = unlimited */
	size_t token_cache_entries; /* per worker; default 1024 */

	/* timeouts, ms */
	int head_timeout_ms;  /* whole head must arrive; default 10000 */
	int body_timeout_ms;  /* between body reads; default 30000 */
	int idle_timeout_ms;  /* keep-alive idle; default 60000 */
	int drain_timeout_ms; /* SIGTERM grace; default 10000 */
	int drain_delay_ms;   /* SIGTERM: not ready, still accepting; 0 */

	/* admin listener (libevhtp): NULL host when not configured */
	char *admin_listen_host;
	char *admin_listen_port;
	char *health_path; /* "/healthz" */
	char *ready_path;  /* "/readyz" */
	bool access_log;   /* default true */
};

/* Loads and checks |path|. On success returns a new conf (the caller owns
 * it; free with conf_free). On failure returns NULL and writes every error
 * found, one "file:line:column: message" per line in file order, into |err|
 * (truncated to |err_len|; lines joined by '\n', no trailing newline); an
 * error without a place (the file cannot be read, memory ran out) is
 * "file: message". ${VAR} and ${VAR:-default} expand in double-quoted
 * values; a secret that expands empty or short is an error. Never aborts:
 * when memory runs out the load fails. Loads must not run concurrently (a
 * reload runs in one thread). */
struct conf *conf_load(const char *path, char *err, size_t err_len);

/* Frees |c| and everything it owns, wiping secrets; NULL does nothing. */
void conf_free(struct conf *c);

/* The file |path| written back in canonical form: the same statements in
 * the same order, every value double-quoted with its ${VAR} expanded and
 * '$' escaped, so it expands to itself. Loaded from the same directory, the
 * text gives the same conf. Returns a new NUL-terminated buffer of
 * |*out_len| bytes (free with conf_text_free: it may hold secrets), or NULL
 * when the file does not parse or memory ran out. */
char *conf_serialise(const char *path, size_t *out_len);
void conf_text_free(char *text, size_t len);

/* For tests: |fail| is asked before every allocation the loader makes and
 * fails it when it returns true; NULL (the default) never fails. */
void conf_set_alloc_hook(bool (*fail)(void));

/* For tests: allocations the loader made that are not freed yet. */
long conf_alloc_live(void);

/* Index of upstream |name|, or -1. */
int conf_upstream_find(const struct conf *c, const char *name);

#endif /* CONF_CONF_H */
