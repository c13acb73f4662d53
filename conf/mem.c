/* SPDX-License-Identifier: MIT */
/* The loader's one allocator: a test can fail any allocation of a load and
 * count what a load left behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "conf_int.h"

static bool (*fail_hook)(void);
static long live; /* allocations not yet freed */

void
conf_set_alloc_hook(bool (*fail)(void))
{
	fail_hook = fail;
}

long
conf_alloc_live(void)
{
	return live;
}

void *
conf_malloc(size_t n)
{
	void *p;

	if (fail_hook != NULL && fail_hook())
		return NULL;
	p = malloc(n ? n : 1);
	if (p != NULL)
		live++;
	return p;
}

void *
conf_calloc(size_t n, size_t size)
{
	void *p;

	if (fail_hook != NULL && fail_hook())
		return NULL;
	p = calloc(n ? n : 1, size ? size : 1);
	if (p != NULL)
		live++;
	return p;
}

void *
conf_realloc(void *old, size_t n)
{
	void *p;

	if (fail_hook != NULL && fail_hook())
		return NULL;
	p = realloc(old, n ? n : 1);
	if (p != NULL && old == NULL)
		live++;
	return p;
}

char *
conf_strndup(const char *s, size_t n)
{
	char *p = conf_malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *
conf_strdup(const char *s)
{
	return s != NULL ? conf_strndup(s, strlen(s)) : NULL;
}

void
conf_mfree(void *p)
{
	if (p != NULL) {
		live--;
		free(p);
	}
}

void
conf_wipe_free(void *p, size_t n)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, n);
		conf_mfree(p);
	}
}

void
conf_buf_add(struct conf_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (n > SIZE_MAX / 2 - b->n) {
		b->failed = true;
		return;
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->n + n + 1)
			cap *= 2;
		p = conf_malloc(cap);
		if (p == NULL) {
			b->failed = true;
			return;
		}
		if (b->n > 0)
			memcpy(p, b->p, b->n);
		conf_wipe_free(b->p, b->cap);
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}
