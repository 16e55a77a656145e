/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.c - FTP control sessions: the login / TLS / PROT / transfer state machine over framed
 * lines (RFC 959 §5.4 command-reply sequences, RFC 2228 §3 AUTH/PBSZ/PROT/CCC, RFC 4217 §4-§9,
 * RFC 2428 EPRT/EPSV, RFC 3659, RFC 7151), the findings of the risk table that the control
 * channel shows, and the session's lifecycle events. Replies are paired with pending commands in
 * order (pipelining allowed); multi-line replies are collected up to a cap. After AUTH is
 * accepted the channel is TLS: its handshake goes to tls.c, its records are skipped, and a return
 * to clear text (CCC) is noticed when the bytes stop being TLS records. There is exactly one
 * place that changes a session's state: set_state().
 */
#include "engine.h"
#include "flow.h"
#include "session.h"
#include "ndpi_glue.h"
#include "tlsreview.h"

struct ftpi_bf {
	struct ftpi_addr addr;
	uint32_t count;
	uint8_t raised;
	uint64_t window_start;
};
#define FTPI__BF_MAX 4096

static int upc_c(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 32 : c;
}

/* The one place a session's state changes (curl's ftp_state_low): a breakpoint here sees every
 * transition with the line that asked for it. */
static void set_state(struct ftpi_session *s, int st, int line)
{
	(void)line;
	s->state = st;
}
#define SET_STATE(s, st) set_state((s), (st), __LINE__)

uint64_t ftpi__session_id(const struct ftpi_session *s)
{
	return s ? s->id : 0;
}

/* ---- findings ---- */

void ftpi__finding(struct ftpi_engine *e, struct ftpi_session *s, int kind,
		   const struct ftpi_endpoint *client, const struct ftpi_endpoint *server,
		   const char *message, const char *evidence)
{
	struct ftpi_event ev;

	if (kind < 0 || kind >= FTPI_FINDING__COUNT)
		return;
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_FINDING;
	ev.session_id = s ? s->id : 0;
	if (client)
		ev.client = *client;
	else if (s)
		ev.client = s->cli;
	if (server)
		ev.server = *server;
	else if (s)
		ev.server = s->srv;
	ev.u.finding.kind = kind;
	ev.u.finding.severity = ftpi_finding_default_severity(kind);
	ev.u.finding.message.ptr = message;
	ev.u.finding.message.len = message ? strlen(message) : 0;
	/* nDPI's own verdict on the same flow, where it saw the same risk */
	static const struct {
		int kind;
		uint32_t bit;
		const char *text;
	} ndpi_ev[] = {
		{FTPI_FINDING_PLAINTEXT_AUTH, FTPI__NDPI_RISK_CLEAR_CREDENTIALS,
		 "clear-text credentials"},
		{FTPI_FINDING_TLS_WEAK_VERSION, FTPI__NDPI_RISK_TLS_OBSOLETE_VERSION,
		 "obsolete TLS version"},
		{FTPI_FINDING_TLS_WEAK_CIPHER, FTPI__NDPI_RISK_TLS_WEAK_CIPHER, "weak TLS cipher"},
		{FTPI_FINDING_TLS_CERT_SELF_SIGNED, FTPI__NDPI_RISK_TLS_SELFSIGNED,
		 "self-signed certificate"},
		{FTPI_FINDING_TLS_CERT_EXPIRED, FTPI__NDPI_RISK_TLS_EXPIRED, "certificate expired"},
		{FTPI_FINDING_TLS_CERT_NAME_MISMATCH, FTPI__NDPI_RISK_TLS_MISMATCH,
		 "certificate mismatch"},
	};
	char evbuf[700];
	const char *evd = evidence ? evidence : "";
	uint32_t risks = s && s->flow ? s->flow->ndpi_risks : 0;
	for (size_t i = 0; risks && i < FTPI__ARRAY_LEN(ndpi_ev); i++) {
		if (ndpi_ev[i].kind == kind && (risks & ndpi_ev[i].bit)) {
			ftpi__buf_printf(evbuf, sizeof evbuf, 0, "%s%snDPI risk: %s", evd,
					 *evd ? "; " : "", ndpi_ev[i].text);
			evd = evbuf;
		}
	}
	ev.u.finding.evidence.ptr = evd;
	ev.u.finding.evidence.len = strlen(evd);
	FTPI__COUNT(e, findings);
	if (kind < (int)FTPI__ARRAY_LEN(e->st.findings_by_kind))
		e->st.findings_by_kind[kind]++;
	if (s && !(s->findings_mask & (1ull << kind))) {
		s->findings_mask |= 1ull << kind;
		if (s->n_findings_order < FTPI__ARRAY_LEN(s->findings_order))
			s->findings_order[s->n_findings_order++] = (uint8_t)kind;
	}
	ftpi__emit(e, &ev);
}

void ftpi__finding_once(struct ftpi_engine *e, struct ftpi_session *s, int kind,
			const char *message, const char *evidence)
{
	if (s && (s->findings_mask & (1ull << kind)))
		return;
	ftpi__finding(e, s, kind, NULL, NULL, message, evidence);
}

static void anomaly(struct ftpi_engine *e, struct ftpi_session *s, const char *kind,
		    const char *detail, const char *line, size_t len)
{
	char ev_txt[300];
	size_t n = 0;
	struct ftpi_event ev;

	FTPI__COUNT(e, anomalies);
	if (line)
		n = ftpi__buf_escape(ev_txt, 200, 0, line, FTPI__MIN(len, 120));
	else
		ev_txt[0] = '\0';
	(void)n;
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_ANOMALY;
	ev.session_id = s->id;
	ev.client = s->cli;
	ev.server = s->srv;
	ev.u.anomaly.kind.ptr = kind;
	ev.u.anomaly.kind.len = strlen(kind);
	ev.u.anomaly.detail.ptr = detail;
	ev.u.anomaly.detail.len = strlen(detail);
	ftpi__emit(e, &ev);
	if (s->anomaly_findings < FTPI__ANOMALY_FINDINGS_MAX) {
		s->anomaly_findings++;
		char msg[160];
		ftpi__buf_printf(msg, sizeof msg, 0, "%s", detail);
		ftpi__finding(e, s, FTPI_FINDING_PROTOCOL_ANOMALY, NULL, NULL, msg, ev_txt);
	}
}

/* ---- engine-level FTP state ---- */

int ftpi__ftp_init(struct ftpi_engine *e)
{
	e->exp_nbuckets = 4096;
	e->exp_buckets = ftpi__alloc(e, FTPI__POOL_EXPECT, e->exp_nbuckets * sizeof *e->exp_buckets);
	if (e->exp_buckets == NULL)
		return FTPI_E_NOMEM;
	e->next_session_id = 1;
	e->pair_buckets = ftpi__alloc(e, FTPI__POOL_SESSION,
				      FTPI__PAIR_BUCKETS * sizeof *e->pair_buckets);
	if (e->pair_buckets == NULL)
		return FTPI_E_NOMEM;
	return ftpi__tlsreview_init(e);
}

