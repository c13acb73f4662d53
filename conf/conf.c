/* SPDX-License-Identifier: MIT */
/* The libconfuse option tables and conf_load()/conf_free(): file -> struct
 * conf. */
#include <confuse.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "conf_int.h"
#include "cpus.h"

#define CONF_MAX_FILE_BYTES (1024 * 1024)     /* the config file */
#define CONF_MAX_KEY_FILE_BYTES (1024 * 1024) /* PEM, JWKS, secret files */
#define CONF_MAX_MS 86400000L                 /* any duration, 24 h */
#define CONF_MAX_SECONDS 86400L

/*
 * A hidden list option in every titled section. libconfuse parses list
 * defaults with its own parser when it creates a section (at the section's
 * opening brace), and that calls the option's validate callback with the
 * section's current line: the only way to learn where a section starts
 * (cfg_t.line ends at the closing brace). A file cannot name it: the '|'
 * makes libconfuse read "line" as a section path, an unknown option.
 */
#define LINE_OPT "line|bearerd"
#define CFG_LINE_OPT CFG_STR_LIST(LINE_OPT, "{0}", CFGF_NONE)

#define DEFAULT_STRIP                                                          \
	"{X-User-Id, X-User-Email, X-User, X-Forwarded-User, "                 \
	"X-Auth-Request-User, Remote-User}"

