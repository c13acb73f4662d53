/* SPDX-License-Identifier: MIT */
/* The daemon's shared types: process, generations, workers, client
 * connections and requests, and the prototypes the proxy files share. */
#ifndef PROXY_PROXY_H
#define PROXY_PROXY_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include <sys/socket.h>

#include "auth.h"
#include "conf.h"
#include "gate.h"
#include "http1.h"
#include "ltimer.h"
#include "metrics.h"
#include "upstream.h"

#define PROXY_CLIENT_HIGH_WM (256 * 1024) /* queued response bytes */
#define PROXY_IN_HIGH_WM (64 * 1024)      /* buffered input while not parsing */
#define PROXY_MAX_LISTEN 16               /* addresses of one listen option */
#define PROXY_PEER_MAX 64                 /* a printable peer address */
#define PROXY_METHOD_MAX 8

/*
 * One loaded configuration and what is built from it once for the whole
 * process (the TLS context). Immutable; shared read-only by every thread.
 * main holds one reference on the current generation; each worker
 * generation holds one on its own. Freed at the last unref.
 */
struct proxy_gen {
	struct conf *conf; /* owned */
	SSL_CTX *tls;      /* owned; NULL without a tls section */
	atomic_int refs;
	unsigned id;
	/* metrics ids (metrics.h) of the conf's route patterns and upstream
	 * names, taken on the main thread when the generation is made */
	unsigned metric_route[CONF_MAX_ROUTES];
	unsigned metric_up[CONF_MAX_UPSTREAMS];
};

struct server;
struct admin;
struct exch_ctx;
struct gate_out;

/* The process. One instance, in main.c. */
struct proxy {
	struct event_base *base; /* main thread: signals, drain, admin */
	bool verbose;
	const char *conf_path;

	pthread_mutex_t gen_lock; /* guards |gen| swaps and ref taking */
	struct proxy_gen *gen;    /* current; one ref held */
	atomic_uint gen_id;       /* == gen->id; read lock-free by workers */

	atomic_bool draining;   /* SIGTERM seen: finish, refuse new work */
	atomic_bool ready;      /* config and keys loaded, not draining */
	struct event *drain_ev; /* owned: drain poll timer */
	bool drain_started;     /* drain_delay over: not accepting */
	struct timeval drain_deadline;

	uint32_t start;      /* start time, Unix seconds: request ids */
	struct server *srv;  /* owned: listeners and workers (conn.c) */
	struct admin *admin; /* owned: the admin listener (admin.c) */
};

extern struct proxy *proxy_g; /* the process; set once in main */

/*
 * What a worker builds from one generation: upstream pools and the
 * verified-token cache. Used only by its worker (no atomics); held by the
 * worker's current pointer and by each request that started under it.
 */
struct wgen {
	struct proxy_gen *gen;                     /* one ref */
	struct up_pool *pools[CONF_MAX_UPSTREAMS]; /* owned */
	struct auth_tcache *tcache;                /* owned */
	/* The Better Auth exchange, when an issuer has credential = session
	 * (else both NULL): the session cache and the exchange context. */
	struct auth_scache *scache; /* owned */
	struct exch_ctx *exch;      /* owned */
	int refs;
};

struct conn;
struct request;

/* One event-loop thread: its base, DNS, generation and connections. */
struct worker {
	int index;
	pthread_t thread;
	struct event_base *base;                      /* owned */
	struct evdns_base *dns;                       /* owned */
	struct wgen *wg;                              /* current; one ref */
	struct evconnlistener *lev[PROXY_MAX_LISTEN]; /* owned */
	size_t n_lev;
	int ctl_fd;            /* eventfd: main -> worker commands */
	struct event *ctl_ev;  /* owned */
	atomic_uint ctl;       /* WORKER_CTL_* bits pending */
	struct conn *conns;    /* live connections */
	struct conn *reap;     /* closed connections to free */
	struct event *reap_ev; /* owned */
	struct evbuffer *tmp;  /* owned: moves body slices */
	char *head_buf;        /* owned: gate output, |head_cap| bytes */
	size_t head_cap;
	void *fields; /* owned: struct h1_field[PROXY fields cap] */
	size_t fields_cap;
	uint64_t seq;             /* requests started: request ids */
	atomic_int inflight;      /* its requests alive (server_inflight) */
	struct metrics_shard *ms; /* this worker's counters (metrics.c) */
};

/*
 * Where a client connection is. The request's own progress is in
 * enum req_state (request.c); this is what the socket is doing.
 */
