/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_ndpi.c - unit tests for ndpi_glue.c with nDPI 4.2 on real loopback captures
 * (tests/data/tls/pcap, recorded by capture.sh): FTP control found on port 2121, implicit FTPS on
 * 990 (TLS 1.3 and 1.2), TLS with a self-signed certificate, TLS 1.0; nDPI risks mapped to the
 * glue's bits; per-flow memory from FTPI__POOL_NDPI, released; pool cap; garbage packets;
 * engines on several threads creating their modules at the same moment; one module per process,
 * shared by engines dissecting on several threads at once.
 */
#include "harness.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "ndpi_glue.h"

struct blob {
	uint8_t *p;
	size_t n;
};

static struct blob load_pcap(const char *name)
{
	struct blob b = {NULL, 0};
	const char *dir = getenv("FTPI_SOURCE_DIR");
	char path[1024];
	FILE *f;
	long sz;

	snprintf(path, sizeof path, "%s/tests/data/tls/pcap/%s", dir ? dir : ".", name);
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

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

struct outcome {
	int final;      /* classify returned 1 */
	int packets;    /* packets fed until then */
	int app;
	uint32_t risks;
	const char *name;
};

/* Feeds the packets of the first TCP connection touching `port` (little-endian pcap, Ethernet,
 * IPv4: what tcpdump -i lo writes) until classification is final; gives up at the end. */
static struct outcome run_blob(struct ftpi__ctx *e, struct ftpi__ndpi *n, struct blob b,
			       uint16_t port)
{
	struct outcome o = {0, 0, -1, 0, NULL};
	struct ftpi__ndpi_flow *f;
	size_t off = 24;

	if (b.n < 24 || le32(b.p) != 0xa1b2c3d4 || le32(b.p + 20) != 1)
		return o;
	f = ftpi__ndpi_flow_new(e, n);
	if (f == NULL)
		return o;
	while (off + 16 <= b.n) {
		uint32_t incl = le32(b.p + off + 8);
		uint64_t ts = (uint64_t)le32(b.p + off) * 1000000u + le32(b.p + off + 4);
		const uint8_t *pkt = b.p + off + 16;
		if (off + 16 + incl > b.n)
			break;
		off += 16 + incl;
		if (incl < 14 + 24 || pkt[12] != 0x08 || pkt[13] != 0x00)
			continue;
		const uint8_t *ip = pkt + 14;
		size_t ihl = (size_t)(ip[0] & 15) * 4;
		uint16_t sp = (uint16_t)((ip[ihl] << 8) | ip[ihl + 1]);
		uint16_t dp = (uint16_t)((ip[ihl + 2] << 8) | ip[ihl + 3]);
		if (sp != port && dp != port)
			continue;
		o.packets++;
		if (ftpi__ndpi_classify(n, f, ip, incl - 14, ts, &o.app, &o.risks, &o.name)) {
			o.final = 1;
			break;
		}
	}
	if (!o.final)
		ftpi__ndpi_giveup(n, f, &o.app, &o.risks, &o.name);
	ftpi__ndpi_flow_free(e, n, f);
	return o;
}

static struct outcome run(struct ftpi__ctx *e, struct ftpi__ndpi *n, const char *file,
			  uint16_t port)
{
	struct blob b = load_pcap(file);
	struct outcome o = run_blob(e, n, b, port);

	free(b.p);
	return o;
}

static void engine_init(struct ftpi__ctx *e)
{
	memset(e, 0, sizeof *e);
	e->mem_cap = 64u << 20;
}

static void test_ftp_control_any_port(void)
{
	/* vsftpd on 2121: FTP control, clear-text credentials, non-standard port, unsafe. */
	struct ftpi__ctx e;
	struct ftpi__ndpi *n = NULL;
	struct outcome o;
	size_t base;

	engine_init(&e);
	ASSERT_EQ(ftpi__ndpi_new(&e, &n), FTPI_OK);
	base = e.pool_used[FTPI__POOL_NDPI];
	ASSERT_GT(base, 0);
	o = run(&e, n, "ftp_plain_2121.pcap", 2121);
	ASSERT_EQ(o.final, 1);
	ASSERT_LE(o.packets, 12);
	ASSERT_EQ(o.app, FTPI__NDPI_FTP_CONTROL);
	ASSERT_STR_EQ(o.name, "FTP_CONTROL");
	ASSERT_TRUE(o.risks & FTPI__NDPI_RISK_CLEAR_CREDENTIALS);
	ASSERT_TRUE(o.risks & FTPI__NDPI_RISK_KNOWN_PROTO_NON_STD_PORT);
	ASSERT_TRUE(o.risks & FTPI__NDPI_RISK_UNSAFE_PROTOCOL);
	ASSERT_EQ(o.risks & FTPI__NDPI_RISK_TLS_SELFSIGNED, 0);
	/* Its 6-byte passive data connection tells nDPI nothing. */
	o = run(&e, n, "ftp_plain_2121.pcap", 50001);
	ASSERT_EQ(o.final, 0);
	ASSERT_EQ(o.app, FTPI__NDPI_UNKNOWN);
	ASSERT_TRUE(o.name == NULL);
	ASSERT_EQ(e.pool_used[FTPI__POOL_NDPI], base); /* flows given back */
	ftpi__ndpi_free(&e, n);
	ASSERT_EQ(e.mem_used, 0);
}

static void test_implicit_ftps(void)
{
	/* TLS on 990 is implicit FTPS, and 990 is its standard port (risk bit masked). */
	struct ftpi__ctx e;
	struct ftpi__ndpi *n = NULL;
	struct outcome o;

	engine_init(&e);
	ASSERT_EQ(ftpi__ndpi_new(&e, &n), FTPI_OK);
	o = run(&e, n, "ftps_implicit_990.pcap", 990);
	ASSERT_EQ(o.final, 1);
	ASSERT_EQ(o.app, FTPI__NDPI_FTPS);
	ASSERT_STR_EQ(o.name, "FTPS");
	ASSERT_EQ(o.risks & FTPI__NDPI_RISK_KNOWN_PROTO_NON_STD_PORT, 0);
	o = run(&e, n, "ftps_implicit_990_tls12.pcap", 990);
	ASSERT_EQ(o.app, FTPI__NDPI_FTPS);
	ASSERT_EQ(o.risks & FTPI__NDPI_RISK_TLS_SELFSIGNED, 0);
	ASSERT_EQ(o.risks & FTPI__NDPI_RISK_TLS_OBSOLETE_VERSION, 0);
	/* The TLS data connection on a passive port is plain TLS to nDPI. */
	o = run(&e, n, "ftps_implicit_990_tls12.pcap", 50009);
	ASSERT_EQ(o.app, FTPI__NDPI_TLS);
	ASSERT_STR_EQ(o.name, "TLS");
	ftpi__ndpi_free(&e, n);
	ASSERT_EQ(e.mem_used, 0);
}

static void test_tls_risks(void)
{
	/* Self-signed certificate and TLS 1.0 as nDPI sees them. */
	struct ftpi__ctx e;
	struct ftpi__ndpi *n = NULL;
	struct outcome o;

	engine_init(&e);
	ASSERT_EQ(ftpi__ndpi_new(&e, &n), FTPI_OK);
	o = run(&e, n, "tls12_selfsigned.pcap", 44404);
	ASSERT_EQ(o.final, 1);
	ASSERT_EQ(o.app, FTPI__NDPI_TLS);
	ASSERT_TRUE(o.risks & FTPI__NDPI_RISK_TLS_SELFSIGNED);
	ASSERT_EQ(o.risks & FTPI__NDPI_RISK_TLS_OBSOLETE_VERSION, 0);
	ASSERT_EQ(o.risks & FTPI__NDPI_RISK_CLEAR_CREDENTIALS, 0);
	o = run(&e, n, "tls12_sid.pcap", 44401);
	ASSERT_EQ(o.app, FTPI__NDPI_TLS);
	ASSERT_EQ(o.risks & FTPI__NDPI_RISK_TLS_SELFSIGNED, 0);
	/* No certificate ever comes (anonymous suite): nDPI keeps waiting until the end. */
	o = run(&e, n, "tls10_anon.pcap", 44405);
	ASSERT_EQ(o.app, FTPI__NDPI_TLS);
	ASSERT_TRUE(o.risks & FTPI__NDPI_RISK_TLS_OBSOLETE_VERSION);
	ftpi__ndpi_free(&e, n);
	ASSERT_EQ(e.mem_used, 0);
}

static void test_memory(void)
{
	/* Per-flow state is accounted to FTPI__POOL_NDPI and refused over the pool cap. */
	struct ftpi__ctx e;
	struct ftpi__ndpi *n = NULL;
	struct ftpi__ndpi_flow *f, *g;
	size_t base;

	engine_init(&e);
	ASSERT_EQ(ftpi__ndpi_new(&e, &n), FTPI_OK);
	base = e.pool_used[FTPI__POOL_NDPI];
	ASSERT_GE(ftpi__ndpi_flow_size(), 600);
	ASSERT_LE(ftpi__ndpi_flow_size(), 4096);
	f = ftpi__ndpi_flow_new(&e, n);
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(e.pool_used[FTPI__POOL_NDPI], base + ftpi__ndpi_flow_size());
	e.pool_cap[FTPI__POOL_NDPI] = base + ftpi__ndpi_flow_size() + 100;
	g = ftpi__ndpi_flow_new(&e, n);
	ASSERT_TRUE(g == NULL);
	ASSERT_EQ(e.st.mem_cap_hits, 1);
	ftpi__ndpi_flow_free(&e, n, f);
	ftpi__ndpi_flow_free(&e, n, NULL);
	ASSERT_EQ(e.pool_used[FTPI__POOL_NDPI], base);
	ftpi__ndpi_free(&e, n);
	ftpi__ndpi_free(&e, NULL);
	ASSERT_EQ(e.mem_used, 0);
	/* No room for the module wrapper. */
	e.mem_cap = 1;
	ASSERT_EQ(ftpi__ndpi_new(&e, &n), FTPI_E_NOMEM);
	ASSERT_TRUE(n == NULL);
}

static void test_garbage(void)
{
	/* Random IPv4/IPv6-looking packets: no crash; the budget ends classification. */
	struct ftpi__ctx e;
	struct ftpi__ndpi *n = NULL;
	uint64_t s = 7;
	uint8_t pkt[1500];

	engine_init(&e);
	ASSERT_EQ(ftpi__ndpi_new(&e, &n), FTPI_OK);
	for (int flow = 0; flow < 50; flow++) {
		struct ftpi__ndpi_flow *f = ftpi__ndpi_flow_new(&e, n);
		int app, final = 0, fed = 0;
		uint32_t risks;
		const char *name;
		ASSERT_TRUE(f != NULL);
		while (!final && fed < 100) {
			size_t len = 1 + (size_t)(s % sizeof pkt);
			for (size_t i = 0; i < len; i++) {
				s ^= s << 13;
				s ^= s >> 7;
				s ^= s << 17;
				pkt[i] = (uint8_t)s;
			}
			pkt[0] = (uint8_t)(flow & 1 ? 0x60 : 0x45);
			if (len > 9)
				pkt[9] = 6;
			fed++;
			final = ftpi__ndpi_classify(n, f, pkt, len, (uint64_t)fed * 1000, &app,
						    &risks, &name);
		}
		ASSERT_LE(fed, FTPI__NDPI_PACKET_BUDGET);
		ftpi__ndpi_flow_free(&e, n, f);
	}
	/* NULL arguments are refused quietly. */
	ASSERT_EQ(ftpi__ndpi_classify(n, NULL, pkt, 10, 0, NULL, NULL, NULL), 0);
	ASSERT_EQ(ftpi__ndpi_classify(NULL, NULL, NULL, 0, 0, NULL, NULL, NULL), 0);
	ftpi__ndpi_giveup(n, NULL, NULL, NULL, NULL);
	ftpi__ndpi_free(&e, n);
	ASSERT_EQ(e.mem_used, 0);
}

/* Engines on different worker threads create their nDPI modules lazily, at their first TCP
 * packet, often at the same moment. nDPI 4.2's module set-up initialises libgcrypt, which is
 * not safe to do from two threads at once (it aborted `--workers 4` about once in a hundred
 * runs). Only the first set-up in a process initialises it, so each round is a fresh process:
 * 4 threads released together by a barrier. */
#define RACE_THREADS 4
#define RACE_ROUNDS 24

static pthread_barrier_t race_barrier;

static void *race_thread(void *arg)
{
	struct ftpi__ctx *e = arg;
	struct ftpi__ndpi *n = NULL;

	pthread_barrier_wait(&race_barrier);
	if (ftpi__ndpi_new(e, &n) != FTPI_OK)
		return e;
	ftpi__ndpi_free(e, n);
	return NULL;
}

static int race_child(void)
{
	struct ftpi__ctx e[RACE_THREADS];
	pthread_t t[RACE_THREADS];
	int i, bad = 0;

	if (pthread_barrier_init(&race_barrier, NULL, RACE_THREADS) != 0)
		return 2;
	for (i = 0; i < RACE_THREADS; i++) {
		engine_init(&e[i]);
		if (pthread_create(&t[i], NULL, race_thread, &e[i]) != 0)
			_exit(3); /* the others wait at the barrier for ever */
	}
	for (i = 0; i < RACE_THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad |= r != NULL || e[i].mem_used != 0;
	}
	return bad;
}

static void test_modules_on_threads(void)
{
	int round, failed = 0;

	for (round = 0; round < RACE_ROUNDS; round++) {
		int status = 0;
		pid_t pid = fork();

		ASSERT_TRUE(pid >= 0);
		if (pid == 0)
			_exit(race_child());
		ASSERT_EQ(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "round %d: %s %d\n", round,
				WIFSIGNALED(status) ? "signal" : "exit status",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			failed++;
		}
	}
	ASSERT_EQ(failed, 0);
}

/* One module per process: every handle shares it, the last one freed destroys it, and engines
 * on several threads dissect with it at the same time with the answers one thread alone gets
 * (the glue serialises the calls; under TSan a missing lock is a reported race). */
#define SHARE_THREADS 4
#define SHARE_ROUNDS 300

static const struct {
	const char *file;
	uint16_t port;
} share_cases[] = {
	{"ftp_plain_2121.pcap", 2121},       {"ftps_implicit_990.pcap", 990},
	{"ftps_implicit_990_tls12.pcap", 50009}, {"tls12_selfsigned.pcap", 44404},
	{"tls10_anon.pcap", 44405},          {"tls13.pcap", 44403},
};
static struct outcome share_ref[FTPI__ARRAY_LEN(share_cases)];
static struct blob share_blob[FTPI__ARRAY_LEN(share_cases)];

static void *share_thread(void *arg)
{
	struct ftpi__ctx *e = arg;
	struct ftpi__ndpi *n = NULL;
	size_t k = 0;

	if (ftpi__ndpi_new(e, &n) != FTPI_OK)
		return e;
	for (int r = 0; r < SHARE_ROUNDS; r++) {
		for (size_t i = 0; i < FTPI__ARRAY_LEN(share_cases); i++) {
			/* each thread walks the cases from its own start, so different dissectors
			 * run at once */
			size_t c = (i + k) % FTPI__ARRAY_LEN(share_cases);
			struct outcome o = run_blob(e, n, share_blob[c], share_cases[c].port);
			if (o.final != share_ref[c].final || o.packets != share_ref[c].packets ||
			    o.app != share_ref[c].app || o.risks != share_ref[c].risks ||
			    (o.name == NULL) != (share_ref[c].name == NULL) ||
			    (o.name && strcmp(o.name, share_ref[c].name) != 0)) {
				ftpi__ndpi_free(e, n);
				return e;
			}
		}
		k++;
	}
	ftpi__ndpi_free(e, n);
	return NULL;
}

static void test_module_shared(void)
{
	struct ftpi__ctx e[SHARE_THREADS], one;
	struct ftpi__ndpi *n = NULL, *m = NULL;
	pthread_t t[SHARE_THREADS];
	int i;

	ASSERT_EQ(ftpi__ndpi_module_refs(), 0);
	engine_init(&one);
	ASSERT_EQ(ftpi__ndpi_new(&one, &n), FTPI_OK);
	ASSERT_EQ(ftpi__ndpi_module_refs(), 1);
	for (size_t c = 0; c < FTPI__ARRAY_LEN(share_cases); c++) {
		share_blob[c] = load_pcap(share_cases[c].file);
		share_ref[c] = run_blob(&one, n, share_blob[c], share_cases[c].port);
		ASSERT_GT(share_ref[c].packets, 0);
	}
	ASSERT_EQ(share_ref[0].app, FTPI__NDPI_FTP_CONTROL);
	ASSERT_EQ(share_ref[1].app, FTPI__NDPI_FTPS);
	/* a second handle shares the module: no second build */
	ASSERT_EQ(ftpi__ndpi_new(&one, &m), FTPI_OK);
	ASSERT_EQ(ftpi__ndpi_module_refs(), 2);
	ftpi__ndpi_free(&one, m);
	ASSERT_EQ(ftpi__ndpi_module_refs(), 1);
	for (i = 0; i < SHARE_THREADS; i++) {
		engine_init(&e[i]);
		ASSERT_EQ(pthread_create(&t[i], NULL, share_thread, &e[i]), 0);
	}
	for (i = 0; i < SHARE_THREADS; i++) {
		void *r;

		ASSERT_EQ(pthread_join(t[i], &r), 0);
		ASSERT_TRUE(r == NULL);
		ASSERT_EQ(e[i].mem_used, 0);
	}
	for (size_t c = 0; c < FTPI__ARRAY_LEN(share_cases); c++)
		free(share_blob[c].p);
	ASSERT_EQ(ftpi__ndpi_module_refs(), 1);
	ftpi__ndpi_free(&one, n);
	ASSERT_EQ(ftpi__ndpi_module_refs(), 0);
	ASSERT_EQ(one.mem_used, 0);
	/* built again after the last handle went */
	ASSERT_EQ(ftpi__ndpi_new(&one, &n), FTPI_OK);
	ASSERT_EQ(ftpi__ndpi_module_refs(), 1);
	struct outcome o = run(&one, n, share_cases[0].file, share_cases[0].port);
	ASSERT_EQ(o.app, FTPI__NDPI_FTP_CONTROL);
	ftpi__ndpi_free(&one, n);
	ASSERT_EQ(ftpi__ndpi_module_refs(), 0);
}

static const struct ftpi_test tests[] = {
	{"ftp_control_any_port", test_ftp_control_any_port},
	{"implicit_ftps", test_implicit_ftps},
	{"tls_risks", test_tls_risks},
	{"memory", test_memory},
	{"garbage", test_garbage},
	{"modules_on_threads", test_modules_on_threads},
	{"module_shared", test_module_shared},
};

FTPI_TEST_MAIN(tests)
