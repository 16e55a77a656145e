/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.c - FTP control sessions: their lifecycle (start, end, the host-pair index), the one
 * state machine (login progress in clear text and the TLS phases of the channel, changed only by
 * ftpi__session_set_state), and the one loop that takes a chunk of control bytes through the
 * line framer or, in a TLS phase, the TLS reader and record walker (RFC 959 §5.4, RFC 2228 §3,
 * RFC 4217 §4-§9). Commands are in command.c, replies in reply.c, findings in findings.c.
 */
#include "session.h"

#define set_state ftpi__session_set_state

uint64_t ftpi__session_id(const struct ftpi_session *s)
{
	return s ? s->id : 0;
}

static int in_tls(const struct ftpi_session *s)
{
	return s->state == FTPI_SS_TLS_HANDSHAKE || s->state == FTPI_SS_TLS;
}

/* ---- the stage ---- */

int ftpi__ftp_init(struct ftpi__ftp *ftp, struct ftpi__ctx *cx, struct ftpi__tlsrev *tlsr,
		   const struct ftpi__ftp_hooks *hooks)
{
	ftp->cx = cx;
	ftp->tlsr = tlsr;
	ftp->hooks = *hooks;
	ftp->next_session_id = 1;
	ftp->session_id_step = 1;
	ftp->pair_buckets = ftpi__alloc(cx, FTPI__POOL_SESSION,
					FTPI__PAIR_BUCKETS * sizeof *ftp->pair_buckets);
	return ftp->pair_buckets ? FTPI_OK : FTPI_E_NOMEM;
}

static void session_free(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	ftpi__line_release(ftp->cx, &s->line[0]);
	ftpi__line_release(ftp->cx, &s->line[1]);
	if (s->pend)
		ftpi__free(ftp->cx, FTPI__POOL_SESSION, s->pend, s->pend_cap * sizeof *s->pend);
	if (s->tlsp) {
		ftpi__tls_release(ftp->cx, s->tlsp);
		ftpi__free(ftp->cx, FTPI__POOL_TLS, s->tlsp, sizeof *s->tlsp);
	}
	if (s->cert)
		ftpi__free(ftp->cx, FTPI__POOL_TLS, s->cert, sizeof *s->cert);
	ftpi__free(ftp->cx, FTPI__POOL_SESSION, s, sizeof *s);
}

static void pair_unlink(struct ftpi__ftp *ftp, struct ftpi_session *s);
static void pair_link(struct ftpi__ftp *ftp, struct ftpi_session *s);

static void session_unlink(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	pair_unlink(ftp, s);
	if (s->prev)
		s->prev->next = s->next;
	else
		ftp->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	ftp->cx->st.sessions_active--;
}

void ftpi__ftp_release(struct ftpi__ftp *ftp)
{
	while (ftp->sessions) {
		struct ftpi_session *s = ftp->sessions;
		session_unlink(ftp, s);
		session_free(ftp, s);
	}
	while (ftp->servers) {
		struct ftpi_server *sv = ftp->servers;
		ftp->servers = sv->next;
		ftpi__free(ftp->cx, FTPI__POOL_MISC, sv, sizeof *sv);
	}
	ftp->n_servers = 0;
	ftpi__servers_index_release(ftp);
	ftpi__ftp_bf_release(ftp);
	ftpi__free(ftp->cx, FTPI__POOL_SESSION, ftp->pair_buckets,
		   FTPI__PAIR_BUCKETS * sizeof *ftp->pair_buckets);
	ftp->pair_buckets = NULL;
}

void ftpi__ftp_close_all(struct ftpi__ftp *ftp)
{
	while (ftp->sessions)
		ftpi__session_close(ftp, ftp->sessions);
	ftpi__ftp_bf_reset(ftp);
}

/* ---- sessions ---- */

static int addr_allowed(const struct ftpi_cidr *list, size_t n, const struct ftpi_addr *a)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (ftpi__cidr_match(&list[i], a))
			return 1;
	return 0;
}

static void count_server(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	s->server = ftpi__server_get(ftp, &s->srv);
	if (s->server) {
		struct ftpi_server *sv = s->server;
		sv->sessions++;
		int known = 0;
		for (unsigned i = 0; i < sv->n_clients; i++)
			if (ftpi__addr_eq(&sv->clients[i], &s->cli.addr))
				known = 1;
		if (!known) {
			sv->clients_total++;
			if (sv->n_clients < FTPI__ARRAY_LEN(sv->clients))
				sv->clients[sv->n_clients++] = s->cli.addr;
		}
	}
}

