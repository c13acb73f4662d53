/* SPDX-License-Identifier: MIT */
/* The option table (names, types, defaults and ranges in one place) and
 * conf_load()/conf_free(): file -> tree (parse.c) -> struct conf. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "conf_int.h"
#include "cpus.h"

#define CONF_MAX_FILE_BYTES (1024 * 1024)     /* the config file */
#define CONF_MAX_KEY_FILE_BYTES (1024 * 1024) /* PEM, JWKS, secret files */
#define CONF_MAX_MS 86400000L                 /* any duration, 24 h */
#define CONF_MAX_SECONDS 86400L

/* clang-format off */
#define SEC(s, n)    {s, n, CONF_T_SECTION, NULL, 0, 0, CONF_TGT_NONE, 0, 0}
#define TITLED(s, n) {s, n, CONF_T_TITLED, NULL, 0, 0, CONF_TGT_NONE, 0, 0}
#define STR(s, n, d) {s, n, CONF_T_STR, d, 0, 0, CONF_TGT_NONE, 0, 0}
#define LIST(s, n, d) {s, n, CONF_T_LIST, d, 0, 0, CONF_TGT_NONE, 0, 0}
/* A number or bool read by build code. */
#define VAL(s, n, t, d, lo, hi) {s, n, t, d, lo, hi, CONF_TGT_NONE, 0, 0}
/* A number or bool stored into field |f| of |type| by conf_apply(). */
#define FIELD(s, n, t, d, lo, hi, tgt, type, f)                                \
	{s, n, t, d, lo, hi, tgt, offsetof(type, f), sizeof(((type *)0)->f)}

/*
 * Every option, its default and its range. conf/bearerd.conf documents each
 * of them, and tests/unit/test_conf.c fails when the two disagree. A plain
 * number keeps its old meaning: milliseconds for CONF_T_MS, seconds for
 * CONF_T_SEC, bytes for CONF_T_SIZE.
 */
const struct conf_opt conf_opts[] = {
	STR("", "listen", "127.0.0.1:8080"),
	/* Readiness also answered on the public listener; default none. */
	STR("", "health_path", NULL),
	VAL("", "workers", CONF_T_INT, "0", 0, 256),
	FIELD("", "backlog", CONF_T_INT, "1024", 1, 65535, CONF_TGT_CONF, struct conf, backlog),
	/* The default of the route option of that name. */
	VAL("", "case_insensitive_literals", CONF_T_BOOL, "true", 0, 1),

	SEC("", "limits"),
	FIELD("limits", "max_head_bytes", CONF_T_SIZE, "16k", 1024, 1048576, CONF_TGT_CONF, struct conf, max_head_bytes),
	FIELD("limits", "max_header_line", CONF_T_SIZE, "8k", 256, 1048576, CONF_TGT_CONF, struct conf, max_header_line),
	FIELD("limits", "max_header_fields", CONF_T_INT, "100", 1, 10000, CONF_TGT_CONF, struct conf, max_header_fields),
	FIELD("limits", "max_body_bytes", CONF_T_SIZE, "100m", 0, (int64_t)1 << 50, CONF_TGT_CONF, struct conf, max_body_bytes),
	FIELD("limits", "token_cache_entries", CONF_T_INT, "1024", 1, 1L << 24, CONF_TGT_CONF, struct conf, token_cache_entries),

	SEC("", "timeouts"),
	FIELD("timeouts", "head", CONF_T_MS, "10s", 1, CONF_MAX_MS, CONF_TGT_CONF, struct conf, head_timeout_ms),
	FIELD("timeouts", "body", CONF_T_MS, "30s", 1, CONF_MAX_MS, CONF_TGT_CONF, struct conf, body_timeout_ms),
	FIELD("timeouts", "idle", CONF_T_MS, "60s", 1, CONF_MAX_MS, CONF_TGT_CONF, struct conf, idle_timeout_ms),
	FIELD("timeouts", "drain", CONF_T_MS, "10s", 1, CONF_MAX_MS, CONF_TGT_CONF, struct conf, drain_timeout_ms),
	/* Not ready but still serving after SIGTERM. Default 0: the right
	 * delay is the load balancer's (probe period x failures), unknown
	 * here, and a sidecar with no balancer would only stop slower. */
	FIELD("timeouts", "drain_delay", CONF_T_MS, "0", 0, CONF_MAX_MS, CONF_TGT_CONF, struct conf, drain_delay_ms),

	TITLED("", "upstream"),
	STR("upstream", "url", NULL),
	FIELD("upstream", "connect_timeout", CONF_T_MS, "2s", 1, CONF_MAX_MS, CONF_TGT_UPSTREAM, struct conf_upstream, connect_timeout_ms),
	FIELD("upstream", "response_timeout", CONF_T_MS, "30s", 1, CONF_MAX_MS, CONF_TGT_UPSTREAM, struct conf_upstream, response_timeout_ms),
	FIELD("upstream", "idle_timeout", CONF_T_MS, "4s", 1, CONF_MAX_MS, CONF_TGT_UPSTREAM, struct conf_upstream, idle_timeout_ms),
	FIELD("upstream", "max_idle", CONF_T_INT, "1024", 0, 10000, CONF_TGT_UPSTREAM, struct conf_upstream, max_idle),
	STR("upstream", "ca_file", NULL),

	TITLED("", "issuer"),
	STR("issuer", "credential", "jwt"),
	/* Default: better-auth.session_token for credential session,
	 * better-auth.session_data otherwise. */
	STR("issuer", "cookie", NULL),
	STR("issuer", "session_cookie", NULL),
	STR("issuer", "secret", NULL),
	STR("issuer", "secret_file", NULL),
	STR("issuer", "secret_alg", "HS256"),
	STR("issuer", "secret_kid", NULL),
	TITLED("issuer", "key"),
	STR("issuer.key", "pem_file", NULL),
	STR("issuer.key", "alg", NULL),
	STR("issuer.key", "kid", NULL),
	STR("issuer", "jwks_file", NULL),
	STR("issuer", "issuer", NULL),
	STR("issuer", "audience", NULL),
	FIELD("issuer", "leeway", CONF_T_SEC, "30s", 0, CONF_MAX_SECONDS, CONF_TGT_ISSUER, struct conf_issuer, policy.leeway),
	VAL("issuer", "require_exp", CONF_T_BOOL, "true", 0, 1),
	STR("issuer", "subject", NULL),
	LIST("issuer", "keep_claims", NULL),
	STR("issuer", "forward", "passthrough"),
	STR("issuer", "mint_alg", "HS256"),
	STR("issuer", "mint_secret", NULL),
	STR("issuer", "mint_secret_file", NULL),
	STR("issuer", "mint_key_file", NULL),
	STR("issuer", "mint_kid", NULL),
	VAL("issuer", "mint_ttl", CONF_T_SEC, "5m", 1, CONF_MAX_SECONDS),
	STR("issuer", "mint_issuer", NULL),
	STR("issuer", "mint_audience", NULL),
	STR("issuer", "token_url", NULL),
	STR("issuer", "jwks_url", NULL),
	FIELD("issuer", "jwks_refresh", CONF_T_SEC, "5m", 1, CONF_MAX_SECONDS, CONF_TGT_ISSUER, struct conf_issuer, jwks_refresh),
	FIELD("issuer", "jwks_min_refresh", CONF_T_SEC, "10s", 0, CONF_MAX_SECONDS, CONF_TGT_ISSUER, struct conf_issuer, jwks_min_refresh),
	FIELD("issuer", "refresh_before", CONF_T_SEC, "60s", 0, CONF_MAX_SECONDS, CONF_TGT_ISSUER, struct conf_issuer, refresh_before),
	FIELD("issuer", "session_recheck", CONF_T_SEC, "60s", 0, CONF_MAX_SECONDS, CONF_TGT_ISSUER, struct conf_issuer, session_recheck),

	TITLED("", "route"),
	STR("route", "upstream", NULL),
	STR("route", "auth", "required"),
	STR("route", "issuer", NULL),
	LIST("route", "require", NULL),
	/* Default: the top-level case_insensitive_literals, for binding
	 * routes (require rules or auth = required). */
	VAL("route", "case_insensitive_literals", CONF_T_BOOL, NULL, 0, 1),
	STR("route", "strip_prefix", NULL),
	FIELD("route", "pass_auth_cookies", CONF_T_BOOL, "false", 0, 1, CONF_TGT_ROUTE, struct conf_route, pass_auth_cookies),

	SEC("", "headers"),
	LIST("headers", "strip", "X-User-Id, X-User-Email, X-User, X-Forwarded-User, X-Auth-Request-User, Remote-User"),
	TITLED("headers", "claim"),
	STR("headers.claim", "header", NULL),
	/* Networks of trusted proxies; "false" (the old bool) is none. */
	LIST("headers", "trust_forwarded", NULL),

	SEC("", "csrf"),
	LIST("csrf", "origins", NULL),
	FIELD("csrf", "require_origin", CONF_T_BOOL, "false", 0, 1, CONF_TGT_CONF, struct conf, csrf_require_origin),

	SEC("", "tls"),
	STR("tls", "cert_file", NULL),
	STR("tls", "key_file", NULL),

	SEC("", "admin"),
	/* The admin listener's address; default none (no admin listener). */
	STR("admin", "listen", NULL),
	STR("admin", "health", "/healthz"),
	STR("admin", "ready", "/readyz"),

	SEC("", "log"),
	FIELD("log", "access", CONF_T_BOOL, "true", 0, 1, CONF_TGT_CONF, struct conf, access_log),
};
/* clang-format on */
const size_t conf_n_opts = sizeof(conf_opts) / sizeof(conf_opts[0]);

