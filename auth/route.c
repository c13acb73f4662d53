/* SPDX-License-Identifier: MIT */
/* The ordered route table: {name} and ** patterns, first match wins, binding
 * rules. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ROUTE_MAX_SEGS 256 /* a 512-byte pattern has fewer */
#define ROUTE_NAME_MAX 63  /* fits auth_rule.var and auth_rule.claim */

enum seg_kind { SEG_LIT, SEG_VAR, SEG_GLOB };

struct seg {
	enum seg_kind kind;
	unsigned short off; /* into route.pattern */
	unsigned short len;
	unsigned short var; /* index into names, SEG_VAR only */
};

struct route_ent {
	struct auth_route route;
	struct seg segs[ROUTE_MAX_SEGS];
	size_t n_segs;
	char names[AUTH_MAX_ROUTE_VARS][ROUTE_NAME_MAX + 1];
	size_t n_names;
	bool fold; /* literals compared ignoring case (auth_route_folds) */
};

struct auth_route_table {
	struct route_ent **ents; /* owned, each owned; stable addresses */
	size_t n;
	size_t cap;
};

struct auth_route_table *
auth_route_table_new(void)
{
	return calloc(1, sizeof(struct auth_route_table));
}

void
auth_route_table_free(struct auth_route_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->ents[i]);
	free(t->ents);
	free(t);
}

static bool
is_ident_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_ident(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* A claim name may also hold '-' ("x-tenant"); top-level names only. */
static bool
is_claim_char(unsigned char c)
{
	return is_ident(c) || c == '-';
}

/* ------------------------------------------------------------- rules */

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Reads an identifier at |s| into |out|; returns the end or NULL. */
static const char *
read_name(const char *s, bool claim, char *out)
{
	size_t n = 0;

	if (!is_ident_start((unsigned char)*s))
		return NULL;
	while (claim ? is_claim_char((unsigned char)s[n])
	             : is_ident((unsigned char)s[n])) {
		if (n >= ROUTE_NAME_MAX)
			return NULL;
		out[n] = s[n];
		n++;
	}
	out[n] = '\0';
	return s + n;
}

static bool
has_prefix(const char *s, const char *pfx)
{
	return strncmp(s, pfx, strlen(pfx)) == 0;
}

int
auth_rule_parse(const char *rule, struct auth_rule *out, char *err,
    size_t err_len)
{
	struct auth_rule r;
	const char *s, *e;
	bool lhs_claim;

	if (rule == NULL || out == NULL) {
		auth_seterr(err, err_len, "no rule");
		return -1;
	}
	memset(&r, 0, sizeof(r));
	s = skip_ws(rule);

	/* Left: a path variable, or claim.NAME compared with a literal. */
	lhs_claim = has_prefix(s, "claim.");
	if (lhs_claim)
		e = read_name(s + 6, true, r.claim);
	else
		e = read_name(s, false, r.var);
	if (e == NULL) {
		auth_seterr(err, err_len,
		    "rule \"%s\": left side must be a path "
		    "variable or claim.NAME (letters, digits, '_', at most "
		    "%d)",
		    rule, ROUTE_NAME_MAX);
		return -1;
	}
	s = skip_ws(e);
	if (s[0] != '=' || s[1] != '=') {
		auth_seterr(err, err_len,
		    "rule \"%s\": expected '==' after "
		    "\"%.*s\"",
		    rule, (int)(e - rule), rule);
		return -1;
	}
	s = skip_ws(s + 2);

	if (lhs_claim) {
		size_t n = 0;

		/* claim.NAME == "literal"; \" and \\ are the escapes. */
		if (*s != '"') {
			auth_seterr(err, err_len,
			    "rule \"%s\": claim.%s can only "
			    "be compared with a \"quoted literal\"",
			    rule, r.claim);
			return -1;
		}
		for (s++; *s != '"'; s++) {
			if (*s == '\0') {
				auth_seterr(err, err_len,
				    "rule \"%s\": "
				    "unterminated literal",
				    rule);
				return -1;
			}
			if (*s == '\\') {
				s++;
				if (*s != '"' && *s != '\\') {
					auth_seterr(err, err_len,
					    "rule \"%s\": "
					    "only \\\" and \\\\ are escapes",
					    rule);
					return -1;
				}
			}
			if ((unsigned char)*s < 0x20 || *s == 0x7f) {
				auth_seterr(err, err_len,
				    "rule \"%s\": control "
				    "byte in literal",
				    rule);
				return -1;
			}
			if (n >= sizeof(r.value) - 1) {
				auth_seterr(err, err_len,
				    "rule \"%s\": literal "
				    "longer than %zu bytes",
				    rule, sizeof(r.value) - 1);
				return -1;
			}
			r.value[n++] = *s;
		}
		r.value[n] = '\0';
		s++;
		r.kind = AUTH_RULE_CLAIM_VALUE;
	} else if (has_prefix(s, "claim.")) {
		e = read_name(s + 6, true, r.claim);
		if (e == NULL) {
			auth_seterr(err, err_len,
			    "rule \"%s\": bad claim name "
			    "after \"claim.\"",
			    rule);
			return -1;
		}
		s = e;
		r.kind = AUTH_RULE_VAR_CLAIM;
	} else if (has_prefix(s, "sub") &&
	    !is_claim_char((unsigned char)s[3])) {
		s += 3;
		r.kind = AUTH_RULE_VAR_SUB;
	} else {
		auth_seterr(err, err_len,
		    "rule \"%s\": a path variable can only be "
		    "compared with sub or claim.NAME",
		    rule);
		return -1;
	}
	s = skip_ws(s);
	if (*s != '\0') {
		auth_seterr(err, err_len,
		    "rule \"%s\": unexpected \"%s\" at the "
		    "end",
		    rule, s);
		return -1;
	}
	*out = r;
	return 0;
}

/* ---------------------------------------------------------- patterns */

/* Bytes a literal pattern segment may hold: printable ASCII, except what
 * the canonical path never carries raw ('%', '\', '?', '#') and the
 * pattern syntax ('{', '}', '*'). Literals are written decoded. */
static bool
is_lit_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%' && c != '\\' && c != '?' &&
	    c != '#' && c != '{' && c != '}' && c != '*';
}