static void check_allowed(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	int cli_ok = addr_allowed(ftp->cx->cfg.allow_clients, ftp->cx->cfg.n_allow_clients, &s->cli.addr);
	int srv_ok = addr_allowed(ftp->cx->cfg.allow_servers, ftp->cx->cfg.n_allow_servers, &s->srv.addr);
	if (!cli_ok || !srv_ok) {
		char msg[200], evd[200];
		size_t n = 0;
		if (!cli_ok) {
			n = ftpi__buf_printf(evd, sizeof evd, n, "client ");
			n = ftpi__buf_endpoint(evd, sizeof evd, n, &s->cli);
			n = ftpi__buf_printf(evd, sizeof evd, n, " not in the client allow-list");
		}
		if (!srv_ok) {
			n = ftpi__buf_printf(evd, sizeof evd, n, "%sserver ", n ? "; " : "");
			n = ftpi__buf_endpoint(evd, sizeof evd, n, &s->srv);
			n = ftpi__buf_printf(evd, sizeof evd, n, " not in the server allow-list");
		}
		ftpi__buf_printf(msg, sizeof msg, 0, "FTP session between hosts outside the allow-list");
		ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_HOST_NOT_ALLOWED, NULL, NULL, msg, evd);
	}
}

struct ftpi_session *ftpi__session_new(struct ftpi__ftp *ftp, struct ftpi_flow *f)
{
	struct ftpi_session *s;
	struct ftpi_event ev;

	if (ftp->cx->st.sessions_active >= ftp->cx->cfg.max_sessions) {
		FTPI__COUNT(ftp->cx, sessions_memcap);
		return NULL;
	}
	s = ftpi__alloc(ftp->cx, FTPI__POOL_SESSION, sizeof *s);
	if (s == NULL) {
		FTPI__COUNT(ftp->cx, sessions_memcap);
		return NULL;
	}
	s->pend_cap = (uint16_t)FTPI__MIN(ftp->cx->cfg.max_pending_commands, 2u);
	s->pend = ftpi__alloc(ftp->cx, FTPI__POOL_SESSION, s->pend_cap * sizeof *s->pend);
	if (s->pend == NULL) {
		ftpi__free(ftp->cx, FTPI__POOL_SESSION, s, sizeof *s);
		FTPI__COUNT(ftp->cx, sessions_memcap);
		return NULL;
	}
	s->id = ftp->next_session_id;
	ftp->next_session_id += ftp->session_id_step;
	s->flow = f;
	s->cli = f->cli;
	s->srv = f->srv;
	s->fs.id = s->id;
	s->fs.stream_id = f->id;
	s->fs.cli = s->cli;
	s->fs.srv = s->srv;
	s->fs.ndpi_risks = &f->ndpi_risks;
	s->start_us = f->first_us ? f->first_us : ftp->cx->now_us;
	s->end_us = ftp->cx->now_us;
	s->midstream = f->midstream;
	if (f->midstream) {
		s->incomplete = 1;
		set_state(s, FTPI_SS_LOGIN);
	} else {
		set_state(s, FTPI_SS_GREETING);
	}
	s->next = ftp->sessions;
	if (ftp->sessions)
		ftp->sessions->prev = s;
	ftp->sessions = s;
	FTPI__COUNT(ftp->cx, sessions_created);
	ftp->cx->st.sessions_active++;
	pair_link(ftp, s);
	count_server(ftp, s);
	ftpi__event_of(&ev, FTPI_EV_SESSION_START, &s->fs);
	ev.ts_us = s->start_us;
	ftpi__emit(ftp->cx, &ev);

	check_allowed(ftp, s);
	return s;
}

