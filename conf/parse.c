/* SPDX-License-Identifier: MIT */
/* The recursive-descent parser: tokens -> a tree of statements checked
 * against the option table, with ${VAR} expansion in double-quoted values.
 *
 *   file  = stmt* EOF          block = '{' stmt* '}'
 *   stmt  = NAME ('=' | '+=') value [';']  |  NAME [TITLE] block  |  ';'
 *   value = scalar | '{' [scalar (',' scalar)* [',']] '}'
 *   scalar, TITLE = WORD | "double-quoted" | 'single-quoted'
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"

#define CONF_MAX_VALUE_LEN 65536 /* one value after expansion */
#define CONF_MAX_PATH 64         /* "issuer.key" */

struct parser {
	struct conf_ctx *ctx;
	struct lex lx;
	struct lex_tok tok;
};

static void
next(struct parser *P)
{
	lex_next(&P->lx, &P->tok);
}

/* ------------------------------------------------------------- values */

static struct conf_pos
col_at(const struct lex_tok *t, const char *p)
{
	struct conf_pos pos = t->pos;

	/* Strings do not span lines: the column is an offset from the
	 * token's start (past the opening quote). */
	pos.col += (int)(p - t->p) + (t->kind == LEX_DQ || t->kind == LEX_SQ);
	return pos;
}

static bool
is_var_start(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    ch == '_';
}

static bool
is_var_char(char ch)
{
	return is_var_start(ch) || (ch >= '0' && ch <= '9');
}

/*
 * ${NAME} or ${NAME:-default} at |p| (pointing at '$') in |t|: appends the
 * expansion to |b|. An unset variable expands to nothing (an empty secret
 * is refused later, with a hint); ":-" also replaces an empty one, as in
 * sh. Returns where the reference ends, or NULL after an error.
 */
static const char *
expand(struct parser *P, const struct lex_tok *t, const char *p,
    const char *end, struct conf_buf *b)
{
	const char *name = p + 2, *q = name, *def = NULL, *close;
	char var[128];
	const char *v;

	close = memchr(name, '}', (size_t)(end - name));
	if (close == NULL) {
		conf_err(P->ctx, col_at(t, p), "'${' without its closing '}'");
		return NULL;
	}
	while (q < close && is_var_char(*q))
		q++;
	if (q == name || !is_var_start(*name) ||
	    (size_t)(q - name) >= sizeof(var) ||
	    (q != close && !(close - q >= 2 && q[0] == ':' && q[1] == '-'))) {
		conf_err(P->ctx, col_at(t, p),
		    "'%.*s' is not ${NAME} or ${NAME:-default} (NAME: letters, digits, '_')",
		    (int)(close + 1 - p) > 64 ? 64 : (int)(close + 1 - p), p);
		return NULL;
	}
	if (q != close)
		def = q + 2;
	memcpy(var, name, (size_t)(q - name));
	var[q - name] = '\0';
	v = getenv(var);
	if (v != NULL && (v[0] != '\0' || def == NULL))
		conf_buf_add(b, v, strlen(v));
	else if (def != NULL)
		conf_buf_add(b, def, (size_t)(close - def));
	return close + 1;
}

/* The value of string token |t|, unquoted and expanded, into |out|.
 * Returns false after an error (reported). */
