/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ftpi_workers_bench.c - the CPU-bound scaling of the engines alone (issue 15): the whole file is
 * loaded into memory and split by ftpi_shard_of() before the clock starts; then N threads each
 * feed their share, in capture order, to their own engine, all engines sharing one expectation
 * store, and flush. The time is from the threads' start to the last flush. Prints key=value
 * lines: packets, seconds, packets/s, events per type, store counters. With --workers 1 there is
 * no store (one engine, as today). A benchmark driver: it checks nothing.
 *
 *   ftpi_workers_bench --workers N [--no-ndpi] FILE
 */
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftpinspect.h>

#define MAX_WORKERS 64
#define LOOKAHEAD 4096 /* packets a worker looks at ahead of the one it feeds */

struct worker {
	ftpi_engine *e;
	unsigned idx;
	struct ftpi_packet *pk; /* its packets, in capture order */
	uint64_t *frame;        /* their numbers in the whole capture */
	size_t n, cap;
	uint64_t events[FTPI_EV__COUNT];
	double busy;
};

static ftpi_expect_store *store;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_event(void *user, const struct ftpi_event *ev)
{
	struct worker *w = user;
	if (ev->type >= 0 && ev->type < FTPI_EV__COUNT)
		w->events[ev->type]++;
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	double t0 = now_s();
	for (size_t i = 0, scan_at = 0; i < w->n; i++) {
		if (i == scan_at && store) { /* what the other engines need not wait for */
			size_t m = w->n - i < LOOKAHEAD ? w->n - i : LOOKAHEAD;
			size_t quiet = ftpi_engine_lookahead(w->e, &w->pk[i], m);
			scan_at = i + quiet + (quiet < m);
		}
		ftpi_engine_feed_frame(w->e, &w->pk[i], w->frame[i]);
	}
	ftpi_engine_flush(w->e); /* marks the engine done in the store first */
	w->busy = now_s() - t0;
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker ws[MAX_WORKERS];
	pthread_t th[MAX_WORKERS];
	char ebuf[PCAP_ERRBUF_SIZE];
	unsigned n = 1;
	int no_ndpi = 0, status = 0;
	const char *file = NULL;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0, last_ts = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
			n = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--no-ndpi") == 0)
			no_ndpi = 1;
		else
			file = argv[i];
	}
	if (file == NULL || n == 0 || n > MAX_WORKERS) {
		fprintf(stderr, "usage: ftpi_workers_bench --workers N [--no-ndpi] FILE\n");
		return 2;
	}
	pcap_t *p = pcap_open_offline(file, ebuf);
	if (p == NULL) {
		fprintf(stderr, "ftpi_workers_bench: %s\n", ebuf);
		return 1;
	}
	int linktype = pcap_datalink(p);
	if (n > 1) {
		store = ftpi_expect_store_new(0, n, 0, &status);
		if (store == NULL) {
			fprintf(stderr, "ftpi_workers_bench: %s\n", ftpi_strerror(status));
			return 1;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct ftpi_config cfg;
		ftpi_config_init(&cfg);
		cfg.on_event = count_event;
		cfg.user = &ws[i];
		cfg.expect_store = store;
		cfg.engine_index = i;
		if (no_ndpi)
			cfg.use_ndpi = 0;
		ws[i].idx = i;
		ws[i].e = ftpi_engine_new(&cfg, &status);
		if (ws[i].e == NULL) {
			fprintf(stderr, "ftpi_workers_bench: %s\n", ftpi_strerror(status));
			return 1;
		}
	}
	double ts0 = now_s(), shard_s = 0;
	while (pcap_next_ex(p, &h, &data) == 1) {
		struct ftpi_packet pkt;
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		if (ts > last_ts)
			last_ts = ts;
		uint8_t *copy = malloc(h->caplen ? h->caplen : 1);
		if (copy == NULL)
			return 1;
		memcpy(copy, data, h->caplen);
		pkt.ts_us = last_ts;
		pkt.linktype = linktype;
		pkt.caplen = h->caplen;
		pkt.wirelen = h->len;
		pkt.data = copy;
		double a = now_s();
		struct worker *w = &ws[ftpi_expect_store_dispatch(store, &pkt, n, 0)];
		shard_s += now_s() - a;
		if (w->n == w->cap) {
			size_t nc = w->cap ? w->cap * 2 : 65536;
			struct ftpi_packet *np = realloc(w->pk, nc * sizeof *np);
			if (np == NULL)
				return 1;
			w->pk = np;
			uint64_t *nf = realloc(w->frame, nc * sizeof *nf);
			if (nf == NULL)
				return 1;
			w->frame = nf;
			w->cap = nc;
		}
		w->pk[w->n] = pkt;
		w->frame[w->n] = ++packets;
		w->n++;
		bytes += h->caplen;
	}
	double load_s = now_s() - ts0;
	pcap_close(p);

	double t0 = now_s();
	for (unsigned i = 0; i < n; i++)
		pthread_create(&th[i], NULL, run, &ws[i]);
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	double secs = now_s() - t0;

	uint64_t ev[FTPI_EV__COUNT] = {0};
	printf("tool=ftpi_workers_bench\nfile=%s\nworkers=%u\npackets=%llu\nbytes=%llu\n", file, n,
	       (unsigned long long)packets, (unsigned long long)bytes);
	printf("load_seconds=%.3f\nshard_seconds=%.3f\nseconds=%.6f\npps=%.0f\n", load_s, shard_s,
	       secs, (double)packets / secs);
	for (unsigned i = 0; i < n; i++) {
		printf("worker.%u.packets=%zu\nworker.%u.busy_seconds=%.6f\n", i, ws[i].n, i,
		       ws[i].busy);
		for (int t = 0; t < FTPI_EV__COUNT; t++)
			ev[t] += ws[i].events[t];
	}
	for (int t = 0; t < FTPI_EV__COUNT; t++)
		printf("events.%s=%llu\n", ftpi_event_type_name(t), (unsigned long long)ev[t]);
	if (store) {
		struct ftpi_expect_store_stats ss;
		ftpi_expect_store_stats(store, &ss, sizeof ss);
		printf("store.published=%llu\nstore.claimed=%llu\nstore.lookups=%llu\n"
		       "store.waits=%llu\nstore.wait_seconds=%.6f\nstore.high_water=%llu\n",
		       (unsigned long long)ss.published, (unsigned long long)ss.claimed,
		       (unsigned long long)ss.lookups, (unsigned long long)ss.waits,
		       (double)ss.wait_ns / 1e9, (unsigned long long)ss.high_water);
	}
	for (unsigned i = 0; i < n; i++) {
		ftpi_engine_free(ws[i].e);
		for (size_t k = 0; k < ws[i].n; k++)
			free((void *)ws[i].pk[k].data);
		free(ws[i].pk);
		free(ws[i].frame);
	}
	ftpi_expect_store_free(store);
	return 0;
}
