/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine.c - the public entry points for packets and the only unit that knows the whole
 * pipeline: packet -> decode/ -> flow/ -> reasm/ -> ftp/ (with tls/) -> expect/ -> events
 * (core/sink.c). It also owns the config (defaults, validation, the engine's private copy) and
 * statistics. The stages are wired together in dispatch.c; streams enter in stream.c.
 */
#include <stdlib.h>

#include "engine.h"
#include "ndpi_glue.h"

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
	cfg->max_frag_datagrams = 1024;
	cfg->frag_mem = (size_t)4 << 20;
	cfg->timeout_frag = 30ull * 1000000;
	cfg->max_pending_commands = 16;
	cfg->max_user_len = 128;
	cfg->max_arg_len = 256;
	cfg->max_reply_len = 512;
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
	if (cfg->expect_store && cfg->engine_index >= ftpi__store_engines(cfg->expect_store))
		return bad_field(field, fieldlen, "engine_index");
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
	if (cfg->max_frag_datagrams > (1u << 20))
		return bad_field(field, fieldlen, "max_frag_datagrams");
	if (cfg->frag_mem > ((size_t)1 << 32))
		return bad_field(field, fieldlen, "frag_mem");
	if (cfg->timeout_frag == 0)
		return bad_field(field, fieldlen, "timeout_frag");
	if (cfg->max_pending_commands == 0 || cfg->max_pending_commands > 256)
		return bad_field(field, fieldlen, "max_pending_commands");
	if (cfg->max_user_len == 0 || cfg->max_user_len > FTPI__USER_MAX)
		return bad_field(field, fieldlen, "max_user_len");
	if (cfg->max_arg_len == 0 || cfg->max_arg_len > FTPI__FILE_MAX)
		return bad_field(field, fieldlen, "max_arg_len");
	if (cfg->max_reply_len < 16 || cfg->max_reply_len > FTPI__REPLY_TEXT_MAX)
		return bad_field(field, fieldlen, "max_reply_len");
	/* A trust store that cannot be read, or holds nothing, would silently turn every
	 * certificate finding off: refused. */
	uint64_t certs;
	if (cfg->ca_file != NULL &&
	    (ftpi__x509_trust_count(cfg->ca_file, NULL, &certs) != FTPI_OK || certs == 0))
		return bad_field(field, fieldlen, "ca_file");
	if (cfg->ca_dir != NULL &&
	    (ftpi__x509_trust_count(NULL, cfg->ca_dir, &certs) != FTPI_OK || certs == 0))
		return bad_field(field, fieldlen, "ca_dir");
	if (cfg->file_hashes & ~(FTPI_HASH_MD5 | FTPI_HASH_SHA1 | FTPI_HASH_SHA256))
		return bad_field(field, fieldlen, "file_hashes");
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
	void *p = ftpi__alloc(&e->cx, FTPI__POOL_MISC, n * elem);
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

/* Whether the decoder gets the defragmenter: decided once from the config, not per packet. */
static void defrag_config(struct ftpi_engine *e)
{
	e->defrag_p = e->cx.cfg.max_frag_datagrams && e->cx.cfg.frag_mem ? &e->defrag : NULL;
}

ftpi_engine *ftpi_engine_new(const struct ftpi_config *cfg, int *status)
{
	struct ftpi__ctx tmp;
	struct ftpi_engine *e;
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
	tmp.cache.on = 1; /* recycled blocks: no allocator call per object once warm */
	e = ftpi__alloc(&tmp, FTPI__POOL_MISC, sizeof *e);
	if (e == NULL) {
		if (status)
			*status = FTPI_E_NOMEM;
		return NULL;
	}
	e->cx = tmp;
	e->cx.pool_cap[FTPI__POOL_REASM] = cfg->reasm_mem;
	e->cx.pool_cap[FTPI__POOL_FRAG] = cfg->frag_mem;
	ftpi__dispatch_install(e);
	e->allow_clients = copy_array(e, cfg->allow_clients, cfg->n_allow_clients,
				      sizeof *cfg->allow_clients, &ok);
	e->allow_servers = copy_array(e, cfg->allow_servers, cfg->n_allow_servers,
				      sizeof *cfg->allow_servers, &ok);
	e->control_ports = copy_array(e, cfg->control_ports, cfg->n_control_ports,
				      sizeof *cfg->control_ports, &ok);
	e->ca_file = copy_str(e, cfg->ca_file, &ok);
	e->server_name = copy_str(e, cfg->server_name, &ok);
	e->ca_dir = copy_str(e, cfg->ca_dir, &ok);
	e->cx.cfg.allow_clients = e->allow_clients;
	e->cx.cfg.allow_servers = e->allow_servers;
	e->cx.cfg.control_ports = e->control_ports;
	e->cx.cfg.ca_file = e->ca_file;
	e->cx.cfg.server_name = e->server_name;
	e->cx.cfg.ca_dir = e->ca_dir;
	defrag_config(e);
#ifdef FTPI_WITH_NDPI
	/* nDPI names what OpenSSL leaves out, whether or not it classifies flows */
	e->tlsr.names.suite_name = ftpi__ndpi_suite_name;
	e->tlsr.names.version_name = ftpi__ndpi_version_name;
#endif
	if (!ok || ftpi__flow_table_init(&e->cx, &e->flows, &e->flows.cbs) != FTPI_OK ||
	    ftpi__ftp_init(&e->ftp, &e->cx, &e->tlsr, &e->ftp.hooks) != FTPI_OK ||
	    ftpi__expect_init(&e->xt, &e->cx, &e->ftp) != FTPI_OK) {
		ftpi_engine_free(e);
		if (status)
			*status = FTPI_E_NOMEM;
		return NULL;
	}
	if (cfg->expect_store) {
		/* ids interleave: engine i of n gives i+1, i+1+n, ... (unique, and dense) */
		e->ftp.next_session_id = (uint64_t)cfg->engine_index + 1;
		e->ftp.session_id_step = ftpi__store_engines(cfg->expect_store);
		if (ftpi__store_attach(cfg->expect_store, cfg->engine_index) != FTPI_OK) {
			e->cx.cfg.expect_store = NULL;
			ftpi_engine_free(e);
			if (status)
				*status = FTPI_E_INVAL;
			return NULL;
		}
		e->xt.store = cfg->expect_store;
		e->xt.me = cfg->engine_index;
		struct ftpi__share *sh = ftpi__store_share(cfg->expect_store);
		if (sh && ftpi__expect_share_init(&e->xt, sh) != FTPI_OK) {
			ftpi_engine_free(e);
			if (status)
				*status = FTPI_E_NOMEM;
			return NULL;
		}
	}
	return e;
}

/* Frees every stage's state, without events; the engine struct, its config copies and its
 * memory cache stay. */
static void release_stages(struct ftpi_engine *e)
{
	e->cx.stop = 1; /* no events from here on */
	ftpi__defrag_release(&e->cx, &e->defrag);
	if (e->flows.buckets)
		ftpi__flow_table_release(&e->cx, &e->flows);
	if (e->xt.buckets)
		ftpi__expect_release(&e->xt);
	if (e->ftp.pair_buckets)
		ftpi__ftp_release(&e->ftp);
	ftpi__tlsreview_release(&e->cx, &e->tlsr);
	ftpi__classify_release(e);
	ftpi__sidx_release(e);
}

int ftpi_engine_reset(ftpi_engine *e)
{
	if (e == NULL || e->xt.store != NULL)
		return FTPI_E_INVAL;
	release_stages(e);
	/* Back to the state ftpi_engine_new() left: what stays is the config (and the engine's
	 * copies of its arrays), the memory accounting of what is still allocated (the engine and
	 * those copies) and the blocks kept for reuse; every stage, clock and counter starts
	 * again. */
	struct ftpi__ctx cx = e->cx;
	struct ftpi_cidr *ac = e->allow_clients, *as = e->allow_servers;
	uint16_t *cp = e->control_ports;
	char *caf = e->ca_file, *sn = e->server_name, *cad = e->ca_dir;
	memset(e, 0, sizeof *e);
	e->cx.cfg = cx.cfg;
	memcpy(e->cx.pool_used, cx.pool_used, sizeof cx.pool_used);
	memcpy(e->cx.pool_cap, cx.pool_cap, sizeof cx.pool_cap);
	e->cx.mem_used = cx.mem_used;
	e->cx.mem_cap = cx.mem_cap;
	e->cx.cache = cx.cache;
	e->cx.st.mem_in_use = e->cx.st.mem_high_water = cx.mem_used;
	e->allow_clients = ac;
	e->allow_servers = as;
	e->control_ports = cp;
	e->ca_file = caf;
	e->server_name = sn;
	e->ca_dir = cad;
	defrag_config(e);
	ftpi__dispatch_install(e);
	if (ftpi__flow_table_init(&e->cx, &e->flows, &e->flows.cbs) != FTPI_OK ||
	    ftpi__ftp_init(&e->ftp, &e->cx, &e->tlsr, &e->ftp.hooks) != FTPI_OK ||
	    ftpi__expect_init(&e->xt, &e->cx, &e->ftp) != FTPI_OK) {
		release_stages(e);
		return FTPI_E_NOMEM;
	}
	return FTPI_OK;
}

void ftpi_engine_free(ftpi_engine *e)
{
	if (e == NULL)
		return;
	release_stages(e);
	if (e->xt.store)
		ftpi__store_detach(e->xt.store, e->xt.me);
	ftpi__free(&e->cx, FTPI__POOL_MISC, e->allow_clients,
		   e->cx.cfg.n_allow_clients * sizeof *e->allow_clients);
	ftpi__free(&e->cx, FTPI__POOL_MISC, e->allow_servers,
		   e->cx.cfg.n_allow_servers * sizeof *e->allow_servers);
	ftpi__free(&e->cx, FTPI__POOL_MISC, e->control_ports,
		   e->cx.cfg.n_control_ports * sizeof *e->control_ports);
	if (e->ca_file)
		ftpi__free(&e->cx, FTPI__POOL_MISC, e->ca_file, strlen(e->ca_file) + 1);
	if (e->server_name)
		ftpi__free(&e->cx, FTPI__POOL_MISC, e->server_name, strlen(e->server_name) + 1);
	if (e->ca_dir)
		ftpi__free(&e->cx, FTPI__POOL_MISC, e->ca_dir, strlen(e->ca_dir) + 1);
	struct ftpi__ctx tmp = e->cx;
	ftpi__free(&tmp, FTPI__POOL_MISC, e, sizeof *e);
	ftpi__mem_drain(&tmp);
}

static void tick(struct ftpi_engine *e)
{
	/* Timeouts are checked once per second of capture time: cheap and bounded. */
	if (e->cx.now_us - e->last_expire_us < 1000000)
		return;
	e->last_expire_us = e->cx.now_us;
	ftpi__defrag_expire(&e->cx, &e->defrag, e->cx.now_us);
	ftpi__dispatch_frag_drops(e);
	ftpi__flow_expire(&e->flows, &e->cx, e->cx.now_us);
	ftpi__expect_tick(&e->xt, e->cx.now_us);
}

/* Which way a mid-stream payload goes by its content: FTPI_DIR_TO_CLIENT for a reply line (the
 * sender is a server), FTPI_DIR_TO_SERVER for a command line, -1 when it says neither. */
static int speaker(const struct ftpi_tcp_seg *seg)
{
	if (seg->len == 0)
		return -1;
	if (ftpi__ftp_looks_like_reply(seg->payload, seg->len))
		return FTPI_DIR_TO_CLIENT;
	if (ftpi__ftp_looks_like_command(seg->payload, seg->len))
		return FTPI_DIR_TO_SERVER;
	return -1;
}

/* A mid-stream flow picked up on a packet without payload was oriented by ports: the first
 * payload (before any byte was delivered) may say the other way round. The swap happens
 * before reassembly sees the packet. */
static void reorient(struct ftpi_flow *f, const struct ftpi_tcp_seg *seg, int *dir)
{
	int says;
	if (!f->midstream || f->role != FTPI_ROLE_UNKNOWN || f->half[0].bytes ||
	    f->half[1].bytes || f->sniff_first || (says = speaker(seg)) < 0 || says == *dir)
		return;
	struct ftpi_endpoint ep = f->cli;
	struct ftpi_half h = f->half[0];
	f->cli = f->srv;
	f->srv = ep;
	f->half[0] = f->half[1];
	f->half[1] = h;
	*dir = says;
}

/* The flow of a segment, created when a packet may start one; NULL when none. hash_in, when not
 * NULL, is the segment's flow hash computed ahead (ftpi_engine_feed_batch). */
static struct ftpi_flow *flow_of(struct ftpi_engine *e, const struct ftpi_tcp_seg *seg, int *dir,
				 const uint64_t *hash_in)
{
	/* Packets come in bursts of one flow (bulk data): try the last flow before hashing. */
	uint64_t hash;
	struct ftpi_flow *f = e->flows.last;
	if (f && ftpi__ep_eq(&f->cli, &seg->src) && ftpi__ep_eq(&f->srv, &seg->dst)) {
		*dir = FTPI_DIR_TO_SERVER;
		hash = f->hash;
	} else if (f && ftpi__ep_eq(&f->srv, &seg->src) && ftpi__ep_eq(&f->cli, &seg->dst)) {
		*dir = FTPI_DIR_TO_CLIENT;
		hash = f->hash;
	} else {
		hash = hash_in ? *hash_in : ftpi__flow_hash(&e->cx, &seg->src, &seg->dst);
		f = ftpi__flow_lookup(&e->flows, &seg->src, &seg->dst, hash, dir);
	}
	int syn_only = (seg->flags & (FTPI_TH_SYN | FTPI_TH_ACK)) == FTPI_TH_SYN;
	if (f && syn_only && f->state == FTPI_FLOW_CLOSED) {
		/* The port pair is reused by a new connection. */
		ftpi__dispatch_end(e, f, FTPI_FLOW_END_NORMAL);
		f = NULL;
	}
	if (f)
		return f;
	if (seg->flags & FTPI_TH_RST)
		return NULL; /* a stray reset does not make a flow */
	const struct ftpi_endpoint *cli = &seg->src, *srv = &seg->dst;
	if ((seg->flags & FTPI_TH_SYN) && (seg->flags & FTPI_TH_ACK)) {
		cli = &seg->dst;
		srv = &seg->src;
	} else if (!syn_only) {
		/* Mid-stream: the content says who is who (a reply comes from the server, a
		 * command from the client), else guess the server by port. */
		int says = speaker(seg);
		if (says == FTPI_DIR_TO_CLIENT) {
			cli = &seg->dst;
			srv = &seg->src;
		} else if (says == FTPI_DIR_TO_SERVER) {
			/* the sender is the client */
		} else if ((ftpi__is_control_port(e, seg->src.port) &&
		     !ftpi__is_control_port(e, seg->dst.port)) ||
		    (!ftpi__is_control_port(e, seg->dst.port) && seg->src.port != 20 &&
		     seg->src.port < 1024 && seg->dst.port >= 1024)) {
			cli = &seg->dst;
			srv = &seg->src;
		}
	}
	f = ftpi__flow_create(&e->cx, &e->flows, cli, srv, hash);
	if (f == NULL)
		return NULL;
	*dir = ftpi__ep_eq(&seg->src, &f->cli) ? FTPI_DIR_TO_SERVER : FTPI_DIR_TO_CLIENT;
	if (seg->flags & FTPI_TH_SYN) {
		ftpi__flow_set_state(f, FTPI_FLOW_SYN_SENT);
	} else {
		f->midstream = 1;
		ftpi__flow_set_state(f, FTPI_FLOW_ESTABLISHED);
		FTPI__COUNT(&e->cx, flows_midstream);
	}
	ftpi__dispatch_new(e, f);
	return f;
}

/* What every packet costs before decoding: the clock, the frame number, the packet counters and
 * the link type check. */
static int feed_start(ftpi_engine *e, const struct ftpi_packet *pkt)
{
	if (e == NULL || pkt == NULL || (pkt->data == NULL && pkt->caplen))
		return FTPI_E_INVAL;
	e->cx.stop = 0;
	e->cx.frame++;
	if (pkt->ts_us > e->cx.now_us)
		e->cx.now_us = pkt->ts_us;
	if (e->xt.store) /* everything before this packet is done */
		ftpi__store_mark(e->xt.store, e->xt.me, e->cx.now_us, e->cx.frame);
	if (e->xt.share) {
		ftpi__expect_share_mark(&e->xt);
		/* Redis answers that came (one atomic load), retries due (the wall clock, read
		 * every 16th packet: clock_gettime on every packet was 3% of the run) */
		if (e->xt.sh_used && (ftpi__share_ready(e->xt.share, e->xt.me) ||
				      (++e->xt.sh_tick & 15) == 0))
			ftpi__expect_share_poll(&e->xt);
	}
	if (e->last_expire_us == 0)
		e->last_expire_us = e->cx.now_us;
	/* a datagram past timeout_frag is gone before a late fragment can complete it (one
	 * comparison when nothing expires) */
	if (ftpi__defrag_holds(&e->defrag))
		ftpi__defrag_expire(&e->cx, &e->defrag, e->cx.now_us);
	FTPI__COUNT(&e->cx, packets);
	FTPI__COUNT_N(&e->cx, bytes, pkt->wirelen);
	/* a capture has one link type: the last one found supported is not looked up again */
	if ((unsigned)pkt->linktype + 1u != e->linktype_ok) {
		if (!ftpi_linktype_supported(pkt->linktype)) {
			FTPI__COUNT(&e->cx, unsupported_linktype);
			return FTPI_E_LINKTYPE;
		}
		e->linktype_ok = (unsigned)pkt->linktype + 1u;
	}
	return FTPI_OK;
}

/* The defragmenter's state for the decoder, or NULL when defragmentation is off (decided once,
 * from the config). */
static struct ftpi__defrag *defrag_of(struct ftpi_engine *e)
{
	return e->defrag_p;
}

/* A decoded TCP segment (seg NULL: the packet was not one) through the rest of the pipeline. */
static int feed_seg(ftpi_engine *e, const struct ftpi_tcp_seg *seg, const uint64_t *hash)
{
	struct ftpi_flow *f;
	int dir;

	if (seg == NULL)
		goto out;
	f = flow_of(e, seg, &dir, hash);
	if (f == NULL)
		goto out;
	reorient(f, seg, &dir);
	ftpi__flow_touch(&e->flows, f, e->cx.now_us);
	e->flows.last = f;
	if (f->ttl[dir] == 0)
		f->ttl[dir] = seg->ttl;
	/* Checksums are counted, never a reason to drop by default (captures taken on the sending
	 * host carry unfilled ones). Only the packets whose bytes are read are summed: control
	 * channels and flows still being classified, not bulk data. */
	if (!e->cx.cfg.verify_checksums && seg->len &&
	    (f->role == FTPI_ROLE_CONTROL || f->role == FTPI_ROLE_UNKNOWN) &&
	    !ftpi__tcp_checksum_ok(seg))
		FTPI__COUNT(&e->cx, bad_checksum);
	/* nDPI: nothing to do once it is done with the flow (most packets) */
	int late = 0;
	if (!f->ndpi_done) {
		late = (ftpi__classify_defer(e, f, seg) && ftpi__dispatch_one_sided(e, f, dir)) ||
		       (FTPI__UNLIKELY(f->role == FTPI_ROLE_DATA) && seg->wire_len != 0 &&
			ftpi__dconn_share_fresh(f->app));
		if (!late)
			ftpi__classify_packet(e, f, seg);
	}
	int closed = ftpi__reasm_segment(&e->reasm, f, dir, seg);
	if (late)
		ftpi__classify_after(e, f, seg);
	if (seg->frag_conflict)
		ftpi__dispatch_frag_conflict(e, f, dir);
	if (closed)
		ftpi__dispatch_closed(e, f);
	else if (FTPI__UNLIKELY(e->xt.remote_open) && f->role == FTPI_ROLE_DATA && f->app &&
		 f->half[1].syn_seen)
		ftpi__dconn_answered(&e->xt, f->app); /* a claimed connection was answered */
	else if (FTPI__UNLIKELY(e->xt.remote_open) && f->role == FTPI_ROLE_DATA && f->app &&
		 dir == FTPI_DIR_TO_SERVER)
		ftpi__dconn_syn(f->app, e->cx.now_us); /* one not answered yet: its tries */
out:
	if (FTPI__UNLIKELY(ftpi__defrag_pending(&e->defrag))) {
		/* the reassembled datagram, if any, is used up (in a batch: only the look-ahead's
		 * last packet can own it, and earlier ones must not free it) */
		if (!e->defrag_hold)
			ftpi__defrag_done(&e->cx, &e->defrag);
		ftpi__dispatch_frag_drops(e);
	}
	tick(e);
	return e->cx.stop ? FTPI_E_CALLBACK : FTPI_OK;
}

int ftpi_engine_feed(ftpi_engine *e, const struct ftpi_packet *pkt)
{
	struct ftpi_tcp_seg seg;
	int st = feed_start(e, pkt);

	if (st != FTPI_OK)
		return st;
	seg.defrag = defrag_of(e);
	if (!ftpi__decode_packet(&e->cx, pkt->linktype, pkt->data, pkt->caplen, &seg))
		return feed_seg(e, NULL, NULL);
	return feed_seg(e, &seg, NULL);
}

/* Packets decoded ahead that will not be fed after all (a stop, an error): their decode counters
 * are taken back, so the statistics are those of the packets fed. Rare; decodes them again into
 * a scratch context to learn what they counted. */
static void undecode(ftpi_engine *e, const struct ftpi_packet *pkts, size_t from, size_t to)
{
	struct ftpi__ctx tmp = e->cx;
	struct ftpi_tcp_seg seg;
	uint64_t *dst = (uint64_t *)(void *)&e->cx.st;
	const uint64_t *delta = (const uint64_t *)(const void *)&tmp.st;

	memset(&tmp.st, 0, sizeof tmp.st);
	seg.defrag = NULL; /* fragments were counted only: they stay taken */
	for (size_t j = from; j < to; j++)
		if (pkts[j].data != NULL && ftpi_linktype_supported(pkts[j].linktype))
			(void)ftpi__decode_packet(&tmp, pkts[j].linktype, pkts[j].data, pkts[j].caplen,
						  &seg);
	for (size_t k = 0; k < sizeof tmp.st / sizeof *dst; k++)
		dst[k] -= delta[k];
}

int ftpi_engine_feed_batch(ftpi_engine *e, const struct ftpi_packet *pkts, size_t n, size_t *done)
{
	struct {
		struct ftpi_tcp_seg seg;
		uint64_t hash;
		int ok;
	} pre[FTPI__FEED_BATCH];

	if (done)
		*done = 0;
	if (e == NULL || (pkts == NULL && n))
		return FTPI_E_INVAL;
	for (size_t i = 0, m = 0; i < n; i += m) {
		m = FTPI__MIN(n - i, (size_t)FTPI__FEED_BATCH);
		/* 1: decode and hash ahead, and ask for each flow's bucket while the others are
		 * decoded. A packet with the previous one's endpoints is left to the last-flow
		 * shortcut (its hash is computed later only if the shortcut misses). */
		for (size_t k = 0; k < m; k++) {
			const struct ftpi_packet *p = &pkts[i + k];
			pre[k].seg.defrag = defrag_of(e);
			if (pre[k].seg.defrag && p->ts_us > e->cx.now_us)
				ftpi__defrag_expire(&e->cx, &e->defrag, p->ts_us);
			pre[k].ok = (p->data != NULL || p->caplen == 0) &&
				    ftpi_linktype_supported(p->linktype) &&
				    ftpi__decode_packet(&e->cx, p->linktype, p->data, p->caplen,
							&pre[k].seg);
			if (e->defrag.out != NULL) {
				/* its datagram lives in the defragmenter's one output buffer until
				 * it is fed (TCP or not): the look-ahead ends with it */
				if (pre[k].ok)
					pre[k].hash = ftpi__flow_hash(&e->cx, &pre[k].seg.src,
								      &pre[k].seg.dst);
				m = k + 1;
				break;
			}
			if (!pre[k].ok)
				continue;
			if (k > 0 && pre[k - 1].ok && ftpi__ep_eq(&pre[k].seg.src, &pre[k - 1].seg.src) &&
			    ftpi__ep_eq(&pre[k].seg.dst, &pre[k - 1].seg.dst)) {
				pre[k].ok = 2;
				continue;
			}
			pre[k].hash = ftpi__flow_hash(&e->cx, &pre[k].seg.src, &pre[k].seg.dst);
			ftpi__flow_prefetch(&e->flows, pre[k].hash);
		}
		/* 2: feed them in order, exactly as ftpi_engine_feed would */
		for (size_t k = 0; k < m; k++) {
			int st = feed_start(e, &pkts[i + k]);
			e->defrag_hold = k + 1 < m;
			if (st == FTPI_OK)
				st = feed_seg(e, pre[k].ok ? &pre[k].seg : NULL,
					      pre[k].ok == 1 ? &pre[k].hash : NULL);
			e->defrag_hold = 0;
			if (st != FTPI_OK) {
				ftpi__defrag_done(&e->cx, &e->defrag);
				size_t fed = k + (st == FTPI_E_CALLBACK);
				if (st != FTPI_E_CALLBACK && pre[k].ok)
					undecode(e, pkts, i + k, i + k + 1);
				undecode(e, pkts, i + k + 1, i + m);
				if (done)
					*done = i + fed;
				return st;
			}
		}
		if (done)
			*done = i + m;
	}
	return FTPI_OK;
}

int ftpi_engine_feed_frame(ftpi_engine *e, const struct ftpi_packet *pkt, uint64_t frame)
{
	if (e == NULL || frame == 0)
		return FTPI_E_INVAL;
	e->cx.frame = frame - 1;
	return ftpi_engine_feed(e, pkt);
}

int ftpi_engine_advance(ftpi_engine *e, uint64_t now_us)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	e->cx.stop = 0;
	if (now_us > e->cx.now_us)
		e->cx.now_us = now_us;
	e->last_expire_us = e->cx.now_us;
	if (e->xt.store)
		ftpi__store_mark(e->xt.store, e->xt.me, e->cx.now_us, e->cx.frame);
	ftpi__defrag_expire(&e->cx, &e->defrag, e->cx.now_us);
	ftpi__dispatch_frag_drops(e);
	ftpi__flow_expire(&e->flows, &e->cx, e->cx.now_us);
	ftpi__expect_tick(&e->xt, e->cx.now_us);
	ftpi__expect_share_poll(&e->xt);
	return e->cx.stop ? FTPI_E_CALLBACK : FTPI_OK;
}

