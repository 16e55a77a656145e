/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * out_json.c - `--format json`: one JSON object per line, exactly as docs/events.md describes
 * (keys, types, nulls). Event lines are written member by member into one reused buffer by the
 * JSON line writer (jsonw.c: no object tree, no printf); the stats line and the summary, once per
 * run, are built with jansson. Every wire span is escaped with ftpi_escape() first, so strings
 * are printable ASCII. Adding a field to an event is one cli_jw_* call in its function below, at
 * the place in the key order docs/events.md gives it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void session_or_null(struct cli_jw *w, uint64_t id)
{
	if (id)
		cli_jw_int(w, "session", (int64_t)id);
	else
		cli_jw_null(w, "session");
}

/* "name" or "0x0303" when the library has no name for the value. */
static void name_or_hex(struct cli_jw *w, const char *k, const char *name, unsigned v)
{
	static const char hexd[] = "0123456789abcdef";
	char hex[7] = {'0', 'x', hexd[(v >> 12) & 15], hexd[(v >> 8) & 15], hexd[(v >> 4) & 15],
		       hexd[v & 15], '\0'};
	cli_jw_str(w, k, name ? name : hex);
}

static void iso_time(struct cli_jw *w, const char *k, int64_t epoch)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	char buf[40];

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		cli_jw_null(w, k);
	else
		cli_jw_str(w, k, buf);
}

static void put_common(struct cli_jw *w, const struct ftpi_event *ev)
{
	session_or_null(w, ev->session_id);
	cli_jw_endpoint(w, "client", &ev->client);
	cli_jw_endpoint(w, "server", &ev->server);
}

static void session_event(struct cli_jw *w, const struct ftpi_event *ev)
{
	const struct ftpi_session_info *s = &ev->u.session;
	const struct ftpi_tls_info *ti = &s->tls_info;
	char prot[2];

	cli_jw_int(w, "session", (int64_t)ev->session_id);
	cli_jw_endpoint(w, "client", &ev->client);
	cli_jw_endpoint(w, "server", &ev->server);
	cli_jw_time(w, "start", s->start_us);
	cli_jw_time(w, "end", s->end_us);
	cli_jw_span(w, "user", s->user, 1);
	cli_jw_str(w, "login", ftpi_login_name(s->login));
	cli_jw_str(w, "tls", ftpi_tls_mode_name(s->tls));
	prot[0] = s->prot;
	prot[1] = '\0';
	cli_jw_str(w, "prot", s->prot ? prot : NULL);
	cli_jw_int(w, "commands", (int64_t)s->commands);
	cli_jw_int(w, "data_connections", (int64_t)s->data_connections);
	cli_jw_array_begin(w, "findings");
	for (size_t i = 0; i < s->findings_order_len; i++) {
		const char *k = ftpi_finding_name(s->findings_order[i]);
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= s->findings_order[j] == s->findings_order[i];
		if (k != NULL && !dup)
			cli_jw_array_str(w, k);
	}
	cli_jw_array_end(w);
	cli_jw_bool(w, "incomplete", s->incomplete);
	if (ti->version != 0) {
		name_or_hex(w, "tls_version", ti->version_name, ti->version);
		name_or_hex(w, "tls_cipher", ti->cipher_name, ti->cipher);
	} else {
		cli_jw_null(w, "tls_version");
		cli_jw_null(w, "tls_cipher");
	}
	cli_jw_span(w, "tls_sni", ti->sni, 1);
	cli_jw_span(w, "cert_subject", ti->cert_subject, 1);
	cli_jw_span(w, "cert_issuer", ti->cert_issuer, 1);
	if (ti->cert_not_after)
		iso_time(w, "cert_not_after", ti->cert_not_after);
	else
		cli_jw_null(w, "cert_not_after");
}

