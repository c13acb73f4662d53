/* SPDX-License-Identifier: MIT */
/* openloop: an open-loop (fixed-rate) HTTP/1.1 load generator that measures
 * latency from each request's scheduled send time. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/*
 * Usage: openloop -r RATE [-c CONNS] [-d SECONDS] [-t TIMEOUT_MS]
 *                 [-L MAX_LAG_US] [-H 'Name: value']... http://HOST:PORT/PATH
 *
 * Request k (k = 0, 1, ...) is due at t0 + k / RATE and goes to connection
 * k mod CONNS, so each keep-alive connection carries RATE / CONNS requests
 * per second, evenly interleaved. Requests are not pipelined: a request due
 * while its connection still waits for the previous response is sent when
 * that response has arrived. Latency is always measured from the due time,
 * never from the actual send, so a stalled server is charged for every
 * request it delayed (no coordinated omission).
 *
 * One line on stdout, key=value pairs separated by spaces:
 *   conns duration_s offered_rps achieved_rps requests responses
 *   p50_us p90_us p99_us p99.9_us max_us non2xx errors timeouts unsent
 *   lag_p99_us lag_max_us
 * achieved_rps counts the responses completed inside the DURATION window.
 * lag_* is this generator's own lateness: how long after its due time each
 * request was released (the timer's and the CPU's delay, not the server's).
 * On a core shared with other work, run it at real-time priority (chrt -f 1):
 * a normal-priority timer there wakes milliseconds late.
 *
 * Exit status: 0 when the schedule was kept; 2 when it was not (achieved
 * below 95% of offered, requests left unsent or timed out, or this
 * generator's lag p99 above MAX_LAG_US), with the reason on stderr; 1 on a
 * usage error, a connection that never came up, or a response it does not
 * read (a chunked body, an interim 1xx). A malformed response, a reset or a
 * connect that fails later counts in errors and the connection is opened
 * again.
 */

#define OL_HEAD_MAX 16384 /* bytes of response head per conn */
#define OL_REQ_MAX 8192   /* bytes of the request */
#define OL_MAX_CONNS 20000
#define OL_MAX_REQUESTS 10000000ULL /* latency samples kept in memory */
#define OL_MAX_HEADERS 64
#define OL_CHECK_NS 10000000LL   /* timeout and reconnect sweep: 10 ms */
#define OL_KEEP_UP_FRACTION 0.95 /* achieved / offered below this fails */
#define OL_EVENTS 256

enum ol_state {
	OL_DOWN,       /* no socket; reconnect at the next sweep */
	OL_CONNECTING, /* non-blocking connect in progress */
	OL_IDLE,       /* connected, nothing in flight */
	OL_SENDING,    /* request partly written, waiting for EPOLLOUT */
	OL_READING,    /* request written, response not complete */
};

struct ol_conn {
	int fd;
	enum ol_state state;
	unsigned idx;      /* this connection's k is idx + j * conns */
	uint64_t released; /* requests whose due time has come */
	uint64_t sent;     /* requests written (or being written) */
	int64_t due_ns;    /* due time of the request in flight */
	int64_t sent_ns;   /* when it was written: the timeout runs from here */
	int64_t since_ns;  /* when the connect started */
	size_t woff;       /* bytes of the request written so far */
	char head[OL_HEAD_MAX];
	size_t head_len;
	int head_done;
	int status;
	uint64_t body_left; /* Content-Length bytes still to read */
	int body_to_eof;    /* no length: the body ends at the close */
	int close_after;    /* Connection: close, or HTTP/1.0 */
};

struct ol {
	/* options */
	double rate;
	unsigned nconns;
	double duration_s;
	int64_t timeout_ns;
	double max_lag_us;
	struct addrinfo *ai; /* owned; freeaddrinfo at exit */
	char req[OL_REQ_MAX];
	size_t req_len;

