/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lookahead.c - ftpi_engine_lookahead(): for an engine that shares an expectation store, a look
 * at the packets its host will feed next, to tell the other engines how far ahead of this one
 * they may decide a new connection without waiting for it.
 *
 * An engine publishes an expectation only while it reads the bytes of an FTP control connection
 * (or of a connection still being classified, which may turn out to be one), or when a
 * connection ends or times out. A packet of a connection already found to be something else (a
 * data connection, not FTP) cannot make it publish, unless that connection is gone before the
 * packet comes (a reset, a timeout, an eviction: then the packet starts a new one). The scan
 * stops at the first packet that may: every packet before it is "quiet". It reads the flow table
 * without changing it, and its decoding counts nothing.
 */
#include "engine.h"
#include <strings.h>

#include "store.h"

#define LOOKAHEAD_ENDING 16 /* connections seen ending in one scan before it gives up */
#define LOOKAHEAD_CONTROL 8 /* control directions followed through one scan */

/* Where a control direction will be after the scanned packets before this one. */
struct ctl_pos {
	const struct ftpi_flow *f;
	int dir;
	uint32_t next_seq;
	int partial; /* a line was left unfinished */
};

struct scan {
	struct ftpi_flow *ending[LOOKAHEAD_ENDING];
	unsigned n_ending;
	uint32_t created; /* flows the scanned packets will create */
	struct ctl_pos ctl[LOOKAHEAD_CONTROL];
	unsigned n_ctl;
};

/* A line that starts here (up to the end of the payload) may be an announcement: a 227/228/229
 * reply from the server, a PORT/EPRT/LPRT command from the client. Short lines cannot be. */
static int line_may_announce(const uint8_t *p, size_t n, int dir)
{
	static const char *const verbs[] = {"PORT", "EPRT", "LPRT"};
	if (n > 0 && !((p[0] >= '0' && p[0] <= '9') || (p[0] >= 'A' && p[0] <= 'Z') ||
		       (p[0] >= 'a' && p[0] <= 'z')))
		return 1; /* what the parsers make of it is theirs to say */
	if (dir == FTPI_DIR_TO_CLIENT)
		return n >= 3 && p[0] == '2' && p[1] == '2' && p[2] >= '7' && p[2] <= '9';
	for (size_t i = 0; n >= 4 && i < FTPI__ARRAY_LEN(verbs); i++)
		if (strncasecmp((const char *)p, verbs[i], 4) == 0)
			return 1;
	return 0;
}

/* The position of a control direction in this scan (NULL when the scan cannot follow more). */
static struct ctl_pos *ctl_pos_of(struct scan *sc, const struct ftpi_flow *f, int dir)
{
	for (unsigned i = 0; i < sc->n_ctl; i++)
		if (sc->ctl[i].f == f && sc->ctl[i].dir == dir)
			return &sc->ctl[i];
	if (sc->n_ctl == LOOKAHEAD_CONTROL)
		return NULL;
	const struct ftpi_session *s = f->app;
	struct ctl_pos *c = &sc->ctl[sc->n_ctl++];
	c->f = f;
	c->dir = dir;
	c->next_seq = f->half[dir].next_seq;
	c->partial = s == NULL || s->line[dir].len || s->line[dir].iac || s->line[dir].discard ||
		     s->line[dir].resync;
	return c;
}

/* A packet of a control connection makes the session announce only when it completes a line
 * that announces: that is read from the packet alone when its bytes come next in order, the
 * session holds no partial line, no reply of several lines and no TLS, no Telnet command (0xff)
 * can hide in it and no line can grow over max_line_len. Anything else may. */
