/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ftpinspect.h - the public API of libftpinspect, a streaming engine for the security review of
 * FTP and FTPS traffic.
 *
 * The engine takes captured packets one at a time (or, for IDS engines that reassemble TCP
 * themselves, reassembled stream bytes), tracks FTP control connections, predicts and matches data
 * connections, and reports what it sees through a callback as typed events: commands, replies,
 * logins, data connections, and findings from the FTP/FTPS risk table.
 *
 * Threads: an engine is not thread-safe. Use one engine per thread; engines share nothing (the
 * library has no global state, only const tables), so any number may run in parallel, except an
 * ftpi_expect_store when the caller gives one to several engines (see there).
 * The library never prints, never exits, and allocates only up to the caps in the config.
 *
 * Ownership of pointers, everywhere in this header:
 *   borrowed      - packet bytes and event spans: valid only during the call / the callback;
 *   engine-owned  - freed by ftpi_engine_free();
 *   caller-owned  - the config and the stats structs.
 */
#ifndef FTPINSPECT_H
#define FTPINSPECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shared library's SOVERSION follows FTPI_VERSION_MAJOR. */
#define FTPI_VERSION_MAJOR 0
#define FTPI_VERSION_MINOR 1
#define FTPI_VERSION_PATCH 0
#define FTPI_VERSION_NUM ((FTPI_VERSION_MAJOR << 16) | (FTPI_VERSION_MINOR << 8) | FTPI_VERSION_PATCH)
#define FTPI_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define FTPI_API __attribute__((visibility("default")))
#else
#define FTPI_API
#endif

#if defined(__GNUC__)
#define FTPI_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define FTPI_WARN_UNUSED
#endif

/* FTPI_VERSION_NUM of the library actually linked. */
FTPI_API unsigned ftpi_version(void);
FTPI_API const char *ftpi_version_string(void);

/* ---------------------------------------------------------------------------------------------
 * Status codes. Hostile packets never produce an error: they become counted anomalies.
 */
#define FTPI_STATUS_MAP(XX)                                                                        \
	XX(0, OK, "success")                                                                          \
	XX(-1, E_INVAL, "invalid argument")                                                           \
	XX(-2, E_NOMEM, "out of memory")                                                              \
	XX(-3, E_LIMIT, "configured limit reached")                                                   \
	XX(-4, E_ABI, "config struct size does not match this library")                               \
	XX(-5, E_LINKTYPE, "unsupported link type")                                                   \
	XX(-6, E_CALLBACK, "the event callback asked to stop")                                        \
	XX(-7, E_NOTFOUND, "no such stream")                                                          \
	XX(-8, E_UNSUPPORTED, "not built with this feature")

enum ftpi_status {
#define FTPI__XX(num, name, str) FTPI_##name = (num),
	FTPI_STATUS_MAP(FTPI__XX)
#undef FTPI__XX
};

FTPI_API const char *ftpi_status_name(int status);
FTPI_API const char *ftpi_strerror(int status);

/* ---------------------------------------------------------------------------------------------
 * Findings: the FTP/FTPS risk table. XX(enum suffix, stable id, default severity).
 * The ids are a contract (CLI, JSON); rows are only ever appended. CAPTURE_LOSS is never raised
 * by the engine (it cannot see what the capture dropped): the capturing application raises it
 * from its capture statistics.
 */
enum ftpi_severity { FTPI_SEV_INFO = 0, FTPI_SEV_LOW, FTPI_SEV_MEDIUM, FTPI_SEV_HIGH };

#define FTPI_FINDING_MAP(XX)                                                                       \
	XX(PLAINTEXT_AUTH, "plaintext_auth", FTPI_SEV_HIGH)                                           \
	XX(ANONYMOUS_LOGIN, "anonymous_login", FTPI_SEV_LOW)                                          \
	XX(FAILED_LOGIN, "failed_login", FTPI_SEV_LOW)                                                \
	XX(BRUTE_FORCE, "brute_force", FTPI_SEV_HIGH)                                                 \
	XX(AUTH_TLS_REFUSED, "auth_tls_refused", FTPI_SEV_MEDIUM)                                     \
	XX(CLEARTEXT_DATA, "cleartext_data", FTPI_SEV_MEDIUM)                                         \
	XX(CCC_DOWNGRADE, "ccc_downgrade", FTPI_SEV_MEDIUM)                                           \
	XX(ACTIVE_MODE, "active_mode", FTPI_SEV_LOW)                                                  \
	XX(BOUNCE, "bounce", FTPI_SEV_HIGH)                                                           \
	XX(NAT_PRIVATE_PASV, "nat_private_pasv", FTPI_SEV_MEDIUM)                                     \
	XX(PASV_PORT_OUT_OF_POLICY, "pasv_port_out_of_policy", FTPI_SEV_LOW)                          \
	XX(HOST_NOT_ALLOWED, "host_not_allowed", FTPI_SEV_MEDIUM)                                     \
	XX(IMPLICIT_TLS, "implicit_tls", FTPI_SEV_INFO)                                               \
	XX(ENCRYPTED_CONTROL, "encrypted_control", FTPI_SEV_INFO)                                     \
	XX(PROTOCOL_ANOMALY, "protocol_anomaly", FTPI_SEV_LOW)                                        \
	XX(DATA_IP_MISMATCH, "data_ip_mismatch", FTPI_SEV_MEDIUM)                                     \
	XX(DATA_CONNECTION_MISSING, "data_connection_missing", FTPI_SEV_MEDIUM)                       \
	XX(UNEXPECTED_DATA_CONNECTION, "unexpected_data_connection", FTPI_SEV_LOW)                    \
	XX(TLS_CERT_SELF_SIGNED, "tls_cert_self_signed", FTPI_SEV_MEDIUM)                             \
	XX(TLS_CERT_EXPIRED, "tls_cert_expired", FTPI_SEV_HIGH)                                       \
	XX(TLS_CERT_UNTRUSTED, "tls_cert_untrusted", FTPI_SEV_MEDIUM)                                 \
	XX(TLS_CERT_NAME_MISMATCH, "tls_cert_name_mismatch", FTPI_SEV_MEDIUM)                         \
	XX(TLS_WEAK_VERSION, "tls_weak_version", FTPI_SEV_MEDIUM)                                     \
	XX(TLS_WEAK_CIPHER, "tls_weak_cipher", FTPI_SEV_HIGH)                                         \
	XX(TLS_CERT_NOT_VISIBLE, "tls_cert_not_visible", FTPI_SEV_INFO)                               \
	XX(CAPTURE_LOSS, "capture_loss", FTPI_SEV_MEDIUM)                                         \
	XX(TCP_OVERLAP_CONFLICT, "tcp_overlap_conflict", FTPI_SEV_HIGH)                               \
	XX(IP_FRAGMENT_CONFLICT, "ip_fragment_conflict", FTPI_SEV_HIGH)

