/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ftpi_threaded.c - a threaded IDS host: one reader, N engines on N worker threads sharing one
 * expectation store, one writer. Public API only (ftpinspect.h), libpcap for reading.
 *
 *   ftpi_threaded [-n N] [-c] [-s] CAPTURE.pcap
 *       -n N   worker threads, one engine each (default 2)
 *       -c     spread packets by connection (ftpi_shard_of_conn), as a kernel's flow hash does,
 *              instead of by host pair (ftpi_shard_of): most data connections then land on
 *              another worker than their control connection and are claimed from the store.
 *              Results then equal one engine's only where the announcements can be read:
 *              FTPS and IP fragments differ (as with the CLI's FTPI_WORKERS_SHARD=conn)
 *       -s     print the store's counters on stderr at the end
 *
 * Prints one JSON line per session, data connection and finding, with the fields of the CLI's
 * JSON that do not depend on ids or timing (tests/examples/compare_threaded.py compares them
 * with `ftpinspect --workers 1`).
 *
 * The reader hands each packet to the worker its shard names, through a bounded queue per
 * worker (it blocks when that queue is full: memory stays bounded). Capture time is clamped to
 * be non-decreasing, as one engine sees it. After each packet is queued, the reader moves the
 * frontier ("every packet up to this time has been handed out"); a worker with an empty queue
 * passes it to the store (ftpi_expect_store_idle), so an engine waiting for the others' capture
 * time never waits for an idle one. Once a second of capture time, every engine gets a clock
 * tick, so that timeouts run when one engine would run them.
 *
 * Engines call back on their worker's thread. The callback formats the event there (spans are
 * valid only during the call) and hands the line to the writer thread, which alone writes.
 */
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ftpinspect.h>

#define QLEN 512   /* packets per worker queue */
#define OUTLEN 256 /* lines waiting for the writer */
#define LINE_MAX_LEN 16384
#define MAX_WORKERS 64

struct item {
	uint64_t ts_us, frame;
	int linktype;
	uint32_t caplen, wirelen;
	uint8_t *data; /* NULL: a clock tick */
};

/* A bounded queue of pointers or items, mutex and condition variables: simple, not fast. */
struct queue {
	pthread_mutex_t mu;
	pthread_cond_t nonempty, nonfull;
	unsigned head, tail, cap;
	int eof;
};

struct worker {
	unsigned idx;
	ftpi_engine *e;
	pthread_t th;
	struct queue q;
	struct item items[QLEN];
};

static struct host {
	unsigned n;
	struct worker w[MAX_WORKERS];
	ftpi_expect_store *store;
	_Atomic uint64_t frontier;
	uint64_t last_ts;
	struct queue out;
	char *lines[OUTLEN];
	pthread_t writer;
} H;

static void queue_init(struct queue *q, unsigned cap)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->nonempty, NULL);
	pthread_cond_init(&q->nonfull, NULL);
	q->head = q->tail = 0;
	q->cap = cap;
	q->eof = 0;
}

static void queue_destroy(struct queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->nonempty);
	pthread_cond_destroy(&q->nonfull);
}

/* Waits for room; returns the slot index to fill (the lock is held: call queue_push_done). */
static unsigned queue_push_begin(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->tail - q->head == q->cap)
		pthread_cond_wait(&q->nonfull, &q->mu);
	return q->tail % q->cap;
}

static void queue_push_done(struct queue *q)
{
	q->tail++;
	pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->mu);
}

static void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->eof = 1;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->mu);
}

/* ---- the writer: the only thread that writes output ---- */

static void *writer_main(void *arg)
{
	struct queue *q = &H.out;
	(void)arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->head == q->tail && !q->eof)
			pthread_cond_wait(&q->nonempty, &q->mu);
		if (q->head == q->tail)
			break;
		char *line = H.lines[q->head % q->cap];
		q->head++;
		pthread_cond_signal(&q->nonfull);
		pthread_mutex_unlock(&q->mu);
		fputs(line, stdout);
		free(line);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	fflush(stdout);
	return NULL;
}

static void write_line(const char *line, size_t len)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return;
	memcpy(copy, line, len + 1);
	unsigned slot = queue_push_begin(&H.out);
	H.lines[slot] = copy;
	queue_push_done(&H.out);
}

