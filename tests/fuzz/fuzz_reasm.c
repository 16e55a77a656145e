/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_reasm.c - a sequence of crafted TCP segments for one connection (port 21, so the FTP
 * layers run too). Each 6-byte record header gives direction, flags, a sequence offset, a length
 * and a time step; payload bytes follow. This drives reassembly through out-of-order, overlap,
 * retransmission, wrap-around (the ISNs sit near 2^32), gaps and FIN/RST orders.
 */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ftpi_engine *e = fuzz_engine();
	if (e == NULL)
		return 0;
	const uint32_t isn[2] = {0xfffff000u, 0x7ffffff0u};
	uint64_t ts = 1000000;
	size_t i = 0;
	while (i + 6 <= size) {
		int dir = data[i] & 1;
		uint8_t flags = data[i + 1] & 0x1f;
		uint16_t off = (uint16_t)(data[i + 2] << 8 | data[i + 3]);
		size_t len = data[i + 4];
		ts += (uint64_t)data[i + 5] * 100000;
		i += 6;
		if (len > size - i)
			len = size - i;
		uint8_t *pkt = malloc(40 + len);
		if (pkt == NULL)
			break;
		memset(pkt, 0, 40);
		pkt[0] = 0x45;
		put16(pkt + 2, (uint16_t)(40 + len));
		pkt[8] = 64;
		pkt[9] = 6;
		uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
		memcpy(pkt + 12, dir ? b : a, 4);
		memcpy(pkt + 16, dir ? a : b, 4);
		put16(pkt + 20, dir ? 21 : 40000);
		put16(pkt + 22, dir ? 40000 : 21);
		put32(pkt + 24, isn[dir] + off);
		put32(pkt + 28, isn[!dir] + (uint32_t)(data[i - 4] * 64));
		pkt[32] = 0x50;
		pkt[33] = flags;
		memcpy(pkt + 40, data + i, len);
		i += len;
		struct ftpi_packet pk = {ts, 228, (uint32_t)(40 + len), (uint32_t)(40 + len), pkt};
		(void)ftpi_engine_feed(e, &pk);
		free(pkt);
	}
	(void)ftpi_engine_flush(e);
	return 0;
}
