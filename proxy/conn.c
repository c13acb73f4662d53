/* SPDX-License-Identifier: MIT */
/* Client connections: listeners, worker threads, reads and writes (plain
 * and TLS), the connection state machine and its deadlines, pipelining,
 * half-close and lingering close. What a request does is request.c's. */
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <unistd.h>

#include <openssl/err.h>

#include "dns.h"
#include "proxy.h"
#include "sockio.h"

#define LINGER_MS 2000       /* read and discard after a last reply */
#define PROBE_MS 200         /* a half-closed client's reset, checked */
#define WORKER_CTL_STOP 0x1u /* stop accepting, close idle connections */
#define WORKER_CTL_EXIT 0x2u /* leave the loop */

/*
 * How accepted connections reach workers: every worker runs its own
 * evconnlistener on the same listening sockets, so the kernel hands a new
 * connection to whichever worker's epoll wakes first. This costs nothing
 * per request (the handoff happens once per connection, with no queue,
 * eventfd or cross-thread wakeup), needs no main-thread hop, and lets an
 * idle worker take the next connection instead of a strict round robin.
 * Its cost is a spurious wakeup (accept4 -> EAGAIN) in the other workers
 * per new connection. SO_REUSEPORT would avoid that, but it lets a second
 * daemon started by mistake on the same port silently take half the
 * connections instead of failing with "address in use".
 */
struct server {
	struct listener pub;
	struct worker *workers;
	int n_init;           /* workers set up (worker_cleanup frees them) */
	int n_workers;        /* threads started */
	atomic_int n_stopped; /* workers that dropped their listeners */
	SSL_CTX *tls_first;   /* one ref: for a generation without tls */
};

static void conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_write_cb(evutil_socket_t fd, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_flush(struct conn *cx);
static void conn_parse(struct conn *cx);
static void conn_next(struct conn *cx);
static void conn_probe(struct conn *cx);

static const struct conf *
cx_conf(const struct conn *cx)
{
	return cx->w->wg->gen->conf;
}

/* ------------------------------------------------------------ listening */

int
listen_bind(const char *host, const char *port, int backlog, int *fds,
    size_t cap, size_t *n)
{
	struct addrinfo hints, *res = NULL, *ai;
	char ab[INET6_ADDRSTRLEN];
	int e, fd, one = 1;

	*n = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_ADDRCONFIG;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("cannot listen on %s:%s: %s", host, port,
		    gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ab, sizeof(ab),
		        NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(ab, sizeof(ab), "?");
		if (*n == cap) {
			log_warnx("cannot listen on %s:%s: more than %zu "
			          "addresses",
			    host, port, cap);
			goto fail;
		}
		fd = socket(ai->ai_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			log_warn("cannot listen on %s:%s (%s)", host, port, ab);
			goto fail;
		}
		fds[(*n)++] = fd;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		/* Each address is bound as written: "::" must not take the
		 * IPv4 port that "0.0.0.0" (the same name's other address)
		 * binds too. */
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, backlog) == -1) {
			log_warn("cannot listen on %s:%s (%s)", host, port, ab);
			goto fail;
		}
		log_debug("%s: bound %s port %s", __func__, ab, port);
	}
	freeaddrinfo(res);
	if (*n == 0) {
		log_warnx("cannot listen on %s:%s: no IPv4 or IPv6 address",
		    host, port);
		return -1;
	}
	return 0;
fail:
	freeaddrinfo(res);
	while (*n > 0)
		close(fds[--(*n)]);
	return -1;
}

/* ---------------------------------------------------------- deadlines */

/* Bytes in the kernel's send queue, not yet acknowledged by the client. */
static int
conn_outq(const struct conn *cx)
{
	int n = 0;

	if (ioctl(cx->fd, SIOCOUTQ, &n) == -1)
		return -1;
	return n;
}

/*
 * Sets the connection's one deadline. The timer is lazy (ltimer.h): a
 * later deadline is only recorded, and DL_NONE leaves the timer to fire
 * into nothing. A keep-alive request thus changes deadlines four times
 * without touching libevent's timer heap (once per timeouts.head per
 * connection).
 */
