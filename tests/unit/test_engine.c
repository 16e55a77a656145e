/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_engine.c - the packet path end to end with crafted packets: every link type and tunnel,
 * IPv6 extension headers, out-of-order and overlapping segments, sequence wrap-around,
 * mid-stream pickup, gaps, truncated packets, a flow flood and an out-of-order burst under tiny
 * caps, and allocation failure injection.
 */
#include "harness.h"
#include "pkt.h"

static uint8_t mac12[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

static int w_eth(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	memcpy(o, mac12, 12);
	put16(o + 12, v6 ? 0x86dd : 0x0800);
	memcpy(o + 14, ip, n);
	*ol = 14 + n;
	return 1;
}

static int w_vlan(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	memcpy(o, mac12, 12);
	put16(o + 12, 0x8100);
	put16(o + 14, 100);
	put16(o + 16, v6 ? 0x86dd : 0x0800);
	memcpy(o + 18, ip, n);
	*ol = 18 + n;
	return 1;
}

static int w_qinq(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	memcpy(o, mac12, 12);
	put16(o + 12, 0x88a8);
	put16(o + 14, 10);
	put16(o + 16, 0x8100);
	put16(o + 18, 20);
	put16(o + 20, v6 ? 0x86dd : 0x0800);
	memcpy(o + 22, ip, n);
	*ol = 22 + n;
	return 1;
}

static int w_sll(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	memset(o, 0, 16);
	put16(o + 2, 1);
	put16(o + 4, 6);
	put16(o + 14, v6 ? 0x86dd : 0x0800);
	memcpy(o + 16, ip, n);
	*ol = 16 + n;
	return 113;
}

static int w_sll2(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	memset(o, 0, 20);
	put16(o, v6 ? 0x86dd : 0x0800);
	put32(o + 4, 3);
	put16(o + 8, 1);
	o[11] = 6;
	memcpy(o + 20, ip, n);
	*ol = 20 + n;
	return 276;
}

static int w_null(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	uint32_t af = v6 ? 30 : 2; /* little-endian host */
	o[0] = (uint8_t)af;
	o[1] = o[2] = o[3] = 0;
	memcpy(o + 4, ip, n);
	*ol = 4 + n;
	return 0;
}

static int w_loop(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	put32(o, v6 ? 24 : 2);
	memcpy(o + 4, ip, n);
	*ol = 4 + n;
	return 108;
}

static int w_ipv4_lt(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	memcpy(o, ip, n);
	*ol = n;
	return v6 ? 229 : 228;
}

/* Outer Ethernet + IPv4 (proto 47) + GRE header given + inner bytes. */
static size_t outer_gre(uint8_t *o, const uint8_t *gre, size_t glen, const uint8_t *in, size_t n)
{
	memcpy(o, mac12, 12);
	put16(o + 12, 0x0800);
	uint8_t *ip = o + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + glen + n));
	ip[8] = 64;
	ip[9] = 47;
	ip[12] = 192, ip[13] = 0, ip[14] = 2, ip[15] = 1;
	ip[16] = 192, ip[17] = 0, ip[18] = 2, ip[19] = 2;
	memcpy(ip + 20, gre, glen);
	memcpy(ip + 20 + glen, in, n);
	return 14 + 20 + glen + n;
}

static int w_gre(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	uint8_t g[4] = {0, 0, 0, 0};
	put16(g + 2, v6 ? 0x86dd : 0x0800);
	*ol = outer_gre(o, g, 4, ip, n);
	return 1;
}

static int w_erspan2(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	uint8_t g[16] = {0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 7, 0x10, 0x64, 0x00, 0x01, 0, 0, 0, 0};
	uint8_t inner[4096];
	size_t il;
	w_eth(inner, &il, ip, n, v6);
	*ol = outer_gre(o, g, sizeof g, inner, il);
	return 1;
}

static int w_erspan3(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	uint8_t g[20] = {0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 9, 0x20, 0x64, 0, 1,
			 1, 2, 3, 4, 0, 0, 0, 0};
	uint8_t inner[4096];
	size_t il;
	w_eth(inner, &il, ip, n, v6);
	*ol = outer_gre(o, g, sizeof g, inner, il);
	return 1;
}

/* A clear-text login over whatever link the wrapper gives. */
static void login_session(int v6, pkt_wrap_fn wrap, struct evlog *l)
{
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	pkt_wrap = wrap;
	ftpi_engine *e = new_engine(l, NULL);
	conn_init(&c, v6, 40000, 21, 1000, 5000);
	handshake(e, &ts, &c);
	send_data(e, &ts, &c, 1, "220 hello\r\n");
	send_data(e, &ts, &c, 0, "USER alice\r\n");
	send_data(e, &ts, &c, 1, "331 password\r\n");
	send_data(e, &ts, &c, 0, "PASS s3cret\r\n");
	send_data(e, &ts, &c, 1, "230 ok\r\n");
	close_both(e, &ts, &c);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	pkt_wrap = NULL;
}

static void test_link_types(void)
{
	/* every link type and tunnel carries the same login: one session, one plaintext_auth */
	static const struct {
		const char *name;
		pkt_wrap_fn w;
	} t[] = {{"raw", NULL},      {"eth", w_eth},   {"vlan", w_vlan},     {"qinq", w_qinq},
		 {"sll", w_sll},     {"sll2", w_sll2}, {"null", w_null},     {"loop", w_loop},
		 {"ipv4", w_ipv4_lt}, {"gre", w_gre},  {"erspan2", w_erspan2}, {"erspan3", w_erspan3}};
	static struct evlog l;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (int v6 = 0; v6 < 2; v6++) {
			login_session(v6, t[i].w, &l);
			if (l.sessions != 1 || l.findings[FTPI_FINDING_PLAINTEXT_AUTH] != 1)
				fprintf(stderr, "link %s v6=%d\n", t[i].name, v6);
			ASSERT_EQ(l.sessions, 1);
			ASSERT_EQ(l.findings[FTPI_FINDING_PLAINTEXT_AUTH], 1);
			ASSERT_STR_EQ(l.last_user, "alice");
			ASSERT_EQ(l.last_login, FTPI_LOGIN_SUCCESS);
		}
	}
}

static int w_eth_v6_ext(uint8_t *o, size_t *ol, const uint8_t *ip, size_t n, int v6)
{
	/* insert a hop-by-hop (8 bytes) and a destination-options header (16 bytes) */
	(void)v6;
	uint8_t p[4096];
	memcpy(p, ip, 40);
	p[6] = 0; /* next: hop-by-hop */
	put16(p + 4, (uint16_t)(((ip[4] << 8) | ip[5]) + 24));
	uint8_t *h = p + 40;
	memset(h, 0, 24);
	h[0] = 60; /* next: destination options */
	h[1] = 0;
	h[8] = 6; /* next: TCP */
	h[9] = 1; /* 16 bytes */
	memcpy(p + 64, ip + 40, n - 40);
	return w_eth(o, ol, p, n + 24, 1);
}

static void test_ipv6_extension_headers(void)
{
	/* IPv6 extension headers are walked to the TCP header */
	static struct evlog l;
	login_session(1, w_eth_v6_ext, &l);
	ASSERT_EQ(l.sessions, 1);
	ASSERT_EQ(l.findings[FTPI_FINDING_PLAINTEXT_AUTH], 1);
}

static void test_out_of_order_and_overlap(void)
{
	/* segments arrive reversed and overlapping with different bytes: policy FIRST keeps the
	 * bytes seen first, the conflict is counted, the commands come out whole and in order */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	uint8_t b[256];
	size_t n;
	ftpi_engine *e = new_engine(&l, NULL);
	conn_init(&c, 0, 40001, 21, 100, 900);
	handshake(e, &ts, &c);
	send_data(e, &ts, &c, 1, "220 hi\r\n");
	const char *cmd = "USER bob\r\nPASS pw\r\n";
	/* second half first, then an overlapping copy with different bytes, then the first half */
	n = mk_ip(b, &c, 0, c.cseq + 10, c.sseq, TH_ACK, cmd + 10, 9);
	feed_raw(e, ts += 10, b, n);
	n = mk_ip(b, &c, 0, c.cseq + 8, c.sseq, TH_ACK, "\r\nPAXX", 6);
	feed_raw(e, ts += 10, b, n);
	n = mk_ip(b, &c, 0, c.cseq, c.sseq, TH_ACK, cmd, 10);
	feed_raw(e, ts += 10, b, n);
	c.cseq += 19;
	send_data(e, &ts, &c, 1, "331 p\r\n230 ok\r\n");
	struct ftpi_stats st;
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_GE(st.reasm_overlaps, 1);
	ASSERT_GE(st.reasm_overlap_conflicts, 1);
	ASSERT_GE(st.reasm_ooo_segments, 1);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_TRUE(strstr(l.text, "cmd USER [bob]\ncmd PASS [***]\n") != NULL);
	ASSERT_EQ(l.last_login, FTPI_LOGIN_SUCCESS);
}

