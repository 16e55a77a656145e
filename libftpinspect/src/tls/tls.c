/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tls.c - a passive, bounded reader of the clear-text part of a TLS handshake, fed reassembled
 * stream bytes per direction. Record layer (RFC 5246 §6.2.1, RFC 8446 §5.1): records may span
 * feeds, handshake messages (RFC 5246 §7.4, RFC 8446 §4) may span records; both are reassembled
 * with O(1) state plus one message buffer per direction, capped by cfg.max_tls_handshake and
 * charged to FTPI__POOL_TLS. Parsed: ClientHello (legacy version, supported_versions, session ID,
 * server_name RFC 6066 §3, session_ticket RFC 5077 §3.2, pre_shared_key RFC 8446 §4.2.11),
 * ServerHello (incl. HelloRetryRequest), Certificate (TLS <= 1.2, DER copied),
 * NewSessionTicket (TLS <= 1.2, RFC 5077 §3.3). A direction stops at ChangeCipherSpec or
 * application data; TLS 1.3 stops both at the ServerHello. Every length is checked against what
 * is left (cursor.h); a lie sets `malformed` and parsing stops. No recursion, no cryptography,
 * no decryption, no I/O. Not done here: SSLv2-compatible ClientHellos (reported as not TLS),
 * renegotiation (encrypted anyway), DTLS, and the X.509 review (x509.c).
 */
#include "tls.h"

#include "cursor.h"
#include "internal.h"

enum {
	REC_CCS = 20,
	REC_ALERT = 21,
	REC_HANDSHAKE = 22,
	REC_APPDATA = 23,
	REC_HEARTBEAT = 24
};

enum {
	HS_CLIENT_HELLO = 1,
	HS_SERVER_HELLO = 2,
	HS_NEW_SESSION_TICKET = 4,
	HS_CERTIFICATE = 11,
	HS_SERVER_KEY_EXCHANGE = 12,
	HS_CERTIFICATE_REQUEST = 13,
	HS_SERVER_HELLO_DONE = 14
};

enum {
	EXT_SERVER_NAME = 0,
	EXT_SESSION_TICKET = 35,
	EXT_PRE_SHARED_KEY = 41,
	EXT_SUPPORTED_VERSIONS = 43
};

/* RFC 5246 §6.2.3: a TLSCiphertext fragment is at most 2^14 + 2048 bytes. */
#define MAX_RECORD_LEN (16384u + 2048u)

/* SHA-256("HelloRetryRequest"), the ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3). */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
	0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
	0x33, 0x9c};

/* 64-bit FNV-1a keyed with the engine's hash seed: stable within one engine (one run), so a
 * ticket or PSK identity hashes the same on the control and the data connection. */
