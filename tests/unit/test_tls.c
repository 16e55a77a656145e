/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_tls.c - unit tests for tls.c, the passive TLS handshake reader. Real handshakes recorded
 * on loopback with openssl s_server/s_client (tests/data/tls/capture.sh: TLS 1.2 with session-ID
 * and ticket resumption, TLS 1.3 with PSK resumption and a HelloRetryRequest, a self-signed
 * server, TLS 1.0 with an anonymous suite) plus hostile inputs: every split point, byte-at-a-time
 * feeds, truncation, lying length fields, a handshake over the cap, memory exhaustion, garbage.
 * Data files are found through FTPI_SOURCE_DIR (set by CTest).
 */
#include "harness.h"

#include "internal.h"
#include "names.h"
#include "tls.h"
#ifdef FTPI_WITH_NDPI
#include "ndpi_glue.h"
#endif

/* The names as an engine has them: OpenSSL's, then nDPI's when built with it. */
static struct ftpi__tls_names tnames;
static char namebuf[4][FTPI__TLS_NAME_MAX];
static unsigned namebuf_i;

static void names_release(void)
{
	ftpi__tls_names_release(&tnames);
}

static void names_init(void)
{
	static int done;
	if (done++)
		return;
	atexit(names_release); /* OpenSSL's objects, made on first use */
#ifdef FTPI_WITH_NDPI
	tnames.suite_name = ftpi__ndpi_suite_name;
	tnames.version_name = ftpi__ndpi_version_name;
#endif
}

static const char *cipher_name(uint16_t v)
{
	names_init();
	return ftpi__tls_cipher_name(&tnames, v, namebuf[namebuf_i++ % 4]);
}

static const char *version_name(uint16_t v)
{
	names_init();
	return ftpi__tls_version_name(&tnames, v, namebuf[namebuf_i++ % 4]);
}

static int cipher_weak(uint16_t v)
{
	names_init();
	return ftpi__tls_cipher_weak(&tnames, v);
}

struct blob {
	uint8_t *p;
	size_t n;
};

static struct blob load(const char *name)
{
	struct blob b = {NULL, 0};
	const char *dir = getenv("FTPI_SOURCE_DIR");
	char path[1024];
	FILE *f;
	long sz;

	snprintf(path, sizeof path, "%s/tests/data/tls/%s", dir ? dir : ".", name);
	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s (set FTPI_SOURCE_DIR)\n", path);
		return b;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		b.p = malloc((size_t)sz);
		if (b.p && fread(b.p, 1, (size_t)sz, f) == (size_t)sz)
			b.n = (size_t)sz;
	}
	fclose(f);
	return b;
}

static void engine_init(struct ftpi__ctx *e)
{
	memset(e, 0, sizeof *e);
	e->mem_cap = 64u << 20;
	e->cfg.max_tls_handshake = 64u << 10;
	e->cfg.hash_seed[0] = 0x1234;
	e->cfg.hash_seed[1] = 0x5678;
}

/* Length of the first TLS record (header included), or the whole blob. */
static size_t first_record(const struct blob *b)
{
	if (b->n < 5)
		return b->n;
	size_t n = 5u + (size_t)((b->p[3] << 8) | b->p[4]);
	return n < b->n ? n : b->n;
}

/* Feeds a recorded connection in wire order: the client's first record (ClientHello), the whole
 * server side, then the rest of the client side. chunk > 0 splits every feed into pieces. */
static void feed_conn(struct ftpi__ctx *e, struct ftpi__tls *t, const struct blob *c2s,
		      const struct blob *s2c, size_t chunk)
{
	size_t first = first_record(c2s);
	const struct {
		int dir;
		const uint8_t *p;
		size_t n;
	} parts[3] = {{0, c2s->p, first}, {1, s2c->p, s2c->n}, {0, c2s->p + first, c2s->n - first}};

	for (int i = 0; i < 3; i++) {
		size_t step = chunk ? chunk : parts[i].n;
		for (size_t off = 0; off < parts[i].n; off += step) {
			size_t k = parts[i].n - off < step ? parts[i].n - off : step;
			ftpi__tls_feed(e, t, parts[i].dir, parts[i].p + off, k);
		}
	}
}

struct conn {
	struct blob c2s, s2c;
};

static struct conn load_conn(const char *base)
{
	struct conn c;
	char name[256];

	snprintf(name, sizeof name, "%s.c2s", base);
	c.c2s = load(name);
	snprintf(name, sizeof name, "%s.s2c", base);
	c.s2c = load(name);
	return c;
}

static void free_conn(struct conn *c)
{
	free(c->c2s.p);
	free(c->s2c.p);
}

/* Everything the reader learned, without pointers, for equality checks across feed patterns. */
struct summary {
	int state;
	unsigned v[24];
	uint64_t h[3];
	char sni[256];
	uint8_t sids[64];
	uint8_t cert0[64];
};

static void summarize(const struct ftpi__tls *t, struct summary *s)
{
	memset(s, 0, sizeof *s);
	s->state = t->state;
	unsigned v[] = {t->seen_client_hello, t->client_version,     t->sni_len,
			t->client_sid_len,    t->client_ticket_ext,  t->client_ticket_len,
			t->client_psk,        t->seen_server_hello,  t->version,
			t->cipher,            t->server_sid_len,     t->resumed,
			t->server_new_ticket, t->seen_certificate,   t->n_certs,
			t->alerts,            t->malformed,          t->certs_truncated,
			t->server_full_hs,    t->hrr,                t->dir[0].encrypted,
			t->dir[1].encrypted,  t->cert_len[0],        t->cert_len[1]};
	memcpy(s->v, v, sizeof v);
	s->h[0] = t->client_ticket_hash;
	s->h[1] = t->client_psk_hash;
	s->h[2] = t->server_ticket_hash;
	memcpy(s->sni, t->sni, t->sni_len);
	memcpy(s->sids, t->client_sid, t->client_sid_len);
	memcpy(s->sids + 32, t->server_sid, t->server_sid_len);
	if (t->n_certs > 0)
		memcpy(s->cert0, t->cert[0], t->cert_len[0] < 64 ? t->cert_len[0] : 64);
}

static int sni_is(const struct ftpi__tls *t, const char *want)
{
	return t->sni_len == strlen(want) && memcmp(t->sni, want, t->sni_len) == 0;
}

