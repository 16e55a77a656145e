/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.h - the expectation store that engines on different threads share (the public
 * ftpi_expect_store). An engine publishes the expectations its sessions announce; another engine
 * that sees a new connection its own table does not explain claims the entry that fits, under the
 * entry's stripe lock; every fitting connection claims (counted), as one engine's table matches
 * them all. Entries are preallocated (max_entries) and reference-counted by owner and claims. Per-engine capture-time watermarks let an engine wait
 * until every other engine has processed the packets before a given time, so that what it
 * decides from the store (a claim, a missing data connection) is what one engine would decide.
 * Not a stage of its own: the expect stage uses it; it knows sessions only through copies.
 */
#ifndef FTPI_STORE_H
#define FTPI_STORE_H

#include "session.h"

/* What an owner publishes: a copy of its expectation and of its session's identity. */
struct ftpi__sx_pub {
	uint64_t session_id;
	struct ftpi_endpoint scli, ssrv; /* the control connection */
	struct ftpi_endpoint target;
	struct ftpi_addr reached;
	uint8_t has_reached, announce, active, firm, bounce, tls_session;
	uint64_t created_us, firm_us, frame;
};

/* What a claimant found when it claimed. Several connections may claim one entry (one engine's
 * table matches every connection to an expectation): the entry keeps the first claim's fields
 * and counts of all of them. */
struct ftpi__sx_claim {
	struct ftpi_endpoint cli, srv; /* the data connection */
	uint8_t cli_bad, srv_bad, nat;
	uint8_t clear;                 /* a claim's first payload was not TLS */
	uint8_t answered;              /* a claim's responder answered (SYN-ACK) */
	uint32_t n;                    /* connections that claimed the entry */
	uint32_t n_answered;           /* of them, answered before the owner's session ended */
	uint32_t n_never;              /* closed unanswered before it (the claimant said so) */
	uint32_t n_bad, n_node;        /* of them, from/to another address; to another server */
	uint64_t first_us, first_frame; /* the connection's first packet */
	uint64_t clear_us, clear_frame; /* the first clear-text payload of any claim (clear) */
};

/* Scores a published entry for a new connection (under the lock; must not call the store). */
typedef int (*ftpi__sx_fit)(void *arg, const struct ftpi__sx_pub *p, struct ftpi__sx_claim *c);

/* A reference to an entry: index and generation; 0 = none. */
typedef uint64_t ftpi__sref;

struct ftpi__share;
/* The Redis side of a shared store (share.h), or NULL. */
struct ftpi__share *ftpi__store_share(const struct ftpi_expect_store *st);
/* max_engines of the store. */
unsigned ftpi__store_engines(const struct ftpi_expect_store *st);
/* Registers an engine; FTPI_E_INVAL when the index is out of range or taken. */
int ftpi__store_attach(struct ftpi_expect_store *st, unsigned me);
/* The engine goes away: its entries are released, its watermark no longer holds others. */
void ftpi__store_detach(struct ftpi_expect_store *st, unsigned me);
struct ftpi__facts;
/* The store's per-server and per-client facts (facts.h). */
struct ftpi__facts *ftpi__store_facts(const struct ftpi_expect_store *st);
/* The lowest watermark of the attached engines: no engine decides before it any more. */
uint64_t ftpi__store_low_wm(struct ftpi_expect_store *st);
/* Engine me has processed every packet before t, and every packet numbered below frame. */
void ftpi__store_mark(struct ftpi_expect_store *st, unsigned me, uint64_t t, uint64_t frame);
/* Waits until every other attached engine has processed every packet before t. */
void ftpi__store_wait(struct ftpi_expect_store *st, unsigned me, uint64_t t);
/* The same, and at t, every packet numbered below frame, when the host numbers packets across
 * engines (ftpi_expect_store_idle_frame): what one engine decides at a packet depends on the
 * packets before it in the capture, also those of the same time. */
void ftpi__store_wait_at(struct ftpi_expect_store *st, unsigned me, uint64_t t, uint64_t frame);
/* Engine me will publish nothing new from packets before until (ftpi_engine_lookahead). */
void ftpi__store_quiet(struct ftpi_expect_store *st, unsigned me, uint64_t until);
/* For a new connection to port at t: waits only for the engines that may still publish or change
 * an entry for the port before t. */
