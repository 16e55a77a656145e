/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * out_text.c - the default output, for people: one line per finding (as it is raised), per
 * session (when it ends) with its data connections indented below it, and with -v per command,
 * reply, expectation and anomaly. Data connections are held per session until the session line
 * is printed (bounded: past the caps they print at once). Colour marks the severity only when
 * stdout is a terminal or --color always.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define TXT_MAX_PENDING_SESSIONS  1024
#define TXT_MAX_LINES_PER_SESSION 64
#define TXT_LINE_MAX		  1024

struct pending {
	uint64_t session;
	size_t n;
	size_t dropped;
	char *lines[TXT_MAX_LINES_PER_SESSION];
};

struct text_state {
	struct pending p[TXT_MAX_PENDING_SESSIONS];
	size_t n;
	struct cli_jw line; /* the finding line being built (reused) */
};

/* ---- the text format ------------------------------------------------------------------------ */

static const char *sev_color(const struct app *a, int sev)
{
	static const char *const c[] = {"\033[2m", "\033[36m", "\033[33m", "\033[1;31m"};
	if (!a->color || sev < 0 || sev > 3)
		return "";
	return c[sev];
}

static const char *reset(const struct app *a)
{
	return a->color ? "\033[0m" : "";
}

static int text_begin(struct app *a)
{
	a->fmt = calloc(1, sizeof(struct text_state));
	if (a->fmt == NULL) {
		fputs("ftpinspect: out of memory\n", stderr);
		return -1;
	}
	return 0;
}

static struct pending *find_pending(struct text_state *t, uint64_t id, int create)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->p[i].session == id)
			return &t->p[i];
	if (!create || t->n >= TXT_MAX_PENDING_SESSIONS)
		return NULL;
	memset(&t->p[t->n], 0, sizeof t->p[t->n]);
	t->p[t->n].session = id;
	return &t->p[t->n++];
}

static void drop_pending(struct text_state *t, struct pending *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->lines[i]);
	*p = t->p[--t->n];
}

static void format_data(char *line, size_t cap, const struct ftpi_event *ev)
{
	const struct ftpi_data_info *d = &ev->u.data;
	char c[80], s[80], cmd[64], file[512];
	const char *by = ftpi_announce_name(d->announced_by);
	const char *st = ftpi_data_status_name(d->status);
	const char *link = ftpi_link_name(d->link);

	cli_esc(cmd, sizeof cmd, d->command);
	cli_esc(file, sizeof file, d->file);
	snprintf(line, cap, "data %s%s%s %s -> %s %s%s%s %llu/%llu bytes %s link=%s%s%s",
		 d->active ? "active" : "passive", by ? " " : "", by ? by : "",
		 cli_endpoint(c, sizeof c, &ev->client), cli_endpoint(s, sizeof s, &ev->server),
		 cmd[0] ? cmd : "-", file[0] ? " " : "", file,
		 (unsigned long long)d->bytes_to_server, (unsigned long long)d->bytes_to_client,
		 st ? st : "unknown", link ? link : "?", d->tls ? " tls" : " clear",
		 d->nat_used == FTPI_NAT_ANNOUNCED    ? " nat=announced"
		 : d->nat_used == FTPI_NAT_REACHED    ? " nat=reached"
		 : d->nat_used == FTPI_NAT_REWRITTEN ? " nat=rewritten"
						      : "");
}

static void print_session(struct app *a, const struct ftpi_event *ev)
{
	const struct ftpi_session_info *s = &ev->u.session;
	struct text_state *t = a->fmt;
	char ts[48], c[80], sv[80], user[256], kinds[1024], ver[32];
	const char *login = ftpi_login_name(s->login), *tls = ftpi_tls_mode_name(s->tls);
	size_t kl = 0;
	struct pending *p;

	kinds[0] = '\0';
	for (size_t i = 0; i < s->findings_order_len; i++) {
		const char *k = ftpi_finding_name(s->findings_order[i]);
		if (k && kl < sizeof kinds) {
			int n = snprintf(kinds + kl, sizeof kinds - kl, "%s%s", i ? "," : "", k);
			if (n > 0)
				kl += (size_t)n;
		}
	}
	cli_esc(user, sizeof user, s->user);
	ver[0] = '\0';
	if (s->tls_info.version != 0)
		snprintf(ver, sizeof ver, " %s",
			 s->tls_info.version_name ? s->tls_info.version_name : "TLS");
	fprintf(a->fp,
		"%s SESSION %llu %s -> %s user=%s login=%s tls=%s%s prot=%c commands=%llu "
		"data=%llu findings=%s%s\n",
		cli_time_human(ts, sizeof ts, ev->ts_us), (unsigned long long)ev->session_id,
		cli_endpoint(c, sizeof c, &ev->client), cli_endpoint(sv, sizeof sv, &ev->server),
		user[0] ? user : "-", login ? login : "?", tls ? tls : "?", ver,
		s->prot ? s->prot : '-', (unsigned long long)s->commands,
		(unsigned long long)s->data_connections, kinds[0] ? kinds : "-",
		s->incomplete ? " INCOMPLETE" : "");
	p = find_pending(t, ev->session_id, 0);
	if (p != NULL) {
		for (size_t i = 0; i < p->n; i++)
			fprintf(a->fp, "    %s\n", p->lines[i]);
		if (p->dropped)
			fprintf(a->fp, "    (%zu more data connections not shown)\n", p->dropped);
		drop_pending(t, p);
	}
}

