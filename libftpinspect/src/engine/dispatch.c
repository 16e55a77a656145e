/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dispatch.c - the wiring between the stages, and the connection classifier. The engine installs
 * here the callback tables the stages report through: the flow table's end and release, the
 * reassembler's data and gap, the FTP stage's announcements (to the expect stage).
 *
 * A new connection is a data connection when it meets an expectation (or, for encrypted
 * sessions, is inferred); otherwise its first bytes decide: an FTP greeting or reply from the
 * responder, an FTP command from the initiator, or a TLS ClientHello on an FTP control port
 * (implicit FTPS) make it a control connection, on any port. Anything else is counted and no
 * longer read. Connections on control ports get a few more chunks to show FTP (captures that
 * start mid-line); nothing is created for a connection that never shows FTP (HTTP on 990, Telnet
 * on 21).
 */
#include "engine.h"

#define SNIFF_CHUNKS_CONTROL_PORT 8
#define SNIFF_CHUNKS_OTHER 3

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

/* Not FTP: counted only from now on, unless it is an unannounced connection between the hosts of
 * a readable session (worth a finding, and followed as a data connection). */
static int become_other(struct ftpi_engine *e, struct ftpi_flow *f)
{
	f->role = FTPI_ROLE_OTHER;
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
	if (implicit)
		ftpi__session_implicit_tls(&e->ftp, s);
	/* what the other direction sent while undecided came first */
	int o = !dir;
	if (f->sniff_len[o])
		ftpi__session_data(&e->ftp, s, o, f->sniff_buf[o], f->sniff_len[o]);
	ftpi__session_data(&e->ftp, s, dir, f->sniff_buf[dir], f->sniff_len[dir]);
	if (n > take)
		ftpi__session_data(&e->ftp, s, dir, p + take, n - take);
}

/* Looks at the first bytes of each direction, collected across segments (a peer may send one
 * byte per segment), and decides once there is enough: a line end, or the buffer full. */
static int sniff(struct ftpi_engine *e, struct ftpi_flow *f, int dir, const uint8_t *p, size_t n)
{
	int ctrl_port = ftpi__is_control_port(e, f->srv.port);
	int ftp = 0, implicit = 0;
	uint8_t *b = f->sniff_buf[dir];
	size_t have = f->sniff_len[dir];
	size_t take = FTPI__MIN(n, sizeof f->sniff_buf[dir] - have);

	memcpy(b + have, p, take);
	have += take;
	f->sniff_len[dir] = (uint8_t)have;
	int tls = ctrl_port && dir == FTPI_DIR_TO_SERVER ? ftpi__tls_sniff(b, have) : 0;
	if (dir == FTPI_DIR_TO_CLIENT)
		ftp = ftpi__ftp_looks_like_reply(b, have);
	else if (ftpi__ftp_looks_like_command(b, have))
		ftp = 1;
	else if (tls == 1)
		implicit = 1;
	if (!ftp && !implicit && ctrl_port && f->ndpi_done && f->app_name &&
	    strncmp(f->app_name, "FTP", 3) == 0)
		ftp = 1;
	if (ftp || implicit) {
		struct ftpi_session *s = ftpi__session_new(&e->ftp, f);
		if (s == NULL)
			return become_other(e, f);
		become_control(e, f, s, dir, p, n, take, implicit);
		return FTPI_REASM_MORE;
	}
	int complete = memchr(b, '\n', have) != NULL || have == sizeof f->sniff_buf[dir];
	if (!complete)
		return FTPI_REASM_MORE; /* not enough to decide yet: sniff_buf bytes at most */
	if (++f->sniff_pkts >= (ctrl_port ? SNIFF_CHUNKS_CONTROL_PORT : SNIFF_CHUNKS_OTHER) ||
	    have == sizeof f->sniff_buf[dir]) {
		if (have == sizeof f->sniff_buf[dir] && f->sniff_pkts < SNIFF_CHUNKS_OTHER &&
		    ctrl_port) {
			/* captures that start mid-line on a control port: look again, fresh */
			f->sniff_len[dir] = 0;
			return FTPI_REASM_MORE;
		}
		return become_other(e, f);
	}
	f->sniff_len[dir] = 0; /* a full line that is not FTP: the next one gets a look */
	return FTPI_REASM_MORE;
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
	else if (f->role == FTPI_ROLE_UNKNOWN &&
		 ++f->sniff_pkts >= (ftpi__is_control_port(e, f->srv.port) ? SNIFF_CHUNKS_CONTROL_PORT
								      : SNIFF_CHUNKS_OTHER))
		return become_other(e, f);
	return FTPI_REASM_MORE;
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

void ftpi__dispatch_install(struct ftpi_engine *e)
{
	e->flows.cbs.end = on_flow_end;
	e->flows.cbs.release = release_upper;
	e->flows.cbs.user = e;
	e->reasm.cx = &e->cx;
	e->reasm.cbs.data = on_data;
	e->reasm.cbs.gap = on_gap;
	e->reasm.cbs.user = e;
	e->ftp.hooks.announce = hook_announce;
	e->ftp.hooks.firm = hook_firm;
	e->ftp.hooks.cancel = hook_cancel;
	e->ftp.hooks.xfer = hook_xfer;
	e->ftp.hooks.ending = hook_ending;
	e->ftp.hooks.user = &e->xt;
}
