/* SPDX-License-Identifier: MIT */
/* Tests for auth/route.c: patterns, first-match order, {name} and **, rules and
 * bindings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "claims_testutil.h"
#include "guard.h"
#include "tap.h"

static struct guard g;

/* jansson's allocator, failing when the countdown reaches 0. */
static long alloc_countdown = -1;
static long alloc_failed;

static void *
j_malloc(size_t n)
{
	if (alloc_countdown >= 0 && alloc_countdown-- == 0) {
		alloc_failed++;
		return NULL;
	}
	return malloc(n);
}

/* ------------------------------------------------------------ helpers */

/* Builds a route from a pattern, a literal case and up to three rule
 * texts. */
static int
add_lc(struct auth_route_table *t, const char *pattern, enum auth_mode mode,
    enum auth_lit_case lc, int tag, const char *r1, const char *r2,
    const char *r3, char *err, size_t err_len)
{
	struct auth_route r;
	const char *rules[3] = {r1, r2, r3};
	size_t i;

	memset(&r, 0, sizeof(r));
	snprintf(r.pattern, sizeof(r.pattern), "%s", pattern);
	r.mode = mode;
	r.tag = tag;
	r.lit_case = lc;
	for (i = 0; i < 3 && rules[i] != NULL; i++) {
		if (auth_rule_parse(rules[i], &r.rules[r.n_rules++], err,
		        err_len) != 0)
			return -2;
	}
	return auth_route_add(t, &r, err, err_len);
}

/* The same with the default literal case. */
static int
add(struct auth_route_table *t, const char *pattern, enum auth_mode mode,
    int tag, const char *r1, const char *r2, const char *r3, char *err,
    size_t err_len)
{
	return add_lc(t, pattern, mode, AUTH_LIT_CASE_DEFAULT, tag, r1, r2, r3,
	    err, err_len);
}

/* Formats |m|'s bindings as "name=value,name=value". */
static void
fmt_vars(const struct auth_match *m, char *out, size_t cap)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < m->n_vars && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s=%.*s",
		    i ? "," : "", m->vars[i].name, (int)m->vars[i].val.len,
		    m->vars[i].val.ptr);
}

/* --------------------------------------------------------- rule parse */

struct rule_case {
	const char *text;
	int ok;
	enum auth_rule_kind kind;
	const char *var, *claim, *value;
};

static const struct rule_case rule_cases[] = {
    {"user_id == sub", 1, AUTH_RULE_VAR_SUB, "user_id", "", ""},
    {"user_id==sub", 1, AUTH_RULE_VAR_SUB, "user_id", "", ""},
    {" \tuser_id \t== \tsub \t", 1, AUTH_RULE_VAR_SUB, "user_id", "", ""},
    {"_x9 == sub", 1, AUTH_RULE_VAR_SUB, "_x9", "", ""},
    {"org == claim.org_id", 1, AUTH_RULE_VAR_CLAIM, "org", "org_id", ""},
    {"org==claim.x-tenant", 1, AUTH_RULE_VAR_CLAIM, "org", "x-tenant", ""},
    {"claim.role == \"admin\"", 1, AUTH_RULE_CLAIM_VALUE, "", "role", "admin"},
    {"claim.role==\"a b\"", 1, AUTH_RULE_CLAIM_VALUE, "", "role", "a b"},
    {"claim.role == \"\"", 1, AUTH_RULE_CLAIM_VALUE, "", "role", ""},
    {"claim.q == \"a\\\"b\\\\c\"", 1, AUTH_RULE_CLAIM_VALUE, "", "q",
        "a\"b\\c"},
    {"claim.role == \"caf\xc3\xa9\"", 1, AUTH_RULE_CLAIM_VALUE, "", "role",
        "caf\xc3\xa9"},

    {"", 0, 0, NULL, NULL, NULL},
    {"   ", 0, 0, NULL, NULL, NULL},
    {"user_id", 0, 0, NULL, NULL, NULL},
    {"user_id ==", 0, 0, NULL, NULL, NULL},
    {"user_id = sub", 0, 0, NULL, NULL, NULL},
    {"user_id != sub", 0, 0, NULL, NULL, NULL},
    {"user_id === sub", 0, 0, NULL, NULL, NULL},
    {"user_id == subx", 0, 0, NULL, NULL, NULL},
    {"user_id == sub x", 0, 0, NULL, NULL, NULL},
    {"user_id == sub;", 0, 0, NULL, NULL, NULL},
    {"user_id == SUB", 0, 0, NULL, NULL, NULL},
    {"user_id == \"u1\"", 0, 0, NULL, NULL, NULL},
    {"user_id == claim.", 0, 0, NULL, NULL, NULL},
    {"user_id == claim.1x", 0, 0, NULL, NULL, NULL},
    {"user_id == claim.a.b", 0, 0, NULL, NULL, NULL},
    {"user_id == other_var", 0, 0, NULL, NULL, NULL},
    {"1x == sub", 0, 0, NULL, NULL, NULL},
    {"user-id == sub", 0, 0, NULL, NULL, NULL},
    {"{user_id} == sub", 0, 0, NULL, NULL, NULL},
    {"claim.role == admin", 0, 0, NULL, NULL, NULL},
    {"claim.role == \"admin", 0, 0, NULL, NULL, NULL},
    {"claim.role == \"admin\" x", 0, 0, NULL, NULL, NULL},
    {"claim.role == sub", 0, 0, NULL, NULL, NULL},
    {"claim.role == claim.x", 0, 0, NULL, NULL, NULL},
    {"claim. == \"x\"", 0, 0, NULL, NULL, NULL},
    {"claim.role == \"a\\nb\"", 0, 0, NULL, NULL, NULL},
    {"claim.role == \"a\tb\"", 0, 0, NULL, NULL, NULL},
    {"\"admin\" == claim.role", 0, 0, NULL, NULL, NULL},
    {"sub == user_id", 0, 0, NULL, NULL, NULL},
};

