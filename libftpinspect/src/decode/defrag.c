/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * defrag.c - IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) fragment reassembly. Datagrams are
 * keyed by addresses and identification (and the protocol for IPv4), found through a small
 * hash, and kept in creation order for timeouts and eviction. Each keeps its fragments' data as
 * sorted, non-overlapping pieces: a fragment that overlaps held bytes is cut into the pieces
 * that are new (the bytes seen first win, as in reasm/), overlaps are counted and differing
 * bytes are a conflict (RFC 5722 would drop the datagram; a reviewer wants to see it, marked).
 * Tiny fragments (non-final and under 64 bytes, RFC 1858) are counted and kept. A fragment that
 * cannot be right (past 65535 bytes, a non-final one not a multiple of 8, data past the end) is
 * counted as invalid and dropped. Everything is charged to pool FRAG (cap frag_mem).
 *
 * A datagram's pieces are a red-black tree by offset (BSD's sys/tree.h, from libbsd), not a
 * sorted list: a datagram cut into thousands of tiny fragments (up to 8,192 for 64 KiB) would
 * otherwise cost a walk over every piece held for each fragment that comes, quadratic in the
 * fragments (the FragmentSmack pattern). A fragment now costs a search and the pieces it
 * overlaps.
 */
#include "defrag.h"

#include <bsd/sys/tree.h>

#include "siphash.h"

#define TINY 64

struct frag_piece {
	RB_ENTRY(frag_piece) rb;
	uint32_t off, len;
	uint8_t data[];
};

RB_HEAD(frag_pieces, frag_piece);

static int piece_cmp(const struct frag_piece *a, const struct frag_piece *b)
{
	return a->off < b->off ? -1 : a->off > b->off;
}

/* static, and unused ones not warned about (libbsd leaves __unused undefined) */
RB_PROTOTYPE_INTERNAL(frag_pieces, frag_piece, rb, piece_cmp, __attribute__((unused)) static)
RB_GENERATE_INTERNAL(frag_pieces, frag_piece, rb, piece_cmp, __attribute__((unused)) static)

struct ftpi__frag {
	struct ftpi__frag *hnext;
	struct ftpi__frag *older, *newer;
	uint32_t bucket;
	uint8_t v6;
	uint8_t proto; /* IPv4 key part */
	uint8_t conflict;
	uint8_t have_last;
	uint8_t src[16], dst[16];
	uint32_t id;
	uint64_t first_us;
	uint32_t total;   /* data length, known once the last fragment came */
	uint32_t held;    /* data bytes held */
	uint8_t *hdr;     /* unfragmentable part of the first fragment (offset 0) */
	uint32_t hdr_len;
	uint32_t nh_pos;  /* IPv6: the byte that named the fragment header */
	uint8_t next;     /* IPv6: the fragment header's next header */
	uint16_t ports[2];
	uint8_t have_ports;
	struct frag_pieces pieces; /* by offset; never overlapping */
};

/* Keyed with the config's seed, as the flow table is: identifications chosen by the sender
 * cannot put every datagram held (max_frag_datagrams) in one chain. */
static uint32_t bucket_of(const struct ftpi__ctx *cx, const uint8_t *src, const uint8_t *dst,
			  uint32_t id, int v6)
{
	uint8_t m[36];
	size_t n = v6 ? 16 : 4;
	memcpy(m, src, n);
	memcpy(m + n, dst, n);
	memcpy(m + 2 * n, &id, sizeof id);
	return (uint32_t)(ftpi__siphash13(cx->cfg.hash_seed, m, 2 * n + sizeof id) %
			  FTPI__FRAG_BUCKETS);
}

static void unlink_frag(struct ftpi__defrag *d, struct ftpi__frag *f)
{
	struct ftpi__frag **pp = &d->buckets[f->bucket];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	if (f->older)
		f->older->newer = f->newer;
	else
		d->oldest = f->newer;
	if (f->newer)
		f->newer->older = f->older;
	else
		d->newest = f->older;
	d->count--;
}

static void free_frag(struct ftpi__ctx *cx, struct ftpi__frag *f)
{
	struct frag_piece *p;
	while ((p = RB_MIN(frag_pieces, &f->pieces)) != NULL) {
		RB_REMOVE(frag_pieces, &f->pieces, p);
		ftpi__free(cx, FTPI__POOL_FRAG, p, sizeof *p + p->len);
	}
	cx->st.ip_frag_bytes_held -= f->held;
	if (f->hdr)
		ftpi__free(cx, FTPI__POOL_FRAG, f->hdr, f->hdr_len);
	ftpi__free(cx, FTPI__POOL_FRAG, f, sizeof *f);
}

