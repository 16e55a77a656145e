/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_x509.c - the certificate review (x509.c) alone, on chains as the TLS reader hands them
 * on. Input: one option byte (bits 0-1 pick the review time: the corpus's reference date, the
 * epoch, far past 2038, or a date from the next 4 bytes), a name length byte and the name (SNI),
 * then certificates as 16-bit big-endian length + DER, leaf first (up to FTPI__TLS_MAX_CERTS).
 * The corpus holds the chains the fuzz_tls corpus's handshakes carry and the lab's certificates.
 * Checks: the texts the review fills are NUL-terminated and printable ASCII (they reach every
 * output), and the cache gives the same verdict when asked twice.
 */
#include <stdlib.h>

#include <string.h>

#include "fuzz_ctx.h"
#include "tls.h"
#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t cap)
{
	const char *z = memchr(s, '\0', cap);
	if (z == NULL)
		abort();
	for (; s < z; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ftpi__x509_store *store;
	const uint8_t *der[FTPI__TLS_MAX_CERTS];
	uint32_t der_len[FTPI__TLS_MAX_CERTS];
	size_t n = 0, i;
	int64_t at;

	if (size < 2)
		return 0;
	if (store == NULL && ftpi__x509_store_new(fuzz_ctx(), NULL, &store) != FTPI_OK)
		return 0;
	switch (data[0] & 3) {
	case 0: at = 1798761600; break;
	case 1: at = 0; break;
	case 2: at = 4102444800LL * 4; break;
	default:
		at = size >= 6 ? (int64_t)((uint32_t)data[2] << 24 | (uint32_t)data[3] << 16 |
					   (uint32_t)data[4] << 8 | data[5]) : 0;
		break;
	}
	size_t name_len = data[1];
	i = 2;
	if (name_len > size - i)
		name_len = size - i;
	char *name = malloc(name_len ? name_len : 1);
	if (name == NULL)
		return 0;
	memcpy(name, data + i, name_len);
	i += name_len;
	while (i + 2 <= size && n < FTPI__TLS_MAX_CERTS) {
		size_t len = (size_t)(data[i] << 8 | data[i + 1]);
		i += 2;
		if (len > size - i)
			len = size - i;
		uint8_t *c = malloc(len ? len : 1); /* own allocation: ASan sees overreads */
		if (c == NULL)
			break;
		memcpy(c, data + i, len);
		der[n] = c;
		der_len[n++] = (uint32_t)len;
		i += len;
	}
	if (n > 0) {
		struct ftpi__x509_result r1, r2;
		int s1 = ftpi__x509_review(store, der, der_len, n, name, name_len, at, &r1);
		int s2 = ftpi__x509_review(store, der, der_len, n, name, name_len, at, &r2);
		if (s1 != s2)
			abort();
		if (s1 == FTPI_OK) {
			check_text(r1.subject, sizeof r1.subject);
			check_text(r1.issuer, sizeof r1.issuer);
			check_text(r1.verify_error, sizeof r1.verify_error);
			if (r1.untrusted != r2.untrusted || r1.name_mismatch != r2.name_mismatch ||
			    r1.self_signed != r2.self_signed || r1.expired != r2.expired ||
			    strcmp(r1.subject, r2.subject) != 0)
				abort();
		}
	}
	for (i = 0; i < n; i++)
		free((void *)der[i]);
	free(name);
	return 0;
}
