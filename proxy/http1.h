/* SPDX-License-Identifier: MIT */
/* The pure HTTP/1.1 codec for both directions: request and response heads,
 * the chunked decoder, and the field helpers. No libevent, no allocation, no
 * I/O: every result is a view into the caller's buffer. */
#ifndef PROXY_HTTP1_H
#define PROXY_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The strictness rules, decided once for both directions (each is written
 * again where the code enforces it):
 *
 * - Lines end in CRLF only. A bare LF or a CR not followed by LF is an
 *   error, never a line end (RFC 9112 §2.2 allows recipients to accept a
 *   bare LF; a proxy that does disagrees with its backend).
 * - No NUL or other CTL byte anywhere in a head except HTAB inside field
 *   values (RFC 9110 §5.5). obs-text (0x80-0xff) is allowed in values and
 *   the reason phrase, never in names, methods or request targets.
 * - Empty lines (CRLF) before a request-line are skipped (RFC 9112 §2.2);
 *   they count toward max_head. Never before a status-line.
 * - request-line = method SP request-target SP HTTP-version, exactly one
 *   SP each (RFC 9112 §3). HTTP-version is "HTTP/1.0" or "HTTP/1.1"; any
 *   other "HTTP/<d>.<d>" is 505; anything else 400 (RFC 9112 §2.3).
 * - Methods: GET HEAD POST PUT PATCH DELETE OPTIONS. Any other token
 *   (CONNECT and TRACE included: bearerd never opens tunnels to a host the
 *   client names) is 501 (RFC 9110 §9.1). The version is judged first, so
 *   an HTTP/2 preface ("PRI * HTTP/2.0") gets 505.
 * - request-target: origin-form or absolute-form with an http or https
 *   scheme (RFC 9112 §3.2); no asterisk-form, no authority-form, no "#",
 *   only visible ASCII. Longer than max_target: 414.
 * - Field lines: name = 1*tchar immediately followed by ":" (a space before
 *   the colon is 400, RFC 9112 §5.1); OWS around the value is trimmed; a
 *   line starting with SP or HTAB (obs-fold) is 400 (RFC 9112 §5.2). A
 *   field line longer than max_line, more than max_fields fields, or a
 *   head longer than max_head: 431 (RFC 6585 §5).
 * - Content-Length: one field, 1-18 ASCII digits, nothing else (no sign,
 *   no list, no repeat even of the same value) (RFC 9112 §6.3 item 5).
 * - Transfer-Encoding: one field whose value is the single coding
 *   "chunked", compared case-insensitively (RFC 9112 §7), with no
 *   whitespace after it: trailing OWS is trimmed by the RFC (§5) but not
 *   by every parser, and "chunked " is a known way to make two parsers
 *   disagree, so it is refused. Any other coding, a list, or a second
 *   field is refused with 400 (502 from an upstream): we would have to
 *   guess the framing (RFC 9112 §6.1, §6.3 item 4).
 * - Content-Length together with Transfer-Encoding is refused in both
 *   directions (RFC 9112 §6.1: "ought to be handled as an error"), and
 *   Transfer-Encoding in an HTTP/1.0 message is faulty framing (§6.1).
 * - Requests: exactly one Host field, non-empty, without SP, HTAB, "/",
 *   "@", "," or "\" (RFC 9112 §3.2: a missing or repeated Host is 400; we
 *   require it on HTTP/1.0 too). Upgrade naming h2c, or any
 *   HTTP2-Settings field, is refused (RFC 9113 §3.1 removed h2c).
 * - Responses: status 100-599; 1xx, 204 and 304 have no body, nor does any
 *   response to HEAD (RFC 9112 §6.3 items 1-2); chunked, else
 *   Content-Length, else the body runs to the connection close (§6.3 item
 *   8).
 * - Chunked bodies (RFC 9112 §7.1): chunk-size is 1-16 hex digits (so it
 *   never wraps 64 bits), optionally followed by chunk extensions
 *   (";"-led, visible bytes, at most H1_CHUNK_LINE_MAX bytes per line),
 *   which are ignored. Whitespace after the size is allowed only before
 *   ";". Data is followed by exactly CRLF. Trailer fields are checked like
 *   head fields, limited to H1_TRAILER_MAX bytes in all, and dropped.
 */

/* Parser results that are not a head length. */
#define H1_INCOMPLETE (-2) /* more bytes are needed; nothing is wrong yet */
#define H1_ERROR (-1)      /* refused: see struct h1_error */

