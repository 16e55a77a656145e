/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dispatch.c - the wiring between the stages, and the connection classifier. The engine installs
 * here the callback tables the stages report through: the flow table's end and release, the
 * reassembler's data and gap, the FTP stage's announcements (to the expect stage).
 *
 * A new connection is a data connection when it meets an expectation (or, for encrypted
 * sessions, is inferred); otherwise its first bytes decide: an FTP greeting or reply from the
 * responder, an FTP command from the initiator, or a TLS ClientHello on an FTP control port
 * (implicit FTPS) make it a control connection, on any port; picked up mid-stream on a port
 * that is not FTP's, only evidence that FTP alone gives does (ftpi__ftp_midstream_evidence: a
 * verb answered by the code only FTP gives it, or an announcement and its answer), judged over
 * the held bytes in the order they came (the turns the flow records). Anything else is counted
 * and no longer read. Connections on control ports get a few more chunks to show FTP (captures that
 * start mid-line); nothing is created for a connection that never shows FTP (HTTP on 990, Telnet
 * on 21). One exception on control ports: a client that opens with a line running past what is
 * held, without a line end and before any server byte, gets a session (the port and the
 * direction say FTP control), which reports the over-long line with its length.
 */
#include <strings.h>

#include "engine.h"

#define SNIFF_LINES_CONTROL_PORT 8
#define SNIFF_GAPS 3
#define SNIFF_HOLD  2048 /* bytes held per direction while a flow is sniffed */
#define SNIFF_START 256  /* the first buffer: a greeting or a first command fits */

int ftpi__is_control_port(const struct ftpi_engine *e, uint16_t port)
{
	if (port == 21 || port == 990)
		return 1;
	for (size_t i = 0; i < e->cx.cfg.n_control_ports; i++)
		if (e->cx.cfg.control_ports[i] == port)
			return 1;
	return 0;
}

static uint64_t session_id_of(const struct ftpi_flow *f)
{
	if (f->app == NULL)
		return 0;
	if (f->role == FTPI_ROLE_CONTROL)
		return ftpi__session_id(f->app);
	if (f->role == FTPI_ROLE_DATA)
		return ftpi__dconn_session_id(f->app);
	return 0;
}

void ftpi__dispatch_new(struct ftpi_engine *e, struct ftpi_flow *f)
{
	f->role = FTPI_ROLE_UNKNOWN;
	f->half[0].want = f->half[1].want = 1;
	if (!f->midstream && ftpi__expect_match(&e->xt, f))
		return;
	if (!ftpi__is_control_port(e, f->srv.port) && !f->midstream)
		ftpi__dconn_infer(&e->xt, f, 1);
}

/* The bytes held while a flow is sniffed. */
static void sniff_release(struct ftpi_engine *e, struct ftpi_flow *f)
{
	for (int d = 0; d < 2; d++) {
		if (f->sniff_buf[d])
			ftpi__free(&e->cx, FTPI__POOL_FLOW, f->sniff_buf[d], f->sniff_cap[d]);
		f->sniff_buf[d] = NULL;
		f->sniff_len[d] = 0;
		f->sniff_cap[d] = 0;
	}
}

/* Not FTP: counted only from now on, unless it is an unannounced connection between the hosts of
 * a readable session (worth a finding, and followed as a data connection). */
static int become_other(struct ftpi_engine *e, struct ftpi_flow *f)
{
	f->role = FTPI_ROLE_OTHER;
	sniff_release(e, f);
	if (!f->midstream && (f->srv.port >= 1024 || f->cli.port == 20) &&
	    !ftpi__is_control_port(e, f->srv.port) && ftpi__dconn_infer(&e->xt, f, 0))
		return FTPI_REASM_DROP;
	return FTPI_REASM_DROP | FTPI_REASM_UNWANT;
}

