/* SPDX-License-Identifier: MIT */
/* The libevhtp adapter: head guard, hooks, safe pause/resume, our own
 * replies, upstream relay and websocket tunnels (deps.md §2). */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>
#include <event2/thread.h>
#include <evhtp.h>

#include "http.h"
#include "dns.h"
#include "proxy.h"

#define LINGER_MS 2000
#define PROXY_MAX_TOKEN                                                        \
	8000 /* under evhtp's PARSER_STACK_MAX */ /* read and discard after a  \
	                                             last reply (RFC 9112      \
	                                             §9.6) */

static void conn_closing(struct proxy_conn *cx);
static void guard_run(struct proxy_conn *cx);
static void req_finish(struct proxy_req *pr);
static void cx_flush(struct proxy_conn *cx);
static void flushed_cb(evutil_socket_t fd, short what, void *arg);
static void req_reply_local(struct proxy_req *pr, bool early);
static void tunnel_close(struct proxy_conn *cx);
static void server_tun_setup(struct proxy_req *pr);
static bool chunk_feed(struct proxy_conn *cx);

/* ------------------------------------------------------------ generations */

static void
wgen_unref(struct proxy_wgen *wg)
{
	size_t i;

	if (wg == NULL || --wg->refs > 0)
		return;
	for (i = 0; i < CONF_MAX_UPSTREAMS; i++)
		up_pool_free(wg->pools[i]);
	auth_tcache_free(wg->tcache);
	proxy_gen_unref(wg->gen);
	free(wg);
}

static struct proxy_wgen *
wgen_new(struct proxy_worker *w, struct proxy_gen *g)
{
	struct proxy_wgen *wg;
	const struct conf *c = g->conf;
	size_t i;

	if ((wg = calloc(1, sizeof(*wg))) == NULL)
		return NULL;
	wg->gen = g;
	wg->refs = 1;
	for (i = 0; i < c->n_upstreams; i++) {
		wg->pools[i] = up_pool_new(w->base, w->dns, &c->upstreams[i]);
		if (wg->pools[i] == NULL)
			goto fail;
	}
	wg->tcache = auth_tcache_new(
	    c->token_cache_entries > 0 ? c->token_cache_entries : 1024);
	if (wg->tcache == NULL)
		goto fail;
	return wg;
fail:
	wg->gen = NULL;
	for (i = 0; i < CONF_MAX_UPSTREAMS; i++)
		up_pool_free(wg->pools[i]);
	free(wg);
	return NULL;
}

/* Moves the worker to the current generation when a reload happened; the
 * old pools live on until their last request finishes. */
static void
worker_refresh(struct proxy_worker *w)
{
	struct proxy_gen *g;
	struct proxy_wgen *wg;

	if (w->wg != NULL && w->wg->gen->id == atomic_load(&proxy_g->gen_id))
		return;
	g = proxy_gen_get();
	if ((wg = wgen_new(w, g)) == NULL) {
		log_warnx("%s: worker %d keeps the old configuration", __func__,
		    w->index);
		proxy_gen_unref(g);
		return;
	}
	wgen_unref(w->wg);
	w->wg = wg;
	log_debug("%s: worker %d now on generation %u", __func__, w->index,
	    g->id);
}

static void
worker_init(evhtp_t *htp, evthr_t *thr, void *arg)
{
	static atomic_int next_index;
	struct proxy_worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatalx("%s: out of memory", __func__);
	w->base = evthr_get_base(thr);
	w->index = atomic_fetch_add(&next_index, 1);
	w->dns = proxy_dns_new(w->base);
	if (w->dns == NULL)
		w->dns = evdns_base_new(w->base, 0);
	worker_refresh(w);
	if (w->wg == NULL)
		fatalx("%s: cannot set up worker %d", __func__, w->index);
	evthr_set_aux(thr, w);
}

static void
worker_exit(evhtp_t *htp, evthr_t *thr, void *arg)
{
	struct proxy_worker *w = evthr_get_aux(thr);

	if (w == NULL)
		return;
	/* Close what is still open (drain timed out, idle keep-alives) so
	 * in-flight upstream requests are cancelled before the pools go. */
	while (w->conns != NULL)
		evhtp_connection_free(w->conns->evconn);
	wgen_unref(w->wg);
	if (w->dns != NULL)
		evdns_base_free(w->dns, 0);
	/* bufferevent_free() finishes through a deferred callback of this
	 * base, whose loop has already stopped: give it one pass so the
	 * bufferevents freed here and in the last iteration are released
	 * (LeakSanitizer saw one left after a client closed at shutdown). */
	event_base_loop(w->base, EVLOOP_NONBLOCK);
	free(w);
}

/* ---------------------------------------------------------------- helpers */

/* The one status text table is the codec's (RFC 9110 §15). */
static const char *
reason_phrase(int status)
{
	return h1_reason(status);
}

static int64_t
ms_since(const struct timeval *t0)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	return (int64_t)(now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_usec - t0->tv_usec) / 1000;
}

static void
timer_arm(struct proxy_conn *cx, int ms)
{
	struct timeval tv;

	cx->wd_on = false;
	if (ms <= 0) {
		event_del(cx->timer);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(cx->timer, &tv);
}

static const struct conf *
cx_conf(struct proxy_conn *cx)
{
	return cx->w->wg->gen->conf;
}

/*
 * The write-progress deadline (slow-read defence): while response bytes
 * are queued toward the client and nothing else times the connection
 * (waiting on the upstream, or our reads of the request paused), a client
 * that takes no byte for timeouts.idle is cut. It reuses |timer| and is
 * armed only when output is pending: when upstream reads pause at the
 * client high-water mark, when the response is complete but not yet
 * flushed, or when a request is complete with output already queued.
 * Progress is checked when the timer fires (no callback per write), so
 * the cut comes between one and two idle timeouts after the last byte
 * the client took. An empty output disarms it: an SSE stream with long
 * gaps between events is never cut by it.
 */
static void
wd_arm(struct proxy_conn *cx)
{
	size_t n = evbuffer_get_length(bufferevent_get_output(cx->bev));

	if (n == 0) {
		timer_arm(cx, 0);
		return;
	}
	timer_arm(cx, cx_conf(cx)->idle_timeout_ms);
	cx->wd_on = cx_conf(cx)->idle_timeout_ms > 0;
	cx->wd_len = n;
	cx->wd_in = cx->out_in;
}

/* Arms the deadline unless it already runs (its marks must not move). */
static void
wd_start(struct proxy_conn *cx)
{
	if (!cx->wd_on)
		wd_arm(cx);
}

/* A problem+json body (RFC 9457) with our stable code. */

/* Connection-level reply (no evhtp request yet): a guard or deadline
 * rejection. Always closes: the framing of what follows is unknown. */
static void
conn_reply_raw(struct proxy_conn *cx, int status, const char *code)
{
	struct gate_out g;
	char buf[1024];
	ssize_t n;

	memset(&g, 0, sizeof(g));
	g.status = status;
	g.code = code;
	n = gate_reply(&g, 1, true, false, buf, sizeof(buf));
	if (n > 0)
		evbuffer_add(bufferevent_get_output(cx->bev), buf, (size_t)n);
	if (cx_conf(cx)->access_log) {
		/* the same access line as requests, without a request */
		struct proxy_req *pr = calloc(1, sizeof(*pr));

		if (pr != NULL) {
			memcpy(pr->client, cx->client, sizeof(pr->client));
			snprintf(pr->method, sizeof(pr->method), "-");
			snprintf(pr->path, sizeof(pr->path), "-");
			pr->status = status;
			pr->route = -1;
			pr->v.code = code;
			log_access(pr);
			free(pr);
		}
	}
	atomic_fetch_add(&proxy_g->n_status[status / 100], 1);
	conn_closing(cx);
}

/* ------------------------------------------------------------- connection */

static void
cx_free(struct proxy_conn *cx)
{
	if (cx->timer != NULL)
		event_free(cx->timer);
	if (cx->closed_ev != NULL)
		event_free(cx->closed_ev);
	if (cx->close_ev != NULL)
		event_free(cx->close_ev);
	if (cx->reguard_ev != NULL)
		event_free(cx->reguard_ev);
	if (cx->finish_ev != NULL)
		event_free(cx->finish_ev);
	if (cx->flushed_ev != NULL)
		event_free(cx->flushed_ev);
	if (cx->stash != NULL)
		evbuffer_free(cx->stash);
	if (cx->craw != NULL)
		evbuffer_free(cx->craw);
	free(cx->head);
	free(cx->fields);
	free(cx);
}

/* Stop reading; free the connection once the output is flushed. */
static void
conn_closing(struct proxy_conn *cx)
{
	if (cx->state == CONN_CLOSING)
		return;
	cx->state = CONN_CLOSING;
	event_del(cx->timer);
	event_del(cx->closed_ev);
	bufferevent_disable(cx->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(cx->bev)) == 0)
		event_active(cx->close_ev, EV_TIMEOUT, 1);
	else {
		/* flushed_cb may have turned EV_WRITE off between requests */
		bufferevent_enable(cx->bev, EV_WRITE);
		/* a slow reader must not pin a closing connection forever */
		timer_arm(cx, cx_conf(cx)->idle_timeout_ms);
	}
}

/* Drop the connection now, without flushing (client gone, cut upstream). */
static void
conn_abort(struct proxy_conn *cx)
{
	cx->state = CONN_CLOSING;
	cx->abort = true;
	event_del(cx->timer);
	event_del(cx->closed_ev);
	bufferevent_disable(cx->bev, EV_READ | EV_WRITE);
	event_active(cx->close_ev, EV_TIMEOUT, 1);
}

