/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expect_sensors.c - the Redis side of the expectations (expect.c, share.h): connections of
 * other sensors' sessions, followed as pending data connections while Redis is asked (lookups,
 * their retries and parking); a firm expectation's data_connection_missing withheld until Redis
 * says whether another sensor met it; the request slots, polled and drained at the end of
 * input. Calls into expect_engines.c, never into expect.c.
 */
#include <stdio.h>
#include <time.h>

#include "expect.h"

#include "expect_int.h"

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

/* A firm expectation that nothing met: the finding users feel as "can connect, can't list". */
void ftpi__expect_missing_on(struct ftpi__expect_tab *xt, const struct ftpi_expect *x,
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

int ftpi__expect_withhold(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why)
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
		ftpi__expect_missing_on(xt, &w->x, &w->fs, &w->scli, &w->ssrv, w->why);
		ftpi__asof_end(xt->cx, a);
	}
	ftpi__shslot_free(xt, idx1);
	ftpi__free(xt->cx, FTPI__POOL_EXPECT, w, sizeof *w);
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
struct ftpi_dconn *ftpi__expect_share_pending(struct ftpi__expect_tab *xt, struct ftpi_flow *f)
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
			ftpi__expect_mismatch(xt, &ov, &d->cli, &d->srv, a->c.cli_bad,
					      a->c.srv_bad);
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
void ftpi__expect_share_drain(struct ftpi__expect_tab *xt)
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
