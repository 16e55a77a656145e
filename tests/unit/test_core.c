/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_core.c - the per-packet machinery under the stages: the flow table (open addressing with
 * fingerprints: every flow found from both directions, none found after removal, overflow
 * chains that survive removals in any order), the size-class free lists of the accounted
 * allocator (blocks reused, the cap still holding with blocks kept, all given back), the
 * message builder against the C library's snprintf, and ftpi_engine_feed_batch() against the
 * same packets fed one by one (events, statistics, and a stop in the middle of a batch).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "defrag.h"
#include "flow.h"
#include "harness.h"
#include "pkt.h"

static void no_end(void *user, struct ftpi_flow *f, int reason)
{
	(void)user;
	(void)f;
	(void)reason;
}

static void no_release(void *user, struct ftpi_flow *f)
{
	(void)user;
	(void)f;
}

static void ep4(struct ftpi_endpoint *ep, uint32_t ip, uint16_t port)
{
	memset(ep, 0, sizeof *ep);
	ep->addr.family = 4;
	ep->addr.ip[0] = (uint8_t)(ip >> 24);
	ep->addr.ip[1] = (uint8_t)(ip >> 16);
	ep->addr.ip[2] = (uint8_t)(ip >> 8);
	ep->addr.ip[3] = (uint8_t)ip;
	ep->port = port;
}

static void ctx_init(struct ftpi__ctx *cx, uint32_t max_flows)
{
	memset(cx, 0, sizeof *cx);
	ftpi_config_init(&cx->cfg);
	cx->cfg.max_flows = max_flows;
	cx->mem_cap = SIZE_MAX;
}

static void test_flow_table(void)
{
	/* a full table with forced collisions (hashes that share their bucket bits), removals in
	 * a scrambled order, and lookups from both directions after each step */
	enum { N = 3000 };
	static struct ftpi_flow *fl[N];
	static unsigned char gone[N];
	struct ftpi__ctx cx;
	struct ftpi_flow_table t;
	struct ftpi_flow_cbs cbs = {no_end, no_release, NULL};
	struct ftpi_endpoint c, s;
	int dir;

	ctx_init(&cx, N);
	memset(&t, 0, sizeof t);
	ASSERT_EQ(ftpi__flow_table_init(&cx, &t, &cbs), FTPI_OK);
	for (uint32_t i = 0; i < N; i++) {
		ep4(&c, 0x0a000000u + i, (uint16_t)(1024 + i));
		ep4(&s, 0xc0a80001u, 21);
		uint64_t h = ftpi__flow_hash(&cx, &c, &s);
		if (i % 3 == 0)
			h &= ~(uint64_t)(t.nbuckets - 1) | 7; /* crowd buckets 0..7 */
		fl[i] = ftpi__flow_create(&cx, &t, &c, &s, h);
		ASSERT_TRUE(fl[i] != NULL);
	}
	ASSERT_EQ(t.count, N);
	for (uint32_t k = 0; k <= N; k++) {
		/* every flow still in the table is found from both sides, the others not */
		if (k % 500 == 0 || k == N) {
			for (uint32_t i = 0; i < N; i++) {
				ep4(&c, 0x0a000000u + i, (uint16_t)(1024 + i));
				ep4(&s, 0xc0a80001u, 21);
				uint64_t h = ftpi__flow_hash(&cx, &c, &s);
				if (i % 3 == 0)
					h &= ~(uint64_t)(t.nbuckets - 1) | 7;
				struct ftpi_flow *f = ftpi__flow_lookup(&t, &c, &s, h, &dir);
				ASSERT_TRUE(gone[i] ? f == NULL : f == fl[i]);
				if (!gone[i])
					ASSERT_EQ(dir, FTPI_DIR_TO_SERVER);
				f = ftpi__flow_lookup(&t, &s, &c, h, &dir);
				ASSERT_TRUE(gone[i] ? f == NULL : f == fl[i]);
				if (!gone[i])
					ASSERT_EQ(dir, FTPI_DIR_TO_CLIENT);
			}
		}
		if (k < N) {
			ftpi__flow_free(&cx, &t, fl[(k * 7919u) % N]);
			gone[(k * 7919u) % N] = 1;
		}
	}
	ASSERT_EQ(t.count, 0);
	for (uint32_t b = 0; b < t.nbuckets; b++)
		ASSERT_EQ(t.buckets[b].overflow, 0);
	/* ids stay unique across reuse of the flows' memory */
	ep4(&c, 1, 1);
	ep4(&s, 2, 2);
	struct ftpi_flow *a = ftpi__flow_create(&cx, &t, &c, &s, 1);
	ASSERT_EQ(a->id, N + 1);
	ftpi__flow_table_release(&cx, &t);
	ASSERT_EQ(cx.mem_used, 0);
}

