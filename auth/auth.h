/* SPDX-License-Identifier: MIT */
/* The verdict library's public API: bytes in, verdict out, no I/O, no clock. */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Limits on untrusted input, checked before any other work.
 */
#define AUTH_MAX_TOKEN_LEN 8192          /* a whole compact JWS */
#define AUTH_MAX_COOKIE_HEADER_LEN 16384 /* one Cookie header value */
#define AUTH_MAX_COOKIES 64              /* pairs in one Cookie header */
#define AUTH_MAX_COOKIE_VALUE_LEN 8192   /* one decoded cookie value */
#define AUTH_MAX_JSON_DEPTH 16           /* header and claims objects */
#define AUTH_MAX_SUB_LEN 255             /* subject bytes */
#define AUTH_MAX_KID_LEN 128
#define AUTH_MAX_EXTRA_LEN 2048 /* kept claims, as compact JSON */
#define AUTH_MAX_FWD_LEN 4096   /* a token forwarded upstream */
#define AUTH_MAX_PATH_LEN 4096  /* a canonical path */
#define AUTH_MAX_ROUTE_VARS 8   /* {name} bindings in one pattern */
#define AUTH_MAX_ROUTE_RULES 8  /* binding rules on one route */
#define AUTH_MAX_KEEP_CLAIMS 16 /* claims copied into struct auth_claims */
#define AUTH_MIN_SECRET_LEN 32  /* HMAC secrets, in bytes */
#define AUTH_MIN_RSA_BITS 2048

/*
 * Every outcome. Only AUTH_OK lets a request through; anything unexpected
 * is AUTH_INTERNAL, which callers answer 503 (never 2xx).
 */
enum auth_status {
	AUTH_OK = 0,
	AUTH_NO_TOKEN,  /* no credential where one was expected */
	AUTH_AMBIGUOUS, /* the credential cookie appears with two values */
	AUTH_TOO_LARGE, /* an input over its limit */
	AUTH_MALFORMED, /* not a well-formed token, cookie or JSON */
	AUTH_CRIT_UNSUPPORTED, /* a `crit` header we do not understand */
	AUTH_ALG_REJECTED,     /* alg none, unknown, or not the key's alg */
	AUTH_KEY_UNKNOWN,      /* no key for this kid */
	AUTH_BAD_SIGNATURE,
	AUTH_EXPIRED,
	AUTH_NOT_YET_VALID,  /* nbf or iat in the future beyond leeway */
	AUTH_CLAIM_MISSING,  /* a required claim (exp, iss, aud) is absent */
	AUTH_CLAIM_INVALID,  /* a time claim that is not an integer in range */
	AUTH_CLAIM_MISMATCH, /* iss or aud differs from the policy */
	AUTH_NO_SUBJECT,     /* the subject is absent, empty or not a string */
	AUTH_PATH_INVALID,   /* the request path is refused (400) */
	AUTH_NO_ROUTE,       /* no route matches (404) */
	AUTH_FORBIDDEN,      /* a binding rule failed (403) */
	AUTH_INTERNAL,       /* allocation or library failure: fail closed */
	AUTH_STATUS_MAX
};

/* Returns a stable lower-case name for |s| ("ok", "expired", ...), used as
 * the problem+json `code` and in access logs; "internal" for out of range. */
const char *auth_status_str(enum auth_status s);

/* The HTTP status a rejection maps to: 200 for AUTH_OK, 400 for
 * AUTH_PATH_INVALID/AUTH_AMBIGUOUS/AUTH_TOO_LARGE, 404 for AUTH_NO_ROUTE,
 * 403 for AUTH_FORBIDDEN, 503 for AUTH_INTERNAL, 401 otherwise. */
int auth_status_http(enum auth_status s);

