/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcapng_out.c - a minimal pcapng writer for `ftpinspect -w`: one Section Header Block, one
 * Interface Description Block per link type met (added when first needed), and an Enhanced Packet
 * Block per packet with optional opt_comment options. libpcap 1.10's pcap_dump() cannot write
 * packet comments, hence this unit. Blocks follow draft-ietf-opsawg-pcapng (§4.1 SHB, §4.2 IDB,
 * §4.3 EPB, §3.5 options), written in host byte order with the byte-order magic telling readers
 * which; timestamps are microseconds (the default if_tsresol).
 *
 * When the input is a pcapng file (pcapng_set_input), its comments are kept: the comments of its
 * first Section Header Block go into ours (the SHB is written lazily for that), and a second,
 * bounded reader walks the input's packet blocks alongside libpcap, finds the block each written
 * packet came from (same captured bytes; a BPF filter may skip blocks) and copies its
 * opt_comment options before ours.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PCAPNG_SHB		0x0A0D0D0Au
#define PCAPNG_IDB		0x00000001u
#define PCAPNG_EPB		0x00000006u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define PCAPNG_OPT_ENDOFOPT	0
#define PCAPNG_OPT_COMMENT	1
#define PCAPNG_OPT_SHB_USERAPPL 4
#define PCAPNG_MAX_IFACES	16
#define PCAPNG_MAX_COMMENT	65000u
#define PCAPNG_SPB		0x00000003u
#define PCAPNG_OPB		0x00000002u /* obsolete Packet Block */
#define PCAPNG_IN_MAX_BLOCK	(16u << 20) /* larger input blocks stop the comment reader */
#define PCAPNG_IN_MAX_COMMENTS	8
#define PCAPNG_IN_MAX_MISSES	16 /* packets not found in a row: the reader gives up */

/* The input pcapng read alongside libpcap for its comments. */
struct pcapng_in {
	FILE *f;
	int swap;      /* the section's byte order differs from ours */
	uint8_t *blk;  /* the current block's body */
	size_t blk_cap;
	int misses;
	/* Comments of the first Section Header Block (for our SHB). */
	char *shb_comments[PCAPNG_IN_MAX_COMMENTS];
	size_t n_shb_comments;
};

struct pcapng_out {
	FILE *f;
	int linktypes[PCAPNG_MAX_IFACES];
	size_t n_ifaces;
	int failed;
	int err; /* errno of the first failed write */
	int is_stdout;
	int shb_written;
	struct pcapng_in *in;
};

static void put(struct pcapng_out *w, const void *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, w->f) != n && !w->failed) {
		w->failed = 1;
		w->err = errno ? errno : EIO;
	}
}

static void put32(struct pcapng_out *w, uint32_t v)
{
	put(w, &v, 4);
}

static void put16(struct pcapng_out *w, uint16_t v)
{
	put(w, &v, 2);
}

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

static void put_pad(struct pcapng_out *w, size_t n)
{
	static const uint8_t zero[4];
	put(w, zero, pad4(n));
}

/* Size of an option with a value of n bytes, padded. */
static size_t opt_size(size_t n)
{
	return 4 + n + pad4(n);
}

static void put_opt(struct pcapng_out *w, uint16_t code, const void *v, size_t n)
{
	put16(w, code);
	put16(w, (uint16_t)n);
	put(w, v, n);
	put_pad(w, n);
}

/* Opens path ("-": standard output); the SHB is written with the first packet or the flush. */
static int start_file(struct pcapng_out *w, const char *path)
{
	w->is_stdout = strcmp(path, "-") == 0;
	w->f = w->is_stdout ? stdout : fopen(path, "wb");
	if (w->f == NULL)
		return -1;
	w->n_ifaces = 0;
	w->failed = 0;
	w->err = 0;
	w->shb_written = 0;
	return 0;
}

struct pcapng_out *pcapng_open(const char *path, char *err, size_t errlen)
{
	struct pcapng_out *w = calloc(1, sizeof *w);

	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (start_file(w, path) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		free(w);
		return NULL;
	}
	return w;
}

