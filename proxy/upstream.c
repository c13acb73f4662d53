/* SPDX-License-Identifier: MIT */
/* bearerd's HTTP/1.1 client toward the upstream: per-worker keep-alive pools,
 * a strict response parser (RFC 9112) and streamed bodies both ways, over
 * our own non-blocking socket and TLS I/O. */

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "evmem.h"
#include "http1.h"
#include "ltimer.h"
#include "sockio.h"
#include "upstream.h"

#define UP_TLS_READ_MAX 65536 /* decrypted per wakeup, whole records */

enum uc_phase {
	UC_CLOSED = 0, /* no socket yet (name lookup), or between attempts */
	UC_CONNECTING, /* non-blocking connect, waiting for EV_WRITE */
	UC_HANDSHAKE,  /* TLS client handshake */
	UC_OPEN        /* connected (and TLS established) */
};

/* See upstream.h. Exactly one of: |req| set (in flight), |idle| (in
 * pool->idle), |tunnel| (taken after a 101). */
struct up_conn {
	struct up_pool *pool;
	int fd;                    /* owned; -1 when none */
	SSL *ssl;                  /* owned; NULL for plain http */
	struct evbuffer *in, *out; /* owned */
	struct event ev_read;      /* EV_READ|EV_PERSIST while |reading| */
	struct event ev_write;     /* EV_WRITE: the connect, or output left */
	struct ltimer timer;       /* the deadline, checked when it fires */
	enum uc_phase phase;
	int connect_err;             /* connect(2)'s own error, or 0 */
	struct up_req *req;          /* the owner, or NULL */
	struct up_tun_callbacks tcb; /* a tunnel's, once set */
	void *targ;
	size_t lowat; /* a tunnel's on_drain mark */
	bool want_read, reading, write_armed;
	bool tls_read_wants_write, tls_write_wants_read;
	bool eof;   /* the peer closed or reset: no more reads */
	bool wfail; /* a write failed: no more writes */
	bool idle, tunnel;
	TAILQ_ENTRY(up_conn) entry; /* in pool->idle while idle */
};
TAILQ_HEAD(up_conn_list, up_conn);

struct up_pool {
	struct event_base *base; /* the worker's, not owned */
	struct evdns_base *dns;  /* not owned, may be NULL */
	char *host;              /* owned */
	int port;
	char port_str[8];
	char *host_line;                      /* owned: "Host: ...\r\n" */
	int connect_ms, response_ms, idle_ms; /* 0: no timeout */
	size_t host_line_len;
	size_t max_idle;
	struct up_conn_list idle; /* most recently used first */
	size_t n_idle;
	atomic_ulong *gauge; /* not owned: metrics' idle gauge, or NULL */
	/* https upstreams (RFC 9110 §4.3.3, RFC 8446/5246 for TLS) */
	SSL_CTX *ssl_ctx;     /* owned; NULL for plain http */
	bool host_is_ip;      /* an address literal: no SNI, IP check */
	SSL_SESSION *session; /* owned: the last resumable one, or NULL */
	atomic_ulong *tls_full, *tls_resumed; /* not owned, may be NULL */
};

enum up_state {
	ST_HEAD = 0,   /* status line and fields, 1xx skipped */
	ST_BODY_LEN,   /* Content-Length body */
	ST_CHUNKED,    /* chunked body, through h1_chunked_step */
	ST_BODY_CLOSE, /* body delimited by the connection close */
	ST_TUNNEL      /* after 101: bytes belong to whoever takes the conn */
};

enum up_step {
	STEP_MORE = 0, /* progress, parse again */
	STEP_NEED,     /* need more input */
	STEP_DONE,     /* the response is complete */
	STEP_ERR,      /* r->step_err says why */
	STEP_GONE      /* the caller cancelled or took the request */
};

struct up_req {
	struct up_pool *pool;
	struct up_conn *conn; /* owned while in flight */
	struct up_callbacks cb;
	void *arg;
	struct event *kick;         /* owned: deferred error or resume */
	struct evbuffer *body;      /* owned: slices handed to on_body */
	struct evbuffer *replay;    /* owned: request head kept for a retry */
	struct up_lookup *lookup;   /* pending name resolution */
	struct evutil_addrinfo *ai; /* owned: resolved addresses */
	struct evutil_addrinfo *ai_next; /* next one to try */
	enum up_body body_mode;
	uint64_t body_len;         /* UP_BODY_LENGTH: announced */
	uint64_t body_sent;        /* UP_BODY_LENGTH: queued so far */
	uint64_t left;             /* CL body bytes still to read */
	struct h1_chunked chunked; /* ST_CHUNKED: the decoder */
	enum up_state state;
	enum up_error pending_err; /* reported from |kick| */
	enum up_error step_err;
	int depth; /* > 0 while inside a caller callback */
	bool idempotent, is_head, reused, retried;
	bool connected, in_connect, got_byte, req_complete;
	bool keep_alive, close_delimited, paused, wm_blocked;
	bool eof, eof_err, write_failed;
	bool gone;     /* cancelled or taken: free on unwind */
	bool finished; /* terminal callback under way */
	struct up_header hdrs[UP_MAX_HEADERS];
};

/* A name lookup in flight. It outlives a cancelled request: evdns reports
 * the cancellation later, from the loop. */
struct up_lookup {
	struct up_req *r; /* NULL once the request is gone */
	struct evdns_getaddrinfo_request *req;
};

static void req_process(struct up_req *);
static void req_fail(struct up_req *, enum up_error);
static void req_on_connected(struct up_req *);
static void req_on_connect_failed(struct up_req *);
static void req_on_read(struct up_req *, enum sockio_rd);
static void req_on_written(struct up_req *);
static void pool_drop(struct up_conn *);

