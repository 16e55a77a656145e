/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bruteforce.c - failed logins counted per client address in a sliding window; brute_force is
 * raised once per window when the count reaches the threshold. The table is capped: when full,
 * the entry with the oldest window is reused. Engines that share a store count together instead
 * (expect/facts.c, through the login_failed hook).
 */
#include "session.h"

struct ftpi__bf {
	struct ftpi_addr addr;
	uint32_t count;
	uint8_t raised;
	uint64_t window_start;
};
#define FTPI__BF_MAX 4096

/* This engine's own count; 1 when the failure raises, with *count the failures in the window. */
static int count_alone(struct ftpi__ftp *ftp, struct ftpi_session *s, uint32_t *count)
{
	struct ftpi__bf *b = NULL;
	uint64_t now = ftp->cx->now_us;

	if (ftp->bf == NULL) {
		ftp->bf = ftpi__alloc(ftp->cx, FTPI__POOL_MISC, FTPI__BF_MAX * sizeof *ftp->bf);
		if (ftp->bf == NULL)
			return 0;
	}
	for (uint32_t i = 0; i < ftp->n_bf; i++)
		if (ftpi__addr_eq(&ftp->bf[i].addr, &s->cli.addr)) {
			b = &ftp->bf[i];
			break;
		}
	if (b == NULL) {
		if (ftp->n_bf < FTPI__BF_MAX) {
			b = &ftp->bf[ftp->n_bf++];
		} else { /* full: reuse the entry with the oldest window */
			b = &ftp->bf[0];
			for (uint32_t i = 1; i < ftp->n_bf; i++)
				if (ftp->bf[i].window_start < b->window_start)
					b = &ftp->bf[i];
		}
		memset(b, 0, sizeof *b);
		b->addr = s->cli.addr;
		b->window_start = now;
	}
	if (now - b->window_start > ftp->cx->cfg.brute_force_window) {
		b->window_start = now;
		b->count = 0;
		b->raised = 0;
	}
	b->count++;
	*count = b->count;
	if (b->count >= ftp->cx->cfg.brute_force_threshold && !b->raised) {
		b->raised = 1;
		return 1;
	}
	return 0;
}

void ftpi__ftp_brute_force(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	uint32_t count = 0;
	int raise = -1;

	if (ftp->cx->cfg.brute_force_threshold == 0)
		return;
	/* engines sharing a store count every engine's failures (facts.c: the same rules) */
	if (ftp->hooks.login_failed)
		raise = ftp->hooks.login_failed(ftp->hooks.user, s, &count);
	if (raise < 0)
		raise = count_alone(ftp, s, &count);
	if (raise) {
		char msg[160], evd[160];
		size_t n;
		n = ftpi__buf_printf(msg, sizeof msg, 0, "%u failed logins from ", count);
		n = ftpi__buf_endpoint(msg, sizeof msg, n, &s->cli);
		ftpi__buf_printf(msg, sizeof msg, n, " within %llu s",
				 (unsigned long long)(ftp->cx->cfg.brute_force_window / 1000000));
		n = ftpi__buf_printf(evd, sizeof evd, 0, "threshold %u; last user \"",
				     ftp->cx->cfg.brute_force_threshold);
		n = ftpi__buf_escape(evd, sizeof evd, n, s->user, s->user_len);
		ftpi__buf_printf(evd, sizeof evd, n, "\"");
		ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_BRUTE_FORCE, NULL, NULL, msg, evd);
	}
}

void ftpi__ftp_bf_release(struct ftpi__ftp *ftp)
{
	if (ftp->bf)
		ftpi__free(ftp->cx, FTPI__POOL_MISC, ftp->bf, FTPI__BF_MAX * sizeof *ftp->bf);
	ftp->bf = NULL;
	ftp->n_bf = 0;
}