/* SHB: type, length, magic, major 1, minor 0, section length -1, options, length. Written
 * before the first packet so that the input's section comments can be kept in it. */
static void write_shb(struct pcapng_out *w)
{
	static const char appl[] = "ftpinspect " FTPI_VERSION_STRING;
	size_t appl_len = sizeof appl - 1, opts = opt_size(appl_len) + 4;
	size_t n_in = w->in ? w->in->n_shb_comments : 0;
	uint32_t total;

	if (w->shb_written)
		return;
	w->shb_written = 1;
	for (size_t i = 0; i < n_in; i++)
		opts += opt_size(strlen(w->in->shb_comments[i]));
	total = (uint32_t)(28 + opts);
	put32(w, PCAPNG_SHB);
	put32(w, total);
	put32(w, PCAPNG_BYTE_ORDER_MAGIC);
	put16(w, 1);
	put16(w, 0);
	put32(w, 0xffffffffu);
	put32(w, 0xffffffffu);
	for (size_t i = 0; i < n_in; i++)
		put_opt(w, PCAPNG_OPT_COMMENT, w->in->shb_comments[i],
			strlen(w->in->shb_comments[i]));
	put_opt(w, PCAPNG_OPT_SHB_USERAPPL, appl, appl_len);
	put32(w, PCAPNG_OPT_ENDOFOPT);
	put32(w, total);
}

/* ---- the input's comments ------------------------------------------------------------------ */

static uint32_t in32(const struct pcapng_in *r, const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return r->swap ? __builtin_bswap32(v) : v;
}

static uint16_t in16(const struct pcapng_in *r, const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return r->swap ? __builtin_bswap16(v) : v;
}

/* Reads the next block: its type, and its body (after type and length, before the trailing
 * length) into r->blk. 0, or -1 at the end, on an error or on a block too large. */
static int in_block(struct pcapng_in *r, uint32_t *type, size_t *body_len)
{
	uint8_t hdr[12];

	if (fread(hdr, 1, 8, r->f) != 8)
		return -1;
	memcpy(type, hdr, 4);
	if (*type == PCAPNG_SHB) {
		/* A new section: its byte-order magic decides how to read what follows. */
		uint32_t magic;
		if (fread(hdr + 8, 1, 4, r->f) != 4)
			return -1;
		memcpy(&magic, hdr + 8, 4);
		if (magic == PCAPNG_BYTE_ORDER_MAGIC)
			r->swap = 0;
		else if (magic == __builtin_bswap32(PCAPNG_BYTE_ORDER_MAGIC))
			r->swap = 1;
		else
			return -1;
	}
	*type = in32(r, hdr);
	uint32_t total = in32(r, hdr + 4);
	size_t head = *type == PCAPNG_SHB ? 12 : 8;
	if (total < head + 4 || total > PCAPNG_IN_MAX_BLOCK || (total & 3) != 0)
		return -1;
	*body_len = total - head - 4;
	if (*type == PCAPNG_SHB) {
		/* Keep the magic at the start of the body, as the block has it. */
		*body_len += 4;
	}
	if (*body_len > r->blk_cap) {
		uint8_t *nb = realloc(r->blk, *body_len);
		if (nb == NULL)
			return -1;
		r->blk = nb;
		r->blk_cap = *body_len;
	}
	if (*type == PCAPNG_SHB) {
		memcpy(r->blk, hdr + 8, 4);
		if (fread(r->blk + 4, 1, *body_len - 4, r->f) != *body_len - 4)
			return -1;
	} else if (fread(r->blk, 1, *body_len, r->f) != *body_len) {
		return -1;
	}
	return fread(hdr, 1, 4, r->f) == 4 ? 0 : -1; /* trailing length */
}

/* Calls fn for each opt_comment in the options at p (n bytes). */
static void in_comments(const struct pcapng_in *r, const uint8_t *p, size_t n,
			void (*fn)(void *ctx, const uint8_t *v, size_t len), void *ctx)
{
	size_t off = 0;

	while (off + 4 <= n) {
		uint16_t code = in16(r, p + off), len = in16(r, p + off + 2);
		if (code == PCAPNG_OPT_ENDOFOPT || off + 4 + len > n)
			return;
		if (code == PCAPNG_OPT_COMMENT)
			fn(ctx, p + off + 4, len);
		off += opt_size(len);
	}
}

