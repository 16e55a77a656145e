/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fhash.h - file hashes: a data connection's payload hashed as it streams (MD5, SHA-1, SHA-256
 * with OpenSSL's EVP digests), one direction only, and its first bytes kept for typing. Nothing
 * else of the payload is kept.
 */
#ifndef FTPI_CORE_FHASH_H
#define FTPI_CORE_FHASH_H

#include "internal.h"

struct ftpi__fhash;

/* want: FTPI_HASH_* bits. NULL when memory is refused (counted) or OpenSSL fails. */
struct ftpi__fhash *ftpi__fhash_new(struct ftpi__ctx *cx, unsigned want);
/* Payload in direction dir: the first direction that carries bytes is the one hashed. */
void ftpi__fhash_update(struct ftpi__fhash *h, int dir, const uint8_t *p, size_t n);
/* Bytes lost in direction dir: that direction's digests cannot be given. */
void ftpi__fhash_gap(struct ftpi__fhash *h, int dir);
/* Fills the digests into di (hashes = the bits given), with head and the byte count. h must
 * stay alive while di is used. */
void ftpi__fhash_final(struct ftpi__fhash *h, struct ftpi_data_info *di);
void ftpi__fhash_free(struct ftpi__ctx *cx, struct ftpi__fhash *h);

#endif /* FTPI_CORE_FHASH_H */