/* Defaults for struct h1_limits (h1_limits_init). */
#define H1_DEFAULT_MAX_HEAD 16384   /* a whole head, CRLFCRLF included */
#define H1_DEFAULT_MAX_LINE 8192    /* one field line, CRLF excluded */
#define H1_DEFAULT_MAX_FIELDS 100   /* fields in one head */
#define H1_DEFAULT_MAX_TARGET 8192  /* the request-target */
#define H1_MAX_HEAD_LIMIT (1 << 24) /* no limit may exceed this */

#define H1_CHUNK_LINE_MAX 4096 /* a chunk-size line with its extensions */
#define H1_TRAILER_MAX 8192    /* the whole trailer section */
#define H1_TRAILER_FIELDS 100  /* trailer fields */

/* Limits on one head; every one is checked before the byte past it is
 * looked at. A zero member means its H1_DEFAULT_* value. */
struct h1_limits {
	size_t max_head;   /* bytes, empty lines and CRLFCRLF included */
	size_t max_line;   /* bytes of one field line without its CRLF */
	size_t max_fields; /* field lines */
	size_t max_target; /* bytes of the request-target */
};

/* Sets every limit of |lim| to its default. */
void h1_limits_init(struct h1_limits *lim);

/* Why a head or a chunked body was refused. |code| is a static, stable
 * problem code ("bare_lf", "header_too_large", ...); |status| the HTTP
 * status to answer a client with (400, 414, 431, 501 or 505; 502 for a
 * response, which is never answered to anyone but means "bad gateway");
 * |at| the offset of the byte that decided it. */
struct h1_error {
	int status;
	const char *code;
	size_t at;
};

/* ---- the header token table ---- */

/* Field names the proxy acts on. The values are stable; 0 is any other
 * name. Each has flags (h1_token_flags) and a canonical spelling
 * (h1_token_name). */
enum h1_token {
	H1_T_OTHER = 0,
	H1_T_AUTHORIZATION,
	H1_T_CF_CONNECTING_IP,
	H1_T_CLIENT_IP,
	H1_T_CONNECTION,
	H1_T_CONTENT_LENGTH,
	H1_T_CONTENT_TYPE,
	H1_T_COOKIE,
	H1_T_DATE,
	H1_T_EXPECT,
	H1_T_FORWARDED,
	H1_T_HOST,
	H1_T_HTTP2_SETTINGS,
	H1_T_KEEP_ALIVE,
	H1_T_LOCATION,
	H1_T_ORIGIN,
	H1_T_PROXY_AUTHENTICATE,
	H1_T_PROXY_AUTHORIZATION,
	H1_T_PROXY_CONNECTION,
	H1_T_REFERER,
	H1_T_SEC_FETCH_MODE,
	H1_T_SEC_FETCH_SITE,
	H1_T_SEC_WEBSOCKET_ACCEPT,
	H1_T_SEC_WEBSOCKET_EXTENSIONS,
	H1_T_SEC_WEBSOCKET_KEY,
	H1_T_SEC_WEBSOCKET_PROTOCOL,
	H1_T_SEC_WEBSOCKET_VERSION,
	H1_T_SERVER,
	H1_T_SET_COOKIE,
	H1_T_TE,
	H1_T_TRAILER,
	H1_T_TRANSFER_ENCODING,
	H1_T_TRUE_CLIENT_IP,
	H1_T_UPGRADE,
	H1_T_VIA,
	H1_T_WWW_AUTHENTICATE,
	H1_T_X_CLIENT_IP,
	H1_T_X_CLUSTER_CLIENT_IP,
	H1_T_X_FORWARDED_FOR,
	H1_T_X_FORWARDED_HOST,
	H1_T_X_FORWARDED_PORT,
	H1_T_X_FORWARDED_PREFIX,
	H1_T_X_FORWARDED_PROTO,
	H1_T_X_REAL_IP,
	H1_T_X_REQUEST_ID,
	H1_T_MAX
};

/* Token flags. */
/* Never forwarded upstream as the client sent it: hop-by-hop (RFC 9110
 * §7.6.1), framing and routing the proxy re-creates (Content-Length,
 * Transfer-Encoding, Host, Expect), credentials it replaces
 * (Authorization, Proxy-Authorization) and HTTP/2 upgrade fields. */
#define H1_DROP_REQ 0x01u
/* Never relayed to the client as the upstream sent it: hop-by-hop and
 * framing the proxy re-creates (RFC 9110 §7.6.1, §11.7.1). On a 101 the
 * caller keeps Upgrade and Connection. */
#define H1_DROP_RES 0x02u
/* A client-address or forwarding field: taken from a trusted forwarder
 * only, otherwise dropped and re-created (RFC 7239, X-Forwarded-*). */
