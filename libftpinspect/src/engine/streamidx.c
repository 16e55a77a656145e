/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * streamidx.c - the stream API's bookkeeping: stream ids to flows in O(1) (an open-addressed
 * table, linear probing with backward-shift deletion, sized once for max_flows streams on the
 * first ftpi_stream_open; packet-fed flows are not in it), and the memory of streams held for a
 * late announcement (capped in count, accounted to the REASM pool).
 */
#include "engine.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

int ftpi__sidx_put(struct ftpi_engine *e, struct ftpi_flow *f)
{
	struct ftpi__sidx *t = &e->sidx;
	if (t->slots == NULL) {
		uint32_t cap = 1024;
		while (cap < 2 * e->cx.cfg.max_flows && cap < (1u << 25))
			cap <<= 1;
		t->slots = ftpi__alloc(&e->cx, FTPI__POOL_FLOW, (size_t)cap * sizeof *t->slots);
		if (t->slots == NULL)
			return FTPI_E_NOMEM;
		t->cap = cap;
	}
	if (t->n + 1 > t->cap / 2)
		return FTPI_E_LIMIT;
	uint32_t i = (uint32_t)(mix(f->id) & (t->cap - 1));
	while (t->slots[i] != NULL)
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = f;
	t->n++;
	return FTPI_OK;
}

struct ftpi_flow *ftpi__sidx_get(const struct ftpi_engine *e, uint64_t id)
{
	const struct ftpi__sidx *t = &e->sidx;
	if (t->slots == NULL || id == 0)
		return NULL;
	uint32_t i = (uint32_t)(mix(id) & (t->cap - 1));
	while (t->slots[i] != NULL) {
		if (t->slots[i]->id == id)
			return t->slots[i];
		i = (i + 1) & (t->cap - 1);
	}
	return NULL;
}

void ftpi__sidx_del(struct ftpi_engine *e, const struct ftpi_flow *f)
{
	struct ftpi__sidx *t = &e->sidx;
	if (t->slots == NULL)
		return;
	uint32_t mask = t->cap - 1, i = (uint32_t)(mix(f->id) & mask);
	while (t->slots[i] != NULL && t->slots[i] != f)
		i = (i + 1) & mask;
	if (t->slots[i] == NULL)
		return;
	t->slots[i] = NULL;
	t->n--;
	/* backward shift: move later entries of the cluster into the hole when they may */
	for (uint32_t j = (i + 1) & mask; t->slots[j] != NULL; j = (j + 1) & mask) {
		uint32_t home = (uint32_t)(mix(t->slots[j]->id) & mask);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			t->slots[j] = NULL;
			i = j;
		}
	}
}

void ftpi__sidx_release(struct ftpi_engine *e)
{
	struct ftpi__sidx *t = &e->sidx;
	if (t->slots)
		ftpi__free(&e->cx, FTPI__POOL_FLOW, t->slots, (size_t)t->cap * sizeof *t->slots);
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