static void show_passwords(struct ftpi_config *c)
{
	c->redact_credentials = 0;
}

static void test_overlap_orders_first_wins(void)
{
	/* A PASS line in two overlapping pieces plus a copy with other bytes, in all six arrival
	 * orders: every byte is the one that arrived first (out of order, in order, or already
	 * delivered), each conflict is counted and raises tcp_overlap_conflict */
	static const char line[] = "PASS secret\r\n";
	static const struct {
		uint32_t off, len;
		const char *bytes;
	} piece[3] = {{0, 7, "PASS se"}, {4, 9, " secret\r\n"}, {5, 6, "XXXXXX"}};
	static const int order[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					{1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	for (int o = 0; o < 6; o++) {
		static struct evlog l;
		uint64_t ts = 1700000000000000ull;
		struct conn c;
		uint8_t b[256];
		char want[32], got[64];
		int seen[13] = {0};
		ftpi_engine *e = new_engine(&l, show_passwords);
		conn_init(&c, 0, 40011, 21, 100, 900);
		handshake(e, &ts, &c);
		send_data(e, &ts, &c, 1, "220 hi\r\n");
		send_data(e, &ts, &c, 0, "USER bob\r\n");
		send_data(e, &ts, &c, 1, "331 p\r\n");
		memcpy(want, line, sizeof line);
		for (int k = 0; k < 3; k++) {
			int i = order[o][k];
			for (uint32_t j = 0; j < piece[i].len; j++)
				if (!seen[piece[i].off + j]++)
					want[piece[i].off + j] = piece[i].bytes[j];
			size_t n = mk_ip(b, &c, 0, c.cseq + piece[i].off, c.sseq, TH_ACK,
					 piece[i].bytes, piece[i].len);
			feed_raw(e, ts += 10, b, n);
		}
		want[11] = '\0';
		c.cseq += 13;
		send_data(e, &ts, &c, 1, "230 ok\r\n");
		struct ftpi_stats st;
		ftpi_engine_stats(e, &st, sizeof st);
		ftpi_engine_flush(e);
		ftpi_engine_free(e);
		snprintf(got, sizeof got, "cmd PASS [%s]\n", want + 5);
		if (strstr(l.text, got) == NULL)
			fprintf(stderr, "order %d %d %d: want %s in\n%s", order[o][0], order[o][1],
				order[o][2], got, l.text);
		ASSERT_TRUE(strstr(l.text, got) != NULL);
		ASSERT_GE(st.reasm_overlaps, 2);
		ASSERT_GE(st.reasm_overlap_conflicts, 1);
		ASSERT_GE(l.findings[FTPI_FINDING_TCP_OVERLAP_CONFLICT], 1);
		ASSERT_TRUE(strstr(l.text, "finding tcp_overlap_conflict") != NULL);
	}
}

/* Sends a copy of the client's line k (of lines of LINE_LEN bytes from seq base) again, with
 * byte 5 changed when differ; returns the engine's overlap conflicts so far. */
#define OLD_LINE_LEN 20
static uint64_t resend_line(ftpi_engine *e, uint64_t *ts, const struct conn *c, uint32_t base,
			    int k, int differ, int lines)
{
	char line[2 * OLD_LINE_LEN + 1];
	uint8_t b[256];
	struct ftpi_stats st;
	for (int i = 0; i < lines; i++)
		snprintf(line + i * OLD_LINE_LEN, OLD_LINE_LEN + 1, "CWD /pub/dir-%05d\r\n", k + i);
	if (differ)
		line[5] = 'X';
	size_t n = mk_ip(b, c, 0, base + (uint32_t)k * OLD_LINE_LEN, c->sseq, TH_ACK | TH_PSH, line,
			 (size_t)lines * OLD_LINE_LEN);
	feed_raw(e, *ts += 10, b, n);
	ftpi_engine_stats(e, &st, sizeof st);
	return st.reasm_overlap_conflicts;
}

/* Sends again the client's lines k and k+1 from byte `from` of line k on, with byte `at` of that
 * copy changed (at < 0: identical); returns the engine's overlap conflicts so far. */
static uint64_t resend_part(ftpi_engine *e, uint64_t *ts, const struct conn *c, uint32_t base,
			    int k, int from, int at)
{
	char two[2 * OLD_LINE_LEN + 1];
	uint8_t b[256];
	struct ftpi_stats st;
	snprintf(two, sizeof two, "CWD /pub/dir-%05d\r\nCWD /pub/dir-%05d\r\n", k, k + 1);
	if (at >= 0)
		two[from + at] = 'X';
	size_t n = mk_ip(b, c, 0, base + (uint32_t)(k * OLD_LINE_LEN + from), c->sseq,
			 TH_ACK | TH_PSH, two + from, (size_t)(2 * OLD_LINE_LEN - from));
	feed_raw(e, *ts += 10, b, n);
	ftpi_engine_stats(e, &st, sizeof st);
	return st.reasm_overlap_conflicts;
}

static void test_overlap_old_ranges(void)
{
	/* Copies of control-channel segments far older than the 1 KiB kept: one that covers a
	 * recorded range whole is compared by hash (within 64 KiB and 1024 ranges), a difference
	 * raises tcp_overlap_conflict; an identical copy, or one older than the 1024 ranges, does
	 * not */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	char line[OLD_LINE_LEN + 1];
	ftpi_engine *e = new_engine(&l, NULL);
	conn_init(&c, 0, 40012, 21, 100, 900);
	handshake(e, &ts, &c);
	send_data(e, &ts, &c, 1, "220 hi\r\n");
	uint32_t base = c.cseq;
	for (int k = 0; k < 1200; k++) {
		snprintf(line, sizeof line, "CWD /pub/dir-%05d\r\n", k);
		send_data(e, &ts, &c, 0, line);
		send_data(e, &ts, &c, 1, "250 ok\r\n");
	}
	ASSERT_EQ(resend_line(e, &ts, &c, base, 1100, 0, 1), 0); /* identical, 2 KiB back */
	ASSERT_EQ(resend_line(e, &ts, &c, base, 300, 0, 1), 0);  /* identical, 18 KiB back */
	ASSERT_EQ(resend_line(e, &ts, &c, base, 300, 1, 1), 1);  /* different: by its hash */
	ASSERT_EQ(resend_line(e, &ts, &c, base, 500, 1, 2), 2);  /* over two ranges */
	ASSERT_EQ(resend_line(e, &ts, &c, base, 100, 1, 1), 2);  /* past the 1024 ranges */
	/* from inside a range to the end of the next: only the one covered whole is compared */
	ASSERT_EQ(resend_part(e, &ts, &c, base, 400, 10, 2), 2);  /* the first range's tail */
	ASSERT_EQ(resend_part(e, &ts, &c, base, 400, 10, -1), 2); /* identical */
	ASSERT_EQ(resend_part(e, &ts, &c, base, 400, 10, 15), 3); /* in the one covered whole */
	ASSERT_EQ(resend_part(e, &ts, &c, base, 1022, 1, 30), 4); /* its last whole range */
	ASSERT_EQ(resend_line(e, &ts, &c, base, 1190, 1, 1), 5); /* in the 1 KiB kept */
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(l.findings[FTPI_FINDING_TCP_OVERLAP_CONFLICT], 5);
}

static void test_overlap_history_grows(void)
{
	/* The bytes kept start at 256 and double to 1 KiB as a direction's bytes come: before and
	 * after each growth, a copy of the oldest line still kept is compared byte for byte (an
	 * identical one is no conflict, a different one is), so the kept bytes moved along */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull, conflicts = 0;
	struct conn c;
	char line[OLD_LINE_LEN + 1];
	ftpi_engine *e = new_engine(&l, NULL);
	conn_init(&c, 0, 40014, 21, 100, 900);
	handshake(e, &ts, &c);
	send_data(e, &ts, &c, 1, "220 hi\r\n");
	uint32_t base = c.cseq;
	for (int k = 0; k < 60; k++) {
		snprintf(line, sizeof line, "CWD /pub/dir-%05d\r\n", k);
		send_data(e, &ts, &c, 0, line);
		send_data(e, &ts, &c, 1, "250 ok\r\n");
		int total = (k + 1) * OLD_LINE_LEN;
		if (k != 5 && k != 12 && k != 13 && k != 25 && k != 26 && k != 52 && k != 59)
			continue; /* 120 B; 260, 280 (256 -> 512); 520, 540 (-> 1 KiB); full */
		int j = total > 1024 ? (total - 1024 + OLD_LINE_LEN - 1) / OLD_LINE_LEN : 0;
		ASSERT_EQ(resend_line(e, &ts, &c, base, j, 0, 1), conflicts);
		ASSERT_EQ(resend_line(e, &ts, &c, base, j, 1, 1), ++conflicts);
		ASSERT_EQ(resend_line(e, &ts, &c, base, k, 0, 1), conflicts); /* the newest */
	}
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
}

static void test_overlap_ranges_across_gap(void)
{
	/* Ranges still in the 1 KiB kept when a gap ends the history: after the gap a copy of
	 * them is compared by hash (a range is hashed when its bytes leave the history), and a
	 * copy of the bytes still kept is compared byte for byte */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	uint8_t b[256];
	char line[OLD_LINE_LEN + 1];
	ftpi_engine *e = new_engine(&l, NULL);
	conn_init(&c, 0, 40013, 21, 100, 900);
	handshake(e, &ts, &c);
	send_data(e, &ts, &c, 1, "220 hi\r\n");
	uint32_t base = c.cseq;
	for (int k = 0; k < 10; k++) { /* 200 bytes: all still in the history */
		snprintf(line, sizeof line, "CWD /pub/dir-%05d\r\n", k);
		send_data(e, &ts, &c, 0, line);
		send_data(e, &ts, &c, 1, "250 ok\r\n");
	}
	ASSERT_EQ(resend_line(e, &ts, &c, base, 3, 1, 1), 1); /* in the history: byte for byte */
	c.cseq += 40; /* two lines never captured */
	send_data(e, &ts, &c, 0, "CWD /pub/dir-00012\r\n"); /* buffered out of order */
	size_t n = mk_ip(b, &c, 1, c.sseq, c.cseq, TH_ACK, NULL, 0);
	feed_raw(e, ts += 10, b, n); /* acked: a gap of 40 bytes */
	struct ftpi_stats st;
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_EQ(st.reasm_gaps, 1);
	ASSERT_EQ(resend_line(e, &ts, &c, base, 5, 0, 1), 1); /* identical, before the gap */
	ASSERT_EQ(resend_line(e, &ts, &c, base, 5, 1, 1), 2); /* different: by its hash */
	ASSERT_EQ(resend_line(e, &ts, &c, base, 8, 1, 2), 3); /* over two ranges */
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(l.findings[FTPI_FINDING_TCP_OVERLAP_CONFLICT], 3);
}

static void test_sequence_wraparound(void)
{
	/* ISNs just below 2^32: the byte stream crosses the wrap without loss */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	ftpi_engine *e = new_engine(&l, NULL);
	conn_init(&c, 0, 40002, 21, 0xfffffff0u, 0xfffffffau);
	handshake(e, &ts, &c);
	send_data(e, &ts, &c, 1, "220 wrap test server\r\n");
	send_data(e, &ts, &c, 0, "USER wrapper\r\n");
	send_data(e, &ts, &c, 1, "331 p\r\n");
	send_data(e, &ts, &c, 0, "PASS x\r\n");
	send_data(e, &ts, &c, 1, "230 ok\r\n");
	close_both(e, &ts, &c);
	struct ftpi_stats st;
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_EQ(st.reasm_gaps, 0);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_STR_EQ(l.last_user, "wrapper");
	ASSERT_EQ(l.last_login, FTPI_LOGIN_SUCCESS);
}

static void test_sniff_held_grows(void)
{
	/* On a port that is not FTP's, a long multi-line greeting comes in pieces and is held
	 * (the buffer grows from 256 bytes as they come) until the client's first command
	 * decides: the session then reads every byte held, in order */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	static const char *const greet[] = {
		"220-------------- Welcome to the example file server --------------\r\n",
		"220-You are user number 1 of 50 allowed. Local time is 12:00.\r\n220-This is a "
		"private system: disconnect now unless you are allowed in.\r\n",
		"220-Uploads go to /incoming only; files there are scanned overnight.\r\n220-"
		"Questions to the administrator, please.\r\n220 Ready.\r\n",
	};
	char want[1024];
	size_t wl = 0;
	ftpi_engine *e = new_engine(&l, NULL);
	conn_init(&c, 0, 40015, 2222, 100, 900);
	handshake(e, &ts, &c);
	for (size_t i = 0; i < 3; i++) {
		send_data(e, &ts, &c, 1, greet[i]);
		wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s", greet[i]);
	}
	ASSERT_GT(wl, 256);
	send_data(e, &ts, &c, 0, "USER bob\r\n");
	send_data(e, &ts, &c, 1, "331 p\r\n");
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(l.sessions, 1);
	ASSERT_STR_EQ(l.last_user, "bob");
	/* the reply event carries the greeting's lines, their text joined by \n (escaped \x0a) */
	ASSERT_TRUE(strstr(l.text, "reply 220 [------------- Welcome to the example file server") !=
		    NULL);
	ASSERT_TRUE(strstr(l.text, "Questions to the administrator, please.\\x0aReady.]") != NULL);
	ASSERT_TRUE(strstr(l.text, "overnight.\\x0aQuestions") != NULL);
}

static void test_midstream_pickup(void)
{
	/* no handshake: the flow is picked up at the first packet, the session is incomplete */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	ftpi_engine *e = new_engine(&l, NULL);
	conn_init(&c, 0, 40003, 21, 7777, 8888);
	send_data(e, &ts, &c, 0, "USER late\r\n");
	send_data(e, &ts, &c, 1, "331 p\r\n");
	send_data(e, &ts, &c, 0, "PASS x\r\n");
	send_data(e, &ts, &c, 1, "530 no\r\n");
	struct ftpi_stats st;
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_EQ(st.flows_midstream, 1);
	/* the crafted packets carry no checksum: counted, and nothing is dropped for it */
	ASSERT_GE(st.bad_checksum, 4);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(l.sessions, 1);
	ASSERT_EQ(l.last_incomplete, 1);
	ASSERT_EQ(l.last_login, FTPI_LOGIN_FAILED);
	ASSERT_EQ(l.findings[FTPI_FINDING_FAILED_LOGIN], 1);
}

static void test_gap_resync(void)
{
	/* a lost client segment, acknowledged by the server: a gap, then parsing goes on */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	uint8_t b[256];
	ftpi_engine *e = new_engine(&l, NULL);
	conn_init(&c, 0, 40004, 21, 1, 1);
	handshake(e, &ts, &c);
	send_data(e, &ts, &c, 1, "220 hi\r\n");
	c.cseq += 12; /* "USER alice\r\n" never captured */
	send_data(e, &ts, &c, 0, "PASS pw\r\n"); /* buffered out of order */
	size_t n = mk_ip(b, &c, 1, c.sseq, c.cseq, TH_ACK, NULL, 0);
	feed_raw(e, ts += 10, b, n); /* the server acked everything: the hole is lost */
	send_data(e, &ts, &c, 1, "331 p\r\n230 ok\r\n");
	send_data(e, &ts, &c, 0, "SYST\r\n");
	struct ftpi_stats st;
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_EQ(st.reasm_gaps, 1);
	ASSERT_EQ(st.reasm_gap_bytes, 12);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_TRUE(strstr(l.text, "cmd PASS") != NULL);
	ASSERT_TRUE(strstr(l.text, "cmd SYST") != NULL);
	ASSERT_EQ(l.last_incomplete, 1);
}

static void test_truncated_packets(void)
{
	/* a snap length of 60 bytes: headers decode, payloads are cut, counted, never read past */
	static struct evlog l;
	pkt_snap = 60;
	login_session(0, w_eth, &l);
	pkt_snap = 0;
	ASSERT_EQ(l.findings[FTPI_FINDING_PLAINTEXT_AUTH], 0);

	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.use_ndpi = 0;
	ftpi_engine *e = ftpi_engine_new(&cfg, NULL);
	ASSERT_TRUE(e != NULL);
	uint8_t frame[20] = {0};
	for (uint32_t cap = 0; cap < sizeof frame; cap++) {
		struct ftpi_packet pk = {1, 1, cap, 1500, frame};
		ASSERT_EQ(ftpi_engine_feed(e, &pk), FTPI_OK);
	}
	struct ftpi_stats st;
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_GE(st.truncated, 14);
	struct ftpi_packet bad = {1, 9999, 0, 0, frame};
	ASSERT_EQ(ftpi_engine_feed(e, &bad), FTPI_E_LINKTYPE);
	ftpi_engine_free(e);
}

static void tiny_flows(struct ftpi_config *c)
{
	c->max_flows = 64;
}

static void test_flow_flood(void)
{
	/* 20000 SYNs to distinct ports under max_flows=64: memory stays flat, evictions counted */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	uint8_t b[128];
	ftpi_engine *e = new_engine(&l, tiny_flows);
	ASSERT_TRUE(e != NULL);
	uint64_t hw_after_warmup = 0;
	for (uint32_t i = 0; i < 20000; i++) {
		conn_init(&c, 0, (uint16_t)(1024 + i % 60000), (uint16_t)(i % 7 + 20), i, 0);
		c.cli[2] = (uint8_t)(i >> 8);
		size_t n = mk_ip(b, &c, 0, i, 0, TH_SYN, NULL, 0);
		feed_raw(e, ts += 10, b, n);
		if (i == 1000) {
			struct ftpi_stats st;
			ftpi_engine_stats(e, &st, sizeof st);
			hw_after_warmup = st.mem_high_water;
		}
	}
	struct ftpi_stats st;
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_LE(st.flows_active, 64);
	ASSERT_GE(st.flows_evicted, 20000 - 64);
	ASSERT_EQ(st.mem_high_water, hw_after_warmup);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
}

static void tiny_reasm(struct ftpi_config *c)
{
	c->reasm_mem = 8192;
	c->reasm_flow_bytes = 4096;
	c->max_ooo_segments = 8;
}

static void test_ooo_burst_caps(void)
{
	/* 500 out-of-order segments under tiny caps: held bytes never pass the cap, drops counted,
	 * and the stream keeps moving */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	uint8_t b[2048];
	char payload[1000];
	memset(payload, 'A', sizeof payload);
	ftpi_engine *e = new_engine(&l, tiny_reasm);
	conn_init(&c, 0, 40005, 21, 1, 1);
	handshake(e, &ts, &c);
	send_data(e, &ts, &c, 1, "220 hi\r\n");
	for (int i = 0; i < 500; i++) {
		size_t n = mk_ip(b, &c, 0, c.cseq + 1000 + (uint32_t)(i * 1000), c.sseq, TH_ACK,
				 payload, sizeof payload);
		feed_raw(e, ts += 10, b, n);
		struct ftpi_stats st;
		ftpi_engine_stats(e, &st, sizeof st);
		ASSERT_LE(st.reasm_bytes_held, 8192);
	}
	struct ftpi_stats st;
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_GT(st.reasm_flow_cap_drops + st.reasm_memcap_drops, 0);
	ASSERT_LE(st.reasm_bytes_high_water, 8192);
	ASSERT_GT(st.reasm_gaps, 0);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
}

struct failing_alloc {
	int countdown; /* fail when it reaches 0 */
	long live;
};

static void *fa_alloc(void *opaque, size_t size)
{
	struct failing_alloc *f = opaque;
	if (f->countdown-- == 0)
		return NULL;
	f->live++;
	return malloc(size);
}

static void fa_free(void *opaque, void *p, size_t size)
{
	struct failing_alloc *f = opaque;
	(void)size;
	f->live--;
	free(p);
}

static void test_allocation_failures(void)
{
	/* the N-th allocation fails, for every N: a clean FTPI_E_NOMEM or counted drops, and
	 * every successful allocation is freed */
	for (int k = 0; k < 60; k++) {
		static struct evlog l;
		struct failing_alloc fa = {k, 0};
		struct ftpi_config cfg;
		int st = 0;
		ftpi_config_init(&cfg);
		cfg.use_ndpi = 0;
		cfg.allocator.alloc = fa_alloc;
		cfg.allocator.free = fa_free;
		cfg.allocator.opaque = &fa;
		cfg.on_event = evlog_cb;
		cfg.user = &l;
		ftpi_engine *e = ftpi_engine_new(&cfg, &st);
		if (e == NULL) {
			ASSERT_EQ(st, FTPI_E_NOMEM);
			ASSERT_EQ(fa.live, 0);
			continue;
		}
		uint64_t ts = 1700000000000000ull;
		struct conn c;
		conn_init(&c, 0, 40006, 21, 1, 1);
		handshake(e, &ts, &c);
		send_data(e, &ts, &c, 1, "220 hi\r\n");
		send_data(e, &ts, &c, 0, "USER a\r\n");
		send_data(e, &ts, &c, 1, "331 p\r\n");
		send_data(e, &ts, &c, 0, "PASS b\r\nPASV\r\n");
		send_data(e, &ts, &c, 1, "230 ok\r\n227 (10,0,0,2,4,1)\r\n");
		close_both(e, &ts, &c);
		ftpi_engine_flush(e);
		ftpi_engine_free(e);
		ASSERT_EQ(fa.live, 0);
	}
}

static void test_config_validation(void)
{
	/* a bad field is named; a struct of another size is an ABI error */
	struct ftpi_config cfg;
	char field[64];
	int st;
	ftpi_config_init(&cfg);
	ASSERT_EQ(ftpi_config_validate(&cfg, field, sizeof field), FTPI_OK);
	cfg.max_line_len = 3;
	ASSERT_EQ(ftpi_config_validate(&cfg, field, sizeof field), FTPI_E_INVAL);
	ASSERT_STR_EQ(field, "max_line_len");
	ASSERT_TRUE(ftpi_engine_new(&cfg, &st) == NULL);
	ASSERT_EQ(st, FTPI_E_INVAL);
	ftpi_config_init(&cfg);
	cfg.size = 12;
	ASSERT_TRUE(ftpi_engine_new(&cfg, &st) == NULL);
	ASSERT_EQ(st, FTPI_E_ABI);
	ftpi_engine_free(NULL);
	ASSERT_EQ(ftpi_version(), FTPI_VERSION_NUM);
	ASSERT_STR_EQ(ftpi_finding_name(FTPI_FINDING_PLAINTEXT_AUTH), "plaintext_auth");
	ASSERT_EQ(ftpi_finding_from_name("bounce"), FTPI_FINDING_BOUNCE);
	ASSERT_STR_EQ(ftpi_strerror(FTPI_E_NOMEM), "out of memory");
	/* the fields added at the end are validated too; a trust store must hold a certificate */
	ftpi_config_init(&cfg);
	cfg.max_pending_commands = 0;
	ASSERT_EQ(ftpi_config_validate(&cfg, field, sizeof field), FTPI_E_INVAL);
	ASSERT_STR_EQ(field, "max_pending_commands");
	ftpi_config_init(&cfg);
	cfg.timeout_frag = 0;
	ASSERT_EQ(ftpi_config_validate(&cfg, field, sizeof field), FTPI_E_INVAL);
	ASSERT_STR_EQ(field, "timeout_frag");
	ftpi_config_init(&cfg);
	cfg.ca_file = "/nonexistent/ca.pem";
	ASSERT_EQ(ftpi_config_validate(&cfg, field, sizeof field), FTPI_E_INVAL);
	ASSERT_STR_EQ(field, "ca_file");
	ftpi_config_init(&cfg);
	cfg.ca_dir = "/nonexistent";
	ASSERT_EQ(ftpi_config_validate(&cfg, field, sizeof field), FTPI_E_INVAL);
	ASSERT_STR_EQ(field, "ca_dir");
}

static void frag_caps(struct ftpi_config *c)
{
	c->max_frag_datagrams = 4;
	c->frag_mem = 4096;
	c->timeout_frag = 1000000;
}

/* An IPv4 fragment of datagram id with MF set: n bytes of data at byte offset off. */
static size_t mk_frag(uint8_t *b, uint16_t id, uint32_t off, size_t n, int more)
{
	memset(b, 0, 20 + n);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)(20 + n));
	put16(b + 4, id);
	put16(b + 6, (uint16_t)((off / 8) | (more ? 0x2000 : 0)));
	b[8] = 64;
	b[9] = 6;
	b[12] = b[16] = 10;
	b[15] = 1;
	b[19] = 2;
	memset(b + 20, 'f', n);
	return 20 + n;
}

