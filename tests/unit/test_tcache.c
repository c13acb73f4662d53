/* SPDX-License-Identifier: MIT */
/* Tests for auth/tcache.c: keys, expiry, eviction, fixed capacity, wiping. */
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "auth.h"
#include "claims_testutil.h"
#include "tap.h"

#define NOW 1800000000

static void
hex(const unsigned char *k, char *out)
{
	size_t i;

	for (i = 0; i < AUTH_TCACHE_KEY_LEN; i++)
		sprintf(out + 2 * i, "%02x", k[i]);
}

/* A key that lands in set 0 of any cache: the set index is read from the
 * leading bytes, which are zero here; |id| tells keys apart. */
static void
set0_key(unsigned char k[AUTH_TCACHE_KEY_LEN], unsigned id)
{
	memset(k, 0, AUTH_TCACHE_KEY_LEN);
	k[AUTH_TCACHE_KEY_LEN - 1] = (unsigned char)id;
	k[AUTH_TCACHE_KEY_LEN - 2] = 0x80;
}

static void
test_keys(void)
{
	/* Expected values from Python: sha256(domain + b"\0" + token). */
	static const struct {
		const char *domain, *token, *hex;
	} vec[] = {
	    {"issuer-a", "token-1",
	        "aeed977b06850c161148f74857347485098b"
	        "88b291d53e326d569c6a881b5ba9"},
	    {"", "token-1",
	        "401bb62e03e84d4916398d84ee90e1d81e4e51008879"
	        "c79b39ad73e7a363ba3a"},
	    {"ab", "c",
	        "6c032e631d39a14d85aff7e319546af701e26c97b57ca95f"
	        "bfe9c6ba855f67bf"},
	    {"a", "bc",
	        "40bb547d936bbd31318ee37ac8799e7ecbb22eda2651f65e"
	        "3214bffb8ce97bb4"},
	};
	unsigned char k[AUTH_TCACHE_KEY_LEN], k2[AUTH_TCACHE_KEY_LEN];
	char h[2 * AUTH_TCACHE_KEY_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		auth_tcache_key(vec[i].domain, vec[i].token,
		    strlen(vec[i].token), k);
		hex(k, h);
		is_str(h, vec[i].hex, "key(\"%s\", \"%s\")", vec[i].domain,
		    vec[i].token);
	}
	auth_tcache_key(NULL, "token-1", 7, k2);
	auth_tcache_key("", "token-1", 7, k);
	ok(memcmp(k, k2, sizeof(k)) == 0, "NULL domain is the empty domain");
	auth_tcache_key("issuer-a", "token-1x", 7, k2);
	auth_tcache_key("issuer-a", "token-1", 7, k);
	ok(memcmp(k, k2, sizeof(k)) == 0, "only token_len bytes count");
}