static void drop(struct ftpi__ctx *cx, struct ftpi__defrag *d, struct ftpi__frag *f, int reason)
{
	if (reason == FTPI__FRAG_CAP)
		FTPI__COUNT(cx, ip_frag_cap_drops);
	else
		FTPI__COUNT(cx, ip_frag_incomplete);
	if (d->n_drops < FTPI__FRAG_DROPS) {
		struct ftpi__frag_drop *r = &d->drops[d->n_drops++];
		memset(r, 0, sizeof *r);
		r->src.addr.family = r->dst.addr.family = f->v6 ? 6 : 4;
		memcpy(r->src.addr.ip, f->src, f->v6 ? 16 : 4);
		memcpy(r->dst.addr.ip, f->dst, f->v6 ? 16 : 4);
		if (f->have_ports) {
			r->src.port = f->ports[0];
			r->dst.port = f->ports[1];
		}
		r->reason = (uint8_t)reason;
		r->held = f->held;
	}
	unlink_frag(d, f);
	free_frag(cx, f);
}

/* Room for size more bytes in pool FRAG: the oldest datagrams (other than keep) make way. */
static int make_room(struct ftpi__ctx *cx, struct ftpi__defrag *d, size_t size,
		     const struct ftpi__frag *keep)
{
	while (!ftpi__mem_fits(cx, FTPI__POOL_FRAG, size)) {
		struct ftpi__frag *o = d->oldest;
		if (o == keep)
			o = o->newer;
		if (o == NULL)
			return 0;
		drop(cx, d, o, FTPI__FRAG_CAP);
	}
	return 1;
}

static void *frag_alloc(struct ftpi__ctx *cx, struct ftpi__defrag *d, size_t size,
			const struct ftpi__frag *keep)
{
	if (!make_room(cx, d, size, keep))
		return NULL;
	return ftpi__alloc(cx, FTPI__POOL_FRAG, size);
}

static struct ftpi__frag *lookup(struct ftpi__ctx *cx, struct ftpi__defrag *d, int v6,
				 const uint8_t *src, const uint8_t *dst, uint32_t id, uint8_t proto)
{
	size_t n = v6 ? 16 : 4;
	uint32_t b = bucket_of(cx, src, dst, id, v6);
	struct ftpi__frag *f;
	for (f = d->buckets[b]; f; f = f->hnext)
		if (f->v6 == v6 && f->id == id && f->proto == proto && memcmp(f->src, src, n) == 0 &&
		    memcmp(f->dst, dst, n) == 0)
			return f;
	if (cx->cfg.max_frag_datagrams == 0)
		return NULL;
	while (d->count >= cx->cfg.max_frag_datagrams)
		drop(cx, d, d->oldest, FTPI__FRAG_CAP);
	f = frag_alloc(cx, d, sizeof *f, NULL);
	if (f == NULL) {
		FTPI__COUNT(cx, ip_frag_cap_drops);
		return NULL;
	}
	f->v6 = (uint8_t)v6;
	f->proto = proto;
	f->id = id;
	memcpy(f->src, src, n);
	memcpy(f->dst, dst, n);
	f->first_us = cx->now_us;
	RB_INIT(&f->pieces);
	f->bucket = b;
	f->hnext = d->buckets[b];
	d->buckets[b] = f;
	f->older = d->newest;
	if (d->newest)
		d->newest->newer = f;
	else
		d->oldest = f;
	d->newest = f;
	d->count++;
	return f;
}

static int add_piece(struct ftpi__ctx *cx, struct ftpi__defrag *d, struct ftpi__frag *f,
		     uint32_t off, const uint8_t *p, uint32_t n)
{
	struct frag_piece *np = frag_alloc(cx, d, sizeof *np + n, f);
	if (np == NULL)
		return 0;
	np->off = off;
	np->len = n;
	memcpy(np->data, p, n);
	RB_INSERT(frag_pieces, &f->pieces, np); /* no piece starts there: the caller checked */
	f->held += n;
	cx->st.ip_frag_bytes_held += n;
	if (cx->st.ip_frag_bytes_held > cx->st.ip_frag_bytes_high_water)
		cx->st.ip_frag_bytes_high_water = cx->st.ip_frag_bytes_held;
	return 1;
}

