/* SPDX-License-Identifier: MIT */
/* The serialiser: a config file written back in canonical form (every value
 * double-quoted and escaped, so nothing expands twice), which loads to the
 * same struct conf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

static void
puts_(struct conf_buf *o, const char *s)
{
	conf_buf_add(o, s, strlen(s));
}

static void
put_quoted(struct conf_buf *o, const char *s)
{
	char esc[5];

	conf_buf_add(o, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\' || ch == '$') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			conf_buf_add(o, esc, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			conf_buf_add(o, esc, 4);
		} else {
			conf_buf_add(o, s, 1);
		}
	}
	conf_buf_add(o, "\"", 1);
}

static void
write_list(struct conf_buf *o, const struct conf_node *n, int depth)
{
	for (; n != NULL; n = n->next) {
		size_t i;

		for (i = 0; i < (size_t)depth; i++)
			conf_buf_add(o, "\t", 1);
		puts_(o, n->opt->name);
		if (n->opt->type == CONF_T_SECTION ||
		    n->opt->type == CONF_T_TITLED) {
			if (n->title.s != NULL) {
				conf_buf_add(o, " ", 1);
				put_quoted(o, n->title.s);
			}
			puts_(o, " {\n");
			write_list(o, n->kids, depth + 1);
			for (i = 0; i < (size_t)depth; i++)
				conf_buf_add(o, "\t", 1);
			puts_(o, "}\n");
			continue;
		}
		puts_(o, " = ");
		if (n->is_list)
			conf_buf_add(o, "{", 1);
		for (i = 0; i < n->n_vals; i++) {
			if (i > 0)
				puts_(o, ", ");
			put_quoted(o, n->vals[i].s);
		}
		if (n->is_list)
			conf_buf_add(o, "}", 1);
		conf_buf_add(o, "\n", 1);
	}
}

/* The text holds secrets: conf_buf wipes what it outgrows. */
char *
conf_write_tree(const struct conf_node *top, size_t *out_len)
{
	struct conf_buf o = {NULL, 0, 0, false};

	puts_(&o, "");
	write_list(&o, top, 0);
	if (o.failed) {
		conf_wipe_free(o.p, o.cap);
		return NULL;
	}
	*out_len = o.n;
	return o.p;
}
