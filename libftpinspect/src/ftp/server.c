/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.c - per-server summaries: sessions, clients, passive ports seen, active-mode use, TLS,
 * clear-text logins, NAT and address problems. A capped list (in creation order, for the
 * events), indexed by endpoint so that finding a session's server does not walk the list; each
 * server's summary is emitted as a server event when the engine is flushed.
 */
#include "session.h"

#define FTPI__SERVERS_MAX 4096
#define FTPI__SERVER_BUCKETS 8192 /* power of two, twice the cap */

/* Bucket of an endpoint in the index: FNV-1a over the address and port, started from the
 * engine's hash seed (chains are bounded by the cap in any case). */
static uint32_t server_bucket(const struct ftpi__ftp *ftp, const struct ftpi_endpoint *ep)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ftp->cx->cfg.hash_seed[0];
	size_t n = ep->addr.family == 6 ? 16 : 4;
	for (size_t i = 0; i < n; i++)
		h = (h ^ ep->addr.ip[i]) * 0x100000001b3ull;
	h = (h ^ ep->port) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 29)) & (FTPI__SERVER_BUCKETS - 1);
}

struct ftpi_server *ftpi__server_get(struct ftpi__ftp *ftp, const struct ftpi_endpoint *ep)
{
	if (ftp->server_index == NULL) {
		ftp->server_index = ftpi__alloc(ftp->cx, FTPI__POOL_MISC,
						FTPI__SERVER_BUCKETS * sizeof *ftp->server_index);
		if (ftp->server_index == NULL)
			return NULL;
	}
	uint32_t b = server_bucket(ftp, ep);
	for (struct ftpi_server *sv = ftp->server_index[b]; sv; sv = sv->inext)
		if (ftpi__ep_eq(&sv->ep, ep))
			return sv;
	if (ftp->n_servers >= FTPI__SERVERS_MAX)
		return NULL;
	struct ftpi_server *sv = ftpi__alloc(ftp->cx, FTPI__POOL_MISC, sizeof *sv);
	if (sv == NULL)
		return NULL;
	sv->ep = *ep;
	sv->next = ftp->servers;
	ftp->servers = sv;
	sv->inext = ftp->server_index[b];
	ftp->server_index[b] = sv;
	ftp->n_servers++;
	return sv;
}

/* Releases the index (the servers themselves are freed by the caller). */
void ftpi__servers_index_release(struct ftpi__ftp *ftp)
{
	ftpi__free(ftp->cx, FTPI__POOL_MISC, ftp->server_index,
		   FTPI__SERVER_BUCKETS * sizeof *ftp->server_index);
	ftp->server_index = NULL;
}

void ftpi__servers_flush(struct ftpi__ftp *ftp)
{
	/* oldest first: the list is newest first, so emit in reverse */
	struct ftpi_server *rev = NULL;
	while (ftp->servers) {
		struct ftpi_server *sv = ftp->servers;
		ftp->servers = sv->next;
		sv->next = rev;
		rev = sv;
	}
	while (rev) {
		struct ftpi_server *sv = rev;
		rev = sv->next;
		struct ftpi_event ev;
		memset(&ev, 0, sizeof ev);
		ev.type = FTPI_EV_SERVER;
		ev.server = sv->ep;
		ev.u.server.sessions = sv->sessions;
		ev.u.server.pasv_min = sv->pasv_min;
		ev.u.server.pasv_max = sv->pasv_max;
		ev.u.server.pasv_count = sv->pasv_count;
		ev.u.server.active_count = sv->active_count;
		ev.u.server.out_of_policy = sv->out_of_policy;
		ev.u.server.clients = sv->clients_total;
		ev.u.server.client_list = sv->clients;
		ev.u.server.client_list_len = sv->n_clients;
		ev.u.server.tls_sessions = sv->tls_sessions;
		ev.u.server.clear_logins = sv->clear_logins;
		ev.u.server.nat_problems = sv->nat_problems;
		ev.u.server.ip_mismatches = sv->ip_mismatches;
		ev.u.server.node_mismatches = sv->node_mismatches;
		ev.u.server.helper_addr = sv->helper_addr;
		ev.u.server.has_helper = sv->has_helper;
		ev.u.server.helper_us = sv->helper_us;
		ev.u.server.helper_frame = sv->helper_frame;
		ev.u.server.data_port_min = sv->data_min;
		ev.u.server.data_port_max = sv->data_max;
		ev.u.server.data_passive = sv->data_passive;
		ftpi__emit(ftp->cx, &ev);
		ftpi__free(ftp->cx, FTPI__POOL_MISC, sv, sizeof *sv);
	}
	ftp->n_servers = 0;
	ftpi__servers_index_release(ftp);
}