static void session_free(struct ftpi_engine *e, struct ftpi_session *s)
{
	ftpi__line_release(e, &s->line[0]);
	ftpi__line_release(e, &s->line[1]);
	if (s->tlsp) {
		ftpi__tls_release(e, s->tlsp);
		ftpi__free(e, FTPI__POOL_TLS, s->tlsp, sizeof *s->tlsp);
	}
	if (s->cert)
		ftpi__free(e, FTPI__POOL_TLS, s->cert, sizeof *s->cert);
	ftpi__free(e, FTPI__POOL_SESSION, s, sizeof *s);
}

static void pair_unlink(struct ftpi_engine *e, struct ftpi_session *s);
static void pair_link(struct ftpi_engine *e, struct ftpi_session *s);

static void session_unlink(struct ftpi_engine *e, struct ftpi_session *s)
{
	pair_unlink(e, s);
	if (s->prev)
		s->prev->next = s->next;
	else
		e->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	e->st.sessions_active--;
}

void ftpi__ftp_release(struct ftpi_engine *e)
{
	/* Flows are gone already (their dconns were released with them). */
	ftpi__expect_flush(e);
	while (e->sessions) {
		struct ftpi_session *s = e->sessions;
		session_unlink(e, s);
		while (s->dconns) {
			struct ftpi_dconn *d = s->dconns;
			s->dconns = d->snext;
			if (d->tlsp) {
				ftpi__tls_release(e, d->tlsp);
				ftpi__free(e, FTPI__POOL_TLS, d->tlsp, sizeof *d->tlsp);
			}
			ftpi__free(e, FTPI__POOL_SESSION, d, sizeof *d);
		}
		session_free(e, s);
	}
	while (e->servers) {
		struct ftpi_server *sv = e->servers;
		e->servers = sv->next;
		ftpi__free(e, FTPI__POOL_MISC, sv, sizeof *sv);
	}
	e->n_servers = 0;
	if (e->bf)
		ftpi__free(e, FTPI__POOL_MISC, e->bf, FTPI__BF_MAX * sizeof *e->bf);
	e->bf = NULL;
	e->n_bf = 0;
	ftpi__free(e, FTPI__POOL_EXPECT, e->exp_buckets, e->exp_nbuckets * sizeof *e->exp_buckets);
	e->exp_buckets = NULL;
	ftpi__free(e, FTPI__POOL_SESSION, e->pair_buckets,
		   FTPI__PAIR_BUCKETS * sizeof *e->pair_buckets);
	e->pair_buckets = NULL;
	ftpi__tlsreview_release(e);
}

void ftpi__ftp_tick(struct ftpi_engine *e, uint64_t now)
{
	ftpi__expect_tick(e, now);
}

void ftpi__ftp_flush(struct ftpi_engine *e)
{
	/* Flows ended first (engine.c): every session has been closed by now, unless created by a
	 * stream still open - those are closed here too. */
	while (e->sessions)
		ftpi__session_close(e, e->sessions);
	ftpi__expect_flush(e);
	ftpi__servers_flush(e);
	if (e->bf)
		e->n_bf = 0;
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

struct ftpi_session *ftpi__session_new(struct ftpi_engine *e, struct ftpi_flow *f)
{
	struct ftpi_session *s;
	struct ftpi_event ev;

	if (e->st.sessions_active >= e->cfg.max_sessions) {
		FTPI__COUNT(e, sessions_memcap);
		return NULL;
	}
	s = ftpi__alloc(e, FTPI__POOL_SESSION, sizeof *s);
	if (s == NULL) {
		FTPI__COUNT(e, sessions_memcap);
		return NULL;
	}
	s->id = e->next_session_id++;
	s->flow = f;
	s->cli = f->cli;
	s->srv = f->srv;
	s->start_us = f->first_us ? f->first_us : e->now_us;
	s->end_us = e->now_us;
	s->midstream = f->midstream;
	if (f->midstream) {
		s->incomplete = 1;
		SET_STATE(s, FTPI_SS_LOGIN);
	} else {
		SET_STATE(s, FTPI_SS_GREETING);
	}
	s->next = e->sessions;
	if (e->sessions)
		e->sessions->prev = s;
	e->sessions = s;
	FTPI__COUNT(e, sessions_created);
	e->st.sessions_active++;
	pair_link(e, s);

	s->server = ftpi__server_get(e, &s->srv);
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

	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_SESSION_START;
	ev.session_id = s->id;
	ev.client = s->cli;
	ev.server = s->srv;
	ev.ts_us = s->start_us;
	ftpi__emit(e, &ev);

	int cli_ok = addr_allowed(e->allow_clients, e->cfg.n_allow_clients, &s->cli.addr);
	int srv_ok = addr_allowed(e->allow_servers, e->cfg.n_allow_servers, &s->srv.addr);
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
		ftpi__finding(e, s, FTPI_FINDING_HOST_NOT_ALLOWED, NULL, NULL, msg, evd);
	}
	return s;
}

static void emit_session_end(struct ftpi_engine *e, struct ftpi_session *s)
{
	struct ftpi_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_SESSION_END;
	ev.session_id = s->id;
	ev.client = s->cli;
	ev.server = s->srv;
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
	si->findings_mask = s->findings_mask;
	si->findings_order = s->findings_order;
	si->findings_order_len = s->n_findings_order;
	si->banner.ptr = s->banner;
	si->banner.len = s->banner_len;
	if (s->tlsp)
		ftpi__tlsreview_info(e, s, &si->tls_info);
	ev.ts_us = e->now_us;
	ftpi__emit(e, &ev);
}

void ftpi__session_close(struct ftpi_engine *e, struct ftpi_session *s)
{
	if (s->ended)
		return;
	s->ended = 1;
	s->end_us = e->now_us;
	if (s->flow) {
		s->flow->app = NULL;
		s->flow = NULL;
	}
	if (s->in_multi) {
		s->in_multi = 0;
		s->incomplete = 1;
	}
	ftpi__expect_session_end(e, s);
	ftpi__dconn_session_end(e, s);
	if (s->tlsp && !s->tls_reported) {
		s->tls_reported = 1;
		ftpi__tlsreview_report(e, s, s->tlsp, &s->cli, &s->srv);
	}
	SET_STATE(s, FTPI_SS_CLOSED);
	emit_session_end(e, s);
	session_unlink(e, s);
	session_free(e, s);
}

