/* SPDX-License-Identifier: MIT */
/* Tests for conf/cpus.c: the cgroup quota parsers and the usable count. */
#include <sched.h>

#include "cpus.h"
#include "tap.h"

static const struct {
	const char *text;
	int want;
} max_cases[] = {
    {"max 100000\n", 0},
    {"max\n", -1}, /* the kernel always prints the period */
    {"200000 100000\n", 2},
    {"150000 100000\n", 1}, /* 1.5 CPUs: whole CPUs only */
    {"50000 100000\n", 1},  /* under one CPU still gets one worker */
    {"100000000 100000\n", CONF_CPUS_MAX},
    {"400000 100000", 4},
    {"", -1},
    {"abc 100000\n", -1},
    {"200000 0\n", -1},
    {"200000 100000 junk\n", -1},
    {"-5 100000\n", -1},
};

static const struct {
	const char *quota, *period;
	int want;
} cfs_cases[] = {
    {"-1\n", "100000\n", 0},
    {"300000\n", "100000\n", 3},
    {"25000\n", "100000\n", 1},
    {"300000\n", "0\n", -1},
    {"x\n", "100000\n", -1},
    {"300000\n", "\n", -1},
};

int
main(void)
{
	size_t i;
	cpu_set_t set;
	int n;

	for (i = 0; i < sizeof(max_cases) / sizeof(max_cases[0]); i++)
		is_int(conf_cpus_from_max(max_cases[i].text), max_cases[i].want,
		    "cpu.max \"%s\"", max_cases[i].text);
	for (i = 0; i < sizeof(cfs_cases) / sizeof(cfs_cases[0]); i++)
		is_int(conf_cpus_from_cfs(cfs_cases[i].quota,
		           cfs_cases[i].period),
		    cfs_cases[i].want, "cfs quota \"%s\" period \"%s\"",
		    cfs_cases[i].quota, cfs_cases[i].period);

	/* never more than the affinity mask allows, never less than one */
	n = conf_cpus_usable();
	ok(n >= 1 && n <= CONF_CPUS_MAX, "usable %d in range", n);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		ok(n <= CPU_COUNT(&set), "usable %d <= affinity %d", n,
		    CPU_COUNT(&set));
	return tap_done();
}
