/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * out_report.c - `--report FILE.html`: one self-contained page for a manager, written at the end
 * of the run. No network resource, no script, no external style: the charts are inline SVG and
 * everything reads without JavaScript. Per server: sessions, logins in clear vs TLS, findings by
 * severity (bar chart), passive data connections by port against the agreed --passive-range
 * (histogram), the firewall rule to paste, certificate facts; then a timeline of sessions and
 * findings (SVG lanes per server, and a table). It collects what it needs from the events in
 * bounded tables. Wire text arrives escaped by ftpi_escape() (printable ASCII) and is
 * HTML-escaped here; passwords never reach the events it reads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define R_MAX_SERVERS	256
#define R_MAX_SESSIONS	2000 /* kept for the timeline */
#define R_MAX_FINDINGS	2000
#define R_MAX_DATA	65536
#define R_MAX_CERTS	4
#define R_MAX_SESS_MAP	(1u << 20)
#define R_BINS		20
#define R_TEXT		256

struct r_cert {
	char subject[R_TEXT], issuer[R_TEXT], version[48], cipher[96];
	int64_t not_after;
	uint64_t sessions;
};

struct r_srv {
	struct ftpi_endpoint ep;
	uint64_t sessions, login_clear, login_tls, login_failed, login_none;
	uint64_t sev[4];
	uint64_t kinds[FTPI_FINDING__COUNT];
	uint64_t active;
	struct r_cert cert[R_MAX_CERTS];
	size_t n_cert;
};

struct r_sess {
	uint64_t start, end;
	uint32_t srv;
	int login, tls;
	char user[64];
};

struct r_find {
	uint64_t ts;
	uint32_t srv; /* index + 1; 0 = none */
	int kind, sev;
	char msg[R_TEXT];
};

struct r_data {
	uint64_t session;
	uint16_t port;
	struct ftpi_endpoint server; /* the data connection's responder */
};

struct report {
	char *path;
	uint16_t pasv_min, pasv_max;
	struct r_srv *srv[R_MAX_SERVERS];
	size_t n_srv;
	uint32_t *sess_srv; /* session id -> server index + 1 */
	struct r_sess *sess;
	size_t n_sess, more_sess;
	struct r_find *find;
	size_t n_find, more_find;
	struct r_data *data;
	size_t n_data, more_data;
	uint64_t t0, t1;
};

struct report *report_new(const char *path, uint16_t pasv_min, uint16_t pasv_max)
{
	struct report *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	r->path = strdup(path);
	r->sess_srv = calloc(R_MAX_SESS_MAP, sizeof *r->sess_srv);
	r->sess = calloc(R_MAX_SESSIONS, sizeof *r->sess);
	r->find = calloc(R_MAX_FINDINGS, sizeof *r->find);
	r->data = calloc(R_MAX_DATA, sizeof *r->data);
	if (r->path == NULL || r->sess_srv == NULL || r->sess == NULL || r->find == NULL ||
	    r->data == NULL) {
		report_free(r);
		return NULL;
	}
	r->pasv_min = pasv_min;
	r->pasv_max = pasv_max;
	return r;
}

void report_free(struct report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_srv; i++)
		free(r->srv[i]);
	free(r->sess_srv);
	free(r->sess);
	free(r->find);
	free(r->data);
	free(r->path);
	free(r);
}

static int ep_eq(const struct ftpi_endpoint *a, const struct ftpi_endpoint *b)
{
	return a->port == b->port && a->addr.family == b->addr.family &&
	       memcmp(a->addr.ip, b->addr.ip, a->addr.family == 4 ? 4 : 16) == 0;
}

/* The server's index + 1, created on first sight; 0 when unknown or the table is full. */
static uint32_t srv_of(struct report *r, const struct ftpi_endpoint *ep)
{
	struct r_srv *v;

	if (ep->addr.family == 0)
		return 0;
	for (size_t i = 0; i < r->n_srv; i++)
		if (ep_eq(&r->srv[i]->ep, ep))
			return (uint32_t)i + 1;
	if (r->n_srv >= R_MAX_SERVERS || (v = calloc(1, sizeof *v)) == NULL)
		return 0;
	v->ep = *ep;
	r->srv[r->n_srv++] = v;
	return (uint32_t)r->n_srv;
}