static int control_may_announce(const struct ftpi_engine *e, struct scan *sc,
				const struct ftpi_flow *f, int dir, const struct ftpi_tcp_seg *seg)
{
	const struct ftpi_session *s = f->app;
	const uint8_t *p = seg->payload, *end = p + seg->len, *lf;
	if (seg->flags & (FTPI_TH_FIN | FTPI_TH_RST) || f->half[0].n_ooo || f->half[1].n_ooo)
		return 1;
	if (seg->len == 0)
		return 0;
	struct ctl_pos *c = ctl_pos_of(sc, f, dir);
	if (c == NULL || c->partial || s->tls || s->in_multi || seg->len != seg->wire_len ||
	    seg->seq != c->next_seq || seg->len >= e->cx.cfg.max_line_len)
		return 1;
	if (memchr(p, 0xff, seg->len))
		return 1;
	for (; p < end && (lf = memchr(p, '\n', (size_t)(end - p))) != NULL; p = lf + 1)
		if (line_may_announce(p, (size_t)(lf - p), dir))
			return 1;
	/* what is left after the last line end is held: a later packet completes it */
	c->partial = p < end;
	c->next_seq = seg->seq + seg->len;
	return 0;
}

/* 1 when feeding this decoded segment may make the engine publish or start a connection that
 * may (the scan must stop here). */
static int segment_may_announce(struct ftpi_engine *e, struct scan *sc,
				const struct ftpi_tcp_seg *seg)
{
	int dir;
	uint64_t h = ftpi__flow_hash(&e->cx, &seg->src, &seg->dst);
	struct ftpi_flow *f = ftpi__flow_lookup(&e->flows, &seg->src, &seg->dst, h, &dir);
	int syn_only = (seg->flags & (FTPI_TH_SYN | FTPI_TH_ACK)) == FTPI_TH_SYN;

	if (f == NULL) {
		if (seg->len || (seg->flags & FTPI_TH_FIN))
			return 1; /* the first bytes of a new connection */
		if (seg->flags & FTPI_TH_RST)
			return 0; /* no flow is made */
		/* at max_flows a new flow ends the least recently used one */
		return e->flows.count + ++sc->created >= e->cx.cfg.max_flows;
	}
	if (f->role == FTPI_ROLE_UNKNOWN)
		return 1;
	if (f->role == FTPI_ROLE_CONTROL && control_may_announce(e, sc, f, dir, seg))
		return 1;
	if (syn_only && f->state == FTPI_FLOW_CLOSED)
		return 1; /* the port pair is reused by a new connection */
	for (unsigned i = 0; i < sc->n_ending; i++)
		if (sc->ending[i] == f)
			return 1; /* it may be gone by now: this packet may start another */
	if (seg->flags & (FTPI_TH_FIN | FTPI_TH_RST)) {
		if (sc->n_ending == LOOKAHEAD_ENDING)
			return 1;
		sc->ending[sc->n_ending++] = f;
	}
	return 0;
}

/* A fragment of this protocol cannot carry TCP (a tunnel or an IPv6 header chain may). */
static int not_tcp(uint8_t proto)
{
	return proto == 1 || proto == 17 || proto == 50 || proto == 58 || proto == 132;
}

size_t ftpi_engine_lookahead(ftpi_engine *e, const struct ftpi_packet *pkts, size_t n)
{
	if (e == NULL || e->xt.store == NULL || pkts == NULL || n == 0)
		return 0;
	struct ftpi_stats saved = e->cx.st;
	struct scan sc;
	uint64_t now = e->cx.now_us;
	uint64_t last_expire = e->last_expire_us;
	size_t k;

	sc.n_ending = 0;
	sc.created = 0;
	sc.n_ctl = 0;
	for (k = 0; k < n; k++) {
		const struct ftpi_packet *p = &pkts[k];
		struct ftpi_tcp_seg seg;
		if (p->ts_us > now)
			now = p->ts_us;
		if (last_expire == 0)
			last_expire = now;
		if (now - last_expire >= 1000000)
			break; /* timeouts are checked after this packet */
		if (p->data == NULL || !ftpi_linktype_supported(p->linktype))
			continue;
		uint64_t frags = e->cx.st.decode_ip_fragment;
		seg.defrag = NULL;
		int tcp = ftpi__decode_packet(&e->cx, p->linktype, p->data, p->caplen, &seg);
		if (e->cx.st.decode_ip_fragment != frags && !not_tcp(seg.frag_proto))
			break; /* a fragment may complete a segment */
		if (tcp && segment_may_announce(e, &sc, &seg))
			break;
	}
	e->cx.st = saved;
	/* the packet at k (or any after the last) comes at `now` or later */
	ftpi__store_quiet(e->xt.store, e->xt.me, now);
	return k;
}
