/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bruteforce.c - failed logins counted per client address in a sliding window; brute_force is
 * raised once per window when the count reaches the threshold. The table is capped: when full,
 * the entry with the oldest window is reused. Engines that share a store count together instead
 * (expect/facts.c, through the login_failed hook).
 */
#include "session.h"
#include "siphash.h"

struct bf_ent {
	struct ftpi_addr addr;
	uint32_t count;
	uint8_t raised;
	uint16_t next;    /* the next entry of its hash chain, plus one (0: none) */
	uint16_t heap_at; /* its place in the heap */
	uint64_t window_start;
};
#define FTPI__BF_MAX 4096
#define BF_BUCKETS (2 * FTPI__BF_MAX)

/* The entries, a keyed hash of their addresses, and a binary min-heap of them by (window start,
 * entry): finding a client's entry and the one to reuse when the table is full cost a chain and
 * a heap path, not a walk over up to 4,096 entries at each failed login (password spraying from
 * thousands of addresses made that half of the engine's time). The entry reused is the one a
 * walk would pick: the oldest window, the lowest entry among equals. */
struct ftpi__bf {
	uint32_t n;
	uint16_t head[BF_BUCKETS]; /* an entry plus one (0: none) */
	uint16_t heap[FTPI__BF_MAX];
	struct bf_ent e[FTPI__BF_MAX];
};

static uint32_t bf_bucket(const struct ftpi__ftp *ftp, const struct ftpi_addr *a)
{
	/* the bytes ftpi__addr_eq compares */
	size_t n = a->family == 6 ? 16 : 4;
	return (uint32_t)ftpi__siphash13(ftp->cx->cfg.hash_seed, a->ip, n) & (BF_BUCKETS - 1);
}

static int bf_before(const struct ftpi__bf *t, uint16_t a, uint16_t b)
{
	const struct bf_ent *x = &t->e[a], *y = &t->e[b];
	return x->window_start < y->window_start || (x->window_start == y->window_start && a < b);
}

static void heap_put(struct ftpi__bf *t, uint32_t at, uint16_t k)
{
	t->heap[at] = k;
	t->e[k].heap_at = (uint16_t)at;
}

/* The entry at heap place `at` moved later (its window restarted, or it was reused). */
static void heap_down(struct ftpi__bf *t, uint32_t at)
{
	uint16_t k = t->heap[at];
	for (;;) {
		uint32_t c = 2 * at + 1;
		if (c >= t->n)
			break;
		if (c + 1 < t->n && bf_before(t, t->heap[c + 1], t->heap[c]))
			c++;
		if (!bf_before(t, t->heap[c], k))
			break;
		heap_put(t, at, t->heap[c]);
		at = c;
	}
	heap_put(t, at, k);
}

static void heap_up(struct ftpi__bf *t, uint32_t at)
{
	uint16_t k = t->heap[at];
	while (at > 0 && bf_before(t, k, t->heap[(at - 1) / 2])) {
		heap_put(t, at, t->heap[(at - 1) / 2]);
		at = (at - 1) / 2;
	}
	heap_put(t, at, k);
}

static void chain_del(struct ftpi__bf *t, uint32_t bucket, uint16_t k)
{
	uint16_t *pp = &t->head[bucket];
	while (*pp && *pp != k + 1)
		pp = &t->e[*pp - 1].next;
	if (*pp)
		*pp = t->e[k].next;
}

/* This engine's own count; 1 when the failure raises, with *count the failures in the window. */
static int count_alone(struct ftpi__ftp *ftp, struct ftpi_session *s, uint32_t *count)
{
	struct ftpi__bf *t = ftp->bf;
	struct bf_ent *b = NULL;
	uint64_t now = ftp->cx->now_us;

	if (t == NULL) {
		t = ftp->bf = ftpi__alloc(ftp->cx, FTPI__POOL_MISC, sizeof *ftp->bf);
		if (t == NULL)
			return 0;
	}
	uint32_t bucket = bf_bucket(ftp, &s->cli.addr);
	for (uint16_t k = t->head[bucket]; k; k = t->e[k - 1].next)
		if (ftpi__addr_eq(&t->e[k - 1].addr, &s->cli.addr)) {
			b = &t->e[k - 1];
			break;
		}
	if (b == NULL) {
		uint16_t k;
		if (t->n < FTPI__BF_MAX) { /* a new entry: its window is the latest */
			k = (uint16_t)t->n++;
			t->e[k].window_start = now;
			heap_put(t, k, k);
			heap_up(t, k);
		} else { /* full: reuse the entry with the oldest window */
			k = t->heap[0];
			chain_del(t, bf_bucket(ftp, &t->e[k].addr), k);
		}
		b = &t->e[k];
		uint16_t at = b->heap_at;
		memset(b, 0, sizeof *b);
		b->heap_at = at;
		b->addr = s->cli.addr;
		b->window_start = now;
		b->next = t->head[bucket];
		t->head[bucket] = (uint16_t)(k + 1);
		heap_down(t, at);
	}
	if (now - b->window_start > ftp->cx->cfg.brute_force_window) {
		b->window_start = now;
		b->count = 0;
		b->raised = 0;
		heap_down(t, b->heap_at);
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

void ftpi__ftp_bf_reset(struct ftpi__ftp *ftp)
{
	if (ftp->bf) {
		ftp->bf->n = 0;
		memset(ftp->bf->head, 0, sizeof ftp->bf->head);
	}
}

void ftpi__ftp_bf_release(struct ftpi__ftp *ftp)
{
	if (ftp->bf)
		ftpi__free(ftp->cx, FTPI__POOL_MISC, ftp->bf, sizeof *ftp->bf);
	ftp->bf = NULL;
}
