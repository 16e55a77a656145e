/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.h - the structs shared by session.c (control sessions, findings) and expect.c
 * (expectations, data connections, server summaries).
 */
#ifndef FTPI_SESSION_H
#define FTPI_SESSION_H

#include "ftp.h"
#include "tls.h"
#include "x509.h"

#define FTPI__PENDING_MAX 16
#define FTPI__USER_MAX 128
#define FTPI__FILE_MAX 256
#define FTPI__REPLY_TEXT_MAX 512
#define FTPI__ANOMALY_FINDINGS_MAX 8

enum ftpi_sstate {
	FTPI_SS_GREETING = 0, /* waiting for 220 */
	FTPI_SS_LOGIN,        /* greeted; no USER yet or USER refused */
	FTPI_SS_PASSWORD,     /* 331 to USER: PASS expected */
	FTPI_SS_LOGGED_IN,
	FTPI_SS_TLS,          /* AUTH accepted or implicit: the channel is encrypted */
	FTPI_SS_CLOSED,
	FTPI_SS__COUNT
};

struct ftpi_pending {
	uint8_t verb;
	uint8_t prot;       /* PROT argument */
	uint8_t is_ccc;
	uint16_t arg_len;
	uint64_t frame;
	char arg[FTPI__FILE_MAX]; /* capped copy of the argument (file names, PORT text) */
};

/* A transfer command and its outcome. */
struct ftpi_xfer {
	uint8_t verb;       /* FTPI_CMD_RETR ... */
	uint8_t state;      /* 0 none, 1 requested, 2 started (1xx), 3 done */
	uint8_t status;     /* enum ftpi_data_status */
	uint16_t file_len;
	char file[FTPI__FILE_MAX];
};

struct ftpi_server {
	struct ftpi_server *next;
	struct ftpi_endpoint ep;
	uint64_t sessions;
	uint16_t pasv_min, pasv_max;
	uint64_t pasv_count, active_count, out_of_policy;
	uint64_t tls_sessions, clear_logins, nat_problems, ip_mismatches;
	struct ftpi_addr clients[16];
	uint8_t n_clients;
	uint64_t clients_total;
};

struct ftpi_dconn;
struct ftpi_expect;

#define FTPI__PAIR_BUCKETS 4096

struct ftpi_session {
	struct ftpi_session *prev, *next;
	struct ftpi_session *pnext; /* host-pair index bucket chain */
	uint32_t pair_bucket;
	uint64_t id;
	struct ftpi_flow *flow;   /* NULL once the control connection ended */
	struct ftpi_server *server;
	struct ftpi_endpoint cli, srv;
	uint64_t start_us, end_us;
	int state;                /* enum ftpi_sstate: only through set_state() */
	struct ftpi_line line[2];

	struct ftpi_pending pend[FTPI__PENDING_MAX];
	uint8_t pend_head, pend_count;
	uint8_t lost_sync;        /* commands were lost in a gap: pair replies by their codes */

	/* multi-line reply being collected */
	uint8_t in_multi;
	unsigned multi_code;
	uint16_t reply_len;
	char reply[FTPI__REPLY_TEXT_MAX];
	uint64_t reply_frame;

	char user[FTPI__USER_MAX];
	uint16_t user_len;
	uint8_t login;            /* enum ftpi_login_result */
	uint8_t anonymous;
	uint8_t pass_clear;       /* PASS crossed in clear */
	uint8_t tls;              /* enum ftpi_tls_mode */
	uint8_t encrypted;        /* control bytes are TLS now */
	char prot;
	uint8_t pbsz;
	uint8_t incomplete;
	uint8_t midstream;
	uint8_t epsv_all;
	uint8_t type;
	uint8_t ended;
	uint8_t anomaly_findings;
	uint64_t commands, replies;
	uint64_t findings_mask;
	uint8_t findings_order[FTPI_FINDING__COUNT];
	uint8_t n_findings_order;
	uint16_t banner_len;
	char banner[128];
	uint16_t cwd_len;
	char cwd[FTPI__FILE_MAX];