const char *
up_error_str(enum up_error e)
{
	switch (e) {
	case UP_ERR_CONNECT:
		return "upstream connect failed";
	case UP_ERR_TIMEOUT:
		return "upstream timed out";
	case UP_ERR_PROTOCOL:
		return "malformed upstream response";
	case UP_ERR_CLOSED:
		return "upstream connection lost";
	case UP_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown upstream error";
}

/* field-vchar, SP or HTAB (RFC 9110 §5.5): what a configured Host value
 * may hold, since it is written verbatim into every request head. */
static bool
is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* ---- one connection: socket, TLS, buffers, events ---- */

static void conn_read_cb(evutil_socket_t, short, void *);
static void conn_write_cb(evutil_socket_t, short, void *);
static void conn_timer_cb(evutil_socket_t, short, void *);

static struct up_conn *
conn_new(struct up_pool *p)
{
	struct up_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->pool = p;
	c->fd = -1;
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	if (c->in == NULL || c->out == NULL ||
	    event_assign(&c->ev_read, p->base, -1, EV_READ | EV_PERSIST,
	        conn_read_cb, c) == -1 ||
	    event_assign(&c->ev_write, p->base, -1, EV_WRITE, conn_write_cb,
	        c) == -1 ||
	    ltimer_init(&c->timer, p->base, conn_timer_cb, c) == -1) {
		if (c->in != NULL)
			evbuffer_free(c->in);
		if (c->out != NULL)
			evbuffer_free(c->out);
		free(c);
		return NULL;
	}
	return c;
}

/* Reading is on while someone wants it, or the handshake needs it, and
 * the peer has not closed. Registered only on a change (no epoll_ctl per
 * request on a pooled connection). */
static void
conn_update_read(struct up_conn *c)
{
	bool on = !c->eof && c->fd != -1 &&
	    (c->phase == UC_HANDSHAKE || (c->phase == UC_OPEN && c->want_read));

	if (on && !c->reading) {
		if (event_add(&c->ev_read, NULL) == 0)
			c->reading = true;
	} else if (!on && c->reading) {
		event_del(&c->ev_read);
		c->reading = false;
	}
}

static void
conn_want_read(struct up_conn *c, bool on)
{
	c->want_read = on;
	conn_update_read(c);
}

static void
conn_arm_write(struct up_conn *c)
{
	if (!c->write_armed && c->fd != -1) {
		c->write_armed = true;
		event_add(&c->ev_write, NULL);
	}
}

/* Closes the socket and the TLS session, keeps the buffers and the
 * timer: before the next address, and on close. No close_notify: a
 * connection we close is either idle or abandoned. Marked shut down all
 * the same: OpenSSL would otherwise make its session, which the pool
 * keeps for the next connection, unresumable (the TLS 1.0 rule for a
 * connection closed without close_notify, which RFC 5246 §7.2.1 lifted;
 * after a fatal alert OpenSSL still drops the session itself). */
static void
conn_shut(struct up_conn *c)
{
	event_del(&c->ev_read);
	event_del(&c->ev_write);
	c->reading = c->write_armed = false;
	c->tls_read_wants_write = c->tls_write_wants_read = false;
	if (c->ssl != NULL) {
		SSL_set_shutdown(c->ssl,
		    SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	c->phase = UC_CLOSED;
}

static void
conn_destroy(struct up_conn *c)
{
	conn_shut(c);
	ltimer_stop(&c->timer);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	free(c);
}

/* Frees |c|. Our event callbacks call whoever holds |c| last and touch
 * nothing of it afterwards, so this is safe from inside any of them. */
static void
conn_close(struct up_conn *c)
{
	if (c != NULL)
		conn_destroy(c);
}

/*
 * One lazy timer per connection for every deadline (connect, the response
 * head, body progress, idle in the pool): moving it later costs no trip
 * through libevent's timer heap (ltimer.h). |ms| 0: no deadline.
 */
static void
conn_deadline(struct up_conn *c, int ms)
{
	if (ms > 0)
		ltimer_after(&c->timer, ms);
	else
		ltimer_clear(&c->timer);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_conn *c = arg;

	if (!ltimer_due(&c->timer))
		return;
	if (c->idle)
		pool_drop(c);
	else if (c->req != NULL)
		req_fail(c->req, UP_ERR_TIMEOUT);
}

/* A new socket toward |sa| (the previous attempt's closed), connecting
 * without blocking; the outcome is always reported from the loop (write
 * readiness, then SO_ERROR). Also a new TLS session for https with SNI
 * (RFC 6066 §3: a host name, never an address literal), the name or
 * address checked against the certificate (RFC 9110 §4.3.4, RFC 6125),
 * and the pool's last session offered for resumption. Returns -1 when no
 * attempt could be made. */
static int
conn_socket(struct up_conn *c, const struct sockaddr *sa, socklen_t len)
{
	struct up_pool *p = c->pool;
	X509_VERIFY_PARAM *vp;
	SSL *ssl = NULL;
	int fd;

	conn_shut(c);
	c->eof = c->wfail = false;
	c->connect_err = 0;
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	if (p->ssl_ctx != NULL) {
		if ((ssl = SSL_new(p->ssl_ctx)) == NULL)
			return -1;
		vp = SSL_get0_param(ssl);
		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if ((!p->host_is_ip &&
		        SSL_set_tlsext_host_name(ssl, p->host) != 1) ||
		    (p->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, p->host)
		                   : X509_VERIFY_PARAM_set1_host(vp, p->host,
		                         0)) != 1 ||
		    (p->session != NULL &&
		        SSL_set_session(ssl, p->session) != 1)) {
			SSL_free(ssl);
			return -1;
		}
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_TCP);
	if (fd == -1) {
		SSL_free(ssl);
		return -1;
	}
	if (ssl != NULL && SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		close(fd);
		return -1;
	}
	if (ssl != NULL)
		SSL_set_connect_state(ssl);
	c->fd = fd;
	c->ssl = ssl;
	c->phase = UC_CONNECTING;
	if (event_assign(&c->ev_read, p->base, fd, EV_READ | EV_PERSIST,
	        conn_read_cb, c) == -1 ||
	    event_assign(&c->ev_write, p->base, fd, EV_WRITE, conn_write_cb,
	        c) == -1) {
		conn_shut(c);
		return -1;
	}
	if (connect(fd, sa, len) == -1 && errno != EINPROGRESS) {
		/* Refused at once (a local port): reported like the rest. */
		c->connect_err = errno;
		c->write_armed = true;
		event_active(&c->ev_write, EV_WRITE, 1);
		return 0;
	}
	conn_arm_write(c);
	return 0;
}

/* One read from the upstream: one recv, or with TLS the records that
 * arrived (SSL_read until it wants more, up to UP_TLS_READ_MAX but never
 * leaving a decrypted record behind, which would not wake epoll again);
 * bytes read before an error are handed on first. */
static const struct sockio_rlim up_rlim = {
    .chunk = SOCKIO_READ_BYTES,
    .tls_want = UP_TLS_READ_MAX,
    .tls_in_max = SIZE_MAX,
    .tls_err_after_data = true,
};

/* Writes what the socket takes: the bytes written, or -1 on failure. A
 * plain connection writes once (one writev for head and body; a short
 * write means the socket is full). */
static ssize_t
conn_write_some(struct up_conn *c)
{
	return sockio_write(c->fd, c->ssl, c->out, false,
	    &c->tls_write_wants_read);
}

/* Writes from the caller's stack, calling nobody back: what the socket
 * does not take, or a failure, is left to the write event, which then
 * writes or reports from the loop. Returns the bytes written. */
static size_t
conn_push(struct up_conn *c)
{
	ssize_t n;

	if (c->phase != UC_OPEN || c->wfail || c->write_armed ||
	    c->tls_write_wants_read || evbuffer_get_length(c->out) == 0)
		return 0;
	n = conn_write_some(c);
	if (n < 0 || evbuffer_get_length(c->out) > 0)
		conn_arm_write(c);
	return n > 0 ? (size_t)n : 0;
}

/* Writes from the loop and tells the owner. */
static void
conn_flush(struct up_conn *c)
{
	ssize_t n;

	if (c->phase != UC_OPEN || c->wfail || evbuffer_get_length(c->out) == 0)
		return;
	n = conn_write_some(c);
	if (n < 0) {
		c->wfail = true;
		if (c->tunnel) {
			if (c->tcb.on_close != NULL)
				c->tcb.on_close(c->targ);
		} else if (c->req != NULL) {
			/* A response may still be on its way (an early 413
			 * then a close); the read side says how this ends. */
			c->req->write_failed = true;
		} else if (c->idle) {
			pool_drop(c);
		}
		return;
	}
	if (evbuffer_get_length(c->out) > 0 && !c->tls_write_wants_read)
		conn_arm_write(c);
	if (n == 0)
		return;
	if (c->tunnel) {
		if (evbuffer_get_length(c->out) <= c->lowat &&
		    c->tcb.on_drain != NULL)
			c->tcb.on_drain(c->targ);
	} else if (c->req != NULL) {
		req_on_written(c->req);
	}
}

/* The connection is usable: tell the owner. */
static void
conn_opened(struct up_conn *c)
{
	c->phase = UC_OPEN;
	conn_update_read(c);
	if (c->req != NULL)
		req_on_connected(c->req);
}

static void
conn_failed(struct up_conn *c)
{
	conn_shut(c);
	if (c->req != NULL)
		req_on_connect_failed(c->req);
}

static void
conn_handshake(struct up_conn *c)
{
	int rc;

	ERR_clear_error();
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		atomic_ulong *n = SSL_session_reused(c->ssl)
		    ? c->pool->tls_resumed
		    : c->pool->tls_full;

		if (n != NULL)
			atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
		conn_opened(c);
		return;
	}
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return;
	case SSL_ERROR_WANT_WRITE:
		conn_arm_write(c);
		return;
	default:
		/* Refused or unverifiable: as a failed connect. */
		conn_failed(c);
		return;
	}
}

