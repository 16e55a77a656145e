/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * command.c - client commands on the control channel (RFC 959 §4.1, RFC 2228 §3, RFC 2428 §2,
 * RFC 1639): the command event, the queue of commands waiting for their replies (pipelining
 * allowed), and what a command does before its reply: the user name, clear-text credentials,
 * active-mode announcements, PROT's argument, the transfer command in flight.
 */
#include "session.h"

static int upc_c(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 32 : c;
}

static void upper_copy(char *dst, size_t cap, const char *src, size_t n)
{
	size_t i;
	for (i = 0; i < n && i + 1 < cap; i++)
		dst[i] = (char)upc_c((unsigned char)src[i]);
	dst[i] = '\0';
}

static int is_anonymous(const char *u, size_t n)
{
	return (n == 9 && strncasecmp(u, "anonymous", 9) == 0) ||
	       (n == 3 && strncasecmp(u, "ftp", 3) == 0);
}

static void emit_command(struct ftpi__ftp *ftp, struct ftpi_session *s, int v,
			 const struct ftpi_span *verb, const struct ftpi_span *arg)
{
	struct ftpi_event ev;
	char vbuf[8];

	if (ftpi__emit_masked(ftp->cx, FTPI_EV_COMMAND))
		return;
	upper_copy(vbuf, sizeof vbuf, verb->ptr, verb->len);
	ftpi__event_of(&ev, FTPI_EV_COMMAND, &s->fs);
	ev.u.command.verb.ptr = vbuf;
	ev.u.command.verb.len = strlen(vbuf);
	ev.u.command.arg = *arg;
	if (ftp->cx->cfg.redact_credentials && ftpi__ftp_secret_arg(v, arg->ptr, arg->len)) {
		ev.u.command.arg.ptr = "***";
		ev.u.command.arg.len = 3;
	}
	ftpi__emit(ftp->cx, &ev);
}

/* Doubles the ring of pending commands (up to max_pending_commands), oldest first in the new one;
 * -1 when the memory cap refuses it (the caller then drops the oldest, as at the max). */
static int pend_grow(struct ftpi__ftp *ftp, struct ftpi_session *s)
{
	uint16_t n = (uint16_t)FTPI__MIN((unsigned)s->pend_cap * 2u,
					 (unsigned)ftp->cx->cfg.max_pending_commands);
	struct ftpi_pending *p = ftpi__alloc(ftp->cx, FTPI__POOL_SESSION, n * sizeof *p);

	if (p == NULL)
		return -1;
	for (uint16_t k = 0; k < s->pend_count; k++)
		p[k] = s->pend[(s->pend_head + k) % s->pend_cap];
	ftpi__free(ftp->cx, FTPI__POOL_SESSION, s->pend, s->pend_cap * sizeof *p);
	s->pend = p;
	s->pend_cap = n;
	s->pend_head = 0;
	return 0;
}

/* Queues the command for its reply; a client that never reads replies loses the oldest. */
static struct ftpi_pending *queue_pending(struct ftpi__ftp *ftp, struct ftpi_session *s, int v,
					  const struct ftpi_span *arg)
{
	struct ftpi_pending *p;
	if (s->pend_count == s->pend_cap && s->pend_cap < ftp->cx->cfg.max_pending_commands)
		(void)pend_grow(ftp, s);
	if (s->pend_count == s->pend_cap) {
		s->pend_head = (uint16_t)((s->pend_head + 1) % s->pend_cap);
		s->pend_count--;
		FTPI__COUNT(ftp->cx, ftp_pending_dropped);
	}
	p = &s->pend[(s->pend_head + s->pend_count) % s->pend_cap];
	s->pend_count++;
	memset(p, 0, offsetof(struct ftpi_pending, arg));
	p->verb = (uint8_t)v;
	p->frame = ftp->cx->frame;
	p->arg_len = (uint16_t)FTPI__MIN(arg->len, ftp->cx->cfg.max_arg_len);
	memcpy(p->arg, arg->ptr, p->arg_len);
	return p;
}

/* PORT, EPRT, LPRT: the client asks the server to connect back. */
static void announce_active(struct ftpi__ftp *ftp, struct ftpi_session *s, int v,
			    const struct ftpi_span *arg, const char *line, size_t len)
{
	static const struct {
		uint8_t verb, ann;
		int (*parse)(const char *, size_t, struct ftpi_endpoint *);
		const char *kind, *what;
	} av[] = {
		{FTPI_CMD_PORT, FTPI_ANN_PORT, ftpi__parse_port, "bad_port",
		 "PORT argument does not parse"},
		{FTPI_CMD_EPRT, FTPI_ANN_EPRT, ftpi__parse_eprt, "bad_eprt",
		 "EPRT argument does not parse"},
		{FTPI_CMD_LPRT, FTPI_ANN_LPRT, ftpi__parse_lprt, "bad_lprt",
		 "LPRT argument does not parse"},
	};
	struct ftpi_endpoint ep;
	for (size_t i = 0; i < FTPI__ARRAY_LEN(av); i++) {
		if (av[i].verb != v)
			continue;
		if (!av[i].parse(arg->ptr, arg->len, &ep)) {
			ftpi__ftp_anomaly(ftp, s, av[i].kind, av[i].what, FTPI__EVD_COMMAND, line,
					  len);
			continue;
		}
		/* Naming another host than the control client is a bounce, unless the data
		 * connection then comes to the control client on the announced port (the address
		 * was rewritten on the way): the expect stage decides, with this line as evidence. */
		if (s->server)
			s->server->active_count++;
		ftp->hooks.announce(ftp->hooks.user, s, av[i].ann, 1, &ep, 0, line, len);
	}
}