static int
route_compile(struct route_ent *ent, char *err, size_t err_len)
{
	const char *pat = ent->route.pattern;
	size_t len, i = 1, k;

	len = strnlen(pat, sizeof(ent->route.pattern));
	if (len == sizeof(ent->route.pattern)) {
		auth_seterr(err, err_len, "route pattern longer than %zu bytes",
		    sizeof(ent->route.pattern) - 1);
		return -1;
	}
	if (pat[0] != '/') {
		auth_seterr(err, err_len, "route \"%s\": must start with '/'",
		    pat);
		return -1;
	}
	/* A trailing '/' is insignificant, as in matching: "/a/" is "/a". */
	if (len > 1 && pat[len - 1] == '/') {
		if (pat[len - 2] == '/') {
			auth_seterr(err, err_len, "route \"%s\": empty segment",
			    pat);
			return -1;
		}
		len--;
	}

	while (i < len) {
		const char *s = pat + i, *slash;
		size_t sl;
		struct seg *sg;

		slash = memchr(s, '/', len - i);
		sl = slash ? (size_t)(slash - s) : len - i;
		i += sl + 1;
		if (*s == '/') {
			auth_seterr(err, err_len, "route \"%s\": empty segment",
			    pat);
			return -1;
		}
		if (ent->n_segs > 0 &&
		    ent->segs[ent->n_segs - 1].kind == SEG_GLOB) {
			auth_seterr(err, err_len,
			    "route \"%s\": \"**\" must be the "
			    "last segment",
			    pat);
			return -1;
		}
		sg = &ent->segs[ent->n_segs++];
		sg->off = (unsigned short)(s - pat);
		sg->len = (unsigned short)sl;
		sg->var = 0;
		if (sl == 2 && s[0] == '*' && s[1] == '*') {
			sg->kind = SEG_GLOB;
			continue;
		}
		if (s[0] == '{') {
			char *name;

			if (s[sl - 1] != '}' || sl < 3) {
				auth_seterr(err, err_len,
				    "route \"%s\": a variable "
				    "is a whole segment \"{name}\"",
				    pat);
				return -1;
			}
			if (ent->n_names >= AUTH_MAX_ROUTE_VARS) {
				auth_seterr(err, err_len,
				    "route \"%s\": more than "
				    "%d variables",
				    pat, AUTH_MAX_ROUTE_VARS);
				return -1;
			}
			if (sl - 2 > ROUTE_NAME_MAX ||
			    !is_ident_start((unsigned char)s[1])) {
				auth_seterr(err, err_len,
				    "route \"%s\": bad "
				    "variable name",
				    pat);
				return -1;
			}
			for (k = 1; k < sl - 1; k++) {
				if (!is_ident((unsigned char)s[k])) {
					auth_seterr(err, err_len,
					    "route \"%s\": "
					    "bad variable name",
					    pat);
					return -1;
				}
			}
			name = ent->names[ent->n_names];
			memcpy(name, s + 1, sl - 2);
			name[sl - 2] = '\0';
			for (k = 0; k < ent->n_names; k++) {
				if (strcmp(ent->names[k], name) == 0) {
					auth_seterr(err, err_len,
					    "route \"%s\": "
					    "variable \"%s\" twice",
					    pat, name);
					return -1;
				}
			}
			sg->kind = SEG_VAR;
			sg->var = (unsigned short)ent->n_names++;
			continue;
		}
		for (k = 0; k < sl; k++) {
			if (!is_lit_char((unsigned char)s[k])) {
				auth_seterr(err, err_len,
				    "route \"%s\": segment "
				    "\"%.*s\" holds '%c' (allowed: printable "
				    "ASCII except %% \\ ? # { } *; \"**\" only "
				    "as a whole segment)",
				    pat, (int)sl, s,
				    s[k] > 0x20 && s[k] < 0x7f ? s[k] : '?');
				return -1;
			}
		}
		if ((sl == 1 && s[0] == '.') ||
		    (sl == 2 && s[0] == '.' && s[1] == '.')) {
			auth_seterr(err, err_len, "route \"%s\": dot segment",
			    pat);
			return -1;
		}
		sg->kind = SEG_LIT;
	}
	return 0;
}

