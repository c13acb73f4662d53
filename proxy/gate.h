/* SPDX-License-Identifier: MIT */
/* The gate: one parsed request head in, one verdict and the exact upstream
 * head out. Pure: no libevent, no I/O, no clock (callers pass |now|), no
 * logging. Every piece of request policy lives here. */
#ifndef PROXY_GATE_H
#define PROXY_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "auth.h"
#include "conf.h"

struct h1_request;

#define GATE_REQUEST_ID_MAX 128 /* bytes of an X-Request-Id we keep */
#define GATE_PEER_MAX 64        /* a printable peer address */
/* A session cookie's value handed to the exchange: the token, '.', and
 * the 44-character signature. */
#define GATE_SESSION_MAX (AUTH_SCACHE_TOKEN_MAX + 45)
/* Better Auth's dont_remember value: "true", '.', the signature. */
#define GATE_DONT_REMEMBER_MAX 128

/* What the caller knows about one request. Nothing here is owned by the
 * gate; every pointer must stay valid during gate_decide. */
struct gate_in {
	/* The parsed head: views into the client's buffer. */
	const struct h1_request *req;
	/* The peer's printable address without port ("192.0.2.1",
	 * "2001:db8::1"), NUL-terminated: it goes into X-Forwarded-For. */
	const char *peer;
	/* The peer is a trusted forwarder: gate_peer_trusted() said so.
	 * Only then are X-Forwarded-Proto/-Host/-For, Forwarded, X-Real-IP
	 * and the other client-address headers, and X-Request-Id, taken
	 * from the request. */
	bool peer_trusted;
	/* The request arrived on a TLS listener (X-Forwarded-Proto: https
	 * unless a trusted peer says otherwise). */
	bool tls;
	/* An id the caller generated for this request (token characters,
	 * 1..GATE_REQUEST_ID_MAX bytes). Used unless a trusted peer sent a
	 * valid X-Request-Id; see gate_out.request_id for the one chosen. */
	const char *request_id;
	size_t request_id_len;
};

/* Per-worker state the gate reads and updates; never shared by threads. */
struct gate_ctx {
	struct auth_tcache *tcache; /* verified tokens; may be NULL */
	/* Session cache of the Better Auth exchange; may be NULL when no
	 * issuer has credential = session (such a route then answers 503). */
	struct auth_scache *scache;
	/* The client connection's last token-cache key (auth.h); may be
	 * NULL. */
	struct auth_tcache_memo *memo;
	/* The connection's last session cookie whose signature verified
	 * under this configuration (the caller empties it when the
	 * configuration changes: the secret may have); may be NULL. */
	struct auth_tcache_memo *smemo;
	/* For this request only: the issuer just answered 401 to its
	 * session cookie, which counts as expired now (no new exchange). */
	bool session_refused;
	/* Out, for metrics: the token-cache lookups this decision made that
	 * found a verified token, and those that did not (the caller zeroes
	 * them). */
	unsigned tcache_hits, tcache_misses;
};

