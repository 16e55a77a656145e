/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ftpi_bench.c - the engine under the same load as the bare read loop (pcap_read.c): it reads a
 * savefile with pcap_next_ex() and gives every packet to ftpi_engine_feed(), with a callback that
 * only counts events (no formatting, no output), then flushes the engine. It prints key=value
 * lines: packets, bytes, seconds, packets/s, MB/s, events per type and the engine's counters,
 * among them mem_high_water from ftpi_engine_stats().
 *
 * Other modes, for the memory part of the benchmark:
 *   --preload      read the whole file into memory first and time the feed loop alone
 *                  (engine cost without the reading);
 *   --batch        the same, fed through ftpi_engine_feed_batch() 64 packets at a time;
 *   --trace N      every N packets, print one "trace" line with flows and memory counters;
 *   --synflood N   no file: feed N synthetic TCP SYNs from distinct clients (a flow flood),
 *                  half of them to port 21, to show that memory stays under the flow cap;
 *   --max-flows N, --max-sessions N, --mem-cap MIB, --no-ndpi: engine config knobs (as the
 *                  CLI's flags);
 *   --no-flow-events  the event mask without flow ends, as the CLI sets it without --flows
 *                  (nDPI is then not asked about flows whose first bytes show they are not FTP).
 * It is a benchmark driver, not a test: it checks nothing and never fails on the counters.
 */
#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftpinspect.h>

struct counts {
	uint64_t total;
	uint64_t by_type[FTPI_EV__COUNT];
};

/* One packet kept in memory for --preload: the header and the bytes in one block. */
struct held {
	struct ftpi_packet pkt;
	uint8_t bytes[];
};

struct opts {
	const char *file;
	uint32_t max_flows, max_sessions, mem_cap_mib;
	int no_ndpi, no_flow_events, preload, batch;
	unsigned file_hashes;
	uint64_t trace, synflood;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_event(void *user, const struct ftpi_event *ev)
{
	struct counts *c = user;

	c->total++;
	if (ev->type >= 0 && ev->type < FTPI_EV__COUNT)
		c->by_type[ev->type]++;
	return 0;
}

static void trace_line(const ftpi_engine *e, uint64_t packets)
{
	struct ftpi_stats st;

	if (ftpi_engine_stats(e, &st, sizeof st) != FTPI_OK)
		return;
	printf("trace packets=%llu flows_created=%llu flows_active=%llu flows_evicted=%llu "
	       "sessions_active=%llu mem_in_use=%llu mem_high_water=%llu\n",
	       (unsigned long long)packets, (unsigned long long)st.flows_created,
	       (unsigned long long)st.flows_active, (unsigned long long)st.flows_evicted,
	       (unsigned long long)st.sessions_active, (unsigned long long)st.mem_in_use,
	       (unsigned long long)st.mem_high_water);
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)((p[i] << 8) | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

/* Writes SYN number i of the flood into buf (54 bytes: Ethernet, IPv4, TCP) with correct
 * checksums. Client 100.64.0.0/10 address and port both vary with i, so every SYN is a new flow. */
static void make_syn(uint8_t *buf, uint64_t i)
{
	static const uint8_t eth[14] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00};
	uint8_t *ip = buf + 14, *tcp = buf + 34;
	uint32_t src = 0x64400000u | (uint32_t)((i / 50000u) & 0x3fffffu);
	uint16_t sport = (uint16_t)(10000u + i % 50000u);
	uint16_t dport = (i & 1) ? 21 : (uint16_t)(1024u + (i >> 1) % 60000u);
	uint8_t pseudo[12];
	uint32_t seq = (uint32_t)(i * 2654435761u);
	uint16_t c;

	memcpy(buf, eth, sizeof eth);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ip[3] = 40;
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = (uint8_t)(src >> 24);
	ip[13] = (uint8_t)(src >> 16);
	ip[14] = (uint8_t)(src >> 8);
	ip[15] = (uint8_t)src;
	ip[16] = 10;
	ip[17] = 9;
	ip[18] = 0;
	ip[19] = 1;
	c = csum_fold(csum_add(0, ip, 20));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	tcp[0] = (uint8_t)(sport >> 8);
	tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[4] = (uint8_t)(seq >> 24);
	tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8);
	tcp[7] = (uint8_t)seq;
	tcp[12] = 0x50;
	tcp[13] = 0x02; /* SYN */
	tcp[14] = 0xfa;
	tcp[15] = 0xf0;
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	pseudo[10] = 0;
	pseudo[11] = 20;
	c = csum_fold(csum_add(csum_add(0, pseudo, 12), tcp, 20));
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
}

static void usage(void)
{
	fprintf(stderr, "usage: ftpi_bench [--preload|--batch] [--trace N] [--max-flows N] "
			"[--max-sessions N] [--mem-cap MIB] [--no-ndpi] [--no-flow-events] [--file-hashes] FILE\n"
			"       ftpi_bench --synflood N [--trace N] [--max-flows N] [--no-ndpi]\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int i;
	uint64_t v;

	memset(o, 0, sizeof *o);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--preload") == 0) {
			o->preload = 1;
		} else if (strcmp(a, "--batch") == 0) {
			o->preload = o->batch = 1;
		} else if (strcmp(a, "--no-ndpi") == 0) {
			o->no_ndpi = 1;
		} else if (strcmp(a, "--no-flow-events") == 0) {
			o->no_flow_events = 1;
		} else if (strcmp(a, "--file-hashes") == 0) {
			o->file_hashes = FTPI_HASH_SHA256; /* the CLI's --file-hashes, without libmagic */
		} else if (strcmp(a, "--trace") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &o->trace) != 0)
				return -1;
		} else if (strcmp(a, "--synflood") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &o->synflood) != 0)
				return -1;
		} else if (strcmp(a, "--max-flows") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &v) != 0 || v == 0 || v > UINT32_MAX)
				return -1;
			o->max_flows = (uint32_t)v;
		} else if (strcmp(a, "--max-sessions") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &v) != 0 || v == 0 || v > UINT32_MAX)
				return -1;
			o->max_sessions = (uint32_t)v;
		} else if (strcmp(a, "--mem-cap") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &v) != 0 || v < 16 || v > 1048576)
				return -1;
			o->mem_cap_mib = (uint32_t)v;
		} else if (a[0] == '-') {
			return -1;
		} else if (o->file == NULL) {
			o->file = a;
		} else {
			return -1;
		}
	}
	if ((o->file == NULL) == (o->synflood == 0))
		return -1;
	return 0;
}

