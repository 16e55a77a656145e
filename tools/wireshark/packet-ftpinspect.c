/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * packet-ftpinspect.c - a Wireshark 4.0 postdissector that runs libftpinspect over the capture
 * and shows what it reports on the frames that caused it: findings (one Expert Information entry
 * per finding kind, in the Security group), data-connection links, expectations, logins, TLS
 * handshakes, anomalies and session starts/ends, as filterable fields under "ftpinspect.", with
 * frame links (FT_FRAMENUM) to the frames a finding or event concerns, a session summary on every
 * frame of a session, and a tap ("ftpinspect") behind two Statistics trees.
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
#include <epan/stats_tree.h>
#include <epan/tap.h>
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
static int ftpi_tap = -1;

static int hf_event = -1;
static int hf_session = -1;
static int hf_client = -1;
static int hf_client_ip = -1;
static int hf_client_ipv6 = -1;
static int hf_client_port = -1;
static int hf_server = -1;
static int hf_server_ip = -1;
static int hf_server_ipv6 = -1;
static int hf_server_port = -1;
static int hf_conn_frame = -1;
static int hf_tcp_stream = -1;
static int hf_finding = -1;
static int hf_finding_sev[4] = { -1, -1, -1, -1 };
static int hf_finding_announce_frame = -1;
static int hf_finding_cert_frame = -1;
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
static int hf_session_first_frame = -1;
static int hf_session_summary_frame = -1;
static int hf_session_user = -1;
static int hf_session_login = -1;
static int hf_session_tls = -1;
static int hf_session_prot = -1;
static int hf_session_commands = -1;
static int hf_session_data_connections = -1;
static int hf_session_incomplete = -1;
static int hf_session_findings = -1;

/* Other protocols' fields the postdissector reads (set_postdissector_wanted_hfids). */
static int hf_ws_tcp_stream = -1;
static int hf_ws_tls_certificate = -1;

static gint ett_ftpinspect = -1;
static gint ett_event = -1;
static gint ett_session = -1;
static gint ett_message = -1;

/* One expert entry per finding kind (Wireshark groups Expert Information by entry). */
static expert_field ei_finding[FTPI_FINDING__COUNT];

/* Preferences. */
static gboolean pref_info_column = TRUE;
static gint pref_info_min_severity = FTPI_SEV_LOW;
static range_t *pref_pasv_range;
static guint pref_brute_force_threshold; /* 0: the library's default */

/* Link types: the WTAP_ENCAP value of each DLT the engine decodes (first DLT wins). */
#define MAX_LINKS 32
static struct {
	int encap;
	int dlt;
} link_map[MAX_LINKS];
static size_t n_link_map;

/* Finding kinds in words, for Expert Information and the tree. Indexed by the kind. */
static const char *const finding_titles[FTPI_FINDING__COUNT] = {
	[FTPI_FINDING_PLAINTEXT_AUTH] = "Credentials sent in clear text",
	[FTPI_FINDING_ANONYMOUS_LOGIN] = "Anonymous login",
	[FTPI_FINDING_FAILED_LOGIN] = "Failed login",
	[FTPI_FINDING_BRUTE_FORCE] = "Repeated failed logins (brute force)",
	[FTPI_FINDING_AUTH_TLS_REFUSED] = "Server refused AUTH TLS",
	[FTPI_FINDING_CLEARTEXT_DATA] = "File data transferred in clear text",
	[FTPI_FINDING_CCC_DOWNGRADE] = "Control channel downgraded to clear text (CCC)",
	[FTPI_FINDING_ACTIVE_MODE] = "Active-mode data connection",
	[FTPI_FINDING_BOUNCE] = "FTP bounce: data connection to a third host",
	[FTPI_FINDING_NAT_PRIVATE_PASV] = "Passive reply announces a private address",
	[FTPI_FINDING_PASV_PORT_OUT_OF_POLICY] = "Passive port outside the agreed range",
	[FTPI_FINDING_HOST_NOT_ALLOWED] = "Host not in the allowed list",
	[FTPI_FINDING_IMPLICIT_TLS] = "Implicit TLS (FTPS)",
	[FTPI_FINDING_ENCRYPTED_CONTROL] = "Control channel encrypted",
	[FTPI_FINDING_PROTOCOL_ANOMALY] = "FTP protocol anomaly",
	[FTPI_FINDING_DATA_IP_MISMATCH] = "Data connection from another address than announced",
	[FTPI_FINDING_DATA_CONNECTION_MISSING] = "Announced data connection never came",
	[FTPI_FINDING_UNEXPECTED_DATA_CONNECTION] = "Data connection that no session announced",
	[FTPI_FINDING_TLS_CERT_SELF_SIGNED] = "Self-signed TLS certificate",
	[FTPI_FINDING_TLS_CERT_EXPIRED] = "Expired TLS certificate",
	[FTPI_FINDING_TLS_CERT_UNTRUSTED] = "Untrusted TLS certificate",
	[FTPI_FINDING_TLS_CERT_NAME_MISMATCH] = "TLS certificate name does not match the server",
	[FTPI_FINDING_TLS_WEAK_VERSION] = "Weak TLS version",
	[FTPI_FINDING_TLS_WEAK_CIPHER] = "Weak TLS cipher suite",
	[FTPI_FINDING_TLS_CERT_NOT_VISIBLE] = "TLS certificate not visible (TLS 1.3)",
};

static const char *finding_title(int kind)
{
	if (kind >= 0 && kind < FTPI_FINDING__COUNT && finding_titles[kind])
		return finding_titles[kind];
	const char *id = ftpi_finding_name(kind);
	return id ? id : "Unknown finding";
}