static void
test_rule_parse(void)
{
	size_t i;
	char err[256], big[600];
	struct auth_rule r;

	for (i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *tc = &rule_cases[i];
		int rv;

		err[0] = '\0';
		memset(&r, 0x55, sizeof(r));
		rv = auth_rule_parse(tc->text, &r, err, sizeof(err));
		is_int(rv, tc->ok ? 0 : -1, "rule \"%s\"", tc->text);
		if (tc->ok && rv == 0) {
			ok(r.kind == tc->kind && strcmp(r.var, tc->var) == 0 &&
			        strcmp(r.claim, tc->claim) == 0 &&
			        strcmp(r.value, tc->value) == 0,
			    "rule \"%s\": fields", tc->text);
		} else if (!tc->ok) {
			ok(err[0] != '\0' && strstr(err, "rule") != NULL,
			    "rule \"%s\": message \"%s\"", tc->text, err);
		}
	}

	/* Lengths: names up to 63 bytes, literals up to 255. */
	memset(big, 'a', sizeof(big));
	snprintf(big + 63, sizeof(big) - 63, " == sub");
	is_int(auth_rule_parse(big, &r, err, sizeof(err)), 0,
	    "63-byte variable name");
	memset(big, 'a', sizeof(big));
	snprintf(big + 64, sizeof(big) - 64, " == sub");
	is_int(auth_rule_parse(big, &r, err, sizeof(err)), -1,
	    "64-byte variable name");
	memcpy(big, "claim.x == \"", 12);
	memset(big + 12, 'v', 255);
	snprintf(big + 12 + 255, sizeof(big) - 12 - 255, "\"");
	is_int(auth_rule_parse(big, &r, err, sizeof(err)), 0,
	    "255-byte literal");
	is_int(strlen(r.value), 255, "255-byte literal: kept whole");
	memset(big + 12, 'v', 256);
	snprintf(big + 12 + 256, sizeof(big) - 12 - 256, "\"");
	is_int(auth_rule_parse(big, &r, err, sizeof(err)), -1,
	    "256-byte literal");
	is_int(auth_rule_parse(NULL, &r, err, sizeof(err)), -1, "NULL rule");
}

/* ----------------------------------------------------------- patterns */

struct pat_case {
	const char *pattern;
	const char *rule; /* or NULL */
	int ok;
};

static const struct pat_case pat_cases[] = {
    {"/", NULL, 1},
    {"/**", NULL, 1},
    {"/a", NULL, 1},
    {"/a/", NULL, 1},
    {"/a/b/c", NULL, 1},
    {"/{x}", NULL, 1},
    {"/a/{x}/**", "x == sub", 1},
    {"/a/{x}/b/{y}", "y == claim.org", 1},
    {"/a:b/@c/!$&'()+,;=", NULL, 1},
    {"/.well-known/x", NULL, 1},
    {"/a/...", NULL, 1},
    {"/{_a1}", NULL, 1},

    {"", NULL, 0},
    {"a", NULL, 0},
    {"a/b", NULL, 0},
    {"**", NULL, 0},
    {"//", NULL, 0},
    {"/a//b", NULL, 0},
    {"//a", NULL, 0},
    {"/**/a", NULL, 0},
    {"/a/**/b", NULL, 0},
    {"/**/**", NULL, 0},
    {"/*", NULL, 0},
    {"/a*", NULL, 0},
    {"/***", NULL, 0},
    {"/a/**b", NULL, 0},
    {"/{", NULL, 0},
    {"/{}", NULL, 0},
    {"/{x", NULL, 0},
    {"/x}", NULL, 0},
    {"/a{x}", NULL, 0},
    {"/{x}a", NULL, 0},
    {"/{1x}", NULL, 0},
    {"/{x-y}", NULL, 0},
    {"/{x.y}", NULL, 0},
    {"/{x}/{x}", NULL, 0},
    {"/a/%41", NULL, 0},
    {"/a b", NULL, 0},
    {"/a\\b", NULL, 0},
    {"/a?b", NULL, 0},
    {"/a#b", NULL, 0},
    {"/caf\xc3\xa9", NULL, 0},
    {"/a/.", NULL, 0},
    {"/a/../b", NULL, 0},
    {"/{x}", "y == sub", 0},
    {"/a", "x == sub", 0},
    {"/a", "x == claim.org", 0},
};