static void test_tls12_session_id_resumption(void)
{
	/* TLS 1.2 full handshake with chain, then a resumption by session ID (tickets off). */
	struct ftpi__ctx e;
	struct ftpi__tls a, b;
	struct conn c1 = load_conn("tls12_sid.1"), c2 = load_conn("tls12_sid.2");
	struct blob leaf = load("server.der"), ca = load("ca.der");

	engine_init(&e);
	ASSERT_TRUE(c1.c2s.n && c1.s2c.n && c2.c2s.n && c2.s2c.n && leaf.n && ca.n);
	ftpi__tls_init(&a);
	feed_conn(&e, &a, &c1.c2s, &c1.s2c, 0);
	ASSERT_EQ(a.state, FTPI__TLS_DONE);
	ASSERT_EQ(a.malformed, 0);
	ASSERT_EQ(a.seen_client_hello, 1);
	ASSERT_EQ(a.client_version, 0x0303);
	ASSERT_TRUE(sni_is(&a, "ftp.example.test"));
	ASSERT_EQ(a.client_sid_len, 0);
	ASSERT_EQ(a.client_ticket_len, 0);
	ASSERT_EQ(a.seen_server_hello, 1);
	ASSERT_EQ(a.version, 0x0303);
	ASSERT_EQ(a.cipher, 0xc02c);
	ASSERT_STR_EQ(cipher_name(a.cipher), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
#ifdef FTPI_WITH_NDPI /* versions are named by nDPI only */
	ASSERT_STR_EQ(version_name(a.version), "TLSv1.2");
#endif
	ASSERT_EQ(a.server_sid_len, 32);
	ASSERT_EQ(a.resumed, 0);
	ASSERT_EQ(a.server_new_ticket, 0);
	ASSERT_EQ(a.seen_certificate, 1);
	ASSERT_EQ(a.n_certs, 2);
	ASSERT_EQ(a.certs_truncated, 0);
	ASSERT_EQ(a.cert_len[0], leaf.n);
	ASSERT_EQ(a.cert_len[1], ca.n);
	ASSERT_TRUE(memcmp(a.cert[0], leaf.p, leaf.n) == 0);
	ASSERT_TRUE(memcmp(a.cert[1], ca.p, ca.n) == 0);
	ASSERT_EQ(a.alerts, 0);
	/* Done: handshake buffers are gone, only the certificate copy remains. */
	ASSERT_TRUE(a.dir[0].hs == NULL);
	ASSERT_TRUE(a.dir[1].hs == NULL);
	ASSERT_EQ(e.pool_used[FTPI__POOL_TLS], leaf.n + ca.n);
	ASSERT_EQ(ftpi__tls_feed(&e, &a, 0, c1.c2s.p, c1.c2s.n), 0);

	ftpi__tls_init(&b);
	feed_conn(&e, &b, &c2.c2s, &c2.s2c, 0);
	ASSERT_EQ(b.state, FTPI__TLS_DONE);
	ASSERT_EQ(b.client_sid_len, 32);
	ASSERT_TRUE(memcmp(b.client_sid, a.server_sid, 32) == 0); /* the link to connection 1 */
	ASSERT_EQ(b.server_sid_len, 32);
	ASSERT_EQ(b.resumed, 1);
	ASSERT_EQ(b.seen_certificate, 0);
	ASSERT_EQ(b.n_certs, 0);
	ASSERT_EQ(b.server_full_hs, 0);

	ftpi__tls_drop_certs(&e, &a);
	ASSERT_EQ(a.n_certs, 0);
	ASSERT_EQ(a.version, 0x0303);
	ftpi__tls_release(&e, &a);
	ftpi__tls_release(&e, &b);
	ASSERT_EQ(e.pool_used[FTPI__POOL_TLS], 0);
	ASSERT_EQ(e.mem_used, 0);
	free_conn(&c1);
	free_conn(&c2);
	free(leaf.p);
	free(ca.p);
}

static void test_tls12_ticket_resumption(void)
{
	/* TLS 1.2: a ticket issued in clear on connection 1, presented and accepted on 2. */
	struct ftpi__ctx e;
	struct ftpi__tls a, b;
	struct conn c1 = load_conn("tls12_ticket.1"), c2 = load_conn("tls12_ticket.2");

	engine_init(&e);
	ASSERT_TRUE(c1.c2s.n && c1.s2c.n && c2.c2s.n && c2.s2c.n);
	ftpi__tls_init(&a);
	feed_conn(&e, &a, &c1.c2s, &c1.s2c, 0);
	ASSERT_EQ(a.state, FTPI__TLS_DONE);
	ASSERT_EQ(a.client_ticket_ext, 1);
	ASSERT_EQ(a.client_ticket_len, 0);
	ASSERT_EQ(a.server_sid_len, 0);
	ASSERT_EQ(a.server_new_ticket, 1);
	ASSERT_NE(a.server_ticket_hash, 0);
	ASSERT_EQ(a.resumed, 0);
	ASSERT_EQ(a.n_certs, 2);

	ftpi__tls_init(&b);
	feed_conn(&e, &b, &c2.c2s, &c2.s2c, 0);
	ASSERT_EQ(b.state, FTPI__TLS_DONE);
	ASSERT_EQ(b.client_ticket_ext, 1);
	ASSERT_EQ(b.client_ticket_len, 176);
	ASSERT_EQ(b.client_ticket_hash, a.server_ticket_hash); /* the link to connection 1 */
	ASSERT_EQ(b.resumed, 1);
	ASSERT_EQ(b.seen_certificate, 0);
	ASSERT_EQ(b.cipher, 0xc02c);
	/* A different engine seed gives different hashes (keyed), equal within the engine. */
	{
		struct ftpi__ctx e2;
		struct ftpi__tls x;
		engine_init(&e2);
		e2.cfg.hash_seed[0] = 99;
		ftpi__tls_init(&x);
		feed_conn(&e2, &x, &c2.c2s, &c2.s2c, 0);
		ASSERT_NE(x.client_ticket_hash, b.client_ticket_hash);
		ftpi__tls_release(&e2, &x);
	}
	ftpi__tls_release(&e, &a);
	ftpi__tls_release(&e, &b);
	ASSERT_EQ(e.pool_used[FTPI__POOL_TLS], 0);
	free_conn(&c1);
	free_conn(&c2);
}

static void test_tls13_psk(void)
{
	/* TLS 1.3: no certificate visible; resumption by PSK identity, hashed identically. */
	struct ftpi__ctx e;
	struct ftpi__tls a, b, b2;
	struct conn c1 = load_conn("tls13.1"), c2 = load_conn("tls13.2");

	engine_init(&e);
	ASSERT_TRUE(c1.c2s.n && c1.s2c.n && c2.c2s.n && c2.s2c.n);
	ftpi__tls_init(&a);
	feed_conn(&e, &a, &c1.c2s, &c1.s2c, 0);
	ASSERT_EQ(a.state, FTPI__TLS_DONE);
	ASSERT_EQ(a.client_version, 0x0304);
	ASSERT_EQ(a.version, 0x0304);
#ifdef FTPI_WITH_NDPI
	ASSERT_STR_EQ(version_name(a.version), "TLSv1.3");
#endif
	ASSERT_EQ(a.cipher, 0x1302);
	ASSERT_STR_EQ(cipher_name(a.cipher), "TLS_AES_256_GCM_SHA384");
	ASSERT_TRUE(sni_is(&a, "ftp.example.test"));
	ASSERT_EQ(a.client_sid_len, 32); /* middlebox-compat session ID, echoed: not a resumption */
	ASSERT_EQ(a.server_sid_len, 32);
	ASSERT_EQ(a.resumed, 0);
	ASSERT_EQ(a.client_psk, 0);
	ASSERT_EQ(a.seen_certificate, 0);
	ASSERT_EQ(a.n_certs, 0);
	ASSERT_EQ(a.server_new_ticket, 0);
	ASSERT_EQ(e.pool_used[FTPI__POOL_TLS], 0);

	ftpi__tls_init(&b);
	feed_conn(&e, &b, &c2.c2s, &c2.s2c, 0);
	ASSERT_EQ(b.state, FTPI__TLS_DONE);
	ASSERT_EQ(b.client_psk, 1);
	ASSERT_NE(b.client_psk_hash, 0);
	ASSERT_EQ(b.resumed, 1);
	/* The same ClientHello seen again hashes the same (what groups data connections). */
	ftpi__tls_init(&b2);
	feed_conn(&e, &b2, &c2.c2s, &c2.s2c, 7);
	ASSERT_EQ(b2.client_psk_hash, b.client_psk_hash);
	ftpi__tls_release(&e, &a);
	ftpi__tls_release(&e, &b);
	ftpi__tls_release(&e, &b2);
	free_conn(&c1);
	free_conn(&c2);
}

static void test_tls13_hello_retry(void)
{
	/* HelloRetryRequest: the second ClientHello is read in clear; encryption starts after the
	 * real ServerHello. */
	struct ftpi__ctx e;
	struct ftpi__tls t;
	struct conn c = load_conn("tls13_hrr.1");
	size_t first, second;

	engine_init(&e);
	ASSERT_TRUE(c.c2s.n && c.s2c.n);
	ftpi__tls_init(&t);
	/* Wire order: CH1, HRR (+CCS), CH2 (after the client's CCS), ServerHello... */
	first = first_record(&c.c2s);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, c.c2s.p, first), 1);
	second = first_record(&c.s2c);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 1, c.s2c.p, second), 1);
	ASSERT_EQ(t.hrr, 1);
	ASSERT_EQ(t.seen_server_hello, 0);
	ASSERT_EQ(t.dir[0].encrypted, 0);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, c.c2s.p + first, c.c2s.n - first), 1);
	ASSERT_EQ(t.dir[0].encrypted, 1); /* application data after the second ClientHello */
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 1, c.s2c.p + second, c.s2c.n - second), 0);
	ASSERT_EQ(t.state, FTPI__TLS_DONE);
	ASSERT_EQ(t.seen_server_hello, 1);
	ASSERT_EQ(t.version, 0x0304);
	ASSERT_EQ(t.cipher, 0x1302);
	ASSERT_TRUE(sni_is(&t, "ftp.example.test"));
	ASSERT_EQ(t.malformed, 0);
	ftpi__tls_release(&e, &t);
	free_conn(&c);
}