static void test_frag_caps_and_timeouts(void)
{
	/* a flood of first fragments never completed: held bytes stay under frag_mem and the count
	 * under max_frag_datagrams (the oldest dropped, counted); what is left is dropped at
	 * timeout_frag of capture time; a fragment too late for its datagram completes nothing */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	uint8_t b[600];
	ftpi_engine *e = new_engine(&l, frag_caps);
	struct ftpi_stats st;
	for (uint16_t id = 1; id <= 100; id++) {
		feed_raw(e, ts += 1000, b, mk_frag(b, id, 0, 512, 1));
		ftpi_engine_stats(e, &st, sizeof st);
		ASSERT_TRUE(st.ip_frag_bytes_held <= 4096);
	}
	ASSERT_EQ(st.ip_frag_fragments, 100);
	ASSERT_GE(st.ip_frag_cap_drops, 96);
	ASSERT_EQ(st.ip_frag_reassembled, 0);
	feed_raw(e, ts += 2000000, b, mk_frag(b, 99, 512, 64, 0)); /* after the timeout */
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_GE(st.ip_frag_incomplete, 1);
	ASSERT_EQ(st.ip_frag_reassembled, 0);
	ftpi_engine_flush(e);
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_EQ(st.ip_frag_bytes_held, 0);
	ftpi_engine_free(e);
	/* in time, the same two fragments make one datagram; a third over them with other bytes
	 * is a counted overlap conflict, the first bytes kept */
	e = new_engine(&l, frag_caps);
	feed_raw(e, ts += 1000, b, mk_frag(b, 7, 0, 512, 1));
	size_t n = mk_frag(b, 7, 256, 64, 1);
	b[20] = 'X';
	feed_raw(e, ts += 1000, b, n);
	feed_raw(e, ts += 1000, b, mk_frag(b, 7, 512, 64, 0));
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_EQ(st.ip_frag_reassembled, 1);
	ASSERT_EQ(st.ip_frag_overlaps, 1);
	ASSERT_EQ(st.ip_frag_overlap_conflicts, 1);
	ASSERT_EQ(st.ip_frag_tiny, 0);
	ftpi_engine_free(e);
}