static void become_control(struct ftpi_engine *e, struct ftpi_flow *f, struct ftpi_session *s,
			   int dir, const uint8_t *p, size_t n, size_t take, int implicit)
{
	f->role = FTPI_ROLE_CONTROL;
	f->app = s;
	f->half[0].keep_hist = f->half[1].keep_hist = 1; /* to see conflicts with delivered bytes */
	if (implicit)
		ftpi__session_implicit_tls(&e->ftp, s);
	/* what was held while undecided, in the order it came (the turns recorded; past them,
	 * what is left of each direction) */
	int d = f->sniff_first ? f->sniff_first - 1 : !dir;
	size_t pos[2] = {0, 0}, nt = FTPI__MIN((size_t)f->sniff_turns, FTPI_FLOW_SNIFF_TURNS);
	for (size_t k = 0; k < nt + 2; k++, d = !d) {
		size_t end = k < nt ? FTPI__MIN((size_t)f->sniff_turn[k], (size_t)f->sniff_len[d])
				    : f->sniff_len[d];
		if (end > pos[d])
			ftpi__session_data(&e->ftp, s, d, f->sniff_buf[d] + pos[d], end - pos[d]);
		pos[d] = FTPI__MAX(pos[d], end);
	}
	sniff_release(e, f);
	if (n > take)
		ftpi__session_data(&e->ftp, s, dir, p + take, n - take);
}

/* FTP verbs that other line protocols share (SMTP, POP3, NNTP): no evidence on their own.
 * After a 220 greeting, AUTH and MODE are FTP's (an SMTP client says EHLO first; an NNTP server
 * greets with 200/201). */
static int shared_verb(const uint8_t *p, size_t n, int greeted)
{
	static const char *const v[] = {"QUIT", "NOOP", "HELP", "STAT", "AUTH", "MODE"};
	size_t i = 0;
	while (i < n && p[i] != ' ' && p[i] != '\r' && p[i] != '\n')
		i++;
	for (size_t k = 0; k < FTPI__ARRAY_LEN(v); k++)
		if (i == 4 && strncasecmp((const char *)p, v[k], 4) == 0) {
			if (k >= 4 && greeted)
				return 0;
			/* AUTH TLS / AUTH SSL is FTP's (RFC 4217); SASL mechanisms are not */
			if (k == 4 && n >= 8 && (strncasecmp((const char *)p + 5, "TLS", 3) == 0 ||
						 strncasecmp((const char *)p + 5, "SSL", 3) == 0))
				return 0;
			return 1;
		}
	return 0;
}

/* The client's first line on a control port, the handshake seen and the server still silent,
 * runs on without a line end: the port and the direction say FTP control, so it is held until
 * SNIFF_HOLD (then an over-long command line the session reports with its length) rather than
 * dropped as a capture that starts mid-line. A line end before that makes it an ordinary line
 * that is not FTP. */
static int long_first_line(const struct ftpi_flow *f, int dir, int ftp_port)
{
	return ftp_port && dir == FTPI_DIR_TO_SERVER && !f->midstream && f->sniff_pkts == 0 &&
	       f->sniff_first == 1 + FTPI_DIR_TO_SERVER && f->half[FTPI_DIR_TO_CLIENT].bytes == 0 &&
	       memchr(f->sniff_buf[dir], '\n', f->sniff_len[dir]) == NULL;
}

/* What the held bytes of one direction say: 1 FTP, -1 not FTP, 0 not enough bytes yet.
 * strict (a port that is not an FTP control port): the responder's first line must be the 220
 * greeting when it spoke first (any reply when it answers), and a command must be an FTP verb
 * that other protocols do not share. */
static int verdict(const struct ftpi_flow *f, int dir, int strict)
{
	const uint8_t *b = f->sniff_buf[dir];
	size_t have = f->sniff_len[dir];
	if (have == 0)
		return 0;
	const uint8_t *lf = memchr(b, '\n', have);
	if (lf == NULL && have < 64)
		return 0; /* the first line is not complete */
	if (lf == NULL && have < SNIFF_HOLD && long_first_line(f, dir, !strict))
		return 0;
	if (dir == FTPI_DIR_TO_CLIENT) {
		if (!ftpi__ftp_looks_like_reply(b, have))
			return -1;
		if (strict && !f->midstream && f->sniff_first == 1 + FTPI_DIR_TO_CLIENT &&
		    !(b[0] == '2' && b[1] == '2' && b[2] == '0') &&
		    !(b[0] == '1' && b[1] == '2' && b[2] == '0'))
			return -1; /* SMTP says 220 too, NNTP 200/201: the client tells them apart */
		return 1;
	}
	if (!ftpi__ftp_looks_like_command(b, have))
		return -1;
	int greeted = f->sniff_first == 1 + FTPI_DIR_TO_CLIENT &&
		      ftpi__ftp_looks_like_reply(f->sniff_buf[!dir], f->sniff_len[!dir]);
	return strict && shared_verb(b, have, greeted) ? -1 : 1;
}

