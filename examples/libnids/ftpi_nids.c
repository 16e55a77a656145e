/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ftpi_nids.c - an IDS host that reassembles TCP with libnids (Debian libnids-dev) and feeds
 * libftpinspect through its stream API, as an IDS engine would. libnids hands a direction's bytes
 * over when they are acknowledged, so announcements often reach the library after the data
 * connection they announce has opened: the library holds such streams until it can tell.
 *
 *   ftpi_nids CAPTURE.pcap      prints one line per session, data connection and finding
 *
 * libnids reports connections once their handshake completes; an IP callback of its own sees the
 * SYNs that never got that far, so the library also learns of attempts that were refused (RST) or
 * never answered, and says so in data_connection_missing.
 *
 * The lines are the ones tests/examples/compare_nids.py builds from `ftpinspect --format json`, so
 * the two can be compared. libnids limits: IPv4 only, connections seen from their SYN, Ethernet
 * and the other link types libpcap gives it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <nids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftpinspect.h>

static ftpi_engine *engine;
static uint64_t frame;

/* Connections seen as a SYN and not (yet) established: their stream ids. */
#define MAX_ATTEMPTS 4096
static struct attempt {
	struct tuple4 t;
	uint64_t id;
	int used;
} attempts[MAX_ATTEMPTS];