/* The flow table's LRU order against a model: each flow's last use, state and whether it is
 * a stream; expiry ends exactly the flows idle past their state's timeout, least recently used
 * first, whether or not the expiry walk parked them; eviction and flush take the least recently
 * used. */
enum { LRU_N = 400 };
struct lru_model {
	struct ftpi__ctx *cx;
	struct ftpi_flow_table *t;
	struct ftpi_flow *fl[LRU_N];
	uint64_t used[LRU_N]; /* model: order of last use */
	int live[LRU_N];
	int ended[LRU_N], n_ended;
};

static void lru_end(void *user, struct ftpi_flow *f, int reason)
{
	struct lru_model *m = user;
	int i = 0;
	(void)reason;
	while (i < LRU_N && !(m->live[i] && m->fl[i] == f))
		i++;
	ASSERT_TRUE(i < LRU_N);
	if (m->n_ended < LRU_N)
		m->ended[m->n_ended++] = i;
	m->live[i] = 0;
	ftpi__flow_free(m->cx, m->t, f);
}

/* The live flows the model ends at now, least recently used first; returns how many. */
static int lru_expected(const struct lru_model *m, const struct ftpi__ctx *cx, uint64_t now,
			int all, int *out)
{
	int n = 0;
	for (int i = 0; i < LRU_N; i++) {
		if (!m->live[i])
			continue;
		const struct ftpi_flow *f = m->fl[i];
		uint64_t to = f->state == FTPI_FLOW_SYN_SENT || f->state == FTPI_FLOW_SYN_RCVD
				      ? cx->cfg.timeout_syn
			      : f->state == FTPI_FLOW_CLOSING || f->state == FTPI_FLOW_CLOSED
				      ? cx->cfg.timeout_closing
				      : cx->cfg.timeout_established;
		if (all || (!f->external && now - f->last_us >= to))
			out[n++] = i;
	}
	for (int a = 1; a < n; a++) /* by last use */
		for (int b = a; b > 0 && m->used[out[b]] < m->used[out[b - 1]]; b--) {
			int x = out[b];
			out[b] = out[b - 1];
			out[b - 1] = x;
		}
	return n;
}