enum conn_state {
	CONN_HANDSHAKE = 0, /* TLS handshake (head deadline) */
	CONN_IDLE,          /* between requests, no byte (idle deadline) */
	CONN_HEAD,          /* part of a head (head deadline) */
	CONN_BODY,          /* reading the request body (body deadline) */
	CONN_WAIT,          /* request read; response not complete (no deadline
	                       but write progress while output is pending) */
	CONN_WRITE,         /* response complete, flushing (write progress) */
	CONN_TUNNEL,        /* WebSocket splice after 101 */
	CONN_CLOSING,       /* last bytes out, then lingering close */
	CONN_DEAD           /* freed at the next loop pass */
};

/* What the connection's one timer means now. */
enum conn_deadline {
	DL_NONE = 0,
	DL_HEAD,   /* timeouts.head: the head (or handshake) must arrive */
	DL_BODY,   /* timeouts.body: between request body reads */
	DL_IDLE,   /* timeouts.idle: keep-alive without a request */
	DL_WRITE,  /* timeouts.idle without any byte taken by the client */
	DL_LINGER, /* lingering close */
	DL_PROBE   /* half-closed client: has it reset? (no deadline) */
};

struct listener {
	int fd[PROXY_MAX_LISTEN];
	size_t n_fd;
	bool tls;
};

/* One client connection, owned by its worker's list; freed only by the
 * worker's reaper (conn_free_later), never from under a callback. */
struct conn {
	struct worker *w;
	struct conn *next, *prev; /* the worker's list, or its reap list */
	int fd;
	SSL *ssl; /* owned; TLS listener only */
	enum conn_state state;
	enum conn_deadline dl;
	struct event ev_read;  /* persistent EV_READ while reading */
	struct event ev_write; /* EV_WRITE while output waits */
	struct ltimer timer;
	struct evbuffer *in;           /* owned */
	struct evbuffer *out;          /* owned */
	uint64_t written;              /* bytes the client took, ever */
	uint64_t dl_mark;              /* |written| when DL_WRITE was armed */
	int dl_outq;                   /* the kernel's send queue then */
	struct request *req;           /* the current request, owned */
	struct auth_tcache_memo memo;  /* its last token-cache key (gate) */
	struct auth_tcache_memo smemo; /* its last verified session cookie */
	unsigned smemo_gen;            /* the generation |smemo| is of */
	bool reading;                  /* ev_read is added */
	bool paused;      /* the request holds reads back (backpressure) */
	bool write_armed; /* ev_write added or activated */
	bool eof;         /* the client's FIN was read */
	bool tls_read_wants_write;
	bool tls_write_wants_read;
	bool saw_bytes;  /* the current head has started */
	bool redispatch; /* parse buffered input at the next read callback */
	struct sockaddr_in6 sa; /* the peer (or a sockaddr_in) */
	char peer[PROXY_PEER_MAX];
};

/* ------------------------------------------------------------------ log.c */

