/* SPDX-License-Identifier: MIT */
/* The counters behind /metrics: per-worker shards, summed when rendered. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "metrics.h"

#define METRICS_CLASSES 5 /* 1xx .. 5xx */

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const uint64_t bucket_us[METRICS_BUCKETS - 1] = {
    1000,
    2500,
    5000,
    10000,
    25000,
    50000,
    100000,
    250000,
    500000,
    1000000,
    2500000,
    5000000,
    10000000,
};

/*
 * Every field is an unsigned long, so a shard and its snapshot have the
 * same layout and the renderer sums shards word by word. Gauges are kept
 * as two's complement (fetch_add of a negative delta) and read as long.
 */
#define METRICS_FIELDS(T)                                                      \
	T requests[METRICS_NO_ROUTE + 1][METRICS_CLASSES];                     \
	T duration_bucket[METRICS_BUCKETS]; /* not cumulative */               \
	T duration_sum_us;                                                     \
	T auth[AUTH_STATUS_MAX];                                               \
	T refused[METRICS_REFUSAL_MAX];                                        \
	T up_requests[METRICS_UPSTREAM_OTHER + 1];                             \
	T up_errors[METRICS_UPSTREAM_OTHER + 1][METRICS_UP_ERROR_MAX];         \
	T up_bucket[METRICS_UPSTREAM_OTHER + 1][METRICS_BUCKETS];              \
	T up_sum_us[METRICS_UPSTREAM_OTHER + 1];                               \
	T up_pool[METRICS_UPSTREAM_OTHER + 1];   /* gauge */                   \
	T up_tls[METRICS_UPSTREAM_OTHER + 1][2]; /* full, resumed */           \
	T tcache_hits;                                                         \
	T tcache_misses;                                                       \
	T session_lookups[AUTH_SC_STALE + 1];                                  \
	T session_stale_served;                                                \
	T connections; /* gauge */

/* One thread's counters. Written only by that thread. */
struct metrics_shard {
	METRICS_FIELDS(atomic_ulong)
};

/* The sum of every shard, taken by the renderer. */
struct metrics_snap {
	METRICS_FIELDS(unsigned long)
};

_Static_assert(sizeof(atomic_ulong) == sizeof(unsigned long) &&
        sizeof(struct metrics_shard) == sizeof(struct metrics_snap),
    "a shard and its snapshot must have the same layout");

/* A name table: strings are published by a release store of |n|. */
struct metrics_names {
	char *name[METRICS_MAX_ROUTES + 1];
	atomic_uint n;
};

static struct {
	char version[64];
	time_t start;
	_Atomic(struct metrics_shard *) shard[METRICS_MAX_SHARDS];
	atomic_uint n_shards;
	struct metrics_names routes, upstreams;
	atomic_ulong reload_ok, reload_failed;
	atomic_llong reload_last_ok; /* unix seconds */
} M;

static const char *const up_error_str[METRICS_UP_ERROR_MAX] = {"connect",
    "timeout", "reset", "bad_response"};
static const char *const refusal_str[METRICS_REFUSAL_MAX] = {"path", "route"};

void
metrics_init(const char *version, time_t now)
{
	snprintf(M.version, sizeof(M.version), "%s", version);
	M.start = now;
	atomic_store(&M.reload_last_ok, (long long)now);
}

static unsigned
names_id(struct metrics_names *t, const char *s, unsigned max)
{
	unsigned i, n = atomic_load_explicit(&t->n, memory_order_acquire);

	for (i = 0; i < n; i++)
		if (strcmp(t->name[i], s) == 0)
			return i;
	if (n >= max || (t->name[n] = strdup(s)) == NULL)
		return max;
	atomic_store_explicit(&t->n, n + 1, memory_order_release);
	return n;
}

unsigned
metrics_route_id(const char *pattern)
{
	return names_id(&M.routes, pattern, METRICS_MAX_ROUTES);
}
/* (METRICS_MAX_ROUTES is METRICS_ROUTE_OTHER, and likewise upstreams.) */

