/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pkt.h - packet crafting and event capture for the engine tests: IPv4/IPv6 TCP segments wrapped
 * in every link layer the decoder supports, and a callback that keeps a textual log of events
 * (spans copied, so the log outlives the callback).
 */
#ifndef FTPI_TEST_PKT_H
#define FTPI_TEST_PKT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftpinspect.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

struct evlog {
	char text[1 << 16];
	size_t len;
	int count[FTPI_EV__COUNT];
	int findings[FTPI_FINDING__COUNT];
	char last_user[64];
	int last_login, last_incomplete, sessions;
};

/* Appends pre, the escaped span, then post. */
static inline void evlog_put(struct evlog *l, const char *pre, const char *a, size_t alen,
		      const char *post)
{
	char esc[600];
	ftpi_escape(esc, sizeof esc, a, alen);
	int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s%s%s", pre, esc, post);
	if (n > 0 && l->len + (size_t)n < sizeof l->text)
		l->len += (size_t)n;
}

static inline int evlog_cb(void *user, const struct ftpi_event *ev)
{
	struct evlog *l = user;
	char tmp[64];
	l->count[ev->type]++;
	switch (ev->type) {
	case FTPI_EV_COMMAND:
		evlog_put(l, "cmd ", ev->u.command.verb.ptr, ev->u.command.verb.len, "");
		evlog_put(l, " [", ev->u.command.arg.ptr, ev->u.command.arg.len, "]\n");
		break;
	case FTPI_EV_REPLY:
		snprintf(tmp, sizeof tmp, "reply %u [", ev->u.reply.code);
		evlog_put(l, tmp, ev->u.reply.text.ptr, ev->u.reply.text.len, "]\n");
		break;
	case FTPI_EV_FINDING:
		l->findings[ev->u.finding.kind]++;
		evlog_put(l, "finding ", ftpi_finding_name(ev->u.finding.kind),
			  strlen(ftpi_finding_name(ev->u.finding.kind)), "\n");
		break;
	case FTPI_EV_EXPECT:
		snprintf(tmp, sizeof tmp, "expect %s %u\n",
			 ftpi_announce_name(ev->u.expect.announced_by), ev->u.expect.target.port);
		evlog_put(l, tmp, "", 0, "");
		break;
	case FTPI_EV_SESSION_END: {
		size_t n = ev->u.session.user.len < 63 ? ev->u.session.user.len : 63;
		memcpy(l->last_user, ev->u.session.user.ptr, n);
		l->last_user[n] = '\0';
		l->last_login = ev->u.session.login;
		l->last_incomplete = ev->u.session.incomplete;
		l->sessions++;
		evlog_put(l, "session user=", ev->u.session.user.ptr, ev->u.session.user.len, "\n");
		break;
	}
	default:
		break;
	}
	return 0;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Endpoint pair of a test connection; v6 selects IPv6 addresses fd00::1 / fd00::2. */
struct conn {
	int v6;
	uint8_t cli[16], srv[16];
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next sequence numbers */
};

static inline void conn_init(struct conn *c, int v6, uint16_t cport, uint16_t sport, uint32_t cisn,
		      uint32_t sisn)
{
	memset(c, 0, sizeof *c);
	c->v6 = v6;
	if (v6) {
		c->cli[0] = c->srv[0] = 0xfd;
		c->cli[15] = 1;
		c->srv[15] = 2;
	} else {
		c->cli[0] = c->srv[0] = 10;
		c->cli[3] = 1;
		c->srv[3] = 2;
	}
	c->cport = cport;
	c->sport = sport;
	c->cseq = cisn;
	c->sseq = sisn;
}

/* Writes an IP+TCP packet into out; returns its length. dir 0 = client to server. */
static inline size_t mk_ip(uint8_t *out, const struct conn *c, int dir, uint32_t seq, uint32_t ack,
		    uint8_t flags, const void *payload, size_t len)
{
	size_t ipl = c->v6 ? 40 : 20;
	uint8_t *t = out + ipl;
	memset(out, 0, ipl + 20);
	if (c->v6) {
		out[0] = 0x60;
		put16(out + 4, (uint16_t)(20 + len));
		out[6] = 6;
		out[7] = 64;
		memcpy(out + 8, dir ? c->srv : c->cli, 16);
		memcpy(out + 24, dir ? c->cli : c->srv, 16);
	} else {
		out[0] = 0x45;
		put16(out + 2, (uint16_t)(20 + 20 + len));
		out[8] = 64;
		out[9] = 6;
		memcpy(out + 12, dir ? c->srv : c->cli, 4);
		memcpy(out + 16, dir ? c->cli : c->srv, 4);
	}
	put16(t, dir ? c->sport : c->cport);
	put16(t + 2, dir ? c->cport : c->sport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 0x50;
	t[13] = flags;
	put16(t + 14, 65535);
	if (len)
		memcpy(t + 20, payload, len);
	return ipl + 20 + len;
}

/* Optional link-layer wrapper: writes the frame for an IP packet, returns its link type. */
typedef int (*pkt_wrap_fn)(uint8_t *out, size_t *outlen, const uint8_t *ip, size_t n, int v6);
static pkt_wrap_fn pkt_wrap;
static uint32_t pkt_snap; /* when set, caplen is cut to this */

/* Feeds an IP packet as raw IP (link type 101), or through pkt_wrap. */
static inline void feed_raw(ftpi_engine *e, uint64_t ts, const uint8_t *p, size_t n)
{
	uint8_t frame[4096];
	struct ftpi_packet pk = {ts, 101, (uint32_t)n, (uint32_t)n, p};
	if (pkt_wrap) {
		size_t fl = 0;
		pk.linktype = pkt_wrap(frame, &fl, p, n, (p[0] >> 4) == 6);
		pk.data = frame;
		pk.caplen = pk.wirelen = (uint32_t)fl;
	}
	if (pkt_snap && pk.caplen > pkt_snap)
		pk.caplen = pkt_snap;
	ftpi_engine_feed(e, &pk);
}

/* Sends payload in one direction with the current sequence numbers, advancing them. */
static inline void send_data(ftpi_engine *e, uint64_t *ts, struct conn *c, int dir, const char *s)
{
	uint8_t buf[2048];
	size_t len = strlen(s);
	uint32_t *seq = dir ? &c->sseq : &c->cseq, ack = dir ? c->cseq : c->sseq;
	size_t n = mk_ip(buf, c, dir, *seq, ack, TH_ACK | TH_PSH, s, len);
	feed_raw(e, (*ts += 1000), buf, n);
	*seq += (uint32_t)len;
}

static inline void handshake(ftpi_engine *e, uint64_t *ts, struct conn *c)
{
	uint8_t buf[128];
	size_t n = mk_ip(buf, c, 0, c->cseq, 0, TH_SYN, NULL, 0);
	feed_raw(e, (*ts += 1000), buf, n);
	c->cseq++;
	n = mk_ip(buf, c, 1, c->sseq, c->cseq, TH_SYN | TH_ACK, NULL, 0);
	feed_raw(e, (*ts += 1000), buf, n);
	c->sseq++;
	n = mk_ip(buf, c, 0, c->cseq, c->sseq, TH_ACK, NULL, 0);
	feed_raw(e, (*ts += 1000), buf, n);
}

/* Handshake, greeting and a successful clear-text login on a control connection. */
static inline void ftp_login(ftpi_engine *e, uint64_t *ts, struct conn *c)
{
	handshake(e, ts, c);
	send_data(e, ts, c, 1, "220 hi\r\n");
	send_data(e, ts, c, 0, "USER a\r\n");
	send_data(e, ts, c, 1, "331 p\r\n");
	send_data(e, ts, c, 0, "PASS b\r\n");
	send_data(e, ts, c, 1, "230 ok\r\n");
}

static inline void close_both(ftpi_engine *e, uint64_t *ts, struct conn *c)
{
	uint8_t buf[128];
	size_t n = mk_ip(buf, c, 0, c->cseq, c->sseq, TH_FIN | TH_ACK, NULL, 0);
	feed_raw(e, (*ts += 1000), buf, n);
	c->cseq++;
	n = mk_ip(buf, c, 1, c->sseq, c->cseq, TH_FIN | TH_ACK, NULL, 0);
	feed_raw(e, (*ts += 1000), buf, n);
	c->sseq++;
}

static inline ftpi_engine *new_engine(struct evlog *l, void (*tweak)(struct ftpi_config *))
{
	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.use_ndpi = 0;
	cfg.on_event = evlog_cb;
	cfg.user = l;
	if (tweak)
		tweak(&cfg);
	memset(l, 0, sizeof *l);
	return ftpi_engine_new(&cfg, NULL);
}

#endif
