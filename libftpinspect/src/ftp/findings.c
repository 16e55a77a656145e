/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * findings.c - the control channel's findings and anomalies, with their messages and evidence:
 * protocol anomalies, clear-text credentials and data, bounce, NAT and passive-range findings,
 * and the login event. The state machine decides when; this file says what.
 */
#include <strings.h>

#include "session.h"

int ftpi__ftp_secret_arg(int verb, const char *arg, size_t len)
{
	static const char *const tls[] = {"TLS", "SSL", "TLS-C", "TLS-P"};
	switch (verb) {
	case FTPI_CMD_PASS:
	case FTPI_CMD_ACCT:
	case FTPI_CMD_ADAT:
		return 1;
	case FTPI_CMD_AUTH:
		for (size_t i = 0; i < FTPI__ARRAY_LEN(tls); i++)
			if (len == strlen(tls[i]) && strncasecmp(arg, tls[i], len) == 0)
				return 0;
		return len > 0;
	case FTPI_CMD_UNKNOWN:
		return len > 0;
	default:
		return 0;
	}
}

/* The first word of a line when it looks like a protocol verb (3-12 capitals: AUTHINFO, EHLO),
 * else 0: a lone word in lower case or with digits may be a password typed at the wrong
 * prompt. */
static size_t verb_like(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && i < 13 && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	if (i < 3 || i > 12 || (i < n && ((p[i] >= 'a' && p[i] <= 'z') ||
					 (p[i] >= '0' && p[i] <= '9'))))
		return 0;
	return i;
}

size_t ftpi__ftp_line_evidence(const struct ftpi__ftp *ftp, int how, char *buf, size_t cap,
			       size_t n, const char *line, size_t len)
{
	struct ftpi_span verb, arg;
	if (!ftp->cx->cfg.redact_credentials || how == FTPI__EVD_SERVER)
		return ftpi__buf_escape(buf, cap, n, line, FTPI__MIN(len, 120));
	if (how == FTPI__EVD_COMMAND && ftpi__cmd_split(line, len, &verb, &arg)) {
		int v = ftpi__verb_lookup(verb.ptr, verb.len);
		if (!ftpi__ftp_secret_arg(v, arg.ptr, arg.len))
			return ftpi__buf_escape(buf, cap, n, line, FTPI__MIN(len, 120));
		if (v == FTPI_CMD_UNKNOWN && verb_like(verb.ptr, verb.len) == 0)
			return ftpi__buf_printf(buf, cap, n, "(%zu bytes)", len);
		n = ftpi__buf_escape(buf, cap, n, verb.ptr, verb.len);
		return ftpi__buf_printf(buf, cap, n, " *** (%zu bytes)", len);
	}
	size_t w = verb_like(line, len);
	n = ftpi__buf_printf(buf, cap, n, "(%zu bytes", len);
	if (w) {
		n = ftpi__buf_printf(buf, cap, n, ", first word ");
		n = ftpi__buf_escape(buf, cap, n, line, w);
	}
	return ftpi__buf_printf(buf, cap, n, ")");
}

void ftpi__ftp_anomaly(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *kind,
		    const char *detail, int how, const char *line, size_t len)
{
	char ev_txt[300];
	struct ftpi_event ev;

	FTPI__COUNT(ftp->cx, anomalies);
	ev_txt[0] = '\0';
	if (line)
		ftpi__ftp_line_evidence(ftp, how, ev_txt, 200, 0, line, len);
	ftpi__event_of(&ev, FTPI_EV_ANOMALY, &s->fs);
	ev.u.anomaly.kind.ptr = kind;
	ev.u.anomaly.kind.len = strlen(kind);
	ev.u.anomaly.detail.ptr = detail;
	ev.u.anomaly.detail.len = strlen(detail);
	ftpi__emit(ftp->cx, &ev);
	if (s->anomaly_findings < FTPI__ANOMALY_FINDINGS_MAX) {
		s->anomaly_findings++;
		char msg[160];
		ftpi__buf_printf(msg, sizeof msg, 0, "%s", detail);
		ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_PROTOCOL_ANOMALY, NULL, NULL, msg, ev_txt);
	}
}

void ftpi__ftp_emit_login(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	struct ftpi_event ev;
	ftpi__event_of(&ev, FTPI_EV_LOGIN, &s->fs);
	ev.u.login.user.ptr = s->user;
	ev.u.login.user.len = s->user_len;
	ev.u.login.result = s->login;
	ev.u.login.anonymous = s->anonymous;
	ev.u.login.cleartext = !FTPI__UNREADABLE(s);
	ftpi__emit(ftp->cx, &ev);
}

