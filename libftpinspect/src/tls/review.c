/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlsreview.c - the engine's use of TLS and nDPI. For the control channel of an FTPS session it
 * turns what tls.c read from the handshake into a TLS event and the tls_* findings (weak
 * version, weak cipher, and for TLS <= 1.2 the certificate review of x509.c: self-signed,
 * expired, untrusted, name mismatch; TLS 1.3 says the certificate was not visible). For data
 * connections it proves the link to the control session when the ClientHello resumes the control
 * channel's TLS session (session ID or ticket, TLS <= 1.2) and groups TLS 1.3 data connections by
 * PSK identity. Findings go out on the subject it is given; it knows no session.
 */
#include "review.h"

#include "sink.h"
#include "x509.h"

void ftpi__tlsreview_release(struct ftpi__ctx *cx, struct ftpi__tlsrev *r)
{
	if (r->x509) {
		ftpi__x509_store_free(cx, r->x509);
		r->x509 = NULL;
	}
	ftpi__tls_names_release(&r->names);
}

void ftpi__tlsreview_info(struct ftpi__tlsrev *r, const struct ftpi__tls *t,
			  const struct ftpi__x509_result *cert, struct ftpi_tls_info *out,
			  struct ftpi__tls_namebufs *nb)
{
	memset(out, 0, sizeof *out);
	if (t == NULL)
		return;
	if (t->seen_server_hello) {
		out->version = t->version;
		out->cipher = t->cipher;
		out->version_name = ftpi__tls_version_name(&r->names, t->version, nb->version);
		out->cipher_name = ftpi__tls_cipher_name(&r->names, t->cipher, nb->cipher);
	}
	out->sni.ptr = t->sni;
	out->sni.len = t->sni_len;
	if (cert && cert->parsed) {
		out->cert_subject.ptr = cert->subject;
		out->cert_subject.len = strlen(cert->subject);
		out->cert_issuer.ptr = cert->issuer;
		out->cert_issuer.len = strlen(cert->issuer);
		out->cert_not_after = cert->not_after;
		out->cert_not_before = cert->not_before;
	}
}

static void cert_findings(struct ftpi__ctx *cx, struct ftpi__subject *s,
			  const struct ftpi__x509_result *r, const char *name, size_t name_len)
{
	char msg[400], evd[600];
	size_t n;

	n = ftpi__buf_printf(evd, sizeof evd, 0, "subject %s; issuer %s", r->subject, r->issuer);
	if (r->self_signed)
		ftpi__finding(cx, s, FTPI_FINDING_TLS_CERT_SELF_SIGNED, NULL, NULL,
			      "the FTPS server certificate is self-signed: clients cannot verify "
			      "the server",
			      evd);
	if (r->expired || r->not_yet_valid) {
		ftpi__buf_printf(msg, sizeof msg, 0,
				 "the FTPS server certificate is %s at the capture's time",
				 r->expired ? "expired" : "not yet valid");
		char evd2[700];
		size_t k = ftpi__buf_printf(evd2, sizeof evd2, 0, "%s; not before %lld, not after %lld",
					    evd, (long long)r->not_before, (long long)r->not_after);
		(void)k;
		ftpi__finding(cx, s, FTPI_FINDING_TLS_CERT_EXPIRED, NULL, NULL, msg, evd2);
	}
	if (r->untrusted && !r->self_signed) {
		ftpi__buf_printf(msg, sizeof msg, 0,
				 "the FTPS server certificate does not chain to a trusted CA (%s)",
				 r->verify_error[0] ? r->verify_error : "verification failed");
		ftpi__finding(cx, s, FTPI_FINDING_TLS_CERT_UNTRUSTED, NULL, NULL, msg, evd);
	}
	if (r->name_mismatch) {
		n = ftpi__buf_printf(msg, sizeof msg, 0, "the FTPS server certificate is not valid "
							 "for the name \"");
		n = ftpi__buf_escape(msg, sizeof msg, n, name, FTPI__MIN(name_len, 100));
		ftpi__buf_printf(msg, sizeof msg, n, "\"");
		ftpi__finding(cx, s, FTPI_FINDING_TLS_CERT_NAME_MISMATCH, NULL, NULL, msg, evd);
	}
}

/* Reviews the certificate chain the handshake carried; the result goes to *cert. */
static void review_chain(struct ftpi__ctx *cx, struct ftpi__tlsrev *r, struct ftpi__subject *s,
			 const struct ftpi__tls *t, struct ftpi__x509_result **cert)
{
	if (r->x509 == NULL && !r->x509_failed) {
		if (ftpi__x509_store_new_paths(cx, cx->cfg.ca_file, cx->cfg.ca_dir, &r->x509) !=
		    FTPI_OK) {
			r->x509 = NULL;
			r->x509_failed = 1;
		}
	}
	if (r->x509 == NULL)
		return;
	if (*cert == NULL)
		*cert = ftpi__alloc(cx, FTPI__POOL_TLS, sizeof **cert);
	if (*cert == NULL)
		return;
	const char *name = t->sni;
	size_t name_len = t->sni_len;
	if (name_len == 0 && cx->cfg.server_name) {
		name = cx->cfg.server_name;
		name_len = strlen(name);
	}
	const uint8_t *const *der = (const uint8_t *const *)t->cert;
	if (ftpi__x509_review(r->x509, der, t->cert_len, t->n_certs, name, name_len,
			      (int64_t)(cx->now_us / 1000000), *cert) == FTPI_OK)
		cert_findings(cx, s, *cert, name, name_len);
}