/* Drops the first line of a direction's held bytes (a line that is not FTP on a control
 * port: a capture that starts mid-line). */
static void skip_line(struct ftpi_flow *f, int dir)
{
	uint8_t *b = f->sniff_buf[dir];
	const uint8_t *lf = memchr(b, '\n', f->sniff_len[dir]);
	size_t k = lf ? (size_t)(lf - b) + 1 : f->sniff_len[dir];
	memmove(b, b + k, f->sniff_len[dir] - k);
	f->sniff_len[dir] = (uint16_t)(f->sniff_len[dir] - k);
	/* the turns of this direction count from the new start */
	for (size_t t = (size_t)(dir != f->sniff_first - 1);
	     t < FTPI__MIN((size_t)f->sniff_turns, FTPI_FLOW_SNIFF_TURNS); t += 2)
		f->sniff_turn[t] = (uint16_t)(f->sniff_turn[t] > k ? f->sniff_turn[t] - k : 0);
}

/* Records the order of the held bytes: a change of the speaking direction. */
static void note_turn(struct ftpi_flow *f, int dir)
{
	if (f->sniff_first == 0)
		f->sniff_first = (uint8_t)(1 + dir);
	else if (f->sniff_last != 1 + dir && f->sniff_turns < 255) {
		if (f->sniff_turns < FTPI_FLOW_SNIFF_TURNS)
			f->sniff_turn[f->sniff_turns] = f->sniff_len[!dir];
		f->sniff_turns++;
	}
	f->sniff_last = (uint8_t)(1 + dir);
}

/* A mid-stream connection on a port that is not FTP's: 1 on evidence only FTP gives, -1 on
 * evidence against it or when the turns recorded no longer cover what is held, 0 to wait. */
static int midstream_verdict(const struct ftpi_flow *f)
{
	if (f->sniff_turns > FTPI_FLOW_SNIFF_TURNS)
		return -1;
	struct ftpi_sniff_view v = {
		.buf = {f->sniff_buf[0], f->sniff_buf[1]},
		.len = {f->sniff_len[0], f->sniff_len[1]},
		.first = f->sniff_first - 1,
		.turn = f->sniff_turn,
		.n_turns = f->sniff_turns,
	};
	return ftpi__ftp_midstream_evidence(&v);
}

/* Holds the first bytes of each direction (a peer may send one byte per segment) and decides
 * once they say enough. On an FTP control port one direction that speaks FTP is enough (and a
 * TLS ClientHello is implicit FTPS); elsewhere both must: a greeting or reply from the
 * responder and an FTP verb from the initiator, so SMTP, NNTP, POP3 and IMAP stay what they
 * are. */
/* Control connections looked at from the idle end of the flow list for one to give way. */
#define EVICT_SCAN 256

/* Flow f is about to start a session and the session table is full (or, with force, the
 * memory cap refused the session): the control connection idle the longest (near the LRU end
 * of the flow table, not one the host drives through the stream API) ends, its session
 * reported as on any eviction, so that a flood of connections that go quiet cannot keep later
 * sessions out. Returns 1 when one was evicted; when none is found close to that end, the new
 * session is refused (sessions_memcap) as before. */
static int evict_idle_session(struct ftpi_engine *e, struct ftpi_flow *f, int force)
{
	if (!force && e->cx.st.sessions_active < e->cx.cfg.max_sessions)
		return 0;
	struct ftpi_flow_lru_iter it;
	struct ftpi_flow *v = ftpi__flow_lru_first(&e->flows, &it);
	for (int k = 0; v != NULL && k < EVICT_SCAN; k++, v = ftpi__flow_lru_next(&it)) {
		if (v != f && v->role == FTPI_ROLE_CONTROL && v->app != NULL && !v->external) {
			FTPI__COUNT(&e->cx, sessions_evicted);
			FTPI__COUNT(&e->cx, flows_evicted);
			ftpi__dispatch_end(e, v, FTPI_FLOW_END_EVICTED);
			return 1;
		}
	}
	return 0;
}