static uint32_t session_srv(struct report *r, const struct ftpi_event *ev)
{
	uint32_t s = 0;

	if (ev->session_id != 0 && ev->session_id < R_MAX_SESS_MAP)
		s = r->sess_srv[ev->session_id];
	if (s == 0) {
		s = srv_of(r, &ev->server);
		if (s != 0 && ev->session_id != 0 && ev->session_id < R_MAX_SESS_MAP)
			r->sess_srv[ev->session_id] = s;
	}
	return s;
}

static void span_copy(char *dst, size_t n, struct ftpi_span s)
{
	cli_esc(dst, n, s);
}

static void on_session(struct report *r, const struct ftpi_event *ev)
{
	const struct ftpi_session_info *s = &ev->u.session;
	const struct ftpi_tls_info *ti = &s->tls_info;
	uint32_t idx = session_srv(r, ev);
	struct r_srv *v;

	if (idx == 0)
		return;
	v = r->srv[idx - 1];
	v->sessions++;
	if (s->login == FTPI_LOGIN_SUCCESS && s->tls == FTPI_TLS_NONE)
		v->login_clear++;
	else if (s->login == FTPI_LOGIN_SUCCESS)
		v->login_tls++;
	else if (s->login == FTPI_LOGIN_FAILED)
		v->login_failed++;
	else
		v->login_none++;
	if (r->n_sess < R_MAX_SESSIONS) {
		struct r_sess *t = &r->sess[r->n_sess++];
		t->start = s->start_us;
		t->end = s->end_us;
		t->srv = idx;
		t->login = s->login;
		t->tls = s->tls;
		span_copy(t->user, sizeof t->user, s->user);
	} else {
		r->more_sess++;
	}
	if (ti->version != 0) {
		char subj[R_TEXT], iss[R_TEXT];
		size_t i;
		span_copy(subj, sizeof subj, ti->cert_subject);
		span_copy(iss, sizeof iss, ti->cert_issuer);
		for (i = 0; i < v->n_cert; i++)
			if (strcmp(v->cert[i].subject, subj) == 0 &&
			    strcmp(v->cert[i].issuer, iss) == 0)
				break;
		if (i == v->n_cert && v->n_cert < R_MAX_CERTS) {
			struct r_cert *c = &v->cert[v->n_cert++];
			snprintf(c->subject, sizeof c->subject, "%s", subj);
			snprintf(c->issuer, sizeof c->issuer, "%s", iss);
			if (ti->version_name)
				snprintf(c->version, sizeof c->version, "%s", ti->version_name);
			else
				snprintf(c->version, sizeof c->version, "0x%04x", ti->version);
			if (ti->cipher_name)
				snprintf(c->cipher, sizeof c->cipher, "%s", ti->cipher_name);
			else
				snprintf(c->cipher, sizeof c->cipher, "0x%04x", ti->cipher);
			c->not_after = ti->cert_not_after;
		}
		if (i < v->n_cert)
			v->cert[i].sessions++;
	}
}

