/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expect.c - expectations created from PORT/EPRT/LPRT commands and 227/228/229 replies,
 * matched against new TCP connections (by the responder's port, then by addresses: exact, NAT
 * "reached" address, or a mismatch worth a finding); inference for sessions whose control
 * channel is encrypted (same hosts, passive range); data_connection_missing with its likely
 * cause. The data connections themselves live in dconn.c.
 */
#include "expect.h"

#include "expect_int.h"

#define EXP_BUCKET(xt, port) ((port) & ((xt)->nbuckets - 1))

int ftpi__expect_init(struct ftpi__expect_tab *xt, struct ftpi__ctx *cx, struct ftpi__ftp *ftp)
{
	xt->cx = cx;
	xt->ftp = ftp;
	xt->nbuckets = 4096;
	xt->buckets = ftpi__alloc(cx, FTPI__POOL_EXPECT, xt->nbuckets * sizeof *xt->buckets);
	return xt->buckets ? FTPI_OK : FTPI_E_NOMEM;
}

/* ---- expectations ---- */

static void exp_unlink(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	struct ftpi_expect **pp = &xt->buckets[EXP_BUCKET(xt, x->target.port)];
	while (*pp && *pp != x)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = x->hnext;
	if (x->lprev)
		x->lprev->lnext = x->lnext;
	else
		xt->list = x->lnext;
	if (x->lnext)
		x->lnext->lprev = x->lprev;
	else
		xt->list_tail = x->lprev;
	if (x->s) {
		struct ftpi_expect **sp = &x->s->expects;
		while (*sp && *sp != x)
			sp = &(*sp)->snext;
		if (*sp)
			*sp = x->snext;
		x->s->n_expect--;
	}
}

/* An active announcement named a third host and no data connection came to the control client
 * instead: it was a bounce. */
static void settle_bounce(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	if (!x->bounce || x->s == NULL)
		return;
	x->bounce = 0;
	ftpi__ftp_bounce(xt->ftp, x->s, x->announce, &x->target, x->text, x->text_len);
}

static void exp_free(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	settle_bounce(xt, x);
	exp_unlink(xt, x);
	xt->n--;
	ftpi__free(xt->cx, FTPI__POOL_EXPECT, x, sizeof *x);
}

/* A firm expectation that nothing met: the finding users feel as "can connect, can't list". */
static void missing(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why)
{
	struct ftpi_session *s = x->s;
	char msg[400], evd[300], a[64];
	size_t n;

	ftpi_addr_format(&x->target.addr, a, sizeof a);
	n = ftpi__buf_printf(msg, sizeof msg, 0, "%s announced a data connection to ",
			     ftpi_announce_name(x->announce));
	n = ftpi__buf_endpoint(msg, sizeof msg, n, &x->target);
	n = ftpi__buf_printf(msg, sizeof msg, n, " that never came (%s)", why);
	/* only what the capture shows: nothing reached the announced port here */
	n = ftpi__buf_printf(msg, sizeof msg, n, "; no SYN to it seen at this capture point");
	if (!x->active && s && !ftpi__addr_eq(&x->target.addr, &s->srv.addr) &&
	    ftpi__addr_is_private(&x->target.addr) && !ftpi__addr_is_private(&s->cli.addr))
		n = ftpi__buf_printf(msg, sizeof msg, n,
				     " (the announced address %s is private: a client outside the "
				     "NAT cannot reach it)",
				     a);
	(void)n;
	n = ftpi__buf_printf(evd, sizeof evd, 0, "%s %s announced in frame %llu",
			     x->active ? "active" : "passive", ftpi_announce_name(x->announce),
			     (unsigned long long)x->frame);
	ftpi__finding(xt->cx, &s->fs, FTPI_FINDING_DATA_CONNECTION_MISSING, NULL, NULL, msg, evd);
}

/* Seen from the server's side of a NAT: the 227 named the server's own private address to a
 * public client, and nothing came for it. (When a NAT helper rewrites the 227 on the way, the
 * connections do come: then nothing is said.) */
