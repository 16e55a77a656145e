/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reasm.c - TCP per-direction reassembly and connection state (RFC 793 §3.3-3.5, RFC 9293).
 *
 * In-order bytes go straight to the app layer from the packet (no copy). Out-of-order bytes are
 * copied into a sorted, non-overlapping segment list capped per flow (bytes and segments) and
 * globally (the REASM pool). Overlap policy: FIRST - bytes already received win, later copies
 * are trimmed; differing bytes in an overlap are counted as reasm_overlap_conflicts (see
 * docs/reassembly.md). On control channels, delivered bytes are compared against the last 1 KiB
 * kept and, further back (64 KiB, 1024 ranges), against a keyed hash per delivered range. A hole becomes a gap (reported to the app, which resynchronises) when the
 * peer acknowledges past it (the bytes crossed the wire but not the capture), when a cap would be
 * exceeded, or when the flow ends. Directions the app does not want are only counted by sequence
 * space. Flows picked up mid-stream start at the first byte seen.
 */
#include "reasm.h"

#include "decode.h"
#include "siphash.h"

static void seg_free(struct ftpi__ctx *cx, struct ftpi_half *h, struct ftpi_seg *s)
{
	h->ooo_bytes -= s->len;
	h->n_ooo--;
	cx->st.reasm_bytes_held -= s->len;
	ftpi__free(cx, FTPI__POOL_REASM, s, sizeof *s + s->alloc);
}

static void release_ooo(struct ftpi__ctx *cx, struct ftpi_half *h)
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

void ftpi__reasm_release(struct ftpi__ctx *cx, struct ftpi_half *h)
{
	release_ooo(cx, h);
	if (h->hist)
		ftpi__free(cx, FTPI__POOL_REASM, h->hist, h->hist_cap);
	h->hist = NULL;
	h->hist_len = 0;
	h->hist_cap = 0;
	if (h->recs)
		ftpi__free(cx, FTPI__POOL_REASM, h->recs, h->recs_cap * sizeof *h->recs);
	h->recs = NULL;
	h->recs_cap = h->recs_n = h->recs_head = h->recs_hashed = 0;
}

/* Stream offset of sequence number seq (0 = the first byte of the direction). */
static uint64_t stream_off(const struct ftpi_half *h, uint32_t seq)
{
	return h->bytes + (uint64_t)(int64_t)(int32_t)(seq - h->next_seq);
}

/* An overlap: counted (a whole retransmission only when its bytes differ); when its bytes
 * differ from the kept ones, a conflict is counted and reported. */
static void overlap(struct ftpi_reasm *r, struct ftpi_flow *f, int dir, uint32_t seq,
		    const uint8_t *kept, const uint8_t *later, uint32_t n, int retrans)
{
	int differ = n > 0 && memcmp(kept, later, n) != 0;
	if (!retrans || differ)
		FTPI__COUNT(r->cx, reasm_overlaps);
	if (!differ)
		return;
	FTPI__COUNT(r->cx, reasm_overlap_conflicts);
	/* the differing range, trimmed to the bytes that differ */
	uint32_t a = 0, b = n;
	while (kept[a] == later[a])
		a++;
	while (kept[b - 1] == later[b - 1])
		b--;
	if (r->cbs.conflict)
		r->cbs.conflict(r->cbs.user, f, dir, stream_off(&f->half[dir], seq + a), b - a, 1);
}

static struct ftpi_reasm_rec *rec_at(const struct ftpi_half *h, uint32_t k)
{
	return &h->recs[(h->recs_head + k) % h->recs_cap];
}

/* Stream offset of a record (its low 32 bits are kept; records are never 4 GiB old). */
static uint64_t rec_off(const struct ftpi_half *h, const struct ftpi_reasm_rec *rc)
{
	return h->bytes - (uint32_t)((uint32_t)h->bytes - rc->off);
}

/* Hashes the records not hashed yet that start before stream offset cut, before their bytes
 * leave the history. Called before h->bytes counts the range p[0..n) being delivered: a record
 * at h->bytes or later is that range, older ones lie in the history. */