/* ---- formatting, on the worker's thread ---- */

struct buf {
	char s[LINE_MAX_LEN];
	size_t len;
};

static void put(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	if (n > sizeof b->s - 1 - b->len)
		n = sizeof b->s - 1 - b->len;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* A JSON string of printable ASCII (what ftpi_escape and the library's texts give). */
static void put_str(struct buf *b, const char *key, const char *val)
{
	char one[2] = {0, 0};
	put(b, ",\"");
	put(b, key);
	put(b, "\":");
	if (val == NULL) {
		put(b, "null");
		return;
	}
	put(b, "\"");
	for (; *val; val++) {
		if (*val == '"' || *val == '\\')
			put(b, "\\");
		one[0] = *val;
		put(b, one);
	}
	put(b, "\"");
}

/* A wire span, escaped; null when empty (as the CLI writes it). */
static void put_span(struct buf *b, const char *key, struct ftpi_span s)
{
	char esc[4096];
	if (s.ptr == NULL || s.len == 0) {
		put_str(b, key, NULL);
		return;
	}
	ftpi_escape(esc, sizeof esc, s.ptr, s.len);
	put_str(b, key, esc);
}

/* Library texts (finding message, evidence) are printable already, mostly: any other byte is
 * escaped, as for wire bytes. */
static void put_text(struct buf *b, const char *key, struct ftpi_span s)
{
	char txt[4096];
	size_t n = s.ptr ? s.len : 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s.ptr[i] < 0x20 || (unsigned char)s.ptr[i] >= 0x7f) {
			ftpi_escape(txt, sizeof txt, s.ptr, n);
			put_str(b, key, txt);
			return;
		}
	if (n >= sizeof txt)
		n = sizeof txt - 1;
	memcpy(txt, s.ptr ? s.ptr : "", n);
	txt[n] = '\0';
	put_str(b, key, txt);
}

static void put_num(struct buf *b, const char *key, uint64_t v)
{
	char num[64];
	snprintf(num, sizeof num, ",\"%s\":%llu", key, (unsigned long long)v);
	put(b, num);
}

static void put_bool(struct buf *b, const char *key, int v)
{
	put_str(b, key, NULL);
	b->len -= 4;
	put(b, v ? "true" : "false");
}

static void put_endpoint(struct buf *b, const char *key, const struct ftpi_endpoint *ep)
{
	char ip[64], txt[128];
	ftpi_addr_format(&ep->addr, ip, sizeof ip);
	snprintf(txt, sizeof txt, ",\"%s\":{\"ip\":\"%s\",\"port\":%u}", key, ip, ep->port);
	put(b, txt);
}

static void format_session(struct buf *b, const struct ftpi_event *ev)
{
	const struct ftpi_session_info *s = &ev->u.session;
	char prot[2] = {s->prot, 0};
	put_span(b, "user", s->user);
	put_str(b, "login", ftpi_login_name(s->login));
	put_str(b, "tls", ftpi_tls_mode_name(s->tls));
	put_str(b, "prot", s->prot ? prot : NULL);
	put_num(b, "commands", s->commands);
	put_num(b, "data_connections", s->data_connections);
	put(b, ",\"findings\":[");
	int first = 1;
	for (size_t i = 0; i < s->findings_order_len; i++) {
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= s->findings_order[j] == s->findings_order[i];
		const char *k = ftpi_finding_name(s->findings_order[i]);
		if (k == NULL || dup)
			continue;
		put(b, first ? "\"" : ",\"");
		put(b, k);
		put(b, "\"");
		first = 0;
	}
	put(b, "]");
	put_bool(b, "incomplete", s->incomplete);
	put_str(b, "tls_version", s->tls_info.version ? s->tls_info.version_name : NULL);
	put_span(b, "tls_sni", s->tls_info.sni);
}

static void format_data(struct buf *b, const struct ftpi_event *ev)
{
	const struct ftpi_data_info *d = &ev->u.data;
	put_str(b, "link", ftpi_link_name(d->link));
	put_str(b, "announced_by",
		d->announced_by == FTPI_ANN_NONE ? NULL : ftpi_announce_name(d->announced_by));
	put_str(b, "mode", d->active ? "active" : "passive");
	put_span(b, "command", d->command);
	put_span(b, "file", d->file);
	put_num(b, "bytes_to_server", d->bytes_to_server);
	put_num(b, "bytes_to_client", d->bytes_to_client);
	put_bool(b, "tls", d->tls);
	put_str(b, "status", ftpi_data_status_name(d->status));
	put_str(b, "used_address", d->nat_used == FTPI_NAT_ANNOUNCED   ? "announced"
				   : d->nat_used == FTPI_NAT_REACHED   ? "reached"
				   : d->nat_used == FTPI_NAT_REWRITTEN ? "rewritten"
								       : NULL);
	put_str(b, "tls_version", d->tls_version_name);
	put_str(b, "tls_cipher", d->tls_cipher_name);
}

static int on_event(void *user, const struct ftpi_event *ev)
{
	static struct buf bufs[MAX_WORKERS]; /* one per worker: callbacks run on its thread */
	struct worker *w = user;
	struct buf *b = &bufs[w->idx];
	const char *type = ev->type == FTPI_EV_SESSION_END ? "session"
			   : ev->type == FTPI_EV_DATA	   ? "data"
			   : ev->type == FTPI_EV_FINDING   ? "finding"
							   : NULL;
	if (type == NULL)
		return 0;
	b->len = 0;
	b->s[0] = '\0';
	put(b, "{\"event\":\"");
	put(b, type);
	put(b, "\"");
	put_bool(b, "linked", ev->session_id != 0);
	put_endpoint(b, "client", &ev->client);
	put_endpoint(b, "server", &ev->server);
	if (ev->type == FTPI_EV_SESSION_END) {
		format_session(b, ev);
	} else if (ev->type == FTPI_EV_DATA) {
		format_data(b, ev);
	} else {
		put_str(b, "kind", ftpi_finding_name(ev->u.finding.kind));
		put_str(b, "severity", ftpi_severity_name(ev->u.finding.severity));
		put_text(b, "message", ev->u.finding.message);
		put_text(b, "evidence", ev->u.finding.evidence);
	}
	put(b, "}\n");
	write_line(b->s, b->len);
	return 0;
}

/* ---- workers ---- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct queue *q = &w->q;
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->head == q->tail && !q->eof) {
			/* read under the lock with the queue empty: whatever the reader queues for this
			 * worker from now on is at least this late */
			uint64_t f = atomic_load(&H.frontier);
			pthread_mutex_unlock(&q->mu);
			ftpi_expect_store_idle(H.store, w->idx, f);
			pthread_mutex_lock(&q->mu);
			if (q->head == q->tail && !q->eof) {
				/* woken by a packet, or soon, to pass on a frontier that moved */
				struct timespec until;
				clock_gettime(CLOCK_REALTIME, &until);
				until.tv_nsec += 200000;
				if (until.tv_nsec >= 1000000000) {
					until.tv_sec++;
					until.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&q->nonempty, &q->mu, &until);
			}
		}
		if (q->head == q->tail) { /* end of input */
			pthread_mutex_unlock(&q->mu);
			break;
		}
		struct item it = w->items[q->head % q->cap];
		q->head++;
		pthread_cond_signal(&q->nonfull);
		pthread_mutex_unlock(&q->mu);
		if (it.data == NULL) {
			ftpi_engine_advance_frame(w->e, it.ts_us, it.frame);
		} else {
			struct ftpi_packet p = {it.ts_us, it.linktype, it.caplen, it.wirelen, it.data};
			ftpi_engine_feed_frame(w->e, &p, it.frame);
			free(it.data);
		}
	}
	ftpi_engine_advance(w->e, H.last_ts); /* the end of the capture, as one engine sees it */
	ftpi_engine_flush(w->e);              /* marks this engine done in the store first */
	return NULL;
}

