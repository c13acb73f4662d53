/* SPDX-License-Identifier: MIT */
/* The upstream client against an in-process scripted server on 127.0.0.1. */

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "http1.h"
#include "upstream.h"
#include "../unit/tap.h"

static struct event_base *base;

/* ---- the fake upstream ---- */

enum act { A_WRITE = 0, A_CLOSE, A_ECHO };

/* One scripted step: wait |delay_ms|, then act. |len| 0 means strlen. */
struct step {
	int delay_ms;
	enum act act;
	const char *data;
	size_t len;
};

struct srv;

enum sphase {
	SP_HEAD = 0,
	SP_CL,
	SP_CHUNK_SIZE,
	SP_CHUNK_DATA,
	SP_CHUNK_CRLF,
	SP_CHUNK_END,
	SP_PLAY,
	SP_ECHO
};

struct sconn {
	struct srv *s;
	struct bufferevent *bev;
	struct event *timer;
	enum sphase phase;
	uint64_t left;
	size_t step;
	LIST_ENTRY(sconn) entry;
};

struct srv {
	struct evconnlistener *lis;
	int port;
	int accepts;
	int requests;
	int steps_played;
	const struct step *script; /* NULL: never answer */
	size_t n_steps;
	char last_head[4096];
	uint64_t body_bytes;
	uint32_t body_hash;
	LIST_HEAD(sconn_list, sconn) conns;
};

static uint32_t
fnv(uint32_t h, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void
sconn_free(struct sconn *c)
{
	LIST_REMOVE(c, entry);
	event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
}

static void sconn_play(struct sconn *);

static void
sconn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn *c = arg;
	const struct step *st = &c->s->script[c->step];

	c->step++;
	c->s->steps_played++;
	switch (st->act) {
	case A_WRITE:
		bufferevent_write(c->bev, st->data,
		    st->len ? st->len : strlen(st->data));
		break;
	case A_CLOSE:
		sconn_free(c);
		return;
	case A_ECHO:
		if (st->data != NULL)
			bufferevent_write(c->bev, st->data,
			    st->len ? st->len : strlen(st->data));
		c->phase = SP_ECHO;
		return;
	}
	sconn_play(c);
}

static void
sconn_play(struct sconn *c)
{
	struct timeval tv;

	if (c->s->script == NULL)
		return;
	if (c->step >= c->s->n_steps) {
		c->phase = SP_HEAD; /* ready for the next request */
		c->step = 0;
		return;
	}
	tv.tv_sec = c->s->script[c->step].delay_ms / 1000;
	tv.tv_usec = (c->s->script[c->step].delay_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

static void
sconn_body(struct sconn *c, struct evbuffer *in, size_t n)
{
	unsigned char tmp[65536];
	size_t k;

	while (n > 0) {
		k = n < sizeof(tmp) ? n : sizeof(tmp);
		evbuffer_remove(in, tmp, k);
		c->s->body_hash = fnv(c->s->body_hash, tmp, k);
		c->s->body_bytes += k;
		n -= k;
	}
}

static void
sconn_request_done(struct sconn *c)
{
	c->s->requests++;
	c->phase = SP_PLAY;
	c->step = 0;
	sconn_play(c);
}

static void
sconn_readcb(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr p;
	size_t len, n;
	char *line, *cl;

	for (;;) {
		switch (c->phase) {
		case SP_HEAD:
			p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
			if (p.pos < 0)
				return;
			len = (size_t)p.pos + 4;
			if (len >= sizeof(c->s->last_head))
				len = sizeof(c->s->last_head) - 1;
			evbuffer_remove(in, c->s->last_head, len);
			c->s->last_head[len] = '\0';
			c->s->body_bytes = 0;
			c->s->body_hash = 2166136261u;
			if (strstr(c->s->last_head,
			        "\r\nTransfer-Encoding: chunked\r\n") != NULL) {
				c->phase = SP_CHUNK_SIZE;
			} else if ((cl = strstr(c->s->last_head,
			                "\r\nContent-Length: ")) != NULL) {
				c->left = strtoull(cl + 18, NULL, 10);
				c->phase = SP_CL;
				if (c->left == 0)
					sconn_request_done(c);
			} else {
				sconn_request_done(c);
			}
			break;
		case SP_CL:
		case SP_CHUNK_DATA:
			n = evbuffer_get_length(in);
			if (n == 0)
				return;
			if (n > c->left)
				n = (size_t)c->left;
			sconn_body(c, in, n);
			c->left -= n;
			if (c->left > 0)
				return;
			if (c->phase == SP_CL)
				sconn_request_done(c);
			else
				c->phase = SP_CHUNK_CRLF;
			break;
		case SP_CHUNK_SIZE:
		case SP_CHUNK_END:
			line =
			    evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF_STRICT);
			if (line == NULL)
				return;
			if (c->phase == SP_CHUNK_END) {
				free(line);
				if (len == 0)
					sconn_request_done(c);
				break;
			}
			c->left = strtoull(line, NULL, 16);
			free(line);
			c->phase = c->left == 0 ? SP_CHUNK_END : SP_CHUNK_DATA;
			break;
		case SP_CHUNK_CRLF:
			line =
			    evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF_STRICT);
			if (line == NULL)
				return;
			free(line);
			if (len != 0)
				c->s->body_hash = 0; /* framing broken */
			c->phase = SP_CHUNK_SIZE;
			break;
		case SP_PLAY:
			return;
		case SP_ECHO:
			bufferevent_write_buffer(bev, in);
			return;
		}
	}
}

static void
sconn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	sconn_free(arg);
}

static void
srv_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct srv *s = arg;
	struct sconn *c = calloc(1, sizeof(*c));

	s->accepts++;
	c->s = s;
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(base, sconn_timer_cb, c);
	bufferevent_setcb(c->bev, sconn_readcb, NULL, sconn_eventcb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	LIST_INSERT_HEAD(&s->conns, c, entry);
}

static void
srv_init(struct srv *s, const struct step *script, size_t n)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	memset(s, 0, sizeof(*s));
	LIST_INIT(&s->conns);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lis = evconnlistener_new_bind(base, srv_accept, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 256,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (s->lis == NULL) {
		printf("Bail out! cannot listen on 127.0.0.1\n");
		exit(1);
	}
	getsockname(evconnlistener_get_fd(s->lis), (struct sockaddr *)&sin,
	    &sl);
	s->port = ntohs(sin.sin_port);
	s->script = script;
	s->n_steps = n;
}

static void
srv_close_conns(struct srv *s)
{
	while (!LIST_EMPTY(&s->conns))
		sconn_free(LIST_FIRST(&s->conns));
}