/* Call once at startup, before any thread uses auth/ or jansson: seeds
 * jansson's hash (json_object_seed) and wraps jansson's allocator so that a
 * failed allocation during a parse is noticed (AUTH_INTERNAL). jansson
 * 2.14's lexer ignores a failed buffer growth and can return a string with
 * a byte missing, i.e. a subject that was never signed. Idempotent; not
 * thread-safe. Defined in jwt.c. */
void auth_init(void);

/* A view into a caller's buffer. Never NUL-terminated by contract. */
struct auth_view {
	const char *ptr;
	size_t len;
};

/* ---------------------------------------------------------------- b64url.c */

/* Strict base64url (RFC 4648 §5): no padding, no '+', '/', '=' or junk, and
 * the unused trailing bits must be zero. Writes at most |out_cap| bytes.
 * Returns 0, or -1 on any violation or when |out_cap| is too small. */
int b64url_decode(const char *in, size_t in_len, unsigned char *out,
    size_t out_cap, size_t *out_len);

/* Encodes without padding. Returns 0, or -1 when |out_cap| is too small
 * (the output is NUL-terminated, so it needs 4*ceil(n/3)+1 at most). */
int b64url_encode(const unsigned char *in, size_t in_len, char *out,
    size_t out_cap, size_t *out_len);

/* Strict standard base64 (RFC 4648 §4) with mandatory '=' padding, as Better
 * Auth's signed cookies use. Returns 0 or -1. */
int b64std_decode(const char *in, size_t in_len, unsigned char *out,
    size_t out_cap, size_t *out_len);

/* The value of hex digit |c| (either case), or -1: for %XX (RFC 3986 §2.1)
 * and \xHH escapes. Inline: path decoding runs it on every request. */
static inline int
auth_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ------------------------------------------------------------------ keys.c */

enum auth_alg {
	AUTH_ALG_INVALID = 0, /* never matches; "none" maps here */
	AUTH_ALG_HS256,
	AUTH_ALG_HS384,
	AUTH_ALG_HS512,
	AUTH_ALG_RS256,
	AUTH_ALG_RS384,
	AUTH_ALG_RS512,
	AUTH_ALG_PS256,
	AUTH_ALG_PS384,
	AUTH_ALG_PS512,
	AUTH_ALG_ES256,
	AUTH_ALG_ES384,
	AUTH_ALG_ES512,
	AUTH_ALG_EDDSA,
	AUTH_ALG_MAX
};

/* "HS256" ... "EdDSA"; NULL for AUTH_ALG_INVALID or out of range. */
const char *auth_alg_str(enum auth_alg alg);

/* Case-sensitive lookup of a JOSE alg name of |len| bytes;
 * AUTH_ALG_INVALID for "none" and for anything unknown. */
enum auth_alg auth_alg_from_str(const char *s, size_t len);

/*
 * A set of verification keys, each pinned to exactly one alg, looked up by
 * kid. Built once (at load or JWKS refresh), then read-only: any number of
 * threads may verify against it concurrently. Key material is cleansed when
 * freed.
 */
struct auth_keyset;

struct auth_keyset *auth_keyset_new(void);
void auth_keyset_free(struct auth_keyset *ks);

/* Number of keys in |ks|. */
size_t auth_keyset_count(const struct auth_keyset *ks);

/* Adds an HMAC secret (HS256/384/512 only), the raw bytes as given (Better
 * Auth uses the secret string's bytes). |kid| may be NULL. Secrets shorter
 * than AUTH_MIN_SECRET_LEN are refused. Copies |secret|. On failure returns
 * -1 and writes a one-line reason into |err|. */
int auth_keyset_add_secret(struct auth_keyset *ks, const char *kid,
    enum auth_alg alg, const unsigned char *secret, size_t secret_len,
    char *err, size_t err_len);

/* Adds a PEM public key (SPKI "PUBLIC KEY", or PKCS#1 "RSA PUBLIC KEY")
 * pinned to |alg|, which must suit the key type (RSA >= 2048 bits for RS and
 * PS, the matching curve for ES256/384/512, Ed25519 for EdDSA). A private
 * key or certificate PEM is refused. Returns 0, or -1 with |err|. */