static void
conn_connected(struct up_conn *c)
{
	socklen_t len = sizeof(int);
	int err = c->connect_err, one = 1;

	if (err == 0 &&
	    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		conn_failed(c);
		return;
	}
	/* Heads and small bodies must not wait for Nagle. */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->ssl == NULL) {
		conn_opened(c);
		return;
	}
	c->phase = UC_HANDSHAKE;
	conn_update_read(c);
	conn_handshake(c);
}

/* Reads once and hands the outcome to whoever holds |c|. */
static void
conn_read_dispatch(struct up_conn *c)
{
	enum sockio_rd rd;
	bool wants_write = false;

	if (c->phase != UC_OPEN || !c->reading)
		return;
	rd = sockio_read(c->fd, c->ssl, c->in, &up_rlim, &wants_write);
	if (wants_write) {
		c->tls_read_wants_write = true;
		conn_arm_write(c);
	}
	if (rd == SOCKIO_NONE)
		return;
	if (rd != SOCKIO_DATA) {
		c->eof = true;
		conn_update_read(c);
	}
	if (c->idle) {
		/* An idle connection that speaks or closes is out of sync,
		 * or gone: drop it. */
		pool_drop(c);
	} else if (c->tunnel) {
		if (rd == SOCKIO_DATA && c->tcb.on_read != NULL)
			c->tcb.on_read(c->targ, c->in);
		else if (rd != SOCKIO_DATA && c->tcb.on_close != NULL)
			c->tcb.on_close(c->targ);
	} else if (c->req != NULL) {
		req_on_read(c->req, rd);
	}
}