static void
srv_free(struct srv *s)
{
	srv_close_conns(s);
	evconnlistener_free(s->lis);
}

/* ---- the loop ---- */

static bool timed_out;

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	timed_out = true;
}

/* Runs the loop until *flag or |ms| elapse; returns *flag. */
static bool
run_until(const bool *flag, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct event *ev = evtimer_new(base, deadline_cb, NULL);

	timed_out = false;
	evtimer_add(ev, &tv);
	while (!*flag && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return *flag;
}

static void
run_for(int ms)
{
	bool never = false;

	run_until(&never, ms);
}

static long
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1000L + tv.tv_usec / 1000;
}

/* ---- the client side ---- */

struct cli {
	struct up_req *r;
	struct srv *s;
	int n_head, n_body, n_done, n_err, n_drain, n_full;
	int status;
	bool has_body, chunked;
	int64_t cl;
	int err;
	bool ended;
	char hdr_xa[64];
	int tok_cl; /* the token of the Content-Length header, -1 if none */
	int steps_at_first_body;
	struct evbuffer *body;
	/* behaviour */
	bool cancel_in_head, cancel_in_body, pause_in_head, take_in_head;
	bool pause_in_body;
	struct up_conn *taken;
	/* upload */
	uint64_t up_total, up_sent;
	size_t max_queued;
	uint32_t up_hash;
};

static void
cli_head(void *arg, int status, const struct up_header *h, size_t n,
    bool has_body, int64_t cl, bool chunked)
{
	struct cli *c = arg;
	size_t i;

	c->n_head++;
	c->status = status;
	c->has_body = has_body;
	c->cl = cl;
	c->chunked = chunked;
	c->tok_cl = -1;
	for (i = 0; i < n; i++)
		if (h[i].name_len == 14 &&
		    strncasecmp(h[i].name, "content-length", 14) == 0)
			c->tok_cl = h[i].tok;
	for (i = 0; i < n; i++)
		if (h[i].name_len == 3 &&
		    strncasecmp(h[i].name, "x-a", 3) == 0 &&
		    h[i].value_len < sizeof(c->hdr_xa)) {
			memcpy(c->hdr_xa, h[i].value, h[i].value_len);
			c->hdr_xa[h[i].value_len] = '\0';
		}
	if (c->take_in_head && status == 101)
		c->taken = up_req_take_conn(c->r);
	if (c->cancel_in_head) {
		up_req_cancel(c->r);
		c->ended = true;
	}
	if (c->pause_in_head)
		up_req_pause_read(c->r);
}

static void
cli_body(void *arg, struct evbuffer *data)
{
	struct cli *c = arg;

	if (c->n_body++ == 0 && c->s != NULL)
		c->steps_at_first_body = c->s->steps_played;
	evbuffer_add_buffer(c->body, data);
	if (c->pause_in_body)
		up_req_pause_read(c->r);
	if (c->cancel_in_body) {
		up_req_cancel(c->r);
		c->ended = true;
	}
}

static void
cli_done(void *arg)
{
	struct cli *c = arg;

	c->n_done++;
	c->ended = true;
}

static void
cli_error(void *arg, enum up_error err)
{
	struct cli *c = arg;

	c->n_err++;
	c->err = (int)err;
	c->ended = true;
}

static void cli_pump(struct cli *);

static void
cli_drain(void *arg)
{
	struct cli *c = arg;

	c->n_drain++;
	cli_pump(c);
}

static const struct up_callbacks cbs = {cli_head, cli_body, cli_done, cli_error,
    cli_drain};

static void
cli_init(struct cli *c, struct srv *s)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->cl = -2;
	c->body = evbuffer_new();
}

static void
cli_cleanup(struct cli *c)
{
	evbuffer_free(c->body);
	up_conn_free(c->taken);
}

static bool
body_is(struct cli *c, const char *want)
{
	size_t n = evbuffer_get_length(c->body);

	return n == strlen(want) &&
	    memcmp(evbuffer_pullup(c->body, -1), want, n) == 0;
}

static struct up_req *
start(struct up_pool *p, struct cli *c, const char *head, enum up_body b,
    uint64_t len, bool idem, bool is_head)
{
	struct evbuffer *h = evbuffer_new();

	evbuffer_add(h, head, strlen(head));
	c->r = up_req_start(p, h, b, len, idem, is_head, &cbs, c);
	ok(evbuffer_get_length(h) == 0, "head moved out of the caller buffer");
	evbuffer_free(h);
	return c->r;
}

static struct conf_upstream ucfg;
static char port_str[16];

static struct up_pool *
pool_for(struct srv *s, int max_idle, int resp_ms, int idle_ms)
{
	snprintf(port_str, sizeof(port_str), "%d", s->port);
	memset(&ucfg, 0, sizeof(ucfg));
	ucfg.name = (char *)(uintptr_t) "t";
	ucfg.host = (char *)(uintptr_t) "127.0.0.1";
	ucfg.port = port_str;
	ucfg.host_header = (char *)(uintptr_t) "test.local";
	ucfg.connect_timeout_ms = 1000;
	ucfg.response_timeout_ms = resp_ms;
	ucfg.idle_timeout_ms = idle_ms;
	ucfg.max_idle = max_idle;
	return up_pool_new(base, NULL, &ucfg);
}

/* One GET whose response is |script|; returns after on_done/on_error. */
static void
one_get(struct up_pool *p, struct srv *s, struct cli *c, const char *head,
    bool is_head)
{
	cli_init(c, s);
	start(p, c, head, UP_BODY_NONE, 0, true, is_head);
	ok(run_until(&c->ended, 3000), "request ended in time");
}

/* ---- tests ---- */