int auth_keyset_add_pem(struct auth_keyset *ks, const char *kid,
    enum auth_alg alg, const char *pem, size_t pem_len, char *err,
    size_t err_len);

/* Adds every key of a JWKS document ({"keys":[...]}; kty RSA, EC, OKP; with
 * or without `use`; `use` other than "sig" is skipped). Each key's alg comes
 * from its `alg` member, else from kty/crv (RSA->RS256, P-256->ES256,
 * P-384->ES384, P-521->ES512, Ed25519->EdDSA). kty "oct" is refused (a
 * secret never travels in a key document). Duplicate kids, a JWKS with no
 * usable key, or any malformed key makes the whole call fail with -1 and
 * |err|, leaving |ks| unchanged. */
int auth_keyset_add_jwks(struct auth_keyset *ks, const char *json,
    size_t json_len, char *err, size_t err_len);

/* ------------------------------------------------------------------- jwt.c */

/*
 * How to verify a token: which keys, which claims. Owned by the caller
 * (conf/), read-only while in use.
 */
struct auth_policy {
	const struct auth_keyset *keys; /* required */
	const char *issuer;             /* NULL: iss not checked */
	const char *audience;           /* NULL: a token with aud is refused */
	int64_t leeway;                 /* seconds, for exp, nbf and iat */
	bool exp_optional;              /* false (default): exp is required */
	/* Where the subject is: NULL means "sub"; otherwise a dotted path
	 * into the payload ("session.userId"). */
	const char *subject_path;
	/* Claims copied into auth_claims.extra (for minting, claim headers
	 * and binding rules): a top-level name, or a dotted path into the
	 * payload ("user.email") kept under its last segment ("email"). */
	const char *keep_claims[AUTH_MAX_KEEP_CLAIMS];
	size_t n_keep_claims;
};

/* What a verified token says. Fixed size: no heap, safe to cache. */
struct auth_claims {
	char sub[AUTH_MAX_SUB_LEN + 1]; /* NUL-terminated, never empty */
	size_t sub_len;
	int64_t exp; /* INT64_MAX when absent and optional */
	int64_t iat; /* 0 when absent */
	enum auth_alg alg;
	/* The kept claims as one compact JSON object, NUL-terminated ("{}"
	 * when none). */
	char extra[AUTH_MAX_EXTRA_LEN];
	size_t extra_len;
};

/* Verifies a compact JWS |token| against |p| at time |now| (Unix seconds):
 * strict parsing (exactly three parts, strict base64url, JSON objects
 * without duplicate keys, depth-limited), header alg/kid/typ/crit (embedded
 * jku, x5u, jwk ignored, never trusted), key by kid with the alg pinned to
 * the key, the signature through OpenSSL, then claims (exp, nbf, iat, iss,
 * aud, subject). Fills |out| only on AUTH_OK. */
enum auth_status auth_jwt_verify(const struct auth_policy *p, const char *token,
    size_t token_len, int64_t now, struct auth_claims *out);

/* Looks up a kept claim by |name| in |c|'s extra JSON and copies it to
 * |out| (a string claim as its bytes, a number or boolean as its JSON text).
 * Returns 0, or -1 when absent, not a scalar, or too long. */
int auth_claims_get(const struct auth_claims *c, const char *name, char *out,
    size_t out_cap, size_t *out_len);

/* -------------------------------------------------------------- jwt_mint.c */

/* Mints tokens for the upstream (compact JWS signed through OpenSSL). Built
 * once from config, then read-only: threads may mint with it concurrently. */
struct auth_minter;

/* |alg| any alg but none; |key| is the HMAC secret (>= AUTH_MIN_SECRET_LEN)
 * or a PEM private key of the alg's type (RSA of AUTH_MIN_RSA_BITS or more,
 * the alg's EC curve, Ed25519). |ttl| seconds. |kid|/|issuer|/|audience|
 * may be NULL. Copies everything; signs once to check the key. NULL and
 * |err| on failure (including out of memory). */
