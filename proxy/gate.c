/* SPDX-License-Identifier: MIT */
/* Request to verdict: path, route, credential, binding rules, CSRF guard,
 * header classes, and the exact upstream head. Pure: no I/O, no clock, no
 * logging; auth/ decides about tokens, http1 about the wire. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gate.h"
#include "http1.h"

#define GATE_MAX_COOKIE_HEADERS 32
#define GATE_MAX_CONN_TOKENS 32
#define GATE_NAME_NORM_MAX 64 /* longer names are in no class */
#define GATE_CLAIM_VALUE_MAX 1024

/* ---------------------------------------------------------------- writer */

/* The upstream head under construction: every write is checked, and one
 * failed write fails the whole head. */
struct wbuf {
	char *p;
	size_t cap, len;
	bool over;
};

static void
put(struct wbuf *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
put_str(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

static void
put_field(struct wbuf *w, const char *name, size_t name_len, const char *val,
    size_t val_len)
{
	put(w, name, name_len);
	put(w, ": ", 2);
	put(w, val, val_len);
	put(w, "\r\n", 2);
}

/* ------------------------------------------------------------ the verdict */

static int
reject(struct gate_out *out, int status, const char *code)
{
	out->status = status;
	out->code = code;
	out->title = h1_reason(status);
	out->head_len = 0;
	return -1;
}

/* RFC 6750 §3: no credential at all is a bare challenge; a bad one says
 * invalid_token. The one place that chooses WWW-Authenticate. */
static int
reject_auth(struct gate_out *out, enum auth_status st)
{
	int hs = auth_status_http(st);

	reject(out, hs, auth_status_str(st));
	if (hs == 401)
		out->www_auth = st == AUTH_NO_TOKEN
		    ? "Bearer"
		    : "Bearer error=\"invalid_token\"";
	return -1;
}

/* ----------------------------------------------------------- header names */

/* The lower-case name with '_' read as '-', as CGI, WSGI and several
 * frameworks fold it: "X_User_Id" must be stripped like "X-User-Id".
 * Returns false for names longer than |cap| - 1 (no class is that long). */
static bool
norm_name(const char *name, size_t len, char *out, size_t cap)
{
	size_t i;

	if (len >= cap)
		return false;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		else if (ch == '_')
			ch = '-';
		out[i] = ch;
	}
	out[len] = '\0';
	return true;
}

static bool
has_prefix(const char *s, const char *pfx)
{
	return strncmp(s, pfx, strlen(pfx)) == 0;
}

enum hclass {
	HC_KEEP = 0,
	HC_DROP,  /* never forwarded */
	HC_ADDR,  /* client address: forwarded only from a trusted peer */
	HC_XFF,   /* X-Forwarded-For: extended from a trusted peer */
	HC_XFP,   /* X-Forwarded-Proto: read from a trusted peer */
	HC_XFH,   /* X-Forwarded-Host: read from a trusted peer */
	HC_REQID, /* X-Request-Id: read from a trusted peer */
	HC_COOKIE /* Cookie: auth cookies cut */
};

/*
 * Identity headers a backend might believe (what auth proxies such as
 * oauth2-proxy, Authelia or Apache set), whatever the client says.
 * Prefix families end in '-' or match any continuation ("x-user" covers
 * X-User, X-User-Id, X-Username, X-UserEmail).
 */
static const char *const identity_prefixes[] = {"x-auth-request-",
    "x-authenticated-", "x-remote-", "x-user", NULL};
static const char *const identity_names[] = {"x-forwarded-user",
    "x-forwarded-email", "x-forwarded-preferred-username", "x-forwarded-groups",
    "remote-user", "remote-groups", NULL};
/* Headers that make a backend route or dispatch differently from what
 * bearerd checked (IIS, Symfony, Laravel, Rails, Express middlewares). */
static const char *const override_names[] = {"x-original-url", "x-rewrite-url",
    "x-override-url", "x-http-method-override", "x-http-method",
    "x-method-override", "x-original-method", NULL};
/* Client-address headers beyond the codec's H1_FORWARDING ones: only a
 * trusted forwarder may say who the client is (RFC 7239 for Forwarded).
 * Any other x-forwarded-* joins them. */
static const char *const addr_names[] = {"fastly-client-ip",
    "x-original-forwarded-for", NULL};
static bool
in_list(const char *n, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(n, list[i]) == 0)
			return true;
	return false;
}

static bool
strip_listed(const struct conf *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->n_strip_headers; i++)
		if (h1_name_eq_loose(name, len, c->strip_headers[i],
		        strlen(c->strip_headers[i])))
			return true;
	return false;
}

/*
 * What happens to client field |f|. Every comparison reads '_' as '-' and
 * ignores case: "X_User_Id" or "CONTENT_LENGTH" would be the same variable
 * to a CGI/WSGI-style backend, so each spelling gets the class of the name.
 */