void report_event(struct report *r, const struct ftpi_event *ev)
{
	uint32_t idx;

	if (r == NULL)
		return;
	if (ev->ts_us != 0 && (r->t0 == 0 || ev->ts_us < r->t0))
		r->t0 = ev->ts_us;
	if (ev->ts_us > r->t1)
		r->t1 = ev->ts_us;
	switch (ev->type) {
	case FTPI_EV_SESSION_END:
		if (ev->u.session.start_us != 0 && ev->u.session.start_us < r->t0)
			r->t0 = ev->u.session.start_us;
		on_session(r, ev);
		break;
	case FTPI_EV_FINDING: {
		const struct ftpi_finding_info *f = &ev->u.finding;
		idx = session_srv(r, ev);
		if (idx != 0 && f->severity >= 0 && f->severity < 4)
			r->srv[idx - 1]->sev[f->severity]++;
		if (idx != 0 && f->kind >= 0 && f->kind < FTPI_FINDING__COUNT)
			r->srv[idx - 1]->kinds[f->kind]++;
		if (r->n_find < R_MAX_FINDINGS) {
			struct r_find *t = &r->find[r->n_find++];
			t->ts = ev->ts_us;
			t->srv = idx;
			t->kind = f->kind;
			t->sev = f->severity;
			cli_safe(t->msg, sizeof t->msg, f->message);
		} else {
			r->more_find++;
		}
		break;
	}
	case FTPI_EV_DATA:
		if (ev->u.data.active) {
			if (ev->session_id != 0 && ev->session_id < R_MAX_SESS_MAP &&
			    r->sess_srv[ev->session_id] != 0)
				r->srv[r->sess_srv[ev->session_id] - 1]->active++;
		} else if (r->n_data < R_MAX_DATA) {
			struct r_data *d = &r->data[r->n_data++];
			d->session = ev->session_id;
			d->port = ev->server.port;
			d->server = ev->server;
		} else {
			r->more_data++;
		}
		break;
	default:
		break;
	}
}