static void command_effects(struct ftpi__ftp *ftp, struct ftpi_session *s, int v,
			    const struct ftpi_span *arg, struct ftpi_pending *p, const char *line,
			    size_t len)
{
	switch (v) {
	case FTPI_CMD_USER:
		s->user_len = (uint16_t)FTPI__MIN(arg->len, ftp->cx->cfg.max_user_len);
		memcpy(s->user, arg->ptr, s->user_len);
		s->anonymous = is_anonymous(arg->ptr, arg->len);
		break;
	case FTPI_CMD_PASS:
		if (FTPI__UNREADABLE(s))
			break;
		/* anonymous: no credential crosses (anonymous_login says it, at its 230) */
		if (!s->anonymous && !ftpi__subject_has(&s->fs, FTPI_FINDING_PLAINTEXT_AUTH)) {
			ftpi__ftp_plaintext_auth(ftp, s, arg->ptr, arg->len);
			if (s->server)
				s->server->clear_logins++;
		}
		s->pass_clear = 1;
		break;
	case FTPI_CMD_PORT:
	case FTPI_CMD_EPRT:
	case FTPI_CMD_LPRT:
		s->announced = 1;
		announce_active(ftp, s, v, arg, line, len);
		break;
	case FTPI_CMD_EPSV:
		if (arg->len == 3 && strncasecmp(arg->ptr, "ALL", 3) == 0)
			s->epsv_all = 1;
		s->announced = 1;
		break;
	case FTPI_CMD_PASV:
	case FTPI_CMD_LPSV:
		s->announced = 1;
		break;
	case FTPI_CMD_PROT: {
		/* RFC 2228 §3: the level is one of C, S, E, P. Any other byte is not a level, even
		 * if a server accepts it, and must not reach an output as one. */
		int level = arg->len >= 1 ? upc_c((unsigned char)arg->ptr[0]) : 0;
		if (level != 0 && memchr("CSEP", level, 4) != NULL)
			p->prot = (uint8_t)level;
		break;
	}
	default:
		if (!ftpi__verb_is_transfer(v))
			break;
		if (!s->announced && !s->midstream && !FTPI__UNREADABLE(s) &&
		    (v == FTPI_CMD_RETR || v == FTPI_CMD_STOR || v == FTPI_CMD_STOU ||
		     v == FTPI_CMD_APPE))
			ftpi__ftp_anomaly(ftp, s, "file_before_port",
					  "file transfer before any PORT/EPRT/PASV/EPSV: the data "
					  "connection can only go to the default port (RFC 959 section 3.2)",
					  FTPI__EVD_COMMAND, line, len);
		memset(&s->xfer, 0, sizeof s->xfer);
		s->xfer.verb = (uint8_t)v;
		s->xfer.state = 1;
		s->xfer.file_len = (uint16_t)FTPI__MIN(arg->len, ftp->cx->cfg.max_arg_len);
		memcpy(s->xfer.file, arg->ptr, s->xfer.file_len);
		ftp->hooks.xfer(ftp->hooks.user, s);
		break;
	}
}

void ftpi__ftp_command(struct ftpi__ftp *ftp, struct ftpi_session *s, const char *line, size_t len,
		       int truncated)
{
	struct ftpi_span verb, arg;

	s->commands++;
	FTPI__COUNT(ftp->cx, ftp_commands);
	(void)truncated; /* reported with its length by the session (overlong_command) */
	if (len == 0)
		return;
	if (!ftpi__cmd_split(line, len, &verb, &arg)) {
		ftpi__ftp_anomaly(ftp, s, "garbage_command", "not an FTP command line",
				  FTPI__EVD_UNPARSED, line, len);
		/* the server answers it too (500): it waits for its reply like any command */
		struct ftpi_span none = {"", 0};
		queue_pending(ftp, s, FTPI_CMD_UNKNOWN, &none);
		return;
	}
	int v = ftpi__verb_lookup(verb.ptr, verb.len);
	emit_command(ftp, s, v, &verb, &arg);
	struct ftpi_pending *p = queue_pending(ftp, s, v, &arg);
	command_effects(ftp, s, v, &arg, p, line, len);
}
