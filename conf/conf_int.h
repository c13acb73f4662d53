/* SPDX-License-Identifier: MIT */
/* What the loader's files share while a file is loaded; not public. */
#ifndef CONF_CONF_INT_H
#define CONF_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CONF_MSG_LEN 512 /* one error message, before "file:line:col: " */
#define CONF_MAX_DEPTH 8 /* nested sections */

/* A place in the file: 1-based line and byte column; line 0: nowhere. */
struct conf_pos {
	int line;
	int col;
};

struct conf_errmsg {
	struct conf_pos pos;
	size_t seq; /* order of discovery, for a stable sort */
	char *msg;  /* owned */
};

/* ------------------------------------------------------------ the table */

enum conf_type {
	CONF_T_STR = 0, /* one string */
	CONF_T_LIST,    /* strings: {"a", "b"}, or one string */
	CONF_T_INT,     /* a plain integer */
	CONF_T_MS,      /* a duration; a plain integer is milliseconds */
	CONF_T_SEC,     /* a duration; a plain integer is seconds */
	CONF_T_SIZE,    /* bytes; a plain integer is bytes, or 64k, 1m, 1g */
	CONF_T_BOOL,    /* true/false, yes/no, on/off */
	CONF_T_SECTION, /* name { ... } */
	CONF_T_TITLED   /* name TITLE { ... }, any number of them */
};

/* Where a table value is stored by conf_apply(). */
enum conf_target {
	CONF_TGT_NONE = 0, /* read by the build code */
	CONF_TGT_CONF,     /* struct conf */
	CONF_TGT_UPSTREAM, /* struct conf_upstream */
	CONF_TGT_ISSUER,   /* struct conf_issuer */
	CONF_TGT_ROUTE     /* struct conf_route */
};

/*
 * One option: the section it belongs to ("" for the top level, "issuer.key"
 * for a nested one), its name and type, its default as it would be written
 * in the file (NULL: none), the range of numbers, and where conf_apply()
 * stores it (target, offset, size), or CONF_TGT_NONE when build code reads
 * it with conf_str() and friends.
 */
/* NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding): a table */
struct conf_opt {
	const char *sec;
	const char *name;
	enum conf_type type;
	const char *def;
	int64_t lo, hi;
	enum conf_target tgt;
	size_t off, size;
};

extern const struct conf_opt conf_opts[];
extern const size_t conf_n_opts;

/* Parses |s| as a value of type |t| (a number with an optional unit:
 * durations ms, s, m, h; sizes k, m, g; or a bool) into |out|, durations in
 * the type's unit. Returns 0, or -1. */
int conf_parse_number(const char *s, enum conf_type t, int64_t *out);

/* The row for |name| in section |sec|, or NULL. */
const struct conf_opt *conf_opt_find(const char *sec, const char *name);

/* ------------------------------------------------------------- the tree */

/* A value as written: the text after unquoting and ${} expansion. */
struct conf_val {
	char *s; /* owned, wiped on free (it may be a secret) */
	size_t len;
	struct conf_pos pos;
};

/* One statement: an option (name = value) or a section (name [title] {}). */
struct conf_node {
	const struct conf_opt *opt; /* its table row */
	struct conf_pos pos;        /* the name */
	bool is_list;               /* written as { ... } */
	struct conf_val *vals;      /* options: the values; owned */
	size_t n_vals;
	struct conf_val title;  /* titled sections; s == NULL otherwise */
	struct conf_node *kids; /* sections: the statements in order; owned */
	struct conf_node *next; /* the next statement of the parent */
	struct conf_pos close;  /* sections: the closing brace */
};

/* --------------------------------------------------------- one load */

/* Where a route's references were written, for checks across sections. */
struct conf_route_src {
	struct conf_pos pos;  /* the route section */
	const char *upstream; /* as written; NULL when absent */
	struct conf_pos upstream_pos;
	const char *issuer; /* as written; NULL when absent */
	struct conf_pos issuer_pos;
	struct auth_rule rules[AUTH_MAX_ROUTE_RULES]; /* parsed */
	size_t n_rules;
	struct conf_pos require_pos[AUTH_MAX_ROUTE_RULES];
	struct conf_pos auth_pos;
};

/* The state of one conf_load(). */
struct conf_ctx {
	const char *path;
	struct conf_errmsg *errs;
	size_t n_errs, cap_errs;
	bool oom;
	struct conf_pos eof; /* the end of the file */
	struct conf_route_src routes[CONF_MAX_ROUTES];
	struct conf_pos issuer_pos[CONF_MAX_ISSUERS];
	struct conf_pos claim_pos[CONF_MAX_NAMES];
};

/* --------------------------------------------------------------- mem.c */

/* Every allocation of the loader goes through these, so a test can fail
 * the Nth one (conf_set_alloc_hook) and count what is still live. */
void *conf_malloc(size_t n);
void *conf_calloc(size_t n, size_t size);
void *conf_realloc(void *p, size_t n);
char *conf_strdup(const char *s);
char *conf_strndup(const char *s, size_t n);
void conf_mfree(void *p);
/* Overwrites |n| bytes of |p| (a secret) and frees it; NULL is fine. */
void conf_wipe_free(void *p, size_t n);