/* Sniffing is strict on ports that are not FTP's (control ports and 2121 are not). */
static int strict_port(const struct ftpi_engine *e, const struct ftpi_flow *f)
{
	return !ftpi__is_control_port(e, f->srv.port) && f->srv.port != 2121;
}

int ftpi__dispatch_one_sided(const struct ftpi_engine *e, const struct ftpi_flow *f, int dir)
{
	/* Strictly sniffed, not mid-stream, one direction's bytes make a session only as a 220
	 * greeting that fills what is held (the server's direction): the client's first bytes
	 * never do while the server's direction is empty (its verdict is "not enough yet"). */
	return f->role == FTPI_ROLE_UNKNOWN && !f->midstream && dir == FTPI_DIR_TO_SERVER &&
	       f->sniff_len[!dir] == 0 && f->half[!dir].ooo == NULL && strict_port(e, f);
}

/* Makes direction dir's held bytes able to take want bytes (want <= SNIFF_HOLD): SNIFF_START
 * at first, doubled as bytes come; 0 when the memory cap refuses. */
static int sniff_grow(struct ftpi_engine *e, struct ftpi_flow *f, int dir, size_t want)
{
	size_t cap = f->sniff_cap[dir] ? f->sniff_cap[dir] : SNIFF_START;
	while (cap < want)
		cap *= 2;
	uint8_t *b = ftpi__alloc(&e->cx, FTPI__POOL_FLOW, cap);
	if (b == NULL)
		return 0;
	if (f->sniff_buf[dir] != NULL) {
		memcpy(b, f->sniff_buf[dir], f->sniff_len[dir]);
		ftpi__free(&e->cx, FTPI__POOL_FLOW, f->sniff_buf[dir], f->sniff_cap[dir]);
	}
	f->sniff_buf[dir] = b;
	f->sniff_cap[dir] = (uint16_t)cap;
	return 1;
}

static int sniff(struct ftpi_engine *e, struct ftpi_flow *f, int dir, const uint8_t *p, size_t n)
{
	int ctrl_port = ftpi__is_control_port(e, f->srv.port);
	int strict = strict_port(e, f);
	int ftp = 0, implicit = 0;

	size_t have = f->sniff_len[dir];
	size_t want = FTPI__MIN(have + n, (size_t)SNIFF_HOLD);
	if ((f->sniff_buf[dir] == NULL || want > f->sniff_cap[dir]) && !sniff_grow(e, f, dir, want))
		return become_other(e, f);
	note_turn(f, dir);
	size_t take = FTPI__MIN(n, SNIFF_HOLD - have);
	memcpy(f->sniff_buf[dir] + have, p, take);
	f->sniff_len[dir] = (uint16_t)(have + take);
	int full = f->sniff_len[dir] == SNIFF_HOLD;

	for (;;) {
		if (ctrl_port && dir == FTPI_DIR_TO_SERVER &&
		    ftpi__tls_sniff(f->sniff_buf[dir], f->sniff_len[dir]) == 1)
			implicit = 1;
		int v = verdict(f, dir, strict), vo = verdict(f, !dir, strict);
		ftp = strict ? v == 1 && vo == 1 : v == 1 || vo == 1;
		if (ftp && strict && f->midstream) {
			/* no greeting to go by: FTP-only evidence, or wait for it */
			int m = midstream_verdict(f);
			if (m != 1)
				return m < 0 || full || f->sniff_len[!dir] == SNIFF_HOLD
					       ? become_other(e, f)
					       : FTPI_REASM_MORE;
		}
		if (!ftp && !implicit && ctrl_port && f->ndpi_done && f->app_name &&
		    strncmp(f->app_name, "FTP", 3) == 0)
			ftp = 1;
		if (!ftp && !implicit && full && long_first_line(f, dir, !strict))
			ftp = 1; /* an over-long first command line (the session reports it) */
		if (!ftp && strict && full && v == 1 && dir == FTPI_DIR_TO_CLIENT && vo == 0 &&
		    f->sniff_first == 1 + FTPI_DIR_TO_CLIENT)
			ftp = 1; /* a 220 greeting longer than what is held, the client still silent */
		if (ftp || implicit) {
			evict_idle_session(e, f, 0);
			struct ftpi_session *s = ftpi__session_new(&e->ftp, f);
			if (s == NULL && evict_idle_session(e, f, 1)) { /* the memory cap: once more */
				s = ftpi__session_new(&e->ftp, f);
				if (s != NULL) /* admitted after all: not a refusal */
					e->cx.st.sessions_memcap--;
			}
			if (s == NULL)
				return become_other(e, f);
			become_control(e, f, s, dir, p, n, take, implicit);
			return FTPI_REASM_MORE;
		}
		if (strict)
			return v == -1 || vo == -1 || full ? become_other(e, f) : FTPI_REASM_MORE;
		if (v != -1)
			return FTPI_REASM_MORE;
		/* a control port: a line that is not FTP may be a capture starting mid-line; the
		 * next lines get a look, up to a few */
		if (++f->sniff_pkts >= SNIFF_LINES_CONTROL_PORT)
			return become_other(e, f);
		skip_line(f, dir);
	}
}

