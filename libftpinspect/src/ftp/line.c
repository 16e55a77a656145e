/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ftp_line.c - the control-channel line framer: a resumable push parser over arbitrary slices of
 * one direction. It strips Telnet commands (RFC 854: IAC IAC is a data 0xff; IAC WILL/WONT/DO/
 * DONT x and IAC SB ... IAC SE are dropped; other IAC x pairs such as the IP/DM of an ABOR are
 * dropped), accepts CR LF and a bare LF, holds at most max_line_len bytes; an overlong line
 * keeps its first max_line_len bytes, counts the rest up to the next LF and is delivered once
 * (truncated, with its full length) at that LF or when the stream ends; after a gap it drops the
 * partial line and resynchronises at the next LF, holding the first bytes after the gap (probe)
 * so its caller can judge, however they were split, whether they start a line. It knows nothing
 * of FTP verbs or replies.
 */
#include "internal.h"
#include "ftp.h"

enum { IAC_NONE = 0, IAC_SEEN, IAC_OPT, IAC_SB, IAC_SB_IAC };

#define LINE_BUF_START 256

void ftpi__line_release(struct ftpi__ctx *cx, struct ftpi_line *l)
{
	if (l->buf)
		ftpi__free(cx, FTPI__POOL_SESSION, l->buf, l->cap);
	memset(l, 0, sizeof *l);
}

/* Doubles the buffer, up to max_line_len; 0 when it cannot (cap reached or memory refused). */
static int grow(struct ftpi__ctx *cx, struct ftpi_line *l)
{
	uint32_t ncap = l->cap * 2;
	if (l->cap >= cx->cfg.max_line_len)
		return 0;
	if (ncap > cx->cfg.max_line_len)
		ncap = cx->cfg.max_line_len;
	char *nb = ftpi__alloc(cx, FTPI__POOL_SESSION, ncap);
	if (nb == NULL)
		return 0;
	memcpy(nb, l->buf, l->len);
	ftpi__free(cx, FTPI__POOL_SESSION, l->buf, l->cap);
	l->buf = nb;
	l->cap = ncap;
	return 1;
}

void ftpi__line_gap(struct ftpi_line *l)
{
	l->len = 0;
	l->iac = IAC_NONE;
	l->discard = 0;
	l->resync = 1;
	l->probe = 1;
}

/* Resynchronising: the byte is held while the caller may still judge the probe, else dropped. */
static void probe_keep(struct ftpi_line *l, const uint8_t *p, size_t n)
{
	size_t room = FTPI__MIN((size_t)FTPI__LINE_PROBE, (size_t)l->cap);
	if (!l->probe || l->len >= room)
		return;
	n = FTPI__MIN(n, room - l->len);
	memcpy(l->buf + l->len, p, n);
	l->len += (uint32_t)n;
}

static int emit_line(struct ftpi__ctx *cx, struct ftpi_line *l, int truncated, ftpi_line_cb cb,
		     void *ctx)
{
	size_t n = l->len;
	if (!truncated && n && l->buf[n - 1] == '\r')
		n--;
	l->len = 0;
	FTPI__COUNT(cx, ftp_lines);
	int r = cb(ctx, l->buf, n, truncated);
	l->over = 0;
	l->unterminated = 0;
	return r;
}

void ftpi__line_finish(struct ftpi__ctx *cx, struct ftpi_line *l, ftpi_line_cb cb, void *ctx)
{
	if (!l->discard || l->buf == NULL)
		return;
	l->discard = 0;
	l->unterminated = 1;
	l->len = FTPI__MIN(l->len, l->cap);
	emit_line(cx, l, 1, cb, ctx);
}

size_t ftpi__line_feed(struct ftpi__ctx *cx, struct ftpi_line *l, const uint8_t *p, size_t n,
		       ftpi_line_cb cb, void *ctx)
{
	const uint32_t cap = cx->cfg.max_line_len;
	size_t i = 0;

	if (l->buf == NULL) {
		l->cap = FTPI__MIN(LINE_BUF_START, cap);
		l->buf = ftpi__alloc(cx, FTPI__POOL_SESSION, l->cap);
		if (l->buf == NULL)
			return (size_t)-1;
	}
	while (i < n) {
		uint8_t c = p[i++];

		switch (l->iac) {
		case IAC_SEEN:
			if (c == 0xff) { /* escaped 0xff: a data byte */
				l->iac = IAC_NONE;
				break;
			}
			if (c >= 251 && c <= 254) /* WILL WONT DO DONT: one option byte follows */
				l->iac = IAC_OPT;
			else if (c == 250)
				l->iac = IAC_SB;
			else
				l->iac = IAC_NONE; /* IP, DM, AYT, ...: two bytes in all */
			continue;
		case IAC_OPT:
			l->iac = IAC_NONE;
			continue;
		case IAC_SB:
			if (c == 0xff)
				l->iac = IAC_SB_IAC;
			continue;
		case IAC_SB_IAC:
			l->iac = c == 240 ? IAC_NONE : IAC_SB; /* SE ends it */
			continue;
		default:
			if (c == 0xff) {
				l->iac = IAC_SEEN;
				continue;
			}
			if (c != '\n') {
				/* Fast path: the run of plain bytes up to the next LF or IAC goes in one
				 * copy (or is skipped at once while discarding). */
				const uint8_t *start = p + i - 1, *end = p + n;
				const uint8_t *lf = memchr(start, '\n', (size_t)(end - start));
				const uint8_t *stop = lf ? lf : end;
				const uint8_t *iac = memchr(start, 0xff, (size_t)(stop - start));
				if (iac)
					stop = iac;
				size_t run = (size_t)(stop - start);
				if (l->resync || l->discard) {
					if (l->discard)
						l->over += run;
					else
						probe_keep(l, start, run);
					i += run - 1;
					continue;
				}
				while (run > l->cap - l->len && grow(cx, l))
					;
				size_t room = l->cap - l->len;
				if (run > room)
					run = room; /* the byte at the cap takes the slow path below */
				if (run > 0) {
					memcpy(l->buf + l->len, start, run);
					l->len += (uint32_t)run;
					i += run - 1;
					continue;
				}
			}
		}
		if (c == '\n') {
			if (l->discard) { /* the end of an overlong line: delivered now, with its length */
				l->discard = 0;
				l->resync = 0;
				if (emit_line(cx, l, 1, cb, ctx))
					return i;
				continue;
			}
			if (l->resync) {
				l->resync = 0;
				l->probe = 0;
				l->len = 0;
				continue;
			}
			if (emit_line(cx, l, 0, cb, ctx))
				return i;
			continue;
		}
		if (l->resync) {
			probe_keep(l, &c, 1);
			continue;
		}
		if (l->discard) {
			l->over++;
			continue;
		}
		if (l->len == l->cap && !grow(cx, l)) {
			/* overlong: the first cap bytes are kept, the rest counted up to the LF */
			FTPI__COUNT(cx, ftp_overlong_lines);
			l->discard = 1;
			l->over = (uint64_t)l->len + 1;
			continue;
		}
		l->buf[l->len++] = (char)c;
	}
	return i;
}