enum ftpi_finding_kind {
#define FTPI__XX(name, id, sev) FTPI_FINDING_##name,
	FTPI_FINDING_MAP(FTPI__XX)
#undef FTPI__XX
	FTPI_FINDING__COUNT
};

/* Stable id ("plaintext_auth"); NULL when out of range. */
FTPI_API const char *ftpi_finding_name(int kind);
/* Kind for a stable id, or -1. */
FTPI_API int ftpi_finding_from_name(const char *name);
FTPI_API int ftpi_finding_default_severity(int kind);
/* "info", "low", "medium", "high"; NULL when out of range. */
FTPI_API const char *ftpi_severity_name(int sev);
/* Severity for a name, or -1. */
FTPI_API int ftpi_severity_from_name(const char *name);

/* ---------------------------------------------------------------------------------------------
 * Addresses.
 */
struct ftpi_addr {
	uint8_t family; /* 4 or 6; 0 = unset */
	uint8_t ip[16]; /* IPv4 in the first 4 bytes, the rest zero */
};

struct ftpi_endpoint {
	struct ftpi_addr addr;
	uint16_t port;
};

/* Writes the RFC 5952 / dotted-quad text form, NUL-terminated; returns its length.
 * 46 bytes always suffice. */
FTPI_API size_t ftpi_addr_format(const struct ftpi_addr *a, char *buf, size_t buflen);

/* Escapes wire bytes for any output: printable ASCII passes, the backslash and every other byte
 * becomes \xHH. Writes at most dstlen-1 bytes plus a NUL, never cutting an escape in half; returns
 * the length written. Use it on every span from an event before showing it. */
FTPI_API size_t ftpi_escape(char *dst, size_t dstlen, const char *src, size_t len);

/* A borrowed byte span; not NUL-terminated. ptr may be NULL when len is 0. */
struct ftpi_span {
	const char *ptr;
	size_t len;
};

/* ---------------------------------------------------------------------------------------------
 * Events, delivered through the callback. Every span and pointer in an event is borrowed: valid
 * only until the callback returns.
 */
#define FTPI_EVENT_MAP(XX)                                                                         \
	XX(SESSION_START, "session_start")                                                           \
	XX(COMMAND, "command")                                                                       \
	XX(REPLY, "reply")                                                                           \
	XX(LOGIN, "login")                                                                           \
	XX(TLS, "tls")                                                                               \
	XX(EXPECT, "expect")                                                                         \
	XX(DATA, "data")                                                                             \
	XX(FINDING, "finding")                                                                       \
	XX(ANOMALY, "anomaly")                                                                       \
	XX(SESSION_END, "session")                                                                   \
	XX(FLOW_END, "flow")                                                                         \
	XX(SERVER, "server")

enum ftpi_event_type {
#define FTPI__XX(name, str) FTPI_EV_##name,
	FTPI_EVENT_MAP(FTPI__XX)
#undef FTPI__XX
	FTPI_EV__COUNT
};

FTPI_API const char *ftpi_event_type_name(int type);

enum ftpi_login_result { FTPI_LOGIN_NONE = 0, FTPI_LOGIN_SUCCESS, FTPI_LOGIN_FAILED };
enum ftpi_tls_mode { FTPI_TLS_NONE = 0, FTPI_TLS_EXPLICIT, FTPI_TLS_IMPLICIT };
enum ftpi_announce {
	FTPI_ANN_NONE = 0,
	FTPI_ANN_PORT,
	FTPI_ANN_EPRT,
	FTPI_ANN_LPRT,
	FTPI_ANN_PASV,
	FTPI_ANN_EPSV,
	FTPI_ANN_LPSV
};
enum ftpi_link {
	FTPI_LINK_NONE = 0,  /* no session announced it (unexpected) */
	FTPI_LINK_ANNOUNCED, /* a readable PORT/EPRT/LPRT/227/228/229 predicted it */
	FTPI_LINK_INFERRED,  /* encrypted control: same hosts, passive range, timing */
	FTPI_LINK_TLS_RESUMPTION, /* its ClientHello resumes the control channel's TLS session */
	FTPI_LINK_TLS_PSK    /* TLS 1.3: the server accepted a PSK the client got on this session */
};
enum ftpi_data_status {
	FTPI_DATA_UNKNOWN = 0,
	FTPI_DATA_COMPLETED, /* 226 / 250 */
	FTPI_DATA_ABORTED,   /* 425 / 426 / 451 */
	FTPI_DATA_FAILED     /* other 4xx / 5xx */
};
enum ftpi_nat_used {
	FTPI_NAT_NA = 0,
	FTPI_NAT_ANNOUNCED, /* the 227 named another address than the control's, and was used */
	FTPI_NAT_REACHED,   /* the 227 named another address; the control's server address was used */
	FTPI_NAT_REWRITTEN  /* PORT/EPRT named another address (rewritten on the way, or a replayed
			     * capture): the data connection used the control's host pair */
};

/* Names for the enums above, as used in the JSON output ("explicit", "tls-resumption", ...). */
FTPI_API const char *ftpi_login_name(int v);
FTPI_API const char *ftpi_tls_mode_name(int v);
FTPI_API const char *ftpi_announce_name(int v); /* NULL for FTPI_ANN_NONE */
FTPI_API const char *ftpi_link_name(int v);
FTPI_API const char *ftpi_data_status_name(int v);
/* TCP state of a FLOW_END event: "syn_sent", "syn_rcvd", "established", "closing", "closed". */
FTPI_API const char *ftpi_flow_state_name(int v);

struct ftpi_tls_info {
	uint16_t version;      /* negotiated, e.g. 0x0303; 0 = not seen */
	uint16_t cipher;       /* negotiated cipher suite; valid when version != 0 */
	struct ftpi_span sni;  /* client's server_name */
	struct ftpi_span cert_subject; /* RFC 2253 text; empty when not seen (e.g. TLS 1.3) */
	struct ftpi_span cert_issuer;
	int64_t cert_not_after; /* epoch seconds; 0 = not seen */
	int64_t cert_not_before;
	/* Names when version != 0 (else NULL), valid during the callback: the version's from nDPI
	 * ("TLSv1.2"), the suite's IANA name from OpenSSL, else nDPI; a code point neither library
	 * knows (or, built without nDPI, a version) as hex, "0x0303". */
	const char *version_name;
	const char *cipher_name;
};

