/* SPDX-License-Identifier: MIT */
/* The resolver a worker uses for upstream names. */
#ifndef PROXY_DNS_H
#define PROXY_DNS_H

struct event_base;
struct evdns_base;

/*
 * A new evdns resolver on |base| with the search list, options and hosts
 * file of /etc/resolv.conf and only its first name server (the C library's
 * order; see dns.c). Returns NULL when out of memory; the caller owns it
 * (evdns_base_free).
 */
struct evdns_base *proxy_dns_new(struct event_base *base);

#endif /* PROXY_DNS_H */