/* Plain words for the enum names the JSON output uses, indexed by the enum value. */
static const char *const link_texts[] = {
	[FTPI_LINK_NONE] = "no session announced it",
	[FTPI_LINK_ANNOUNCED] = "announced on the control channel (PORT/EPRT/PASV/EPSV reply)",
	[FTPI_LINK_INFERRED] =
		"inferred: control channel encrypted, matched by hosts, passive range and time",
	[FTPI_LINK_TLS_RESUMPTION] = "its TLS handshake resumes the control channel's TLS session",
	[FTPI_LINK_TLS_PSK] =
		"TLS 1.3: same pre-shared key as the session's other data connections",
};
static const char *const status_texts[] = {
	[FTPI_DATA_UNKNOWN] = "no final reply seen",
	[FTPI_DATA_COMPLETED] = "transfer completed (226/250 reply)",
	[FTPI_DATA_ABORTED] = "transfer aborted (425/426/451 reply)",
	[FTPI_DATA_FAILED] = "transfer failed (4xx/5xx reply)",
};

static const char *words(const char *const *texts, size_t n, int v)
{
	return (v >= 0 && (size_t)v < n && texts[v]) ? texts[v] : "?";
}

#define link_words(v) words(link_texts, array_length(link_texts), (v))
#define status_words(v) words(status_texts, array_length(status_texts), (v))

/* One TCP connection of the capture, keyed by its two endpoints (lower endpoint first). */
struct fi_conn_key {
	guint8 family; /* 4 or 6 */
	guint8 ip[2][16];
	guint16 port[2];
};

struct fi_conn {
	struct fi_conn_key key; /* first: the map's key points here */
	guint32 first_frame;	/* first frame seen of the connection */
	guint32 cert_frame;	/* first frame with a TLS Certificate message, 0 = none */
	guint32 stream;		/* tcp.stream of the first frame */
	gboolean has_stream;
	guint64 session_id; /* the control session it belongs to, 0 = not known (yet) */
};

/* What a session's frames show (session start and, once it ended, its summary). */
struct fi_session {
	guint64 id;
	guint32 first_frame, summary_frame; /* 0 = not (yet) known */
	const char *client, *server;
	const char *user, *findings;
	int login, tls, incomplete;
	char prot;
	guint64 commands, data_connections;
};

/* What one event left for its frame, copied out of the callback into file scope. */
struct fi_event {
	struct fi_event *next;
	int type; /* enum ftpi_event_type */
	guint64 session_id;
	struct ftpi_endpoint client_ep, server_ep;
	const char *client, *server; /* "ip:port" or NULL */
	guint32 conn_frame;	     /* first frame of the client-server connection, 0 = none */
	guint32 stream;		     /* its tcp.stream, valid when has_stream */
	gboolean has_stream;
	union {
		struct {
			int kind, severity;
			const char *message, *evidence;
			guint32 announce_frame, cert_frame; /* frames it concerns, 0 = none */
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
	} u;
};

/* Per dissection run (one capture file): created by the init routine, freed by the cleanup
 * routine. Maps and arrays are in wmem file scope. */
static struct {
	ftpi_engine *engine;
	int engine_status;     /* ftpi_engine_new() status when engine is NULL */
	wmem_map_t *frames;    /* Wireshark frame number -> struct fi_event list */
	wmem_map_t *conns;     /* struct fi_conn_key -> struct fi_conn */
	wmem_map_t *sessions;  /* session id -> struct fi_session */
	wmem_map_t *expects;   /* announced target (struct fi_conn_key, one endpoint) -> frame */
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

/* ------------------------------------------------------------------------------------------ */

static void conn_key_set(struct fi_conn_key *k, int family, const guint8 *ip_a, guint16 port_a,
			 const guint8 *ip_b, guint16 port_b)
{
	size_t n = family == 6 ? 16 : 4;
	int c = memcmp(ip_a, ip_b, n);
	int swap = c > 0 || (c == 0 && port_a > port_b);

	memset(k, 0, sizeof *k);
	k->family = (guint8)family;
	memcpy(k->ip[0], swap ? ip_b : ip_a, n);
	memcpy(k->ip[1], swap ? ip_a : ip_b, n);
	k->port[0] = swap ? port_b : port_a;
	k->port[1] = swap ? port_a : port_b;
}

static guint conn_hash(gconstpointer p)
{
	const guint8 *b = (const guint8 *)p;
	guint32 h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < sizeof(struct fi_conn_key); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static gboolean conn_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(struct fi_conn_key)) == 0;
}

/* The connection of the frame's innermost IP/TCP headers, created when asked. */
static struct fi_conn *conn_of_frame(packet_info *pinfo, gboolean create)
{
	struct fi_conn_key k;
	const address *s = &pinfo->net_src, *d = &pinfo->net_dst;

