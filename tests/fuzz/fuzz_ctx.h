/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_ctx.h - the narrow context the leaf parsers take (decoder, line framer, X.509 review):
 * the config with the fuzz caps, counters and memory accounting, and no engine. One per process,
 * kept across inputs (its counters only grow). */
#ifndef FTPI_FUZZ_CTX_H
#define FTPI_FUZZ_CTX_H

#include "internal.h"

static inline struct ftpi__ctx *fuzz_ctx(void)
{
	static struct ftpi__ctx cx;
	static int ready;
	if (!ready) {
		ftpi_config_init(&cx.cfg);
		cx.cfg.max_line_len = 256;
		cx.cfg.use_ndpi = 0;
		cx.mem_cap = 16u << 20;
		ready = 1;
	}
	return &cx;
}

#endif