static bool
has_var(const struct route_ent *ent, const char *name)
{
	size_t k;

	for (k = 0; k < ent->n_names; k++)
		if (strcmp(ent->names[k], name) == 0)
			return true;
	return false;
}

static int
rules_check(const struct route_ent *ent, char *err, size_t err_len)
{
	const struct auth_route *r = &ent->route;
	size_t i;

	if (r->n_rules > AUTH_MAX_ROUTE_RULES) {
		auth_seterr(err, err_len, "route \"%s\": more than %d rules",
		    r->pattern, AUTH_MAX_ROUTE_RULES);
		return -1;
	}
	for (i = 0; i < r->n_rules; i++) {
		const struct auth_rule *ru = &r->rules[i];
		bool uses_var = ru->kind == AUTH_RULE_VAR_SUB ||
		    ru->kind == AUTH_RULE_VAR_CLAIM;
		bool uses_claim = ru->kind == AUTH_RULE_VAR_CLAIM ||
		    ru->kind == AUTH_RULE_CLAIM_VALUE;

		if (!uses_var && !uses_claim) {
			auth_seterr(err, err_len,
			    "route \"%s\": rule %zu of "
			    "unknown kind",
			    r->pattern, i + 1);
			return -1;
		}
		if (memchr(ru->var, '\0', sizeof(ru->var)) == NULL ||
		    memchr(ru->claim, '\0', sizeof(ru->claim)) == NULL ||
		    memchr(ru->value, '\0', sizeof(ru->value)) == NULL) {
			auth_seterr(err, err_len,
			    "route \"%s\": rule %zu is not "
			    "terminated",
			    r->pattern, i + 1);
			return -1;
		}
		if (uses_var && !has_var(ent, ru->var)) {
			auth_seterr(err, err_len,
			    "route \"%s\": rule %zu names "
			    "\"%s\", not a variable of the pattern",
			    r->pattern, i + 1, ru->var);
			return -1;
		}
		if (uses_claim && ru->claim[0] == '\0') {
			auth_seterr(err, err_len,
			    "route \"%s\": rule %zu has no "
			    "claim name",
			    r->pattern, i + 1);
			return -1;
		}
	}
	return 0;
}

bool
auth_route_folds(const struct auth_route *r)
{
	if (r == NULL)
		return false;
	switch (r->lit_case) {
	case AUTH_LIT_CASE_SENSITIVE:
		return false;
	case AUTH_LIT_CASE_INSENSITIVE:
		return true;
	default:
		return r->n_rules > 0 || r->mode == AUTH_MODE_REQUIRED;
	}
}

int
auth_route_add(struct auth_route_table *t, const struct auth_route *r,
    char *err, size_t err_len)
{
	struct route_ent *ent;

	if (t == NULL || r == NULL) {
		auth_seterr(err, err_len, "no route");
		return -1;
	}
	if (r->mode != AUTH_MODE_NONE && r->mode != AUTH_MODE_OPTIONAL &&
	    r->mode != AUTH_MODE_REQUIRED) {
		auth_seterr(err, err_len, "route: unknown auth mode");
		return -1;
	}
	if (r->lit_case != AUTH_LIT_CASE_DEFAULT &&
	    r->lit_case != AUTH_LIT_CASE_SENSITIVE &&
	    r->lit_case != AUTH_LIT_CASE_INSENSITIVE) {
		auth_seterr(err, err_len, "route: unknown literal case");
		return -1;
	}
	ent = calloc(1, sizeof(*ent));
	if (ent == NULL) {
		auth_seterr(err, err_len, "out of memory");
		return -1;
	}
	ent->route = *r;
	ent->fold = auth_route_folds(r);
	if (route_compile(ent, err, err_len) == -1 ||
	    rules_check(ent, err, err_len) == -1)
		goto out_free_ent;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 8;
		struct route_ent **n;

		/* An array of pointers. */
		/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
		n = reallocarray(t->ents, ncap, sizeof(*n));
		if (n == NULL) {
			auth_seterr(err, err_len, "out of memory");
			goto out_free_ent;
		}
		t->ents = n;
		t->cap = ncap;
	}
	t->ents[t->n++] = ent;
	return 0;

