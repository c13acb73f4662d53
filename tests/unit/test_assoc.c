/* SPDX-License-Identifier: MIT */
/* Tests for auth/assoc.c: sizing, set index, poison key, victim choice. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assoc.h"
#include "tap.h"

static void
test_init(void)
{
	static const struct {
		const char *name;
		size_t n_entries, max_entries, slot_size;
		int want;
		size_t n_sets, ways;
	} tab[] = {
	    {"0 entries: one slot", 0, 16, 8, 0, 1, 1},
	    {"1 entry", 1, 16, 8, 0, 1, 1},
	    {"2 entries: one set of 2", 2, 16, 8, 0, 1, 2},
	    {"3 rounds up to 4", 3, 16, 8, 0, 1, 4},
	    {"4: one set of 4", 4, 16, 8, 0, 1, 4},
	    {"5 rounds up to 8", 5, 16, 8, 0, 2, 4},
	    {"exactly the max", 16, 16, 8, 0, 4, 4},
	    {"4096", 4096, 4096, 1, 0, 1024, 4},
	    {"4097 rounds up to 8192", 4097, 8192, 1, 0, 2048, 4},
	    {"one over the max", 17, 16, 8, -1, 0, 0},
	    {"max over the cap", 1, AUTH_ASSOC_MAX_ENTRIES + 1, 8, -1, 0, 0},
	    {"entries over the cap", AUTH_ASSOC_MAX_ENTRIES + 1,
	        AUTH_ASSOC_MAX_ENTRIES, 8, -1, 0, 0},
	    {"slot size 0", 4, 16, 0, -1, 0, 0},
	};
	size_t i, j;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct auth_assoc g;
		const unsigned char *p;
		int rc, zero = 1;

		memset(&g, 0xa5, sizeof(g));
		rc = auth_assoc_init(&g, tab[i].n_entries, tab[i].max_entries,
		    tab[i].slot_size);
		is_int(rc, tab[i].want, "init %s: result", tab[i].name);
		is_int(g.n_sets, tab[i].n_sets, "init %s: sets", tab[i].name);
		is_int(g.ways, tab[i].ways, "init %s: ways", tab[i].name);
		if (rc == 0) {
			is_int(g.slot_size, tab[i].slot_size,
			    "init %s: slot size", tab[i].name);
			p = g.slots;
			for (j = 0; j < g.n_sets * g.ways * g.slot_size; j++)
				zero &= p[j] == 0;
			ok(zero, "init %s: slots zeroed", tab[i].name);
			memset(g.slots, 0x5a, g.n_sets * g.ways * g.slot_size);
			auth_assoc_wipe(&g);
			zero = 1;
			for (j = 0; j < g.n_sets * g.ways * g.slot_size; j++)
				zero &= p[j] == 0;
			ok(zero, "init %s: wipe zeroes the slots", tab[i].name);
		} else {
			ok(g.slots == NULL, "init %s: no slots", tab[i].name);
		}
		auth_assoc_cleanup(&g);
		ok(g.slots == NULL && g.n_sets == 0 && g.ways == 0,
		    "init %s: cleanup zeroes", tab[i].name);
		/* A second cleanup, as on a zeroed struct, is harmless. */
		auth_assoc_cleanup(&g);
	}
}