void ftpi__session_cleartext_data(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *how)
{
	if (s->prot == 'P' || ftpi__subject_has(&s->fs, FTPI_FINDING_CLEARTEXT_DATA))
		return;
	char msg[200], evd[200];
	ftpi__buf_printf(msg, sizeof msg, 0,
			 "data transfer without PROT P: file contents and listings cross in clear "
			 "text");
	size_t n = ftpi__buf_printf(evd, sizeof evd, 0, "%s; PROT %c; ", how,
				    s->prot ? s->prot : '-');
	n = ftpi__buf_printf(evd, sizeof evd, n, "%s", ftpi__verb_name(s->xfer.verb));
	if (s->xfer.file_len) {
		n = ftpi__buf_printf(evd, sizeof evd, n, " ");
		ftpi__buf_escape(evd, sizeof evd, n, s->xfer.file, FTPI__MIN(s->xfer.file_len, 80));
	}
	ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_CLEARTEXT_DATA, NULL, NULL, msg, evd);
}

void ftpi__ftp_plaintext_auth(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *arg,
			      size_t arg_len)
{
	char msg[200], evd[300];
	size_t n = ftpi__buf_printf(msg, sizeof msg, 0,
				    "credentials sent in clear text on the control channel (user \"");
	n = ftpi__buf_escape(msg, sizeof msg, n, s->user, FTPI__MIN(s->user_len, 64));
	ftpi__buf_printf(msg, sizeof msg, n, "\")%s",
			 s->state == FTPI_SS_TLS_HANDSHAKE || s->state == FTPI_SS_TLS
				 ? " inside TLS with a NULL cipher (no encryption)"
				 : "");
	n = ftpi__buf_printf(evd, sizeof evd, 0, "USER ");
	n = ftpi__buf_escape(evd, sizeof evd, n, s->user, FTPI__MIN(s->user_len, 64));
	n = ftpi__buf_printf(evd, sizeof evd, n, " / PASS ");
	if (ftp->cx->cfg.redact_credentials)
		n = ftpi__buf_printf(evd, sizeof evd, n, "***");
	else
		n = ftpi__buf_escape(evd, sizeof evd, n, arg, FTPI__MIN(arg_len, 64));
	ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_PLAINTEXT_AUTH, NULL, NULL, msg, evd);
}

void ftpi__ftp_bounce(struct ftpi__ftp *ftp, struct ftpi_session *s, int ann,
		      const struct ftpi_endpoint *ep, const char *line, size_t len)
{
	char msg[200], evd[300];
	size_t n = ftpi__buf_printf(msg, sizeof msg, 0, "%s names ", ftpi_announce_name(ann));
	n = ftpi__buf_endpoint(msg, sizeof msg, n, ep);
	n = ftpi__buf_printf(msg, sizeof msg, n, ", not the control client ");
	char a[64];
	ftpi_addr_format(&s->cli.addr, a, sizeof a);
	if (ftpi__addr_is_private(&ep->addr) && !ftpi__addr_is_private(&s->cli.addr))
		ftpi__buf_printf(msg, sizeof msg, n,
			 "%s: the server is asked to connect elsewhere (a private "
			 "address: a client behind NAT without an FTP helper, or a "
			 "bounce)",
			 a);
	else
		ftpi__buf_printf(msg, sizeof msg, n,
			 "%s: the server is asked to connect to a third host", a);
	ftpi__buf_escape(evd, sizeof evd, 0, line, FTPI__MIN(len, 200));
	ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_BOUNCE, NULL, NULL, msg, evd);
}

void ftpi__ftp_nat_pasv(struct ftpi__ftp *ftp, struct ftpi_session *s, int ann,
			const struct ftpi_endpoint *ep, const char *text, size_t len)
{
	char msg[300], evd[300], a[64], b[64];
	ftpi_addr_format(&ep->addr, a, sizeof a);
	ftpi_addr_format(&s->srv.addr, b, sizeof b);
	size_t n = ftpi__buf_printf(msg, sizeof msg, 0,
				    "%s reply advertises %s%s, but the client reached the server at "
				    "%s: the server is behind NAT without its public (helper) "
				    "address",
				    ann == FTPI_ANN_LPSV ? "228" : "227", a,
				    ftpi__addr_is_private(&ep->addr) ? " (private)" : "", b);
	if (s->tls != FTPI_TLS_NONE)
		ftpi__buf_printf(msg, sizeof msg, n, "; under TLS no firewall can rewrite it");
	ftpi__buf_escape(evd, sizeof evd, 0, text, FTPI__MIN(len, 200));
	ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_NAT_PRIVATE_PASV, NULL, NULL, msg, evd);
}

void ftpi__ftp_pasv_policy(struct ftpi__ftp *ftp, struct ftpi_session *s,
			   const struct ftpi_endpoint *ep, const char *text, size_t len)
{
	char msg[300], evd[300];
	ftpi__buf_printf(msg, sizeof msg, 0, "passive port %u is outside the agreed range %u-%u",
			 ep->port, ftp->cx->cfg.pasv_min, ftp->cx->cfg.pasv_max);
	ftpi__buf_escape(evd, sizeof evd, 0, text, FTPI__MIN(len, 200));
	ftpi__finding(ftp->cx, &s->fs, FTPI_FINDING_PASV_PORT_OUT_OF_POLICY, NULL, NULL, msg, evd);
}