static void keep_shb_comment(void *ctx, const uint8_t *v, size_t len)
{
	struct pcapng_in *r = ctx;
	char *c;

	if (r->n_shb_comments >= PCAPNG_IN_MAX_COMMENTS || (c = malloc(len + 1)) == NULL)
		return;
	memcpy(c, v, len);
	c[len] = '\0';
	r->shb_comments[r->n_shb_comments++] = c;
}

static void in_close(struct pcapng_in *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_shb_comments; i++)
		free(r->shb_comments[i]);
	if (r->f)
		fclose(r->f);
	free(r->blk);
	free(r);
}

void pcapng_set_input(struct pcapng_out *w, const char *path)
{
	struct pcapng_in *r;
	uint32_t type;
	size_t len;

	in_close(w->in);
	w->in = NULL;
	if (path == NULL || strcmp(path, "-") == 0 || (r = calloc(1, sizeof *r)) == NULL)
		return;
	r->f = fopen(path, "rb");
	/* Only a pcapng file (it starts with an SHB) has comments; a pcap or a compressed file is
	 * read by libpcap alone. */
	if (r->f == NULL || in_block(r, &type, &len) != 0 || type != PCAPNG_SHB || len < 16) {
		in_close(r);
		return;
	}
	/* SHB body: magic, versions, section length (16 bytes), options. */
	if (!w->shb_written)
		in_comments(r, r->blk + 16, len - 16, keep_shb_comment, r);
	w->in = r;
}

struct found {
	const char **out;
	size_t n, max;
	char *buf; /* where the comments are copied, NUL-terminated */
	size_t used, cap;
};

static void keep_packet_comment(void *ctx, const uint8_t *v, size_t len)
{
	struct found *f = ctx;

	if (f->n >= f->max || f->used + len + 1 > f->cap)
		return;
	memcpy(f->buf + f->used, v, len);
	f->buf[f->used + len] = '\0';
	f->out[f->n++] = f->buf + f->used;
	f->used += len + 1;
}

/* Finds the input block of pkt (from the current position on) and collects its comments into
 * f. The position stays after that block; when it is not found, it goes back. */
static void in_packet_comments(struct pcapng_in *r, const struct ftpi_packet *pkt, struct found *f)
{
	long start = ftell(r->f);
	uint32_t type;
	size_t len;

	if (start < 0)
		return;
	while (in_block(r, &type, &len) == 0) {
		/* EPB and the obsolete PB have captured and original lengths at the same offsets;
		 * an SPB has no options, IDBs, NRBs and the rest no packet. */
		if ((type != PCAPNG_EPB && type != PCAPNG_OPB) || len < 20)
			continue;
		const size_t data_off = 20;
		uint32_t caplen = in32(r, r->blk + 12), wirelen = in32(r, r->blk + 16);
		size_t opt_off = data_off + (size_t)caplen + pad4(caplen);
		if (opt_off > len || caplen < pkt->caplen || wirelen != pkt->wirelen ||
		    (pkt->caplen && memcmp(r->blk + data_off, pkt->data, pkt->caplen) != 0))
			continue;
		in_comments(r, r->blk + opt_off, len - opt_off, keep_packet_comment, f);
		r->misses = 0;
		return;
	}
	clearerr(r->f);
	if (fseek(r->f, start, SEEK_SET) != 0 || ++r->misses >= PCAPNG_IN_MAX_MISSES) {
		fclose(r->f);
		r->f = NULL;
	}
}

/* The interface id for a link type, writing its IDB the first time. -1 when too many. */
static int iface_for(struct pcapng_out *w, int linktype)
{
	for (size_t i = 0; i < w->n_ifaces; i++)
		if (w->linktypes[i] == linktype)
			return (int)i;
	if (w->n_ifaces >= PCAPNG_MAX_IFACES)
		return -1;
	/* IDB: type, length, linktype, reserved, snaplen (0 = unlimited), length. */
	put32(w, PCAPNG_IDB);
	put32(w, 20);
	put16(w, (uint16_t)linktype);
	put16(w, 0);
	put32(w, 0);
	put32(w, 20);
	w->linktypes[w->n_ifaces] = linktype;
	return (int)w->n_ifaces++;
}

