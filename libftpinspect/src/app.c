/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * app.c - the connection classifier and dispatcher between TCP and the FTP layers. A new
 * connection is a data connection when it meets an expectation (or, for encrypted sessions, is
 * inferred); otherwise its first bytes decide: an FTP greeting or reply from the responder, an FTP
 * command from the initiator, or a TLS ClientHello on an FTP control port (implicit FTPS) make it
 * a control connection, on any port. Anything else is counted and no longer read. Connections on
 * control ports get a few more chunks to show FTP (captures that start mid-line); nothing is
 * created for a connection that never shows FTP (HTTP on 990, Telnet on 21).
 */
#include "app.h"
#include "decode.h"
#include "engine.h"
#include "ftp.h"
#include "session.h"
#include "tlsreview.h"

#define SNIFF_CHUNKS_CONTROL_PORT 8
#define SNIFF_CHUNKS_OTHER 3

int ftpi__is_control_port(const struct ftpi_engine *e, uint16_t port)
{
	if (port == 21 || port == 990)
		return 1;
	for (size_t i = 0; i < e->cfg.n_control_ports; i++)
		if (e->cfg.control_ports[i] == port)
			return 1;
	return 0;
}

void ftpi__app_new(struct ftpi_engine *e, struct ftpi_flow *f, const struct ftpi_tcp_seg *seg)
{
	(void)seg;
	f->role = FTPI_ROLE_UNKNOWN;
	f->half[0].want = f->half[1].want = 1;
	if (!f->midstream && ftpi__expect_match(e, f))
		return;
	if (!ftpi__is_control_port(e, f->srv.port) && !f->midstream && ftpi__dconn_infer(e, f, 1))
		return;
}

static int looks_like_reply(const uint8_t *p, size_t n)
{
	if (n < 4)
		return 0;
	return p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
	       p[2] <= '9' && (p[3] == ' ' || p[3] == '-');
}

static int looks_like_command(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && i < 6 && ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')))
		i++;
	if (i < 3 || i > 5 || i >= n)
		return 0;
	if (p[i] != ' ' && p[i] != '\r' && p[i] != '\n')
		return 0;
	return ftpi__verb_lookup((const char *)p, i) != FTPI_CMD_UNKNOWN;
}

static void become_other(struct ftpi_engine *e, struct ftpi_flow *f)
{
	f->role = FTPI_ROLE_OTHER;
	ftpi__reasm_unwant(e, f, 0);
	ftpi__reasm_unwant(e, f, 1);
	/* between hosts of a readable session, to an unannounced port: worth a finding */
	if (!f->midstream && (f->srv.port >= 1024 || f->cli.port == 20) &&
	    !ftpi__is_control_port(e, f->srv.port))
		ftpi__dconn_infer(e, f, 0);
}

/* Looks at the first bytes of each direction, collected across segments (a peer may send one
 * byte per segment), and decides once there is enough: a line end, or the buffer full. */
static void sniff(struct ftpi_engine *e, struct ftpi_flow *f, int dir, const uint8_t *p, size_t n)
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
		ftp = looks_like_reply(b, have);
	else if (looks_like_command(b, have))
		ftp = 1;
	else if (tls == 1)
		implicit = 1;
	if (!ftp && !implicit && ctrl_port && f->ndpi_done && f->app_name &&
	    strncmp(f->app_name, "FTP", 3) == 0)
		ftp = 1;
	if (ftp || implicit) {
		struct ftpi_session *s = ftpi__session_new(e, f);
		if (s == NULL) {
			become_other(e, f);
			return;
		}
		f->role = FTPI_ROLE_CONTROL;
		f->app = s;
		if (implicit)
			ftpi__session_implicit_tls(e, s);
		/* what the other direction sent while undecided came first */
		int o = !dir;
		if (f->sniff_len[o])
			ftpi__session_data(e, s, o, f->sniff_buf[o], f->sniff_len[o]);
		ftpi__session_data(e, s, dir, b, have);
		if (n > take)
			ftpi__session_data(e, s, dir, p + take, n - take);
		return;
	}
	int complete = memchr(b, '\n', have) != NULL || have == sizeof f->sniff_buf[dir];
	if (!complete)
		return; /* not enough to decide yet: at most sizeof sniff_buf bytes are held */
	if (++f->sniff_pkts >= (ctrl_port ? SNIFF_CHUNKS_CONTROL_PORT : SNIFF_CHUNKS_OTHER) ||
	    have == sizeof f->sniff_buf[dir]) {
		if (have == sizeof f->sniff_buf[dir] && f->sniff_pkts < SNIFF_CHUNKS_OTHER &&
		    ctrl_port) {
			/* captures that start mid-line on a control port: look again, fresh */
			f->sniff_len[dir] = 0;
			return;
		}
		become_other(e, f);
		return;
	}
	if (complete)
		f->sniff_len[dir] = 0; /* a full line that is not FTP: the next one gets a look */
}

