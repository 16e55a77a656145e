/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fhash.c - see fhash.h. The state is charged to the MISC pool; OpenSSL's digest contexts are
 * allocated by OpenSSL (a few hundred bytes per hashed data connection, outside the caps like
 * certificate review).
 */
#include <string.h>

#include <openssl/evp.h>

#include "fhash.h"

enum { H_MD5, H_SHA1, H_SHA256, H__COUNT };

struct ftpi__fhash {
	EVP_MD_CTX *ctx[H__COUNT];
	unsigned want;
	int dir;    /* the direction hashed; -1 until payload arrives */
	int broken; /* a gap in that direction */
	uint64_t bytes;
	size_t head_len;
	uint8_t head[FTPI_DATA_HEAD_MAX];
};

static const EVP_MD *md_of(int i)
{
	return i == H_MD5 ? EVP_md5() : i == H_SHA1 ? EVP_sha1() : EVP_sha256();
}

static unsigned bit_of(int i)
{
	return i == H_MD5 ? FTPI_HASH_MD5 : i == H_SHA1 ? FTPI_HASH_SHA1 : FTPI_HASH_SHA256;
}

struct ftpi__fhash *ftpi__fhash_new(struct ftpi__ctx *cx, unsigned want)
{
	struct ftpi__fhash *h = ftpi__alloc(cx, FTPI__POOL_MISC, sizeof *h);

	if (h == NULL)
		return NULL;
	h->want = want;
	h->dir = -1;
	for (int i = 0; i < H__COUNT; i++) {
		if (!(want & bit_of(i)))
			continue;
		h->ctx[i] = EVP_MD_CTX_new();
		if (h->ctx[i] == NULL || EVP_DigestInit_ex(h->ctx[i], md_of(i), NULL) != 1) {
			ftpi__fhash_free(cx, h);
			return NULL;
		}
	}
	return h;
}

void ftpi__fhash_update(struct ftpi__fhash *h, int dir, const uint8_t *p, size_t n)
{
	if (h == NULL || n == 0)
		return;
	if (h->dir < 0)
		h->dir = dir;
	if (dir != h->dir || h->broken)
		return;
	if (h->head_len < sizeof h->head) {
		size_t k = FTPI__MIN(n, sizeof h->head - h->head_len);
		memcpy(h->head + h->head_len, p, k);
		h->head_len += k;
	}
	for (int i = 0; i < H__COUNT; i++)
		if (h->ctx[i] != NULL && EVP_DigestUpdate(h->ctx[i], p, n) != 1)
			h->broken = 1;
	h->bytes += n;
}

void ftpi__fhash_gap(struct ftpi__fhash *h, int dir)
{
	if (h != NULL && (h->dir < 0 || h->dir == dir))
		h->broken = 1;
}

void ftpi__fhash_final(struct ftpi__fhash *h, struct ftpi_data_info *di)
{
	uint8_t *out[H__COUNT] = {di->md5, di->sha1, di->sha256};
	unsigned len;

	if (h == NULL)
		return;
	di->head.ptr = (const char *)h->head;
	di->head.len = h->head_len;
	di->hashed_bytes = h->bytes;
	di->hash_dir = h->dir;
	if (h->broken || h->dir < 0)
		return;
	for (int i = 0; i < H__COUNT; i++) {
		if (h->ctx[i] == NULL || EVP_DigestFinal_ex(h->ctx[i], out[i], &len) != 1)
			continue;
		di->hashes |= bit_of(i);
	}
}

void ftpi__fhash_free(struct ftpi__ctx *cx, struct ftpi__fhash *h)
{
	if (h == NULL)
		return;
	for (int i = 0; i < H__COUNT; i++)
		EVP_MD_CTX_free(h->ctx[i]);
	ftpi__free(cx, FTPI__POOL_MISC, h, sizeof *h);
}
