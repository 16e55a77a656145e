/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine.c - the public entry points and the only unit that knows the whole pipeline:
 * packet -> decode -> flow table -> TCP reassembly -> app (FTP parser, sessions, expectations)
 * -> events. It also owns the config (defaults, validation, the engine's private copy), the
 * event emitter, statistics, and the stream entry points for IDS engines that reassemble TCP
 * themselves.
 */
#include <stdlib.h>

#include "app.h"
#include "decode.h"
#include "engine.h"
#include "flow.h"
#include "ftp.h"

void ftpi_config_init(struct ftpi_config *cfg)
{
	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof *cfg);
	cfg->size = sizeof *cfg;
	cfg->max_flows = 65536;
	cfg->reasm_mem = (size_t)64 << 20;
	cfg->reasm_flow_bytes = 256u << 10;
	cfg->max_ooo_segments = 256;
	cfg->max_line_len = 4096;
	cfg->max_sessions = 16384;
	cfg->max_expectations = 65536;
	cfg->max_expect_per_session = 64;
	cfg->max_tls_handshake = (size_t)64 << 10;
	cfg->mem_cap = (size_t)512 << 20;
	cfg->timeout_syn = 30ull * 1000000;
	cfg->timeout_established = 3600ull * 1000000;
	cfg->timeout_closing = 30ull * 1000000;
	cfg->timeout_expect = 120ull * 1000000;
	cfg->hash_seed[0] = 0x5a17c0ffee15900dull;
	cfg->hash_seed[1] = 0x0ddba11cafef00d5ull;
	cfg->overlap_policy = FTPI_OVERLAP_FIRST;
	cfg->redact_credentials = 1;
	cfg->brute_force_threshold = 5;
	cfg->brute_force_window = 300ull * 1000000;
#ifdef FTPI_WITH_NDPI
	cfg->use_ndpi = 1;
#endif
	cfg->event_mask = ~0u;
}

static int bad_field(char *field, size_t fieldlen, const char *name)
{
	if (field && fieldlen) {
		size_t n = strlen(name);
		if (n >= fieldlen)
			n = fieldlen - 1;
		memcpy(field, name, n);
		field[n] = '\0';
	}
	return FTPI_E_INVAL;
}

int ftpi_config_validate(const struct ftpi_config *cfg, char *field, size_t fieldlen)
{
	if (cfg == NULL)
		return bad_field(field, fieldlen, "config");
	if (cfg->size != sizeof *cfg)
		return FTPI_E_ABI;
	if (cfg->max_flows == 0 || cfg->max_flows > (1u << 24))
		return bad_field(field, fieldlen, "max_flows");
	if (cfg->max_line_len < 64 || cfg->max_line_len > (1u << 20))
		return bad_field(field, fieldlen, "max_line_len");
	if (cfg->max_ooo_segments > 65535)
		return bad_field(field, fieldlen, "max_ooo_segments");
	if (cfg->max_sessions == 0)
		return bad_field(field, fieldlen, "max_sessions");
	if (cfg->max_expect_per_session == 0)
		return bad_field(field, fieldlen, "max_expect_per_session");
	if (cfg->max_tls_handshake > ((size_t)16 << 20))
		return bad_field(field, fieldlen, "max_tls_handshake");
	if (cfg->timeout_syn == 0 || cfg->timeout_established == 0 || cfg->timeout_closing == 0)
		return bad_field(field, fieldlen, "timeout_*");
	if (cfg->timeout_expect == 0)
		return bad_field(field, fieldlen, "timeout_expect");
	if (cfg->overlap_policy != FTPI_OVERLAP_FIRST)
		return bad_field(field, fieldlen, "overlap_policy");
	if (cfg->pasv_min > cfg->pasv_max)
		return bad_field(field, fieldlen, "pasv_min");
	if (cfg->n_allow_clients && cfg->allow_clients == NULL)
		return bad_field(field, fieldlen, "allow_clients");
	if (cfg->n_allow_servers && cfg->allow_servers == NULL)
		return bad_field(field, fieldlen, "allow_servers");
	if (cfg->n_control_ports && cfg->control_ports == NULL)
		return bad_field(field, fieldlen, "control_ports");
	if (cfg->n_allow_clients > 4096 || cfg->n_allow_servers > 4096 ||
	    cfg->n_control_ports > 256)
		return bad_field(field, fieldlen, "allow_*/control_ports count");
	for (size_t i = 0; i < cfg->n_allow_clients; i++)
		if ((cfg->allow_clients[i].addr.family != 4 && cfg->allow_clients[i].addr.family != 6) ||
		    cfg->allow_clients[i].prefix > (cfg->allow_clients[i].addr.family == 4 ? 32 : 128))
			return bad_field(field, fieldlen, "allow_clients");
	for (size_t i = 0; i < cfg->n_allow_servers; i++)
		if ((cfg->allow_servers[i].addr.family != 4 && cfg->allow_servers[i].addr.family != 6) ||
		    cfg->allow_servers[i].prefix > (cfg->allow_servers[i].addr.family == 4 ? 32 : 128))
			return bad_field(field, fieldlen, "allow_servers");
	if ((cfg->allocator.alloc == NULL) != (cfg->allocator.free == NULL))
		return bad_field(field, fieldlen, "allocator");
#ifndef FTPI_WITH_NDPI
	if (cfg->use_ndpi)
		return bad_field(field, fieldlen, "use_ndpi (built without nDPI)");
#endif
	return FTPI_OK;
}