static void
close_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *cx = arg;

	/* Half-close and keep reading briefly, so unread request bytes do
	 * not turn our last reply into a RST (RFC 9112 §9.6). */
	if (!cx->abort && !cx->lingering && cx->evconn->sock >= 0) {
		cx->lingering = true;
		shutdown(cx->evconn->sock, SHUT_WR);
		bufferevent_enable(cx->bev, EV_READ);
		timer_arm(cx, LINGER_MS);
		return;
	}
	/* conn fini hook frees |cx| */
	evhtp_connection_free(cx->evconn);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *cx = arg;
	struct proxy_req *pr = cx->req;

	if (cx->wd_on && !cx->lingering && cx->state != CONN_CLOSING) {
		size_t n = evbuffer_get_length(bufferevent_get_output(cx->bev));

		cx->wd_on = false;
		if (n == 0)
			return; /* all written: nothing to time */
		if (n < cx->wd_len + (cx->out_in - cx->wd_in)) {
			wd_arm(cx); /* the client took bytes: next period */
			return;
		}
		log_debug("%s: client %s took no byte in %d ms with %zu "
		          "queued: cut",
		    __func__, cx->client, cx_conf(cx)->idle_timeout_ms, n);
		if (pr != NULL && pr->up != NULL) {
			up_req_cancel(pr->up);
			pr->up = NULL;
		}
		/* Reset, not close: a close would leave the queued bytes to
		 * the kernel, still pinned by the same client. */
		if (cx->evconn->sock >= 0) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			(void)setsockopt(cx->evconn->sock, SOL_SOCKET,
			    SO_LINGER, &lg, sizeof(lg));
		}
		/* the access line keeps the status that was sent */
		conn_abort(cx);
		return;
	}
	if (cx->lingering || cx->state == CONN_CLOSING) {
		cx->abort = true;
		event_active(cx->close_ev, EV_TIMEOUT, 1);
		return;
	}
	switch (cx->state) {
	case CONN_HEAD:
		if (evbuffer_get_length(bufferevent_get_input(cx->bev)) > 0 ||
		    cx->saw_bytes) {
			conn_reply_raw(cx, 408, "head_timeout");
			return;
		}
		conn_abort(cx);
		return;
	case CONN_IDLE:
		conn_abort(cx);
		return;
	case CONN_BODY:
		if (pr != NULL && !pr->replied && pr->req != NULL) {
			pr->v.status = 408;
			pr->v.code = "body_timeout";
			pr->v.title = "Request Timeout";
			req_reply_local(pr, true);
			return;
		}
		conn_abort(cx);
		return;
	default:
		return;
	}
}

/* The client went away while its request was paused (deps.md §2.4):
 * reads are off, so only this EV_CLOSED watcher can tell. */
static void
closed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *cx = arg;

	log_debug("%s: client %s gone", __func__, cx->client);
	if (cx->req != NULL && cx->req->status == 0)
		cx->req->status = 499;
	conn_abort(cx);
}

static void
reguard_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *cx = arg;

	if (cx->state == CONN_IDLE || cx->state == CONN_HEAD)
		guard_run(cx);
}

/* Calls into evhtp, which may free the connection (and our |cx|) from
 * under us: |busy| defers our free until we are back. Returns false when
 * |cx| is gone. */
static bool
cx_leave(struct proxy_conn *cx)
{
	if (--cx->busy == 0 && cx->dead) {
		cx_free(cx);
		return false;
	}
	return !cx->dead;
}

/* ---------------------------------------------------------------- guard */

/* memmem(p, n, "\r\n", 2), which glibc does byte by byte for so short a
 * needle; memchr is vectorised. */
static const char *
find_crlf(const char *p, size_t n)
{
	const char *end = p + n, *r;

	while (p < end && (r = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		if (r + 1 < end && r[1] == '\n')
			return r;
		p = r + 1;
	}
	return NULL;
}

/* memmem(p, n, "\r\n\r\n", 4). */
static const char *
find_crlfcrlf(const char *p, size_t n)
{
	const char *end = p + n, *r;

	while (p < end && (r = find_crlf(p, (size_t)(end - p))) != NULL) {
		if (r + 3 < end && r[2] == '\r' && r[3] == '\n')
			return r;
		p = r + 2;
	}
	return NULL;
}

static bool
ci_eq(const char *a, size_t a_len, const char *b)
{
	return h1_name_eq(a, a_len, b, strlen(b));
}

static bool
list_has_ci(const char *v, size_t len, const char *tok)
{
	size_t i = 0, tl = strlen(tok);

	while (i < len) {
		size_t s, e, k;
		bool eq;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s != tl)
			continue;
		eq = true;
		for (k = 0; k < tl && eq; k++) {
			unsigned char x = (unsigned char)v[s + k];

			if (x >= 'A' && x <= 'Z')
				x = (unsigned char)(x - 'A' + 'a');
			eq = x == (unsigned char)tok[k];
		}
		if (eq)
			return true;
	}
	return false;
}

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH",
    "DELETE", "OPTIONS", NULL};

/*
 * Validates one whole request head |h| (|len| bytes, ending in CRLFCRLF)
 * strictly (RFC 9112 §2-§6) and records it in |cx|. Returns 0, or an HTTP
 * status with |*code| set. On success |cx|->head is our own copy, with an
 * absolute-form target already reduced to origin-form.
 */