out_free_ent:
	free(ent);
	return -1;
}

size_t
auth_route_count(const struct auth_route_table *t)
{
	return t == NULL ? 0 : t->n;
}

const struct auth_route *
auth_route_get(const struct auth_route_table *t, size_t i)
{
	if (t == NULL || i >= t->n)
		return NULL;
	return &t->ents[i]->route;
}

/* ---------------------------------------------------------- matching */

/* The next byte of canonical path segment |s| at |*i|, percent-decoded;
 * advances |*i|. -1 for a malformed escape (never in a canonical path). */
static int
seg_byte(const char *s, size_t len, size_t *i)
{
	unsigned char c = (unsigned char)s[*i];
	int hi, lo;

	if (c != '%') {
		(*i)++;
		return c;
	}
	if (len - *i < 3)
		return -1;
	hi = auth_hexval((unsigned char)s[*i + 1]);
	lo = auth_hexval((unsigned char)s[*i + 2]);
	if (hi < 0 || lo < 0)
		return -1;
	*i += 3;
	return hi << 4 | lo;
}

/*
 * The non-ASCII letters that case-insensitive backends take for ASCII
 * ones: U+0130 and U+0131 (dotted capital and dotless i: .NET's and
 * Java's upper- and lower-casing give I and i), U+017F (long s, upper-cased
 * S) and U+212A (Kelvin sign, folded to k by Unicode simple case folding,
 * as a JavaScript /iu regular expression does). At a UTF-8 lead byte |c|
 * whose sequence continues at |*i|, returns the ASCII letter and advances
 * |*i| past the sequence; else returns |c|.
 */
static int
fold_utf8(int c, const char *s, size_t len, size_t *i)
{
	size_t j = *i;
	int c2;

	if (c != 0xC4 && c != 0xC5 && c != 0xE2)
		return c;
	if (j >= len || (c2 = seg_byte(s, len, &j)) < 0)
		return c;
	if ((c == 0xC4 && (c2 == 0xB0 || c2 == 0xB1)) ||
	    (c == 0xC5 && c2 == 0xBF)) {
		*i = j;
		return c2 == 0xBF ? 's' : 'i';
	}
	if (c == 0xE2 && c2 == 0x84 && j < len &&
	    seg_byte(s, len, &j) == 0xAA) {
		*i = j;
		return 'k';
	}
	return c;
}

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/*
 * True when path segment |s| percent-decodes to exactly |want| (ignoring
 * case when |fold|, see auth_route_match). The canonical path keeps
 * reserved bytes encoded ("%3A") while a backend such as Starlette decodes
 * them before routing, so both spellings must be the same resource here
 * too; comparing raw bytes would let "/a%3Ab" slip past a rule written for
 * "/a:b".
 */
static bool
seg_match(const char *s, size_t len, const char *want, size_t want_len,
    bool fold)
{
	size_t i = 0, n = 0;

	while (i < len) {
		int c = seg_byte(s, len, &i);

		if (c < 0 || n >= want_len)
			return false;
		if (fold) {
			c = fold_utf8(c, s, len, &i);
			if (ascii_lower(c) !=
			    ascii_lower((unsigned char)want[n]))
				return false;
		} else if (c != (unsigned char)want[n]) {
			return false;
		}
		n++;
	}
	return n == want_len;
}

static bool
seg_equal_decoded(const char *s, size_t len, const char *want, size_t want_len)
{
	return seg_match(s, len, want, want_len, false);
}

static bool
route_try(const struct route_ent *ent, const char *path, size_t end,
    struct auth_match *out)
{
	size_t pos = 1, k;