static const struct step s_cl[] = {
    {0, A_WRITE,
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello", 0},
};

static void
test_keepalive(void)
{
	struct srv s;
	struct up_pool *p;
	struct cli c;
	static const struct step s_close[] = {
	    {0, A_WRITE,
	        "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok",
	        0},
	};
	static const struct step s_10[] = {
	    {0, A_WRITE, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0},
	};

	srv_init(&s, s_cl, 1);
	p = pool_for(&s, 1, 1000, 5000);
	ok(p != NULL, "pool created");
	one_get(p, &s, &c, "GET /a HTTP/1.1\r\nX-Req: 1\r\n", false);
	is_int(c.n_done, 1, "CL: on_done");
	is_int(c.status, 200, "CL: status");
	ok(c.has_body && !c.chunked, "CL: has_body, not chunked");
	is_int(c.cl, 5, "CL: content_length");
	ok(body_is(&c, "hello"), "CL: body");
	is_str(c.hdr_xa, "b", "CL: header value trimmed");
	is_int(c.tok_cl, H1_T_CONTENT_LENGTH, "CL: header token");
	is_str(s.last_head,
	    "GET /a HTTP/1.1\r\nX-Req: 1\r\nHost: test.local\r\n\r\n",
	    "request head as sent: Host added, empty line, no framing");
	is_int(up_pool_idle(p), 1, "CL: connection pooled");
	cli_cleanup(&c);

	one_get(p, &s, &c, "GET /b HTTP/1.1\r\n", false);
	is_int(c.n_done, 1, "reuse: on_done");
	ok(body_is(&c, "hello"), "reuse: body");
	is_int(s.accepts, 1, "reuse: server saw one accept");
	is_int(s.requests, 2, "reuse: server saw two requests");
	is_int(up_pool_idle(p), 1, "reuse: pooled again");
	cli_cleanup(&c);

	s.script = s_close;
	one_get(p, &s, &c, "GET /c HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && body_is(&c, "ok"), "Connection: close: done");
	is_int(up_pool_idle(p), 0, "Connection: close: not pooled");
	cli_cleanup(&c);

	s.script = s_10;
	one_get(p, &s, &c, "GET /d HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && body_is(&c, "ok"), "HTTP/1.0: done");
	is_int(up_pool_idle(p), 0, "HTTP/1.0: not pooled");
	is_int(s.accepts, 2, "a fresh connection after Connection: close");
	cli_cleanup(&c);

	up_pool_free(p);
	srv_free(&s);
}

static void
test_chunked_stream(void)
{
	static const struct step sc[] = {
	    {0, A_WRITE,
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n6\r\ndata1\n\r\n",
	        0},
	    {80, A_WRITE, "6\r\ndata2\n\r\n", 0},
	    {80, A_WRITE,
	        "6;ext=1\r\ndata3\n\r\n0000000000000006\r\ndata4\n\r\n0\r\nX-T: t\r\n\r\n",
	        0},
	};
	struct srv s;
	struct up_pool *p;
	struct cli c;

	srv_init(&s, sc, 3);
	p = pool_for(&s, 1, 1000, 5000);
	one_get(p, &s, &c, "GET /events HTTP/1.1\r\n", false);
	is_int(c.n_done, 1, "chunked: on_done");
	ok(c.has_body && c.chunked && c.cl == -1, "chunked: framing reported");
	ok(body_is(&c, "data1\ndata2\ndata3\ndata4\n"),
	    "chunked: body decoded");
	ok(c.n_body >= 3, "chunked: %d on_body calls", c.n_body);
	is_int(c.steps_at_first_body, 1,
	    "chunked: first slice delivered before the second was written");
	is_int(up_pool_idle(p), 1, "chunked: pooled after trailers");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);
}

static void
test_close_delimited(void)
{
	static char resp[1100];
	static struct step sc[] = {
	    {0, A_WRITE, resp, 0},
	    {30, A_WRITE, "tail", 0},
	    {30, A_CLOSE, NULL, 0},
	};
	struct srv s;
	struct up_pool *p;
	struct cli c;
	size_t hl;

	strcpy(resp, "HTTP/1.1 200 OK\r\nContent-Type: x\r\n\r\n");
	hl = strlen(resp);
	memset(resp + hl, 'x', 1000);
	resp[hl + 1000] = '\0';
	srv_init(&s, sc, 3);
	p = pool_for(&s, 1, 1000, 5000);
	one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
	is_int(c.n_done, 1, "close-delimited: on_done");
	ok(c.has_body && !c.chunked && c.cl == -1,
	    "close-delimited: framing reported");
	is_int(evbuffer_get_length(c.body), 1004,
	    "close-delimited: whole body");
	is_int(up_pool_idle(p), 0, "close-delimited: not pooled");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);
}

static void
test_no_body(void)
{
	static const struct step s_head[] = {
	    {0, A_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 0},
	};
	static const struct step s_204[] = {
	    {0, A_WRITE,
	        "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0},
	};
	static const struct step s_304[] = {
	    {0, A_WRITE,
	        "HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\n\r\n", 0},
	};
	static const struct step s_100[] = {
	    {0, A_WRITE, "HTTP/1.1 100 Continue\r\n\r\n", 0},
	    {30, A_WRITE,
	        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	        0},
	};
	struct srv s;
	struct up_pool *p;
	struct cli c;

	srv_init(&s, s_head, 1);
	p = pool_for(&s, 1, 1000, 5000);
	one_get(p, &s, &c, "HEAD /h HTTP/1.1\r\n", true);
	ok(c.n_done == 1 && c.status == 200, "HEAD: done");
	ok(!c.has_body && c.cl == 1000, "HEAD: no body, CL 1000 reported");
	is_int(c.n_body, 0, "HEAD: no on_body");
	is_int(up_pool_idle(p), 1, "HEAD: pooled");
	cli_cleanup(&c);

	s.script = s_204;
	one_get(p, &s, &c, "GET /n HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && c.status == 204 && !c.has_body && c.n_body == 0,
	    "204 with CL: no body");
	is_int(up_pool_idle(p), 1, "204: pooled");
	cli_cleanup(&c);

	s.script = s_304;
	one_get(p, &s, &c, "GET /m HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && c.status == 304 && !c.has_body && c.n_body == 0 &&
	        c.cl == 1000,
	    "304 with CL: no body");
	is_int(up_pool_idle(p), 1, "304: pooled");
	cli_cleanup(&c);

	s.script = s_100;
	s.n_steps = 2;
	one_get(p, &s, &c, "GET /c HTTP/1.1\r\n", false);
	is_int(c.n_head, 1, "1xx skipped: one on_head");
	ok(c.n_done == 1 && c.status == 200 && body_is(&c, "ok"),
	    "100 and 103 then 200");
	cli_cleanup(&c);

	/* The connection stayed in sync through all of them. */
	s.script = s_cl;
	s.n_steps = 1;
	one_get(p, &s, &c, "GET /z HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && body_is(&c, "hello"), "still in sync afterwards");
	is_int(s.accepts, 1, "one connection for all of them");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);
}

static void
tun_read(void *arg, struct evbuffer *in)
{
	struct cli *c = arg;

	evbuffer_add_buffer(c->body, in);
	if (evbuffer_get_length(c->body) >= 9)
		c->ended = true;
}

static const struct up_tun_callbacks tun_cbs = {tun_read, NULL, NULL};

static void
test_upgrade(void)
{
	static const struct step sc[] = {
	    {0, A_ECHO,
	        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly",
	        0},
	};
	struct srv s;
	struct up_pool *p;
	struct cli c;

	srv_init(&s, sc, 1);
	p = pool_for(&s, 1, 300, 5000);
	cli_init(&c, &s);
	c.take_in_head = true;
	start(p, &c,
	    "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: echo\r\n",
	    UP_BODY_NONE, 0, true, false);
	run_until(&c.ended, 1000); /* nothing ends it: on_head took it */
	is_int(c.n_head, 1, "101: on_head");
	is_int(c.status, 101, "101: status");
	ok(c.taken != NULL, "101: connection taken inside on_head");
	ok(c.n_done == 0 && c.n_err == 0,
	    "101: no on_done/on_error after take");
	if (c.taken == NULL) {
		cli_cleanup(&c);
		up_pool_free(p);
		srv_free(&s);
		return;
	}
	evbuffer_add_buffer(c.body, up_conn_input(c.taken));
	ok(body_is(&c, "early"), "101: bytes read with the head handed over");
	evbuffer_drain(c.body, evbuffer_get_length(c.body));
	up_conn_tunnel(c.taken, &tun_cbs, &c, 0);
	evbuffer_add(c.body, "ping-pong", 9);
	ok(up_conn_write(c.taken, c.body) == 0 &&
	        evbuffer_get_length(c.body) == 0,
	    "101: bytes queued toward the upstream");
	c.ended = false;
	ok(run_until(&c.ended, 2000), "101: echo came back");
	ok(body_is(&c, "ping-pong"), "101: tunnel carries bytes both ways");
	run_for(400); /* longer than the response timeout: none applies */
	ok(c.n_err == 0, "101: no timeout on the taken connection");
	is_int(up_pool_idle(p), 0, "101: not pooled");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);
}

struct bad {
	const char *name;
	const char *resp;
	size_t len;
	bool head_ok; /* the head is valid, the body is not */
};

static void
test_malformed(void)
{
	static char big[UP_MAX_HEAD_BYTES + 100];
	static char many[UP_MAX_HEADERS * 8 + 100];
	static const char nul[] =
	    "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n";
	const struct bad cases[] = {
	    {"CL+TE",
	        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	        0, false},
	    {"two identical CLs",
	        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
	        0, false},
	    {"two CLs",
	        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 3\r\n\r\nhello",
	        0, false},
	    {"CL list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
	        0, false},
	    {"CL sign", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", 0,
	        false},
	    {"TE gzip, chunked",
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	        0, false},
	    {"two TEs",
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	        0, false},
	    {"obs-fold",
	        "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
	        0, false},
	    {"bare LF head", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0,
	        false},
	    {"bare LF in a field",
	        "HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\nok", 0,
	        false},
	    {"bare CR in a field",
	        "HTTP/1.1 200 OK\r\nX-A: 1\rX\r\nContent-Length: 2\r\n\r\nok",
	        0, false},
	    {"space before colon",
	        "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", 0, false},
	    {"NUL in a value", nul, sizeof(nul) - 1, false},
	    {"HTTP/2.0", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0,
	        false},
	    {"status 2000", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", 0,
	        false},
	    {"status 099", "HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n", 0,
	        false},
	    {"head too big", big, 0, false},
	    {"too many fields", many, 0, false},
	    {"bad chunk size",
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
	        0, true},
	    {"17 hex digits",
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n",
	        0, true},
	    {"chunk size then space",
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
	        0, true},
	    {"no CRLF after data",
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n",
	        0, true},
	    {"bare LF chunk line",
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
	        0, true},
	    {"bad trailer",
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
	        0, true},
	};
	struct step sc[1];
	struct srv s;
	struct up_pool *p;
	struct cli c;
	size_t i, n;

	n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(big + n, 'a', UP_MAX_HEAD_BYTES);
	strcpy(big + n + UP_MAX_HEAD_BYTES, "\r\n\r\n");
	n = (size_t)snprintf(many, sizeof(many), "HTTP/1.1 200 OK\r\n");
	for (i = 0; i <= UP_MAX_HEADERS; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "A: b\r\n");
	snprintf(many + n, sizeof(many) - n, "\r\n");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sc[0].delay_ms = 0;
		sc[0].act = A_WRITE;
		sc[0].data = cases[i].resp;
		sc[0].len = cases[i].len;
		srv_init(&s, sc, 1);
		p = pool_for(&s, 1, 1000, 5000);
		one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
		is_int(c.err, UP_ERR_PROTOCOL, "%s: UP_ERR_PROTOCOL",
		    cases[i].name);
		is_int(c.n_head, cases[i].head_ok ? 1 : 0, "%s: on_head %s",
		    cases[i].name, cases[i].head_ok ? "once" : "never");
		ok(c.n_done == 0 && c.n_err == 1, "%s: one on_error only",
		    cases[i].name);
		is_int(up_pool_idle(p), 0, "%s: not pooled", cases[i].name);
		cli_cleanup(&c);
		up_pool_free(p);
		srv_free(&s);
	}

	/* Controls: the same shapes done right pass. */
	{
		static const struct step okc[] = {
		    {0, A_WRITE,
		        "HTTP/1.1 200\r\ncontent-length: 5\r\nX-A:\r\n\r\nhello",
		        0},
		};
		srv_init(&s, okc, 1);
		p = pool_for(&s, 1, 1000, 5000);
		one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
		ok(c.n_done == 1 && body_is(&c, "hello"),
		    "control: no reason phrase, lower-case CL, empty value");
		cli_cleanup(&c);
		up_pool_free(p);
		srv_free(&s);
	}
}

