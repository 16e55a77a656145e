/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_stream.c - the stream entry point (ftpi_stream_open/_data/_gap/_close) driven by a
 * byte-coded program over up to 8 connections at once, as an IDS that reassembles TCP itself
 * would call it. Each operation is one byte (low 3 bits: the operation) and its operands:
 *   0 open   b [p1 p2]  slot b&7; client 10.0.0.(1 + (b>>3 & 1)), server 10.0.0.9; the server
 *                       port from a table (21, 990, 20, 2121) or, when b&0x80, from p1 p2;
 *                       b&0x40: the server host initiates (active-mode data)
 *   1 data   b n bytes  slot b&7, direction b>>3 & 1, n payload bytes (own allocation)
 *   2 gap    b n        slot b&7, direction b>>3 & 1, n * 97 bytes lost
 *   3 close  b          slot b&7
 *   4 time   n          capture time + n seconds, then ftpi_engine_advance
 *   5 flush             ends everything (the engine is reusable)
 *   6,7                 data on slot op>>3 & 7 up to the next 0x0a byte (a whole line)
 * Checks: no crash or overread (ASan), every call's status is one the API documents, and a
 * flushed engine holds no flow, session or library memory in use beyond its fixed tables.
 */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void status_ok(int rc)
{
	if (rc != FTPI_OK && rc != FTPI_E_LIMIT && rc != FTPI_E_INVAL && rc != FTPI_E_NOMEM)
		abort();
}

static void feed(ftpi_engine *e, uint64_t id, int dir, uint64_t ts, const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	if (c == NULL)
		return;
	memcpy(c, p, n);
	status_ok(ftpi_stream_data(e, id, dir, ts, c, n));
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = {21, 990, 20, 2121};
	uint64_t ids[8] = {0}, ts = 1000000000;
	uint8_t open[8] = {0};
	size_t i = 0;
	ftpi_engine *e = fuzz_engine();
	if (e == NULL)
		return 0;
	while (i < size) {
		uint8_t op = data[i++];
		uint8_t b = i < size ? data[i] : 0;
		unsigned slot = b & 7, dir = (b >> 3) & 1;
		ts += 1000;
		switch (op & 7) {
		case 0: {
			i++;
			struct ftpi_endpoint c = {{4, {10, 0, 0, (uint8_t)(1 + dir)}}, 40000};
			struct ftpi_endpoint s = {{4, {10, 0, 0, 9}}, ports[(b >> 4) & 3]};
			if ((b & 0x80) && i + 2 <= size) {
				s.port = (uint16_t)(data[i] << 8 | data[i + 1]);
				i += 2;
			}
			c.port = (uint16_t)(40000 + i);
			if (b & 0x40) {
				struct ftpi_endpoint t = c;
				c = s;
				s = t;
			}
			uint64_t id;
			int rc = ftpi_stream_open(e, &c, &s, ts, &id);
			status_ok(rc);
			if (rc == FTPI_OK) {
				if (open[slot])
					status_ok(ftpi_stream_close(e, ids[slot], ts));
				ids[slot] = id;
				open[slot] = 1;
			}
			break;
		}
		case 1: {
			size_t n = i + 1 < size ? data[i + 1] : 0;
			i += 2;
			if (i > size)
				i = size;
			if (n > size - i)
				n = size - i;
			if (open[slot])
				feed(e, ids[slot], (int)dir, ts, data + i, n);
			i += n;
			break;
		}
		case 2: {
			uint64_t n = i + 1 < size ? data[i + 1] : 0;
			i += 2;
			if (open[slot])
				status_ok(ftpi_stream_gap(e, ids[slot], (int)dir, n * 97 + 1));
			break;
		}
		case 3:
			i++;
			if (open[slot]) {
				status_ok(ftpi_stream_close(e, ids[slot], ts));
				open[slot] = 0;
			}
			break;
		case 4:
			i++;
			ts += (uint64_t)b * 1000000;
			status_ok(ftpi_engine_advance(e, ts));
			break;
		case 5:
			status_ok(ftpi_engine_flush(e));
			memset(open, 0, sizeof open);
			break;
		default: {
			slot = (op >> 3) & 7;
			dir = (op >> 6) & 1;
			const uint8_t *lf = memchr(data + i, '\n', size - i);
			size_t n = lf ? (size_t)(lf - (data + i)) + 1 : size - i;
			if (open[slot])
				feed(e, ids[slot], (int)dir, ts, data + i, n);
			i += n;
			break;
		}
		}
	}
	status_ok(ftpi_engine_flush(e));
	struct ftpi_stats st;
	if (ftpi_engine_stats(e, &st, sizeof st) != FTPI_OK || st.flows_active != 0 ||
	    st.sessions_active != 0 || st.reasm_bytes_held != 0)
		abort();
	return 0;
}
