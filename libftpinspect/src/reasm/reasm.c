/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reasm.c - TCP per-direction reassembly and connection state (RFC 793 §3.3-3.5, RFC 9293).
 *
 * In-order bytes go straight to the app layer from the packet (no copy). Out-of-order bytes are
 * copied into a sorted, non-overlapping segment list capped per flow (bytes and segments) and
 * globally (the REASM pool). Overlap policy: FIRST - bytes already received win, later copies
 * are trimmed; differing bytes in an overlap are counted as reasm_overlap_conflicts (see
 * docs/reassembly.md). A hole becomes a gap (reported to the app, which resynchronises) when the
 * peer acknowledges past it (the bytes crossed the wire but not the capture), when a cap would be
 * exceeded, or when the flow ends. Directions the app does not want are only counted by sequence
 * space. Flows picked up mid-stream start at the first byte seen.
 */
#include "reasm.h"

#include "decode.h"

static void seg_free(struct ftpi__ctx *cx, struct ftpi_half *h, struct ftpi_seg *s)
{
	h->ooo_bytes -= s->len;
	h->n_ooo--;
	cx->st.reasm_bytes_held -= s->len;
	ftpi__free(cx, FTPI__POOL_REASM, s, sizeof *s + s->alloc);
}

void ftpi__reasm_release(struct ftpi__ctx *cx, struct ftpi_half *h)
{
	struct ftpi_seg *s, *next;
	for (s = h->ooo; s; s = next) {
		next = s->next;
		seg_free(cx, h, s);
	}
	h->ooo = NULL;
}

/* A direction stops being read: the bytes held out of order were seen on the wire, so they are
 * counted by sequence space, as later unwanted bytes are (holes included), then freed. */
static void stop_reading(struct ftpi__ctx *cx, struct ftpi_half *h)
{
	for (struct ftpi_seg *s = h->ooo; s; s = s->next) {
		uint32_t end = s->seq + s->len;
		if (FTPI__SEQ_GT(end, h->next_seq)) {
			h->bytes += end - h->next_seq;
			h->next_seq = end;
		}
	}
	h->want = 0;
	ftpi__reasm_release(cx, h);
}

void ftpi__reasm_unwant(struct ftpi__ctx *cx, struct ftpi_flow *f)
{
	stop_reading(cx, &f->half[0]);
	stop_reading(cx, &f->half[1]);
}

/* Applies a receiver's answer. */
static void answer(struct ftpi_reasm *r, struct ftpi_flow *f, int want)
{
	if (want & FTPI_REASM_UNWANT) {
		ftpi__reasm_unwant(r->cx, f);
	} else if (want & FTPI_REASM_DROP) {
		ftpi__reasm_release(r->cx, &f->half[0]);
		ftpi__reasm_release(r->cx, &f->half[1]);
	}
}

static void check_fin(struct ftpi_half *h)
{
	if (h->fin_seen && FTPI__SEQ_GEQ(h->next_seq, h->fin_seq))
		h->ended = 1;
}

static void deliver(struct ftpi_reasm *r, struct ftpi_flow *f, int dir, const uint8_t *p,
		    uint32_t n)
{
	struct ftpi_half *h = &f->half[dir];
	if (n == 0)
		return;
	h->next_seq += n;
	h->bytes += n;
	FTPI__COUNT_N(r->cx, reasm_bytes_delivered, n);
	if (h->want && !f->app_closed)
		answer(r, f, r->cbs.data(r->cbs.user, f, dir, p, n));
}

static void gap(struct ftpi_reasm *r, struct ftpi_flow *f, int dir, uint32_t n)
{
	struct ftpi_half *h = &f->half[dir];
	if (n == 0)
		return;
	h->next_seq += n;
	h->bytes += n;
	h->gap_bytes += n;
	FTPI__COUNT(r->cx, reasm_gaps);
	FTPI__COUNT_N(r->cx, reasm_gap_bytes, n);
	if (h->want && !f->app_closed)
		answer(r, f, r->cbs.gap(r->cbs.user, f, dir, n));
}

/* Delivers buffered segments that have become in-order. */
static void drain(struct ftpi_reasm *r, struct ftpi_flow *f, int dir)
{
	struct ftpi_half *h = &f->half[dir];
	while (h->ooo && FTPI__SEQ_LEQ(h->ooo->seq, h->next_seq)) {
		struct ftpi_seg *s = h->ooo;
		h->ooo = s->next;
		uint32_t end = s->seq + s->len;
		if (FTPI__SEQ_GT(end, h->next_seq)) {
			uint32_t skip = h->next_seq - s->seq;
			/* deliver from a copy owned by the list: unlink first, free after */
			deliver(r, f, dir, s->data + skip, s->len - skip);
		}
		seg_free(r->cx, h, s);
		if (!h->want) { /* the receiver stopped wanting bytes during delivery */
			ftpi__reasm_release(r->cx, h);
			break;
		}
	}
	check_fin(h);
}

