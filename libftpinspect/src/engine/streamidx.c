/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * streamidx.c - the stream API's bookkeeping: stream ids to handles in O(1) (32-byte handles
 * at slot id % cap or the few after it, a small overflow list for the rest; sized once for
 * max_flows streams on the first ftpi_stream_open; packet-fed flows are not in it), and the
 * memory of streams held for a late announcement (capped in count, accounted to the REASM pool).
 * A handle carries what a call that only counts needs (engine.h).
 */
#include "engine.h"

#ifdef __linux__
#include <sys/mman.h>
#endif

#define SIDX_HUGE ((size_t)2 << 20) /* a transparent huge page */

/* One allocation: the slots (aligned to a line; the window runs past the last), the overflow,
 * then the flow pointers. A table of 2 MiB or more starts on a 2 MiB boundary (the padding is
 * allocated and accounted like the rest) and is marked for transparent huge pages where the
 * kernel offers them (madvise mode): 100,000 handles then take 2 TLB entries, not 800. */
static int sidx_init(struct ftpi_engine *e, struct ftpi__sidx *t)
{
	uint32_t cap = 1024;
	while (cap < 2 * e->cx.cfg.max_flows && cap < (1u << 25))
		cap <<= 1;
	size_t nslots = (size_t)cap + FTPI__SIDX_WINDOW - 1 + FTPI__SIDX_OVERFLOW;
	size_t table = nslots * (sizeof *t->slots + sizeof *t->flows);
	size_t align = table >= SIDX_HUGE ? SIDX_HUGE : 64;
	size_t size = align + table;
	t->raw = ftpi__alloc(&e->cx, FTPI__POOL_FLOW, size);
	if (t->raw == NULL)
		return FTPI_E_NOMEM;
	t->raw_size = size;
	uintptr_t start = ((uintptr_t)t->raw + align - 1) & ~(uintptr_t)(align - 1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
	if (align == SIDX_HUGE) /* advice only: without huge pages the table works the same */
		(void)madvise((void *)start, table & ~(SIDX_HUGE - 1), MADV_HUGEPAGE);
#endif
	t->slots = (struct ftpi__shandle *)start;
	t->over = t->slots + cap + FTPI__SIDX_WINDOW - 1;
	t->flows = (struct ftpi_flow **)(t->slots + nslots);
	t->cap = cap;
	return FTPI_OK;
}

int ftpi__sidx_put(struct ftpi_engine *e, struct ftpi_flow *f)
{
	struct ftpi__sidx *t = &e->sidx;
	if (t->slots == NULL && sidx_init(e, t) != FTPI_OK)
		return FTPI_E_NOMEM;
	struct ftpi__shandle *h = &t->slots[f->id & (t->cap - 1)];
	int k = 0;
	while (k < FTPI__SIDX_WINDOW && h[k].id != 0)
		k++;
	if (k < FTPI__SIDX_WINDOW) {
		h += k;
	} else if (t->n_over < FTPI__SIDX_OVERFLOW) {
		h = &t->over[t->n_over++];
	} else {
		return FTPI_E_LIMIT;
	}
	memset(h, 0, sizeof *h);
	h->id = f->id;
	t->flows[h - t->slots] = f;
	h->touch_us = f->last_us + 1000000; /* fast[] = 0: the first data call refreshes */
	t->n++;
	return FTPI_OK;
}

struct ftpi_flow *ftpi__sidx_get(const struct ftpi_engine *e, uint64_t id)
{
	struct ftpi__shandle *h = ftpi__sidx_find(&e->sidx, id);
	return h ? ftpi__shandle_flow(&e->sidx, h) : NULL;
}

void ftpi__sidx_sync(struct ftpi_engine *e, struct ftpi_flow *f)
{
	struct ftpi__shandle *h = ftpi__sidx_find(&e->sidx, f->id);
	if (h != NULL && ftpi__shandle_flow(&e->sidx, h) == f)
		ftpi__shandle_fold(&e->sidx, h);
}

void ftpi__sidx_refresh(struct ftpi_engine *e, uint64_t id)
{
	struct ftpi__shandle *h = ftpi__sidx_find(&e->sidx, id);
	if (h == NULL)
		return;
	const struct ftpi_flow *f = ftpi__shandle_flow(&e->sidx, h);
	/* a call only counts when no byte goes up (the direction is not wanted, or the upper
	 * stages were told the flow ended), nothing is held, and the handshake is known done */
	for (int d = 0; d < 2; d++)
		h->fast[d] = f->hold == NULL && f->half[1].syn_seen &&
			     (!f->half[d].want || f->app_closed);
	h->touch_us = f->last_us + 1000000;
}

void ftpi__sidx_del(struct ftpi_engine *e, const struct ftpi_flow *f)
{
	struct ftpi__sidx *t = &e->sidx;
	struct ftpi__shandle *h = ftpi__sidx_find(t, f->id);
	if (h == NULL || ftpi__shandle_flow(t, h) != f)
		return;
	t->n--;
	if (h >= t->over) { /* the overflow list stays packed */
		struct ftpi__shandle *last = &t->over[--t->n_over];
		*h = *last;
		t->flows[h - t->slots] = t->flows[last - t->slots];
		last->id = 0;
		t->flows[last - t->slots] = NULL;
		return;
	}
	h->id = 0;
	t->flows[h - t->slots] = NULL;
}

void ftpi__sidx_release(struct ftpi_engine *e)
{
	struct ftpi__sidx *t = &e->sidx;
	if (t->raw)
		ftpi__free(&e->cx, FTPI__POOL_FLOW, t->raw, t->raw_size);
	memset(t, 0, sizeof *t);
}

struct ftpi__hold *ftpi__hold_new(struct ftpi_engine *e, struct ftpi_flow *f)
{
	if (e->n_held >= FTPI__HOLD_MAX)
		return NULL;
	struct ftpi__hold *h = ftpi__alloc(&e->cx, FTPI__POOL_REASM, sizeof *h);
	if (h == NULL)
		return NULL;
	h->f = f;
	h->since_us = e->cx.now_us;
	h->first_dir = -1;
	h->prev = NULL;
	h->next = e->held;
	if (e->held)
		e->held->prev = h;
	e->held = h;
	e->n_held++;
	f->hold = h;
	return h;
}

void ftpi__hold_free(struct ftpi_engine *e, struct ftpi_flow *f)
{
	struct ftpi__hold *h = f->hold;
	if (h == NULL)
		return;
	if (h->prev)
		h->prev->next = h->next;
	else
		e->held = h->next;
	if (h->next)
		h->next->prev = h->prev;
	e->n_held--;
	f->hold = NULL;
	ftpi__free(&e->cx, FTPI__POOL_REASM, h, sizeof *h);
}
