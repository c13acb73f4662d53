/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD into wrk for scripts/bench's TLS handshake rows: every
 * connection makes a full handshake, and the handshakes are counted.
 *
 * wrk keeps one SSL object per connection slot and, when the server
 * closes, reconnects with SSL_shutdown and SSL_clear, which keep the
 * session: the next SSL_connect offers it and the server resumes it (an
 * abbreviated handshake, RFC 8446 §2.2, RFC 5246 §7.3), so without this
 * shim "one request per connection" measured resumptions. Here the
 * session is dropped after SSL_clear, and each SSL_connect that completes
 * is counted, as full or resumed. At exit, "full resumed\n" is appended
 * to the file named by FULLHS_COUNT (when set). FULLHS_KEEP=1 keeps the
 * sessions (wrk as it is, counted only).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

typedef int (*ssl_fn)(SSL *);

static atomic_ulong n_full, n_resumed;
static ssl_fn real_clear, real_connect; /* set before main() */
static int keep;

/* libssl's own |name| (ISO C has no cast from dlsym's object pointer to a
 * function pointer: the bytes are copied). */
static ssl_fn
next_fn(const char *name)
{
	void *sym = dlsym(RTLD_NEXT, name);
	ssl_fn f;

	if (sym == NULL)
		abort();
	memcpy(&f, &sym, sizeof(f));
	return f;
}

__attribute__((constructor)) static void
fullhs_init(void)
{
	const char *k = getenv("FULLHS_KEEP");

	real_clear = next_fn("SSL_clear");
	real_connect = next_fn("SSL_connect");
	keep = k != NULL && strcmp(k, "1") == 0;
}

int
SSL_clear(SSL *s)
{
	int r;

	r = real_clear(s);
	if (r == 1 && !keep && SSL_set_session(s, NULL) != 1)
		return 0;
	return r;
}

int
SSL_connect(SSL *s)
{
	int r;

	r = real_connect(s);
	if (r == 1)
		atomic_fetch_add(SSL_session_reused(s) ? &n_resumed : &n_full,
		    1);
	return r;
}

__attribute__((destructor)) static void
fullhs_report(void)
{
	const char *path = getenv("FULLHS_COUNT");
	char line[64];
	int fd, n;

	if (path == NULL || *path == '\0')
		return;
	n = snprintf(line, sizeof(line), "%lu %lu\n", atomic_load(&n_full),
	    atomic_load(&n_resumed));
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		return;
	if (write(fd, line, (size_t)n) != n)
		(void)0; /* a short count: the bench reports what it reads */
	(void)close(fd);
}
