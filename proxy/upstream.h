/* SPDX-License-Identifier: MIT */
/* Our HTTP/1.1 client for the upstream side: per-worker keep-alive pools,
 * streamed requests and responses with backpressure both ways. */
#ifndef PROXY_UPSTREAM_H
#define PROXY_UPSTREAM_H

#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "conf.h"

#define UP_MAX_HEAD_BYTES 16384 /* a response head */
#define UP_MAX_HEADERS 100      /* response fields */
#define UP_HIGH_WM (256 * 1024) /* queued request body before pausing */

/* One upstream's pool of idle connections, owned by one worker and used
 * only on that worker's event base. */
struct up_pool;

/* Creates a pool for |u| on |base|. |dns| resolves host names (may be NULL
 * for numeric hosts; a name is then resolved by a blocking getaddrinfo).
 * Every resolved address is tried in turn. The pool copies what it needs
 * from |u|. Returns NULL on a bad port or host_header, or out of memory. */
struct up_pool *up_pool_new(struct event_base *base, struct evdns_base *dns,
    const struct conf_upstream *u);

/* Closes every idle connection and frees the pool. Requests still in
 * flight must have been cancelled first. */
void up_pool_free(struct up_pool *p);

/* Idle connections now in the pool (for tests and metrics). */
size_t up_pool_idle(const struct up_pool *p);

/* From now on, add every change of the pool's idle count to |*gauge|
 * (a metrics counter other threads read; relaxed atomics, two's
 * complement). The pool takes its current count out of it when freed. */
void up_pool_set_gauge(struct up_pool *p, atomic_ulong *gauge);

/* From now on, count every completed TLS handshake of an https pool in
 * |*full| or, when it resumed a session, in |*resumed| (relaxed atomics;
 * either may be NULL). */
void up_pool_set_tls_counters(struct up_pool *p, atomic_ulong *full,
    atomic_ulong *resumed);

enum up_body {
	UP_BODY_NONE = 0, /* no request body */
	UP_BODY_LENGTH,   /* Content-Length: body_len */
	UP_BODY_CHUNKED   /* re-chunked by us as slices arrive */
};

enum up_error {
	UP_ERR_CONNECT = 1, /* refused, unreachable, resolve failed: 502 */
	UP_ERR_TIMEOUT, /* connect, or the final response head, too slow: 504 */
	UP_ERR_PROTOCOL, /* malformed response: 502 */
	UP_ERR_CLOSED,   /* connection lost mid-response: 502 or abort */
	UP_ERR_NOMEM     /* 503 */
};

const char *up_error_str(enum up_error e);

/* One response header, views into the client's buffer, valid only during
 * the on_head callback. */
struct up_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	uint16_t tok; /* enum h1_token of the name (http1.h), 0 if none */
};

struct up_req;

/*
 * What the caller learns, in order: on_head once (1xx other than 101 are
 * skipped; 101 is delivered and then the request is a tunnel, see
 * up_req_take_conn), on_body for each slice (the callee must drain |data|),
 * then exactly one of on_done or on_error. on_error may come before
 * on_head (nothing was received: answer 502/504) or after it (the response
 * was cut: abort the client connection). After on_done or on_error the
 * up_req is gone; the caller must not touch it again. on_drain is called
 * when the queued request body falls under UP_HIGH_WM / 2 after
 * up_req_body returned true.
 * has_body is false when no body bytes follow (HEAD, 204, 304, 101,
 * Content-Length: 0); content_length and chunked still report what the
 * upstream sent, so a HEAD/304 answer can copy the length. A response that
 * ends before the request body was fully sent still ends with on_done (the
 * connection is then closed, never pooled). The process must ignore
 * SIGPIPE: a write to an upstream that closed is reported, not fatal.
 */
struct up_callbacks {
	void (*on_head)(void *arg, int status, const struct up_header *h,
	    size_t n_h, bool has_body, int64_t content_length /* -1 if none */,
	    bool chunked);
	void (*on_body)(void *arg, struct evbuffer *data);
	void (*on_done)(void *arg);
	void (*on_error)(void *arg, enum up_error err);
	void (*on_drain)(void *arg);
};