static bool
unquote(struct parser *P, const struct lex_tok *t, struct conf_val *out)
{
	const char *p = t->p, *end = t->p + t->n, *s;
	/* A value may be a secret: conf_buf wipes what it outgrows. */
	struct conf_buf b = {NULL, 0, 0, false};
	bool ok = true;

	out->pos = t->pos;
	conf_buf_add(&b, "", 0);
	while (p < end && ok) {
		if (*p == '$' && p + 1 < end && p[1] == '{') {
			if (t->kind == LEX_DQ) {
				p = expand(P, t, p, end, &b);
				ok = p != NULL;
				continue;
			}
			conf_err(P->ctx, col_at(t, p),
			    t->kind == LEX_SQ
			        ? "'${' in single quotes: '...' is literal, ${VAR} expands only in \"...\""
			        : "'${' in a bare value: ${VAR} expands only in \"...\"");
			ok = false;
			break;
		}
		if (*p == '\\' && t->kind != LEX_WORD && p + 1 < end) {
			char ch = p[1], o = 0;
			int h1, h2;

			if (t->kind == LEX_SQ) {
				/* Only the quote and the backslash. */
				o = (char)(ch == '\'' || ch == '\\' ? ch : 0);
				if (o == 0) {
					conf_buf_add(&b, p, 1);
					p++;
					continue;
				}
			} else if (ch == 'n') {
				o = '\n';
			} else if (ch == 't') {
				o = '\t';
			} else if (ch == 'r') {
				o = '\r';
			} else if (ch == '"' || ch == '\\' || ch == '$' ||
			    ch == '\'') {
				o = ch;
			} else if (ch == 'x' && p + 3 < end &&
			    (h1 = auth_hexval((unsigned char)p[2])) >= 0 &&
			    (h2 = auth_hexval((unsigned char)p[3])) >= 0 &&
			    (h1 | h2) != 0) {
				o = (char)(h1 * 16 + h2);
				p += 2;
			} else {
				conf_err(P->ctx, col_at(t, p),
				    "unknown escape '\\%c' (\\\" \\\\ \\$ \\n \\t \\r \\xHH)",
				    ch >= 0x20 && ch < 0x7f ? ch : '?');
				ok = false;
				break;
			}
			conf_buf_add(&b, &o, 1);
			p += 2;
			continue;
		}
		if ((unsigned char)*p < 0x20 && *p != '\t') {
			conf_err(P->ctx, col_at(t, p),
			    "control byte 0x%02x in a value (write \\xHH)",
			    (unsigned char)*p);
			ok = false;
			break;
		}
		s = p;
		while (p < end && *p != '\\' && *p != '$' &&
		    !((unsigned char)*p < 0x20 && *p != '\t'))
			p++;
		if (p == s)
			p++;
		conf_buf_add(&b, s, (size_t)(p - s));
	}
	if (ok && !b.failed && b.n > CONF_MAX_VALUE_LEN) {
		conf_err(P->ctx, t->pos, "a value longer than %d bytes",
		    CONF_MAX_VALUE_LEN);
		ok = false;
	}
	if (b.failed)
		P->ctx->oom = true;
	if (!ok || b.failed) {
		conf_wipe_free(b.p, b.cap);
		return false;
	}
	out->s = b.p;
	out->len = b.n;
	if (strlen(b.p) != b.n) {
		conf_err(P->ctx, t->pos, "a NUL byte in a value");
		conf_wipe_free(b.p, b.cap);
		out->s = NULL;
		return false;
	}
	return true;
}

static bool
is_scalar(enum lex_kind k)
{
	return k == LEX_WORD || k == LEX_DQ || k == LEX_SQ;
}

static void
vals_free(struct conf_val *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		conf_wipe_free(v[i].s, v[i].len);
	conf_mfree(v);
}

static bool
vals_add(struct parser *P, struct conf_val **v, size_t *n,
    const struct conf_val *x)
{
	struct conf_val *nv;

	nv = conf_realloc(*v, (*n + 1) * sizeof(**v));
	if (nv == NULL) {
		P->ctx->oom = true;
		return false;
	}
	*v = nv;
	nv[(*n)++] = *x;
	return true;
}

/* Skips the rest of a broken list, through its '}'. */
static void
skip_list(struct parser *P)
{
	int depth = 1;

	while (P->tok.kind != LEX_EOF && depth > 0) {
		if (P->tok.kind == LEX_LBRACE)
			depth++;
		else if (P->tok.kind == LEX_RBRACE)
			depth--;
		next(P);
	}
}

/* Skips a braced group from its '{' through the matching '}' (one token
 * when it is not at a '{'). */
static void
skip_group(struct parser *P)
{
	bool open = P->tok.kind == LEX_LBRACE;

	next(P);
	if (open)
		skip_list(P);
}

/*
 * Skips the rest of a broken statement: the current token, then up to the
 * next line, ';' or the '}' that closes the block (left for the block),
 * skipping whole braced groups on the way.
 */
