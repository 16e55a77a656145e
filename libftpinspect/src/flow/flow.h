/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flow.h - TCP flows: the bidirectional flow table (keyed hash, LRU, per-state timeouts), the
 * TCP connection state (one setter), and the storage of the per-direction reassembly state each
 * flow carries (reasm/ owns the byte ordering). Ending a flow is the engine's business: the table
 * asks for it through the callbacks the engine installs (eviction, expiry), never by calling up.
 */
#ifndef FTPI_FLOW_H
#define FTPI_FLOW_H

#include "internal.h"

struct ftpi_seg {
	struct ftpi_seg *next;
	uint32_t seq;
	uint32_t len;
	uint32_t alloc; /* bytes allocated for data (pool accounting) */
	uint8_t data[];
};

struct ftpi_reasm_rec; /* reasm/reasm.h */

/* One direction of a TCP connection. */
struct ftpi_half {
	uint32_t isn;
	uint32_t next_seq;   /* next byte to deliver */
	uint32_t fin_seq;    /* sequence number of the FIN */
	uint32_t acked;      /* highest ACK the peer sent for this direction */
	uint8_t seq_known;
	uint8_t syn_seen;
	uint8_t fin_seen;
	uint8_t acked_valid;
	uint8_t want;        /* 1: the upper layer wants bytes; 0: count only */
	uint8_t ended;       /* FIN delivered or the flow was reset */
	uint16_t n_ooo;
	uint32_t ooo_bytes;
	struct ftpi_seg *ooo; /* sorted by seq, non-overlapping */
	uint64_t bytes;      /* payload bytes by sequence space (delivered + skipped) */
	uint64_t packets;
	uint64_t gap_bytes;
	uint8_t *hist;       /* the last hist_len delivered bytes, ending at next_seq (reasm/) */
	uint16_t hist_len;
	uint8_t keep_hist;   /* set by the engine: keep hist to see conflicts with delivered bytes */
	uint16_t recs_cap, recs_n, recs_head; /* ring of recs, oldest at recs_head */
	uint16_t recs_hashed; /* the oldest recs_hashed recs have their hash; the others' bytes
	                       * are all still in hist and are hashed when they leave it */
	uint16_t hist_cap;    /* bytes hist can hold: grows to FTPI__REASM_HIST as bytes come */
	struct ftpi_reasm_rec *recs; /* hashes of delivered ranges (reasm/, with keep_hist) */
};

#define FTPI_FLOW_STATE_MAP(XX)                                                                    \
	XX(SYN_SENT)                                                                               \
	XX(SYN_RCVD)                                                                               \
	XX(ESTABLISHED)                                                                            \
	XX(CLOSING) /* one FIN */                                                                  \
	XX(CLOSED)  /* both FINs or a RST: kept briefly to absorb stragglers */

enum ftpi_flow_state {
#define XX(name) FTPI_FLOW_##name,
	FTPI_FLOW_STATE_MAP(XX)
#undef XX
	FTPI_FLOW__STATE_COUNT
};

enum ftpi_flow_role {
	FTPI_ROLE_UNKNOWN = 0, /* still sniffing the first bytes */
	FTPI_ROLE_CONTROL,
	FTPI_ROLE_DATA,
	FTPI_ROLE_OTHER        /* not FTP: counted only */
};

/* Changes of the speaking direction recorded while a flow's first bytes are held (the order
 * in which they are replayed, and the mid-stream detector's view of the exchange). */
#define FTPI_FLOW_SNIFF_TURNS 8

