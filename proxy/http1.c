/* SPDX-License-Identifier: MIT */
/* The pure HTTP/1.1 codec: heads, chunked bodies, field helpers (http1.h). */
#include <string.h>

#include "http1.h"

/* ---- character classes ---- */

#define C_TCHAR 1  /* tchar, RFC 9110 §5.6.2 */
#define C_VALUE 2  /* field-vchar, SP, HTAB, obs-text (RFC 9110 §5.5) */
#define C_TARGET 4 /* visible ASCII but "#" (RFC 9112 §3.2, RFC 3986) */

static const unsigned char cls[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
    2, 7, 6, 3, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6, /* 20 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, /* 30 */
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 40 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7, /* 50 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 60 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0, /* 70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* a0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* b0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* c0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* d0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* e0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* f0 */
};

bool
h1_is_tchar(unsigned char c)
{
	return (cls[c] & C_TCHAR) != 0;
}

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ---- the token table ---- */

struct token_def {
	const char *name; /* canonical spelling */
	unsigned char len;
	unsigned char flags;
};

#define TOK(s, f)                                                              \
	{                                                                      \
		s, sizeof(s) - 1, f                                            \
	}
#define REQ H1_DROP_REQ
#define RES H1_DROP_RES
#define FWD H1_FORWARDING

/* Indexed by enum h1_token. */
static const struct token_def tokens[H1_T_MAX] = {
    [H1_T_OTHER] = {NULL, 0, 0},
    [H1_T_AUTHORIZATION] = TOK("Authorization", REQ),
    [H1_T_CF_CONNECTING_IP] = TOK("CF-Connecting-IP", FWD),
    [H1_T_CLIENT_IP] = TOK("Client-IP", FWD),
    [H1_T_CONNECTION] = TOK("Connection", REQ | RES),
    [H1_T_CONTENT_LENGTH] = TOK("Content-Length", REQ | RES),
    [H1_T_CONTENT_TYPE] = TOK("Content-Type", 0),
    [H1_T_COOKIE] = TOK("Cookie", 0),
    [H1_T_DATE] = TOK("Date", 0),
    [H1_T_EXPECT] = TOK("Expect", REQ),
    [H1_T_FORWARDED] = TOK("Forwarded", FWD),
    [H1_T_HOST] = TOK("Host", REQ),
    [H1_T_HTTP2_SETTINGS] = TOK("HTTP2-Settings", REQ | RES),
    [H1_T_KEEP_ALIVE] = TOK("Keep-Alive", REQ | RES),
    [H1_T_LOCATION] = TOK("Location", 0),
    [H1_T_ORIGIN] = TOK("Origin", 0),
    [H1_T_PROXY_AUTHENTICATE] = TOK("Proxy-Authenticate", REQ | RES),
    [H1_T_PROXY_AUTHORIZATION] = TOK("Proxy-Authorization", REQ | RES),
    [H1_T_PROXY_CONNECTION] = TOK("Proxy-Connection", REQ | RES),
    [H1_T_REFERER] = TOK("Referer", 0),
    [H1_T_SEC_FETCH_MODE] = TOK("Sec-Fetch-Mode", 0),
    [H1_T_SEC_FETCH_SITE] = TOK("Sec-Fetch-Site", 0),
    [H1_T_SEC_WEBSOCKET_ACCEPT] = TOK("Sec-WebSocket-Accept", 0),
    [H1_T_SEC_WEBSOCKET_EXTENSIONS] = TOK("Sec-WebSocket-Extensions", 0),
    [H1_T_SEC_WEBSOCKET_KEY] = TOK("Sec-WebSocket-Key", 0),
    [H1_T_SEC_WEBSOCKET_PROTOCOL] = TOK("Sec-WebSocket-Protocol", 0),
    [H1_T_SEC_WEBSOCKET_VERSION] = TOK("Sec-WebSocket-Version", 0),
    [H1_T_SERVER] = TOK("Server", 0),
    [H1_T_SET_COOKIE] = TOK("Set-Cookie", 0),
    [H1_T_TE] = TOK("TE", REQ | RES),
    [H1_T_TRAILER] = TOK("Trailer", REQ | RES),
    [H1_T_TRANSFER_ENCODING] = TOK("Transfer-Encoding", REQ | RES),
    [H1_T_TRUE_CLIENT_IP] = TOK("True-Client-IP", FWD),
    [H1_T_UPGRADE] = TOK("Upgrade", REQ | RES),
    [H1_T_VIA] = TOK("Via", 0),
    [H1_T_WWW_AUTHENTICATE] = TOK("WWW-Authenticate", 0),
    [H1_T_X_CLIENT_IP] = TOK("X-Client-IP", FWD),
    [H1_T_X_CLUSTER_CLIENT_IP] = TOK("X-Cluster-Client-IP", FWD),
    [H1_T_X_FORWARDED_FOR] = TOK("X-Forwarded-For", FWD),
    [H1_T_X_FORWARDED_HOST] = TOK("X-Forwarded-Host", FWD),
    [H1_T_X_FORWARDED_PORT] = TOK("X-Forwarded-Port", FWD),
    [H1_T_X_FORWARDED_PREFIX] = TOK("X-Forwarded-Prefix", FWD),
    [H1_T_X_FORWARDED_PROTO] = TOK("X-Forwarded-Proto", FWD),
    [H1_T_X_REAL_IP] = TOK("X-Real-IP", FWD),
    [H1_T_X_REQUEST_ID] = TOK("X-Request-Id", 0),
};

