/* SPDX-License-Identifier: MIT */
/* The admin endpoints answered locally: health, readiness and metrics. */
#include <stdio.h>
#include <string.h>

#include "proxy.h"

#define ADMIN_METRICS_PATH "/metrics"

static bool
path_is(const char *path, size_t len, const char *want)
{
	return want != NULL && want[0] != '\0' && strlen(want) == len &&
	    memcmp(path, want, len) == 0;
}

static void
admin_metrics(struct proxy_req *pr)
{
	struct proxy *p = proxy_g;
	size_t n = 0;
	int i, m;

	/* Prometheus text format 0.0.4; small enough for the fixed body. */
	pr->v.body[0] = '\0';
	n = (size_t)snprintf(pr->v.body, sizeof(pr->v.body),
	    "# TYPE bearerd_requests_total counter\n");
	for (i = 1; i <= 5; i++) {
		m = snprintf(pr->v.body + n, sizeof(pr->v.body) - n,
		    "bearerd_requests_total{class=\"%dxx\"} %lu\n", i,
		    atomic_load(&p->n_status[i]));
		if (m < 0 || (size_t)m >= sizeof(pr->v.body) - n)
			break;
		n += (size_t)m;
	}
	m = snprintf(pr->v.body + n, sizeof(pr->v.body) - n,
	    "# TYPE bearerd_auth_total counter\n");
	if (m > 0 && (size_t)m < sizeof(pr->v.body) - n)
		n += (size_t)m;
	for (i = 0; i < AUTH_STATUS_MAX; i++) {
		m = snprintf(pr->v.body + n, sizeof(pr->v.body) - n,
		    "bearerd_auth_total{outcome=\"%s\"} %lu\n",
		    auth_status_str((enum auth_status)i),
		    atomic_load(&p->n_auth[i]));
		if (m < 0 || (size_t)m >= sizeof(pr->v.body) - n)
			break;
		n += (size_t)m;
	}
	pr->v.body_type = "text/plain; version=0.0.4";
}

bool
admin_handle(struct proxy_req *pr, const char *path, size_t len)
{
	const struct conf *c = pr->conf;
	struct proxy *p = proxy_g;

	memset(&pr->v, 0, sizeof(pr->v));
	if (path_is(path, len, c->health_path)) {
		pr->v.status = 200;
		pr->v.body_type = "application/json";
		snprintf(pr->v.body, sizeof(pr->v.body),
		    "{\"status\":\"ok\"}\n");
		return true;
	}
	if (path_is(path, len, c->ready_path)) {
		if (atomic_load(&p->draining) || !atomic_load(&p->ready)) {
			pr->v.status = 503;
			pr->v.code = atomic_load(&p->draining) ? "draining"
			                                       : "not_ready";
			pr->v.title = "Service Unavailable";
			return true;
		}
		pr->v.status = 200;
		pr->v.body_type = "application/json";
		snprintf(pr->v.body, sizeof(pr->v.body),
		    "{\"status\":\"ready\"}\n");
		return true;
	}
	if (path_is(path, len, ADMIN_METRICS_PATH)) {
		pr->v.status = 200;
		admin_metrics(pr);
		return true;
	}
	return false;
}

void
admin_count(const struct proxy_req *pr)
{
	struct proxy *p = proxy_g;
	int cls = pr->status / 100;

	if (cls >= 1 && cls <= 5)
		atomic_fetch_add(&p->n_status[cls], 1);
	if ((int)pr->auth >= 0 && pr->auth < AUTH_STATUS_MAX)
		atomic_fetch_add(&p->n_auth[pr->auth], 1);
}