static void *copy_array(struct ftpi_engine *e, const void *src, size_t n, size_t elem, int *ok)
{
	if (n == 0)
		return NULL;
	void *p = ftpi__alloc(e, FTPI__POOL_MISC, n * elem);
	if (p == NULL)
		*ok = 0;
	else
		memcpy(p, src, n * elem);
	return p;
}

static char *copy_str(struct ftpi_engine *e, const char *s, int *ok)
{
	if (s == NULL)
		return NULL;
	return copy_array(e, s, strlen(s) + 1, 1, ok);
}

ftpi_engine *ftpi_engine_new(const struct ftpi_config *cfg, int *status)
{
	struct ftpi_engine tmp, *e;
	int st, ok = 1;

	if (status)
		*status = FTPI_OK;
	st = ftpi_config_validate(cfg, NULL, 0);
	if (st != FTPI_OK) {
		if (status)
			*status = st;
		return NULL;
	}
	/* Bootstrap: the engine accounts its own allocation too. */
	memset(&tmp, 0, sizeof tmp);
	tmp.cfg = *cfg;
	tmp.mem_cap = cfg->mem_cap ? cfg->mem_cap : SIZE_MAX;
	e = ftpi__alloc(&tmp, FTPI__POOL_MISC, sizeof *e);
	if (e == NULL) {
		if (status)
			*status = FTPI_E_NOMEM;
		return NULL;
	}
	*e = tmp;
	e->pool_cap[FTPI__POOL_REASM] = cfg->reasm_mem;
	e->allow_clients = copy_array(e, cfg->allow_clients, cfg->n_allow_clients,
				      sizeof *cfg->allow_clients, &ok);
	e->allow_servers = copy_array(e, cfg->allow_servers, cfg->n_allow_servers,
				      sizeof *cfg->allow_servers, &ok);
	e->control_ports = copy_array(e, cfg->control_ports, cfg->n_control_ports,
				      sizeof *cfg->control_ports, &ok);
	e->ca_file = copy_str(e, cfg->ca_file, &ok);
	e->server_name = copy_str(e, cfg->server_name, &ok);
	e->cfg.allow_clients = e->allow_clients;
	e->cfg.allow_servers = e->allow_servers;
	e->cfg.control_ports = e->control_ports;
	e->cfg.ca_file = e->ca_file;
	e->cfg.server_name = e->server_name;
	if (!ok || ftpi__flow_table_init(e) != FTPI_OK) {
		ftpi_engine_free(e);
		if (status)
			*status = FTPI_E_NOMEM;
		return NULL;
	}
	st = ftpi__ftp_init(e);
	if (st != FTPI_OK) {
		ftpi_engine_free(e);
		if (status)
			*status = st;
		return NULL;
	}
	return e;
}

