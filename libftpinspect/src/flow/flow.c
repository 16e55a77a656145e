/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flow.c - the bidirectional TCP flow table. Flows are found by a keyed hash of the unordered
 * endpoint pair (SipHash-1-3 with the config's seed, so crafted traffic cannot aim at one
 * bucket) in an open-addressing table of cache-line buckets with 16-bit fingerprints (flow.h;
 * the layout of DPDK's rte_hash and VPP's bihash buckets), kept on an LRU list (head = most
 * recently used) and recycled through a free list, so the hot path does not allocate once the
 * table has warmed up. At max_flows the least recently used flow is evicted (and counted). Idle
 * flows expire by state: handshake, established, closing. The once-a-second expiry walk parks
 * the established flows it passes (idle, not yet past their long timeout) on a second list, so
 * it walks each of them once, not every second; the two lists merged by lru_seq are the LRU
 * order. Ending a flow is not done here: the table asks its owner through cbs.end, which runs
 * the one end path (ftpi__dispatch_end, engine/dispatch.c) and then gives the flow back with
 * ftpi__flow_free().
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
	/* IPv4 keys are 16 bytes (two SipHash words), IPv6 keys 40: each built with constant
	 * sizes, so the copies and SipHash's loops unroll (one call per packet). Written out twice
	 * on purpose: through one helper with a size argument GCC 12 calls SipHash out of line
	 * (c2000 corpus: 82.3 -> 96.8 M instructions here). */
	if (lo->addr.family != 6) {
		memcpy(m, lo->addr.ip, 4);
		memcpy(m + 4, hi->addr.ip, 4);
		m[8] = (uint8_t)(lo->port >> 8);
		m[9] = (uint8_t)lo->port;
		m[10] = (uint8_t)(hi->port >> 8);
		m[11] = (uint8_t)hi->port;
		memset(m + 12, lo->addr.family, 4);
		return ftpi__siphash13(cx->cfg.hash_seed, m, 16);
	}
	memcpy(m, lo->addr.ip, 16);
	memcpy(m + 16, hi->addr.ip, 16);
	m[32] = (uint8_t)(lo->port >> 8);
	m[33] = (uint8_t)lo->port;
	m[34] = (uint8_t)(hi->port >> 8);
	m[35] = (uint8_t)hi->port;
	memset(m + 36, 6, 4);
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
	for (f = t->park_head; f; f = next) {
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

/* Takes f off the list it is on (the LRU list or the parked one). */
static void lru_unlink(struct ftpi_flow_table *t, struct ftpi_flow *f)
{
	struct ftpi_flow **head = f->parked ? &t->park_head : &t->lru_head;
	struct ftpi_flow **tail = f->parked ? &t->park_tail : &t->lru_tail;
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		*head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		*tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
	f->parked = 0;
}

/* Puts f at the head of the LRU list: the most recently used flow. */
static void lru_push_head(struct ftpi_flow_table *t, struct ftpi_flow *f)
{
	f->lru_seq = ++t->lru_seq;
	f->lru_prev = NULL;
	f->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = f;
	t->lru_head = f;
	if (t->lru_tail == NULL)
		t->lru_tail = f;
}

/* Moves f from the LRU list to the parked one, in lru_seq order (the walk parks flows oldest
 * first and after every flow parked before, so f goes to the head). */
static void park(struct ftpi_flow_table *t, struct ftpi_flow *f)
{
	lru_unlink(t, f);
	struct ftpi_flow *newer = NULL, *older = t->park_head;
	while (older && older->lru_seq > f->lru_seq) {
		newer = older;
		older = older->lru_next;
	}
	f->lru_prev = newer;
	f->lru_next = older;
	if (newer)
		newer->lru_next = f;
	else
		t->park_head = f;
	if (older)
		older->lru_prev = f;
	else
		t->park_tail = f;
	f->parked = 1;
}

void ftpi__flow_touch(struct ftpi_flow_table *t, struct ftpi_flow *f, uint64_t now)
{
	if (now > f->last_us)
		f->last_us = now;
	if (t->lru_head != f) { /* the head holds the highest lru_seq already */
		lru_unlink(t, f);
		lru_push_head(t, f);
	}
}

/* The older of the two lists' next flows (LRU order). */
static struct ftpi_flow *older_of(struct ftpi_flow *a, struct ftpi_flow *p)
{
	if (a == NULL)
		return p;
	if (p == NULL)
		return a;
	return a->lru_seq < p->lru_seq ? a : p;
}

struct ftpi_flow *ftpi__flow_lru_first(const struct ftpi_flow_table *t,
				       struct ftpi_flow_lru_iter *it)
{
	it->a = t->lru_tail;
	it->p = t->park_tail;
	return ftpi__flow_lru_next(it);
}

struct ftpi_flow *ftpi__flow_lru_next(struct ftpi_flow_lru_iter *it)
{
	struct ftpi_flow *f = older_of(it->a, it->p);
	if (f == NULL)
		return NULL;
	if (f == it->a)
		it->a = f->lru_prev;
	else
		it->p = f->lru_prev;
	return f;
}

/* The least recently used flow of the table (NULL when empty). */
static struct ftpi_flow *lru_oldest(const struct ftpi_flow_table *t)
{
	return older_of(t->lru_tail, t->park_tail);
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

	if (t->count >= cx->cfg.max_flows && lru_oldest(t)) {
		FTPI__COUNT(cx, flows_evicted);
		t->cbs.end(t->cbs.user, lru_oldest(t), FTPI_FLOW_END_EVICTED);
	}
	f = take_free(t);
	if (f == NULL) {
		f = ftpi__alloc(cx, FTPI__POOL_FLOW, sizeof *f);
		if (f == NULL && lru_oldest(t)) { /* memory cap: make room from the LRU end */
			FTPI__COUNT(cx, flow_memcap);
			FTPI__COUNT(cx, flows_evicted);
			t->cbs.end(t->cbs.user, lru_oldest(t), FTPI_FLOW_END_EVICTED);
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
	for (struct ftpi_flow *f = t->park_head; f; f = f->lru_next)
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

/* Whether the flow's state takes the established timeout (what a parked flow waits for). */
static int established(const struct ftpi_flow *f)
{
	return f->state != FTPI_FLOW_SYN_SENT && f->state != FTPI_FLOW_SYN_RCVD &&
	       f->state != FTPI_FLOW_CLOSING && f->state != FTPI_FLOW_CLOSED;
}

/* From g on toward the LRU head, the next flow idle past its state's timeout; the established
 * flows passed on the way (idle past the shortest timeout, not past theirs) are parked. NULL at
 * the first flow idle less than the shortest timeout: the ones after it are younger still. */
static struct ftpi_flow *next_expired(struct ftpi_flow_table *t, const struct ftpi__ctx *cx,
				      struct ftpi_flow *g, uint64_t now, uint64_t min_to)
{
	while (g) {
		struct ftpi_flow *newer = g->lru_prev;
		uint64_t idle = now > g->last_us ? now - g->last_us : 0;
		if (idle < min_to)
			return NULL;
		if (!g->external) { /* streams end when their owner says so */
			uint64_t to = flow_timeout(cx, g);
			if (idle >= to)
				return g;
			if (established(g))
				park(t, g);
		}
		g = newer;
	}
	return NULL;
}

void ftpi__flow_expire(struct ftpi_flow_table *t, const struct ftpi__ctx *cx, uint64_t now)
{
	uint64_t min_to = FTPI__MIN(cx->cfg.timeout_syn,
				    FTPI__MIN(cx->cfg.timeout_closing, cx->cfg.timeout_established));
	/* Both lists are in LRU order, so each one's expired flows are at its tail (parked flows
	 * share one timeout); they end in the one LRU order, the lists merged by lru_seq. */
	struct ftpi_flow *a = next_expired(t, cx, t->lru_tail, now, min_to), *p = t->park_tail;
	for (;;) {
		int p_due = p && now > p->last_us && now - p->last_us >= cx->cfg.timeout_established;
		struct ftpi_flow *f = older_of(a, p_due ? p : NULL);
		if (f == NULL)
			break;
		if (f == a)
			a = next_expired(t, cx, a->lru_prev, now, min_to);
		else
			p = p->lru_prev;
		t->cbs.end(t->cbs.user, f,
			   f->state == FTPI_FLOW_CLOSED ? FTPI_FLOW_END_NORMAL : FTPI_FLOW_END_TIMEOUT);
	}
}

void ftpi__flow_end_all(struct ftpi_flow_table *t)
{
	struct ftpi_flow *f;
	while ((f = lru_oldest(t)) != NULL)
		t->cbs.end(t->cbs.user, f, FTPI_FLOW_END_FLUSH);
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
