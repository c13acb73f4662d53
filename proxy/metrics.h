/* SPDX-License-Identifier: MIT */
/* The counters behind /metrics: per-worker shards, summed when rendered. */
#ifndef PROXY_METRICS_H
#define PROXY_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth.h"

#define METRICS_MAX_ROUTES 128   /* distinct route patterns; then "other" */
#define METRICS_MAX_UPSTREAMS 64 /* distinct upstream names; then "other" */
#define METRICS_MAX_SHARDS 512   /* workers and other threads that count */
#define METRICS_ROUTE_OTHER METRICS_MAX_ROUTES    /* the table was full */
#define METRICS_NO_ROUTE (METRICS_MAX_ROUTES + 1) /* admin paths, 400, 404 */
#define METRICS_UPSTREAM_OTHER METRICS_MAX_UPSTREAMS
#define METRICS_BUCKETS 14 /* histogram buckets, +Inf included */

/* Why an upstream exchange failed. */
enum metrics_up_error {
	METRICS_UP_CONNECT = 0,  /* refused, unreachable, name not resolved */
	METRICS_UP_TIMEOUT,      /* connect or response timeout */
	METRICS_UP_RESET,        /* closed or reset before the response ended */
	METRICS_UP_BAD_RESPONSE, /* a response head or body bearerd refused */
	METRICS_UP_ERROR_MAX
};

/* A request refused before any route or auth decision. */
enum metrics_refusal {
	METRICS_REFUSED_PATH = 0, /* path not canonical (400) */
	METRICS_REFUSED_ROUTE,    /* no route matched (404) */
	METRICS_REFUSAL_MAX
};

struct metrics_shard;

/*
 * Records the build for bearerd_build_info and the start time. Call once
 * from the main thread before any shard exists. |version| is copied.
 */
void metrics_init(const char *version, time_t now);

/*
 * The id under which |pattern| (a route) or |name| (an upstream) is
 * counted: the same string always gets the same id, across reloads. Main
 * thread only (configuration load); ids are then read by any thread.
 * Returns an id below METRICS_MAX_ROUTES / METRICS_MAX_UPSTREAMS, or
 * METRICS_ROUTE_OTHER / METRICS_UPSTREAM_OTHER when the table is full or
 * out of memory.
 */
unsigned metrics_route_id(const char *pattern);
unsigned metrics_upstream_id(const char *name);

/*
 * A shard for one thread: only that thread counts into it (relaxed
 * atomics, no locks), the renderer reads every shard. Shards live until
 * metrics_free(). Returns NULL when out of memory or out of slots.
 */
struct metrics_shard *metrics_shard_new(void);

/* A finished request: |route| an id or METRICS_NO_ROUTE, |status| the
 * status sent, |duration_us| from the first byte of the head to the last
 * byte of the response. */
void metrics_request(struct metrics_shard *s, unsigned route, int status,
    uint64_t duration_us);
/* The auth outcome of a request whose route needed auth (not auth = none,
 * not admin paths). */
void metrics_auth(struct metrics_shard *s, enum auth_status st);
void metrics_refused(struct metrics_shard *s, enum metrics_refusal why);
/* A request was sent to upstream |up|. */
void metrics_upstream_request(struct metrics_shard *s, unsigned up);
/* Its response head arrived |response_us| after it was sent. */
void metrics_upstream_response(struct metrics_shard *s, unsigned up,
    uint64_t response_us);
/* It failed (before or after the response head). */
void metrics_upstream_error(struct metrics_shard *s, unsigned up,
    enum metrics_up_error why);
/* Idle pooled connections to |up| grew or shrank by |delta|. */
void metrics_upstream_pool(struct metrics_shard *s, unsigned up, int delta);
/* The idle gauge of |up| itself, for a pool that keeps it up to date
 * (up_pool_set_gauge); NULL without a shard. */
atomic_ulong *metrics_upstream_pool_gauge(struct metrics_shard *s, unsigned up);
/* The counter of completed TLS handshakes toward |up|, those resuming a
 * session or the full ones, for a pool that counts them itself
 * (up_pool_set_tls_counters); NULL without a shard. */
atomic_ulong *metrics_upstream_tls_counter(struct metrics_shard *s, unsigned up,
    bool resumed);
void metrics_tcache(struct metrics_shard *s, bool hit);
/* |hits| and |misses| token-cache lookups at once. */
void metrics_tcache_count(struct metrics_shard *s, unsigned hits,
    unsigned misses);
/* A session-cache lookup of a request (|st|), and whether the request was
 * served a cached token while its issuer could not answer. */
void metrics_session_lookup(struct metrics_shard *s, enum auth_scache_state st,
    bool served_stale);
/* Those counts summed over the shards, for the exchange's families. */
void metrics_session_sums(unsigned long lookups[AUTH_SC_STALE + 1],
    unsigned long *stale_served);
/* Open client connections grew or shrank by |delta|. */
void metrics_connections(struct metrics_shard *s, int delta);

/* A configuration reload ended (any thread). */
void metrics_reload(bool ok, time_t now);

/*
 * The Prometheus text format (version 0.0.4) of every family, summed over
 * the shards: a NUL-terminated heap string the caller frees, its length
 * in |*out_len|. NULL when out of memory.
 */
char *metrics_render(size_t *out_len);

/* Frees every shard and name (at exit, after the threads are gone). */
void metrics_free(void);

#endif /* PROXY_METRICS_H */
