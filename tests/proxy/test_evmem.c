/* SPDX-License-Identifier: MIT */
/* Tests for proxy/evmem.c: sizes across every class boundary, alignment,
 * realloc keeping the bytes, reuse within a thread, the byte budget,
 * frees across threads and a thread's exit. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evmem.h"
#include "../unit/tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define CACHED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CACHED 0
#endif
#endif
#ifndef CACHED
#define CACHED 1
#endif

/* Every size from 0 to past the largest class, near each power of two. */
static void
test_sizes(void)
{
	bool aligned = true, kept = true;
	size_t shift, d;

	for (shift = 0; shift <= 17; shift++)
		for (d = 0; d < 40; d++) {
			size_t n = ((size_t)1 << shift) + d - 20;
			unsigned char *p;

			if (n > ((size_t)1 << 17) + 64)
				continue;
			if ((p = evmem_malloc(n)) == NULL) {
				kept = false;
				continue;
			}
			if ((uintptr_t)p % 16 != 0)
				aligned = false;
			memset(p, 0xa5, n); /* the whole size is ours */
			if (n > 0 && (p[0] != 0xa5 || p[n - 1] != 0xa5))
				kept = false;
			evmem_free(p);
		}
	ok(aligned, "every block 16-byte aligned, at every size");
	ok(kept, "every size from 0 to 128 KiB written end to end");
	{
		size_t before = evmem_thread_kept();

		evmem_free(NULL);
		is_int(evmem_thread_kept(), before,
		    "free(NULL) keeps nothing and does not crash");
	}
}

static void
test_realloc(void)
{
	unsigned char *p = evmem_realloc(NULL, 10), *q;
	bool same = true;
	size_t i, n;

	ok(p != NULL, "realloc(NULL) allocates");
	for (i = 0; i < 10; i++)
		p[i] = (unsigned char)i;
	/* grow through every class and into plain malloc, then shrink */
	for (n = 20; n <= (size_t)1 << 17; n *= 3) {
		if ((q = evmem_realloc(p, n)) == NULL)
			break;
		p = q;
		for (i = 0; i < 10; i++)
			if (p[i] != (unsigned char)i)
				same = false;
	}
	ok(same, "realloc keeps the first bytes while growing past 128 KiB");
	q = evmem_realloc(p, 5);
	ok(q != NULL && q[4] == 4, "realloc to fewer bytes keeps them");
	evmem_free(q);
}

static void
test_reuse(void)
{
	void *a = evmem_malloc(4000), *b;

	evmem_free(a);
	b = evmem_malloc(4096 - 16);
	if (CACHED)
		ok(a == b, "a freed block of a class is the next one given");
	else
		ok(b != NULL, "sanitizer build: blocks are not kept");
	evmem_free(b);
}

/* libevent asks for whole powers of two (a chain is rounded up with its
 * header inside: a 16 KiB read reservation asks for 32 KiB). Each such
 * size, up to the largest class, is kept and given back, not passed to
 * malloc because the block's own header would not fit. */
static void
test_pow2_kept(void)
{
	bool all = true, same = true;
	size_t shift;

	evmem_thread_release(); /* so each allocation below is a new block */
	for (shift = 6; shift <= 15; shift++) {
		void *a = evmem_malloc((size_t)1 << shift), *b;

		evmem_free(a);
		if (evmem_thread_kept() != (CACHED ? 1 : 0))
			all = false;
		b = evmem_malloc((size_t)1 << shift);
		if (CACHED && a != b)
			same = false;
		evmem_free(b);
		evmem_thread_release();
	}
	ok(all, "every power of two from 64 B to 32 KiB is kept when freed");
	ok(same, "and the next allocation of that size takes it back");
}

/* A worker with about a thousand busy connections frees about a thousand
 * 32 KiB read chains at the end of a loop pass: all are kept for the next
 * pass, and past the budget frees go back to malloc. */
static void
test_budget(void)
{
	size_t fit = EVMEM_KEEP_BYTES / 32768, n = fit + 40, i;
	void **v = calloc(n, sizeof(*v));
	bool all = v != NULL;

	evmem_thread_release();
	for (i = 0; all && i < n; i++)
		if ((v[i] = evmem_malloc(32768)) == NULL)
			all = false;
	ok(all, "%zu blocks of 32 KiB", n);
	for (i = 0; all && i < 1000; i++)
		evmem_free(v[i]);
	is_int(evmem_thread_kept(), CACHED ? 1000 : 0,
	    "the first 1000 freed are all kept (sanitizer build: none)");
	for (; all && i < n; i++)
		evmem_free(v[i]);
	is_int(evmem_thread_kept(), CACHED ? fit : 0,
	    "frees past %zu MiB go back to malloc", EVMEM_KEEP_BYTES >> 20);
	evmem_thread_release();
	is_int(evmem_thread_kept(), 0, "released");
	free(v);
}

#define N_BLOCKS 200

static void *blocks[N_BLOCKS];
static size_t freer_kept; /* what the freeing thread kept before exit */

static void *
alloc_thread(void *arg)
{
	size_t i;

	(void)arg;
	for (i = 0; i < N_BLOCKS; i++)
		blocks[i] = evmem_malloc(64 + i * 40);
	return NULL;
}

static void *
free_thread(void *arg)
{
	size_t i;

	(void)arg;
	for (i = 0; i < N_BLOCKS; i++)
		evmem_free(blocks[i]);
	/* what it keeps goes with it: the key's destructor frees it */
	freer_kept = evmem_thread_kept();
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t;
	bool all = true;
	size_t i;

	ok(pthread_create(&t, NULL, alloc_thread, NULL) == 0 &&
	        pthread_join(t, NULL) == 0,
	    "a thread allocates");
	for (i = 0; i < N_BLOCKS; i++)
		if (blocks[i] == NULL)
			all = false;
	ok(all, "%d blocks made", N_BLOCKS);
	ok(pthread_create(&t, NULL, free_thread, NULL) == 0 &&
	        pthread_join(t, NULL) == 0,
	    "another thread frees them and exits");
	if (CACHED)
		ok(freer_kept > 0 && freer_kept <= N_BLOCKS,
		    "the freeing thread kept some of them (%zu)", freer_kept);
	else
		is_int(freer_kept, 0, "sanitizer build: nothing kept");
	evmem_thread_release();
	is_int(evmem_thread_kept(), 0, "this thread's kept blocks released");
}

int
main(void)
{
	test_sizes();
	test_pow2_kept();
	test_budget();
	test_realloc();
	test_reuse();
	test_threads();
	return tap_done();
}
