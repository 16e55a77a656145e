/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlsreview.c - the engine's use of TLS and nDPI. For the control channel of an FTPS session it
 * turns what tls.c read from the handshake into a TLS event and the tls_* findings (weak
 * version, weak cipher, and for TLS <= 1.2 the certificate review of x509.c: self-signed,
 * expired, untrusted, name mismatch; TLS 1.3 says the certificate was not visible). For data
 * connections it proves the link to the control session when the ClientHello resumes the control
 * channel's TLS session (session ID or ticket, TLS <= 1.2) and groups TLS 1.3 data connections by
 * PSK identity. It also feeds nDPI with packets of unclassified flows, within a budget.
 */
#include "decode.h"
#include "engine.h"
#include "flow.h"
#include "ndpi_glue.h"
#include "session.h"
#include "tlsreview.h"
#include "x509.h"

#define NDPI_PACKET_BUDGET 12

int ftpi__tlsreview_init(struct ftpi_engine *e)
{
	/* nDPI's detection module (megabytes, tens of millions of instructions to build) is made
	 * when the first flow needs it, so engines that see no unknown traffic never pay for it. */
	(void)e;
	return FTPI_OK;
}

void ftpi__tlsreview_release(struct ftpi_engine *e)
{
#ifdef FTPI_WITH_NDPI
	if (e->ndpi) {
		ftpi__ndpi_free(e, e->ndpi);
		e->ndpi = NULL;
	}
#endif
	if (e->x509) {
		ftpi__x509_store_free(e, e->x509);
		e->x509 = NULL;
	}
}

void ftpi__tlsreview_info(struct ftpi_engine *e, const struct ftpi_session *s,
			  struct ftpi_tls_info *out)
{
	(void)e;
	memset(out, 0, sizeof *out);
	const struct ftpi__tls *t = s->tlsp;
	if (t == NULL)
		return;
	if (t->seen_server_hello) {
		out->version = t->version;
		out->cipher = t->cipher;
		out->version_name = ftpi__tls_version_name(t->version);
		out->cipher_name = ftpi__tls_cipher_name(t->cipher);
	}
	out->sni.ptr = t->sni;
	out->sni.len = t->sni_len;
	if (s->cert && s->cert->parsed) {
		out->cert_subject.ptr = s->cert->subject;
		out->cert_subject.len = strlen(s->cert->subject);
		out->cert_issuer.ptr = s->cert->issuer;
		out->cert_issuer.len = strlen(s->cert->issuer);
		out->cert_not_after = s->cert->not_after;
		out->cert_not_before = s->cert->not_before;
	}
}

static void cert_findings(struct ftpi_engine *e, struct ftpi_session *s,
			  const struct ftpi__x509_result *r, const char *name, size_t name_len)
{
	char msg[400], evd[600];
	size_t n;

	n = ftpi__buf_printf(evd, sizeof evd, 0, "subject %s; issuer %s", r->subject, r->issuer);
	if (r->self_signed)
		ftpi__finding(e, s, FTPI_FINDING_TLS_CERT_SELF_SIGNED, NULL, NULL,
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
		ftpi__finding(e, s, FTPI_FINDING_TLS_CERT_EXPIRED, NULL, NULL, msg, evd2);
	}
	if (r->untrusted && !r->self_signed) {
		ftpi__buf_printf(msg, sizeof msg, 0,
				 "the FTPS server certificate does not chain to a trusted CA (%s)",
				 r->verify_error[0] ? r->verify_error : "verification failed");
		ftpi__finding(e, s, FTPI_FINDING_TLS_CERT_UNTRUSTED, NULL, NULL, msg, evd);
	}
	if (r->name_mismatch) {
		n = ftpi__buf_printf(msg, sizeof msg, 0, "the FTPS server certificate is not valid "
							 "for the name \"");
		n = ftpi__buf_escape(msg, sizeof msg, n, name, FTPI__MIN(name_len, 100));
		ftpi__buf_printf(msg, sizeof msg, n, "\"");
		ftpi__finding(e, s, FTPI_FINDING_TLS_CERT_NAME_MISMATCH, NULL, NULL, msg, evd);
	}
}