static enum hclass
classify(const struct conf *c, const struct h1_field *f)
{
	char n[GATE_NAME_NORM_MAX];
	uint16_t tok = f->tok != H1_T_OTHER
	    ? f->tok
	    : h1_token_lookup_loose(f->name, f->name_len);
	size_t i;

	switch (tok) {
	case H1_T_COOKIE:
		return HC_COOKIE;
	case H1_T_X_FORWARDED_FOR:
		return HC_XFF;
	case H1_T_X_FORWARDED_PROTO:
		return HC_XFP;
	case H1_T_X_FORWARDED_HOST:
		return HC_XFH;
	case H1_T_X_REQUEST_ID:
		return HC_REQID;
	default:
		break;
	}
	/* Hop-by-hop, framing, Host, Expect, Authorization: ours. */
	if (h1_token_flags(tok) & H1_DROP_REQ)
		return HC_DROP;
	if (strip_listed(c, f->name, f->name_len))
		return HC_DROP;
	if (h1_token_flags(tok) & H1_FORWARDING)
		return HC_ADDR;
	if (!norm_name(f->name, f->name_len, n, sizeof(n)))
		return HC_KEEP; /* no class holds a name that long */
	if (in_list(n, identity_names) || in_list(n, override_names))
		return HC_DROP;
	for (i = 0; identity_prefixes[i] != NULL; i++)
		if (has_prefix(n, identity_prefixes[i]))
			return HC_DROP;
	if (in_list(n, addr_names) || has_prefix(n, "x-forwarded-"))
		return HC_ADDR;
	return HC_KEEP;
}

/* ---------------------------------------------------------- request views */

/* The first field of token |tok| (exact spelling, any case), or NULL. */
static const struct h1_field *
field_find(const struct h1_request *r, uint16_t tok)
{
	size_t i;

	for (i = 0; i < r->n_fields; i++)
		if (r->fields[i].tok == tok)
			return &r->fields[i];
	return NULL;
}

/* The first element of a comma list, OWS trimmed (RFC 9110 §5.6.1): the
 * value the first proxy of a chain wrote. */
static struct auth_view
first_elem(const char *v, size_t len)
{
	struct auth_view e;
	size_t s = 0, end;

	while (s < len && (v[s] == ' ' || v[s] == '\t'))
		s++;
	end = s;
	while (end < len && v[end] != ',')
		end++;
	while (end > s && (v[end - 1] == ' ' || v[end - 1] == '\t'))
		end--;
	e.ptr = v + s;
	e.len = end - s;
	return e;
}

/* uri-host [":" port] (RFC 3986 §3.2.2) without userinfo or delimiters:
 * what may go into X-Forwarded-Host or an origin. */
static bool
is_authority(const char *v, size_t len)
{
	size_t i;

	if (len == 0 || len > 255)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '?' ||
		    ch == '#' || ch == '@' || ch == ',' || ch == '\\' ||
		    ch == '"')
			return false;
	}
	return true;
}

/* A request id worth propagating: 1..GATE_REQUEST_ID_MAX visible ASCII
 * bytes without delimiters that could split a log line or a header. */
static bool
is_request_id(const char *v, size_t len)
{
	size_t i;

	if (len == 0 || len > GATE_REQUEST_ID_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ||
		    ch == ',' || ch == ';')
			return false;
	}
	return true;
}

/* Everything the head and the CSRF guard derive from where the request
 * says it went. */
struct origin {
	struct auth_view host; /* authority: absolute-form, trusted
	                          X-Forwarded-Host, or Host */
	bool https;
};

static void
request_origin(const struct gate_in *in, struct origin *o)
{
	const struct h1_request *r = in->req;
	const struct h1_field *f;

	o->https = in->tls;
	o->host.ptr = NULL;
	o->host.len = 0;
	/* RFC 9112 §3.2.2: the authority of an absolute-form target wins
	 * over Host, which a proxy must ignore then. */
	if (r->authority_len > 0) {
		o->host.ptr = r->authority;
		o->host.len = r->authority_len;
	}
	if (!in->peer_trusted)
		return;
	if ((f = field_find(r, H1_T_X_FORWARDED_PROTO)) != NULL) {
		struct auth_view p = first_elem(f->value, f->value_len);

		if (p.len == 5 && strncasecmp(p.ptr, "https", 5) == 0)
			o->https = true;
		else if (p.len == 4 && strncasecmp(p.ptr, "http", 4) == 0)
			o->https = false;
	}
	if ((f = field_find(r, H1_T_X_FORWARDED_HOST)) != NULL) {
		struct auth_view h = first_elem(f->value, f->value_len);

		if (is_authority(h.ptr, h.len))
			o->host = h;
	}
}

/* ------------------------------------------------------------- credential */

/*
 * Finds cookie |name| or its "__Secure-" variant |name_secure| (joining
 * chunks when |chunked|), across every Cookie header. Two different
 * values, in one name or across both names, are ambiguous: a planted
 * cookie must never pick the identity.
 */
