/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reply.c - server replies (RFC 959 §4.2, §5.4): multi-line collection up to a cap, pairing
 * with the oldest pending command (or, for 227/228/229/234, the command they name), and the
 * transitions each (command, reply class) pair makes: login, AUTH/PBSZ/PROT/CCC, passive and
 * active announcements, transfer outcomes, the working directory. One handler per command
 * family, chosen from a table.
 */
#include "session.h"

static int upc_c(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 32 : c;
}

#define set_state ftpi__session_set_state

/* ---- announcements in replies ---- */

/* The 227 names another address than the one the client reached. Seen from the server's side
 * of a NAT (private server address, public client), a public address in it is the configured
 * helper address, which is right; otherwise the client is told an address it did not use. */
/* Routers a packet crossed before the capture point, from its TTL: initial TTLs are 64, 128
 * or 255. -1 when unknown. */
static int hops(uint8_t ttl)
{
	if (ttl == 0)
		return -1;
	return (ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255) - ttl;
}

/* Which side of the routers the capture point is on, from the control connection's TTLs:
 * 1 = the server's (its packets are fresh, the client's crossed routers), -1 = the client's,
 * 0 = unknown. */
static int capture_side(const struct ftpi_session *s)
{
	if (s->flow == NULL)
		return 0;
	int hc = hops(s->flow->ttl[FTPI_DIR_TO_SERVER]);
	int hs = hops(s->flow->ttl[FTPI_DIR_TO_CLIENT]);
	if (hc < 0 || hs < 0)
		return 0;
	return hs == 0 && hc > 0 ? 1 : hc == 0 && hs > 0 ? -1 : 0;
}

static int same_subnet(const struct ftpi_addr *a, const struct ftpi_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, a->family == 6 ? 8 : 3) == 0;
}

/* The 227 names another address than the one the client reached. Returns 1 when the verdict
 * waits for the data connection (the expect stage settles it). */
static int nat_check(struct ftpi__ftp *ftp, struct ftpi_session *s, int ann,
		     const struct ftpi_endpoint *ep, const char *text, size_t len)
{
	/* the client can use the announced address (public, or on its own subnet), and reached
	 * the server at a private address away from its subnet: the server side of the NAT */
	int usable = !ftpi__addr_is_private(&ep->addr) || same_subnet(&ep->addr, &s->cli.addr);
	int behind = ftpi__addr_is_private(&s->srv.addr) &&
		     (!ftpi__addr_is_private(&s->cli.addr) || !same_subnet(&s->srv.addr, &s->cli.addr));
	if (usable && behind && !ftpi__addr_is_private(&s->cli.addr)) {
		/* a public client: the announced address is the configured helper address */
		ftpi__server_helper(s->server, &ep->addr, ftp->cx->now_us, ftp->cx->frame);
		return 0;
	}
	if (usable && behind && capture_side(s) == 1) {
		/* private on both sides, captured next to the server: a helper address */
		ftpi__server_helper(s->server, &ep->addr, ftp->cx->now_us, ftp->cx->frame);
		return 0;
	}
	if (usable && behind && capture_side(s) == 0)
		return 1; /* private on both sides: a helper address if the client can use it */
	if (!usable && ftpi__addr_is_private(&s->srv.addr) && capture_side(s) == 1) {
		/* next to the server: the client crossed a NAT to reach it, and the 227 names an
		 * address the client side can use (the router SNATs the client onto this subnet) */
		ftpi__server_helper(s->server, &ep->addr, ftp->cx->now_us, ftp->cx->frame);
		return 0;
	}
	if (!ftpi__subject_has(&s->fs, FTPI_FINDING_NAT_PRIVATE_PASV))
		ftpi__ftp_nat_pasv(ftp, s, ann, ep, text, len);
	if (s->server)
		s->server->nat_problems++;
	return 0;
}