static void test_escape(void)
{
	/* hostile bytes are escaped, never cut in half, never passed raw */
	char out[32];
	ASSERT_EQ(ftpi_escape(out, sizeof out, "a\x1b[31m\\\xff", 8), 17);
	ASSERT_STR_EQ(out, "a\\x1b[31m\\x5c\\xff");
	ASSERT_EQ(ftpi_escape(out, 6, "\x01\x02", 2), 4);
	ASSERT_STR_EQ(out, "\\x01");
}


/* A clear-text login (user a, password b) on a new control connection from client port cport. */
static void plain_login(ftpi_engine *e, uint64_t *ts, struct conn *c, uint16_t cport)
{
	conn_init(c, 0, cport, 21, 1, 1);
	handshake(e, ts, c);
	send_data(e, ts, c, 1, "220 hi\r\n");
	send_data(e, ts, c, 0, "USER a\r\n");
	send_data(e, ts, c, 1, "331 p\r\n");
	send_data(e, ts, c, 0, "PASS b\r\n");
	send_data(e, ts, c, 1, "230 ok\r\n");
}

static void test_data_connections(void)
{
	/* a passive data connection from a second client address is data_ip_mismatch; a
	 * connection between the session's hosts to a port nobody announced is
	 * unexpected_data_connection; an announced one nobody opened is data_connection_missing */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c, d, u;
	ftpi_engine *e = new_engine(&l, NULL);
	plain_login(e, &ts, &c, 40010);
	send_data(e, &ts, &c, 0, "PASV\r\n");
	send_data(e, &ts, &c, 1, "227 Entering Passive Mode (10,0,0,2,195,80).\r\n");
	conn_init(&d, 0, 40011, 50000, 100, 200);
	d.cli[3] = 3; /* 10.0.0.3: not the control client */
	handshake(e, &ts, &d);
	send_data(e, &ts, &c, 0, "LIST\r\n");
	send_data(e, &ts, &c, 1, "150 here\r\n");
	send_data(e, &ts, &d, 1, "-rw-r--r-- 1 a a 1 f\r\n");
	close_both(e, &ts, &d);
	send_data(e, &ts, &c, 1, "226 done\r\n");
	conn_init(&u, 0, 40012, 6000, 300, 400); /* same hosts, port 6000: never announced */
	handshake(e, &ts, &u);
	send_data(e, &ts, &u, 0, "\x01\x02binary");
	close_both(e, &ts, &u);
	send_data(e, &ts, &c, 0, "PASV\r\n");
	send_data(e, &ts, &c, 1, "227 Entering Passive Mode (10,0,0,2,195,81).\r\n");
	send_data(e, &ts, &c, 0, "QUIT\r\n");
	send_data(e, &ts, &c, 1, "221 bye\r\n");
	close_both(e, &ts, &c);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(l.findings[FTPI_FINDING_DATA_IP_MISMATCH], 1);
	ASSERT_EQ(l.findings[FTPI_FINDING_UNEXPECTED_DATA_CONNECTION], 1);
	ASSERT_EQ(l.findings[FTPI_FINDING_DATA_CONNECTION_MISSING], 1);
	ASSERT_EQ(l.count[FTPI_EV_DATA], 2);
	ASSERT_EQ(l.count[FTPI_EV_LOGIN], 1);
}

