/* SPDX-License-Identifier: MIT */
/* libevent's allocator: per-thread free lists of power-of-two blocks. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evmem.h"

/*
 * Why: every proxied request makes libevent allocate and free four or five
 * buffer chains of 1 to 32 KiB (a drained chain is freed at once). glibc
 * serves those sizes from its bins, not its per-thread cache (which stops
 * at 1 KiB): about 3,800 instructions a request, a tenth of the daemon's
 * own work. Here a freed block goes to its thread's list for its size
 * class and the next allocation of that class takes it back in a few
 * instructions.
 *
 * A class holds a power of two of bytes, not a power of two less the
 * header: libevent rounds a chain up to a power of two itself (a 16 KiB
 * read reservation plus the chain's header asks for 32 KiB), so classes
 * one header short would send every such chain to the next class, or past
 * the largest one to plain malloc. Each block has a 16-byte header before
 * the bytes handed out, holding its class, so free and realloc know its
 * size; the pointer handed out stays 16-byte aligned, as malloc's.
 *
 * Lists are bounded by bytes (EVMEM_KEEP_BYTES a thread), not by blocks a
 * class: a worker with N busy connections has up to N read chains alive in
 * one loop pass (each response's chain waits for the client write at the
 * end of the pass) and frees them together. With 64 blocks a class the
 * rest went back to glibc every pass, which trimmed its heap (madvise) and
 * faulted the pages back in, zeroed, in the next: 0.6 page faults a
 * request at 128 connections, 1.1 at 1,024, 5 to 7 us of kernel time a
 * request there. The budget holds about two thousand 16 KiB read chains
 * (SOCKIO_READ_BYTES); only touched pages are resident (a small response
 * touches one page of its chain). The lists are freed when the thread
 * exits. A block freed by another thread than the one that made it joins
 * the freeing thread's list: it is only memory. Sizes over the largest
 * class go to malloc.
 *
 * Sanitizer builds keep no list: every block is freed at once, so
 * AddressSanitizer still sees each use after free in libevent's objects.
 */

#define EVMEM_MIN_SHIFT 6  /* 64 bytes after the header */
#define EVMEM_MAX_SHIFT 15 /* 32 KiB after the header */
#define EVMEM_NCLS (EVMEM_MAX_SHIFT - EVMEM_MIN_SHIFT + 1)
#define EVMEM_BIG EVMEM_NCLS /* the class of a block from plain malloc */
#define EVMEM_HDR 16

#if defined(__SANITIZE_ADDRESS__)
#define EVMEM_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EVMEM_CACHE 0
#endif
#endif
#ifndef EVMEM_CACHE
#define EVMEM_CACHE 1
#endif

struct hdr {
	size_t cls;
	size_t size; /* bytes asked for (the big class only) */
};

struct free_blk {
	struct free_blk *next;
};

struct lists {
	struct free_blk *head[EVMEM_NCLS];
	size_t bytes; /* the class capacities of every kept block */
};

static _Thread_local struct lists tl;
static _Thread_local bool tl_keyed; /* the thread's destructor is set */
static pthread_key_t lists_key;
static pthread_once_t lists_once = PTHREAD_ONCE_INIT;
static bool lists_key_ok;

static void
lists_drain(struct lists *l)
{
	size_t c;

	for (c = 0; c < EVMEM_NCLS; c++) {
		while (l->head[c] != NULL) {
			struct free_blk *b = l->head[c];

			l->head[c] = b->next;
			free(b);
		}
	}
	l->bytes = 0;
}

static void
lists_dtor(void *arg)
{
	lists_drain(arg);
}

static void
lists_key_make(void)
{
	lists_key_ok = pthread_key_create(&lists_key, lists_dtor) == 0;
}

/* The class of a block holding |n| bytes after its header, or EVMEM_BIG:
 * the power of two at or above n, counted from the smallest. */
static size_t
class_of(size_t n)
{
	size_t bits;

	if (n > ((size_t)1 << EVMEM_MAX_SHIFT))
		return EVMEM_BIG;
	if (n <= ((size_t)1 << EVMEM_MIN_SHIFT))
		return 0;
	bits = (size_t)(64 - __builtin_clzll((unsigned long long)(n - 1)));
	return bits - EVMEM_MIN_SHIFT;
}

/* The bytes a block of class |c| holds after its header. */
static size_t
class_cap(size_t c)
{
	return (size_t)1 << (EVMEM_MIN_SHIFT + c);
}

void *
evmem_malloc(size_t n)
{
	size_t c = class_of(n);
	struct hdr *h;

	if (c == EVMEM_BIG) {
		if (n > SIZE_MAX - EVMEM_HDR ||
		    (h = malloc(EVMEM_HDR + n)) == NULL)
			return NULL;
		h->size = n;
	} else if (tl.head[c] != NULL) {
		struct free_blk *b = tl.head[c];

		tl.head[c] = b->next;
		tl.bytes -= class_cap(c);
		h = (struct hdr *)(void *)b;
	} else if ((h = malloc(EVMEM_HDR + class_cap(c))) == NULL) {
		return NULL;
	}
	h->cls = c;
	return (char *)h + EVMEM_HDR;
}

void
evmem_free(void *p)
{
	struct hdr *h;
	size_t c;

	if (p == NULL)
		return;
	h = (struct hdr *)(void *)((char *)p - EVMEM_HDR);
	c = h->cls;
	if (!EVMEM_CACHE || c >= EVMEM_NCLS ||
	    tl.bytes + class_cap(c) > EVMEM_KEEP_BYTES) {
		free(h);
		return;
	}
	if (!tl_keyed) {
		/* the first block kept by this thread: have the thread's
		 * exit free its lists */
		(void)pthread_once(&lists_once, lists_key_make);
		if (!lists_key_ok || pthread_setspecific(lists_key, &tl) != 0) {
			free(h);
			return;
		}
		tl_keyed = true;
	}
	((struct free_blk *)(void *)h)->next = tl.head[c];
	tl.head[c] = (struct free_blk *)(void *)h;
	tl.bytes += class_cap(c);
}

void *
evmem_realloc(void *p, size_t n)
{
	struct hdr *h;
	size_t have;
	void *q;

	if (p == NULL)
		return evmem_malloc(n);
	h = (struct hdr *)(void *)((char *)p - EVMEM_HDR);
	have = h->cls == EVMEM_BIG ? h->size : class_cap(h->cls);
	if (h->cls != EVMEM_BIG && n <= have)
		return p; /* the block already holds it */
	if ((q = evmem_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, have < n ? have : n);
	evmem_free(p);
	return q;
}

void
evmem_thread_release(void)
{
	lists_drain(&tl);
}

size_t
evmem_thread_kept(void)
{
	const struct free_blk *b;
	size_t c, n = 0;

	/* for tests: a walk, so the lists keep no count of their own */
	for (c = 0; c < EVMEM_NCLS; c++)
		for (b = tl.head[c]; b != NULL; b = b->next)
			n++;
	return n;
}
