/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * session.h - the structs shared by the ftp stage (session.c: control sessions, findings) and
 * the expect stage (expect*.c, dconn.c: expectations, data connections, server summaries).
 */
#ifndef FTPI_SESSION_H
#define FTPI_SESSION_H

#include "flow.h"
#include "ftp.h"
#include "review.h"
#include "sink.h"
#include "tls.h"
#include "x509.h"

#define FTPI__USER_MAX 128
#define FTPI__FILE_MAX 256
#define FTPI__REPLY_TEXT_MAX 512
#define FTPI__ANOMALY_FINDINGS_MAX 8

/* The session's one state: login progress in clear text, and the TLS phases of the channel. */
#define FTPI_SSTATE_MAP(XX)                                                                        \
	XX(GREETING)      /* waiting for 220 */                                                    \
	XX(LOGIN)         /* greeted; no USER yet, or USER refused */                              \
	XX(PASSWORD)      /* 331 to USER: PASS expected */                                         \
	XX(LOGGED_IN)                                                                              \
	XX(TLS_HANDSHAKE) /* AUTH accepted (234) or implicit FTPS: the handshake is under way */   \
	XX(TLS)           /* handshake reviewed: the channel is encrypted */                        \
	XX(AFTER_CCC)     /* back in clear text after TLS records (CCC) */                          \
	XX(CLOSED)

enum ftpi_sstate {
#define XX(name) FTPI_SS_##name,
	FTPI_SSTATE_MAP(XX)
#undef XX
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
	struct ftpi_server *inext; /* chain in ftpi__ftp.server_index */
	struct ftpi_endpoint ep;
	uint64_t sessions;
	uint16_t pasv_min, pasv_max;
	uint64_t pasv_count, active_count, out_of_policy;
	uint64_t tls_sessions, clear_logins, nat_problems, ip_mismatches, node_mismatches;
	struct ftpi_addr helper_addr; /* public address named by 227s seen behind the NAT */
	uint8_t has_helper;
	uint64_t helper_us, helper_frame; /* the packet that showed it (ftpi__server_helper) */
	uint16_t data_min, data_max;  /* server ports of passive data connections seen */
	uint64_t data_passive;
	struct ftpi_addr clients[16];
	uint8_t n_clients;
	uint64_t clients_total;
};

struct ftpi_dconn;
struct ftpi_expect;

#define FTPI__PAIR_BUCKETS 4096

/* The TLS record walker's state for one direction of a control channel (tlsrec.c). */
struct ftpi__tlsrec {
	uint8_t hdr[5];   /* partial record header */
	uint8_t hdr_len;
	uint32_t left;    /* bytes left in the current record */
	uint32_t records; /* complete record headers seen */
};

struct ftpi_session {
	struct ftpi_session *prev, *next;
	struct ftpi_session *pnext;   /* host-pair index bucket chain */
	struct ftpi_session **ppprev; /* what points at this one in it (NULL: not linked) */
	uint64_t id;
	struct ftpi_flow *flow;   /* NULL once the control connection ended */
	struct ftpi_server *server;
	struct ftpi_endpoint cli, srv;
	uint64_t start_us, end_us;
	struct ftpi__subject fs;  /* identity and findings raised (core/sink.h) */
	int state;                /* enum ftpi_sstate: only through ftpi__session_set_state() */
#ifdef FTPI_DEBUG
	int prev_state;
#endif
	struct ftpi_line line[2];

	/* commands awaiting their reply: a ring of pend_cap entries, 2 at first, doubled when full
	 * up to cfg.max_pending_commands; most sessions never hold more than one */
	struct ftpi_pending *pend;
	uint16_t pend_cap, pend_head, pend_count;
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
	char prot;
	uint8_t pbsz;
	uint8_t incomplete;
	uint8_t midstream;
	uint8_t epsv_all;
	uint8_t nat_pending;      /* the last 227's NAT verdict waits for its data connection */
	uint8_t announced;        /* a PORT/EPRT/LPRT/PASV/EPSV/LPSV command was seen */
	uint8_t type;
	uint8_t ended;
	uint8_t anomaly_findings;
	uint8_t conflict_findings; /* tcp_overlap_conflict / ip_fragment_conflict raised */
	uint8_t conflict_last_dir; /* the last TCP conflict raised: a copy of it is not raised */
	uint32_t conflict_last_n;
	uint64_t conflict_last_off;
	uint64_t commands, replies;
	uint16_t banner_len;
	char banner[128];
	uint16_t cwd_len;
	char cwd[FTPI__FILE_MAX];

	struct ftpi_xfer xfer;    /* the current transfer command */
	/* Owned by the expect stage: the session's expectations and data connections. */
	struct ftpi_dconn *dconns; /* data connections linked to this session, open or pending */
	uint64_t n_dconns;
	/* in the expect stage's list of sessions that may hold closed data connections waiting for
	 * their reply (expect/dconn.c), so its timer does not walk every session */
	struct ftpi_session *wprev, *wnext;
	uint8_t wlisted;
	uint32_t n_expect;
	struct ftpi_expect *expects;
	/* store entries of expectations gone before the session's end that other engines'
	 * connections claimed: what became of those connections is counted at the end */
	uint64_t rclaims[4];
	uint16_t rclaim_port[4];
	uint8_t n_rclaims;

