/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.c - per-server summaries: sessions, clients, passive ports seen, active-mode use, TLS,
 * clear-text logins, NAT and address problems. A capped list; each server's summary is emitted
 * as a server event when the engine is flushed.
 */
#include "session.h"

#define FTPI__SERVERS_MAX 4096

struct ftpi_server *ftpi__server_get(struct ftpi__ftp *ftp, const struct ftpi_endpoint *ep)
{
	for (struct ftpi_server *sv = ftp->servers; sv; sv = sv->next)
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
	ftp->n_servers++;
	return sv;
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
		ev.u.server.data_port_min = sv->data_min;
		ev.u.server.data_port_max = sv->data_max;
		ev.u.server.data_passive = sv->data_passive;
		ftpi__emit(ftp->cx, &ev);
		ftpi__free(ftp->cx, FTPI__POOL_MISC, sv, sizeof *sv);
	}
	ftp->n_servers = 0;
}