static int
guard_check(struct proxy_conn *cx, const char *h, size_t len, const char **code)
{
	const struct conf *c = cx_conf(cx);
	const char *p = h, *end = h + len, *sp1, *sp2, *eol, *t;
	size_t mlen, tlen, i, n_fields = 0, max_fields, max_line;
	struct proxy_field *fields = NULL;
	char *copy = NULL;
	size_t copy_len, off;
	int n_cl = 0, n_te = 0, n_host = 0, status;
	uint64_t cl = 0;
	bool chunked = false, abs_form = false;

	max_fields = c->max_header_fields > 0 ? c->max_header_fields : 100;
	if (max_fields > PROXY_MAX_FIELDS_HARD)
		max_fields = PROXY_MAX_FIELDS_HARD;
	/* limits.max_header_line, but evhtp drops longer tokens. */
	max_line = c->max_header_line > 0 ? c->max_header_line : 8192;
	if (max_line > PROXY_MAX_TOKEN)
		max_line = PROXY_MAX_TOKEN;

	/* Every byte first: CR only before LF, no bare LF, no NUL/CTL. */
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)h[i];

		if (ch == '\r') {
			if (i + 1 >= len || h[i + 1] != '\n') {
				*code = "bare_cr";
				return 400;
			}
		} else if (ch == '\n') {
			if (i == 0 || h[i - 1] != '\r') {
				*code = "bare_lf";
				return 400;
			}
		} else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			*code = "control_byte";
			return 400;
		}
	}

	/* request-line = method SP request-target SP HTTP-version */
	eol = find_crlf(p, (size_t)(end - p));
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	if (sp1 == NULL || sp1 == p) {
		*code = "bad_request_line";
		return 400;
	}
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 ||
	    memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1)) != NULL) {
		*code = "bad_request_line";
		return 400;
	}
	mlen = (size_t)(sp1 - p);
	for (i = 0; i < mlen; i++)
		if (!http_is_tchar((unsigned char)p[i])) {
			*code = "bad_method";
			return 400;
		}
	if ((size_t)(eol - sp2 - 1) != 8 ||
	    memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1')) {
		const char *v = sp2 + 1;

		if ((size_t)(eol - v) == 8 && memcmp(v, "HTTP/", 5) == 0 &&
		    v[5] >= '0' && v[5] <= '9' && v[6] == '.' && v[7] >= '0' &&
		    v[7] <= '9') {
			*code = "version_not_supported";
			return 505;
		}
		*code = "bad_version";
		return 400;
	}
	cx->minor = sp2[8] - '0';
	for (i = 0; methods[i] != NULL; i++)
		if (strlen(methods[i]) == mlen &&
		    memcmp(methods[i], p, mlen) == 0)
			break;
	if (methods[i] == NULL) {
		/* CONNECT included: we never open tunnels to arbitrary hosts */
		*code = "method_not_supported";
		return 501;
	}
	memcpy(cx->method, p, mlen);
	cx->method[mlen] = '\0';

	/* request-target: visible ASCII only, no fragment (RFC 9112 §3.2) */
	t = sp1 + 1;
	tlen = (size_t)(sp2 - t);
	if (tlen > PROXY_MAX_TOKEN) {
		/* evhtp silently drops tokens over 8191 bytes */
		*code = "uri_too_long";
		return 414;
	}
	for (i = 0; i < tlen; i++) {
		unsigned char ch = (unsigned char)t[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '#') {
			*code = "bad_target";
			return 400;
		}
	}
	if (t[0] != '/') {
		/* absolute-form: reduce to origin-form before anyone reads it
		 */
		size_t sl = 0;
		const char *auth, *pth;

		if (tlen > 7 && strncasecmp(t, "http://", 7) == 0)
			sl = 7;
		else if (tlen > 8 && strncasecmp(t, "https://", 8) == 0)
			sl = 8;
		if (sl == 0) {
			*code = "bad_target";
			return 400;
		}
		auth = t + sl;
		pth = auth;
		while (pth < t + tlen && *pth != '/' && *pth != '?')
			pth++;
		if (pth == auth ||
		    (size_t)(pth - auth) >= sizeof(cx->authority) ||
		    memchr(auth, '@', (size_t)(pth - auth)) != NULL) {
			*code = "bad_target";
			return 400;
		}
		/* RFC 9112 §3.2.2: this authority, not Host, is where the
		 * request went; the gate reads it. */
		memcpy(cx->authority, auth, (size_t)(pth - auth));
		cx->authority[pth - auth] = '\0';
		abs_form = true;
		t = pth;
		tlen = (size_t)(sp2 - pth);
	}

	/* Our copy: method SP origin-target SP version CRLF + header lines. */
	copy_len = mlen + 1 + (tlen == 0 || t[0] == '?' ? 1 : 0) + tlen +
	    (size_t)(end - sp2);
	if ((copy = malloc(copy_len + 1)) == NULL) {
		*code = "internal";
		return 503;
	}
	off = 0;
	memcpy(copy, p, mlen + 1);
	off = mlen + 1;
	cx->target_off = off;
	if (tlen == 0 || t[0] == '?')
		copy[off++] = '/';
	memcpy(copy + off, t, tlen);
	off += tlen;
	cx->target_len = off - cx->target_off;
	memcpy(copy + off, sp2, (size_t)(end - sp2));
	off += (size_t)(end - sp2);
	copy[off] = '\0';

	/* every used entry is filled in below: no need to zero them */
	if ((fields = malloc(max_fields * sizeof(*fields))) == NULL) {
		*code = "internal";
		status = 503;
		goto fail;
	}

	/* header fields (RFC 9112 §5) */
	p = find_crlf(copy, off) + 2;
	end = copy + off - 2; /* the final empty line */
	while (p < end) {
		const char *le = find_crlf(p, (size_t)(end - p + 2));
		const char *colon, *vs, *ve;
		struct proxy_field *f;

		if ((size_t)(le - p) > max_line) {
			*code = "field_too_large";
			status = 431;
			goto fail;
		}
		if (*p == ' ' || *p == '\t') {
			*code = "obs_fold";
			status = 400;
			goto fail;
		}
		colon = memchr(p, ':', (size_t)(le - p));
		if (colon == NULL || colon == p) {
			*code = "bad_field";
			status = 400;
			goto fail;
		}
		for (vs = p; vs < colon; vs++)
			if (!http_is_tchar((unsigned char)*vs)) {
				/* includes a space before the colon */
				*code = "bad_field_name";
				status = 400;
				goto fail;
			}
		if (n_fields == max_fields) {
			*code = "too_many_fields";
			status = 431;
			goto fail;
		}
		vs = colon + 1;
		ve = le;
		while (vs < ve && (*vs == ' ' || *vs == '\t'))
			vs++;
		while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		f = &fields[n_fields++];
		f->name_off = (uint32_t)(p - copy);
		f->name_len = (uint32_t)(colon - p);
		f->val_off = (uint32_t)(vs - copy);
		f->val_len = (uint32_t)(ve - vs);

		if (ci_eq(p, f->name_len, "content-length")) {
			const char *d;

			if (++n_cl > 1 || ve == vs || ve - vs > 19) {
				*code = n_cl > 1 ? "duplicate_content_length"
				                 : "bad_content_length";
				status = 400;
				goto fail;
			}
			cl = 0;
			for (d = vs; d < ve; d++) {
				if (*d < '0' || *d > '9') {
					*code = "bad_content_length";
					status = 400;
					goto fail;
				}
				cl = cl * 10 + (uint64_t)(*d - '0');
			}
		} else if (ci_eq(p, f->name_len, "transfer-encoding")) {
			/* Only exactly "chunked": evhtp frames anything else
			 * by Content-Length (deps.md §2.6). */
			if (++n_te > 1 || ve - vs != 7 ||
			    memcmp(vs, "chunked", 7) != 0) {
				*code = "bad_transfer_encoding";
				status = 400;
				goto fail;
			}
			chunked = true;
		} else if (ci_eq(p, f->name_len, "host")) {
			const char *d;

			if (++n_host > 1 || ve == vs) {
				*code =
				    n_host > 1 ? "duplicate_host" : "bad_host";
				status = 400;
				goto fail;
			}
			for (d = vs; d < ve; d++)
				if (*d == ' ' || *d == '\t' || *d == '/' ||
				    *d == '@' || *d == ',' || *d == '\\') {
					*code = "bad_host";
					status = 400;
					goto fail;
				}
		} else if (ci_eq(p, f->name_len, "upgrade")) {
			if (list_has_ci(vs, (size_t)(ve - vs), "h2c")) {
				*code = "h2c_refused";
				status = 400;
				goto fail;
			}
		} else if (ci_eq(p, f->name_len, "http2-settings")) {
			*code = "h2c_refused";
			status = 400;
			goto fail;
		}
		p = le + 2;
	}
	if (n_host != 1) {
		*code = "missing_host";
		status = 400;
		goto fail;
	}
	if (n_cl > 0 && n_te > 0) {
		*code = "content_length_with_transfer_encoding";
		status = 400;
		goto fail;
	}
	if (n_te > 0 && cx->minor == 0) {
		/* RFC 9112 §6.1: faulty framing */
		*code = "bad_transfer_encoding";
		status = 400;
		goto fail;
	}
	if (c->max_body_bytes > 0 && !chunked && cl > c->max_body_bytes) {
		*code = "body_too_large";
		status = 413;
		goto fail;
	}
	cx->body_kind = chunked    ? UP_BODY_CHUNKED
	    : (n_cl > 0 && cl > 0) ? UP_BODY_LENGTH
	                           : UP_BODY_NONE;
	cx->body_len = cl;
	cx->abs_form = abs_form;
	free(cx->head);
	free(cx->fields);
	cx->head = copy;
	cx->head_len = off;
	cx->fields = fields;
	cx->n_fields = n_fields;
	return 0;
fail:
	free(copy);
	free(fields);
	return status;
}

/*
 * The head guard (deps.md §2.7): nothing reaches evhtp's parser until the
 * whole head is here and valid, and evhtp always sees it in one piece.
 */
static void
guard_run(struct proxy_conn *cx)
{
	const struct conf *c = cx_conf(cx);
	struct evbuffer *in = bufferevent_get_input(cx->bev);
	size_t len, scan, max_head, hl, i;
	const char *p, *e, *code = NULL;
	int status;

	if (evbuffer_get_length(cx->stash) > 0)
		evbuffer_prepend_buffer(in, cx->stash);
	if (cx->state != CONN_IDLE && cx->state != CONN_HEAD)
		return;
	max_head = c->max_head_bytes > 0 ? c->max_head_bytes : 16384;

	/* RFC 9112 §2.2: ignore empty lines before a request-line. */
	for (;;) {
		len = evbuffer_get_length(in);
		if (len < 2)
			break;
		p = (const char *)evbuffer_pullup(in, 2);
		if (p[0] != '\r' || p[1] != '\n')
			break;
		evbuffer_drain(in, 2);
	}
	len = evbuffer_get_length(in);
	if (len == 0)
		return;
	if (cx->state == CONN_IDLE) {
		cx->state = CONN_HEAD;
		cx->saw_bytes = true;
		timer_arm(cx, c->head_timeout_ms);
	}
	scan = len < max_head + 4 ? len : max_head + 4;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)scan);
	e = find_crlfcrlf(p, scan);
	if (e == NULL) {
		if (len > max_head) {
			conn_reply_raw(cx, 431, "head_too_large");
			return;
		}
		/* Fail fast on bytes that can never become a valid head. */
		for (i = 0; i < scan; i++) {
			unsigned char ch = (unsigned char)p[i];

			if ((ch == '\n' && (i == 0 || p[i - 1] != '\r')) ||
			    ch == '\0') {
				conn_reply_raw(cx, 400,
				    ch ? "bare_lf" : "control_byte");
				return;
			}
		}
		return;
	}
	hl = (size_t)(e - p) + 4;
	if (hl > max_head) {
		conn_reply_raw(cx, 431, "head_too_large");
		return;
	}
	if ((status = guard_check(cx, p, hl, &code)) != 0) {
		conn_reply_raw(cx, status, code);
		return;
	}
	/* Hand evhtp our copy (the target may have been rewritten). */
	evbuffer_drain(in, hl);
	cx->ch = CH_OFF;
	if (cx->body_kind == UP_BODY_CHUNKED) {
		/* the body goes through our re-framer, never raw */
		cx->ch = CH_SIZE;
		cx->ch_left = 0;
		if (!chunk_feed(cx))
			return;
	}
	evbuffer_prepend(in, cx->head, cx->head_len);
	cx->state = CONN_BODY;
	timer_arm(cx, c->body_timeout_ms);
	cx->busy++;
	cx->ev_readcb(cx->bev, cx->evconn);
	cx_leave(cx);
}

/* ------------------------------------------------------ chunked bodies */

#define CHUNK_LINE_MAX 4096    /* a chunk-size line with extensions */
#define CHUNK_TRAILER_MAX 8192 /* the whole trailer section */
#define CHUNK_SIZE_DIGITS 15   /* hex digits; evhtp overflows at 17 */

/*
 * Re-frames a chunked request body from |cx|->craw into |out| for evhtp:
 * strict chunk-size lines (RFC 9112 §7.1: 1*HEXDIG, extensions allowed and
 * removed, CRLF only), strict CRLF after data, trailers dropped (evhtp
 * would merge them into the headers). evhtp's own chunk parser overflows
 * sizes and closes silently on extensions, so it only ever sees our
 * canonical form. Returns 1 at the end of the body (bytes after it stay
 * in craw), 0 when more input is needed, -1 with |code| on bad framing.
 */