	/* TLS on the control channel (explicit after 234, or implicit). */
	struct ftpi__tls *tlsp;
	uint8_t tls_reported;
	struct ftpi__tlsrec rec[2]; /* record walker, to notice the return to clear text (CCC) */
	int16_t null_mac;         /* NULL-encryption suite: its MAC length; -1 = encrypting suite */
	uint64_t last_psk_hash;   /* TLS 1.3 data-channel grouping */
	struct ftpi__x509_result *cert; /* review of the control channel's certificate */
};

/* The control channel cannot be read: TLS with a cipher that encrypts. (A NULL-encryption suite
 * leaves the records' contents readable.) */
#define FTPI__UNREADABLE(s)                                                                        \
	(((s)->state == FTPI_SS_TLS_HANDSHAKE || (s)->state == FTPI_SS_TLS) && (s)->null_mac <= 0)

/* What the FTP stage tells the stage above it (expectations and data connections), through
 * callbacks the engine installs. */
struct ftpi__ftp_hooks {
	/* A PORT/EPRT/LPRT command (active, not firm until its 200) or a 227/228/229 reply; text is
	 * the announcing line (evidence for findings decided later, such as bounce). */
	void (*announce)(void *user, struct ftpi_session *s, int announce, int active,
			 const struct ftpi_endpoint *target, int firm, const char *text, size_t len);
	/* The announcement was accepted (200 to PORT/EPRT/LPRT). */
	void (*firm)(void *user, struct ftpi_session *s, int announce);
	/* announce 0 = every unmatched expectation of the session; -1 = every active one. */
	void (*cancel)(void *user, struct ftpi_session *s, int announce);
	/* The transfer command's state changed (s->xfer). */
	void (*xfer)(void *user, struct ftpi_session *s);
	/* The session is ending: its expectations and data connections end before session_end. */
	void (*ending)(void *user, struct ftpi_session *s);
	/* A failed login, counted among those of other engines sharing a store: 1 when it raises
	 * brute_force (*count: the failures in the window), 0 when not, -1 without a store (the
	 * stage counts alone). NULL: -1. */
	int (*login_failed)(void *user, struct ftpi_session *s, uint32_t *count);
	void *user;
};

struct ftpi__bf;

/* The FTP stage's state. */
struct ftpi__ftp {
	struct ftpi__ctx *cx;
	struct ftpi__tlsrev *tlsr;      /* the TLS review below */
	struct ftpi__ftp_hooks hooks;
	struct ftpi_session *sessions;  /* doubly linked list of live sessions */
	uint64_t next_session_id;
	uint64_t session_id_step;       /* engines sharing a store interleave their ids */
	struct ftpi_session **pair_buckets; /* sessions by host pair */
	struct ftpi_server *servers;    /* per-server summary (capped list) */
	struct ftpi_server **server_index; /* the same servers by endpoint (server.c), made on use */
	uint32_t n_servers;
	struct ftpi__bf *bf;            /* brute-force counters per client IP (bruteforce.c) */
};

int ftpi__ftp_init(struct ftpi__ftp *ftp, struct ftpi__ctx *cx, struct ftpi__tlsrev *tlsr,
		   const struct ftpi__ftp_hooks *hooks);
/* Frees every session without events (the expect stage released their dconns already). */
void ftpi__ftp_release(struct ftpi__ftp *ftp);
/* Closes every session (flush). */
void ftpi__ftp_close_all(struct ftpi__ftp *ftp);

/* Creates the session of a control flow; NULL at the session cap (counted). */
struct ftpi_session *ftpi__session_new(struct ftpi__ftp *ftp, struct ftpi_flow *f);
void ftpi__session_data(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir,
			const uint8_t *p, size_t n);
void ftpi__session_gap(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir, uint64_t n);
/* The control connection ended. */
void ftpi__session_close(struct ftpi__ftp *ftp, struct ftpi_session *s);
/* The control flow is going away (its memory is reused); the session lives on until closed. */
void ftpi__session_detach(struct ftpi_session *s);
uint64_t ftpi__session_id(const struct ftpi_session *s);
/* Implicit FTPS detected from the first bytes of the control connection. */
void ftpi__session_implicit_tls(struct ftpi__ftp *ftp, struct ftpi_session *s);
/* Raises cleartext_data for a session unless PROT P is in force. */
void ftpi__session_cleartext_data(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *how);
/* The one place a session's state changes. */
void ftpi__session_set_state(struct ftpi_session *s, int state);
const char *ftpi__session_state_name(int state);

/* Sessions between two hosts (either orientation), through the host-pair index. */
struct ftpi_session *ftpi__session_pair_first(struct ftpi__ftp *ftp, const struct ftpi_addr *a,
					      const struct ftpi_addr *b);
struct ftpi_session *ftpi__session_pair_next(struct ftpi_session *s, const struct ftpi_addr *a,
					     const struct ftpi_addr *b);

