/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cursor.h - a bounds-checked big-endian byte reader (tcpdump's GET_ rule without longjmp).
 * A read past the end sets the sticky `bad` flag and returns 0 without reading; decoders check
 * `bad` once per header.
 */
#ifndef FTPI_CURSOR_H
#define FTPI_CURSOR_H

#include <stdint.h>
#include <stddef.h>

struct ftpi_cur {
	const uint8_t *p;
	size_t len;
	size_t off;
	int bad;
};

static inline void ftpi__cur_init(struct ftpi_cur *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
	c->bad = 0;
}

static inline size_t ftpi__cur_left(const struct ftpi_cur *c)
{
	return c->bad ? 0 : c->len - c->off;
}

static inline int ftpi__cur_need(struct ftpi_cur *c, size_t n)
{
	if (c->bad || c->len - c->off < n) {
		c->bad = 1;
		return 0;
	}
	return 1;
}

static inline uint8_t ftpi__cur_u8(struct ftpi_cur *c)
{
	if (!ftpi__cur_need(c, 1))
		return 0;
	return c->p[c->off++];
}

static inline uint16_t ftpi__cur_be16(struct ftpi_cur *c)
{
	if (!ftpi__cur_need(c, 2))
		return 0;
	uint16_t v = (uint16_t)((c->p[c->off] << 8) | c->p[c->off + 1]);
	c->off += 2;
	return v;
}

static inline uint32_t ftpi__cur_be24(struct ftpi_cur *c)
{
	if (!ftpi__cur_need(c, 3))
		return 0;
	uint32_t v = ((uint32_t)c->p[c->off] << 16) | ((uint32_t)c->p[c->off + 1] << 8) |
		     c->p[c->off + 2];
	c->off += 3;
	return v;
}

static inline uint32_t ftpi__cur_be32(struct ftpi_cur *c)
{
	if (!ftpi__cur_need(c, 4))
		return 0;
	uint32_t v = ((uint32_t)c->p[c->off] << 24) | ((uint32_t)c->p[c->off + 1] << 16) |
		     ((uint32_t)c->p[c->off + 2] << 8) | c->p[c->off + 3];
	c->off += 4;
	return v;
}

static inline uint32_t ftpi__cur_le32(struct ftpi_cur *c)
{
	if (!ftpi__cur_need(c, 4))
		return 0;
	uint32_t v = ((uint32_t)c->p[c->off + 3] << 24) | ((uint32_t)c->p[c->off + 2] << 16) |
		     ((uint32_t)c->p[c->off + 1] << 8) | c->p[c->off];
	c->off += 4;
	return v;
}

static inline void ftpi__cur_skip(struct ftpi_cur *c, size_t n)
{
	if (ftpi__cur_need(c, n))
		c->off += n;
}

/* Returns a pointer to the next n bytes and advances, or NULL (bad set). */
static inline const uint8_t *ftpi__cur_span(struct ftpi_cur *c, size_t n)
{
	if (!ftpi__cur_need(c, n))
		return NULL;
	const uint8_t *r = c->p + c->off;
	c->off += n;
	return r;
}

static inline const uint8_t *ftpi__cur_ptr(const struct ftpi_cur *c)
{
	return c->p + c->off;
}

/* Big-endian loads from a span already checked (a fixed header taken whole with
 * ftpi__cur_span: one bounds check for all its fields). */
static inline uint16_t ftpi__be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t ftpi__be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif /* FTPI_CURSOR_H */