static void passive_announce(struct ftpi__ftp *ftp, struct ftpi_session *s, int ann,
			     struct ftpi_endpoint *ep, const char *text, size_t len)
{
	if (ep->addr.family == 0) /* EPSV: the control connection's address */
		ep->addr = s->srv.addr;
	s->nat_pending = 0;
	if (!ftpi__addr_eq(&ep->addr, &s->srv.addr))
		s->nat_pending = (uint8_t)nat_check(ftp, s, ann, ep, text, len);
	if (s->server) {
		struct ftpi_server *sv = s->server;
		if (sv->pasv_count == 0 || ep->port < sv->pasv_min)
			sv->pasv_min = ep->port;
		if (sv->pasv_count == 0 || ep->port > sv->pasv_max)
			sv->pasv_max = ep->port;
		sv->pasv_count++;
	}
	const struct ftpi_config *cfg = &ftp->cx->cfg;
	if (cfg->pasv_max && (ep->port < cfg->pasv_min || ep->port > cfg->pasv_max)) {
		ftpi__ftp_pasv_policy(ftp, s, ep, text, len);
		if (s->server)
			s->server->out_of_policy++;
	}
	ftp->hooks.announce(ftp->hooks.user, s, ann, 0, ep, 1, text, len);
}

/* ---- pairing ---- */

/* After commands were lost in a gap, a reply is paired with the oldest pending command only when
 * its code can answer that command (RFC 959 §5.4); codes that belong to one command family
 * answer nothing else. */
static int reply_fits(unsigned code, int verb)
{
	switch (code) {
	case 215:
		return verb == FTPI_CMD_SYST;
	case 257:
		return verb == FTPI_CMD_PWD || verb == FTPI_CMD_XPWD || verb == FTPI_CMD_MKD ||
		       verb == FTPI_CMD_XMKD;
	case 331:
		return verb == FTPI_CMD_USER;
	case 332:
		return verb == FTPI_CMD_USER || verb == FTPI_CMD_PASS;
	case 230:
	case 202:
		return verb == FTPI_CMD_USER || verb == FTPI_CMD_PASS || verb == FTPI_CMD_ACCT ||
		       verb == FTPI_CMD_REIN || code == 202;
	case 350:
		return verb == FTPI_CMD_REST || verb == FTPI_CMD_RNFR;
	case 226:
	case 250:
		return verb != FTPI_CMD_USER && verb != FTPI_CMD_PASS;
	default:
		return 1;
	}
}

enum pair_result { PAIR_NONE = 0, PAIR_QUEUED, PAIR_NAMED };

/* 227/228/229/234 name their command. When the head of the queue is another command, replies
 * were lost (a gap): drop up to the matching command; when the command itself was lost, go on
 * without it (PAIR_NAMED, cmd holds only the verb). */
static int pair_named(struct ftpi_session *s, unsigned code, struct ftpi_pending *cmd)
{
	uint8_t want = code == 227   ? FTPI_CMD_PASV
		       : code == 228 ? FTPI_CMD_LPSV
		       : code == 229 ? FTPI_CMD_EPSV
				     : FTPI_CMD_AUTH;
	unsigned k;
	for (k = 0; k < s->pend_count; k++)
		if (s->pend[(s->pend_head + k) % s->pend_cap].verb == want)
			break;
	if (k == s->pend_count) {
		memset(cmd, 0, sizeof *cmd);
		cmd->verb = want;
		return PAIR_NAMED;
	}
	s->pend_head = (uint16_t)((s->pend_head + k) % s->pend_cap);
	s->pend_count = (uint16_t)(s->pend_count - k);
	return PAIR_NONE;
}

/* Finds the command a final reply answers. PAIR_NONE: the reply answers nothing (it may still
 * be the greeting, or a reply of a lost command). */
static int pair_reply(struct ftpi__ftp *ftp, struct ftpi_session *s, unsigned code,
		      const char *text, size_t tlen, struct ftpi_pending *cmd)
{
	if ((code == 227 || code == 228 || code == 229 || code == 234) &&
	    pair_named(s, code, cmd) == PAIR_NAMED)
		return PAIR_NAMED;
	if (code == 220 && s->state == FTPI_SS_GREETING && !s->midstream) {
		/* the greeting, also when the client did not wait for it: commands sent before
		 * it keep waiting for their own replies */
		s->banner_len = (uint16_t)FTPI__MIN(tlen, sizeof s->banner);
		memcpy(s->banner, text, s->banner_len);
		set_state(s, FTPI_SS_LOGIN);
		return PAIR_NONE;
	}
	if (s->pend_count == 0) {
		if (code == 421 || code == 220 || s->midstream || s->incomplete)
			return PAIR_NONE;
		ftpi__ftp_anomaly(ftp, s, "reply_without_command",
				  "server reply with no pending command", FTPI__EVD_SERVER, text,
				  tlen);
		return PAIR_NONE;
	}
	if (s->lost_sync && !reply_fits(code, s->pend[s->pend_head].verb))
		return PAIR_NONE; /* the reply of a command lost in a gap */
	/* its argument's bytes only: most are a few of the FTPI__FILE_MAX the slot has room for */
	const struct ftpi_pending *q = &s->pend[s->pend_head];
	memcpy(cmd, q, offsetof(struct ftpi_pending, arg) + q->arg_len);
	s->pend_head = (uint16_t)((s->pend_head + 1) % s->pend_cap);
	s->pend_count--;
	if (s->pend_count == 0)
		s->lost_sync = 0;
	return PAIR_QUEUED;
}

