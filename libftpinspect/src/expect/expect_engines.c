/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expect_engines.c - the shared store's side of the expectations (expect.c): connections of
 * other engines' sessions, claimed from the store (store.c) and counted by their owner; the
 * server's learned passive range and the client's failed logins read from every engine's facts;
 * the inference for sessions whose control channel is encrypted; and what expect.c and
 * expect_sensors.c also use: a new data connection, the data_ip_mismatch finding and the
 * bounce verdict. Calls nothing in expect.c or expect_sensors.c.
 */
#include "expect.h"

#include "expect_int.h"
#include "facts.h"
#include "fit.h"

/* ---- matching ---- */

struct ftpi_dconn *ftpi__dconn_new(struct ftpi__expect_tab *xt, struct ftpi_session *s,
				    struct ftpi_flow *f, int link)
{
	struct ftpi_dconn *d = ftpi__alloc(xt->cx, FTPI__POOL_SESSION, sizeof *d);
	if (d == NULL)
		return NULL;
	d->s = s;
	d->sid = s ? s->id : 0;
	d->stream_id = f->id;
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
	FTPI__COUNT(xt->cx, data_connections);
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

void ftpi__expect_mismatch(struct ftpi__expect_tab *xt, const struct owner_view *s,
			   const struct ftpi_endpoint *fcli, const struct ftpi_endpoint *fsrv,
			   int cli_bad, int srv_bad)
{
	const struct {
		struct ftpi_endpoint cli, srv;
	} fv = {*fcli, *fsrv}, *f = &fv;
	char msg[400], evd[300], a[64], b[64];
	size_t n = ftpi__buf_printf(msg, sizeof msg, 0, "data connection on the %s port %u ",
				    ftpi_announce_name(s->announce), s->port);
	if (!s->active) {
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
					     "%sgoes to server address %s, not the control server %s "
					     "(a load balancer without persistence sent it to another "
					     "node)",
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
	ftpi__finding(xt->cx, s->fs, FTPI_FINDING_DATA_IP_MISMATCH, &f->cli, &f->srv, msg, evd);
}

/* An active announcement named a third host and no data connection came to the control client
 * instead: it was a bounce. */
void ftpi__expect_settle_bounce(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	if (!x->bounce || x->s == NULL)
		return;
	x->bounce = 0;
	ftpi__ftp_bounce(xt->ftp, x->s, x->announce, &x->target, x->text, x->text_len);
}

/* ---- the shared store: connections of other engines' sessions ---- */

static int remote_fit(void *arg, const struct ftpi__sx_pub *p, struct ftpi__sx_claim *c)
{
	const struct ftpi_flow *f = arg;
	struct ftpi__fit_view v = {&p->target, &p->scli, &p->ssrv, p->active, p->bounce,
				   p->has_reached};
	struct ftpi__fit k = ftpi__fit_conn(&v, &f->cli, &f->srv);
	if (k.score < 0)
		return -1;
	c->cli = f->cli;
	c->srv = f->srv;
	c->first_us = f->first_us;
	c->first_frame = f->first_frame;
	c->cli_bad = (uint8_t)k.cli_bad;
	c->srv_bad = (uint8_t)k.srv_bad;
	c->nat = (uint8_t)k.nat;
	return k.score + (p->firm ? 2 : 0);
}

struct ftpi_dconn *ftpi__expect_match_remote(struct ftpi__expect_tab *xt, struct ftpi_flow *f,
					     int min_score, uint64_t min_created)
{
	struct ftpi__sx_pub p;
	struct ftpi__sx_claim c;
	/* every engine that could have announced it before this connection has done so */
	ftpi__store_wait_port(xt->store, xt->me, f->srv.port, f->first_us, 0);
	ftpi__sref r = ftpi__store_claim_above(xt->store, xt->me, f->srv.port, f->first_us,
					       xt->cx->cfg.timeout_expect, remote_fit, f, min_score,
					       min_created, &p, &c);
	if (r == 0)
		return NULL;
	struct ftpi_dconn *d = ftpi__dconn_new(xt, NULL, f, FTPI_LINK_ANNOUNCED);
	if (d == NULL) {
		ftpi__store_claim_release(xt->store, r);
		return NULL;
	}
	d->sref = r;
	d->sid = p.session_id; /* the data event names the owner's session */
	d->rcli = p.scli;
	d->rsrv = p.ssrv;
	xt->remote_open++;
	d->announce = p.announce;
	d->active = p.active;
	d->nat_used = c.nat;
	d->announce_frame = p.frame;
	if (p.tls_session) /* the ClientHello is read for its version and suite */
		d->tls_session = 1;
	if (c.cli_bad || c.srv_bad) {
		/* raised here, on the owner's session id; the owner records it for its session */
		struct ftpi__subject subj;
		memset(&subj, 0, sizeof subj);
		subj.id = p.session_id;
		subj.cli = p.scli;
		subj.srv = p.ssrv;
		struct owner_view ov = {&subj, p.scli, p.ssrv, p.announce, p.active, p.target.port};
		ftpi__expect_mismatch(xt, &ov, &f->cli, &f->srv, c.cli_bad, c.srv_bad);
	}
	return d;
}

/* A claimant's connection carried clear text: said as of its packet, as one engine says it. */
static void claim_clear(struct ftpi__expect_tab *xt, struct ftpi_session *s,
			const struct ftpi__sx_claim *c)
{
	if (!c->clear)
		return;
	struct ftpi__asof a = ftpi__asof_begin(xt->cx, c->clear_us, c->clear_frame);
	ftpi__session_cleartext_data(xt->ftp, s, "data connection payload is not TLS");
	ftpi__asof_end(xt->cx, a);
}

/* A finding the claimant raised on this session's id joins the session's record. */
static void record_kind(struct ftpi__subject *fs, int k)
{
	if (ftpi__subject_has(fs, k))
		return;
	fs->findings_mask |= 1ull << k;
	if (fs->n_order < FTPI__ARRAY_LEN(fs->order))
		fs->order[fs->n_order++] = (uint8_t)k;
}

/* The owner learns that another engine's connection met its expectation: the session counts it
 * as if it had seen it (its data connection, the mismatch, the NAT and bounce verdicts); the data
 * event itself comes from the engine that saw the connection. */
static void remote_claimed(struct ftpi__expect_tab *xt, struct ftpi_expect *x,
			   const struct ftpi__sx_claim *c)
{
	struct ftpi_session *s = x->s;
	if (x->matched) /* its own table met it first: the claims only add connections */
		goto count;
	x->matched = 1;
	ftpi__expect_met(xt, x);
	FTPI__COUNT(xt->cx, expectations_matched);
	if (c->nat == FTPI_NAT_REWRITTEN)
		x->bounce = 0;
	else
		ftpi__expect_settle_bounce(xt, x);
	if (s && x->nat_pending && s->server) { /* as of the connection, not of this call */
		x->nat_pending = 0;
		ftpi__server_helper(s->server, &x->target.addr, c->first_us, c->first_frame);
	}
count:
	if (s == NULL)
		return;
	if (c->n_bad) { /* the claimants raised the findings; the counts are the session's */
		record_kind(&s->fs, FTPI_FINDING_DATA_IP_MISMATCH);
		if (s->server) {
			s->server->ip_mismatches += c->n_bad;
			s->server->node_mismatches += c->n_node;
		}
	}
	for (uint32_t i = 0; i < c->n && !x->active; i++)
		ftpi__count_passive_port(s->server, c->srv.port);
	/* said by its claimant when it closed (its place among the session's kinds is nearer
	 * here than at the end); whether the others are answered is known at the end
	 * (ftpi__expect_claims_end) */
	if (c->n_never)
		record_kind(&s->fs, FTPI_FINDING_DATA_CONNECTION_MISSING);
	claim_clear(xt, s, c);
}

/* Every connection of another engine that claimed x joins x's session, once, when x goes:
 * decided once every engine that could still claim it before now is this far. */
void ftpi__expect_claims_of(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	struct ftpi__sx_claim c;
	if (x->sref == 0 || x->claims_read)
		return;
	x->claims_read = 1;
	ftpi__store_wait_claims(xt->store, xt->me, x->sref, x->target.port, xt->cx->now_us);
	if (ftpi__store_claims(xt->store, x->sref, &c)) {
		x->claimed = 1;
		remote_claimed(xt, x, &c);
	}
}

/* The connections that claimed entry r of session s: counted as one engine counts its own at
 * the session's end (ended; else as they are now) - data connections if they were answered,
 * data_connection_missing if not (their claimant says it, as of this packet). */
void ftpi__expect_claims_end(struct ftpi__expect_tab *xt, struct ftpi_session *s, ftpi__sref r,
			     uint16_t port, int ended)
{
	struct ftpi__sx_claim c;
	uint64_t now = xt->cx->in_flush ? UINT64_MAX : xt->cx->now_us;
	if (ended) /* before the wait: a claimant past now reads it */
		ftpi__store_session_end(xt->store, r, xt->cx->now_us,
					xt->cx->in_flush ? 0 : xt->cx->frame);
	ftpi__store_wait_claims(xt->store, xt->me, r, port, now);
	if (ftpi__store_claims(xt->store, r, &c)) {
		claim_clear(xt, s, &c); /* it may have come after the expectation went */
		s->n_dconns += c.n_answered;
		if (c.n_answered < c.n)
			record_kind(&s->fs, FTPI_FINDING_DATA_CONNECTION_MISSING);
	}
	ftpi__store_owner_release(xt->store, r);
}

void ftpi__expect_rclaims_end(struct ftpi__expect_tab *xt, struct ftpi_session *s)
{
	for (uint8_t i = 0; i < s->n_rclaims; i++)
		ftpi__expect_claims_end(xt, s, s->rclaims[i], s->rclaim_port[i], 1);
	s->n_rclaims = 0;
}

/* The ports the server's passive replies named before now: this engine's, and with a store
 * every engine's (one engine learns from all of a server's sessions, whatever their client). */
static int learned_range(struct ftpi__expect_tab *xt, struct ftpi_session *s, uint16_t *lo,
			 uint16_t *hi)
{
	int n = s->server && s->server->pasv_count;
	uint16_t l, h;
	if (n) {
		*lo = s->server->pasv_min;
		*hi = s->server->pasv_max;
	}
	if (xt->store == NULL || s->server == NULL)
		return n;
	/* every engine that could still read a passive reply before now has (a reply announces:
	 * the engines' look-ahead covers it; no expectation targets port 0) */
	ftpi__store_wait_port(xt->store, xt->me, 0, xt->cx->now_us, xt->cx->frame);
	if (!ftpi__facts_pasv_range(ftpi__store_facts(xt->store), &s->srv, xt->cx->now_us,
				    xt->cx->frame, &l, &h))
		return n;
	*lo = n && *lo < l ? *lo : l;
	*hi = n && *hi > h ? *hi : h;
	return 1;
}

int ftpi__expect_login_failed(struct ftpi__expect_tab *xt, struct ftpi_session *s,
			      uint32_t *count)
{
	const struct ftpi_config *cfg = &xt->cx->cfg;
	if (xt->store == NULL)
		return -1;
	/* every other engine has read its failures before now (a reply that refuses a login
	 * announces nothing: look-ahead does not cover it) */
	ftpi__store_wait_at(xt->store, xt->me, xt->cx->now_us, xt->cx->frame);
	return ftpi__facts_login_failed(ftpi__store_facts(xt->store), ftpi__store_low_wm(xt->store),
					&s->cli.addr, xt->cx->now_us, xt->cx->frame,
					cfg->brute_force_window, cfg->brute_force_threshold, count);
}

static int in_passive_range(struct ftpi__expect_tab *xt, struct ftpi_session *s, uint16_t port)
{
	uint16_t lo, hi;
	if (xt->cx->cfg.pasv_max && port >= xt->cx->cfg.pasv_min && port <= xt->cx->cfg.pasv_max)
		return 1;
	if (learned_range(xt, s, &lo, &hi))
		return port >= lo && port <= hi;
	/* nothing learned or configured: any unprivileged port but the control port */
	return !xt->cx->cfg.pasv_max && port >= 1024 && port != s->srv.port;
}

struct ftpi_dconn *ftpi__dconn_infer(struct ftpi__expect_tab *xt, struct ftpi_flow *f, int is_ftp)
{
	/* encrypted control: link by hosts, range and time (sessions indexed by host pair) */
	struct ftpi_session *readable = NULL;
	for (struct ftpi_session *s = ftpi__session_pair_first(xt->ftp, &f->cli.addr, &f->srv.addr); s;
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
			      f->srv.port != s->srv.port && in_passive_range(xt, s, f->srv.port);
		int active = ftpi__addr_eq(&f->cli.addr, &s->srv.addr) &&
			     ftpi__addr_eq(&f->srv.addr, &s->cli.addr) &&
			     (f->cli.port == 20 || f->cli.port == (uint16_t)(s->srv.port - 1));
		if (!passive && !active)
			continue;
		struct ftpi_dconn *d = ftpi__dconn_new(xt, s, f, FTPI_LINK_INFERRED);
		if (d) {
			d->active = (uint8_t)active;
			ftpi__dconn_count_port(d);
			d->tlsp = ftpi__alloc(xt->cx, FTPI__POOL_TLS, sizeof *d->tlsp);
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
	ftpi__finding(xt->cx, &s->fs, FTPI_FINDING_UNEXPECTED_DATA_CONNECTION, &f->cli, &f->srv, msg, evd);
	struct ftpi_dconn *d = ftpi__dconn_new(xt, NULL, f, FTPI_LINK_NONE);
	if (d)
		d->xfer.status = FTPI_DATA_UNKNOWN;
	return d;
}
