/* SPDX-License-Identifier: MIT */
/* Checks on single values (listen, url, names) and across sections. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf_int.h"

static char *
dup_n(const char *s, size_t n)
{
	return conf_strndup(s, n);
}

/* Decimal 1..65535, digits only. Returns the port or -1. */
static long
parse_port(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* A host name or IPv4 address: letters, digits, '.', '-', '_'. */
static bool
is_host_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		        ch == '_'))
			return false;
	}
	return true;
}

static bool
is_ipv6(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/*
 * Splits an authority "host:port", "[v6]:port" (RFC 3986 §3.2.2) into views.
 * |port_required| says whether ":port" must be there.
 */
static int
split_hostport(const char *s, size_t n, bool port_required, const char **host,
    size_t *host_len, bool *is_v6, long *port, char *msg, size_t msg_len)
{
	const char *colon;

	*port = 0;
	*is_v6 = false;
	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (rb == NULL) {
			snprintf(msg, msg_len,
			    "missing ']' after the IPv6 address");
			return -1;
		}
		*host = s + 1;
		*host_len = (size_t)(rb - s - 1);
		if (!is_ipv6(*host, *host_len)) {
			snprintf(msg, msg_len,
			    "\"%.*s\" is not an IPv6 address", (int)*host_len,
			    *host);
			return -1;
		}
		*is_v6 = true;
		colon = rb + 1 < s + n ? rb + 1 : NULL;
		if (colon != NULL && *colon != ':') {
			snprintf(msg, msg_len, "unexpected text after ']'");
			return -1;
		}
	} else {
		colon = memchr(s, ':', n);
		*host = s;
		*host_len = colon != NULL ? (size_t)(colon - s) : n;
		if (colon != NULL &&
		    memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)) !=
		        NULL) {
			snprintf(msg, msg_len,
			    "an IPv6 address needs brackets, as in \"[::1]:8080\"");
			return -1;
		}
		if (*host_len == 0) {
			snprintf(msg, msg_len, "the host is missing");
			return -1;
		}
		if (!is_host_name(*host, *host_len)) {
			snprintf(msg, msg_len, "\"%.*s\" is not a valid host",
			    (int)*host_len, *host);
			return -1;
		}
	}
	if (colon == NULL) {
		if (port_required) {
			snprintf(msg, msg_len,
			    "the port is missing (host:port)");
			return -1;
		}
		return 0;
	}
	*port = parse_port(colon + 1, n - (size_t)(colon + 1 - s));
	if (*port < 0) {
		snprintf(msg, msg_len,
		    "the port must be a number from 1 to 65535");
		return -1;
	}
	return 0;
}

