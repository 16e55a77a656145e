/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine.h - struct ftpi_engine: the stages' states side by side, and the wiring between them.
 * Only engine/ includes this; the stages below see their own state and the core context.
 */
#ifndef FTPI_ENGINE_H
#define FTPI_ENGINE_H

#include "decode.h"
#include "defrag.h"
#include "expect.h"
#include "flow.h"
#include "reasm.h"
#include "review.h"
#include "session.h"
#include "x509.h"

struct ftpi__ndpi;

/* A stream's handle (streamidx.c): 32 bytes holding what a call that only counts needs, so that
 * ftpi_stream_data on a stream that is not FTP, or on a data connection past its first bytes,
 * reads this half line and no other (the flow itself is cold with 100,000 open streams, and
 * 100,000 handles are 3.2 MB). The flow pointer lives in a parallel array (sidx.flows) that only
 * calls doing more than counting read. Counts made here are folded into the flow (f->half[])
 * before anything else reads them: at the stream's next call that is not a count, when a count
 * would overflow the narrow fields (that call takes the full path), and when the flow ends
 * (ftpi__sidx_sync). */
struct ftpi__shandle {
	_Alignas(32) uint64_t id; /* the stream id; 0 = a free slot */
	uint64_t touch_us;        /* capture time of the flow's next LRU move (f->last_us + 1 s) */
	uint32_t bytes[2];        /* counted here, not yet in f->half[] */
	uint16_t packets[2];
	uint8_t fast[2];          /* a data call in this direction only counts */
	uint8_t pending;          /* packets/bytes hold counts */
};

/* Stream ids to handles (streamidx.c). Ids are given out in sequence, so the handle of id lives
 * at slot id % cap or one of the next FTPI__SIDX_WINDOW - 1 slots (cap >= 2 max_flows): the open
 * streams' handles sit side by side, a lookup reads one line, and the table has no clusters to
 * walk. A stream that finds its window full (streams that lived across cap later opens) goes to
 * a small overflow list. */
#define FTPI__SIDX_WINDOW 4
#define FTPI__SIDX_OVERFLOW 256
struct ftpi__sidx {
	struct ftpi__shandle *slots; /* cap + FTPI__SIDX_WINDOW - 1, then the overflow list */
	struct ftpi__shandle *over;  /* FTPI__SIDX_OVERFLOW, right after the slots */
	struct ftpi_flow **flows;    /* the flow of each handle, same index (cold) */
	void *raw;
	size_t raw_size;
	uint32_t cap, n, n_over;
};

/* The handle of stream id, or NULL. */
static inline struct ftpi__shandle *ftpi__sidx_find(const struct ftpi__sidx *t, uint64_t id)
{
	if (t->slots == NULL || id == 0)
		return NULL;
	struct ftpi__shandle *h = &t->slots[id & (t->cap - 1)];
	for (int k = 0; k < FTPI__SIDX_WINDOW; k++)
		if (h[k].id == id)
			return &h[k];
	for (uint32_t k = 0; k < t->n_over; k++)
		if (t->over[k].id == id)
			return &t->over[k];
	return NULL;
}

/* The flow of a handle. */
static inline struct ftpi_flow *ftpi__shandle_flow(const struct ftpi__sidx *t,
						   const struct ftpi__shandle *h)
{
	return t->flows[h - t->slots];
}

/* Folds the handle's counts into its flow. */
static inline void ftpi__shandle_fold(const struct ftpi__sidx *t, struct ftpi__shandle *h)
{
	if (!h->pending)
		return;
	struct ftpi_flow *f = ftpi__shandle_flow(t, h);
	for (int d = 0; d < 2; d++) {
		f->half[d].packets += h->packets[d];
		f->half[d].bytes += h->bytes[d];
		h->packets[d] = 0;
		h->bytes[d] = 0;
	}
	h->pending = 0;
}

/* Streams held for a late announcement (stream.c): a list, bounded in count. */
#define FTPI__HOLD_MAX 1024
#define FTPI__HOLD_BYTES 4096     /* first bytes kept per direction */
#define FTPI__HOLD_US (10ull * 1000000) /* capture time a stream is held at most */

struct ftpi__hold {
	struct ftpi__hold *prev, *next;
	struct ftpi_flow *f;
	uint64_t since_us;
	int8_t first_dir;         /* the direction that sent bytes first, -1 = none yet */
	uint8_t closed;           /* the host closed it while held */
	uint8_t gapped[2];        /* a gap ended the buffering of this direction */
	uint64_t gap_len[2];
	uint32_t len[2];
	uint8_t buf[2][FTPI__HOLD_BYTES];
};

/* Packets decoded and hashed ahead by ftpi_engine_feed_batch() (their buckets prefetched). */
#define FTPI__FEED_BATCH 8

struct ftpi_engine {
	struct ftpi__ctx cx; /* config, counters, memory, clock, sink state */
	/* engine-owned copies of the config's arrays and strings (cx.cfg points at them) */
	struct ftpi_cidr *allow_clients;
	struct ftpi_cidr *allow_servers;
	uint16_t *control_ports;
	char *ca_file;
	char *server_name;
	char *ca_dir;
	uint64_t last_expire_us;