/* Each callback ends in at most one call to whoever holds |c| (which may
 * free it). A TLS write that waits for a read, or a read that waits for a
 * write, has the other callback run from the loop. */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_conn *c = arg;

	if (c->phase == UC_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	if (c->tls_write_wants_read) {
		c->tls_write_wants_read = false;
		if (!c->write_armed) {
			c->write_armed = true;
			event_active(&c->ev_write, EV_WRITE, 1);
		}
	}
	conn_read_dispatch(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_conn *c = arg;

	c->write_armed = false;
	if (c->phase == UC_CONNECTING) {
		conn_connected(c);
		return;
	}
	if (c->phase == UC_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	if (c->tls_read_wants_write) {
		c->tls_read_wants_write = false;
		event_active(&c->ev_read, EV_READ, 1);
	}
	conn_flush(c);
}

/* ---- the tunnel's side of a connection ---- */

void
up_conn_tunnel(struct up_conn *c, const struct up_tun_callbacks *cb, void *arg,
    size_t lowat)
{
	c->tcb = *cb;
	c->targ = arg;
	c->lowat = lowat;
	conn_want_read(c, true);
	if (evbuffer_get_length(c->out) > 0)
		conn_arm_write(c);
}

struct evbuffer *
up_conn_input(struct up_conn *c)
{
	return c->in;
}

int
up_conn_write(struct up_conn *c, struct evbuffer *data)
{
	if (evbuffer_add_buffer(c->out, data) == -1)
		return -1;
	/* One write per loop pass, after every callback queued its bytes. */
	if (!c->write_armed && !c->wfail && c->phase == UC_OPEN &&
	    !c->tls_write_wants_read) {
		c->write_armed = true;
		event_active(&c->ev_write, EV_WRITE, 1);
	}
	return 0;
}

size_t
up_conn_queued(const struct up_conn *c)
{
	return c != NULL ? evbuffer_get_length(c->out) : 0;
}

void
up_conn_read(struct up_conn *c, bool on)
{
	if (c != NULL)
		conn_want_read(c, on);
}

void
up_conn_free(struct up_conn *c)
{
	conn_close(c);
}

/* ---- the pool ---- */

static void
pool_idle_add(struct up_pool *p, int delta)
{
	p->n_idle = (size_t)((long)p->n_idle + delta);
	if (p->gauge != NULL)
		atomic_fetch_add_explicit(p->gauge, (unsigned long)(long)delta,
		    memory_order_relaxed);
}

static void
pool_drop(struct up_conn *c)
{
	struct up_pool *p = c->pool;

	TAILQ_REMOVE(&p->idle, c, entry);
	c->idle = false;
	pool_idle_add(p, -1);
	conn_close(c);
}

/*
 * Keeps |c| for reuse. The pool follows the concurrency actually used:
 * every connection a finished request returns is kept, up to max_idle (a
 * cap on file descriptors, not a working size), and reuse is most
 * recently used first, so connections beyond what the current load needs
 * sit at the tail untouched until idle_timeout closes them. The number
 * kept is thus the peak of concurrently busy connections over the last
 * idle_timeout, and a burst of N requests is followed by N reuses rather
 * than by closing all but a fixed few and connecting again (which made
 * every request past the 32nd concurrent one pay a connect and a close).
 */
static void
pool_put(struct up_pool *p, struct up_conn *c)
{
	c->req = NULL;
	if (p->max_idle == 0) {
		conn_close(c);
		return;
	}
	if (p->n_idle >= p->max_idle)
		pool_drop(TAILQ_LAST(&p->idle, up_conn_list));
	c->idle = true;
	/* Reading stays on, so a peer close or stray bytes are seen. */
	conn_want_read(c, true);
	conn_deadline(c, p->idle_ms);
	TAILQ_INSERT_HEAD(&p->idle, c, entry);
	pool_idle_add(p, 1);
}

/* The most recently used idle connection, or NULL. */
static struct up_conn *
pool_take(struct up_pool *p)
{
	struct up_conn *c;

	while ((c = TAILQ_FIRST(&p->idle)) != NULL) {
		TAILQ_REMOVE(&p->idle, c, entry);
		c->idle = false;
		pool_idle_add(p, -1);
		if (evbuffer_get_length(c->in) == 0 && !c->eof && !c->wfail &&
		    c->phase == UC_OPEN)
			return c;
		conn_close(c);
	}
	return NULL;
}

/* A session the server gave (TLS 1.2 at the end of the handshake, TLS
 * 1.3 tickets any time after it, RFC 8446 §4.6.1): kept, newest first,
 * whether the connection is later pooled or closed, for the next
 * connection of this pool only, that is to the same host and port. */
static int
pool_new_session(SSL *ssl, SSL_SESSION *s)
{
	struct up_pool *p = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	if (p == NULL || !SSL_SESSION_is_resumable(s))
		return 0;
	SSL_SESSION_free(p->session);
	p->session = s;
	return 1; /* the reference is ours */
}

/* The TLS client context of an https upstream: TLS 1.2 or 1.3 (RFC 8996
 * deprecates older ones), the peer's certificate verified against |u|'s
 * ca_file or the system store, ALPN http/1.1 (RFC 7301), so a server that
 * also speaks h2 answers in HTTP/1.1. */
static int
pool_tls_init(struct up_pool *p, const struct conf_upstream *u)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	struct in6_addr a6;
	struct in_addr a4;
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	p->ssl_ctx = ctx;
	p->host_is_ip = inet_pton(AF_INET, u->host, &a4) == 1 ||
	    inet_pton(AF_INET6, u->host, &a6) == 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* A retried SSL_write may see its bytes moved or grown (they sit
	 * in an evbuffer); a peer closing without close_notify reads as
	 * EOF (see sockio_read). */
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	        SSL_MODE_ENABLE_PARTIAL_WRITE);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	/* Sessions reach the pool through the callback alone; the context
	 * is the pool's own, so no other host's session is ever offered. */
	SSL_CTX_set_session_cache_mode(ctx,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, pool_new_session);
	if (SSL_CTX_set_app_data(ctx, p) != 1 ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0)
		return -1;
	if (u->ca_file != NULL
	        ? SSL_CTX_load_verify_locations(ctx, u->ca_file, NULL) != 1
	        : SSL_CTX_set_default_verify_paths(ctx) != 1)
		return -1;
	return 0;
}
struct up_pool *
up_pool_new(struct event_base *base, struct evdns_base *dns,
    const struct conf_upstream *u)
{
	struct up_pool *p;
	const char *hh;
	char *end;
	long port;
	size_t i;
	int n;

	if (base == NULL || u == NULL || u->host == NULL || u->port == NULL)
		return NULL;
	port = strtol(u->port, &end, 10);
	if (*u->port == '\0' || *end != '\0' || port < 1 || port > 65535)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->base = base;
	p->dns = dns;
	p->port = (int)port;
	snprintf(p->port_str, sizeof(p->port_str), "%d", p->port);
	TAILQ_INIT(&p->idle);
	p->max_idle = u->max_idle > 0 ? (size_t)u->max_idle : 0;
	p->connect_ms = u->connect_timeout_ms > 0 ? u->connect_timeout_ms : 0;
	p->response_ms =
	    u->response_timeout_ms > 0 ? u->response_timeout_ms : 0;
	p->idle_ms = u->idle_timeout_ms > 0 ? u->idle_timeout_ms : 0;
	if ((p->host = strdup(u->host)) == NULL)
		goto fail;
	if (u->tls && pool_tls_init(p, u) == -1)
		goto fail;
	if (u->host_header != NULL) {
		hh = u->host_header;
		/* Written verbatim into every request head. */
		for (i = 0; hh[i] != '\0'; i++)
			if (!is_field_char((unsigned char)hh[i]) ||
			    hh[i] == '\t')
				goto fail;
		n = asprintf(&p->host_line, "Host: %s\r\n", hh);
	} else if (strchr(u->host, ':') != NULL) {
		n = asprintf(&p->host_line, "Host: [%s]:%d\r\n", u->host,
		    p->port);
	} else {
		n = asprintf(&p->host_line, "Host: %s:%d\r\n", u->host,
		    p->port);
	}
	if (n < 0) {
		p->host_line = NULL;
		goto fail;
	}
	p->host_line_len = (size_t)n;
	return p;
fail:
	SSL_CTX_free(p->ssl_ctx);
	free(p->host_line);
	free(p->host);
	free(p);
	return NULL;
}

void
up_pool_free(struct up_pool *p)
{
	struct up_conn *c, *next;

	if (p == NULL)
		return;
	/* The next one read first: the analyzers lose track of
	 * tqe_prev == &tqh_first in TAILQ_REMOVE. */
	for (c = TAILQ_FIRST(&p->idle); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		pool_drop(c);
	}
	SSL_SESSION_free(p->session);
	/* A tunnel may still hold a connection of this context. */
	if (p->ssl_ctx != NULL)
		SSL_CTX_set_app_data(p->ssl_ctx, NULL);
	SSL_CTX_free(p->ssl_ctx);
	free(p->host_line);
	free(p->host);
	free(p);
}

void
up_pool_set_tls_counters(struct up_pool *p, atomic_ulong *full,
    atomic_ulong *resumed)
{
	p->tls_full = full;
	p->tls_resumed = resumed;
}