static void
test_patterns(void)
{
	struct auth_route_table *t = auth_route_table_new();
	struct auth_route r;
	char err[256], pat[64];
	size_t i, n = 0;

	ok(t != NULL, "table");
	for (i = 0; i < sizeof(pat_cases) / sizeof(pat_cases[0]); i++) {
		const struct pat_case *tc = &pat_cases[i];
		int rv;

		err[0] = '\0';
		rv = add(t, tc->pattern, AUTH_MODE_REQUIRED, 0, tc->rule, NULL,
		    NULL, err, sizeof(err));
		is_int(rv, tc->ok ? 0 : -1, "pattern \"%s\"%s%s", tc->pattern,
		    tc->rule ? " with " : "", tc->rule ? tc->rule : "");
		if (rv == 0)
			n++;
		else
			ok(err[0] != '\0', "pattern \"%s\": message \"%s\"",
			    tc->pattern, err);
	}
	is_int(auth_route_count(t), n, "only valid routes were added");
	ok(auth_route_get(t, n) == NULL, "get past the end");

	/* Variables: 8 fit, 9 do not. */
	snprintf(pat, sizeof(pat), "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}");
	is_int(add(t, pat, AUTH_MODE_NONE, 0, NULL, NULL, NULL, err,
	           sizeof(err)),
	    0, "%d variables", AUTH_MAX_ROUTE_VARS);
	snprintf(pat, sizeof(pat), "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}");
	is_int(add(t, pat, AUTH_MODE_NONE, 0, NULL, NULL, NULL, err,
	           sizeof(err)),
	    -1, "%d variables", AUTH_MAX_ROUTE_VARS + 1);

	/* Unterminated pattern, too many rules, unknown mode or kind. */
	memset(&r, 0, sizeof(r));
	memset(r.pattern, 'a', sizeof(r.pattern));
	r.pattern[0] = '/';
	is_int(auth_route_add(t, &r, err, sizeof(err)), -1,
	    "pattern without NUL");
	r.pattern[sizeof(r.pattern) - 1] = '\0';
	is_int(auth_route_add(t, &r, err, sizeof(err)), 0,
	    "pattern of 511 bytes");
	memset(&r, 0, sizeof(r));
	snprintf(r.pattern, sizeof(r.pattern), "/{x}");
	for (i = 0; i < AUTH_MAX_ROUTE_RULES; i++)
		auth_rule_parse("x == sub", &r.rules[i], err, sizeof(err));
	r.n_rules = AUTH_MAX_ROUTE_RULES;
	is_int(auth_route_add(t, &r, err, sizeof(err)), 0, "%d rules",
	    AUTH_MAX_ROUTE_RULES);
	r.n_rules = AUTH_MAX_ROUTE_RULES + 1;
	is_int(auth_route_add(t, &r, err, sizeof(err)), -1, "%d rules",
	    AUTH_MAX_ROUTE_RULES + 1);
	r.n_rules = 1;
	r.rules[0].kind = (enum auth_rule_kind)7;
	is_int(auth_route_add(t, &r, err, sizeof(err)), -1,
	    "rule of unknown kind");
	r.n_rules = 0;
	r.mode = (enum auth_mode)9;
	is_int(auth_route_add(t, &r, err, sizeof(err)), -1, "unknown mode");
	auth_route_table_free(t);
	auth_route_table_free(NULL);
}

/* ----------------------------------------------------------- matching */

static const char *const table_patterns[] = {
    "/",                                /* 0 */
    "/api/public/**",                   /* 1 */
    "/api/users/{user_id}",             /* 2 */
    "/api/users/me",                    /* 3: shadowed by 2 */
    "/api/users/{user_id}/files/**",    /* 4 */
    "/api/orgs/{org}/members/{member}", /* 5 */
    "/api/admin/**",                    /* 6 */
    "/api/**",                          /* 7 */
    "/a:b/x",                           /* 8 */
    "/static/{name}",                   /* 9 */
    "/exact/",                          /* 10 */
};

struct match_case {
	const char *path;
	enum auth_status want;
	size_t index;
	const char *vars;
};

static const struct match_case match_cases[] = {
    {"/", AUTH_OK, 0, ""},
    {"/api/public", AUTH_OK, 1, ""},
    {"/api/public/", AUTH_OK, 1, ""},
    {"/api/public/x", AUTH_OK, 1, ""},
    {"/api/public/x/y/z", AUTH_OK, 1, ""},
    {"/api/publicx", AUTH_OK, 7, ""},
    {"/api/users/u1", AUTH_OK, 2, "user_id=u1"},
    {"/api/users/u1/", AUTH_OK, 2, "user_id=u1"},
    {"/api/users/me", AUTH_OK, 2, "user_id=me"},
    {"/api/users/%3A%C3%A9", AUTH_OK, 2, "user_id=%3A%C3%A9"},
    {"/api/users", AUTH_OK, 7, ""},
    {"/api/users/", AUTH_OK, 7, ""},
    {"/api/users/u1/files", AUTH_OK, 4, "user_id=u1"},
    {"/api/users/u1/files/", AUTH_OK, 4, "user_id=u1"},
    {"/api/users/u1/files/a/b", AUTH_OK, 4, "user_id=u1"},
    {"/api/users/u1/filesx", AUTH_OK, 7, ""},
    {"/api/users/u1/other", AUTH_OK, 7, ""},
    {"/api/orgs/acme/members/bob", AUTH_OK, 5, "org=acme,member=bob"},
    {"/api/orgs/acme/members", AUTH_OK, 7, ""},
    {"/api/orgs/acme/members/bob/x", AUTH_OK, 7, ""},
    {"/api/admin", AUTH_OK, 6, ""},
    {"/api/admin/", AUTH_OK, 6, ""},
    {"/api/admin/users/1", AUTH_OK, 6, ""},
    {"/api/Admin", AUTH_OK, 7, ""},
    {"/api", AUTH_OK, 7, ""},
    {"/api/", AUTH_OK, 7, ""},
    {"/a:b/x", AUTH_OK, 8, ""},
    {"/a%3Ab/x", AUTH_OK, 8, ""},
    {"/a%3Ab/x/", AUTH_OK, 8, ""},
    {"/a%3Ab/y", AUTH_NO_ROUTE, 0, NULL},
    {"/static/%7Bx%7D", AUTH_OK, 9, "name=%7Bx%7D"},
    {"/static/a.css", AUTH_OK, 9, "name=a.css"},
    {"/static", AUTH_NO_ROUTE, 0, NULL},
    {"/static/", AUTH_NO_ROUTE, 0, NULL},
    {"/static/a/b", AUTH_NO_ROUTE, 0, NULL},
    {"/exact", AUTH_OK, 10, ""},
    {"/exact/", AUTH_OK, 10, ""},
    {"/API", AUTH_NO_ROUTE, 0, NULL},
    {"/API/public", AUTH_NO_ROUTE, 0, NULL},
    {"/apix", AUTH_NO_ROUTE, 0, NULL},
    {"/ap", AUTH_NO_ROUTE, 0, NULL},
    {"/other", AUTH_NO_ROUTE, 0, NULL},
    {"", AUTH_NO_ROUTE, 0, NULL},
    {"api", AUTH_NO_ROUTE, 0, NULL},
    /* Not canonical, but still never a wrong match. */
    {"//", AUTH_NO_ROUTE, 0, NULL},
    {"/static//", AUTH_NO_ROUTE, 0, NULL},
    {"/api/users//", AUTH_OK, 7, ""},
    {"/api/orgs//members/bob", AUTH_OK, 7, ""},
};

