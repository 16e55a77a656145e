/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * packet-ftpinspect.c - a Wireshark 4.0 postdissector that runs libftpinspect over the capture
 * and shows what it reports on the frames that caused it: findings (with Expert Information
 * items in the Security group), data-connection links, expectations, logins, TLS handshakes,
 * anomalies and session starts/ends, as filterable fields under "ftpinspect.".
 *
 * On the first pass (!PINFO_FD_VISITED) every packet record is fed, in frame order, to one
 * ftpi_engine per capture file; the events of the callback are copied into file-scoped memory
 * keyed by frame number. Later passes (tshark -2, a click in the GUI, a new display filter) only
 * read that map, so the tree is the same however often a frame is dissected. The engine lives
 * from the init routine to the cleanup routine of each dissection run.
 *
 * It does not dissect FTP itself (Wireshark's ftp and ftp-data dissectors do), and it cannot show
 * what the engine raises only at ftpi_engine_flush() (data_connection_missing at the end of the
 * input, server summaries, sessions still open at the end): Wireshark has no end-of-capture hook
 * for dissectors, so the flush runs in the cleanup routine, when nothing can be displayed any
 * more, and only counts those findings for the log. See README.md.
 */
#define WS_BUILD_DLL
#define WS_LOG_DOMAIN "ftpinspect"
#include <wireshark.h>
#include <epan/packet.h>
#include <epan/expert.h>
#include <epan/prefs.h>
#include <wiretap/wtap.h>
#include <wiretap/pcap-encap.h>

#include <ftpinspect.h>

#ifndef FTPI_WS_PLUGIN_VERSION
#define FTPI_WS_PLUGIN_VERSION FTPI_VERSION_STRING
#endif

/* Wireshark's plugin ABI: the loader checks these symbols and then calls plugin_register(). */
WS_DLL_PUBLIC_DEF const char plugin_version[] = FTPI_WS_PLUGIN_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;
WS_DLL_PUBLIC void plugin_register(void);

/* Registered ids: set once at registration, read-only afterwards. */
static int proto_ftpinspect = -1;

static int hf_event = -1;
static int hf_session = -1;
static int hf_client = -1;
static int hf_server = -1;
static int hf_finding = -1;
static int hf_severity = -1;
static int hf_message = -1;
static int hf_evidence = -1;
static int hf_data_link = -1;
static int hf_data_announced_by = -1;
static int hf_data_mode = -1;
static int hf_data_command = -1;
static int hf_data_file = -1;
static int hf_data_status = -1;
static int hf_data_tls = -1;
static int hf_data_to_server = -1;
static int hf_data_to_client = -1;
static int hf_data_used_address = -1;
static int hf_data_announce_frame = -1;
static int hf_expect_announced_by = -1;
static int hf_expect_mode = -1;
static int hf_expect_ip = -1;
static int hf_expect_port = -1;
static int hf_expect_reached = -1;
static int hf_login_user = -1;
static int hf_login_result = -1;
static int hf_login_anonymous = -1;
static int hf_login_cleartext = -1;
static int hf_tls_version = -1;
static int hf_tls_cipher = -1;
static int hf_tls_sni = -1;
static int hf_tls_cert_subject = -1;
static int hf_tls_cert_issuer = -1;
static int hf_anomaly_kind = -1;
static int hf_anomaly_detail = -1;
static int hf_session_user = -1;
static int hf_session_login = -1;
static int hf_session_tls = -1;
static int hf_session_prot = -1;
static int hf_session_commands = -1;
static int hf_session_data_connections = -1;
static int hf_session_incomplete = -1;
static int hf_session_findings = -1;

static gint ett_ftpinspect = -1;
static gint ett_event = -1;

/* One expert field per severity: Wireshark fixes an item's severity at registration. */
static expert_field ei_finding[4] = { EI_INIT, EI_INIT, EI_INIT, EI_INIT };

/* Preferences. */
static gboolean pref_info_column = TRUE;
static range_t *pref_pasv_range;
static guint pref_brute_force_threshold; /* 0: the library's default */

/* Link types: the WTAP_ENCAP value of each DLT the engine decodes (first DLT wins). */
#define MAX_LINKS 32
static struct {
	int encap;
	int dlt;
} link_map[MAX_LINKS];
static size_t n_link_map;

/* What one event left for its frame, copied out of the callback into file scope. */
struct fi_event {
	struct fi_event *next;
	int type; /* enum ftpi_event_type */
	guint64 session_id;
	const char *client, *server; /* "ip:port" or NULL */
	union {
		struct {
			int kind, severity;
			const char *message, *evidence;
		} finding;
		struct {
			int link, announced_by, active, status, tls, nat_used;
			const char *command, *file;
			guint64 to_server, to_client;
			guint32 announce_frame; /* Wireshark frame number, 0 = unknown */
		} data;
		struct {
			int announced_by, active;
			const char *ip, *reached;
			guint16 port;
		} expect;
		struct {
			const char *user;
			int result, anonymous, cleartext;
		} login;
		struct {
			const char *version, *cipher, *sni, *subject, *issuer;
		} tls;
		struct {
			const char *kind, *detail;
		} anomaly;
		struct {
			const char *user, *findings;
			int login, tls, incomplete;
			char prot;
			guint64 commands, data_connections;
		} session;
	} u;
};

/* Per dissection run (one capture file): created by the init routine, freed by the cleanup
 * routine. Maps and arrays are in wmem file scope. */
static struct {
	ftpi_engine *engine;
	int engine_status;     /* ftpi_engine_new() status when engine is NULL */
	wmem_map_t *frames;    /* Wireshark frame number -> struct fi_event list */
	wmem_array_t *frame_of; /* engine frame - 1 -> Wireshark frame number */
	guint32 last_fed;      /* highest frame number fed: feed each frame once, in order */
	guint64 unattached;    /* events with no frame (engine frame 0 or out of range) */
	guint64 not_fed;       /* packet records of a link type the engine does not decode */
	int flushing;          /* in cleanup: count what the end of the capture raises */
	guint64 flush_findings; /* findings raised only at the end (not shown) */
} cap;

/* ------------------------------------------------------------------------------------------ */

static int dlt_for_encap(int encap)
{
	for (size_t i = 0; i < n_link_map; i++)
		if (link_map[i].encap == encap)
			return link_map[i].dlt;
	return -1;
}

static void build_link_map(void)
{
	/* LINKTYPE values stop well below 512; wiretap maps several DLTs to one encapsulation
	 * (12, 14 and 101 are all raw IP), and any of them decodes the same. */
	n_link_map = 0;
	for (int dlt = 0; dlt < 512 && n_link_map < MAX_LINKS; dlt++) {
		if (!ftpi_linktype_supported(dlt))
			continue;
		int encap = wtap_pcap_encap_to_wtap_encap(dlt);
		if (encap == WTAP_ENCAP_UNKNOWN || encap == WTAP_ENCAP_PER_PACKET)
			continue;
		if (dlt_for_encap(encap) >= 0)
			continue;
		link_map[n_link_map].encap = encap;
		link_map[n_link_map].dlt = dlt;
		n_link_map++;
	}
}

/* Wireshark frame number of the engine's 1-based frame, or 0. */
static guint32 ws_frame(guint64 engine_frame)
{
	if (cap.frame_of == NULL || engine_frame == 0 ||
	    engine_frame > wmem_array_get_count(cap.frame_of))
		return 0;
	return *(guint32 *)wmem_array_index(cap.frame_of, (guint)(engine_frame - 1));
}

/* Wire bytes escaped (ftpi_escape: printable ASCII, the rest as \xHH), in file scope. */
static const char *copy_escaped(struct ftpi_span s)
{
	if (s.len == 0 || s.ptr == NULL)
		return NULL;
	size_t len = s.len > 4096 ? 4096 : s.len;
	size_t cap_len = len * 4 + 1;
	char *out = (char *)wmem_alloc(wmem_file_scope(), cap_len);
	ftpi_escape(out, cap_len, s.ptr, len);
	return out;
}

/* Finding text is escaped by the library already (printable ASCII); escaping again would
 * double the backslashes, so copy it, replacing anything unexpected with '?'. */
static const char *copy_text(struct ftpi_span s)
{
	if (s.len == 0 || s.ptr == NULL)
		return NULL;
	char *out = (char *)wmem_alloc(wmem_file_scope(), s.len + 1);
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[s.len] = '\0';
	return out;
}

static const char *copy_cstr(const char *s)
{
	return s ? wmem_strdup(wmem_file_scope(), s) : NULL;
}

static const char *format_addr(const struct ftpi_addr *a)
{
	char buf[48];
	if (a->family == 0)
		return NULL;
	ftpi_addr_format(a, buf, sizeof buf);
	return wmem_strdup(wmem_file_scope(), buf);
}

static const char *format_endpoint(const struct ftpi_endpoint *ep)
{
	char buf[48];
	if (ep->addr.family == 0)
		return NULL;
	ftpi_addr_format(&ep->addr, buf, sizeof buf);
	if (ep->addr.family == 6)
		return wmem_strdup_printf(wmem_file_scope(), "[%s]:%u", buf, (unsigned)ep->port);
	return wmem_strdup_printf(wmem_file_scope(), "%s:%u", buf, (unsigned)ep->port);
}

static const char *format_findings(const struct ftpi_session_info *si)
{
	if (si->findings_order == NULL || si->findings_order_len == 0)
		return NULL;
	wmem_strbuf_t *sb = wmem_strbuf_new(wmem_file_scope(), "");
	for (size_t i = 0; i < si->findings_order_len; i++) {
		const char *name = ftpi_finding_name(si->findings_order[i]);
		if (name == NULL)
			continue;
		if (wmem_strbuf_get_len(sb))
			wmem_strbuf_append_c(sb, ',');
		wmem_strbuf_append(sb, name);
	}
	return wmem_strbuf_get_str(sb);
}

static void fill_event(struct fi_event *fe, const struct ftpi_event *ev)
{
	switch (ev->type) {
	case FTPI_EV_FINDING:
		fe->u.finding.kind = ev->u.finding.kind;
		fe->u.finding.severity = ev->u.finding.severity;
		fe->u.finding.message = copy_text(ev->u.finding.message);
		fe->u.finding.evidence = copy_text(ev->u.finding.evidence);
		break;
	case FTPI_EV_DATA:
		fe->u.data.link = ev->u.data.link;
		fe->u.data.announced_by = ev->u.data.announced_by;
		fe->u.data.active = ev->u.data.active;
		fe->u.data.status = ev->u.data.status;
		fe->u.data.tls = ev->u.data.tls;
		fe->u.data.nat_used = ev->u.data.nat_used;
		fe->u.data.command = copy_escaped(ev->u.data.command);
		fe->u.data.file = copy_escaped(ev->u.data.file);
		fe->u.data.to_server = ev->u.data.bytes_to_server;
		fe->u.data.to_client = ev->u.data.bytes_to_client;
		fe->u.data.announce_frame = ws_frame(ev->u.data.announce_frame);
		break;
	case FTPI_EV_EXPECT:
		fe->u.expect.announced_by = ev->u.expect.announced_by;
		fe->u.expect.active = ev->u.expect.active;
		fe->u.expect.ip = format_addr(&ev->u.expect.target.addr);
		fe->u.expect.port = ev->u.expect.target.port;
		if (ev->u.expect.has_reached)
			fe->u.expect.reached = format_addr(&ev->u.expect.reached.addr);
		break;
	case FTPI_EV_LOGIN:
		fe->u.login.user = copy_escaped(ev->u.login.user);
		fe->u.login.result = ev->u.login.result;
		fe->u.login.anonymous = ev->u.login.anonymous;
		fe->u.login.cleartext = ev->u.login.cleartext;
		break;
	case FTPI_EV_TLS:
		fe->u.tls.version = copy_cstr(ev->u.tls.version_name);
		fe->u.tls.cipher = copy_cstr(ev->u.tls.cipher_name);
		fe->u.tls.sni = copy_escaped(ev->u.tls.sni);
		fe->u.tls.subject = copy_escaped(ev->u.tls.cert_subject);
		fe->u.tls.issuer = copy_escaped(ev->u.tls.cert_issuer);
		break;
	case FTPI_EV_ANOMALY:
		fe->u.anomaly.kind = copy_escaped(ev->u.anomaly.kind);
		fe->u.anomaly.detail = copy_escaped(ev->u.anomaly.detail);
		break;
	case FTPI_EV_SESSION_START:
	case FTPI_EV_SESSION_END:
		fe->u.session.user = copy_escaped(ev->u.session.user);
		fe->u.session.findings = format_findings(&ev->u.session);
		fe->u.session.login = ev->u.session.login;
		fe->u.session.tls = ev->u.session.tls;
		fe->u.session.incomplete = ev->u.session.incomplete;
		fe->u.session.prot = ev->u.session.prot;
		fe->u.session.commands = ev->u.session.commands;
		fe->u.session.data_connections = ev->u.session.data_connections;
		break;
	default:
		break;
	}
}

/* The engine's callback: keep the events worth showing, on the frame that caused them. */
static int on_event(void *user _U_, const struct ftpi_event *ev)
{
	switch (ev->type) {
	case FTPI_EV_FINDING:
	case FTPI_EV_DATA:
	case FTPI_EV_EXPECT:
	case FTPI_EV_LOGIN:
	case FTPI_EV_TLS:
	case FTPI_EV_ANOMALY:
	case FTPI_EV_SESSION_START:
	case FTPI_EV_SESSION_END:
		break;
	default:
		return 0; /* commands and replies: the ftp dissector shows them */
	}
	if (cap.flushing) {
		cap.flush_findings += ev->type == FTPI_EV_FINDING;
		return 0;
	}
	guint32 frame = ws_frame(ev->frame);
	if (frame == 0) {
		cap.unattached++;
		return 0;
	}
	struct fi_event *fe = wmem_new0(wmem_file_scope(), struct fi_event);
	fe->type = ev->type;
	fe->session_id = ev->session_id;
	fe->client = format_endpoint(&ev->client);
	fe->server = format_endpoint(&ev->server);
	fill_event(fe, ev);

	/* Append, keeping the engine's order within the frame. */
	struct fi_event *head = (struct fi_event *)wmem_map_lookup(cap.frames,
								  GUINT_TO_POINTER(frame));
	if (head == NULL) {
		wmem_map_insert(cap.frames, GUINT_TO_POINTER(frame), fe);
	} else {
		while (head->next)
			head = head->next;
		head->next = fe;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */

static void init_capture(void)
{
	struct ftpi_config cfg;

	memset(&cap, 0, sizeof cap);
	cap.frames = wmem_map_new(wmem_file_scope(), g_direct_hash, g_direct_equal);
	cap.frame_of = wmem_array_new(wmem_file_scope(), sizeof(guint32));

	ftpi_config_init(&cfg);
	cfg.event_mask = FTPI_EVMASK_EXPECT | FTPI_EVMASK_ANOMALY | FTPI_EVMASK_TLS |
			 FTPI_EVMASK_LOGIN;
	cfg.on_event = on_event;
	cfg.user = NULL;
	cfg.hash_seed[0] = ((guint64)g_random_int() << 32) | g_random_int();
	cfg.hash_seed[1] = ((guint64)g_random_int() << 32) | g_random_int();
	if (pref_brute_force_threshold > 0)
		cfg.brute_force_threshold = pref_brute_force_threshold;
	if (pref_pasv_range && pref_pasv_range->nranges > 0) {
		/* The engine takes one agreed range: the first one given. */
		guint32 lo = pref_pasv_range->ranges[0].low, hi = pref_pasv_range->ranges[0].high;
		if (lo > 0 && hi >= lo && hi <= 65535) {
			cfg.pasv_min = (uint16_t)lo;
			cfg.pasv_max = (uint16_t)hi;
		}
	}
	cap.engine = ftpi_engine_new(&cfg, &cap.engine_status);
	if (cap.engine == NULL)
		ws_warning("ftpinspect: no engine: %s", ftpi_strerror(cap.engine_status));
}

static void cleanup_capture(void)
{
	/* Events the engine emits at flush have no frame to go to (the display is done by now):
	 * count the findings among them for the log, then drop everything. */
	if (cap.engine) {
		cap.flushing = 1;
		(void)ftpi_engine_flush(cap.engine);
		if (cap.flush_findings)
			ws_info("ftpinspect: %" G_GUINT64_FORMAT " finding(s) raised only at the end "
				"of the capture are not shown; run ftpinspect -r for them",
				cap.flush_findings);
		ws_debug("ftpinspect: %u frame(s) fed, %" G_GUINT64_FORMAT " not fed (link type), "
			 "%" G_GUINT64_FORMAT " event(s) without a frame",
			 cap.frame_of ? wmem_array_get_count(cap.frame_of) : 0u, cap.not_fed,
			 cap.unattached);
	}
	ftpi_engine_free(cap.engine);
	memset(&cap, 0, sizeof cap);
}

static void feed_frame(tvbuff_t *tvb, packet_info *pinfo)
{
	struct ftpi_packet pkt;

	if (cap.engine == NULL || pinfo->rec == NULL || pinfo->rec->rec_type != REC_TYPE_PACKET)
		return;
	if (pinfo->num <= cap.last_fed)
		return; /* first pass is in frame order; never feed a frame twice */
	cap.last_fed = pinfo->num;

	int dlt = dlt_for_encap(pinfo->rec->rec_header.packet_header.pkt_encap);
	if (dlt < 0) {
		cap.not_fed++;
		return;
	}
	memset(&pkt, 0, sizeof pkt);
	pkt.linktype = dlt;
	pkt.caplen = tvb_captured_length(tvb);
	pkt.wirelen = tvb_reported_length(tvb);
	if (pkt.wirelen < pkt.caplen)
		pkt.wirelen = pkt.caplen;
	pkt.data = pkt.caplen ? tvb_get_ptr(tvb, 0, pkt.caplen) : NULL;
	if (pinfo->abs_ts.secs > 0)
		pkt.ts_us = (uint64_t)pinfo->abs_ts.secs * 1000000u +
			    (uint64_t)(pinfo->abs_ts.nsecs / 1000);

	wmem_array_append_one(cap.frame_of, pinfo->num);
	/* FTPI_E_LINKTYPE cannot happen (the map only holds decoded types) and the callback never
	 * stops the engine; malformed packets are counted inside, never an error. */
	(void)ftpi_engine_feed(cap.engine, &pkt);
}

/* ------------------------------------------------------------------------------------------ */

static int expert_index(int severity)
{
	return (severity >= FTPI_SEV_INFO && severity <= FTPI_SEV_HIGH) ? severity : FTPI_SEV_INFO;
}

static const char *name_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static void add_str(proto_tree *tree, int hf, tvbuff_t *tvb, const char *s)
{
	if (s)
		proto_item_set_generated(proto_tree_add_string(tree, hf, tvb, 0, 0, s));
}

static void add_u64(proto_tree *tree, int hf, tvbuff_t *tvb, guint64 v)
{
	proto_item_set_generated(proto_tree_add_uint64(tree, hf, tvb, 0, 0, v));
}

static void add_bool(proto_tree *tree, int hf, tvbuff_t *tvb, int v)
{
	proto_item_set_generated(proto_tree_add_boolean(tree, hf, tvb, 0, 0, v ? 1 : 0));
}

static void show_event(tvbuff_t *tvb, packet_info *pinfo, proto_tree *top,
		       const struct fi_event *fe)
{
	const char *type = name_or(ftpi_event_type_name(fe->type), "?");
	proto_item *ti = proto_tree_add_string(top, hf_event, tvb, 0, 0, type);
	proto_tree *t = proto_item_add_subtree(ti, ett_event);
	proto_item_set_generated(ti);

	if (fe->session_id)
		add_u64(t, hf_session, tvb, fe->session_id);
	add_str(t, hf_client, tvb, fe->client);
	add_str(t, hf_server, tvb, fe->server);

	switch (fe->type) {
	case FTPI_EV_FINDING: {
		const char *kind = name_or(ftpi_finding_name(fe->u.finding.kind), "?");
		const char *sev = name_or(ftpi_severity_name(fe->u.finding.severity), "?");
		proto_item_set_text(ti, "Finding: %s (%s)%s%s", kind, sev,
				    fe->u.finding.message ? ": " : "",
				    name_or(fe->u.finding.message, ""));
		proto_item *fi = proto_tree_add_string(t, hf_finding, tvb, 0, 0, kind);
		proto_item_set_generated(fi);
		add_str(t, hf_severity, tvb, sev);
		add_str(t, hf_message, tvb, fe->u.finding.message);
		add_str(t, hf_evidence, tvb, fe->u.finding.evidence);
		expert_add_info_format(pinfo, fi, &ei_finding[expert_index(fe->u.finding.severity)],
				       "ftpinspect %s (%s): %s", kind, sev,
				       name_or(fe->u.finding.message, kind));
		if (pref_info_column)
			col_append_sep_fstr(pinfo->cinfo, COL_INFO, " ", "[ftpinspect: %s]", kind);
		break;
	}
	case FTPI_EV_DATA: {
		const char *link = name_or(ftpi_link_name(fe->u.data.link), "?");
		proto_item_set_text(ti, "Data connection: %s%s%s, %s", link,
				    fe->u.data.command ? " " : "", name_or(fe->u.data.command, ""),
				    name_or(ftpi_data_status_name(fe->u.data.status), "?"));
		add_str(t, hf_data_link, tvb, link);
		add_str(t, hf_data_announced_by, tvb, ftpi_announce_name(fe->u.data.announced_by));
		add_str(t, hf_data_mode, tvb, fe->u.data.active ? "active" : "passive");
		add_str(t, hf_data_command, tvb, fe->u.data.command);
		add_str(t, hf_data_file, tvb, fe->u.data.file);
		add_str(t, hf_data_status, tvb, ftpi_data_status_name(fe->u.data.status));
		add_bool(t, hf_data_tls, tvb, fe->u.data.tls);
		add_u64(t, hf_data_to_server, tvb, fe->u.data.to_server);
		add_u64(t, hf_data_to_client, tvb, fe->u.data.to_client);
		if (fe->u.data.nat_used == FTPI_NAT_ANNOUNCED)
			add_str(t, hf_data_used_address, tvb, "announced");
		else if (fe->u.data.nat_used == FTPI_NAT_REACHED)
			add_str(t, hf_data_used_address, tvb, "reached");
		if (fe->u.data.announce_frame)
			proto_item_set_generated(proto_tree_add_uint(t, hf_data_announce_frame, tvb,
								     0, 0,
								     fe->u.data.announce_frame));
		break;
	}
	case FTPI_EV_EXPECT:
		proto_item_set_text(ti, "Expect data connection: %s %s:%u",
				    name_or(ftpi_announce_name(fe->u.expect.announced_by), "?"),
				    name_or(fe->u.expect.ip, "?"), (unsigned)fe->u.expect.port);
		add_str(t, hf_expect_announced_by, tvb,
			ftpi_announce_name(fe->u.expect.announced_by));
		add_str(t, hf_expect_mode, tvb, fe->u.expect.active ? "active" : "passive");
		add_str(t, hf_expect_ip, tvb, fe->u.expect.ip);
		proto_item_set_generated(proto_tree_add_uint(t, hf_expect_port, tvb, 0, 0,
							     fe->u.expect.port));
		add_str(t, hf_expect_reached, tvb, fe->u.expect.reached);
		break;
	case FTPI_EV_LOGIN:
		proto_item_set_text(ti, "Login: %s %s", name_or(fe->u.login.user, "(no user)"),
				    name_or(ftpi_login_name(fe->u.login.result), "?"));
		add_str(t, hf_login_user, tvb, fe->u.login.user);
		add_str(t, hf_login_result, tvb, ftpi_login_name(fe->u.login.result));
		add_bool(t, hf_login_anonymous, tvb, fe->u.login.anonymous);
		add_bool(t, hf_login_cleartext, tvb, fe->u.login.cleartext);
		break;
	case FTPI_EV_TLS:
		proto_item_set_text(ti, "TLS: %s %s", name_or(fe->u.tls.version, "?"),
				    name_or(fe->u.tls.cipher, ""));
		add_str(t, hf_tls_version, tvb, fe->u.tls.version);
		add_str(t, hf_tls_cipher, tvb, fe->u.tls.cipher);
		add_str(t, hf_tls_sni, tvb, fe->u.tls.sni);
		add_str(t, hf_tls_cert_subject, tvb, fe->u.tls.subject);
		add_str(t, hf_tls_cert_issuer, tvb, fe->u.tls.issuer);
		break;
	case FTPI_EV_ANOMALY:
		proto_item_set_text(ti, "Anomaly: %s %s", name_or(fe->u.anomaly.kind, "?"),
				    name_or(fe->u.anomaly.detail, ""));
		add_str(t, hf_anomaly_kind, tvb, fe->u.anomaly.kind);
		add_str(t, hf_anomaly_detail, tvb, fe->u.anomaly.detail);
		break;
	case FTPI_EV_SESSION_START:
	case FTPI_EV_SESSION_END: {
		int end = fe->type == FTPI_EV_SESSION_END;
		char prot[2] = { fe->u.session.prot, '\0' };
		proto_item_set_text(ti, "Session %" G_GUINT64_FORMAT " %s", fe->session_id,
				    end ? "end" : "start");
		if (!end)
			break;
		add_str(t, hf_session_user, tvb, fe->u.session.user);
		add_str(t, hf_session_login, tvb, ftpi_login_name(fe->u.session.login));
		add_str(t, hf_session_tls, tvb, ftpi_tls_mode_name(fe->u.session.tls));
		if (fe->u.session.prot)
			add_str(t, hf_session_prot, tvb, prot);
		add_u64(t, hf_session_commands, tvb, fe->u.session.commands);
		add_u64(t, hf_session_data_connections, tvb, fe->u.session.data_connections);
		add_bool(t, hf_session_incomplete, tvb, fe->u.session.incomplete);
		add_str(t, hf_session_findings, tvb, fe->u.session.findings);
		break;
	}
	default:
		break;
	}
}

static int dissect_ftpinspect(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
			      void *data _U_)
{
	if (!PINFO_FD_VISITED(pinfo))
		feed_frame(tvb, pinfo);
	if (cap.frames == NULL)
		return 0;

	const struct fi_event *list = (const struct fi_event *)wmem_map_lookup(
		cap.frames, GUINT_TO_POINTER(pinfo->num));
	if (list == NULL)
		return 0;

	unsigned n_events = 0, n_findings = 0;
	for (const struct fi_event *fe = list; fe; fe = fe->next) {
		n_events++;
		n_findings += fe->type == FTPI_EV_FINDING;
	}
	proto_item *ti = proto_tree_add_item(tree, proto_ftpinspect, tvb, 0, 0, ENC_NA);
	proto_item_append_text(ti, ": %u event%s, %u finding%s", n_events,
			       n_events == 1 ? "" : "s", n_findings, n_findings == 1 ? "" : "s");
	proto_item_set_generated(ti);
	proto_tree *top = proto_item_add_subtree(ti, ett_ftpinspect);
	for (const struct fi_event *fe = list; fe; fe = fe->next)
		show_event(tvb, pinfo, top, fe);
	return tvb_captured_length(tvb);
}

/* ------------------------------------------------------------------------------------------ */

#define HF_STR(id, name, abbrev, blurb)                                                         \
	{ &(id), { (name), (abbrev), FT_STRING, BASE_NONE, NULL, 0x0, (blurb), HFILL } }
#define HF_U64(id, name, abbrev, blurb)                                                         \
	{ &(id), { (name), (abbrev), FT_UINT64, BASE_DEC, NULL, 0x0, (blurb), HFILL } }
#define HF_BOOL(id, name, abbrev, blurb)                                                        \
	{ &(id), { (name), (abbrev), FT_BOOLEAN, BASE_NONE, NULL, 0x0, (blurb), HFILL } }

static void proto_register_ftpinspect(void)
{
	static hf_register_info hf[] = {
		HF_STR(hf_event, "Event", "ftpinspect.event",
		       "ftpinspect event type (finding, data, expect, login, tls, anomaly, ...)"),
		HF_U64(hf_session, "Session", "ftpinspect.session",
		       "Control session id, unique within the capture"),
		HF_STR(hf_client, "Client", "ftpinspect.client", "Client endpoint, ip:port"),
		HF_STR(hf_server, "Server", "ftpinspect.server", "Server endpoint, ip:port"),
		HF_STR(hf_finding, "Finding", "ftpinspect.finding",
		       "Stable finding id, e.g. plaintext_auth"),
		HF_STR(hf_severity, "Severity", "ftpinspect.severity", "info, low, medium or high"),
		HF_STR(hf_message, "Message", "ftpinspect.message", NULL),
		HF_STR(hf_evidence, "Evidence", "ftpinspect.evidence",
		       "Wire evidence (passwords as ***)"),
		HF_STR(hf_data_link, "Link", "ftpinspect.data.link",
		       "How the data connection was tied to its session"),
		HF_STR(hf_data_announced_by, "Announced by", "ftpinspect.data.announced_by",
		       "PORT, EPRT, LPRT, PASV, EPSV or LPSV"),
		HF_STR(hf_data_mode, "Mode", "ftpinspect.data.mode", "active or passive"),
		HF_STR(hf_data_command, "Command", "ftpinspect.data.command", NULL),
		HF_STR(hf_data_file, "File", "ftpinspect.data.file", NULL),
		HF_STR(hf_data_status, "Status", "ftpinspect.data.status",
		       "completed, aborted, failed or unknown"),
		HF_BOOL(hf_data_tls, "TLS", "ftpinspect.data.tls",
			"The first payload bytes are a TLS handshake"),
		HF_U64(hf_data_to_server, "Bytes to server", "ftpinspect.data.bytes_to_server",
		       NULL),
		HF_U64(hf_data_to_client, "Bytes to client", "ftpinspect.data.bytes_to_client",
		       NULL),
		HF_STR(hf_data_used_address, "Used address", "ftpinspect.data.used_address",
		       "NAT: the announced or the reached server address"),
		{ &hf_data_announce_frame,
		  { "Announced in", "ftpinspect.data.announce_frame", FT_FRAMENUM, BASE_NONE,
		    NULL, 0x0, "Frame of the PORT/EPRT/227/229 that announced it", HFILL } },
		HF_STR(hf_expect_announced_by, "Announced by", "ftpinspect.expect.announced_by",
		       NULL),
		HF_STR(hf_expect_mode, "Mode", "ftpinspect.expect.mode", "active or passive"),
		HF_STR(hf_expect_ip, "Address", "ftpinspect.expect.ip",
		       "Where the data connection should go"),
		{ &hf_expect_port,
		  { "Port", "ftpinspect.expect.port", FT_UINT16, BASE_DEC, NULL, 0x0, NULL,
		    HFILL } },
		HF_STR(hf_expect_reached, "Reached address", "ftpinspect.expect.reached",
		       "NAT: the server address the client reached"),
		HF_STR(hf_login_user, "User", "ftpinspect.login.user", NULL),
		HF_STR(hf_login_result, "Result", "ftpinspect.login.result", "success or failed"),
		HF_BOOL(hf_login_anonymous, "Anonymous", "ftpinspect.login.anonymous", NULL),
		HF_BOOL(hf_login_cleartext, "Clear text", "ftpinspect.login.cleartext", NULL),
		HF_STR(hf_tls_version, "Version", "ftpinspect.tls.version", NULL),
		HF_STR(hf_tls_cipher, "Cipher", "ftpinspect.tls.cipher", NULL),
		HF_STR(hf_tls_sni, "SNI", "ftpinspect.tls.sni", NULL),
		HF_STR(hf_tls_cert_subject, "Certificate subject", "ftpinspect.tls.cert_subject",
		       NULL),
		HF_STR(hf_tls_cert_issuer, "Certificate issuer", "ftpinspect.tls.cert_issuer",
		       NULL),
		HF_STR(hf_anomaly_kind, "Kind", "ftpinspect.anomaly.kind", NULL),
		HF_STR(hf_anomaly_detail, "Detail", "ftpinspect.anomaly.detail", NULL),
		HF_STR(hf_session_user, "User", "ftpinspect.session.user", NULL),
		HF_STR(hf_session_login, "Login", "ftpinspect.session.login",
		       "success, failed or none"),
		HF_STR(hf_session_tls, "TLS", "ftpinspect.session.tls", "none, explicit, implicit"),
		HF_STR(hf_session_prot, "PROT", "ftpinspect.session.prot", "Last accepted PROT"),
		HF_U64(hf_session_commands, "Commands", "ftpinspect.session.commands", NULL),
		HF_U64(hf_session_data_connections, "Data connections",
		       "ftpinspect.session.data_connections", NULL),
		HF_BOOL(hf_session_incomplete, "Incomplete", "ftpinspect.session.incomplete",
			"A gap, a mid-stream start or a cap made part of the session unreadable"),
		HF_STR(hf_session_findings, "Findings", "ftpinspect.session.findings",
		       "Kinds raised for the session, in first-raised order"),
	};
	static gint *ett[] = { &ett_ftpinspect, &ett_event };
	static ei_register_info ei[] = {
		{ &ei_finding[FTPI_SEV_INFO],
		  { "ftpinspect.finding.info", PI_SECURITY, PI_CHAT,
		    "ftpinspect finding (info)", EXPFILL } },
		{ &ei_finding[FTPI_SEV_LOW],
		  { "ftpinspect.finding.low", PI_SECURITY, PI_NOTE,
		    "ftpinspect finding (low)", EXPFILL } },
		{ &ei_finding[FTPI_SEV_MEDIUM],
		  { "ftpinspect.finding.medium", PI_SECURITY, PI_WARN,
		    "ftpinspect finding (medium)", EXPFILL } },
		{ &ei_finding[FTPI_SEV_HIGH],
		  { "ftpinspect.finding.high", PI_SECURITY, PI_ERROR,
		    "ftpinspect finding (high)", EXPFILL } },
	};

	proto_ftpinspect = proto_register_protocol("ftpinspect FTP/FTPS security review",
						   "ftpinspect", "ftpinspect");
	proto_register_field_array(proto_ftpinspect, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));
	expert_module_t *em = expert_register_protocol(proto_ftpinspect);
	expert_register_field_array(em, ei, array_length(ei));

	module_t *m = prefs_register_protocol(proto_ftpinspect, NULL);
	prefs_register_bool_preference(m, "info_column", "Show findings in the Info column",
				       "Append [ftpinspect: kind] to the Info column of frames "
				       "that raised a finding",
				       &pref_info_column);
	pref_pasv_range = range_empty(wmem_epan_scope());
	prefs_register_range_preference(m, "pasv_range", "Agreed passive port range",
					"Passive data ports the servers should use (e.g. "
					"40000-40100); ports outside raise "
					"pasv_port_out_of_policy. Empty: no policy. Only the first "
					"range is used.",
					&pref_pasv_range, 65535);
	prefs_register_uint_preference(m, "brute_force_threshold", "Brute-force threshold",
				       "Failed logins from one client address within the "
				       "library's window (5 minutes) that raise brute_force; 0 "
				       "keeps the library's default (5)",
				       10, &pref_brute_force_threshold);

	register_init_routine(init_capture);
	register_cleanup_routine(cleanup_capture);
	build_link_map();

	dissector_handle_t h = create_dissector_handle(dissect_ftpinspect, proto_ftpinspect);
	register_postdissector(h);
}

void plugin_register(void)
{
	static proto_plugin plugin;

	plugin.register_protoinfo = proto_register_ftpinspect;
	plugin.register_handoff = NULL;
	proto_register_plugin(&plugin);
}

#if WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 2)
/* Wireshark 4.2 and later also ask what kind of plugin this is. */
#include <wsutil/plugins.h>
WS_DLL_PUBLIC uint32_t plugin_describe(void);
uint32_t plugin_describe(void)
{
	return WS_PLUGIN_DESC_DISSECTOR;
}
#endif
