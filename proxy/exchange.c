/* SPDX-License-Identifier: MIT */
/* The Better Auth session exchange, per worker, single-flight: one GET
 * token_url per session at a time, however many requests wait for it. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "exchange.h"
#include "fetch.h"
#include "jwks.h"
#include "proxy.h"

/* A session cookie value: the token, '.', the 44-character signature. */
#define EXCH_COOKIE_MAX (AUTH_SCACHE_TOKEN_MAX + 45)
#define EXCH_DONT_REMEMBER_MAX 128

struct flight;

struct exch_wait {
	struct exch_wait *next, *prev;
	struct flight *f;
	exch_cb *cb;
	void *arg;
};

/* One session issuer's state on this worker. */
struct exch_issuer {
	struct exch_ctx *x;
	const struct conf_issuer *is; /* NULL: not a session issuer */
	int index;
	struct up_pool *pool; /* owned: token_url's host */
	struct jwks *jwks;    /* owned; NULL with static keys */
	struct flight *flights;
	size_t n_flights;
};

struct exch_ctx {
	struct event_base *base;
	struct auth_scache *sc; /* not owned */
	struct exch_issuer xi[CONF_MAX_ISSUERS];
	size_t n_issuers;
};

/* One exchange in progress and the requests waiting for it. */
struct flight {
	struct flight *next, *prev; /* the issuer's list, while linked */
	struct exch_issuer *xi;     /* NULL once unlinked for delivery */
	struct event *ev;           /* owned: the deferred delivery */
	struct fetch *fetch;        /* in flight, or NULL */
	struct exch_wait *waiters;
	char cookie[EXCH_COOKIE_MAX + 1];
	size_t cookie_len, token_len;
	char dont_remember[EXCH_DONT_REMEMBER_MAX + 1];
	size_t dont_remember_len;
	char *jwt; /* owned: a token waiting for its keys */
	size_t jwt_len;
	bool waiting_keys;
	bool keys_retried; /* an unknown kid got its one refetch */
	bool done;
	int status;
	const char *code;
	char *extra; /* owned: header lines for the waiters' responses */
	size_t extra_len;
};

/* metrics */
enum { OUT_OK, OUT_UNAUTHORIZED, OUT_UNAVAILABLE, OUT_INVALID, OUT_MAX };
static const char *const outcome_name[OUT_MAX] = {"ok", "unauthorized",
    "unavailable", "invalid"};
static atomic_ulong n_outcome[OUT_MAX];
/* Per exchange, so rare: shared counters. What every session request
 * counts (its cache lookup) goes to the worker's metrics shard. */
static atomic_ulong n_joins, n_stale_served, n_overload;

static void flight_verify(struct flight *f);

/* ------------------------------------------------------------ delivery */

static void
flight_unlink(struct flight *f)
{
	struct exch_issuer *xi = f->xi;

	if (xi == NULL)
		return;
	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		xi->flights = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	f->next = f->prev = NULL;
	xi->n_flights--;
	f->xi = NULL;
}

static void
flight_free(struct flight *f)
{
	struct exch_wait *w;

	flight_unlink(f);
	fetch_cancel(f->fetch);
	while ((w = f->waiters) != NULL) {
		f->waiters = w->next;
		free(w);
	}
	if (f->ev != NULL)
		event_free(f->ev);
	if (f->jwt != NULL) {
		OPENSSL_cleanse(f->jwt, f->jwt_len);
		free(f->jwt);
	}
	if (f->extra != NULL) {
		OPENSSL_cleanse(f->extra, f->extra_len);
		free(f->extra);
	}
	OPENSSL_cleanse(f->cookie, sizeof(f->cookie));
	free(f);
}

/*
 * Runs from the loop: every waiter learns the result. The flight leaves
 * its issuer first, so a callback that starts a new exchange of the same
 * session gets a new flight, and one that frees the whole context (the
 * last request of a configuration generation) cannot free this one.
 */
static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flight *f = arg;
	struct exch_result res;
	struct exch_wait *w;

	(void)fd;
	(void)what;
	flight_unlink(f);
	res.status = f->status;
	res.code = f->code;
	res.extra = f->extra;
	res.extra_len = f->extra_len;
	while ((w = f->waiters) != NULL) {
		f->waiters = w->next;
		if (f->waiters != NULL)
			f->waiters->prev = NULL;
		w->f = NULL;
		w->cb(w->arg, &res);
		free(w);
	}
	flight_free(f);
}

