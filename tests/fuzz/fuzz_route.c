/* SPDX-License-Identifier: MIT */
/* Fuzzes route matching and binding checks on canonical and raw paths. */
#include <string.h>

#include "fuzz.h"

/*
 * Input: "<subject>\n<path>", or just "<path>" (subject "user123"). The
 * path is matched raw and, when auth_path_canon accepts it, canonical.
 */

struct spec {
	const char *pattern;
	enum auth_mode mode;
	const char *rule; /* NULL: none */
};

static const struct spec specs[] = {
    {"/api/{user_id}/**", AUTH_MODE_REQUIRED, "user_id == sub"},
    {"/orgs/{org}/items/{item}", AUTH_MODE_REQUIRED, "org == claim.org_id"},
    {"/admin/**", AUTH_MODE_REQUIRED, "claim.role == \"admin\""},
    {"/public/**", AUTH_MODE_NONE, NULL},
    {"/users/{user_id}/profile", AUTH_MODE_OPTIONAL, "user_id == sub"},
    {"/healthz", AUTH_MODE_NONE, NULL},
    {"/a:b/{x}", AUTH_MODE_OPTIONAL, NULL},
    {"/files/{a}/{b}/**", AUTH_MODE_REQUIRED, "a == sub"},
};
#define N_SPECS (sizeof(specs) / sizeof(specs[0]))

static struct auth_route_table *table;           /* every route, in order */
static struct auth_route_table *single[N_SPECS]; /* one route each */

static void
setup(void)
{
	char err[256];

	table = auth_route_table_new();
	FUZZ_CHECK(table != NULL);
	for (size_t i = 0; i < N_SPECS; i++) {
		struct auth_route r;

		memset(&r, 0, sizeof(r));
		snprintf(r.pattern, sizeof(r.pattern), "%s", specs[i].pattern);
		r.mode = specs[i].mode;
		r.tag = (int)i;
		if (specs[i].rule != NULL) {
			FUZZ_CHECK(auth_rule_parse(specs[i].rule, &r.rules[0],
			               err, sizeof(err)) == 0);
			r.n_rules = 1;
		}
		FUZZ_CHECK(auth_route_add(table, &r, err, sizeof(err)) == 0);
		single[i] = auth_route_table_new();
		FUZZ_CHECK(single[i] != NULL);
		FUZZ_CHECK(
		    auth_route_add(single[i], &r, err, sizeof(err)) == 0);
	}
	FUZZ_CHECK(auth_route_count(table) == N_SPECS);
}

/* Does segment |s| percent-decode to exactly |want|? (The backend's view
 * of a path variable; written independently of route.c.) */
static bool
decodes_to(const char *s, size_t n, const char *want, size_t want_len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (n - i < 3 ||
			    fuzz_hexval((unsigned char)s[i + 1]) < 0 ||
			    fuzz_hexval((unsigned char)s[i + 2]) < 0)
				return false;
			c = (unsigned char)(fuzz_hexval((unsigned char)s[i + 1])
			        << 4 |
			    fuzz_hexval((unsigned char)s[i + 2]));
			i += 2;
		}
		if (o >= want_len || (unsigned char)want[o] != c)
			return false;
		o++;
	}
	return o == want_len;
}

static const struct auth_view *
var(const struct auth_match *m, const char *name)
{
	for (size_t i = 0; i < m->n_vars; i++)
		if (strcmp(m->vars[i].name, name) == 0)
			return &m->vars[i].val;
	return NULL;
}

