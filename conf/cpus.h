/* SPDX-License-Identifier: MIT */
/* How many CPUs this process may use: affinity mask and cgroup CPU quota. */
#ifndef CONF_CPUS_H
#define CONF_CPUS_H

#define CONF_CPUS_MAX 256 /* the largest worker count */

/*
 * The CPUs the process may actually run on: the size of its affinity mask
 * (sched_getaffinity), lowered to a cgroup CPU quota when one applies to
 * the process's cgroup or an ancestor (v2 cpu.max, v1 cpu.cfs_quota_us /
 * cpu.cfs_period_us). A quota of 1.5 CPUs gives 1. Returns 1..
 * CONF_CPUS_MAX; files it cannot read count as no limit.
 */
int conf_cpus_usable(void);

/*
 * Pure parsers for the cgroup files, for tests. |cpu_max| is the content
 * of a v2 cpu.max ("max 100000" or "150000 100000"); |quota| and |period|
 * are the v1 files' contents ("-1" means no limit). Each returns the whole
 * CPUs the quota allows (at least 1), 0 for no limit, -1 when the text is
 * not of that form.
 */
int conf_cpus_from_max(const char *cpu_max);
int conf_cpus_from_cfs(const char *quota, const char *period);

#endif /* CONF_CPUS_H */