static void data_event(struct cli_jw *w, const struct ftpi_event *ev)
{
	const struct ftpi_data_info *d = &ev->u.data;

	session_or_null(w, ev->session_id);
	cli_jw_str(w, "link", ftpi_link_name(d->link));
	cli_jw_endpoint(w, "client", &ev->client);
	cli_jw_endpoint(w, "server", &ev->server);
	cli_jw_str(w, "announced_by",
		   d->announced_by == FTPI_ANN_NONE ? NULL : ftpi_announce_name(d->announced_by));
	cli_jw_str(w, "mode", d->active ? "active" : "passive");
	cli_jw_span(w, "command", d->command, 1);
	cli_jw_span(w, "file", d->file, 1);
	cli_jw_int(w, "bytes_to_server", (int64_t)d->bytes_to_server);
	cli_jw_int(w, "bytes_to_client", (int64_t)d->bytes_to_client);
	cli_jw_bool(w, "tls", d->tls);
	cli_jw_str(w, "status", ftpi_data_status_name(d->status));
	cli_jw_time(w, "start", d->start_us);
	cli_jw_time(w, "end", d->end_us);
	cli_jw_str(w, "used_address",
		   d->nat_used == FTPI_NAT_ANNOUNCED	 ? "announced"
		   : d->nat_used == FTPI_NAT_REACHED	 ? "reached"
		   : d->nat_used == FTPI_NAT_REWRITTEN ? "rewritten"
						       : NULL);
	cli_jw_str(w, "tls_version", d->tls_version_name);
	cli_jw_str(w, "tls_cipher", d->tls_cipher_name);
	if (d->control_sensor.len) /* --share: the sensor that saw the control connection */
		cli_jw_span(w, "control_sensor", d->control_sensor, 0);
}

static void server_event(struct cli_jw *w, const struct ftpi_event *ev)
{
	const struct ftpi_server_info *s = &ev->u.server;
	char ip[64], rec[1024];

	cli_jw_endpoint(w, "server", &ev->server);
	cli_jw_int(w, "sessions", (int64_t)s->sessions);
	if (s->pasv_count) {
		cli_jw_int(w, "pasv_min", s->pasv_min);
		cli_jw_int(w, "pasv_max", s->pasv_max);
	} else {
		cli_jw_null(w, "pasv_min");
		cli_jw_null(w, "pasv_max");
	}
	cli_jw_int(w, "pasv_count", (int64_t)s->pasv_count);
	cli_jw_int(w, "active_count", (int64_t)s->active_count);
	cli_jw_array_begin(w, "clients");
	for (size_t i = 0; i < s->client_list_len && s->client_list != NULL; i++) {
		ftpi_addr_format(&s->client_list[i], ip, sizeof ip);
		cli_jw_array_str(w, ip);
	}
	cli_jw_array_end(w);
	cli_jw_str(w, "recommendation", cli_server_recommendation(rec, sizeof rec, ev));
	cli_jw_int(w, "out_of_policy", (int64_t)s->out_of_policy);
	cli_jw_int(w, "tls_sessions", (int64_t)s->tls_sessions);
	cli_jw_int(w, "clear_logins", (int64_t)s->clear_logins);
	cli_jw_int(w, "nat_problems", (int64_t)s->nat_problems);
	cli_jw_int(w, "ip_mismatches", (int64_t)s->ip_mismatches);
	cli_jw_int(w, "node_mismatches", (int64_t)s->node_mismatches);
	if (s->has_helper) {
		ftpi_addr_format(&s->helper_addr, ip, sizeof ip);
		cli_jw_str(w, "helper_address", ip);
	} else {
		cli_jw_null(w, "helper_address");
	}
}

static void flow_event(struct cli_jw *w, const struct ftpi_event *ev)
{
	static const char *const roles[] = {"other", "control", "data"};
	const struct ftpi_flow_info *f = &ev->u.flow;

	cli_jw_endpoint(w, "client", &ev->client);
	cli_jw_endpoint(w, "server", &ev->server);
	cli_jw_int(w, "proto", f->proto);
	cli_jw_int(w, "packets_to_server", (int64_t)f->packets_to_server);
	cli_jw_int(w, "packets_to_client", (int64_t)f->packets_to_client);
	cli_jw_int(w, "bytes_to_server", (int64_t)f->bytes_to_server);
	cli_jw_int(w, "bytes_to_client", (int64_t)f->bytes_to_client);
	cli_jw_time(w, "start", f->start_us);
	cli_jw_time(w, "end", f->end_us);
	cli_jw_str(w, "state", ftpi_flow_state_name(f->state));
	cli_jw_str(w, "role", f->role >= 0 && f->role <= 2 ? roles[f->role] : "other");
	cli_jw_bool(w, "midstream", f->midstream);
	cli_jw_int(w, "gaps", (int64_t)f->gaps);
	cli_jw_str(w, "app", f->app);
	session_or_null(w, ev->session_id);
}

