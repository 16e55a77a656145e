/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_ftp_parse.c - the FTP command, reply and address parsers (ftp_parse.c) on one line each:
 * the input (in its own allocation, not NUL-terminated) goes through the command splitter, the
 * verb table, the reply parser and every address parser (227, 228, 229, PORT, EPRT, LPRT).
 * Checks: spans point inside the line, a parsed endpoint is IPv4, IPv6 or "the control
 * connection's address" (EPSV), and a verb's name round-trips through the table.
 */
#include <stdlib.h>

#include "ftp.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void span_inside(const struct ftpi_span *s, const char *p, size_t n)
{
	if (s->len == 0)
		return;
	if (s->ptr < p || s->ptr > p + n || s->len > (size_t)(p + n - s->ptr))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	typedef int (*addr_fn)(const char *, size_t, struct ftpi_endpoint *);
	static const addr_fn parsers[] = {ftpi__parse_227, ftpi__parse_228, ftpi__parse_229,
					  ftpi__parse_port, ftpi__parse_eprt, ftpi__parse_lprt};
	char *p = malloc(size ? size : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, size);

	struct ftpi_span verb = {0}, arg = {0}, text = {0};
	if (ftpi__cmd_split(p, size, &verb, &arg)) {
		span_inside(&verb, p, size);
		span_inside(&arg, p, size);
		int v = ftpi__verb_lookup(verb.ptr, verb.len);
		if (v < 0 || v >= FTPI_CMD__COUNT)
			abort();
		if (v != FTPI_CMD_UNKNOWN) {
			const char *name = ftpi__verb_name(v);
			if (name == NULL || ftpi__verb_lookup(name, strlen(name)) != v)
				abort();
			(void)ftpi__verb_is_transfer(v);
		}
	}
	unsigned code = 0;
	int cont = 0;
	if (ftpi__reply_parse(p, size, &code, &cont, &text)) {
		span_inside(&text, p, size);
		if (code > 999)
			abort();
	}
	for (size_t i = 0; i < sizeof parsers / sizeof parsers[0]; i++) {
		struct ftpi_endpoint ep;
		memset(&ep, 0, sizeof ep);
		if (parsers[i](p, size, &ep) && ep.addr.family != 0 && ep.addr.family != 4 &&
		    ep.addr.family != 6)
			abort();
	}
	free(p);
	return 0;
}