void ftpi_engine_free(ftpi_engine *e)
{
	if (e == NULL)
		return;
	e->stop = 1; /* no events from here on */
	if (e->flows.buckets)
		ftpi__flow_table_release(e);
	ftpi__ftp_release(e);
	ftpi__free(e, FTPI__POOL_MISC, e->allow_clients,
		   e->cfg.n_allow_clients * sizeof *e->allow_clients);
	ftpi__free(e, FTPI__POOL_MISC, e->allow_servers,
		   e->cfg.n_allow_servers * sizeof *e->allow_servers);
	ftpi__free(e, FTPI__POOL_MISC, e->control_ports,
		   e->cfg.n_control_ports * sizeof *e->control_ports);
	if (e->ca_file)
		ftpi__free(e, FTPI__POOL_MISC, e->ca_file, strlen(e->ca_file) + 1);
	if (e->server_name)
		ftpi__free(e, FTPI__POOL_MISC, e->server_name, strlen(e->server_name) + 1);
	struct ftpi_engine tmp = *e;
	ftpi__free(&tmp, FTPI__POOL_MISC, e, sizeof *e);
}

int ftpi__emit(struct ftpi_engine *e, struct ftpi_event *ev)
{
	uint32_t need = 0;

	if (e->stop)
		return -1;
	switch (ev->type) {
	case FTPI_EV_COMMAND:
	case FTPI_EV_REPLY:
		need = FTPI_EVMASK_COMMANDS;
		break;
	case FTPI_EV_FLOW_END:
		need = FTPI_EVMASK_FLOWS;
		break;
	case FTPI_EV_EXPECT:
		need = FTPI_EVMASK_EXPECT;
		break;
	case FTPI_EV_ANOMALY:
		need = FTPI_EVMASK_ANOMALY;
		break;
	case FTPI_EV_TLS:
		need = FTPI_EVMASK_TLS;
		break;
	case FTPI_EV_LOGIN:
		need = FTPI_EVMASK_LOGIN;
		break;
	default:
		break;
	}
	if (need && !(e->cfg.event_mask & need)) {
		FTPI__COUNT(e, events_dropped_by_mask);
		return 0;
	}
	if (ev->ts_us == 0)
		ev->ts_us = e->now_us;
	if (ev->frame == 0 && !e->in_flush)
		ev->frame = e->frame;
	if (e->cfg.on_event == NULL)
		return 0;
	if (e->cfg.on_event(e->cfg.user, ev) != 0) {
		e->stop = 1;
		return -1;
	}
	return 0;
}

static void tick(struct ftpi_engine *e)
{
	/* Timeouts are checked once per second of capture time: cheap and bounded. */
	if (e->now_us - e->last_expire_us < 1000000)
		return;
	e->last_expire_us = e->now_us;
	ftpi__flow_expire(e, e->now_us);
	ftpi__ftp_tick(e, e->now_us);
}

