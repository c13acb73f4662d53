/* SPDX-License-Identifier: MIT */
/* Diagnostics and the JSON access line, all on stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "proxy.h"

static bool log_verbose;

void
log_init(bool verbose)
{
	log_verbose = verbose;
}

/* One line per call: the whole line goes out in one write so that lines
 * from several workers never interleave. */
static void log_vline(const char *level, const char *fmt, va_list ap,
    const char *suffix) __attribute__((format(printf, 2, 0)));

static void
log_vline(const char *level, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	int n, m;

	n = snprintf(line, sizeof(line), "bearerd: %s: ", level);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	if (suffix != NULL) {
		m = snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
		    suffix);
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(line) - 1)
			n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	char eb[128];
	int saved = errno;

	va_start(ap, fmt);
	log_vline("warning", fmt, ap, strerror_r(saved, eb, sizeof(eb)));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("warning", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("info", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vline("debug", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	char eb[128];
	int saved = errno;

	va_start(ap, fmt);
	log_vline("fatal", fmt, ap, strerror_r(saved, eb, sizeof(eb)));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

/* Appends |s| as a JSON string body (RFC 8259 §7), escaping everything
 * outside printable ASCII, so hostile bytes cannot break the line. */
static size_t
json_str(char *out, size_t cap, size_t n, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s != '\0' && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			out[n++] = '\\';
			out[n++] = 'u';
			out[n++] = '0';
			out[n++] = '0';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else
			out[n++] = (char)c;
	}
	return n;
}

static size_t json_add(char *out, size_t cap, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t
json_add(char *out, size_t cap, size_t n, const char *fmt, ...)
{
	va_list ap;
	int m;

	if (n >= cap)
		return n;
	va_start(ap, fmt);
	m = vsnprintf(out + n, cap - n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return n;
	n += (size_t)m;
	return n < cap ? n : cap - 1;
}

void
log_access(const struct access_rec *r)
{
	/* every string at its worst escaping (6 bytes a byte); a route
	 * pattern is a path, an upstream name a short token */
	char line[1024 + AUTH_MAX_SUB_LEN * 6 + AUTH_MAX_PATH_LEN * 12 +
	    GATE_REQUEST_ID_MAX * 6 + 256 * 6];
	struct timeval tv;
	struct tm tm;
	char ts[40];
	size_t n = 0;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	n = json_add(line, sizeof(line), n, "{\"time\":\"%s.%03ldZ\"", ts,
	    (long)(tv.tv_usec / 1000));
	n = json_add(line, sizeof(line), n, ",\"client\":\"");
	n = json_str(line, sizeof(line), n,
	    r->client != NULL ? r->client : "-");
	n = json_add(line, sizeof(line), n, "\",\"method\":\"");
	n = json_str(line, sizeof(line), n,
	    r->method != NULL ? r->method : "-");
	/* The canonical path only: the query may carry secrets. */
	n = json_add(line, sizeof(line), n, "\",\"path\":\"");
	n = json_str(line, sizeof(line), n, r->path != NULL ? r->path : "-");
	n = json_add(line, sizeof(line), n, "\",\"status\":%d", r->status);
	/* "none": no credential was looked for (auth = none, a health
	 * probe, a refused head), which is not the same as "ok" */
	n = json_add(line, sizeof(line), n, ",\"auth\":\"%s\"",
	    r->auth_needed || r->auth != AUTH_OK ? auth_status_str(r->auth)
	                                         : "none");
	if (r->code != NULL && r->status >= 400)
		n = json_add(line, sizeof(line), n, ",\"code\":\"%s\"",
		    r->code);
	if (r->sub != NULL) {
		n = json_add(line, sizeof(line), n, ",\"sub\":\"");
		n = json_str(line, sizeof(line), n, r->sub);
		n = json_add(line, sizeof(line), n, "\"");
	}
	if (r->request_id != NULL && r->request_id[0] != '\0') {
		n = json_add(line, sizeof(line), n, ",\"request_id\":\"");
		n = json_str(line, sizeof(line), n, r->request_id);
		n = json_add(line, sizeof(line), n, "\"");
	}
	if (r->route != NULL) {
		n = json_add(line, sizeof(line), n, ",\"route\":\"");
		n = json_str(line, sizeof(line), n, r->route);
		n = json_add(line, sizeof(line), n, "\"");
	}
	if (r->upstream != NULL) {
		n = json_add(line, sizeof(line), n, ",\"upstream\":\"");
		n = json_str(line, sizeof(line), n, r->upstream);
		n = json_add(line, sizeof(line), n, "\"");
	}
	n = json_add(line, sizeof(line), n,
	    ",\"duration_ms\":%llu.%03u,\"upstream_ms\":%lld,\"bytes\":%llu}\n",
	    (unsigned long long)(r->duration_us / 1000),
	    (unsigned)(r->duration_us % 1000), (long long)r->up_ms,
	    (unsigned long long)r->bytes);
	if (n > 0 && line[n - 1] != '\n') {
		/* Truncated: still one valid-looking line. */
		n = n < sizeof(line) - 1 ? n : sizeof(line) - 2;
		line[n++] = '\n';
	}
	fwrite(line, 1, n, stderr);
}