static void emit_session_end(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	struct ftpi_event ev;
	struct ftpi__tls_namebufs nb;
	ftpi__event_of(&ev, FTPI_EV_SESSION_END, &s->fs);
	struct ftpi_session_info *si = &ev.u.session;
	si->user.ptr = s->user;
	si->user.len = s->user_len;
	si->login = s->login;
	si->tls = s->tls;
	si->prot = s->prot;
	si->incomplete = s->incomplete;
	si->start_us = s->start_us;
	si->end_us = s->end_us;
	si->commands = s->commands;
	si->replies = s->replies;
	si->data_connections = s->n_dconns;
	si->findings_mask = s->fs.findings_mask;
	si->findings_order = s->fs.order;
	si->findings_order_len = s->fs.n_order;
	si->banner.ptr = s->banner;
	si->banner.len = s->banner_len;
	if (s->tlsp)
		ftpi__tlsreview_info(ftp->tlsr, s->tlsp, s->cert, &si->tls_info, &nb);
	ev.ts_us = ftp->cx->now_us;
	ftpi__emit(ftp->cx, &ev);
}

void ftpi__session_detach(struct ftpi_session *s)
{
	s->flow = NULL;
	s->fs.ndpi_risks = NULL;
}

static void finish_line(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir);

void ftpi__session_close(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	if (s->ended)
		return;
	finish_line(ftp, s, FTPI_DIR_TO_SERVER);
	finish_line(ftp, s, FTPI_DIR_TO_CLIENT);
	s->ended = 1;
	s->end_us = ftp->cx->now_us;
	if (s->flow) {
		s->flow->app = NULL;
		ftpi__session_detach(s);
	}
	if (s->in_multi) {
		s->in_multi = 0;
		s->incomplete = 1;
	}
	ftp->hooks.ending(ftp->hooks.user, s);
	if (s->tlsp && !s->tls_reported) {
		s->tls_reported = 1;
		ftpi__tlsreview_report(ftp->cx, ftp->tlsr, &s->fs, s->tlsp, &s->cert);
	}
	set_state(s, FTPI_SS_CLOSED);
	emit_session_end(ftp, s);
	session_unlink(ftp, s);
	session_free(ftp, s);
}

void ftpi__session_implicit_tls(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	s->tls = FTPI_TLS_IMPLICIT;
	set_state(s, FTPI_SS_TLS_HANDSHAKE);
	if (s->server)
		s->server->tls_sessions++;
	if (s->tlsp == NULL) {
		s->tlsp = ftpi__alloc(ftp->cx, FTPI__POOL_TLS, sizeof *s->tlsp);
		if (s->tlsp)
			ftpi__tls_init(s->tlsp);
	}
	ftpi__finding_once(ftp->cx, &s->fs, FTPI_FINDING_IMPLICIT_TLS,
			   "implicit FTPS: the control channel is TLS from the first byte; "
			   "commands, logins and data announcements cannot be read",
			   "TLS ClientHello where the FTP greeting was expected");
}

/* Sessions are indexed by their unordered host pair, so that a new connection finds the
 * sessions between its two hosts without walking all of them. */
static uint32_t pair_bucket(const struct ftpi__ftp *ftp, const struct ftpi_addr *a,
			    const struct ftpi_addr *b)
{
	struct ftpi_endpoint x, y;
	memset(&x, 0, sizeof x);
	memset(&y, 0, sizeof y);
	x.addr = *a;
	y.addr = *b;
	return (uint32_t)(ftpi__flow_hash(ftp->cx, &x, &y) & (FTPI__PAIR_BUCKETS - 1));
}

static int pair_match(const struct ftpi_session *s, const struct ftpi_addr *a,
		      const struct ftpi_addr *b)
{
	return (ftpi__addr_eq(&s->cli.addr, a) && ftpi__addr_eq(&s->srv.addr, b)) ||
	       (ftpi__addr_eq(&s->cli.addr, b) && ftpi__addr_eq(&s->srv.addr, a));
}

struct ftpi_session *ftpi__session_pair_next(struct ftpi_session *s, const struct ftpi_addr *a,
					     const struct ftpi_addr *b)
{
	for (s = s->pnext; s; s = s->pnext)
		if (pair_match(s, a, b))
			return s;
	return NULL;
}

struct ftpi_session *ftpi__session_pair_first(struct ftpi__ftp *ftp, const struct ftpi_addr *a,
					      const struct ftpi_addr *b)
{
	if (ftp->pair_buckets == NULL)
		return NULL;
	struct ftpi_session *s = ftp->pair_buckets[pair_bucket(ftp, a, b)];
	if (s == NULL || pair_match(s, a, b))
		return s;
	return ftpi__session_pair_next(s, a, b);
}