static void
recover(struct parser *P)
{
	if (P->tok.kind == LEX_EOF)
		return;
	if (P->tok.kind == LEX_LBRACE && !P->tok.nl_before) {
		/* "limits {{": a stray brace, not a group. */
		next(P);
	} else if (P->tok.kind != LEX_RBRACE) {
		skip_group(P);
	}
	while (P->tok.kind != LEX_EOF && !P->tok.nl_before &&
	    P->tok.kind != LEX_RBRACE) {
		if (P->tok.kind == LEX_SEMI) {
			next(P);
			return;
		}
		skip_group(P);
	}
}

/* A value: one scalar or a braced list. Returns false after an error
 * (reported; what is left of the statement is skipped). */
static bool
parse_value(struct parser *P, struct conf_node *n)
{
	struct conf_val v;

	if (is_scalar(P->tok.kind)) {
		if (!unquote(P, &P->tok, &v)) {
			recover(P);
			return false;
		}
		if (!vals_add(P, &n->vals, &n->n_vals, &v)) {
			conf_wipe_free(v.s, v.len);
			recover(P);
			return false;
		}
		next(P);
		return true;
	}
	if (P->tok.kind != LEX_LBRACE) {
		conf_err(P->ctx, P->tok.pos, "expected a value, found %s",
		    lex_kind_str(P->tok.kind));
		recover(P);
		return false;
	}
	n->is_list = true;
	next(P);
	while (P->tok.kind != LEX_RBRACE) {
		if (!is_scalar(P->tok.kind)) {
			conf_err(P->ctx, P->tok.pos,
			    "expected a value or '}' in the list, found %s",
			    lex_kind_str(P->tok.kind));
			goto out_skip;
		}
		if (!unquote(P, &P->tok, &v))
			goto out_skip;
		if (!vals_add(P, &n->vals, &n->n_vals, &v)) {
			conf_wipe_free(v.s, v.len);
			goto out_skip;
		}
		next(P);
		if (P->tok.kind == LEX_COMMA)
			next(P);
		else if (P->tok.kind != LEX_RBRACE) {
			conf_err(P->ctx, P->tok.pos,
			    "expected ',' or '}' in the list, found %s",
			    lex_kind_str(P->tok.kind));
			goto out_skip;
		}
	}
	next(P);
	return true;
out_skip:
	skip_list(P);
	return false;
}

/* ------------------------------------------------------------ the tree */

void
conf_tree_free(struct conf_node *n)
{
	while (n != NULL) {
		struct conf_node *nx = n->next;

		vals_free(n->vals, n->n_vals);
		conf_wipe_free(n->title.s, n->title.len);
		conf_tree_free(n->kids);
		conf_mfree(n);
		n = nx;
	}
}

/* Names of the rows of section |sec| (at most |cap|), for suggestions. */
static size_t
names_of(const char *sec, const char **out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < conf_n_opts && n < cap; i++)
		if (strcmp(conf_opts[i].sec, sec) == 0)
			out[n++] = conf_opts[i].name;
	return n;
}

/* "unknown option "x" in route; did you mean "y"?" */
static void
unknown(struct parser *P, struct conf_pos pos, const char *what,
    const char *name, const char *sec)
{
	const char *names[64] = {NULL}, *s;
	const char *elsewhere = NULL;
	size_t i, n = names_of(sec, names, 64);

	for (i = 0; i < conf_n_opts && elsewhere == NULL; i++)
		if (strcmp(conf_opts[i].name, name) == 0 &&
		    conf_opts[i].sec[0] != '\0')
			elsewhere = conf_opts[i].sec;
	s = conf_suggest(name, names, n);
	if (s != NULL)
		conf_err(P->ctx, pos,
		    "unknown %s \"%.64s\"%s%s; did you mean \"%s\"?", what,
		    name, sec[0] ? " in " : "", sec, s);
	else if (elsewhere != NULL)
		conf_err(P->ctx, pos,
		    "unknown %s \"%.64s\"%s%s (it belongs in %s { })", what,
		    name, sec[0] ? " in " : "", sec, elsewhere);
	else
		conf_err(P->ctx, pos, "unknown %s \"%.64s\"%s%s", what, name,
		    sec[0] ? " in " : "", sec);
}

