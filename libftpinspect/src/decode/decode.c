/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * decode.c - from captured bytes to a TCP segment: link layers (Ethernet II with 802.1Q/802.1ad
 * tags, Linux cooked v1/v2, raw IPv4/IPv6, BSD NULL/LOOP), tunnels (GRE RFC 2784/2890, ERSPAN
 * type II and III, IP-in-IP, IPv6-in-IPv4), IPv4 with options (RFC 791), IPv6 with extension
 * headers (RFC 8200 §4) and TCP (RFC 793 §3.1). Every read goes through cursor.h; nothing is read
 * past caplen. Fragments go to defrag.c when the caller gave its state; a datagram they complete
 * is decoded here like any packet. Each reason for giving up is its own counter (truncated = a
 * length check failed; *_invalid = a value check failed).
 */
#include "cursor.h"
#include "decode.h"
#include "defrag.h"
#include "internal.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_TEB 0x6558 /* transparent Ethernet bridging (GRE) */
#define ETH_ERSPAN2 0x88be
#define ETH_ERSPAN3 0x22eb

#define MAX_VLAN_TAGS 4

static int decode_tcp(struct ftpi__ctx *cx, const uint8_t *p, uint32_t len, uint32_t tcp_wire_len,
		      struct ftpi_tcp_seg *seg)
{
	struct ftpi_cur c;
	ftpi__cur_init(&c, p, len);

	/* the fixed header, whole: ports, seq, ack, offset, flags, window, checksum, urgent */
	const uint8_t *h = ftpi__cur_span(&c, 20);
	if (h == NULL) {
		FTPI__COUNT(cx, truncated);
		return 0;
	}
	seg->src.port = ftpi__be16(h);
	seg->dst.port = ftpi__be16(h + 2);
	seg->seq = ftpi__be32(h + 4);
	seg->ack = ftpi__be32(h + 8);
	uint8_t off = h[12];
	seg->flags = h[13];
	seg->win = ftpi__be16(h + 14);
	seg->checksum_bad = 0;
	uint32_t hlen = (uint32_t)(off >> 4) * 4;
	if (hlen < 20 || hlen > tcp_wire_len) {
		FTPI__COUNT(cx, decode_tcp_invalid);
		return 0;
	}
	if (hlen > len) {
		/* options cut by the snap length: no payload is present */
		FTPI__COUNT(cx, truncated);
		seg->tcp = p;
		seg->tcp_len = len;
		seg->payload = p + len;
		seg->len = 0;
		seg->wire_len = tcp_wire_len - hlen;
		return 1;
	}
	seg->tcp = p;
	seg->tcp_len = len;
	seg->payload = p + hlen;
	seg->len = len - hlen;
	seg->wire_len = tcp_wire_len - hlen;
	if (seg->len > seg->wire_len) /* Ethernet padding after the IP datagram */
		seg->len = seg->wire_len;
	if (seg->len < seg->wire_len)
		FTPI__COUNT(cx, truncated);
	FTPI__COUNT(cx, tcp_segments);
	return 1;
}

