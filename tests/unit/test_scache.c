/* SPDX-License-Identifier: MIT */
/* Tests for auth/scache.c: HIT / STALE / MISS over time, refresh_before,
 * session_recheck, failed refreshes, removal, full-token comparison,
 * eviction within fixed memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "claims_testutil.h"
#include "tap.h"

#define NOW 1800000000
#define TOK "XV6J1kDDCZL0e4XlqqGIfa1HyywCBZ5S"

/* One entry fetched at NOW with a JWT living 900 s, looked up at NOW + t
 * with refresh_before 60 and recheck 300. */
static void
test_states(void)
{
	static const struct {
		const char *name;
		int64_t t;
		enum auth_scache_state want;
	} tab[] = {
	    {"just fetched", 0, AUTH_SC_HIT},
	    {"fresh", 299, AUTH_SC_HIT},
	    {"recheck due", 300, AUTH_SC_STALE},
	    {"well past recheck, inside exp", 700, AUTH_SC_STALE},
	    {"refresh_before reached", 840, AUTH_SC_STALE},
	    {"last second of exp", 899, AUTH_SC_STALE},
	    {"at exp", 900, AUTH_SC_MISS},
	    {"after exp", 5000, AUTH_SC_MISS},
	    {"clock stepped back", -100, AUTH_SC_HIT},
	};
	static const struct {
		const char *name;
		int64_t refresh_before, recheck, t;
		enum auth_scache_state want;
	} odd[] = {
	    {"refresh_before over the JWT's life, same second", 1000, 300, 0,
	        AUTH_SC_HIT},
	    {"refresh_before over the JWT's life, next second", 1000, 300, 1,
	        AUTH_SC_STALE},
	    {"recheck 0, same second", 60, 0, 0, AUTH_SC_HIT},
	    {"recheck 0, next second", 60, 0, 1, AUTH_SC_STALE},
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct auth_scache *c = auth_scache_new(8);
		const struct auth_scache_entry *e;
		struct auth_claims cl;
		enum auth_scache_state st;

		tu_claims(&cl, "u1", NOW + 900, "{}");
		ok(auth_scache_put(c, "ba/1", TOK, strlen(TOK), &cl, "jwt", 3,
		       NOW + 900, NOW) == 0,
		    "%s: put", tab[i].name);
		st = auth_scache_lookup(c, NULL, "ba/1", TOK, strlen(TOK),
		    NOW + tab[i].t, 60, 300, &e);
		is_int(st, tab[i].want, "%s: state", tab[i].name);
		if (tab[i].want != AUTH_SC_MISS)
			ok(e != NULL && strcmp(e->fwd, "jwt") == 0 &&
			        strcmp(e->claims.sub, "u1") == 0,
			    "%s: entry", tab[i].name);
		else
			ok(e == NULL, "%s: no entry", tab[i].name);
		/* a MISS at exp wiped the entry for good */
		if (tab[i].want == AUTH_SC_MISS)
			is_int(auth_scache_lookup(c, NULL, "ba/1", TOK,
			           strlen(TOK), NOW, 60, 300, &e),
			    AUTH_SC_MISS, "%s: gone", tab[i].name);
		auth_scache_free(c);
	}
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct auth_scache *c = auth_scache_new(8);
		const struct auth_scache_entry *e;
		struct auth_claims cl;

		tu_claims(&cl, "u1", NOW + 900, "{}");
		auth_scache_put(c, "d", TOK, strlen(TOK), &cl, "j", 1,
		    NOW + 900, NOW);
		is_int(auth_scache_lookup(c, NULL, "d", TOK, strlen(TOK),
		           NOW + odd[i].t, odd[i].refresh_before,
		           odd[i].recheck, &e),
		    odd[i].want, "%s", odd[i].name);
		auth_scache_free(c);
	}
}