static void
test_put_get(void)
{
	struct auth_tcache *c = auth_tcache_new(64);
	unsigned char ka[AUTH_TCACHE_KEY_LEN], kb[AUTH_TCACHE_KEY_LEN];
	const struct auth_tcache_entry *e;
	struct auth_claims cl;
	static char fwd[AUTH_MAX_FWD_LEN + 1];

	ok(c != NULL, "new(64)");
	auth_tcache_key("policy-a", "tok", 3, ka);
	auth_tcache_key("policy-b", "tok", 3, kb);
	tu_claims(&cl, "user-1", NOW + 600, "{}");

	ok(auth_tcache_get(c, ka, NOW) == NULL, "empty cache: miss");
	is_int(auth_tcache_put(c, ka, &cl, "jwt.a.b", 7, NOW + 100, NOW), 0,
	    "put");
	e = auth_tcache_get(c, ka, NOW);
	ok(e != NULL, "get after put");
	if (e != NULL) {
		is_str(e->claims.sub, "user-1", "get: claims");
		is_str(e->fwd, "jwt.a.b", "get: token to forward");
		is_int(e->fwd_len, 7, "get: token length");
		is_int(e->expires, NOW + 100, "get: expiry");
		ok(memcmp(e->key, ka, sizeof(ka)) == 0, "get: key");
	}
	ok(auth_tcache_get(c, kb, NOW) == NULL,
	    "same token under another policy: miss");

	/* Never at or after the expiry. */
	ok(auth_tcache_get(c, ka, NOW + 99) != NULL, "one second before");
	ok(auth_tcache_get(c, ka, NOW + 100) == NULL, "at the expiry");
	ok(auth_tcache_get(c, ka, NOW + 101) == NULL, "after the expiry");
	ok(auth_tcache_get(c, ka, NOW) == NULL, "an expired entry is gone");

	/* put refuses what is already dead. */
	is_int(auth_tcache_put(c, ka, &cl, "x", 1, NOW, NOW), -1,
	    "put with expires == now");
	is_int(auth_tcache_put(c, ka, &cl, "x", 1, NOW - 1, NOW), -1,
	    "put with expires < now");
	ok(auth_tcache_get(c, ka, NOW) == NULL, "refused puts store nothing");
	is_int(auth_tcache_put(c, ka, &cl, "x", 1, NOW + 1, NOW), 0,
	    "put with expires == now + 1");
	ok(auth_tcache_get(c, ka, NOW) != NULL, "... found at now");

	/* Never beyond the token's own exp. */
	tu_claims(&cl, "user-1", NOW + 50, "{}");
	is_int(auth_tcache_put(c, ka, &cl, "x", 1, NOW + 100, NOW), 0,
	    "put past the token's exp");
	e = auth_tcache_get(c, ka, NOW);
	is_int(e ? e->expires : 0, NOW + 50, "... expiry clamped to exp");
	ok(auth_tcache_get(c, ka, NOW + 50) == NULL, "... gone at exp");
	tu_claims(&cl, "user-1", NOW, "{}");
	is_int(auth_tcache_put(c, ka, &cl, "x", 1, NOW + 100, NOW), -1,
	    "put of a token expiring now");

	/* Replacing a key updates it in place. */
	tu_claims(&cl, "user-1", NOW + 600, "{}");
	auth_tcache_put(c, ka, &cl, "first", 5, NOW + 100, NOW);
	tu_claims(&cl, "user-2", NOW + 600, "{}");
	auth_tcache_put(c, ka, &cl, "second", 6, NOW + 200, NOW);
	e = auth_tcache_get(c, ka, NOW);
	ok(e != NULL && strcmp(e->fwd, "second") == 0 &&
	        strcmp(e->claims.sub, "user-2") == 0 && e->expires == NOW + 200,
	    "second put of a key replaces the first");

	/* The forwarded token must fit with its NUL. */
	memset(fwd, 'f', sizeof(fwd));
	is_int(auth_tcache_put(c, kb, &cl, fwd, AUTH_MAX_FWD_LEN, NOW + 10,
	           NOW),
	    -1, "token of AUTH_MAX_FWD_LEN bytes refused");
	ok(auth_tcache_get(c, kb, NOW) == NULL, "... nothing stored");
	is_int(auth_tcache_put(c, kb, &cl, fwd, AUTH_MAX_FWD_LEN - 1, NOW + 10,
	           NOW),
	    0, "token of AUTH_MAX_FWD_LEN - 1 bytes");
	e = auth_tcache_get(c, kb, NOW);
	ok(e != NULL && e->fwd_len == AUTH_MAX_FWD_LEN - 1 &&
	        e->fwd[AUTH_MAX_FWD_LEN - 1] == '\0' &&
	        e->fwd[AUTH_MAX_FWD_LEN - 2] == 'f',
	    "... stored whole");
	is_int(auth_tcache_put(c, kb, NULL, "x", 1, NOW + 10, NOW), -1,
	    "put without claims");
	is_int(auth_tcache_put(c, kb, &cl, NULL, 0, NOW + 10, NOW), 0,
	    "put with an empty token");

	/* A failed hash (all-zero key) is never stored or found. */
	memset(ka, 0, sizeof(ka));
	is_int(auth_tcache_put(c, ka, &cl, "x", 1, NOW + 10, NOW), -1,
	    "poison key refused by put");
	ok(auth_tcache_get(c, ka, NOW) == NULL, "poison key never found");

	/* clear removes and wipes. */
	auth_tcache_key("policy-a", "tok", 3, ka);
	auth_tcache_put(c, ka, &cl, "secret-token", 12, NOW + 10, NOW);
	e = auth_tcache_get(c, ka, NOW);
	auth_tcache_clear(c);
	ok(auth_tcache_get(c, ka, NOW) == NULL, "clear: miss");
	ok(auth_tcache_get(c, kb, NOW) == NULL, "clear: every entry");
	/* The slot memory is still the cache's: check that it was wiped. */
	ok(e != NULL && e->fwd[0] == '\0' && e->claims.sub[0] == '\0' &&
	        e->fwd_len == 0,
	    "clear: the token bytes are wiped");
	auth_tcache_free(c);
	auth_tcache_free(NULL);
}