void ftpi__session_implicit_tls(struct ftpi_engine *e, struct ftpi_session *s)
{
	s->tls = FTPI_TLS_IMPLICIT;
	s->encrypted = 1;
	SET_STATE(s, FTPI_SS_TLS);
	if (s->server)
		s->server->tls_sessions++;
	if (s->tlsp == NULL) {
		s->tlsp = ftpi__alloc(e, FTPI__POOL_TLS, sizeof *s->tlsp);
		if (s->tlsp)
			ftpi__tls_init(s->tlsp);
	}
	ftpi__finding_once(e, s, FTPI_FINDING_IMPLICIT_TLS,
			   "implicit FTPS: the control channel is TLS from the first byte; "
			   "commands, logins and data announcements cannot be read",
			   "TLS ClientHello where the FTP greeting was expected");
}

/* Sessions are indexed by their unordered host pair, so that a new connection finds the
 * sessions between its two hosts without walking all of them. */
static uint32_t pair_bucket(const struct ftpi_engine *e, const struct ftpi_addr *a,
			    const struct ftpi_addr *b)
{
	struct ftpi_endpoint x, y;
	memset(&x, 0, sizeof x);
	memset(&y, 0, sizeof y);
	x.addr = *a;
	y.addr = *b;
	return (uint32_t)(ftpi__flow_hash(e, &x, &y) & (FTPI__PAIR_BUCKETS - 1));
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

struct ftpi_session *ftpi__session_pair_first(struct ftpi_engine *e, const struct ftpi_addr *a,
					      const struct ftpi_addr *b)
{
	if (e->pair_buckets == NULL)
		return NULL;
	struct ftpi_session *s = e->pair_buckets[pair_bucket(e, a, b)];
	if (s == NULL || pair_match(s, a, b))
		return s;
	return ftpi__session_pair_next(s, a, b);
}

static void pair_link(struct ftpi_engine *e, struct ftpi_session *s)
{
	if (e->pair_buckets == NULL)
		return;
	s->pair_bucket = pair_bucket(e, &s->cli.addr, &s->srv.addr);
	s->pnext = e->pair_buckets[s->pair_bucket];
	e->pair_buckets[s->pair_bucket] = s;
}

static void pair_unlink(struct ftpi_engine *e, struct ftpi_session *s)
{
	if (e->pair_buckets == NULL)
		return;
	struct ftpi_session **pp = &e->pair_buckets[s->pair_bucket];
	while (*pp && *pp != s)
		pp = &(*pp)->pnext;
	if (*pp)
		*pp = s->pnext;
	s->pnext = NULL;
}

static void emit_login(struct ftpi_engine *e, struct ftpi_session *s)
{
	struct ftpi_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_LOGIN;
	ev.session_id = s->id;
	ev.client = s->cli;
	ev.server = s->srv;
	ev.u.login.user.ptr = s->user;
	ev.u.login.user.len = s->user_len;
	ev.u.login.result = s->login;
	ev.u.login.anonymous = s->anonymous;
	ev.u.login.cleartext = !FTPI__UNREADABLE(s);
	ftpi__emit(e, &ev);
}

/* ---- brute force ---- */

static void brute_force_count(struct ftpi_engine *e, struct ftpi_session *s)
{
	struct ftpi_bf *b = NULL;
	uint64_t now = e->now_us;

	if (e->cfg.brute_force_threshold == 0)
		return;
	if (e->bf == NULL) {
		e->bf = ftpi__alloc(e, FTPI__POOL_MISC, FTPI__BF_MAX * sizeof *e->bf);
		if (e->bf == NULL)
			return;
	}
	for (uint32_t i = 0; i < e->n_bf; i++)
		if (ftpi__addr_eq(&e->bf[i].addr, &s->cli.addr)) {
			b = &e->bf[i];
			break;
		}
	if (b == NULL) {
		if (e->n_bf < FTPI__BF_MAX) {
			b = &e->bf[e->n_bf++];
		} else { /* full: reuse the entry with the oldest window */
			b = &e->bf[0];
			for (uint32_t i = 1; i < e->n_bf; i++)
				if (e->bf[i].window_start < b->window_start)
					b = &e->bf[i];
		}
		memset(b, 0, sizeof *b);
		b->addr = s->cli.addr;
		b->window_start = now;
	}
	if (now - b->window_start > e->cfg.brute_force_window) {
		b->window_start = now;
		b->count = 0;
		b->raised = 0;
	}
	b->count++;
	if (b->count >= e->cfg.brute_force_threshold && !b->raised) {
		char msg[160], evd[160];
		size_t n;
		b->raised = 1;
		n = ftpi__buf_printf(msg, sizeof msg, 0, "%u failed logins from ", b->count);
		n = ftpi__buf_endpoint(msg, sizeof msg, n, &s->cli);
		ftpi__buf_printf(msg, sizeof msg, n, " within %llu s",
				 (unsigned long long)(e->cfg.brute_force_window / 1000000));
		n = ftpi__buf_printf(evd, sizeof evd, 0, "threshold %u; last user \"",
				     e->cfg.brute_force_threshold);
		n = ftpi__buf_escape(evd, sizeof evd, n, s->user, s->user_len);
		ftpi__buf_printf(evd, sizeof evd, n, "\"");
		ftpi__finding(e, s, FTPI_FINDING_BRUTE_FORCE, NULL, NULL, msg, evd);
	}
}

/* ---- commands ---- */

struct line_ctx {
	struct ftpi_engine *e;
	struct ftpi_session *s;
	int dir;
	int was_encrypted; /* the line framer runs inside TLS records (NULL cipher) */
};

static void upper_copy(char *dst, size_t cap, const char *src, size_t n)
{
	size_t i;
	for (i = 0; i < n && i + 1 < cap; i++)
		dst[i] = (char)upc_c((unsigned char)src[i]);
	dst[i] = '\0';
}

static int is_anonymous(const char *u, size_t n)
{
	return (n == 9 && strncasecmp(u, "anonymous", 9) == 0) ||
	       (n == 3 && strncasecmp(u, "ftp", 3) == 0);
}

static void announce_active(struct ftpi_engine *e, struct ftpi_session *s, int ann,
			    const struct ftpi_endpoint *ep, const char *line, size_t len)
{
	if (!ftpi__addr_eq(&ep->addr, &s->cli.addr)) {
		char msg[200], evd[300];
		size_t n = ftpi__buf_printf(msg, sizeof msg, 0, "%s names ", ftpi_announce_name(ann));
		n = ftpi__buf_endpoint(msg, sizeof msg, n, ep);
		n = ftpi__buf_printf(msg, sizeof msg, n, ", not the control client ");
		char a[64];
		ftpi_addr_format(&s->cli.addr, a, sizeof a);
		if (ftpi__addr_is_private(&ep->addr) && !ftpi__addr_is_private(&s->cli.addr))
			ftpi__buf_printf(msg, sizeof msg, n,
					 "%s: the server is asked to connect elsewhere (a private "
					 "address: a client behind NAT without an FTP helper, or a "
					 "bounce)",
					 a);
		else
			ftpi__buf_printf(msg, sizeof msg, n,
					 "%s: the server is asked to connect to a third host", a);
		ftpi__buf_escape(evd, sizeof evd, 0, line, FTPI__MIN(len, 200));
		ftpi__finding(e, s, FTPI_FINDING_BOUNCE, NULL, NULL, msg, evd);
	}
	if (s->server)
		s->server->active_count++;
	ftpi__expect_add(e, s, ann, 1, ep, 0);
}

static void handle_command(struct ftpi_engine *e, struct ftpi_session *s, const char *line,
			   size_t len, int truncated)
{
	struct ftpi_span verb, arg;
	char vbuf[8];
	struct ftpi_event ev;

	s->commands++;
	FTPI__COUNT(e, ftp_commands);
	if (truncated)
		anomaly(e, s, "overlong_command", "command line longer than max_line_len", line, len);
	if (len == 0)
		return;
	if (!ftpi__cmd_split(line, len, &verb, &arg)) {
		anomaly(e, s, "garbage_command", "not an FTP command line", line, len);
		return;
	}
	int v = ftpi__verb_lookup(verb.ptr, verb.len);
	upper_copy(vbuf, sizeof vbuf, verb.ptr, verb.len);

	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_COMMAND;
	ev.session_id = s->id;
	ev.client = s->cli;
	ev.server = s->srv;
	ev.u.command.verb.ptr = vbuf;
	ev.u.command.verb.len = strlen(vbuf);
	ev.u.command.arg = arg;
	if (v == FTPI_CMD_PASS && e->cfg.redact_credentials) {
		ev.u.command.arg.ptr = "***";
		ev.u.command.arg.len = 3;
	}
	ftpi__emit(e, &ev);

	/* queue it for its reply */
	struct ftpi_pending *p;
	if (s->pend_count == FTPI__PENDING_MAX) { /* a client that never reads replies */
		s->pend_head = (uint8_t)((s->pend_head + 1) % FTPI__PENDING_MAX);
		s->pend_count--;
	}
	p = &s->pend[(s->pend_head + s->pend_count) % FTPI__PENDING_MAX];
	s->pend_count++;
	memset(p, 0, offsetof(struct ftpi_pending, arg));
	p->verb = (uint8_t)v;
	p->frame = e->frame;
	p->arg_len = (uint16_t)FTPI__MIN(arg.len, sizeof p->arg);
	memcpy(p->arg, arg.ptr, p->arg_len);

	struct ftpi_endpoint ep;
	switch (v) {
	case FTPI_CMD_USER:
		s->user_len = (uint16_t)FTPI__MIN(arg.len, sizeof s->user);
		memcpy(s->user, arg.ptr, s->user_len);
		s->anonymous = is_anonymous(arg.ptr, arg.len);
		break;
	case FTPI_CMD_PASS:
		if (!FTPI__UNREADABLE(s) &&
		    !(s->findings_mask & (1ull << FTPI_FINDING_PLAINTEXT_AUTH))) {
			char msg[200], evd[300];
			size_t n = ftpi__buf_printf(msg, sizeof msg, 0,
						    "credentials sent in clear text on the control "
						    "channel (user \"");
			n = ftpi__buf_escape(msg, sizeof msg, n, s->user, FTPI__MIN(s->user_len, 64));
			ftpi__buf_printf(msg, sizeof msg, n, "\")%s",
					 s->encrypted ? " inside TLS with a NULL cipher (no encryption)"
						      : "");
			n = ftpi__buf_printf(evd, sizeof evd, 0, "USER ");
			n = ftpi__buf_escape(evd, sizeof evd, n, s->user, FTPI__MIN(s->user_len, 64));
			n = ftpi__buf_printf(evd, sizeof evd, n, " / PASS ");
			if (e->cfg.redact_credentials)
				n = ftpi__buf_printf(evd, sizeof evd, n, "***");
			else
				n = ftpi__buf_escape(evd, sizeof evd, n, arg.ptr, FTPI__MIN(arg.len, 64));
			ftpi__finding(e, s, FTPI_FINDING_PLAINTEXT_AUTH, NULL, NULL, msg, evd);
			if (s->server)
				s->server->clear_logins++;
		}
		if (!FTPI__UNREADABLE(s))
			s->pass_clear = 1;
		break;
	case FTPI_CMD_PORT:
	case FTPI_CMD_EPRT:
	case FTPI_CMD_LPRT: {
		/* RFC 959 §4.1.2, RFC 2428 §2, RFC 1639 */
		static const struct {
			uint8_t verb, ann;
			int (*parse)(const char *, size_t, struct ftpi_endpoint *);
			const char *kind, *what;
		} av[] = {
			{FTPI_CMD_PORT, FTPI_ANN_PORT, ftpi__parse_port, "bad_port",
			 "PORT argument does not parse"},
			{FTPI_CMD_EPRT, FTPI_ANN_EPRT, ftpi__parse_eprt, "bad_eprt",
			 "EPRT argument does not parse"},
			{FTPI_CMD_LPRT, FTPI_ANN_LPRT, ftpi__parse_lprt, "bad_lprt",
			 "LPRT argument does not parse"},
		};
		for (size_t i = 0; i < FTPI__ARRAY_LEN(av); i++) {
			if (av[i].verb != v)
				continue;
			if (av[i].parse(arg.ptr, arg.len, &ep))
				announce_active(e, s, av[i].ann, &ep, line, len);
			else
				anomaly(e, s, av[i].kind, av[i].what, line, len);
		}
		break;
	}
	case FTPI_CMD_EPSV:
		if (arg.len == 3 && strncasecmp(arg.ptr, "ALL", 3) == 0)
			s->epsv_all = 1;
		break;
	case FTPI_CMD_PROT:
		if (arg.len >= 1)
			p->prot = (uint8_t)upc_c((unsigned char)arg.ptr[0]);
		break;
	case FTPI_CMD_LIST:
	case FTPI_CMD_NLST:
	case FTPI_CMD_MLSD:
	case FTPI_CMD_RETR:
	case FTPI_CMD_STOR:
	case FTPI_CMD_STOU:
	case FTPI_CMD_APPE:
		memset(&s->xfer, 0, sizeof s->xfer);
		s->xfer.verb = (uint8_t)v;
		s->xfer.state = 1;
		s->xfer.file_len = (uint16_t)FTPI__MIN(arg.len, sizeof s->xfer.file);
		memcpy(s->xfer.file, arg.ptr, s->xfer.file_len);
		ftpi__dconn_xfer_update(e, s);
		break;
	default:
		break;
	}
}

/* ---- replies ---- */

static void cleartext_data(struct ftpi_engine *e, struct ftpi_session *s, const char *how)
{
	if (s->prot == 'P' || (s->findings_mask & (1ull << FTPI_FINDING_CLEARTEXT_DATA)))
		return;
	char msg[200], evd[200];
	ftpi__buf_printf(msg, sizeof msg, 0,
			 "data transfer without PROT P: file contents and listings cross in clear "
			 "text");
	size_t n = ftpi__buf_printf(evd, sizeof evd, 0, "%s; PROT %c; ", how,
				    s->prot ? s->prot : '-');
	n = ftpi__buf_printf(evd, sizeof evd, n, "%s", ftpi__verb_name(s->xfer.verb));
	if (s->xfer.file_len) {
		n = ftpi__buf_printf(evd, sizeof evd, n, " ");
		ftpi__buf_escape(evd, sizeof evd, n, s->xfer.file, FTPI__MIN(s->xfer.file_len, 80));
	}
	ftpi__finding(e, s, FTPI_FINDING_CLEARTEXT_DATA, NULL, NULL, msg, evd);
}

void ftpi__session_cleartext_data(struct ftpi_engine *e, struct ftpi_session *s, const char *how)
{
	cleartext_data(e, s, how);
}

static void passive_announce(struct ftpi_engine *e, struct ftpi_session *s, int ann,
			     struct ftpi_endpoint *ep, const char *text, size_t len)
{
	char msg[300], evd[300];
	size_t n;

	if (ep->addr.family == 0) /* EPSV: the control connection's address */
		ep->addr = s->srv.addr;
	if (!ftpi__addr_eq(&ep->addr, &s->srv.addr)) {
		if (!(s->findings_mask & (1ull << FTPI_FINDING_NAT_PRIVATE_PASV))) {
			char a[64], b[64];
			ftpi_addr_format(&ep->addr, a, sizeof a);
			ftpi_addr_format(&s->srv.addr, b, sizeof b);
			n = ftpi__buf_printf(msg, sizeof msg, 0,
					     "%s reply advertises %s%s, but the client reached the "
					     "server at %s: the server is behind NAT without its "
					     "public (helper) address",
					     ann == FTPI_ANN_LPSV ? "228" : "227", a,
					     ftpi__addr_is_private(&ep->addr) ? " (private)" : "",
					     b);
			if (s->tls != FTPI_TLS_NONE)
				ftpi__buf_printf(msg, sizeof msg, n,
						 "; under TLS no firewall can rewrite it");
			ftpi__buf_escape(evd, sizeof evd, 0, text, FTPI__MIN(len, 200));
			ftpi__finding(e, s, FTPI_FINDING_NAT_PRIVATE_PASV, NULL, NULL, msg, evd);
		}
		if (s->server)
			s->server->nat_problems++;
	}
	if (s->server) {
		struct ftpi_server *sv = s->server;
		if (sv->pasv_count == 0 || ep->port < sv->pasv_min)
			sv->pasv_min = ep->port;
		if (sv->pasv_count == 0 || ep->port > sv->pasv_max)
			sv->pasv_max = ep->port;
		sv->pasv_count++;
	}
	if (e->cfg.pasv_max && (ep->port < e->cfg.pasv_min || ep->port > e->cfg.pasv_max)) {
		ftpi__buf_printf(msg, sizeof msg, 0,
				 "passive port %u is outside the agreed range %u-%u", ep->port,
				 e->cfg.pasv_min, e->cfg.pasv_max);
		ftpi__buf_escape(evd, sizeof evd, 0, text, FTPI__MIN(len, 200));
		ftpi__finding(e, s, FTPI_FINDING_PASV_PORT_OUT_OF_POLICY, NULL, NULL, msg, evd);
		if (s->server)
			s->server->out_of_policy++;
	}
	ftpi__expect_add(e, s, ann, 0, ep, 1);
}

static void reset_login(struct ftpi_session *s)
{
	s->user_len = 0;
	s->login = FTPI_LOGIN_NONE;
	s->anonymous = 0;
	s->prot = 0;
	s->pbsz = 0;
	SET_STATE(s, FTPI_SS_LOGIN);
}

/* After commands were lost in a gap, a reply is paired with the oldest pending command only when
 * its code can answer that command (RFC 959 §5.4); codes that belong to one command family
 * answer nothing else. */
static int reply_fits(unsigned code, int verb)
{
	switch (code) {
	case 215:
		return verb == FTPI_CMD_SYST;
	case 257:
		return verb == FTPI_CMD_PWD || verb == FTPI_CMD_XPWD || verb == FTPI_CMD_MKD ||
		       verb == FTPI_CMD_XMKD;
	case 331:
		return verb == FTPI_CMD_USER;
	case 332:
		return verb == FTPI_CMD_USER || verb == FTPI_CMD_PASS;
	case 230:
	case 202:
		return verb == FTPI_CMD_USER || verb == FTPI_CMD_PASS || verb == FTPI_CMD_ACCT ||
		       verb == FTPI_CMD_REIN || code == 202;
	case 350:
		return verb == FTPI_CMD_REST || verb == FTPI_CMD_RNFR;
	case 226:
	case 250:
		return verb != FTPI_CMD_USER && verb != FTPI_CMD_PASS;
	default:
		return 1;
	}
}

static void final_reply(struct ftpi_engine *e, struct ftpi_session *s, unsigned code,
			const char *text, size_t tlen)
{
	struct ftpi_pending cmd;
	unsigned cls = code / 100;
	struct ftpi_endpoint ep;

	if (code == 227 || code == 228 || code == 229 || code == 234) {
		/* These replies name their command. When the head of the queue is another command,
		 * replies were lost (a gap): drop up to the matching command, or, when the command
		 * itself was lost, go on without it. */
		uint8_t want = code == 227   ? FTPI_CMD_PASV
			       : code == 228 ? FTPI_CMD_LPSV
			       : code == 229 ? FTPI_CMD_EPSV
					     : FTPI_CMD_AUTH;
		unsigned k, found = 0;
		for (k = 0; k < s->pend_count; k++)
			if (s->pend[(s->pend_head + k) % FTPI__PENDING_MAX].verb == want) {
				found = 1;
				break;
			}
		if (found && k > 0) {
			s->pend_head = (uint8_t)((s->pend_head + k) % FTPI__PENDING_MAX);
			s->pend_count = (uint8_t)(s->pend_count - k);
		} else if (!found) {
			memset(&cmd, 0, sizeof cmd);
			cmd.verb = want;
			goto have_cmd;
		}
	}
	if (s->pend_count == 0) {
		if (code == 220 && s->state == FTPI_SS_GREETING) {
			s->banner_len = (uint16_t)FTPI__MIN(tlen, sizeof s->banner);
			memcpy(s->banner, text, s->banner_len);
			SET_STATE(s, FTPI_SS_LOGIN);
			return;
		}
		if (code == 421 || code == 220 || s->midstream || s->incomplete)
			return;
		anomaly(e, s, "reply_without_command", "server reply with no pending command",
			text, tlen);
		return;
	}
	if (s->lost_sync && !reply_fits(code, s->pend[s->pend_head].verb))
		return; /* the reply of a command lost in a gap */
	cmd = s->pend[s->pend_head];
	s->pend_head = (uint8_t)((s->pend_head + 1) % FTPI__PENDING_MAX);
	s->pend_count--;
	if (s->pend_count == 0)
		s->lost_sync = 0;
have_cmd:
	if (s->state == FTPI_SS_GREETING)
		SET_STATE(s, FTPI_SS_LOGIN);

	switch (cmd.verb) {
	case FTPI_CMD_USER:
		if (code == 331 || code == 332) {
			SET_STATE(s, FTPI_SS_PASSWORD);
		} else if (code == 230) {
			s->login = FTPI_LOGIN_SUCCESS;
			SET_STATE(s, FTPI_SS_LOGGED_IN);
			emit_login(e, s);
			if (s->anonymous)
				ftpi__finding_once(e, s, FTPI_FINDING_ANONYMOUS_LOGIN,
						   "anonymous login accepted without a password",
						   s->user_len == 3 ? "USER ftp" : "USER anonymous");
		} else if (cls == 4 || cls == 5) {
			if (s->login != FTPI_LOGIN_SUCCESS)
				s->login = FTPI_LOGIN_FAILED;
		}
		break;
	case FTPI_CMD_PASS:
	case FTPI_CMD_ACCT:
		if (code == 230 || code == 202) {
			s->login = FTPI_LOGIN_SUCCESS;
			SET_STATE(s, FTPI_SS_LOGGED_IN);
			emit_login(e, s);
			if (s->anonymous)
				ftpi__finding_once(e, s, FTPI_FINDING_ANONYMOUS_LOGIN,
						   "anonymous login accepted",
						   s->user_len == 3 ? "USER ftp" : "USER anonymous");
		} else if (cls == 4 || cls == 5) {
			char msg[200], evd[300];
			size_t n;
			s->login = FTPI_LOGIN_FAILED;
			emit_login(e, s);
			n = ftpi__buf_printf(msg, sizeof msg, 0, "login failed for user \"");
			n = ftpi__buf_escape(msg, sizeof msg, n, s->user, FTPI__MIN(s->user_len, 64));
			ftpi__buf_printf(msg, sizeof msg, n, "\"");
			n = ftpi__buf_printf(evd, sizeof evd, 0, "%u ", code);
			ftpi__buf_escape(evd, sizeof evd, n, text, FTPI__MIN(tlen, 120));
			ftpi__finding(e, s, FTPI_FINDING_FAILED_LOGIN, NULL, NULL, msg, evd);
			brute_force_count(e, s);
			SET_STATE(s, FTPI_SS_LOGIN);
		}
		break;
	case FTPI_CMD_AUTH:
		if (code == 234) {
			s->tls = FTPI_TLS_EXPLICIT;
			s->encrypted = 1;
			SET_STATE(s, FTPI_SS_TLS);
			if (s->server)
				s->server->tls_sessions++;
			if (s->tlsp == NULL) {
				s->tlsp = ftpi__alloc(e, FTPI__POOL_TLS, sizeof *s->tlsp);
				if (s->tlsp)
					ftpi__tls_init(s->tlsp);
			}
			char evd[300];
			size_t n = ftpi__buf_printf(evd, sizeof evd, 0, "AUTH ");
			ftpi__buf_escape(evd, sizeof evd, n, cmd.arg, FTPI__MIN(cmd.arg_len, 32));
			ftpi__finding_once(e, s, FTPI_FINDING_ENCRYPTED_CONTROL,
					   "AUTH accepted (234): the rest of the control channel is "
					   "encrypted; commands and data announcements cannot be read",
					   evd);
		} else if (cls == 4 || cls == 5) {
			char msg[200], evd[300];
			size_t n = ftpi__buf_printf(msg, sizeof msg, 0,
						    "the server refused AUTH ");
			n = ftpi__buf_escape(msg, sizeof msg, n, cmd.arg, FTPI__MIN(cmd.arg_len, 32));
			ftpi__buf_printf(msg, sizeof msg, n,
					 ": the session continues in clear text");
			n = ftpi__buf_printf(evd, sizeof evd, 0, "%u ", code);
			ftpi__buf_escape(evd, sizeof evd, n, text, FTPI__MIN(tlen, 120));
			ftpi__finding(e, s, FTPI_FINDING_AUTH_TLS_REFUSED, NULL, NULL, msg, evd);
		}
		break;
	case FTPI_CMD_PBSZ:
		if (cls == 2)
			s->pbsz = 1;
		break;
	case FTPI_CMD_PROT:
		if (cls == 2 && cmd.prot)
			s->prot = (char)cmd.prot;
		break;
	case FTPI_CMD_CCC:
		if (cls == 2)
			ftpi__finding(e, s, FTPI_FINDING_CCC_DOWNGRADE, NULL, NULL,
				      "CCC accepted: the control channel is back in clear text",
				      "CCC / 200");
		break;
	case FTPI_CMD_REIN:
		if (cls == 2)
			reset_login(s);
		break;
	case FTPI_CMD_PORT:
	case FTPI_CMD_EPRT:
	case FTPI_CMD_LPRT: {
		int ann = cmd.verb == FTPI_CMD_PORT ? FTPI_ANN_PORT
			  : cmd.verb == FTPI_CMD_EPRT ? FTPI_ANN_EPRT
						      : FTPI_ANN_LPRT;
		if (cls == 2) {
			ftpi__expect_firm(e, s, ann);
			char evd[300];
			size_t n = ftpi__buf_printf(evd, sizeof evd, 0, "%s ", ftpi_announce_name(ann));
			ftpi__buf_escape(evd, sizeof evd, n, cmd.arg, FTPI__MIN(cmd.arg_len, 100));
			ftpi__finding_once(e, s, FTPI_FINDING_ACTIVE_MODE,
					   "active mode: the server opens the data connection back to "
					   "the client",
					   evd);
		} else if (cls == 4 || cls == 5) {
			ftpi__expect_cancel(e, s, ann);
		}
		break;
	}
	case FTPI_CMD_PASV:
	case FTPI_CMD_EPSV:
	case FTPI_CMD_LPSV: {
		/* 227 (RFC 959), 229 (RFC 2428 §3), 228 (RFC 1639) */
		static const struct {
			uint8_t verb, ann;
			unsigned code;
			int (*parse)(const char *, size_t, struct ftpi_endpoint *);
			const char *kind, *what;
		} pv[] = {
			{FTPI_CMD_PASV, FTPI_ANN_PASV, 227, ftpi__parse_227, "bad_227",
			 "227 reply without a host-port"},
			{FTPI_CMD_EPSV, FTPI_ANN_EPSV, 229, ftpi__parse_229, "bad_229",
			 "229 reply without a port"},
			{FTPI_CMD_LPSV, FTPI_ANN_LPSV, 228, ftpi__parse_228, "bad_228",
			 "228 reply without a host-port"},
		};
		for (size_t i = 0; i < FTPI__ARRAY_LEN(pv); i++) {
			if (pv[i].verb != cmd.verb || pv[i].code != code)
				continue;
			if (pv[i].parse(text, tlen, &ep))
				passive_announce(e, s, pv[i].ann, &ep, text, tlen);
			else
				anomaly(e, s, pv[i].kind, pv[i].what, text, tlen);
		}
		break;
	}
	case FTPI_CMD_LIST:
	case FTPI_CMD_NLST:
	case FTPI_CMD_MLSD:
	case FTPI_CMD_RETR:
	case FTPI_CMD_STOR:
	case FTPI_CMD_STOU:
	case FTPI_CMD_APPE:
		if (s->xfer.state == 0)
			break;
		if (code == 226 || code == 250)
			s->xfer.status = FTPI_DATA_COMPLETED;
		else if (code == 425 || code == 426 || code == 451)
			s->xfer.status = FTPI_DATA_ABORTED;
		else if (cls == 4 || cls == 5)
			s->xfer.status = FTPI_DATA_FAILED;
		else
			break;
		if (s->xfer.state == 1 && s->xfer.status == FTPI_DATA_FAILED) {
			/* refused before any data connection (550 ...): in active mode the server
			 * never connects then, which is not a network problem. (Passive clients
			 * connect right after 227/229, so an unmet passive one still counts.) */
			ftpi__expect_cancel(e, s, -1);
		}
		s->xfer.state = 3;
		ftpi__dconn_xfer_update(e, s);
		break;
	case FTPI_CMD_CWD:
	case FTPI_CMD_XCWD:
		if (cls == 2) {
			if (cmd.arg_len && cmd.arg[0] == '/') {
				s->cwd_len = cmd.arg_len;
				memcpy(s->cwd, cmd.arg, cmd.arg_len);
			} else if (cmd.arg_len) {
				size_t n = s->cwd_len;
				if (n && n < sizeof s->cwd && s->cwd[n - 1] != '/')
					s->cwd[n++] = '/';
				size_t k = FTPI__MIN(cmd.arg_len, sizeof s->cwd - n);
				memcpy(s->cwd + n, cmd.arg, k);
				s->cwd_len = (uint16_t)(n + k);
			}
		}
		break;
	case FTPI_CMD_PWD:
	case FTPI_CMD_XPWD:
		if (code == 257) {
			const char *q = memchr(text, '"', tlen);
			if (q) {
				const char *end = text + tlen, *r = q + 1;
				size_t n = 0;
				while (r < end && n < sizeof s->cwd) {
					if (*r == '"') {
						if (r + 1 < end && r[1] == '"') { /* "" is a quote */
							s->cwd[n++] = '"';
							r += 2;
							continue;
						}
						break;
					}
					s->cwd[n++] = *r++;
				}
				s->cwd_len = (uint16_t)n;
			}
		}
		break;
	case FTPI_CMD_TYPE:
		if (cls == 2 && cmd.arg_len)
			s->type = (uint8_t)upc_c((unsigned char)cmd.arg[0]);
		break;
	default:
		break;
	}
}

static void complete_reply(struct ftpi_engine *e, struct ftpi_session *s, unsigned code)
{
	struct ftpi_event ev;
	s->replies++;
	FTPI__COUNT(e, ftp_replies);
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_REPLY;
	ev.session_id = s->id;
	ev.client = s->cli;
	ev.server = s->srv;
	ev.u.reply.code = code;
	ev.u.reply.text.ptr = s->reply;
	ev.u.reply.text.len = s->reply_len;
	ev.frame = s->reply_frame;
	ftpi__emit(e, &ev);

	if (code / 100 == 1) {
		if (s->xfer.state == 1) {
			s->xfer.state = 2;
			ftpi__dconn_xfer_update(e, s);
			if (!FTPI__UNREADABLE(s))
				cleartext_data(e, s, "transfer started");
		}
		return;
	}
	final_reply(e, s, code, s->reply, s->reply_len);
}

static void reply_append(struct ftpi_session *s, const char *text, size_t len)
{
	if (s->reply_len && s->reply_len < sizeof s->reply)
		s->reply[s->reply_len++] = '\n';
	size_t k = FTPI__MIN(len, sizeof s->reply - s->reply_len);
	memcpy(s->reply + s->reply_len, text, k);
	s->reply_len = (uint16_t)(s->reply_len + k);
}

static void handle_reply_line(struct ftpi_engine *e, struct ftpi_session *s, const char *line,
			      size_t len, int truncated)
{
	unsigned code;
	int cont;
	struct ftpi_span text;
	int ok = ftpi__reply_parse(line, len, &code, &cont, &text);

	if (truncated)
		anomaly(e, s, "overlong_reply", "reply line longer than max_line_len", line,
			FTPI__MIN(len, 64));
	if (s->in_multi) {
		if (ok && code == s->multi_code && !cont && (len == 3 || line[3] == ' ')) {
			reply_append(s, text.ptr, text.len);
			s->in_multi = 0;
			complete_reply(e, s, code);
		} else if (ok && code == s->multi_code) {
			reply_append(s, text.ptr, text.len); /* "220-more": the code is not text */
		} else {
			reply_append(s, line, len);
		}
		return;
	}
	if (!ok) {
		if (len == 0)
			return;
		anomaly(e, s, "garbage_reply", "server line is not an FTP reply", line, len);
		return;
	}
	s->reply_len = 0;
	s->reply_frame = e->frame;
	reply_append(s, text.ptr, text.len);
	if (cont) {
		s->in_multi = 1;
		s->multi_code = code;
		return;
	}
	complete_reply(e, s, code);
}

static int on_line(void *ctx, const char *text, size_t len, int truncated)
{
	struct line_ctx *c = ctx;
	if (c->dir == FTPI_DIR_TO_SERVER)
		handle_command(c->e, c->s, text, len, truncated);
	else
		handle_reply_line(c->e, c->s, text, len, truncated);
	/* After 234 the next bytes in both directions are TLS: stop framing this chunk. */
	if ((c->s->encrypted && !c->was_encrypted) || c->s->ended)
		return 1;
	return 0;
}

static void session_lines(struct ftpi_engine *e, struct ftpi_session *s, int dir, const uint8_t *p,
			  size_t n);

/* Walks the TLS records of one direction; returns how many bytes were TLS. When the bytes stop
 * being TLS records after at least one full record, the channel went back to clear text (CCC).
 * With a NULL-encryption cipher suite, application data records are clear text followed by a
 * MAC: their text goes to the line framer, so the "encrypted" channel is read like a clear one. */
static size_t tls_records(struct ftpi_engine *e, struct ftpi_session *s, int dir, const uint8_t *p,
			  size_t n, int *clear)
{
	size_t i = 0;
	*clear = 0;
	while (i < n && !s->ended) {
		if (s->rec_left[dir]) {
			size_t k = FTPI__MIN((size_t)s->rec_left[dir], n - i);
			if (s->rec_hdr[dir][0] == 23 && s->null_mac > 0 &&
			    s->rec_left[dir] > (uint32_t)s->null_mac) {
				size_t text = FTPI__MIN(k, (size_t)s->rec_left[dir] - s->null_mac);
				session_lines(e, s, dir, p + i, text);
			}
			s->rec_left[dir] -= (uint32_t)k;
			i += k;
			continue;
		}
		uint8_t *h = s->rec_hdr[dir];
		h[s->rec_hdr_len[dir]++] = p[i++];
		int bad = (s->rec_hdr_len[dir] == 1 && (h[0] < 20 || h[0] > 24)) ||
			  (s->rec_hdr_len[dir] == 2 && h[1] != 3);
		if (bad) {
			size_t mine = FTPI__MIN((size_t)s->rec_hdr_len[dir], i);
			*clear = 1;
			s->rec_hdr_len[dir] = 0;
			return i - mine;
		}
		if (s->rec_hdr_len[dir] == 5) {
			s->rec_left[dir] = (uint32_t)((h[3] << 8) | h[4]);
			s->rec_hdr_len[dir] = 0;
			s->tls_records[dir]++;
		}
	}
	return i;
}



static void session_tls_bytes(struct ftpi_engine *e, struct ftpi_session *s, int dir,
			      const uint8_t *p, size_t n)
{
	if (s->tls_dir_clear[dir]) {
		session_lines(e, s, dir, p, n);
		return;
	}
	if (s->tlsp)
		ftpi__tls_feed(e, s->tlsp, dir, p, n);
	if (s->tlsp && !s->tls_reported && s->tlsp->seen_server_hello &&
	    (s->tlsp->dir[1].encrypted || s->tlsp->state == FTPI__TLS_DONE ||
	     s->tlsp->seen_certificate || s->tlsp->version >= 0x0304)) {
		/* report once the certificate had its chance to be seen */
		if (s->tlsp->version >= 0x0304 || s->tlsp->dir[1].encrypted ||
		    s->tlsp->state == FTPI__TLS_DONE) {
			s->tls_reported = 1;
			ftpi__tlsreview_report(e, s, s->tlsp, &s->cli, &s->srv);
		}
	}
	if (s->null_mac == 0 && s->tlsp && s->tlsp->seen_server_hello) {
		int mac = ftpi__tls_null_mac_len(s->tlsp->cipher);
		s->null_mac = mac > 0 ? (int16_t)mac : -1;
		for (int d = 0; mac > 0 && d < 2; d++) { /* the text inside the records is read */
			s->line[d].len = 0;
			s->line[d].resync = 0;
			s->line[d].discard = 0;
			s->line[d].iac = 0;
		}
	}
	int clear;
	size_t used = tls_records(e, s, dir, p, n, &clear);
	if (!clear)
		return;
	int had_tls = s->tls_records[dir] > 0;
	s->tls_dir_clear[dir] = 1;
	if (had_tls && !(s->findings_mask & (1ull << FTPI_FINDING_CCC_DOWNGRADE))) {
		ftpi__finding(e, s, FTPI_FINDING_CCC_DOWNGRADE, NULL, NULL,
			      "the control channel returned to clear text after TLS (CCC)",
			      "clear-text FTP after TLS records on the control connection");
	}
	if (s->tls_dir_clear[0] || s->tls_dir_clear[1]) {
		s->encrypted = 0;
		SET_STATE(s, s->login == FTPI_LOGIN_SUCCESS ? FTPI_SS_LOGGED_IN : FTPI_SS_LOGIN);
	}
	ftpi__line_gap(&s->line[dir]);
	s->line[dir].resync = 0;
	session_lines(e, s, dir, p + used, n - used);
}

static void session_lines(struct ftpi_engine *e, struct ftpi_session *s, int dir, const uint8_t *p,
			  size_t n)
{
	struct line_ctx c = {e, s, dir, s->encrypted};
	while (n && !s->ended) {
		size_t used = ftpi__line_feed(e, &s->line[dir], p, n, on_line, &c);
		if (used == (size_t)-1) {
			s->incomplete = 1;
			return;
		}
		p += used;
		n -= used;
		if (n && s->encrypted && !c.was_encrypted) {
			session_tls_bytes(e, s, dir, p, n);
			return;
		}
	}
}

/* After a gap the framer drops bytes up to the next line end. When the bytes right after the gap
 * plainly start a line (a known verb, or a reply code), it can start there instead. */
static int starts_line(int dir, const uint8_t *p, size_t n)
{
	if (dir == FTPI_DIR_TO_CLIENT)
		return n >= 4 && p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' &&
		       p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '-');
	size_t i = 0;
	while (i < n && i < 6 && ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z'))
		i++;
	return i >= 3 && i <= 4 && i < n && (p[i] == ' ' || p[i] == '\r') &&
	       ftpi__verb_lookup((const char *)p, i) != FTPI_CMD_UNKNOWN;
}

void ftpi__session_data(struct ftpi_engine *e, struct ftpi_session *s, int dir, const uint8_t *p,
			size_t n)
{
	if (s->ended)
		return;
	s->end_us = e->now_us;
	if (s->line[dir].resync && s->line[dir].len == 0 && starts_line(dir, p, n))
		s->line[dir].resync = 0;
	if (s->encrypted && !s->tls_dir_clear[dir])
		session_tls_bytes(e, s, dir, p, n);
	else
		session_lines(e, s, dir, p, n);
}

void ftpi__session_gap(struct ftpi_engine *e, struct ftpi_session *s, int dir, uint64_t n)
{
	if (s->ended)
		return;
	s->incomplete = 1;
	char detail[96];
	ftpi__buf_printf(detail, sizeof detail, 0, "%llu bytes lost in the %s direction",
			 (unsigned long long)n, dir == FTPI_DIR_TO_SERVER ? "client" : "server");
	anomaly(e, s, "gap", detail, NULL, 0);
	if (s->encrypted && !s->tls_dir_clear[dir]) {
		if (s->tlsp)
			ftpi__tls_gap(s->tlsp, dir);
		s->rec_left[dir] = 0;
		s->rec_hdr_len[dir] = 0;
		return;
	}
	ftpi__line_gap(&s->line[dir]);
	if (dir == FTPI_DIR_TO_CLIENT && s->in_multi)
		s->in_multi = 0;
	if (dir == FTPI_DIR_TO_SERVER) /* commands may have been lost */
		s->lost_sync = 1;
}