/* A final reply refused a login, or AUTH. */
void ftpi__ftp_refused(struct ftpi__ftp *ftp, struct ftpi_session *s, int kind, const char *what,
		       const char *arg, size_t arg_len, unsigned code, const char *text,
		       size_t tlen)
{
	char msg[200], evd[300];
	size_t n;
	if (kind == FTPI_FINDING_FAILED_LOGIN) {
		n = ftpi__buf_printf(msg, sizeof msg, 0, "login failed for user \"");
		n = ftpi__buf_escape(msg, sizeof msg, n, s->user, FTPI__MIN(s->user_len, 64));
		ftpi__buf_printf(msg, sizeof msg, n, "\"");
	} else {
		n = ftpi__buf_printf(msg, sizeof msg, 0, "%s", what);
		if (ftp->cx->cfg.redact_credentials &&
		    ftpi__ftp_secret_arg(FTPI_CMD_AUTH, arg, arg_len))
			n = ftpi__buf_printf(msg, sizeof msg, n, "***");
		else
			n = ftpi__buf_escape(msg, sizeof msg, n, arg, FTPI__MIN(arg_len, 32));
		ftpi__buf_printf(msg, sizeof msg, n, ": the session continues in clear text");
	}
	n = ftpi__buf_printf(evd, sizeof evd, 0, "%u ", code);
	ftpi__buf_escape(evd, sizeof evd, n, text, FTPI__MIN(tlen, 120));
	ftpi__finding(ftp->cx, &s->fs, kind, NULL, NULL, msg, evd);
}

void ftpi__session_conflict(struct ftpi__ftp *ftp, struct ftpi_session *s, int kind, int dir,
			    uint64_t off, uint32_t n, int exact)
{
	char msg[300], evd[200];
	const char *who = dir == FTPI_DIR_TO_SERVER ? "client" : "server";
	if (s->conflict_findings >= FTPI__ANOMALY_FINDINGS_MAX)
		return;
	if (kind == FTPI_FINDING_TCP_OVERLAP_CONFLICT && n && s->conflict_last_n == n &&
	    s->conflict_last_off == off && s->conflict_last_dir == dir)
		return; /* the same range again (the conflicting copy sent twice): one attempt */
	if (kind == FTPI_FINDING_TCP_OVERLAP_CONFLICT) {
		s->conflict_last_dir = (uint8_t)dir;
		s->conflict_last_n = n;
		s->conflict_last_off = off;
	}
	s->conflict_findings++;
	size_t k = ftpi__buf_printf(msg, sizeof msg, 0,
				    kind == FTPI_FINDING_TCP_OVERLAP_CONFLICT
					    ? "overlapping TCP segments of session %llu carry "
					      "different bytes"
					    : "overlapping IP fragments of session %llu carry "
					      "different bytes",
				    (unsigned long long)s->id);
	if (n)
		k = ftpi__buf_printf(msg, sizeof msg, k, " for bytes %llu-%llu of the %s's stream",
				     (unsigned long long)off, (unsigned long long)(off + n - 1),
				     who);
	else
		k = ftpi__buf_printf(msg, sizeof msg, k, " from the %s", who);
	ftpi__buf_printf(msg, sizeof msg, k,
			 ": an evasion attempt (hosts may read other bytes than this review); the "
			 "bytes seen first were kept");
	if (n && !exact)
		ftpi__buf_printf(evd, sizeof evd, 0,
				 "%s stream bytes %llu-%llu (%u bytes, delivered earlier than the bytes "
				 "kept for comparison: their hash differs)",
				 who, (unsigned long long)off, (unsigned long long)(off + n - 1), n);
	else if (n)
		ftpi__buf_printf(evd, sizeof evd, 0, "%s stream bytes %llu-%llu (%u bytes differ)",
				 who, (unsigned long long)off, (unsigned long long)(off + n - 1), n);
	else
		ftpi__buf_printf(evd, sizeof evd, 0, "%s fragments", who);
	ftpi__finding(ftp->cx, &s->fs, kind, NULL, NULL, msg, evd);
}

void ftpi__session_frag_dropped(struct ftpi__ftp *ftp, struct ftpi_session *s, int dir,
				uint32_t held, const char *why)
{
	char detail[160];
	if (s->ended)
		return;
	s->incomplete = 1;
	ftpi__buf_printf(detail, sizeof detail, 0,
			 "IP fragments from the %s (%u bytes) were dropped: %s",
			 dir == FTPI_DIR_TO_SERVER ? "client" : "server", held, why);
	ftpi__ftp_anomaly(ftp, s, "ip_fragments_dropped", detail, FTPI__EVD_SERVER, NULL, 0);
}