int ftpi_engine_feed(ftpi_engine *e, const struct ftpi_packet *pkt)
{
	struct ftpi_tcp_seg seg;
	struct ftpi_flow *f;
	int dir;

	if (e == NULL || pkt == NULL || (pkt->data == NULL && pkt->caplen))
		return FTPI_E_INVAL;
	e->stop = 0;
	e->frame++;
	if (pkt->ts_us > e->now_us)
		e->now_us = pkt->ts_us;
	if (e->last_expire_us == 0)
		e->last_expire_us = e->now_us;
	FTPI__COUNT(e, packets);
	FTPI__COUNT_N(e, bytes, pkt->wirelen);
	if (!ftpi_linktype_supported(pkt->linktype)) {
		FTPI__COUNT(e, unsupported_linktype);
		return FTPI_E_LINKTYPE;
	}
	if (!ftpi__decode_packet(e, pkt->linktype, pkt->data, pkt->caplen, pkt->wirelen, &seg))
		goto out;

	/* Packets come in bursts of one flow (bulk data): try the last flow before hashing. */
	uint64_t hash = 0;
	f = e->last_flow;
	if (f && ftpi__ep_eq(&f->cli, &seg.src) && ftpi__ep_eq(&f->srv, &seg.dst)) {
		dir = FTPI_DIR_TO_SERVER;
		hash = f->hash;
	} else if (f && ftpi__ep_eq(&f->srv, &seg.src) && ftpi__ep_eq(&f->cli, &seg.dst)) {
		dir = FTPI_DIR_TO_CLIENT;
		hash = f->hash;
	} else {
		hash = ftpi__flow_hash(e, &seg.src, &seg.dst);
		f = ftpi__flow_lookup(e, &seg.src, &seg.dst, hash, &dir);
	}
	int syn_only = (seg.flags & (FTPI_TH_SYN | FTPI_TH_ACK)) == FTPI_TH_SYN;
	if (f && syn_only && f->state == FTPI_FLOW_CLOSED) {
		/* The port pair is reused by a new connection. */
		ftpi__flow_end(e, f, 0);
		f = NULL;
	}
	if (f == NULL) {
		const struct ftpi_endpoint *cli = &seg.src, *srv = &seg.dst;
		if (seg.flags & FTPI_TH_RST)
			goto out; /* a stray reset does not make a flow */
		if ((seg.flags & FTPI_TH_SYN) && (seg.flags & FTPI_TH_ACK)) {
			cli = &seg.dst;
			srv = &seg.src;
		} else if (!syn_only) {
			/* Mid-stream: guess the server by port. */
			if (ftpi__is_control_port(e, seg.src.port) && !ftpi__is_control_port(e, seg.dst.port)) {
				cli = &seg.dst;
				srv = &seg.src;
			} else if (!ftpi__is_control_port(e, seg.dst.port) && seg.src.port != 20 &&
				   seg.src.port < 1024 && seg.dst.port >= 1024) {
				cli = &seg.dst;
				srv = &seg.src;
			}
		}
		f = ftpi__flow_create(e, cli, srv, hash, e->now_us);
		if (f == NULL)
			goto out;
		dir = ftpi__ep_eq(&seg.src, &f->cli) ? FTPI_DIR_TO_SERVER : FTPI_DIR_TO_CLIENT;
		if (seg.flags & FTPI_TH_SYN) {
			f->state = FTPI_FLOW_SYN_SENT;
		} else {
			f->midstream = 1;
			f->state = FTPI_FLOW_ESTABLISHED;
			FTPI__COUNT(e, flows_midstream);
		}
		ftpi__app_new(e, f, &seg);
	}
	ftpi__flow_touch(e, f, e->now_us);
	e->last_flow = f;
	/* Checksums are counted, never a reason to drop by default (captures taken on the sending
	 * host carry unfilled ones). Only the packets whose bytes are read are summed: control
	 * channels and flows still being classified, not bulk data. */
	if (!e->cfg.verify_checksums && seg.len &&
	    (f->role == FTPI_ROLE_CONTROL || f->role == FTPI_ROLE_UNKNOWN) &&
	    !ftpi__tcp_checksum_ok(&seg))
		FTPI__COUNT(e, bad_checksum);
	ftpi__app_packet(e, f, dir, &seg);
	ftpi__reasm_segment(e, f, dir, &seg);
out:
	tick(e);
	return e->stop ? FTPI_E_CALLBACK : FTPI_OK;
}