/* The statement of |opt| already in |list|, or NULL. Titled sections
 * match on the title too. */
static struct conf_node *
find_sibling(struct conf_node *list, const struct conf_opt *opt,
    const char *title)
{
	for (; list != NULL; list = list->next)
		if (list->opt == opt &&
		    (title == NULL ||
		        (list->title.s != NULL &&
		            strcmp(list->title.s, title) == 0)))
			return list;
	return NULL;
}

static void
append(struct conf_node **list, struct conf_node *n)
{
	while (*list != NULL)
		list = &(*list)->next;
	*list = n;
}

static void parse_block(struct parser *P, const char *path,
    struct conf_node **list, int depth);

/* NAME = value, with the name already read into |name| at |pos|. */
static void
parse_option(struct parser *P, const char *path, struct conf_node **list,
    const char *name, struct conf_pos pos)
{
	const struct conf_opt *opt = conf_opt_find(path, name);
	bool append_op = P->tok.kind == LEX_PLUSEQ;
	struct conf_node *n, *prev;

	next(P); /* '=' or '+=' */
	n = conf_calloc(1, sizeof(*n));
	if (n == NULL) {
		P->ctx->oom = true;
		recover(P);
		return;
	}
	n->opt = opt;
	n->pos = pos;
	if (!parse_value(P, n)) {
		conf_tree_free(n);
		return;
	}
	if (P->tok.kind == LEX_SEMI)
		next(P);
	if (opt == NULL) {
		unknown(P, pos, "option", name, path);
		conf_tree_free(n);
		return;
	}
	if (opt->type == CONF_T_SECTION || opt->type == CONF_T_TITLED) {
		conf_err(P->ctx, pos, "%s is a section: write %s%s { ... }",
		    name, name, opt->type == CONF_T_TITLED ? " NAME" : "");
		conf_tree_free(n);
		return;
	}
	if (opt->type != CONF_T_LIST && (n->is_list || append_op)) {
		conf_err(P->ctx, pos, "%s takes one value, not a list", name);
		conf_tree_free(n);
		return;
	}
	prev = find_sibling(*list, opt, NULL);
	if (prev != NULL && append_op) {
		/* += appends to the list set before. */
		size_t i;

		for (i = 0; i < n->n_vals; i++) {
			if (!vals_add(P, &prev->vals, &prev->n_vals,
			        &n->vals[i]))
				break;
			n->vals[i].s = NULL;
		}
		prev->is_list = true;
		conf_tree_free(n);
		return;
	}
	if (prev != NULL) {
		conf_err(P->ctx, pos,
		    "%s is set twice (first at line %d); use += to add to a list",
		    name, prev->pos.line);
		conf_tree_free(n);
		return;
	}
	append(list, n);
}

