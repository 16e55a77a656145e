/* SPDX-License-Identifier: BSD-2-Clause */
/* expect_int.h - between expect.c, expect_engines.c, expect_sensors.c and dconn.c only. */
#ifndef FTPI_EXPECT_INT_H
#define FTPI_EXPECT_INT_H

#include "expect.h"

struct ftpi_dconn *ftpi__dconn_new(struct ftpi__expect_tab *xt, struct ftpi_session *s,
				   struct ftpi_flow *f, int link);
void ftpi__dconn_session_end(struct ftpi__expect_tab *xt, struct ftpi_session *s);
/* Frees a session's data connections without events (teardown). */
void ftpi__dconn_release_all(struct ftpi__expect_tab *xt, struct ftpi_session *s);
/* A passive data connection's server port joins its server's summary. */
void ftpi__dconn_count_port(const struct ftpi_dconn *d);
void ftpi__count_passive_port(struct ftpi_server *sv, uint16_t port);
/* Closed data connections whose final reply never came. */
void ftpi__dconn_tick(struct ftpi__expect_tab *xt, uint64_t now);
/* Claimed connections of other engines' sessions held for the owner's reply (all: force). */
void ftpi__dconn_remote_tick(struct ftpi__expect_tab *xt, uint64_t now, int force);
/* Frees them without events (teardown). */
void ftpi__dconn_remote_release(struct ftpi__expect_tab *xt);

/* Something said now on behalf of an earlier packet (another engine's, or a withheld verdict):
 * the engine's clock and frame are that packet's until ftpi__asof_end (frame 0: a flush). */
struct ftpi__asof {
	uint64_t now_us, frame;
	int in_flush;
};

static inline struct ftpi__asof ftpi__asof_begin(struct ftpi__ctx *cx, uint64_t us, uint64_t frame)
{
	struct ftpi__asof a = {cx->now_us, cx->frame, cx->in_flush};
	cx->now_us = us;
	cx->frame = frame;
	cx->in_flush = 0;
	return a;
}

static inline void ftpi__asof_end(struct ftpi__ctx *cx, struct ftpi__asof a)
{
	cx->now_us = a.now_us;
	cx->frame = a.frame;
	cx->in_flush = a.in_flush;
}

/* ---- Redis request slots (ftpi__expect_tab.sh_slots): ticket = index | generation << 20 ---- */
#define FTPI__SHSLOT_NIL UINT32_MAX

static inline uint32_t ftpi__shslot_ticket(const struct ftpi__expect_tab *xt, uint32_t idx)
{
	return idx | ((xt->sh_slots[idx].gen & 0xfffu) << 20);
}

/* A free slot for obj: its index + 1, or 0 when all are taken. */
static inline uint32_t ftpi__shslot_new(struct ftpi__expect_tab *xt, int kind, void *obj)
{
	uint32_t i = xt->sh_free;
	if (i == FTPI__SHSLOT_NIL)
		return 0;
	struct ftpi__shslot *sl = &xt->sh_slots[i];
	xt->sh_free = sl->next;
	sl->obj = obj;
	sl->kind = (uint8_t)kind;
	sl->busy = 0;
	sl->final = 0;
	sl->tries = 0;
	sl->parked = 0;
	sl->since = sl->due = 0;
	xt->sh_used++;
	return i + 1;
}

static inline void ftpi__shslot_free(struct ftpi__expect_tab *xt, uint32_t idx1)
{
	struct ftpi__shslot *sl = &xt->sh_slots[idx1 - 1];
	xt->sh_parked -= sl->parked;
	sl->parked = 0;
	sl->obj = NULL;
	sl->gen++;
	sl->next = xt->sh_free;
	xt->sh_free = idx1 - 1;
	xt->sh_used--;
}

/* The slot an answer is for, NULL when its object went away. */
static inline struct ftpi__shslot *ftpi__shslot_of(struct ftpi__expect_tab *xt, uint32_t ticket)
{
	uint32_t i = ticket & 0xfffffu;
	if (i >= xt->sh_cap || xt->sh_slots[i].obj == NULL ||
	    (xt->sh_slots[i].gen & 0xfffu) != ticket >> 20)
		return NULL;
	return &xt->sh_slots[i];
}

/* Redis answers for data connections (dconn.c). A LOOKUP that found and claimed an entry: the
 * connection now belongs to that session (d filled by the caller). */
void ftpi__dconn_share_claimed(struct ftpi__expect_tab *xt, struct ftpi_dconn *d);
/* Nothing to claim: d is freed; returns its flow when it is still open (for a second look as
 * an ordinary connection), else NULL. */
struct ftpi_flow *ftpi__dconn_share_giveup(struct ftpi__expect_tab *xt, struct ftpi_dconn *d);
/* The owner's transfer: 1 when d was emitted and freed (final, owner gone, error, or force). */
int ftpi__dconn_share_xfer(struct ftpi__expect_tab *xt, struct ftpi_dconn *d,
			   const struct ftpi__sh_answer *a, int force);

/* ---- between expect.c, expect_sensors.c and expect_engines.c: calls go in that order only,
 * never back (tests/layering) ---- */

/* Who an expectation belongs to: a session here, or a copy from the store. */
struct owner_view {
	struct ftpi__subject *fs;
	struct ftpi_endpoint cli, srv; /* the control connection */
	int announce, active;
	uint16_t port;
};

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

/* expect_engines.c: the data_ip_mismatch finding; the bounce verdict; the store's side. */
void ftpi__expect_mismatch(struct ftpi__expect_tab *xt, const struct owner_view *s,
			   const struct ftpi_endpoint *fcli, const struct ftpi_endpoint *fsrv,
			   int cli_bad, int srv_bad);
void ftpi__expect_settle_bounce(struct ftpi__expect_tab *xt, struct ftpi_expect *x);
struct ftpi_dconn *ftpi__expect_match_remote(struct ftpi__expect_tab *xt, struct ftpi_flow *f,
					     int min_score, uint64_t min_created);
void ftpi__expect_claims_of(struct ftpi__expect_tab *xt, struct ftpi_expect *x);
void ftpi__expect_claims_end(struct ftpi__expect_tab *xt, struct ftpi_session *s, ftpi__sref r,
			     uint16_t port, int ended);
void ftpi__expect_rclaims_end(struct ftpi__expect_tab *xt, struct ftpi_session *s);

/* expect_sensors.c: the data_connection_missing finding; the Redis side. */
void ftpi__expect_missing_on(struct ftpi__expect_tab *xt, const struct ftpi_expect *x,
			     struct ftpi__subject *fs, const struct ftpi_endpoint *scli,
			     const struct ftpi_endpoint *ssrv, const char *why);
int ftpi__expect_withhold(struct ftpi__expect_tab *xt, struct ftpi_expect *x, const char *why);
struct ftpi_dconn *ftpi__expect_share_pending(struct ftpi__expect_tab *xt, struct ftpi_flow *f);
void ftpi__expect_share_drain(struct ftpi__expect_tab *xt);

#endif /* FTPI_EXPECT_INT_H */