/* Ones' complement sum of 16-bit words (RFC 1071), taken in the machine's byte order: the folded
 * sum is then the byte-swapped big-endian one (RFC 1071 2(B)), and the only question asked of it,
 * "all ones?", has the same answer either way. 32-bit loads, four at a time, into a 64-bit
 * accumulator: the carries are folded back at the end, and no carry is lost for any length a
 * packet can have. Every part summed starts at an even offset of the checksummed stream; only the
 * last may be odd, its last byte padded with a zero (RFC 793). */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	uint32_t w[4];
	for (; n >= 16; p += 16, n -= 16) {
		memcpy(w, p, 16);
		sum += (uint64_t)w[0] + w[1] + w[2] + w[3];
	}
	for (; n >= 4; p += 4, n -= 4) {
		memcpy(w, p, 4);
		sum += w[0];
	}
	if (n >= 2) {
		uint16_t h;
		memcpy(&h, p, 2);
		sum += h;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = {p[0], 0};
		uint16_t h;
		memcpy(&h, last, 2);
		sum += h;
	}
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* TCP checksum over the pseudo-header (RFC 793 §3.1, RFC 8200 §8.1); only with all bytes. */
static int tcp_checksum_ok(const struct ftpi_tcp_seg *seg, const uint8_t *tcp, uint32_t tcp_len)
{
	uint64_t sum = 0;
	uint8_t pseudo[8];
	if (seg->src.addr.family == 4) {
		sum = csum_add(sum, seg->src.addr.ip, 4);
		sum = csum_add(sum, seg->dst.addr.ip, 4);
	} else {
		sum = csum_add(sum, seg->src.addr.ip, 16);
		sum = csum_add(sum, seg->dst.addr.ip, 16);
	}
	pseudo[0] = (uint8_t)(tcp_len >> 24);
	pseudo[1] = (uint8_t)(tcp_len >> 16);
	pseudo[2] = (uint8_t)(tcp_len >> 8);
	pseudo[3] = (uint8_t)tcp_len;
	pseudo[4] = pseudo[5] = pseudo[6] = 0;
	pseudo[7] = 6;
	sum = csum_add(sum, pseudo, 8);
	sum = csum_add(sum, tcp, tcp_len);
	return csum_fold(sum) == 0;
}

/* What an IPv4 or IPv6 header carries: TCP, or a tunnel to decode again. seg's addresses are
 * set by the caller. */
/* IP protocol 6. Inline: the IPv4 decoder calls it directly for TCP (nearly every packet), so
 * that path makes no call through ip_payload's switch. */
static inline int tcp_payload(struct ftpi__ctx *cx, const uint8_t *ip, uint32_t present,
			      const uint8_t *pl, uint32_t pl_len, uint32_t pl_wire,
			      struct ftpi_tcp_seg *seg)
{
	seg->ip = ip;
	seg->ip_len = present;
	if (!decode_tcp(cx, pl, pl_len, pl_wire, seg))
		return 0;
	if (cx->cfg.verify_checksums && pl_len == pl_wire && !tcp_checksum_ok(seg, pl, pl_len)) {
		FTPI__COUNT(cx, bad_checksum);
		return 0;
	}
	return 1;
}

static int ip_payload(struct ftpi__ctx *cx, uint8_t proto, const uint8_t *ip, uint32_t present,
		      const uint8_t *pl, uint32_t pl_len, uint32_t pl_wire, int depth,
		      struct ftpi_tcp_seg *seg)
{
	switch (proto) {
	case 6:
		return tcp_payload(cx, ip, present, pl, pl_len, pl_wire, seg);
	case 47:
		return ftpi__decode_gre(cx, pl, pl_len, depth + 1, seg);
	case 4:
		return ftpi__decode_l3(cx, ETH_IPV4, pl, pl_len, depth + 1, seg);
	case 41:
		return ftpi__decode_l3(cx, ETH_IPV6, pl, pl_len, depth + 1, seg);
	default: /* 59 = no next header, UDP, ICMP, ... */
		FTPI__COUNT(cx, decode_not_tcp);
		return 0;
	}
}

int ftpi__tcp_checksum_ok(const struct ftpi_tcp_seg *seg)
{
	if (seg->len < seg->wire_len || seg->tcp == NULL)
		return 1;
	return tcp_checksum_ok(seg, seg->tcp, (uint32_t)(seg->payload - seg->tcp) + seg->len);
}

/* A datagram the fragments completed: decoded like a packet, the segment marked. */
static int reassembled(struct ftpi__ctx *cx, uint16_t ethertype, int depth, int conflict,
		       struct ftpi_tcp_seg *seg)
{
	struct ftpi__defrag *d = seg->defrag;
	int r = ftpi__decode_l3(cx, ethertype, d->out, (uint32_t)d->out_len, depth + 1, seg);
	seg->reassembled = 1;
	seg->frag_conflict = (uint8_t)(seg->frag_conflict | conflict);
	return r;
}

