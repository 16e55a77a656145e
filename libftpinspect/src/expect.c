/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expect.c - data connections: expectations created from PORT/EPRT/LPRT commands and
 * 227/228/229 replies, matched against new TCP connections (by the responder's port, then by
 * addresses: exact, NAT "reached" address, or a mismatch worth a finding); inference for
 * sessions whose control channel is encrypted (same hosts, passive range, TLS session
 * resumption); the data connection's lifecycle up to its `data` event; data_connection_missing
 * with its likely cause; and the per-server summaries. Data connections are never buffered:
 * only their first bytes are looked at (TLS or clear, ClientHello for resumption).
 */
#include "engine.h"
#include "flow.h"
#include "session.h"
#include "tlsreview.h"

#define EXP_BUCKET(e, port) ((port) & ((e)->exp_nbuckets - 1))
#define FTPI__SERVERS_MAX 4096
#define DCONN_WAIT_US (60ull * 1000000) /* a closed data connection waits this long for its reply */
#define DCONN_TLS_BYTES 16384
#define DCONN_WAIT_MAX 32 /* closed data connections held per session for their reply */           /* bytes of a data connection read for its ClientHello */

/* ---- servers ---- */

struct ftpi_server *ftpi__server_get(struct ftpi_engine *e, const struct ftpi_endpoint *ep)
{
	for (struct ftpi_server *sv = e->servers; sv; sv = sv->next)
		if (ftpi__ep_eq(&sv->ep, ep))
			return sv;
	if (e->n_servers >= FTPI__SERVERS_MAX)
		return NULL;
	struct ftpi_server *sv = ftpi__alloc(e, FTPI__POOL_MISC, sizeof *sv);
	if (sv == NULL)
		return NULL;
	sv->ep = *ep;
	sv->next = e->servers;
	e->servers = sv;
	e->n_servers++;
	return sv;
}

void ftpi__servers_flush(struct ftpi_engine *e)
{
	/* oldest first: the list is newest first, so emit in reverse */
	struct ftpi_server *rev = NULL;
	while (e->servers) {
		struct ftpi_server *sv = e->servers;
		e->servers = sv->next;
		sv->next = rev;
		rev = sv;
	}
	while (rev) {
		struct ftpi_server *sv = rev;
		rev = sv->next;
		struct ftpi_event ev;
		memset(&ev, 0, sizeof ev);
		ev.type = FTPI_EV_SERVER;
		ev.server = sv->ep;
		ev.u.server.sessions = sv->sessions;
		ev.u.server.pasv_min = sv->pasv_min;
		ev.u.server.pasv_max = sv->pasv_max;
		ev.u.server.pasv_count = sv->pasv_count;
		ev.u.server.active_count = sv->active_count;
		ev.u.server.out_of_policy = sv->out_of_policy;
		ev.u.server.clients = sv->clients_total;
		ev.u.server.client_list = sv->clients;
		ev.u.server.client_list_len = sv->n_clients;
		ev.u.server.tls_sessions = sv->tls_sessions;
		ev.u.server.clear_logins = sv->clear_logins;
		ev.u.server.nat_problems = sv->nat_problems;
		ev.u.server.ip_mismatches = sv->ip_mismatches;
		ftpi__emit(e, &ev);
		ftpi__free(e, FTPI__POOL_MISC, sv, sizeof *sv);
	}
	e->n_servers = 0;
}

/* ---- expectations ---- */

static void exp_unlink(struct ftpi_engine *e, struct ftpi_expect *x)
{
	struct ftpi_expect **pp = &e->exp_buckets[EXP_BUCKET(e, x->target.port)];
	while (*pp && *pp != x)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = x->hnext;
	if (x->lprev)
		x->lprev->lnext = x->lnext;
	else
		e->exp_list = x->lnext;
	if (x->lnext)
		x->lnext->lprev = x->lprev;
	else
		e->exp_list_tail = x->lprev;
	if (x->s) {
		struct ftpi_expect **sp = &x->s->expects;
		while (*sp && *sp != x)
			sp = &(*sp)->snext;
		if (*sp)
			*sp = x->snext;
		x->s->n_expect--;
	}
}

static void exp_free(struct ftpi_engine *e, struct ftpi_expect *x)
{
	exp_unlink(e, x);
	e->n_expect--;
	ftpi__free(e, FTPI__POOL_EXPECT, x, sizeof *x);
}

