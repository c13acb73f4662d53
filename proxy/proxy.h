/* SPDX-License-Identifier: MIT */
/* The daemon's shared types: process, worker, connection and request state. */
#ifndef PROXY_PROXY_H
#define PROXY_PROXY_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include <sys/socket.h>

#include "auth.h"
#include "conf.h"
#include "gate.h"
#include "http1.h"
#include "upstream.h"

#define PROXY_MAX_FIELDS_HARD 1000 /* header fields, whatever conf says */
#define PROXY_CLIENT_HIGH_WM (256 * 1024) /* queued response bytes */
#define PROXY_METHOD_MAX 8

struct evhtp;
struct evhtp_connection;
struct evhtp_request;

/*
 * One loaded configuration. Immutable; shared read-only by every thread.
 * The main thread holds one reference on the current generation; each
 * worker generation holds one on its own. Freed at the last unref.
 */
struct proxy_gen {
	struct conf *conf; /* owned */
	atomic_int refs;
	unsigned id;
};

/* The process. One instance, in main.c. */
struct proxy {
	struct event_base *base; /* main thread: listener, signals */
	struct evhtp *htp;       /* owned */
	bool verbose;
	const char *conf_path;

	pthread_mutex_t gen_lock; /* guards |gen| swaps and ref taking */
	struct proxy_gen *gen;    /* current; one ref held */
	atomic_uint gen_id;       /* == gen->id; read lock-free by workers */

	atomic_bool draining;   /* SIGTERM seen: refuse new work */
	atomic_bool ready;      /* config and keys loaded */
	atomic_int inflight;    /* requests alive, all workers */
	struct event *drain_ev; /* owned: drain poll timer */
	struct timeval drain_deadline;

	/* /metrics counters: status class 1xx..5xx, and auth outcomes */
	atomic_ulong n_status[6];
	atomic_ulong n_auth[AUTH_STATUS_MAX + 1];
};

extern struct proxy *proxy_g; /* the process; set once in main */

/*
 * What a worker uses for one configuration generation: pools and token
 * cache built for that conf. Refcounted by the worker's own requests (no
 * atomics: only its worker touches it).
 */
struct proxy_wgen {
	struct proxy_gen *gen;                     /* one ref */
	struct up_pool *pools[CONF_MAX_UPSTREAMS]; /* owned */
	struct auth_tcache *tcache;                /* owned */
	int refs; /* the worker's current pointer + requests */
};

/* One evhtp worker thread. */
struct proxy_worker {
	struct event_base *base;
	struct evdns_base *dns; /* owned */
	struct proxy_wgen *wg;  /* current; one ref */
	int index;
	struct proxy_conn *conns; /* live connections, closed at exit */
	uint64_t rid_next;        /* request ids: a counter, mixed */
};

/* Where a connection's head guard is. */
enum conn_state {
	CONN_IDLE = 0, /* between requests, nothing of a head yet */
	CONN_HEAD,     /* some head bytes, waiting for the rest */
	CONN_BODY,     /* head passed to evhtp, request being read */
	CONN_WAIT,     /* request complete, waiting for the response */
	CONN_TUNNEL,   /* websocket splice */
	CONN_CLOSING   /* flushing a last reply, then freed */
};

/* Where the chunked-body re-framer is (RFC 9112 §7.1). */
enum chunk_state {
	CH_OFF = 0,   /* not a chunked body */
	CH_SIZE,      /* reading a chunk-size line */
	CH_DATA,      /* chunk data */
	CH_DATA_CRLF, /* the CRLF after chunk data */
	CH_TRAILER,   /* trailer section, dropped */
	CH_DONE
};

/* One header field: offsets into the owner's copy of the head. */
struct proxy_field {
	uint32_t name_off, name_len;
	uint32_t val_off, val_len; /* OWS already trimmed */
};

struct proxy_req;

/* One client connection, owned by the connection-fini hook. */
struct proxy_conn {
	struct evhtp_connection *evconn; /* not owned */
	struct proxy_conn *next, *prev;  /* worker's list */
	struct proxy_worker *w;
	struct bufferevent *bev; /* evhtp's; not owned */
	/* evhtp's own bufferevent callbacks, called from our wrappers */
	bufferevent_data_cb ev_readcb, ev_writecb;
	bufferevent_event_cb ev_eventcb;
	enum conn_state state;
	struct event *timer;      /* owned: head/body/idle deadlines */
	struct event *closed_ev;  /* owned: EV_CLOSED while paused */
	struct event *close_ev;   /* owned: deferred free */
	struct event *reguard_ev; /* owned: deferred re-run of the guard */
	struct event *finish_ev;  /* owned: deferred request finish */
	struct event *flushed_ev; /* owned: EV_WRITE off after a resume */
	struct evbuffer *stash;   /* owned: pipelined bytes hidden from evhtp */
	struct evbuffer *craw;    /* owned: raw chunked body not yet framed */
	enum chunk_state ch;
	uint64_t ch_left;             /* data bytes left in this chunk */
	size_t ch_trailer;            /* trailer bytes seen */
	struct proxy_req *req;        /* the current request, not owned */
	char client[64];              /* peer address, printable */
	struct sockaddr_storage peer; /* for trust_forwarded */
	bool has_peer;
	int busy;       /* depth of our calls into evhtp */
	bool dead;      /* evhtp freed the connection meanwhile */
	bool abort;     /* close without flushing or lingering */
	bool lingering; /* half-closed, draining input */
	bool saw_bytes; /* a head has started */
	bool wd_on;     /* |timer| is the write-progress deadline */
	/* Write progress toward the client without a callback per write:
	 * out_in counts the response bytes we queued while relaying; at
	 * arm time we note it and the output length, and when the timer
	 * fires, an output shorter than that plus what was queued since
	 * means bytes left for the client. */
	uint64_t out_in;
	uint64_t wd_in;
	size_t wd_len;

