/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * summary.c - `--summary`: a per-server review built from the events of the whole run
 * (sessions, data connections, findings, and the engine's per-server events at flush). For each
 * server it follows the FTP/FTPS risk table: sessions, login mode (clear/TLS), PROT level,
 * active vs passive, the observed passive port range and the firewall rule it implies, NAT and
 * helper-address problems, data address mismatches, hosts outside the allow-lists, and the
 * credential and certificate findings. Each row carries an evidence count and a concrete
 * recommendation. Printed as a table (text, zeek on stderr) or one JSON line. Memory is bounded:
 * at most SUM_MAX_SERVERS servers and SUM_MAX_SESSIONS session ids are tracked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SUM_MAX_SERVERS	 1024
#define SUM_MAX_SESSIONS (1u << 20)
#define SUM_MAX_CLIENTS	 64

struct srv {
	struct ftpi_endpoint ep;
	uint64_t sessions, logins_clear, logins_tls, logins_none;
	uint64_t prot_p, prot_c, prot_unset, cleartext_data;
	uint64_t passive, active;
	uint16_t pasv_lo, pasv_hi;
	uint64_t findings[FTPI_FINDING__COUNT];
	struct ftpi_addr clients[SUM_MAX_CLIENTS];
	size_t n_clients;
	uint64_t clients_total;
	int engine_seen; /* a SERVER event arrived */
	struct ftpi_server_info eng;
};

struct summary {
	struct srv *srv[SUM_MAX_SERVERS];
	size_t n;
	uint32_t *sess_srv; /* session id -> server index + 1 (0 = unknown) */
	size_t sess_cap;
};

struct summary *summary_new(void)
{
	return calloc(1, sizeof(struct summary));
}

void summary_free(struct summary *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->srv[i]);
	free(s->sess_srv);
	free(s);
}