unsigned
metrics_upstream_id(const char *name)
{
	return names_id(&M.upstreams, name, METRICS_MAX_UPSTREAMS);
}

struct metrics_shard *
metrics_shard_new(void)
{
	struct metrics_shard *s;
	unsigned i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	/* slots are taken with a CAS so threads may start in any order */
	i = atomic_load(&M.n_shards);
	do {
		if (i >= METRICS_MAX_SHARDS) {
			free(s);
			return NULL;
		}
	} while (!atomic_compare_exchange_weak(&M.n_shards, &i, i + 1));
	/* n_shards counts the slot before it is filled: render skips NULL */
	atomic_store(&M.shard[i], s);
	return s;
}

#define ADD(field, v)                                                          \
	atomic_fetch_add_explicit(&(field), (v), memory_order_relaxed)

static unsigned
bucket_of(uint64_t us)
{
	unsigned b = 0;

	while (b < METRICS_BUCKETS - 1 && us > bucket_us[b])
		b++;
	return b;
}

void
metrics_request(struct metrics_shard *s, unsigned route, int status,
    uint64_t duration_us)
{
	int cls = status / 100;

	if (s == NULL)
		return;
	if (route > METRICS_NO_ROUTE)
		route = METRICS_NO_ROUTE;
	if (cls >= 1 && cls <= METRICS_CLASSES)
		ADD(s->requests[route][cls - 1], 1);
	ADD(s->duration_bucket[bucket_of(duration_us)], 1);
	ADD(s->duration_sum_us, duration_us);
}

void
metrics_auth(struct metrics_shard *s, enum auth_status st)
{
	if (s != NULL && (int)st >= 0 && st < AUTH_STATUS_MAX)
		ADD(s->auth[st], 1);
}

void
metrics_refused(struct metrics_shard *s, enum metrics_refusal why)
{
	if (s != NULL && (int)why >= 0 && why < METRICS_REFUSAL_MAX)
		ADD(s->refused[why], 1);
}

static unsigned
up_index(unsigned up)
{
	return up > METRICS_UPSTREAM_OTHER ? METRICS_UPSTREAM_OTHER : up;
}

void
metrics_upstream_request(struct metrics_shard *s, unsigned up)
{
	if (s != NULL)
		ADD(s->up_requests[up_index(up)], 1);
}

void
metrics_upstream_response(struct metrics_shard *s, unsigned up,
    uint64_t response_us)
{
	if (s == NULL)
		return;
	up = up_index(up);
	ADD(s->up_bucket[up][bucket_of(response_us)], 1);
	ADD(s->up_sum_us[up], response_us);
}

void
metrics_upstream_error(struct metrics_shard *s, unsigned up,
    enum metrics_up_error why)
{
	if (s == NULL || (int)why < 0 || why >= METRICS_UP_ERROR_MAX)
		return;
	ADD(s->up_errors[up_index(up)][why], 1);
}

void
metrics_upstream_pool(struct metrics_shard *s, unsigned up, int delta)
{
	if (s != NULL)
		ADD(s->up_pool[up_index(up)], (unsigned long)(long)delta);
}

atomic_ulong *
metrics_upstream_pool_gauge(struct metrics_shard *s, unsigned up)
{
	return s != NULL ? &s->up_pool[up_index(up)] : NULL;
}

atomic_ulong *
metrics_upstream_tls_counter(struct metrics_shard *s, unsigned up, bool resumed)
{
	return s != NULL ? &s->up_tls[up_index(up)][resumed ? 1 : 0] : NULL;
}

void
metrics_tcache(struct metrics_shard *s, bool hit)
{
	if (s == NULL)
		return;
	if (hit)
		ADD(s->tcache_hits, 1);
	else
		ADD(s->tcache_misses, 1);
}

void
metrics_tcache_count(struct metrics_shard *s, unsigned hits, unsigned misses)
{
	if (s == NULL)
		return;
	if (hits > 0)
		ADD(s->tcache_hits, hits);
	if (misses > 0)
		ADD(s->tcache_misses, misses);
}

