/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ndpi_glue.c - the engine's only contact with nDPI (Debian 12: nDPI 4.2, NDPI_API_VERSION 8668)
 * and the only file that includes <ndpi_api.h>. It classifies the engine's TCP flows (FTP control
 * on any port, FTP data, TLS, implicit FTPS) and reads nDPI's flow risks that matter to FTP/FTPS
 * reviews. Memory: the per-flow state (nDPI's struct ndpi_flow_struct plus a small header) comes
 * from FTPI__POOL_NDPI and is freed as soon as the flow is classified or its packet budget is
 * spent; buffers nDPI itself hangs off a flow (e.g. TLS certificate names) and the detection
 * module (several MB of protocol tables and automata) are nDPI's own malloc, not accounted. nDPI's
 * allocator hooks (set_ndpi_malloc & co.) are process-global, so they are deliberately left
 * alone. Not done here: nDPI's guessing by port is only used on give-up; no nDPI type or header
 * leaks out of this file.
 *
 * One detection module per process, shared by every engine and reference-counted: building it
 * costs about 52 M instructions and 9 MB (mostly the IP prefixes of its address lists, put into
 * Patricia trees), which N workers each paid, one after the other, at their first TCP packet.
 * nDPI 4.2's module holds the packet being dissected, the current time and LRU caches that
 * detection writes, so every call that dissects (process_packet, giveup,
 * extra_dissection_possible) and the module's creation and destruction hold `module_lock`.
 * Those calls are few: payload packets of control channels up to the password and of flows still
 * being sniffed, at most a budget per flow; data connections and flows known not to be FTP never
 * reach nDPI. The first creation also initialises libgcrypt, which aborts when two threads do it
 * at once: the lock covers that too.
 */
#include "ndpi_glue.h"

#include <stdalign.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>

#include <ndpi_api.h>

#include "internal.h"

#if NDPI_API_VERSION < 8000
#error "ndpi_glue.c targets nDPI 4.x (init with prefs, void finalize)"
#endif

struct ftpi__ndpi {
	struct ndpi_detection_module_struct *mod; /* the process's module (shared) */
};

/* Guards the shared module's creation, its reference count and every call that dissects. */
static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ndpi_detection_module_struct *shared_mod;
static unsigned long shared_refs;

/* Our header, then nDPI's flow struct at an aligned offset in the same allocation. */
struct ftpi__ndpi_flow {
	size_t alloc_size;
	struct ndpi_flow_struct *nf;
	uint32_t packets;
	uint16_t sport, dport; /* from the first packet, for the FTPS-by-port decision */
	uint8_t have_ports;
};

#define FLOW_HDR_SIZE                                                                              \
	((sizeof(struct ftpi__ndpi_flow) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

static size_t ndpi_flow_bytes(void)
{
	size_t n = ndpi_detection_get_sizeof_ndpi_flow_struct();
	/* Trust the larger of the library's and the header's idea of the size. */
	return n > sizeof(struct ndpi_flow_struct) ? n : sizeof(struct ndpi_flow_struct);
}

size_t ftpi__ndpi_flow_size(void)
{
	return FLOW_HDR_SIZE + ndpi_flow_bytes();
}

/* Builds the module; the caller holds module_lock. */
static struct ndpi_detection_module_struct *module_build(void)
{
	struct ndpi_detection_module_struct *mod;
	NDPI_PROTOCOL_BITMASK all; /* the dissectors enabled */

	/* Tor relays' addresses (8 M of the 60 M instructions) only ever name a flow "Tor" by its
	 * address, which no decision here reads (map_app looks at FTP and TLS alone). */
	mod = ndpi_init_detection_module(ndpi_dont_load_tor_hosts);
	if (mod == NULL)
		return NULL;
	/* Only the dissectors this engine needs: with all ~250 enabled, an unclassified packet
	 * costs tens of thousands of instructions inside nDPI; with these it costs a few
	 * hundred. Other traffic stays "unknown" to nDPI, which is all the engine asks. */
	NDPI_BITMASK_RESET(all);
	NDPI_ADD_PROTOCOL_TO_BITMASK(all, NDPI_PROTOCOL_FTP_CONTROL);
	NDPI_ADD_PROTOCOL_TO_BITMASK(all, NDPI_PROTOCOL_FTP_DATA);
	NDPI_ADD_PROTOCOL_TO_BITMASK(all, NDPI_PROTOCOL_TLS);
	ndpi_set_protocol_detection_bitmask2(mod, &all);
	ndpi_finalize_initialization(mod);
	return mod;
}

int ftpi__ndpi_new(struct ftpi__ctx *cx, struct ftpi__ndpi **out)
{
	struct ftpi__ndpi *n;

	if (cx == NULL || out == NULL)
		return FTPI_E_INVAL;
	*out = NULL;
	n = ftpi__alloc(cx, FTPI__POOL_NDPI, sizeof *n);
	if (n == NULL)
		return FTPI_E_NOMEM;
	pthread_mutex_lock(&module_lock);
	if (shared_mod == NULL)
		shared_mod = module_build();
	if (shared_mod != NULL)
		shared_refs++;
	n->mod = shared_mod;
	pthread_mutex_unlock(&module_lock);
	if (n->mod == NULL) {
		ftpi__free(cx, FTPI__POOL_NDPI, n, sizeof *n);
		return FTPI_E_NOMEM;
	}
	*out = n;
	return FTPI_OK;
}

void ftpi__ndpi_free(struct ftpi__ctx *cx, struct ftpi__ndpi *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&module_lock);
	if (--shared_refs == 0) {
		ndpi_exit_detection_module(shared_mod);
		shared_mod = NULL;
	}
	pthread_mutex_unlock(&module_lock);
	ftpi__free(cx, FTPI__POOL_NDPI, n, sizeof *n);
}

unsigned long ftpi__ndpi_module_refs(void)
{
	unsigned long r;

	pthread_mutex_lock(&module_lock);
	r = shared_refs;
	pthread_mutex_unlock(&module_lock);
	return r;
}

struct ftpi__ndpi_flow *ftpi__ndpi_flow_new(struct ftpi__ctx *cx, struct ftpi__ndpi *n)
{
	struct ftpi__ndpi_flow *f;
	size_t size = ftpi__ndpi_flow_size();

	if (cx == NULL || n == NULL)
		return NULL;
	f = ftpi__alloc(cx, FTPI__POOL_NDPI, size); /* zeroed, as nDPI requires */
	if (f == NULL)
		return NULL;
	f->alloc_size = size;
	f->nf = (struct ndpi_flow_struct *)(void *)((unsigned char *)f + FLOW_HDR_SIZE);
	return f;
}

void ftpi__ndpi_flow_free(struct ftpi__ctx *cx, struct ftpi__ndpi *n, struct ftpi__ndpi_flow *f)
{
	(void)n;
	if (f == NULL)
		return;
	ndpi_free_flow_data(f->nf); /* nDPI's own buffers hung off the flow */
	ftpi__free(cx, FTPI__POOL_NDPI, f, f->alloc_size);
}

/* TCP ports of an IPv4/IPv6 packet (no IPv6 extension headers walked); 0 when not found. */
static int tcp_ports(const uint8_t *ip, size_t len, uint16_t *sport, uint16_t *dport)
{
	size_t off;

	if (len < 1)
		return 0;
	if ((ip[0] >> 4) == 4) {
		if (len < 20 || ip[9] != 6 || (((ip[6] & 0x1f) << 8) | ip[7]) != 0)
			return 0;
		off = (size_t)(ip[0] & 0x0f) * 4;
	} else if ((ip[0] >> 4) == 6) {
		if (len < 40 || ip[6] != 6)
			return 0;
		off = 40;
	} else {
		return 0;
	}
	if (off < 20 || len < off + 4)
		return 0;
	*sport = (uint16_t)((ip[off] << 8) | ip[off + 1]);
	*dport = (uint16_t)((ip[off + 2] << 8) | ip[off + 3]);
	return 1;
}

static int is_ftps_port(uint16_t p)
{
	return p == 990 || p == 989; /* ftps, ftps-data (IANA) */
}

static int map_app(const struct ftpi__ndpi_flow *f, ndpi_protocol p, const char **name)
{
	uint16_t m = p.master_protocol, a = p.app_protocol;

	if (m == NDPI_PROTOCOL_FTP_CONTROL || a == NDPI_PROTOCOL_FTP_CONTROL) {
		*name = "FTP_CONTROL";
		return FTPI__NDPI_FTP_CONTROL;
	}
	if (m == NDPI_PROTOCOL_FTP_DATA || a == NDPI_PROTOCOL_FTP_DATA) {
		*name = "FTP_DATA";
		return FTPI__NDPI_FTP_DATA;
	}
	if (m == NDPI_PROTOCOL_TLS || a == NDPI_PROTOCOL_TLS) {
		/* nDPI 4.2 has no FTPS protocol: TLS on the ftps/ftps-data ports is FTPS. */
		if (f->have_ports && (is_ftps_port(f->sport) || is_ftps_port(f->dport))) {
			*name = "FTPS";
			return FTPI__NDPI_FTPS;
		}
		*name = "TLS";
		return FTPI__NDPI_TLS;
	}
	if (m == NDPI_PROTOCOL_UNKNOWN && a == NDPI_PROTOCOL_UNKNOWN) {
		*name = NULL;
		return FTPI__NDPI_UNKNOWN;
	}
	*name = NULL;
	return FTPI__NDPI_OTHER;
}

static uint32_t map_risks(ndpi_risk r)
{
	static const struct {
		ndpi_risk_enum ndpi;
		uint32_t bit;
	} map[] = {
		{NDPI_CLEAR_TEXT_CREDENTIALS, FTPI__NDPI_RISK_CLEAR_CREDENTIALS},
		{NDPI_TLS_OBSOLETE_VERSION, FTPI__NDPI_RISK_TLS_OBSOLETE_VERSION},
		{NDPI_TLS_WEAK_CIPHER, FTPI__NDPI_RISK_TLS_WEAK_CIPHER},
		{NDPI_TLS_SELFSIGNED_CERTIFICATE, FTPI__NDPI_RISK_TLS_SELFSIGNED},
		{NDPI_TLS_CERTIFICATE_EXPIRED, FTPI__NDPI_RISK_TLS_EXPIRED},
		{NDPI_TLS_CERTIFICATE_MISMATCH, FTPI__NDPI_RISK_TLS_MISMATCH},
		{NDPI_KNOWN_PROTOCOL_ON_NON_STANDARD_PORT,
		 FTPI__NDPI_RISK_KNOWN_PROTO_NON_STD_PORT},
		{NDPI_UNSAFE_PROTOCOL, FTPI__NDPI_RISK_UNSAFE_PROTOCOL},
	};
	uint32_t bits = 0;

	for (size_t i = 0; i < FTPI__ARRAY_LEN(map); i++)
		if (NDPI_ISSET_BIT(r, map[i].ndpi))
			bits |= map[i].bit;
	return bits;
}

/* Fills the outputs from the flow's current state. */
static void result(struct ftpi__ndpi *n, struct ftpi__ndpi_flow *f, ndpi_protocol p, int *app,
		   uint32_t *risks, const char **name)
{
	const char *nm = NULL;
	int a = map_app(f, p, &nm);

	if (nm == NULL && a == FTPI__NDPI_OTHER)
		nm = ndpi_get_proto_name(n->mod, p.app_protocol != NDPI_PROTOCOL_UNKNOWN
							 ? p.app_protocol
							 : p.master_protocol);
	if (app)
		*app = a;
	if (risks) {
		*risks = map_risks(f->nf->risk);
		/* nDPI 4.2 calls TLS on 990 "non-standard"; for implicit FTPS it is standard. */
		if (a == FTPI__NDPI_FTPS)
			*risks &= ~(uint32_t)FTPI__NDPI_RISK_KNOWN_PROTO_NON_STD_PORT;
	}
	if (name)
		*name = nm;
}

/* Gives up on the flow: nDPI's best guess so far; the caller holds module_lock. */
static void giveup_locked(struct ftpi__ndpi *n, struct ftpi__ndpi_flow *f, int *app,
			  uint32_t *risks, const char **name)
{
	u_int8_t guessed = 0;
	ndpi_protocol p = ndpi_detection_giveup(n->mod, f->nf, 1, &guessed);

	result(n, f, p, app, risks, name);
}

int ftpi__ndpi_classify(struct ftpi__ndpi *n, struct ftpi__ndpi_flow *f, const uint8_t *ip,
			size_t iplen, uint64_t ts_us, int *app, uint32_t *risks, const char **name)
{
	ndpi_protocol p;
	int done = 1;

	if (app)
		*app = FTPI__NDPI_UNKNOWN;
	if (risks)
		*risks = 0;
	if (name)
		*name = NULL;
	if (n == NULL || f == NULL || ip == NULL || iplen == 0)
		return 0;
	if (!f->have_ports)
		f->have_ports = (uint8_t)tcp_ports(ip, iplen, &f->sport, &f->dport);
	if (iplen > 0xffff)
		iplen = 0xffff; /* an IP packet cannot be longer; nDPI takes an unsigned short */
	f->packets++;
	pthread_mutex_lock(&module_lock);
	p = ndpi_detection_process_packet(n->mod, f->nf, ip, (unsigned short)iplen,
					  (u_int64_t)(ts_us / 1000u));
	if (p.master_protocol == NDPI_PROTOCOL_UNKNOWN && p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
		if (f->packets >= FTPI__NDPI_PACKET_BUDGET)
			giveup_locked(n, f, app, risks, name);
		else
			done = 0;
	} else if (ndpi_extra_dissection_possible(n->mod, f->nf) &&
		   f->packets < FTPI__NDPI_PACKET_BUDGET) {
		/* Detected; nDPI may still want packets for metadata and risks (e.g. the TLS
		 * certificate, FTP credentials) within the budget. */
		done = 0;
	} else {
		result(n, f, p, app, risks, name);
	}
	pthread_mutex_unlock(&module_lock);
	return done;
}

void ftpi__ndpi_giveup(struct ftpi__ndpi *n, struct ftpi__ndpi_flow *f, int *app,
		       uint32_t *risks, const char **name)
{
	if (app)
		*app = FTPI__NDPI_UNKNOWN;
	if (risks)
		*risks = 0;
	if (name)
		*name = NULL;
	if (n == NULL || f == NULL)
		return;
	pthread_mutex_lock(&module_lock);
	giveup_locked(n, f, app, risks, name);
	pthread_mutex_unlock(&module_lock);
}

uint32_t ftpi__ndpi_risks_now(const struct ftpi__ndpi_flow *f)
{
	if (f == NULL || f->nf == NULL)
		return 0;
	return map_risks(f->nf->risk);
}

/* nDPI 4.2's ndpi_cipher2str writes an unknown suite's hex form into one static buffer: engines
 * on several threads serialise the call (it is asked only for suites OpenSSL does not name). */
static pthread_mutex_t suite_name_lock = PTHREAD_MUTEX_INITIALIZER;

int ftpi__ndpi_suite_name(uint16_t v, char *buf, size_t len)
{
	const char *s;
	char *a;
	int rc = -1;

	if (len == 0)
		return -1;
	pthread_mutex_lock(&suite_name_lock);
	s = ndpi_cipher2str(v);
	if (s != NULL && s[0] != '0') { /* "0X%04X": not a suite nDPI knows */
		snprintf(buf, len, "%s", s);
		rc = 0;
	}
	pthread_mutex_unlock(&suite_name_lock);
	if (rc != 0)
		return rc;
	while ((a = strstr(buf, "_ANON_")) != NULL)
		memcpy(a, "_anon_", 6);
	return 0;
}

int ftpi__ndpi_version_name(uint16_t v, char *buf, size_t len)
{
	u_int8_t unknown = 1;
	char *draft;

	if (len < sizeof "TLSv1.0" || len > INT32_MAX ||
	    ndpi_ssl_version2str(buf, (int)len, v, &unknown) == NULL || unknown)
		return -1;
	/* nDPI's names, with the two spellings events have always carried kept: "TLSv1.0" and
	 * "TLSv1.3-draft" (nDPI: "TLSv1", "TLSv1.3 (draft)"). */
	if (strcmp(buf, "TLSv1") == 0)
		snprintf(buf, len, "TLSv1.0");
	else if ((draft = strstr(buf, " (draft)")) != NULL)
		snprintf(draft, len - (size_t)(draft - buf), "-draft");
	return 0;
}