static int addr_eq(const struct ftpi_addr *a, const struct ftpi_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

static struct srv *srv_get(struct summary *s, const struct ftpi_endpoint *ep, int create)
{
	struct srv *v;

	for (size_t i = 0; i < s->n; i++)
		if (s->srv[i]->ep.port == ep->port && addr_eq(&s->srv[i]->ep.addr, &ep->addr))
			return s->srv[i];
	if (!create || s->n >= SUM_MAX_SERVERS || ep->addr.family == 0)
		return NULL;
	v = calloc(1, sizeof *v);
	if (v == NULL)
		return NULL;
	v->ep = *ep;
	s->srv[s->n++] = v;
	return v;
}

static void map_session(struct summary *s, uint64_t id, struct srv *v)
{
	size_t idx;

	if (id == 0 || id >= SUM_MAX_SESSIONS || v == NULL)
		return;
	if (id >= s->sess_cap) {
		size_t cap = s->sess_cap ? s->sess_cap : 1024;
		while (cap <= id)
			cap *= 2;
		uint32_t *n = realloc(s->sess_srv, cap * sizeof *n);
		if (n == NULL)
			return;
		memset(n + s->sess_cap, 0, (cap - s->sess_cap) * sizeof *n);
		s->sess_srv = n;
		s->sess_cap = cap;
	}
	for (idx = 0; idx < s->n && s->srv[idx] != v; idx++)
		;
	s->sess_srv[id] = (uint32_t)idx + 1;
}

static struct srv *srv_of_session(struct summary *s, uint64_t id)
{
	if (id == 0 || id >= s->sess_cap || s->sess_srv[id] == 0)
		return NULL;
	return s->srv[s->sess_srv[id] - 1];
}

static void add_client(struct srv *v, const struct ftpi_addr *a)
{
	for (size_t i = 0; i < v->n_clients; i++)
		if (addr_eq(&v->clients[i], a))
			return;
	v->clients_total++;
	if (v->n_clients < SUM_MAX_CLIENTS)
		v->clients[v->n_clients++] = *a;
}

void summary_event(struct summary *s, const struct ftpi_event *ev)
{
	struct srv *v;

	switch (ev->type) {
	case FTPI_EV_SESSION_START:
		v = srv_get(s, &ev->server, 1);
		map_session(s, ev->session_id, v);
		break;
	case FTPI_EV_SESSION_END: {
		const struct ftpi_session_info *si = &ev->u.session;
		v = srv_of_session(s, ev->session_id);
		if (v == NULL) {
			v = srv_get(s, &ev->server, 1);
			map_session(s, ev->session_id, v);
		}
		if (v == NULL)
			return;
		v->sessions++;
		add_client(v, &ev->client.addr);
		if (si->tls != FTPI_TLS_NONE)
			v->logins_tls++;
		else if (si->user.len > 0 || si->login != FTPI_LOGIN_NONE)
			v->logins_clear++;
		else
			v->logins_none++;
		if (si->prot == 'P')
			v->prot_p++;
		else if (si->prot == 'C')
			v->prot_c++;
		else
			v->prot_unset++;
		break;
	}
	case FTPI_EV_DATA:
		v = srv_of_session(s, ev->session_id);
		if (v == NULL)
			return;
		if (ev->u.data.active) {
			v->active++;
		} else {
			uint16_t p = ev->server.port;
			if (v->passive == 0 || p < v->pasv_lo)
				v->pasv_lo = p;
			if (v->passive == 0 || p > v->pasv_hi)
				v->pasv_hi = p;
			v->passive++;
		}
		break;
	case FTPI_EV_FINDING:
		v = srv_of_session(s, ev->session_id);
		if (v == NULL)
			v = srv_get(s, &ev->server, 0);
		if (v == NULL)
			return;
		if (ev->u.finding.kind >= 0 && ev->u.finding.kind < FTPI_FINDING__COUNT)
			v->findings[ev->u.finding.kind]++;
		break;
	case FTPI_EV_SERVER:
		v = srv_get(s, &ev->server, 1);
		if (v == NULL)
			return;
		v->engine_seen = 1;
		v->eng = ev->u.server;
		v->eng.client_list = NULL;
		v->eng.client_list_len = 0;
		for (size_t i = 0; i < ev->u.server.client_list_len && ev->u.server.client_list;
		     i++)
			add_client(v, &ev->u.server.client_list[i]);
		break;
	default:
		break;
	}
}

/* ---- rows ------------------------------------------------------------------------------------ */

struct row {
	const char *check;
	char observed[256];
	uint64_t evidence;
	const char *status; /* "ok", "warn", "info" */
	char rec[1024];
};

#define SUM_MAX_ROWS 12

static void clients_text(const struct srv *v, char *buf, size_t buflen)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < v->n_clients && i < 8; i++) {
		char ip[64];
		ftpi_addr_format(&v->clients[i], ip, sizeof ip);
		int n = snprintf(buf + len, buflen - len, "%s%s", i ? "," : "", ip);
		if (n < 0 || (size_t)n >= buflen - len)
			break;
		len += (size_t)n;
	}
	if (v->n_clients == 0 || v->clients_total > 8)
		snprintf(buf, buflen, "any");
}