/* The most flows the engine held at once, sampled every 1024 packets. */
static uint64_t flows_peak;

/* Feeds one packet and emits a trace line when due. */
static int feed(ftpi_engine *e, const struct ftpi_packet *pkt, uint64_t *n, uint64_t trace)
{
	int rc = ftpi_engine_feed(e, pkt);

	(*n)++;
	if ((*n & 1023) == 0) {
		struct ftpi_stats st;
		if (ftpi_engine_stats(e, &st, offsetof(struct ftpi_stats, flows_active) +
						      sizeof st.flows_active) == FTPI_OK &&
		    st.flows_active > flows_peak)
			flows_peak = st.flows_active;
	}
	if (trace != 0 && *n % trace == 0)
		trace_line(e, *n);
	return rc == FTPI_E_LINKTYPE ? FTPI_OK : rc;
}

int main(int argc, char **argv)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct counts counts;
	struct ftpi_config cfg;
	struct ftpi_stats st;
	struct opts o;
	struct held **held = NULL;
	size_t n_held = 0, cap_held = 0, i;
	uint64_t packets = 0, bytes = 0;
	double t0, t_feed0 = 0, t_feed1 = 0, t1;
	ftpi_engine *e;
	pcap_t *p = NULL;
	int status = 0, rc = FTPI_OK, linktype = 1;

	if (parse_opts(argc, argv, &o) != 0) {
		usage();
		return 2;
	}
	memset(&counts, 0, sizeof counts);
	t0 = now_s();
	ftpi_config_init(&cfg);
	cfg.on_event = count_event;
	cfg.user = &counts;
	if (o.max_flows)
		cfg.max_flows = o.max_flows;
	if (o.max_sessions)
		cfg.max_sessions = o.max_sessions;
	if (o.mem_cap_mib)
		cfg.mem_cap = (size_t)o.mem_cap_mib << 20;
	if (o.no_ndpi)
		cfg.use_ndpi = 0;
	if (o.no_flow_events)
		cfg.event_mask &= ~(uint32_t)FTPI_EVMASK_FLOWS;
	cfg.file_hashes = o.file_hashes;
	e = ftpi_engine_new(&cfg, &status);
	if (e == NULL) {
		fprintf(stderr, "ftpi_bench: ftpi_engine_new: %s\n", ftpi_strerror(status));
		return 1;
	}

	if (o.synflood) {
		uint8_t buf[54];
		struct ftpi_packet pkt = {0, 1, sizeof buf, sizeof buf, buf};
		uint64_t k;

		t_feed0 = now_s();
		for (k = 0; k < o.synflood && rc == FTPI_OK; k++) {
			make_syn(buf, k);
			pkt.ts_us = 1700000000000000ull + k; /* one SYN per microsecond */
			bytes += sizeof buf;
			rc = feed(e, &pkt, &packets, o.trace);
		}
		t_feed1 = now_s();
	} else {
		struct pcap_pkthdr *h;
		const u_char *data;
		int prc = 0;

		p = pcap_open_offline(o.file, ebuf);
		if (p == NULL) {
			fprintf(stderr, "ftpi_bench: %s\n", ebuf);
			ftpi_engine_free(e);
			return 1;
		}
		linktype = pcap_datalink(p);
		if (!o.preload)
			t_feed0 = now_s();
		while (rc == FTPI_OK && (prc = pcap_next_ex(p, &h, &data)) == 1) {
			struct ftpi_packet pkt;

			pkt.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
			pkt.linktype = linktype;
			pkt.caplen = h->caplen;
			pkt.wirelen = h->len;
			pkt.data = data;
			bytes += h->caplen;
			if (!o.preload) {
				rc = feed(e, &pkt, &packets, o.trace);
				continue;
			}
			if (n_held == cap_held) {
				size_t nc = cap_held ? cap_held * 2 : 65536;
				struct held **nh = realloc(held, nc * sizeof *nh);
				if (nh == NULL) {
					fprintf(stderr, "ftpi_bench: out of memory\n");
					return 1;
				}
				held = nh;
				cap_held = nc;
			}
			held[n_held] = malloc(sizeof **held + h->caplen);
			if (held[n_held] == NULL) {
				fprintf(stderr, "ftpi_bench: out of memory\n");
				return 1;
			}
			memcpy(held[n_held]->bytes, data, h->caplen);
			pkt.data = held[n_held]->bytes;
			held[n_held]->pkt = pkt;
			n_held++;
		}
		if (prc == PCAP_ERROR)
			fprintf(stderr, "ftpi_bench: %s\n", pcap_geterr(p));
		if (o.batch) {
			/* the packets side by side, fed 64 per ftpi_engine_feed_batch() call */
			struct ftpi_packet *pk = malloc((n_held ? n_held : 1) * sizeof *pk);
			if (pk == NULL) {
				fprintf(stderr, "ftpi_bench: out of memory\n");
				return 1;
			}
			for (i = 0; i < n_held; i++)
				pk[i] = held[i]->pkt;
			t_feed0 = now_s();
			for (i = 0; i < n_held && rc == FTPI_OK; i += 64) {
				size_t fed = 0, m = n_held - i < 64 ? n_held - i : 64;
				rc = ftpi_engine_feed_batch(e, pk + i, m, &fed);
				packets += fed;
				if (rc == FTPI_E_LINKTYPE)
					rc = FTPI_OK;
			}
			free(pk);
		} else if (o.preload) {
			t_feed0 = now_s();
			for (i = 0; i < n_held && rc == FTPI_OK; i++)
				rc = feed(e, &held[i]->pkt, &packets, o.trace);
		}
		t_feed1 = now_s();
	}
	if (rc != FTPI_OK)
		fprintf(stderr, "ftpi_bench: feed: %s\n", ftpi_strerror(rc));
	if (ftpi_engine_stats(e, &st, sizeof st) != FTPI_OK)
		memset(&st, 0, sizeof st);
	/* The flush emits the end-of-session events; it is part of the work, so it is timed. */
	(void)ftpi_engine_flush(e);
	t1 = now_s();

	printf("tool=ftpi_bench\nfile=%s\nlinktype=%d\npackets=%llu\nbytes=%llu\n",
	       o.file ? o.file : "(synflood)", linktype, (unsigned long long)packets,
	       (unsigned long long)bytes);
	printf("seconds=%.6f\nfeed_seconds=%.6f\n", t1 - t0, t_feed1 - t_feed0);
	if (t_feed1 > t_feed0)
		printf("feed_pps=%.0f\nfeed_MBps=%.2f\n", (double)packets / (t_feed1 - t_feed0),
		       (double)bytes / 1e6 / (t_feed1 - t_feed0));
	printf("flows_active_peak=%llu\n", (unsigned long long)flows_peak);
	printf("events=%llu\n", (unsigned long long)counts.total);
	for (i = 0; i < FTPI_EV__COUNT; i++)
		printf("events.%s=%llu\n", ftpi_event_type_name((int)i),
		       (unsigned long long)counts.by_type[i]);
	/* Counters before the flush (the flush ends every flow), then the memory high-water. */
	{
		const char *name;

		for (i = 0; (name = ftpi_stats_field_name(i)) != NULL; i++)
			printf("stat.%s=%llu\n", name, (unsigned long long)ftpi_stats_field(&st, i));
	}
	if (ftpi_engine_stats(e, &st, sizeof st) == FTPI_OK)
		printf("mem_high_water=%llu\nmem_in_use_after_flush=%llu\n",
		       (unsigned long long)st.mem_high_water, (unsigned long long)st.mem_in_use);
	ftpi_engine_free(e);
	if (p != NULL)
		pcap_close(p);
	for (i = 0; i < n_held; i++)
		free(held[i]);
	free(held);
	return rc == FTPI_OK ? 0 : 1;
}
