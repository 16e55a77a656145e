/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_workers_auto.c - what --workers auto resolves to (opts.c: cli_workers_for, cli_cores):
 * live captures one engine per core; files and -w one engine; never more than CLI_MAX_WORKERS;
 * and the cores counted are the affinity mask's, as taskset leaves it.
 */
#include <sched.h>
#include <stdio.h>

#include "opts.h"

static int failed;

static void expect(unsigned cores, int live, int writes, unsigned want)
{
	unsigned got = cli_workers_for(cores, live, writes);
	if (got != want) {
		fprintf(stderr, "cores %u live %d writes %d: %u workers, want %u\n", cores, live,
			writes, got, want);
		failed = 1;
	}
}

int main(void)
{
	static const struct {
		unsigned cores, file, live;
	} t[] = {{1, 1, 1}, {2, 1, 2}, {3, 1, 3}, {4, 1, 4}, {16, 1, 16}, {64, 1, 64},
		 {65, 1, 64}, {1000, 1, 64}};
	cpu_set_t set;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		expect(t[i].cores, 0, 0, t[i].file);
		expect(t[i].cores, 1, 0, t[i].live);
		expect(t[i].cores, 0, 1, 1);
		expect(t[i].cores, 1, 1, 1); /* -w with -i: one engine */
	}
	expect(0, 0, 0, 1); /* never below one engine */
	expect(0, 1, 0, 1);
	if (sched_getaffinity(0, sizeof set, &set) == 0 &&
	    cli_cores() != (unsigned)CPU_COUNT(&set)) {
		fprintf(stderr, "cli_cores %u, the affinity mask has %d\n", cli_cores(),
			CPU_COUNT(&set));
		failed = 1;
	}
	if (cli_cores() < 1) {
		fputs("cli_cores below 1\n", stderr);
		failed = 1;
	}
	return failed;
}