struct ftpi_session_info {
	struct ftpi_span user;
	int login;  /* enum ftpi_login_result */
	int tls;    /* enum ftpi_tls_mode */
	char prot;  /* 'C', 'S', 'E', 'P', or 0 when never set */
	int incomplete;
	uint64_t start_us, end_us;
	uint64_t commands;
	uint64_t replies;
	uint64_t data_connections;
	uint64_t findings_mask; /* bit (1 << kind) for each kind raised */
	const uint8_t *findings_order; /* kinds in first-raised order */
	size_t findings_order_len;
	struct ftpi_tls_info tls_info;
	struct ftpi_span banner; /* the 220 greeting text */
};

/* File hashes (ftpi_config.file_hashes, ftpi_data_info.hashes). */
#define FTPI_HASH_MD5	   0x1u
#define FTPI_HASH_SHA1	   0x2u
#define FTPI_HASH_SHA256   0x4u
#define FTPI_DATA_HEAD_MAX 1024 /* first payload bytes given with a hashed data connection */

struct ftpi_data_info {
	int link;          /* enum ftpi_link */
	int announced_by;  /* enum ftpi_announce */
	int active;        /* 1 = active mode (server connects to client) */
	struct ftpi_span command; /* "RETR", ...; empty when unknown */
	struct ftpi_span file;
	uint64_t bytes_to_server, bytes_to_client;
	int tls;           /* first payload bytes are a TLS handshake */
	int status;        /* enum ftpi_data_status */
	uint64_t start_us, end_us;
	int nat_used;      /* enum ftpi_nat_used */
	uint64_t announce_frame;
	/* TLS on the data connection (tls = 1): negotiated version and suite, 0 when not seen;
	 * names as in struct ftpi_tls_info (NULL when not seen). */
	uint16_t tls_version, tls_cipher;
	const char *tls_version_name, *tls_cipher_name;
	/* With config file_hashes: digests of the payload of a clear-text data connection, in the
	 * one direction that carried it (hash_dir: FTPI_DIR_*-like 0 = to the server, 1 = to the
	 * client, -1 none). hashes = the FTPI_HASH_* bits filled: 0 when a gap lost bytes, for
	 * TLS, or when nothing flowed. head = its first bytes (at most FTPI_DATA_HEAD_MAX), for
	 * typing the content; nothing else of the payload is kept. */
	unsigned hashes;
	int hash_dir;
	uint64_t hashed_bytes;
	uint8_t md5[16], sha1[20], sha256[32];
	struct ftpi_span head;
	/* Shared store (Redis): the sensor whose session announced this connection, when another
	 * sensor saw the control connection; empty otherwise. */
	struct ftpi_span control_sensor;
};

struct ftpi_expect_info {
	int announced_by;  /* enum ftpi_announce */
	int active;
	struct ftpi_endpoint target; /* where the connection should go */
	struct ftpi_endpoint reached; /* NAT: the server address the client reached (port = target's) */
	int has_reached;
};

struct ftpi_finding_info {
	int kind;      /* enum ftpi_finding_kind */
	int severity;  /* enum ftpi_severity */
	struct ftpi_span message; /* escaped text, printable ASCII */
	struct ftpi_span evidence; /* escaped text, printable ASCII; passwords as *** */
};

struct ftpi_flow_info {
	uint8_t proto; /* 6 */
	uint64_t packets_to_server, packets_to_client;
	uint64_t bytes_to_server, bytes_to_client; /* payload, by sequence space */
	uint64_t start_us, end_us;
	int state;       /* internal TCP state at the end, see ftpi_flow_state_name() */
	int role;        /* 0 other, 1 FTP control, 2 FTP data */
	int midstream;   /* no SYN seen */
	uint64_t gaps;   /* bytes skipped over gaps */
	const char *app; /* nDPI/engine protocol name, static, or NULL */
};

struct ftpi_server_info {
	uint64_t sessions;
	uint16_t pasv_min, pasv_max;
	uint64_t pasv_count, active_count;
	uint64_t out_of_policy;
	uint64_t clients; /* distinct client addresses seen (capped count) */
	const struct ftpi_addr *client_list; /* up to 16 */
	size_t client_list_len;
	uint64_t tls_sessions, clear_logins;
	uint64_t nat_problems, ip_mismatches;
	/* data connections that reached another server address than their control connection
	 * (a load balancer without persistence), part of ip_mismatches */
	uint64_t node_mismatches;
	/* seen from the server's side of a NAT: the public address its 227 replies name (a
	 * configured helper address such as vsftpd's pasv_address) */
	struct ftpi_addr helper_addr;
	int has_helper;
	/* passive data connections seen (announced or, under TLS, inferred) and their server
	 * ports: the range a firewall must open even when the 227s cannot be read */
	uint64_t data_passive;
	uint16_t data_port_min, data_port_max;
	/* when helper_addr was last learned (has_helper = 1): the capture time and frame of the
	 * packet that showed it. One engine keeps the latest; a host merging the summaries of
	 * several engines (one store) keeps the helper_addr with the highest (helper_us,
	 * helper_frame). Added at the end of the struct. */
	uint64_t helper_us, helper_frame;
};

struct ftpi_event {
	int type;          /* enum ftpi_event_type */
	uint64_t ts_us;    /* capture time, microseconds since the epoch */
	uint64_t frame;    /* 1-based number of the packet that caused it (0: flush/advance) */
	uint64_t session_id; /* 0 = none */
	struct ftpi_endpoint client, server;
	union {
		struct { struct ftpi_span verb, arg; } command;     /* arg "***" for PASS (redacted) */
		struct { unsigned code; struct ftpi_span text; } reply; /* text: lines joined by \n */
		struct { struct ftpi_span user; int result; int anonymous; int cleartext; } login;
		struct ftpi_tls_info tls;
		struct ftpi_expect_info expect;
		struct ftpi_data_info data;
		struct ftpi_finding_info finding;
		struct { struct ftpi_span kind, detail; } anomaly;
		struct ftpi_session_info session;  /* FTPI_EV_SESSION_START / SESSION_END */
		struct ftpi_flow_info flow;
		struct ftpi_server_info server;    /* endpoint in ev->server */
	} u;
	/* the flow (packets) or stream (ftpi_stream_*) the event concerns: the control connection
	 * for session, command, reply and most findings; the data connection for data events */
	uint64_t stream_id;
};

