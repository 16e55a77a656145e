/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * review.h - what the engine concludes from a TLS handshake: the TLS event and the tls_*
 * findings of a control channel (version, cipher, certificate review), and the proof that a
 * data connection resumes its control channel's TLS session.
 */
#ifndef FTPI_REVIEW_H
#define FTPI_REVIEW_H

#include "names.h"
#include "sink.h"
#include "tls.h"

struct ftpi__x509_store;
struct ftpi__x509_result;

/* The review's engine-wide state: the CA store, loaded on first use; the names of versions and
 * suites (OpenSSL's objects, the lookups the engine installs). */
struct ftpi__tlsrev {
	struct ftpi__x509_store *x509;
	int x509_failed;
	struct ftpi__tls_names names;
};

void ftpi__tlsreview_release(struct ftpi__ctx *cx, struct ftpi__tlsrev *r);
/* Fills a public tls_info from a handshake and its certificate review (cert may be NULL); the
 * names point into nb (or at static strings), which must outlive the event. */
void ftpi__tlsreview_info(struct ftpi__tlsrev *r, const struct ftpi__tls *t,
			  const struct ftpi__x509_result *cert, struct ftpi_tls_info *out,
			  struct ftpi__tls_namebufs *nb);
/* A control channel's handshake is as complete as it will get: review it, raise findings on s,
 * emit the TLS event. The certificate review is kept in *cert (allocated on first use). */
void ftpi__tlsreview_report(struct ftpi__ctx *cx, struct ftpi__tlsrev *r, struct ftpi__subject *s,
			    struct ftpi__tls *t, struct ftpi__x509_result **cert);
/* Weak version or suite in a handshake: the tls_weak_* findings on s. where: "" for the control
 * channel, else the text that names the connection (then raised once per session). */
void ftpi__tlsreview_weak(struct ftpi__ctx *cx, struct ftpi__tlsrev *r, struct ftpi__subject *s,
			  const struct ftpi__tls *t, const struct ftpi_endpoint *cli,
			  const struct ftpi_endpoint *srv, const char *where);
/* A data connection's ClientHello (data) against its control channel's handshake (control):
 * returns the link kind it proves (enum ftpi_link), or link unchanged. last_psk_hash groups the
 * session's TLS 1.3 data connections by PSK identity. */
int ftpi__tlsreview_link(const struct ftpi__tls *control, uint64_t *last_psk_hash,
			 const struct ftpi__tls *data, int link);

#endif /* FTPI_REVIEW_H */