static struct auth_route_table *
make_table(void)
{
	struct auth_route_table *t = auth_route_table_new();
	char err[256];
	size_t i;

	if (t == NULL)
		exit(2);
	for (i = 0; i < sizeof(table_patterns) / sizeof(table_patterns[0]);
	     i++) {
		const char *rule = NULL;

		if (strstr(table_patterns[i], "{user_id}"))
			rule = "user_id == sub";
		else if (strstr(table_patterns[i], "{org}"))
			rule = "org == claim.org_id";
		else if (strcmp(table_patterns[i], "/api/admin/**") == 0)
			rule = "claim.role == \"admin\"";
		/* Case-sensitive here; test_case_fold has the default. */
		if (add_lc(t, table_patterns[i], AUTH_MODE_REQUIRED,
		        AUTH_LIT_CASE_SENSITIVE, (int)i, rule, NULL, NULL, err,
		        sizeof(err)) != 0) {
			printf("# %s\n", err);
			exit(2);
		}
	}
	return t;
}

static void
test_match(void)
{
	struct auth_route_table *t = make_table();
	size_t i, k;

	is_int(auth_route_count(t),
	    sizeof(table_patterns) / sizeof(table_patterns[0]), "table size");
	is_str(auth_route_get(t, 5)->pattern, table_patterns[5],
	    "get returns the route in order");
	is_int(auth_route_get(t, 5)->tag, 5, "get keeps the tag");

	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *tc = &match_cases[i];
		size_t len = strlen(tc->path);
		const char *path = guard_put(&g, tc->path, len);
		struct auth_match m;
		char vars[256];
		enum auth_status st;
		int inside = 1;

		st = auth_route_match(t, path, len, &m);
		is_int(st, tc->want, "match \"%s\"", tc->path);
		if (st != AUTH_OK || tc->want != AUTH_OK)
			continue;
		is_int(m.index, tc->index, "match \"%s\": route %s", tc->path,
		    table_patterns[tc->index]);
		ok(m.route == auth_route_get(t, m.index),
		    "match \"%s\": route pointer", tc->path);
		fmt_vars(&m, vars, sizeof(vars));
		is_str(vars, tc->vars, "match \"%s\": bindings", tc->path);
		for (k = 0; k < m.n_vars; k++)
			if (m.vars[k].val.ptr < path ||
			    m.vars[k].val.len == 0 ||
			    m.vars[k].val.ptr + m.vars[k].val.len > path + len)
				inside = 0;
		ok(inside, "match \"%s\": bindings are views into the path",
		    tc->path);
	}
	auth_route_table_free(t);
}

/* First match wins, whichever way round. */
static void
test_precedence(void)
{
	struct auth_route_table *t = auth_route_table_new();
	struct auth_match m;
	char err[256];

	add(t, "/x/me", AUTH_MODE_NONE, 0, NULL, NULL, NULL, err, sizeof(err));
	add(t, "/x/{id}", AUTH_MODE_REQUIRED, 1, NULL, NULL, NULL, err,
	    sizeof(err));
	add(t, "/**", AUTH_MODE_OPTIONAL, 2, NULL, NULL, NULL, err,
	    sizeof(err));
	add(t, "/x/you", AUTH_MODE_NONE, 3, NULL, NULL, NULL, err, sizeof(err));
	is_int(auth_route_match(t, "/x/me", 5, &m), AUTH_OK, "literal first");
	is_int(m.index, 0, "literal first: the literal");
	is_int(m.n_vars, 0, "literal first: no bindings");
	is_int(auth_route_match(t, "/x/you", 6, &m), AUTH_OK, "var second");
	is_int(m.index, 1, "var second: the variable, not the later literal");
	is_int(m.route->mode, AUTH_MODE_REQUIRED, "var second: its mode");
	is_int(auth_route_match(t, "/", 1, &m), AUTH_OK, "/** matches /");
	is_int(m.index, 2, "/** matches /: index");
	is_int(auth_route_match(t, "/x", 2, &m), AUTH_OK, "/** matches /x");
	is_int(m.index, 2, "/** matches /x: index");
	auth_route_table_free(t);

	t = auth_route_table_new();
	is_int(auth_route_match(t, "/", 1, &m), AUTH_NO_ROUTE, "empty table");
	auth_route_table_free(t);
}

/* ------------------------------------------------- literal case (fold) */