static void test_flow_lru_parking(void)
{
	static struct lru_model m;
	struct ftpi__ctx cx;
	struct ftpi_flow_table t;
	struct ftpi_endpoint c, s;
	static int want[LRU_N];
	uint64_t use = 0, rnd = 12345;
	const uint64_t sec = 1000000;

	/* timeouts (syn, closing, established): the defaults' shape; closing longer; established
	 * the shortest (nothing parked); closing longer than established (flows of both lists
	 * expire at one tick, in one order) */
	static const uint64_t tos[][3] = {{20, 30, 600}, {20, 90, 600}, {20, 30, 20}, {20, 900, 600}};
	for (int round = 0; round < 4; round++) {
		ctx_init(&cx, round == 0 ? LRU_N / 2 : LRU_N); /* the first round evicts */
		cx.cfg.timeout_syn = tos[round][0] * sec;
		cx.cfg.timeout_closing = tos[round][1] * sec;
		cx.cfg.timeout_established = tos[round][2] * sec;
		memset(&m, 0, sizeof m);
		memset(&t, 0, sizeof t);
		m.cx = &cx;
		m.t = &t;
		struct ftpi_flow_cbs cbs = {lru_end, no_release, &m};
		ASSERT_EQ(ftpi__flow_table_init(&cx, &t, &cbs), FTPI_OK);
		cx.now_us = 1000 * sec;
		uint64_t last_expire = cx.now_us;
		for (int step = 0; step < 20000; step++) {
			rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t r = (uint32_t)(rnd >> 33);
			cx.now_us += (r % 8 == 0) ? (r >> 8) % (40 * sec) : (r >> 8) % (sec / 4);
			int i = (int)((r >> 3) % LRU_N);
			if (!m.live[i]) { /* a new flow (may evict the least recently used) */
				int n_want = 0;
				if (t.count >= cx.cfg.max_flows)
					n_want = lru_expected(&m, &cx, 0, 1, want);
				m.n_ended = 0;
				ep4(&c, 0x0a000000u + (uint32_t)step, (uint16_t)(1024 + i));
				ep4(&s, 0xc0a80001u, 21);
				struct ftpi_flow *f = ftpi__flow_create(&cx, &t, &c, &s,
									ftpi__flow_hash(&cx, &c, &s));
				ASSERT_TRUE(f != NULL);
				if (n_want) {
					ASSERT_EQ(m.n_ended, 1);
					ASSERT_EQ(m.ended[0], want[0]);
				}
				m.fl[i] = f;
				m.live[i] = 1;
				f->external = r % 97 == 0;
				ftpi__flow_set_state(f, r % 5 == 0 ? FTPI_FLOW_SYN_SENT
								   : FTPI_FLOW_ESTABLISHED);
			} else { /* a packet: used now, its state may move on */
				ftpi__flow_touch(&t, m.fl[i], cx.now_us);
				if (r % 7 == 0 && m.fl[i]->state == FTPI_FLOW_SYN_SENT)
					ftpi__flow_set_state(m.fl[i], FTPI_FLOW_ESTABLISHED);
				else if (r % 11 == 0 && m.fl[i]->state == FTPI_FLOW_ESTABLISHED)
					ftpi__flow_set_state(m.fl[i], FTPI_FLOW_CLOSING);
			}
			m.used[i] = ++use;
			if (cx.now_us - last_expire >= sec) { /* once a second, as the engine does */
				last_expire = cx.now_us;
				int n_want = lru_expected(&m, &cx, cx.now_us, 0, want);
				m.n_ended = 0;
				ftpi__flow_expire(&t, &cx, cx.now_us);
				ASSERT_EQ(m.n_ended, n_want);
				for (int k = 0; k < n_want && k < m.n_ended; k++)
					ASSERT_EQ(m.ended[k], want[k]);
			}
		}
		/* every flow is still found by id, and the iterator walks them in LRU order */
		int n_want = lru_expected(&m, &cx, 0, 1, want), k = 0;
		struct ftpi_flow_lru_iter it;
		for (struct ftpi_flow *f = ftpi__flow_lru_first(&t, &it); f; f = ftpi__flow_lru_next(&it))
			ASSERT_TRUE(k < n_want && m.fl[want[k++]] == f);
		ASSERT_EQ(k, n_want);
		for (k = 0; k < n_want; k++)
			ASSERT_TRUE(ftpi__flow_by_id(&t, m.fl[want[k]]->id) == m.fl[want[k]]);
		ASSERT_TRUE(round == 2 || t.park_head != NULL); /* the walk did park flows */
		if (round == 0)
			ASSERT_GE(cx.st.flows_evicted, 100);
		m.n_ended = 0;
		ftpi__flow_end_all(&t); /* flush: least recently used first */
		ASSERT_EQ(m.n_ended, n_want);
		for (k = 0; k < n_want; k++)
			ASSERT_EQ(m.ended[k], want[k]);
		ftpi__flow_table_release(&cx, &t);
		ASSERT_EQ(cx.mem_used, 0);
	}
}