static int json_begin(struct app *a)
{
	a->fmt = calloc(1, sizeof(struct cli_jw));
	if (a->fmt == NULL) {
		fputs("ftpinspect: out of memory\n", stderr);
		return -1;
	}
	return 0;
}

static void json_end(struct app *a)
{
	if (a->fmt != NULL)
		cli_jw_free(a->fmt);
	free(a->fmt);
	a->fmt = NULL;
}

/* --file-hashes: the digests asked for (null when not computed) and the content type. */
static void file_fields(struct cli_jw *w, const struct app *a, const struct ftpi_data_info *d)
{
	static const struct {
		unsigned bit;
		const char *key;
		size_t off, len;
	} h[] = {{FTPI_HASH_MD5, "md5", offsetof(struct ftpi_data_info, md5), 16},
		 {FTPI_HASH_SHA1, "sha1", offsetof(struct ftpi_data_info, sha1), 20},
		 {FTPI_HASH_SHA256, "sha256", offsetof(struct ftpi_data_info, sha256), 32}};
	char hex[80];

	for (size_t i = 0; i < sizeof h / sizeof *h; i++) {
		if (!(a->o->file_hashes & h[i].bit))
			continue;
		if (d->hashes & h[i].bit)
			cli_jw_str(w, h[i].key,
				   cli_hex(hex, sizeof hex, (const uint8_t *)d + h[i].off, h[i].len));
		else
			cli_jw_null(w, h[i].key);
	}
	if (a->data_mime != NULL)
		cli_jw_str(w, "mime_type", a->data_mime);
	else
		cli_jw_null(w, "mime_type");
}

/* EVE's "timestamp" beside "ts". */
static void cli_jw_timestamp(struct cli_jw *w, uint64_t us)
{
	char buf[64];
	const char *s = cli_eve_time(buf, sizeof buf, us);

	if (s)
		cli_jw_str(w, "timestamp", s);
	else
		cli_jw_null(w, "timestamp");
}

/* "community_id" when the event names a TCP connection (client and server with ports). */
static void cli_jw_community_id(struct cli_jw *w, const struct ftpi_event *ev)
{
	uint8_t proto = 6; /* TCP: every connection the engine reports, flows aside */
	char id[64];

	if (ev->type == FTPI_EV_SERVER || ev->type == FTPI_EV_EXPECT || ev->type == FTPI_EV_ANOMALY)
		return; /* one endpoint, a connection not made yet, or no endpoints written */
	if (ev->type == FTPI_EV_FLOW_END)
		proto = (uint8_t)ev->u.flow.proto;
	if (proto != 6 || ev->client.port == 0 || ev->server.port == 0 ||
	    cli_community_id(id, sizeof id, &ev->client, &ev->server, proto) == NULL)
		return;
	cli_jw_str(w, "community_id", id);
}

