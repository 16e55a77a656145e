/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store.c - the shared expectation store under threads (expect/store.c): every claim
 * counted when several engines race for the same entries, the entry cap, the capture-time watermarks, and the host-pair shard.
 * CI runs these under ThreadSanitizer too.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"
#include "pkt.h"
#include "store.h"

#define N_THREADS 4
#define N_ENTRIES 2000

static struct ftpi__sx_pub pub_for(uint16_t port, uint64_t sid)
{
	struct ftpi__sx_pub p;
	memset(&p, 0, sizeof p);
	p.session_id = sid;
	p.target.addr.family = 4;
	p.target.addr.ip[0] = 10;
	p.target.addr.ip[3] = 2;
	p.target.port = port;
	p.scli = p.target;
	p.scli.addr.ip[3] = 1;
	p.ssrv = p.target;
	p.ssrv.port = 21;
	p.firm = 1;
	return p;
}

static int fit_any(void *arg, const struct ftpi__sx_pub *p, struct ftpi__sx_claim *c)
{
	(void)arg;
	(void)p;
	c->cli_bad = 1;
	return 1;
}

struct racer {
	ftpi_expect_store *st;
	unsigned me;
	uint32_t won;
	ftpi__sref refs[N_ENTRIES];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	for (uint32_t i = 0; i < N_ENTRIES; i++) {
		struct ftpi__sx_pub p;
		struct ftpi__sx_claim c;
		ftpi__sref ref = ftpi__store_claim(r->st, r->me, (uint16_t)(1024 + i), 1, 1000000,
						   fit_any, NULL, &p, &c);
		if (ref) {
			r->refs[r->won++] = ref;
			ftpi__store_note_clear(r->st, ref, 5, 5);
			if (i % 2)
				ftpi__store_note_answered(r->st, ref);
		}
	}
	return NULL;
}

/* Several engines race to claim every published entry: every claim is counted on the entry, as
 * one engine's table matches every connection to an expectation, and the entry lives until its
 * owner and every claimant let go. */
static void test_claim_all(void)
{
	int status;
	static struct racer rs[N_THREADS];
	pthread_t th[N_THREADS];
	ftpi__sref own[N_ENTRIES];
	ftpi_expect_store *st = ftpi_expect_store_new(4096, N_THREADS + 1, 0, &status);
	ASSERT_TRUE(st != NULL);
	ASSERT_EQ(ftpi__store_attach(st, N_THREADS), FTPI_OK);
	ASSERT_EQ(ftpi__store_attach(st, N_THREADS), FTPI_E_INVAL); /* taken */
	for (uint32_t i = 0; i < N_ENTRIES; i++) {
		struct ftpi__sx_pub p = pub_for((uint16_t)(1024 + i), i + 1);
		own[i] = ftpi__store_publish(st, N_THREADS, &p);
		ASSERT_NE(own[i], 0);
	}
	for (unsigned t = 0; t < N_THREADS; t++) {
		memset(&rs[t], 0, sizeof rs[t]);
		rs[t].st = st;
		rs[t].me = t;
		ASSERT_EQ(ftpi__store_attach(st, t), FTPI_OK);
		pthread_create(&th[t], NULL, race, &rs[t]);
	}
	/* meanwhile the owner keeps publishing transfer updates */
	struct ftpi_xfer x;
	memset(&x, 0, sizeof x);
	x.state = 3;
	for (uint32_t i = 0; i < N_ENTRIES; i++)
		ftpi__store_xfer(st, own[i], &x);
	uint32_t total = 0;
	for (unsigned t = 0; t < N_THREADS; t++) {
		pthread_join(th[t], NULL);
		total += rs[t].won;
	}
	ASSERT_EQ(total, N_ENTRIES * N_THREADS);
	uint32_t claimed = 0;
	for (uint32_t i = 0; i < N_ENTRIES; i++) {
		struct ftpi__sx_claim c;
		uint32_t n = ftpi__store_claims(st, own[i], &c);
		ASSERT_EQ(n, N_THREADS);
		ASSERT_EQ(c.cli_bad, 1);
		ASSERT_EQ(c.n_bad, N_THREADS);
		ASSERT_EQ(c.n_answered, i % 2 ? N_THREADS : 0);
		ASSERT_EQ(c.clear, 1);
		claimed += n;
		ftpi__store_owner_release(st, own[i]);
	}
	ASSERT_EQ(claimed, N_ENTRIES * N_THREADS);
	struct ftpi_expect_store_stats ss;
	ASSERT_EQ(ftpi_expect_store_stats(st, &ss, sizeof ss), FTPI_OK);
	ASSERT_EQ(ss.claimed, N_ENTRIES * N_THREADS);
	ASSERT_EQ(ss.in_use, N_ENTRIES); /* the claimants still hold them */
	for (unsigned t = 0; t < N_THREADS; t++) {
		for (uint32_t i = 0; i < rs[t].won; i++) {
			struct ftpi_xfer rx;
			memset(&rx, 0, sizeof rx);
			ASSERT_EQ(ftpi__store_read_xfer(st, rs[t].refs[i], &rx), 1); /* owner let go */
			ASSERT_EQ(rx.state, 3);
			ftpi__store_claim_release(st, rs[t].refs[i]);
		}
		ftpi__store_detach(st, t);
	}
	ASSERT_EQ(ftpi_expect_store_stats(st, &ss, sizeof ss), FTPI_OK);
	ASSERT_EQ(ss.in_use, 0);
	ftpi__store_detach(st, N_THREADS);
	ftpi_expect_store_free(st);
}