static void test_addr_format(void)
{
	/* IPv4 by hand against inet_ntop, every octet width in every position, in buffers from
	 * one byte (cut, NUL-terminated) up; IPv6 and an unset address */
	static const uint8_t oct[] = {0, 7, 10, 99, 100, 255};
	struct ftpi_addr a;
	char want[INET6_ADDRSTRLEN], got[64];
	memset(&a, 0, sizeof a);
	a.family = 4;
	for (unsigned k = 0; k < 6 * 6 * 6 * 6; k++) {
		a.ip[0] = oct[k % 6];
		a.ip[1] = oct[k / 6 % 6];
		a.ip[2] = oct[k / 36 % 6];
		a.ip[3] = oct[k / 216 % 6];
		inet_ntop(AF_INET, a.ip, want, sizeof want);
		for (size_t len = 1; len <= 20; len++) {
			memset(got, 'x', sizeof got);
			size_t n = ftpi_addr_format(&a, got, len);
			size_t wn = strlen(want) < len ? strlen(want) : len - 1;
			ASSERT_EQ(n, wn);
			ASSERT_TRUE(memcmp(got, want, wn) == 0 && got[wn] == '\0');
			ASSERT_TRUE(got[len] == 'x'); /* nothing past buflen */
		}
	}
	a.family = 6;
	inet_pton(AF_INET6, "2001:db8::1", a.ip);
	ASSERT_EQ(ftpi_addr_format(&a, got, sizeof got), strlen("2001:db8::1"));
	ASSERT_STR_EQ(got, "2001:db8::1");
	a.family = 0;
	ASSERT_EQ(ftpi_addr_format(&a, got, sizeof got), 1);
	ASSERT_STR_EQ(got, "?");
}

static void test_mem_classes(void)
{
	/* kept blocks are reused for their class, count against mem_cap, and are all given back */
	struct ftpi__ctx cx;
	void *p[64];

	ctx_init(&cx, 16);
	cx.cache.on = 1;
	cx.mem_cap = 64 * 1024;
	p[0] = ftpi__alloc(&cx, FTPI__POOL_MISC, 100);
	ASSERT_TRUE(p[0] != NULL);
	memset(p[0], 0xab, 100);
	ftpi__free(&cx, FTPI__POOL_MISC, p[0], 100);
	ASSERT_EQ(cx.mem_used, 0);
	ASSERT_EQ(cx.cache.bytes, 112);
	/* the same class gives the same block back, zeroed */
	p[1] = ftpi__alloc(&cx, FTPI__POOL_SESSION, 97);
	ASSERT_TRUE(p[1] == p[0]);
	for (int i = 0; i < 97; i++)
		ASSERT_EQ(((unsigned char *)p[1])[i], 0);
	ASSERT_EQ(cx.cache.bytes, 0);
	ftpi__free(&cx, FTPI__POOL_SESSION, p[1], 97);
	/* fill up to the cap with 4 KiB blocks, free them, then ask for another class: the kept
	 * blocks must make room rather than the cap being exceeded or the request refused */
	int n = 0;
	while (n < 64 && (p[n] = ftpi__alloc(&cx, FTPI__POOL_MISC, 4000)) != NULL)
		n++;
	ASSERT_GT(n, 10);
	ASSERT_LE(cx.mem_used, cx.mem_cap);
	for (int i = 0; i < n; i++)
		ftpi__free(&cx, FTPI__POOL_MISC, p[i], 4000);
	ASSERT_GT(cx.cache.bytes, 40000);
	p[0] = ftpi__alloc(&cx, FTPI__POOL_MISC, 30000);
	ASSERT_TRUE(p[0] != NULL);
	ASSERT_LE(cx.mem_used + cx.cache.bytes, cx.mem_cap + 32768);
	ftpi__free(&cx, FTPI__POOL_MISC, p[0], 30000);
	/* larger than the biggest class: straight to the allocator */
	p[0] = ftpi__alloc(&cx, FTPI__POOL_MISC, 70000);
	ASSERT_TRUE(p[0] == NULL); /* over the 64 KiB cap */
	cx.mem_cap = SIZE_MAX;
	p[0] = ftpi__alloc(&cx, FTPI__POOL_MISC, 70000);
	ASSERT_TRUE(p[0] != NULL);
	size_t kept = cx.cache.bytes;
	ftpi__free(&cx, FTPI__POOL_MISC, p[0], 70000);
	ASSERT_EQ(cx.cache.bytes, kept);
	ftpi__mem_drain(&cx);
	ASSERT_EQ(cx.cache.bytes, 0);
	ASSERT_EQ(cx.mem_used, 0);
}

