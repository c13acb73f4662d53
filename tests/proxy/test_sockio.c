/* SPDX-License-Identifier: MIT */
/* Tests for proxy/sockio.h on real loopback TCP sockets (plain; TLS is
 * the integration suite's): every byte arrives once and in order through
 * send and writev, partial writes leave the rest queued, a write to a
 * closed peer fails without SIGPIPE, and a read tells data, nothing, a
 * FIN and a reset apart. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "sockio.h"
#include "../unit/tap.h"

/* A connected pair on 127.0.0.1: |a| non-blocking (the side under test),
 * |b| blocking (the peer). Returns 0, or -1 when the loopback refuses. */
static int
tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int l, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &sl) == -1 ||
	    (*a = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		close(l);
		return -1;
	}
	if (connect(*a, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (*b = accept(l, NULL, NULL)) == -1) {
		close(*a);
		close(l);
		return -1;
	}
	close(l);
	(void)setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)fcntl(*a, F_SETFL, fcntl(*a, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* The byte at offset |i| of every test stream. */
static unsigned char
pat(size_t i)
{
	return (unsigned char)((i * 131u + (i >> 8)) & 0xff);
}

/* Queues |len| pattern bytes from |off| on |out| as pieces of |piece|
 * bytes, each its own chain (added by reference from another buffer, so
 * libevent cannot fold them into one). */
static unsigned char *pool;
static void
queue(struct evbuffer *out, size_t off, size_t len, size_t piece)
{
	while (len > 0) {
		size_t n = len < piece ? len : piece;

		evbuffer_add_reference(out, pool + off, n, NULL, NULL);
		off += n;
		len -= n;
	}
}

/* Reads exactly |len| bytes from blocking |fd| and checks them against
 * the pattern from |off|. Returns how many matched before a difference
 * (|len| when all did). */
static size_t
drain_check(int fd, size_t off, size_t len)
{
	unsigned char buf[65536];
	size_t got = 0, good = 0;
	bool same = true;

	while (got < len) {
		size_t want = len - got < sizeof(buf) ? len - got : sizeof(buf);
		ssize_t r = read(fd, buf, want);
		size_t i;

		if (r <= 0)
			break;
		for (i = 0; i < (size_t)r; i++) {
			if (same && buf[i] == pat(off + got + i))
				good++;
			else
				same = false;
		}
		got += (size_t)r;
	}
	return good;
}

/* One table row: |len| bytes in pieces of |piece|, written with one
 * sockio_write (the socket takes it all: these fit its buffer). */
struct wcase {
	const char *name;
	size_t len, piece;
};

static const struct wcase wcases[] = {
    {"one chain, 10 bytes (send)", 10, 10},
    {"head and small body, two chains (gathered, send)", 300, 200},
    {"SOCKIO_SEND_MAX in three chains (send)", SOCKIO_SEND_MAX, 1500},
    {"SOCKIO_SEND_MAX + 1 in three chains (writev)", SOCKIO_SEND_MAX + 1, 1500},
    {"64 KiB in 4 KiB chains (writev)", 65536, 4096},
    {"one byte", 1, 1},
};

static void
test_write_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(wcases) / sizeof(wcases[0]); i++) {
		const struct wcase *c = &wcases[i];
		struct evbuffer *out = evbuffer_new();
		bool wr = false;
		ssize_t n;
		int a, b;

		if (out == NULL || tcp_pair(&a, &b) == -1) {
			ok(0, "%s: setup", c->name);
			continue;
		}
		queue(out, 0, c->len, c->piece);
		n = sockio_write(a, NULL, out, false, &wr);
		is_int(n, (ssize_t)c->len, "%s: all written at once", c->name);
		is_int(evbuffer_get_length(out), 0, "%s: nothing left",
		    c->name);
		is_int(drain_check(b, 0, c->len), c->len,
		    "%s: the peer reads every byte in order", c->name);
		ok(!wr, "%s: no TLS wait reported", c->name);
		evbuffer_free(out);
		close(a);
		close(b);
	}
}

/* More than the socket takes: one call writes until it is full (or once
 * without |until_full|), the rest stays queued in order, and later calls
 * finish the stream. */
static void
test_partial(bool until_full)
{
	const size_t len = 8u << 20;
	struct evbuffer *out = evbuffer_new();
	size_t written = 0, checked = 0;
	bool wr = false, in_order = true;
	ssize_t n;
	int a, b, rounds = 0;

	if (out == NULL || tcp_pair(&a, &b) == -1) {
		ok(0, "partial: setup");
		return;
	}
	queue(out, 0, len, 3000);
	n = sockio_write(a, NULL, out, until_full, &wr);
	ok(n > 0 && (size_t)n < len,
	    "8 MiB, until_full=%d: the first call writes part (%zd bytes)",
	    until_full, n);
	is_int(evbuffer_get_length(out), len - (size_t)(n > 0 ? n : 0),
	    "until_full=%d: what was not written is still queued", until_full);
	if (until_full)
		is_int(sockio_write(a, NULL, out, true, &wr), 0,
		    "until_full=1: a full socket takes nothing more");
	written = len - evbuffer_get_length(out);
	/* The peer reads what went out, checking it; the writer goes on. */
	while (rounds++ < 100000) {
		size_t k = written - checked;

		if (drain_check(b, checked, k) != k)
			in_order = false;
		checked = written;
		if (evbuffer_get_length(out) == 0 || !in_order)
			break;
		if ((n = sockio_write(a, NULL, out, until_full, &wr)) < 0)
			break;
		written += (size_t)n;
	}
	ok(evbuffer_get_length(out) == 0 && written == len,
	    "until_full=%d: the rest goes out in later calls", until_full);
	ok(in_order && checked == len,
	    "until_full=%d: all 8 MiB arrive, in order", until_full);
	evbuffer_free(out);
	close(a);
	close(b);
}