/* An engine never claims its own entries, and an entry older than the expiry is not claimed. */
static void test_claim_rules(void)
{
	struct ftpi__sx_pub p = pub_for(2000, 7), got;
	struct ftpi__sx_claim c;
	ftpi_expect_store *st = ftpi_expect_store_new(16, 2, 0, NULL);
	ASSERT_TRUE(st != NULL);
	p.firm_us = 1000;
	ftpi__sref own = ftpi__store_publish(st, 0, &p);
	ASSERT_EQ(ftpi__store_claim(st, 0, 2000, 1500, 100000, fit_any, NULL, &got, &c), 0);
	ASSERT_EQ(ftpi__store_claim(st, 1, 2001, 1500, 100000, fit_any, NULL, &got, &c), 0);
	ASSERT_EQ(ftpi__store_claim(st, 1, 2000, 1000 + 100000, 100000, fit_any, NULL, &got, &c),
		  0);
	ftpi__sref r = ftpi__store_claim(st, 1, 2000, 1500, 100000, fit_any, NULL, &got, &c);
	ASSERT_NE(r, 0);
	ASSERT_EQ(got.session_id, 7);
	ASSERT_EQ(c.n, 1);
	/* a second connection claims it too: counted, the first claim's fields kept */
	ftpi__sref r2 = ftpi__store_claim(st, 1, 2000, 1600, 100000, fit_any, NULL, &got, &c);
	ASSERT_EQ(r2, r);
	ASSERT_EQ(c.n, 2);
	struct ftpi_expect_store_stats ss;
	ftpi__store_claim_release(st, r);
	ftpi__store_owner_release(st, own);
	ASSERT_EQ(ftpi_expect_store_stats(st, &ss, sizeof ss), FTPI_OK);
	ASSERT_EQ(ss.in_use, 1); /* the second claim still holds it */
	ftpi__store_claim_release(st, r2);
	ASSERT_EQ(ftpi_expect_store_stats(st, &ss, sizeof ss), FTPI_OK);
	ASSERT_EQ(ss.in_use, 0);
	ftpi_expect_store_free(st);
}

/* The cap holds: publishing into a full store fails (counted) and nothing grows. */
static void test_cap(void)
{
	struct ftpi_expect_store_stats ss;
	ftpi__sref r[10];
	int status = 0;
	ASSERT_TRUE(ftpi_expect_store_new(16, 0, 0, &status) == NULL);
	ASSERT_EQ(status, FTPI_E_INVAL);
	ftpi_expect_store *st = ftpi_expect_store_new(8, 1, 0, &status);
	ASSERT_TRUE(st != NULL);
	for (int i = 0; i < 10; i++) {
		struct ftpi__sx_pub p = pub_for((uint16_t)(3000 + i), 1);
		r[i] = ftpi__store_publish(st, 0, &p);
	}
	for (int i = 0; i < 8; i++)
		ASSERT_NE(r[i], 0);
	ASSERT_EQ(r[8], 0);
	ASSERT_EQ(r[9], 0);
	ftpi_expect_store_stats(st, &ss, sizeof ss);
	ASSERT_EQ(ss.full, 2);
	ASSERT_EQ(ss.high_water, 8);
	ftpi__store_owner_release(st, r[0]);
	ftpi__store_owner_release(st, r[0]); /* a stale reference is ignored */
	struct ftpi__sx_pub p = pub_for(4000, 2);
	ftpi__sref again = ftpi__store_publish(st, 0, &p);
	ASSERT_NE(again, 0);
	ASSERT_NE(again, r[0]); /* same slot, new generation */
	ftpi_expect_store_free(st);
}

