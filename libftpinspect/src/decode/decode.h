/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * decode.h - packet decoding from link layer to TCP segment: the output of decode_*.c and the
 * input of the flow table. Decoders read through cursor.h, never past caplen, and count every
 * packet they give up on under its reason.
 */
#ifndef FTPI_DECODE_H
#define FTPI_DECODE_H

#include "internal.h"

struct ftpi_tcp_seg {
	struct ftpi_endpoint src, dst;
	uint32_t seq, ack;
	uint16_t win;
	uint8_t flags;        /* TCP flags byte */
	uint8_t checksum_bad; /* only computed when the config asks */
	uint8_t ttl;          /* IPv4 TTL or IPv6 hop limit of the innermost IP header */
	const uint8_t *payload; /* borrowed */
	uint32_t len;         /* payload bytes present */
	uint32_t wire_len;    /* payload bytes on the wire (> len when truncated by snaplen) */
	const uint8_t *tcp;   /* start of the TCP header */
	uint32_t tcp_len;     /* header + payload bytes present from tcp */
	const uint8_t *ip;    /* start of the IP header (for nDPI) */
	uint32_t ip_len;      /* bytes present from ip */
	/* Set by the caller: the defragmenter's state (NULL: fragments are counted only). */
	struct ftpi__defrag *defrag;
	uint8_t frag_conflict; /* out: reassembled from fragments that overlapped with other bytes */
	uint8_t reassembled;   /* out: the segment came from fragments */
	uint8_t frag_proto;    /* out, when a fragment was counted: the protocol it carries */
};

#define FTPI_TH_FIN 0x01
#define FTPI_TH_SYN 0x02
#define FTPI_TH_RST 0x04
#define FTPI_TH_PUSH 0x08
#define FTPI_TH_ACK 0x10

/* Result of decoding: 1 = a TCP segment in *seg; 0 = not for us (counted). */
int ftpi__decode_packet(struct ftpi__ctx *cx, int linktype, const uint8_t *data, uint32_t caplen,
			struct ftpi_tcp_seg *seg);
/* From an L3 header onwards: ethertype selects IPv4/IPv6 (0 = guess from the version nibble). */
int ftpi__decode_l3(struct ftpi__ctx *cx, uint16_t ethertype, const uint8_t *p, uint32_t len,
		    int depth, struct ftpi_tcp_seg *seg);
/* Link layers starting with an Ethernet header (also inside GRE/ERSPAN). */
int ftpi__decode_ether(struct ftpi__ctx *cx, const uint8_t *p, uint32_t len, int depth, struct ftpi_tcp_seg *seg);
/* GRE payload (RFC 2784/2890), including ERSPAN type II/III. */
int ftpi__decode_gre(struct ftpi__ctx *cx, const uint8_t *p, uint32_t len, int depth, struct ftpi_tcp_seg *seg);

#define FTPI__MAX_DECODE_DEPTH 4

/* 1 when the segment's TCP checksum is right or cannot be checked (payload cut by the snap
 * length), 0 when it is wrong. */
int ftpi__tcp_checksum_ok(const struct ftpi_tcp_seg *seg);

#endif /* FTPI_DECODE_H */