#undef TOK
#undef REQ
#undef RES
#undef FWD

/* Token by a hash of the lower-cased name: (length + 2 * first + last + 31 *
 * second-to-last byte) mod 128, collision-free over the table above (the
 * test checks every name). One probe and one comparison per field. */
#define TOKEN_HASH(len, first, last, last2)                                    \
	(((len) + 2u * (first) + (last) + 31u * (last2)) & 127u)

static const uint8_t token_hash[128] = {
    [7] = H1_T_VIA,
    [9] = H1_T_ORIGIN,
    [12] = H1_T_SET_COOKIE,
    [15] = H1_T_KEEP_ALIVE,
    [23] = H1_T_X_REQUEST_ID,
    [24] = H1_T_REFERER,
    [25] = H1_T_SERVER,
    [28] = H1_T_TRAILER,
    [29] = H1_T_TRUE_CLIENT_IP,
    [32] = H1_T_X_REAL_IP,
    [34] = H1_T_X_CLIENT_IP,
    [42] = H1_T_X_CLUSTER_CLIENT_IP,
    [43] = H1_T_SEC_WEBSOCKET_KEY,
    [46] = H1_T_AUTHORIZATION,
    [47] = H1_T_CONNECTION,
    [49] = H1_T_X_FORWARDED_PREFIX,
    [50] = H1_T_TRANSFER_ENCODING,
    [53] = H1_T_HOST,
    [61] = H1_T_DATE,
    [63] = H1_T_LOCATION,
    [65] = H1_T_EXPECT,
    [66] = H1_T_X_FORWARDED_PORT,
    [67] = H1_T_SEC_WEBSOCKET_EXTENSIONS,
    [71] = H1_T_CONTENT_TYPE,
    [72] = H1_T_CONTENT_LENGTH,
    [74] = H1_T_HTTP2_SETTINGS,
    [79] = H1_T_PROXY_CONNECTION,
    [82] = H1_T_PROXY_AUTHORIZATION,
    [89] = H1_T_SEC_WEBSOCKET_PROTOCOL,
    [90] = H1_T_SEC_WEBSOCKET_VERSION,
    [91] = H1_T_TE,
    [97] = H1_T_X_FORWARDED_HOST,
    [98] = H1_T_X_FORWARDED_FOR,
    [99] = H1_T_PROXY_AUTHENTICATE,
    [101] = H1_T_SEC_FETCH_SITE,
    [104] = H1_T_COOKIE,
    [111] = H1_T_WWW_AUTHENTICATE,
    [114] = H1_T_UPGRADE,
    [116] = H1_T_FORWARDED,
    [117] = H1_T_SEC_FETCH_MODE,
    [118] = H1_T_CLIENT_IP,
    [124] = H1_T_X_FORWARDED_PROTO,
    [125] = H1_T_CF_CONNECTING_IP,
    [126] = H1_T_SEC_WEBSOCKET_ACCEPT,
};

static uint16_t
token_find(const char *name, size_t len, bool loose)
{
	uint16_t t;

	if (len < 2 || len > 32)
		return H1_T_OTHER;
	t = token_hash[TOKEN_HASH(len, lower((unsigned char)name[0]),
	    lower((unsigned char)name[len - 1]),
	    lower((unsigned char)name[len - 2]))];
	if (t == H1_T_OTHER || tokens[t].len != len)
		return H1_T_OTHER;
	if (loose ? h1_name_eq_loose(name, len, tokens[t].name, len)
	          : h1_name_eq(name, len, tokens[t].name, len))
		return t;
	return H1_T_OTHER;
}

uint16_t
h1_token_lookup(const char *name, size_t len)
{
	return token_find(name, len, false);
}

uint16_t
h1_token_lookup_loose(const char *name, size_t len)
{
	return token_find(name, len, true);
}

unsigned
h1_token_flags(uint16_t tok)
{
	return tok < H1_T_MAX ? tokens[tok].flags : 0;
}

const char *
h1_token_name(uint16_t tok)
{
	return tok < H1_T_MAX ? tokens[tok].name : NULL;
}

/* ---- field helpers ---- */