static const struct fold_route {
	const char *pattern;
	enum auth_mode mode;
	enum auth_lit_case lc;
	const char *rule;
} fold_routes[] = {
    {"/api/{user_id}/**", AUTH_MODE_OPTIONAL, AUTH_LIT_CASE_DEFAULT,
        "user_id == sub"},                                             /* 0 */
    {"/Docs/{name}", AUTH_MODE_NONE, AUTH_LIT_CASE_DEFAULT, NULL},     /* 1 */
    {"/static/**", AUTH_MODE_REQUIRED, AUTH_LIT_CASE_SENSITIVE, NULL}, /* 2 */
    {"/settings/**", AUTH_MODE_OPTIONAL, AUTH_LIT_CASE_INSENSITIVE,
        NULL},                                                          /* 3 */
    {"/kv/{user_id}", AUTH_MODE_REQUIRED, AUTH_LIT_CASE_DEFAULT, NULL}, /* 4 */
    {"/account", AUTH_MODE_REQUIRED, AUTH_LIT_CASE_DEFAULT, NULL},      /* 5 */
    {"/**", AUTH_MODE_OPTIONAL, AUTH_LIT_CASE_DEFAULT, NULL},           /* 6 */
};

static const struct fold_case {
	const char *path;
	size_t index;
	enum auth_status check; /* auth_route_check as user "alice" */
} fold_cases[] = {
    /* A route with a binding rule folds by default: the variant gets
     * its 403, never the catch-all. */
    {"/api/alice/x", 0, AUTH_OK},
    {"/api/bob/x", 0, AUTH_FORBIDDEN},
    {"/API/bob/x", 0, AUTH_FORBIDDEN},
    {"/Api/bob", 0, AUTH_FORBIDDEN},
    {"/aPI/alice/x", 0, AUTH_OK},
    {"/ap%49/bob/x", 0, AUTH_FORBIDDEN},
    {"/ap%C4%B1/bob/x", 0, AUTH_FORBIDDEN}, /* dotless i */
    {"/AP%C4%B0/bob/x", 0, AUTH_FORBIDDEN}, /* dotted capital I */
    {"/ap%C4%B2/bob/x", 6, AUTH_OK},        /* U+0132 is no i */
    {"/ap%C4%B1x/bob/x", 6, AUTH_OK},
    {"/api%C4%B1/bob/x", 6, AUTH_OK},
    {"/ap%C4/bob/x", 6, AUTH_OK},
    {"/ap%C4%B1%B1/bob/x", 6, AUTH_OK},
    /* The binding itself stays exact: "ALICE" is not alice. */
    {"/api/ALICE/x", 0, AUTH_FORBIDDEN},
    /* auth = none without rules: case-sensitive. */
    {"/Docs/a", 1, AUTH_OK},
    {"/docs/a", 6, AUTH_OK},
    {"/DOCS/a", 6, AUTH_OK},
    /* Folding turned off on a required route. */
    {"/static/a", 2, AUTH_OK},
    {"/STATIC/a", 6, AUTH_OK},
    /* Turned on on an optional route. */
    {"/SETTINGS/x", 3, AUTH_OK},
    {"/%C5%BFettings", 3, AUTH_OK}, /* long s */
    {"/%C5%BEettings", 6, AUTH_OK}, /* U+017E is no s */
    /* auth = required folds by default. */
    {"/KV/bob", 4, AUTH_OK},
    {"/%E2%84%AAv/bob", 4, AUTH_OK}, /* Kelvin sign */
    {"/%E2%84%ABv/bob", 6, AUTH_OK}, /* U+212B is no k */
    {"/%E2%84v/bob", 6, AUTH_OK},
    {"/ACCOUNT", 5, AUTH_OK},
    {"/Account/", 5, AUTH_OK},
    {"/accounts", 6, AUTH_OK},
};

static void
test_case_fold(void)
{
	struct auth_route_table *t = auth_route_table_new();
	struct auth_claims c;
	char err[256];
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(fold_routes) / sizeof(fold_routes[0]); i++)
		bad |= add_lc(t, fold_routes[i].pattern, fold_routes[i].mode,
		    fold_routes[i].lc, (int)i, fold_routes[i].rule, NULL, NULL,
		    err, sizeof(err));
	is_int(bad, 0, "fold table built");
	ok(auth_route_folds(auth_route_get(t, 0)), "a route with rules folds");
	ok(!auth_route_folds(auth_route_get(t, 1)), "auth = none does not");
	ok(!auth_route_folds(auth_route_get(t, 2)), "sensitive: does not");
	ok(auth_route_folds(auth_route_get(t, 3)), "insensitive: folds");
	ok(auth_route_folds(auth_route_get(t, 4)), "auth = required folds");
	ok(!auth_route_folds(auth_route_get(t, 6)), "optional, no rules");
	ok(!auth_route_folds(NULL), "NULL does not fold");
	tu_claims(&c, "alice", 2000000000, "{}");
	for (i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]); i++) {
		const struct fold_case *tc = &fold_cases[i];
		size_t len = strlen(tc->path);
		const char *path = guard_put(&g, tc->path, len);
		struct auth_match m;

		is_int(auth_route_match(t, path, len, &m), AUTH_OK,
		    "fold \"%s\"", tc->path);
		is_int(m.index, tc->index, "fold \"%s\": route %s", tc->path,
		    fold_routes[tc->index].pattern);
		is_int(auth_route_check(&m, &c), tc->check,
		    "fold \"%s\": check as alice", tc->path);
	}
	{
		struct auth_route r;

		memset(&r, 0, sizeof(r));
		snprintf(r.pattern, sizeof(r.pattern), "/x");
		r.lit_case = (enum auth_lit_case)7;
		is_int(auth_route_add(t, &r, err, sizeof(err)), -1,
		    "unknown literal case refused");
	}
	auth_route_table_free(t);
}

