/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * workers.c - --workers N: N engines on N threads sharing one expectation store.
 *
 * Files: the reading thread (main's read loop) hands each packet to the worker that
 * ftpi_shard_of() names, through one bounded single-producer/single-consumer ring of batches
 * per worker; it never waits on a worker beyond that ring's bound. Timestamps are clamped to be
 * non-decreasing (what one engine does). After publishing every partial batch the reader
 * advances a frontier ("every packet before this time has been handed out"): a worker with an
 * empty ring passes it to the store as its watermark, so workers waiting for each other's
 * capture time (ftpi_expect_store) never wait for an idle one.
 *
 * Output: engines call back on their threads; one lock serialises the output, so each event is
 * written whole and a session's events keep their order. Each engine ends with its own server
 * summaries: they are merged here (one per server, as one engine gives) and written at the end.
 *
 * Live: N capture sockets of one AF_PACKET fanout group, defragmented, spread by the host pair
 * (a classic-BPF fanout program, fanout.c; by connection in hash mode when the kernel refuses
 * it), one engine each, read on their own threads; the kernel's drops of every socket are
 * summed.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define WK_QLEN 8                   /* batches per worker ring */
#define WK_BATCH_PKTS 256           /* packets per batch */
#define WK_BATCH_BYTES (288u << 10) /* bytes per batch: one packet of the largest snaplen fits */
#define WK_MAX_SERVERS 4096         /* merged server summaries kept */

struct wk_rec {
	uint64_t ts_us, frame;
	int linktype;
	uint32_t caplen, wirelen, off;
};

struct wk_batch {
	uint32_t n, used;
	struct wk_rec r[WK_BATCH_PKTS];
	uint8_t *data;
};

struct wk_worker {
	struct workers *w;
	unsigned idx;
	ftpi_engine *e;
	pthread_t th;
	int started;
	struct wk_batch q[WK_QLEN];
	struct ftpi_packet pk[WK_BATCH_PKTS]; /* the batch being fed, as the engine takes it */
	_Atomic uint64_t head, tail; /* consumer, producer */
	struct cap *cap;             /* live */
	int failed;                  /* live: a read error */
	char err[256];
};

struct wk_server {
	struct ftpi_endpoint ep;
	struct ftpi_server_info si;
	struct ftpi_addr clients[16];
	uint64_t ts_us;
	int partial; /* some engine knew more clients than its list holds */
};

struct workers {
	unsigned n;
	int own_store; /* not --share's (cli_share_open owns that one) */
	struct wk_worker *w;
	ftpi_expect_store *store;
	_Atomic uint64_t frontier;
	_Atomic uint64_t frontier_frame; /* and every frame up to this one */
	_Atomic int eof;
	uint64_t last_ts;
	uint64_t frame; /* packets handed out: the frame numbers one engine would give */
	uint64_t tick_ts; /* capture time of the last timeout check one engine would make */
	uint64_t reader_waits;
	pthread_mutex_t out_lock;
	ftpi_event_cb cb;
	void *user;
	struct wk_server *servers;
	size_t n_servers;
	int live;
	int by_conn; /* FTPI_WORKERS_SHARD=conn: spread by connection, as a fanout in hash mode
		      * does (tests; live: that hash mode instead of the host-pair program) */
	int fanout_mode; /* live: PACKET_FANOUT_CBPF, or PACKET_FANOUT_HASH */
};

static void backoff(unsigned spin)
{
	if (spin < 32) {
		sched_yield();
	} else {
		struct timespec ts = {0, 20000};
		nanosleep(&ts, NULL);
	}
}

/* ---- output: one lock; server summaries merged ---- */

static void merge_server(struct workers *w, const struct ftpi_event *ev)
{
	const struct ftpi_server_info *in = &ev->u.server;
	struct wk_server *s = NULL;
	for (size_t i = 0; i < w->n_servers; i++)
		if (w->servers[i].ep.port == ev->server.port &&
		    memcmp(&w->servers[i].ep.addr, &ev->server.addr, sizeof ev->server.addr) == 0)
			s = &w->servers[i];
	if (s == NULL) {
		if (w->n_servers == WK_MAX_SERVERS)
			return;
		s = &w->servers[w->n_servers++];
		memset(s, 0, sizeof *s);
		s->ep = ev->server;
		s->si = *in;
		s->si.client_list_len = 0;
	} else {
		struct ftpi_server_info *o = &s->si;
		if (in->pasv_count && (!o->pasv_count || in->pasv_min < o->pasv_min))
			o->pasv_min = in->pasv_min;
		if (in->pasv_count && (!o->pasv_count || in->pasv_max > o->pasv_max))
			o->pasv_max = in->pasv_max;
		if (in->data_passive && (!o->data_passive || in->data_port_min < o->data_port_min))
			o->data_port_min = in->data_port_min;
		if (in->data_passive && (!o->data_passive || in->data_port_max > o->data_port_max))
			o->data_port_max = in->data_port_max;
		o->sessions += in->sessions;
		o->pasv_count += in->pasv_count;
		o->active_count += in->active_count;
		o->out_of_policy += in->out_of_policy;
		o->clients += in->clients;
		o->tls_sessions += in->tls_sessions;
		o->clear_logins += in->clear_logins;
		o->nat_problems += in->nat_problems;
		o->ip_mismatches += in->ip_mismatches;
		o->node_mismatches += in->node_mismatches;
		o->data_passive += in->data_passive;
		/* the latest helper address, as one engine keeps it (frames are global) */
		if (in->has_helper &&
		    (!o->has_helper || in->helper_us > o->helper_us ||
		     (in->helper_us == o->helper_us && in->helper_frame > o->helper_frame))) {
			o->helper_addr = in->helper_addr;
			o->has_helper = 1;
			o->helper_us = in->helper_us;
			o->helper_frame = in->helper_frame;
		}
	}
	/* distinct clients: exact while every engine's list was whole, else a sum. The list is
	 * kept in address order and, when more than 16 are known, holds the 16 lowest: the same
	 * answer whichever worker's summary comes first (they flush at once). */
	s->partial |= in->clients > in->client_list_len;
	for (size_t i = 0; i < in->client_list_len; i++) {
		size_t n = s->si.client_list_len, j = 0;
		int c = 1;
		while (j < n && (c = memcmp(&s->clients[j], &in->client_list[i],
					    sizeof s->clients[j])) < 0)
			j++;
		if (j < n && c == 0)
			continue;
		if (n == sizeof s->clients / sizeof s->clients[0]) {
			s->partial = 1;
			if (j == n)
				continue;
			n--; /* the highest goes */
		} else {
			s->si.client_list_len++;
		}
		memmove(&s->clients[j + 1], &s->clients[j], (n - j) * sizeof s->clients[0]);
		s->clients[j] = in->client_list[i];
	}
	if (!s->partial)
		s->si.clients = s->si.client_list_len;
	if (ev->ts_us > s->ts_us)
		s->ts_us = ev->ts_us;
}

static int wk_event(void *user, const struct ftpi_event *ev)
{
	struct wk_worker *k = user;
	struct workers *w = k->w;
	int rc = 0;
	pthread_mutex_lock(&w->out_lock);
	if (ev->type == FTPI_EV_SERVER)
		merge_server(w, ev);
	else
		rc = w->cb(w->user, ev);
	pthread_mutex_unlock(&w->out_lock);
	return rc;
}

static int server_cmp(const void *a, const void *b)
{
	const struct wk_server *x = a, *y = b;
	int c = memcmp(&x->ep.addr, &y->ep.addr, sizeof x->ep.addr);
	return c ? c : (x->ep.port > y->ep.port) - (x->ep.port < y->ep.port);
}

static void emit_servers(struct workers *w)
{
	/* in endpoint order, not in the order the workers' summaries happened to arrive */
	if (w->n_servers > 1)
		qsort(w->servers, w->n_servers, sizeof w->servers[0], server_cmp);
	for (size_t i = 0; i < w->n_servers; i++) {
		struct ftpi_event ev;
		memset(&ev, 0, sizeof ev);
		ev.type = FTPI_EV_SERVER;
		/* files: the time of the last packet, when one engine is flushed */
		ev.ts_us = w->live || w->servers[i].ts_us > w->last_ts ? w->servers[i].ts_us
								     : w->last_ts;
		ev.server = w->servers[i].ep;
		ev.u.server = w->servers[i].si;
		ev.u.server.client_list = w->servers[i].clients;
		w->cb(w->user, &ev);
	}
	w->n_servers = 0;
}

/* ---- set-up ---- */

struct workers *workers_new(const struct ftpi_config *base, unsigned n, int live, char *err,
			    size_t errlen)
{
	struct workers *w = calloc(1, sizeof *w);
	int status = 0;
	if (w == NULL)
		goto nomem;
	w->n = n;
	w->live = live;
	w->by_conn = getenv("FTPI_WORKERS_SHARD") && strcmp(getenv("FTPI_WORKERS_SHARD"), "conn") == 0;
	w->cb = base->on_event;
	w->user = base->user;
	pthread_mutex_init(&w->out_lock, NULL);
	w->servers = calloc(WK_MAX_SERVERS, sizeof *w->servers);
	w->w = calloc(n, sizeof *w->w);
	if (w->servers == NULL || w->w == NULL)
		goto nomem_free;
	/* --share: the store cli_share_open made for n engines, with Redis behind it */
	w->own_store = base->expect_store == NULL;
	w->store = base->expect_store ? base->expect_store
				      : ftpi_expect_store_new(base->max_expectations, n,
							      live ? CLI_WORKERS_LIVE_WAIT_US : 0,
							      &status);
	if (w->store == NULL) {
		snprintf(err, errlen, "cannot create the expectation store: %s",
			 ftpi_strerror(status));
		workers_free(w);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		struct wk_worker *k = &w->w[i];
		struct ftpi_config cfg = *base;
		k->w = w;
		k->idx = i;
		for (unsigned j = 0; j < WK_QLEN && !live; j++) {
			k->q[j].data = malloc(WK_BATCH_BYTES);
			if (k->q[j].data == NULL)
				goto nomem_free;
		}
		cfg.expect_store = w->store;
		cfg.engine_index = i;
		cfg.on_event = wk_event;
		cfg.user = k;
		k->e = ftpi_engine_new(&cfg, &status);
		if (k->e == NULL) {
			snprintf(err, errlen, "cannot create the engines: %s%s", ftpi_strerror(status),
				 status == FTPI_E_NOMEM ? CLI_CAPS_NOMEM : "");
			workers_free(w);
			return NULL;
		}
	}
	return w;
nomem_free:
	workers_free(w);
nomem:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

void workers_free(struct workers *w)
{
	if (w == NULL)
		return;
	for (unsigned i = 0; w->w && i < w->n; i++) {
		ftpi_engine_free(w->w[i].e);
		cap_close(w->w[i].cap);
		for (unsigned j = 0; j < WK_QLEN; j++)
			free(w->w[i].q[j].data);
	}
	if (w->own_store)
		ftpi_expect_store_free(w->store);
	pthread_mutex_destroy(&w->out_lock);
	free(w->w);
	free(w->servers);
	free(w);
}

/* ---- files: reader side ---- */

/* How many packets from pkts cannot make engine e announce (the store learns it; other engines
 * then need not wait for e to reach their new connections). A clock tick ends the look. */
static size_t quiet_run(ftpi_engine *e, const struct ftpi_packet *pkts, size_t n)
{
	size_t end = 0;
	while (end < n && pkts[end].linktype != -1)
		end++;
	return ftpi_engine_lookahead(e, pkts, end);
}

static void *file_worker(void *arg)
{
	struct wk_worker *k = arg;
	struct workers *w = k->w;
	struct ftpi_packet *pk = k->pk;
	unsigned spin = 0;
	for (;;) {
		uint64_t h = atomic_load_explicit(&k->head, memory_order_relaxed);
		if (h == atomic_load_explicit(&k->tail, memory_order_acquire)) {
			int eof = atomic_load_explicit(&w->eof, memory_order_acquire);
			uint64_t f = atomic_load_explicit(&w->frontier, memory_order_acquire);
			uint64_t ff = atomic_load_explicit(&w->frontier_frame, memory_order_acquire);
			if (h != atomic_load_explicit(&k->tail, memory_order_acquire))
				continue;
			if (eof)
				break;
			/* nothing before f (nor up to frame ff) is coming: nobody waits for this
			 * worker */
			ftpi_expect_store_idle_frame(w->store, k->idx, f, ff + 1);
			backoff(spin++);
			continue;
		}
		spin = 0;
		struct wk_batch *b = &k->q[h % WK_QLEN];
		for (uint32_t i = 0; i < b->n; i++) {
			pk[i].ts_us = b->r[i].ts_us;
			pk[i].linktype = b->r[i].linktype;
			pk[i].caplen = b->r[i].caplen;
			pk[i].wirelen = b->r[i].wirelen;
			pk[i].data = b->data + b->r[i].off;
		}
		for (uint32_t i = 0, scan_at = 0; i < b->n; i++) {
			if (i == scan_at)
				scan_at = i + quiet_run(k->e, pk + i, b->n - i) + 1;
			if (pk[i].linktype == -1)
				ftpi_engine_advance_frame(k->e, pk[i].ts_us, b->r[i].frame);
			else
				ftpi_engine_feed_frame(k->e, &pk[i], b->r[i].frame);
		}
		b->n = 0;
		b->used = 0;
		atomic_store_explicit(&k->head, h + 1, memory_order_release);
	}
	/* the end of the capture, as one engine sees it: its time and its last frame (what is
	 * said at the end, such as a reply completed by the flush, carries that frame) */
	ftpi_engine_advance_frame(k->e, w->last_ts, w->frame);
	ftpi_engine_flush(k->e);
	return NULL;
}

int workers_start(struct workers *w, char *err, size_t errlen)
{
	for (unsigned i = 0; i < w->n; i++) {
		int rc = pthread_create(&w->w[i].th, NULL, file_worker, &w->w[i]);
		if (rc != 0) {
			snprintf(err, errlen, "cannot start a worker thread: %s", strerror(rc));
			return -1;
		}
		w->w[i].started = 1;
	}
	return 0;
}

static int has_room(struct wk_worker *k)
{
	return atomic_load_explicit(&k->tail, memory_order_relaxed) -
		       atomic_load_explicit(&k->head, memory_order_acquire) <
	       WK_QLEN;
}

/* Hands every partial batch over, then moves the frontier: every packet read so far is out. */
static void publish_all(struct workers *w)
{
	for (unsigned i = 0; i < w->n; i++) {
		struct wk_worker *k = &w->w[i];
		uint64_t t = atomic_load_explicit(&k->tail, memory_order_relaxed);
		if (has_room(k) && k->q[t % WK_QLEN].n > 0)
			atomic_store_explicit(&k->tail, t + 1, memory_order_release);
	}
	atomic_store_explicit(&w->frontier_frame, w->frame, memory_order_release);
	atomic_store_explicit(&w->frontier, w->last_ts, memory_order_release);
}

/* Appends one record (a packet, or a clock tick when data is NULL) to worker k's ring. */
static void append(struct workers *w, struct wk_worker *k, const struct ftpi_packet *pkt,
		   uint64_t frame)
{
	uint32_t caplen = pkt->data == NULL ? 0
			  : pkt->caplen > WK_BATCH_BYTES ? WK_BATCH_BYTES
							 : pkt->caplen;
	for (unsigned spin = 0;; spin++) {
		if (!has_room(k)) {
			if (spin == 0) {
				publish_all(w); /* nobody waits for what this reader holds */
				w->reader_waits++;
			}
			backoff(spin);
			continue;
		}
		uint64_t t = atomic_load_explicit(&k->tail, memory_order_relaxed);
		struct wk_batch *b = &k->q[t % WK_QLEN];
		if (b->n == WK_BATCH_PKTS || b->used + caplen > WK_BATCH_BYTES) {
			publish_all(w);
			continue;
		}
		struct wk_rec *r = &b->r[b->n++];
		r->ts_us = w->last_ts;
		r->frame = frame;
		r->linktype = pkt->data == NULL ? -1 : pkt->linktype;
		r->caplen = caplen;
		r->wirelen = pkt->wirelen;
		r->off = b->used;
		if (caplen)
			memcpy(b->data + b->used, pkt->data, caplen);
		b->used += caplen;
		if (b->n == WK_BATCH_PKTS)
			publish_all(w);
		return;
	}
}

void workers_feed(struct workers *w, const struct ftpi_packet *pkt)
{
	struct ftpi_packet at = *pkt; /* at the time the engine will give it */
	if (pkt->ts_us > w->last_ts)
		w->last_ts = pkt->ts_us;
	at.ts_us = w->last_ts;
	unsigned shard = ftpi_expect_store_dispatch(w->store, &at, w->n, w->by_conn);
	if (w->tick_ts == 0)
		w->tick_ts = w->last_ts;
	append(w, &w->w[shard], pkt, ++w->frame);
	if (w->last_ts - w->tick_ts >= 1000000) {
		/* one engine would check its timeouts now: every engine does, after this packet
		 * (the engine that got it does so itself) */
		struct ftpi_packet tick = {w->last_ts, 0, 0, 0, NULL};
		w->tick_ts = w->last_ts;
		for (unsigned i = 0; i < w->n; i++)
			if (i != shard)
				append(w, &w->w[i], &tick, w->frame);
	}
}

/* ---- live: one fanout socket per worker ---- */

static uint64_t wall_us(void)
{
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	return (uint64_t)wall.tv_sec * 1000000u + (uint64_t)wall.tv_nsec / 1000u;
}

/* Reads its socket without blocking; when the ring is empty, every packet still to come will
 * carry a later kernel time, so the worker's watermark is the wall clock: workers waiting for
 * it stop waiting within one poll interval. */
static void *live_worker(void *arg)
{
	struct wk_worker *k = arg;
	struct workers *w = k->w;
	uint64_t last_advance = wall_us();
	while (!cap_stop_requested()) {
		int n;
		/* read before the ring is found empty, less a margin for a packet the kernel has
		 * stamped but not yet queued: every packet still to come is later */
		uint64_t before = wall_us() - 2000;
		int res = cap_dispatch(k->cap, 256, workers_live_packet, k, &n);
		if (res == CAP_BREAK)
			break;
		if (res == CAP_ERROR) {
			snprintf(k->err, sizeof k->err, "%s", cap_error(k->cap));
			k->failed = 1;
			break;
		}
		if (res == CAP_IDLE) {
			struct pollfd pfd = {cap_fd(k->cap), POLLIN, 0};
			uint64_t now = wall_us();
			ftpi_expect_store_idle(w->store, k->idx, before);
			if (now - last_advance >= 1000000) { /* idle flows expire */
				ftpi_engine_advance(k->e, now);
				last_advance = now;
			}
			poll(&pfd, 1, 1); /* the watermark of an idle worker moves every 1 ms */
		}
	}
	ftpi_expect_store_done(w->store, k->idx);
	ftpi_engine_flush(k->e);
	return NULL;
}

void workers_live_packet(void *user, const struct ftpi_packet *pkt)
{
	struct wk_worker *k = user;
	ftpi_engine_feed(k->e, pkt);
}

/* Opens worker i's capture socket, non-blocking. */
static int open_one(struct wk_worker *k, const char *iface, uint32_t snaplen, uint32_t buffer_kib,
		    char *err, size_t errlen)
{
	/* immediate: a packet is readable as soon as it is queued, so an empty ring means that
	 * nothing older is still coming (the watermark of an idle worker) */
	k->cap = cap_open_live(iface, snaplen, buffer_kib, 1, err, errlen);
	if (k->cap == NULL)
		return -1;
	if (cap_set_nonblock(k->cap) != 0) {
		snprintf(err, errlen, "cannot make the capture non-blocking");
		return -1;
	}
	return 0;
}

static int join(struct wk_worker *k, int group, int mode)
{
	int val = group | ((mode | PACKET_FANOUT_FLAG_DEFRAG) << 16);
	return setsockopt(cap_fd(k->cap), SOL_PACKET, PACKET_FANOUT, &val, sizeof val);
}

/* Makes worker 0's socket the first of a PACKET_FANOUT_CBPF group with the host-pair program
 * (fanout.c); 0, or -1 with errno when the kernel refuses the mode or the program. */
static int join_cbpf(struct wk_worker *k, int group, unsigned n)
{
	struct sock_filter f[FANOUT_PROG_MAX];
	struct sock_fprog fp = {(unsigned short)fanout_prog_build(n, f, FANOUT_PROG_MAX), f};
	if (fp.len == 0) {
		errno = E2BIG;
		return -1;
	}
	if (join(k, group, PACKET_FANOUT_CBPF) != 0)
		return -1;
	return setsockopt(cap_fd(k->cap), SOL_PACKET, PACKET_FANOUT_DATA, &fp, sizeof fp);
}

int workers_open_live(struct workers *w, const char *iface, uint32_t snaplen,
		      uint32_t buffer_kib, char *err, size_t errlen)
{
	/* one group id per process; the host-pair program keeps a session's connections on one
	 * socket (hash mode, by connection, when the kernel refuses it), defragmented */
	int group = (int)(getpid() & 0xffff);
	int mode = PACKET_FANOUT_CBPF;
	for (unsigned i = 0; i < w->n; i++) {
		struct wk_worker *k = &w->w[i];
		if (open_one(k, iface, snaplen, buffer_kib, err, errlen) != 0)
			return -1;
		if (i == 0 && w->by_conn) {
			mode = PACKET_FANOUT_HASH;
		} else if (i == 0 && join_cbpf(k, group, w->n) != 0) {
			fprintf(stderr, "ftpinspect: %s: warning: the kernel refused the host-pair fanout "
				"program (%s): spreading by connection\n", iface, strerror(errno));
			/* the socket may be in a group without a program: start again on a new one */
			cap_close(k->cap);
			if (open_one(k, iface, snaplen, buffer_kib, err, errlen) != 0)
				return -1;
			group = (group + 1) & 0xffff;
			mode = PACKET_FANOUT_HASH;
		} else if (i == 0) {
			continue;
		}
		if (join(k, group, mode) != 0) {
			snprintf(err, errlen, "cannot join the AF_PACKET fanout group: %s",
				 strerror(errno));
			return -1;
		}
	}
	w->fanout_mode = mode;
	return 0;
}

int workers_set_filter(struct workers *w, const char *filter, char *err, size_t errlen)
{
	for (unsigned i = 0; i < w->n; i++)
		if (cap_set_filter(w->w[i].cap, filter, err, errlen) != 0)
			return -1;
	return 0;
}

int workers_cap_linktype(const struct workers *w)
{
	return cap_linktype(w->w[0].cap);
}

/* Runs the live workers until a signal, -G or a read error; 0, or -1 with the error in err. */
int workers_run_live(struct workers *w, uint64_t duration_s, char *err, size_t errlen)
{
	struct timespec t0, now;
	int rc = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < w->n; i++) {
		if (pthread_create(&w->w[i].th, NULL, live_worker, &w->w[i]) != 0) {
			snprintf(err, errlen, "cannot start a worker thread");
			cap_request_stop();
			rc = -1;
			break;
		}
		w->w[i].started = 1;
	}
	while (!cap_stop_requested() && rc == 0) {
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
		for (unsigned i = 0; i < w->n; i++)
			if (w->w[i].failed)
				cap_request_stop();
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (duration_s > 0 && (uint64_t)(now.tv_sec - t0.tv_sec) >= duration_s)
			cap_request_stop();
	}
	for (unsigned i = 0; i < w->n; i++) /* a reader may sit in poll() until a packet comes */
		if (w->w[i].started)
			cap_breakloop(w->w[i].cap);
	for (unsigned i = 0; i < w->n; i++) {
		if (w->w[i].started)
			pthread_join(w->w[i].th, NULL);
		w->w[i].started = 0;
		if (w->w[i].failed && rc == 0) {
			snprintf(err, errlen, "%s", w->w[i].err);
			rc = -1;
		}
	}
	pthread_mutex_lock(&w->out_lock);
	emit_servers(w);
	pthread_mutex_unlock(&w->out_lock);
	return rc;
}

/* ---- the end ---- */

void workers_finish(struct workers *w)
{
	if (!w->live) {
		publish_all(w); /* the frontier stays at the last packet: flush marks each done */
		atomic_store_explicit(&w->eof, 1, memory_order_release);
	}
	for (unsigned i = 0; i < w->n; i++) {
		if (w->w[i].started)
			pthread_join(w->w[i].th, NULL);
		w->w[i].started = 0;
	}
	pthread_mutex_lock(&w->out_lock);
	emit_servers(w);
	pthread_mutex_unlock(&w->out_lock);
}

void workers_report(const struct workers *w, FILE *f)
{
	struct ftpi_expect_store_stats ss;
	if (ftpi_expect_store_stats(w->store, &ss, sizeof ss) != FTPI_OK)
		return;
	fprintf(f,
		"ftpinspect: %u workers: store published %llu, claimed %llu (lookups %llu, full "
		"%llu), waits %llu (%.1f ms, %llu timed out), decided without waiting %llu; reader "
		"waited %llu times\n",
		w->n, (unsigned long long)ss.published, (unsigned long long)ss.claimed,
		(unsigned long long)ss.lookups, (unsigned long long)ss.full,
		(unsigned long long)ss.waits, (double)ss.wait_ns / 1e6,
		(unsigned long long)ss.wait_timeouts, (unsigned long long)ss.quick,
		(unsigned long long)w->reader_waits);
	if (!w->live)
		return;
	/* how the fanout group spread the packets: a check that the program works */
	fprintf(f, "ftpinspect: %u workers: spread by %s, packets per worker", w->n,
		w->fanout_mode == PACKET_FANOUT_CBPF ? "host pair" : "connection");
	for (unsigned i = 0; i < w->n; i++) {
		struct ftpi_stats st;
		memset(&st, 0, sizeof st);
		ftpi_engine_stats(w->w[i].e, &st, sizeof st);
		fprintf(f, "%s%llu", i ? " / " : " ", (unsigned long long)st.packets);
	}
	fputc('\n', f);
}

void workers_stats(const struct workers *w, struct ftpi_stats *sum)
{
	memset(sum, 0, sizeof *sum);
	for (unsigned i = 0; i < w->n; i++) {
		struct ftpi_stats st;
		uint64_t *a = (uint64_t *)sum;
		const uint64_t *b = (const uint64_t *)&st;
		memset(&st, 0, sizeof st);
		ftpi_engine_stats(w->w[i].e, &st, sizeof st);
		for (size_t j = 0; j < sizeof st / sizeof(uint64_t); j++)
			a[j] += b[j];
	}
}

int workers_cap_stats(const struct workers *w, struct cap_stats *sum)
{
	memset(sum, 0, sizeof *sum);
	for (unsigned i = 0; i < w->n; i++) {
		struct cap_stats cs;
		if (w->w[i].cap == NULL || cap_get_stats(w->w[i].cap, &cs) != 0)
			return -1;
		sum->valid = 1;
		sum->received += cs.received;
		sum->dropped += cs.dropped;
		sum->ifdropped += cs.ifdropped;
	}
	return sum->valid ? 0 : -1;
}

/* ---- --sort ---- */

struct sorted_ev {
	uint64_t ts_us;
	char *text;
	size_t len;
};

struct sorted {
	struct sorted_ev *v;
	size_t n, cap;
	int failed;
};

int sort_event(struct app *a, const struct ftpi_event *ev)
{
	struct sorted *s = a->sorted;
	char *buf = NULL;
	size_t len = 0;
	FILE *real = a->fp, *mem;
	if (s->failed)
		return 0;
	mem = open_memstream(&buf, &len);
	if (mem == NULL) {
		s->failed = 1;
		return 0;
	}
	a->fp = mem;
	a->out->event(a, ev);
	a->fp = real;
	if (fclose(mem) != 0 || buf == NULL) {
		free(buf);
		s->failed = 1;
		return 0;
	}
	if (len == 0) {
		free(buf);
		return 0;
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		struct sorted_ev *nv = realloc(s->v, nc * sizeof *nv);
		if (nv == NULL) {
			free(buf);
			s->failed = 1;
			return 0;
		}
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n].ts_us = ev->ts_us;
	s->v[s->n].text = buf;
	s->v[s->n].len = len;
	s->n++;
	return 0;
}

static int cmp_sorted(const void *x, const void *y)
{
	const struct sorted_ev *a = x, *b = y;
	if (a->ts_us != b->ts_us)
		return a->ts_us < b->ts_us ? -1 : 1;
	int c = memcmp(a->text, b->text, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

void sort_write(struct app *a)
{
	struct sorted *s = a->sorted;
	if (s == NULL)
		return;
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, cmp_sorted);
	for (size_t i = 0; i < s->n; i++) {
		fwrite(s->v[i].text, 1, s->v[i].len, a->fp);
		free(s->v[i].text);
	}
	if (s->failed)
		fputs("ftpinspect: --sort: out of memory, events were lost\n", stderr);
	free(s->v);
	free(s);
	a->sorted = NULL;
}

struct sorted *sort_new(void)
{
	return calloc(1, sizeof(struct sorted));
}
