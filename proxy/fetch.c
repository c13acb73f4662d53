/* SPDX-License-Identifier: MIT */
/* GET a small resource (the issuer's token or JWKS) over an upstream pool. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "fetch.h"

struct fetch {
	struct up_req *up; /* in flight; NULL once done */
	fetch_done_fn *done;
	void *arg;
	size_t body_max;
	struct evbuffer *body; /* owned */
	int status;
	bool too_large;
	char set_cookie[FETCH_MAX_SET_COOKIE];
	size_t set_cookie_len;
};

static void
fetch_free(struct fetch *f)
{
	if (f == NULL)
		return;
	if (f->body != NULL) {
		/* a token endpoint's body is a credential */
		size_t n = evbuffer_get_length(f->body);
		unsigned char *p = n > 0 ? evbuffer_pullup(f->body, -1) : NULL;

		if (p != NULL)
			OPENSSL_cleanse(p, n);
		evbuffer_free(f->body);
	}
	OPENSSL_cleanse(f->set_cookie, sizeof(f->set_cookie));
	free(f);
}

static void
on_head(void *arg, int status, const struct up_header *h, size_t n_h,
    bool has_body, int64_t content_length, bool chunked)
{
	struct fetch *f = arg;
	size_t i;

	(void)has_body;
	(void)chunked;
	f->status = status;
	if (content_length > 0 && (uint64_t)content_length > f->body_max)
		f->too_large = true;
	for (i = 0; i < n_h; i++) {
		size_t need = 12 + h[i].value_len + 2;

		if (h[i].name_len != 10 ||
		    strncasecmp(h[i].name, "set-cookie", 10) != 0)
			continue;
		/* all or nothing per line: never half a cookie */
		if (need > sizeof(f->set_cookie) - f->set_cookie_len)
			break;
		memcpy(f->set_cookie + f->set_cookie_len, "Set-Cookie: ", 12);
		memcpy(f->set_cookie + f->set_cookie_len + 12, h[i].value,
		    h[i].value_len);
		memcpy(f->set_cookie + f->set_cookie_len + 12 + h[i].value_len,
		    "\r\n", 2);
		f->set_cookie_len += need;
	}
}

static void
on_body(void *arg, struct evbuffer *data)
{
	struct fetch *f = arg;
	size_t n = evbuffer_get_length(data);

	if (f->too_large || evbuffer_get_length(f->body) + n > f->body_max) {
		f->too_large = true;
		evbuffer_drain(data, n);
		return;
	}
	if (evbuffer_remove_buffer(data, f->body, n) != (int)n) {
		f->too_large = true;
		evbuffer_drain(data, evbuffer_get_length(data));
	}
}

static void
finish(struct fetch *f, enum up_error err)
{
	struct fetch_result res;
	size_t n = evbuffer_get_length(f->body);
	char nul = '\0';

	f->up = NULL;
	memset(&res, 0, sizeof(res));
	res.status = err != 0 ? 0 : f->status;
	res.err = err;
	res.too_large = f->too_large;
	if (evbuffer_add(f->body, &nul, 1) == 0) {
		res.body = (const char *)evbuffer_pullup(f->body, -1);
		res.body_len = n;
	}
	if (res.body == NULL) {
		res.body = "";
		res.body_len = 0;
		if (err == 0)
			res.too_large = true; /* out of memory: no body */
	}
	res.set_cookie = f->set_cookie;
	res.set_cookie_len = f->set_cookie_len;
	f->done(f->arg, &res);
	fetch_free(f);
}

static void
on_done(void *arg)
{
	finish(arg, 0);
}

static void
on_error(void *arg, enum up_error err)
{
	struct fetch *f = arg;

	/* An error after a complete head still means no usable answer. */
	finish(f, err != 0 ? err : UP_ERR_PROTOCOL);
}

static const struct up_callbacks fetch_cbs = {on_head, on_body, on_done,
    on_error, NULL};

struct fetch *
fetch_get(struct up_pool *pool, const char *target, const char *headers,
    size_t body_max, fetch_done_fn *done, void *arg)
{
	struct fetch *f;
	struct evbuffer *head;
	int ok;

	if (pool == NULL || target == NULL || done == NULL)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->done = done;
	f->arg = arg;
	f->body_max = body_max;
	f->body = evbuffer_new();
	head = evbuffer_new();
	ok = f->body != NULL && head != NULL &&
	    evbuffer_add_printf(head,
	        "GET %s HTTP/1.1\r\nAccept: application/json\r\n"
	        "User-Agent: bearerd\r\n%s",
	        target, headers != NULL ? headers : "") > 0;
	if (ok)
		f->up = up_req_start(pool, head, UP_BODY_NONE, 0, true, false,
		    &fetch_cbs, f);
	if (head != NULL) {
		size_t n = evbuffer_get_length(head);
		unsigned char *p = n > 0 ? evbuffer_pullup(head, -1) : NULL;

		/* the head held the session cookie */
		if (p != NULL)
			OPENSSL_cleanse(p, n);
		evbuffer_free(head);
	}
	if (f->up == NULL) {
		fetch_free(f);
		return NULL;
	}
	return f;
}

void
fetch_cancel(struct fetch *f)
{
	if (f == NULL)
		return;
	if (f->up != NULL)
		up_req_cancel(f->up);
	fetch_free(f);
}