static void
test_eviction(void)
{
	struct auth_tcache *c = auth_tcache_new(4); /* one set of four */
	unsigned char k[8][AUTH_TCACHE_KEY_LEN];
	struct auth_claims cl;
	unsigned i;

	for (i = 0; i < 8; i++)
		set0_key(k[i], i + 1);
	tu_claims(&cl, "u", NOW + 10000, "{}");
	/* Expiring at +400, +100, +300, +200. */
	auth_tcache_put(c, k[0], &cl, "0", 1, NOW + 400, NOW);
	auth_tcache_put(c, k[1], &cl, "1", 1, NOW + 100, NOW);
	auth_tcache_put(c, k[2], &cl, "2", 1, NOW + 300, NOW);
	auth_tcache_put(c, k[3], &cl, "3", 1, NOW + 200, NOW);
	for (i = 0; i < 4; i++)
		ok(auth_tcache_get(c, k[i], NOW) != NULL, "full: key %u", i);

	/* A fifth evicts the one expiring soonest (k1). */
	auth_tcache_put(c, k[4], &cl, "4", 1, NOW + 500, NOW);
	ok(auth_tcache_get(c, k[1], NOW) == NULL, "soonest expiry evicted");
	ok(auth_tcache_get(c, k[0], NOW) && auth_tcache_get(c, k[2], NOW) &&
	        auth_tcache_get(c, k[3], NOW) && auth_tcache_get(c, k[4], NOW),
	    "the other four kept");

	/* At +250, k3 (+200) is expired: it goes first, even though the
	 * new entry expires sooner than every live one. */
	auth_tcache_put(c, k[5], &cl, "5", 1, NOW + 260, NOW + 250);
	ok(auth_tcache_get(c, k[3], NOW + 250) == NULL, "expired evicted");
	ok(auth_tcache_get(c, k[0], NOW + 250) &&
	        auth_tcache_get(c, k[2], NOW + 250) &&
	        auth_tcache_get(c, k[4], NOW + 250) &&
	        auth_tcache_get(c, k[5], NOW + 250),
	    "live ones kept");
	auth_tcache_free(c);

	/* One entry: each put replaces the last. */
	c = auth_tcache_new(1);
	auth_tcache_put(c, k[0], &cl, "0", 1, NOW + 400, NOW);
	auth_tcache_put(c, k[1], &cl, "1", 1, NOW + 400, NOW);
	ok(auth_tcache_get(c, k[0], NOW) == NULL &&
	        auth_tcache_get(c, k[1], NOW) != NULL,
	    "capacity 1");
	auth_tcache_free(c);
	c = auth_tcache_new(0);
	ok(c != NULL, "new(0) still holds one entry");
	is_int(auth_tcache_put(c, k[0], &cl, "0", 1, NOW + 400, NOW), 0,
	    "new(0): put");
	ok(auth_tcache_get(c, k[0], NOW) != NULL, "new(0): get");
	auth_tcache_free(c);
	ok(auth_tcache_new((size_t)1 << 40) == NULL, "absurd size refused");
}

/* However many tokens go in, at most the rounded capacity is found. */
static void
test_capacity(void)
{
	struct auth_tcache *c = auth_tcache_new(5); /* rounds to 8 */
	struct auth_claims cl;
	unsigned char k[AUTH_TCACHE_KEY_LEN];
	char tok[32];
	int i, live = 0, last_ok = 1;

	tu_claims(&cl, "u", NOW + 10000, "{}");
	for (i = 0; i < 1000; i++) {
		int n = snprintf(tok, sizeof(tok), "token-%d", i);

		auth_tcache_key("p", tok, (size_t)n, k);
		if (auth_tcache_put(c, k, &cl, tok, (size_t)n, NOW + 100 + i,
		        NOW) != 0 ||
		    auth_tcache_get(c, k, NOW) == NULL)
			last_ok = 0;
	}
	ok(last_ok, "each token is found right after its put");
	for (i = 0; i < 1000; i++) {
		const struct auth_tcache_entry *e;
		int n = snprintf(tok, sizeof(tok), "token-%d", i);

		auth_tcache_key("p", tok, (size_t)n, k);
		e = auth_tcache_get(c, k, NOW);
		if (e != NULL) {
			live++;
			if (strcmp(e->fwd, tok) != 0)
				last_ok = 0;
		}
	}
	ok(live >= 1 && live <= 8, "at most 8 of 1000 live (%d)", live);
	ok(last_ok, "every live entry is its own token");
	auth_tcache_free(c);
}