/* A firm expectation that nothing met: the finding users feel as "can connect, can't list". */
static void missing(struct ftpi_engine *e, struct ftpi_expect *x, const char *why)
{
	struct ftpi_session *s = x->s;
	char msg[400], evd[300], a[64];
	size_t n;

	ftpi_addr_format(&x->target.addr, a, sizeof a);
	n = ftpi__buf_printf(msg, sizeof msg, 0, "%s announced a data connection to ",
			     ftpi_announce_name(x->announce));
	n = ftpi__buf_endpoint(msg, sizeof msg, n, &x->target);
	n = ftpi__buf_printf(msg, sizeof msg, n, " that never came (%s)", why);
	if (x->syn_seen && !x->syn_answered)
		n = ftpi__buf_printf(msg, sizeof msg, n,
				     "; likely cause: SYN without answer (a firewall drops it)");
	else if (x->rst_seen)
		n = ftpi__buf_printf(msg, sizeof msg, n,
				     "; likely cause: connection refused (RST)");
	else if (!x->active && s && !ftpi__addr_eq(&x->target.addr, &s->srv.addr) &&
		 ftpi__addr_is_private(&x->target.addr))
		n = ftpi__buf_printf(msg, sizeof msg, n,
				     "; likely cause: private PASV address %s unreachable for the "
				     "client (NAT without helper address)",
				     a);
	else if (!x->syn_seen)
		n = ftpi__buf_printf(msg, sizeof msg, n,
				     "; no SYN seen: blocked before this capture point or never "
				     "attempted");
	(void)n;
	n = ftpi__buf_printf(evd, sizeof evd, 0, "%s %s announced in frame %llu",
			     x->active ? "active" : "passive", ftpi_announce_name(x->announce),
			     (unsigned long long)x->frame);
	ftpi__finding(e, s, FTPI_FINDING_DATA_CONNECTION_MISSING, NULL, NULL, msg, evd);
}

static void exp_end(struct ftpi_engine *e, struct ftpi_expect *x, const char *why)
{
	if (x->firm && !x->matched)
		missing(e, x, why);
	exp_free(e, x);
}

void ftpi__expect_add(struct ftpi_engine *e, struct ftpi_session *s, int announce, int active,
		      const struct ftpi_endpoint *target, int firm)
{
	struct ftpi_expect *x;
	struct ftpi_event ev;

	/* A newer announcement replaces the session's older unmatched ones. */
	for (struct ftpi_expect *o = s->expects, *next; o; o = next) {
		next = o->snext;
		if (!o->matched) {
			FTPI__COUNT(e, expectations_replaced);
			exp_end(e, o, "replaced by a newer announcement");
		} else if (s->n_expect >= e->cfg.max_expect_per_session) {
			exp_free(e, o);
		}
	}
	while (s->n_expect >= e->cfg.max_expect_per_session && s->expects)
		exp_free(e, s->expects);
	if (e->exp_list && e->n_expect >= e->cfg.max_expectations) {
		FTPI__COUNT(e, expectations_memcap);
		exp_free(e, e->exp_list); /* the oldest goes */
	}
	x = ftpi__alloc(e, FTPI__POOL_EXPECT, sizeof *x);
	if (x == NULL) {
		FTPI__COUNT(e, expectations_memcap);
		return;
	}
	x->s = s;
	x->target = *target;
	x->announce = (uint8_t)announce;
	x->active = (uint8_t)active;
	x->firm = (uint8_t)firm;
	x->created_us = e->now_us;
	x->firm_us = firm ? e->now_us : 0;
	x->frame = e->frame;
	if (active) {
		x->from = s->srv.addr;
	} else {
		x->from = s->cli.addr;
		if (!ftpi__addr_eq(&target->addr, &s->srv.addr)) {
			x->reached = s->srv.addr;
			x->has_reached = 1;
		}
	}
	uint32_t b = EXP_BUCKET(e, target->port);
	x->hnext = e->exp_buckets[b];
	e->exp_buckets[b] = x;
	x->lprev = e->exp_list_tail;
	if (e->exp_list_tail)
		e->exp_list_tail->lnext = x;
	else
		e->exp_list = x;
	e->exp_list_tail = x;
	x->snext = s->expects;
	s->expects = x;
	s->n_expect++;
	e->n_expect++;
	FTPI__COUNT(e, expectations_created);

	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_EXPECT;
	ev.session_id = s->id;
	ev.client = s->cli;
	ev.server = s->srv;
	ev.u.expect.announced_by = announce;
	ev.u.expect.active = active;
	ev.u.expect.target = *target;
	if (x->has_reached) {
		ev.u.expect.reached.addr = x->reached;
		ev.u.expect.reached.port = target->port;
		ev.u.expect.has_reached = 1;
	}
	ftpi__emit(e, &ev);
}