static int
chunk_reframe(struct proxy_conn *cx, struct evbuffer *out, const char **code)
{
	struct evbuffer *in = cx->craw;
	struct evbuffer_ptr pos;
	size_t eol_len, n, i;
	const char *line;

	for (;;) {
		switch (cx->ch) {
		case CH_SIZE:
		case CH_TRAILER: {
			uint64_t size = 0;
			size_t digits = 0;

			pos = evbuffer_search_eol(in, NULL, &eol_len,
			    EVBUFFER_EOL_LF);
			if (pos.pos < 0) {
				n = evbuffer_get_length(in);
				if ((cx->ch == CH_SIZE && n > CHUNK_LINE_MAX) ||
				    (cx->ch == CH_TRAILER &&
				        cx->ch_trailer + n >
				            CHUNK_TRAILER_MAX)) {
					*code = "bad_chunk";
					return -1;
				}
				return 0;
			}
			n = (size_t)pos.pos;
			line = (const char *)evbuffer_pullup(in,
			    (ev_ssize_t)n + 1);
			if (n == 0 || line[n - 1] != '\r') {
				*code = "bad_chunk";
				return -1;
			}
			n--; /* without CR */
			for (i = 0; i < n; i++) {
				unsigned char ch = (unsigned char)line[i];

				if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
					*code = "bad_chunk";
					return -1;
				}
			}
			if (cx->ch == CH_TRAILER) {
				cx->ch_trailer += n + 2;
				if (cx->ch_trailer > CHUNK_TRAILER_MAX) {
					*code = "bad_chunk";
					return -1;
				}
				evbuffer_drain(in, n + 2);
				if (n == 0) {
					evbuffer_add(out, "0\r\n\r\n", 5);
					cx->ch = CH_DONE;
					return 1;
				}
				continue;
			}
			if (n > CHUNK_LINE_MAX) {
				*code = "bad_chunk";
				return -1;
			}
			for (i = 0; i < n; i++) {
				char c = line[i];
				int v;

				if (c >= '0' && c <= '9')
					v = c - '0';
				else if (c >= 'a' && c <= 'f')
					v = c - 'a' + 10;
				else if (c >= 'A' && c <= 'F')
					v = c - 'A' + 10;
				else
					break;
				if (++digits > CHUNK_SIZE_DIGITS) {
					*code = "bad_chunk";
					return -1;
				}
				size = size * 16 + (uint64_t)v;
			}
			if (digits == 0) {
				*code = "bad_chunk";
				return -1;
			}
			/* chunk-ext = *( BWS ";" BWS ext-name [ ... ] ) */
			while (i < n && (line[i] == ' ' || line[i] == '\t'))
				i++;
			if (i < n && line[i] != ';') {
				*code = "bad_chunk";
				return -1;
			}
			evbuffer_drain(in, n + 2);
			if (size == 0) {
				cx->ch = CH_TRAILER;
				cx->ch_trailer = 0;
				continue;
			}
			evbuffer_add_printf(out, "%llx\r\n",
			    (unsigned long long)size);
			cx->ch_left = size;
			cx->ch = CH_DATA;
			continue;
		}
		case CH_DATA:
			n = evbuffer_get_length(in);
			if (n == 0)
				return 0;
			if (n > cx->ch_left)
				n = (size_t)cx->ch_left;
			evbuffer_remove_buffer(in, out, n);
			cx->ch_left -= n;
			if (cx->ch_left == 0)
				cx->ch = CH_DATA_CRLF;
			continue;
		case CH_DATA_CRLF:
			if (evbuffer_get_length(in) < 2)
				return 0;
			line = (const char *)evbuffer_pullup(in, 2);
			if (line[0] != '\r' || line[1] != '\n') {
				*code = "bad_chunk";
				return -1;
			}
			evbuffer_drain(in, 2);
			evbuffer_add(out, "\r\n", 2);
			cx->ch = CH_SIZE;
			continue;
		case CH_OFF:
		case CH_DONE:
		default:
			return 1;
		}
	}
}

/* Feeds raw body bytes (all of the input) through the re-framer into the
 * input buffer evhtp reads. Returns false when the connection is being
 * answered 400 instead. */
static bool
chunk_feed(struct proxy_conn *cx)
{
	struct evbuffer *in = bufferevent_get_input(cx->bev);
	const char *code = "bad_chunk";
	struct evbuffer *tmp;
	int r = -1;

	/* |in| holds only raw bytes here: evhtp consumed all it was given,
	 * or it is paused and reads are off. */
	evbuffer_add_buffer(cx->craw, in);
	if ((tmp = evbuffer_new()) != NULL) {
		r = chunk_reframe(cx, tmp, &code);
		/* |in| is empty now; its tail is frozen by the bufferevent,
		 * so prepend. */
		evbuffer_prepend_buffer(in, tmp);
		evbuffer_free(tmp);
	}
	if (r < 0) {
		evbuffer_drain(in, evbuffer_get_length(in));
		evbuffer_drain(cx->craw, evbuffer_get_length(cx->craw));
		if (cx->req != NULL && !cx->req->replied) {
			cx->req->v.status = 400;
			cx->req->v.code = code;
			cx->req->v.title = "Bad Request";
			req_reply_local(cx->req, true);
		} else if (cx->req == NULL)
			conn_reply_raw(cx, 400, code);
		else
			conn_abort(cx);
		return false;
	}
	if (r == 1) {
		/* what follows the body is the next request: the guard's */
		evbuffer_add_buffer(cx->stash, cx->craw);
	}
	return true;
}

/* -------------------------------------------------------- bev wrappers */

static void
tunnel_pump(struct proxy_conn *cx)
{
	struct proxy_req *pr = cx->req;
	struct evbuffer *cin = bufferevent_get_input(cx->bev);
	struct evbuffer *cout = bufferevent_get_output(cx->bev);

	if (pr == NULL || pr->tun == NULL)
		return;
	if (evbuffer_get_length(cin) > 0)
		bufferevent_write_buffer(pr->tun, cin);
	if (evbuffer_get_length(bufferevent_get_input(pr->tun)) > 0) {
		pr->bytes_out +=
		    evbuffer_get_length(bufferevent_get_input(pr->tun));
		bufferevent_write_buffer(cx->bev,
		    bufferevent_get_input(pr->tun));
	}
	/* each side reads only while the other side keeps up */
	if (evbuffer_get_length(bufferevent_get_output(pr->tun)) >
	    PROXY_CLIENT_HIGH_WM)
		bufferevent_disable(cx->bev, EV_READ);
	else
		bufferevent_enable(cx->bev, EV_READ);
	if (evbuffer_get_length(cout) > PROXY_CLIENT_HIGH_WM)
		bufferevent_disable(pr->tun, EV_READ);
	else
		bufferevent_enable(pr->tun, EV_READ);
}

static void
wrap_readcb(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *cx = arg;

	switch (cx->state) {
	case CONN_IDLE:
	case CONN_HEAD:
		guard_run(cx);
		return;
	case CONN_BODY:
		if (cx->ch == CH_DONE) {
			/* body complete: these bytes are the next request */
			evbuffer_add_buffer(cx->stash,
			    bufferevent_get_input(bev));
			return;
		}
		if (cx->ch != CH_OFF && !chunk_feed(cx))
			return;
		cx->busy++;
		cx->ev_readcb(bev, cx->evconn);
		cx_leave(cx);
		return;
	case CONN_TUNNEL:
		tunnel_pump(cx);
		return;
	case CONN_WAIT:
		/* the next pipelined request: keep it for the guard */
		evbuffer_add_buffer(cx->stash, bufferevent_get_input(bev));
		return;
	default:
		/* closing: discard what the client still sends */
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
}

static void
wrap_writecb(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *cx = arg;

	switch (cx->state) {
	case CONN_CLOSING:
		if (!cx->lingering &&
		    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			event_active(cx->close_ev, EV_TIMEOUT, 1);
		return;
	case CONN_TUNNEL:
		tunnel_pump(cx);
		return;
	default:
		/* evhtp's write callback without a request only frees the
		 * connection ("no request associated"): never let it. */
		if (cx->evconn->request == NULL) {
			log_debug("%s: write callback in state %d without a "
			          "request",
			    __func__, (int)cx->state);
			return;
		}
		cx->busy++;
		cx->ev_writecb(bev, cx->evconn);
		cx_leave(cx);
		return;
	}
}

static void
wrap_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct proxy_conn *cx = arg;

	/* We own every connection's end: evhtp's own event callback would
	 * free a paused connection only at resume time. */
	if (cx->state == CONN_TUNNEL) {
		if (what & BEV_EVENT_EOF)
			tunnel_pump(cx);
		tunnel_close(cx);
		conn_closing(cx);
		return;
	}
	if ((what & BEV_EVENT_ERROR) || (what & BEV_EVENT_WRITING) ||
	    (what & BEV_EVENT_TIMEOUT) || cx->lingering) {
		conn_abort(cx);
		return;
	}
	/* A read EOF: flush what we owe (a reply may be queued), then close. */
	bufferevent_disable(bev, EV_READ);
	conn_closing(cx);
}

/* ------------------------------------------------------------- requests */

/* The response is complete (or abandoned): the request no longer holds
 * up a drain. */
static void
req_uncount(struct proxy_req *pr)
{
	if (!pr->uncounted) {
		pr->uncounted = true;
		atomic_fetch_sub(&proxy_g->inflight, 1);
	}
}

static void
proxy_req_free(struct proxy_req *pr)
{
	if (pr->up != NULL) {
		up_req_cancel(pr->up);
		pr->up = NULL;
	}
	if (pr->tun != NULL)
		bufferevent_free(pr->tun);
	if (pr->up_head != NULL)
		evbuffer_free(pr->up_head);
	if (pr->status == 0)
		pr->status = 499; /* client closed before any response */
	if (pr->conf == NULL || pr->conf->access_log)
		log_access(pr);
	admin_count(pr);
	free(pr->head);
	free(pr->fields);
	wgen_unref(pr->wg);
	req_uncount(pr);
	free(pr);
}

static void
closed_watch(struct proxy_conn *cx, bool on)
{
	if (cx == NULL)
		return;
	if (on)
		event_add(cx->closed_ev, NULL);
	else
		event_del(cx->closed_ev);
}

static void
out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct proxy_req *pr = arg;

	if (info->n_deleted == 0 || !pr->up_read_paused || pr->up == NULL)
		return;
	if (evbuffer_get_length(buf) < PROXY_CLIENT_HIGH_WM / 2) {
		pr->up_read_paused = false;
		log_debug("%s: resume upstream reads", __func__);
		up_req_resume_read(pr->up);
	}
}

