/* SPDX-License-Identifier: MIT */
/* Reads and writes of a non-blocking connection, plain or TLS, between
 * its socket and its evbuffers: one recv, or one send or writev, per call
 * for a plain socket, and SSL_read/SSL_write with what TLS waits for
 * reported back.
 * Inline: they run on every request, and each caller passes constants
 * (its read limits) that fold away what it does not use. */
#ifndef PROXY_SOCKIO_H
#define PROXY_SOCKIO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define SOCKIO_TLS_WRITE_MAX 16384 /* one TLS record's worth per SSL_write */

/* Up to this many queued bytes (a head and a small body: two chains) are
 * copied together and sent with send(); more go out with writev(). On
 * the VM this was measured on, the copy took about 0.15 us for 4 KiB and
 * writev's path cost about 0.25 us a call more than send's (perf). */
#define SOCKIO_SEND_MAX 4096

/* One read's reservation, client or upstream. libevent sizes a new chain
 * as its 48-byte header plus the bytes asked for, rounded up to a power
 * of two: 16 KiB less 64 is one 16 KiB block, where 16 KiB would take
 * 32 KiB (twice the memory for every buffer a loop pass holds). */
#define SOCKIO_READ_BYTES (16384 - 64)

/* What a read did. */
enum sockio_rd {
	SOCKIO_NONE, /* nothing to read now */
	SOCKIO_DATA, /* bytes were added to the input */
	SOCKIO_EOF,  /* the peer closed */
	SOCKIO_ERR   /* a reset, a TLS failure, or no memory */
};

/* How much one read takes, and what it reports, per caller. */
struct sockio_rlim {
	size_t chunk; /* bytes reserved for each recv or SSL_read */
	/* TLS: SSL_read again, even with no decrypted record pending (then
	 * until the socket is empty), while fewer bytes than this came */
	size_t tls_want;
	/* TLS: SSL_read again while a decrypted record is pending and the
	 * input holds less than this: a record left behind in the TLS
	 * layer would never wake epoll again */
	size_t tls_in_max;
	/* TLS: an error after some bytes reports SOCKIO_DATA (the next
	 * read meets the failure again) instead of SOCKIO_ERR */
	bool tls_err_after_data;
};

/*
 * Reads from |fd| (through |ssl| when not NULL) into |in|: for a plain
 * socket one recv into |lim|->chunk contiguous bytes of reserved space
 * (no FIONREAD first); for TLS, SSL_read into reserved space as |lim|
 * says. Sets |*wants_write| when TLS must write before it can read on
 * (the caller waits for EV_WRITE), and leaves it alone otherwise.
 */
