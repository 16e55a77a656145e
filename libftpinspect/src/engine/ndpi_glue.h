/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ndpi_glue.h - the engine's only window onto nDPI (Debian 12 ships nDPI 4.2). ndpi_glue.c is the
 * only file that includes <ndpi_api.h>; no nDPI type leaks out of it. Per-flow nDPI state is
 * allocated from the engine's FTPI__POOL_NDPI pool and released as soon as the flow is classified
 * or its packet budget is spent.
 */
#ifndef FTPI_NDPI_GLUE_H
#define FTPI_NDPI_GLUE_H

#include <stdint.h>
#include <stddef.h>

#include "sink.h"

struct ftpi__ndpi;

enum ftpi__ndpi_app {
	FTPI__NDPI_UNKNOWN = 0,
	FTPI__NDPI_FTP_CONTROL,
	FTPI__NDPI_FTP_DATA,
	FTPI__NDPI_FTPS,   /* implicit FTPS / TLS on an FTP port */
	FTPI__NDPI_TLS,
	FTPI__NDPI_OTHER
};

/* Packets per flow nDPI may see before ftpi__ndpi_classify gives up by itself (nDPI's own
 * dissectors decide within a handful; TLS certificate checks need the server's first flight). */
#define FTPI__NDPI_PACKET_BUDGET 32

/* Per-flow handle: opaque; NULL when nDPI is off or out of memory. */
struct ftpi__ndpi_flow;

/* An engine's handle on the process's detection module: the first handle builds it (tens of
 * ms), the last one freed destroys it. Every handle of a process dissects with the same module,
 * one call at a time (ndpi_glue.c). */
int ftpi__ndpi_new(struct ftpi__ctx *cx, struct ftpi__ndpi **out);
void ftpi__ndpi_free(struct ftpi__ctx *cx, struct ftpi__ndpi *n);
/* Handles open on the process's module (0: no module); for tests. */
unsigned long ftpi__ndpi_module_refs(void);

/* Starts classifying one flow; NULL when the pool cap is hit (counted by the pool). */
struct ftpi__ndpi_flow *ftpi__ndpi_flow_new(struct ftpi__ctx *cx, struct ftpi__ndpi *n);
void ftpi__ndpi_flow_free(struct ftpi__ctx *cx, struct ftpi__ndpi *n, struct ftpi__ndpi_flow *f);

/* Feeds one IP packet (starting at the IP header) of the flow. Returns 1 when classification is
 * final (*app, *risks and *name are set; the caller should then free the flow handle), 0 when
 * nDPI wants more packets. name is a static string ("FTP_CONTROL", "TLS", ...).
 * Details: feed every packet of the flow, both directions, payload-less ones included (nDPI tracks
 * the TCP handshake). "Final" means detected and nDPI has no further metadata to dissect (for TLS:
 * once the certificate was seen, so the TLS risks are in), or FTPI__NDPI_PACKET_BUDGET packets
 * were fed (then it gives up by itself, as ftpi__ndpi_giveup). TLS on port 990/989 is reported as
 * FTPI__NDPI_FTPS ("FTPS"; nDPI 4.2 has no FTPS protocol). For FTPI__NDPI_OTHER, name is nDPI's
 * protocol name: owned by the nDPI module, valid until this handle's ftpi__ndpi_free (engine
 * lifetime); the other names are static. Outputs may be NULL. */
int ftpi__ndpi_classify(struct ftpi__ndpi *n, struct ftpi__ndpi_flow *f, const uint8_t *ip,
			size_t iplen, uint64_t ts_us, int *app, uint32_t *risks, const char **name);
/* Gives up on the flow (budget spent): best guess so far. */
void ftpi__ndpi_giveup(struct ftpi__ndpi *n, struct ftpi__ndpi_flow *f, int *app,
		       uint32_t *risks, const char **name);

/* The risks nDPI has set on the flow so far (classification may still be going on). */
uint32_t ftpi__ndpi_risks_now(const struct ftpi__ndpi_flow *f);

/* sizeof nDPI's per-flow struct plus ours (for docs and tests). */
size_t ftpi__ndpi_flow_size(void);

/* nDPI's names of TLS cipher suites and versions, for tls/names.c (installed by the engine,
 * whether or not flows are classified): the name of v into buf (len bytes), suites spelled as
 * IANA spells them ("DH_anon", where nDPI writes "DH_ANON"); 0, or -1 when nDPI does not know
 * v. Thread-safe for every code point nDPI knows; for the others nDPI 4.2's ndpi_cipher2str
 * writes its "0X..." answer into a static buffer, which is only read for its first two bytes. */
int ftpi__ndpi_suite_name(uint16_t v, char *buf, size_t len);
int ftpi__ndpi_version_name(uint16_t v, char *buf, size_t len);

#endif /* FTPI_NDPI_GLUE_H */