struct auth_minter *auth_minter_new(enum auth_alg alg, const unsigned char *key,
    size_t key_len, const char *kid, const char *issuer, const char *audience,
    int64_t ttl, char *err, size_t err_len);
void auth_minter_free(struct auth_minter *m);

/* Mints a token for |c| into |out|, NUL-terminated: header {"alg","kid"
 * when configured,"typ":"JWT"}, payload sub, iat = now, exp = min(now +
 * ttl, c->exp), iss, aud, and every other member of c->extra, both compact
 * JSON with sorted keys. Returns 0, or -1 (out of memory, OpenSSL failing,
 * or |out_cap| too small); never crashes on either. */
int auth_minter_mint(const struct auth_minter *m, const struct auth_claims *c,
    int64_t now, char *out, size_t out_cap, size_t *out_len, int64_t *out_exp);

/* ---------------------------------------------------------------- cookie.c */

/*
 * Finds cookie |name| across |n| Cookie header values (RFC 6265 §4.2:
 * "a=b; c=d"). The value is unquoted (one pair of DQUOTEs) and
 * percent-decoded into |out| (NUL-terminated). The same name appearing more
 * than once, in one header or across several, with different decoded
 * values is AUTH_AMBIGUOUS (a second, planted cookie must never choose the
 * identity); identical copies are fine. AUTH_NO_TOKEN when absent or empty;
 * AUTH_TOO_LARGE over the limits; AUTH_MALFORMED for bad percent-encoding
 * or a control byte.
 */
enum auth_status auth_cookie_find(const struct auth_view *headers, size_t n,
    const char *name, char *out, size_t out_cap, size_t *out_len);

#define AUTH_MAX_COOKIE_CHUNKS 100 /* Better Auth's MAX_COOKIE_CHUNKS */

/*
 * As auth_cookie_find, but when |name| itself is absent, joins the chunks
 * "|name|.0", "|name|.1", ... in index order, each found and decoded as
 * auth_cookie_find does: Better Auth splits a session_data value whose
 * cookie would pass 4050 bytes that way and its reader joins them so.
 * The joining stops at the first missing index (a value with a gap is not
 * the one that was signed, and fails verification). The joined value must
 * fit AUTH_MAX_COOKIE_VALUE_LEN and |out_cap| (else AUTH_TOO_LARGE);
 * any chunk's error is the answer.
 */
enum auth_status auth_cookie_find_chunked(const struct auth_view *headers,
    size_t n, const char *name, char *out, size_t out_cap, size_t *out_len);

/* Copies Cookie header |in| to |out| without the pairs named in |names|
 * (exact, case-sensitive), keeping the others byte for byte and joining
 * them with "; ". Returns 0 (|out_len| may be 0: drop the header), or -1
 * when |out_cap| is too small or the header is over the limits. |out| is
 * NUL-terminated; the added separators can make it longer than |in|, so
 * AUTH_MAX_COOKIE_HEADER_LEN + 2 * AUTH_MAX_COOKIES + 1 always suffices. */
int auth_cookie_strip(const char *in, size_t in_len, const char *const *names,
    size_t n_names, char *out, size_t out_cap, size_t *out_len);

/* Like auth_cookie_strip, but drops the pairs whose name |drop| accepts
 * (|name| is a view, not NUL-terminated; |arg| is passed through). Pairs
 * without '=' are kept. Same returns and limits. */
int auth_cookie_filter(const char *in, size_t in_len,
    bool (*drop)(const char *name, size_t name_len, void *arg), void *arg,
    char *out, size_t out_cap, size_t *out_len);

/* --------------------------------------------------------------- session.c */

/* Better Auth's session_token cookie, already percent-decoded:
 * token "." base64std(HMAC-SHA256(secret, token)), split at the last '.'.
 * Checks the HMAC in constant time. On AUTH_OK |out_token| views the
 * token part inside |value|. AUTH_BAD_SIGNATURE or AUTH_MALFORMED
 * otherwise. */