int
conf_parse_listen(const char *s, char **out_host, char **out_port, char *msg,
    size_t msg_len)
{
	const char *host;
	size_t host_len;
	bool v6;
	long port;
	char pbuf[8];

	*out_host = NULL;
	*out_port = NULL;
	if (split_hostport(s, strlen(s), true, &host, &host_len, &v6, &port,
	        msg, msg_len) == -1)
		return -1;
	snprintf(pbuf, sizeof(pbuf), "%ld", port);
	*out_host = dup_n(host, host_len);
	*out_port = dup_n(pbuf, strlen(pbuf));
	if (*out_host == NULL || *out_port == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	return 0;
}

int
conf_parse_url(const char *s, struct conf_upstream *u, char *msg,
    size_t msg_len)
{
	const char *auth, *end, *host;
	size_t host_len, n;
	bool v6;
	long port;
	char hh[300], pbuf[8];

	long dport;

	if (strncasecmp(s, "https://", 8) == 0) {
		u->tls = true;
		dport = 443;
		auth = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		u->tls = false;
		dport = 80;
		auth = s + 7;
	} else {
		snprintf(msg, msg_len,
		    "url must start with http:// or https://");
		return -1;
	}
	end = auth + strcspn(auth, "/?#");
	if (*end != '\0' && strcmp(end, "/") != 0) {
		snprintf(msg, msg_len,
		    "url must be http[s]://host[:port] without a path, query or fragment (the request path is forwarded as is)");
		return -1;
	}
	n = (size_t)(end - auth);
	if (memchr(auth, '@', n) != NULL) {
		snprintf(msg, msg_len, "url must not carry user information");
		return -1;
	}
	if (split_hostport(auth, n, false, &host, &host_len, &v6, &port, msg,
	        msg_len) == -1)
		return -1;
	if (port == 0)
		port = dport;
	snprintf(pbuf, sizeof(pbuf), "%ld", port);
	/* RFC 9110 §7.2: Host is uri-host [":" port]; the default port is
	 * left out, an IPv6 literal keeps its brackets. */
	if (port == dport)
		snprintf(hh, sizeof(hh), "%s%.*s%s", v6 ? "[" : "",
		    (int)host_len, host, v6 ? "]" : "");
	else
		snprintf(hh, sizeof(hh), "%s%.*s%s:%ld", v6 ? "[" : "",
		    (int)host_len, host, v6 ? "]" : "", port);
	u->host = dup_n(host, host_len);
	u->port = dup_n(pbuf, strlen(pbuf));
	u->host_header = dup_n(hh, strlen(hh));
	if (u->host == NULL || u->port == NULL || u->host_header == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	return 0;
}

int
conf_parse_fetch_url(const char *s, struct conf_upstream *u, char **path,
    char *msg, size_t msg_len)
{
	const char *auth, *end, *p;
	char *base;
	int rc;

	*path = NULL;
	if (strncasecmp(s, "https://", 8) == 0) {
		auth = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		auth = s + 7;
	} else {
		snprintf(msg, msg_len,
		    "\"%.200s\" must be an http:// or https:// URL", s);
		return -1;
	}
	end = auth + strcspn(auth, "/?#");
	/* RFC 9112 §3.2.1 origin-form: visible ASCII, no fragment. */
	for (p = end; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '#') {
			snprintf(msg, msg_len,
			    "the path must be visible ASCII without spaces or a fragment");
			return -1;
		}
	if (*end == '?') {
		snprintf(msg, msg_len, "the path must start with '/'");
		return -1;
	}
	base = dup_n(s, (size_t)(end - s));
	if (base == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	rc = conf_parse_url(base, u, msg, msg_len);
	conf_mfree(base);
	if (rc == -1)
		return -1;
	*path = dup_n(*end != '\0' ? end : "/", *end != '\0' ? strlen(end) : 1);
	if (*path == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	return 0;
}

bool
conf_is_token(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0')
		return false;
	for (p = s; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		/* RFC 9110 §5.6.2 tchar */
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9'))
			continue;
		if (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL)
			continue;
		return false;
	}
	return true;
}

bool
conf_is_cookie_name(const char *s)
{
	/* RFC 6265 §4.1.1: cookie-name = token */
	return conf_is_token(s) && strlen(s) < 256;
}

bool
conf_is_claim_name(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0' || strlen(s) >= 64)
		return false;
	for (p = s; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch <= 0x20 || ch >= 0x7f || ch == '.' || ch == '"' ||
		    ch == '\\')
			return false;
	}
	return true;
}

bool
conf_is_claim_path(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0' || *s == '.' || strlen(s) >= 64 ||
	    s[strlen(s) - 1] == '.' || strstr(s, "..") != NULL)
		return false;
	for (p = s; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			return false;
	}
	return true;
}

const char *
conf_claim_key(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot != NULL ? dot + 1 : path;
}

bool
conf_is_path_prefix(const char *s)
{
	const char *seg = s;

	if (s == NULL || s[0] != '/' || s[1] == '\0' || strlen(s) >= 512 ||
	    s[strlen(s) - 1] == '/')
		return false;
	while (*seg == '/') {
		const char *end = strchr(seg + 1, '/');
		size_t len = end ? (size_t)(end - seg - 1) : strlen(seg + 1);
		size_t i;

		if (len == 0 || (len == 1 && seg[1] == '.') ||
		    (len == 2 && seg[1] == '.' && seg[2] == '.'))
			return false;
		for (i = 1; i <= len; i++) {
			unsigned char ch = (unsigned char)seg[i];

			/* RFC 3986 pchar without pct-encoded: what a route
			 * literal can hold after canonicalisation. */
			if (ch <= 0x20 || ch >= 0x7f || ch == '%' ||
			    ch == '?' || ch == '#' || ch == '\\' || ch == '{' ||
			    ch == '}')
				return false;
		}
		seg += 1 + len;
	}
	return *seg == '\0';
}

int
conf_parse_net(const char *s, struct conf_net *out, char *msg, size_t msg_len)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max, bits, i;
	long v = 0;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(msg, msg_len,
		    "\"%s\" is not an address or network (\"10.0.0.0/8\", \"::1\")",
		    s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		snprintf(msg, msg_len,
		    "\"%s\" is not an IPv4 or IPv6 address (no names, no brackets)",
		    addr);
		return -1;
	}
	bits = max;
	if (slash != NULL) {
		const char *d = slash + 1;

		if (*d == '\0' || strlen(d) > 3)
			v = -1;
		for (; *d != '\0' && v >= 0; d++)
			v = *d >= '0' && *d <= '9' ? v * 10 + (*d - '0') : -1;
		if (v < 0 || v > (long)max) {
			snprintf(msg, msg_len,
			    "\"%s\": the prefix length must be 0..%u", s, max);
			return -1;
		}
		bits = (unsigned)v;
	}
	/* Host bits set is a typo more often than intent: say so. */
	for (i = bits; i < max; i++)
		if (out->addr[i / 8] & (0x80u >> (i % 8))) {
			snprintf(msg, msg_len,
			    "\"%s\" has host bits set beyond /%u", s, bits);
			return -1;
		}
	out->bits = bits;
	return 0;
}

int
conf_check_origin(const char *s, char *msg, size_t msg_len)
{
	const char *h;
	size_t i;

	if (strncasecmp(s, "https://", 8) == 0)
		h = s + 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		h = s + 7;
	else
		h = NULL;
	if (h == NULL || *h == '\0') {
		snprintf(msg, msg_len,
		    "an origin is \"http://host[:port]\" or \"https://host[:port]\"");
		return -1;
	}
	/* RFC 6454 §6.2: scheme "://" host [":" port], nothing more. */
	for (i = 0; h[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)h[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '?' ||
		    ch == '#' || ch == '@' || ch == '\\' || ch == ',') {
			snprintf(msg, msg_len,
			    "an origin has no path, query, user or spaces");
			return -1;
		}
	}
	return 0;
}

bool
conf_pattern_has_var(const char *pattern, const char *var)
{
	const char *p = pattern;
	size_t vlen = strlen(var);

	while (*p != '\0') {
		const char *seg = p + (*p == '/');
		size_t len = strcspn(seg, "/");

		if (len == vlen + 2 && seg[0] == '{' && seg[len - 1] == '}' &&
		    memcmp(seg + 1, var, vlen) == 0)
			return true;
		p = seg + len;
	}
	return false;
}

static int
find_upstream(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_upstreams; i++)
		if (c->upstreams[i].name != NULL &&
		    strcmp(c->upstreams[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
find_issuer(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_issuers; i++)
		if (c->issuers[i].name != NULL &&
		    strcmp(c->issuers[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool
issuer_keeps(const struct conf_issuer *is, const char *claim)
{
	size_t i;

	for (i = 0; i < is->n_keep_claims; i++)
		if (is->keep_claims[i] != NULL &&
		    strcmp(conf_claim_key(is->keep_claims[i]), claim) == 0)
			return true;
	return false;
}

int
conf_upstream_find(const struct conf *c, const char *name)
{
	if (c == NULL || name == NULL)
		return -1;
	return find_upstream(c, name);
}

/* "; did you mean "x"? (upstreams: a, b)" for an unknown name |s| among
 * |names|, into |out|. */
static void
known_names(const char *s, const char *const *names, size_t n, const char *kind,
    char *out, size_t out_len)
{
	const char *best = conf_suggest(s, names, n);
	size_t i, off;
	int w;

	if (n == 0) {
		snprintf(out, out_len, " (no %s is defined)", kind);
		return;
	}
	w = snprintf(out, out_len,
	    "%s%s%s (%ss: ", best ? "; did you mean \"" : "", best ? best : "",
	    best ? "\"?" : "", kind);
	off = w > 0 && (size_t)w < out_len ? (size_t)w : out_len;
	for (i = 0; i < n && off < out_len; i++) {
		w = snprintf(out + off, out_len - off, "%s%s", i ? ", " : "",
		    names[i] != NULL ? names[i] : "?");
		if (w < 0)
			return;
		off += (size_t)w;
	}
	if (off < out_len)
		snprintf(out + off, out_len - off, ")");
}

static void
check_route(struct conf_ctx *ctx, struct conf *c, size_t i)
{
	struct conf_route *r = &c->routes[i];
	const struct conf_route_src *src = &ctx->routes[i];
	const char *pat = r->pattern != NULL ? r->pattern : "";
	const char *names[CONF_MAX_UPSTREAMS > CONF_MAX_ISSUERS
	        ? CONF_MAX_UPSTREAMS
	        : CONF_MAX_ISSUERS];
	char hint[CONF_MSG_LEN / 2];
	size_t j;

	r->upstream = -1;
	r->issuer = -1;
	if (src->upstream == NULL) {
		conf_err(ctx, src->pos,
		    "route \"%.128s\": upstream is required", pat);
	} else if ((r->upstream = find_upstream(c, src->upstream)) < 0) {
		for (j = 0; j < c->n_upstreams; j++)
			names[j] = c->upstreams[j].name;
		known_names(src->upstream, names, c->n_upstreams, "upstream",
		    hint, sizeof(hint));
		conf_err(ctx, src->upstream_pos,
		    "route \"%.128s\": unknown upstream \"%.64s\"%s", pat,
		    src->upstream, hint);
	}

	if (r->mode == AUTH_MODE_NONE) {
		if (src->issuer != NULL)
			conf_err(ctx, src->issuer_pos,
			    "route \"%.128s\": issuer is not allowed with auth = none",
			    pat);
		if (src->n_rules > 0)
			conf_err(ctx, src->require_pos[0],
			    "route \"%.128s\": require needs auth = required or optional",
			    pat);
		return;
	}
	if (src->issuer != NULL) {
		r->issuer = find_issuer(c, src->issuer);
		if (r->issuer < 0) {
			for (j = 0; j < c->n_issuers; j++)
				names[j] = c->issuers[j].name;
			known_names(src->issuer, names, c->n_issuers, "issuer",
			    hint, sizeof(hint));
			conf_err(ctx, src->issuer_pos,
			    "route \"%.128s\": unknown issuer \"%.64s\"%s", pat,
			    src->issuer, hint);
		}
	} else if (c->n_issuers == 1) {
		r->issuer = 0;
	} else if (c->n_issuers == 0) {
		conf_err(ctx, src->pos,
		    "route \"%.128s\": auth = %s needs an issuer, and no issuer is defined",
		    pat,
		    r->mode == AUTH_MODE_REQUIRED ? "required" : "optional");
	} else {
		conf_err(ctx, src->pos,
		    "route \"%.128s\": %zu issuers are defined; name one with issuer = NAME",
		    pat, c->n_issuers);
	}
	if (r->issuer < 0)
		return;
	/* A rule on a claim that is not kept could never hold: every request
	 * would get 403. */
	for (j = 0; j < src->n_rules; j++) {
		const struct auth_rule *ru = &src->rules[j];

		if (ru->kind == AUTH_RULE_VAR_SUB)
			continue;
		if (!issuer_keeps(&c->issuers[r->issuer], ru->claim))
			conf_err(ctx, src->require_pos[j],
			    "route \"%.128s\": require uses claim \"%s\", which issuer \"%s\" does not keep (add it to keep_claims)",
			    pat, ru->claim, c->issuers[r->issuer].name);
	}
}

/* Adds cookie |pfx|[0..|pfx_len|) + |suffix| and its "__Secure-" twin
 * (RFC 6265bis §4.1.3.1: the name browsers send from https origins) to
 * the names cut from Cookie, once each. */
static void
cut_add(struct conf_ctx *ctx, struct conf *c, const char *pfx, size_t pfx_len,
    const char *suffix, bool chunked)
{
	size_t i, n = pfx_len + strlen(suffix);
	int k;

	for (k = 0; k < 2; k++) {
		const char *sec = k == 0 ? "" : "__Secure-";
		size_t sl = strlen(sec);
		char *p;

		for (i = 0; i < c->n_cut_cookies; i++)
			if (strlen(c->cut_cookies[i]) == sl + n &&
			    memcmp(c->cut_cookies[i], sec, sl) == 0 &&
			    memcmp(c->cut_cookies[i] + sl, pfx, pfx_len) == 0 &&
			    strcmp(c->cut_cookies[i] + sl + pfx_len, suffix) ==
			        0)
				break;
		if (i < c->n_cut_cookies) {
			c->cut_chunked[i] |= chunked;
			continue;
		}
		if (c->n_cut_cookies == CONF_MAX_CUT_COOKIES)
			return;
		if ((p = conf_malloc(sl + n + 1)) == NULL) {
			ctx->oom = true;
			return;
		}
		/* Terminated by the suffix's NUL below. */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(p, sec, sl);
		memcpy(p + sl, pfx, pfx_len);
		memcpy(p + sl + pfx_len, suffix, strlen(suffix) + 1);
		c->cut_chunked[c->n_cut_cookies] = chunked;
		c->cut_cookies[c->n_cut_cookies++] = p;
	}
}

/* Better Auth names its cookies "<prefix>.session_token" and so on; a
 * configured name that ends so tells its prefix. */
static void
cut_family(struct conf_ctx *ctx, struct conf *c, const char *name)
{
	static const char *const tails[] = {".session_token", ".session_data",
	    ".dont_remember"};
	size_t i, n, tl;

	if (name == NULL)
		return;
	if (strncmp(name, "__Secure-", 9) == 0)
		name += 9;
	n = strlen(name);
	for (i = 0; i < 3; i++) {
		tl = strlen(tails[i]);
		if (n > tl && strcmp(name + n - tl, tails[i]) == 0)
			break;
	}
	if (i == 3)
		return;
	for (i = 0; i < 3; i++)
		cut_add(ctx, c, name, n - tl, tails[i], i == 1);
}

/*
 * The cookies no upstream gets unless its route sets pass_auth_cookies:
 * every issuer's credential and session cookie, and the whole Better Auth
 * family (session_token, session_data and its ".N" chunks, dont_remember)
 * under the default prefix and any prefix a configured name shows, each
 * with and without "__Secure-". A session cookie reaching an API is a
 * long-lived credential in a place that logs and forwards headers.
 */
static void
compute_cut_cookies(struct conf_ctx *ctx, struct conf *c)
{
	size_t i;

	cut_family(ctx, c, "better-auth.session_token");
	for (i = 0; i < c->n_issuers; i++) {
		const struct conf_issuer *is = &c->issuers[i];
		const char *names[2] = {is->cookie, is->session_cookie};
		int k;

		for (k = 0; k < 2; k++) {
			const char *nm = names[k];

			if (nm == NULL)
				continue;
			cut_family(ctx, c, nm);
			if (strncmp(nm, "__Secure-", 9) == 0)
				nm += 9;
			/* a "__Host-" name gets a harmless, unused twin */
			cut_add(ctx, c, nm, strlen(nm), "", false);
		}
	}
}

/* Where table route |ti| was written. */
static struct conf_pos
lint_pos(const struct conf_ctx *ctx, const struct conf *c, size_t ti,
    const char **pat)
{
	const struct auth_route *r = auth_route_get(c->table, ti);
	struct conf_pos none = {0, 0};

	*pat = r != NULL ? r->pattern : "";
	if (r == NULL || r->tag < 0 || (size_t)r->tag >= c->n_routes)
		return none;
	return ctx->routes[r->tag].pos;
}

/*
 * First match wins, so the order of routes is policy: a route placed too
 * early silently takes requests from a later one. Refuses every route
 * that can never match and every route that takes paths from a later,
 * stricter one (auth_route_lint), naming both routes and their lines.
 */
static void
check_route_order(struct conf_ctx *ctx, struct conf *c)
{
	struct auth_lint *f;
	size_t i, n;

	/* Only a complete table: a route refused earlier would make every
	 * later finding about the wrong order. */
	if (c->table == NULL || auth_route_count(c->table) != c->n_routes)
		return;
	f = conf_calloc(CONF_MAX_ROUTES, sizeof(*f));
	if (f == NULL ||
	    auth_route_lint(c->table, f, CONF_MAX_ROUTES, &n) == -1) {
		conf_mfree(f);
		ctx->oom = true;
		return;
	}
	for (i = 0; i < n && i < CONF_MAX_ROUTES; i++) {
		const char *ep, *lp;
		struct conf_pos ep_pos = lint_pos(ctx, c, f[i].earlier, &ep);
		struct conf_pos lp_pos = lint_pos(ctx, c, f[i].later, &lp);
		int el = ep_pos.line, ll = lp_pos.line;

		if (f[i].kind == AUTH_LINT_UNREACHABLE && f[i].alone)
			conf_err(ctx, lp_pos,
			    "route \"%s\" can never match: route \"%s\" (line %d) comes first and takes every path it would; put the more specific route above the broader one, or remove this one",
			    lp, ep, el);
		else if (f[i].kind == AUTH_LINT_UNREACHABLE)
			conf_err(ctx, lp_pos,
			    "route \"%s\" can never match: the routes above it, from \"%s\" (line %d) on, take every path it would; move it above them, or remove it",
			    lp, ep, el);
		else
			conf_err(ctx, ep_pos,
			    "route \"%s\" takes paths such as \"%s\" from route \"%s\" (line %d), which is stricter there (%s); put route \"%s\" first, or narrow this route so it no longer overlaps it (an exception wholly inside the later route's paths, placed above it, is fine)",
			    ep, f[i].example, lp, ll, f[i].reason, lp);
	}
	conf_mfree(f);
}

void
conf_check_all(struct conf_ctx *ctx, struct conf *c)
{
	size_t i, k;

	compute_cut_cookies(ctx, c);

	if (c->n_routes == 0)
		conf_err(ctx, ctx->eof,
		    "no route is defined; at least one is required");
	for (i = 0; i < c->n_routes; i++)
		check_route(ctx, c, i);
	check_route_order(ctx, c);
	/* A claim header is filled from the kept claims only. */
	for (i = 0; i < c->n_claim_headers; i++) {
		bool kept = false;

		for (k = 0; k < c->n_issuers; k++)
			if (issuer_keeps(&c->issuers[k],
			        c->claim_header_claim[i]))
				kept = true;
		if (!kept)
			conf_err(ctx, ctx->claim_pos[i],
			    "claim \"%s\": no issuer keeps this claim (add it to keep_claims)",
			    c->claim_header_claim[i]);
	}
}

int
conf_check_bindable(const char *host, const char *port, char *msg,
    size_t msg_len)
{
	struct addrinfo hints, *res = NULL, *ai;
	char ab[INET6_ADDRSTRLEN];
	int e, fd, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_ADDRCONFIG;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(msg, msg_len, "cannot resolve \"%s\": %s", host,
		    gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct sockaddr_storage ss;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)(void *)&ss)->sin_port = 0;
		else
			((struct sockaddr_in6 *)(void *)&ss)->sin6_port = 0;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1 ||
		    bind(fd, (struct sockaddr *)&ss, ai->ai_addrlen) == -1) {
			e = errno;
			if (fd != -1)
				close(fd);
			if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ab,
			        sizeof(ab), NULL, 0, NI_NUMERICHOST) != 0)
				snprintf(ab, sizeof(ab), "?");
			snprintf(msg, msg_len,
			    "\"%s\" gives %s, which this machine cannot bind: %s",
			    host, ab, strerror(e));
			freeaddrinfo(res);
			return -1;
		}
		close(fd);
		n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		snprintf(msg, msg_len, "\"%s\" has no IPv4 or IPv6 address",
		    host);
		return -1;
	}
	return 0;
}

/* The OpenSSL error queue's last reason, for a message. */
static const char *
ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : "unknown error";
}

int
conf_check_tls_pair(const char *cert_file, const char *key_file, char *msg,
    size_t msg_len)
{
	BIO *b = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rc = -1;

	ERR_clear_error();
	if ((b = BIO_new_file(cert_file, "r")) == NULL) {
		snprintf(msg, msg_len, "cannot read cert_file %s: %s",
		    cert_file, strerror(errno));
		goto out;
	}
	if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		snprintf(msg, msg_len,
		    "cert_file %s holds no PEM certificate (%s)", cert_file,
		    ssl_reason());
		goto out;
	}
	BIO_free(b);
	if ((b = BIO_new_file(key_file, "r")) == NULL) {
		snprintf(msg, msg_len, "cannot read key_file %s: %s", key_file,
		    strerror(errno));
		goto out;
	}
	if ((k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL) {
		snprintf(msg, msg_len,
		    "key_file %s holds no PEM private key (%s)", key_file,
		    ssl_reason());
		goto out;
	}
	if (X509_check_private_key(x, k) != 1) {
		snprintf(msg, msg_len,
		    "key_file %s does not match the certificate in %s",
		    key_file, cert_file);
		goto out;
	}
	rc = 0;
out:
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return rc;
}