static int nx_answers;

/* A name server that answers every query with NXDOMAIN (RFC 1035 §4.1.1). */
static void
nxdomain_cb(evutil_socket_t fd, short what, void *arg)
{
	unsigned char buf[512];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	if (n < 12)
		return;
	buf[2] = (unsigned char)(buf[2] | 0x80); /* QR */
	buf[3] = (unsigned char)(0x80 | 3);      /* RA, RCODE 3 */
	nx_answers++;
	sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
}

static void
test_errors(void)
{
	static const struct step s_part[] = {
	    {0, A_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
	        0},
	};
	static const struct step s_cut[] = {
	    {0, A_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
	        0},
	    {20, A_CLOSE, NULL, 0},
	};
	static const struct step s_mute_close[] = {
	    {0, A_CLOSE, NULL, 0},
	};
#define S102                                                                   \
	{                                                                      \
		50, A_WRITE, "HTTP/1.1 102 Processing\r\n\r\n", 0              \
	}
	static const struct step s_trickle_1xx[] = {
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    S102,
	    {50, A_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0},
	};
#undef S102
	static const struct step s_trickle_head[] = {
	    {0, A_WRITE, "HTTP/1.1 200 OK\r\n", 0},
	    {100, A_WRITE, "X-A: 1\r\n", 0},
	    {100, A_WRITE, "X-B: 2\r\n", 0},
	    {100, A_WRITE, "X-C: 3\r\n", 0},
	    {100, A_WRITE, "X-D: 4\r\n", 0},
	    {100, A_WRITE, "X-E: 5\r\n", 0},
	    {100, A_WRITE, "Content-Length: 0\r\n\r\n", 0},
	};
	static const struct step s_1xx_then_slow[] = {
	    {0, A_WRITE, "HTTP/1.1 102 Processing\r\n\r\n", 0},
	    {100, A_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", 0},
	    {200, A_WRITE, "ab", 0},
	    {200, A_WRITE, "cd", 0},
	    {200, A_WRITE, "ef", 0},
	};
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct srv s;
	struct up_pool *p;
	struct cli c;
	long t0, dt;
	int fd;

	/* A closed port: bind, read the port, close. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	close(fd);
	memset(&s, 0, sizeof(s));
	s.port = ntohs(sin.sin_port);
	p = pool_for(&s, 1, 1000, 5000);
	cli_init(&c, NULL);
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	ok(c.r != NULL && c.n_err == 0,
	    "refused: no callback from inside up_req_start");
	ok(run_until(&c.ended, 3000), "refused: ended");
	is_int(c.err, UP_ERR_CONNECT, "refused: UP_ERR_CONNECT");
	is_int(c.n_head, 0, "refused: no on_head");
	cli_cleanup(&c);
	up_pool_free(p);

	/* Accepts, never answers. */
	srv_init(&s, NULL, 0);
	p = pool_for(&s, 1, 300, 5000);
	cli_init(&c, &s);
	t0 = now_ms();
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	ok(run_until(&c.ended, 3000), "silent: ended");
	dt = now_ms() - t0;
	is_int(c.err, UP_ERR_TIMEOUT, "silent: UP_ERR_TIMEOUT");
	ok(dt >= 250 && dt < 1500,
	    "silent: after the 300 ms response timeout (%ld ms)", dt);
	is_int(c.n_head, 0, "silent: no on_head");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	/* A pooled connection waits out a 5 s idle timeout; the request
	 * sent on it gets its own 300 ms, not what is left of the idle. */
	srv_init(&s, s_cl, 1);
	p = pool_for(&s, 1, 300, 5000);
	one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && up_pool_idle(p) == 1, "reused silent: pooled");
	cli_cleanup(&c);
	s.script = NULL; /* the next request is never answered */
	cli_init(&c, &s);
	t0 = now_ms();
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	ok(run_until(&c.ended, 3000), "reused silent: ended");
	dt = now_ms() - t0;
	is_int(c.err, UP_ERR_TIMEOUT, "reused silent: UP_ERR_TIMEOUT");
	ok(dt >= 250 && dt < 1500,
	    "reused silent: after the 300 ms response timeout (%ld ms)", dt);
	is_int(s.accepts, 1, "reused silent: on the pooled connection");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	/* Head, then the body stalls: idle read timeout after on_head. */
	srv_init(&s, s_part, 1);
	p = pool_for(&s, 1, 300, 5000);
	cli_init(&c, &s);
	t0 = now_ms();
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	ok(run_until(&c.ended, 3000), "stall: ended");
	dt = now_ms() - t0;
	ok(c.n_head == 1 && c.err == UP_ERR_TIMEOUT,
	    "stall: on_head then UP_ERR_TIMEOUT");
	ok(body_is(&c, "hello"), "stall: partial body delivered first");
	ok(dt >= 250 && dt < 1500, "stall: read timeout (%ld ms)", dt);
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	/* Interim 102s every 50 ms: the final head is still due within the
	 * response timeout of the request being sent (RFC 9110 §15.2). */
	srv_init(&s, s_trickle_1xx,
	    sizeof(s_trickle_1xx) / sizeof(s_trickle_1xx[0]));
	p = pool_for(&s, 1, 300, 5000);
	cli_init(&c, &s);
	t0 = now_ms();
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	ok(run_until(&c.ended, 3000), "1xx trickle: ended");
	dt = now_ms() - t0;
	is_int(c.err, UP_ERR_TIMEOUT, "1xx trickle: UP_ERR_TIMEOUT");
	is_int(c.n_head, 0, "1xx trickle: no on_head");
	ok(s.steps_played >= 3,
	    "1xx trickle: interim responses were sent "
	    "(%d)",
	    s.steps_played);
	ok(dt >= 250 && dt < 800,
	    "1xx trickle: cut at the 300 ms response timeout (%ld ms)", dt);
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	/* The final head itself trickled a few bytes at a time. */
	srv_init(&s, s_trickle_head,
	    sizeof(s_trickle_head) / sizeof(s_trickle_head[0]));
	p = pool_for(&s, 1, 300, 5000);
	cli_init(&c, &s);
	t0 = now_ms();
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	ok(run_until(&c.ended, 3000), "head trickle: ended");
	dt = now_ms() - t0;
	ok(c.err == UP_ERR_TIMEOUT && c.n_head == 0,
	    "head trickle: UP_ERR_TIMEOUT before on_head");
	ok(dt >= 250 && dt < 800,
	    "head trickle: cut at the response timeout (%ld ms)", dt);
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	/* 1xx then the final head in time, then a body whose slices are
	 * each within the timeout but together take longer: after the
	 * final head only the idle timeout between reads applies. */
	srv_init(&s, s_1xx_then_slow,
	    sizeof(s_1xx_then_slow) / sizeof(s_1xx_then_slow[0]));
	p = pool_for(&s, 1, 300, 5000);
	cli_init(&c, &s);
	t0 = now_ms();
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	ok(run_until(&c.ended, 3000), "1xx then slow body: ended");
	dt = now_ms() - t0;
	ok(c.n_done == 1 && c.n_err == 0 && c.status == 200,
	    "1xx then slow body: on_done, 200");
	ok(body_is(&c, "abcdef"), "1xx then slow body: whole body");
	ok(dt >= 550,
	    "1xx then slow body: longer than the response timeout "
	    "(%ld ms)",
	    dt);
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	/* Cut mid-body. */
	srv_init(&s, s_cut, 2);
	p = pool_for(&s, 1, 1000, 5000);
	one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
	ok(c.n_head == 1 && c.err == UP_ERR_CLOSED,
	    "cut: on_head then UP_ERR_CLOSED");
	is_int(up_pool_idle(p), 0, "cut: not pooled");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	/* Accepts and closes at once: fresh connection, nothing read. */
	srv_init(&s, s_mute_close, 1);
	p = pool_for(&s, 1, 1000, 5000);
	one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
	is_int(c.err, UP_ERR_CONNECT,
	    "closed before a byte, fresh: UP_ERR_CONNECT");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	/* Name resolution through evdns: a local name server that answers
	 * NXDOMAIN, then one that never answers (connect timeout). */
	{
		struct evdns_base *dns = evdns_base_new(base, 0);
		struct conf_upstream u = ucfg;
		struct event *ev;
		char ns[64];

		fd = socket(AF_INET, SOCK_DGRAM, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(fd, (struct sockaddr *)&sin, sizeof(sin));
		sl = sizeof(sin);
		getsockname(fd, (struct sockaddr *)&sin, &sl);
		evutil_make_socket_nonblocking(fd);
		ev = event_new(base, fd, EV_READ | EV_PERSIST, nxdomain_cb,
		    NULL);
		event_add(ev, NULL);
		snprintf(ns, sizeof(ns), "127.0.0.1:%d", ntohs(sin.sin_port));
		evdns_base_nameserver_ip_add(dns, ns);
		u.host = (char *)(uintptr_t) "no-such-host.invalid";
		u.port = (char *)(uintptr_t) "80";
		p = up_pool_new(base, dns, &u);
		cli_init(&c, NULL);
		t0 = now_ms();
		start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true,
		    false);
		ok(c.n_err == 0,
		    "resolve: no callback from inside up_req_start");
		ok(run_until(&c.ended, 3000), "resolve: ended");
		is_int(c.err, UP_ERR_CONNECT, "NXDOMAIN: UP_ERR_CONNECT");
		ok(nx_answers >= 1 && now_ms() - t0 < 900,
		    "NXDOMAIN: answered by the local name server (%d)",
		    nx_answers);
		cli_cleanup(&c);
		up_pool_free(p);
		evdns_base_free(dns, 0);
		event_free(ev);
		close(fd);

		dns = evdns_base_new(base, 0);
		u.connect_timeout_ms = 200;
		p = up_pool_new(base, dns, &u);
		cli_init(&c, NULL);
		t0 = now_ms();
		start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true,
		    false);
		ok(run_until(&c.ended, 3000), "no name server: ended");
		dt = now_ms() - t0;
		is_int(c.err, UP_ERR_TIMEOUT,
		    "no answer: connect timeout, UP_ERR_TIMEOUT");
		ok(dt >= 150 && dt < 900,
		    "connect timeout after 200 ms (%ld ms)", dt);
		cli_cleanup(&c);
		up_pool_free(p);
		/* The cancelled lookup is released from the loop.
		 */
		run_for(50);
		evdns_base_free(dns, 0);
	}

	/* evdns with a numeric host: the lookup completes inside the call. */
	{
		struct evdns_base *dns = evdns_base_new(base, 0);

		srv_init(&s, s_cl, 1);
		p = pool_for(&s, 1, 1000, 5000);
		up_pool_free(p);
		p = up_pool_new(base, dns, &ucfg);
		one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
		ok(c.n_done == 1 && body_is(&c, "hello"),
		    "evdns, numeric host: done");
		cli_cleanup(&c);
		up_pool_free(p);

		/* Several addresses: the first refuses, the next one works. */
		{
			char hosts[] = "/tmp/bearerd-test-hosts-XXXXXX";
			struct conf_upstream u = ucfg;
			FILE *f;
			int hfd = mkstemp(hosts);

			f = fdopen(hfd, "w");
			fprintf(f,
			    "127.0.0.2 multi.test\n127.0.0.1 multi.test\n"
			    "127.0.0.2 only2.test\n");
			fclose(f);
			evdns_base_load_hosts(dns, hosts);
			unlink(hosts);
			u.host = (char *)(uintptr_t) "multi.test";
			p = up_pool_new(base, dns, &u);
			one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
			ok(c.n_done == 1 && body_is(&c, "hello"),
			    "second address tried after the first failed (err %d)",
			    c.err);
			cli_cleanup(&c);
			up_pool_free(p);
			/* Control: the first address alone does fail. */
			u.host = (char *)(uintptr_t) "only2.test";
			p = up_pool_new(base, dns, &u);
			one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
			is_int(c.err, UP_ERR_CONNECT,
			    "control: 127.0.0.2 alone refuses");
			cli_cleanup(&c);
			up_pool_free(p);
		}
		srv_free(&s);
		evdns_base_free(dns, 0);
	}

	/* Cancel while the name is still being looked up. */
	{
		struct evdns_base *dns = evdns_base_new(base, 0);
		struct conf_upstream u = ucfg;

		u.host = (char *)(uintptr_t) "slow.invalid";
		p = up_pool_new(base, dns, &u);
		cli_init(&c, NULL);
		start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true,
		    false);
		run_for(100);
		up_req_cancel(c.r);
		run_for(100);
		ok(c.n_err == 0 && c.n_done == 0,
		    "cancel during lookup: no callback");
		cli_cleanup(&c);
		up_pool_free(p);
		evdns_base_free(dns, 0);
	}

	/* Bad pool configs. */
	{
		struct conf_upstream u = ucfg;

		u.port = (char *)(uintptr_t) "70000";
		ok(up_pool_new(base, NULL, &u) == NULL,
		    "port out of range refused");
		u.port = (char *)(uintptr_t) "80";
		u.host_header = (char *)(uintptr_t) "a\r\nX: y";
		ok(up_pool_new(base, NULL, &u) == NULL,
		    "CRLF in host_header refused");
	}
}

