/* SPDX-License-Identifier: MIT */
/* The resolver a worker uses for upstream names: evdns, asked in the order
 * of /etc/resolv.conf like the C library does. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <event2/dns.h>

#include "dns.h"
#include "proxy.h"

#define DNS_RESOLV_CONF "/etc/resolv.conf"
#define DNS_LINE_LEN 512

/*
 * The address of the first "nameserver" line of |path| into |out|; -1 when
 * there is none. resolv.conf(5): "nameserver Name-server-IP-address".
 */
static int
dns_first_nameserver(const char *path, char *out, size_t len)
{
	char line[DNS_LINE_LEN], *p, *end;
	FILE *f;
	int rv = -1;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (rv == -1 && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "nameserver", 10) != 0 ||
		    !isspace((unsigned char)line[10]))
			continue;
		for (p = line + 10; isspace((unsigned char)*p); p++)
			;
		for (end = p; *end != '\0' && !isspace((unsigned char)*end);
		     end++)
			;
		if (end > p && (size_t)(end - p) < len) {
			memcpy(out, p, (size_t)(end - p));
			out[end - p] = '\0';
			rv = 0;
		}
	}
	fclose(f);
	return rv;
}

struct evdns_base *
proxy_dns_new(struct event_base *base)
{
	struct evdns_base *dns;
	char ns[DNS_LINE_LEN];

	if ((dns = evdns_base_new(base, 0)) == NULL)
		return NULL;
	/*
	 * The search list, ndots, timeouts and the hosts file as usual, but
	 * one name server: evdns spreads queries over all of them in turn,
	 * while the C library asks the first and moves on only when it does
	 * not answer. Container runtimes rely on that order: podman lists
	 * its own DNS (which knows the compose service names) first and the
	 * host's after it, and a host resolver asked for "api" answers
	 * NXDOMAIN or, worse, some other machine's address.
	 */
	(void)evdns_base_resolv_conf_parse(dns,
	    DNS_OPTION_SEARCH | DNS_OPTION_MISC | DNS_OPTION_HOSTSFILE,
	    DNS_RESOLV_CONF);
	if (dns_first_nameserver(DNS_RESOLV_CONF, ns, sizeof(ns)) == -1)
		snprintf(ns, sizeof(ns),
		    "127.0.0.1"); /* resolv.conf(5) default */
	if (evdns_base_nameserver_ip_add(dns, ns) != 0)
		log_warnx("%s: name server %s not usable", __func__, ns);
	return dns;
}
