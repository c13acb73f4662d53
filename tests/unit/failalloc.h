/* SPDX-License-Identifier: MIT */
/* A countdown allocator for OOM-loop tests: fails the Nth allocation made
 * through OpenSSL (CRYPTO_set_mem_functions) or jansson (json_set_alloc_funcs).
 */
#ifndef TESTS_FAILALLOC_H
#define TESTS_FAILALLOC_H

#include <stdlib.h>

static long alloc_countdown = -1; /* fail when it reaches 0; -1: never */
static long alloc_failed;
static int fail_ossl, fail_json; /* which allocator the countdown covers */

static int
alloc_should_fail(void)
{
	if (alloc_countdown < 0)
		return 0;
	if (alloc_countdown-- == 0) {
		alloc_failed++;
		return 1;
	}
	return 0;
}

static void *
t_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return fail_ossl && alloc_should_fail() ? NULL : malloc(n);
}

static void *
t_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return fail_ossl && alloc_should_fail() ? NULL : realloc(p, n);
}

static void
t_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static void *
j_malloc(size_t n)
{
	return fail_json && alloc_should_fail() ? NULL : malloc(n);
}

#endif /* TESTS_FAILALLOC_H */
