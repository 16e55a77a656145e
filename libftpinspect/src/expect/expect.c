/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expect.c - expectations created from PORT/EPRT/LPRT commands and 227/228/229 replies,
 * matched against new TCP connections (by the responder's port, then by addresses: exact, NAT
 * "reached" address, or a mismatch worth a finding); inference for sessions whose control
 * channel is encrypted (same hosts, passive range); data_connection_missing with its likely
 * cause. The data connections themselves live in dconn.c.
 */
#include <stdio.h>
#include <time.h>

#include "expect.h"

#include "expect_int.h"
#include "facts.h"
#include "fit.h"

#define EXP_BUCKET(xt, port) ((port) & ((xt)->nbuckets - 1))

int ftpi__expect_init(struct ftpi__expect_tab *xt, struct ftpi__ctx *cx, struct ftpi__ftp *ftp)
{
	xt->cx = cx;
	xt->ftp = ftp;
	xt->nbuckets = 4096;
	xt->buckets = ftpi__alloc(cx, FTPI__POOL_EXPECT, xt->nbuckets * sizeof *xt->buckets);
	return xt->buckets ? FTPI_OK : FTPI_E_NOMEM;
}

int ftpi__expect_share_init(struct ftpi__expect_tab *xt, struct ftpi__share *share)
{
	uint32_t cap = ftpi__share_max_pending(share);
	xt->sh_slots = ftpi__alloc(xt->cx, FTPI__POOL_EXPECT, cap * sizeof *xt->sh_slots);
	if (xt->sh_slots == NULL)
		return FTPI_E_NOMEM;
	memset(xt->sh_slots, 0, cap * sizeof *xt->sh_slots);
	for (uint32_t i = 0; i < cap; i++)
		xt->sh_slots[i].next = i + 1 < cap ? i + 1 : FTPI__SHSLOT_NIL;
	xt->sh_cap = cap;
	xt->sh_free = 0;
	xt->sh_hold_us = UINT64_MAX;
	xt->share = share;
	return FTPI_OK;
}

static void share_key(struct ftpi__expect_tab *xt, const struct ftpi_expect *x, uint64_t sid,
		      char key[FTPI__SH_KEY])
{
	ftpi__share_key(xt->share, &x->target, sid, x->shseq, key);
}