int pcapng_write(struct pcapng_out *w, const struct ftpi_packet *pkt, const char *const *ours,
		 size_t n_ours)
{
	enum { MAX = PCAPNG_IN_MAX_COMMENTS + APP_MAX_COMMENTS };
	static char in_buf[PCAPNG_IN_MAX_COMMENTS * 4096];
	const char *comments[MAX];
	size_t opts = 0, lens[MAX], n = 0;
	uint32_t total;
	int iface;

	write_shb(w);
	iface = iface_for(w, pkt->linktype);
	if (iface < 0) {
		w->err = errno = ERANGE;
		return -1;
	}
	/* The input's comments first, then ours. */
	if (w->in != NULL && w->in->f != NULL) {
		struct found f = { comments, 0, PCAPNG_IN_MAX_COMMENTS, in_buf, 0, sizeof in_buf };
		in_packet_comments(w->in, pkt, &f);
		n = f.n;
	}
	for (size_t i = 0; i < n_ours && i < APP_MAX_COMMENTS; i++)
		comments[n++] = ours[i];
	for (size_t i = 0; i < n; i++) {
		lens[i] = strlen(comments[i]);
		if (lens[i] > PCAPNG_MAX_COMMENT)
			lens[i] = PCAPNG_MAX_COMMENT;
		opts += opt_size(lens[i]);
	}
	if (n > 0)
		opts += 4; /* opt_endofopt */
	total = (uint32_t)(28 + pkt->caplen + pad4(pkt->caplen) + opts + 4);
	put32(w, PCAPNG_EPB);
	put32(w, total);
	put32(w, (uint32_t)iface);
	put32(w, (uint32_t)(pkt->ts_us >> 32));
	put32(w, (uint32_t)pkt->ts_us);
	put32(w, pkt->caplen);
	put32(w, pkt->wirelen);
	put(w, pkt->data, pkt->caplen);
	put_pad(w, pkt->caplen);
	for (size_t i = 0; i < n; i++)
		put_opt(w, PCAPNG_OPT_COMMENT, comments[i], lens[i]);
	if (n > 0)
		put32(w, PCAPNG_OPT_ENDOFOPT);
	put32(w, total);
	return w->failed ? -1 : 0;
}

int pcapng_flush(struct pcapng_out *w)
{
	if (w == NULL)
		return 0;
	write_shb(w);
	if (fflush(w->f) != 0 && !w->failed) {
		w->failed = 1;
		w->err = errno ? errno : EIO;
	}
	return w->failed ? -1 : 0;
}

int pcapng_errno(const struct pcapng_out *w)
{
	return w != NULL && w->err ? w->err : EIO;
}

/* Flushes and closes the file (standard output is only flushed). 0, or -1 on a write error. */
static int close_file(struct pcapng_out *w)
{
	int rc = pcapng_flush(w);

	if (!w->is_stdout && fclose(w->f) != 0)
		rc = -1;
	w->f = NULL;
	return rc;
}

int pcapng_reopen(struct pcapng_out *w, const char *path, char *err, size_t errlen)
{
	struct pcapng_out next;

	if (w->is_stdout)
		return 0;
	memset(&next, 0, sizeof next);
	if (start_file(&next, path) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	next.in = w->in; /* the input's comments keep coming */
	w->in = NULL;
	if (close_file(w) != 0) {
		snprintf(err, errlen, "write error on the old file: %s",
			 strerror(w->err ? w->err : EIO));
		*w = next;
		return -1;
	}
	*w = next;
	return 0;
}

int pcapng_close(struct pcapng_out *w)
{
	int rc;

	if (w == NULL)
		return 0;
	in_close(w->in);
	w->in = NULL;
	rc = close_file(w);
	free(w);
	return rc;
}
