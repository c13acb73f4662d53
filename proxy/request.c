/* SPDX-License-Identifier: MIT */
/* The life of a request, top to bottom: head -> gate -> upstream -> relay
 * -> finish. The socket itself is conn.c's. */

/*
 * The life of a request
 *
 *  1. request_try_head     conn.c found bytes in IDLE/HEAD: h1_parse_request
 *                          gives the head (or 400/414/431/501/505 through
 *                          request_reject_conn, which closes).
 *  2. request_decide       gate_decide: route, credential, rules, CSRF and
 *                          the exact upstream head (or a local verdict).
 *  3. request_wait_exchange  a session credential without a cached token:
 *                          park (REQ_EXCHANGE); request_exchange_done runs
 *                          request_decide again or replies.
 *  4. request_reply        every local answer (gate verdict, 408, 413, 502,
 *                          504, health): gate_reply, one access line.
 *  5. request_forward      up_req_start with the gate's head; 100 Continue
 *                          only now (after auth); conn to BODY or WAIT.
 *  6. request_input        body bytes (Content-Length or chunked through
 *                          h1_chunked_step) to up_req_body, paused by
 *                          on_drain backpressure; then up_req_body_end.
 *  7. up_on_head           the response head, re-framed for the client
 *                          (HEAD/204/304, HTTP/1.0, chunked), or 101:
 *                          request_tunnel (WebSocket splice).
 *  8. up_on_body           each slice as it comes (SSE event by event);
 *                          upstream reads pause over PROXY_CLIENT_HIGH_WM
 *                          and resume in request_output_drained.
 *  9. up_on_done / up_on_error   end of the response, or 502/504 (a cut
 *                          once the head went out).
 * 10. request_finish       access line, metrics, free; conn_request_done
 *                          keeps the connection or closes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "evmem.h"
#include "exchange.h"
#include "gate.h"
#include "http1.h"
#include "proxy.h"

/* Where a request is. Orthogonal facts are the flags of struct request. */
enum req_state {
	REQ_GATE = 0, /* head parsed, being decided */
	REQ_EXCHANGE, /* parked on the session exchange */
	REQ_UPSTREAM, /* forwarded; waiting for the response head */
	REQ_RELAY,    /* response head sent; relaying its body */
	REQ_TUNNEL,   /* WebSocket splice after 101 */
	REQ_DONE      /* response complete (queued to the client) */
};

struct request {
	struct conn *cx; /* not owned; NULL once the connection is gone */
	struct worker *w;
	struct wgen *wg; /* one ref */
	const struct conf *conf;
	enum req_state state;
	size_t head_len; /* head bytes still at the front of cx->in */
	enum h1_method meth;
	int minor;
	enum h1_body body;
	uint64_t body_len, body_seen;
	struct h1_chunked ch;
	bool body_done; /* the request body was read to its end */
	bool keep_alive;
	bool expect_continue;
	bool websocket;
	bool replied;     /* a response head went to the client */
	bool chunked_out; /* we chunk the response body */
	bool no_body_out; /* HEAD/204/304/101 */
	bool up_read_paused;
	bool body_paused;    /* client reads held for the upstream */
	struct up_req *up;   /* in flight, or NULL */
	struct up_conn *tun; /* owned: the upstream side of a tunnel */
	int status;
	uint64_t bytes_out;
	struct timeval t_start; /* the head complete: request duration */
	int upstream;           /* conf.upstreams index once forwarded, or -1 */
	struct timeval t_up_start;
	int64_t up_ms;
	/* what the access line and metrics need from the gate */
	int route;
	bool auth_needed;
	enum auth_status auth;
	const char *code;
	struct exch_wait *xw; /* with REQ_EXCHANGE: cancelled on abort */
	bool exchanged;       /* waited for one exchange already */
	bool session_refused; /* the issuer answered 401 to the session */
	char *extra;          /* owned: header lines added to the response */
	size_t extra_len;     /* (Set-Cookie from the exchange), CRLF each */
	char method[PROXY_METHOD_MAX];
	char sub[AUTH_MAX_SUB_LEN + 1];
	char request_id[GATE_REQUEST_ID_MAX + 1];
	char path[]; /* canonical path, for logs */
};

static void request_finish(struct request *r, bool keep_alive);
static void request_decide(struct request *r, const struct h1_request *head);
static const struct up_callbacks up_cbs;

/* The time the worker's loop read when this pass began: one clock read a
 * loop pass instead of four a request (callbacks run within the pass). */
static void
loop_now(const struct worker *w, struct timeval *tv)
{
	if (event_base_gettimeofday_cached(w->base, tv) != 0)
		gettimeofday(tv, NULL);
}

static uint64_t
us_since(const struct worker *w, const struct timeval *t0)
{
	struct timeval now;
	int64_t us;

	loop_now(w, &now);
	us = (int64_t)(now.tv_sec - t0->tv_sec) * 1000000 +
	    (now.tv_usec - t0->tv_usec);
	return us < 0 ? 0 : (uint64_t)us;
}

/* Whole milliseconds since |t0|, rounded down (the seconds and the
 * microseconds apart would round a negative microsecond part up). */
static int64_t
ms_since(const struct worker *w, const struct timeval *t0)
{
	return (int64_t)(us_since(w, t0) / 1000);
}

