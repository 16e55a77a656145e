/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_common.h - an engine with small caps for the fuzz targets, and a callback that reads
 * every span of every event (so a bad span is caught by ASan). */
#ifndef FTPI_FUZZ_COMMON_H
#define FTPI_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ftpinspect.h"

static inline int fuzz_touch(const struct ftpi_span *s)
{
	unsigned v = 0;
	for (size_t i = 0; i < s->len; i++)
		v += (unsigned char)s->ptr[i];
	return (int)(v & 1);
}

static inline int fuzz_on_event(void *user, const struct ftpi_event *ev)
{
	volatile int sink = 0;
	(void)user;
	switch (ev->type) {
	case FTPI_EV_COMMAND:
		sink += fuzz_touch(&ev->u.command.verb) + fuzz_touch(&ev->u.command.arg);
		break;
	case FTPI_EV_REPLY:
		sink += fuzz_touch(&ev->u.reply.text);
		break;
	case FTPI_EV_FINDING:
		sink += fuzz_touch(&ev->u.finding.message) + fuzz_touch(&ev->u.finding.evidence);
		break;
	case FTPI_EV_SESSION_END:
		sink += fuzz_touch(&ev->u.session.user) + fuzz_touch(&ev->u.session.banner);
		sink += fuzz_touch(&ev->u.session.tls_info.sni);
		break;
	case FTPI_EV_DATA:
		sink += fuzz_touch(&ev->u.data.command) + fuzz_touch(&ev->u.data.file);
		break;
	default:
		break;
	}
	(void)sink;
	return 0;
}

/* The engine of the process, made from *cfg for the first input and reset before each later
 * one (ftpi_engine_reset: a new engine's state, but its memory blocks kept, so an input costs no
 * engine set-up and, once warm, few allocator calls). The targets flush it at the end of an
 * input and never free it. */
static inline ftpi_engine *fuzz_reuse(ftpi_engine **slot, const struct ftpi_config *cfg)
{
	if (*slot == NULL)
		*slot = ftpi_engine_new(cfg, NULL);
	else if (ftpi_engine_reset(*slot) != FTPI_OK)
		abort();
	return *slot;
}

static inline ftpi_engine *fuzz_engine(void)
{
	static ftpi_engine *e;
	struct ftpi_config cfg;
	ftpi_config_init(&cfg);
	cfg.max_flows = 64;
	cfg.reasm_mem = 256 << 10;
	cfg.reasm_flow_bytes = 16 << 10;
	cfg.max_ooo_segments = 16;
	cfg.max_line_len = 256;
	cfg.max_sessions = 16;
	cfg.max_expectations = 64;
	cfg.max_expect_per_session = 4;
	cfg.mem_cap = 16 << 20;
	cfg.use_ndpi = 0;
	cfg.on_event = fuzz_on_event;
	return fuzz_reuse(&e, &cfg);
}

/* The end of the piece that starts at p: the next separator sep (n bytes), or end. */
static inline const uint8_t *fuzz_piece_end(const uint8_t *p, const uint8_t *end, const char *sep,
					    size_t n)
{
	const uint8_t *q = memmem(p, (size_t)(end - p), sep, n);
	return q ? q : end;
}

#endif