#define H1_FORWARDING 0x04u

/* The token of field name |name| (|len| bytes), compared ASCII
 * case-insensitively, exact otherwise; H1_T_OTHER if none. */
uint16_t h1_token_lookup(const char *name, size_t len);

/* Like h1_token_lookup, but "_" in |name| matches "-" too: the loose
 * comparison for dropping fields that a CGI-style backend would read as the
 * same variable (X_Forwarded_For is HTTP_X_FORWARDED_FOR). */
uint16_t h1_token_lookup_loose(const char *name, size_t len);

/* The H1_DROP_REQ/H1_DROP_RES/H1_FORWARDING flags of |tok| (0 for
 * H1_T_OTHER or out of range). */
unsigned h1_token_flags(uint16_t tok);

/* The canonical spelling of |tok| ("Content-Length"), or NULL for
 * H1_T_OTHER or out of range. Static storage. */
const char *h1_token_name(uint16_t tok);

/* ---- heads ---- */

/* One field line: views into the parsed buffer, value with OWS trimmed. */
struct h1_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	uint16_t tok; /* enum h1_token (exact lookup), H1_T_OTHER if none */
};

enum h1_method {
	H1_M_GET = 1,
	H1_M_HEAD,
	H1_M_POST,
	H1_M_PUT,
	H1_M_PATCH,
	H1_M_DELETE,
	H1_M_OPTIONS
};

enum h1_body {
	H1_BODY_NONE = 0, /* no body follows the head */
	H1_BODY_LENGTH,   /* content_length bytes follow (may be 0) */
	H1_BODY_CHUNKED,  /* chunked: decode with h1_chunked_step */
	H1_BODY_CLOSE     /* responses: the body runs to the close */
};

/* A parsed request head. Every pointer is a view into the parsed buffer. */
struct h1_request {
	const char *method;
	size_t method_len;
	enum h1_method meth;
	/* The request-target as sent. */
	const char *target;
	size_t target_len;
	bool absolute_form; /* "http://host/path" (RFC 9112 §3.2.2) */
	/* The origin-form part of the target: the target itself, or the part
	 * of an absolute-form target after its authority, which may be empty
	 * or start with "?" (the caller then supplies the "/", RFC 9112
	 * §3.2.1 and §3.3). */
	const char *path;
	size_t path_len;
	/* The authority: an absolute-form target's, else the Host value
	 * (RFC 9112 §3.2.2: the target's authority wins). */
	const char *authority;
	size_t authority_len;
	/* The Host field's value. */
	const char *host;
	size_t host_len;
	int minor;               /* 0 or 1: HTTP/1.minor */
	struct h1_field *fields; /* the caller's array */
	size_t n_fields;
	enum h1_body body;       /* NONE, LENGTH or CHUNKED */
	uint64_t content_length; /* with H1_BODY_LENGTH */
	/* Persistence as the client asked (RFC 9112 §9.3): HTTP/1.1 unless
	 * "Connection: close"; HTTP/1.0 only with "keep-alive". */
	bool keep_alive;
	bool expect_continue; /* Expect lists 100-continue (RFC 9110 §10.1.1) */
	/* A WebSocket opening handshake (RFC 6455 §4.1): GET, HTTP/1.1,
	 * Upgrade lists "websocket" and Connection lists "upgrade". */
	bool upgrade_websocket;
};

/*
 * Parses the request head at the start of |buf| (|len| bytes) under |lim|
 * (NULL: defaults), filling |out| and up to |fields_cap| entries of
 * |fields| (the smaller of |fields_cap| and max_fields bounds the count).
 * Returns the head's length (> 0, leading empty lines and the final CRLF
 * included) when it is complete and valid, H1_INCOMPLETE when more bytes
 * are needed and none seen so far is wrong, or H1_ERROR with |err| set.
 * Stateless: call again with more bytes. A prefix of any input gets either
 * H1_INCOMPLETE or the same verdict as the whole input. |out| is
 * unspecified unless a length is returned.
 */
int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
    struct h1_request *out, struct h1_field *fields, size_t fields_cap,
    struct h1_error *err);