bool
h1_name_eq(const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t i;

	if (a_len != b_len)
		return false;
	/* ASCII letters differ from their other case in bit 0x20 only:
	 * equal bytes, or bytes that differ just there and are letters */
	for (i = 0; i < a_len; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x != y &&
		    ((x ^ y) != 0x20 || (unsigned char)((x | 0x20) - 'a') > 25))
			return false;
	}
	return true;
}

bool
h1_name_eq_loose(const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t i;

	if (a_len != b_len)
		return false;
	for (i = 0; i < a_len; i++) {
		unsigned char x = lower((unsigned char)a[i]);
		unsigned char y = lower((unsigned char)b[i]);

		if (x == '_')
			x = '-';
		if (y == '_')
			y = '-';
		if (x != y)
			return false;
	}
	return true;
}

int
h1_content_length(const char *v, size_t len, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	/* 18 digits stay below 2^63: no overflow, and any signed 64-bit
	 * reader downstream agrees. */
	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n;
	return 0;
}

bool
h1_list_next(const char *v, size_t len, size_t *pos, const char **item,
    size_t *item_len)
{
	size_t i = *pos, s, e;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s) {
			*item = v + s;
			*item_len = e - s;
			*pos = i;
			return true;
		}
	}
	*pos = len;
	return false;
}

bool
h1_list_has_token(const char *v, size_t len, const char *tok, size_t tok_len)
{
	const char *it;
	size_t pos = 0, il;

	while (h1_list_next(v, len, &pos, &it, &il))
		if (h1_name_eq(it, il, tok, tok_len))
			return true;
	return false;
}

size_t
h1_dec(char buf[H1_DEC_MAX], uint64_t v)
{
	size_t k = H1_DEC_MAX;

	do {
		buf[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return k;
}

const char *
h1_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 102:
		return "Processing";
	case 103:
		return "Early Hints";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 203:
		return "Non-Authoritative Information";
	case 204:
		return "No Content";
	case 205:
		return "Reset Content";
	case 206:
		return "Partial Content";
	case 207:
		return "Multi-Status";
	case 300:
		return "Multiple Choices";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 407:
		return "Proxy Authentication Required";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 417:
		return "Expectation Failed";
	case 421:
		return "Misdirected Request";
	case 422:
		return "Unprocessable Content";
	case 425:
		return "Too Early";
	case 426:
		return "Upgrade Required";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 451:
		return "Unavailable For Legal Reasons";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

void
h1_limits_init(struct h1_limits *lim)
{
	lim->max_head = H1_DEFAULT_MAX_HEAD;
	lim->max_line = H1_DEFAULT_MAX_LINE;
	lim->max_fields = H1_DEFAULT_MAX_FIELDS;
	lim->max_target = H1_DEFAULT_MAX_TARGET;
}

/* ---- heads ---- */

/* One parse: the input, the effective limits and the error to fill. */
struct scan {
	const char *buf;
	size_t len;
	size_t end; /* min(len, max_head): bytes that may be looked at */
	size_t max_head, max_line, max_fields, max_target;
	struct h1_error *err;
	int bad_status; /* 400 for requests, 502 for responses */
};

static void
scan_init(struct scan *s, const char *buf, size_t len,
    const struct h1_limits *lim, struct h1_error *err, int bad_status)
{
	struct h1_limits d;

	h1_limits_init(&d);
	s->buf = buf;
	s->len = len;
	s->err = err;
	s->bad_status = bad_status;
	s->max_head =
	    lim != NULL && lim->max_head > 0 ? lim->max_head : d.max_head;
	s->max_line =
	    lim != NULL && lim->max_line > 0 ? lim->max_line : d.max_line;
	s->max_fields =
	    lim != NULL && lim->max_fields > 0 ? lim->max_fields : d.max_fields;
	s->max_target =
	    lim != NULL && lim->max_target > 0 ? lim->max_target : d.max_target;
	if (s->max_head > H1_MAX_HEAD_LIMIT)
		s->max_head = H1_MAX_HEAD_LIMIT;
	s->end = len < s->max_head ? len : s->max_head;
	err->status = 0;
	err->code = NULL;
	err->at = 0;
}

static int
fail(struct scan *s, int status, const char *code, size_t at)
{
	s->err->status = status;
	s->err->code = code;
	s->err->at = at;
	return H1_ERROR;
}

static int
bad(struct scan *s, const char *code, size_t at)
{
	return fail(s, s->bad_status, code, at);
}

/* Byte |at| is needed but not available (at >= end): either the head
 * would be longer than max_head (431 at once, whatever follows), or
 * more input is needed. */
static int
more(struct scan *s, size_t at)
{
	if (at >= s->max_head)
		return fail(s, s->bad_status == 400 ? 431 : s->bad_status,
		    "head_too_large", at);
	return H1_INCOMPLETE;
}

/* The host of a Host field or an absolute-form authority: non-empty,
 * visible ASCII, none of the bytes that would make two parsers read two
 * different hosts (userinfo "@", lists ",", paths "/" and "\"). */
static bool
host_ok(const char *h, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!(cls[c] & C_TARGET) || c == '/' || c == '@' || c == ',' ||
		    c == '\\')
			return false;
	}
	return true;
}