static void
conn_arm(struct conn *cx, enum conn_deadline dl)
{
	const struct conf *c = cx_conf(cx);
	int ms;

	cx->dl = dl;
	switch (dl) {
	case DL_HEAD:
		ms = c->head_timeout_ms;
		break;
	case DL_BODY:
		ms = c->body_timeout_ms;
		break;
	case DL_IDLE:
		ms =
		    atomic_load(&proxy_g->draining) ? 1000 : c->idle_timeout_ms;
		break;
	case DL_WRITE:
		cx->dl_mark = cx->written;
		cx->dl_outq = conn_outq(cx);
		ms = c->idle_timeout_ms;
		break;
	case DL_LINGER:
		ms = LINGER_MS;
		break;
	case DL_PROBE:
		ms = PROBE_MS;
		break;
	default:
		ltimer_clear(&cx->timer);
		return;
	}
	ltimer_after(&cx->timer, ms);
}

/*
 * The write-progress deadline (slow-read defence). While response bytes
 * wait for a client and nothing else times the connection, a client that
 * takes no byte for timeouts.idle is cut. Progress is measured where the
 * client takes bytes: our writes into the socket, or the kernel's send
 * queue shrinking as the client acknowledges what it read. Looking at our
 * own buffer alone is wrong: a reader draining a send queue that TCP
 * autotuning grew to megabytes takes bytes for seconds while our buffer
 * does not move, and was cut. A reader that takes bytes, however slowly,
 * is never cut, and an SSE stream with nothing queued has no deadline at
 * all. Checked when the timer fires: the cut comes between one and two
 * idle timeouts after the last byte the client took.
 */
static void
conn_watch_output(struct conn *cx)
{
	if (cx->dl == DL_NONE && evbuffer_get_length(cx->out) > 0)
		conn_arm(cx, DL_WRITE);
}

/* ------------------------------------------------------------- teardown */

static void
conn_unlink(struct conn *cx)
{
	if (cx->prev != NULL)
		cx->prev->next = cx->next;
	else if (cx->w->conns == cx)
		cx->w->conns = cx->next;
	if (cx->next != NULL)
		cx->next->prev = cx->prev;
	cx->next = cx->prev = NULL;
}