	/* The last head the guard passed, for on_headers to take. */
	char *head; /* owned until taken */
	size_t head_len;
	struct proxy_field *fields; /* owned until taken */
	size_t n_fields;
	size_t target_off, target_len; /* request target in |head| */
	char method[PROXY_METHOD_MAX];
	int minor; /* HTTP/1.minor */
	enum up_body body_kind;
	uint64_t body_len;
	/* An absolute-form target's authority (RFC 9112 §3.2.2), kept when
	 * the guard reduced the target to origin-form. */
	bool abs_form;
	char authority[256];
};

/* A local reply: the gate's verdict, or an admin answer. */
struct gate_verdict {
	int status;       /* 0: forward; else a local reply */
	const char *code; /* stable problem code */
	const char *title;
	const char *www_auth;  /* WWW-Authenticate value or NULL */
	const char *body_type; /* admin replies: content type, or NULL */
	char body[4096];       /* admin replies: the body */
};

/* One request, owned by the request-fini hook (proxy_req_free). */
struct proxy_req {
	struct evhtp_request *req; /* evhtp's; NULL once fini ran */
	struct proxy_conn *cx;     /* NULL once the connection is gone */
	struct proxy_worker *w;
	struct proxy_wgen *wg;   /* one ref */
	const struct conf *conf; /* == wg->gen->conf */

	char *head; /* owned: the client's head copy */
	size_t head_len;
	struct proxy_field *fields; /* owned */
	size_t n_fields;
	size_t target_off, target_len; /* request target in |head| */
	char method[PROXY_METHOD_MAX];
	int minor;
	bool is_head;
	bool is_ws; /* websocket upgrade requested */
	bool expect_100;
	enum up_body body_kind;
	uint64_t body_len;
	uint64_t body_seen;

	char client[64]; /* peer address, for logs */
	int route;       /* matched route index or -1 */
	int upstream;    /* conf.upstreams index when forwarding */
	enum auth_status auth;
	bool has_sub;

	struct up_req *up;        /* in flight, or NULL */
	struct evbuffer *up_head; /* owned until started */
	bool up_paused_body;      /* on_read returned PAUSE */
	bool up_read_paused;      /* upstream reads paused for the client */
	bool msg_complete;        /* evhtp's final callback ran */
	bool up_done;
	bool replied;     /* a response head went out */
	bool finished;    /* reply_end done */
	bool want_finish; /* finish_ev scheduled */
	bool uncounted;   /* left proxy->inflight */
	bool early;       /* replied before the body was read */
	bool chunked_out; /* we chunk the response body */
	bool no_body_out; /* HEAD/204/304 */
	bool keepalive;
	bool out_cb_set;
	int status;
	uint64_t bytes_out;
	struct timeval t_start;
	struct timeval t_up_start;
	int64_t up_ms;
	struct bufferevent *tun; /* owned: upstream side of a tunnel */

	/* Large buffers last: proxy_req_new zeroes everything before
	 * v.body and only the first byte of these strings. */
	struct gate_verdict v;
	char path[AUTH_MAX_PATH_LEN + 1]; /* canonical, for logs */
	char sub[AUTH_MAX_SUB_LEN + 1];
	char request_id[GATE_REQUEST_ID_MAX + 1];
	bool abs_form; /* see proxy_conn.authority */
	char authority[256];
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
/* Writes one JSON access line for |pr| (never tokens, cookies, queries). */
void log_access(const struct proxy_req *pr);

/* ----------------------------------------------------------------- main.c */

/* Takes a reference on the current generation (any thread). */
struct proxy_gen *proxy_gen_get(void);
/* Drops a reference; frees the conf at zero (any thread). */
void proxy_gen_unref(struct proxy_gen *g);

/* --------------------------------------------------------------- server.c */

/* Creates the evhtp server on |p|->base, binds and starts the workers.
 * Returns 0, or -1 with a message logged. */
int server_start(struct proxy *p);
/* Stops accepting new connections (SIGTERM). */
void server_stop_accepting(struct proxy *p);
/* Frees the server and joins the workers. */
void server_free(struct proxy *p);

/* ---------------------------------------------------------------- admin.c */

/* Answers the admin paths (health, ready, metrics) into |pr|->v.
 * Returns true when |path| (raw, no query) is an admin path. */
bool admin_handle(struct proxy_req *pr, const char *path, size_t path_len);
/* Counts a finished request for /metrics. */
void admin_count(const struct proxy_req *pr);

#endif /* PROXY_PROXY_H */