size_t
up_pool_idle(const struct up_pool *p)
{
	return p != NULL ? p->n_idle : 0;
}

void
up_pool_set_gauge(struct up_pool *p, atomic_ulong *gauge)
{
	if (p->gauge != NULL)
		atomic_fetch_sub_explicit(p->gauge, p->n_idle,
		    memory_order_relaxed);
	p->gauge = gauge;
	if (gauge != NULL)
		atomic_fetch_add_explicit(gauge, p->n_idle,
		    memory_order_relaxed);
}

/* ---- one request ---- */

static void
req_detach_conn(struct up_req *r)
{
	if (r->conn != NULL && r->conn->req == r)
		r->conn->req = NULL;
}

/* Drops the pending lookup and the address list. We resolve ourselves
 * (evdns, cancellable) rather than through a connect-by-name helper, so
 * that a request abandoned during a lookup with a dead name server frees
 * everything at once. */
static void
req_drop_lookup(struct up_req *r)
{
	struct up_lookup *lk = r->lookup;

	if (lk != NULL) {
		r->lookup = NULL;
		lk->r = NULL;
		if (lk->req != NULL)
			evdns_getaddrinfo_cancel(lk->req); /* frees lk later */
	}
	if (r->ai != NULL)
		evutil_freeaddrinfo(r->ai);
	r->ai = r->ai_next = NULL;
}

static void
req_destroy(struct up_req *r)
{
	req_drop_lookup(r);
	req_detach_conn(r);
	conn_close(r->conn);
	/* |kick| lives in |r|'s allocation (up_req_start) */
	if (r->kick != NULL)
		event_del(r->kick);
	if (r->body != NULL)
		evbuffer_free(r->body);
	if (r->replay != NULL)
		evbuffer_free(r->replay);
	evmem_free(r);
}

/* Around every call into the caller. False: |r| must not be used again
 * by the current handler (cancelled, taken or finished). */
static void
req_enter(struct up_req *r)
{
	r->depth++;
}

static bool
req_leave(struct up_req *r)
{
	r->depth--;
	if (r->gone || r->finished) {
		if (r->depth == 0)
			req_destroy(r);
		return false;
	}
	return true;
}

/* No more reads or writes on |r|'s connection. */
static void
req_stop_io(struct up_req *r)
{
	struct up_conn *c = r->conn;

	if (c == NULL)
		return;
	conn_want_read(c, false);
	if (c->write_armed) {
		event_del(&c->ev_write);
		c->write_armed = false;
	}
	c->wfail = true; /* never pooled, never written again */
}

/* Reports an error from the event loop, never from inside an API call. */
static void
req_defer_error(struct up_req *r, enum up_error err)
{
	if (r->pending_err == 0)
		r->pending_err = err;
	req_stop_io(r);
	event_active(r->kick, EV_TIMEOUT, 1);
}

static void
req_fail(struct up_req *r, enum up_error err)
{
	if (r->gone || r->finished)
		return;
	r->finished = true;
	req_drop_lookup(r);
	req_detach_conn(r);
	conn_close(r->conn);
	r->conn = NULL;
	req_enter(r);
	r->cb.on_error(r->arg, err);
	req_leave(r);
}

static void
req_finish(struct up_req *r)
{
	struct up_conn *c = r->conn;
	bool keep;

	/* Pool only when both messages were framed and fully exchanged and
	 * nothing is left over (RFC 9112 §9.3). */
	keep = r->keep_alive && !r->close_delimited && r->req_complete &&
	    !r->write_failed && !r->eof && !c->eof && !c->wfail &&
	    evbuffer_get_length(c->in) == 0 && evbuffer_get_length(c->out) == 0;
	r->finished = true;
	req_detach_conn(r);
	r->conn = NULL;
	if (keep)
		pool_put(r->pool, c);
	else
		conn_close(c);
	req_enter(r);
	r->cb.on_done(r->arg);
	req_leave(r);
}

/* Hands what was read of the body to the caller; false if |r| is gone. */
static bool
req_flush(struct up_req *r)
{
	if (evbuffer_get_length(r->body) == 0)
		return true;
	req_enter(r);
	r->cb.on_body(r->arg, r->body);
	return req_leave(r);
}

/* The response deadline runs while we wait on the upstream's final head:
 * while request bytes are queued or the request is complete. Write
 * progress moves it, so a slow but moving upload is not cut; response
 * bytes do not (interim 1xx responses or a trickled head must not hold
 * the request past response_timeout, RFC 9110 §15.2). */
static void
req_arm_wait(struct up_req *r, bool progress)
{
	struct up_conn *c = r->conn;

	if (r->state != ST_HEAD || !r->connected || c == NULL ||
	    r->pool->response_ms == 0)
		return;
	if (!r->req_complete && evbuffer_get_length(c->out) == 0) {
		conn_deadline(c, 0);
		return;
	}
	if (progress || !c->timer.set)
		conn_deadline(c, r->pool->response_ms);
}

static void
req_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_req *r = arg;

	if (r->pending_err != 0)
		req_fail(r, r->pending_err);
	else
		req_process(r);
}

/* |c| now carries |r|: reading on once connected, no deadline yet. */
static void
req_attach(struct up_req *r, struct up_conn *c)
{
	r->conn = c;
	c->req = r;
	c->idle = false;
	conn_deadline(c, 0);
	conn_want_read(c, true);
}

/* Writes what is queued toward a connected upstream at once, from the
 * caller's stack. Returns true when bytes were written (the wait was
 * re-armed). */
static bool
req_push(struct up_req *r)
{
	if (r->conn == NULL || !r->connected || r->pending_err != 0 ||
	    r->gone || r->finished)
		return false;
	if (conn_push(r->conn) == 0)
		return false;
	req_arm_wait(r, true);
	return true;
}

/* Bytes left from the loop: the wait moves, and a blocked body may go
 * on once the output is at or under the low-water mark, UP_HIGH_WM / 2. */
static void
req_on_written(struct up_req *r)
{
	req_arm_wait(r, true);
	if (!r->wm_blocked || r->finished || r->gone || r->conn == NULL)
		return;
	if (evbuffer_get_length(r->conn->out) > UP_HIGH_WM / 2)
		return;
	r->wm_blocked = false;
	if (r->cb.on_drain == NULL)
		return;
	req_enter(r);
	r->cb.on_drain(r->arg);
	req_leave(r);
}

/* Reports a connect failure; deferred while inside a call that may have
 * come from the caller (up_req_start). */
static void
req_connect_failed(struct up_req *r, enum up_error err)
{
	if (r->in_connect)
		req_defer_error(r, err);
	else
		req_fail(r, err);
}

