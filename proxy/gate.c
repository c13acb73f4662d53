/* SPDX-License-Identifier: MIT */
/* Request to verdict: path, route, credential, binding rules, and the
 * rewritten upstream head. No crypto here: auth/ decides. */
#include <stdio.h>
#include <string.h>

#include "proxy.h"

#define GATE_MAX_COOKIE_HEADERS 32
#define GATE_MAX_CONN_TOKENS 32

bool
gate_name_eq(const char *a, size_t a_len, const char *b)
{
	size_t i;

	for (i = 0; i < a_len; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (y == '\0')
			return false;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x == '_')
			x = '-';
		if (y == '_')
			y = '-';
		if (x != y)
			return false;
	}
	return b[a_len] == '\0';
}

static void
reject(struct proxy_req *pr, int status, const char *code, const char *title)
{
	memset(&pr->v, 0, sizeof(pr->v));
	pr->v.status = status;
	pr->v.code = code;
	pr->v.title = title;
}

static const char *
status_title(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* A header's name and value as views into the request head copy. */
#define F_NAME(pr, f) ((pr)->head + (f)->name_off)
#define F_VAL(pr, f) ((pr)->head + (f)->val_off)

/*
 * Finds the credential: the issuer's cookie or its "__Secure-" variant,
 * across every Cookie header. Two different values, in one name or across
 * both names, are ambiguous: a planted cookie must never pick the identity.
 */
static enum auth_status
find_credential(struct proxy_req *pr, const struct conf_issuer *is, char *out,
    size_t cap, size_t *out_len)
{
	struct auth_view views[GATE_MAX_COOKIE_HEADERS];
	char alt[AUTH_MAX_COOKIE_VALUE_LEN + 1];
	size_t n = 0, i, alt_len = 0;
	enum auth_status s1, s2 = AUTH_NO_TOKEN;

	for (i = 0; i < pr->n_fields; i++) {
		const struct proxy_field *f = &pr->fields[i];

		if (!gate_name_eq(F_NAME(pr, f), f->name_len, "cookie"))
			continue;
		if (n == GATE_MAX_COOKIE_HEADERS)
			return AUTH_TOO_LARGE;
		views[n].ptr = F_VAL(pr, f);
		views[n].len = f->val_len;
		n++;
	}
	if (n == 0)
		return AUTH_NO_TOKEN;
	s1 = auth_cookie_find(views, n, is->cookie, out, cap, out_len);
	if (is->cookie_secure != NULL)
		s2 = auth_cookie_find(views, n, is->cookie_secure, alt,
		    sizeof(alt), &alt_len);
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

/*
 * Verifies |cred| under |is| (through the worker's token cache) and fills
 * |claims| and the token to forward. |fwd| must hold AUTH_MAX_FWD_LEN.
 */
static enum auth_status
verify_credential(struct proxy_req *pr, const struct conf_issuer *is,
    const char *cred, size_t cred_len, int64_t now, struct auth_claims *claims,
    char *fwd, size_t *fwd_len)
{
	unsigned char key[AUTH_TCACHE_KEY_LEN];
	const struct auth_tcache_entry *e;
	struct auth_tcache *tc = pr->wg->tcache;
	enum auth_status st;
	int64_t expires, mexp;

	auth_tcache_key(is->cache_domain != NULL ? is->cache_domain : is->name,
	    cred, cred_len, key);
	if (tc != NULL && (e = auth_tcache_get(tc, key, now)) != NULL) {
		*claims = e->claims;
		memcpy(fwd, e->fwd, e->fwd_len + 1);
		*fwd_len = e->fwd_len;
		return AUTH_OK;
	}

	switch (is->cred) {
	case CONF_CRED_JWT:
		st = auth_jwt_verify(&is->policy, cred, cred_len, now, claims);
		break;
	case CONF_CRED_BA_COMPACT:
		st = auth_ba_compact_verify(&is->policy, is->secret,
		    is->secret_len, cred, cred_len, now, claims);
		break;
	default:
		/* The exchange is not built yet; conf refuses it too. */
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

static bool
value_is_clean(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		/* RFC 9110 §5.5: no CR, LF, NUL or other controls. */
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* The headers that never cross the proxy (RFC 9110 §7.6.1), plus the
 * framing and routing ones that we re-create ourselves. */
static const char *const hop_by_hop[] = {"connection", "keep-alive",
    "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    "proxy-authorization", "proxy-authenticate", "content-length", "host",
    "expect", "authorization", "forwarded", "x-forwarded-for",
    "x-forwarded-proto", "x-forwarded-host", NULL};

static bool
is_dropped(const struct proxy_req *pr, const struct proxy_field *f,
    const struct auth_view *conn_tok, size_t n_conn_tok)
{
	const struct conf *c = pr->conf;
	const char *name = F_NAME(pr, f);
	size_t i;

	for (i = 0; hop_by_hop[i] != NULL; i++)
		if (gate_name_eq(name, f->name_len, hop_by_hop[i]))
			return true;
	for (i = 0; i < c->n_strip_headers; i++)
		if (gate_name_eq(name, f->name_len, c->strip_headers[i]))
			return true;
	/* Our claim headers come only from verified claims. */
	for (i = 0; i < c->n_claim_headers; i++)
		if (gate_name_eq(name, f->name_len, c->claim_header_name[i]))
			return true;
	for (i = 0; i < n_conn_tok; i++) {
		char tok[128];

		if (conn_tok[i].len >= sizeof(tok))
			continue;
		memcpy(tok, conn_tok[i].ptr, conn_tok[i].len);
		tok[conn_tok[i].len] = '\0';
		if (gate_name_eq(name, f->name_len, tok))
			return true;
	}
	return false;
}

/* Collects every token named by the Connection headers (RFC 9110 §7.6.1). */
static size_t
connection_tokens(const struct proxy_req *pr, struct auth_view *out, size_t cap)
{
	size_t n = 0, i;

	for (i = 0; i < pr->n_fields; i++) {
		const struct proxy_field *f = &pr->fields[i];
		const char *v = F_VAL(pr, f);
		size_t j = 0;

		if (!gate_name_eq(F_NAME(pr, f), f->name_len, "connection"))
			continue;
		while (j < f->val_len && n < cap) {
			size_t s, e;

			while (j < f->val_len &&
			    (v[j] == ' ' || v[j] == '\t' || v[j] == ','))
				j++;
			s = j;
			while (j < f->val_len && v[j] != ',')
				j++;
			e = j;
			while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
				e--;
			if (e > s) {
				out[n].ptr = v + s;
				out[n].len = e - s;
				n++;
			}
		}
	}
	return n;
}

static const struct proxy_field *
field_find(const struct proxy_req *pr, const char *name)
{
	size_t i;

	for (i = 0; i < pr->n_fields; i++)
		if (gate_name_eq(F_NAME(pr, &pr->fields[i]),
		        pr->fields[i].name_len, name))
			return &pr->fields[i];
	return NULL;
}

/* Writes the upstream request head into a new pr->up_head. */
static int
build_head(struct proxy_req *pr, const struct conf_route *rt,
    const struct conf_issuer *is, const char *query, size_t query_len,
    bool has_query, const char *fwd, size_t fwd_len,
    const struct auth_claims *claims)
{
	const struct conf *c = pr->conf;
	struct auth_view conn_tok[GATE_MAX_CONN_TOKENS];
	size_t n_conn_tok, i;
	struct evbuffer *b;
	const char *path = pr->path;
	const struct proxy_field *host;
	bool xff_done = false;

	if ((b = evbuffer_new()) == NULL)
		return -1;
	if (rt->strip_prefix != NULL) {
		size_t pl = strlen(rt->strip_prefix);

		if (pl > 0 && strncmp(path, rt->strip_prefix, pl) == 0 &&
		    (path[pl] == '/' || path[pl] == '\0' ||
		        rt->strip_prefix[pl - 1] == '/')) {
			path += pl;
			if (rt->strip_prefix[pl - 1] == '/')
				path--;
		}
	}
	/* The same bytes as "%s %s%s%.*s HTTP/1.1\r\n", without the cost
	 * of a formatted print on every request. */
	if (path[0] == '\0')
		path = "/";
	if (evbuffer_add(b, pr->method, strlen(pr->method)) == -1 ||
	    evbuffer_add(b, " ", 1) == -1 ||
	    evbuffer_add(b, path, strlen(path)) == -1 ||
	    (has_query && evbuffer_add(b, "?", 1) == -1) ||
	    evbuffer_add(b, query, strnlen(query, query_len)) == -1 ||
	    evbuffer_add(b, " HTTP/1.1\r\n", 11) == -1)
		goto fail;

	n_conn_tok = connection_tokens(pr, conn_tok, GATE_MAX_CONN_TOKENS);
	for (i = 0; i < pr->n_fields; i++) {
		const struct proxy_field *f = &pr->fields[i];
		const char *name = F_NAME(pr, f), *val = F_VAL(pr, f);

		if (gate_name_eq(name, f->name_len, "x-forwarded-for") &&
		    c->trust_forwarded && !xff_done) {
			size_t j;

			/* Keep every client hop in order, then add ours. */
			evbuffer_add(b, "X-Forwarded-For: ", 17);
			for (j = i; j < pr->n_fields; j++) {
				const struct proxy_field *g = &pr->fields[j];

				if (!gate_name_eq(F_NAME(pr, g), g->name_len,
				        "x-forwarded-for") ||
				    g->val_len == 0)
					continue;
				evbuffer_add(b, F_VAL(pr, g), g->val_len);
				evbuffer_add(b, ", ", 2);
			}
			evbuffer_add(b, pr->client, strlen(pr->client));
			evbuffer_add(b, "\r\n", 2);
			xff_done = true;
			continue;
		}
		if (is_dropped(pr, f, conn_tok, n_conn_tok))
			continue;
		if (gate_name_eq(name, f->name_len, "cookie") && is != NULL) {
			/* Re-joining with "; " can lengthen the header. */
			char out[AUTH_MAX_COOKIE_HEADER_LEN +
			    2 * AUTH_MAX_COOKIES + 1];
			const char *names[5];
			char sess_secure[300];
			size_t nn = 0, out_len = 0;

			names[nn++] = is->cookie;
			if (is->cookie_secure != NULL)
				names[nn++] = is->cookie_secure;
			if (is->session_cookie != NULL) {
				names[nn++] = is->session_cookie;
				snprintf(sess_secure, sizeof(sess_secure),
				    "__Secure-%s", is->session_cookie);
				names[nn++] = sess_secure;
			}
			if (auth_cookie_strip(val, f->val_len, names, nn, out,
			        sizeof(out), &out_len) != 0)
				continue; /* over the limits: drop it whole */
			if (out_len == 0)
				continue;
			evbuffer_add(b, "Cookie: ", 8);
			evbuffer_add(b, out, out_len);
			evbuffer_add(b, "\r\n", 2);
			continue;
		}
		evbuffer_add(b, name, f->name_len);
		evbuffer_add(b, ": ", 2);
		evbuffer_add(b, val, f->val_len);
		evbuffer_add(b, "\r\n", 2);
	}
	if (pr->is_ws)
		evbuffer_add(b, "Connection: Upgrade\r\nUpgrade: websocket\r\n",
		    41);
	if (!xff_done) {
		evbuffer_add(b, "X-Forwarded-For: ", 17);
		evbuffer_add(b, pr->client, strlen(pr->client));
		evbuffer_add(b, "\r\n", 2);
	}
	evbuffer_add(b, "X-Forwarded-Proto: http\r\n", 25);
	if ((host = field_find(pr, "host")) != NULL) {
		evbuffer_add(b, "X-Forwarded-Host: ", 18);
		evbuffer_add(b, F_VAL(pr, host), host->val_len);
		evbuffer_add(b, "\r\n", 2);
	}
	if (fwd != NULL) {
		evbuffer_add(b, "Authorization: Bearer ", 22);
		evbuffer_add(b, fwd, fwd_len);
		evbuffer_add(b, "\r\n", 2);
	}
	if (claims != NULL) {
		for (i = 0; i < c->n_claim_headers; i++) {
			char v[1024];
			size_t vl;

			if (auth_claims_get(claims, c->claim_header_claim[i], v,
			        sizeof(v), &vl) != 0)
				continue;
			if (!value_is_clean(v, vl)) {
				log_debug("%s: claim %s has control bytes, not "
				          "sent",
				    __func__, c->claim_header_claim[i]);
				continue;
			}
			evbuffer_add_printf(b, "%s: %.*s\r\n",
			    c->claim_header_name[i], (int)vl, v);
		}
	}
	pr->up_head = b;
	return 0;
fail:
	evbuffer_free(b);
	return -1;
}

int
gate_decide(struct proxy_req *pr, int64_t now)
{
	const struct conf *c = pr->conf;
	const struct conf_route *rt;
	const struct conf_issuer *is = NULL;
	struct auth_match m;
	struct auth_claims claims;
	char cred[AUTH_MAX_COOKIE_VALUE_LEN + 1];
	char fwd[AUTH_MAX_FWD_LEN + 1];
	const char *target, *q, *query = "";
	size_t target_len, path_len, cred_len = 0, fwd_len = 0, query_len = 0;
	size_t canon_len;
	enum auth_status st;
	bool has_query = false, have_id = false;

	target = pr->head + pr->target_off;
	target_len = pr->target_len;
	q = memchr(target, '?', target_len);
	path_len = q != NULL ? (size_t)(q - target) : target_len;
	if (q != NULL) {
		has_query = true;
		query = q + 1;
		query_len = target_len - path_len - 1;
	}

	/* Admin paths are ours, before any route. */
	if (admin_handle(pr, target, path_len)) {
		snprintf(pr->path, sizeof(pr->path), "%.*s", (int)path_len,
		    target);
		return -1;
	}

	st = auth_path_canon(target, path_len, pr->path, sizeof(pr->path),
	    &canon_len);
	if (st != AUTH_OK) {
		pr->auth = st;
		snprintf(pr->path, sizeof(pr->path), "-");
		reject(pr, 400, auth_status_str(st), "Bad Request");
		return -1;
	}
	if (auth_route_match(c->table, pr->path, canon_len, &m) != AUTH_OK) {
		pr->auth = AUTH_NO_ROUTE;
		reject(pr, 404, auth_status_str(AUTH_NO_ROUTE), "Not Found");
		return -1;
	}
	pr->route = (int)m.index;
	if (m.index >= c->n_routes) {
		reject(pr, 503, "internal", "Service Unavailable");
		return -1;
	}
	rt = &c->routes[m.index];
	if (rt->issuer >= 0 && (size_t)rt->issuer < c->n_issuers)
		is = &c->issuers[rt->issuer];

	if (rt->mode != AUTH_MODE_NONE && is == NULL) {
		pr->auth = AUTH_INTERNAL;
		reject(pr, 503, "internal", "Service Unavailable");
		return -1;
	}
	if (rt->mode == AUTH_MODE_NONE) {
		pr->auth = AUTH_OK;
	} else {
		st = find_credential(pr, is, cred, sizeof(cred), &cred_len);
		if (st == AUTH_OK)
			st = verify_credential(pr, is, cred, cred_len, now,
			    &claims, fwd, &fwd_len);
		pr->auth = st;
		if (st == AUTH_OK) {
			have_id = true;
			memcpy(pr->sub, claims.sub, sizeof(pr->sub));
			pr->has_sub = true;
		} else if (st == AUTH_INTERNAL) {
			reject(pr, 503, auth_status_str(st),
			    "Service Unavailable");
			return -1;
		} else if (rt->mode == AUTH_MODE_REQUIRED) {
			int hs = auth_status_http(st);

			reject(pr, hs, auth_status_str(st), status_title(hs));
			if (hs == 401)
				pr->v.www_auth = st == AUTH_NO_TOKEN
				    ? "Bearer"
				    : "Bearer error=\"invalid_token\"";
			return -1;
		}
		/* optional: forwarded without identity */
	}

	/* Binding rules need an identity: on an optional route they cannot
	 * hold for an anonymous caller, who must authenticate first (fail
	 * closed; never forward /api/<someone>/... unverified). */
	if (!have_id && m.route->n_rules > 0) {
		if (pr->auth == AUTH_OK)
			pr->auth = AUTH_NO_TOKEN;
		reject(pr, 401, auth_status_str(pr->auth), status_title(401));
		pr->v.www_auth = pr->auth == AUTH_NO_TOKEN
		    ? "Bearer"
		    : "Bearer error=\"invalid_token\"";
		return -1;
	}
	if (have_id && (st = auth_route_check(&m, &claims)) != AUTH_OK) {
		pr->auth = st;
		reject(pr, auth_status_http(st), auth_status_str(st),
		    status_title(auth_status_http(st)));
		return -1;
	}

	if (build_head(pr, rt, rt->mode != AUTH_MODE_NONE ? is : NULL, query,
	        query_len, has_query, have_id ? fwd : NULL, fwd_len,
	        have_id ? &claims : NULL) != 0) {
		reject(pr, 503, "internal", "Service Unavailable");
		return -1;
	}
	return 0;
}