static void text_event(struct app *a, const struct ftpi_event *ev)
{
	struct text_state *t = a->fmt;
	char ts[48], c[80], sv[80], b1[CLI_TEXT_MAX], b2[CLI_TEXT_MAX];

	if (!app_wants(a, ev->type))
		return;
	cli_time_human(ts, sizeof ts, ev->ts_us);
	switch (ev->type) {
	case FTPI_EV_FINDING: {
		const struct ftpi_finding_info *f = &ev->u.finding;
		const char *sev = ftpi_severity_name(f->severity);
		char upper[8] = "";
		for (size_t i = 0; sev && sev[i] && i < sizeof upper - 1; i++) {
			upper[i] = (char)(sev[i] >= 'a' && sev[i] <= 'z' ? sev[i] - 32 : sev[i]);
			upper[i + 1] = '\0';
		}
		/* the most frequent line: built in one buffer, written with one call */
		const char *kind = ftpi_finding_name(f->kind);
		struct cli_jw *w = &t->line;
		cli_jw_reset(w);
		cli_jw_puts(w, ts);
		cli_jw_puts(w, " ");
		cli_jw_puts(w, sev_color(a, f->severity));
		cli_jw_puts(w, upper);
		cli_jw_puts(w, &"      "[strlen(upper) < 6 ? strlen(upper) : 6]); /* %-6s */
		cli_jw_puts(w, reset(a));
		cli_jw_puts(w, " ");
		cli_jw_puts(w, kind ? kind : "(null)");
		cli_jw_puts(w, " session ");
		cli_jw_putu(w, ev->session_id);
		cli_jw_puts(w, " ");
		cli_jw_puts(w, cli_endpoint(c, sizeof c, &ev->client));
		cli_jw_puts(w, " -> ");
		cli_jw_puts(w, cli_endpoint(sv, sizeof sv, &ev->server));
		cli_jw_puts(w, ": ");
		cli_jw_puts(w, cli_safe(b1, sizeof b1, f->message));
		cli_safe(b2, sizeof b2, f->evidence);
		if (b2[0]) {
			cli_jw_puts(w, " [");
			cli_jw_puts(w, b2);
			cli_jw_puts(w, "]");
		}
		cli_jw_puts(w, "\n");
		cli_jw_write(w, a->fp);
		break;
	}
	case FTPI_EV_SESSION_END:
		print_session(a, ev);
		break;
	case FTPI_EV_DATA: {
		char line[TXT_LINE_MAX];
		struct pending *p = ev->session_id ? find_pending(t, ev->session_id, 1) : NULL;
		format_data(line, sizeof line, ev);
		if (p != NULL && p->n < TXT_MAX_LINES_PER_SESSION) {
			char *dup = strdup(line);
			if (dup != NULL) {
				p->lines[p->n++] = dup;
				break;
			}
		} else if (p != NULL) {
			p->dropped++;
			break;
		}
		fprintf(a->fp, "%s %s (session %llu)\n", ts, line,
			(unsigned long long)ev->session_id);
		break;
	}
	case FTPI_EV_COMMAND:
		cli_esc(b2, sizeof b2, ev->u.command.arg);
		fprintf(a->fp, "%s   command session %llu %s%s%s\n", ts,
			(unsigned long long)ev->session_id,
			cli_esc(b1, sizeof b1, ev->u.command.verb), b2[0] ? " " : "", b2);
		break;
	case FTPI_EV_REPLY:
		fprintf(a->fp, "%s   reply   session %llu %u %s\n", ts,
			(unsigned long long)ev->session_id, ev->u.reply.code,
			cli_esc(b1, sizeof b1, ev->u.reply.text));
		break;
	case FTPI_EV_EXPECT: {
		const char *by = ftpi_announce_name(ev->u.expect.announced_by);
		fprintf(a->fp, "%s   expect  session %llu %s %s to %s\n", ts,
			(unsigned long long)ev->session_id, by ? by : "-",
			ev->u.expect.active ? "active" : "passive",
			cli_endpoint(c, sizeof c, &ev->u.expect.target));
		break;
	}
	case FTPI_EV_ANOMALY:
		fprintf(a->fp, "%s   anomaly session %llu %s %s\n", ts,
			(unsigned long long)ev->session_id,
			cli_esc(b1, sizeof b1, ev->u.anomaly.kind),
			cli_esc(b2, sizeof b2, ev->u.anomaly.detail));
		break;
	case FTPI_EV_FLOW_END: {
		const struct ftpi_flow_info *f = &ev->u.flow;
		static const char *const roles[] = {"other", "control", "data"};
		fprintf(a->fp, "%s FLOW %s -> %s %s pkts %llu/%llu bytes %llu/%llu%s%s%s\n", ts,
			cli_endpoint(c, sizeof c, &ev->client),
			cli_endpoint(sv, sizeof sv, &ev->server),
			f->role >= 0 && f->role <= 2 ? roles[f->role] : "?",
			(unsigned long long)f->packets_to_server,
			(unsigned long long)f->packets_to_client,
			(unsigned long long)f->bytes_to_server,
			(unsigned long long)f->bytes_to_client, f->midstream ? " midstream" : "",
			f->app ? " app=" : "", f->app ? f->app : "");
		break;
	}
	case FTPI_EV_SERVER: {
		const struct ftpi_server_info *s = &ev->u.server;
		fprintf(a->fp, "%s SERVER %s sessions=%llu passive=%llu", ts,
			cli_endpoint(sv, sizeof sv, &ev->server), (unsigned long long)s->sessions,
			(unsigned long long)s->pasv_count);
		if (s->pasv_count > 0)
			fprintf(a->fp, " (ports %u-%u)", s->pasv_min, s->pasv_max);
		fprintf(a->fp, " active=%llu clients=%llu: %s\n",
			(unsigned long long)s->active_count, (unsigned long long)s->clients,
			cli_server_recommendation(b1, sizeof b1, ev));
		break;
	}
	default:
		break;
	}
}

