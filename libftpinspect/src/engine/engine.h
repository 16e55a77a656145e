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

/* Stream ids to flows (streamidx.c). */
struct ftpi__sidx {
	struct ftpi_flow **slots;
	uint32_t cap, n;
};

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
	int defrag_hold;          /* feeding a batch: the reassembled datagram is not yet used up */
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

/* streamidx.c */
int ftpi__sidx_put(struct ftpi_engine *e, struct ftpi_flow *f);
struct ftpi_flow *ftpi__sidx_get(const struct ftpi_engine *e, uint64_t id);
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
void ftpi__classify_flow_release(struct ftpi_engine *e, struct ftpi_flow *f);
void ftpi__classify_release(struct ftpi_engine *e);

#endif /* FTPI_ENGINE_H */
