/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_ftp_stream.c - the FTP layers over the stream entry point: the input is split at the
 * separator "\n--\n" into chunks that alternate direction (server first: the greeting), each in
 * its own allocation (as Suricata's FTP fuzzer does); a chunk starting with "GAP" is a gap.
 */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ftpi_engine *e = fuzz_engine();
	if (e == NULL)
		return 0;
	struct ftpi_endpoint c = {{4, {10, 0, 0, 1}}, 40000}, s = {{4, {10, 0, 0, 2}}, 21};
	uint64_t id;
	if (ftpi_stream_open(e, &c, &s, 1000000, &id) != FTPI_OK)
		return 0;
	const uint8_t *p = data, *end = data + size;
	int dir = FTPI_DIR_TO_CLIENT;
	uint64_t ts = 1000000;
	while (p < end) {
		const uint8_t *q = fuzz_piece_end(p, end, "\n--\n", 4);
		size_t n = (size_t)(q - p);
		if (n >= 3 && memcmp(p, "GAP", 3) == 0) {
			(void)ftpi_stream_gap(e, id, dir, n);
		} else {
			uint8_t *chunk = malloc(n ? n : 1);
			if (chunk == NULL)
				break;
			memcpy(chunk, p, n);
			(void)ftpi_stream_data(e, id, dir, ts, chunk, n);
			free(chunk);
		}
		dir = !dir;
		ts += 1000;
		p = q < end ? q + 4 : end;
	}
	(void)ftpi_stream_close(e, id, ts);
	(void)ftpi_engine_flush(e);
	return 0;
}
