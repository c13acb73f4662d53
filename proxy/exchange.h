/* SPDX-License-Identifier: MIT */
/* The Better Auth session exchange, per worker: GET token_url with the
 * session cookie, verify the JWT it returns, cache it, wake every request
 * that waited for it (single-flight). */
#ifndef PROXY_EXCHANGE_H
#define PROXY_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "auth.h"
#include "conf.h"
#include "gate.h"

#define EXCH_MAX_BODY 65536   /* a token endpoint's answer */
#define EXCH_MAX_FLIGHTS 1024 /* sessions exchanging at once, per worker */
#define EXCH_RETRY_S 5        /* Retry-After, and the stale-serving window */
/* An unknown kid waits this long at most for the next JWKS fetch that
 * jwks_min_refresh allows. */
#define EXCH_KEY_WAIT_S 3

/* What a waiting request does next. */
struct exch_result {
	/* 0: the session cache now answers (ask the gate again); else the
	 * status to reply with: 401 (the issuer refused the session) or 503
	 * (the issuer could not answer, or answered nonsense). */
	int status;
	const char *code; /* problem code with a status */
	/* Header lines for the response, each ending in CRLF: the issuer's
	 * Set-Cookie (re-issued or deleted session cookies) and Retry-After
	 * with a 503. Valid during the callback only. */
	const char *extra;
	size_t extra_len;
};

typedef void exch_cb(void *arg, const struct exch_result *res);

struct exch_ctx;
struct exch_wait;

/*
 * The exchange state of one worker for one configuration: an HTTP pool per
 * session issuer's token_url, its JWKS (jwks_url) and the flights in
 * progress. Answers go into |sc| (not owned; must outlive the context).
 * |worker| is the worker's index (metrics). NULL on failure.
 */
struct exch_ctx *exch_ctx_new(struct event_base *base, struct evdns_base *dns,
    const struct conf *c, struct auth_scache *sc, int worker);

/* Cancels every flight (their waiters are not called) and frees. */
void exch_ctx_free(struct exch_ctx *x);

/*
 * Waits for the exchange of session cookie value |cookie| (decoded, its
 * HMAC checked: gate_out.session) of issuer |issuer|: joins the flight of
 * the same session if one runs, else starts one. |cb| is called exactly
 * once, never from inside this function, unless exch_cancel comes first.
 * Returns NULL when out of memory (no callback will come).
 */
struct exch_wait *exch_wait(struct exch_ctx *x, int issuer, const char *cookie,
    size_t cookie_len, exch_cb *cb, void *arg);

/* As exch_wait for the gate's verdict |g| (need_exchange): its issuer,
 * session cookie and, when the request had one, Better Auth's
 * dont_remember cookie, which goes along so that Better Auth does not
 * slide a session the user chose not to keep into a persistent cookie. */
struct exch_wait *exch_wait_gate(struct exch_ctx *x, const struct gate_out *g,
    exch_cb *cb, void *arg);

/* The waiting request went away: |w|'s callback will not be called. */
void exch_cancel(struct exch_wait *w);

/* Whether every worker has the keys of every jwks_url (readiness). */
bool exch_ready(void);

/* Appends the exchange and JWKS metrics in the Prometheus text format
 * (# HELP, # TYPE) to |buf| at |*len| within |cap|; stops at a line that
 * does not fit. */
void exch_metrics(const struct conf *c, char *buf, size_t cap, size_t *len);

#endif /* PROXY_EXCHANGE_H */