/* A parsed response head. Every pointer is a view into the parsed buffer. */
struct h1_response {
	int minor;          /* 0 or 1 */
	int status;         /* 100-599 */
	const char *reason; /* may be empty */
	size_t reason_len;
	struct h1_field *fields; /* the caller's array */
	size_t n_fields;
	/* How the body is framed (RFC 9112 §6.3). NONE for 1xx, 204, 304
	 * and any response to HEAD; a 101's following bytes belong to the
	 * new protocol. */
	enum h1_body body;
	/* The Content-Length field, whatever |body| says (a HEAD or 304
	 * answer may copy it): has_content_length tells whether present. */
	bool has_content_length;
	uint64_t content_length;
	bool chunked; /* Transfer-Encoding: chunked was present */
	/* The connection may carry another response (RFC 9112 §9.3): not
	 * for HTTP/1.0 without keep-alive, "Connection: close", a 101, or a
	 * body that runs to the close. */
	bool keep_alive;
};

/*
 * Parses the response head at the start of |buf| like h1_parse_request.
 * |head_request|: the request was HEAD, so no body follows whatever the
 * fields say. Interim (1xx other than 101) heads are returned like any
 * other: the caller skips them and parses again after them. Errors carry
 * status 502.
 */
int h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim,
    bool head_request, struct h1_response *out, struct h1_field *fields,
    size_t fields_cap, struct h1_error *err);

/* ---- chunked bodies ---- */

enum h1_chunk_status {
	H1_CHUNK_NEED = 0, /* every byte given was framing: give more */
	H1_CHUNK_DATA,     /* one span of body data (a view) */
	H1_CHUNK_DONE,     /* the last chunk and the trailers are consumed */
	H1_CHUNK_ERROR     /* malformed: |code| says why; stop */
};

/* The decoder's state: small, caller-owned, no pointers into input. */
struct h1_chunked {
	uint64_t left;        /* data bytes left in the current chunk */
	uint32_t line_len;    /* bytes of the current size line */
	uint32_t trailer_len; /* bytes of the trailer section so far */
	uint16_t n_trailers;
	uint8_t state;
	uint8_t digits;
	const char *code; /* with H1_CHUNK_ERROR: a static problem code */
};

/* Readies |c| for the first chunk-size line. */
void h1_chunked_init(struct h1_chunked *c);

/*
 * Decodes from |buf| (|len| bytes, any split of the body). Sets |*consumed|
 * to the bytes used: framing, plus for H1_CHUNK_DATA the data span
 * |*data|, |*data_len| (a view into |buf|, non-empty). Returns
 * H1_CHUNK_NEED when all of |buf| was framing, H1_CHUNK_DONE once the body
 * ended (bytes after it stay unconsumed), H1_CHUNK_ERROR with |c|->code.
 * Call again with the unconsumed rest. The bytes decoded are the same
 * whatever the split.
 */
enum h1_chunk_status h1_chunked_step(struct h1_chunked *c, const char *buf,
    size_t len, size_t *consumed, const char **data, size_t *data_len);

/* ---- field helpers ---- */

/* Content-Length (RFC 9112 §6.3 item 5, decided once): 1-18 ASCII digits
 * and nothing else. Returns 0 with |*out| set, or -1. */
int h1_content_length(const char *v, size_t len, uint64_t *out);

/* The next element of a comma-separated list (RFC 9110 §5.6.1) in |v|
 * (|len| bytes) from |*pos| on: OWS trimmed, empty elements skipped.
 * Returns true with the element in |*item|, |*item_len| and |*pos| moved
 * past it, or false at the end. Start with |*pos| = 0. Quoted strings
 * are not special (the lists we read hold tokens). */
bool h1_list_next(const char *v, size_t len, size_t *pos, const char **item,
    size_t *item_len);

/* Whether list |v| has an element equal to |tok| (|tok_len| bytes), ASCII
 * case-insensitively. */
bool h1_list_has_token(const char *v, size_t len, const char *tok,
    size_t tok_len);

/* ASCII case-insensitive equality of two names. */
bool h1_name_eq(const char *a, size_t a_len, const char *b, size_t b_len);

/* Like h1_name_eq, and "_" equals "-" (see h1_token_lookup_loose). */
bool h1_name_eq_loose(const char *a, size_t a_len, const char *b, size_t b_len);

/* tchar (RFC 9110 §5.6.2): a byte of a token, a method or a field name. */
bool h1_is_tchar(unsigned char c);

/* The reason phrase of |status| (RFC 9110 §15), "Unknown" for a code not in
 * the table. Static storage; the one status text table of bearerd. */
const char *h1_reason(int status);

/* |v| in decimal (a status, a Content-Length) at the end of |buf|: returns
 * the index of its first digit; the digits run to H1_DEC_MAX. */
#define H1_DEC_MAX 20
size_t h1_dec(char buf[H1_DEC_MAX], uint64_t v);

#endif /* PROXY_HTTP1_H */
