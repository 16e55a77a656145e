/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_ftp.c - the FTP layers: address parsers over the reply and command forms servers and
 * clients really send (and hostile ones), reply and command splitting, the line framer (IAC,
 * bare LF, overlong lines), and whole control conversations replayed through the stream entry
 * point whole, split at every byte boundary, and one byte at a time: the three event logs must
 * be equal.
 */
#include "ftp.h"
#include "harness.h"
#include "pkt.h"

static void test_parse_227(void)
{
	/* 227 with and without parentheses, text before the numbers, spaces after commas */
	static const char *ok[] = {
		"Entering Passive Mode (10,0,2,2,195,80).",
		"Entering Passive Mode 10,0,2,2,195,80",
		"=10,0,2,2,195,80",
		"Passive (10, 0, 2, 2, 195, 80)",
		"Entering Passive Mode (10,0,2,2,195,80",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct ftpi_endpoint ep;
		ASSERT_EQ(ftpi__parse_227(ok[i], strlen(ok[i]), &ep), 1);
		ASSERT_EQ(ep.addr.family, 4);
		ASSERT_EQ(ep.addr.ip[0], 10);
		ASSERT_EQ(ep.addr.ip[3], 2);
		ASSERT_EQ(ep.port, 195 * 256 + 80);
	}
	static const char *bad[] = {"Entering Passive Mode", "(10,0,2,2,195)", "(256,0,0,1,1,1)",
				    "(1,2,3,4,5,999)", "(,,,,,)", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ftpi_endpoint ep;
		ASSERT_EQ(ftpi__parse_227(bad[i], strlen(bad[i]), &ep), 0);
	}
}

static void test_parse_229_eprt_lprt(void)
{
	/* 229 with any delimiter; EPRT |1| and |2|; LPRT and 228 */
	struct ftpi_endpoint ep;
	const char *t = "Entering Extended Passive Mode (|||50001|)";
	ASSERT_EQ(ftpi__parse_229(t, strlen(t), &ep), 1);
	ASSERT_EQ(ep.port, 50001);
	ASSERT_EQ(ep.addr.family, 0);
	t = "Extended (!!!6446!)";
	ASSERT_EQ(ftpi__parse_229(t, strlen(t), &ep), 1);
	ASSERT_EQ(ep.port, 6446);
	t = "(|||70000|)";
	ASSERT_EQ(ftpi__parse_229(t, strlen(t), &ep), 0);
	t = "(|||123!)";
	ASSERT_EQ(ftpi__parse_229(t, strlen(t), &ep), 0);
	t = "|1|10.0.1.2|40001|";
	ASSERT_EQ(ftpi__parse_eprt(t, strlen(t), &ep), 1);
	ASSERT_EQ(ep.addr.family, 4);
	ASSERT_EQ(ep.port, 40001);
	t = "|2|fd00::1|5282|";
	ASSERT_EQ(ftpi__parse_eprt(t, strlen(t), &ep), 1);
	ASSERT_EQ(ep.addr.family, 6);
	ASSERT_EQ(ep.addr.ip[0], 0xfd);
	ASSERT_EQ(ep.addr.ip[15], 1);
	t = "|3|1.2.3.4|5|";
	ASSERT_EQ(ftpi__parse_eprt(t, strlen(t), &ep), 0);
	t = "|1|fd00::1|5|";
	ASSERT_EQ(ftpi__parse_eprt(t, strlen(t), &ep), 0);
	t = "|1|1.2.3.4|99999|";
	ASSERT_EQ(ftpi__parse_eprt(t, strlen(t), &ep), 0);
	t = "4,4,10,0,0,7,2,4,1";
	ASSERT_EQ(ftpi__parse_lprt(t, strlen(t), &ep), 1);
	ASSERT_EQ(ep.port, 1025);
	ASSERT_EQ(ep.addr.ip[3], 7);
	t = "Entering Long Passive Mode (4,4,10,0,0,8,2,4,2)";
	ASSERT_EQ(ftpi__parse_228(t, strlen(t), &ep), 1);
	ASSERT_EQ(ep.port, 1026);
	t = "10,0,0,1,4,1";
	ASSERT_EQ(ftpi__parse_port(t, strlen(t), &ep), 1);
	ASSERT_EQ(ep.port, 1025);
	t = "114,115";
	ASSERT_EQ(ftpi__parse_port(t, strlen(t), &ep), 0);
}