int ftpi_engine_advance(ftpi_engine *e, uint64_t now_us)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	e->stop = 0;
	if (now_us > e->now_us)
		e->now_us = now_us;
	e->last_expire_us = e->now_us;
	ftpi__flow_expire(e, e->now_us);
	ftpi__ftp_tick(e, e->now_us);
	return e->stop ? FTPI_E_CALLBACK : FTPI_OK;
}

int ftpi_engine_flush(ftpi_engine *e)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	e->stop = 0;
	e->in_flush = 1;
	ftpi__flow_end_all(e);
	ftpi__ftp_flush(e);
	e->in_flush = 0;
	return e->stop ? FTPI_E_CALLBACK : FTPI_OK;
}

int ftpi_engine_stats(const ftpi_engine *e, struct ftpi_stats *out, size_t out_size)
{
	if (e == NULL || out == NULL)
		return FTPI_E_INVAL;
	if (out_size > sizeof *out)
		out_size = sizeof *out;
	memcpy(out, &e->st, out_size);
	return FTPI_OK;
}

/* ---- streams: already-reassembled bytes from another engine ---- */

int ftpi_stream_open(ftpi_engine *e, const struct ftpi_endpoint *client,
		     const struct ftpi_endpoint *server, uint64_t ts_us, uint64_t *stream_id)
{
	int dir;
	if (e == NULL || client == NULL || server == NULL || stream_id == NULL)
		return FTPI_E_INVAL;
	if ((client->addr.family != 4 && client->addr.family != 6) ||
	    client->addr.family != server->addr.family)
		return FTPI_E_INVAL;
	e->stop = 0;
	if (ts_us > e->now_us)
		e->now_us = ts_us;
	uint64_t hash = ftpi__flow_hash(e, client, server);
	struct ftpi_flow *f = ftpi__flow_lookup(e, client, server, hash, &dir);
	if (f)
		ftpi__flow_end(e, f, 0);
	if (e->flows.count >= e->cfg.max_flows)
		return FTPI_E_LIMIT;
	f = ftpi__flow_create(e, client, server, hash, e->now_us);
	if (f == NULL)
		return FTPI_E_NOMEM;
	f->external = 1;
	f->state = FTPI_FLOW_ESTABLISHED;
	f->half[0].seq_known = f->half[1].seq_known = 1;
	ftpi__app_new(e, f, NULL);
	*stream_id = f->id;
	return e->stop ? FTPI_E_CALLBACK : FTPI_OK;
}

static struct ftpi_flow *stream_get(ftpi_engine *e, uint64_t id, uint64_t ts_us)
{
	struct ftpi_flow *f = ftpi__flow_by_id(e, id);
	if (f == NULL || !f->external)
		return NULL;
	e->stop = 0;
	if (ts_us > e->now_us)
		e->now_us = ts_us;
	ftpi__flow_touch(e, f, e->now_us);
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
	FTPI__COUNT_N(e, reasm_bytes_delivered, len);
	if (h->want && len && !f->app_closed)
		ftpi__app_data(e, f, dir, data, len);
	return e->stop ? FTPI_E_CALLBACK : FTPI_OK;
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
	FTPI__COUNT(e, reasm_gaps);
	FTPI__COUNT_N(e, reasm_gap_bytes, len);
	if (h->want && len && !f->app_closed)
		ftpi__app_gap(e, f, dir, len);
	return e->stop ? FTPI_E_CALLBACK : FTPI_OK;
}

int ftpi_stream_close(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	struct ftpi_flow *f = stream_get(e, stream_id, ts_us);
	if (f == NULL)
		return FTPI_E_NOTFOUND;
	ftpi__flow_end(e, f, 0);
	return e->stop ? FTPI_E_CALLBACK : FTPI_OK;
}