static void
flight_done(struct flight *f, int outcome, int status, const char *code)
{
	if (f->done)
		return;
	f->done = true;
	f->status = status;
	f->code = code;
	if (outcome >= 0)
		atomic_fetch_add(&n_outcome[outcome], 1);
	event_active(f->ev, 0, 0);
}

/* Adds header lines to what the waiters relay. */
static void
flight_extra(struct flight *f, const char *s, size_t n)
{
	char *e;

	if (n == 0)
		return;
	e = realloc(f->extra, f->extra_len + n);
	if (e == NULL)
		return; /* a relayed cookie is a courtesy, never a must */
	memcpy(e + f->extra_len, s, n);
	f->extra = e;
	f->extra_len += n;
}

/* The issuer could not answer: a cached JWT still inside its exp keeps
 * working (served as it is until the retry), others get 503. */
static void
flight_unavailable(struct flight *f, int outcome, const char *code)
{
	struct exch_issuer *xi = f->xi;
	int64_t now = (int64_t)time(NULL);
	char ra[32];
	int n;

	if (xi != NULL &&
	    auth_scache_fail(xi->x->sc, xi->is->cache_domain, f->cookie,
	        f->token_len, now + EXCH_RETRY_S, now)) {
		atomic_fetch_add(&n_stale_served, 1);
		flight_done(f, outcome, 0, NULL);
		return;
	}
	n = snprintf(ra, sizeof(ra), "Retry-After: %d\r\n", EXCH_RETRY_S);
	flight_extra(f, ra, (size_t)n);
	flight_done(f, outcome, 503, code);
}

/* ------------------------------------------------------------ the JWT */

static void
flight_verify(struct flight *f)
{
	struct exch_issuer *xi = f->xi;
	const struct conf_issuer *is = xi->is;
	struct auth_policy p = is->exch_policy;
	struct auth_claims cl;
	char fwd[AUTH_MAX_FWD_LEN + 1];
	size_t fwd_len = 0;
	int64_t now = (int64_t)time(NULL), exp, mexp;
	enum auth_status st;

	f->waiting_keys = false;
	/* The issuer signed this token a moment ago: its iat is "now" on the
	 * issuer's clock, which time() (a coarse clock) can trail across a
	 * second boundary. One second of leeway at least, or a leeway of 0
	 * refuses fresh tokens as not yet valid. */
	if (p.leeway < 1)
		p.leeway = 1;
	if (xi->jwks != NULL) {
		p.keys = jwks_keys(xi->jwks);
		if (p.keys == NULL) {
			/* The first JWKS is not in yet: wait for it once. A
			 * fetch already under way may have left before the
			 * issuer made the key that signed our token: joining
			 * it is not our one wait, the fetch after it is. */
			bool joined = jwks_busy(xi->jwks);

			if (!f->keys_retried &&
			    jwks_refetch(xi->jwks, EXCH_KEY_WAIT_S)) {
				f->keys_retried = !joined;
				f->waiting_keys = true;
				return;
			}
			flight_unavailable(f, OUT_UNAVAILABLE,
			    "keys_unavailable");
			return;
		}
	}
	st = auth_jwt_verify(&p, f->jwt, f->jwt_len, now, &cl);
	if (st == AUTH_KEY_UNKNOWN && xi->jwks != NULL && !f->keys_retried) {
		/* The issuer signs with a key we have not seen (rotated, or
		 * restarted without a database): refetch its JWKS once (a
		 * fetch already under way may predate the key: see above). */
		f->keys_retried = !jwks_busy(xi->jwks);
		if (jwks_refetch(xi->jwks, EXCH_KEY_WAIT_S)) {
			f->waiting_keys = true;
			return;
		}
	}
	if (st != AUTH_OK) {
		log_warnx("%s: issuer %s: the token from token_url does not "
		          "verify: %s",
		    __func__, is->name, auth_status_str(st));
		flight_unavailable(f, OUT_INVALID, "issuer_token_invalid");
		return;
	}
	exp = cl.exp;
	if (is->forward == CONF_FORWARD_MINT && is->minter != NULL) {
		if (auth_minter_mint(is->minter, &cl, now, fwd, sizeof(fwd),
		        &fwd_len, &mexp) != 0) {
			flight_unavailable(f, OUT_INVALID, "internal");
			return;
		}
		if (mexp < exp)
			exp = mexp;
	} else {
		if (f->jwt_len >= AUTH_MAX_FWD_LEN) {
			flight_unavailable(f, OUT_INVALID, "token_too_large");
			return;
		}
		memcpy(fwd, f->jwt, f->jwt_len);
		fwd[f->jwt_len] = '\0';
		fwd_len = f->jwt_len;
	}
	if (auth_scache_put(xi->x->sc, is->cache_domain, f->cookie,
	        f->token_len, &cl, fwd, fwd_len, exp, now) != 0) {
		OPENSSL_cleanse(fwd, sizeof(fwd));
		flight_unavailable(f, OUT_INVALID, "issuer_token_invalid");
		return;
	}
	OPENSSL_cleanse(fwd, sizeof(fwd));
	OPENSSL_cleanse(&cl, sizeof(cl));
	flight_done(f, OUT_OK, 0, NULL);
}