/* The verdict. All strings are static or inside this struct. */
struct gate_out {
	int status;        /* 0: forward; else the local reply's status */
	const char *code;  /* stable problem code ("expired", "csrf", ...) */
	const char *title; /* reason phrase of |status|, from h1_reason() */
	/* WWW-Authenticate value for a 401 (RFC 6750 §3), else NULL. This is
	 * the one place that chooses it. */
	const char *www_auth;
	int route;        /* matched route index into conf.routes, or -1 */
	int upstream;     /* conf.upstreams index, when forwarding; else -1 */
	bool auth_needed; /* the route looked for an identity (metrics) */
	enum auth_status auth; /* the auth outcome (AUTH_OK for auth = none) */
	bool websocket; /* forward as a WebSocket upgrade (RFC 6455 §4.1) */
	/* The credential is a session whose JWT is not cached: the caller
	 * runs the exchange for |issuer|, then calls gate_decide again. */
	bool need_exchange;
	int issuer; /* conf.issuers index, with need_exchange; else -1 */
	/* With need_exchange: the session cookie's value as the client sent
	 * it (percent-decoded, its HMAC checked, NUL-terminated), and the
	 * length of its token part (the cache key; before the last '.'). */
	char session[GATE_SESSION_MAX + 1];
	size_t session_len;
	size_t session_token_len;
	/* With need_exchange: Better Auth's dont_remember cookie as sent
	 * (decoded; its signature is Better Auth's to check), "" when
	 * absent. The exchange passes it on so that a session the user chose
	 * not to keep is not slid into a persistent one. */
	char dont_remember[GATE_DONT_REMEMBER_MAX + 1];
	size_t dont_remember_len;
	/* For metrics: the session cache's answer (enum auth_scache_state)
	 * when a session credential was looked up, else -1; and whether a
	 * stale entry was served because the issuer had just failed. */
	int session_lookup;
	bool session_stale;
	bool has_sub;                   /* |sub| holds a verified subject */
	char sub[AUTH_MAX_SUB_LEN + 1]; /* for logs; "" without identity */
	/* The X-Request-Id sent upstream (for the access log). */
	char request_id[GATE_REQUEST_ID_MAX + 1];
	/* The canonical path, for logs ("-" when the path was refused). */
	char path[AUTH_MAX_PATH_LEN + 1];
	/* Bytes of the upstream head written into the caller's buffer (0
	 * for a local reply). */
	size_t head_len;
};

/*
 * Decides what to do with |in|->req under |c| at |now| (Unix seconds):
 * canonical path, route, credential (through |ctx|'s caches), binding
 * rules, CSRF guard, then the upstream head.
 *
 * Returns 0 with |out|->status == 0 when the request goes upstream
 * (|out|->upstream): |buf| then holds |out|->head_len bytes, exactly what
 * up_req_start() takes: the request line and every header, each ending in
 * CRLF, without Content-Length, Transfer-Encoding, Host or the final empty
 * line. Returns 0 with |out|->need_exchange set when the exchange must run
 * first (a session credential with a valid signature and no usable cache
 * entry: a miss, or one due for refresh or recheck that has not just
 * failed); |out|->session holds what to exchange, and |buf| nothing. A
 * stale entry whose refresh failed moments ago (issuer down) is used
 * until its retry_at, so cached sessions keep working until exp. Otherwise
 * returns -1 with |out|->status, code and title set for a local reply
 * (gate_reply); |buf| is then unspecified. Every write into |buf| is checked: a
 * head that does not fit |cap| is a 431, never a truncated head.
 * gate_head_cap() says how much to offer.
 */
int gate_decide(const struct gate_in *in, const struct conf *c,
    struct gate_ctx *ctx, int64_t now, struct gate_out *out, char *buf,
    size_t cap);

/* A |cap| for gate_decide under |c| that no head within the configured
 * limits exceeds (request line, headers, the Bearer token, claim headers,
 * forwarding headers). */
size_t gate_head_cap(const struct conf *c);

/*
 * Renders the local reply for |out| into |buf|: the status line (HTTP/1.1),
 * Content-Type: application/problem+json, Content-Length, Cache-Control:
 * no-store, WWW-Authenticate when |out| has one, "Connection: close" when
 * |close| (else "Connection: keep-alive" to an HTTP/1.0 client, |minor| 0),
 * the empty line and, unless |no_body| (a HEAD request, RFC 9110 §9.3.2),
 * the small problem+json body (RFC 9457) whose Content-Length is announced
 * either way. Returns the bytes written, or -1 when |cap| is too small
 * (nothing usable in |buf|). 1024 bytes always suffice.
 */
ssize_t gate_reply(const struct gate_out *out, int minor, bool close,
    bool no_body, char *buf, size_t cap);

/* Whether |sa| (AF_INET or AF_INET6; a v4-mapped v6 address counts as
 * its v4 address) lies in one of |c|'s trust_forwarded networks. */
bool gate_peer_trusted(const struct conf *c, const struct sockaddr *sa);

#endif /* PROXY_GATE_H */
