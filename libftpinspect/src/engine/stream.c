/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stream.c - the stream entry points for IDS engines that reassemble TCP themselves: bytes enter
 * above reassembly, at the same dispatch as reassembled packet data, so nothing above reassembly
 * depends on the packet decoder or the flow table's TCP state.
 *
 * Hosts deliver a direction's bytes when they are acknowledged, so a data connection often opens
 * before the 227 that announces it has been delivered. A stream between the hosts of a readable
 * session that no expectation explains is therefore held: its first bytes are kept (bounded),
 * and it is claimed when an announcement explains it, or released to the classifier after
 * FTPI__HOLD_US of capture time, exactly as if it had been fed in order.
 */
#include "engine.h"

/* Capture time moves with every call; timeouts run once per second of it, as for packets. */
static void clock_to(struct ftpi_engine *e, uint64_t ts_us)
{
	e->cx.stop = 0;
	if (ts_us > e->cx.now_us)
		e->cx.now_us = ts_us;
	if (e->stream_ref)
		e->cx.frame = e->stream_ref;
}

static void tick(struct ftpi_engine *e)
{
	if (e->n_held)
		ftpi__hold_tick(e);
	if (e->cx.now_us - e->last_expire_us < 1000000)
		return;
	e->last_expire_us = e->cx.now_us;
	ftpi__expect_tick(&e->xt, e->cx.now_us);
}

static int done(struct ftpi_engine *e)
{
	tick(e);
	return e->cx.stop ? FTPI_E_CALLBACK : FTPI_OK;
}

/* Is a new stream worth holding: an unexplained connection to an unprivileged port (or from
 * port 20) between the hosts of a session whose announcements can be read? */
static int worth_holding(struct ftpi_engine *e, const struct ftpi_flow *f)
{
	if (f->role != FTPI_ROLE_UNKNOWN || ftpi__is_control_port(e, f->srv.port) ||
	    (f->srv.port < 1024 && f->cli.port != 20))
		return 0;
	for (struct ftpi_session *s = ftpi__session_pair_first(&e->ftp, &f->cli.addr, &f->srv.addr);
	     s; s = ftpi__session_pair_next(s, &f->cli.addr, &f->srv.addr))
		if (!s->ended && !FTPI__UNREADABLE(s))
			return 1;
	return 0;
}

static int open_stream(ftpi_engine *e, const struct ftpi_endpoint *client,
		       const struct ftpi_endpoint *server, uint64_t ts_us, int attempt,
		       uint64_t *stream_id)
{
	int dir;
	if (e == NULL || client == NULL || server == NULL || stream_id == NULL)
		return FTPI_E_INVAL;
	if ((client->addr.family != 4 && client->addr.family != 6) ||
	    client->addr.family != server->addr.family)
		return FTPI_E_INVAL;
	clock_to(e, ts_us);
	if (e->last_expire_us == 0)
		e->last_expire_us = e->cx.now_us;
	uint64_t hash = ftpi__flow_hash(&e->cx, client, server);
	struct ftpi_flow *f = ftpi__flow_lookup(&e->flows, client, server, hash, &dir);
	if (f)
		ftpi__dispatch_end(e, f, FTPI_FLOW_END_NORMAL);
	if (e->flows.count >= e->cx.cfg.max_flows)
		return FTPI_E_LIMIT;
	f = ftpi__flow_create(&e->cx, &e->flows, client, server, hash);
	if (f == NULL)
		return FTPI_E_NOMEM;
	f->external = 1;
	if (ftpi__sidx_put(e, f) != FTPI_OK) {
		ftpi__dispatch_end(e, f, FTPI_FLOW_END_NORMAL);
		return FTPI_E_LIMIT;
	}
	f->half[0].seq_known = f->half[1].seq_known = 1;
	f->half[0].syn_seen = 1;
	f->half[0].packets = attempt; /* the SYN */
	if (!attempt) {
		f->half[1].syn_seen = 1; /* established: the server answered */
		ftpi__flow_set_state(f, FTPI_FLOW_ESTABLISHED);
	}
	ftpi__dispatch_new(e, f);
	if (worth_holding(e, f))
		ftpi__hold_new(e, f); /* NULL at the cap: then classified at once, as before */
	*stream_id = f->id;
	return done(e);
}

int ftpi_stream_open(ftpi_engine *e, const struct ftpi_endpoint *client,
		     const struct ftpi_endpoint *server, uint64_t ts_us, uint64_t *stream_id)
{
	return open_stream(e, client, server, ts_us, 0, stream_id);
}

int ftpi_stream_attempt(ftpi_engine *e, const struct ftpi_endpoint *client,
			const struct ftpi_endpoint *server, uint64_t ts_us, uint64_t *stream_id)
{
	return open_stream(e, client, server, ts_us, 1, stream_id);
}