static void
out_cb_remove(struct proxy_req *pr)
{
	if (pr->out_cb_set && pr->cx != NULL) {
		evbuffer_remove_cb(bufferevent_get_output(pr->cx->bev), out_cb,
		    pr);
		pr->out_cb_set = false;
	}
}

/* A local reply: admin bodies or problem+json. |early|: the request body
 * was not (fully) read, so the connection must close after it
 * (deps.md §2.4: otherwise the unread body becomes a request). */
static void
req_reply_local(struct proxy_req *pr, bool early)
{
	struct proxy_conn *cx = pr->cx;
	struct evbuffer *out;
	const char *type, *b;
	size_t n, out_before;

	if (cx == NULL || pr->req == NULL || pr->replied)
		return;
	out = bufferevent_get_output(cx->bev);
	if (early || atomic_load(&proxy_g->draining))
		pr->keepalive = false;
	if (!pr->keepalive)
		evhtp_request_disable_flag(pr->req, EVHTP_REQ_FLAG_KEEPALIVE);
	out_before = evbuffer_get_length(out);
	if (pr->v.body_type == NULL) {
		/* problem+json: made one way, by the gate */
		struct gate_out g;
		char rbuf[1024];
		ssize_t rn;

		g.status = pr->v.status;
		g.code = pr->v.code;
		g.title = pr->v.title;
		g.www_auth = pr->v.www_auth;
		rn = gate_reply(&g, pr->minor, !pr->keepalive, pr->is_head,
		    rbuf, sizeof(rbuf));
		if (rn < 0 || evbuffer_add(out, rbuf, (size_t)rn) != 0) {
			pr->early = true;
			req_uncount(pr);
			evhtp_send_reply_end(pr->req);
			conn_closing(cx);
			return;
		}
		/* the body's bytes, after the head's empty line */
		b = memmem(rbuf, (size_t)rn, "\r\n\r\n", 4);
		n = b != NULL ? (size_t)rn - (size_t)(b + 4 - rbuf) : 0;
		goto sent;
	}
	type = pr->v.body_type;
	b = pr->v.body;
	n = strlen(pr->v.body);
	evbuffer_add_printf(out,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n",
	    pr->v.status, reason_phrase(pr->v.status), type, n);
	if (pr->v.www_auth != NULL)
		evbuffer_add_printf(out, "WWW-Authenticate: %s\r\n",
		    pr->v.www_auth);
	if (!pr->keepalive)
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (pr->minor == 0)
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
	evbuffer_add(out, "\r\n", 2);
	if (!pr->is_head)
		evbuffer_add(out, b, n);
sent:
	cx->out_in += evbuffer_get_length(out) - out_before;
	pr->replied = true;
	pr->status = pr->v.status;
	pr->bytes_out = pr->is_head ? 0 : n;
	bufferevent_enable(cx->bev, EV_WRITE);
	if (early || !pr->msg_complete) {
		/* The body is still unread: close after this reply. */
		pr->early = true;
		req_uncount(pr);
		evhtp_send_reply_end(pr->req);
		if (pr->up != NULL) {
			up_req_cancel(pr->up);
			pr->up = NULL;
		}
		conn_closing(cx);
		return;
	}
	pr->up_done = true;
	req_finish(pr);
}

/* Response and request both complete. Deferred to the loop: from inside
 * evhtp's parse (the final callback) the parsed bytes are still in the
 * input buffer, and evhtp drains them only when the parse returns. */
static void
req_finish(struct proxy_req *pr)
{
	if (pr->finished || pr->cx == NULL || pr->req == NULL)
		return;
	req_uncount(pr);
	pr->want_finish = true;
	event_active(pr->cx->finish_ev, EV_TIMEOUT, 1);
}

/* Lets evhtp finish the request and move on to the next one
 * (deps.md §2.4, §2.5). */
static void
finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *cx = arg;
	struct proxy_req *pr = cx->req;
	struct bufferevent *bev;

	if (pr == NULL || !pr->want_finish || pr->finished || pr->req == NULL)
		return;
	pr->finished = true;
	out_cb_remove(pr);
	closed_watch(cx, false);
	evhtp_send_reply_end(pr->req);
	if (!pr->keepalive) {
		evhtp_request_disable_flag(pr->req, EVHTP_REQ_FLAG_KEEPALIVE);
		conn_closing(cx);
		return;
	}
	/* Hide pipelined bytes: evhtp's resume would parse them without the
	 * guard. The request-fini hook hands them back to the guard. */
	bev = cx->bev;
	evbuffer_add_buffer(cx->stash, bufferevent_get_input(bev));
	cx_flush(cx);
	cx->busy++;
	evhtp_request_resume(pr->req);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		/* reply_end only sets a flag; nothing would call evhtp's
		 * write callback again (deps.md §2.5). */
		cx->ev_writecb(bev, cx->evconn);
	} else if (!cx->dead && cx->state == CONN_WAIT) {
		/* the request ends when the client has taken the rest */
		wd_start(cx);
	}
	/* After evhtp's resume callback, queued behind it. */
	if (!cx->dead)
		event_active(cx->flushed_ev, EV_TIMEOUT, 1);
	cx_leave(cx);
}

/* Writes the queued response from here rather than from the next loop
 * turn: a small response then needs no EV_WRITE registration, which
 * saves an epoll_ctl pair per request. What the socket does not take, or
 * a failed write, stays queued for the bufferevent (EV_WRITE is on
 * whenever the output is not empty), which writes it or reports. */
static void
cx_flush(struct proxy_conn *cx)
{
	struct evbuffer *out = bufferevent_get_output(cx->bev);

	if (evbuffer_get_length(out) == 0 || cx->evconn->sock < 0)
		return;
	/* A socket bufferevent keeps its output's start frozen except while
	 * it writes itself; do the same around our write. */
	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, cx->evconn->sock);
	evbuffer_freeze(out, 1);
}

/* evhtp's resume turns EV_WRITE on even with nothing to write, which
 * costs two epoll_ctl calls. With the output flushed, turn it off again
 * before the loop applies the change; every writer of the output turns
 * it back on. */
static void
flushed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *cx = arg;

	if (cx->state == CONN_TUNNEL || cx->state == CONN_CLOSING || cx->dead)
		return;
	if (evbuffer_get_length(bufferevent_get_output(cx->bev)) == 0)
		bufferevent_disable(cx->bev, EV_WRITE);
}

/* ---------------------------------------------------- upstream callbacks */

/* True when |f|'s name is listed in one of the Connection headers of |h|
 * (RFC 9110 §7.6.1: those are hop-by-hop too). */
