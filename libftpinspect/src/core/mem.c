/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mem.c - accounted allocation. Every byte the engine holds goes through here: it is charged to
 * a pool with its own cap and to the engine's total cap, and the caller's allocator (or malloc)
 * is called only when both fit. A refusal is counted, never fatal: callers degrade (drop a
 * segment, evict a flow). This unit is not a general allocator; slabs and free lists live with
 * the objects that reuse them (flow/, reasm/).
 */
#include <stdlib.h>

#include "internal.h"

int ftpi__mem_fits(const struct ftpi__ctx *cx, int pool, size_t size)
{
	if (cx->pool_cap[pool] && cx->pool_used[pool] + size > cx->pool_cap[pool])
		return 0;
	return cx->mem_used + size <= cx->mem_cap;
}

void *ftpi__alloc(struct ftpi__ctx *cx, int pool, size_t size)
{
	void *p;

	FTPI__ASSERT(pool >= 0 && pool < FTPI__POOL__COUNT);
	if (size == 0)
		size = 1;
	if (!ftpi__mem_fits(cx, pool, size)) {
		FTPI__COUNT(cx, mem_cap_hits);
		return NULL;
	}
	if (cx->cfg.allocator.alloc)
		p = cx->cfg.allocator.alloc(cx->cfg.allocator.opaque, size);
	else
		p = malloc(size);
	if (p == NULL) {
		FTPI__COUNT(cx, alloc_failures);
		return NULL;
	}
	memset(p, 0, size);
	cx->pool_used[pool] += size;
	cx->mem_used += size;
	cx->st.mem_in_use = cx->mem_used;
	if (cx->mem_used > cx->st.mem_high_water)
		cx->st.mem_high_water = cx->mem_used;
	return p;
}

void ftpi__free(struct ftpi__ctx *cx, int pool, void *ptr, size_t size)
{
	if (ptr == NULL)
		return;
	if (size == 0)
		size = 1;
	FTPI__ASSERT(cx->pool_used[pool] >= size);
	cx->pool_used[pool] -= size;
	cx->mem_used -= size;
	cx->st.mem_in_use = cx->mem_used;
	if (cx->cfg.allocator.free)
		cx->cfg.allocator.free(cx->cfg.allocator.opaque, ptr, size);
	else
		free(ptr);
}
