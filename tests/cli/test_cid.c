/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cid.c - the Community ID writer (tools/ftpinspect/out_util.c) and its memo: the spec's
 * own example, then the ids of 3 * CLI_CID_MEMO connections asked for in an interleaved order
 * (each several times, so the memo's slots are shared, replaced and hit) against ids computed
 * here from the spec's layout with OpenSSL's one-shot digest.
 */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int failed;

static struct ftpi_endpoint ep4(uint32_t ip, uint16_t port)
{
	struct ftpi_endpoint e;
	memset(&e, 0, sizeof e);
	e.addr.family = 4;
	ip = htonl(ip);
	memcpy(e.addr.ip, &ip, 4);
	e.port = port;
	return e;
}

/* The spec's layout: seed, lower endpoint's address, higher's, proto, pad, their ports. */
static void reference(const struct ftpi_endpoint *c, const struct ftpi_endpoint *s, char *out)
{
	uint8_t in[2 + 4 + 4 + 2 + 4], md[SHA_DIGEST_LENGTH];
	int c_low = memcmp(c->addr.ip, s->addr.ip, 4) < 0 ||
		    (memcmp(c->addr.ip, s->addr.ip, 4) == 0 && c->port < s->port);
	const struct ftpi_endpoint *lo = c_low ? c : s, *hi = c_low ? s : c;
	memset(in, 0, sizeof in);
	memcpy(in + 2, lo->addr.ip, 4);
	memcpy(in + 6, hi->addr.ip, 4);
	in[10] = 6;
	in[12] = (uint8_t)(lo->port >> 8);
	in[13] = (uint8_t)lo->port;
	in[14] = (uint8_t)(hi->port >> 8);
	in[15] = (uint8_t)hi->port;
	EVP_Q_digest(NULL, "SHA1", NULL, in, sizeof in, md, NULL);
	memcpy(out, "1:", 2);
	EVP_EncodeBlock((unsigned char *)out + 2, md, SHA_DIGEST_LENGTH);
}

static void expect(const struct ftpi_endpoint *c, const struct ftpi_endpoint *s, const char *want)
{
	char buf[64];
	const char *got = cli_community_id(buf, sizeof buf, c, s, 6);
	if (got == NULL || strcmp(got, want) != 0) {
		if (failed++ < 5)
			fprintf(stderr, "%s, want %s\n", got ? got : "(null)", want);
	}
}

int main(void)
{
	/* the Community ID spec's example (seed 0) */
	struct ftpi_endpoint a_cli = ep4(0x80e86e78, 34855), a_srv = ep4(0x4223facc, 80);
	expect(&a_cli, &a_srv, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	expect(&a_srv, &a_cli, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");

	enum { N = 3 * CLI_CID_MEMO };
	static char want[N][64];
	static struct ftpi_endpoint cli[N], srv[N];
	for (uint32_t i = 0; i < N; i++) {
		/* data connections of a few servers: ports and addresses close to one another */
		cli[i] = ep4(0x0a000000u + i % 251, (uint16_t)(40000 + i / 251));
		srv[i] = ep4(0x0a010000u + i % 7, (uint16_t)(50000 + i % 13));
		reference(&cli[i], &srv[i], want[i]);
	}
	for (uint32_t round = 0; round < 4; round++)
		for (uint32_t i = 0; i < N; i++) {
			uint32_t k = (i * 7919u + round * 104729u) % N; /* another order each round */
			expect(&cli[k], &srv[k], want[k]);
			expect(&srv[k], &cli[k], want[k]);
			expect(&cli[i / 2], &srv[i / 2], want[i / 2]);
		}
	if (failed)
		return 1;
	puts("cid: the spec's example, and each connection its own id through the memo");
	return 0;
}
