/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flow.c - the bidirectional TCP flow table. Flows are found by a keyed hash of the unordered
 * endpoint pair (SipHash-1-3 with the config's seed, so crafted traffic cannot aim at one
 * bucket), kept on an LRU list (head = most recently used) and recycled through a free list, so
 * the hot path does not allocate once the table has warmed up. At max_flows the least recently
 * used flow is evicted (and counted). Idle flows expire by state: handshake, established,
 * closing. Ending a flow always runs the same path: reassembly is flushed, the app layer is told,
 * FLOW_END is emitted.
 */
#include "app.h"
#include "engine.h"
#include "flow.h"

/* SipHash-1-3 (Aumasson & Bernstein), 64-bit output, over a short key-sized message. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8); /* the key is hashed as host-order words: only equality matters */
	return v;
}

static uint64_t siphash13(const uint64_t key[2], const uint8_t *m, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	size_t i, blocks = len / 8;
	uint64_t b = (uint64_t)len << 56;

	for (i = 0; i < blocks; i++) {
		uint64_t mi = load64(m + i * 8);
		v3 ^= mi;
		SIPROUND;
		v0 ^= mi;
	}
	for (size_t j = 0; j < (len & 7); j++)
		b |= (uint64_t)m[blocks * 8 + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

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

uint64_t ftpi__flow_hash(const struct ftpi_engine *e, const struct ftpi_endpoint *src,
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
	return siphash13(e->cfg.hash_seed, m, 2 * alen + 8);
}

int ftpi__flow_table_init(struct ftpi_engine *e)
{
	struct ftpi_flow_table *t = &e->flows;
	uint32_t n = 1024;
	while (n < e->cfg.max_flows && n < (1u << 24))
		n <<= 1;
	t->buckets = ftpi__alloc(e, FTPI__POOL_FLOW, (size_t)n * sizeof *t->buckets);
	if (t->buckets == NULL)
		return FTPI_E_NOMEM;
	t->nbuckets = n;
	t->next_id = 1;
	return FTPI_OK;
}

static void flow_free_mem(struct ftpi_engine *e, struct ftpi_flow *f)
{
	ftpi__free(e, FTPI__POOL_FLOW, f, sizeof *f);
}

void ftpi__flow_table_release(struct ftpi_engine *e)
{
	struct ftpi_flow_table *t = &e->flows;
	struct ftpi_flow *f, *next;

	for (f = t->lru_head; f; f = next) {
		next = f->lru_next;
		ftpi__app_release(e, f);
		ftpi__reasm_release(e, &f->half[0]);
		ftpi__reasm_release(e, &f->half[1]);
		flow_free_mem(e, f);
	}
	for (f = t->free_list; f; f = next) {
		next = f->hnext;
		flow_free_mem(e, f);
	}
	ftpi__free(e, FTPI__POOL_FLOW, t->buckets, (size_t)t->nbuckets * sizeof *t->buckets);
	memset(t, 0, sizeof *t);
	e->last_flow = NULL;
}

struct ftpi_flow *ftpi__flow_lookup(struct ftpi_engine *e, const struct ftpi_endpoint *src,
				    const struct ftpi_endpoint *dst, uint64_t hash, int *dir)
{
	struct ftpi_flow_table *t = &e->flows;
	for (struct ftpi_flow *f = t->buckets[hash & (t->nbuckets - 1)]; f; f = f->hnext) {
		if (f->hash != hash)
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
	return NULL;
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

void ftpi__flow_touch(struct ftpi_engine *e, struct ftpi_flow *f, uint64_t now)
{
	struct ftpi_flow_table *t = &e->flows;
	if (now > f->last_us)
		f->last_us = now;
	if (t->lru_head != f) {
		lru_unlink(t, f);
		lru_push_head(t, f);
	}
}

struct ftpi_flow *ftpi__flow_create(struct ftpi_engine *e, const struct ftpi_endpoint *cli,
				    const struct ftpi_endpoint *srv, uint64_t hash, uint64_t now)
{
	struct ftpi_flow_table *t = &e->flows;
	struct ftpi_flow *f;

	if (t->count >= e->cfg.max_flows && t->lru_tail) {
		FTPI__COUNT(e, flows_evicted);
		ftpi__flow_end(e, t->lru_tail, 2);
	}
	f = t->free_list;
	if (f) {
		t->free_list = f->hnext;
		memset(f, 0, sizeof *f);
	} else {
		f = ftpi__alloc(e, FTPI__POOL_FLOW, sizeof *f);
		if (f == NULL && t->lru_tail) { /* memory cap: make room from the LRU end */
			FTPI__COUNT(e, flow_memcap);
			FTPI__COUNT(e, flows_evicted);
			ftpi__flow_end(e, t->lru_tail, 2);
			f = t->free_list;
			if (f) {
				t->free_list = f->hnext;
				memset(f, 0, sizeof *f);
			}
		}
		if (f == NULL) {
			FTPI__COUNT(e, flow_memcap);
			return NULL;
		}
	}
	f->hash = hash;
	f->id = t->next_id++;
	f->cli = *cli;
	f->srv = *srv;
	f->first_us = f->last_us = now;
	f->first_frame = e->frame;
	uint32_t b = (uint32_t)(hash & (t->nbuckets - 1));
	f->hnext = t->buckets[b];
	t->buckets[b] = f;
	lru_push_head(t, f);
	t->count++;
	FTPI__COUNT(e, flows_created);
	e->st.flows_active = t->count;
	return f;
}

static void hash_unlink(struct ftpi_flow_table *t, struct ftpi_flow *f)
{
	struct ftpi_flow **pp = &t->buckets[f->hash & (t->nbuckets - 1)];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
}

struct ftpi_flow *ftpi__flow_by_id(struct ftpi_engine *e, uint64_t id)
{
	/* Streams (ftpi_stream_*) are few and long-lived; a walk is fine for them. */
	for (struct ftpi_flow *f = e->flows.lru_head; f; f = f->lru_next)
		if (f->id == id)
			return f;
	return NULL;
}

void ftpi__flow_end(struct ftpi_engine *e, struct ftpi_flow *f, int reason)
{
	struct ftpi_flow_table *t = &e->flows;

	if (!f->external) {
		ftpi__reasm_finish(e, f, FTPI_DIR_TO_SERVER);
		ftpi__reasm_finish(e, f, FTPI_DIR_TO_CLIENT);
	}
	if (f->session_id == 0)
		f->session_id = ftpi__app_session_id(f);
	if (!f->app_closed) {
		f->app_closed = 1;
		ftpi__app_close(e, f);
	}
	if (reason == 1)
		FTPI__COUNT(e, flows_timed_out);
	if (e->cfg.event_mask & FTPI_EVMASK_FLOWS) {
		struct ftpi_event ev;
		memset(&ev, 0, sizeof ev);
		ev.type = FTPI_EV_FLOW_END;
		ev.client = f->cli;
		ev.server = f->srv;
		ev.u.flow.proto = 6;
		ev.u.flow.packets_to_server = f->half[0].packets;
		ev.u.flow.packets_to_client = f->half[1].packets;
		ev.u.flow.bytes_to_server = f->half[0].bytes;
		ev.u.flow.bytes_to_client = f->half[1].bytes;
		ev.u.flow.start_us = f->first_us;
		ev.u.flow.end_us = f->last_us;
		ev.u.flow.state = f->state;
		ev.u.flow.role = f->role == FTPI_ROLE_CONTROL ? 1 : f->role == FTPI_ROLE_DATA ? 2 : 0;
		ev.u.flow.midstream = f->midstream;
		ev.u.flow.gaps = f->half[0].gap_bytes + f->half[1].gap_bytes;
		ev.u.flow.app = f->app_name;
		if (ev.u.flow.app == NULL && f->role == FTPI_ROLE_CONTROL)
			ev.u.flow.app = "FTP_CONTROL"; /* the engine's own classification */
		else if (ev.u.flow.app == NULL && f->role == FTPI_ROLE_DATA)
			ev.u.flow.app = "FTP_DATA";
		ev.session_id = f->session_id;
		ftpi__emit(e, &ev);
	}
	ftpi__app_release(e, f);
	ftpi__reasm_release(e, &f->half[0]);
	ftpi__reasm_release(e, &f->half[1]);
	if (e->last_flow == f)
		e->last_flow = NULL;
	hash_unlink(t, f);
	lru_unlink(t, f);
	t->count--;
	e->st.flows_active = t->count;
	f->hnext = t->free_list;
	t->free_list = f;
}

static uint64_t flow_timeout(const struct ftpi_engine *e, const struct ftpi_flow *f)
{
	switch (f->state) {
	case FTPI_FLOW_SYN_SENT:
	case FTPI_FLOW_SYN_RCVD:
		return e->cfg.timeout_syn;
	case FTPI_FLOW_CLOSING:
	case FTPI_FLOW_CLOSED:
		return e->cfg.timeout_closing;
	default:
		return e->cfg.timeout_established;
	}
}

void ftpi__flow_expire(struct ftpi_engine *e, uint64_t now)
{
	struct ftpi_flow_table *t = &e->flows;
	uint64_t min_to = FTPI__MIN(e->cfg.timeout_syn,
				    FTPI__MIN(e->cfg.timeout_closing, e->cfg.timeout_established));
	struct ftpi_flow *f = t->lru_tail, *prev;

	/* From the least recently used end; stop at the first flow younger than any timeout. */
	for (; f; f = prev) {
		prev = f->lru_prev;
		uint64_t idle = now > f->last_us ? now - f->last_us : 0;
		if (idle < min_to)
			break;
		if (f->external)
			continue; /* streams end when their owner says so */
		if (idle >= flow_timeout(e, f))
			ftpi__flow_end(e, f, f->state == FTPI_FLOW_CLOSED ? 0 : 1);
	}
}

void ftpi__flow_end_all(struct ftpi_engine *e)
{
	while (e->flows.lru_tail)
		ftpi__flow_end(e, e->flows.lru_tail, 3);
}