	int ep;
	int tfd;
	int64_t armed_ns; /* what the timerfd is set to */
	struct ol_conn *conns;
	uint64_t total;  /* requests in the schedule */
	uint64_t next_k; /* the next request to release */
	int64_t t0;
	int64_t t_end;

	uint64_t *lat_ns; /* one per response, in completion order */
	uint64_t nlat;
	uint64_t *lag_ns; /* one per release */
	uint64_t nlag;
	uint64_t in_window; /* responses completed before t_end */
	uint64_t non2xx;
	uint64_t errors;
	uint64_t timeouts;
	int fatal; /* a response this program refuses to read */
};

static char ol_scratch[65536]; /* body bytes are read here and dropped */

static int64_t
ol_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t
ol_due(const struct ol *o, uint64_t k)
{
	return o->t0 + (int64_t)((double)k * 1e9 / o->rate);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: openloop -r RATE [-c CONNS] [-d SECONDS] [-t TIMEOUT_MS]\n"
	    "                [-L MAX_LAG_US] [-H 'Name: value']... "
	    "http://HOST:PORT/PATH\n"
	    "  -r  total requests per second over all connections "
	    "(required)\n"
	    "  -c  keep-alive connections (default 128)\n"
	    "  -d  seconds of schedule (default 10)\n"
	    "  -t  a response slower than this counts as a timeout "
	    "(default 2000)\n"
	    "  -L  this generator's lag p99 above which the run fails "
	    "(default 1000)\n"
	    "  -H  an extra request header, e.g. 'Cookie: token=...'\n");
}

static int
parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

/* Appends |len| bytes of |s| to the request; -1 when it would not fit. */
static int
req_add(struct ol *o, const char *s, size_t len)
{
	if (len >= sizeof(o->req) - o->req_len)
		return -1;
	memcpy(o->req + o->req_len, s, len);
	o->req_len += len;
	o->req[o->req_len] = '\0';
	return 0;
}

static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * Splits http://HOST[:PORT]/PATH (HOST may be [v6]); resolves it into o->ai
 * and starts the request with its request line and Host. -1 with a message.
 */
static int
parse_url(struct ol *o, const char *url)
{
	char host[256], port[8] = "80";
	const char *p, *hend, *path;
	struct addrinfo hints;
	size_t hlen;
	int rv;

	if (strncmp(url, "http://", 7) != 0) {
		fprintf(stderr, "openloop: %s: only http:// URLs\n", url);
		return -1;
	}
	p = url + 7;
	path = strchr(p, '/');
	if (path == NULL)
		path = p + strlen(p);
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(path - p));
		if (hend == NULL)
			goto bad;
		hlen = (size_t)(hend - p - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			goto bad;
		memcpy(host, p + 1, hlen);
		hend++;
	} else {
		hend = memchr(p, ':', (size_t)(path - p));
		if (hend == NULL)
			hend = path;
		hlen = (size_t)(hend - p);
		if (hlen == 0 || hlen >= sizeof(host))
			goto bad;
		memcpy(host, p, hlen);
	}
	host[hlen] = '\0';
	if (hend < path) {
		size_t plen = (size_t)(path - hend - 1);

		if (*hend != ':' || plen == 0 || plen >= sizeof(port))
			goto bad;
		memcpy(port, hend + 1, plen);
		port[plen] = '\0';
		for (size_t i = 0; i < plen; i++)
			if (!isdigit((unsigned char)port[i]))
				goto bad;
	}
	if (*path == '\0')
		path = "/";
	if (has_ctl(path) || strchr(path, ' ') != NULL)
		goto bad;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rv = getaddrinfo(host, port, &hints, &o->ai);
	if (rv != 0) {
		fprintf(stderr, "openloop: %s: %s\n", host, gai_strerror(rv));
		return -1;
	}
	if (req_add(o, "GET ", 4) < 0 || req_add(o, path, strlen(path)) < 0 ||
	    req_add(o, " HTTP/1.1\r\nHost: ", 17) < 0 ||
	    req_add(o, p, (size_t)(path - p)) < 0 || req_add(o, "\r\n", 2) < 0)
		goto toolong;
	return 0;
