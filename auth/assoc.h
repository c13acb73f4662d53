/* SPDX-License-Identifier: MIT */
/* The set-associative slot array the token and session caches share:
 * sizing and memory, the set a key falls in, the poison key, and which
 * slot a put replaces. */
#ifndef AUTH_ASSOC_H
#define AUTH_ASSOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define AUTH_ASSOC_WAYS 4 /* slots a lookup reads at most */
#define AUTH_ASSOC_MAX_ENTRIES ((size_t)1 << 30)

/*
 * n slots (a power of two) make n_sets sets of |ways| adjacent slots. A
 * key maps to one set, so a lookup reads at most |ways| slots (O(1)) and a
 * put replaces one of them. The keys are SHA-256 digests, so their leading
 * bytes index the sets uniformly. The slot type is the cache's own.
 */
struct auth_assoc {
	void *slots;      /* owned; n_sets * ways slots of slot_size bytes */
	size_t slot_size; /* bytes */
	size_t n_sets;    /* a power of two */
	size_t ways;      /* AUTH_ASSOC_WAYS, or fewer in a smaller cache */
};

/* Sizes |g| for |n_entries| slots of |slot_size| bytes, rounded up to a
 * power of two (one at least), and allocates them zeroed. Returns 0, or -1
 * with |g| zeroed when |n_entries| is over |max_entries|, |max_entries| is
 * over AUTH_ASSOC_MAX_ENTRIES, |slot_size| is 0, or allocation fails.
 * auth_assoc_cleanup() releases the slots. */
int auth_assoc_init(struct auth_assoc *g, size_t n_entries, size_t max_entries,
    size_t slot_size);

/* Zeroes every slot with OPENSSL_cleanse (they hold tokens: wipe, not just
 * forget). */
void auth_assoc_wipe(struct auth_assoc *g);

/* Wipes and frees the slots and zeroes |g|; a zeroed |g| is fine. */
void auth_assoc_cleanup(struct auth_assoc *g);

/* Which of the |g|->ways slots of the set at |set| a put overwrites when
 * its key is not there: the first empty one, else the one expiring soonest
 * (the first among equals; a slot already expired expires soonest). Each
 * slot holds its used flag (a bool) at byte |used_off| and its expiry (an
 * int64_t) at |exp_off|: the one victim rule for every cache built on
 * this layout. Returns an index below |g|->ways, or 0 when it is 0. */
size_t auth_assoc_victim_in(const struct auth_assoc *g, const void *set,
    size_t used_off, size_t exp_off);

/*
 * The two below sit on the hot path of every request (the token cache's
 * lookup): inline, so that a lookup costs no call.
 */

/* Whether |key| is all zero: the key of a failed hash, which the caches
 * never store and never find. Reads every byte whatever they hold. */
static inline bool
auth_assoc_key_is_poison(const unsigned char key[AUTH_TCACHE_KEY_LEN])
{
	unsigned char acc = 0;
	size_t i;

	for (i = 0; i < AUTH_TCACHE_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

/* The index, in |g|->slots, of the first of the |g|->ways slots of |key|'s
 * set. */
static inline size_t
auth_assoc_set(const struct auth_assoc *g,
    const unsigned char key[AUTH_TCACHE_KEY_LEN])
{
	size_t h = 0, i;

	for (i = 0; i < sizeof(size_t) && i < AUTH_TCACHE_KEY_LEN; i++)
		h = h << 8 | key[i];
	return (h & (g->n_sets - 1)) * g->ways;
}

#endif /* AUTH_ASSOC_H */
