/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * app.h - the seam between TCP (flow.c, reasm.c) and the FTP layers (app.c and below). TCP calls
 * these hooks with in-order bytes, gaps and the end of a connection; nothing below this seam
 * knows about the FTP layers, and the FTP layers see a connection only as a struct ftpi_flow's
 * endpoints, role and app pointer. ftpi_stream_*() (engine.c) drive the same hooks directly.
 */
#ifndef FTPI_APP_H
#define FTPI_APP_H

#include "flow.h"

struct ftpi_tcp_seg;

/* A new connection: decide its role (data connection of a session? FTP control by port?). seg is
 * the packet that created it (NULL for streams). */
void ftpi__app_new(struct ftpi_engine *e, struct ftpi_flow *f, const struct ftpi_tcp_seg *seg);
/* Every packet of the flow, before reassembly (SYN/RST tracking, nDPI). */
void ftpi__app_packet(struct ftpi_engine *e, struct ftpi_flow *f, int dir,
		      const struct ftpi_tcp_seg *seg);
/* In-order bytes of one direction (borrowed). */
void ftpi__app_data(struct ftpi_engine *e, struct ftpi_flow *f, int dir, const uint8_t *p,
		    size_t n);
/* n bytes of one direction were lost. */
void ftpi__app_gap(struct ftpi_engine *e, struct ftpi_flow *f, int dir, uint64_t n);
/* The connection ended (both FINs, RST, timeout, eviction or flush). Called once. */
void ftpi__app_close(struct ftpi_engine *e, struct ftpi_flow *f);
/* Frees the flow's app state (after close, or at engine free without events). */
void ftpi__app_release(struct ftpi_engine *e, struct ftpi_flow *f);
uint64_t ftpi__app_session_id(const struct ftpi_flow *f);
/* 21, 990, or one of the config's control_ports. */
int ftpi__is_control_port(const struct ftpi_engine *e, uint16_t port);

#endif /* FTPI_APP_H */