/* Return 0 to go on; non-zero stops the current call with FTPI_E_CALLBACK (the engine stays
 * usable; the rest of that packet's events are lost). Must not call back into the engine. */
typedef int (*ftpi_event_cb)(void *user, const struct ftpi_event *ev);

/* Optional allocator (per engine, like zstd's customMem). free receives the size allocated. */
struct ftpi_allocator {
	void *(*alloc)(void *opaque, size_t size);
	void (*free)(void *opaque, void *ptr, size_t size);
	void *opaque;
};

/* An IPv4 or IPv6 network, for allow-lists. */
struct ftpi_cidr {
	struct ftpi_addr addr;
	uint8_t prefix;
};

/* Parses "10.0.0.0/8", "fd00::/8" or a bare address; returns FTPI_OK or FTPI_E_INVAL. */
FTPI_API int ftpi_cidr_parse(struct ftpi_cidr *out, const char *text);

enum ftpi_overlap_policy {
	FTPI_OVERLAP_FIRST = 0 /* the bytes seen first win (BSD-like); see docs/reassembly.md */
};

enum ftpi_event_mask_bits {
	FTPI_EVMASK_COMMANDS = 1u << 0, /* COMMAND and REPLY events */
	FTPI_EVMASK_FLOWS = 1u << 1,    /* FLOW_END for every TCP flow */
	FTPI_EVMASK_EXPECT = 1u << 2,
	FTPI_EVMASK_ANOMALY = 1u << 3,
	FTPI_EVMASK_TLS = 1u << 4,
	FTPI_EVMASK_LOGIN = 1u << 5
};

/* ---------------------------------------------------------------------------------------------
 * Expectation store: shared by engines that run on different threads (one engine per worker, as
 * IDS engines do). Created once, passed to every engine in cfg.expect_store with a distinct
 * cfg.engine_index. An engine publishes the data-connection expectations its sessions announce;
 * an engine that sees a new connection its own table does not explain claims the published
 * expectation that fits, so a data connection that lands on another worker than its control
 * connection is still linked, and reported once (by the worker that sees it), with the same
 * fields as one engine would give.
 *
 * Capture-time watermarks keep the results those of one engine: before it decides from the
 * store, an engine waits until every other engine of the store has processed its packets up to
 * the current capture time. Hosts must therefore keep every engine of a store fed in capture-time
 * order, and tell the store when an engine has nothing to do (ftpi_expect_store_idle) and when
 * its input has ended (ftpi_expect_store_done), or set a bound on the wait (max_wait_us, for live
 * capture, where a late worker must not stall the others).
 *
 * Threads: every ftpi_expect_store_* call and every engine using the store may run on any
 * thread at the same time. Memory: max_entries entries, preallocated at creation (about 400
 * bytes each); nothing is allocated later. Free the store after every engine using it.
 */
typedef struct ftpi_expect_store ftpi_expect_store;
struct ftpi_packet;

/* max_entries: expectations held at once, all engines (0 = 65536); max_engines: engine indexes
 * 0..max_engines-1 (1..1024); max_wait_us: wall-clock bound on a wait for other engines
 * (0 = no bound: exact results). NULL with *status FTPI_E_INVAL or FTPI_E_NOMEM on failure. */
FTPI_API FTPI_WARN_UNUSED ftpi_expect_store *ftpi_expect_store_new(uint32_t max_entries,
								  unsigned max_engines,
								  uint64_t max_wait_us,
								  int *status);
/* NULL is a no-op. Every engine using the store must have been freed. */
FTPI_API void ftpi_expect_store_free(ftpi_expect_store *st);
/* The host promises that engine_index will get no packet older than until_us (its queue is
 * empty and every earlier packet was handed out): other engines stop waiting for it. */
FTPI_API void ftpi_expect_store_idle(ftpi_expect_store *st, unsigned engine_index,
				     uint64_t until_us);
/* The same, for a host that numbers packets across all engines (ftpi_engine_feed_frame): also
 * every packet numbered below frame was handed out. Packets of the same capture time are then
 * ordered by their number, as one engine orders them (facts of two engines at one time). */
FTPI_API void ftpi_expect_store_idle_frame(ftpi_expect_store *st, unsigned engine_index,
					   uint64_t until_us, uint64_t frame);
/* engine_index gets no more packets (call before ftpi_engine_flush on that engine). */
FTPI_API void ftpi_expect_store_done(ftpi_expect_store *st, unsigned engine_index);

struct ftpi_expect_store_stats {
	uint64_t published, claimed, lookups, full, waits, wait_timeouts;
	uint64_t wait_ns; /* wall time spent waiting for other engines, all engines */
	uint64_t in_use, high_water;
	uint64_t quick; /* new connections decided without waiting (no engine could explain them) */
};
FTPI_API int ftpi_expect_store_stats(ftpi_expect_store *st, struct ftpi_expect_store_stats *out,
				     size_t out_size);

/* ---------------------------------------------------------------------------------------------
 * Sharing across machines: the same store backed by Redis. Sensors (processes, hosts) publish
 * their expectations as Redis keys with a TTL; a sensor that sees a connection its own table
 * cannot explain looks it up there and claims the entry atomically, so the data event comes once,
 * from the sensor that saw the connection, with the owner's session id and control_sensor. The
 * packet path never waits on the network: publications, lookups and claims go through a bounded
 * queue to one I/O thread per store that owns the Redis connection; an unexplained connection is
 * followed as a pending data connection until the answer comes (or wait_us of capture time and
 * of wall time have passed). The owner of an expectation that nothing met withholds
 * data_connection_missing until wait_us after its deadline without a claim. Redis down, slow or
 * refusing the password: inspection goes on locally, counted in ftpi_share_stats. No password
 * seen in traffic goes to Redis (file names and addresses do). docs/sensors.md has the key
 * layout. Built only with hiredis: otherwise ftpi_expect_store_new_shared gives
 * FTPI_E_UNSUPPORTED.
 */