static int decode_ipv4(struct ftpi__ctx *cx, const uint8_t *p, uint32_t len, int depth,
		       struct ftpi_tcp_seg *seg)
{
	struct ftpi_cur c;
	ftpi__cur_init(&c, p, len);

	/* the fixed header, whole (options, if any, are skipped by ihl below) */
	const uint8_t *h = ftpi__cur_span(&c, 20);
	if (h == NULL) {
		FTPI__COUNT(cx, truncated);
		return 0;
	}
	uint8_t vihl = h[0];
	uint16_t tot = ftpi__be16(h + 2);
	uint16_t frag = ftpi__be16(h + 6);
	uint8_t ttl = h[8];
	uint8_t proto = h[9];
	const uint8_t *src = h + 12;
	const uint8_t *dst = h + 16;
	uint32_t ihl = (uint32_t)(vihl & 0x0f) * 4;
	if ((vihl >> 4) != 4 || ihl < 20 || tot < ihl) {
		FTPI__COUNT(cx, decode_ip_invalid);
		return 0;
	}
	if (ihl > len) {
		FTPI__COUNT(cx, truncated);
		return 0;
	}
	FTPI__COUNT(cx, ipv4);
	if ((frag & 0x3fff) != 0) { /* MF or an offset: a fragment */
		FTPI__COUNT(cx, decode_ip_fragment);
		seg->frag_proto = proto;
		if (seg->defrag == NULL) { /* counted only; its addresses are still told */
			seg->src.addr = (struct ftpi_addr){.family = 4};
			seg->dst.addr = (struct ftpi_addr){.family = 4};
			memcpy(seg->src.addr.ip, src, 4);
			memcpy(seg->dst.addr.ip, dst, 4);
			return 0;
		}
		if (len < tot) {
			FTPI__COUNT(cx, truncated);
			return 0;
		}
		if (cx->cfg.verify_checksums && csum_fold(csum_add(0, p, ihl)) != 0) {
			FTPI__COUNT(cx, bad_checksum);
			return 0;
		}
		int conflict = 0;
		if (!ftpi__defrag_ipv4(cx, seg->defrag, p, len, tot, ihl, &conflict))
			return 0;
		return reassembled(cx, ETH_IPV4, depth, conflict, seg);
	}
	uint32_t present = FTPI__MIN(len, (uint32_t)tot);
	if (cx->cfg.verify_checksums && csum_fold(csum_add(0, p, ihl)) != 0) {
		FTPI__COUNT(cx, bad_checksum);
		return 0;
	}
	seg->src.addr = (struct ftpi_addr){.family = 4};
	seg->dst.addr = (struct ftpi_addr){.family = 4};
	seg->ttl = ttl;
	memcpy(seg->src.addr.ip, src, 4);
	memcpy(seg->dst.addr.ip, dst, 4);
	if (proto == 6)
		return tcp_payload(cx, p, present, p + ihl, present - ihl, (uint32_t)tot - ihl, seg);
	return ip_payload(cx, proto, p, present, p + ihl, present - ihl, (uint32_t)tot - ihl, depth,
			  seg);
}

static int decode_ipv6(struct ftpi__ctx *cx, const uint8_t *p, uint32_t len, int depth,
		       struct ftpi_tcp_seg *seg)
{
	struct ftpi_cur c;
	ftpi__cur_init(&c, p, len);

	uint8_t v = ftpi__cur_u8(&c);
	ftpi__cur_skip(&c, 3);
	uint16_t plen = ftpi__cur_be16(&c);
	uint8_t nh = ftpi__cur_u8(&c);
	uint8_t hop_limit = ftpi__cur_u8(&c);
	const uint8_t *src = ftpi__cur_span(&c, 16);
	const uint8_t *dst = ftpi__cur_span(&c, 16);
	if (c.bad) {
		FTPI__COUNT(cx, truncated);
		return 0;
	}
	if ((v >> 4) != 6 || plen == 0) { /* plen 0 = jumbogram: not on a span port */
		FTPI__COUNT(cx, decode_ip_invalid);
		return 0;
	}
	FTPI__COUNT(cx, ipv6);
	uint32_t wire_end = 40 + (uint32_t)plen;
	uint32_t present = FTPI__MIN(len, wire_end);
	c.len = present; /* never read the link layer's trailer as extension headers */

