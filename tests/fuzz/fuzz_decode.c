/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_decode.c - the packet decoder alone (link, tunnels, IPv4/IPv6, TCP): one packet per input.
 * The first byte picks the link type, the second is unused (kept so the corpus keeps its
 * format); the rest is the packet, in its own allocation. Checks: every pointer the
 * decoder hands on (IP header, TCP header, payload) lies inside the captured bytes, the payload
 * never exceeds what the wire length allows, and the checksum helper reads only those bytes.
 * The defragmenter (issue 14) gets its own target next to this one when it lands: fragments of
 * one datagram split at separator bytes, fed in the order a leading byte picks.
 */
#include <stdlib.h>

#include <string.h>

#include "decode.h"
#include "fuzz_ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {1, 0, 12, 101, 108, 113, 228, 229, 276};

static int inside(const uint8_t *p, uint32_t n, const uint8_t *base, size_t size)
{
	return p >= base && p <= base + size && n <= (size_t)(base + size - p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftpi__ctx *cx = fuzz_ctx();
	if (size < 2 || size > 65535 + 2)
		return 0;
	int lt = linktypes[data[0] % (sizeof linktypes / sizeof linktypes[0])];
	size_t n = size - 2;
	uint8_t *pkt = malloc(n ? n : 1);
	if (pkt == NULL)
		return 0;
	memcpy(pkt, data + 2, n);
	struct ftpi_tcp_seg seg;
	memset(&seg, 0, sizeof seg);
	if (ftpi__decode_packet(cx, lt, pkt, (uint32_t)n, &seg) == 1) {
		if (!inside(seg.ip, seg.ip_len, pkt, n) || !inside(seg.tcp, seg.tcp_len, pkt, n) ||
		    !inside(seg.payload, seg.len, pkt, n))
			abort();
		if (seg.tcp < seg.ip || seg.payload < seg.tcp || seg.len > seg.wire_len)
			abort();
		if (seg.src.addr.family != 4 && seg.src.addr.family != 6)
			abort();
		volatile int ok = ftpi__tcp_checksum_ok(&seg);
		(void)ok;
	}
	free(pkt);
	return 0;
}
