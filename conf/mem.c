/* SPDX-License-Identifier: MIT */
/* The loader's one allocator: a test can fail any allocation of a load and
 * count what a load left behind. */
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
