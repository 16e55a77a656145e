/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcapng_out.c - a minimal pcapng writer for `ftpinspect -w`: one Section Header Block, one
 * Interface Description Block per link type met (added when first needed), and an Enhanced Packet
 * Block per packet with optional opt_comment options. libpcap 1.10's pcap_dump() cannot write
 * packet comments, hence this unit. Blocks follow draft-ietf-opsawg-pcapng (§4.1 SHB, §4.2 IDB,
 * §4.3 EPB, §3.5 options), written in host byte order with the byte-order magic telling readers
 * which; timestamps are microseconds (the default if_tsresol).
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

struct pcapng_out {
	FILE *f;
	int linktypes[PCAPNG_MAX_IFACES];
	size_t n_ifaces;
	int failed;
	int err; /* errno of the first failed write */
	int is_stdout;
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

static int pcapng_close_file(struct pcapng_out *w);

/* Opens path ("-": standard output) and writes the Section Header Block. 0, or -1 with errno. */
static int start_file(struct pcapng_out *w, const char *path)
{
	static const char appl[] = "ftpinspect " FTPI_VERSION_STRING;
	size_t appl_len = sizeof appl - 1;
	uint32_t total;

	w->is_stdout = strcmp(path, "-") == 0;
	w->f = w->is_stdout ? stdout : fopen(path, "wb");
	if (w->f == NULL)
		return -1;
	w->n_ifaces = 0;
	w->failed = 0;
	w->err = 0;
	/* SHB: type, length, magic, major 1, minor 0, section length -1, options, length. */
	total = (uint32_t)(28 + opt_size(appl_len) + 4);
	put32(w, PCAPNG_SHB);
	put32(w, total);
	put32(w, PCAPNG_BYTE_ORDER_MAGIC);
	put16(w, 1);
	put16(w, 0);
	put32(w, 0xffffffffu);
	put32(w, 0xffffffffu);
	put_opt(w, PCAPNG_OPT_SHB_USERAPPL, appl, appl_len);
	put32(w, PCAPNG_OPT_ENDOFOPT);
	put32(w, total);
	if (w->failed) {
		int e = w->err;
		if (!w->is_stdout)
			fclose(w->f);
		errno = e;
		return -1;
	}
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
	if (pcapng_close_file(w) != 0) {
		snprintf(err, errlen, "write error on the old file: %s",
			 strerror(w->err ? w->err : EIO));
		*w = next;
		return -1;
	}
	*w = next;
	return 0;
}

int pcapng_flush(struct pcapng_out *w)
{
	if (w == NULL)
		return 0;
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

int pcapng_write(struct pcapng_out *w, const struct ftpi_packet *pkt, const char *const *comments,
		 size_t n)
{
	size_t opts = 0, lens[APP_MAX_COMMENTS];
	uint32_t total;
	int iface = iface_for(w, pkt->linktype);

	if (iface < 0) {
		w->err = errno = ERANGE;
		return -1;
	}
	if (n > APP_MAX_COMMENTS)
		n = APP_MAX_COMMENTS;
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

/* Flushes and closes the file (standard output is only flushed). 0, or -1 on a write error. */
static int pcapng_close_file(struct pcapng_out *w)
{
	int rc = pcapng_flush(w);

	if (!w->is_stdout && fclose(w->f) != 0)
		rc = -1;
	w->f = NULL;
	return rc;
}

int pcapng_close(struct pcapng_out *w)
{
	int rc;

	if (w == NULL)
		return 0;
	rc = pcapng_close_file(w);
	free(w);
	return rc;
}