void ftpi__tlsreview_report(struct ftpi_engine *e, struct ftpi_session *s, struct ftpi__tls *t,
			    const struct ftpi_endpoint *cli, const struct ftpi_endpoint *srv)
{
	char msg[300], evd[300];
	(void)cli;
	(void)srv;

	if (t == NULL || !t->seen_server_hello)
		return;
	FTPI__COUNT(e, tls_handshakes);
	const char *vn = ftpi__tls_version_name(t->version);
	const char *cn = ftpi__tls_cipher_name(t->cipher);
	if (ftpi__tls_version_weak(t->version)) {
		ftpi__buf_printf(msg, sizeof msg, 0, "weak TLS protocol version %s negotiated",
				 vn ? vn : "?");
		ftpi__buf_printf(evd, sizeof evd, 0, "ServerHello version 0x%04x", t->version);
		ftpi__finding(e, s, FTPI_FINDING_TLS_WEAK_VERSION, NULL, NULL, msg, evd);
	}
	if (ftpi__tls_cipher_weak(t->cipher)) {
		ftpi__buf_printf(msg, sizeof msg, 0, "weak TLS cipher suite %s negotiated",
				 cn ? cn : "?");
		ftpi__buf_printf(evd, sizeof evd, 0, "ServerHello cipher suite 0x%04x", t->cipher);
		ftpi__finding(e, s, FTPI_FINDING_TLS_WEAK_CIPHER, NULL, NULL, msg, evd);
	}
	if (t->version >= 0x0304) {
		ftpi__finding_once(e, s, FTPI_FINDING_TLS_CERT_NOT_VISIBLE,
				   "TLS 1.3: the server certificate is encrypted and could not be "
				   "reviewed (not a sign that it is fine)",
				   vn ? vn : "TLSv1.3");
	} else if (t->n_certs == 0 && t->certs_truncated) {
		ftpi__finding_once(e, s, FTPI_FINDING_TLS_CERT_NOT_VISIBLE,
				   "the server certificate chain was larger than the handshake cap "
				   "and could not be reviewed",
				   "Certificate message over max_tls_handshake");
	} else if (t->n_certs > 0) {
		if (e->x509 == NULL && !e->x509_failed) {
			if (ftpi__x509_store_new(e, e->cfg.ca_file, &e->x509) != FTPI_OK) {
				e->x509 = NULL;
				e->x509_failed = 1;
			}
		}
		if (e->x509) {
			if (s->cert == NULL)
				s->cert = ftpi__alloc(e, FTPI__POOL_TLS, sizeof *s->cert);
			if (s->cert) {
				const char *name = t->sni;
				size_t name_len = t->sni_len;
				if (name_len == 0 && e->cfg.server_name) {
					name = e->cfg.server_name;
					name_len = strlen(name);
				}
				const uint8_t *const *der = (const uint8_t *const *)t->cert;
				if (ftpi__x509_review(e->x509, der, t->cert_len, t->n_certs, name,
						      name_len, (int64_t)(e->now_us / 1000000),
						      s->cert) == FTPI_OK)
					cert_findings(e, s, s->cert, name, name_len);
			}
		}
	}
	struct ftpi_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_TLS;
	ev.session_id = s->id;
	ev.client = s->cli;
	ev.server = s->srv;
	ftpi__tlsreview_info(e, s, &ev.u.tls);
	ftpi__emit(e, &ev);
	/* certificates are no longer needed */
	ftpi__tls_drop_certs(e, t);
}

void ftpi__tlsreview_link(struct ftpi_engine *e, struct ftpi_session *s, struct ftpi_dconn *d)
{
	(void)e;
	const struct ftpi__tls *c = s->tlsp, *x = d->tlsp;
	if (c == NULL || x == NULL || !x->seen_client_hello || d->link == FTPI_LINK_TLS_RESUMPTION)
		return;
	if (d->link != FTPI_LINK_INFERRED && d->link != FTPI_LINK_TLS_PSK)
		return;
	if (x->client_sid_len && c->server_sid_len == x->client_sid_len &&
	    memcmp(c->server_sid, x->client_sid, x->client_sid_len) == 0) {
		d->link = FTPI_LINK_TLS_RESUMPTION;
		return;
	}
	if (x->client_ticket_len && c->server_new_ticket &&
	    x->client_ticket_hash == c->server_ticket_hash) {
		d->link = FTPI_LINK_TLS_RESUMPTION;
		return;
	}
	if (x->client_ticket_len && c->client_ticket_len &&
	    x->client_ticket_hash == c->client_ticket_hash) {
		d->link = FTPI_LINK_TLS_RESUMPTION; /* the same ticket the control channel presented */
		return;
	}
	if (x->client_psk) {
		if (s->last_psk_hash == 0)
			s->last_psk_hash = x->client_psk_hash;
		if (s->last_psk_hash == x->client_psk_hash)
			d->link = FTPI_LINK_TLS_PSK;
	}
}

