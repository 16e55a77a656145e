/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sink.c - events and findings out to the caller's callback: the event mask, the stop request,
 * the time and frame stamps, finding counters, and the per-subject record of raised kinds.
 */
#include "sink.h"

static uint32_t mask_bit(int type)
{
	switch (type) {
	case FTPI_EV_COMMAND:
	case FTPI_EV_REPLY:
		return FTPI_EVMASK_COMMANDS;
	case FTPI_EV_FLOW_END:
		return FTPI_EVMASK_FLOWS;
	case FTPI_EV_EXPECT:
		return FTPI_EVMASK_EXPECT;
	case FTPI_EV_ANOMALY:
		return FTPI_EVMASK_ANOMALY;
	case FTPI_EV_TLS:
		return FTPI_EVMASK_TLS;
	case FTPI_EV_LOGIN:
		return FTPI_EVMASK_LOGIN;
	default:
		return 0;
	}
}

int ftpi__emit_masked(struct ftpi__ctx *cx, int type)
{
	uint32_t need = mask_bit(type);

	if (cx->stop || need == 0 || (cx->cfg.event_mask & need))
		return 0;
	FTPI__COUNT(cx, events_dropped_by_mask);
	return 1;
}

int ftpi__emit(struct ftpi__ctx *cx, struct ftpi_event *ev)
{
	if (cx->stop)
		return -1;
	if (ftpi__emit_masked(cx, ev->type))
		return 0;
	if (ev->ts_us == 0)
		ev->ts_us = cx->now_us;
	if (ev->frame == 0 && !cx->in_flush)
		ev->frame = cx->frame;
	if (cx->cfg.on_event == NULL)
		return 0;
	if (cx->cfg.on_event(cx->cfg.user, ev) != 0) {
		cx->stop = 1;
		return -1;
	}
	return 0;
}

/* nDPI's own verdict on the same flow, where it saw the same risk. */
static const struct {
	int kind;
	uint32_t bit;
	const char *text;
} ndpi_evidence[] = {
	{FTPI_FINDING_PLAINTEXT_AUTH, FTPI__NDPI_RISK_CLEAR_CREDENTIALS, "clear-text credentials"},
	{FTPI_FINDING_TLS_WEAK_VERSION, FTPI__NDPI_RISK_TLS_OBSOLETE_VERSION, "obsolete TLS version"},
	{FTPI_FINDING_TLS_WEAK_CIPHER, FTPI__NDPI_RISK_TLS_WEAK_CIPHER, "weak TLS cipher"},
	{FTPI_FINDING_TLS_CERT_SELF_SIGNED, FTPI__NDPI_RISK_TLS_SELFSIGNED, "self-signed certificate"},
	{FTPI_FINDING_TLS_CERT_EXPIRED, FTPI__NDPI_RISK_TLS_EXPIRED, "certificate expired"},
	{FTPI_FINDING_TLS_CERT_NAME_MISMATCH, FTPI__NDPI_RISK_TLS_MISMATCH, "certificate mismatch"},
};

void ftpi__finding(struct ftpi__ctx *cx, struct ftpi__subject *s, int kind,
		   const struct ftpi_endpoint *client, const struct ftpi_endpoint *server,
		   const char *message, const char *evidence)
{
	struct ftpi_event ev;
	char evbuf[700];

	if (kind < 0 || kind >= FTPI_FINDING__COUNT)
		return;
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_FINDING;
	ev.session_id = s ? s->id : 0;
	ev.stream_id = s ? s->stream_id : 0;
	if (client)
		ev.client = *client;
	else if (s)
		ev.client = s->cli;
	if (server)
		ev.server = *server;
	else if (s)
		ev.server = s->srv;
	ev.u.finding.kind = kind;
	ev.u.finding.severity = ftpi_finding_default_severity(kind);
	ev.u.finding.message.ptr = message;
	ev.u.finding.message.len = message ? strlen(message) : 0;
	const char *evd = evidence ? evidence : "";
	uint32_t risks = s && s->ndpi_risks ? *s->ndpi_risks : 0;
	for (size_t i = 0; risks && i < FTPI__ARRAY_LEN(ndpi_evidence); i++) {
		if (ndpi_evidence[i].kind == kind && (risks & ndpi_evidence[i].bit)) {
			ftpi__buf_printf(evbuf, sizeof evbuf, 0, "%s%snDPI risk: %s", evd,
					 *evd ? "; " : "", ndpi_evidence[i].text);
			evd = evbuf;
		}
	}
	ev.u.finding.evidence.ptr = evd;
	ev.u.finding.evidence.len = strlen(evd);
	FTPI__COUNT(cx, findings);
	if (kind < (int)FTPI__ARRAY_LEN(cx->st.findings_by_kind))
		cx->st.findings_by_kind[kind]++;
	if (s && !ftpi__subject_has(s, kind)) {
		s->findings_mask |= 1ull << kind;
		if (s->n_order < FTPI__ARRAY_LEN(s->order))
			s->order[s->n_order++] = (uint8_t)kind;
	}
	ftpi__emit(cx, &ev);
}

void ftpi__finding_once(struct ftpi__ctx *cx, struct ftpi__subject *s, int kind,
			const char *message, const char *evidence)
{
	if (ftpi__subject_has(s, kind))
		return;
	ftpi__finding(cx, s, kind, NULL, NULL, message, evidence);
}