static void
check_match(const char *path, size_t len, const struct auth_claims *c,
    const struct auth_claims *noclaims)
{
	struct auth_match m;
	enum auth_status st, ck;
	const struct auth_view *v;

	memset(&m, 0xa5, sizeof(m));
	st = auth_route_match(table, path, len, &m);
	FUZZ_CHECK(st == AUTH_OK || st == AUTH_NO_ROUTE);
	if (len == 0 || path[0] != '/')
		FUZZ_CHECK(st == AUTH_NO_ROUTE);
	/* First match wins: no earlier route matches alone, this one
	 * does. */
	for (size_t j = 0; j < N_SPECS; j++) {
		struct auth_match sm;
		enum auth_status s1 =
		    auth_route_match(single[j], path, len, &sm);

		FUZZ_CHECK(s1 == AUTH_OK || s1 == AUTH_NO_ROUTE);
		if (st == AUTH_NO_ROUTE || j < m.index)
			FUZZ_CHECK(s1 == AUTH_NO_ROUTE);
		else if (j == m.index)
			FUZZ_CHECK(s1 == AUTH_OK && sm.n_vars == m.n_vars);
	}
	if (st != AUTH_OK)
		return;

	FUZZ_CHECK(m.index < N_SPECS);
	FUZZ_CHECK(m.route == auth_route_get(table, m.index));
	FUZZ_CHECK(m.route->tag == (int)m.index);
	FUZZ_CHECK(m.n_vars <= AUTH_MAX_ROUTE_VARS);
	for (size_t i = 0; i < m.n_vars; i++) {
		const struct auth_view *b = &m.vars[i].val;

		FUZZ_CHECK(m.vars[i].name != NULL);
		FUZZ_CHECK(strstr(m.route->pattern, m.vars[i].name) != NULL);
		FUZZ_CHECK(b->len > 0);
		FUZZ_CHECK(fuzz_view_inside(b->ptr, b->len, path, len));
		FUZZ_CHECK(memchr(b->ptr, '/', b->len) == NULL);
	}

	ck = auth_route_check(&m, c);
	FUZZ_CHECK(ck == AUTH_OK || ck == AUTH_FORBIDDEN);
	switch (m.index) {
	case 0:
	case 4:
		v = var(&m, "user_id");
		FUZZ_CHECK(v != NULL);
		FUZZ_CHECK((ck == AUTH_OK) ==
		    decodes_to(v->ptr, v->len, c->sub, c->sub_len));
		break;
	case 7:
		v = var(&m, "a");
		FUZZ_CHECK(v != NULL && var(&m, "b") != NULL);
		FUZZ_CHECK((ck == AUTH_OK) ==
		    decodes_to(v->ptr, v->len, c->sub, c->sub_len));
		break;
	case 1:
		v = var(&m, "org");
		FUZZ_CHECK(v != NULL && var(&m, "item") != NULL);
		FUZZ_CHECK(
		    (ck == AUTH_OK) == decodes_to(v->ptr, v->len, "acme", 4));
		break;
	case 2:
		FUZZ_CHECK(ck == AUTH_OK); /* role is "admin" */
		break;
	default:
		FUZZ_CHECK(m.route->n_rules == 0 && ck == AUTH_OK);
		break;
	}
	/* Without claims, or without the kept claims, every rule fails. */
	ck = auth_route_check(&m, NULL);
	FUZZ_CHECK(ck == (m.route->n_rules > 0 ? AUTH_FORBIDDEN : AUTH_OK));
	ck = auth_route_check(&m, noclaims);
	if (m.index == 1 || m.index == 2)
		FUZZ_CHECK(ck == AUTH_FORBIDDEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const char extra[] = "{\"org_id\":\"acme\",\"role\":\"admin\"}";
	struct auth_claims c, none;
	const uint8_t *nl = memchr(data, '\n', size);
	const uint8_t *p = data;
	size_t n = size, clen = (size_t)-1;
	char *path, *canon;

	if (!ready) {
		setup();
		ready = true;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.sub, "user123", 8);
	c.sub_len = 7;
	if (nl != NULL && nl > data &&
	    (size_t)(nl - data) <= AUTH_MAX_SUB_LEN &&
	    memchr(data, '\0', (size_t)(nl - data)) == NULL) {
		c.sub_len = (size_t)(nl - data);
		memcpy(c.sub, data, c.sub_len);
		c.sub[c.sub_len] = '\0';
		p = nl + 1;
		n = size - (size_t)(p - data);
	}
	c.exp = INT64_MAX;
	c.alg = AUTH_ALG_HS256;
	memcpy(c.extra, extra, sizeof(extra));
	c.extra_len = sizeof(extra) - 1;
	none = c;
	memcpy(none.extra, "{}", 3);
	none.extra_len = 2;

	path = fuzz_dup(p, n);
	check_match(path, n, &c, &none);
	canon = malloc(AUTH_MAX_PATH_LEN + 1);
	if (canon == NULL)
		abort();
	if (auth_path_canon(path, n, canon, AUTH_MAX_PATH_LEN + 1, &clen) ==
	    AUTH_OK) {
		char *exact = fuzz_dup((const uint8_t *)canon, clen);

		check_match(exact, clen, &c, &none);
		free(exact);
	}
	free(canon);
	free(path);
	return 0;
}