/* A key set arrived (or a fetch failed): flights waiting for keys try
 * again. */
static void
jwks_fetched(void *arg)
{
	struct exch_issuer *xi = arg;
	struct flight *f, *next;

	for (f = xi->flights; f != NULL; f = next) {
		next = f->next;
		if (f->waiting_keys && !f->done)
			flight_verify(f);
	}
}

/* ------------------------------------------------------------ the call */

/* The token endpoint's JSON {"token": "<jwt>"}: the JWT, or NULL. */
static char *
token_of(const char *body, size_t len, size_t *out_len)
{
	json_t *root, *t;
	json_error_t e;
	char *jwt = NULL;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL)
		return NULL;
	t = json_object_get(root, "token");
	if (json_is_string(t) && json_string_length(t) > 0 &&
	    json_string_length(t) <= AUTH_MAX_TOKEN_LEN) {
		*out_len = json_string_length(t);
		jwt = malloc(*out_len + 1);
		if (jwt != NULL)
			memcpy(jwt, json_string_value(t), *out_len + 1);
	}
	json_decref(root);
	return jwt;
}

static void
on_token(void *arg, const struct fetch_result *res)
{
	struct flight *f = arg;
	struct exch_issuer *xi = f->xi;

	f->fetch = NULL;
	if (res->status == 200 && !res->too_large) {
		f->jwt = token_of(res->body, res->body_len, &f->jwt_len);
		if (f->jwt == NULL) {
			log_warnx("%s: issuer %s: token_url answered 200 "
			          "without a token",
			    __func__, xi->is->name);
			flight_unavailable(f, OUT_INVALID,
			    "issuer_token_invalid");
			return;
		}
		/* A sliding session: the issuer re-issued the cookie. */
		flight_extra(f, res->set_cookie, res->set_cookie_len);
		flight_verify(f);
		return;
	}
	if (res->status == 401) {
		/* The session is gone (signed out, expired, revoked): so is
		 * its cache entry, and the issuer's cookie deletions go back
		 * to the browser. */
		auth_scache_remove(xi->x->sc, xi->is->cache_domain, f->cookie,
		    f->token_len);
		flight_extra(f, res->set_cookie, res->set_cookie_len);
		flight_done(f, OUT_UNAUTHORIZED, 401, "session_invalid");
		return;
	}
	if (res->status == 0)
		log_warnx("%s: issuer %s: token_url: %s", __func__,
		    xi->is->name, up_error_str(res->err));
	else
		log_warnx("%s: issuer %s: token_url answered %d", __func__,
		    xi->is->name, res->status);
	flight_unavailable(f, OUT_UNAVAILABLE, "issuer_unavailable");
}

/* Appends |v| percent-encoded as encodeURIComponent would (Better Auth
 * decodes the cookie value with decodeURIComponent). */
static size_t
pct_encode(const char *v, size_t n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	return o;
}

/*
 * Only the session cookie (and dont_remember, which stops Better Auth from
 * sliding a session the user chose not to keep) goes to the issuer, never
 * session_data: Better Auth answers a signed-out session with a
 * still-valid session_data 200. It accepts only the one name its base URL
 * implies (with or without "__Secure-") and we cannot tell which, so both
 * names carry the same value; the other one is ignored there.
 */