struct ftpi_flow {
	/* First cache line: what a lookup and an LRU move read (64 bytes on LP64). */
	struct ftpi_flow *lru_prev, *lru_next; /* head = most recent; lru_next links the free list */
	uint64_t hash;
	struct ftpi_endpoint cli, srv; /* cli = the TCP initiator (best guess when mid-stream) */
	uint64_t last_us;
	uint64_t id;
	uint64_t first_us;
	uint64_t first_frame;
	uint8_t state;      /* enum ftpi_flow_state: only through ftpi__flow_set_state() */
	uint8_t midstream;
	uint8_t role;
	uint8_t external;   /* created by ftpi_stream_open(): no TCP state */
	uint8_t app_closed; /* the upper stages were told it ended */
	uint8_t ndpi_done;
	uint8_t sniff_pkts; /* payload packets looked at while ROLE_UNKNOWN */
	uint8_t checksum_bad;
	uint8_t ttl[2];     /* first IP TTL / hop limit seen per direction (0 = none yet) */
	uint8_t parked;     /* on the table's parked list (established and idle), not the LRU list */
	uint64_t lru_seq;   /* when it was last used, in the table's order of uses (LRU order) */
	struct ftpi_half half[2]; /* [FTPI_DIR_TO_SERVER], [FTPI_DIR_TO_CLIENT] */
	uint8_t sniff_first; /* 1 + the direction that sent bytes first while ROLE_UNKNOWN */
	uint8_t sniff_last;  /* 1 + the direction that sent bytes last while ROLE_UNKNOWN */
	uint8_t sniff_turns; /* times the speaking direction changed (saturates at 255) */
	uint16_t sniff_turn[FTPI_FLOW_SNIFF_TURNS]; /* held bytes of the speaker at each change */
	uint16_t sniff_len[2];
	uint16_t sniff_cap[2]; /* sniff_buf's sizes: they grow as bytes come (engine/dispatch.c) */
	uint8_t *sniff_buf[2]; /* bytes of each direction while ROLE_UNKNOWN (engine/dispatch.c) */
	void *app;          /* struct ftpi_session * (control) or struct ftpi_dconn * (data) */
	struct ftpi__ndpi_flow *ndpi;
	struct ftpi__hold *hold; /* a stream held for a late announcement (engine/stream.c) */
	const char *app_name;
	uint64_t session_id;  /* the FTP session it belongs to, kept for the FLOW_END event */
	uint32_t ndpi_risks;
};

struct ftpi_flow_key {
	struct ftpi_endpoint a, b; /* src, dst of the packet */
};

/* What the table asks of its owner: end a flow (evicted, expired, or ended by the owner through
 * ftpi__flow_end_all), and release a flow's upper-stage state at teardown without events. */
struct ftpi_flow_cbs {
	void (*end)(void *user, struct ftpi_flow *f, int reason); /* enum ftpi_flow_end_reason */
	void (*release)(void *user, struct ftpi_flow *f);
	void *user;
};

enum ftpi_flow_end_reason {
	FTPI_FLOW_END_NORMAL = 0,
	FTPI_FLOW_END_TIMEOUT = 1,
	FTPI_FLOW_END_EVICTED = 2,
	FTPI_FLOW_END_FLUSH = 3
};

/*
 * The table is open addressing over buckets of one cache line each: six slots, each a 16-bit
 * fingerprint of the hash and a flow pointer, so a lookup reads one line of the table and,
 * unless two fingerprints collide (1 in 65,536 per occupied slot), the one flow it is after.
 * A flow lives in its home bucket (hash & mask) or, when that is full, in the next buckets; each
 * bucket counts the flows that went past it full (`overflow`), and a lookup stops at the first
 * bucket with none (no tombstones: a removal decrements the counts along its probe). Buckets
 * hold at least 4/3 of max_flows slots, so an insertion always finds a free one.
 */
#define FTPI_FLOW_SLOTS 6
struct ftpi_flow_bucket {
	uint16_t fp[FTPI_FLOW_SLOTS]; /* 0 = free slot */
	uint32_t overflow;
	struct ftpi_flow *slot[FTPI_FLOW_SLOTS];
};