/* A login and a PASV whose data connection never comes; the control connection stays open. */
static void open_session(ftpi_engine *e)
{
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	plain_login(e, &ts, &c, 40020);
	send_data(e, &ts, &c, 0, "PASV\r\n");
	send_data(e, &ts, &c, 1, "227 Entering Passive Mode (10,0,0,2,195,80).\r\n");
}

static void test_engine_reset(void)
{
	/* a reset engine is a new one: counters as after ftpi_engine_new, what was open dropped
	 * without events, and the same input gives the same events (session ids from 1 again) */
	static struct evlog l;
	static char first[sizeof l.text];
	struct ftpi_stats fresh, st;
	ftpi_engine *e = new_engine(&l, NULL);
	ASSERT_TRUE(e != NULL);
	ASSERT_EQ(ftpi_engine_stats(e, &fresh, sizeof fresh), FTPI_OK);
	open_session(e);
	ftpi_engine_flush(e);
	memcpy(first, l.text, sizeof first);
	ASSERT_EQ(l.findings[FTPI_FINDING_DATA_CONNECTION_MISSING], 1);
	for (int round = 0; round < 2; round++) {
		open_session(e); /* left open: the reset drops it */
		int events = l.count[FTPI_EV_SESSION_END];
		ASSERT_EQ(ftpi_engine_reset(e), FTPI_OK);
		ASSERT_EQ(l.count[FTPI_EV_SESSION_END], events);
		ASSERT_EQ(ftpi_engine_stats(e, &st, sizeof st), FTPI_OK);
		ASSERT_EQ(memcmp(&st, &fresh, sizeof st), 0);
		memset(&l, 0, sizeof l);
		open_session(e);
		ftpi_engine_flush(e);
		ASSERT_STR_EQ(l.text, first);
	}
	ASSERT_EQ(ftpi_engine_reset(NULL), FTPI_E_INVAL);
	ftpi_engine_free(e);
}

static void two_sessions(struct ftpi_config *c)
{
	c->max_sessions = 2;
}

static void test_idle_sessions_evicted(void)
{
	/* a flood of control connections that go quiet does not keep a later session out: at
	 * max_sessions the one idle the longest ends (reported) and the new one is admitted */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn q[3], c;
	struct ftpi_stats st;
	ftpi_engine *e = new_engine(&l, two_sessions);
	for (int i = 0; i < 3; i++) {
		conn_init(&q[i], 0, (uint16_t)(41000 + i), 21, 1, 1);
		handshake(e, &ts, &q[i]);
		send_data(e, &ts, &q[i], 1, "220 hi\r\n");
		send_data(e, &ts, &q[i], 0, "USER al"); /* half a line, then nothing */
	}
	plain_login(e, &ts, &c, 41010);
	close_both(e, &ts, &c);
	ASSERT_STR_EQ(l.last_user, "a");
	ASSERT_EQ(l.last_login, FTPI_LOGIN_SUCCESS);
	ftpi_engine_flush(e);
	ASSERT_EQ(ftpi_engine_stats(e, &st, sizeof st), FTPI_OK);
	ASSERT_EQ(st.sessions_evicted, 2);
	ASSERT_EQ(st.sessions_memcap, 0);
	ASSERT_EQ(st.sessions_created, 4);
	ASSERT_EQ(l.count[FTPI_EV_SESSION_END], 4); /* every one reported */
	ftpi_engine_free(e);
}

static void test_gap_keeps_bytes_after_it(void)
{
	/* a hole the receiver acknowledged is given up only up to the bytes that were captured:
	 * a segment between the hole and a buffered later one is still delivered */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull;
	struct conn c;
	uint8_t b[256];
	size_t n;
	ftpi_engine *e = new_engine(&l, NULL);
	conn_init(&c, 0, 40020, 21, 1000, 1);
	handshake(e, &ts, &c);
	send_data(e, &ts, &c, 1, "220 hi\r\n");
	uint32_t base = c.cseq; /* "USER bob\r\n" (10 bytes) at base is never captured */
	n = mk_ip(b, &c, 0, base + 19, c.sseq, TH_ACK, "SYST\r\n", 6);
	feed_raw(e, ts += 10, b, n); /* buffered: out of order */
	n = mk_ip(b, &c, 1, c.sseq, base + 15, TH_ACK, NULL, 0);
	feed_raw(e, ts += 10, b, n); /* the server acknowledged past the hole, into PASS */
	n = mk_ip(b, &c, 0, base + 10, c.sseq, TH_ACK, "PASS pw\r\n", 9);
	feed_raw(e, ts += 10, b, n);
	c.cseq = base + 25;
	send_data(e, &ts, &c, 1, "230 ok\r\n215 UNIX\r\n");
	struct ftpi_stats st;
	ftpi_engine_stats(e, &st, sizeof st);
	ASSERT_EQ(st.reasm_gap_bytes, 10);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_TRUE(strstr(l.text, "cmd PASS") != NULL);
	ASSERT_TRUE(strstr(l.text, "cmd SYST") != NULL);
}


