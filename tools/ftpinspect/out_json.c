/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * out_json.c - `--format json`: one JSON object per line, exactly as docs/events.md describes
 * (keys, types, nulls). Objects are built with jansson; every wire span is escaped with
 * ftpi_escape() first, so json_string() always gets printable ASCII and the output is valid
 * UTF-8. Times are written as epoch seconds with exactly six decimals: they go into the object
 * as placeholder strings ("\u0001" + index, which no escaped wire text can contain) and are
 * replaced by the number when the line is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void json_safe(json_t *obj, const char *key, struct ftpi_span s)
{
	char buf[CLI_TEXT_MAX * 2];
	json_object_set_new(obj, key, json_string(cli_safe(buf, sizeof buf, s)));
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *session_or_null(uint64_t id)
{
	return id ? json_integer((json_int_t)id) : json_null();
}

static void put_common(json_t *o, const struct ftpi_event *ev)
{
	json_object_set_new(o, "session", session_or_null(ev->session_id));
	json_object_set_new(o, "client", cli_json_endpoint(&ev->client));
	json_object_set_new(o, "server", cli_json_endpoint(&ev->server));
}

static json_t *iso_time(int64_t epoch)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	char buf[40];

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

static void session_event(json_t *o, const struct ftpi_event *ev, struct cli_jtimes *t)
{
	const struct ftpi_session_info *s = &ev->u.session;
	const struct ftpi_tls_info *ti = &s->tls_info;
	json_t *kinds = json_array();
	char hex[16], prot[2];

	json_object_set_new(o, "session", json_integer((json_int_t)ev->session_id));
	json_object_set_new(o, "client", cli_json_endpoint(&ev->client));
	json_object_set_new(o, "server", cli_json_endpoint(&ev->server));
	cli_json_time(o, "start", s->start_us, t);
	cli_json_time(o, "end", s->end_us, t);
	cli_json_span(o, "user", s->user, 1);
	json_object_set_new(o, "login", str_or_null(ftpi_login_name(s->login)));
	json_object_set_new(o, "tls", str_or_null(ftpi_tls_mode_name(s->tls)));
	prot[0] = s->prot;
	prot[1] = '\0';
	json_object_set_new(o, "prot", s->prot ? json_string(prot) : json_null());
	json_object_set_new(o, "commands", json_integer((json_int_t)s->commands));
	json_object_set_new(o, "data_connections", json_integer((json_int_t)s->data_connections));
	for (size_t i = 0; i < s->findings_order_len; i++) {
		const char *k = ftpi_finding_name(s->findings_order[i]);
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= s->findings_order[j] == s->findings_order[i];
		if (k != NULL && !dup)
			json_array_append_new(kinds, json_string(k));
	}
	json_object_set_new(o, "findings", kinds);
	json_object_set_new(o, "incomplete", json_boolean(s->incomplete));
	if (ti->version != 0) {
		snprintf(hex, sizeof hex, "0x%04x", ti->version);
		json_object_set_new(o, "tls_version",
				    json_string(ti->version_name ? ti->version_name : hex));
		snprintf(hex, sizeof hex, "0x%04x", ti->cipher);
		json_object_set_new(o, "tls_cipher",
				    json_string(ti->cipher_name ? ti->cipher_name : hex));
	} else {
		json_object_set_new(o, "tls_version", json_null());
		json_object_set_new(o, "tls_cipher", json_null());
	}
	cli_json_span(o, "tls_sni", ti->sni, 1);
	cli_json_span(o, "cert_subject", ti->cert_subject, 1);
	cli_json_span(o, "cert_issuer", ti->cert_issuer, 1);
	json_object_set_new(o, "cert_not_after",
			    ti->cert_not_after ? iso_time(ti->cert_not_after) : json_null());
}

static void data_event(json_t *o, const struct ftpi_event *ev, struct cli_jtimes *t)
{
	const struct ftpi_data_info *d = &ev->u.data;

	json_object_set_new(o, "session", session_or_null(ev->session_id));
	json_object_set_new(o, "link", str_or_null(ftpi_link_name(d->link)));
	json_object_set_new(o, "client", cli_json_endpoint(&ev->client));
	json_object_set_new(o, "server", cli_json_endpoint(&ev->server));
	json_object_set_new(o, "announced_by",
			    d->announced_by == FTPI_ANN_NONE
				    ? json_null()
				    : str_or_null(ftpi_announce_name(d->announced_by)));
	json_object_set_new(o, "mode", json_string(d->active ? "active" : "passive"));
	cli_json_span(o, "command", d->command, 1);
	cli_json_span(o, "file", d->file, 1);
	json_object_set_new(o, "bytes_to_server", json_integer((json_int_t)d->bytes_to_server));
	json_object_set_new(o, "bytes_to_client", json_integer((json_int_t)d->bytes_to_client));
	json_object_set_new(o, "tls", json_boolean(d->tls));
	json_object_set_new(o, "status", str_or_null(ftpi_data_status_name(d->status)));
	cli_json_time(o, "start", d->start_us, t);
	cli_json_time(o, "end", d->end_us, t);
	json_object_set_new(o, "used_address",
			    d->nat_used == FTPI_NAT_ANNOUNCED	? json_string("announced")
			    : d->nat_used == FTPI_NAT_REACHED	? json_string("reached")
			    : d->nat_used == FTPI_NAT_REWRITTEN ? json_string("rewritten")
								: json_null());
	json_object_set_new(o, "tls_version", str_or_null(d->tls_version_name));
	json_object_set_new(o, "tls_cipher", str_or_null(d->tls_cipher_name));
}

static void server_event(json_t *o, const struct ftpi_event *ev)
{
	const struct ftpi_server_info *s = &ev->u.server;
	json_t *clients = json_array();
	char ip[64], rec[1024];

	json_object_set_new(o, "server", cli_json_endpoint(&ev->server));
	json_object_set_new(o, "sessions", json_integer((json_int_t)s->sessions));
	json_object_set_new(o, "pasv_min", s->pasv_count ? json_integer(s->pasv_min) : json_null());
	json_object_set_new(o, "pasv_max", s->pasv_count ? json_integer(s->pasv_max) : json_null());
	json_object_set_new(o, "pasv_count", json_integer((json_int_t)s->pasv_count));
	json_object_set_new(o, "active_count", json_integer((json_int_t)s->active_count));
	for (size_t i = 0; i < s->client_list_len && s->client_list != NULL; i++) {
		ftpi_addr_format(&s->client_list[i], ip, sizeof ip);
		json_array_append_new(clients, json_string(ip));
	}
	json_object_set_new(o, "clients", clients);
	json_object_set_new(o, "recommendation",
			    json_string(cli_server_recommendation(rec, sizeof rec, ev)));
	json_object_set_new(o, "out_of_policy", json_integer((json_int_t)s->out_of_policy));
	json_object_set_new(o, "tls_sessions", json_integer((json_int_t)s->tls_sessions));
	json_object_set_new(o, "clear_logins", json_integer((json_int_t)s->clear_logins));
	json_object_set_new(o, "nat_problems", json_integer((json_int_t)s->nat_problems));
	json_object_set_new(o, "ip_mismatches", json_integer((json_int_t)s->ip_mismatches));
	json_object_set_new(o, "node_mismatches", json_integer((json_int_t)s->node_mismatches));
	if (s->has_helper) {
		ftpi_addr_format(&s->helper_addr, ip, sizeof ip);
		json_object_set_new(o, "helper_address", json_string(ip));
	} else {
		json_object_set_new(o, "helper_address", json_null());
	}
}

static void flow_event(json_t *o, const struct ftpi_event *ev, struct cli_jtimes *t)
{
	static const char *const roles[] = {"other", "control", "data"};
	const struct ftpi_flow_info *f = &ev->u.flow;

	json_object_set_new(o, "client", cli_json_endpoint(&ev->client));
	json_object_set_new(o, "server", cli_json_endpoint(&ev->server));
	json_object_set_new(o, "proto", json_integer(f->proto));
	json_object_set_new(o, "packets_to_server", json_integer((json_int_t)f->packets_to_server));
	json_object_set_new(o, "packets_to_client", json_integer((json_int_t)f->packets_to_client));
	json_object_set_new(o, "bytes_to_server", json_integer((json_int_t)f->bytes_to_server));
	json_object_set_new(o, "bytes_to_client", json_integer((json_int_t)f->bytes_to_client));
	cli_json_time(o, "start", f->start_us, t);
	cli_json_time(o, "end", f->end_us, t);
	const char *st = ftpi_flow_state_name(f->state);
	json_object_set_new(o, "state", st ? json_string(st) : json_null());
	json_object_set_new(o, "role",
			    json_string(f->role >= 0 && f->role <= 2 ? roles[f->role] : "other"));
	json_object_set_new(o, "midstream", json_boolean(f->midstream));
	json_object_set_new(o, "gaps", json_integer((json_int_t)f->gaps));
	json_object_set_new(o, "app", str_or_null(f->app));
	json_object_set_new(o, "session", session_or_null(ev->session_id));
}

static void json_event(struct app *a, const struct ftpi_event *ev)
{
	struct cli_jtimes t = {{0}, 0};
	json_t *o;
	const char *name = ftpi_event_type_name(ev->type);

	if (!app_wants(a, ev->type) || name == NULL)
		return;
	o = json_object();
	if (o == NULL)
		return;
	switch (ev->type) {
	case FTPI_EV_FINDING: {
		const struct ftpi_finding_info *f = &ev->u.finding;
		json_object_set_new(o, "kind", str_or_null(ftpi_finding_name(f->kind)));
		json_object_set_new(o, "severity", str_or_null(ftpi_severity_name(f->severity)));
		put_common(o, ev);
		json_safe(o, "message", f->message);
		json_safe(o, "evidence", f->evidence);
		json_object_set_new(o, "frame", json_integer((json_int_t)ev->frame));
		break;
	}
	case FTPI_EV_SESSION_END:
		session_event(o, ev, &t);
		break;
	case FTPI_EV_DATA:
		data_event(o, ev, &t);
		break;
	case FTPI_EV_SERVER:
		server_event(o, ev);
		break;
	case FTPI_EV_COMMAND:
		put_common(o, ev);
		cli_json_span(o, "verb", ev->u.command.verb, 0);
		cli_json_span(o, "arg", ev->u.command.arg, 0);
		json_object_set_new(o, "frame", json_integer((json_int_t)ev->frame));
		break;
	case FTPI_EV_REPLY:
		put_common(o, ev);
		json_object_set_new(o, "code", json_integer(ev->u.reply.code));
		cli_json_span(o, "text", ev->u.reply.text, 0);
		json_object_set_new(o, "frame", json_integer((json_int_t)ev->frame));
		break;
	case FTPI_EV_EXPECT: {
		const struct ftpi_expect_info *x = &ev->u.expect;
		char ip[64];
		json_object_set_new(o, "session", session_or_null(ev->session_id));
		json_object_set_new(o, "announced_by",
				    x->announced_by == FTPI_ANN_NONE
					    ? json_null()
					    : str_or_null(ftpi_announce_name(x->announced_by)));
		ftpi_addr_format(&x->target.addr, ip, sizeof ip);
		json_object_set_new(o, "ip", json_string(ip));
		json_object_set_new(o, "port", json_integer(x->target.port));
		json_object_set_new(o, "mode", json_string(x->active ? "active" : "passive"));
		if (x->has_reached) {
			ftpi_addr_format(&x->reached.addr, ip, sizeof ip);
			json_object_set_new(o, "reached_ip", json_string(ip));
		}
		json_object_set_new(o, "frame", json_integer((json_int_t)ev->frame));
		break;
	}
	case FTPI_EV_ANOMALY:
		json_object_set_new(o, "session", session_or_null(ev->session_id));
		cli_json_span(o, "kind", ev->u.anomaly.kind, 0);
		cli_json_span(o, "detail", ev->u.anomaly.detail, 0);
		json_object_set_new(o, "frame", json_integer((json_int_t)ev->frame));
		break;
	case FTPI_EV_FLOW_END:
		flow_event(o, ev, &t);
		break;
	default:
		json_decref(o);
		return;
	}
	cli_json_emit(a->fp, name, ev->ts_us, o, &t);
}

static void json_stats(struct app *a, const struct ftpi_stats *st, const struct cap_stats *cs)
{
	const uint64_t *v = (const uint64_t *)st;
	json_t *o = json_object(), *byk = json_object();
	const char *name;

	for (size_t i = 0; (name = ftpi_stats_field_name(i)) != NULL; i++)
		json_object_set_new(o, name, json_integer((json_int_t)v[i]));
	for (int k = 0; k < FTPI_FINDING__COUNT && k < 32; k++)
		json_object_set_new(byk, ftpi_finding_name(k),
				    json_integer((json_int_t)st->findings_by_kind[k]));
	json_object_set_new(o, "findings_by_kind", byk);
	if (cs != NULL) {
		json_object_set_new(o, "pcap_received", json_integer((json_int_t)cs->received));
		json_object_set_new(o, "pcap_dropped", json_integer((json_int_t)cs->dropped));
		json_object_set_new(o, "pcap_ifdropped", json_integer((json_int_t)cs->ifdropped));
	}
	cli_json_emit(a->fp, "stats", a->last_ts_us, o, NULL);
}

static void json_summary(struct app *a)
{
	summary_print_json(a->sum, a->fp, a->last_ts_us);
}

const struct out_ops out_json_ops = {NULL, json_event, json_stats, json_summary, NULL};
