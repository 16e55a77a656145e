/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mem.c - accounted allocation. Every byte the engine holds goes through here: it is charged to
 * a pool with its own cap and to the engine's total cap, and the caller's allocator (or malloc)
 * is called only when both fit. A refusal is counted, never fatal: callers degrade (drop a
 * segment, evict a flow). This unit is not a general allocator; slabs and free lists live with
 * the objects that reuse them (flow.c, reasm.c).
 */
#include <stdlib.h>

#include "engine.h"

int ftpi__mem_fits(const struct ftpi_engine *e, int pool, size_t size)
{
	if (e->pool_cap[pool] && e->pool_used[pool] + size > e->pool_cap[pool])
		return 0;
	return e->mem_used + size <= e->mem_cap;
}

void *ftpi__alloc(struct ftpi_engine *e, int pool, size_t size)
{
	void *p;

	FTPI__ASSERT(pool >= 0 && pool < FTPI__POOL__COUNT);
	if (size == 0)
		size = 1;
	if (!ftpi__mem_fits(e, pool, size)) {
		FTPI__COUNT(e, mem_cap_hits);
		return NULL;
	}
	if (e->cfg.allocator.alloc)
		p = e->cfg.allocator.alloc(e->cfg.allocator.opaque, size);
	else
		p = malloc(size);
	if (p == NULL) {
		FTPI__COUNT(e, alloc_failures);
		return NULL;
	}
	memset(p, 0, size);
	e->pool_used[pool] += size;
	e->mem_used += size;
	e->st.mem_in_use = e->mem_used;
	if (e->mem_used > e->st.mem_high_water)
		e->st.mem_high_water = e->mem_used;
	return p;
}

void ftpi__free(struct ftpi_engine *e, int pool, void *ptr, size_t size)
{
	if (ptr == NULL)
		return;
	if (size == 0)
		size = 1;
	FTPI__ASSERT(e->pool_used[pool] >= size);
	e->pool_used[pool] -= size;
	e->mem_used -= size;
	e->st.mem_in_use = e->mem_used;
	if (e->cfg.allocator.free)
		e->cfg.allocator.free(e->cfg.allocator.opaque, ptr, size);
	else
		free(ptr);
}
