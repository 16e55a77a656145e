/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * internal.h - the core every stage builds on: the narrow context a stage works in (config,
 * counters, accounted memory, capture clock), memory pools, and small helpers. Nothing here is
 * public; nothing here does I/O; nothing here knows a stage.
 */
#ifndef FTPI_INTERNAL_H
#define FTPI_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "ftpinspect.h"

#if defined(__GNUC__)
#define FTPI__LIKELY(x) __builtin_expect(!!(x), 1)
#define FTPI__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FTPI__LIKELY(x) (x)
#define FTPI__UNLIKELY(x) (x)
#endif

/* Can't-happen branches (SQLite ALWAYS/NEVER): checked in debug builds, trusted otherwise. */
#ifdef FTPI_DEBUG
#include <assert.h>
#define FTPI__ASSERT(x) assert(x)
#define FTPI__ALWAYS(x) ((x) ? 1 : (assert(0), 0))
#define FTPI__NEVER(x) ((x) ? (assert(0), 1) : 0)
#else
#define FTPI__ASSERT(x) ((void)0)
#define FTPI__ALWAYS(x) (x)
#define FTPI__NEVER(x) (x)
#endif

#define FTPI__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FTPI__MIN(a, b) ((a) < (b) ? (a) : (b))
#define FTPI__MAX(a, b) ((a) > (b) ? (a) : (b))

/* Wrap-safe TCP sequence comparisons (RFC 793 §3.3); the only place they are defined. */
#define FTPI__SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define FTPI__SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define FTPI__SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define FTPI__SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

/* Memory pools: every allocation is accounted to one, and all share the engine's mem_cap. */
enum ftpi__pool {
	FTPI__POOL_FLOW = 0,
	FTPI__POOL_REASM,
	FTPI__POOL_SESSION,
	FTPI__POOL_EXPECT,
	FTPI__POOL_TLS,
	FTPI__POOL_NDPI,
	FTPI__POOL_MISC,
	FTPI__POOL_FRAG, /* IP fragments being reassembled (cap frag_mem) */
	FTPI__POOL__COUNT
};

/*
 * Size-class free lists (mem.c): a block given back is kept for the next allocation of its
 * class instead of going back to the allocator, so a warm engine under session churn does not
 * call malloc/free per session, segment, expectation or line buffer. 16-byte classes up to 256
 * bytes, then four per power of two up to 64 KiB (a class is at most 1/4 larger than the size
 * asked for); larger blocks are not kept. Kept blocks count against mem_cap (and are released
 * when the cap needs the room); they are not in mem_in_use, which stays the live bytes.
 */
#define FTPI__MEM_CLASSES 48
#define FTPI__MEM_CLASS_MAX 65536u
struct ftpi__memcache {
	void *head[FTPI__MEM_CLASSES];
	size_t bytes; /* held in the lists */
	int on;       /* set by the engine before its first allocation; never changes after */
};

/*
 * The context every stage gets instead of the engine: what the engine was configured with, its
 * counters, its memory accounting, the capture clock and the event sink's state. A stage's own
 * state lives in its own struct; only engine/ sees them all.
 */
struct ftpi__ctx {
	struct ftpi_config cfg; /* the engine's copy; its arrays point at engine-owned copies */
	struct ftpi_stats st;
	size_t pool_used[FTPI__POOL__COUNT];
	size_t pool_cap[FTPI__POOL__COUNT];
	size_t mem_used, mem_cap;
	struct ftpi__memcache cache;
	uint64_t now_us; /* capture time of the packet being processed */
	uint64_t frame;  /* 1-based number of that packet */
	int stop;        /* the callback asked to stop: no more events in this call */
	int in_flush;    /* events carry no frame while the engine is flushed */
};

/* Allocates size bytes for pool, zeroed. NULL when the pool's or the engine's cap would be
 * exceeded (counted as mem_cap_hits) or the allocator failed (alloc_failures). */
void *ftpi__alloc(struct ftpi__ctx *cx, int pool, size_t size);
/* Frees what ftpi__alloc returned; size must be the size asked for. NULL is a no-op. */
void ftpi__free(struct ftpi__ctx *cx, int pool, void *ptr, size_t size);
/* Per-pool caps are checked against this; returns 1 when size more bytes would fit. */
int ftpi__mem_fits(const struct ftpi__ctx *cx, int pool, size_t size);
/* Gives every block kept in the size-class lists back to the allocator. */
void ftpi__mem_drain(struct ftpi__ctx *cx);

/* Counters: cx->st.<name>++ everywhere. */
#define FTPI__COUNT(e, name) ((e)->st.name++)
#define FTPI__COUNT_N(e, name, n) ((e)->st.name += (n))

/* Text helpers (strings.c). */
/* Address equality: fixed-size compares the compiler inlines (hot in flow lookup). */
static inline int ftpi__addr_eq(const struct ftpi_addr *a, const struct ftpi_addr *b)
{
	uint64_t x[2], y[2];
	if (a->family != b->family)
		return 0;
	if (a->family != 6) {
		uint32_t p, q;
		memcpy(&p, a->ip, 4);
		memcpy(&q, b->ip, 4);
		return p == q;
	}
	memcpy(x, a->ip, 16);
	memcpy(y, b->ip, 16);
	return x[0] == y[0] && x[1] == y[1];
}

static inline int ftpi__ep_eq(const struct ftpi_endpoint *a, const struct ftpi_endpoint *b)
{
	return a->port == b->port && ftpi__addr_eq(&a->addr, &b->addr);
}
int ftpi__addr_is_private(const struct ftpi_addr *a);
int ftpi__cidr_match(const struct ftpi_cidr *c, const struct ftpi_addr *a);
/* Appends printf-style text to a fixed buffer, never overflowing; returns the new length. */
size_t ftpi__buf_printf(char *buf, size_t cap, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;
/* Appends escaped wire bytes (ftpi_escape rules) to buf; returns the new length. */
size_t ftpi__buf_escape(char *buf, size_t cap, size_t len, const void *src, size_t n);
/* "10.0.0.1:21" or "[fd00::1]:21". */
size_t ftpi__buf_endpoint(char *buf, size_t cap, size_t len, const struct ftpi_endpoint *ep);

#endif /* FTPI_INTERNAL_H */