static uint64_t now_us(void)
{
	const struct pcap_pkthdr *h = nids_last_pcap_header;
	return h ? (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec : 0;
}

static void endpoint(struct ftpi_endpoint *ep, u_int addr, u_short port)
{
	memset(ep, 0, sizeof *ep);
	ep->addr.family = 4;
	memcpy(ep->addr.ip, &addr, 4); /* network order, as libnids keeps it */
	ep->port = port;               /* host order */
}

static const char *ep_text(char *buf, size_t len, const struct ftpi_endpoint *ep)
{
	char ip[64];
	ftpi_addr_format(&ep->addr, ip, sizeof ip);
	snprintf(buf, len, "%s:%u", ip, ep->port);
	return buf;
}

static struct attempt *attempt_find(const struct tuple4 *t)
{
	for (size_t i = 0; i < MAX_ATTEMPTS; i++)
		if (attempts[i].used && memcmp(&attempts[i].t, t, sizeof *t) == 0)
			return &attempts[i];
	return NULL;
}

/* Every IP packet after libnids' own TCP processing: SYNs and the RSTs that answer them. */
static void on_ip(struct ip *ip, int len)
{
	struct ftpi_endpoint cli, srv;
	int hl = ip->ip_hl * 4;
	if (ip->ip_p != IPPROTO_TCP || len < hl + (int)sizeof(struct tcphdr))
		return;
	const struct tcphdr *th = (const struct tcphdr *)((const uint8_t *)ip + hl);
	struct tuple4 t = {ntohs(th->th_sport), ntohs(th->th_dport), ip->ip_src.s_addr,
			   ip->ip_dst.s_addr};
	/* the TTLs of an established stream's directions: which side of a NAT this is */
	struct tuple4 rev = {t.dest, t.source, t.daddr, t.saddr};
	struct tcp_stream *ts = nids_find_tcp_stream(&t);
	int dir = FTPI_DIR_TO_SERVER;
	if (ts == NULL) { /* libnids looks streams up in their own orientation only */
		ts = nids_find_tcp_stream(&rev);
		dir = FTPI_DIR_TO_CLIENT;
	}
	if (ts != NULL && ts->user != NULL)
		ftpi_stream_ttl(engine, *(uint64_t *)ts->user, dir, ip->ip_ttl);
	if ((th->th_flags & (TH_SYN | TH_ACK)) == TH_SYN && attempt_find(&t) == NULL) {
		for (size_t i = 0; i < MAX_ATTEMPTS; i++) {
			if (attempts[i].used)
				continue;
			endpoint(&cli, t.saddr, t.source);
			endpoint(&srv, t.daddr, t.dest);
			ftpi_stream_set_ref(engine, ++frame);
			if (ftpi_stream_attempt(engine, &cli, &srv, now_us(), &attempts[i].id) ==
			    FTPI_OK) {
				attempts[i].t = t;
				attempts[i].used = 1;
			}
			return;
		}
	} else if (th->th_flags & TH_RST) {
		/* a reset from the responder answers the attempt */
		struct tuple4 back = {t.dest, t.source, t.daddr, t.saddr};
		struct attempt *a = attempt_find(&back);
		if (a != NULL) {
			ftpi_stream_set_ref(engine, ++frame);
			ftpi_stream_refused(engine, a->id, now_us());
			a->used = 0;
		}
	}
}

static int on_event(void *user, const struct ftpi_event *ev)
{
	char a[80], b[80], u[300];
	(void)user;
	switch (ev->type) {
	case FTPI_EV_SESSION_END:
		ftpi_escape(u, sizeof u, ev->u.session.user.ptr, ev->u.session.user.len);
		printf("session %s %s user=%s login=%s\n", ep_text(a, sizeof a, &ev->client),
		       ep_text(b, sizeof b, &ev->server), u, ftpi_login_name(ev->u.session.login));
		break;
	case FTPI_EV_DATA:
		printf("data %s %s link=%s command=%.*s status=%s bytes=%llu\n",
		       ep_text(a, sizeof a, &ev->client), ep_text(b, sizeof b, &ev->server),
		       ftpi_link_name(ev->u.data.link), (int)ev->u.data.command.len,
		       ev->u.data.command.ptr ? ev->u.data.command.ptr : "",
		       ftpi_data_status_name(ev->u.data.status) ? ftpi_data_status_name(ev->u.data.status) : "null",
		       (unsigned long long)(ev->u.data.bytes_to_server + ev->u.data.bytes_to_client));
		break;
	case FTPI_EV_FINDING:
		printf("finding %s %s %s\n", ftpi_finding_name(ev->u.finding.kind),
		       ep_text(a, sizeof a, &ev->client), ep_text(b, sizeof b, &ev->server));
		break;
	default:
		break;
	}
	return 0;
}

static void on_tcp(struct tcp_stream *t, void **param)
{
	uint64_t *id = t->user;
	struct ftpi_endpoint cli, srv;
	(void)param;
	ftpi_stream_set_ref(engine, ++frame);
	switch (t->nids_state) {
	case NIDS_JUST_EST: {
		struct attempt *a = attempt_find(&t->addr);
		id = malloc(sizeof *id);
		if (id == NULL)
			return;
		if (a != NULL) { /* its SYN was seen: the attempt succeeded */
			*id = a->id;
			a->used = 0;
			ftpi_stream_established(engine, *id, now_us());
		} else {
			endpoint(&cli, t->addr.saddr, t->addr.source);
			endpoint(&srv, t->addr.daddr, t->addr.dest);
			if (ftpi_stream_open(engine, &cli, &srv, now_us(), id) != FTPI_OK) {
				free(id);
				return;
			}
		}
		t->user = id;
		t->client.collect++;
		t->server.collect++;
		return;
	}
	case NIDS_DATA:
		if (id == NULL)
			return;
		/* bytes the server received came from the client, and the other way round */
		if (t->server.count_new)
			ftpi_stream_data(engine, *id, FTPI_DIR_TO_SERVER, now_us(),
					 (const uint8_t *)t->server.data, (size_t)t->server.count_new);
		if (t->client.count_new)
			ftpi_stream_data(engine, *id, FTPI_DIR_TO_CLIENT, now_us(),
					 (const uint8_t *)t->client.data, (size_t)t->client.count_new);
		if (ftpi_stream_role(engine, *id) == FTPI_STREAM_OTHER) {
			/* not FTP-related: no need to reassemble it any further */
			t->client.collect--;
			t->server.collect--;
			ftpi_stream_close(engine, *id, now_us());
			free(id);
			t->user = NULL;
		}
		return;
	default: /* NIDS_CLOSE, NIDS_RESET, NIDS_TIMED_OUT, NIDS_EXITING */
		if (id == NULL)
			return;
		ftpi_stream_close(engine, *id, now_us());
		free(id);
		t->user = NULL;
		return;
	}
}

int main(int argc, char **argv)
{
	struct ftpi_config cfg;
	static struct nids_chksum_ctl no_checksums = {0, 0, NIDS_DONT_CHKSUM, 0};

	if (argc != 2) {
		fprintf(stderr, "usage: ftpi_nids CAPTURE.pcap\n");
		return 2;
	}
	ftpi_config_init(&cfg);
	cfg.on_event = on_event;
	engine = ftpi_engine_new(&cfg, NULL);
	if (engine == NULL) {
		fprintf(stderr, "ftpi_nids: cannot create the engine\n");
		return 1;
	}
	nids_params.filename = argv[1];
	nids_params.device = NULL;
	nids_params.scan_num_hosts = 0;  /* no port-scan detection */
	nids_params.n_tcp_streams = 65536;
	nids_params.tcp_workarounds = 1;
	/* captures taken on the sending host carry unfilled checksums */
	nids_register_chksum_ctl(&no_checksums, 1);
	if (!nids_init()) {
		fprintf(stderr, "ftpi_nids: %s\n", nids_errbuf);
		ftpi_engine_free(engine);
		return 1;
	}
	nids_register_tcp((void *)on_tcp);
	nids_register_ip((void *)on_ip);
	nids_run();
	for (size_t i = 0; i < MAX_ATTEMPTS; i++) /* SYNs that never got an answer */
		if (attempts[i].used)
			ftpi_stream_unanswered(engine, attempts[i].id, now_us());
	ftpi_engine_flush(engine);
	ftpi_engine_free(engine);
	nids_exit();
	return 0;
}