bad:
	fprintf(stderr, "openloop: %s: not http://HOST[:PORT]/PATH\n", url);
	return -1;
toolong:
	fprintf(stderr, "openloop: the request is over %d bytes\n", OL_REQ_MAX);
	return -1;
}

static int
add_header(struct ol *o, const char *h)
{
	const char *colon = strchr(h, ':');

	if (colon == NULL || colon == h || has_ctl(h)) {
		fprintf(stderr, "openloop: -H %s: not 'Name: value'\n", h);
		return -1;
	}
	if (req_add(o, h, strlen(h)) < 0 || req_add(o, "\r\n", 2) < 0) {
		fprintf(stderr, "openloop: the request is over %d bytes\n",
		    OL_REQ_MAX);
		return -1;
	}
	return 0;
}

static void
ol_arm(struct ol *o, int64_t at_ns)
{
	struct itimerspec its;

	if (at_ns == o->armed_ns)
		return;
	memset(&its, 0, sizeof(its));
	/* An all-zero it_value would disarm the timer. */
	if (at_ns <= 0)
		at_ns = 1;
	its.it_value.tv_sec = (time_t)(at_ns / 1000000000LL);
	its.it_value.tv_nsec = (long)(at_ns % 1000000000LL);
	if (timerfd_settime(o->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		perror("openloop: timerfd_settime");
		exit(1);
	}
	o->armed_ns = at_ns;
}

static void
conn_close(struct ol *o, struct ol_conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(o->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = OL_DOWN;
}

static int
conn_watch(struct ol *o, struct ol_conn *c, uint32_t events, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	return epoll_ctl(o->ep, op, c->fd, &ev);
}

/* Starts a non-blocking connect; on failure the connection stays down and
 * the error is counted (the sweep tries again). */
static void
conn_open(struct ol *o, struct ol_conn *c, int64_t now)
{
	const struct addrinfo *ai = o->ai;
	int one = 1;

	c->fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (c->fd < 0) {
		perror("openloop: socket");
		o->errors++;
		return;
	}
	/* One small write per request: no Nagle delay behind an ACK. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->since_ns = now;
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS) {
		o->errors++;
		conn_close(o, c);
		return;
	}
	if (conn_watch(o, c, EPOLLOUT, EPOLL_CTL_ADD) < 0) {
		perror("openloop: epoll_ctl");
		exit(1);
	}
	c->state = OL_CONNECTING;
}

static void
conn_fail(struct ol *o, struct ol_conn *c)
{
	o->errors++;
	conn_close(o, c);
}

/* The server closed a keep-alive connection in turn (Connection: close, or
 * idle): not an error, so a new one is opened at once rather than at the
 * next sweep, while there is still work for it. */
static void
conn_reopen(struct ol *o, struct ol_conn *c, int64_t now)
{
	conn_close(o, c);
	if (now < o->t_end || c->sent < c->released)
		conn_open(o, c, now);
}

static void conn_send(struct ol *o, struct ol_conn *c, int64_t now);

/* Writes what is left of the request; -1 when the connection failed. */
static int
conn_write(struct ol *o, struct ol_conn *c)
{
	while (c->woff < o->req_len) {
		ssize_t n = send(c->fd, o->req + c->woff, o->req_len - c->woff,
		    MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->state != OL_SENDING &&
			    conn_watch(o, c, EPOLLIN | EPOLLOUT,
			        EPOLL_CTL_MOD) < 0)
				return -1;
			c->state = OL_SENDING;
			return 0;
		}
		if (n <= 0)
			return -1;
		c->woff += (size_t)n;
	}
	if (c->state == OL_SENDING &&
	    conn_watch(o, c, EPOLLIN, EPOLL_CTL_MOD) < 0)
		return -1;
	c->state = OL_READING;
	return 0;
}

/* Sends this connection's oldest released request. */
static void
conn_send(struct ol *o, struct ol_conn *c, int64_t now)
{
	uint64_t k = c->idx + c->sent * o->nconns;

	c->due_ns = ol_due(o, k);
	c->sent_ns = now;
	c->sent++;
	c->woff = 0;
	c->head_len = 0;
	c->head_done = 0;
	c->state = OL_IDLE;
	if (conn_write(o, c) < 0)
		conn_fail(o, c);
}

static int
token_has(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= len; i++)
		if (strncasecmp(v + i, tok, tl) == 0 &&
		    (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
		    (i + tl == len || v[i + tl] == ',' || v[i + tl] == ' '))
			return 1;
	return 0;
}

/*
 * Parses the complete head in c->head[0..end): status line (RFC 9112 §4),
 * Content-Length, Transfer-Encoding, Connection. Sets the body framing
 * (RFC 9112 §6.3). Returns 0, or -1 with o->fatal set when the response is
 * one this program does not read, or -1 alone for a malformed head.
 */
static int
parse_head(struct ol *o, struct ol_conn *c, size_t end)
{
	const char *h = c->head, *line, *eol;
	int have_len = 0, minor;
	uint64_t len = 0;

	if (end < 12 || strncmp(h, "HTTP/1.", 7) != 0 ||
	    (h[7] != '0' && h[7] != '1') || h[8] != ' ' ||
	    !isdigit((unsigned char)h[9]) || !isdigit((unsigned char)h[10]) ||
	    !isdigit((unsigned char)h[11]))
		return -1;
	minor = h[7] - '0';
	c->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
	if (c->status < 200) {
		/* No request of ours asks for an interim response. */
		fprintf(stderr, "openloop: unexpected %d response\n",
		    c->status);
		o->fatal = 1;
		return -1;
	}
	c->close_after = minor == 0;
	line = memchr(h, '\n', end);
	while (line != NULL && (size_t)(line + 1 - h) < end) {
		const char *name = line + 1, *colon, *v;
		size_t nlen, vlen;

		eol = memchr(name, '\n', end - (size_t)(name - h));
		if (eol == NULL)
			return -1;
		line = eol;
		if (eol > name && eol[-1] == '\r')
			eol--;
		if (eol == name)
			break; /* the empty line */
		colon = memchr(name, ':', (size_t)(eol - name));
		if (colon == NULL)
			return -1;
		nlen = (size_t)(colon - name);
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t)(eol - v);
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (nlen == 17 &&
		    strncasecmp(name, "transfer-encoding", 17) == 0) {
			fprintf(stderr,
			    "openloop: the response has Transfer-Encoding: "
			    "%.*s; only Content-Length bodies are supported\n",
			    (int)vlen, v);
			o->fatal = 1;
			return -1;
		}
		if (nlen == 14 &&
		    strncasecmp(name, "content-length", 14) == 0) {
			uint64_t n = 0;

			if (vlen == 0 || vlen > 18)
				return -1;
			for (size_t i = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)v[i]))
					return -1;
				n = n * 10 + (uint64_t)(v[i] - '0');
			}
			/* RFC 9110 §8.6: differing values are an error. */
			if (have_len && n != len)
				return -1;
			have_len = 1;
			len = n;
		}
		if (nlen == 10 && strncasecmp(name, "connection", 10) == 0) {
			if (token_has(v, vlen, "close"))
				c->close_after = 1;
			else if (token_has(v, vlen, "keep-alive"))
				c->close_after = 0;
		}
	}
	c->body_to_eof = 0;
	if (c->status == 204 || c->status == 304)
		c->body_left = 0;
	else if (have_len)
		c->body_left = len;
	else {
		c->body_left = 0;
		c->body_to_eof = 1;
		c->close_after = 1;
	}
	return 0;
}