struct ftpi_share_config {
	size_t size;         /* set by ftpi_share_config_init */
	const char *url;     /* redis://[USER:PASS@]HOST:PORT[/DB]; rediss:// (TLS), docs/sensors.md */
	const char *sensor;  /* this sensor's name: [A-Za-z0-9._-], 1..48 characters */
	uint64_t wait_us;    /* pending lookups and withheld verdicts (default 3 s) */
	uint32_t max_pending; /* connections held pending per engine (default 4096) */
	uint32_t queue_len;  /* requests queued to the I/O thread (default 16384) */
	uint64_t timeout_expect; /* the engines' timeout_expect: the keys' TTL (default 120 s) */
	uint64_t io_timeout_us; /* connect and command timeout (default 500 ms) */
};
FTPI_API void ftpi_share_config_init(struct ftpi_share_config *sc);
/* An expectation store (as ftpi_expect_store_new, for engines of this process) that also
 * shares through Redis. The config and its strings are copied. The connection is made by the
 * I/O thread: an unreachable server is not an error here (see ftpi_share_stats). NULL with
 * *status FTPI_E_INVAL (bad URL or sensor), FTPI_E_NOMEM, FTPI_E_UNSUPPORTED (no hiredis). A
 * rediss:// URL takes redis-py's TLS settings in its query: ssl_ca_certs, ssl_certfile,
 * ssl_keyfile, ssl_cert_reqs (required, optional, none), ssl_check_hostname (true, false). */
FTPI_API FTPI_WARN_UNUSED ftpi_expect_store *ftpi_expect_store_new_shared(
	const struct ftpi_share_config *sc, uint32_t max_entries, unsigned max_engines,
	uint64_t max_wait_us, int *status);

struct ftpi_share_stats {
	uint64_t connected;       /* 1 while the I/O thread holds a working connection */
	uint64_t errors;          /* connection, auth and command failures */
	uint64_t reconnects;      /* connection attempts after the first */
	uint64_t published;       /* expectations published */
	uint64_t lookups;         /* lookups sent for unexplained connections */
	uint64_t claims;          /* remote expectations this process claimed */
	uint64_t claim_lost;      /* a claim another sensor won first */
	uint64_t pending_dropped; /* connections given up unanswered (Redis down, queue full) */
	uint64_t queue_full;      /* requests refused: the queue was full */
	uint64_t withheld;        /* missing-data verdicts withheld for a remote claim */
	uint64_t remote_claimed;  /* of those, claimed by another sensor (not reported here) */
	uint64_t stream_events;   /* ftpi_share_stream: events appended */
	uint64_t stream_dropped;  /* ftpi_share_stream: events dropped (queue full, Redis down) */
};
/* Counters of a shared store or stream (either may be NULL); last_error (may be NULL) gets the
 * latest error text, with the URL shown without its password. */
FTPI_API int ftpi_share_stats_get(ftpi_expect_store *st, struct ftpi_share_stats *out,
				  size_t out_size, char *last_error, size_t n);
/* Waits (at most wait_us of wall time) until what the engines queued for Redis has been sent or
 * has failed (call after ftpi_engine_flush, before reading the final counters). */
FTPI_API void ftpi_share_flush(ftpi_expect_store *st, uint64_t wait_us);
/* The URL as it may be shown: the password replaced by nothing (redis://user@host:port/db). */
FTPI_API size_t ftpi_share_url_display(const char *url, char *buf, size_t n);

/* Events to a Redis stream (XADD key MAXLEN ~ maxlen * event <line>): url is
 * redis://[USER:PASS@]HOST:PORT/STREAM (a DB number is not part of it). Lines are copied into a
 * bounded queue (queue_bytes, default 16 MiB) and sent by an I/O thread; a full queue or a
 * Redis that is down drops lines and counts them. */
typedef struct ftpi_share_stream ftpi_share_stream;
FTPI_API FTPI_WARN_UNUSED ftpi_share_stream *ftpi_share_stream_new(const char *url,
								  uint64_t maxlen,
								  size_t queue_bytes,
								  uint64_t io_timeout_us,
								  int *status);
FTPI_API void ftpi_share_stream_add(ftpi_share_stream *s, const char *line, size_t len);
/* Waits (at most wait_us of wall time) until the queue has been sent. */
FTPI_API void ftpi_share_stream_drain(ftpi_share_stream *s, uint64_t wait_us);
FTPI_API int ftpi_share_stream_stats(ftpi_share_stream *s, struct ftpi_share_stats *out,
				     size_t out_size, char *last_error, size_t n);
FTPI_API void ftpi_share_stream_free(ftpi_share_stream *s);

/* The shard (0..n-1) of a packet by an unordered hash of its IP addresses, so that both
 * directions, and a session's control and usual data connections (same host pair), go to one
 * worker. Packets that are not IP (or cannot be decoded) go to shard 0. Usable without an
 * engine, from any thread. */
FTPI_API unsigned ftpi_shard_of(const struct ftpi_packet *pkt, unsigned n);
/* By connection instead (both IP addresses and ports, unordered), as a kernel's flow hash
 * (AF_PACKET fanout) spreads packets: data connections usually go elsewhere than their control
 * connection, and the shared store links them. */
FTPI_API unsigned ftpi_shard_of_conn(const struct ftpi_packet *pkt, unsigned n);
/* The same on addresses. */
FTPI_API unsigned ftpi_shard_of_addrs(const struct ftpi_addr *a, const struct ftpi_addr *b,
				      unsigned n);
/* The shard of pkt (0..n-1: by host pair as ftpi_shard_of, by connection when by_conn), for a
 * host that spreads the packets of one capture over the engines of st in capture-time order
 * (engine index = shard) and hands this packet, with this ts_us, to that engine. The store
 * notes the connection the packet may start (a SYN): an engine whose expectation ends then
 * waits only for engines that still have a connection start to that port to process. A host
 * dispatches every packet through it, or none. st NULL: the shard only. */
FTPI_API unsigned ftpi_expect_store_dispatch(ftpi_expect_store *st, const struct ftpi_packet *pkt,
					     unsigned n, int by_conn);

/*
 * Configuration. Initialise with ftpi_config_init() (it sets `size` and every default), then change
 * fields. The engine copies the struct and every array it points to: the caller may free or reuse
 * them after ftpi_engine_new() returns.
 */
struct ftpi_config {
	size_t size; /* sizeof(struct ftpi_config) of the caller; set by ftpi_config_init() */