void
conn_abort(struct conn *cx, bool reset)
{
	struct worker *w = cx->w;

	if (cx->state == CONN_DEAD)
		return;
	if (cx->req != NULL)
		request_abort(cx->req); /* clears cx->req */
	cx->state = CONN_DEAD;
	event_del(&cx->ev_read);
	event_del(&cx->ev_write);
	ltimer_stop(&cx->timer);
	if (reset) {
		/* A RST: a close would leave queued bytes to the kernel,
		 * still pinned by the same client. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		(void)setsockopt(cx->fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
	}
	if (cx->ssl != NULL) {
		SSL_free(cx->ssl);
		cx->ssl = NULL;
	}
	close(cx->fd);
	cx->fd = -1;
	conn_unlink(cx);
	cx->next = w->reap;
	w->reap = cx;
	event_active(w->reap_ev, EV_TIMEOUT, 1);
}

static void
conn_free(struct conn *cx)
{
	metrics_connections(cx->w->ms, -1);
	auth_tcache_memo_clear(&cx->memo);
	auth_tcache_memo_clear(&cx->smemo);
	evbuffer_free(cx->in);
	evbuffer_free(cx->out);
	free(cx);
}

/* Frees the connections closed during the last loop pass: nothing of
 * theirs is on the stack any more. */
static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct conn *cx;

	while ((cx = w->reap) != NULL) {
		w->reap = cx->next;
		conn_free(cx);
	}
}

/* Half-close and keep reading briefly, so unread request bytes do not
 * turn our last reply into a RST (RFC 9112 §9.6). */
static void
conn_linger(struct conn *cx)
{
	if (cx->ssl != NULL) {
		/* close_notify (RFC 8446 §6.1); no wait for the peer's */
		(void)SSL_shutdown(cx->ssl);
		SSL_free(cx->ssl);
		cx->ssl = NULL;
	}
	if (cx->eof || shutdown(cx->fd, SHUT_WR) == -1) {
		conn_abort(cx, false);
		return;
	}
	evbuffer_drain(cx->in, evbuffer_get_length(cx->in));
	if (!cx->reading) {
		event_add(&cx->ev_read, NULL);
		cx->reading = true;
	}
	conn_arm(cx, DL_LINGER);
}

void
conn_close(struct conn *cx)
{
	if (cx->state == CONN_DEAD || cx->state == CONN_CLOSING)
		return;
	cx->state = CONN_CLOSING;
	conn_arm(cx, DL_NONE);
	if (evbuffer_get_length(cx->out) == 0) {
		conn_linger(cx);
		return;
	}
	/* a slow reader must not pin a closing connection forever */
	conn_watch_output(cx);
	conn_flush(cx);
}

/* ---------------------------------------------------------------- output */

static void
conn_schedule_write(struct conn *cx)
{
	/* One write per loop pass, after every callback queued its bytes:
	 * a response head, its body and its end go out in one writev, and
	 * a write the socket takes at once needs no EV_WRITE registration. */
	if (!cx->write_armed && cx->state != CONN_DEAD) {
		cx->write_armed = true;
		event_active(&cx->ev_write, EV_WRITE, 1);
	}
}

int
conn_add(struct conn *cx, const void *p, size_t n)
{
	if (evbuffer_add(cx->out, p, n) == -1)
		return -1;
	conn_schedule_write(cx);
	return 0;
}

int
conn_add_buffer(struct conn *cx, struct evbuffer *b)
{
	if (evbuffer_add_buffer(cx->out, b) == -1)
		return -1;
	conn_schedule_write(cx);
	return 0;
}

size_t
conn_out_len(const struct conn *cx)
{
	return evbuffer_get_length(cx->out);
}

static void
conn_flush(struct conn *cx)
{
	size_t left;
	ssize_t n;

	if (cx->state == CONN_DEAD || cx->state == CONN_HANDSHAKE)
		return;
	/* Until the socket is full: a short write is written again. */
	n = sockio_write(cx->fd, cx->ssl, cx->out, true,
	    &cx->tls_write_wants_read);
	if (n < 0) {
		log_debug("%s: client %s: write failed", __func__, cx->peer);
		conn_abort(cx, false);
		return;
	}
	cx->written += (uint64_t)n;
	left = evbuffer_get_length(cx->out);
	if (left > 0) {
		if (!cx->write_armed && !cx->tls_write_wants_read) {
			cx->write_armed = true;
			event_add(&cx->ev_write, NULL);
		}
		conn_watch_output(cx);
	}
	if (cx->req != NULL && left < PROXY_CLIENT_HIGH_WM / 2)
		request_output_drained(cx->req);
	/* DL_WRITE keeps running when the output empties: it ends itself
	 * at a check that finds nothing queued (no timer churn per drain) */
	if (left > 0 || cx->state == CONN_DEAD)
		return;
	if (cx->state == CONN_WRITE)
		conn_next(cx);
	else if (cx->state == CONN_CLOSING)
		conn_linger(cx);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *cx = arg;

	cx->write_armed = false;
	if (cx->state == CONN_HANDSHAKE) {
		conn_read_cb(fd, EV_READ, cx);
		return;
	}
	if (cx->tls_read_wants_write) {
		cx->tls_read_wants_write = false;
		conn_read_cb(fd, EV_READ, cx);
		if (cx->state == CONN_DEAD)
			return;
	}
	conn_flush(cx);
}

/* ----------------------------------------------------------------- input */

/* One read from the client: one recv, or with TLS every record already
 * decrypted too (those never wake epoll again), while the input is under
 * its high-water mark. */
static const struct sockio_rlim conn_rlim = {
    .chunk = SOCKIO_READ_BYTES,
    .tls_want = 0,
    .tls_in_max = PROXY_IN_HIGH_WM,
    .tls_err_after_data = false,
};

static void
conn_handshake(struct conn *cx)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(cx->ssl);
	if (r == 1) {
		cx->state = CONN_IDLE;
		conn_arm(cx, DL_HEAD);
		return;
	}
	switch (SSL_get_error(cx->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return;
	case SSL_ERROR_WANT_WRITE:
		if (!cx->write_armed) {
			cx->write_armed = true;
			event_add(&cx->ev_write, NULL);
		}
		return;
	default:
		log_debug("%s: client %s: TLS handshake failed", __func__,
		    cx->peer);
		conn_abort(cx, false);
		return;
	}
}

/*
 * A FIN while the response has not begun: a client that only half-closed
 * (shutdown) still reads, one that closed its socket does not, and both
 * look the same from here. An interim 100 (Continue), which every
 * HTTP/1.1 client must accept unasked (RFC 9110 §15.2), tells them apart:
 * a closed socket answers it with a RST, which cancels the request; a
 * half-closed one reads it and then gets its response.
 */
static void
conn_probe(struct conn *cx)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (conn_add(cx, cont, sizeof(cont) - 1) == -1)
		return;
	conn_arm(cx, DL_PROBE);
}