static void
test_retry(void)
{
	struct srv s;
	struct up_pool *p;
	struct cli c;

	srv_init(&s, s_cl, 1);
	p = pool_for(&s, 1, 1000, 5000);
	one_get(p, &s, &c, "GET /1 HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && up_pool_idle(p) == 1,
	    "retry: first request pooled");
	cli_cleanup(&c);

	/* The server drops the idle connection; the client has not seen it
	 * yet when the next request picks it. */
	srv_close_conns(&s);
	is_int(up_pool_idle(p), 1,
	    "retry: the stale connection is still pooled");
	one_get(p, &s, &c, "GET /2 HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && c.n_err == 0 && body_is(&c, "hello"),
	    "stale pooled connection: idempotent GET retried transparently");
	is_int(c.n_head, 1, "retry: one on_head");
	is_int(s.accepts, 2, "retry: on a fresh connection");
	is_int(up_pool_idle(p), 1, "retry: the fresh connection pooled");
	cli_cleanup(&c);

	srv_close_conns(&s);
	is_int(up_pool_idle(p), 1,
	    "POST: the stale connection is still pooled");
	cli_init(&c, &s);
	start(p, &c, "POST /3 HTTP/1.1\r\n", UP_BODY_NONE, 0, false, false);
	ok(run_until(&c.ended, 3000), "POST: ended");
	is_int(c.err, UP_ERR_CLOSED,
	    "stale pooled connection: POST not retried");
	is_int(s.accepts, 2, "POST: no new connection");
	cli_cleanup(&c);

	/* Idle connections watch for the peer closing. */
	one_get(p, &s, &c, "GET /4 HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && up_pool_idle(p) == 1, "pooled again");
	cli_cleanup(&c);
	srv_close_conns(&s);
	run_for(100);
	is_int(up_pool_idle(p), 0,
	    "idle connection dropped when the peer closed");
	up_pool_free(p);
	srv_free(&s);
}

static void
test_stray(void)
{
	static const struct step s_extra[] = {
	    {0, A_WRITE,
	        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", 0},
	};
	static const struct step s_late[] = {
	    {0, A_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	        0},
	    {60, A_WRITE, "junk", 0},
	};
	struct srv s;
	struct up_pool *p;
	struct cli c;

	srv_init(&s, s_extra, 1);
	p = pool_for(&s, 1, 1000, 5000);
	one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && body_is(&c, "hello"),
	    "extra bytes: body framed by CL");
	is_int(up_pool_idle(p), 0, "extra bytes after the body: not pooled");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	srv_init(&s, s_late, 2);
	p = pool_for(&s, 1, 1000, 5000);
	one_get(p, &s, &c, "GET / HTTP/1.1\r\n", false);
	ok(c.n_done == 1 && up_pool_idle(p) == 1, "late junk: pooled first");
	run_for(200);
	is_int(up_pool_idle(p), 0, "late junk on an idle connection: dropped");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);
}