static void test_reply_and_command_split(void)
{
	/* reply codes, continuation marks, verbs and hostile lines */
	unsigned code;
	int cont;
	struct ftpi_span text, verb, arg;
	ASSERT_EQ(ftpi__reply_parse("220 hello", 9, &code, &cont, &text), 1);
	ASSERT_EQ(code, 220);
	ASSERT_EQ(cont, 0);
	ASSERT_SPAN_EQ(text, "hello");
	ASSERT_EQ(ftpi__reply_parse("230-welcome", 11, &code, &cont, &text), 1);
	ASSERT_EQ(cont, 1);
	ASSERT_EQ(ftpi__reply_parse("230", 3, &code, &cont, &text), 1);
	ASSERT_EQ(ftpi__reply_parse("230_no_space", 12, &code, &cont, &text), 0);
	ASSERT_EQ(ftpi__reply_parse("99 PASV invalid", 15, &code, &cont, &text), 0);
	ASSERT_EQ(ftpi__reply_parse("SYST not supported", 18, &code, &cont, &text), 0);
	ASSERT_EQ(ftpi__cmd_split("RETR my file.txt", 16, &verb, &arg), 1);
	ASSERT_SPAN_EQ(verb, "RETR");
	ASSERT_SPAN_EQ(arg, "my file.txt");
	ASSERT_EQ(ftpi__cmd_split("PASV", 4, &verb, &arg), 1);
	ASSERT_EQ(arg.len, 0);
	ASSERT_EQ(ftpi__cmd_split("\x01\x02 x", 4, &verb, &arg), 0);
	ASSERT_EQ(ftpi__cmd_split("TOOLONGVERB x", 13, &verb, &arg), 0);
	ASSERT_EQ(ftpi__verb_lookup("user", 4), FTPI_CMD_USER);
	ASSERT_EQ(ftpi__verb_lookup("EpSv", 4), FTPI_CMD_EPSV);
	ASSERT_EQ(ftpi__verb_lookup("USERX", 5), FTPI_CMD_UNKNOWN);
	/* every verb in upper and lower case; no longer or shorter name is taken for it */
	for (int v = 1; v < FTPI_CMD__COUNT; v++) {
		char up[8], lo[8];
		const char *name = ftpi__verb_name(v);
		size_t n = strlen(name);
		ASSERT_TRUE(n >= 3 && n <= 5);
		for (size_t k = 0; k <= n; k++) {
			up[k] = name[k];
			lo[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
		}
		ASSERT_EQ(ftpi__verb_lookup(up, n), v);
		ASSERT_EQ(ftpi__verb_lookup(lo, n), v);
		ASSERT_TRUE(ftpi__verb_lookup(up, n - 1) != v);
		up[n] = 'Q';
		ASSERT_TRUE(ftpi__verb_lookup(up, n + 1) != v);
	}
	ASSERT_EQ(ftpi__verb_lookup("\0SER", 4), FTPI_CMD_UNKNOWN);
}

/* A control conversation: chunks alternate, server first; bit i of gaps: 6 bytes of chunk i's
 * direction are lost just before it. */
struct convo {
	const char *name;
	const char *const *chunks;
	size_t n;
	unsigned gaps;
};

static const char *const c_login[] = {
	"220-Welcome\r\n220-second line\r\n220 ready\r\n",
	"USER alice\r\n",
	"331 Please specify the password.\r\n",
	"pass s3cret\r\n",
	"230 Login successful.\r\n",
	"PASV\r\nRETR a \xff\xff\x1b name\r\n", /* pipelined; IAC IAC is a data 0xff */
	"227 Entering Passive Mode (10,0,0,2,195,80).\r\n150 Opening\r\n226 Done\r\n",
	("\xff\xf4\xff\xf2" "ABOR\n"), /* Telnet IP/DM before ABOR, bare LF */
	"226 ABOR ok\n",
	"EPRT |2|fd00::9|4000|\r\nEPSV\r\n",
	"200 EPRT ok\r\n229 Entering Extended Passive Mode (|||50001|)\r\n",
	"PORT 10,0,0,9,1,2\r\n",
	"200 PORT ok\r\n",
	"AUTH TLS\r\n",
	"530 Please login with USER and PASS.\r\n",
	"QUIT\r\n",
	"221 Goodbye.\r\n",
};

static const char *const c_hostile[] = {
	"220 x\r\n",
	"USER \x01\x02\x7f\r\nNOTAVERB\r\n\r\n",
	"331 p\r\n500 what\r\n",
	"RETR AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nSYST\r\n",
	"garbage line\r\n999 bad\r\n215 UNIX\r\n",
	("\xff\xfa\x18\x01\xff\xf0" "NOOP\r\n"),
	"200 ok\r\n",
};

static const char *const c_gap[] = {
	"220 hi\r\n",
	"USER alice\r\n",
	"331 p\r\n",
	"PASS s3cret\r\n", /* after a lost command */
	"230 ok\r\n",
	"SYST\r\n",
	"215 UNIX\r\n", /* after lost reply bytes */
	"ST x\r\nNOOP\r\n", /* the rest of a line: dropped up to its LF */
	"200 ok\r\n",
};

static void cap_line(struct ftpi_config *c)
{
	c->max_line_len = 128;
}

/* Replays a conversation with each chunk split into pieces of at most `piece` bytes (0 = whole),
 * or split once at `cut` within each chunk (cut > 0). Returns the event log. */
static void replay(const struct convo *cv, size_t piece, size_t cut, struct evlog *l)
{
	ftpi_engine *e = new_engine(l, cap_line);
	struct ftpi_endpoint c = {{4, {10, 0, 0, 1}}, 40000}, s = {{4, {10, 0, 0, 2}}, 21};
	uint64_t id, ts = 1700000000000000ull;
	if (ftpi_stream_open(e, &c, &s, ts, &id) != FTPI_OK)
		return;
	for (size_t i = 0; i < cv->n; i++) {
		const uint8_t *p = (const uint8_t *)cv->chunks[i];
		size_t n = strlen(cv->chunks[i]);
		int dir = (i % 2 == 0) ? FTPI_DIR_TO_CLIENT : FTPI_DIR_TO_SERVER;
		if (cv->gaps & (1u << i))
			ftpi_stream_gap_at(e, id, dir, ts++, 6);
		if (cut > 0 && cut < n) {
			ftpi_stream_data(e, id, dir, ts++, p, cut);
			ftpi_stream_data(e, id, dir, ts++, p + cut, n - cut);
		} else if (piece) {
			for (size_t k = 0; k < n; k += piece)
				ftpi_stream_data(e, id, dir, ts++, p + k, n - k < piece ? n - k : piece);
		} else {
			ftpi_stream_data(e, id, dir, ts++, p, n);
		}
	}
	ftpi_stream_close(e, id, ts);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
}

static int check_splits(const struct convo *cv)
{
	static struct evlog whole, other;
	replay(cv, 0, 0, &whole);
	replay(cv, 1, 0, &other);
	if (strcmp(whole.text, other.text) != 0) {
		fprintf(stderr, "%s: byte-by-byte differs:\n--whole--\n%s--bytes--\n%s", cv->name,
			whole.text, other.text);
		return 0;
	}
	size_t maxlen = 0;
	for (size_t i = 0; i < cv->n; i++)
		if (strlen(cv->chunks[i]) > maxlen)
			maxlen = strlen(cv->chunks[i]);
	for (size_t cut = 1; cut < maxlen; cut++) {
		replay(cv, 0, cut, &other);
		if (strcmp(whole.text, other.text) != 0) {
			fprintf(stderr, "%s: split at %zu differs:\n--whole--\n%s--split--\n%s",
				cv->name, cut, whole.text, other.text);
			return 0;
		}
	}
	return 1;
}

static void test_every_split_login(void)
{
	/* a long conversation: whole, byte-by-byte and split at every offset give one log */
	struct convo cv = {"login", c_login, sizeof c_login / sizeof c_login[0], 0};
	static struct evlog l;
	ASSERT_TRUE(check_splits(&cv));
	replay(&cv, 0, 0, &l);
	ASSERT_TRUE(strstr(l.text, "cmd PASS [***]") != NULL);
	ASSERT_TRUE(strstr(l.text, "s3cret") == NULL);
	ASSERT_TRUE(strstr(l.text, "cmd RETR [a \\xff\\x1b name]") != NULL);
	ASSERT_TRUE(strstr(l.text, "cmd ABOR") != NULL);
	ASSERT_TRUE(strstr(l.text, "reply 220 [Welcome\\x0asecond line\\x0aready]") != NULL);
	ASSERT_TRUE(strstr(l.text, "expect PASV 50000") != NULL);
	ASSERT_TRUE(strstr(l.text, "expect EPSV 50001") != NULL);
	ASSERT_EQ(l.findings[FTPI_FINDING_PLAINTEXT_AUTH], 1);
	ASSERT_EQ(l.findings[FTPI_FINDING_ACTIVE_MODE], 1);
	ASSERT_EQ(l.findings[FTPI_FINDING_BOUNCE], 2); /* fd00::9 and 10.0.0.9 are not 10.0.0.1 */
	ASSERT_EQ(l.findings[FTPI_FINDING_AUTH_TLS_REFUSED], 1);
	ASSERT_EQ(l.findings[FTPI_FINDING_CLEARTEXT_DATA], 1);
	ASSERT_STR_EQ(l.last_user, "alice");
}

static void test_every_split_hostile(void)
{
	/* control bytes, an overlong line, garbage and Telnet subnegotiation */
	struct convo cv = {"hostile", c_hostile, sizeof c_hostile / sizeof c_hostile[0], 0};
	static struct evlog l;
	ASSERT_TRUE(check_splits(&cv));
	replay(&cv, 0, 0, &l);
	ASSERT_TRUE(strstr(l.text, "cmd USER [\\x01\\x02\\x7f]") != NULL);
	ASSERT_TRUE(strstr(l.text, "cmd SYST") != NULL);
	ASSERT_TRUE(strstr(l.text, "cmd NOOP") != NULL);
	ASSERT_TRUE(strstr(l.text, "reply 215 [UNIX]") != NULL);
	ASSERT_GE(l.findings[FTPI_FINDING_PROTOCOL_ANOMALY], 2);
}

static void test_every_split_after_gap(void)
{
	/* the bytes right after a gap start a line however they are split: the same log whole,
	 * byte by byte and split at every offset (a PASS after a lost command arriving byte by byte
	 * was lost) */
	struct convo cv = {"gap", c_gap, sizeof c_gap / sizeof c_gap[0],
			   (1u << 3) | (1u << 6) | (1u << 7)};
	static struct evlog l;
	ASSERT_TRUE(check_splits(&cv));
	replay(&cv, 1, 0, &l);
	ASSERT_TRUE(strstr(l.text, "cmd PASS [***]") != NULL);
	ASSERT_TRUE(strstr(l.text, "reply 215 [UNIX]") != NULL);
	ASSERT_TRUE(strstr(l.text, "cmd NOOP") != NULL);
	ASSERT_TRUE(strstr(l.text, "cmd ST") == NULL);
	ASSERT_EQ(l.findings[FTPI_FINDING_PLAINTEXT_AUTH], 1);
}

static void test_tls_upgrade_and_ccc(void)
{
	/* AUTH TLS 234: records are skipped; clear text after TLS records is a CCC downgrade */
	static const struct {
		int dir;
		const char *p;
		size_t n;
	} ch[] = {
		{1, "220 x\r\n", 7},
		{0, "AUTH TLS\r\n", 10},
		{1, "234 Proceed\r\n", 13},
		{0, "\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9},
		{1, "\x16\x03\x03\x00\x04\x02\x00\x00\x00", 9},
		{0, "\x17\x03\x03\x00\x02zzPASV\r\n", 13},
		{1, "227 Entering Passive Mode (10,0,0,2,4,1)\r\n", 42},
	};
	static struct evlog l;
	ftpi_engine *e = new_engine(&l, NULL);
	struct ftpi_endpoint c = {{4, {10, 0, 0, 1}}, 40000}, s = {{4, {10, 0, 0, 2}}, 21};
	uint64_t id, ts = 1700000000000000ull;
	ASSERT_EQ(ftpi_stream_open(e, &c, &s, ts, &id), FTPI_OK);
	for (size_t i = 0; i < sizeof ch / sizeof ch[0]; i++)
		ftpi_stream_data(e, id, ch[i].dir, ts++, (const uint8_t *)ch[i].p, ch[i].n);
	ftpi_stream_close(e, id, ts);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	if (l.findings[FTPI_FINDING_CCC_DOWNGRADE] != 1)
		fprintf(stderr, "%s", l.text);
	ASSERT_EQ(l.findings[FTPI_FINDING_ENCRYPTED_CONTROL], 1);
	ASSERT_EQ(l.findings[FTPI_FINDING_CCC_DOWNGRADE], 1);
	ASSERT_TRUE(strstr(l.text, "cmd PASV") != NULL);
	ASSERT_TRUE(strstr(l.text, "expect PASV 1025") != NULL);
}

/* One control session from client c to 10.0.0.2:21 at ts: a login refused (530). */
static void failed_login(ftpi_engine *e, const struct ftpi_endpoint *c, uint64_t ts)
{
	struct ftpi_endpoint s = {{4, {10, 0, 0, 2}}, 21};
	uint64_t id;
	ASSERT_EQ(ftpi_stream_open(e, c, &s, ts, &id), FTPI_OK);
	ftpi_stream_data(e, id, 1, ts, (const uint8_t *)"220 x\r\n", 7);
	ftpi_stream_data(e, id, 0, ts, (const uint8_t *)"USER root\r\n", 11);
	ftpi_stream_data(e, id, 1, ts, (const uint8_t *)"331 p\r\n", 7);
	ftpi_stream_data(e, id, 0, ts, (const uint8_t *)"PASS guess\r\n", 12);
	ftpi_stream_data(e, id, 1, ts, (const uint8_t *)"530 Login incorrect.\r\n", 22);
	ftpi_stream_close(e, id, ts);
}

static void test_failed_logins_brute_force(void)
{
	/* five failed logins from one client within the window: one brute_force */
	static struct evlog l;
	ftpi_engine *e = new_engine(&l, NULL);
	uint64_t ts = 1700000000000000ull;
	for (int i = 0; i < 7; i++) {
		struct ftpi_endpoint c = {{4, {10, 0, 0, 1}}, (uint16_t)(40000 + i)};
		failed_login(e, &c, ts);
		ts += 1000000;
	}
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(l.findings[FTPI_FINDING_FAILED_LOGIN], 7);
	ASSERT_EQ(l.findings[FTPI_FINDING_BRUTE_FORCE], 1);
	ASSERT_EQ(l.findings[FTPI_FINDING_PLAINTEXT_AUTH], 7);
	ASSERT_EQ(l.sessions, 7);
}

/* brute_force raised for which client, in order (the failed logins' table against a model) */
struct bf_log {
	uint32_t n;
	uint32_t who[4096];
};

static int bf_cb(void *user, const struct ftpi_event *ev)
{
	struct bf_log *b = user;
	if (ev->type == FTPI_EV_FINDING && ev->u.finding.kind == FTPI_FINDING_BRUTE_FORCE &&
	    b->n < sizeof b->who / sizeof b->who[0])
		b->who[b->n++] = (uint32_t)ev->client.addr.ip[1] << 16 |
				 (uint32_t)ev->client.addr.ip[2] << 8 | ev->client.addr.ip[3];
	return 0;
}

static void test_brute_force_many_clients(void)
{
	/* Failed logins from 4,500 addresses, more than the 4,096 the table holds: which client
	 * raises brute_force, and when, is what a walk over the table gives (the model below:
	 * find the address, else a free entry, else the entry with the oldest window, the first
	 * of equals; a window restarts when it is older than brute_force_window) */
	enum { CLIENTS = 4500, FAILS = 40000, CAP = 4096, THRESHOLD = 5 };
	static struct {
		uint32_t who, count;
		uint8_t raised;
		uint64_t start;
	} m[CAP];
	static struct bf_log got;
	static uint32_t want[4096];
	uint32_t n_m = 0, n_want = 0, seed = 777;
	const uint64_t window = 300ull * 1000000;
	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.use_ndpi = 0;
	cfg.on_event = bf_cb;
	cfg.user = &got;
	cfg.max_sessions = 1024;
	ftpi_engine *e = ftpi_engine_new(&cfg, NULL);
	ASSERT_TRUE(e != NULL);
	uint64_t ts = 1700000000000000ull;
	for (int i = 0; i < FAILS; i++) {
		seed = seed * 1103515245u + 12345u;
		/* a few busy clients, many occasional ones */
		uint32_t who = (seed >> 8) % 8 == 0 ? (seed >> 12) % 40 : 40 + (seed >> 12) % CLIENTS;
		/* windows of 300 s restart now and then; some failures come at the same time (the
		 * oldest window is then shared, and the first entry of those goes) */
		ts += (seed >> 4) % 3 == 0 ? 0 : 1000 + (seed >> 6) % 60000;
		uint32_t k;
		for (k = 0; k < n_m && m[k].who != who; k++)
			;
		if (k == n_m) {
			if (n_m < CAP) {
				n_m++;
			} else {
				k = 0;
				for (uint32_t j = 1; j < n_m; j++)
					if (m[j].start < m[k].start)
						k = j;
			}
			m[k].who = who;
			m[k].count = 0;
			m[k].raised = 0;
			m[k].start = ts;
		}
		if (ts - m[k].start > window) {
			m[k].start = ts;
			m[k].count = 0;
			m[k].raised = 0;
		}
		if (++m[k].count >= THRESHOLD && !m[k].raised) {
			m[k].raised = 1;
			if (n_want < sizeof want / sizeof want[0])
				want[n_want++] = who;
		}
		struct ftpi_endpoint c = {{4, {11, (uint8_t)(who >> 16), (uint8_t)(who >> 8),
					       (uint8_t)who}},
					  (uint16_t)(1024 + i % 60000)};
		failed_login(e, &c, ts);
	}
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_GT(n_want, 100);
	ASSERT_EQ(got.n, n_want);
	for (uint32_t i = 0; i < n_want; i++)
		ASSERT_EQ(got.who[i], want[i]);
}

/* the session of each data connection from port 2000 + k (data events come as sessions end) */
struct data_log {
	uint32_t n;
	uint64_t sid[16];
};

static int data_cb(void *user, const struct ftpi_event *ev)
{
	struct data_log *d = user;
	uint16_t k = (uint16_t)(ev->client.port - 2000);
	if (ev->type == FTPI_EV_DATA && k < sizeof d->sid / sizeof d->sid[0]) {
		d->sid[k] = ev->session_id;
		d->n++;
	}
	return 0;
}

static void test_expect_same_port_order(void)
{
	/* Sessions 1-3 announce one PORT at the same time, session 4 later. Connections to it go
	 * to the latest announcement not met yet (4), then, of the three tied in time, the first
	 * created (1, 2, 3); once all are met, to the latest announced (4): the order a walk over
	 * every expectation of the port gives, kept by the walk that stops early */
	static struct data_log got;
	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.use_ndpi = 0;
	cfg.on_event = data_cb;
	cfg.user = &got;
	ftpi_engine *e = ftpi_engine_new(&cfg, NULL);
	ASSERT_TRUE(e != NULL);
	uint64_t ts = 1700000000000000ull, id;
	static const char *const convo[] = {"220 x\r\n", "USER anonymous\r\n", "331 p\r\n",
					    "PASS a@b\r\n", "230 ok\r\n",
					    "PORT 10,0,0,1,200,0\r\n", "200 ok\r\n"};
	struct ftpi_endpoint s = {{4, {10, 0, 0, 2}}, 21};
	for (int i = 0; i < 4; i++) {
		struct ftpi_endpoint c = {{4, {10, 0, 0, 1}}, (uint16_t)(40001 + i)};
		if (i == 3)
			ts += 1000000;
		ASSERT_EQ(ftpi_stream_open(e, &c, &s, ts, &id), FTPI_OK);
		for (size_t k = 0; k < sizeof convo / sizeof convo[0]; k++)
			ftpi_stream_data(e, id, k % 2 == 0, ts, (const uint8_t *)convo[k],
					 strlen(convo[k]));
	}
	static const uint64_t want[] = {4, 1, 2, 3, 4, 4};
	for (int k = 0; k < 6; k++) {
		struct ftpi_endpoint from = {{4, {10, 0, 0, 2}}, (uint16_t)(2000 + k)};
		struct ftpi_endpoint to = {{4, {10, 0, 0, 1}}, 51200};
		ts += 1000;
		ASSERT_EQ(ftpi_stream_open(e, &from, &to, ts, &id), FTPI_OK);
		ftpi_stream_data(e, id, 1, ts, (const uint8_t *)"listing\r\n", 9);
		ftpi_stream_close(e, id, ts);
	}
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	ASSERT_EQ(got.n, 6);
	for (int k = 0; k < 6; k++)
		ASSERT_EQ(got.sid[k], want[k]);
}

/* Commands pipelined ahead of their replies: the ring of pending commands starts small and grows
 * to max_pending_commands (16) keeping the oldest first, so deep pipelines pair every reply
 * (227s by name, the rest in order); past the max the oldest are dropped and counted. */
static void pipeline(int pairs, struct evlog *l, struct ftpi_stats *st)
{
	ftpi_engine *e = new_engine(l, NULL);
	struct ftpi_endpoint c = {{4, {10, 0, 0, 1}}, 40000}, s = {{4, {10, 0, 0, 2}}, 21};
	uint64_t id, ts = 1700000000000000ull;
	char cmds[2048], replies[4096];
	size_t nc = 0, nr = 0;
	/* three commands answered first: the ring's head is not at its start when it grows */
	static const char *const login[] = {"220 hi\r\n", "USER a\r\n", "331 p\r\n",
					    "PASS b\r\n", "230 ok\r\n", "SYST\r\n",
					    "215 UNIX\r\n"};

	if (e == NULL || ftpi_stream_open(e, &c, &s, ts, &id) != FTPI_OK)
		return;
	for (int i = 0; i < 7; i++)
		ftpi_stream_data(e, id, i % 2 == 0 ? FTPI_DIR_TO_CLIENT : FTPI_DIR_TO_SERVER, ts++,
				 (const uint8_t *)login[i], strlen(login[i]));
	for (int k = 0; k < pairs; k++) {
		nc += (size_t)snprintf(cmds + nc, sizeof cmds - nc, "PASV\r\nNOOP\r\n");
		nr += (size_t)snprintf(replies + nr, sizeof replies - nr,
				       "227 Entering Passive Mode (10,0,0,2,195,%d).\r\n200 ok\r\n",
				       10 + k);
	}
	ftpi_stream_data(e, id, FTPI_DIR_TO_SERVER, ts++, (const uint8_t *)cmds, nc);
	ftpi_stream_data(e, id, FTPI_DIR_TO_CLIENT, ts++, (const uint8_t *)replies, nr);
	ftpi_stream_close(e, id, ts);
	ftpi_engine_flush(e);
	ftpi_engine_stats(e, st, sizeof *st);
	ftpi_engine_free(e);
}

static void test_pipelined_commands(void)
{
	static struct evlog l;
	struct ftpi_stats st;
	char want[64];

	/* 1, 2, 3 and 8 pairs: 2, 4, 6 and 16 commands pending, the ring grown 2 -> 4 -> 8 -> 16 */
	for (int pairs = 1; pairs <= 8; pairs = pairs < 3 ? pairs + 1 : 8) {
		pipeline(pairs, &l, &st);
		ASSERT_EQ(l.count[FTPI_EV_EXPECT], pairs);
		ASSERT_EQ(st.ftp_pending_dropped, 0);
		ASSERT_EQ(st.anomalies, 0);
		for (int k = 0; k < pairs; k++) {
			snprintf(want, sizeof want, "expect PASV %d\n", 195 * 256 + 10 + k);
			ASSERT_TRUE(strstr(l.text, want) != NULL);
		}
		if (pairs == 8)
			break;
	}
	/* 10 pairs: 20 commands for a ring of 16; the 4 oldest (two PASV, two NOOP) are dropped.
	 * Every 227 still finds a PASV by name until none is left; the replies of the dropped
	 * commands find none. */
	pipeline(10, &l, &st);
	ASSERT_EQ(st.ftp_pending_dropped, 4);
	ASSERT_TRUE(st.anomalies > 0);
	ASSERT_TRUE(l.count[FTPI_EV_EXPECT] >= 8);
}

static int keep_prot(void *user, const struct ftpi_event *ev)
{
	if (ev->type == FTPI_EV_SESSION_END)
		*(char *)user = ev->u.session.prot;
	return 0;
}

/* The session's PROT level after PROT ARG accepted with 200, after an earlier PROT P (first). */
static char prot_after(const char *arg, size_t arglen, int first)
{
	struct ftpi_config cfg;
	struct ftpi_endpoint c = {{4, {10, 0, 0, 1}}, 40000}, s = {{4, {10, 0, 0, 2}}, 21};
	uint64_t id, ts = 1700000000000000ull;
	char prot = '?', line[32];
	int st;

	ftpi_config_init(&cfg);
	cfg.on_event = keep_prot;
	cfg.user = &prot;
	ftpi_engine *e = ftpi_engine_new(&cfg, &st);
	if (e == NULL || ftpi_stream_open(e, &c, &s, ts, &id) != FTPI_OK)
		return '!';
	ftpi_stream_data(e, id, 1, ts, (const uint8_t *)"220 x\r\n", 7);
	if (first) {
		ftpi_stream_data(e, id, 0, ts, (const uint8_t *)"PROT P\r\n", 8);
		ftpi_stream_data(e, id, 1, ts, (const uint8_t *)"200 ok\r\n", 8);
	}
	memcpy(line, "PROT ", 5);
	memcpy(line + 5, arg, arglen);
	memcpy(line + 5 + arglen, "\r\n", 2);
	ftpi_stream_data(e, id, 0, ts, (const uint8_t *)line, 7 + arglen);
	ftpi_stream_data(e, id, 1, ts, (const uint8_t *)"200 ok\r\n", 8);
	ftpi_stream_close(e, id, ts);
	ftpi_engine_flush(e);
	ftpi_engine_free(e);
	return prot;
}

static void test_prot_levels(void)
{
	/* only C, S, E, P (any case) become the session's PROT level; a control byte or another
	 * letter that a server accepts is not a level and never reaches an output */
	ASSERT_EQ(prot_after("P", 1, 0), 'P');
	ASSERT_EQ(prot_after("c", 1, 0), 'C');
	ASSERT_EQ(prot_after("E", 1, 1), 'E');
	ASSERT_EQ(prot_after("X", 1, 0), 0);
	ASSERT_EQ(prot_after("\x1b", 1, 0), 0);
	ASSERT_EQ(prot_after("\x1b", 1, 1), 'P');
	ASSERT_EQ(prot_after("\0", 1, 1), 'P');
	ASSERT_EQ(prot_after("\x80", 1, 1), 'P');
	ASSERT_EQ(prot_after("", 0, 0), 0);
}

static const struct ftpi_test tests[] = {
	{"parse_227", test_parse_227},
	{"parse_229_eprt_lprt", test_parse_229_eprt_lprt},
	{"reply_and_command_split", test_reply_and_command_split},
	{"every_split_login", test_every_split_login},
	{"every_split_hostile", test_every_split_hostile},
	{"every_split_after_gap", test_every_split_after_gap},
	{"tls_upgrade_and_ccc", test_tls_upgrade_and_ccc},
	{"failed_logins_brute_force", test_failed_logins_brute_force},
	{"brute_force_many_clients", test_brute_force_many_clients},
	{"expect_same_port_order", test_expect_same_port_order},
	{"prot_levels", test_prot_levels},
	{"pipelined_commands", test_pipelined_commands},
};

FTPI_TEST_MAIN(tests)