static void test_selfsigned_and_weak(void)
{
	/* A single self-signed certificate, no SNI; TLS 1.0 with an anonymous suite. */
	struct ftpi__ctx e;
	struct ftpi__tls t;
	struct conn c = load_conn("tls12_selfsigned.1"), w = load_conn("tls10_anon.1");
	struct blob ss = load("selfsigned.der");

	engine_init(&e);
	ASSERT_TRUE(c.c2s.n && c.s2c.n && w.c2s.n && w.s2c.n && ss.n);
	ftpi__tls_init(&t);
	feed_conn(&e, &t, &c.c2s, &c.s2c, 0);
	ASSERT_EQ(t.state, FTPI__TLS_DONE);
	ASSERT_EQ(t.sni_len, 0);
	ASSERT_EQ(t.n_certs, 1);
	ASSERT_EQ(t.cert_len[0], ss.n);
	ASSERT_TRUE(memcmp(t.cert[0], ss.p, ss.n) == 0);
	ASSERT_EQ(ftpi__tls_version_weak(t.version), 0);
	ASSERT_EQ(cipher_weak(t.cipher), 0);
	ftpi__tls_release(&e, &t);

	ftpi__tls_init(&t);
	feed_conn(&e, &t, &w.c2s, &w.s2c, 0);
	ASSERT_EQ(t.state, FTPI__TLS_DONE);
	ASSERT_EQ(t.version, 0x0301);
#ifdef FTPI_WITH_NDPI
	ASSERT_STR_EQ(version_name(t.version), "TLSv1.0");
#endif
	ASSERT_EQ(t.cipher, 0xc018);
	ASSERT_STR_EQ(cipher_name(t.cipher), "TLS_ECDH_anon_WITH_AES_128_CBC_SHA");
	ASSERT_EQ(ftpi__tls_version_weak(t.version), 1);
	ASSERT_EQ(cipher_weak(t.cipher), 1);
	ASSERT_EQ(t.seen_certificate, 0);
	ASSERT_EQ(t.server_full_hs, 1); /* ServerKeyExchange + ServerHelloDone: not resumed */
	ASSERT_EQ(t.resumed, 0);
	ASSERT_EQ(t.server_new_ticket, 1);
	ftpi__tls_release(&e, &t);
	ASSERT_EQ(e.pool_used[FTPI__POOL_TLS], 0);
	free_conn(&c);
	free_conn(&w);
	free(ss.p);
}

