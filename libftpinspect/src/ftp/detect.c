/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * detect.c - does a stream speak FTP? Tests on the first bytes of a direction: a reply code from
 * the responder, a known verb from the initiator; and, after a gap, whether the bytes plainly
 * start a line so the framer can resume there.
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