/* Stops reading while the input holds more than we will parse soon. */
static void
conn_read_limit(struct conn *cx)
{
	bool want = !cx->eof && cx->state != CONN_DEAD &&
	    (cx->state == CONN_IDLE || cx->state == CONN_HEAD ||
	        cx->state == CONN_CLOSING || cx->state == CONN_HANDSHAKE ||
	        evbuffer_get_length(cx->in) < PROXY_IN_HIGH_WM);

	if (cx->state == CONN_TUNNEL)
		want = !cx->eof && !cx->paused;
	if (want && !cx->reading) {
		event_add(&cx->ev_read, NULL);
		cx->reading = true;
	} else if (!want && cx->reading) {
		event_del(&cx->ev_read);
		cx->reading = false;
	}
}

/* Hands buffered input to whoever reads it in the current state. */
static void
conn_dispatch(struct conn *cx)
{
	switch (cx->state) {
	case CONN_IDLE:
	case CONN_HEAD:
		conn_parse(cx);
		break;
	case CONN_BODY:
		if (!cx->paused && cx->req != NULL)
			request_input(cx->req);
		break;
	case CONN_TUNNEL:
		if (cx->req != NULL)
			request_tunnel_input(cx->req);
		break;
	case CONN_CLOSING:
		evbuffer_drain(cx->in, evbuffer_get_length(cx->in));
		break;
	default:
		/* WAIT, WRITE: the next pipelined head waits its turn */
		break;
	}
	if (cx->state == CONN_DEAD)
		return;
	/* A FIN inside a request body: the body can never complete. */
	if (cx->eof && cx->state == CONN_BODY && !cx->paused) {
		log_debug("%s: client %s closed inside a body", __func__,
		    cx->peer);
		conn_abort(cx, false);
		return;
	}
	conn_read_limit(cx);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *cx = arg;
	enum sockio_rd rd;
	bool wants_write = false;

	if (cx->redispatch) {
		/* conn_next: a pipelined head is already buffered */
		cx->redispatch = false;
		conn_dispatch(cx);
		return;
	}
	if (cx->tls_write_wants_read) {
		cx->tls_write_wants_read = false;
		conn_flush(cx);
		if (cx->state == CONN_DEAD)
			return;
	}
	if (cx->state == CONN_HANDSHAKE) {
		conn_handshake(cx);
		if (cx->state == CONN_HANDSHAKE || cx->state == CONN_DEAD)
			return;
	}
	rd = sockio_read(cx->fd, cx->ssl, cx->in, &conn_rlim, &wants_write);
	if (wants_write) {
		cx->tls_read_wants_write = true;
		if (!cx->write_armed) {
			cx->write_armed = true;
			event_add(&cx->ev_write, NULL);
		}
	}
	switch (rd) {
	case SOCKIO_NONE:
		return;
	case SOCKIO_ERR:
		/* A reset: the client is gone, whatever it asked (RFC 9293
		 * §3.10.7.4); the request is cancelled. */
		log_debug("%s: client %s: read error", __func__, cx->peer);
		conn_abort(cx, false);
		return;
	case SOCKIO_EOF:
		/*
		 * A FIN is a half-close (RFC 9293 §3.6): the client sent all
		 * it will send, and may still read. A complete request is
		 * answered, then the connection closes; only a body cut short
		 * or an idle connection ends here.
		 */
		cx->eof = true;
		event_del(&cx->ev_read);
		cx->reading = false;
		if (cx->state == CONN_CLOSING) {
			conn_abort(cx, false);
			return;
		}
		if (cx->state == CONN_TUNNEL && cx->req != NULL) {
			request_tunnel_input(cx->req);
			return;
		}
		if (cx->state == CONN_WAIT && cx->req != NULL &&
		    request_may_probe(cx->req))
			conn_probe(cx);
		break;
	default:
		break;
	}
	conn_dispatch(cx);
}