void ftpi__expect_firm(struct ftpi_engine *e, struct ftpi_session *s, int announce)
{
	(void)e;
	for (struct ftpi_expect *x = s->expects; x; x = x->snext)
		if (x->announce == announce && !x->firm) {
			x->firm = 1;
			x->firm_us = e->now_us;
			return;
		}
}

/* announce 0 = every unmatched expectation of the session; -1 = every active one. */
void ftpi__expect_cancel(struct ftpi_engine *e, struct ftpi_session *s, int announce)
{
	for (struct ftpi_expect *x = s->expects, *next; x; x = next) {
		next = x->snext;
		if (!x->matched && (announce == 0 || x->announce == announce ||
				    (announce == -1 && x->active)))
			exp_free(e, x);
	}
}

void ftpi__expect_session_end(struct ftpi_engine *e, struct ftpi_session *s)
{
	while (s->expects) {
		struct ftpi_expect *x = s->expects;
		if (!x->matched)
			FTPI__COUNT(e, expectations_expired);
		exp_end(e, x, "the session ended");
	}
}

void ftpi__expect_tick(struct ftpi_engine *e, uint64_t now)
{
	for (struct ftpi_expect *x = e->exp_list, *next; x; x = next) {
		next = x->lnext;
		uint64_t t0 = x->firm ? x->firm_us : x->created_us;
		if (now - t0 < e->cfg.timeout_expect)
			break; /* oldest first */
		if (x->matched) {
			exp_free(e, x);
			continue;
		}
		FTPI__COUNT(e, expectations_expired);
		exp_end(e, x, "expired");
	}
	/* closed data connections whose final reply never came */
	for (struct ftpi_session *s = e->sessions; s; s = s->next) {
		for (struct ftpi_dconn *d = s->dconns, *dn; d; d = dn) {
			dn = d->snext;
			if (d->closed && now - d->closed_us > DCONN_WAIT_US)
				ftpi__dconn_close(e, d, NULL);
		}
	}
}

void ftpi__expect_flush(struct ftpi_engine *e)
{
	while (e->exp_list)
		exp_end(e, e->exp_list, "input ended");
}

/* ---- data connections ---- */

static struct ftpi_dconn *dconn_new(struct ftpi_engine *e, struct ftpi_session *s,
				    struct ftpi_flow *f, int link)
{
	struct ftpi_dconn *d = ftpi__alloc(e, FTPI__POOL_SESSION, sizeof *d);
	if (d == NULL)
		return NULL;
	d->s = s;
	d->flow = f;
	d->cli = f->cli;
	d->srv = f->srv;
	d->link = (uint8_t)link;
	d->start_us = f->first_us;
	d->end_us = f->last_us;
	if (s) {
		d->snext = s->dconns;
		s->dconns = d;
		s->n_dconns++;
	}
	f->role = FTPI_ROLE_DATA;
	f->app = d;
	f->half[0].want = f->half[1].want = 1;
	FTPI__COUNT(e, data_connections);
	/* Attach the transfer command in flight, if no other connection has it. */
	if (s && s->xfer.state && s->xfer.state < 3) {
		int taken = 0;
		for (struct ftpi_dconn *o = s->dconns; o; o = o->snext)
			if (o != d && o->has_xfer && !o->closed)
				taken = 1;
		if (!taken) {
			d->has_xfer = 1;
			d->xfer = s->xfer;
		}
	}
	return d;
}