static void test_buf_printf(void)
{
	/* the built-in conversions give snprintf's bytes and its truncation */
	char a[64], b[64];
	static const size_t caps[] = {1, 2, 5, 17, 64};

	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		size_t cap = caps[i], n;
		memset(a, 'x', sizeof a);
		memset(b, 'x', sizeof b);
		n = ftpi__buf_printf(a, cap, 0, "%s:%u [%c] %llu/%lld %d 0x%04x %x %%", "10.0.0.1",
				     21u, 'P', 18446744073709551615ull, -9223372036854775807ll - 1,
				     -42, 0x303u, 0xbeefu);
		snprintf(b, cap, "%s:%u [%c] %llu/%lld %d 0x%04x %x %%", "10.0.0.1", 21u, 'P',
			 18446744073709551615ull, -9223372036854775807ll - 1, -42, 0x303u, 0xbeefu);
		ASSERT_STR_EQ(a, b);
		ASSERT_EQ(n, strlen(b));
	}
	/* appending after earlier text, and a conversion it leaves to the C library */
	size_t n = ftpi__buf_printf(a, sizeof a, 0, "frame %llu", 7ull);
	n = ftpi__buf_printf(a, sizeof a, n, "; %5.2f%s", 1.5, "!");
	ASSERT_STR_EQ(a, "frame 7;  1.50!");
	ASSERT_EQ(n, strlen(a));
	/* a full buffer stays full */
	ASSERT_EQ(ftpi__buf_printf(a, 4, 3, "%s", "more"), 3);
}

/* Interleaved FTP sessions as raw IP packets (link type 101) in one arena. */
#define B_CONNS 24
#define B_MAX 512
static uint8_t b_arena[B_MAX * 128];
static struct ftpi_packet b_pkts[B_MAX];
static size_t b_n;

static void b_add(uint64_t ts, struct conn *c, int dir, uint8_t flags, const char *s)
{
	static size_t used;
	if (b_n == 0)
		used = 0;
	size_t len = s ? strlen(s) : 0;
	uint32_t *seq = dir ? &c->sseq : &c->cseq, ack = dir ? c->cseq : c->sseq;
	size_t n = mk_ip(b_arena + used, c, dir, *seq, (flags & TH_ACK) ? ack : 0, flags, s, len);
	b_pkts[b_n] = (struct ftpi_packet){ts, 101, (uint32_t)n, (uint32_t)n, b_arena + used};
	used += n;
	b_n++;
	*seq += (uint32_t)len + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
}

static void b_build(void)
{
	static const char *const talk[][2] = {
		{"1", "220 hi\r\n"}, {"0", "USER u\r\n"}, {"1", "331 p\r\n"}, {"0", "PASS x\r\n"},
		{"1", "230 ok\r\n"}, {"0", "PASV\r\n"}, {"1", "227 (10,0,0,2,4,1)\r\n"},
		{"0", "QUIT\r\n"},   {"1", "221 bye\r\n"}};
	struct conn c[B_CONNS];
	uint64_t ts = 1700000000000000ull;

	b_n = 0;
	for (int k = 0; k < B_CONNS; k++) {
		conn_init(&c[k], k & 1, (uint16_t)(40000 + k), 21, 1000u * (unsigned)k, 7);
		c[k].cli[2] = (uint8_t)k; /* its own client address */
	}
	for (int step = 0; step < 14; step++) {
		for (int k = 0; k < B_CONNS; k++) {
			/* a staggered start, so batches mix flows at different stages */
			int st = step - (k % 3);
			ts += 100;
			if (st == 0)
				b_add(ts, &c[k], 0, TH_SYN, NULL);
			else if (st == 1)
				b_add(ts, &c[k], 1, TH_SYN | TH_ACK, NULL);
			else if (st == 2)
				b_add(ts, &c[k], 0, TH_ACK, NULL);
			else if (st >= 3 && st < 12)
				b_add(ts, &c[k], talk[st - 3][0][0] - '0', TH_ACK | TH_PSH, talk[st - 3][1]);
			else if (st == 12)
				b_add(ts, &c[k], 0, TH_FIN | TH_ACK, NULL);
			else if (st == 13)
				b_add(ts, &c[k], 1, TH_FIN | TH_ACK, NULL);
		}
	}
	/* and one that is not TCP: decoded, counted, fed */
	static const uint8_t junk[20] = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17};
	b_pkts[b_n++] = (struct ftpi_packet){ts + 100, 101, sizeof junk, sizeof junk, junk};
}