/*
 * The memo, as a table of calls in order on one memo: each key must equal
 * auth_tcache_key's; |how| says whether the memo answered (MEMO: its
 * copy unchanged), or the input was hashed and taken (HASH) or hashed and
 * not taken (PASS: too long to hold).
 */
enum { HASH, MEMO, PASS };

static void
test_memo(void)
{
	static char big[AUTH_TCACHE_MEMO_MAX + 2];
	const struct {
		const char *domain, *token;
		size_t len; /* 0: strlen(token) */
		int how;
		const char *what;
	} seq[] = {
	    {"p", "aaaa.bbbb.cccc", 0, HASH, "first token"},
	    {"p", "aaaa.bbbb.cccc", 0, MEMO, "the same again"},
	    {"p", "aaaa.bbbb.cccd", 0, HASH, "one byte differs at the end"},
	    {"p", "Aaaa.bbbb.cccd", 0, HASH, "one byte differs at the start"},
	    {"p", "Aaaa.bbbb.cccd", 0, MEMO, "and it is the memo's now"},
	    {"p", "Aaaa.bbbb.ccc", 0, HASH, "a prefix of it"},
	    {"q", "Aaaa.bbbb.ccc", 0, HASH, "the same token, another domain"},
	    {"qA", "aaa.bbbb.ccc", 0, HASH, "a byte moved into the domain"},
	    {"q", "Aaaa.bbbb.ccc", 0, HASH, "and back"},
	    {NULL, "Aaaa.bbbb.ccc", 0, HASH, "NULL domain"},
	    {"", "Aaaa.bbbb.ccc", 0, MEMO, "is the empty domain"},
	    {"", "", 0, HASH, "empty token"},
	    {"", "", 0, MEMO, "empty token again"},
	    {"p", big, sizeof(big) - 1, PASS, "too long for the memo"},
	    {"p", big, sizeof(big) - 1, PASS, "so it is hashed again"},
	    {"", "", 0, MEMO, "the memo kept the last it could hold"},
	};
	struct auth_tcache_memo m;
	unsigned char k[AUTH_TCACHE_KEY_LEN], want[AUTH_TCACHE_KEY_LEN];
	size_t i;

	memset(big, 'x', sizeof(big) - 1);
	memset(&m, 0, sizeof(m));
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		size_t len = seq[i].len ? seq[i].len : strlen(seq[i].token);
		unsigned char *before = m.in;
		size_t before_len = m.len;
		bool good;

		/* Flip the memo's key: an answer from the memo hands the
		 * flipped key back, so a hit is seen, not assumed. */
		m.key[0] ^= 0x5a;
		auth_tcache_key_memo(&m, seq[i].domain, seq[i].token, len, k);
		auth_tcache_key(seq[i].domain, seq[i].token, len, want);
		if (seq[i].how == MEMO) {
			good = k[0] == (want[0] ^ 0x5a) &&
			    memcmp(k + 1, want + 1, sizeof(k) - 1) == 0 &&
			    m.in == before && m.len == before_len;
		} else if (seq[i].how == PASS) {
			good = memcmp(k, want, sizeof(k)) == 0 &&
			    m.in == before && m.len == before_len;
		} else {
			good = memcmp(k, want, sizeof(k)) == 0 &&
			    memcmp(m.key, want, sizeof(k)) == 0 &&
			    m.len ==
			        strlen(seq[i].domain ? seq[i].domain : "") + 1 +
			            len;
		}
		if (seq[i].how != HASH)
			m.key[0] ^= 0x5a;
		ok(good, "memo: %s", seq[i].what);
	}
	auth_tcache_key_memo(NULL, "p", "t", 1, k);
	auth_tcache_key("p", "t", 1, want);
	ok(memcmp(k, want, sizeof(k)) == 0, "memo: a NULL memo hashes");
	auth_tcache_memo_clear(&m);
	ok(m.in == NULL && m.len == 0 && m.cap == 0, "memo: clear empties it");
	auth_tcache_key_memo(&m, "p", "t", 1, k);
	ok(memcmp(k, want, sizeof(k)) == 0 && m.len == 3,
	    "memo: usable again after clear");
	auth_tcache_memo_clear(&m);
}

int
main(void)
{
	test_keys();
	test_memo();
	test_put_get();
	test_eviction();
	test_capacity();
	return tap_done();
}
