/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expect.h - data connections: the expectations that announcements create, the matching of new
 * connections against them (exact, NAT "reached" address, or a mismatch worth a finding), the
 * inference for encrypted sessions, and each data connection's life up to its data event.
 */
#ifndef FTPI_EXPECT_H
#define FTPI_EXPECT_H

#include "reasm.h"
#include "session.h"
#include "store.h"
#include "share.h"
#include "fhash.h"

/* An expectation's place in one chain of the index (expect.c: by port and address prefix). */
struct ftpi_expect_link {
	struct ftpi_expect_link *next;
	struct ftpi_expect_link **pprev;  /* what points at this one: unlinked in O(1); NULL = none */
	struct ftpi_expect *x;
	uint32_t bucket;                  /* its chain */
};

struct ftpi_expect {
	/* in the index under its target's port and address prefix, and (when another) under the
	 * port and the prefix of the host a connection can also come to (expect.c, index_keys) */
	struct ftpi_expect_link h[2];
	uint64_t seq;                      /* order of creation: of two equal fits, the older wins */
	struct ftpi_expect *lprev, *lnext; /* engine-wide, oldest first */
	struct ftpi_expect *snext;         /* per session */
	struct ftpi_session *s;
	struct ftpi_endpoint target;       /* where the connection goes (TCP responder) */
	struct ftpi_addr from;             /* who connects (TCP initiator) */
	struct ftpi_addr reached;          /* NAT: the address the client really reached */
	uint8_t has_reached;
	uint8_t announce;                  /* enum ftpi_announce */
	uint8_t active;
	uint8_t firm;
	uint8_t matched;
	uint8_t claimed_elsewhere;         /* another engine's connection met it (store) */
	uint8_t open_counted;              /* counted in its chains' open[] (not met yet) */
	uint8_t claims_read;               /* the store's claims on it were counted */
	uint8_t claimed;                   /* and there were some */
	uint8_t syn_seen;                  /* a SYN to the target was seen */
	uint8_t bounce;                    /* names a third host: bounce unless the data
					    * connection comes to the control client instead */
	uint8_t nat_pending;               /* 227 naming another address: a helper address if
					    * the data connection comes, a NAT problem if not */
	uint16_t text_len;
	char text[128];                    /* the announcing line, evidence for a later finding */
	uint64_t created_us, firm_us;
	uint64_t frame;
	ftpi__sref sref;                   /* published in the shared store, 0 = not */
	uint32_t shseq;                    /* published in Redis (share.h), 0 = not */
};

/* What only a connection claimed through Redis needs, kept apart so that every other data
 * connection stays small (allocated from the session pool when the claim is won). */
struct ftpi__dconn_sh {
	char key[FTPI__SH_KEY];          /* the claimed entry */
	char sensor[FTPI__SH_SENSOR];    /* the sensor of its control connection */
};

struct ftpi_dconn {
	struct ftpi_dconn *snext;  /* in the session's list */
	struct ftpi_session *s;    /* NULL when unexpected, or once its session ended first */
	uint64_t sid;              /* the session's id, kept when the session ends first */
	uint64_t stream_id;        /* its flow's or stream's id */
	struct ftpi_flow *flow;    /* NULL once closed */
	struct ftpi_endpoint cli, srv;
	uint8_t link;              /* enum ftpi_link */
	uint8_t announce;
	uint8_t active;
	uint8_t nat_used;
	uint8_t has_xfer;
	uint8_t closed;
	uint8_t tls;
	uint8_t tls_checked;
	uint8_t tls_fed[2];        /* the TLS reader got this direction's bytes from the start */
	uint8_t clear_reported;
	uint8_t emitted;
	uint8_t tls_session;       /* remote: the owner's session has a TLS handshake */
	uint16_t tls_version, tls_cipher; /* negotiated on the data connection, 0 = not seen */
	struct ftpi_xfer xfer;
	uint64_t start_us, end_us, closed_us;
	uint64_t bytes_to_server, bytes_to_client;
	uint64_t announce_frame;
	struct ftpi__tls *tlsp;    /* data-channel ClientHello, for resumption linking */
	struct ftpi__fhash *fh;    /* file hashes (config file_hashes), or NULL */
	uint8_t fh_done;           /* hashing was tried (fh may be NULL: refused, or TLS) */
	uint8_t first[2][8];       /* first payload bytes each way */
	uint8_t first_len[2];
	/* claimed from another engine's expectation (sid is then that engine's session): the entry */
	ftpi__sref sref;
	struct ftpi_endpoint rcli, rsrv; /* that session's control connection */
	uint8_t answered;                /* the responder's SYN-ACK was seen */
	uint8_t n_syn;                   /* unanswered: the client's packets, their times */
	uint64_t syn_us[8];
	/* Redis (share.h): looked up (sh_pending) or claimed (sh != NULL) from another sensor */
	uint8_t sh_pending, sh_never, sh_held;
	uint32_t shslot;                 /* its request slot + 1, 0 = none */
	uint32_t sh_syns, sh_back;       /* a closed connection's packets each way (saturated) */
	struct ftpi__dconn_sh *sh;       /* the claimed entry, only once claimed */
};