/* A field being parsed: what the head-wide checks need to know. */
struct head_state {
	int minor;
	bool response;
	unsigned n_cl, n_te, n_host;
	uint64_t cl;
	bool conn_close, conn_keep_alive, conn_upgrade;
	bool upgrade_websocket, expect_continue;
	const char *host;
	size_t host_len;
};

/* Applies the per-field rules of the strictness list in http1.h to |f|,
 * which ends at offset |at|. Returns 0 or H1_ERROR. */
static int
field_rules(struct scan *s, struct head_state *h, const struct h1_field *f,
    bool trailing_ows, size_t at)
{
	switch (f->tok) {
	case H1_T_CONTENT_LENGTH:
		/* RFC 9112 §6.3 item 5: a repeat, even of the same value,
		 * or a list is an unrecoverable framing error. */
		if (h->n_cl++ > 0)
			return bad(s, "duplicate_content_length", at);
		if (h1_content_length(f->value, f->value_len, &h->cl) == -1)
			return bad(s, "bad_content_length", at);
		if (h->n_te > 0)
			return bad(s, "content_length_with_transfer_encoding",
			    at);
		break;
	case H1_T_TRANSFER_ENCODING:
		/* RFC 9112 §6.1: only a lone "chunked" can be framed; on
		 * HTTP/1.0 it is faulty framing; with CL it is an error.
		 * No whitespace after it (see http1.h). */
		if (h->n_te++ > 0 || h->minor == 0 || trailing_ows ||
		    !h1_name_eq(f->value, f->value_len, "chunked", 7))
			return bad(s, "bad_transfer_encoding", at);
		if (h->n_cl > 0)
			return bad(s, "content_length_with_transfer_encoding",
			    at);
		break;
	case H1_T_CONNECTION: {
		/* RFC 9112 §9.3, RFC 9110 §7.6.1: one pass over the list */
		const char *it;
		size_t pos = 0, il;

		while (h1_list_next(f->value, f->value_len, &pos, &it, &il)) {
			if (h1_name_eq(it, il, "close", 5))
				h->conn_close = true;
			else if (h1_name_eq(it, il, "keep-alive", 10))
				h->conn_keep_alive = true;
			else if (h1_name_eq(it, il, "upgrade", 7))
				h->conn_upgrade = true;
		}
		break;
	}
	default:
		break;
	}
	if (h->response)
		return 0;
	switch (f->tok) {
	case H1_T_HOST:
		/* RFC 9112 §3.2: exactly one Host */
		if (h->n_host++ > 0)
			return bad(s, "duplicate_host", at);
		if (!host_ok(f->value, f->value_len))
			return bad(s, "bad_host", at);
		h->host = f->value;
		h->host_len = f->value_len;
		break;
	case H1_T_UPGRADE:
		/* h2c was removed by RFC 9113 §3.1; a backend that still
		 * speaks it would see a protocol we never checked. */
		if (h1_list_has_token(f->value, f->value_len, "h2c", 3))
			return bad(s, "h2c_refused", at);
		if (h1_list_has_token(f->value, f->value_len, "websocket", 9))
			h->upgrade_websocket = true;
		break;
	case H1_T_HTTP2_SETTINGS:
		return bad(s, "h2c_refused", at);
	case H1_T_EXPECT:
		if (h1_list_has_token(f->value, f->value_len, "100-continue",
		        12))
			h->expect_continue = true;
		break;
	default:
		break;
	}
	return 0;
}

/* The end of the run of |bit| bytes from |p| (at most |stop|): eight
 * bytes a step while they all have it, then byte by byte. */
static size_t
span(const char *b, size_t p, size_t stop, unsigned char bit)
{
	const unsigned char *u = (const unsigned char *)b;

	while (stop - p >= 8 &&
	    (cls[u[p]] & cls[u[p + 1]] & cls[u[p + 2]] & cls[u[p + 3]] &
	        cls[u[p + 4]] & cls[u[p + 5]] & cls[u[p + 6]] & cls[u[p + 7]] &
	        bit))
		p += 8;
	while (p < stop && (cls[u[p]] & bit))
		p++;
	return p;
}

/*
 * Parses field lines from |*pp| up to and including the empty line that
 * ends the head (RFC 9112 §5). Returns 0 with |*pp| past the head and
 * |*n| fields, H1_INCOMPLETE or H1_ERROR.
 */