enum auth_status auth_ba_session_token_check(const unsigned char *secret,
    size_t secret_len, const char *value, size_t value_len,
    struct auth_view *out_token);

struct auth_tcache_memo; /* tcache.c, below */

/* auth_ba_session_token_check through |m| (NULL: none), a memo of the
 * last cookie that verified under issuer |issuer| (auth_tcache_memo_has):
 * that very cookie is split, not verified again; a cookie that verifies
 * becomes the memo's. The caller empties |m| whenever |secret| may have
 * changed. */
enum auth_status auth_ba_session_token_check_memo(struct auth_tcache_memo *m,
    const char *issuer, const unsigned char *secret, size_t secret_len,
    const char *value, size_t value_len, struct auth_view *out_token);

/* Better Auth's session_data cookie in the `compact` strategy:
 * base64url(JSON{"session":{...},"expiresAt":ms,"signature":b64url}).
 * Verifies the HMAC over the raw "session" text with ,"expiresAt":N
 * spliced in, then expiresAt > now_ms - leeway, then takes the subject from
 * |p|->subject_path (default "session.userId") and kept claims as
 * auth_jwt_verify does. |p|->keys is unused; |secret| is the key. */
enum auth_status auth_ba_compact_verify(const struct auth_policy *p,
    const unsigned char *secret, size_t secret_len, const char *value,
    size_t value_len, int64_t now, struct auth_claims *out);

/* ------------------------------------------------------------------ path.c */

/*
 * Canonicalises a request path (no query) into |out| (NUL-terminated):
 * must start with '/'; percent-encoded unreserved bytes are decoded; other
 * escapes are kept with upper-case hex. AUTH_PATH_INVALID for an encoded
 * '/', '\' or control byte (%00-%1F, %7F), a raw '\', control or non-ASCII
 * byte, invalid percent-encoding, invalid or overlong UTF-8 in escapes, an
 * empty segment ("//"), and any dot segment ("." or "..", raw or encoded).
 * AUTH_TOO_LARGE over AUTH_MAX_PATH_LEN.
 */
enum auth_status auth_path_canon(const char *in, size_t in_len, char *out,
    size_t out_cap, size_t *out_len);

/* ----------------------------------------------------------------- route.c */

enum auth_mode {
	AUTH_MODE_NONE = 0, /* no credential looked at, none forwarded */
	AUTH_MODE_OPTIONAL, /* forwarded when valid, else passed without */
	AUTH_MODE_REQUIRED  /* 401 without a valid credential */
};

/* One binding rule: `var == sub`, `var == claim.NAME`,
 * `claim.NAME == "literal"`. */
enum auth_rule_kind {
	AUTH_RULE_VAR_SUB,    /* path variable equals the subject */
	AUTH_RULE_VAR_CLAIM,  /* path variable equals a kept claim */
	AUTH_RULE_CLAIM_VALUE /* a kept claim equals a literal */
};

struct auth_rule {
	enum auth_rule_kind kind;
	char var[64];    /* the path variable name, when used */
	char claim[64];  /* the claim name, when used */
	char value[256]; /* the literal, when used */
};

/* How a route's literal segments compare with the path's. */
enum auth_lit_case {
	/* Case-insensitive when the route binds (require rules, or auth =
	 * required), case-sensitive otherwise: "/API/bob/x" must get the
	 * binding route's 403, not fall through to a laxer route that a
	 * case-insensitive backend (Express, ASP.NET) serves as
	 * "/api/bob/x". */
	AUTH_LIT_CASE_DEFAULT = 0,
	AUTH_LIT_CASE_SENSITIVE,
	AUTH_LIT_CASE_INSENSITIVE
};

struct auth_route {
	char pattern[512];
	enum auth_mode mode;
	int tag; /* the caller's: which upstream/issuer (conf/ indexes) */
	struct auth_rule rules[AUTH_MAX_ROUTE_RULES];
	size_t n_rules;
	enum auth_lit_case lit_case;
};