static void
test_keys(void)
{
	struct auth_scache *c = auth_scache_new(64);
	const struct auth_scache_entry *e;
	struct auth_claims cl;
	char other[sizeof(TOK)];

	tu_claims(&cl, "u1", NOW + 900, "{}");
	ok(auth_scache_put(c, "ba/1", TOK, strlen(TOK), &cl, "j1", 2, NOW + 900,
	       NOW) == 0,
	    "put");
	is_int(auth_scache_lookup(c, NULL, "ba/2", TOK, strlen(TOK), NOW, 60,
	           300, &e),
	    AUTH_SC_MISS, "another domain (issuer or reload) misses");
	memcpy(other, TOK, sizeof(TOK));
	other[5] ^= 1;
	is_int(auth_scache_lookup(c, NULL, "ba/1", other, strlen(other), NOW,
	           60, 300, &e),
	    AUTH_SC_MISS, "a token one bit off misses");
	is_int(auth_scache_lookup(c, NULL, "ba/1", TOK, strlen(TOK) - 1, NOW,
	           60, 300, &e),
	    AUTH_SC_MISS, "a prefix of the token misses");
	is_int(auth_scache_lookup(c, NULL, "ba/1", TOK, 0, NOW, 60, 300, &e),
	    AUTH_SC_MISS, "an empty token misses");

	/* a re-put replaces in place and restarts the recheck clock */
	tu_claims(&cl, "u1", NOW + 1900, "{}");
	ok(auth_scache_put(c, "ba/1", TOK, strlen(TOK), &cl, "j2", 2,
	       NOW + 1900, NOW + 1000) == 0,
	    "re-put");
	is_int(auth_scache_lookup(c, NULL, "ba/1", TOK, strlen(TOK), NOW + 1200,
	           60, 300, &e),
	    AUTH_SC_HIT, "re-put is fresh");
	ok(e != NULL && strcmp(e->fwd, "j2") == 0, "re-put token");

	/* exp is capped at the JWT's */
	tu_claims(&cl, "u2", NOW + 100, "{}");
	ok(auth_scache_put(c, "ba/1", "tok2", 4, &cl, "j", 1, NOW + 5000,
	       NOW) == 0,
	    "put with a later exp");
	is_int(auth_scache_lookup(c, NULL, "ba/1", "tok2", 4, NOW + 100, 0, 300,
	           &e),
	    AUTH_SC_MISS, "capped at the JWT's exp");
	/* a minted token expiring first bounds the entry */
	tu_claims(&cl, "u2", NOW + 900, "{}");
	ok(auth_scache_put(c, "ba/1", "tok2", 4, &cl, "m", 1, NOW + 300, NOW) ==
	        0,
	    "put with a short forward token");
	is_int(auth_scache_lookup(c, NULL, "ba/1", "tok2", 4, NOW + 250, 60,
	           3000, &e),
	    AUTH_SC_STALE, "refresh_before counts from the sooner exp");

	ok(auth_scache_put(c, "ba/1", "t", 1, &cl, "j", 1, NOW, NOW) == -1,
	    "refuses exp == now");
	{
		char big[AUTH_SCACHE_TOKEN_MAX + 2];

		memset(big, 'a', sizeof(big));
		ok(auth_scache_put(c, "ba/1", big, AUTH_SCACHE_TOKEN_MAX + 1,
		       &cl, "j", 1, NOW + 10, NOW) == -1,
		    "refuses a token over AUTH_SCACHE_TOKEN_MAX");
		ok(auth_scache_put(c, "ba/1", big, AUTH_SCACHE_TOKEN_MAX, &cl,
		       "j", 1, NOW + 10, NOW) == 0,
		    "takes a token of AUTH_SCACHE_TOKEN_MAX");
	}
	{
		static char fwd[AUTH_MAX_FWD_LEN + 1];

		memset(fwd, 'j', sizeof(fwd));
		ok(auth_scache_put(c, "ba/1", "t", 1, &cl, fwd,
		       AUTH_MAX_FWD_LEN, NOW + 10, NOW) == -1,
		    "refuses a forward token of AUTH_MAX_FWD_LEN");
		ok(auth_scache_put(c, "ba/1", "t", 1, &cl, fwd,
		       AUTH_MAX_FWD_LEN - 1, NOW + 10, NOW) == 0,
		    "takes one byte less");
	}
	auth_scache_remove(c, "ba/1", TOK, strlen(TOK));
	is_int(auth_scache_lookup(c, NULL, "ba/1", TOK, strlen(TOK), NOW + 1200,
	           60, 300, &e),
	    AUTH_SC_MISS, "removed (the issuer said 401)");
	auth_scache_free(c);
}

