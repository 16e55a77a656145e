/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_cli_out.c - ftpinspect's output formats fed hostile names. One session's events (start,
 * USER/PASS/PASV/RETR commands and replies, login, TLS, expectation, data connection, finding,
 * anomaly, session end, flow end, server summary) are built with every text field taken from the
 * input, so every byte 0x00-0xff reaches user names, paths, reply texts, banners, SNI and
 * certificate names, and go through the text, JSON and Zeek formats (verbose, with the summary)
 * and the -w packet comments. Input: kind byte (finding kind, severity), enum byte (data status,
 * link, announcement), then length-prefixed user name and text (one byte each), the rest is the
 * path. Checks:
 *   JSON   every line parses (jansson, which also rejects invalid UTF-8) as an object;
 *   Zeek   every record line has as many tab-separated fields as the #fields header;
 *   text   only printable ASCII, tab and newline;
 *   pcapng each comment is valid UTF-8 without NUL, and the file written with them has blocks
 *          whose lengths agree and whose comment options are valid UTF-8.
 * corpus/fuzz_cli_out/all_bytes holds every byte value in the user name and the path.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 3629: well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF), no NUL. */
static int utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t v;
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			v = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			v = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			v = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			v = v << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
		    (k == 3 && (v < 0x10000 || v > 0x10ffff)))
			return 0;
		i += k + 1;
	}
	return 1;
}

static void check_json(const char *out, size_t len)
{
	const char *p = out, *end = out + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			abort(); /* every record ends with a newline */
		json_error_t err;
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, &err);
		if (j == NULL || !json_is_object(j))
			abort();
		json_decref(j);
		p = nl + 1;
	}
}

static void check_zeek(const char *out, size_t len)
{
	const char *p = out, *end = out + len;
	long fields = -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			abort();
		long tabs = 0;
		for (const char *q = p; q < nl; q++)
			tabs += *q == '\t';
		if (nl - p >= 8 && memcmp(p, "#fields\t", 8) == 0)
			fields = tabs; /* "#fields" plus one tab per field */
		else if (*p != '#' && (fields < 0 || tabs + 1 != fields))
			abort();
		for (const char *q = p; q < nl; q++)
			if ((unsigned char)*q < 0x20 && *q != '\t')
				abort();
		p = nl + 1;
	}
}

static void check_text(const char *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c > 0x7e)
			abort();
	}
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Walks the pcapng file: block lengths agree at both ends; EPB comment options are UTF-8. */
static void check_pcapng(const uint8_t *f, size_t n)
{
	size_t off = 0;
	while (off < n) {
		if (n - off < 12)
			abort();
		uint32_t type = rd32(f + off), blen = rd32(f + off + 4);
		if (blen < 12 || blen % 4 || blen > n - off || rd32(f + off + blen - 4) != blen)
			abort();
		if (type == 6) { /* EPB: iface, ts hi, ts lo, caplen, len, data, options */
			if (blen < 32)
				abort();
			uint32_t cap = rd32(f + off + 20);
			size_t o = 28 + (size_t)cap + ((4 - (cap & 3)) & 3);
			while (o + 4 <= blen - 4) {
				uint16_t code, olen;
				memcpy(&code, f + off + o, 2);
				memcpy(&olen, f + off + o + 2, 2);
				if (code == 0)
					break;
				if (o + 4 + olen > blen - 4)
					abort();
				if (code == 1 && !utf8_ok(f + off + o + 4, olen))
					abort();
				o += 4 + olen + ((4 - (olen & 3)) & 3);
			}
		}
		off += blen;
	}
}

static void event(struct app *a, struct ftpi_event *ev, int type, uint64_t *ts)
{
	ev->type = type;
	ev->ts_us = (*ts += 1000);
	ev->frame++;
	if (a->sum != NULL)
		summary_event(a->sum, ev);
	if (a->pcapng != NULL)
		annot_event(&a->annot, &a->pc, ev->frame, ev);
	a->out->event(a, ev);
}

static void session(struct app *a, const uint8_t *hdr, struct ftpi_span user,
		    struct ftpi_span text, struct ftpi_span path)
{
	static const uint8_t order[2] = {0, 1};
	struct ftpi_event ev;
	uint64_t ts = 1700000000000000ull;
	struct ftpi_endpoint c = {{4, {10, 0, 0, 1}}, 40000}, s = {{4, {10, 0, 0, 2}}, 21};
	struct ftpi_endpoint d = {{6, {0xfd, 0, [15] = 2}}, 50000};
	struct ftpi_addr clients[1] = {c.addr};