static int
parse_fields(struct scan *s, size_t *pp, struct h1_field *fields,
    size_t fields_cap, size_t *n, struct head_state *h)
{
	const char *b = s->buf;
	size_t p = *pp, cap = s->max_fields, ls, ns, ne, vs, ve, lim, stop;
	unsigned char c;
	struct h1_field *f;
	int rc;

	if (fields_cap < cap)
		cap = fields_cap;
	*n = 0;
	for (;;) {
		ls = p;
		if (p >= s->end)
			return more(s, p);
		c = (unsigned char)b[p];
		if (c == '\r') {
			if (p + 1 >= s->end)
				return more(s, p + 1);
			if (b[p + 1] != '\n')
				return bad(s, "bare_cr", p);
			*pp = p + 2;
			return 0;
		}
		if (c == '\n')
			return bad(s, "bare_lf", p);
		if (c == ' ' || c == '\t')
			return bad(s, "obs_fold", p); /* RFC 9112 §5.2 */
		if (*n >= cap)
			return fail(s,
			    s->bad_status == 400 ? 431 : s->bad_status,
			    "too_many_fields", p);
		/* Bytes at or past |lim| make the line longer than max_line,
		 * unless the CR that ends it is there. */
		lim = ls + s->max_line;
		stop = s->end < lim ? s->end : lim;
		/* field-name = token, then ":" at once (RFC 9112 §5.1) */
		ns = p;
		p = span(b, p, stop, C_TCHAR);
		if (p == stop) {
			if (p >= s->end)
				return more(s, p);
			goto too_long;
		}
		ne = p;
		c = (unsigned char)b[p];
		if (c != ':') {
			if (c == '\r' || c == '\n')
				return bad(s, "bad_field", p);
			/* a space before the colon, a CTL, a separator */
			return bad(s, "bad_field_name", p);
		}
		if (ne == ns)
			return bad(s, "bad_field", p);
		p++;
		/* OWS field-value OWS CRLF: one pass over the value bytes
		 * (SP, HTAB, VCHAR, obs-text), then the byte that stopped it */
		while (p < stop && (b[p] == ' ' || b[p] == '\t'))
			p++;
		vs = p;
		p = span(b, p, stop, C_VALUE);
		if (p == stop) {
			if (p >= s->end)
				return more(s, p);
			if (b[p] != '\r')
				goto too_long;
		}
		c = (unsigned char)b[p];
		if (c != '\r')
			return bad(s, c == '\n' ? "bare_lf" : "control_byte",
			    p);
		ve = p;
		while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
			ve--;
		if (p + 1 >= s->end)
			return more(s, p + 1);
		if (b[p + 1] != '\n')
			return bad(s, "bare_cr", p);
		f = &fields[(*n)++];
		f->name = b + ns;
		f->name_len = ne - ns;
		f->value = b + vs;
		f->value_len = ve - vs;
		f->tok = h1_token_lookup(f->name, f->name_len);
		if (f->tok != H1_T_OTHER &&
		    (rc = field_rules(s, h, f, ve != p, ls)) != 0)
			return rc;
		p += 2;
	}
too_long:
	return fail(s, s->bad_status == 400 ? 431 : s->bad_status,
	    "field_too_large", p);
}

struct method_def {
	const char *name;
	size_t len;
	enum h1_method m;
};

static const struct method_def methods[] = {
    {"GET", 3, H1_M_GET},
    {"HEAD", 4, H1_M_HEAD},
    {"POST", 4, H1_M_POST},
    {"PUT", 3, H1_M_PUT},
    {"PATCH", 5, H1_M_PATCH},
    {"DELETE", 6, H1_M_DELETE},
    {"OPTIONS", 7, H1_M_OPTIONS},
};

/*
 * HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF (RFC 9112 §2.3), at
 * |*pp|. Each byte is judged as it arrives, so junk is refused before the
 * line ends. Returns 0 with |*minor| (505 for a well-formed version other
 * than 1.0 and 1.1, as an error), H1_INCOMPLETE or H1_ERROR.
 */
static int
parse_version_crlf(struct scan *s, size_t *pp, int *major, int *minor)
{
	static const char pat[] = "HTTP/0.0";
	const char *b = s->buf;
	size_t p = *pp, i;
	unsigned char c;

	for (i = 0; i < 10; i++) {
		if (p + i >= s->end)
			return more(s, p + i);
		c = (unsigned char)b[p + i];
		if (i < 8) {
			bool okc = pat[i] == '0' ? (c >= '0' && c <= '9')
			                         : c == (unsigned char)pat[i];

			if (!okc)
				return bad(s,
				    c == ' ' || c == '\r' || c == '\n'
				        ? "bad_request_line"
				        : "bad_version",
				    p + i);
		} else if (i == 8 && c != '\r') {
			return bad(s, c == '\n' ? "bare_lf" : "bad_version",
			    p + i);
		} else if (i == 9 && c != '\n') {
			return bad(s, "bare_cr", p + i - 1);
		}
	}
	*major = b[p + 5] - '0';
	*minor = b[p + 7] - '0';
	*pp = p + 10;
	return 0;
}