static void mismatch(struct ftpi_engine *e, struct ftpi_session *s, struct ftpi_flow *f,
		     const struct ftpi_expect *x, int cli_bad, int srv_bad)
{
	char msg[400], evd[300], a[64], b[64];
	size_t n = ftpi__buf_printf(msg, sizeof msg, 0, "data connection on the %s port %u ",
				    ftpi_announce_name(x->announce), x->target.port);
	if (!x->active) {
		if (cli_bad) {
			ftpi_addr_format(&f->cli.addr, a, sizeof a);
			ftpi_addr_format(&s->cli.addr, b, sizeof b);
			n = ftpi__buf_printf(msg, sizeof msg, n,
					     "comes from client address %s, not the control "
					     "client %s (multi-homed client or load balancer: the "
					     "server may refuse it)",
					     a, b);
		}
		if (srv_bad) {
			ftpi_addr_format(&f->srv.addr, a, sizeof a);
			ftpi_addr_format(&s->srv.addr, b, sizeof b);
			n = ftpi__buf_printf(msg, sizeof msg, n,
					     "%sgoes to server address %s, not the control server %s",
					     cli_bad ? "; it " : "", a, b);
		}
	} else {
		if (srv_bad) {
			ftpi_addr_format(&f->cli.addr, a, sizeof a);
			ftpi_addr_format(&s->srv.addr, b, sizeof b);
			n = ftpi__buf_printf(msg, sizeof msg, n,
					     "comes from server address %s, not the control server "
					     "%s",
					     a, b);
		}
	}
	(void)n;
	n = ftpi__buf_printf(evd, sizeof evd, 0, "control ");
	n = ftpi__buf_endpoint(evd, sizeof evd, n, &s->cli);
	n = ftpi__buf_printf(evd, sizeof evd, n, " -> ");
	n = ftpi__buf_endpoint(evd, sizeof evd, n, &s->srv);
	n = ftpi__buf_printf(evd, sizeof evd, n, "; data ");
	n = ftpi__buf_endpoint(evd, sizeof evd, n, &f->cli);
	n = ftpi__buf_printf(evd, sizeof evd, n, " -> ");
	ftpi__buf_endpoint(evd, sizeof evd, n, &f->srv);
	ftpi__finding(e, s, FTPI_FINDING_DATA_IP_MISMATCH, &f->cli, &f->srv, msg, evd);
	if (s->server)
		s->server->ip_mismatches++;
}

struct ftpi_dconn *ftpi__expect_match(struct ftpi_engine *e, struct ftpi_flow *f)
{
	struct ftpi_expect *best = NULL;
	int best_score = -1, best_cli_bad = 0, best_srv_bad = 0, best_nat = 0;

	for (struct ftpi_expect *x = e->exp_buckets[EXP_BUCKET(e, f->srv.port)]; x; x = x->hnext) {
		if (x->target.port != f->srv.port || x->s == NULL || x->s->ended)
			continue;
		struct ftpi_session *s = x->s;
		int score = 0, cli_bad = 0, srv_bad = 0, nat = FTPI_NAT_NA;
		if (!x->active) {
			int to_target = ftpi__addr_eq(&f->srv.addr, &x->target.addr);
			int to_reached = ftpi__addr_eq(&f->srv.addr, &s->srv.addr);
			if (!to_target && !to_reached)
				continue;
			if (x->has_reached)
				nat = to_target ? FTPI_NAT_ANNOUNCED : FTPI_NAT_REACHED;
			cli_bad = !ftpi__addr_eq(&f->cli.addr, &s->cli.addr);
		} else {
			if (!ftpi__addr_eq(&f->srv.addr, &x->target.addr))
				continue;
			srv_bad = !ftpi__addr_eq(&f->cli.addr, &s->srv.addr);
		}
		if (cli_bad && srv_bad)
			continue; /* nothing but the port in common */
		score = (!cli_bad && !srv_bad ? 8 : 0) + (x->matched ? 0 : 4) + (x->firm ? 2 : 0);
		if (score > best_score || (score == best_score && x->created_us >= best->created_us)) {
			best = x;
			best_score = score;
			best_cli_bad = cli_bad;
			best_srv_bad = srv_bad;
			best_nat = nat;
		}
	}
	if (best == NULL)
		return NULL;
	struct ftpi_dconn *d = dconn_new(e, best->s, f, FTPI_LINK_ANNOUNCED);
	if (d == NULL)
		return NULL;
	if (!best->matched)
		FTPI__COUNT(e, expectations_matched);
	best->matched = 1;
	best->syn_seen = 1;
	d->announce = best->announce;
	d->active = best->active;
	d->nat_used = (uint8_t)best_nat;
	d->announce_frame = best->frame;
	if (best_cli_bad || best_srv_bad)
		mismatch(e, best->s, f, best, best_cli_bad, best_srv_bad);
	return d;
}