const struct conf_opt *
conf_opt_find(const char *sec, const char *name)
{
	size_t i;

	for (i = 0; i < conf_n_opts; i++)
		if (strcmp(conf_opts[i].name, name) == 0 &&
		    strcmp(conf_opts[i].sec, sec) == 0)
			return &conf_opts[i];
	return NULL;
}

struct load {
	struct conf_ctx ctx;
	bool fold_default; /* top-level case_insensitive_literals */
	char *dir;         /* the config file's directory */
	struct conf_node *top;
};

/* Makes each load's cache domains unique (conf_load is not concurrent). */
static unsigned long load_counter;

void
conf_err(struct conf_ctx *ctx, struct conf_pos pos, const char *fmt, ...)
{
	char buf[CONF_MSG_LEN];
	va_list ap;
	struct conf_errmsg *e;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Messages quote values: one error stays one line, and a terminal
	 * gets no control bytes. */
	for (char *q = buf; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	if (ctx->n_errs == ctx->cap_errs) {
		size_t cap = ctx->cap_errs ? ctx->cap_errs * 2 : 16;
		struct conf_errmsg *v =
		    conf_realloc(ctx->errs, cap * sizeof(*v));

		if (v == NULL) {
			ctx->oom = true;
			return;
		}
		ctx->errs = v;
		ctx->cap_errs = cap;
	}
	e = &ctx->errs[ctx->n_errs];
	e->msg = conf_strdup(buf);
	if (e->msg == NULL) {
		ctx->oom = true;
		return;
	}
	e->pos = pos;
	e->seq = ctx->n_errs++;
}

/* Optimal string alignment distance (a transposition counts one), capped
 * at 9: only small distances matter. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[3][65], *prev2 = d[0], *prev = d[1], *cur = d[2], *t;

	if (la > 64 || lb > 64)
		return 9;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = prev[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb] > 9 ? 9 : prev[lb];
}

const char *
conf_suggest(const char *s, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t i, best_d = 9, len = strlen(s);
	/* One edit for short names, up to a third of the name for long. */
	size_t max = len < 6 ? 1 : len / 3;

	for (i = 0; i < n; i++) {
		size_t d;

		if (names[i] == NULL)
			continue;
		d = strcasecmp(s, names[i]) == 0 ? 0 : distance(s, names[i]);
		if (d == 0)
			d = 1; /* a case difference is a typo too */
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	return best_d <= max ? best : NULL;
}

/* ------------------------------------------------------ reading the tree */

/* The option |name| in section |sec| (NULL: an absent section), or NULL. */
static const struct conf_node *
get(const struct conf_node *sec, const char *name)
{
	const struct conf_node *n;

	for (n = sec != NULL ? sec->kids : NULL; n != NULL; n = n->next)
		if (strcmp(n->opt->name, name) == 0)
			return n;
	return NULL;
}

static const struct conf_opt *
row(const char *path, const char *name)
{
	const struct conf_opt *o = conf_opt_find(path, name);

	if (o == NULL)
		abort(); /* a name missing from the table: a bug here */
	return o;
}

static struct conf_pos
sec_pos(const struct conf_node *sec)
{
	struct conf_pos none = {0, 0};

	return sec != NULL ? sec->pos : none;
}

/* Where value |idx| of |name| was written, else where |sec| was. */
static struct conf_pos
opt_pos(const struct conf_node *sec, const char *name, size_t idx)
{
	const struct conf_node *n = get(sec, name);

	if (n != NULL && idx < n->n_vals)
		return n->vals[idx].pos;
	return sec_pos(sec);
}

/* The string value of |name|, else its default (maybe NULL). */
static const char *
str(const struct conf_node *sec, const char *path, const char *name)
{
	const struct conf_node *n = get(sec, name);

	if (n != NULL && n->n_vals > 0)
		return n->vals[0].s;
	return row(path, name)->def;
}

static bool
is_set(const struct conf_node *sec, const char *name)
{
	return get(sec, name) != NULL;
}

/* The values of list |name| (NULL when unset: see its default). */
static size_t
list_len(const struct conf_node *sec, const char *name)
{
	const struct conf_node *n = get(sec, name);

	return n != NULL ? n->n_vals : 0;
}

static const char *
list_at(const struct conf_node *sec, const char *name, size_t i)
{
	return get(sec, name)->vals[i].s;
}

/*
 * Parses |s| as a value of type |t|: a number with an optional unit
 * (durations: ms, s, m, h; sizes: k, m, g), or a bool. Returns 0, or -1.
 */
int
conf_parse_number(const char *s, enum conf_type t, int64_t *out)
{
	const char *p = s;
	int64_t v = 0, mult = 1, div = 1;
	bool neg = false;

	if (t == CONF_T_BOOL) {
		if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
			*out = 1;
		else if (!strcmp(s, "false") || !strcmp(s, "no") ||
		    !strcmp(s, "off"))
			*out = 0;
		else
			return -1;
		return 0;
	}
	if (*p == '-' && t == CONF_T_INT) {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (t == CONF_T_MS || t == CONF_T_SEC) {
		/* in milliseconds, then back to seconds for CONF_T_SEC */
		if (*p == '\0')
			mult = t == CONF_T_MS ? 1 : 1000;
		else if (!strcmp(p, "ms"))
			mult = 1;
		else if (!strcmp(p, "s"))
			mult = 1000;
		else if (!strcmp(p, "m"))
			mult = 60000;
		else if (!strcmp(p, "h"))
			mult = 3600000;
		else
			return -1;
		div = t == CONF_T_SEC ? 1000 : 1;
	} else if (t == CONF_T_SIZE) {
		if (*p == '\0')
			mult = 1;
		else if (!strcasecmp(p, "k"))
			mult = 1024;
		else if (!strcasecmp(p, "m"))
			mult = 1024 * 1024;
		else if (!strcasecmp(p, "g"))
			mult = 1024 * 1024 * 1024;
		else
			return -1;
	} else if (*p != '\0') {
		return -1;
	}
	if (v > INT64_MAX / mult)
		return -1;
	v *= mult;
	if (v % div != 0)
		return -1;
	*out = neg ? -(v / div) : v / div;
	return 0;
}

static const char *
type_hint(enum conf_type t)
{
	switch (t) {
	case CONF_T_MS:
		return "a duration such as 500ms, 10s, 2m or 1h (a plain number is milliseconds)";
	case CONF_T_SEC:
		return "a duration in whole seconds such as 30s, 5m or 1h (a plain number is seconds)";
	case CONF_T_SIZE:
		return "a size such as 16384, 64k or 1m (a plain number is bytes)";
	case CONF_T_BOOL:
		return "true or false";
	default:
		return "a whole number";
	}
}

/* The number (or bool) of option |o| in |sec|: its value or its default,
 * checked against the range. */
static int64_t
num(struct load *L, const struct conf_node *sec, const struct conf_opt *o)
{
	const struct conf_node *n = get(sec, o->name);
	const char *s = n != NULL ? n->vals[0].s : o->def;
	struct conf_pos pos = n != NULL ? n->vals[0].pos : sec_pos(sec);
	int64_t v;

	if (s == NULL) /* no value and no default: the caller checks is_set */
		return 0;
	if (conf_parse_number(s, o->type, &v) == -1) {
		conf_err(&L->ctx, pos, "%s: \"%.64s\" is not %s", o->name, s,
		    type_hint(o->type));
		if (o->def == NULL ||
		    conf_parse_number(o->def, o->type, &v) == -1)
			v = 0;
		return v;
	}
	if (o->type != CONF_T_BOOL && (v < o->lo || v > o->hi))
		conf_err(&L->ctx, pos, "%s must be between %lld and %lld%s",
		    o->name, (long long)o->lo, (long long)o->hi,
		    o->type == CONF_T_MS         ? " milliseconds"
		        : o->type == CONF_T_SEC  ? " seconds"
		        : o->type == CONF_T_SIZE ? " bytes"
		                                 : "");
	return v;
}

static int64_t
get_num(struct load *L, const struct conf_node *sec, const char *path,
    const char *name)
{
	return num(L, sec, row(path, name));
}

/* Stores every table value of section |path| that targets |tgt| into
 * |base|: the rows with a field are one line each, nothing else to do. */
static void
conf_apply(struct load *L, const struct conf_node *sec, const char *path,
    enum conf_target tgt, void *base)
{
	size_t i;

	for (i = 0; i < conf_n_opts; i++) {
		const struct conf_opt *o = &conf_opts[i];
		unsigned char *f = (unsigned char *)base + o->off;
		int64_t v;

		if (o->tgt != tgt || strcmp(o->sec, path) != 0)
			continue;
		v = num(L, sec, o);
		switch (o->size) {
		case 1: {
			bool b = v != 0;

			memcpy(f, &b, 1);
			break;
		}
		case 4: {
			int32_t x = (int32_t)v;

			memcpy(f, &x, 4);
			break;
		}
		case 8:
			memcpy(f, &v, 8);
			break;
		default:
			abort(); /* a table row with an unexpected field */
		}
	}
}

/* The section |name| under |parent| (the first for titled ones). */
static const struct conf_node *
section(const struct conf_node *list, const char *name)
{
	for (; list != NULL; list = list->next)
		if (strcmp(list->opt->name, name) == 0)
			return list;
	return NULL;
}

static char *
xstrdup(struct load *L, const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = conf_strdup(s);
	if (p == NULL)
		L->ctx.oom = true;
	return p;
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
	p = conf_malloc(n);
	if (p == NULL) {
		L->ctx.oom = true;
		return NULL;
	}
	snprintf(p, n, "%s/%s", L->dir, rel);
	return p;
}

/* Reads a whole file (at most |max| bytes) into a new NUL-terminated buffer.
 * NULL with |msg| on failure; |*oom| set when memory ran out. */
static char *
read_all(const char *path, size_t max, size_t *out_len, char *msg,
    size_t msg_len, bool *oom)
{
	FILE *f;
	char *buf;
	size_t n;

	f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOMEM)
			*oom = true;
		snprintf(msg, msg_len, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	buf = conf_malloc(max + 2);
	if (buf == NULL) {
		fclose(f);
		*oom = true;
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
	conf_wipe_free(buf, max + 2);
	fclose(f);
	return NULL;
}

/* Reads |rel| (relative to the config) for option |what| at |pos|. */
static char *
read_opt_file(struct load *L, const char *rel, const char *what,
    struct conf_pos pos, size_t *out_len)
{
	char msg[CONF_MSG_LEN];
	char *path, *buf;

	path = resolve_path(L, rel);
	if (path == NULL)
		return NULL;
	buf = read_all(path, CONF_MAX_KEY_FILE_BYTES, out_len, msg, sizeof(msg),
	    &L->ctx.oom);
	if (buf == NULL)
		conf_err(&L->ctx, pos, "%s: %s", what, msg);
	conf_mfree(path);
	return buf;
}

/*
 * A secret from |name| (the value, ${} already expanded) or |file_name| (a
 * file, one trailing newline trimmed). Returns 1 with a new buffer in
 * |out|, 0 when neither is set, -1 on an error (reported).
 */
static int
get_secret(struct load *L, const struct conf_node *sec, const char *who,
    const char *name, const char *file_name, unsigned char **out,
    size_t *out_len)
{
	const char *val = str(sec, "issuer", name);
	const char *file = str(sec, "issuer", file_name);
	char *buf;
	size_t n;

	*out = NULL;
	*out_len = 0;
	if (val != NULL && file != NULL) {
		conf_err(&L->ctx, opt_pos(sec, file_name, 0),
		    "%s: set %s or %s, not both", who, name, file_name);
		return -1;
	}
	if (val != NULL) {
		n = strlen(val);
		/* An unset ${VAR} expands to "": an empty HMAC key must
		 * never be used. */
		if (n < AUTH_MIN_SECRET_LEN) {
			conf_err(&L->ctx, opt_pos(sec, name, 0),
			    "%s: %s is %zu bytes after expansion; at least %d are required (is the environment variable set?)",
			    who, name, n, AUTH_MIN_SECRET_LEN);
			return -1;
		}
		buf = conf_malloc(n + 1);
		if (buf == NULL) {
			L->ctx.oom = true;
			return -1;
		}
		memcpy(buf, val, n + 1);
	} else if (file != NULL) {
		struct conf_pos pos = opt_pos(sec, file_name, 0);

		buf = read_opt_file(L, file, file_name, pos, &n);
		if (buf == NULL)
			return -1;
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
		if (n < AUTH_MIN_SECRET_LEN || strlen(buf) != n) {
			conf_err(&L->ctx, pos,
			    "%s: %s %s holds %zu bytes (one trailing newline trimmed); at least %d are required, without NUL bytes",
			    who, file_name, file, n, AUTH_MIN_SECRET_LEN);
			conf_wipe_free(buf, n);
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
get_alg(struct load *L, const struct conf_node *sec, const char *path,
    const char *who, const char *name)
{
	const char *s = str(sec, path, name);
	enum auth_alg a;

	if (s == NULL)
		return AUTH_ALG_INVALID;
	a = auth_alg_from_str(s, strlen(s));
	if (a == AUTH_ALG_INVALID)
		conf_err(&L->ctx, opt_pos(sec, name, 0),
		    "%s: unknown %s \"%.64s\" (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA; never none)",
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
build_upstream(struct load *L, const struct conf_node *sec,
    struct conf_upstream *u)
{
	char msg[CONF_MSG_LEN];
	const char *title = sec->title.s;
	const char *url = str(sec, "upstream", "url");
	const char *ca = str(sec, "upstream", "ca_file");

	u->name = xstrdup(L, title);
	if (!conf_is_token(title))
		conf_err(&L->ctx, sec->title.pos,
		    "upstream \"%.128s\": the name must be a token (letters, digits, '-', '_', '.')",
		    title);
	if (url == NULL)
		conf_err(&L->ctx, sec->pos,
		    "upstream \"%.128s\": url is required", title);
	else if (conf_parse_url(url, u, msg, sizeof(msg)) == -1)
		conf_err(&L->ctx, opt_pos(sec, "url", 0),
		    "upstream \"%.128s\": %s", title, msg);
	conf_apply(L, sec, "upstream", CONF_TGT_UPSTREAM, u);
	if (ca == NULL)
		return;
	if (url != NULL && !u->tls) {
		conf_err(&L->ctx, opt_pos(sec, "ca_file", 0),
		    "upstream \"%.128s\": ca_file needs an https:// url",
		    title);
		return;
	}
	if ((u->ca_file = resolve_path(L, ca)) != NULL &&
	    ca_file_check(u->ca_file, msg, sizeof(msg)) == -1)
		conf_err(&L->ctx, opt_pos(sec, "ca_file", 0),
		    "upstream \"%.128s\": ca_file %.128s: %s", title, ca, msg);
}

/* Option |name| of |sec| (section |path|), a kid: NULL when unset; an
 * empty or too long one is reported (an unset ${VAR} must not become a kid
 * of ""). */
static const char *
get_kid(struct load *L, const struct conf_node *sec, const char *path,
    const char *what, const char *name, bool *bad)
{
	const char *kid = str(sec, path, name);

	*bad = false;
	if (kid != NULL && (kid[0] == '\0' || strlen(kid) > AUTH_MAX_KID_LEN)) {
		conf_err(&L->ctx, opt_pos(sec, name, 0),
		    "%s: %s must be 1 to %d bytes", what, name,
		    AUTH_MAX_KID_LEN);
		*bad = true;
	}
	return kid;
}

/* The keys of a jwt issuer: the secret, key { } sections, jwks_file. */
static void
build_jwt_keys(struct load *L, const struct conf_node *sec,
    struct conf_issuer *is, const char *who, enum auth_alg secret_alg)
{
	char kerr[CONF_MSG_LEN], what[CONF_MSG_LEN];
	const char *jwks = str(sec, "issuer", "jwks_file");
	const struct conf_node *k;
	bool has_keys = section(sec->kids, "key") != NULL;
	const char *secret_kid;
	char *buf;
	size_t len;
	bool bad;

	if (is->secret == NULL && !has_keys && jwks == NULL &&
	    !is_set(sec, "secret") && !is_set(sec, "secret_file")) {
		conf_err(&L->ctx, sec->pos,
		    "%s: credential jwt needs keys: secret, secret_file, key { } or jwks_file",
		    who);
		return;
	}
	/* Like key { kid }: a token naming this kid gets the secret, beside
	 * PEMs or a JWKS; without it the secret is the issuer's one key
	 * without a kid. */
	secret_kid = get_kid(L, sec, "issuer", who, "secret_kid", &bad);
	if (secret_kid != NULL && !is_set(sec, "secret") &&
	    !is_set(sec, "secret_file"))
		conf_err(&L->ctx, opt_pos(sec, "secret_kid", 0),
		    "%s: secret_kid names the secret, but there is no secret or secret_file",
		    who);
	if (is->secret != NULL && is_hs(secret_alg) && !bad &&
	    auth_keyset_add_secret(is->keys, secret_kid, secret_alg, is->secret,
	        is->secret_len, kerr, sizeof(kerr)) == -1)
		conf_err(&L->ctx,
		    opt_pos(sec,
		        is_set(sec, "secret") ? "secret" : "secret_file", 0),
		    "%s: secret: %s", who, kerr);
	for (k = sec->kids; k != NULL; k = k->next) {
		const char *pem, *kid, *alg_s;
		enum auth_alg alg;

		if (strcmp(k->opt->name, "key") != 0)
			continue;
		pem = str(k, "issuer.key", "pem_file");
		alg_s = str(k, "issuer.key", "alg");
		snprintf(what, sizeof(what), "%s: key \"%.128s\"", who,
		    k->title.s);
		if (pem == NULL)
			conf_err(&L->ctx, k->pos, "%s: pem_file is required",
			    what);
		if (alg_s == NULL) {
			conf_err(&L->ctx, k->pos,
			    "%s: alg is required (the one algorithm this key may verify)",
			    what);
			continue;
		}
		alg = get_alg(L, k, "issuer.key", what, "alg");
		if (pem == NULL || alg == AUTH_ALG_INVALID)
			continue;
		kid = get_kid(L, k, "issuer.key", what, "kid", &bad);
		if (bad)
			continue;
		buf = read_opt_file(L, pem, what, opt_pos(k, "pem_file", 0),
		    &len);
		if (buf == NULL)
			continue;
		if (auth_keyset_add_pem(is->keys, kid, alg, buf, len, kerr,
		        sizeof(kerr)) == -1)
			conf_err(&L->ctx, k->pos, "%s (%.128s, alg %s): %s",
			    what, pem, alg_s, kerr);
		conf_wipe_free(buf, len);
	}
	if (jwks != NULL) {
		struct conf_pos pos = opt_pos(sec, "jwks_file", 0);

		snprintf(what, sizeof(what), "%s: jwks_file", who);
		buf = read_opt_file(L, jwks, what, pos, &len);
		if (buf != NULL) {
			if (auth_keyset_add_jwks(is->keys, buf, len, kerr,
			        sizeof(kerr)) == -1)
				conf_err(&L->ctx, pos, "%s %.128s: %s", what,
				    jwks, kerr);
			conf_wipe_free(buf, len);
		}
	}
}

static void
build_minter(struct load *L, const struct conf_node *sec,
    struct conf_issuer *is, const char *who)
{
	char kerr[CONF_MSG_LEN];
	enum auth_alg alg = get_alg(L, sec, "issuer", who, "mint_alg");
	const char *keyfile = str(sec, "issuer", "mint_key_file");
	bool has_secret =
	    is_set(sec, "mint_secret") || is_set(sec, "mint_secret_file");
	struct conf_pos alg_pos = opt_pos(sec, "mint_alg", 0);
	int64_t ttl = get_num(L, sec, "issuer", "mint_ttl");
	unsigned char *key = NULL;
	size_t key_len = 0;
	size_t errs = L->ctx.n_errs;
	bool bad;
	const char *kid = get_kid(L, sec, "issuer", who, "mint_kid", &bad);

	if (!has_secret && keyfile == NULL) {
		conf_err(&L->ctx, opt_pos(sec, "forward", 0),
		    "%s: forward = mint needs a key: mint_secret, mint_secret_file or mint_key_file",
		    who);
		return;
	}
	if (alg == AUTH_ALG_INVALID)
		return;
	if (is_hs(alg)) {
		if (keyfile != NULL) {
			conf_err(&L->ctx, opt_pos(sec, "mint_key_file", 0),
			    "%s: mint_alg %s takes mint_secret or mint_secret_file, not mint_key_file",
			    who, auth_alg_str(alg));
			return;
		}
		if (get_secret(L, sec, who, "mint_secret", "mint_secret_file",
		        &key, &key_len) != 1)
			return;
	} else {
		if (keyfile == NULL || has_secret) {
			conf_err(&L->ctx, alg_pos,
			    "%s: mint_alg %s needs mint_key_file (a PEM private key) and no mint_secret",
			    who, auth_alg_str(alg));
			return;
		}
		key =
		    (unsigned char *)read_opt_file(L, keyfile, "mint_key_file",
		        opt_pos(sec, "mint_key_file", 0), &key_len);
		if (key == NULL)
			return;
	}
	if (L->ctx.n_errs == errs) {
		is->minter = auth_minter_new(alg, key, key_len, kid,
		    str(sec, "issuer", "mint_issuer"),
		    str(sec, "issuer", "mint_audience"), ttl, kerr,
		    sizeof(kerr));
		if (is->minter == NULL)
			conf_err(&L->ctx, alg_pos, "%s: mint: %s", who, kerr);
	}
	conf_wipe_free(key, key_len);
}

/* An exchange or JWKS URL: http://host[:port]/path into |u| and |path|.
 * Returns 0, or -1 after reporting the error. */
static int
build_fetch_url(struct load *L, const struct conf_node *sec, const char *who,
    const char *opt, const char *url, struct conf_upstream *u, char **path)
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
		if (strcmp(msg, "out of memory") == 0)
			L->ctx.oom = true;
		else
			conf_err(&L->ctx, opt_pos(sec, opt, 0), "%s: %s: %s",
			    who, opt, msg);
		return -1;
	}
	return 0;
}

/*
 * credential = session: Better Auth's secret checks the cookie's HMAC
 * locally, token_url exchanges it for a JWT, and the JWT is verified with
 * keys from jwks_url (fetched at run time), jwks_file or key { }.
 */
static void exch_cookies(struct load *L, struct conf_issuer *is,
    const char *ck);

static void
build_session(struct load *L, const struct conf_node *sec,
    struct conf_issuer *is, const char *who, int has_secret)
{
	const char *tu = str(sec, "issuer", "token_url");
	const char *ju = str(sec, "issuer", "jwks_url");
	bool static_keys =
	    section(sec->kids, "key") != NULL || is_set(sec, "jwks_file");

	if (has_secret == 0)
		conf_err(&L->ctx, sec->pos,
		    "%s: credential session needs secret or secret_file (Better Auth's secret, to check the cookie's signature)",
		    who);
	if (tu == NULL)
		conf_err(&L->ctx, sec->pos,
		    "%s: credential session needs token_url (Better Auth's GET /api/auth/token)",
		    who);
	else if (build_fetch_url(L, sec, who, "token_url", tu, &is->token_up,
	             &is->token_path) == 0)
		is->token_url = xstrdup(L, tu);
	if (ju != NULL) {
		if (static_keys)
			conf_err(&L->ctx, opt_pos(sec, "jwks_url", 0),
			    "%s: jwks_url and key { } / jwks_file exclude each other",
			    who);
		else if (build_fetch_url(L, sec, who, "jwks_url", ju,
		             &is->jwks_up, &is->jwks_path) == 0)
			is->jwks_url = xstrdup(L, ju);
	} else if (!static_keys) {
		conf_err(&L->ctx, sec->pos,
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
	exch_cookies(L, is, is->cookie);
}

/*
 * The names the exchange sends: the session cookie |ck| and its
 * "__Secure-" twin, and Better Auth's dont_remember cookie when |ck|
 * shows the prefix ("P.session_token" -> "P.dont_remember"): Better Auth
 * slides a session on /token unless dont_remember says the user chose
 * not to be remembered, so it goes along.
 */
static void
exch_cookies(struct load *L, struct conf_issuer *is, const char *ck)
{
	const char *tail = ".session_token";
	size_t n, tl = strlen(tail), cap;

	if (ck == NULL)
		return;
	if (strncmp(ck, "__Secure-", 9) == 0)
		ck += 9;
	n = strlen(ck);
	cap = n + sizeof(".dont_remember") + 10;
	is->exch_cookie = conf_malloc(cap);
	is->exch_cookie_secure = conf_malloc(cap);
	if (is->exch_cookie == NULL || is->exch_cookie_secure == NULL) {
		L->ctx.oom = true;
		return;
	}
	snprintf(is->exch_cookie, cap, "%s", ck);
	snprintf(is->exch_cookie_secure, cap, "__Secure-%s", ck);
	if (n <= tl || strcmp(ck + n - tl, tail) != 0)
		return;
	is->dont_remember = conf_malloc(cap);
	is->dont_remember_secure = conf_malloc(cap);
	if (is->dont_remember == NULL || is->dont_remember_secure == NULL) {
		L->ctx.oom = true;
		return;
	}
	snprintf(is->dont_remember, cap, "%.*s.dont_remember", (int)(n - tl),
	    ck);
	snprintf(is->dont_remember_secure, cap, "__Secure-%s",
	    is->dont_remember);
}

/*
 * better-auth-compact with token_url: when the session_data cookie has
 * expired and the session cookie (session_cookie) is there, the session
 * is exchanged at token_url rather than refused, and Better Auth's fresh
 * cookies are relayed. The JWT's keys come from jwks_url.
 */
static void
build_compact_exchange(struct load *L, const struct conf_node *sec,
    struct conf_issuer *is, const char *who)
{
	const char *tu = str(sec, "issuer", "token_url");
	const char *ju = str(sec, "issuer", "jwks_url");

	if (tu == NULL && ju == NULL)
		return;
	if (tu == NULL || ju == NULL || is->session_cookie == NULL) {
		conf_err(&L->ctx,
		    opt_pos(sec, tu != NULL ? "token_url" : "jwks_url", 0),
		    "%s: a better-auth-compact exchange needs token_url, jwks_url and session_cookie together",
		    who);
		return;
	}
	if (build_fetch_url(L, sec, who, "token_url", tu, &is->token_up,
	        &is->token_path) == 0)
		is->token_url = xstrdup(L, tu);
	if (build_fetch_url(L, sec, who, "jwks_url", ju, &is->jwks_up,
	        &is->jwks_path) == 0)
		is->jwks_url = xstrdup(L, ju);
	exch_cookies(L, is, is->session_cookie);
}

static void
build_issuer(struct load *L, const struct conf_node *sec,
    struct conf_issuer *is)
{
	char who[192], kerr[64];
	const char *title = sec->title.s;
	const char *cred = str(sec, "issuer", "credential");
	const char *cookie = str(sec, "issuer", "cookie");
	const char *sc = str(sec, "issuer", "session_cookie");
	const char *tu = str(sec, "issuer", "token_url");
	const char *ju = str(sec, "issuer", "jwks_url");
	const char *subject = str(sec, "issuer", "subject");
	const char *fwd = str(sec, "issuer", "forward");
	enum auth_alg secret_alg;
	size_t i, n;
	int r;

	snprintf(who, sizeof(who), "issuer \"%.128s\"", title);
	is->name = xstrdup(L, title);
	if (!conf_is_token(title))
		conf_err(&L->ctx, sec->title.pos,
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
		conf_err(&L->ctx, opt_pos(sec, "credential", 0),
		    "%s: credential must be jwt, better-auth-compact or session, not \"%.64s\"",
		    who, cred);
	}

	/* Better Auth's default names: the session credential is its
	 * session_token cookie, the others its session_data cookie. */
	if (cookie == NULL)
		cookie = is->cred == CONF_CRED_SESSION
		    ? "better-auth.session_token"
		    : "better-auth.session_data";
	if (!conf_is_cookie_name(cookie))
		conf_err(&L->ctx, opt_pos(sec, "cookie", 0),
		    "%s: cookie \"%.64s\" is not a valid cookie name", who,
		    cookie);
	is->cookie = xstrdup(L, cookie);
	if (strncmp(cookie, "__Secure-", 9) == 0 ||
	    strncmp(cookie, "__Host-", 7) == 0) {
		is->cookie_secure = xstrdup(L, cookie);
	} else if ((is->cookie_secure = conf_malloc(strlen(cookie) + 10)) !=
	    NULL) {
		/* RFC 6265bis §4.1.3.1: browsers send this name from https
		 * origins; Better Auth uses it there. */
		memcpy(is->cookie_secure, "__Secure-", 9);
		memcpy(is->cookie_secure + 9, cookie, strlen(cookie) + 1);
	} else {
		L->ctx.oom = true;
	}
	if (sc != NULL) {
		if (!conf_is_cookie_name(sc))
			conf_err(&L->ctx, opt_pos(sec, "session_cookie", 0),
			    "%s: session_cookie \"%.64s\" is not a valid cookie name",
			    who, sc);
		is->session_cookie = xstrdup(L, sc);
	}

	secret_alg = get_alg(L, sec, "issuer", who, "secret_alg");
	if (secret_alg != AUTH_ALG_INVALID && !is_hs(secret_alg))
		conf_err(&L->ctx, opt_pos(sec, "secret_alg", 0),
		    "%s: secret_alg must be HS256, HS384 or HS512", who);
	r = get_secret(L, sec, who, "secret", "secret_file", &is->secret,
	    &is->secret_len);

	if (is->cred == CONF_CRED_JWT && is->keys != NULL) {
		build_jwt_keys(L, sec, is, who, secret_alg);
	} else if (is->cred == CONF_CRED_SESSION && is->keys != NULL) {
		build_session(L, sec, is, who, r);
	} else if (is->cred == CONF_CRED_BA_COMPACT) {
		if (r == 0)
			conf_err(&L->ctx, sec->pos,
			    "%s: credential better-auth-compact needs secret or secret_file (Better Auth's secret)",
			    who);
		if (section(sec->kids, "key") != NULL ||
		    is_set(sec, "jwks_file"))
			conf_err(&L->ctx, sec->pos,
			    "%s: key { } and jwks_file are for credential jwt",
			    who);
		if (is_set(sec, "secret_kid"))
			conf_err(&L->ctx, opt_pos(sec, "secret_kid", 0),
			    "%s: secret_kid is for credential jwt (a session_data cookie has no kid)",
			    who);
		if (secret_alg != AUTH_ALG_HS256)
			conf_err(&L->ctx, opt_pos(sec, "secret_alg", 0),
			    "%s: credential better-auth-compact is HMAC-SHA256: secret_alg must be HS256",
			    who);
	}

	/* Like a secret, an empty value is an unset ${VAR}, never a value
	 * to check, mint or fetch: it would refuse every token at run time. */
	for (i = 0; i < 6; i++) {
		static const char *const names[] = {"issuer", "audience",
		    "mint_issuer", "mint_audience", "token_url", "jwks_url"};
		const char *v = str(sec, "issuer", names[i]);

		if (v != NULL && v[0] == '\0')
			conf_err(&L->ctx, opt_pos(sec, names[i], 0),
			    "%s: %s is empty (is the environment variable set?)",
			    who, names[i]);
	}
	is->iss = xstrdup(L, str(sec, "issuer", "issuer"));
	is->aud = xstrdup(L, str(sec, "issuer", "audience"));
	conf_apply(L, sec, "issuer", CONF_TGT_ISSUER, is);
	is->policy.exp_optional = get_num(L, sec, "issuer", "require_exp") == 0;
	if (subject == NULL)
		subject =
		    is->cred == CONF_CRED_BA_COMPACT ? "session.userId" : "sub";
	if (subject[0] == '\0' || subject[0] == '.' ||
	    subject[strlen(subject) - 1] == '.' || strstr(subject, "..") ||
	    strlen(subject) >= 256)
		conf_err(&L->ctx, opt_pos(sec, "subject", 0),
		    "%s: subject \"%.64s\" must be a claim name or a dotted path",
		    who, subject);
	is->subject = xstrdup(L, subject);
	n = list_len(sec, "keep_claims");
	if (n > AUTH_MAX_KEEP_CLAIMS)
		conf_err(&L->ctx, opt_pos(sec, "keep_claims", 0),
		    "%s: keep_claims has %zu names; at most %d", who, n,
		    AUTH_MAX_KEEP_CLAIMS);
	for (i = 0; i < n && i < AUTH_MAX_KEEP_CLAIMS; i++) {
		const char *cl = list_at(sec, "keep_claims", i);
		size_t j;

		if (!conf_is_claim_path(cl))
			conf_err(&L->ctx, opt_pos(sec, "keep_claims", i),
			    "%s: keep_claims \"%.64s\" is not a claim name or dotted path (\"email\", \"user.email\")",
			    who, cl);
		/* A kept claim goes by its last segment: two paths ending
		 * alike would fill one name twice. */
		for (j = 0; j < is->n_keep_claims; j++)
			if (is->keep_claims[j] != NULL &&
			    strcmp(conf_claim_key(is->keep_claims[j]),
			        conf_claim_key(cl)) == 0)
				conf_err(&L->ctx,
				    opt_pos(sec, "keep_claims", i),
				    "%s: keep_claims \"%.64s\" and \"%.64s\" are both kept as \"%.64s\"",
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
			conf_err(&L->ctx, opt_pos(sec, "forward", 0),
			    "%s: credential better-auth-compact needs forward = mint (the cookie is not a JWT)",
			    who);
	} else if (strcmp(fwd, "mint") == 0) {
		is->forward = CONF_FORWARD_MINT;
		build_minter(L, sec, is, who);
	} else {
		conf_err(&L->ctx, opt_pos(sec, "forward", 0),
		    "%s: forward must be passthrough or mint, not \"%.64s\"",
		    who, fwd);
	}
	if (is->cred == CONF_CRED_BA_COMPACT)
		build_compact_exchange(L, sec, is, who);
	else if (is->cred != CONF_CRED_SESSION && (tu != NULL || ju != NULL))
		conf_err(&L->ctx,
		    opt_pos(sec, tu != NULL ? "token_url" : "jwks_url", 0),
		    "%s: token_url and jwks_url are for credential session and better-auth-compact",
		    who);
	/* The exchanged JWT: as the credential's own policy for session; a
	 * JWT's layout (sub, top-level claims) for better-auth-compact. */
	is->exch_policy = is->policy;
	if (is->cred == CONF_CRED_BA_COMPACT) {
		is->exch_policy.subject_path = NULL;
		is->exch_policy.exp_optional = false;
		for (i = 0; i < is->n_keep_claims; i++)
			if (is->keep_claims[i] != NULL)
				is->exch_policy.keep_claims[i] =
				    conf_claim_key(is->keep_claims[i]);
	}
	snprintf(kerr, sizeof(kerr), "/%lu", load_counter);
	n = strlen(title) + strlen(kerr) + 1;
	is->cache_domain = conf_malloc(n);
	if (is->cache_domain == NULL)
		L->ctx.oom = true;
	else
		snprintf(is->cache_domain, n, "%s%s", title, kerr);
}

static void
build_route(struct load *L, const struct conf_node *sec, struct conf *c,
    size_t idx)
{
	char kerr[CONF_MSG_LEN];
	struct conf_route *r = &c->routes[idx];
	struct conf_route_src *src = &L->ctx.routes[idx];
	const char *pat = sec->title.s;
	const char *mode = str(sec, "route", "auth");
	const char *sp = str(sec, "route", "strip_prefix");
	struct auth_route ar;
	size_t errs = L->ctx.n_errs;
	size_t i, n;

	r->pattern = xstrdup(L, pat);
	r->upstream = -1;
	r->issuer = -1;
	src->pos = sec->pos;
	src->upstream = str(sec, "route", "upstream");
	src->upstream_pos = opt_pos(sec, "upstream", 0);
	src->issuer = str(sec, "route", "issuer");
	src->issuer_pos = opt_pos(sec, "issuer", 0);
	src->auth_pos = opt_pos(sec, "auth", 0);
	if (pat[0] != '/' || strlen(pat) >= sizeof(ar.pattern))
		conf_err(&L->ctx, sec->title.pos,
		    "route \"%.128s\": the pattern must start with '/' and be shorter than %zu bytes",
		    pat, sizeof(ar.pattern));
	if (strcmp(mode, "required") == 0)
		r->mode = AUTH_MODE_REQUIRED;
	else if (strcmp(mode, "optional") == 0)
		r->mode = AUTH_MODE_OPTIONAL;
	else if (strcmp(mode, "none") == 0)
		r->mode = AUTH_MODE_NONE;
	else
		conf_err(&L->ctx, src->auth_pos,
		    "route \"%.128s\": auth must be required, optional or none, not \"%.64s\"",
		    pat, mode);
	n = list_len(sec, "require");
	if (n > AUTH_MAX_ROUTE_RULES) {
		conf_err(&L->ctx, opt_pos(sec, "require", 0),
		    "route \"%.128s\": at most %d require rules", pat,
		    AUTH_MAX_ROUTE_RULES);
		n = AUTH_MAX_ROUTE_RULES;
	}
	for (i = 0; i < n; i++) {
		const char *text = list_at(sec, "require", i);
		struct auth_rule *ru = &src->rules[src->n_rules];
		struct conf_pos pos = opt_pos(sec, "require", i);

		kerr[0] = '\0';
		if (auth_rule_parse(text, ru, kerr, sizeof(kerr)) == -1) {
			conf_err(&L->ctx, pos,
			    "route \"%.128s\": require \"%.128s\": %s", pat,
			    text, kerr[0] ? kerr : "not a rule");
			continue;
		}
		if (ru->kind != AUTH_RULE_CLAIM_VALUE &&
		    !conf_pattern_has_var(pat, ru->var)) {
			conf_err(&L->ctx, pos,
			    "route \"%.128s\": require \"%.128s\": {%s} is not a variable of the pattern",
			    pat, text, ru->var);
			continue;
		}
		src->require_pos[src->n_rules++] = pos;
	}
	conf_apply(L, sec, "route", CONF_TGT_ROUTE, r);
	if (sp != NULL) {
		if (!conf_is_path_prefix(sp))
			conf_err(&L->ctx, opt_pos(sec, "strip_prefix", 0),
			    "route \"%.128s\": strip_prefix \"%.128s\" must be a path of literal segments like \"/api\" (no trailing '/', no '%%', '?', '.' or '..' segments)",
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
	if (is_set(sec, "case_insensitive_literals"))
		ar.lit_case =
		    get_num(L, sec, "route", "case_insensitive_literals") != 0
		    ? AUTH_LIT_CASE_INSENSITIVE
		    : AUTH_LIT_CASE_SENSITIVE;
	else if (!L->fold_default)
		ar.lit_case = AUTH_LIT_CASE_SENSITIVE;
	memcpy(ar.rules, src->rules, sizeof(ar.rules));
	ar.n_rules = src->n_rules;
	kerr[0] = '\0';
	if (auth_route_add(c->table, &ar, kerr, sizeof(kerr)) == -1)
		conf_err(&L->ctx, sec->title.pos, "route \"%.128s\": %s", pat,
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

/* Adds lower-case |name| (|len| bytes) to the strip list unless it is
 * there. */
static void
add_strip(struct load *L, struct conf *c, const char *name, size_t len,
    struct conf_pos pos)
{
	char *p;

	p = conf_strndup(name, len);
	if (p == NULL) {
		L->ctx.oom = true;
		return;
	}
	for (char *q = p; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	if (has_name(c->strip_headers, c->n_strip_headers, p)) {
		conf_mfree(p);
		return;
	}
	if (c->n_strip_headers == CONF_MAX_NAMES) {
		conf_err(&L->ctx, pos, "more than %d headers to strip",
		    CONF_MAX_NAMES);
		conf_mfree(p);
		return;
	}
	c->strip_headers[c->n_strip_headers++] = p;
}

static void
build_headers(struct load *L, const struct conf_node *sec, struct conf *c)
{
	const struct conf_node *cs;
	size_t i, n = list_len(sec, "strip"), n_claims = 0;

	if (!is_set(sec, "strip")) {
		/* The default list, written in the table as "A, B, C". */
		const char *p = row("headers", "strip")->def;

		while (*p != '\0') {
			size_t len = strcspn(p, ", ");

			add_strip(L, c, p, len, sec_pos(sec));
			p += len;
			p += strspn(p, ", ");
		}
	}
	for (i = 0; i < n; i++) {
		const char *h = list_at(sec, "strip", i);
		struct conf_pos pos = opt_pos(sec, "strip", i);

		if (!conf_is_token(h)) {
			conf_err(&L->ctx, pos,
			    "headers: strip \"%.64s\" is not a header name", h);
			continue;
		}
		add_strip(L, c, h, strlen(h), pos);
	}
	for (cs = sec != NULL ? sec->kids : NULL; cs != NULL; cs = cs->next) {
		const char *claim = cs->title.s, *h;
		struct conf_pos pos = cs->pos;
		size_t j, k = c->n_claim_headers;

		if (strcmp(cs->opt->name, "claim") != 0)
			continue;
		if (n_claims++ == CONF_MAX_NAMES) {
			conf_err(&L->ctx, pos, "more than %d claim headers",
			    CONF_MAX_NAMES);
			break;
		}
		h = str(cs, "headers.claim", "header");
		if (!conf_is_claim_name(claim))
			conf_err(&L->ctx, cs->title.pos,
			    "claim \"%.64s\": not a top-level claim name",
			    claim);
		if (h == NULL) {
			conf_err(&L->ctx, pos,
			    "claim \"%.64s\": header is required", claim);
			continue;
		}
		if (!conf_is_token(h)) {
			conf_err(&L->ctx, opt_pos(cs, "header", 0),
			    "claim \"%.64s\": header \"%.64s\" is not a header name",
			    claim, h);
			continue;
		}
		for (j = 0; j < k; j++)
			if (c->claim_header_name[j] != NULL &&
			    strcasecmp(c->claim_header_name[j], h) == 0)
				conf_err(&L->ctx, opt_pos(cs, "header", 0),
				    "claim \"%.64s\": header \"%.64s\" is already filled by claim \"%s\"",
				    claim, h, c->claim_header_claim[j]);
		c->claim_header_claim[k] = xstrdup(L, claim);
		c->claim_header_name[k] = xstrdup(L, h);
		L->ctx.claim_pos[k] = pos;
		c->n_claim_headers++;
		/* A client must never supply a header we fill from claims. */
		add_strip(L, c, h, strlen(h), pos);
	}
	conf_apply(L, sec, "headers", CONF_TGT_CONF, c);
	n = list_len(sec, "trust_forwarded");
	for (i = 0; i < n; i++) {
		const char *t = list_at(sec, "trust_forwarded", i);
		struct conf_pos pos = opt_pos(sec, "trust_forwarded", i);
		char msg[CONF_MSG_LEN];

		/* The boolean of earlier versions: false trusts nobody. */
		if (n == 1 && strcmp(t, "false") == 0)
			break;
		if (strcmp(t, "true") == 0) {
			conf_err(&L->ctx, pos,
			    "headers: trust_forwarded takes the networks of trusted proxies, e.g. {\"10.0.0.0/8\", \"::1\"}; true would trust every client");
			continue;
		}
		if (c->n_trusted == CONF_MAX_NETS) {
			conf_err(&L->ctx, pos,
			    "headers: trust_forwarded has more than %d networks",
			    CONF_MAX_NETS);
			break;
		}
		if (conf_parse_net(t, &c->trusted[c->n_trusted], msg,
		        sizeof(msg)) == -1) {
			conf_err(&L->ctx, pos, "headers: trust_forwarded: %s",
			    msg);
			continue;
		}
		c->n_trusted++;
	}
}

static void
build_csrf(struct load *L, const struct conf_node *sec, struct conf *c)
{
	size_t i, n = list_len(sec, "origins");
	char msg[CONF_MSG_LEN];

	for (i = 0; i < n; i++) {
		const char *o = list_at(sec, "origins", i);
		struct conf_pos pos = opt_pos(sec, "origins", i);
		char *p;

		if (c->n_csrf_origins == CONF_MAX_NAMES) {
			conf_err(&L->ctx, pos, "csrf: more than %d origins",
			    CONF_MAX_NAMES);
			break;
		}
		if (conf_check_origin(o, msg, sizeof(msg)) == -1) {
			conf_err(&L->ctx, pos, "csrf: origins \"%.128s\": %s",
			    o, msg);
			continue;
		}
		if ((p = xstrdup(L, o)) == NULL)
			return;
		for (char *q = p; *q != '\0'; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
		c->csrf_origins[c->n_csrf_origins++] = p;
	}
	conf_apply(L, sec, "csrf", CONF_TGT_CONF, c);
}

/* A path option (|what| in messages): starts with '/', visible ASCII,
 * no query or fragment. */
static char *
get_path(struct load *L, const struct conf_node *sec, const char *path,
    const char *name, const char *what)
{
	const char *p = str(sec, path, name);
	size_t i;

	for (i = 0; p[i] != '\0'; i++)
		if ((unsigned char)p[i] <= 0x20 ||
		    (unsigned char)p[i] >= 0x7f || p[i] == '?' || p[i] == '#')
			break;
	if (p[0] != '/' || p[i] != '\0')
		conf_err(&L->ctx, opt_pos(sec, name, 0),
		    "%s must be a path starting with '/'", what);
	return xstrdup(L, p);
}

static char *
get_admin_path(struct load *L, const struct conf_node *sec, const char *name)
{
	char what[64];

	snprintf(what, sizeof(what), "admin: %s", name);
	return get_path(L, sec, "admin", name, what);
}

/* A listen address (|who| in messages): host:port or [v6]:port, and a host
 * that resolves to addresses this machine can bind (a -t that passes must
 * not fail to bind, and nothing may fall back to another address). */
static void
get_listen(struct load *L, const struct conf_node *sec, const char *path,
    const char *who, char **host, char **port)
{
	char msg[CONF_MSG_LEN];

	if (conf_parse_listen(str(sec, path, "listen"), host, port, msg,
	        sizeof(msg)) == -1 ||
	    conf_check_bindable(*host, *port, msg, sizeof(msg)) == -1) {
		if (strcmp(msg, "out of memory") == 0)
			L->ctx.oom = true;
		else
			conf_err(&L->ctx, opt_pos(sec, "listen", 0), "%s: %s",
			    who, msg);
	}
}

/* The listener's certificate chain and private key: both or neither. */
static void
build_tls(struct load *L, const struct conf_node *sec, struct conf *c)
{
	char msg[CONF_MSG_LEN];
	const char *cert = str(sec, "tls", "cert_file");
	const char *key = str(sec, "tls", "key_file");

	if (cert == NULL && key == NULL)
		return;
	if (cert == NULL || key == NULL) {
		conf_err(&L->ctx,
		    opt_pos(sec, cert == NULL ? "key_file" : "cert_file", 0),
		    "tls: cert_file and key_file go together");
		return;
	}
	c->tls_cert_file = xstrdup(L, cert);
	c->tls_key_file = xstrdup(L, key);
	if (conf_check_tls_pair(cert, key, msg, sizeof(msg)) == -1)
		conf_err(&L->ctx, opt_pos(sec, "cert_file", 0), "tls: %s", msg);
}

static void
build(struct load *L, const struct conf_node *top, struct conf *c)
{
	const struct conf_node *n;
	int64_t w;

	/* The top level is a section without a node: wrap it. */
	struct conf_node root;

	memset(&root, 0, sizeof(root));
	/* root is only read: the const goes for the struct's sake. */
	/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
	root.kids = (struct conf_node *)(uintptr_t)top;
	get_listen(L, &root, "", "listen", &c->listen_host, &c->listen_port);
	if (str(&root, "", "health_path") != NULL)
		c->public_health_path =
		    get_path(L, &root, "", "health_path", "health_path");
	build_tls(L, section(top, "tls"), c);
	w = get_num(L, &root, "", "workers");
	if (w == 0) /* what the affinity mask and a cgroup quota allow */
		w = conf_cpus_usable();
	c->workers = (int)w;
	conf_apply(L, &root, "", CONF_TGT_CONF, c);
	n = section(top, "limits");
	conf_apply(L, n, "limits", CONF_TGT_CONF, c);
	/* One field line (a browser's Cookie header may pass 8 KB); the
	 * whole head stays bounded by max_head_bytes. */
	if (c->max_header_line > c->max_head_bytes)
		conf_err(&L->ctx, opt_pos(n, "max_header_line", 0),
		    "max_header_line (%zu) is larger than max_head_bytes (%zu): raise max_head_bytes too",
		    c->max_header_line, c->max_head_bytes);
	conf_apply(L, section(top, "timeouts"), "timeouts", CONF_TGT_CONF, c);

	for (n = top; n != NULL; n = n->next) {
		if (strcmp(n->opt->name, "upstream") != 0)
			continue;
		if (c->n_upstreams == CONF_MAX_UPSTREAMS) {
			conf_err(&L->ctx, n->pos, "more than %d upstreams",
			    CONF_MAX_UPSTREAMS);
			break;
		}
		build_upstream(L, n, &c->upstreams[c->n_upstreams++]);
	}
	for (n = top; n != NULL; n = n->next) {
		if (strcmp(n->opt->name, "issuer") != 0)
			continue;
		if (c->n_issuers == CONF_MAX_ISSUERS) {
			conf_err(&L->ctx, n->pos, "more than %d issuers",
			    CONF_MAX_ISSUERS);
			break;
		}
		L->ctx.issuer_pos[c->n_issuers] = n->pos;
		build_issuer(L, n, &c->issuers[c->n_issuers++]);
	}
	c->table = auth_route_table_new();
	if (c->table == NULL)
		L->ctx.oom = true;
	L->fold_default =
	    get_num(L, &root, "", "case_insensitive_literals") != 0;
	for (n = top; n != NULL; n = n->next) {
		if (strcmp(n->opt->name, "route") != 0)
			continue;
		if (c->n_routes == CONF_MAX_ROUTES) {
			conf_err(&L->ctx, n->pos, "more than %d routes",
			    CONF_MAX_ROUTES);
			break;
		}
		c->n_routes++;
		build_route(L, n, c, c->n_routes - 1);
	}
	build_headers(L, section(top, "headers"), c);
	build_csrf(L, section(top, "csrf"), c);
	n = section(top, "admin");
	if (str(n, "admin", "listen") != NULL)
		get_listen(L, n, "admin", "admin: listen",
		    &c->admin_listen_host, &c->admin_listen_port);
	c->health_path = get_admin_path(L, n, "health");
	c->ready_path = get_admin_path(L, n, "ready");
	conf_apply(L, section(top, "log"), "log", CONF_TGT_CONF, c);
}

static int
errcmp(const void *a, const void *b)
{
	const struct conf_errmsg *x = a, *y = b;

	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes every error, sorted by place, into |err|. */
static void
format_errors(struct load *L, char *err, size_t err_len)
{
	size_t i, off = 0;

	if (err == NULL || err_len == 0)
		return;
	err[0] = '\0';
	if (L->ctx.oom) {
		/* Nothing else is certain after memory ran out. */
		snprintf(err, err_len, "%s: out of memory", L->ctx.path);
		return;
	}
	qsort(L->ctx.errs, L->ctx.n_errs, sizeof(*L->ctx.errs), errcmp);
	for (i = 0; i < L->ctx.n_errs && off < err_len; i++) {
		const struct conf_errmsg *e = &L->ctx.errs[i];
		int w;

		if (e->pos.line > 0)
			w = snprintf(err + off, err_len - off, "%s%s:%d:%d: %s",
			    i ? "\n" : "", L->ctx.path, e->pos.line,
			    e->pos.col > 0 ? e->pos.col : 1, e->msg);
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
		conf_mfree(L->ctx.errs[i].msg);
	conf_mfree(L->ctx.errs);
	conf_tree_free(L->top);
	conf_mfree(L->dir);
	conf_mfree(L);
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return conf_strdup(".");
	return conf_strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* The end of |text|: the last line that has something on it. */
static struct conf_pos
end_of(const char *text, size_t len)
{
	struct conf_pos pos = {1, 1};
	size_t i, start = 0;

	for (i = 0; i < len; i++)
		if (text[i] == '\n' && i + 1 < len) {
			pos.line++;
			start = i + 1;
		}
	pos.col = (int)(len - start) + 1;
	if (len > 0 && text[len - 1] == '\n')
		pos.col--;
	return pos;
}

struct conf *
conf_load(const char *path, char *err, size_t err_len)
{
	char msg[CONF_MSG_LEN];
	struct load *L;
	struct conf *c = NULL;
	char *text = NULL;
	size_t len = 0;

	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (path == NULL)
		path = "(null)";
	L = conf_calloc(1, sizeof(*L));
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

	text = read_all(path, CONF_MAX_FILE_BYTES, &len, msg, sizeof(msg),
	    &L->ctx.oom);
	if (text == NULL) {
		struct conf_pos none = {0, 0};

		conf_err(&L->ctx, none, "%s", msg);
		goto out;
	}
	L->ctx.eof = end_of(text, len);
	L->top = conf_parse(&L->ctx, text, len);
	if (L->ctx.oom)
		goto out;
	c = conf_calloc(1, sizeof(*c));
	if (c == NULL) {
		L->ctx.oom = true;
		goto out;
	}
	c->file = xstrdup(L, path);
	build(L, L->top, c);
	/* After an allocation failure some strings are NULL; the load
	 * fails anyway. */
	if (!L->ctx.oom)
		conf_check_all(&L->ctx, c);
out:
	if (text != NULL)
		conf_wipe_free(text, len);
	if (L->ctx.n_errs > 0 || L->ctx.oom) {
		format_errors(L, err, err_len);
		conf_free(c);
		c = NULL;
	}
	load_cleanup(L);
	return c;
}

char *
conf_serialise(const char *path, size_t *out_len)
{
	char msg[CONF_MSG_LEN];
	struct conf_ctx *ctx;
	struct conf_node *top;
	char *text, *out = NULL;
	size_t len = 0, i;

	if ((ctx = conf_calloc(1, sizeof(*ctx))) == NULL)
		return NULL;
	ctx->path = path;
	text = read_all(path, CONF_MAX_FILE_BYTES, &len, msg, sizeof(msg),
	    &ctx->oom);
	if (text != NULL) {
		ctx->eof = end_of(text, len);
		top = conf_parse(ctx, text, len);
		if (ctx->n_errs == 0 && !ctx->oom)
			out = conf_write_tree(top, out_len);
		conf_tree_free(top);
		conf_wipe_free(text, len);
	}
	for (i = 0; i < ctx->n_errs; i++)
		conf_mfree(ctx->errs[i].msg);
	conf_mfree(ctx->errs);
	conf_mfree(ctx);
	return out;
}

void
conf_text_free(char *text, size_t len)
{
	conf_wipe_free(text, len + 1);
}

void
conf_free(struct conf *c)
{
	size_t i, k;

	if (c == NULL)
		return;
	conf_mfree(c->file);
	conf_mfree(c->listen_host);
	conf_mfree(c->listen_port);
	for (i = 0; i < c->n_upstreams; i++) {
		struct conf_upstream *u = &c->upstreams[i];

		conf_mfree(u->name);
		conf_mfree(u->host);
		conf_mfree(u->port);
		conf_mfree(u->host_header);
		conf_mfree(u->ca_file);
	}
	for (i = 0; i < c->n_issuers; i++) {
		struct conf_issuer *is = &c->issuers[i];

		conf_mfree(is->name);
		conf_mfree(is->cookie);
		conf_mfree(is->cookie_secure);
		conf_mfree(is->session_cookie);
		conf_wipe_free(is->secret, is->secret_len);
		conf_mfree(is->dont_remember);
		conf_mfree(is->dont_remember_secure);
		conf_mfree(is->exch_cookie);
		conf_mfree(is->exch_cookie_secure);
		conf_mfree(is->token_url);
		conf_mfree(is->jwks_url);
		conf_mfree(is->token_up.host);
		conf_mfree(is->token_up.port);
		conf_mfree(is->token_up.host_header);
		conf_mfree(is->token_up.ca_file);
		conf_mfree(is->token_path);
		conf_mfree(is->jwks_up.host);
		conf_mfree(is->jwks_up.port);
		conf_mfree(is->jwks_up.host_header);
		conf_mfree(is->jwks_up.ca_file);
		conf_mfree(is->jwks_path);
		auth_keyset_free(is->keys);
		auth_minter_free(is->minter);
		conf_mfree(is->cache_domain);
		conf_mfree(is->iss);
		conf_mfree(is->aud);
		conf_mfree(is->subject);
		for (k = 0; k < is->n_keep_claims; k++)
			conf_mfree(is->keep_claims[k]);
	}
	for (i = 0; i < c->n_routes; i++) {
		conf_mfree(c->routes[i].pattern);
		conf_mfree(c->routes[i].strip_prefix);
	}
	auth_route_table_free(c->table);
	for (i = 0; i < c->n_strip_headers; i++)
		conf_mfree(c->strip_headers[i]);
	for (i = 0; i < c->n_claim_headers; i++) {
		conf_mfree(c->claim_header_claim[i]);
		conf_mfree(c->claim_header_name[i]);
	}
	for (i = 0; i < c->n_cut_cookies; i++)
		conf_mfree(c->cut_cookies[i]);
	for (i = 0; i < c->n_csrf_origins; i++)
		conf_mfree(c->csrf_origins[i]);
	conf_mfree(c->health_path);
	conf_mfree(c->ready_path);
	conf_mfree(c->public_health_path);
	conf_mfree(c->admin_listen_host);
	conf_mfree(c->admin_listen_port);
	conf_mfree(c->tls_cert_file);
	conf_mfree(c->tls_key_file);
	conf_mfree(c);
}