static int on_data(void *user, struct ftpi_flow *f, int dir, const uint8_t *p, size_t n)
{
	struct ftpi_engine *e = user;
	switch (f->role) {
	case FTPI_ROLE_CONTROL:
		if (f->app)
			ftpi__session_data(&e->ftp, f->app, dir, p, n);
		return FTPI_REASM_MORE;
	case FTPI_ROLE_DATA:
		if (f->app && ftpi__dconn_share_greeting(&e->xt, f->app, dir, p, n))
			return sniff(e, f, dir, p, n); /* --share: a control connection after all */
		return f->app ? ftpi__dconn_data(&e->xt, f->app, f, dir, p, n) : FTPI_REASM_MORE;
	case FTPI_ROLE_UNKNOWN:
		return sniff(e, f, dir, p, n);
	default:
		return FTPI_REASM_MORE;
	}
}

static int on_gap(void *user, struct ftpi_flow *f, int dir, uint64_t n)
{
	struct ftpi_engine *e = user;
	if (f->role == FTPI_ROLE_CONTROL && f->app)
		ftpi__session_gap(&e->ftp, f->app, dir, n);
	else if (f->role == FTPI_ROLE_DATA && f->app)
		ftpi__dconn_gap(&e->xt, f->app, dir);
	else if (f->role == FTPI_ROLE_UNKNOWN && ++f->sniff_pkts >= SNIFF_GAPS)
		return become_other(e, f);
	return FTPI_REASM_MORE;
}

static void on_conflict(void *user, struct ftpi_flow *f, int dir, uint64_t off, uint32_t n,
			int exact)
{
	struct ftpi_engine *e = user;
	if (f->role == FTPI_ROLE_CONTROL && f->app)
		ftpi__session_conflict(&e->ftp, f->app, FTPI_FINDING_TCP_OVERLAP_CONFLICT, dir, off,
				       n, exact);
}

void ftpi__dispatch_frag_conflict(struct ftpi_engine *e, struct ftpi_flow *f, int dir)
{
	if (f->role == FTPI_ROLE_CONTROL && f->app)
		ftpi__session_conflict(&e->ftp, f->app, FTPI_FINDING_IP_FRAGMENT_CONFLICT, dir, 0, 0,
				       1);
}

