/* SPDX-License-Identifier: MIT */
/* The serialiser: a config file written back in canonical form (every value
 * double-quoted and escaped, so nothing expands twice), which loads to the
 * same struct conf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

struct out {
	char *p;
	size_t n, cap;
	bool failed;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		char *p;

		while (cap < o->n + n + 1)
			cap *= 2;
		/* The text holds secrets: a grown buffer is wiped, never
		 * left behind by realloc. */
		if ((p = conf_malloc(cap)) == NULL) {
			o->failed = true;
			return;
		}
		if (o->n > 0)
			memcpy(p, o->p, o->n);
		conf_wipe_free(o->p, o->cap);
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put_quoted(struct out *o, const char *s)
{
	char esc[5];

	put(o, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\' || ch == '$') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			put(o, esc, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			put(o, esc, 4);
		} else {
			put(o, s, 1);
		}
	}
	put(o, "\"", 1);
}

static void
write_list(struct out *o, const struct conf_node *n, int depth)
{
	for (; n != NULL; n = n->next) {
		size_t i;

		for (i = 0; i < (size_t)depth; i++)
			put(o, "\t", 1);
		puts_(o, n->opt->name);
		if (n->opt->type == CONF_T_SECTION ||
		    n->opt->type == CONF_T_TITLED) {
			if (n->title.s != NULL) {
				put(o, " ", 1);
				put_quoted(o, n->title.s);
			}
			puts_(o, " {\n");
			write_list(o, n->kids, depth + 1);
			for (i = 0; i < (size_t)depth; i++)
				put(o, "\t", 1);
			puts_(o, "}\n");
			continue;
		}
		puts_(o, " = ");
		if (n->is_list)
			put(o, "{", 1);
		for (i = 0; i < n->n_vals; i++) {
			if (i > 0)
				puts_(o, ", ");
			put_quoted(o, n->vals[i].s);
		}
		if (n->is_list)
			put(o, "}", 1);
		put(o, "\n", 1);
	}
}

char *
conf_write_tree(const struct conf_node *top, size_t *out_len)
{
	struct out o = {NULL, 0, 0, false};

	puts_(&o, "");
	write_list(&o, top, 0);
	if (o.failed) {
		conf_wipe_free(o.p, o.cap);
		return NULL;
	}
	*out_len = o.n;
	return o.p;
}