void
metrics_session_lookup(struct metrics_shard *s, enum auth_scache_state st,
    bool served_stale)
{
	if (s == NULL)
		return;
	if ((unsigned)st <= AUTH_SC_STALE)
		ADD(s->session_lookups[st], 1);
	if (served_stale)
		ADD(s->session_stale_served, 1);
}

void
metrics_connections(struct metrics_shard *s, int delta)
{
	if (s != NULL)
		ADD(s->connections, (unsigned long)(long)delta);
}

void
metrics_reload(bool ok, time_t now)
{
	if (ok) {
		atomic_fetch_add(&M.reload_ok, 1);
		atomic_store(&M.reload_last_ok, (long long)now);
	} else
		atomic_fetch_add(&M.reload_failed, 1);
}

/* ------------------------------------------------------------- rendering */

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void __attribute__((format(printf, 2, 3)))
out(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *np;
	size_t want;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		want = b->cap * 2 + (size_t)n;
		if ((np = realloc(b->p, want)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = want;
	}
}

/* A label value, escaped as the text format says (\\, \", \n). */
static void
out_label(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			out(b, "\\%c", *v);
		else if (*v == '\n')
			out(b, "\\n");
		else
			out(b, "%c", *v);
	}
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	out(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
snapshot(struct metrics_snap *snap)
{
	unsigned i, k, n = atomic_load(&M.n_shards);
	const atomic_ulong *src;
	unsigned long *dst = (unsigned long *)(void *)snap;
	struct metrics_shard *s;

	memset(snap, 0, sizeof(*snap));
	for (i = 0; i < n && i < METRICS_MAX_SHARDS; i++) {
		if ((s = atomic_load(&M.shard[i])) == NULL)
			continue; /* slot taken, not filled yet */
		src = (const atomic_ulong *)(const void *)s;
		for (k = 0; k < sizeof(*snap) / sizeof(*dst); k++)
			dst[k] +=
			    atomic_load_explicit(&src[k], memory_order_relaxed);
	}
}

void
metrics_session_sums(unsigned long lookups[AUTH_SC_STALE + 1],
    unsigned long *stale_served)
{
	struct metrics_snap *s = malloc(sizeof(*s));
	unsigned i;

	for (i = 0; i <= AUTH_SC_STALE; i++)
		lookups[i] = 0;
	*stale_served = 0;
	if (s == NULL)
		return;
	snapshot(s);
	for (i = 0; i <= AUTH_SC_STALE; i++)
		lookups[i] = s->session_lookups[i];
	*stale_served = s->session_stale_served;
	free(s);
}

/* `{name="value",` or `{` when |lname| is NULL. */
static void
out_open(struct buf *b, const char *lname, const char *lvalue)
{
	out(b, "{");
	if (lname != NULL) {
		out(b, "%s=\"", lname);
		out_label(b, lvalue);
		out(b, "\",");
	}
}

static void
out_hist(struct buf *b, const char *name, const char *lname, const char *lvalue,
    const unsigned long *bucket, unsigned long sum_us)
{
	unsigned long cum = 0;
	unsigned i;

	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += bucket[i];
		out(b, "%s_bucket", name);
		out_open(b, lname, lvalue);
		if (i < METRICS_BUCKETS - 1)
			out(b, "le=\"%g\"} %lu\n", (double)bucket_us[i] / 1e6,
			    cum);
		else
			out(b, "le=\"+Inf\"} %lu\n", cum);
	}
	if (lname != NULL) {
		out(b, "%s_sum", name);
		out_open(b, lname, lvalue);
		b->len--; /* the trailing comma */
		out(b, "} %.6f\n%s_count", (double)sum_us / 1e6, name);
		out_open(b, lname, lvalue);
		b->len--;
		out(b, "} %lu\n", cum);
	} else
		out(b, "%s_sum %.6f\n%s_count %lu\n", name,
		    (double)sum_us / 1e6, name, cum);
}

static const char *
route_name(unsigned i, unsigned n)
{
	if (i == METRICS_NO_ROUTE)
		return "none";
	return i < n ? M.routes.name[i] : "other";
}

static const char *
upstream_name(unsigned i, unsigned n)
{
	return i < n ? M.upstreams.name[i] : "other";
}

char *
metrics_render(size_t *out_len)
{
	struct buf b = {NULL, 0, 0, false};
	struct metrics_snap *s;
	unsigned nr = atomic_load_explicit(&M.routes.n, memory_order_acquire);
	unsigned nu =
	    atomic_load_explicit(&M.upstreams.n, memory_order_acquire);
	unsigned i, c, e, ups[METRICS_UPSTREAM_OTHER + 1], n_ups = 0;
	unsigned routes[METRICS_NO_ROUTE + 1], n_routes = 0;

	if ((s = malloc(sizeof(*s))) == NULL)
		return NULL;
	if ((b.p = malloc(16384)) == NULL) {
		free(s);
		return NULL;
	}
	b.cap = 16384;
	b.p[0] = '\0';
	snapshot(s);
	/* the known names, then "other" only once something fell into it */
	for (i = 0; i < nr; i++)
		routes[n_routes++] = i;
	for (c = 0; c < METRICS_CLASSES; c++)
		if (s->requests[METRICS_ROUTE_OTHER][c] != 0)
			break;
	if (c < METRICS_CLASSES)
		routes[n_routes++] = METRICS_ROUTE_OTHER;
	routes[n_routes++] = METRICS_NO_ROUTE;
	for (i = 0; i < nu; i++)
		ups[n_ups++] = i;
	if (s->up_requests[METRICS_UPSTREAM_OTHER] != 0)
		ups[n_ups++] = METRICS_UPSTREAM_OTHER;

	family(&b, "bearerd_build_info", "gauge",
	    "Always 1; the labels say what is running.");
	out(&b, "bearerd_build_info{version=\"");
	out_label(&b, M.version);
	out(&b, "\",libevent=\"");
	out_label(&b, event_get_version());
	out(&b, "\",openssl=\"");
	out_label(&b, OpenSSL_version(OPENSSL_VERSION));
	out(&b, "\"} 1\n");
	family(&b, "bearerd_start_time_seconds", "gauge",
	    "When the process started, in seconds since the epoch.");
	out(&b, "bearerd_start_time_seconds %lld\n", (long long)M.start);
	family(&b, "bearerd_open_connections", "gauge",
	    "Client connections open now.");
	out(&b, "bearerd_open_connections %ld\n", (long)s->connections);

	family(&b, "bearerd_requests_total", "counter",
	    "Requests answered, by route pattern (none: admin paths and "
	    "requests no route took) and status class.");
	for (i = 0; i < n_routes; i++)
		for (c = 0; c < METRICS_CLASSES; c++) {
			out(&b, "bearerd_requests_total{route=\"");
			out_label(&b, route_name(routes[i], nr));
			out(&b, "\",class=\"%uxx\"} %lu\n", c + 1,
			    s->requests[routes[i]][c]);
		}
	family(&b, "bearerd_request_duration_seconds", "histogram",
	    "Time from a request head's first byte to its response's last.");
	out_hist(&b, "bearerd_request_duration_seconds", NULL, NULL,
	    s->duration_bucket, s->duration_sum_us);

	family(&b, "bearerd_auth_total", "counter",
	    "Authentication outcomes of the requests whose route needs one.");
	for (i = 0; i < AUTH_STATUS_MAX; i++)
		out(&b, "bearerd_auth_total{outcome=\"%s\"} %lu\n",
		    auth_status_str((enum auth_status)i), s->auth[i]);
	family(&b, "bearerd_refused_total", "counter",
	    "Requests refused before any route: a path that is not canonical "
	    "(400) or that no route matches (404).");
	for (i = 0; i < METRICS_REFUSAL_MAX; i++)
		out(&b, "bearerd_refused_total{reason=\"%s\"} %lu\n",
		    refusal_str[i], s->refused[i]);

	family(&b, "bearerd_upstream_requests_total", "counter",
	    "Requests sent to each upstream, answered or not.");
	for (i = 0; i < n_ups; i++) {
		out(&b, "bearerd_upstream_requests_total{upstream=\"");
		out_label(&b, upstream_name(ups[i], nu));
		out(&b, "\"} %lu\n", s->up_requests[ups[i]]);
	}
	family(&b, "bearerd_upstream_errors_total", "counter",
	    "Upstream exchanges that failed, by cause.");
	for (i = 0; i < n_ups; i++)
		for (e = 0; e < METRICS_UP_ERROR_MAX; e++) {
			out(&b, "bearerd_upstream_errors_total{upstream=\"");
			out_label(&b, upstream_name(ups[i], nu));
			out(&b, "\",cause=\"%s\"} %lu\n", up_error_str[e],
			    s->up_errors[ups[i]][e]);
		}
	family(&b, "bearerd_upstream_response_seconds", "histogram",
	    "Time from sending a request upstream to its response head.");
	for (i = 0; i < n_ups; i++)
		out_hist(&b, "bearerd_upstream_response_seconds", "upstream",
		    upstream_name(ups[i], nu), s->up_bucket[ups[i]],
		    s->up_sum_us[ups[i]]);
	family(&b, "bearerd_upstream_idle_connections", "gauge",
	    "Idle pooled connections to each upstream, all workers.");
	for (i = 0; i < n_ups; i++) {
		out(&b, "bearerd_upstream_idle_connections{upstream=\"");
		out_label(&b, upstream_name(ups[i], nu));
		out(&b, "\"} %ld\n", (long)s->up_pool[ups[i]]);
	}
	family(&b, "bearerd_upstream_tls_handshakes_total", "counter",
	    "TLS handshakes completed toward each https upstream, full or "
	    "resuming a session.");
	for (i = 0; i < n_ups; i++)
		for (e = 0; e < 2; e++) {
			out(&b,
			    "bearerd_upstream_tls_handshakes_total{upstream=\"");
			out_label(&b, upstream_name(ups[i], nu));
			out(&b, "\",resumed=\"%s\"} %lu\n",
			    e == 1 ? "true" : "false", s->up_tls[ups[i]][e]);
		}

	family(&b, "bearerd_token_cache_hits_total", "counter",
	    "Tokens found already verified in the per-worker cache.");
	out(&b, "bearerd_token_cache_hits_total %lu\n", s->tcache_hits);
	family(&b, "bearerd_token_cache_misses_total", "counter",
	    "Tokens verified in full.");
	out(&b, "bearerd_token_cache_misses_total %lu\n", s->tcache_misses);

	family(&b, "bearerd_config_reloads_total", "counter",
	    "Configuration reloads (SIGHUP) by result.");
	out(&b, "bearerd_config_reloads_total{result=\"success\"} %lu\n",
	    atomic_load(&M.reload_ok));
	out(&b, "bearerd_config_reloads_total{result=\"failure\"} %lu\n",
	    atomic_load(&M.reload_failed));
	family(&b, "bearerd_config_last_reload_success_timestamp_seconds",
	    "gauge",
	    "When the running configuration was loaded, in seconds since the "
	    "epoch.");
	out(&b, "bearerd_config_last_reload_success_timestamp_seconds %lld\n",
	    (long long)atomic_load(&M.reload_last_ok));

	free(s);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*out_len = b.len;
	return b.p;
}

void
metrics_free(void)
{
	unsigned i, n = atomic_load(&M.n_shards);

	for (i = 0; i < n && i < METRICS_MAX_SHARDS; i++)
		free(atomic_exchange(&M.shard[i], NULL));
	atomic_store(&M.n_shards, 0);
	for (i = 0; i < atomic_load(&M.routes.n); i++)
		free(M.routes.name[i]);
	atomic_store(&M.routes.n, 0);
	for (i = 0; i < atomic_load(&M.upstreams.n); i++)
		free(M.upstreams.name[i]);
	atomic_store(&M.upstreams.n, 0);
}