/* A call that does more than count: the handle's counts go to the flow first. */
static struct ftpi_flow *stream_get(ftpi_engine *e, uint64_t id, uint64_t ts_us)
{
	struct ftpi__shandle *h = ftpi__sidx_find(&e->sidx, id);
	if (h == NULL)
		return NULL;
	struct ftpi_flow *f = ftpi__shandle_flow(&e->sidx, h);
	ftpi__shandle_fold(&e->sidx, h);
	clock_to(e, ts_us);
	/* A stream's place in the LRU list (for eviction at max_flows) moves once a second of
	 * capture time at most: relinking on every call would touch its neighbours' memory too. */
	if (e->cx.now_us >= f->last_us + 1000000) {
		ftpi__flow_touch(&e->flows, f, e->cx.now_us);
		h->touch_us = f->last_us + 1000000;
	}
	return f;
}

void ftpi_stream_set_ref(ftpi_engine *e, uint64_t ref)
{
	if (e)
		e->stream_ref = ref;
}

int ftpi_stream_ttl(ftpi_engine *e, uint64_t stream_id, int dir, uint8_t ttl)
{
	if (e == NULL || (dir != 0 && dir != 1))
		return FTPI_E_INVAL;
	struct ftpi_flow *f = ftpi__sidx_get(e, stream_id);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	if (f->ttl[dir] == 0)
		f->ttl[dir] = ttl;
	return FTPI_OK;
}

int ftpi_stream_established(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	struct ftpi_flow *f = stream_get(e, stream_id, ts_us);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	f->half[1].syn_seen = 1;
	if (f->state < FTPI_FLOW_ESTABLISHED)
		ftpi__flow_set_state(f, FTPI_FLOW_ESTABLISHED);
	return done(e);
}

/* An attempt that never became a connection: refused (rst) or given up. */
static int end_attempt(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us, int rst)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	struct ftpi_flow *f = stream_get(e, stream_id, ts_us);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	if (rst)
		f->half[1].packets++; /* the RST */
	if (f->hold)
		ftpi__hold_free(e, f); /* nothing to replay: no byte crossed */
	ftpi__dispatch_end(e, f, FTPI_FLOW_END_NORMAL);
	return done(e);
}

int ftpi_stream_refused(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us)
{
	return end_attempt(e, stream_id, ts_us, 1);
}

int ftpi_stream_unanswered(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us)
{
	return end_attempt(e, stream_id, ts_us, 0);
}

static void release_pair(struct ftpi_engine *e, const struct ftpi_flow *ctrl);

/* Keeps the first bytes of a held stream's direction. */
static void hold_bytes(struct ftpi__hold *h, int dir, const uint8_t *data, size_t len)
{
	if (h->first_dir < 0 && len)
		h->first_dir = (int8_t)dir;
	if (h->gapped[dir])
		return;
	size_t k = FTPI__MIN(len, (size_t)FTPI__HOLD_BYTES - h->len[dir]);
	memcpy(h->buf[dir] + h->len[dir], data, k);
	h->len[dir] += (uint32_t)k;
}

int ftpi_stream_data(ftpi_engine *e, uint64_t stream_id, int dir, uint64_t ts_us,
		     const uint8_t *data, size_t len)
{
	if (e == NULL || (data == NULL && len) || (dir != 0 && dir != 1))
		return FTPI_E_INVAL;
	struct ftpi__shandle *sh = ftpi__sidx_find(&e->sidx, stream_id);
	if (sh == NULL)
		return FTPI_E_NOTFOUND;
	if (sh->fast[dir] && ts_us < sh->touch_us && e->cx.now_us < sh->touch_us &&
	    sh->packets[dir] < UINT16_MAX && len <= UINT32_MAX - sh->bytes[dir]) {
		/* only counted (not FTP, or a data connection past its first bytes): the handle is
		 * all this call touches (a count that would overflow it takes the path below) */
		clock_to(e, ts_us);
		sh->packets[dir]++;
		sh->bytes[dir] += len;
		sh->pending = 1;
		FTPI__COUNT_N(&e->cx, reasm_bytes_delivered, len);
		return done(e);
	}
	struct ftpi_flow *f = stream_get(e, stream_id, ts_us);
	struct ftpi_half *h = &f->half[dir];
	h->packets++;
	h->bytes += len;
	if (len)
		f->half[1].syn_seen = 1; /* bytes crossed: the connection was established */
	FTPI__COUNT_N(&e->cx, reasm_bytes_delivered, len);
	if (f->hold)
		hold_bytes(f->hold, dir, data, len);
	else if (h->want && len && !f->app_closed)
		ftpi__dispatch_data(e, f, dir, data, len);
	ftpi__sidx_refresh(e, stream_id); /* the flow may have changed, or ended, under the call */
	return done(e);
}