/* Per-server summaries (server.c). */
struct ftpi_server *ftpi__server_get(struct ftpi__ftp *ftp, const struct ftpi_endpoint *ep);
/* Emits a server event per server, oldest first, and frees them. */
void ftpi__servers_flush(struct ftpi__ftp *ftp);
/* Frees the servers' endpoint index (server.c). */
void ftpi__servers_index_release(struct ftpi__ftp *ftp);

/* Inside the FTP stage: commands (command.c), replies (reply.c), findings (findings.c),
 * brute-force counting (bruteforce.c), the TLS record walker (tlsrec.c). */
void ftpi__ftp_command(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *line, size_t len,
		       int truncated);
void ftpi__ftp_reply_line(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *line,
			  size_t len, int truncated);
/* IP fragments of this session (direction dir, held bytes of data) had to be dropped: an
 * ip_fragments_dropped anomaly, and the session is incomplete. */
void ftpi__session_frag_dropped(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir,
				uint32_t held, const char *why);
/* How a line is shown in evidence (redact_credentials on): a client command (verb shown; the
 * argument of PASS, ACCT, ADAT, AUTH with data and unknown verbs redacted), server text (shown),
 * or a line that does not parse (its length and first verb-like word only). */
enum ftpi__evd { FTPI__EVD_COMMAND = 0, FTPI__EVD_SERVER, FTPI__EVD_UNPARSED };
void ftpi__ftp_anomaly(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *kind,
		       const char *detail, int how, const char *line, size_t len);
/* Appends the evidence form of a line (enum ftpi__evd) to buf; returns the new length. */
size_t ftpi__ftp_line_evidence(const struct ftpi__ftp *ftp, int how, char *buf, size_t cap,
			       size_t n, const char *line, size_t len);
/* 1 when a command's argument is a secret: PASS, ACCT, ADAT, AUTH other than TLS/SSL (SASL
 * data), and verbs that are not FTP's. */
int ftpi__ftp_secret_arg(int verb, const char *arg, size_t len);
void ftpi__ftp_emit_login(struct ftpi__ftp *ftp, struct ftpi_session *s);
/* Overlapping TCP segments (kind FTPI_FINDING_TCP_OVERLAP_CONFLICT) or IP fragments
 * (FTPI_FINDING_IP_FRAGMENT_CONFLICT) of the control channel carried different bytes: n bytes
 * from stream offset off of direction dir (n 0: not known; exact 0: delivered ranges compared
 * by their hashes, so the range spans them). The first bytes were kept. */
void ftpi__session_conflict(struct ftpi__ftp *ftp, struct ftpi_session *s, int kind, int dir,
			    uint64_t off, uint32_t n, int exact);
void ftpi__ftp_plaintext_auth(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *arg,
			      size_t arg_len);
void ftpi__ftp_bounce(struct ftpi__ftp *ftp, struct ftpi_session *s, int ann,
		      const struct ftpi_endpoint *ep, const char *line, size_t len);
void ftpi__ftp_nat_pasv(struct ftpi__ftp *ftp, struct ftpi_session *s, int ann,
			const struct ftpi_endpoint *ep, const char *text, size_t len);
void ftpi__ftp_pasv_policy(struct ftpi__ftp *ftp, struct ftpi_session *s,
			   const struct ftpi_endpoint *ep, const char *text, size_t len);
/* kind FTPI_FINDING_FAILED_LOGIN, or AUTH_TLS_REFUSED with what + arg naming the command. */
void ftpi__ftp_refused(struct ftpi__ftp *ftp, struct ftpi_session *s, int kind, const char *what,
		       const char *arg, size_t arg_len, unsigned code, const char *text,
		       size_t tlen);
void ftpi__ftp_brute_force(struct ftpi__ftp *ftp, struct ftpi_session *s);
/* Forgets every client's failures (the table is kept). */
void ftpi__ftp_bf_reset(struct ftpi__ftp *ftp);
void ftpi__ftp_bf_release(struct ftpi__ftp *ftp);
/* Walks the TLS records of one direction. Returns how many bytes were TLS; *clear is set when
 * the bytes after them are clear text again. NULL-cipher application data goes to text(). */
size_t ftpi__tlsrec_walk(struct ftpi__tlsrec *w, const uint8_t *p, size_t n, int null_mac,
			 void (*text)(void *ctx, const uint8_t *p, size_t n), void *ctx,
			 int *clear);

/* The server's helper address, seen at capture time us in frame: the latest by (time, frame)
 * stays, whatever the order the engines of a store learn it in. */
static inline void ftpi__server_helper(struct ftpi_server *sv, const struct ftpi_addr *a,
				       uint64_t us, uint64_t frame)
{
	if (sv == NULL || (sv->has_helper && (us < sv->helper_us ||
					      (us == sv->helper_us && frame < sv->helper_frame))))
		return;
	sv->helper_addr = *a;
	sv->has_helper = 1;
	sv->helper_us = us;
	sv->helper_frame = frame;
}

#endif /* FTPI_SESSION_H */