static bool
named_in_connection(const struct up_header *h, size_t n_h,
    const struct up_header *f)
{
	size_t i;
	char name[128];
	size_t k;

	if (f->name_len >= sizeof(name))
		return false;
	for (k = 0; k < f->name_len; k++) {
		unsigned char c = (unsigned char)f->name[k];

		name[k] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	name[k] = '\0';
	for (i = 0; i < n_h; i++)
		if (h[i].name_len == 10 &&
		    h1_name_eq_loose(h[i].name, h[i].name_len, "connection",
		        10) &&
		    list_has_ci(h[i].value, h[i].value_len, name))
			return true;
	return false;
}

static const char *const resp_hop[] = {"connection", "keep-alive",
    "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    "content-length", NULL};
static const size_t resp_hop_len[] = {10, 10, 16, 2, 7, 17, 7, 14, 0};

/* A response head is built on the stack and added to the output in one
 * piece or a few: one evbuffer_add per byte run and a formatted print
 * per number cost more than the rest of the relay. */
struct head_buf {
	struct evbuffer *out;
	size_t n;
	char b[2048];
};

static void
hb_flush(struct head_buf *hb)
{
	if (hb->n > 0)
		evbuffer_add(hb->out, hb->b, hb->n);
	hb->n = 0;
}

static void
hb_add(struct head_buf *hb, const void *p, size_t n)
{
	if (n > sizeof(hb->b) - hb->n) {
		hb_flush(hb);
		if (n > sizeof(hb->b)) {
			evbuffer_add(hb->out, p, n);
			return;
		}
	}
	memcpy(hb->b + hb->n, p, n);
	hb->n += n;
}

static void
hb_str(struct head_buf *hb, const char *s)
{
	hb_add(hb, s, strlen(s));
}

/* The decimal form of |v|, as "%lld" prints it. */
static void
hb_dec(struct head_buf *hb, long long v)
{
	char d[24];
	size_t k = sizeof(d);
	unsigned long long u =
	    v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		d[--k] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		d[--k] = '-';
	hb_add(hb, d + k, sizeof(d) - k);
}

static void
up_on_head(void *arg, int status, const struct up_header *h, size_t n_h,
    bool has_body, int64_t cl, bool chunked)
{
	struct proxy_req *pr = arg;
	struct proxy_conn *cx = pr->cx;
	struct evbuffer *out;
	struct head_buf hb;
	size_t i, j, out_before;
	bool tunnel = status == 101, has_conn = false;

	pr->up_ms = ms_since(&pr->t_up_start);
	if (cx == NULL || pr->req == NULL)
		return;
	if (tunnel && (!pr->is_ws || !pr->msg_complete)) {
		up_req_cancel(pr->up);
		pr->up = NULL;
		pr->v.status = 502;
		pr->v.code = "upstream_protocol";
		pr->v.title = "Bad Gateway";
		req_reply_local(pr, false);
		return;
	}
	out = bufferevent_get_output(cx->bev);
	out_before = evbuffer_get_length(out);
	pr->no_body_out = pr->is_head || status == 204 || status == 304 ||
	    !has_body || tunnel;
	if (!pr->msg_complete || atomic_load(&proxy_g->draining))
		pr->keepalive = false;
	if (!pr->no_body_out && cl < 0 && pr->minor == 0)
		pr->keepalive = false; /* HTTP/1.0: close-delimited */
	pr->chunked_out = !pr->no_body_out && cl < 0 && pr->minor == 1;
	if (!pr->keepalive)
		evhtp_request_disable_flag(pr->req, EVHTP_REQ_FLAG_KEEPALIVE);

	/* Any Connection header at all? Most responses have none, or only
	 * "keep-alive", and then no field is named by one. */
	for (i = 0; i < n_h && !has_conn; i++)
		has_conn = h[i].name_len == 10 &&
		    h1_name_eq_loose(h[i].name, h[i].name_len, "connection",
		        10);

	hb.out = out;
	hb.n = 0;
	hb_add(&hb, "HTTP/1.1 ", 9);
	hb_dec(&hb, status);
	hb_add(&hb, " ", 1);
	hb_str(&hb, reason_phrase(status));
	hb_add(&hb, "\r\n", 2);
	for (i = 0; i < n_h; i++) {
		bool drop = false;

		for (j = 0; resp_hop[j] != NULL && !drop; j++)
			if (h[i].name_len == resp_hop_len[j] &&
			    h1_name_eq(h[i].name, h[i].name_len, resp_hop[j],
			        resp_hop_len[j]))
				drop = true;
		if (drop && tunnel &&
		    (h1_name_eq_loose(h[i].name, h[i].name_len, "upgrade", 7) ||
		        h1_name_eq_loose(h[i].name, h[i].name_len, "connection",
		            10)))
			drop = false;
		if (!drop && !tunnel && has_conn &&
		    named_in_connection(h, n_h, &h[i]))
			drop = true;
		if (drop)
			continue;
		hb_add(&hb, h[i].name, h[i].name_len);
		hb_add(&hb, ": ", 2);
		hb_add(&hb, h[i].value, h[i].value_len);
		hb_add(&hb, "\r\n", 2);
	}
	if (!tunnel) {
		if (pr->chunked_out)
			hb_str(&hb, "Transfer-Encoding: chunked\r\n");
		else if (cl >= 0 && status != 204 &&
		    (status >= 200 || status < 100)) {
			hb_str(&hb, "Content-Length: ");
			hb_dec(&hb, cl);
			hb_add(&hb, "\r\n", 2);
		} else if (pr->no_body_out && !pr->is_head && status != 204 &&
		    status != 304)
			hb_str(&hb, "Content-Length: 0\r\n");
		if (!pr->keepalive)
			hb_str(&hb, "Connection: close\r\n");
		else if (pr->minor == 0)
			hb_str(&hb, "Connection: keep-alive\r\n");
	}
	hb_add(&hb, "\r\n", 2);
	hb_flush(&hb);
	cx->out_in += evbuffer_get_length(out) - out_before;
	pr->replied = true;
	pr->status = status;
	(void)chunked;

	if (tunnel) {
		/* RFC 6455 §4.1: after 101 both sides speak frames. */
		pr->tun = up_req_take_bev(pr->up);
		pr->up = NULL;
		pr->up_done = true;
		if (pr->tun == NULL) {
			conn_abort(cx);
			return;
		}
		cx->state = CONN_TUNNEL;
		closed_watch(cx, false);
		event_del(cx->timer);
		bufferevent_setcb(pr->tun, NULL, NULL, NULL, NULL);
		server_tun_setup(pr);
		return;
	}
	bufferevent_enable(cx->bev, EV_WRITE);
}

static void
up_on_body(void *arg, struct evbuffer *data)
{
	struct proxy_req *pr = arg;
	struct proxy_conn *cx = pr->cx;
	size_t n = evbuffer_get_length(data);
	struct evbuffer *out;

	if (cx == NULL || pr->no_body_out || n == 0) {
		evbuffer_drain(data, n);
		return;
	}
	out = bufferevent_get_output(cx->bev);
	pr->bytes_out += n;
	if (pr->chunked_out) {
		char sz[24];
		int m = snprintf(sz, sizeof(sz), "%zx\r\n", n);

		evbuffer_add(out, sz, (size_t)m);
		evbuffer_add_buffer(out, data);
		evbuffer_add(out, "\r\n", 2);
		cx->out_in += (uint64_t)m + 2;
	} else
		evbuffer_add_buffer(out, data);
	cx->out_in += n;
	bufferevent_enable(cx->bev, EV_WRITE);
	if (evbuffer_get_length(out) > PROXY_CLIENT_HIGH_WM &&
	    !pr->up_read_paused && pr->up != NULL) {
		pr->up_read_paused = true;
		/* Watch the drain only from now on: a callback entry is a
		 * malloc and a free, and most responses never pause. */
		if (!pr->out_cb_set) {
			evbuffer_add_cb(out, out_cb, pr);
			pr->out_cb_set = true;
		}
		log_debug("%s: pause upstream reads at %zu", __func__,
		    evbuffer_get_length(out));
		up_req_pause_read(pr->up);
		/* Now only the client can move this response on. */
		if (cx->state == CONN_WAIT || pr->up_paused_body)
			wd_start(cx);
	}
}

static void
up_on_done(void *arg)
{
	struct proxy_req *pr = arg;
	struct proxy_conn *cx = pr->cx;

	pr->up = NULL;
	pr->up_done = true;
	if (cx == NULL)
		return;
	if (pr->chunked_out) {
		evbuffer_add(bufferevent_get_output(cx->bev), "0\r\n\r\n", 5);
		cx->out_in += 5;
	}
	if (pr->msg_complete)
		req_finish(pr);
}

static void
up_on_error(void *arg, enum up_error err)
{
	struct proxy_req *pr = arg;
	struct proxy_conn *cx = pr->cx;

	pr->up = NULL;
	if (pr->up_ms == 0)
		pr->up_ms = ms_since(&pr->t_up_start);
	log_debug("%s: %s", __func__, up_error_str(err));
	if (cx == NULL)
		return;
	if (pr->replied) {
		/* The response was cut: the client must see it cut too. */
		conn_abort(cx);
		return;
	}
	switch (err) {
	case UP_ERR_TIMEOUT:
		pr->v.status = 504;
		pr->v.code = "upstream_timeout";
		break;
	case UP_ERR_NOMEM:
		pr->v.status = 503;
		pr->v.code = "internal";
		break;
	case UP_ERR_PROTOCOL:
		pr->v.status = 502;
		pr->v.code = "upstream_protocol";
		break;
	default:
		pr->v.status = 502;
		pr->v.code = "upstream_unavailable";
		break;
	}
	pr->v.title = reason_phrase(pr->v.status);
	req_reply_local(pr, !pr->msg_complete);
}

static void
up_on_drain(void *arg)
{
	struct proxy_req *pr = arg;

	if (!pr->up_paused_body || pr->req == NULL)
		return;
	pr->up_paused_body = false;
	closed_watch(pr->cx, false);
	if (pr->cx != NULL)
		timer_arm(pr->cx, pr->conf->body_timeout_ms);
	evhtp_request_resume(pr->req);
}

static const struct up_callbacks up_cbs = {
    .on_head = up_on_head,
    .on_body = up_on_body,
    .on_done = up_on_done,
    .on_error = up_on_error,
    .on_drain = up_on_drain,
};

/* -------------------------------------------------------------- tunnel */

static void
tun_readcb(struct bufferevent *bev, void *arg)
{
	struct proxy_req *pr = arg;

	if (pr->cx != NULL)
		tunnel_pump(pr->cx);
}

static void
tun_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct proxy_req *pr = arg;
	struct proxy_conn *cx = pr->cx;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* Upstream closed: deliver what it sent, then close the client. */
	if (cx != NULL) {
		tunnel_pump(cx);
		tunnel_close(cx);
		conn_closing(cx);
	}
}

static void
server_tun_setup(struct proxy_req *pr)
{
	bufferevent_setcb(pr->tun, tun_readcb, tun_readcb, tun_eventcb, pr);
	bufferevent_enable(pr->tun, EV_READ | EV_WRITE);
	bufferevent_enable(pr->cx->bev, EV_READ | EV_WRITE);
	tunnel_pump(pr->cx);
}

static void
tunnel_close(struct proxy_conn *cx)
{
	struct proxy_req *pr = cx->req;

	if (pr != NULL && pr->tun != NULL) {
		bufferevent_free(pr->tun);
		pr->tun = NULL;
	}
}

/* ---------------------------------------------------------- evhtp hooks */

static evhtp_res
hook_read(evhtp_request_t *req, struct evbuffer *buf, void *arg)
{
	struct proxy_req *pr = arg;
	size_t n = evbuffer_get_length(buf);
	const struct conf *c = pr->conf;
	bool over, more;

	pr->body_seen += n;
	if (pr->cx != NULL && pr->cx->state == CONN_BODY)
		timer_arm(pr->cx, c->body_timeout_ms);
	if (c->max_body_bytes > 0 && pr->body_seen > c->max_body_bytes &&
	    !pr->replied) {
		evbuffer_drain(buf, n);
		pr->v.status = 413;
		pr->v.code = "body_too_large";
		pr->v.title = "Content Too Large";
		req_reply_local(pr, true);
		return EVHTP_RES_OK;
	}
	if (pr->up == NULL || pr->early || pr->v.status != 0) {
		evbuffer_drain(buf, n);
		return EVHTP_RES_OK;
	}
	over = up_req_body(pr->up, buf);
	evbuffer_drain(buf, evbuffer_get_length(buf));
	/* Pause only while more body is expected: pausing on the last slice
	 * eats a byte of the next request (deps.md §2.4). */
	more = pr->body_kind == UP_BODY_CHUNKED ||
	    (pr->body_kind == UP_BODY_LENGTH && pr->body_seen < pr->body_len);
	if (over && more) {
		pr->up_paused_body = true;
		if (pr->cx != NULL) {
			/* no body deadline while we hold the client back;
			 * a response it does not read is still timed */
			wd_arm(pr->cx);
			closed_watch(pr->cx, true);
		}
		return EVHTP_RES_PAUSE;
	}
	return EVHTP_RES_OK;
}

static evhtp_res
hook_request_fini(evhtp_request_t *req, void *arg)
{
	struct proxy_req *pr = arg;
	struct proxy_conn *cx = pr->cx;

	pr->req = NULL;
	if (cx != NULL) {
		out_cb_remove(pr);
		cx->req = NULL;
		if (cx->state != CONN_CLOSING && !cx->dead) {
			event_del(cx->closed_ev);
			cx->state = CONN_IDLE;
			cx->saw_bytes = false;
			timer_arm(cx,
			    atomic_load(&proxy_g->draining)
			        ? 1000
			        : cx_conf(cx)->idle_timeout_ms);
			if (evbuffer_get_length(cx->stash) > 0)
				event_active(cx->reguard_ev, EV_TIMEOUT, 1);
		}
	}
	proxy_req_free(pr);
	return EVHTP_RES_OK;
}

static bool
field_is(const struct proxy_req *pr, const struct proxy_field *f,
    const char *name)
{
	return h1_name_eq(pr->head + f->name_off, f->name_len, name,
	    strlen(name));
}

static enum h1_method
method_of(const char *m)
{
	static const char *const names[] = {"GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(m, names[i]) == 0)
			return (enum h1_method)(H1_M_GET + (int)i);
	return H1_M_GET; /* the guard let no other method through */
}

/* A request id: a per-worker counter through splitmix64, a bijection, so
 * ids never repeat within a worker; the worker index keeps workers apart. */
static void
req_new_id(struct proxy_worker *w, char *out, size_t cap)
{
	uint64_t z = (w->rid_next += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	snprintf(out, cap, "%02x%016llx", w->index & 0xff,
	    (unsigned long long)z);
}

/*
 * Runs the gate on |pr|'s head (the guard's copy, viewed as the codec's
 * struct h1_request) and keeps its verdict: the upstream head in
 * pr->up_head, or the local reply in pr->v. Returns 0 to forward, -1 to
 * answer locally.
 */
static int
req_gate(struct proxy_req *pr)
{
	struct h1_field *fields;
	struct h1_request r;
	struct gate_in in;
	struct gate_ctx gctx;
	struct gate_out *out;
	const struct proxy_field *host = NULL;
	char rid[GATE_REQUEST_ID_MAX + 1];
	size_t i, cap;
	char *buf;
	int rv = -1;

	/* Admin paths are ours, before any route. */
	{
		const char *t = pr->head + pr->target_off;
		const char *q = memchr(t, '?', pr->target_len);
		size_t pl = q != NULL ? (size_t)(q - t) : pr->target_len;

		if (admin_handle(pr, t, pl)) {
			snprintf(pr->path, sizeof(pr->path), "%.*s", (int)pl,
			    t);
			return -1;
		}
	}
	memset(&pr->v, 0, sizeof(pr->v));
	out = malloc(sizeof(*out));
	fields = malloc((pr->n_fields ? pr->n_fields : 1) * sizeof(*fields));
	cap = gate_head_cap(pr->conf);
	buf = malloc(cap);
	if (out == NULL || fields == NULL || buf == NULL) {
		pr->v.status = 503;
		pr->v.code = "internal";
		pr->v.title = reason_phrase(503);
		goto done;
	}
	memset(&r, 0, sizeof(r));
	for (i = 0; i < pr->n_fields; i++) {
		const struct proxy_field *f = &pr->fields[i];

		fields[i].name = pr->head + f->name_off;
		fields[i].name_len = f->name_len;
		fields[i].value = pr->head + f->val_off;
		fields[i].value_len = f->val_len;
		fields[i].tok = h1_token_lookup(fields[i].name, f->name_len);
		if (fields[i].tok == H1_T_HOST)
			host = f;
	}
	r.method = pr->method;
	r.method_len = strlen(pr->method);
	r.meth = method_of(pr->method);
	r.target = r.path = pr->head + pr->target_off;
	r.target_len = r.path_len = pr->target_len;
	r.absolute_form = pr->abs_form;
	if (host != NULL) {
		r.host = pr->head + host->val_off;
		r.host_len = host->val_len;
	}
	if (pr->abs_form) {
		r.authority = pr->authority;
		r.authority_len = strlen(pr->authority);
	} else {
		r.authority = r.host;
		r.authority_len = r.host_len;
	}
	r.minor = pr->minor;
	r.fields = fields;
	r.n_fields = pr->n_fields;
	r.upgrade_websocket = pr->is_ws;
	r.expect_continue = pr->expect_100;
	r.keep_alive = pr->keepalive;

	req_new_id(pr->w, rid, sizeof(rid));
	in.req = &r;
	in.peer = pr->client;
	in.peer_trusted = pr->cx != NULL && pr->cx->has_peer &&
	    gate_peer_trusted(pr->conf, (const struct sockaddr *)&pr->cx->peer);
	in.tls = false;
	in.request_id = rid;
	in.request_id_len = strlen(rid);
	gctx.tcache = pr->wg->tcache;
	gctx.scache = NULL;

	rv = gate_decide(&in, pr->conf, &gctx, (int64_t)time(NULL), out, buf,
	    cap);
	pr->route = out->route;
	pr->upstream = out->upstream;
	pr->auth = out->auth;
	memcpy(pr->path, out->path, strlen(out->path) + 1);
	memcpy(pr->request_id, out->request_id, strlen(out->request_id) + 1);
	if (out->has_sub) {
		memcpy(pr->sub, out->sub, strlen(out->sub) + 1);
		pr->has_sub = true;
	}
	pr->is_ws = out->websocket;
	if (rv == 0 && out->status == 0 && !out->need_exchange) {
		if ((pr->up_head = evbuffer_new()) == NULL ||
		    evbuffer_add(pr->up_head, buf, out->head_len) != 0) {
			pr->v.status = 503;
			pr->v.code = "internal";
			pr->v.title = reason_phrase(503);
			rv = -1;
		}
		goto done;
	}
	pr->v.status = out->status != 0 ? out->status : 503;
	pr->v.code = out->status != 0 ? out->code : "internal";
	pr->v.title = reason_phrase(pr->v.status);
	pr->v.www_auth = out->www_auth;
	rv = -1;
done:
	free(out);
	free(fields);
	free(buf);
	return rv;
}

/* A zeroed proxy_req, except for the tails of its large string buffers
 * (about 8 KiB that calloc would clear on every request). */
static struct proxy_req *
proxy_req_new(void)
{
	struct proxy_req *pr;

	if ((pr = malloc(sizeof(*pr))) == NULL)
		return NULL;
	memset(pr, 0, offsetof(struct proxy_req, v.body));
	pr->v.body[0] = '\0';
	pr->path[0] = '\0';
	pr->sub[0] = '\0';
	pr->request_id[0] = '\0';
	return pr;
}

static evhtp_res
hook_headers(evhtp_request_t *req, evhtp_headers_t *hdrs, void *arg)
{
	struct proxy_conn *cx = arg;
	struct proxy_worker *w = cx->w;
	struct proxy_req *pr;
	size_t i;
	bool upgrade_ws = false, conn_upgrade = false, conn_close = false;
	bool conn_ka = false;
	int idempotent;

	worker_refresh(w);
	if ((pr = proxy_req_new()) == NULL)
		return EVHTP_RES_FATAL;
	atomic_fetch_add(&proxy_g->inflight, 1);
	gettimeofday(&pr->t_start, NULL);
	pr->req = req;
	pr->cx = cx;
	memcpy(pr->client, cx->client, sizeof(pr->client));
	pr->w = w;
	pr->wg = w->wg;
	pr->wg->refs++;
	pr->conf = pr->wg->gen->conf;
	pr->route = -1;
	pr->auth = AUTH_OK;
	cx->req = pr;
	evhtp_request_set_hook(req, evhtp_hook_on_read, (evhtp_hook)hook_read,
	    pr);
	evhtp_request_set_hook(req, evhtp_hook_on_request_fini,
	    (evhtp_hook)hook_request_fini, pr);

	/* take the guard's view of this head */
	pr->head = cx->head;
	pr->head_len = cx->head_len;
	pr->fields = cx->fields;
	pr->n_fields = cx->n_fields;
	pr->target_off = cx->target_off;
	pr->target_len = cx->target_len;
	cx->head = NULL;
	cx->fields = NULL;
	memcpy(pr->method, cx->method, sizeof(pr->method));
	pr->minor = cx->minor;
	pr->abs_form = cx->abs_form;
	memcpy(pr->authority, cx->authority, sizeof(pr->authority));
	pr->body_kind = cx->body_kind;
	pr->body_len = cx->body_len;
	pr->is_head = strcmp(pr->method, "HEAD") == 0;
	pr->keepalive = (req->flags & EVHTP_REQ_FLAG_KEEPALIVE) != 0 &&
	    !atomic_load(&proxy_g->draining);
	snprintf(pr->path, sizeof(pr->path), "-");
	if (pr->head == NULL) {
		pr->v.status = 400;
		pr->v.code = "bad_request";
		pr->v.title = "Bad Request";
		goto local;
	}

	for (i = 0; i < pr->n_fields; i++) {
		const struct proxy_field *f = &pr->fields[i];
		const char *v = pr->head + f->val_off;

		if (field_is(pr, f, "upgrade") &&
		    list_has_ci(v, f->val_len, "websocket"))
			upgrade_ws = true;
		if (field_is(pr, f, "connection")) {
			conn_upgrade |= list_has_ci(v, f->val_len, "upgrade");
			conn_close |= list_has_ci(v, f->val_len, "close");
			conn_ka |= list_has_ci(v, f->val_len, "keep-alive");
		}
		if (field_is(pr, f, "expect") &&
		    list_has_ci(v, f->val_len, "100-continue"))
			pr->expect_100 = true;
	}
	/* RFC 9112 §9.3: persistence from our own reading of Connection */
	if (conn_close || (pr->minor == 0 && !conn_ka))
		pr->keepalive = false;
	pr->is_ws = upgrade_ws && conn_upgrade && pr->minor == 1 &&
	    strcmp(pr->method, "GET") == 0;

	if (req_gate(pr) != 0)
		goto local;

	idempotent =
	    strcmp(pr->method, "POST") != 0 && strcmp(pr->method, "PATCH") != 0;
	gettimeofday(&pr->t_up_start, NULL);
	pr->up = up_req_start(pr->wg->pools[pr->upstream], pr->up_head,
	    pr->body_kind, pr->body_len,
	    idempotent && pr->body_kind == UP_BODY_NONE, pr->is_head, &up_cbs,
	    pr);
	if (pr->up == NULL) {
		pr->v.status = 503;
		pr->v.code = "internal";
		pr->v.title = "Service Unavailable";
		goto local;
	}
	evbuffer_free(pr->up_head);
	pr->up_head = NULL;
	if (pr->expect_100 && pr->minor == 1 && pr->body_kind != UP_BODY_NONE) {
		/* RFC 9110 §10.1.1: invited only once auth passed */
		evbuffer_add(bufferevent_get_output(cx->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n", 25);
		bufferevent_enable(cx->bev, EV_WRITE);
	}
	return EVHTP_RES_OK;

local:
	/* With a body to come, answer now and close; without one, the
	 * final callback (next, same parse) answers and keeps the conn. */
	if (pr->body_kind != UP_BODY_NONE)
		req_reply_local(pr, true);
	return EVHTP_RES_OK;
}

/* The final callback: the request message is complete. */
static void
handler(evhtp_request_t *req, void *arg)
{
	struct proxy_req *pr = NULL;
	struct proxy_conn *cx;

	if (req->hooks != NULL)
		pr = req->hooks->on_request_fini_arg;
	/* Always pause: it stops evhtp before any pipelined bytes. */
	evhtp_request_pause(req);
	if (pr == NULL)
		return;
	cx = pr->cx;
	pr->msg_complete = true;
	if (cx == NULL || pr->early || cx->state == CONN_CLOSING)
		return;
	cx->state = CONN_WAIT;
	/* Nothing to time while the upstream works, unless a response is
	 * already queued toward the client (wd_arm disarms otherwise). */
	wd_arm(cx);
	if (pr->v.status != 0 && !pr->replied) {
		req_reply_local(pr, false);
		return;
	}
	if (pr->up != NULL && pr->body_kind != UP_BODY_NONE)
		up_req_body_end(pr->up);
	if (pr->up_done) {
		req_finish(pr);
		return;
	}
	closed_watch(cx, true);
}

static evhtp_res
hook_conn_fini(evhtp_connection_t *conn, void *arg)
{
	struct proxy_conn *cx = arg;

	if (cx->prev != NULL)
		cx->prev->next = cx->next;
	else if (cx->w->conns == cx)
		cx->w->conns = cx->next;
	if (cx->next != NULL)
		cx->next->prev = cx->prev;
	cx->next = cx->prev = NULL;
	if (cx->req != NULL) {
		out_cb_remove(cx->req);
		cx->req->cx = NULL;
		if (cx->req->tun != NULL) {
			bufferevent_free(cx->req->tun);
			cx->req->tun = NULL;
		}
		cx->req = NULL;
	}
	if (cx->busy > 0) {
		/* evhtp frees the bev; our events must not fire again */
		event_del(cx->timer);
		event_del(cx->closed_ev);
		event_del(cx->close_ev);
		event_del(cx->reguard_ev);
		event_del(cx->finish_ev);
		event_del(cx->flushed_ev);
		cx->dead = true;
		return EVHTP_RES_OK;
	}
	cx_free(cx);
	return EVHTP_RES_OK;
}

static evhtp_res
post_accept(evhtp_connection_t *conn, void *arg)
{
	struct proxy_worker *w = evthr_get_aux(conn->thread);
	struct proxy_conn *cx;
	void *cbarg = NULL;

	if (w == NULL || (cx = calloc(1, sizeof(*cx))) == NULL)
		return EVHTP_RES_ERROR;
	cx->evconn = conn;
	cx->w = w;
	cx->bev = conn->bev;
	worker_refresh(w);
	cx->stash = evbuffer_new();
	cx->craw = evbuffer_new();
	cx->timer = evtimer_new(w->base, timer_cb, cx);
	cx->closed_ev =
	    event_new(w->base, conn->sock, EV_CLOSED, closed_cb, cx);
	cx->close_ev = event_new(w->base, -1, 0, close_cb, cx);
	cx->reguard_ev = event_new(w->base, -1, 0, reguard_cb, cx);
	cx->finish_ev = event_new(w->base, -1, 0, finish_cb, cx);
	cx->flushed_ev = event_new(w->base, -1, 0, flushed_cb, cx);
	if (cx->finish_ev == NULL || cx->flushed_ev == NULL ||
	    cx->craw == NULL || cx->stash == NULL || cx->timer == NULL ||
	    cx->closed_ev == NULL || cx->close_ev == NULL ||
	    cx->reguard_ev == NULL) {
		cx_free(cx);
		return EVHTP_RES_ERROR;
	}
	snprintf(cx->client, sizeof(cx->client), "unknown");
	if (conn->saddr != NULL) {
		size_t sl = conn->saddr->sa_family == AF_INET6
		    ? sizeof(struct sockaddr_in6)
		    : sizeof(struct sockaddr_in);

		memcpy(&cx->peer, conn->saddr, sl);
		cx->has_peer = conn->saddr->sa_family == AF_INET ||
		    conn->saddr->sa_family == AF_INET6;
		if (conn->saddr->sa_family == AF_INET)
			inet_ntop(AF_INET,
			    &((struct sockaddr_in *)(void *)conn->saddr)
			         ->sin_addr,
			    cx->client, sizeof(cx->client));
		else if (conn->saddr->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			    &((struct sockaddr_in6 *)(void *)conn->saddr)
			         ->sin6_addr,
			    cx->client, sizeof(cx->client));
	}
	bufferevent_getcb(cx->bev, &cx->ev_readcb, &cx->ev_writecb,
	    &cx->ev_eventcb, &cbarg);
	if (cbarg != conn || cx->ev_readcb == NULL) {
		cx_free(cx);
		return EVHTP_RES_ERROR;
	}
	bufferevent_setcb(cx->bev, wrap_readcb, wrap_writecb, wrap_eventcb, cx);
	evhtp_connection_set_hook(conn, evhtp_hook_on_headers,
	    (evhtp_hook)hook_headers, cx);
	evhtp_connection_set_hook(conn, evhtp_hook_on_connection_fini,
	    (evhtp_hook)hook_conn_fini, cx);
	cx->state = CONN_IDLE;
	timer_arm(cx, cx_conf(cx)->head_timeout_ms);
	cx->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = cx;
	w->conns = cx;
	return EVHTP_RES_OK;
}

/* ------------------------------------------------------------- server */

int
server_start(struct proxy *p)
{
	const struct conf *c = p->gen->conf;
	char addr[300];
	evhtp_t *htp;

	if ((htp = evhtp_new(p->base, NULL)) == NULL) {
		log_warnx("%s: evhtp_new failed", __func__);
		return -1;
	}
	p->htp = htp;
	/* We send 100 Continue ourselves, after auth (deps.md §2.5). */
	evhtp_disable_flag(htp, EVHTP_FLAG_ENABLE_100_CONT);
	evhtp_set_gencb(htp, handler, NULL);
	evhtp_set_post_accept_cb(htp, post_accept, NULL);
	if (evhtp_use_threads_wexit(htp, worker_init, worker_exit,
	        c->workers > 0 ? c->workers : 1, p) != 0) {
		log_warnx("%s: cannot start %d workers", __func__, c->workers);
		return -1;
	}
	if (strchr(c->listen_host, ':') != NULL)
		snprintf(addr, sizeof(addr), "ipv6:%s", c->listen_host);
	else
		snprintf(addr, sizeof(addr), "ipv4:%s", c->listen_host);
	if (evhtp_bind_socket(htp, addr, (uint16_t)atoi(c->listen_port),
	        c->backlog > 0 ? c->backlog : 1024) != 0) {
		log_warn("cannot listen on %s:%s", c->listen_host,
		    c->listen_port);
		return -1;
	}
	log_info("listening on %s:%s with %d workers", c->listen_host,
	    c->listen_port, c->workers > 0 ? c->workers : 1);
	return 0;
}

void
server_stop_accepting(struct proxy *p)
{
	/* Close the socket: new connections are refused, not queued. */
	if (p->htp != NULL)
		evhtp_unbind_socket(p->htp);
}

void
server_free(struct proxy *p)
{
	if (p->htp != NULL) {
		evhtp_unbind_socket(p->htp);
		evhtp_free(p->htp);
		p->htp = NULL;
	}
}