struct auth_route_table;

struct auth_route_table *auth_route_table_new(void);
void auth_route_table_free(struct auth_route_table *t);

/* Parses |rule| text ("user_id == sub", "org == claim.org_id",
 * "claim.role == \"admin\"") into |out|. Returns 0, or -1 with |err|. */
int auth_rule_parse(const char *rule, struct auth_rule *out, char *err,
    size_t err_len);

/* Appends a route (first match wins, in order of addition). |pattern|
 * starts with '/', segments are literals, "{name}" (exactly one non-empty
 * segment) or a final "**" (zero or more segments). Every rule's var must
 * name a variable of the pattern. Returns 0, or -1 with |err|. */
int auth_route_add(struct auth_route_table *t, const struct auth_route *r,
    char *err, size_t err_len);

size_t auth_route_count(const struct auth_route_table *t);
const struct auth_route *auth_route_get(const struct auth_route_table *t,
    size_t i);

struct auth_binding {
	const char *name;     /* the variable name, in the route */
	struct auth_view val; /* the segment, a view into the matched path */
};

struct auth_match {
	const struct auth_route *route;
	size_t index;
	struct auth_binding vars[AUTH_MAX_ROUTE_VARS];
	size_t n_vars;
};

/* True when |r|'s literal segments match case-insensitively: its lit_case,
 * or by default whether it binds (require rules or auth = required). */
bool auth_route_folds(const struct auth_route *r);

/* Matches canonical |path|. AUTH_OK with |out| filled, or AUTH_NO_ROUTE.
 * A trailing '/' is insignificant ("/a/" matches "/a"). Literal segments
 * are compared with the percent-decoded path segment, as a decoding
 * backend routes ("/a%3Ab" matches the pattern "/a:b"): byte for byte, or
 * for a route that folds (auth_route_folds) ignoring ASCII case, where the
 * non-ASCII letters that case-insensitive backends fold to ASCII count as
 * those letters ("%C4%B1" dotless i, "%C5%BF" long s, "%E2%84%AA" Kelvin
 * sign, "%C4%B0" dotted capital I). */
enum auth_status auth_route_match(const struct auth_route_table *t,
    const char *path, size_t path_len, struct auth_match *out);

/*
 * Route shadowing (first match wins, so order is policy). Each finding
 * names two routes by table index (auth_route_get):
 * - AUTH_LINT_UNREACHABLE: |later| can never match, because the routes
 *   above it take every path it would (|earlier| alone when |alone|, else
 *   |earlier| is the first of them);
 * - AUTH_LINT_TAKES: |earlier| takes some of |later|'s paths (|example|,
 *   written as a pattern), |later| would enforce more there (|reason|:
 *   require rules or a stricter auth mode), and |earlier| is not simply a
 *   narrower exception carved out of |later| (every path of |earlier| also
 *   a path of |later|), which is how an exception is written on purpose.
 * Literal case is taken into account as auth_route_match does.
 */
enum auth_lint_kind { AUTH_LINT_UNREACHABLE, AUTH_LINT_TAKES };

struct auth_lint {
	enum auth_lint_kind kind;
	size_t earlier;
	size_t later;
	bool alone;
	char example[600];
	char reason[96];
};

/* Analyses |t| and writes up to |cap| findings, in the order of |later|,
 * into |out|; |*n_found| is how many there are (possibly more than |cap|).
 * Returns 0, or -1 when out of memory. Pure: no I/O. */
int auth_route_lint(const struct auth_route_table *t, struct auth_lint *out,
    size_t cap, size_t *n_found);

/* Checks |m|'s route rules against verified |c|. AUTH_OK, or
 * AUTH_FORBIDDEN on any mismatch (byte-exact comparison of the binding,
 * percent-decoded as the backend will read it, with the subject or claim;
 * an absent claim fails). */