/* clang-format off */
static cfg_opt_t limits_opts[] = {
	CFG_INT("max_head_bytes", 16384, CFGF_NONE),
	CFG_INT("max_header_line", 8192, CFGF_NONE),
	CFG_INT("max_header_fields", 100, CFGF_NONE),
	CFG_INT("max_body_bytes", 104857600, CFGF_NONE),
	CFG_INT("token_cache_entries", 1024, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t timeouts_opts[] = {
	CFG_INT("head", 10000, CFGF_NONE),
	CFG_INT("body", 30000, CFGF_NONE),
	CFG_INT("idle", 60000, CFGF_NONE),
	CFG_INT("drain", 10000, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t upstream_opts[] = {
	CFG_STR("url", NULL, CFGF_NODEFAULT),
	CFG_INT("connect_timeout", 2000, CFGF_NONE),
	CFG_INT("response_timeout", 30000, CFGF_NONE),
	CFG_INT("idle_timeout", 4000, CFGF_NONE),
	CFG_INT("max_idle", 1024, CFGF_NONE),
	CFG_STR("ca_file", NULL, CFGF_NODEFAULT),
	CFG_LINE_OPT,
	CFG_END()
};

static cfg_opt_t key_opts[] = {
	CFG_STR("pem_file", NULL, CFGF_NODEFAULT),
	CFG_STR("alg", NULL, CFGF_NODEFAULT),
	CFG_STR("kid", NULL, CFGF_NODEFAULT),
	CFG_LINE_OPT,
	CFG_END()
};

static cfg_opt_t issuer_opts[] = {
	CFG_STR("credential", "jwt", CFGF_NONE),
	CFG_STR("cookie", NULL, CFGF_NODEFAULT),
	CFG_STR("session_cookie", NULL, CFGF_NODEFAULT),
	CFG_STR("secret", NULL, CFGF_NODEFAULT),
	CFG_STR("secret_file", NULL, CFGF_NODEFAULT),
	CFG_STR("secret_alg", "HS256", CFGF_NONE),
	CFG_STR("secret_kid", NULL, CFGF_NODEFAULT),
	CFG_SEC("key", key_opts, CFGF_MULTI | CFGF_TITLE),
	CFG_STR("jwks_file", NULL, CFGF_NODEFAULT),
	CFG_STR("token_url", NULL, CFGF_NODEFAULT),
	CFG_STR("jwks_url", NULL, CFGF_NODEFAULT),
	CFG_INT("jwks_refresh", 300, CFGF_NONE),
	CFG_INT("jwks_min_refresh", 10, CFGF_NONE),
	CFG_STR("issuer", NULL, CFGF_NODEFAULT),
	CFG_STR("audience", NULL, CFGF_NODEFAULT),
	CFG_INT("leeway", 30, CFGF_NONE),
	CFG_BOOL("require_exp", cfg_true, CFGF_NONE),
	CFG_STR("subject", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("keep_claims", NULL, CFGF_NODEFAULT),
	CFG_STR("forward", "passthrough", CFGF_NONE),
	CFG_STR("mint_alg", "HS256", CFGF_NONE),
	CFG_STR("mint_secret", NULL, CFGF_NODEFAULT),
	CFG_STR("mint_secret_file", NULL, CFGF_NODEFAULT),
	CFG_STR("mint_key_file", NULL, CFGF_NODEFAULT),
	CFG_STR("mint_kid", NULL, CFGF_NODEFAULT),
	CFG_INT("mint_ttl", 300, CFGF_NONE),
	CFG_STR("mint_issuer", NULL, CFGF_NODEFAULT),
	CFG_STR("mint_audience", NULL, CFGF_NODEFAULT),
	CFG_INT("refresh_before", 60, CFGF_NONE),
	CFG_INT("session_recheck", 60, CFGF_NONE),
	CFG_LINE_OPT,
	CFG_END()
};

static cfg_opt_t route_opts[] = {
	CFG_STR("upstream", NULL, CFGF_NODEFAULT),
	CFG_STR("auth", "required", CFGF_NONE),
	CFG_STR("issuer", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("require", NULL, CFGF_NODEFAULT),
	CFG_STR("strip_prefix", NULL, CFGF_NODEFAULT),
	CFG_BOOL("pass_auth_cookies", cfg_false, CFGF_NONE),
	CFG_BOOL("case_insensitive_literals", cfg_false, CFGF_NODEFAULT),
	CFG_LINE_OPT,
	CFG_END()
};

static cfg_opt_t claim_opts[] = {
	CFG_STR("header", NULL, CFGF_NODEFAULT),
	CFG_LINE_OPT,
	CFG_END()
};

static cfg_opt_t headers_opts[] = {
	CFG_STR_LIST("strip", DEFAULT_STRIP, CFGF_NONE),
	CFG_SEC("claim", claim_opts, CFGF_MULTI | CFGF_TITLE),
	CFG_STR_LIST("trust_forwarded", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t csrf_opts[] = {
	CFG_STR_LIST("origins", NULL, CFGF_NODEFAULT),
	CFG_BOOL("require_origin", cfg_false, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t admin_opts[] = {
	CFG_STR("health", "/healthz", CFGF_NONE),
	CFG_STR("ready", "/readyz", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t log_opts[] = {
	CFG_BOOL("access", cfg_true, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_STR("listen", "127.0.0.1:8080", CFGF_NONE),
	CFG_INT("workers", 0, CFGF_NONE),
	CFG_INT("backlog", 1024, CFGF_NONE),
	CFG_BOOL("case_insensitive_literals", cfg_true, CFGF_NONE),
	CFG_SEC("limits", limits_opts, CFGF_NONE),
	CFG_SEC("timeouts", timeouts_opts, CFGF_NONE),
	CFG_SEC("upstream", upstream_opts, CFGF_MULTI | CFGF_TITLE),
	CFG_SEC("issuer", issuer_opts, CFGF_MULTI | CFGF_TITLE),
	CFG_SEC("route", route_opts, CFGF_MULTI | CFGF_TITLE),
	CFG_SEC("headers", headers_opts, CFGF_NONE),
	CFG_SEC("csrf", csrf_opts, CFGF_NONE),
	CFG_SEC("admin", admin_opts, CFGF_NONE),
	CFG_SEC("log", log_opts, CFGF_NONE),
	CFG_END()
};
/* clang-format on */

/* Where each value was written: (option, index) -> line. */
struct line_rec {
	const void *opt;
	unsigned idx;
	int line;
};

/* A titled section seen so far, to find duplicate titles. */
struct seen_title {
	const char *kind; /* "upstream", "issuer", ... (libconfuse's name) */
	unsigned scope;   /* keys: which issuer they are in */
	char *title;
	int line;
};

struct load {
	struct conf_ctx ctx;
	char *dir; /* the config file's directory */
	struct line_rec *lines;
	size_t n_lines, cap_lines; /* cap is a power of two */
	struct seen_title *seen;
	size_t n_seen, cap_seen;
	const cfg_t *open_pending; /* see on_open() */
	unsigned issuer_seq;
	size_t n_errs_before; /* per-section error accounting */
	bool fold_default;    /* top-level case_insensitive_literals */
};

/* libconfuse's callbacks carry no user pointer. */
static _Thread_local struct load *cur_load;
/* Makes each load's cache domains unique (conf_load is not concurrent). */
static unsigned long load_counter;

void
conf_err(struct conf_ctx *ctx, int line, const char *fmt, ...)
{
	char buf[CONF_MSG_LEN];
	va_list ap;
	struct conf_errmsg *e;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ctx->n_errs == ctx->cap_errs) {
		size_t cap = ctx->cap_errs ? ctx->cap_errs * 2 : 16;
		struct conf_errmsg *v = realloc(ctx->errs, cap * sizeof(*v));

		if (v == NULL) {
			ctx->oom = true;
			return;
		}
		ctx->errs = v;
		ctx->cap_errs = cap;
	}
	e = &ctx->errs[ctx->n_errs];
	e->msg = strdup(buf);
	if (e->msg == NULL) {
		ctx->oom = true;
		return;
	}
	e->line = line;
	e->seq = ctx->n_errs++;
}

static size_t
line_hash(const void *opt, unsigned idx)
{
	uintptr_t h = (uintptr_t)opt;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	return (size_t)(h ^ (h >> 29) ^ idx * 0x85ebca6bU);
}

static struct line_rec *
line_slot(struct line_rec *v, size_t cap, const void *opt, unsigned idx)
{
	size_t i = line_hash(opt, idx) & (cap - 1);

	while (v[i].opt != NULL && (v[i].opt != opt || v[i].idx != idx))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static void
line_record(struct load *L, const void *opt, unsigned idx, int line)
{
	struct line_rec *s;

	if (L->n_lines * 2 >= L->cap_lines) {
		size_t cap = L->cap_lines ? L->cap_lines * 2 : 256, i;
		struct line_rec *v = calloc(cap, sizeof(*v));

		if (v == NULL) {
			L->ctx.oom = true;
			return;
		}
		for (i = 0; i < L->cap_lines; i++)
			if (L->lines[i].opt != NULL)
				*line_slot(v, cap, L->lines[i].opt,
				    L->lines[i].idx) = L->lines[i];
		free(L->lines);
		L->lines = v;
		L->cap_lines = cap;
	}
	s = line_slot(L->lines, L->cap_lines, opt, idx);
	if (s->opt == NULL)
		L->n_lines++;
	s->opt = opt;
	s->idx = idx;
	s->line = line;
}

static int
line_lookup(const struct load *L, const void *opt, unsigned idx)
{
	const struct line_rec *s;

	if (L->cap_lines == 0 || opt == NULL)
		return 0;
	s = line_slot(L->lines, L->cap_lines, opt, idx);
	return s->opt != NULL ? s->line : 0;
}

/* Validate callback on every value: remember its line. Never fails the
 * parse. */
static int
on_value(cfg_t *cfg, cfg_opt_t *opt)
{
	if (cur_load != NULL && opt->nvalues > 0)
		line_record(cur_load, opt, opt->nvalues - 1, cfg->line);
	return 0;
}

/* Validate callback of LINE_OPT: a titled section has just been opened at
 * cfg->line. Its default "{0}" makes exactly two consecutive calls (the
 * value, the closing brace); only the first counts. */
static int
on_open(cfg_t *cfg, cfg_opt_t *opt)
{
	struct load *L = cur_load;
	struct seen_title *st;
	unsigned scope = 0;
	size_t i;

	if (L == NULL)
		return 0;
	if (L->open_pending == cfg) {
		L->open_pending = NULL;
		return 0;
	}
	L->open_pending = cfg;
	line_record(L, opt, 0, cfg->line);
	if (cfg->name == NULL || cfg->title == NULL)
		return 0;
	if (strcmp(cfg->name, "issuer") == 0)
		L->issuer_seq++;
	else if (strcmp(cfg->name, "key") == 0)
		scope = L->issuer_seq;
	/* libconfuse silently replaces a section by a later one with the
	 * same title; that hides a mistake, so it is an error here. */
	for (i = 0; i < L->n_seen; i++) {
		st = &L->seen[i];
		if (st->scope == scope && strcmp(st->kind, cfg->name) == 0 &&
		    strcmp(st->title, cfg->title) == 0) {
			conf_err(&L->ctx, cfg->line,
			    "duplicate %s \"%s\" (first defined at line %d)",
			    cfg->name, cfg->title, st->line);
			return 0;
		}
	}
	if (L->n_seen == L->cap_seen) {
		size_t cap = L->cap_seen ? L->cap_seen * 2 : 32;
		struct seen_title *v = realloc(L->seen, cap * sizeof(*v));

		if (v == NULL) {
			L->ctx.oom = true;
			return 0;
		}
		L->seen = v;
		L->cap_seen = cap;
	}
	st = &L->seen[L->n_seen];
	st->title = strdup(cfg->title);
	if (st->title == NULL) {
		L->ctx.oom = true;
		return 0;
	}
	/* The kind names are our option names, which outlive the load. */
	st->kind = strcmp(cfg->name, "upstream") == 0 ? "upstream"
	    : strcmp(cfg->name, "issuer") == 0        ? "issuer"
	    : strcmp(cfg->name, "route") == 0         ? "route"
	    : strcmp(cfg->name, "key") == 0           ? "key"
	                                              : "claim";
	st->scope = scope;
	st->line = cfg->line;
	L->n_seen++;
	return 0;
}

__attribute__((format(printf, 2, 0))) static void
on_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char buf[CONF_MSG_LEN];

	if (cur_load == NULL)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	conf_err(&cur_load->ctx, cfg != NULL ? cfg->line : 0, "%s", buf);
}

/* Installs the callbacks on |opts| and every section template and
 * instance below it. */
static void
set_callbacks(cfg_opt_t *opts)
{
	cfg_opt_t *o;
	unsigned i;

	for (o = opts; o != NULL && o->name != NULL; o++) {
		if (o->type == CFGT_SEC) {
			set_callbacks(o->subopts);
			/* Untitled sections exist since cfg_init(), made
			 * before the error function was set. */
			for (i = 0; i < o->nvalues; i++) {
				o->values[i]->section->errfunc = on_error;
				set_callbacks(o->values[i]->section->opts);
			}
		} else if (strcmp(o->name, LINE_OPT) == 0) {
			o->validcb = on_open;
		} else {
			o->validcb = on_value;
		}
	}
}

/*
 * libconfuse 3.3 counts two extra lines for every '#' or '//' comment (and
 * one for every block comment), so its line numbers drift in any commented
 * file. Blanking the comments out (newlines kept) before it lexes the text
 * makes its line numbers exact. The scan follows libconfuse's lexer:
 * quoted strings with backslash escapes, "${...}", bare words (which may
 * contain '/'), '#' and '//' and block comments. A ';' between options is
 * accepted as a separator (libconfuse would make it part of a bare word).
 */
static void
blank_comments(char *s, size_t n, int *open_line, int *string_line)
{
	static const char stop[] = " #\"'\t\n\r={}()+,*;";
	int line = 1, stack[16], depth = 0;
	size_t i = 0;

	*open_line = 0;
	*string_line = 0;
	while (i < n) {
		char ch = s[i];
		size_t start = i;

		if (ch == '{') {
			if (depth < 16)
				stack[depth] = line;
			depth++;
		} else if (ch == '}' && depth > 0) {
			depth--;
		}

		if (ch == '"' || ch == '\'') {
			*string_line = line;
			for (i++; i < n; i++) {
				if (s[i] == '\\' && i + 1 < n) {
					i++;
					continue;
				}
				if (s[i] == ch) {
					*string_line = 0;
					i++;
					break;
				}
			}
		} else if (ch == '#' ||
		    (ch == '/' && i + 1 < n && s[i + 1] == '/')) {
			while (i < n && s[i] != '\n')
				s[i++] = ' ';
		} else if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
			s[i++] = ' ';
			s[i++] = ' ';
			while (i < n &&
			    !(s[i] == '*' && i + 1 < n && s[i + 1] == '/')) {
				if (s[i] != '\n')
					s[i] = ' ';
				i++;
			}
			if (i < n) {
				s[i++] = ' ';
				s[i++] = ' ';
			}
		} else if (ch == '$' && i + 1 < n && s[i + 1] == '{') {
			while (i < n && s[i] != '}')
				i++;
			i += i < n;
		} else if (ch == ';') {
			s[i++] = ' ';
		} else if (strchr(stop, ch) == NULL) {
			while (
			    i < n && s[i] != '\0' && strchr(stop, s[i]) == NULL)
				i++;
		} else {
			i++;
		}
		for (; start < i; start++)
			line += s[start] == '\n';
	}
	/* libconfuse takes the end of the file as the end of every open
	 * section; a lost '}' would go unnoticed. */
	if (depth > 0)
		*open_line = stack[depth > 16 ? 15 : depth - 1];
}

static char *
xstrdup(struct load *L, const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		L->ctx.oom = true;
	return p;
}

/* LINE_OPT of |sec|, or NULL (cfg_getopt() cannot look it up, by design). */
static const cfg_opt_t *
line_opt(const cfg_t *sec)
{
	const cfg_opt_t *o;

	for (o = sec->opts; o != NULL && o->name != NULL; o++)
		if (strcmp(o->name, LINE_OPT) == 0)
			return o;
	return NULL;
}

/* The line of section |sec|: where it opened when known. */
static int
sec_line(const struct load *L, cfg_t *sec)
{
	int line = line_lookup(L, line_opt(sec), 0);

	if (line == 0 && sec->opts != NULL) {
		/* Untitled sections exist from cfg_init on; take the first
		 * line written in them. */
		cfg_opt_t *o;
		unsigned i;

		for (o = sec->opts; o->name != NULL; o++)
			for (i = 0; i < o->nvalues; i++) {
				int l = line_lookup(L, o, i);

				if (l > 0 && (line == 0 || l < line))
					line = l;
			}
	}
	return line > 0 ? line : sec->line;
}

/* The line of value |idx| of option |name| in |sec|, else the section's. */
static int
opt_line(const struct load *L, cfg_t *sec, const char *name, unsigned idx)
{
	int line = line_lookup(L, cfg_getopt(sec, name), idx);

	return line > 0 ? line : sec_line(L, sec);
}

static long
get_int(struct load *L, cfg_t *sec, const char *name, long lo, long hi)
{
	long v = cfg_getint(sec, name);

	if (v < lo || v > hi)
		conf_err(&L->ctx, opt_line(L, sec, name, 0),
		    "%s must be between %ld and %ld", name, lo, hi);
	return v;
}

/* |rel| relative to the config file's directory, as a new string. */
static char *
resolve_path(struct load *L, const char *rel)
{
	size_t n;
	char *p;

	if (rel[0] == '/' || L->dir == NULL)
		return xstrdup(L, rel);
	n = strlen(L->dir) + strlen(rel) + 2;
	p = malloc(n);
	if (p == NULL) {
		L->ctx.oom = true;
		return NULL;
	}
	snprintf(p, n, "%s/%s", L->dir, rel);
	return p;
}

/* Reads a whole file (at most |max| bytes) into a new NUL-terminated buffer.
 * NULL with |msg| on failure. */
static char *
read_all(const char *path, size_t max, size_t *out_len, char *msg,
    size_t msg_len)
{
	FILE *f;
	char *buf;
	size_t n;

	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(msg, msg_len, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	buf = malloc(max + 2);
	if (buf == NULL) {
		fclose(f);
		snprintf(msg, msg_len, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		snprintf(msg, msg_len, "cannot read %s: %s", path,
		    strerror(errno));
		goto out_free;
	}
	if (n > max) {
		snprintf(msg, msg_len, "%s is larger than %zu bytes", path,
		    max);
		goto out_free;
	}
	fclose(f);
	buf[n] = '\0';
	*out_len = n;
	return buf;
out_free:
	OPENSSL_cleanse(buf, max + 2);
	free(buf);
	fclose(f);
	return NULL;
}

/* Reads |rel| (relative to the config) for option |opt| at |line|. */
static char *
read_opt_file(struct load *L, const char *rel, const char *what, int line,
    size_t *out_len)
{
	char msg[CONF_MSG_LEN];
	char *path, *buf;

	path = resolve_path(L, rel);
	if (path == NULL)
		return NULL;
	buf =
	    read_all(path, CONF_MAX_KEY_FILE_BYTES, out_len, msg, sizeof(msg));
	if (buf == NULL)
		conf_err(&L->ctx, line, "%s: %s", what, msg);
	free(path);
	return buf;
}

static void
wipe_free(char *p, size_t n)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

/*
 * A secret from |name| (the value, ${} already expanded) or |file_name| (a
 * file, one trailing newline trimmed). Returns 1 with a new buffer in
 * |out|, 0 when neither is set, -1 on an error (reported).
 */
static int
get_secret(struct load *L, cfg_t *sec, const char *who, const char *name,
    const char *file_name, unsigned char **out, size_t *out_len)
{
	const char *val = cfg_getstr(sec, name);
	const char *file = cfg_getstr(sec, file_name);
	char *buf;
	size_t n;

	*out = NULL;
	*out_len = 0;
	if (val != NULL && file != NULL) {
		conf_err(&L->ctx, opt_line(L, sec, file_name, 0),
		    "%s: set %s or %s, not both", who, name, file_name);
		return -1;
	}
	if (val != NULL) {
		n = strlen(val);
		/* An unset ${VAR} expands to "" without a word from
		 * libconfuse: an empty HMAC key must never be used. */
		if (n < AUTH_MIN_SECRET_LEN) {
			conf_err(&L->ctx, opt_line(L, sec, name, 0),
			    "%s: %s is %zu bytes after expansion; at least %d are required (is the environment variable set?)",
			    who, name, n, AUTH_MIN_SECRET_LEN);
			return -1;
		}
		buf = malloc(n + 1);
		if (buf == NULL) {
			L->ctx.oom = true;
			return -1;
		}
		memcpy(buf, val, n + 1);
	} else if (file != NULL) {
		int line = opt_line(L, sec, file_name, 0);

		buf = read_opt_file(L, file, file_name, line, &n);
		if (buf == NULL)
			return -1;
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
		if (n < AUTH_MIN_SECRET_LEN || strlen(buf) != n) {
			conf_err(&L->ctx, line,
			    "%s: %s %s holds %zu bytes (one trailing newline trimmed); at least %d are required, without NUL bytes",
			    who, file_name, file, n, AUTH_MIN_SECRET_LEN);
			wipe_free(buf, n);
			return -1;
		}
	} else {
		return 0;
	}
	*out = (unsigned char *)buf;
	*out_len = n;
	return 1;
}

static enum auth_alg
get_alg(struct load *L, cfg_t *sec, const char *who, const char *name)
{
	const char *s = cfg_getstr(sec, name);
	enum auth_alg a;

	if (s == NULL)
		return AUTH_ALG_INVALID;
	a = auth_alg_from_str(s, strlen(s));
	if (a == AUTH_ALG_INVALID)
		conf_err(&L->ctx, opt_line(L, sec, name, 0),
		    "%s: unknown %s \"%s\" (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA; never none)",
		    who, name, s);
	return a;
}

static bool
is_hs(enum auth_alg a)
{
	return a == AUTH_ALG_HS256 || a == AUTH_ALG_HS384 ||
	    a == AUTH_ALG_HS512;
}

/* A ca_file must be readable and hold at least one PEM certificate, so
 * that -t catches it rather than every request failing with 502. */
static int
ca_file_check(const char *path, char *msg, size_t msg_len)
{
	X509_STORE *st;
	int ok;

	if (access(path, R_OK) == -1) {
		snprintf(msg, msg_len, "%s", strerror(errno));
		return -1;
	}
	if ((st = X509_STORE_new()) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	ok = X509_STORE_load_file(st, path);
	X509_STORE_free(st);
	ERR_clear_error();
	if (ok != 1) {
		snprintf(msg, msg_len, "holds no PEM certificate");
		return -1;
	}
	return 0;
}

static void
build_upstream(struct load *L, cfg_t *sec, struct conf_upstream *u)
{
	char msg[CONF_MSG_LEN];
	const char *url = cfg_getstr(sec, "url"), *ca;

	u->name = xstrdup(L, cfg_title(sec));
	if (!conf_is_token(u->name))
		conf_err(&L->ctx, sec_line(L, sec),
		    "upstream \"%s\": the name must be a token (letters, digits, '-', '_', '.')",
		    cfg_title(sec));
	if (url == NULL)
		conf_err(&L->ctx, sec_line(L, sec),
		    "upstream \"%s\": url is required", cfg_title(sec));
	else if (conf_parse_url(url, u, msg, sizeof(msg)) == -1)
		conf_err(&L->ctx, opt_line(L, sec, "url", 0),
		    "upstream \"%s\": %s", cfg_title(sec), msg);
	u->connect_timeout_ms =
	    (int)get_int(L, sec, "connect_timeout", 1, CONF_MAX_MS);
	u->response_timeout_ms =
	    (int)get_int(L, sec, "response_timeout", 1, CONF_MAX_MS);
	u->idle_timeout_ms =
	    (int)get_int(L, sec, "idle_timeout", 1, CONF_MAX_MS);
	u->max_idle = (int)get_int(L, sec, "max_idle", 0, 10000);
	if ((ca = cfg_getstr(sec, "ca_file")) == NULL)
		return;
	if (url != NULL && !u->tls) {
		conf_err(&L->ctx, opt_line(L, sec, "ca_file", 0),
		    "upstream \"%s\": ca_file needs an https:// url",
		    cfg_title(sec));
		return;
	}
	if ((u->ca_file = resolve_path(L, ca)) != NULL &&
	    ca_file_check(u->ca_file, msg, sizeof(msg)) == -1)
		conf_err(&L->ctx, opt_line(L, sec, "ca_file", 0),
		    "upstream \"%s\": ca_file %s: %s", cfg_title(sec), ca, msg);
}

/* Option |name| of |sec|, a kid: NULL when unset; an empty or too long
 * one is reported (an unset ${VAR} must not become a kid of ""). */
static const char *
get_kid(struct load *L, cfg_t *sec, const char *what, const char *name,
    bool *bad)
{
	const char *kid = cfg_getstr(sec, name);

	*bad = false;
	if (kid != NULL && (kid[0] == '\0' || strlen(kid) > AUTH_MAX_KID_LEN)) {
		conf_err(&L->ctx, opt_line(L, sec, name, 0),
		    "%s: %s must be 1 to %d bytes", what, name,
		    AUTH_MAX_KID_LEN);
		*bad = true;
	}
	return kid;
}

/* The keys of a jwt issuer: the secret, key { } sections, jwks_file. */
static void
build_jwt_keys(struct load *L, cfg_t *sec, struct conf_issuer *is,
    const char *who, enum auth_alg secret_alg)
{
	char kerr[CONF_MSG_LEN], what[CONF_MSG_LEN];
	unsigned i, n_keys = cfg_size(sec, "key");
	const char *jwks = cfg_getstr(sec, "jwks_file");
	const char *secret_kid;
	char *buf;
	size_t len;
	bool bad;

	if (is->secret == NULL && n_keys == 0 && jwks == NULL &&
	    cfg_getstr(sec, "secret") == NULL &&
	    cfg_getstr(sec, "secret_file") == NULL) {
		conf_err(&L->ctx, sec_line(L, sec),
		    "%s: credential jwt needs keys: secret, secret_file, key { } or jwks_file",
		    who);
		return;
	}
	/* Like key { kid }: a token naming this kid gets the secret, beside
	 * PEMs or a JWKS; without it the secret is the issuer's one key
	 * without a kid. */
	secret_kid = get_kid(L, sec, who, "secret_kid", &bad);
	if (secret_kid != NULL && cfg_getstr(sec, "secret") == NULL &&
	    cfg_getstr(sec, "secret_file") == NULL)
		conf_err(&L->ctx, opt_line(L, sec, "secret_kid", 0),
		    "%s: secret_kid names the secret, but there is no secret or secret_file",
		    who);
	if (is->secret != NULL && is_hs(secret_alg) && !bad &&
	    auth_keyset_add_secret(is->keys, secret_kid, secret_alg, is->secret,
	        is->secret_len, kerr, sizeof(kerr)) == -1)
		conf_err(&L->ctx,
		    opt_line(L, sec,
		        cfg_getstr(sec, "secret") ? "secret" : "secret_file",
		        0),
		    "%s: secret: %s", who, kerr);
	for (i = 0; i < n_keys; i++) {
		cfg_t *k = cfg_getnsec(sec, "key", i);
		const char *pem = cfg_getstr(k, "pem_file");
		const char *kid;
		int line = sec_line(L, k);
		enum auth_alg alg;

		snprintf(what, sizeof(what), "%s: key \"%.128s\"", who,
		    cfg_title(k));
		if (pem == NULL)
			conf_err(&L->ctx, line, "%s: pem_file is required",
			    what);
		if (cfg_getstr(k, "alg") == NULL) {
			conf_err(&L->ctx, line,
			    "%s: alg is required (the one algorithm this key may verify)",
			    what);
			continue;
		}
		alg = get_alg(L, k, what, "alg");
		if (pem == NULL || alg == AUTH_ALG_INVALID)
			continue;
		kid = get_kid(L, k, what, "kid", &bad);
		if (bad)
			continue;
		buf = read_opt_file(L, pem, what, opt_line(L, k, "pem_file", 0),
		    &len);
		if (buf == NULL)
			continue;
		if (auth_keyset_add_pem(is->keys, kid, alg, buf, len, kerr,
		        sizeof(kerr)) == -1)
			conf_err(&L->ctx, line, "%s (%s, alg %s): %s", what,
			    pem, cfg_getstr(k, "alg"), kerr);
		wipe_free(buf, len);
	}
	if (jwks != NULL) {
		int line = opt_line(L, sec, "jwks_file", 0);

		snprintf(what, sizeof(what), "%s: jwks_file", who);
		buf = read_opt_file(L, jwks, what, line, &len);
		if (buf != NULL) {
			if (auth_keyset_add_jwks(is->keys, buf, len, kerr,
			        sizeof(kerr)) == -1)
				conf_err(&L->ctx, line, "%s %s: %s", what, jwks,
				    kerr);
			wipe_free(buf, len);
		}
	}
}

static void
build_minter(struct load *L, cfg_t *sec, struct conf_issuer *is,
    const char *who)
{
	char kerr[CONF_MSG_LEN];
	enum auth_alg alg = get_alg(L, sec, who, "mint_alg");
	const char *keyfile = cfg_getstr(sec, "mint_key_file");
	bool has_secret = cfg_getstr(sec, "mint_secret") != NULL ||
	    cfg_getstr(sec, "mint_secret_file") != NULL;
	int alg_line = opt_line(L, sec, "mint_alg", 0);
	long ttl = get_int(L, sec, "mint_ttl", 1, CONF_MAX_SECONDS);
	unsigned char *key = NULL;
	size_t key_len = 0;
	size_t errs = L->ctx.n_errs;
	bool bad;
	const char *kid = get_kid(L, sec, who, "mint_kid", &bad);

	if (!has_secret && keyfile == NULL) {
		conf_err(&L->ctx, opt_line(L, sec, "forward", 0),
		    "%s: forward = mint needs a key: mint_secret, mint_secret_file or mint_key_file",
		    who);
		return;
	}
	if (alg == AUTH_ALG_INVALID)
		return;
	if (is_hs(alg)) {
		if (keyfile != NULL) {
			conf_err(&L->ctx, opt_line(L, sec, "mint_key_file", 0),
			    "%s: mint_alg %s takes mint_secret or mint_secret_file, not mint_key_file",
			    who, auth_alg_str(alg));
			return;
		}
		if (get_secret(L, sec, who, "mint_secret", "mint_secret_file",
		        &key, &key_len) != 1)
			return;
	} else {
		if (keyfile == NULL || has_secret) {
			conf_err(&L->ctx, alg_line,
			    "%s: mint_alg %s needs mint_key_file (a PEM private key) and no mint_secret",
			    who, auth_alg_str(alg));
			return;
		}
		key =
		    (unsigned char *)read_opt_file(L, keyfile, "mint_key_file",
		        opt_line(L, sec, "mint_key_file", 0), &key_len);
		if (key == NULL)
			return;
	}
	if (L->ctx.n_errs == errs) {
		is->minter = auth_minter_new(alg, key, key_len, kid,
		    cfg_getstr(sec, "mint_issuer"),
		    cfg_getstr(sec, "mint_audience"), ttl, kerr, sizeof(kerr));
		if (is->minter == NULL)
			conf_err(&L->ctx, alg_line, "%s: mint: %s", who, kerr);
	}
	wipe_free((char *)key, key_len);
}

/* An exchange or JWKS URL: http://host[:port]/path into |u| and |path|.
 * Returns 0, or -1 after reporting the error. */
static int
build_fetch_url(struct load *L, cfg_t *sec, const char *who, const char *opt,
    const char *url, struct conf_upstream *u, char **path)
{
	char msg[CONF_MSG_LEN];

	u->connect_timeout_ms = 2000;
	/* Better Auth answers in milliseconds; a slow issuer is a 503
	 * (Retry-After), not a request parked for the upstream's 30 s. */
	u->response_timeout_ms = 5000;
	/* Better Auth's Node server closes idle connections after 5 s
	 * (Keep-Alive: timeout=5): give them back before that. */
	u->idle_timeout_ms = 4000;
	u->max_idle = 8;
	if (conf_parse_fetch_url(url, u, path, msg, sizeof(msg)) == -1) {
		conf_err(&L->ctx, opt_line(L, sec, opt, 0), "%s: %s: %s", who,
		    opt, msg);
		return -1;
	}
	return 0;
}

/*
 * credential = session: Better Auth's secret checks the cookie's HMAC
 * locally, token_url exchanges it for a JWT, and the JWT is verified with
 * keys from jwks_url (fetched at run time), jwks_file or key { }.
 */
static void
build_session(struct load *L, cfg_t *sec, struct conf_issuer *is,
    const char *who, int has_secret)
{
	const char *tu = cfg_getstr(sec, "token_url");
	const char *ju = cfg_getstr(sec, "jwks_url");
	bool static_keys =
	    cfg_size(sec, "key") > 0 || cfg_getstr(sec, "jwks_file") != NULL;

	if (has_secret == 0)
		conf_err(&L->ctx, sec_line(L, sec),
		    "%s: credential session needs secret or secret_file (Better Auth's secret, to check the cookie's signature)",
		    who);
	if (tu == NULL)
		conf_err(&L->ctx, sec_line(L, sec),
		    "%s: credential session needs token_url (Better Auth's GET /api/auth/token)",
		    who);
	else if (build_fetch_url(L, sec, who, "token_url", tu, &is->token_up,
	             &is->token_path) == 0)
		is->token_url = xstrdup(L, tu);
	if (ju != NULL) {
		if (static_keys)
			conf_err(&L->ctx, opt_line(L, sec, "jwks_url", 0),
			    "%s: jwks_url and key { } / jwks_file exclude each other",
			    who);
		else if (build_fetch_url(L, sec, who, "jwks_url", ju,
		             &is->jwks_up, &is->jwks_path) == 0)
			is->jwks_url = xstrdup(L, ju);
	} else if (!static_keys) {
		conf_err(&L->ctx, sec_line(L, sec),
		    "%s: credential session needs the keys of the JWTs token_url returns: jwks_url, jwks_file or key { }",
		    who);
	} else {
		/* the secret is Better Auth's cookie key, never a JWT key:
		 * build_jwt_keys must not add it */
		unsigned char *s = is->secret;

		is->secret = NULL;
		build_jwt_keys(L, sec, is, who, AUTH_ALG_INVALID);
		is->secret = s;
	}
	is->jwks_refresh = get_int(L, sec, "jwks_refresh", 1, CONF_MAX_SECONDS);
	is->jwks_min_refresh =
	    get_int(L, sec, "jwks_min_refresh", 0, CONF_MAX_SECONDS);
}

static void
build_issuer(struct load *L, cfg_t *sec, struct conf_issuer *is)
{
	char who[192], kerr[64];
	const char *title = cfg_title(sec);
	const char *cred = cfg_getstr(sec, "credential");
	const char *cookie = cfg_getstr(sec, "cookie");
	const char *sc = cfg_getstr(sec, "session_cookie");
	const char *tu = cfg_getstr(sec, "token_url");
	const char *ju = cfg_getstr(sec, "jwks_url");
	const char *subject = cfg_getstr(sec, "subject");
	const char *fwd = cfg_getstr(sec, "forward");
	enum auth_alg secret_alg;
	unsigned i, n;
	int r;

	snprintf(who, sizeof(who), "issuer \"%.128s\"", title);
	is->name = xstrdup(L, title);
	if (!conf_is_token(title))
		conf_err(&L->ctx, sec_line(L, sec),
		    "%s: the name must be a token (letters, digits, '-', '_', '.')",
		    who);
	is->keys = auth_keyset_new();
	if (is->keys == NULL)
		L->ctx.oom = true;

	if (strcmp(cred, "jwt") == 0) {
		is->cred = CONF_CRED_JWT;
	} else if (strcmp(cred, "better-auth-compact") == 0) {
		is->cred = CONF_CRED_BA_COMPACT;
	} else if (strcmp(cred, "session") == 0) {
		is->cred = CONF_CRED_SESSION;
	} else {
		conf_err(&L->ctx, opt_line(L, sec, "credential", 0),
		    "%s: credential must be jwt, better-auth-compact or session, not \"%s\"",
		    who, cred);
	}

	/* Better Auth's default names: the session credential is its
	 * session_token cookie, the others its session_data cookie. */
	if (cookie == NULL)
		cookie = is->cred == CONF_CRED_SESSION
		    ? "better-auth.session_token"
		    : "better-auth.session_data";
	if (!conf_is_cookie_name(cookie))
		conf_err(&L->ctx, opt_line(L, sec, "cookie", 0),
		    "%s: cookie \"%s\" is not a valid cookie name", who,
		    cookie);
	is->cookie = xstrdup(L, cookie);
	if (strncmp(cookie, "__Secure-", 9) == 0 ||
	    strncmp(cookie, "__Host-", 7) == 0) {
		is->cookie_secure = xstrdup(L, cookie);
	} else if ((is->cookie_secure = malloc(strlen(cookie) + 10)) != NULL) {
		/* RFC 6265bis §4.1.3.1: browsers send this name from https
		 * origins; Better Auth uses it there. */
		memcpy(is->cookie_secure, "__Secure-", 9);
		memcpy(is->cookie_secure + 9, cookie, strlen(cookie) + 1);
	} else {
		L->ctx.oom = true;
	}
	if (sc != NULL) {
		if (!conf_is_cookie_name(sc))
			conf_err(&L->ctx, opt_line(L, sec, "session_cookie", 0),
			    "%s: session_cookie \"%s\" is not a valid cookie name",
			    who, sc);
		is->session_cookie = xstrdup(L, sc);
	}

	secret_alg = get_alg(L, sec, who, "secret_alg");
	if (secret_alg != AUTH_ALG_INVALID && !is_hs(secret_alg))
		conf_err(&L->ctx, opt_line(L, sec, "secret_alg", 0),
		    "%s: secret_alg must be HS256, HS384 or HS512", who);
	r = get_secret(L, sec, who, "secret", "secret_file", &is->secret,
	    &is->secret_len);

	if (is->cred == CONF_CRED_JWT && is->keys != NULL) {
		build_jwt_keys(L, sec, is, who, secret_alg);
	} else if (is->cred == CONF_CRED_SESSION && is->keys != NULL) {
		build_session(L, sec, is, who, r);
	} else if (is->cred == CONF_CRED_BA_COMPACT) {
		if (r == 0)
			conf_err(&L->ctx, sec_line(L, sec),
			    "%s: credential better-auth-compact needs secret or secret_file (Better Auth's secret)",
			    who);
		if (cfg_size(sec, "key") > 0 || cfg_getstr(sec, "jwks_file"))
			conf_err(&L->ctx, sec_line(L, sec),
			    "%s: key { } and jwks_file are for credential jwt",
			    who);
		if (cfg_getstr(sec, "secret_kid") != NULL)
			conf_err(&L->ctx, opt_line(L, sec, "secret_kid", 0),
			    "%s: secret_kid is for credential jwt (a session_data cookie has no kid)",
			    who);
		if (secret_alg != AUTH_ALG_HS256)
			conf_err(&L->ctx, opt_line(L, sec, "secret_alg", 0),
			    "%s: credential better-auth-compact is HMAC-SHA256: secret_alg must be HS256",
			    who);
	}

	/* Like a secret, an empty iss or aud is an unset ${VAR}, never a
	 * value to check or mint: it would refuse every token at run time. */
	for (i = 0; i < 4; i++) {
		static const char *const names[] = {"issuer", "audience",
		    "mint_issuer", "mint_audience"};
		const char *v = cfg_getstr(sec, names[i]);

		if (v != NULL && v[0] == '\0')
			conf_err(&L->ctx, opt_line(L, sec, names[i], 0),
			    "%s: %s is empty (is the environment variable set?)",
			    who, names[i]);
	}
	is->iss = xstrdup(L, cfg_getstr(sec, "issuer"));
	is->aud = xstrdup(L, cfg_getstr(sec, "audience"));
	is->policy.leeway = get_int(L, sec, "leeway", 0, CONF_MAX_SECONDS);
	is->policy.exp_optional = !cfg_getbool(sec, "require_exp");
	if (subject == NULL)
		subject =
		    is->cred == CONF_CRED_BA_COMPACT ? "session.userId" : "sub";
	if (subject[0] == '\0' || subject[0] == '.' ||
	    subject[strlen(subject) - 1] == '.' || strstr(subject, "..") ||
	    strlen(subject) >= 256)
		conf_err(&L->ctx, opt_line(L, sec, "subject", 0),
		    "%s: subject \"%s\" must be a claim name or a dotted path",
		    who, subject);
	is->subject = xstrdup(L, subject);
	n = cfg_size(sec, "keep_claims");
	if (n > AUTH_MAX_KEEP_CLAIMS)
		conf_err(&L->ctx, opt_line(L, sec, "keep_claims", 0),
		    "%s: keep_claims has %u names; at most %d", who, n,
		    AUTH_MAX_KEEP_CLAIMS);
	for (i = 0; i < n && i < AUTH_MAX_KEEP_CLAIMS; i++) {
		const char *cl = cfg_getnstr(sec, "keep_claims", i);
		size_t j;

		if (!conf_is_claim_path(cl))
			conf_err(&L->ctx, opt_line(L, sec, "keep_claims", i),
			    "%s: keep_claims \"%s\" is not a claim name or dotted path (\"email\", \"user.email\")",
			    who, cl);
		/* A kept claim goes by its last segment: two paths ending
		 * alike would fill one name twice. */
		for (j = 0; j < is->n_keep_claims; j++)
			if (is->keep_claims[j] != NULL &&
			    strcmp(conf_claim_key(is->keep_claims[j]),
			        conf_claim_key(cl)) == 0)
				conf_err(&L->ctx,
				    opt_line(L, sec, "keep_claims", i),
				    "%s: keep_claims \"%s\" and \"%s\" are both kept as \"%s\"",
				    who, is->keep_claims[j], cl,
				    conf_claim_key(cl));
		is->keep_claims[is->n_keep_claims++] = xstrdup(L, cl);
	}
	is->policy.keys = is->keys;
	is->policy.issuer = is->iss;
	is->policy.audience = is->aud;
	is->policy.subject_path = is->subject;
	for (i = 0; i < is->n_keep_claims; i++)
		is->policy.keep_claims[i] = is->keep_claims[i];
	is->policy.n_keep_claims = is->n_keep_claims;

	if (strcmp(fwd, "passthrough") == 0) {
		is->forward = CONF_FORWARD_PASSTHROUGH;
		if (is->cred == CONF_CRED_BA_COMPACT)
			conf_err(&L->ctx, opt_line(L, sec, "forward", 0),
			    "%s: credential better-auth-compact needs forward = mint (the cookie is not a JWT)",
			    who);
	} else if (strcmp(fwd, "mint") == 0) {
		is->forward = CONF_FORWARD_MINT;
		build_minter(L, sec, is, who);
	} else {
		conf_err(&L->ctx, opt_line(L, sec, "forward", 0),
		    "%s: forward must be passthrough or mint, not \"%s\"", who,
		    fwd);
	}
	if (is->cred != CONF_CRED_SESSION && (tu != NULL || ju != NULL))
		conf_err(&L->ctx,
		    opt_line(L, sec, tu != NULL ? "token_url" : "jwks_url", 0),
		    "%s: token_url and jwks_url are for credential session",
		    who);
	is->refresh_before =
	    get_int(L, sec, "refresh_before", 0, CONF_MAX_SECONDS);
	is->session_recheck =
	    get_int(L, sec, "session_recheck", 0, CONF_MAX_SECONDS);
	snprintf(kerr, sizeof(kerr), "/%lu", load_counter);
	is->cache_domain = malloc(strlen(title) + strlen(kerr) + 1);
	if (is->cache_domain == NULL)
		L->ctx.oom = true;
	else
		snprintf(is->cache_domain, strlen(title) + strlen(kerr) + 1,
		    "%s%s", title, kerr);
}

static void
build_route(struct load *L, cfg_t *sec, struct conf *c, size_t idx)
{
	char kerr[CONF_MSG_LEN];
	struct conf_route *r = &c->routes[idx];
	struct conf_route_src *src = &L->ctx.routes[idx];
	const char *pat = cfg_title(sec);
	const char *mode = cfg_getstr(sec, "auth");
	const char *sp;
	struct auth_route ar;
	size_t errs = L->ctx.n_errs;
	unsigned i, n;

	r->pattern = xstrdup(L, pat);
	r->upstream = -1;
	r->issuer = -1;
	src->line = sec_line(L, sec);
	src->upstream = cfg_getstr(sec, "upstream");
	src->upstream_line = opt_line(L, sec, "upstream", 0);
	src->issuer = cfg_getstr(sec, "issuer");
	src->issuer_line = opt_line(L, sec, "issuer", 0);
	src->auth_line = opt_line(L, sec, "auth", 0);
	if (pat[0] != '/' || strlen(pat) >= sizeof(ar.pattern))
		conf_err(&L->ctx, src->line,
		    "route \"%s\": the pattern must start with '/' and be shorter than %zu bytes",
		    pat, sizeof(ar.pattern));
	if (strcmp(mode, "required") == 0)
		r->mode = AUTH_MODE_REQUIRED;
	else if (strcmp(mode, "optional") == 0)
		r->mode = AUTH_MODE_OPTIONAL;
	else if (strcmp(mode, "none") == 0)
		r->mode = AUTH_MODE_NONE;
	else
		conf_err(&L->ctx, src->auth_line,
		    "route \"%s\": auth must be required, optional or none, not \"%s\"",
		    pat, mode);
	n = cfg_size(sec, "require");
	if (n > AUTH_MAX_ROUTE_RULES) {
		conf_err(&L->ctx, opt_line(L, sec, "require", 0),
		    "route \"%s\": at most %d require rules", pat,
		    AUTH_MAX_ROUTE_RULES);
		n = AUTH_MAX_ROUTE_RULES;
	}
	for (i = 0; i < n; i++) {
		const char *text = cfg_getnstr(sec, "require", i);
		struct auth_rule *ru = &src->rules[src->n_rules];
		int line = opt_line(L, sec, "require", i);

		kerr[0] = '\0';
		if (auth_rule_parse(text, ru, kerr, sizeof(kerr)) == -1) {
			conf_err(&L->ctx, line,
			    "route \"%s\": require \"%s\": %s", pat, text,
			    kerr[0] ? kerr : "not a rule");
			continue;
		}
		if (ru->kind != AUTH_RULE_CLAIM_VALUE &&
		    !conf_pattern_has_var(pat, ru->var)) {
			conf_err(&L->ctx, line,
			    "route \"%s\": require \"%s\": {%s} is not a variable of the pattern",
			    pat, text, ru->var);
			continue;
		}
		src->require_line[src->n_rules++] = line;
	}
	r->pass_auth_cookies = cfg_getbool(sec, "pass_auth_cookies");
	if ((sp = cfg_getstr(sec, "strip_prefix")) != NULL) {
		if (!conf_is_path_prefix(sp))
			conf_err(&L->ctx, opt_line(L, sec, "strip_prefix", 0),
			    "route \"%s\": strip_prefix \"%s\" must be a path of literal segments like \"/api\" (no trailing '/', no '%%', '?', '.' or '..' segments)",
			    pat, sp);
		else
			r->strip_prefix = xstrdup(L, sp);
	}
	if (L->ctx.n_errs != errs || c->table == NULL)
		return;
	memset(&ar, 0, sizeof(ar));
	memcpy(ar.pattern, pat, strlen(pat) + 1);
	ar.mode = r->mode;
	ar.tag = (int)idx;
	/* Set on the route, or by default folding on binding routes unless
	 * the top-level option turns that off. */
	if (cfg_size(sec, "case_insensitive_literals") > 0)
		ar.lit_case = cfg_getbool(sec, "case_insensitive_literals")
		    ? AUTH_LIT_CASE_INSENSITIVE
		    : AUTH_LIT_CASE_SENSITIVE;
	else if (!L->fold_default)
		ar.lit_case = AUTH_LIT_CASE_SENSITIVE;
	memcpy(ar.rules, src->rules, sizeof(ar.rules));
	ar.n_rules = src->n_rules;
	kerr[0] = '\0';
	if (auth_route_add(c->table, &ar, kerr, sizeof(kerr)) == -1)
		conf_err(&L->ctx, src->line, "route \"%s\": %s", pat,
		    kerr[0] ? kerr : "invalid route");
}

static bool
has_name(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Adds lower-case |name| to the strip list unless it is there. */
static void
add_strip(struct load *L, struct conf *c, const char *name, int line)
{
	char *p;

	p = xstrdup(L, name);
	if (p == NULL)
		return;
	for (char *q = p; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	if (has_name(c->strip_headers, c->n_strip_headers, p)) {
		free(p);
		return;
	}
	if (c->n_strip_headers == CONF_MAX_NAMES) {
		conf_err(&L->ctx, line, "more than %d headers to strip",
		    CONF_MAX_NAMES);
		free(p);
		return;
	}
	c->strip_headers[c->n_strip_headers++] = p;
}

static void
build_headers(struct load *L, cfg_t *sec, struct conf *c)
{
	unsigned i, n = cfg_size(sec, "strip");
	unsigned n_claims = cfg_size(sec, "claim");

	for (i = 0; i < n; i++) {
		const char *h = cfg_getnstr(sec, "strip", i);
		int line = opt_line(L, sec, "strip", i);

		if (!conf_is_token(h)) {
			conf_err(&L->ctx, line,
			    "headers: strip \"%s\" is not a header name", h);
			continue;
		}
		add_strip(L, c, h, line);
	}
	if (n_claims > CONF_MAX_NAMES) {
		conf_err(&L->ctx,
		    sec_line(L, cfg_getnsec(sec, "claim", CONF_MAX_NAMES)),
		    "more than %d claim headers", CONF_MAX_NAMES);
		n_claims = CONF_MAX_NAMES;
	}
	for (i = 0; i < n_claims; i++) {
		cfg_t *cs = cfg_getnsec(sec, "claim", i);
		const char *claim = cfg_title(cs);
		const char *h = cfg_getstr(cs, "header");
		int line = sec_line(L, cs);
		size_t j, k = c->n_claim_headers;

		if (!conf_is_claim_name(claim))
			conf_err(&L->ctx, line,
			    "claim \"%s\": not a top-level claim name", claim);
		if (h == NULL) {
			conf_err(&L->ctx, line,
			    "claim \"%s\": header is required", claim);
			continue;
		}
		if (!conf_is_token(h)) {
			conf_err(&L->ctx, opt_line(L, cs, "header", 0),
			    "claim \"%s\": header \"%s\" is not a header name",
			    claim, h);
			continue;
		}
		for (j = 0; j < k; j++)
			if (c->claim_header_name[j] != NULL &&
			    strcasecmp(c->claim_header_name[j], h) == 0)
				conf_err(&L->ctx, opt_line(L, cs, "header", 0),
				    "claim \"%s\": header \"%s\" is already filled by claim \"%s\"",
				    claim, h, c->claim_header_claim[j]);
		c->claim_header_claim[k] = xstrdup(L, claim);
		c->claim_header_name[k] = xstrdup(L, h);
		L->ctx.claim_line[k] = line;
		c->n_claim_headers++;
		/* A client must never supply a header we fill from claims. */
		add_strip(L, c, h, line);
	}
	n = cfg_size(sec, "trust_forwarded");
	for (i = 0; i < n; i++) {
		const char *t = cfg_getnstr(sec, "trust_forwarded", i);
		int line = opt_line(L, sec, "trust_forwarded", i);
		char msg[CONF_MSG_LEN];

		/* The boolean of earlier versions: false trusts nobody. */
		if (n == 1 && strcmp(t, "false") == 0)
			break;
		if (strcmp(t, "true") == 0) {
			conf_err(&L->ctx, line,
			    "headers: trust_forwarded takes the networks of trusted proxies, e.g. {\"10.0.0.0/8\", \"::1\"}; true would trust every client");
			continue;
		}
		if (c->n_trusted == CONF_MAX_NETS) {
			conf_err(&L->ctx, line,
			    "headers: trust_forwarded has more than %d networks",
			    CONF_MAX_NETS);
			break;
		}
		if (conf_parse_net(t, &c->trusted[c->n_trusted], msg,
		        sizeof(msg)) == -1) {
			conf_err(&L->ctx, line, "headers: trust_forwarded: %s",
			    msg);
			continue;
		}
		c->n_trusted++;
	}
}

static void
build_csrf(struct load *L, cfg_t *sec, struct conf *c)
{
	unsigned i, n = cfg_size(sec, "origins");
	char msg[CONF_MSG_LEN];

	for (i = 0; i < n; i++) {
		const char *o = cfg_getnstr(sec, "origins", i);
		int line = opt_line(L, sec, "origins", i);
		char *p;

		if (c->n_csrf_origins == CONF_MAX_NAMES) {
			conf_err(&L->ctx, line, "csrf: more than %d origins",
			    CONF_MAX_NAMES);
			break;
		}
		if (conf_check_origin(o, msg, sizeof(msg)) == -1) {
			conf_err(&L->ctx, line, "csrf: origins \"%s\": %s", o,
			    msg);
			continue;
		}
		if ((p = xstrdup(L, o)) == NULL)
			return;
		for (char *q = p; *q != '\0'; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
		c->csrf_origins[c->n_csrf_origins++] = p;
	}
	c->csrf_require_origin = cfg_getbool(sec, "require_origin");
}

static char *
get_admin_path(struct load *L, cfg_t *sec, const char *name)
{
	const char *p = cfg_getstr(sec, name);
	size_t i;

	for (i = 0; p[i] != '\0'; i++)
		if ((unsigned char)p[i] <= 0x20 ||
		    (unsigned char)p[i] >= 0x7f || p[i] == '?' || p[i] == '#')
			break;
	if (p[0] != '/' || p[i] != '\0')
		conf_err(&L->ctx, opt_line(L, sec, name, 0),
		    "admin: %s must be a path starting with '/'", name);
	return xstrdup(L, p);
}

static void
build(struct load *L, cfg_t *cfg, struct conf *c)
{
	char msg[CONF_MSG_LEN];
	cfg_t *sec;
	unsigned i, n;
	long w;

	if (conf_parse_listen(cfg_getstr(cfg, "listen"), &c->listen_host,
	        &c->listen_port, msg, sizeof(msg)) == -1)
		conf_err(&L->ctx, opt_line(L, cfg, "listen", 0), "listen: %s",
		    msg);
	w = get_int(L, cfg, "workers", 0, 256);
	if (w == 0) /* what the affinity mask and a cgroup quota allow */
		w = conf_cpus_usable();
	c->workers = (int)w;
	c->backlog = (int)get_int(L, cfg, "backlog", 1, 65535);

	sec = cfg_getsec(cfg, "limits");
	c->max_head_bytes =
	    (size_t)get_int(L, sec, "max_head_bytes", 1024, 1048576);
	/* One field line (a browser's Cookie header may pass 8 KB); the
	 * whole head stays bounded by max_head_bytes. */
	c->max_header_line =
	    (size_t)get_int(L, sec, "max_header_line", 256, 1048576);
	if (c->max_header_line > c->max_head_bytes)
		conf_err(&L->ctx, opt_line(L, sec, "max_header_line", 0),
		    "max_header_line (%zu) is larger than max_head_bytes (%zu): raise max_head_bytes too",
		    c->max_header_line, c->max_head_bytes);
	c->max_header_fields =
	    (size_t)get_int(L, sec, "max_header_fields", 1, 10000);
	c->max_body_bytes =
	    (uint64_t)get_int(L, sec, "max_body_bytes", 0, (long)1 << 50);
	c->token_cache_entries =
	    (size_t)get_int(L, sec, "token_cache_entries", 1, 1L << 24);

	sec = cfg_getsec(cfg, "timeouts");
	c->head_timeout_ms = (int)get_int(L, sec, "head", 1, CONF_MAX_MS);
	c->body_timeout_ms = (int)get_int(L, sec, "body", 1, CONF_MAX_MS);
	c->idle_timeout_ms = (int)get_int(L, sec, "idle", 1, CONF_MAX_MS);
	c->drain_timeout_ms = (int)get_int(L, sec, "drain", 1, CONF_MAX_MS);

	n = cfg_size(cfg, "upstream");
	for (i = 0; i < n; i++) {
		sec = cfg_getnsec(cfg, "upstream", i);
		if (i == CONF_MAX_UPSTREAMS) {
			conf_err(&L->ctx, sec_line(L, sec),
			    "more than %d upstreams", CONF_MAX_UPSTREAMS);
			break;
		}
		c->n_upstreams++;
		build_upstream(L, sec, &c->upstreams[i]);
	}
	n = cfg_size(cfg, "issuer");
	for (i = 0; i < n; i++) {
		sec = cfg_getnsec(cfg, "issuer", i);
		if (i == CONF_MAX_ISSUERS) {
			conf_err(&L->ctx, sec_line(L, sec),
			    "more than %d issuers", CONF_MAX_ISSUERS);
			break;
		}
		c->n_issuers++;
		L->ctx.issuer_line[i] = sec_line(L, sec);
		build_issuer(L, sec, &c->issuers[i]);
	}
	c->table = auth_route_table_new();
	if (c->table == NULL)
		L->ctx.oom = true;
	L->fold_default = cfg_getbool(cfg, "case_insensitive_literals");
	n = cfg_size(cfg, "route");
	for (i = 0; i < n; i++) {
		sec = cfg_getnsec(cfg, "route", i);
		if (i == CONF_MAX_ROUTES) {
			conf_err(&L->ctx, sec_line(L, sec),
			    "more than %d routes", CONF_MAX_ROUTES);
			break;
		}
		c->n_routes++;
		build_route(L, sec, c, i);
	}
	build_headers(L, cfg_getsec(cfg, "headers"), c);
	build_csrf(L, cfg_getsec(cfg, "csrf"), c);
	sec = cfg_getsec(cfg, "admin");
	c->health_path = get_admin_path(L, sec, "health");
	c->ready_path = get_admin_path(L, sec, "ready");
	c->access_log = cfg_getbool(cfg_getsec(cfg, "log"), "access");
}

/* Overwrites the secret values libconfuse holds before it frees them. */
static void
wipe_cfg_secrets(cfg_t *cfg)
{
	static const char *const names[] = {"secret", "mint_secret"};
	unsigned i, k;

	for (i = 0; i < cfg_size(cfg, "issuer"); i++) {
		cfg_t *sec = cfg_getnsec(cfg, "issuer", i);

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			char *s = cfg_getstr(sec, names[k]);

			if (s != NULL)
				OPENSSL_cleanse(s, strlen(s));
		}
	}
}

static int
errcmp(const void *a, const void *b)
{
	const struct conf_errmsg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes every error, sorted by line, into |err|. */
static void
format_errors(struct load *L, char *err, size_t err_len)
{
	size_t i, off = 0;

	if (err == NULL || err_len == 0)
		return;
	err[0] = '\0';
	if (L->ctx.oom)
		conf_err(&L->ctx, 0, "out of memory");
	if (L->ctx.oom && L->ctx.n_errs == 0) {
		snprintf(err, err_len, "%s: out of memory", L->ctx.path);
		return;
	}
	qsort(L->ctx.errs, L->ctx.n_errs, sizeof(*L->ctx.errs), errcmp);
	for (i = 0; i < L->ctx.n_errs && off < err_len; i++) {
		const struct conf_errmsg *e = &L->ctx.errs[i];
		int w;

		if (e->line > 0)
			w = snprintf(err + off, err_len - off, "%s%s:%d: %s",
			    i ? "\n" : "", L->ctx.path, e->line, e->msg);
		else
			w = snprintf(err + off, err_len - off, "%s%s: %s",
			    i ? "\n" : "", L->ctx.path, e->msg);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static void
load_cleanup(struct load *L)
{
	size_t i;

	for (i = 0; i < L->ctx.n_errs; i++)
		free(L->ctx.errs[i].msg);
	free(L->ctx.errs);
	for (i = 0; i < L->n_seen; i++)
		free(L->seen[i].title);
	free(L->seen);
	free(L->lines);
	free(L->dir);
	free(L);
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	char *d;

	if (slash == NULL)
		return strdup(".");
	n = slash == path ? 1 : (size_t)(slash - path);
	d = malloc(n + 1);
	if (d != NULL) {
		memcpy(d, path, n);
		d[n] = '\0';
	}
	return d;
}

struct conf *
conf_load(const char *path, char *err, size_t err_len)
{
	char msg[CONF_MSG_LEN];
	struct load *L;
	struct conf *c = NULL;
	cfg_t *cfg = NULL;
	char *text = NULL;
	size_t len = 0, i;
	FILE *fp;
	int rc, open_line, string_line;

	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (path == NULL)
		path = "(null)";
	L = calloc(1, sizeof(*L));
	if (L == NULL) {
		if (err != NULL && err_len > 0)
			snprintf(err, err_len, "%s: out of memory", path);
		return NULL;
	}
	L->ctx.path = path;
	L->dir = dir_of(path);
	if (L->dir == NULL)
		L->ctx.oom = true;
	load_counter++;

	text = read_all(path, CONF_MAX_FILE_BYTES, &len, msg, sizeof(msg));
	if (text == NULL) {
		conf_err(&L->ctx, 0, "%s", msg);
		goto out;
	}
	L->ctx.eof_line = 1;
	for (i = 0; i < len; i++) {
		if (text[i] == '\0') {
			conf_err(&L->ctx, L->ctx.eof_line,
			    "the file contains a NUL byte");
			goto out;
		}
		if (text[i] == '\n' && i + 1 < len)
			L->ctx.eof_line++;
	}
	blank_comments(text, len, &open_line, &string_line);

	cfg = cfg_init(root_opts, CFGF_NONE);
	if (cfg == NULL) {
		L->ctx.oom = true;
		goto out;
	}
	cur_load = L;
	cfg_set_error_function(cfg, on_error);
	set_callbacks(cfg->opts);
	free(cfg->filename);
	cfg->filename = strdup(path);
	if (cfg->filename == NULL) {
		L->ctx.oom = true;
		goto out;
	}
	if (len > 0) {
		fp = fmemopen(text, len, "r");
		if (fp == NULL) {
			L->ctx.oom = true;
			goto out;
		}
		rc = cfg_parse_fp(cfg, fp);
		fclose(fp);
		/* A syntax error stops libconfuse; what it parsed until
		 * then is incomplete, so nothing else is checked. */
		if (rc != CFG_SUCCESS) {
			if (L->ctx.n_errs == 0)
				conf_err(&L->ctx, cfg->line, "syntax error");
			if (string_line > 0)
				conf_err(&L->ctx, string_line,
				    "this quoted string is never closed");
			goto out;
		}
		if (open_line > 0) {
			conf_err(&L->ctx, L->ctx.eof_line,
			    "end of file: the '{' of line %d is never closed",
			    open_line);
			goto out;
		}
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		L->ctx.oom = true;
		goto out;
	}
	c->file = xstrdup(L, path);
	build(L, cfg, c);
	/* After an allocation failure some strings are NULL; the load
	 * fails anyway. */
	if (!L->ctx.oom)
		conf_check_all(&L->ctx, c);
out:
	cur_load = NULL;
	if (cfg != NULL) {
		wipe_cfg_secrets(cfg);
		cfg_free(cfg);
	}
	if (text != NULL)
		wipe_free(text, len);
	if (L->ctx.n_errs > 0 || L->ctx.oom) {
		format_errors(L, err, err_len);
		conf_free(c);
		c = NULL;
	}
	load_cleanup(L);
	return c;
}

void
conf_free(struct conf *c)
{
	size_t i, k;

	if (c == NULL)
		return;
	free(c->file);
	free(c->listen_host);
	free(c->listen_port);
	for (i = 0; i < c->n_upstreams; i++) {
		struct conf_upstream *u = &c->upstreams[i];

		free(u->name);
		free(u->host);
		free(u->port);
		free(u->host_header);
		free(u->ca_file);
	}
	for (i = 0; i < c->n_issuers; i++) {
		struct conf_issuer *is = &c->issuers[i];

		free(is->name);
		free(is->cookie);
		free(is->cookie_secure);
		free(is->session_cookie);
		wipe_free((char *)is->secret, is->secret_len);
		free(is->token_url);
		free(is->jwks_url);
		free(is->token_up.host);
		free(is->token_up.port);
		free(is->token_up.host_header);
		free(is->token_up.ca_file);
		free(is->token_path);
		free(is->jwks_up.host);
		free(is->jwks_up.port);
		free(is->jwks_up.host_header);
		free(is->jwks_up.ca_file);
		free(is->jwks_path);
		auth_keyset_free(is->keys);
		auth_minter_free(is->minter);
		free(is->cache_domain);
		free(is->iss);
		free(is->aud);
		free(is->subject);
		for (k = 0; k < is->n_keep_claims; k++)
			free(is->keep_claims[k]);
	}
	for (i = 0; i < c->n_routes; i++) {
		free(c->routes[i].pattern);
		free(c->routes[i].strip_prefix);
	}
	auth_route_table_free(c->table);
	for (i = 0; i < c->n_strip_headers; i++)
		free(c->strip_headers[i]);
	for (i = 0; i < c->n_claim_headers; i++) {
		free(c->claim_header_claim[i]);
		free(c->claim_header_name[i]);
	}
	for (i = 0; i < c->n_cut_cookies; i++)
		free(c->cut_cookies[i]);
	for (i = 0; i < c->n_csrf_origins; i++)
		free(c->csrf_origins[i]);
	free(c->health_path);
	free(c->ready_path);
	free(c);
}