#ifdef FTPI_WITH_NDPI
static void tlsreview_ndpi_stop(struct ftpi_engine *e, struct ftpi_flow *f)
{
	if (f->ndpi) {
		int app = 0;
		uint32_t risks = 0;
		const char *name = NULL;
		ftpi__ndpi_giveup(e->ndpi, f->ndpi, &app, &risks, &name);
		if (name && f->app_name == NULL)
			f->app_name = name;
		f->ndpi_risks |= risks;
		ftpi__ndpi_flow_free(e, e->ndpi, f->ndpi);
	}
	f->ndpi = NULL;
	f->ndpi_done = 1;
}
#endif

void ftpi__tlsreview_packet(struct ftpi_engine *e, struct ftpi_flow *f, int dir,
			    const struct ftpi_tcp_seg *seg)
{
	(void)dir;
#ifdef FTPI_WITH_NDPI
	if (!e->cfg.use_ndpi || f->ndpi_done || f->external)
		return;
	/* nDPI helps only where the engine's own parsers are blind: a flow still being sniffed
	 * (FTP on an unusual port) and a control channel (its risk verdicts join the evidence).
	 * Data connections and other traffic are never fed to it. */
	if (f->role == FTPI_ROLE_DATA || f->role == FTPI_ROLE_OTHER) {
		tlsreview_ndpi_stop(e, f);
		return;
	}
	if (seg->wire_len == 0)
		return; /* nDPI's dissectors look at payload: bare ACKs and SYNs are not fed */
	if (f->role == FTPI_ROLE_CONTROL && f->app) {
		/* a readable control channel: nDPI's verdict matters up to the password */
		const struct ftpi_session *cs = f->app;
		if (!FTPI__UNREADABLE(cs) && (cs->pass_clear || cs->login != FTPI_LOGIN_NONE)) {
			tlsreview_ndpi_stop(e, f);
			return;
		}
	}
	if (e->ndpi == NULL) {
		if (e->ndpi_failed || ftpi__ndpi_new(e, &e->ndpi) != FTPI_OK) {
			e->ndpi_failed = 1;
			e->ndpi = NULL;
			f->ndpi_done = 1;
			return;
		}
	}
	if (f->ndpi == NULL) {
		f->ndpi = ftpi__ndpi_flow_new(e, e->ndpi);
		if (f->ndpi == NULL) {
			f->ndpi_done = 1;
			return;
		}
	}
	int app = 0;
	uint32_t risks = 0;
	const char *name = NULL;
	int done = ftpi__ndpi_classify(e->ndpi, f->ndpi, seg->ip, seg->ip_len, e->now_us, &app,
				       &risks, &name);
	if (!done)
		f->ndpi_risks |= ftpi__ndpi_risks_now(f->ndpi);
	if (!done && f->half[0].packets + f->half[1].packets + 1 >= NDPI_PACKET_BUDGET) {
		ftpi__ndpi_giveup(e->ndpi, f->ndpi, &app, &risks, &name);
		done = 1;
	}
	if (done) {
		f->ndpi_done = 1;
		f->app_name = name;
		f->ndpi_risks |= risks;
		FTPI__COUNT(e, ndpi_classified);
		ftpi__ndpi_flow_free(e, e->ndpi, f->ndpi);
		f->ndpi = NULL;
	}
#else
	(void)e;
	(void)f;
	(void)seg;
#endif
}

void ftpi__tlsreview_flow_release(struct ftpi_engine *e, struct ftpi_flow *f)
{
#ifdef FTPI_WITH_NDPI
	if (f->ndpi && e->ndpi)
		ftpi__ndpi_flow_free(e, e->ndpi, f->ndpi);
#else
	(void)e;
#endif
	f->ndpi = NULL;
}

int ftpi__tls_null_mac_len(uint16_t suite)
{
	const char *n = ftpi__tls_cipher_name(suite);
	const char *w;
	if (n == NULL || suite == 0x0000 || (w = strstr(n, "_WITH_NULL_")) == NULL)
		return -1;
	w += strlen("_WITH_NULL_");
	if (strcmp(w, "MD5") == 0)
		return 16;
	if (strcmp(w, "SHA") == 0)
		return 20;
	if (strcmp(w, "SHA256") == 0)
		return 32;
	if (strcmp(w, "SHA384") == 0)
		return 48;
	return -1;
}
