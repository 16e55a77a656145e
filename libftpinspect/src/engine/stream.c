/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stream.c - the stream entry points for IDS engines that reassemble TCP themselves: bytes enter
 * above reassembly, at the same dispatch as reassembled packet data, so nothing above
 * reassembly depends on the packet decoder or the flow table's TCP state.
 */
#include "engine.h"

int ftpi_stream_open(ftpi_engine *e, const struct ftpi_endpoint *client,
		     const struct ftpi_endpoint *server, uint64_t ts_us, uint64_t *stream_id)
{
	int dir;
	if (e == NULL || client == NULL || server == NULL || stream_id == NULL)
		return FTPI_E_INVAL;
	if ((client->addr.family != 4 && client->addr.family != 6) ||
	    client->addr.family != server->addr.family)
		return FTPI_E_INVAL;
	e->cx.stop = 0;
	if (ts_us > e->cx.now_us)
		e->cx.now_us = ts_us;
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
	ftpi__flow_set_state(f, FTPI_FLOW_ESTABLISHED);
	f->half[0].seq_known = f->half[1].seq_known = 1;
	ftpi__dispatch_new(e, f);
	*stream_id = f->id;
	return e->cx.stop ? FTPI_E_CALLBACK : FTPI_OK;
}

static struct ftpi_flow *stream_get(ftpi_engine *e, uint64_t id, uint64_t ts_us)
{
	struct ftpi_flow *f = ftpi__flow_by_id(&e->flows, id);
	if (f == NULL || !f->external)
		return NULL;
	e->cx.stop = 0;
	if (ts_us > e->cx.now_us)
		e->cx.now_us = ts_us;
	ftpi__flow_touch(&e->flows, f, e->cx.now_us);
	return f;
}

int ftpi_stream_data(ftpi_engine *e, uint64_t stream_id, int dir, uint64_t ts_us,
		     const uint8_t *data, size_t len)
{
	if (e == NULL || (data == NULL && len) || (dir != 0 && dir != 1))
		return FTPI_E_INVAL;
	struct ftpi_flow *f = stream_get(e, stream_id, ts_us);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	struct ftpi_half *h = &f->half[dir];
	h->packets++;
	h->bytes += len;
	FTPI__COUNT_N(&e->cx, reasm_bytes_delivered, len);
	if (h->want && len && !f->app_closed)
		ftpi__dispatch_data(e, f, dir, data, len);
	return e->cx.stop ? FTPI_E_CALLBACK : FTPI_OK;
}

int ftpi_stream_gap(ftpi_engine *e, uint64_t stream_id, int dir, uint64_t len)
{
	if (e == NULL || (dir != 0 && dir != 1))
		return FTPI_E_INVAL;
	struct ftpi_flow *f = stream_get(e, stream_id, 0);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	struct ftpi_half *h = &f->half[dir];
	h->bytes += len;
	h->gap_bytes += len;
	FTPI__COUNT(&e->cx, reasm_gaps);
	FTPI__COUNT_N(&e->cx, reasm_gap_bytes, len);
	if (h->want && len && !f->app_closed)
		ftpi__dispatch_gap(e, f, dir, len);
	return e->cx.stop ? FTPI_E_CALLBACK : FTPI_OK;
}

int ftpi_stream_close(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	struct ftpi_flow *f = stream_get(e, stream_id, ts_us);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	ftpi__dispatch_end(e, f, FTPI_FLOW_END_NORMAL);
	return e->cx.stop ? FTPI_E_CALLBACK : FTPI_OK;
}