void ftpi__app_packet(struct ftpi_engine *e, struct ftpi_flow *f, int dir,
		      const struct ftpi_tcp_seg *seg)
{
	ftpi__tlsreview_packet(e, f, dir, seg);
}

void ftpi__app_data(struct ftpi_engine *e, struct ftpi_flow *f, int dir, const uint8_t *p,
		    size_t n)
{
	switch (f->role) {
	case FTPI_ROLE_CONTROL:
		if (f->app)
			ftpi__session_data(e, f->app, dir, p, n);
		break;
	case FTPI_ROLE_DATA:
		if (f->app)
			ftpi__dconn_data(e, f->app, f, dir, p, n);
		break;
	case FTPI_ROLE_UNKNOWN:
		sniff(e, f, dir, p, n);
		break;
	default:
		break;
	}
}

void ftpi__app_gap(struct ftpi_engine *e, struct ftpi_flow *f, int dir, uint64_t n)
{
	if (f->role == FTPI_ROLE_CONTROL && f->app)
		ftpi__session_gap(e, f->app, dir, n);
	else if (f->role == FTPI_ROLE_UNKNOWN &&
		 ++f->sniff_pkts >= (ftpi__is_control_port(e, f->srv.port) ? SNIFF_CHUNKS_CONTROL_PORT
								      : SNIFF_CHUNKS_OTHER))
		become_other(e, f);
}

void ftpi__app_close(struct ftpi_engine *e, struct ftpi_flow *f)
{
	if (f->role == FTPI_ROLE_CONTROL && f->app) {
		struct ftpi_session *s = f->app;
		ftpi__session_close(e, s);
		f->app = NULL;
	} else if (f->role == FTPI_ROLE_DATA && f->app) {
		ftpi__dconn_close(e, f->app, f);
	} else if (f->role == FTPI_ROLE_UNKNOWN && f->half[1].syn_seen &&
		   f->half[0].bytes + f->half[1].bytes > 0) {
		/* it ended before its first bytes said what it was: not FTP */
		become_other(e, f);
		if (f->role == FTPI_ROLE_DATA && f->app) /* an unexpected data connection */
			ftpi__dconn_close(e, f->app, f);
	}
}

void ftpi__app_release(struct ftpi_engine *e, struct ftpi_flow *f)
{
	ftpi__tlsreview_flow_release(e, f);
	if (f->role == FTPI_ROLE_CONTROL && f->app) {
		struct ftpi_session *s = f->app;
		s->flow = NULL; /* the session list owns it */
	} else if (f->role == FTPI_ROLE_DATA && f->app) {
		struct ftpi_dconn *d = f->app;
		d->flow = NULL;
		if (d->s == NULL) /* no session owns it */
			ftpi__dconn_release(e, d);
	}
	f->app = NULL;
}

uint64_t ftpi__app_session_id(const struct ftpi_flow *f)
{
	if (f->app == NULL)
		return 0;
	if (f->role == FTPI_ROLE_CONTROL)
		return ftpi__session_id(f->app);
	if (f->role == FTPI_ROLE_DATA)
		return ftpi__dconn_session_id(f->app);
	return 0;
}