static void frag_dropped(struct ftpi_engine *e, const struct ftpi__frag_drop *r)
{
	static const char *const why[] = {"incomplete after timeout_frag",
					  "dropped at max_frag_datagrams/frag_mem",
					  "incomplete at the end of input",
					  "incomplete when the connection ended"};
	if (r->src.port != 0 || r->dst.port != 0) {
		int dir;
		uint64_t h = ftpi__flow_hash(&e->cx, &r->src, &r->dst);
		struct ftpi_flow *f = ftpi__flow_lookup(&e->flows, &r->src, &r->dst, h, &dir);
		if (f && f->role == FTPI_ROLE_CONTROL && f->app)
			ftpi__session_frag_dropped(&e->ftp, f->app, dir, r->held, why[r->reason]);
		return;
	}
	/* no first fragment, so no ports: the sessions between the two hosts */
	struct ftpi_session *s;
	for (s = ftpi__session_pair_first(&e->ftp, &r->src.addr, &r->dst.addr); s;
	     s = ftpi__session_pair_next(s, &r->src.addr, &r->dst.addr))
		ftpi__session_frag_dropped(&e->ftp, s,
					   ftpi__addr_eq(&r->src.addr, &s->cli.addr)
						   ? FTPI_DIR_TO_SERVER
						   : FTPI_DIR_TO_CLIENT,
					   r->held, why[r->reason]);
}

void ftpi__dispatch_frag_drops(struct ftpi_engine *e)
{
	struct ftpi__frag_drop r;
	while (ftpi__defrag_take_drop(&e->defrag, &r))
		frag_dropped(e, &r);
}

void ftpi__dispatch_data(struct ftpi_engine *e, struct ftpi_flow *f, int dir, const uint8_t *p,
			 size_t n)
{
	int want = on_data(e, f, dir, p, n);
	if (want & FTPI_REASM_UNWANT)
		f->half[0].want = f->half[1].want = 0;
}

void ftpi__dispatch_gap(struct ftpi_engine *e, struct ftpi_flow *f, int dir, uint64_t n)
{
	int want = on_gap(e, f, dir, n);
	if (want & FTPI_REASM_UNWANT)
		f->half[0].want = f->half[1].want = 0;
}

/* The upper stages learn that the connection ended. Called once per flow. */
static void close_upper(struct ftpi_engine *e, struct ftpi_flow *f)
{
	if (f->role == FTPI_ROLE_CONTROL && f->app) {
		/* fragments of it still incomplete will never be: the session says so first */
		ftpi__defrag_drop_between(&e->cx, &e->defrag, &f->cli, &f->srv);
		ftpi__dispatch_frag_drops(e);
		if (f->app == NULL)
			return;
		ftpi__session_close(&e->ftp, f->app);
		f->app = NULL;
	} else if (f->role == FTPI_ROLE_DATA && f->app) {
		ftpi__dconn_close(&e->xt, f->app, f);
	} else if (f->role == FTPI_ROLE_UNKNOWN && f->half[1].syn_seen &&
		   f->half[0].bytes + f->half[1].bytes > 0) {
		/* it ended before its first bytes said what it was: not FTP */
		become_other(e, f);
		if (f->role == FTPI_ROLE_DATA && f->app) /* an unexpected data connection */
			ftpi__dconn_close(&e->xt, f->app, f);
	}
}

/* Frees the flow's upper-stage state (after close, or at engine free without events). */
static void release_upper(void *user, struct ftpi_flow *f)
{
	struct ftpi_engine *e = user;
	ftpi__classify_flow_release(e, f);
	if (f->role == FTPI_ROLE_CONTROL && f->app)
		ftpi__session_detach(f->app); /* the session list owns it */
	else if (f->role == FTPI_ROLE_DATA && f->app)
		ftpi__dconn_detach(&e->xt, f->app);
	f->app = NULL;
	sniff_release(e, f);
	ftpi__reasm_release(&e->cx, &f->half[0]);
	ftpi__reasm_release(&e->cx, &f->half[1]);
	if (f->hold)
		ftpi__hold_free(e, f);
}

void ftpi__dispatch_closed(struct ftpi_engine *e, struct ftpi_flow *f)
{
	f->session_id = session_id_of(f);
	ftpi__reasm_finish(&e->reasm, f, FTPI_DIR_TO_SERVER);
	ftpi__reasm_finish(&e->reasm, f, FTPI_DIR_TO_CLIENT);
	f->app_closed = 1;
	close_upper(e, f);
}

