/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flow.c - the bidirectional TCP flow table. Flows are found by a keyed hash of the unordered
 * endpoint pair (SipHash-1-3 with the config's seed, so crafted traffic cannot aim at one
 * bucket) in an open-addressing table of cache-line buckets with 16-bit fingerprints (flow.h;
 * the layout of DPDK's rte_hash and VPP's bihash buckets), kept on an LRU list (head = most recently used) and recycled through a free list, so
 * the hot path does not allocate once the table has warmed up. At max_flows the least recently
 * used flow is evicted (and counted). Idle flows expire by state: handshake, established,
 * closing. Ending a flow is not done here: the table asks its owner through cbs.end, which runs
 * the one end path (engine/flowend.c) and then gives the flow back with ftpi__flow_free().
 */
#include "flow.h"
#include "siphash.h"

/* A total order on endpoints, only to put a flow's two ends in a fixed order for hashing. */
static int ep_cmp(const struct ftpi_endpoint *a, const struct ftpi_endpoint *b)
{
	uint64_t x[2], y[2];
	memcpy(x, a->addr.ip, 16);
	memcpy(y, b->addr.ip, 16);
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	if (x[1] != y[1])
		return x[1] < y[1] ? -1 : 1;
	return (int)a->port - (int)b->port;
}

uint64_t ftpi__flow_hash(const struct ftpi__ctx *cx, const struct ftpi_endpoint *src,
			 const struct ftpi_endpoint *dst)
{
	uint8_t m[40];
	const struct ftpi_endpoint *lo = src, *hi = dst;
	if (ep_cmp(src, dst) > 0) {
		lo = dst;
		hi = src;
	}
	/* IPv4 keys are 16 bytes (two SipHash words), IPv6 keys 40 */
	size_t alen = lo->addr.family == 6 ? 16 : 4;
	memcpy(m, lo->addr.ip, alen);
	memcpy(m + alen, hi->addr.ip, alen);
	m[2 * alen] = (uint8_t)(lo->port >> 8);
	m[2 * alen + 1] = (uint8_t)lo->port;
	m[2 * alen + 2] = (uint8_t)(hi->port >> 8);
	m[2 * alen + 3] = (uint8_t)hi->port;
	memset(m + 2 * alen + 4, lo->addr.family, 4);
	/* a constant length each: the compiler drops the loops (one call per packet) */
	if (alen == 4)
		return ftpi__siphash13(cx->cfg.hash_seed, m, 16);
	return ftpi__siphash13(cx->cfg.hash_seed, m, 40);
}

/* The 16-bit fingerprint kept in the bucket: hash bits the bucket index does not use; never 0
 * (0 marks a free slot). */
static inline uint16_t fingerprint(uint64_t hash)
{
	uint16_t fp = (uint16_t)(hash >> 48);
	return fp ? fp : 1;
}

int ftpi__flow_table_init(struct ftpi__ctx *cx, struct ftpi_flow_table *t,
			  const struct ftpi_flow_cbs *cbs)
{
	/* At least 4/3 slots per flow: at most 75% full, so probes stay short. */
	uint64_t want = ((uint64_t)cx->cfg.max_flows * 4 / 3 + FTPI_FLOW_SLOTS - 1) / FTPI_FLOW_SLOTS;
	uint32_t n = 16;
	while (n < want)
		n <<= 1;
	t->mem_size = (size_t)n * sizeof *t->buckets + 63;
	t->mem = ftpi__alloc(cx, FTPI__POOL_FLOW, t->mem_size);
	if (t->mem == NULL)
		return FTPI_E_NOMEM;
	t->buckets = (struct ftpi_flow_bucket *)(((uintptr_t)t->mem + 63) & ~(uintptr_t)63);
	t->nbuckets = n;
	t->next_id = 1;
	t->cbs = *cbs;
	return FTPI_OK;
}

void ftpi__flow_table_release(struct ftpi__ctx *cx, struct ftpi_flow_table *t)
{
	struct ftpi_flow *f, *next;

	for (f = t->lru_head; f; f = next) {
		next = f->lru_next;
		t->cbs.release(t->cbs.user, f);
		ftpi__free(cx, FTPI__POOL_FLOW, f, sizeof *f);
	}
	for (f = t->free_list; f; f = next) {
		next = f->lru_next;
		ftpi__free(cx, FTPI__POOL_FLOW, f, sizeof *f);
	}
	ftpi__free(cx, FTPI__POOL_FLOW, t->mem, t->mem_size);
	memset(t, 0, sizeof *t);
}

