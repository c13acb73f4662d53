/* SPDX-License-Identifier: MIT */
/* Parser inputs placed flush against a PROT_NONE page, so any over-read faults
 * (picohttpparser's test.c). */
#ifndef TESTS_GUARD_H
#define TESTS_GUARD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD_MAX 65536 /* largest input one guard area holds */

struct guard {
	char *base; /* GUARD_MAX bytes rounded to pages, then PROT_NONE */
	size_t size;
};

/* Maps the area and its PROT_NONE page; exits on failure. */
static void
guard_init(struct guard *g)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	g->size = (GUARD_MAX + page - 1) / page * page;
	g->base = mmap(NULL, g->size + page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->base == MAP_FAILED ||
	    mprotect(g->base + g->size, page, PROT_NONE) != 0) {
		perror("guard_init");
		exit(2);
	}
}

/* Copies |len| bytes of |s| so that they end at the guard page; returns
 * the copy, valid until the next guard_put on |g|. */
static const char *
guard_put(struct guard *g, const char *s, size_t len)
{
	char *p;

	if (len > g->size) {
		fprintf(stderr, "guard_put: %zu bytes is too large\n", len);
		exit(2);
	}
	p = g->base + g->size - len;
	if (len > 0)
		memcpy(p, s, len);
	return p;
}

#endif /* TESTS_GUARD_H */