	memset(&ev, 0, sizeof ev);
	ev.session_id = 7;
	ev.client = c;
	ev.server = s;
	event(a, &ev, FTPI_EV_SESSION_START, &ts);
	ev.u.reply.code = 220;
	ev.u.reply.text = text;
	event(a, &ev, FTPI_EV_REPLY, &ts);
	ev.u.command.verb = (struct ftpi_span){"USER", 4};
	ev.u.command.arg = user;
	event(a, &ev, FTPI_EV_COMMAND, &ts);
	ev.u.command.verb = (struct ftpi_span){"PASS", 4};
	ev.u.command.arg = (struct ftpi_span){"***", 3};
	event(a, &ev, FTPI_EV_COMMAND, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.login.user = user;
	ev.u.login.result = FTPI_LOGIN_SUCCESS;
	ev.u.login.cleartext = 1;
	event(a, &ev, FTPI_EV_LOGIN, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.tls.version = 0x0303;
	ev.u.tls.cipher = 0xc02f;
	ev.u.tls.sni = text;
	ev.u.tls.cert_subject = user;
	ev.u.tls.cert_issuer = path;
	event(a, &ev, FTPI_EV_TLS, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.command.verb = (struct ftpi_span){"EPSV", 4};
	event(a, &ev, FTPI_EV_COMMAND, &ts);
	ev.u.reply.code = 229;
	ev.u.reply.text = text;
	event(a, &ev, FTPI_EV_REPLY, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.expect.announced_by = FTPI_ANN_EPSV;
	ev.u.expect.target = d;
	ev.u.expect.reached = s;
	ev.u.expect.has_reached = hdr[1] >> 7;
	event(a, &ev, FTPI_EV_EXPECT, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.command.verb = (struct ftpi_span){"RETR", 4};
	ev.u.command.arg = path;
	event(a, &ev, FTPI_EV_COMMAND, &ts);
	ev.u.reply.code = 150;
	ev.u.reply.text = path;
	event(a, &ev, FTPI_EV_REPLY, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.data.link = (hdr[1] >> 2) % 5;
	ev.u.data.announced_by = (hdr[1] >> 5) % 7;
	ev.u.data.active = hdr[1] & 1;
	ev.u.data.command = (struct ftpi_span){"RETR", 4};
	ev.u.data.file = path;
	ev.u.data.bytes_to_client = 1234;
	ev.u.data.status = hdr[1] & 3;
	ev.u.data.start_us = ts;
	ev.u.data.end_us = ts + 5;
	ev.u.data.nat_used = hdr[1] % 3;
	event(a, &ev, FTPI_EV_DATA, &ts);
	ev.u.reply.code = 226;
	ev.u.reply.text = text;
	event(a, &ev, FTPI_EV_REPLY, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.finding.kind = hdr[0] % FTPI_FINDING__COUNT;
	ev.u.finding.severity = (hdr[0] >> 6) & 3;
	ev.u.finding.message = text;
	ev.u.finding.evidence = user;
	event(a, &ev, FTPI_EV_FINDING, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.anomaly.kind = user;
	ev.u.anomaly.detail = path;
	event(a, &ev, FTPI_EV_ANOMALY, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.session.user = user;
	ev.u.session.login = FTPI_LOGIN_SUCCESS;
	ev.u.session.tls = FTPI_TLS_EXPLICIT;
	ev.u.session.prot = 'P';
	ev.u.session.start_us = 1700000000000000ull;
	ev.u.session.end_us = ts;
	ev.u.session.commands = 4;
	ev.u.session.findings_mask = 3;
	ev.u.session.findings_order = order;
	ev.u.session.findings_order_len = 2;
	ev.u.session.tls_info.version = 0x0304;
	ev.u.session.tls_info.sni = text;
	ev.u.session.tls_info.cert_subject = path;
	ev.u.session.tls_info.cert_issuer = user;
	ev.u.session.banner = text;
	event(a, &ev, FTPI_EV_SESSION_END, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.u.flow.proto = 6;
	ev.u.flow.role = 1;
	event(a, &ev, FTPI_EV_FLOW_END, &ts);
	memset(&ev.u, 0, sizeof ev.u);
	ev.session_id = 0;
	ev.u.server.sessions = 1;
	ev.u.server.client_list = clients;
	ev.u.server.client_list_len = 1;
	event(a, &ev, FTPI_EV_SERVER, &ts);
}

static void run_format(const struct out_ops *ops, const struct cli_opts *o, const uint8_t *hdr,
		       struct ftpi_span user, struct ftpi_span text, struct ftpi_span path,
		       int pcapng_fd)
{
	char *out = NULL, path_buf[64], err[128];
	size_t len = 0;
	struct app a;
	struct ftpi_stats st;

	memset(&a, 0, sizeof a);
	memset(&st, 0, sizeof st);
	a.o = o;
	a.out = ops;
	a.max_sev = -1;
	a.user_mask = FTPI_EVMASK_COMMANDS | FTPI_EVMASK_FLOWS | FTPI_EVMASK_EXPECT |
		      FTPI_EVMASK_ANOMALY;
	a.fp = open_memstream(&out, &len);
	a.sum = summary_new();
	if (a.fp == NULL || a.sum == NULL)
		abort();
	if (pcapng_fd >= 0) {
		snprintf(path_buf, sizeof path_buf, "/proc/self/fd/%d", pcapng_fd);
		a.pcapng = pcapng_open(path_buf, err, sizeof err);
	}
	if (ops->begin != NULL && ops->begin(&a) != 0)
		abort();
	session(&a, hdr, user, text, path);
	if (ops->stats != NULL)
		ops->stats(&a, &st, NULL);
	if (ops->summary != NULL)
		ops->summary(&a);
	if (ops->end != NULL)
		ops->end(&a);
	summary_free(a.sum);
	fclose(a.fp);
	if (ops == &out_json_ops)
		check_json(out, len);
	else if (ops == &out_zeek_ops)
		check_zeek(out, len);
	else
		check_text(out, len);
	free(out);

	for (size_t i = 0; i < a.pc.n; i++)
		if (!utf8_ok((const uint8_t *)a.pc.text[i], strlen(a.pc.text[i])))
			abort();
	if (a.pcapng != NULL) {
		static const uint8_t pkt[60];
		struct ftpi_packet p = {1700000000000000ull, 1, sizeof pkt, sizeof pkt, pkt};
		if (annot_write(a.pcapng, &p, &a.pc) != 0 || pcapng_close(a.pcapng) != 0)
			abort();
		off_t n = lseek(pcapng_fd, 0, SEEK_END);
		uint8_t *f = malloc(n > 0 ? (size_t)n : 1);
		if (f == NULL || n < 0 || pread(pcapng_fd, f, (size_t)n, 0) != n)
			abort();
		check_pcapng(f, (size_t)n);
		free(f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -2;
	struct cli_opts o;
	size_t i = 2, n;

	if (size < 4)
		return 0;
	if (fd == -2)
		fd = memfd_create("ftpi-fuzz-pcapng", 0);
	n = data[i++];
	if (n > size - i)
		n = size - i;
	char *user = malloc(n ? n : 1);
	memcpy(user, data + i, n);
	struct ftpi_span us = {user, n};
	i += n;
	n = i < size ? data[i++] : 0;
	if (n > size - i)
		n = size - i;
	char *text = malloc(n ? n : 1);
	memcpy(text, data + i, n);
	struct ftpi_span ts = {text, n};
	i += n;
	n = size - i;
	char *path = malloc(n ? n : 1);
	memcpy(path, data + i, n);
	struct ftpi_span ps = {path, n};

	memset(&o, 0, sizeof o);
	o.verbose = 1;
	o.flows = 1;
	o.summary = 1;
	o.stats = 1;
	o.show_passwords = data[0] & 1;
	o.fail_on = -1;
	if (fd >= 0 && ftruncate(fd, 0) != 0)
		abort();
	run_format(&out_text_ops, &o, data, us, ts, ps, fd);
	run_format(&out_json_ops, &o, data, us, ts, ps, -1);
	run_format(&out_zeek_ops, &o, data, us, ts, ps, -1);
	free(user);
	free(text);
	free(path);
	return 0;
}