	/* Extension headers (RFC 8200 §4), bounded by the packet and a count. nh_pos: the byte
	 * that names the header being read (for reassembly). */
	uint32_t nh_pos = 6;
	for (int n = 0; n < 16; n++) {
		uint32_t start = (uint32_t)c.off;
		switch (nh) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
		{
			uint8_t next = ftpi__cur_u8(&c);
			uint8_t hl = ftpi__cur_u8(&c);
			ftpi__cur_skip(&c, (size_t)hl * 8 + 6);
			nh = next;
			break;
		}
		case 51: { /* AH: length in 4-octet units, minus 2 */
			uint8_t next = ftpi__cur_u8(&c);
			uint8_t hl = ftpi__cur_u8(&c);
			ftpi__cur_skip(&c, ((size_t)hl + 2) * 4 - 2);
			nh = next;
			break;
		}
		case 44: { /* fragment */
			uint8_t next = ftpi__cur_u8(&c);
			ftpi__cur_skip(&c, 1);
			uint16_t off = ftpi__cur_be16(&c);
			uint32_t id = ftpi__cur_be32(&c);
			if (c.bad)
				break;
			if ((off & 0xfff9) != 0) { /* offset or M flag: a real fragment */
				FTPI__COUNT(cx, decode_ip_fragment);
				seg->frag_proto = next;
				if (seg->defrag == NULL) { /* counted only; addresses told */
					seg->src.addr.family = seg->dst.addr.family = 6;
					memcpy(seg->src.addr.ip, src, 16);
					memcpy(seg->dst.addr.ip, dst, 16);
					return 0;
				}
				if (present < wire_end) {
					FTPI__COUNT(cx, truncated);
					return 0;
				}
				int conflict = 0;
				if (!ftpi__defrag_ipv6(cx, seg->defrag, p, start, nh_pos, next, off, id,
						       p + c.off, wire_end - (uint32_t)c.off,
						       &conflict))
					return 0;
				return reassembled(cx, ETH_IPV6, depth, conflict, seg);
			}
			nh = next; /* atomic fragment (RFC 6946) */
			break;
		}
		default:
			goto done;
		}
		if (c.bad) {
			FTPI__COUNT(cx, truncated);
			return 0;
		}
		nh_pos = start;
	}
	FTPI__COUNT(cx, decode_ip_invalid); /* too many extension headers */
	return 0;
done:;
	const uint8_t *pl = ftpi__cur_ptr(&c);
	uint32_t off = (uint32_t)c.off;
	if (off > wire_end) {
		FTPI__COUNT(cx, decode_ip_invalid);
		return 0;
	}
	seg->src.addr.family = seg->dst.addr.family = 6;
	seg->ttl = hop_limit;
	memcpy(seg->src.addr.ip, src, 16);
	memcpy(seg->dst.addr.ip, dst, 16);
	return ip_payload(cx, nh, p, present, pl, present - off, wire_end - off, depth, seg);
}

int ftpi__decode_l3(struct ftpi__ctx *cx, uint16_t ethertype, const uint8_t *p, uint32_t len,
		    int depth, struct ftpi_tcp_seg *seg)
{
	if (depth > FTPI__MAX_DECODE_DEPTH) {
		FTPI__COUNT(cx, decode_tunnel_invalid);
		return 0;
	}
	if (ethertype == 0) {
		if (len < 1) {
			FTPI__COUNT(cx, truncated);
			return 0;
		}
		ethertype = (p[0] >> 4) == 4 ? ETH_IPV4 : (p[0] >> 4) == 6 ? ETH_IPV6 : 0xffff;
	}
	if (ethertype == ETH_IPV4)
		return decode_ipv4(cx, p, len, depth, seg);
	if (ethertype == ETH_IPV6)
		return decode_ipv6(cx, p, len, depth, seg);
	FTPI__COUNT(cx, decode_not_ip);
	return 0;
}