	out->n_vars = 0;
	for (k = 0; k < ent->n_segs; k++) {
		const struct seg *sg = &ent->segs[k];
		const char *slash;
		size_t sl;

		if (sg->kind == SEG_GLOB)
			return true;
		if (pos > end)
			return false;
		slash = memchr(path + pos, '/', end - pos);
		sl = slash ? (size_t)(slash - (path + pos)) : end - pos;
		if (sg->kind == SEG_VAR) {
			/* {name} binds one segment, never an empty one. */
			if (sl == 0)
				return false;
			out->vars[out->n_vars].name = ent->names[sg->var];
			out->vars[out->n_vars].val.ptr = path + pos;
			out->vars[out->n_vars].val.len = sl;
			out->n_vars++;
		} else if (!seg_match(path + pos, sl,
		               ent->route.pattern + sg->off, sg->len,
		               ent->fold)) {
			return false;
		}
		pos += sl + 1;
	}
	/* Every pattern segment used: the path must be used up too. */
	return pos > end;
}

enum auth_status
auth_route_match(const struct auth_route_table *t, const char *path,
    size_t path_len, struct auth_match *out)
{
	size_t end, i;

	if (t == NULL || out == NULL || (path == NULL && path_len > 0))
		return AUTH_INTERNAL;
	if (path_len == 0 || path[0] != '/' || path_len > AUTH_MAX_PATH_LEN)
		return AUTH_NO_ROUTE;
	/* A trailing '/' is insignificant, so "/admin/" can never fall past
	 * the route written for "/admin" to a laxer one. "/" has no
	 * segments at all. */
	end = path_len;
	if (end > 1 && path[end - 1] == '/' && path[end - 2] != '/')
		end--;
	for (i = 0; i < t->n; i++) {
		const struct route_ent *ent = t->ents[i];

		if (end == 1 && ent->n_segs == 0) {
			out->n_vars = 0;
		} else if (end == 1) {
			if (ent->segs[0].kind != SEG_GLOB)
				continue;
			out->n_vars = 0;
		} else if (!route_try(ent, path, end, out)) {
			continue;
		}
		out->route = &ent->route;
		out->index = i;
		return AUTH_OK;
	}
	memset(out, 0, sizeof(*out));
	return AUTH_NO_ROUTE;
}

/* ------------------------------------------------------------- lint */

/*
 * Path sets are compared segment by segment. A pattern is a fixed list of
 * literals and {vars}, possibly ending in "**", so which routes are still
 * matching after d segments depends only on the segments read, and at
 * each depth a segment value matters only through which literals it
 * equals (exactly, or ignoring case). A few representative values per
 * depth therefore stand for every path: each literal as written, a case
 * variant of it written by no route, and a value equal to no literal.
 */

#define LINT_BUDGET 200000L /* steps; past it, no finding (never seen) */

struct lint_val {
	char s[ROUTE_NAME_MAX * 8 + 8]; /* a representative segment value */
	size_t len;
};

static bool
lit_matches(const struct route_ent *e, size_t k, const char *v, size_t len)
{
	const struct seg *sg = &e->segs[k];
	const char *lit = e->route.pattern + sg->off;
	size_t i;

	if (sg->len != len)
		return false;
	for (i = 0; i < len; i++) {
		int a = (unsigned char)v[i], b = (unsigned char)lit[i];

		if (e->fold ? ascii_lower(a) != ascii_lower(b) : a != b)
			return false;
	}
	return true;
}

/* Does |e| accept value |v| as its segment |k| (|e| has one there)? */
static bool
seg_accepts(const struct route_ent *e, size_t k, const struct lint_val *v)
{
	if (k >= e->n_segs)
		return false;
	if (e->segs[k].kind != SEG_LIT)
		return true;
	return lit_matches(e, k, v->s, v->len);
}

static bool
has_glob_at(const struct route_ent *e, size_t k)
{
	return k < e->n_segs && e->segs[k].kind == SEG_GLOB;
}

/* The index of |e|'s "**", or SIZE_MAX when it has none. */
static size_t
glob_index(const struct route_ent *e)
{
	return e->n_segs > 0 && e->segs[e->n_segs - 1].kind == SEG_GLOB
	    ? e->n_segs - 1
	    : SIZE_MAX;
}

static bool
val_known(const struct lint_val *vals, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (vals[i].len == len && memcmp(vals[i].s, s, len) == 0)
			return true;
	return false;
}

static void
val_add(struct lint_val *vals, size_t *n, const char *s, size_t len)
{
	if (len >= sizeof(vals[0].s) || val_known(vals, *n, s, len))
		return;
	memcpy(vals[*n].s, s, len);
	vals[*n].s[len] = '\0';
	vals[*n].len = len;
	(*n)++;
}

/*
 * The representative values at depth |d| for routes |rs| (|n| of them)
 * and |b|: written into a new array (|*n_vals| of them). NULL when out of
 * memory.
 */
