/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jsonw.c - the JSON line writer for events: members are appended to one buffer that is reused
 * for every line (grown, never shrunk), and the line leaves with a single fwrite. No object tree,
 * no printf. The bytes are those jansson writes with JSON_COMPACT | JSON_PRESERVE_ORDER (the
 * stats and summary lines still go through jansson, out_util.c), so docs/events.md and the
 * goldens hold for both: strings escape '"', '\\' and control characters (\b \f \n \r \t, else
 * \u00XX), integers are plain decimal, times are epoch seconds with exactly six decimals. A new
 * field is one cli_jw_* call in out_json.c. The same buffer builds plain text lines
 * (cli_jw_reset/puts/putu/write) for the text format.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Makes room for n more bytes (slow path of reserve: the buffer grows). */
static int grow(struct cli_jw *w, size_t n)
{
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	char *b = realloc(w->buf, cap);
	if (b == NULL) {
		w->oom = 1;
		return 0;
	}
	w->buf = b;
	w->cap = cap;
	return 1;
}

/* Inline: with a literal, the copy is a few moves instead of a call into libc. */
static inline int reserve(struct cli_jw *w, size_t n)
{
	return w->len + n <= w->cap || grow(w, n);
}

static inline void raw(struct cli_jw *w, const char *s, size_t n)
{
	if (reserve(w, n)) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

#define RAW_LIT(w, lit) raw((w), (lit), sizeof(lit) - 1)

static void u64(struct cli_jw *w, uint64_t v)
{
	char d[CLI_DIGITS_MAX];
	const char *p;
	size_t n = cli_digits(d, v, 0, &p);
	raw(w, p, n);
}

static void i64(struct cli_jw *w, int64_t v)
{
	if (v < 0) {
		RAW_LIT(w, "-");
		u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		u64(w, (uint64_t)v);
	}
}

/* ,"k": with one check for room */
static void key(struct cli_jw *w, const char *k)
{
	size_t n = strlen(k);
	if (!reserve(w, n + 4))
		return;
	char *o = w->buf + w->len;
	o[0] = ',';
	o[1] = '"';
	memcpy(o + 2, k, n);
	o[n + 2] = '"';
	o[n + 3] = ':';
	w->len += n + 4;
}

/* A JSON string, escaped as jansson escapes it. */
/* Whether any of the 8 bytes in x needs an escape: below 0x20, '"' or '\\' (exact "has a byte
 * less than" and "has a zero byte" tests; bytes from 0x7f up pass through, as with jansson). */
static inline int needs_escape8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, highs = ones * 0x80;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
	return ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs) != 0;
}

static char *escape1(char *o, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	if (c >= 0x20 && c != '"' && c != '\\') {
		*o++ = (char)c;
		return o;
	}
	*o++ = '\\';
	switch (c) {
	case '"':
	case '\\':
		*o++ = (char)c;
		break;
	case '\b':
		*o++ = 'b';
		break;
	case '\f':
		*o++ = 'f';
		break;
	case '\n':
		*o++ = 'n';
		break;
	case '\r':
		*o++ = 'r';
		break;
	case '\t':
		*o++ = 't';
		break;
	default:
		*o++ = 'u';
		*o++ = '0';
		*o++ = '0';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	return o;
}

static void string_n(struct cli_jw *w, const char *s, size_t n)
{
	if (!reserve(w, n * 6 + 2))
		return;
	char *o = w->buf + w->len;
	size_t i = 0;
	*o++ = '"';
	/* eight bytes at a time while none needs escaping */
	while (i + 8 <= n) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		if (!needs_escape8(x)) {
			memcpy(o, s + i, 8);
			o += 8;
			i += 8;
			continue;
		}
		for (size_t end = i + 8; i < end; i++)
			o = escape1(o, (unsigned char)s[i]);
	}
	if (i < n) {
		/* the last 1-7 bytes, padded with spaces (which need no escape) */
		uint64_t x;
		memset(&x, ' ', 8);
		memcpy(&x, s + i, n - i);
		if (!needs_escape8(x)) {
			memcpy(o, s + i, n - i);
			o += n - i;
		} else {
			for (; i < n; i++)
				o = escape1(o, (unsigned char)s[i]);
		}
	}
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

static void string(struct cli_jw *w, const char *s)
{
	string_n(w, s, strlen(s));
}

/* The length of a span that needs no escaping (printable ASCII, no backslash when escapes_bs),
 * cut where cli_esc/cli_safe would cut it; (size_t)-1 when it needs escaping. */
static size_t plain_len(struct ftpi_span s, int escapes_bs)
{
	const uint64_t ones = 0x0101010101010101ull, highs = ones * 0x80;
	size_t n = s.ptr ? s.len : 0, i = 0;
	/* eight bytes at a time: a byte below 0x20, from 0x7f up (x | (x + ones): a carry comes
	 * only out of a 0xff byte, itself flagged), or a backslash */
	for (; i + 8 <= n; i += 8) {
		uint64_t x, b;
		memcpy(&x, s.ptr + i, 8);
		b = x ^ (ones * '\\');
		if ((((x - ones * 0x20) & ~x) | x | (x + ones) |
		     (escapes_bs ? (b - ones) & ~b : 0)) & highs)
			break;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c < 0x20 || c >= 0x7f || (escapes_bs && c == '\\'))
			return (size_t)-1;
	}
	return n < CLI_TEXT_MAX * 2 - 1 ? n : CLI_TEXT_MAX * 2 - 1;
}