/* Tells Redis about a change to an expectation of ours. */
static void share_update(struct ftpi__expect_tab *xt, const struct ftpi_expect *x, uint64_t firm_us,
			 int matched, const struct ftpi_xfer *xf, uint64_t gone_us)
{
	if (x->shseq == 0 || x->s == NULL)
		return;
	ftpi__share_update(xt->share, &x->target, x->s->id, x->shseq, firm_us, matched, xf,
			   gone_us);
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

static void claims_end(struct ftpi__expect_tab *xt, struct ftpi_session *s, ftpi__sref r,
		       uint16_t port, int ended);
static void rclaims_end(struct ftpi__expect_tab *xt, struct ftpi_session *s);

static void exp_free(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	settle_bounce(xt, x);
	if (x->sref && x->claimed && x->s && x->s->n_rclaims < FTPI__ARRAY_LEN(x->s->rclaims)) {
		/* what became of the connections that claimed it is the session's at its end */
		ftpi__store_owner_retire(xt->store, x->sref);
		x->s->rclaims[x->s->n_rclaims] = x->sref;
		x->s->rclaim_port[x->s->n_rclaims++] = x->target.port;
	} else if (x->sref && x->claimed && x->s) {
		claims_end(xt, x->s, x->sref, x->target.port, x->s->ended); /* no room: now */
	} else if (x->sref) {
		ftpi__store_owner_release(xt->store, x->sref);
	}
	if (x->shseq)
		share_update(xt, x, 0, 0, NULL, FTPI__MAX(xt->cx->now_us, 1));
	exp_unlink(xt, x);
	xt->n--;
	ftpi__free(xt->cx, FTPI__POOL_EXPECT, x, sizeof *x);
}

/* A firm expectation that nothing met: the finding users feel as "can connect, can't list". */
static void missing_on(struct ftpi__expect_tab *xt, const struct ftpi_expect *x,
		       struct ftpi__subject *fs, const struct ftpi_endpoint *scli,
		       const struct ftpi_endpoint *ssrv, const char *why)
{
	char msg[400], evd[300], a[64];
	size_t n;

	ftpi_addr_format(&x->target.addr, a, sizeof a);
	n = ftpi__buf_printf(msg, sizeof msg, 0, "%s announced a data connection to ",
			     ftpi_announce_name(x->announce));
	n = ftpi__buf_endpoint(msg, sizeof msg, n, &x->target);
	n = ftpi__buf_printf(msg, sizeof msg, n, " that never came (%s)", why);
	/* only what the capture shows: nothing reached the announced port here */
	n = ftpi__buf_printf(msg, sizeof msg, n, "; no SYN to it seen at this capture point");
	if (!x->active && !ftpi__addr_eq(&x->target.addr, &ssrv->addr) &&
	    ftpi__addr_is_private(&x->target.addr) && !ftpi__addr_is_private(&scli->addr))
		n = ftpi__buf_printf(msg, sizeof msg, n,
				     " (the announced address %s is private: a client outside the "
				     "NAT cannot reach it)",
				     a);
	(void)n;
	n = ftpi__buf_printf(evd, sizeof evd, 0, "%s %s announced in frame %llu",
			     x->active ? "active" : "passive", ftpi_announce_name(x->announce),
			     (unsigned long long)x->frame);
	ftpi__finding(xt->cx, fs, FTPI_FINDING_DATA_CONNECTION_MISSING, NULL, NULL, msg, evd);
}

static void missing(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why)
{
	missing_on(xt, x, &x->s->fs, &x->s->cli, &x->s->srv, why);
}

/* Redis: a firm expectation of ours that nothing met here may have been met at another sensor.
 * The verdict waits for its claim (a CHECK answer) for wait_us. */
struct withheld {
	struct ftpi_expect x; /* a copy; x.s is NULL */
	struct ftpi__subject fs;
	struct ftpi_endpoint scli, ssrv;
	char key[FTPI__SH_KEY];
	char why[64];
	uint64_t t; /* capture time it was let go */
	uint64_t frame; /* the packet that let go of it: the finding's frame */
};

static int withhold(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why)
{
	if (xt->share == NULL || x->shseq == 0 || x->s == NULL)
		return 0;
	struct withheld *w = ftpi__alloc(xt->cx, FTPI__POOL_EXPECT, sizeof *w);
	if (w == NULL)
		return 0;
	uint32_t sl = ftpi__shslot_new(xt, FTPI__SH_CHECK, w);
	if (sl == 0) {
		ftpi__free(xt->cx, FTPI__POOL_EXPECT, w, sizeof *w);
		return 0;
	}
	memset(w, 0, sizeof *w);
	w->x = *x;
	w->x.s = NULL;
	w->fs = x->s->fs;
	w->fs.ndpi_risks = NULL;
	w->scli = x->s->cli;
	w->ssrv = x->s->srv;
	share_key(xt, x, x->s->id, w->key);
	snprintf(w->why, sizeof w->why, "%s", why);
	w->t = xt->cx->now_us;
	w->frame = xt->cx->frame;
	struct ftpi__shslot *s = &xt->sh_slots[sl - 1];
	s->since = ftpi__share_now();
	s->final = ftpi__share_wait_us(xt->share) == 0;
	s->busy = ftpi__share_check(xt->share, xt->me, ftpi__shslot_ticket(xt, sl - 1), w->key,
				    w->t, s->final) == 0;
	s->due = s->busy ? 0 : s->since + 100000;
	ftpi__share_count_withheld(xt->share, 0);
	return 1;
}

static void withheld_end(struct ftpi__expect_tab *xt, uint32_t idx1, int claimed)
{
	struct withheld *w = xt->sh_slots[idx1 - 1].obj;
	if (claimed)
		ftpi__share_count_withheld(xt->share, 1); /* the claimant reports it */
	else {
		/* said as of the packet that let go of it, as without Redis */
		struct ftpi__asof a = ftpi__asof_begin(xt->cx, w->t, w->frame);
		missing_on(xt, &w->x, &w->fs, &w->scli, &w->ssrv, w->why);
		ftpi__asof_end(xt->cx, a);
	}
	ftpi__shslot_free(xt, idx1);
	ftpi__free(xt->cx, FTPI__POOL_EXPECT, w, sizeof *w);
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
static void claims_of(struct ftpi__expect_tab *xt, struct ftpi_expect *x);
static int withhold(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why);
static void share_drain(struct ftpi__expect_tab *xt);

static void exp_end(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why)
{
	claims_of(xt, x); /* another engine's connections may have met it */
	if (x->firm && !x->matched) {
		if (x->nat_pending) { /* the announced address did not work for this client */
			if (!ftpi__subject_has(&x->s->fs, FTPI_FINDING_NAT_PRIVATE_PASV))
				ftpi__ftp_nat_pasv(xt->ftp, x->s, x->announce, &x->target, x->text,
						   x->text_len);
			if (x->s->server)
				x->s->server->nat_problems++;
		}
		private_pasv_unused(xt, x);
		/* Redis: another sensor may have met it; the NAT verdicts above stay local */
		if (!(xt->share && withhold(xt, x, why)))
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

	if (xt->store && !active && s->server) /* the server's passive ports, for every engine */
		ftpi__facts_pasv(ftpi__store_facts(xt->store), ftpi__store_low_wm(xt->store), &s->srv,
				 target->port, xt->cx->now_us, xt->cx->frame);
	/* A newer announcement replaces the session's older unmatched ones. */
	for (struct ftpi_expect *o = s->expects, *next; o; o = next) {
		next = o->snext;
		if (!o->matched) {
			FTPI__COUNT(xt->cx, expectations_replaced);
			exp_end(xt, o, "replaced by a newer announcement");
		} else if (s->n_expect >= xt->cx->cfg.max_expect_per_session) {
			claims_of(xt, o);
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
		if (xt->share)
			x->shseq = ftpi__share_publish(xt->share, &p, &s->xfer);
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
			if (x->shseq)
				share_update(xt, x, x->firm_us, 0, NULL, 0);
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
			claims_of(xt, x);
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
	rclaims_end(xt, s);
}

void ftpi__expect_flush(struct ftpi__expect_tab *xt)
{
	while (xt->list)
		exp_end(xt, xt->list, "input ended");
	if (xt->share)
		share_drain(xt);
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

static void mismatch(struct ftpi__expect_tab *xt, const struct owner_view *s,
		     const struct ftpi_endpoint *fcli, const struct ftpi_endpoint *fsrv, int cli_bad,
		     int srv_bad)
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

static void count_mismatch(struct ftpi_session *s, int active, int srv_bad)
{
	if (s->server) {
		s->server->ip_mismatches++;
		if (!active && srv_bad)
			s->server->node_mismatches++;
	}
}

/* The engine's own rule: the fit, plus unmatched and firm bonuses. */
static struct ftpi__fit fit(const struct ftpi_expect *x, const struct ftpi_flow *f)
{
	struct ftpi__fit_view v = {&x->target, &x->s->cli, &x->s->srv, x->active, x->bounce,
				   x->has_reached};
	struct ftpi__fit c = ftpi__fit_conn(&v, &f->cli, &f->srv);
	if (c.score >= 0)
		c.score += (x->matched || x->claimed_elsewhere ? 0 : 4) + (x->firm ? 2 : 0);
	return c;
}

/* An expectation of this engine that looks unmatched here may have been met by a connection
 * another engine saw before f (one engine would rank it as matched). */
static int claimed_elsewhere(struct ftpi__expect_tab *xt, struct ftpi_expect *x,
			     const struct ftpi_flow *f)
{
	struct ftpi__sx_claim c;
	if (x->matched || x->claimed_elsewhere || x->sref == 0)
		return 0;
	ftpi__store_wait_claims(xt->store, xt->me, x->sref, x->target.port, f->first_us);
	x->claimed_elsewhere = ftpi__store_claims(xt->store, x->sref, &c) > 0;
	return x->claimed_elsewhere;
}

static struct ftpi_dconn *match_remote(struct ftpi__expect_tab *xt, struct ftpi_flow *f,
				       int min_score, uint64_t min_created);
static struct ftpi_dconn *share_pending(struct ftpi__expect_tab *xt, struct ftpi_flow *f);

struct ftpi_dconn *ftpi__expect_match(struct ftpi__expect_tab *xt, struct ftpi_flow *f)
{
	struct ftpi_expect *best;
	struct ftpi__fit bc;

again:
	best = NULL;
	bc = (struct ftpi__fit){-1, 0, 0, FTPI_NAT_NA};
	for (struct ftpi_expect *x = xt->buckets[EXP_BUCKET(xt, f->srv.port)]; x; x = x->hnext) {
		if (x->target.port != f->srv.port || x->s == NULL || x->s->ended)
			continue;
		struct ftpi__fit c = fit(x, f);
		if (c.score < 0)
			continue;
		if (c.score > bc.score || (c.score == bc.score && x->created_us >= best->created_us)) {
			best = x;
			bc = c;
		}
	}
	if (best && claimed_elsewhere(xt, best, f))
		goto again; /* ranked as matched now */
	if (xt->store && (best == NULL || best->matched || best->claimed_elsewhere)) {
		/* another engine's unmatched expectation would rank above this one in one table */
		struct ftpi_dconn *rd = match_remote(xt, f, best ? bc.score : -1,
						     best ? best->created_us : 0);
		if (rd)
			return rd;
	}
	if (best == NULL)
		return xt->share ? share_pending(xt, f) : NULL;
	struct ftpi_dconn *d = ftpi__dconn_new(xt, best->s, f, FTPI_LINK_ANNOUNCED);
	if (d == NULL)
		return NULL;
	if (!best->matched) {
		FTPI__COUNT(xt->cx, expectations_matched);
		if (best->sref)
			ftpi__store_matched(xt->store, best->sref);
		if (best->shseq)
			share_update(xt, best, 0, 1, NULL, 0);
	}
	best->matched = 1;
	best->syn_seen = 1;
	if (bc.nat == FTPI_NAT_REWRITTEN)
		best->bounce = 0; /* the address was rewritten on the way: no third host */
	else
		settle_bounce(xt, best); /* the server connected to the third host */
	if (best->nat_pending && best->s->server) { /* it worked: a helper address */
		best->nat_pending = 0;
		ftpi__server_helper(best->s->server, &best->target.addr, f->first_us,
				    f->first_frame);
	}
	d->announce = best->announce;
	d->active = best->active;
	d->nat_used = (uint8_t)bc.nat;
	d->announce_frame = best->frame;
	ftpi__dconn_count_port(d);
	if (bc.cli_bad || bc.srv_bad) {
		struct owner_view ov = {&best->s->fs, best->s->cli, best->s->srv, best->announce,
					best->active, best->target.port};
		mismatch(xt, &ov, &f->cli, &f->srv, bc.cli_bad, bc.srv_bad);
		count_mismatch(best->s, best->active, bc.srv_bad);
	}
	return d;
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

static struct ftpi_dconn *match_remote(struct ftpi__expect_tab *xt, struct ftpi_flow *f,
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
		mismatch(xt, &ov, &f->cli, &f->srv, c.cli_bad, c.srv_bad);
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
	FTPI__COUNT(xt->cx, expectations_matched);
	if (c->nat == FTPI_NAT_REWRITTEN)
		x->bounce = 0;
	else
		settle_bounce(xt, x);
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
	 * (claims_end) */
	if (c->n_never)
		record_kind(&s->fs, FTPI_FINDING_DATA_CONNECTION_MISSING);
	claim_clear(xt, s, c);
}

/* Every connection of another engine that claimed x joins x's session, once, when x goes:
 * decided once every engine that could still claim it before now is this far. */
static void claims_of(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
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
static void claims_end(struct ftpi__expect_tab *xt, struct ftpi_session *s, ftpi__sref r,
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

static void rclaims_end(struct ftpi__expect_tab *xt, struct ftpi_session *s)
{
	for (uint8_t i = 0; i < s->n_rclaims; i++)
		claims_end(xt, s, s->rclaims[i], s->rclaim_port[i], 1);
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


/* ---- Redis: connections of other sensors' sessions (share.h) ---- */

static int is_control_port(const struct ftpi__expect_tab *xt, uint16_t port)
{
	if (port == 21 || port == 990)
		return 1;
	for (size_t i = 0; i < xt->cx->cfg.n_control_ports; i++)
		if (xt->cx->cfg.control_ports[i] == port)
			return 1;
	return 0;
}

/* A new connection nothing here explains: followed as a pending data connection while Redis is
 * asked for another sensor's expectation. */
static struct ftpi_dconn *share_pending(struct ftpi__expect_tab *xt, struct ftpi_flow *f)
{
	if (is_control_port(xt, f->srv.port) || (f->srv.port < 1024 && f->cli.port != 20))
		return NULL;
	/* a session of ours between these hosts: ours to infer, not another sensor's */
	if (ftpi__session_pair_first(xt->ftp, &f->cli.addr, &f->srv.addr))
		return NULL;
	uint32_t sl = ftpi__shslot_new(xt, FTPI__SH_LOOKUP, NULL);
	if (sl == 0) {
		ftpi__share_count_dropped(xt->share);
		return NULL;
	}
	int final = ftpi__share_wait_us(xt->share) == 0; /* no wait: decide at the first ask */
	if (ftpi__share_lookup(xt->share, xt->me, ftpi__shslot_ticket(xt, sl - 1), &f->cli, &f->srv,
			       f->first_us, xt->cx->cfg.timeout_expect, final) != 0) {
		ftpi__shslot_free(xt, sl);
		ftpi__share_count_dropped(xt->share);
		return NULL;
	}
	struct ftpi_dconn *d = ftpi__dconn_new(xt, NULL, f, FTPI_LINK_NONE);
	if (d == NULL) {
		ftpi__shslot_free(xt, sl); /* its answer finds nothing */
		return NULL;
	}
	struct ftpi__shslot *s = &xt->sh_slots[sl - 1];
	s->obj = d;
	s->busy = 1;
	s->final = (uint8_t)final;
	s->since = ftpi__share_now();
	d->shslot = sl;
	d->sh_pending = 1;
	xt->remote_open++;
	if (f->first_us < xt->sh_hold_us)
		xt->sh_hold_us = f->first_us; /* decided up to here only, for the other sensors */
	return d;
}

/* Asked again after 20 ms, doubling to 160 ms: the other sensors may be far behind. */
static uint64_t retry_in(struct ftpi__shslot *sl)
{
	if (sl->tries < 4)
		sl->tries++;
	return 20000ull << sl->tries >> 1;
}

/* Whether a question's wait is over (wall clock; a lookup's also in capture time): the next ask
 * is the last, decided whatever the other sensors' progress. */
static int wait_over(const struct ftpi__expect_tab *xt, const struct ftpi__shslot *sl, uint64_t now)
{
	uint64_t wait = ftpi__share_wait_us(xt->share);
	if (now - sl->since < wait)
		return 0;
	return sl->kind != FTPI__SH_LOOKUP ||
	       xt->cx->now_us - ((const struct ftpi_dconn *)sl->obj)->start_us >= wait;
}

/* When an undecided question (answer a) is asked again. With no other sensor known ("alone"),
 * only a sensor that starts could change the answer: the question is parked until the wait is
 * over, or until the I/O thread, which then reads the sensors' progress every 20 ms, sees one
 * (ftpi__expect_share_poll wakes it). Asking every 20-160 ms for the whole wait was most of
 * what --share cost a sensor alone (20 asks per withheld verdict). */
static uint64_t retry_at(struct ftpi__expect_tab *xt, struct ftpi__shslot *sl,
			 const struct ftpi__sh_answer *a, uint64_t now)
{
	uint64_t t = now + retry_in(sl), end = sl->since + ftpi__share_wait_us(xt->share);
	if (!a->alone || end <= t || ftpi__share_others(xt->share))
		return t;
	if (!sl->parked) {
		sl->parked = 1;
		xt->sh_parked++;
	}
	ftpi__share_watch(xt->share, end);
	return end;
}

static void lookup_answer(struct ftpi__expect_tab *xt, uint32_t idx1, const struct ftpi__sh_answer *a,
			  uint64_t now)
{
	struct ftpi__shslot *sl = &xt->sh_slots[idx1 - 1];
	struct ftpi_dconn *d = sl->obj;
	struct ftpi__dconn_sh *sh = NULL;
	if (a->result == FTPI__SHA_FOUND) {
		sh = ftpi__alloc(xt->cx, FTPI__POOL_SESSION, sizeof *sh);
		if (sh == NULL) /* at the cap: as if nothing were found (counted below) */
			ftpi__share_count_dropped(xt->share);
	}
	if (sh) {
		ftpi__shslot_free(xt, idx1);
		d->shslot = 0;
		d->sh_pending = 0;
		d->sh = sh;
		d->link = FTPI_LINK_ANNOUNCED;
		d->sid = a->p.session_id;
		d->rcli = a->p.scli;
		d->rsrv = a->p.ssrv;
		d->announce = a->p.announce;
		d->active = a->p.active;
		d->nat_used = a->c.nat;
		d->announce_frame = a->p.frame;
		d->tls_session = a->p.tls_session;
		memcpy(sh->key, a->key, sizeof sh->key);
		memcpy(sh->sensor, a->sensor, sizeof sh->sensor);
		if (a->x.state) {
			d->xfer = a->x;
			d->has_xfer = 1;
		}
		if (a->c.cli_bad || a->c.srv_bad) {
			struct ftpi__subject subj;
			memset(&subj, 0, sizeof subj);
			subj.id = a->p.session_id;
			subj.cli = a->p.scli;
			subj.srv = a->p.ssrv;
			struct owner_view ov = {&subj, a->p.scli, a->p.ssrv, a->p.announce,
						a->p.active, a->p.target.port};
			mismatch(xt, &ov, &d->cli, &d->srv, a->c.cli_bad, a->c.srv_bad);
		}
		ftpi__dconn_share_claimed(xt, d);
		return;
	}
	if (a->result == FTPI__SHA_NONE && !a->decided) {
		/* another sensor is not this far yet: ask again, at the end once more whatever */
		if (!wait_over(xt, sl, now)) {
			sl->due = retry_at(xt, sl, a, now);
			return;
		}
		if (!sl->final) {
			sl->final = 1;
			sl->due = now;
			return;
		}
	}
	if (a->result == FTPI__SHA_ERROR)
		ftpi__share_count_dropped(xt->share);
	ftpi__shslot_free(xt, idx1);
	d->shslot = 0;
	struct ftpi_flow *f = ftpi__dconn_share_giveup(xt, d);
	if (f && !xt->cx->in_flush && !ftpi__dconn_infer(xt, f, 0))
		ftpi__reasm_unwant(xt->cx, f);
}

static void resend(struct ftpi__expect_tab *xt, uint32_t i)
{
	struct ftpi__shslot *sl = &xt->sh_slots[i];
	uint32_t t = ftpi__shslot_ticket(xt, i);
	int r = -1;
	/* parked for the whole wait and still no other sensor: this is the last ask (asked
	 * without it, the answer "not yet, alone" would only be followed by the last ask) */
	if (sl->parked && !ftpi__share_others(xt->share) && wait_over(xt, sl, ftpi__share_now()))
		sl->final = 1;
	xt->sh_parked -= sl->parked;
	sl->parked = 0;
	if (sl->kind == FTPI__SH_LOOKUP) {
		const struct ftpi_dconn *d = sl->obj;
		r = ftpi__share_lookup(xt->share, xt->me, t, &d->cli, &d->srv, d->start_us,
				       xt->cx->cfg.timeout_expect, sl->final);
	} else if (sl->kind == FTPI__SH_CHECK) {
		const struct withheld *w = sl->obj;
		r = ftpi__share_check(xt->share, xt->me, t, w->key, w->t, sl->final);
	} else if (sl->kind == FTPI__SH_XFER) {
		r = ftpi__share_xfer(xt->share, xt->me, t, ((struct ftpi_dconn *)sl->obj)->sh->key);
	}
	sl->busy = r == 0;
	sl->due = r == 0 ? 0 : ftpi__share_now() + 100000;
}

void ftpi__expect_share_poll(struct ftpi__expect_tab *xt)
{
	struct ftpi__sh_answer a;
	if (xt->share == NULL || xt->sh_used == 0)
		return;
	uint64_t now = ftpi__share_now(), wait = ftpi__share_wait_us(xt->share);
	while (ftpi__share_poll(xt->share, xt->me, &a)) {
		struct ftpi__shslot *sl = ftpi__shslot_of(xt, a.ticket);
		if (sl == NULL || !sl->busy)
			continue; /* its connection went away */
		uint32_t idx1 = (uint32_t)(sl - xt->sh_slots) + 1;
		sl->busy = 0;
		if (a.kind == FTPI__SH_LOOKUP) {
			lookup_answer(xt, idx1, &a, now);
		} else if (a.kind == FTPI__SH_CHECK) {
			if (a.result == FTPI__SHA_NONE && !a.decided && now - sl->since < wait) {
				sl->due = retry_at(xt, sl, &a, now);
			} else if (a.result == FTPI__SHA_NONE && !a.decided && !sl->final) {
				sl->final = 1;
				sl->due = now;
			} else {
				withheld_end(xt, idx1, a.result == FTPI__SHA_FOUND);
			}
		} else if (a.kind == FTPI__SH_XFER) {
			if (!ftpi__dconn_share_xfer(xt, sl->obj, &a, now - sl->since >= wait))
				sl->due = now + 100000;
		}
	}
	if (xt->sh_parked && ftpi__share_others(xt->share)) {
		/* a sensor started: the parked questions are asked again now */
		for (uint32_t i = 0; i < xt->sh_cap && xt->sh_parked; i++)
			if (xt->sh_slots[i].parked) {
				xt->sh_slots[i].parked = 0;
				xt->sh_slots[i].due = now;
				xt->sh_parked--;
			}
		xt->sh_next_due = 0;
	}
	if (now < xt->sh_next_due)
		return;
	uint64_t next = UINT64_MAX, hold = UINT64_MAX;
	for (uint32_t i = 0; i < xt->sh_cap && xt->sh_used; i++) {
		struct ftpi__shslot *sl = &xt->sh_slots[i];
		if (sl->obj && sl->kind == FTPI__SH_LOOKUP &&
		    ((struct ftpi_dconn *)sl->obj)->start_us < hold)
			hold = ((struct ftpi_dconn *)sl->obj)->start_us;
		if (sl->obj == NULL || sl->busy || sl->due == 0)
			continue;
		if (sl->due <= now)
			resend(xt, i);
		if (!sl->busy && sl->due && sl->due < next)
			next = sl->due;
	}
	xt->sh_next_due = next == UINT64_MAX ? now + 20000 : next;
	xt->sh_hold_us = hold;
	ftpi__expect_share_mark(xt);
}

void ftpi__expect_share_mark(struct ftpi__expect_tab *xt)
{
	uint64_t t = xt->cx->in_flush ? UINT64_MAX : xt->cx->now_us;
	ftpi__share_progress(xt->share, xt->me, FTPI__MIN(t, xt->sh_hold_us));
}

/* End of input: answers are awaited (wall clock, bounded), then what is left is decided here. */
static void share_drain(struct ftpi__expect_tab *xt)
{
	uint64_t end = ftpi__share_now() + 2 * ftpi__share_wait_us(xt->share) + 1000000;
	ftpi__expect_share_mark(xt);
	uint64_t now, scanned = 0;
	while (xt->sh_used && (now = ftpi__share_now()) < end) {
		/* the slots scanned for retries every 20 ms (scanning all of them every 2 ms was most
		 * of the CPU a file's end cost with --share-wait) */
		if (now - scanned >= 20000) {
			xt->sh_next_due = 0;
			scanned = now;
		}
		ftpi__expect_share_poll(xt);
		ftpi__share_kick(xt->share); /* what poll asked again goes now */
		/* answers awaited every 2 ms; with nothing asked out (questions parked or waiting for
		 * their retry) nothing comes before the next scan: waking every 2 ms for 3 s was a
		 * third of what the wait cost a sensor alone */
		struct timespec ts = {0, ftpi__share_outstanding(xt->share, xt->me) ? 2000000 : 20000000};
		nanosleep(&ts, NULL);
	}
	for (uint32_t i = 0; i < xt->sh_cap && xt->sh_used; i++) {
		struct ftpi__shslot *sl = &xt->sh_slots[i];
		if (sl->obj == NULL)
			continue;
		ftpi__share_count_dropped(xt->share);
		if (sl->kind == FTPI__SH_CHECK) {
			withheld_end(xt, i + 1, 0);
		} else if (sl->kind == FTPI__SH_XFER) {
			ftpi__dconn_share_xfer(xt, sl->obj, NULL, 1);
		} else {
			struct ftpi_dconn *d = sl->obj;
			ftpi__shslot_free(xt, i + 1);
			d->shslot = 0;
			ftpi__dconn_share_giveup(xt, d);
		}
	}
}

void ftpi__expect_release(struct ftpi__expect_tab *xt)
{
	/* Flows are gone already (unowned dconns were released with them). */
	while (xt->list)
		exp_free(xt, xt->list);
	for (struct ftpi_session *s = xt->ftp->sessions; s; s = s->next) {
		ftpi__dconn_release_all(xt, s);
		for (uint8_t i = 0; i < s->n_rclaims; i++)
			ftpi__store_owner_release(xt->store, s->rclaims[i]);
		s->n_rclaims = 0;
	}
	ftpi__dconn_remote_release(xt);
	for (uint32_t i = 0; i < xt->sh_cap; i++) /* withheld verdicts (dconns went above) */
		if (xt->sh_slots[i].obj && xt->sh_slots[i].kind == FTPI__SH_CHECK) {
			ftpi__free(xt->cx, FTPI__POOL_EXPECT, xt->sh_slots[i].obj,
				   sizeof(struct withheld));
			ftpi__shslot_free(xt, i + 1);
		}
	if (xt->sh_slots)
		ftpi__free(xt->cx, FTPI__POOL_EXPECT, xt->sh_slots, xt->sh_cap * sizeof *xt->sh_slots);
	xt->sh_slots = NULL;
	xt->waiting = NULL;
	ftpi__free(xt->cx, FTPI__POOL_EXPECT, xt->buckets, xt->nbuckets * sizeof *xt->buckets);
	xt->buckets = NULL;
}