/* ---- transitions, one handler per command family ---- */

struct reply {
	unsigned code, cls;
	const char *text;
	size_t tlen;
};

typedef void (*reply_fn)(struct ftpi__ftp *ftp, struct ftpi_session *s,
			 const struct ftpi_pending *cmd, const struct reply *r);

/* The session is in a TLS phase: login progress is recorded, the phase stays. */
static int in_tls(const struct ftpi_session *s)
{
	return s->state == FTPI_SS_TLS_HANDSHAKE || s->state == FTPI_SS_TLS;
}

static void logged_in(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *how)
{
	s->login = FTPI_LOGIN_SUCCESS;
	if (!in_tls(s))
		set_state(s, FTPI_SS_LOGGED_IN);
	ftpi__ftp_emit_login(ftp, s);
	if (s->anonymous && !ftpi__subject_has(&s->fs, FTPI_FINDING_ANONYMOUS_LOGIN)) {
		char msg[160];
		ftpi__buf_printf(msg, sizeof msg, 0, "%s (%s; no credential crosses)", how,
				 FTPI__UNREADABLE(s) ? "inside TLS" : "in clear text");
		ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_ANONYMOUS_LOGIN, NULL, NULL, msg,
			      s->user_len == 3 ? "USER ftp" : "USER anonymous");
	}
}

static void on_user(struct ftpi__ftp *ftp, struct ftpi_session *s, const struct ftpi_pending *cmd,
		    const struct reply *r)
{
	(void)cmd;
	if (r->code == 331 || r->code == 332) {
		if (!in_tls(s))
			set_state(s, FTPI_SS_PASSWORD);
	} else if (r->code == 230) {
		logged_in(ftp, s, "anonymous login accepted without a password");
	} else if ((r->cls == 4 || r->cls == 5) && s->login != FTPI_LOGIN_SUCCESS) {
		s->login = FTPI_LOGIN_FAILED;
	}
}

static void on_pass(struct ftpi__ftp *ftp, struct ftpi_session *s, const struct ftpi_pending *cmd,
		    const struct reply *r)
{
	(void)cmd;
	if (r->code == 230 || r->code == 202) {
		logged_in(ftp, s, "anonymous login accepted");
	} else if (r->cls == 4 || r->cls == 5) {
		s->login = FTPI_LOGIN_FAILED;
		ftpi__ftp_emit_login(ftp, s);
		ftpi__ftp_refused(ftp, s, FTPI_FINDING_FAILED_LOGIN, NULL, NULL, 0, r->code, r->text,
				  r->tlen);
		ftpi__ftp_brute_force(ftp, s);
		if (!in_tls(s))
			set_state(s, FTPI_SS_LOGIN);
	}
}

/* 234: the channel turns to TLS. A second AUTH after CCC starts a new handshake. */
static void start_tls(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	if (s->tlsp && s->tls_reported) { /* re-AUTH after CCC: a fresh handshake to read */
		ftpi__tls_release(ftp->cx, s->tlsp);
		ftpi__tls_init(s->tlsp);
		s->tls_reported = 0;
		s->null_mac = 0;
	}
	memset(s->rec, 0, sizeof s->rec);
	set_state(s, FTPI_SS_TLS_HANDSHAKE);
	if (s->tlsp == NULL) {
		s->tlsp = ftpi__alloc(ftp->cx, FTPI__POOL_TLS, sizeof *s->tlsp);
		if (s->tlsp)
			ftpi__tls_init(s->tlsp);
	}
}