static int stop_at;
static int stopping_cb(void *user, const struct ftpi_event *ev)
{
	evlog_cb(user, ev);
	return --stop_at == 0;
}

/* Feeding pkts in batches of several sizes gives the log and counters of one by one. */
static void batches_match(const struct ftpi_packet *pkts, size_t n, const struct evlog *one,
			  const struct ftpi_stats *s1)
{
	static struct evlog many;
	static const size_t sizes[] = {1, 3, 8, 64, B_MAX};
	struct ftpi_stats s2;
	for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
		ftpi_engine *e2 = new_engine(&many, NULL);
		for (size_t i = 0; i < n; i += sizes[z]) {
			size_t m = n - i < sizes[z] ? n - i : sizes[z], done = 99;
			ASSERT_EQ(ftpi_engine_feed_batch(e2, pkts + i, m, &done), FTPI_OK);
			ASSERT_EQ(done, m);
		}
		ftpi_engine_stats(e2, &s2, sizeof s2);
		ftpi_engine_flush(e2);
		ftpi_engine_free(e2);
		ASSERT_TRUE(memcmp(s1, &s2, sizeof s2) == 0);
		ASSERT_EQ(many.len, one->len);
		ASSERT_TRUE(memcmp(many.text, one->text, one->len) == 0);
	}
}

static void test_feed_batch(void)
{
	/* the same packets, one by one and in batches of several sizes: the same events and
	 * counters; then a callback that stops in the middle of a batch */
	static struct evlog one, many;
	struct ftpi_stats s1, s2;

	b_build();
	ASSERT_GT(b_n, 300);
	ftpi_engine *e1 = new_engine(&one, NULL);
	for (size_t i = 0; i < b_n; i++)
		ASSERT_EQ(ftpi_engine_feed(e1, &b_pkts[i]), FTPI_OK);
	ftpi_engine_stats(e1, &s1, sizeof s1);
	ftpi_engine_flush(e1);
	ftpi_engine_free(e1);
	ASSERT_EQ(one.sessions, B_CONNS);
	batches_match(b_pkts, b_n, &one, &s1);
	/* stop at the 40th event: the batch reports how many packets it fed, and the counters
	 * are those of feeding exactly these packets one by one */
	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.use_ndpi = 0;
	cfg.on_event = stopping_cb;
	cfg.user = &one;
	memset(&one, 0, sizeof one);
	stop_at = 40;
	e1 = ftpi_engine_new(&cfg, NULL);
	size_t fed1 = 0;
	while (fed1 < b_n && ftpi_engine_feed(e1, &b_pkts[fed1]) == FTPI_OK)
		fed1++;
	fed1++;
	ftpi_engine_stats(e1, &s1, sizeof s1);
	ftpi_engine_free(e1);
	cfg.user = &many;
	memset(&many, 0, sizeof many);
	stop_at = 40;
	ftpi_engine *e2 = ftpi_engine_new(&cfg, NULL);
	size_t done = 0;
	ASSERT_EQ(ftpi_engine_feed_batch(e2, b_pkts, b_n, &done), FTPI_E_CALLBACK);
	ASSERT_EQ(done, fed1);
	ASSERT_NE(done % 8, 0); /* stopped inside a batch of the engine's 8 */
	ftpi_engine_stats(e2, &s2, sizeof s2);
	ftpi_engine_free(e2);
	ASSERT_TRUE(memcmp(&s1, &s2, sizeof s1) == 0);
	ASSERT_EQ(many.len, one.len);
}

/* The batch's packets again, every IPv4 one with a payload as two fragments (the second one
 * first for every other packet). */
static uint8_t f_arena[B_MAX * 2 * 160];
static struct ftpi_packet f_pkts[B_MAX * 2];
static size_t f_n;