/* The worker's scratch arrays for the current generation's limits. */
static int
scratch_ready(struct worker *w, const struct conf *c)
{
	size_t cap = gate_head_cap(c), nf = c->max_header_fields;

	if (w->head_cap < cap) {
		char *b = realloc(w->head_buf, cap);

		if (b == NULL)
			return -1;
		w->head_buf = b;
		w->head_cap = cap;
	}
	if (w->fields_cap < nf) {
		void *f = realloc(w->fields, nf * sizeof(struct h1_field));

		if (f == NULL)
			return -1;
		w->fields = f;
		w->fields_cap = nf;
	}
	return 0;
}

static void
limits_of(const struct conf *c, struct h1_limits *lim)
{
	h1_limits_init(lim);
	lim->max_head = c->max_head_bytes;
	lim->max_line = c->max_header_line;
	lim->max_fields = c->max_header_fields;
}

/* Parses the head at the front of |cx|->in. Returns the head length, 0
 * while incomplete, or -1 with |err| set. */
static int
parse_head(struct conn *cx, const struct conf *c, struct h1_request *req,
    struct h1_error *err)
{
	struct worker *w = cx->w;
	struct h1_limits lim;
	size_t len = evbuffer_get_length(cx->in), n;
	const char *p;
	int rc;

	limits_of(c, &lim);
	n = len < c->max_head_bytes + 1 ? len : c->max_head_bytes + 1;
	if ((p = (const char *)evbuffer_pullup(cx->in, (ev_ssize_t)n)) ==
	    NULL) {
		err->status = 503;
		err->code = "internal";
		return -1;
	}
	rc = h1_parse_request(p, n, &lim, req, w->fields, w->fields_cap, err);
	/* A field line over max_header_line is refused once its line ended;
	 * until then a partial head (within max_head_bytes) waits under the
	 * head deadline like any other, so a stalled client is timed out
	 * (408) rather than answered. */
	if (rc == H1_ERROR && err->status == 431 && n <= c->max_head_bytes &&
	    memchr(p + err->at, '\n', n - err->at) == NULL)
		rc = H1_INCOMPLETE;
	if (rc == H1_INCOMPLETE) {
		if (n > c->max_head_bytes) {
			err->status = 431;
			err->code = "head_too_large";
			return -1;
		}
		return 0;
	}
	if (rc == H1_ERROR)
		return -1;
	return rc;
}

/* --------------------------------------------------------- local replies */

void
request_reject_conn(struct conn *cx, int status, const char *code)
{
	struct gate_out g;
	char buf[1024];
	ssize_t n;
	struct access_rec a;

	memset(&g, 0, sizeof(g));
	g.status = status;
	g.code = code;
	g.title = h1_reason(status);
	if ((n = gate_reply(&g, 1, true, false, buf, sizeof(buf))) > 0)
		(void)conn_add(cx, buf, (size_t)n);
	if (cx->w->wg->gen->conf->access_log) {
		memset(&a, 0, sizeof(a));
		a.client = cx->peer;
		a.method = "-";
		a.path = "-";
		a.status = status;
		a.code = code;
		log_access(&a);
	}
	metrics_request(cx->w->ms, METRICS_NO_ROUTE, status, 0);
	conn_close(cx);
}

/*
 * The one way a local answer goes out: status, code and the
 * WWW-Authenticate choice come from the gate (gate_out), the bytes from
 * gate_reply, plus any header lines the exchange handed back. Closes the
 * connection when the request body was not read (it would be taken for
 * the next request).
 */
static void
request_reply(struct request *r, const struct gate_out *g)
{
	struct conn *cx = r->cx;
	char buf[1024];
	ssize_t hn, n;
	bool close;

	if (cx == NULL)
		return;
	close =
	    !r->body_done || !r->keep_alive || atomic_load(&proxy_g->draining);
	r->status = g->status;
	r->code = g->code;
	r->replied = true;
	hn = gate_reply(g, r->minor, close, true, buf, sizeof(buf));
	n = gate_reply(g, r->minor, close, r->meth == H1_M_HEAD, buf,
	    sizeof(buf));
	if (n < 0 || hn < 2) {
		conn_abort(cx, false);
		return;
	}
	if (r->extra_len > 0) {
		/* the extra lines go before the head's final CRLF */
		if (conn_add(cx, buf, (size_t)hn - 2) == -1 ||
		    conn_add(cx, r->extra, r->extra_len) == -1 ||
		    conn_add(cx, buf + hn - 2, (size_t)(n - hn + 2)) == -1) {
			conn_abort(cx, false);
			return;
		}
	} else if (conn_add(cx, buf, (size_t)n) == -1) {
		conn_abort(cx, false);
		return;
	}
	r->bytes_out = (uint64_t)(n - hn);
	if (r->up != NULL) {
		up_req_cancel(r->up);
		r->up = NULL;
	}
	r->state = REQ_DONE;
	request_finish(r, !close);
}

static void
reply_status(struct request *r, int status, const char *code)
{
	struct gate_out g;

	memset(&g, 0, sizeof(g));
	g.status = status;
	g.code = code;
	g.title = h1_reason(status);
	request_reply(r, &g);
}

/* The public health path, when configured: answered before any route,
 * with readiness (a load balancer that reaches only the public port must
 * see 503 once a drain began). */