static enum auth_status
find_cookie(const struct h1_request *r, const char *name,
    const char *name_secure, bool chunked, char *out, size_t cap,
    size_t *out_len)
{
	struct auth_view views[GATE_MAX_COOKIE_HEADERS];
	char alt[AUTH_MAX_COOKIE_VALUE_LEN + 1];
	size_t n = 0, i, alt_len = 0;
	enum auth_status s1, s2 = AUTH_NO_TOKEN;

	for (i = 0; i < r->n_fields; i++) {
		const struct h1_field *f = &r->fields[i];

		if (f->tok != H1_T_COOKIE)
			continue;
		if (n == GATE_MAX_COOKIE_HEADERS)
			return AUTH_TOO_LARGE;
		views[n].ptr = f->value;
		views[n].len = f->value_len;
		n++;
	}
	if (n == 0)
		return AUTH_NO_TOKEN;
	s1 = !chunked
	    ? auth_cookie_find(views, n, name, out, cap, out_len)
	    : auth_cookie_find_chunked(views, n, name, out, cap, out_len);
	if (name_secure != NULL)
		s2 = !chunked ? auth_cookie_find(views, n, name_secure, alt,
		                    sizeof(alt), &alt_len)
		              : auth_cookie_find_chunked(views, n, name_secure,
		                    alt, sizeof(alt), &alt_len);
	if (s1 != AUTH_OK && s1 != AUTH_NO_TOKEN)
		return s1;
	if (s2 != AUTH_OK && s2 != AUTH_NO_TOKEN)
		return s2;
	if (s1 == AUTH_OK && s2 == AUTH_OK) {
		if (alt_len != *out_len || memcmp(alt, out, alt_len) != 0)
			return AUTH_AMBIGUOUS;
		return AUTH_OK;
	}
	if (s2 == AUTH_OK) {
		if (alt_len >= cap)
			return AUTH_TOO_LARGE;
		memcpy(out, alt, alt_len);
		out[alt_len] = '\0';
		*out_len = alt_len;
		return AUTH_OK;
	}
	return s1;
}

/* The issuer's credential cookie. A session_token is never chunked;
 * Better Auth's session_data is when large (session_data.0, .1, ...). */
static enum auth_status
find_credential(const struct h1_request *r, const struct conf_issuer *is,
    char *out, size_t cap, size_t *out_len)
{
	return find_cookie(r, is->cookie, is->cookie_secure,
	    is->cred != CONF_CRED_SESSION, out, cap, out_len);
}

/*
 * Verifies |cred| under |is| (through the worker's token cache) and fills
 * |claims| and the token to forward. |fwd| must hold AUTH_MAX_FWD_LEN + 1.
 */
static enum auth_status
verify_credential(struct gate_ctx *ctx, const struct conf_issuer *is,
    const char *cred, size_t cred_len, int64_t now, struct auth_claims *claims,
    char *fwd, size_t *fwd_len)
{
	unsigned char key[AUTH_TCACHE_KEY_LEN];
	const struct auth_tcache_entry *e;
	struct auth_tcache *tc = ctx != NULL ? ctx->tcache : NULL;
	enum auth_status st;
	int64_t expires, mexp;

	auth_tcache_key_memo(ctx != NULL ? ctx->memo : NULL,
	    is->cache_domain != NULL ? is->cache_domain : is->name, cred,
	    cred_len, key);
	if (tc != NULL && (e = auth_tcache_get(tc, key, now)) != NULL) {
		*claims = e->claims;
		memcpy(fwd, e->fwd, e->fwd_len + 1);
		*fwd_len = e->fwd_len;
		ctx->tcache_hits++;
		return AUTH_OK;
	}
	if (tc != NULL)
		ctx->tcache_misses++;

	switch (is->cred) {
	case CONF_CRED_SESSION:
		return AUTH_INTERNAL; /* session_credential's */
	case CONF_CRED_JWT:
		st = auth_jwt_verify(&is->policy, cred, cred_len, now, claims);
		break;
	case CONF_CRED_BA_COMPACT:
		st = auth_ba_compact_verify(&is->policy, is->secret,
		    is->secret_len, cred, cred_len, now, claims);
		break;
	default:
		st = AUTH_INTERNAL;
		break;
	}
	if (st != AUTH_OK)
		return st;

	expires = claims->exp;
	if (is->forward == CONF_FORWARD_MINT && is->minter != NULL) {
		int64_t margin;

		if (auth_minter_mint(is->minter, claims, now, fwd,
		        AUTH_MAX_FWD_LEN, fwd_len, &mexp) != 0)
			return AUTH_INTERNAL;
		/* A credential in its last second (Better Auth's expiresAt is
		 * in milliseconds) would mint a token already expired for the
		 * backend: it is expired here too. */
		if (mexp <= now)
			return AUTH_EXPIRED;
		/* Never hand out a cached minted token about to expire. */
		margin = (mexp - now) / 2;
		if (margin > 30)
			margin = 30;
		if (mexp - margin < expires)
			expires = mexp - margin;
	} else {
		if (cred_len >= AUTH_MAX_FWD_LEN)
			return AUTH_TOO_LARGE;
		memcpy(fwd, cred, cred_len);
		fwd[cred_len] = '\0';
		*fwd_len = cred_len;
	}
	if (expires > now + 3600)
		expires = now + 3600;
	if (tc != NULL)
		(void)auth_tcache_put(tc, key, claims, fwd, *fwd_len, expires,
		    now);
	return AUTH_OK;
}