struct ftpi_flow *ftpi__flow_lookup(struct ftpi_flow_table *t, const struct ftpi_endpoint *src,
				    const struct ftpi_endpoint *dst, uint64_t hash, int *dir)
{
	const uint32_t mask = t->nbuckets - 1;
	const uint16_t fp = fingerprint(hash);

	for (uint32_t b = (uint32_t)hash & mask;; b = (b + 1) & mask) {
		const struct ftpi_flow_bucket *bk = &t->buckets[b];
		for (int i = 0; i < FTPI_FLOW_SLOTS; i++) {
			struct ftpi_flow *f = bk->slot[i];
			if (bk->fp[i] != fp || f->hash != hash)
				continue;
			if (ftpi__ep_eq(&f->cli, src) && ftpi__ep_eq(&f->srv, dst)) {
				*dir = FTPI_DIR_TO_SERVER;
				return f;
			}
			if (ftpi__ep_eq(&f->srv, src) && ftpi__ep_eq(&f->cli, dst)) {
				*dir = FTPI_DIR_TO_CLIENT;
				return f;
			}
		}
		if (bk->overflow == 0)
			return NULL;
	}
}

static void hash_insert(struct ftpi_flow_table *t, struct ftpi_flow *f)
{
	const uint32_t mask = t->nbuckets - 1;

	for (uint32_t b = (uint32_t)f->hash & mask;; b = (b + 1) & mask) {
		struct ftpi_flow_bucket *bk = &t->buckets[b];
		for (int i = 0; i < FTPI_FLOW_SLOTS; i++) {
			if (bk->fp[i] == 0) {
				bk->fp[i] = fingerprint(f->hash);
				bk->slot[i] = f;
				return;
			}
		}
		bk->overflow++; /* never loops forever: count < 3/4 of the slots */
	}
}

static void hash_unlink(struct ftpi_flow_table *t, struct ftpi_flow *f)
{
	const uint32_t mask = t->nbuckets - 1;
	uint32_t home = (uint32_t)f->hash & mask, b = home;

	for (uint32_t probes = 0; probes < t->nbuckets; probes++, b = (b + 1) & mask) {
		struct ftpi_flow_bucket *bk = &t->buckets[b];
		for (int i = 0; i < FTPI_FLOW_SLOTS; i++) {
			if (bk->slot[i] == f && bk->fp[i] != 0) {
				bk->fp[i] = 0;
				bk->slot[i] = NULL;
				/* the buckets it went past no longer hold it up */
				for (uint32_t c = home; c != b; c = (c + 1) & mask)
					t->buckets[c].overflow--;
				return;
			}
		}
	}
	FTPI__ASSERT(0);
}

