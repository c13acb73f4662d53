/* SPDX-License-Identifier: MIT */
/* Fuzzes conf_load on hostile config files: a clean failure whose every
 * error has a line inside the file, or a consistent conf that serialises
 * (conf_serialise) and reloads to the same conf. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"

#define ERR_LEN 8192

static char dir[64];
static char path[96];
static char path2[96]; /* the serialised copy, in the same folder */
static int fd = -1;

/* Key files the seeds name (pem_file = "rsa.pub.pem", ...), copied next
 * to the scratch config, since relative paths are read from its folder. */
static const char *const data_files[] = {
    "rsa.pub.pem",
    "rsa.pem",
    "ec.pub.pem",
    "ec.pem",
    "jwks.json",
    "secret.txt",
    "short_secret.txt",
};

static void
copy_data_file(const char *name)
{
#ifdef FUZZ_CONF_DATA_DIR
	char src[512], dst[160], buf[4096];
	FILE *in, *out;
	size_t n;

	snprintf(src, sizeof(src), "%s/%s", FUZZ_CONF_DATA_DIR, name);
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	in = fopen(src, "rb");
	if (in == NULL)
		return;
	out = fopen(dst, "wb");
	FUZZ_CHECK(out != NULL);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		FUZZ_CHECK(fwrite(buf, 1, n, out) == n);
	fclose(in);
	fclose(out);
#else
	(void)name;
#endif
}

static void
cleanup(void)
{
	char f[160];

	if (fd >= 0)
		close(fd);
	unlink(path);
	unlink(path2);
	for (size_t i = 0; i < sizeof(data_files) / sizeof(data_files[0]);
	     i++) {
		snprintf(f, sizeof(f), "%s/%s", dir, data_files[i]);
		unlink(f);
	}
	rmdir(dir);
}

/* One scratch folder for the whole run; the config in it is rewritten
 * for every input. */
static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/bearerd-fuzz-conf.XXXXXX",
	    tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < sizeof(data_files) / sizeof(data_files[0]); i++)
		copy_data_file(data_files[i]);
	snprintf(path, sizeof(path), "%s/bearerd.conf", dir);
	snprintf(path2, sizeof(path2), "%s/again.conf", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	FUZZ_CHECK(fd >= 0);
	atexit(cleanup);
	setenv("BEARERD_TEST_SECRET", "fuzz-test-secret-0123456789abcdefghij",
	    1);
	/* Secrets the seeds name, so ${VAR} expansion is exercised. */
	setenv("AUTH_SECRET", "fuzz-secret-0123456789abcdefghijklmnop", 1);
	setenv("BACKEND_JWT_SECRET", "fuzz-mint-0123456789abcdefghijklmnopq",
	    1);
	setenv("SHORT_SECRET", "short", 1);
	setenv("EMPTY_VAR", "", 1);
	unsetenv("UNSET_VAR");
}

static void
write_input(const uint8_t *data, size_t size)
{
	size_t off = 0;

	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	while (off < size) {
		ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);

		FUZZ_CHECK(w > 0);
		off += (size_t)w;
	}
}

static void
check_conf(const struct conf *c)
{
	FUZZ_CHECK(c->n_upstreams <= CONF_MAX_UPSTREAMS);
	FUZZ_CHECK(c->n_issuers <= CONF_MAX_ISSUERS);
	FUZZ_CHECK(c->n_routes <= CONF_MAX_ROUTES);
	FUZZ_CHECK(c->workers >= 1);
	FUZZ_CHECK(c->listen_port != NULL && c->listen_host != NULL);
	FUZZ_CHECK(c->table != NULL);
	FUZZ_CHECK(auth_route_count(c->table) == c->n_routes);
	for (size_t i = 0; i < c->n_upstreams; i++) {
		FUZZ_CHECK(c->upstreams[i].name != NULL);
		FUZZ_CHECK(c->upstreams[i].host != NULL);
		FUZZ_CHECK(
		    conf_upstream_find(c, c->upstreams[i].name) == (int)i);
	}
	for (size_t i = 0; i < c->n_issuers; i++) {
		const struct conf_issuer *is = &c->issuers[i];

		FUZZ_CHECK(is->name != NULL && is->cookie != NULL);
		FUZZ_CHECK(is->policy.keys == is->keys);
		FUZZ_CHECK(
		    (is->forward == CONF_FORWARD_MINT) == (is->minter != NULL));
		if (is->secret != NULL)
			FUZZ_CHECK(is->secret_len >= AUTH_MIN_SECRET_LEN);
		FUZZ_CHECK(is->policy.n_keep_claims <= AUTH_MAX_KEEP_CLAIMS);
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *r = &c->routes[i];
		const struct auth_route *ar = auth_route_get(c->table, i);

		FUZZ_CHECK(r->pattern != NULL && ar != NULL);
		FUZZ_CHECK(ar->tag == (int)i);
		FUZZ_CHECK(strcmp(ar->pattern, r->pattern) == 0);
		FUZZ_CHECK(
		    r->upstream >= 0 && (size_t)r->upstream < c->n_upstreams);
		FUZZ_CHECK(r->issuer >= -1 &&
		    (r->issuer < 0 || (size_t)r->issuer < c->n_issuers));
		/* A route that looks at credentials has an issuer. */
		if (r->mode != AUTH_MODE_NONE)
			FUZZ_CHECK(r->issuer >= 0);
	}
}