void ftpi__store_wait_port(struct ftpi_expect_store *st, unsigned me, uint16_t port, uint64_t t,
			   uint64_t frame);
/* Before reading the claims on entry r (to port) at t: waits only for the engines that may still
 * claim it or add to their claim before t (all of them unless the host dispatches through the
 * store). */
void ftpi__store_wait_claims(struct ftpi_expect_store *st, unsigned me, ftpi__sref r,
			     uint16_t port, uint64_t t);
/* The host handed engine a packet of time ts_us that may start a connection to port (0: none,
 * the packet still counts: the host dispatches through the store; ftpi_expect_store_dispatch). */
void ftpi__store_note_start(struct ftpi_expect_store *st, unsigned engine, uint16_t port,
			    uint64_t ts_us);

/* Owner side. */
ftpi__sref ftpi__store_publish(struct ftpi_expect_store *st, unsigned me,
			       const struct ftpi__sx_pub *p);
void ftpi__store_firm(struct ftpi_expect_store *st, ftpi__sref r, uint64_t firm_us);
/* The session's transfer command changed. */
void ftpi__store_xfer(struct ftpi_expect_store *st, ftpi__sref r, const struct ftpi_xfer *x);
/* The owner's own table matched a connection to it: others rank it as matched. */
void ftpi__store_matched(struct ftpi_expect_store *st, ftpi__sref r);
/* Claims made so far (0 = none; *c filled when > 0). */
uint32_t ftpi__store_claims(struct ftpi_expect_store *st, ftpi__sref r, struct ftpi__sx_claim *c);
void ftpi__store_owner_release(struct ftpi_expect_store *st, ftpi__sref r);
/* The expectation is gone (nothing more claims it, claimants' transfers are final) but the owner
 * keeps the entry to read its claims at the session's end (then ftpi__store_owner_release). */
void ftpi__store_owner_retire(struct ftpi_expect_store *st, ftpi__sref r);
/* The owner's session ended at capture time us, frame: a claimed connection still unanswered
 * then is reported as of that packet, by its claimant. */
void ftpi__store_session_end(struct ftpi_expect_store *st, ftpi__sref r, uint64_t us,
			     uint64_t frame);
/* Claimant: the owner's session end (1, *us and *frame) or 0 while it lives. */
int ftpi__store_ended(struct ftpi_expect_store *st, ftpi__sref r, uint64_t *us, uint64_t *frame);
/* Claimant: its connection closed unanswered while the owner's session lived (it said so). */
void ftpi__store_note_never(struct ftpi_expect_store *st, ftpi__sref r);

/* Claimant side: the best entry for a connection to port, published by another engine and not
 * older than max_age_us at now_us; claimed atomically. 0 when none fits. */
ftpi__sref ftpi__store_claim(struct ftpi_expect_store *st, unsigned me, uint16_t port,
			     uint64_t now_us, uint64_t max_age_us, ftpi__sx_fit fit, void *arg,
			     struct ftpi__sx_pub *p, struct ftpi__sx_claim *c);
/* The same, only for an entry that ranks above (min_score, min_created): what the engine's own
 * table offers. */
ftpi__sref ftpi__store_claim_above(struct ftpi_expect_store *st, unsigned me, uint16_t port,
				   uint64_t now_us, uint64_t max_age_us, ftpi__sx_fit fit,
				   void *arg, int min_score, uint64_t min_created,
				   struct ftpi__sx_pub *p, struct ftpi__sx_claim *c);
void ftpi__store_note_clear(struct ftpi_expect_store *st, ftpi__sref r, uint64_t us,
			    uint64_t frame);
void ftpi__store_note_answered(struct ftpi_expect_store *st, ftpi__sref r);
/* The owner's latest transfer for the entry; returns 1 when the owner let go of it (session
 * ended or the expectation was replaced: nothing more will come). */
int ftpi__store_read_xfer(struct ftpi_expect_store *st, ftpi__sref r, struct ftpi_xfer *x);
void ftpi__store_claim_release(struct ftpi_expect_store *st, ftpi__sref r);

#endif /* FTPI_STORE_H */
