/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_tls.c - the TLS handshake reader (tls.c) alone, both directions, then the X.509 review
 * (x509.c) of whatever chain it copied. Input: one option byte, a 16-bit big-endian length of the
 * client-to-server bytes, those bytes, then the server-to-client bytes. The option byte picks the
 * feed pattern: bits 0-3 the chunk size (1 << n bytes), bit 4 which direction starts, bits 5-6 the
 * handshake cap (64 KiB, 4 KiB, 1 KiB, 256 bytes), bit 7 a small engine memory cap. Chunks of the
 * two directions alternate. Checks: no crash or overread (ASan), memory returned to zero.
 * The corpus (corpus/fuzz_tls/) holds recorded handshakes from tests/data/tls in this format.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tls.h"
#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[4] = {64u << 10, 4096, 1024, 256};
	struct ftpi__ctx *e;
	struct ftpi__tls t;
	const uint8_t *side[2];
	size_t len[2], off[2] = {0, 0}, chunk;
	int first;

	if (size < 3)
		return 0;
	chunk = (size_t)1 << (data[0] & 15);
	first = (data[0] >> 4) & 1;
	len[0] = (size_t)((data[1] << 8) | data[2]);
	if (len[0] > size - 3)
		len[0] = size - 3;
	side[0] = data + 3;
	side[1] = data + 3 + len[0];
	len[1] = size - 3 - len[0];

	/* A bare engine: the reader only needs the config, the caps and the pools. */
	e = calloc(1, sizeof *e);
	if (e == NULL)
		return 0;
	e->mem_cap = (data[0] & 0x80) ? 2048 : (16u << 20);
	e->cfg.max_tls_handshake = caps[(data[0] >> 5) & 3];
	e->cfg.hash_seed[0] = 1;
	e->cfg.hash_seed[1] = 2;

	ftpi__tls_init(&t);
	while (off[0] < len[0] || off[1] < len[1]) {
		for (int k = 0; k < 2; k++) {
			int d = k ^ first;
			size_t n = len[d] - off[d];
			if (n > chunk)
				n = chunk;
			if (n == 0)
				continue;
			/* Each piece in its own allocation, so ASan sees reads past its end. */
			uint8_t *piece = malloc(n);
			if (piece == NULL)
				continue;
			memcpy(piece, side[d] + off[d], n);
			ftpi__tls_feed(e, &t, d, piece, n);
			free(piece);
			off[d] += n;
		}
	}
	if (t.sni_len > sizeof t.sni || t.n_certs > FTPI__TLS_MAX_CERTS)
		abort();

	if (t.n_certs > 0) {
		struct ftpi__x509_store *s = NULL;
		struct ftpi__x509_result r;
		if (ftpi__x509_store_new(e, NULL, &s) == FTPI_OK) {
			ftpi__x509_review(s, t.cert, t.cert_len, t.n_certs, t.sni, t.sni_len,
					  1798761600, &r);
			if (memchr(r.subject, '\0', sizeof r.subject) == NULL)
				abort();
			ftpi__x509_store_free(e, s);
		}
	}
	ftpi__tls_release(e, &t);
	if (e->mem_used != 0)
		abort();
	free(e);
	return 0;
}
