/* SPDX-License-Identifier: MIT */
/* The config lexer: words, quoted strings, punctuation and comments
 * ('#', '//' and block comments), with exact lines and columns. */
#include <string.h>

#include "lex.h"

void
lex_init(struct lex *lx, struct conf_ctx *ctx, const char *text, size_t len)
{
	lx->ctx = ctx;
	lx->cur = text;
	lx->end = text + len;
	lx->line_start = text;
	lx->line = 1;
	lx->nl = true;
}

static struct conf_pos
here(const struct lex *lx)
{
	struct conf_pos p = {lx->line, (int)(lx->cur - lx->line_start) + 1};

	return p;
}

static void
newline(struct lex *lx)
{
	lx->cur++;
	lx->line++;
	lx->line_start = lx->cur;
	lx->nl = true;
}

/* A byte that ends a bare word. */
static bool
is_stop(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
	    ch == '#' || ch == '"' || ch == '\'' || ch == '=' || ch == '{' ||
	    ch == '}' || ch == ',' || ch == ';' || ch == '\0';
}

/* Skips blanks, newlines and comments. Returns false at a NUL byte. */
static bool
skip_space(struct lex *lx)
{
	while (lx->cur < lx->end) {
		char ch = *lx->cur;

		if (ch == '\n') {
			newline(lx);
		} else if (ch == ' ' || ch == '\t' || ch == '\r') {
			lx->cur++;
		} else if (ch == '#' ||
		    (ch == '/' && lx->cur + 1 < lx->end && lx->cur[1] == '/')) {
			while (lx->cur < lx->end && *lx->cur != '\n' &&
			    *lx->cur != '\0')
				lx->cur++;
		} else if (ch == '/' && lx->cur + 1 < lx->end &&
		    lx->cur[1] == '*') {
			struct conf_pos start = here(lx);

			lx->cur += 2;
			while (lx->cur < lx->end &&
			    !(lx->cur[0] == '*' && lx->cur + 1 < lx->end &&
			        lx->cur[1] == '/')) {
				if (*lx->cur == '\0')
					break;
				if (*lx->cur == '\n')
					newline(lx);
				else
					lx->cur++;
			}
			if (lx->cur < lx->end && *lx->cur == '*') {
				lx->cur += 2;
			} else {
				conf_err(lx->ctx, start,
				    "this comment is never closed ('*/')");
				lx->nl = false;
			}
		} else if (ch == '\0') {
			return false;
		} else {
			return true;
		}
	}
	return true;
}

/* A quoted string from the opening quote; it may not span lines. */
static void
lex_string(struct lex *lx, struct lex_tok *t, char q)
{
	const char *s = ++lx->cur;

	t->kind = q == '"' ? LEX_DQ : LEX_SQ;
	while (lx->cur < lx->end && *lx->cur != q && *lx->cur != '\n' &&
	    *lx->cur != '\0') {
		if (*lx->cur == '\\' && lx->cur + 1 < lx->end &&
		    lx->cur[1] != '\n' && lx->cur[1] != '\0')
			lx->cur++;
		lx->cur++;
	}
	t->p = s;
	t->n = (size_t)(lx->cur - s);
	if (lx->cur < lx->end && *lx->cur == q)
		lx->cur++;
	else
		conf_err(lx->ctx, t->pos,
		    "this quoted string is never closed (a string cannot span lines; write \\n)");
}

void
lex_next(struct lex *lx, struct lex_tok *t)
{
	memset(t, 0, sizeof(*t));
	for (;;) {
		if (!skip_space(lx)) {
			conf_err(lx->ctx, here(lx),
			    "the file contains a NUL byte");
			lx->cur = lx->end;
		}
		t->pos = here(lx);
		t->nl_before = lx->nl;
		t->p = lx->cur;
		if (lx->cur >= lx->end) {
			/* After a final newline: the end of the last line. */
			t->kind = LEX_EOF;
			if (lx->ctx->eof.line > 0 &&
			    t->pos.line > lx->ctx->eof.line)
				t->pos = lx->ctx->eof;
			return;
		}
		lx->nl = false;
		if (*lx->cur == '+' && lx->cur + 1 < lx->end &&
		    lx->cur[1] == '=') {
			t->kind = LEX_PLUSEQ;
			lx->cur += 2;
			t->n = 2;
			return;
		}
		switch (*lx->cur) {
		case '"':
		case '\'':
			lex_string(lx, t, *lx->cur);
			return;
		case '=':
			t->kind = LEX_EQ;
			break;
		case '{':
			t->kind = LEX_LBRACE;
			break;
		case '}':
			t->kind = LEX_RBRACE;
			break;
		case ',':
			t->kind = LEX_COMMA;
			break;
		case ';':
			t->kind = LEX_SEMI;
			break;
		default:
			if ((unsigned char)*lx->cur < 0x20 ||
			    *lx->cur == 0x7f) {
				conf_err(lx->ctx, t->pos,
				    "unexpected control byte 0x%02x",
				    (unsigned char)*lx->cur);
				lx->cur++;
				continue;
			}
			t->kind = LEX_WORD;
			/* A bare "${VAR}" stays one word, so that the parser
			 * can say it expands only in double quotes. */
			if (*lx->cur == '$' && lx->cur + 1 < lx->end &&
			    lx->cur[1] == '{') {
				const char *close = memchr(lx->cur, '}',
				    (size_t)(lx->end - lx->cur));
				const char *nl = memchr(lx->cur, '\n',
				    (size_t)(lx->end - lx->cur));

				if (close != NULL && (nl == NULL || close < nl))
					lx->cur = close + 1;
			}
			while (lx->cur < lx->end && !is_stop(*lx->cur) &&
			    !((unsigned char)*lx->cur < 0x20 ||
			        *lx->cur == 0x7f) &&
			    !(*lx->cur == '+' && lx->cur + 1 < lx->end &&
			        lx->cur[1] == '='))
				lx->cur++;
			t->n = (size_t)(lx->cur - t->p);
			return;
		}
		lx->cur++;
		t->n = 1;
		return;
	}
}

const char *
lex_kind_str(enum lex_kind k)
{
	switch (k) {
	case LEX_EOF:
		return "the end of the file";
	case LEX_WORD:
		return "a word";
	case LEX_DQ:
	case LEX_SQ:
		return "a quoted string";
	case LEX_EQ:
		return "'='";
	case LEX_PLUSEQ:
		return "'+='";
	case LEX_LBRACE:
		return "'{'";
	case LEX_RBRACE:
		return "'}'";
	case LEX_COMMA:
		return "','";
	case LEX_SEMI:
		return "';'";
	}
	return "?";
}