	/* Caps. Memory use stays under these whatever the input. */
	uint32_t max_flows;          /* TCP flows tracked at once; LRU eviction beyond (default 65536) */
	size_t reasm_mem;            /* bytes of out-of-order data held, all flows (default 64 MiB) */
	uint32_t reasm_flow_bytes;   /* per flow and direction (default 256 KiB) */
	uint32_t max_ooo_segments;   /* per flow and direction (default 256) */
	uint32_t max_line_len;       /* FTP control line cap (default 4096, like Suricata) */
	uint32_t max_sessions;       /* FTP control sessions at once (default 16384) */
	uint32_t max_expectations;   /* data-connection expectations at once (default 65536) */
	uint32_t max_expect_per_session; /* (default 64) */
	size_t max_tls_handshake;    /* bytes of TLS handshake kept per direction (default 64 KiB) */
	size_t mem_cap;              /* total library memory (default 512 MiB); 0 = sum of the above */

	/* Timeouts, microseconds of capture time. */
	uint64_t timeout_syn;         /* handshake not completed (default 30 s) */
	uint64_t timeout_established; /* idle established flow (default 3600 s) */
	uint64_t timeout_closing;     /* after FIN/RST (default 30 s) */
	uint64_t timeout_expect;      /* firm expectation without a connection (default 120 s) */

	uint64_t hash_seed[2]; /* keyed flow hash; defaults are fixed values: set random ones */
	int overlap_policy;    /* enum ftpi_overlap_policy */
	int verify_checksums;  /* 1: check every IPv4/TCP checksum, count and drop bad packets.
	                        * 0 (default): nothing is dropped; bad TCP checksums are counted
	                        * on the packets whose bytes are read (control channels, flows
	                        * being classified). Captures taken on the sending host carry
	                        * unfilled checksums (offload): leave this at 0 for them. */

	/* Policy. */
	int redact_credentials;       /* default 1: PASS arguments become "***".
	                               * WARNING: 0 puts passwords into events and outputs. */
	uint16_t pasv_min, pasv_max;  /* agreed passive range; 0/0 = none configured */
	uint32_t brute_force_threshold; /* failed logins from one client IP (default 5) */
	uint64_t brute_force_window;  /* microseconds (default 300 s) */
	const struct ftpi_cidr *allow_clients; size_t n_allow_clients; /* empty = all allowed */
	const struct ftpi_cidr *allow_servers; size_t n_allow_servers;
	const uint16_t *control_ports; size_t n_control_ports; /* default 21, 990 (and content) */
	const char *ca_file;      /* PEM bundle to trust; NULL = the system's default paths */
	const char *server_name;  /* name the certificate must carry when no SNI was sent */
	int use_ndpi;             /* default 1 when built with nDPI; packets only (never streams) */

	uint32_t event_mask; /* FTPI_EVMASK_* bits for the optional events (default: all) */
	ftpi_event_cb on_event;
	void *user;
	struct ftpi_allocator allocator; /* all NULL = malloc/free */

	/* Workers (appended at the end, the ABI rule: cfg.size tells the library's struct). */
	ftpi_expect_store *expect_store; /* shared expectations; NULL = this engine alone */
	unsigned engine_index; /* distinct per engine of a store (< its max_engines); session ids
				* interleave (engine i of n: i+1, i+1+n, ...): unique across engines */
	/* Added in 0.2 (fields are only ever appended). */
	const char *ca_dir;       /* directory of PEM certificates to trust (with or instead of
	                           * ca_file). ftpi_engine_new() refuses a ca_file/ca_dir that cannot
	                           * be read or holds no certificate (FTPI_E_INVAL, field named). */
	/* IP defragmentation (IPv4, IPv6 fragment header). Datagrams being reassembled are capped
	 * by count and bytes; a datagram incomplete after timeout_frag is dropped and counted. */
	uint32_t max_frag_datagrams; /* datagrams being reassembled at once (default 1024) */
	size_t frag_mem;             /* bytes held for them, all datagrams (default 4 MiB) */
	uint64_t timeout_frag;       /* microseconds of capture time (default 30 s, like Linux) */
	uint32_t max_pending_commands; /* commands waiting for their replies, per session
	                                * (default 16; 1..256); the oldest is dropped beyond */
	/* Per-session caps on what is kept of the control channel (like Zeek's max_*_length);
	 * longer values are cut. */
	uint32_t max_user_len;  /* user name (default 128; 1..128) */
	uint32_t max_arg_len;   /* command argument kept: file names, PORT text (default 256;
	                         * 1..256) */
	uint32_t max_reply_len; /* reply text, multi-line replies joined (default 512; 16..512) */

	/* File hashes (appended): FTPI_HASH_* bits: hash each clear data connection's payload as
	 * it streams (data events); default 0 = none. */
	unsigned file_hashes;
};

/* Fills defaults. Always call it first. */
FTPI_API void ftpi_config_init(struct ftpi_config *cfg);

typedef struct ftpi_engine ftpi_engine;

/* Creates an engine from a copy of *cfg. On failure returns NULL and sets *status (may be NULL):
 * FTPI_E_ABI (cfg->size mismatch), FTPI_E_INVAL (a bad field; see ftpi_config_error()),
 * FTPI_E_NOMEM. */
FTPI_API FTPI_WARN_UNUSED ftpi_engine *ftpi_engine_new(const struct ftpi_config *cfg, int *status);

/* Checks a config the way ftpi_engine_new() does. Returns FTPI_OK, FTPI_E_ABI or FTPI_E_INVAL; on
 * FTPI_E_INVAL the name of the first bad field is written to field (NUL-terminated, caller-owned,
 * may be NULL). */
FTPI_API int ftpi_config_validate(const struct ftpi_config *cfg, char *field, size_t fieldlen);

/* Frees everything the engine owns, without emitting events (call ftpi_engine_flush() first to get
 * them). NULL is a no-op. */
FTPI_API void ftpi_engine_free(ftpi_engine *e);

/* Returns the engine to the state ftpi_engine_new() left it in, with the same config: every
 * flow, session, expectation, clock and counter is dropped without events (call
 * ftpi_engine_flush() first to get them), while the memory blocks kept for reuse stay, so the
 * next input costs no allocator calls once warm (one engine for many independent inputs: test
 * harnesses, fuzzers, a capture file at a time). FTPI_E_INVAL for NULL or an engine that shares
 * an ftpi_expect_store; FTPI_E_NOMEM when the tables could not be made again (the engine then
 * only accepts ftpi_engine_free()). */
FTPI_API int ftpi_engine_reset(ftpi_engine *e);