static void pair_link(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	if (ftp->pair_buckets == NULL)
		return;
	struct ftpi_session **head = &ftp->pair_buckets[pair_bucket(ftp, &s->cli.addr, &s->srv.addr)];
	s->pnext = *head;
	if (s->pnext)
		s->pnext->ppprev = &s->pnext;
	s->ppprev = head;
	*head = s;
}

/* Without a walk: the sessions between two busy hosts (a password guesser's, say) share a
 * chain, however long. */
static void pair_unlink(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	(void)ftp;
	if (s->ppprev == NULL)
		return;
	*s->ppprev = s->pnext;
	if (s->pnext)
		s->pnext->ppprev = s->ppprev;
	s->pnext = NULL;
	s->ppprev = NULL;
}

/* ---- the control byte loop ---- */

struct line_ctx {
	struct ftpi__ftp *ftp;
	struct ftpi_session *s;
	int dir;
	int was_tls; /* the framer runs inside TLS records (NULL cipher): no phase change */
};

/* An overlong line: an anomaly naming its length (the line itself is still parsed). */
static void overlong(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir, const char *text,
		     size_t len)
{
	const struct ftpi_line *l = &s->line[dir];
	char detail[160];
	int cmd = dir == FTPI_DIR_TO_SERVER;
	ftpi__buf_printf(detail, sizeof detail, 0, "%s line of %s%llu bytes%s, longer than "
			 "max_line_len (%u)", cmd ? "command" : "reply",
			 l->unterminated ? "at least " : "", (unsigned long long)l->over,
			 l->unterminated ? " without a line end" : "", ftp->cx->cfg.max_line_len);
	ftpi__ftp_anomaly(ftp, s, cmd ? "overlong_command" : "overlong_reply", detail,
			  cmd ? FTPI__EVD_COMMAND : FTPI__EVD_SERVER, text, FTPI__MIN(len, 64));
}

static int on_line(void *ctx, const char *text, size_t len, int truncated)
{
	struct line_ctx *c = ctx;
	if (truncated)
		overlong(c->ftp, c->s, c->dir, text, len);
	if (c->dir == FTPI_DIR_TO_SERVER)
		ftpi__ftp_command(c->ftp, c->s, text, len, truncated);
	else
		ftpi__ftp_reply_line(c->ftp, c->s, text, len, truncated);
	/* After 234 the next bytes in both directions are TLS: stop framing this chunk. */
	return (in_tls(c->s) && !c->was_tls) || c->s->ended;
}

/* An overlong line still open when the stream ends or loses bytes is reported with its
 * length so far. */
static void finish_line(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir)
{
	struct line_ctx c = {ftp, s, dir, in_tls(s)};
	ftpi__line_finish(ftp->cx, &s->line[dir], on_line, &c);
}

/* Frames clear text; returns the bytes consumed (fewer when the channel turned to TLS), or
 * (size_t)-1 when the line buffer could not be allocated. */
static size_t frame_lines(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir,
			  const uint8_t *p, size_t n)
{
	struct line_ctx c = {ftp, s, dir, in_tls(s)};
	return ftpi__line_feed(ftp->cx, &s->line[dir], p, n, on_line, &c);
}

static void null_cipher_text(void *ctx, const uint8_t *p, size_t n)
{
	struct line_ctx *c = ctx;
	if (!c->s->ended && frame_lines(c->ftp, c->s, c->dir, p, n) == (size_t)-1)
		c->s->incomplete = 1;
}

/* Feeds the handshake reader; reports the handshake once the certificate had its chance to be
 * seen; notices a NULL-encryption suite (its records' text is read like clear text). */