/* Sets debug logging on or off; call before threads start. */
void log_init(bool verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* One access line: what log_access needs, nothing more. Strings are
 * NUL-terminated views owned by the caller; NULL prints as "-" or is
 * left out. */
struct access_rec {
	const char *client;
	const char *method;
	const char *path; /* canonical path, never the query */
	int status;
	bool auth_needed; /* the route looked for a credential */
	enum auth_status auth;
	const char *code; /* problem code of a local reply */
	const char *sub;  /* verified subject, or NULL */
	const char *request_id;
	const char *route;    /* the matched route's pattern, or NULL */
	const char *upstream; /* the upstream's name once forwarded, or NULL */
	uint64_t duration_us; /* head complete to response queued */
	int64_t up_ms;
	uint64_t bytes;
};

/* Writes one JSON access line (never tokens, cookies, queries). |auth|
 * is auth_status_str(auth) when the route needed a credential or the
 * request was refused before one (no_route, path_invalid), else "none". */
void log_access(const struct access_rec *r);

/* ------------------------------------------------------------------ gen.c */

/* Loads |path|; on failure prints every error to stderr when |report|.
 * Returns the conf or NULL. */
struct conf *gen_load(const char *path, bool report);
/* Makes |c| (owned from now on) the first generation of |p|. Returns 0,
 * or -1 with a message logged (the TLS context could not be built). */
int gen_init(struct proxy *p, struct conf *c);
/* Loads the file again and makes it current; a broken file or TLS pair is
 * refused and the running generation kept. */
void gen_reload(struct proxy *p);
/* Takes a reference on the current generation (any thread). */
struct proxy_gen *gen_get(void);
/* Drops a reference; frees the conf and TLS context at zero. */
void gen_unref(struct proxy_gen *g);
/* Moves |w| to the current generation when a reload happened (worker
 * thread). Returns false when even the first one cannot be built. */
bool wgen_refresh(struct worker *w);
/* Drops a worker generation reference (worker thread). */
void wgen_unref(struct wgen *wg);

/* ----------------------------------------------------------------- conn.c */

/* Resolves |host| and binds and listens on every address it gives, up to
 * |cap| sockets into |fds| (non-blocking, close-on-exec). Returns 0 with
 * |*n| set, or -1 with a message logged and nothing left open. */
int listen_bind(const char *host, const char *port, int backlog, int *fds,
    size_t cap, size_t *n);

/* Binds every listen address and starts the workers. Returns 0, or -1
 * with a message logged. */
int server_start(struct proxy *p);
/* Stops accepting (drain): the listening sockets are closed. */
void server_stop_accepting(struct proxy *p);
/* Requests alive in every worker (each counts its own: no cache line is
 * shared between workers on the request path). */
int server_inflight(const struct proxy *p);
/* Closes every connection, stops and joins the workers, frees. */
void server_free(struct proxy *p);

/* Queues |n| bytes toward the client and schedules a write this loop
 * pass. Returns 0, or -1 out of memory. */
int conn_add(struct conn *cx, const void *p, size_t n);
/* Moves all of |b| to the client's output and schedules a write. */
int conn_add_buffer(struct conn *cx, struct evbuffer *b);
/* Bytes queued toward the client, not yet taken. */
size_t conn_out_len(const struct conn *cx);
/* Holds client reads back (request body backpressure, exchange wait) or
 * lets them run again. */
void conn_pause(struct conn *cx, bool paused);
/* The request reached |state| (CONN_BODY, CONN_WAIT, CONN_WRITE,
 * CONN_TUNNEL): the connection re-arms its deadline. */
void conn_set_state(struct conn *cx, enum conn_state state);
/* The current request is finished and freed: keep-alive (parse the next
 * head once the output is flushed) or close after the flush. */
void conn_request_done(struct conn *cx, bool keep_alive);
/* Close after the queued output is written (lingering close). */
void conn_close(struct conn *cx);
/* Drop the connection now; |reset| sends a RST instead of a FIN. */
void conn_abort(struct conn *cx, bool reset);
/* Whether the connection came in on a TLS listener. */
static inline bool
conn_is_tls(const struct conn *cx)
{
	return cx->ssl != NULL;
}

/* -------------------------------------------------------------- request.c */

/* A complete head of |head_len| bytes is at the front of |cx|->in: starts
 * the request (gate, upstream or local reply). */
void request_start(struct conn *cx, size_t head_len);
/* Parses the head at the front of |cx|->in. Returns 0 when it is not
 * complete yet; 1 when the request started or the head was refused (the
 * connection's state moved on either way). */
int request_try_head(struct conn *cx);
/*
 * The Better Auth exchange's way in and out. request_wait_exchange parks
 * |r| (REQ_EXCHANGE) and starts the exchange for the gate's issuer;
 * request_exchange_done ends the wait: |status| 0 runs the gate again
 * (which then finds the token in the worker's caches), else a local reply
 * with |status| and |code|. |extra| (|extra_len| bytes of complete header
 * lines, each ending in CRLF, e.g. Set-Cookie) is added to whichever
 * response the client gets; it is copied.
 */
void request_wait_exchange(struct request *r, const struct gate_out *g);
void request_exchange_done(struct request *r, int status, const char *code,
    const char *extra, size_t extra_len);
/* Whether an interim 100 may go to the client now: HTTP/1.1 and no
 * response byte sent yet. */
bool request_may_probe(const struct request *r);
/* The body deadline passed: 408, or a cut if the response began. */
void request_timeout(struct request *r);
/* Input arrived while the request reads its body (or waits). */
void request_input(struct request *r);
/* The client is gone (reset, or EOF inside a body): cancel everything,
 * log, free. The connection is being dropped. */
void request_abort(struct request *r);
/* Output fell under the low-water mark: resume the upstream. */
void request_output_drained(struct request *r);
/* The tunnel side of the connection: client input in TUNNEL state. */
void request_tunnel_input(struct request *r);
/* A reply for a connection-level error (bad head, head timeout): one
 * access line, the problem+json reply, then close. */
void request_reject_conn(struct conn *cx, int status, const char *code);

/* ----------------------------------------------------------------- admin.c */

/* Starts the admin listener (libevhtp) on |p|->base when configured.
 * Returns 0, or -1 with a message logged. */
int admin_start(struct proxy *p);
void admin_free(struct proxy *p);

#endif /* PROXY_PROXY_H */