struct marker {
	ftpi_expect_store *st;
	atomic_uint_fast64_t seen;
};

static void *advance(void *arg)
{
	struct marker *m = arg;
	for (uint64_t t = 1; t <= 2000; t++) {
		ftpi__store_mark(m->st, 1, t, t);
		atomic_store(&m->seen, t);
	}
	ftpi_expect_store_idle(m->st, 2, 5000);
	return NULL;
}

/* A wait returns only once every other attached engine has passed the time; done and idle
 * engines hold nobody. */
static void test_watermarks(void)
{
	struct marker m;
	pthread_t th;
	ftpi_expect_store *st = ftpi_expect_store_new(16, 3, 0, NULL);
	ASSERT_TRUE(st != NULL);
	for (unsigned i = 0; i < 3; i++)
		ASSERT_EQ(ftpi__store_attach(st, i), FTPI_OK);
	m.st = st;
	atomic_store(&m.seen, 0);
	pthread_create(&th, NULL, advance, &m);
	ftpi__store_wait(st, 0, 1500);
	ASSERT_GE(atomic_load(&m.seen), 1499);
	pthread_join(th, NULL);
	ftpi_expect_store_done(st, 1);
	ftpi__store_wait(st, 0, 4000); /* 1 is done, 2 idles at 5000 */
	ftpi__store_detach(st, 2);
	ftpi__store_wait(st, 0, UINT64_MAX);
	struct ftpi_expect_store_stats ss;
	ftpi_expect_store_stats(st, &ss, sizeof ss);
	ASSERT_EQ(ss.wait_timeouts, 0);
	ftpi_expect_store_free(st);

	/* bounded: a late engine stalls nobody for long */
	st = ftpi_expect_store_new(16, 2, 2000, NULL);
	ASSERT_TRUE(st != NULL);
	ftpi__store_attach(st, 0);
	ftpi__store_attach(st, 1);
	ftpi__store_wait(st, 0, 10);
	ftpi_expect_store_stats(st, &ss, sizeof ss);
	ASSERT_EQ(ss.wait_timeouts, 1);
	ftpi_expect_store_free(st);
}

/* Both directions and every connection of one host pair share a shard; hosts spread. */
static void test_shard(void)
{
	struct ftpi_addr a = {4, {10, 0, 0, 1}}, b = {4, {10, 0, 0, 2}};
	unsigned hits[4] = {0};
	ASSERT_EQ(ftpi_shard_of_addrs(&a, &b, 4), ftpi_shard_of_addrs(&b, &a, 4));
	ASSERT_EQ(ftpi_shard_of_addrs(&a, &b, 1), 0);
	for (int i = 0; i < 256; i++) {
		struct ftpi_addr c = {4, {192, 168, 1, (uint8_t)i}};
		unsigned s = ftpi_shard_of_addrs(&c, &b, 4);
		ASSERT_LT(s, 4);
		hits[s]++;
	}
	for (int i = 0; i < 4; i++)
		ASSERT_GT(hits[i], 32); /* about 64 each */
	ASSERT_EQ(ftpi_shard_of(NULL, 4), 0);
}

static ftpi_expect_store *g_store; /* the store new_engine() gives engine 0 */

static void with_store(struct ftpi_config *cfg)
{
	cfg->expect_store = g_store;
	cfg->engine_index = 0;
}

static struct ftpi_packet raw_pkt(uint8_t *buf, size_t n, uint64_t ts)
{
	struct ftpi_packet p = {ts, 101, (uint32_t)n, (uint32_t)n, buf};
	return p;
}

/* The look-ahead stops at the first packet that may announce (a 227 on a control connection),
 * not at a reply that does not or at a connection already found not to be FTP; before that
 * time another engine decides a new connection without waiting, after it it must wait. */
