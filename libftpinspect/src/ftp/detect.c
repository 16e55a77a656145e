/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * detect.c - does a stream speak FTP? Tests on the first bytes of a direction: a reply code from
 * the responder, a known verb from the initiator; and, after a gap, whether the bytes plainly
 * start a line so the framer can resume there; and, for a connection picked up mid-stream on a
 * port that is not FTP's, whether its first exchanges carry evidence that only FTP gives
 * (RFC 959 §4.2, §5.4: the replies each command may get).
 */
#include "ftp.h"

static int is_code(const uint8_t *p)
{
	return p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
	       p[2] <= '9' && (p[3] == ' ' || p[3] == '-');
}

int ftpi__ftp_looks_like_reply(const uint8_t *p, size_t n)
{
	return n >= 4 && is_code(p);
}

int ftpi__ftp_looks_like_command(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && i < 6 && ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')))
		i++;
	if (i < 3 || i > 5 || i >= n)
		return 0;
	if (p[i] != ' ' && p[i] != '\r' && p[i] != '\n')
		return 0;
	return ftpi__verb_lookup((const char *)p, i) != FTPI_CMD_UNKNOWN;
}

int ftpi__ftp_starts_line(int dir, const uint8_t *p, size_t n)
{
	if (dir == FTPI_DIR_TO_CLIENT)
		return ftpi__ftp_looks_like_reply(p, n);
	size_t i = 0;
	while (i < n && i < 6 && ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z'))
		i++;
	return i >= 3 && i <= 4 && i < n && (p[i] == ' ' || p[i] == '\r') &&
	       ftpi__verb_lookup((const char *)p, i) != FTPI_CMD_UNKNOWN;
}

/* A reply code that FTP gives to this verb and SMTP, NNTP and POP3 never give to theirs (they
 * share verbs such as LIST, STAT, QUIT, HELP and MODE with FTP, and codes such as 200, 211,
 * 215, 221, 230 and 250: a pair needs both). The address announcements count when they parse:
 * PORT/EPRT/LPRT accepted with 200, PASV/EPSV/LPSV answered with 227/229/228. */
static int ftp_only_pair(int verb, int announced, unsigned code, const struct ftpi_span *text)
{
	struct ftpi_endpoint ep;
	switch (verb) {
	case FTPI_CMD_PORT:
	case FTPI_CMD_EPRT:
	case FTPI_CMD_LPRT:
		return announced && code == 200;
	case FTPI_CMD_PASV:
		return code == 227 && ftpi__parse_227(text->ptr, text->len, &ep);
	case FTPI_CMD_EPSV:
		return code == 229 && ftpi__parse_229(text->ptr, text->len, &ep);
	case FTPI_CMD_LPSV:
		return code == 228 && ftpi__parse_228(text->ptr, text->len, &ep);
	case FTPI_CMD_USER:
		return code == 331 || code == 332 || code == 230;
	case FTPI_CMD_PASS:
	case FTPI_CMD_ACCT:
		return code == 230 || code == 202 || code == 332;
	case FTPI_CMD_RETR:
	case FTPI_CMD_STOR:
	case FTPI_CMD_STOU:
	case FTPI_CMD_APPE:
	case FTPI_CMD_LIST:
	case FTPI_CMD_NLST:
	case FTPI_CMD_MLSD:
		return code == 125 || code == 150 || code == 226 || code == 425 || code == 426;
	case FTPI_CMD_REST:
	case FTPI_CMD_RNFR:
		return code == 350;
	case FTPI_CMD_SIZE:
	case FTPI_CMD_MDTM:
		return code == 213;
	case FTPI_CMD_PWD:
	case FTPI_CMD_XPWD:
	case FTPI_CMD_MKD:
	case FTPI_CMD_XMKD:
		return code == 257;
	case FTPI_CMD_AUTH:
		return code == 234;
	case FTPI_CMD_CWD:
	case FTPI_CMD_XCWD:
	case FTPI_CMD_CDUP:
	case FTPI_CMD_DELE:
	case FTPI_CMD_RMD:
	case FTPI_CMD_XRMD:
	case FTPI_CMD_RNTO:
		return code == 250;
	case FTPI_CMD_TYPE:
		return code == 200;
	case FTPI_CMD_SYST:
		return code == 215;
	case FTPI_CMD_FEAT:
		return code == 211;
	default:
		return 0;
	}
}

#define PENDING_MAX 8

/* The walk over a mid-stream exchange: the FTP verbs not yet answered, oldest first (with
 * whether their address parsed), and the code of the multi-line reply being read. */
struct walk {
	int pend[PENDING_MAX];
	uint8_t announced[PENDING_MAX];
	size_t n_pend;
	unsigned multi;
};

static int is_dot(const char *p, size_t n)
{
	return n == 1 && p[0] == '.';
}

static void pop(struct walk *w)
{
	memmove(w->pend, w->pend + 1, (w->n_pend - 1) * sizeof w->pend[0]);
	memmove(w->announced, w->announced + 1, w->n_pend - 1);
	w->n_pend--;
}

static int client_line(struct walk *w, const char *p, size_t n)
{
	struct ftpi_span verb, arg;
	struct ftpi_endpoint ep;
	if (is_dot(p, n))
		return -1;
	if (!ftpi__cmd_split(p, n, &verb, &arg))
		return 0;
	int v = ftpi__verb_lookup(verb.ptr, verb.len);
	if (v == FTPI_CMD_UNKNOWN)
		return 0;
	if (w->n_pend == PENDING_MAX)
		pop(w);
	w->pend[w->n_pend] = v;
	w->announced[w->n_pend++] =
		(uint8_t)((v == FTPI_CMD_PORT && ftpi__parse_port(arg.ptr, arg.len, &ep)) ||
			  (v == FTPI_CMD_EPRT && ftpi__parse_eprt(arg.ptr, arg.len, &ep)) ||
			  (v == FTPI_CMD_LPRT && ftpi__parse_lprt(arg.ptr, arg.len, &ep)));
	return 0;
}

static int server_line(struct walk *w, const char *p, size_t n)
{
	unsigned code;
	int cont;
	struct ftpi_span text;
	if (is_dot(p, n))
		return -1;
	if (!ftpi__reply_parse(p, n, &code, &cont, &text))
		return 0; /* a line of a multi-line reply, or text that is no reply */
	if (w->multi) { /* inside a multi-line reply: only its last line ends it */
		if (code == w->multi && !cont)
			w->multi = 0;
		return 0;
	}
	if (cont)
		w->multi = code;
	if (w->n_pend == 0)
		return 0; /* the answer to a command sent before the capture began */
	if (ftp_only_pair(w->pend[0], w->announced[0], code, &text))
		return 1;
	if (code >= 200) /* a final reply answers the oldest command */
		pop(w);
	return 0;
}

int ftpi__ftp_midstream_evidence(const struct ftpi_sniff_view *v)
{
	struct walk w;
	size_t cur[2] = {0, 0};
	int d = v->first;
	memset(&w, 0, sizeof w);
	/* the turns in arrival order, then what is left of each direction */
	for (size_t k = 0; k < v->n_turns + 2; k++, d = !d) {
		size_t end = k < v->n_turns ? FTPI__MIN((size_t)v->turn[k], v->len[d]) : v->len[d];
		while (cur[d] < end) {
			const char *line = (const char *)v->buf[d] + cur[d];
			const char *lf = memchr(line, '\n', end - cur[d]);
			if (lf == NULL)
				break; /* the rest of the line comes in a later turn */
			size_t n = (size_t)(lf - line);
			cur[d] += n + 1;
			if (n && line[n - 1] == '\r')
				n--;
			int r = d == FTPI_DIR_TO_SERVER ? client_line(&w, line, n)
							 : server_line(&w, line, n);
			if (r)
				return r;
		}
	}
	return 0;
}