static bool
flight_start(struct flight *f)
{
	const struct conf_issuer *is = f->xi->is;
	char enc[3 * EXCH_COOKIE_MAX + 1], denc[3 * EXCH_DONT_REMEMBER_MAX + 1];
	char hdr[2 * (3 * EXCH_COOKIE_MAX + 3 * EXCH_DONT_REMEMBER_MAX + 600)];
	size_t el = pct_encode(f->cookie, f->cookie_len, enc);
	size_t dl = pct_encode(f->dont_remember, f->dont_remember_len, denc);
	size_t n = 0;
	int k, m;
	const char *names[4] = {is->exch_cookie, is->exch_cookie_secure,
	    f->dont_remember_len > 0 ? is->dont_remember : NULL,
	    f->dont_remember_len > 0 ? is->dont_remember_secure : NULL};

	enc[el] = '\0';
	denc[dl] = '\0';
	/* A head being built, terminated when done. */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(hdr, "Cookie: ", 8);
	n = 8;
	for (k = 0; k < 4; k++) {
		if (names[k] == NULL ||
		    (k % 2 == 1 && names[k - 1] != NULL &&
		        strcmp(names[k], names[k - 1]) == 0))
			continue;
		m = snprintf(hdr + n, sizeof(hdr) - n, "%s%s=%s",
		    n > 8 ? "; " : "", names[k], k < 2 ? enc : denc);
		if (m < 0 || (size_t)m >= sizeof(hdr) - n)
			goto out;
		n += (size_t)m;
	}
	if (n + 3 > sizeof(hdr))
		goto out;
	memcpy(hdr + n, "\r\n", 3);
	f->fetch = fetch_get(f->xi->pool, is->token_path, hdr, EXCH_MAX_BODY,
	    on_token, f);
out:
	OPENSSL_cleanse(enc, sizeof(enc));
	OPENSSL_cleanse(denc, sizeof(denc));
	OPENSSL_cleanse(hdr, sizeof(hdr));
	return f->fetch != NULL;
}

static struct exch_wait *
wait_flight(struct exch_ctx *x, int issuer, const char *cookie,
    size_t cookie_len, const char *dont_remember, size_t dont_remember_len,
    exch_cb *cb, void *arg)
{
	struct exch_issuer *xi;
	struct exch_wait *w;
	struct flight *f;
	size_t tok_len;

	if (x == NULL || issuer < 0 || (size_t)issuer >= x->n_issuers ||
	    cookie == NULL || cb == NULL)
		return NULL;
	xi = &x->xi[issuer];
	if (xi->is == NULL || xi->pool == NULL || cookie_len == 0 ||
	    cookie_len > EXCH_COOKIE_MAX)
		return NULL;
	/* the token is before the signature's '.' (the gate checked it) */
	for (tok_len = cookie_len; tok_len > 0; tok_len--)
		if (cookie[tok_len - 1] == '.')
			break;
	if (tok_len < 2)
		return NULL;
	tok_len--;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->cb = cb;
	w->arg = arg;

	/* Single-flight: the same session joins the exchange in progress
	 * (a result not yet delivered counts: it is the freshest). */
	for (f = xi->flights; f != NULL; f = f->next)
		if (f->token_len == tok_len &&
		    CRYPTO_memcmp(f->cookie, cookie, tok_len) == 0)
			break;
	if (f != NULL) {
		atomic_fetch_add(&n_joins, 1);
	} else {
		f = calloc(1, sizeof(*f));
		if (f == NULL ||
		    (f->ev = event_new(x->base, -1, 0, deliver_cb, f)) ==
		        NULL) {
			free(f);
			free(w);
			return NULL;
		}
		memcpy(f->cookie, cookie, cookie_len);
		f->cookie_len = cookie_len;
		if (dont_remember != NULL &&
		    dont_remember_len <= EXCH_DONT_REMEMBER_MAX) {
			memcpy(f->dont_remember, dont_remember,
			    dont_remember_len);
			f->dont_remember_len = dont_remember_len;
		}
		f->token_len = tok_len;
		f->xi = xi;
		f->next = xi->flights;
		if (xi->flights != NULL)
			xi->flights->prev = f;
		xi->flights = f;
		xi->n_flights++;
		if (xi->n_flights > EXCH_MAX_FLIGHTS) {
			atomic_fetch_add(&n_overload, 1);
			flight_unavailable(f, -1, "exchange_overload");
		} else if (!flight_start(f)) {
			flight_unavailable(f, OUT_UNAVAILABLE, "internal");
		}
	}
	w->f = f;
	w->next = f->waiters;
	if (f->waiters != NULL)
		f->waiters->prev = w;
	f->waiters = w;
	return w;
}

struct exch_wait *
exch_wait(struct exch_ctx *x, int issuer, const char *cookie, size_t cookie_len,
    exch_cb *cb, void *arg)
{
	return wait_flight(x, issuer, cookie, cookie_len, NULL, 0, cb, arg);
}

struct exch_wait *
exch_wait_gate(struct exch_ctx *x, const struct gate_out *g, exch_cb *cb,
    void *arg)
{
	if (g == NULL || !g->need_exchange)
		return NULL;
	return wait_flight(x, g->issuer, g->session, g->session_len,
	    g->dont_remember, g->dont_remember_len, cb, arg);
}