/* ---------------------------------------------------------------- lint */

struct lint_route {
	const char *pattern;
	enum auth_mode mode;
	const char *rule;
	enum auth_lit_case lc;
};

#define R_NONE(p)                                                              \
	{                                                                      \
		p, AUTH_MODE_NONE, NULL, AUTH_LIT_CASE_DEFAULT                 \
	}
#define R_OPT(p)                                                               \
	{                                                                      \
		p, AUTH_MODE_OPTIONAL, NULL, AUTH_LIT_CASE_DEFAULT             \
	}
#define R_REQ(p)                                                               \
	{                                                                      \
		p, AUTH_MODE_REQUIRED, NULL, AUTH_LIT_CASE_DEFAULT             \
	}
#define R_RULE(p, r)                                                           \
	{                                                                      \
		p, AUTH_MODE_REQUIRED, r, AUTH_LIT_CASE_DEFAULT                \
	}

static const struct lint_case {
	const char *name;
	struct lint_route routes[6];
	const char *want; /* the findings, formatted by fmt_lint */
} lint_cases[] = {
    /* Refused. */
    {"/** first", {R_OPT("/**"), R_RULE("/api/{user_id}/**", "user_id == sub")},
        "unreachable 0>1 alone"},
    {"/api/** above /api/x", {R_REQ("/api/**"), R_REQ("/api/x")},
        "unreachable 0>1 alone"},
    /* Still reachable by "/API/bob" (it folds), but "/api/bob" is taken. */
    {"optional /api/** above the user route",
        {R_OPT("/api/**"), R_RULE("/api/{user_id}/**", "user_id == sub")},
        "takes 0>1 /api/{user_id}/** (auth = required, not optional)"},
    {"optional /api/** above the user route, both folding",
        {{"/api/**", AUTH_MODE_OPTIONAL, NULL, AUTH_LIT_CASE_INSENSITIVE},
            R_RULE("/api/{user_id}/**", "user_id == sub")},
        "unreachable 0>1 alone"},
    {"a variable above a literal", {R_REQ("/x/{id}"), R_NONE("/x/me")},
        "unreachable 0>1 alone"},
    {"the same pattern twice", {R_NONE("/a"), R_NONE("/a/")},
        "unreachable 0>1 alone"},
    {"/ after /**", {R_OPT("/**"), R_NONE("/")}, "unreachable 0>1 alone"},
    {"covered by two routes together",
        {R_NONE("/b"), R_NONE("/a"), R_NONE("/a/{x}/**"), R_OPT("/a/**")},
        "unreachable 1>3 union"},
    {"a wildcard segment takes a user's paths",
        {R_NONE("/{x}/public/**"),
            R_RULE("/api/{user_id}/**", "user_id == sub")},
        "takes 0>1 /api/public/** (auth = required, not none)"},
    {"an upper-case route above a folding one",
        {R_OPT("/API/**"), R_RULE("/api/{user_id}/**", "user_id == sub")},
        "takes 0>1 /API/{user_id}/** (auth = required, not optional)"},
    {"a case-sensitive exact literal above a folding one",
        {R_NONE("/api/**"), R_REQ("/API/x")},
        "takes 0>1 /api/x (auth = required, not none)"},
    {"require rules, same mode",
        {R_REQ("/{a}/docs/**"), R_RULE("/api/{user_id}/**", "user_id == sub")},
        "takes 0>1 /api/docs/** (require rules)"},
    {"the rule on another segment",
        {R_RULE("/{u}/{d}/x/**", "d == sub"),
            R_RULE("/{user_id}/docs/**", "user_id == sub")},
        "takes 0>1 /{user_id}/docs/x/** (require rules)"},
    {"several findings in order",
        {R_OPT("/{x}/y/**"), R_RULE("/a/{user_id}/**", "user_id == sub"),
            R_NONE("/a/b/y")},
        "takes 0>1 /a/y/** (auth = required, not optional); "
        "unreachable 1>2 alone"},
    /* Fine. */
    {"the reference config",
        {R_NONE("/api/auth/**"),
            R_RULE("/api/users/{user_id}/**", "user_id == sub"),
            R_REQ("/api/**"), R_OPT("/**")},
        ""},
    {"an exception carved out of a user's paths",
        {R_NONE("/api/{user_id}/public/**"),
            R_RULE("/api/{user_id}/**", "user_id == sub")},
        ""},
    {"the test suite's routes",
        {R_RULE("/api/{user_id}/**", "user_id == sub"), R_NONE("/public/**"),
            R_OPT("/opt/**")},
        ""},
    {"disjoint", {R_NONE("/a/**"), R_REQ("/b/**"), R_NONE("/c")}, ""},
    {"/a/** takes /a", {R_NONE("/a/**"), R_NONE("/a")},
        "unreachable 0>1 alone"},
    {"/ then /**", {R_NONE("/"), R_OPT("/**")}, ""},
    {"the same rule on the same segment",
        {R_RULE("/{u}/docs/**", "u == sub"),
            R_RULE("/{user_id}/{d}/x", "user_id == sub")},
        ""},
    {"a laxer route after a stricter one",
        {R_RULE("/api/{user_id}/**", "user_id == sub"), R_OPT("/{x}/y/**")},
        ""},
    {"case-sensitive literals that differ only in case",
        {{"/A/**", AUTH_MODE_NONE, NULL, AUTH_LIT_CASE_DEFAULT},
            {"/a/**", AUTH_MODE_REQUIRED, NULL, AUTH_LIT_CASE_SENSITIVE}},
        ""},
    {"a longer literal is no prefix", {R_NONE("/api/x"), R_REQ("/api/xy")}, ""},
};