/* Puts [off, off+n) into the datagram, keeping bytes already held (policy FIRST). */
static int insert(struct ftpi__ctx *cx, struct ftpi__defrag *d, struct ftpi__frag *f, uint32_t off,
		  const uint8_t *p, uint32_t n)
{
	uint32_t cur = off, end = off + n;
	int overlapped = 0;
	struct frag_piece key, *s, *before;
	key.off = off;
	/* the first piece at or after off, or the one before it when that reaches past off */
	s = RB_NFIND(frag_pieces, &f->pieces, &key);
	before = s ? RB_PREV(frag_pieces, &f->pieces, s) : RB_MAX(frag_pieces, &f->pieces);
	if (before && before->off + before->len > off)
		s = before;
	for (; s && cur < end; s = RB_NEXT(frag_pieces, &f->pieces, s)) {
		uint32_t s_end = s->off + s->len;
		if (s_end <= cur)
			continue;
		if (s->off >= end)
			break;
		if (cur < s->off) {
			if (!add_piece(cx, d, f, cur, p + (cur - off), s->off - cur))
				return 0;
			cur = s->off;
		}
		uint32_t ov_end = end < s_end ? end : s_end;
		overlapped = 1;
		if (memcmp(s->data + (cur - s->off), p + (cur - off), ov_end - cur) != 0 &&
		    !f->conflict) {
			f->conflict = 1;
			FTPI__COUNT(cx, ip_frag_overlap_conflicts);
		}
		cur = ov_end;
	}
	if (overlapped)
		FTPI__COUNT(cx, ip_frag_overlaps);
	if (cur < end)
		return add_piece(cx, d, f, cur, p + (cur - off), end - cur);
	return 1;
}

/* Common part: the fragment's data at byte offset off; last = no more fragments. The first
 * fragment's unfragmentable part is kept (hdr). Returns 1 when the datagram is complete and
 * assembled into d->out. */
