/* SPDX-License-Identifier: MIT */
/* The pure HTTP/1.1 codec: heads, chunked bodies, field helpers (http1.h). */
#include <string.h>

#include "http1.h"

/* ---- character classes ---- */

bool
h1_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
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

static uint16_t
token_find(const char *name, size_t len, bool loose)
{
	uint16_t t;

	if (len == 0 || len > 32)
		return H1_T_OTHER;
	for (t = 1; t < H1_T_MAX; t++) {
		if (tokens[t].len != len)
			continue;
		if (loose ? h1_name_eq_loose(name, len, tokens[t].name, len)
		          : h1_name_eq(name, len, tokens[t].name, len))
			return t;
	}
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
	for (i = 0; i < a_len; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
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

/* ---- heads (being written) ---- */

int
h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
    struct h1_request *out, struct h1_field *fields, size_t fields_cap,
    struct h1_error *err)
{
	err->status = 501;
	err->code = "not_implemented";
	err->at = 0;
	return H1_ERROR;
}

int
h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim,
    bool head_request, struct h1_response *out, struct h1_field *fields,
    size_t fields_cap, struct h1_error *err)
{
	err->status = 502;
	err->code = "not_implemented";
	err->at = 0;
	return H1_ERROR;
}

void
h1_chunked_init(struct h1_chunked *c)
{
	memset(c, 0, sizeof(*c));
}

enum h1_chunk_status
h1_chunked_step(struct h1_chunked *c, const char *buf, size_t len,
    size_t *consumed, const char **data, size_t *data_len)
{
	*consumed = 0;
	c->code = "not_implemented";
	return H1_CHUNK_ERROR;
}