/* Turns the first hole into a gap and delivers what follows it. */
static void skip_first_hole(struct ftpi_reasm *r, struct ftpi_flow *f, int dir)
{
	struct ftpi_half *h = &f->half[dir];
	if (h->ooo == NULL)
		return;
	if (FTPI__SEQ_GT(h->ooo->seq, h->next_seq))
		gap(r, f, dir, h->ooo->seq - h->next_seq);
	drain(r, f, dir);
}

/* Declares every hole before seq lost: delivers the buffered segments that start before seq and
 * ends with next_seq at seq or past it (when buffered data runs beyond seq). */
static void give_up_before(struct ftpi_reasm *r, struct ftpi_flow *f, int dir, uint32_t seq)
{
	struct ftpi_half *h = &f->half[dir];
	while (h->want && h->ooo && FTPI__SEQ_LT(h->ooo->seq, seq) &&
	       FTPI__SEQ_LT(h->next_seq, seq))
		skip_first_hole(r, f, dir);
	if (h->want && FTPI__SEQ_LT(h->next_seq, seq)) {
		gap(r, f, dir, seq - h->next_seq);
		drain(r, f, dir);
	}
}

static int insert_piece(struct ftpi_reasm *r, struct ftpi_half *h, struct ftpi_seg **pp,
			uint32_t seq, const uint8_t *p, uint32_t n)
{
	if (n == 0)
		return 1;
	if (h->n_ooo >= r->cx->cfg.max_ooo_segments ||
	    (uint64_t)h->ooo_bytes + n > r->cx->cfg.reasm_flow_bytes) {
		FTPI__COUNT(r->cx, reasm_flow_cap_drops);
		return 0;
	}
	struct ftpi_seg *s = ftpi__alloc(r->cx, FTPI__POOL_REASM, sizeof *s + n);
	if (s == NULL) {
		FTPI__COUNT(r->cx, reasm_memcap_drops);
		return 0;
	}
	s->seq = seq;
	s->len = n;
	s->alloc = n;
	memcpy(s->data, p, n);
	s->next = *pp;
	*pp = s;
	h->n_ooo++;
	h->ooo_bytes += n;
	FTPI__COUNT(r->cx, reasm_ooo_segments);
	r->cx->st.reasm_bytes_held += n;
	if (r->cx->st.reasm_bytes_held > r->cx->st.reasm_bytes_high_water)
		r->cx->st.reasm_bytes_high_water = r->cx->st.reasm_bytes_held;
	return 1;
}

/* Inserts [seq, seq+n) into the sorted list, keeping bytes already there (policy FIRST).
 * Returns 0 when a cap refused a piece. */
static int insert_ooo(struct ftpi_reasm *r, struct ftpi_half *h, uint32_t seq, const uint8_t *p,
		      uint32_t n)
{
	struct ftpi_seg **pp = &h->ooo;
	uint32_t cur = seq, end = seq + n;

	while (*pp && FTPI__SEQ_LT(cur, end)) {
		struct ftpi_seg *s = *pp;
		uint32_t s_end = s->seq + s->len;
		if (FTPI__SEQ_LEQ(s_end, cur)) {
			pp = &s->next;
			continue;
		}
		if (FTPI__SEQ_GEQ(s->seq, end))
			break;
		if (FTPI__SEQ_LT(cur, s->seq)) {
			if (!insert_piece(r, h, pp, cur, p + (cur - seq), s->seq - cur))
				return 0;
			pp = &(*pp)->next;
			cur = s->seq;
		}
		/* [cur, min(end, s_end)) overlaps s: the buffered copy wins */
		uint32_t ov_end = FTPI__SEQ_LT(end, s_end) ? end : s_end;
		FTPI__COUNT(r->cx, reasm_overlaps);
		if (memcmp(s->data + (cur - s->seq), p + (cur - seq), ov_end - cur) != 0)
			FTPI__COUNT(r->cx, reasm_overlap_conflicts);
		cur = ov_end;
		pp = &s->next;
	}
	if (FTPI__SEQ_LT(cur, end))
		return insert_piece(r, h, pp, cur, p + (cur - seq), end - cur);
	return 1;
}