int
h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
    struct h1_request *out, struct h1_field *fields, size_t fields_cap,
    struct h1_error *err)
{
	struct scan s;
	struct head_state h;
	const char *b = buf;
	size_t p = 0, ms, ts, vs, i, n;
	unsigned char c;
	int major, minor, rc;

	scan_init(&s, buf, len, lim, err, 400);
	/* RFC 9112 §2.2: empty lines before the request-line are ignored */
	for (;;) {
		if (p >= s.end)
			return more(&s, p);
		if (b[p] == '\n')
			return bad(&s, "bare_lf", p);
		if (b[p] != '\r')
			break;
		if (p + 1 >= s.end)
			return more(&s, p + 1);
		if (b[p + 1] != '\n')
			return bad(&s, "bare_cr", p);
		p += 2;
	}
	/* method SP */
	ms = p;
	for (;;) {
		if (p >= s.end)
			return more(&s, p);
		c = (unsigned char)b[p];
		if (!(cls[c] & C_TCHAR))
			break;
		p++;
	}
	if (c != ' ' || p == ms)
		return bad(&s,
		    c == ' ' || c == '\r' || c == '\n' ? "bad_request_line"
		                                       : "bad_method",
		    p);
	/* request-target SP: visible ASCII, no fragment (RFC 9112 §3.2) */
	ts = ++p;
	for (;;) {
		if (p >= s.end)
			return more(&s, p);
		c = (unsigned char)b[p];
		if (c == ' ')
			break;
		if (p - ts >= s.max_target)
			return fail(&s, 414, "uri_too_long", p);
		if (!(cls[c] & C_TARGET))
			return bad(&s,
			    c == '\r' || c == '\n' ? "bad_request_line"
			                           : "bad_target",
			    p);
		p++;
	}
	if (p == ts)
		return bad(&s, "bad_request_line", p);
	vs = ++p;
	if ((rc = parse_version_crlf(&s, &p, &major, &minor)) != 0)
		return rc;
	/* Judged at the end of the line, version first: an HTTP/2 preface
	 * gets 505 rather than 501 for its PRI method. */
	if (major != 1 || minor > 1)
		return fail(&s, 505, "version_not_supported", vs);
	memset(out, 0, sizeof(*out));
	out->method = b + ms;
	out->method_len = ts - 1 - ms;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].len == out->method_len &&
		    memcmp(methods[i].name, out->method, out->method_len) == 0)
			out->meth = methods[i].m;
	if (out->meth == 0)
		return fail(&s, 501, "method_not_supported", ms);
	out->target = b + ts;
	out->target_len = vs - 1 - ts;
	out->minor = minor;
	if (out->target[0] == '/') {
		out->path = out->target;
		out->path_len = out->target_len;
	} else {
		/* absolute-form (RFC 9112 §3.2.2): http or https with an
		 * authority; the path that follows may be empty. */
		const char *t = out->target, *a, *e = t + out->target_len;
		size_t sl = 0;

		if (out->target_len > 7 && h1_name_eq(t, 7, "http://", 7))
			sl = 7;
		else if (out->target_len > 8 && h1_name_eq(t, 8, "https://", 8))
			sl = 8;
		if (sl == 0)
			return bad(&s, "bad_target", ts);
		a = t + sl;
		for (out->path = a; out->path < e; out->path++)
			if (*out->path == '/' || *out->path == '?')
				break;
		if (!host_ok(a, (size_t)(out->path - a)))
			return bad(&s, "bad_target", ts);
		out->path_len = (size_t)(e - out->path);
		out->authority = a;
		out->authority_len = (size_t)(out->path - a);
		out->absolute_form = true;
	}

	memset(&h, 0, sizeof(h));
	h.minor = minor;
	if ((rc = parse_fields(&s, &p, fields, fields_cap, &n, &h)) != 0)
		return rc;
	if (h.n_host == 0)
		return bad(&s, "missing_host", p);
	out->fields = fields;
	out->n_fields = n;
	out->host = h.host;
	out->host_len = h.host_len;
	if (!out->absolute_form) {
		out->authority = h.host;
		out->authority_len = h.host_len;
	}
	if (h.n_te > 0) {
		out->body = H1_BODY_CHUNKED;
	} else if (h.n_cl > 0) {
		out->body = H1_BODY_LENGTH;
		out->content_length = h.cl;
	}
	out->keep_alive =
	    minor == 1 ? !h.conn_close : h.conn_keep_alive && !h.conn_close;
	out->expect_continue = h.expect_continue;
	out->upgrade_websocket = h.upgrade_websocket && h.conn_upgrade &&
	    minor == 1 && out->meth == H1_M_GET;
	return (int)p;
}