static void recs_hash_before(struct ftpi__ctx *cx, struct ftpi_half *h, uint64_t cut,
			     const uint8_t *p)
{
	uint64_t hist_start = h->bytes - h->hist_len;
	while (h->recs_hashed < h->recs_n) {
		struct ftpi_reasm_rec *rc = rec_at(h, h->recs_hashed);
		uint64_t ro = rec_off(h, rc);
		if (ro >= cut)
			break;
		if (ro >= h->bytes) {
			rc->hash = ftpi__siphash13(cx->cfg.hash_seed, p + (ro - h->bytes), rc->len);
		} else if (h->hist && ro >= hist_start && ro + rc->len <= h->bytes) {
			rc->hash = ftpi__siphash13(cx->cfg.hash_seed, h->hist + (ro - hist_start),
						   rc->len);
		} else { /* its bytes are gone (cannot happen: kept until hashed): compare nothing */
			rc->len = 0;
			rc->hash = ftpi__siphash13(cx->cfg.hash_seed, p, 0);
		}
		h->recs_hashed++;
	}
}

/* Makes hist hold up to need bytes (at most FTPI__REASM_HIST), doubling from
 * FTPI__REASM_HIST_START; the bytes kept move along. When the memory cap refuses, hist keeps the
 * size it has (none at first): the window compared byte for byte is then that smaller one. */
static void hist_grow(struct ftpi__ctx *cx, struct ftpi_half *h, uint32_t need)
{
	uint32_t cap = h->hist_cap ? h->hist_cap : FTPI__REASM_HIST_START;

	while (cap < need && cap < FTPI__REASM_HIST)
		cap *= 2;
	if (h->hist != NULL && cap <= h->hist_cap)
		return;
	uint8_t *b = ftpi__alloc(cx, FTPI__POOL_REASM, cap);
	if (b == NULL)
		return;
	if (h->hist != NULL) {
		memcpy(b, h->hist, h->hist_len);
		ftpi__free(cx, FTPI__POOL_REASM, h->hist, h->hist_cap);
	}
	h->hist = b;
	h->hist_cap = (uint16_t)cap;
}

/* Keeps the last delivered bytes (control channels): see FTPI__REASM_HIST. The ranges whose
 * bytes leave it are hashed first (rec_add has recorded p[0..n) already). */
static void hist_add(struct ftpi__ctx *cx, struct ftpi_half *h, const uint8_t *p, uint32_t n)
{
	if (h->hist == NULL || (h->hist_cap < FTPI__REASM_HIST && h->hist_len + n > h->hist_cap))
		hist_grow(cx, h, h->hist_len + n);
	if (h->hist == NULL) { /* nothing kept: every range is hashed now */
		h->hist_len = 0;
		recs_hash_before(cx, h, h->bytes + n, p);
		return;
	}
	uint32_t cap = h->hist_cap;
	if (h->recs_hashed < h->recs_n) {
		uint64_t kept = FTPI__MIN((uint64_t)h->hist_len + n, cap);
		recs_hash_before(cx, h, h->bytes + n - kept, p);
	}
	if (n >= cap) {
		memcpy(h->hist, p + n - cap, cap);
		h->hist_len = (uint16_t)cap;
		return;
	}
	uint32_t keep = FTPI__MIN((uint32_t)h->hist_len, cap - n);
	memmove(h->hist, h->hist + h->hist_len - keep, keep);
	memcpy(h->hist + keep, p, n);
	h->hist_len = (uint16_t)(keep + n);
}

/* Drops the oldest record. */
static void rec_drop_oldest(struct ftpi_half *h)
{
	h->recs_head = (uint16_t)((h->recs_head + 1) % h->recs_cap);
	h->recs_n--;
	if (h->recs_hashed)
		h->recs_hashed--;
}

/* Forgets the records that end more than FTPI__REASM_WINDOW bytes before stream offset end. */
static void recs_prune(struct ftpi_half *h, uint64_t end)
{
	while (h->recs_n) {
		const struct ftpi_reasm_rec *rc = rec_at(h, 0);
		if (end - (rec_off(h, rc) + rc->len) <= FTPI__REASM_WINDOW)
			break;
		rec_drop_oldest(h);
	}
}

/* Records a delivered range [h->bytes, h->bytes + n) (control channels), its hash to come
 * (recs_hash_before). */