static void test_ftps_data_links(void)
{
	/* vsftpd implicit FTPS + curl: the data connection resumes the control connection's TLS
	 * session. TLS 1.2: the data ClientHello's session ID is the one the control's ServerHello
	 * issued (proof); TLS 1.3: the data ClientHello offers a PSK and the server takes it. */
	struct ftpi__ctx e;
	struct ftpi__tls ctl, data;
	struct conn c = load_conn("ftps_implicit_990_tls12.1");
	struct conn d = load_conn("ftps_implicit_990_tls12.2");
	struct conn c3 = load_conn("ftps_implicit_990.1"), d3 = load_conn("ftps_implicit_990.2");

	engine_init(&e);
	ASSERT_TRUE(c.c2s.n && c.s2c.n && d.c2s.n && d.s2c.n);
	ASSERT_TRUE(c3.c2s.n && c3.s2c.n && d3.c2s.n && d3.s2c.n);
	ftpi__tls_init(&ctl);
	feed_conn(&e, &ctl, &c.c2s, &c.s2c, 0);
	ASSERT_EQ(ctl.state, FTPI__TLS_DONE);
	ASSERT_EQ(ctl.version, 0x0303);
	ASSERT_EQ(ctl.resumed, 0);
	ASSERT_EQ(ctl.server_sid_len, 32);
	ASSERT_EQ(ctl.n_certs, 1);
	ASSERT_EQ(ctl.server_full_hs, 1);
	ftpi__tls_init(&data);
	feed_conn(&e, &data, &d.c2s, &d.s2c, 0);
	ASSERT_EQ(data.state, FTPI__TLS_DONE);
	ASSERT_EQ(data.client_sid_len, 32);
	ASSERT_TRUE(memcmp(data.client_sid, ctl.server_sid, 32) == 0);
	ASSERT_EQ(data.resumed, 1);
	ASSERT_EQ(data.seen_certificate, 0);
	ftpi__tls_release(&e, &ctl);
	ftpi__tls_release(&e, &data);

	ftpi__tls_init(&ctl);
	feed_conn(&e, &ctl, &c3.c2s, &c3.s2c, 0);
	ASSERT_EQ(ctl.version, 0x0304);
	ASSERT_EQ(ctl.hrr, 1); /* curl's first key share is not the server's choice */
	ASSERT_EQ(ctl.resumed, 0);
	ASSERT_EQ(ctl.client_psk, 0);
	ASSERT_EQ(ctl.n_certs, 0);
	ftpi__tls_init(&data);
	feed_conn(&e, &data, &d3.c2s, &d3.s2c, 0);
	ASSERT_EQ(data.version, 0x0304);
	ASSERT_EQ(data.client_psk, 1);
	ASSERT_EQ(data.resumed, 1);
	ftpi__tls_release(&e, &ctl);
	ftpi__tls_release(&e, &data);
	ASSERT_EQ(e.mem_used, 0);
	free_conn(&c);
	free_conn(&d);
	free_conn(&c3);
	free_conn(&d3);
}

static void test_every_split_equals_whole(void)
{
	/* Byte-at-a-time and every two-piece split of each side give what one feed gives. */
	static const char *const names[] = {"tls12_sid.1",       "tls12_ticket.2",
					    "tls13.2",           "tls13_hrr.1",
					    "tls10_anon.1",      "ftps_implicit_990_tls12.1",
					    "ftps_implicit_990.2"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct ftpi__ctx e;
		struct ftpi__tls whole, t;
		struct summary sw, st;
		struct conn c = load_conn(names[i]);

		engine_init(&e);
		ASSERT_TRUE(c.c2s.n && c.s2c.n);
		ftpi__tls_init(&whole);
		feed_conn(&e, &whole, &c.c2s, &c.s2c, 0);
		summarize(&whole, &sw);
		ASSERT_EQ(sw.state, FTPI__TLS_DONE);

		ftpi__tls_init(&t);
		feed_conn(&e, &t, &c.c2s, &c.s2c, 1);
		summarize(&t, &st);
		if (memcmp(&sw, &st, sizeof sw) != 0)
			FAIL_AT("%s: byte-at-a-time differs", names[i]);
		ftpi__tls_release(&e, &t);

		/* Server side split at every offset (client side fed whole around it). */
		for (size_t k = 1; k < c.s2c.n; k++) {
			size_t first = first_record(&c.c2s);
			ftpi__tls_init(&t);
			ftpi__tls_feed(&e, &t, 0, c.c2s.p, first);
			ftpi__tls_feed(&e, &t, 1, c.s2c.p, k);
			ftpi__tls_feed(&e, &t, 1, c.s2c.p + k, c.s2c.n - k);
			ftpi__tls_feed(&e, &t, 0, c.c2s.p + first, c.c2s.n - first);
			summarize(&t, &st);
			ftpi__tls_release(&e, &t);
			if (memcmp(&sw, &st, sizeof sw) != 0)
				FAIL_AT("%s: split at %zu differs", names[i], k);
		}
		for (size_t k = 1; k < first_record(&c.c2s); k++) {
			ftpi__tls_init(&t);
			ftpi__tls_feed(&e, &t, 0, c.c2s.p, k);
			ftpi__tls_feed(&e, &t, 0, c.c2s.p + k, first_record(&c.c2s) - k);
			ASSERT_EQ(t.seen_client_hello, 1);
			ASSERT_EQ(t.client_version, whole.client_version);
			ASSERT_EQ(t.sni_len, whole.sni_len);
			ASSERT_EQ(t.client_psk_hash, whole.client_psk_hash);
			ftpi__tls_release(&e, &t);
		}
		ftpi__tls_release(&e, &whole);
		ASSERT_EQ(e.pool_used[FTPI__POOL_TLS], 0);
		free_conn(&c);
	}
}

static void test_truncated(void)
{
	/* A capture that stops mid-Certificate: still in progress, nothing invented, no leak. */
	struct ftpi__ctx e;
	struct ftpi__tls t;
	struct conn c = load_conn("tls12_sid.1");

	engine_init(&e);
	ASSERT_TRUE(c.c2s.n > 0 && c.s2c.n > 200);
	ftpi__tls_init(&t);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, c.c2s.p, first_record(&c.c2s)), 1);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 1, c.s2c.p, 200), 1);
	ASSERT_EQ(t.state, FTPI__TLS_HANDSHAKE);
	ASSERT_EQ(t.seen_server_hello, 1);
	ASSERT_EQ(t.seen_certificate, 0);
	ASSERT_EQ(t.n_certs, 0);
	ASSERT_EQ(t.malformed, 0);
	ASSERT_GT(e.pool_used[FTPI__POOL_TLS], 0); /* the partial Certificate message */
	/* A gap on the server side: that direction is given up; the rest is still settled. */
	ftpi__tls_gap(&t, 1);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 1, c.s2c.p + 300, 100), 1);
	ASSERT_EQ(t.seen_certificate, 0);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, c.c2s.p + first_record(&c.c2s),
				 c.c2s.n - first_record(&c.c2s)),
		  0);
	ASSERT_EQ(t.state, FTPI__TLS_DONE);
	ASSERT_EQ(e.pool_used[FTPI__POOL_TLS], 0);
	ftpi__tls_release(&e, &t);
	/* Only 3 bytes of a record header. */
	ftpi__tls_init(&t);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, c.c2s.p, 3), 1);
	ASSERT_EQ(t.state, FTPI__TLS_INIT);
	ftpi__tls_release(&e, &t);
	free_conn(&c);
}