/* One captured packet. data is borrowed for the call; the engine copies what it keeps. */
struct ftpi_packet {
	uint64_t ts_us;    /* capture timestamp, microseconds since the epoch */
	int linktype;      /* DLT/LINKTYPE number (1 Ethernet, 113 SLL, 276 SLL2, 0 NULL, ...) */
	uint32_t caplen;   /* bytes present at data */
	uint32_t wirelen;  /* bytes on the wire */
	const uint8_t *data;
};

/* Feeds one packet; events are delivered from inside this call. Returns FTPI_OK,
 * FTPI_E_LINKTYPE (link type unsupported: counted, packet skipped), FTPI_E_CALLBACK, or
 * FTPI_E_INVAL (NULL arguments). Malformed packets are counted, never an error. Time must be
 * non-decreasing; a packet older than the last is processed with the last time. */
FTPI_API int ftpi_engine_feed(ftpi_engine *e, const struct ftpi_packet *pkt);

/* Feeds pkts[0..n-1] in order with the results, events and statistics of n ftpi_engine_feed()
 * calls, but faster when many flows are active: packets are decoded a few at a time ahead of
 * being processed, so their flows' table buckets are fetched from memory in parallel. For
 * callers that hold several packets at once (a ring, a queue, a file read into memory); every
 * packet's bytes are borrowed until the call returns. Stops at the first packet that does not
 * give FTPI_OK and returns that status; *done (may be NULL) is the number of packets fed,
 * counting the one whose callback asked to stop. A callback that reads ftpi_engine_stats() may
 * see the decoding counters of up to 7 packets after its own. */
FTPI_API int ftpi_engine_feed_batch(ftpi_engine *e, const struct ftpi_packet *pkts, size_t n,
				    size_t *done);

/* The same, for engines that each get a share of one capture (workers): frame is the packet's
 * 1-based number in the whole capture, which events carry (ftpi_engine_feed counts the packets
 * the engine sees). */
FTPI_API int ftpi_engine_feed_frame(ftpi_engine *e, const struct ftpi_packet *pkt, uint64_t frame);

/* For an engine that shares an expectation store, fed from packets the host already holds (a
 * queue): pkts[0..n-1] are the next packets the host will feed this engine, in this order.
 * Returns how many of them, from the first, cannot make this engine announce a data connection
 * (they belong to connections already found to be something else); the engine tells the store,
 * and other engines decide a new connection that only this engine's announcement could explain
 * without waiting for it to reach that connection's time. Call it again after feeding the packet
 * at the returned index (or all n). Nothing changes in this engine's results; without a store it
 * returns 0 and does nothing. The bytes are read during the call only. */
FTPI_API size_t ftpi_engine_lookahead(ftpi_engine *e, const struct ftpi_packet *pkts, size_t n);

/* True when the engine decodes this link type. */
FTPI_API int ftpi_linktype_supported(int linktype);

/* Advances capture time with no packet (a live capture going idle): expires idle flows and
 * expectations, emitting their events. */
FTPI_API int ftpi_engine_advance(ftpi_engine *e, uint64_t now_us);

/* The same with the frame number events raised now carry (workers: the number, in the whole
 * capture, of the packet that moved the capture clock). */
FTPI_API int ftpi_engine_advance_frame(ftpi_engine *e, uint64_t now_us, uint64_t frame);

/* End of input: ends every flow, session and expectation, emits their events (sessions, data,
 * data_connection_missing, server summaries). The engine is empty and reusable afterwards. */
FTPI_API int ftpi_engine_flush(ftpi_engine *e);

/* ---------------------------------------------------------------------------------------------
 * Second entry point, for IDS engines that reassemble TCP themselves (Suricata, Zeek, Snort):
 * feed in-order stream bytes of one connection and direction. The same FTP layers run on them;
 * nothing here uses the packet decoder or the flow table's TCP state.
 */
enum ftpi_dir { FTPI_DIR_TO_SERVER = 0, FTPI_DIR_TO_CLIENT = 1 };

/* Announces a connection (client = the TCP initiator). *stream_id receives a handle.
 * FTPI_E_LIMIT when max_flows streams are open. Data connections are matched against
 * expectations here, exactly as for packets. */
FTPI_API int ftpi_stream_open(ftpi_engine *e, const struct ftpi_endpoint *client,
			      const struct ftpi_endpoint *server, uint64_t ts_us, uint64_t *stream_id);
/* In-order bytes of one direction (borrowed). */
FTPI_API int ftpi_stream_data(ftpi_engine *e, uint64_t stream_id, int dir, uint64_t ts_us,
			      const uint8_t *data, size_t len);
/* len bytes of this direction were lost: parsers resynchronise. */
FTPI_API int ftpi_stream_gap(ftpi_engine *e, uint64_t stream_id, int dir, uint64_t len);
/* The connection ended (FIN/RST/timeout in the caller's engine). */
FTPI_API int ftpi_stream_close(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us);

/* The rest of the lifecycle, for engines that see handshakes (all optional: a host that only
 * calls ftpi_stream_open for established connections keeps working). ftpi_stream_attempt
 * announces a SYN (the connection is matched against expectations then, like a packet SYN);
 * ftpi_stream_established says the handshake completed (a data connection that carries no byte
 * is still a data connection); ftpi_stream_refused (RST to the SYN) and ftpi_stream_unanswered
 * (the SYN was given up) end an attempt with that cause: data_connection_missing then says so. */
FTPI_API int ftpi_stream_attempt(ftpi_engine *e, const struct ftpi_endpoint *client,
				 const struct ftpi_endpoint *server, uint64_t ts_us,
				 uint64_t *stream_id);
FTPI_API int ftpi_stream_established(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us);
FTPI_API int ftpi_stream_refused(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us);
FTPI_API int ftpi_stream_unanswered(ftpi_engine *e, uint64_t stream_id, uint64_t ts_us);
/* ftpi_stream_gap with the time of the loss. */
FTPI_API int ftpi_stream_gap_at(ftpi_engine *e, uint64_t stream_id, int dir, uint64_t ts_us,
				uint64_t len);
/* The host's own reference for the packet behind the next stream calls (a frame number, an
 * index into its packet store): events carry it where packet-fed events carry the frame number
 * (frame, announce_frame). 0 = none. */
FTPI_API void ftpi_stream_set_ref(ftpi_engine *e, uint64_t ref);
/* The IP TTL (IPv6 hop limit) of a direction's packets, when the host knows it: the routers they
 * crossed tell which side of a NAT the capture point is on (docs/events.md, nat_private_pasv).
 * The first value given per direction is kept. */