static void
ol_record(struct ol *o, struct ol_conn *c, int64_t now)
{
	int64_t d = now - c->due_ns;

	if (o->nlat < o->total)
		o->lat_ns[o->nlat++] = d > 0 ? (uint64_t)d : 0;
	if (now <= o->t_end)
		o->in_window++;
	if (c->status < 200 || c->status > 299)
		o->non2xx++;
}

/* A whole response is in: records it, then sends the next due request,
 * goes idle, or closes when the server asked for it. */
static void
conn_done(struct ol *o, struct ol_conn *c)
{
	int64_t now = ol_now();

	ol_record(o, c, now);
	if (c->close_after) {
		conn_reopen(o, c, now);
		return;
	}
	c->state = OL_IDLE;
	if (c->sent < c->released)
		conn_send(o, c, now);
}

/* Consumes body bytes in |buf|; -1 when bytes arrive after the response
 * (nothing of ours is pipelined). */
static int
conn_body(struct ol *o, struct ol_conn *c, size_t n)
{
	if (c->body_to_eof)
		return 0;
	if (n > c->body_left)
		return -1;
	c->body_left -= n;
	if (c->body_left == 0)
		conn_done(o, c);
	return 0;
}

static void
conn_readable(struct ol *o, struct ol_conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->state != OL_READING && c->state != OL_SENDING) {
			/* Idle: anything but the close is out of turn. */
			n = recv(c->fd, ol_scratch, sizeof(ol_scratch), 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n == 0)
				conn_reopen(o, c, ol_now());
			else
				conn_fail(o, c);
			return;
		}
		if (!c->head_done)
			n = recv(c->fd, c->head + c->head_len,
			    sizeof(c->head) - c->head_len, 0);
		else
			n = recv(c->fd, ol_scratch, sizeof(ol_scratch), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			conn_fail(o, c);
			return;
		}
		if (n == 0) {
			if (c->head_done && c->body_to_eof)
				conn_done(o, c); /* closes too */
			else
				conn_fail(o, c);
			return;
		}
		if (!c->head_done) {
			size_t old = c->head_len, from, end;
			const char *e;

			c->head_len += (size_t)n;
			/* The blank line may straddle two reads. */
			from = old >= 3 ? old - 3 : 0;
			e = memmem(c->head + from, c->head_len - from,
			    "\r\n\r\n", 4);
			if (e == NULL) {
				if (c->head_len == sizeof(c->head))
					conn_fail(o, c);
				continue;
			}
			end = (size_t)(e - c->head) + 4;
			c->head_done = 1;
			if (parse_head(o, c, end) < 0 ||
			    conn_body(o, c, c->head_len - end) < 0) {
				conn_fail(o, c);
				return;
			}
		} else if (conn_body(o, c, (size_t)n) < 0) {
			conn_fail(o, c);
			return;
		}
		if (c->state != OL_READING && c->state != OL_SENDING)
			return; /* idle, or closed */
	}
}

