/* SPDX-License-Identifier: MIT */
/* Fuzzes h1_parse_request: verdicts are valid, views stay inside the input,
 * framing is never ambiguous, prefixes agree, and parse -> serialise ->
 * parse gives the same head. */
#include <string.h>

#include "fuzz.h"
#include "http1.h"

#define CAP 128

/* The small limits of the second pass, so they are reached often. */
static const struct h1_limits tiny = {256, 64, 8, 64};

static bool
valid_error(const struct h1_error *e, size_t size)
{
	return (e->status == 400 || e->status == 414 || e->status == 431 ||
	           e->status == 501 || e->status == 505) &&
	    e->code != NULL && e->code[0] != '\0' && e->at <= size;
}

static bool
same_error(const struct h1_error *a, const struct h1_error *b)
{
	return a->status == b->status && strcmp(a->code, b->code) == 0;
}

static bool
views_inside(const struct h1_request *r, const char *buf, size_t len)
{
	size_t i;

	if (!fuzz_view_inside(r->method, r->method_len, buf, len) ||
	    !fuzz_view_inside(r->target, r->target_len, buf, len) ||
	    !fuzz_view_inside(r->path, r->path_len, buf, len) ||
	    !fuzz_view_inside(r->authority, r->authority_len, buf, len) ||
	    !fuzz_view_inside(r->host, r->host_len, buf, len))
		return false;
	for (i = 0; i < r->n_fields; i++)
		if (!fuzz_view_inside(r->fields[i].name, r->fields[i].name_len,
		        buf, len) ||
		    !fuzz_view_inside(r->fields[i].value,
		        r->fields[i].value_len, buf, len))
			return false;
	return true;
}

/* The head again, minimal: no leading empty lines, "name:value". */
static size_t
serialise(const struct h1_request *r, char *out)
{
	size_t n = 0, i;

#define PUT(p, l)                                                              \
	do {                                                                   \
		memcpy(out + n, (p), (l));                                     \
		n += (l);                                                      \
	} while (0)
	PUT(r->method, r->method_len);
	PUT(" ", 1);
	PUT(r->target, r->target_len);
	PUT(r->minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n", 11);
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

static bool
eq(const char *a, size_t al, const char *b, size_t bl)
{
	return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

static void
check(const char *buf, size_t size, const struct h1_limits *lim)
{
	struct h1_field f[CAP], f2[CAP];
	struct h1_request r, r2;
	struct h1_error e, e2;
	size_t i, n_cl = 0, n_te = 0, n_host = 0, max_head, max_fields;
	int rc, rc2;

	max_head = lim ? lim->max_head : H1_DEFAULT_MAX_HEAD;
	max_fields = lim ? lim->max_fields : H1_DEFAULT_MAX_FIELDS;
	rc = h1_parse_request(buf, size, lim, &r, f, CAP, &e);
	FUZZ_CHECK(rc == H1_INCOMPLETE || rc == H1_ERROR ||
	    (rc > 0 && (size_t)rc <= size && (size_t)rc <= max_head));
	if (rc == H1_ERROR)
		FUZZ_CHECK(valid_error(&e, size));

	/* A prefix is incomplete or gets the same verdict. */
	for (i = 0; i < 3; i++) {
		size_t k = i == 0 ? size / 2
		    : i == 1      ? size - size / 8
		                  : size - 1;
		char *p;

		if (k >= size || (i > 0 && k == size / 2))
			continue;
		p = fuzz_dup((const uint8_t *)buf, k);
		rc2 = h1_parse_request(p, k, lim, &r2, f2, CAP, &e2);
		free(p);
		/* a prefix holding the whole head parses the same */
		if (rc > 0 && k >= (size_t)rc) {
			FUZZ_CHECK(rc2 == rc);
			continue;
		}
		if (rc2 == H1_INCOMPLETE)
			continue;
		FUZZ_CHECK(rc2 == H1_ERROR && rc == H1_ERROR);
		FUZZ_CHECK(same_error(&e, &e2));
	}
	if (rc <= 0)
		return;

	FUZZ_CHECK(views_inside(&r, buf, (size_t)rc));
	FUZZ_CHECK(r.n_fields <= max_fields && r.fields == f);
	FUZZ_CHECK(r.minor == 0 || r.minor == 1);
	FUZZ_CHECK(r.meth >= H1_M_GET && r.meth <= H1_M_OPTIONS);
	for (i = 0; i < r.n_fields; i++) {
		size_t k;

		FUZZ_CHECK(f[i].name_len > 0);
		for (k = 0; k < f[i].name_len; k++)
			FUZZ_CHECK(h1_is_tchar((unsigned char)f[i].name[k]));
		for (k = 0; k < f[i].value_len; k++) {
			unsigned char c = (unsigned char)f[i].value[k];

			FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
		}
		if (f[i].value_len > 0) {
			FUZZ_CHECK(
			    f[i].value[0] != ' ' && f[i].value[0] != '\t');
			FUZZ_CHECK(f[i].value[f[i].value_len - 1] != ' ' &&
			    f[i].value[f[i].value_len - 1] != '\t');
		}
		FUZZ_CHECK(
		    f[i].tok == h1_token_lookup(f[i].name, f[i].name_len));
		n_cl += f[i].tok == H1_T_CONTENT_LENGTH;
		n_te += f[i].tok == H1_T_TRANSFER_ENCODING;
		n_host += f[i].tok == H1_T_HOST;
	}
	/* Never both framings, never two of one, always one Host. */
	FUZZ_CHECK(n_cl + n_te <= 1 && n_host == 1);
	FUZZ_CHECK((r.body == H1_BODY_CHUNKED) == (n_te == 1));
	FUZZ_CHECK((r.body == H1_BODY_LENGTH) == (n_cl == 1));
	FUZZ_CHECK(r.body != H1_BODY_CHUNKED || r.minor == 1);
	FUZZ_CHECK(r.target_len > 0 && (r.target[0] == '/' || r.absolute_form));
	FUZZ_CHECK(
	    !r.upgrade_websocket || (r.meth == H1_M_GET && r.minor == 1));

	/* parse -> serialise -> parse: the same head */
	{
		char *s = malloc((size_t)rc + 1);
		size_t sl;

		if (s == NULL)
			abort();
		sl = serialise(&r, s);
		FUZZ_CHECK(sl <= (size_t)rc);
		rc2 = h1_parse_request(s, sl, lim, &r2, f2, CAP, &e2);
		FUZZ_CHECK(rc2 == (int)sl);
		FUZZ_CHECK(r2.meth == r.meth && r2.minor == r.minor &&
		    r2.body == r.body &&
		    r2.content_length == r.content_length &&
		    r2.keep_alive == r.keep_alive &&
		    r2.expect_continue == r.expect_continue &&
		    r2.upgrade_websocket == r.upgrade_websocket &&
		    r2.absolute_form == r.absolute_form &&
		    r2.n_fields == r.n_fields);
		FUZZ_CHECK(
		    eq(r2.target, r2.target_len, r.target, r.target_len));
		FUZZ_CHECK(eq(r2.path, r2.path_len, r.path, r.path_len));
		FUZZ_CHECK(eq(r2.authority, r2.authority_len, r.authority,
		    r.authority_len));
		for (i = 0; i < r.n_fields; i++)
			FUZZ_CHECK(eq(f2[i].name, f2[i].name_len, f[i].name,
			               f[i].name_len) &&
			    eq(f2[i].value, f2[i].value_len, f[i].value,
			        f[i].value_len));
		free(s);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_dup(data, size);

	check(buf, size, NULL);
	check(buf, size, &tiny);
	free(buf);
	return 0;
}
