/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reasm.h - TCP reassembly: per-direction byte order, gaps and end of stream. In-order bytes and
 * gaps go up through the callbacks the engine installs; what the receiver wants next comes back
 * as their return value (docs/reassembly.md).
 */
#ifndef FTPI_REASM_H
#define FTPI_REASM_H

#include "flow.h"

struct ftpi_tcp_seg;

/* What a receiver answers to data or a gap. */
enum ftpi_reasm_want {
	FTPI_REASM_MORE = 0,      /* go on */
	FTPI_REASM_DROP = 1 << 0, /* drop what is buffered out of order, both directions */
	FTPI_REASM_UNWANT = 1 << 1 /* no more bytes of this flow: both directions only counted */
};

struct ftpi_reasm_cbs {
	/* In-order bytes of one direction (borrowed). Returns enum ftpi_reasm_want bits. */
	int (*data)(void *user, struct ftpi_flow *f, int dir, const uint8_t *p, size_t n);
	/* n bytes of one direction were lost. Returns enum ftpi_reasm_want bits. */
	int (*gap)(void *user, struct ftpi_flow *f, int dir, uint64_t n);
	/* An overlap carried bytes that differ from the ones kept (first wins): n bytes from
	 * stream offset off (0 = the first byte after the SYN, or the first byte seen). exact: the
	 * range is the bytes that differ; 0: delivered ranges older than the kept bytes whose
	 * hashes differ (the range spans them). */
	void (*conflict)(void *user, struct ftpi_flow *f, int dir, uint64_t off, uint32_t n,
			 int exact);
	void *user;
};

/* Bytes of recently delivered data kept per direction when the engine asks (keep_hist), so an
 * overlap with bytes already delivered is compared too. The buffer starts at
 * FTPI__REASM_HIST_START bytes and doubles as bytes come: a control channel's direction that
 * never carries more (a short login, a greeting) keeps its bytes in that. */
#define FTPI__REASM_HIST       1024
#define FTPI__REASM_HIST_START 256

/* Older delivered bytes (keep_hist): each delivered range's keyed hash, for the last
 * FTPI__REASM_WINDOW bytes of the direction and at most FTPI__REASM_RECS ranges (16 bytes each,
 * the ring grows from FTPI__REASM_RECS_START as ranges come). A later copy that covers a whole
 * range is compared with its hash. A range is hashed only when its first bytes leave the kept
 * history (or a gap ends the history): until then a copy is compared byte for byte, so a
 * control channel shorter than the history never hashes anything. */
#define FTPI__REASM_WINDOW 65536u
#define FTPI__REASM_RECS 1024u
#define FTPI__REASM_RECS_START 16u

struct ftpi_reasm_rec {
	uint64_t hash;
	uint32_t off; /* stream offset of the range's first byte, low 32 bits */
	uint32_t len;
};

struct ftpi_reasm {
	struct ftpi__ctx *cx;
	struct ftpi_reasm_cbs cbs;
};

/* One segment of a flow. Returns 1 when the connection has just closed (both directions ended,
 * or a reset): the caller then finishes both directions and ends the flow's upper-stage state. */
int ftpi__reasm_segment(struct ftpi_reasm *r, struct ftpi_flow *f, int dir,
			const struct ftpi_tcp_seg *seg);
/* Delivers what can be delivered and declares gaps for the rest (flow end). */
void ftpi__reasm_finish(struct ftpi_reasm *r, struct ftpi_flow *f, int dir);
/* Frees the out-of-order segments of one direction. */
void ftpi__reasm_release(struct ftpi__ctx *cx, struct ftpi_half *h);
/* Another stage gives up a flow (not the one being delivered): buffered data is dropped and its
 * bytes are only counted from now on. */
void ftpi__reasm_unwant(struct ftpi__ctx *cx, struct ftpi_flow *f);

#endif /* FTPI_REASM_H */