static void rec_add(struct ftpi__ctx *cx, struct ftpi_half *h, uint32_t n)
{
	if (h->recs)
		recs_prune(h, h->bytes + n);
	if (h->recs_n == h->recs_cap && h->recs_cap < FTPI__REASM_RECS) {
		uint32_t ncap = h->recs_cap ? h->recs_cap * 2u : FTPI__REASM_RECS_START;
		struct ftpi_reasm_rec *nr = ftpi__alloc(cx, FTPI__POOL_REASM, ncap * sizeof *nr);
		if (nr) {
			for (uint32_t k = 0; k < h->recs_n; k++)
				nr[k] = *rec_at(h, k);
			if (h->recs)
				ftpi__free(cx, FTPI__POOL_REASM, h->recs, h->recs_cap * sizeof *nr);
			h->recs = nr;
			h->recs_cap = (uint16_t)ncap;
			h->recs_head = 0;
		}
	}
	if (h->recs_cap == 0)
		return; /* memory refused: older overlaps go uncompared */
	if (h->recs_n == h->recs_cap) /* at the cap: the oldest range is forgotten */
		rec_drop_oldest(h);
	struct ftpi_reasm_rec *rc = rec_at(h, h->recs_n++);
	rc->off = (uint32_t)h->bytes;
	rc->len = n;
	rc->hash = 0;
}

/* Bytes [seq, seq+n) overlap delivered bytes older than the history: each delivered range they
 * cover whole is compared with its hash. Returns how many bytes from seq that covered (to the
 * end of the last range compared); when ranges differ, the overlap and the conflict are counted
 * once and reported (from the first differing range to the end of the last), and *differ set. */
static uint32_t overlap_recs(struct ftpi_reasm *r, struct ftpi_flow *f, int dir, uint32_t seq,
			     const uint8_t *p, uint32_t n, int *differ)
{
	struct ftpi_half *h = &f->half[dir];
	uint64_t so = stream_off(h, seq), lo = 0, hi = 0;
	uint32_t upto = 0, first = 0, count = h->recs_hashed; /* the others are in the history */
	/* Records are in stream order and do not overlap, so the ones [seq, seq+n) covers whole
	 * are a run: found by bisection, not by a walk over all of them (a retransmission of old
	 * bytes would otherwise cost FTPI__REASM_RECS steps, whatever its size). */
	while (count > 0) {
		uint32_t half = count / 2;
		if (rec_off(h, rec_at(h, first + half)) < so) {
			first += half + 1;
			count -= half + 1;
		} else {
			count = half;
		}
	}
	for (uint32_t k = first; k < h->recs_hashed; k++) {
		const struct ftpi_reasm_rec *rc = rec_at(h, k);
		uint64_t ro = rec_off(h, rc);
		if (ro + rc->len > so + n)
			break;
		uint32_t at = (uint32_t)(ro - so);
		if (ftpi__siphash13(r->cx->cfg.hash_seed, p + at, rc->len) != rc->hash) {
			if (!*differ)
				lo = ro;
			hi = ro + rc->len;
			*differ = 1;
		}
		upto = FTPI__MAX(upto, at + rc->len);
	}
	if (*differ) {
		FTPI__COUNT(r->cx, reasm_overlaps);
		FTPI__COUNT(r->cx, reasm_overlap_conflicts);
		if (r->cbs.conflict)
			r->cbs.conflict(r->cbs.user, f, dir, lo, (uint32_t)(hi - lo), 0);
	}
	return upto;
}

/* Bytes [seq, seq+n) overlap bytes already delivered: compared with what the history still
 * holds of them, and before that with the hashes of the delivered ranges they cover. */
static void overlap_delivered(struct ftpi_reasm *r, struct ftpi_flow *f, int dir, uint32_t seq,
			      const uint8_t *p, uint32_t n, int retrans)
{
	struct ftpi_half *h = &f->half[dir];
	uint32_t back = h->next_seq - seq; /* n <= back */
	if (h->hist == NULL || back > h->hist_len) {
		/* older than the history: ranges by their hashes, then the part it still holds */
		uint32_t skip = h->hist ? back - h->hist_len : back;
		int differ = 0;
		uint32_t done = h->recs_hashed ? overlap_recs(r, f, dir, seq, p, n, &differ) : 0;
		if (differ)
			return;
		skip = FTPI__MAX(skip, done);
		if (skip >= n) {
			if (!retrans)
				FTPI__COUNT(r->cx, reasm_overlaps);
			return;
		}
		seq += skip;
		p += skip;
		n -= skip;
		back -= skip;
	}
	overlap(r, f, dir, seq, h->hist + h->hist_len - back, p, n, retrans);
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
		release_ooo(r->cx, &f->half[0]);
		release_ooo(r->cx, &f->half[1]);
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
	if (h->keep_hist && h->want) {
		rec_add(r->cx, h, n);
		hist_add(r->cx, h, p, n);
	}
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
	if (n >= FTPI__REASM_WINDOW) /* ranges before the gap stay comparable, within the window */
		h->recs_n = h->recs_hashed = 0;
	else if (h->recs_hashed < h->recs_n)
		recs_hash_before(r->cx, h, h->bytes, NULL); /* their bytes leave with the history */
	h->next_seq += n;
	h->bytes += n;
	h->gap_bytes += n;
	h->hist_len = 0; /* the history ends at next_seq: nothing before a gap is compared */
	if (h->recs_n)
		recs_prune(h, h->bytes);
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
			release_ooo(r->cx, h);
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
static int insert_ooo(struct ftpi_reasm *r, struct ftpi_flow *f, int dir, uint32_t seq,
		      const uint8_t *p, uint32_t n)
{
	struct ftpi_half *h = &f->half[dir];
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
		overlap(r, f, dir, cur, s->data + (cur - s->seq), p + (cur - seq), ov_end - cur, 0);
		cur = ov_end;
		pp = &s->next;
	}
	if (FTPI__SEQ_LT(cur, end))
		return insert_piece(r, h, pp, cur, p + (cur - seq), end - cur);
	return 1;
}