void
exch_cancel(struct exch_wait *w)
{
	struct flight *f;

	if (w == NULL)
		return;
	f = w->f;
	if (f != NULL) {
		if (w->prev != NULL)
			w->prev->next = w->next;
		else
			f->waiters = w->next;
		if (w->next != NULL)
			w->next->prev = w->prev;
	}
	/* The flight runs on without waiters: its answer still fills the
	 * cache for the next request of that session. */
	free(w);
}

/* ------------------------------------------------------------ context */

struct exch_ctx *
exch_ctx_new(struct event_base *base, struct evdns_base *dns,
    const struct conf *c, struct auth_scache *sc, int worker)
{
	struct exch_ctx *x;
	size_t i;

	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->base = base;
	x->sc = sc;
	x->n_issuers = c->n_issuers;
	for (i = 0; i < c->n_issuers; i++) {
		struct exch_issuer *xi = &x->xi[i];
		const struct conf_issuer *is = &c->issuers[i];

		xi->x = x;
		xi->index = (int)i;
		if (is->token_url == NULL)
			continue;
		xi->is = is;
		xi->pool = up_pool_new(base, dns, &is->token_up);
		if (xi->pool == NULL)
			goto fail;
		if (is->jwks_url != NULL) {
			xi->jwks = jwks_new(base, dns, is, worker, (int)i,
			    jwks_fetched, xi);
			if (xi->jwks == NULL)
				goto fail;
		}
	}
	return x;
fail:
	exch_ctx_free(x);
	return NULL;
}

void
exch_ctx_free(struct exch_ctx *x)
{
	size_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->n_issuers; i++) {
		struct exch_issuer *xi = &x->xi[i];
		struct flight *f, *next;

		/* The next one read first: the analyzers cannot see that
		 * flight_free moves the head on. */
		for (f = xi->flights; f != NULL; f = next) {
			next = f->next;
			flight_free(f);
		}
		jwks_free(xi->jwks);
		up_pool_free(xi->pool);
	}
	free(x);
}

/* ------------------------------------------------------------ metrics */

bool
exch_ready(void)
{
	return jwks_missing() <= 0;
}

void
exch_metrics(const struct conf *c, char *buf, size_t cap, size_t *len)
{
	unsigned long lookups[AUTH_SC_STALE + 1], stale;
	size_t i;
	int n;

#define OUT(...)                                                               \
	do {                                                                   \
		n = snprintf(buf + *len, cap - *len, __VA_ARGS__);             \
		if (n < 0 || (size_t)n >= cap - *len)                          \
			return;                                                \
		*len += (size_t)n;                                             \
	} while (0)

	if (*len >= cap)
		return;
	metrics_session_sums(lookups, &stale);
	OUT("# HELP bearerd_exchanges_total Session exchanges at token_url, "
	    "by outcome.\n# TYPE bearerd_exchanges_total counter\n");
	for (i = 0; i < OUT_MAX; i++)
		OUT("bearerd_exchanges_total{outcome=\"%s\"} %lu\n",
		    outcome_name[i], atomic_load(&n_outcome[i]));
	OUT("# HELP bearerd_exchange_joins_total Requests that joined an "
	    "exchange already in flight for their session (single-flight).\n"
	    "# TYPE bearerd_exchange_joins_total counter\n"
	    "bearerd_exchange_joins_total %lu\n",
	    atomic_load(&n_joins));
	OUT("# HELP bearerd_exchange_overload_total Exchanges refused because "
	    "too many were in flight.\n"
	    "# TYPE bearerd_exchange_overload_total counter\n"
	    "bearerd_exchange_overload_total %lu\n",
	    atomic_load(&n_overload));
	OUT("# HELP bearerd_session_cache_lookups_total Session cache "
	    "lookups, by result.\n"
	    "# TYPE bearerd_session_cache_lookups_total counter\n"
	    "bearerd_session_cache_lookups_total{result=\"hit\"} %lu\n"
	    "bearerd_session_cache_lookups_total{result=\"stale\"} %lu\n"
	    "bearerd_session_cache_lookups_total{result=\"miss\"} %lu\n",
	    lookups[AUTH_SC_HIT], lookups[AUTH_SC_STALE],
	    lookups[AUTH_SC_MISS]);
	OUT("# HELP bearerd_session_stale_served_total Requests served from a "
	    "cached JWT inside its exp while the issuer could not answer.\n"
	    "# TYPE bearerd_session_stale_served_total counter\n"
	    "bearerd_session_stale_served_total %lu\n",
	    atomic_load(&n_stale_served) + stale);
#undef OUT
	jwks_metrics(c, buf, cap, len);
}
