/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tls.h - a passive, bounded TLS handshake reader for one TCP connection (both directions).
 *
 * It is fed reassembled stream bytes per direction and extracts what a reviewer needs from the
 * clear-text part of the handshake (RFC 5246 §7.4, RFC 8446 §4): versions, cipher suite, SNI,
 * session IDs, session tickets and TLS 1.3 PSK identities (hashed: used to link data connections
 * to their control connection), and, for TLS 1.2 and older, the server's certificate chain (DER,
 * copied into a capped buffer). It does no cryptography and never decrypts. It stops looking once
 * the handshake turns encrypted. The X.509 review is x509.c's job.
 */
#ifndef FTPI_TLS_H
#define FTPI_TLS_H

#include <stdint.h>
#include <stddef.h>

#include "internal.h"


#define FTPI__TLS_MAX_CERTS 8

enum ftpi__tls_state {
	FTPI__TLS_INIT = 0, /* nothing seen */
	FTPI__TLS_HANDSHAKE, /* records are TLS, handshake in progress */
	FTPI__TLS_DONE,      /* everything readable has been read (encrypted now) */
	FTPI__TLS_NOT_TLS    /* the first bytes were not a TLS record */
};

/* Per-direction record/handshake reassembly state. */
struct ftpi__tls_dir {
	uint8_t hdr[5];        /* partial record header */
	uint8_t hdr_len;
	uint32_t rec_left;     /* bytes left in the current record */
	uint8_t rec_type;
	uint8_t encrypted;     /* ChangeCipherSpec seen / TLS 1.3 after ServerHello */
	uint8_t *hs;           /* handshake message reassembly buffer (pool FTPI__POOL_TLS) */
	size_t hs_len, hs_cap;
	uint8_t overflow;      /* a message was larger than max_tls_handshake: skipped */
	/* Added by tls.c: handshake message framing across records and feeds. */
	uint8_t msg_hdr[4];    /* partial handshake message header (type, 24-bit length) */
	uint8_t msg_hdr_len;
	uint8_t msg_keep;      /* the current message is one we parse (buffered in hs) */
	uint32_t msg_len;      /* body length of the current message */
	uint32_t msg_skip;     /* body bytes still to skip (not parsed, or over the cap) */
	uint8_t gone;          /* gap: nothing more is read in this direction */
};

struct ftpi__tls {
	int state; /* enum ftpi__tls_state */
	struct ftpi__tls_dir dir[2]; /* 0 = client to server, 1 = server to client */

	/* ClientHello */
	uint8_t seen_client_hello;
	uint16_t client_version;      /* legacy_version, or highest supported_versions entry */
	char sni[256];                /* server_name (host_name), raw bytes, not NUL-terminated */
	uint16_t sni_len;
	uint8_t client_sid[32];
	uint8_t client_sid_len;
	uint8_t client_ticket_ext;    /* session_ticket extension present */
	uint32_t client_ticket_len;   /* non-empty ticket = resumption attempt */
	uint64_t client_ticket_hash;  /* keyed hash of the ticket bytes */
	uint8_t client_psk;           /* pre_shared_key extension present (TLS 1.3) */
	uint64_t client_psk_hash;     /* hash of the first PSK identity */

	/* ServerHello */
	uint8_t seen_server_hello;
	uint16_t version;             /* negotiated (supported_versions wins over legacy) */
	uint16_t cipher;
	uint8_t server_sid[32];
	uint8_t server_sid_len;
	uint8_t resumed;              /* TLS <= 1.2: server echoed the client's non-empty session ID,
	                               * or accepted a ticket (no Certificate, CCS right away);
	                               * TLS 1.3: server selected a PSK (pre_shared_key in SH) */
	uint8_t server_new_ticket;    /* NewSessionTicket seen in clear (TLS <= 1.2) */
	uint64_t server_ticket_hash;  /* hash of that ticket: matches a later client_ticket_hash */

	/* Certificate (TLS <= 1.2 only) */
	uint8_t seen_certificate;
	uint8_t n_certs;
	const uint8_t *cert[FTPI__TLS_MAX_CERTS]; /* point into certbuf */
	uint32_t cert_len[FTPI__TLS_MAX_CERTS];
	uint8_t *certbuf;             /* pool FTPI__POOL_TLS */
	size_t certbuf_len;

	uint32_t alerts;              /* alert records seen in clear */
	uint8_t malformed;            /* a length field did not fit: parsing stopped */

	/* Added by tls.c. */
	uint8_t certs_truncated;      /* more than FTPI__TLS_MAX_CERTS certificates, or the
	                               * Certificate message was over the cap / out of memory:
	                               * the chain in cert[] is incomplete (n_certs may be 0) */
	uint8_t server_full_hs;       /* server sent Certificate, ServerKeyExchange,
	                               * CertificateRequest or ServerHelloDone: a full (not
	                               * resumed) TLS <= 1.2 handshake */
	uint8_t hrr;                  /* TLS 1.3 HelloRetryRequest seen */
	uint8_t client_offered_13;    /* ClientHello listed TLS 1.3 in supported_versions */
};

void ftpi__tls_init(struct ftpi__tls *t);
/* Frees buffers (not t itself). t is left initialised (as after ftpi__tls_init). */
void ftpi__tls_release(struct ftpi__ctx *cx, struct ftpi__tls *t);
/* Frees only the copied certificate chain (after x509 review): n_certs becomes 0, everything else
 * is kept. Handshake buffers are freed by tls.c itself once both directions are done. */
void ftpi__tls_drop_certs(struct ftpi__ctx *cx, struct ftpi__tls *t);

/* Feeds in-order bytes of one direction (0 = client to server). Returns 1 while the handshake may
 * still yield something, 0 once nothing more can be learned (done, not TLS, or malformed): the
 * caller may stop feeding. Never reads outside [data, data+len).
 * Details: state becomes FTPI__TLS_DONE when both directions are encrypted (ChangeCipherSpec or
 * application data seen; for TLS 1.3 both as soon as the ServerHello is read) or gone (gap);
 * the fields above are final then. A bad dir, NULL t, or a call after 0 was returned is a no-op
 * returning 0. Memory: at most one message buffer per direction (<= max_tls_handshake, only for
 * ClientHello, ServerHello, Certificate and NewSessionTicket; others are skipped unbuffered) plus
 * the certificate copy (<= max_tls_handshake); buffers are freed when the state leaves
 * HANDSHAKE; certbuf stays until ftpi__tls_drop_certs/ftpi__tls_release. */
int ftpi__tls_feed(struct ftpi__ctx *cx, struct ftpi__tls *t, int dir, const uint8_t *data,
		   size_t len);
/* A gap in one direction: the reader gives up on that direction. */
void ftpi__tls_gap(struct ftpi__tls *t, int dir);

/* Quick test on the first bytes of a stream: 1 = looks like a TLS ClientHello record
 * (0x16 0x03 0x00..0x04, handshake type 1), 0 = no, -1 = need more bytes. */
int ftpi__tls_sniff(const uint8_t *data, size_t len);

/* Names of versions and suites, weak ones: names.h. */

#endif /* FTPI_TLS_H */