/* ----------------------------------------------------------- the head */

static void
conn_parse(struct conn *cx)
{
	size_t len;
	int r;

	while (cx->state == CONN_IDLE || cx->state == CONN_HEAD) {
		len = evbuffer_get_length(cx->in);
		if (len == 0) {
			if (cx->eof)
				conn_close(cx);
			return;
		}
		if (cx->state == CONN_IDLE) {
			cx->state = CONN_HEAD;
			cx->saw_bytes = true;
			conn_arm(cx, DL_HEAD);
		}
		r = request_try_head(cx);
		if (r == 0) {
			/* incomplete: a FIN means it never will be */
			if (cx->eof)
				conn_close(cx);
			return;
		}
		/* started or refused: the state moved on */
	}
}

void
conn_set_state(struct conn *cx, enum conn_state state)
{
	if (cx->state == CONN_DEAD || cx->state == CONN_CLOSING)
		return;
	cx->state = state;
	/* Only a body being read is timed here. WAIT and WRITE: the
	 * upstream has its own deadlines; only a client that takes nothing
	 * is timed (conn_watch_output); a tunnel has its idle timer. */
	conn_arm(cx, state == CONN_BODY && !cx->paused ? DL_BODY : DL_NONE);
	if (state == CONN_BODY ? cx->paused : state != CONN_TUNNEL)
		conn_watch_output(cx);
	conn_read_limit(cx);
}

void
conn_pause(struct conn *cx, bool paused)
{
	if (cx->paused == paused || cx->state == CONN_DEAD)
		return;
	cx->paused = paused;
	if (cx->state == CONN_BODY) {
		/* no body deadline while we hold the client back; a response
		 * it does not read is still timed */
		conn_arm(cx, paused ? DL_NONE : DL_BODY);
		if (paused)
			conn_watch_output(cx);
		else
			conn_dispatch(cx);
		return;
	}
	conn_read_limit(cx);
}

void
conn_request_done(struct conn *cx, bool keep_alive)
{
	if (cx->state == CONN_DEAD)
		return;
	cx->paused = false;
	if (!keep_alive || atomic_load(&proxy_g->draining)) {
		conn_close(cx);
		return;
	}
	if (cx->state == CONN_CLOSING)
		return;
	cx->state = CONN_WRITE;
	conn_arm(cx, DL_NONE);
	if (evbuffer_get_length(cx->out) > 0) {
		/* conn_flush times what the socket does not take at once */
		conn_schedule_write(cx);
		return;
	}
	conn_next(cx);
}

/* The response is out: the next request may start. */
static void
conn_next(struct conn *cx)
{
	cx->state = CONN_IDLE;
	cx->saw_bytes = false;
	if (atomic_load(&proxy_g->draining)) {
		conn_close(cx);
		return;
	}
	conn_arm(cx, DL_IDLE);
	if (evbuffer_get_length(cx->in) > 0 || cx->eof) {
		/* a pipelined request, parsed from the loop: no recursion
		 * through a chain of pipelined requests */
		cx->redispatch = true;
		event_active(&cx->ev_read, EV_READ, 1);
		return;
	}
	conn_read_limit(cx);
}