static void on_auth(struct ftpi__ftp *ftp, struct ftpi_session *s, const struct ftpi_pending *cmd,
		    const struct reply *r)
{
	if (r->code == 234) {
		s->tls = FTPI_TLS_EXPLICIT;
		start_tls(ftp, s);
		if (s->server)
			s->server->tls_sessions++;
		char evd[300];
		size_t n = ftpi__buf_printf(evd, sizeof evd, 0, "AUTH ");
		if (ftp->cx->cfg.redact_credentials &&
		    ftpi__ftp_secret_arg(FTPI_CMD_AUTH, cmd->arg, cmd->arg_len))
			ftpi__buf_printf(evd, sizeof evd, n, "***");
		else
			ftpi__buf_escape(evd, sizeof evd, n, cmd->arg, FTPI__MIN(cmd->arg_len, 32));
		ftpi__finding_once(ftp->cx, &s->fs, FTPI_FINDING_ENCRYPTED_CONTROL,
				   "AUTH accepted (234): the rest of the control channel is "
				   "encrypted; commands and data announcements cannot be read",
				   evd);
	} else if (r->cls == 4 || r->cls == 5) {
		ftpi__ftp_refused(ftp, s, FTPI_FINDING_AUTH_TLS_REFUSED, "the server refused AUTH ",
				  cmd->arg, cmd->arg_len, r->code, r->text, r->tlen);
	}
}

static void on_security(struct ftpi__ftp *ftp, struct ftpi_session *s,
			const struct ftpi_pending *cmd, const struct reply *r)
{
	if (r->cls != 2)
		return;
	if (cmd->verb == FTPI_CMD_PBSZ)
		s->pbsz = 1;
	else if (cmd->verb == FTPI_CMD_PROT && cmd->prot)
		s->prot = (char)cmd->prot;
	else if (cmd->verb == FTPI_CMD_CCC)
		ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_CCC_DOWNGRADE, NULL, NULL,
			      "CCC accepted: the control channel is back in clear text", "CCC / 200");
}

static void on_rein(struct ftpi__ftp *ftp, struct ftpi_session *s, const struct ftpi_pending *cmd,
		    const struct reply *r)
{
	(void)ftp;
	(void)cmd;
	if (r->cls != 2)
		return;
	s->user_len = 0;
	s->login = FTPI_LOGIN_NONE;
	s->anonymous = 0;
	s->prot = 0;
	s->pbsz = 0;
	if (!in_tls(s))
		set_state(s, FTPI_SS_LOGIN);
}

static void on_active(struct ftpi__ftp *ftp, struct ftpi_session *s,
		      const struct ftpi_pending *cmd, const struct reply *r)
{
	int ann = cmd->verb == FTPI_CMD_PORT   ? FTPI_ANN_PORT
		  : cmd->verb == FTPI_CMD_EPRT ? FTPI_ANN_EPRT
					       : FTPI_ANN_LPRT;
	if (r->cls == 2) {
		ftp->hooks.firm(ftp->hooks.user, s, ann);
		char evd[300];
		size_t n = ftpi__buf_printf(evd, sizeof evd, 0, "%s ", ftpi_announce_name(ann));
		ftpi__buf_escape(evd, sizeof evd, n, cmd->arg, FTPI__MIN(cmd->arg_len, 100));
		ftpi__finding_once(ftp->cx, &s->fs, FTPI_FINDING_ACTIVE_MODE,
				   "active mode: the server opens the data connection back to the "
				   "client",
				   evd);
	} else if (r->cls == 4 || r->cls == 5) {
		ftp->hooks.cancel(ftp->hooks.user, s, ann);
	}
}

/* 227 (RFC 959), 229 (RFC 2428 §3), 228 (RFC 1639) */
static void on_passive(struct ftpi__ftp *ftp, struct ftpi_session *s,
		       const struct ftpi_pending *cmd, const struct reply *r)
{
	static const struct {
		uint8_t verb, ann;
		unsigned code;
		int (*parse)(const char *, size_t, struct ftpi_endpoint *);
		const char *kind, *what;
	} pv[] = {
		{FTPI_CMD_PASV, FTPI_ANN_PASV, 227, ftpi__parse_227, "bad_227",
		 "227 reply without a host-port"},
		{FTPI_CMD_EPSV, FTPI_ANN_EPSV, 229, ftpi__parse_229, "bad_229",
		 "229 reply without a port"},
		{FTPI_CMD_LPSV, FTPI_ANN_LPSV, 228, ftpi__parse_228, "bad_228",
		 "228 reply without a host-port"},
	};
	struct ftpi_endpoint ep;
	for (size_t i = 0; i < FTPI__ARRAY_LEN(pv); i++) {
		if (pv[i].verb != cmd->verb || pv[i].code != r->code)
			continue;
		if (pv[i].parse(r->text, r->tlen, &ep))
			passive_announce(ftp, s, pv[i].ann, &ep, r->text, r->tlen);
		else
			ftpi__ftp_anomaly(ftp, s, pv[i].kind, pv[i].what, FTPI__EVD_SERVER,
					  r->text, r->tlen);
	}
}

