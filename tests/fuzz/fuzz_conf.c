/* SPDX-License-Identifier: MIT */
/* Fuzzes conf_load on hostile config files: clean failure or a consistent conf.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"

#define ERR_LEN 512

static char dir[64];
static char path[96];
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
		return 0;
	}
	check_conf(c);
	conf_free(c);
	return 0;
}
