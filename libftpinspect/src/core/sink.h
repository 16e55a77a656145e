/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sink.h - the one way out of the library: events and findings go to the caller's callback
 * through here. Every stage may call it; it calls nothing else in the library.
 */
#ifndef FTPI_SINK_H
#define FTPI_SINK_H

#include "internal.h"

/* nDPI risks that matter to FTP/FTPS reviews, as bits (set by engine/ndpi_glue.c, read here to
 * join nDPI's verdict to a finding's evidence). */
enum ftpi__ndpi_risk_bits {
	FTPI__NDPI_RISK_CLEAR_CREDENTIALS = 1u << 0,
	FTPI__NDPI_RISK_TLS_OBSOLETE_VERSION = 1u << 1,
	FTPI__NDPI_RISK_TLS_WEAK_CIPHER = 1u << 2,
	FTPI__NDPI_RISK_TLS_SELFSIGNED = 1u << 3,
	FTPI__NDPI_RISK_TLS_EXPIRED = 1u << 4,
	FTPI__NDPI_RISK_TLS_MISMATCH = 1u << 5,
	FTPI__NDPI_RISK_KNOWN_PROTO_NON_STD_PORT = 1u << 6,
	FTPI__NDPI_RISK_UNSAFE_PROTOCOL = 1u << 7
};

/* What findings are about: a session's identity, and the record of the kinds it raised (for its
 * session_end event). Owned by the session; the TLS review and the data-connection stage raise
 * findings on it without knowing the session. */
struct ftpi__subject {
	uint64_t id;
	uint64_t stream_id; /* the control connection's flow or stream id */
	struct ftpi_endpoint cli, srv;
	uint64_t findings_mask;
	uint8_t order[FTPI_FINDING__COUNT];
	uint8_t n_order;
	const uint32_t *ndpi_risks; /* the control flow's nDPI risks while it lives, else NULL */
};

static inline int ftpi__subject_has(const struct ftpi__subject *s, int kind)
{
	return s != NULL && ((s->findings_mask >> kind) & 1u);
}

/* A zeroed event of type about subject s (its session, stream and endpoints). */
static inline void ftpi__event_of(struct ftpi_event *ev, int type, const struct ftpi__subject *s)
{
	memset(ev, 0, sizeof *ev);
	ev->type = type;
	ev->session_id = s->id;
	ev->stream_id = s->stream_id;
	ev->client = s->cli;
	ev->server = s->srv;
}

/* Emits an event through the callback (fills ts/frame). Honours event_mask for optional types.
 * Returns 0, or -1 once the callback asked to stop. */
int ftpi__emit(struct ftpi__ctx *cx, struct ftpi_event *ev);
/* An event of this type would be dropped by event_mask: counted as dropped (as ftpi__emit would),
 * returns 1, and the caller need not build it. 0: build it and emit it. */
int ftpi__emit_masked(struct ftpi__ctx *cx, int type);

/* Raises a finding. s may be NULL; client/server default to the subject's. */
void ftpi__finding(struct ftpi__ctx *cx, struct ftpi__subject *s, int kind,
		   const struct ftpi_endpoint *client, const struct ftpi_endpoint *server,
		   const char *message, const char *evidence);
/* Raises kind only once per subject. */
void ftpi__finding_once(struct ftpi__ctx *cx, struct ftpi__subject *s, int kind,
			const char *message, const char *evidence);

#endif /* FTPI_SINK_H */