static void read_handshake(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir,
			   const uint8_t *p, size_t n)
{
	struct ftpi__tls *t = s->tlsp;
	if (t == NULL)
		return;
	ftpi__tls_feed(ftp->cx, t, dir, p, n);
	if (!s->tls_reported && t->seen_server_hello &&
	    (t->version >= 0x0304 || t->dir[1].encrypted || t->state == FTPI__TLS_DONE)) {
		s->tls_reported = 1;
		ftpi__tlsreview_report(ftp->cx, ftp->tlsr, &s->fs, t, &s->cert);
		if (s->state == FTPI_SS_TLS_HANDSHAKE)
			set_state(s, FTPI_SS_TLS);
	}
	if (s->null_mac == 0 && t->seen_server_hello) {
		int mac = ftpi__tls_null_mac_len(&ftp->tlsr->names, t->cipher);
		s->null_mac = mac > 0 ? (int16_t)mac : -1;
		for (int d = 0; mac > 0 && d < 2; d++) { /* the text inside the records is read */
			s->line[d].len = 0;
			s->line[d].resync = 0;
			s->line[d].discard = 0;
			s->line[d].iac = 0;
		}
	}
}

/* The bytes of one direction stopped being TLS records: back to clear text (CCC). */
static void back_to_clear(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir)
{
	if (s->rec[dir].records > 0 && !ftpi__subject_has(&s->fs, FTPI_FINDING_CCC_DOWNGRADE))
		ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_CCC_DOWNGRADE, NULL, NULL,
			      "the control channel returned to clear text after TLS (CCC)",
			      "clear-text FTP after TLS records on the control connection");
	set_state(s, FTPI_SS_AFTER_CCC);
	ftpi__line_gap(&s->line[dir]);
	s->line[dir].resync = 0;
}

/* After a gap: do the bytes right after it start a line? They are judged on the bytes the
 * framer holds from earlier chunks followed by this chunk's first ones, so the answer does not
 * depend on how the bytes were segmented. Yes: the framer goes on with the line it holds. No:
 * dropped up to the next LF. Too few bytes to tell: the framer holds this chunk too. */
static void judge_probe(struct ftpi_line *l, int dir, const uint8_t *p, size_t n)
{
	uint8_t q[FTPI__LINE_PROBE];
	size_t m = l->buf ? FTPI__MIN((size_t)l->len, sizeof q) : 0;
	if (m)
		memcpy(q, l->buf, m);
	size_t k = FTPI__MIN(n, sizeof q - m);
	memcpy(q + m, p, k);
	m += k;
	if (ftpi__ftp_starts_line(dir, q, m)) {
		l->resync = 0;
		l->probe = 0;
	} else if (m >= FTPI__LINE_PROBE - 2 || memchr(q, '\n', m) != NULL) {
		l->probe = 0; /* a verb and its space, or a code and its mark, fit in 6 bytes */
		l->len = 0;
	}
}

void ftpi__session_data(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir,
			const uint8_t *p, size_t n)
{
	if (s->ended)
		return;
	s->end_us = ftp->cx->now_us;
	if (s->line[dir].resync && s->line[dir].probe)
		judge_probe(&s->line[dir], dir, p, n);
	while (n && !s->ended) {
		size_t used;
		if (in_tls(s)) {
			struct line_ctx c = {ftp, s, dir, 1};
			int clear;
			read_handshake(ftp, s, dir, p, n);
			used = ftpi__tlsrec_walk(&s->rec[dir], p, n, s->null_mac, null_cipher_text,
						 &c, &clear);
			if (!clear || s->ended)
				return;
			back_to_clear(ftp, s, dir);
		} else {
			used = frame_lines(ftp, s, dir, p, n);
			if (used == (size_t)-1) {
				s->incomplete = 1;
				return;
			}
		}
		p += used;
		n -= used;
	}
}

void ftpi__session_gap(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir, uint64_t n)
{
	if (s->ended)
		return;
	s->incomplete = 1;
	finish_line(ftp, s, dir);
	char detail[96];
	ftpi__buf_printf(detail, sizeof detail, 0, "%llu bytes lost in the %s direction",
			 (unsigned long long)n, dir == FTPI_DIR_TO_SERVER ? "client" : "server");
	ftpi__ftp_anomaly(ftp, s, "gap", detail, FTPI__EVD_SERVER, NULL, 0);
	if (in_tls(s)) {
		if (s->tlsp)
			ftpi__tls_gap(s->tlsp, dir);
		s->rec[dir].left = 0;
		s->rec[dir].hdr_len = 0;
		return;
	}
	ftpi__line_gap(&s->line[dir]);
	if (dir == FTPI_DIR_TO_CLIENT && s->in_multi)
		s->in_multi = 0;
	if (dir == FTPI_DIR_TO_SERVER) /* commands may have been lost */
		s->lost_sync = 1;
}