/*
 * A Better Auth session_token: its HMAC is checked here, so a forged
 * cookie is a 401 that never costs the issuer a call; then the worker's
 * session cache answers. Returns AUTH_OK with |*need_exchange| set when
 * the exchange must run first (|token_len|: the token part of |cred|).
 */
static enum auth_status
session_credential(struct gate_ctx *ctx, const struct conf_issuer *is,
    const char *cred, size_t cred_len, int64_t now, struct auth_claims *claims,
    char *fwd, size_t *fwd_len, bool *need_exchange, size_t *token_len,
    struct gate_out *out)
{
	const struct auth_scache_entry *e;
	struct auth_view tok;
	enum auth_scache_state sc;
	enum auth_status st;

	*need_exchange = false;
	if (ctx == NULL || ctx->scache == NULL)
		return AUTH_INTERNAL;
	st = auth_ba_session_token_check_memo(ctx->smemo, is->name, is->secret,
	    is->secret_len, cred, cred_len, &tok);
	if (st != AUTH_OK)
		return st;
	if (tok.len > AUTH_SCACHE_TOKEN_MAX || cred_len > GATE_SESSION_MAX)
		return AUTH_MALFORMED;
	if (ctx->session_refused)
		return AUTH_EXPIRED;
	sc = auth_scache_lookup(ctx->scache, ctx->memo, is->cache_domain,
	    tok.ptr, tok.len, now, is->refresh_before, is->session_recheck, &e);
	out->session_lookup = (int)sc;
	out->session_stale = sc == AUTH_SC_STALE && now < e->retry_at;
	if (sc == AUTH_SC_HIT || (sc == AUTH_SC_STALE && now < e->retry_at)) {
		*claims = e->claims;
		memcpy(fwd, e->fwd, e->fwd_len + 1);
		*fwd_len = e->fwd_len;
		return AUTH_OK;
	}
	*need_exchange = true;
	*token_len = tok.len;
	return AUTH_OK;
}

/* Better Auth's dont_remember cookie, under either name, for the
 * exchange; left empty when absent, ambiguous or oversized. */
static void
find_dont_remember(const struct h1_request *r, const struct conf_issuer *is,
    struct gate_out *out)
{
	struct auth_view views[GATE_MAX_COOKIE_HEADERS];
	const char *names[2] = {is->dont_remember, is->dont_remember_secure};
	size_t n = 0, i, k, len;

	for (i = 0; i < r->n_fields && n < GATE_MAX_COOKIE_HEADERS; i++)
		if (r->fields[i].tok == H1_T_COOKIE) {
			views[n].ptr = r->fields[i].value;
			views[n].len = r->fields[i].value_len;
			n++;
		}
	for (k = 0; k < 2; k++) {
		if (names[k] == NULL)
			continue;
		if (auth_cookie_find(views, n, names[k], out->dont_remember,
		        sizeof(out->dont_remember), &len) == AUTH_OK &&
		    len <= GATE_DONT_REMEMBER_MAX) {
			out->dont_remember_len = len;
			return;
		}
	}
	out->dont_remember[0] = '\0';
	out->dont_remember_len = 0;
}

/* ------------------------------------------------------------------- CSRF */

/* RFC 9110 §9.2.1: the methods defined as safe (TRACE never gets here:
 * the codec refuses it). */
static bool
method_is_safe(enum h1_method m)
{
	return m == H1_M_GET || m == H1_M_HEAD || m == H1_M_OPTIONS;
}

/* Drops ":80" from an http and ":443" from an https authority (RFC 6454
 * §6.2 serialises an origin without its default port). */
static size_t
authority_len_nodefault(const char *h, size_t len, bool https)
{
	if (https && len > 4 && memcmp(h + len - 4, ":443", 4) == 0)
		return len - 4;
	if (!https && len > 3 && memcmp(h + len - 3, ":80", 3) == 0)
		return len - 3;
	return len;
}

/* Whether Origin value |v| (RFC 6454 §7) names |o|. */
static bool
origin_is_own(const char *v, size_t len, const struct origin *o)
{
	const char *scheme = o->https ? "https://" : "http://";
	size_t sl = strlen(scheme), hl, vl;

	if (o->host.len == 0 || len <= sl || strncasecmp(v, scheme, sl) != 0)
		return false;
	hl = authority_len_nodefault(o->host.ptr, o->host.len, o->https);
	vl = authority_len_nodefault(v + sl, len - sl, o->https);
	return vl == hl && strncasecmp(v + sl, o->host.ptr, hl) == 0;
}

static bool
origin_is_listed(const struct conf *c, const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < c->n_csrf_origins; i++)
		if (strlen(c->csrf_origins[i]) == len &&
		    strncasecmp(c->csrf_origins[i], v, len) == 0)
			return true;
	return false;
}