	if (cap.conns == NULL || pinfo->ptype != PT_TCP || s->type != d->type)
		return NULL;
	if (s->type == AT_IPv4 && s->len == 4 && d->len == 4)
		conn_key_set(&k, 4, (const guint8 *)s->data, (guint16)pinfo->srcport,
			     (const guint8 *)d->data, (guint16)pinfo->destport);
	else if (s->type == AT_IPv6 && s->len == 16 && d->len == 16)
		conn_key_set(&k, 6, (const guint8 *)s->data, (guint16)pinfo->srcport,
			     (const guint8 *)d->data, (guint16)pinfo->destport);
	else
		return NULL;
	struct fi_conn *c = (struct fi_conn *)wmem_map_lookup(cap.conns, &k);
	if (c == NULL && create) {
		c = wmem_new0(wmem_file_scope(), struct fi_conn);
		c->key = k;
		c->first_frame = pinfo->num;
		wmem_map_insert(cap.conns, &c->key, c);
	}
	return c;
}

/* The connection between two endpoints of an event, or NULL. */
static struct fi_conn *conn_of_endpoints(const struct ftpi_endpoint *a,
					 const struct ftpi_endpoint *b)
{
	struct fi_conn_key k;

	if (cap.conns == NULL || a->addr.family == 0 || a->addr.family != b->addr.family)
		return NULL;
	conn_key_set(&k, a->addr.family, a->addr.ip, a->port, b->addr.ip, b->port);
	return (struct fi_conn *)wmem_map_lookup(cap.conns, &k);
}

/* Announced data-connection targets: the frame of the last PORT/EPRT/227/229 naming each. */
static void target_key(struct fi_conn_key *k, const struct ftpi_endpoint *ep)
{
	memset(k, 0, sizeof *k);
	k->family = ep->addr.family;
	memcpy(k->ip[0], ep->addr.ip, sizeof ep->addr.ip);
	k->port[0] = ep->port;
}

static void expect_note(const struct ftpi_endpoint *target, guint32 frame)
{
	struct fi_conn_key *k = wmem_new(wmem_file_scope(), struct fi_conn_key);

	if (cap.expects == NULL || target->addr.family == 0 || frame == 0)
		return;
	target_key(k, target);
	wmem_map_insert(cap.expects, k, GUINT_TO_POINTER(frame));
}

static guint32 expect_frame(const struct ftpi_endpoint *target)
{
	struct fi_conn_key k;

	if (cap.expects == NULL || target->addr.family == 0)
		return 0;
	target_key(&k, target);
	return GPOINTER_TO_UINT(wmem_map_lookup(cap.expects, &k));
}

/* First pass: the connection's first frame, TCP stream and TLS certificate frame, read from
 * the tree the TCP and TLS dissectors built (the fields are asked for at registration). */
static void note_conn(packet_info *pinfo, proto_tree *tree)
{
	struct fi_conn *c = conn_of_frame(pinfo, TRUE);
	GPtrArray *fis;

	if (c == NULL || tree == NULL)
		return;
	if (!c->has_stream && hf_ws_tcp_stream > 0) {
		fis = proto_find_first_finfo(tree, hf_ws_tcp_stream);
		if (fis && fis->len > 0) {
			field_info *fi = (field_info *)g_ptr_array_index(fis, 0);
			c->stream = fvalue_get_uinteger(&fi->value);
			c->has_stream = TRUE;
		}
	}
	if (c->cert_frame == 0 && hf_ws_tls_certificate > 0) {
		fis = proto_find_first_finfo(tree, hf_ws_tls_certificate);
		if (fis && fis->len > 0)
			c->cert_frame = pinfo->num;
	}
}

static struct fi_session *session_get(guint64 id, gboolean create)
{
	if (cap.sessions == NULL || id == 0)
		return NULL;
	struct fi_session *s = (struct fi_session *)wmem_map_lookup(cap.sessions, &id);
	if (s == NULL && create) {
		s = wmem_new0(wmem_file_scope(), struct fi_session);
		s->id = id;
		wmem_map_insert(cap.sessions, &s->id, s);
	}
	return s;
}

/* data_connection_missing names the announcing frame in its evidence ("... announced in frame
 * N", the engine's frame number): the frame link to the PORT/227/229. */
static guint32 evidence_announce_frame(struct ftpi_span ev)
{
	static const char tag[] = "announced in frame ";
	const size_t tl = sizeof tag - 1;

	for (size_t i = 0; ev.ptr && i + tl < ev.len; i++) {
		if (memcmp(ev.ptr + i, tag, tl) != 0)
			continue;
		guint64 n = 0;
		for (size_t j = i + tl; j < ev.len && ev.ptr[j] >= '0' && ev.ptr[j] <= '9'; j++)
			n = n * 10 + (guint64)(ev.ptr[j] - '0');
		return ws_frame(n);
	}
	return 0;
}

static int is_cert_finding(int kind)
{
	return kind == FTPI_FINDING_TLS_CERT_SELF_SIGNED || kind == FTPI_FINDING_TLS_CERT_EXPIRED ||
	       kind == FTPI_FINDING_TLS_CERT_UNTRUSTED ||
	       kind == FTPI_FINDING_TLS_CERT_NAME_MISMATCH;
}

static void fill_event(struct fi_event *fe, const struct ftpi_event *ev, struct fi_conn *conn)
{
	struct fi_session *s;

	switch (ev->type) {
	case FTPI_EV_FINDING:
		fe->u.finding.kind = ev->u.finding.kind;
		fe->u.finding.severity = ev->u.finding.severity;
		fe->u.finding.message = copy_text(ev->u.finding.message);
		fe->u.finding.evidence = copy_text(ev->u.finding.evidence);
		if (ev->u.finding.kind == FTPI_FINDING_DATA_CONNECTION_MISSING ||
		    ev->u.finding.kind == FTPI_FINDING_DATA_IP_MISMATCH) {
			/* An expired expectation's evidence names the frame; otherwise the
			 * announced target is the data connection's server endpoint. */
			fe->u.finding.announce_frame =
				evidence_announce_frame(ev->u.finding.evidence);
			if (fe->u.finding.announce_frame == 0)
				fe->u.finding.announce_frame = expect_frame(&ev->server);
		}
		if (is_cert_finding(ev->u.finding.kind) && conn)
			fe->u.finding.cert_frame = conn->cert_frame;
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
		if (conn && ev->session_id)
			conn->session_id = ev->session_id;
		break;
	case FTPI_EV_EXPECT:
		fe->u.expect.announced_by = ev->u.expect.announced_by;
		fe->u.expect.active = ev->u.expect.active;
		fe->u.expect.ip = format_addr(&ev->u.expect.target.addr);
		fe->u.expect.port = ev->u.expect.target.port;
		if (ev->u.expect.has_reached)
			fe->u.expect.reached = format_addr(&ev->u.expect.reached.addr);
		expect_note(&ev->u.expect.target, ws_frame(ev->frame));
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
		s = session_get(ev->session_id, TRUE);
		if (s == NULL)
			break;
		if (conn)
			conn->session_id = ev->session_id;
		s->client = fe->client;
		s->server = fe->server;
		if (ev->type == FTPI_EV_SESSION_START) {
			/* The session starts with its control connection (the SYN), when seen. */
			s->first_frame = conn ? conn->first_frame : ws_frame(ev->frame);
			break;
		}
		if (s->first_frame == 0 && conn)
			s->first_frame = conn->first_frame;
		s->summary_frame = ws_frame(ev->frame);
		s->user = copy_escaped(ev->u.session.user);
		s->findings = format_findings(&ev->u.session);
		s->login = ev->u.session.login;
		s->tls = ev->u.session.tls;
		s->incomplete = ev->u.session.incomplete;
		s->prot = ev->u.session.prot;
		s->commands = ev->u.session.commands;
		s->data_connections = ev->u.session.data_connections;
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
	struct fi_conn *conn = conn_of_endpoints(&ev->client, &ev->server);
	fe->type = ev->type;
	fe->session_id = ev->session_id;
	fe->client_ep = ev->client;
	fe->server_ep = ev->server;
	fe->client = format_endpoint(&ev->client);
	fe->server = format_endpoint(&ev->server);
	if (conn) {
		fe->conn_frame = conn->first_frame;
		fe->stream = conn->stream;
		fe->has_stream = conn->has_stream;
	}
	fill_event(fe, ev, conn);

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

static void init_capture(void)
{
	struct ftpi_config cfg;

	memset(&cap, 0, sizeof cap);
	cap.frames = wmem_map_new(wmem_file_scope(), g_direct_hash, g_direct_equal);
	cap.conns = wmem_map_new(wmem_file_scope(), conn_hash, conn_equal);
	cap.sessions = wmem_map_new(wmem_file_scope(), g_int64_hash, g_int64_equal);
	cap.expects = wmem_map_new(wmem_file_scope(), conn_hash, conn_equal);
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

static const char *name_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static proto_item *add_str(proto_tree *tree, int hf, tvbuff_t *tvb, const char *s)
{
	if (s == NULL)
		return NULL;
	proto_item *it = proto_tree_add_string(tree, hf, tvb, 0, 0, s);
	proto_item_set_generated(it);
	return it;
}

static void add_u64(proto_tree *tree, int hf, tvbuff_t *tvb, guint64 v)
{
	proto_item_set_generated(proto_tree_add_uint64(tree, hf, tvb, 0, 0, v));
}

static void add_bool(proto_tree *tree, int hf, tvbuff_t *tvb, int v)
{
	proto_item_set_generated(proto_tree_add_boolean(tree, hf, tvb, 0, 0, v ? 1 : 0));
}

static void add_frame(proto_tree *tree, int hf, tvbuff_t *tvb, guint32 frame)
{
	if (frame)
		proto_item_set_generated(proto_tree_add_uint(tree, hf, tvb, 0, 0, frame));
}

/* The endpoint as text plus typed, hidden fields (ip or ipv6, port) for filters such as
 * ftpinspect.client.ip == 192.0.2.0/24. */
static void add_endpoint(proto_tree *t, tvbuff_t *tvb, const char *text,
			 const struct ftpi_endpoint *ep, int hf_text, int hf_ip, int hf_ipv6,
			 int hf_port)
{
	proto_item *it;

	if (add_str(t, hf_text, tvb, text) == NULL)
		return;
	if (ep->addr.family == 4) {
		guint32 v4;
		memcpy(&v4, ep->addr.ip, 4); /* network order, as FT_IPv4 wants */
		it = proto_tree_add_ipv4(t, hf_ip, tvb, 0, 0, v4);
	} else {
		ws_in6_addr v6;
		memcpy(v6.bytes, ep->addr.ip, 16);
		it = proto_tree_add_ipv6(t, hf_ipv6, tvb, 0, 0, &v6);
	}
	proto_item_set_generated(it);
	proto_item_set_hidden(it);
	it = proto_tree_add_uint(t, hf_port, tvb, 0, 0, ep->port);
	proto_item_set_generated(it);
	proto_item_set_hidden(it);
}

/* Labels stop at ITEM_LABEL_LENGTH (240): a long message is shown in lines of this size. */
#define MESSAGE_LINE 180

static void show_finding(tvbuff_t *tvb, packet_info *pinfo, proto_item *ti, proto_tree *t,
			 const struct fi_event *fe)
{
	int kind = fe->u.finding.kind, sev = fe->u.finding.severity;
	const char *id = name_or(ftpi_finding_name(kind), "?");
	const char *sevname = name_or(ftpi_severity_name(sev), "?");
	const char *msg = fe->u.finding.message;
	size_t msg_len = msg ? strlen(msg) : 0;

	proto_item_set_text(ti, "Finding: %s [%s]", finding_title(kind), sevname);
	/* The expert item carries the message; it is the only place the message is shown
	 * unless it is too long for one label. */
	if (kind >= 0 && kind < FTPI_FINDING__COUNT)
		expert_add_info_format(pinfo, ti, &ei_finding[kind], "%s",
				       msg ? msg : finding_title(kind));
	add_str(t, hf_finding, tvb, id);
	if (sev >= FTPI_SEV_INFO && sev <= FTPI_SEV_HIGH) {
		proto_item *h = proto_tree_add_item(t, hf_finding_sev[sev], tvb, 0, 0, ENC_NA);
		proto_item_set_generated(h);
		proto_item_set_hidden(h);
	}
	add_str(t, hf_severity, tvb, sevname);
	proto_item *mi = add_str(t, hf_message, tvb, msg);
	if (mi && msg_len <= MESSAGE_LINE) {
		proto_item_set_hidden(mi);
	} else if (mi) {
		proto_tree *mt = proto_item_add_subtree(mi, ett_message);
		proto_item_set_text(mi, "Message (%zu characters, in lines):", msg_len);
		for (size_t off = 0; off < msg_len; off += MESSAGE_LINE)
			proto_tree_add_subtree_format(mt, tvb, 0, 0, ett_message, NULL, "%.*s",
						      MESSAGE_LINE, msg + off);
	}
	add_str(t, hf_evidence, tvb, fe->u.finding.evidence);
	add_frame(t, hf_finding_announce_frame, tvb, fe->u.finding.announce_frame);
	add_frame(t, hf_finding_cert_frame, tvb, fe->u.finding.cert_frame);
	if (pref_info_column && sev >= pref_info_min_severity)
		col_append_sep_fstr(pinfo->cinfo, COL_INFO, " ", "[ftpinspect: %s]", id);
}

static void show_data(tvbuff_t *tvb, proto_item *ti, proto_tree *t, const struct fi_event *fe)
{
	const char *link = name_or(ftpi_link_name(fe->u.data.link), "?");
	const char *status = name_or(ftpi_data_status_name(fe->u.data.status), "unknown");
	proto_item *it;

	proto_item_set_text(ti, "Data connection%s%s: %s, %s",
			    fe->u.data.command ? " for " : "", name_or(fe->u.data.command, ""),
			    fe->u.data.link == FTPI_LINK_NONE ? "not announced" : "linked",
			    status_words(fe->u.data.status));
	it = add_str(t, hf_data_link, tvb, link);
	proto_item_append_text(it, " (%s)", link_words(fe->u.data.link));
	add_str(t, hf_data_announced_by, tvb, ftpi_announce_name(fe->u.data.announced_by));
	add_frame(t, hf_data_announce_frame, tvb, fe->u.data.announce_frame);
	add_str(t, hf_data_mode, tvb, fe->u.data.active ? "active" : "passive");
	add_str(t, hf_data_command, tvb, fe->u.data.command);
	add_str(t, hf_data_file, tvb, fe->u.data.file);
	it = add_str(t, hf_data_status, tvb, status);
	proto_item_append_text(it, " (%s)", status_words(fe->u.data.status));
	add_bool(t, hf_data_tls, tvb, fe->u.data.tls);
	add_u64(t, hf_data_to_server, tvb, fe->u.data.to_server);
	add_u64(t, hf_data_to_client, tvb, fe->u.data.to_client);
	if (fe->u.data.nat_used == FTPI_NAT_ANNOUNCED) {
		it = add_str(t, hf_data_used_address, tvb, "announced");
		proto_item_append_text(it, " (the client used the address the server announced)");
	} else if (fe->u.data.nat_used == FTPI_NAT_REACHED) {
		it = add_str(t, hf_data_used_address, tvb, "reached");
		proto_item_append_text(it, " (the client ignored the announced address and used "
					   "the one it reached the server on: NAT)");
	}
}

static void show_event(tvbuff_t *tvb, packet_info *pinfo, proto_tree *top,
		       const struct fi_event *fe, guint64 frame_session)
{
	const char *type = name_or(ftpi_event_type_name(fe->type), "?");
	proto_item *ti = proto_tree_add_string(top, hf_event, tvb, 0, 0, type);
	proto_tree *t = proto_item_add_subtree(ti, ett_event);
	proto_item_set_generated(ti);

	/* The frame's own session is shown once, above the events. */
	if (fe->session_id && fe->session_id != frame_session)
		add_u64(t, hf_session, tvb, fe->session_id);
	add_endpoint(t, tvb, fe->client, &fe->client_ep, hf_client, hf_client_ip, hf_client_ipv6,
		     hf_client_port);
	add_endpoint(t, tvb, fe->server, &fe->server_ep, hf_server, hf_server_ip, hf_server_ipv6,
		     hf_server_port);
	add_frame(t, hf_conn_frame, tvb, fe->conn_frame);
	if (fe->has_stream)
		proto_item_set_generated(proto_tree_add_uint(t, hf_tcp_stream, tvb, 0, 0,
							     fe->stream));

	switch (fe->type) {
	case FTPI_EV_FINDING:
		show_finding(tvb, pinfo, ti, t, fe);
		break;
	case FTPI_EV_DATA:
		show_data(tvb, ti, t, fe);
		break;
	case FTPI_EV_EXPECT:
		proto_item_set_text(ti, "Data connection announced (%s): %s %s:%u",
				    name_or(ftpi_announce_name(fe->u.expect.announced_by), "?"),
				    fe->u.expect.active ? "active, server connects to"
							: "passive, client connects to",
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
		proto_item_set_text(ti, "Login: %s %s%s", name_or(fe->u.login.user, "(no user)"),
				    name_or(ftpi_login_name(fe->u.login.result), "?"),
				    fe->u.login.cleartext ? ", password in clear text" : "");
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
		proto_item_set_text(ti, "Session %" G_GUINT64_FORMAT " starts", fe->session_id);
		break;
	case FTPI_EV_SESSION_END:
		proto_item_set_text(ti, "Session %" G_GUINT64_FORMAT " ends",
				    fe->session_id);
		break;
	default:
		break;
	}
}

/* The session the frame belongs to, with its links and (once it ended) its summary. */
static void show_session(tvbuff_t *tvb, proto_tree *top, const struct fi_session *s)
{
	proto_item *ti = proto_tree_add_uint64(top, hf_session, tvb, 0, 0, s->id);
	proto_tree *t = proto_item_add_subtree(ti, ett_session);
	char prot[2] = { s->prot, '\0' };

	proto_item_set_generated(ti);
	proto_item_set_text(ti, "Session %" G_GUINT64_FORMAT ": %s -> %s", s->id,
			    name_or(s->client, "?"), name_or(s->server, "?"));
	if (s->summary_frame)
		proto_item_append_text(ti, ", user %s, login %s, TLS %s",
				       name_or(s->user, "(none)"),
				       name_or(ftpi_login_name(s->login), "?"),
				       name_or(ftpi_tls_mode_name(s->tls), "?"));
	add_frame(t, hf_session_first_frame, tvb, s->first_frame);
	add_frame(t, hf_session_summary_frame, tvb, s->summary_frame);
	if (s->summary_frame == 0) {
		proto_tree_add_subtree(t, tvb, 0, 0, ett_session, NULL,
				       "No summary yet: the session had not ended when this frame "
				       "was dissected (or ends after the capture)");
		return;
	}
	add_str(t, hf_session_user, tvb, s->user);
	add_str(t, hf_session_login, tvb, ftpi_login_name(s->login));
	add_str(t, hf_session_tls, tvb, ftpi_tls_mode_name(s->tls));
	if (s->prot)
		add_str(t, hf_session_prot, tvb, prot);
	add_u64(t, hf_session_commands, tvb, s->commands);
	add_u64(t, hf_session_data_connections, tvb, s->data_connections);
	add_bool(t, hf_session_incomplete, tvb, s->incomplete);
	add_str(t, hf_session_findings, tvb, s->findings);
}

static int dissect_ftpinspect(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
			      void *data _U_)
{
	if (!PINFO_FD_VISITED(pinfo)) {
		note_conn(pinfo, tree);
		feed_frame(tvb, pinfo);
	}
	if (cap.frames == NULL)
		return 0;

	const struct fi_event *list = (const struct fi_event *)wmem_map_lookup(
		cap.frames, GUINT_TO_POINTER(pinfo->num));
	const struct fi_conn *conn = conn_of_frame(pinfo, FALSE);
	const struct fi_session *sess = conn ? session_get(conn->session_id, FALSE) : NULL;
	if (list == NULL && sess == NULL)
		return 0;

	unsigned n_events = 0, n_findings = 0;
	for (const struct fi_event *fe = list; fe; fe = fe->next) {
		n_events++;
		n_findings += fe->type == FTPI_EV_FINDING;
	}
	proto_item *ti = proto_tree_add_item(tree, proto_ftpinspect, tvb, 0, 0, ENC_NA);
	if (sess)
		proto_item_append_text(ti, ": session %" G_GUINT64_FORMAT, sess->id);
	if (n_events)
		proto_item_append_text(ti, "%s%u event%s, %u finding%s", sess ? ", " : ": ",
				       n_events, n_events == 1 ? "" : "s", n_findings,
				       n_findings == 1 ? "" : "s");
	proto_item_set_generated(ti);
	proto_tree *top = proto_item_add_subtree(ti, ett_ftpinspect);
	if (sess)
		show_session(tvb, top, sess);
	for (const struct fi_event *fe = list; fe; fe = fe->next)
		show_event(tvb, pinfo, top, fe, sess ? sess->id : 0);
	if (list)
		tap_queue_packet(ftpi_tap, pinfo, list);
	return tvb_captured_length(tvb);
}

/* ---- Statistics: the tap's two trees ------------------------------------------------------ */

static int st_by_severity = -1, st_by_kind = -1, st_servers = -1;

static void findings_tree_init(stats_tree *st)
{
	st_by_severity = stats_tree_create_node(st, "Findings by severity", 0, STAT_DT_INT, TRUE);
	st_by_kind = stats_tree_create_node(st, "Findings by kind", 0, STAT_DT_INT, TRUE);
}

static tap_packet_status findings_tree_packet(stats_tree *st, packet_info *pinfo _U_,
					      epan_dissect_t *edt _U_, const void *p,
					      tap_flags_t flags _U_)
{
	char label[160];

	for (const struct fi_event *fe = (const struct fi_event *)p; fe; fe = fe->next) {
		if (fe->type != FTPI_EV_FINDING)
			continue;
		int kind = fe->u.finding.kind;
		const char *id = name_or(ftpi_finding_name(kind), "?");
		const char *sev = name_or(ftpi_severity_name(fe->u.finding.severity), "?");
		g_snprintf(label, sizeof label, "%s (%s)", finding_title(kind), id);
		tick_stat_node(st, "Findings by severity", 0, TRUE);
		int sid = tick_stat_node(st, sev, st_by_severity, TRUE);
		tick_stat_node(st, label, sid, FALSE);
		tick_stat_node(st, "Findings by kind", 0, TRUE);
		g_snprintf(label, sizeof label, "%s (%s) [%s]", finding_title(kind), id, sev);
		tick_stat_node(st, label, st_by_kind, FALSE);
	}
	return TAP_PACKET_REDRAW;
}

static void servers_tree_init(stats_tree *st)
{
	st_servers = stats_tree_create_node(st, "Servers", 0, STAT_DT_INT, TRUE);
}

/* The control server of an event's session ("ip:port"), else the event's server. */
static const char *control_server(const struct fi_event *fe)
{
	const struct fi_session *s = session_get(fe->session_id, FALSE);
	return name_or(s && s->server ? s->server : fe->server, "(unknown server)");
}

static tap_packet_status servers_tree_packet(stats_tree *st, packet_info *pinfo _U_,
					     epan_dissect_t *edt _U_, const void *p,
					     tap_flags_t flags _U_)
{
	for (const struct fi_event *fe = (const struct fi_event *)p; fe; fe = fe->next) {
		int srv, node;
		switch (fe->type) {
		case FTPI_EV_SESSION_START:
			tick_stat_node(st, "Servers", 0, TRUE);
			srv = tick_stat_node(st, control_server(fe), st_servers, TRUE);
			tick_stat_node(st, "Sessions", srv, FALSE);
			break;
		case FTPI_EV_DATA:
			srv = increase_stat_node(st, control_server(fe), st_servers, TRUE, 0);
			node = tick_stat_node(st, "Data connections", srv, TRUE);
			tick_stat_node(st, link_words(fe->u.data.link), node, FALSE);
			break;
		case FTPI_EV_FINDING:
			srv = increase_stat_node(st, control_server(fe), st_servers, TRUE, 0);
			node = tick_stat_node(st, "Findings", srv, TRUE);
			tick_stat_node(st, finding_title(fe->u.finding.kind), node, FALSE);
			break;
		default:
			break;
		}
	}
	return TAP_PACKET_REDRAW;
}

static void register_ftpinspect_stats(void)
{
	stats_tree_register_plugin("ftpinspect", "ftpinspect_findings", "ftpinspect/Findings", 0,
				   findings_tree_packet, findings_tree_init, NULL);
	stats_tree_register_plugin("ftpinspect", "ftpinspect_servers",
				   "ftpinspect/Servers, sessions and data connections", 0,
				   servers_tree_packet, servers_tree_init, NULL);
}

/* ------------------------------------------------------------------------------------------ */

#define HF_STR(id, name, abbrev, blurb)                                                         \
	{ &(id), { (name), (abbrev), FT_STRING, BASE_NONE, NULL, 0x0, (blurb), HFILL } }
#define HF_U64(id, name, abbrev, blurb)                                                         \
	{ &(id), { (name), (abbrev), FT_UINT64, BASE_DEC, NULL, 0x0, (blurb), HFILL } }
#define HF_BOOL(id, name, abbrev, blurb)                                                        \
	{ &(id), { (name), (abbrev), FT_BOOLEAN, BASE_NONE, NULL, 0x0, (blurb), HFILL } }
#define HF_FRAME(id, name, abbrev, blurb)                                                       \
	{ &(id), { (name), (abbrev), FT_FRAMENUM, BASE_NONE, NULL, 0x0, (blurb), HFILL } }
#define HF_TYPED(id, name, abbrev, type, base, blurb)                                           \
	{ &(id), { (name), (abbrev), (type), (base), NULL, 0x0, (blurb), HFILL } }
#define HF_NONE(id, name, abbrev, blurb)                                                        \
	{ &(id), { (name), (abbrev), FT_NONE, BASE_NONE, NULL, 0x0, (blurb), HFILL } }

/* An endpoint as text plus its typed address (IPv4 or IPv6) and port. */
#define HF_ENDPOINT(role, Role)                                                                 \
	HF_STR(hf_##role, Role, "ftpinspect." #role, Role " endpoint, ip:port"),                \
	HF_TYPED(hf_##role##_ip, Role " address", "ftpinspect." #role ".ip", FT_IPv4, BASE_NONE, \
		 NULL),                                                                         \
	HF_TYPED(hf_##role##_ipv6, Role " address", "ftpinspect." #role ".ipv6", FT_IPv6,       \
		 BASE_NONE, NULL),                                                              \
	HF_TYPED(hf_##role##_port, Role " port", "ftpinspect." #role ".port", FT_UINT16,        \
		 BASE_DEC, NULL)

static const int pi_severity[] = { PI_CHAT, PI_NOTE, PI_WARN, PI_ERROR };

/* One expert entry per finding kind, titled in words, severity the kind's. */
static void register_expert(void)
{
	static const ei_register_info tmpl = { NULL,
					       { NULL, PI_SECURITY, PI_CHAT, NULL, EXPFILL } };
	static ei_register_info ei[FTPI_FINDING__COUNT];
	static char names[FTPI_FINDING__COUNT][64];
	static const expert_field ei_init = EI_INIT;

	for (int k = 0; k < FTPI_FINDING__COUNT; k++) {
		int sev = ftpi_finding_default_severity(k);
		g_snprintf(names[k], sizeof names[k], "ftpinspect.expert.%s",
			   name_or(ftpi_finding_name(k), "unknown"));
		ei_finding[k] = ei_init;
		ei[k] = tmpl;
		ei[k].ids = &ei_finding[k];
		ei[k].eiinfo.name = names[k];
		ei[k].eiinfo.severity =
			pi_severity[(sev >= FTPI_SEV_INFO && sev <= FTPI_SEV_HIGH) ? sev : 0];
		ei[k].eiinfo.summary = finding_title(k);
	}
	expert_module_t *em = expert_register_protocol(proto_ftpinspect);
	expert_register_field_array(em, ei, array_length(ei));
}

static dissector_handle_t ftpinspect_handle;

static void proto_register_ftpinspect(void)
{
	static hf_register_info hf[] = {
		HF_STR(hf_event, "Event", "ftpinspect.event",
		       "ftpinspect event type (finding, data, expect, login, tls, anomaly, ...)"),
		HF_U64(hf_session, "Session", "ftpinspect.session",
		       "Control session id, unique within the capture"),
		HF_ENDPOINT(client, "Client"),
		HF_ENDPOINT(server, "Server"),
		HF_FRAME(hf_conn_frame, "Connection starts in", "ftpinspect.first_frame",
			 "First frame of the TCP connection between client and server"),
		HF_TYPED(hf_tcp_stream, "TCP stream", "ftpinspect.tcp_stream", FT_UINT32, BASE_DEC,
			 "tcp.stream of that connection (Follow TCP Stream)"),
		HF_STR(hf_finding, "Finding", "ftpinspect.finding",
		       "Stable finding id, e.g. plaintext_auth"),
		HF_NONE(hf_finding_sev[FTPI_SEV_INFO], "Info-level finding",
			"ftpinspect.finding.info", NULL),
		HF_NONE(hf_finding_sev[FTPI_SEV_LOW], "Low-severity finding",
			"ftpinspect.finding.low", NULL),
		HF_NONE(hf_finding_sev[FTPI_SEV_MEDIUM], "Medium-severity finding",
			"ftpinspect.finding.medium", NULL),
		HF_NONE(hf_finding_sev[FTPI_SEV_HIGH], "High-severity finding",
			"ftpinspect.finding.high", NULL),
		HF_FRAME(hf_finding_announce_frame, "Announced in",
			 "ftpinspect.finding.announce_frame",
			 "Frame of the PORT/EPRT/227/229 that announced the data connection "
			 "(data_connection_missing, data_ip_mismatch)"),
		HF_FRAME(hf_finding_cert_frame, "Certificate in", "ftpinspect.finding.cert_frame",
			 "Frame that carried the TLS certificate"),
		HF_STR(hf_severity, "Severity", "ftpinspect.severity", "info, low, medium or high"),
		HF_STR(hf_message, "Message", "ftpinspect.message", NULL),
		HF_STR(hf_evidence, "Evidence", "ftpinspect.evidence",
		       "Wire evidence (passwords as ***)"),
		HF_STR(hf_data_link, "Link", "ftpinspect.data.link",
		       "How the data connection was tied to its session: none, announced, "
		       "inferred, tls-resumption, tls-psk"),
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
		HF_STR(hf_data_used_address, "Address used", "ftpinspect.data.used_address",
		       "NAT: the announced or the reached server address"),
		HF_FRAME(hf_data_announce_frame, "Announced in", "ftpinspect.data.announce_frame",
			 "Frame of the PORT/EPRT/227/229 that announced it"),
		HF_STR(hf_expect_announced_by, "Announced by", "ftpinspect.expect.announced_by",
		       NULL),
		HF_STR(hf_expect_mode, "Mode", "ftpinspect.expect.mode", "active or passive"),
		HF_STR(hf_expect_ip, "Address", "ftpinspect.expect.ip",
		       "Where the data connection should go"),
		HF_TYPED(hf_expect_port, "Port", "ftpinspect.expect.port", FT_UINT16, BASE_DEC,
			 NULL),
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
		HF_FRAME(hf_session_first_frame, "Session starts in",
			 "ftpinspect.session.first_frame", "First frame of the control connection"),
		HF_FRAME(hf_session_summary_frame, "Session ends in",
			 "ftpinspect.session.summary_frame",
			 "Frame where the session ended and was summarised"),
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
	static gint *ett[] = { &ett_ftpinspect, &ett_event, &ett_session, &ett_message };
	static const enum_val_t severities[] = {
		{ "info", "info (every finding)", FTPI_SEV_INFO },
		{ "low", "low", FTPI_SEV_LOW },
		{ "medium", "medium", FTPI_SEV_MEDIUM },
		{ "high", "high", FTPI_SEV_HIGH },
		{ NULL, NULL, 0 },
	};

	proto_ftpinspect = proto_register_protocol("ftpinspect FTP/FTPS security review",
						   "ftpinspect", "ftpinspect");
	proto_register_field_array(proto_ftpinspect, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));
	register_expert();

	module_t *m = prefs_register_protocol(proto_ftpinspect, NULL);
	prefs_register_bool_preference(m, "info_column", "Show findings in the Info column",
				       "Append [ftpinspect: kind] to the Info column of frames "
				       "that raised a finding of at least the severity below",
				       &pref_info_column);
	prefs_register_enum_preference(m, "info_column_severity",
				       "Lowest severity shown in the Info column",
				       "Findings below it (by default the info-level ones such as "
				       "encrypted_control) stay out of the Info column",
				       &pref_info_min_severity, severities, FALSE);
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
	ftpi_tap = register_tap("ftpinspect");

	ftpinspect_handle = create_dissector_handle(dissect_ftpinspect, proto_ftpinspect);
	register_postdissector(ftpinspect_handle);
}

/* After every protocol registered: ask for the TCP stream and TLS certificate fields. */
static void proto_reg_handoff_ftpinspect(void)
{
	GArray *wanted = g_array_new(FALSE, FALSE, (guint)sizeof(int));

	hf_ws_tcp_stream = proto_registrar_get_id_byname("tcp.stream");
	hf_ws_tls_certificate = proto_registrar_get_id_byname("tls.handshake.certificate");
	if (hf_ws_tcp_stream > 0)
		g_array_append_val(wanted, hf_ws_tcp_stream);
	if (hf_ws_tls_certificate > 0)
		g_array_append_val(wanted, hf_ws_tls_certificate);
	set_postdissector_wanted_hfids(ftpinspect_handle, wanted);
}

void plugin_register(void)
{
	static proto_plugin plugin;
	static tap_plugin stats;

	plugin.register_protoinfo = proto_register_ftpinspect;
	plugin.register_handoff = proto_reg_handoff_ftpinspect;
	proto_register_plugin(&plugin);
	stats.register_tap_listener = register_ftpinspect_stats;
	tap_register_plugin(&stats);
}

#if WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 2)
/* Wireshark 4.2 and later also ask what kind of plugin this is. */
#include <wsutil/plugins.h>
WS_DLL_PUBLIC uint32_t plugin_describe(void);
uint32_t plugin_describe(void)
{
	return WS_PLUGIN_DESC_DISSECTOR | WS_PLUGIN_DESC_TAP_LISTENER;
}
#endif