static void lru_unlink(struct ftpi_flow_table *t, struct ftpi_flow *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_push_head(struct ftpi_flow_table *t, struct ftpi_flow *f)
{
	f->lru_prev = NULL;
	f->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = f;
	t->lru_head = f;
	if (t->lru_tail == NULL)
		t->lru_tail = f;
}

void ftpi__flow_touch(struct ftpi_flow_table *t, struct ftpi_flow *f, uint64_t now)
{
	if (now > f->last_us)
		f->last_us = now;
	if (t->lru_head != f) {
		lru_unlink(t, f);
		lru_push_head(t, f);
	}
}

static struct ftpi_flow *take_free(struct ftpi_flow_table *t)
{
	struct ftpi_flow *f = t->free_list;
	if (f) {
		t->free_list = f->lru_next;
		memset(f, 0, sizeof *f);
	}
	return f;
}

struct ftpi_flow *ftpi__flow_create(struct ftpi__ctx *cx, struct ftpi_flow_table *t,
				    const struct ftpi_endpoint *cli, const struct ftpi_endpoint *srv,
				    uint64_t hash)
{
	struct ftpi_flow *f;

	if (t->count >= cx->cfg.max_flows && t->lru_tail) {
		FTPI__COUNT(cx, flows_evicted);
		t->cbs.end(t->cbs.user, t->lru_tail, FTPI_FLOW_END_EVICTED);
	}
	f = take_free(t);
	if (f == NULL) {
		f = ftpi__alloc(cx, FTPI__POOL_FLOW, sizeof *f);
		if (f == NULL && t->lru_tail) { /* memory cap: make room from the LRU end */
			FTPI__COUNT(cx, flow_memcap);
			FTPI__COUNT(cx, flows_evicted);
			t->cbs.end(t->cbs.user, t->lru_tail, FTPI_FLOW_END_EVICTED);
			f = take_free(t);
		}
		if (f == NULL) {
			FTPI__COUNT(cx, flow_memcap);
			return NULL;
		}
	}
	f->hash = hash;
	f->id = t->next_id++;
	f->cli = *cli;
	f->srv = *srv;
	f->first_us = f->last_us = cx->now_us;
	f->first_frame = cx->frame;
	hash_insert(t, f);
	lru_push_head(t, f);
	t->count++;
	FTPI__COUNT(cx, flows_created);
	cx->st.flows_active = t->count;
	return f;
}

struct ftpi_flow *ftpi__flow_by_id(struct ftpi_flow_table *t, uint64_t id)
{
	/* Streams (ftpi_stream_*) are few and long-lived; a walk is fine for them. */
	for (struct ftpi_flow *f = t->lru_head; f; f = f->lru_next)
		if (f->id == id)
			return f;
	return NULL;
}

void ftpi__flow_free(struct ftpi__ctx *cx, struct ftpi_flow_table *t, struct ftpi_flow *f)
{
	if (t->last == f)
		t->last = NULL;
	hash_unlink(t, f);
	lru_unlink(t, f);
	t->count--;
	cx->st.flows_active = t->count;
	f->lru_next = t->free_list;
	t->free_list = f;
}

static uint64_t flow_timeout(const struct ftpi__ctx *cx, const struct ftpi_flow *f)
{
	switch (f->state) {
	case FTPI_FLOW_SYN_SENT:
	case FTPI_FLOW_SYN_RCVD:
		return cx->cfg.timeout_syn;
	case FTPI_FLOW_CLOSING:
	case FTPI_FLOW_CLOSED:
		return cx->cfg.timeout_closing;
	default:
		return cx->cfg.timeout_established;
	}
}

void ftpi__flow_expire(struct ftpi_flow_table *t, const struct ftpi__ctx *cx, uint64_t now)
{
	uint64_t min_to = FTPI__MIN(cx->cfg.timeout_syn,
				    FTPI__MIN(cx->cfg.timeout_closing, cx->cfg.timeout_established));
	struct ftpi_flow *f = t->lru_tail, *prev;

	/* From the least recently used end; stop at the first flow younger than any timeout. */
	for (; f; f = prev) {
		prev = f->lru_prev;
		uint64_t idle = now > f->last_us ? now - f->last_us : 0;
		if (idle < min_to)
			break;
		if (f->external)
			continue; /* streams end when their owner says so */
		if (idle >= flow_timeout(cx, f))
			t->cbs.end(t->cbs.user, f,
				   f->state == FTPI_FLOW_CLOSED ? FTPI_FLOW_END_NORMAL
								: FTPI_FLOW_END_TIMEOUT);
	}
}

void ftpi__flow_end_all(struct ftpi_flow_table *t)
{
	while (t->lru_tail)
		t->cbs.end(t->cbs.user, t->lru_tail, FTPI_FLOW_END_FLUSH);
}

static const char *const state_names[] = {
#define XX(name) #name,
	FTPI_FLOW_STATE_MAP(XX)
#undef XX
};

const char *ftpi__flow_state_name(int state)
{
	if (state < 0 || state >= FTPI_FLOW__STATE_COUNT)
		return "?";
	return state_names[state];
}

void ftpi__flow_set_state(struct ftpi_flow *f, int state)
{
	/* TCP states only move forward; the one way back is a port pair reused after CLOSED, which
	 * makes a new flow. */
	FTPI__ASSERT(state >= f->state || f->state == FTPI_FLOW_SYN_SENT);
	f->state = (uint8_t)state;
}