/* Connects the request's connection to the next resolved address. */
static void
req_try_next(struct up_req *r)
{
	struct evutil_addrinfo *a;
	int rc = -1;

	while (rc == -1 && (a = r->ai_next) != NULL) {
		r->ai_next = a->ai_next;
		rc = conn_socket(r->conn, a->ai_addr, (socklen_t)a->ai_addrlen);
	}
	if (rc == -1)
		req_connect_failed(r, UP_ERR_CONNECT);
}

/* Refused, unreachable, or the TLS handshake failed: the next address,
 * if any. */
static void
req_on_connect_failed(struct up_req *r)
{
	if (r->ai_next != NULL && !r->in_connect) {
		req_try_next(r);
		return;
	}
	req_connect_failed(r, UP_ERR_CONNECT);
}

static void
req_on_connected(struct up_req *r)
{
	r->connected = true;
	if (r->ai != NULL)
		evutil_freeaddrinfo(r->ai);
	r->ai = r->ai_next = NULL;
	conn_deadline(r->conn, 0);
	req_arm_wait(r, true);
	conn_flush(r->conn);
}

static void
req_resolved(struct up_req *r, int err, struct evutil_addrinfo *ai)
{
	if (err != 0 || ai == NULL) {
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		req_connect_failed(r, UP_ERR_CONNECT);
		return;
	}
	r->ai = r->ai_next = ai;
	req_try_next(r);
}

static void
req_lookup_cb(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct up_lookup *lk = arg;
	struct up_req *r = lk->r;

	free(lk);
	if (r == NULL) { /* cancelled */
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		return;
	}
	r->lookup = NULL;
	req_resolved(r, err, ai);
}

/* Opens a fresh connection for |r| and queues |head| (moved) on it. The
 * name is resolved first (evdns when given; numeric hosts resolve at
 * once), then each address is tried in turn. */
static int
req_connect(struct up_req *r, struct evbuffer *head)
{
	struct up_pool *p = r->pool;
	struct evutil_addrinfo hints, *ai = NULL;
	struct evdns_getaddrinfo_request *gai;
	struct up_lookup *lk;
	struct up_conn *c;
	int err;

	if ((c = conn_new(p)) == NULL)
		return -1;
	req_attach(r, c);
	r->reused = false;
	r->connected = false;
	if (evbuffer_add_buffer(c->out, head) == -1)
		return -1;
	if (p->connect_ms > 0)
		conn_deadline(c, p->connect_ms);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* The lookup may report from inside these calls; failures are
	 * deferred while in_connect is set. */
	r->in_connect = true;
	if (p->dns != NULL) {
		if ((lk = calloc(1, sizeof(*lk))) == NULL) {
			r->in_connect = false;
			return -1;
		}
		lk->r = r;
		r->lookup = lk;
		/* When the answer is known at once (numeric host), the
		 * callback has already run and freed |lk|. */
		gai = evdns_getaddrinfo(p->dns, p->host, p->port_str, &hints,
		    req_lookup_cb, lk);
		if (r->lookup == lk && gai == NULL) {
			/* Not started and not reported: count it as failed. */
			r->lookup = NULL;
			free(lk);
			req_connect_failed(r, UP_ERR_CONNECT);
		} else if (r->lookup == lk) {
			lk->req = gai;
		}
	} else {
		err = evutil_getaddrinfo(p->host, p->port_str, &hints, &ai);
		req_resolved(r, err, ai);
	}
	r->in_connect = false;
	return 0;
}

/* A reused connection failed before any response byte: the upstream
 * closed it while idle. An idempotent bodiless request is safe to send
 * again, once (RFC 9110 §9.2.2, RFC 9112 §9.3.1). */
static void
req_retry(struct up_req *r)
{
	struct evbuffer *head = r->replay;

	r->replay = NULL;
	r->retried = true;
	req_detach_conn(r);
	conn_close(r->conn);
	r->conn = NULL;
	r->eof = r->eof_err = r->write_failed = false;
	if (req_connect(r, head) == -1) {
		evbuffer_free(head);
		req_fail(r, UP_ERR_NOMEM);
		return;
	}
	evbuffer_free(head);
}

/* The connection ended (EOF or reset) with the response not complete. */
static void
req_ended(struct up_req *r)
{
	if (r->state == ST_BODY_CLOSE && !r->eof_err) {
		req_finish(r); /* RFC 9112 §6.3 item 8 */
		return;
	}
	if (!r->got_byte) {
		if (r->reused && r->replay != NULL && !r->retried) {
			req_retry(r);
			return;
		}
		req_fail(r, r->reused ? UP_ERR_CLOSED : UP_ERR_CONNECT);
		return;
	}
	req_fail(r, UP_ERR_CLOSED);
}

/* The response head, through the codec (RFC 9112 §4-§6, strictness as
 * written in http1.h). Interim 1xx heads are dropped here. */
static enum up_step
step_head(struct up_req *r, struct evbuffer *in)
{
	struct h1_field fields[UP_MAX_HEADERS];
	struct h1_response res;
	struct h1_limits lim;
	struct h1_error err;
	struct up_conn *c = r->conn;
	char buf[UP_MAX_HEAD_BYTES];
	const char *p;
	size_t n = evbuffer_get_length(in), i;
	bool has_body, done = false;
	int rc;

	if (n == 0)
		return STEP_NEED;
	if (n > UP_MAX_HEAD_BYTES)
		n = UP_MAX_HEAD_BYTES;
	if ((p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n)) == NULL) {
		r->step_err = UP_ERR_NOMEM;
		return STEP_ERR;
	}
	h1_limits_init(&lim);
	lim.max_head = UP_MAX_HEAD_BYTES;
	lim.max_fields = UP_MAX_HEADERS;
	rc = h1_parse_response(p, n, &lim, r->is_head, &res, fields,
	    UP_MAX_HEADERS, &err);
	if (rc == H1_INCOMPLETE)
		return STEP_NEED;
	if (rc < 0) {
		r->step_err = UP_ERR_PROTOCOL;
		return STEP_ERR;
	}
	/* RFC 9110 §15.2: interim responses precede the final one. They
	 * leave the response timer running: only the final head stops it. */
	if (res.status < 200 && res.status != 101) {
		evbuffer_drain(in, (size_t)rc);
		return STEP_MORE;
	}
	/* The head leaves the input before the callback (which may take the
	 * connection on a 101); the views move to our copy. */
	memcpy(buf, p, (size_t)rc);
	for (i = 0; i < res.n_fields; i++) {
		r->hdrs[i].name = buf + (fields[i].name - p);
		r->hdrs[i].name_len = fields[i].name_len;
		r->hdrs[i].value = buf + (fields[i].value - p);
		r->hdrs[i].value_len = fields[i].value_len;
		r->hdrs[i].tok = fields[i].tok;
	}
	evbuffer_drain(in, (size_t)rc);
	r->keep_alive = res.keep_alive;
	switch (res.body) {
	case H1_BODY_NONE:
		has_body = false;
		if (res.status == 101) {
			/* The bytes after this head are the new protocol's. */
			r->state = ST_TUNNEL;
			conn_want_read(c, false);
		} else {
			done = true; /* RFC 9112 §6.3 items 1-2 */
		}
		break;
	case H1_BODY_CHUNKED:
		has_body = true;
		h1_chunked_init(&r->chunked);
		r->state = ST_CHUNKED;
		break;
	case H1_BODY_LENGTH:
		r->left = res.content_length;
		has_body = res.content_length > 0;
		done = res.content_length == 0;
		r->state = ST_BODY_LEN;
		break;
	case H1_BODY_CLOSE:
	default:
		has_body = true; /* RFC 9112 §6.3 item 8 */
		r->close_delimited = true;
		r->state = ST_BODY_CLOSE;
		break;
	}
	/* From the final head on, a timeout between reads (req_on_read
	 * moves it); none once complete or tunnelling. */
	conn_deadline(c, !done && res.status != 101 ? r->pool->response_ms : 0);
	req_enter(r);
	r->cb.on_head(r->arg, res.status, r->hdrs, res.n_fields, has_body,
	    res.has_content_length ? (int64_t)res.content_length : -1,
	    res.chunked);
	if (!req_leave(r))
		return STEP_GONE;
	return done ? STEP_DONE : STEP_MORE;
}

