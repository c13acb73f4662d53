/* SPDX-License-Identifier: MIT */
/* bearerd's entry point: options, signals, reload and drain. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "evmem.h"
#include "proxy.h"

#define DRAIN_POLL_MS 50

#ifndef BEARERD_VERSION
#define BEARERD_VERSION "unknown"
#endif

#define USAGE "usage: bearerd [-tv] -c file\n       bearerd -h | --version\n"

static void
usage(void)
{
	fputs(USAGE, stderr);
	exit(2);
}

/* -h: the options, on stdout (it was asked for), exit 0. */
static void
help(void)
{
	printf("%s\n"
	       "  -c file    the configuration file (required)\n"
	       "  -t         check the configuration, print every error, exit\n"
	       "  -v         verbose: debug lines on stderr\n"
	       "  -h, --help this text\n"
	       "  --version  the version and the libraries it runs with\n"
	       "\n"
	       "Signals: SIGHUP reloads the file, SIGTERM or SIGINT drains and "
	       "exits 0.\nSee bearerd(8) and bearerd.conf(5).\n",
	    USAGE);
	exit(0);
}

static void
version(void)
{
	printf("bearerd %s\nlibevent %s, %s, jansson %s\n", BEARERD_VERSION,
	    event_get_version(), OpenSSL_version(OPENSSL_VERSION),
	    JANSSON_VERSION);
	exit(0);
}

static void drain_start(struct proxy *p);

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;
	struct timeval now, tv = {0, DRAIN_POLL_MS * 1000};
	int n;

	if (!p->drain_started) {
		/* drain_delay is over */
		drain_start(p);
		return;
	}
	gettimeofday(&now, NULL);
	if ((n = server_inflight(p)) == 0 ||
	    timercmp(&now, &p->drain_deadline, >)) {
		if (n > 0)
			log_warnx("drain timeout with %d requests in flight",
			    n);
		event_base_loopbreak(p->base);
		return;
	}
	event_add(p->drain_ev, &tv);
}

/*
 * SIGTERM, in two steps. drain_begin: readiness answers 503 at once, and
 * for timeouts.drain_delay bearerd still accepts and serves (keep-alive
 * connections are closed after their next response, so clients reconnect
 * where the load balancer now sends them). drain_start: stop accepting,
 * let requests in flight finish, and leave when none is left or
 * timeouts.drain passed.
 */
static void
drain_start(struct proxy *p)
{
	struct timeval tv = {0, 0}, now, d;
	int ms = p->gen->conf->drain_timeout_ms;

	log_info("draining (up to %d ms)", ms);
	p->drain_started = true;
	server_stop_accepting(p);
	gettimeofday(&now, NULL);
	d.tv_sec = ms / 1000;
	d.tv_usec = (ms % 1000) * 1000;
	timeradd(&now, &d, &p->drain_deadline);
	event_add(p->drain_ev, &tv);
}

/* |delay|: SIGTERM waits drain_delay; SIGINT (a terminal's ^C, where no
 * load balancer is watching) drains at once. */
static void
drain_begin(struct proxy *p, bool delay)
{
	int ms = delay ? p->gen->conf->drain_delay_ms : 0;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	atomic_store(&p->ready, false);
	p->drain_ev = evtimer_new(p->base, drain_cb, p);
	if (p->drain_ev == NULL) {
		event_base_loopbreak(p->base);
		return;
	}
	if (ms == 0) {
		drain_start(p);
		return;
	}
	log_info("not ready; still serving for %d ms (drain_delay)", ms);
	event_add(p->drain_ev, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct proxy *p = arg;

	switch (sig) {
	case SIGHUP:
		gen_reload(p);
		return;
	case SIGTERM:
	case SIGINT:
		if (atomic_exchange(&p->draining, true)) {
			/* a second signal: stop now */
			event_base_loopbreak(p->base);
			return;
		}
		drain_begin(p, sig == SIGTERM);
		return;
	default:
		return;
	}
}

int
main(int argc, char *argv[])
{
	static struct proxy p;
	struct event *sig_hup, *sig_term, *sig_int;
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool test = false, verbose = false;
	struct conf *c;
	int ch;

	/* before anything of libevent's is made: its buffers come from
	 * per-thread lists (evmem.c says why) */
	event_set_mem_functions(evmem_malloc, evmem_realloc, evmem_free);
	while ((ch = getopt_long(argc, argv, "c:htv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			help();
			break;
		case 'V':
			version();
			break;
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (path == NULL || optind != argc)
		usage();
	log_init(verbose);

	if ((c = gen_load(path, true)) == NULL) {
		if (!test)
			fprintf(stderr,
			    "bearerd: configuration %s has "
			    "errors\n",
			    path);
		return 1;
	}
	if (test) {
		conf_free(c);
		printf("configuration OK\n");
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	/* jansson hashes are seeded lazily; do it before threads start */
	auth_init(); /* seeds jansson and guards its allocator (auth/jwt.c) */

	proxy_g = &p;
	p.verbose = verbose;
	p.conf_path = path;
	p.start = (uint32_t)time(NULL);
	metrics_init(BEARERD_VERSION, time(NULL));
	if (gen_init(&p, c) != 0) {
		fprintf(stderr, "bearerd: cannot start\n");
		return 1;
	}
	if ((p.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");

	/*
	 * The handlers go in before server_start() says "listening on": a
	 * supervisor may stop us the moment it reads that line, and a
	 * SIGTERM that came before evsignal_add() took the default action
	 * (killed by the signal: no drain, no exit status 0). Until
	 * event_base_dispatch() a signal is only recorded; its callback runs
	 * in the loop, once the listeners exist.
	 */
	sig_hup = evsignal_new(p.base, SIGHUP, signal_cb, &p);
	sig_term = evsignal_new(p.base, SIGTERM, signal_cb, &p);
	sig_int = evsignal_new(p.base, SIGINT, signal_cb, &p);
	if (sig_hup == NULL || sig_term == NULL || sig_int == NULL ||
	    evsignal_add(sig_hup, NULL) != 0 ||
	    evsignal_add(sig_term, NULL) != 0 ||
	    evsignal_add(sig_int, NULL) != 0)
		fatalx("cannot install signal handlers");

	if (server_start(&p) != 0 || admin_start(&p) != 0) {
		fprintf(stderr, "bearerd: cannot start\n");
		admin_free(&p);
		server_free(&p);
		event_free(sig_hup);
		event_free(sig_term);
		event_free(sig_int);
		return 1;
	}
	atomic_store(&p.ready, true);

	event_base_dispatch(p.base);

	log_info("shutting down");
	admin_free(&p);
	/* evhtp frees a connection's bufferevent through libevent's deferred
	 * finalizers, which run only on the next pass of the base: without
	 * it a client that had just been answered leaked at exit. */
	event_base_loop(p.base, EVLOOP_NONBLOCK);
	server_free(&p);
	event_free(sig_hup);
	event_free(sig_term);
	event_free(sig_int);
	if (p.drain_ev != NULL)
		event_free(p.drain_ev);
	gen_unref(p.gen);
	event_base_free(p.base);
	metrics_free();
	return 0;
}