static int stream_gap(ftpi_engine *e, uint64_t stream_id, int dir, uint64_t ts_us, uint64_t len)
{
	if (e == NULL || (dir != 0 && dir != 1))
		return FTPI_E_INVAL;
	struct ftpi_flow *f = stream_get(e, stream_id, ts_us);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	struct ftpi_half *h = &f->half[dir];
	h->bytes += len;
	h->gap_bytes += len;
	FTPI__COUNT(&e->cx, reasm_gaps);
	FTPI__COUNT_N(&e->cx, reasm_gap_bytes, len);
	if (f->hold) {
		f->hold->gapped[dir] = 1; /* replayed up to here, then the gap */
		f->hold->gap_len[dir] += len;
	} else if (h->want && len && !f->app_closed) {
		ftpi__dispatch_gap(e, f, dir, len);
	}
	return done(e);
}

int ftpi_stream_gap(ftpi_engine *e, uint64_t stream_id, int dir, uint64_t len)
{
	return stream_gap(e, stream_id, dir, 0, len);
}

int ftpi_stream_gap_at(ftpi_engine *e, uint64_t stream_id, int dir, uint64_t ts_us, uint64_t len)
{
	return stream_gap(e, stream_id, dir, ts_us, len);
}

int ftpi_stream_close(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	struct ftpi_flow *f = stream_get(e, stream_id, ts_us);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	if (f->hold) {
		f->hold->closed = 1; /* ended when claimed or released */
		return done(e);
	}
	if (f->role == FTPI_ROLE_CONTROL && e->n_held)
		release_pair(e, f); /* what its session may still explain, while it lives */
	ftpi__dispatch_end(e, f, FTPI_FLOW_END_NORMAL);
	return done(e);
}

int ftpi_stream_role(const ftpi_engine *e, uint64_t stream_id)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	const struct ftpi_flow *f = ftpi__sidx_get(e, stream_id);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	if (f->hold)
		return FTPI_STREAM_HELD;
	switch (f->role) {
	case FTPI_ROLE_CONTROL:
		return FTPI_STREAM_CONTROL;
	case FTPI_ROLE_DATA:
		return FTPI_STREAM_DATA;
	case FTPI_ROLE_OTHER:
		return FTPI_STREAM_OTHER;
	default:
		return FTPI_STREAM_UNKNOWN;
	}
}

/* ---- held streams ---- */

static void replay(struct ftpi_engine *e, struct ftpi_flow *f, struct ftpi__hold *h);

/* A control stream closes: the held streams between its hosts are claimed or released now. */
static void release_pair(struct ftpi_engine *e, const struct ftpi_flow *ctrl)
{
	for (struct ftpi__hold *h = e->held, *next; h; h = next) {
		next = h->next;
		const struct ftpi_flow *f = h->f;
		int same = (ftpi__addr_eq(&f->cli.addr, &ctrl->cli.addr) &&
			    ftpi__addr_eq(&f->srv.addr, &ctrl->srv.addr)) ||
			   (ftpi__addr_eq(&f->cli.addr, &ctrl->srv.addr) &&
			    ftpi__addr_eq(&f->srv.addr, &ctrl->cli.addr));
		if (!same)
			continue;
		ftpi__expect_match(&e->xt, h->f);
		replay(e, h->f, h);
		next = e->held;
	}
}

/* Feeds what a held stream kept, in its order, as if it had come now; then its gap and end. */
static void replay(struct ftpi_engine *e, struct ftpi_flow *f, struct ftpi__hold *h)
{
	struct ftpi__hold copy = *h; /* the hold goes before replaying: bytes flow normally */
	ftpi__hold_free(e, f);
	int first = copy.first_dir < 0 ? 0 : copy.first_dir;
	for (int k = 0; k < 2; k++) {
		int dir = k == 0 ? first : !first;
		if (copy.len[dir] && f->half[dir].want && !f->app_closed)
			ftpi__dispatch_data(e, f, dir, copy.buf[dir], copy.len[dir]);
		if (copy.gapped[dir] && f->half[dir].want && !f->app_closed)
			ftpi__dispatch_gap(e, f, dir, copy.gap_len[dir]);
	}
	if (copy.closed)
		ftpi__dispatch_end(e, f, FTPI_FLOW_END_NORMAL);
}

void ftpi__hold_tick(struct ftpi_engine *e)
{
	/* claims are possible only after a new announcement; releases once per second suffice */
	uint64_t made = e->cx.st.expectations_created;
	if (made == e->hold_seen_expect && e->cx.now_us - e->hold_checked_us < 1000000)
		return;
	e->hold_seen_expect = made;
	e->hold_checked_us = e->cx.now_us;
	struct ftpi__hold *h = e->held, *next;
	for (; h; h = next) {
		next = h->next;
		struct ftpi_flow *f = h->f;
		/* an announcement now explains it: claimed, as if it had come after it */
		if (ftpi__expect_match(&e->xt, f) || e->cx.now_us - h->since_us >= FTPI__HOLD_US) {
			replay(e, f, h);
			next = e->held; /* the list may have changed under the replay */
		}
	}
}

void ftpi__hold_release_all(struct ftpi_engine *e)
{
	while (e->held) {
		struct ftpi__hold *h = e->held;
		ftpi__expect_match(&e->xt, h->f); /* a last chance, then as it comes */
		replay(e, h->f, h);
	}
}
