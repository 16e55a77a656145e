/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expect.c - expectations created from PORT/EPRT/LPRT commands and 227/228/229 replies,
 * matched against new TCP connections (by the responder's port, then by addresses: exact, NAT
 * "reached" address, or a mismatch worth a finding); data_connection_missing with its likely
 * cause. What other engines' sessions (the shared store) add is in expect_engines.c, with
 * the inference for sessions whose control channel is encrypted; what other sensors' sessions
 * (Redis) add is in expect_sensors.c. The data connections themselves live in dconn.c.
 */
#include "expect.h"

#include "expect_int.h"
#include "facts.h"
#include "fit.h"
#include "siphash.h"

/*
 * The index of expectations. A connection can meet an expectation only when its responder's
 * address is the announced target, or (fit.c) a host in the /24 (/64) of the control
 * connection's server (passive: NAT "reached", another node of a balancer) or of its client
 * (active, a bounce address rewritten on the way). So an expectation is indexed under its port
 * with the prefix of its target and, when another, with the prefix of that host; a new
 * connection looks in the one chain of its responder's port and prefix. Keyed hash (the config's
 * seed): crafted announcements cannot aim at one chain. Chains hold other ports' and prefixes'
 * expectations too; fit() and the port test sort them out.
 */
static uint32_t index_bucket(const struct ftpi__expect_tab *xt, uint16_t port,
			     const struct ftpi_addr *a)
{
	uint8_t m[16] = {0};
	m[0] = (uint8_t)(port >> 8);
	m[1] = (uint8_t)port;
	m[2] = a->family;
	memcpy(m + 3, a->ip, a->family == 6 ? 8 : 3);
	return (uint32_t)ftpi__siphash13(xt->cx->cfg.hash_seed, m, sizeof m) & (xt->nbuckets - 1);
}

static int same_prefix(const struct ftpi_addr *a, const struct ftpi_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, a->family == 6 ? 8 : 3) == 0;
}

static void index_link(struct ftpi__expect_tab *xt, struct ftpi_expect *x, int k,
		       const struct ftpi_addr *a)
{
	struct ftpi_expect_link *l = &x->h[k];
	l->bucket = index_bucket(xt, x->target.port, a);
	struct ftpi_expect_link **head = &xt->buckets[l->bucket];
	l->x = x;
	l->next = *head;
	if (l->next)
		l->next->pprev = &l->next;
	l->pprev = head;
	*head = l;
}

static void index_add(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	const struct ftpi_addr *home = x->active ? &x->s->cli.addr : &x->s->srv.addr;
	index_link(xt, x, 0, &x->target.addr);
	if (!same_prefix(home, &x->target.addr))
		index_link(xt, x, 1, home);
	if (!x->matched && !x->claimed_elsewhere) {
		x->open_counted = 1;
		for (int k = 0; k < 2; k++)
			if (x->h[k].pprev)
				xt->open[x->h[k].bucket]++;
	}
}

static void index_del(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	ftpi__expect_met(xt, x); /* gone: no longer open either */
	for (int k = 0; k < 2; k++) {
		struct ftpi_expect_link *l = &x->h[k];
		if (l->pprev == NULL)
			continue;
		*l->pprev = l->next;
		if (l->next)
			l->next->pprev = l->pprev;
		l->pprev = NULL;
	}
}