/* ----------------------------------------------------------------- timer */

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *cx = arg;
	enum conn_deadline dl = cx->dl;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!ltimer_due(&cx->timer))
		return;
	cx->dl = DL_NONE;
	switch (dl) {
	case DL_HEAD:
		if (cx->state == CONN_HEAD && cx->saw_bytes)
			request_reject_conn(cx, 408, "head_timeout");
		else
			conn_abort(cx, false);
		return;
	case DL_IDLE:
	case DL_LINGER:
		conn_abort(cx, false);
		return;
	case DL_BODY:
		if (cx->req != NULL)
			request_timeout(cx->req);
		else
			conn_abort(cx, false);
		return;
	case DL_PROBE:
		if (evbuffer_get_length(cx->out) > 0) {
			conn_arm(cx, DL_WRITE); /* writes will tell */
			return;
		}
		/* after our FIN-received state a reset is EPIPE, seen only
		 * in the socket's pending error (recv reports the FIN) */
		if (getsockopt(cx->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) ==
		        -1 ||
		    soerr != 0) {
			log_debug("%s: client %s reset its half-closed "
			          "connection",
			    __func__, cx->peer);
			conn_abort(cx, false);
			return;
		}
		conn_arm(cx, DL_PROBE);
		return;
	case DL_WRITE:
		if (evbuffer_get_length(cx->out) == 0)
			return; /* all written: nothing to time */
		if (cx->written != cx->dl_mark || conn_outq(cx) < cx->dl_outq) {
			conn_arm(cx, DL_WRITE); /* it took bytes: next period */
			return;
		}
		log_debug("%s: client %s took no byte in %d ms with %zu "
		          "queued: cut",
		    __func__, cx->peer, cx_conf(cx)->idle_timeout_ms,
		    evbuffer_get_length(cx->out));
		conn_abort(cx, true);
		return;
	default:
		return;
	}
}

/* ---------------------------------------------------------------- accept */