	/* the stages, bottom up */
	struct ftpi__defrag defrag; /* IP fragments being reassembled (decode/defrag.c) */
	struct ftpi_flow_table flows;
	struct ftpi_reasm reasm;
	struct ftpi__tlsrev tlsr;
	struct ftpi__ftp ftp;
	struct ftpi__expect_tab xt;

	struct ftpi__ndpi *ndpi; /* nDPI's module, made on first use */
	int ndpi_failed;

	struct ftpi__sidx sidx;   /* streams by id */
	struct ftpi__hold *held;  /* held streams, oldest first */
	uint32_t n_held;
	uint64_t hold_seen_expect; /* expectations_created at the last look at held streams */
	uint64_t hold_checked_us;
	uint64_t stream_ref;      /* the host's packet reference for stream calls */
	unsigned linktype_ok;     /* 1 + the last link type found supported, 0 before */
	int defrag_hold;          /* feeding a batch: the reassembled datagram is not yet used up */
	struct ftpi__defrag *defrag_p; /* &defrag, or NULL when the config turns it off */
};

/* dispatch.c: the wiring. Installs the stages' callback tables (once, at engine creation). */
void ftpi__dispatch_install(struct ftpi_engine *e);
/* A new connection: a data connection of a session, or a flow to sniff. */
void ftpi__dispatch_new(struct ftpi_engine *e, struct ftpi_flow *f);
/* The one end path of a flow: reassembly finished, upper stages told, FLOW_END, memory back. */
void ftpi__dispatch_end(struct ftpi_engine *e, struct ftpi_flow *f, int reason);
/* The connection closed (both FINs or a RST): reassembly finished, upper stages told. */
void ftpi__dispatch_closed(struct ftpi_engine *e, struct ftpi_flow *f);
/* In-order bytes from the stream API (already reassembled elsewhere). */
void ftpi__dispatch_data(struct ftpi_engine *e, struct ftpi_flow *f, int dir, const uint8_t *p,
			 size_t n);
void ftpi__dispatch_gap(struct ftpi_engine *e, struct ftpi_flow *f, int dir, uint64_t n);
/* A segment reassembled from IP fragments that overlapped with other bytes: raised on its
 * control session (ip_fragment_conflict). */
void ftpi__dispatch_frag_conflict(struct ftpi_engine *e, struct ftpi_flow *f, int dir);
/* Datagrams whose fragments were dropped: the sessions they belonged to are told. */
void ftpi__dispatch_frag_drops(struct ftpi_engine *e);
/* 21, 990, or one of the config's control_ports. */
int ftpi__is_control_port(const struct ftpi_engine *e, uint16_t port);
/* 1 when bytes of direction dir delivered now cannot make flow f (being sniffed) a control
 * connection: on a port that is not FTP's, the flow must show FTP both ways, and the other
 * way has nothing held and nothing waiting to be delivered. */
int ftpi__dispatch_one_sided(const struct ftpi_engine *e, const struct ftpi_flow *f, int dir);

/* streamidx.c */
int ftpi__sidx_put(struct ftpi_engine *e, struct ftpi_flow *f);
struct ftpi_flow *ftpi__sidx_get(const struct ftpi_engine *e, uint64_t id);
/* The flow's counts made in its handle are folded into it (before the flow is read whole). */
void ftpi__sidx_sync(struct ftpi_engine *e, struct ftpi_flow *f);
/* After a call that may have changed the flow: which data calls may only count from now on. */
void ftpi__sidx_refresh(struct ftpi_engine *e, uint64_t id);
void ftpi__sidx_del(struct ftpi_engine *e, const struct ftpi_flow *f);
void ftpi__sidx_release(struct ftpi_engine *e);

/* streamidx.c: held streams' memory and list. */
struct ftpi__hold *ftpi__hold_new(struct ftpi_engine *e, struct ftpi_flow *f);
void ftpi__hold_free(struct ftpi_engine *e, struct ftpi_flow *f);

/* stream.c: held streams. */
/* Held streams past their time are released; held streams an expectation now explains are
 * claimed. Called after stream calls and on the engine's tick. */
void ftpi__hold_tick(struct ftpi_engine *e);
/* Every held stream released (flush, free). */
void ftpi__hold_release_all(struct ftpi_engine *e);

/* classify.c: nDPI on every packet of a flow until it is classified (budgeted). */
void ftpi__classify_packet(struct ftpi_engine *e, struct ftpi_flow *f,
			   const struct ftpi_tcp_seg *seg);
/* 1 when the packet may go to nDPI only after reassembly has seen it (ftpi__classify_after),
 * provided it cannot start a session (ftpi__dispatch_one_sided): a flow whose first bytes show
 * it is not FTP is then never fed. */
int ftpi__classify_defer(const struct ftpi_engine *e, const struct ftpi_flow *f,
			 const struct ftpi_tcp_seg *seg);
void ftpi__classify_after(struct ftpi_engine *e, struct ftpi_flow *f,
			  const struct ftpi_tcp_seg *seg);
void ftpi__classify_flow_release(struct ftpi_engine *e, struct ftpi_flow *f);
void ftpi__classify_release(struct ftpi_engine *e);

#endif /* FTPI_ENGINE_H */
