/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * classify.c - nDPI where the engine's own parsers are blind: packets of a flow still being
 * sniffed (FTP on an unusual port) and of a control channel up to its password (nDPI's risk
 * verdicts join the findings' evidence), within a packet budget per flow. nDPI's detection
 * module (megabytes, tens of millions of instructions to build; one per process, shared by the
 * engines: ndpi_glue.c) is taken when the engine's first flow needs it, so a process whose
 * engines see no unknown traffic never pays for it.
 */
#include "engine.h"
#include "ndpi_glue.h"

#define NDPI_PACKET_BUDGET 12

#ifdef FTPI_WITH_NDPI
static void ndpi_stop(struct ftpi_engine *e, struct ftpi_flow *f)
{
	if (f->ndpi) {
		int app = 0;
		uint32_t risks = 0;
		const char *name = NULL;
		ftpi__ndpi_giveup(e->ndpi, f->ndpi, &app, &risks, &name);
		if (name && f->app_name == NULL)
			f->app_name = name;
		f->ndpi_risks |= risks;
		ftpi__ndpi_flow_free(&e->cx, e->ndpi, f->ndpi);
	}
	f->ndpi = NULL;
	f->ndpi_done = 1;
}
#endif

/* counted: reassembly has already counted the packet in the flow's halves. */
static void classify(struct ftpi_engine *e, struct ftpi_flow *f, const struct ftpi_tcp_seg *seg,
		     int counted)
{
#ifdef FTPI_WITH_NDPI
	if (!e->cx.cfg.use_ndpi || f->ndpi_done || f->external)
		return;
	/* nDPI helps only where the engine's own parsers are blind: a flow still being sniffed
	 * (FTP on an unusual port) and a control channel (its risk verdicts join the evidence).
	 * Data connections and other traffic are never fed to it. */
	if (f->role == FTPI_ROLE_DATA || f->role == FTPI_ROLE_OTHER) {
		/* --share: a connection looked up in Redis may still turn out to be a control
		 * connection at its first payload (ftpi__dconn_share_greeting), which comes late */
		if (f->role == FTPI_ROLE_DATA && ftpi__dconn_share_fresh(f->app))
			return;
		ndpi_stop(e, f);
		return;
	}
	if (seg->wire_len == 0)
		return; /* nDPI's dissectors look at payload: bare ACKs and SYNs are not fed */
	if (f->role == FTPI_ROLE_CONTROL && f->app) {
		/* a readable control channel: nDPI's verdict matters up to the password */
		const struct ftpi_session *cs = f->app;
		if (!FTPI__UNREADABLE(cs) && (cs->pass_clear || cs->login != FTPI_LOGIN_NONE)) {
			ndpi_stop(e, f);
			return;
		}
	}
	if (e->ndpi == NULL) {
		if (e->ndpi_failed || ftpi__ndpi_new(&e->cx, &e->ndpi) != FTPI_OK) {
			e->ndpi_failed = 1;
			e->ndpi = NULL;
			f->ndpi_done = 1;
			return;
		}
	}
	if (f->ndpi == NULL) {
		f->ndpi = ftpi__ndpi_flow_new(&e->cx, e->ndpi);
		if (f->ndpi == NULL) {
			f->ndpi_done = 1;
			return;
		}
	}
	int app = 0;
	uint32_t risks = 0;
	const char *name = NULL;
	int done = ftpi__ndpi_classify(e->ndpi, f->ndpi, seg->ip, seg->ip_len, e->cx.now_us, &app,
				       &risks, &name);
	if (!done)
		f->ndpi_risks |= ftpi__ndpi_risks_now(f->ndpi);
	if (!done && f->half[0].packets + f->half[1].packets + !counted >= NDPI_PACKET_BUDGET) {
		ftpi__ndpi_giveup(e->ndpi, f->ndpi, &app, &risks, &name);
		done = 1;
	}
	if (done) {
		f->ndpi_done = 1;
		f->app_name = name;
		f->ndpi_risks |= risks;
		FTPI__COUNT(&e->cx, ndpi_classified);
		ftpi__ndpi_flow_free(&e->cx, e->ndpi, f->ndpi);
		f->ndpi = NULL;
	}
#else
	(void)e;
	(void)f;
	(void)seg;
	(void)counted;
#endif
}

void ftpi__classify_packet(struct ftpi_engine *e, struct ftpi_flow *f,
			   const struct ftpi_tcp_seg *seg)
{
	classify(e, f, seg, 0);
}

int ftpi__classify_defer(const struct ftpi_engine *e, const struct ftpi_flow *f,
			 const struct ftpi_tcp_seg *seg)
{
#ifdef FTPI_WITH_NDPI
	/* nDPI's answer about a flow that turns out not to be FTP reaches an output only as the
	 * flow event's app. With flow events off, what it says of such a flow is needed only if
	 * the flow becomes a control connection (its risks join the session's findings), and the
	 * packets before that must reach nDPI in order, each before the session reads it. A
	 * flow's first packet nDPI would see can wait until reassembly has sniffed it when it
	 * cannot make a session by itself (the caller asks the sniffer: ftpi__dispatch_one_sided):
	 * if the flow is then still undecided, nDPI gets the packet as before; if it is known not
	 * to be FTP, nDPI never sees the flow. */
	return e->cx.cfg.use_ndpi && !(e->cx.cfg.event_mask & FTPI_EVMASK_FLOWS) &&
	       f->ndpi == NULL && !f->ndpi_done && !f->external && seg->wire_len != 0;
#else
	(void)e;
	(void)f;
	(void)seg;
	return 0;
#endif
}

void ftpi__classify_after(struct ftpi_engine *e, struct ftpi_flow *f,
			  const struct ftpi_tcp_seg *seg)
{
	if (f->role == FTPI_ROLE_UNKNOWN || f->role == FTPI_ROLE_CONTROL)
		classify(e, f, seg, 1); /* (control: a --share lookup's greeting, dispatch.c) */
	else
		f->ndpi_done = 1; /* not FTP (or a data connection): nDPI is not asked */
}

void ftpi__classify_flow_release(struct ftpi_engine *e, struct ftpi_flow *f)
{
#ifdef FTPI_WITH_NDPI
	if (f->ndpi && e->ndpi)
		ftpi__ndpi_flow_free(&e->cx, e->ndpi, f->ndpi);
#else
	(void)e;
#endif
	f->ndpi = NULL;
}


void ftpi__classify_release(struct ftpi_engine *e)
{
#ifdef FTPI_WITH_NDPI
	if (e->ndpi) {
		ftpi__ndpi_free(&e->cx, e->ndpi);
		e->ndpi = NULL;
	}
#else
	(void)e;
#endif
}
