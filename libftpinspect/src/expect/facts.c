/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * facts.c - per-server passive ports and per-client failed logins shared by the engines of one
 * store (facts.h).
 *
 * Records live in fixed sets of FACT_WAYS (one stripe lock per group of sets); a new key takes
 * the way used longest ago. Every fact carries its capture time:
 * - passive ports: the range before t is the lowest and highest port named before t. Only the
 *   ports that were a new low (or high) when they came, counting earlier times only, can be
 *   that answer for some t, so a record keeps those (the "fronts", in time order) and folds
 *   into its base what is older than every engine's watermark;
 * - failed logins: one engine counts them in a window that starts at a failure and restarts at
 *   the first failure past its end, raising once per window. The record keeps the failures not
 *   yet older than every watermark, in time order, and the state they leave is computed again
 *   from the base for each new failure, so the engine that sees the one reaching the threshold,
 *   and only it, raises.
 * A front or a list that fills before the watermarks pass folds its oldest entry early (what
 * engines ask about that old time then reads the newer base: counted in `early`).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "facts.h"

#define FACT_SETS 1024 /* power of two */
#define FACT_WAYS 4    /* 4096 servers and 4096 clients, one engine's caps */
#define FACT_STRIPES 64
#define FRONT_MAX 16
#define FAILS_MAX 32

struct obs {
	uint64_t ts, frame;
	uint16_t port;
};

/* (ts, frame) before (t, f): the order of one engine */
static int before(uint64_t ts, uint64_t frame, uint64_t t, uint64_t f)
{
	return ts < t || (ts == t && frame < f);
}

struct srv_rec {
	struct ftpi_endpoint ep;
	uint8_t used, base_n;
	uint8_t n_lo, n_hi;
	uint16_t base_lo, base_hi;
	uint64_t last_us;
	struct obs lo[FRONT_MAX]; /* time order, ports falling */
	struct obs hi[FRONT_MAX]; /* time order, ports rising */
};

struct fail {
	uint64_t ts, frame;
};

/* One engine's brute-force state for a client address (bruteforce.c's rules). */
struct bf_state {
	uint8_t started, raised;
	uint32_t count;
	uint64_t window_start;
};

struct cli_rec {
	struct ftpi_addr addr;
	uint8_t used, n;
	uint64_t last_us;
	struct bf_state base;
	struct fail f[FAILS_MAX]; /* time order */
};

struct ftpi__facts {
	pthread_mutex_t stripe[FACT_STRIPES];
	struct srv_rec *srv;
	struct cli_rec *cli;
	_Atomic uint64_t early;
};

struct ftpi__facts *ftpi__facts_new(void)
{
	struct ftpi__facts *fx = calloc(1, sizeof *fx);
	if (fx == NULL)
		return NULL;
	/* calloc'd pages stay untouched until a server or a client uses them */
	fx->srv = calloc((size_t)FACT_SETS * FACT_WAYS, sizeof *fx->srv);
	fx->cli = calloc((size_t)FACT_SETS * FACT_WAYS, sizeof *fx->cli);
	if (fx->srv == NULL || fx->cli == NULL) {
		free(fx->srv);
		free(fx->cli);
		free(fx);
		return NULL;
	}
	for (int i = 0; i < FACT_STRIPES; i++)
		pthread_mutex_init(&fx->stripe[i], NULL);
	return fx;
}

void ftpi__facts_free(struct ftpi__facts *fx)
{
	if (fx == NULL)
		return;
	for (int i = 0; i < FACT_STRIPES; i++)
		pthread_mutex_destroy(&fx->stripe[i]);
	free(fx->srv);
	free(fx->cli);
	free(fx);
}

static uint32_t set_of(const struct ftpi_addr *a, uint16_t port)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t n = a->family == 6 ? 16 : 4;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a->ip[i]) * 0x100000001b3ull;
	h = (h ^ port) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 31)) & (FACT_SETS - 1);
}

/* The way of a set holding the key (match), else the one to take, emptied: a free one, or the one
 * used longest ago. */