/*
 * An unsafe request that a cookie authenticated must come from a page we
 * trust: turning an ambient cookie into a Bearer token would otherwise
 * take the backend's natural CSRF immunity away. Browsers send
 * Sec-Fetch-Site (Fetch Metadata) and, on every non-GET/HEAD request,
 * Origin (Fetch "append a request Origin header"). A request with
 * neither comes from no current browser (curl, a script, a server),
 * which cannot be made to carry a victim's cookie, so it passes unless
 * csrf.require_origin says otherwise.
 */
static bool
csrf_ok(const struct gate_in *in, const struct conf *c, const struct origin *o)
{
	const struct h1_request *r = in->req;
	const struct h1_field *sfs = field_find(r, H1_T_SEC_FETCH_SITE);
	const struct h1_field *org = field_find(r, H1_T_ORIGIN);

	if (sfs != NULL &&
	    ((sfs->value_len == 11 &&
	         strncasecmp(sfs->value, "same-origin", 11) == 0) ||
	        (sfs->value_len == 4 &&
	            strncasecmp(sfs->value, "none", 4) == 0)))
		return true;
	if (org != NULL) {
		if (origin_is_listed(c, org->value, org->value_len))
			return true;
		/* A browser that says cross-site or same-site is not on our
		 * origin, whatever Origin claims. */
		return sfs == NULL &&
		    origin_is_own(org->value, org->value_len, o);
	}
	if (sfs != NULL)
		return false;
	return !c->csrf_require_origin;
}

/* ---------------------------------------------------------- upstream head */

struct cut_arg {
	const struct conf *c;
};

/* Whether |name| is one of the cut cookies, or "NAME.<digits>", a chunk
 * of a cookie Better Auth splits (session_data.0, .1, ...). */
static bool
cookie_is_cut(const char *name, size_t len, void *arg)
{
	const struct conf *c = ((const struct cut_arg *)arg)->c;
	size_t i, k;

	for (i = 0; i < c->n_cut_cookies; i++) {
		const char *cut = c->cut_cookies[i];
		size_t cl = strlen(cut);

		if (len < cl || memcmp(name, cut, cl) != 0)
			continue;
		if (len == cl)
			return true;
		if (!c->cut_chunked[i] || name[cl] != '.' || len == cl + 1 ||
		    len > cl + 4)
			continue;
		for (k = cl + 1; k < len; k++)
			if (name[k] < '0' || name[k] > '9')
				break;
		if (k == len)
			return true;
	}
	return false;
}

static bool
value_is_clean(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		/* RFC 9110 §5.5: no CR, LF, NUL or other controls. */
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	return true;
}

/* Collects the tokens of every Connection header (RFC 9110 §7.6.1). */
static size_t
connection_tokens(const struct h1_request *r, struct auth_view *out, size_t cap)
{
	size_t n = 0, i;

	for (i = 0; i < r->n_fields; i++) {
		const struct h1_field *f = &r->fields[i];
		size_t pos = 0;

		if (h1_token_lookup_loose(f->name, f->name_len) !=
		    H1_T_CONNECTION)
			continue;
		while (n < cap &&
		    h1_list_next(f->value, f->value_len, &pos, &out[n].ptr,
		        &out[n].len))
			n++;
	}
	return n;
}

static bool
named_in_connection(const struct h1_field *f, const struct auth_view *tok,
    size_t n_tok)
{
	size_t i;

	for (i = 0; i < n_tok; i++)
		if (h1_name_eq_loose(f->name, f->name_len, tok[i].ptr,
		        tok[i].len))
			return true;
	return false;
}

/* The path the upstream gets: the canonical one, without the route's
 * strip_prefix when it starts at a segment boundary. */
static void
upstream_path(const struct conf_route *rt, const char *path, size_t len,
    const char **out, size_t *out_len)
{
	size_t pl;

	*out = path;
	*out_len = len;
	if (rt->strip_prefix == NULL)
		return;
	pl = strlen(rt->strip_prefix);
	if (len < pl || memcmp(path, rt->strip_prefix, pl) != 0 ||
	    (len > pl && path[pl] != '/'))
		return;
	*out = path + pl;
	*out_len = len - pl;
	if (*out_len == 0) {
		*out = "/";
		*out_len = 1;
	}
}

struct head_args {
	const struct conf_route *rt;
	const char *query; /* after '?', or NULL without one */
	size_t query_len;
	const struct origin *origin;
	const char *fwd; /* the Bearer token, or NULL */
	size_t fwd_len;
	const struct auth_claims *claims; /* or NULL */
};