static void private_pasv_unused(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	struct ftpi_session *s = x->s;
	char msg[300], evd[120], a[64], c[64];
	if (x->active || !ftpi__addr_eq(&x->target.addr, &s->srv.addr) ||
	    !ftpi__addr_is_private(&x->target.addr) || ftpi__addr_is_private(&s->cli.addr))
		return;
	if (s->server)
		s->server->nat_problems++;
	if (ftpi__subject_has(&s->fs, FTPI_FINDING_NAT_PRIVATE_PASV))
		return;
	ftpi_addr_format(&x->target.addr, a, sizeof a);
	ftpi_addr_format(&s->cli.addr, c, sizeof c);
	ftpi__buf_printf(msg, sizeof msg, 0,
			 "%s reply advertises the server's private address %s to the public client "
			 "%s and no data connection came for it: the server is behind NAT without "
			 "its public (helper) address",
			 x->announce == FTPI_ANN_LPSV ? "228" : "227", a, c);
	ftpi__buf_printf(evd, sizeof evd, 0, "passive %s announced in frame %llu",
			 ftpi_announce_name(x->announce), (unsigned long long)x->frame);
	ftpi__finding(xt->cx, &s->fs, FTPI_FINDING_NAT_PRIVATE_PASV, NULL, NULL, msg, evd);
}

static void exp_end(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why)
{
	if (x->firm && !x->matched) {
		if (x->nat_pending) { /* the announced address did not work for this client */
			if (!ftpi__subject_has(&x->s->fs, FTPI_FINDING_NAT_PRIVATE_PASV))
				ftpi__ftp_nat_pasv(xt->ftp, x->s, x->announce, &x->target, x->text,
						   x->text_len);
			if (x->s->server)
				x->s->server->nat_problems++;
		}
		private_pasv_unused(xt, x);
		missing(xt, x, why);
	}
	exp_free(xt, x);
}

void ftpi__expect_add(struct ftpi__expect_tab *xt, struct ftpi_session *s, int announce,
		      int active, const struct ftpi_endpoint *target, int firm, const char *text,
		      size_t len)
{
	struct ftpi_expect *x;
	struct ftpi_event ev;

	/* A newer announcement replaces the session's older unmatched ones. */
	for (struct ftpi_expect *o = s->expects, *next; o; o = next) {
		next = o->snext;
		if (!o->matched) {
			FTPI__COUNT(xt->cx, expectations_replaced);
			exp_end(xt, o, "replaced by a newer announcement");
		} else if (s->n_expect >= xt->cx->cfg.max_expect_per_session) {
			exp_free(xt, o);
		}
	}
	while (s->n_expect >= xt->cx->cfg.max_expect_per_session && s->expects)
		exp_free(xt, s->expects);
	if (xt->list && xt->n >= xt->cx->cfg.max_expectations) {
		FTPI__COUNT(xt->cx, expectations_memcap);
		exp_free(xt, xt->list); /* the oldest goes */
	}
	x = ftpi__alloc(xt->cx, FTPI__POOL_EXPECT, sizeof *x);
	if (x == NULL) {
		FTPI__COUNT(xt->cx, expectations_memcap);
		return;
	}
	x->s = s;
	x->target = *target;
	x->announce = (uint8_t)announce;
	x->active = (uint8_t)active;
	x->firm = (uint8_t)firm;
	x->created_us = xt->cx->now_us;
	x->firm_us = firm ? xt->cx->now_us : 0;
	x->frame = xt->cx->frame;
	x->text_len = (uint16_t)FTPI__MIN(len, sizeof x->text);
	memcpy(x->text, text, x->text_len);
	if (active) {
		x->from = s->srv.addr;
		x->bounce = !ftpi__addr_eq(&target->addr, &s->cli.addr);
	} else {
		x->nat_pending = s->nat_pending;
		x->from = s->cli.addr;
		if (!ftpi__addr_eq(&target->addr, &s->srv.addr)) {
			x->reached = s->srv.addr;
			x->has_reached = 1;
		}
	}
	uint32_t b = EXP_BUCKET(xt, target->port);
	x->hnext = xt->buckets[b];
	xt->buckets[b] = x;
	x->lprev = xt->list_tail;
	if (xt->list_tail)
		xt->list_tail->lnext = x;
	else
		xt->list = x;
	xt->list_tail = x;
	x->snext = s->expects;
	s->expects = x;
	s->n_expect++;
	xt->n++;
	FTPI__COUNT(xt->cx, expectations_created);

	ftpi__event_of(&ev, FTPI_EV_EXPECT, &s->fs);
	ev.u.expect.announced_by = announce;
	ev.u.expect.active = active;
	ev.u.expect.target = *target;
	if (x->has_reached) {
		ev.u.expect.reached.addr = x->reached;
		ev.u.expect.reached.port = target->port;
		ev.u.expect.has_reached = 1;
	}
	ftpi__emit(xt->cx, &ev);
}

