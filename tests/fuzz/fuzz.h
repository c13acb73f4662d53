/* SPDX-License-Identifier: MIT */
/* Shared by the fuzz targets: the libFuzzer entry point and invariant checks.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant, checked in every build (never compiled out like assert()):
 * a violation prints where and aborts, which libFuzzer reports as a crash
 * and the replay runner as a failed test.
 */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
			    __FILE__, __LINE__, #cond);                        \
			abort();                                               \
		}                                                              \
	} while (0)

/* The view [p, p + n) is empty or lies entirely inside [buf, buf + len). */
static inline bool
fuzz_view_inside(const char *p, size_t n, const void *buf, size_t len)
{
	const char *b = buf;

	if (n == 0)
		return true;
	return p >= b && n <= len && (size_t)(p - b) <= len - n;
}

static inline bool
fuzz_status_valid(enum auth_status s)
{
	return (int)s >= 0 && s < AUTH_STATUS_MAX;
}

/* The value of hex digit |c|, or -1: for the oracles, which decode %XX
 * without auth/'s code so that they check it rather than repeat it. */
static inline int
fuzz_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A heap copy of the input, exactly |size| bytes (no NUL), so ASan sees
 * any read past its end. NULL for size 0 is fine for the callers. */
static inline char *
fuzz_dup(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);

	if (p == NULL)
		abort();
	for (size_t i = 0; i < size; i++)
		p[i] = (char)data[i];
	return p;
}

#endif /* TESTS_FUZZ_FUZZ_H */