static void
fmt_lint(const struct auth_lint *f, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < n && o < cap; i++) {
		if (f[i].kind == AUTH_LINT_UNREACHABLE)
			o += (size_t)snprintf(out + o, cap - o,
			    "%sunreachable %zu>%zu %s", i ? "; " : "",
			    f[i].earlier, f[i].later,
			    f[i].alone ? "alone" : "union");
		else
			o += (size_t)snprintf(out + o, cap - o,
			    "%stakes %zu>%zu %s (%s)", i ? "; " : "",
			    f[i].earlier, f[i].later, f[i].example,
			    f[i].reason);
	}
}

static void
test_lint(void)
{
	struct auth_lint f[8];
	char got[1024], err[256];
	size_t i, k, n;

	for (i = 0; i < sizeof(lint_cases) / sizeof(lint_cases[0]); i++) {
		const struct lint_case *lc = &lint_cases[i];
		struct auth_route_table *t = auth_route_table_new();
		int bad = 0;

		for (k = 0; k < 6 && lc->routes[k].pattern != NULL; k++)
			bad |= add_lc(t, lc->routes[k].pattern,
			    lc->routes[k].mode, lc->routes[k].lc, (int)k,
			    lc->routes[k].rule, NULL, NULL, err, sizeof(err));
		if (bad)
			printf("# %s\n", err);
		is_int(auth_route_lint(t, f, 8, &n), 0, "lint: %s", lc->name);
		fmt_lint(f, n < 8 ? n : 8, got, sizeof(got));
		is_str(got, lc->want, "lint: %s: findings", lc->name);
		auth_route_table_free(t);
	}
	/* More findings than room: counted, |cap| written. */
	{
		struct auth_route_table *t = auth_route_table_new();

		add(t, "/**", AUTH_MODE_OPTIONAL, 0, NULL, NULL, NULL, err,
		    sizeof(err));
		add(t, "/a", AUTH_MODE_OPTIONAL, 1, NULL, NULL, NULL, err,
		    sizeof(err));
		add(t, "/b", AUTH_MODE_OPTIONAL, 2, NULL, NULL, NULL, err,
		    sizeof(err));
		add(t, "/c", AUTH_MODE_OPTIONAL, 3, NULL, NULL, NULL, err,
		    sizeof(err));
		memset(f, 0, sizeof(f));
		is_int(auth_route_lint(t, f, 1, &n), 0, "lint into one slot");
		is_int(n, 3, "three findings counted");
		is_int(f[1].later, 0, "only one written");
		is_int(auth_route_lint(NULL, f, 1, &n), 0, "lint NULL table");
		is_int(n, 0, "nothing in a NULL table");
		auth_route_table_free(t);
	}
	/* Many overlapping variables stay within the step budget. */
	{
		struct auth_route_table *t = auth_route_table_new();
		char pat[64];

		for (k = 0; k < 40; k++) {
			snprintf(pat, sizeof(pat), "/l%zu/{a}/{b}/{c}/**", k);
			add(t, pat, AUTH_MODE_OPTIONAL, (int)k, NULL, NULL,
			    NULL, err, sizeof(err));
		}
		add(t, "/{a}/{b}/{c}/{d}", AUTH_MODE_REQUIRED, 40, NULL, NULL,
		    NULL, err, sizeof(err));
		is_int(auth_route_lint(t, f, 8, &n), 0, "lint a wide table");
		is_int(n, 40, "each literal route takes from the last");
		auth_route_table_free(t);
	}
}

/* ------------------------------------------------------------- checks */

struct check_case {
	const char *path;
	const char *sub;
	const char *extra;
	enum auth_status want;
};

static const struct check_case check_cases[] = {
    {"/api/users/u1", "u1", "{}", AUTH_OK},
    {"/api/users/u2", "u1", "{}", AUTH_FORBIDDEN},
    {"/api/users/U1", "u1", "{}", AUTH_FORBIDDEN},
    {"/api/users/u1x", "u1", "{}", AUTH_FORBIDDEN},
    {"/api/users/u", "u1", "{}", AUTH_FORBIDDEN},
    {"/api/users/u1/files/a", "u1", "{}", AUTH_OK},
    {"/api/users/u2/files/a", "u1", "{}", AUTH_FORBIDDEN},
    /* The binding as the backend decodes it. */
    {"/api/users/u%3A1", "u:1", "{}", AUTH_OK},
    {"/api/users/u:1", "u:1", "{}", AUTH_OK},
    {"/api/users/u%3A1", "u%3A1", "{}", AUTH_FORBIDDEN},
    {"/api/users/%C3%A9", "\xc3\xa9", "{}", AUTH_OK},
    {"/api/orgs/acme/members/x", "u1", "{\"org_id\":\"acme\"}", AUTH_OK},
    {"/api/orgs/acme/members/x", "u1", "{\"org_id\":\"acme2\"}",
        AUTH_FORBIDDEN},
    {"/api/orgs/other/members/x", "u1", "{\"org_id\":\"acme\"}",
        AUTH_FORBIDDEN},
    {"/api/orgs/acme/members/x", "u1", "{}", AUTH_FORBIDDEN},
    {"/api/orgs/acme/members/x", "u1", "", AUTH_FORBIDDEN},
    {"/api/orgs/acme/members/x", "acme", "{\"org\":\"acme\"}", AUTH_FORBIDDEN},
    {"/api/orgs/42/members/x", "u1", "{\"org_id\":42}", AUTH_OK},
    {"/api/orgs/42/members/x", "u1", "{\"org_id\":[\"42\"]}", AUTH_FORBIDDEN},
    {"/api/admin/x", "u1", "{\"role\":\"admin\"}", AUTH_OK},
    {"/api/admin/x", "u1", "{\"role\":\"user\"}", AUTH_FORBIDDEN},
    {"/api/admin/x", "u1", "{\"role\":\"Admin\"}", AUTH_FORBIDDEN},
    {"/api/admin/x", "u1", "{\"role\":\"admin \"}", AUTH_FORBIDDEN},
    {"/api/admin/x", "u1", "{\"role\":\"admi\"}", AUTH_FORBIDDEN},
    {"/api/admin/x", "u1", "{\"role\":null}", AUTH_FORBIDDEN},
    {"/api/admin/x", "u1", "{}", AUTH_FORBIDDEN},
    {"/api/admin/x", "admin", "{\"sub\":\"admin\"}", AUTH_FORBIDDEN},
    {"/api/public/x", "u1", "{}", AUTH_OK},
};