int ftpi__decode_ether(struct ftpi__ctx *cx, const uint8_t *p, uint32_t len, int depth, struct ftpi_tcp_seg *seg)
{
	struct ftpi_cur c;
	ftpi__cur_init(&c, p, len);

	const uint8_t *h = ftpi__cur_span(&c, 14); /* addresses, then the type */
	uint16_t type = h ? ftpi__be16(h + 12) : 0;
	for (int tags = 0; !c.bad && (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD);
	     tags++) {
		if (tags == MAX_VLAN_TAGS) {
			FTPI__COUNT(cx, decode_link_invalid);
			return 0;
		}
		ftpi__cur_skip(&c, 2); /* TCI */
		type = ftpi__cur_be16(&c);
		FTPI__COUNT(cx, decode_vlan);
	}
	if (c.bad) {
		FTPI__COUNT(cx, truncated);
		return 0;
	}
	if (type < 0x0600) { /* 802.3 length field: LLC/SNAP, not IP over Ethernet II */
		FTPI__COUNT(cx, decode_not_ip);
		return 0;
	}
	return ftpi__decode_l3(cx, type, ftpi__cur_ptr(&c), (uint32_t)ftpi__cur_left(&c), depth, seg);
}

int ftpi__decode_gre(struct ftpi__ctx *cx, const uint8_t *p, uint32_t len, int depth, struct ftpi_tcp_seg *seg)
{
	struct ftpi_cur c;
	ftpi__cur_init(&c, p, len);

	if (depth > FTPI__MAX_DECODE_DEPTH) {
		FTPI__COUNT(cx, decode_tunnel_invalid);
		return 0;
	}
	FTPI__COUNT(cx, decode_tunnel);
	uint16_t fl = ftpi__cur_be16(&c);
	uint16_t proto = ftpi__cur_be16(&c);
	if (c.bad) {
		FTPI__COUNT(cx, truncated);
		return 0;
	}
	if ((fl & 0x0007) != 0) { /* version 0 only (1 is PPTP's enhanced GRE) */
		FTPI__COUNT(cx, decode_tunnel_invalid);
		return 0;
	}
	int has_seq = (fl & 0x1000) != 0;
	if (fl & 0x8000)
		ftpi__cur_skip(&c, 4); /* checksum + reserved1 */
	if (fl & 0x2000)
		ftpi__cur_skip(&c, 4); /* key */
	if (has_seq)
		ftpi__cur_skip(&c, 4);
	if (fl & 0x4000) { /* source routing (RFC 1701): not used by span sessions */
		FTPI__COUNT(cx, decode_tunnel_invalid);
		return 0;
	}
	switch (proto) {
	case ETH_IPV4:
	case ETH_IPV6:
		break;
	case ETH_TEB:
		break;
	case ETH_ERSPAN2:
		/* Type I has no sequence number and no header; type II has an 8-byte header. */
		if (has_seq)
			ftpi__cur_skip(&c, 8);
		break;
	case ETH_ERSPAN3: {
		ftpi__cur_skip(&c, 10);
		uint16_t last = ftpi__cur_be16(&c);
		if (last & 0x0001) /* O bit: platform-specific subheader */
			ftpi__cur_skip(&c, 8);
		break;
	}
	default:
		FTPI__COUNT(cx, decode_not_ip);
		return 0;
	}
	if (c.bad) {
		FTPI__COUNT(cx, truncated);
		return 0;
	}
	const uint8_t *in = ftpi__cur_ptr(&c);
	uint32_t in_len = (uint32_t)ftpi__cur_left(&c);
	if (proto == ETH_IPV4 || proto == ETH_IPV6)
		return ftpi__decode_l3(cx, proto, in, in_len, depth + 1, seg);
	return ftpi__decode_ether(cx, in, in_len, depth + 1, seg);
}

