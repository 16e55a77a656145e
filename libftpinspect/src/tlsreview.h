/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlsreview.h - what the engine does with TLS and nDPI: turning a parsed handshake (tls.c) and a
 * certificate review (x509.c) into TLS events and tls_* findings, linking encrypted data
 * connections to their control session by TLS session resumption, and feeding nDPI (ndpi_glue.c)
 * with the packets of flows it has not classified yet.
 */
#ifndef FTPI_TLSREVIEW_H
#define FTPI_TLSREVIEW_H

#include "internal.h"

struct ftpi_session;
struct ftpi_dconn;
struct ftpi_flow;
struct ftpi__tls;
struct ftpi_tcp_seg;

int ftpi__tlsreview_init(struct ftpi_engine *e);
void ftpi__tlsreview_release(struct ftpi_engine *e);
/* Fills a public tls_info from the session's handshake and certificate review. */
void ftpi__tlsreview_info(struct ftpi_engine *e, const struct ftpi_session *s,
			  struct ftpi_tls_info *out);
/* The control channel's handshake is as complete as it will get: review it, raise findings. */
void ftpi__tlsreview_report(struct ftpi_engine *e, struct ftpi_session *s, struct ftpi__tls *t,
			    const struct ftpi_endpoint *cli, const struct ftpi_endpoint *srv);
/* A data connection's ClientHello was seen: upgrade its link when it resumes the session. */
void ftpi__tlsreview_link(struct ftpi_engine *e, struct ftpi_session *s, struct ftpi_dconn *d);
/* nDPI: every packet of a flow until it is classified (budgeted). */
void ftpi__tlsreview_packet(struct ftpi_engine *e, struct ftpi_flow *f, int dir,
			    const struct ftpi_tcp_seg *seg);
void ftpi__tlsreview_flow_release(struct ftpi_engine *e, struct ftpi_flow *f);

/* MAC length of a TLS <= 1.2 cipher suite that does not encrypt (..._WITH_NULL_<MAC>), or -1.
 * With such a suite the control channel stays readable: records carry clear text + MAC. */
int ftpi__tls_null_mac_len(uint16_t suite);

/* session.c: raise cleartext_data for a session unless PROT P is in force. */
void ftpi__session_cleartext_data(struct ftpi_engine *e, struct ftpi_session *s, const char *how);

#endif /* FTPI_TLSREVIEW_H */
