/* SPDX-License-Identifier: MIT */
/* A fixed-size, set-associative cache of verified tokens keyed by SHA-256. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"

/*
 * Each key maps to one set of TCACHE_WAYS slots, so a lookup reads at most
 * four entries (O(1)) and a put evicts, within the set, an empty slot, else
 * an expired one, else the one expiring soonest. The key is already a
 * SHA-256, so its first bytes index the sets uniformly.
 */
#define TCACHE_WAYS 4
#define TCACHE_MAX_ENTRIES ((size_t)1 << 24)

struct tcache_slot {
	struct auth_tcache_entry e;
	bool used;
};

struct auth_tcache {
	struct tcache_slot *slots; /* owned; n_sets * ways */
	size_t n_sets;             /* a power of two */
	size_t ways;
};

/* An all-zero key marks a failed hash: never stored, never found. */
static bool
key_is_poison(const unsigned char key[AUTH_TCACHE_KEY_LEN])
{
	unsigned char acc = 0;
	size_t i;

	for (i = 0; i < AUTH_TCACHE_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

struct auth_tcache *
auth_tcache_new(size_t n_entries)
{
	struct auth_tcache *c;
	size_t n = 1;

	if (n_entries > TCACHE_MAX_ENTRIES)
		return NULL;
	while (n < n_entries)
		n <<= 1;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->ways = n < TCACHE_WAYS ? n : TCACHE_WAYS;
	c->n_sets = n / c->ways;
	c->slots = calloc(n, sizeof(*c->slots));
	if (c->slots == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
auth_tcache_clear(struct auth_tcache *c)
{
	if (c == NULL)
		return;
	/* The entries hold tokens: wipe, not just forget. */
	OPENSSL_cleanse(c->slots, c->n_sets * c->ways * sizeof(*c->slots));
}

void
auth_tcache_free(struct auth_tcache *c)
{
	if (c == NULL)
		return;
	auth_tcache_clear(c);
	free(c->slots);
	free(c);
}

/* SHA-256 fetched once for the process: EVP_sha256() fetches it again on
 * every init, which cost more than the hash (1.3 us against 0.4 us per
 * key of a 200-byte token). Never freed; NULL when the fetch failed, and
 * then every key falls back to EVP_sha256(). */
static EVP_MD *key_md;
static pthread_once_t key_md_once = PTHREAD_ONCE_INIT;

static void
key_md_fetch(void)
{
	key_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
auth_tcache_key(const char *domain, const char *token, size_t token_len,
    unsigned char out[AUTH_TCACHE_KEY_LEN])
{
	static const unsigned char sep = 0;
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	int ok;

	if (domain == NULL)
		domain = "";
	(void)pthread_once(&key_md_once, key_md_fetch);
	ctx = EVP_MD_CTX_new();
	/* The NUL between domain and token keeps ("ab", "c") and ("a",
	 * "bc") apart, since a domain never holds one. */
	ok = ctx != NULL &&
	    EVP_DigestInit_ex2(ctx, key_md != NULL ? key_md : EVP_sha256(),
	        NULL) == 1 &&
	    EVP_DigestUpdate(ctx, domain, strlen(domain)) == 1 &&
	    EVP_DigestUpdate(ctx, &sep, 1) == 1 &&
	    (token_len == 0 || EVP_DigestUpdate(ctx, token, token_len) == 1) &&
	    EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == AUTH_TCACHE_KEY_LEN;
	EVP_MD_CTX_free(ctx);
	/* This cannot report failure; a poison key is refused by get and
	 * put, so a failed hash can never alias another token's entry. */
	if (!ok)
		memset(out, 0, AUTH_TCACHE_KEY_LEN);
}

static struct tcache_slot *
set_of(struct auth_tcache *c, const unsigned char key[AUTH_TCACHE_KEY_LEN])
{
	size_t h = 0, i;

	for (i = 0; i < sizeof(size_t) && i < AUTH_TCACHE_KEY_LEN; i++)
		h = h << 8 | key[i];
	return &c->slots[(h & (c->n_sets - 1)) * c->ways];
}

static void
slot_wipe(struct tcache_slot *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

const struct auth_tcache_entry *
auth_tcache_get(struct auth_tcache *c,
    const unsigned char key[AUTH_TCACHE_KEY_LEN], int64_t now)
{
	struct tcache_slot *set;
	size_t w;

	if (c == NULL || key == NULL || key_is_poison(key))
		return NULL;
	set = set_of(c, key);
	for (w = 0; w < c->ways; w++) {
		struct tcache_slot *s = &set[w];

		if (!s->used || memcmp(s->e.key, key, AUTH_TCACHE_KEY_LEN) != 0)
			continue;
		if (now >= s->e.expires) {
			slot_wipe(s);
			return NULL;
		}
		return &s->e;
	}
	return NULL;
}

int
auth_tcache_put(struct auth_tcache *c,
    const unsigned char key[AUTH_TCACHE_KEY_LEN],
    const struct auth_claims *claims, const char *fwd, size_t fwd_len,
    int64_t expires, int64_t now)
{
	struct tcache_slot *set, *victim = NULL;
	size_t w;

	if (c == NULL || key == NULL || claims == NULL ||
	    (fwd == NULL && fwd_len > 0) || key_is_poison(key))
		return -1;
	if (fwd_len >= AUTH_MAX_FWD_LEN)
		return -1;
	/* An entry never outlives the token it stands for. */
	if (expires > claims->exp)
		expires = claims->exp;
	if (expires <= now)
		return -1;

	set = set_of(c, key);
	for (w = 0; w < c->ways; w++) {
		struct tcache_slot *s = &set[w];

		if (s->used &&
		    memcmp(s->e.key, key, AUTH_TCACHE_KEY_LEN) == 0) {
			victim = s;
			break;
		}
		if (victim == NULL || !s->used ||
		    (victim->used && s->e.expires < victim->e.expires))
			victim = s;
	}
	/* Among the rest: an empty slot wins, then the soonest expiry,
	 * which is also any slot already expired. */
	if (victim == NULL)
		return -1;
	slot_wipe(victim);
	memcpy(victim->e.key, key, AUTH_TCACHE_KEY_LEN);
	victim->e.expires = expires;
	memcpy(&victim->e.claims, claims, sizeof(*claims));
	if (fwd_len > 0)
		memcpy(victim->e.fwd, fwd, fwd_len);
	victim->e.fwd[fwd_len] = '\0';
	victim->e.fwd_len = fwd_len;
	victim->used = true;
	return 0;
}