static void
test_fail(void)
{
	struct auth_scache *c = auth_scache_new(8);
	const struct auth_scache_entry *e;
	struct auth_claims cl;

	ok(!auth_scache_fail(c, "d", TOK, strlen(TOK), NOW + 5, NOW),
	    "fail without an entry: nothing usable");
	tu_claims(&cl, "u1", NOW + 900, "{}");
	auth_scache_put(c, "d", TOK, strlen(TOK), &cl, "j", 1, NOW + 900, NOW);
	is_int(auth_scache_lookup(c, NULL, "d", TOK, strlen(TOK), NOW + 400, 60,
	           300, &e),
	    AUTH_SC_STALE, "due for a recheck");
	ok(e->retry_at == 0, "no failure yet");
	ok(auth_scache_fail(c, "d", TOK, strlen(TOK), NOW + 405, NOW + 400),
	    "the issuer is down: the entry is still usable");
	is_int(auth_scache_lookup(c, NULL, "d", TOK, strlen(TOK), NOW + 401, 60,
	           300, &e),
	    AUTH_SC_STALE, "still stale");
	ok(e->retry_at == NOW + 405, "retry_at kept");
	ok(auth_scache_fail(c, "d", TOK, strlen(TOK), NOW + 5000, NOW + 800),
	    "a later failure");
	is_int(auth_scache_lookup(c, NULL, "d", TOK, strlen(TOK), NOW + 801, 60,
	           300, &e),
	    AUTH_SC_STALE, "stale");
	ok(e->retry_at == NOW + 900, "retry_at never past exp");
	is_int(auth_scache_lookup(c, NULL, "d", TOK, strlen(TOK), NOW + 900, 60,
	           300, &e),
	    AUTH_SC_MISS, "cached work ends at exp, issuer down or not");
	ok(!auth_scache_fail(c, "d", TOK, strlen(TOK), NOW + 905, NOW + 900),
	    "nothing usable after exp");
	/* a successful refresh clears the failure */
	auth_scache_put(c, "d", TOK, strlen(TOK), &cl, "j", 1, NOW + 900, NOW);
	auth_scache_fail(c, "d", TOK, strlen(TOK), NOW + 10, NOW);
	tu_claims(&cl, "u1", NOW + 1900, "{}");
	auth_scache_put(c, "d", TOK, strlen(TOK), &cl, "j", 1, NOW + 1900,
	    NOW + 5);
	auth_scache_lookup(c, NULL, "d", TOK, strlen(TOK), NOW + 6, 60, 300,
	    &e);
	ok(e != NULL && e->retry_at == 0, "put clears retry_at");
	auth_scache_free(c);
}

/* Fixed memory: a cache of 4 entries holds at most 4 sessions; the
 * soonest to expire goes first. */
static void
test_eviction(void)
{
	struct auth_scache *c = auth_scache_new(4);
	const struct auth_scache_entry *e;
	struct auth_claims cl;
	char tok[16];
	int i, found = 0;

	ok(auth_scache_new(0) == NULL, "zero entries refused");
	for (i = 0; i < 100; i++) {
		snprintf(tok, sizeof(tok), "tok%03d", i);
		tu_claims(&cl, "u", NOW + 1000 + i, "{}");
		ok(auth_scache_put(c, "d", tok, strlen(tok), &cl, "j", 1,
		       NOW + 1000 + i, NOW) == 0,
		    "put %d", i);
	}
	for (i = 0; i < 100; i++) {
		snprintf(tok, sizeof(tok), "tok%03d", i);
		if (auth_scache_lookup(c, NULL, "d", tok, strlen(tok), NOW, 60,
		        300, &e) == AUTH_SC_HIT)
			found++;
	}
	is_int(found, 4, "four entries survive");
	for (i = 96; i < 100; i++) {
		snprintf(tok, sizeof(tok), "tok%03d", i);
		is_int(auth_scache_lookup(c, NULL, "d", tok, strlen(tok), NOW,
		           60, 300, &e),
		    AUTH_SC_HIT, "the latest-expiring %d is kept", i);
	}
	auth_scache_free(c);
}

int
main(void)
{
	test_states();
	test_keys();
	test_fail();
	test_eviction();
	return tap_done();
}