static void
reply_health(struct request *r)
{
	bool ready = atomic_load(&proxy_g->ready) &&
	    !atomic_load(&proxy_g->draining) && exch_ready();
	const char *body =
	    ready ? "{\"status\":\"ready\"}\n" : "{\"status\":\"not_ready\"}\n";
	char buf[320];
	int n;

	n = snprintf(buf, sizeof(buf),
	    "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%s\r\n%s",
	    ready ? "200 OK" : "503 Service Unavailable", strlen(body),
	    !r->keep_alive      ? "Connection: close\r\n"
	        : r->minor == 0 ? "Connection: keep-alive\r\n"
	                        : "",
	    r->meth == H1_M_HEAD ? "" : body);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    conn_add(r->cx, buf, (size_t)n) == -1) {
		conn_abort(r->cx, false);
		return;
	}
	r->status = ready ? 200 : 503;
	r->replied = true;
	r->state = REQ_DONE;
	request_finish(r, r->keep_alive);
}

/* ------------------------------------------------------------ the start */

/* Takes the request's head off the input once nothing needs it. */
static void
request_drop_head(struct request *r)
{
	if (r->head_len > 0 && r->cx != NULL) {
		evbuffer_drain(r->cx->in, r->head_len);
		r->head_len = 0;
	}
}

static void
request_id_make(struct worker *w, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t v = ++w->seq;
	int i;

	/* worker index, then the worker's sequence: unique in the process;
	 * the process start time keeps them apart across restarts */
	out[0] = hex[(w->index >> 4) & 15];
	out[1] = hex[w->index & 15];
	out[2] = '-';
	for (i = 0; i < 8; i++)
		out[3 + i] = hex[(proxy_g->start >> (28 - 4 * i)) & 15];
	out[11] = '-';
	for (i = 0; i < 12; i++)
		out[12 + i] = hex[(v >> (44 - 4 * i)) & 15];
	out[24] = '\0';
}

int
request_try_head(struct conn *cx)
{
	struct worker *w = cx->w;
	const struct conf *c;
	struct h1_request req;
	struct h1_error err = {400, "bad_request", 0};
	struct request *r;
	int hl;

	if (!wgen_refresh(w) || scratch_ready(w, w->wg->gen->conf) == -1) {
		request_reject_conn(cx, 503, "internal");
		return 1;
	}
	c = w->wg->gen->conf;
	if ((hl = parse_head(cx, c, &req, &err)) == 0)
		return 0;
	if (hl < 0) {
		request_reject_conn(cx, err.status, err.code);
		return 1;
	}
	/* A request holds a 4 KiB path: from the worker's free lists */
	if ((r = evmem_malloc(sizeof(*r) + AUTH_MAX_PATH_LEN + 1)) == NULL) {
		request_reject_conn(cx, 503, "internal");
		return 1;
	}
	memset(r, 0, sizeof(*r));
	loop_now(w, &r->t_start);
	r->cx = cx;
	r->w = w;
	r->wg = w->wg;
	r->wg->refs++;
	r->conf = c;
	r->head_len = (size_t)hl;
	r->meth = req.meth;
	r->minor = req.minor;
	r->body = req.body;
	r->body_len = req.content_length;
	r->body_done = req.body == H1_BODY_NONE ||
	    (req.body == H1_BODY_LENGTH && req.content_length == 0);
	r->keep_alive = req.keep_alive && !atomic_load(&proxy_g->draining);
	r->route = -1;
	r->upstream = -1;
	r->path[0] = '-';
	r->path[1] = '\0';
	{
		size_t ml = req.method_len < sizeof(r->method) - 1
		    ? req.method_len
		    : sizeof(r->method) - 1;

		memcpy(r->method, req.method, ml);
		r->method[ml] = '\0';
	}
	if (req.body == H1_BODY_CHUNKED)
		h1_chunked_init(&r->ch);
	request_id_make(w, r->request_id);
	cx->req = r;
	atomic_fetch_add(&w->inflight, 1);
	conn_set_state(cx, r->body_done ? CONN_WAIT : CONN_BODY);
	/* The body is not read before the verdict: nothing reaches the
	 * upstream, and no 100 Continue goes out, before auth. */
	conn_pause(cx, true);

	if (c->public_health_path != NULL) {
		size_t pl = req.path_len;
		const char *q = memchr(req.path, '?', req.path_len);

		if (q != NULL)
			pl = (size_t)(q - req.path);
		if (pl == strlen(c->public_health_path) &&
		    memcmp(req.path, c->public_health_path, pl) == 0) {
			snprintf(r->path, AUTH_MAX_PATH_LEN + 1, "%s",
			    c->public_health_path);
			request_drop_head(r);
			reply_health(r);
			return 1;
		}
	}
	request_decide(r, &req);
	return 1;
}

/* --------------------------------------------------------------- forward */

