/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shard.c - ftpi_shard_of(): which worker a packet belongs to, for hosts that spread packets over
 * several engines themselves. The hash is over the two IP addresses, unordered, so both
 * directions of a connection and every connection between the same two hosts (an FTP session's
 * control and its usual data connections) land on one worker. Ports are left out on purpose.
 * The hash is not keyed: a hostile host pair can load one worker, never more.
 */
#include "engine.h"
#include "store.h"

static uint64_t addr_hash(const struct ftpi_addr *a)
{
	uint64_t w[2];
	memcpy(w, a->ip, 16);
	uint64_t h = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull) ^ a->family) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

unsigned ftpi_shard_of_addrs(const struct ftpi_addr *a, const struct ftpi_addr *b, unsigned n)
{
	if (a == NULL || b == NULL || n <= 1)
		return 0;
	uint64_t x = addr_hash(a), y = addr_hash(b);
	uint64_t lo = x < y ? x : y, hi = x < y ? y : x;
	uint64_t h = (lo * 0xc4ceb9fe1a85ec53ull) ^ hi;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (unsigned)(h % n);
}

static int decode(const struct ftpi_packet *pkt, struct ftpi_tcp_seg *seg)
{
	struct ftpi__ctx cx; /* counters only: thrown away */
	if (pkt == NULL || !ftpi_linktype_supported(pkt->linktype) ||
	    (pkt->data == NULL && pkt->caplen))
		return 0;
	memset(&cx, 0, sizeof cx);
	memset(seg, 0, sizeof *seg);
	cx.cfg.size = sizeof cx.cfg;
	if (ftpi__decode_packet(&cx, pkt->linktype, pkt->data, pkt->caplen, seg))
		return 1;
	/* an IP fragment is not decoded here (no defragmenter), but its addresses are known */
	return seg->src.addr.family != 0 ? 2 : 0;
}

/* The shard of a decoded packet (how: decode()'s result, not 0). */
static unsigned shard_of_seg(const struct ftpi_tcp_seg *seg, int how, unsigned n, int by_conn)
{
	if (!by_conn || how == 2) /* a fragment has no ports: by its host pair */
		return ftpi_shard_of_addrs(&seg->src.addr, &seg->dst.addr, n);
	uint64_t x = addr_hash(&seg->src.addr) ^ ((uint64_t)seg->src.port * 0x9e3779b97f4a7c15ull);
	uint64_t y = addr_hash(&seg->dst.addr) ^ ((uint64_t)seg->dst.port * 0x9e3779b97f4a7c15ull);
	uint64_t h = (x ^ y) * 0xbf58476d1ce4e5b9ull; /* symmetric: both directions together */
	h ^= h >> 31;
	return (unsigned)(h % n);
}

unsigned ftpi_expect_store_dispatch(ftpi_expect_store *st, const struct ftpi_packet *pkt,
				    unsigned n, int by_conn)
{
	struct ftpi_tcp_seg seg;
	uint16_t port = 0;
	int how = decode(pkt, &seg);
	if (how == 1 && (seg.flags & FTPI_TH_SYN)) /* the server is the SYN's target */
		port = (seg.flags & FTPI_TH_ACK) ? seg.src.port : seg.dst.port;
	unsigned shard = how == 0 || n <= 1 ? 0 : shard_of_seg(&seg, how, n, by_conn);
	if (st && pkt)
		ftpi__store_note_start(st, shard, port, pkt->ts_us);
	return shard;
}

unsigned ftpi_shard_of(const struct ftpi_packet *pkt, unsigned n)
{
	struct ftpi_tcp_seg seg;
	int how = n <= 1 ? 0 : decode(pkt, &seg);
	return how == 0 ? 0 : shard_of_seg(&seg, how, n, 0);
}

unsigned ftpi_shard_of_conn(const struct ftpi_packet *pkt, unsigned n)
{
	struct ftpi_tcp_seg seg;
	int how = n <= 1 ? 0 : decode(pkt, &seg);
	return how == 0 ? 0 : shard_of_seg(&seg, how, n, 1);
}
