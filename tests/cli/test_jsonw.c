/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_jsonw.c - the event line writer (tools/ftpinspect/jsonw.c) against the references it
 * claims to match: strings as jansson writes them (JSON_COMPACT | JSON_ENCODE_ANY), and wire
 * spans written directly exactly as the slow path (cli_esc/cli_safe, then a string) writes them.
 * Every length up to 40 with one or two bytes of each class (plain, '"', '\\', control, DEL,
 * high) at every position and every start alignment, so the 8-byte word tests and the padded
 * tail are each taken with the byte in every lane.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int failed;

/* What the writer appended after the event's opening, as a C string. */
static const char *tail_of(struct cli_jw *w, size_t from, char *out, size_t outlen)
{
	size_t n = w->len - from < outlen - 1 ? w->len - from : outlen - 1;
	memcpy(out, w->buf + from, n);
	out[n] = '\0';
	return out;
}

static void check_str(const char *s)
{
	struct cli_jw w = {0};
	char got[512], want[512];
	cli_jw_begin(&w, "x", 0);
	size_t from = w.len;
	cli_jw_str(&w, "k", s);
	json_t *j = json_string(s);
	char *ref = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (ref == NULL) { /* not UTF-8: jansson refuses it; the writer passes such bytes through */
		json_decref(j);
		cli_jw_free(&w);
		return;
	}
	snprintf(want, sizeof want, ",\"k\":%s", ref);
	if (strcmp(tail_of(&w, from, got, sizeof got), want) != 0) {
		fprintf(stderr, "cli_jw_str: got %s, want %s\n", got, want);
		failed = 1;
	}
	free(ref);
	json_decref(j);
	cli_jw_free(&w);
}

static void check_span(const char *p, size_t n)
{
	for (int safe = 0; safe < 2; safe++) {
		struct cli_jw w = {0};
		char got[1024], want[1024], buf[CLI_TEXT_MAX * 2];
		struct ftpi_span sp = {p, n};
		cli_jw_begin(&w, "x", 0);
		size_t from = w.len;
		if (safe)
			cli_jw_safe(&w, "k", sp);
		else
			cli_jw_span(&w, "k", sp, 0);
		tail_of(&w, from, got, sizeof got);
		size_t mid = w.len;
		cli_jw_str(&w, "k", safe ? cli_safe(buf, sizeof buf, sp) : cli_esc(buf, sizeof buf, sp));
		memcpy(want, w.buf + mid, w.len - mid);
		want[w.len - mid] = '\0';
		if (strcmp(got, want) != 0) {
			fprintf(stderr, "cli_jw_%s (len %zu): got %s, want %s\n", safe ? "safe" : "span",
				n, got, want);
			failed = 1;
		}
		cli_jw_free(&w);
	}
}

/* cli_digits (integers and the six decimals of times) against snprintf: every power of ten and
 * its neighbours, the extremes, and a pseudo-random walk, with and without zero padding. */
static void check_digits(void)
{
	uint64_t vals[400];
	size_t nv = 0;
	uint64_t p = 1, x = 88172645463325252ull;
	vals[nv++] = 0;
	vals[nv++] = UINT64_MAX;
	for (int k = 0; k < 20; k++, p *= 10) {
		vals[nv++] = p - 1;
		vals[nv++] = p;
		vals[nv++] = p + 1;
	}
	while (nv < sizeof vals / sizeof vals[0]) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		vals[nv++] = x >> (x % 64);
	}
	for (size_t i = 0; i < nv; i++)
		for (int width = 0; width <= 22; width += 6) {
			char d[CLI_DIGITS_MAX], want[32], got[32];
			const char *start;
			size_t n = cli_digits(d, vals[i], width, &start);
			snprintf(want, sizeof want, "%0*llu", width, (unsigned long long)vals[i]);
			memcpy(got, start, n);
			got[n] = '\0';
			if (strcmp(got, want) != 0) {
				fprintf(stderr, "cli_digits(%llu, %d): %s, want %s\n",
					(unsigned long long)vals[i], width, got, want);
				failed = 1;
			}
		}
}

/* cli_addr_format against inet_ntop: IPv6 addresses drawn from a pool of 4,096 that differ in
 * one or two bytes (hits, misses and replacements in the 1,024-entry memo), IPv4 and small
 * buffers passed through. */
#define ADDR_POOL 4096
static void check_addr_memo(void)
{
	static struct ftpi_addr pool[ADDR_POOL];
	uint32_t r = 12345;

	for (int i = 0; i < ADDR_POOL; i++) {
		memset(&pool[i], 0, sizeof pool[i]);
		pool[i].family = 6;
		pool[i].ip[0] = 0xfd;
		pool[i].ip[(i % 15) + 1] = (uint8_t)(i + 1); /* one byte differs, anywhere */
		pool[i].ip[((i / 15) % 15) + 1] ^= (uint8_t)(i >> 8); /* and often another */
	}
	for (int k = 0; k < 100000; k++) {
		r = r * 1103515245u + 12345u;
		/* half the draws from a small set (hits), half from the whole pool */
		const struct ftpi_addr *a = &pool[(r >> 8) % (k % 2 ? 200 : ADDR_POOL)];
		char got[64], want[64];
		size_t n = cli_addr_format(a, got, sizeof got);
		if (inet_ntop(AF_INET6, a->ip, want, sizeof want) == NULL || strcmp(got, want) != 0 ||
		    n != strlen(want)) {
			fprintf(stderr, "cli_addr_format: got %s, want %s\n", got, want);
			failed = 1;
			return;
		}
	}
	struct ftpi_addr v4 = {4, {192, 0, 2, 77}};
	char small[8], got[64];
	cli_addr_format(&v4, got, sizeof got);
	ftpi_addr_format(&pool[3], small, sizeof small);
	char small2[8];
	cli_addr_format(&pool[3], small2, sizeof small2);
	if (strcmp(got, "192.0.2.77") != 0 || strcmp(small, small2) != 0) {
		fprintf(stderr, "cli_addr_format: %s, %s/%s\n", got, small, small2);
		failed = 1;
	}
}

int main(void)
{
	check_digits();
	check_addr_memo();
	static const unsigned char cls[] = {'a', '"', '\\', 0x01, '\n', 0x1f, ' ', '~', 0x7f, 0x80,
					     0xff};
	char s[64];
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n <= 40; n++) {
			char *p = s + off;
			memset(p, 'a', n);
			p[n] = '\0';
			check_str(p);
			check_span(p, n);
			for (size_t i = 0; i < n; i++) {
				for (size_t c = 0; c < sizeof cls; c++) {
					p[i] = (char)cls[c];
					check_str(p);
					check_span(p, n);
					if (i + 3 < n) { /* a second one further on */
						p[i + 3] = (char)cls[(c + 3) % sizeof cls];
						check_span(p, n);
						p[i + 3] = 'a';
					}
				}
				p[i] = 'a';
			}
		}
	}
	if (failed)
		return 1;
	puts("jsonw: strings, spans, digits and remembered IPv6 addresses as the references write "
	     "them");
	return 0;
}