static size_t build_rows(const struct srv *v, struct row *r)
{
	const uint64_t *f = v->findings;
	char ip[64], clients[400];
	size_t n = 0;
	uint64_t passive = v->passive, active = v->active;
	uint16_t lo = v->pasv_lo, hi = v->pasv_hi;
	uint64_t nat = f[FTPI_FINDING_NAT_PRIVATE_PASV];
	uint64_t mism = f[FTPI_FINDING_DATA_IP_MISMATCH];
	uint64_t nodes = v->engine_seen ? v->eng.node_mismatches : 0;

	ftpi_addr_format(&v->ep.addr, ip, sizeof ip);
	clients_text(v, clients, sizeof clients);
	if (v->engine_seen) {
		/* The engine saw every announcement, not only matched connections. */
		if (v->eng.pasv_count > 0) {
			if (passive == 0 || v->eng.pasv_min < lo)
				lo = v->eng.pasv_min;
			if (passive == 0 || v->eng.pasv_max > hi)
				hi = v->eng.pasv_max;
			if (v->eng.pasv_count > passive)
				passive = v->eng.pasv_count;
		}
		if (v->eng.active_count > active)
			active = v->eng.active_count;
		if (v->eng.nat_problems > nat)
			nat = v->eng.nat_problems;
		if (v->eng.ip_mismatches > mism)
			mism = v->eng.ip_mismatches;
	}
	memset(r, 0, sizeof *r * SUM_MAX_ROWS);

	r[n].check = "sessions";
	snprintf(r[n].observed, sizeof r[n].observed, "%llu control sessions from %llu clients",
		 (unsigned long long)v->sessions, (unsigned long long)v->clients_total);
	r[n].evidence = v->sessions;
	r[n].status = "info";
	snprintf(r[n].rec, sizeof r[n].rec, "-");
	n++;

	r[n].check = "login";
	snprintf(r[n].observed, sizeof r[n].observed, "%llu clear-text, %llu TLS, %llu no login",
		 (unsigned long long)v->logins_clear, (unsigned long long)v->logins_tls,
		 (unsigned long long)v->logins_none);
	r[n].evidence = v->logins_clear;
	r[n].status = v->logins_clear ? "warn" : "ok";
	snprintf(r[n].rec, sizeof r[n].rec, "%s",
		 v->logins_clear ? "require AUTH TLS before USER/PASS (vsftpd: ssl_enable=YES, "
				   "force_local_logins_ssl=YES) or move users to SFTP"
				 : "keep requiring TLS for logins");
	n++;

	r[n].check = "prot";
	snprintf(r[n].observed, sizeof r[n].observed,
		 "PROT P %llu, PROT C %llu, never set %llu; clear-text transfers %llu",
		 (unsigned long long)v->prot_p, (unsigned long long)v->prot_c,
		 (unsigned long long)v->prot_unset,
		 (unsigned long long)f[FTPI_FINDING_CLEARTEXT_DATA]);
	r[n].evidence = f[FTPI_FINDING_CLEARTEXT_DATA];
	r[n].status = f[FTPI_FINDING_CLEARTEXT_DATA] ? "warn" : "ok";
	snprintf(r[n].rec, sizeof r[n].rec, "%s",
		 f[FTPI_FINDING_CLEARTEXT_DATA]
			 ? "require PROT P for data connections (vsftpd: force_local_data_ssl=YES)"
			 : "-");
	n++;

	r[n].check = "data_mode";
	snprintf(r[n].observed, sizeof r[n].observed, "passive %llu, active %llu",
		 (unsigned long long)passive, (unsigned long long)active);
	r[n].evidence = active;
	r[n].status = active ? "warn" : "ok";
	if (active)
		snprintf(r[n].rec, sizeof r[n].rec,
			 "active mode makes %s connect out to clients: disable PORT/EPRT "
			 "(vsftpd: port_enable=NO) or allow tcp from %s port 20 to %s",
			 ip, ip, clients);
	else
		snprintf(r[n].rec, sizeof r[n].rec, "-");
	n++;

	r[n].check = "passive_ports";
	r[n].evidence = passive;
	if (passive) {
		snprintf(r[n].observed, sizeof r[n].observed, "ports %u-%u observed", lo, hi);
		r[n].status = f[FTPI_FINDING_PASV_PORT_OUT_OF_POLICY] ? "warn" : "info";
		snprintf(r[n].rec, sizeof r[n].rec, "allow tcp from %s to %s ports %u-%u%s",
			 clients, ip, lo, hi,
			 f[FTPI_FINDING_PASV_PORT_OUT_OF_POLICY]
				 ? "; announcements outside the agreed range: set the server's "
				   "pasv_min_port/pasv_max_port to it"
				 : "");
	} else {
		snprintf(r[n].observed, sizeof r[n].observed, "no passive data connections");
		r[n].status = "info";
		snprintf(r[n].rec, sizeof r[n].rec, "-");
	}
	n++;

	r[n].check = "nat";
	if (nat == 0 && v->engine_seen && v->eng.has_helper) {
		char h[64];
		ftpi_addr_format(&v->eng.helper_addr, h, sizeof h);
		snprintf(r[n].observed, sizeof r[n].observed,
			 "helper address %s configured (seen behind the NAT)", h);
	} else {
		snprintf(r[n].observed, sizeof r[n].observed,
			 "%llu PASV replies naming another address", (unsigned long long)nat);
	}
	r[n].evidence = nat;
	r[n].status = nat ? "warn" : "ok";
	snprintf(r[n].rec, sizeof r[n].rec, "%s",
		 nat ? "announce the public address (vsftpd: pasv_address=, ProFTPD: "
		       "MasqueradeAddress) or fix the firewall's FTP helper"
		     : "-");
	n++;

	r[n].check = "address_mismatch";
	snprintf(r[n].observed, sizeof r[n].observed,
		 "%llu data connections from/to another address", (unsigned long long)mism);
	r[n].evidence = mism;
	r[n].status = mism ? "warn" : "ok";
	snprintf(r[n].rec, sizeof r[n].rec, "%s",
		 nodes ? "data connections reached another server node: make the load balancer "
			 "persistent (sticky by client address) for the control and passive ports"
		 : mism ? "route control and data through the same address (multi-homed client, "
			  "load balancer or SNAT pool); servers refuse such connections"
			: "-");
	n++;

	r[n].check = "allow_list";
	snprintf(r[n].observed, sizeof r[n].observed, "%llu sessions with hosts outside the list",
		 (unsigned long long)f[FTPI_FINDING_HOST_NOT_ALLOWED]);
	r[n].evidence = f[FTPI_FINDING_HOST_NOT_ALLOWED];
	r[n].status = f[FTPI_FINDING_HOST_NOT_ALLOWED] ? "warn" : "ok";
	snprintf(r[n].rec, sizeof r[n].rec, "%s",
		 f[FTPI_FINDING_HOST_NOT_ALLOWED]
			 ? "restrict access to the allowed networks in the firewall"
			 : "-");
	n++;

	uint64_t cred = f[FTPI_FINDING_FAILED_LOGIN] + f[FTPI_FINDING_BRUTE_FORCE] +
			f[FTPI_FINDING_ANONYMOUS_LOGIN];
	r[n].check = "credentials";
	snprintf(r[n].observed, sizeof r[n].observed,
		 "failed logins %llu, brute force %llu, anonymous %llu",
		 (unsigned long long)f[FTPI_FINDING_FAILED_LOGIN],
		 (unsigned long long)f[FTPI_FINDING_BRUTE_FORCE],
		 (unsigned long long)f[FTPI_FINDING_ANONYMOUS_LOGIN]);
	r[n].evidence = cred;
	r[n].status = f[FTPI_FINDING_BRUTE_FORCE] ? "warn" : cred ? "info" : "ok";
	snprintf(r[n].rec, sizeof r[n].rec, "%s",
		 f[FTPI_FINDING_BRUTE_FORCE]
			 ? "rate-limit or ban repeated failures (fail2ban), review the accounts"
		 : f[FTPI_FINDING_ANONYMOUS_LOGIN]
			 ? "confirm anonymous access is intended (vsftpd: anonymous_enable=NO)"
			 : "-");
	n++;

	uint64_t bounce = f[FTPI_FINDING_BOUNCE];
	r[n].check = "bounce";
	snprintf(r[n].observed, sizeof r[n].observed, "%llu PORT/EPRT naming a third host",
		 (unsigned long long)bounce);
	r[n].evidence = bounce;
	r[n].status = bounce ? "warn" : "ok";
	snprintf(r[n].rec, sizeof r[n].rec, "%s",
		 bounce ? "refuse PORT to other hosts (vsftpd: port_promiscuous=NO)" : "-");
	n++;

	uint64_t cert = 0;
	for (int k = FTPI_FINDING_TLS_CERT_SELF_SIGNED; k <= FTPI_FINDING_TLS_WEAK_CIPHER; k++)
		cert += f[k];
	r[n].check = "tls";
	snprintf(r[n].observed, sizeof r[n].observed,
		 "%llu certificate/protocol findings, %llu AUTH TLS refused",
		 (unsigned long long)cert, (unsigned long long)f[FTPI_FINDING_AUTH_TLS_REFUSED]);
	r[n].evidence = cert + f[FTPI_FINDING_AUTH_TLS_REFUSED];
	r[n].status = r[n].evidence ? "warn" : "ok";
	snprintf(r[n].rec, sizeof r[n].rec, "%s",
		 r[n].evidence ? "install a CA-signed, valid certificate; allow only TLS 1.2+ with "
				 "strong ciphers; enable AUTH TLS"
			       : "-");
	n++;

	uint64_t miss = f[FTPI_FINDING_DATA_CONNECTION_MISSING];
	r[n].check = "data_missing";
	snprintf(r[n].observed, sizeof r[n].observed, "%llu announced data connections never seen",
		 (unsigned long long)miss);
	r[n].evidence = miss;
	r[n].status = miss ? "warn" : "ok";
	snprintf(r[n].rec, sizeof r[n].rec, "%s",
		 miss && nodes ? "the balancer sent data connections to another node: make it "
				 "persistent (sticky by client address)"
		 : miss ? "a firewall or NAT blocks the data ports: open the passive range above"
			: "-");
	n++;
	return n;
}