/*
 * Starts a request on a pooled or new connection. |head| holds the request
 * line and every header to send, each ending in CRLF, WITHOUT framing
 * headers (Content-Length, Transfer-Encoding), Host or the final empty
 * line: the client adds "Host: <host_header>", the framing for |body| and
 * the empty line. The data is moved out of |head|. |idempotent| allows one
 * retry on a fresh connection when a reused one fails before any response
 * byte. |is_head_method| tells the response parser that no body follows.
 * Returns NULL only on allocation failure (callbacks are never called
 * synchronously from inside this function).
 */
struct up_req *up_req_start(struct up_pool *p, struct evbuffer *head,
    enum up_body body, uint64_t body_len, bool idempotent, bool is_head_method,
    const struct up_callbacks *cb, void *arg);

/* Queues a slice of request body (moved out of |data|). Returns true when
 * the queued output is over UP_HIGH_WM: the caller should stop reading the
 * client until on_drain. */
bool up_req_body(struct up_req *r, struct evbuffer *data);

/* The request body is complete (writes the last chunk when chunked). */
void up_req_body_end(struct up_req *r);

/* Response backpressure: stop or resume reading the upstream. */
void up_req_pause_read(struct up_req *r);
void up_req_resume_read(struct up_req *r);

/* Abandons the request (client gone): closes the connection, never pools
 * it, and calls no callback afterwards. */
void up_req_cancel(struct up_req *r);

/*
 * An upstream connection: its socket, its TLS session (https upstreams)
 * and its input and output buffers, read with one recv or SSL_read per
 * wakeup and written with one writev or SSL_write, no bufferevent. It is
 * idle in its pool, owned by one up_req, or, after a 101, handed over as
 * the upstream side of a tunnel through the functions below.
 */
struct up_conn;

/* A tunnel's callbacks, all from the event loop. on_read: bytes arrived
 * in |in| (the callee drains what it takes). on_drain: the output fell to
 * the low-water mark after a write. on_close: the upstream closed or
 * failed (read or write); no on_read follows, bytes may be left in the
 * input. Each may free the connection (up_conn_free). */
struct up_tun_callbacks {
	void (*on_read)(void *arg, struct evbuffer *in);
	void (*on_drain)(void *arg);
	void (*on_close)(void *arg);
};

/* After on_head with status 101: takes the connection (with any bytes
 * already read still in its input) for tunnelling. The up_req is freed;
 * the caller owns the connection. May be called from inside on_head.
 * The connection comes back with no callbacks, no timeouts and reading
 * off: call up_conn_tunnel before returning to the loop and consume what
 * is already in up_conn_input (no on_read fires for it). Returns NULL if
 * the request is not at a 101. */
struct up_conn *up_req_take_conn(struct up_req *r);

/* Sets a taken connection's callbacks (copied) and |lowat| for on_drain,
 * and turns reading on. */
void up_conn_tunnel(struct up_conn *c, const struct up_tun_callbacks *cb,
    void *arg, size_t lowat);

/* The connection's input buffer (owned by the connection). */
struct evbuffer *up_conn_input(struct up_conn *c);

/* Queues |data| (moved out of it) toward the upstream; it is written from
 * the loop. Returns -1 out of memory, else 0. */
int up_conn_write(struct up_conn *c, struct evbuffer *data);

/* Bytes queued toward the upstream, not yet written. */
size_t up_conn_queued(const struct up_conn *c);

/* Turns reading the upstream on or off (backpressure). */
void up_conn_read(struct up_conn *c, bool on);

/* Closes the socket and frees the connection; safe from inside its own
 * callbacks. NULL is ignored. */
void up_conn_free(struct up_conn *c);

/* Request bytes queued toward the upstream, not yet written (tests,
 * metrics). */
size_t up_req_queued(const struct up_req *r);

#endif /* PROXY_UPSTREAM_H */