/* Feeds one direction of a stream, failing the test on an error. */
static void stream_put(ftpi_engine *e, uint64_t id, int dir, uint64_t *ts, const void *p, size_t n)
{
	*ts += 1000;
	ASSERT_EQ(ftpi_stream_data(e, id, dir, *ts, p, n), FTPI_OK);
}

static void stream_text(ftpi_engine *e, uint64_t id, int dir, uint64_t *ts, const char *text)
{
	stream_put(e, id, dir, ts, text, strlen(text));
}

/* A TLS 1.2 handshake as far as the engine reads it: ClientHello, ServerHello (AES-128-CBC),
 * the server's ChangeCipherSpec, then an application data record whose bytes look like a
 * clear-text PASS command. */
static void tls_handshake(ftpi_engine *e, uint64_t id, uint64_t *ts)
{
	uint8_t ch[52] = {0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03};
	uint8_t *q = ch + 11 + 32; /* after the random */
	memcpy(q, "\x00\x00\x02\x13\x01\x01\x00\x00\x00", 9);
	stream_put(e, id, 0, ts, ch, sizeof ch);
	uint8_t sh[49 + 6] = {0x16, 0x03, 0x03, 0x00, 0x2c, 0x02, 0x00, 0x00, 0x28, 0x03, 0x03};
	q = sh + 11 + 32;
	memcpy(q, "\x00\x00\x2f\x00\x00\x00", 6);
	memcpy(sh + 49, "\x14\x03\x03\x00\x01\x01", 6);
	stream_put(e, id, 1, ts, sh, sizeof sh);
	static const char rec[] = "\x17\x03\x03\x00\x10PASS hunter22\r\n\x01";
	stream_put(e, id, 0, ts, rec, sizeof rec - 1);
}

static void test_reauth_after_ccc(void)
{
	/* AUTH TLS -> 234 -> TLS -> clear text again (CCC) -> AUTH TLS -> 234 -> TLS: the second
	 * handshake is read as TLS (a TLS event), nothing inside its records is parsed as FTP */
	static struct evlog l;
	uint64_t ts = 1700000000000000ull, id = 0;
	struct ftpi_endpoint cli = {{4, {10, 0, 0, 1}}, 40000}, srv = {{4, {10, 0, 0, 2}}, 21};
	ftpi_engine *e = new_engine(&l, NULL);
	ASSERT_EQ(ftpi_stream_open(e, &cli, &srv, ts, &id), FTPI_OK);
	stream_text(e, id, 1, &ts, "220 hi\r\n");
	stream_text(e, id, 0, &ts, "AUTH TLS\r\n");
	stream_text(e, id, 1, &ts, "234 go\r\n");
	tls_handshake(e, id, &ts);
	stream_text(e, id, 0, &ts, "PWD\r\n"); /* clear text again: CCC happened inside TLS */
	stream_text(e, id, 1, &ts, "257 \"/\"\r\n");
	stream_text(e, id, 0, &ts, "AUTH TLS\r\n");
	stream_text(e, id, 1, &ts, "234 again\r\n");
	tls_handshake(e, id, &ts);
	ASSERT_EQ(ftpi_stream_close(e, id, ts + 1000), FTPI_OK);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(l.count[FTPI_EV_TLS], 2);
	ASSERT_EQ(l.count[FTPI_EV_ANOMALY], 0);
	ASSERT_EQ(l.findings[FTPI_FINDING_CCC_DOWNGRADE], 1);
	ASSERT_EQ(l.findings[FTPI_FINDING_PLAINTEXT_AUTH], 0);
	ASSERT_TRUE(strstr(l.text, "cmd PASS") == NULL);
	ASSERT_TRUE(strstr(l.text, "cmd PWD") != NULL);
	ASSERT_EQ(l.count[FTPI_EV_COMMAND], 3);
}


/* Events of the stream tests: data links and finding messages, with stream ids and frames. */
struct slog {
	int data, linked, missing, unexpected, findings_with_stream;
	uint64_t data_stream, data_frame_max;
	char missing_msg[4][200];
};

static int slog_cb(void *user, const struct ftpi_event *ev)
{
	struct slog *l = user;
	if (ev->type == FTPI_EV_DATA) {
		l->data++;
		l->linked += ev->u.data.link == FTPI_LINK_ANNOUNCED && ev->session_id != 0;
		l->data_stream = ev->stream_id;
		if (ev->u.data.announce_frame > l->data_frame_max)
			l->data_frame_max = ev->u.data.announce_frame;
	} else if (ev->type == FTPI_EV_FINDING) {
		l->findings_with_stream += ev->stream_id != 0;
		if (ev->u.finding.kind == FTPI_FINDING_DATA_CONNECTION_MISSING && l->missing < 4)
			snprintf(l->missing_msg[l->missing++], sizeof l->missing_msg[0], "%.*s",
				 (int)ev->u.finding.message.len, ev->u.finding.message.ptr);
		l->unexpected += ev->u.finding.kind == FTPI_FINDING_UNEXPECTED_DATA_CONNECTION;
	}
	return 0;
}

static ftpi_engine *stream_engine(struct slog *l)
{
	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.use_ndpi = 0;
	cfg.on_event = slog_cb;
	cfg.user = l;
	memset(l, 0, sizeof *l);
	return ftpi_engine_new(&cfg, NULL);
}

static void test_stream_late_announcement(void)
{
	/* an engine that delivers bytes when they are acknowledged: the data connection opens and
	 * carries its listing before the 227 reaches the library; it is still the session's */
	static struct slog l;
	uint64_t ts = 1700000000000000ull, c = 0, d = 0;
	struct ftpi_endpoint cli = {{4, {10, 0, 0, 1}}, 40000}, srv = {{4, {10, 0, 0, 2}}, 21};
	struct ftpi_endpoint dcli = {{4, {10, 0, 0, 1}}, 40001}, dsrv = {{4, {10, 0, 0, 2}}, 50000};
	ftpi_engine *e = stream_engine(&l);
	ftpi_stream_set_ref(e, 7);
	ASSERT_EQ(ftpi_stream_open(e, &cli, &srv, ts, &c), FTPI_OK);
	stream_text(e, c, 1, &ts, "220 hi\r\n");
	stream_text(e, c, 0, &ts, "USER a\r\nPASS b\r\nPASV\r\n");
	stream_text(e, c, 1, &ts, "331 p\r\n230 ok\r\n");
	ASSERT_EQ(ftpi_stream_open(e, &dcli, &dsrv, ts, &d), FTPI_OK);
	ASSERT_EQ(ftpi_stream_role(e, d), FTPI_STREAM_HELD);
	stream_text(e, d, 1, &ts, "-rw-r--r-- 1 a a 1 f\r\n");
	ASSERT_EQ(ftpi_stream_close(e, d, ts), FTPI_OK);
	ftpi_stream_set_ref(e, 9);
	stream_text(e, c, 1, &ts, "227 Entering Passive Mode (10,0,0,2,195,80).\r\n");
	ASSERT_EQ(ftpi_stream_role(e, c), FTPI_STREAM_CONTROL);
	stream_text(e, c, 0, &ts, "LIST\r\nQUIT\r\n");
	stream_text(e, c, 1, &ts, "150 here\r\n226 done\r\n221 bye\r\n");
	ASSERT_EQ(ftpi_stream_close(e, c, ts + 1000), FTPI_OK);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(l.data, 1);
	ASSERT_EQ(l.linked, 1);
	ASSERT_EQ(l.missing, 0);
	ASSERT_EQ(l.unexpected, 0);
	ASSERT_EQ(l.data_stream, d);
	ASSERT_EQ(l.data_frame_max, 9); /* the host's reference of the 227 */
	ASSERT_GT(l.findings_with_stream, 0);
}