/* A request to Redis in flight or waiting for a retry, and what it is for. */
struct ftpi__shslot {
	void *obj;       /* the dconn or the withheld verdict; NULL = free */
	uint32_t gen, next;
	uint8_t kind;    /* FTPI__SH_LOOKUP, _CHECK, _XFER */
	uint8_t busy;    /* a request is out */
	uint8_t final;   /* the last ask: decided whatever the other sensors' progress */
	uint8_t tries;   /* asks so far (the retry interval doubles) */
	uint8_t parked;  /* answered "alone": asked again at the wait's end or when a sensor starts */
	uint64_t since, due; /* wall clock (ftpi__share_now): first request, next retry */
};

/* The expect stage's state. */
struct ftpi__expect_tab {
	struct ftpi__ctx *cx;
	struct ftpi__ftp *ftp;          /* the sessions below */
	struct ftpi_expect_link **buckets; /* the index: by port and address prefix */
	uint32_t *open;                 /* per chain: its expectations not met yet */
	uint32_t nbuckets;
	uint64_t next_seq;              /* ftpi_expect.seq */
	struct ftpi_expect *list;       /* all live expectations, oldest first */
	struct ftpi_expect *list_tail;
	uint32_t n;                     /* live expectations, all sessions (max_expectations) */
	struct ftpi_expect_store *store; /* shared with other engines, or NULL */
	unsigned me;                    /* this engine's index in the store */
	struct ftpi_dconn *remote;      /* closed claimed data connections waiting for their reply */
	uint32_t remote_open;           /* claimed connections not answered yet */
	struct ftpi__share *share;      /* Redis, or NULL */
	struct ftpi__shslot *sh_slots;  /* max_pending of the share */
	uint32_t sh_cap, sh_used, sh_free;
	uint32_t sh_parked;             /* slots parked (ftpi__shslot.parked) */
	uint64_t sh_next_due;           /* wall clock of the next retry, 0 = none */
	uint64_t sh_hold_us;            /* oldest connection still looked up (capture time) */
	uint32_t sh_tick;               /* packets since the clock was last read for retries */
	struct ftpi_session *waiting;   /* sessions that may hold closed dconns waiting for a reply */
};

/* x was met (matched, or claimed by another engine): its chains hold one open expectation
 * fewer. Call it where either flag is set; a call missed only makes matching slower. */
static inline void ftpi__expect_met(struct ftpi__expect_tab *xt, struct ftpi_expect *x)
{
	if (!x->open_counted)
		return;
	x->open_counted = 0;
	for (int k = 0; k < 2; k++)
		if (x->h[k].pprev)
			xt->open[x->h[k].bucket]--;
}
int ftpi__expect_init(struct ftpi__expect_tab *xt, struct ftpi__ctx *cx, struct ftpi__ftp *ftp);
/* With a Redis store (share.h): the request slots. */
int ftpi__expect_share_init(struct ftpi__expect_tab *xt, struct ftpi__share *share);
/* Frees every expectation and every session's data connections, without events. */
void ftpi__expect_release(struct ftpi__expect_tab *xt);