int ftpi__expect_init(struct ftpi__expect_tab *xt, struct ftpi__ctx *cx, struct ftpi__ftp *ftp)
{
	xt->cx = cx;
	xt->ftp = ftp;
	/* about 8 expectations a chain when full (each in one or two chains) */
	xt->nbuckets = 4096;
	while (xt->nbuckets < cx->cfg.max_expectations / 4 && xt->nbuckets < (1u << 20))
		xt->nbuckets <<= 1;
	xt->buckets = ftpi__alloc(cx, FTPI__POOL_EXPECT, xt->nbuckets * sizeof *xt->buckets);
	xt->open = ftpi__alloc(cx, FTPI__POOL_EXPECT, xt->nbuckets * sizeof *xt->open);
	if (xt->buckets == NULL || xt->open == NULL) { /* ftpi__expect_release needs buckets */
		ftpi__free(cx, FTPI__POOL_EXPECT, xt->buckets, xt->nbuckets * sizeof *xt->buckets);
		ftpi__free(cx, FTPI__POOL_EXPECT, xt->open, xt->nbuckets * sizeof *xt->open);
		xt->buckets = NULL;
		xt->open = NULL;
		return FTPI_E_NOMEM;
	}
	return FTPI_OK;
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
	index_del(xt, x);
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

static void exp_free(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	ftpi__expect_settle_bounce(xt, x);
	if (x->sref && x->claimed && x->s && x->s->n_rclaims < FTPI__ARRAY_LEN(x->s->rclaims)) {
		/* what became of the connections that claimed it is the session's at its end */
		ftpi__store_owner_retire(xt->store, x->sref);
		x->s->rclaims[x->s->n_rclaims] = x->sref;
		x->s->rclaim_port[x->s->n_rclaims++] = x->target.port;
	} else if (x->sref && x->claimed && x->s) {
		/* no room: now */
		ftpi__expect_claims_end(xt, x->s, x->sref, x->target.port, x->s->ended);
	} else if (x->sref) {
		ftpi__store_owner_release(xt->store, x->sref);
	}
	if (x->shseq)
		share_update(xt, x, 0, 0, NULL, FTPI__MAX(xt->cx->now_us, 1));
	exp_unlink(xt, x);
	xt->n--;
	ftpi__free(xt->cx, FTPI__POOL_EXPECT, x, sizeof *x);
}

static void missing(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why)
{
	ftpi__expect_missing_on(xt, x, &x->s->fs, &x->s->cli, &x->s->srv, why);
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
	ftpi__expect_claims_of(xt, x); /* another engine's connections may have met it */
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
		if (!(xt->share && ftpi__expect_withhold(xt, x, why)))
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
			ftpi__expect_claims_of(xt, o);
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
	x->seq = ++xt->next_seq;
	index_add(xt, x);
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
			ftpi__expect_claims_of(xt, x);
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
	ftpi__expect_rclaims_end(xt, s);
}

void ftpi__expect_flush(struct ftpi__expect_tab *xt)
{
	while (xt->list)
		exp_end(xt, xt->list, "input ended");
	if (xt->share)
		ftpi__expect_share_drain(xt);
	if (xt->remote) {
		/* every engine's input has ended: the owners' transfers are final */
		ftpi__store_wait(xt->store, xt->me, UINT64_MAX);
		ftpi__dconn_remote_tick(xt, xt->cx->now_us, 1);
	}
}

/* ---- matching ---- */

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
	if (x->claimed_elsewhere)
		ftpi__expect_met(xt, x);
	return x->claimed_elsewhere;
}

struct ftpi_dconn *ftpi__expect_match(struct ftpi__expect_tab *xt, struct ftpi_flow *f)
{
	struct ftpi_expect *best;
	struct ftpi__fit bc;
	const uint32_t b = index_bucket(xt, f->srv.port, &f->srv.addr);

again:
	best = NULL;
	bc = (struct ftpi__fit){-1, 0, 0, FTPI_NAT_NA};
	/* the most any expectation of the chain can score (fit(): an exact fit 8, firm 2, not met
	 * yet 4 while the chain holds one) */
	const int top = 8 + 2 + (xt->open[b] ? 4 : 0);
	/* the best fit; of equal ones the latest announced, and of those the first created */
	for (struct ftpi_expect_link *l = xt->buckets[b]; l; l = l->next) {
		struct ftpi_expect *x = l->x;
		/* a chain is newest first (linked when created, the clock never goes back): older
		 * ones cannot beat a best that scores the top (thousands of sessions announcing one
		 * port made a walk over all of them for every connection to it) */
		if (best && bc.score >= top && x->created_us < best->created_us)
			break;
		if (x->target.port != f->srv.port)
			continue;
		/* the most x itself can score (fit()): one that cannot pass the best is not ranked
		 * (and its session, another cache line, not read) */
		int most = 8 + (x->firm ? 2 : 0) + (x->matched || x->claimed_elsewhere ? 0 : 4);
		if (best && (most < bc.score || (most == bc.score && x->created_us < best->created_us)))
			continue;
		if (x->s == NULL || x->s->ended)
			continue;
		struct ftpi__fit c = fit(x, f);
		if (c.score < 0)
			continue;
		if (c.score > bc.score ||
		    (c.score == bc.score && (x->created_us > best->created_us ||
					     (x->created_us == best->created_us && x->seq < best->seq)))) {
			best = x;
			bc = c;
		}
	}
	if (best && claimed_elsewhere(xt, best, f))
		goto again; /* ranked as matched now */
	if (xt->store && (best == NULL || best->matched || best->claimed_elsewhere)) {
		/* another engine's unmatched expectation would rank above this one in one table */
		struct ftpi_dconn *rd = ftpi__expect_match_remote(xt, f, best ? bc.score : -1,
								  best ? best->created_us : 0);
		if (rd)
			return rd;
	}
	if (best == NULL)
		return xt->share ? ftpi__expect_share_pending(xt, f) : NULL;
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
	ftpi__expect_met(xt, best);
	best->syn_seen = 1;
	if (bc.nat == FTPI_NAT_REWRITTEN)
		best->bounce = 0; /* the address was rewritten on the way: no third host */
	else
		ftpi__expect_settle_bounce(xt, best); /* the server connected to the third host */
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
		ftpi__expect_mismatch(xt, &ov, &f->cli, &f->srv, bc.cli_bad, bc.srv_bad);
		count_mismatch(best->s, best->active, bc.srv_bad);
	}
	return d;
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
	ftpi__free(xt->cx, FTPI__POOL_EXPECT, xt->open, xt->nbuckets * sizeof *xt->open);
	xt->open = NULL;
}
