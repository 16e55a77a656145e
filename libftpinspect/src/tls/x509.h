/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x509.h - review of a server certificate chain seen in a TLS handshake, with OpenSSL: subject,
 * issuer, validity at the capture's time, self-signed, chain to the trusted CAs, and host name.
 * The only unit that includes OpenSSL headers. OpenSSL's own allocations are not accounted to the
 * engine's pools (documented in docs/internals.md); results are cached per certificate so that
 * many connections presenting one certificate cost one verification.
 */
#ifndef FTPI_X509_H
#define FTPI_X509_H

#include <stdint.h>
#include <stddef.h>

#include "internal.h"

struct ftpi__x509_store;

struct ftpi__x509_result {
	char subject[256];   /* RFC 2253, escaped printable ASCII */
	char issuer[256];
	int64_t not_before, not_after; /* epoch seconds */
	uint8_t parsed;      /* the leaf certificate parsed */
	uint8_t self_signed;
	uint8_t expired;     /* not_after < at */
	uint8_t not_yet_valid;
	uint8_t untrusted;   /* chain does not verify against the store (other than time) */
	uint8_t name_mismatch; /* only when a name was given */
	char verify_error[128]; /* OpenSSL's reason when untrusted */
	/* Added by x509.c. */
	uint8_t chain_time_invalid; /* an intermediate or the anchor is outside its validity at `at`
	                             * (not counted as untrusted; the leaf's own dates are above) */
	uint8_t cached;             /* this result came from the cache */
	uint8_t n_parsed;           /* certificates of the chain that parsed */
};

/* Loads the CA bundle (NULL = OpenSSL's default paths). FTPI_OK, FTPI_E_INVAL (unreadable file),
 * FTPI_E_NOMEM. */
int ftpi__x509_store_new(struct ftpi__ctx *cx, const char *ca_file, struct ftpi__x509_store **out);
/* The same with a CA directory too (either may be NULL; both NULL = OpenSSL's default paths). */
int ftpi__x509_store_new_paths(struct ftpi__ctx *cx, const char *ca_file, const char *ca_dir,
			       struct ftpi__x509_store **out);
/* Counts the certificates a CA file (PEM bundle) or a CA directory (every regular file in it,
 * at most 4096) holds. FTPI_OK with *n (0 = none), or FTPI_E_INVAL when it cannot be read. */
int ftpi__x509_trust_count(const char *ca_file, const char *ca_dir, uint64_t *n);
void ftpi__x509_store_free(struct ftpi__ctx *cx, struct ftpi__x509_store *s);

/* Reviews a DER chain (leaf first). name/name_len: the SNI or configured server name (may be
 * empty: no name check). at: capture time in epoch seconds. Fills *out; returns FTPI_OK or
 * FTPI_E_INVAL when the leaf does not parse (out->parsed = 0, nothing else set).
 * Details: der[] is borrowed for the call. Trust is decided with time errors ignored (they are
 * reported by expired / not_yet_valid / chain_time_invalid instead), so a cached result holds for
 * any `at`; the cache (64 entries, round robin) is keyed by SHA-256 over the whole chain and the
 * name. A name that is an IPv4/IPv6 literal is checked with X509_check_ip_asc, others with
 * X509_check_host (wildcards allowed, RFC 6125). Not thread-safe (one store per engine). */
int ftpi__x509_review(struct ftpi__x509_store *s, const uint8_t *const *der, const uint32_t *der_len,
		      size_t n, const char *name, size_t name_len, int64_t at,
		      struct ftpi__x509_result *out);

/* Cache counters, for tests and stats. */
void ftpi__x509_cache_stats(const struct ftpi__x509_store *s, uint64_t *hits, uint64_t *misses);

#endif /* FTPI_X509_H */