static void
test_pool_limits(void)
{
	struct srv s;
	struct up_pool *p;
	struct cli c1, c2;

	srv_init(&s, s_cl, 1);
	p = pool_for(&s, 1, 1000, 150);
	cli_init(&c1, &s);
	cli_init(&c2, &s);
	start(p, &c1, "GET /1 HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	start(p, &c2, "GET /2 HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	run_until(&c1.ended, 3000);
	run_until(&c2.ended, 3000);
	ok(c1.n_done == 1 && c2.n_done == 1, "two concurrent requests done");
	is_int(s.accepts, 2, "two connections");
	is_int(up_pool_idle(p), 1, "max_idle 1 keeps one");
	run_for(400);
	is_int(up_pool_idle(p), 0, "idle timeout closes it");
	cli_cleanup(&c1);
	cli_cleanup(&c2);
	up_pool_free(p);
	srv_free(&s);
}

/* A wave of |n| concurrent GETs; true when all ended with on_done. */
static bool
wave(struct up_pool *p, struct srv *s, struct cli *c, size_t n)
{
	size_t i, done = 0;

	for (i = 0; i < n; i++) {
		cli_init(&c[i], s);
		start(p, &c[i], "GET /w HTTP/1.1\r\n", UP_BODY_NONE, 0, true,
		    false);
	}
	for (i = 0; i < n; i++) {
		run_until(&c[i].ended, 5000);
		done += c[i].n_done == 1;
		cli_cleanup(&c[i]);
	}
	return done == n;
}

/* Issue 6 item 7: with the default configuration, the pool keeps what a
 * burst of concurrent requests used (a fixed 32 closed all but 32 and
 * reconnected on the next burst), and gives back what the load no longer
 * uses after idle_timeout. */
static void
test_pool_follows_load(void)
{
	enum { N = 48 };
	static struct cli c[N];
	char err[512];
	struct conf *cf;
	struct srv s;
	struct up_pool *p;
	int i;

	cf = conf_load(TEST_DATA_DIR "/conf/minimal.conf", err, sizeof(err));
	ok(cf != NULL && cf->n_upstreams == 1, "default config loaded");
	if (cf == NULL)
		return;
	srv_init(&s, s_cl, 1);
	/* the defaults, only the address is the test server's */
	p = pool_for(&s, cf->upstreams[0].max_idle,
	    cf->upstreams[0].response_timeout_ms,
	    cf->upstreams[0].idle_timeout_ms);
	ok(wave(p, &s, c, N), "a burst of %d concurrent requests", N);
	is_int(s.accepts, N, "burst: one connection each");
	is_int(up_pool_idle(p), N, "burst: every connection kept");
	ok(wave(p, &s, c, N), "a second burst");
	is_int(s.accepts, N, "second burst: no new connection");
	is_int(s.requests, 2 * N, "second burst: all reused");
	up_pool_free(p);

	/* Load falls to one request at a time: the idle timeout (300 ms
	 * here) closes what the lower load leaves untouched at the tail. */
	p = pool_for(&s, cf->upstreams[0].max_idle, 1000, 300);
	ok(wave(p, &s, c, 8), "a burst of 8");
	is_int(up_pool_idle(p), 8, "burst of 8: kept");
	for (i = 0; i < 16; i++) {
		ok(wave(p, &s, c, 1), "then one at a time (%d)", i);
		run_for(50);
	}
	ok(up_pool_idle(p) <= 2, "idle follows the load down (%zu)",
	    up_pool_idle(p));
	up_pool_free(p);
	srv_free(&s);
	conf_free(cf);
}

static const size_t SLICE = 65536;

static void
cli_pump(struct cli *c)
{
	struct evbuffer *b;
	unsigned char buf[65536];
	size_t n, i, q;
	bool full;

	if (c->r == NULL || c->ended)
		return;
	while (c->up_sent < c->up_total) {
		n = c->up_total - c->up_sent < SLICE
		    ? (size_t)(c->up_total - c->up_sent)
		    : SLICE;
		for (i = 0; i < n; i++)
			buf[i] = (unsigned char)((c->up_sent + i) * 7 + 3);
		c->up_hash = fnv(c->up_hash, buf, n);
		b = evbuffer_new();
		evbuffer_add(b, buf, n);
		full = up_req_body(c->r, b);
		evbuffer_free(b);
		c->up_sent += n;
		q = up_req_queued(c->r);
		if (q > c->max_queued)
			c->max_queued = q;
		if (full) {
			c->n_full++;
			return;
		}
	}
	up_req_body_end(c->r);
}

static void
test_upload(void)
{
	static const struct step sc[] = {
	    {0, A_WRITE, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0},
	};
	struct srv s;
	struct up_pool *p;
	struct cli c;

	srv_init(&s, sc, 1);
	p = pool_for(&s, 1, 1000, 5000);
	cli_init(&c, &s);
	c.up_total = 5u << 20;
	c.up_hash = 2166136261u;
	start(p, &c, "PUT /up HTTP/1.1\r\n", UP_BODY_CHUNKED, 0, false, false);
	cli_pump(&c);
	ok(run_until(&c.ended, 20000), "upload: ended");
	ok(c.n_done == 1 && body_is(&c, "ok"), "upload: response");
	ok(c.n_full >= 1, "upload: up_req_body asked to stop (%d times)",
	    c.n_full);
	ok(c.n_drain >= 1, "upload: on_drain fired (%d times)", c.n_drain);
	ok(c.max_queued <= UP_HIGH_WM + SLICE + 32,
	    "upload: queued output bounded (max %zu)", c.max_queued);
	is_int(s.body_bytes, 5u << 20, "upload: server got 5 MiB");
	ok(s.body_hash == c.up_hash, "upload: bytes intact");
	ok(strstr(s.last_head, "\r\nTransfer-Encoding: chunked\r\n") != NULL,
	    "upload: chunked framing added");
	is_int(up_pool_idle(p), 1, "upload: pooled after a complete exchange");
	cli_cleanup(&c);

	/* Content-Length upload in two slices. */
	cli_init(&c, &s);
	c.up_total = 100000;
	c.up_hash = 2166136261u;
	start(p, &c, "POST /cl HTTP/1.1\r\n", UP_BODY_LENGTH, 100000, false,
	    false);
	cli_pump(&c);
	ok(run_until(&c.ended, 5000) && c.n_done == 1, "CL upload: done");
	is_int(s.body_bytes, 100000, "CL upload: server got all of it");
	ok(s.body_hash == c.up_hash, "CL upload: bytes intact");
	ok(strstr(s.last_head, "\r\nContent-Length: 100000\r\n") != NULL,
	    "CL upload: Content-Length added");
	cli_cleanup(&c);

	/* More than announced is a caller bug. */
	{
		struct evbuffer *b = evbuffer_new();

		cli_init(&c, &s);
		start(p, &c, "POST /x HTTP/1.1\r\n", UP_BODY_LENGTH, 10, false,
		    false);
		evbuffer_add(b, "0123456789X", 11);
		up_req_body(c.r, b);
		ok(c.n_err == 0,
		    "excess body: error not reported synchronously");
		is_int(evbuffer_get_length(b), 0, "excess body: data consumed");
		ok(run_until(&c.ended, 3000) && c.err == UP_ERR_PROTOCOL,
		    "excess body: UP_ERR_PROTOCOL");
		evbuffer_free(b);
		cli_cleanup(&c);
	}
	up_pool_free(p);
	srv_free(&s);
}

static void
test_cancel_pause(void)
{
	static const struct step sc[] = {
	    {0, A_WRITE,
	        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n",
	        0},
	    {50, A_WRITE, "3\r\ntwo\r\n", 0},
	    {50, A_WRITE, "5\r\nthree\r\n0\r\n\r\n", 0},
	};
	struct srv s;
	struct up_pool *p;
	struct cli c;

	srv_init(&s, sc, 3);
	p = pool_for(&s, 1, 1000, 5000);
	cli_init(&c, &s);
	c.cancel_in_body = true;
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	run_until(&c.ended, 3000);
	run_for(250);
	is_int(c.n_body, 1, "cancel in on_body: no further on_body");
	ok(c.n_done == 0 && c.n_err == 0,
	    "cancel in on_body: no on_done/on_error");
	is_int(up_pool_idle(p), 0, "cancel: not pooled");
	cli_cleanup(&c);

	cli_init(&c, &s);
	c.cancel_in_head = true;
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	run_until(&c.ended, 3000);
	run_for(250);
	ok(c.n_head == 1 && c.n_body == 0 && c.n_done == 0 && c.n_err == 0,
	    "cancel in on_head: nothing after");
	cli_cleanup(&c);

	/* Cancel before anything happened. */
	cli_init(&c, &s);
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	up_req_cancel(c.r);
	run_for(250);
	ok(c.n_head == 0 && c.n_done == 0 && c.n_err == 0,
	    "cancel right after start: no callback");
	cli_cleanup(&c);

	/* Pause in on_head, resume later: everything arrives, in order. */
	cli_init(&c, &s);
	c.pause_in_head = true;
	start(p, &c, "GET / HTTP/1.1\r\n", UP_BODY_NONE, 0, true, false);
	run_until(&c.ended, 300);
	ok(c.n_head == 1 && c.n_body == 0 && !c.ended,
	    "paused: no body while paused");
	up_req_resume_read(c.r);
	ok(c.n_body == 0, "resume: no callback from inside resume");
	ok(run_until(&c.ended, 3000) && c.n_done == 1, "resumed: done");
	ok(body_is(&c, "onetwothree"), "resumed: whole body");
	is_int(up_pool_idle(p), 1, "resumed: pooled");
	cli_cleanup(&c);
	up_pool_free(p);
	srv_free(&s);

	/* Response backpressure: a 2 MiB body, paused from on_body. */
	{
		static char big[64 + (2 << 20)];
		static struct step sb[] = {{0, A_WRITE, big, 0}};
		size_t hl, got;
		int n;

		hl = (size_t)snprintf(big, 64,
		    "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 2 << 20);
		memset(big + hl, 'b', 2 << 20);
		sb[0].len = hl + (2 << 20);
		srv_init(&s, sb, 1);
		p = pool_for(&s, 1, 300, 5000);
		cli_init(&c, &s);
		c.pause_in_body = true;
		start(p, &c, "GET /big HTTP/1.1\r\n", UP_BODY_NONE, 0, true,
		    false);
		run_until(&c.ended, 500);
		n = c.n_body;
		got = evbuffer_get_length(c.body);
		ok(n == 1 && got < (2u << 20) && !c.ended,
		    "paused in on_body: one slice (%zu bytes), no more", got);
		ok(c.n_err == 0, "paused: no read timeout while paused");
		c.pause_in_body = false;
		up_req_resume_read(c.r);
		ok(run_until(&c.ended, 5000) && c.n_done == 1, "resumed: done");
		is_int(evbuffer_get_length(c.body), 2 << 20,
		    "resumed: whole 2 MiB");
		cli_cleanup(&c);
		up_pool_free(p);
		srv_free(&s);
	}
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (base == NULL) {
		printf("Bail out! no event base\n");
		return 1;
	}
	ok(strcmp(up_error_str(UP_ERR_TIMEOUT), up_error_str(UP_ERR_CONNECT)) !=
	        0,
	    "error strings differ");
	test_keepalive();
	test_chunked_stream();
	test_close_delimited();
	test_no_body();
	test_upgrade();
	test_malformed();
	test_errors();
	test_retry();
	test_stray();
	test_pool_limits();
	test_pool_follows_load();
	test_upload();
	test_cancel_pause();
	event_base_free(base);
	libevent_global_shutdown();
	return tap_done();
}
