/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcap_read.c - the baseline of the benchmark (1.0x): a bare libpcap read loop. It opens a
 * savefile with pcap_open_offline(), calls pcap_next_ex() until the end and touches the first
 * byte of every packet, so the pages are really read. It is what any capture-file tool pays
 * before it does any work; ftpi_bench and the ftpinspect CLI are compared against it. It prints
 * key=value lines (packets, bytes, seconds) and does nothing else: no decoding, no output.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0;
	unsigned sum = 0;
	double t0, t1;
	pcap_t *p;
	int rc;

	if (argc != 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: pcap_read FILE\n");
		return 2;
	}
	t0 = now_s();
	p = pcap_open_offline(argv[1], ebuf);
	if (p == NULL) {
		fprintf(stderr, "pcap_read: %s\n", ebuf);
		return 1;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		packets++;
		bytes += h->caplen;
		if (h->caplen > 0)
			sum += data[0];
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "pcap_read: %s\n", pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	t1 = now_s();
	/* Printing the sum keeps the compiler from dropping the touch of the first byte. */
	printf("tool=pcap_read\npackets=%llu\nbytes=%llu\nseconds=%.6f\nchecksum=%u\n",
	       (unsigned long long)packets, (unsigned long long)bytes, t1 - t0, sum);
	return 0;
}