/* NAME [TITLE] { ... }, with the name already read. */
static void
parse_section(struct parser *P, const char *path, struct conf_node **list,
    const char *name, struct conf_pos pos, int depth)
{
	const struct conf_opt *opt = conf_opt_find(path, name);
	char sub[CONF_MAX_PATH];
	struct conf_val title = {NULL, 0, {0, 0}};
	struct conf_node *n = NULL, *prev;
	bool skip = false;

	if (is_scalar(P->tok.kind)) {
		if (!unquote(P, &P->tok, &title)) {
			recover(P);
			return;
		}
		next(P);
	}
	if (P->tok.kind != LEX_LBRACE) {
		conf_err(P->ctx, P->tok.pos,
		    "expected '{' after %s%s%.64s%s, found %s", name,
		    title.s ? " \"" : "", title.s ? title.s : "",
		    title.s ? "\"" : "", lex_kind_str(P->tok.kind));
		conf_wipe_free(title.s, title.len);
		recover(P);
		return;
	}
	if (opt == NULL) {
		unknown(P, pos, "section", name, path);
		skip = true;
	} else if (opt->type != CONF_T_SECTION && opt->type != CONF_T_TITLED) {
		conf_err(P->ctx, pos, "%s is an option: write %s = value", name,
		    name);
		skip = true;
	} else if (opt->type == CONF_T_TITLED && title.s == NULL) {
		conf_err(P->ctx, pos, "%s needs a name: %s NAME { ... }", name,
		    name);
		skip = true;
	} else if (opt->type == CONF_T_SECTION && title.s != NULL) {
		conf_err(P->ctx, pos, "%s takes no name: %s { ... }", name,
		    name);
		skip = true;
	} else if (depth >= CONF_MAX_DEPTH ||
	    strlen(path) + strlen(name) + 2 > sizeof(sub)) {
		skip = true;
	}
	if (skip) {
		conf_wipe_free(title.s, title.len);
		skip_group(P);
		return;
	}
	{
		size_t pl = strlen(path), nl = strlen(name);

		/* Fits: checked above; terminated below. */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(sub, path, pl);
		if (pl > 0)
			sub[pl++] = '.';
		memcpy(sub + pl, name, nl + 1);
	}
	prev = find_sibling(*list, opt, title.s);
	if (prev != NULL && opt->type == CONF_T_TITLED) {
		conf_err(P->ctx, pos,
		    "duplicate %s \"%.128s\" (first defined at line %d)", name,
		    title.s, prev->pos.line);
		conf_wipe_free(title.s, title.len);
		skip_group(P);
		return;
	}
	if (prev != NULL) {
		/* A section written twice is one section. */
		n = prev;
	} else {
		n = conf_calloc(1, sizeof(*n));
		if (n == NULL) {
			P->ctx->oom = true;
			conf_wipe_free(title.s, title.len);
			skip_group(P);
			return;
		}
		n->opt = opt;
		n->pos = pos;
		n->title = title;
		append(list, n);
	}
	next(P); /* '{' */
	parse_block(P, sub, &n->kids, depth + 1);
	if (P->tok.kind == LEX_RBRACE) {
		n->close = P->tok.pos;
		next(P);
	} else {
		conf_err(P->ctx, P->ctx->eof,
		    "end of file: the '{' of line %d is never closed",
		    pos.line);
	}
	if (P->tok.kind == LEX_SEMI)
		next(P);
}

/* Statements until the '}' that closes the block (left for the caller) or
 * the end of the file. */
static void
parse_block(struct parser *P, const char *path, struct conf_node **list,
    int depth)
{
	char name[CONF_MAX_PATH];
	struct conf_pos pos;

	while (P->tok.kind != LEX_EOF && !P->ctx->oom) {
		if (P->tok.kind == LEX_RBRACE) {
			if (depth > 0)
				return;
			conf_err(P->ctx, P->tok.pos,
			    "unexpected '}': no section is open");
			next(P);
			continue;
		}
		if (P->tok.kind == LEX_SEMI) {
			next(P);
			continue;
		}
		if (P->tok.kind != LEX_WORD) {
			conf_err(P->ctx, P->tok.pos,
			    "expected an option or a section name, found %s",
			    lex_kind_str(P->tok.kind));
			recover(P);
			continue;
		}
		pos = P->tok.pos;
		snprintf(name, sizeof(name), "%.*s",
		    (int)(P->tok.n < sizeof(name) ? P->tok.n
		                                  : sizeof(name) - 1),
		    P->tok.p);
		next(P);
		if (P->tok.kind == LEX_EQ || P->tok.kind == LEX_PLUSEQ)
			parse_option(P, path, list, name, pos);
		else if (is_scalar(P->tok.kind) || P->tok.kind == LEX_LBRACE)
			parse_section(P, path, list, name, pos, depth);
		else {
			conf_err(P->ctx, P->tok.pos,
			    "expected '=' or '{' after \"%s\", found %s", name,
			    lex_kind_str(P->tok.kind));
			recover(P);
		}
	}
}

struct conf_node *
conf_parse(struct conf_ctx *ctx, const char *text, size_t len)
{
	struct parser P;
	struct conf_node *top = NULL;

	memset(&P, 0, sizeof(P));
	P.ctx = ctx;
	lex_init(&P.lx, ctx, text, len);
	next(&P);
	parse_block(&P, "", &top, 0);
	return top;
}