int
h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim,
    bool head_request, struct h1_response *out, struct h1_field *fields,
    size_t fields_cap, struct h1_error *err)
{
	struct scan s;
	struct head_state h;
	const char *b = buf;
	size_t p = 0, i, n, rs;
	unsigned char c;
	int minor, rc, st;

	scan_init(&s, buf, len, lim, err, 502);
	/* status-line = HTTP-version SP status-code SP [ reason-phrase ]
	 * (RFC 9112 §4); the version as in a request, without its CRLF. */
	for (i = 0; i < 9; i++) {
		static const char pat[] = "HTTP/1.0 ";

		if (p + i >= s.end)
			return more(&s, p + i);
		c = (unsigned char)b[i];
		if (pat[i] == '0' ? !(c == '0' || c == '1')
		                  : c != (unsigned char)pat[i])
			return bad(&s, "bad_status_line", i);
	}
	minor = b[7] - '0';
	st = 0;
	for (p = 9; p < 12; p++) {
		if (p >= s.end)
			return more(&s, p);
		c = (unsigned char)b[p];
		if (c < '0' || c > '9' || (p == 9 && (c < '1' || c > '5')))
			return bad(&s, "bad_status", p);
		st = st * 10 + (c - '0');
	}
	/* The SP before an empty reason is often left out: accepted. */
	if (p >= s.end)
		return more(&s, p);
	rs = p;
	if (b[p] == ' ') {
		rs = ++p;
		for (;;) {
			if (p >= s.end)
				return more(&s, p);
			c = (unsigned char)b[p];
			if (c == '\r')
				break;
			if (c == '\n')
				return bad(&s, "bare_lf", p);
			if (!(cls[c] & C_VALUE))
				return bad(&s, "control_byte", p);
			if (p - rs >= s.max_line)
				return bad(&s, "field_too_large", p);
			p++;
		}
	} else if (b[p] != '\r') {
		return bad(&s, b[p] == '\n' ? "bare_lf" : "bad_status_line", p);
	}
	if (p + 1 >= s.end)
		return more(&s, p + 1);
	if (b[p + 1] != '\n')
		return bad(&s, "bare_cr", p);
	memset(out, 0, sizeof(*out));
	out->minor = minor;
	out->status = st;
	out->reason = b + rs;
	out->reason_len = p - rs;
	p += 2;

	memset(&h, 0, sizeof(h));
	h.minor = minor;
	h.response = true;
	if ((rc = parse_fields(&s, &p, fields, fields_cap, &n, &h)) != 0)
		return rc;
	out->fields = fields;
	out->n_fields = n;
	out->has_content_length = h.n_cl > 0;
	out->content_length = h.cl;
	out->chunked = h.n_te > 0;
	/* RFC 9112 §6.3: the framing, in the RFC's order */
	if (head_request || st < 200 || st == 204 || st == 304)
		out->body = H1_BODY_NONE;
	else if (out->chunked)
		out->body = H1_BODY_CHUNKED;
	else if (out->has_content_length)
		out->body = H1_BODY_LENGTH;
	else
		out->body = H1_BODY_CLOSE;
	out->keep_alive =
	    (minor == 1 ? !h.conn_close : h.conn_keep_alive && !h.conn_close) &&
	    st != 101 && out->body != H1_BODY_CLOSE;
	return (int)p;
}

/* ---- chunked bodies (RFC 9112 §7.1) ---- */

enum chunk_state {
	CS_SIZE = 0, /* chunk-size digits */
	CS_SIZE_WS,  /* BWS after the size, before ";" */
	CS_EXT,      /* inside chunk-ext, up to CR */
	CS_SIZE_LF,  /* CR seen on the size line */
	CS_DATA,     /* |left| data bytes */
	CS_DATA_CR,  /* the CRLF after data */
	CS_DATA_LF,
	CS_TR_START, /* start of a trailer line, or the final CRLF */
	CS_TR_NAME,
	CS_TR_VALUE,
	CS_TR_LF,  /* CR seen at the end of a trailer line */
	CS_END_LF, /* CR seen on the final empty line */
	CS_DONE,
	CS_ERROR
};

void
h1_chunked_init(struct h1_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CS_SIZE;
}

static enum h1_chunk_status
chunk_fail(struct h1_chunked *c, const char *code, size_t at, size_t *consumed)
{
	c->state = CS_ERROR;
	c->code = code;
	*consumed = at;
	return H1_CHUNK_ERROR;
}

static int
hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