static void f_add(const struct ftpi_packet *p, const uint8_t *ip, uint32_t off, uint32_t n,
		  int more, size_t *used)
{
	uint8_t *o = f_arena + *used;
	memcpy(o, ip, 20);
	memcpy(o + 20, ip + 20 + off, n);
	put16(o + 2, (uint16_t)(20 + n));
	put16(o + 4, (uint16_t)(f_n + 1));
	put16(o + 6, (uint16_t)((off / 8) | (more ? 0x2000 : 0)));
	f_pkts[f_n++] = (struct ftpi_packet){p->ts_us, 101, 20 + n, 20 + n, o};
	*used += 20 + n;
}

static void f_build(void)
{
	size_t used = 0;
	f_n = 0;
	for (size_t i = 0; i < b_n; i++) {
		const struct ftpi_packet *p = &b_pkts[i];
		uint32_t pl = p->caplen > 20 ? p->caplen - 20 : 0;
		if ((p->data[0] >> 4) != 4 || pl <= 24) {
			f_pkts[f_n++] = *p;
			continue;
		}
		size_t a = f_n;
		f_add(p, p->data, 0, 24, 1, &used);
		f_add(p, p->data, 24, pl - 24, 0, &used);
		/* both fragments keep the same id */
		put16((uint8_t *)f_pkts[a + 1].data + 4, (uint16_t)(a + 1));
		if (i & 1) {
			struct ftpi_packet t = f_pkts[a];
			f_pkts[a] = f_pkts[a + 1];
			f_pkts[a + 1] = t;
		}
	}
}

static void test_feed_batch_fragments(void)
{
	/* the same fragmented packets one by one and in batches: the same events and counters
	 * (the look-ahead ends at a packet that completes a datagram) */
	static struct evlog one;
	struct ftpi_stats s1;

	b_build();
	f_build();
	ASSERT_GT(f_n, b_n);
	ftpi_engine *e1 = new_engine(&one, NULL);
	for (size_t i = 0; i < f_n; i++)
		ASSERT_EQ(ftpi_engine_feed(e1, &f_pkts[i]), FTPI_OK);
	ftpi_engine_stats(e1, &s1, sizeof s1);
	ftpi_engine_flush(e1);
	ftpi_engine_free(e1);
	ASSERT_EQ(one.sessions, B_CONNS);
	ASSERT_GT(s1.ip_frag_reassembled, 50);
	ASSERT_EQ(s1.ip_frag_incomplete, 0);
	batches_match(f_pkts, f_n, &one, &s1);
}

/* One IPv4 fragment of datagram 7: data[off, off + n) of a TCP datagram, more fragments to come
 * unless last. Returns what ftpi__defrag_ipv4 returned. */
static int defrag_one(struct ftpi__ctx *cx, struct ftpi__defrag *d, const uint8_t *data,
		      uint32_t off, uint32_t n, int last, int *conflict)
{
	uint8_t ip[20 + 2048];
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + n) >> 8);
	ip[3] = (uint8_t)(20 + n);
	ip[5] = 7;
	ip[6] = (uint8_t)((last ? 0 : 0x20) | (off / 8) >> 8);
	ip[7] = (uint8_t)(off / 8);
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = ip[16] = 10;
	ip[15] = 1;
	ip[19] = 2;
	memcpy(ip + 20, data + off, n);
	return ftpi__defrag_ipv4(cx, d, ip, 20 + n, 20 + n, 20, conflict);
}