static void
conn_event(struct ol *o, struct ol_conn *c, uint32_t ev)
{
	int64_t now = ol_now();

	if (c->state == OL_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err != 0) {
			conn_fail(o, c);
			return;
		}
		if (conn_watch(o, c, EPOLLIN, EPOLL_CTL_MOD) < 0) {
			conn_fail(o, c);
			return;
		}
		c->state = OL_IDLE;
		if (c->sent < c->released)
			conn_send(o, c, now);
		return;
	}
	if (c->state == OL_SENDING && (ev & EPOLLOUT) != 0 &&
	    conn_write(o, c) < 0) {
		conn_fail(o, c);
		return;
	}
	if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && c->fd >= 0)
		conn_readable(o, c);
}

/* Releases every request whose due time has come to its connection. */
static void
ol_release(struct ol *o, int64_t now)
{
	while (o->next_k < o->total) {
		int64_t due = ol_due(o, o->next_k);
		struct ol_conn *c;

		if (due > now)
			break;
		c = &o->conns[o->next_k % o->nconns];
		c->released++;
		o->lag_ns[o->nlag++] = (uint64_t)(now - due);
		o->next_k++;
		if (c->state == OL_IDLE)
			conn_send(o, c, now);
	}
}

/* Timeouts, connects that hang, and connections to bring back up. */
static void
ol_sweep(struct ol *o, int64_t now)
{
	for (unsigned i = 0; i < o->nconns; i++) {
		struct ol_conn *c = &o->conns[i];

		if ((c->state == OL_READING || c->state == OL_SENDING) &&
		    now - c->sent_ns > o->timeout_ns) {
			o->timeouts++;
			conn_close(o, c);
		} else if (c->state == OL_CONNECTING &&
		    now - c->since_ns > o->timeout_ns)
			conn_fail(o, c);
		if (c->state == OL_DOWN &&
		    (now < o->t_end || c->sent < c->released))
			conn_open(o, c, now);
	}
}

