/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * drops.c - capture loss on a live capture, for ftpinspect. The kernel's drop counters (through
 * capture.c) are sampled after read batches; each rise is kept as a time span (on live capture
 * the capture clock is the wall clock), so that a data_connection_missing finding can say when
 * drops overlapped the time between the announcement and the finding, and the run can end with
 * a capture_loss finding. Bounded: a fixed table of spans (when full, the last one grows) and a
 * ring of recent announcements. It knows nothing of output formats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define DROP_SPANS	   64
#define DROP_EXPECTS	   1024
#define DROP_SAMPLE_US	   100000u
#define DROP_DEFAULT_WIN_S 120u

struct drop_watch {
	struct {
		uint64_t from_us, to_us, n;
	} span[DROP_SPANS];
	size_t n_spans;
	uint64_t dropped;   /* kernel + interface drops at the last sample */
	uint64_t sample_us; /* wall time of the last sample */
	struct {
		uint64_t session, ts_us;
	} expect[DROP_EXPECTS]; /* recent announcements (ring) */
	size_t expect_next;
};

static uint64_t wall_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

void drop_watch_sample(struct drop_watch *w, struct cap *c, int force)
{
	struct cap_stats cs;
	uint64_t now = wall_us(), total;

	if (!force && now < w->sample_us + DROP_SAMPLE_US)
		return;
	if (cap_get_stats(c, &cs) != 0)
		return;
	total = cs.dropped + cs.ifdropped;
	if (total > w->dropped) {
		uint64_t from = w->sample_us ? w->sample_us : now;
		if (w->n_spans > 0 && w->span[w->n_spans - 1].to_us >= from) {
			w->span[w->n_spans - 1].to_us = now;
			w->span[w->n_spans - 1].n += total - w->dropped;
		} else if (w->n_spans < DROP_SPANS) {
			w->span[w->n_spans].from_us = from;
			w->span[w->n_spans].to_us = now;
			w->span[w->n_spans].n = total - w->dropped;
			w->n_spans++;
		} else {
			w->span[DROP_SPANS - 1].to_us = now;
			w->span[DROP_SPANS - 1].n += total - w->dropped;
		}
	}
	w->dropped = total;
	w->sample_us = now;
}

/* Packets dropped in [from, to] (spans that overlap it). */
static uint64_t drops_between(const struct drop_watch *w, uint64_t from, uint64_t to)
{
	uint64_t n = 0;
	for (size_t i = 0; i < w->n_spans; i++)
		if (w->span[i].to_us >= from && w->span[i].from_us <= to)
			n += w->span[i].n;
	return n;
}

/* When the data connection went missing: from the session's earliest remembered announcement
 * (or a default window) to the finding. */
static uint64_t drops_for_missing(const struct drop_watch *w, const struct ftpi_event *ev)
{
	uint64_t from = ev->ts_us > DROP_DEFAULT_WIN_S * 1000000u
				? ev->ts_us - DROP_DEFAULT_WIN_S * 1000000u
				: 0;
	int found = 0;

	for (size_t i = 0; i < DROP_EXPECTS; i++) {
		if (w->expect[i].session != ev->session_id || w->expect[i].ts_us > ev->ts_us)
			continue;
		if (!found || w->expect[i].ts_us < from)
			from = w->expect[i].ts_us;
		found = 1;
	}
	/* Drops are sampled after a batch: allow one sampling period after the finding. */
	return drops_between(w, from, ev->ts_us + DROP_SAMPLE_US + CAP_READ_TIMEOUT_MS * 1000u);
}

const struct ftpi_event *drop_watch_amend(const struct drop_watch *w, const struct ftpi_event *ev,
					  struct ftpi_event *copy, char *msg, size_t msglen)
{
	const struct ftpi_span *m = &ev->u.finding.message;
	uint64_t n;
	int len;

	if (ev->type != FTPI_EV_FINDING ||
	    ev->u.finding.kind != FTPI_FINDING_DATA_CONNECTION_MISSING)
		return ev;
	n = drops_for_missing(w, ev);
	if (n == 0)
		return ev;
	len = snprintf(msg, msglen, "%.*s; possible cause: the capture dropped packets (%llu "
		       "dropped meanwhile)", (int)(m->len < 1024 ? m->len : 1024),
		       m->ptr ? m->ptr : "", (unsigned long long)n);
	if (len < 0)
		return ev;
	*copy = *ev;
	copy->u.finding.message.ptr = msg;
	copy->u.finding.message.len = (size_t)len < msglen ? (size_t)len : msglen - 1;
	return copy;
}

struct drop_watch *drop_watch_new(void)
{
	return calloc(1, sizeof(struct drop_watch));
}

void drop_watch_free(struct drop_watch *w)
{
	free(w);
}

void drop_watch_expect(struct drop_watch *w, const struct ftpi_event *ev)
{
	if (ev->type != FTPI_EV_EXPECT)
		return;
	w->expect[w->expect_next].session = ev->session_id;
	w->expect[w->expect_next].ts_us = ev->ts_us;
	w->expect_next = (w->expect_next + 1) % DROP_EXPECTS;
}

int drop_watch_loss_event(const struct cap_stats *cs, uint64_t ts_us, struct ftpi_event *ev,
			  char *msg, size_t msglen, char *evid, size_t evidlen)
{
	int ml, el;

	if (cs->dropped + cs->ifdropped == 0)
		return 0;
	ml = snprintf(msg, msglen,
		      "%llu packets dropped by the kernel, %llu by the interface: missing data "
		      "connections may be capture loss",
		      (unsigned long long)cs->dropped, (unsigned long long)cs->ifdropped);
	el = snprintf(evid, evidlen, "%llu packets received by filter",
		      (unsigned long long)cs->received);
	memset(ev, 0, sizeof *ev);
	ev->type = FTPI_EV_FINDING;
	ev->ts_us = ts_us;
	/* No connection: the unspecified address 0.0.0.0, port 0, on both sides. */
	ev->client.addr.family = 4;
	ev->server.addr.family = 4;
	ev->u.finding.kind = FTPI_FINDING_CAPTURE_LOSS;
	ev->u.finding.severity = FTPI_SEV_MEDIUM;
	ev->u.finding.message.ptr = msg;
	ev->u.finding.message.len = ml < 0 ? 0 : (size_t)ml < msglen ? (size_t)ml : msglen - 1;
	ev->u.finding.evidence.ptr = evid;
	ev->u.finding.evidence.len = el < 0 ? 0 : (size_t)el < evidlen ? (size_t)el : evidlen - 1;
	return 1;
}