/* Every error line is "path:LINE:COL: message" with LINE in the file;
 * the text may be cut short at |ERR_LEN| (the last line is then partial). */
static void
check_errors(const char *err, const uint8_t *data, size_t size)
{
	size_t plen = strlen(path), lines = 1, i;
	const char *p = err;

	for (i = 0; i < size; i++)
		if (data[i] == '\n' && i + 1 < size)
			lines++;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		char *end;
		long line, col;

		if (nl == NULL && strlen(err) >= ERR_LEN - 1)
			break; /* truncated */
		FUZZ_CHECK(strncmp(p, path, plen) == 0 && p[plen] == ':');
		line = strtol(p + plen + 1, &end, 10);
		FUZZ_CHECK(end != p + plen + 1 && *end == ':');
		col = strtol(end + 1, &end, 10);
		FUZZ_CHECK(*end == ':' && end[1] == ' ');
		if (!(line >= 1 && (size_t)line <= lines))
			fprintf(stderr, "%zu lines: %s\n", lines, err);
		FUZZ_CHECK(line >= 1 && (size_t)line <= lines);
		FUZZ_CHECK(col >= 1);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
up_eq(const struct conf_upstream *a, const struct conf_upstream *b)
{
	return str_eq(a->name, b->name) && str_eq(a->host, b->host) &&
	    str_eq(a->port, b->port) &&
	    str_eq(a->host_header, b->host_header) &&
	    a->connect_timeout_ms == b->connect_timeout_ms &&
	    a->response_timeout_ms == b->response_timeout_ms &&
	    a->idle_timeout_ms == b->idle_timeout_ms &&
	    a->max_idle == b->max_idle && a->tls == b->tls;
}

/* Everything of |a| and |b| but what differs per load (cache domains). */
static void
check_same(const struct conf *a, const struct conf *b)
{
	size_t i, k;

	FUZZ_CHECK(str_eq(a->listen_host, b->listen_host));
	FUZZ_CHECK(str_eq(a->listen_port, b->listen_port));
	FUZZ_CHECK(a->workers == b->workers && a->backlog == b->backlog);
	FUZZ_CHECK(a->max_head_bytes == b->max_head_bytes);
	FUZZ_CHECK(a->max_header_line == b->max_header_line);
	FUZZ_CHECK(a->max_header_fields == b->max_header_fields);
	FUZZ_CHECK(a->max_body_bytes == b->max_body_bytes);
	FUZZ_CHECK(a->token_cache_entries == b->token_cache_entries);
	FUZZ_CHECK(a->head_timeout_ms == b->head_timeout_ms);
	FUZZ_CHECK(a->body_timeout_ms == b->body_timeout_ms);
	FUZZ_CHECK(a->idle_timeout_ms == b->idle_timeout_ms);
	FUZZ_CHECK(a->drain_timeout_ms == b->drain_timeout_ms);
	FUZZ_CHECK(a->n_upstreams == b->n_upstreams);
	for (i = 0; i < a->n_upstreams; i++)
		FUZZ_CHECK(up_eq(&a->upstreams[i], &b->upstreams[i]));
	FUZZ_CHECK(a->n_issuers == b->n_issuers);
	for (i = 0; i < a->n_issuers; i++) {
		const struct conf_issuer *x = &a->issuers[i],
		                         *y = &b->issuers[i];

		FUZZ_CHECK(str_eq(x->name, y->name) && x->cred == y->cred);
		FUZZ_CHECK(str_eq(x->cookie, y->cookie));
		FUZZ_CHECK(str_eq(x->session_cookie, y->session_cookie));
		FUZZ_CHECK(x->secret_len == y->secret_len &&
		    (x->secret_len == 0 ||
		        memcmp(x->secret, y->secret, x->secret_len) == 0));
		FUZZ_CHECK(str_eq(x->token_url, y->token_url));
		FUZZ_CHECK(str_eq(x->jwks_url, y->jwks_url));
		FUZZ_CHECK(
		    auth_keyset_count(x->keys) == auth_keyset_count(y->keys));
		FUZZ_CHECK(x->forward == y->forward);
		FUZZ_CHECK((x->minter == NULL) == (y->minter == NULL));
		FUZZ_CHECK(x->refresh_before == y->refresh_before);
		FUZZ_CHECK(x->session_recheck == y->session_recheck);
		FUZZ_CHECK(x->jwks_refresh == y->jwks_refresh);
		FUZZ_CHECK(x->jwks_min_refresh == y->jwks_min_refresh);
		FUZZ_CHECK(str_eq(x->iss, y->iss) && str_eq(x->aud, y->aud));
		FUZZ_CHECK(str_eq(x->subject, y->subject));
		FUZZ_CHECK(x->policy.leeway == y->policy.leeway);
		FUZZ_CHECK(x->policy.exp_optional == y->policy.exp_optional);
		FUZZ_CHECK(x->n_keep_claims == y->n_keep_claims);
		for (k = 0; k < x->n_keep_claims; k++)
			FUZZ_CHECK(
			    str_eq(x->keep_claims[k], y->keep_claims[k]));
	}
	FUZZ_CHECK(a->n_routes == b->n_routes);
	for (i = 0; i < a->n_routes; i++) {
		const struct conf_route *x = &a->routes[i], *y = &b->routes[i];
		const struct auth_route *ax = auth_route_get(a->table, i);
		const struct auth_route *ay = auth_route_get(b->table, i);

		FUZZ_CHECK(
		    str_eq(x->pattern, y->pattern) && x->mode == y->mode);
		FUZZ_CHECK(
		    x->upstream == y->upstream && x->issuer == y->issuer);
		FUZZ_CHECK(str_eq(x->strip_prefix, y->strip_prefix));
		FUZZ_CHECK(x->pass_auth_cookies == y->pass_auth_cookies);
		FUZZ_CHECK(ax != NULL && ay != NULL);
		FUZZ_CHECK(ax->lit_case == ay->lit_case);
		FUZZ_CHECK(ax->n_rules == ay->n_rules &&
		    memcmp(ax->rules, ay->rules,
		        ax->n_rules * sizeof(ax->rules[0])) == 0);
	}
	FUZZ_CHECK(a->n_strip_headers == b->n_strip_headers);
	for (i = 0; i < a->n_strip_headers; i++)
		FUZZ_CHECK(str_eq(a->strip_headers[i], b->strip_headers[i]));
	FUZZ_CHECK(a->n_claim_headers == b->n_claim_headers);
	for (i = 0; i < a->n_claim_headers; i++)
		FUZZ_CHECK(str_eq(a->claim_header_claim[i],
		               b->claim_header_claim[i]) &&
		    str_eq(a->claim_header_name[i], b->claim_header_name[i]));
	FUZZ_CHECK(a->n_trusted == b->n_trusted &&
	    memcmp(a->trusted, b->trusted,
	        a->n_trusted * sizeof(a->trusted[0])) == 0);
	FUZZ_CHECK(a->n_cut_cookies == b->n_cut_cookies);
	for (i = 0; i < a->n_cut_cookies; i++)
		FUZZ_CHECK(str_eq(a->cut_cookies[i], b->cut_cookies[i]) &&
		    a->cut_chunked[i] == b->cut_chunked[i]);
	FUZZ_CHECK(a->n_csrf_origins == b->n_csrf_origins);
	for (i = 0; i < a->n_csrf_origins; i++)
		FUZZ_CHECK(str_eq(a->csrf_origins[i], b->csrf_origins[i]));
	FUZZ_CHECK(a->csrf_require_origin == b->csrf_require_origin);
	FUZZ_CHECK(str_eq(a->health_path, b->health_path));
	FUZZ_CHECK(str_eq(a->ready_path, b->ready_path));
	FUZZ_CHECK(a->access_log == b->access_log);
}

/* Serialises |path|, loads the text and checks it is the same conf, and
 * that serialising again changes nothing. */
static void
check_roundtrip(const struct conf *c)
{
	char err[ERR_LEN];
	char *t1, *t2;
	size_t n1, n2;
	struct conf *c2;
	FILE *f;

	t1 = conf_serialise(path, &n1);
	FUZZ_CHECK(t1 != NULL);
	f = fopen(path2, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(t1, 1, n1, f) == n1);
	fclose(f);
	c2 = conf_load(path2, err, sizeof(err));
	if (c2 == NULL)
		fprintf(stderr, "reload failed:\n%s\n--- serialised:\n%s\n",
		    err, t1);
	FUZZ_CHECK(c2 != NULL);
	check_same(c, c2);
	conf_free(c2);
	t2 = conf_serialise(path2, &n2);
	FUZZ_CHECK(t2 != NULL && n1 == n2 && memcmp(t1, t2, n1) == 0);
	conf_text_free(t1, n1);
	conf_text_free(t2, n2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char err[ERR_LEN + 1];
	struct conf *c;

	if (!ready) {
		setup();
		ready = true;
	}
	write_input(data, size);
	memset(err, 'x', sizeof(err));
	err[ERR_LEN] = '\0';
	c = conf_load(path, err, ERR_LEN);
	/* The message always ends inside the buffer it was given. */
	FUZZ_CHECK(memchr(err, '\0', ERR_LEN) != NULL);
	if (c == NULL) {
		FUZZ_CHECK(err[0] != '\0'); /* a failure says why */
		check_errors(err, data, size);
		return 0;
	}
	check_conf(c);
	check_roundtrip(c);
	conf_free(c);
	return 0;
}