enum h1_chunk_status
h1_chunked_step(struct h1_chunked *c, const char *buf, size_t len,
    size_t *consumed, const char **data, size_t *data_len)
{
	size_t p = 0, n;
	unsigned char ch;
	uint8_t st;
	int v;

	*data = NULL;
	*data_len = 0;
	if (c->state == CS_DONE) {
		*consumed = 0;
		return H1_CHUNK_DONE;
	}
	if (c->state == CS_ERROR) {
		*consumed = 0;
		return H1_CHUNK_ERROR;
	}
	while (p < len) {
		ch = (unsigned char)buf[p];
		st = c->state;
		/* Every framing byte counts against its size line or the
		 * trailer section (RFC 9112 §7.1.1: a recipient may limit
		 * extensions; §7.1.2 trailers). */
		if (st <= CS_EXT && ch != '\r' &&
		    ++c->line_len > H1_CHUNK_LINE_MAX)
			return chunk_fail(c, "chunk_line_too_long", p,
			    consumed);
		if (st >= CS_TR_START && st <= CS_END_LF &&
		    ++c->trailer_len > H1_TRAILER_MAX)
			return chunk_fail(c, "trailer_too_large", p, consumed);
		switch (st) {
		case CS_SIZE:
			if ((v = hexval(ch)) >= 0) {
				/* 16 hex digits fill 64 bits: never wraps */
				if (++c->digits > 16)
					return chunk_fail(c,
					    "chunk_size_too_large", p,
					    consumed);
				c->left = c->left << 4 | (uint64_t)v;
				break;
			}
			if (ch == '\n')
				return chunk_fail(c, "bare_lf", p, consumed);
			if (c->digits == 0)
				return chunk_fail(c, "bad_chunk_size", p,
				    consumed);
			if (ch == '\r')
				c->state = CS_SIZE_LF;
			else if (ch == ';')
				c->state = CS_EXT;
			else if (ch == ' ' || ch == '\t')
				c->state = CS_SIZE_WS; /* BWS, §7.1.1 */
			else
				return chunk_fail(c, "bad_chunk_size", p,
				    consumed);
			break;
		case CS_SIZE_WS:
			if (ch == ';')
				c->state = CS_EXT;
			else if (ch != ' ' && ch != '\t')
				return chunk_fail(c, "bad_chunk_size", p,
				    consumed);
			break;
		case CS_EXT:
			/* chunk-ext: ignored, but visible bytes only */
			if (ch == '\r')
				c->state = CS_SIZE_LF;
			else if (!(cls[ch] & C_VALUE))
				return chunk_fail(c,
				    ch == '\n' ? "bare_lf" : "bad_chunk_ext", p,
				    consumed);
			break;
		case CS_SIZE_LF:
			if (ch != '\n')
				return chunk_fail(c, "bare_cr", p, consumed);
			c->line_len = 0;
			c->digits = 0;
			c->state = c->left == 0 ? CS_TR_START : CS_DATA;
			break;
		case CS_DATA:
			n = len - p;
			if (n > c->left)
				n = (size_t)c->left;
			c->left -= n;
			if (c->left == 0)
				c->state = CS_DATA_CR;
			*data = buf + p;
			*data_len = n;
			*consumed = p + n;
			return H1_CHUNK_DATA;
		case CS_DATA_CR:
			if (ch != '\r')
				return chunk_fail(c, "bad_chunk_end", p,
				    consumed);
			c->state = CS_DATA_LF;
			break;
		case CS_DATA_LF:
			if (ch != '\n')
				return chunk_fail(c, "bare_cr", p, consumed);
			c->state = CS_SIZE;
			c->left = 0;
			break;
		case CS_TR_START:
			if (ch == '\r') {
				c->state = CS_END_LF;
				break;
			}
			if (!(cls[ch] & C_TCHAR))
				return chunk_fail(c,
				    ch == '\n' ? "bare_lf"
				        : ch == ' ' || ch == '\t'
				        ? "obs_fold"
				        : "bad_trailer",
				    p, consumed);
			if (++c->n_trailers > H1_TRAILER_FIELDS)
				return chunk_fail(c, "trailer_too_large", p,
				    consumed);
			c->state = CS_TR_NAME;
			break;
		case CS_TR_NAME:
			if (ch == ':')
				c->state = CS_TR_VALUE;
			else if (!(cls[ch] & C_TCHAR))
				return chunk_fail(c, "bad_trailer", p,
				    consumed);
			break;
		case CS_TR_VALUE:
			if (ch == '\r')
				c->state = CS_TR_LF;
			else if (!(cls[ch] & C_VALUE))
				return chunk_fail(c,
				    ch == '\n' ? "bare_lf" : "bad_trailer", p,
				    consumed);
			break;
		case CS_TR_LF:
			if (ch != '\n')
				return chunk_fail(c, "bare_cr", p, consumed);
			c->state = CS_TR_START;
			break;
		case CS_END_LF:
			if (ch != '\n')
				return chunk_fail(c, "bare_cr", p, consumed);
			c->state = CS_DONE;
			*consumed = p + 1;
			return H1_CHUNK_DONE;
		default:
			return chunk_fail(c, "bad_chunk", p, consumed);
		}
		p++;
	}
	*consumed = p;
	return H1_CHUNK_NEED;
}