static void time_us(struct cli_jw *w, uint64_t us)
{
	char d[CLI_DIGITS_MAX];
	const char *p;
	u64(w, us / 1000000u);
	RAW_LIT(w, ".");
	size_t n = cli_digits(d, us % 1000000u, 6, &p);
	raw(w, p, n);
}

void cli_jw_begin(struct cli_jw *w, const char *event, uint64_t ts_us)
{
	w->len = 0;
	w->oom = 0;
	w->in_array = 0;
	RAW_LIT(w, "{\"event\":");
	string(w, event);
	RAW_LIT(w, ",\"ts\":");
	time_us(w, ts_us);
}

void cli_jw_end(struct cli_jw *w, FILE *f)
{
	RAW_LIT(w, "}\n");
	if (w->oom) {
		fputs("ftpinspect: cannot encode an event (out of memory)\n", stderr);
		return;
	}
	fwrite(w->buf, 1, w->len, f);
}

void cli_jw_reset(struct cli_jw *w)
{
	w->len = 0;
	w->oom = 0;
	w->in_array = 0;
}

void cli_jw_puts(struct cli_jw *w, const char *s)
{
	raw(w, s, strlen(s));
}

void cli_jw_putu(struct cli_jw *w, uint64_t v)
{
	u64(w, v);
}

void cli_jw_write(struct cli_jw *w, FILE *f)
{
	if (!w->oom)
		fwrite(w->buf, 1, w->len, f);
}

void cli_jw_free(struct cli_jw *w)
{
	free(w->buf);
	memset(w, 0, sizeof *w);
}

void cli_jw_str(struct cli_jw *w, const char *k, const char *s)
{
	key(w, k);
	if (s == NULL)
		RAW_LIT(w, "null");
	else
		string(w, s);
}

void cli_jw_null(struct cli_jw *w, const char *k)
{
	key(w, k);
	RAW_LIT(w, "null");
}

void cli_jw_int(struct cli_jw *w, const char *k, int64_t v)
{
	key(w, k);
	i64(w, v);
}

void cli_jw_bool(struct cli_jw *w, const char *k, int v)
{
	key(w, k);
	if (v)
		RAW_LIT(w, "true");
	else
		RAW_LIT(w, "false");
}

void cli_jw_time(struct cli_jw *w, const char *k, uint64_t us)
{
	key(w, k);
	time_us(w, us);
}

void cli_jw_span(struct cli_jw *w, const char *k, struct ftpi_span s, int null_if_empty)
{
	char buf[CLI_TEXT_MAX * 2];

	if (null_if_empty && (s.ptr == NULL || s.len == 0)) {
		cli_jw_null(w, k);
		return;
	}
	size_t n = plain_len(s, 1);
	if (n != (size_t)-1) { /* what cli_esc would give: the bytes themselves */
		key(w, k);
		string_n(w, s.ptr ? s.ptr : "", n);
		return;
	}
	cli_jw_str(w, k, cli_esc(buf, sizeof buf, s));
}

void cli_jw_safe(struct cli_jw *w, const char *k, struct ftpi_span s)
{
	char buf[CLI_TEXT_MAX * 2];
	size_t n = plain_len(s, 0);
	if (n != (size_t)-1) { /* what cli_safe would give */
		key(w, k);
		string_n(w, s.ptr ? s.ptr : "", n);
		return;
	}
	cli_jw_str(w, k, cli_safe(buf, sizeof buf, s));
}

void cli_jw_endpoint(struct cli_jw *w, const char *k, const struct ftpi_endpoint *ep)
{
	char ip[64];

	cli_addr_format(&ep->addr, ip, sizeof ip);
	key(w, k);
	RAW_LIT(w, "{\"ip\":");
	string(w, ip);
	RAW_LIT(w, ",\"port\":");
	u64(w, ep->port);
	RAW_LIT(w, "}");
}

void cli_jw_array_begin(struct cli_jw *w, const char *k)
{
	key(w, k);
	RAW_LIT(w, "[");
	w->in_array = 1;
}

void cli_jw_array_str(struct cli_jw *w, const char *s)
{
	if (w->in_array++ > 1)
		RAW_LIT(w, ",");
	string(w, s);
}

void cli_jw_array_end(struct cli_jw *w)
{
	RAW_LIT(w, "]");
	w->in_array = 0;
}
