/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * siphash.h - SipHash-1-3 (Aumasson & Bernstein), 64-bit output, keyed with the config's hash
 * seed: the flow table's bucket hash (flow/) and the hashes of delivered control-channel ranges
 * that overlaps are compared with (reasm/). Not a cryptographic commitment: the default seed is
 * public, so set hash_seed where crafted collisions matter.
 */
#ifndef FTPI_SIPHASH_H
#define FTPI_SIPHASH_H

#include <stdint.h>
#include <string.h>

#define FTPI__ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define FTPI__SIPROUND                                                                             \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = FTPI__ROTL(v1, 13);                                                           \
		v1 ^= v0;                                                                          \
		v0 = FTPI__ROTL(v0, 32);                                                           \
		v2 += v3;                                                                          \
		v3 = FTPI__ROTL(v3, 16);                                                           \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = FTPI__ROTL(v3, 21);                                                           \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = FTPI__ROTL(v1, 17);                                                           \
		v1 ^= v2;                                                                          \
		v2 = FTPI__ROTL(v2, 32);                                                           \
	} while (0)

static inline uint64_t ftpi__sip_load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8); /* host-order words: only equality matters */
	return v;
}

static inline uint64_t ftpi__siphash13(const uint64_t key[2], const uint8_t *m, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	size_t i, blocks = len / 8;
	uint64_t b = (uint64_t)len << 56;

	for (i = 0; i < blocks; i++) {
		uint64_t mi = ftpi__sip_load64(m + i * 8);
		v3 ^= mi;
		FTPI__SIPROUND;
		v0 ^= mi;
	}
	for (size_t j = 0; j < (len & 7); j++)
		b |= (uint64_t)m[blocks * 8 + j] << (8 * j);
	v3 ^= b;
	FTPI__SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	FTPI__SIPROUND;
	FTPI__SIPROUND;
	FTPI__SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

#endif /* FTPI_SIPHASH_H */
