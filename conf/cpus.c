/* SPDX-License-Identifier: MIT */
/* How many CPUs this process may use: affinity mask and cgroup CPU quota. */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpus.h"

#define CPUS_PATH_LEN 4096
#define CPUS_LINE_LEN 4096

/* A decimal number at |*s|, leading blanks skipped; -1 when there is none. */
static long long
cpus_num(const char **s)
{
	char *end;
	long long v;

	while (**s == ' ' || **s == '\t')
		(*s)++;
	if (!isdigit((unsigned char)**s))
		return -1;
	errno = 0;
	v = strtoll(*s, &end, 10);
	if (errno != 0)
		return -1;
	*s = end;
	return v;
}

static int
cpus_ratio(long long quota, long long period)
{
	long long n;

	if (period <= 0)
		return -1;
	n = quota / period;
	return n < 1 ? 1 : n > CONF_CPUS_MAX ? CONF_CPUS_MAX : (int)n;
}

static int
cpus_tail_ok(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	return *s == '\0';
}

int
conf_cpus_from_max(const char *cpu_max)
{
	const char *s = cpu_max;
	long long quota, period;
	int unlimited = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (strncmp(s, "max", 3) == 0) {
		unlimited = 1;
		s += 3;
		quota = 0;
	} else if ((quota = cpus_num(&s)) < 0)
		return -1;
	/* the period is optional in what the kernel accepts, not in what it
	 * prints */
	if ((period = cpus_num(&s)) < 0 || !cpus_tail_ok(s))
		return -1;
	if (unlimited)
		return 0;
	return cpus_ratio(quota, period);
}

int
conf_cpus_from_cfs(const char *quota, const char *period)
{
	const char *q = quota, *p = period;
	long long qv, pv;

	while (*q == ' ' || *q == '\t')
		q++;
	if (strncmp(q, "-1", 2) == 0 && cpus_tail_ok(q + 2))
		return 0;
	if ((qv = cpus_num(&q)) < 0 || !cpus_tail_ok(q) ||
	    (pv = cpus_num(&p)) < 0 || !cpus_tail_ok(p))
		return -1;
	return cpus_ratio(qv, pv);
}

/* The file's first line into |buf|; -1 when it cannot be read. */
static int
cpus_read(const char *path, char *buf, size_t len)
{
	FILE *f;
	int rv = 0;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, (int)len, f) == NULL)
		rv = -1;
	fclose(f);
	return rv;
}

/*
 * The smallest quota on |cg| (a cgroup path such as "/a/b") and its
 * ancestors under |mnt|: a parent's limit binds its children too. In a
 * container with its own cgroup namespace the path is "/" and the mount
 * shows the container's cgroup, so the root is tried last.
 */
static int
cpus_walk(const char *mnt, const char *cg, int v2)
{
	char path[CPUS_PATH_LEN], q[64], per[64], dir[CPUS_PATH_LEN];
	char *slash;
	int best = 0, n;

	if (snprintf(dir, sizeof(dir), "%s", cg) >= (int)sizeof(dir))
		return 0;
	for (;;) {
		n = -1;
		if (v2) {
			if (snprintf(path, sizeof(path), "%s%s/cpu.max", mnt,
			        dir) < (int)sizeof(path) &&
			    cpus_read(path, q, sizeof(q)) == 0)
				n = conf_cpus_from_max(q);
		} else if (snprintf(path, sizeof(path), "%s%s/cpu.cfs_quota_us",
		               mnt, dir) < (int)sizeof(path) &&
		    cpus_read(path, q, sizeof(q)) == 0 &&
		    snprintf(path, sizeof(path), "%s%s/cpu.cfs_period_us", mnt,
		        dir) < (int)sizeof(path) &&
		    cpus_read(path, per, sizeof(per)) == 0)
			n = conf_cpus_from_cfs(q, per);
		if (n > 0 && (best == 0 || n < best))
			best = n;
		if (dir[0] == '\0')
			break;
		if ((slash = strrchr(dir, '/')) == NULL)
			break;
		*slash = '\0';
	}
	return best;
}

/* The quota from /proc/self/cgroup (v2 "0::/path", v1 "N:...cpu...:/path"). */
static int
cpus_cgroup(void)
{
	char line[CPUS_LINE_LEN], *ctl, *cg, *tok, *save;
	FILE *f;
	int best = 0, n;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((ctl = strchr(line, ':')) == NULL ||
		    (cg = strchr(ctl + 1, ':')) == NULL)
			continue;
		*cg++ = '\0';
		ctl++;
		if (strcmp(cg, "/") == 0)
			cg = (char *)"";
		n = 0;
		if (*ctl == '\0')
			n = cpus_walk("/sys/fs/cgroup", cg, 1);
		else
			for (tok = strtok_r(ctl, ",", &save); tok != NULL;
			     tok = strtok_r(NULL, ",", &save))
				if (strcmp(tok, "cpu") == 0) {
					n = cpus_walk(
					    "/sys/fs/cgroup/cpu,cpuacct", cg,
					    0);
					if (n == 0)
						n = cpus_walk(
						    "/sys/fs/cgroup/cpu", cg,
						    0);
				}
		if (n > 0 && (best == 0 || n < best))
			best = n;
	}
	fclose(f);
	return best;
}

int
conf_cpus_usable(void)
{
	cpu_set_t set;
	long online;
	int n, q;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else {
		online = sysconf(_SC_NPROCESSORS_ONLN);
		n = online < 1               ? 1
		    : online > CONF_CPUS_MAX ? CONF_CPUS_MAX
		                             : (int)online;
	}
	if ((q = cpus_cgroup()) > 0 && q < n)
		n = q;
	return n < 1 ? 1 : n > CONF_CPUS_MAX ? CONF_CPUS_MAX : n;
}
