/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_defrag.c - a sequence of IPv4 or IPv6 fragments for the defragmenter, under tiny caps
 * (4 datagrams, 8 KiB, 2 s timeout) so eviction, timeouts and drop reports run too. Each 8-byte
 * record header gives: flags (bit 0 IPv6, bit 1 more fragments, bits 2-3 which of four
 * datagram ids, bit 4 the other direction), the fragment offset in 8-byte units (be16), the
 * data length (be16), a time step in 100 ms, and the protocol / next header (6 = TCP); the data
 * bytes follow. A complete datagram goes on through the whole engine (a TCP header at offset 0
 * for port 21 reaches the FTP layers).
 */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ftpi_engine *kept;
	struct ftpi_config cfg;
	(void)fuzz_engine; /* its caps are not the defragmenter's: the engine is made here */
	ftpi_config_init(&cfg);
	cfg.max_flows = 16;
	cfg.max_sessions = 4;
	cfg.mem_cap = 8 << 20;
	cfg.max_frag_datagrams = 4;
	cfg.frag_mem = 8 << 10;
	cfg.timeout_frag = 2000000;
	cfg.use_ndpi = 0;
	cfg.on_event = fuzz_on_event;
	ftpi_engine *e = fuzz_reuse(&kept, &cfg);
	if (e == NULL)
		return 0;
	const uint8_t *p = data, *end = data + size;
	uint64_t ts = 1000000;
	while (end - p >= 8) {
		uint8_t fl = p[0], step = p[5], proto = p[6];
		uint32_t off = (uint32_t)(p[1] << 8 | p[2]) & 0x1fff;
		uint32_t len = (uint32_t)(p[3] << 8 | p[4]) & 0x7ff;
		p += 8;
		if (len > (size_t)(end - p))
			len = (uint32_t)(end - p);
		int v6 = fl & 1, more = (fl >> 1) & 1;
		uint32_t id = 0x100 + ((fl >> 2) & 3);
		uint8_t a = (fl & 0x10) ? 2 : 1, b = (fl & 0x10) ? 1 : 2;
		size_t hl = v6 ? 48 : 20;
		/* each packet in its own allocation, so ASan sees reads past it */
		uint8_t *pkt = calloc(1, hl + len + 1);
		if (pkt == NULL)
			break;
		if (v6) {
			pkt[0] = 0x60;
			put16(pkt + 4, 8 + len);
			pkt[6] = 44;
			pkt[7] = 64;
			pkt[8] = pkt[24] = 0xfd;
			pkt[23] = a;
			pkt[39] = b;
			pkt[40] = proto;
			put16(pkt + 42, (off << 3) | (uint32_t)more);
			pkt[46] = (uint8_t)(id >> 8);
			pkt[47] = (uint8_t)id;
		} else {
			pkt[0] = 0x45;
			put16(pkt + 2, 20 + len);
			put16(pkt + 4, id);
			put16(pkt + 6, off | ((uint32_t)more << 13));
			pkt[8] = 64;
			pkt[9] = proto;
			pkt[12] = pkt[16] = 10;
			pkt[15] = a;
			pkt[19] = b;
		}
		memcpy(pkt + hl, p, len);
		p += len;
		struct ftpi_packet pk = {ts, 101, (uint32_t)(hl + len), (uint32_t)(hl + len), pkt};
		(void)ftpi_engine_feed(e, &pk);
		free(pkt);
		ts += (uint64_t)step * 100000;
	}
	(void)ftpi_engine_flush(e);
	return 0;
}
