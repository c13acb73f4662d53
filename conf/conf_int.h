/* SPDX-License-Identifier: MIT */
/* What conf.c and conf_check.c share while a file is loaded; not public. */
#ifndef CONF_CONF_INT_H
#define CONF_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

#define CONF_MSG_LEN 512 /* one error message, before "file:line: " */

struct conf_errmsg {
	int line;   /* 0: no line */
	size_t seq; /* order of discovery, for a stable sort */
	char *msg;  /* owned */
};

/* Where a route's references were written, for checks across sections. */
struct conf_route_src {
	int line;             /* the route section */
	const char *upstream; /* as written; NULL when absent */
	int upstream_line;
	const char *issuer; /* as written; NULL when absent */
	int issuer_line;
	struct auth_rule rules[AUTH_MAX_ROUTE_RULES]; /* parsed */
	size_t n_rules;
	int require_line[AUTH_MAX_ROUTE_RULES];
	int auth_line;
};

/* The state of one conf_load(). */
struct conf_ctx {
	const char *path;
	struct conf_errmsg *errs;
	size_t n_errs, cap_errs;
	bool oom;
	int eof_line; /* the last line of the file */
	struct conf_route_src routes[CONF_MAX_ROUTES];
	int issuer_line[CONF_MAX_ISSUERS];
	int claim_line[CONF_MAX_NAMES];
};

/* conf.c */
void conf_err(struct conf_ctx *ctx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* conf_check.c */

/* Splits "host:port" or "[v6]:port" into new strings. Returns 0, or -1
 * with a message in |msg|. */
int conf_parse_listen(const char *s, char **out_host, char **out_port,
    char *msg, size_t msg_len);

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