enum auth_status auth_route_check(const struct auth_match *m,
    const struct auth_claims *c);

/* ---------------------------------------------------------------- tcache.c */

#define AUTH_TCACHE_KEY_LEN 32

/*
 * A bounded cache of verified tokens: SHA-256(domain || token) -> claims,
 * the token to forward and its expiry. Fixed memory, chosen at creation;
 * no entry is returned at or after its expiry. Not thread-safe: one per
 * worker thread.
 */
struct auth_tcache;

struct auth_tcache_entry {
	unsigned char key[AUTH_TCACHE_KEY_LEN];
	int64_t expires; /* Unix seconds; never beyond the token's exp */
	struct auth_claims claims;
	char fwd[AUTH_MAX_FWD_LEN]; /* token to forward, NUL-terminated */
	size_t fwd_len;
};

/* |n_entries| is rounded up to a power of two. NULL on allocation
 * failure. */
struct auth_tcache *auth_tcache_new(size_t n_entries);
void auth_tcache_free(struct auth_tcache *c);

/* The cache key of |token| under |domain| (a policy's identity, so a token
 * verified under one policy is never found under another). */
void auth_tcache_key(const char *domain, const char *token, size_t token_len,
    unsigned char out[AUTH_TCACHE_KEY_LEN]);

/*
 * The last key one client connection needed, with the exact bytes it was
 * hashed from (domain, NUL, token): a browser sends the same cookie on
 * every request of a connection, and the SHA-256 was most of a cached
 * request's own work. A memoised pure function, so a key it returns is
 * always the key auth_tcache_key would compute. Zero-initialise it; the
 * owner calls auth_tcache_memo_clear when done (it wipes the copy).
 */
#define AUTH_TCACHE_MEMO_MAX 4096 /* longer inputs are hashed every time */

struct auth_tcache_memo {
	unsigned char key[AUTH_TCACHE_KEY_LEN];
	unsigned char
	    *in;    /* owned: |len| bytes hashed into |key|; may be NULL */
	size_t len; /* 0: nothing memoised */
	size_t cap;
};

/* auth_tcache_key through |m| (NULL: no memo). The input is compared in
 * constant time: a connection may carry more than one client's requests
 * (a front proxy pools them), so the comparison must not tell one client
 * how much of another's token it guessed. A failed allocation only means
 * no memo. */
void auth_tcache_key_memo(struct auth_tcache_memo *m, const char *domain,
    const char *token, size_t token_len,
    unsigned char out[AUTH_TCACHE_KEY_LEN]);

/* The memo's two halves, for other memoised checks (one memo a purpose):
 * whether |m| holds exactly (|domain|, NUL, |data|), compared as above;
 * and making it hold that with |val|. A set that cannot keep its input
 * (over AUTH_TCACHE_MEMO_MAX, or no memory) leaves |m| empty, never
 * holding an older input as if it were the last. */
bool auth_tcache_memo_has(const struct auth_tcache_memo *m, const char *domain,
    const char *data, size_t len);
void auth_tcache_memo_set(struct auth_tcache_memo *m, const char *domain,
    const char *data, size_t len, const unsigned char val[AUTH_TCACHE_KEY_LEN]);

/* Wipes and frees |m|'s copy; |m| is empty and reusable after. */
void auth_tcache_memo_clear(struct auth_tcache_memo *m);

/* The live entry for |key| at |now|, or NULL. The pointer is valid until
 * the next put. */
const struct auth_tcache_entry *auth_tcache_get(struct auth_tcache *c,
    const unsigned char key[AUTH_TCACHE_KEY_LEN], int64_t now);

/* Stores |claims| and |fwd| under |key| until |expires| (capped at
 * |claims|->exp), evicting as needed. Returns 0, or -1 when |fwd_len| is
 * too large or |expires| <= |now| (nothing stored). */
