/* SPDX-License-Identifier: MIT */
/* Configuration generations: main's refcounted generation (conf and TLS
 * context), the reload that replaces it, and each worker's generation
 * (upstream pools, token cache) built from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "exchange.h"
#include "proxy.h"

struct proxy *proxy_g;

/* Prints the "file:line:column: message" lines, one per error. */
static void
print_errors(const char *err)
{
	const char *p = err, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p)
			fprintf(stderr, "%.*s\n", (int)(nl - p), p);
		p = *nl != '\0' ? nl + 1 : nl;
	}
}

struct conf *
gen_load(const char *path, bool report)
{
	static char err[CONF_ERR_LEN];
	struct conf *c;

	err[0] = '\0';
	if ((c = conf_load(path, err, sizeof(err))) == NULL && report) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s: cannot load\n", path);
		print_errors(err);
	}
	return c;
}

/* RFC 7301 §3.2: we speak http/1.1 only; a client that offers ALPN
 * without it gets no_application_protocol. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *out_len,
    const unsigned char *in, unsigned int in_len, void *arg)
{
	unsigned int i = 0;

	/* protocol-name-list: length-prefixed names (RFC 7301 §3.1) */
	while (i < in_len) {
		unsigned int n = in[i];

		if (n == 0 || n > in_len - i - 1)
			break;
		if (n == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*out_len = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += n + 1;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* The listener's TLS context: TLS 1.2 and 1.3 only, the configured chain
 * and key (checked to match), ALPN http/1.1. NULL with a log line. */
static SSL_CTX *
tls_ctx_new(const struct conf *c)
{
	SSL_CTX *ctx;
	unsigned long e;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		goto fail;
	/* Idle keep-alive connections hold no TLS record buffers; a renego
	 * request from a client is refused (TLS 1.2), there is none in 1.3. */
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	        SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, c->tls_key_file,
	        SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return ctx;
fail:
	e = ERR_peek_last_error();
	log_warnx("tls: cannot use %s and %s: %s", c->tls_cert_file,
	    c->tls_key_file,
	    e != 0 && ERR_reason_error_string(e) != NULL
	        ? ERR_reason_error_string(e)
	        : "unknown error");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/* A new generation owning |c|, or NULL (|c| freed) with a log line. */
static struct proxy_gen *
gen_new(struct conf *c, unsigned id)
{
	struct proxy_gen *g;
	size_t i;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		conf_free(c);
		return NULL;
	}
	g->conf = c;
	g->id = id;
	atomic_init(&g->refs, 1);
	for (i = 0; i < c->n_routes; i++)
		g->metric_route[i] = metrics_route_id(c->routes[i].pattern);
	for (i = 0; i < c->n_upstreams; i++)
		g->metric_up[i] = metrics_upstream_id(c->upstreams[i].name);
	if (c->tls_cert_file != NULL && (g->tls = tls_ctx_new(c)) == NULL) {
		conf_free(c);
		free(g);
		return NULL;
	}
	return g;
}

int
gen_init(struct proxy *p, struct conf *c)
{
	pthread_mutex_init(&p->gen_lock, NULL);
	if ((p->gen = gen_new(c, 1)) == NULL)
		return -1;
	atomic_store(&p->gen_id, 1);
	return 0;
}

struct proxy_gen *
gen_get(void)
{
	struct proxy_gen *g;

	pthread_mutex_lock(&proxy_g->gen_lock);
	g = proxy_g->gen;
	atomic_fetch_add(&g->refs, 1);
	pthread_mutex_unlock(&proxy_g->gen_lock);
	return g;
}

void
gen_unref(struct proxy_gen *g)
{
	if (g == NULL)
		return;
	if (atomic_fetch_sub(&g->refs, 1) == 1) {
		log_debug("%s: generation %u freed", __func__, g->id);
		SSL_CTX_free(g->tls);
		conf_free(g->conf);
		free(g);
	}
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

void
gen_reload(struct proxy *p)
{
	struct proxy_gen *g, *old;
	const struct conf *oc = p->gen->conf;
	struct conf *c;

	log_info("reloading %s", p->conf_path);
	if ((c = gen_load(p->conf_path, true)) == NULL) {
		log_warnx("reload failed; keeping the running configuration");
		metrics_reload(false, time(NULL));
		return;
	}
	if (!str_eq(c->listen_host, oc->listen_host) ||
	    !str_eq(c->listen_port, oc->listen_port) ||
	    !str_eq(c->admin_listen_host, oc->admin_listen_host) ||
	    !str_eq(c->admin_listen_port, oc->admin_listen_port) ||
	    (c->tls_cert_file == NULL) != (oc->tls_cert_file == NULL) ||
	    c->workers != oc->workers)
		log_warnx("listen, admin listen, tls on/off and workers "
		          "changes need a restart");
	if ((g = gen_new(c, p->gen->id + 1)) == NULL) {
		log_warnx("reload failed; keeping the running configuration");
		metrics_reload(false, time(NULL));
		return;
	}
	pthread_mutex_lock(&p->gen_lock);
	old = p->gen;
	p->gen = g;
	atomic_store(&p->gen_id, g->id);
	pthread_mutex_unlock(&p->gen_lock);
	gen_unref(old);
	metrics_reload(true, time(NULL));
	log_info("configuration generation %u active", g->id);
}

/* ------------------------------------------------------ worker generations */

void
wgen_unref(struct wgen *wg)
{
	size_t i;

	if (wg == NULL || --wg->refs > 0)
		return;
	exch_ctx_free(wg->exch); /* cancels flights: before the cache */
	auth_scache_free(wg->scache);
	for (i = 0; i < CONF_MAX_UPSTREAMS; i++)
		up_pool_free(wg->pools[i]);
	auth_tcache_free(wg->tcache);
	gen_unref(wg->gen);
	free(wg);
}

static struct wgen *
wgen_new(struct worker *w, struct proxy_gen *g)
{
	struct wgen *wg;
	const struct conf *c = g->conf;
	size_t i;

	if ((wg = calloc(1, sizeof(*wg))) == NULL)
		return NULL;
	wg->refs = 1;
	for (i = 0; i < c->n_upstreams; i++)
		if ((wg->pools[i] = up_pool_new(w->base, w->dns,
		         &c->upstreams[i])) == NULL)
			goto fail;
		else {
			up_pool_set_gauge(wg->pools[i],
			    metrics_upstream_pool_gauge(w->ms,
			        g->metric_up[i]));
			up_pool_set_tls_counters(wg->pools[i],
			    metrics_upstream_tls_counter(w->ms, g->metric_up[i],
			        false),
			    metrics_upstream_tls_counter(w->ms, g->metric_up[i],
			        true));
		}
	if ((wg->tcache = auth_tcache_new(c->token_cache_entries)) == NULL)
		goto fail;
	for (i = 0; i < c->n_issuers; i++)
		if (c->issuers[i].token_url != NULL)
			break;
	if (i < c->n_issuers &&
	    ((wg->scache = auth_scache_new(c->token_cache_entries)) == NULL ||
	        (wg->exch = exch_ctx_new(w->base, w->dns, c, wg->scache,
	             w->index)) == NULL))
		goto fail;
	wg->gen = g;
	return wg;
fail:
	auth_scache_free(wg->scache);
	auth_tcache_free(wg->tcache);
	for (i = 0; i < CONF_MAX_UPSTREAMS; i++)
		up_pool_free(wg->pools[i]);
	free(wg);
	return NULL;
}

bool
wgen_refresh(struct worker *w)
{
	struct proxy_gen *g;
	struct wgen *wg;

	if (w->wg != NULL && w->wg->gen->id == atomic_load(&proxy_g->gen_id))
		return true;
	g = gen_get();
	if ((wg = wgen_new(w, g)) == NULL) {
		log_warnx("%s: worker %d keeps the old configuration", __func__,
		    w->index);
		gen_unref(g);
		return w->wg != NULL;
	}
	wgen_unref(w->wg);
	w->wg = wg;
	log_debug("%s: worker %d now on generation %u", __func__, w->index,
	    g->id);
	return true;
}