static uint64_t hash_bytes(const struct ftpi__ctx *cx, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (cx != NULL)
		h ^= cx->cfg.hash_seed[0];
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	if (cx != NULL) {
		h ^= cx->cfg.hash_seed[1];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int is_grease(uint16_t v)
{
	/* RFC 8701: 0x0a0a, 0x1a1a, ..., 0xfafa. */
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static int is_tls13(uint16_t v)
{
	/* 0x0304, or a TLS 1.3 draft (0x7fxx) some old stacks still negotiate. */
	return v == 0x0304 || (v & 0xff00) == 0x7f00;
}

static void free_hs(struct ftpi__ctx *cx, struct ftpi__tls_dir *d)
{
	ftpi__free(cx, FTPI__POOL_TLS, d->hs, d->hs_cap);
	d->hs = NULL;
	d->hs_cap = 0;
	d->hs_len = 0;
}

void ftpi__tls_init(struct ftpi__tls *t)
{
	memset(t, 0, sizeof *t);
	t->state = FTPI__TLS_INIT;
}

void ftpi__tls_drop_certs(struct ftpi__ctx *cx, struct ftpi__tls *t)
{
	if (t == NULL)
		return;
	ftpi__free(cx, FTPI__POOL_TLS, t->certbuf, t->certbuf_len);
	t->certbuf = NULL;
	t->certbuf_len = 0;
	for (size_t i = 0; i < FTPI__TLS_MAX_CERTS; i++) {
		t->cert[i] = NULL;
		t->cert_len[i] = 0;
	}
	t->n_certs = 0;
}

void ftpi__tls_release(struct ftpi__ctx *cx, struct ftpi__tls *t)
{
	if (t == NULL)
		return;
	free_hs(cx, &t->dir[0]);
	free_hs(cx, &t->dir[1]);
	ftpi__tls_drop_certs(cx, t);
	ftpi__tls_init(t);
}

void ftpi__tls_gap(struct ftpi__tls *t, int dir)
{
	if (t == NULL || dir < 0 || dir > 1)
		return;
	t->dir[dir].gone = 1;
	/* Both sides done: the state is settled at the next feed, or here when nothing is held. */
	if ((t->dir[0].gone || t->dir[0].encrypted) && (t->dir[1].gone || t->dir[1].encrypted) &&
	    t->state == FTPI__TLS_HANDSHAKE && t->dir[0].hs == NULL && t->dir[1].hs == NULL)
		t->state = FTPI__TLS_DONE;
}

/* ---------------------------------------------------------------------------------------------
 * Handshake messages. Each parser gets the whole body; a length that does not fit sets
 * t->malformed.
 */

/* Reads extensions<0..2^16-1> after the fixed part: returns 0 when none are present (allowed
 * for TLS <= 1.2), 1 with *ext set, -1 on a bad length. */
static int ext_block(struct ftpi_cur *c, struct ftpi_cur *ext)
{
	uint16_t n;
	const uint8_t *p;

	if (ftpi__cur_left(c) == 0)
		return 0;
	n = ftpi__cur_be16(c);
	p = ftpi__cur_span(c, n);
	if (p == NULL)
		return -1;
	ftpi__cur_init(ext, p, n);
	return 1;
}

static int parse_sni(struct ftpi__tls *t, const uint8_t *p, size_t n)
{
	struct ftpi_cur c, list;
	const uint8_t *lp;
	uint16_t ll;

	ftpi__cur_init(&c, p, n);
	ll = ftpi__cur_be16(&c);
	lp = ftpi__cur_span(&c, ll);
	if (lp == NULL)
		return -1;
	ftpi__cur_init(&list, lp, ll);
	while (ftpi__cur_left(&list) > 0) {
		uint8_t type = ftpi__cur_u8(&list);
		uint16_t len = ftpi__cur_be16(&list);
		const uint8_t *name = ftpi__cur_span(&list, len);
		if (name == NULL)
			return -1;
		if (type == 0 && t->sni_len == 0) { /* host_name; the first one counts */
			size_t k = FTPI__MIN((size_t)len, sizeof t->sni);
			memcpy(t->sni, name, k);
			t->sni_len = (uint16_t)k;
		}
	}
	return 0;
}

static int parse_client_versions(struct ftpi__tls *t, const uint8_t *p, size_t n)
{
	struct ftpi_cur c;
	uint8_t ll;
	uint16_t best = 0;

	ftpi__cur_init(&c, p, n);
	ll = ftpi__cur_u8(&c);
	if (c.bad || (ll & 1) || ll > ftpi__cur_left(&c))
		return -1;
	for (unsigned i = 0; i < ll / 2u; i++) {
		uint16_t v = ftpi__cur_be16(&c);
		if (is_grease(v))
			continue;
		if (is_tls13(v))
			t->client_offered_13 = 1;
		/* 0x7fxx drafts sort above 0x0304 numerically; rank them as 1.3. */
		if ((is_tls13(v) ? 0x0304 : v) > (is_tls13(best) ? 0x0304 : best))
			best = v;
	}
	if (best != 0)
		t->client_version = best;
	return 0;
}

static int parse_client_psk(struct ftpi__ctx *cx, struct ftpi__tls *t, const uint8_t *p,
			    size_t n)
{
	struct ftpi_cur c;
	uint16_t ids_len, id_len;
	const uint8_t *ids, *id;

	ftpi__cur_init(&c, p, n);
	ids_len = ftpi__cur_be16(&c);
	ids = ftpi__cur_span(&c, ids_len);
	if (ids == NULL)
		return -1;
	ftpi__cur_init(&c, ids, ids_len);
	id_len = ftpi__cur_be16(&c);
	id = ftpi__cur_span(&c, id_len);
	if (id == NULL || id_len == 0)
		return -1;
	t->client_psk = 1;
	t->client_psk_hash = hash_bytes(cx, id, id_len);
	return 0;
}

static int parse_client_hello(struct ftpi__ctx *cx, struct ftpi__tls *t, const uint8_t *p,
			      size_t n)
{
	struct ftpi_cur c, ext;
	uint8_t sid_len, comp_len;
	uint16_t cs_len;
	const uint8_t *sid;
	int r;

	ftpi__cur_init(&c, p, n);
	/* A second ClientHello (after a HelloRetryRequest) replaces the first one's values. */
	t->sni_len = 0;
	t->client_ticket_ext = 0;
	t->client_ticket_len = 0;
	t->client_ticket_hash = 0;
	t->client_psk = 0;
	t->client_psk_hash = 0;
	t->client_version = ftpi__cur_be16(&c);
	ftpi__cur_skip(&c, 32); /* random */
	sid_len = ftpi__cur_u8(&c);
	if (sid_len > 32)
		return -1;
	sid = ftpi__cur_span(&c, sid_len);
	cs_len = ftpi__cur_be16(&c);
	ftpi__cur_skip(&c, cs_len);
	comp_len = ftpi__cur_u8(&c);
	ftpi__cur_skip(&c, comp_len);
	if (c.bad)
		return -1;
	if (sid_len)
		memcpy(t->client_sid, sid, sid_len);
	t->client_sid_len = sid_len;
	t->seen_client_hello = 1;

	r = ext_block(&c, &ext);
	if (r <= 0)
		return r;
	while (ftpi__cur_left(&ext) > 0) {
		uint16_t type = ftpi__cur_be16(&ext);
		uint16_t len = ftpi__cur_be16(&ext);
		const uint8_t *d = ftpi__cur_span(&ext, len);
		if (d == NULL)
			return -1;
		switch (type) {
		case EXT_SERVER_NAME:
			if (parse_sni(t, d, len) < 0)
				return -1;
			break;
		case EXT_SUPPORTED_VERSIONS:
			if (parse_client_versions(t, d, len) < 0)
				return -1;
			break;
		case EXT_SESSION_TICKET:
			t->client_ticket_ext = 1;
			t->client_ticket_len = len;
			if (len)
				t->client_ticket_hash = hash_bytes(cx, d, len);
			break;
		case EXT_PRE_SHARED_KEY:
			if (parse_client_psk(cx, t, d, len) < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int parse_server_hello(struct ftpi__tls *t, const uint8_t *p, size_t n)
{
	struct ftpi_cur c, ext;
	uint16_t legacy, selected = 0, cipher;
	const uint8_t *random, *sid;
	uint8_t sid_len;
	int psk = 0, r, hrr;

	ftpi__cur_init(&c, p, n);
	legacy = ftpi__cur_be16(&c);
	random = ftpi__cur_span(&c, 32);
	sid_len = ftpi__cur_u8(&c);
	if (sid_len > 32)
		return -1;
	sid = ftpi__cur_span(&c, sid_len);
	cipher = ftpi__cur_be16(&c);
	ftpi__cur_skip(&c, 1); /* compression method */
	if (c.bad)
		return -1;
	r = ext_block(&c, &ext);
	if (r < 0)
		return -1;
	while (r > 0 && ftpi__cur_left(&ext) > 0) {
		uint16_t type = ftpi__cur_be16(&ext);
		uint16_t len = ftpi__cur_be16(&ext);
		const uint8_t *d = ftpi__cur_span(&ext, len);
		if (d == NULL)
			return -1;
		if (type == EXT_SUPPORTED_VERSIONS) {
			if (len != 2)
				return -1;
			selected = (uint16_t)((d[0] << 8) | d[1]);
		} else if (type == EXT_PRE_SHARED_KEY) {
			if (len != 2)
				return -1;
			psk = 1;
		}
	}
	hrr = memcmp(random, hrr_random, sizeof hrr_random) == 0;

	t->version = selected ? selected : legacy;
	t->cipher = cipher;
	if (sid_len)
		memcpy(t->server_sid, sid, sid_len);
	t->server_sid_len = sid_len;
	if (hrr) {
		/* The client answers with a second ClientHello, in clear. */
		t->hrr = 1;
		return 0;
	}
	t->seen_server_hello = 1;
	if (is_tls13(t->version)) {
		t->resumed = (uint8_t)psk;
		/* RFC 8446 §2: everything after the ServerHello is encrypted, both ways. */
		t->dir[0].encrypted = 1;
		t->dir[1].encrypted = 1;
	} else if (sid_len > 0 && sid_len == t->client_sid_len &&
		   memcmp(sid, t->client_sid, sid_len) == 0) {
		/* RFC 5246 §7.4.1.3: echoing the client's session ID resumes that session. */
		t->resumed = 1;
	}
	return 0;
}

static int parse_certificate(struct ftpi__ctx *cx, struct ftpi__tls *t, const uint8_t *p,
			     size_t n)
{
	struct ftpi_cur c, list;
	const uint8_t *lp;
	uint32_t ll;
	size_t total = 0, off = 0;
	unsigned count = 0;

	ftpi__cur_init(&c, p, n);
	ll = ftpi__cur_be24(&c);
	lp = ftpi__cur_span(&c, ll);
	if (lp == NULL)
		return -1;
	/* Pass 1: validate every length and size the copy. */
	ftpi__cur_init(&list, lp, ll);
	while (ftpi__cur_left(&list) > 0) {
		uint32_t len = ftpi__cur_be24(&list);
		if (ftpi__cur_span(&list, len) == NULL)
			return -1;
		if (count < FTPI__TLS_MAX_CERTS)
			total += len;
		count++;
	}
	t->seen_certificate = 1;
	ftpi__tls_drop_certs(cx, t);
	t->certs_truncated = count > FTPI__TLS_MAX_CERTS;
	if (total == 0)
		return 0;
	t->certbuf = ftpi__alloc(cx, FTPI__POOL_TLS, total);
	if (t->certbuf == NULL) {
		t->certs_truncated = 1;
		return 0;
	}
	t->certbuf_len = total;
	/* Pass 2: copy (lengths already checked). */
	ftpi__cur_init(&list, lp, ll);
	while (ftpi__cur_left(&list) > 0 && t->n_certs < FTPI__TLS_MAX_CERTS) {
		uint32_t len = ftpi__cur_be24(&list);
		const uint8_t *der = ftpi__cur_span(&list, len);
		if (FTPI__NEVER(der == NULL || off + len > total))
			return -1;
		memcpy(t->certbuf + off, der, len);
		t->cert[t->n_certs] = t->certbuf + off;
		t->cert_len[t->n_certs] = len;
		t->n_certs++;
		off += len;
	}
	return 0;
}

static int parse_new_session_ticket(struct ftpi__ctx *cx, struct ftpi__tls *t, const uint8_t *p,
				    size_t n)
{
	struct ftpi_cur c;
	uint16_t len;
	const uint8_t *ticket;

	ftpi__cur_init(&c, p, n);
	ftpi__cur_skip(&c, 4); /* ticket_lifetime_hint */
	len = ftpi__cur_be16(&c);
	ticket = ftpi__cur_span(&c, len);
	if (ticket == NULL)
		return -1;
	t->server_new_ticket = 1;
	t->server_ticket_hash = hash_bytes(cx, ticket, len);
	return 0;
}

/* Which messages are buffered and parsed; all others are skipped without a copy. */
static int wanted(const struct ftpi__tls *t, int dir, uint8_t type)
{
	if (dir == 0)
		return type == HS_CLIENT_HELLO;
	switch (type) {
	case HS_SERVER_HELLO:
		return 1;
	case HS_CERTIFICATE:
	case HS_NEW_SESSION_TICKET:
		return !is_tls13(t->version);
	default:
		return 0;
	}
}

/* One complete handshake message; p == NULL for a skipped one (not parsed, or over the cap),
 * which only counts by its type. */
static void on_message(struct ftpi__ctx *cx, struct ftpi__tls *t, int dir, uint8_t type,
		       const uint8_t *p, size_t n)
{
	static const uint8_t empty[1] = {0};
	int r = 0;

	if (dir == 1 && (type == HS_CERTIFICATE || type == HS_SERVER_KEY_EXCHANGE ||
			 type == HS_CERTIFICATE_REQUEST || type == HS_SERVER_HELLO_DONE))
		t->server_full_hs = 1;
	if (p == NULL && n > 0)
		return;
	if (p == NULL)
		p = empty; /* an empty body still parses (and fails) through the cursor */
	if (dir == 0 && type == HS_CLIENT_HELLO)
		r = parse_client_hello(cx, t, p, n);
	else if (dir == 1 && type == HS_SERVER_HELLO)
		r = parse_server_hello(t, p, n);
	else if (dir == 1 && type == HS_CERTIFICATE && !is_tls13(t->version))
		r = parse_certificate(cx, t, p, n);
	else if (dir == 1 && type == HS_NEW_SESSION_TICKET && !is_tls13(t->version))
		r = parse_new_session_ticket(cx, t, p, n);
	if (r < 0)
		t->malformed = 1;
}

/* Makes room for a body of n bytes in d->hs; 0 when over the cap or out of memory. The buffer
 * only grows (exactly to n), so a direction allocates at most a few times. */
static int hs_reserve(struct ftpi__ctx *cx, struct ftpi__tls_dir *d, size_t n)
{
	uint8_t *p;

	if (n > cx->cfg.max_tls_handshake)
		return 0;
	if (d->hs_cap >= n)
		return 1;
	free_hs(cx, d);
	p = ftpi__alloc(cx, FTPI__POOL_TLS, n);
	if (p == NULL)
		return 0;
	d->hs = p;
	d->hs_cap = n;
	return 1;
}

/* Handshake-record content: frames messages across records and feeds. */
static void hs_bytes(struct ftpi__ctx *cx, struct ftpi__tls *t, int dir, const uint8_t *p,
		     size_t n)
{
	struct ftpi__tls_dir *d = &t->dir[dir];

	while (n > 0 && !t->malformed && !d->encrypted) {
		size_t k;

		if (d->msg_skip > 0) {
			k = FTPI__MIN((size_t)d->msg_skip, n);
			d->msg_skip -= (uint32_t)k;
			p += k;
			n -= k;
			continue;
		}
		if (d->msg_hdr_len < 4) {
			k = FTPI__MIN((size_t)(4 - d->msg_hdr_len), n);
			memcpy(d->msg_hdr + d->msg_hdr_len, p, k);
			d->msg_hdr_len = (uint8_t)(d->msg_hdr_len + k);
			p += k;
			n -= k;
			if (d->msg_hdr_len < 4)
				break;
			d->msg_len = ((uint32_t)d->msg_hdr[1] << 16) |
				     ((uint32_t)d->msg_hdr[2] << 8) | d->msg_hdr[3];
			d->hs_len = 0;
			d->msg_keep = (uint8_t)wanted(t, dir, d->msg_hdr[0]);
			if (d->msg_keep && !hs_reserve(cx, d, d->msg_len)) {
				d->overflow = 1;
				d->msg_keep = 0;
				if (dir == 1 && d->msg_hdr[0] == HS_CERTIFICATE)
					t->certs_truncated = 1;
			}
			if (!d->msg_keep) {
				/* Counted by type now; body skipped. */
				on_message(cx, t, dir, d->msg_hdr[0], NULL, d->msg_len);
				d->msg_skip = d->msg_len;
				d->msg_hdr_len = 0;
				continue;
			}
		}
		k = FTPI__MIN(d->msg_len - d->hs_len, n);
		if (k > 0) {
			memcpy(d->hs + d->hs_len, p, k);
			d->hs_len += k;
			p += k;
			n -= k;
		}
		if (d->hs_len == d->msg_len) {
			d->msg_hdr_len = 0;
			on_message(cx, t, dir, d->msg_hdr[0], d->hs, d->msg_len);
		}
	}
}

/* A ChangeCipherSpec record. In TLS 1.3 it is a no-op kept for middleboxes (RFC 8446 §D.4);
 * otherwise the sender encrypts from the next record on (RFC 5246 §7.1). */
static void on_ccs(struct ftpi__tls *t, int dir)
{
	if (is_tls13(t->version) || (!t->seen_server_hello && t->client_offered_13))
		return;
	if (dir == 1 && t->seen_server_hello && !t->server_full_hs)
		t->resumed = 1; /* abbreviated handshake: ID or ticket accepted (RFC 5077 §3.1) */
	t->dir[dir].encrypted = 1;
}

/* Checks a complete record header; sets NOT_TLS or malformed and returns 0 when it is not one. */
static int record_header(struct ftpi__tls *t, struct ftpi__tls_dir *d)
{
	uint8_t type = d->hdr[0];
	uint16_t len = (uint16_t)((d->hdr[3] << 8) | d->hdr[4]);
	int ok = type >= REC_CCS && type <= REC_HEARTBEAT && d->hdr[1] == 3 && d->hdr[2] <= 4 &&
		 len <= MAX_RECORD_LEN;

	if (t->state == FTPI__TLS_INIT) {
		/* The very first record must open a handshake (SSLv2 hellos end here too). */
		if (!ok || type != REC_HANDSHAKE || len == 0) {
			t->state = FTPI__TLS_NOT_TLS;
			return 0;
		}
		t->state = FTPI__TLS_HANDSHAKE;
	} else if (!ok) {
		t->malformed = 1;
		return 0;
	}
	d->rec_type = type;
	d->rec_left = len;
	if (type == REC_ALERT)
		t->alerts++;
	return 1;
}

static int still_useful(const struct ftpi__tls *t)
{
	return !t->malformed && (t->state == FTPI__TLS_INIT || t->state == FTPI__TLS_HANDSHAKE);
}

int ftpi__tls_feed(struct ftpi__ctx *cx, struct ftpi__tls *t, int dir, const uint8_t *data,
		   size_t len)
{
	struct ftpi__tls_dir *d;
	size_t off = 0;

	if (cx == NULL || t == NULL || dir < 0 || dir > 1 || (data == NULL && len > 0))
		return 0;
	if (!still_useful(t))
		return 0;
	d = &t->dir[dir];
	while (off < len && !d->encrypted && !d->gone && still_useful(t)) {
		size_t k;

		if (d->rec_left == 0) {
			k = FTPI__MIN((size_t)(5 - d->hdr_len), len - off);
			memcpy(d->hdr + d->hdr_len, data + off, k);
			d->hdr_len = (uint8_t)(d->hdr_len + k);
			off += k;
			if (d->hdr_len < 5)
				break;
			d->hdr_len = 0;
			if (!record_header(t, d))
				break;
			if (d->rec_type == REC_CCS && d->rec_left == 0) {
				t->malformed = 1; /* RFC 5246 §7.1: exactly one byte */
				break;
			}
			continue;
		}
		k = FTPI__MIN((size_t)d->rec_left, len - off);
		switch (d->rec_type) {
		case REC_HANDSHAKE:
			hs_bytes(cx, t, dir, data + off, k);
			break;
		case REC_CCS:
			on_ccs(t, dir);
			break;
		case REC_APPDATA:
			/* Application data before ChangeCipherSpec: TLS 1.3 early data, or a peer
			 * that is past the handshake. Either way nothing clear follows. */
			d->encrypted = 1;
			break;
		default: /* alert (counted at the header), heartbeat: skipped */
			break;
		}
		d->rec_left -= (uint32_t)k;
		off += k;
	}

	/* Settle: both directions finished (encrypted or gone), or nothing more to learn. */
	if (t->state == FTPI__TLS_HANDSHAKE && (t->dir[0].encrypted || t->dir[0].gone) &&
	    (t->dir[1].encrypted || t->dir[1].gone))
		t->state = FTPI__TLS_DONE;
	if (!still_useful(t) || d->encrypted || d->gone) {
		free_hs(cx, &t->dir[dir]);
		d->msg_hdr_len = 0;
		d->msg_skip = 0;
	}
	if (!still_useful(t))
		free_hs(cx, &t->dir[1 - dir]);
	return still_useful(t);
}

int ftpi__tls_sniff(const uint8_t *data, size_t len)
{
	/* 0x16 0x03 0x00..0x04, a non-zero length, then handshake type 1. */
	if (data == NULL || len == 0)
		return -1;
	if (data[0] != REC_HANDSHAKE)
		return 0;
	if (len < 2)
		return -1;
	if (data[1] != 3)
		return 0;
	if (len < 3)
		return -1;
	if (data[2] > 4)
		return 0;
	if (len < 6)
		return -1;
	if (((data[3] << 8) | data[4]) < 4 || data[5] != HS_CLIENT_HELLO)
		return 0;
	return 1;
}