void summary_print_text(struct summary *s, FILE *f, int color)
{
	struct row rows[SUM_MAX_ROWS];
	char ep[80];

	if (s == NULL)
		return;
	fputs("\nSummary per server\n", f);
	if (s->n == 0)
		fputs("  no FTP servers seen\n", f);
	for (size_t i = 0; i < s->n; i++) {
		size_t n = build_rows(s->srv[i], rows);
		fprintf(f, "\nserver %s\n", cli_endpoint(ep, sizeof ep, &s->srv[i]->ep));
		fprintf(f, "  %-16s %-5s %-8s %-58s %s\n", "CHECK", "", "EVIDENCE", "OBSERVED",
			"RECOMMENDATION");
		for (size_t j = 0; j < n; j++) {
			int warn = strcmp(rows[j].status, "warn") == 0;
			fprintf(f, "  %-16s %s%-5s%s %-8llu %-58s %s\n", rows[j].check,
				color && warn ? "\033[33m" : "", rows[j].status,
				color && warn ? "\033[0m" : "",
				(unsigned long long)rows[j].evidence, rows[j].observed,
				rows[j].rec);
		}
	}
}

void summary_print_json(struct summary *s, FILE *f, uint64_t ts_us)
{
	struct row rows[SUM_MAX_ROWS];
	json_t *o, *servers;

	if (s == NULL)
		return;
	o = json_object();
	cli_json_timestamp(o, ts_us);
	servers = json_array();
	for (size_t i = 0; i < s->n; i++) {
		const struct srv *v = s->srv[i];
		size_t n = build_rows(v, rows);
		json_t *so = json_object(), *ra = json_array(), *cl = json_array();
		char ip[64];

		json_object_set_new(so, "server", cli_json_endpoint(&v->ep));
		json_object_set_new(so, "sessions", json_integer((json_int_t)v->sessions));
		for (size_t j = 0; j < v->n_clients; j++) {
			ftpi_addr_format(&v->clients[j], ip, sizeof ip);
			json_array_append_new(cl, json_string(ip));
		}
		json_object_set_new(so, "clients", cl);
		for (size_t j = 0; j < n; j++)
			json_array_append_new(
				ra, json_pack("{s:s,s:s,s:I,s:s,s:s}", "check", rows[j].check,
					      "status", rows[j].status, "evidence",
					      (json_int_t)rows[j].evidence, "observed",
					      rows[j].observed, "recommendation", rows[j].rec));
		json_object_set_new(so, "rows", ra);
		json_array_append_new(servers, so);
	}
	json_object_set_new(o, "servers", servers);
	cli_json_emit(f, "summary", ts_us, o);
}