static void test_lookahead(void)
{
	struct evlog l;
	struct conn c, h;
	uint64_t ts = 1000000;
	uint8_t b[4][256];
	struct ftpi_packet pk[3];
	struct ftpi_expect_store_stats ss;
	g_store = ftpi_expect_store_new(16, 2, 2000, NULL); /* waits bounded: 2 ms */
	ASSERT_TRUE(g_store != NULL);
	ftpi_engine *e = new_engine(&l, with_store);
	ASSERT_TRUE(e != NULL);
	ASSERT_EQ(ftpi__store_attach(g_store, 1), FTPI_OK);
	ftpi_expect_store_idle(g_store, 1, UINT64_MAX); /* engine 0 never waits for it */
	conn_init(&c, 0, 40000, 21, 100, 900);
	ftp_login(e, &ts, &c);
	send_data(e, &ts, &c, 0, "PASV\r\n");
	conn_init(&h, 0, 40001, 80, 5000, 7000);
	handshake(e, &ts, &h);
	send_data(e, &ts, &h, 0, "GET / HTTP/1.1\r\n\r\n"); /* not FTP from here on */

	const char *http = "HTTP/1.1 200 OK\r\n\r\n", *r200 = "200 fine\r\n",
		   *r227 = "227 Entering Passive Mode (10,0,0,2,195,80)\r\n";
	pk[0] = raw_pkt(b[0], mk_ip(b[0], &h, 1, h.sseq, h.cseq, TH_ACK, http, strlen(http)),
			ts + 1000);
	pk[1] = raw_pkt(b[1], mk_ip(b[1], &c, 1, c.sseq, c.cseq, TH_ACK, r200, strlen(r200)),
			ts + 2000);
	pk[2] = raw_pkt(b[2],
			mk_ip(b[2], &c, 1, c.sseq + (uint32_t)strlen(r200), c.cseq, TH_ACK, r227,
			      strlen(r227)),
			ts + 3000);
	ASSERT_EQ(ftpi_engine_lookahead(e, pk, 3), 2);
	ASSERT_EQ(ftpi_engine_lookahead(e, pk + 2, 1), 0);
	/* a new connection's first bytes may be FTP: the look-ahead stops there too */
	struct conn n;
	conn_init(&n, 0, 40002, 2121, 1, 1);
	pk[1] = raw_pkt(b[3], mk_ip(b[3], &n, 1, 1, 1, TH_ACK, r200, strlen(r200)), ts + 2000);
	ASSERT_EQ(ftpi_engine_lookahead(e, pk, 3), 1);

	/* engine 1 decides a new connection to a port nobody holds: engine 0 has processed its
	 * packets up to ts only, but announces nothing before the 227 at ts + 3000 */
	struct ftpi_expect_store_stats s0;
	ftpi_expect_store_stats(g_store, &s0, sizeof s0);
	ASSERT_EQ(s0.wait_timeouts, 0);
	ftpi__store_wait_port(g_store, 1, 50000, ts + 1500, 0);
	ftpi_expect_store_stats(g_store, &ss, sizeof ss);
	ASSERT_EQ(ss.quick, s0.quick + 1);
	ASSERT_EQ(ss.wait_timeouts, 0);
	ftpi__store_wait_port(g_store, 1, 50000, ts + 4000, 0);
	ftpi_expect_store_stats(g_store, &ss, sizeof ss);
	ASSERT_EQ(ss.wait_timeouts, 1);
	ftpi_engine_free(e);
	ftpi_expect_store_free(g_store);
}

/* Before reading the claims on an entry, an engine waits only for engines that may still claim
 * it: with the host dispatching through the store, one whose connection starts to the port are
 * all processed and that did not claim it is settled. */