FTPI_API int ftpi_stream_ttl(ftpi_engine *e, uint64_t stream_id, int dir, uint8_t ttl);

/* What the engine made of a stream, so a host may stop feeding what is not FTP-related: it
 * can stop calling ftpi_stream_data for FTPI_STREAM_OTHER (its bytes would only be counted). */
enum ftpi_stream_role {
	FTPI_STREAM_UNKNOWN = 0, /* still looking at its first bytes */
	FTPI_STREAM_CONTROL,     /* an FTP control connection */
	FTPI_STREAM_DATA,        /* a data connection of a session */
	FTPI_STREAM_OTHER,       /* not FTP-related: bytes are only counted */
	FTPI_STREAM_HELD         /* between the hosts of a session, opened before any announcement
	                          * explains it: held (its first bytes kept) until one does */
};
/* enum ftpi_stream_role, or FTPI_E_NOTFOUND / FTPI_E_INVAL. */
FTPI_API int ftpi_stream_role(const ftpi_engine *e, uint64_t stream_id);

/* ---------------------------------------------------------------------------------------------
 * Statistics: flat counters. Fill with ftpi_engine_stats(e, &st, sizeof st); a smaller size from
 * an older caller gets the prefix.
 */
#define FTPI_STATS_MAP(XX)                                                                         \
	XX(packets)                                                                                   \
	XX(bytes)                                                                                     \
	XX(truncated)                                                                                 \
	XX(unsupported_linktype)                                                                      \
	XX(decode_link_invalid)                                                                       \
	XX(decode_vlan)                                                                               \
	XX(decode_tunnel)                                                                             \
	XX(decode_tunnel_invalid)                                                                     \
	XX(decode_ip_invalid)                                                                         \
	XX(decode_ip_fragment)                                                                        \
	XX(decode_not_ip)                                                                             \
	XX(decode_not_tcp)                                                                            \
	XX(decode_tcp_invalid)                                                                        \
	XX(bad_checksum)                                                                              \
	XX(ipv4)                                                                                      \
	XX(ipv6)                                                                                      \
	XX(tcp_segments)                                                                              \
	XX(flows_created)                                                                             \
	XX(flows_active)                                                                              \
	XX(flows_evicted)                                                                             \
	XX(flows_timed_out)                                                                           \
	XX(flows_closed)                                                                              \
	XX(flows_midstream)                                                                           \
	XX(flow_memcap)                                                                               \
	XX(reasm_bytes_held)                                                                          \
	XX(reasm_bytes_high_water)                                                                    \
	XX(reasm_ooo_segments)                                                                        \
	XX(reasm_retransmissions)                                                                     \
	XX(reasm_overlaps)                                                                            \
	XX(reasm_overlap_conflicts)                                                                   \
	XX(reasm_gaps)                                                                                \
	XX(reasm_gap_bytes)                                                                           \
	XX(reasm_memcap_drops)                                                                        \
	XX(reasm_flow_cap_drops)                                                                      \
	XX(reasm_bytes_delivered)                                                                     \
	XX(reasm_bytes_skipped)                                                                       \
	XX(ftp_lines)                                                                                 \
	XX(ftp_overlong_lines)                                                                        \
	XX(ftp_commands)                                                                              \
	XX(ftp_replies)                                                                               \
	XX(sessions_created)                                                                          \
	XX(sessions_active)                                                                           \
	XX(sessions_memcap)                                                                           \
	XX(expectations_created)                                                                      \
	XX(expectations_matched)                                                                      \
	XX(expectations_expired)                                                                      \
	XX(expectations_replaced)                                                                     \
	XX(expectations_memcap)                                                                       \
	XX(data_connections)                                                                          \
	XX(tls_handshakes)                                                                            \
	XX(ndpi_classified)                                                                           \
	XX(anomalies)                                                                                 \
	XX(findings)                                                                                  \
	XX(events_dropped_by_mask)                                                                    \
	XX(mem_in_use)                                                                                \
	XX(mem_high_water)                                                                            \
	XX(mem_cap_hits)                                                                              \
	XX(alloc_failures)

/* Counters added after findings_by_kind (the struct only grows at its end). */
#define FTPI_STATS_MAP2(XX)                                                                        \
	XX(ip_frag_fragments)        /* fragments taken into reassembly */                          \
	XX(ip_frag_reassembled)      /* datagrams completed and decoded */                          \
	XX(ip_frag_overlaps)         /* fragments overlapping bytes already held (first wins) */    \
	XX(ip_frag_overlap_conflicts) /* ... with different bytes */                               \
	XX(ip_frag_tiny)             /* non-final fragments under 64 bytes (RFC 1858) */            \
	XX(ip_frag_invalid)          /* beyond 65535 bytes, bad length, second last fragment */     \
	XX(ip_frag_incomplete)       /* dropped incomplete (timeout_frag, connection/input end) */  \
	XX(ip_frag_cap_drops)        /* datagrams dropped at max_frag_datagrams / frag_mem */       \
	XX(ip_frag_bytes_held)                                                                    \
	XX(ip_frag_bytes_high_water)                                                              \
	XX(ftp_pending_dropped)      /* commands dropped at max_pending_commands */                \
	XX(sessions_evicted)         /* idle sessions ended to admit one at max_sessions */

struct ftpi_stats {
#define FTPI__XX(name) uint64_t name;
	FTPI_STATS_MAP(FTPI__XX)
#undef FTPI__XX
	uint64_t findings_by_kind[32];
#define FTPI__XX(name) uint64_t name;
	FTPI_STATS_MAP2(FTPI__XX)
#undef FTPI__XX
};

/* Copies the counters into *out (caller-owned), at most out_size bytes. FTPI_OK or FTPI_E_INVAL. */
FTPI_API int ftpi_engine_stats(const ftpi_engine *e, struct ftpi_stats *out, size_t out_size);

/* Names of the flat counters (FTPI_STATS_MAP, then FTPI_STATS_MAP2), for tools that print them
 * all; NULL past the end. findings_by_kind is not among them. */
FTPI_API const char *ftpi_stats_field_name(size_t index);
/* The value of counter number index (as named by ftpi_stats_field_name); 0 past the end. */
FTPI_API uint64_t ftpi_stats_field(const struct ftpi_stats *st, size_t index);

#ifdef __cplusplus
}
#endif
#endif /* FTPINSPECT_H */