static void test_stream_attempts(void)
{
	/* an empty transfer is a data connection; a refused and an unanswered attempt say so */
	static struct slog l;
	uint64_t ts = 1700000000000000ull, c = 0, d = 0;
	struct ftpi_endpoint cli = {{4, {10, 0, 0, 1}}, 40000}, srv = {{4, {10, 0, 0, 2}}, 21};
	struct ftpi_endpoint dcli = {{4, {10, 0, 0, 1}}, 40001}, dsrv = {{4, {10, 0, 0, 2}}, 50000};
	ftpi_engine *e = stream_engine(&l);
	ASSERT_EQ(ftpi_stream_open(e, &cli, &srv, ts, &c), FTPI_OK);
	stream_text(e, c, 1, &ts, "220 hi\r\n");
	stream_text(e, c, 0, &ts, "USER a\r\nPASS b\r\nPASV\r\n");
	stream_text(e, c, 1, &ts, "331 p\r\n230 ok\r\n227 Entering Passive Mode (10,0,0,2,195,80).\r\n");
	ASSERT_EQ(ftpi_stream_attempt(e, &dcli, &dsrv, ts, &d), FTPI_OK);
	ASSERT_EQ(ftpi_stream_established(e, d, ts + 10), FTPI_OK);
	stream_text(e, c, 0, &ts, "NLST\r\n");
	stream_text(e, c, 1, &ts, "150 here\r\n226 done\r\n");
	ASSERT_EQ(ftpi_stream_close(e, d, ts + 20), FTPI_OK); /* no byte: an empty listing */
	stream_text(e, c, 0, &ts, "PASV\r\n");
	stream_text(e, c, 1, &ts, "227 Entering Passive Mode (10,0,0,2,195,81).\r\n");
	dcli.port = 40002;
	dsrv.port = 50001;
	ASSERT_EQ(ftpi_stream_attempt(e, &dcli, &dsrv, ts, &d), FTPI_OK);
	ASSERT_EQ(ftpi_stream_refused(e, d, ts + 30), FTPI_OK);
	stream_text(e, c, 0, &ts, "PASV\r\n");
	stream_text(e, c, 1, &ts, "227 Entering Passive Mode (10,0,0,2,195,82).\r\n");
	dcli.port = 40003;
	dsrv.port = 50002;
	ASSERT_EQ(ftpi_stream_attempt(e, &dcli, &dsrv, ts, &d), FTPI_OK);
	ASSERT_EQ(ftpi_stream_unanswered(e, d, ts + 40), FTPI_OK);
	ASSERT_EQ(ftpi_stream_close(e, c, ts + 1000), FTPI_OK);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(l.data, 1);
	ASSERT_EQ(l.linked, 1);
	ASSERT_EQ(l.missing, 2);
	ASSERT_TRUE(strstr(l.missing_msg[0], "refused (RST)") != NULL);
	ASSERT_TRUE(strstr(l.missing_msg[1], "SYN without answer") != NULL);
}

/* Flow ends and data events of the counting test, by stream id. */
struct clog {
	uint64_t id[16], pk[16][2], by[16][2];
	int n, data;
	uint64_t data_bytes;
};

static int clog_cb(void *user, const struct ftpi_event *ev)
{
	struct clog *l = user;
	if (ev->type == FTPI_EV_FLOW_END && l->n < 16) {
		l->id[l->n] = ev->stream_id;
		l->pk[l->n][0] = ev->u.flow.packets_to_server;
		l->pk[l->n][1] = ev->u.flow.packets_to_client;
		l->by[l->n][0] = ev->u.flow.bytes_to_server;
		l->by[l->n][1] = ev->u.flow.bytes_to_client;
		l->n++;
	} else if (ev->type == FTPI_EV_DATA) {
		l->data++;
		l->data_bytes = ev->u.data.bytes_to_server + ev->u.data.bytes_to_client;
	}
	return 0;
}

static int clog_find(const struct clog *l, uint64_t id)
{
	for (int i = 0; i < l->n; i++)
		if (l->id[i] == id)
			return i;
	return -1;
}

/* An engine without nDPI that logs flow ends and data events (max_flows 0: the default). */
static ftpi_engine *clog_engine(struct clog *l, uint32_t max_flows)
{
	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.use_ndpi = 0;
	cfg.on_event = clog_cb;
	cfg.user = l;
	cfg.event_mask |= FTPI_EVMASK_FLOWS;
	if (max_flows)
		cfg.max_flows = max_flows;
	memset(l, 0, sizeof *l);
	return ftpi_engine_new(&cfg, NULL);
}

static void test_stream_counts_only(void)
{
	/* calls that only count (a stream that is not FTP, a data connection past its first
	 * bytes) are counted in the stream's handle: flow ends (close, flush) and data
	 * events still give every packet and byte, also across the once-a-second LRU moves */
	static struct clog l;
	static const uint8_t http[64] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
	static uint8_t blob[1000];
	uint64_t ts = 1700000000000000ull, c = 0, d = 0, o[6] = {0};
	struct ftpi_endpoint cli = {{4, {10, 0, 0, 1}}, 40000}, srv = {{4, {10, 0, 0, 2}}, 21};
	struct ftpi_endpoint dcli = {{4, {10, 0, 0, 1}}, 40001}, dsrv = {{4, {10, 0, 0, 2}}, 50000};
	struct ftpi_endpoint ocli = {{4, {10, 0, 0, 9}}, 41000}, osrv = {{4, {10, 0, 0, 8}}, 8080};
	memset(blob, 'x', sizeof blob);
	ftpi_engine *e = clog_engine(&l, 0);
	ASSERT_TRUE(e != NULL);
	/* a data connection: 120 chunks of 1000 bytes over 6 s of capture time */
	ASSERT_EQ(ftpi_stream_open(e, &cli, &srv, ts, &c), FTPI_OK);
	stream_text(e, c, 1, &ts, "220 hi\r\n");
	stream_text(e, c, 0, &ts, "USER a\r\nPASS b\r\nPASV\r\n");
	stream_text(e, c, 1, &ts, "331 p\r\n230 ok\r\n227 Entering Passive Mode (10,0,0,2,195,80).\r\n");
	ASSERT_EQ(ftpi_stream_open(e, &dcli, &dsrv, ts, &d), FTPI_OK);
	stream_text(e, c, 0, &ts, "RETR f\r\n");
	stream_text(e, c, 1, &ts, "150 here\r\n");
	for (int i = 0; i < 120; i++) {
		ts += 50000;
		ASSERT_EQ(ftpi_stream_data(e, d, FTPI_DIR_TO_CLIENT, ts, blob, sizeof blob), FTPI_OK);
	}
	ASSERT_EQ(ftpi_stream_data(e, d, FTPI_DIR_TO_SERVER, ts, NULL, 0), FTPI_OK);
	ASSERT_EQ(ftpi_stream_role(e, d), FTPI_STREAM_DATA);
	ASSERT_EQ(ftpi_stream_close(e, d, ts), FTPI_OK);
	stream_text(e, c, 1, &ts, "226 done\r\n");
	ASSERT_EQ(l.data, 1);
	ASSERT_EQ(l.data_bytes, 120000);
	int k = clog_find(&l, d);
	ASSERT_TRUE(k >= 0);
	ASSERT_EQ(l.pk[k][1], 120);
	ASSERT_EQ(l.pk[k][0], 1);
	ASSERT_EQ(l.by[k][1], 120000);
	/* streams that are not FTP, ended at flush with what they counted, some across LRU moves */
	ASSERT_EQ(ftpi_stream_open(e, &ocli, &osrv, ts, &o[0]), FTPI_OK);
	for (int i = 0; i < 30; i++)
		ASSERT_EQ(ftpi_stream_data(e, o[0], i & 1, ts, http, sizeof http), FTPI_OK);
	ASSERT_EQ(ftpi_stream_role(e, o[0]), FTPI_STREAM_OTHER);
	for (int i = 1; i < 6; i++) {
		ts += 700000;
		ocli.port++;
		ASSERT_EQ(ftpi_stream_open(e, &ocli, &osrv, ts, &o[i]), FTPI_OK);
		for (int j = 0; j < 7; j++)
			ASSERT_EQ(ftpi_stream_data(e, o[i], 0, ts + j * 300000, http, 10), FTPI_OK);
	}
	ASSERT_EQ(ftpi_stream_close(e, o[5], ts + 3000000), FTPI_OK);
	ftpi_engine_flush(e);
	k = clog_find(&l, o[0]);
	ASSERT_TRUE(k >= 0);
	ASSERT_EQ(l.pk[k][0], 15);
	ASSERT_EQ(l.pk[k][1], 15);
	ASSERT_EQ(l.by[k][0], 15 * sizeof http);
	ASSERT_EQ(l.by[k][1], 15 * sizeof http);
	for (int i = 1; i < 6; i++) {
		k = clog_find(&l, o[i]);
		ASSERT_TRUE(k >= 0);
		ASSERT_EQ(l.pk[k][0], 7);
		ASSERT_EQ(l.by[k][0], 70);
	}
	/* more packets (70,000) and bytes (4.55 GB) than the handle's narrow counts hold: they are
	 * folded into the flow before they overflow */
	static uint8_t big[65000];
	uint64_t b = 0;
	ocli.port++;
	ts += 4000000;
	ASSERT_EQ(ftpi_stream_open(e, &ocli, &osrv, ts, &b), FTPI_OK);
	ASSERT_EQ(ftpi_stream_data(e, b, 0, ts, http, sizeof http), FTPI_OK);
	ASSERT_EQ(ftpi_stream_role(e, b), FTPI_STREAM_OTHER);
	for (int i = 0; i < 70000; i++)
		ASSERT_EQ(ftpi_stream_data(e, b, 1, ts, big, sizeof big), FTPI_OK);
	ASSERT_EQ(ftpi_stream_close(e, b, ts), FTPI_OK);
	k = clog_find(&l, b);
	ASSERT_TRUE(k >= 0);
	ASSERT_EQ(l.pk[k][0], 1);
	ASSERT_EQ(l.by[k][0], sizeof http);
	ASSERT_EQ(l.pk[k][1], 70000);
	ASSERT_EQ(l.by[k][1], 70000ull * sizeof big);
	ftpi_engine_free(e);
}