static void
request_forward(struct request *r, const struct gate_out *g)
{
	struct conn *cx = r->cx;
	struct worker *w = r->w;
	enum up_body ub = UP_BODY_NONE;
	bool idempotent;

	if (r->body == H1_BODY_CHUNKED)
		ub = UP_BODY_CHUNKED;
	else if (r->body == H1_BODY_LENGTH && r->body_len > 0)
		ub = UP_BODY_LENGTH;
	if (r->conf->max_body_bytes > 0 && ub == UP_BODY_LENGTH &&
	    r->body_len > r->conf->max_body_bytes) {
		reply_status(r, 413, "body_too_large");
		return;
	}
	idempotent =
	    r->meth != H1_M_POST && r->meth != H1_M_PATCH && ub == UP_BODY_NONE;
	evbuffer_drain(w->tmp, evbuffer_get_length(w->tmp));
	if (evbuffer_add(w->tmp, w->head_buf, g->head_len) == -1) {
		reply_status(r, 503, "internal");
		return;
	}
	loop_now(w, &r->t_up_start);
	r->upstream = g->upstream;
	metrics_upstream_request(w->ms, r->wg->gen->metric_up[g->upstream]);
	r->up = up_req_start(r->wg->pools[g->upstream], w->tmp, ub, r->body_len,
	    idempotent, r->meth == H1_M_HEAD, &up_cbs, r);
	evbuffer_drain(w->tmp, evbuffer_get_length(w->tmp));
	if (r->up == NULL) {
		reply_status(r, 503, "internal");
		return;
	}
	r->state = REQ_UPSTREAM;
	request_drop_head(r);
	if (r->expect_continue && !r->body_done && r->minor == 1 &&
	    evbuffer_get_length(cx->in) == 0) {
		/* RFC 9110 §10.1.1: invited only once auth passed */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		(void)conn_add(cx, cont, sizeof(cont) - 1);
	}
	conn_set_state(cx, r->body_done ? CONN_WAIT : CONN_BODY);
	conn_pause(cx, false);
}

/* |head|: the head request_try_head just parsed (its views into cx->in,
 * its fields in the worker's scratch), or NULL to parse it again. */
static void
request_decide(struct request *r, const struct h1_request *head)
{
	struct conn *cx = r->cx;
	struct worker *w = r->w;
	const struct conf *c = r->conf;
	struct h1_request req;
	struct h1_error err;
	struct gate_in in;
	struct gate_ctx ctx;
	struct gate_out g;
	const char *p;
	int rc;

	if (head == NULL) {
		/* The head is still at the front of the input (the request
		 * waited on the exchange): parse it again, it is
		 * stateless. */
		struct h1_limits lim;

		p = (const char *)evbuffer_pullup(cx->in,
		    (ev_ssize_t)r->head_len);
		if (p == NULL || scratch_ready(w, c) == -1) {
			reply_status(r, 503, "internal");
			return;
		}
		limits_of(c, &lim);
		rc = h1_parse_request(p, r->head_len, &lim, &req, w->fields,
		    w->fields_cap, &err);
		if (rc != (int)r->head_len) {
			reply_status(r, 503, "internal");
			return;
		}
		head = &req;
	}
	r->expect_continue = head->expect_continue;
	memset(&in, 0, sizeof(in));
	in.req = head;
	in.peer = cx->peer;
	in.peer_trusted =
	    gate_peer_trusted(c, (const struct sockaddr *)&cx->sa);
	in.tls = conn_is_tls(cx);
	in.request_id = r->request_id;
	in.request_id_len = strlen(r->request_id);
	memset(&ctx, 0, sizeof(ctx));
	ctx.tcache = r->wg->tcache;
	ctx.scache = r->wg->scache;
	ctx.memo = &cx->memo;
	/* A verified session cookie is only ever believed under the
	 * configuration (the secret) that verified it. */
	if (cx->smemo_gen != r->wg->gen->id) {
		auth_tcache_memo_clear(&cx->smemo);
		cx->smemo_gen = r->wg->gen->id;
	}
	ctx.smemo = &cx->smemo;
	ctx.session_refused = r->session_refused;
	rc = gate_decide(&in, c, &ctx, (int64_t)time(NULL), &g, w->head_buf,
	    w->head_cap);
	metrics_tcache_count(w->ms, ctx.tcache_hits, ctx.tcache_misses);
	r->route = g.route;
	r->auth_needed = g.auth_needed;
	r->auth = g.auth;
	r->websocket = g.websocket;
	{
		size_t pl = strnlen(g.path, AUTH_MAX_PATH_LEN);

		memcpy(r->path, g.path, pl);
		r->path[pl] = '\0';
	}
	memcpy(r->request_id, g.request_id, sizeof(r->request_id));
	if (g.has_sub)
		memcpy(r->sub, g.sub, sizeof(r->sub));
	if (g.session_lookup >= 0)
		metrics_session_lookup(w->ms,
		    (enum auth_scache_state)g.session_lookup, g.session_stale);
	if (rc == 0 && g.need_exchange) {
		request_wait_exchange(r, &g);
		return;
	}
	if (rc != 0 || g.status != 0) {
		request_drop_head(r);
		request_reply(r, &g);
		return;
	}
	request_forward(r, &g);
}

/* ------------------------------------------------------------- exchange */

static void
exchange_cb(void *arg, const struct exch_result *res)
{
	struct request *r = arg;

	r->xw = NULL;
	request_exchange_done(r, res->status, res->code, res->extra,
	    res->extra_len);
}

/*
 * A session credential whose JWT is not cached: the request parks here
 * while the worker's exchange runs (single-flight per session). Client
 * reads are held (the head stays at the front of the input), the
 * connection's deadlines still run, and a client that goes away cancels
 * the wait through request_abort. The exchange reports through
 * exchange_cb -> request_exchange_done.
 */