static int in_passive_range(struct ftpi_engine *e, struct ftpi_session *s, uint16_t port)
{
	if (e->cfg.pasv_max && port >= e->cfg.pasv_min && port <= e->cfg.pasv_max)
		return 1;
	if (s->server && s->server->pasv_count && port >= s->server->pasv_min &&
	    port <= s->server->pasv_max)
		return 1;
	/* nothing learned or configured: any unprivileged port but the control port */
	return !e->cfg.pasv_max && (!s->server || !s->server->pasv_count) && port >= 1024 &&
	       port != s->srv.port;
}

struct ftpi_dconn *ftpi__dconn_infer(struct ftpi_engine *e, struct ftpi_flow *f, int is_ftp)
{
	/* encrypted control: link by hosts, range and time (sessions indexed by host pair) */
	struct ftpi_session *readable = NULL;
	for (struct ftpi_session *s = ftpi__session_pair_first(e, &f->cli.addr, &f->srv.addr); s;
	     s = ftpi__session_pair_next(s, &f->cli.addr, &f->srv.addr)) {
		if (s->ended)
			continue;
		if (!FTPI__UNREADABLE(s)) {
			if (readable == NULL)
				readable = s;
			continue;
		}
		int passive = ftpi__addr_eq(&f->cli.addr, &s->cli.addr) &&
			      ftpi__addr_eq(&f->srv.addr, &s->srv.addr) &&
			      f->srv.port != s->srv.port && in_passive_range(e, s, f->srv.port);
		int active = ftpi__addr_eq(&f->cli.addr, &s->srv.addr) &&
			     ftpi__addr_eq(&f->srv.addr, &s->cli.addr) &&
			     (f->cli.port == 20 || f->cli.port == (uint16_t)(s->srv.port - 1));
		if (!passive && !active)
			continue;
		struct ftpi_dconn *d = dconn_new(e, s, f, FTPI_LINK_INFERRED);
		if (d) {
			d->active = (uint8_t)active;
			d->tlsp = ftpi__alloc(e, FTPI__POOL_TLS, sizeof *d->tlsp);
			if (d->tlsp)
				ftpi__tls_init(d->tlsp);
		}
		return d;
	}
	if (is_ftp)
		return NULL;
	/* readable sessions: a connection nobody announced */
	struct ftpi_session *s = readable;
	if (s == NULL)
		return NULL;
	char msg[300], evd[200];
	size_t n = ftpi__buf_printf(msg, sizeof msg, 0, "connection ");
	n = ftpi__buf_endpoint(msg, sizeof msg, n, &f->cli);
	n = ftpi__buf_printf(msg, sizeof msg, n, " -> ");
	n = ftpi__buf_endpoint(msg, sizeof msg, n, &f->srv);
	ftpi__buf_printf(msg, sizeof msg, n,
			 " between FTP hosts to a port no session announced");
	n = ftpi__buf_printf(evd, sizeof evd, 0, "session %llu control ",
			     (unsigned long long)s->id);
	n = ftpi__buf_endpoint(evd, sizeof evd, n, &s->cli);
	n = ftpi__buf_printf(evd, sizeof evd, n, " -> ");
	ftpi__buf_endpoint(evd, sizeof evd, n, &s->srv);
	ftpi__finding(e, s, FTPI_FINDING_UNEXPECTED_DATA_CONNECTION, &f->cli, &f->srv, msg, evd);
	struct ftpi_dconn *d = dconn_new(e, NULL, f, FTPI_LINK_NONE);
	if (d)
		d->xfer.status = FTPI_DATA_UNKNOWN;
	return d;
}

uint64_t ftpi__dconn_session_id(const struct ftpi_dconn *d)
{
	return d && d->s ? d->s->id : 0;
}

void ftpi__dconn_packet(struct ftpi_engine *e, struct ftpi_dconn *d, struct ftpi_flow *f, int dir,
			uint8_t flags)
{
	(void)e;
	(void)d;
	(void)f;
	(void)dir;
	(void)flags;
}

