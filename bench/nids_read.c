/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nids_read.c - libnids as a peer in the benchmark: the same savefile through libnids (Debian
 * libnids-dev), which decodes IP, defragments and reassembles every TCP stream in both
 * directions, handing the in-order bytes to a callback that only counts them. This is the
 * classic "reassemble everything" baseline next to ftpinspect's engine, which reassembles the
 * control channels and counts the data ones. Checksums are not verified (captures taken on the
 * sending host carry unfilled ones) and the port-scan detector is off. It prints key=value lines
 * (packets, bytes, streams, stream_bytes, seconds); it checks nothing.
 *
 *   nids_read [--streams N] FILE     N: libnids' stream table size (default 1048576)
 */
#include <nids.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t streams, stream_bytes, packets;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_tcp(struct tcp_stream *t, void **param)
{
	(void)param;
	switch (t->nids_state) {
	case NIDS_JUST_EST:
		streams++;
		t->client.collect++;
		t->server.collect++;
		break;
	case NIDS_DATA:
		stream_bytes += (uint64_t)t->client.count_new + (uint64_t)t->server.count_new;
		break;
	default:
		break;
	}
}

/* Counts packets: libnids calls the IP-fragment hook for every IP packet it sees. */
static void on_ip_frag(void *data, int len)
{
	(void)data;
	(void)len;
	packets++;
}

int main(int argc, char **argv)
{
	static struct nids_chksum_ctl all = {0, 0, NIDS_DONT_CHKSUM, 0};
	int n_streams = 1 << 20;
	const char *file = NULL;
	double t0, t1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--streams") == 0 && i + 1 < argc)
			n_streams = atoi(argv[++i]);
		else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else
			file = NULL, i = argc;
	}
	if (file == NULL || n_streams <= 0) {
		fprintf(stderr, "usage: nids_read [--streams N] FILE\n");
		return 2;
	}
	t0 = now_s();
	nids_params.filename = (char *)file;
	nids_params.device = NULL;
	nids_params.n_tcp_streams = n_streams;
	nids_params.n_hosts = 65536;
	nids_params.scan_num_hosts = 0;
	nids_params.pcap_filter = NULL;
	nids_params.tcp_workarounds = 1;
	nids_register_chksum_ctl(&all, 1);
	if (!nids_init()) {
		fprintf(stderr, "nids_read: %s\n", nids_errbuf);
		return 1;
	}
	nids_register_ip_frag(on_ip_frag);
	nids_register_tcp(on_tcp);
	nids_run();
	nids_exit();
	t1 = now_s();
	printf("tool=nids_read\nip_packets=%llu\nstreams=%llu\nstream_bytes=%llu\nseconds=%.6f\n",
	       (unsigned long long)packets, (unsigned long long)streams,
	       (unsigned long long)stream_bytes, t1 - t0);
	return 0;
}