static struct lint_val *
lint_values(const struct route_ent *const *rs, size_t n,
    const struct route_ent *b, size_t d, size_t *n_vals)
{
	struct lint_val *vals;
	size_t i, n_lits, cap = 2 * (n + 1) + 1, k;
	char buf[sizeof(vals[0].s)];

	vals = calloc(cap, sizeof(*vals));
	if (vals == NULL)
		return NULL;
	*n_vals = 0;
	for (i = 0; i <= n; i++) {
		const struct route_ent *e = i < n ? rs[i] : b;

		if (d < e->n_segs && e->segs[d].kind == SEG_LIT)
			val_add(vals, n_vals, e->route.pattern + e->segs[d].off,
			    e->segs[d].len);
	}
	/* A case variant of each literal that no route writes. */
	n_lits = *n_vals;
	for (i = 0; i < n_lits; i++) {
		size_t len = vals[i].len, tries;

		for (tries = 0; tries <= len; tries++) {
			bool changed = false;

			memcpy(buf, vals[i].s, len);
			for (k = 0; k < len; k++) {
				unsigned char c = (unsigned char)buf[k];
				bool flip = tries == 0 || k == tries - 1;

				if (!flip ||
				    !((c >= 'a' && c <= 'z') ||
				        (c >= 'A' && c <= 'Z')))
					continue;
				buf[k] = (char)(c ^ 0x20);
				changed = true;
			}
			if (changed && !val_known(vals, *n_vals, buf, len)) {
				val_add(vals, n_vals, buf, len);
				break;
			}
		}
	}
	/* A value equal to no literal, in any case. */
	for (k = 0;; k++) {
		bool clash = false;

		snprintf(buf, sizeof(buf), "~%zu", k);
		for (i = 0; i < n_lits && !clash; i++) {
			size_t j, len = strlen(buf);

			if (vals[i].len != len)
				continue;
			clash = true;
			for (j = 0; j < len; j++)
				if (ascii_lower((unsigned char)buf[j]) !=
				    ascii_lower((unsigned char)vals[i].s[j]))
					clash = false;
		}
		if (!clash) {
			val_add(vals, n_vals, buf, strlen(buf));
			break;
		}
	}
	return vals;
}

/*
 * 1 when every path route |b| matches whose first |d| segments every
 * route in |rs| matched also matches some route of |rs|; 0 when not; -1
 * out of memory; -2 over the step budget.
 */
static int
lint_covered(const struct route_ent *const *rs, size_t n,
    const struct route_ent *b, size_t d, long *budget)
{
	const struct route_ent **next = NULL;
	struct lint_val *vals = NULL;
	size_t i, j, n_vals, n_next, bg = glob_index(b);
	bool b_ends, b_goes_on, ends = false;
	int rv = 1;

	if (--*budget < 0)
		return -2;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (has_glob_at(rs[i], d))
			return 1;
		if (rs[i]->n_segs == d)
			ends = true;
	}
	/* The path may end here (b's segments used up, or b's "**"). */
	b_ends = d == b->n_segs || bg <= d;
	if (b_ends && !ends)
		return 0;
	b_goes_on = bg <= d || d < b->n_segs;
	if (!b_goes_on)
		return 1;
	vals = lint_values(rs, n, b, d, &n_vals);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
	next = calloc(n, sizeof(*next));
	if (vals == NULL || next == NULL) {
		rv = -1;
		goto out;
	}
	for (j = 0; j < n_vals && rv == 1; j++) {
		if (bg > d && !seg_accepts(b, d, &vals[j]))
			continue;
		n_next = 0;
		for (i = 0; i < n; i++)
			if (seg_accepts(rs[i], d, &vals[j]))
				next[n_next++] = rs[i];
		rv = lint_covered(next, n_next, b, d + 1, budget);
	}
out:
	free(vals);
	free(next);
	return rv;
}

/* Appends "/" and |len| bytes of |s| to |ex| at |off| (truncating, always
 * terminated); returns the new offset. */
static size_t
ex_cat(char *ex, size_t ex_len, size_t off, const char *s, size_t len)
{
	if (off + 1 + len + 1 > ex_len)
		return off;
	ex[off++] = '/';
	memcpy(ex + off, s, len);
	off += len;
	ex[off] = '\0';
	return off;
}

/* Whether |a| and |b| match a path in common; writes one such, as a
 * pattern, into |ex|. */