void ftpi__expect_firm(struct ftpi__expect_tab *xt, struct ftpi_session *s, int announce)
{
	for (struct ftpi_expect *x = s->expects; x; x = x->snext)
		if (x->announce == announce && !x->firm) {
			x->firm = 1;
			x->firm_us = xt->cx->now_us;
			return;
		}
}

/* announce 0 = every unmatched expectation of the session; -1 = every active one. */
void ftpi__expect_cancel(struct ftpi__expect_tab *xt, struct ftpi_session *s, int announce)
{
	for (struct ftpi_expect *x = s->expects, *next; x; x = next) {
		next = x->snext;
		if (!x->matched && (announce == 0 || x->announce == announce ||
				    (announce == -1 && x->active)))
			exp_free(xt, x);
	}
}

static void expect_session_end(struct ftpi__expect_tab *xt, struct ftpi_session *s)
{
	while (s->expects) {
		struct ftpi_expect *x = s->expects;
		if (!x->matched)
			FTPI__COUNT(xt->cx, expectations_expired);
		exp_end(xt, x, "the session ended");
	}
}

void ftpi__expect_tick(struct ftpi__expect_tab *xt, uint64_t now)
{
	for (struct ftpi_expect *x = xt->list, *next; x; x = next) {
		next = x->lnext;
		uint64_t t0 = x->firm ? x->firm_us : x->created_us;
		if (now - t0 < xt->cx->cfg.timeout_expect)
			break; /* oldest first */
		if (x->matched) {
			exp_free(xt, x);
			continue;
		}
		FTPI__COUNT(xt->cx, expectations_expired);
		exp_end(xt, x, "expired");
	}
	ftpi__dconn_tick(xt, now);
}

void ftpi__expect_session_ending(struct ftpi__expect_tab *xt, struct ftpi_session *s)
{
	expect_session_end(xt, s);
	ftpi__dconn_session_end(xt, s);
}

void ftpi__expect_flush(struct ftpi__expect_tab *xt)
{
	while (xt->list)
		exp_end(xt, xt->list, "input ended");
}

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

static void mismatch(struct ftpi__expect_tab *xt, struct ftpi_session *s, struct ftpi_flow *f,
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
	ftpi__finding(xt->cx, &s->fs, FTPI_FINDING_DATA_IP_MISMATCH, &f->cli, &f->srv, msg, evd);
	if (s->server) {
		s->server->ip_mismatches++;
		if (!x->active && srv_bad)
			s->server->node_mismatches++;
	}
}

/* Two addresses of one subnet (/24, /64): nodes behind one load balancer. */
static int same_subnet(const struct ftpi_addr *a, const struct ftpi_addr *b)
{
	if (a->family != b->family)
		return 0;
	return memcmp(a->ip, b->ip, a->family == 6 ? 8 : 3) == 0;
}

struct candidate {
	int score, cli_bad, srv_bad, nat;
};