static void test_defrag_orders(void)
{
	/* A 6,000-byte datagram in 8-byte fragments and in fragments of 8 to 1,024 bytes, in order,
	 * reversed, odd slots then even, and shuffled, with copies of held ranges among them:
	 * always the datagram's bytes, no conflict, and only the last fragment completes it. Then
	 * a copy that differs: the bytes seen first kept, the conflict reported. */
	enum { LEN = 6000, MAXF = 1024 };
	static uint8_t data[LEN];
	static uint32_t offs[LEN / 8 + 1], lens[LEN / 8 + 1];
	uint32_t seed = 12345;
	for (int i = 0; i < LEN; i++)
		data[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
	for (int shape = 0; shape < 2; shape++) {
		uint32_t n = 0;
		for (uint32_t off = 0; off < LEN; n++) {
			uint32_t len = shape == 0 ? 8 : 8 * (1 + (seed = seed * 1103515245u + 12345u) % (MAXF / 8));
			offs[n] = off;
			lens[n] = off + len > LEN ? LEN - off : len;
			off += lens[n];
		}
		for (int order = 0; order < 4; order++) {
			struct ftpi__ctx cx;
			struct ftpi__defrag d;
			uint32_t idx[LEN / 8 + 1], k = 0;
			int conflict = -1, done = 0;
			ctx_init(&cx, 16);
			memset(&d, 0, sizeof d);
			if (order == 0 || order == 3)
				for (uint32_t i = 0; i < n; i++)
					idx[k++] = i;
			else if (order == 1)
				for (uint32_t i = n; i-- > 0;)
					idx[k++] = i;
			else
				for (uint32_t par = 1; par < 3; par++)
					for (uint32_t i = par % 2; i < n; i += 2)
						idx[k++] = i;
			for (uint32_t i = n; order == 3 && i > 1; i--) { /* Fisher-Yates, fixed seed */
				uint32_t j = (seed = seed * 1103515245u + 12345u) % i, t = idx[i - 1];
				idx[i - 1] = idx[j];
				idx[j] = t;
			}
			for (uint32_t i = 0; i < n; i++) {
				uint32_t f = idx[i];
				if (i % 7 == 3 && i > 0) { /* a copy of a fragment already held */
					uint32_t g = idx[i / 2];
					ASSERT_EQ(defrag_one(&cx, &d, data, offs[g], lens[g], g == n - 1,
							     &conflict), 0);
				}
				done = defrag_one(&cx, &d, data, offs[f], lens[f], f == n - 1, &conflict);
				ASSERT_EQ(done, i == n - 1);
			}
			ASSERT_EQ(d.out_len, 20 + LEN);
			ASSERT_TRUE(memcmp(d.out + 20, data, LEN) == 0);
			ASSERT_EQ(conflict, 0);
			ASSERT_GE(cx.st.ip_frag_overlaps, n / 7 - 1);
			ASSERT_EQ(cx.st.ip_frag_overlap_conflicts, 0);
			ftpi__defrag_done(&cx, &d);
			ftpi__defrag_release(&cx, &d);
			ASSERT_EQ(cx.mem_used, 0);
		}
	}
	/* first wins: a copy of [1000, 1100) with a byte changed, then the rest */
	struct ftpi__ctx cx;
	struct ftpi__defrag d;
	static uint8_t other[LEN];
	int conflict = -1;
	ctx_init(&cx, 16);
	memset(&d, 0, sizeof d);
	memcpy(other, data, LEN);
	other[1050] ^= 0xff;
	ASSERT_EQ(defrag_one(&cx, &d, data, 1000, 104, 0, &conflict), 0);
	ASSERT_EQ(defrag_one(&cx, &d, other, 992, 1024, 0, &conflict), 0);
	ASSERT_EQ(cx.st.ip_frag_overlap_conflicts, 1);
	for (uint32_t off = 0; off < LEN; off += 1000)
		if (defrag_one(&cx, &d, other, off, off + 1000 >= LEN ? LEN - off : 1000,
			       off + 1000 >= LEN, &conflict))
			break;
	ASSERT_EQ(d.out_len, 20 + LEN);
	ASSERT_EQ(conflict, 1);
	ASSERT_EQ(d.out[20 + 1050], data[1050]); /* the bytes seen first */
	ASSERT_TRUE(memcmp(d.out + 20, data, 1050) == 0);
	ftpi__defrag_done(&cx, &d);
	ftpi__defrag_release(&cx, &d);
	ASSERT_EQ(cx.mem_used, 0);
}

static const struct ftpi_test tests[] = {
	{"feed_batch_fragments", test_feed_batch_fragments},
	{"defrag_orders", test_defrag_orders},
	{"flow_table", test_flow_table},
	{"flow_lru_parking", test_flow_lru_parking},
	{"mem_classes", test_mem_classes},
	{"addr_format", test_addr_format},
	{"buf_printf", test_buf_printf},
	{"feed_batch", test_feed_batch},
};

FTPI_TEST_MAIN(tests)