	struct ftpi_xfer xfer;    /* the current transfer command */
	struct ftpi_dconn *dconns; /* data connections linked to this session, open or pending */
	uint64_t n_dconns;
	uint32_t n_expect;
	struct ftpi_expect *expects;

	/* TLS on the control channel (explicit after 234, or implicit). */
	struct ftpi__tls *tlsp;
	uint8_t tls_reported;
	uint8_t rec_hdr[2][5];    /* record skipper, to notice the return to clear text (CCC) */
	uint8_t rec_hdr_len[2];
	uint32_t rec_left[2];
	uint8_t tls_dir_clear[2];
	uint32_t tls_records[2];  /* complete record headers seen per direction */
	int16_t null_mac;         /* NULL-encryption suite: its MAC length; -1 = encrypting suite */
	uint64_t last_psk_hash;   /* TLS 1.3 data-channel grouping */
	struct ftpi__x509_result *cert; /* review of the control channel's certificate */
};

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
	uint8_t syn_answered;
	uint8_t rst_seen;
	uint64_t created_us, firm_us;
	uint64_t frame;
};

struct ftpi_dconn {
	struct ftpi_dconn *snext;  /* in the session's list */
	struct ftpi_session *s;    /* NULL when unexpected */
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
	uint8_t clear_reported;
	uint8_t emitted;
	struct ftpi_xfer xfer;
	uint64_t start_us, end_us, closed_us;
	uint64_t bytes_to_server, bytes_to_client;
	uint64_t announce_frame;
	struct ftpi__tls *tlsp;    /* data-channel ClientHello, for resumption linking */
	uint8_t first[2][8];       /* first payload bytes each way */
	uint8_t first_len[2];
};

/* The control channel cannot be read: TLS with a cipher that encrypts. (A NULL-encryption suite
 * leaves it readable: `encrypted` is set but the text is parsed.) */
#define FTPI__UNREADABLE(s) ((s)->encrypted && (s)->null_mac <= 0)

/* Findings (session.c). s may be NULL; client/server default to the session's. */
void ftpi__finding(struct ftpi_engine *e, struct ftpi_session *s, int kind,
		   const struct ftpi_endpoint *client, const struct ftpi_endpoint *server,
		   const char *message, const char *evidence);
/* Raises kind only once per session. */
void ftpi__finding_once(struct ftpi_engine *e, struct ftpi_session *s, int kind,
			const char *message, const char *evidence);

/* Sessions between two hosts (either orientation), through the host-pair index. */
struct ftpi_session *ftpi__session_pair_first(struct ftpi_engine *e, const struct ftpi_addr *a,
					      const struct ftpi_addr *b);
struct ftpi_session *ftpi__session_pair_next(struct ftpi_session *s, const struct ftpi_addr *a,
					     const struct ftpi_addr *b);

/* expect.c */
void ftpi__expect_add(struct ftpi_engine *e, struct ftpi_session *s, int announce, int active,
		      const struct ftpi_endpoint *target, int firm);
void ftpi__expect_firm(struct ftpi_engine *e, struct ftpi_session *s, int announce);
void ftpi__expect_cancel(struct ftpi_engine *e, struct ftpi_session *s, int announce);
void ftpi__expect_session_end(struct ftpi_engine *e, struct ftpi_session *s);
void ftpi__expect_tick(struct ftpi_engine *e, uint64_t now);
void ftpi__expect_flush(struct ftpi_engine *e);
/* The session's transfer command state changed: update the linked data connection. */
void ftpi__dconn_xfer_update(struct ftpi_engine *e, struct ftpi_session *s);
/* Emits the data events still pending for a session (session end). */
void ftpi__dconn_session_end(struct ftpi_engine *e, struct ftpi_session *s);
struct ftpi_server *ftpi__server_get(struct ftpi_engine *e, const struct ftpi_endpoint *ep);
void ftpi__servers_flush(struct ftpi_engine *e);

#endif /* FTPI_SESSION_H */
