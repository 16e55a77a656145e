/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stream_bench.c - the cost of a stream call against the number of open streams: opens N
 * streams (distinct client addresses and ports, a non-FTP port), gives each its first chunk so
 * the engine has classified it, then times M ftpi_stream_data calls on streams picked at random.
 * Prints "streams=N calls=M ns_per_call=X". A benchmark driver: it checks nothing.
 *
 *   stream_bench N [M]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftpinspect.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000;
	uint32_t m = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 2000000;
	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.use_ndpi = 0;
	cfg.max_flows = n + 16;
	ftpi_engine *e = ftpi_engine_new(&cfg, NULL);
	uint64_t *ids = calloc(n, sizeof *ids), ts = 1700000000000000ull, x = 88172645463325252ull;
	static const uint8_t chunk[64] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
	if (e == NULL || ids == NULL)
		return 1;
	for (uint32_t i = 0; i < n; i++) {
		struct ftpi_endpoint c = {{4, {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i}},
					  (uint16_t)(1024 + i % 60000)};
		struct ftpi_endpoint s = {{4, {192, 0, 2, 1}}, 8080};
		if (ftpi_stream_open(e, &c, &s, ts, &ids[i]) != FTPI_OK)
			return 1;
		ftpi_stream_data(e, ids[i], FTPI_DIR_TO_SERVER, ts, chunk, sizeof chunk);
	}
	double t0 = now_s();
	for (uint32_t k = 0; k < m; k++) {
		x ^= x << 13; /* xorshift: streams in no particular order */
		x ^= x >> 7;
		x ^= x << 17;
		ftpi_stream_data(e, ids[x % n], FTPI_DIR_TO_CLIENT, ts, chunk, sizeof chunk);
	}
	double dt = now_s() - t0;
	printf("streams=%u calls=%u ns_per_call=%.1f\n", n, m, dt * 1e9 / m);
	ftpi_engine_free(e);
	free(ids);
	return 0;
}