static bool
lint_overlap(const struct route_ent *a, const struct route_ent *b, char *ex,
    size_t ex_len)
{
	const struct route_ent *rest = NULL;
	size_t k, off = 0;

	ex[0] = '\0';
	for (k = 0;; k++) {
		const struct route_ent *we; /* whose segment is written */
		bool a_end = k >= a->n_segs, b_end = k >= b->n_segs;
		const struct seg *w;

		if (has_glob_at(a, k) || has_glob_at(b, k)) {
			rest = has_glob_at(a, k) ? b : a;
			break;
		}
		if (a_end || b_end) {
			if (a_end != b_end)
				return false;
			break;
		}
		if (a->segs[k].kind == SEG_LIT && b->segs[k].kind == SEG_LIT) {
			struct lint_val v;

			/* The spelling of a route that does not fold
			 * matches both, if any value does. */
			we = a->fold ? b : a;
			w = &we->segs[k];
			v.len = w->len;
			memcpy(v.s, we->route.pattern + w->off, w->len);
			if (!seg_accepts(a, k, &v) || !seg_accepts(b, k, &v))
				return false;
		} else {
			/* A literal where there is one, else b's {name}. */
			we = a->segs[k].kind == SEG_LIT ? a : b;
			w = &we->segs[k];
		}
		off =
		    ex_cat(ex, ex_len, off, we->route.pattern + w->off, w->len);
	}
	for (; rest != NULL && k < rest->n_segs; k++)
		off = ex_cat(ex, ex_len, off,
		    rest->route.pattern + rest->segs[k].off, rest->segs[k].len);
	if (off == 0)
		snprintf(ex, ex_len, "/");
	return true;
}

/* The position of variable |name| in |e|'s segments, or n_segs. */
static size_t
var_pos(const struct route_ent *e, const char *name)
{
	size_t k;

	for (k = 0; k < e->n_segs; k++)
		if (e->segs[k].kind == SEG_VAR &&
		    strcmp(e->names[e->segs[k].var], name) == 0)
			return k;
	return e->n_segs;
}

/* Whether |a| enforces rule |rb| of |b| on the paths they share: the same
 * rule, on a variable at the same segment. */
static bool
rule_held(const struct route_ent *a, const struct route_ent *b,
    const struct auth_rule *rb)
{
	size_t i;

	for (i = 0; i < a->route.n_rules; i++) {
		const struct auth_rule *ra = &a->route.rules[i];

		if (ra->kind != rb->kind || strcmp(ra->claim, rb->claim) != 0 ||
		    strcmp(ra->value, rb->value) != 0)
			continue;
		if (ra->kind == AUTH_RULE_CLAIM_VALUE)
			return true;
		if (var_pos(a, ra->var) == var_pos(b, rb->var) &&
		    var_pos(b, rb->var) < b->n_segs)
			return true;
	}
	return false;
}

static const char *
mode_name(enum auth_mode m)
{
	return m == AUTH_MODE_REQUIRED ? "required"
	    : m == AUTH_MODE_OPTIONAL  ? "optional"
	                               : "none";
}

/* What |b| would enforce that |a| does not, into |why|; false if nothing. */
static bool
lint_stricter(const struct route_ent *a, const struct route_ent *b, char *why,
    size_t why_len)
{
	size_t i;

	if (b->route.mode > a->route.mode) {
		snprintf(why, why_len, "auth = %s, not %s",
		    mode_name(b->route.mode), mode_name(a->route.mode));
		return true;
	}
	for (i = 0; i < b->route.n_rules; i++) {
		if (!rule_held(a, b, &b->route.rules[i])) {
			snprintf(why, why_len, "require rules");
			return true;
		}
	}
	return false;
}

static void
lint_put(struct auth_lint *out, size_t cap, size_t *n,
    const struct auth_lint *f)
{
	if (*n < cap)
		out[*n] = *f;
	(*n)++;
}

