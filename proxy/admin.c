/* SPDX-License-Identifier: MIT */
/* The admin listener: health, readiness and metrics on their own address,
 * served by libevhtp on the main thread. The only file that includes
 * <evhtp.h>: libevhtp is off the data path (simple GETs on a trusted
 * port, where its parser cannot smuggle anything to a backend). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evhtp.h>

#include "exchange.h"
#include "proxy.h"

#define ADMIN_METRICS_PATH "/metrics"
#define ADMIN_BODY_MAX 16384

/* One open admin connection: evhtp frees a connection when its client
 * leaves, not when the server is freed, so we close what is left. */
struct admin_conn {
	evhtp_connection_t *c; /* evhtp's */
	struct admin_conn *next, *prev;
};

struct admin {
	evhtp_t *htp[PROXY_MAX_LISTEN]; /* owned: one per bound address */
	size_t n;
	struct admin_conn *conns; /* owned */
};

static void
admin_reply(evhtp_request_t *req, int status, const char *type,
    const char *body, size_t len)
{
	evhtp_headers_add_header(req->headers_out,
	    evhtp_header_new("Content-Type", type, 0, 0));
	evhtp_headers_add_header(req->headers_out,
	    evhtp_header_new("Cache-Control", "no-store", 0, 0));
	if (evhtp_request_get_method(req) != htp_method_HEAD)
		evbuffer_add(req->buffer_out, body, len);
	evhtp_send_reply(req, (evhtp_res)status);
}

/* The Prometheus text format (0.0.4): bearerd's families (metrics.c),
 * then the exchange's, rendered into |body|. 503 when out of memory. */
static void
admin_metrics(evhtp_request_t *req, const struct conf *c, char *body,
    size_t cap)
{
	char *text;
	size_t len, n = 0;

	if ((text = metrics_render(&len)) == NULL) {
		static const char b[] = "{\"status\":503}\n";

		admin_reply(req, 503, "application/json", b, sizeof(b) - 1);
		return;
	}
	exch_metrics(c, body, cap, &n);
	evhtp_headers_add_header(req->headers_out,
	    evhtp_header_new("Content-Type", "text/plain; version=0.0.4", 0,
	        0));
	evhtp_headers_add_header(req->headers_out,
	    evhtp_header_new("Cache-Control", "no-store", 0, 0));
	if (evhtp_request_get_method(req) != htp_method_HEAD) {
		evbuffer_add(req->buffer_out, text, len);
		evbuffer_add(req->buffer_out, body, n);
	}
	free(text);
	evhtp_send_reply(req, EVHTP_RES_OK);
}

static void
admin_cb(evhtp_request_t *req, void *arg)
{
	struct proxy *p = proxy_g;
	struct proxy_gen *g = gen_get();
	const struct conf *c = g->conf;
	const char *path = req->uri != NULL && req->uri->path != NULL &&
	        req->uri->path->full != NULL
	    ? req->uri->path->full
	    : "";
	char body[ADMIN_BODY_MAX];
	size_t n;
	htp_method m = evhtp_request_get_method(req);

	if (m != htp_method_GET && m != htp_method_HEAD) {
		static const char b[] = "{\"status\":405}\n";

		admin_reply(req, 405, "application/json", b, sizeof(b) - 1);
	} else if (strcmp(path, c->health_path) == 0) {
		static const char b[] = "{\"status\":\"ok\"}\n";

		admin_reply(req, 200, "application/json", b, sizeof(b) - 1);
	} else if (strcmp(path, c->ready_path) == 0) {
		if (atomic_load(&p->draining) || !atomic_load(&p->ready) ||
		    !exch_ready()) {
			n = (size_t)snprintf(body, sizeof(body),
			    "{\"status\":\"%s\"}\n",
			    atomic_load(&p->draining) ? "draining"
			                              : "not_ready");
			admin_reply(req, 503, "application/json", body, n);
		} else {
			static const char b[] = "{\"status\":\"ready\"}\n";

			admin_reply(req, 200, "application/json", b,
			    sizeof(b) - 1);
		}
	} else if (strcmp(path, ADMIN_METRICS_PATH) == 0) {
		admin_metrics(req, c, body, sizeof(body));
	} else {
		static const char b[] = "{\"status\":404}\n";

		admin_reply(req, 404, "application/json", b, sizeof(b) - 1);
	}
	gen_unref(g);
}

static evhtp_res
admin_conn_fini(evhtp_connection_t *c, void *arg)
{
	struct admin_conn *ac = arg;
	struct admin *a = proxy_g->admin;

	if (ac->prev != NULL)
		ac->prev->next = ac->next;
	else if (a != NULL && a->conns == ac)
		a->conns = ac->next;
	if (ac->next != NULL)
		ac->next->prev = ac->prev;
	free(ac);
	return EVHTP_RES_OK;
}

static evhtp_res
admin_accept(evhtp_connection_t *c, void *arg)
{
	struct admin *a = arg;
	struct admin_conn *ac;

	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		return EVHTP_RES_ERROR;
	ac->c = c;
	ac->next = a->conns;
	if (a->conns != NULL)
		a->conns->prev = ac;
	a->conns = ac;
	evhtp_connection_set_hook(c, evhtp_hook_on_connection_fini,
	    (evhtp_hook)admin_conn_fini, ac);
	return EVHTP_RES_OK;
}

int
admin_start(struct proxy *p)
{
	const struct conf *c = p->gen->conf;
	struct admin *a;
	int fds[PROXY_MAX_LISTEN];
	size_t n, i;

	if (c->admin_listen_host == NULL)
		return 0;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	p->admin = a;
	if (listen_bind(c->admin_listen_host, c->admin_listen_port, 64, fds,
	        PROXY_MAX_LISTEN, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		evhtp_t *htp = evhtp_new(p->base, NULL);

		if (htp == NULL) {
			close(fds[i]);
			continue;
		}
		a->htp[a->n++] = htp;
		evhtp_set_gencb(htp, admin_cb, NULL);
		evhtp_set_post_accept_cb(htp, admin_accept, a);
		/* takes |fds[i]|, closed by evhtp_free */
		if (evhtp_accept_socket(htp, fds[i], 64) != 0) {
			log_warn("admin: cannot accept on %s:%s",
			    c->admin_listen_host, c->admin_listen_port);
			while (++i < n)
				close(fds[i]);
			return -1;
		}
	}
	log_info("admin listener on %s:%s", c->admin_listen_host,
	    c->admin_listen_port);
	return 0;
}

void
admin_free(struct proxy *p)
{
	struct admin *a = p->admin;
	size_t i;

	if (a == NULL)
		return;
	while (a->conns != NULL)
		evhtp_connection_free(a->conns->c); /* the fini hook unlinks */
	for (i = 0; i < a->n; i++) {
		evhtp_unbind_socket(a->htp[i]);
		evhtp_free(a->htp[i]);
	}
	free(a);
	p->admin = NULL;
}