/* In-order bytes [next_seq, next_seq+n) that may run over buffered segments: the buffered
 * bytes came first and win (policy FIRST); the new bytes fill only what lies between them. */
static void deliver_in_order(struct ftpi_reasm *r, struct ftpi_flow *f, int dir,
			     const uint8_t *p, uint32_t n)
{
	struct ftpi_half *h = &f->half[dir];
	uint32_t cur = h->next_seq, end = h->next_seq + n;

	while (FTPI__SEQ_LT(cur, end)) {
		struct ftpi_seg *s = h->ooo;
		if (!h->want) { /* stopped reading: the rest is counted past what it counted */
			if (FTPI__SEQ_GT(end, h->next_seq))
				deliver(r, f, dir, p, end - h->next_seq);
			return;
		}
		if (s == NULL || FTPI__SEQ_GEQ(s->seq, end)) {
			deliver(r, f, dir, p, end - cur);
			return;
		}
		if (FTPI__SEQ_LEQ(s->seq + s->len, cur)) { /* wholly delivered already */
			h->ooo = s->next;
			seg_free(r->cx, h, s);
			continue;
		}
		if (FTPI__SEQ_GT(s->seq, cur)) {
			uint32_t k = s->seq - cur;
			deliver(r, f, dir, p, k);
			p += k;
			cur += k;
			continue; /* the receiver may have dropped the buffer meanwhile */
		}
		/* s starts at cur (drained before): compare, then deliver the buffered copy */
		uint32_t s_end = s->seq + s->len, skip = cur - s->seq;
		uint32_t ov = FTPI__SEQ_LT(end, s_end) ? end - cur : s_end - cur;
		overlap(r, f, dir, cur, s->data + skip, p, ov, 0);
		h->ooo = s->next;
		deliver(r, f, dir, s->data + skip, s->len - skip);
		seg_free(r->cx, h, s);
		p += ov;
		cur += ov;
		if (FTPI__SEQ_GT(s_end, end))
			return; /* the rest of the buffered segment went out with it */
	}
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
		if (h->keep_hist && len > 0)
			overlap_delivered(r, f, dir, seq, p, len, 1);
		return;
	}
	if (FTPI__SEQ_LT(seq, h->next_seq)) { /* partly old: trim the front */
		uint32_t skip = h->next_seq - seq;
		if (h->keep_hist && skip <= len)
			overlap_delivered(r, f, dir, seq, p, skip, 0);
		else
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
		deliver_in_order(r, f, dir, p, len);
		if (wire_len > len) /* cut by the snap length */
			gap(r, f, dir, wire_len - len);
		drain(r, f, dir);
		return;
	}
	/* Out of order. */
	if (insert_ooo(r, f, dir, seq, p, len))
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
	/* Without a FIN from either side (most packets) neither half has ended and the state
	 * stays: update_state would do nothing. (A reset returned above.) */
	if (!h->fin_seen && !o->fin_seen)
		return 0;
	return update_state(r, f);
}

void ftpi__reasm_finish(struct ftpi_reasm *r, struct ftpi_flow *f, int dir)
{
	struct ftpi_half *h = &f->half[dir];
	while (h->ooo)
		skip_first_hole(r, f, dir);
}
