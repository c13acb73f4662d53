/* SPDX-License-Identifier: MIT */
/* An issuer's JWKS over HTTP, per worker: fetch, background refresh,
 * unknown-kid refetch, last good set kept. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "jwks.h"
#include "proxy.h"

#define JWKS_MAX_WORKERS 256 /* conf allows no more */

struct jwks {
	struct event_base *base;
	const struct conf_issuer *is;
	struct up_pool *pool;     /* owned */
	struct fetch *fetch;      /* in flight, or NULL */
	struct auth_keyset *keys; /* owned: the last good set, or NULL */
	struct event *timer;      /* owned: the next background fetch */
	int64_t fetch_started;    /* wall seconds; 0: never */
	int worker, issuer;       /* metrics slot */
	jwks_fetched_fn *fetched;
	void *arg;
};

static atomic_long n_missing;
static atomic_ulong n_fetch_ok, n_fetch_err;
/* When each worker's set for each issuer was last loaded (wall seconds;
 * 0: never): the age on /metrics is that of the oldest. */
static _Atomic int64_t loaded_at[JWKS_MAX_WORKERS][CONF_MAX_ISSUERS];

static void jwks_start(struct jwks *j);

static void
timer_arm(struct jwks *j, int64_t seconds)
{
	struct timeval tv = {(time_t)seconds, 0};

	evtimer_add(j->timer, &tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	jwks_start(arg);
}

static void
on_fetched(void *arg, const struct fetch_result *res)
{
	struct jwks *j = arg;
	struct auth_keyset *ks = NULL;
	char err[256];
	bool first = j->keys == NULL;

	j->fetch = NULL;
	if (res->status != 200 || res->too_large) {
		snprintf(err, sizeof(err), "%s",
		    res->status == 0     ? up_error_str(res->err)
		        : res->too_large ? "document too large"
		                         : "unexpected status");
		if (res->status != 0)
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
			    " %d", res->status);
	} else if ((ks = auth_keyset_new()) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
	} else if (auth_keyset_add_jwks(ks, res->body, res->body_len, err,
	               sizeof(err)) == -1) {
		auth_keyset_free(ks);
		ks = NULL;
	}
	if (ks != NULL) {
		/* Nothing holds the old set: verification is synchronous on
		 * this same thread. */
		auth_keyset_free(j->keys);
		j->keys = ks;
		atomic_fetch_add(&n_fetch_ok, 1);
		if (first)
			atomic_fetch_sub(&n_missing, 1);
		if (j->worker < JWKS_MAX_WORKERS)
			atomic_store(&loaded_at[j->worker][j->issuer],
			    (int64_t)time(NULL));
		log_debug("%s: issuer %s: %zu keys", __func__, j->is->name,
		    auth_keyset_count(ks));
		timer_arm(j, j->is->jwks_refresh);
	} else {
		atomic_fetch_add(&n_fetch_err, 1);
		/* The last good set stays; the first one is retried soon,
		 * readiness waits for it. */
		log_warnx("%s: issuer %s: %s: %s%s", __func__, j->is->name,
		    j->is->jwks_url, err,
		    j->keys != NULL ? " (keeping the last good keys)" : "");
		timer_arm(j,
		    j->keys == NULL                ? JWKS_RETRY_S
		        : j->is->jwks_refresh < 30 ? j->is->jwks_refresh
		                                   : 30);
	}
	if (j->fetched != NULL)
		j->fetched(j->arg);
}

static void
jwks_start(struct jwks *j)
{
	if (j->fetch != NULL)
		return;
	evtimer_del(j->timer);
	j->fetch_started = (int64_t)time(NULL);
	j->fetch = fetch_get(j->pool, j->is->jwks_path, NULL, JWKS_MAX_BYTES,
	    on_fetched, j);
	if (j->fetch == NULL) {
		atomic_fetch_add(&n_fetch_err, 1);
		timer_arm(j, JWKS_RETRY_S);
	}
}

