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
	if (x->sref)
		ftpi__store_owner_release(xt->store, x->sref);
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

static void remote_claimed(struct ftpi__expect_tab *xt, struct ftpi_expect *x,
			   const struct ftpi__sx_claim *c);

static void exp_end(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why)
{
	if (!x->matched && x->sref) {
		/* another engine may have claimed it: decide once every engine is this far */
		struct ftpi__sx_claim c;
		ftpi__store_wait(xt->store, xt->me, xt->cx->now_us);
		if (ftpi__store_claims(xt->store, x->sref, &c))
			remote_claimed(xt, x, &c);
	}
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
	if (xt->store) {
		struct ftpi__sx_pub p;
		memset(&p, 0, sizeof p);
		p.session_id = s->id;
		p.scli = s->cli;
		p.ssrv = s->srv;
		p.target = x->target;
		p.reached = x->reached;
		p.has_reached = x->has_reached;
		p.announce = x->announce;
		p.active = x->active;
		p.firm = x->firm;
		p.bounce = x->bounce;
		p.tls_session = s->tlsp != NULL;
		p.created_us = x->created_us;
		p.firm_us = x->firm_us;
		p.frame = x->frame;
		x->sref = ftpi__store_publish(xt->store, xt->me, &p);
	}

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
			if (x->sref)
				ftpi__store_firm(xt->store, x->sref, x->firm_us);
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
	if (xt->remote) {
		/* every engine's input has ended: the owners' transfers are final */
		ftpi__store_wait(xt->store, xt->me, UINT64_MAX);
		ftpi__dconn_remote_tick(xt, xt->cx->now_us, 1);
	}
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

/* Who an expectation belongs to: a session here, or a copy from the store. */
struct owner_view {
	struct ftpi__subject *fs;
	struct ftpi_endpoint cli, srv; /* the control connection */
	int announce, active;
	uint16_t port;
};

static void mismatch(struct ftpi__expect_tab *xt, const struct owner_view *s, struct ftpi_flow *f,
		     int cli_bad, int srv_bad)
{
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

static void count_mismatch(struct ftpi_session *s, int active, int srv_bad)
{
	if (s->server) {
		s->server->ip_mismatches++;
		if (!active && srv_bad)
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

/* What fit() needs of an expectation: the engine's own, or a copy from the store. */
struct fit_view {
	const struct ftpi_endpoint *target, *scli, *ssrv;
	int active, bounce, has_reached;
};

/* How well a new connection fits an expectation, without the matched/firm bonus; score -1 when
 * it does not. */
static struct candidate fit_view(const struct fit_view *x, const struct ftpi_flow *f)
{
	struct {
		struct ftpi_endpoint cli, srv;
	} sv = {*x->scli, *x->ssrv}, *s = &sv;
	struct candidate c = {-1, 0, 0, FTPI_NAT_NA};
	if (!x->active) {
		int to_target = ftpi__addr_eq(&f->srv.addr, &x->target->addr);
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
	} else if (ftpi__addr_eq(&f->srv.addr, &x->target->addr)) {
		c.srv_bad = !ftpi__addr_eq(&f->cli.addr, &s->srv.addr);
	} else if (x->bounce && ftpi__addr_eq(&f->srv.addr, &s->cli.addr) &&
		   ftpi__addr_eq(&f->cli.addr, &s->srv.addr)) {
		c.nat = FTPI_NAT_REWRITTEN; /* the control's own host pair, the announced port */
	} else {
		return c;
	}
	if (c.cli_bad && c.srv_bad)
		return c; /* nothing but the port in common */
	c.score = !c.cli_bad && !c.srv_bad ? 8 : 0;
	return c;
}

static struct candidate fit(const struct ftpi_expect *x, const struct ftpi_flow *f)
{
	struct fit_view v = {&x->target, &x->s->cli, &x->s->srv, x->active, x->bounce,
			     x->has_reached};
	struct candidate c = fit_view(&v, f);
	if (c.score >= 0)
		c.score += (x->matched ? 0 : 4) + (x->firm ? 2 : 0);
	return c;
}

static struct ftpi_dconn *match_remote(struct ftpi__expect_tab *xt, struct ftpi_flow *f,
				       int min_score, uint64_t min_created);

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
	if (xt->store && (best == NULL || best->matched)) {
		/* another engine's unmatched expectation would rank above this one in one table */
		struct ftpi_dconn *rd = match_remote(xt, f, best ? bc.score : -1,
						     best ? best->created_us : 0);
		if (rd || best == NULL)
			return rd;
	}
	if (best == NULL)
		return NULL;
	struct ftpi_dconn *d = ftpi__dconn_new(xt, best->s, f, FTPI_LINK_ANNOUNCED);
	if (d == NULL)
		return NULL;
	if (!best->matched) {
		FTPI__COUNT(xt->cx, expectations_matched);
		if (best->sref)
			ftpi__store_matched(xt->store, best->sref);
	}
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
	if (bc.cli_bad || bc.srv_bad) {
		struct owner_view ov = {&best->s->fs, best->s->cli, best->s->srv, best->announce,
					best->active, best->target.port};
		mismatch(xt, &ov, f, bc.cli_bad, bc.srv_bad);
		count_mismatch(best->s, best->active, bc.srv_bad);
	}
	return d;
}

/* ---- the shared store: connections of other engines' sessions ---- */

static int remote_fit(void *arg, const struct ftpi__sx_pub *p, struct ftpi__sx_claim *c)
{
	const struct ftpi_flow *f = arg;
	struct fit_view v = {&p->target, &p->scli, &p->ssrv, p->active, p->bounce, p->has_reached};
	struct candidate k = fit_view(&v, f);
	if (k.score < 0)
		return -1;
	c->cli = f->cli;
	c->srv = f->srv;
	c->cli_bad = (uint8_t)k.cli_bad;
	c->srv_bad = (uint8_t)k.srv_bad;
	c->nat = (uint8_t)k.nat;
	return k.score + (p->firm ? 2 : 0);
}

static struct ftpi_dconn *match_remote(struct ftpi__expect_tab *xt, struct ftpi_flow *f,
				       int min_score, uint64_t min_created)
{
	struct ftpi__sx_pub p;
	struct ftpi__sx_claim c;
	/* every engine has seen what came before this connection: its announcement is there */
	ftpi__store_wait(xt->store, xt->me, f->first_us);
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
		mismatch(xt, &ov, f, c.cli_bad, c.srv_bad);
	}
	return d;
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
	x->matched = 1;
	FTPI__COUNT(xt->cx, expectations_matched);
	if (c->nat == FTPI_NAT_REWRITTEN)
		x->bounce = 0;
	else
		settle_bounce(xt, x);
	if (s == NULL)
		return;
	if (x->nat_pending && s->server) {
		x->nat_pending = 0;
		s->server->helper_addr = x->target.addr;
		s->server->has_helper = 1;
	}
	if (c->cli_bad || c->srv_bad) {
		record_kind(&s->fs, FTPI_FINDING_DATA_IP_MISMATCH);
		count_mismatch(s, x->active, c->srv_bad);
	}
	if (!c->answered) {
		/* attempted, never answered: the claimant says data_connection_missing */
		record_kind(&s->fs, FTPI_FINDING_DATA_CONNECTION_MISSING);
	} else {
		s->n_dconns += c->n;
		if (!x->active)
			ftpi__count_passive_port(s->server, c->srv.port);
	}
	if (c->clear)
		ftpi__session_cleartext_data(xt->ftp, s, "data connection payload is not TLS");
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
	ftpi__dconn_remote_release(xt);
	ftpi__free(xt->cx, FTPI__POOL_EXPECT, xt->buckets, xt->nbuckets * sizeof *xt->buckets);
	xt->buckets = NULL;
}