void ftpi__tlsreview_weak(struct ftpi__ctx *cx, struct ftpi__tlsrev *r, struct ftpi__subject *s,
			  const struct ftpi__tls *t, const struct ftpi_endpoint *cli,
			  const struct ftpi_endpoint *srv, const char *where)
{
	char msg[200 + 2 * FTPI__TLS_NAME_MAX], evd[100];
	struct ftpi__tls_namebufs nb;
	const char *vn = ftpi__tls_version_name(&r->names, t->version, nb.version);
	const char *cn = ftpi__tls_cipher_name(&r->names, t->cipher, nb.cipher);
	int data = *where != '\0'; /* a data connection: once per session */
	if (ftpi__tls_version_weak(t->version) &&
	    !(data && ftpi__subject_has(s, FTPI_FINDING_TLS_WEAK_VERSION))) {
		ftpi__buf_printf(msg, sizeof msg, 0, "weak TLS protocol version %s negotiated%s", vn,
				 where);
		ftpi__buf_printf(evd, sizeof evd, 0, "ServerHello version 0x%04x", t->version);
		ftpi__finding(cx, s, FTPI_FINDING_TLS_WEAK_VERSION, cli, srv, msg, evd);
	}
	if (ftpi__tls_cipher_weak(&r->names, t->cipher) &&
	    !(data && ftpi__subject_has(s, FTPI_FINDING_TLS_WEAK_CIPHER))) {
		ftpi__buf_printf(msg, sizeof msg, 0, "weak TLS cipher suite %s negotiated%s", cn,
				 where);
		ftpi__buf_printf(evd, sizeof evd, 0, "ServerHello cipher suite 0x%04x", t->cipher);
		ftpi__finding(cx, s, FTPI_FINDING_TLS_WEAK_CIPHER, cli, srv, msg, evd);
	}
}

void ftpi__tlsreview_report(struct ftpi__ctx *cx, struct ftpi__tlsrev *r, struct ftpi__subject *s,
			    struct ftpi__tls *t, struct ftpi__x509_result **cert)
{
	if (t == NULL || !t->seen_server_hello)
		return;
	FTPI__COUNT(cx, tls_handshakes);
	struct ftpi__tls_namebufs nb;
	const char *vn = ftpi__tls_version_name(&r->names, t->version, nb.version);
	ftpi__tlsreview_weak(cx, r, s, t, NULL, NULL, "");
	if (t->version >= 0x0304) {
		ftpi__finding_once(cx, s, FTPI_FINDING_TLS_CERT_NOT_VISIBLE,
				   "TLS 1.3: the server certificate is encrypted and could not be "
				   "reviewed (not a sign that it is fine)",
				   vn);
	} else if (t->n_certs == 0 && t->certs_truncated) {
		ftpi__finding_once(cx, s, FTPI_FINDING_TLS_CERT_NOT_VISIBLE,
				   "the server certificate chain was larger than the handshake cap "
				   "and could not be reviewed",
				   "Certificate message over max_tls_handshake");
	} else if (t->n_certs > 0) {
		review_chain(cx, r, s, t, cert);
	}
	struct ftpi_event ev;
	ftpi__event_of(&ev, FTPI_EV_TLS, s);
	ftpi__tlsreview_info(r, t, *cert, &ev.u.tls, &nb);
	ftpi__emit(cx, &ev);
	/* certificates are no longer needed */
	ftpi__tls_drop_certs(cx, t);
}

int ftpi__tlsreview_link(const struct ftpi__tls *c, uint64_t *last_psk_hash,
			 const struct ftpi__tls *x, int link)
{
	if (c == NULL || x == NULL || !x->seen_client_hello || link == FTPI_LINK_TLS_RESUMPTION)
		return link;
	if (link != FTPI_LINK_INFERRED && link != FTPI_LINK_TLS_PSK)
		return link;
	/* TLS 1.3 echoes the legacy session ID for middleboxes: only the PSK proves resumption */
	int tls12 = c->version < 0x0304 && !x->client_psk;
	if (tls12 && x->client_sid_len && c->server_sid_len == x->client_sid_len &&
	    memcmp(c->server_sid, x->client_sid, x->client_sid_len) == 0)
		return FTPI_LINK_TLS_RESUMPTION;
	if (tls12 && x->client_ticket_len && c->server_new_ticket &&
	    x->client_ticket_hash == c->server_ticket_hash)
		return FTPI_LINK_TLS_RESUMPTION;
	if (tls12 && x->client_ticket_len && c->client_ticket_len &&
	    x->client_ticket_hash == c->client_ticket_hash)
		return FTPI_LINK_TLS_RESUMPTION; /* the same ticket the control channel presented */
	if (x->client_psk) {
		/* TLS 1.3 tickets are issued encrypted, so the identity cannot be traced to the
		 * control channel; the server accepting the PSK (pre_shared_key in its ServerHello)
		 * proves it resumed a session it gave this client. Without the ServerHello, the
		 * session's data connections that share one identity are grouped. */
		if (x->seen_server_hello && x->resumed && x->version >= 0x0304)
			return FTPI_LINK_TLS_PSK;
		if (*last_psk_hash == 0)
			*last_psk_hash = x->client_psk_hash;
		if (*last_psk_hash == x->client_psk_hash)
			return FTPI_LINK_TLS_PSK;
	}
	return link;
}