/* How well a new connection fits an expectation; score -1 when it does not. */
static struct candidate fit(const struct ftpi_expect *x, const struct ftpi_flow *f)
{
	const struct ftpi_session *s = x->s;
	struct candidate c = {-1, 0, 0, FTPI_NAT_NA};
	if (!x->active) {
		int to_target = ftpi__addr_eq(&f->srv.addr, &x->target.addr);
		int to_reached = ftpi__addr_eq(&f->srv.addr, &s->srv.addr);
		c.cli_bad = !ftpi__addr_eq(&f->cli.addr, &s->cli.addr);
		if (!to_target && !to_reached) {
			/* the control's client, to the announced port of another node next to the
			 * control's server: a balancer sent it elsewhere */
			if (c.cli_bad || !same_subnet(&f->srv.addr, &s->srv.addr))
				return c;
			c.srv_bad = 1;
		} else if (x->has_reached) {
			c.nat = to_target ? FTPI_NAT_ANNOUNCED : FTPI_NAT_REACHED;
		}
	} else if (ftpi__addr_eq(&f->srv.addr, &x->target.addr)) {
		c.srv_bad = !ftpi__addr_eq(&f->cli.addr, &s->srv.addr);
	} else if (x->bounce && ftpi__addr_eq(&f->srv.addr, &s->cli.addr) &&
		   ftpi__addr_eq(&f->cli.addr, &s->srv.addr)) {
		c.nat = FTPI_NAT_REWRITTEN; /* the control's own host pair, the announced port */
	} else {
		return c;
	}
	if (c.cli_bad && c.srv_bad)
		return c; /* nothing but the port in common */
	c.score = (!c.cli_bad && !c.srv_bad ? 8 : 0) + (x->matched ? 0 : 4) + (x->firm ? 2 : 0);
	return c;
}

struct ftpi_dconn *ftpi__expect_match(struct ftpi__expect_tab *xt, struct ftpi_flow *f)
{
	struct ftpi_expect *best = NULL;
	struct candidate bc = {-1, 0, 0, FTPI_NAT_NA};

	for (struct ftpi_expect *x = xt->buckets[EXP_BUCKET(xt, f->srv.port)]; x; x = x->hnext) {
		if (x->target.port != f->srv.port || x->s == NULL || x->s->ended)
			continue;
		struct candidate c = fit(x, f);
		if (c.score < 0)
			continue;
		if (c.score > bc.score || (c.score == bc.score && x->created_us >= best->created_us)) {
			best = x;
			bc = c;
		}
	}
	if (best == NULL)
		return NULL;
	struct ftpi_dconn *d = ftpi__dconn_new(xt, best->s, f, FTPI_LINK_ANNOUNCED);
	if (d == NULL)
		return NULL;
	if (!best->matched)
		FTPI__COUNT(xt->cx, expectations_matched);
	best->matched = 1;
	best->syn_seen = 1;
	if (bc.nat == FTPI_NAT_REWRITTEN)
		best->bounce = 0; /* the address was rewritten on the way: no third host */
	else
		settle_bounce(xt, best); /* the server connected to the third host */
	if (best->nat_pending && best->s->server) { /* it worked: a helper address */
		best->nat_pending = 0;
		best->s->server->helper_addr = best->target.addr;
		best->s->server->has_helper = 1;
	}
	d->announce = best->announce;
	d->active = best->active;
	d->nat_used = (uint8_t)bc.nat;
	d->announce_frame = best->frame;
	ftpi__dconn_count_port(d);
	if (bc.cli_bad || bc.srv_bad)
		mismatch(xt, best->s, f, best, bc.cli_bad, bc.srv_bad);
	return d;
}

static int in_passive_range(struct ftpi__expect_tab *xt, struct ftpi_session *s, uint16_t port)
{
	if (xt->cx->cfg.pasv_max && port >= xt->cx->cfg.pasv_min && port <= xt->cx->cfg.pasv_max)
		return 1;
	if (s->server && s->server->pasv_count && port >= s->server->pasv_min &&
	    port <= s->server->pasv_max)
		return 1;
	/* nothing learned or configured: any unprivileged port but the control port */
	return !xt->cx->cfg.pasv_max && (!s->server || !s->server->pasv_count) && port >= 1024 &&
	       port != s->srv.port;
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


void ftpi__expect_release(struct ftpi__expect_tab *xt)
{
	/* Flows are gone already (unowned dconns were released with them). */
	while (xt->list)
		exp_free(xt, xt->list);
	for (struct ftpi_session *s = xt->ftp->sessions; s; s = s->next)
		ftpi__dconn_release_all(xt, s);
	ftpi__free(xt->cx, FTPI__POOL_EXPECT, xt->buckets, xt->nbuckets * sizeof *xt->buckets);
	xt->buckets = NULL;
}