static void on_transfer(struct ftpi__ftp *ftp, struct ftpi_session *s,
			const struct ftpi_pending *cmd, const struct reply *r)
{
	(void)cmd;
	if (s->xfer.state == 0)
		return;
	if (r->code == 226 || r->code == 250)
		s->xfer.status = FTPI_DATA_COMPLETED;
	else if (r->code == 425 || r->code == 426 || r->code == 451)
		s->xfer.status = FTPI_DATA_ABORTED;
	else if (r->cls == 4 || r->cls == 5)
		s->xfer.status = FTPI_DATA_FAILED;
	else
		return;
	if (s->xfer.state == 1 && s->xfer.status == FTPI_DATA_FAILED) {
		/* refused before any data connection (550 ...): in active mode the server never
		 * connects then, which is not a network problem. (Passive clients connect right
		 * after 227/229, so an unmet passive one still counts.) */
		ftp->hooks.cancel(ftp->hooks.user, s, -1);
	}
	s->xfer.state = 3;
	ftp->hooks.xfer(ftp->hooks.user, s);
}

static void on_cwd(struct ftpi__ftp *ftp, struct ftpi_session *s, const struct ftpi_pending *cmd,
		   const struct reply *r)
{
	(void)ftp;
	if (r->cls != 2 || cmd->arg_len == 0)
		return;
	if (cmd->arg[0] == '/') {
		s->cwd_len = cmd->arg_len;
		memcpy(s->cwd, cmd->arg, cmd->arg_len);
		return;
	}
	size_t n = s->cwd_len;
	if (n && n < sizeof s->cwd && s->cwd[n - 1] != '/')
		s->cwd[n++] = '/';
	size_t k = FTPI__MIN(cmd->arg_len, sizeof s->cwd - n);
	memcpy(s->cwd + n, cmd->arg, k);
	s->cwd_len = (uint16_t)(n + k);
}

/* 257 "dir" (RFC 959 Appendix II: a doubled quote is a quote). */
static void on_pwd(struct ftpi__ftp *ftp, struct ftpi_session *s, const struct ftpi_pending *cmd,
		   const struct reply *r)
{
	(void)ftp;
	(void)cmd;
	const char *q = r->code == 257 ? memchr(r->text, '"', r->tlen) : NULL;
	if (q == NULL)
		return;
	const char *end = r->text + r->tlen, *p = q + 1;
	size_t n = 0;
	while (p < end && n < sizeof s->cwd) {
		if (*p == '"') {
			if (p + 1 < end && p[1] == '"') {
				s->cwd[n++] = '"';
				p += 2;
				continue;
			}
			break;
		}
		s->cwd[n++] = *p++;
	}
	s->cwd_len = (uint16_t)n;
}

static void on_type(struct ftpi__ftp *ftp, struct ftpi_session *s, const struct ftpi_pending *cmd,
		    const struct reply *r)
{
	(void)ftp;
	if (r->cls == 2 && cmd->arg_len)
		s->type = (uint8_t)upc_c((unsigned char)cmd->arg[0]);
}

static reply_fn handler(int verb)
{
	switch (verb) {
	case FTPI_CMD_USER:
		return on_user;
	case FTPI_CMD_PASS:
	case FTPI_CMD_ACCT:
		return on_pass;
	case FTPI_CMD_AUTH:
		return on_auth;
	case FTPI_CMD_PBSZ:
	case FTPI_CMD_PROT:
	case FTPI_CMD_CCC:
		return on_security;
	case FTPI_CMD_REIN:
		return on_rein;
	case FTPI_CMD_PORT:
	case FTPI_CMD_EPRT:
	case FTPI_CMD_LPRT:
		return on_active;
	case FTPI_CMD_PASV:
	case FTPI_CMD_EPSV:
	case FTPI_CMD_LPSV:
		return on_passive;
	case FTPI_CMD_CWD:
	case FTPI_CMD_XCWD:
		return on_cwd;
	case FTPI_CMD_PWD:
	case FTPI_CMD_XPWD:
		return on_pwd;
	case FTPI_CMD_TYPE:
		return on_type;
	default:
		return ftpi__verb_is_transfer(verb) ? on_transfer : NULL;
	}
}

