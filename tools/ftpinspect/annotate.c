/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * annotate.c - for `-w`: recognises the packet that opens an announced data connection, so the
 * pcapng output can carry "ftpinspect: data connection opened ..." on it. The engine reports a
 * data connection (FTPI_EV_DATA) only when it has ended, after its first packet was written, so
 * this unit remembers the targets of the engine's EXPECT events (bounded table, oldest replaced)
 * and looks at each packet's link, IP and TCP headers for a SYN (without ACK) to one of them.
 * Reads are bounds-checked against caplen; anything it does not understand is simply not
 * annotated. It is not a decoder for analysis: the engine stays the only one of those.
 * It also words the comments (findings, announcements, data connections) for ftpinspect -w
 * and the extcap, which both write packets through annot_begin/annot_event/annot_write.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int be16(const uint8_t *p)
{
	return (p[0] << 8) | p[1];
}

/* Offset of the IP header and its version (4/6), or -1. */
static long ip_offset(const struct ftpi_packet *pkt, int *version)
{
	const uint8_t *d = pkt->data;
	uint32_t len = pkt->caplen;
	long off;
	int type;

	switch (pkt->linktype) {
	case 1: /* Ethernet, with any number of 802.1Q/802.1ad tags */
		if (len < 14)
			return -1;
		type = be16(d + 12);
		off = 14;
		while ((type == 0x8100 || type == 0x88a8) && len >= (uint32_t)off + 4) {
			type = be16(d + off + 2);
			off += 4;
		}
		break;
	case 113: /* Linux cooked v1 */
		if (len < 16)
			return -1;
		type = be16(d + 14);
		off = 16;
		break;
	case 276: /* Linux cooked v2 */
		if (len < 20)
			return -1;
		type = be16(d);
		off = 20;
		break;
	case 0:	  /* BSD loopback (NULL) */
	case 108: /* OpenBSD loopback */
		off = 4;
		type = 0;
		break;
	case 12:
	case 14:
	case 101: /* raw IP */
		off = 0;
		type = 0;
		break;
	default:
		return -1;
	}
	if (type == 0x0800)
		*version = 4;
	else if (type == 0x86dd)
		*version = 6;
	else if (type == 0 && len > (uint32_t)off)
		*version = d[off] >> 4;
	else
		return -1;
	return off;
}

/* Fills the destination endpoint of a TCP SYN (no ACK); 0, or -1 when it is not one. */
static int syn_destination(const struct ftpi_packet *pkt, struct ftpi_endpoint *dst,
			   struct ftpi_endpoint *src)
{
	const uint8_t *d = pkt->data;
	uint32_t len = pkt->caplen;
	int version = 0;
	long off = ip_offset(pkt, &version);
	uint32_t tcp;

	if (off < 0)
		return -1;
	memset(dst, 0, sizeof *dst);
	memset(src, 0, sizeof *src);
	if (version == 4) {
		if (len < (uint32_t)off + 20 || (d[off] >> 4) != 4 || d[off + 9] != 6)
			return -1;
		if ((be16(d + off + 6) & 0x1fff) != 0) /* not the first fragment */
			return -1;
		tcp = (uint32_t)off + (uint32_t)(d[off] & 0x0f) * 4u;
		src->addr.family = dst->addr.family = 4;
		memcpy(src->addr.ip, d + off + 12, 4);
		memcpy(dst->addr.ip, d + off + 16, 4);
	} else if (version == 6) {
		if (len < (uint32_t)off + 40 || (d[off] >> 4) != 6 || d[off + 6] != 6)
			return -1;
		tcp = (uint32_t)off + 40u;
		src->addr.family = dst->addr.family = 6;
		memcpy(src->addr.ip, d + off + 8, 16);
		memcpy(dst->addr.ip, d + off + 24, 16);
	} else {
		return -1;
	}
	if (len < tcp + 14)
		return -1;
	if ((d[tcp + 13] & 0x12) != 0x02) /* SYN without ACK */
		return -1;
	src->port = (uint16_t)be16(d + tcp);
	dst->port = (uint16_t)be16(d + tcp + 2);
	return 0;
}

static int ep_eq(const struct ftpi_endpoint *a, const struct ftpi_endpoint *b)
{
	return a->port == b->port && a->addr.family == b->addr.family &&
	       memcmp(a->addr.ip, b->addr.ip, a->addr.family == 4 ? 4 : 16) == 0;
}