/* Finds the offset of the first handshake message of type `type` in a one-direction blob whose
 * records each hold whole messages (true for the recorded server flights). */
static size_t find_msg(const struct blob *b, uint8_t type)
{
	size_t off = 0;
	while (off + 5 <= b->n) {
		size_t rl = (size_t)((b->p[off + 3] << 8) | b->p[off + 4]);
		if (b->p[off] == 22) {
			size_t m = off + 5;
			while (m + 4 <= off + 5 + rl) {
				size_t ml = ((size_t)b->p[m + 1] << 16) |
					    ((size_t)b->p[m + 2] << 8) | b->p[m + 3];
				if (b->p[m] == type)
					return m;
				m += 4 + ml;
			}
		}
		off += 5 + rl;
	}
	return 0;
}

static void test_lying_lengths(void)
{
	/* Length fields that claim more than there is: malformed, parsing stops, no overread. */
	struct ftpi__ctx e;
	struct ftpi__tls t;
	struct conn c = load_conn("tls12_sid.1");
	uint8_t *m;
	size_t off, ext;

	engine_init(&e);
	ASSERT_TRUE(c.c2s.n && c.s2c.n);
	m = malloc(c.s2c.n > c.c2s.n ? c.s2c.n : c.c2s.n);
	ASSERT_TRUE(m != NULL);

	/* ClientHello: extensions length one more than the message holds. Layout: record(5)
	 * type(1) len(3) version(2) random(32) sid_len(1)=0 cs_len(2) cs comp_len(1) comp
	 * ext_len */
	memcpy(m, c.c2s.p, c.c2s.n);
	off = 5 + 4 + 2 + 32 + 1;
	off += 2 + (size_t)((m[off] << 8) | m[off + 1]);
	off += 1 + m[off];
	ext = (size_t)((m[off] << 8) | m[off + 1]) + 1;
	m[off] = (uint8_t)(ext >> 8);
	m[off + 1] = (uint8_t)ext;
	ftpi__tls_init(&t);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, m, first_record(&c.c2s)), 0);
	ASSERT_EQ(t.malformed, 1);
	ASSERT_EQ(t.sni_len, 0);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 1, c.s2c.p, c.s2c.n), 0); /* stays stopped */
	ASSERT_EQ(t.seen_server_hello, 0);
	ftpi__tls_release(&e, &t);
	ASSERT_EQ(e.pool_used[FTPI__POOL_TLS], 0);

	/* ServerHello: session ID length 33. */
	memcpy(m, c.s2c.p, c.s2c.n);
	off = find_msg(&c.s2c, 2);
	ASSERT_GT(off, 0);
	m[off + 4 + 2 + 32] = 33;
	ftpi__tls_init(&t);
	ftpi__tls_feed(&e, &t, 0, c.c2s.p, first_record(&c.c2s));
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 1, m, c.s2c.n), 0);
	ASSERT_EQ(t.malformed, 1);
	ASSERT_EQ(t.seen_server_hello, 0);
	ftpi__tls_release(&e, &t);

	/* Certificate: the first certificate's 24-bit length exceeds the list. */
	memcpy(m, c.s2c.p, c.s2c.n);
	off = find_msg(&c.s2c, 11);
	ASSERT_GT(off, 0);
	m[off + 4 + 3] = 0x7f;
	ftpi__tls_init(&t);
	ftpi__tls_feed(&e, &t, 0, c.c2s.p, first_record(&c.c2s));
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 1, m, c.s2c.n), 0);
	ASSERT_EQ(t.malformed, 1);
	ASSERT_EQ(t.seen_server_hello, 1);
	ASSERT_EQ(t.n_certs, 0);
	ftpi__tls_release(&e, &t);

	/* A record length past the protocol maximum after a valid first record. */
	memcpy(m, c.s2c.p, c.s2c.n);
	m[3] = 0xff;
	m[4] = 0xff;
	ftpi__tls_init(&t);
	ftpi__tls_feed(&e, &t, 0, c.c2s.p, first_record(&c.c2s));
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 1, m, c.s2c.n), 0);
	ASSERT_EQ(t.malformed, 1);
	ftpi__tls_release(&e, &t);

	/* SNI list length lying inside a well-framed extension. */
	{
		static const uint8_t ch[] = {
			0x16, 0x03, 0x01, 0x00, 0x3a,             /* record, 58 bytes */
			0x01, 0x00, 0x00, 0x36,                   /* ClientHello, 54 */
			0x03, 0x03,                               /* version */
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* random */
			0x00,                                     /* sid */
			0x00, 0x02, 0x13, 0x01,                   /* suites */
			0x01, 0x00,                               /* compression */
			0x00, 0x0b,                               /* extensions: 11 */
			0x00, 0x00, 0x00, 0x07,                   /* server_name, 7 */
			0x00, 0x09, 0x00, 0x00, 0x03, 'a', 'b'};  /* list says 9, has 5 */
		ftpi__tls_init(&t);
		ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, ch, sizeof ch), 0);
		ASSERT_EQ(t.malformed, 1);
		ASSERT_EQ(t.sni_len, 0);
		ftpi__tls_release(&e, &t);
	}
	free(m);
	free_conn(&c);
}