struct ftpi_flow_table {
	struct ftpi_flow_bucket *buckets; /* 64-byte aligned inside mem */
	void *mem;
	size_t mem_size;
	uint32_t nbuckets; /* power of two */
	uint32_t count;
	struct ftpi_flow *lru_head, *lru_tail;
	/* Established flows idle past the shortest timeout, parked (oldest at the tail) by the
	 * expiry walk so that it does not walk them again every second; a packet brings one back to
	 * the LRU list. The two lists merged by lru_seq are the one LRU order of every flow. */
	struct ftpi_flow *park_head, *park_tail;
	uint64_t lru_seq;
	struct ftpi_flow *free_list;
	struct ftpi_flow *last; /* the flow of the previous packet (NULL once it ended) */
	uint64_t next_id;
	struct ftpi_flow_cbs cbs;
};

int ftpi__flow_table_init(struct ftpi__ctx *cx, struct ftpi_flow_table *t,
			  const struct ftpi_flow_cbs *cbs);
/* Releases every flow (cbs.release first) and the table, without events. */
void ftpi__flow_table_release(struct ftpi__ctx *cx, struct ftpi_flow_table *t);
/* Brings the bucket of hash into the cache ahead of its lookup (a hint; no effect on results). */
static inline void ftpi__flow_prefetch(const struct ftpi_flow_table *t, uint64_t hash)
{
#if defined(__GNUC__)
	__builtin_prefetch(&t->buckets[hash & (t->nbuckets - 1)]);
#else
	(void)t;
	(void)hash;
#endif
}
/* Finds the flow of a packet; *dir is set to the packet's direction. NULL when none. */
struct ftpi_flow *ftpi__flow_lookup(struct ftpi_flow_table *t, const struct ftpi_endpoint *src,
				    const struct ftpi_endpoint *dst, uint64_t hash, int *dir);
uint64_t ftpi__flow_hash(const struct ftpi__ctx *cx, const struct ftpi_endpoint *src,
			 const struct ftpi_endpoint *dst);
/* Creates a flow (asking cbs.end to end the least recently used one when full). */
struct ftpi_flow *ftpi__flow_create(struct ftpi__ctx *cx, struct ftpi_flow_table *t,
				    const struct ftpi_endpoint *cli, const struct ftpi_endpoint *srv,
				    uint64_t hash);
/* Marks the flow used now (moves it to the LRU head). */
void ftpi__flow_touch(struct ftpi_flow_table *t, struct ftpi_flow *f, uint64_t now);
/* Takes an ended flow out of the table; its memory goes to the free list. */
void ftpi__flow_free(struct ftpi__ctx *cx, struct ftpi_flow_table *t, struct ftpi_flow *f);
/* Asks cbs.end to end the flows idle past their state's timeout. */
void ftpi__flow_expire(struct ftpi_flow_table *t, const struct ftpi__ctx *cx, uint64_t now);
/* Asks cbs.end to end every flow (flush), least recently used first. */
void ftpi__flow_end_all(struct ftpi_flow_table *t);
struct ftpi_flow *ftpi__flow_by_id(struct ftpi_flow_table *t, uint64_t id);

/* Every flow from the least recently used on, across the LRU and parked lists:
 *   for (f = ftpi__flow_lru_first(t, &it); f; f = ftpi__flow_lru_next(&it)) ...
 * The flow returned last may be ended before the next call; no other may. */
struct ftpi_flow_lru_iter {
	struct ftpi_flow *a, *p; /* the next of each list, toward its head */
};
struct ftpi_flow *ftpi__flow_lru_first(const struct ftpi_flow_table *t,
				       struct ftpi_flow_lru_iter *it);
struct ftpi_flow *ftpi__flow_lru_next(struct ftpi_flow_lru_iter *it);

/* The one place a flow's TCP state changes. */
void ftpi__flow_set_state(struct ftpi_flow *f, int state);
/* "SYN_SENT", ...; "?" when out of range. */
const char *ftpi__flow_state_name(int state);

#endif /* FTPI_FLOW_H */