void ftpi__dconn_data(struct ftpi_engine *e, struct ftpi_dconn *d, struct ftpi_flow *f, int dir,
		      const uint8_t *p, size_t n)
{
	if (d->first_len[dir] < sizeof d->first[dir]) {
		size_t k = FTPI__MIN(n, sizeof d->first[dir] - d->first_len[dir]);
		memcpy(d->first[dir] + d->first_len[dir], p, k);
		d->first_len[dir] = (uint8_t)(d->first_len[dir] + k);
	}
	if (!d->tls_checked) {
		/* The first payload of either side decides: a TLS handshake record or not. */
		const uint8_t *q = d->first[dir];
		if (d->first_len[dir] >= 3) {
			d->tls_checked = 1;
			d->tls = q[0] == 0x16 && q[1] == 0x03 && q[2] <= 0x04;
			if (!d->tls && d->s && !d->clear_reported) {
				d->clear_reported = 1;
				ftpi__session_cleartext_data(e, d->s, "data connection payload is "
								      "not TLS");
			}
			if (d->tls && d->tlsp == NULL && d->s && d->s->tlsp) {
				d->tlsp = ftpi__alloc(e, FTPI__POOL_TLS, sizeof *d->tlsp);
				if (d->tlsp)
					ftpi__tls_init(d->tlsp);
			}
		}
	}
	int more = 0;
	if (d->tls && d->tlsp) {
		more = ftpi__tls_feed(e, d->tlsp, dir == FTPI_DIR_TO_SERVER ? (d->active ? 1 : 0)
									    : (d->active ? 0 : 1),
				      p, n);
		if (d->tlsp->seen_client_hello && d->s)
			ftpi__tlsreview_link(e, d->s, d);
		if (f->half[0].bytes + f->half[1].bytes > DCONN_TLS_BYTES)
			more = 0;
	}
	if (!more && d->tls_checked && d->first_len[0] + d->first_len[1] > 0) {
		/* nothing more to learn: count only from here */
		if (d->tlsp) {
			ftpi__tls_release(e, d->tlsp);
			ftpi__free(e, FTPI__POOL_TLS, d->tlsp, sizeof *d->tlsp);
			d->tlsp = NULL;
		}
		ftpi__reasm_unwant(e, f, 0);
		ftpi__reasm_unwant(e, f, 1);
	}
}

static void dconn_emit(struct ftpi_engine *e, struct ftpi_dconn *d)
{
	struct ftpi_event ev;
	if (d->emitted)
		return;
	d->emitted = 1;
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_DATA;
	ev.session_id = d->s ? d->s->id : 0;
	ev.client = d->cli;
	ev.server = d->srv;
	struct ftpi_data_info *di = &ev.u.data;
	di->link = d->link;
	di->announced_by = d->announce;
	di->active = d->active;
	if (d->has_xfer) {
		const char *vn = ftpi__verb_name(d->xfer.verb);
		di->command.ptr = vn;
		di->command.len = strlen(vn);
		di->file.ptr = d->xfer.file;
		di->file.len = d->xfer.file_len;
		di->status = d->xfer.status;
	}
	di->bytes_to_server = d->bytes_to_server;
	di->bytes_to_client = d->bytes_to_client;
	di->tls = d->tls;
	di->start_us = d->start_us;
	di->end_us = d->end_us;
	di->nat_used = d->nat_used;
	di->announce_frame = d->announce_frame;
	ev.ts_us = d->end_us ? d->end_us : e->now_us;
	ev.frame = 0;
	ftpi__emit(e, &ev);
}

static void dconn_free(struct ftpi_engine *e, struct ftpi_dconn *d)
{
	if (d->s) {
		struct ftpi_dconn **pp = &d->s->dconns;
		while (*pp && *pp != d)
			pp = &(*pp)->snext;
		if (*pp)
			*pp = d->snext;
	}
	if (d->flow) {
		d->flow->app = NULL;
		d->flow = NULL;
	}
	if (d->tlsp) {
		ftpi__tls_release(e, d->tlsp);
		ftpi__free(e, FTPI__POOL_TLS, d->tlsp, sizeof *d->tlsp);
	}
	ftpi__free(e, FTPI__POOL_SESSION, d, sizeof *d);
}

void ftpi__dconn_release(struct ftpi_engine *e, struct ftpi_dconn *d)
{
	dconn_free(e, d);
}

static int dconn_ready(const struct ftpi_dconn *d)
{
	if (!d->closed)
		return 0;
	if (d->s == NULL || d->s->ended || FTPI__UNREADABLE(d->s))
		return 1;
	if (!d->has_xfer)
		return 0;
	return d->xfer.state == 3 || d->xfer.status != FTPI_DATA_UNKNOWN;
}

