/* SPDX-License-Identifier: MIT */
/* Microseconds per token verification, per algorithm, cold and through the
 * token cache. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "auth.h"

/*
 * Usage: verify_bench [data-dir] [rounds]
 *
 * data-dir (default: the source tree's tests/data) must hold
 * pyjwt/tokens.json (PyJWT-signed tokens, one per alg, with kids) and
 * keys/jwks.json (their public keys); the HS* tokens use tokens.json's
 * "secret". Every token is verified once first and must be AUTH_OK.
 *
 * cold:   auth_jwt_verify on every call (parse, key lookup, signature,
 *         claims), against one keyset holding all 13 keys.
 * cached: what a worker does for a repeat token: auth_tcache_key
 *         (SHA-256 of domain and token) + auth_tcache_get, a hit.
 * Each figure is the best of |rounds| rounds of about 100 ms each.
 */

#ifndef BENCH_DATA_DIR
#define BENCH_DATA_DIR "tests/data"
#endif

#define ROUND_NS 100000000.0 /* target length of one timed round */
#define CACHE_DOMAIN "bench-issuer"

struct tok {
	const char *name;
	const char *token;
	size_t len;
};

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const struct auth_policy *g_pol;
static struct auth_tcache *g_cache;
static int64_t g_now;
static volatile size_t g_sink; /* keeps the loops from being elided */

static void
run_cold(const struct tok *t, size_t n)
{
	struct auth_claims c;

	for (size_t i = 0; i < n; i++) {
		if (auth_jwt_verify(g_pol, t->token, t->len, g_now, &c) !=
		    AUTH_OK) {
			fprintf(stderr, "%s: verification failed\n", t->name);
			exit(1);
		}
		g_sink += c.sub_len;
	}
}

static void
run_cached(const struct tok *t, size_t n)
{
	unsigned char key[AUTH_TCACHE_KEY_LEN];

	for (size_t i = 0; i < n; i++) {
		const struct auth_tcache_entry *e;

		auth_tcache_key(CACHE_DOMAIN, t->token, t->len, key);
		e = auth_tcache_get(g_cache, key, g_now);
		if (e == NULL) {
			fprintf(stderr, "%s: cache miss\n", t->name);
			exit(1);
		}
		g_sink += e->claims.sub_len;
	}
}

/* Best microseconds per call of |fn| over |rounds| rounds. */
static double
measure(void (*fn)(const struct tok *, size_t), const struct tok *t, int rounds)
{
	double t0, el, best = 0;
	size_t n = 1;

	/* Calibrate: grow n until one batch takes at least 10 ms. */
	for (;;) {
		t0 = now_ns();
		fn(t, n);
		el = now_ns() - t0;
		if (el >= 1e7 || n >= (SIZE_MAX >> 2))
			break;
		n *= 4;
	}
	n = (size_t)((double)n * ROUND_NS / el);
	if (n == 0)
		n = 1;
	for (int r = 0; r < rounds; r++) {
		double us;

		t0 = now_ns();
		fn(t, n);
		us = (now_ns() - t0) / 1e3 / (double)n;
		if (r == 0 || us < best)
			best = us;
	}
	return best;
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : BENCH_DATA_DIR;
	int rounds = 5;
	char path[1024], err[256];
	json_t *root = NULL, *arr;
	json_error_t jerr;
	char *jwks = NULL;
	struct auth_keyset *ks = NULL;
	struct auth_policy pol;
	const char *secret, *iss, *aud;
	size_t i;
	int rc = 1;

	if (argc > 2) {
		char *end;
		long r = strtol(argv[2], &end, 10);

		/* Not a number, or out of 1..1000: one round. */
		rounds = (end == argv[2] || *end != '\0' || r < 1 || r > 1000)
		    ? 1
		    : (int)r;
	}
	if (rounds < 1)
		rounds = 1;
	snprintf(path, sizeof(path), "%s/pyjwt/tokens.json", dir);
	root = json_load_file(path, 0, &jerr);
	if (root == NULL) {
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/keys/jwks.json", dir);
	jwks = read_file(path);
	if (jwks == NULL) {
		fprintf(stderr, "%s: cannot read\n", path);
		goto out;
	}
	secret = json_string_value(json_object_get(root, "secret"));
	iss = json_string_value(json_object_get(root, "iss"));
	aud = json_string_value(json_object_get(root, "aud"));
	g_now = (int64_t)json_integer_value(json_object_get(root, "now"));
	arr = json_object_get(root, "tokens");
	if (secret == NULL || !json_is_array(arr)) {
		fprintf(stderr, "tokens.json: unexpected layout\n");
		goto out;
	}

	ks = auth_keyset_new();
	g_cache = auth_tcache_new(1024);
	if (ks == NULL || g_cache == NULL)
		goto out;
	if (auth_keyset_add_jwks(ks, jwks, strlen(jwks), err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "jwks: %s\n", err);
		goto out;
	}
	{
		static const struct {
			const char *kid;
			enum auth_alg alg;
		} hs[] = {
		    {"hs256", AUTH_ALG_HS256},
		    {"hs384", AUTH_ALG_HS384},
		    {"hs512", AUTH_ALG_HS512},
		};

		for (i = 0; i < 3; i++)
			if (auth_keyset_add_secret(ks, hs[i].kid, hs[i].alg,
			        (const unsigned char *)secret, strlen(secret),
			        err, sizeof(err)) != 0) {
				fprintf(stderr, "secret: %s\n", err);
				goto out;
			}
	}
	memset(&pol, 0, sizeof(pol));
	pol.keys = ks;
	pol.issuer = iss;
	pol.audience = aud;
	pol.leeway = 60;
	g_pol = &pol;

	printf("# verify_bench: %zu keys, best of %d rounds, %s\n",
	    auth_keyset_count(ks), rounds, OpenSSL_version(OPENSSL_VERSION));
	printf("%-6s %12s %12s %10s %12s\n", "alg", "cold us/op",
	    "cached us/op", "speedup", "cold ops/s");
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *o = json_array_get(arr, i);
		struct tok t;
		struct auth_claims c;
		unsigned char key[AUTH_TCACHE_KEY_LEN];
		double cold, hot;
		enum auth_status st;

		t.name = json_string_value(json_object_get(o, "name"));
		t.token = json_string_value(json_object_get(o, "token"));
		if (t.name == NULL || t.token == NULL)
			continue;
		t.len = strlen(t.token);
		st = auth_jwt_verify(&pol, t.token, t.len, g_now, &c);
		if (st != AUTH_OK) {
			fprintf(stderr, "%s: %s\n", t.name,
			    auth_status_str(st));
			goto out;
		}
		auth_tcache_key(CACHE_DOMAIN, t.token, t.len, key);
		if (auth_tcache_put(g_cache, key, &c, t.token, t.len, c.exp,
		        g_now) != 0) {
			fprintf(stderr, "%s: tcache_put failed\n", t.name);
			goto out;
		}
		cold = measure(run_cold, &t, rounds);
		hot = measure(run_cached, &t, rounds);
		printf("%-6s %12.2f %12.3f %9.0fx %12.0f\n", t.name, cold, hot,
		    cold / hot, 1e6 / cold);
		fflush(stdout);
	}
	rc = 0;
out:
	auth_tcache_free(g_cache);
	auth_keyset_free(ks);
	free(jwks);
	json_decref(root);
	return rc;
}
