/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ftp_parse.c - pure parsers for FTP control lines: command verbs (RFC 959 §4.1, RFC 2228,
 * RFC 2389, RFC 2428, RFC 3659, RFC 7151, RFC 1639 LPRT/LPSV, and common extensions), reply
 * codes (RFC 959 §4.2, multi-line form), and the data-address announcements: 227 in every form
 * servers send (with or without parentheses, any text before the numbers), 228 (LPSV), 229 with
 * any delimiter (RFC 2428 §3), PORT, EPRT |1| and |2| (RFC 2428 §2), LPRT. Text is walked as
 * (p, end) pairs; numbers are read with a bounded reader that advances only on success.
 */
#include <arpa/inet.h>

#include "ftp.h"

static const char *const verb_names[] = {
	"?",
#define FTPI__VXX(v) #v,
	FTPI_VERB_MAP(FTPI__VXX)
#undef FTPI__VXX
};

const char *ftpi__verb_name(int verb)
{
	if (verb < 0 || verb >= FTPI_CMD__COUNT)
		return "?";
	return verb_names[verb];
}

static int upc(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 32 : c;
}

int ftpi__verb_lookup(const char *p, size_t n)
{
	if (n < 3 || n > 5)
		return FTPI_CMD_UNKNOWN;
	const char c0 = (char)upc((unsigned char)p[0]);
	for (int v = 1; v < FTPI_CMD__COUNT; v++) {
		const char *name = verb_names[v];
		if (name[0] != c0) /* one compare for most names */
			continue;
		size_t k = 1;
		while (k < n && name[k] && upc((unsigned char)p[k]) == name[k])
			k++;
		if (k == n && name[k] == '\0')
			return v;
	}
	return FTPI_CMD_UNKNOWN;
}

int ftpi__verb_is_transfer(int verb)
{
	switch (verb) {
	case FTPI_CMD_LIST:
	case FTPI_CMD_NLST:
	case FTPI_CMD_MLSD:
	case FTPI_CMD_RETR:
	case FTPI_CMD_STOR:
	case FTPI_CMD_STOU:
	case FTPI_CMD_APPE:
		return 1;
	default:
		return 0;
	}
}

static int is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

int ftpi__cmd_split(const char *line, size_t len, struct ftpi_span *verb, struct ftpi_span *arg)
{
	size_t i = 0;
	while (i < len && i < 8 && (is_alpha((unsigned char)line[i]) || is_digit((unsigned char)line[i])))
		i++;
	if (i < 3 || i > 5 || (i < len && line[i] != ' '))
		return 0; /* RFC 959 verbs are 3 or 4 letters; a few extensions have 5 */
	verb->ptr = line;
	verb->len = i;
	if (i < len)
		i++; /* one space */
	arg->ptr = line + i;
	arg->len = len - i;
	/* trailing spaces are not part of the argument (some clients send "PASV ") */
	while (arg->len && arg->ptr[arg->len - 1] == ' ')
		arg->len--;
	return 1;
}

int ftpi__reply_parse(const char *line, size_t len, unsigned *code, int *cont,
		      struct ftpi_span *text)
{
	if (len < 3 || !is_digit((unsigned char)line[0]) || !is_digit((unsigned char)line[1]) ||
	    !is_digit((unsigned char)line[2]))
		return 0;
	if (line[0] < '1' || line[0] > '6')
		return 0;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return 0;
	*code = (unsigned)((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
	*cont = len > 3 && line[3] == '-';
	text->ptr = line + (len > 3 ? 4 : 3);
	text->len = len > 3 ? len - 4 : 0;
	return 1;
}

/* Reads a decimal number of at most max; advances *pp only on success. */
static int read_num(const char **pp, const char *end, unsigned max, unsigned *out)
{
	const char *p = *pp;
	unsigned v = 0;
	int digits = 0;
	while (p < end && is_digit((unsigned char)*p)) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max || ++digits > 10)
			return 0;
		p++;
	}
	if (digits == 0)
		return 0;
	*pp = p;
	*out = v;
	return 1;
}

/* h1,h2,h3,h4,p1,p2 at p: six numbers separated by commas (spaces tolerated after commas). */
static int read_hostport(const char *p, const char *end, struct ftpi_endpoint *ep)
{
	unsigned v[6];
	for (int i = 0; i < 6; i++) {
		if (!read_num(&p, end, 255, &v[i]))
			return 0;
		if (i < 5) {
			while (p < end && *p == ' ')
				p++;
			if (p >= end || *p != ',')
				return 0;
			p++;
			while (p < end && *p == ' ')
				p++;
		}
	}
	memset(ep, 0, sizeof *ep);
	ep->addr.family = 4;
	for (int i = 0; i < 4; i++)
		ep->addr.ip[i] = (uint8_t)v[i];
	ep->port = (uint16_t)(v[4] * 256 + v[5]);
	return 1;
}

