/* SPDX-License-Identifier: MIT */
/* Crypto test helpers: fixtures, guard pages, a JWS signer. */
#ifndef TESTS_CRYPTO_TESTUTIL_H
#define TESTS_CRYPTO_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must be defined by meson"
#endif

/* Reads TEST_DATA_DIR/|rel| into a NUL-terminated malloc'd buffer; exits
 * on failure (a missing fixture is a broken test, not a failed case). */
static inline char *
tu_read(const char *rel, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, rel);
	f = fopen(path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "Bail out! cannot read %s\n", path);
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

/*
 * Guard-page copies (the picohttpparser trick): |len| bytes placed so that
 * the byte after the last one is on a PROT_NONE page, so any read past the
 * input faults at once even without ASan.
 */
struct tu_guard {
	void *map;
	size_t map_len;
	char *ptr;
};

static inline char *
tu_guard_copy(struct tu_guard *g, const void *src, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_pages = (len + page - 1) / page;

	if (data_pages == 0)
		data_pages = 1;
	g->map_len = (data_pages + 1) * page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED) {
		printf("Bail out! mmap\n");
		exit(1);
	}
	if (mprotect((char *)g->map + data_pages * page, page, PROT_NONE)) {
		printf("Bail out! mprotect\n");
		exit(1);
	}
	g->ptr = (char *)g->map + data_pages * page - len;
	if (len > 0)
		memcpy(g->ptr, src, len);
	return g->ptr;
}

static inline void
tu_guard_free(struct tu_guard *g)
{
	munmap(g->map, g->map_len);
	memset(g, 0, sizeof(*g));
}

static inline EVP_PKEY *
tu_load_priv(const char *rel)
{
	char *pem = tu_read(rel, NULL);
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	free(pem);
	if (pk == NULL) {
		printf("Bail out! cannot load %s\n", rel);
		exit(1);
	}
	return pk;
}

static inline char *
tu_b64url(const unsigned char *in, size_t len)
{
	size_t cap = len / 3 * 4 + 5, out_len;
	char *out = malloc(cap);

	if (out == NULL || b64url_encode(in, len, out, cap, &out_len) != 0) {
		printf("Bail out! b64url_encode\n");
		exit(1);
	}
	return out;
}

/* How tu_jws signs. */
struct tu_signer {
	const char *alg; /* what to sign with: "HS256", ..., "EdDSA" */
	EVP_PKEY *pk;    /* private key, or NULL for HS */
	const unsigned char *secret;
	size_t secret_len;
	int pss_salt; /* PS: salt length; 0 means the digest length */
	int es_der;   /* ES: leave the signature DER-encoded */
};

static inline const char *
tu_md(const char *alg)
{
	if (strcmp(alg, "EdDSA") == 0)
		return NULL;
	if (strstr(alg, "256"))
		return "SHA256";
	if (strstr(alg, "384"))
		return "SHA384";
	return "SHA512";
}

/* Signs |msg| as |s| says into |sig| (room for 1024 bytes). */
static inline size_t
tu_sign(const struct tu_signer *s, const char *msg, size_t msg_len,
    unsigned char *sig)
{
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	const char *md = tu_md(s->alg);
	size_t len = 1024;

	if (s->alg[0] == 'H') {
		unsigned int n = 0;
		const EVP_MD *m = EVP_get_digestbyname(md);

		HMAC(m, s->secret, (int)s->secret_len,
		    (const unsigned char *)msg, msg_len, sig, &n);
		return n;
	}
	ctx = EVP_MD_CTX_new();
	if (EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, s->pk, NULL) !=
	    1) {
		printf("Bail out! DigestSignInit %s\n", s->alg);
		exit(1);
	}
	if (s->alg[0] == 'P') {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    s->pss_salt ? s->pss_salt : RSA_PSS_SALTLEN_DIGEST);
	}
	if (EVP_DigestSign(ctx, sig, &len, (const unsigned char *)msg,
	        msg_len) != 1) {
		printf("Bail out! DigestSign %s\n", s->alg);
		exit(1);
	}
	EVP_MD_CTX_free(ctx);
	if (s->alg[0] == 'E' && s->alg[1] == 'S' && !s->es_der) {
		/* DER -> r||s (RFC 7518 §3.4). */
		size_t coord = strstr(s->alg, "256") ? 32
		    : strstr(s->alg, "384")          ? 48
		                                     : 66;
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		const BIGNUM *r, *ss;

		ECDSA_SIG_get0(es, &r, &ss);
		BN_bn2binpad(r, sig, (int)coord);
		BN_bn2binpad(ss, sig + coord, (int)coord);
		ECDSA_SIG_free(es);
		len = 2 * coord;
	}
	return len;
}

/* Builds header.payload.signature from JSON texts; malloc'd. */
static inline char *
tu_jws(const struct tu_signer *s, const char *hdr, const char *payload)
{
	char *h = tu_b64url((const unsigned char *)hdr, strlen(hdr));
	char *p = tu_b64url((const unsigned char *)payload, strlen(payload));
	size_t si_len = strlen(h) + 1 + strlen(p);
	char *si = malloc(si_len + 1);
	unsigned char sig[1024];
	size_t sig_len;
	char *sg, *tok;

	snprintf(si, si_len + 1, "%s.%s", h, p);
	sig_len = tu_sign(s, si, si_len, sig);
	sg = tu_b64url(sig, sig_len);
	tok = malloc(si_len + 2 + strlen(sg));
	sprintf(tok, "%s.%s", si, sg);
	free(h);
	free(p);
	free(si);
	free(sg);
	return tok;
}

#endif /* TESTS_CRYPTO_TESTUTIL_H */