static void hand_out(struct worker *w, uint64_t ts_us, uint64_t frame,
		     const struct pcap_pkthdr *h, const uint8_t *bytes, int linktype)
{
	uint8_t *copy = NULL;
	if (bytes != NULL) {
		copy = malloc(h->caplen ? h->caplen : 1);
		if (copy == NULL)
			return;
		memcpy(copy, bytes, h->caplen);
	}
	unsigned slot = queue_push_begin(&w->q);
	w->items[slot] = (struct item){ts_us, frame, linktype, bytes ? h->caplen : 0,
				       bytes ? h->len : 0, copy};
	queue_push_done(&w->q);
}

static int usage(void)
{
	fprintf(stderr, "usage: ftpi_threaded [-n WORKERS] [-c] [-s] CAPTURE.pcap\n");
	return 2;
}

int main(int argc, char **argv)
{
	int opt, by_conn = 0, stats = 0, status = 0;
	char errbuf[PCAP_ERRBUF_SIZE];
	H.n = 2;
	while ((opt = getopt(argc, argv, "n:cs")) != -1) {
		if (opt == 'n')
			H.n = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'c')
			by_conn = 1;
		else if (opt == 's')
			stats = 1;
		else
			return usage();
	}
	if (optind + 1 != argc || H.n == 0 || H.n > MAX_WORKERS)
		return usage();
	pcap_t *pc = pcap_open_offline(argv[optind], errbuf);
	if (pc == NULL) {
		fprintf(stderr, "ftpi_threaded: %s\n", errbuf);
		return 1;
	}
	int linktype = pcap_datalink(pc);

	H.store = ftpi_expect_store_new(0, H.n, 0, &status); /* 0: exact, never a bounded wait */
	if (H.store == NULL) {
		fprintf(stderr, "ftpi_threaded: store: %s\n", ftpi_strerror(status));
		return 1;
	}
	queue_init(&H.out, OUTLEN);
	for (unsigned i = 0; i < H.n; i++) {
		struct ftpi_config cfg;
		ftpi_config_init(&cfg);
		cfg.on_event = on_event;
		cfg.user = &H.w[i];
		cfg.expect_store = H.store;
		cfg.engine_index = i;
		H.w[i].idx = i;
		H.w[i].e = ftpi_engine_new(&cfg, &status);
		if (H.w[i].e == NULL) {
			fprintf(stderr, "ftpi_threaded: engine: %s\n", ftpi_strerror(status));
			return 1;
		}
		queue_init(&H.w[i].q, QLEN);
	}
	pthread_create(&H.writer, NULL, writer_main, NULL);
	for (unsigned i = 0; i < H.n; i++)
		pthread_create(&H.w[i].th, NULL, worker_main, &H.w[i]);

	/* the reader */
	struct pcap_pkthdr *h;
	const u_char *bytes;
	uint64_t frame = 0, tick_ts = 0;
	while (pcap_next_ex(pc, &h, &bytes) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		if (ts > H.last_ts)
			H.last_ts = ts; /* capture time never goes back */
		if (tick_ts == 0)
			tick_ts = H.last_ts;
		struct ftpi_packet p = {H.last_ts, linktype, h->caplen, h->len, bytes};
		unsigned k = by_conn ? ftpi_shard_of_conn(&p, H.n) : ftpi_shard_of(&p, H.n);
		hand_out(&H.w[k], H.last_ts, ++frame, h, bytes, linktype);
		if (H.last_ts - tick_ts >= 1000000) {
			/* the engine that got the packet runs its timeouts now: so does every other */
			tick_ts = H.last_ts;
			for (unsigned i = 0; i < H.n; i++)
				if (i != k)
					hand_out(&H.w[i], H.last_ts, frame, h, NULL, linktype);
		}
		atomic_store(&H.frontier, H.last_ts); /* every packet up to now is handed out */
	}
	pcap_close(pc);
	for (unsigned i = 0; i < H.n; i++)
		queue_close(&H.w[i].q);
	for (unsigned i = 0; i < H.n; i++)
		pthread_join(H.w[i].th, NULL);
	queue_close(&H.out);
	pthread_join(H.writer, NULL);

	if (stats) {
		struct ftpi_expect_store_stats st;
		if (ftpi_expect_store_stats(H.store, &st, sizeof st) == FTPI_OK)
			fprintf(stderr,
				"store: published %llu claimed %llu lookups %llu waits %llu "
				"wait_timeouts %llu\n",
				(unsigned long long)st.published, (unsigned long long)st.claimed,
				(unsigned long long)st.lookups, (unsigned long long)st.waits,
				(unsigned long long)st.wait_timeouts);
	}
	for (unsigned i = 0; i < H.n; i++) {
		ftpi_engine_free(H.w[i].e);
		queue_destroy(&H.w[i].q);
	}
	ftpi_expect_store_free(H.store);
	queue_destroy(&H.out);
	return 0;
}