/* What the FTP stage announces (installed as its hooks by the engine). */
void ftpi__expect_add(struct ftpi__expect_tab *xt, struct ftpi_session *s, int announce,
		      int active, const struct ftpi_endpoint *target, int firm, const char *text,
		      size_t len);
void ftpi__expect_firm(struct ftpi__expect_tab *xt, struct ftpi_session *s, int announce);
/* announce 0 = every unmatched expectation of the session; -1 = every active one. */
void ftpi__expect_cancel(struct ftpi__expect_tab *xt, struct ftpi_session *s, int announce);
/* The session's transfer command state changed: update the linked data connection. */
void ftpi__dconn_xfer_update(struct ftpi__expect_tab *xt, struct ftpi_session *s);
/* The session is ending: its expectations end, its data events still pending are emitted. */
void ftpi__expect_session_ending(struct ftpi__expect_tab *xt, struct ftpi_session *s);

/* A failed login of s counted with the other engines of the store (facts.h): 1 when it raises
 * brute_force, 0 when not, -1 without a store. */
int ftpi__expect_login_failed(struct ftpi__expect_tab *xt, struct ftpi_session *s,
			      uint32_t *count);
void ftpi__expect_tick(struct ftpi__expect_tab *xt, uint64_t now);
/* Redis: takes the answers that came and sends the retries that are due (never waits). */
void ftpi__expect_share_poll(struct ftpi__expect_tab *xt);
/* Tells the other sensors how far this engine has decided (every packet; an atomic store). */
void ftpi__expect_share_mark(struct ftpi__expect_tab *xt);
void ftpi__expect_flush(struct ftpi__expect_tab *xt);

/* A new flow: is it a data connection of some session? Returns a dconn (flow->role becomes DATA)
 * or NULL. */
/* With a shared store, the expectations other engines published rank with the engine's own
 * (after waiting for them to reach the flow's time); one that wins is claimed. */
struct ftpi_dconn *ftpi__expect_match(struct ftpi__expect_tab *xt, struct ftpi_flow *f);
/* Later classification of a flow that started between hosts with a session. */
struct ftpi_dconn *ftpi__dconn_infer(struct ftpi__expect_tab *xt, struct ftpi_flow *f,
				     int is_ftp);
/* A claimed connection's responder answered (its owner counts it as a data connection). */
void ftpi__dconn_answered(struct ftpi__expect_tab *xt, struct ftpi_dconn *d);
/* A packet from the client of a claimed connection not answered yet. */
static inline void ftpi__dconn_syn(struct ftpi_dconn *d, uint64_t now)
{
	if (d->sref && !d->answered && d->n_syn < FTPI__ARRAY_LEN(d->syn_us))
		d->syn_us[d->n_syn++] = now;
}
/* Bytes lost in direction dir (a reassembly gap). */
void ftpi__dconn_gap(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, int dir);
/* A connection looked up in Redis (--share: pending) whose first bytes are an FTP greeting from
 * the server (220/120): a control connection on a port that is not FTP's, which must make a
 * session as it does without --share. The lookup is let go of (its answer finds nothing) and
 * the flow is sniffed again from these bytes: 1. Else 0, nothing changed. */
int ftpi__dconn_share_greeting(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, int dir,
			       const uint8_t *p, size_t n);
/* Such a connection before its first payload: what it is waits for that (nDPI too). */
static inline int ftpi__dconn_share_fresh(const struct ftpi_dconn *d)
{
	return d != NULL && d->sh_pending && d->sh == NULL && d->bytes_to_server == 0 &&
	       d->bytes_to_client == 0;
}
/* In-order bytes of a data connection; returns enum ftpi_reasm_want bits. */
int ftpi__dconn_data(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, struct ftpi_flow *f,
		     int dir, const uint8_t *p, size_t n);
/* f is the flow when it just closed; NULL for a forced end (timeout, session end). */
void ftpi__dconn_close(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, struct ftpi_flow *f);
uint64_t ftpi__dconn_session_id(const struct ftpi_dconn *d);
/* The data flow is going away; a dconn no session owns is freed with it. */
void ftpi__dconn_detach(struct ftpi__expect_tab *xt, struct ftpi_dconn *d);

#endif /* FTPI_EXPECT_H */