int ftpi__parse_227(const char *text, size_t len, struct ftpi_endpoint *ep)
{
	const char *end = text + len;
	/* The numbers may follow "(" or any text (RFC 1123 §4.1.2.6): try each digit run. */
	for (const char *p = text; p < end; p++) {
		if (!is_digit((unsigned char)*p))
			continue;
		if (p > text && is_digit((unsigned char)p[-1]))
			continue;
		if (read_hostport(p, end, ep))
			return 1;
	}
	return 0;
}

int ftpi__parse_port(const char *arg, size_t len, struct ftpi_endpoint *ep)
{
	const char *p = arg, *end = arg + len;
	while (p < end && *p == ' ')
		p++;
	return read_hostport(p, end, ep);
}

/* RFC 2428 §3: "(<d><d><d><port><d>)" with any printable delimiter d (33-126). */
int ftpi__parse_229(const char *text, size_t len, struct ftpi_endpoint *ep)
{
	const char *end = text + len;
	for (const char *p = text; p + 5 <= end; p++) {
		if (*p != '(')
			continue;
		const char *q = p + 1;
		char d = *q;
		if ((unsigned char)d < 33 || (unsigned char)d > 126 || is_digit((unsigned char)d))
			continue;
		if (q + 3 > end || q[1] != d || q[2] != d)
			continue;
		q += 3;
		unsigned port;
		if (!read_num(&q, end, 65535, &port) || q >= end || *q != d)
			continue;
		memset(ep, 0, sizeof *ep); /* family 0: the control connection's address */
		ep->port = (uint16_t)port;
		return 1;
	}
	return 0;
}

/* RFC 2428 §2: EPRT <d><af><d><addr><d><port><d>. */
int ftpi__parse_eprt(const char *arg, size_t len, struct ftpi_endpoint *ep)
{
	const char *p = arg, *end = arg + len;
	char a[64];
	while (p < end && *p == ' ')
		p++;
	if (p >= end)
		return 0;
	char d = *p++;
	if ((unsigned char)d < 33 || (unsigned char)d > 126 || is_digit((unsigned char)d))
		return 0;
	unsigned af, port;
	if (!read_num(&p, end, 2, &af) || (af != 1 && af != 2) || p >= end || *p != d)
		return 0;
	p++;
	const char *as = p;
	while (p < end && *p != d)
		p++;
	if (p >= end || (size_t)(p - as) >= sizeof a || p == as)
		return 0;
	memcpy(a, as, (size_t)(p - as));
	a[p - as] = '\0';
	p++;
	if (!read_num(&p, end, 65535, &port) || p >= end || *p != d)
		return 0;
	memset(ep, 0, sizeof *ep);
	if (af == 1) {
		if (inet_pton(AF_INET, a, ep->addr.ip) != 1)
			return 0;
		ep->addr.family = 4;
	} else {
		if (inet_pton(AF_INET6, a, ep->addr.ip) != 1)
			return 0;
		ep->addr.family = 6;
	}
	ep->port = (uint16_t)port;
	return 1;
}

/* RFC 1639: af,hal,h1..hN,pal,p1..pN (af 4 with hal 4, or af 6 with hal 16; pal 2). */
static int read_long_hostport(const char *p, const char *end, struct ftpi_endpoint *ep)
{
	unsigned v[3 + 16 + 2];
	unsigned af, hal, pal;
	size_t n = 0;
	if (!read_num(&p, end, 255, &af))
		return 0;
	if (p >= end || *p != ',')
		return 0;
	p++;
	if (!read_num(&p, end, 255, &hal) || p >= end || *p != ',')
		return 0;
	p++;
	if (!((af == 4 && hal == 4) || (af == 6 && hal == 16)))
		return 0;
	for (n = 0; n < hal; n++) {
		if (!read_num(&p, end, 255, &v[n]) || p >= end || *p != ',')
			return 0;
		p++;
	}
	if (!read_num(&p, end, 255, &pal) || pal != 2 || p >= end || *p != ',')
		return 0;
	p++;
	unsigned p1, p2;
	if (!read_num(&p, end, 255, &p1) || p >= end || *p != ',')
		return 0;
	p++;
	if (!read_num(&p, end, 255, &p2))
		return 0;
	memset(ep, 0, sizeof *ep);
	ep->addr.family = af == 4 ? 4 : 6;
	for (size_t i = 0; i < hal; i++)
		ep->addr.ip[i] = (uint8_t)v[i];
	ep->port = (uint16_t)(p1 * 256 + p2);
	return 1;
}

int ftpi__parse_lprt(const char *arg, size_t len, struct ftpi_endpoint *ep)
{
	const char *p = arg, *end = arg + len;
	while (p < end && *p == ' ')
		p++;
	return read_long_hostport(p, end, ep);
}

int ftpi__parse_228(const char *text, size_t len, struct ftpi_endpoint *ep)
{
	const char *end = text + len;
	for (const char *p = text; p < end; p++) {
		if (!is_digit((unsigned char)*p) || (p > text && is_digit((unsigned char)p[-1])))
			continue;
		if (read_long_hostport(p, end, ep))
			return 1;
	}
	return 0;
}