static void test_stream_handle_overflow(void)
{
	/* streams that live while the ids go round the handle table (cap 1024 with max_flows 16)
	 * share a window of slots, then the overflow list: every one is still found and counted */
	static struct clog l;
	static const uint8_t http[64] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
	uint64_t ts = 1700000000000000ull, keep[6] = {0}, tmp = 0;
	struct ftpi_endpoint cli = {{4, {10, 0, 0, 9}}, 1000}, srv = {{4, {10, 0, 0, 8}}, 8080};
	ftpi_engine *e = clog_engine(&l, 16);
	ASSERT_TRUE(e != NULL);
	for (int i = 0; i < 6; i++) {
		cli.port++;
		ASSERT_EQ(ftpi_stream_open(e, &cli, &srv, ts, &keep[i]), FTPI_OK);
		if (i > 0)
			ASSERT_EQ(keep[i] - keep[0], (uint64_t)i * 1024); /* the same home slot */
		for (int j = 0; j < 1023; j++) { /* ids go round */
			cli.port++;
			ASSERT_EQ(ftpi_stream_open(e, &cli, &srv, ts, &tmp), FTPI_OK);
			ASSERT_EQ(ftpi_stream_close(e, tmp, ts), FTPI_OK);
		}
	}
	l.n = 0;
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 6; i++)
			ASSERT_EQ(ftpi_stream_data(e, keep[i], 0, ts, http, (size_t)(10 + i)), FTPI_OK);
	ASSERT_EQ(ftpi_stream_close(e, keep[4], ts), FTPI_OK); /* the first in the overflow list */
	ASSERT_EQ(ftpi_stream_data(e, keep[4], 0, ts, http, 1), FTPI_E_NOTFOUND);
	ASSERT_EQ(ftpi_stream_data(e, keep[5], 0, ts, http, 15), FTPI_OK);
	ftpi_engine_flush(e);
	for (int i = 0; i < 6; i++) {
		int k = clog_find(&l, keep[i]);
		ASSERT_TRUE(k >= 0);
		ASSERT_EQ(l.pk[k][0], (uint64_t)(i == 5 ? 4 : 3));
		ASSERT_EQ(l.by[k][0], (uint64_t)((10 + i) * (i == 5 ? 4 : 3)));
	}
	ftpi_engine_free(e);
}

#ifdef FTPI_WITH_NDPI
struct nlog {
	char evidence[512];
	int flows;
	uint64_t high_water; /* the engine's mem_high_water */
};

static int nlog_cb(void *user, const struct ftpi_event *ev)
{
	struct nlog *l = user;
	if (ev->type == FTPI_EV_FINDING && ev->u.finding.kind == FTPI_FINDING_PLAINTEXT_AUTH) {
		size_t n = ev->u.finding.evidence.len < sizeof l->evidence - 1
				   ? ev->u.finding.evidence.len
				   : sizeof l->evidence - 1;
		memcpy(l->evidence, ev->u.finding.evidence.ptr, n);
		l->evidence[n] = '\0';
	} else if (ev->type == FTPI_EV_FLOW_END) {
		l->flows++;
	}
	return 0;
}

/* An HTTP connection on 8080, then (with ftp) a clear-text FTP session on 2100 (a port that is
 * not FTP's), with nDPI; flow events on or off. */
static void ndpi_two_flows(int flows, int ftp, struct nlog *l)
{
	struct ftpi_config cfg;
	struct ftpi_stats st;
	uint64_t ts = 1700000000000000ull;
	struct conn h, c;
	ftpi_config_init(&cfg);
	cfg.on_event = nlog_cb;
	cfg.user = l;
	if (!flows)
		cfg.event_mask &= ~(uint32_t)FTPI_EVMASK_FLOWS;
	memset(l, 0, sizeof *l);
	ftpi_engine *e = ftpi_engine_new(&cfg, NULL);
	ASSERT_TRUE(e != NULL);
	conn_init(&h, 0, 40100, 8080, 1, 1);
	handshake(e, &ts, &h);
	send_data(e, &ts, &h, 0, "GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n");
	send_data(e, &ts, &h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	close_both(e, &ts, &h);
	conn_init(&c, 0, 40101, 2100, 100, 200);
	if (!ftp)
		goto out;
	ftp_login(e, &ts, &c);
	close_both(e, &ts, &c);
out:
	ASSERT_EQ(ftpi_engine_flush(e), FTPI_OK);
	ASSERT_EQ(ftpi_engine_stats(e, &st, sizeof st), FTPI_OK);
	ASSERT_EQ(st.sessions_created, (uint64_t)ftp);
	ftpi_engine_free(e);
	l->high_water = st.mem_high_water;
}

static void test_ndpi_only_where_it_shows(void)
{
	/* with flow events off, nDPI's answer about the HTTP connection reaches no output: its
	 * first bytes (the client's, the server still silent) are sniffed before nDPI would see
	 * them, and nDPI never does. The FTP session on a port that is not FTP's is fed as
	 * before: the same findings with the same evidence, nDPI's risks included. */
	static struct nlog on, off;
	ndpi_two_flows(1, 0, &on);
	ndpi_two_flows(0, 0, &off);
	ASSERT_EQ(on.flows, 1);
	ASSERT_EQ(off.flows, 0);
	/* nDPI's flow state (hundreds of bytes) was never made */
	ASSERT_GE(on.high_water, off.high_water + 600);
	ndpi_two_flows(1, 1, &on);
	ndpi_two_flows(0, 1, &off);
	ASSERT_EQ(on.flows, 2);
	ASSERT_TRUE(strstr(on.evidence, "nDPI risk") != NULL);
	ASSERT_STR_EQ(off.evidence, on.evidence);
}
#endif

static const struct ftpi_test tests[] = {
#ifdef FTPI_WITH_NDPI
	{"ndpi_only_where_it_shows", test_ndpi_only_where_it_shows},
#endif
	{"stream_late_announcement", test_stream_late_announcement},
	{"stream_attempts", test_stream_attempts},
	{"stream_counts_only", test_stream_counts_only},
	{"stream_handle_overflow", test_stream_handle_overflow},
	{"reauth_after_ccc", test_reauth_after_ccc},
	{"gap_keeps_bytes_after_it", test_gap_keeps_bytes_after_it},
	{"data_connections", test_data_connections},
	{"engine_reset", test_engine_reset},
	{"idle_sessions_evicted", test_idle_sessions_evicted},
	{"link_types", test_link_types},
	{"ipv6_extension_headers", test_ipv6_extension_headers},
	{"out_of_order_and_overlap", test_out_of_order_and_overlap},
	{"overlap_orders_first_wins", test_overlap_orders_first_wins},
	{"overlap_old_ranges", test_overlap_old_ranges},
	{"overlap_history_grows", test_overlap_history_grows},
	{"overlap_ranges_across_gap", test_overlap_ranges_across_gap},
	{"sequence_wraparound", test_sequence_wraparound},
	{"sniff_held_grows", test_sniff_held_grows},
	{"midstream_pickup", test_midstream_pickup},
	{"gap_resync", test_gap_resync},
	{"truncated_packets", test_truncated_packets},
	{"flow_flood", test_flow_flood},
	{"ooo_burst_caps", test_ooo_burst_caps},
	{"allocation_failures", test_allocation_failures},
	{"config_validation", test_config_validation},
	{"frag_caps_and_timeouts", test_frag_caps_and_timeouts},
	{"escape", test_escape},
};

FTPI_TEST_MAIN(tests)
