/* SPDX-License-Identifier: MIT */
/* Fuzzes h1_chunked_step: the same bytes and verdict whatever the split,
 * views inside each piece, no more data than input, and decoded data
 * re-encoded decodes to itself. */
#include <string.h>

#include "fuzz.h"
#include "http1.h"

struct result {
	enum h1_chunk_status st;
	const char *code;
	size_t rest; /* bytes after DONE */
	char *data;
	size_t data_len;
};

/* Decodes |in| in pieces whose sizes come from |seed| (0: all at once,
 * 1: byte by byte), each piece in its own heap block so ASan sees any
 * read outside it. */
static void
decode(const char *in, size_t len, uint32_t seed, struct result *out)
{
	struct h1_chunked c;
	size_t off = 0;

	h1_chunked_init(&c);
	out->data = malloc(len + 1);
	if (out->data == NULL)
		abort();
	out->data_len = 0;
	out->code = NULL;
	out->rest = 0;
	out->st = H1_CHUNK_NEED;
	for (;;) {
		size_t piece = len - off, used = 0;
		char *p;

		if (seed == 1)
			piece = piece > 0 ? 1 : 0;
		else if (seed > 1) {
			seed = seed * 1103515245u + 12345u;
			if (piece > 0)
				piece = 1 + (seed >> 16) % piece;
		}
		p = fuzz_dup((const uint8_t *)in + off, piece);
		for (;;) {
			size_t consumed = 0, dl = 0;
			const char *d = NULL;
			enum h1_chunk_status st = h1_chunked_step(&c, p + used,
			    piece - used, &consumed, &d, &dl);

			FUZZ_CHECK(consumed <= piece - used);
			if (st == H1_CHUNK_DATA) {
				FUZZ_CHECK(dl > 0 && dl <= consumed);
				FUZZ_CHECK(fuzz_view_inside(d, dl, p + used,
				    consumed));
				/* data ends the consumed bytes */
				FUZZ_CHECK(d + dl == p + used + consumed);
				memcpy(out->data + out->data_len, d, dl);
				out->data_len += dl;
			}
			used += consumed;
			out->st = st;
			if (st == H1_CHUNK_DONE) {
				out->rest = len - off - used;
				free(p);
				return;
			}
			if (st == H1_CHUNK_ERROR) {
				FUZZ_CHECK(c.code != NULL);
				out->code = c.code;
				free(p);
				return;
			}
			if (st == H1_CHUNK_NEED) {
				FUZZ_CHECK(used == piece);
				break;
			}
			if (used == piece)
				break;
		}
		free(p);
		off += piece;
		if (off >= len) {
			out->st = H1_CHUNK_NEED;
			return;
		}
	}
}

static bool
same(const struct result *a, const struct result *b)
{
	return a->st == b->st && a->rest == b->rest &&
	    a->data_len == b->data_len &&
	    (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0) &&
	    (a->code == NULL) == (b->code == NULL) &&
	    (a->code == NULL || strcmp(a->code, b->code) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole, bytes, rnd, again;
	uint32_t seed = 2166136261u;
	size_t i;

	for (i = 0; i < size && i < 64; i++)
		seed = (seed ^ data[i]) * 16777619u;
	decode((const char *)data, size, 0, &whole);
	FUZZ_CHECK(whole.data_len <= size);
	decode((const char *)data, size, 1, &bytes);
	FUZZ_CHECK(same(&whole, &bytes));
	decode((const char *)data, size, seed | 2, &rnd);
	FUZZ_CHECK(same(&whole, &rnd));
	free(bytes.data);
	free(rnd.data);

	/* what was decoded, chunked again in one chunk, decodes to itself */
	if (whole.st == H1_CHUNK_DONE && whole.data_len > 0) {
		char *enc = malloc(whole.data_len + 32);
		int n;

		if (enc == NULL)
			abort();
		n = snprintf(enc, 32, "%zx;x=1\r\n", whole.data_len);
		memcpy(enc + n, whole.data, whole.data_len);
		memcpy(enc + n + whole.data_len, "\r\n0\r\n\r\n", 7);
		decode(enc, (size_t)n + whole.data_len + 7, seed | 2, &again);
		FUZZ_CHECK(again.st == H1_CHUNK_DONE && again.rest == 0 &&
		    again.data_len == whole.data_len &&
		    memcmp(again.data, whole.data, whole.data_len) == 0);
		free(again.data);
		free(enc);
	}
	free(whole.data);
	return 0;
}
