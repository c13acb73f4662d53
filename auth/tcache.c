/* SPDX-License-Identifier: MIT */
/* A fixed-size, set-associative cache of verified tokens keyed by SHA-256. */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "assoc.h"
#include "auth.h"

/*
 * Set-associative (assoc.h): a lookup reads at most AUTH_ASSOC_WAYS slots,
 * and a put replaces, within the key's set, the same key, else an empty
 * slot, else the one expiring soonest (an expired one first of all).
 */
#define TCACHE_MAX_ENTRIES ((size_t)1 << 24)

struct tcache_slot {
	struct auth_tcache_entry e;
	bool used;
};

struct auth_tcache {
	struct auth_assoc a; /* slots are struct tcache_slot */
};

struct auth_tcache *
auth_tcache_new(size_t n_entries)
{
	struct auth_tcache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (auth_assoc_init(&c->a, n_entries, TCACHE_MAX_ENTRIES,
	        sizeof(struct tcache_slot)) == -1) {
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
	auth_assoc_wipe(&c->a);
}

void
auth_tcache_free(struct auth_tcache *c)
{
	if (c == NULL)
		return;
	auth_assoc_cleanup(&c->a);
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

bool
auth_tcache_memo_has(const struct auth_tcache_memo *m, const char *domain,
    const char *data, size_t len)
{
	size_t dl;

	if (m == NULL || m->len == 0)
		return false;
	if (domain == NULL)
		domain = "";
	dl = strlen(domain);
	/* Lengths are compared first: they are not the secret part. */
	if (m->len != dl + 1 + len)
		return false;
	return (CRYPTO_memcmp(m->in, domain, dl) | (m->in[dl] != 0 ? 1 : 0) |
	           CRYPTO_memcmp(m->in + dl + 1, data, len)) == 0;
}

void
auth_tcache_memo_set(struct auth_tcache_memo *m, const char *domain,
    const char *data, size_t len, const unsigned char val[AUTH_TCACHE_KEY_LEN])
{
	size_t dl, need;
	unsigned char *in;

	if (m == NULL)
		return;
	if (domain == NULL)
		domain = "";
	dl = strlen(domain);
	if (len > AUTH_TCACHE_MEMO_MAX || dl > AUTH_TCACHE_MEMO_MAX) {
		auth_tcache_memo_clear(m); /* it no longer holds the last */
		return;
	}
	need = dl + 1 + len;
	if (m->cap < need) {
		if ((in = malloc(need)) == NULL) {
			auth_tcache_memo_clear(m);
			return;
		}
		auth_tcache_memo_clear(m);
		m->in = in;
		m->cap = need;
	}
	memcpy(m->in, domain, dl);
	m->in[dl] = 0;
	if (len > 0)
		memcpy(m->in + dl + 1, data, len);
	m->len = need;
	memcpy(m->key, val, AUTH_TCACHE_KEY_LEN);
}

void
auth_tcache_key_memo(struct auth_tcache_memo *m, const char *domain,
    const char *token, size_t token_len, unsigned char out[AUTH_TCACHE_KEY_LEN])
{
	if (auth_tcache_memo_has(m, domain, token, token_len)) {
		memcpy(out, m->key, AUTH_TCACHE_KEY_LEN);
		return;
	}
	auth_tcache_key(domain, token, token_len, out);
	if (m == NULL || token_len > AUTH_TCACHE_MEMO_MAX)
		return; /* a longer input leaves the memo as it was */
	if (auth_assoc_key_is_poison(out))
		auth_tcache_memo_clear(m); /* never memoise a failed hash */
	else
		auth_tcache_memo_set(m, domain, token, token_len, out);
}

void
auth_tcache_memo_clear(struct auth_tcache_memo *m)
{
	if (m == NULL)
		return;
	if (m->in != NULL)
		OPENSSL_cleanse(m->in, m->cap);
	free(m->in);
	OPENSSL_cleanse(m->key, sizeof(m->key));
	m->in = NULL;
	m->len = 0;
	m->cap = 0;
}

/* The first slot of |key|'s set. */
static struct tcache_slot *
set_of(struct auth_tcache *c, const unsigned char key[AUTH_TCACHE_KEY_LEN])
{
	struct tcache_slot *slots = c->a.slots;

	return &slots[auth_assoc_set(&c->a, key)];
}

/* The slot holding |key| (not the poison key), or NULL. Inline: it is
 * most of a lookup, the hot path of every request. */
static inline struct tcache_slot *
find(struct auth_tcache *c, const unsigned char key[AUTH_TCACHE_KEY_LEN])
{
	struct tcache_slot *set = set_of(c, key);
	size_t w;

	for (w = 0; w < c->a.ways; w++) {
		struct tcache_slot *s = &set[w];

		if (s->used && memcmp(s->e.key, key, AUTH_TCACHE_KEY_LEN) == 0)
			return s;
	}
	return NULL;
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
	struct tcache_slot *s;

	if (c == NULL || key == NULL || auth_assoc_key_is_poison(key))
		return NULL;
	s = find(c, key);
	if (s == NULL)
		return NULL;
	if (now >= s->e.expires) {
		slot_wipe(s);
		return NULL;
	}
	return &s->e;
}

int
auth_tcache_put(struct auth_tcache *c,
    const unsigned char key[AUTH_TCACHE_KEY_LEN],
    const struct auth_claims *claims, const char *fwd, size_t fwd_len,
    int64_t expires, int64_t now)
{
	struct tcache_slot *victim;

	if (c == NULL || key == NULL || claims == NULL ||
	    (fwd == NULL && fwd_len > 0) || auth_assoc_key_is_poison(key))
		return -1;
	if (fwd_len >= AUTH_MAX_FWD_LEN)
		return -1;
	/* An entry never outlives the token it stands for. */
	if (expires > claims->exp)
		expires = claims->exp;
	if (expires <= now)
		return -1;

	victim = find(c, key);
	if (victim == NULL) {
		struct tcache_slot *set = set_of(c, key);

		victim = &set[auth_assoc_victim_in(&c->a, set,
		    offsetof(struct tcache_slot, used),
		    offsetof(struct tcache_slot, e.expires))];
	}
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