static void test_over_cap(void)
{
	/* A Certificate message larger than max_tls_handshake is skipped, not buffered: the chain
	 * is reported incomplete, the rest of the handshake is still read. */
	struct ftpi__ctx e;
	struct ftpi__tls t;
	struct conn c = load_conn("tls12_sid.1");

	engine_init(&e);
	e.cfg.max_tls_handshake = 1000; /* the Certificate message is 1005 bytes */
	ASSERT_TRUE(c.c2s.n && c.s2c.n);
	ftpi__tls_init(&t);
	feed_conn(&e, &t, &c.c2s, &c.s2c, 13);
	ASSERT_EQ(t.state, FTPI__TLS_DONE);
	ASSERT_EQ(t.malformed, 0);
	ASSERT_EQ(t.cipher, 0xc02c);
	ASSERT_EQ(t.seen_certificate, 0);
	ASSERT_EQ(t.certs_truncated, 1);
	ASSERT_EQ(t.dir[1].overflow, 1);
	ASSERT_EQ(t.n_certs, 0);
	ASSERT_EQ(t.server_full_hs, 1);
	ASSERT_EQ(t.resumed, 0);
	ASSERT_LE(e.st.mem_high_water, 2 * 1000); /* one message buffer per direction */
	ftpi__tls_release(&e, &t);

	/* Engine memory cap: allocations refused and counted, nothing crashes. */
	engine_init(&e);
	e.mem_cap = 600; /* enough for the ClientHello buffer, not for the chain */
	ftpi__tls_init(&t);
	feed_conn(&e, &t, &c.c2s, &c.s2c, 0);
	ASSERT_EQ(t.seen_client_hello, 1);
	ASSERT_EQ(t.version, 0x0303);
	ASSERT_EQ(t.n_certs, 0);
	ASSERT_EQ(t.certs_truncated, 1);
	ASSERT_GT(e.st.mem_cap_hits, 0);
	ASSERT_LE(e.st.mem_high_water, 600);
	ftpi__tls_release(&e, &t);
	ASSERT_EQ(e.mem_used, 0);
	free_conn(&c);
}

static void test_not_tls(void)
{
	/* Clear FTP, HTTP, SSLv2-compatible hellos and empty records are not TLS. */
	static const char ftp[] = "USER anonymous\r\n";
	static const uint8_t sslv2[] = {0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00};
	static const uint8_t empty_rec[] = {0x16, 0x03, 0x01, 0x00, 0x00};
	static const uint8_t alert_first[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
	struct ftpi__ctx e;
	struct ftpi__tls t;

	engine_init(&e);
	ftpi__tls_init(&t);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, (const uint8_t *)ftp, sizeof ftp - 1), 0);
	ASSERT_EQ(t.state, FTPI__TLS_NOT_TLS);
	ASSERT_EQ(t.seen_client_hello, 0);
	ftpi__tls_init(&t);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, sslv2, sizeof sslv2), 0);
	ASSERT_EQ(t.state, FTPI__TLS_NOT_TLS);
	ftpi__tls_init(&t);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 0, empty_rec, sizeof empty_rec), 0);
	ASSERT_EQ(t.state, FTPI__TLS_NOT_TLS);
	ftpi__tls_init(&t);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 1, alert_first, sizeof alert_first), 0);
	ASSERT_EQ(t.state, FTPI__TLS_NOT_TLS);
	/* Bad arguments are no-ops. */
	ftpi__tls_init(&t);
	ASSERT_EQ(ftpi__tls_feed(&e, &t, 2, empty_rec, sizeof empty_rec), 0);
	ASSERT_EQ(ftpi__tls_feed(&e, NULL, 0, empty_rec, sizeof empty_rec), 0);
	ASSERT_EQ(t.state, FTPI__TLS_INIT);
	ftpi__tls_gap(NULL, 0);
	ftpi__tls_release(&e, NULL);
	ASSERT_EQ(e.mem_used, 0);
}

static void test_sniff(void)
{
	/* ftpi__tls_sniff: yes, no, need more. */
	static const uint8_t ch[] = {0x16, 0x03, 0x01, 0x01, 0x00, 0x01};
	struct conn c = load_conn("tls13.1");

	ASSERT_TRUE(c.c2s.n > 6);
	ASSERT_EQ(ftpi__tls_sniff(c.c2s.p, c.c2s.n), 1);
	ASSERT_EQ(ftpi__tls_sniff(ch, sizeof ch), 1);
	for (size_t k = 0; k < sizeof ch; k++)
		ASSERT_EQ(ftpi__tls_sniff(ch, k), -1);
	ASSERT_EQ(ftpi__tls_sniff((const uint8_t *)"USER x\r\n", 8), 0);
	ASSERT_EQ(ftpi__tls_sniff((const uint8_t *)"\x16\x02", 2), 0);
	ASSERT_EQ(ftpi__tls_sniff((const uint8_t *)"\x16\x03\x05", 3), 0);
	ASSERT_EQ(ftpi__tls_sniff((const uint8_t *)"\x16\x03\x03\x00\x30\x02", 6), 0);
	ASSERT_EQ(ftpi__tls_sniff((const uint8_t *)"\x80\x2e\x01", 3), 0);
	ASSERT_EQ(ftpi__tls_sniff(c.s2c.p, c.s2c.n), 0); /* ServerHello */
	free_conn(&c);
}

/* Every suite of the table the library kept by hand before its names came from OpenSSL and nDPI:
 * code point, that table's IANA name, 1 when Debian 12's OpenSSL names it (the others, RC4, DES,
 * 3DES, EXPORT and a few more, only nDPI does). */