int ftpi_engine_advance_frame(ftpi_engine *e, uint64_t now_us, uint64_t frame)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	e->cx.frame = frame;
	return ftpi_engine_advance(e, now_us);
}

int ftpi_engine_flush(ftpi_engine *e)
{
	if (e == NULL)
		return FTPI_E_INVAL;
	e->cx.stop = 0;
	ftpi__hold_release_all(e); /* streams held for an announcement that never came */
	e->cx.in_flush = 1;
	if (e->xt.store) /* no more input for this engine: others stop waiting for it */
		ftpi_expect_store_done(e->xt.store, e->xt.me);
	ftpi__defrag_flush(&e->cx, &e->defrag); /* incomplete datagrams: their sessions are told */
	ftpi__dispatch_frag_drops(e);
	ftpi__flow_end_all(&e->flows);
	/* Flows ended first: every session has been closed by now, unless created by a stream
	 * still open - those are closed here too. */
	ftpi__ftp_close_all(&e->ftp);
	ftpi__expect_flush(&e->xt);
	ftpi__servers_flush(&e->ftp);
	e->cx.in_flush = 0;
	return e->cx.stop ? FTPI_E_CALLBACK : FTPI_OK;
}

int ftpi_engine_stats(const ftpi_engine *e, struct ftpi_stats *out, size_t out_size)
{
	if (e == NULL || out == NULL)
		return FTPI_E_INVAL;
	if (out_size > sizeof *out)
		out_size = sizeof *out;
	memcpy(out, &e->cx.st, out_size);
	return FTPI_OK;
}