/* ---- writing ---------------------------------------------------------------------------- */
static void html(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static const char *sev_color(int sev)
{
	static const char *const c[] = {"#6b7280", "#2563eb", "#d97706", "#dc2626"};
	return sev >= 0 && sev < 4 ? c[sev] : "#000";
}

static const char *ep_text(char *buf, size_t n, const struct ftpi_endpoint *ep)
{
	return cli_endpoint(buf, n, ep);
}

static const char *iso(char *buf, size_t n, uint64_t us)
{
	return cli_time_human(buf, n, us);
}

/* The server of a passive data connection: its session's, else the responder's address. */
static uint32_t data_srv(const struct report *r, const struct r_data *d)
{
	if (d->session != 0 && d->session < R_MAX_SESS_MAP && r->sess_srv[d->session] != 0)
		return r->sess_srv[d->session];
	for (size_t i = 0; i < r->n_srv; i++)
		if (r->srv[i]->ep.addr.family == d->server.addr.family &&
		    memcmp(r->srv[i]->ep.addr.ip, d->server.addr.ip, 16) == 0)
			return (uint32_t)i + 1;
	return 0;
}

static void severity_chart(FILE *f, const struct r_srv *v)
{
	uint64_t max = 1;
	const int w = 360, bar = 22;

	for (int s = 0; s < 4; s++)
		if (v->sev[s] > max)
			max = v->sev[s];
	fprintf(f, "<svg role=\"img\" aria-label=\"findings by severity\" width=\"%d\" "
		   "height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">\n",
		w + 160, 4 * (bar + 6) + 4);
	for (int s = 3; s >= 0; s--) {
		int y = (3 - s) * (bar + 6) + 2;
		int len = (int)((double)v->sev[s] / (double)max * w);
		fprintf(f,
			"<text x=\"0\" y=\"%d\" font-size=\"13\">%s</text>"
			"<rect x=\"70\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
			"<text x=\"%d\" y=\"%d\" font-size=\"13\">%llu</text>\n",
			y + 16, ftpi_severity_name(s), y, len, bar, sev_color(s), 76 + len, y + 16,
			(unsigned long long)v->sev[s]);
	}
	fputs("</svg>\n", f);
}

static void port_histogram(FILE *f, const struct report *r, uint32_t idx)
{
	unsigned lo = 65535, hi = 0, bins[R_BINS] = {0}, max = 1, n = 0, in = 0;
	const int w = 520, h = 120;

	for (size_t i = 0; i < r->n_data; i++) {
		if (data_srv(r, &r->data[i]) != idx)
			continue;
		unsigned p = r->data[i].port;
		lo = p < lo ? p : lo;
		hi = p > hi ? p : hi;
		n++;
		in += r->pasv_min != 0 && p >= r->pasv_min && p <= r->pasv_max;
	}
	if (n == 0) {
		fputs("<p>No passive data connections seen.</p>\n", f);
		return;
	}
	if (r->pasv_min != 0) {
		lo = r->pasv_min < lo ? r->pasv_min : lo;
		hi = r->pasv_max > hi ? r->pasv_max : hi;
	}
	unsigned span = hi - lo + 1, width = (span + R_BINS - 1) / R_BINS, out[R_BINS] = {0};
	for (size_t i = 0; i < r->n_data; i++) {
		if (data_srv(r, &r->data[i]) != idx)
			continue;
		unsigned p = r->data[i].port, b = (p - lo) / width;
		if (++bins[b] > max)
			max = bins[b];
		out[b] += r->pasv_min != 0 && (p < r->pasv_min || p > r->pasv_max);
	}
	if (r->pasv_min != 0)
		fprintf(f, "<p>%u passive data connection(s): %u inside the agreed range %u-%u, "
			   "%u outside.</p>\n",
			n, in, r->pasv_min, r->pasv_max, n - in);
	else
		fprintf(f, "<p>%u passive data connection(s), ports %u-%u; no agreed range given "
			   "(--passive-range).</p>\n",
			n, lo, hi);
	fprintf(f, "<svg role=\"img\" aria-label=\"passive data connections by port\" width=\"%d\" "
		   "height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">\n",
		w + 20, h + 40);
	/* Each bar: the connections inside the agreed range (green) under those outside (red). */
	for (unsigned b = 0; b < R_BINS && lo + b * width <= hi; b++) {
		unsigned b_lo = lo + b * width, b_hi = b_lo + width - 1;
		int hin = (int)((double)(bins[b] - out[b]) / max * h);
		int hout = (int)((double)out[b] / max * h);
		unsigned x = 10 + b * (w / R_BINS);
		fprintf(f,
			"<rect x=\"%u\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
			"<title>ports %u-%u: %u</title></rect>\n",
			x, h - hin, w / R_BINS - 2, hin, r->pasv_min == 0 ? "#6b7280" : "#16a34a",
			b_lo, b_hi, bins[b] - out[b]);
		if (hout > 0)
			fprintf(f,
				"<rect x=\"%u\" y=\"%d\" width=\"%d\" height=\"%d\" "
				"fill=\"#dc2626\"><title>ports %u-%u outside the range: %u</title>"
				"</rect>\n",
				x, h - hin - hout, w / R_BINS - 2, hout, b_lo, b_hi, out[b]);
	}
	fprintf(f,
		"<line x1=\"10\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>"
		"<text x=\"10\" y=\"%d\" font-size=\"12\">%u</text>"
		"<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%u</text>\n</svg>\n",
		h, w + 10, h, h + 16, lo, w + 10, h + 16, hi);
	if (r->pasv_min != 0)
		fputs("<p class=\"legend\"><span style=\"color:#16a34a\">&#9632;</span> agreed range "
		      "<span style=\"color:#dc2626\">&#9632;</span> outside it</p>\n",
		      f);
}

/* The rule to paste: nftables, the control port and the passive range (agreed, else seen). */
static void firewall_rule(FILE *f, const struct report *r, uint32_t idx)
{
	const struct r_srv *v = r->srv[idx - 1];
	unsigned lo = 65535, hi = 0;
	char ip[64];

	for (size_t i = 0; i < r->n_data; i++) {
		if (data_srv(r, &r->data[i]) != idx)
			continue;
		lo = r->data[i].port < lo ? r->data[i].port : lo;
		hi = r->data[i].port > hi ? r->data[i].port : hi;
	}
	if (r->pasv_min != 0) {
		lo = r->pasv_min;
		hi = r->pasv_max;
	}
	ftpi_addr_format(&v->ep.addr, ip, sizeof ip);
	fputs("<pre class=\"rule\">", f);
	fprintf(f, "nft add rule inet filter input %s daddr %s tcp dport ",
		v->ep.addr.family == 6 ? "ip6" : "ip", ip);
	if (hi >= lo)
		fprintf(f, "{ %u, %u-%u } accept", v->ep.port, lo, hi);
	else
		fprintf(f, "%u accept", v->ep.port);
	fputs("</pre>\n", f);
	if (r->pasv_min == 0 && hi >= lo)
		fputs("<p>The passive range above is the one observed; give the agreed one with "
		      "--passive-range.</p>\n",
		      f);
	if (v->active > 0)
		fprintf(f, "<p>%llu active-mode data connection(s): the server also connects out "
			   "from port 20 to the clients.</p>\n",
			(unsigned long long)v->active);
}

static void certificates(FILE *f, const struct r_srv *v)
{
	char na[40];

	if (v->n_cert == 0) {
		fputs("<p>No TLS handshake seen.</p>\n", f);
		return;
	}
	fputs("<table><tr><th>TLS</th><th>cipher</th><th>subject</th><th>issuer</th>"
	      "<th>not after</th><th>sessions</th></tr>\n",
	      f);
	for (size_t i = 0; i < v->n_cert; i++) {
		const struct r_cert *c = &v->cert[i];
		fputs("<tr><td>", f);
		html(f, c->version);
		fputs("</td><td>", f);
		html(f, c->cipher);
		fputs("</td><td>", f);
		html(f, c->subject[0] ? c->subject : "(not seen: TLS 1.3 encrypts it)");
		fputs("</td><td>", f);
		html(f, c->issuer[0] ? c->issuer : "-");
		fputs("</td><td>", f);
		if (c->not_after != 0)
			html(f, iso(na, sizeof na, (uint64_t)c->not_after * 1000000u));
		else
			fputs("-", f);
		fprintf(f, "</td><td>%llu</td></tr>\n", (unsigned long long)c->sessions);
	}
	fputs("</table>\n", f);
}

static void server_section(FILE *f, const struct report *r, uint32_t idx)
{
	const struct r_srv *v = r->srv[idx - 1];
	char ep[80];

	fputs("<section class=\"server\"><h2>Server ", f);
	html(f, ep_text(ep, sizeof ep, &v->ep));
	fputs("</h2>\n", f);
	fprintf(f,
		"<p>%llu session(s). Logins: <b>%llu in clear text</b>, %llu over TLS, %llu "
		"failed, %llu without login.</p>\n",
		(unsigned long long)v->sessions, (unsigned long long)v->login_clear,
		(unsigned long long)v->login_tls, (unsigned long long)v->login_failed,
		(unsigned long long)v->login_none);
	fputs("<h3>Findings by severity</h3>\n", f);
	severity_chart(f, v);
	fputs("<ul>\n", f);
	for (int k = 0; k < FTPI_FINDING__COUNT; k++)
		if (v->kinds[k] > 0)
			fprintf(f, "<li>%s: %llu</li>\n", ftpi_finding_name(k),
				(unsigned long long)v->kinds[k]);
	fputs("</ul>\n<h3>Passive data connections by port</h3>\n", f);
	port_histogram(f, r, idx);
	fputs("<h3>Firewall rule</h3>\n", f);
	firewall_rule(f, r, idx);
	fputs("<h3>Certificates</h3>\n", f);
	certificates(f, v);
	fputs("</section>\n", f);
}

static double xpos(const struct report *r, uint64_t t, int w)
{
	if (r->t1 <= r->t0 || t <= r->t0)
		return 0;
	return (double)(t - r->t0) / (double)(r->t1 - r->t0) * w;
}

static void timeline(FILE *f, const struct report *r)
{
	const int w = 900, lane = 28, left = 170;
	char a[40], b[40], ep[80];

	fputs("<h2>Timeline</h2>\n", f);
	if (r->n_srv == 0) {
		fputs("<p>No FTP server seen.</p>\n", f);
		return;
	}
	fprintf(f, "<p>From %s to %s UTC. Bars are sessions, dots findings (colour by "
		   "severity).</p>\n",
		iso(a, sizeof a, r->t0), iso(b, sizeof b, r->t1));
	fprintf(f, "<svg role=\"img\" aria-label=\"timeline\" width=\"%d\" height=\"%d\" "
		   "xmlns=\"http://www.w3.org/2000/svg\">\n",
		left + w + 20, (int)r->n_srv * lane + 10);
	for (size_t i = 0; i < r->n_srv; i++) {
		fprintf(f, "<text x=\"0\" y=\"%d\" font-size=\"12\">", (int)i * lane + 18);
		html(f, ep_text(ep, sizeof ep, &r->srv[i]->ep));
		fprintf(f, "</text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n",
			left, (int)i * lane + 14, left + w, (int)i * lane + 14);
	}
	for (size_t i = 0; i < r->n_sess; i++) {
		const struct r_sess *s = &r->sess[i];
		double x0 = xpos(r, s->start, w), x1 = xpos(r, s->end, w);
		fprintf(f,
			"<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"10\" fill=\"%s\" "
			"opacity=\"0.6\"><title>session, user ",
			left + x0, (int)(s->srv - 1) * lane + 9, x1 - x0 < 2 ? 2 : x1 - x0,
			s->login == FTPI_LOGIN_SUCCESS && s->tls == FTPI_TLS_NONE ? "#f59e0b"
										   : "#60a5fa");
		html(f, s->user[0] ? s->user : "-");
		fputs("</title></rect>\n", f);
	}
	for (size_t i = 0; i < r->n_find; i++) {
		const struct r_find *t = &r->find[i];
		if (t->srv == 0)
			continue;
		fprintf(f,
			"<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"%s\"><title>%s</title>"
			"</circle>\n",
			left + xpos(r, t->ts, w), (int)(t->srv - 1) * lane + 14, sev_color(t->sev),
			ftpi_finding_name(t->kind));
	}
	fputs("</svg>\n", f);
	if (r->more_sess > 0)
		fprintf(f, "<p>%zu more session(s) not drawn.</p>\n", r->more_sess);
	fputs("<table><tr><th>time (UTC)</th><th>server</th><th>severity</th><th>finding</th>"
	      "<th>message</th></tr>\n",
	      f);
	for (size_t i = 0; i < r->n_find; i++) {
		const struct r_find *t = &r->find[i];
		fputs("<tr><td>", f);
		html(f, iso(a, sizeof a, t->ts));
		fputs("</td><td>", f);
		html(f, t->srv ? ep_text(ep, sizeof ep, &r->srv[t->srv - 1]->ep) : "-");
		fprintf(f, "</td><td style=\"color:%s\">%s</td><td>%s</td><td>", sev_color(t->sev),
			ftpi_severity_name(t->sev), ftpi_finding_name(t->kind));
		html(f, t->msg);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	if (r->more_find > 0)
		fprintf(f, "<p>%zu more finding(s) not listed.</p>\n", r->more_find);
}

int report_write(struct report *r, char *err, size_t errlen)
{
	FILE *f;
	uint64_t total[4] = {0};
	int rc;

	if (r == NULL)
		return 0;
	f = fopen(r->path, "w");
	if (f == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < r->n_srv; i++)
		for (int s = 0; s < 4; s++)
			total[s] += r->srv[i]->sev[s];
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>ftpinspect report</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:2em;max-width:1150px;color:#111}\n"
	      "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
	      "padding:3px 6px;font-size:13px;text-align:left;vertical-align:top}\n"
	      "section.server{border-top:2px solid #333;margin-top:2em}\n"
	      "pre.rule{background:#f3f4f6;padding:.6em;white-space:pre-wrap}\n"
	      "</style></head><body>\n<h1>FTP/FTPS security review</h1>\n",
	      f);
	fprintf(f, "<p>%zu server(s); findings: %llu high, %llu medium, %llu low, %llu info.</p>\n",
		r->n_srv, (unsigned long long)total[3], (unsigned long long)total[2],
		(unsigned long long)total[1], (unsigned long long)total[0]);
	for (size_t i = 0; i < r->n_srv; i++)
		server_section(f, r, (uint32_t)i + 1);
	timeline(f, r);
	fprintf(f, "<p><small>ftpinspect %s</small></p>\n</body></html>\n", FTPI_VERSION_STRING);
	rc = ferror(f) ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		snprintf(err, errlen, "write error");
	return rc;
}