static void
peer_format(struct conn *cx, const struct sockaddr *sa)
{
	snprintf(cx->peer, sizeof(cx->peer), "unknown");
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		memcpy(&cx->sa, s4, sizeof(*s4));
		inet_ntop(AF_INET, &s4->sin_addr, cx->peer, sizeof(cx->peer));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		memcpy(&cx->sa, s6, sizeof(*s6));
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], cx->peer,
			    sizeof(cx->peer));
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, cx->peer,
			    sizeof(cx->peer));
	}
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct worker *w = arg;
	struct server *srv = proxy_g->srv;
	struct conn *cx;

	if (!wgen_refresh(w) || (cx = calloc(1, sizeof(*cx))) == NULL) {
		close(fd);
		return;
	}
	cx->w = w;
	cx->fd = fd;
	if ((cx->in = evbuffer_new()) == NULL ||
	    (cx->out = evbuffer_new()) == NULL)
		goto fail;
	event_assign(&cx->ev_read, w->base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, cx);
	event_assign(&cx->ev_write, w->base, fd, EV_WRITE, conn_write_cb, cx);
	(void)ltimer_init(&cx->timer, w->base, conn_timer_cb, cx);
	/* No TCP_NODELAY: a response goes out in one write anyway, and with
	 * it a reader with a receive window under the MSS (16 KB on loopback,
	 * whose MSS is 64 KB) was fed in sub-MSS segments paced by delayed
	 * ACKs: 1 MB took 8 s instead of 40 ms. */
	peer_format(cx, sa);
	cx->state = CONN_IDLE;
	if (srv->pub.tls) {
		SSL_CTX *ctx =
		    w->wg->gen->tls != NULL ? w->wg->gen->tls : srv->tls_first;

		int one = 1;

		/* TLS writes go out a record (at most 16 KB) at a time, so
		 * Nagle would hold every record after the first of a response
		 * until the client's delayed ACK; records are never tiny, so
		 * TCP_NODELAY costs no small segments. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if ((cx->ssl = SSL_new(ctx)) == NULL ||
		    SSL_set_fd(cx->ssl, fd) != 1)
			goto fail;
		SSL_set_accept_state(cx->ssl);
		cx->state = CONN_HANDSHAKE;
	}
	if (event_add(&cx->ev_read, NULL) == -1)
		goto fail;
	cx->reading = true;
	conn_arm(cx, DL_HEAD);
	cx->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = cx;
	w->conns = cx;
	metrics_connections(w->ms, 1);
	return;
fail:
	if (cx->ssl != NULL)
		SSL_free(cx->ssl);
	if (cx->in != NULL)
		evbuffer_free(cx->in);
	if (cx->out != NULL)
		evbuffer_free(cx->out);
	free(cx);
	close(fd);
}

/* ---------------------------------------------------------------- workers */

static void
worker_stop_accepting(struct worker *w)
{
	struct server *srv = proxy_g->srv;
	struct conn *cx, *next;
	size_t i;

	for (i = 0; i < w->n_lev; i++)
		evconnlistener_free(w->lev[i]);
	w->n_lev = 0;
	/* The last worker out closes the sockets: new connections are
	 * refused, not queued. */
	if (atomic_fetch_add(&srv->n_stopped, 1) + 1 == srv->n_init) {
		for (i = 0; i < srv->pub.n_fd; i++)
			close(srv->pub.fd[i]);
		srv->pub.n_fd = 0;
	}
	/* idle keep-alive connections have nothing to finish */
	for (cx = w->conns; cx != NULL; cx = next) {
		next = cx->next;
		if (cx->state == CONN_IDLE || cx->state == CONN_HANDSHAKE)
			conn_abort(cx, false);
	}
}

static void
ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t v;
	unsigned bits;

	/* An eventfd: the read only resets its counter; the bits say what
	 * to do, so a failed or short read loses nothing. */
	if (read(fd, &v, sizeof(v)) < 0)
		v = 0;
	bits = atomic_exchange(&w->ctl, 0);
	if (bits & WORKER_CTL_STOP)
		worker_stop_accepting(w);
	if (bits & WORKER_CTL_EXIT)
		event_base_loopbreak(w->base);
}

static void
worker_send(struct worker *w, unsigned bits)
{
	uint64_t one = 1;

	atomic_fetch_or(&w->ctl, bits);
	/* EAGAIN means the counter is already non-zero: the worker wakes
	 * anyway and reads |ctl|. */
	if (write(w->ctl_fd, &one, sizeof(one)) < 0)
		return;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct conn *cx;

	event_base_dispatch(w->base);
	/* Cancel what is still open (drain timed out, idle keep-alives)
	 * so upstream requests end before the pools go. */
	while ((cx = w->conns) != NULL)
		conn_abort(cx, false);
	reap_cb(-1, 0, w);
	return NULL;
}