static int
ol_busy(const struct ol *o)
{
	for (unsigned i = 0; i < o->nconns; i++) {
		const struct ol_conn *c = &o->conns[i];

		if (c->sent < c->released || c->state == OL_READING ||
		    c->state == OL_SENDING)
			return 1;
	}
	return 0;
}

static void
ol_poll(struct ol *o, int64_t wake_ns)
{
	struct epoll_event evs[OL_EVENTS];
	int n;

	ol_arm(o, wake_ns);
	n = epoll_wait(o->ep, evs, OL_EVENTS, -1);
	if (n < 0 && errno != EINTR) {
		perror("openloop: epoll_wait");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL) {
			uint64_t ticks;

			if (read(o->tfd, &ticks, sizeof(ticks)) < 0 &&
			    errno != EAGAIN) {
				perror("openloop: timerfd read");
				exit(1);
			}
			o->armed_ns = 0;
			continue;
		}
		conn_event(o, evs[i].data.ptr, evs[i].events);
		if (o->fatal)
			return;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least |p| of them at or below
 * it. |v| is sorted; 0 when empty. */
static double
pct_us(const uint64_t *v, uint64_t n, double p)
{
	uint64_t r;

	if (n == 0)
		return 0;
	r = (uint64_t)((double)n * p + 0.999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return (double)v[r - 1] / 1000.0;
}

static int
ol_setup(struct ol *o)
{
	struct epoll_event ev;

	o->ep = epoll_create1(EPOLL_CLOEXEC);
	o->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (o->ep < 0 || o->tfd < 0) {
		perror("openloop: epoll/timerfd");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(o->ep, EPOLL_CTL_ADD, o->tfd, &ev) < 0) {
		perror("openloop: epoll_ctl");
		return -1;
	}
	o->conns = calloc(o->nconns, sizeof(*o->conns));
	if (o->conns == NULL) {
		fprintf(stderr, "openloop: out of memory\n");
		return -1;
	}
	for (unsigned i = 0; i < o->nconns; i++) {
		o->conns[i].fd = -1;
		o->conns[i].idx = i;
		o->conns[i].state = OL_DOWN;
	}
	o->lat_ns = calloc(o->total, sizeof(*o->lat_ns));
	o->lag_ns = calloc(o->total, sizeof(*o->lag_ns));
	if (o->lat_ns == NULL || o->lag_ns == NULL) {
		fprintf(stderr, "openloop: out of memory\n");
		return -1;
	}
	return 0;
}

/* Connects every connection before the clock starts, so no handshake is
 * charged to the first requests. */
static int
ol_connect_all(struct ol *o)
{
	int64_t start = ol_now(), now = start;

	for (unsigned i = 0; i < o->nconns; i++)
		conn_open(o, &o->conns[i], now);
	for (;;) {
		unsigned up = 0;

		for (unsigned i = 0; i < o->nconns; i++)
			up += o->conns[i].state == OL_IDLE;
		if (up == o->nconns)
			break;
		if (o->errors > 0 || now - start > o->timeout_ns) {
			fprintf(stderr,
			    "openloop: %u of %u connections came up "
			    "(%" PRIu64 " failed)\n",
			    up, o->nconns, o->errors);
			return -1;
		}
		ol_poll(o, now + OL_CHECK_NS);
		now = ol_now();
	}
	return 0;
}

static void
ol_run(struct ol *o)
{
	int64_t now, next_sweep;

	o->t0 = ol_now();
	o->t_end = o->t0 + (int64_t)(o->duration_s * 1e9);
	next_sweep = o->t0 + OL_CHECK_NS;
	now = o->t0;
	while (!o->fatal) {
		int64_t wake;

		ol_release(o, now);
		if (now >= next_sweep) {
			ol_sweep(o, now);
			next_sweep = now + OL_CHECK_NS;
		}
		if (o->next_k >= o->total && now >= o->t_end &&
		    (!ol_busy(o) || now >= o->t_end + o->timeout_ns))
			break;
		wake = next_sweep;
		if (o->next_k < o->total && ol_due(o, o->next_k) < wake)
			wake = ol_due(o, o->next_k);
		ol_poll(o, wake);
		now = ol_now();
	}
}

/* Prints the result line; returns 0, or 2 (saying why on stderr) when the
 * schedule was not kept. */
static int
ol_report(struct ol *o)
{
	uint64_t unsent = 0, inflight = 0;
	double achieved, lag99;
	int status = 0;

	for (unsigned i = 0; i < o->nconns; i++) {
		const struct ol_conn *c = &o->conns[i];

		unsent += c->released - c->sent;
		if (c->state == OL_READING || c->state == OL_SENDING)
			inflight++;
	}
	unsent += o->total - o->next_k;
	o->timeouts += inflight;
	qsort(o->lat_ns, o->nlat, sizeof(*o->lat_ns), cmp_u64);
	qsort(o->lag_ns, o->nlag, sizeof(*o->lag_ns), cmp_u64);
	achieved = (double)o->in_window / o->duration_s;
	lag99 = pct_us(o->lag_ns, o->nlag, 0.99);
	printf("conns=%u duration_s=%g offered_rps=%.1f achieved_rps=%.1f "
	       "requests=%" PRIu64 " responses=%" PRIu64 " p50_us=%.0f "
	       "p90_us=%.0f p99_us=%.0f p99.9_us=%.0f max_us=%.0f "
	       "non2xx=%" PRIu64 " errors=%" PRIu64 " timeouts=%" PRIu64
	       " unsent=%" PRIu64 " lag_p99_us=%.0f lag_max_us=%.0f\n",
	    o->nconns, o->duration_s, (double)o->total / o->duration_s,
	    achieved, o->total, o->nlat, pct_us(o->lat_ns, o->nlat, 0.50),
	    pct_us(o->lat_ns, o->nlat, 0.90), pct_us(o->lat_ns, o->nlat, 0.99),
	    pct_us(o->lat_ns, o->nlat, 0.999), pct_us(o->lat_ns, o->nlat, 1.0),
	    o->non2xx, o->errors, o->timeouts, unsent, lag99,
	    pct_us(o->lag_ns, o->nlag, 1.0));
	fflush(stdout);
	if (achieved <
	        OL_KEEP_UP_FRACTION * ((double)o->total / o->duration_s) ||
	    unsent > 0 || o->timeouts > 0) {
		fprintf(stderr,
		    "openloop: the schedule was not kept: %.1f of %.1f req/s "
		    "completed in time, %" PRIu64 " unsent, %" PRIu64
		    " timed out, %" PRIu64 " errors (the target is "
		    "saturated or stalled)\n",
		    achieved, (double)o->total / o->duration_s, unsent,
		    o->timeouts, o->errors);
		status = 2;
	}
	if (lag99 > o->max_lag_us) {
		fprintf(stderr,
		    "openloop: this generator fell behind its own schedule: "
		    "lag p99 %.0f us > %.0f us (the machine is too busy or "
		    "the rate too high for one thread)\n",
		    lag99, o->max_lag_us);
		status = 2;
	}
	return status;
}

static void
ol_free(struct ol *o)
{
	if (o->ai != NULL)
		freeaddrinfo(o->ai);
	if (o->conns != NULL)
		for (unsigned i = 0; i < o->nconns; i++)
			if (o->conns[i].fd >= 0)
				close(o->conns[i].fd);
	free(o->conns);
	free(o->lat_ns);
	free(o->lag_ns);
	if (o->tfd >= 0)
		close(o->tfd);
	if (o->ep >= 0)
		close(o->ep);
}

int
main(int argc, char **argv)
{
	struct ol o;
	double conns = 128, timeout_ms = 2000, total;
	const char *hdrs[OL_MAX_HEADERS];
	int opt, nhdrs = 0, rate_set = 0, status = 1;

	memset(&o, 0, sizeof(o));
	o.ep = -1;
	o.tfd = -1;
	o.duration_s = 10;
	o.max_lag_us = 1000;
	while ((opt = getopt(argc, argv, "r:c:d:t:L:H:h")) != -1) {
		switch (opt) {
		case 'r':
			if (parse_double(optarg, 0.001, 1e7, &o.rate) < 0)
				goto badarg;
			rate_set = 1;
			break;
		case 'c':
			if (parse_double(optarg, 1, OL_MAX_CONNS, &conns) < 0 ||
			    conns != (double)(unsigned)conns)
				goto badarg;
			break;
		case 'd':
			if (parse_double(optarg, 0.001, 86400, &o.duration_s) <
			    0)
				goto badarg;
			break;
		case 't':
			if (parse_double(optarg, 1, 3600000, &timeout_ms) < 0)
				goto badarg;
			break;
		case 'L':
			if (parse_double(optarg, 1, 1e9, &o.max_lag_us) < 0)
				goto badarg;
			break;
		case 'H':
			/* They go after Host, which comes from the URL. */
			if (nhdrs == OL_MAX_HEADERS)
				goto badarg;
			hdrs[nhdrs++] = optarg;
			break;
		default:
			usage();
			return 1;
		}
	}
	if (!rate_set || optind != argc - 1) {
		usage();
		return 1;
	}
	if (parse_url(&o, argv[optind]) < 0)
		goto out;
	for (int i = 0; i < nhdrs; i++)
		if (add_header(&o, hdrs[i]) < 0)
			goto out;
	if (req_add(&o, "\r\n", 2) < 0) {
		fprintf(stderr, "openloop: the request is over %d bytes\n",
		    OL_REQ_MAX);
		goto out;
	}
	o.nconns = (unsigned)conns;
	o.timeout_ns = (int64_t)(timeout_ms * 1e6);
	total = o.rate * o.duration_s;
	if (total < 1 || total > (double)OL_MAX_REQUESTS) {
		fprintf(stderr,
		    "openloop: rate x duration must be 1 to %llu requests\n",
		    OL_MAX_REQUESTS);
		goto out;
	}
	o.total = (uint64_t)total;
	/* Timer slack (50 us by default) would add to every release. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (ol_setup(&o) < 0 || ol_connect_all(&o) < 0)
		goto out;
	ol_run(&o);
	if (o.fatal)
		goto out;

	status = ol_report(&o);
out:
	ol_free(&o);
	return status;
badarg:
	fprintf(stderr, "openloop: -%c %s: out of range\n", opt, optarg);
	usage();
	return 1;
}
