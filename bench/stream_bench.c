/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stream_bench.c - the cost of a stream call against the number of open streams: opens N
 * streams, gives each its first chunk so the engine has classified it, then times M
 * ftpi_stream_data calls on streams picked at random (ORDER "random", the default: the worst
 * case, every call on a stream whose state the previous calls did not bring in) or in turn
 * (ORDER "seq": stream 0, 1, ..., N-1, 0, ...; the hardware prefetcher sees the pattern). Prints
 * "mode=MODE order=ORDER streams=N calls=M ns_per_call=X". A benchmark driver: it checks nothing.
 *
 *   stream_bench N [M [MODE [ORDER]]]
 *
 * MODE "other" (the default): N streams that are not FTP (distinct client addresses and
 * ports, server port 8080). MODE "data": N FTP data connections, announced by 227 replies of
 * control sessions (one per 64 data connections, also open: N + N/64 streams in all), each
 * past its first bytes, as a transfer in progress is. MODE "floor": no library call, the same
 * loop adds to a 64-byte line per stream in a plain array: what one cache line per stream
 * costs on this machine, the least a call that reads its stream's state can cost.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftpinspect.h>

#define PER_SESSION 64

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int text(ftpi_engine *e, uint64_t id, int dir, uint64_t ts, const char *s)
{
	return ftpi_stream_data(e, id, dir, ts, (const uint8_t *)s, strlen(s));
}

static struct ftpi_endpoint host(uint32_t i, uint16_t port)
{
	struct ftpi_endpoint ep = {{4, {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i}}, port};
	return ep;
}

/* N data connections, PER_SESSION per control session. */
static int open_data(ftpi_engine *e, uint32_t n, uint64_t *ids, uint64_t ts,
		     const uint8_t *chunk, size_t len)
{
	struct ftpi_endpoint srv = {{4, {192, 0, 2, 1}}, 21};
	uint64_t c = 0;
	char reply[128];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = i % PER_SESSION, sess = i / PER_SESSION;
		if (j == 0) {
			struct ftpi_endpoint cli = host(sess, 40000);
			if (ftpi_stream_open(e, &cli, &srv, ts, &c) != FTPI_OK ||
			    text(e, c, FTPI_DIR_TO_CLIENT, ts, "220 hi\r\n") != FTPI_OK ||
			    text(e, c, FTPI_DIR_TO_SERVER, ts, "USER a\r\nPASS b\r\n") != FTPI_OK ||
			    text(e, c, FTPI_DIR_TO_CLIENT, ts, "331 p\r\n230 ok\r\n") != FTPI_OK)
				return -1;
		}
		uint16_t port = (uint16_t)(50000 + j);
		snprintf(reply, sizeof reply, "227 Entering Passive Mode (192,0,2,1,%u,%u).\r\n",
			 port >> 8, port & 255);
		struct ftpi_endpoint dcli = host(sess, (uint16_t)(40001 + j));
		struct ftpi_endpoint dsrv = {{4, {192, 0, 2, 1}}, port};
		if (text(e, c, FTPI_DIR_TO_SERVER, ts, "PASV\r\n") != FTPI_OK ||
		    text(e, c, FTPI_DIR_TO_CLIENT, ts, reply) != FTPI_OK ||
		    ftpi_stream_open(e, &dcli, &dsrv, ts, &ids[i]) != FTPI_OK ||
		    ftpi_stream_data(e, ids[i], FTPI_DIR_TO_CLIENT, ts, chunk, len) != FTPI_OK)
			return -1;
		if (ftpi_stream_role(e, ids[i]) != FTPI_STREAM_DATA)
			return -1;
	}
	return 0;
}

struct line {
	_Alignas(64) uint64_t packets, bytes;
};

/* The index of the k-th call's stream: random (xorshift state *x) or in turn. */
static inline uint32_t pick(uint64_t *x, uint32_t k, uint32_t n, int seq)
{
	if (seq)
		return k % n;
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint32_t)(*x % n);
}

static int floor_loop(uint32_t n, uint32_t m, int seq)
{
	struct line *lines = aligned_alloc(64, (size_t)n * sizeof *lines);
	uint64_t *ids = calloc(n, sizeof *ids), x = 88172645463325252ull;
	if (lines == NULL || ids == NULL)
		return 1;
	memset(lines, 0, (size_t)n * sizeof *lines);
	for (uint32_t i = 0; i < n; i++)
		ids[i] = i;
	double t0 = now_s();
	for (uint32_t k = 0; k < m; k++) {
		struct line *l = &lines[ids[pick(&x, k, n, seq)]];
		l->packets++;
		l->bytes += 64;
	}
	double dt = now_s() - t0;
	printf("mode=floor order=%s streams=%u calls=%u ns_per_call=%.1f\n", seq ? "seq" : "random",
	       n, m, dt * 1e9 / m);
	free(lines);
	free(ids);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000;
	uint32_t m = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 2000000;
	const char *mode = argc > 3 ? argv[3] : "other";
	int data = strcmp(mode, "data") == 0;
	int seq = argc > 4 && strcmp(argv[4], "seq") == 0;
	if (argc > 4 && !seq && strcmp(argv[4], "random") != 0)
		return 1;
	if (strcmp(mode, "floor") == 0)
		return floor_loop(n, m, seq);
	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.use_ndpi = 0;
	cfg.max_flows = n + n / PER_SESSION + 16;
	cfg.max_sessions = n / PER_SESSION + 16;
	ftpi_engine *e = ftpi_engine_new(&cfg, NULL);
	uint64_t *ids = calloc(n, sizeof *ids), ts = 1700000000000000ull, x = 88172645463325252ull;
	static const uint8_t chunk[64] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
	if (e == NULL || ids == NULL || (!data && strcmp(mode, "other") != 0))
		return 1;
	if (data) {
		if (open_data(e, n, ids, ts, chunk, sizeof chunk) != 0) {
			fprintf(stderr, "stream_bench: cannot set up %u data connections\n", n);
			return 1;
		}
	}
	for (uint32_t i = 0; i < n && !data; i++) {
		struct ftpi_endpoint c = host(i, (uint16_t)(1024 + i % 60000));
		struct ftpi_endpoint s = {{4, {192, 0, 2, 1}}, 8080};
		if (ftpi_stream_open(e, &c, &s, ts, &ids[i]) != FTPI_OK)
			return 1;
		ftpi_stream_data(e, ids[i], FTPI_DIR_TO_SERVER, ts, chunk, sizeof chunk);
	}
	double t0 = now_s();
	for (uint32_t k = 0; k < m; k++)
		ftpi_stream_data(e, ids[pick(&x, k, n, seq)], FTPI_DIR_TO_CLIENT, ts, chunk,
				 sizeof chunk);
	double dt = now_s() - t0;
	printf("mode=%s order=%s streams=%u calls=%u ns_per_call=%.1f\n", mode,
	       seq ? "seq" : "random", n, m, dt * 1e9 / m);
	ftpi_engine_free(e);
	free(ids);
	return 0;
}