static int
worker_init(struct worker *w, struct server *srv, int index)
{
	struct event_config *cfg;
	size_t i;

	w->index = index;
	w->ctl_fd = -1;
	if ((cfg = event_config_new()) == NULL)
		return -1;
	/*
	 * Nothing libevent owns is shared between threads: each worker has
	 * its base, events, buffers, pools and timers, and talks to main
	 * through an eventfd and atomics. So no locks. The epoll changelist
	 * folds the add/del pairs of one loop pass into one epoll_ctl; it
	 * is unsafe only with dup()ed fds, which bearerd never makes.
	 */
	event_config_set_flag(cfg,
	    EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL)
		return -1;
	w->dns = proxy_dns_new(w->base);
	if ((w->ms = metrics_shard_new()) == NULL)
		return -1;
	if (w->dns == NULL)
		w->dns = evdns_base_new(w->base, 0);
	if (!wgen_refresh(w))
		return -1;
	if ((w->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (w->ctl_ev = event_new(w->base, w->ctl_fd, EV_READ | EV_PERSIST,
	         ctl_cb, w)) == NULL ||
	    event_add(w->ctl_ev, NULL) == -1)
		return -1;
	if ((w->reap_ev = event_new(w->base, -1, 0, reap_cb, w)) == NULL ||
	    (w->tmp = evbuffer_new()) == NULL)
		return -1;
	for (i = 0; i < srv->pub.n_fd; i++) {
		w->lev[i] = evconnlistener_new(w->base, accept_cb, w,
		    LEV_OPT_CLOSE_ON_EXEC, 0, srv->pub.fd[i]);
		if (w->lev[i] == NULL)
			return -1;
		w->n_lev++;
	}
	return 0;
}

/* Frees what worker_init made; the thread, if any, has been joined. */
static void
worker_cleanup(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->n_lev; i++)
		evconnlistener_free(w->lev[i]);
	w->n_lev = 0;
	wgen_unref(w->wg);
	w->wg = NULL;
	if (w->dns != NULL)
		evdns_base_free(w->dns, 0);
	/* bufferevent_free() finishes through a deferred callback of this
	 * base, whose loop has stopped: one pass releases them. */
	if (w->base != NULL)
		event_base_loop(w->base, EVLOOP_NONBLOCK);
	if (w->ctl_ev != NULL)
		event_free(w->ctl_ev);
	if (w->reap_ev != NULL)
		event_free(w->reap_ev);
	if (w->tmp != NULL)
		evbuffer_free(w->tmp);
	if (w->ctl_fd != -1)
		close(w->ctl_fd);
	free(w->head_buf);
	free(w->fields);
	if (w->base != NULL)
		event_base_free(w->base);
}

int
server_start(struct proxy *p)
{
	const struct conf *c = p->gen->conf;
	struct server *srv;
	int i;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return -1;
	p->srv = srv;
	if (listen_bind(c->listen_host, c->listen_port, c->backlog, srv->pub.fd,
	        PROXY_MAX_LISTEN, &srv->pub.n_fd) != 0)
		return -1;
	srv->pub.tls = p->gen->tls != NULL;
	if (srv->pub.tls) {
		SSL_CTX_up_ref(p->gen->tls);
		srv->tls_first = p->gen->tls;
	}
	if ((srv->workers =
	            calloc((size_t)c->workers, sizeof(*srv->workers))) == NULL)
		return -1;
	for (i = 0; i < c->workers; i++) {
		srv->n_init = i + 1;
		if (worker_init(&srv->workers[i], srv, i) != 0) {
			log_warnx("%s: cannot set up worker %d", __func__, i);
			return -1;
		}
	}
	for (i = 0; i < srv->n_init; i++) {
		if (pthread_create(&srv->workers[i].thread, NULL, worker_main,
		        &srv->workers[i]) != 0) {
			log_warnx("%s: cannot start worker %d", __func__, i);
			return -1;
		}
		srv->n_workers = i + 1;
	}
	log_info("listening on %s:%s with %d workers%s", c->listen_host,
	    c->listen_port, srv->n_workers, srv->pub.tls ? " (TLS)" : "");
	return 0;
}

int
server_inflight(const struct proxy *p)
{
	const struct server *srv = p->srv;
	int i, n = 0;

	if (srv == NULL)
		return 0;
	for (i = 0; i < srv->n_init; i++)
		n += atomic_load(&srv->workers[i].inflight);
	return n;
}

void
server_stop_accepting(struct proxy *p)
{
	struct server *srv = p->srv;
	int i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->n_workers; i++)
		worker_send(&srv->workers[i], WORKER_CTL_STOP);
}

void
server_free(struct proxy *p)
{
	struct server *srv = p->srv;
	int i;
	size_t k;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->n_workers; i++)
		worker_send(&srv->workers[i], WORKER_CTL_EXIT);
	for (i = 0; i < srv->n_workers; i++)
		pthread_join(srv->workers[i].thread, NULL);
	for (i = 0; i < srv->n_init; i++)
		worker_cleanup(&srv->workers[i]);
	for (k = 0; k < srv->pub.n_fd; k++)
		close(srv->pub.fd[k]);
	SSL_CTX_free(srv->tls_first);
	free(srv->workers);
	free(srv);
	p->srv = NULL;
}