int
auth_route_lint(const struct auth_route_table *t, struct auth_lint *out,
    size_t cap, size_t *n_found)
{
	const struct route_ent **rs;
	struct auth_lint f;
	long budget;
	size_t i, j;
	int rv = 0, cov;

	*n_found = 0;
	if (t == NULL || t->n < 2)
		return 0;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
	rs = calloc(t->n, sizeof(*rs));
	if (rs == NULL)
		return -1;
	for (i = 1; i < t->n && rv == 0; i++) {
		const struct route_ent *b = t->ents[i];
		size_t first = i;
		bool unreachable = false;

		memset(&f, 0, sizeof(f));
		f.later = i;
		/* One earlier route alone, the clearest message. */
		for (j = 0; j < i && !unreachable; j++) {
			rs[0] = t->ents[j];
			budget = LINT_BUDGET;
			cov = lint_covered(rs, 1, b, 0, &budget);
			if (cov == -1)
				rv = -1;
			if (cov == 1) {
				unreachable = true;
				f.earlier = j;
				f.alone = true;
			}
		}
		/* Else all of them together. */
		if (!unreachable && rv == 0) {
			size_t n = 0;

			for (j = 0; j < i; j++) {
				if (!lint_overlap(t->ents[j], b, f.example,
				        sizeof(f.example)))
					continue;
				if (first == i)
					first = j;
				rs[n++] = t->ents[j];
			}
			budget = LINT_BUDGET;
			cov = lint_covered(rs, n, b, 0, &budget);
			if (cov == -1)
				rv = -1;
			if (cov == 1 && n > 0) {
				unreachable = true;
				f.earlier = first;
				f.alone = false;
			}
		}
		if (unreachable) {
			f.kind = AUTH_LINT_UNREACHABLE;
			f.example[0] = '\0';
			lint_put(out, cap, n_found, &f);
			continue;
		}
		/* An earlier route taking part of b's paths where b is
		 * stricter, unless it is an exception carved out of b. */
		for (j = 0; j < i && rv == 0; j++) {
			const struct route_ent *a = t->ents[j];

			memset(&f, 0, sizeof(f));
			if (!lint_overlap(a, b, f.example, sizeof(f.example)) ||
			    !lint_stricter(a, b, f.reason, sizeof(f.reason)))
				continue;
			rs[0] = b;
			budget = LINT_BUDGET;
			cov = lint_covered(rs, 1, a, 0, &budget);
			if (cov == -1)
				rv = -1;
			if (cov != 0)
				continue; /* a inside b, or unknown */
			f.kind = AUTH_LINT_TAKES;
			f.earlier = j;
			f.later = i;
			lint_put(out, cap, n_found, &f);
		}
	}
	free(rs);
	return rv;
}

/* ------------------------------------------------------------ checks */

static const struct auth_view *
binding(const struct auth_match *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_vars && i < AUTH_MAX_ROUTE_VARS; i++)
		if (m->vars[i].name != NULL &&
		    strcmp(m->vars[i].name, name) == 0)
			return &m->vars[i].val;
	return NULL;
}

/* auth_claims_get, telling an absent claim (AUTH_FORBIDDEN) from jansson
 * running out of memory (AUTH_INTERNAL) in |st|. */
static int
claim_get(const struct auth_claims *c, const char *name, char *out,
    size_t out_cap, size_t *out_len, enum auth_status *st)
{
	auth_json_oom_reset();
	if (auth_claims_get(c, name, out, out_cap, out_len) == 0 &&
	    *out_len < out_cap)
		return 0;
	*st = auth_json_oom() ? AUTH_INTERNAL : AUTH_FORBIDDEN;
	return -1;
}

enum auth_status
auth_route_check(const struct auth_match *m, const struct auth_claims *c)
{
	const struct auth_route *r;
	char val[AUTH_MAX_EXTRA_LEN];
	size_t i, val_len;
	enum auth_status st;

	if (m == NULL || m->route == NULL)
		return AUTH_INTERNAL;
	r = m->route;
	if (r->n_rules > AUTH_MAX_ROUTE_RULES)
		return AUTH_INTERNAL;
	if (r->n_rules > 0 && c == NULL)
		return AUTH_FORBIDDEN;
	for (i = 0; i < r->n_rules; i++) {
		const struct auth_rule *ru = &r->rules[i];
		const struct auth_view *b = NULL;

		if (ru->kind != AUTH_RULE_CLAIM_VALUE) {
			b = binding(m, ru->var);
			if (b == NULL)
				return AUTH_FORBIDDEN;
		}
		switch (ru->kind) {
		case AUTH_RULE_VAR_SUB:
			/* The binding as the backend will read it (decoded)
			 * against the subject, byte for byte. */
			if (c->sub_len > AUTH_MAX_SUB_LEN ||
			    !seg_equal_decoded(b->ptr, b->len, c->sub,
			        c->sub_len))
				return AUTH_FORBIDDEN;
			break;
		case AUTH_RULE_VAR_CLAIM:
			if (claim_get(c, ru->claim, val, sizeof(val), &val_len,
			        &st) != 0)
				return st;
			if (!seg_equal_decoded(b->ptr, b->len, val, val_len))
				return AUTH_FORBIDDEN;
			break;
		case AUTH_RULE_CLAIM_VALUE:
			if (claim_get(c, ru->claim, val, sizeof(val), &val_len,
			        &st) != 0)
				return st;
			if (val_len != strnlen(ru->value, sizeof(ru->value)) ||
			    memcmp(val, ru->value, val_len) != 0)
				return AUTH_FORBIDDEN;
			break;
		default:
			return AUTH_FORBIDDEN;
		}
	}
	return AUTH_OK;
}