static void json_event(struct app *a, const struct ftpi_event *ev)
{
	struct cli_jw *w = a->fmt;
	const char *name = ftpi_event_type_name(ev->type);
	char ip[64];

	if (!app_wants(a, ev->type) || name == NULL)
		return;
	switch (ev->type) {
	case FTPI_EV_FINDING:
	case FTPI_EV_SESSION_END:
	case FTPI_EV_DATA:
	case FTPI_EV_SERVER:
	case FTPI_EV_COMMAND:
	case FTPI_EV_REPLY:
	case FTPI_EV_EXPECT:
	case FTPI_EV_ANOMALY:
	case FTPI_EV_FLOW_END:
		break;
	default:
		return;
	}
	cli_jw_begin(w, name, ev->ts_us);
	cli_jw_timestamp(w, ev->ts_us);
	switch (ev->type) {
	case FTPI_EV_FINDING: {
		const struct ftpi_finding_info *f = &ev->u.finding;
		cli_jw_str(w, "kind", ftpi_finding_name(f->kind));
		cli_jw_str(w, "severity", ftpi_severity_name(f->severity));
		put_common(w, ev);
		cli_jw_safe(w, "message", f->message);
		cli_jw_safe(w, "evidence", f->evidence);
		cli_jw_int(w, "frame", (int64_t)ev->frame);
		break;
	}
	case FTPI_EV_SESSION_END:
		session_event(w, ev);
		break;
	case FTPI_EV_DATA:
		data_event(w, ev);
		break;
	case FTPI_EV_SERVER:
		server_event(w, ev);
		break;
	case FTPI_EV_COMMAND:
		put_common(w, ev);
		cli_jw_span(w, "verb", ev->u.command.verb, 0);
		cli_jw_span(w, "arg", ev->u.command.arg, 0);
		cli_jw_int(w, "frame", (int64_t)ev->frame);
		break;
	case FTPI_EV_REPLY:
		put_common(w, ev);
		cli_jw_int(w, "code", ev->u.reply.code);
		cli_jw_span(w, "text", ev->u.reply.text, 0);
		cli_jw_int(w, "frame", (int64_t)ev->frame);
		break;
	case FTPI_EV_EXPECT: {
		const struct ftpi_expect_info *x = &ev->u.expect;
		session_or_null(w, ev->session_id);
		cli_jw_str(w, "announced_by", x->announced_by == FTPI_ANN_NONE
						      ? NULL
						      : ftpi_announce_name(x->announced_by));
		ftpi_addr_format(&x->target.addr, ip, sizeof ip);
		cli_jw_str(w, "ip", ip);
		cli_jw_int(w, "port", x->target.port);
		cli_jw_str(w, "mode", x->active ? "active" : "passive");
		if (x->has_reached) {
			ftpi_addr_format(&x->reached.addr, ip, sizeof ip);
			cli_jw_str(w, "reached_ip", ip);
		}
		cli_jw_int(w, "frame", (int64_t)ev->frame);
		break;
	}
	case FTPI_EV_ANOMALY:
		session_or_null(w, ev->session_id);
		cli_jw_span(w, "kind", ev->u.anomaly.kind, 0);
		cli_jw_span(w, "detail", ev->u.anomaly.detail, 0);
		cli_jw_int(w, "frame", (int64_t)ev->frame);
		break;
	default:
		flow_event(w, ev);
		break;
	}
	if (ev->type == FTPI_EV_DATA && a->o->file_hashes != 0)
		file_fields(w, a, &ev->u.data);
	cli_jw_community_id(w, ev);
	cli_jw_end(w, a->fp);
}

static void json_stats(struct app *a, const struct ftpi_stats *st, const struct cap_stats *cs)
{
	json_t *o = json_object(), *byk = json_object();
	const char *name;

	cli_json_timestamp(o, a->last_ts_us);
	for (size_t i = 0; (name = ftpi_stats_field_name(i)) != NULL; i++)
		json_object_set_new(o, name, json_integer((json_int_t)ftpi_stats_field(st, i)));
	for (int k = 0; k < FTPI_FINDING__COUNT && k < 32; k++)
		json_object_set_new(byk, ftpi_finding_name(k),
				    json_integer((json_int_t)st->findings_by_kind[k]));
	json_object_set_new(o, "findings_by_kind", byk);
	if (cs != NULL) {
		json_object_set_new(o, "pcap_received", json_integer((json_int_t)cs->received));
		json_object_set_new(o, "pcap_dropped", json_integer((json_int_t)cs->dropped));
		json_object_set_new(o, "pcap_ifdropped", json_integer((json_int_t)cs->ifdropped));
	}
	{
		const char *nm[16];
		uint64_t v[16];
		size_t k = cli_share_counters(a, nm, v);
		for (size_t i = 0; i < k; i++)
			json_object_set_new(o, nm[i], json_integer((json_int_t)v[i]));
	}
	cli_json_emit(a->fp, "stats", a->last_ts_us, o);
}

static void json_summary(struct app *a)
{
	summary_print_json(a->sum, a->fp, a->last_ts_us);
}

const struct out_ops out_json_ops = {json_begin, json_event, json_stats, json_summary, json_end};