struct jwks *
jwks_new(struct event_base *base, struct evdns_base *dns,
    const struct conf_issuer *is, int worker, int issuer,
    jwks_fetched_fn *fetched, void *arg)
{
	struct jwks *j;

	if (is->jwks_url == NULL || issuer < 0 || issuer >= CONF_MAX_ISSUERS)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->base = base;
	j->is = is;
	j->worker = worker;
	j->issuer = issuer;
	j->fetched = fetched;
	j->arg = arg;
	j->pool = up_pool_new(base, dns, &is->jwks_up);
	j->timer = evtimer_new(base, timer_cb, j);
	if (j->pool == NULL || j->timer == NULL) {
		up_pool_free(j->pool);
		if (j->timer != NULL)
			event_free(j->timer);
		free(j);
		return NULL;
	}
	atomic_fetch_add(&n_missing, 1);
	/* From the loop, not from here: the caller may still be building
	 * its own state. */
	timer_arm(j, 0);
	return j;
}

void
jwks_free(struct jwks *j)
{
	if (j == NULL)
		return;
	fetch_cancel(j->fetch);
	if (j->keys == NULL)
		atomic_fetch_sub(&n_missing, 1);
	auth_keyset_free(j->keys);
	event_free(j->timer);
	up_pool_free(j->pool);
	free(j);
}

const struct auth_keyset *
jwks_keys(const struct jwks *j)
{
	return j != NULL ? j->keys : NULL;
}

bool
jwks_busy(const struct jwks *j)
{
	return j != NULL && j->fetch != NULL;
}

int64_t
jwks_refetch_wait(const struct jwks *j)
{
	int64_t next;

	if (j == NULL || j->fetch_started == 0)
		return 0;
	next = j->fetch_started + j->is->jwks_min_refresh - (int64_t)time(NULL);
	return next > 0 ? next : 0;
}

bool
jwks_refetch(struct jwks *j, int64_t max_wait)
{
	int64_t wait;

	if (j == NULL)
		return false;
	if (j->fetch != NULL)
		return true;
	wait = jwks_refetch_wait(j);
	if (wait == 0) {
		jwks_start(j);
		return j->fetch != NULL;
	}
	if (wait > max_wait)
		return false;
	/* Better Auth creates its key pair lazily, and two first requests
	 * at once can each create one: a token may name a key born just
	 * after our last fetch. Wait for the next allowed fetch rather than
	 * fail. The background refresh is re-armed after it. */
	timer_arm(j, wait);
	return true;
}

long
jwks_missing(void)
{
	return atomic_load(&n_missing);
}

void
jwks_metrics(const struct conf *c, char *buf, size_t cap, size_t *len)
{
	int64_t now = (int64_t)time(NULL);
	size_t i, w;
	int n;

#define OUT(...)                                                               \
	do {                                                                   \
		n = snprintf(buf + *len, cap - *len, __VA_ARGS__);             \
		if (n < 0 || (size_t)n >= cap - *len)                          \
			return;                                                \
		*len += (size_t)n;                                             \
	} while (0)

	if (*len >= cap)
		return;
	OUT("# HELP bearerd_jwks_fetches_total JWKS fetches from jwks_url, "
	    "by result.\n# TYPE bearerd_jwks_fetches_total counter\n"
	    "bearerd_jwks_fetches_total{result=\"ok\"} %lu\n"
	    "bearerd_jwks_fetches_total{result=\"error\"} %lu\n",
	    atomic_load(&n_fetch_ok), atomic_load(&n_fetch_err));
	OUT("# HELP bearerd_jwks_age_seconds Age of the oldest key set a "
	    "worker verifies with, per issuer.\n"
	    "# TYPE bearerd_jwks_age_seconds gauge\n");
	for (i = 0; c != NULL && i < c->n_issuers; i++) {
		int64_t oldest = 0;

		if (c->issuers[i].jwks_url == NULL)
			continue;
		for (w = 0; w < JWKS_MAX_WORKERS && w < (size_t)c->workers;
		     w++) {
			int64_t t = atomic_load(&loaded_at[w][i]);

			if (t > 0 && (oldest == 0 || t < oldest))
				oldest = t;
		}
		if (oldest > 0)
			OUT("bearerd_jwks_age_seconds{issuer=\"%s\"} %lld\n",
			    c->issuers[i].name, (long long)(now - oldest));
	}
#undef OUT
}