static int take(struct ftpi__ctx *cx, struct ftpi__defrag *d, struct ftpi__frag *f,
		const uint8_t *hdr, uint32_t hdr_len, uint32_t off, int last, const uint8_t *p,
		uint32_t n, uint32_t max_data, int *conflict)
{
	FTPI__COUNT(cx, ip_frag_fragments);
	if (n == 0 || off + n > max_data || (!last && (n & 7) != 0) ||
	    (f->have_last && off + n > f->total) || (last && f->have_last && off + n != f->total)) {
		FTPI__COUNT(cx, ip_frag_invalid);
		return 0;
	}
	if (!last && n < TINY)
		FTPI__COUNT(cx, ip_frag_tiny);
	if (last && !f->have_last) {
		/* held data past the end would make the datagram inconsistent (the last piece
		 * ends furthest: they do not overlap) */
		const struct frag_piece *s = RB_MAX(frag_pieces, &f->pieces);
		if (s && s->off + s->len > off + n) {
			FTPI__COUNT(cx, ip_frag_invalid);
			return 0;
		}
		f->have_last = 1;
		f->total = off + n;
	}
	if (off == 0 && f->hdr == NULL) {
		f->hdr = frag_alloc(cx, d, hdr_len, f);
		if (f->hdr == NULL) {
			drop(cx, d, f, FTPI__FRAG_CAP);
			return 0;
		}
		memcpy(f->hdr, hdr, hdr_len);
		f->hdr_len = hdr_len;
		if (n >= 4 && ((!f->v6 && f->proto == 6) || (f->v6 && f->next == 6))) {
			f->ports[0] = (uint16_t)(p[0] << 8 | p[1]);
			f->ports[1] = (uint16_t)(p[2] << 8 | p[3]);
			f->have_ports = 1;
		}
	}
	if (!insert(cx, d, f, off, p, n)) {
		drop(cx, d, f, FTPI__FRAG_CAP);
		return 0;
	}
	if (!f->have_last || f->hdr == NULL || f->held != f->total)
		return 0; /* pieces never overlap: held == total means no hole is left */
	/* complete: header + data in one buffer for the decoder */
	size_t len = (size_t)f->hdr_len + f->total;
	d->out = frag_alloc(cx, d, len, f);
	if (d->out == NULL) {
		drop(cx, d, f, FTPI__FRAG_CAP);
		return 0;
	}
	d->out_len = len;
	memcpy(d->out, f->hdr, f->hdr_len);
	struct frag_piece *s;
	RB_FOREACH(s, frag_pieces, &f->pieces)
		memcpy(d->out + f->hdr_len + s->off, s->data, s->len);
	if (f->v6) /* the header that named the fragment header names what followed it */
		d->out[f->nh_pos] = f->next;
	*conflict = f->conflict;
	FTPI__COUNT(cx, ip_frag_reassembled);
	unlink_frag(d, f);
	free_frag(cx, f);
	return 1;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int ftpi__defrag_ipv4(struct ftpi__ctx *cx, struct ftpi__defrag *d, const uint8_t *ip,
		      uint32_t present, uint32_t tot, uint32_t ihl, int *conflict)
{
	if (d->out != NULL || present < tot) /* nested in a datagram being decoded; cut */
		return 0;
	uint16_t frag = (uint16_t)(ip[6] << 8 | ip[7]);
	uint32_t id = (uint32_t)(ip[4] << 8 | ip[5]);
	struct ftpi__frag *f = lookup(cx, d, 0, ip + 12, ip + 16, id, ip[9]);
	if (f == NULL)
		return 0;
	if (!take(cx, d, f, ip, ihl, (uint32_t)(frag & 0x1fff) * 8, (frag & 0x2000) == 0, ip + ihl,
		  tot - ihl, 65535 - ihl, conflict))
		return 0;
	/* the header now says: whole, this long; its checksum is made right again */
	uint8_t *h = d->out;
	put16(h + 2, (uint32_t)d->out_len);
	put16(h + 6, 0);
	put16(h + 10, 0);
	uint32_t sum = 0;
	for (uint32_t i = 0; i + 1 < ihl; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(h + 10, ~sum & 0xffff);
	return 1;
}

int ftpi__defrag_ipv6(struct ftpi__ctx *cx, struct ftpi__defrag *d, const uint8_t *ip,
		      uint32_t hdr_len, uint32_t nh_pos, uint8_t next, uint16_t offmf, uint32_t id,
		      const uint8_t *pl, uint32_t pl_len, int *conflict)
{
	if (d->out != NULL || nh_pos >= hdr_len || hdr_len < 40)
		return 0;
	struct ftpi__frag *f = lookup(cx, d, 1, ip + 8, ip + 24, id, 0);
	if (f == NULL)
		return 0;
	if ((offmf & 0xfff8) == 0 && f->hdr == NULL) { /* the first fragment names what follows */
		f->next = next;
		f->nh_pos = nh_pos;
	}
	if (!take(cx, d, f, ip, hdr_len, offmf & 0xfff8, (offmf & 1) == 0, pl, pl_len,
		  65535 + 40 - hdr_len, conflict))
		return 0;
	put16(d->out + 4, (uint32_t)d->out_len - 40);
	return 1;
}

void ftpi__defrag_expire(struct ftpi__ctx *cx, struct ftpi__defrag *d, uint64_t now)
{
	while (d->oldest && now - d->oldest->first_us >= cx->cfg.timeout_frag)
		drop(cx, d, d->oldest, FTPI__FRAG_TIMEOUT);
}

static int frag_is(const struct ftpi__frag *f, const struct ftpi_endpoint *s,
		   const struct ftpi_endpoint *t)
{
	size_t n = f->v6 ? 16 : 4;
	return s->addr.family == (f->v6 ? 6 : 4) && memcmp(f->src, s->addr.ip, n) == 0 &&
	       memcmp(f->dst, t->addr.ip, n) == 0 &&
	       (!f->have_ports || (f->ports[0] == s->port && f->ports[1] == t->port));
}

void ftpi__defrag_drop_between(struct ftpi__ctx *cx, struct ftpi__defrag *d,
			       const struct ftpi_endpoint *a, const struct ftpi_endpoint *b)
{
	struct ftpi__frag *f = d->oldest, *next;
	for (; f; f = next) {
		next = f->newer;
		if (frag_is(f, a, b) || frag_is(f, b, a))
			drop(cx, d, f, FTPI__FRAG_ENDED);
	}
}

void ftpi__defrag_flush(struct ftpi__ctx *cx, struct ftpi__defrag *d)
{
	while (d->oldest)
		drop(cx, d, d->oldest, FTPI__FRAG_FLUSH);
}

void ftpi__defrag_done(struct ftpi__ctx *cx, struct ftpi__defrag *d)
{
	if (d->out)
		ftpi__free(cx, FTPI__POOL_FRAG, d->out, d->out_len);
	d->out = NULL;
	d->out_len = 0;
}

int ftpi__defrag_take_drop(struct ftpi__defrag *d, struct ftpi__frag_drop *out)
{
	if (d->n_drops == 0)
		return 0;
	*out = d->drops[0];
	memmove(d->drops, d->drops + 1, (size_t)(d->n_drops - 1) * sizeof d->drops[0]);
	d->n_drops--;
	return 1;
}

void ftpi__defrag_release(struct ftpi__ctx *cx, struct ftpi__defrag *d)
{
	ftpi__defrag_done(cx, d);
	while (d->oldest) {
		struct ftpi__frag *f = d->oldest;
		unlink_frag(d, f);
		free_frag(cx, f);
	}
	d->n_drops = 0;
}