#define FIND_WAY(recs, set, match, out)                                                      \
	do {                                                                                 \
		size_t b_ = (size_t)(set) * FACT_WAYS, pick_ = b_;                           \
		(out) = NULL;                                                                \
		for (size_t i_ = b_; i_ < b_ + FACT_WAYS && (out) == NULL; i_++) {           \
			if ((recs)[i_].used && match(&(recs)[i_]))                           \
				(out) = &(recs)[i_];                                         \
			else if ((recs)[pick_].used &&                                       \
				 (!(recs)[i_].used || (recs)[i_].last_us < (recs)[pick_].last_us)) \
				pick_ = i_;                                                  \
		}                                                                            \
		if ((out) == NULL) {                                                         \
			(out) = &(recs)[pick_];                                              \
			memset((out), 0, sizeof *(out));                                     \
		}                                                                            \
	} while (0)

/* ---- passive ports ---- */

/* Inserts o into a front (rising: ports that were a new high; else a new low), unless an entry
 * at the same time or earlier dominates it; drops the later entries it dominates. */
static void front_add(struct obs *fr, uint8_t *n, struct obs o, int rising)
{
	size_t at = 0;
	for (size_t i = 0; i < *n; i++) {
		int dom = rising ? fr[i].port >= o.port : fr[i].port <= o.port;
		int earlier = !before(o.ts, o.frame, fr[i].ts, fr[i].frame);
		if (earlier && dom)
			return;
		if (earlier)
			at = i + 1;
	}
	size_t k = at;
	for (size_t i = at; i < *n; i++) /* later entries it dominates go */
		if (rising ? fr[i].port > o.port : fr[i].port < o.port)
			fr[k++] = fr[i];
	*n = (uint8_t)k;
	memmove(&fr[at + 1], &fr[at], (*n - at) * sizeof *fr);
	fr[at] = o;
	(*n)++;
}

static void base_take(struct srv_rec *r, uint16_t port)
{
	if (!r->base_n || port < r->base_lo)
		r->base_lo = port;
	if (!r->base_n || port > r->base_hi)
		r->base_hi = port;
	r->base_n = 1;
}

/* Folds into the base the entries older than low, and the oldest of a full front. */
static void front_fold(struct ftpi__facts *fx, struct srv_rec *r, struct obs *fr, uint8_t *n,
		       uint64_t low)
{
	size_t k = 0;
	while (k < *n && (fr[k].ts < low || *n - k >= FRONT_MAX)) {
		if (fr[k].ts >= low)
			atomic_fetch_add_explicit(&fx->early, 1, memory_order_relaxed);
		base_take(r, fr[k].port);
		k++;
	}
	memmove(fr, &fr[k], (*n - k) * sizeof *fr);
	*n = (uint8_t)(*n - k);
}

#define SRV_MATCH(r) ftpi__ep_eq(&(r)->ep, srv)

void ftpi__facts_pasv(struct ftpi__facts *fx, uint64_t low, const struct ftpi_endpoint *srv,
		      uint16_t port, uint64_t ts, uint64_t frame)
{
	if (fx == NULL)
		return;
	uint32_t set = set_of(&srv->addr, srv->port);
	struct srv_rec *r;
	pthread_mutex_lock(&fx->stripe[set % FACT_STRIPES]);
	FIND_WAY(fx->srv, set, SRV_MATCH, r);
	if (!r->used) {
		r->used = 1;
		r->ep = *srv;
	}
	if (ts > r->last_us)
		r->last_us = ts;
	struct obs o = {ts, frame, port};
	front_fold(fx, r, r->lo, &r->n_lo, low);
	front_fold(fx, r, r->hi, &r->n_hi, low);
	if (ts < low) {
		base_take(r, port);
	} else {
		front_add(r->lo, &r->n_lo, o, 0);
		front_add(r->hi, &r->n_hi, o, 1);
	}
	pthread_mutex_unlock(&fx->stripe[set % FACT_STRIPES]);
}

