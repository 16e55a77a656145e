/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_line.c - the FTP line framer (ftp_line.c) alone. The first byte gives a chunk size
 * (1-128 bytes) and whether the callback stops the framer after every line; the rest is one
 * direction of a control connection. The stream is framed twice: in one call, and in chunks of
 * that size (each in its own allocation, re-fed from where a stopped call returned). Checks: both
 * give the same lines with the same truncation flags, no line holds a LF or exceeds
 * max_line_len, and the framer's memory is returned.
 */
#include <stdlib.h>

#include <string.h>

#include "ftp.h"
#include "fuzz_ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct lines {
	uint8_t *buf;
	size_t len, cap;
	uint32_t max;
	int stop;
};

static int on_line(void *ctx, const char *text, size_t len, int truncated)
{
	struct lines *l = ctx;
	if (len > l->max || memchr(text, '\n', len) != NULL)
		abort();
	if (l->len + len + 5 > l->cap) {
		size_t ncap = (l->len + len + 5) * 2;
		uint8_t *nb = realloc(l->buf, ncap);
		if (nb == NULL)
			abort();
		l->buf = nb;
		l->cap = ncap;
	}
	l->buf[l->len++] = (uint8_t)truncated;
	memcpy(l->buf + l->len, &len, 4);
	l->len += 4;
	memcpy(l->buf + l->len, text, len);
	l->len += len;
	return l->stop;
}

static void frame(struct ftpi__ctx *e, const uint8_t *p, size_t n, size_t chunk,
		  struct lines *out)
{
	struct ftpi_line l;
	memset(&l, 0, sizeof l);
	for (size_t off = 0; off < n;) {
		size_t k = n - off < chunk ? n - off : chunk;
		uint8_t *piece = malloc(k);
		if (piece == NULL)
			abort();
		memcpy(piece, p + off, k);
		size_t used = ftpi__line_feed(e, &l, piece, k, on_line, out);
		free(piece);
		if (used == (size_t)-1 || used == 0 || used > k)
			abort();
		off += used;
	}
	ftpi__line_release(e, &l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftpi__ctx *e = fuzz_ctx();
	if (size < 1)
		return 0;
	size_t before = e->mem_used;
	struct lines a = {NULL, 0, 0, e->cfg.max_line_len, (data[0] >> 7) & 1};
	struct lines b = a;
	frame(e, data + 1, size - 1, size, &a);
	frame(e, data + 1, size - 1, (size_t)(data[0] & 0x7f) + 1, &b);
	if (a.len != b.len || (a.len && memcmp(a.buf, b.buf, a.len) != 0))
		abort();
	if (e->mem_used != before)
		abort();
	free(a.buf);
	free(b.buf);
	return 0;
}
