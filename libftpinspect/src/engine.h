/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine.h - struct ftpi_engine: the one object that holds everything an engine owns. Only
 * engine.c knows the order of the pipeline; the other units reach the engine for its config,
 * counters, pools and the event emitter.
 */
#ifndef FTPI_ENGINE_H
#define FTPI_ENGINE_H

#include "internal.h"
#include "flow.h"

struct ftpi_session;
struct ftpi_expect;
struct ftpi__ndpi;
struct ftpi__x509_store;
struct ftpi_server;
struct ftpi_bf;

struct ftpi_engine {
	struct ftpi_config cfg; /* copy; arrays below are engine-owned copies */
	struct ftpi_cidr *allow_clients;
	struct ftpi_cidr *allow_servers;
	uint16_t *control_ports;
	char *ca_file;
	char *server_name;

	struct ftpi_stats st;
	size_t pool_used[FTPI__POOL__COUNT];
	size_t pool_cap[FTPI__POOL__COUNT];
	size_t mem_used, mem_cap;

	uint64_t now_us;      /* capture time of the packet being processed */
	uint64_t frame;       /* 1-based number of that packet */
	uint64_t last_expire_us;
	int stop;             /* the callback asked to stop: no more events in this call */
	int in_flush;

	struct ftpi_flow_table flows;
	struct ftpi_flow *last_flow; /* the flow of the previous packet (NULL once it ended) */

	/* FTP layer (session.c, expect.c). */
	struct ftpi_session *sessions; /* doubly linked list of live sessions */
	uint64_t next_session_id;
	struct ftpi_session **pair_buckets; /* sessions by host pair (session.c) */
	struct ftpi_expect **exp_buckets;
	uint32_t exp_nbuckets;
	struct ftpi_expect *exp_list; /* all live expectations, oldest first */
	struct ftpi_expect *exp_list_tail;
	uint32_t n_expect;            /* live expectations, all sessions (max_expectations) */
	struct ftpi_server *servers;  /* per-server summary (capped list) */
	uint32_t n_servers;
	struct ftpi_bf *bf;           /* brute-force counters per client IP (capped list) */
	uint32_t n_bf;
	/* Ended sessions kept briefly so late data connections still link to them. */
	struct ftpi_session *zombies;
	uint32_t n_zombies;

	struct ftpi__ndpi *ndpi;
	struct ftpi__x509_store *x509;
	int x509_failed;
	int ndpi_failed;
};

/* Emits an event through the callback (fills ts/frame). Honours event_mask for optional types.
 * Returns 0, or -1 once the callback asked to stop. */
int ftpi__emit(struct ftpi_engine *e, struct ftpi_event *ev);

#endif /* FTPI_ENGINE_H */
