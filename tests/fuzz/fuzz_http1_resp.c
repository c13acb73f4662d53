/* SPDX-License-Identifier: MIT */
/* Fuzzes h1_parse_response: the first byte picks HEAD (bit 0) and small
 * limits (bit 1). Verdicts are valid, views stay inside, framing follows
 * RFC 9112 §6.3 and is never ambiguous, prefixes agree, and parse ->
 * serialise -> parse gives the same head. */
#include <string.h>

#include "fuzz.h"
#include "http1.h"

#define CAP 128

static const struct h1_limits tiny = {256, 64, 8, 64};

static size_t
serialise(const struct h1_response *r, char *out)
{
	size_t n = 0, i;

#define PUT(p, l)                                                              \
	do {                                                                   \
		memcpy(out + n, (p), (l));                                     \
		n += (l);                                                      \
	} while (0)
	PUT(r->minor ? "HTTP/1.1 " : "HTTP/1.0 ", 9);
	out[n++] = (char)('0' + r->status / 100);
	out[n++] = (char)('0' + r->status / 10 % 10);
	out[n++] = (char)('0' + r->status % 10);
	if (r->reason_len > 0) {
		PUT(" ", 1);
		PUT(r->reason, r->reason_len);
	}
	PUT("\r\n", 2);
	for (i = 0; i < r->n_fields; i++) {
		PUT(r->fields[i].name, r->fields[i].name_len);
		PUT(":", 1);
		PUT(r->fields[i].value, r->fields[i].value_len);
		PUT("\r\n", 2);
	}
	PUT("\r\n", 2);
#undef PUT
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct h1_field f[CAP], f2[CAP];
	struct h1_response r, r2;
	struct h1_error e, e2;
	const struct h1_limits *lim;
	size_t i, len, n_cl = 0, n_te = 0, max_head;
	bool head;
	char *buf;
	int rc, rc2;

	if (size == 0)
		return 0;
	head = data[0] & 1;
	lim = data[0] & 2 ? &tiny : NULL;
	max_head = lim ? lim->max_head : H1_DEFAULT_MAX_HEAD;
	len = size - 1;
	buf = fuzz_dup(data + 1, len);
	rc = h1_parse_response(buf, len, lim, head, &r, f, CAP, &e);
	FUZZ_CHECK(rc == H1_INCOMPLETE || rc == H1_ERROR ||
	    (rc > 0 && (size_t)rc <= len && (size_t)rc <= max_head));
	if (rc == H1_ERROR)
		FUZZ_CHECK(e.status == 502 && e.code != NULL && e.at <= len);
	if (len > 1) {
		rc2 = h1_parse_response(buf, len / 2, lim, head, &r2, f2, CAP,
		    &e2);
		if (rc > 0 && len / 2 >= (size_t)rc)
			FUZZ_CHECK(rc2 == rc);
		else
			FUZZ_CHECK(rc2 == H1_INCOMPLETE ||
			    (rc2 == H1_ERROR && rc == H1_ERROR &&
			        strcmp(e.code, e2.code) == 0));
	}
	if (rc <= 0)
		goto out;

	FUZZ_CHECK(r.status >= 100 && r.status <= 599);
	FUZZ_CHECK(r.minor == 0 || r.minor == 1);
	FUZZ_CHECK(fuzz_view_inside(r.reason, r.reason_len, buf, (size_t)rc));
	for (i = 0; i < r.n_fields; i++) {
		FUZZ_CHECK(fuzz_view_inside(f[i].name, f[i].name_len, buf,
		    (size_t)rc));
		FUZZ_CHECK(fuzz_view_inside(f[i].value, f[i].value_len, buf,
		    (size_t)rc));
		n_cl += f[i].tok == H1_T_CONTENT_LENGTH;
		n_te += f[i].tok == H1_T_TRANSFER_ENCODING;
	}
	/* never both framings accepted, never two of one */
	FUZZ_CHECK(n_cl + n_te <= 1);
	FUZZ_CHECK(
	    r.chunked == (n_te == 1) && r.has_content_length == (n_cl == 1));
	FUZZ_CHECK(!r.chunked || r.minor == 1);
	/* RFC 9112 §6.3 */
	if (head || r.status < 200 || r.status == 204 || r.status == 304)
		FUZZ_CHECK(r.body == H1_BODY_NONE);
	else if (r.chunked)
		FUZZ_CHECK(r.body == H1_BODY_CHUNKED);
	else if (r.has_content_length)
		FUZZ_CHECK(r.body == H1_BODY_LENGTH);
	else
		FUZZ_CHECK(r.body == H1_BODY_CLOSE && !r.keep_alive);
	FUZZ_CHECK(r.status != 101 || !r.keep_alive);

	{
		char *s = malloc((size_t)rc + 1);
		size_t sl;

		if (s == NULL)
			abort();
		sl = serialise(&r, s);
		FUZZ_CHECK(sl <= (size_t)rc);
		rc2 = h1_parse_response(s, sl, lim, head, &r2, f2, CAP, &e2);
		FUZZ_CHECK(rc2 == (int)sl);
		FUZZ_CHECK(r2.status == r.status && r2.minor == r.minor &&
		    r2.body == r.body && r2.chunked == r.chunked &&
		    r2.has_content_length == r.has_content_length &&
		    r2.content_length == r.content_length &&
		    r2.keep_alive == r.keep_alive &&
		    r2.n_fields == r.n_fields && r2.reason_len == r.reason_len);
		for (i = 0; i < r.n_fields; i++)
			FUZZ_CHECK(f2[i].name_len == f[i].name_len &&
			    f2[i].value_len == f[i].value_len &&
			    memcmp(f2[i].name, f[i].name, f[i].name_len) == 0 &&
			    (f[i].value_len == 0 ||
			        memcmp(f2[i].value, f[i].value,
			            f[i].value_len) == 0));
		free(s);
	}
out:
	free(buf);
	return 0;
}
