/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mem.c - accounted allocation. Every byte the engine holds goes through here: it is charged to
 * a pool with its own cap and to the engine's total cap, and the caller's allocator (or malloc)
 * is called only when both fit. A refusal is counted, never fatal: callers degrade (drop a
 * segment, evict a flow). Blocks up to 64 KiB are recycled through size-class free lists
 * (struct ftpi__memcache in internal.h) once the engine turns them on, so steady-state churn
 * does not reach the allocator; flows are recycled by flow/ itself.
 */
#include <stdlib.h>

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define FTPI__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FTPI__ASAN 1
#endif
#endif
#ifdef FTPI__ASAN
#include <sanitizer/asan_interface.h>
/* A kept block stays poisoned but for its link word, so a use after free is still caught. */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((char *)(p) + sizeof(void *), (n) - sizeof(void *))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)0)
#define UNPOISON(p, n) ((void)0)
#endif

/* The class of a size (1..64 KiB) and the class's block size. */
static unsigned size_class(size_t size, size_t *csize)
{
	if (size <= 256) {
		unsigned c = (unsigned)((size + 15) / 16) - 1;
		*csize = (size_t)(c + 1) * 16;
		return c;
	}
	unsigned e = 8; /* size in (2^e, 2^(e+1)] */
	while (((size_t)2 << e) < size)
		e++;
	size_t step = (size_t)1 << (e - 2);
	unsigned sub = (unsigned)((size - 1 - ((size_t)1 << e)) >> (e - 2));
	*csize = ((size_t)1 << e) + (sub + 1) * step;
	return 16 + (e - 8) * 4 + sub;
}

static void *raw_alloc(struct ftpi__ctx *cx, size_t size)
{
	if (cx->cfg.allocator.alloc)
		return cx->cfg.allocator.alloc(cx->cfg.allocator.opaque, size);
	return malloc(size);
}

static void raw_free(struct ftpi__ctx *cx, void *ptr, size_t size)
{
	if (cx->cfg.allocator.free)
		cx->cfg.allocator.free(cx->cfg.allocator.opaque, ptr, size);
	else
		free(ptr);
}

void ftpi__mem_drain(struct ftpi__ctx *cx)
{
	for (unsigned c = 0; c < FTPI__MEM_CLASSES; c++) {
		size_t csize;
		if (c < 16)
			csize = (size_t)(c + 1) * 16;
		else
			csize = ((size_t)1 << (8 + (c - 16) / 4)) +
				((c - 16) % 4 + 1) * ((size_t)1 << (6 + (c - 16) / 4));
		while (cx->cache.head[c]) {
			void *p = cx->cache.head[c];
			UNPOISON(p, sizeof(void *));
			memcpy(&cx->cache.head[c], p, sizeof(void *));
			UNPOISON(p, csize);
			raw_free(cx, p, csize);
			cx->cache.bytes -= csize;
		}
	}
}

int ftpi__mem_fits(const struct ftpi__ctx *cx, int pool, size_t size)
{
	if (cx->pool_cap[pool] && cx->pool_used[pool] + size > cx->pool_cap[pool])
		return 0;
	return cx->mem_used + size <= cx->mem_cap;
}

void *ftpi__alloc(struct ftpi__ctx *cx, int pool, size_t size)
{
	void *p = NULL;
	size_t csize = size;
	unsigned c = 0;
	int kept = 0;

	FTPI__ASSERT(pool >= 0 && pool < FTPI__POOL__COUNT);
	if (size == 0)
		size = csize = 1;
	if (!ftpi__mem_fits(cx, pool, size)) {
		FTPI__COUNT(cx, mem_cap_hits);
		return NULL;
	}
	if (cx->cache.on && size <= FTPI__MEM_CLASS_MAX) {
		kept = 1;
		c = size_class(size, &csize);
		p = cx->cache.head[c];
	}
	if (p != NULL) {
		UNPOISON(p, csize);
		memcpy(&cx->cache.head[c], p, sizeof(void *));
		cx->cache.bytes -= csize;
	} else {
		/* kept blocks count against the cap: give them back when it needs the room */
		if (kept && cx->cache.bytes && cx->mem_used + cx->cache.bytes + csize > cx->mem_cap)
			ftpi__mem_drain(cx);
		p = raw_alloc(cx, csize);
		if (p == NULL) {
			FTPI__COUNT(cx, alloc_failures);
			return NULL;
		}
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
	if (cx->cache.on && size <= FTPI__MEM_CLASS_MAX) {
		size_t csize;
		unsigned c = size_class(size, &csize);
		memcpy(ptr, &cx->cache.head[c], sizeof(void *));
		cx->cache.head[c] = ptr;
		cx->cache.bytes += csize;
		POISON(ptr, csize);
		return;
	}
	raw_free(cx, ptr, size);
}