/* A growing NUL-terminated text that may hold secrets (config values, the
 * written-back file): start it all zero; free it with conf_wipe_free(p,
 * cap). Once an append has failed, |failed| stays set and nothing more is
 * appended. */
struct conf_buf {
	char *p; /* owned; NULL until the first append */
	size_t n, cap;
	bool failed;
};

/* Appends |n| bytes of |s| to |b| and keeps it NUL-terminated. When it
 * grows, the old copy is wiped before it is freed, never left behind as
 * realloc would. Sets |b|->failed when out of memory or past SIZE_MAX. */
void conf_buf_add(struct conf_buf *b, const char *s, size_t n);

/* -------------------------------------------------------------- conf.c */

void conf_err(struct conf_ctx *ctx, struct conf_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The closest of |names| (|n| of them) to |s|, if it is close enough to be
 * a likely typo; else NULL. */
const char *conf_suggest(const char *s, const char *const *names, size_t n);

/* ------------------------------------------------------ lex.c, parse.c */

/*
 * Parses |text| (|len| bytes, NUL-terminated) into a tree of statements
 * checked against the option table: unknown options and sections, an option
 * set twice, a duplicate section title. Every error goes to |ctx|; parsing
 * resumes at the next statement. Returns the top-level statements (free
 * with conf_tree_free), possibly NULL for an empty file.
 */
struct conf_node *conf_parse(struct conf_ctx *ctx, const char *text,
    size_t len);

void conf_tree_free(struct conf_node *n);

/* write.c: the statements |top| as canonical text (see conf_serialise).
 * A new buffer of |*out_len| bytes, or NULL when memory ran out. */
char *conf_write_tree(const struct conf_node *top, size_t *out_len);

/* -------------------------------------------------------- conf_check.c */

/* Splits "host:port" or "[v6]:port" into new strings. Returns 0, or -1
 * with a message in |msg|. */
int conf_parse_listen(const char *s, char **out_host, char **out_port,
    char *msg, size_t msg_len);

/* Resolves |host| (a name or a numeric address) for a passive socket on
 * |port| and checks that this machine can bind each address it gives (on
 * port 0, so a running daemon on |port| does not make it fail). Returns 0,
 * or -1 with |msg|. */
int conf_check_bindable(const char *host, const char *port, char *msg,
    size_t msg_len);

/* Checks that |cert_file| holds a PEM certificate (chain) and |key_file|
 * the PEM private key matching its first certificate. Returns 0, or -1
 * with |msg|. */
int conf_check_tls_pair(const char *cert_file, const char *key_file, char *msg,
    size_t msg_len);

/* Parses "http[s]://host[:port][/]" into |u|'s host, port and host_header
 * (new strings) and tls (https: default port 443). Returns 0, or -1 with
 * |msg|. */
int conf_parse_url(const char *s, struct conf_upstream *u, char *msg,
    size_t msg_len);

/* Parses "http[s]://host[:port]/path[?query]" (the exchange and JWKS
 * URLs) into |u|'s host, port, host_header and tls, and |*path| (new
 * strings; "/" for an empty path). Returns 0, or -1 with |msg|: another
 * scheme, user information, a fragment, or bytes a request target cannot
 * hold. */
int conf_parse_fetch_url(const char *s, struct conf_upstream *u, char **path,
    char *msg, size_t msg_len);

/* An HTTP field name (RFC 9110 §5.1: a token). */
bool conf_is_token(const char *s);

/* A cookie name (RFC 6265 §4.1.1: a token). */
bool conf_is_cookie_name(const char *s);

/* A claim name as auth/ keeps it: top level, printable, no '.'. */
bool conf_is_claim_name(const char *s);

/* A kept claim: a top-level name or a dotted path into the payload
 * ("user.email"), no empty segment. */
bool conf_is_claim_path(const char *s);

/* The name a kept claim goes by (its last segment: "user.email" ->
 * "email"); points into |path|. */
const char *conf_claim_key(const char *path);

/* A strip_prefix: "/" followed by literal segments, no trailing '/'. */
bool conf_is_path_prefix(const char *s);

/* Parses "192.0.2.0/24", "2001:db8::/32" or a lone address (a /32 or
 * /128) into |out|. Returns 0, or -1 with |msg|. */
int conf_parse_net(const char *s, struct conf_net *out, char *msg,
    size_t msg_len);

/* Checks an origin ("https://app.example.com[:port]"). Returns 0, or -1
 * with |msg|. */
int conf_check_origin(const char *s, char *msg, size_t msg_len);

/* Whether |pattern| has a "{var}" segment. */
bool conf_pattern_has_var(const char *pattern, const char *var);

/* The checks that need the whole conf: route references, rules against
 * keep_claims, claim headers, at least one route. Sets the route indexes. */
void conf_check_all(struct conf_ctx *ctx, struct conf *c);

#endif /* CONF_CONF_INT_H */