void
request_wait_exchange(struct request *r, const struct gate_out *g)
{
	r->state = REQ_EXCHANGE;
	/* One exchange per request: asked again right after one (its cache
	 * entry evicted meanwhile), the request gets a 503, never a loop. */
	if (r->exchanged) {
		request_exchange_done(r, 503, "exchange_unavailable", NULL, 0);
		return;
	}
	r->exchanged = true;
	if (r->wg->exch == NULL ||
	    (r->xw = exch_wait_gate(r->wg->exch, g, exchange_cb, r)) == NULL)
		request_exchange_done(r, 503, "internal", NULL, 0);
}

void
request_exchange_done(struct request *r, int status, const char *code,
    const char *extra, size_t extra_len)
{
	if (r->state != REQ_EXCHANGE || r->cx == NULL)
		return;
	r->state = REQ_GATE;
	if (extra_len > 0) {
		char *e = realloc(r->extra, r->extra_len + extra_len);

		if (e == NULL) {
			request_drop_head(r);
			reply_status(r, 503, "internal");
			return;
		}
		memcpy(e + r->extra_len, extra, extra_len);
		r->extra = e;
		r->extra_len += extra_len;
	}
	if (status == 401) {
		/* The issuer refused the session: the gate decides again
		 * without it (401 on a required route, anonymous on an
		 * optional one), the cookie deletions going along. */
		r->session_refused = true;
		status = 0;
	}
	if (status != 0) {
		struct gate_out g;

		memset(&g, 0, sizeof(g));
		g.status = status;
		g.code = code;
		g.title = h1_reason(status);
		if (status == 401)
			g.www_auth = "Bearer error=\"invalid_token\"";
		request_drop_head(r);
		request_reply(r, &g);
		return;
	}
	request_decide(r, NULL);
}

/* ------------------------------------------------------------- the body */

void
request_input(struct request *r)
{
	struct conn *cx = r->cx;
	struct evbuffer *in = cx->in, *tmp = r->w->tmp;
	uint64_t max = r->conf->max_body_bytes;
	bool over = false, progress = false;

	if (r->state == REQ_GATE || r->state == REQ_EXCHANGE || r->body_done)
		return;
	evbuffer_drain(tmp, evbuffer_get_length(tmp));
	while (!r->body_done && evbuffer_get_length(in) > 0) {
		if (r->body == H1_BODY_LENGTH) {
			size_t n = evbuffer_get_length(in);

			if (n > r->body_len - r->body_seen)
				n = (size_t)(r->body_len - r->body_seen);
			if (evbuffer_remove_buffer(in, tmp, n) != (int)n) {
				reply_status(r, 503, "internal");
				return;
			}
			r->body_seen += n;
			r->body_done = r->body_seen == r->body_len;
		} else {
			struct evbuffer_iovec v;
			const char *data = NULL;
			size_t used = 0, dl = 0;
			enum h1_chunk_status st;

			if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
				break;
			st = h1_chunked_step(&r->ch, v.iov_base, v.iov_len,
			    &used, &data, &dl);
			if (st == H1_CHUNK_ERROR) {
				evbuffer_drain(tmp, evbuffer_get_length(tmp));
				reply_status(r, 400,
				    r->ch.code != NULL ? r->ch.code
				                       : "bad_chunk");
				return;
			}
			if (st == H1_CHUNK_DATA) {
				if (evbuffer_add(tmp, data, dl) == -1) {
					reply_status(r, 503, "internal");
					return;
				}
				r->body_seen += dl;
			}
			evbuffer_drain(in, used);
			if (st == H1_CHUNK_DONE)
				r->body_done = true;
		}
		progress = true;
		/* a chunk announced over the limit is refused before its data
		 * (a chunk-size can reach 2^64 - 1) */
		if (max > 0 &&
		    (r->body_seen > max ||
		        (r->body == H1_BODY_CHUNKED &&
		            r->ch.left > max - r->body_seen))) {
			evbuffer_drain(tmp, evbuffer_get_length(tmp));
			reply_status(r, 413, "body_too_large");
			return;
		}
	}
	if (evbuffer_get_length(tmp) > 0) {
		if (r->up != NULL)
			over = up_req_body(r->up, tmp);
		evbuffer_drain(tmp, evbuffer_get_length(tmp));
	}
	if (r->body_done) {
		if (r->up != NULL)
			up_req_body_end(r->up);
		conn_set_state(cx, CONN_WAIT);
		return;
	}
	if (over) {
		/* the upstream takes the body slower than the client sends
		 * it: hold the client until on_drain */
		r->body_paused = true;
		conn_pause(cx, true);
	} else if (progress)
		conn_set_state(cx, CONN_BODY); /* the next read is timed anew */
}

bool
request_may_probe(const struct request *r)
{
	return r->minor == 1 && !r->replied && r->state != REQ_TUNNEL;
}

void
request_timeout(struct request *r)
{
	struct conn *cx = r->cx;

	if (!r->replied) {
		reply_status(r, 408, "body_timeout");
		return;
	}
	conn_abort(cx, false);
}

/* -------------------------------------------------------- the response */

/* A response head is built here and queued in one piece. */
struct obuf {
	size_t n;
	bool err;
	char b[8192];
	struct conn *cx;
};

