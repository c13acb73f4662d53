/* SPDX-License-Identifier: MIT */
/* An issuer's JWKS over HTTP (jwks_url), per worker: fetched at start,
 * refreshed in the background, refetched on an unknown kid at most once
 * per jwks_min_refresh, the last good set kept through an outage. */
#ifndef PROXY_JWKS_H
#define PROXY_JWKS_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "conf.h"

#define JWKS_MAX_BYTES (256 * 1024) /* a JWKS document */
#define JWKS_RETRY_S 1 /* until the first good fetch, retry this often */

/*
 * Why per worker: every worker thread fetches and owns its own key set,
 * so a key set is only ever read and swapped on the thread that verifies
 * with it (auth_jwt_verify is synchronous): no lock, no reference count,
 * no cross-thread wakeup, and an exchange waiting for an unknown-kid
 * refetch simply waits on its own event loop. The price is one small GET
 * per worker per refresh, which an issuer does not notice.
 */
struct jwks;

/* Called on the worker's loop after every fetch, good or not (|arg| as
 * given to jwks_new). Waiting exchanges re-verify then. */
typedef void jwks_fetched_fn(void *arg);

/* Starts fetching |is|->jwks_url on |base| (|is| must outlive the jwks;
 * |slot| is the metrics slot of this worker and issuer). NULL when out
 * of memory or the pool cannot be built. */
struct jwks *jwks_new(struct event_base *base, struct evdns_base *dns,
    const struct conf_issuer *is, int worker, int issuer,
    jwks_fetched_fn *fetched, void *arg);

/* Cancels any fetch, frees the key set. NULL is fine. */
void jwks_free(struct jwks *j);

/* The current key set, or NULL before the first good fetch. Valid until
 * control returns to the event loop. */
const struct auth_keyset *jwks_keys(const struct jwks *j);

/* A token named a kid the key set lacks: refetch now, unless a fetch is
 * already running or one started less than jwks_min_refresh ago; then,
 * when the next allowed fetch is at most |max_wait| seconds away, it is
 * scheduled for then. Returns true when a fetch is running or scheduled
 * (the |fetched| callback will come). */
bool jwks_refetch(struct jwks *j, int64_t max_wait);

/* Whether a fetch is running now. */
bool jwks_busy(const struct jwks *j);

/* Seconds until a refetch is allowed again (0: now). */
int64_t jwks_refetch_wait(const struct jwks *j);

/* JWKS sets not loaded yet, over all workers and generations alive:
 * readiness needs 0. */
long jwks_missing(void);

/* Prometheus lines (# HELP/# TYPE, fetches by result, key-set age per
 * issuer of |c| over all workers: the oldest) appended to |buf| at
 * |*len| within |cap|. */
void jwks_metrics(const struct conf *c, char *buf, size_t cap, size_t *len);

#endif /* PROXY_JWKS_H */