static void add_data(struct ftpi_reasm *r, struct ftpi_flow *f, int dir, uint32_t seq,
		     const uint8_t *p, uint32_t len, uint32_t wire_len)
{
	struct ftpi_half *h = &f->half[dir];
	uint32_t end = seq + wire_len;

	if (!h->want) {
		/* Counted, not buffered: sequence space seen so far. */
		if (FTPI__SEQ_GT(end, h->next_seq)) {
			h->bytes += end - h->next_seq;
			h->next_seq = end;
		}
		return;
	}
	if (FTPI__SEQ_LEQ(end, h->next_seq)) {
		FTPI__COUNT(r->cx, reasm_retransmissions);
		return;
	}
	if (FTPI__SEQ_LT(seq, h->next_seq)) { /* partly old: trim the front */
		uint32_t skip = h->next_seq - seq;
		FTPI__COUNT(r->cx, reasm_overlaps);
		seq += skip;
		wire_len -= skip;
		if (skip >= len) {
			p += len;
			len = 0;
		} else {
			p += skip;
			len -= skip;
		}
	}
	if (seq != h->next_seq && h->acked_valid && FTPI__SEQ_GEQ(h->acked, seq)) {
		/* The receiver acknowledged past the hole: those bytes will never be seen. */
		give_up_before(r, f, dir, seq);
		if (!h->want || FTPI__SEQ_GT(h->next_seq, seq))
			return add_data(r, f, dir, seq, p, len, wire_len); /* once: trims or counts */
	}
	if (seq == h->next_seq) {
		deliver(r, f, dir, p, len);
		if (wire_len > len) /* cut by the snap length */
			gap(r, f, dir, wire_len - len);
		drain(r, f, dir);
		return;
	}
	/* Out of order. */
	if (insert_ooo(r, h, seq, p, len))
		return;
	/* A cap refused it: give up on the holes before it so the flow keeps moving, then place
	 * it again (it is delivered now, or buffered in the room the delivery freed). */
	give_up_before(r, f, dir, seq);
	if (!h->want || FTPI__SEQ_GT(h->next_seq, seq))
		return add_data(r, f, dir, seq, p, len, wire_len);
	deliver(r, f, dir, p, len);
	if (wire_len > len)
		gap(r, f, dir, wire_len - len);
	drain(r, f, dir);
}

/* The peer's ACK advanced for this direction: holes it covers are lost to the capture. */
static void ack_advanced(struct ftpi_reasm *r, struct ftpi_flow *f, int dir)
{
	struct ftpi_half *h = &f->half[dir];
	while (h->want && h->ooo && FTPI__SEQ_GEQ(h->acked, h->ooo->seq) &&
	       FTPI__SEQ_LT(h->next_seq, h->ooo->seq))
		skip_first_hole(r, f, dir);
}

/* Returns 1 when the connection has just closed. */
static int update_state(struct ftpi_reasm *r, struct ftpi_flow *f)
{
	if (f->state == FTPI_FLOW_CLOSED)
		return 0;
	if (f->half[0].ended && f->half[1].ended) {
		ftpi__flow_set_state(f, FTPI_FLOW_CLOSED);
		FTPI__COUNT(r->cx, flows_closed);
		return !f->app_closed;
	}
	if (f->half[0].fin_seen || f->half[1].fin_seen)
		ftpi__flow_set_state(f, FTPI_FLOW_CLOSING);
	return 0;
}

int ftpi__reasm_segment(struct ftpi_reasm *r, struct ftpi_flow *f, int dir,
			const struct ftpi_tcp_seg *seg)
{
	struct ftpi_half *h = &f->half[dir];
	struct ftpi_half *o = &f->half[!dir];
	uint32_t dseq = seg->seq;

	h->packets++;
	if (seg->flags & FTPI_TH_RST) {
		h->ended = o->ended = 1;
		return update_state(r, f);
	}
	if ((seg->flags & FTPI_TH_ACK) && o->seq_known) {
		if (!o->acked_valid || FTPI__SEQ_GT(seg->ack, o->acked)) {
			o->acked = seg->ack;
			o->acked_valid = 1;
			ack_advanced(r, f, !dir);
		}
	}
	if (seg->flags & FTPI_TH_SYN) {
		if (!h->seq_known) {
			h->isn = seg->seq;
			h->next_seq = seg->seq + 1;
			h->seq_known = 1;
		}
		h->syn_seen = 1;
		dseq = seg->seq + 1;
		if (f->state == FTPI_FLOW_SYN_SENT && (seg->flags & FTPI_TH_ACK))
			ftpi__flow_set_state(f, FTPI_FLOW_SYN_RCVD);
	} else if (f->state < FTPI_FLOW_ESTABLISHED && (seg->flags & FTPI_TH_ACK) &&
		   (f->state == FTPI_FLOW_SYN_RCVD || f->midstream)) {
		ftpi__flow_set_state(f, FTPI_FLOW_ESTABLISHED);
	}
	if (seg->wire_len > 0) {
		if (!h->seq_known) {
			h->isn = dseq - 1;
			h->next_seq = dseq;
			h->seq_known = 1;
		}
		if (f->state < FTPI_FLOW_ESTABLISHED)
			ftpi__flow_set_state(f, FTPI_FLOW_ESTABLISHED);
		if (!f->app_closed || !h->want)
			add_data(r, f, dir, dseq, seg->payload, seg->len, seg->wire_len);
		else
			FTPI__COUNT(r->cx, reasm_retransmissions);
	}
	if (seg->flags & FTPI_TH_FIN) {
		if (!h->seq_known) {
			h->next_seq = dseq;
			h->seq_known = 1;
		}
		if (!h->fin_seen) {
			h->fin_seen = 1;
			h->fin_seq = dseq + seg->wire_len;
		}
		check_fin(h);
	}
	return update_state(r, f);
}

void ftpi__reasm_finish(struct ftpi_reasm *r, struct ftpi_flow *f, int dir)
{
	struct ftpi_half *h = &f->half[dir];
	while (h->ooo)
		skip_first_hole(r, f, dir);
}