static int
build_head(const struct gate_in *in, const struct conf *c, struct gate_out *out,
    const struct head_args *a, struct wbuf *w)
{
	const struct h1_request *r = in->req;
	struct auth_view conn_tok[GATE_MAX_CONN_TOKENS];
	struct cut_arg cut = {c};
	const char *path, *rid = in->request_id;
	size_t path_len, n_tok, i, rid_len = in->request_id_len;
	bool xff_done = false;

	upstream_path(a->rt, out->path, strlen(out->path), &path, &path_len);
	put(w, r->method, r->method_len);
	put(w, " ", 1);
	put(w, path, path_len);
	if (a->query != NULL) {
		put(w, "?", 1);
		put(w, a->query, a->query_len);
	}
	put(w, " HTTP/1.1\r\n", 11);

	n_tok = connection_tokens(r, conn_tok, GATE_MAX_CONN_TOKENS);
	for (i = 0; i < r->n_fields; i++) {
		const struct h1_field *f = &r->fields[i];
		enum hclass hc = classify(c, f);

		if (hc != HC_DROP && named_in_connection(f, conn_tok, n_tok))
			continue;
		switch (hc) {
		case HC_KEEP:
			put_field(w, f->name, f->name_len, f->value,
			    f->value_len);
			break;
		case HC_ADDR:
			if (in->peer_trusted)
				put_field(w, f->name, f->name_len, f->value,
				    f->value_len);
			break;
		case HC_XFF: {
			size_t j;

			if (!in->peer_trusted || xff_done)
				break;
			/* Every hop so far, in order, then the peer. */
			put_str(w, "X-Forwarded-For: ");
			for (j = i; j < r->n_fields; j++) {
				const struct h1_field *g = &r->fields[j];

				if (g->value_len == 0 ||
				    classify(c, g) != HC_XFF)
					continue;
				put(w, g->value, g->value_len);
				put(w, ", ", 2);
			}
			put_str(w, in->peer);
			put(w, "\r\n", 2);
			xff_done = true;
			break;
		}
		case HC_REQID:
			if (in->peer_trusted && rid == in->request_id &&
			    is_request_id(f->value, f->value_len)) {
				rid = f->value;
				rid_len = f->value_len;
			}
			break;
		case HC_COOKIE: {
			/* Re-joining with "; " can lengthen the header. */
			char ck[AUTH_MAX_COOKIE_HEADER_LEN +
			    2 * AUTH_MAX_COOKIES + 1];
			size_t ck_len = 0;

			if (a->rt->pass_auth_cookies) {
				put_field(w, f->name, f->name_len, f->value,
				    f->value_len);
				break;
			}
			if (auth_cookie_filter(f->value, f->value_len,
			        cookie_is_cut, &cut, ck, sizeof(ck),
			        &ck_len) != 0)
				break; /* over the limits: drop it whole */
			if (ck_len > 0)
				put_field(w, "Cookie", 6, ck, ck_len);
			break;
		}
		default: /* HC_DROP, HC_XFP, HC_XFH: dropped or re-created */
			break;
		}
	}
	if (out->websocket)
		put_str(w, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
	if (!xff_done) {
		put_str(w, "X-Forwarded-For: ");
		put_str(w, in->peer);
		put(w, "\r\n", 2);
	}
	put_str(w,
	    a->origin->https ? "X-Forwarded-Proto: https\r\n"
	                     : "X-Forwarded-Proto: http\r\n");
	if (a->origin->host.len > 0)
		put_field(w, "X-Forwarded-Host", 16, a->origin->host.ptr,
		    a->origin->host.len);
	if (rid != NULL && rid_len > 0 && rid_len <= GATE_REQUEST_ID_MAX) {
		put_field(w, "X-Request-Id", 12, rid, rid_len);
		memcpy(out->request_id, rid, rid_len);
		out->request_id[rid_len] = '\0';
	}
	if (a->fwd != NULL) {
		put_str(w, "Authorization: Bearer ");
		put(w, a->fwd, a->fwd_len);
		put(w, "\r\n", 2);
	}
	if (a->claims != NULL) {
		for (i = 0; i < c->n_claim_headers; i++) {
			char v[GATE_CLAIM_VALUE_MAX];
			size_t vl;

			if (auth_claims_get(a->claims, c->claim_header_claim[i],
			        v, sizeof(v), &vl) != 0)
				continue;
			/* A verified value with CR or LF would still split
			 * the head: leave it out. */
			if (!value_is_clean(v, vl))
				continue;
			put_str(w, c->claim_header_name[i]);
			put(w, ": ", 2);
			put(w, v, vl);
			put(w, "\r\n", 2);
		}
	}
	return w->over ? -1 : 0;
}

/* ------------------------------------------------------------------ gate */

/* Splits the origin-form part of the target into path and query. An
 * absolute-form target's part may be empty or start with '?': its path is
 * then "/" (RFC 9112 §3.2.1, §3.3). */
static void
split_target(const struct h1_request *r, const char **path, size_t *path_len,
    const char **query, size_t *query_len)
{
	const char *t = r->path, *q;
	size_t len = r->path_len;

	q = memchr(t, '?', len);
	*path = t;
	*path_len = q != NULL ? (size_t)(q - t) : len;
	*query = q != NULL ? q + 1 : NULL;
	*query_len = q != NULL ? len - *path_len - 1 : 0;
	if (*path_len == 0) {
		*path = "/";
		*path_len = 1;
	}
}

/* |buf| is written through the wbuf below, which clang-tidy 14 misses. */
int
gate_decide(const struct gate_in *in, const struct conf *c,
    /* NOLINTNEXTLINE(readability-non-const-parameter) */
    struct gate_ctx *ctx, int64_t now, struct gate_out *out, char *buf,
    size_t cap)
{
	const struct h1_request *r;
	const struct conf_route *rt;
	const struct conf_issuer *is = NULL;
	struct auth_match m;
	struct auth_claims claims;
	struct origin origin;
	struct head_args ha;
	struct wbuf w = {buf, cap, 0, false};
	char cred[AUTH_MAX_COOKIE_VALUE_LEN + 1];
	char fwd[AUTH_MAX_FWD_LEN + 1];
	const char *path, *query;
	size_t path_len, query_len, cred_len = 0, fwd_len = 0, canon_len;
	enum auth_status st;
	bool have_id = false, exch = false;
	size_t tok_len = 0;

	out->status = 0;
	out->code = NULL;
	out->title = NULL;
	out->www_auth = NULL;
	out->route = -1;
	out->upstream = -1;
	out->auth_needed = false;
	out->auth = AUTH_OK;
	out->websocket = false;
	out->need_exchange = false;
	out->issuer = -1;
	out->session[0] = '\0';
	out->session_len = 0;
	out->session_token_len = 0;
	out->session_lookup = -1;
	out->session_stale = false;
	out->dont_remember[0] = '\0';
	out->dont_remember_len = 0;
	out->has_sub = false;
	out->sub[0] = '\0';
	out->request_id[0] = '\0';
	memcpy(out->path, "-", 2);
	out->head_len = 0;
	if (in == NULL || in->req == NULL || c == NULL || buf == NULL ||
	    in->peer == NULL)
		return reject(out, 503, "internal");
	r = in->req;
	if (in->request_id != NULL && in->request_id_len > 0 &&
	    in->request_id_len <= GATE_REQUEST_ID_MAX) {
		memcpy(out->request_id, in->request_id, in->request_id_len);
		out->request_id[in->request_id_len] = '\0';
	}

	split_target(r, &path, &path_len, &query, &query_len);
	st = auth_path_canon(path, path_len, out->path, sizeof(out->path),
	    &canon_len);
	if (st != AUTH_OK) {
		out->auth = st;
		memcpy(out->path, "-", 2);
		return reject(out, 400, auth_status_str(st));
	}
	if (auth_route_match(c->table, out->path, canon_len, &m) != AUTH_OK) {
		out->auth = AUTH_NO_ROUTE;
		return reject(out, 404, auth_status_str(AUTH_NO_ROUTE));
	}
	if (m.index >= c->n_routes)
		return reject(out, 503, "internal");
	out->route = (int)m.index;
	rt = &c->routes[m.index];
	if (rt->issuer >= 0 && (size_t)rt->issuer < c->n_issuers)
		is = &c->issuers[rt->issuer];
	if (rt->mode != AUTH_MODE_NONE && is == NULL) {
		out->auth = AUTH_INTERNAL;
		return reject(out, 503, "internal");
	}
	out->websocket = r->upgrade_websocket;
	request_origin(in, &origin);

	if (rt->mode != AUTH_MODE_NONE) {
		out->auth_needed = true;
		st = find_credential(r, is, cred, sizeof(cred), &cred_len);
		if (st == AUTH_OK && is->cred == CONF_CRED_SESSION)
			st = session_credential(ctx, is, cred, cred_len, now,
			    &claims, fwd, &fwd_len, &exch, &tok_len, out);
		else if (st == AUTH_OK)
			st = verify_credential(ctx, is, cred, cred_len, now,
			    &claims, fwd, &fwd_len);
		/* better-auth-compact with token_url: a session_data cookie
		 * expired (or dropped by the browser at its Max-Age) is no
		 * reason to refuse a live session: its session_token is
		 * exchanged instead, as for credential session. */
		if ((st == AUTH_EXPIRED || st == AUTH_NO_TOKEN) &&
		    is->cred == CONF_CRED_BA_COMPACT && is->token_url != NULL &&
		    find_cookie(r, is->exch_cookie, is->exch_cookie_secure,
		        false, cred, sizeof(cred), &cred_len) == AUTH_OK) {
			enum auth_status s2 =
			    session_credential(ctx, is, cred, cred_len, now,
			        &claims, fwd, &fwd_len, &exch, &tok_len, out);

			/* a forged or garbled session cookie leaves the
			 * session_data's own answer */
			if (s2 == AUTH_OK || s2 == AUTH_INTERNAL)
				st = s2;
		}
		if (st == AUTH_OK && exch) {
			/* The caller runs the exchange and asks again. */
			out->need_exchange = true;
			out->issuer = rt->issuer;
			memcpy(out->session, cred, cred_len + 1);
			out->session_len = cred_len;
			out->session_token_len = tok_len;
			find_dont_remember(r, is, out);
			return 0;
		}
		out->auth = st;
		if (st == AUTH_OK) {
			have_id = true;
			memcpy(out->sub, claims.sub, claims.sub_len + 1);
			out->has_sub = true;
		} else if (st == AUTH_INTERNAL) {
			return reject(out, 503, auth_status_str(st));
		} else if (rt->mode == AUTH_MODE_REQUIRED) {
			return reject_auth(out, st);
		}
		/* optional: forwarded without identity */
	}

	/* Binding rules need an identity: on an optional route they cannot
	 * hold for an anonymous caller, who must authenticate first (fail
	 * closed; never forward /api/<someone>/... unverified). */
	if (!have_id && m.route->n_rules > 0) {
		if (out->auth == AUTH_OK)
			out->auth = AUTH_NO_TOKEN;
		return reject_auth(out, out->auth);
	}
	if (have_id && (st = auth_route_check(&m, &claims)) != AUTH_OK) {
		out->auth = st;
		return reject_auth(out, st);
	}
	/* Every identity here came from a cookie, so every unsafe request
	 * carrying one passes the CSRF guard first. */
	if (have_id && !method_is_safe(r->meth) && !csrf_ok(in, c, &origin))
		return reject(out, 403, "csrf");

	ha.rt = rt;
	ha.query = query;
	ha.query_len = query_len;
	ha.origin = &origin;
	ha.fwd = have_id ? fwd : NULL;
	ha.fwd_len = fwd_len;
	ha.claims = have_id ? &claims : NULL;
	if (build_head(in, c, out, &ha, &w) != 0)
		/* The head the client sent, grown by our headers, does not
		 * fit: a local answer, never a truncated head upstream. */
		return reject(out, 431, "head_too_large");
	out->upstream = rt->upstream;
	out->head_len = w.len;
	return 0;
}

size_t
gate_head_cap(const struct conf *c)
{
	size_t n = 2 * c->max_head_bytes + AUTH_MAX_FWD_LEN + 2048;

	/* claim headers: name, ": ", value, CRLF */
	n += c->n_claim_headers * (GATE_CLAIM_VALUE_MAX + 256);
	/* Cookie headers re-joined with "; " */
	n += 2 * AUTH_MAX_COOKIES;
	return n;
}

/* |v| in decimal (a status, a body length). */
static void
put_dec(struct wbuf *w, size_t v)
{
	char d[H1_DEC_MAX];
	size_t k = h1_dec(d, v);

	put(w, d + k, sizeof(d) - k);
}

/* |buf| is written through the wbuf below, which clang-tidy 14 misses. */
ssize_t
gate_reply(const struct gate_out *out, int minor, bool close, bool no_body,
    /* NOLINTNEXTLINE(readability-non-const-parameter) */
    char *buf, size_t cap)
{
	char body[512];
	struct wbuf b = {body, sizeof(body), 0, false};
	struct wbuf h = {buf, cap, 0, false};
	const char *title =
	    out->title != NULL ? out->title : h1_reason(out->status);

	if (out->status < 100 || out->status > 999)
		return -1;
	/* RFC 9457 §3: a problem details object; code is ours. */
	put_str(&b, "{\"type\":\"about:blank\",\"title\":\"");
	put_str(&b, title);
	put_str(&b, "\",\"status\":");
	put_dec(&b, (size_t)out->status);
	put_str(&b, ",\"code\":\"");
	put_str(&b, out->code != NULL ? out->code : "error");
	put_str(&b, "\"}\n");
	if (b.over)
		return -1;
	put_str(&h, "HTTP/1.1 ");
	put_dec(&h, (size_t)out->status);
	put(&h, " ", 1);
	put_str(&h, h1_reason(out->status));
	put_str(&h,
	    "\r\nContent-Type: application/problem+json\r\n"
	    "Content-Length: ");
	put_dec(&h, b.len);
	put_str(&h, "\r\nCache-Control: no-store\r\n");
	if (out->www_auth != NULL)
		put_field(&h, "WWW-Authenticate", 16, out->www_auth,
		    strlen(out->www_auth));
	if (close)
		put_str(&h, "Connection: close\r\n");
	else if (minor == 0)
		put_str(&h, "Connection: keep-alive\r\n");
	put(&h, "\r\n", 2);
	if (!no_body)
		put(&h, body, b.len);
	if (h.over)
		return -1;
	return (ssize_t)h.len;
}

static bool
net_match(const struct conf_net *n, const unsigned char *a)
{
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (memcmp(n->addr, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((n->addr[full] ^ a[full]) & (0xff00u >> rest) & 0xff) == 0;
}

bool
gate_peer_trusted(const struct conf *c, const struct sockaddr *sa)
{
	const unsigned char *a;
	int family;
	size_t i;

	if (c == NULL || sa == NULL || c->n_trusted == 0)
		return false;
	if (sa->sa_family == AF_INET) {
		a = (const unsigned char *)&(
		    (const struct sockaddr_in *)(const void *)sa)
		        ->sin_addr;
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		a = (const unsigned char *)a6;
		family = AF_INET6;
		/* ::ffff:a.b.c.d is a.b.c.d (RFC 4291 §2.5.5.2). */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			a += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (i = 0; i < c->n_trusted; i++)
		if (c->trusted[i].family == family &&
		    net_match(&c->trusted[i], a))
			return true;
	return false;
}