static const struct {
	uint16_t id;
	const char *name;
	int openssl;
} iana_suites[] = {
	{0x0000, "TLS_NULL_WITH_NULL_NULL", 0},
	{0x0001, "TLS_RSA_WITH_NULL_MD5", 1},
	{0x0002, "TLS_RSA_WITH_NULL_SHA", 1},
	{0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", 0},
	{0x0004, "TLS_RSA_WITH_RC4_128_MD5", 0},
	{0x0005, "TLS_RSA_WITH_RC4_128_SHA", 0},
	{0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", 0},
	{0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", 1},
	{0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", 0},
	{0x0009, "TLS_RSA_WITH_DES_CBC_SHA", 0},
	{0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0},
	{0x000b, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", 0},
	{0x000c, "TLS_DH_DSS_WITH_DES_CBC_SHA", 0},
	{0x000d, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA", 0},
	{0x000e, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", 0},
	{0x000f, "TLS_DH_RSA_WITH_DES_CBC_SHA", 0},
	{0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA", 0},
	{0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", 0},
	{0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA", 0},
	{0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", 0},
	{0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", 0},
	{0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", 0},
	{0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", 0},
	{0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", 0},
	{0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", 0},
	{0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA", 0},
	{0x001a, "TLS_DH_anon_WITH_DES_CBC_SHA", 0},
	{0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", 0},
	{0x002c, "TLS_PSK_WITH_NULL_SHA", 1},
	{0x002d, "TLS_DHE_PSK_WITH_NULL_SHA", 1},
	{0x002e, "TLS_RSA_PSK_WITH_NULL_SHA", 1},
	{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", 1},
	{0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA", 0},
	{0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA", 0},
	{0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", 1},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", 1},
	{0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", 1},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 1},
	{0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA", 0},
	{0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA", 0},
	{0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", 1},
	{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 1},
	{0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA", 1},
	{0x003b, "TLS_RSA_WITH_NULL_SHA256", 1},
	{0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", 1},
	{0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", 1},
	{0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", 1},
	{0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", 1},
	{0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", 1},
	{0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA", 1},
	{0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 1},
	{0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", 1},
	{0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 1},
	{0x006c, "TLS_DH_anon_WITH_AES_128_CBC_SHA256", 1},
	{0x006d, "TLS_DH_anon_WITH_AES_256_CBC_SHA256", 1},
	{0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", 1},
	{0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", 1},
	{0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", 1},
	{0x008a, "TLS_PSK_WITH_RC4_128_SHA", 0},
	{0x008b, "TLS_PSK_WITH_3DES_EDE_CBC_SHA", 0},
	{0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA", 1},
	{0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA", 1},
	{0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", 1},
	{0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", 1},
	{0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", 1},
	{0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 1},
	{0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 1},
	{0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", 1},
	{0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", 1},
	{0x00a6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256", 1},
	{0x00a7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384", 1},
	{0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256", 1},
	{0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384", 1},
	{0x00ba, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256", 1},
	{0x00be, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", 1},
	{0x00bf, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256", 1},
	{0x00c0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", 1},
	{0x00c4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256", 1},
	{0x00c5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256", 1},
	{0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", 1},
	{0x1301, "TLS_AES_128_GCM_SHA256", 1},
	{0x1302, "TLS_AES_256_GCM_SHA384", 1},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256", 1},
	{0x1304, "TLS_AES_128_CCM_SHA256", 1},
	{0x1305, "TLS_AES_128_CCM_8_SHA256", 1},
	{0x5600, "TLS_FALLBACK_SCSV", 1},
	{0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA", 0},
	{0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA", 0},
	{0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA", 0},
	{0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", 0},
	{0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", 0},
	{0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", 1},
	{0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", 0},
	{0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", 0},
	{0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 1},
	{0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 1},
	{0xc00b, "TLS_ECDH_RSA_WITH_NULL_SHA", 0},
	{0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA", 0},
	{0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA", 0},
	{0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", 0},
	{0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", 0},
	{0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA", 1},
	{0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", 0},
	{0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", 0},
	{0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 1},
	{0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 1},
	{0xc015, "TLS_ECDH_anon_WITH_NULL_SHA", 1},
	{0xc016, "TLS_ECDH_anon_WITH_RC4_128_SHA", 0},
	{0xc017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA", 0},
	{0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", 1},
	{0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", 1},
	{0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 1},
	{0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 1},
	{0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 1},
	{0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 1},
	{0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 1},
	{0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 1},
	{0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 1},
	{0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 1},
	{0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", 1},
	{0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA", 1},
	{0xc039, "TLS_ECDHE_PSK_WITH_NULL_SHA", 1},
	{0xc09c, "TLS_RSA_WITH_AES_128_CCM", 1},
	{0xc09d, "TLS_RSA_WITH_AES_256_CCM", 1},
	{0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM", 1},
	{0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM", 1},
	{0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", 1},
	{0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", 1},
	{0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 1},
	{0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 1},
	{0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 1},
	{0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", 1},
	{0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", 1},
};

static void test_names(void)
{
	/* Names from the libraries: the old table's IANA names unchanged, unknown code points as
	 * hex, the weak classes by name; versions from nDPI. */
	char buf[FTPI__TLS_NAME_MAX];
	static const uint16_t unknown[] = {0x0050, 0x00fe, 0x1306, 0x7777, 0xfefe, 0xffff};
	unsigned named = 0;

	for (size_t i = 0; i < sizeof iana_suites / sizeof *iana_suites; i++) {
		const char *n = cipher_name(iana_suites[i].id);
#ifdef FTPI_WITH_NDPI
		ASSERT_STR_EQ(n, iana_suites[i].name);
#else
		if (iana_suites[i].openssl) {
			ASSERT_STR_EQ(n, iana_suites[i].name);
		} else {
			snprintf(buf, sizeof buf, "0x%04x", iana_suites[i].id);
			ASSERT_STR_EQ(n, buf);
		}
#endif
	}
	for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
		snprintf(buf, sizeof buf, "0x%04x", unknown[i]);
		ASSERT_STR_EQ(cipher_name(unknown[i]), buf);
		ASSERT_EQ(ftpi__tls_cipher_known(&tnames, unknown[i]), 0);
		ASSERT_EQ(cipher_weak(unknown[i]), 0);
	}
	/* without an engine's names object: hex forms only */
	ASSERT_STR_EQ(ftpi__tls_cipher_name(NULL, 0x1301, buf), "0x1301");
	ASSERT_STR_EQ(ftpi__tls_version_name(NULL, 0x0303, buf), "0x0303");
	ASSERT_STR_EQ(version_name(0x0305), "0x0305");
#ifdef FTPI_WITH_NDPI
	ASSERT_STR_EQ(version_name(0x0300), "SSLv3");
	ASSERT_STR_EQ(version_name(0x0301), "TLSv1.0");
	ASSERT_STR_EQ(version_name(0x0302), "TLSv1.1");
	ASSERT_STR_EQ(version_name(0x0303), "TLSv1.2");
	ASSERT_STR_EQ(version_name(0x0304), "TLSv1.3");
	/* nDPI writes DH_ANON; IANA, and these names, DH_anon */
	ASSERT_STR_EQ(cipher_name(0x001b), "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA");
	ASSERT_STR_EQ(cipher_name(0xc016), "TLS_ECDH_anon_WITH_RC4_128_SHA");
#endif
	ASSERT_EQ(ftpi__tls_version_weak(0x0002), 1);
	ASSERT_EQ(ftpi__tls_version_weak(0x0300), 1);
	ASSERT_EQ(ftpi__tls_version_weak(0x0301), 1);
	ASSERT_EQ(ftpi__tls_version_weak(0x0302), 1);
	ASSERT_EQ(ftpi__tls_version_weak(0x0303), 0);
	ASSERT_EQ(ftpi__tls_version_weak(0x0304), 0);
	ASSERT_EQ(ftpi__tls_version_weak(0), 0);
	ASSERT_EQ(cipher_weak(0x0002), 1); /* NULL encryption */
	ASSERT_EQ(cipher_weak(0x0034), 1); /* DH_anon */
	ASSERT_EQ(cipher_weak(0xc010), 1); /* ECDHE NULL */
#ifdef FTPI_WITH_NDPI
	ASSERT_EQ(cipher_weak(0x0000), 1); /* NULL_WITH_NULL_NULL */
	ASSERT_EQ(cipher_weak(0x0003), 1); /* EXPORT */
	ASSERT_EQ(cipher_weak(0x0005), 1); /* RC4 */
	ASSERT_EQ(cipher_weak(0x0009), 1); /* DES */
	ASSERT_EQ(cipher_weak(0x000a), 1); /* 3DES */
	ASSERT_EQ(cipher_weak(0xc012), 1); /* ECDHE 3DES */
#endif
	ASSERT_EQ(cipher_weak(0x002f), 0);
	ASSERT_EQ(cipher_weak(0xc02c), 0);
	ASSERT_EQ(cipher_weak(0x1302), 0);
	ASSERT_EQ(cipher_weak(0xcca9), 0);
	ASSERT_EQ(ftpi__tls_null_mac_len(&tnames, 0x0001), 16); /* RSA_WITH_NULL_MD5 */
	ASSERT_EQ(ftpi__tls_null_mac_len(&tnames, 0x0002), 20);
	ASSERT_EQ(ftpi__tls_null_mac_len(&tnames, 0x003b), 32);
	ASSERT_EQ(ftpi__tls_null_mac_len(&tnames, 0x002f), -1);
	ASSERT_EQ(ftpi__tls_null_mac_len(&tnames, 0x0000), -1);
	for (unsigned v = 0; v <= 0xffff; v++)
		named += ftpi__tls_cipher_known(&tnames, (uint16_t)v);
	ASSERT_GT(named, 160); /* Debian 12's OpenSSL alone: 169 (174 found, 5 without a name) */
	ftpi__tls_names_release(&tnames);
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_mutations(void)
{
	/* Random byte flips, truncations and splits of real handshakes: no crash or overread
	 * (run under ASan), and every byte of memory is given back. */
	static const char *const names[] = {"tls12_sid.1", "tls12_ticket.1", "tls13.2",
					    "tls13_hrr.1"};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct ftpi__ctx e;

	engine_init(&e);
	e.cfg.max_tls_handshake = 4096;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct conn c = load_conn(names[i]);
		uint8_t *a, *b;
		ASSERT_TRUE(c.c2s.n && c.s2c.n);
		a = malloc(c.c2s.n);
		b = malloc(c.s2c.n);
		ASSERT_TRUE(a && b);
		for (int iter = 0; iter < 3000; iter++) {
			struct ftpi__tls t;
			size_t na = c.c2s.n, nb = c.s2c.n, step = 1 + rng(&seed) % 700;
			memcpy(a, c.c2s.p, na);
			memcpy(b, c.s2c.p, nb);
			for (int f = 0, nf = (int)(rng(&seed) % 4) + 1; f < nf; f++) {
				a[rng(&seed) % na] ^= (uint8_t)(1u << (rng(&seed) % 8));
				b[rng(&seed) % nb] = (uint8_t)rng(&seed);
			}
			if (rng(&seed) % 4 == 0)
				nb = rng(&seed) % nb;
			ftpi__tls_init(&t);
			for (size_t o = 0; o < na || o < nb; o += step) {
				if (o < na)
					ftpi__tls_feed(&e, &t, 0, a + o,
						       na - o < step ? na - o : step);
				if (o < nb)
					ftpi__tls_feed(&e, &t, 1, b + o,
						       nb - o < step ? nb - o : step);
			}
			ASSERT_LE(t.sni_len, sizeof t.sni);
			ASSERT_LE(t.n_certs, FTPI__TLS_MAX_CERTS);
			ftpi__tls_release(&e, &t);
			ASSERT_EQ(e.mem_used, 0);
		}
		free(a);
		free(b);
		free_conn(&c);
	}
	ASSERT_LE(e.st.mem_high_water, 3 * 4096);
}

static void test_random_records(void)
{
	/* Well-framed handshake records with random bodies: parsing must stay in bounds. */
	uint64_t seed = 42;
	struct ftpi__ctx e;
	uint8_t buf[600];

	engine_init(&e);
	for (int iter = 0; iter < 20000; iter++) {
		struct ftpi__tls t;
		size_t body = rng(&seed) % (sizeof buf - 9);
		ftpi__tls_init(&t);
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = (uint8_t)rng(&seed);
		buf[0] = 0x16;
		buf[1] = 0x03;
		buf[2] = (uint8_t)(rng(&seed) % 4);
		buf[3] = (uint8_t)((body + 4) >> 8);
		buf[4] = (uint8_t)(body + 4);
		buf[5] = (uint8_t)(1 + rng(&seed) % 2 + (iter % 7 == 0 ? 9 : 0));
		buf[6] = 0;
		buf[7] = (uint8_t)(body >> 8);
		buf[8] = (uint8_t)body;
		ftpi__tls_feed(&e, &t, buf[5] == 1 ? 0 : 1, buf, body + 9);
		ASSERT_LE(t.sni_len, sizeof t.sni);
		ftpi__tls_release(&e, &t);
	}
	ASSERT_EQ(e.mem_used, 0);
}

static const struct ftpi_test tests[] = {
	{"tls12_session_id_resumption", test_tls12_session_id_resumption},
	{"tls12_ticket_resumption", test_tls12_ticket_resumption},
	{"tls13_psk", test_tls13_psk},
	{"tls13_hello_retry", test_tls13_hello_retry},
	{"selfsigned_and_weak", test_selfsigned_and_weak},
	{"ftps_data_links", test_ftps_data_links},
	{"every_split_equals_whole", test_every_split_equals_whole},
	{"truncated", test_truncated},
	{"lying_lengths", test_lying_lengths},
	{"over_cap", test_over_cap},
	{"not_tls", test_not_tls},
	{"sniff", test_sniff},
	{"names", test_names},
	{"mutations", test_mutations},
	{"random_records", test_random_records},
};

FTPI_TEST_MAIN(tests)
