/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * defrag.h - IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) fragment reassembly, inside the decode
 * stage. The state is the engine's (struct ftpi__defrag in struct ftpi_engine), capped by count
 * (max_frag_datagrams) and bytes (frag_mem, pool FRAG), with timeouts in capture time
 * (timeout_frag). Overlaps follow the TCP policy: the bytes seen first win; overlaps, conflicts,
 * tiny and invalid fragments are counted. A complete datagram is handed back to the decoder,
 * which decodes it like any packet and marks the segment (frag_conflict) when its fragments
 * overlapped with other bytes.
 * Datagrams dropped (caps, timeouts, end of input) are queued as drop records the engine reads
 * after each packet (ftpi__defrag_take_drop) to tell the session that lost them.
 */
#ifndef FTPI_DEFRAG_H
#define FTPI_DEFRAG_H

#include "internal.h"

struct ftpi_tcp_seg;
struct ftpi__frag;

#define FTPI__FRAG_BUCKETS 256
#define FTPI__FRAG_DROPS 8

enum ftpi__frag_drop_reason {
	FTPI__FRAG_TIMEOUT = 0, /* incomplete after timeout_frag */
	FTPI__FRAG_CAP,         /* max_frag_datagrams or frag_mem */
	FTPI__FRAG_FLUSH,       /* incomplete at the end of input */
	FTPI__FRAG_ENDED        /* incomplete when its connection ended */
};

/* A datagram that had to be dropped: its addresses, and its ports when the first fragment
 * (which carries the TCP header) was seen. */
struct ftpi__frag_drop {
	struct ftpi_endpoint src, dst; /* ports 0 when unknown */
	uint8_t reason;                /* enum ftpi__frag_drop_reason */
	uint32_t held;                 /* payload bytes that were held */
};

struct ftpi__defrag {
	struct ftpi__frag *buckets[FTPI__FRAG_BUCKETS];
	struct ftpi__frag *oldest, *newest; /* creation order, for timeouts and cap eviction */
	uint32_t count;
	uint8_t *out;     /* the datagram being decoded (valid until ftpi__defrag_done) */
	size_t out_len;
	struct ftpi__frag_drop drops[FTPI__FRAG_DROPS];
	uint8_t n_drops;
};

/* Takes a fragment. IPv4: ip is the packet from its header (present bytes captured, tot its
 * total length, ihl its header length). IPv6: hdr_len is the unfragmentable part (the header
 * and the extension headers before the fragment header), nh_pos the offset of the byte that
 * names the fragment header (rewritten with next), offmf the fragment header's offset/M field,
 * pl/pl_len the fragment's data. Returns 1 when the datagram is complete: d->out/d->out_len then
 * hold it (a header that says it is whole), for the caller to decode; *conflict is set when its
 * fragments overlapped with different bytes. 0 while incomplete, or when the fragment was
 * refused (counted). */
int ftpi__defrag_ipv4(struct ftpi__ctx *cx, struct ftpi__defrag *d, const uint8_t *ip,
		      uint32_t present, uint32_t tot, uint32_t ihl, int *conflict);
int ftpi__defrag_ipv6(struct ftpi__ctx *cx, struct ftpi__defrag *d, const uint8_t *ip,
		      uint32_t hdr_len, uint32_t nh_pos, uint8_t next, uint16_t offmf, uint32_t id,
		      const uint8_t *pl, uint32_t pl_len, int *conflict);
/* Drops datagrams older than timeout_frag (capture time). */
void ftpi__defrag_expire(struct ftpi__ctx *cx, struct ftpi__defrag *d, uint64_t now);
/* What every packet asks: is a datagram held (to expire), or a reassembled datagram or a drop
 * record waiting (to free, to report)? One or two loads when fragments are absent. */
static inline int ftpi__defrag_holds(const struct ftpi__defrag *d)
{
	return d->oldest != NULL;
}
static inline int ftpi__defrag_pending(const struct ftpi__defrag *d)
{
	return d->out != NULL || d->n_drops != 0;
}
/* Drops the incomplete datagrams between two endpoints (either way; by address alone when
 * the first fragment, with the ports, was not seen): their connection ended. */
void ftpi__defrag_drop_between(struct ftpi__ctx *cx, struct ftpi__defrag *d,
			       const struct ftpi_endpoint *a, const struct ftpi_endpoint *b);
/* Drops every datagram still incomplete (end of input). */
void ftpi__defrag_flush(struct ftpi__ctx *cx, struct ftpi__defrag *d);
/* The packet that used the reassembled datagram is done: its buffer is freed. */
void ftpi__defrag_done(struct ftpi__ctx *cx, struct ftpi__defrag *d);
/* Takes the oldest drop record; 0 when none. */
int ftpi__defrag_take_drop(struct ftpi__defrag *d, struct ftpi__frag_drop *out);
/* Frees everything, without drop records. */
void ftpi__defrag_release(struct ftpi__ctx *cx, struct ftpi__defrag *d);

#endif /* FTPI_DEFRAG_H */
