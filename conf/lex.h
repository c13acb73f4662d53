/* SPDX-License-Identifier: MIT */
/* The config lexer: bytes -> tokens with their line and column. */
#ifndef CONF_LEX_H
#define CONF_LEX_H

#include "conf_int.h"

enum lex_kind {
	LEX_EOF = 0,
	LEX_WORD,   /* a bare word: url = http://x:1 */
	LEX_DQ,     /* "...": escapes and ${VAR} */
	LEX_SQ,     /* '...': literal */
	LEX_EQ,     /* = */
	LEX_PLUSEQ, /* += */
	LEX_LBRACE,
	LEX_RBRACE,
	LEX_COMMA,
	LEX_SEMI
};

/* A token. For strings, |p| and |n| are the bytes between the quotes. */
struct lex_tok {
	enum lex_kind kind;
	const char *p;
	size_t n;
	struct conf_pos pos;
	bool nl_before; /* the first token of its line */
};

struct lex {
	struct conf_ctx *ctx;
	const char *cur, *end;
	const char *line_start;
	int line;
	bool nl;
};

/* Starts lexing |text| of |len| bytes; errors go to |ctx|. */
void lex_init(struct lex *lx, struct conf_ctx *ctx, const char *text,
    size_t len);

/* The next token into |t| (LEX_EOF at the end, and at a NUL byte). Lexical
 * errors (a string or comment never closed, a control byte) are reported
 * and skipped. */
void lex_next(struct lex *lx, struct lex_tok *t);

/* "'='", "a string", ... for messages. */
const char *lex_kind_str(enum lex_kind k);

#endif /* CONF_LEX_H */