static void emit_flow_end(struct ftpi_engine *e, const struct ftpi_flow *f)
{
	struct ftpi_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_FLOW_END;
	ev.client = f->cli;
	ev.server = f->srv;
	ev.u.flow.proto = 6;
	ev.u.flow.packets_to_server = f->half[0].packets;
	ev.u.flow.packets_to_client = f->half[1].packets;
	ev.u.flow.bytes_to_server = f->half[0].bytes;
	ev.u.flow.bytes_to_client = f->half[1].bytes;
	ev.u.flow.start_us = f->first_us;
	ev.u.flow.end_us = f->last_us;
	ev.u.flow.state = f->state;
	ev.u.flow.role = f->role == FTPI_ROLE_CONTROL ? 1 : f->role == FTPI_ROLE_DATA ? 2 : 0;
	ev.u.flow.midstream = f->midstream;
	ev.u.flow.gaps = f->half[0].gap_bytes + f->half[1].gap_bytes;
	ev.u.flow.app = f->app_name;
	if (ev.u.flow.app == NULL && f->role == FTPI_ROLE_CONTROL)
		ev.u.flow.app = "FTP_CONTROL"; /* the engine's own classification */
	else if (ev.u.flow.app == NULL && f->role == FTPI_ROLE_DATA)
		ev.u.flow.app = "FTP_DATA";
	ev.session_id = f->session_id;
	ev.stream_id = f->id;
	ftpi__emit(&e->cx, &ev);
}

void ftpi__dispatch_end(struct ftpi_engine *e, struct ftpi_flow *f, int reason)
{
	if (!f->external) {
		ftpi__reasm_finish(&e->reasm, f, FTPI_DIR_TO_SERVER);
		ftpi__reasm_finish(&e->reasm, f, FTPI_DIR_TO_CLIENT);
	} else {
		ftpi__sidx_sync(e, f); /* counts its stream handle made */
	}
	if (f->session_id == 0)
		f->session_id = session_id_of(f);
	if (!f->app_closed) {
		f->app_closed = 1;
		close_upper(e, f);
	}
	if (reason == FTPI_FLOW_END_TIMEOUT)
		FTPI__COUNT(&e->cx, flows_timed_out);
	if (e->cx.cfg.event_mask & FTPI_EVMASK_FLOWS)
		emit_flow_end(e, f);
	release_upper(e, f);
	if (f->external) {
		ftpi__hold_free(e, f);
		ftpi__sidx_del(e, f);
	}
	ftpi__flow_free(&e->cx, &e->flows, f);
}

static void on_flow_end(void *user, struct ftpi_flow *f, int reason)
{
	ftpi__dispatch_end(user, f, reason);
}

/* The FTP stage's announcements go to the expect stage. */
static void hook_announce(void *user, struct ftpi_session *s, int announce, int active,
			  const struct ftpi_endpoint *target, int firm, const char *text, size_t len)
{
	ftpi__expect_add(user, s, announce, active, target, firm, text, len);
}

static void hook_firm(void *user, struct ftpi_session *s, int announce)
{
	ftpi__expect_firm(user, s, announce);
}

static void hook_cancel(void *user, struct ftpi_session *s, int announce)
{
	ftpi__expect_cancel(user, s, announce);
}

static void hook_xfer(void *user, struct ftpi_session *s)
{
	ftpi__dconn_xfer_update(user, s);
}

static void hook_ending(void *user, struct ftpi_session *s)
{
	ftpi__expect_session_ending(user, s);
}

static int hook_login_failed(void *user, struct ftpi_session *s, uint32_t *count)
{
	return ftpi__expect_login_failed(user, s, count);
}

void ftpi__dispatch_install(struct ftpi_engine *e)
{
	e->flows.cbs.end = on_flow_end;
	e->flows.cbs.release = release_upper;
	e->flows.cbs.user = e;
	e->reasm.cx = &e->cx;
	e->reasm.cbs.data = on_data;
	e->reasm.cbs.gap = on_gap;
	e->reasm.cbs.conflict = on_conflict;
	e->reasm.cbs.user = e;
	e->ftp.hooks.announce = hook_announce;
	e->ftp.hooks.firm = hook_firm;
	e->ftp.hooks.cancel = hook_cancel;
	e->ftp.hooks.xfer = hook_xfer;
	e->ftp.hooks.ending = hook_ending;
	e->ftp.hooks.login_failed = hook_login_failed;
	e->ftp.hooks.user = &e->xt;
}
