/* SPDX-License-Identifier: MIT */
/* libevent's allocator (event_set_mem_functions): per-thread free lists of
 * power-of-two blocks, so buffer chains are not a glibc round trip each. */
#ifndef PROXY_EVMEM_H
#define PROXY_EVMEM_H

#include <stddef.h>

/* What one thread keeps at most in its lists, in bytes of block capacity:
 * about two thousand 16 KiB read chains (evmem.c says why). */
#define EVMEM_KEEP_BYTES ((size_t)32 << 20)

/* malloc, realloc and free with libevent's contract: blocks from one are
 * only ever given to the others. Any thread may call them. */
void *evmem_malloc(size_t n);
void *evmem_realloc(void *p, size_t n);
void evmem_free(void *p);

/* Frees the calling thread's kept blocks now (its exit does it too). */
void evmem_thread_release(void);

/* Blocks the calling thread keeps for reuse (always 0 in sanitizer
 * builds). */
size_t evmem_thread_kept(void);

#endif