static void test_settle_claims(void)
{
	struct conn c;
	uint8_t buf[128];
	struct ftpi_expect_store_stats ss;
	ftpi_expect_store *st = ftpi_expect_store_new(16, 2, 2000, NULL);
	ASSERT_TRUE(st != NULL);
	ftpi__store_attach(st, 0);
	ftpi__store_attach(st, 1);
	conn_init(&c, 0, 40000, 50000, 1, 1);
	struct ftpi_packet syn = raw_pkt(buf, mk_ip(buf, &c, 0, 1, 0, TH_SYN, NULL, 0), 50);
	struct ftpi__sx_pub p = pub_for(50000, 1);
	/* the dispatcher's shard of the SYN claims; the other engine owns the entry */
	ftpi__sref r;
	unsigned s = ftpi_expect_store_dispatch(st, &syn, 2, 0), me = 1 - s;
	ASSERT_LT(s, 2);
	r = ftpi__store_publish(st, me, &p);
	ASSERT_TRUE(r != 0);
	ftpi__store_mark(st, s, 60, 0); /* the SYN at 50 was processed */
	ftpi__store_wait_claims(st, me, r, 50000, 100);
	ftpi_expect_store_stats(st, &ss, sizeof ss);
	ASSERT_EQ(ss.quick, 1);
	ASSERT_EQ(ss.wait_timeouts, 0);
	syn.ts_us = 80; /* another start to the port, not yet processed */
	ASSERT_EQ(ftpi_expect_store_dispatch(st, &syn, 2, 0), s);
	ftpi__store_wait_claims(st, me, r, 50000, 100);
	ftpi_expect_store_stats(st, &ss, sizeof ss);
	ASSERT_EQ(ss.wait_timeouts, 1);
	ftpi__store_wait_claims(st, me, r, 50001 /* another slot: settled */, 100);
	ftpi_expect_store_stats(st, &ss, sizeof ss);
	ASSERT_EQ(ss.quick, 2);
	ftpi__store_mark(st, s, 90, 0);
	ftpi__store_wait_claims(st, me, r, 50000, 100);
	ftpi_expect_store_stats(st, &ss, sizeof ss);
	ASSERT_EQ(ss.wait_timeouts, 1);
	/* once it claimed the entry, it may still add to the claim: wait for it */
	struct ftpi__sx_pub got;
	struct ftpi__sx_claim cl;
	ASSERT_TRUE(ftpi__store_claim(st, s, 50000, 85, 1000000, fit_any, NULL, &got, &cl) == r);
	ftpi__store_wait_claims(st, me, r, 50000, 100);
	ftpi_expect_store_stats(st, &ss, sizeof ss);
	ASSERT_EQ(ss.wait_timeouts, 2);
	/* an entry announced after the connection's time is not claimed */
	p = pub_for(50002, 2);
	p.created_us = 200;
	ASSERT_TRUE(ftpi__store_publish(st, me, &p) != 0);
	ASSERT_TRUE(ftpi__store_claim(st, s, 50002, 150, 1000000, fit_any, NULL, &got, &cl) == 0);
	ASSERT_TRUE(ftpi__store_claim(st, s, 50002, 250, 1000000, fit_any, NULL, &got, &cl) != 0);
	ftpi_expect_store_free(st);
}

/* The --share/--events-to URL as shown (never the password, never the rediss:// query), and
 * which URLs are refused: a query on redis://, an unknown or malformed name or value. */
static void test_share_url(void)
{
	static const struct {
		const char *url, *shown;
	} cases[] = {
		{"redis://127.0.0.1:6390/3", "redis://127.0.0.1:6390/3"},
		{"redis://:secret@h:6390/3", "redis://h:6390/3"},
		{"rediss://u:secret@h:6380/2?ssl_ca_certs=/a/b.pem&ssl_check_hostname=false",
		 "rediss://u@h:6380/2"},
		{"rediss://h:6380?ssl_ca_certs=/etc/x%20y.pem&ssl_certfile=/c/d.pem&ssl_keyfile=k",
		 "rediss://h:6380"},
		{"rediss://h/events?ssl_cert_reqs=none", "rediss://h:6379/events"},
		{"rediss://h:1/0?ssl_cert_reqs=optional&ssl_check_hostname=1", "rediss://h:1/0"},
		{"rediss://h:1/0?", "rediss://h:1/0"},
		{"redis://h:1/0?ssl_ca_certs=/x", NULL},
		{"rediss://h:1/0?bogus=1", NULL},
		{"rediss://h:1/0?ssl_cert_reqs=maybe", NULL},
		{"rediss://h:1/0?ssl_check_hostname=perhaps", NULL},
		{"rediss://h:1/0?ssl_ca_certs=%zz", NULL},
		{"rediss://h:1/0?ssl_ca_certs=%00", NULL},
		{"rediss://h:1/0?ssl_ca_certs", NULL},
		{"rediss://h:1/0?ssl_ca_certs=a&", "rediss://h:1/0"}, /* a trailing & is no name */
		{"rediss://h:0/0", NULL},
		{"http://h:1/0", NULL},
	};
	char buf[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ftpi_share_url_display(cases[i].url, buf, sizeof buf);
		ASSERT_STR_EQ(buf, cases[i].shown ? cases[i].shown : "(invalid redis URL)");
	}
	/* a value longer than the room for it is refused, not cut */
	char lng[400];
	snprintf(lng, sizeof lng, "rediss://h:1/0?ssl_ca_certs=/%0300d", 0);
	ftpi_share_url_display(lng, buf, sizeof buf);
	ASSERT_STR_EQ(buf, "(invalid redis URL)");
}

static const struct ftpi_test tests[] = {
	{"claim_all", test_claim_all}, {"claim_rules", test_claim_rules}, {"cap", test_cap},
	{"watermarks", test_watermarks}, {"shard", test_shard}, {"lookahead", test_lookahead},
	{"settle_claims", test_settle_claims}, {"share_url", test_share_url},
};

FTPI_TEST_MAIN(tests)
