/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flow.h - TCP flows: the bidirectional flow table (keyed hash, LRU, per-state timeouts) and the
 * per-direction reassembly state each flow carries. flow.c owns the table; reasm.c owns the
 * byte ordering. Upper layers see a flow only through struct ftpi_flow's endpoint, role and app
 * fields and the app_* hooks in app.h.
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
};

enum ftpi_flow_state {
	FTPI_FLOW_SYN_SENT = 0,
	FTPI_FLOW_SYN_RCVD,
	FTPI_FLOW_ESTABLISHED,
	FTPI_FLOW_CLOSING, /* one FIN */
	FTPI_FLOW_CLOSED   /* both FINs or a RST: kept briefly to absorb stragglers */
};

enum ftpi_flow_role {
	FTPI_ROLE_UNKNOWN = 0, /* still sniffing the first bytes */
	FTPI_ROLE_CONTROL,
	FTPI_ROLE_DATA,
	FTPI_ROLE_OTHER        /* not FTP: counted only */
};

struct ftpi_flow {
	struct ftpi_flow *hnext;
	struct ftpi_flow *lru_prev, *lru_next; /* head = most recent */
	uint64_t hash;
	uint64_t id;
	struct ftpi_endpoint cli, srv; /* cli = the TCP initiator (best guess when mid-stream) */
	uint64_t first_us, last_us;
	uint64_t first_frame;
	uint8_t state;
	uint8_t midstream;
	uint8_t role;
	uint8_t external;   /* created by ftpi_stream_open(): no TCP state */
	uint8_t app_closed; /* app_close() already called */
	uint8_t ndpi_done;
	uint8_t sniff_pkts; /* payload packets looked at while ROLE_UNKNOWN */
	uint8_t checksum_bad;
	struct ftpi_half half[2]; /* [FTPI_DIR_TO_SERVER], [FTPI_DIR_TO_CLIENT] */
	uint8_t sniff_len[2];
	uint8_t sniff_buf[2][24]; /* first bytes of each direction while ROLE_UNKNOWN */
	void *app;          /* struct ftpi_session * (control) or struct ftpi_dconn * (data) */
	struct ftpi__ndpi_flow *ndpi;
	const char *app_name;
	uint64_t session_id;  /* the FTP session it belongs to, kept for the FLOW_END event */
	uint32_t ndpi_risks;
};

struct ftpi_flow_key {
	struct ftpi_endpoint a, b; /* src, dst of the packet */
};

struct ftpi_flow_table {
	struct ftpi_flow **buckets;
	uint32_t nbuckets; /* power of two */
	uint32_t count;
	struct ftpi_flow *lru_head, *lru_tail;
	struct ftpi_flow *free_list;
	uint64_t next_id;
};

int ftpi__flow_table_init(struct ftpi_engine *e);
void ftpi__flow_table_release(struct ftpi_engine *e);
/* Finds the flow of a packet; *dir is set to the packet's direction. NULL when none. */
struct ftpi_flow *ftpi__flow_lookup(struct ftpi_engine *e, const struct ftpi_endpoint *src,
				    const struct ftpi_endpoint *dst, uint64_t hash, int *dir);
uint64_t ftpi__flow_hash(const struct ftpi_engine *e, const struct ftpi_endpoint *src,
			 const struct ftpi_endpoint *dst);
/* Creates a flow (evicting the least recently used one when full). cli/srv as given. */
struct ftpi_flow *ftpi__flow_create(struct ftpi_engine *e, const struct ftpi_endpoint *cli,
				    const struct ftpi_endpoint *srv, uint64_t hash, uint64_t now);
/* Marks the flow used now (moves it to the LRU head). */
void ftpi__flow_touch(struct ftpi_engine *e, struct ftpi_flow *f, uint64_t now);
/* Ends a flow: flushes reassembly, tells the app, emits FLOW_END, frees it. reason is one of the
 * flows_* counters' meaning: 0 closed, 1 timed out, 2 evicted, 3 flush. */
void ftpi__flow_end(struct ftpi_engine *e, struct ftpi_flow *f, int reason);
/* Expires flows idle past their state's timeout. */
void ftpi__flow_expire(struct ftpi_engine *e, uint64_t now);
/* Ends every flow (flush). */
void ftpi__flow_end_all(struct ftpi_engine *e);
struct ftpi_flow *ftpi__flow_by_id(struct ftpi_engine *e, uint64_t id);

/* Reassembly (reasm.c). */
struct ftpi_tcp_seg;
void ftpi__reasm_segment(struct ftpi_engine *e, struct ftpi_flow *f, int dir,
			 const struct ftpi_tcp_seg *seg);
/* Delivers what can be delivered and declares gaps for the rest (flow end). */
void ftpi__reasm_finish(struct ftpi_engine *e, struct ftpi_flow *f, int dir);
void ftpi__reasm_release(struct ftpi_engine *e, struct ftpi_half *h);
/* The upper layer stops wanting bytes of this direction: buffered data is dropped. */
void ftpi__reasm_unwant(struct ftpi_engine *e, struct ftpi_flow *f, int dir);

#endif /* FTPI_FLOW_H */