/* A chunked body (RFC 9112 §7.1) through the codec's decoder, one input
 * segment at a time: framing is drained, data moves to |r|->body without
 * a copy where libevent can. */
static enum up_step
step_chunked(struct up_req *r, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	enum h1_chunk_status st;
	size_t consumed, dl;
	const char *d;

	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		st = h1_chunked_step(&r->chunked, v.iov_base, v.iov_len,
		    &consumed, &d, &dl);
		if (st == H1_CHUNK_ERROR) {
			r->step_err = UP_ERR_PROTOCOL;
			return STEP_ERR;
		}
		if (st != H1_CHUNK_DATA) {
			evbuffer_drain(in, consumed);
			if (st == H1_CHUNK_DONE)
				return STEP_DONE;
			continue;
		}
		evbuffer_drain(in, consumed - dl);
		if (evbuffer_remove_buffer(in, r->body, dl) != (int)dl) {
			r->step_err = UP_ERR_NOMEM;
			return STEP_ERR;
		}
	}
	return STEP_NEED;
}

static enum up_step
step_data(struct up_req *r, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in), n;

	if (avail == 0)
		return STEP_NEED;
	n = r->left < avail ? (size_t)r->left : avail;
	if (evbuffer_remove_buffer(in, r->body, n) != (int)n) {
		r->step_err = UP_ERR_NOMEM;
		return STEP_ERR;
	}
	r->left -= n;
	return r->left > 0 ? STEP_NEED : STEP_DONE;
}

static enum up_step
req_step(struct up_req *r, struct evbuffer *in)
{
	switch (r->state) {
	case ST_HEAD:
		return step_head(r, in);
	case ST_BODY_LEN:
		return step_data(r, in);
	case ST_CHUNKED:
		return step_chunked(r, in);
	case ST_BODY_CLOSE:
		r->left = evbuffer_get_length(in);
		if (r->left == 0)
			return STEP_NEED;
		if (evbuffer_add_buffer(r->body, in) == -1) {
			r->step_err = UP_ERR_NOMEM;
			return STEP_ERR;
		}
		return STEP_NEED;
	case ST_TUNNEL:
		return STEP_NEED;
	}
	return STEP_NEED;
}

static void
req_process(struct up_req *r)
{
	struct evbuffer *in;
	enum up_step rc;

	if (r->gone || r->finished || r->conn == NULL)
		return;
	in = r->conn->in;
	if (!r->got_byte && evbuffer_get_length(in) > 0) {
		/* A response has started: no retry from now on. The
		 * response timer keeps running until the final head. */
		r->got_byte = true;
		if (r->replay != NULL) {
			evbuffer_free(r->replay);
			r->replay = NULL;
		}
	}
	for (;;) {
		if (r->paused || r->state == ST_TUNNEL)
			break;
		rc = req_step(r, in);
		if (rc == STEP_GONE)
			return;
		if (rc == STEP_ERR) {
			req_fail(r, r->step_err);
			return;
		}
		if (rc == STEP_DONE) {
			if (req_flush(r))
				req_finish(r);
			return;
		}
		if (rc == STEP_NEED)
			break;
	}
	if (!req_flush(r))
		return;
	if (r->paused || r->state == ST_TUNNEL)
		return;
	if (r->eof)
		req_ended(r);
}

/* A read on |r|'s connection: bytes (body progress moves the deadline),
 * or the end of the connection. */
static void
req_on_read(struct up_req *r, enum sockio_rd rd)
{
	if (rd == SOCKIO_DATA) {
		if (r->state != ST_HEAD && r->state != ST_TUNNEL &&
		    r->pool->response_ms > 0)
			conn_deadline(r->conn, r->pool->response_ms);
		req_process(r);
		return;
	}
	r->eof = true;
	r->eof_err = rd == SOCKIO_ERR;
	if (!r->paused)
		req_process(r);
}