static void
ob_flush(struct obuf *o)
{
	if (o->n > 0 && conn_add(o->cx, o->b, o->n) == -1)
		o->err = true;
	o->n = 0;
}

static void
ob_add(struct obuf *o, const void *p, size_t n)
{
	if (n > sizeof(o->b) - o->n) {
		ob_flush(o);
		if (n > sizeof(o->b)) {
			if (conn_add(o->cx, p, n) == -1)
				o->err = true;
			return;
		}
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void
ob_str(struct obuf *o, const char *s)
{
	ob_add(o, s, strlen(s));
}

static void
ob_dec(struct obuf *o, uint64_t v)
{
	char d[H1_DEC_MAX];
	size_t k = h1_dec(d, v);

	ob_add(o, d + k, sizeof(d) - k);
}

/* The names a response's Connection fields list (RFC 9110 §7.6.1: those
 * fields are hop-by-hop too), split once per response, not once per
 * field. More than CONN_NAMES_MAX of them: |n| is SIZE_MAX and each field
 * is looked up in the lists themselves. */
#define CONN_NAMES_MAX 8

struct conn_names {
	struct auth_view v[CONN_NAMES_MAX];
	size_t n;
};

static void
conn_names_split(const struct up_header *h, size_t n_h, struct conn_names *cn)
{
	const char *it;
	size_t i, pos, il;

	cn->n = 0;
	for (i = 0; i < n_h; i++) {
		if (h[i].tok != H1_T_CONNECTION)
			continue;
		pos = 0;
		while (
		    h1_list_next(h[i].value, h[i].value_len, &pos, &it, &il)) {
			if (cn->n == CONN_NAMES_MAX) {
				cn->n = SIZE_MAX;
				return;
			}
			cn->v[cn->n].ptr = it;
			cn->v[cn->n].len = il;
			cn->n++;
		}
	}
}

/* Whether |f|'s name is one |cn| lists. */
static bool
named_in_connection(const struct conn_names *cn, const struct up_header *h,
    size_t n_h, const struct up_header *f)
{
	size_t i;

	if (cn->n == SIZE_MAX) {
		for (i = 0; i < n_h; i++)
			if (h[i].tok == H1_T_CONNECTION &&
			    h1_list_has_token(h[i].value, h[i].value_len,
			        f->name, f->name_len))
				return true;
		return false;
	}
	for (i = 0; i < cn->n; i++)
		if (h1_name_eq(cn->v[i].ptr, cn->v[i].len, f->name,
		        f->name_len))
			return true;
	return false;
}

static void request_tunnel(struct request *r);

static void
up_on_head(void *arg, int status, const struct up_header *h, size_t n_h,
    bool has_body, int64_t cl, bool chunked)
{
	struct request *r = arg;
	struct conn *cx = r->cx;
	struct obuf ob, *o = &ob; /* 8 KiB of stack: no allocation */
	struct conn_names cn;
	bool tunnel = status == 101;
	size_t i;

	r->up_ms = ms_since(r->w, &r->t_up_start);
	if (r->upstream >= 0)
		metrics_upstream_response(r->w->ms,
		    r->wg->gen->metric_up[r->upstream],
		    us_since(r->w, &r->t_up_start));
	if (tunnel && (!r->websocket || !r->body_done)) {
		up_req_cancel(r->up);
		r->up = NULL;
		reply_status(r, 502, "upstream_protocol");
		return;
	}
	o->n = 0;
	o->err = false;
	o->cx = cx;
	r->no_body_out = r->meth == H1_M_HEAD || status == 204 ||
	    status == 304 || !has_body || tunnel;
	if (!r->body_done || atomic_load(&proxy_g->draining))
		r->keep_alive = false;
	if (!r->no_body_out && cl < 0 && r->minor == 0)
		r->keep_alive = false; /* HTTP/1.0: close-delimited */
	r->chunked_out = !r->no_body_out && cl < 0 && r->minor == 1;

	cn.n = 0; /* a tunnel keeps its Connection: Upgrade */
	if (!tunnel)
		conn_names_split(h, n_h, &cn);
	ob_add(o, "HTTP/1.1 ", 9);
	ob_dec(o, (uint64_t)status);
	ob_add(o, " ", 1);
	ob_str(o, h1_reason(status));
	ob_add(o, "\r\n", 2);
	for (i = 0; i < n_h; i++) {
		uint16_t tok = h[i].tok;
		bool drop = (h1_token_flags(tok) & H1_DROP_RES) != 0;

		if (drop && tunnel &&
		    (tok == H1_T_UPGRADE || tok == H1_T_CONNECTION))
			drop = false;
		if (!drop && cn.n != 0 &&
		    named_in_connection(&cn, h, n_h, &h[i]))
			drop = true;
		if (drop)
			continue;
		ob_add(o, h[i].name, h[i].name_len);
		ob_add(o, ": ", 2);
		ob_add(o, h[i].value, h[i].value_len);
		ob_add(o, "\r\n", 2);
	}
	if (r->extra_len > 0)
		ob_add(o, r->extra, r->extra_len);
	if (!tunnel) {
		if (r->chunked_out)
			ob_str(o, "Transfer-Encoding: chunked\r\n");
		else if (cl >= 0 && status != 204 &&
		    (status >= 200 || status < 100)) {
			ob_str(o, "Content-Length: ");
			ob_dec(o, (uint64_t)cl);
			ob_add(o, "\r\n", 2);
		} else if (r->no_body_out && r->meth != H1_M_HEAD &&
		    status != 204 && status != 304)
			ob_str(o, "Content-Length: 0\r\n");
		if (!r->keep_alive)
			ob_str(o, "Connection: close\r\n");
		else if (r->minor == 0)
			ob_str(o, "Connection: keep-alive\r\n");
	}
	ob_add(o, "\r\n", 2);
	ob_flush(o);
	i = o->err;
	(void)chunked;
	if (i) {
		conn_abort(cx, false);
		return;
	}
	r->replied = true;
	r->status = status;
	r->state = REQ_RELAY;
	if (tunnel)
		request_tunnel(r);
}

static void
up_on_body(void *arg, struct evbuffer *data)
{
	struct request *r = arg;
	struct conn *cx = r->cx;
	size_t n = evbuffer_get_length(data);
	int rc = 0;

	if (r->no_body_out || n == 0) {
		evbuffer_drain(data, n);
		return;
	}
	r->bytes_out += n;
	if (r->chunked_out) {
		static const char hex[] = "0123456789abcdef";
		char sz[24];
		size_t k = sizeof(sz) - 2, v = n;

		sz[k] = '\r';
		sz[k + 1] = '\n';
		do {
			sz[--k] = hex[v & 15];
			v >>= 4;
		} while (v != 0);
		rc = conn_add(cx, sz + k, sizeof(sz) - k);
		rc |= conn_add_buffer(cx, data);
		rc |= conn_add(cx, "\r\n", 2);
	} else
		rc = conn_add_buffer(cx, data);
	if (rc != 0) {
		conn_abort(cx, false);
		return;
	}
	if (conn_out_len(cx) > PROXY_CLIENT_HIGH_WM && !r->up_read_paused &&
	    r->up != NULL) {
		r->up_read_paused = true;
		up_req_pause_read(r->up);
	}
}

static void
up_on_done(void *arg)
{
	struct request *r = arg;
	struct conn *cx = r->cx;

	r->up = NULL;
	if (r->chunked_out && conn_add(cx, "0\r\n\r\n", 5) == -1) {
		conn_abort(cx, false);
		return;
	}
	r->state = REQ_DONE;
	/* A response that ended before the request body did (the upstream
	 * answered early): done, and the connection closes after it. */
	request_finish(r, r->keep_alive && r->body_done);
}

/* An upstream failure by cause: connect (refused, unreachable, no
 * name), timeout, reset (closed early), bad response (refused head or
 * body framing). Out of memory is ours, not the upstream's. */
static void
request_count_up_error(const struct request *r, enum up_error err)
{
	enum metrics_up_error why;

	switch (err) {
	case UP_ERR_CONNECT:
		why = METRICS_UP_CONNECT;
		break;
	case UP_ERR_TIMEOUT:
		why = METRICS_UP_TIMEOUT;
		break;
	case UP_ERR_CLOSED:
		why = METRICS_UP_RESET;
		break;
	case UP_ERR_PROTOCOL:
		why = METRICS_UP_BAD_RESPONSE;
		break;
	default:
		return;
	}
	if (r->upstream >= 0)
		metrics_upstream_error(r->w->ms,
		    r->wg->gen->metric_up[r->upstream], why);
}

static void
up_on_error(void *arg, enum up_error err)
{
	struct request *r = arg;

	r->up = NULL;
	if (r->up_ms == 0)
		r->up_ms = ms_since(r->w, &r->t_up_start);
	log_debug("%s: %s", __func__, up_error_str(err));
	request_count_up_error(r, err);
	if (r->replied) {
		/* The response was cut: the client must see it cut too. */
		conn_abort(r->cx, false);
		return;
	}
	switch (err) {
	case UP_ERR_TIMEOUT:
		reply_status(r, 504, "upstream_timeout");
		break;
	case UP_ERR_NOMEM:
		reply_status(r, 503, "internal");
		break;
	case UP_ERR_PROTOCOL:
		reply_status(r, 502, "upstream_protocol");
		break;
	default:
		reply_status(r, 502, "upstream_unavailable");
		break;
	}
}

static void
up_on_drain(void *arg)
{
	struct request *r = arg;

	if (!r->body_paused || r->cx == NULL)
		return;
	r->body_paused = false;
	conn_pause(r->cx, false);
}

static const struct up_callbacks up_cbs = {
    .on_head = up_on_head,
    .on_body = up_on_body,
    .on_done = up_on_done,
    .on_error = up_on_error,
    .on_drain = up_on_drain,
};

void
request_output_drained(struct request *r)
{
	if (r->up_read_paused && r->up != NULL) {
		r->up_read_paused = false;
		up_req_resume_read(r->up);
	}
	if (r->tun != NULL && r->up_read_paused) {
		r->up_read_paused = false;
		up_conn_read(r->tun, true);
	}
}

/* --------------------------------------------------------------- tunnel */

/* Upstream -> client. */
static void
tun_on_read(void *arg, struct evbuffer *in)
{
	struct request *r = arg;

	r->bytes_out += evbuffer_get_length(in);
	if (conn_add_buffer(r->cx, in) == -1) {
		conn_abort(r->cx, false);
		return;
	}
	if (conn_out_len(r->cx) > PROXY_CLIENT_HIGH_WM) {
		r->up_read_paused = true;
		up_conn_read(r->tun, false);
	}
}

/* The upstream took the client's bytes down to its low-water mark. */
static void
tun_on_drain(void *arg)
{
	struct request *r = arg;

	if (r->body_paused) {
		r->body_paused = false;
		conn_pause(r->cx, false);
		request_tunnel_input(r);
	}
}

static void
tun_on_close(void *arg)
{
	struct request *r = arg;
	struct conn *cx = r->cx;

	/* Upstream closed: deliver what it sent, then close the client. */
	tun_on_read(r, up_conn_input(r->tun));
	if (cx->state == CONN_DEAD)
		return;
	r->state = REQ_DONE;
	request_finish(r, false);
}

static const struct up_tun_callbacks tun_cbs = {
    .on_read = tun_on_read,
    .on_drain = tun_on_drain,
    .on_close = tun_on_close,
};

/* Client -> upstream, and the client's end of the tunnel. */
void
request_tunnel_input(struct request *r)
{
	struct conn *cx = r->cx;

	if (r->tun == NULL)
		return;
	if (evbuffer_get_length(cx->in) > 0 &&
	    up_conn_write(r->tun, cx->in) == -1) {
		conn_abort(cx, false);
		return;
	}
	if (cx->eof) {
		/* the client is done: so is the tunnel */
		r->state = REQ_DONE;
		request_finish(r, false);
		return;
	}
	if (up_conn_queued(r->tun) > PROXY_CLIENT_HIGH_WM) {
		r->body_paused = true;
		conn_pause(cx, true);
	}
}

/* RFC 6455 §4.1: after 101 both sides speak frames; we splice them. */
static void
request_tunnel(struct request *r)
{
	struct conn *cx = r->cx;

	r->tun = up_req_take_conn(r->up);
	r->up = NULL;
	if (r->tun == NULL) {
		conn_abort(cx, false);
		return;
	}
	r->state = REQ_TUNNEL;
	/* The drain does not wait for a tunnel: it has no end of its own. */
	atomic_fetch_sub(&r->w->inflight, 1);
	up_conn_tunnel(r->tun, &tun_cbs, r, PROXY_CLIENT_HIGH_WM / 2);
	conn_set_state(cx, CONN_TUNNEL);
	if (evbuffer_get_length(up_conn_input(r->tun)) > 0)
		tun_on_read(r, up_conn_input(r->tun));
	if (cx->state != CONN_DEAD)
		request_tunnel_input(r);
}

/* ---------------------------------------------------------------- finish */

/* The finished request into the worker's metrics: its route pattern,
 * status and duration; the auth outcome only when the route needed one;
 * path and routing refusals apart. */
static void
request_count(const struct request *r)
{
	struct metrics_shard *ms = r->w->ms;
	unsigned route = METRICS_NO_ROUTE;

	if (r->route >= 0 && (size_t)r->route < r->conf->n_routes)
		route = r->wg->gen->metric_route[r->route];
	metrics_request(ms, route, r->status, us_since(r->w, &r->t_start));
	if (r->auth == AUTH_PATH_INVALID)
		metrics_refused(ms, METRICS_REFUSED_PATH);
	else if (r->auth == AUTH_NO_ROUTE)
		metrics_refused(ms, METRICS_REFUSED_ROUTE);
	else if (r->auth_needed)
		metrics_auth(ms, r->auth);
}

static void
request_free(struct request *r)
{
	struct access_rec a;

	if (r->up != NULL) {
		up_req_cancel(r->up);
		r->up = NULL;
	}
	if (r->xw != NULL) {
		exch_cancel(r->xw);
		r->xw = NULL;
	}
	if (r->tun != NULL)
		up_conn_free(r->tun);
	else
		atomic_fetch_sub(&r->w->inflight, 1);
	if (r->status == 0)
		r->status = 499; /* the client left before any response */
	if (r->conf->access_log) {
		a.client = r->cx != NULL ? r->cx->peer : "-";
		a.method = r->method;
		a.path = r->path;
		a.status = r->status;
		a.auth_needed = r->auth_needed;
		a.auth = r->auth;
		a.code = r->code;
		a.sub = r->sub[0] != '\0' ? r->sub : NULL;
		a.request_id = r->request_id;
		a.route = r->route >= 0 && (size_t)r->route < r->conf->n_routes
		    ? r->conf->routes[r->route].pattern
		    : NULL;
		a.upstream = r->upstream >= 0 &&
		        (size_t)r->upstream < r->conf->n_upstreams
		    ? r->conf->upstreams[r->upstream].name
		    : NULL;
		a.duration_us = us_since(r->w, &r->t_start);
		a.up_ms = r->up_ms;
		a.bytes = r->bytes_out;
		log_access(&a);
	}
	request_count(r);
	free(r->extra);
	wgen_unref(r->wg);
	evmem_free(r);
}

static void
request_finish(struct request *r, bool keep_alive)
{
	struct conn *cx = r->cx;

	cx->req = NULL;
	r->cx = cx; /* for the access line */
	request_free(r);
	conn_request_done(cx, keep_alive);
}

void
request_abort(struct request *r)
{
	struct conn *cx = r->cx;

	if (cx != NULL)
		cx->req = NULL;
	request_free(r);
}
