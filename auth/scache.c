/* SPDX-License-Identifier: MIT */
/* The per-worker cache of Better Auth session exchanges: fixed memory,
 * set-associative, keyed by SHA-256 and the full session token. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "assoc.h"
#include "auth.h"

/*
 * Set-associative as the token cache (assoc.h): a lookup reads at most
 * AUTH_ASSOC_WAYS slots. The SHA-256 spreads keys over the sets; comparing
 * the stored token as well means even a hash collision can never hand one
 * session another's identity.
 */
#define SCACHE_MAX_ENTRIES ((size_t)1 << 20)

struct scache_slot {
	struct auth_scache_entry e;
	bool used;
};

struct auth_scache {
	struct auth_assoc a; /* slots are struct scache_slot */
};

struct auth_scache *
auth_scache_new(size_t n_entries)
{
	struct auth_scache *c;

	if (n_entries == 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (auth_assoc_init(&c->a, n_entries, SCACHE_MAX_ENTRIES,
	        sizeof(struct scache_slot)) == -1) {
		free(c);
		return NULL;
	}
	return c;
}

void
auth_scache_free(struct auth_scache *c)
{
	if (c == NULL)
		return;
	auth_assoc_cleanup(&c->a);
	free(c);
}

/* The first slot of |key|'s set. */
static struct scache_slot *
set_of(struct auth_scache *c, const unsigned char key[AUTH_TCACHE_KEY_LEN])
{
	struct scache_slot *slots = c->a.slots;

	return &slots[auth_assoc_set(&c->a, key)];
}

/* The slot holding |token| under |domain|, or NULL; |key| receives the
 * key either way (all zero when hashing failed: never found), through
 * |memo| when not NULL. */
static struct scache_slot *
find(struct auth_scache *c, struct auth_tcache_memo *memo, const char *domain,
    const char *token, size_t token_len, unsigned char key[AUTH_TCACHE_KEY_LEN])
{
	struct scache_slot *set;
	size_t w;

	auth_tcache_key_memo(memo, domain, token, token_len, key);
	if (c == NULL || auth_assoc_key_is_poison(key) || token_len == 0 ||
	    token_len > AUTH_SCACHE_TOKEN_MAX)
		return NULL;
	set = set_of(c, key);
	for (w = 0; w < c->a.ways; w++) {
		struct scache_slot *s = &set[w];

		if (s->used &&
		    CRYPTO_memcmp(s->e.key, key, AUTH_TCACHE_KEY_LEN) == 0 &&
		    s->e.token_len == token_len &&
		    CRYPTO_memcmp(s->e.token, token, token_len) == 0)
			return s;
	}
	return NULL;
}

static void
slot_wipe(struct scache_slot *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

enum auth_scache_state
auth_scache_lookup(struct auth_scache *c, struct auth_tcache_memo *memo,
    const char *domain, const char *token, size_t token_len, int64_t now,
    int64_t refresh_before, int64_t recheck,
    const struct auth_scache_entry **out)
{
	unsigned char key[AUTH_TCACHE_KEY_LEN];
	struct scache_slot *s;

	*out = NULL;
	if (token == NULL)
		return AUTH_SC_MISS;
	s = find(c, memo, domain, token, token_len, key);
	if (s == NULL)
		return AUTH_SC_MISS;
	if (now >= s->e.exp) {
		slot_wipe(s);
		return AUTH_SC_MISS;
	}
	*out = &s->e;
	/* Written as subtractions from now so that large settings cannot
	 * overflow: the inputs are bounded seconds, now is a Unix time. */
	if (now < s->e.exp - refresh_before && now - s->e.fetched_at < recheck)
		return AUTH_SC_HIT;
	/* Fetched this very second: whatever the settings (a refresh_before
	 * as long as the JWT's life, a recheck of 0), a session is exchanged
	 * at most once a second, and the request that waited for this answer
	 * uses it. */
	if (now <= s->e.fetched_at)
		return AUTH_SC_HIT;
	return AUTH_SC_STALE;
}

int
auth_scache_put(struct auth_scache *c, const char *domain, const char *token,
    size_t token_len, const struct auth_claims *claims, const char *fwd,
    size_t fwd_len, int64_t exp, int64_t now)
{
	unsigned char key[AUTH_TCACHE_KEY_LEN];
	struct scache_slot *victim;

	if (c == NULL || token == NULL || claims == NULL ||
	    (fwd == NULL && fwd_len > 0) || token_len == 0 ||
	    token_len > AUTH_SCACHE_TOKEN_MAX || fwd_len >= AUTH_MAX_FWD_LEN)
		return -1;
	/* An entry never outlives the JWT the issuer vouched with. */
	if (exp > claims->exp)
		exp = claims->exp;
	if (exp <= now)
		return -1;
	victim = find(c, NULL, domain, token, token_len, key);
	if (auth_assoc_key_is_poison(key))
		return -1;
	if (victim == NULL) {
		struct scache_slot *set = set_of(c, key);

		victim = &set[auth_assoc_victim_in(&c->a, set,
		    offsetof(struct scache_slot, used),
		    offsetof(struct scache_slot, e.exp))];
	}
	slot_wipe(victim);
	memcpy(victim->e.key, key, AUTH_TCACHE_KEY_LEN);
	memcpy(victim->e.token, token, token_len);
	victim->e.token_len = token_len;
	memcpy(&victim->e.claims, claims, sizeof(*claims));
	victim->e.exp = exp;
	victim->e.fetched_at = now;
	victim->e.retry_at = 0;
	if (fwd_len > 0)
		memcpy(victim->e.fwd, fwd, fwd_len);
	victim->e.fwd[fwd_len] = '\0';
	victim->e.fwd_len = fwd_len;
	victim->used = true;
	return 0;
}

bool
auth_scache_fail(struct auth_scache *c, const char *domain, const char *token,
    size_t token_len, int64_t retry_at, int64_t now)
{
	unsigned char key[AUTH_TCACHE_KEY_LEN];
	struct scache_slot *s = find(c, NULL, domain, token, token_len, key);

	if (s == NULL)
		return false;
	if (now >= s->e.exp) {
		slot_wipe(s);
		return false;
	}
	s->e.retry_at = retry_at < s->e.exp ? retry_at : s->e.exp;
	return true;
}

void
auth_scache_remove(struct auth_scache *c, const char *domain, const char *token,
    size_t token_len)
{
	unsigned char key[AUTH_TCACHE_KEY_LEN];
	struct scache_slot *s = find(c, NULL, domain, token, token_len, key);

	if (s != NULL)
		slot_wipe(s);
}