static void
test_set(void)
{
	static const struct {
		const char *name;
		size_t n_entries;
		unsigned pos;    /* which key byte is set */
		unsigned char v; /* to what */
		size_t want;     /* index of the set's first slot */
	} tab[] = {
	    {"one slot: always 0", 1, 7, 0xff, 0},
	    {"one set of 2: always 0", 2, 7, 0x01, 0},
	    {"4 sets, byte 7 = 2: set 2", 16, 7, 0x02, 8},
	    {"4 sets, byte 7 = 7: set 3", 16, 7, 0x07, 12},
	    {"4 sets, byte 0 only: set 0", 16, 0, 0xff, 0},
	    {"4 sets, byte 6 only: set 0", 16, 6, 0xff, 0},
	    {"1024 sets, byte 6 = 3: set 768", 4096, 6, 0x03, 3072},
	    {"bytes past the 8th are not read", 16, 8, 0xff, 0},
	    {"nor the last", 16, AUTH_TCACHE_KEY_LEN - 1, 0x03, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct auth_assoc g;
		unsigned char key[AUTH_TCACHE_KEY_LEN] = {0};

		key[tab[i].pos] = tab[i].v;
		if (auth_assoc_init(&g, tab[i].n_entries, 4096, 1) != 0) {
			ok(0, "set %s: init", tab[i].name);
			continue;
		}
		is_int(auth_assoc_set(&g, key), tab[i].want, "set %s",
		    tab[i].name);
		auth_assoc_cleanup(&g);
	}
}

static void
test_poison(void)
{
	static const struct {
		const char *name;
		int pos; /* byte set to |v|, -1 for none */
		unsigned char v;
		bool want;
	} tab[] = {
	    {"all zero", -1, 0, true},
	    {"first byte 1", 0, 0x01, false},
	    {"last byte 0x80", AUTH_TCACHE_KEY_LEN - 1, 0x80, false},
	    {"a middle byte", 13, 0x10, false},
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		unsigned char key[AUTH_TCACHE_KEY_LEN] = {0};

		if (tab[i].pos >= 0)
			key[tab[i].pos] = tab[i].v;
		is_int(auth_assoc_key_is_poison(key), tab[i].want, "poison %s",
		    tab[i].name);
	}
}

#define E                                                                      \
	{                                                                      \
		false, 0                                                       \
	}
#define U(x)                                                                   \
	{                                                                      \
		true, (x)                                                      \
	}

static void
test_victim(void)
{
	static const struct {
		const char *name;
		size_t n;
		struct way {
			bool used;
			int64_t expires;
		} w[AUTH_ASSOC_WAYS];
		size_t want;
	} tab[] = {
	    {"no ways", 0, {E}, 0},
	    {"one empty", 1, {E}, 0},
	    {"one used", 1, {U(5)}, 0},
	    {"all empty: the first", 4, {E, E, E, E}, 0},
	    {"first empty after a used one", 4, {U(5), E, E, E}, 1},
	    {"empty beats the soonest", 4, {U(5), U(7), E, U(1)}, 2},
	    {"full: soonest", 4, {U(9), U(4), U(8), U(6)}, 1},
	    {"full: first among equals", 4, {U(5), U(3), U(9), U(3)}, 1},
	    {"full, all equal: the first", 4, {U(2), U(2), U(2), U(2)}, 0},
	    {"soonest last", 4, {U(9), U(8), U(7), U(6)}, 3},
	    {"already expired is soonest", 3, {U(10), U(-5), U(3)}, 1},
	    {"ways past n are not read", 2, {U(9), U(8), E, U(1)}, 1},
	};
	size_t i;

	/* The rows as they are: a set of bare {used, expires} slots. */
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct auth_assoc g;

		memset(&g, 0, sizeof(g));
		g.slot_size = sizeof(tab[i].w[0]);
		g.ways = tab[i].n;
		is_int(auth_assoc_victim_in(&g, tab[i].w,
		           offsetof(struct way, used),
		           offsetof(struct way, expires)),
		    tab[i].want, "victim %s", tab[i].name);
	}

	/* The same rows read from slots of a cache's own layout, the used
	 * flag and the expiry at their offsets inside each slot. */
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct slot {
			char head[5];
			bool used;
			char mid[3];
			int64_t exp;
			char tail[7];
		} set[AUTH_ASSOC_WAYS];
		struct auth_assoc g;
		size_t w;

		memset(set, 0x5a, sizeof(set));
		for (w = 0; w < AUTH_ASSOC_WAYS; w++) {
			set[w].used = tab[i].w[w].used;
			set[w].exp = tab[i].w[w].expires;
		}
		memset(&g, 0, sizeof(g));
		g.slots = set;
		g.slot_size = sizeof(set[0]);
		g.n_sets = 1;
		g.ways = tab[i].n;
		is_int(auth_assoc_victim_in(&g, set,
		           offsetof(struct slot, used),
		           offsetof(struct slot, exp)),
		    tab[i].want, "victim in slots %s", tab[i].name);
	}
}

int
main(void)
{
	test_init();
	test_set();
	test_poison();
	test_victim();
	return tap_done();
}