static void final_reply(struct ftpi__ftp *ftp, struct ftpi_session *s, unsigned code,
			const char *text, size_t tlen)
{
	struct ftpi_pending cmd;
	if (pair_reply(ftp, s, code, text, tlen, &cmd) == PAIR_NONE)
		return;
	if (s->state == FTPI_SS_GREETING)
		set_state(s, FTPI_SS_LOGIN);
	reply_fn fn = handler(cmd.verb);
	struct reply r = {code, code / 100, text, tlen};
	if (fn)
		fn(ftp, s, &cmd, &r);
}

/* ---- reply lines ---- */

static void complete_reply(struct ftpi__ftp *ftp, struct ftpi_session *s, unsigned code)
{
	struct ftpi_event ev;
	s->replies++;
	FTPI__COUNT(ftp->cx, ftp_replies);
	if (!ftpi__emit_masked(ftp->cx, FTPI_EV_REPLY)) {
		ftpi__event_of(&ev, FTPI_EV_REPLY, &s->fs);
		ev.u.reply.code = code;
		ev.u.reply.text.ptr = s->reply;
		ev.u.reply.text.len = s->reply_len;
		ev.frame = s->reply_frame;
		ftpi__emit(ftp->cx, &ev);
	}

	if (code / 100 == 1) {
		if (s->xfer.state == 1) {
			s->xfer.state = 2;
			ftp->hooks.xfer(ftp->hooks.user, s);
			if (!FTPI__UNREADABLE(s))
				ftpi__session_cleartext_data(ftp, s, "transfer started");
		}
		return;
	}
	final_reply(ftp, s, code, s->reply, s->reply_len);
}

static void reply_append(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *text,
			 size_t len)
{
	size_t cap = ftp->cx->cfg.max_reply_len; /* <= sizeof s->reply (validated) */
	if (s->reply_len && s->reply_len < cap)
		s->reply[s->reply_len++] = '\n';
	size_t k = FTPI__MIN(len, cap - FTPI__MIN(cap, s->reply_len));
	memcpy(s->reply + s->reply_len, text, k);
	s->reply_len = (uint16_t)(s->reply_len + k);
}

void ftpi__ftp_reply_line(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *line,
			  size_t len, int truncated)
{
	unsigned code;
	int cont;
	struct ftpi_span text;
	int ok = ftpi__reply_parse(line, len, &code, &cont, &text);

	(void)truncated; /* reported with its length by the session (overlong_reply) */
	if (s->in_multi) {
		if (ok && code == s->multi_code && !cont && (len == 3 || line[3] == ' ')) {
			reply_append(ftp, s, text.ptr, text.len);
			s->in_multi = 0;
			complete_reply(ftp, s, code);
		} else if (ok && code == s->multi_code) {
			reply_append(ftp, s, text.ptr, text.len); /* "220-more": the code is not text */
		} else {
			reply_append(ftp, s, line, len);
		}
		return;
	}
	if (!ok && len > 3 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' &&
	    line[1] <= '9' && line[2] >= '0' && line[2] <= '9') {
		/* "230ok": a reply code without the space (RFC 959 §4.2 wants one); read as a
		 * final reply so it still answers its command */
		ftpi__ftp_anomaly(ftp, s, "reply_without_space", "reply code not followed by a space",
				  FTPI__EVD_SERVER, line, len);
		code = (unsigned)((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
		cont = 0;
		text.ptr = line + 3;
		text.len = len - 3;
		ok = 1;
	}
	if (!ok) {
		if (len == 0)
			return;
		ftpi__ftp_anomaly(ftp, s, "garbage_reply", "server line is not an FTP reply",
				  FTPI__EVD_UNPARSED, line, len);
		/* a broken answer: the oldest command it stands for gets no other reply (not the
		 * greeting's place: a server still to greet has answered nothing) */
		if (s->pend_count && s->state != FTPI_SS_GREETING && !s->lost_sync) {
			s->pend_head = (uint16_t)((s->pend_head + 1) % s->pend_cap);
			s->pend_count--;
		}
		return;
	}
	s->reply_len = 0;
	s->reply_frame = ftp->cx->frame;
	reply_append(ftp, s, text.ptr, text.len);
	if (cont) {
		s->in_multi = 1;
		s->multi_code = code;
		return;
	}
	complete_reply(ftp, s, code);
}