int auth_tcache_put(struct auth_tcache *c,
    const unsigned char key[AUTH_TCACHE_KEY_LEN],
    const struct auth_claims *claims, const char *fwd, size_t fwd_len,
    int64_t expires, int64_t now);

/* Removes every entry. */
void auth_tcache_clear(struct auth_tcache *c);

/* ---------------------------------------------------------------- scache.c */

#define AUTH_SCACHE_TOKEN_MAX 256 /* session token bytes an entry holds */

/*
 * The per-worker cache of Better Auth session exchanges: session token ->
 * the verified JWT's claims and the token to forward. Keyed by
 * SHA-256(domain || NUL || token); the full token is compared as well.
 * Fixed memory (set-associative, as the token cache); not thread-safe.
 */
struct auth_scache;

struct auth_scache_entry {
	unsigned char key[AUTH_TCACHE_KEY_LEN];
	char token[AUTH_SCACHE_TOKEN_MAX];
	size_t token_len;
	struct auth_claims claims; /* of the verified JWT */
	/* Until when the entry can be used at all: the JWT's exp, and the
	 * forwarded token's when that expires sooner (a minted one). */
	int64_t exp;
	int64_t fetched_at; /* when the issuer vouched for the session */
	/* After a failed refresh (issuer down), no new exchange is tried
	 * before this and the entry is served as it is; 0 otherwise. */
	int64_t retry_at;
	char fwd[AUTH_MAX_FWD_LEN]; /* NUL-terminated */
	size_t fwd_len;
};

enum auth_scache_state {
	AUTH_SC_MISS = 0, /* nothing usable: exchange */
	AUTH_SC_HIT,      /* usable and fresh */
	/* Still inside exp, but due (exp - refresh_before reached, or
	 * fetched session_recheck ago): exchange, unless retry_at says
	 * the issuer just failed, in which case use it as it is. */
	AUTH_SC_STALE
};

/* |n_entries| is rounded up to a power of two. NULL on failure. */
struct auth_scache *auth_scache_new(size_t n_entries);

/* Wipes (the entries hold tokens) and frees; NULL is fine. */
void auth_scache_free(struct auth_scache *c);

/*
 * Looks up session |token| under |domain| at |now|. On HIT or STALE,
 * |*out| points at the entry (valid until the next put, fail or remove).
 * An entry at or past its exp is wiped and reported as a MISS. HIT needs
 * now < exp - |refresh_before| and now < fetched_at + |recheck|, or an
 * entry fetched at |now| (never two exchanges of a session in a second).
 * The key is computed through |memo| (auth_tcache_key_memo; may be NULL).
 */
enum auth_scache_state auth_scache_lookup(struct auth_scache *c,
    struct auth_tcache_memo *memo, const char *domain, const char *token,
    size_t token_len, int64_t now, int64_t refresh_before, int64_t recheck,
    const struct auth_scache_entry **out);

/* Stores what the issuer just said about |token|: |claims|, the token to
 * forward |fwd| (|fwd_len| < AUTH_MAX_FWD_LEN) usable until |exp| (capped
 * at claims->exp), fetched at |now|; clears retry_at. Evicts within the
 * set: an empty slot, else the one expiring soonest. Returns 0, or -1
 * (token or fwd too long, exp <= now: nothing stored). */
int auth_scache_put(struct auth_scache *c, const char *domain,
    const char *token, size_t token_len, const struct auth_claims *claims,
    const char *fwd, size_t fwd_len, int64_t exp, int64_t now);

/* A refresh of |token| failed because the issuer could not answer: the
 * entry, if any, is served as it is until |retry_at| (never past its
 * exp). Returns true when an entry still usable at |now| exists. */
bool auth_scache_fail(struct auth_scache *c, const char *domain,
    const char *token, size_t token_len, int64_t retry_at, int64_t now);

/* The issuer said the session is gone: forget |token|. */
void auth_scache_remove(struct auth_scache *c, const char *domain,
    const char *token, size_t token_len);

#endif /* AUTH_AUTH_H */
