/* SPDX-License-Identifier: MIT */
/* Sizing, memory and replacement for the set-associative caches. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "assoc.h"

int
auth_assoc_init(struct auth_assoc *g, size_t n_entries, size_t max_entries,
    size_t slot_size)
{
	size_t n = 1;

	memset(g, 0, sizeof(*g));
	/* The cap keeps the doubling below from overflowing. */
	if (max_entries > AUTH_ASSOC_MAX_ENTRIES || n_entries > max_entries ||
	    slot_size == 0)
		return -1;
	while (n < n_entries)
		n <<= 1;
	g->slots = calloc(n, slot_size);
	if (g->slots == NULL)
		return -1;
	g->slot_size = slot_size;
	g->ways = n < AUTH_ASSOC_WAYS ? n : AUTH_ASSOC_WAYS;
	g->n_sets = n / g->ways;
	return 0;
}

void
auth_assoc_wipe(struct auth_assoc *g)
{
	if (g->slots != NULL)
		OPENSSL_cleanse(g->slots, g->n_sets * g->ways * g->slot_size);
}

void
auth_assoc_cleanup(struct auth_assoc *g)
{
	auth_assoc_wipe(g);
	free(g->slots);
	memset(g, 0, sizeof(*g));
}

size_t
auth_assoc_victim_in(const struct auth_assoc *g, const void *set,
    size_t used_off, size_t exp_off)
{
	const unsigned char *slot = set;
	int64_t soonest = 0, exp;
	size_t v = 0, w;
	bool used;

	for (w = 0; w < g->ways; w++, slot += g->slot_size) {
		memcpy(&used, slot + used_off, sizeof(used));
		if (!used)
			return w;
		memcpy(&exp, slot + exp_off, sizeof(exp));
		if (w == 0 || exp < soonest) {
			v = w;
			soonest = exp;
		}
	}
	return v;
}