static void annot_expect(struct annot *t, const struct ftpi_event *ev)
{
	struct annot_exp *x;
	size_t slot = t->n;

	if (t->n >= ANNOT_MAX) {
		/* Replace the oldest. */
		slot = 0;
		for (size_t i = 1; i < t->n; i++)
			if (t->e[i].ts_us < t->e[slot].ts_us)
				slot = i;
	} else {
		t->n++;
	}
	x = &t->e[slot];
	x->session = ev->session_id;
	x->target = ev->u.expect.target;
	x->reached = ev->u.expect.reached;
	x->has_reached = ev->u.expect.has_reached;
	x->active = ev->u.expect.active;
	x->by = ev->u.expect.announced_by;
	x->ts_us = ev->ts_us;
}

static int annot_packet(struct annot *t, const struct ftpi_packet *pkt, char *comment, size_t len)
{
	struct ftpi_endpoint dst, src;
	char a[80], b[80];

	if (t->n == 0 || syn_destination(pkt, &dst, &src) != 0)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		struct annot_exp *x = &t->e[i];
		if (!ep_eq(&dst, &x->target) && !(x->has_reached && ep_eq(&dst, &x->reached)))
			continue;
		const char *by = ftpi_announce_name(x->by);
		snprintf(comment, len,
			 "ftpinspect: data connection opened session %llu %s %s -> %s (announced "
			 "by %s)",
			 (unsigned long long)x->session, x->active ? "active" : "passive",
			 cli_endpoint(a, sizeof a, &src), cli_endpoint(b, sizeof b, &dst),
			 by ? by : "?");
		t->e[i] = t->e[--t->n];
		return 1;
	}
	return 0;
}

static void add_comment(struct annot_comments *pc, const char *fmt_kind,
			const struct ftpi_event *ev)
{
	char ep1[80], ep2[80], msg[CLI_TEXT_MAX];
	char *dst;

	if (pc->n >= APP_MAX_COMMENTS)
		return;
	dst = pc->text[pc->n];
	switch (ev->type) {
	case FTPI_EV_FINDING:
		snprintf(dst, APP_COMMENT_MAX, "ftpinspect: %s session %llu %s",
			 ftpi_finding_name(ev->u.finding.kind), (unsigned long long)ev->session_id,
			 cli_safe(msg, sizeof msg, ev->u.finding.message));
		break;
	case FTPI_EV_EXPECT: {
		const struct ftpi_expect_info *x = &ev->u.expect;
		const char *by = ftpi_announce_name(x->announced_by);
		snprintf(dst, APP_COMMENT_MAX,
			 "ftpinspect: data connection announced session %llu %s %s mode to %s",
			 (unsigned long long)ev->session_id, by ? by : "?",
			 x->active ? "active" : "passive",
			 cli_endpoint(ep1, sizeof ep1, &x->target));
		break;
	}
	case FTPI_EV_DATA: {
		const struct ftpi_data_info *d = &ev->u.data;
		const char *st = ftpi_data_status_name(d->status);
		snprintf(dst, APP_COMMENT_MAX,
			 "ftpinspect: data connection %s session %llu %s -> %s (%s)", fmt_kind,
			 (unsigned long long)ev->session_id,
			 cli_endpoint(ep1, sizeof ep1, &ev->client),
			 cli_endpoint(ep2, sizeof ep2, &ev->server), st ? st : "unknown");
		break;
	}
	default:
		return;
	}
	pc->n++;
}

void annot_begin(struct annot *t, struct annot_comments *pc, const struct ftpi_packet *pkt)
{
	pc->n = annot_packet(t, pkt, pc->text[0], sizeof pc->text[0]) == 1 ? 1 : 0;
}

void annot_event(struct annot *t, struct annot_comments *pc, uint64_t frame,
		 const struct ftpi_event *ev)
{
	if (ev->frame != 0 && ev->frame == frame) {
		if (ev->type == FTPI_EV_FINDING || ev->type == FTPI_EV_EXPECT)
			add_comment(pc, NULL, ev);
		else if (ev->type == FTPI_EV_DATA)
			add_comment(pc, "ended", ev);
	}
	if (ev->type == FTPI_EV_EXPECT)
		annot_expect(t, ev);
}

int annot_write(struct pcapng_out *w, const struct ftpi_packet *pkt,
		const struct annot_comments *pc)
{
	const char *c[APP_MAX_COMMENTS];

	for (size_t i = 0; i < pc->n; i++)
		c[i] = pc->text[i];
	return pcapng_write(w, pkt, c, pc->n);
}