static void
test_check(void)
{
	struct auth_route_table *t = make_table();
	struct auth_route_table *t2 = auth_route_table_new();
	struct auth_claims c;
	struct auth_match m;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *tc = &check_cases[i];
		size_t len = strlen(tc->path);
		const char *path = guard_put(&g, tc->path, len);

		tu_claims(&c, tc->sub, 2000000000, tc->extra);
		if (auth_route_match(t, path, len, &m) != AUTH_OK) {
			ok(0, "check %s: no match", tc->path);
			continue;
		}
		is_int(auth_route_check(&m, &c), tc->want, "check %s as %s %s",
		    tc->path, tc->sub, tc->extra);
	}

	/* Every rule must hold, and a number claim compares as its text. */
	add(t2, "/t/{tenant}/u/{user}", AUTH_MODE_REQUIRED, 0, "user == sub",
	    "tenant == claim.tid", "claim.level == \"3\"", err, sizeof(err));
	tu_claims(&c, "bob", 2000000000, "{\"level\":3,\"tid\":\"t1\"}");
	auth_route_match(t2, "/t/t1/u/bob", 11, &m);
	is_int(auth_route_check(&m, &c), AUTH_OK, "three rules hold");
	auth_route_match(t2, "/t/t2/u/bob", 11, &m);
	is_int(auth_route_check(&m, &c), AUTH_FORBIDDEN, "second rule fails");
	auth_route_match(t2, "/t/t1/u/bo0", 11, &m);
	is_int(auth_route_check(&m, &c), AUTH_FORBIDDEN, "first rule fails");
	tu_claims(&c, "bob", 2000000000, "{\"level\":4,\"tid\":\"t1\"}");
	auth_route_match(t2, "/t/t1/u/bob", 11, &m);
	is_int(auth_route_check(&m, &c), AUTH_FORBIDDEN, "third rule fails");
	is_int(auth_route_check(&m, NULL), AUTH_FORBIDDEN,
	    "rules without claims");
	is_int(auth_route_check(NULL, &c), AUTH_INTERNAL, "no match");

	/* A route without rules needs no claims. */
	auth_route_match(t, "/", 1, &m);
	is_int(auth_route_check(&m, NULL), AUTH_OK, "no rules, no claims");

	/* A forged match (a binding of another name) fails closed. */
	auth_route_match(t, "/api/users/u1", 13, &m);
	tu_claims(&c, "u1", 2000000000, "{}");
	m.vars[0].name = "other";
	is_int(auth_route_check(&m, &c), AUTH_FORBIDDEN,
	    "rule variable without a binding");
	auth_route_table_free(t);
	auth_route_table_free(t2);
}

/* A claim lookup that runs out of memory is a 503, never a 403 and never
 * a pass. */
static void
test_check_oom(void)
{
	struct auth_route_table *t = auth_route_table_new();
	struct auth_claims c;
	struct auth_match m;
	char err[256];
	long n;
	int bad = 0, runs = 0, internal = 0;
	enum auth_status st;

	add(t, "/t/{tenant}", AUTH_MODE_REQUIRED, 0, "tenant == claim.tid",
	    "claim.role == \"admin\"", NULL, err, sizeof(err));
	tu_claims(&c, "bob", 2000000000, "{\"role\":\"admin\",\"tid\":\"t1\"}");
	auth_route_match(t, "/t/t1", 5, &m);
	for (n = 0; n < 1000; n++) {
		alloc_failed = 0;
		alloc_countdown = n;
		st = auth_route_check(&m, &c);
		alloc_countdown = -1;
		runs++;
		if (st == AUTH_INTERNAL)
			internal++;
		else if (st != AUTH_OK || alloc_failed != 0)
			bad++;
		if (alloc_failed == 0)
			break;
	}
	is_int(bad, 0,
	    "OOM in rule checks: %d runs (%d internal), each "
	    "503",
	    runs, internal);
	ok(internal > 0, "OOM in rule checks: failures were injected");
	auth_route_table_free(t);
}

int
main(void)
{
	json_set_alloc_funcs(j_malloc, free);
	auth_init();
	guard_init(&g);
	test_rule_parse();
	test_patterns();
	test_match();
	test_precedence();
	test_case_fold();
	test_lint();
	test_check();
	test_check_oom();
	return tap_done();
}