static inline enum sockio_rd
sockio_read(int fd, SSL *ssl, struct evbuffer *in,
    const struct sockio_rlim *lim, bool *wants_write)
{
	struct evbuffer_iovec v[1];
	size_t got = 0;
	int nv;
	ssize_t r;

	if (ssl == NULL) {
		/* One contiguous region and recv(), not readv(): the kernel
		 * then copies no iovec in and goes straight to the socket
		 * (sys_recvfrom instead of vfs_readv's checks). */
		nv = evbuffer_reserve_space(in, (ev_ssize_t)lim->chunk, v, 1);
		if (nv < 1)
			return SOCKIO_ERR;
		r = recv(fd, v[0].iov_base, v[0].iov_len, 0);
		if (r > 0) {
			v[0].iov_len = (size_t)r;
			evbuffer_commit_space(in, v, 1);
			return SOCKIO_DATA;
		}
		evbuffer_commit_space(in, v, 0);
		if (r == 0)
			return SOCKIO_EOF;
		return errno == EAGAIN || errno == EINTR ? SOCKIO_NONE
		                                         : SOCKIO_ERR;
	}
	do {
		int n;

		nv = evbuffer_reserve_space(in, (ev_ssize_t)lim->chunk, v, 1);
		if (nv < 1)
			return SOCKIO_ERR;
		ERR_clear_error();
		n = SSL_read(ssl, v[0].iov_base, (int)v[0].iov_len);
		if (n > 0) {
			v[0].iov_len = (size_t)n;
			evbuffer_commit_space(in, v, 1);
			got += (size_t)n;
			continue;
		}
		evbuffer_commit_space(in, v, 0);
		switch (SSL_get_error(ssl, n)) {
		case SSL_ERROR_WANT_READ:
			return got > 0 ? SOCKIO_DATA : SOCKIO_NONE;
		case SSL_ERROR_WANT_WRITE:
			*wants_write = true;
			return got > 0 ? SOCKIO_DATA : SOCKIO_NONE;
		case SSL_ERROR_ZERO_RETURN:
			return got > 0 ? SOCKIO_DATA : SOCKIO_EOF;
		case SSL_ERROR_SYSCALL:
			/* A close without close_notify (RFC 8446 §6.1) reads
			 * as a FIN: no framing of ours relies on the close,
			 * and a close-delimited upstream body is never
			 * pooled. */
			if (errno == 0 || errno == EPIPE)
				return got > 0 ? SOCKIO_DATA : SOCKIO_EOF;
			break;
		default:
			break;
		}
		return got > 0 && lim->tls_err_after_data ? SOCKIO_DATA
		                                          : SOCKIO_ERR;
	} while (got < lim->tls_want ||
	    (SSL_pending(ssl) > 0 &&
	        evbuffer_get_length(in) < lim->tls_in_max));
	return SOCKIO_DATA;
}

/*
 * Writes |out| to |fd| (through |ssl| when not NULL) and drains what went
 * out. A plain socket gets one send (up to SOCKIO_SEND_MAX bytes) or one
 * writev, and with |plain_until_full| another after a short one, until
 * |out| is empty or the socket takes no more.
 * TLS writes records of up to SOCKIO_TLS_WRITE_MAX bytes, each everything
 * queued up to that size, until |out| is empty or TLS waits; it sets
 * |*wants_read| when TLS must read before it can write on. Returns the
 * bytes written (0 when the socket took nothing), or -1 on failure.
 */
static inline ssize_t
sockio_write(int fd, SSL *ssl, struct evbuffer *out, bool plain_until_full,
    bool *wants_read)
{
	ssize_t total = 0;

	while (evbuffer_get_length(out) > 0) {
		size_t len = evbuffer_get_length(out);
		unsigned char *p;
		int n;

		if (ssl == NULL) {
			ssize_t w;

			if (len <= SOCKIO_SEND_MAX) {
				/* Gathered into one region (no copy when it
				 * already is one) and sent with send(): no
				 * iovec to copy in, no vfs_writev checks. */
				p = evbuffer_pullup(out, (ev_ssize_t)len);
				if (p == NULL)
					return -1;
				w = send(fd, p, len, MSG_NOSIGNAL);
				if (w > 0)
					evbuffer_drain(out, (size_t)w);
			} else {
				w = evbuffer_write(out, fd);
			}
			if (w < 0)
				return errno == EAGAIN || errno == EINTR ? total
				                                         : -1;
			total += w;
			if (!plain_until_full)
				return total;
			continue;
		}
		/* One record carries everything queued, up to a full record:
		 * a head and a small body written as two records are two
		 * segments, and the second waits for the peer's delayed ACK
		 * (40 ms per request). */
		if (len > SOCKIO_TLS_WRITE_MAX)
			len = SOCKIO_TLS_WRITE_MAX;
		if ((p = evbuffer_pullup(out, (ev_ssize_t)len)) == NULL)
			return -1;
		ERR_clear_error();
		n = SSL_write(ssl, p, (int)len);
		if (n > 0) {
			evbuffer_drain(out, (size_t)n);
			total += n;
			continue;
		}
		switch (SSL_get_error(ssl, n)) {
		case SSL_ERROR_WANT_WRITE:
			return total;
		case SSL_ERROR_WANT_READ:
			*wants_read = true;
			return total;
		default:
			return -1;
		}
	}
	return total;
}

#endif /* PROXY_SOCKIO_H */
