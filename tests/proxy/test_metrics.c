/* SPDX-License-Identifier: MIT */
/* Tests for proxy/metrics.c: counting in shards, sums, names, the text format.
 * With an argument, writes one rendering to that file (for promtool). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "../unit/tap.h"

#define THREADS 4
#define PER_THREAD 10000

static unsigned route_api;

static void *
worker(void *arg)
{
	struct metrics_shard *s = metrics_shard_new();
	int i;

	(void)arg;
	if (s == NULL)
		return NULL;
	metrics_connections(s, 1);
	for (i = 0; i < PER_THREAD; i++) {
		metrics_request(s, route_api, 200, 3000);
		metrics_tcache(s, i % 2 == 0);
	}
	return s;
}

/* The value on the line that starts with |series| followed by a space. */
static double
value(const char *text, const char *series)
{
	const char *p = text;
	size_t n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

int
main(int argc, char *argv[])
{
	pthread_t t[THREADS];
	struct metrics_shard *main_shard;
	unsigned up, other;
	char *text, name[32];
	size_t len;
	int i;
	FILE *f;

	metrics_init("9.9.9-test", 1700000000);
	route_api = metrics_route_id("/api/{user_id}/**");
	is_int(metrics_route_id("/api/{user_id}/**"), route_api,
	    "the same pattern gets the same id");
	ok(metrics_route_id("/**") != route_api, "another pattern another id");
	up = metrics_upstream_id("api");
	is_int(metrics_upstream_id("api"), up, "upstream ids are stable");

	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	main_shard = metrics_shard_new();
	ok(main_shard != NULL, "a shard");
	metrics_request(main_shard, route_api, 403, 100);
	metrics_request(main_shard, METRICS_NO_ROUTE, 404, 50);
	metrics_request(main_shard, route_api, 200, 20000000); /* +Inf */
	metrics_auth(main_shard, AUTH_OK);
	metrics_auth(main_shard, AUTH_EXPIRED);
	metrics_refused(main_shard, METRICS_REFUSED_ROUTE);
	metrics_upstream_request(main_shard, up);
	metrics_upstream_response(main_shard, up, 2000);
	metrics_upstream_request(main_shard, up);
	metrics_upstream_error(main_shard, up, METRICS_UP_TIMEOUT);
	metrics_upstream_pool(main_shard, up, 3);
	metrics_upstream_pool(main_shard, up, -1);
	metrics_connections(main_shard, -1);
	atomic_fetch_add(metrics_upstream_tls_counter(main_shard, up, false),
	    1);
	atomic_fetch_add(metrics_upstream_tls_counter(main_shard, up, true), 2);
	ok(metrics_upstream_tls_counter(NULL, up, true) == NULL,
	    "no shard: no TLS counter");
	metrics_reload(true, 1700000100);
	metrics_reload(false, 1700000200);
	metrics_request(NULL, route_api, 200, 1); /* no shard: ignored */

	text = metrics_render(&len);
	ok(text != NULL && strlen(text) == len, "rendered, %zu bytes", len);
	if (text == NULL)
		return tap_done();
	is_int(value(text,
	           "bearerd_requests_total{route=\"/api/{user_id}/**\","
	           "class=\"2xx\"}"),
	    THREADS * PER_THREAD + 1, "2xx summed over the shards");
	is_int(value(text,
	           "bearerd_requests_total{route=\"/api/{user_id}/**\","
	           "class=\"4xx\"}"),
	    1, "4xx of the route");
	is_int(value(text,
	           "bearerd_requests_total{route=\"none\",class=\"4xx\"}"),
	    1, "a request no route took");
	is_int(value(text,
	           "bearerd_requests_total{route=\"/**\",class=\"5xx\"}"),
	    0, "a known route with no requests shows zeros");
	is_int(value(text,
	           "bearerd_request_duration_seconds_bucket{le=\"0.0025\"}"),
	    2, "cumulative bucket 2.5 ms (100 us, 50 us)");
	is_int(value(text,
	           "bearerd_request_duration_seconds_bucket{le=\"0.005\"}"),
	    THREADS * PER_THREAD + 2, "cumulative bucket 5 ms");
	is_int(value(text,
	           "bearerd_request_duration_seconds_bucket{le=\"+Inf\"}"),
	    THREADS * PER_THREAD + 3, "+Inf counts everything");
	is_int(value(text, "bearerd_request_duration_seconds_count"),
	    THREADS * PER_THREAD + 3, "count");
	ok(value(text, "bearerd_request_duration_seconds_sum") > 140.0 &&
	        value(text, "bearerd_request_duration_seconds_sum") < 140.1,
	    "sum in seconds (%g)",
	    value(text, "bearerd_request_duration_seconds_sum"));
	is_int(value(text, "bearerd_auth_total{outcome=\"ok\"}"), 1, "auth ok");
	is_int(value(text, "bearerd_auth_total{outcome=\"expired\"}"), 1,
	    "auth expired");
	is_int(value(text, "bearerd_refused_total{reason=\"route\"}"), 1,
	    "routing refusal");
	is_int(value(text, "bearerd_refused_total{reason=\"path\"}"), 0,
	    "path refusals apart");
	is_int(value(text, "bearerd_upstream_requests_total{upstream=\"api\"}"),
	    2, "upstream requests: a response and an error");
	is_int(value(text,
	           "bearerd_upstream_errors_total{upstream=\"api\","
	           "cause=\"timeout\"}"),
	    1, "upstream timeout");
	is_int(value(text,
	           "bearerd_upstream_errors_total{upstream=\"api\","
	           "cause=\"connect\"}"),
	    0, "upstream connect errors apart");
	is_int(value(text,
	           "bearerd_upstream_response_seconds_count{upstream="
	           "\"api\"}"),
	    1, "upstream response histogram");
	is_int(value(text,
	           "bearerd_upstream_idle_connections{upstream=\"api\"}"),
	    2, "pool gauge up and down");
	is_int(value(text,
	           "bearerd_upstream_tls_handshakes_total{upstream=\"api\","
	           "resumed=\"false\"}"),
	    1, "full TLS handshakes");
	is_int(value(text,
	           "bearerd_upstream_tls_handshakes_total{upstream=\"api\","
	           "resumed=\"true\"}"),
	    2, "resumed TLS handshakes apart");
	is_int(value(text, "bearerd_open_connections"), THREADS - 1,
	    "connections gauge");
	is_int(value(text, "bearerd_token_cache_hits_total"),
	    THREADS * PER_THREAD / 2, "cache hits");
	is_int(value(text, "bearerd_token_cache_misses_total"),
	    THREADS * PER_THREAD / 2, "cache misses");
	is_int(value(text, "bearerd_config_reloads_total{result=\"success\"}"),
	    1, "reloads ok");
	is_int(value(text, "bearerd_config_reloads_total{result=\"failure\"}"),
	    1, "reloads failed");
	is_int(value(text,
	           "bearerd_config_last_reload_success_timestamp_seconds"),
	    1700000100, "last good reload");
	ok(strstr(text, "bearerd_build_info{version=\"9.9.9-test\",") != NULL,
	    "build info");
	ok(strstr(text, "# HELP bearerd_requests_total ") != NULL &&
	        strstr(text, "# TYPE bearerd_requests_total counter\n") != NULL,
	    "HELP and TYPE");

	if (argc > 1 && (f = fopen(argv[1], "w")) != NULL) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
	free(text);

	/* a full name table counts the rest as "other", never fails */
	for (i = 0; i < METRICS_MAX_ROUTES + 5; i++) {
		snprintf(name, sizeof(name), "/r%d/**", i);
		other = metrics_route_id(name);
	}
	is_int(other, METRICS_ROUTE_OTHER, "past the table: other");
	metrics_request(main_shard, other, 500, 1);
	text = metrics_render(&len);
	ok(text != NULL &&
	        value(text,
	            "bearerd_requests_total{route=\"other\","
	            "class=\"5xx\"}") == 1,
	    "other is rendered once used");
	free(text);
	metrics_free();
	return tap_done();
}