static void text_stats(struct app *a, const struct ftpi_stats *st, const struct cap_stats *cs)
{
	const char *name;

	fputs("statistics:\n", a->fp);
	for (size_t i = 0; (name = ftpi_stats_field_name(i)) != NULL; i++)
		fprintf(a->fp, "  %-28s %llu\n", name, (unsigned long long)ftpi_stats_field(st, i));
	for (int k = 0; k < FTPI_FINDING__COUNT && k < 32; k++)
		if (st->findings_by_kind[k])
			fprintf(a->fp, "  findings.%-19s %llu\n", ftpi_finding_name(k),
				(unsigned long long)st->findings_by_kind[k]);
	{
		const char *nm[16];
		uint64_t v[16];
		size_t k = cli_share_counters(a, nm, v);
		for (size_t i = 0; i < k; i++)
			fprintf(a->fp, "  %-28s %llu\n", nm[i], (unsigned long long)v[i]);
	}
	if (cs != NULL) {
		fprintf(a->fp, "  %-28s %llu\n", "pcap_received", (unsigned long long)cs->received);
		fprintf(a->fp, "  %-28s %llu\n", "pcap_dropped", (unsigned long long)cs->dropped);
		fprintf(a->fp, "  %-28s %llu\n", "pcap_ifdropped",
			(unsigned long long)cs->ifdropped);
	}
}

static void text_summary(struct app *a)
{
	summary_print_text(a->sum, a->fp, a->color);
}

static void text_end(struct app *a)
{
	struct text_state *t = a->fmt;
	char line[64];

	if (t == NULL)
		return;
	/* Data connections whose session event never came. */
	while (t->n > 0) {
		struct pending *p = &t->p[0];
		snprintf(line, sizeof line,
			 "session %llu (no session event):", (unsigned long long)p->session);
		fprintf(a->fp, "%s\n", line);
		for (size_t i = 0; i < p->n; i++)
			fprintf(a->fp, "    %s\n", p->lines[i]);
		drop_pending(t, p);
	}
	cli_jw_free(&t->line);
	free(t);
	a->fmt = NULL;
}

const struct out_ops out_text_ops = {text_begin, text_event, text_stats, text_summary, text_end};
