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
#include "fhash.h"

struct ftpi_expect {
	struct ftpi_expect *hnext;         /* bucket by port */
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
};

/* The expect stage's state. */
struct ftpi__expect_tab {
	struct ftpi__ctx *cx;
	struct ftpi__ftp *ftp;          /* the sessions below */
	struct ftpi_expect **buckets;   /* by target port */
	uint32_t nbuckets;
	struct ftpi_expect *list;       /* all live expectations, oldest first */
	struct ftpi_expect *list_tail;
	uint32_t n;                     /* live expectations, all sessions (max_expectations) */
	struct ftpi_expect_store *store; /* shared with other engines, or NULL */
	unsigned me;                    /* this engine's index in the store */
	struct ftpi_dconn *remote;      /* closed claimed data connections waiting for their reply */
	uint32_t remote_open;           /* claimed connections not answered yet */
};

int ftpi__expect_init(struct ftpi__expect_tab *xt, struct ftpi__ctx *cx, struct ftpi__ftp *ftp);
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

void ftpi__expect_tick(struct ftpi__expect_tab *xt, uint64_t now);
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
/* In-order bytes of a data connection; returns enum ftpi_reasm_want bits. */
/* Bytes lost in direction dir (a reassembly gap). */
void ftpi__dconn_gap(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, int dir);
int ftpi__dconn_data(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, struct ftpi_flow *f,
		     int dir, const uint8_t *p, size_t n);
/* f is the flow when it just closed; NULL for a forced end (timeout, session end). */
void ftpi__dconn_close(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, struct ftpi_flow *f);
uint64_t ftpi__dconn_session_id(const struct ftpi_dconn *d);
/* The data flow is going away; a dconn no session owns is freed with it. */
void ftpi__dconn_detach(struct ftpi__expect_tab *xt, struct ftpi_dconn *d);

#endif /* FTPI_EXPECT_H */