/* A write toward a peer that reset the connection fails: -1, and no
 * SIGPIPE (the caller runs with the default action here, which would end
 * the test). */
static void
test_write_closed(size_t len, const char *path)
{
	struct linger lg = {1, 0};
	struct evbuffer *out = evbuffer_new();
	bool wr = false;
	ssize_t n = 0;
	int a, b, i;

	if (out == NULL || tcp_pair(&a, &b) == -1) {
		ok(0, "closed peer: setup");
		return;
	}
	(void)setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(b); /* a reset */
	usleep(20000);
	/* The first write after a reset reports it (ECONNRESET); the next
	 * ones meet a dead socket (EPIPE), which is where SIGPIPE comes. */
	for (i = 0; i < 3; i++) {
		evbuffer_drain(out, evbuffer_get_length(out));
		queue(out, 0, len, 1000);
		n = sockio_write(a, NULL, out, false, &wr);
	}
	is_int(n, -1, "writes (%s) to a reset peer fail, with no SIGPIPE",
	    path);
	evbuffer_free(out);
	close(a);
}

static void
test_read(void)
{
	static const struct sockio_rlim lim = {
	    .chunk = SOCKIO_READ_BYTES,
	    .tls_want = 0,
	    .tls_in_max = 0,
	    .tls_err_after_data = false,
	};
	struct evbuffer *in = evbuffer_new();
	struct linger lg = {1, 0};
	unsigned char *p;
	bool ww = false;
	size_t total = 0, calls = 0, most = 0, tries = 0;
	enum sockio_rd rd = SOCKIO_NONE;
	int a, b;

	if (in == NULL || tcp_pair(&a, &b) == -1) {
		ok(0, "read: setup");
		return;
	}
	is_int(sockio_read(a, NULL, in, &lim, &ww), SOCKIO_NONE,
	    "read: nothing sent yet is SOCKIO_NONE");
	is_int(write(b, pool, 100), 100, "read: the peer sends 100 bytes");
	usleep(20000);
	is_int(sockio_read(a, NULL, in, &lim, &ww), SOCKIO_DATA,
	    "read: 100 bytes is SOCKIO_DATA");
	is_int(evbuffer_get_length(in), 100, "read: all 100 are in the input");
	is_int(sockio_read(a, NULL, in, &lim, &ww), SOCKIO_NONE,
	    "read: then SOCKIO_NONE again");
	/* More than one reservation: several reads, none over the chunk by
	 * more than libevent's rounding, and the bytes in order. */
	evbuffer_drain(in, evbuffer_get_length(in));
	is_int(write(b, pool, 100000), 100000, "read: the peer sends 100000");
	usleep(50000);
	while (total < 100000 && tries++ < 2000) {
		rd = sockio_read(a, NULL, in, &lim, &ww);
		if (rd == SOCKIO_NONE) {
			usleep(2000); /* the rest is still on its way */
			continue;
		}
		if (rd != SOCKIO_DATA)
			break;
		calls++;
		if (evbuffer_get_length(in) - total > most)
			most = evbuffer_get_length(in) - total;
		total = evbuffer_get_length(in);
	}
	is_int(total, 100000, "read: 100000 bytes arrive");
	ok(calls >= 100000 / 16384 + 1 && most <= 16384,
	    "read: in several reads of at most 16 KiB (%zu, the largest %zu)",
	    calls, most);
	p = evbuffer_pullup(in, -1);
	ok(p != NULL && memcmp(p, pool, 100000) == 0, "read: in order");
	ok(!ww, "read: no TLS wait reported");
	shutdown(b, SHUT_WR);
	usleep(20000);
	is_int(sockio_read(a, NULL, in, &lim, &ww), SOCKIO_EOF,
	    "read: a FIN is SOCKIO_EOF");
	close(a);
	close(b);

	if (tcp_pair(&a, &b) == -1) {
		ok(0, "read reset: setup");
		evbuffer_free(in);
		return;
	}
	(void)setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(b);
	usleep(20000);
	is_int(sockio_read(a, NULL, in, &lim, &ww), SOCKIO_ERR,
	    "read: a reset is SOCKIO_ERR");
	close(a);
	evbuffer_free(in);
}

int
main(void)
{
	size_t i;

	if ((pool = malloc(8u << 20)) == NULL)
		return 1;
	for (i = 0; i < (8u << 20); i++)
		pool[i] = pat(i);
	/* before SIGPIPE is ignored: send must not raise it */
	test_write_closed(100, "send");
	signal(SIGPIPE, SIG_IGN);
	test_write_closed(SOCKIO_SEND_MAX * 4, "writev");
	test_write_table();
	test_partial(true);
	test_partial(false);
	test_read();
	free(pool);
	return tap_done();
}
