/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_packet.c - arbitrary bytes as packets of every supported link type. The first byte picks
 * the link type; the rest is split into packets at the separator "FTPI", each fed with a later
 * timestamp, then the engine is flushed.
 */
#include <stdlib.h>

#include "fuzz_common.h"

static const int linktypes[] = {1, 0, 12, 101, 108, 113, 228, 229, 276};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	ftpi_engine *e = fuzz_engine();
	if (e == NULL)
		return 0;
	int lt = linktypes[data[0] % (sizeof linktypes / sizeof linktypes[0])];
	const uint8_t *p = data + 1, *end = data + size;
	uint64_t ts = 1000000;
	while (p < end) {
		const uint8_t *q = fuzz_piece_end(p, end, "FTPI", 4);
		size_t n = (size_t)(q - p);
		/* each packet in its own allocation, so ASan sees reads past it */
		uint8_t *pkt = malloc(n ? n : 1);
		if (pkt == NULL)
			break;
		memcpy(pkt, p, n);
		struct ftpi_packet pk = {ts, lt, (uint32_t)n, (uint32_t)n + (n & 3), pkt};
		(void)ftpi_engine_feed(e, &pk);
		free(pkt);
		ts += 250000;
		p = q < end ? q + 4 : end;
	}
	(void)ftpi_engine_flush(e);
	return 0;
}