struct up_req *
up_req_start(struct up_pool *p, struct evbuffer *head, enum up_body body,
    uint64_t body_len, bool idempotent, bool is_head_method,
    const struct up_callbacks *cb, void *arg)
{
	struct up_req *r;
	struct evbuffer *h = NULL, *out;
	struct up_conn *c;
	unsigned char *bytes;
	size_t n, evsz;
	int rc = 0;

	if (p == NULL || head == NULL || cb == NULL)
		return NULL;
	/* One allocation for the request and its event. hdrs (3 KiB)
	 * is filled by the parser before any use: not zeroed. */
	evsz = event_get_struct_event_size();
	evsz = (evsz + 15) & ~(size_t)15;
	if ((r = evmem_malloc(sizeof(*r) + evsz)) == NULL)
		return NULL;
	memset(r, 0, offsetof(struct up_req, hdrs));
	r->pool = p;
	r->cb = *cb;
	r->arg = arg;
	r->body_mode = body;
	r->body_len = body_len;
	r->idempotent = idempotent;
	r->is_head = is_head_method;
	r->state = ST_HEAD;
	r->kick = (struct event *)(void *)((char *)r + sizeof(*r));
	if (event_assign(r->kick, p->base, -1, 0, req_kick_cb, r) == -1) {
		evmem_free(r);
		return NULL;
	}
	r->body = evbuffer_new();
	h = evbuffer_new();
	if (r->body == NULL || h == NULL)
		goto fail;

	/* RFC 9112 §3.2 Host, §6.1-§6.2 framing, then the empty line. */
	rc |= evbuffer_add_buffer(h, head);
	rc |= evbuffer_add(h, p->host_line, p->host_line_len);
	switch (body) {
	case UP_BODY_LENGTH:
		rc |= evbuffer_add_printf(h, "Content-Length: %" PRIu64 "\r\n",
		          body_len) < 0
		    ? -1
		    : 0;
		r->req_complete = body_len == 0;
		break;
	case UP_BODY_CHUNKED:
		rc |= evbuffer_add(h, "Transfer-Encoding: chunked\r\n", 28);
		break;
	case UP_BODY_NONE:
	default:
		r->body_mode = UP_BODY_NONE;
		r->req_complete = true;
		break;
	}
	rc |= evbuffer_add(h, "\r\n", 2);
	if (rc != 0)
		goto fail;

	if ((c = pool_take(p)) != NULL) {
		req_attach(r, c);
		r->reused = true;
		r->connected = true;
		out = c->out;
		if (idempotent && r->body_mode == UP_BODY_NONE) {
			/* Keep a copy: the connection may turn out stale. */
			n = evbuffer_get_length(h);
			if ((bytes = evbuffer_pullup(h, -1)) == NULL ||
			    evbuffer_add(out, bytes, n) == -1)
				goto fail;
			r->replay = h;
			h = NULL;
		} else if (evbuffer_add_buffer(out, h) == -1) {
			goto fail;
		}
		if (!req_push(r))
			req_arm_wait(r, true);
	} else if (req_connect(r, h) == -1) {
		goto fail;
	}
	if (h != NULL)
		evbuffer_free(h);
	return r;
fail:
	if (h != NULL)
		evbuffer_free(h);
	req_destroy(r);
	return NULL;
}

bool
up_req_body(struct up_req *r, struct evbuffer *data)
{
	struct evbuffer *out;
	size_t n = evbuffer_get_length(data);
	int rc = 0;

	if (r == NULL || r->gone || r->finished || r->pending_err != 0 ||
	    r->conn == NULL) {
		evbuffer_drain(data, n);
		return false;
	}
	out = r->conn->out;
	switch (r->body_mode) {
	case UP_BODY_LENGTH:
		/* More than announced would be read as the next response's
		 * request by the upstream: a caller bug, fail closed. */
		if (n > r->body_len - r->body_sent) {
			evbuffer_drain(data, n);
			req_defer_error(r, UP_ERR_PROTOCOL);
			return false;
		}
		rc = evbuffer_add_buffer(out, data);
		r->body_sent += n;
		if (r->body_sent == r->body_len)
			r->req_complete = true;
		break;
	case UP_BODY_CHUNKED:
		if (r->req_complete) {
			evbuffer_drain(data, n);
			req_defer_error(r, UP_ERR_PROTOCOL);
			return false;
		}
		if (n == 0)
			break; /* a zero-size chunk would end the body */
		rc |= evbuffer_add_printf(out, "%zx\r\n", n) < 0 ? -1 : 0;
		rc |= evbuffer_add_buffer(out, data);
		rc |= evbuffer_add(out, "\r\n", 2);
		break;
	case UP_BODY_NONE:
	default:
		evbuffer_drain(data, n);
		req_defer_error(r, UP_ERR_PROTOCOL);
		return false;
	}
	if (rc != 0) {
		evbuffer_drain(data, evbuffer_get_length(data));
		req_defer_error(r, UP_ERR_NOMEM);
		return false;
	}
	req_push(r);
	req_arm_wait(r, false);
	if (evbuffer_get_length(out) > UP_HIGH_WM) {
		r->wm_blocked = true;
		return true;
	}
	return false;
}

void
up_req_body_end(struct up_req *r)
{
	if (r == NULL || r->gone || r->finished || r->pending_err != 0 ||
	    r->conn == NULL)
		return;
	switch (r->body_mode) {
	case UP_BODY_LENGTH:
		if (r->body_sent != r->body_len)
			req_defer_error(r, UP_ERR_PROTOCOL);
		break;
	case UP_BODY_CHUNKED:
		if (r->req_complete)
			break;
		/* last-chunk and an empty trailer section, RFC 9112 §7.1 */
		if (evbuffer_add(r->conn->out, "0\r\n\r\n", 5) == -1) {
			req_defer_error(r, UP_ERR_NOMEM);
			return;
		}
		r->req_complete = true;
		break;
	case UP_BODY_NONE:
	default:
		break;
	}
	req_push(r);
	req_arm_wait(r, false);
}

void
up_req_pause_read(struct up_req *r)
{
	if (r == NULL || r->gone || r->finished || r->paused)
		return;
	r->paused = true;
	if (r->conn == NULL || r->state == ST_TUNNEL)
		return;
	conn_want_read(r->conn, false);
	/* No body progress is expected while we hold it back. */
	if (r->state != ST_HEAD)
		conn_deadline(r->conn, 0);
}

void
up_req_resume_read(struct up_req *r)
{
	if (r == NULL || r->gone || r->finished || !r->paused)
		return;
	r->paused = false;
	if (r->conn == NULL || r->state == ST_TUNNEL)
		return;
	if (r->pending_err == 0) {
		conn_want_read(r->conn, true);
		if (r->state != ST_HEAD && r->pool->response_ms > 0)
			conn_deadline(r->conn, r->pool->response_ms);
	}
	/* Bytes already read, or an EOF seen, are handled from the loop. */
	event_active(r->kick, EV_TIMEOUT, 1);
}

void
up_req_cancel(struct up_req *r)
{
	/* Inside on_done/on_error the request is going away anyway. */
	if (r == NULL || r->gone || r->finished)
		return;
	r->gone = true;
	if (r->depth == 0)
		req_destroy(r);
	else
		req_stop_io(r);
}

struct up_conn *
up_req_take_conn(struct up_req *r)
{
	struct up_conn *c;

	if (r == NULL || r->gone || r->finished || r->state != ST_TUNNEL ||
	    r->conn == NULL || r->pending_err != 0)
		return NULL;
	c = r->conn;
	req_detach_conn(r);
	r->conn = NULL;
	conn_want_read(c, false);
	conn_deadline(c, 0);
	c->tunnel = true;
	r->gone = true;
	if (r->depth == 0)
		req_destroy(r);
	return c;
}

size_t
up_req_queued(const struct up_req *r)
{
	if (r == NULL || r->conn == NULL)
		return 0;
	return evbuffer_get_length(r->conn->out);
}