/* A connection that was tried (SYN) and never answered, or refused: no data connection came. */
static int never_established(const struct ftpi_dconn *d, const struct ftpi_flow *f)
{
	return !f->midstream && !f->half[1].syn_seen && f->half[0].bytes == 0 &&
	       f->half[1].bytes == 0 && d->s && d->link == FTPI_LINK_ANNOUNCED;
}

static void report_never(struct ftpi_engine *e, struct ftpi_dconn *d, const struct ftpi_flow *f)
{
	char msg[300], evd[200];
	size_t n = ftpi__buf_printf(msg, sizeof msg, 0, "%s data connection to ",
				    ftpi_announce_name(d->announce));
	n = ftpi__buf_endpoint(msg, sizeof msg, n, &d->srv);
	ftpi__buf_printf(msg, sizeof msg, n,
			 " was attempted but never established; likely cause: %s",
			 f->half[1].packets ? "connection refused (RST)"
					    : "SYN without answer (a firewall drops it)");
	n = ftpi__buf_printf(evd, sizeof evd, 0, "%llu SYN packet(s) from ",
			     (unsigned long long)f->half[0].packets);
	ftpi__buf_endpoint(evd, sizeof evd, n, &d->cli);
	ftpi__finding(e, d->s, FTPI_FINDING_DATA_CONNECTION_MISSING, &d->cli, &d->srv, msg, evd);
	if (d->s->n_dconns)
		d->s->n_dconns--;
}

/* f is the flow when it just closed; NULL for a forced end (timeout, session end). */
void ftpi__dconn_close(struct ftpi_engine *e, struct ftpi_dconn *d, struct ftpi_flow *f)
{
	if (f) {
		d->closed = 1;
		d->closed_us = e->now_us;
		d->end_us = f->last_us;
		d->bytes_to_server = f->half[0].bytes;
		d->bytes_to_client = f->half[1].bytes;
		f->app = NULL;
		d->flow = NULL;
		if (never_established(d, f)) {
			report_never(e, d, f);
			dconn_free(e, d);
			return;
		}
		if (!dconn_ready(d)) {
			/* wait for the final reply, but never hold more than a few per session */
			unsigned waiting = 0;
			for (struct ftpi_dconn *o = d->s ? d->s->dconns : NULL; o; o = o->snext)
				waiting += o->closed;
			if (waiting <= DCONN_WAIT_MAX)
				return;
		}
	}
	dconn_emit(e, d);
	dconn_free(e, d);
}

void ftpi__dconn_xfer_update(struct ftpi_engine *e, struct ftpi_session *s)
{
	struct ftpi_dconn *target = NULL;
	/* the newest connection that carries this transfer, or an open one without any */
	for (struct ftpi_dconn *d = s->dconns; d; d = d->snext) {
		if (d->has_xfer && d->xfer.state < 3 && d->xfer.verb == s->xfer.verb) {
			target = d;
			break;
		}
	}
	if (target == NULL && s->xfer.state < 3) {
		for (struct ftpi_dconn *d = s->dconns; d; d = d->snext)
			if (!d->has_xfer) {
				target = d;
				break;
			}
	}
	if (target == NULL)
		return;
	target->has_xfer = 1;
	target->xfer = s->xfer;
	if (s->xfer.state == 3 && target->closed) {
		dconn_emit(e, target);
		dconn_free(e, target);
	}
}

void ftpi__dconn_session_end(struct ftpi_engine *e, struct ftpi_session *s)
{
	while (s->dconns) {
		struct ftpi_dconn *d = s->dconns;
		if (d->flow && never_established(d, d->flow)) {
			struct ftpi_flow *f = d->flow;
			report_never(e, d, f);
			f->app = NULL;
			f->role = FTPI_ROLE_OTHER;
			d->flow = NULL;
			dconn_free(e, d);
			continue;
		}
		if (d->flow) {
			/* still open: report it with what it carried so far */
			s->dconns = d->snext;
			d->snext = NULL;
			d->bytes_to_server = d->flow->half[0].bytes;
			d->bytes_to_client = d->flow->half[1].bytes;
			d->end_us = d->flow->last_us;
			dconn_emit(e, d);
			d->s = NULL;
			struct ftpi_flow *f = d->flow;
			d->flow = NULL;
			f->app = NULL;
			f->role = FTPI_ROLE_OTHER;
			ftpi__reasm_unwant(e, f, 0);
			ftpi__reasm_unwant(e, f, 1);
			dconn_free(e, d);
			continue;
		}
		dconn_emit(e, d);
		dconn_free(e, d);
	}
}