int ftpi__facts_pasv_range(struct ftpi__facts *fx, const struct ftpi_endpoint *srv, uint64_t t,
			   uint64_t frame, uint16_t *lo, uint16_t *hi)
{
	int n = 0;
	if (fx == NULL)
		return 0;
	uint32_t set = set_of(&srv->addr, srv->port);
	pthread_mutex_lock(&fx->stripe[set % FACT_STRIPES]);
	for (size_t i = (size_t)set * FACT_WAYS; i < (size_t)(set + 1) * FACT_WAYS; i++) {
		const struct srv_rec *r = &fx->srv[i];
		if (!r->used || !SRV_MATCH(r))
			continue;
		if (r->base_n) {
			*lo = r->base_lo;
			*hi = r->base_hi;
			n = 1;
		}
		for (int side = 0; side < 2; side++) {
			const struct obs *fr = side ? r->hi : r->lo;
			for (size_t k = 0; k < (side ? r->n_hi : r->n_lo) &&
					   before(fr[k].ts, fr[k].frame, t, frame);
			     k++) {
				if (n == 0 || fr[k].port < *lo)
					*lo = fr[k].port;
				if (n == 0 || fr[k].port > *hi)
					*hi = fr[k].port;
				n = 1;
			}
		}
		break;
	}
	pthread_mutex_unlock(&fx->stripe[set % FACT_STRIPES]);
	return n;
}

/* ---- failed logins ---- */

/* One failure at ts through bruteforce.c's rules; 1 when it raises. */
static int bf_step(struct bf_state *b, uint64_t ts, uint64_t window, uint32_t threshold)
{
	if (!b->started) {
		memset(b, 0, sizeof *b);
		b->started = 1;
		b->window_start = ts;
	}
	if (ts - b->window_start > window) {
		b->window_start = ts;
		b->count = 0;
		b->raised = 0;
	}
	b->count++;
	if (b->count >= threshold && !b->raised) {
		b->raised = 1;
		return 1;
	}
	return 0;
}

#define CLI_MATCH(r) ftpi__addr_eq(&(r)->addr, addr)

int ftpi__facts_login_failed(struct ftpi__facts *fx, uint64_t low, const struct ftpi_addr *addr,
			     uint64_t ts, uint64_t frame, uint64_t window, uint32_t threshold,
			     uint32_t *count)
{
	if (fx == NULL)
		return -1;
	uint32_t set = set_of(addr, 0);
	struct cli_rec *r;
	int raise;
	pthread_mutex_lock(&fx->stripe[set % FACT_STRIPES]);
	FIND_WAY(fx->cli, set, CLI_MATCH, r);
	if (!r->used) {
		r->used = 1;
		r->addr = *addr;
	}
	if (ts > r->last_us)
		r->last_us = ts;
	/* what one engine would hold before this failure: every engine's earlier ones (at the
	 * same time, those of lower frames) */
	struct bf_state b = r->base;
	size_t at = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (before(r->f[i].ts, r->f[i].frame, ts, frame)) {
			bf_step(&b, r->f[i].ts, window, threshold);
			at = i + 1;
		}
	}
	raise = bf_step(&b, ts, window, threshold);
	*count = b.count;
	/* keep it in time order; fold what no engine can ask about any more */
	if (r->n == FAILS_MAX) {
		atomic_fetch_add_explicit(&fx->early, 1, memory_order_relaxed);
		bf_step(&r->base, r->f[0].ts, window, threshold);
		memmove(r->f, &r->f[1], (size_t)(r->n - 1) * sizeof *r->f);
		r->n--;
		at = at ? at - 1 : 0;
	}
	memmove(&r->f[at + 1], &r->f[at], (r->n - at) * sizeof *r->f);
	r->f[at] = (struct fail){ts, frame};
	r->n++;
	size_t k = 0;
	while (k < r->n && r->f[k].ts < low)
		bf_step(&r->base, r->f[k++].ts, window, threshold);
	memmove(r->f, &r->f[k], (r->n - k) * sizeof *r->f);
	r->n = (uint8_t)(r->n - k);
	pthread_mutex_unlock(&fx->stripe[set % FACT_STRIPES]);
	return raise;
}