/* BSD NULL: address family in host byte order of the capturing machine; LOOP: network order. */
static uint16_t bsd_af_to_ethertype(uint32_t af)
{
	switch (af) {
	case 2:
		return ETH_IPV4;
	case 10: /* Linux */
	case 24: /* NetBSD, OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* macOS */
		return ETH_IPV6;
	default:
		return 0xffff;
	}
}

/* What follows a Linux cooked header (v1 or v2): a VLAN tag the kernel left in, then IP, or
 * an Ethernet frame for bridged (TEB) traffic. */
static int cooked_payload(struct ftpi__ctx *cx, struct ftpi_cur *c, uint16_t proto,
			  struct ftpi_tcp_seg *seg)
{
	if (!c->bad && (proto == ETH_VLAN || proto == ETH_QINQ)) {
		ftpi__cur_skip(c, 2);
		proto = ftpi__cur_be16(c);
		FTPI__COUNT(cx, decode_vlan);
	}
	if (c->bad) {
		FTPI__COUNT(cx, truncated);
		return 0;
	}
	if (proto == ETH_TEB)
		return ftpi__decode_ether(cx, ftpi__cur_ptr(c), (uint32_t)ftpi__cur_left(c), 0, seg);
	return ftpi__decode_l3(cx, proto, ftpi__cur_ptr(c), (uint32_t)ftpi__cur_left(c), 0, seg);
}

int ftpi_linktype_supported(int linktype)
{
	switch (linktype) {
	case 0:   /* NULL */
	case 1:   /* Ethernet */
	case 12:  /* DLT_RAW (most) */
	case 14:  /* DLT_RAW (OpenBSD) */
	case 101: /* LINKTYPE_RAW */
	case 108: /* LOOP */
	case 113: /* Linux cooked v1 */
	case 228: /* IPv4 */
	case 229: /* IPv6 */
	case 276: /* Linux cooked v2 */
		return 1;
	default:
		return 0;
	}
}

int ftpi__decode_packet(struct ftpi__ctx *cx, int linktype, const uint8_t *data, uint32_t caplen,
			struct ftpi_tcp_seg *seg)
{
	struct ftpi_cur c;
	ftpi__cur_init(&c, data, caplen);

	seg->frag_conflict = 0;
	seg->reassembled = 0;
	switch (linktype) {
	case 1:
		return ftpi__decode_ether(cx, data, caplen, 0, seg);
	case 12:
	case 14:
	case 101:
		return ftpi__decode_l3(cx, 0, data, caplen, 0, seg);
	case 228:
		return ftpi__decode_l3(cx, ETH_IPV4, data, caplen, 0, seg);
	case 229:
		return ftpi__decode_l3(cx, ETH_IPV6, data, caplen, 0, seg);
	case 0:
	case 108: {
		uint32_t af = linktype == 108 ? ftpi__cur_be32(&c) : ftpi__cur_le32(&c);
		if (c.bad) {
			FTPI__COUNT(cx, truncated);
			return 0;
		}
		if (linktype == 0 && (af & 0xffff) == 0) /* written by a big-endian host */
			af = ((af >> 24) & 0xff) | ((af >> 8) & 0xff00);
		uint16_t et = bsd_af_to_ethertype(af);
		if (et == 0xffff) {
			FTPI__COUNT(cx, decode_not_ip);
			return 0;
		}
		return ftpi__decode_l3(cx, et, data + 4, caplen - 4, 0, seg);
	}
	case 113: { /* SLL: type, arphrd, addr len, addr[8], protocol */
		ftpi__cur_skip(&c, 14);
		uint16_t proto = ftpi__cur_be16(&c);
		return cooked_payload(cx, &c, proto, seg);
	}
	case 276: { /* SLL2: protocol, reserved, ifindex, arphrd, type, addr len, addr[8] */
		uint16_t proto = ftpi__cur_be16(&c);
		ftpi__cur_skip(&c, 18);
		return cooked_payload(cx, &c, proto, seg);
	}
	default:
		FTPI__COUNT(cx, unsupported_linktype);
		return 0;
	}
}
